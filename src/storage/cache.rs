//! The read caches: hot `meta` records (strings live there) kept in process, so
//! a hot GET is a hash lookup instead of a RocksDB read; the same structure
//! holds hot collection members (`subcache.rs`).
//!
//! Exactness: only `Store::commit` writes to RocksDB, and it updates or inserts
//! every meta record it writes in the same step, on the single executor thread;
//! a cached entry therefore always equals the stored record. Absent keys are
//! cached too (as `None`), so SET of a new key skips the RocksDB read.
//!
//! Eviction is two-generational: lookups hit `young` or promote from `old`; when
//! `young` reaches half the budget it becomes `old` and the previous `old` is
//! dropped. That approximates LRU at O(1) per operation with no per-entry links.

use super::meta::Meta;
use std::collections::HashMap;

/// Per-entry bookkeeping overhead counted against the budget.
const ENTRY_OVERHEAD: usize = 64;

/// A cached value: the bytes it holds besides its key.
pub trait Weigh {
    /// Bytes counted against the budget (beyond the key and the overhead).
    fn weight(&self) -> usize;
}

impl Weigh for Option<Meta> {
    fn weight(&self) -> usize {
        self.as_ref().map_or(0, Meta::size)
    }
}

impl Weigh for Option<Box<[u8]>> {
    fn weight(&self) -> usize {
        self.as_ref().map_or(0, |v| v.len())
    }
}

type Map<V> = HashMap<Box<[u8]>, V, ahash::RandomState>;

/// Bounded cache of records keyed by their full key (for meta records,
/// `db | user_key`; every key starts with its db byte).
pub struct ReadCache<V = Option<Meta>> {
    young: Map<V>,
    old: Map<V>,
    young_bytes: usize,
    budget: usize,
}

fn cost<V: Weigh>(k: &[u8], v: &V) -> usize {
    k.len() + v.weight() + ENTRY_OVERHEAD
}

impl ReadCache<Option<Meta>> {
    /// `Some(record-or-absent)` if cached.
    pub fn get(&mut self, k: &[u8]) -> Option<Option<Meta>> {
        self.get_with(k, Clone::clone)
    }
}

impl<V: Weigh> ReadCache<V> {
    /// A cache of at most about `budget` bytes (0 disables it).
    pub fn new(budget: usize) -> Self {
        ReadCache { young: Map::default(), old: Map::default(), young_bytes: 0, budget }
    }

    /// `f` of the cached value of `k`, if any (a hit in `old` moves it to `young`).
    pub fn get_with<R>(&mut self, k: &[u8], f: impl FnOnce(&V) -> R) -> Option<R> {
        if let Some(v) = self.young.get(k) {
            return Some(f(v));
        }
        let (k, v) = self.old.remove_entry(k)?;
        let out = f(&v);
        self.insert_young(k, v);
        Some(out)
    }

    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.young.is_empty() && self.old.is_empty()
    }

    /// Replaces the value of `k` if it is cached (a write of a record that
    /// nobody read does not fill the cache).
    pub fn update(&mut self, k: &[u8], v: V) {
        self.update_with(k, |slot| *slot = v);
    }

    /// Changes the value of `k` in place with `f` if it is cached (a
    /// rewritten member of the same size reuses its buffer: freeing the old
    /// one touched cold memory on every write).
    pub fn update_with(&mut self, k: &[u8], f: impl FnOnce(&mut V)) {
        if let Some(slot) = self.young.get_mut(k) {
            let before = cost(k, slot);
            f(slot);
            self.young_bytes = self.young_bytes + cost(k, slot) - before;
        } else if let Some(slot) = self.old.get_mut(k) {
            f(slot);
        }
    }

    /// Forgets `k`.
    pub fn remove(&mut self, k: &[u8]) {
        self.take(k);
    }

    /// Forgets `k`, giving back its cached value if any (a key is in one
    /// generation at most: `put` and promotions take it out of `old`).
    pub fn take(&mut self, k: &[u8]) -> Option<V> {
        if let Some(v) = self.young.remove(k) {
            self.young_bytes -= cost(k, &v);
            return Some(v);
        }
        self.old.remove(k)
    }

    /// Forgets every key in `[from, to)`. O(entries).
    pub fn remove_range(&mut self, from: &[u8], to: &[u8]) {
        let inside = |k: &[u8]| from <= k && k < to;
        self.young.retain(|k, _| !inside(k));
        self.old.retain(|k, _| !inside(k));
        self.young_bytes = self.young.iter().map(|(k, v)| cost(k, v)).sum();
    }

    /// Records the current state of a key.
    pub fn put(&mut self, k: &[u8], v: V) {
        if self.budget == 0 {
            return;
        }
        self.old.remove(k);
        if let Some(slot) = self.young.get_mut(k) {
            self.young_bytes = self.young_bytes + cost(k, &v) - cost(k, slot);
            *slot = v;
            return;
        }
        self.insert_young(k.into(), v);
    }

    fn insert_young(&mut self, k: Box<[u8]>, v: V) {
        let c = cost(&k, &v);
        if c > self.budget / 4 {
            return; // a huge value would flush everything else out
        }
        self.young_bytes += c;
        self.young.insert(k, v);
        if self.young_bytes > self.budget / 2 {
            // The dropped generation's table becomes the new young one:
            // growing a fresh table rehashes and faults in new pages.
            let mut table = std::mem::take(&mut self.old);
            table.clear();
            self.old = std::mem::replace(&mut self.young, table);
            self.young_bytes = 0;
        }
    }

    /// Drops every entry of database `db` (FLUSHDB), or all (`None`).
    pub fn clear(&mut self, db: Option<u8>) {
        match db {
            None => {
                self.young.clear();
                self.old.clear();
                self.young_bytes = 0;
            }
            Some(d) => {
                self.young.retain(|k, _| k[0] != d);
                self.old.retain(|k, _| k[0] != d);
                self.young_bytes = self.young.iter().map(|(k, v)| cost(k, v)).sum();
            }
        }
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.young_bytes + self.old.iter().map(|(k, v)| cost(k, v)).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_miss_update_and_bound() {
        let mut c = ReadCache::new(10_000);
        assert_eq!(c.get(b"\0a"), None);
        c.put(b"\0a", Some(Meta::string(b"1", 0)));
        assert_eq!(c.get(b"\0a").unwrap().unwrap().value(), b"1");
        c.put(b"\0a", None);
        assert_eq!(c.get(b"\0a"), Some(None));
        for i in 0..1000u32 {
            c.put(&i.to_be_bytes(), Some(Meta::string(b"xxxxxxxx", 0)));
        }
        assert!(c.young_bytes <= 5_000 + 200);
        assert!(c.young.len() + c.old.len() < 1000);
        c.clear(None);
        assert_eq!(c.get(b"\0a"), None);
    }
}
