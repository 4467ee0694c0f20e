//! Garbage collection of collection sub-keys by compaction filter.
//!
//! DEL, overwrite, expiry and FLUSHDB of a collection only touch its `meta`
//! record; its `data`/`zscore` records stay behind with a version that no
//! longer matches. During compaction this filter drops every sub-key whose
//! meta record is gone, holds another type, or carries another version, so
//! deletes are O(1) and space comes back in the background.
//!
//! The filter reads `meta` through a weak handle to the DB, set once the DB is
//! open (compactions that run before that keep everything). It must be
//! deterministic and never panic: undecodable keys are kept.

use super::keys::{self, Cf};
use super::meta::{Meta, Type};
use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::DB;
use std::ffi::{CStr, CString};
use std::sync::{Arc, OnceLock, Weak};

/// Shared slot through which filters reach the open DB.
pub type DbSlot = Arc<OnceLock<Weak<DB>>>;

/// Creates one `VersionFilter` per compaction run.
pub struct VersionFilterFactory {
    db: DbSlot,
    name: CString,
}

impl VersionFilterFactory {
    /// A factory for column family `cf` (the name is stable: RocksDB logs it).
    pub fn new(db: DbSlot, cf: Cf) -> Self {
        let name = CString::new(format!("diskdb.version_gc.{}", cf.name())).expect("invariant: no NUL in cf name");
        VersionFilterFactory { db, name }
    }
}

impl CompactionFilterFactory for VersionFilterFactory {
    type Filter = VersionFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> VersionFilter {
        VersionFilter { db: self.db.get().and_then(Weak::upgrade), last: None, name: self.name.clone() }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}

/// Drops sub-keys of dead collection versions during one compaction run.
pub struct VersionFilter {
    db: Option<Arc<DB>>,
    /// The last collection looked up: (meta key, what lives there). Sub-keys
    /// of one collection are adjacent, so this makes one lookup per collection.
    last: Option<(Vec<u8>, Option<Live>)>,
    name: CString,
}

/// The live collection at a meta key: its version and, for a list, its
/// live index span.
#[derive(Clone, Copy)]
struct Live {
    version: u64,
    span: Option<(u64, u64)>,
}

impl VersionFilter {
    fn live(&mut self, db: &DB, mkey: &[u8]) -> Option<Option<Live>> {
        if let Some((k, v)) = &self.last {
            if k == mkey {
                return Some(*v);
            }
        }
        let cf = db.cf_handle(Cf::Meta.name())?;
        // On a read error keep the record: losing data is worse than keeping garbage.
        let raw = db.get_pinned_cf(cf, mkey).ok()?;
        let live = raw
            .and_then(|r| Meta::decode(&r, mkey).ok())
            .filter(|m| m.ty() != Type::String)
            .map(|m| Live { version: m.version(), span: m.list_span() });
        self.last = Some((mkey.to_vec(), live));
        Some(live)
    }
}

impl CompactionFilter for VersionFilter {
    fn filter(&mut self, _level: u32, key: &[u8], _value: &[u8]) -> Decision {
        let Some(db) = self.db.clone() else { return Decision::Keep };
        let Some((dbi, user_key, version, sub)) = keys::split_data(key) else { return Decision::Keep };
        let mkey = keys::meta(dbi, user_key);
        match self.live(&db, &mkey) {
            Some(Some(live)) if live.version == version => match (live.span, <[u8; 8]>::try_from(sub)) {
                (Some((head, tail)), Ok(index)) if !(head..tail).contains(&u64::from_be_bytes(index)) => {
                    Decision::Remove
                }
                _ => Decision::Keep,
            },
            Some(_) => Decision::Remove,
            None => Decision::Keep,
        }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}
