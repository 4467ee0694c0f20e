//! Rank index of big sorted sets and sets: an in-memory order-statistics
//! summary of a sorted set's `zscore` records, so ZRANK / ZREVRANK and
//! rank-addressed ZRANGE / ZREMRANGEBYRANK cost O(blocks + block size)
//! instead of O(rank); and of a set's `data` records, so SPOP / SRANDMEMBER
//! pick a uniformly random rank and find its member the same way (exactly
//! uniform, one seek and a short walk instead of a trie descent of about
//! thirty seeks).
//!
//! Shape: the order of one sorted set (set) version is cut into blocks of
//! about [`TARGET`] members. A block is its *fence* (the `score | member`
//! suffix of its first `zscore` key at the time it was cut; block 0's fence
//! is empty, below everything) and its member count. Fences are separators,
//! not members: a fence whose member is later removed still splits the order.
//! A rank is the counts of the blocks before the member's block plus a short
//! forward walk from the block's fence to the member; a rank position is found
//! the same way backwards (sum counts, then seek the fence and skip).
//!
//! Built lazily by the first rank query of a sorted set of at least
//! [`MIN_MEMBERS`] members (one ordered scan; a set's index waits until its
//! random picks have cost about as much as that scan, see [`PICK_COST`],
//! and sets over [`MAX_SET_BUILD`] members are not indexed), and kept
//! exact by `Store::commit`, which shows every committed `zscore` / `data`
//! operation and meta
//! change to [`RankIndexes::observe`] — whichever command wrote them, so no
//! writer can forget to update it:
//! - a put of `prefix | score | member` is a new member of that order, a delete
//!   removes one (the only writer of existing versions, `types::zset::Edit`,
//!   writes exactly that way: a score change is a delete plus a put; sets'
//!   `types::members` puts only new members and deletes only present ones);
//! - a meta change of an indexed key drops the index unless the record is the
//!   same sorted set version with the size the index counted (this also
//!   catches DEL, overwrite, expiry, RENAME away), and FLUSHDB / FLUSHALL or
//!   a range delete drops every index of the db;
//! - a block whose count would go negative drops the index (never wrong:
//!   the next query rebuilds it from the records).
//!
//! Inside MULTI / scripts commits are deferred into the open batch and reads
//! see it through the overlay; the index follows those commits the same way,
//! and is cleared whole if the batch's write fails (or the DB is reopened).
//!
//! Blocks grow with inserts; one that has passed `2 * TARGET` members is cut
//! again (one walk over it) when a query lands in it, so query walks stay
//! short without making writes read anything. Blocks are never merged: a
//! block emptied by removals keeps its fence, so a walk only crosses one
//! block's records and deletion markers, never the markers of a whole
//! drained region (a set emptied by SPOP stays fast to its end), and an index
//! stays in use when its set shrinks under [`MIN_MEMBERS`]. An index keeps
//! the block count of its peak size until its key changes version or goes
//! away. Memory is bounded by [`BUDGET`]:
//! building past it evicts whole indexes, least recently used first.

use super::keys::{self, Cf};
use super::{Store, TxData, Type};
use crate::error::Error;
use std::collections::HashMap;

/// Sorted sets smaller than this keep the plain walk (no index).
pub const MIN_MEMBERS: u64 = 1024;

/// Members per block when a block is cut.
const TARGET: u64 = 64;

/// A block past this is cut again by the next query that lands in it.
const MAX: u64 = 2 * TARGET;

/// Bytes all indexes may use together.
const BUDGET: usize = 64 << 20;

/// A record's sub-key suffix (the member) and its value.
pub type SubAndValue = (Vec<u8>, Vec<u8>);

/// Which records an index counts, and the type of the key they belong to.
type Kind = (Cf, Type);

/// Sorted sets: the score order of the `zscore` records.
const ZSET: Kind = (Cf::Zscore, Type::ZSet);

/// Sets: the member order of the `data` records (a set writes a member's
/// record only when it is new and deletes only present ones, so puts and
/// deletes count exactly; hashes and sorted sets overwrite `data` records
/// and are never indexed this way).
const SET: Kind = (Cf::Data, Type::Set);

/// A set's random pick without an index (a trie descent, ~30 seeks) costs
/// about as much as scanning this many records while building one.
const PICK_COST: u64 = 256;

/// Sets bigger than this are never indexed: building reads the whole set
/// at once, and past a few million members that stall outweighs the picks.
const MAX_SET_BUILD: u64 = 1 << 22;

/// Set versions whose picks [`RankIndexes::picks`] counts at most.
const MAX_PICK_COUNTERS: usize = 4096;

/// Bookkeeping bytes counted per block besides its fence bytes.
const BLOCK_OVERHEAD: usize = 40;

/// The index of one sorted set version.
struct Index {
    /// The records counted: `zscore` (sorted sets) or `data` (sets).
    cf: Cf,
    ty: Type,
    version: u64,
    /// Fence of each block (`score | member` suffix), ascending; `fences[0]` is empty.
    fences: Vec<Box<[u8]>>,
    /// Members in each block.
    counts: Vec<u64>,
    total: u64,
    bytes: usize,
    /// Last use (the LRU clock of [`RankIndexes`]).
    used: u64,
}

impl Index {
    /// The block holding the member whose suffix is `sub`.
    fn block_of(&self, sub: &[u8]) -> usize {
        self.fences.partition_point(|f| f.as_ref() <= sub) - 1
    }

    fn insert(&mut self, sub: &[u8]) {
        let b = self.block_of(sub);
        self.counts[b] += 1;
        self.total += 1;
    }

    /// False if the index was out of step (the caller drops it).
    fn remove(&mut self, sub: &[u8]) -> bool {
        let b = self.block_of(sub);
        if self.counts[b] == 0 {
            return false;
        }
        self.counts[b] -= 1;
        self.total -= 1;
        true
    }

    /// Members before block `b`.
    fn before(&self, b: usize) -> u64 {
        self.counts[..b].iter().sum()
    }

    /// Replaces block `b` by the blocks `cut` (fence, count).
    fn replace(&mut self, b: usize, cut: Vec<(Box<[u8]>, u64)>) {
        let old = self.fences[b].len();
        let add: usize = cut.iter().map(|(f, _)| f.len() + BLOCK_OVERHEAD).sum();
        self.bytes = self.bytes + add - old - BLOCK_OVERHEAD;
        let (fences, counts): (Vec<_>, Vec<_>) = cut.into_iter().unzip();
        self.fences.splice(b..=b, fences);
        self.counts.splice(b..=b, counts);
    }
}

/// Every rank index, keyed by `db | key_len | user_key` (a `zscore` key's
/// prefix without its version).
#[derive(Default)]
pub struct RankIndexes {
    by_key: HashMap<Vec<u8>, Index, ahash::RandomState>,
    bytes: usize,
    clock: u64,
    /// Random picks made without an index, per set version (see [`PICK_COST`]).
    picks: HashMap<(Vec<u8>, u64), u64, ahash::RandomState>,
}

/// `db | key_len | user_key` of a meta key `db | user_key`.
fn index_key(db: u8, key: &[u8]) -> Vec<u8> {
    let mut p = keys::data_prefix(db, key, 0);
    p.truncate(p.len() - 8);
    p
}

impl RankIndexes {
    /// Forgets every index (a failed batch write, a reopened DB).
    pub fn clear(&mut self) {
        self.by_key.clear();
        self.picks.clear();
        self.bytes = 0;
    }

    /// Whether a set's index is worth building now: only once its picks
    /// have cost about what building costs (ski rental), so a one-off
    /// SRANDMEMBER on a big set never pays for a full scan.
    fn worth_building(&mut self, ik: &[u8], version: u64, len: u64) -> bool {
        if len > MAX_SET_BUILD {
            return false;
        }
        if self.picks.len() >= MAX_PICK_COUNTERS {
            self.picks.clear();
        }
        let n = self.picks.entry((ik.to_vec(), version)).or_insert(0);
        *n += 1;
        if n.saturating_mul(PICK_COST) < len {
            return false;
        }
        self.picks.remove(&(ik.to_vec(), version));
        true
    }

    fn drop_key(&mut self, k: &[u8]) {
        if let Some(ix) = self.by_key.remove(k) {
            self.bytes -= ix.bytes;
        }
    }

    fn drop_db(&mut self, db: u8) {
        let gone: Vec<Vec<u8>> = self.by_key.keys().filter(|k| k[0] == db).cloned().collect();
        for k in gone {
            self.drop_key(&k);
        }
    }

    /// Follows a committed transaction (see the module header).
    pub(super) fn observe(&mut self, tx: &TxData) {
        if self.by_key.is_empty() {
            return;
        }
        for flush in &tx.flushes {
            match flush {
                Some(db) => self.drop_db(*db),
                None => self.clear(),
            }
        }
        for op in &tx.ops {
            match op {
                super::SubOp::Put(cf @ (Cf::Zscore | Cf::Data), k, _)
                | super::SubOp::Delete(cf @ (Cf::Zscore | Cf::Data), k) => {
                    let Some((_, user_key, version, sub)) = keys::split_data(k) else { continue };
                    let ik = &k[..5 + user_key.len()];
                    let Some(ix) = self.by_key.get_mut(ik) else { continue };
                    if ix.version != version || ix.cf != *cf {
                        continue;
                    }
                    if matches!(op, super::SubOp::Put(..)) {
                        ix.insert(sub);
                    } else if !ix.remove(sub) {
                        let ik = ik.to_vec();
                        self.drop_key(&ik);
                    }
                }
                super::SubOp::DeleteRange(Cf::Zscore | Cf::Data, a, _) => {
                    if let Some(&db) = a.first() {
                        self.drop_db(db);
                    }
                }
                _ => {}
            }
        }
        for e in tx.entries.iter().filter(|e| e.dirty) {
            let (db, user_key) = keys::split_meta(&e.mkey);
            let ik = index_key(db, user_key);
            let Some(ix) = self.by_key.get(&ik) else { continue };
            let same =
                e.cur.as_ref().is_some_and(|m| m.ty() == ix.ty && m.version() == ix.version && m.len() == ix.total);
            if !same {
                self.drop_key(&ik);
            }
        }
    }
}

impl Store {
    /// The forward rank (0 = lowest) of the member whose `zscore` key is
    /// `zkey`, in the sorted set `(db, key, version)` of `len` members. None:
    /// no index for this set (smaller than [`MIN_MEMBERS`], or its records
    /// did not add up), the caller walks instead.
    pub fn zset_rank(&self, db: u8, key: &[u8], version: u64, len: u64, zkey: &[u8]) -> Result<Option<u64>, Error> {
        let prefix = keys::data_prefix(db, key, version);
        let sub = &zkey[prefix.len()..];
        let Some(b) = self.rank_block(&prefix, ZSET, version, len, |ix| ix.block_of(sub))? else {
            return Ok(None);
        };
        let (before, fence, count) = {
            let idx = self.rank.borrow();
            let ix = &idx.by_key[&prefix[..prefix.len() - 8]];
            (ix.before(b), ix.fences[b].clone(), ix.counts[b])
        };
        let mut start = prefix.clone();
        start.extend_from_slice(&fence);
        let (mut n, mut found) = (0u64, false);
        self.iter_prefix(Cf::Zscore, &prefix, Some(&start), false, |k, _| {
            if k == zkey {
                found = true;
                return false;
            }
            n += 1;
            k < zkey && n < count
        })?;
        if !found {
            // Out of step with the records: forget it, let the caller walk.
            self.rank.borrow_mut().drop_key(&prefix[..prefix.len() - 8]);
            return Ok(None);
        }
        Ok(Some(before + n))
    }

    /// Where forward rank `rank` of the sorted set `(db, key, version)` of
    /// `len` members starts: a `zscore` key to seek to and how many members
    /// to skip from there (fewer than a few hundred). None: no index (see
    /// [`Store::zset_rank`]).
    pub fn zset_seek_rank(
        &self,
        db: u8,
        key: &[u8],
        version: u64,
        len: u64,
        rank: u64,
    ) -> Result<Option<(Vec<u8>, u64)>, Error> {
        self.seek_rank(ZSET, db, key, version, len, rank)
    }

    /// The member at rank `rank` in byte order (0 = smallest) of the set
    /// `(db, key, version)` of `len` members, and its value: the uniform
    /// random pick of SPOP / SRANDMEMBER is this at a random rank. None: no
    /// index (a set smaller than [`MIN_MEMBERS`], or out of step).
    pub fn set_member_at(
        &self,
        db: u8,
        key: &[u8],
        version: u64,
        len: u64,
        rank: u64,
    ) -> Result<Option<SubAndValue>, Error> {
        let Some((start, mut skip)) = self.seek_rank(SET, db, key, version, len, rank)? else { return Ok(None) };
        let prefix = keys::data_prefix(db, key, version);
        let mut found = None;
        self.iter_prefix(Cf::Data, &prefix, Some(&start), false, |k, v| {
            if skip > 0 {
                skip -= 1;
                return true;
            }
            found = Some((k[prefix.len()..].to_vec(), v.to_vec()));
            false
        })?;
        if found.is_none() {
            self.rank.borrow_mut().drop_key(&prefix[..prefix.len() - 8]);
        }
        Ok(found)
    }

    fn seek_rank(
        &self,
        kind: Kind,
        db: u8,
        key: &[u8],
        version: u64,
        len: u64,
        rank: u64,
    ) -> Result<Option<(Vec<u8>, u64)>, Error> {
        if rank >= len {
            return Ok(None);
        }
        let prefix = keys::data_prefix(db, key, version);
        let locate = |ix: &Index| {
            let mut seen = 0;
            for (b, &c) in ix.counts.iter().enumerate() {
                if rank < seen + c {
                    return b;
                }
                seen += c;
            }
            ix.counts.len() - 1
        };
        let Some(b) = self.rank_block(&prefix, kind, version, len, locate)? else { return Ok(None) };
        let idx = self.rank.borrow();
        let ix = &idx.by_key[&prefix[..prefix.len() - 8]];
        let mut start = prefix;
        start.extend_from_slice(&ix.fences[b]);
        Ok(Some((start, rank - ix.before(b))))
    }

    /// Finds (building the index if needed, cutting the block if it grew
    /// too big) the block `pick` chooses; None if there is no index.
    fn rank_block(
        &self,
        prefix: &[u8],
        (cf, ty): Kind,
        version: u64,
        len: u64,
        pick: impl Fn(&Index) -> usize,
    ) -> Result<Option<usize>, Error> {
        let ik = &prefix[..prefix.len() - 8];
        {
            let mut idx = self.rank.borrow_mut();
            let fresh = idx.by_key.get(ik).is_some_and(|ix| ix.cf == cf && ix.version == version && ix.total == len);
            if !fresh {
                idx.drop_key(ik);
                if len < MIN_MEMBERS {
                    return Ok(None);
                }
            }
        }
        if !self.rank.borrow().by_key.contains_key(ik) {
            if cf == Cf::Data && !self.rank.borrow_mut().worth_building(ik, version, len) {
                return Ok(None);
            }
            let Some(ix) = self.build_rank(prefix, (cf, ty), version, len)? else { return Ok(None) };
            let mut idx = self.rank.borrow_mut();
            // Evict least recently used indexes until the new one fits.
            while idx.bytes + ix.bytes > BUDGET && !idx.by_key.is_empty() {
                let lru = idx.by_key.iter().min_by_key(|(_, x)| x.used).map(|(k, _)| k.clone());
                if let Some(k) = lru {
                    idx.drop_key(&k);
                }
            }
            idx.bytes += ix.bytes;
            idx.by_key.insert(ik.to_vec(), ix);
        }
        let (b, count, fence) = {
            let mut idx = self.rank.borrow_mut();
            idx.clock += 1;
            let clock = idx.clock;
            let ix = idx.by_key.get_mut(ik).expect("invariant: just checked or built");
            ix.used = clock;
            let b = pick(ix);
            (b, ix.counts[b], ix.fences[b].clone())
        };
        if count <= MAX {
            return Ok(Some(b));
        }
        // Cut the block: walk it from its fence to the next one.
        let next = self.rank.borrow().by_key[ik].fences.get(b + 1).cloned();
        let mut start = prefix.to_vec();
        start.extend_from_slice(&fence);
        let mut cut = vec![(fence, 0u64)];
        let mut seen = 0u64;
        self.iter_prefix(cf, prefix, Some(&start), false, |k, _| {
            let sub = &k[prefix.len()..];
            if next.as_deref().is_some_and(|n| sub >= n) {
                return false;
            }
            if cut.last().expect("invariant: not empty").1 == TARGET {
                cut.push((sub.into(), 0));
            }
            cut.last_mut().expect("invariant: not empty").1 += 1;
            seen += 1;
            true
        })?;
        let mut idx = self.rank.borrow_mut();
        if seen != count {
            idx.drop_key(ik);
            return Ok(None);
        }
        let mut ix = idx.by_key.remove(ik).expect("invariant: present");
        idx.bytes -= ix.bytes;
        ix.replace(b, cut);
        let b = pick(&ix);
        idx.bytes += ix.bytes;
        idx.by_key.insert(ik.to_vec(), ix);
        Ok(Some(b))
    }

    /// One ordered scan of the sorted set: its blocks. None if the records do
    /// not add up to `len` (then nothing is indexed).
    fn build_rank(&self, prefix: &[u8], (cf, ty): Kind, version: u64, len: u64) -> Result<Option<Index>, Error> {
        let mut ix = Index {
            cf,
            ty,
            version,
            fences: vec![Box::default()],
            counts: vec![0],
            total: 0,
            bytes: BLOCK_OVERHEAD,
            used: 0,
        };
        self.iter_prefix(cf, prefix, None, false, |k, _| {
            if ix.total > 0 && ix.total % TARGET == 0 {
                let f: Box<[u8]> = k[prefix.len()..].into();
                ix.bytes += f.len() + BLOCK_OVERHEAD;
                ix.fences.push(f);
                ix.counts.push(0);
            }
            *ix.counts.last_mut().expect("invariant: not empty") += 1;
            ix.total += 1;
            true
        })?;
        Ok((ix.total == len).then_some(ix))
    }

    /// Bytes held by rank indexes, and how many there are (INFO / tests).
    pub fn rank_index_stats(&self) -> (usize, usize) {
        let idx = self.rank.borrow();
        (idx.bytes, idx.by_key.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(counts: &[u64]) -> Index {
        let fences =
            (0..counts.len()).map(|i| if i == 0 { Box::default() } else { vec![i as u8 * 10].into() }).collect();
        Index {
            cf: Cf::Zscore,
            ty: Type::ZSet,
            version: 1,
            fences,
            counts: counts.to_vec(),
            total: counts.iter().sum(),
            bytes: 1000,
            used: 0,
        }
    }

    #[test]
    fn members_land_in_the_block_of_the_last_fence_at_or_below() {
        let ix = index(&[100, 100, 100]);
        assert_eq!(ix.block_of(b""), 0);
        assert_eq!(ix.block_of(&[9, 255]), 0);
        assert_eq!(ix.block_of(&[10]), 1);
        assert_eq!(ix.block_of(&[20, 0]), 2);
        assert_eq!(ix.before(2), 200);
    }

    #[test]
    fn emptied_blocks_stay_and_underflow_is_reported() {
        let mut ix = index(&[1, 10, 100]);
        assert!(ix.remove(&[0]));
        assert_eq!(ix.counts, vec![0, 10, 100]);
        assert_eq!(ix.fences.len(), 3);
        assert_eq!(ix.block_of(&[15]), 1);
        let mut ix = index(&[0, 100]);
        assert!(!ix.remove(&[1]));
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;
    use crate::storage::testutil::TempStore;
    use crate::storage::{Meta, Type};

    const V: u64 = 7;

    fn zkey(i: u64) -> Vec<u8> {
        keys::zscore(0, b"z", V, (i / 5) as f64, format!("m{i:05}").as_bytes())
    }

    #[test]
    fn ranks_follow_committed_writes_and_a_new_version_drops_the_index() {
        let mut t = TempStore::new();
        let mut model: Vec<Vec<u8>> = (0..3000).map(zkey).collect();
        t.run(|tx| {
            for k in &model {
                tx.put(Cf::Zscore, k.clone(), Vec::new());
            }
            tx.put_meta(b"z", Meta::collection(Type::ZSet, V, 3000, 0, &[])).expect("meta");
        });
        let rank = |t: &TempStore, model: &[Vec<u8>], k: &[u8]| {
            t.store.zset_rank(0, b"z", V, model.len() as u64, k).expect("rank")
        };
        assert_eq!(rank(&t, &model, &model[1234]), Some(1234));
        assert_eq!(t.store.rank_index_stats().1, 1);
        // Crowd one block far past MAX and empty others: cuts, empty blocks.
        let added: Vec<u64> = (3000..3600).collect();
        t.run(|tx| {
            for &i in &added {
                tx.put(Cf::Zscore, keys::zscore(0, b"z", V, 100.5, format!("n{i:05}").as_bytes()), Vec::new());
            }
            for k in &model[200..500] {
                tx.delete(Cf::Zscore, k.clone());
            }
            tx.put_meta(b"z", Meta::collection(Type::ZSet, V, 3300, 0, &[])).expect("meta");
        });
        model.drain(200..500);
        model.extend(added.iter().map(|i| keys::zscore(0, b"z", V, 100.5, format!("n{i:05}").as_bytes())));
        model.sort();
        for i in (0..model.len()).step_by(37).chain([0, 199, 200, model.len() - 1]) {
            assert_eq!(rank(&t, &model, &model[i]), Some(i as u64), "rank {i}");
            let (seek, skip) =
                t.store.zset_seek_rank(0, b"z", V, model.len() as u64, i as u64).expect("seek").expect("indexed");
            let mut n = 0;
            let mut at = None;
            t.store
                .iter_prefix(Cf::Zscore, &keys::data_prefix(0, b"z", V), Some(&seek), false, |k, _| {
                    if n == skip {
                        at = Some(k.to_vec());
                        return false;
                    }
                    n += 1;
                    true
                })
                .expect("walk");
            assert_eq!(at.as_deref(), Some(&model[i][..]), "seek rank {i}");
        }
        // A re-created key (new version) drops the index.
        t.run(|tx| tx.put_meta(b"z", Meta::collection(Type::ZSet, V + 1, 1, 0, &[])).expect("meta"));
        assert_eq!(t.store.rank_index_stats().1, 0);
    }
}
