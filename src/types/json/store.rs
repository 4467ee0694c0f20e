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
//! Anything else loads the whole document and writes it back under a fresh
//! version ([`save_full`]), so the old nodes die with their version (GC), as
//! DEL and overwrite do for every collection.

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
        Value::String(s) => s.strip_prefix(placeholder_prefix())?.parse().ok(),
        _ => None,
    }
}

/// True if `v` has a placeholder anywhere inside.
pub fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(has_placeholder),
        Value::Object(o) => o.values().any(has_placeholder),
        other => placeholder_id(other).is_some(),
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

fn load_node(tx: &Tx, key: &[u8], meta: &Meta, id: u64) -> Result<Value, CmdError> {
    decode_node(&read_node(tx, key, meta, id)?).ok_or_else(corrupt)
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
        Value::Number(n) => return n.to_string().len(),
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
        for (c, s) in children_mut(v).into_iter().zip(sizes) {
            if s >= SPLIT_MIN && (c.is_array() || c.is_object()) {
                let id = *next_id;
                *next_id += 1;
                let child = std::mem::replace(c, placeholder(id));
                out.push((id, encode_node(child)));
                total = total - s + 40;
            }
        }
    }
    total
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
            let mut root = load_node(tx, key, meta, 0)?;
            materialize(tx, key, meta, &mut root)?;
            Ok(root)
        }
        _ => Err(corrupt()),
    }
}

/// Replaces every placeholder inside `v` by its loaded subtree.
pub fn materialize(tx: &Tx, key: &[u8], meta: &Meta, v: &mut Value) -> Result<(), CmdError> {
    if let Some(id) = placeholder_id(v) {
        *v = load_node(tx, key, meta, id)?;
    }
    match v {
        Value::Array(a) => a.iter_mut().try_for_each(|c| materialize(tx, key, meta, c)),
        Value::Object(o) => o.values_mut().try_for_each(|c| materialize(tx, key, meta, c)),
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
    shrink(&mut v, &mut next_id, &mut out);
    out.push((0, encode_node(v)));
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
    /// The node's value (children in other nodes are placeholders).
    pub value: Value,
    /// Path of the position inside `value` (indexes resolved, non-negative).
    pub rel: Vec<Seg>,
}

/// Follows `chain` from the root of a split document, loading only the nodes
/// on the way; None if the path does not exist.
pub fn walk(tx: &Tx, key: &[u8], meta: &Meta, chain: &[Seg]) -> Result<Option<Walked>, CmdError> {
    let mut node = 0;
    let mut raw = read_node(tx, key, meta, 0)?;
    // The current node stays undecoded while each step lands on a child
    // node: a wide node (thousands of members) is then only scanned.
    let mut value: Option<Value> = None;
    let mut rel = Vec::new();
    for seg in chain {
        if value.is_none() {
            if let Some(id) = child_node(&raw, seg) {
                node = id;
                raw = read_node(tx, key, meta, id)?;
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
            value = None;
            rel.clear();
        }
    }
    let value = match value {
        Some(v) => v,
        None => decode_node(&raw).ok_or_else(corrupt)?,
    };
    Ok(Some(Walked { node, value, rel }))
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

/// Writes back one node changed in place, cutting it again if it grew. Only
/// this node and any new children are written (plus `meta` if ids were used).
pub fn save_node(tx: &mut Tx, key: &[u8], meta: &Meta, node: u64, mut value: Value) -> Result<(), CmdError> {
    let mut next_id = meta.len();
    let mut out = Vec::new();
    shrink(&mut value, &mut next_id, &mut out);
    out.push((node, encode_node(value)));
    for (id, rec) in out {
        tx.put(Cf::Data, keys::json_node(tx.db, key, meta.version(), id), rec);
    }
    if next_id != meta.len() {
        let m = Meta::collection(Type::Json, meta.version(), next_id, meta.expire_ms(), meta.extra());
        tx.put_meta(key, m)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{num_op, JPath, NumOp, Seg};
    use super::*;
    use crate::storage::testutil::TempStore;
    use serde_json::{json, Map};

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
