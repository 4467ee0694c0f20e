//! The store: RocksDB with the column families of DESIGN.md, the read cache,
//! per-db key counts and the per-command transaction (`Tx`).
//!
//! Invariants:
//! - Only this module talks to RocksDB, and only `commit` writes user data: a
//!   command is applied whole or not at all. A MULTI/EXEC or a script opens a
//!   batch (`begin_batch`): its commands' commits gather in `overlay`, which
//!   reads consult first, and are handed over as one `WriteBatch` at the end
//!   (inside a tick, appended to the tick batch: no write of their own).
//! - Within an event-loop tick (`begin_tick`), committed writes are deferred
//!   into one tick `WriteBatch` instead of one RocksDB write per command:
//!   each write carries a fixed cost (write group, WAL record, CRC,
//!   bookkeeping) comparable to the rest of a command. No overlay is needed
//!   for them: meta records are read from the read cache, which `commit`
//!   updates at once, and a read that RocksDB answers first hands the
//!   deferred writes over (`settle`) if they may hold its key (`Touched`;
//!   iterators always do). Nothing is acknowledged before the
//!   tick's `flush_wal`, which settles first, so durability is unchanged.
//! - The WAL is flushed by the event loop once per tick (`manual_wal_flush`), not
//!   per write; `flush_wal` is called before any reply of the tick is sent.
//! - Key counts live in memory and are persisted in the same batch as the change
//!   that moved them, so DBSIZE is O(1) and exact after a crash.
//! - The expiry index is maintained by `commit` from the before/after expiry of
//!   every touched key; handlers never touch it.

pub mod backup;
pub mod cache;
pub mod cursor;
pub mod gc;
pub mod keys;
pub mod latest;
pub mod meta;
pub mod ordered;
pub mod overlay;
pub mod rank;
pub mod subcache;
#[cfg(test)]
pub mod testutil;
pub mod touched;

use crate::config::{Compression, StorageConfig};
use crate::error::Error;
use cache::ReadCache;
pub use cursor::Cursor;
use cursor::Span;
pub use keys::Cf;
use latest::Latest;
pub use meta::{Meta, OfType, Type};
use overlay::{Lookup, Overlay, Write};
use rocksdb::{
    BlockBasedOptions, ColumnFamilyDescriptor, DBCompressionType, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};
use subcache::SubCache;
use touched::Touched;

/// On-disk format version, written at creation and checked at open.
pub const FORMAT_VERSION: u64 = 1;

/// How often a write refused after a write error re-checks the data dir.
const RESUME_PROBE_MS: u64 = 250;

/// Versions are reserved in blocks so that allocating one is not a write.
const VERSION_BLOCK: u64 = 1 << 16;

/// Size at which a tick batch is written before the tick ends (a long
/// pipeline read in one tick must not gather unbounded memory).
const TICK_BATCH_MAX: usize = 4 << 20;

/// Share of a memtable's size given to its whole-key bloom filter.
const MEMTABLE_BLOOM_RATIO: f64 = 0.05;

/// Smallest block cache shard (see [`cache_opts`]).
const MIN_CACHE_SHARD: usize = 32 << 20;

/// Current Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A WAL fsync running on its helper thread.
type SyncJob = JoinHandle<Result<(), rocksdb::Error>>;

/// Number of keys and of keys with an expiry in one database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbCounts {
    /// Keys, including expired ones not reclaimed yet (like Redis).
    pub keys: u64,
    /// Keys with an expiry.
    pub expires: u64,
}

/// The database handle.
pub struct Store {
    /// Shared with the GC compaction filters through a weak handle.
    db: Arc<DB>,
    cache: RefCell<ReadCache>,
    /// Hot collection members (`subcache.rs`), kept exact by `commit`.
    members: RefCell<SubCache>,
    /// Order-statistics indexes of big sorted sets and sets, kept exact by `commit`.
    rank: RefCell<rank::RankIndexes>,
    counts: RefCell<Vec<DbCounts>>,
    /// `commit`'s working copy of `counts`, swapped in on success (reused:
    /// no allocation per command).
    counts_next: RefCell<Vec<DbCounts>>,
    next_version: Cell<u64>,
    version_hwm: Cell<u64>,
    /// Writes not yet handed to the OS by `flush_wal`.
    unflushed: Cell<bool>,
    /// Writes not yet fsynced.
    unsynced: Cell<bool>,
    /// Time of the last successful WAL sync (ms).
    pub last_sync_ms: Cell<u64>,
    /// The `everysec` fsync running on a helper thread (as Redis runs it in
    /// a background thread), with the time it started: the event loop never
    /// waits for the disk. Joined before the DB is reopened or closed.
    sync_job: RefCell<Option<(u64, SyncJob)>>,
    write_opts: WriteOptions,
    /// Reused buffer for building meta keys on the read path (no allocation per GET).
    scratch: RefCell<Vec<u8>>,
    /// Nesting depth of `begin_batch` (MULTI/EXEC, scripts); commits are
    /// deferred into `overlay` while it is above zero.
    batch_depth: Cell<u32>,
    /// Committed writes of the current tick not handed to RocksDB yet.
    tick: RefCell<WriteBatch>,
    /// Between `begin_tick` and `end_tick`: commits are deferred.
    tick_open: Cell<bool>,
    /// `tick` holds writes.
    tick_dirty: Cell<bool>,
    /// The keys `tick` writes.
    tick_keys: RefCell<Touched>,
    /// The tick's meta and bookkeeping writes, latest per key, not in
    /// `tick` yet (`latest.rs`).
    tick_latest: RefCell<Latest>,
    /// A write of deferred commits failed in this tick: its commands'
    /// replies must not be sent (`flush_wal` reports it).
    tick_failed: Cell<bool>,
    overlay: RefCell<Overlay>,
    /// Iterators shared by the range reads of a tick (`cursor::TickIters`).
    iters: RefCell<cursor::TickIters>,
    /// Set when a write or WAL flush failed (disk full, I/O error): writes are
    /// refused until `try_resume` succeeds; reads go on.
    write_error: RefCell<Option<String>>,
    /// Last `try_resume` probe made by `writable` (ms).
    last_probe_ms: Cell<u64>,
    /// BGSAVE / SAVE bookkeeping.
    backups: RefCell<backup::Backups>,
    /// How the store was opened (to reopen it after a fatal write error).
    cfg: StorageConfig,
}

fn compression(c: Compression) -> DBCompressionType {
    match c {
        Compression::None => DBCompressionType::None,
        Compression::Snappy => DBCompressionType::Snappy,
        Compression::Lz4 => DBCompressionType::Lz4,
        Compression::Zstd => DBCompressionType::Zstd,
    }
}

fn storage_err(e: rocksdb::Error) -> Error {
    Error::Storage(e.into_string())
}

impl Store {
    /// Opens (creating if needed) the store under `cfg.dir`.
    pub fn open(cfg: &StorageConfig, databases: usize) -> Result<Store, Error> {
        let dir = Path::new(&cfg.dir);
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Config(format!("cannot create data dir '{}': {e}", dir.display())))?;
        let existing = dir.join("CURRENT").exists();
        if existing {
            check_is_ours(dir)?;
        }
        let (wal_files, wal_bytes) = wal_files(dir);
        let slot: gc::DbSlot = Arc::default();
        let db = Arc::new(open_db(cfg, &slot)?);
        let _ = slot.set(Arc::downgrade(&db));
        let store = Store {
            db,
            cache: RefCell::new(ReadCache::new(cfg.read_cache_size)),
            members: RefCell::new(SubCache::new(cfg.member_cache_size)),
            rank: RefCell::default(),
            counts: RefCell::new(vec![DbCounts::default(); databases]),
            counts_next: RefCell::new(Vec::new()),
            next_version: Cell::new(1),
            version_hwm: Cell::new(0),
            unflushed: Cell::new(false),
            unsynced: Cell::new(false),
            last_sync_ms: Cell::new(now_ms()),
            sync_job: RefCell::new(None),
            write_opts: WriteOptions::default(),
            scratch: RefCell::new(Vec::with_capacity(64)),
            batch_depth: Cell::new(0),
            tick: RefCell::new(WriteBatch::default()),
            tick_open: Cell::new(false),
            tick_dirty: Cell::new(false),
            tick_keys: RefCell::default(),
            tick_latest: RefCell::default(),
            tick_failed: Cell::new(false),
            overlay: RefCell::new(Overlay::default()),
            iters: RefCell::default(),
            write_error: RefCell::new(None),
            last_probe_ms: Cell::new(0),
            backups: RefCell::new(backup::Backups::new(dir)),
            cfg: cfg.clone(),
        };
        store.load_bookkeeping()?;
        let clean = store.get_default(keys::CLEAN_KEY)?.is_some_and(|v| v == [1]);
        if existing && !clean {
            let keys: u64 = store.counts.borrow().iter().map(|c| c.keys).sum();
            log::warn!(
                "unclean shutdown detected in '{}' (a crash, or a backup being opened): recovered from the WAL \
                 ({wal_files} file(s), {wal_bytes} bytes replayed); {keys} keys in {} database(s)",
                dir.display(),
                store.counts.borrow().iter().filter(|c| c.keys > 0).count()
            );
        } else if existing {
            log::info!("data dir '{}' opened after a clean shutdown", dir.display());
        }
        store.db.put_cf(store.cf(Cf::Default), keys::CLEAN_KEY, [0]).map_err(storage_err)?;
        store.db.flush_wal(true).map_err(storage_err)?;
        Ok(store)
    }

    /// Marks the store cleanly stopped after syncing everything: the next
    /// open will not report a crash recovery.
    pub fn close_cleanly(&self) -> Result<(), Error> {
        self.reap_sync(true);
        self.persist_all()?;
        self.db.put_cf(self.cf(Cf::Default), keys::CLEAN_KEY, [1]).map_err(storage_err)?;
        self.db.flush_wal(true).map_err(storage_err)
    }

    fn cf(&self, cf: Cf) -> &rocksdb::ColumnFamily {
        cf_handle(&self.db, cf)
    }

    fn get_default(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.settle_for(Cf::Default, key)?;
        self.db.get_cf(self.cf(Cf::Default), key).map_err(storage_err)
    }

    fn load_bookkeeping(&self) -> Result<(), Error> {
        match self.get_default(keys::FORMAT_KEY)? {
            None => {
                let has_keys = self.db.iterator_cf(self.cf(Cf::Meta), IteratorMode::Start).next().is_some();
                if has_keys {
                    return Err(Error::Storage("data dir holds keys but no format record: not a DiskDB dir?".into()));
                }
                self.db
                    .put_cf(self.cf(Cf::Default), keys::FORMAT_KEY, FORMAT_VERSION.to_be_bytes())
                    .map_err(storage_err)?;
            }
            Some(v) => {
                let ver = v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(u64::MAX);
                if ver != FORMAT_VERSION {
                    return Err(Error::Storage(format!(
                        "data dir has format version {ver}, this build reads {FORMAT_VERSION}"
                    )));
                }
            }
        }
        if let Some(v) = self.get_default(keys::COUNTS_KEY)? {
            for (i, c) in v.chunks_exact(16).enumerate() {
                if let Some(slot) = self.counts.borrow_mut().get_mut(i) {
                    slot.keys = u64::from_be_bytes(c[..8].try_into().expect("invariant: 16-byte chunk"));
                    slot.expires = u64::from_be_bytes(c[8..].try_into().expect("invariant: 16-byte chunk"));
                }
            }
        }
        if let Some(v) = self.get_default(keys::VERSION_KEY)? {
            let hwm = v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(0);
            self.next_version.set(hwm + 1);
            self.version_hwm.set(hwm);
        }
        Ok(())
    }

    /// Key and expire counts of database `db`.
    pub fn counts(&self, db: u8) -> DbCounts {
        self.counts.borrow().get(db as usize).copied().unwrap_or_default()
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.counts.borrow().len()
    }

    /// A fresh collection version, never reused (reserved in persisted blocks).
    pub fn new_version(&self) -> Result<u64, Error> {
        let v = self.next_version.get();
        if v > self.version_hwm.get() {
            let hwm = v + VERSION_BLOCK;
            self.db.put_cf(self.cf(Cf::Default), keys::VERSION_KEY, hwm.to_be_bytes()).map_err(storage_err)?;
            self.version_hwm.set(hwm);
            self.unflushed.set(true);
        }
        self.next_version.set(v + 1);
        Ok(v)
    }

    /// The stored meta record of `mkey` (`db | user_key`), expired or not.
    pub fn get_meta(&self, mkey: &[u8]) -> Result<Option<Meta>, Error> {
        if let Some(hit) = self.cache.borrow_mut().get(mkey) {
            return Ok(hit);
        }
        let m = match self.overlay.borrow().lookup(Cf::Meta, mkey) {
            Lookup::Written(Some(raw)) => Some(Meta::decode(raw, mkey)?),
            Lookup::Written(None) => None,
            Lookup::Unknown => {
                self.settle_for(Cf::Meta, mkey)?;
                match self.db.get_pinned_cf(self.cf(Cf::Meta), mkey).map_err(storage_err)? {
                    Some(raw) => Some(Meta::decode(&raw, mkey)?),
                    None => None,
                }
            }
        };
        self.cache.borrow_mut().put(mkey, m.clone());
        Ok(m)
    }

    /// [`Store::get_meta`] by `(db, user_key)`, building the key in a reused buffer.
    pub fn get_meta_in(&self, db: u8, key: &[u8]) -> Result<Option<Meta>, Error> {
        let mut scratch = self.scratch.borrow_mut();
        keys::meta_into(&mut scratch, db, key);
        self.get_meta(&scratch)
    }

    /// Point read of a sub-key (data / zscore).
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        match self.overlay.borrow().lookup(cf, key) {
            Lookup::Written(v) => Ok(v.map(<[u8]>::to_vec)),
            Lookup::Unknown => {
                self.settle_for(cf, key)?;
                self.db.get_cf(self.cf(cf), key).map_err(storage_err)
            }
        }
    }

    /// Up to `limit` meta records of `db` whose user key is > `after` (or from
    /// the start when `after` is `None`), in key order.
    pub fn scan_meta(&self, db: u8, after: Option<&[u8]>, limit: usize) -> Result<Vec<(Vec<u8>, Meta)>, Error> {
        let start = keys::meta(db, after.unwrap_or(b""));
        let mut out = Vec::new();
        let mut err = None;
        if limit == 0 {
            return Ok(out);
        }
        let span = Span { cf: Cf::Meta, lower: &[db], upper: Some(&[db + 1]), start: Some(&start), reverse: false };
        self.iter_bounded(span, |k, v| {
            if after.is_some() && k == start.as_slice() {
                return true;
            }
            match Meta::decode(v, k) {
                Ok(m) => out.push((k[1..].to_vec(), m)),
                Err(e) => {
                    err = Some(e);
                    return false;
                }
            }
            out.len() < limit
        })?;
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Iterates sub-keys of `cf` starting with `prefix`, from `start` (a full
    /// key, `>= prefix`) in `dir`; `f` returns false to stop.
    pub fn iter_prefix(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: Option<&[u8]>,
        reverse: bool,
        f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), Error> {
        let upper = prefix_successor(prefix);
        self.iter_bounded(Span { cf, lower: prefix, upper: upper.as_deref(), start, reverse }, f)
    }

    /// Iterates the keys of `cf` in `lower..upper` (None: to the end) from
    /// `start` forward. A tight `upper` keeps RocksDB from stepping over
    /// deletion markers beyond it while looking for the next live key.
    pub fn iter_range(
        &self,
        cf: Cf,
        lower: &[u8],
        upper: Option<Vec<u8>>,
        start: Option<&[u8]>,
        f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), Error> {
        self.iter_bounded(Span { cf, lower, upper: upper.as_deref(), start, reverse: false }, f)
    }

    /// Iterates `span`, merging the open batch's writes over RocksDB's
    /// records; `f` returns false to stop.
    fn iter_bounded(&self, span: Span, mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<(), Error> {
        self.settle()?;
        if self.overlay.borrow().is_empty() {
            return self.walk(span, f);
        }
        let Span { cf, lower, upper, start, reverse } = span;
        let mut it = self.bounded_iter(cf, lower, upper);
        cursor::seek_from(&mut it, start, reverse);
        let step = |it: &mut rocksdb::DBRawIterator| cursor::step(it, reverse);
        let overlay = self.overlay.borrow();
        let mut ov = overlay.entries(cf, lower, upper, start, reverse).peekable();
        loop {
            let rk = it.key();
            if let Some(k) = rk {
                if overlay.hides(cf, k) {
                    step(&mut it);
                    continue;
                }
            }
            let take_overlay = match (rk, ov.peek()) {
                (None, None) => break,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(r), Some((o, _))) => (*o < r) != reverse,
            };
            let go_on = if take_overlay {
                let (k, v) = ov.next().expect("invariant: peeked");
                match v {
                    Some(v) => f(k, v),
                    None => true,
                }
            } else {
                let go = f(rk.expect("invariant: valid"), it.value().expect("invariant: valid"));
                step(&mut it);
                go
            };
            if !go_on {
                break;
            }
        }
        it.status().map_err(storage_err)
    }

    /// Up to `limit` expiry-index entries due at or before `now`, from `from_ms`.
    pub fn due_expiries(&self, from_ms: u64, now: u64, limit: usize) -> Result<Vec<(u64, u8, Vec<u8>)>, Error> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let (lower, upper) = (from_ms.to_be_bytes(), (now + 1).to_be_bytes());
        let span = Span { cf: Cf::Expire, lower: &lower, upper: Some(&upper), start: None, reverse: false };
        self.iter_bounded(span, |k, _| {
            if let Some((ms, db, key)) = keys::split_expire(k) {
                out.push((ms, db, key.to_vec()));
            }
            out.len() < limit
        })?;
        Ok(out)
    }

    /// Applies a finished transaction as one atomic write (or, inside
    /// `begin_batch`/`end_batch`, adds it to the open batch).
    pub fn commit(&self, tx: TxData) -> Result<(), Error> {
        if tx.is_empty() {
            return Ok(());
        }
        let deferred = self.batch_depth.get() > 0;
        let in_tick = !deferred && self.tick_open.get();
        let mut overlay = self.overlay.borrow_mut();
        let (mut tick, mut tick_keys, mut tick_latest) =
            (self.tick.borrow_mut(), self.tick_keys.borrow_mut(), self.tick_latest.borrow_mut());
        // A batch of its own only outside ticks and batches (creating one
        // is a C++ allocation per command).
        let mut own = (!deferred && !in_tick).then(WriteBatch::default);
        let mut sink = match (deferred, in_tick) {
            (true, _) => Sink::overlay(&self.db, &mut overlay),
            (false, true) => Sink::tick(&self.db, &mut tick, &mut tick_keys, &mut tick_latest),
            (false, false) => Sink::batch(&self.db, own.as_mut().expect("created above")),
        };
        let mut counts = self.counts_next.borrow_mut();
        counts.clone_from(&self.counts.borrow());
        for &flush in &tx.flushes {
            let dbs: Vec<u8> = match flush {
                Some(d) => vec![d],
                None => (0..counts.len() as u8).collect(),
            };
            for d in dbs {
                for c in [Cf::Meta, Cf::Data, Cf::Zscore] {
                    sink.delete_range(c, &[d], &[d + 1]);
                }
                counts[d as usize] = DbCounts::default();
            }
            if flush.is_none() {
                sink.delete_range(Cf::Expire, &[0u8; 8], &[0xffu8; 9]);
            }
        }
        for e in tx.entries.iter().filter(|e| e.dirty) {
            let (db, user_key) = keys::split_meta(&e.mkey);
            match &e.cur {
                Some(m) => sink.put(Cf::Meta, &e.mkey, m.raw()),
                None => sink.delete(Cf::Meta, &e.mkey),
            }
            let exp = |m: &Option<Meta>| m.as_ref().map_or(0, Meta::expire_ms);
            let (old_exp, new_exp) = (exp(&e.orig), exp(&e.cur));
            if old_exp != new_exp {
                if old_exp != 0 {
                    sink.delete(Cf::Expire, &keys::expire(old_exp, db, user_key));
                }
                if new_exp != 0 {
                    sink.put(Cf::Expire, &keys::expire(new_exp, db, user_key), b"");
                }
            }
            let c = &mut counts[db as usize];
            c.keys = (c.keys + e.cur.is_some() as u64).saturating_sub(e.orig.is_some() as u64);
            c.expires = (c.expires + (new_exp != 0) as u64).saturating_sub((old_exp != 0) as u64);
        }
        for op in &tx.ops {
            match op {
                SubOp::Put(c, k, v) => sink.put(*c, k, v),
                SubOp::Delete(c, k) => sink.delete(*c, k),
                SubOp::DeleteRange(c, a, b) => sink.delete_range(*c, a, b),
            }
        }
        if *counts != *self.counts.borrow() {
            let mut v = Vec::with_capacity(counts.len() * 16);
            for c in counts.iter() {
                v.extend_from_slice(&c.keys.to_be_bytes());
                v.extend_from_slice(&c.expires.to_be_bytes());
            }
            sink.put(Cf::Default, keys::COUNTS_KEY, &v);
        }
        let tick_full = in_tick && tick.size_in_bytes() + tick_latest.bytes() >= TICK_BATCH_MAX;
        drop((tick, tick_keys, tick_latest, overlay));
        if in_tick {
            self.tick_dirty.set(true);
        } else if let Some(own) = own {
            if let Err(e) = self.db.write_opt(own, &self.write_opts) {
                return Err(self.write_failed(e));
            }
            self.unflushed.set(true);
        }
        std::mem::swap(&mut *self.counts.borrow_mut(), &mut *counts);
        drop(counts);
        self.rank.borrow_mut().observe(&tx);
        self.members.borrow_mut().observe(&tx);
        let mut cache = self.cache.borrow_mut();
        for &flush in &tx.flushes {
            cache.clear(flush);
        }
        for e in tx.entries.into_iter().filter(|e| e.dirty) {
            cache.put(&e.mkey, e.cur);
        }
        drop(cache);
        if tick_full {
            // A long pipeline in one tick: bound the memory the batch holds.
            self.settle()?;
        }
        Ok(())
    }

    /// Opens an event-loop tick: until `end_tick`, commits outside a
    /// MULTI/script batch are deferred into one tick batch (module doc).
    pub fn begin_tick(&self) {
        self.tick_open.set(true);
    }

    /// Closes the tick: writes its deferred commits and flushes the WAL
    /// (`flush_wal`). An error means no reply of the tick may be sent (a
    /// write of it failed, now or earlier in the tick).
    pub fn end_tick(&self, sync: bool) -> Result<(), Error> {
        self.tick_open.set(false);
        self.iters.borrow_mut().clear();
        let flushed = self.flush_wal(sync);
        if self.tick_failed.replace(false) {
            return Err(flushed.err().unwrap_or_else(|| Error::Storage(self.write_error().unwrap_or_default())));
        }
        flushed
    }

    /// Nothing written so far (in this tick or before) waits for `flush_wal`
    /// (nor, with `sync`, for an fsync), and no write of the tick failed: a
    /// reply sent now acknowledges nothing a crash could lose, so the event
    /// loop may send it before the tick ends.
    pub fn nothing_unflushed(&self, sync: bool) -> bool {
        let waiting = self.tick_dirty.get() || self.unflushed.get() || (sync && self.unsynced.get());
        !waiting && !self.tick_failed.get()
    }

    /// Hands the tick's deferred writes to RocksDB. Called before every read
    /// RocksDB answers (it must see them) and by `flush_wal`. On failure the
    /// in-memory state is reloaded from the disk, and the tick is marked
    /// failed: none of its replies may be sent.
    fn settle(&self) -> Result<(), Error> {
        if !self.tick_dirty.replace(false) {
            return Ok(());
        }
        self.tick_keys.borrow_mut().clear();
        let mut batch = std::mem::take(&mut *self.tick.borrow_mut());
        self.tick_latest.borrow_mut().drain_into(&mut batch, |c| self.cf(c));
        if let Err(e) = self.db.write_opt(batch, &self.write_opts) {
            let err = self.write_failed(e);
            self.tick_failed.set(true);
            self.forget_unwritten()?;
            return Err(err);
        }
        self.unflushed.set(true);
        Ok(())
    }

    /// `settle`, if the tick batch may hold `key` (a point read of it).
    fn settle_for(&self, cf: Cf, key: &[u8]) -> Result<(), Error> {
        if self.tick_dirty.get() && self.tick_keys.borrow().may_hold(cf, key) {
            return self.settle();
        }
        Ok(())
    }

    /// After a failed write: drops what memory holds beyond the disk (cached
    /// records, rank indexes, key counts) and reloads the bookkeeping.
    fn forget_unwritten(&self) -> Result<(), Error> {
        self.cache.borrow_mut().clear(None);
        self.members.borrow_mut().clear(None);
        self.rank.borrow_mut().clear();
        self.counts.borrow_mut().iter_mut().for_each(|c| *c = DbCounts::default());
        self.load_bookkeeping()
    }

    /// Opens (or nests) a batch: until the matching `end_batch`, commits are
    /// gathered into one `WriteBatch` that reads already see (MULTI/EXEC, scripts).
    pub fn begin_batch(&self) {
        self.batch_depth.set(self.batch_depth.get() + 1);
    }

    /// Closes a batch; the outermost close hands it to RocksDB as one
    /// `WriteBatch`: inside a tick appended to the tick batch (written with
    /// it, still atomically), else written at once. If that write fails,
    /// nothing of the batch is applied: the read cache and key counts are
    /// reloaded so they match the disk again.
    pub fn end_batch(&self) -> Result<(), Error> {
        debug_assert!(self.batch_depth.get() > 0, "end_batch without begin_batch");
        self.batch_depth.set(self.batch_depth.get().saturating_sub(1));
        if self.batch_depth.get() > 0 || self.overlay.borrow().is_empty() {
            return Ok(());
        }
        // Replayed, then cleared: the overlay keeps its buffers for the next batch.
        let mut overlay = self.overlay.borrow_mut();
        if self.tick_open.get() {
            let full = {
                let (mut tick, mut tick_keys, mut tick_latest) =
                    (self.tick.borrow_mut(), self.tick_keys.borrow_mut(), self.tick_latest.borrow_mut());
                Sink::tick(&self.db, &mut tick, &mut tick_keys, &mut tick_latest).replay(&overlay);
                tick.size_in_bytes() + tick_latest.bytes() >= TICK_BATCH_MAX
            };
            overlay.clear();
            drop(overlay);
            self.tick_dirty.set(true);
            return if full { self.settle() } else { Ok(()) };
        }
        let mut batch = WriteBatch::default();
        Sink::batch(&self.db, &mut batch).replay(&overlay);
        overlay.clear();
        drop(overlay);
        match self.db.write_opt(batch, &self.write_opts) {
            Ok(()) => {
                self.unflushed.set(true);
                Ok(())
            }
            Err(e) => {
                let err = self.write_failed(e);
                self.forget_unwritten()?;
                Err(err)
            }
        }
    }

    /// Drops the open batch's writes (a script stopped by SHUTDOWN NOSAVE):
    /// nothing of it reaches RocksDB, and what memory holds of it (cached
    /// records, rank indexes, key counts) is reloaded from the disk, once
    /// the tick's earlier writes are there.
    pub fn discard_batch(&self) -> Result<(), Error> {
        self.batch_depth.set(self.batch_depth.get().saturating_sub(1));
        self.overlay.borrow_mut().clear();
        self.settle()?;
        self.forget_unwritten()
    }

    /// Hands this tick's WAL to the OS, and fsyncs it if `sync`. Called by the
    /// event loop before any reply of the tick is written.
    pub fn flush_wal(&self, sync: bool) -> Result<(), Error> {
        self.settle()?;
        if self.unflushed.get() {
            // On failure the tick's writes are dropped from the count: their
            // clients are closed unanswered, and later ticks (reads only,
            // writes are refused) must not fail on them again.
            self.unflushed.set(false);
            self.db.flush_wal(false).map_err(|e| self.write_failed(e))?;
            self.unsynced.set(true);
        }
        if sync && self.unsynced.get() {
            self.db.flush_wal(true).map_err(|e| self.write_failed(e))?;
            self.unsynced.set(false);
            self.last_sync_ms.set(now_ms());
        }
        Ok(())
    }

    /// `sync = "everysec"`: fsyncs what earlier ticks handed to the OS, on a
    /// helper thread. RocksDB allows a WAL sync concurrent with writes (and
    /// `FlushWAL` takes the log lock under `manual_wal_flush`). If the last
    /// sync has not finished, this one is skipped, as Redis postpones its
    /// fsync; a failed sync refuses writes like any write error.
    pub fn sync_in_background(&self) {
        self.reap_sync(false);
        if self.sync_job.borrow().is_some() || !self.unsynced.get() || self.write_error.borrow().is_some() {
            return;
        }
        self.unsynced.set(false);
        let db = Arc::clone(&self.db);
        let started = now_ms();
        let job = std::thread::Builder::new().name("wal-sync".into()).spawn(move || db.flush_wal(true));
        match job {
            Ok(h) => *self.sync_job.borrow_mut() = Some((started, h)),
            Err(e) => {
                // No thread to spare: sync here instead.
                log::warn!("cannot start the WAL sync thread ({e}); syncing inline");
                self.unsynced.set(true);
                if let Err(e) = self.flush_wal(true) {
                    log::error!("WAL sync failed: {e}");
                }
            }
        }
    }

    /// Collects a finished background sync (or waits for it with `wait`).
    pub fn reap_sync(&self, wait: bool) {
        let done = self.sync_job.borrow().as_ref().is_some_and(|(_, h)| wait || h.is_finished());
        if !done {
            return;
        }
        let Some((started, h)) = self.sync_job.borrow_mut().take() else { return };
        match h.join() {
            Ok(Ok(())) => self.last_sync_ms.set(started),
            Ok(Err(e)) => {
                self.unsynced.set(true);
                let _ = self.write_failed(e);
            }
            Err(_) => {
                self.unsynced.set(true);
                log::error!("the WAL sync thread panicked");
            }
        }
    }

    /// Records a failed write: from now on writes are refused (see `writable`).
    fn write_failed(&self, e: rocksdb::Error) -> Error {
        let msg = e.into_string();
        let mut slot = self.write_error.borrow_mut();
        if slot.is_none() {
            log::error!("write to the data dir failed, refusing writes until it works again: {msg}");
            *slot = Some(msg.clone());
        }
        Error::Storage(msg)
    }

    /// Why writes are refused right now (disk full, I/O error), if they are.
    pub fn write_error(&self) -> Option<String> {
        self.write_error.borrow().clone()
    }

    /// Closes and reopens the DB (see `try_resume`). In between, a read-only
    /// instance of the same dir stands in (it takes no LOCK), so the store is
    /// never without a DB: if the reopen fails, reads go on from it.
    fn reopen(&mut self) -> Result<(), Error> {
        self.backup_wait();
        self.reap_sync(true);
        self.iters.borrow_mut().clear();
        self.db.cancel_all_background_work(true);
        let names: Vec<&str> = Cf::ALL.iter().map(|c| c.name()).collect();
        let ro = DB::open_cf_for_read_only(&Options::default(), &self.cfg.dir, names, false).map_err(storage_err)?;
        let old = std::mem::replace(&mut self.db, Arc::new(ro));
        // A compaction filter may still hold the old DB for a moment.
        if let Err(old) = Arc::try_unwrap(old) {
            self.db = old;
            return Err(Error::Storage("the DB is still in use".into()));
        }
        let slot: gc::DbSlot = Arc::default();
        let db = Arc::new(open_db(&self.cfg, &slot)?);
        let _ = slot.set(Arc::downgrade(&db));
        self.db = db;
        // Writes that reached the memtable but not the WAL are gone now:
        // drop every cached record and reload the persisted bookkeeping.
        self.cache.borrow_mut().clear(None);
        self.members.borrow_mut().clear(None);
        self.rank.borrow_mut().clear();
        self.counts.borrow_mut().iter_mut().for_each(|c| *c = DbCounts::default());
        self.load_bookkeeping()?;
        log::warn!("data dir '{}' reopened after a write error", self.cfg.dir);
        Ok(())
    }

    /// Ok if writes are accepted. After a write error, probes (at most every
    /// `RESUME_PROBE_MS`) whether writing works again, so writes resume by
    /// themselves once space is back.
    pub fn writable(&mut self) -> Result<(), String> {
        let Some(cause) = self.write_error() else { return Ok(()) };
        let now = now_ms();
        if now.saturating_sub(self.last_probe_ms.get()) >= RESUME_PROBE_MS {
            self.last_probe_ms.set(now);
            if self.try_resume() {
                return Ok(());
            }
        }
        Err(cause)
    }

    /// After a write error: checks with a synced probe write whether writing
    /// works again, and if not, reopens the DB.
    ///
    /// Why reopen: RocksDB resumes by itself from a full disk hit by a flush
    /// or compaction (its SstFileManager polls for space), but a failed WAL
    /// write under `manual_wal_flush` is marked fatal ("potentially WAL
    /// error"), which `DB::Resume` refuses too (and rust-rocksdb 0.24 does not
    /// wrap Resume anyway). Closing and reopening replays the WAL up to the
    /// last complete record: every acknowledged write is there, the failed
    /// tick's unacknowledged writes are not.
    pub fn try_resume(&mut self) -> bool {
        if self.write_error.borrow().is_none() {
            return true;
        }
        let mut probe =
            self.db.put_cf(self.cf(Cf::Default), keys::CLEAN_KEY, [0]).and_then(|()| self.db.flush_wal(true));
        if probe.is_err() {
            if let Err(e) = self.reopen() {
                log::debug!("reopening the data dir failed: {e}");
                return false;
            }
            probe = self.db.put_cf(self.cf(Cf::Default), keys::CLEAN_KEY, [0]).and_then(|()| self.db.flush_wal(true));
        }
        match probe {
            Ok(()) => {
                log::warn!("writes to the data dir work again: accepting writes");
                *self.write_error.borrow_mut() = None;
                self.unflushed.set(false);
                self.unsynced.set(false);
                self.last_sync_ms.set(now_ms());
                true
            }
            Err(e) => {
                log::debug!("data dir still not writable: {}", e.into_string());
                false
            }
        }
    }

    /// A RocksDB integer property of a column family (e.g. `rocksdb.estimate-live-data-size`).
    pub fn property(&self, cf: Cf, name: &str) -> u64 {
        self.db.property_int_value_cf(self.cf(cf), name).ok().flatten().unwrap_or(0)
    }

    /// An integer property summed over every column family.
    pub fn property_sum(&self, name: &str) -> u64 {
        Cf::ALL.iter().map(|&cf| self.property(cf, name)).sum()
    }

    /// Bytes held by the read caches (meta records and collection members).
    pub fn read_cache_bytes(&self) -> usize {
        self.cache.borrow().bytes() + self.members.borrow().bytes()
    }

    /// Compacts every column family fully (tests and DEBUG; runs the GC filter).
    pub fn compact_all(&self) {
        if let Err(e) = self.settle() {
            log::warn!("compaction: deferred writes failed: {e}");
        }
        for cf in Cf::ALL {
            self.db.compact_range_cf(self.cf(cf), None::<&[u8]>, None::<&[u8]>);
        }
    }

    /// Syncs the WAL and flushes memtables: used at shutdown and by SAVE.
    pub fn persist_all(&self) -> Result<(), Error> {
        self.flush_wal(true)?;
        let handles: Vec<_> = Cf::ALL.iter().map(|&c| self.cf(c)).collect();
        self.db.flush_cfs_opt(&handles, &rocksdb::FlushOptions::default()).map_err(storage_err)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // A BGSAVE thread holds the DB too: let it finish first. Then let
        // running compactions (whose filters may hold a strong handle) finish
        // before the DB is closed, so the close happens here.
        self.backup_wait();
        self.reap_sync(true);
        self.db.cancel_all_background_work(true);
    }
}

/// Opens the RocksDB instance of `cfg` (column families, caches, the GC
/// filter reaching the DB through `slot`).
fn open_db(cfg: &StorageConfig, slot: &gc::DbSlot) -> Result<DB, Error> {
    let dir = Path::new(&cfg.dir);
    let cache = rocksdb::Cache::new_lru_cache_opts(&cache_opts(cfg.block_cache_size));
    let mut db_opts = Options::default();
    db_opts.create_if_missing(true);
    db_opts.create_missing_column_families(true);
    db_opts.set_manual_wal_flush(true);
    // One writer thread (the executor): skip the machinery for concurrent
    // writers. (Its per-batch insert hints would only apply to a write
    // group of several batches, never formed by one writer.)
    db_opts.set_allow_concurrent_memtable_write(false);
    db_opts.set_enable_write_thread_adaptive_yield(false);
    db_opts.set_max_background_jobs(cfg.max_background_jobs);
    db_opts.set_max_open_files(cfg.max_open_files);
    db_opts.set_keep_log_file_num(5);
    // A WAL file is kept until every column family it holds writes of is
    // flushed; the small ones (default, expire) fill slowly, so without a cap
    // old WALs pile up: disk usage grows and a restart replays them all.
    // Past this size RocksDB flushes the column families holding them back.
    db_opts.set_max_total_wal_size(4 * cfg.write_buffer_size as u64);
    let cf_opts = |cf: Cf| {
        let mut o = Options::default();
        if matches!(cf, Cf::Data | Cf::Zscore) {
            o.set_compaction_filter_factory(gc::VersionFilterFactory::new(slot.clone(), cf));
        }
        let mut t = BlockBasedOptions::default();
        t.set_block_cache(&cache);
        if cfg.bloom_bits_per_key > 0.0 && matches!(cf, Cf::Meta | Cf::Data) {
            t.set_bloom_filter(cfg.bloom_bits_per_key, false);
        }
        t.set_cache_index_and_filter_blocks(true);
        t.set_pin_l0_filter_and_index_blocks_in_cache(true);
        o.set_block_based_table_factory(&t);
        if matches!(cf, Cf::Meta | Cf::Data) {
            // A point read of a key the memtable lacks (a new hash field,
            // set member or key: most writes read first) skips the
            // memtable's skiplist search, a chain of cache misses.
            o.set_memtable_prefix_bloom_ratio(MEMTABLE_BLOOM_RATIO);
            o.set_memtable_whole_key_filtering(true);
        }
        o.set_write_buffer_size(cfg.write_buffer_size);
        o.set_max_write_buffer_number(cfg.max_write_buffer_number);
        o.set_compression_type(compression(cfg.compression));
        o.set_bottommost_compression_type(compression(cfg.bottommost_compression));
        o.set_level_compaction_dynamic_level_bytes(true);
        o
    };
    let descs = Cf::ALL.iter().map(|&cf| ColumnFamilyDescriptor::new(cf.name(), cf_opts(cf)));
    DB::open_cf_descriptors(&db_opts, dir, descs).map_err(|e| {
        let msg = e.into_string();
        if msg.contains("LOCK") {
            Error::Config(format!(
                "data dir '{}' is in use by another process (RocksDB LOCK held): {msg}",
                dir.display()
            ))
        } else {
            Error::Storage(format!("cannot open data dir '{}': {msg}", dir.display()))
        }
    })
}

/// Block cache shape: shards of at least [`MIN_CACHE_SHARD`]. RocksDB's own
/// choice (64 shards once the cache passes 32 MiB) leaves a 256 MiB cache
/// 4 MiB shards, and a block larger than its shard's free room is dropped as
/// soon as it is released: the filter of a big SST file (megabytes) was then
/// read from disk and checksummed again on every point read (ZADD on a
/// 1M-member zset after flushes: 25 µs -> 200 µs of CPU). Only the executor
/// and a few background jobs use the cache, so few shards cost no contention.
fn cache_opts(capacity: usize) -> rocksdb::LruCacheOptions {
    let mut o = rocksdb::LruCacheOptions::default();
    o.set_capacity(capacity);
    let shards = (capacity / MIN_CACHE_SHARD).clamp(1, 64);
    o.set_num_shard_bits(shards.ilog2() as i32);
    o
}

/// Refuses a RocksDB database that is not DiskDB's (another application's,
/// or unreadable), before opening it would add our column families to it.
fn check_is_ours(dir: &Path) -> Result<(), Error> {
    let cfs = DB::list_cf(&Options::default(), dir)
        .map_err(|e| Error::Storage(format!("cannot open data dir '{}': {}", dir.display(), e.into_string())))?;
    if !cfs.iter().any(|c| c == Cf::Meta.name()) {
        // A truncated MANIFEST also lists only `default`: tell corruption
        // apart by opening it read-only, which checks it whole.
        if let Err(e) = DB::open_for_read_only(&Options::default(), dir, false) {
            return Err(Error::Storage(format!("cannot open data dir '{}': {}", dir.display(), e.into_string())));
        }
        return Err(Error::Storage(format!(
            "data dir '{}' holds a RocksDB database that is not DiskDB's (column families: {})",
            dir.display(),
            cfs.join(", ")
        )));
    }
    Ok(())
}

/// WAL files (`*.log`) in `dir` and their total size: what a start-up replays.
fn wal_files(dir: &Path) -> (usize, u64) {
    let Ok(rd) = std::fs::read_dir(dir) else { return (0, 0) };
    rd.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .fold((0, 0), |(n, b), e| (n + 1, b + e.metadata().map_or(0, |m| m.len())))
}

/// Smallest key greater than every key with this prefix (None if all 0xff).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last != 0xff {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

fn cf_handle(db: &DB, c: Cf) -> &rocksdb::ColumnFamily {
    db.cf_handle(c.name()).expect("invariant: every column family is opened")
}

/// Where `commit` sends its operations: a write batch, or for a deferred
/// commit the overlay that lets later reads see them. For the tick batch,
/// also the keys it holds and its kept-aside latest meta writes.
struct Sink<'b> {
    db: &'b DB,
    batch: Option<&'b mut WriteBatch>,
    overlay: Option<&'b mut Overlay>,
    touched: Option<&'b mut Touched>,
    latest: Option<&'b mut Latest>,
}

impl<'b> Sink<'b> {
    fn batch(db: &'b DB, batch: &'b mut WriteBatch) -> Self {
        Sink { db, batch: Some(batch), overlay: None, touched: None, latest: None }
    }

    fn overlay(db: &'b DB, overlay: &'b mut Overlay) -> Self {
        Sink { db, batch: None, overlay: Some(overlay), touched: None, latest: None }
    }

    fn tick(db: &'b DB, batch: &'b mut WriteBatch, touched: &'b mut Touched, latest: &'b mut Latest) -> Self {
        Sink { db, batch: Some(batch), overlay: None, touched: Some(touched), latest: Some(latest) }
    }

    /// Sends a closed MULTI/script batch's writes.
    fn replay(&mut self, overlay: &Overlay) {
        for w in overlay.writes() {
            match w {
                Write::Put(c, k, v) => self.put(c, k, v),
                Write::Delete(c, k) => self.delete(c, k),
                Write::DeleteRange(c, a, b) => self.delete_range(c, a, b),
            }
        }
    }

    /// A put (`Some`) or delete (`None`) of one key.
    fn write(&mut self, c: Cf, k: &[u8], v: Option<&[u8]>) {
        if let Some(t) = self.touched.as_deref_mut() {
            t.key(c, k);
        }
        if let Some(o) = self.overlay.as_deref_mut() {
            match v {
                Some(v) => o.put(c, k, v),
                None => o.delete(c, k),
            }
        }
        if let Some(l) = self.latest.as_deref_mut() {
            return l.set(c, k, v);
        }
        let h = cf_handle(self.db, c);
        if let Some(b) = self.batch.as_deref_mut() {
            match v {
                Some(v) => b.put_cf(h, k, v),
                None => b.delete_cf(h, k),
            }
        }
    }

    fn put(&mut self, c: Cf, k: &[u8], v: &[u8]) {
        self.write(c, k, Some(v));
    }

    fn delete(&mut self, c: Cf, k: &[u8]) {
        self.write(c, k, None);
    }

    fn delete_range(&mut self, c: Cf, a: &[u8], b: &[u8]) {
        let (db, h) = (self.db, cf_handle(self.db, c));
        if let Some(batch) = self.batch.as_deref_mut() {
            // Kept-aside writes that came before the range delete go first.
            if let Some(l) = self.latest.as_deref_mut() {
                l.drain_into(batch, |c| cf_handle(db, c));
            }
            batch.delete_range_cf(h, a, b);
        }
        if let Some(o) = self.overlay.as_deref_mut() {
            o.delete_range(c, a, b);
        }
        if let Some(t) = self.touched.as_deref_mut() {
            t.range();
        }
    }
}

/// A sub-key operation recorded by a transaction.
enum SubOp {
    Put(Cf, Vec<u8>, Vec<u8>),
    Delete(Cf, Vec<u8>),
    DeleteRange(Cf, Vec<u8>, Vec<u8>),
}

/// A meta key touched by a transaction: its state before and after.
struct Entry {
    mkey: Vec<u8>,
    orig: Option<Meta>,
    cur: Option<Meta>,
    dirty: bool,
}

/// What a finished transaction hands to `Store::commit`.
pub struct TxData {
    entries: Vec<Entry>,
    ops: Vec<SubOp>,
    flushes: Vec<Option<u8>>,
}

impl TxData {
    /// `(db, user_key)` of every key this transaction creates, changes or
    /// deletes (a deleted stream must wake its blocked XREADGROUP clients,
    /// which then get Redis's NOGROUP error).
    pub fn written_keys(&self) -> impl Iterator<Item = (u8, &[u8])> {
        self.entries.iter().filter(|e| e.dirty).map(|e| keys::split_meta(&e.mkey))
    }

    /// `(db, user_key)` of every key this transaction writes or deletes,
    /// including a collection changed only in its members (an HSET of an
    /// existing field, a ZADD score change, LSET leave its meta record as it
    /// was): WATCH must see those too. A key may come more than once.
    pub fn changed_keys(&self) -> impl Iterator<Item = (u8, &[u8])> {
        let subs = self.ops.iter().filter_map(|op| match op {
            SubOp::Put(c, k, _) | SubOp::Delete(c, k) | SubOp::DeleteRange(c, k, _)
                if matches!(c, Cf::Data | Cf::Zscore) =>
            {
                keys::split_data(k).map(|(db, key, _, _)| (db, key))
            }
            _ => None,
        });
        self.written_keys().chain(subs)
    }

    /// Databases this transaction empties (`None` = all of them).
    pub fn flushed_dbs(&self) -> impl Iterator<Item = Option<u8>> + '_ {
        self.flushes.iter().copied()
    }

    /// True if nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.flushes.is_empty() && !self.entries.iter().any(|e| e.dirty)
    }
}

/// Past this many touched keys, a hash index replaces the linear search.
const INDEX_AFTER: usize = 8;

/// One command's view of the store: reads see its own pending writes; writes
/// are buffered and committed by the dispatcher after the handler succeeds.
pub struct Tx<'a> {
    store: &'a Store,
    /// The client's selected database.
    pub db: u8,
    /// The command's clock (Unix ms): one value for the whole command, like Redis.
    pub now_ms: u64,
    /// The clock keys expire by: `now_ms`, or inside a script or EXEC its
    /// start (`ServerState::frozen_clock`).
    pub expire_ms: u64,
    entries: Vec<Entry>,
    index: Option<HashMap<Vec<u8>, usize, ahash::RandomState>>,
    ops: Vec<SubOp>,
    flushes: Vec<Option<u8>>,
    scratch: Vec<u8>,
}

impl<'a> Tx<'a> {
    /// A transaction on `db` at time `now_ms`.
    pub fn new(store: &'a Store, db: u8, now_ms: u64) -> Self {
        Tx {
            store,
            db,
            now_ms,
            expire_ms: now_ms,
            entries: Vec::new(),
            index: None,
            ops: Vec::new(),
            flushes: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The underlying store (read-only).
    pub fn store(&self) -> &'a Store {
        self.store
    }

    fn find(&self, mkey: &[u8]) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(mkey).copied(),
            None => self.entries.iter().position(|e| e.mkey == mkey),
        }
    }

    /// Like `find` without building the meta key (the read fast path).
    fn find_parts(&self, db: u8, key: &[u8]) -> Option<usize> {
        match &self.index {
            Some(_) => {
                let mut scratch = self.store.scratch.borrow_mut();
                keys::meta_into(&mut scratch, db, key);
                self.find(&scratch)
            }
            None => self.entries.iter().position(|e| e.mkey[0] == db && &e.mkey[1..] == key),
        }
    }

    /// Index of the entry for (db, key), loading it from the store on first touch.
    fn entry(&mut self, db: u8, key: &[u8]) -> Result<usize, Error> {
        let mut scratch = std::mem::take(&mut self.scratch);
        keys::meta_into(&mut scratch, db, key);
        let found = self.find(&scratch);
        let r = match found {
            Some(i) => Ok(i),
            None => match self.store.get_meta(&scratch) {
                Ok(orig) => {
                    let i = self.entries.len();
                    self.entries.push(Entry { mkey: scratch.clone(), orig: orig.clone(), cur: orig, dirty: false });
                    if let Some(ix) = &mut self.index {
                        ix.insert(scratch.clone(), i);
                    } else if self.entries.len() > INDEX_AFTER {
                        self.index = Some(self.entries.iter().enumerate().map(|(i, e)| (e.mkey.clone(), i)).collect());
                    }
                    Ok(i)
                }
                Err(e) => Err(e),
            },
        };
        self.scratch = scratch;
        r
    }

    /// The live record of `key` in the current db; an expired key is deleted
    /// (lazy expiry, committed with the command) and reported absent.
    pub fn meta(&mut self, key: &[u8]) -> Result<Option<Meta>, Error> {
        self.meta_in(self.db, key)
    }

    /// [`Tx::meta`] in another database.
    pub fn meta_in(&mut self, db: u8, key: &[u8]) -> Result<Option<Meta>, Error> {
        // Fast path: a key this command has not touched and that is live needs
        // no entry, so a hot GET allocates nothing here.
        let i = match self.find_parts(db, key) {
            Some(i) => i,
            None => {
                let m = self.store.get_meta_in(db, key)?;
                if !m.as_ref().is_some_and(|m| m.is_expired(self.expire_ms)) {
                    return Ok(m);
                }
                self.entry(db, key)?
            }
        };
        let e = &mut self.entries[i];
        if e.cur.as_ref().is_some_and(|m| m.is_expired(self.expire_ms)) {
            e.cur = None;
            e.dirty = true;
        }
        Ok(e.cur.clone())
    }

    /// The record as stored, without the expiry check (for the expiry cycle).
    pub fn raw_meta_in(&mut self, db: u8, key: &[u8]) -> Result<Option<Meta>, Error> {
        let i = self.entry(db, key)?;
        Ok(self.entries[i].cur.clone())
    }

    /// Writes `key`'s record in the current db.
    pub fn put_meta(&mut self, key: &[u8], m: Meta) -> Result<(), Error> {
        self.set_meta_in(self.db, key, Some(m))
    }

    /// Deletes `key` in the current db (O(1): sub-keys are left to GC).
    pub fn del_meta(&mut self, key: &[u8]) -> Result<(), Error> {
        self.set_meta_in(self.db, key, None)
    }

    /// Writes or deletes (`None`) a record in any db.
    pub fn set_meta_in(&mut self, db: u8, key: &[u8], m: Option<Meta>) -> Result<(), Error> {
        let i = self.entry(db, key)?;
        let e = &mut self.entries[i];
        e.cur = m;
        e.dirty = true;
        Ok(())
    }

    /// A fresh collection version.
    pub fn new_version(&self) -> Result<u64, Error> {
        self.store.new_version()
    }

    /// Point read of a sub-key that sees this transaction's own pending writes
    /// (the latest one wins), so a command may write and re-read a member.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        for op in self.ops.iter().rev() {
            match op {
                SubOp::Put(c, k, v) if *c == cf && k == key => return Ok(Some(v.clone())),
                SubOp::Delete(c, k) if *c == cf && k == key => return Ok(None),
                SubOp::DeleteRange(c, a, b) if *c == cf && a.as_slice() <= key && key < b.as_slice() => {
                    return Ok(None)
                }
                _ => {}
            }
        }
        self.store.get(cf, key)
    }

    /// True if this transaction has buffered sub-key operations (iterators over
    /// the store do not see them; a handler that iterates after writing must
    /// account for its own writes).
    pub fn has_pending_ops(&self) -> bool {
        !self.ops.is_empty()
    }

    /// Buffers a sub-key write.
    pub fn put(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(SubOp::Put(cf, key, value));
    }

    /// Buffers a sub-key delete.
    pub fn delete(&mut self, cf: Cf, key: Vec<u8>) {
        self.ops.push(SubOp::Delete(cf, key));
    }

    /// Buffers a range delete `[from, to)`.
    pub fn delete_range(&mut self, cf: Cf, from: Vec<u8>, to: Vec<u8>) {
        self.ops.push(SubOp::DeleteRange(cf, from, to));
    }

    /// Empties database `db` (or all with `None`) at commit.
    pub fn flush(&mut self, db: Option<u8>) {
        self.flushes.push(db);
    }

    /// Ends the transaction, releasing the store borrow.
    pub fn finish(self) -> TxData {
        TxData { entries: self.entries, ops: self.ops, flushes: self.flushes }
    }
}

#[cfg(test)]
mod tests;
