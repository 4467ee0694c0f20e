//! Hash semantics over the store: one `data` sub-key per field (value = the
//! field's value), the field count in `meta`. Field operations are point
//! reads and writes; only the commands whose reply is the whole hash
//! (HGETALL, HKEYS, HVALS) read it whole. Shared element logic (insert,
//! remove, random picks, scans) is in `types::members`.

use super::members::{self, Element, Members, OnExisting, Pick};
use super::string::long_double;
use crate::error::CmdError;
use crate::storage::{Meta, Tx, Type};
use crate::util::parse_i64;

/// The live hash at `key`: `None` if absent, WRONGTYPE for another type.
pub fn lookup(tx: &mut Tx, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    members::lookup(tx, key, Type::Hash)
}

/// HSET / HMSET / HSETNX: writes `pairs` (field, value); an existing field
/// is overwritten or kept per `on_existing`. Returns the fields created.
pub fn set<'a, I>(tx: &mut Tx, key: &[u8], pairs: I, on_existing: OnExisting) -> Result<u64, CmdError>
where
    I: ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
{
    let meta = lookup(tx, key)?;
    members::insert(tx, key, Type::Hash, meta, pairs, on_existing)
}

/// HGET: the value of `field`.
pub fn get(tx: &mut Tx, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    match lookup(tx, key)? {
        Some(m) => Members::new(tx.store(), tx.db, key, &m).get(field),
        None => Ok(None),
    }
}

/// HMGET: the value of each field (None where absent).
pub fn mget<'a>(
    tx: &mut Tx,
    key: &[u8],
    fields: impl Iterator<Item = &'a [u8]>,
) -> Result<Vec<Option<Vec<u8>>>, CmdError> {
    let meta = lookup(tx, key)?;
    let hash = meta.as_ref().map(|m| Members::new(tx.store(), tx.db, key, m));
    fields.map(|f| hash.as_ref().map_or(Ok(None), |h| h.get(f))).collect()
}

/// HDEL: removes `fields`, deleting the hash when it empties. Returns how
/// many existed.
pub fn del<'a, I>(tx: &mut Tx, key: &[u8], fields: I) -> Result<u64, CmdError>
where
    I: ExactSizeIterator<Item = &'a [u8]>,
{
    match lookup(tx, key)? {
        Some(m) => members::remove(tx, key, &m, fields),
        None => Ok(0),
    }
}

/// HLEN: the number of fields (0 if absent).
pub fn len(tx: &mut Tx, key: &[u8]) -> Result<u64, CmdError> {
    Ok(lookup(tx, key)?.map_or(0, |m| m.len()))
}

/// HGETALL / HKEYS / HVALS: every (field, value), in field byte order.
pub fn all(tx: &mut Tx, key: &[u8]) -> Result<Vec<Element>, CmdError> {
    match lookup(tx, key)? {
        Some(m) => Members::new(tx.store(), tx.db, key, &m).all(),
        None => Ok(Vec::new()),
    }
}

/// HINCRBY: adds `delta` to the integer in `field` (0 if absent). Returns
/// the new value.
pub fn incr_by(tx: &mut Tx, key: &[u8], field: &[u8], delta: i64) -> Result<i64, CmdError> {
    let meta = lookup(tx, key)?;
    let cur = match current(tx, key, meta.as_ref(), field)? {
        Some(v) => parse_i64(&v).ok_or(CmdError::Err("hash value is not an integer"))?,
        None => 0,
    };
    let new = cur.checked_add(delta).ok_or(CmdError::Overflow)?;
    let mut digits = itoa::Buffer::new();
    write(tx, key, meta, field, digits.format(new).as_bytes())?;
    Ok(new)
}

/// HINCRBYFLOAT: adds the decimal `incr` to the number in `field` (0 if
/// absent) in Redis's long-double arithmetic. Returns the new value's text.
pub fn incr_by_float(tx: &mut Tx, key: &[u8], field: &[u8], incr: &[u8]) -> Result<String, CmdError> {
    // The increment is judged before the key, with its own texts.
    long_double::add_decimal(None, incr).map_err(|e| match e {
        long_double::AddError::NotFloat => CmdError::NotFloat,
        long_double::AddError::NanOrInfinity => CmdError::Err("value is NaN or Infinity"),
    })?;
    let meta = lookup(tx, key)?;
    let old = current(tx, key, meta.as_ref(), field)?;
    let text = long_double::add_decimal(old.as_deref(), incr).map_err(|e| match e {
        // The increment parsed above, so it is the stored value that does not.
        long_double::AddError::NotFloat => CmdError::Err("hash value is not a float"),
        long_double::AddError::NanOrInfinity => CmdError::Err("increment would produce NaN or Infinity"),
    })?;
    write(tx, key, meta, field, text.as_bytes())?;
    Ok(text)
}

/// The value of `field` in the hash `meta` (if any).
fn current(tx: &Tx, key: &[u8], meta: Option<&Meta>, field: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    match meta {
        Some(m) => Members::new(tx.store(), tx.db, key, m).get(field),
        None => Ok(None),
    }
}

/// Sets one field, creating the hash if needed.
fn write(tx: &mut Tx, key: &[u8], meta: Option<Meta>, field: &[u8], value: &[u8]) -> Result<(), CmdError> {
    members::insert(tx, key, Type::Hash, meta, std::iter::once((field, value)), OnExisting::Replace)?;
    Ok(())
}

/// HRANDFIELD: random (field, value) pairs of the hash at `key` (empty if absent).
pub fn rand_fields(tx: &mut Tx, key: &[u8], pick: Pick) -> Result<Vec<Element>, CmdError> {
    match lookup(tx, key)? {
        Some(m) => members::random(tx, key, &m, pick),
        None => Ok(Vec::new()),
    }
}
