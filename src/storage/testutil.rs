//! Test helper shared by the storage and type tests: a store in a temporary
//! directory (removed on drop) and a way to run one committed transaction.

use super::{Store, Tx};
use crate::config::StorageConfig;

/// A store in a temp dir, removed on drop.
pub struct TempStore {
    /// The open store.
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl Default for TempStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TempStore {
    /// Opens a fresh store with the default storage settings.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = StorageConfig { dir: dir.path().to_string_lossy().into(), ..StorageConfig::default() };
        TempStore { store: Store::open(&cfg, 16).expect("open"), _dir: dir }
    }

    /// Runs `f` in one transaction on db 0 at time 1000 and commits it.
    pub fn run<T>(&mut self, f: impl FnOnce(&mut Tx) -> T) -> T {
        let mut tx = Tx::new(&self.store, 0, 1000);
        let r = f(&mut tx);
        let data = tx.finish();
        self.store.commit(data).expect("commit");
        r
    }
}

/// A deterministic xorshift generator for randomized tests: `next(n)` is in
/// `0..n`.
pub fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}
