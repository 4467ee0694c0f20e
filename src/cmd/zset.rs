//! Sorted-set commands: ZADD/ZINCRBY, lookups, the ZRANGE family and its
//! STORE/REM variants, pops, ZRANDMEMBER, ZUNION/ZINTER/ZDIFF (+STORE,
//! ZINTERCARD) and ZSCAN.
//!
//! Handlers parse and validate every argument in Redis's order (it decides
//! which error a bad command gets: e.g. the ZRANGE family parses options,
//! then the range, then looks the key up; ZUNION reads its keys — WRONGTYPE —
//! before its options), call `types::zset` for the semantics, and write the
//! reply. Scored replies have one writer, [`reply_scored`], which knows
//! Redis's RESP2/RESP3 shapes. The blocking variants (BZPOPMIN, BZPOPMAX,
//! BZMPOP) reuse [`parse_mpop`], `types::zset::pop`, [`reply_popped`] and
//! [`reply_mpop`].

use super::members::{self, rand_count, ScanValue};
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::storage::Type;
use crate::types::members::Pick;
use crate::types::zset::{
    self, AddHow, Added, Aggregate, Cmp, Cond, Dir, Edit, End, LexRange, Limit, Op, Popped, ScoreRange, Scored, SetOp,
    Source, Span,
};

/// `ERR min or max is not a float`
const BAD_SCORE_RANGE: CmdError = CmdError::Err("min or max is not a float");
/// `ERR min or max not valid string range item`
const BAD_LEX_RANGE: CmdError = CmdError::Err("min or max not valid string range item");

/// How members and scores are laid out in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Members only.
    Members,
    /// WITHSCORES: RESP2 `[m, s, m, s]`, RESP3 `[[m, s], [m, s]]`.
    Pairs,
    /// `[m, s, ...]` in both protocols (ZPOPMIN without a count).
    Flat,
    /// `[[m, s], ...]` in both protocols (ZMPOP).
    Nested,
}

/// One member (and score) of a scored reply.
fn reply_item(out: &mut ReplyBuf, member: &[u8], score: f64, shape: Shape) {
    let nested = match shape {
        Shape::Members => {
            out.bulk(member);
            return;
        }
        Shape::Pairs => out.resp3,
        Shape::Flat => false,
        Shape::Nested => true,
    };
    if nested {
        out.array(2);
    }
    out.bulk(member);
    out.double(score);
}

/// The array header of `n` items of `shape`.
fn reply_header(out: &mut ReplyBuf, n: usize, shape: Shape) {
    let flat_pairs = match shape {
        Shape::Members | Shape::Nested => false,
        Shape::Pairs => !out.resp3,
        Shape::Flat => true,
    };
    out.array(if flat_pairs { 2 * n } else { n });
}

/// Writes `items` as one array in `shape`.
pub fn reply_scored(out: &mut ReplyBuf, items: &[Scored], shape: Shape) {
    reply_header(out, items.len(), shape);
    for (member, score) in items {
        reply_item(out, member, *score, shape);
    }
}

/// A score argument (ZADD, ZINCRBY): `ERR value is not a valid float`.
fn score_arg(a: &Args, i: usize) -> Result<f64, CmdError> {
    zset::parse_score(a.get(i)).ok_or(CmdError::NotFloat)
}

/// A count that must be a non-negative integer, with Redis's one message for
/// both failures (`getPositiveLongFromObjectOrReply`).
fn non_negative(a: &Args, i: usize, msg: &'static str) -> Result<u64, CmdError> {
    match a.i64(i) {
        Ok(n) if n >= 0 => Ok(n as u64),
        _ => Err(CmdError::Err(msg)),
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
/// O(M) point reads and writes for M pairs.
pub fn zadd(c: &mut Ctx, a: &Args) -> CmdResult {
    add_generic(c, a, Op::Set)
}

/// ZINCRBY key increment member
/// O(1) point reads and writes.
pub fn zincrby(c: &mut Ctx, a: &Args) -> CmdResult {
    add_generic(c, a, Op::Incr)
}

/// ZADD and ZINCRBY (Redis's `zaddGenericCommand`): options, then pair
/// count, option conflicts, every score, and only then the key.
fn add_generic(c: &mut Ctx, a: &Args, op: Op) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) = (false, false, false, false, false, op == Op::Incr);
    let mut i = 2;
    while i < a.len() {
        let flag = if a.is(i, "NX") {
            &mut nx
        } else if a.is(i, "XX") {
            &mut xx
        } else if a.is(i, "CH") {
            &mut ch
        } else if a.is(i, "INCR") {
            &mut incr
        } else if a.is(i, "GT") {
            &mut gt
        } else if a.is(i, "LT") {
            &mut lt
        } else {
            break;
        };
        *flag = true;
        i += 1;
    }
    let rest = a.len() - i;
    if rest == 0 || rest % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    let pairs = rest / 2;
    if nx && xx {
        return Err(CmdError::Err("XX and NX options at the same time are not compatible"));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(CmdError::Err("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if incr && pairs > 1 {
        return Err(CmdError::Err("INCR option supports a single increment-element pair"));
    }
    // Every score is checked before anything is written, as Redis does; the
    // first apart, so the usual single pair allocates nothing here.
    let first = score_arg(a, i)?;
    let rest = (1..pairs).map(|j| score_arg(a, i + 2 * j)).collect::<Result<Vec<_>, _>>()?;
    let how = AddHow {
        cond: if nx {
            Cond::IfMissing
        } else if xx {
            Cond::IfExists
        } else {
            Cond::Always
        },
        cmp: if gt {
            Cmp::Greater
        } else if lt {
            Cmp::Less
        } else {
            Cmp::Any
        },
        op: if incr { Op::Incr } else { Op::Set },
    };
    let mut e = Edit::open(&mut c.tx, a.get(1))?;
    let (mut added, mut updated, mut last) = (0, 0, None);
    for (j, score) in std::iter::once(first).chain(rest).enumerate() {
        match zset::add(&mut c.tx, &mut e, a.get(i + 2 * j + 1), score, how)? {
            Added::New(s) => (added, last) = (added + 1, Some(s)),
            Added::Updated(s) => (updated, last) = (updated + 1, Some(s)),
            Added::Same(s) => last = Some(s),
            Added::Skipped => {}
        }
    }
    e.finish(&mut c.tx)?;
    match (how.op, last) {
        (Op::Incr, Some(s)) => c.out.double(s),
        (Op::Incr, None) => c.out.null(),
        (Op::Set, _) => c.out.int(if ch { added + updated } else { added }),
    }
    Ok(())
}

/// ZREM key member [member ...]
/// O(M) point reads and writes.
pub fn zrem(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = zset::remove(&mut c.tx, a.get(1), a.iter_from(2))?;
    c.out.int(n as i64);
    Ok(())
}

/// ZCARD key
/// O(1): the size is in the meta record.
pub fn zcard(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = zset::get(&mut c.tx, a.get(1))?.map_or(0, |m| m.len());
    c.out.int(n as i64);
    Ok(())
}

/// ZSCORE key member
/// O(1): one point read.
pub fn zscore(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(1);
    let s = match zset::get(&mut c.tx, key)? {
        Some(m) => zset::score(&c.tx, key, &m, a.get(2))?,
        None => None,
    };
    match s {
        Some(s) => c.out.double(s),
        None => c.out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
/// O(M) point reads.
pub fn zmscore(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(1);
    let m = zset::get(&mut c.tx, key)?;
    c.out.array(a.len() - 2);
    for member in a.iter_from(2) {
        match m.as_ref().map(|m| zset::score(&c.tx, key, m, member)).transpose()?.flatten() {
            Some(s) => c.out.double(s),
            None => c.out.null(),
        }
    }
    Ok(())
}

/// ZCOUNT key min max
/// O(M) for M members in the range (the whole range is O(1)).
pub fn zcount(c: &mut Ctx, a: &Args) -> CmdResult {
    let r = ScoreRange::parse(a.get(2), a.get(3)).ok_or(BAD_SCORE_RANGE)?;
    let key = a.get(1);
    let mut n = 0i64;
    if let Some(m) = zset::get(&mut c.tx, key)? {
        if r == ScoreRange::ALL {
            n = m.len() as i64;
        } else {
            zset::range_by_score(&c.tx, key, &m, &r, Dir::Forward, Limit::ALL, |_, _| n += 1)?;
        }
    }
    c.out.int(n);
    Ok(())
}

/// ZLEXCOUNT key min max
/// O(M) for M members in the range.
pub fn zlexcount(c: &mut Ctx, a: &Args) -> CmdResult {
    let r = LexRange::parse(a.get(2), a.get(3)).ok_or(BAD_LEX_RANGE)?;
    let key = a.get(1);
    let mut n = 0i64;
    if let Some(m) = zset::get(&mut c.tx, key)? {
        zset::range_by_lex(&c.tx, key, &m, &r, Dir::Forward, Limit::ALL, |_, _| n += 1)?;
    }
    c.out.int(n);
    Ok(())
}

/// ZRANK key member [WITHSCORE]
/// Big sorted sets: O(N / 64) from the rank index plus a walk of at most a
/// few hundred members (the first query builds the index, O(N)); small
/// ones: O(rank), counted by walking. WITHSCORE is Redis 7.2's.
pub fn zrank(c: &mut Ctx, a: &Args) -> CmdResult {
    rank_generic(c, a, Dir::Forward)
}

/// ZREVRANK key member [WITHSCORE]
/// As ZRANK, counted from the top.
pub fn zrevrank(c: &mut Ctx, a: &Args) -> CmdResult {
    rank_generic(c, a, Dir::Reverse)
}

fn rank_generic(c: &mut Ctx, a: &Args, dir: Dir) -> CmdResult {
    if a.len() > 4 {
        return Err(CmdError::WrongArity(c.spec.name.into()));
    }
    let with_score = a.len() == 4;
    if with_score && !a.is(3, "WITHSCORE") {
        return Err(CmdError::Syntax);
    }
    let key = a.get(1);
    let found = match zset::get(&mut c.tx, key)? {
        Some(m) => zset::rank(&c.tx, key, &m, a.get(2), dir)?,
        None => None,
    };
    match (found, with_score) {
        (Some((r, _)), false) => c.out.int(r as i64),
        (Some((r, s)), true) => {
            c.out.array(2);
            c.out.int(r as i64);
            c.out.double(s);
        }
        (None, false) => c.out.null(),
        (None, true) => c.out.null_array(),
    }
    Ok(())
}

/// How a ZRANGE-family command reads its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// Where a ZRANGE-family result goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// Replied (ZRANGE...).
    Reply,
    /// Stored at argument 1 (ZRANGESTORE).
    Store,
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
/// O(log N + M): a bounded walk (rank ranges from the nearer end, or, deep
/// inside a big set, from the rank index's block holding the start).
pub fn zrange(c: &mut Ctx, a: &Args) -> CmdResult {
    range_generic(c, a, 1, Sink::Reply, None, None)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
/// O(log N + M).
pub fn zrangestore(c: &mut Ctx, a: &Args) -> CmdResult {
    range_generic(c, a, 2, Sink::Store, None, None)
}

/// ZREVRANGE key start stop [WITHSCORES]
/// O(log N + M).
pub fn zrevrange(c: &mut Ctx, a: &Args) -> CmdResult {
    range_generic(c, a, 1, Sink::Reply, Some(By::Rank), Some(Dir::Reverse))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
/// O(log N + M).
pub fn zrangebyscore(c: &mut Ctx, a: &Args) -> CmdResult {
    range_generic(c, a, 1, Sink::Reply, Some(By::Score), Some(Dir::Forward))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
/// O(log N + M).
pub fn zrevrangebyscore(c: &mut Ctx, a: &Args) -> CmdResult {
    range_generic(c, a, 1, Sink::Reply, Some(By::Score), Some(Dir::Reverse))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
/// O(log N + M) when all scores are equal (what BYLEX is for).
pub fn zrangebylex(c: &mut Ctx, a: &Args) -> CmdResult {
    range_generic(c, a, 1, Sink::Reply, Some(By::Lex), Some(Dir::Forward))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
/// O(log N + M) when all scores are equal.
pub fn zrevrangebylex(c: &mut Ctx, a: &Args) -> CmdResult {
    range_generic(c, a, 1, Sink::Reply, Some(By::Lex), Some(Dir::Reverse))
}

/// Redis's `zrangeGenericCommand`: `src` is the index of the source key;
/// `by`/`dir` are fixed by the legacy commands and chosen by options in
/// ZRANGE / ZRANGESTORE.
fn range_generic(c: &mut Ctx, a: &Args, src: usize, sink: Sink, by: Option<By>, dir: Option<Dir>) -> CmdResult {
    let (mut by, mut dir) = (by, dir);
    let mut with_scores = false;
    // Redis's "no LIMIT" is a count of -1, so `LIMIT 0 -1` passes for ranks.
    let mut lim = Limit::ALL;
    let mut j = src + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        if sink == Sink::Reply && a.is(j, "WITHSCORES") {
            with_scores = true;
        } else if a.is(j, "LIMIT") && left >= 2 {
            lim = Limit { offset: a.i64(j + 1)?, count: a.i64(j + 2)? };
            j += 2;
        } else if dir.is_none() && a.is(j, "REV") {
            dir = Some(Dir::Reverse);
        } else if by.is_none() && a.is(j, "BYLEX") {
            by = Some(By::Lex);
        } else if by.is_none() && a.is(j, "BYSCORE") {
            by = Some(By::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let dir = dir.unwrap_or(Dir::Forward);
    let by = by.unwrap_or(By::Rank);
    if lim.count != -1 && by == By::Rank {
        return Err(CmdError::Err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
    }
    if with_scores && by == By::Lex {
        return Err(CmdError::Err("syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    // Score and lex ranges are given as `max min` when reversed.
    let (lo, hi) = if dir == Dir::Reverse && by != By::Rank { (src + 2, src + 1) } else { (src + 1, src + 2) };
    enum Range {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let range = match by {
        By::Rank => Range::Rank(a.i64(lo)?, a.i64(hi)?),
        By::Score => Range::Score(ScoreRange::parse(a.get(lo), a.get(hi)).ok_or(BAD_SCORE_RANGE)?),
        By::Lex => Range::Lex(LexRange::parse(a.get(lo), a.get(hi)).ok_or(BAD_LEX_RANGE)?),
    };
    let key = a.get(src);
    let mut items: Vec<Scored> = Vec::new();
    if let Some(m) = zset::get(&mut c.tx, key)? {
        let push = |member: &[u8], s: f64| items.push((member.to_vec(), s));
        match range {
            Range::Rank(start, end) => {
                if let Some((s, e)) = zset::clamp_ranks(m.len(), start, end) {
                    items = zset::range_by_rank(&c.tx, key, &m, s, e, dir)?;
                }
            }
            Range::Score(r) => zset::range_by_score(&c.tx, key, &m, &r, dir, lim, push)?,
            Range::Lex(r) => zset::range_by_lex(&c.tx, key, &m, &r, dir, lim, push)?,
        }
    }
    match sink {
        Sink::Reply => reply_scored(c.out, &items, if with_scores { Shape::Pairs } else { Shape::Members }),
        Sink::Store => {
            let n = zset::store(&mut c.tx, a.get(1), &items)?;
            c.out.int(n as i64);
        }
    }
    Ok(())
}

/// ZREMRANGEBYRANK key start stop
/// O(log N + M).
pub fn zremrangebyrank(c: &mut Ctx, a: &Args) -> CmdResult {
    let (start, end) = (a.i64(2)?, a.i64(3)?);
    remove_span(c, a, |len| zset::clamp_ranks(len, start, end).map(|(s, e)| Span::Rank(s, e)))
}

/// ZREMRANGEBYSCORE key min max
/// O(log N + M).
pub fn zremrangebyscore(c: &mut Ctx, a: &Args) -> CmdResult {
    let r = ScoreRange::parse(a.get(2), a.get(3)).ok_or(BAD_SCORE_RANGE)?;
    remove_span(c, a, |_| Some(Span::Score(r)))
}

/// ZREMRANGEBYLEX key min max
/// O(log N + M) when all scores are equal.
pub fn zremrangebylex(c: &mut Ctx, a: &Args) -> CmdResult {
    let r = LexRange::parse(a.get(2), a.get(3)).ok_or(BAD_LEX_RANGE)?;
    remove_span(c, a, move |_| Some(Span::Lex(r)))
}

/// The ZREMRANGEBY* body once the range is parsed: `span` turns the size
/// into what to remove (None: nothing).
fn remove_span(c: &mut Ctx, a: &Args, span: impl FnOnce(u64) -> Option<Span>) -> CmdResult {
    let key = a.get(1);
    let mut n = 0;
    if let Some(m) = zset::get(&mut c.tx, key)? {
        if let Some(span) = span(m.len()) {
            n = zset::remove_span(&mut c.tx, key, &m, &span)?;
        }
    }
    c.out.int(n as i64);
    Ok(())
}

/// ZPOPMIN key [count]
/// O(M log N) in Redis; here M reads and writes.
pub fn zpopmin(c: &mut Ctx, a: &Args) -> CmdResult {
    pop_generic(c, a, End::Min)
}

/// ZPOPMAX key [count]
/// O(M).
pub fn zpopmax(c: &mut Ctx, a: &Args) -> CmdResult {
    pop_generic(c, a, End::Max)
}

fn pop_generic(c: &mut Ctx, a: &Args, end: End) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match a.len() {
        3 => Some(non_negative(a, 2, "value is out of range, must be positive")?),
        _ => None,
    };
    let popped = zset::pop(&mut c.tx, &[a.get(1)], end, count.unwrap_or(1))?;
    let items = popped.map(|p| p.items).unwrap_or_default();
    // RESP3 nests the pairs only when a count was given.
    reply_scored(c.out, &items, if count.is_some() { Shape::Pairs } else { Shape::Flat });
    Ok(())
}

/// Parses `numkeys key [key ...] MIN|MAX [COUNT count]` with `numkeys` at
/// index `at` (1 for ZMPOP, 2 for BZMPOP): the LMPOP parser with MIN|MAX.
pub(super) fn parse_mpop<'a>(a: &Args<'a>, at: usize) -> Result<super::list::Mpop<'a, End>, CmdError> {
    super::list::parse_mpop(a, at, |w| {
        if w.eq_ignore_ascii_case(b"MIN") {
            Some(End::Min)
        } else if w.eq_ignore_ascii_case(b"MAX") {
            Some(End::Max)
        } else {
            None
        }
    })
}

/// ZMPOP / BZMPOP reply: `[key, [[member, score], ...]]` (nested in both
/// protocols).
pub fn reply_mpop(out: &mut ReplyBuf, p: &Popped) {
    out.array(2);
    out.bulk(&p.key);
    reply_scored(out, &p.items, Shape::Nested);
}

/// BZPOPMIN / BZPOPMAX reply: `[key, member, score]` in both protocols.
pub fn reply_popped(out: &mut ReplyBuf, p: &Popped) {
    out.array(1 + 2 * p.items.len());
    out.bulk(&p.key);
    for (member, score) in &p.items {
        reply_item(out, member, *score, Shape::Flat);
    }
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
/// O(K + M): pops from the first existing key.
pub fn zmpop(c: &mut Ctx, a: &Args) -> CmdResult {
    let p = parse_mpop(a, 1)?;
    match zset::pop(&mut c.tx, &p.keys, p.side, p.count)? {
        Some(popped) => reply_mpop(c.out, &popped),
        None => c.out.null_array(),
    }
    Ok(())
}

/// ZRANDMEMBER key [count [WITHSCORES]]
/// O(count): the whole set in one walk when the count covers it, else the
/// collections' sampler (seeks, never reading a big set whole).
pub fn zrandmember(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(1);
    if a.len() < 3 {
        let m = zset::get(&mut c.tx, key)?;
        match m.map(|m| zset::random(&c.tx, key, &m, Pick::Repeated(1))).transpose()?.and_then(|mut v| v.pop()) {
            Some((member, _)) => c.out.bulk(&member),
            None => c.out.null(),
        }
        return Ok(());
    }
    let pick = rand_count(a, 2)?;
    if a.len() > 4 || (a.len() == 4 && !a.is(3, "WITHSCORES")) {
        return Err(CmdError::Syntax);
    }
    let shape = if a.len() == 4 { Shape::Pairs } else { Shape::Members };
    let Some(m) = zset::get(&mut c.tx, key)? else {
        c.out.array(0);
        return Ok(());
    };
    match pick {
        Pick::Distinct(n) => reply_scored(c.out, &zset::random(&c.tx, key, &m, Pick::Distinct(n))?, shape),
        Pick::Repeated(n) => {
            // A huge count is served in batches, like Redis, so the draw
            // itself never holds more than a batch.
            const BATCH: u64 = 1024;
            reply_header(c.out, usize::try_from(n).unwrap_or(usize::MAX), shape);
            let mut left = n;
            while left > 0 {
                let k = left.min(BATCH);
                for (member, s) in zset::random(&c.tx, key, &m, Pick::Repeated(k))? {
                    reply_item(c.out, &member, s, shape);
                }
                left -= k;
            }
        }
    }
    Ok(())
}

/// What a ZUNION-family command produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// The members (ZUNION, ZINTER, ZDIFF).
    Reply,
    /// A sorted set at argument 1 (…STORE).
    Store,
    /// The size of the intersection (ZINTERCARD).
    Card,
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
/// O(N) over all sources, plus O(M log M) to sort the result.
pub fn zunion(c: &mut Ctx, a: &Args) -> CmdResult {
    combine_generic(c, a, SetOp::Union, Output::Reply)
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
/// O(N*K) for the smallest source of N members and K sources.
pub fn zinter(c: &mut Ctx, a: &Args) -> CmdResult {
    combine_generic(c, a, SetOp::Inter, Output::Reply)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
/// O(N*K) for a first source of N members and K sources.
pub fn zdiff(c: &mut Ctx, a: &Args) -> CmdResult {
    combine_generic(c, a, SetOp::Diff, Output::Reply)
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
/// O(N) over all sources.
pub fn zunionstore(c: &mut Ctx, a: &Args) -> CmdResult {
    combine_generic(c, a, SetOp::Union, Output::Store)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
/// O(N*K).
pub fn zinterstore(c: &mut Ctx, a: &Args) -> CmdResult {
    combine_generic(c, a, SetOp::Inter, Output::Store)
}

/// ZDIFFSTORE destination numkeys key [key ...]
/// O(N*K).
pub fn zdiffstore(c: &mut Ctx, a: &Args) -> CmdResult {
    combine_generic(c, a, SetOp::Diff, Output::Store)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
/// O(N*K), stopping at LIMIT.
pub fn zintercard(c: &mut Ctx, a: &Args) -> CmdResult {
    combine_generic(c, a, SetOp::Inter, Output::Card)
}

/// Redis's `zunionInterDiffGenericCommand`: numkeys, the keys (a source
/// may be a set; anything else is WRONGTYPE, checked before the options),
/// then the options; sources read whole before the destination is written,
/// so `ZUNIONSTORE dst 2 dst other` works.
fn combine_generic(c: &mut Ctx, a: &Args, op: SetOp, output: Output) -> CmdResult {
    let at = if output == Output::Store { 2 } else { 1 };
    let numkeys = a.i64(at)?;
    if numkeys < 1 {
        return Err(CmdError::Raw(format!("ERR at least 1 input key is needed for '{}' command", c.spec.name)));
    }
    let first = at + 1;
    let n = usize::try_from(numkeys).ok().filter(|&n| n <= a.len() - first).ok_or(CmdError::Syntax)?;
    let mut srcs = Vec::with_capacity(n);
    for i in first..first + n {
        let key = a.get(i);
        srcs.push(Source { key, meta: zset::source_meta(&mut c.tx, key)?, weight: 1.0 });
    }
    let (mut agg, mut with_scores, mut limit) = (Aggregate::Sum, false, 0u64);
    let weighted = op != SetOp::Diff && output != Output::Card;
    let mut j = first + n;
    while j < a.len() {
        let remaining = a.len() - j;
        if weighted && remaining > n && a.is(j, "WEIGHTS") {
            for (k, src) in srcs.iter_mut().enumerate() {
                src.weight = zset::parse_score(a.get(j + 1 + k)).ok_or(CmdError::Err("weight value is not a float"))?;
            }
            j += 1 + n;
        } else if weighted && remaining >= 2 && a.is(j, "AGGREGATE") {
            agg = if a.is(j + 1, "SUM") {
                Aggregate::Sum
            } else if a.is(j + 1, "MIN") {
                Aggregate::Min
            } else if a.is(j + 1, "MAX") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if output == Output::Reply && a.is(j, "WITHSCORES") {
            with_scores = true;
            j += 1;
        } else if output == Output::Card && remaining >= 2 && a.is(j, "LIMIT") {
            limit = non_negative(a, j + 1, "LIMIT can't be negative")?;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    match output {
        Output::Card => {
            let n = zset::inter_card(&c.tx, &mut srcs, limit)?;
            c.out.int(n as i64);
        }
        Output::Reply => {
            let items = zset::combine(&c.tx, &mut srcs, op, agg)?;
            reply_scored(c.out, &items, if with_scores { Shape::Pairs } else { Shape::Members });
        }
        Output::Store => {
            let items = zset::combine(&c.tx, &mut srcs, op, agg)?;
            let n = zset::store(&mut c.tx, a.get(1), &items)?;
            c.out.int(n as i64);
        }
    }
    Ok(())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
/// O(COUNT) per call; the collections' shared scan (member order; a small
/// sorted set whole in one call, as Redis does).
pub fn zscan(c: &mut Ctx, a: &Args) -> CmdResult {
    members::scan(c, a, Type::ZSet, ScanValue::Score)
}

/// The first of `keys` holding a sorted set, popped from (the blocking pops'
/// attempt). On a retry for a parked client a key of another type is
/// skipped, not reported: see `list::Attempt`.
fn pop_first(c: &mut Ctx, keys: &[&[u8]], end: End, count: u64) -> Result<Option<Popped>, CmdError> {
    let attempt = super::list::Attempt::of(c);
    for &key in keys {
        if attempt.source(zset::get(&mut c.tx, key))?.is_some() {
            return zset::pop(&mut c.tx, &[key], end, count);
        }
    }
    Ok(None)
}

/// BZPOPMIN key [key ...] timeout
/// O(K + 1): K keys looked at, then one member popped (or the client parks).
pub fn bzpopmin(c: &mut Ctx, a: &Args) -> CmdResult {
    bzpop_generic(c, a, End::Min)
}

/// BZPOPMAX key [key ...] timeout
/// O(K + 1): K keys looked at, then one member popped (or the client parks).
pub fn bzpopmax(c: &mut Ctx, a: &Args) -> CmdResult {
    bzpop_generic(c, a, End::Max)
}

fn bzpop_generic(c: &mut Ctx, a: &Args, end: End) -> CmdResult {
    let last = a.len() - 1;
    let deadline = super::parse_timeout(a.get(last), c.tx.now_ms)?;
    let keys: Vec<&[u8]> = (1..last).map(|i| a.get(i)).collect();
    let found = pop_first(c, &keys, end, 1)?;
    c.serve_or_block(found, &keys, deadline, |c, p| {
        reply_popped(c.out, &p);
        Ok(())
    })
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
/// O(K + M). The timeout comes first but is checked after the rest, as
/// Redis does.
pub fn bzmpop(c: &mut Ctx, a: &Args) -> CmdResult {
    let p = parse_mpop(a, 2)?;
    let deadline = super::parse_timeout(a.get(1), c.tx.now_ms)?;
    let found = pop_first(c, &p.keys, p.side, p.count)?;
    c.serve_or_block(found, &p.keys, deadline, |c, popped| {
        reply_mpop(c.out, &popped);
        Ok(())
    })
}
