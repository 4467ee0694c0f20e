//! Sorted-set semantics over the store (no RESP): add/increment, removal,
//! score/rank lookups, ranges by rank, score and lex, pops, random members
//! and union/intersection/difference. (ZSCAN is the collections' shared
//! scan, `cmd::members::scan`, over the `data` records.)
//!
//! Layout (DESIGN.md "Storage encoding", `storage/keys.rs`): the `meta` record
//! holds version and size; each member has two records kept in step by
//! [`Edit`], the only writer:
//! - `data`   : `prefix | member` → score as `f64::to_bits` big-endian (point
//!   lookups: ZSCORE, ZADD's "is it there");
//! - `zscore` : `prefix | encoded score | member`, empty (the order: ranges,
//!   ranks, pops).
//!
//! Invariants and the Redis rules they keep:
//! - A stored score is never NaN and never `-0`: Redis's small (listpack)
//!   sorted sets store `-0` as `0`, and with `-0` gone byte order of the
//!   `zscore` records is exactly Redis's order (score, then member bytes).
//!   Computed scores that are only replied (ZINCRBY's reply, ZUNION) keep `-0`.
//! - An emptied sorted set is deleted (only its meta record: sub-keys go to GC).
//! - Iterators do not see the command's own pending writes, so every write
//!   goes through [`Edit`], which remembers the members it touched.
//! - Nothing reads a whole sorted set to change or read a few members: ranges
//!   seek to their start (by score, or by member when all scores are equal,
//!   the case BYLEX is meant for) and stop at their end; rank ranges walk
//!   from the nearer end.
//! - Ranks: a sorted set of at least `storage::rank::MIN_MEMBERS` members
//!   gets an in-memory order-statistics index on its first rank query
//!   (`storage/rank.rs`: score-ordered blocks of ~64 members with counts,
//!   kept exact by every commit), so ZRANK / ZREVRANK and rank ranges that
//!   start deep inside cost a sum over the blocks plus a walk of at most a
//!   few hundred members. Smaller sets are counted by walking.

use crate::error::{CmdError, Error};
use crate::storage::keys::{self, Cf};
use crate::storage::{Meta, OfType, Tx, Type};
use crate::types::members::{self, Pick};
use std::collections::HashMap;

/// A member and its score.
pub type Scored = (Vec<u8>, f64);

/// `ERR resulting score is not a number (NaN)` (`inf + -inf` in an increment).
pub const NAN_SCORE: CmdError = CmdError::Err("resulting score is not a number (NaN)");

/// Which end of the order (pops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Lowest scores first (ZPOPMIN).
    Min,
    /// Highest scores first (ZPOPMAX).
    Max,
}

/// Direction of a walk or a range reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Ascending (score, member).
    Forward,
    /// Descending (the REV variants).
    Reverse,
}

impl Dir {
    fn flip(self) -> Dir {
        match self {
            Dir::Forward => Dir::Reverse,
            Dir::Reverse => Dir::Forward,
        }
    }
}

impl From<End> for Dir {
    fn from(e: End) -> Dir {
        match e {
            End::Min => Dir::Forward,
            End::Max => Dir::Reverse,
        }
    }
}

/// ZADD's NX / XX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// Add or update.
    Always,
    /// NX: only add new members.
    IfMissing,
    /// XX: only update existing members.
    IfExists,
}

/// ZADD's GT / LT (updates only; new members are always added).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Any new score.
    Any,
    /// GT: only a greater score.
    Greater,
    /// LT: only a smaller score.
    Less,
}

/// Whether ZADD sets the score or adds to it (INCR, ZINCRBY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Set the score.
    Set,
    /// Add to the current score (0 for a new member).
    Incr,
}

/// How [`add`] treats one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddHow {
    /// NX / XX.
    pub cond: Cond,
    /// GT / LT.
    pub cmp: Cmp,
    /// Set or increment.
    pub op: Op,
}

/// Outcome of [`add`] for one member.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Added {
    /// A new member with this score.
    New(f64),
    /// An existing member whose score changed to this.
    Updated(f64),
    /// An existing member whose score was already this.
    Same(f64),
    /// Nothing done (NX on an existing member, XX on a new one, GT/LT refused).
    Skipped,
}

/// The aggregation of ZUNION / ZINTER (`AGGREGATE SUM|MIN|MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// Sum of the weighted scores (`inf + -inf` counts as 0).
    Sum,
    /// Smallest weighted score.
    Min,
    /// Largest weighted score.
    Max,
}

/// ZUNION / ZINTER / ZDIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// Members of any source.
    Union,
    /// Members of every source.
    Inter,
    /// Members of the first source and of no other.
    Diff,
}

/// Offset and count of a BYSCORE / BYLEX range (`LIMIT offset count`), with
/// Redis's edge cases: a negative offset gives nothing, a negative count means
/// no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Members skipped first.
    pub offset: i64,
    /// Members returned at most (negative = all).
    pub count: i64,
}

impl Limit {
    /// No LIMIT.
    pub const ALL: Limit = Limit { offset: 0, count: -1 };
}

/// A score interval: `min`/`max` with `(` exclusivity, as ZRANGEBYSCORE takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower bound.
    pub min: f64,
    /// `(min`: the bound itself is excluded.
    pub min_ex: bool,
    /// Upper bound.
    pub max: f64,
    /// `(max`: the bound itself is excluded.
    pub max_ex: bool,
}

impl ScoreRange {
    /// Parses `min` and `max` like Redis's `zslParseRange`: an optional `(`,
    /// then C `strtod` over the whole argument (leading spaces and the empty
    /// string, which is 0, are accepted; overflow gives ±inf; NaN is refused).
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, min_ex) = parse_score_bound(min)?;
        let (max, max_ex) = parse_score_bound(max)?;
        Some(ScoreRange { min, min_ex, max, max_ex })
    }

    /// The whole order, `-inf +inf`.
    pub const ALL: ScoreRange = ScoreRange { min: f64::NEG_INFINITY, min_ex: false, max: f64::INFINITY, max_ex: false };

    fn gte_min(&self, s: f64) -> bool {
        if self.min_ex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    fn lte_max(&self, s: f64) -> bool {
        if self.max_ex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }
}

/// One end of a lex range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    Lowest,
    /// `+`: above every member.
    Highest,
    /// `[m`: m included.
    Incl(Vec<u8>),
    /// `(m`: m excluded.
    Excl(Vec<u8>),
}

impl LexBound {
    /// `-`, `+`, `[m`, `(m` as Redis's `zslParseLexRangeItem` (the C string
    /// `-`/`+` ends at a NUL byte, so `+\0...` is still `+`).
    fn parse(s: &[u8]) -> Option<LexBound> {
        let alone = s.len() == 1 || s.get(1) == Some(&0);
        match s.first()? {
            b'+' if alone => Some(LexBound::Highest),
            b'-' if alone => Some(LexBound::Lowest),
            b'(' => Some(LexBound::Excl(s[1..].to_vec())),
            b'[' => Some(LexBound::Incl(s[1..].to_vec())),
            _ => None,
        }
    }

    fn member(&self) -> Option<&[u8]> {
        match self {
            LexBound::Incl(m) | LexBound::Excl(m) => Some(m),
            LexBound::Lowest | LexBound::Highest => None,
        }
    }
}

/// A lex interval, as ZRANGEBYLEX takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower bound.
    pub min: LexBound,
    /// Upper bound.
    pub max: LexBound,
}

impl LexRange {
    /// Parses `min` and `max`; None is Redis's "not valid string range item".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        Some(LexRange { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
    }

    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Lowest => true,
            LexBound::Highest => false,
            LexBound::Incl(b) => m >= b.as_slice(),
            LexBound::Excl(b) => m > b.as_slice(),
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Lowest => false,
            LexBound::Highest => true,
            LexBound::Incl(b) => m <= b.as_slice(),
            LexBound::Excl(b) => m < b.as_slice(),
        }
    }

    /// Redis's `sdscmplex(min, max) > 0`, or `== 0` with an exclusive end.
    fn is_empty(&self) -> bool {
        use std::cmp::Ordering::*;
        let exclusive = matches!(self.min, LexBound::Excl(_) | LexBound::Lowest | LexBound::Highest)
            || matches!(self.max, LexBound::Excl(_) | LexBound::Lowest | LexBound::Highest);
        let cmp = match (&self.min, &self.max) {
            (LexBound::Lowest, LexBound::Lowest) | (LexBound::Highest, LexBound::Highest) => Equal,
            (LexBound::Lowest, _) | (_, LexBound::Highest) => Less,
            (LexBound::Highest, _) | (_, LexBound::Lowest) => Greater,
            (a, b) => a.member().cmp(&b.member()),
        };
        cmp == Greater || (cmp == Equal && exclusive)
    }
}

/// A score bound of ZRANGEBYSCORE and friends.
fn parse_score_bound(s: &[u8]) -> Option<(f64, bool)> {
    let (body, ex) = match s.first() {
        Some(b'(') => (&s[1..], true),
        _ => (s, false),
    };
    // strtod stops at a NUL (the C string ends there) and skips leading spaces.
    let body = &body[..body.iter().position(|&b| b == 0).unwrap_or(body.len())];
    let start = body.iter().position(|b| !b" \t\n\x0b\x0c\r".contains(b)).unwrap_or(body.len());
    let body = &body[start..];
    let v = if body.is_empty() { 0.0 } else { crate::util::strtod(body)? };
    Some((norm(v), ex))
}

/// Parses a score the way Redis's `getDoubleFromObject` does (ZADD, ZINCRBY,
/// WEIGHTS): the whole argument, no spaces, no NaN, and — unlike a plain
/// `strtod` — no overflow to ±inf or underflow to 0 (`1e400`, `1e-400`).
pub fn parse_score(s: &[u8]) -> Option<f64> {
    // Fast path: a sign and at most 15 decimal digits (leading zeros too, as
    // redis-benchmark's `__rand_int__` sends them) is below 2^53, so strtod
    // gives exactly that integer, `-0` included (the general parser
    // allocates twice and was a fifth of ZADD's own instructions).
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let v = digits.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')) as f64;
        return Some(if neg { -v } else { v });
    }
    crate::util::parse_f64(s)
}

/// `-0` stored as `0`, like Redis's listpack encoding (see the module header).
fn norm(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// The next double above `x` in score order (`x` finite or -inf, never -0).
fn next_up(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        return f64::MIN;
    }
    let bits = x.to_bits();
    if x == 0.0 {
        f64::from_bits(1)
    } else if x > 0.0 {
        f64::from_bits(bits + 1)
    } else {
        f64::from_bits(bits - 1)
    }
}

fn corrupt(key: &[u8]) -> CmdError {
    CmdError::storage(Error::Corrupt { cf: "data", key: key.to_vec() })
}

/// A `data` value back into a score.
fn decode_value(v: &[u8], k: &[u8]) -> Result<f64, CmdError> {
    let b: [u8; 8] = v.try_into().map_err(|_| corrupt(k))?;
    Ok(f64::from_bits(u64::from_be_bytes(b)))
}

/// The live sorted set at `key`: None if absent, WRONGTYPE if another type.
pub fn get(tx: &mut Tx, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    tx.meta(key)?.of_type(Type::ZSet)
}

/// The score of `member`, if it is in the sorted set `m` at `key`.
pub fn score(tx: &Tx, key: &[u8], m: &Meta, member: &[u8]) -> Result<Option<f64>, CmdError> {
    let k = keys::data(tx.db, key, m.version(), member);
    tx.store().member_with(&k, |v| v.map(|v| decode_value(v, &k)).transpose())?
}

/// Walks the score order of `m` from `from` (a `zscore` key to seek to; None =
/// from the end where `dir` starts), calling `f(member, score)` until it
/// returns false.
fn walk(
    tx: &Tx,
    key: &[u8],
    m: &Meta,
    from: Option<&[u8]>,
    dir: Dir,
    mut f: impl FnMut(&[u8], f64) -> bool,
) -> Result<(), CmdError> {
    let prefix = keys::data_prefix(tx.db, key, m.version());
    let n = prefix.len();
    let mut bad = None;
    tx.store().iter_prefix(Cf::Zscore, &prefix, from, dir == Dir::Reverse, |k, _| {
        let Some(enc) = k.get(n..n + 8) else {
            bad = Some(k.to_vec());
            return false;
        };
        let score = keys::decode_score(enc.try_into().expect("invariant: 8-byte slice"));
        f(&k[n + 8..], score)
    })?;
    match bad {
        Some(k) => Err(CmdError::storage(Error::Corrupt { cf: "zscore", key: k })),
        None => Ok(()),
    }
}

/// The first member (and score) from `dir`'s end.
fn first(tx: &Tx, key: &[u8], m: &Meta, dir: Dir) -> Result<Option<Scored>, CmdError> {
    let mut found = None;
    walk(tx, key, m, None, dir, |member, s| {
        found = Some((member.to_vec(), s));
        false
    })?;
    Ok(found)
}

/// Redis's range loop, shared by score and lex ranges: skip to the first
/// member that `reached` the start bound; it must be `inside` the end bound;
/// then skip `offset` members without looking at them (as Redis does), and
/// emit while `inside`, at most `count`.
struct RangeLoop<F> {
    started: bool,
    skip: i64,
    left: i64,
    emit: F,
}

impl<F: FnMut(&[u8], f64)> RangeLoop<F> {
    fn new(lim: Limit, emit: F) -> Self {
        RangeLoop { started: false, skip: lim.offset, left: lim.count, emit }
    }

    /// One member; false stops the walk.
    fn step(&mut self, member: &[u8], score: f64, reached: bool, inside: impl Fn() -> bool) -> bool {
        if !self.started {
            if !reached {
                return true;
            }
            if !inside() {
                return false;
            }
            self.started = true;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return true;
        }
        if !inside() {
            return false;
        }
        (self.emit)(member, score);
        if self.left > 0 {
            self.left -= 1;
            return self.left > 0;
        }
        true
    }

    /// Walks from `from` (a `zscore` key; None = `dir`'s end) in `dir`,
    /// stepping through the members with `r`'s bounds: the one walk of
    /// ZRANGEBYSCORE and ZRANGEBYLEX.
    fn run(
        mut self,
        tx: &Tx,
        key: &[u8],
        m: &Meta,
        from: Option<&[u8]>,
        dir: Dir,
        r: &impl Bounds,
    ) -> Result<(), CmdError> {
        walk(tx, key, m, from, dir, |member, s| match dir {
            Dir::Forward => self.step(member, s, r.above_min(member, s), || r.below_max(member, s)),
            Dir::Reverse => self.step(member, s, r.below_max(member, s), || r.above_min(member, s)),
        })
    }
}

/// A score or lex range's bounds, as the range loop tests a member.
trait Bounds {
    /// At or past the min bound.
    fn above_min(&self, member: &[u8], score: f64) -> bool;
    /// At or before the max bound.
    fn below_max(&self, member: &[u8], score: f64) -> bool;
}

impl Bounds for ScoreRange {
    fn above_min(&self, _: &[u8], score: f64) -> bool {
        self.gte_min(score)
    }
    fn below_max(&self, _: &[u8], score: f64) -> bool {
        self.lte_max(score)
    }
}

impl Bounds for LexRange {
    fn above_min(&self, member: &[u8], _: f64) -> bool {
        self.gte_min(member)
    }
    fn below_max(&self, member: &[u8], _: f64) -> bool {
        self.lte_max(member)
    }
}

/// Members with scores in `r`, in `dir` order, after `lim`; each is given to
/// `f`. A bounded iteration: it seeks to the start bound and stops at the end.
pub fn range_by_score(
    tx: &Tx,
    key: &[u8],
    m: &Meta,
    r: &ScoreRange,
    dir: Dir,
    lim: Limit,
    f: impl FnMut(&[u8], f64),
) -> Result<(), CmdError> {
    if r.is_empty() || lim.offset < 0 || lim.count == 0 {
        return Ok(());
    }
    let at = |score: f64| keys::zscore(tx.db, key, m.version(), score, b"");
    // Seek keys: the smallest key of a score is `prefix | score | ""`.
    let from = match dir {
        Dir::Forward if r.min == f64::NEG_INFINITY && !r.min_ex => None,
        Dir::Forward if r.min_ex => Some(at(next_up(r.min))),
        Dir::Forward => Some(at(r.min)),
        Dir::Reverse if r.max == f64::INFINITY && !r.max_ex => None,
        Dir::Reverse if r.max_ex => Some(at(r.max)),
        Dir::Reverse => Some(at(next_up(r.max))),
    };
    RangeLoop::new(lim, f).run(tx, key, m, from.as_deref(), dir, r)
}

/// Members in the lex range `r`, in `dir` order, after `lim`. Redis defines
/// BYLEX for members of equal scores; then the order is member order and the
/// walk seeks straight to the bound. With mixed scores it walks the score
/// order and applies Redis's listpack rules (first/last checks, then the first
/// member past the start bound), so replies match Redis's small sorted sets.
pub fn range_by_lex(
    tx: &Tx,
    key: &[u8],
    m: &Meta,
    r: &LexRange,
    dir: Dir,
    lim: Limit,
    f: impl FnMut(&[u8], f64),
) -> Result<(), CmdError> {
    if r.is_empty() || lim.offset < 0 || lim.count == 0 {
        return Ok(());
    }
    let (Some(lo), Some(hi)) = (first(tx, key, m, Dir::Forward)?, first(tx, key, m, Dir::Reverse)?) else {
        return Ok(());
    };
    if !r.gte_min(&hi.0) || !r.lte_max(&lo.0) {
        return Ok(());
    }
    let bound = match dir {
        Dir::Forward => r.min.member(),
        Dir::Reverse => r.max.member(),
    };
    // All scores equal: `prefix | score | bound` is where the range starts
    // (reverse: the last key at or below it).
    let from = bound.filter(|_| lo.1 == hi.1).map(|b| keys::zscore(tx.db, key, m.version(), lo.1, b));
    RangeLoop::new(lim, f).run(tx, key, m, from.as_deref(), dir, r)
}

/// Redis's rank sanitizing: negative indexes count from the end; None if the
/// range is empty. Returns inclusive `(start, end)` within `0..len`.
pub fn clamp_ranks(len: u64, start: i64, end: i64) -> Option<(u64, u64)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as u64, end.min(len - 1) as u64))
}

/// Members at ranks `start..=end` counted from `dir`'s end, in `dir` order.
/// Walks from whichever end of the sorted set is nearer (ZRANGE -10 -1 on a
/// million members reads ten), so the cost is O(distance + count).
pub fn range_by_rank(tx: &Tx, key: &[u8], m: &Meta, start: u64, end: u64, dir: Dir) -> Result<Vec<Scored>, CmdError> {
    let len = m.len();
    let want = (end - start + 1) as usize;
    let (mut walk_dir, mut skip) = if end < len - start { (dir, start) } else { (dir.flip(), len - 1 - end) };
    let mut from = None;
    if skip >= RANK_SEEK_AFTER {
        // Deep inside a big set: the rank index gives a key near the start
        // (in forward order), and the walk goes forward from there.
        let fwd_start = if dir == Dir::Forward { start } else { len - 1 - end };
        if let Some((k, n)) = tx.store().zset_seek_rank(tx.db, key, m.version(), len, fwd_start)? {
            (walk_dir, skip, from) = (Dir::Forward, n, Some(k));
        }
    }
    let mut out = Vec::with_capacity(want.min(1 << 16));
    walk(tx, key, m, from.as_deref(), walk_dir, |member, s| {
        if skip > 0 {
            skip -= 1;
            return true;
        }
        out.push((member.to_vec(), s));
        out.len() < want
    })?;
    if walk_dir != dir {
        out.reverse();
    }
    Ok(out)
}

/// Members a rank search counts on one side before switching to the other.
const RANK_BATCH: u64 = 1024;

/// A rank range skipping at least this many members from its nearer end
/// asks the rank index where to start instead of walking there.
const RANK_SEEK_AFTER: u64 = 512;

/// The rank of `member` counted from `dir`'s end, and its score. A big
/// sorted set answers from its rank index (`storage/rank.rs`). Otherwise the
/// rank is counted by walking, in turn a batch at a time, from the first
/// member up to `member` and from `member` to the last: whichever side ends
/// first gives the rank, so the cost is about twice the distance to the
/// nearer end. Both walks go forward: RocksDB steps backwards through a
/// memtable in O(log n) per entry, which made a backward count several
/// times slower.
pub fn rank(tx: &Tx, key: &[u8], m: &Meta, member: &[u8], dir: Dir) -> Result<Option<(u64, f64)>, CmdError> {
    let Some(s) = score(tx, key, m, member)? else {
        return Ok(None);
    };
    let len = m.len();
    let oriented = |forward: u64| if dir == Dir::Forward { forward } else { len - 1 - forward };
    let zkey = keys::zscore(tx.db, key, m.version(), s, member);
    if let Some(fwd) = tx.store().zset_rank(tx.db, key, m.version(), len, &zkey)? {
        return Ok(Some((oriented(fwd), s)));
    }
    let (mut before, mut head) = (0u64, None);
    let (mut after, mut tail) = (0u64, Some(zkey));
    loop {
        let (n, next, found) = count_batch(tx, key, m, head.as_deref(), Some(member))?;
        before += n;
        if found {
            return Ok(Some((oriented(before), s)));
        }
        if next.is_none() {
            // The end of the order without the member: records out of step.
            return Ok(None);
        }
        head = next;
        let (n, next, _) = count_batch(tx, key, m, tail.as_deref(), None)?;
        after += n;
        match next {
            None => return Ok(Some((oriented(len.saturating_sub(after + 1)), s))),
            Some(k) => tail = Some(k),
        }
    }
}

/// Counts up to [`RANK_BATCH`] members forward from the `zscore` key `from`
/// (exclusive; from the first member when None), stopping before `stop`.
/// Returns the count, the key to resume from (None at the end or at `stop`)
/// and whether `stop` was reached.
fn count_batch(
    tx: &Tx,
    key: &[u8],
    m: &Meta,
    from: Option<&[u8]>,
    stop: Option<&[u8]>,
) -> Result<(u64, Option<Vec<u8>>, bool), CmdError> {
    let (mut n, mut found, mut resume, mut skip) = (0u64, false, None, from.is_some());
    walk(tx, key, m, from, Dir::Forward, |mb, sc| {
        if std::mem::take(&mut skip) {
            return true;
        }
        if stop == Some(mb) {
            found = true;
            return false;
        }
        n += 1;
        if n == RANK_BATCH {
            resume = Some(keys::zscore(tx.db, key, m.version(), sc, mb));
            return false;
        }
        true
    })?;
    Ok((n, resume, found))
}

/// Past this many members written by one [`Edit`], a hash map replaces the
/// linear search of [`Touched`].
const TOUCHED_LIST: usize = 16;

/// The members an [`Edit`] has written, with their new scores (`None` =
/// removed). Most commands touch one member or a few: a short list searched
/// linearly costs one allocation and no hashing, where a map allocated its
/// table on every single-member ZADD.
#[derive(Default)]
struct Touched {
    list: Vec<(Vec<u8>, Option<f64>)>,
    map: HashMap<Vec<u8>, Option<f64>>,
}

impl Touched {
    /// `Some(score-or-removed)` if `member` was written.
    fn get(&self, member: &[u8]) -> Option<Option<f64>> {
        if self.map.is_empty() {
            self.list.iter().find(|(m, _)| m == member).map(|&(_, s)| s)
        } else {
            self.map.get(member).copied()
        }
    }

    fn set(&mut self, member: &[u8], score: Option<f64>) {
        if self.map.is_empty() {
            if let Some(e) = self.list.iter_mut().find(|(m, _)| m == member) {
                e.1 = score;
                return;
            }
            if self.list.len() < TOUCHED_LIST {
                self.list.push((member.to_vec(), score));
                return;
            }
            self.map.extend(self.list.drain(..));
        }
        self.map.insert(member.to_vec(), score);
    }
}

/// Changes to one sorted set within a command: every write to a sorted set
/// goes through here, so the `data` and `zscore` records stay in step, the
/// size in `meta` follows, and a member written earlier in the same command
/// is seen by later lookups (store reads do not see pending writes).
pub struct Edit<'k> {
    key: &'k [u8],
    before: Option<Meta>,
    version: Option<u64>,
    len: u64,
    touched: Touched,
}

impl<'k> Edit<'k> {
    /// Starts editing `key` (WRONGTYPE if it holds another type).
    pub fn open(tx: &mut Tx, key: &'k [u8]) -> Result<Edit<'k>, CmdError> {
        let before = get(tx, key)?;
        Ok(Edit {
            key,
            version: before.as_ref().map(Meta::version),
            len: before.as_ref().map_or(0, Meta::len),
            before,
            touched: Touched::default(),
        })
    }

    /// The record as it was when the edit started.
    pub fn before(&self) -> Option<&Meta> {
        self.before.as_ref()
    }

    /// The current score of `member`, this command's changes included.
    pub fn score(&self, tx: &Tx, member: &[u8]) -> Result<Option<f64>, CmdError> {
        if let Some(s) = self.touched.get(member) {
            return Ok(s);
        }
        match &self.before {
            Some(m) => score(tx, self.key, m, member),
            None => Ok(None),
        }
    }

    /// Sets `member`'s score to `new`; `old` is its current score, if any.
    pub fn set(&mut self, tx: &mut Tx, member: &[u8], old: Option<f64>, new: f64) -> Result<(), CmdError> {
        let new = norm(new);
        let v = match self.version {
            Some(v) => v,
            None => *self.version.insert(tx.new_version()?),
        };
        match old {
            Some(o) => tx.delete(Cf::Zscore, keys::zscore(tx.db, self.key, v, o, member)),
            None => self.len += 1,
        }
        tx.put(Cf::Data, keys::data(tx.db, self.key, v, member), new.to_bits().to_be_bytes().to_vec());
        tx.put(Cf::Zscore, keys::zscore(tx.db, self.key, v, new, member), Vec::new());
        self.touched.set(member, Some(new));
        Ok(())
    }

    /// Removes `member`, whose current score is `old`.
    pub fn remove(&mut self, tx: &mut Tx, member: &[u8], old: f64) {
        let Some(v) = self.version else { return };
        tx.delete(Cf::Data, keys::data(tx.db, self.key, v, member));
        tx.delete(Cf::Zscore, keys::zscore(tx.db, self.key, v, old, member));
        self.len -= 1;
        self.touched.set(member, None);
    }

    /// Writes the new size to `meta` (keeping the expiry), or deletes the key
    /// when the sorted set is empty.
    pub fn finish(self, tx: &mut Tx) -> Result<(), CmdError> {
        let before_len = self.before.as_ref().map(Meta::len);
        if before_len == Some(self.len) {
            return Ok(());
        }
        match (self.len, self.version) {
            (0, _) | (_, None) => {
                if self.before.is_some() {
                    tx.del_meta(self.key)?;
                }
            }
            (len, Some(v)) => {
                let expire = self.before.as_ref().map_or(0, Meta::expire_ms);
                tx.put_meta(self.key, Meta::collection(Type::ZSet, v, len, expire, &[]))?;
            }
        }
        Ok(())
    }
}

/// ZADD / ZINCRBY for one member, with Redis's `zsetAdd` rules: NX/XX decide
/// on existence, INCR adds to the current score (NaN is an error), GT/LT
/// compare the resulting score with the current one.
pub fn add(tx: &mut Tx, e: &mut Edit, member: &[u8], score: f64, how: AddHow) -> Result<Added, CmdError> {
    if score.is_nan() {
        return Err(NAN_SCORE);
    }
    match e.score(tx, member)? {
        Some(cur) => {
            if how.cond == Cond::IfMissing {
                return Ok(Added::Skipped);
            }
            let score = match how.op {
                Op::Incr => score + cur,
                Op::Set => score,
            };
            if score.is_nan() {
                return Err(NAN_SCORE);
            }
            let refused = match how.cmp {
                Cmp::Any => false,
                Cmp::Greater => score <= cur,
                Cmp::Less => score >= cur,
            };
            if refused {
                return Ok(Added::Skipped);
            }
            if score == cur {
                return Ok(Added::Same(score));
            }
            e.set(tx, member, Some(cur), score)?;
            Ok(Added::Updated(score))
        }
        None if how.cond == Cond::IfExists => Ok(Added::Skipped),
        None => {
            e.set(tx, member, None, score)?;
            Ok(Added::New(score))
        }
    }
}

/// ZREM: removes each listed member; returns how many were there (a member
/// listed twice counts once).
pub fn remove<'a>(tx: &mut Tx, key: &[u8], members: impl Iterator<Item = &'a [u8]>) -> Result<u64, CmdError> {
    let mut e = Edit::open(tx, key)?;
    if e.before().is_none() {
        return Ok(0);
    }
    let mut n = 0;
    for member in members {
        if let Some(s) = e.score(tx, member)? {
            e.remove(tx, member, s);
            n += 1;
        }
    }
    e.finish(tx)?;
    Ok(n)
}

/// Removes the given members (distinct, with their current scores) from the
/// existing sorted set at `key`: ZREMRANGEBY*, pops.
fn remove_all(tx: &mut Tx, key: &[u8], items: &[Scored]) -> Result<(), CmdError> {
    let mut e = Edit::open(tx, key)?;
    for (member, s) in items {
        e.remove(tx, member, *s);
    }
    e.finish(tx)
}

/// What a ZREMRANGEBY* command removes.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    /// Ranks, already clamped (`clamp_ranks`).
    Rank(u64, u64),
    /// Scores.
    Score(ScoreRange),
    /// Members (lex order).
    Lex(LexRange),
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX on the sorted set `m`
/// at `key`: returns the number removed.
pub fn remove_span(tx: &mut Tx, key: &[u8], m: &Meta, span: &Span) -> Result<u64, CmdError> {
    let mut items = Vec::new();
    let push = |member: &[u8], s: f64| items.push((member.to_vec(), s));
    match span {
        Span::Rank(a, b) => items = range_by_rank(tx, key, m, *a, *b, Dir::Forward)?,
        Span::Score(r) => range_by_score(tx, key, m, r, Dir::Forward, Limit::ALL, push)?,
        Span::Lex(r) => range_by_lex(tx, key, m, r, Dir::Forward, Limit::ALL, push)?,
    }
    remove_all(tx, key, &items)?;
    Ok(items.len() as u64)
}

/// Members popped by [`pop`], and the key they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Popped {
    /// The key popped from.
    pub key: Vec<u8>,
    /// Members and scores, in pop order.
    pub items: Vec<Scored>,
}

/// ZPOPMIN / ZPOPMAX / ZMPOP (and the core of their blocking variants): the
/// first of `keys` that exists must be a sorted set (else WRONGTYPE); up to
/// `count` members are popped from its `end`. None if no key exists; a
/// count of 0 pops nothing from an existing key.
pub fn pop(tx: &mut Tx, keys: &[&[u8]], end: End, count: u64) -> Result<Option<Popped>, CmdError> {
    for &key in keys {
        let Some(m) = get(tx, key)? else { continue };
        let mut items = Vec::new();
        if count > 0 {
            let n = count.min(m.len());
            walk(tx, key, &m, None, end.into(), |member, s| {
                items.push((member.to_vec(), s));
                (items.len() as u64) < n
            })?;
            remove_all(tx, key, &items)?;
        }
        return Ok(Some(Popped { key: key.to_vec(), items }));
    }
    Ok(None)
}

/// Stores `items` (distinct members) as the sorted set `dst`, replacing
/// whatever `dst` held (any type; the TTL goes too), or deleting `dst` when
/// `items` is empty (ZUNIONSTORE, ZRANGESTORE... of nothing). Returns the size.
pub fn store(tx: &mut Tx, dst: &[u8], items: &[Scored]) -> Result<u64, CmdError> {
    if items.is_empty() {
        if tx.meta(dst)?.is_some() {
            tx.del_meta(dst)?;
        }
        return Ok(0);
    }
    let v = tx.new_version()?;
    for (member, s) in items {
        let s = norm(*s);
        tx.put(Cf::Data, keys::data(tx.db, dst, v, member), s.to_bits().to_be_bytes().to_vec());
        tx.put(Cf::Zscore, keys::zscore(tx.db, dst, v, s, member), Vec::new());
    }
    let len = items.len() as u64;
    tx.put_meta(dst, Meta::collection(Type::ZSet, v, len, 0, &[]))?;
    Ok(len)
}

/// A source of ZUNION / ZINTER / ZDIFF: a sorted set, or a set (every member
/// scoring 1, as in Redis), with its weight.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// Its key.
    pub key: &'a [u8],
    /// Its record (None: absent, an empty source).
    pub meta: Option<Meta>,
    /// WEIGHTS factor (1 by default).
    pub weight: f64,
}

impl Source<'_> {
    fn len(&self) -> u64 {
        self.meta.as_ref().map_or(0, Meta::len)
    }

    /// Every member with its (unweighted) score.
    fn each(&self, tx: &Tx, mut f: impl FnMut(&[u8], f64) -> bool) -> Result<(), CmdError> {
        let Some(m) = &self.meta else { return Ok(()) };
        let prefix = keys::data_prefix(tx.db, self.key, m.version());
        let n = prefix.len();
        let is_set = m.ty() == Type::Set;
        let mut bad = None;
        tx.store().iter_prefix(Cf::Data, &prefix, None, false, |k, v| {
            let s = if is_set {
                1.0
            } else {
                match decode_value(v, k) {
                    Ok(s) => s,
                    Err(e) => {
                        bad = Some(e);
                        return false;
                    }
                }
            };
            f(&k[n..], s)
        })?;
        bad.map_or(Ok(()), Err)
    }

    /// The (unweighted) score of `member` here, if it is a member.
    fn find(&self, tx: &Tx, member: &[u8]) -> Result<Option<f64>, CmdError> {
        match &self.meta {
            None => Ok(None),
            Some(m) if m.ty() == Type::Set => {
                Ok(tx.store().has_member(&keys::data(tx.db, self.key, m.version(), member))?.then_some(1.0))
            }
            Some(m) => score(tx, self.key, m, member),
        }
    }
}

/// The record of a ZUNION/ZINTER/ZDIFF source: a sorted set or a set.
pub fn source_meta(tx: &mut Tx, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    match tx.meta(key)? {
        Some(m) if m.ty() != Type::ZSet && m.ty() != Type::Set => Err(CmdError::WrongType),
        m => Ok(m),
    }
}

/// Redis's `zunionInterAggregate`: `inf + -inf` sums to 0; MIN/MAX keep the
/// current value when the new one is NaN (0 * inf).
fn aggregate(acc: &mut f64, v: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *acc += v;
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *acc {
                *acc = v
            }
        }
        Aggregate::Max => {
            if v > *acc {
                *acc = v
            }
        }
    }
}

/// A weighted score; `0 * inf` is 0, as in Redis.
fn weighted(s: f64, w: f64) -> f64 {
    let v = s * w;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// ZUNION / ZINTER / ZDIFF over `srcs`: the result in Redis's order (score,
/// then member). Union and intersection take the sources smallest first, as
/// Redis does (it decides the order in which scores are summed); the
/// intersection walks the smallest source and looks members up in the others.
pub fn combine(tx: &Tx, srcs: &mut [Source], op: SetOp, agg: Aggregate) -> Result<Vec<Scored>, CmdError> {
    if op != SetOp::Diff {
        srcs.sort_by_key(Source::len);
    }
    let mut out: Vec<Scored> = Vec::new();
    match op {
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            for src in srcs.iter() {
                src.each(tx, |member, s| {
                    let v = weighted(s, src.weight);
                    match acc.get_mut(member) {
                        Some(a) => aggregate(a, v, agg),
                        None => {
                            acc.insert(member.to_vec(), v);
                        }
                    }
                    true
                })?;
            }
            out = acc.into_iter().collect();
        }
        SetOp::Inter => {
            inter(tx, srcs, agg, |member, s| {
                out.push((member.to_vec(), s));
                true
            })?;
        }
        SetOp::Diff => {
            let (first, rest) = srcs.split_first().expect("invariant: at least one source");
            let mut err = None;
            first.each(tx, |member, s| {
                for other in rest {
                    match other.find(tx, member) {
                        Ok(None) => {}
                        Ok(Some(_)) => return true,
                        Err(e) => {
                            err = Some(e);
                            return false;
                        }
                    }
                }
                out.push((member.to_vec(), s));
                true
            })?;
            if let Some(e) = err {
                return Err(e);
            }
        }
    }
    sort(&mut out);
    Ok(out)
}

/// Redis's order: by score (`-0 == 0`), then by member bytes.
fn sort(items: &mut [Scored]) {
    items.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
}

/// The intersection of `srcs` (sorted smallest first), each member with its
/// aggregated score given to `f` until it returns false.
fn inter(tx: &Tx, srcs: &[Source], agg: Aggregate, mut f: impl FnMut(&[u8], f64) -> bool) -> Result<(), CmdError> {
    let Some((first, rest)) = srcs.split_first() else { return Ok(()) };
    if first.len() == 0 {
        return Ok(());
    }
    let mut err = None;
    first.each(tx, |member, s| {
        let mut acc = weighted(s, first.weight);
        for other in rest {
            match other.find(tx, member) {
                Ok(Some(v)) => aggregate(&mut acc, v * other.weight, agg),
                Ok(None) => return true,
                Err(e) => {
                    err = Some(e);
                    return false;
                }
            }
        }
        f(member, acc)
    })?;
    err.map_or(Ok(()), Err)
}

/// ZINTERCARD: the size of the intersection, counting stopped at `limit`
/// (0 = no limit).
pub fn inter_card(tx: &Tx, srcs: &mut [Source], limit: u64) -> Result<u64, CmdError> {
    srcs.sort_by_key(Source::len);
    let mut n = 0u64;
    inter(tx, srcs, Aggregate::Sum, |_, _| {
        n += 1;
        limit == 0 || n < limit
    })?;
    Ok(n)
}

/// ZRANDMEMBER: random members per `pick`. A distinct count covering the
/// whole set returns it in Redis's order (highest score first: its
/// iterator walks from the tail); otherwise the draw is the collections'
/// shared sampler (`types::members::random`): uniform ranks of the score
/// order through the rank index, which never reads a big set whole, each
/// member with its score.
pub fn random(tx: &Tx, key: &[u8], m: &Meta, pick: Pick) -> Result<Vec<Scored>, CmdError> {
    if let Pick::Distinct(n) = pick {
        if n >= m.len() {
            let mut out = Vec::with_capacity(m.len() as usize);
            walk(tx, key, m, None, Dir::Reverse, |member, s| {
                out.push((member.to_vec(), s));
                true
            })?;
            return Ok(out);
        }
    }
    members::random(tx, key, m, pick)?
        .into_iter()
        .map(|(member, v)| {
            let s = decode_value(&v, &keys::data(tx.db, key, m.version(), &member))?;
            Ok((member, s))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bounds_follow_strtod() {
        assert_eq!(parse_score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b" 2"), Some((2.0, false)));
        assert_eq!(parse_score_bound(b"2 "), None);
        assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_score_bound(b"nan"), None);
        assert_eq!(parse_score_bound(b"(x"), None);
        let (z, _) = parse_score_bound(b"-0").unwrap();
        assert!(z == 0.0 && z.is_sign_positive());
    }

    #[test]
    fn integer_scores_parse_like_the_general_parser() {
        for s in [
            "0",
            "-0",
            "+0",
            "7",
            "-7",
            "007",
            "+7",
            "99999",
            "-123456789012345",
            "999999999999999",
            "9999999999999999",
            "000000012345",
            "-000000000000001",
            "0000000000000001",
            "-",
            "+",
            "",
            "+-1",
            "1-",
            "1 ",
            "١",
        ] {
            let (fast, slow) = (parse_score(s.as_bytes()), crate::util::parse_f64(s.as_bytes()));
            assert_eq!(fast.map(f64::to_bits), slow.map(f64::to_bits), "{s}");
        }
    }

    #[test]
    fn strict_scores_refuse_overflow() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"0"), Some(0.0));
        assert_eq!(parse_score(b"0e10"), Some(0.0));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b" 1"), None);
    }

    #[test]
    fn lex_ranges() {
        let r = LexRange::parse(b"[b", b"(d").unwrap();
        assert!(r.gte_min(b"b") && !r.gte_min(b"a") && r.lte_max(b"c") && !r.lte_max(b"d"));
        assert!(!r.is_empty());
        assert!(LexRange::parse(b"-", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"+", b"-").unwrap().is_empty());
        assert!(!LexRange::parse(b"-", b"+").unwrap().is_empty());
        assert!(LexRange::parse(b"[a", b"(a").unwrap().is_empty());
        assert!(!LexRange::parse(b"[a", b"[a").unwrap().is_empty());
        assert!(LexRange::parse(b"a", b"+").is_none());
        assert!(LexRange::parse(b"", b"+").is_none());
        assert!(LexRange::parse(b"+x", b"+").is_none());
        assert_eq!(LexBound::parse(b"[").unwrap(), LexBound::Incl(Vec::new()));
    }

    #[test]
    fn ranks_clamp_like_redis() {
        assert_eq!(clamp_ranks(10, 0, -1), Some((0, 9)));
        assert_eq!(clamp_ranks(10, -3, -1), Some((7, 9)));
        assert_eq!(clamp_ranks(10, -100, 100), Some((0, 9)));
        assert_eq!(clamp_ranks(10, 5, 2), None);
        assert_eq!(clamp_ranks(10, 10, 20), None);
        assert_eq!(clamp_ranks(0, 0, -1), None);
    }

    #[test]
    fn next_up_is_the_next_double() {
        assert_eq!(next_up(0.0), f64::from_bits(1));
        assert!(next_up(1.0) > 1.0 && next_up(-1.0) > -1.0);
        assert_eq!(next_up(f64::NEG_INFINITY), f64::MIN);
        assert!(keys::encode_score(next_up(-f64::from_bits(1))) <= keys::encode_score(0.0));
    }

    #[test]
    fn aggregation_rules() {
        let mut a = f64::INFINITY;
        aggregate(&mut a, f64::NEG_INFINITY, Aggregate::Sum);
        assert_eq!(a, 0.0);
        assert_eq!(weighted(f64::INFINITY, 0.0), 0.0);
        let mut m = 1.0;
        aggregate(&mut m, f64::NAN, Aggregate::Min);
        assert_eq!(m, 1.0);
    }
}
