//! Shared storage logic of the collections whose elements are one `data`
//! sub-key each — hash fields, set members (and sorted-set members for
//! reading): inserting and removing elements with the size kept in `meta`,
//! ordered reads in batches, SCAN pages, and random picks that do not read a
//! big collection whole.
//!
//! Invariants:
//! - `meta.len()` is the number of live sub-keys of `meta.version()`; every
//!   change of size rewrites the record (keeping its expiry), and a
//!   collection emptied here is deleted (its sub-keys are left to the GC
//!   compaction filter, never deleted one by one).
//! - Store iterators do not see the command's pending writes, and
//!   `Tx::get` scans them linearly, so writers here check existence against
//!   the store and remember what they wrote themselves (`Written`): a command
//!   naming the same element twice, or 10,000 elements, stays correct and
//!   linear.

use crate::error::CmdError;
use crate::storage::keys::{self, Cf};
use crate::storage::{prefix_successor, Cursor, Meta, OfType, Store, Tx, Type};
use crate::util::glob_match;
use std::cell::{OnceCell, RefCell};
use std::collections::HashSet;

/// One element as stored: its sub-key suffix (field or member) and value.
pub type Element = (Vec<u8>, Vec<u8>);

/// Elements read per storage call when walking a collection.
const BATCH: usize = 1024;

/// At or below this size a random pick reads the collection whole (a few
/// KB): exactly uniform without an index. Bigger ones are drawn by rank.
pub const SMALL: u64 = crate::storage::rank::MIN_PICK_MEMBERS - 1;

/// The elements of one collection version, read from the store (pending
/// writes of the running command are not visible).
pub struct Members<'s> {
    store: &'s Store,
    prefix: Vec<u8>,
    /// The iterator the random descent's seeks reuse (opened by the first).
    cursor: RefCell<Option<Cursor<'s>>>,
    /// `(type, db, key, version, len)` of a collection big enough to be
    /// drawn from by rank (`storage/rank.rs`); set by [`random`].
    ranked: Option<(Type, u8, Vec<u8>, u64, u64)>,
}

impl<'s> Members<'s> {
    /// The elements of `key` in `db` stored under `meta`'s version.
    pub fn new(store: &'s Store, db: u8, key: &[u8], meta: &Meta) -> Self {
        Members { store, prefix: keys::data_prefix(db, key, meta.version()), cursor: RefCell::default(), ranked: None }
    }

    /// The full sub-key of `sub`.
    fn key(&self, sub: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + sub.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(sub);
        k
    }

    /// Point read of one element's value (through the member cache).
    pub fn get(&self, sub: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
        Ok(self.store.get_member(&self.key(sub))?)
    }

    /// True if `sub` is an element.
    pub fn contains(&self, sub: &[u8]) -> Result<bool, CmdError> {
        self.contains_key(&self.key(sub))
    }

    /// [`Members::contains`] by full sub-key (from [`Members::key`]).
    fn contains_key(&self, k: &[u8]) -> Result<bool, CmdError> {
        Ok(self.store.has_member(k)?)
    }

    /// Up to `limit` elements in member order, strictly after `after` (from
    /// the first when `None`).
    pub fn page(&self, after: Option<&[u8]>, limit: usize) -> Result<Vec<Element>, CmdError> {
        let start = after.map(|a| self.key(a));
        self.read(start.as_deref(), after.is_some(), limit)
    }

    /// Up to `limit` elements from the full key `start` (skipping `start`
    /// itself when `exclusive`), in order.
    fn read(&self, start: Option<&[u8]>, exclusive: bool, limit: usize) -> Result<Vec<Element>, CmdError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let skip = if exclusive { start } else { None };
        let n = self.prefix.len();
        self.store.iter_prefix(Cf::Data, &self.prefix, start, false, |k, v| {
            if skip != Some(k) {
                out.push((k[n..].to_vec(), v.to_vec()));
            }
            out.len() < limit
        })?;
        Ok(out)
    }

    /// Calls `f` on every element in order, in batches; `f` returns false to stop.
    pub fn for_each(&self, f: impl FnMut(Element) -> Result<bool, CmdError>) -> Result<(), CmdError> {
        self.for_each_from(None, f)
    }

    /// [`Members::for_each`] from the first element at or after `from`.
    fn for_each_from(
        &self,
        from: Option<&[u8]>,
        mut f: impl FnMut(Element) -> Result<bool, CmdError>,
    ) -> Result<(), CmdError> {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let batch = match (&after, from) {
                (None, Some(sub)) => self.read(Some(&self.key(sub)), false, BATCH)?,
                _ => self.page(after.as_deref(), BATCH)?,
            };
            let full = batch.len() == BATCH;
            after = batch.last().map(|(s, _)| s.clone());
            for e in batch {
                if !f(e)? {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Every element, in member order. O(N): for the commands whose reply is
    /// the whole collection.
    pub fn all(&self) -> Result<Vec<Element>, CmdError> {
        let mut out = Vec::new();
        self.for_each(|e| {
            out.push(e);
            Ok(true)
        })?;
        Ok(out)
    }

    /// One SCAN step: examines up to `count` elements after `after`, keeps
    /// those whose member matches `pattern`, and says where to resume.
    pub fn scan(&self, after: Option<&[u8]>, count: usize, pattern: Option<&[u8]>) -> Result<ScanPage, CmdError> {
        // One element more than examined tells whether anything is left, so
        // the last step already replies cursor 0.
        let mut batch = self.page(after, count.saturating_add(1))?;
        let more = batch.len() > count;
        batch.truncate(count);
        let resume_after = if more { batch.last().map(|(s, _)| s.clone()) } else { None };
        batch.retain(|(s, _)| pattern.map_or(true, |p| glob_match(p, s, false)));
        Ok(ScanPage { elements: batch, resume_after })
    }
}

/// One step of HSCAN / SSCAN / ZSCAN.
#[derive(Debug, Default)]
pub struct ScanPage {
    /// Elements examined that passed the MATCH pattern.
    pub elements: Vec<Element>,
    /// The last element examined, if the scan is not complete.
    pub resume_after: Option<Vec<u8>>,
}

/// The live record of `key` if it holds type `ty` (WRONGTYPE otherwise).
pub fn lookup(tx: &mut Tx, key: &[u8], ty: Type) -> Result<Option<Meta>, CmdError> {
    tx.meta(key)?.of_type(ty)
}

/// The collection record with another size (same version, expiry, extras).
fn resized(m: &Meta, len: u64) -> Meta {
    Meta::collection(m.ty(), m.version(), len, m.expire_ms(), m.extra())
}

/// What an insert does to an element that is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// Write the new value (HSET).
    Replace,
    /// Leave it (HSETNX, SADD).
    Keep,
}

/// Elements this command already wrote or removed, so a repeated one is
/// judged by the command's own effect rather than by the store. Allocates
/// only from the second element on.
#[derive(Default)]
struct Written<'a> {
    seen: HashSet<&'a [u8], ahash::RandomState>,
}

impl<'a> Written<'a> {
    /// True if `sub` was handled earlier in this command; records it.
    fn repeat(&mut self, sub: &'a [u8], total: usize) -> bool {
        total > 1 && !self.seen.insert(sub)
    }
}

/// Writes `elems` (sub, value) into the collection `key` of type `ty`
/// (`meta` = its live record, `None` creates it). Returns how many were new.
/// O(N) point reads and writes.
pub fn insert<'a, I>(
    tx: &mut Tx,
    key: &[u8],
    ty: Type,
    meta: Option<Meta>,
    elems: I,
    on_existing: OnExisting,
) -> Result<u64, CmdError>
where
    I: ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
{
    let total = elems.len();
    let (meta, fresh) = match meta {
        Some(m) => (m, false),
        // A fresh version has no sub-keys: nothing to look up below.
        None => (Meta::collection(ty, tx.new_version()?, 0, 0, &[]), true),
    };
    let members = Members::new(tx.store(), tx.db, key, &meta);
    // A rank index counts every put as a new element (`storage/rank.rs`):
    // an overwrite is then written as a delete and a put.
    let counted = !fresh && tx.store().counts_puts(tx.db, key, meta.version());
    let mut written = Written::default();
    let mut added = 0;
    for (sub, value) in elems {
        let k = members.key(sub);
        let existed = written.repeat(sub, total) || (!fresh && members.contains_key(&k)?);
        if existed && on_existing == OnExisting::Keep {
            continue;
        }
        added += u64::from(!existed);
        if existed && counted {
            tx.delete(Cf::Data, k.clone());
        }
        tx.put(Cf::Data, k, value.to_vec());
    }
    if added > 0 {
        tx.put_meta(key, resized(&meta, meta.len() + added))?;
    }
    Ok(added)
}

/// Removes `subs` from the collection `key` (`meta` = its live record),
/// deleting the key when it empties. Returns how many were there. O(N).
pub fn remove<'a, I>(tx: &mut Tx, key: &[u8], meta: &Meta, subs: I) -> Result<u64, CmdError>
where
    I: ExactSizeIterator<Item = &'a [u8]>,
{
    let total = subs.len();
    let members = Members::new(tx.store(), tx.db, key, meta);
    let mut written = Written::default();
    let mut removed = 0;
    for sub in subs {
        let k = members.key(sub);
        if written.repeat(sub, total) || !members.contains_key(&k)? {
            continue;
        }
        removed += 1;
        tx.delete(Cf::Data, k);
    }
    shrink(tx, key, meta, removed)?;
    Ok(removed)
}

/// Deletes elements known to be present (picked from the store by this
/// command, each once), then fixes the size.
pub fn remove_known(tx: &mut Tx, key: &[u8], meta: &Meta, elems: &[Element]) -> Result<(), CmdError> {
    let members = Members::new(tx.store(), tx.db, key, meta);
    for (sub, _) in elems {
        tx.delete(Cf::Data, members.key(sub));
    }
    shrink(tx, key, meta, elems.len() as u64)
}

/// Records that `removed` elements left `key`: a new size, or no key at all.
fn shrink(tx: &mut Tx, key: &[u8], meta: &Meta, removed: u64) -> Result<(), CmdError> {
    if removed == 0 {
        return Ok(());
    }
    match meta.len().saturating_sub(removed) {
        0 => tx.del_meta(key)?,
        n => tx.put_meta(key, resized(meta, n))?,
    }
    Ok(())
}

/// Writes `key` as a new collection of type `ty` holding `elems` (replacing
/// whatever was there, TTL cleared, like Redis's `setKey`), or deletes `key`
/// when `elems` is empty. The old version's sub-keys go to GC.
pub fn replace(tx: &mut Tx, key: &[u8], ty: Type, elems: &[Element]) -> Result<(), CmdError> {
    if elems.is_empty() {
        if tx.meta(key)?.is_some() {
            tx.del_meta(key)?;
        }
        return Ok(());
    }
    let version = tx.new_version()?;
    for (sub, value) in elems {
        tx.put(Cf::Data, keys::data(tx.db, key, version, sub), value.clone());
    }
    tx.put_meta(key, Meta::collection(ty, version, elems.len() as u64, 0, &[]))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Random picks
// ---------------------------------------------------------------------------

/// A small fast generator (xorshift64*), seeded from std's randomly keyed
/// hasher: one seed per command, many draws.
pub struct Rng(u64);

impl Rng {
    /// A freshly seeded generator.
    pub fn new() -> Rng {
        use std::hash::{BuildHasher, Hasher};
        let seed = std::collections::hash_map::RandomState::new().build_hasher().finish();
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`), without modulo bias worth mentioning
    /// (Lemire's multiply-shift).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

impl Default for Rng {
    fn default() -> Self {
        Rng::new()
    }
}

/// Whether a seek may land on its start key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// At or after the start.
    Inclusive,
    /// Strictly after it.
    Exclusive,
}

/// Levels of the random descent before settling for the range's first member.
const MAX_DEPTH: usize = 32;

/// Seeks one level of the descent may spend looking for a present byte.
const BYTE_TRIES: usize = 8;

/// Draws elements of a big collection. A collection with a rank index
/// (`storage/rank.rs`: built by the first pick of a collection of up to a
/// few thousand elements, later for bigger ones, see [`random`]) is drawn
/// from by rank: a uniform random rank, located through the block counts
/// kept exact by every commit: exactly uniform, no bias. Without one, the
/// draw is a random descent of the member trie, using forward seeks only,
/// with the bias described below. A range is the members sharing a prefix
/// of length `c`, at least two of them, the first being `lo`. The byte at
/// `c` is drawn uniformly from `low` (the smallest present) up to a top
/// bound, plus one choice for `lo` itself when it ends at `c`; a seek finds
/// the first member at or after it. A seek that leaves the range lowers the
/// top bound (so the bound shrinks to the largest present byte without a
/// backward seek), one that lands on a byte value absent from the range is
/// drawn again (up to [`BYTE_TRIES`] seeks, so present branches are equally
/// likely), and the range then narrows to the chosen branch and its longest
/// shared prefix. Fixed-width or random members (`id:0000`..`id:9999`,
/// UUIDs) come out uniform.
///
/// Why forward only: RocksDB steps backwards through a memtable in O(log n)
/// per entry, so backward seeks over the deletion markers of popped members
/// (a long SPOP loop) get very slow; forward steps skip them cheaply.
///
/// Bias of the descent: each present branch of a level is about equally likely whatever
/// its size, so members of small branches are drawn more often than members
/// of big ones. Unpadded counters show it most: in `item:0`..`item:19999`,
/// `item:0` alone is a first-level branch next to `item:1...` (11,111
/// members) and takes about 1/10 of the draws. When the retries run out, a
/// branch following a gap of absent byte values is favoured too. Every
/// member can be drawn; collections of at most [`SMALL`] members never come
/// here. A long SPOP loop empties the over-drawn branches first, and seeks
/// into a branch full of deletion markers skip them one by one until
/// RocksDB compacts them away, so such a drain slows down towards its end.
/// Cost: about five seeks per level, all on one reused RocksDB iterator
/// (`storage::Cursor`); a seek stepping over many deletion markers is redone
/// bounded by its range, so markers are only walked inside the branch being
/// searched, never up to the next live member beyond it.
struct Seeker {
    /// The first member and the length of the prefix every member shares
    /// (None: a single member); found on the first descent.
    root: OnceCell<(Element, Option<usize>)>,
}

/// Length of the common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Members<'_> {
    /// The first member at or after `start` if it begins with `range`.
    fn first_in(&self, range: &[u8], start: &[u8]) -> Result<Option<Element>, CmdError> {
        self.first_in_range(range, start, Bound::Inclusive)
    }

    /// The first member beginning with `range` at (or strictly after) `start`.
    /// The seek ends where the range ends: a draining SPOP leaves the
    /// deletion markers of popped members everywhere, and an unbounded seek
    /// that finds nothing live in the range would step over every marker up
    /// to the next live member, possibly to the end of the collection. Seeks
    /// share one iterator (`storage::Cursor`), which hands a seek crossing
    /// many markers to an iterator bounded at the range's end.
    fn first_in_range(&self, range: &[u8], start: &[u8], bound: Bound) -> Result<Option<Element>, CmdError> {
        let from = self.key(start);
        let end = prefix_successor(&self.key(range));
        let n = self.prefix.len();
        let mut cursor = self.cursor.borrow_mut();
        let c = cursor.get_or_insert_with(|| self.store.cursor(Cf::Data, &self.prefix, prefix_successor(&self.prefix)));
        let element = |k: &[u8], v: &[u8]| (k[n..].to_vec(), v.to_vec());
        Ok(match bound {
            Bound::Inclusive => c.first(&from, end.as_deref(), element)?,
            Bound::Exclusive => c.first_after(&from, end.as_deref(), element)?,
        })
    }

    /// The last member beginning with `range` (one backward seek).
    fn last_in(&self, range: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
        let (lo, end) = (self.key(range), prefix_successor(&self.key(range)));
        let n = self.prefix.len();
        let mut cursor = self.cursor.borrow_mut();
        let c = cursor.get_or_insert_with(|| self.store.cursor(Cf::Data, &self.prefix, prefix_successor(&self.prefix)));
        Ok(c.last(&lo, end.as_deref(), |k, _| k[n..].to_vec())?)
    }

    /// For the members beginning with `lo[..c]`, `lo` being the first: the
    /// length of the prefix they all share, or None if `lo` is alone. A
    /// member after `lo` bounds it; a binary search over "is any member past
    /// every one starting with `lo[..k]`" (forward seeks) finds it.
    fn shared_prefix(&self, c: usize, lo: &[u8]) -> Result<Option<usize>, CmdError> {
        let range = &lo[..c];
        let Some((next, _)) = self.first_in_range(range, lo, Bound::Exclusive)? else {
            return Ok(None);
        };
        let (mut known, mut upper) = (c, common_prefix(lo, &next));
        // The first probe is the shortest prefix: in a dense collection a
        // branch usually forks right away, and one seek settles it.
        let mut first_probe = true;
        while known < upper {
            let mid = if std::mem::take(&mut first_probe) { known + 1 } else { (known + upper).div_ceil(2) };
            let beyond = match prefix_successor(&lo[..mid]) {
                Some(after) => self.first_in(range, &after)?.is_some(),
                None => false,
            };
            if beyond {
                upper = mid - 1;
            } else {
                known = mid;
            }
        }
        Ok(Some(known))
    }
}

impl Seeker {
    /// None if the collection is empty.
    fn new(m: &Members) -> Result<Option<Seeker>, CmdError> {
        let s = Seeker { root: OnceCell::new() };
        if m.ranked.is_none() && s.root(m)?.is_none() {
            return Ok(None);
        }
        Ok(Some(s))
    }

    fn root(&self, m: &Members) -> Result<Option<&(Element, Option<usize>)>, CmdError> {
        if self.root.get().is_none() {
            let Some(first) = m.first_in(b"", b"")? else {
                return Ok(None);
            };
            let shared = m.shared_prefix(0, &first.0)?;
            let _ = self.root.set((first, shared));
        }
        Ok(self.root.get())
    }

    /// One random element: exactly uniform from a set's rank index, else
    /// by the descent.
    fn draw(&self, m: &Members, rng: &mut Rng) -> Result<Element, CmdError> {
        if let Some((ty, db, key, version, len)) = &m.ranked {
            if let Some(e) = m.store.member_at(*ty, *db, key, *version, *len, rng.below(*len))? {
                return Ok(e);
            }
        }
        let Some((first, shared)) = self.root(m)? else {
            return Err(CmdError::storage(crate::error::Error::Corrupt { cf: "data", key: m.prefix.clone() }));
        };
        let mut lo = first.clone();
        let Some(mut c) = *shared else {
            return Ok(lo);
        };
        for _ in 0..MAX_DEPTH {
            let range = lo.0[..c].to_vec();
            let lo_ends = lo.0.len() == c;
            // The first member with a byte at `c`, and that byte.
            let low_member = if lo_ends {
                match m.first_in_range(&range, &lo.0, Bound::Exclusive)? {
                    Some(e) => e,
                    None => return Ok(lo),
                }
            } else {
                lo.clone()
            };
            let low = low_member.0[c];
            // The largest byte present at `c` (the range's last member has
            // one: `low_member` is longer than `c`), so draws start inside
            // the present bytes instead of overshooting past them.
            let mut top = m.last_in(&range)?.and_then(|l| l.get(c).copied()).unwrap_or(u8::MAX).max(low);
            let mut landed: Option<Element> = None;
            for _ in 0..BYTE_TRIES {
                let choices = u64::from(top - low) + 1 + u64::from(lo_ends);
                let r = rng.below(choices);
                if lo_ends && r == choices - 1 {
                    return Ok(lo);
                }
                let byte = low + r as u8;
                if byte == low {
                    landed = Some(low_member.clone());
                    break;
                }
                let mut target = range.clone();
                target.push(byte);
                match m.first_in(&range, &target)? {
                    // Past the last branch: `byte - 1 >= low`, which is present.
                    None => top = byte - 1,
                    Some(e) if e.0[c] == byte => {
                        landed = Some(e);
                        break;
                    }
                    // A byte value no member has: draw again.
                    Some(e) => landed = Some(e),
                }
            }
            let next = landed.unwrap_or(low_member);
            match m.shared_prefix(c + 1, &next.0)? {
                Some(k) => {
                    lo = next;
                    c = k;
                }
                None => return Ok(next),
            }
        }
        Ok(lo)
    }
}

/// How many elements a random read returns, and whether they may repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Up to `n` distinct elements (SPOP, or a non-negative count).
    Distinct(u64),
    /// Exactly `n` elements, each drawn independently (a negative count).
    Repeated(u64),
}

/// Random elements of the collection `meta` at `key`, per `pick`, with
/// Redis's distribution: a distinct pick is a uniform sample without
/// replacement, a repeated pick `n` independent uniform draws. For a sorted
/// set an element's value is its score (`f64::to_bits` big-endian, like its
/// `data` record).
///
/// Unless the pick is the whole collection, elements are drawn by rank
/// through the collection's rank index (`storage/rank.rs`): exact. A
/// collection with an index keeps using it when it shrinks, so a set
/// drained by SPOP never walks the deletion markers of its popped members
/// to read its last ones. Without an index, a collection of at most
/// [`SMALL`] elements, or one a distinct pick covers half of, is read whole
/// and sampled: exact too. Otherwise — a collection over a few thousand
/// elements before its picks have paid for building an index, one over a
/// few million, or when the index budget is full — the draws fall back to
/// the trie descent of [`Seeker`], whose bias is documented there.
pub fn random(tx: &Tx, key: &[u8], meta: &Meta, pick: Pick) -> Result<Vec<Element>, CmdError> {
    let mut m = Members::new(tx.store(), tx.db, key, meta);
    let mut rng = Rng::new();
    let len = meta.len();
    if !matches!(pick, Pick::Distinct(n) if n >= len) {
        m.ranked = Some((meta.ty(), tx.db, key.to_vec(), meta.version(), len));
        if let Some(picked) = by_rank(&m, len, pick, &mut rng)? {
            return Ok(picked);
        }
    }
    match pick {
        Pick::Distinct(n) => random_distinct(&m, len, n, &mut rng),
        Pick::Repeated(n) => random_repeated(&m, len, n, &mut rng),
    }
}

/// `pick` (not the whole collection) drawn by rank through the
/// collection's rank index, when it has one (None otherwise, found at the
/// first draw): exactly uniform, and each element is read from the index's
/// cached block or by one seek and a walk inside one block. Distinct ranks
/// are drawn by Floyd's algorithm.
fn by_rank(m: &Members, len: u64, pick: Pick, rng: &mut Rng) -> Result<Option<Vec<Element>>, CmdError> {
    let Some((ty, db, key, version, _)) = &m.ranked else { return Ok(None) };
    let ranks: Box<dyn Iterator<Item = u64>> = match pick {
        Pick::Distinct(n) if n < len => {
            let mut chosen: HashSet<u64, ahash::RandomState> = HashSet::default();
            for j in len - n..len {
                let t = rng.below(j + 1);
                if !chosen.insert(t) {
                    chosen.insert(j);
                }
            }
            Box::new(chosen.into_iter())
        }
        // Drawn as they are read: a huge count on a collection without an
        // index stops at the first draw.
        Pick::Repeated(n) if len > 0 => Box::new((0..n).map(|_| rng.below(len))),
        _ => return Ok(None),
    };
    let mut out = Vec::new();
    for r in ranks {
        match m.store.member_at(*ty, *db, key, *version, len, r)? {
            Some(e) => out.push(e),
            // No index, or it went out of step midway (then it is dropped):
            // the caller's fallback draws the whole pick.
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// `count` random elements, each drawn independently (repeats possible):
/// SRANDMEMBER / HRANDFIELD with a negative count. A collection no bigger
/// than [`SMALL`] or than `count` is read once and drawn from uniformly;
/// otherwise each draw is a random descent (see [`Seeker`] for the bias).
pub fn random_repeated(m: &Members, len: u64, count: u64, rng: &mut Rng) -> Result<Vec<Element>, CmdError> {
    let mut out = Vec::new();
    if len <= SMALL || count >= len {
        let all = m.all()?;
        if all.is_empty() {
            return Ok(out);
        }
        for _ in 0..count {
            out.push(all[rng.below(all.len() as u64) as usize].clone());
        }
        return Ok(out);
    }
    let Some(seeker) = Seeker::new(m)? else {
        return Ok(out);
    };
    for _ in 0..count {
        out.push(seeker.draw(m, rng)?);
    }
    Ok(out)
}

/// `count` distinct random elements of a collection of `len` elements, in
/// no particular order (SPOP, SRANDMEMBER / HRANDFIELD with a positive
/// count). When `count >= len` that is everything. When reading everything
/// costs at most twice the reply (`2 * count >= len`) or the collection is
/// [`SMALL`], it is read and a uniform sample taken. Otherwise elements are
/// drawn by random descents ([`Seeker`]) until `count` distinct ones are found, within
/// a budget of `2 * count + 16` draws; if the bias makes draws repeat too
/// often, the rest is filled by walking forward (wrapping around) from a
/// random point, skipping those taken. Either way O(count) reads.
pub fn random_distinct(m: &Members, len: u64, count: u64, rng: &mut Rng) -> Result<Vec<Element>, CmdError> {
    if count >= len || len <= SMALL || count.saturating_mul(2) >= len {
        let mut all = m.all()?;
        let k = (count as usize).min(all.len());
        // Partial Fisher-Yates: the first k slots become a uniform sample.
        for i in 0..k {
            let j = i + rng.below((all.len() - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(k);
        return Ok(all);
    }
    let Some(seeker) = Seeker::new(m)? else {
        return Ok(Vec::new());
    };
    let count = count as usize;
    let mut taken: HashSet<Vec<u8>, ahash::RandomState> = HashSet::default();
    let mut out = Vec::with_capacity(count);
    let budget = 2 * count + 16;
    for _ in 0..budget {
        if out.len() == count {
            return Ok(out);
        }
        let e = seeker.draw(m, rng)?;
        if taken.insert(e.0.clone()) {
            out.push(e);
        }
    }
    // Fill: walk forward from a random point, then from the first element
    // up to that point. There are `len - taken >= count` elements left to
    // take, so the walk completes.
    let start = seeker.draw(m, rng)?.0;
    let mut take = |e: Element, out: &mut Vec<Element>| {
        if taken.insert(e.0.clone()) {
            out.push(e);
        }
        out.len() < count
    };
    m.for_each_from(Some(&start), |e| Ok(take(e, &mut out)))?;
    if out.len() < count {
        m.for_each_from(None, |e| Ok(e.0 < start && take(e, &mut out)))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testutil::TempStore;

    #[test]
    fn common_prefix_lengths() {
        assert_eq!(common_prefix(b"abc", b"abd"), 2);
        assert_eq!(common_prefix(b"ab", b"abc"), 2);
        assert_eq!(common_prefix(b"", b"x"), 0);
    }

    #[test]
    fn rng_below_stays_in_range() {
        let mut r = Rng::new();
        for n in [1u64, 2, 3, 7, 1000, u64::MAX] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
    }

    impl TempStore {
        /// A set `key` holding `members`.
        fn set_of(&mut self, key: &[u8], members: &[Vec<u8>]) -> Meta {
            self.run(|tx| {
                let elems = members.iter().map(|m| (m.as_slice(), &b""[..]));
                insert(tx, key, Type::Set, None, elems, OnExisting::Keep).expect("insert");
            });
            self.run(|tx| lookup(tx, key, Type::Set).expect("lookup").expect("exists"))
        }
    }

    fn padded(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("m:{i:04}").into_bytes()).collect()
    }

    #[test]
    fn insert_and_remove_count_repeats_once() {
        let mut t = TempStore::new();
        let added = t.run(|tx| {
            let elems = [(&b"a"[..], &b"1"[..]), (b"b", b"2"), (b"a", b"3")];
            insert(tx, b"h", Type::Hash, None, elems.into_iter(), OnExisting::Replace).expect("insert")
        });
        assert_eq!(added, 2);
        let m = t.run(|tx| lookup(tx, b"h", Type::Hash).expect("lookup").expect("exists"));
        assert_eq!(m.len(), 2);
        let all = Members::new(&t.store, 0, b"h", &m).all().expect("all");
        assert_eq!(all, vec![(b"a".to_vec(), b"3".to_vec()), (b"b".to_vec(), b"2".to_vec())]);
        let removed = t.run(|tx| remove(tx, b"h", &m, [&b"a"[..], b"a", b"zz"].into_iter()).expect("remove"));
        assert_eq!(removed, 1);
        let m = t.run(|tx| lookup(tx, b"h", Type::Hash).expect("lookup").expect("exists"));
        assert_eq!(m.len(), 1);
        t.run(|tx| remove(tx, b"h", &m, std::iter::once(&b"b"[..])).expect("remove"));
        assert!(t.run(|tx| lookup(tx, b"h", Type::Hash).expect("lookup")).is_none(), "emptied hash is deleted");
    }

    #[test]
    fn scan_pages_visit_each_member_once_in_order() {
        let mut t = TempStore::new();
        let members = padded(100);
        let m = t.set_of(b"s", &members);
        let set = Members::new(&t.store, 0, b"s", &m);
        let mut seen = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        let mut steps = 0;
        loop {
            let page = set.scan(after.as_deref(), 7, None).expect("scan");
            seen.extend(page.elements.into_iter().map(|(s, _)| s));
            steps += 1;
            match page.resume_after {
                Some(r) => after = Some(r),
                None => break,
            }
        }
        assert_eq!(seen, members);
        assert_eq!(steps, 15, "100 members by 7: the last step already says done");
        let page = set.scan(None, 1000, Some(b"m:00?5")).expect("scan");
        assert_eq!(page.elements.len(), 10);
        assert!(page.resume_after.is_none());
    }

    #[test]
    fn distinct_picks_are_distinct_members_at_every_count() {
        let mut t = TempStore::new();
        let members = padded(1000);
        let m = t.set_of(b"s", &members);
        let set = Members::new(&t.store, 0, b"s", &m);
        let mut rng = Rng::new();
        for count in [0u64, 1, 10, 300, 499, 500, 999, 1000, 5000] {
            let got = random_distinct(&set, m.len(), count, &mut rng).expect("pick");
            assert_eq!(got.len() as u64, count.min(1000), "count {count}");
            let unique: HashSet<&Vec<u8>> = got.iter().map(|(s, _)| s).collect();
            assert_eq!(unique.len(), got.len(), "count {count}: no repeats");
            assert!(got.iter().all(|(s, _)| members.binary_search(s).is_ok()), "count {count}: real members");
        }
    }

    #[test]
    fn a_hash_overwrite_keeps_its_rank_index_exact() {
        let mut t = TempStore::new();
        let fields = padded(300);
        t.run(|tx| {
            let elems = fields.iter().map(|f| (f.as_slice(), &b"v"[..]));
            insert(tx, b"h", Type::Hash, None, elems, OnExisting::Replace).expect("insert");
        });
        let meta = |t: &mut TempStore| t.run(|tx| lookup(tx, b"h", Type::Hash).expect("lookup").expect("exists"));
        let m = meta(&mut t);
        let at = |t: &TempStore, m: &Meta, r: u64| {
            t.store.member_at(Type::Hash, 0, b"h", m.version(), m.len(), r).expect("read").expect("indexed")
        };
        assert_eq!(at(&t, &m, 7).0, fields[7]);
        assert!(t.store.counts_puts(0, b"h", m.version()));
        // Overwrites (one named twice) and a new field, in one command.
        t.run(|tx| {
            let elems = [(&fields[3][..], &b"w"[..]), (&fields[3][..], b"x"), (&fields[9][..], b"w"), (b"zz", b"w")];
            insert(tx, b"h", Type::Hash, Some(m.clone()), elems.into_iter(), OnExisting::Replace).expect("insert");
        });
        // Counting overwrites as new fields would have left the index 3
        // over the size, and the commit would have dropped it.
        assert_eq!(t.store.rank_index_stats().1, 1, "the index followed the overwrites");
        let m = meta(&mut t);
        assert_eq!(m.len(), 301);
        let all: Vec<Element> = (0..301).map(|r| at(&t, &m, r)).collect();
        let mut want = Members::new(&t.store, 0, b"h", &m).all().expect("all");
        want.sort();
        assert_eq!(all, want);
        assert_eq!(all[3].1, b"x");
    }

    #[test]
    fn random_descent_reaches_every_member() {
        let mut t = TempStore::new();
        let mut rng = Rng::new();
        // Fixed-width members: the descent is uniform, 20 draws per member on average.
        let members = padded(1000);
        let m = t.set_of(b"fixed", &members);
        let set = Members::new(&t.store, 0, b"fixed", &m);
        let got = random_repeated(&set, m.len(), 20_000, &mut rng).expect("pick");
        let unique: HashSet<&Vec<u8>> = got.iter().map(|(s, _)| s).collect();
        assert_eq!(unique.len(), 1000);
        drop(set);
        // Unbalanced members (1..=1000 unpadded, with prefixes of each other):
        // biased but every member drawable; the rarest has p = 1/2178.
        let members: Vec<Vec<u8>> = (1..=1000).map(|i| i.to_string().into_bytes()).collect();
        let m = t.set_of(b"loose", &members);
        let set = Members::new(&t.store, 0, b"loose", &m);
        let got = random_repeated(&set, m.len(), 20_000, &mut rng).expect("pick");
        let unique: HashSet<&Vec<u8>> = got.iter().map(|(s, _)| s).collect();
        assert!(unique.len() >= 990, "reached {} of 1000", unique.len());
        assert!(got.iter().all(|(s, _)| members.contains(s)));
    }
}
