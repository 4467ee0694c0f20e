//! List semantics over the store; no RESP (the handlers are in `cmd/list.rs`).
//!
//! Layout (DESIGN.md "Storage encoding"): the `meta` record carries the
//! version, the length and, as its type extras, `head u64 BE | tail u64 BE`:
//! the absolute index of the first element and one past the last. Element `i`
//! (0 = head) lives in `Cf::Data` under sub-key `head + i` (u64 BE), so byte
//! order is list order. A list is born with `head = tail = 2^63`: LPUSH grows
//! it downwards, RPUSH upwards, and neither can run out in practice.
//!
//! Invariants every function keeps:
//! - every index in `head..tail` has a sub-key in the current version; the
//!   records of indexes outside it are dead and never read (walks stop at
//!   the ends). Pops, trims and LREM only move the ends: they write no
//!   deletes, and the GC filter drops those records at compaction
//!   (`storage/gc.rs`). A pop's point delete was a memtable insert in
//!   descending key order (RPOP), the skiplist's slowest insert, and the
//!   tombstones of a drained queue slowed every later seek past them;
//! - `len == tail - head`, and a list that becomes empty is deleted (its meta
//!   record only: the sub-keys of a dead version are left to the GC filter);
//! - the expiry of a list survives every change of its contents.
//!
//! Costs follow Redis: push/pop/LINDEX/LSET are index arithmetic plus point
//! operations, LRANGE a bounded iterator; LINSERT and LREM find their element
//! by walking (O(N) like Redis) and then shift only the short side of the
//! insertion point, or only the stretch up to the last removed element.
//!
//! Walks read the store through an iterator, which does not see the command's
//! own pending writes: every function reads what it needs before it writes
//! (the same-key case, LMOVE l l, pops through point reads, which do see them).

use crate::error::{CmdError, Error};
use crate::storage::keys::{self, Cf};
use crate::storage::{Meta, OfType, Store, Tx, Type};

/// Elements a pop reads ahead into the member cache (`Store::last_member_read`).
const READ_AHEAD: u64 = 64;

/// Absolute index of the first element of a new list.
pub const ORIGIN: u64 = 1 << 63;

/// One end of a list (LEFT = head, RIGHT = tail); also a walking direction
/// (towards the head or towards the tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (index 0).
    Left,
    /// The tail (index -1).
    Right,
}

/// Whether a push may create the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exists {
    /// LPUSH / RPUSH: create it if absent.
    Any,
    /// LPUSHX / RPUSHX: push only onto an existing list.
    Required,
}

/// Where LINSERT puts the element relative to the pivot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// BEFORE the pivot.
    Before,
    /// AFTER the pivot.
    After,
}

/// A live list's record, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List {
    version: u64,
    head: u64,
    tail: u64,
    expire_ms: u64,
}

impl List {
    fn decode(m: &Meta, key: &[u8]) -> Result<List, Error> {
        let corrupt = || Error::Corrupt { cf: "meta", key: key.to_vec() };
        let (head, tail) = m.list_span().ok_or_else(corrupt)?;
        if tail < head || tail - head != m.len() {
            return Err(corrupt());
        }
        Ok(List { version: m.version(), head, tail, expire_ms: m.expire_ms() })
    }

    fn encode(&self) -> Meta {
        let mut extra = [0u8; 16];
        extra[..8].copy_from_slice(&self.head.to_be_bytes());
        extra[8..].copy_from_slice(&self.tail.to_be_bytes());
        Meta::collection(Type::List, self.version, self.len(), self.expire_ms, &extra)
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.tail - self.head
    }

    /// True if empty (only ever transiently: empty lists are deleted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Position `i` (negative counts from the tail) as an offset from the head,
    /// if it is inside the list.
    fn offset(&self, i: i64) -> Option<u64> {
        let len = self.len() as i128;
        let i = if i < 0 { len + i as i128 } else { i as i128 };
        (0..len).contains(&i).then_some(i as u64)
    }
}

/// The data key of absolute index `abs`.
fn sub_key(db: u8, key: &[u8], l: &List, abs: u64) -> Vec<u8> {
    keys::data(db, key, l.version, &abs.to_be_bytes())
}

/// The live list at `key`: `None` if absent, WRONGTYPE if another type.
pub fn get(tx: &mut Tx, key: &[u8]) -> Result<Option<List>, CmdError> {
    match tx.meta(key)?.of_type(Type::List)? {
        Some(m) => Ok(Some(List::decode(&m, key)?)),
        None => Ok(None),
    }
}

/// Writes the list's record, or deletes the key once it is empty.
fn save(tx: &mut Tx, key: &[u8], l: &List) -> Result<(), CmdError> {
    if l.is_empty() {
        tx.del_meta(key)?;
    } else {
        tx.put_meta(key, l.encode())?;
    }
    Ok(())
}

/// Visits the elements from offset `from` walking towards `dir` (Right = to
/// the tail), giving `f` each element's offset and value until it returns
/// false. Reads the committed store (see the module note).
fn walk(
    store: &Store,
    db: u8,
    key: &[u8],
    l: &List,
    from: u64,
    dir: End,
    mut f: impl FnMut(u64, &[u8]) -> bool,
) -> Result<(), CmdError> {
    if from >= l.len() {
        return Ok(());
    }
    let prefix = keys::data_prefix(db, key, l.version);
    let start = sub_key(db, key, l, l.head + from);
    // Stop on the end element itself, never stepping past it: beyond the
    // ends lie the tombstones of popped elements (a queue fed by RPUSH and
    // drained by LPOP leaves a long run of them until compaction), which the
    // iterator would otherwise skip one by one.
    let end = match dir {
        End::Right => l.len() - 1,
        End::Left => 0,
    };
    let mut corrupt = false;
    store.iter_prefix(Cf::Data, &prefix, Some(&start), dir == End::Left, |k, v| {
        let Some(abs) = k.get(prefix.len()..).and_then(|s| s.try_into().ok()).map(u64::from_be_bytes) else {
            corrupt = true;
            return false;
        };
        if abs < l.head || abs >= l.tail {
            return false;
        }
        let off = abs - l.head;
        f(off, v) && off != end
    })?;
    if corrupt {
        return Err(CmdError::storage(Error::Corrupt { cf: "data", key: key.to_vec() }));
    }
    Ok(())
}

/// LPUSH / RPUSH / LPUSHX / RPUSHX: pushes `elems` one by one at `end` (so
/// LPUSH reverses them). Returns the new length, or 0 if `Exists::Required`
/// and there is no list.
pub fn push<'e>(
    tx: &mut Tx,
    key: &[u8],
    elems: impl IntoIterator<Item = &'e [u8]>,
    end: End,
    exists: Exists,
) -> Result<u64, CmdError> {
    let mut l = match get(tx, key)? {
        Some(l) => l,
        None if exists == Exists::Required => return Ok(0),
        None => List { version: tx.new_version()?, head: ORIGIN, tail: ORIGIN, expire_ms: 0 },
    };
    let db = tx.db;
    for e in elems {
        let abs = match end {
            End::Left => {
                l.head -= 1;
                l.head
            }
            End::Right => {
                l.tail += 1;
                l.tail - 1
            }
        };
        tx.put(Cf::Data, sub_key(db, key, &l, abs), e.to_vec());
    }
    save(tx, key, &l)?;
    Ok(l.len())
}

/// Pops up to `count` elements from `end` of list `l` (read by [`get`]), in
/// pop order; deletes the key if it empties. One element is read with a
/// point read, which sees the command's earlier writes; more go through an
/// iterator, so a command popping several must not have written the list
/// before (LPOP, RPOP and LMPOP only read it first).
pub fn pop(tx: &mut Tx, key: &[u8], mut l: List, end: End, count: u64) -> Result<Vec<Vec<u8>>, CmdError> {
    let n = count.min(l.len());
    if n == 0 {
        return Ok(Vec::new());
    }
    let db = tx.db;
    let first = match end {
        End::Left => 0,
        End::Right => l.len() - 1,
    };
    let mut out = Vec::with_capacity(n as usize);
    if n == 1 {
        let abs = l.head + first;
        let k = sub_key(db, key, &l, abs);
        let v = if tx.has_pending_ops() {
            // A point read sees this command's own writes (LMOVE l l).
            tx.get(Cf::Data, &k)?
        } else {
            // The next pops from this end read the elements next to this one.
            let (from, to) = match end {
                End::Left => (abs, abs.saturating_add(READ_AHEAD - 1).min(l.tail - 1)),
                End::Right => (abs.saturating_sub(READ_AHEAD - 1).max(l.head), abs),
            };
            let (from, to) = (sub_key(db, key, &l, from), sub_key(db, key, &l, to));
            tx.store().last_member_read(&keys::data_prefix(db, key, l.version), &k, &from, &to)?
        };
        out.push(v.ok_or_else(|| CmdError::storage(Error::Corrupt { cf: "data", key: key.to_vec() }))?);
    } else {
        walk(tx.store(), db, key, &l, first, end.flip(), |_, v| {
            out.push(v.to_vec());
            (out.len() as u64) < n
        })?;
        if out.len() as u64 != n {
            return Err(CmdError::storage(Error::Corrupt { cf: "data", key: key.to_vec() }));
        }
    }
    match end {
        End::Left => l.head += n,
        End::Right => l.tail -= n,
    }
    save(tx, key, &l)?;
    Ok(out)
}

impl End {
    /// The walking direction that starts at this end and goes inwards.
    fn flip(self) -> End {
        match self {
            End::Left => End::Right,
            End::Right => End::Left,
        }
    }
}

/// Makes `key` the list `elems` whatever it held before (any type; the TTL
/// goes too), or deletes it when `elems` is empty (SORT ... STORE).
/// Returns the new length.
pub fn replace<'e>(tx: &mut Tx, key: &[u8], elems: impl ExactSizeIterator<Item = &'e [u8]>) -> Result<u64, CmdError> {
    if tx.meta(key)?.is_some() {
        tx.del_meta(key)?;
    }
    if elems.len() == 0 {
        return Ok(0);
    }
    push(tx, key, elems, End::Right, Exists::Any)
}

/// LMOVE / RPOPLPUSH: pops one element from `from` of `src` (read by [`get`])
/// and pushes it at `to` of `dst`. The destination's type is checked before
/// anything changes, as Redis does; `src == dst` rotates.
pub fn lmove(tx: &mut Tx, src_key: &[u8], src: List, dst_key: &[u8], from: End, to: End) -> Result<Vec<u8>, CmdError> {
    get(tx, dst_key)?;
    let v = pop(tx, src_key, src, from, 1)?.pop().expect("invariant: a live list has an element to pop");
    // `push` reads the destination's record again, so when it is the source
    // it sees the pop (or that the pop deleted the list, and makes a new one).
    push(tx, dst_key, [v.as_slice()], to, Exists::Any)?;
    Ok(v)
}

/// LINDEX: the element at `index` (negative counts from the tail).
pub fn index(tx: &mut Tx, key: &[u8], l: &List, index: i64) -> Result<Option<Vec<u8>>, CmdError> {
    match l.offset(index) {
        Some(off) => Ok(tx.get(Cf::Data, &sub_key(tx.db, key, l, l.head + off))?),
        None => Ok(None),
    }
}

/// LSET: replaces the element at `index`; `ERR index out of range` outside.
pub fn set(tx: &mut Tx, key: &[u8], l: &List, index: i64, value: &[u8]) -> Result<(), CmdError> {
    let off = l.offset(index).ok_or(CmdError::Err("index out of range"))?;
    tx.put(Cf::Data, sub_key(tx.db, key, l, l.head + off), value.to_vec());
    // Rewriting the (unchanged) record marks the key as modified for the
    // server's bookkeeping (WATCH, keyspace changes), like Redis's signal.
    save(tx, key, l)
}

/// Redis's LRANGE/LTRIM normalization: the offsets `first..=last` that
/// `start`/`stop` select in a list of `len`, or `None` for an empty range.
pub fn span(len: u64, start: i64, stop: i64) -> Option<(u64, u64)> {
    let len = len as i128;
    let (mut start, mut stop) = (start as i128, stop as i128);
    if start < 0 {
        start += len;
    }
    if stop < 0 {
        stop += len;
    }
    start = start.max(0);
    if start > stop || start >= len {
        return None;
    }
    stop = stop.min(len - 1);
    Some((start as u64, stop as u64))
}

/// LRANGE: calls `f` with each element of offsets `first..=last`, in order
/// (a bounded iterator: the cost is the range's, not the list's).
pub fn range(tx: &Tx, key: &[u8], l: &List, first: u64, last: u64, mut f: impl FnMut(&[u8])) -> Result<(), CmdError> {
    walk(tx.store(), tx.db, key, l, first, End::Right, |off, v| {
        f(v);
        off < last
    })
}

/// LTRIM: keeps offsets `start..=stop` (Redis's normalization), deleting the
/// key if nothing is left.
pub fn trim(tx: &mut Tx, key: &[u8], mut l: List, start: i64, stop: i64) -> Result<(), CmdError> {
    let Some((first, last)) = span(l.len(), start, stop) else {
        return Ok(tx.del_meta(key)?);
    };
    let (new_head, new_tail) = (l.head + first, l.head + last + 1);
    if (new_head, new_tail) != (l.head, l.tail) {
        l.head = new_head;
        l.tail = new_tail;
        save(tx, key, &l)?;
    }
    Ok(())
}

/// LREM: removes the first `count` elements equal to `elem` from the head
/// (`count > 0`), the last `-count` from the tail (`count < 0`) or all of them
/// (0). Returns how many were removed.
///
/// Only the stretch from the end the search starts at to the last removed
/// element is rewritten: its survivors slide over the gaps towards that last
/// removed element, and the end moves over the slots it freed. So LREM l 1 x
/// on a long list with x near the head rewrites a few elements, not the list.
pub fn rem(tx: &mut Tx, key: &[u8], mut l: List, count: i64, elem: &[u8]) -> Result<u64, CmdError> {
    let db = tx.db;
    let store = tx.store();
    let limit = count.unsigned_abs();
    // 1. Where the stretch to compact ends (the last element to remove), and
    //    which way the compaction walks from there.
    let (stop, dir) = if count == 0 {
        (l.len() - 1, End::Left)
    } else {
        let search = if count > 0 { End::Right } else { End::Left };
        let from = if count > 0 { 0 } else { l.len() - 1 };
        let mut seen = 0u64;
        let mut last = None;
        walk(store, db, key, &l, from, search, |off, v| {
            if v == elem {
                seen += 1;
                last = Some(off);
            }
            seen < limit
        })?;
        match last {
            Some(off) => (off, search.flip()),
            None => return Ok(0),
        }
    };
    // 2. Walk back from there to the start, dropping every match in the
    //    stretch and moving each survivor over the gaps seen so far.
    //    (The walk reads the store, so these writes do not disturb it.)
    let mut removed = 0u64;
    walk(store, db, key, &l, stop, dir, |off, v| {
        if v == elem {
            removed += 1;
        } else if removed > 0 {
            let abs = l.head + off;
            let to = match dir {
                End::Left => abs + removed,
                End::Right => abs - removed,
            };
            tx.put(Cf::Data, sub_key(db, key, &l, to), v.to_vec());
        }
        true
    })?;
    if removed == 0 {
        return Ok(0);
    }
    if removed == l.len() {
        tx.del_meta(key)?;
        return Ok(removed);
    }
    match dir {
        End::Left => l.head += removed,
        End::Right => l.tail -= removed,
    }
    save(tx, key, &l)?;
    Ok(removed)
}

/// LINSERT: inserts `elem` before or after the first element equal to
/// `pivot`. Returns the new length, or `None` if there is no pivot. The
/// elements on the shorter side of the insertion point move by one.
pub fn insert(
    tx: &mut Tx,
    key: &[u8],
    mut l: List,
    place: Place,
    pivot: &[u8],
    elem: &[u8],
) -> Result<Option<u64>, CmdError> {
    let db = tx.db;
    let store = tx.store();
    let mut found = None;
    walk(store, db, key, &l, 0, End::Right, |off, v| {
        if v == pivot {
            found = Some(off);
        }
        found.is_none()
    })?;
    let Some(p) = found else { return Ok(None) };
    // `at`: the offset the new element will have; `at` elements precede it.
    let at = match place {
        Place::Before => p,
        Place::After => p + 1,
    };
    let old = l;
    if at <= l.len() - at {
        // Shift the `at` elements before it one slot towards the head.
        if at > 0 {
            walk(store, db, key, &old, 0, End::Right, |off, v| {
                tx.put(Cf::Data, sub_key(db, key, &old, old.head + off - 1), v.to_vec());
                off + 1 < at
            })?;
        }
        l.head -= 1;
    } else {
        // Shift the elements from `at` on one slot towards the tail.
        walk(store, db, key, &old, at, End::Right, |off, v| {
            tx.put(Cf::Data, sub_key(db, key, &old, old.head + off + 1), v.to_vec());
            true
        })?;
        l.tail += 1;
    }
    tx.put(Cf::Data, sub_key(db, key, &l, l.head + at), elem.to_vec());
    save(tx, key, &l)?;
    Ok(Some(l.len()))
}

/// What LPOS looks for.
#[derive(Debug, Clone, Copy)]
pub struct PosQuery {
    /// Which match is the first reported: 1 = the first from the head, -1 =
    /// the first from the tail (never 0).
    pub rank: i64,
    /// How many matches to report (0 = all).
    pub count: u64,
    /// How many elements to examine at most (0 = all).
    pub maxlen: u64,
}

/// LPOS: the offsets of matches of `elem`, as `q` asks.
pub fn positions(tx: &Tx, key: &[u8], l: &List, elem: &[u8], q: PosQuery) -> Result<Vec<u64>, CmdError> {
    let (dir, from) = if q.rank < 0 { (End::Left, l.len() - 1) } else { (End::Right, 0) };
    // Redis negates the rank with C's wrapping arithmetic, so -2^63 stays
    // negative and every match is at or past it; `skip` 0 reproduces that.
    let skip = if q.rank == i64::MIN { 0 } else { q.rank.unsigned_abs() - 1 };
    let mut matches = 0u64;
    let mut examined = 0u64;
    let mut out = Vec::new();
    walk(tx.store(), tx.db, key, l, from, dir, |off, v| {
        examined += 1;
        if v == elem {
            matches += 1;
            if matches > skip {
                out.push(off);
                if q.count != 0 && out.len() as u64 >= q.count {
                    return false;
                }
            }
        }
        q.maxlen == 0 || examined < q.maxlen
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests;
