//! Deferred commits: between `Store::begin_batch` and `Store::end_batch`,
//! committed transactions are not written to RocksDB one by one but gathered
//! here, and handed over as ONE `WriteBatch` (`writes`), so a MULTI/EXEC or a
//! Lua script is applied whole or not at all (after a crash, all of it or
//! none of it is there).
//!
//! While the batch is open, later commands must see its writes: every read of
//! the store (point lookups and iterators) consults this overlay first.
//!
//! The overlay is a log of the batch's writes in arrival order (puts,
//! deletes, range deletes), keys and values back to back in one buffer that
//! is reused from batch to batch: a short script's writes cost a copy each
//! and no allocation. (A map per column family cost a script its nodes, two
//! allocations per write and their frees: ~5% of a short EVALSHA.) The
//! latest write of a key decides what a read sees: a short log is searched
//! from its end; past `INDEXED` writes an index of each key's last write
//! keeps lookups O(1) for long MULTI/EXEC blocks.

use super::keys::Cf;
use std::collections::{BTreeMap, HashMap};

/// Writes past which lookups go through the per-key index.
const INDEXED: usize = 16;

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

/// Where bytes are in `Overlay::buf`.
#[derive(Clone, Copy)]
struct At(u32, u32);

/// A logged write.
#[derive(Clone, Copy)]
enum Op {
    /// Key and value (`None`: a delete).
    Key(Cf, At, Option<At>),
    /// A range delete `[from, to)`.
    Range(Cf, At, At),
}

/// Per column family (`slot`), each key's last write's position in the log.
type Index = [HashMap<Box<[u8]>, u32, ahash::RandomState>; 5];

/// The log of an open batch.
#[derive(Default)]
pub struct Overlay {
    buf: Vec<u8>,
    ops: Vec<Op>,
    /// Once the log passes `INDEXED` writes: per column family (`slot`),
    /// each key's last `Op::Key` position in `ops`.
    index: Option<Index>,
    /// Positions of the range deletes in `ops` (few: FLUSHDB, DEL of big keys).
    ranges: Vec<u32>,
}

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
        self.ops.is_empty()
    }

    /// Forgets everything (the batch was written or abandoned), keeping the
    /// buffers for the next batch.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ops.clear();
        self.ranges.clear();
        if self.ops.capacity() > 4 * INDEXED * INDEXED {
            // A huge batch does not keep its memory for the small ones after it.
            *self = Overlay::default();
        }
        self.index = None;
    }

    fn bytes(&self, At(at, len): At) -> &[u8] {
        &self.buf[at as usize..(at + len) as usize]
    }

    fn push_bytes(&mut self, b: &[u8]) -> At {
        let at = self.buf.len();
        self.buf.extend_from_slice(b);
        At(at as u32, b.len() as u32)
    }

    fn push(&mut self, op: Op) {
        let pos = self.ops.len() as u32;
        self.ops.push(op);
        match op {
            Op::Range(..) => self.ranges.push(pos),
            Op::Key(cf, k, _) => {
                if let Some(index) = self.index.as_mut() {
                    let key = &self.buf[k.0 as usize..(k.0 + k.1) as usize];
                    index[slot(cf)].insert(key.into(), pos);
                } else if self.ops.len() > INDEXED {
                    self.build_index();
                }
            }
        }
    }

    fn build_index(&mut self) {
        let mut index: Index = Default::default();
        for (pos, op) in self.ops.iter().enumerate() {
            if let Op::Key(cf, k, _) = *op {
                index[slot(cf)].insert(self.bytes(k).into(), pos as u32);
            }
        }
        self.index = Some(index);
    }

    /// The batch's writes in the order they were made, without those a later
    /// write of the same key replaced: applied in this order, RocksDB ends
    /// as lookups through the overlay see it.
    pub fn writes(&self) -> impl Iterator<Item = Write<'_>> {
        self.ops.iter().enumerate().filter_map(move |(pos, op)| match *op {
            Op::Range(cf, a, b) => Some(Write::DeleteRange(cf, self.bytes(a), self.bytes(b))),
            Op::Key(cf, k, v) => {
                let key = self.bytes(k);
                if self.last_write(cf, key).map(|(p, _)| p) != Some(pos) {
                    return None;
                }
                Some(match v {
                    Some(v) => Write::Put(cf, key, self.bytes(v)),
                    None => Write::Delete(cf, key),
                })
            }
        })
    }

    /// Records a put.
    pub fn put(&mut self, cf: Cf, key: &[u8], value: &[u8]) {
        let (k, v) = (self.push_bytes(key), self.push_bytes(value));
        self.push(Op::Key(cf, k, Some(v)));
    }

    /// Records a delete.
    pub fn delete(&mut self, cf: Cf, key: &[u8]) {
        let k = self.push_bytes(key);
        self.push(Op::Key(cf, k, None));
    }

    /// Records a range delete `[from, to)`.
    pub fn delete_range(&mut self, cf: Cf, from: &[u8], to: &[u8]) {
        let (a, b) = (self.push_bytes(from), self.push_bytes(to));
        self.push(Op::Range(cf, a, b));
    }

    /// The position and value of the last put or delete of `key`.
    fn last_write(&self, cf: Cf, key: &[u8]) -> Option<(usize, Option<&[u8]>)> {
        let value = |pos: usize| match self.ops[pos] {
            Op::Key(_, _, v) => (pos, v.map(|v| self.bytes(v))),
            Op::Range(..) => unreachable!("invariant: the index points at key writes"),
        };
        if let Some(index) = &self.index {
            return index[slot(cf)].get(key).map(|&pos| value(pos as usize));
        }
        self.ops.iter().rposition(|op| matches!(*op, Op::Key(c, k, _) if c == cf && self.bytes(k) == key)).map(value)
    }

    /// True if a range delete after position `after` covers `key`.
    fn range_deleted(&self, cf: Cf, key: &[u8], after: Option<usize>) -> bool {
        self.ranges.iter().rev().take_while(|&&pos| after.map_or(true, |a| pos as usize > a)).any(|&pos| {
            matches!(self.ops[pos as usize], Op::Range(c, a, b) if c == cf && self.bytes(a) <= key && key < self.bytes(b))
        })
    }

    /// What the open batch says about `key`.
    pub fn lookup(&self, cf: Cf, key: &[u8]) -> Lookup<'_> {
        let last = self.last_write(cf, key);
        if self.range_deleted(cf, key, last.map(|(pos, _)| pos)) {
            return Lookup::Written(None);
        }
        match last {
            Some((_, v)) => Lookup::Written(v),
            None => Lookup::Unknown,
        }
    }

    /// True if RocksDB's record for `key` is hidden (deleted or overwritten).
    pub fn hides(&self, cf: Cf, key: &[u8]) -> bool {
        matches!(self.lookup(cf, key), Lookup::Written(_))
    }

    /// The overlay's entries of `cf` within `[lower, upper)` starting at
    /// `start` (inclusive) in the given direction, deletions included (keys
    /// a range delete removed are not listed: `hides` covers them).
    pub fn entries<'a>(
        &'a self,
        cf: Cf,
        lower: &[u8],
        upper: Option<&[u8]>,
        start: Option<&[u8]>,
        reverse: bool,
    ) -> Entries<'a> {
        let lo = match (start, reverse) {
            (Some(s), false) => s.max(lower),
            _ => lower,
        };
        let inside = |k: &[u8]| k >= lo && upper.map_or(true, |u| k < u) && !(reverse && start.is_some_and(|s| k > s));
        let mut latest: BTreeMap<&'a [u8], Option<&'a [u8]>> = BTreeMap::new();
        for op in &self.ops {
            match *op {
                Op::Key(c, k, v) if c == cf && inside(self.bytes(k)) => {
                    latest.insert(self.bytes(k), v.map(|v| self.bytes(v)));
                }
                Op::Range(c, a, b) if c == cf => {
                    let (a, b) = (self.bytes(a), self.bytes(b));
                    latest.retain(|k, _| !(a <= *k && *k < b));
                }
                _ => {}
            }
        }
        if reverse {
            Box::new(latest.into_iter().rev())
        } else {
            Box::new(latest.into_iter())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The overlay against a plain map of the same writes, over random
    /// sequences of puts, deletes and range deletes that cross `INDEXED`.
    #[test]
    fn lookups_entries_and_writes_match_a_map_of_the_same_writes() {
        let mut next = crate::storage::testutil::xorshift(0x2545_f491_4f6c_dd1du64);
        let cfs = [Cf::Meta, Cf::Data];
        for round in 0..200 {
            let mut ov = Overlay::default();
            // The model: RocksDB's state after the batch, starting from "base"
            // records under every key (so deletes and ranges hide something).
            let mut model: BTreeMap<(usize, Vec<u8>), Option<Vec<u8>>> = BTreeMap::new();
            // What `entries` lists: written keys a later range delete did not remove.
            let mut listed: BTreeMap<(usize, Vec<u8>), Option<Vec<u8>>> = BTreeMap::new();
            let writes = 1 + next(if round % 4 == 0 { 60 } else { 12 });
            for w in 0..writes {
                let cf = cfs[next(2) as usize];
                let key = vec![b'a' + next(8) as u8];
                let value = match next(7) {
                    0 => {
                        let to = vec![key[0] + 1 + next(3) as u8];
                        ov.delete_range(cf, &key, &to);
                        for k in key[0]..to[0] {
                            model.insert((slot(cf), vec![k]), None);
                            listed.remove(&(slot(cf), vec![k]));
                        }
                        continue;
                    }
                    1 | 2 => {
                        ov.delete(cf, &key);
                        None
                    }
                    _ => {
                        let v = format!("{round}-{w}").into_bytes();
                        ov.put(cf, &key, &v);
                        Some(v)
                    }
                };
                model.insert((slot(cf), key.clone()), value.clone());
                listed.insert((slot(cf), key), value);
            }
            for cf in cfs {
                for k in b'a'..b'm' {
                    let want = model.get(&(slot(cf), vec![k]));
                    let got = match ov.lookup(cf, &[k]) {
                        Lookup::Written(v) => Some(v.map(<[u8]>::to_vec)),
                        Lookup::Unknown => None,
                    };
                    assert_eq!(got.as_ref(), want, "round {round} key {}", k as char);
                    assert_eq!(ov.hides(cf, &[k]), want.is_some());
                }
                // Listed entries: the written keys not removed by a later range
                // delete, each with its latest value, in the asked order.
                for (lower, upper, start, reverse) in [
                    (b"a", Some(b"m"), None, false),
                    (b"c", Some(b"h"), Some(b"e"), false),
                    (b"b", None, Some(b"f"), true),
                ] {
                    let got: Vec<(Vec<u8>, Option<Vec<u8>>)> = ov
                        .entries(cf, lower, upper.map(|u| &u[..]), start.map(|s| &s[..]), reverse)
                        .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                        .collect();
                    let lo = if reverse { &lower[..] } else { start.map_or(&lower[..], |s| (&s[..]).max(&lower[..])) };
                    let mut want: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
                    for k in b'a'..b'm' {
                        let key = [k];
                        let within = key.as_slice() >= lo
                            && upper.map_or(true, |u| key.as_slice() < u.as_slice())
                            && !(reverse && start.is_some_and(|s| key.as_slice() > s.as_slice()));
                        if !within {
                            continue;
                        }
                        if let Some(v) = listed.get(&(slot(cf), key.to_vec())) {
                            want.push((key.to_vec(), v.clone()));
                        }
                    }
                    if reverse {
                        want.reverse();
                    }
                    assert_eq!(got, want, "round {round} entries {lower:?}..{upper:?} from {start:?}");
                }
            }
            // Replaying `writes` over base records gives the model's state.
            let mut db: BTreeMap<(usize, Vec<u8>), Option<Vec<u8>>> = BTreeMap::new();
            for cf in cfs {
                for k in b'a'..b'm' {
                    db.insert((slot(cf), vec![k]), Some(b"base".to_vec()));
                }
            }
            for w in ov.writes() {
                match w {
                    Write::Put(cf, k, v) => {
                        db.insert((slot(cf), k.to_vec()), Some(v.to_vec()));
                    }
                    Write::Delete(cf, k) => {
                        db.insert((slot(cf), k.to_vec()), None);
                    }
                    Write::DeleteRange(cf, a, b) => {
                        for (_, v) in db.range_mut((slot(cf), a.to_vec())..(slot(cf), b.to_vec())) {
                            *v = None;
                        }
                    }
                }
            }
            for (key, v) in &db {
                let want = model.get(key).cloned().unwrap_or(Some(b"base".to_vec()));
                assert_eq!(v, &want, "round {round} after replay");
            }
            ov.clear();
            assert!(ov.is_empty() && matches!(ov.lookup(Cf::Meta, b"a"), Lookup::Unknown));
        }
    }
}
