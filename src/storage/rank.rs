//! Rank index of big sorted sets, sets and hashes: an in-memory
//! order-statistics summary of a sorted set's `zscore` records, so ZRANK /
//! ZREVRANK and rank-addressed ZRANGE / ZREMRANGEBYRANK cost O(blocks +
//! block size) instead of O(rank); and of a set's or hash's `data` records.
//! Random picks (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) draw a uniformly
//! random rank and find its element the same way: exactly uniform, one seek
//! and a short walk.
//!
//! Shape: the order of one collection version is cut into blocks of
//! about [`TARGET`] members. A block is its *fence* (the sub-key suffix —
//! `score | member` for a sorted set, the member or field otherwise — of its
//! first record at the time it was cut; block 0's fence is empty, below
//! everything) and its member count. Fences are separators, not members: a
//! fence whose member is later removed still splits the order. A rank is the
//! counts of the blocks before the member's block plus a short forward walk
//! from the block's fence to the member; a rank position is found the same
//! way backwards (sum counts, then seek the fence and skip).
//!
//! Built lazily (one ordered scan) by the first rank query of a sorted set of
//! at least [`MIN_MEMBERS`] members, or by a random pick of a collection of
//! at least [`MIN_PICK_MEMBERS`] (see [`Purpose::Pick`] for when a pick
//! builds), and kept exact by `Store::commit`, which shows every committed
//! `zscore` / `data` operation and meta change to [`RankIndexes::observe`] —
//! whichever command wrote them, so no writer can forget to update it:
//! - a put of `prefix | sub` is a new member of that order, a delete removes
//!   one (the writers of existing versions write exactly that way:
//!   `types::zset::Edit` writes a score change as a delete plus a put; sets'
//!   and hashes' `types::members` puts only new members and deletes only
//!   present ones, except a hash field overwrite, which is a delete plus a
//!   put while the hash is indexed, see [`Store::counts_puts`]);
//! - a meta change of an indexed key drops the index unless the record is the
//!   same collection version with the size the index counted (this also
//!   catches DEL, overwrite, expiry, RENAME away), and FLUSHDB / FLUSHALL or
//!   a range delete drops every index of the db;
//! - a block whose count would go negative drops the index, and every query
//!   first checks the index's total against the size in `meta` (never wrong:
//!   the next query rebuilds it from the records).
//!
//! Inside MULTI / scripts commits are deferred into the open batch and reads
//! see it through the overlay; the index follows those commits the same way,
//! and is cleared whole if the batch's write fails (or the DB is reopened).
//!
//! A random pick walks its whole block once (a few dozen records) and keeps
//! the records in the index (`Index::cache`, counted in [`BUDGET`]); later
//! picks landing in that block read nothing from RocksDB. Committed puts
//! and deletes update cached blocks like the counts, so a set drained by
//! SPOP costs one walk per block, then only its writes.
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

/// Members per block when a block is cut. Small, because a pick or rank
/// query walks up to a block's records (and the deletion markers of its
/// removed members), and while the collection is in the memtable each step
/// of that walk is a cache miss: with 64-member blocks a draining SPOP spent
/// ~30 µs per pop walking. Sums per [`GROUP`] of blocks keep finding a rank's
/// block cheap with this many blocks.
const TARGET: u64 = 16;

/// Blocks per group in [`Index::sums`].
const GROUP: usize = 64;

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

/// Sets and hashes: the member (field) order of the `data` records. A set
/// writes a member's record only when it is new and deletes only present
/// ones, so puts and deletes count exactly. A hash overwrites the record of
/// an existing field; while the hash is indexed ([`Store::counts_puts`])
/// that overwrite is written as a delete then a put, which counts as -1 +1.
/// (Sorted sets overwrite `data` records freely: they are counted by their
/// `zscore` records instead.)
fn data_kind(ty: Type) -> Kind {
    (Cf::Data, ty)
}

/// What a query wants the index for: its size floor and build policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// ZRANK and rank ranges: built on the first query from
    /// [`MIN_MEMBERS`] members (smaller sorted sets are walked).
    Rank,
    /// A uniform random pick (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER):
    /// from [`MIN_PICK_MEMBERS`] members (smaller ones are read whole), built
    /// at once up to [`EAGER_PICK_BUILD`] members, past that once the picks
    /// have cost about what building costs (see [`PICK_COST`]).
    Pick,
}

/// Collections this small are read whole by a random pick (a few KB); the
/// pick is exactly uniform without an index.
pub const MIN_PICK_MEMBERS: u64 = 129;

/// Up to this size a pick builds the index at once (one scan of at most
/// this many records, about a millisecond): the pick is uniform from the
/// first.
const EAGER_PICK_BUILD: u64 = 8192;

/// A random pick without an index (a trie descent, ~30 seeks) costs
/// about as much as scanning this many records while building one.
const PICK_COST: u64 = 256;

/// Collections bigger than this are never indexed for picks: building reads
/// the whole collection at once, and past a few million members that stall
/// outweighs the picks.
const MAX_PICK_BUILD: u64 = 1 << 22;

/// Set versions whose picks [`RankIndexes::picks`] counts at most.
const MAX_PICK_COUNTERS: usize = 4096;

/// Bookkeeping bytes counted per block besides its fence bytes.
const BLOCK_OVERHEAD: usize = 40;

/// Bookkeeping bytes counted per cached record besides its own bytes.
const ENTRY_OVERHEAD: usize = 48;

/// A block's records are cached only if they take at most this many bytes
/// (big hash values stay on disk).
const MAX_CACHED_BLOCK: usize = 4096;

/// The records of one block, as `(sub-key suffix, value)` in order: a
/// random pick landing in a cached block reads nothing from RocksDB.
type Cached = Vec<(Box<[u8]>, Box<[u8]>)>;

/// The index of one collection version.
struct Index {
    /// The records counted: `zscore` (sorted sets) or `data` (sets, hashes).
    cf: Cf,
    ty: Type,
    version: u64,
    /// Fence of each block (`score | member` suffix), ascending; `fences[0]` is empty.
    fences: Vec<Box<[u8]>>,
    /// Members in each block.
    counts: Vec<u64>,
    /// Members in each group of [`GROUP`] blocks (`counts` summed), so a
    /// rank's block is found in O(blocks / GROUP + GROUP).
    sums: Vec<u64>,
    /// Each block's records, once a random pick has walked it (None until
    /// then): kept exact by the same committed puts and deletes as the
    /// counts. Picks from a set being drained by SPOP then cost no RocksDB
    /// seek at all once each block has been walked once.
    cache: Vec<Option<Cached>>,
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

    /// Counts a new record; false if the index was out of step (its block
    /// is cached and already holds `sub`: the caller drops the index).
    fn insert(&mut self, sub: &[u8], value: &[u8]) -> bool {
        let b = self.block_of(sub);
        if let Some(c) = &mut self.cache[b] {
            match c.binary_search_by(|(s, _)| s.as_ref().cmp(sub)) {
                Ok(_) => return false,
                Err(i) => c.insert(i, (sub.into(), value.into())),
            }
            self.bytes += sub.len() + value.len() + ENTRY_OVERHEAD;
        }
        self.counts[b] += 1;
        self.sums[b / GROUP] += 1;
        self.total += 1;
        true
    }

    /// Uncounts a removed record; false if the index was out of step (the
    /// caller drops it).
    fn remove(&mut self, sub: &[u8]) -> bool {
        let b = self.block_of(sub);
        if self.counts[b] == 0 {
            return false;
        }
        if let Some(c) = &mut self.cache[b] {
            let Ok(i) = c.binary_search_by(|(s, _)| s.as_ref().cmp(sub)) else { return false };
            let (s, v) = c.remove(i);
            self.bytes -= s.len() + v.len() + ENTRY_OVERHEAD;
        }
        self.counts[b] -= 1;
        self.sums[b / GROUP] -= 1;
        self.total -= 1;
        true
    }

    /// Members before block `b`.
    fn before(&self, b: usize) -> u64 {
        let g = b / GROUP;
        self.sums[..g].iter().sum::<u64>() + self.counts[g * GROUP..b].iter().sum::<u64>()
    }

    /// The block holding forward rank `rank` (`rank < total`).
    fn block_at(&self, rank: u64) -> usize {
        let mut seen = 0;
        for (g, &s) in self.sums.iter().enumerate() {
            if rank < seen + s {
                for (b, &c) in self.counts.iter().enumerate().skip(g * GROUP) {
                    if rank < seen + c {
                        return b;
                    }
                    seen += c;
                }
            }
            seen += s;
        }
        self.counts.len() - 1
    }

    /// Recomputes [`Index::sums`] (after blocks were cut or added).
    fn resum(&mut self) {
        self.sums = self.counts.chunks(GROUP).map(|c| c.iter().sum()).collect();
    }

    /// Replaces block `b` by the blocks `cut` (fence, count), uncached.
    fn replace(&mut self, b: usize, cut: Vec<(Box<[u8]>, u64)>) {
        let old = self.fences[b].len() + self.cache[b].as_ref().map_or(0, cached_bytes);
        let add: usize = cut.iter().map(|(f, _)| f.len() + BLOCK_OVERHEAD).sum();
        self.bytes = self.bytes + add - old - BLOCK_OVERHEAD;
        let n = cut.len();
        let (fences, counts): (Vec<_>, Vec<_>) = cut.into_iter().unzip();
        self.fences.splice(b..=b, fences);
        self.counts.splice(b..=b, counts);
        self.cache.splice(b..=b, std::iter::repeat_with(|| None).take(n));
        self.resum();
    }
}

/// A record of `kind` as a pick returns it: a set's or hash's `data` record
/// as is; a sorted set's `zscore` record (`score | member`, no value) as the
/// member and its score's `f64::to_bits` big-endian, like its `data` value.
fn element(kind: Kind, sub: &[u8], value: &[u8]) -> SubAndValue {
    if kind == ZSET {
        if let Some((score, member)) = sub.split_first_chunk::<8>() {
            return (member.to_vec(), keys::decode_score(*score).to_bits().to_be_bytes().to_vec());
        }
    }
    (sub.to_vec(), value.to_vec())
}

/// Bytes a block's cached records are counted for.
fn cached_bytes(c: &Cached) -> usize {
    c.iter().map(|(s, v)| s.len() + v.len() + ENTRY_OVERHEAD).sum()
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

    /// Whether an index for random picks is worth building now: at once
    /// for a collection of up to [`EAGER_PICK_BUILD`] members, else only once
    /// its picks have cost about what building costs (ski rental), so a
    /// one-off SRANDMEMBER on a big set never pays for a full scan.
    fn worth_building(&mut self, ik: &[u8], version: u64, len: u64) -> bool {
        if len <= EAGER_PICK_BUILD {
            return true;
        }
        if len > MAX_PICK_BUILD {
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
                    let before = ix.bytes;
                    let in_step = match op {
                        super::SubOp::Put(_, _, v) => ix.insert(sub, v),
                        _ => ix.remove(sub),
                    };
                    // Cached records change the index's size.
                    self.bytes = self.bytes + ix.bytes - before;
                    if !in_step {
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
        let Some(b) = self.rank_block(&prefix, ZSET, Purpose::Rank, version, len, |ix| ix.block_of(sub))? else {
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
        if rank >= len {
            return Ok(None);
        }
        let prefix = keys::data_prefix(db, key, version);
        let Some(b) = self.rank_block(&prefix, ZSET, Purpose::Rank, version, len, |ix| ix.block_at(rank))? else {
            return Ok(None);
        };
        let idx = self.rank.borrow();
        let ix = &idx.by_key[&prefix[..prefix.len() - 8]];
        let mut start = prefix;
        start.extend_from_slice(&ix.fences[b]);
        Ok(Some((start, rank - ix.before(b))))
    }

    /// Whether a put of a `data` record of `(db, key, version)` counts as a
    /// new element in a rank index: then a hash writing over an existing
    /// field must write a delete before the put (see [`data_kind`]). One
    /// hash lookup, none while no collection is indexed.
    pub fn counts_puts(&self, db: u8, key: &[u8], version: u64) -> bool {
        let idx = self.rank.borrow();
        !idx.by_key.is_empty()
            && idx.by_key.get(&index_key(db, key)).is_some_and(|ix| ix.cf == Cf::Data && ix.version == version)
    }

    /// The element at rank `rank` (0 = first) of the collection `(db, key,
    /// version)` of type `ty` with `len` elements: for a set or hash, in
    /// member order, its `data` sub-key suffix and value; for a sorted set,
    /// in score order, its member and score (`f64::to_bits` big-endian, like
    /// its `data` value). The uniform random pick of SPOP / SRANDMEMBER /
    /// HRANDFIELD / ZRANDMEMBER is this at a uniformly random rank. None: no
    /// index (too small to need one, not yet worth building, or out of
    /// step); the caller picks another way.
    pub fn member_at(
        &self,
        ty: Type,
        db: u8,
        key: &[u8],
        version: u64,
        len: u64,
        rank: u64,
    ) -> Result<Option<SubAndValue>, Error> {
        let kind = if ty == Type::ZSet { ZSET } else { data_kind(ty) };
        if rank >= len {
            return Ok(None);
        }
        let prefix = keys::data_prefix(db, key, version);
        let ik = &prefix[..prefix.len() - 8];
        let Some(b) = self.rank_block(&prefix, kind, Purpose::Pick, version, len, |ix| ix.block_at(rank))? else {
            return Ok(None);
        };
        let (skip, count, fence, next) = {
            let idx = self.rank.borrow();
            let ix = &idx.by_key[ik];
            let skip = (rank - ix.before(b)) as usize;
            if let Some((sub, v)) = ix.cache[b].as_ref().and_then(|c| c.get(skip)) {
                return Ok(Some(element(kind, sub, v)));
            }
            (skip, ix.counts[b], ix.fences[b].clone(), ix.fences.get(b + 1).cloned())
        };
        // Walk the whole block (a few dozen records) and cache it.
        let mut start = prefix.clone();
        start.extend_from_slice(&fence);
        let mut block: Cached = Vec::with_capacity(count as usize);
        self.iter_prefix(kind.0, &prefix, Some(&start), false, |k, v| {
            let sub = &k[prefix.len()..];
            if next.as_deref().is_some_and(|n| sub >= n) {
                return false;
            }
            block.push((sub.into(), v.into()));
            true
        })?;
        let mut idx = self.rank.borrow_mut();
        if block.len() as u64 != count {
            // Out of step with the records: forget it, the caller falls back.
            idx.drop_key(ik);
            return Ok(None);
        }
        let found = element(kind, &block[skip].0, &block[skip].1);
        let add = cached_bytes(&block);
        if add <= MAX_CACHED_BLOCK && idx.bytes + add <= BUDGET {
            let ix = idx.by_key.get_mut(ik).expect("invariant: found above");
            ix.cache[b] = Some(block);
            ix.bytes += add;
            idx.bytes += add;
        }
        Ok(Some(found))
    }

    /// Finds (building the index if needed, cutting the block if it grew
    /// too big) the block `pick` chooses; None if there is no index.
    fn rank_block(
        &self,
        prefix: &[u8],
        (cf, ty): Kind,
        purpose: Purpose,
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
                let min = if purpose == Purpose::Rank { MIN_MEMBERS } else { MIN_PICK_MEMBERS };
                if len < min {
                    return Ok(None);
                }
            }
        }
        if !self.rank.borrow().by_key.contains_key(ik) {
            if purpose == Purpose::Pick && !self.rank.borrow_mut().worth_building(ik, version, len) {
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
            sums: Vec::new(),
            cache: Vec::new(),
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
        ix.resum();
        ix.cache = std::iter::repeat_with(|| None).take(ix.counts.len()).collect();
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
        let mut ix = Index {
            cf: Cf::Zscore,
            ty: Type::ZSet,
            version: 1,
            fences,
            counts: counts.to_vec(),
            sums: Vec::new(),
            cache: vec![None; counts.len()],
            total: counts.iter().sum(),
            bytes: 1000,
            used: 0,
        };
        ix.resum();
        ix
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
    fn group_sums_find_the_same_blocks_as_a_linear_count() {
        // Three groups and a partial one, with empty blocks among them.
        let counts: Vec<u64> = (0..200u64).map(|i| if i % 7 == 3 { 0 } else { i % 5 + 1 }).collect();
        let fences = (0..counts.len()).map(|i| (i as u16).to_be_bytes().to_vec().into_boxed_slice()).collect();
        let mut ix = Index { fences, ..index(&counts) };
        ix.fences[0] = Box::default();
        let mut rank = 0;
        for (b, &c) in counts.iter().enumerate() {
            assert_eq!(ix.before(b), rank, "before {b}");
            for r in rank..rank + c {
                assert_eq!(ix.block_at(r), b, "rank {r}");
            }
            rank += c;
        }
        // Counting follows inserts and removals in later groups.
        assert!(ix.insert(&150u16.to_be_bytes(), b""));
        assert_eq!(ix.before(151), counts[..151].iter().sum::<u64>() + 1);
        assert!(ix.remove(&150u16.to_be_bytes()));
        assert_eq!(ix.sums, counts.chunks(GROUP).map(|c| c.iter().sum()).collect::<Vec<u64>>());
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
