//! Configuration: the TOML file (`conf/diskdb.toml` documents every key at its
//! default), command-line overrides, defaults and validation. Unknown keys and
//! bad values stop start-up with a message naming the key.

use crate::error::Error;
use serde::Deserialize;
use std::path::Path;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[server]`: network, clients, limits.
    pub server: ServerConfig,
    /// `[storage]`: RocksDB and durability.
    pub storage: StorageConfig,
}

/// `[server]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: String,
    /// TCP port; 0 picks a free one (printed at start-up).
    pub port: u16,
    /// Maximum simultaneous clients; the excess is refused with Redis's error.
    pub maxclients: usize,
    /// Close a client idle for this many seconds (0 = never).
    pub timeout: u64,
    /// Password for the `default` user; empty = no authentication.
    pub requirepass: String,
    /// Number of logical databases (SELECT 0..databases-1).
    pub databases: usize,
    /// Largest bulk string a client may send (bytes).
    pub proto_max_bulk_len: u64,
    /// Largest unparsed input a client may accumulate (bytes).
    pub client_query_buffer_limit: usize,
    /// Largest pending output of a normal client before it is closed (bytes, 0 = no limit).
    pub client_output_buffer_limit: usize,
    /// A Pub/Sub subscriber whose unsent output passes this is closed at once
    /// (bytes, 0 = no limit; Redis `client-output-buffer-limit pubsub` hard).
    pub pubsub_output_hard_limit: usize,
    /// ... or stays above this (soft limit, bytes, 0 = none) ...
    pub pubsub_output_soft_limit: usize,
    /// ... for this many seconds.
    pub pubsub_output_soft_seconds: u64,
    /// Background timer frequency (active expiry runs `hz` times a second).
    pub hz: u32,
    /// Log commands slower than this many microseconds (-1 disables, 0 logs all).
    pub slowlog_log_slower_than: i64,
    /// Entries kept in the slow log.
    pub slowlog_max_len: usize,
    /// A script running longer than this (ms) is busy: other clients get
    /// -BUSY and may SCRIPT KILL it (Redis `busy-reply-threshold`, alias
    /// `lua-time-limit`).
    pub busy_reply_threshold: u64,
    /// error | warn | info | debug | trace
    pub loglevel: String,
    /// Log file; empty = standard error.
    pub logfile: String,
}

/// `[storage]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Data directory; everything the server writes lives under it.
    pub dir: String,
    /// WAL sync policy, like Redis's `appendfsync`.
    pub sync: SyncPolicy,
    /// Compression of all but the bottommost level.
    pub compression: Compression,
    /// Compression of the bottommost level.
    pub bottommost_compression: Compression,
    /// RocksDB block cache (bytes).
    pub block_cache_size: usize,
    /// Memtable size per column family (bytes).
    pub write_buffer_size: usize,
    /// Memtables per column family before writes stall.
    pub max_write_buffer_number: i32,
    /// Open SST files kept (-1 = unlimited).
    pub max_open_files: i32,
    /// RocksDB flush + compaction threads.
    pub max_background_jobs: i32,
    /// In-process cache of hot `meta` records (bytes; 0 disables).
    pub read_cache_size: usize,
    /// In-process cache of hot collection members (bytes; 0 disables).
    pub member_cache_size: usize,
    /// Bloom filter bits per key on point-lookup column families (0 = none).
    pub bloom_bits_per_key: f64,
}

/// When the WAL is fsynced.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyncPolicy {
    /// Every tick's writes are synced before their replies go out (group commit).
    Always,
    /// Synced once a second by a timer.
    Everysec,
    /// Left to the operating system.
    No,
}

/// Block compression algorithm.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression.
    None,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl SyncPolicy {
    /// The Redis `appendfsync` spelling.
    pub fn name(self) -> &'static str {
        match self {
            SyncPolicy::Always => "always",
            SyncPolicy::Everysec => "everysec",
            SyncPolicy::No => "no",
        }
    }
    /// Parses the Redis / TOML spelling (case-insensitive).
    pub fn parse(s: &[u8]) -> Option<SyncPolicy> {
        match s.to_ascii_lowercase().as_slice() {
            b"always" => Some(SyncPolicy::Always),
            b"everysec" => Some(SyncPolicy::Everysec),
            b"no" => Some(SyncPolicy::No),
            _ => None,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1".into(),
            port: 6380,
            maxclients: 10000,
            timeout: 0,
            requirepass: String::new(),
            databases: 16,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            client_output_buffer_limit: 1024 * 1024 * 1024,
            pubsub_output_hard_limit: 32 * 1024 * 1024,
            pubsub_output_soft_limit: 8 * 1024 * 1024,
            pubsub_output_soft_seconds: 60,
            hz: 10,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            busy_reply_threshold: 5000,
            loglevel: "info".into(),
            logfile: String::new(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            dir: "./data".into(),
            sync: SyncPolicy::Everysec,
            compression: Compression::Lz4,
            bottommost_compression: Compression::Zstd,
            block_cache_size: 256 * 1024 * 1024,
            write_buffer_size: 64 * 1024 * 1024,
            max_write_buffer_number: 4,
            max_open_files: -1,
            max_background_jobs: 2,
            read_cache_size: 64 * 1024 * 1024,
            member_cache_size: 32 * 1024 * 1024,
            bloom_bits_per_key: 10.0,
        }
    }
}

impl Config {
    /// Reads and validates a TOML file.
    pub fn from_file(path: &Path) -> Result<Config, Error> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml(&text).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Config, Error> {
        let cfg: Config = toml::from_str(text).map_err(|e| Error::Config(e.to_string().trim().to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks value ranges; the error names the offending key.
    pub fn validate(&self) -> Result<(), Error> {
        let s = &self.server;
        let bad = |k: &str, why: &str| Err(Error::Config(format!("invalid value for '{k}': {why}")));
        if s.databases == 0 || s.databases > 256 {
            return bad("server.databases", "must be between 1 and 256");
        }
        if s.maxclients == 0 {
            return bad("server.maxclients", "must be at least 1");
        }
        if s.hz == 0 || s.hz > 500 {
            return bad("server.hz", "must be between 1 and 500");
        }
        if s.proto_max_bulk_len < 1024 * 1024 {
            return bad("server.proto_max_bulk_len", "must be at least 1048576");
        }
        if s.client_query_buffer_limit < 1024 * 1024 {
            return bad("server.client_query_buffer_limit", "must be at least 1048576");
        }
        if !matches!(s.loglevel.as_str(), "error" | "warn" | "info" | "debug" | "trace") {
            return bad("server.loglevel", "must be one of error, warn, info, debug, trace");
        }
        if self.storage.dir.is_empty() {
            return bad("storage.dir", "must not be empty");
        }
        if self.storage.max_write_buffer_number < 2 {
            return bad("storage.max_write_buffer_number", "must be at least 2");
        }
        let st = &self.storage;
        if st.max_background_jobs < 1 || st.max_background_jobs > 256 {
            return bad("storage.max_background_jobs", "must be between 1 and 256");
        }
        if st.block_cache_size < 1024 * 1024 {
            return bad("storage.block_cache_size", "must be at least 1048576");
        }
        if st.write_buffer_size < 64 * 1024 {
            return bad("storage.write_buffer_size", "must be at least 65536");
        }
        if st.max_open_files != -1 && st.max_open_files < 16 {
            return bad("storage.max_open_files", "must be -1 (unlimited) or at least 16");
        }
        if !(0.0..=64.0).contains(&st.bloom_bits_per_key) {
            return bad("storage.bloom_bits_per_key", "must be between 0 and 64");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_equals_defaults() {
        let text = include_str!("../conf/diskdb.toml");
        assert_eq!(Config::from_toml(text).expect("conf/diskdb.toml parses"), Config::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_toml("[server]\nprot = 1\n").unwrap_err().to_string();
        assert!(e.contains("prot"), "{e}");
    }

    #[test]
    fn bad_value_is_named() {
        let e = Config::from_toml("[server]\ndatabases = 0\n").unwrap_err().to_string();
        assert!(e.contains("server.databases"), "{e}");
        let e = Config::from_toml("[storage]\nsync = \"sometimes\"\n").unwrap_err().to_string();
        assert!(e.contains("sync"), "{e}");
        let e = Config::from_toml("[storage]\ncompression = \"gzip\"\n").unwrap_err().to_string();
        assert!(e.contains("compression") && e.contains("lz4"), "{e}");
        for (text, key) in [
            ("block_cache_size = 1000", "storage.block_cache_size"),
            ("write_buffer_size = 10", "storage.write_buffer_size"),
            ("max_open_files = 3", "storage.max_open_files"),
            ("bloom_bits_per_key = -1.0", "storage.bloom_bits_per_key"),
            ("max_background_jobs = 0", "storage.max_background_jobs"),
            ("max_write_buffer_number = 1", "storage.max_write_buffer_number"),
        ] {
            let e = Config::from_toml(&format!("[storage]\n{text}\n")).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
        let ok = "[storage]\ncompression = \"snappy\"\nbottommost_compression = \"none\"\n";
        let cfg = Config::from_toml(ok).expect("valid compression choices");
        assert_eq!(
            (cfg.storage.compression, cfg.storage.bottommost_compression),
            (Compression::Snappy, Compression::None)
        );
    }
}
