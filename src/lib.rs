//! DiskDB: a Redis-compatible server whose data lives in RocksDB.
//!
//! Layers import downwards only (DESIGN.md "Layers"):
//! `server` → `cmd` → `types` → `storage`, with `resp` beside them.
//! The modules are public so that integration tests and benches can reach them.

#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod cmd;
pub mod config;
pub mod error;
pub mod resp;
pub mod server;
pub mod storage;
pub mod types;
pub mod util;
