//! Set commands: SADD/SREM, membership, SPOP/SRANDMEMBER, SMOVE, the set
//! algebra (SINTER SUNION SDIFF, their STORE forms, SINTERCARD) and SSCAN.
//!
//! Handlers validate arguments in Redis's order (counts and options before
//! any key's type), call `types::set` and write the reply. Redis replies a
//! RESP3 set for SMEMBERS, SPOP with a count and the algebra, but an array
//! for SRANDMEMBER (whose members may repeat).

use super::members::{rand_count, scan, ScanValue};
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::storage::Type;
use crate::types::members::Pick;
use crate::types::set::{self, Op};

/// SADD key member [member ...]
/// O(N) in the members given. Replies the number added.
pub fn sadd(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = set::add(&mut c.tx, a.get(1), (2..a.len()).map(|i| a.get(i)))?;
    c.out.int(n as i64);
    Ok(())
}

/// SREM key member [member ...]
/// O(N) in the members given. Deletes the set when it empties.
pub fn srem(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = set::rem(&mut c.tx, a.get(1), (2..a.len()).map(|i| a.get(i)))?;
    c.out.int(n as i64);
    Ok(())
}

/// SISMEMBER key member
/// O(1).
pub fn sismember(c: &mut Ctx, a: &Args) -> CmdResult {
    let found = set::contains(&mut c.tx, a.get(1), a.iter_from(2))?;
    c.out.int(i64::from(found.first().copied().unwrap_or(false)));
    Ok(())
}

/// SMISMEMBER key member [member ...]
/// O(N) in the members given.
pub fn smismember(c: &mut Ctx, a: &Args) -> CmdResult {
    let found = set::contains(&mut c.tx, a.get(1), a.iter_from(2))?;
    c.out.array(found.len());
    for f in found {
        c.out.int(i64::from(f));
    }
    Ok(())
}

/// SCARD key
/// O(1): the count lives in the key's meta record.
pub fn scard(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = set::card(&mut c.tx, a.get(1))?;
    c.out.int(n as i64);
    Ok(())
}

/// SMEMBERS key
/// O(N).
pub fn smembers(c: &mut Ctx, a: &Args) -> CmdResult {
    let all = set::members(&mut c.tx, a.get(1))?;
    reply_set(c, &all);
    Ok(())
}

/// SPOP key [count]
/// O(1) without a count, O(count) with one (see
/// `types::members::random_distinct` for how a big set is sampled).
pub fn spop(c: &mut Ctx, a: &Args) -> CmdResult {
    match a.len() {
        2 => {
            let popped = set::pop(&mut c.tx, a.get(1), 1)?;
            reply_one(c, popped.first());
        }
        3 => {
            let count = a.i64(2).ok().filter(|&n| n >= 0);
            let count = count.ok_or(CmdError::Err("value is out of range, must be positive"))?;
            let popped = set::pop(&mut c.tx, a.get(1), count as u64)?;
            reply_set(c, &popped);
        }
        _ => return Err(CmdError::Syntax),
    }
    Ok(())
}

/// SRANDMEMBER key [count]
/// O(1) without a count, O(|count|) with one. A negative count may repeat
/// members.
pub fn srandmember(c: &mut Ctx, a: &Args) -> CmdResult {
    match a.len() {
        2 => {
            let picked = set::rand_members(&mut c.tx, a.get(1), Pick::Distinct(1))?;
            reply_one(c, picked.first());
        }
        3 => {
            let pick = rand_count(a, 2)?;
            let picked = set::rand_members(&mut c.tx, a.get(1), pick)?;
            c.out.array(picked.len());
            for m in &picked {
                c.out.bulk(m);
            }
        }
        _ => return Err(CmdError::Syntax),
    }
    Ok(())
}

/// SMOVE source destination member
/// O(1). `SMOVE s s m` only reports whether `m` is in `s`.
pub fn smove(c: &mut Ctx, a: &Args) -> CmdResult {
    let moved = set::smove(&mut c.tx, a.get(1), a.get(2), a.get(3))?;
    c.out.int(i64::from(moved));
    Ok(())
}

/// SINTER key [key ...]
/// O(N * M): walks the smallest set, point-checks the others.
pub fn sinter(c: &mut Ctx, a: &Args) -> CmdResult {
    algebra(c, a, Op::Inter)
}

/// SUNION key [key ...]
/// O(N) in the total members.
pub fn sunion(c: &mut Ctx, a: &Args) -> CmdResult {
    algebra(c, a, Op::Union)
}

/// SDIFF key [key ...]
/// O(N * M): walks the first set, point-checks the others.
pub fn sdiff(c: &mut Ctx, a: &Args) -> CmdResult {
    algebra(c, a, Op::Diff)
}

fn algebra(c: &mut Ctx, a: &Args, op: Op) -> CmdResult {
    let keys: Vec<&[u8]> = a.iter_from(1).collect();
    let result = set::combine(&mut c.tx, &keys, op)?;
    reply_set(c, &result);
    Ok(())
}

/// SINTERSTORE destination key [key ...]
/// O(N * M). Replies the size stored; an empty result deletes `destination`.
pub fn sinterstore(c: &mut Ctx, a: &Args) -> CmdResult {
    algebra_store(c, a, Op::Inter)
}

/// SUNIONSTORE destination key [key ...]
/// O(N). Replies the size stored; an empty result deletes `destination`.
pub fn sunionstore(c: &mut Ctx, a: &Args) -> CmdResult {
    algebra_store(c, a, Op::Union)
}

/// SDIFFSTORE destination key [key ...]
/// O(N * M). Replies the size stored; an empty result deletes `destination`.
pub fn sdiffstore(c: &mut Ctx, a: &Args) -> CmdResult {
    algebra_store(c, a, Op::Diff)
}

fn algebra_store(c: &mut Ctx, a: &Args, op: Op) -> CmdResult {
    let keys: Vec<&[u8]> = a.iter_from(2).collect();
    let n = set::store(&mut c.tx, a.get(1), &keys, op)?;
    c.out.int(n as i64);
    Ok(())
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
/// O(N * M), stopping once `limit` members are counted (0 = no limit).
pub fn sintercard(c: &mut Ctx, a: &Args) -> CmdResult {
    let numkeys = a.i64(1).ok().filter(|&n| n > 0);
    let numkeys = numkeys.ok_or(CmdError::Err("numkeys should be greater than 0"))? as u64;
    if numkeys > (a.len() - 2) as u64 {
        return Err(CmdError::Err("Number of keys can't be greater than number of args"));
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0;
    let mut i = keys_end;
    while i < a.len() {
        if a.is(i, "LIMIT") && i + 1 < a.len() {
            let n = a.i64(i + 1).ok().filter(|&n| n >= 0);
            limit = n.ok_or(CmdError::Err("LIMIT can't be negative"))? as u64;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys: Vec<&[u8]> = (2..keys_end).map(|i| a.get(i)).collect();
    let n = set::inter_card(&mut c.tx, &keys, limit)?;
    c.out.int(n as i64);
    Ok(())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
/// O(COUNT) per call.
pub fn sscan(c: &mut Ctx, a: &Args) -> CmdResult {
    scan(c, a, Type::Set, ScanValue::Nothing)
}

/// A bulk member, or nil.
fn reply_one(c: &mut Ctx, member: Option<&Vec<u8>>) {
    match member {
        Some(m) => c.out.bulk(m),
        None => c.out.null(),
    }
}

/// Members as a RESP3 set (an array in RESP2).
fn reply_set(c: &mut Ctx, members: &[Vec<u8>]) {
    c.out.set(members.len());
    for m in members {
        c.out.bulk(m);
    }
}
