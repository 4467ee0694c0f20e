//! The member cache: hot `data` records of sets, sorted sets and hashes,
//! read by member lookups (SADD, SISMEMBER, ZADD, ZSCORE, HSET, HGET...),
//! kept in process so looking up a member again is a hash probe instead of
//! a RocksDB read. A point read of a random member is a memtable skiplist
//! search (or a block-cache read) costing several cache misses: it was the
//! largest single cost of a SADD of an existing member.
//!
//! Exactness, as for the read cache of meta records: entries are filled only
//! by [`Store::get_member`] from the store's own read path, and
//! `Store::commit` shows every committed operation to [`SubCache::observe`]:
//! a put or delete of a cached key updates it (a write of a key nobody read
//! does not fill the cache); a range delete drops the cached keys in its
//! range; a flush drops the db. Whatever drops the store's unwritten state
//! (a failed write, a discarded batch, a reopen) clears it. Records of dead
//! versions (a deleted or overwritten collection) are never looked up again
//! and age out.
//!
//! Range deletes (LTRIM, stream trims, FLUSHDB) must not cost a walk of the
//! cache each: `prefixes` remembers which collection versions have entries
//! (hashed; a superset, as evictions do not remove them), so a range inside
//! a collection with none cached is skipped in O(1).

use super::cache::ReadCache;
use super::keys::{self, Cf};
use super::{Error, Store, SubOp, TxData};
use std::collections::HashSet;

/// Values longer than this are not cached (big hash values stay on disk).
const MAX_VALUE: usize = 256;

/// Past this many remembered collections, the cache starts over (bounds
/// the memory of `prefixes`, which evictions do not shrink).
const MAX_PREFIXES: usize = 1 << 16;

/// Cached `data` records by full key: `Some(value)` or `None` (absent).
pub struct SubCache {
    map: ReadCache<Option<Box<[u8]>>>,
    /// Hashes of the `db | key_len | key | version` prefixes of the cached keys.
    prefixes: HashSet<u64, ahash::RandomState>,
    hasher: ahash::RandomState,
    enabled: bool,
}

/// The collection prefix (`db | key_len | key | version`) of a data key.
fn prefix_of(k: &[u8]) -> Option<&[u8]> {
    let (_, user_key, _, _) = keys::split_data(k)?;
    Some(&k[..13 + user_key.len()])
}

impl SubCache {
    /// A cache of at most about `budget` bytes (0 disables it).
    pub fn new(budget: usize) -> Self {
        SubCache {
            map: ReadCache::new(budget),
            prefixes: HashSet::default(),
            hasher: ahash::RandomState::new(),
            enabled: budget > 0,
        }
    }

    /// `Some(f(record-or-absent))` if `k` is cached (no copy of the value).
    fn get_with<R>(&mut self, k: &[u8], f: impl FnOnce(Option<&[u8]>) -> R) -> Option<R> {
        if !self.enabled {
            return None;
        }
        self.map.get_with(k, |v| f(v.as_deref()))
    }

    /// Takes `k` out of the cache: `Some(record-or-absent)` if it was cached.
    fn take(&mut self, k: &[u8]) -> Option<Option<Box<[u8]>>> {
        if !self.enabled {
            return None;
        }
        self.map.take(k)
    }

    /// Caches what the store holds at `k`.
    fn fill(&mut self, k: &[u8], v: Option<&[u8]>) {
        if !self.enabled || v.is_some_and(|v| v.len() > MAX_VALUE) {
            return;
        }
        let Some(prefix) = prefix_of(k) else { return };
        if self.prefixes.len() >= MAX_PREFIXES {
            self.clear(None);
        }
        self.prefixes.insert(self.hasher.hash_one(prefix));
        self.map.put(k, v.map(Into::into));
    }

    /// Drops every entry of `db`, or all (`None`).
    pub fn clear(&mut self, db: Option<u8>) {
        self.map.clear(db);
        if db.is_none() || self.map.is_empty() {
            self.prefixes.clear();
        }
    }

    /// Follows a committed transaction (see the module header).
    pub(super) fn observe(&mut self, tx: &TxData) {
        if self.map.is_empty() {
            return;
        }
        for &flush in &tx.flushes {
            self.clear(flush);
        }
        for op in &tx.ops {
            match op {
                SubOp::Put(Cf::Data, k, v) if v.len() <= MAX_VALUE => self.map.update_with(k, |slot| match slot {
                    Some(old) if old.len() == v.len() => old.copy_from_slice(v),
                    _ => *slot = Some(v.as_slice().into()),
                }),
                SubOp::Put(Cf::Data, k, _) => self.map.remove(k),
                SubOp::Delete(Cf::Data, k) => self.map.update(k, None),
                SubOp::DeleteRange(Cf::Data, a, b) => {
                    // A range inside one collection version (LTRIM, stream
                    // trims) is skipped unless that collection has entries.
                    let inside = prefix_of(a).filter(|p| b.starts_with(p));
                    if inside.map_or(true, |p| self.prefixes.contains(&self.hasher.hash_one(p))) {
                        self.map.remove_range(a, b);
                    }
                }
                _ => {}
            }
        }
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.map.bytes() + self.prefixes.len() * 16
    }
}

impl Store {
    /// Point read of a collection member's `data` record (a set or sorted-set
    /// member, a hash field) through the member cache: `f` of what
    /// [`Store::get`] answers, without a RocksDB read when the member was
    /// looked up or written lately, and without copying a cached value.
    pub fn member_with<R>(&self, key: &[u8], mut f: impl FnMut(Option<&[u8]>) -> R) -> Result<R, Error> {
        if let Some(hit) = self.members.borrow_mut().get_with(key, &mut f) {
            return Ok(hit);
        }
        let v = self.get(Cf::Data, key)?;
        self.members.borrow_mut().fill(key, v.as_deref());
        Ok(f(v.as_deref()))
    }

    /// Point read of `key`, a `data` record under the collection prefix
    /// `prefix` that the caller reads for the last time (a popped list
    /// element), through the member cache: a cached record is taken out of
    /// it; on a miss, the records around `key` from `first` to `last`
    /// (inclusive, in key order; a short range) are read and cached. List
    /// pops read the element next to the last one popped, so the next pops
    /// are hash probes instead of point reads that each search the memtables
    /// and every L0 file. The range is read forwards whichever end pops: a
    /// backward step in a memtable is a whole skiplist search. Exact like
    /// every fill: the records come from the store's own read path (the
    /// open batch merged). Values too long to cache are skipped, and end the
    /// read once `key` is found, so a list of long elements costs one range
    /// read per pop.
    pub fn last_member_read(
        &self,
        prefix: &[u8],
        key: &[u8],
        first: &[u8],
        last: &[u8],
    ) -> Result<Option<Vec<u8>>, Error> {
        if let Some(hit) = self.members.borrow_mut().take(key) {
            return Ok(hit.map(Vec::from));
        }
        if !self.members.borrow().enabled {
            return self.get(Cf::Data, key);
        }
        let mut found = None;
        self.iter_prefix(Cf::Data, prefix, Some(first), false, |k, v| {
            if k > last {
                return false;
            }
            if k == key {
                found = Some(v.to_vec());
            } else {
                self.members.borrow_mut().fill(k, Some(v));
            }
            v.len() <= MAX_VALUE || found.is_none()
        })?;
        Ok(found)
    }

    /// [`Store::member_with`] giving a copy of the record.
    pub fn get_member(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.member_with(key, |v| v.map(<[u8]>::to_vec))
    }

    /// Whether a collection member's `data` record exists (SADD, HSET's "is
    /// it new").
    pub fn has_member(&self, key: &[u8]) -> Result<bool, Error> {
        self.member_with(key, |v| v.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::keys;

    impl SubCache {
        fn get(&mut self, k: &[u8]) -> Option<Option<Vec<u8>>> {
            self.get_with(k, |v| v.map(<[u8]>::to_vec))
        }

        fn holds(&mut self, k: &[u8]) -> Option<bool> {
            self.get_with(k, |v| v.is_some())
        }
    }

    fn tx(ops: Vec<SubOp>, flushes: Vec<Option<u8>>) -> TxData {
        TxData { entries: Vec::new(), ops, flushes }
    }

    #[test]
    fn follows_puts_deletes_and_only_relevant_ranges() {
        let mut c = SubCache::new(1 << 20);
        let (a, b) = (keys::data(0, b"s", 7, b"a"), keys::data(0, b"s", 7, b"b"));
        c.fill(&a, None);
        c.fill(&b, Some(b""));
        assert_eq!(c.get(&a), Some(None));
        assert_eq!(c.get(&b), Some(Some(Vec::new())));
        assert_eq!((c.holds(&a), c.holds(&b)), (Some(false), Some(true)));
        // A put of a cached key updates it; of an uncached one, fills nothing.
        let other = keys::data(0, b"s", 7, b"c");
        c.observe(&tx(
            vec![SubOp::Put(Cf::Data, a.clone(), b"1".to_vec()), SubOp::Put(Cf::Data, other.clone(), vec![])],
            vec![],
        ));
        assert_eq!(c.get(&a), Some(Some(b"1".to_vec())));
        assert_eq!(c.get(&other), None);
        // A rewrite of the same size (updated in place) and of another size.
        c.observe(&tx(vec![SubOp::Put(Cf::Data, a.clone(), b"2".to_vec())], vec![]));
        assert_eq!(c.get(&a), Some(Some(b"2".to_vec())));
        c.observe(&tx(vec![SubOp::Put(Cf::Data, a.clone(), b"33".to_vec())], vec![]));
        assert_eq!(c.get(&a), Some(Some(b"33".to_vec())));
        c.observe(&tx(vec![SubOp::Put(Cf::Data, a.clone(), b"1".to_vec())], vec![]));
        c.observe(&tx(vec![SubOp::Delete(Cf::Data, b.clone())], vec![]));
        assert_eq!(c.get(&b), Some(None));
        // A big value is forgotten rather than kept.
        c.observe(&tx(vec![SubOp::Put(Cf::Data, a.clone(), vec![0; MAX_VALUE + 1])], vec![]));
        assert_eq!(c.get(&a), None);
        // A range inside another collection leaves these; one over them drops them.
        c.fill(&a, Some(b"2"));
        let (l0, l9) = (keys::data(0, b"l", 9, b"\x00"), keys::data(0, b"l", 9, b"\xff"));
        c.observe(&tx(vec![SubOp::DeleteRange(Cf::Data, l0, l9)], vec![]));
        assert_eq!(c.get(&a), Some(Some(b"2".to_vec())));
        let (s0, s9) = (keys::data(0, b"s", 7, b""), keys::data(0, b"s", 7, b"\xff"));
        c.observe(&tx(vec![SubOp::DeleteRange(Cf::Data, s0, s9)], vec![]));
        assert_eq!(c.get(&a), None);
        assert_eq!(c.get(&b), None);
        // FLUSHDB of another db keeps db 0's entries; FLUSHALL drops them.
        c.fill(&a, Some(b"3"));
        c.observe(&tx(vec![], vec![Some(1)]));
        assert_eq!(c.get(&a), Some(Some(b"3".to_vec())));
        c.observe(&tx(vec![], vec![None]));
        assert_eq!(c.get(&a), None);
    }

    #[test]
    fn disabled_cache_holds_nothing() {
        let mut c = SubCache::new(0);
        let a = keys::data(0, b"s", 7, b"a");
        c.fill(&a, Some(b""));
        assert_eq!(c.get(&a), None);
        assert_eq!(c.holds(&a), None);
    }
}
