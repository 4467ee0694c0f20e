//! Hash commands: HSET family, reads, counters, HRANDFIELD, HSCAN.
//!
//! Handlers validate arguments in Redis's order (numbers before the key's
//! type, so `HINCRBY str f x` is a number error, not WRONGTYPE), call
//! `types::hash` and write the reply.

use super::members::{rand_count, scan, ScanValue};
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::storage::Type;
use crate::types::hash;
use crate::types::members::{OnExisting, Pick};

/// HSET key field value [field value ...]
/// O(N) in the pairs given. Replies the number of fields created.
pub fn hset(c: &mut Ctx, a: &Args) -> CmdResult {
    let added = set_pairs(c, a, OnExisting::Replace)?;
    c.out.int(added as i64);
    Ok(())
}

/// HMSET key field value [field value ...] — HSET replying OK.
/// O(N) in the pairs given.
pub fn hmset(c: &mut Ctx, a: &Args) -> CmdResult {
    set_pairs(c, a, OnExisting::Replace)?;
    c.out.ok();
    Ok(())
}

/// HSETNX key field value
/// O(1). Replies 1 if the field was created, 0 if it existed.
pub fn hsetnx(c: &mut Ctx, a: &Args) -> CmdResult {
    let added = set_pairs(c, a, OnExisting::Keep)?;
    c.out.int(added as i64);
    Ok(())
}

/// The pairs from argument 2 on (an odd count is an arity error, as Redis says it).
fn set_pairs(c: &mut Ctx, a: &Args, on_existing: OnExisting) -> Result<u64, CmdError> {
    if a.len() % 2 != 0 {
        return Err(CmdError::WrongArity(c.spec.name.into()));
    }
    let pairs = (2..a.len()).step_by(2).map(|i| (a.get(i), a.get(i + 1)));
    hash::set(&mut c.tx, a.get(1), pairs, on_existing)
}

/// HGET key field
/// O(1).
pub fn hget(c: &mut Ctx, a: &Args) -> CmdResult {
    match hash::get(&mut c.tx, a.get(1), a.get(2))? {
        Some(v) => c.out.bulk(&v),
        None => c.out.null(),
    }
    Ok(())
}

/// HMGET key field [field ...]
/// O(N) in the fields asked.
pub fn hmget(c: &mut Ctx, a: &Args) -> CmdResult {
    let values = hash::mget(&mut c.tx, a.get(1), a.iter_from(2))?;
    c.out.array(values.len());
    for v in &values {
        match v {
            Some(v) => c.out.bulk(v),
            None => c.out.null(),
        }
    }
    Ok(())
}

/// HDEL key field [field ...]
/// O(N) in the fields given. Deletes the hash when it empties.
pub fn hdel(c: &mut Ctx, a: &Args) -> CmdResult {
    let removed = hash::del(&mut c.tx, a.get(1), (2..a.len()).map(|i| a.get(i)))?;
    c.out.int(removed as i64);
    Ok(())
}

/// HLEN key
/// O(1): the count lives in the key's meta record.
pub fn hlen(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = hash::len(&mut c.tx, a.get(1))?;
    c.out.int(n as i64);
    Ok(())
}

/// HEXISTS key field
/// O(1).
pub fn hexists(c: &mut Ctx, a: &Args) -> CmdResult {
    let found = hash::get(&mut c.tx, a.get(1), a.get(2))?.is_some();
    c.out.int(i64::from(found));
    Ok(())
}

/// HSTRLEN key field
/// O(1).
pub fn hstrlen(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = hash::get(&mut c.tx, a.get(1), a.get(2))?.map_or(0, |v| v.len());
    c.out.int(n as i64);
    Ok(())
}

/// Which parts of each field HGETALL / HKEYS / HVALS reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parts {
    Both,
    Fields,
    Values,
}

/// HGETALL key
/// O(N). A map in RESP3.
pub fn hgetall(c: &mut Ctx, a: &Args) -> CmdResult {
    whole(c, a, Parts::Both)
}

/// HKEYS key
/// O(N).
pub fn hkeys(c: &mut Ctx, a: &Args) -> CmdResult {
    whole(c, a, Parts::Fields)
}

/// HVALS key
/// O(N).
pub fn hvals(c: &mut Ctx, a: &Args) -> CmdResult {
    whole(c, a, Parts::Values)
}

fn whole(c: &mut Ctx, a: &Args, parts: Parts) -> CmdResult {
    let all = hash::all(&mut c.tx, a.get(1))?;
    match parts {
        Parts::Both => c.out.map(all.len()),
        Parts::Fields | Parts::Values => c.out.array(all.len()),
    }
    for (f, v) in &all {
        if parts != Parts::Values {
            c.out.bulk(f);
        }
        if parts != Parts::Fields {
            c.out.bulk(v);
        }
    }
    Ok(())
}

/// HINCRBY key field increment
/// O(1).
pub fn hincrby(c: &mut Ctx, a: &Args) -> CmdResult {
    let delta = a.i64(3)?;
    let n = hash::incr_by(&mut c.tx, a.get(1), a.get(2), delta)?;
    c.out.int(n);
    Ok(())
}

/// HINCRBYFLOAT key field increment
/// O(1). Long-double arithmetic and formatting, like Redis.
pub fn hincrbyfloat(c: &mut Ctx, a: &Args) -> CmdResult {
    let text = hash::incr_by_float(&mut c.tx, a.get(1), a.get(2), a.get(3))?;
    c.out.bulk(text.as_bytes());
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]
/// O(count) (see `types::members::random` for how a big hash is sampled
/// uniformly without reading it whole). A negative count may repeat fields.
/// WITHVALUES pairs are a flat array in RESP2 and an array of pairs in RESP3.
pub fn hrandfield(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() == 2 {
        match hash::rand_fields(&mut c.tx, a.get(1), Pick::Distinct(1))?.pop() {
            Some((f, _)) => c.out.bulk(&f),
            None => c.out.null(),
        }
        return Ok(());
    }
    let pick = rand_count(a, 2)?;
    let with_values = a.len() == 4 && a.is(3, "WITHVALUES");
    if a.len() > 4 || (a.len() == 4 && !with_values) {
        return Err(CmdError::Syntax);
    }
    let n = match pick {
        Pick::Distinct(n) | Pick::Repeated(n) => n,
    };
    // Redis refuses counts whose doubled reply length would overflow.
    if with_values && n > i64::MAX as u64 / 2 {
        return Err(CmdError::Err("value is out of range"));
    }
    let picked = hash::rand_fields(&mut c.tx, a.get(1), pick)?;
    let resp3 = c.out.resp3;
    c.out.array(if with_values && !resp3 { picked.len() * 2 } else { picked.len() });
    for (f, v) in &picked {
        if with_values && resp3 {
            c.out.array(2);
        }
        c.out.bulk(f);
        if with_values {
            c.out.bulk(v);
        }
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
/// O(COUNT) per call.
pub fn hscan(c: &mut Ctx, a: &Args) -> CmdResult {
    scan(c, a, Type::Hash, ScanValue::Raw)
}
