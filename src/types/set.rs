//! Set semantics over the store: one `data` sub-key per member (empty
//! value), the cardinality in `meta`. Membership is a point read; the
//! algebra (SINTER, SUNION, SDIFF and their STORE forms) walks the sets it
//! must and checks the others by point reads. Shared element logic (insert,
//! remove, random picks, scans) is in `types::members`.

use super::members::{self, Element, Members, OnExisting, Pick};
use crate::error::CmdError;
use crate::storage::{Meta, Tx, Type};
use std::collections::HashSet;

/// The live set at `key`: `None` if absent, WRONGTYPE for another type.
pub fn lookup(tx: &mut Tx, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    members::lookup(tx, key, Type::Set)
}

/// SADD: adds `items`, creating the set. Returns how many were new.
pub fn add<'a, I>(tx: &mut Tx, key: &[u8], items: I) -> Result<u64, CmdError>
where
    I: ExactSizeIterator<Item = &'a [u8]>,
{
    let meta = lookup(tx, key)?;
    members::insert(tx, key, Type::Set, meta, items.map(|m| (m, &b""[..])), OnExisting::Keep)
}

/// SREM: removes `items`, deleting the set when it empties. Returns how many
/// were members.
pub fn rem<'a, I>(tx: &mut Tx, key: &[u8], items: I) -> Result<u64, CmdError>
where
    I: ExactSizeIterator<Item = &'a [u8]>,
{
    match lookup(tx, key)? {
        Some(m) => members::remove(tx, key, &m, items),
        None => Ok(0),
    }
}

/// SISMEMBER / SMISMEMBER: membership of each item (false if the set is absent).
pub fn contains<'a>(tx: &mut Tx, key: &[u8], items: impl Iterator<Item = &'a [u8]>) -> Result<Vec<bool>, CmdError> {
    let meta = lookup(tx, key)?;
    let set = meta.as_ref().map(|m| Members::new(tx.store(), tx.db, key, m));
    items.map(|i| set.as_ref().map_or(Ok(false), |s| s.contains(i))).collect()
}

/// SMEMBERS: every member, in byte order (empty if the set is absent).
pub fn members(tx: &mut Tx, key: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    let Some(meta) = lookup(tx, key)? else {
        return Ok(Vec::new());
    };
    Ok(Members::new(tx.store(), tx.db, key, &meta).all()?.into_iter().map(|(m, _)| m).collect())
}

/// SCARD: the cardinality (0 if absent).
pub fn card(tx: &mut Tx, key: &[u8]) -> Result<u64, CmdError> {
    Ok(lookup(tx, key)?.map_or(0, |m| m.len()))
}

/// SPOP: removes and returns up to `count` random members (the whole set,
/// and the key, when `count` reaches its size).
pub fn pop(tx: &mut Tx, key: &[u8], count: u64) -> Result<Vec<Vec<u8>>, CmdError> {
    let Some(meta) = lookup(tx, key)? else {
        return Ok(Vec::new());
    };
    if count == 0 {
        return Ok(Vec::new());
    }
    let picked = members::random(tx, key, &meta, Pick::Distinct(count))?;
    members::remove_known(tx, key, &meta, &picked)?;
    Ok(picked.into_iter().map(|(m, _)| m).collect())
}

/// SRANDMEMBER: random members per `pick` (empty if the set is absent).
pub fn rand_members(tx: &mut Tx, key: &[u8], pick: Pick) -> Result<Vec<Vec<u8>>, CmdError> {
    let Some(meta) = lookup(tx, key)? else {
        return Ok(Vec::new());
    };
    Ok(members::random(tx, key, &meta, pick)?.into_iter().map(|(m, _)| m).collect())
}

/// SMOVE: moves `member` from `src` to `dst`. Returns false if it was not in
/// `src`. Like Redis: a missing `src` answers false before any type check of
/// `dst`, and `src == dst` only reports membership.
pub fn smove(tx: &mut Tx, src: &[u8], dst: &[u8], member: &[u8]) -> Result<bool, CmdError> {
    let Some(src_meta) = lookup(tx, src)? else {
        return Ok(false);
    };
    let dst_meta = lookup(tx, dst)?;
    if src == dst {
        return Members::new(tx.store(), tx.db, src, &src_meta).contains(member);
    }
    if members::remove(tx, src, &src_meta, std::iter::once(member))? == 0 {
        return Ok(false);
    }
    members::insert(tx, dst, Type::Set, dst_meta, std::iter::once((member, &b""[..])), OnExisting::Keep)?;
    Ok(true)
}

/// The set operation of SINTER, SUNION, SDIFF and their STORE forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Members of every set.
    Inter,
    /// Members of any set.
    Union,
    /// Members of the first set and of none of the others.
    Diff,
}

/// An operand of the algebra: a key and its live record (None = empty set).
type Operand<'k> = (&'k [u8], Option<Meta>);

/// The live records of `keys`, every one type-checked before any is used
/// (Redis 7.0 reports WRONGTYPE even after a missing key).
fn lookup_all<'k>(tx: &mut Tx, keys: &[&'k [u8]]) -> Result<Vec<Operand<'k>>, CmdError> {
    keys.iter().map(|&k| Ok((k, lookup(tx, k)?))).collect()
}

/// SINTER / SUNION / SDIFF: the members of the combination of `keys` (an
/// absent key is an empty set), in no particular order. Reads: INTER walks
/// the smallest set and point-checks the others; UNION walks them all;
/// DIFF walks the first and point-checks the others.
pub fn combine(tx: &mut Tx, keys: &[&[u8]], op: Op) -> Result<Vec<Vec<u8>>, CmdError> {
    let sets = lookup_all(tx, keys)?;
    let mut out = Vec::new();
    match op {
        Op::Inter => {
            intersect(tx, &sets, u64::MAX, |m| out.push(m))?;
        }
        Op::Union => {
            let mut seen: HashSet<Vec<u8>, ahash::RandomState> = HashSet::default();
            for (key, meta) in &sets {
                let Some(meta) = meta else { continue };
                Members::new(tx.store(), tx.db, key, meta).for_each(|(m, _)| {
                    if seen.insert(m.clone()) {
                        out.push(m);
                    }
                    Ok(true)
                })?;
            }
        }
        Op::Diff => {
            let Some((first, Some(first_meta))) = sets.first() else {
                return Ok(out);
            };
            let others: Vec<Members> = sets[1..]
                .iter()
                .filter_map(|(k, m)| m.as_ref().map(|m| Members::new(tx.store(), tx.db, k, m)))
                .collect();
            Members::new(tx.store(), tx.db, first, first_meta).for_each(|(m, _)| {
                if !any_contains(&others, &m)? {
                    out.push(m);
                }
                Ok(true)
            })?;
        }
    }
    Ok(out)
}

/// True if any of `sets` holds `member`.
fn any_contains(sets: &[Members], member: &[u8]) -> Result<bool, CmdError> {
    for s in sets {
        if s.contains(member)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Calls `f` on each member of the intersection of `sets`, stopping after
/// `limit`; returns how many were found. Walks the smallest set in batches.
fn intersect(tx: &Tx, sets: &[Operand], limit: u64, mut f: impl FnMut(Vec<u8>)) -> Result<u64, CmdError> {
    if limit == 0 {
        return Ok(0);
    }
    let mut present = Vec::with_capacity(sets.len());
    for (key, meta) in sets {
        match meta {
            Some(m) => present.push((*key, m)),
            None => return Ok(0),
        }
    }
    present.sort_by_key(|(_, m)| m.len());
    let Some(((small_key, small), rest)) = present.split_first() else {
        return Ok(0);
    };
    let others: Vec<Members> = rest.iter().map(|(k, m)| Members::new(tx.store(), tx.db, k, m)).collect();
    let mut found = 0;
    Members::new(tx.store(), tx.db, small_key, small).for_each(|(m, _)| {
        for o in &others {
            if !o.contains(&m)? {
                return Ok(true);
            }
        }
        found += 1;
        f(m);
        Ok(found < limit)
    })?;
    Ok(found)
}

/// SINTERCARD: the size of the intersection of `keys`, counting at most
/// `limit` (0 = no limit).
pub fn inter_card(tx: &mut Tx, keys: &[&[u8]], limit: u64) -> Result<u64, CmdError> {
    let sets = lookup_all(tx, keys)?;
    let limit = if limit == 0 { u64::MAX } else { limit };
    intersect(tx, &sets, limit, |_| {})
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE: writes the combination of `keys`
/// to `dst` (replacing any value there; deleting `dst` if the result is
/// empty). `dst` may be one of `keys`: the result is computed before the
/// write. Returns the result's size.
pub fn store(tx: &mut Tx, dst: &[u8], keys: &[&[u8]], op: Op) -> Result<u64, CmdError> {
    let result = combine(tx, keys, op)?;
    let elems: Vec<Element> = result.into_iter().map(|m| (m, Vec::new())).collect();
    members::replace(tx, dst, Type::Set, &elems)?;
    Ok(elems.len() as u64)
}
