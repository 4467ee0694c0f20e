//! Which keys the tick batch writes (a MULTI/script batch's keys join it
//! when the batch is appended), as hashes of `(column family, key)`, and
//! whether it deletes a range. A point read of a key the batch may hold must hand the
//! batch to RocksDB first; a read of any other key may go straight to
//! RocksDB, which is what lets commands that read before they write (HSET,
//! SADD, ZADD...) share one write per tick. A hash collision only costs an
//! early write.

use super::keys::Cf;
use std::collections::HashSet;

/// The keys one deferred batch writes.
#[derive(Default)]
pub struct Touched {
    hashes: HashSet<u64, ahash::RandomState>,
    ranges: bool,
    hasher: ahash::RandomState,
}

impl Touched {
    fn hash(&self, cf: Cf, key: &[u8]) -> u64 {
        self.hasher.hash_one((cf as u8, key))
    }

    /// Records a put or delete of `key`.
    pub fn key(&mut self, cf: Cf, key: &[u8]) {
        let h = self.hash(cf, key);
        self.hashes.insert(h);
    }

    /// Records a range delete (any later read may see it).
    pub fn range(&mut self) {
        self.ranges = true;
    }

    /// Whether the batch may hold `key`.
    pub fn may_hold(&self, cf: Cf, key: &[u8]) -> bool {
        self.ranges || self.hashes.contains(&self.hash(cf, key))
    }

    /// Forgets everything (the batch was written or dropped).
    pub fn clear(&mut self) {
        self.hashes.clear();
        self.ranges = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_recorded_and_everything_after_a_range_delete() {
        let mut t = Touched::default();
        t.key(Cf::Data, b"a");
        assert!(t.may_hold(Cf::Data, b"a"));
        assert!(!t.may_hold(Cf::Data, b"b"));
        assert!(!t.may_hold(Cf::Meta, b"a"));
        t.range();
        assert!(t.may_hold(Cf::Meta, b"zzz"));
        t.clear();
        assert!(!t.may_hold(Cf::Data, b"a") && !t.may_hold(Cf::Meta, b"zzz"));
    }
}
