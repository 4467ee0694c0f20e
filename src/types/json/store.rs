//! How a JSON document lives on disk, so that a one-field change to a large
//! document rewrites only the small part that holds the field.
//!
//! ```text
//! meta : Meta::collection(Json, version, next_node_id, expire, extra)
//!        extra = 0x00 | document text      small document, inline (one Get)
//!        extra = 0x01                      split document: root is node 0
//! data : keys::json_node(db, key, version, id) -> node record
//!        node record = JSON text `[shape, [[path, child_id], ...]]`
//! ```
//! A split document is a tree of nodes. A node is a JSON container whose big
//! container descendants (over `SPLIT_MIN` bytes, once the node passes
//! `NODE_MAX`) are cut out into their own nodes: `shape` has `null` where
//! such a child was, and the list names the child's path inside the shape and
//! its node id. `meta.len` is the next free node id of this version.
//!
//! In memory a not-yet-loaded child is a placeholder string (a per-process
//! random prefix + id; it never reaches the disk), so a partly loaded node is
//! an ordinary `serde_json::Value`. A simple path (`$.a.b[3]`) walks from the
//! root loading only the nodes on its way ([`walk`]); the change is written
//! back to that one node ([`save_node`]), splitting it again if it grew.
//! A filter, wildcard or recursive descent is evaluated on the loaded
//! document and each match edited so, through its own location; only many
//! or nested matches (see `matches` in `types::json`) and a new root load
//! the whole document and write it back under a fresh version
//! ([`save_full`]), so the old nodes die with their version (GC), as DEL and
//! overwrite do for every collection.
//!
//! A big array (over `NODE_MAX`) is not one node but a *chunked array*: its
//! node record is an index `'V' | (chunk_id varint | count varint)*` (LEB128;
//! `'A'` with fixed u64 BE pairs is the first format, still read) and its
//! elements sit, in order, in chunk nodes of about `CHUNK_BYTES` (ordinary
//! node records whose shape is an array slice). The counts map an element
//! index to its chunk without reading the chunks, so a change to one element
//! rewrites one chunk, and ARRAPPEND/ARRINSERT/ARRPOP/ARRTRIM rewrite the
//! chunks they touch plus the index ([`splice`], [`trim`]). Elements over
//! `CHUNK_BYTES` that are containers become nodes of their own. A chunk is
//! never itself chunked; an edit that grows it is cut into several even
//! chunks, and one that leaves it under half full merges it with a
//! neighbour (or evens the two out), so an array keeps at most about twice
//! the chunks its bytes need however it was edited.
//!
//! A value cut out of a document in place (ARRPOP, ARRTRIM, JSON.DEL of a
//! plain path, JSON.SET over a value) takes its nodes with it: their records
//! are deleted in the same write ([`take`], [`drop_below`]), since they keep
//! the live version and the version GC would never reclaim them.

use super::Seg;
use crate::error::CmdError;
use crate::storage::{keys, Cf, Meta, OfType, Tx, Type};
use serde_json::Value;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// Documents up to this size (serialized) live inline in `meta`.
const INLINE_MAX: usize = 2048;
/// A node bigger than this cuts out its big container children.
const NODE_MAX: usize = 4096;
/// Children smaller than this stay in their parent's node.
const SPLIT_MIN: usize = 64;

/// Target size of one chunk of a chunked array.
const CHUNK_BYTES: usize = 2048;
/// A chunk left smaller than this by an edit is merged with a neighbour (or
/// evened out against it), so every chunk of an array of several stays over
/// about half full and an array has at most about twice the chunks it needs.
const MERGE_BELOW: usize = CHUNK_BYTES / 2;
/// First byte of a chunked array's index record (ordinary nodes start `[`):
/// varint pairs. Every array edit rewrites the index, so it is kept small:
/// about 4 bytes a chunk (2 KiB per MiB of small elements; fixed pairs were
/// 16 bytes, 8 KiB per MiB, four times the chunk an edit rewrites).
const INDEX_TAG: u8 = b'V';
/// First byte of the index format with fixed u64 BE pairs (still read).
const INDEX_TAG_FIXED: u8 = b'A';

const INLINE: u8 = 0;
const SPLIT: u8 = 1;

/// The random prefix of placeholder strings, fixed for the process.
fn placeholder_prefix() -> &'static str {
    static P: OnceLock<String> = OnceLock::new();
    P.get_or_init(|| {
        let mut h = ahash::RandomState::new().build_hasher();
        h.write_u64(std::process::id() as u64);
        format!("\u{0}diskdb-json-node:{:016x}:", h.finish())
    })
}

fn placeholder(id: u64) -> Value {
    Value::String(format!("{}{id}", placeholder_prefix()))
}

/// The node id if `v` is a placeholder.
pub fn placeholder_id(v: &Value) -> Option<u64> {
    match v {
        // Most strings are rejected on their first byte (a load checks them all).
        Value::String(s) if s.starts_with('\0') => s.strip_prefix(placeholder_prefix())?.parse().ok(),
        _ => None,
    }
}

/// The live JSON document record of `key` (None if absent, WRONGTYPE otherwise).
pub fn lookup(tx: &mut Tx, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    tx.meta(key)?.of_type(Type::Json)
}

/// True if the document is split into nodes (else it is inline).
pub fn is_split(meta: &Meta) -> bool {
    meta.extra().first() == Some(&SPLIT)
}

fn corrupt() -> CmdError {
    log::error!("corrupt JSON document record");
    CmdError::Internal
}

fn read_node(tx: &Tx, key: &[u8], meta: &Meta, id: u64) -> Result<Vec<u8>, CmdError> {
    tx.get(Cf::Data, &keys::json_node(tx.db, key, meta.version(), id))?.ok_or_else(corrupt)
}

/// Loads node `id` (a chunked array is assembled from its chunks); children
/// in other nodes stay placeholders. The ids of the records read are pushed
/// to `read`.
fn load_node(tx: &Tx, key: &[u8], meta: &Meta, id: u64, read: &mut Vec<u64>) -> Result<Value, CmdError> {
    let raw = read_node(tx, key, meta, id)?;
    read.push(id);
    let Some(ix) = Chunks::decode(id, &raw) else {
        return decode_node(&raw).ok_or_else(corrupt);
    };
    let mut all = Vec::with_capacity(ix.len() as usize);
    for &(chunk, _) in &ix.list {
        all.append(&mut load_chunk(tx, key, meta, chunk)?);
        read.push(chunk);
    }
    Ok(Value::Array(all))
}

/// The node ids a node record points to: a chunked array's chunks, or an
/// ordinary node's children (read off the ref list without building values).
fn node_children(id: u64, raw: &[u8]) -> Option<Vec<u64>> {
    use serde::de::IgnoredAny;
    if let Some(ix) = Chunks::decode(id, raw) {
        return Some(ix.list.iter().map(|c| c.0).collect());
    }
    // No refs (most chunks): `encode_node` ends such a record so, and a ref
    // list ends `id]]`; no need to scan the shape.
    if raw.ends_with(b",[]]") {
        return Some(Vec::new());
    }
    let (_, refs): (IgnoredAny, Vec<(IgnoredAny, u64)>) = serde_json::from_slice(raw).ok()?;
    Some(refs.into_iter().map(|r| r.1).collect())
}

/// Deletes node `id` and every node below it, in this write: a value cut
/// out of a document leaves no records behind. (The version GC only reclaims
/// whole documents; these records keep the live version.)
fn drop_node(tx: &mut Tx, key: &[u8], meta: &Meta, id: u64) -> Result<(), CmdError> {
    let mut todo = vec![id];
    while let Some(id) = todo.pop() {
        let raw = read_node(tx, key, meta, id)?;
        todo.extend(node_children(id, &raw).ok_or_else(corrupt)?);
        tx.delete(Cf::Data, keys::json_node(tx.db, key, meta.version(), id));
    }
    Ok(())
}

/// Deletes the nodes below a value removed from a document (its placeholders
/// and everything under them).
pub fn drop_below(tx: &mut Tx, key: &[u8], meta: &Meta, v: &Value) -> Result<(), CmdError> {
    let mut ids = Vec::new();
    placeholders(v, &mut ids);
    ids.into_iter().try_for_each(|id| drop_node(tx, key, meta, id))
}

/// True if nodes hang below `v` (it is or holds a placeholder).
pub fn holds_nodes(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(holds_nodes),
        Value::Object(o) => o.values().any(holds_nodes),
        other => placeholder_id(other).is_some(),
    }
}

/// Whether editing `matches` locations of the loaded document `root` one by
/// one in place writes less than writing it whole: each such edit rewrites
/// about a node (`NODE_MAX`; a chunk plus its array's index), so past
/// `size / NODE_MAX` matches one whole rewrite is the cheaper.
pub fn in_place_pays(root: &Value, matches: usize) -> bool {
    /// Counts `v`'s size down from `left`; true once it reaches zero (so
    /// few matches are decided after a few members, not the document).
    fn reaches(v: &Value, left: &mut usize) -> bool {
        let own = match v {
            Value::Array(a) => return a.iter().any(|c| reaches(c, left)),
            Value::Object(o) => return o.iter().any(|(k, c)| reaches_by(k.len() + 5, left) || reaches(c, left)),
            other => size_of(other),
        };
        reaches_by(own, left)
    }
    fn reaches_by(n: usize, left: &mut usize) -> bool {
        *left = left.saturating_sub(n);
        *left == 0
    }
    reaches(root, &mut matches.saturating_mul(NODE_MAX))
}

fn placeholders(v: &Value, ids: &mut Vec<u64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|c| placeholders(c, ids)),
        Value::Object(o) => o.values().for_each(|c| placeholders(c, ids)),
        other => ids.extend(placeholder_id(other)),
    }
}

/// A value removed from a document, loaded whole; the records of its nodes
/// are deleted in this write (each is read once, for both).
pub fn take(tx: &mut Tx, key: &[u8], meta: &Meta, mut v: Value) -> Result<Value, CmdError> {
    let mut read = Vec::new();
    materialize_into(tx, key, meta, &mut v, &mut read)?;
    for id in read {
        tx.delete(Cf::Data, keys::json_node(tx.db, key, meta.version(), id));
    }
    Ok(v)
}

fn load_chunk(tx: &Tx, key: &[u8], meta: &Meta, id: u64) -> Result<Vec<Value>, CmdError> {
    match decode_node(&read_node(tx, key, meta, id)?) {
        Some(Value::Array(a)) => Ok(a),
        _ => Err(corrupt()),
    }
}

/// The index of a chunked array: its chunks' node ids and element counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunks {
    /// The array's own node id (where the index record lives).
    pub node: u64,
    /// `(chunk node id, element count)` in array order.
    pub list: Vec<(u64, u64)>,
}

impl Chunks {
    /// Parses an index record; None if `raw` is an ordinary node.
    fn decode(node: u64, raw: &[u8]) -> Option<Chunks> {
        let (&tag, mut body) = raw.split_first()?;
        let list = match tag {
            INDEX_TAG => {
                let mut list = Vec::with_capacity(body.len() / 4);
                while !body.is_empty() {
                    let id = varint(&mut body)?;
                    list.push((id, varint(&mut body)?));
                }
                list
            }
            INDEX_TAG_FIXED => {
                let word = |b: &[u8]| u64::from_be_bytes(b.try_into().expect("invariant: 8-byte slice"));
                body.chunks_exact(16).map(|p| (word(&p[..8]), word(&p[8..]))).collect()
            }
            _ => return None,
        };
        Some(Chunks { node, list })
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 5 * self.list.len());
        out.push(INDEX_TAG);
        for &(id, n) in &self.list {
            put_varint(&mut out, id);
            put_varint(&mut out, n);
        }
        out
    }

    /// Number of elements.
    pub fn len(&self) -> u64 {
        self.list.iter().map(|c| c.1).sum()
    }

    /// True if the array is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The chunk position holding element `i` and its index there; `i ==
    /// len` is the end of the last chunk.
    fn find(&self, mut i: u64) -> (usize, u64) {
        for (pos, &(_, n)) in self.list.iter().enumerate() {
            if i < n {
                return (pos, i);
            }
            i -= n;
        }
        match self.list.last() {
            Some(&(_, n)) => (self.list.len() - 1, i + n),
            None => (0, 0),
        }
    }
}

/// Appends `v` as LEB128 (7 bits a byte, low first, high bit = more).
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 number off the front of `b`; None if cut short or too long.
fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&x, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(x & 0x7f) << shift;
        if x & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn decode_node(raw: &[u8]) -> Option<Value> {
    let Value::Array(mut pair) = serde_json::from_slice::<Value>(raw).ok()? else {
        return None;
    };
    let refs = pair.pop()?;
    let mut shape = pair.pop()?;
    for r in refs.as_array()? {
        let (path, id) = (r.get(0)?.as_array()?, r.get(1)?.as_u64()?);
        let mut at = &mut shape;
        for p in path {
            at = match p {
                Value::String(k) => at.get_mut(k.as_str())?,
                Value::Number(n) => at.get_mut(n.as_u64()? as usize)?,
                _ => return None,
            };
        }
        *at = placeholder(id);
    }
    Some(shape)
}

/// Serializes a node: placeholders become `null` in the shape plus a ref.
fn encode_node(mut v: Value) -> Vec<u8> {
    fn collect(v: &mut Value, path: &mut Vec<Value>, refs: &mut Vec<Value>) {
        if let Some(id) = placeholder_id(v) {
            refs.push(Value::Array(vec![Value::Array(path.clone()), id.into()]));
            *v = Value::Null;
            return;
        }
        match v {
            Value::Array(a) => {
                for (i, c) in a.iter_mut().enumerate() {
                    path.push(i.into());
                    collect(c, path, refs);
                    path.pop();
                }
            }
            Value::Object(o) => {
                for (k, c) in o.iter_mut() {
                    path.push(Value::String(k.clone()));
                    collect(c, path, refs);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut refs = Vec::new();
    collect(&mut v, &mut Vec::new(), &mut refs);
    serde_json::to_vec(&Value::Array(vec![v, Value::Array(refs)])).expect("invariant: a Value always serializes")
}

/// Cuts big container children of `v` out into new nodes (bottom-up);
/// returns the approximate serialized size of what stays in `v`.
fn shrink(v: &mut Value, next_id: &mut u64, out: &mut Vec<(u64, Vec<u8>)>) -> usize {
    let mut total = match &*v {
        Value::String(s) => return s.len() + 2,
        Value::Number(n) => return number_len(n),
        Value::Bool(_) | Value::Null => return 5,
        Value::Object(o) => 2 + o.keys().map(|k| k.len() + 4).sum::<usize>(),
        Value::Array(_) => 2,
    };
    let mut sizes = Vec::new();
    for c in children_mut(v) {
        let s = shrink(c, next_id, out);
        total += s + 1;
        sizes.push(s);
    }
    if total > NODE_MAX {
        // A big array is chunked by whoever holds it, so only elements too
        // big for a chunk leave it; an object sheds every sizeable member.
        let min = if v.is_array() { CHUNK_BYTES } else { SPLIT_MIN };
        for (c, s) in children_mut(v).into_iter().zip(sizes) {
            if s >= min && (c.is_array() || c.is_object()) {
                let id = alloc(next_id);
                let child = std::mem::replace(c, placeholder(id));
                emit(id, child, s, Chunking::Allowed, next_id, out);
                total = total - s + 40;
            }
        }
    }
    total
}

fn alloc(next_id: &mut u64) -> u64 {
    *next_id += 1;
    *next_id - 1
}

/// Whether a node being written may become a chunked array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunking {
    Allowed,
    /// The node is a chunk of a chunked array: it stays one slice.
    IsChunk,
}

/// Queues node `id` holding `v` (already shrunk to `size` bytes): a big
/// array becomes a chunked array, anything else one record.
fn emit(id: u64, v: Value, size: usize, chunking: Chunking, next_id: &mut u64, out: &mut Vec<(u64, Vec<u8>)>) {
    match v {
        Value::Array(a) if chunking == Chunking::Allowed && size > NODE_MAX => {
            let list = chunk_into(a, &mut Vec::new(), next_id, out);
            out.push((id, Chunks { node: id, list }.encode()));
        }
        v => out.push((id, encode_node(v))),
    }
}

/// Cuts shrunk elements into the fewest chunks of at most about
/// `CHUNK_BYTES`, of even sizes (an overfull chunk becomes two half-full
/// ones, so the next edits there fit; every chunk of a cut is over half
/// full). Chunks take their node ids from the front of `reuse`, then new
/// ones; ids left in `reuse` are the caller's to delete. Returns the index
/// entries (none for no elements).
fn chunk_into(
    elems: Vec<Value>,
    reuse: &mut Vec<u64>,
    next_id: &mut u64,
    out: &mut Vec<(u64, Vec<u8>)>,
) -> Vec<(u64, u64)> {
    let sizes = elems.iter().map(chunk_bytes).collect();
    chunk_sized(elems, sizes, reuse, next_id, out)
}

/// [`chunk_into`] with the elements' [`chunk_bytes`] already measured.
fn chunk_sized(
    elems: Vec<Value>,
    sizes: Vec<usize>,
    reuse: &mut Vec<u64>,
    next_id: &mut u64,
    out: &mut Vec<(u64, Vec<u8>)>,
) -> Vec<(u64, u64)> {
    let total: usize = sizes.iter().sum();
    let n = total.div_ceil(CHUNK_BYTES).max(1);
    let mut list = Vec::new();
    let mut cur = Vec::new();
    let mut flush = |cur: &mut Vec<Value>| {
        let id = if reuse.is_empty() { alloc(next_id) } else { reuse.remove(0) };
        list.push((id, cur.len() as u64));
        out.push((id, encode_node(Value::Array(std::mem::take(cur)))));
    };
    // An element belongs to the chunk its first byte falls in when the
    // bytes are spread evenly over `n` chunks.
    let (mut at, mut chunk) = (0, 0);
    for (e, s) in elems.into_iter().zip(sizes) {
        let c = at * n / total;
        if c != chunk && !cur.is_empty() {
            flush(&mut cur);
        }
        chunk = c;
        at += s;
        cur.push(e);
    }
    if !cur.is_empty() {
        flush(&mut cur);
    }
    list
}

/// An element's share of its chunk's size.
fn chunk_bytes(v: &Value) -> usize {
    size_of(v) + 1
}

/// Approximate serialized size, measured as [`shrink`] measures.
fn size_of(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 2,
        Value::Number(n) => number_len(n),
        Value::Bool(_) | Value::Null => 5,
        Value::Object(o) => 2 + o.iter().map(|(k, c)| k.len() + 5 + size_of(c)).sum::<usize>(),
        Value::Array(a) => 2 + a.iter().map(|c| size_of(c) + 1).sum::<usize>(),
    }
}

/// A number's serialized length; integers without formatting them (chunks
/// are measured element by element on every edit).
fn number_len(n: &serde_json::Number) -> usize {
    let digits = |u: u64| u.checked_ilog10().map_or(1, |l| l as usize + 1);
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => digits(u),
        (None, Some(i)) => 1 + digits(i.unsigned_abs()),
        _ => n.to_string().len(),
    }
}

fn children_mut(v: &mut Value) -> Vec<&mut Value> {
    match v {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(o) => o.values_mut().collect(),
        _ => Vec::new(),
    }
}

/// Reads the whole document.
pub fn load_full(tx: &Tx, key: &[u8], meta: &Meta) -> Result<Value, CmdError> {
    let extra = meta.extra();
    match extra.first() {
        Some(&INLINE) => serde_json::from_slice(&extra[1..]).map_err(|_| corrupt()),
        Some(&SPLIT) => {
            let mut root = load_node(tx, key, meta, 0, &mut Vec::new())?;
            materialize(tx, key, meta, &mut root)?;
            Ok(root)
        }
        _ => Err(corrupt()),
    }
}

/// Replaces every placeholder inside `v` by its loaded subtree.
pub fn materialize(tx: &Tx, key: &[u8], meta: &Meta, v: &mut Value) -> Result<(), CmdError> {
    materialize_into(tx, key, meta, v, &mut Vec::new())
}

/// [`materialize`], pushing the ids of the records read to `read`.
fn materialize_into(tx: &Tx, key: &[u8], meta: &Meta, v: &mut Value, read: &mut Vec<u64>) -> Result<(), CmdError> {
    if let Some(id) = placeholder_id(v) {
        *v = load_node(tx, key, meta, id, read)?;
    }
    match v {
        Value::Array(a) => a.iter_mut().try_for_each(|c| materialize_into(tx, key, meta, c, read)),
        Value::Object(o) => o.values_mut().try_for_each(|c| materialize_into(tx, key, meta, c, read)),
        _ => Ok(()),
    }
}

/// Writes the whole document `v` at `key`, replacing any previous value but
/// keeping `expire_ms`.
pub fn save_full(tx: &mut Tx, key: &[u8], mut v: Value, expire_ms: u64) -> Result<(), CmdError> {
    let text = serde_json::to_vec(&v).expect("invariant: a Value always serializes");
    if text.len() <= INLINE_MAX {
        let mut extra = Vec::with_capacity(text.len() + 1);
        extra.push(INLINE);
        extra.extend_from_slice(&text);
        return Ok(tx.put_meta(key, Meta::collection(Type::Json, 0, 1, expire_ms, &extra))?);
    }
    let version = tx.new_version()?;
    let mut next_id = 1;
    let mut out = Vec::new();
    let size = shrink(&mut v, &mut next_id, &mut out);
    emit(0, v, size, Chunking::Allowed, &mut next_id, &mut out);
    for (id, rec) in out {
        tx.put(Cf::Data, keys::json_node(tx.db, key, version, id), rec);
    }
    Ok(tx.put_meta(key, Meta::collection(Type::Json, version, next_id, expire_ms, &[SPLIT]))?)
}

/// A position reached by [`walk`]: the loaded node holding it and the path
/// inside that node.
pub struct Walked {
    /// Node id.
    pub node: u64,
    /// The node's value (children in other nodes are placeholders); `Null`
    /// if the position is a chunked array (then `array` is set).
    pub value: Value,
    /// Path of the position inside `value` (indexes resolved, non-negative).
    pub rel: Vec<Seg>,
    /// The node is chunk `pos` of a chunked array: that array's index and
    /// `pos` (the chunk stays one slice, re-cut only through the index).
    pub chunk: Option<(Chunks, usize)>,
    /// The position is a chunked array: its index.
    pub array: Option<Chunks>,
}

/// Follows `chain` from the root of a split document, loading only the nodes
/// on the way (one chunk of each chunked array crossed); None if the path
/// does not exist.
pub fn walk(tx: &Tx, key: &[u8], meta: &Meta, chain: &[Seg]) -> Result<Option<Walked>, CmdError> {
    let mut node = 0;
    let mut raw = read_node(tx, key, meta, 0)?;
    // The current node stays undecoded while each step lands on a child
    // node: a wide node (thousands of members) is then only scanned.
    let mut value: Option<Value> = None;
    let mut rel = Vec::new();
    let mut chunk = None;
    for seg in chain {
        if value.is_none() {
            if let Some(ix) = Chunks::decode(node, &raw) {
                // Only an index leads on from a chunked array, into one chunk.
                let Seg::Idx(i) = seg else {
                    return Ok(None);
                };
                let len = ix.len() as i64;
                let i = if *i < 0 { len + i } else { *i };
                if !(0..len).contains(&i) {
                    return Ok(None);
                }
                let (pos, at) = ix.find(i as u64);
                node = ix.list[pos].0;
                raw = read_node(tx, key, meta, node)?;
                chunk = Some((ix, pos));
                let v = value.insert(decode_node(&raw).ok_or_else(corrupt)?);
                rel = vec![Seg::Idx(at as i64)];
                if let Some(id) = super::get(v, &rel).and_then(placeholder_id) {
                    node = id;
                    raw = read_node(tx, key, meta, id)?;
                    (value, chunk) = (None, None);
                    rel.clear();
                }
                continue;
            }
            if let Some(id) = child_node(&raw, seg) {
                node = id;
                raw = read_node(tx, key, meta, id)?;
                chunk = None;
                continue;
            }
        }
        let v = match &mut value {
            Some(v) => v,
            None => value.insert(decode_node(&raw).ok_or_else(corrupt)?),
        };
        let Some(cur) = super::get(v, &rel) else {
            return Ok(None);
        };
        let Some(step) = super::resolve(cur, seg) else {
            return Ok(None);
        };
        rel.push(step);
        let child = super::get(v, &rel).expect("invariant: resolved step exists");
        if let Some(id) = placeholder_id(child) {
            node = id;
            raw = read_node(tx, key, meta, id)?;
            (value, chunk) = (None, None);
            rel.clear();
        }
    }
    let value = match value {
        Some(v) => v,
        None => {
            if let Some(ix) = Chunks::decode(node, &raw) {
                return Ok(Some(Walked { node, value: Value::Null, rel, chunk: None, array: Some(ix) }));
            }
            decode_node(&raw).ok_or_else(corrupt)?
        }
    };
    Ok(Some(Walked { node, value, rel, chunk, array: None }))
}

/// The node id of the direct child `seg` of a node record's root, if that
/// child is a node of its own; found by scanning the record's ref list
/// without building the node's values.
fn child_node(raw: &[u8], seg: &Seg) -> Option<u64> {
    use serde::de::IgnoredAny;
    use serde_json::value::RawValue;
    let want = match seg {
        Seg::Key(k) => serde_json::to_string(&[k]).ok()?,
        Seg::Idx(i) if *i >= 0 => format!("[{i}]"),
        Seg::Idx(_) => return None,
    };
    let (_, refs): (IgnoredAny, Vec<(&RawValue, u64)>) = serde_json::from_slice(raw).ok()?;
    refs.iter().find(|(p, _)| p.get() == want).map(|(_, id)| *id)
}

/// Writes back a walked node changed in place (`w.value`), cutting it again
/// if it grew. Only this node and any new children are written (plus `meta`
/// if ids were used). If `w` was a chunked array, its value was replaced
/// whole: the old chunks are deleted.
pub fn save_node(tx: &mut Tx, key: &[u8], meta: &Meta, w: Walked) -> Result<(), CmdError> {
    if let Some(ix) = &w.array {
        for &(id, _) in &ix.list {
            drop_node(tx, key, meta, id)?;
        }
    }
    let chunking = if w.chunk.is_some() { Chunking::IsChunk } else { Chunking::Allowed };
    let mut next_id = meta.len();
    let mut out = Vec::new();
    let mut value = w.value;
    let size = shrink(&mut value, &mut next_id, &mut out);
    if let (Some((mut ix, pos)), Value::Array(elems)) = (w.chunk, &mut value) {
        // An element edit that took its chunk well past a chunk's size (or
        // under half of it) re-cuts (or merges) it as the array commands do,
        // so no chunk grows without bound. The margin keeps a chunk cut
        // just over the size by a big element from being re-cut on every
        // edit; one element alone is never cut.
        let overfull = size > CHUNK_BYTES + CHUNK_BYTES / 2 && elems.len() > 1;
        if overfull || (size < MERGE_BELOW && ix.list.len() > 1) {
            rewrite_chunk(tx, key, meta, &mut ix, pos, std::mem::take(elems), &mut next_id)?;
            out.push((ix.node, ix.encode()));
            return write_out(tx, key, meta, next_id, out);
        }
    }
    emit(w.node, value, size, chunking, &mut next_id, &mut out);
    write_out(tx, key, meta, next_id, out)
}

/// Puts queued node records, and `meta` if node ids were used.
fn write_out(tx: &mut Tx, key: &[u8], meta: &Meta, next_id: u64, out: Vec<(u64, Vec<u8>)>) -> Result<(), CmdError> {
    for (id, rec) in out {
        tx.put(Cf::Data, keys::json_node(tx.db, key, meta.version(), id), rec);
    }
    if next_id != meta.len() {
        let m = Meta::collection(Type::Json, meta.version(), next_id, meta.expire_ms(), meta.extra());
        tx.put_meta(key, m)?;
    }
    Ok(())
}

/// Prepares new elements for a chunk: each is shrunk, and a container too
/// big for a chunk becomes a node of its own.
fn prepare(values: &[Value], next_id: &mut u64, out: &mut Vec<(u64, Vec<u8>)>) -> Vec<Value> {
    values
        .iter()
        .map(|v| {
            let mut v = v.clone();
            let s = shrink(&mut v, next_id, out);
            if s >= CHUNK_BYTES && (v.is_array() || v.is_object()) {
                let id = alloc(next_id);
                emit(id, v, s, Chunking::Allowed, next_id, out);
                return placeholder(id);
            }
            v
        })
        .collect()
}

/// One edit of a chunk of a chunked array (indexes inside the chunk).
pub enum Edit<'a> {
    /// Insert these values before this index.
    Insert(usize, &'a [Value]),
    /// Remove the element at this index.
    Remove(usize),
}

/// Applies `edit` to chunk `pos` of a chunked array (an array without
/// chunks gets a first one), rewriting that chunk and the index (see
/// [`rewrite_chunk`]). Returns a removed element as it was stored: the
/// caller [`take`]s it or [`drop_below`]s it.
pub fn splice(
    tx: &mut Tx,
    key: &[u8],
    meta: &Meta,
    mut ix: Chunks,
    pos: usize,
    edit: Edit,
) -> Result<Option<Value>, CmdError> {
    let mut next_id = meta.len();
    let mut out = Vec::new();
    if ix.list.is_empty() {
        ix.list.push((alloc(&mut next_id), 0));
    }
    let pos = pos.min(ix.list.len() - 1);
    let id = ix.list[pos].0;
    let mut elems = if ix.list[pos].1 == 0 { Vec::new() } else { load_chunk(tx, key, meta, id)? };
    let removed = match edit {
        Edit::Insert(at, values) => {
            let tail = elems.split_off(at.min(elems.len()));
            elems.extend(prepare(values, &mut next_id, &mut out));
            elems.extend(tail);
            None
        }
        Edit::Remove(at) if at < elems.len() => Some(elems.remove(at)),
        Edit::Remove(_) => return Err(corrupt()),
    };
    rewrite_chunk(tx, key, meta, &mut ix, pos, elems, &mut next_id)?;
    out.push((ix.node, ix.encode()));
    write_out(tx, key, meta, next_id, out)?;
    Ok(removed)
}

/// Writes `elems` as the new content of chunk `pos` and updates the index
/// entries: cut in several if it grew past a chunk, merged with a neighbour
/// (or evened out against it) if it fell under `MERGE_BELOW`, deleted if it
/// emptied. At most the chunk and one neighbour are read and written.
fn rewrite_chunk(
    tx: &mut Tx,
    key: &[u8],
    meta: &Meta,
    ix: &mut Chunks,
    pos: usize,
    mut elems: Vec<Value>,
    next_id: &mut u64,
) -> Result<(), CmdError> {
    let mut ids = vec![ix.list[pos].0];
    let mut span = pos..pos + 1;
    let mut sizes: Vec<usize> = elems.iter().map(chunk_bytes).collect();
    if ix.list.len() > 1 && sizes.iter().sum::<usize>() < MERGE_BELOW {
        // The right neighbour, or the left one for the last chunk.
        let other = if pos + 1 < ix.list.len() { pos + 1 } else { pos - 1 };
        let (id, n) = ix.list[other];
        let mut more = if n == 0 { Vec::new() } else { load_chunk(tx, key, meta, id)? };
        let mut more_sizes = more.iter().map(chunk_bytes).collect();
        if other > pos {
            elems.append(&mut more);
            sizes.append(&mut more_sizes);
            ids.push(id);
            span.end += 1;
        } else {
            more.append(&mut elems);
            more_sizes.append(&mut sizes);
            (elems, sizes) = (more, more_sizes);
            ids.insert(0, id);
            span.start -= 1;
        }
    }
    let mut out = Vec::new();
    let new = chunk_sized(elems, sizes, &mut ids, next_id, &mut out);
    for (id, rec) in out {
        tx.put(Cf::Data, keys::json_node(tx.db, key, meta.version(), id), rec);
    }
    for id in ids {
        tx.delete(Cf::Data, keys::json_node(tx.db, key, meta.version(), id));
    }
    ix.list.splice(span, new);
    Ok(())
}

/// The chunk position of element `i` of a chunked array and its index
/// there; `i == len` is the end of the last chunk.
pub fn locate(ix: &Chunks, i: u64) -> (usize, usize) {
    let (pos, at) = ix.find(i);
    (pos, at as usize)
}

/// ARRTRIM on a chunked array: keeps elements `from..to` (exclusive end).
/// Whole chunks outside are deleted with every node below them, the two
/// border chunks cut (and merged with their inner neighbour if they became
/// small).
pub fn trim(tx: &mut Tx, key: &[u8], meta: &Meta, ix: Chunks, from: u64, to: u64) -> Result<u64, CmdError> {
    let mut kept = Vec::new();
    let mut cut = Vec::new();
    let mut off = 0;
    for &(id, n) in &ix.list {
        let (s, e) = (off, off + n);
        off = e;
        if e <= from || s >= to {
            drop_node(tx, key, meta, id)?;
        } else if s >= from && e <= to {
            kept.push((id, n));
        } else {
            let mut elems = load_chunk(tx, key, meta, id)?;
            let (lo, hi) = (from.saturating_sub(s) as usize, (to.min(e) - s) as usize);
            let tail = elems.split_off(hi);
            let part: Vec<Value> = elems.drain(lo..).collect();
            for gone in elems.iter().chain(&tail) {
                drop_below(tx, key, meta, gone)?;
            }
            kept.push((id, part.len() as u64));
            cut.push(kept.len() - 1);
            tx.put(Cf::Data, keys::json_node(tx.db, key, meta.version(), id), encode_node(Value::Array(part)));
        }
    }
    let mut ix = Chunks { node: ix.node, list: kept };
    // The border chunks, the last first: merging it may only shift what
    // follows the first.
    let mut next_id = meta.len();
    for pos in cut.into_iter().rev() {
        if pos < ix.list.len() && ix.list.len() > 1 {
            let elems = load_chunk(tx, key, meta, ix.list[pos].0)?;
            if elems.iter().map(chunk_bytes).sum::<usize>() < MERGE_BELOW {
                rewrite_chunk(tx, key, meta, &mut ix, pos, elems, &mut next_id)?;
            }
        }
    }
    let len = ix.len();
    write_out(tx, key, meta, next_id, vec![(ix.node, ix.encode())])?;
    Ok(len)
}
#[cfg(test)]
mod tests {
    use super::super::{
        arrappend, arrinsert, arrpop, arrtrim, clear, del, get, merge, num_op, set, JPath, NumOp, Seg, SetCond,
        SetOutcome,
    };
    use super::*;
    use crate::storage::testutil::TempStore;
    use serde_json::{json, Map};
    use std::collections::BTreeSet;

    /// Node ids of every record stored under the document's live version.
    fn stored(t: &TempStore, key: &[u8], meta: &Meta) -> BTreeSet<u64> {
        let mut ids = BTreeSet::new();
        let prefix = keys::data_prefix(0, key, meta.version());
        let each = |k: &[u8], _: &[u8]| ids.insert(u64::from_be_bytes(k[k.len() - 8..].try_into().unwrap())) | true;
        t.store.iter_prefix(Cf::Data, &prefix, None, false, each).unwrap();
        ids
    }

    /// Node ids reachable from the root.
    fn reachable(t: &TempStore, key: &[u8], meta: &Meta) -> BTreeSet<u64> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![0];
        while let Some(id) = todo.pop() {
            assert!(seen.insert(id), "node {id} reached twice");
            let raw = t.store.get(Cf::Data, &keys::json_node(0, key, meta.version(), id)).unwrap().expect("node");
            todo.extend(node_children(id, &raw).unwrap());
        }
        seen
    }

    /// The chunk count of the chunked array `$.a` and the chunks' total size;
    /// checks that no chunk is far over `CHUNK_BYTES` and the counts.
    fn chunk_stats(t: &mut TempStore, key: &[u8], meta: &Meta) -> Option<(usize, usize)> {
        let ix = t.run(|tx| walk(tx, key, meta, &[Seg::Key("a".into())]).unwrap().unwrap().array)?;
        let sizes: Vec<usize> = t.run(|tx| {
            ix.list
                .iter()
                .map(|c| {
                    let elems = load_chunk(tx, key, meta, c.0).unwrap();
                    assert_eq!(elems.len() as u64, c.1, "index count of chunk {}", c.0);
                    elems.iter().map(chunk_bytes).sum::<usize>()
                })
                .collect()
        });
        let max = sizes.iter().max().copied().unwrap_or(0);
        assert!(max <= 2 * CHUNK_BYTES, "a chunk of {max} bytes");
        Some((ix.list.len(), sizes.iter().sum()))
    }

    /// A container big enough to become nodes of its own: a split object
    /// holding a chunked array.
    fn big_elem(n: u64) -> Value {
        let fields: Map<String, Value> = (0..60).map(|i| (format!("f{i}"), json!("v".repeat(90)))).collect();
        json!({"n": n, "list": (0..1500).collect::<Vec<_>>(), "obj": fields})
    }

    /// A random walk of array edits on a chunked array holding big elements
    /// (and of deletes and overwrites inside them), checked after every
    /// step against a model: the document, no record outside the tree of
    /// reachable nodes, and a chunk count bounded by twice what the bytes
    /// need.
    #[test]
    fn edits_leave_no_records_behind_and_chunks_stay_few() {
        let mut t = TempStore::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n.max(1)
        };
        let mut model = json!({"a": (0..3000).collect::<Vec<_>>(), "m": {"x": big_elem(0)}});
        t.run(|tx| save_full(tx, b"k", model.clone(), 0).unwrap());
        let p = |s: String| JPath::parse(s.as_bytes()).unwrap();
        let mut big_popped = 0;
        for step in 0..400u64 {
            let len = model["a"].as_array().unwrap().len() as u64;
            let i = next(len.max(1));
            let elem = if next(6) == 0 { big_elem(step) } else { json!(step) };
            let arr = model["a"].as_array_mut().unwrap();
            match next(10) {
                0 => {
                    t.run(|tx| arrappend(tx, b"k", &p("$.a".into()), std::slice::from_ref(&elem)).unwrap());
                    arr.push(elem);
                }
                1 | 2 => {
                    t.run(|tx| arrinsert(tx, b"k", &p("$.a".into()), i as i64, std::slice::from_ref(&elem)).unwrap());
                    arr.insert(i as usize, elem);
                }
                3 | 4 if len > 0 => {
                    // Half the pops take a big element if there is one.
                    let big = arr.iter().position(Value::is_object).filter(|_| next(2) == 0);
                    let i = big.map_or(i, |b| b as u64);
                    let r = t.run(|tx| arrpop(tx, b"k", &p("$.a".into()), i as i64).unwrap().unwrap());
                    let gone = arr.remove(i as usize);
                    big_popped += gone.is_object() as usize;
                    assert_eq!(r, vec![Some(Some(gone))], "step {step}");
                }
                5 if len > 0 => {
                    // Keep most of the array, cutting a random margin off both ends.
                    let (from, to) = (next(len / 8 + 1), len - 1 - next(len / 8 + 1));
                    t.run(|tx| arrtrim(tx, b"k", &p("$.a".into()), from as i64, to as i64).unwrap());
                    arr.truncate(to as usize + 1);
                    arr.drain(..from as usize);
                }
                6 if len > 0 => {
                    assert_eq!(t.run(|tx| del(tx, b"k", &p(format!("$.a[{i}]"))).unwrap()), 1);
                    arr.remove(i as usize);
                }
                7 if len > 0 => {
                    let r = t.run(|tx| set(tx, b"k", &p(format!("$.a[{i}]")), elem.clone(), SetCond::Any).unwrap());
                    assert_eq!(r, SetOutcome::Done);
                    arr[i as usize] = elem;
                }
                8 if len > 8 => {
                    // A run of elements grown or shrunk in place.
                    let at = next(len - 8) as usize;
                    for (j, slot) in arr.iter_mut().enumerate().skip(at).take(8) {
                        let v = if next(2) == 0 { json!("s".repeat(300)) } else { json!(j) };
                        let path = p(format!("$.a[{j}]"));
                        assert_eq!(
                            t.run(|tx| set(tx, b"k", &path, v.clone(), SetCond::Any).unwrap()),
                            SetOutcome::Done
                        );
                        *slot = v;
                    }
                }
                _ => {
                    // Inside a big element: drop a member, replace the list.
                    let Some(at) = arr.iter().position(|v| v.get("obj").is_some()) else { continue };
                    let base = format!("$.a[{at}]");
                    if next(2) == 0 {
                        assert_eq!(t.run(|tx| del(tx, b"k", &p(format!("{base}.obj"))).unwrap()), 1);
                        arr[at].as_object_mut().unwrap().remove("obj");
                    } else {
                        t.run(|tx| set(tx, b"k", &p(format!("{base}.list")), json!([1]), SetCond::Any).unwrap());
                        arr[at]["list"] = json!([1]);
                    }
                }
            }
            if model["a"].as_array().unwrap().len() < 1000 {
                let more: Vec<Value> = (0..2000).map(|i| json!(i)).collect();
                t.run(|tx| arrappend(tx, b"k", &p("$.a".into()), &more).unwrap());
                model["a"].as_array_mut().unwrap().extend(more);
            }
            let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
            assert_eq!(t.run(|tx| load_full(tx, b"k", &meta).unwrap()), model, "step {step}");
            assert_eq!(stored(&t, b"k", &meta), reachable(&t, b"k", &meta), "step {step}");
            let (chunks, bytes) = chunk_stats(&mut t, b"k", &meta).expect("still chunked");
            assert!(chunks <= 2 * bytes.div_ceil(CHUNK_BYTES) + 1, "step {step}: {chunks} chunks for {bytes} bytes");
        }
        assert!(big_popped > 10, "the walk popped few big elements: {big_popped}");
        // A path DEL or CLEAR of the big member rewrites or cuts, leaving nothing.
        t.run(|tx| clear(tx, b"k", &p("$.m.x".into())).unwrap());
        assert_eq!(t.run(|tx| del(tx, b"k", &p("$.m".into())).unwrap()), 1);
        model["m"] = Value::Null;
        model.as_object_mut().unwrap().remove("m");
        let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
        assert_eq!(t.run(|tx| load_full(tx, b"k", &meta).unwrap()), model);
        assert_eq!(stored(&t, b"k", &meta), reachable(&t, b"k", &meta));
    }

    /// Elements of one chunk grown one by one in place (JSON.SET of an
    /// element) get the chunk re-cut, and shrunk back get it merged: no
    /// chunk grows far past the chunk size, the count stays bounded.
    #[test]
    fn element_edits_keep_chunks_bounded() {
        let mut t = TempStore::new();
        let mut model = json!({"a": (0..20_000).collect::<Vec<_>>()});
        t.run(|tx| save_full(tx, b"k", model.clone(), 0).unwrap());
        for (j, v) in (100..160).map(|j| (j, json!("s".repeat(300)))).chain((100..160).map(|j| (j, json!(j)))) {
            let path = JPath::parse(format!("$.a[{j}]").as_bytes()).unwrap();
            assert_eq!(t.run(|tx| set(tx, b"k", &path, v.clone(), SetCond::Any).unwrap()), SetOutcome::Done);
            model["a"][j] = v;
            let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
            let (chunks, bytes) = chunk_stats(&mut t, b"k", &meta).unwrap();
            assert!(chunks <= 2 * bytes.div_ceil(CHUNK_BYTES) + 1, "{chunks} chunks for {bytes} bytes");
        }
        let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
        assert_eq!(t.run(|tx| load_full(tx, b"k", &meta).unwrap()), model);
        assert_eq!(stored(&t, b"k", &meta), reachable(&t, b"k", &meta));
    }

    /// Popping one element at a time from a big array, from either end or
    /// the middle, merges the emptying chunks: the array never has more than
    /// twice the chunks its bytes need.
    #[test]
    fn pops_merge_small_chunks() {
        let mut t = TempStore::new();
        t.run(|tx| save_full(tx, b"k", json!({"a": (0..40_000).collect::<Vec<_>>()}), 0).unwrap());
        let a = JPath::parse(b"$.a").unwrap();
        let mut len = 40_000i64;
        for round in 0..3 {
            for _ in 0..12_000 {
                let at = [0, -1, len / 2][round];
                t.run(|tx| arrpop(tx, b"k", &a, at).unwrap());
                len -= 1;
            }
            let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
            let (chunks, bytes) = chunk_stats(&mut t, b"k", &meta).unwrap();
            assert!(chunks <= 2 * bytes.div_ceil(CHUNK_BYTES), "round {round}: {chunks} chunks for {bytes} bytes");
            assert_eq!(stored(&t, b"k", &meta), reachable(&t, b"k", &meta));
        }
    }

    fn big() -> Value {
        let recs: Map<String, Value> =
            (0..400).map(|i| (format!("r{i}"), json!({"n": i, "s": "x".repeat(100), "l": [1, 2, 3]}))).collect();
        json!({"top": 1, "recs": recs})
    }

    #[test]
    fn split_document_round_trips_and_updates_in_place() {
        let mut t = TempStore::new();
        let doc = big();
        t.run(|tx| save_full(tx, b"k", doc.clone(), 0).unwrap());
        let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
        assert!(is_split(&meta));
        assert!(meta.len() > 100, "records became nodes: {}", meta.len());
        assert_eq!(t.run(|tx| load_full(tx, b"k", &meta).unwrap()), doc);
        // A plain path walks to the record's own node and rewrites only it:
        // the version (a full rewrite would change it) stays.
        let path = JPath::parse(b".recs.r7.n").unwrap();
        assert_eq!(path.chain, Some(vec![Seg::Key("recs".into()), Seg::Key("r7".into()), Seg::Key("n".into())]));
        let walked = t.run(|tx| walk(tx, b"k", &meta, path.chain.as_ref().unwrap()).unwrap().unwrap());
        assert_ne!(walked.node, 0);
        assert!(walked.value.to_string().len() < 300);
        let r = t.run(|tx| num_op(tx, b"k", &path, NumOp::Incr, &5.into()).unwrap());
        assert_eq!(r, Some(vec![Some(12.into())]));
        let after = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
        assert_eq!(after.version(), meta.version());
        let mut expect = doc;
        expect["recs"]["r7"]["n"] = 12.into();
        assert_eq!(t.run(|tx| load_full(tx, b"k", &after).unwrap()), expect);
    }

    #[test]
    fn big_arrays_are_chunked_and_edited_chunk_by_chunk() {
        let mut t = TempStore::new();
        let doc = json!({"a": (0..20_000).collect::<Vec<_>>()});
        t.run(|tx| save_full(tx, b"k", doc.clone(), 0).unwrap());
        let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
        let a = [Seg::Key("a".into())];
        let ix = t.run(|tx| walk(tx, b"k", &meta, &a).unwrap().unwrap().array.unwrap());
        assert!(ix.list.len() > 20, "{ix:?}");
        assert_eq!(ix.len(), 20_000);
        // An index lands in one chunk, holding only a slice of the array.
        let w = t.run(|tx| walk(tx, b"k", &meta, &[a[0].clone(), Seg::Idx(-5000)]).unwrap().unwrap());
        assert!(w.chunk.is_some() && w.value.as_array().unwrap().len() < 1000);
        assert_eq!(get(&w.value, &w.rel), Some(&json!(15_000)));
        // Edits keep the version (no whole rewrite) and touch the index only
        // through counts.
        let path = JPath::parse(b"$.a[15000]").unwrap();
        let r = t.run(|tx| num_op(tx, b"k", &path, NumOp::Incr, &1.into()).unwrap());
        assert_eq!(r, Some(vec![Some(15_001.into())]));
        let a_path = JPath::parse(b"$.a").unwrap();
        t.run(|tx| arrappend(tx, b"k", &a_path, &[json!(7)]).unwrap());
        t.run(|tx| arrinsert(tx, b"k", &a_path, 0, &[json!(-1)]).unwrap());
        let after = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
        assert_eq!(after.version(), meta.version());
        let ix2 = t.run(|tx| walk(tx, b"k", &after, &a).unwrap().unwrap().array.unwrap());
        assert_eq!(ix2.len(), 20_002);
        // The middle chunks were not rewritten (same ids, same counts).
        assert!(ix.list[1..ix.list.len() - 1].iter().all(|c| ix2.list.contains(c)), "{ix2:?}");
        let mut expect = doc;
        expect["a"][15_000] = 15_001.into();
        expect["a"].as_array_mut().unwrap().push(7.into());
        expect["a"].as_array_mut().unwrap().insert(0, (-1).into());
        assert_eq!(t.run(|tx| load_full(tx, b"k", &after).unwrap()), expect);
    }

    #[test]
    fn index_records_round_trip_and_the_fixed_format_is_read() {
        let ix = Chunks { node: 7, list: vec![(1, 300), (127, 128), (128, 0), (u64::MAX, 1 << 40)] };
        let raw = ix.encode();
        assert_eq!(raw.len(), 1 + (1 + 2) + (1 + 2) + (2 + 1) + (10 + 6));
        assert_eq!(Chunks::decode(7, &raw), Some(ix.clone()));
        let mut fixed = vec![INDEX_TAG_FIXED];
        for &(id, n) in &ix.list {
            fixed.extend_from_slice(&id.to_be_bytes());
            fixed.extend_from_slice(&n.to_be_bytes());
        }
        assert_eq!(Chunks::decode(7, &fixed), Some(ix));
        assert_eq!(Chunks::decode(7, &raw[..raw.len() - 1]), None, "cut short");
        assert_eq!(Chunks::decode(7, b"[[1],[]]"), None, "an ordinary node");
    }

    /// Edits through filters and recursive descent, CLEAR and MERGE change a
    /// split document in place (its version stays: no whole rewrite) and
    /// leave no records behind; many matches fall back to a whole rewrite.
    #[test]
    fn filtered_edits_stay_in_place() {
        let mut t = TempStore::new();
        let mut doc = big();
        t.run(|tx| save_full(tx, b"k", doc.clone(), 0).unwrap());
        let v0 = t.run(|tx| lookup(tx, b"k").unwrap().unwrap()).version();
        let p = |s: &str| JPath::parse(s.as_bytes()).unwrap();
        let r = t.run(|tx| num_op(tx, b"k", &p("$.recs[?(@.n==7)].n"), NumOp::Incr, &5.into()).unwrap());
        assert_eq!(r, Some(vec![Some(12.into())]));
        doc["recs"]["r7"]["n"] = 12.into();
        assert_eq!(t.run(|tx| clear(tx, b"k", &p("$.recs[?(@.n==8)].l")).unwrap()), Some(1));
        doc["recs"]["r8"]["l"] = json!([]);
        let patch = json!({"s": null, "l": [9], "new": {"a": 1}});
        assert_eq!(t.run(|tx| merge(tx, b"k", &p("$.recs[?(@.n==9)]"), patch.clone()).unwrap()), SetOutcome::Done);
        doc["recs"]["r9"] = json!({"n": 9, "l": [9], "new": {"a": 1}});
        assert_eq!(
            t.run(|tx| merge(tx, b"k", &p("$"), json!({"top": 2, "recs": {"r10": {"n": 100}}})).unwrap()),
            SetOutcome::Done
        );
        doc["top"] = 2.into();
        doc["recs"]["r10"]["n"] = 100.into();
        assert_eq!(t.run(|tx| del(tx, b"k", &p("$.recs[?(@.n<3)].s")).unwrap()), 3);
        for r in ["r0", "r1", "r2"] {
            doc["recs"][r].as_object_mut().unwrap().remove("s");
        }
        let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
        assert_eq!(meta.version(), v0);
        assert_eq!(t.run(|tx| load_full(tx, b"k", &meta).unwrap()), doc);
        assert_eq!(stored(&t, b"k", &meta), reachable(&t, b"k", &meta));
        // Every record's number: more matches than nodes' worth of bytes.
        t.run(|tx| num_op(tx, b"k", &p("$..n"), NumOp::Incr, &1.into()).unwrap());
        assert_ne!(t.run(|tx| lookup(tx, b"k").unwrap().unwrap()).version(), v0);
    }

    #[test]
    fn number_lengths_match_their_text() {
        for n in [json!(0), json!(9), json!(10), json!(-1), json!(-10), json!(u64::MAX), json!(i64::MIN), json!(1.5)] {
            assert_eq!(size_of(&n), n.to_string().len(), "{n}");
        }
    }

    #[test]
    fn small_documents_are_inline() {
        let mut t = TempStore::new();
        t.run(|tx| save_full(tx, b"k", json!({"a": [1, 2]}), 0).unwrap());
        let meta = t.run(|tx| lookup(tx, b"k").unwrap().unwrap());
        assert!(!is_split(&meta));
        assert_eq!(t.run(|tx| load_full(tx, b"k", &meta).unwrap()), json!({"a": [1, 2]}));
    }

    #[test]
    fn only_plain_paths_are_chains() {
        let chain = |p: &str| JPath::parse(p.as_bytes()).unwrap().chain;
        assert_eq!(chain("$"), Some(vec![]));
        assert_eq!(chain("."), Some(vec![]));
        assert_eq!(chain("$.a[-1]['b c']"), Some(vec![Seg::Key("a".into()), Seg::Idx(-1), Seg::Key("b c".into())]));
        for p in ["$..a", "$.a[*]", "$.a[0:2]", "$[?(@.x)]", "$['a','b']", "$.*", "$['a\\']b']", "$['a\\'][\\'b']"] {
            assert_eq!(chain(p), None, "{p}");
        }
    }
}
