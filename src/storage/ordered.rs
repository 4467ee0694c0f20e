//! The tick batch's writes of collection records (`data`, `zscore`,
//! `expire`), kept aside and handed to the `WriteBatch` sorted by column
//! family and key. RocksDB's memtable inserts a batch's records one after
//! the other through a skiplist "splice" that remembers where the previous
//! insert landed: a key near the previous one reuses its lower levels, a
//! random key recomputes the splice from the top, a chain of cache misses
//! (`InlineSkipList::RecomputeSpliceLevels`, over half of a ZADD's CPU
//! time). A tick of pipelined HSET / ZADD / SADD of random members writes
//! hundreds of records into the same few collections; in key order each
//! insert starts next to the previous one.
//!
//! Order: writes of different keys commute inside one `WriteBatch`, so
//! only the order of the writes of one key must stay, and the sort keeps
//! it (ties broken by arrival). Range deletes are ordered against these
//! writes by `Latest::drain_into`, which runs before one joins the batch.
//!
//! Keys and values live back to back in one buffer, reused from tick to
//! tick: keeping a write aside costs a copy, no allocation.

use super::keys::Cf;
use rocksdb::{ColumnFamily, WriteBatch};

/// A write as handed over: column family, key, value (`None` = delete).
type Write<'a> = (Cf, &'a [u8], Option<&'a [u8]>);

/// One kept write: where its key (and value, for a put) are in `buf`.
struct Op {
    cf: Cf,
    key: (u32, u32),
    value: Option<(u32, u32)>,
}

/// Writes kept aside until the tick batch is written.
#[derive(Default)]
pub struct Ordered {
    buf: Vec<u8>,
    ops: Vec<Op>,
}

impl Ordered {
    fn push_bytes(&mut self, b: &[u8]) -> (u32, u32) {
        let at = self.buf.len() as u32;
        self.buf.extend_from_slice(b);
        (at, b.len() as u32)
    }

    fn bytes_at(&self, (at, len): (u32, u32)) -> &[u8] {
        &self.buf[at as usize..(at + len) as usize]
    }

    /// Keeps a put (`Some`) or delete (`None`) of `key`.
    pub fn add(&mut self, cf: Cf, key: &[u8], value: Option<&[u8]>) {
        let key = self.push_bytes(key);
        let value = value.map(|v| self.push_bytes(v));
        self.ops.push(Op { cf, key, value });
    }

    /// Bytes held (approximate, for the tick batch's size bound).
    pub fn bytes(&self) -> usize {
        self.buf.len() + self.ops.len() * 16
    }

    /// The kept writes in (column family, key) order, the writes of one
    /// key in the order they came.
    fn sorted(&self) -> Vec<Write<'_>> {
        // Sorting borrowed slices (not indexes into `ops`) keeps each
        // comparison to one byte compare and one memcmp.
        let mut order: Vec<(u8, &[u8], u32)> =
            self.ops.iter().enumerate().map(|(i, op)| (op.cf as u8, self.bytes_at(op.key), i as u32)).collect();
        order.sort_unstable();
        order
            .into_iter()
            .map(|(_, k, i)| {
                let op = &self.ops[i as usize];
                (op.cf, k, op.value.map(|v| self.bytes_at(v)))
            })
            .collect()
    }

    /// Moves every kept write into `batch`, in (column family, key) order.
    pub fn drain_into<'c>(&mut self, batch: &mut WriteBatch, cf: impl Fn(Cf) -> &'c ColumnFamily) {
        if self.ops.is_empty() {
            return;
        }
        for (c, k, v) in self.sorted() {
            match v {
                Some(v) => batch.put_cf(cf(c), k, v),
                None => batch.delete_cf(cf(c), k),
            }
        }
        self.clear();
    }

    /// Drops everything (written, or the tick batch was dropped).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ops.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_by_family_and_key_keeping_each_keys_order() {
        let mut o = Ordered::default();
        o.add(Cf::Zscore, b"b", Some(b"1"));
        o.add(Cf::Data, b"z", None);
        o.add(Cf::Data, b"a", Some(b"x"));
        o.add(Cf::Data, b"z", Some(b"2"));
        o.add(Cf::Data, b"m", Some(b""));
        o.add(Cf::Data, b"z", None);
        o.add(Cf::Zscore, b"a", None);
        let got = o.sorted();
        let want: Vec<Write> = vec![
            (Cf::Data, b"a", Some(b"x")),
            (Cf::Data, b"m", Some(b"")),
            (Cf::Data, b"z", None),
            (Cf::Data, b"z", Some(b"2")),
            (Cf::Data, b"z", None),
            (Cf::Zscore, b"a", None),
            (Cf::Zscore, b"b", Some(b"1")),
        ];
        assert_eq!(got, want);
        assert!(o.bytes() > 0);
        o.clear();
        assert!(o.sorted().is_empty() && o.bytes() == 0);
    }
}
