//! Data-type semantics over the store: no RESP, no sockets, so MULTI, Lua,
//! replication and import can reuse them.

pub mod expire;
pub mod hash;
pub mod json;
pub mod keys;
pub mod list;
pub mod members;
pub mod rdb;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;
