//! String commands: GET/SET family, counters, ranges, LCS.
//!
//! Handlers parse and validate every argument, call `types::string` for the
//! semantics and write the reply. Validation order follows Redis exactly (it
//! decides which error a bad command gets): e.g. SET checks its options, then
//! the expire time, then the old value's type; GETEX checks options, then the
//! key (a missing key answers nil even with a bad expire time), then the time.

use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::storage::Meta;
use crate::types::string::{self, Cond, LcsWant, Old, Ttl};

/// How an expire argument is read: relative or absolute, seconds or ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// EX: seconds from now.
    Ex,
    /// PX: milliseconds from now.
    Px,
    /// EXAT: Unix time in seconds.
    ExAt,
    /// PXAT: Unix time in milliseconds.
    PxAt,
}

/// Which command's options `parse_options` accepts (Redis's COMMAND_SET / COMMAND_GET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptsFor {
    Set,
    Getex,
}

/// Options of SET and GETEX, as parsed (not yet validated).
struct Opts<'a> {
    cond: Cond,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(Unit, &'a [u8])>,
}

/// Redis compares option words as C strings: an argument stops at its first NUL.
fn word_is(arg: &[u8], word: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's `parseExtendedStringArgumentsOrReply`: each option is refused (as a
/// syntax error) when a conflicting one came before it; repeating the same
/// option is allowed, the last expire value winning.
fn parse_options<'a>(a: &Args<'a>, from: usize, which: OptsFor) -> Result<Opts<'a>, CmdError> {
    let mut o = Opts { cond: Cond::Always, get: false, keep_ttl: false, persist: false, expire: None };
    let set = which == OptsFor::Set;
    let mut i = from;
    while i < a.len() {
        let opt = a.get(i);
        let next = a.opt(i + 1);
        if set && word_is(opt, "NX") && o.cond != Cond::IfExists {
            o.cond = Cond::IfMissing;
        } else if set && word_is(opt, "XX") && o.cond != Cond::IfMissing {
            o.cond = Cond::IfExists;
        } else if set && word_is(opt, "GET") {
            o.get = true;
        } else if set && word_is(opt, "KEEPTTL") && !o.persist && o.expire.is_none() {
            o.keep_ttl = true;
        } else if !set && word_is(opt, "PERSIST") && !o.keep_ttl && o.expire.is_none() {
            o.persist = true;
        } else if let (Some(unit), Some(value)) = (unit_of(opt), next) {
            if o.keep_ttl || o.persist || o.expire.is_some_and(|(have, _)| have != unit) {
                return Err(CmdError::Syntax);
            }
            o.expire = Some((unit, value));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

fn unit_of(opt: &[u8]) -> Option<Unit> {
    [("EX", Unit::Ex), ("PX", Unit::Px), ("EXAT", Unit::ExAt), ("PXAT", Unit::PxAt)]
        .into_iter()
        .find(|(w, _)| word_is(opt, w))
        .map(|(_, u)| u)
}

/// Redis's `getExpireMillisecondsOrReply`: a positive integer whose absolute
/// time in ms neither overflows nor ends up non-positive.
fn expire_at(c: &Ctx, unit: Unit, arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::Raw(format!("ERR invalid expire time in '{}' command", c.spec.name));
    let n = crate::util::parse_i64(arg).ok_or(CmdError::NotInteger)?;
    let seconds = matches!(unit, Unit::Ex | Unit::ExAt);
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(invalid());
    }
    let ms = if seconds { n * 1000 } else { n };
    let ms = match unit {
        Unit::Ex | Unit::Px => ms.checked_add(c.tx.now_ms as i64).ok_or_else(invalid)?,
        Unit::ExAt | Unit::PxAt => ms,
    };
    Ok(ms as u64)
}

impl Opts<'_> {
    /// The TTL these options ask for (validating the expire time).
    fn ttl(&self, c: &Ctx, unset: Ttl) -> Result<Ttl, CmdError> {
        Ok(match self.expire {
            Some((unit, arg)) => Ttl::At(expire_at(c, unit, arg)?),
            None if self.keep_ttl => Ttl::Keep,
            None if self.persist => Ttl::Clear,
            None => unset,
        })
    }
}

/// A string value or nil.
fn reply_value(out: &mut ReplyBuf, m: Option<&Meta>) {
    match m {
        Some(m) => out.bulk(m.value()),
        None => out.null(),
    }
}

/// The configured maximum string length (APPEND, SETRANGE, LCS table).
fn max_len(c: &Ctx) -> u64 {
    c.state.config.server.proto_max_bulk_len
}

/// GET key
///
/// O(1).
pub fn get(c: &mut Ctx, a: &Args) -> CmdResult {
    let m = string::get(&mut c.tx, a.get(1))?;
    reply_value(c.out, m.as_ref());
    Ok(())
}

/// SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]
///
/// O(1).
pub fn set(c: &mut Ctx, a: &Args) -> CmdResult {
    let o = parse_options(a, 3, OptsFor::Set)?;
    let ttl = o.ttl(c, Ttl::Clear)?;
    let old = if o.get { Old::MustBeString } else { Old::Any };
    let r = string::set(&mut c.tx, a.get(1), a.get(2), o.cond, ttl, old)?;
    if o.get {
        reply_value(c.out, r.old.as_ref());
    } else if r.written {
        c.out.ok();
    } else {
        c.out.null();
    }
    Ok(())
}

/// SETNX key value
///
/// O(1).
pub fn setnx(c: &mut Ctx, a: &Args) -> CmdResult {
    let r = string::set(&mut c.tx, a.get(1), a.get(2), Cond::IfMissing, Ttl::Clear, Old::Any)?;
    c.out.int(r.written as i64);
    Ok(())
}

/// SETEX and PSETEX: `key ttl value`.
fn set_expiring(c: &mut Ctx, a: &Args, unit: Unit) -> CmdResult {
    let at = expire_at(c, unit, a.get(2))?;
    string::set(&mut c.tx, a.get(1), a.get(3), Cond::Always, Ttl::At(at), Old::Any)?;
    c.out.ok();
    Ok(())
}

/// SETEX key seconds value
///
/// O(1).
pub fn setex(c: &mut Ctx, a: &Args) -> CmdResult {
    set_expiring(c, a, Unit::Ex)
}

/// PSETEX key milliseconds value
///
/// O(1).
pub fn psetex(c: &mut Ctx, a: &Args) -> CmdResult {
    set_expiring(c, a, Unit::Px)
}

/// GETSET key value
///
/// O(1).
pub fn getset(c: &mut Ctx, a: &Args) -> CmdResult {
    let r = string::set(&mut c.tx, a.get(1), a.get(2), Cond::Always, Ttl::Clear, Old::MustBeString)?;
    reply_value(c.out, r.old.as_ref());
    Ok(())
}

/// GETDEL key
///
/// O(1).
pub fn getdel(c: &mut Ctx, a: &Args) -> CmdResult {
    let m = string::getdel(&mut c.tx, a.get(1))?;
    reply_value(c.out, m.as_ref());
    Ok(())
}

/// GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]
///
/// O(1).
pub fn getex(c: &mut Ctx, a: &Args) -> CmdResult {
    let o = parse_options(a, 2, OptsFor::Getex)?;
    let key = a.get(1);
    let Some(m) = string::get(&mut c.tx, key)? else {
        c.out.null();
        return Ok(());
    };
    let ttl = o.ttl(c, Ttl::Keep)?;
    string::set_ttl(&mut c.tx, key, &m, ttl)?;
    c.out.bulk(m.value());
    Ok(())
}

/// MGET key [key ...]
///
/// O(N) where N is the number of keys.
pub fn mget(c: &mut Ctx, a: &Args) -> CmdResult {
    c.out.array(a.len() - 1);
    for key in a.iter_from(1) {
        let m = string::get_lenient(&mut c.tx, key)?;
        reply_value(c.out, m.as_ref());
    }
    Ok(())
}

/// MSET and MSETNX: `key value [key value ...]`; an odd count is an arity error.
fn mset_with(c: &mut Ctx, a: &Args, cond: Cond) -> Result<bool, CmdError> {
    if a.len() % 2 == 0 {
        return Err(CmdError::WrongArity(c.spec.name.into()));
    }
    let pairs = (1..a.len()).step_by(2).map(|i| (a.get(i), a.get(i + 1)));
    string::mset(&mut c.tx, pairs, cond)
}

/// MSET key value [key value ...]
///
/// O(N) where N is the number of keys.
pub fn mset(c: &mut Ctx, a: &Args) -> CmdResult {
    mset_with(c, a, Cond::Always)?;
    c.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...]
///
/// O(N) where N is the number of keys.
pub fn msetnx(c: &mut Ctx, a: &Args) -> CmdResult {
    let done = mset_with(c, a, Cond::IfMissing)?;
    c.out.int(done as i64);
    Ok(())
}

/// Adds `delta` and replies with the new value.
fn incr_reply(c: &mut Ctx, a: &Args, delta: i64) -> CmdResult {
    let v = string::incr_by(&mut c.tx, a.get(1), delta)?;
    c.out.int(v);
    Ok(())
}

/// INCR key
///
/// O(1).
pub fn incr(c: &mut Ctx, a: &Args) -> CmdResult {
    incr_reply(c, a, 1)
}

/// DECR key
///
/// O(1).
pub fn decr(c: &mut Ctx, a: &Args) -> CmdResult {
    incr_reply(c, a, -1)
}

/// INCRBY key increment
///
/// O(1).
pub fn incrby(c: &mut Ctx, a: &Args) -> CmdResult {
    let by = a.i64(2)?;
    incr_reply(c, a, by)
}

/// DECRBY key decrement
///
/// O(1).
pub fn decrby(c: &mut Ctx, a: &Args) -> CmdResult {
    let by = a.i64(2)?;
    if by == i64::MIN {
        return Err(CmdError::Err("decrement would overflow"));
    }
    incr_reply(c, a, -by)
}

/// INCRBYFLOAT key increment
///
/// O(1).
pub fn incrbyfloat(c: &mut Ctx, a: &Args) -> CmdResult {
    let m = string::incr_by_float(&mut c.tx, a.get(1), a.get(2))?;
    c.out.bulk(m.value());
    Ok(())
}

/// APPEND key value
///
/// O(N) in the new length (values are stored whole).
pub fn append(c: &mut Ctx, a: &Args) -> CmdResult {
    let limit = max_len(c);
    let n = string::append(&mut c.tx, a.get(1), a.get(2), limit)?;
    c.out.int(n as i64);
    Ok(())
}

/// STRLEN key
///
/// O(1).
pub fn strlen(c: &mut Ctx, a: &Args) -> CmdResult {
    let m = string::get(&mut c.tx, a.get(1))?;
    c.out.int(m.map_or(0, |m| m.value().len() as i64));
    Ok(())
}

/// GETRANGE key start end (also SUBSTR key start end)
///
/// O(N) where N is the length of the returned string.
pub fn getrange(c: &mut Ctx, a: &Args) -> CmdResult {
    let (start, end) = (a.i64(2)?, a.i64(3)?);
    let m = string::get(&mut c.tx, a.get(1))?;
    c.out.bulk(m.as_ref().map_or(&[][..], |m| string::range(m.value(), start, end)));
    Ok(())
}

/// SETRANGE key offset value
///
/// O(N) in the new length (values are stored whole).
pub fn setrange(c: &mut Ctx, a: &Args) -> CmdResult {
    let offset = a.i64(2)?;
    if offset < 0 {
        return Err(CmdError::Err("offset is out of range"));
    }
    let limit = max_len(c);
    let n = string::setrange(&mut c.tx, a.get(1), offset as u64, a.get(3), limit)?;
    c.out.int(n as i64);
    Ok(())
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
///
/// O(N*M) where N and M are the lengths of the two strings.
pub fn lcs(c: &mut Ctx, a: &Args) -> CmdResult {
    let (ma, mb) = string::lcs_values(&mut c.tx, a.get(1), a.get(2))?;
    let (mut len, mut idx, mut with_len, mut min_len) = (false, false, false, 0i64);
    let mut i = 3;
    while i < a.len() {
        let opt = a.get(i);
        if word_is(opt, "IDX") {
            idx = true;
        } else if word_is(opt, "LEN") {
            len = true;
        } else if word_is(opt, "WITHMATCHLEN") {
            with_len = true;
        } else if word_is(opt, "MINMATCHLEN") && i + 1 < a.len() {
            min_len = a.i64(i + 1)?.max(0);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if idx && len {
        return Err(CmdError::Err("If you want both the length and indexes, please just use IDX."));
    }
    let want = match (idx, len) {
        (true, _) => LcsWant::Matches { min_len: min_len as u64 },
        (false, true) => LcsWant::Len,
        (false, false) => LcsWant::String,
    };
    let (va, vb) = (ma.as_ref().map_or(&[][..], Meta::value), mb.as_ref().map_or(&[][..], Meta::value));
    let r = string::lcs(va, vb, want, max_len(c))?;
    match want {
        LcsWant::Len => c.out.int(r.len as i64),
        LcsWant::String => c.out.bulk(&r.string),
        LcsWant::Matches { .. } => {
            c.out.map(2);
            c.out.bulk(b"matches");
            c.out.array(r.matches.len());
            for m in &r.matches {
                c.out.array(2 + with_len as usize);
                for (from, to) in [m.a, m.b] {
                    c.out.array(2);
                    c.out.int(from as i64);
                    c.out.int(to as i64);
                }
                if with_len {
                    c.out.int(m.len as i64);
                }
            }
            c.out.bulk(b"len");
            c.out.int(r.len as i64);
        }
    }
    Ok(())
}
