//! List commands, the blocking pops included; the semantics live in
//! `types::list`.
//!
//! Arguments are validated in Redis's order, because that order decides which
//! error a bad command gets: e.g. LRANGE/LTRIM/LREM parse their numbers before
//! looking at the key, while LINDEX/LSET look at the key first (so `LINDEX
//! nokey abc` is nil, not an error).
//!
//! Blocking commands (see `Ctx::block`): a handler tries the non-blocking
//! operation and, with nothing to serve, asks to be parked; the server runs it
//! again from the start whenever a key it waits on is written. On such a
//! retry a source key that now holds another type is skipped rather than
//! reported (Redis 7.0 serves a parked client only from a key of the type it
//! waits for, so it keeps waiting); [`Attempt`] carries that rule, and the
//! sorted-set blocking pops share it.

use super::{parse_timeout, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::types::list::{self, End, Exists, List, Place, PosQuery};

/// Whether a blocking command runs for the first time or again after one of
/// its keys was written while it was parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    /// Sent by the client just now: errors are reported as usual.
    First,
    /// Run again by the server for a parked client.
    Retry,
}

impl Attempt {
    /// The attempt the calling client is at.
    pub(super) fn of(c: &mut Ctx) -> Attempt {
        if c.me().blocked.is_some() {
            Attempt::Retry
        } else {
            Attempt::First
        }
    }

    /// A source key's lookup as this attempt sees it: on a retry, a key of
    /// another type counts as empty, so the client stays parked.
    pub(super) fn source<T>(self, r: Result<Option<T>, CmdError>) -> Result<Option<T>, CmdError> {
        match (self, r) {
            (Attempt::Retry, Err(CmdError::WrongType)) => Ok(None),
            (_, r) => r,
        }
    }
}

/// Whether a command may wait when it finds nothing to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// LMPOP, LMOVE, RPOPLPUSH: reply nil at once.
    No,
    /// The blocking variants: park until this deadline (None = forever).
    Until(Option<u64>),
}

impl Wait {
    /// A blocking command's wait, from its timeout argument.
    fn parse(c: &Ctx, arg: &[u8]) -> Result<Wait, CmdError> {
        Ok(Wait::Until(parse_timeout(arg, c.tx.now_ms)?))
    }
}

/// The nil a command answers at once when it finds nothing to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nil {
    /// `*-1`: LMPOP.
    Array,
    /// `$-1`: LMOVE, RPOPLPUSH.
    Bulk,
}

/// Nothing to serve: `nil` now, or park on `keys`. A timed-out wait always
/// answers the null array, whatever the command (Redis 7.0 replies `*-1` to
/// BLMOVE and BRPOPLPUSH too; RESP3 has one null).
fn nothing(c: &mut Ctx, wait: Wait, keys: &[&[u8]], nil: Nil) -> CmdResult {
    match wait {
        Wait::Until(deadline) if c.may_block() => c.block(keys.iter().map(|k| k.to_vec()).collect(), deadline),
        // Inside EXEC or a script: the nil of the non-blocking variant (`$-1`
        // for BLMOVE and BRPOPLPUSH), as Redis answers there.
        Wait::Until(_) | Wait::No => {
            match nil {
                Nil::Array => c.out.null_array(),
                Nil::Bulk => c.out.null(),
            }
            Ok(())
        }
    }
}

/// `LEFT` / `RIGHT` (Redis's getListPositionFromObjectOrReply).
fn end_of(arg: &[u8]) -> Result<End, CmdError> {
    if arg.eq_ignore_ascii_case(b"LEFT") {
        Ok(End::Left)
    } else if arg.eq_ignore_ascii_case(b"RIGHT") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

/// A non-negative integer; `msg` is the error for anything else (Redis's
/// getPositiveLongFromObjectOrReply uses one text for both failures).
fn non_negative(arg: &[u8], msg: &'static str) -> Result<u64, CmdError> {
    match crate::util::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(CmdError::Err(msg)),
    }
}

/// An integer of at least 1; `msg` is the error for anything else.
fn at_least_one(arg: &[u8], msg: &'static str) -> Result<u64, CmdError> {
    match non_negative(arg, msg)? {
        0 => Err(CmdError::Err(msg)),
        n => Ok(n),
    }
}

/// Writes popped elements as an array.
fn reply_elements(c: &mut Ctx, elems: &[Vec<u8>]) {
    c.out.array(elems.len());
    for e in elems {
        c.out.bulk(e);
    }
}

/// LPUSH key element [element ...]
///
/// O(1) per element.
pub fn lpush(c: &mut Ctx, a: &Args) -> CmdResult {
    push(c, a, End::Left, Exists::Any)
}

/// RPUSH key element [element ...]
///
/// O(1) per element.
pub fn rpush(c: &mut Ctx, a: &Args) -> CmdResult {
    push(c, a, End::Right, Exists::Any)
}

/// LPUSHX key element [element ...]
///
/// O(1) per element.
pub fn lpushx(c: &mut Ctx, a: &Args) -> CmdResult {
    push(c, a, End::Left, Exists::Required)
}

/// RPUSHX key element [element ...]
///
/// O(1) per element.
pub fn rpushx(c: &mut Ctx, a: &Args) -> CmdResult {
    push(c, a, End::Right, Exists::Required)
}

fn push(c: &mut Ctx, a: &Args, end: End, exists: Exists) -> CmdResult {
    let len = list::push(&mut c.tx, a.get(1), a.iter_from(2), end, exists)?;
    c.out.int(len as i64);
    Ok(())
}

/// LPOP key [count]
///
/// O(N) in the number of elements returned.
pub fn lpop(c: &mut Ctx, a: &Args) -> CmdResult {
    pop(c, a, End::Left)
}

/// RPOP key [count]
///
/// O(N) in the number of elements returned.
pub fn rpop(c: &mut Ctx, a: &Args) -> CmdResult {
    pop(c, a, End::Right)
}

fn pop(c: &mut Ctx, a: &Args, end: End) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::WrongArity(c.spec.name.into()));
    }
    let count = match a.opt(2) {
        Some(arg) => Some(non_negative(arg, "value is out of range, must be positive")?),
        None => None,
    };
    let key = a.get(1);
    let Some(l) = list::get(&mut c.tx, key)? else {
        match count {
            Some(_) => c.out.null_array(),
            None => c.out.null(),
        }
        return Ok(());
    };
    match count {
        None => {
            let v = list::pop(&mut c.tx, key, l, end, 1)?;
            c.out.bulk(&v[0]);
        }
        // Redis answers COUNT 0 before touching the list.
        Some(0) => c.out.array(0),
        Some(n) => {
            let v = list::pop(&mut c.tx, key, l, end, n)?;
            reply_elements(c, &v);
        }
    }
    Ok(())
}

/// LLEN key
///
/// O(1).
pub fn llen(c: &mut Ctx, a: &Args) -> CmdResult {
    let len = list::get(&mut c.tx, a.get(1))?.map_or(0, |l| l.len());
    c.out.int(len as i64);
    Ok(())
}

/// LINDEX key index
///
/// O(1): index arithmetic and one point read.
pub fn lindex(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(1);
    let Some(l) = list::get(&mut c.tx, key)? else {
        c.out.null();
        return Ok(());
    };
    let i = a.i64(2)?;
    match list::index(&mut c.tx, key, &l, i)? {
        Some(v) => c.out.bulk(&v),
        None => c.out.null(),
    }
    Ok(())
}

/// LSET key index element
///
/// O(1): index arithmetic and one point write.
pub fn lset(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(1);
    let l = list::get(&mut c.tx, key)?.ok_or(CmdError::NoSuchKey)?;
    let i = a.i64(2)?;
    list::set(&mut c.tx, key, &l, i, a.get(3))?;
    c.out.ok();
    Ok(())
}

/// LRANGE key start stop
///
/// O(S+N): a bounded iterator over the N elements returned.
pub fn lrange(c: &mut Ctx, a: &Args) -> CmdResult {
    let (start, stop) = (a.i64(2)?, a.i64(3)?);
    let key = a.get(1);
    let span = match list::get(&mut c.tx, key)? {
        Some(l) => list::span(l.len(), start, stop).map(|s| (l, s)),
        None => None,
    };
    let Some((l, (first, last))) = span else {
        c.out.array(0);
        return Ok(());
    };
    c.out.array((last - first + 1) as usize);
    let out = &mut *c.out;
    list::range(&c.tx, key, &l, first, last, |v| out.bulk(v))
}

/// LTRIM key start stop
///
/// O(1) writes (dropped runs go as range deletes when long), like Redis's
/// O(N) in the number of elements removed.
pub fn ltrim(c: &mut Ctx, a: &Args) -> CmdResult {
    let (start, stop) = (a.i64(2)?, a.i64(3)?);
    let key = a.get(1);
    if let Some(l) = list::get(&mut c.tx, key)? {
        list::trim(&mut c.tx, key, l, start, stop)?;
    }
    c.out.ok();
    Ok(())
}

/// LREM key count element
///
/// O(N+M): walks up to the last element removed, rewriting that stretch.
pub fn lrem(c: &mut Ctx, a: &Args) -> CmdResult {
    let count = a.i64(2)?;
    let key = a.get(1);
    let removed = match list::get(&mut c.tx, key)? {
        Some(l) => list::rem(&mut c.tx, key, l, count, a.get(3))?,
        None => 0,
    };
    c.out.int(removed as i64);
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element
///
/// O(N): walks to the pivot, then moves the shorter side by one.
pub fn linsert(c: &mut Ctx, a: &Args) -> CmdResult {
    let place = if a.is(2, "AFTER") {
        Place::After
    } else if a.is(2, "BEFORE") {
        Place::Before
    } else {
        return Err(CmdError::Syntax);
    };
    let key = a.get(1);
    let n = match list::get(&mut c.tx, key)? {
        Some(l) => list::insert(&mut c.tx, key, l, place, a.get(3), a.get(4))?.map_or(-1, |len| len as i64),
        None => 0,
    };
    c.out.int(n);
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
///
/// O(N): walks from the head (or the tail for a negative rank).
pub fn lpos(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut q = PosQuery { rank: 1, count: 1, maxlen: 0 };
    let mut want_array = false;
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "RANK") && more {
            j += 1;
            q.rank = a.i64(j)?;
            if q.rank == 0 {
                return Err(CmdError::Err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                     or use negative to start from the end of the list",
                ));
            }
        } else if a.is(j, "COUNT") && more {
            j += 1;
            q.count = non_negative(a.get(j), "COUNT can't be negative")?;
            want_array = true;
        } else if a.is(j, "MAXLEN") && more {
            j += 1;
            q.maxlen = non_negative(a.get(j), "MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let key = a.get(1);
    let found = match list::get(&mut c.tx, key)? {
        Some(l) => list::positions(&c.tx, key, &l, a.get(2), q)?,
        None => Vec::new(),
    };
    if want_array {
        c.out.array(found.len());
        for p in found {
            c.out.int(p as i64);
        }
    } else {
        match found.first() {
            Some(&p) => c.out.int(p as i64),
            None => c.out.null(),
        }
    }
    Ok(())
}

/// RPOPLPUSH source destination
///
/// O(1).
pub fn rpoplpush(c: &mut Ctx, a: &Args) -> CmdResult {
    move_one(c, a, End::Right, End::Left, Wait::No)
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
///
/// O(1).
pub fn lmove(c: &mut Ctx, a: &Args) -> CmdResult {
    let (from, to) = (end_of(a.get(3))?, end_of(a.get(4))?);
    move_one(c, a, from, to, Wait::No)
}

/// BRPOPLPUSH source destination timeout
///
/// O(1).
pub fn brpoplpush(c: &mut Ctx, a: &Args) -> CmdResult {
    let wait = Wait::parse(c, a.get(3))?;
    move_one(c, a, End::Right, End::Left, wait)
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
///
/// O(1).
pub fn blmove(c: &mut Ctx, a: &Args) -> CmdResult {
    let (from, to) = (end_of(a.get(3))?, end_of(a.get(4))?);
    let wait = Wait::parse(c, a.get(5))?;
    move_one(c, a, from, to, wait)
}

fn move_one(c: &mut Ctx, a: &Args, from: End, to: End, wait: Wait) -> CmdResult {
    let (src, dst) = (a.get(1), a.get(2));
    let attempt = Attempt::of(c);
    match attempt.source(list::get(&mut c.tx, src))? {
        Some(l) => {
            let v = list::lmove(&mut c.tx, src, l, dst, from, to)?;
            c.out.bulk(&v);
            Ok(())
        }
        None => nothing(c, wait, &[src], Nil::Bulk),
    }
}

/// BLPOP key [key ...] timeout
///
/// O(N) in the number of keys.
pub fn blpop(c: &mut Ctx, a: &Args) -> CmdResult {
    bpop(c, a, End::Left)
}

/// BRPOP key [key ...] timeout
///
/// O(N) in the number of keys.
pub fn brpop(c: &mut Ctx, a: &Args) -> CmdResult {
    bpop(c, a, End::Right)
}

fn bpop(c: &mut Ctx, a: &Args, end: End) -> CmdResult {
    let last = a.len() - 1;
    let wait = Wait::parse(c, a.get(last))?;
    let keys: Vec<&[u8]> = (1..last).map(|i| a.get(i)).collect();
    match first_list(c, &keys)? {
        Some((key, l)) => {
            let v = list::pop(&mut c.tx, key, l, end, 1)?;
            c.out.array(2);
            c.out.bulk(key);
            c.out.bulk(&v[0]);
            Ok(())
        }
        None => nothing(c, wait, &keys, Nil::Array),
    }
}

/// The first key, in argument order, holding a list (WRONGTYPE for a key of
/// another type met before it, except on a retry: see [`Attempt`]).
fn first_list<'k>(c: &mut Ctx, keys: &[&'k [u8]]) -> Result<Option<(&'k [u8], List)>, CmdError> {
    let attempt = Attempt::of(c);
    for &k in keys {
        if let Some(l) = attempt.source(list::get(&mut c.tx, k))? {
            return Ok(Some((k, l)));
        }
    }
    Ok(None)
}

/// The parsed tail of LMPOP/BLMPOP: `numkeys key [key ...] <side> [COUNT
/// count]` (generic over the side word, so ZMPOP/BZMPOP can share it).
pub(super) struct Mpop<'a, S> {
    /// The keys, in argument order.
    pub keys: Vec<&'a [u8]>,
    /// Which side to pop from (LEFT|RIGHT, MIN|MAX).
    pub side: S,
    /// How many elements at most (1 without COUNT).
    pub count: u64,
}

/// Parses `numkeys key [key ...] <side> [COUNT count]` from argument `at`,
/// with Redis's errors; `side` reads the side word (None = syntax error).
pub(super) fn parse_mpop<'a, S>(
    a: &Args<'a>,
    at: usize,
    side: impl Fn(&[u8]) -> Option<S>,
) -> Result<Mpop<'a, S>, CmdError> {
    let numkeys = at_least_one(a.get(at), "numkeys should be greater than 0")?;
    let side_at = (at as u64).saturating_add(numkeys).saturating_add(1);
    if side_at >= a.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let side_at = side_at as usize;
    let side = side(a.get(side_at)).ok_or(CmdError::Syntax)?;
    let mut count = None;
    let mut j = side_at + 1;
    while j < a.len() {
        if count.is_none() && a.is(j, "COUNT") && j + 1 < a.len() {
            j += 1;
            count = Some(at_least_one(a.get(j), "count should be greater than 0")?);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let keys = (at + 1..side_at).map(|i| a.get(i)).collect();
    Ok(Mpop { keys, side, count: count.unwrap_or(1) })
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
///
/// O(N+M): N keys looked at, M elements popped.
pub fn lmpop(c: &mut Ctx, a: &Args) -> CmdResult {
    mpop(c, a, Mode::Now)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
///
/// O(N+M): N keys looked at, M elements popped.
pub fn blmpop(c: &mut Ctx, a: &Args) -> CmdResult {
    mpop(c, a, Mode::Blocking)
}

/// LMPOP or BLMPOP (whose timeout comes first but is checked last, after
/// the keys and options, as Redis does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `numkeys` at argument 1.
    Now,
    /// `timeout` at 1, `numkeys` at 2.
    Blocking,
}

fn mpop(c: &mut Ctx, a: &Args, mode: Mode) -> CmdResult {
    let numkeys_at = match mode {
        Mode::Now => 1,
        Mode::Blocking => 2,
    };
    let m = parse_mpop(a, numkeys_at, |w| end_of(w).ok())?;
    let wait = match mode {
        Mode::Now => Wait::No,
        Mode::Blocking => Wait::parse(c, a.get(1))?,
    };
    match first_list(c, &m.keys)? {
        Some((key, l)) => {
            let v = list::pop(&mut c.tx, key, l, m.side, m.count)?;
            c.out.array(2);
            c.out.bulk(key);
            reply_elements(c, &v);
            Ok(())
        }
        None => nothing(c, wait, &m.keys, Nil::Array),
    }
}
