//! Stream semantics over the store (Redis 7.0's t_stream.c), no RESP.
//!
//! Layout (the sub-key tags are drawn in `storage/keys.rs`):
//! - `meta`: version, entry count, and the stream extras below;
//! - one `data` sub-key per entry, keyed by id, so a range read is one bounded
//!   iterator and XDEL a point delete;
//! - per consumer group one group record, one record per consumer and one per
//!   pending entry (the group's PEL in id order). A consumer's own PEL is the
//!   group PEL filtered by owner; counts are kept in the group and consumer
//!   records so XINFO and XPENDING's summary need no scan of the PEL.
//!
//! Redis packs entries into listpack nodes of 100 entries (stream-node-max-
//! entries); approximate trimming (`~`) removes whole nodes only. We emulate
//! the nodes: each entry remembers its add index, and node = (index - base) /
//! 100 where `base` is the add index of the first entry of a stream that was
//! empty. (Redis also closes a node at 4096 bytes; entries that large make `~`
//! trim later here than there, never more.)

use crate::error::CmdError;
use crate::storage::keys::{self as layout, StreamTag};
use crate::storage::{Cf, Meta, Tx, Type};

/// Entries per emulated listpack node (Redis's stream-node-max-entries default).
pub const NODE_ENTRIES: u64 = 100;
/// Entries approximate trimming removes at most without LIMIT (100 nodes).
pub const DEFAULT_TRIM_LIMIT: u64 = 100 * NODE_ENTRIES;

/// `ERR Invalid stream ID specified as stream command argument`.
pub const INVALID_ID: CmdError = CmdError::Err("Invalid stream ID specified as stream command argument");

/// A stream entry id `ms-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Id {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl Id {
    /// `0-0`.
    pub const MIN: Id = Id { ms: 0, seq: 0 };
    /// The largest id.
    pub const MAX: Id = Id { ms: u64::MAX, seq: u64::MAX };

    /// The next id, None past the largest.
    pub fn next(self) -> Option<Id> {
        if self.seq < u64::MAX {
            Some(Id { ms: self.ms, seq: self.seq + 1 })
        } else if self.ms < u64::MAX {
            Some(Id { ms: self.ms + 1, seq: 0 })
        } else {
            None
        }
    }

    /// The previous id, None before `0-0`.
    pub fn prev(self) -> Option<Id> {
        if self.seq > 0 {
            Some(Id { ms: self.ms, seq: self.seq - 1 })
        } else if self.ms > 0 {
            Some(Id { ms: self.ms - 1, seq: u64::MAX })
        } else {
            None
        }
    }

    /// The 16 order-preserving bytes of sub-keys.
    pub fn bytes(self) -> [u8; 16] {
        layout::stream_id(self.ms, self.seq)
    }

    /// Decodes the id at the end of a sub-key.
    fn from_key(k: &[u8]) -> Id {
        let (ms, seq) = layout::split_stream_id(k).unwrap_or((0, 0));
        Id { ms, seq }
    }

    /// Text form `ms-seq`.
    pub fn text(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }

    /// Parses `ms[-seq]` (a missing seq is `missing_seq`); `-` and `+` are
    /// the extremes unless `strict`. Redis's streamGenericParseIDOrReply.
    pub fn parse(s: &[u8], missing_seq: u64, strict: Strict) -> Result<Id, CmdError> {
        if strict == Strict::No && s == b"-" {
            return Ok(Id::MIN);
        }
        if strict == Strict::No && s == b"+" {
            return Ok(Id::MAX);
        }
        let (ms, seq) = match s.iter().position(|&b| b == b'-') {
            Some(p) => (&s[..p], Some(&s[p + 1..])),
            None => (s, None),
        };
        let ms = parse_u64(ms).ok_or(INVALID_ID)?;
        let seq = match seq {
            Some(q) => parse_u64(q).ok_or(INVALID_ID)?,
            None => missing_seq,
        };
        Ok(Id { ms, seq })
    }

    /// An interval bound: `(` makes it exclusive (not allowed with `-`/`+`),
    /// turned into the inclusive neighbour; `Bound::Start`'s overflow is
    /// Redis's "invalid start ID" error.
    pub fn parse_bound(s: &[u8], bound: Bound) -> Result<Id, CmdError> {
        let (exclusive, body) = match s.strip_prefix(b"(") {
            Some(rest) if s.len() > 1 => (true, rest),
            _ => (false, s),
        };
        let missing = if bound == Bound::Start { 0 } else { u64::MAX };
        let id = Id::parse(body, missing, if exclusive { Strict::Yes } else { Strict::No })?;
        if !exclusive {
            return Ok(id);
        }
        match bound {
            Bound::Start => id.next().ok_or(CmdError::Err("invalid start ID for the interval")),
            Bound::End => id.prev().ok_or(CmdError::Err("invalid end ID for the interval")),
        }
    }
}

/// Unsigned decimal as Redis's string2ull reads it.
fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Whether `-` and `+` are accepted as ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strict {
    /// Only `ms[-seq]`.
    Yes,
    /// `-` and `+` too.
    No,
}

/// Which end of an interval an id bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The lower end.
    Start,
    /// The upper end.
    End,
}

/// An entry: its id and field/value pairs.
pub type Entry = (Id, Vec<Vec<u8>>);

/// A pending entry delivered again: its fields, None if it was deleted.
pub type Redelivered = (Id, Option<Vec<Vec<u8>>>);

/// The stream's meta record, decoded.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Data version of the sub-keys.
    pub version: u64,
    /// Entries present.
    pub len: u64,
    /// Expiry (kept across rewrites of the record).
    pub expire_ms: u64,
    /// Last generated id.
    pub last: Id,
    /// First entry's id (0-0 when empty).
    pub first: Id,
    /// Largest id XDEL removed.
    pub max_deleted: Id,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups.
    pub groups: u64,
    /// Add index of the first entry of the current node sequence (see the header).
    pub node_base: u64,
}

const EXTRA_LEN: usize = 16 * 3 + 8 * 3;

impl Stream {
    fn decode(m: &Meta) -> Stream {
        let x = m.extra();
        let id = |o: usize| Id::from_key(&x[o..o + 16]);
        let n = |o: usize| u64::from_be_bytes(x[o..o + 8].try_into().expect("invariant: stream extras"));
        let ok = x.len() >= EXTRA_LEN;
        Stream {
            version: m.version(),
            len: m.len(),
            expire_ms: m.expire_ms(),
            last: if ok { id(0) } else { Id::MIN },
            first: if ok { id(16) } else { Id::MIN },
            max_deleted: if ok { id(32) } else { Id::MIN },
            entries_added: if ok { n(48) } else { 0 },
            groups: if ok { n(56) } else { 0 },
            node_base: if ok { n(64) } else { 0 },
        }
    }

    fn meta(&self) -> Meta {
        // On the stack: this runs on every XADD.
        let mut x = [0u8; EXTRA_LEN];
        for (i, id) in [self.last, self.first, self.max_deleted].into_iter().enumerate() {
            x[16 * i..16 * i + 16].copy_from_slice(&id.bytes());
        }
        for (i, n) in [self.entries_added, self.groups, self.node_base].into_iter().enumerate() {
            x[48 + 8 * i..56 + 8 * i].copy_from_slice(&n.to_be_bytes());
        }
        Meta::collection(Type::Stream, self.version, self.len, self.expire_ms, &x)
    }

    /// Writes the record back.
    pub fn save(&self, tx: &mut Tx, key: &[u8]) -> Result<(), CmdError> {
        tx.put_meta(key, self.meta())?;
        Ok(())
    }

    /// A new empty stream.
    pub fn create(tx: &Tx) -> Result<Stream, CmdError> {
        Ok(Stream {
            version: tx.new_version()?,
            len: 0,
            expire_ms: 0,
            last: Id::MIN,
            first: Id::MIN,
            max_deleted: Id::MIN,
            entries_added: 0,
            groups: 0,
            node_base: 0,
        })
    }

    fn sub(&self, tx: &Tx, key: &[u8], tag: StreamTag, group: Option<&[u8]>, tail: &[u8]) -> Vec<u8> {
        layout::stream_sub(tx.db, key, self.version, tag, group, tail)
    }

    /// Redis's streamRangeHasTombstones from `start` to the end.
    fn has_tombstones_from(&self, start: Id) -> bool {
        if self.len == 0 || self.max_deleted == Id::MIN || self.first > self.max_deleted {
            return false;
        }
        start <= self.max_deleted
    }

    /// Redis's streamEstimateDistanceFromFirstEverEntry; None = unknown.
    pub fn estimate_entries_read(&self, id: Id) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.len == 0 && id <= self.last {
            return Some(self.entries_added);
        }
        if id == self.last {
            return Some(self.entries_added);
        } else if id > self.last {
            return None;
        }
        if self.max_deleted == Id::MIN || self.max_deleted < self.first {
            if id < self.first {
                return Some(self.entries_added - self.len);
            } else if id == self.first {
                return Some(self.entries_added - self.len + 1);
            }
        }
        None
    }

    /// A group's lag (Redis's streamReplyWithCGLag); None = unknown.
    pub fn lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read >= 0 && !self.has_tombstones_from(g.last) {
            return Some(self.entries_added.saturating_sub(g.entries_read as u64));
        }
        self.estimate_entries_read(g.last).map(|r| self.entries_added.saturating_sub(r))
    }
}

/// The live stream at `key`: None if absent, WRONGTYPE for another type.
pub fn lookup(tx: &mut Tx, key: &[u8]) -> Result<Option<Stream>, CmdError> {
    Ok(crate::types::members::lookup(tx, key, Type::Stream)?.map(|m| Stream::decode(&m)))
}

/// Entry value: `add_index u64 | (len u32 | bytes)*`.
fn encode_entry<'f>(add_index: u64, fields: impl Iterator<Item = &'f [u8]> + Clone) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + fields.clone().map(|f| 4 + f.len()).sum::<usize>());
    v.extend_from_slice(&add_index.to_be_bytes());
    for f in fields {
        v.extend_from_slice(&(f.len() as u32).to_be_bytes());
        v.extend_from_slice(f);
    }
    v
}

fn entry_index(v: &[u8]) -> u64 {
    u64_at(v, 0)
}

fn decode_entry(v: &[u8]) -> Vec<Vec<u8>> {
    entry_fields(v).map(<[u8]>::to_vec).collect()
}

/// The field and value strings of a stored entry value, read in place.
pub fn entry_fields(v: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    let mut p = 8;
    std::iter::from_fn(move || {
        let len = v.get(p..p + 4)?;
        let n = u32::from_be_bytes(len.try_into().expect("invariant: 4 bytes")) as usize;
        let f = &v[p + 4..(p + 4 + n).min(v.len())];
        p += 4 + n;
        Some(f)
    })
}

/// How XADD picks the new id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewId {
    /// `*`: from the clock, never below the last id.
    Auto,
    /// `ms-*`: this ms, the next free seq.
    Ms(u64),
    /// An explicit id.
    Exact(Id),
}

/// A trimming strategy (XADD and XTRIM options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries below this id.
    MinId(Id),
}

/// Trimming options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimSpec {
    /// What to keep.
    pub strategy: Trim,
    /// `~`: remove whole nodes only.
    pub approx: bool,
    /// Most entries removed (0 = no limit).
    pub limit: u64,
}

/// Why XADD refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// Added with this id.
    Added(Id),
    /// NOMKSTREAM and no stream.
    NoStream,
}

/// XADD: appends `fields` (pairs) with an id chosen per `new_id`, then trims.
/// The fields are read twice (size, then copy), straight from the arguments.
pub fn add<'f>(
    tx: &mut Tx,
    key: &[u8],
    new_id: NewId,
    fields: impl Iterator<Item = &'f [u8]> + Clone,
    mkstream: bool,
    trim: Option<TrimSpec>,
) -> Result<AddOutcome, CmdError> {
    let mut s = match lookup(tx, key)? {
        Some(s) => s,
        None if !mkstream => return Ok(AddOutcome::NoStream),
        None => Stream::create(tx)?,
    };
    if s.last == Id::MAX {
        return Err(CmdError::Err("The stream has exhausted the last possible ID, unable to add more items"));
    }
    let too_small = CmdError::Err("The ID specified in XADD is equal or smaller than the target stream top item");
    let id = match new_id {
        // The clock may go backwards: ids stay monotonic by following the last one.
        NewId::Auto if tx.now_ms > s.last.ms => Id { ms: tx.now_ms, seq: 0 },
        NewId::Auto => s.last.next().ok_or(too_small.clone())?,
        NewId::Ms(ms) if ms == s.last.ms => Id { ms, seq: s.last.seq.checked_add(1).ok_or(too_small.clone())? },
        NewId::Ms(ms) => Id { ms, seq: 0 },
        NewId::Exact(id) => id,
    };
    if id <= s.last {
        return Err(too_small);
    }
    if s.len == 0 {
        s.node_base = s.entries_added;
        s.first = id;
    }
    let index = s.entries_added;
    s.entries_added += 1;
    s.len += 1;
    s.last = id;
    let k = s.sub(tx, key, StreamTag::Entry, None, &id.bytes());
    tx.put(Cf::Data, k, encode_entry(index, fields));
    if let Some(t) = trim {
        trim_stream(tx, key, &mut s, t, Some((id, index)))?;
    }
    s.save(tx, key)?;
    Ok(AddOutcome::Added(id))
}

/// XTRIM: trims the stream at `key`; returns the entries removed.
pub fn trim(tx: &mut Tx, key: &[u8], spec: TrimSpec) -> Result<u64, CmdError> {
    let Some(mut s) = lookup(tx, key)? else {
        return Ok(0);
    };
    let n = trim_stream(tx, key, &mut s, spec, None)?;
    if n > 0 {
        s.save(tx, key)?;
    }
    Ok(n)
}

/// Redis's streamTrim over emulated nodes. `pending` is an entry this command
/// wrote (invisible to iterators) that sorts after every stored one.
fn trim_stream(
    tx: &mut Tx,
    key: &[u8],
    s: &mut Stream,
    spec: TrimSpec,
    pending: Option<(Id, u64)>,
) -> Result<u64, CmdError> {
    let prefix = s.sub(tx, key, StreamTag::Entry, None, b"");
    let base = s.node_base;
    let node_of = |index: u64| index.saturating_sub(base) / NODE_ENTRIES;
    let mut st = TrimState { len: s.len, removed: 0, doomed: Vec::new(), stopped: false };
    // Entries of the node being collected; a node is judged once complete.
    let mut node: Vec<(Id, u64)> = Vec::new();
    let feed = |id: Id, index: u64, node: &mut Vec<(Id, u64)>, st: &mut TrimState| -> bool {
        if node.last().is_some_and(|(_, last)| node_of(*last) != node_of(index)) {
            if !st.judge(&spec, node) {
                return false;
            }
            node.clear();
        }
        node.push((id, index));
        true
    };
    tx.store().iter_prefix(Cf::Data, &prefix, None, false, |k, v| {
        feed(Id::from_key(k), entry_index(v), &mut node, &mut st)
    })?;
    if !st.stopped {
        if let Some((id, index)) = pending {
            feed(id, index, &mut node, &mut st);
        }
    }
    if !st.stopped && !node.is_empty() {
        st.judge(&spec, &node);
    }
    for id in &st.doomed {
        let k = s.sub(tx, key, StreamTag::Entry, None, &id.bytes());
        tx.delete(Cf::Data, k);
    }
    if st.removed > 0 {
        s.len -= st.removed;
        s.first = if s.len == 0 { Id::MIN } else { first_after(tx, key, s, &st.doomed, pending.map(|p| p.0))? };
    }
    Ok(st.removed)
}

/// Progress of a trim.
struct TrimState {
    len: u64,
    removed: u64,
    doomed: Vec<Id>,
    stopped: bool,
}

impl TrimState {
    /// Decides one complete node: removes it whole, or (exact trimming) its
    /// leading entries; returns false (and marks `stopped`) when trimming ends.
    fn judge(&mut self, spec: &TrimSpec, node: &[(Id, u64)]) -> bool {
        let count = node.len() as u64;
        let done = match spec.strategy {
            Trim::MaxLen(max) => self.len <= max,
            Trim::MinId(_) => false,
        };
        if done || (spec.limit > 0 && self.removed + count > spec.limit) {
            self.stopped = true;
            return false;
        }
        let whole = match spec.strategy {
            Trim::MaxLen(max) => count <= self.len - max,
            Trim::MinId(min) => node.last().is_some_and(|(id, _)| *id < min),
        };
        if whole {
            self.doomed.extend(node.iter().map(|(id, _)| *id));
            self.len -= count;
            self.removed += count;
            return true;
        }
        self.stopped = true;
        if spec.approx {
            return false;
        }
        for (id, _) in node {
            let go = match spec.strategy {
                Trim::MaxLen(max) => self.len > max,
                Trim::MinId(min) => *id < min,
            };
            if !go {
                break;
            }
            self.doomed.push(*id);
            self.len -= 1;
            self.removed += 1;
        }
        false
    }
}

/// The first entry not in `gone` (stored, or the pending one), for the
/// stream's first id after a removal at its head.
fn first_after(tx: &Tx, key: &[u8], s: &Stream, gone: &[Id], pending: Option<Id>) -> Result<Id, CmdError> {
    let prefix = s.sub(tx, key, StreamTag::Entry, None, b"");
    let mut found = None;
    tx.store().iter_prefix(Cf::Data, &prefix, None, false, |k, _| {
        let id = Id::from_key(k);
        if gone.contains(&id) {
            return true;
        }
        found = Some(id);
        false
    })?;
    Ok(found.or(pending.filter(|p| !gone.contains(p))).unwrap_or(Id::MIN))
}

/// Entries with ids in `[start, end]`, at most `count` (0 = all), in reverse
/// order if `rev`.
pub fn range(
    tx: &Tx,
    key: &[u8],
    s: &Stream,
    start: Id,
    end: Id,
    count: u64,
    rev: Rev,
) -> Result<Vec<Entry>, CmdError> {
    let mut out = Vec::new();
    range_each(tx, key, s, start, end, count, rev, |id, v| out.push((id, decode_entry(v))))?;
    Ok(out)
}

/// [`range`] without copies: `f` gets each id and its stored value (read
/// it with [`entry_fields`]). Returns how many entries were visited.
#[allow(clippy::too_many_arguments)]
pub fn range_each(
    tx: &Tx,
    key: &[u8],
    s: &Stream,
    start: Id,
    end: Id,
    count: u64,
    rev: Rev,
    mut f: impl FnMut(Id, &[u8]),
) -> Result<u64, CmdError> {
    let mut n = 0;
    if start > end {
        return Ok(n);
    }
    if rev == Rev::No {
        // Bounded at both ends by the ids themselves (not the stream's
        // prefix): RocksDB starts at `start` and stops at `end` on its own.
        let lower = s.sub(tx, key, StreamTag::Entry, None, &start.bytes());
        let upper = match end.next() {
            Some(after) => Some(s.sub(tx, key, StreamTag::Entry, None, &after.bytes())),
            None => crate::storage::prefix_successor(&lower[..lower.len() - 16]),
        };
        tx.store().iter_range(Cf::Data, &lower, upper, None, |k, v| {
            f(Id::from_key(k), v);
            n += 1;
            count == 0 || n < count
        })?;
        return Ok(n);
    }
    let prefix = s.sub(tx, key, StreamTag::Entry, None, b"");
    let from = s.sub(tx, key, StreamTag::Entry, None, &end.bytes());
    tx.store().iter_prefix(Cf::Data, &prefix, Some(&from), true, |k, v| {
        let id = Id::from_key(k);
        if id < start {
            return false;
        }
        f(id, v);
        n += 1;
        count == 0 || n < count
    })?;
    Ok(n)
}

/// Iteration direction of [`range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rev {
    /// Ascending ids.
    No,
    /// Descending ids.
    Yes,
}

/// One entry by id (None if deleted or never added).
pub fn entry(tx: &Tx, key: &[u8], s: &Stream, id: Id) -> Result<Option<Vec<Vec<u8>>>, CmdError> {
    let k = s.sub(tx, key, StreamTag::Entry, None, &id.bytes());
    Ok(tx.get(Cf::Data, &k)?.map(|v| decode_entry(&v)))
}

/// The last entry present (XSETID's check), None if empty.
pub fn last_entry_id(tx: &Tx, key: &[u8], s: &Stream) -> Result<Option<Id>, CmdError> {
    Ok(range(tx, key, s, Id::MIN, Id::MAX, 1, Rev::Yes)?.first().map(|e| e.0))
}

/// XDEL: deletes `ids`; returns how many existed.
pub fn delete(tx: &mut Tx, key: &[u8], ids: &[Id]) -> Result<u64, CmdError> {
    let Some(mut s) = lookup(tx, key)? else {
        return Ok(0);
    };
    let mut gone = Vec::new();
    for &id in ids {
        let k = s.sub(tx, key, StreamTag::Entry, None, &id.bytes());
        if tx.get(Cf::Data, &k)?.is_some() {
            tx.delete(Cf::Data, k);
            gone.push(id);
            s.len -= 1;
            s.max_deleted = s.max_deleted.max(id);
        }
    }
    if gone.is_empty() {
        return Ok(0);
    }
    if s.len == 0 {
        s.first = Id::MIN;
    } else if gone.contains(&s.first) {
        s.first = first_after(tx, key, &s, &gone, None)?;
    }
    s.save(tx, key)?;
    Ok(gone.len() as u64)
}

/// XSETID options.
#[derive(Debug, Clone, Copy)]
pub struct SetId {
    /// The new last id.
    pub last: Id,
    /// ENTRIESADDED.
    pub entries_added: Option<u64>,
    /// MAXDELETEDID (0-0 = unchanged).
    pub max_deleted: Id,
}

/// XSETID.
pub fn set_id(tx: &mut Tx, key: &[u8], o: SetId) -> Result<(), CmdError> {
    let mut s = lookup(tx, key)?.ok_or(CmdError::NoSuchKey)?;
    if s.len > 0 {
        if last_entry_id(tx, key, &s)?.is_some_and(|max| o.last < max) {
            return Err(CmdError::Err("The ID specified in XSETID is smaller than the target stream top item"));
        }
        if o.entries_added.is_some_and(|n| s.len > n) {
            return Err(CmdError::Err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    if o.last < s.max_deleted {
        return Err(CmdError::Err("The ID specified in XSETID is smaller than current max_deleted_entry_id"));
    }
    s.last = o.last;
    if let Some(n) = o.entries_added {
        s.entries_added = n;
    }
    if o.max_deleted != Id::MIN {
        s.max_deleted = o.max_deleted;
    }
    s.save(tx, key)
}

/// Emulated listpack nodes holding entries (XINFO's radix-tree-keys).
pub fn node_count(tx: &Tx, key: &[u8], s: &Stream) -> Result<u64, CmdError> {
    let prefix = s.sub(tx, key, StreamTag::Entry, None, b"");
    let (mut nodes, mut last) = (0u64, None);
    tx.store().iter_prefix(Cf::Data, &prefix, None, false, |_, v| {
        let node = entry_index(v).saturating_sub(s.node_base) / NODE_ENTRIES;
        if last != Some(node) {
            nodes += 1;
            last = Some(node);
        }
        true
    })?;
    Ok(nodes)
}

// ---------------------------------------------------------------- groups

/// The big-endian u64 at `o` in a record (0 if the record is shorter).
fn u64_at(v: &[u8], o: usize) -> u64 {
    v.get(o..o + 8).map_or(0, |b| u64::from_be_bytes(b.try_into().expect("invariant: 8 bytes")))
}

/// A consumer group record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Last delivered id.
    pub last: Id,
    /// Entries read (-1 = unknown).
    pub entries_read: i64,
    /// Pending entries.
    pub pending: u64,
}

impl Group {
    fn decode(v: &[u8]) -> Group {
        let n = |o: usize| u64_at(v, o);
        Group { last: Id::from_key(&v[..16.min(v.len())]), entries_read: n(16) as i64, pending: n(24) }
    }

    fn encode(&self) -> Vec<u8> {
        let mut v = self.last.bytes().to_vec();
        v.extend_from_slice(&self.entries_read.to_be_bytes());
        v.extend_from_slice(&self.pending.to_be_bytes());
        v
    }
}

/// A consumer record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumer {
    /// Last time it was seen (ms).
    pub seen_ms: u64,
    /// Pending entries it owns.
    pub pending: u64,
}

impl Consumer {
    fn decode(v: &[u8]) -> Consumer {
        let n = |o: usize| u64_at(v, o);
        Consumer { seen_ms: n(0), pending: n(8) }
    }

    fn encode(&self) -> Vec<u8> {
        let mut v = self.seen_ms.to_be_bytes().to_vec();
        v.extend_from_slice(&self.pending.to_be_bytes());
        v
    }
}

/// A pending entry (NACK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The entry id.
    pub id: Id,
    /// Owner.
    pub consumer: Vec<u8>,
    /// Last delivery (ms).
    pub delivered_ms: u64,
    /// Deliveries.
    pub count: u64,
}

impl Pending {
    fn decode(id: Id, v: &[u8]) -> Pending {
        let n = |o: usize| u64_at(v, o);
        Pending { id, delivered_ms: n(0), count: n(8), consumer: v.get(16..).unwrap_or_default().to_vec() }
    }

    fn encode(&self) -> Vec<u8> {
        let mut v = self.delivered_ms.to_be_bytes().to_vec();
        v.extend_from_slice(&self.count.to_be_bytes());
        v.extend_from_slice(&self.consumer);
        v
    }
}

/// A stream with one of its groups, for the group commands.
pub struct GroupCtx<'k> {
    /// The stream's user key.
    pub key: &'k [u8],
    /// The stream.
    pub s: Stream,
    /// The group's name.
    pub name: Vec<u8>,
    /// The group.
    pub g: Group,
}

/// The group `name` of a stream, if any.
pub fn group(tx: &Tx, key: &[u8], s: &Stream, name: &[u8]) -> Result<Option<Group>, CmdError> {
    let k = s.sub(tx, key, StreamTag::Group, None, name);
    Ok(tx.get(Cf::Data, &k)?.map(|v| Group::decode(&v)))
}

/// Every group (name, record), in name order.
pub fn groups(tx: &Tx, key: &[u8], s: &Stream) -> Result<Vec<(Vec<u8>, Group)>, CmdError> {
    let prefix = s.sub(tx, key, StreamTag::Group, None, b"");
    let mut out = Vec::new();
    tx.store().iter_prefix(Cf::Data, &prefix, None, false, |k, v| {
        out.push((k[prefix.len()..].to_vec(), Group::decode(v)));
        true
    })?;
    Ok(out)
}

/// Looks up a stream and one of its groups: Ok(None) if either is missing.
pub fn open_group<'k>(tx: &mut Tx, key: &'k [u8], name: &[u8]) -> Result<Option<GroupCtx<'k>>, CmdError> {
    let Some(s) = lookup(tx, key)? else {
        return Ok(None);
    };
    Ok(group(tx, key, &s, name)?.map(|g| GroupCtx { key, s, name: name.to_vec(), g }))
}

/// XGROUP CREATE outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// New group.
    Ok,
    /// The name is taken.
    Exists,
}

/// Where a group starts (XGROUP CREATE / SETID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// `$`: the stream's last id.
    Last,
    /// An id.
    Id(Id),
}

/// XGROUP CREATE on an existing stream `s` (the caller made it if MKSTREAM).
pub fn create_group(
    tx: &mut Tx,
    key: &[u8],
    mut s: Stream,
    name: &[u8],
    at: StartAt,
    entries_read: i64,
) -> Result<Created, CmdError> {
    if group(tx, key, &s, name)?.is_some() {
        return Ok(Created::Exists);
    }
    let last = match at {
        StartAt::Last => s.last,
        StartAt::Id(id) => id,
    };
    let g = Group { last, entries_read, pending: 0 };
    let k = s.sub(tx, key, StreamTag::Group, None, name);
    tx.put(Cf::Data, k, g.encode());
    s.groups += 1;
    s.save(tx, key)?;
    Ok(Created::Ok)
}

impl<'k> GroupCtx<'k> {
    /// Bundles a stream and its group `name`.
    pub fn new(key: &'k [u8], s: Stream, name: &[u8], g: Group) -> Self {
        GroupCtx { key, s, name: name.to_vec(), g }
    }

    fn gk(&self, tx: &Tx, tag: StreamTag, tail: &[u8]) -> Vec<u8> {
        self.s.sub(tx, self.key, tag, Some(&self.name), tail)
    }

    /// Writes the group record back.
    pub fn save(&self, tx: &mut Tx) {
        let k = self.s.sub(tx, self.key, StreamTag::Group, None, &self.name);
        tx.put(Cf::Data, k, self.g.encode());
    }

    /// XGROUP SETID.
    pub fn set_id(&mut self, tx: &mut Tx, at: StartAt, entries_read: i64) {
        self.g.last = match at {
            StartAt::Last => self.s.last,
            StartAt::Id(id) => id,
        };
        self.g.entries_read = entries_read;
        self.save(tx);
    }

    /// XGROUP DESTROY: the group, its consumers and PEL go in three range
    /// deletes; the meta record is rewritten so blocked readers wake up.
    pub fn destroy(mut self, tx: &mut Tx) -> Result<(), CmdError> {
        for tag in [StreamTag::Consumer, StreamTag::Pending] {
            let from = self.gk(tx, tag, b"");
            if let Some(to) = crate::storage::prefix_successor(&from) {
                tx.delete_range(Cf::Data, from, to);
            }
        }
        let k = self.s.sub(tx, self.key, StreamTag::Group, None, &self.name);
        tx.delete(Cf::Data, k);
        self.s.groups = self.s.groups.saturating_sub(1);
        self.s.save(tx, self.key)
    }

    /// A consumer's record.
    pub fn consumer(&self, tx: &Tx, name: &[u8]) -> Result<Option<Consumer>, CmdError> {
        Ok(tx.get(Cf::Data, &self.gk(tx, StreamTag::Consumer, name))?.map(|v| Consumer::decode(&v)))
    }

    fn put_consumer(&self, tx: &mut Tx, name: &[u8], c: Consumer) {
        let k = self.gk(tx, StreamTag::Consumer, name);
        tx.put(Cf::Data, k, c.encode());
    }

    /// The consumer `name`, created if new, its seen time set to now.
    /// Returns whether it was created.
    pub fn touch_consumer(&self, tx: &mut Tx, name: &[u8]) -> Result<bool, CmdError> {
        let found = self.consumer(tx, name)?;
        let c = Consumer { seen_ms: tx.now_ms, pending: found.map_or(0, |c| c.pending) };
        self.put_consumer(tx, name, c);
        Ok(found.is_none())
    }

    /// XGROUP CREATECONSUMER: 1 if created.
    pub fn create_consumer(&self, tx: &mut Tx, name: &[u8]) -> Result<bool, CmdError> {
        if self.consumer(tx, name)?.is_some() {
            return Ok(false);
        }
        self.put_consumer(tx, name, Consumer { seen_ms: tx.now_ms, pending: 0 });
        Ok(true)
    }

    /// Every consumer (name, record), in name order.
    pub fn consumers(&self, tx: &Tx) -> Result<Vec<(Vec<u8>, Consumer)>, CmdError> {
        let prefix = self.gk(tx, StreamTag::Consumer, b"");
        let mut out = Vec::new();
        tx.store().iter_prefix(Cf::Data, &prefix, None, false, |k, v| {
            out.push((k[prefix.len()..].to_vec(), Consumer::decode(v)));
            true
        })?;
        Ok(out)
    }

    /// XGROUP DELCONSUMER: drops the consumer and its pending entries;
    /// returns how many it had.
    pub fn delete_consumer(&mut self, tx: &mut Tx, name: &[u8]) -> Result<u64, CmdError> {
        let Some(c) = self.consumer(tx, name)? else {
            return Ok(0);
        };
        if c.pending > 0 {
            for p in self.pending(tx, Id::MIN, Id::MAX, Some(name), u64::MAX)? {
                let k = self.gk(tx, StreamTag::Pending, &p.id.bytes());
                tx.delete(Cf::Data, k);
            }
            self.g.pending = self.g.pending.saturating_sub(c.pending);
            self.save(tx);
        }
        let k = self.gk(tx, StreamTag::Consumer, name);
        tx.delete(Cf::Data, k);
        Ok(c.pending)
    }

    /// Pending entries in `[start, end]`, optionally of one consumer, at most `count`.
    pub fn pending(
        &self,
        tx: &Tx,
        start: Id,
        end: Id,
        consumer: Option<&[u8]>,
        count: u64,
    ) -> Result<Vec<Pending>, CmdError> {
        let mut out = Vec::new();
        if start > end || count == 0 {
            return Ok(out);
        }
        let prefix = self.gk(tx, StreamTag::Pending, b"");
        let from = self.gk(tx, StreamTag::Pending, &start.bytes());
        tx.store().iter_prefix(Cf::Data, &prefix, Some(&from), false, |k, v| {
            let id = Id::from_key(k);
            if id > end {
                return false;
            }
            let p = Pending::decode(id, v);
            if consumer.map_or(true, |c| c == p.consumer.as_slice()) {
                out.push(p);
            }
            (out.len() as u64) < count
        })?;
        Ok(out)
    }

    /// The highest pending id (one reverse seek), None if the PEL is empty.
    pub fn last_pending(&self, tx: &Tx) -> Result<Option<Id>, CmdError> {
        let prefix = self.gk(tx, StreamTag::Pending, b"");
        let from = self.gk(tx, StreamTag::Pending, &Id::MAX.bytes());
        let mut last = None;
        tx.store().iter_prefix(Cf::Data, &prefix, Some(&from), true, |k, _| {
            last = Some(Id::from_key(k));
            false
        })?;
        Ok(last)
    }

    /// One pending entry.
    pub fn pending_entry(&self, tx: &Tx, id: Id) -> Result<Option<Pending>, CmdError> {
        Ok(tx.get(Cf::Data, &self.gk(tx, StreamTag::Pending, &id.bytes()))?.map(|v| Pending::decode(id, &v)))
    }

    fn put_pending(&self, tx: &mut Tx, p: &Pending) {
        let k = self.gk(tx, StreamTag::Pending, &p.id.bytes());
        tx.put(Cf::Data, k, p.encode());
    }

    /// Adds `delta` to a consumer's pending count (it must exist or be created).
    fn adjust_consumer(&self, tx: &mut Tx, name: &[u8], delta: i64) -> Result<(), CmdError> {
        let mut c = self.consumer(tx, name)?.unwrap_or(Consumer { seen_ms: tx.now_ms, pending: 0 });
        c.pending = c.pending.saturating_add_signed(delta);
        self.put_consumer(tx, name, c);
        Ok(())
    }

    /// Removes a pending entry from the group and its owner.
    fn drop_pending(&mut self, tx: &mut Tx, p: &Pending) -> Result<(), CmdError> {
        let k = self.gk(tx, StreamTag::Pending, &p.id.bytes());
        tx.delete(Cf::Data, k);
        self.g.pending = self.g.pending.saturating_sub(1);
        self.adjust_consumer(tx, &p.consumer, -1)
    }

    /// Gives `p` to `consumer` (creating or moving it), then stores it.
    fn assign(&mut self, tx: &mut Tx, mut p: Pending, existed: bool, consumer: &[u8]) -> Result<(), CmdError> {
        if !existed {
            self.g.pending += 1;
            self.adjust_consumer(tx, consumer, 1)?;
        } else if p.consumer != consumer {
            self.adjust_consumer(tx, &p.consumer, -1)?;
            self.adjust_consumer(tx, consumer, 1)?;
        }
        p.consumer = consumer.to_vec();
        self.put_pending(tx, &p);
        Ok(())
    }

    /// XACK: acknowledges `ids`; returns how many were pending.
    pub fn ack(&mut self, tx: &mut Tx, ids: &[Id]) -> Result<u64, CmdError> {
        let mut n = 0;
        for &id in ids {
            if let Some(p) = self.pending_entry(tx, id)? {
                self.drop_pending(tx, &p)?;
                n += 1;
            }
        }
        if n > 0 {
            self.save(tx);
        }
        Ok(n)
    }

    /// XREADGROUP `>`: delivers up to `count` (0 = all) new entries to
    /// `consumer`, recording them as pending unless `noack`.
    pub fn read_new(&mut self, tx: &mut Tx, consumer: &[u8], count: u64, ack: Ack) -> Result<Vec<Entry>, CmdError> {
        let Some(start) = self.g.last.next() else {
            return Ok(Vec::new());
        };
        let entries = range(tx, self.key, &self.s, start, Id::MAX, count, Rev::No)?;
        for (id, _) in &entries {
            let id = *id;
            if id > self.g.last {
                if self.g.entries_read >= 0 && !self.s.has_tombstones_from(id) {
                    self.g.entries_read += 1;
                } else if self.s.entries_added > 0 {
                    self.g.entries_read = self.s.estimate_entries_read(id).map_or(-1, |n| n as i64);
                }
                self.g.last = id;
            }
            if ack == Ack::Auto {
                continue;
            }
            let old = self.pending_entry(tx, id)?;
            let existed = old.is_some();
            let p = Pending { id, consumer: Vec::new(), delivered_ms: tx.now_ms, count: 1 };
            let p = Pending { consumer: old.map_or_else(Vec::new, |o| o.consumer), ..p };
            self.assign(tx, p, existed, consumer)?;
        }
        if !entries.is_empty() {
            self.save(tx);
        }
        Ok(entries)
    }

    /// XREADGROUP with an id: the consumer's own pending entries after
    /// `after`, each delivered again (None = the entry was deleted).
    pub fn read_history(
        &mut self,
        tx: &mut Tx,
        consumer: &[u8],
        after: Id,
        count: u64,
    ) -> Result<Vec<Redelivered>, CmdError> {
        let Some(start) = after.next() else {
            return Ok(Vec::new());
        };
        let limit = if count == 0 { u64::MAX } else { count };
        let mut out = Vec::new();
        for mut p in self.pending(tx, start, Id::MAX, Some(consumer), limit)? {
            let fields = entry(tx, self.key, &self.s, p.id)?;
            if fields.is_some() {
                p.count += 1;
                p.delivered_ms = tx.now_ms;
                self.put_pending(tx, &p);
            }
            out.push((p.id, fields));
        }
        Ok(out)
    }

    /// XCLAIM for one id (after the caller's argument checks). Returns the
    /// entry claimed (fields None with JUSTID), or None if not claimed.
    pub fn claim(&mut self, tx: &mut Tx, consumer: &[u8], id: Id, o: &ClaimOpts) -> Result<Option<Entry>, CmdError> {
        let old = self.pending_entry(tx, id)?;
        let Some(fields) = entry(tx, self.key, &self.s, id)? else {
            if let Some(p) = old {
                self.drop_pending(tx, &p)?;
            }
            return Ok(None);
        };
        let (mut p, existed) = match old {
            Some(p) => (p, true),
            None if o.force => (Pending { id, consumer: Vec::new(), delivered_ms: tx.now_ms, count: 1 }, false),
            None => return Ok(None),
        };
        if existed && o.min_idle > 0 && (tx.now_ms as i64).saturating_sub(p.delivered_ms as i64) < o.min_idle {
            return Ok(None);
        }
        self.touch_consumer(tx, consumer)?;
        p.delivered_ms = o.delivery_ms;
        match o.retry_count {
            Some(n) => p.count = n,
            None if !o.justid => p.count += 1,
            None => {}
        }
        self.assign(tx, p, existed, consumer)?;
        Ok(Some((id, if o.justid { Vec::new() } else { fields })))
    }

    /// XAUTOCLAIM: scans the PEL from `start`; returns (next cursor, claimed, deleted ids).
    pub fn autoclaim(
        &mut self,
        tx: &mut Tx,
        consumer: &[u8],
        min_idle: i64,
        start: Id,
        count: u64,
        justid: bool,
    ) -> Result<AutoClaimed, CmdError> {
        let mut attempts = count.saturating_mul(10);
        let mut count = count;
        // At most `attempts` PEL records are examined, plus one for the cursor.
        let cands = self.pending(tx, start, Id::MAX, None, attempts.saturating_add(1))?;
        let mut out = AutoClaimed { next: Id::MIN, claimed: Vec::new(), deleted: Vec::new() };
        let mut consumer_seen = false;
        for p in cands {
            if attempts == 0 || count == 0 {
                out.next = p.id;
                break;
            }
            attempts -= 1;
            let Some(fields) = entry(tx, self.key, &self.s, p.id)? else {
                self.drop_pending(tx, &p)?;
                out.deleted.push(p.id);
                count -= 1;
                continue;
            };
            if min_idle > 0 && (tx.now_ms as i64).saturating_sub(p.delivered_ms as i64) < min_idle {
                continue;
            }
            if !consumer_seen {
                self.touch_consumer(tx, consumer)?;
                consumer_seen = true;
            }
            let id = p.id;
            let mut p = p;
            p.delivered_ms = tx.now_ms;
            if !justid {
                p.count += 1;
            }
            self.assign(tx, p, true, consumer)?;
            out.claimed.push((id, if justid { Vec::new() } else { fields }));
            count -= 1;
        }
        self.save(tx);
        Ok(out)
    }
}

/// XREADGROUP's NOACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Entries become pending.
    Explicit,
    /// NOACK: delivered entries are not tracked.
    Auto,
}

/// XCLAIM options.
#[derive(Debug, Clone, Copy)]
pub struct ClaimOpts {
    /// Minimum idle time (ms).
    pub min_idle: i64,
    /// New delivery time (ms).
    pub delivery_ms: u64,
    /// RETRYCOUNT.
    pub retry_count: Option<u64>,
    /// FORCE.
    pub force: bool,
    /// JUSTID.
    pub justid: bool,
}

/// XAUTOCLAIM's result.
#[derive(Debug, Default)]
pub struct AutoClaimed {
    /// Cursor for the next call (0-0 = done).
    pub next: Id,
    /// Claimed entries (fields empty with JUSTID).
    pub claimed: Vec<Entry>,
    /// Pending ids whose entries no longer exist (removed from the PEL).
    pub deleted: Vec<Id>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_parse_follows_redis() {
        assert_eq!(Id::parse(b"5", 0, Strict::Yes).unwrap(), Id { ms: 5, seq: 0 });
        assert_eq!(Id::parse(b"5", u64::MAX, Strict::Yes).unwrap(), Id { ms: 5, seq: u64::MAX });
        assert_eq!(Id::parse(b"1-2", 0, Strict::Yes).unwrap(), Id { ms: 1, seq: 2 });
        assert!(Id::parse(b"-", 0, Strict::Yes).is_err());
        assert_eq!(Id::parse(b"+", 0, Strict::No).unwrap(), Id::MAX);
        assert!(Id::parse(b"1-x", 0, Strict::No).is_err());
        assert!(Id::parse(b"18446744073709551616", 0, Strict::No).is_err());
        assert_eq!(Id::parse_bound(b"(1-2", Bound::Start).unwrap(), Id { ms: 1, seq: 3 });
        assert_eq!(Id::parse_bound(b"(2-0", Bound::End).unwrap(), Id { ms: 1, seq: u64::MAX });
        assert!(Id::parse_bound(b"(-", Bound::Start).is_err());
    }

    #[test]
    fn entry_codec_round_trip() {
        let v = encode_entry(7, [&b"a"[..], b"", b"bc"].into_iter());
        assert_eq!(entry_index(&v), 7);
        assert_eq!(decode_entry(&v), vec![b"a".to_vec(), vec![], b"bc".to_vec()]);
    }

    use crate::storage::testutil::TempStore;

    fn id(ms: u64) -> Id {
        Id { ms, seq: 0 }
    }

    fn add_n(t: &mut TempStore, from: u64, to: u64) {
        for ms in from..to {
            t.run(|tx| add(tx, b"s", NewId::Exact(id(ms)), [&b"f"[..], b"v"].into_iter(), true, None)).unwrap();
        }
    }

    fn ids(t: &mut TempStore) -> Vec<u64> {
        t.run(|tx| {
            let s = lookup(tx, b"s").unwrap().unwrap();
            range(tx, b"s", &s, Id::MIN, Id::MAX, 0, Rev::No).unwrap().iter().map(|e| e.0.ms).collect()
        })
    }

    #[test]
    fn exact_trim_counts_the_entry_being_added() {
        let mut t = TempStore::new();
        add_n(&mut t, 1, 4);
        let spec = TrimSpec { strategy: Trim::MaxLen(0), approx: false, limit: 0 };
        let out =
            t.run(|tx| add(tx, b"s", NewId::Exact(id(9)), [&b"f"[..], b"v"].into_iter(), true, Some(spec))).unwrap();
        assert_eq!(out, AddOutcome::Added(id(9)));
        assert_eq!(ids(&mut t), Vec::<u64>::new());
        let s = t.run(|tx| lookup(tx, b"s").unwrap().unwrap());
        assert_eq!((s.len, s.first, s.last, s.entries_added), (0, Id::MIN, id(9), 4));
    }

    #[test]
    fn approximate_trim_drops_whole_nodes_only_within_the_limit() {
        let mut t = TempStore::new();
        add_n(&mut t, 1, 251);
        let approx = |limit| TrimSpec { strategy: Trim::MaxLen(10), approx: true, limit };
        assert_eq!(t.run(|tx| trim(tx, b"s", approx(50))).unwrap(), 0);
        assert_eq!(t.run(|tx| trim(tx, b"s", approx(DEFAULT_TRIM_LIMIT))).unwrap(), 200);
        assert_eq!(ids(&mut t).first(), Some(&201));
        let minid = TrimSpec { strategy: Trim::MinId(id(240)), approx: false, limit: 0 };
        assert_eq!(t.run(|tx| trim(tx, b"s", minid)).unwrap(), 39);
        let s = t.run(|tx| lookup(tx, b"s").unwrap().unwrap());
        assert_eq!((s.len, s.first), (11, id(240)));
    }
}
