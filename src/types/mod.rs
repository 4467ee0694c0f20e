//! Data-type semantics over the store: no RESP, no sockets, so MULTI, Lua,
//! replication and import can reuse them.

pub mod expire;
pub mod keys;
pub mod string;
