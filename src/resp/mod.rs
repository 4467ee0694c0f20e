//! RESP: the C request parser (through `ffi`), its Rust reference twin, the
//! reply writer and typed argument access. Knows nothing of commands or storage.

pub mod args;
pub mod ffi;
pub mod parser;
pub mod refparser;
pub mod reply;
