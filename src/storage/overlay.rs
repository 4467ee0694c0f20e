//! Deferred commits: between `Store::begin_batch` and `Store::end_batch`,
//! committed transactions are not written to RocksDB one by one but gathered
//! here, and handed over as ONE `WriteBatch` (`writes`), so a MULTI/EXEC or a
//! Lua script is applied whole or not at all (after a crash, all of it or
//! none of it is there).
//!
//! While the batch is open, later commands must see its writes: every read of
//! the store (point lookups and iterators) consults this overlay first. It keeps,
//! per column family, the latest value of every written key (`None` = deleted)
//! and the ranges deleted by FLUSHDB/range deletes. A range delete removes the
//! overlay's own entries inside it, so "entry, else range, else RocksDB" is the
//! correct lookup order, and "ranges, then entries" the correct write order.

use super::keys::Cf;
use std::collections::BTreeMap;
use std::ops::Bound;

/// What the overlay says about one key.
pub enum Lookup<'a> {
    /// Written in the open batch (`None` = deleted).
    Written(Option<&'a [u8]>),
    /// Not touched by the open batch: read RocksDB.
    Unknown,
}

/// One write of the batch, in `Overlay::writes` order.
pub enum Write<'a> {
    /// `key`, `value`.
    Put(Cf, &'a [u8], &'a [u8]),
    /// `key`.
    Delete(Cf, &'a [u8]),
    /// `[from, to)`.
    DeleteRange(Cf, &'a [u8], &'a [u8]),
}

/// The overlay's entries in key order: `(key, value or None if deleted)`.
pub type Entries<'a> = Box<dyn Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a>;

/// Pending writes of one column family.
#[derive(Default)]
struct CfOverlay {
    entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Deleted ranges `[from, to)`.
    ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl CfOverlay {
    fn in_deleted_range(&self, key: &[u8]) -> bool {
        self.ranges.iter().any(|(a, b)| a.as_slice() <= key && key < b.as_slice())
    }
}

/// The overlay of an open batch.
#[derive(Default)]
pub struct Overlay {
    cfs: [CfOverlay; 5],
}

/// The column families by slot (`slot`'s inverse).
const CFS: [Cf; 5] = [Cf::Default, Cf::Meta, Cf::Data, Cf::Zscore, Cf::Expire];

fn slot(cf: Cf) -> usize {
    match cf {
        Cf::Default => 0,
        Cf::Meta => 1,
        Cf::Data => 2,
        Cf::Zscore => 3,
        Cf::Expire => 4,
    }
}

impl Overlay {
    /// True if no write is pending.
    pub fn is_empty(&self) -> bool {
        self.cfs.iter().all(|c| c.entries.is_empty() && c.ranges.is_empty())
    }

    /// Forgets everything (the batch was written or abandoned).
    pub fn clear(&mut self) {
        *self = Overlay::default();
    }

    /// The batch's writes, leaving RocksDB as lookups through the overlay
    /// see it: per column family its deleted ranges, then its entries.
    pub fn writes(&self) -> impl Iterator<Item = Write<'_>> {
        self.cfs.iter().zip(CFS).flat_map(|(c, cf)| {
            let ranges = c.ranges.iter().map(move |(a, b)| Write::DeleteRange(cf, a, b));
            let entries = c.entries.iter().map(move |(k, v)| match v {
                Some(v) => Write::Put(cf, k, v),
                None => Write::Delete(cf, k),
            });
            ranges.chain(entries)
        })
    }

    /// Records a put.
    pub fn put(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        self.cfs[slot(cf)].entries.insert(key.to_vec(), Some(value.to_vec()));
    }

    /// Records a delete.
    pub fn delete(&mut self, cf: Cf, key: &[u8]) {
        self.cfs[slot(cf)].entries.insert(key.to_vec(), None);
    }

    /// Records a range delete `[from, to)`.
    pub fn delete_range(&mut self, cf: Cf, from: &[u8], to: &[u8]) {
        let c = &mut self.cfs[slot(cf)];
        let doomed: Vec<Vec<u8>> = c.entries.range(from.to_vec()..to.to_vec()).map(|(k, _)| k.clone()).collect();
        for k in doomed {
            c.entries.remove(&k);
        }
        c.ranges.push((from.to_vec(), to.to_vec()));
    }

    /// What the open batch says about `key`.
    pub fn lookup(&self, cf: Cf, key: &[u8]) -> Lookup<'_> {
        let c = &self.cfs[slot(cf)];
        if let Some(v) = c.entries.get(key) {
            return Lookup::Written(v.as_deref());
        }
        if c.in_deleted_range(key) {
            return Lookup::Written(None);
        }
        Lookup::Unknown
    }

    /// True if RocksDB's record for `key` is hidden (deleted or overwritten).
    pub fn hides(&self, cf: Cf, key: &[u8]) -> bool {
        let c = &self.cfs[slot(cf)];
        c.entries.contains_key(key) || c.in_deleted_range(key)
    }

    /// The overlay's entries of `cf` within `[lower, upper)` starting at
    /// `start` (inclusive) in the given direction, deletions included.
    pub fn entries<'a>(
        &'a self,
        cf: Cf,
        lower: &[u8],
        upper: Option<&[u8]>,
        start: Option<&[u8]>,
        reverse: bool,
    ) -> Entries<'a> {
        let c = &self.cfs[slot(cf)];
        let (lo, hi): (Bound<Vec<u8>>, Bound<Vec<u8>>) = match (start, reverse) {
            (Some(s), false) => (
                Bound::Included(s.max(lower).to_vec()),
                upper.map_or(Bound::Unbounded, |u| Bound::Excluded(u.to_vec())),
            ),
            (Some(s), true) => (Bound::Included(lower.to_vec()), Bound::Included(s.to_vec())),
            (None, _) => {
                (Bound::Included(lower.to_vec()), upper.map_or(Bound::Unbounded, |u| Bound::Excluded(u.to_vec())))
            }
        };
        // A reverse start beyond the upper bound is clamped by the caller's check below.
        let upper = upper.map(<[u8]>::to_vec);
        let it = c
            .entries
            .range((lo, hi))
            .filter(move |(k, _)| upper.as_ref().map_or(true, |u| k.as_slice() < u.as_slice()))
            .map(|(k, v)| (k.as_slice(), v.as_deref()));
        if reverse {
            Box::new(it.rev())
        } else {
            Box::new(it)
        }
    }
}
