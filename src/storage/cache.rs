//! The read cache: hot `meta` records (strings live there) kept in process, so a
//! hot GET is a hash lookup instead of a RocksDB read.
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

type Map = HashMap<Box<[u8]>, Option<Meta>, ahash::RandomState>;

/// Bounded cache of meta records keyed by the meta key (`db | user_key`).
pub struct ReadCache {
    young: Map,
    old: Map,
    young_bytes: usize,
    budget: usize,
}

fn cost(k: &[u8], v: &Option<Meta>) -> usize {
    k.len() + v.as_ref().map_or(0, Meta::size) + ENTRY_OVERHEAD
}

impl ReadCache {
    /// A cache of at most about `budget` bytes (0 disables it).
    pub fn new(budget: usize) -> Self {
        ReadCache { young: Map::default(), old: Map::default(), young_bytes: 0, budget }
    }

    /// `Some(record-or-absent)` if cached.
    pub fn get(&mut self, k: &[u8]) -> Option<Option<Meta>> {
        if let Some(v) = self.young.get(k) {
            return Some(v.clone());
        }
        let (k, v) = self.old.remove_entry(k)?;
        let out = v.clone();
        self.insert_young(k, v);
        Some(out)
    }

    /// Records the current state of a key.
    pub fn put(&mut self, k: &[u8], v: Option<Meta>) {
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

    fn insert_young(&mut self, k: Box<[u8]>, v: Option<Meta>) {
        let c = cost(&k, &v);
        if c > self.budget / 4 {
            return; // a huge value would flush everything else out
        }
        self.young_bytes += c;
        self.young.insert(k, v);
        if self.young_bytes > self.budget / 2 {
            self.old = std::mem::take(&mut self.young);
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
