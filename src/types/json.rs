//! JSON documents (RedisJSON's JSON.* semantics) over the store: paths,
//! matching, and every operation as a function returning typed per-match
//! results; `cmd::json` turns them into replies. How documents sit on disk
//! (inline, or split into nodes for partial updates) is in `json/store.rs`.
//!
//! Paths: `$…` is RFC 9535 JSONPath, evaluated by `serde_json_path`; anything
//! else is RedisJSON's legacy syntax (`.a.b`, `a.b`, `.`), translated to
//! JSONPath. A path that is a plain chain of names and indexes is also kept
//! as a [`Seg`] list, so single-field commands on a split document walk to
//! the field instead of loading the whole document. That chain is read off
//! the crate's canonical rendering of the parsed path and then checked by
//! running the parsed path over a probe document built from the chain; any
//! doubt means "not a chain", which is only slower, never different. Other
//! paths are evaluated on the loaded document; their matches are then edited
//! in place one by one, as chains (see [`matches`]).

pub mod store;

use crate::error::CmdError;
use crate::storage::{Meta, Tx};
use serde_json::{Map, Number, Value};
use serde_json_path::{JsonPath, PathElement};
use std::cmp::Ordering;
use store::{Chunks, Edit};

/// One step of a location: an object member or an array index (negative
/// counts from the end, only in chains before they are resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// Object member.
    Key(String),
    /// Array index.
    Idx(i64),
}

/// A parsed path argument.
pub struct JPath {
    /// True for the legacy syntax (single-value replies).
    pub legacy: bool,
    /// The path as JSONPath text (legacy paths translated).
    pub text: String,
    /// The argument as given (reply keys of multi-path JSON.GET).
    pub original: String,
    compiled: JsonPath,
    /// The plain chain of steps, if the path is one.
    pub chain: Option<Vec<Seg>>,
}

impl JPath {
    /// Parses a path argument (JSONPath if it starts with `$`, legacy otherwise).
    pub fn parse(raw: &[u8]) -> Result<JPath, CmdError> {
        let original = std::str::from_utf8(raw).map_err(|_| CmdError::Err("path is not valid UTF-8"))?.to_string();
        let (legacy, text) = if original.starts_with('$') {
            (false, original.clone())
        } else if original == "." || original.is_empty() {
            (true, "$".to_string())
        } else if original.starts_with('.') || original.starts_with('[') {
            (true, format!("${original}"))
        } else {
            (true, format!("$.{original}"))
        };
        let compiled = JsonPath::parse(&text)
            .map_err(|e| CmdError::Raw(format!("ERR Invalid JSONPath '{}': {}", original, e.message())))?;
        let chain = chain_of(&compiled);
        Ok(JPath { legacy, text, original, compiled, chain })
    }

    /// The root path `$` / `.`.
    pub fn is_root(&self) -> bool {
        self.chain.as_ref().is_some_and(|c| c.is_empty())
    }

    /// Every location the path matches in `root`, in document order.
    pub fn locate(&self, root: &Value) -> Vec<Vec<Seg>> {
        self.compiled
            .query_located(root)
            .locations()
            .map(|loc| {
                loc.iter()
                    .map(|e| match e {
                        PathElement::Name(n) => Seg::Key(n.to_string()),
                        PathElement::Index(i) => Seg::Idx(*i as i64),
                    })
                    .collect()
            })
            .collect()
    }
}

/// The chain of a plain path (see the module header), verified on a probe.
fn chain_of(path: &JsonPath) -> Option<Vec<Seg>> {
    let shown = path.to_string();
    let mut s = shown.strip_prefix('$')?;
    let mut chain = Vec::new();
    // A probe cannot hold an array as long as a big index: the path is then
    // probed with such indexes made small, as a path parsed from the same
    // canonical text (where `[n]` can only be an index selector).
    let mut small = String::from("$");
    while !s.is_empty() {
        let rest = if let Some(r) = s.strip_prefix("['") {
            let end = r.find("']")?;
            if r[..end].contains('\'') {
                return None;
            }
            chain.push(Seg::Key(r[..end].to_string()));
            &r[end + 2..]
        } else if let Some(r) = s.strip_prefix('[') {
            let end = r.find(']')?;
            let n: i64 = r[..end].parse().ok()?;
            chain.push(Seg::Idx(n));
            let probed = if n.unsigned_abs() > PROBE_MAX { n.signum() } else { n };
            small.push_str(&format!("[{probed}]"));
            s = &r[end + 1..];
            continue;
        } else if let Some(r) = s.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 || &r[..end] == "*" {
                return None;
            }
            chain.push(Seg::Key(r[..end].to_string()));
            &r[end..]
        } else {
            return None;
        };
        small.push_str(&s[..s.len() - rest.len()]);
        s = rest;
    }
    let probe_path;
    let path = if small == shown {
        path
    } else {
        probe_path = JsonPath::parse(&small).ok()?;
        if probe_path.to_string() != small {
            return None;
        }
        &probe_path
    };
    let probed: Vec<Seg> = chain
        .iter()
        .map(|seg| match seg {
            Seg::Idx(n) if n.unsigned_abs() > PROBE_MAX => Seg::Idx(n.signum()),
            other => other.clone(),
        })
        .collect();
    // Probe: a document holding exactly this chain must match exactly there.
    let mut probe = Value::String("probe".into());
    let mut resolved = Vec::with_capacity(probed.len());
    for seg in probed.iter().rev() {
        probe = match seg {
            Seg::Key(k) => Value::Object(Map::from_iter([(k.clone(), probe)])),
            Seg::Idx(n) => {
                let len = if *n >= 0 { *n + 1 } else { -*n } as usize;
                let at = if *n >= 0 { *n as usize } else { 0 };
                let mut a = vec![Value::Null; len];
                a[at] = probe;
                Value::Array(a)
            }
        };
        resolved.push(match seg {
            Seg::Idx(n) if *n < 0 => Seg::Idx(0),
            other => other.clone(),
        });
    }
    resolved.reverse();
    let found = path.query_located(&probe).locations().count();
    let at = get(&probe, &resolved).is_some_and(|v| v == "probe");
    (found == 1 && at && path.query(&probe).exactly_one().is_ok_and(|v| v == "probe")).then_some(chain)
}

/// Indexes up to this are probed as they are (see [`chain_of`]).
const PROBE_MAX: u64 = 1024;

/// The value at a resolved location.
pub fn get<'a>(mut v: &'a Value, loc: &[Seg]) -> Option<&'a Value> {
    for s in loc {
        v = match s {
            Seg::Key(k) => v.as_object()?.get(k)?,
            Seg::Idx(i) => v.as_array()?.get(usize::try_from(*i).ok()?)?,
        };
    }
    Some(v)
}

/// The value at a resolved location, mutably.
pub fn get_mut<'a>(mut v: &'a mut Value, loc: &[Seg]) -> Option<&'a mut Value> {
    for s in loc {
        v = match s {
            Seg::Key(k) => v.as_object_mut()?.get_mut(k)?,
            Seg::Idx(i) => v.as_array_mut()?.get_mut(usize::try_from(*i).ok()?)?,
        };
    }
    Some(v)
}

/// Resolves one chain step against `cur`: the step if it exists (negative
/// index made absolute), else None.
pub fn resolve(cur: &Value, seg: &Seg) -> Option<Seg> {
    match (cur, seg) {
        (Value::Object(o), Seg::Key(k)) => o.contains_key(k).then(|| seg.clone()),
        (Value::Array(a), Seg::Idx(i)) => {
            let i = if *i < 0 { a.len() as i64 + i } else { *i };
            (0..a.len() as i64).contains(&i).then_some(Seg::Idx(i))
        }
        _ => None,
    }
}

/// Whether an operation copes with unloaded parts below its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Only the target itself (and its direct shape) is looked at.
    Shallow,
    /// The operation needs the whole document.
    Whole,
}

/// Runs a read `f` over the matches of `path` in the document at `key`
/// (None if the key is absent). Edits go through [`edit`] instead.
fn read<R>(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    access: Access,
    f: impl FnOnce(&Value, &[Vec<Seg>]) -> R,
) -> Result<Option<R>, CmdError> {
    let Some(meta) = store::lookup(tx, key)? else {
        return Ok(None);
    };
    if let (Access::Shallow, true, Some(chain)) = (access, store::is_split(&meta), &path.chain) {
        return match store::walk(tx, key, &meta, chain)? {
            // A chunked array as a whole is only handled by the array
            // commands themselves; anything else loads the document.
            Some(w) if w.array.is_some() => read(tx, key, path, Access::Whole, f),
            Some(w) => Ok(Some(f(&w.value, std::slice::from_ref(&w.rel)))),
            None => Ok(Some(f(&Value::Null, &[]))),
        };
    }
    let root = store::load_full(tx, key, &meta)?;
    let locs = path.locate(&root);
    Ok(Some(f(&root, &locs)))
}

/// Where an edit's matches are.
enum Matches {
    /// A split document, edited match by match in place (each edit walks
    /// to its location and rewrites only the node there): a plain path's
    /// chain (`chain`, still to be resolved), or the concrete locations a
    /// path matched.
    InPlace { chain: bool, locs: Vec<Vec<Seg>> },
    /// The whole document, loaded: edited in memory and written back whole.
    Whole { meta: Meta, root: Value, locs: Vec<Vec<Seg>> },
}

/// Whether the matches of an edit may lie one inside another when it is
/// made in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nesting {
    /// The edit only changes what it matched (a number, a string), or copes
    /// with a match that has gone (SET, DEL).
    Allowed,
    /// The edit restructures a container (CLEAR, array edits, MERGE): a
    /// match inside another is found in the document as it was.
    Forbidden,
}

/// The matches of `path` in the document at `key` (None if it is absent).
/// An inline document is always edited whole (it is one record anyway). A
/// split one is edited in place; a path other than a plain chain is
/// evaluated on the loaded document (a filter or a recursive descent needs
/// the values) and its matches edited one by one. Only two cases still
/// rewrite a split document whole:
/// - more matches than the document has nodes' worth of bytes: each
///   in-place edit rewrites its node (up to `NODE_MAX`, or a chunk plus
///   the array's index), so past that one rewrite writes less (`$.a[*].b`
///   over a long array of records);
/// - for a [`Nesting::Forbidden`] edit, a match inside another match (`$..a`
///   with an `a` under an `a`): editing the outer one moves or replaces
///   the inner one, so the locations found up front would be stale.
fn matches(tx: &mut Tx, key: &[u8], path: &JPath, nesting: Nesting) -> Result<Option<Matches>, CmdError> {
    let Some(meta) = store::lookup(tx, key)? else {
        return Ok(None);
    };
    if !store::is_split(&meta) {
        let root = store::load_full(tx, key, &meta)?;
        let locs = path.locate(&root);
        return Ok(Some(Matches::Whole { meta, root, locs }));
    }
    if let Some(chain) = &path.chain {
        return Ok(Some(Matches::InPlace { chain: true, locs: vec![chain.clone()] }));
    }
    let root = store::load_full(tx, key, &meta)?;
    let locs = path.locate(&root);
    let nested = nesting == Nesting::Forbidden && {
        // Sorted, a location's descendants directly follow it.
        let mut sorted: Vec<&Vec<Seg>> = locs.iter().collect();
        sorted.sort_by(|a, b| cmp_loc(a, b));
        sorted.windows(2).any(|w| w[1].starts_with(w[0]))
    };
    if nested || !store::in_place_pays(&root, locs.len()) {
        return Ok(Some(Matches::Whole { meta, root, locs }));
    }
    Ok(Some(Matches::InPlace { chain: false, locs }))
}

/// The live record of a document being edited in place (its node count
/// changes with each edit).
fn live(tx: &mut Tx, key: &[u8]) -> Result<Meta, CmdError> {
    store::lookup(tx, key)?.ok_or(CmdError::Internal)
}

/// Runs a value edit (numbers, strings, booleans: never an array, never a
/// value with nodes below it) on every match; None for matches `f` refuses.
/// In place, each match's node is rewritten alone.
fn edit_values<T>(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    mut f: impl FnMut(&mut Value) -> Result<Option<T>, CmdError>,
) -> Result<Option<Vec<Option<T>>>, CmdError> {
    edit(tx, key, path, Nesting::Allowed, |_, t| match t {
        // A chunked array is not a value these edits apply to.
        Target::Chunked(_) => Ok((None, false)),
        Target::Value(v) => f(v).map(|r| {
            let changed = r.is_some();
            (r, changed)
        }),
    })
}

/// An edit's match: a value (in the loaded document, or inside a
/// loaded node), or a chunked array of a split document (only its index
/// loaded; the edit writes its chunks itself).
enum Target<'v> {
    Value(&'v mut Value),
    Chunked(Chunks),
}

/// What an edit writes through: the document's records when it
/// is edited in place (`meta` set), nothing when it is loaded whole.
struct Place<'t, 'a> {
    tx: &'t mut Tx<'a>,
    key: &'t [u8],
    meta: Option<Meta>,
}

impl Place<'_, '_> {
    /// A value cut out of its container, loaded whole; in place its nodes'
    /// records are deleted.
    fn take(&mut self, v: Value) -> Result<Value, CmdError> {
        match &self.meta {
            Some(meta) => store::take(self.tx, self.key, meta, v),
            None => Ok(v),
        }
    }

    /// A value cut out and dropped: in place its nodes' records are deleted.
    fn drop(&mut self, v: &Value) -> Result<(), CmdError> {
        match &self.meta {
            Some(meta) => store::drop_below(self.tx, self.key, meta, v),
            None => Ok(()),
        }
    }

    /// The document's record, for an edit of a chunked array.
    fn meta(&self) -> Meta {
        self.meta.clone().expect("invariant: chunked arrays are only met in place")
    }
}

/// Runs an edit on every match: `f` gets the [`Place`] to write through
/// and the match, and returns its result and whether it changed a
/// [`Target::Value`] (which is then written back: its node, or the whole
/// document).
fn edit<T>(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    nesting: Nesting,
    mut f: impl FnMut(&mut Place, Target) -> Result<(Option<T>, bool), CmdError>,
) -> Result<Option<Vec<Option<T>>>, CmdError> {
    let (chain, locs) = match matches(tx, key, path, nesting)? {
        None => return Ok(None),
        Some(Matches::Whole { meta, mut root, locs }) => {
            let mut place = Place { tx, key, meta: None };
            let mut out = Vec::with_capacity(locs.len());
            let mut changed = false;
            for loc in &locs {
                // A nested match an edit of the outer one removed is gone.
                let (r, c) = match get_mut(&mut root, loc) {
                    Some(v) => f(&mut place, Target::Value(v))?,
                    None => (None, false),
                };
                changed |= c;
                out.push(r);
            }
            if changed {
                store::save_full(tx, key, root, meta.expire_ms())?;
            }
            return Ok(Some(out));
        }
        Some(Matches::InPlace { chain, locs }) => (chain, locs),
    };
    let mut out = Vec::with_capacity(locs.len());
    for loc in &locs {
        let meta = live(tx, key)?;
        let Some(mut w) = store::walk(tx, key, &meta, loc)? else {
            if chain {
                return Ok(Some(Vec::new()));
            }
            out.push(None);
            continue;
        };
        let mut place = Place { tx, key, meta: Some(meta.clone()) };
        let r = match w.array.take() {
            Some(ix) => f(&mut place, Target::Chunked(ix))?.0,
            None => {
                let (r, changed) = f(&mut place, Target::Value(get_mut(&mut w.value, &w.rel).expect("invariant")))?;
                if changed {
                    store::save_node(tx, key, &meta, w)?;
                }
                r
            }
        };
        out.push(r);
    }
    Ok(Some(out))
}

/// Runs a read `f` on every match (None for matches it refuses).
fn read_each<T>(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    f: impl Fn(&Value) -> Option<T>,
) -> Result<Option<Vec<Option<T>>>, CmdError> {
    read(tx, key, path, Access::Shallow, |root, locs| {
        locs.iter().map(|l| f(get(root, l).expect("invariant: located paths exist"))).collect()
    })
}

/// Parses a JSON argument; the error is serde_json's text, as RedisJSON's.
pub fn parse_value(raw: &[u8]) -> Result<Value, CmdError> {
    serde_json::from_slice(raw).map_err(|e| CmdError::Raw(format!("ERR {e}")))
}

/// RedisJSON's type names.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON.GET / JSON.MGET / JSON.RESP: for each path, the matched values
/// (whole, loaded). None if the key is absent.
pub fn get_values(tx: &mut Tx, key: &[u8], paths: &[JPath]) -> Result<Option<Vec<Vec<Value>>>, CmdError> {
    let mut all = Vec::with_capacity(paths.len());
    for p in paths {
        let found = read(tx, key, p, Access::Shallow, |root, locs| {
            locs.iter().map(|l| get(root, l).expect("invariant: located").clone()).collect::<Vec<_>>()
        })?;
        match found {
            Some(v) => all.push(v),
            None => return Ok(None),
        }
    }
    if let Some(meta) = store::lookup(tx, key)? {
        if store::is_split(&meta) {
            for v in all.iter_mut().flatten() {
                store::materialize(tx, key, &meta, v)?;
            }
        }
    }
    Ok(Some(all))
}

/// How JSON.SET treats an existing / missing path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCond {
    /// Always.
    Any,
    /// NX: only where nothing exists.
    IfMissing,
    /// XX: only where something exists.
    IfExists,
}

/// Outcome of JSON.SET.
#[derive(Debug, PartialEq, Eq)]
pub enum SetOutcome {
    /// Written.
    Done,
    /// Condition not met or path not creatable: a nil reply.
    Skipped,
    /// A non-root path on a missing key.
    NotAtRoot,
}

/// JSON.SET key path value [NX|XX] (also each triple of JSON.MSET).
pub fn set(tx: &mut Tx, key: &[u8], path: &JPath, value: Value, cond: SetCond) -> Result<SetOutcome, CmdError> {
    let meta = store::lookup(tx, key)?;
    if path.is_root() {
        let ok = match cond {
            SetCond::Any => true,
            SetCond::IfMissing => meta.is_none(),
            SetCond::IfExists => meta.is_some(),
        };
        if !ok {
            return Ok(SetOutcome::Skipped);
        }
        store::save_full(tx, key, value, meta.map_or(0, |m| m.expire_ms()))?;
        return Ok(SetOutcome::Done);
    }
    let m = match matches(tx, key, path, Nesting::Allowed)? {
        None => return Ok(if cond == SetCond::IfExists { SetOutcome::Skipped } else { SetOutcome::NotAtRoot }),
        Some(m) => m,
    };
    let (meta, mut root, locs) = match m {
        Matches::InPlace { chain: true, locs } => {
            let meta = live(tx, key)?;
            return set_split(tx, key, &meta, &locs[0], value, cond);
        }
        Matches::InPlace { chain: false, locs } => {
            if locs.is_empty() || cond == SetCond::IfMissing {
                return Ok(SetOutcome::Skipped);
            }
            for loc in &locs {
                let meta = live(tx, key)?;
                set_split(tx, key, &meta, loc, value.clone(), SetCond::IfExists)?;
            }
            return Ok(SetOutcome::Done);
        }
        Matches::Whole { meta, root, locs } => (meta, root, locs),
    };
    if !locs.is_empty() {
        if cond == SetCond::IfMissing {
            return Ok(SetOutcome::Skipped);
        }
        for l in &locs {
            if let Some(v) = get_mut(&mut root, l) {
                *v = value.clone();
            }
        }
    } else {
        // Only a new member of an existing object can be created.
        let Some((Seg::Key(last), parent)) = path.chain.as_ref().and_then(|c| c.split_last()) else {
            return Ok(SetOutcome::Skipped);
        };
        if cond == SetCond::IfExists {
            return Ok(SetOutcome::Skipped);
        }
        let mut at = &mut root;
        for s in parent {
            let Some(step) = resolve(at, s) else {
                return Ok(SetOutcome::Skipped);
            };
            at = get_mut(at, std::slice::from_ref(&step)).expect("invariant: resolved");
        }
        match at {
            Value::Object(o) => {
                o.insert(last.clone(), value);
            }
            _ => return Ok(SetOutcome::Skipped),
        }
    }
    store::save_full(tx, key, root, meta.expire_ms())?;
    Ok(SetOutcome::Done)
}

/// JSON.SET of one chain in a split document, in place: the value there is
/// replaced (its nodes deleted in this write), or a new member is added to
/// the object the chain's parent names; only that node is rewritten.
fn set_split(
    tx: &mut Tx,
    key: &[u8],
    meta: &Meta,
    chain: &[Seg],
    value: Value,
    cond: SetCond,
) -> Result<SetOutcome, CmdError> {
    if let Some(mut w) = store::walk(tx, key, meta, chain)? {
        if cond == SetCond::IfMissing {
            return Ok(SetOutcome::Skipped);
        }
        // A chunked array's chunks are dropped by `save_node`.
        let replaced = get_mut(&mut w.value, &w.rel).expect("invariant: walked");
        let old = std::mem::replace(replaced, value);
        store::drop_below(tx, key, meta, &old)?;
        store::save_node(tx, key, meta, w)?;
        return Ok(SetOutcome::Done);
    }
    let (Some((Seg::Key(last), parent)), true) = (chain.split_last(), cond != SetCond::IfExists) else {
        return Ok(SetOutcome::Skipped);
    };
    let Some(mut w) = store::walk(tx, key, meta, parent)? else {
        return Ok(SetOutcome::Skipped);
    };
    Ok(match get_mut(&mut w.value, &w.rel) {
        Some(Value::Object(o)) if w.array.is_none() => {
            o.insert(last.clone(), value);
            store::save_node(tx, key, meta, w)?;
            SetOutcome::Done
        }
        _ => SetOutcome::Skipped,
    })
}

/// JSON.MERGE key path value: RFC 7396 merge at every match (or create like SET).
/// In a split document only what the patch changes is written: the members
/// it sets or removes, in the node holding them (see [`merge_at`]).
pub fn merge(tx: &mut Tx, key: &[u8], path: &JPath, patch: Value) -> Result<SetOutcome, CmdError> {
    let Some(m) = matches(tx, key, path, Nesting::Forbidden)? else {
        if path.is_root() {
            store::save_full(tx, key, patch, 0)?;
            return Ok(SetOutcome::Done);
        }
        return Ok(SetOutcome::NotAtRoot);
    };
    let found = match &m {
        Matches::InPlace { chain: true, locs } => {
            let meta = live(tx, key)?;
            store::walk(tx, key, &meta, &locs[0])?.is_some()
        }
        Matches::InPlace { locs, .. } | Matches::Whole { locs, .. } => !locs.is_empty(),
    };
    if !found {
        if patch.is_null() {
            return Ok(SetOutcome::Skipped);
        }
        return set(tx, key, path, patch, SetCond::Any);
    }
    match m {
        Matches::InPlace { locs, .. } => {
            for l in &locs {
                merge_at(tx, key, l, &patch)?;
            }
        }
        Matches::Whole { meta, mut root, locs } => {
            // Nested matches are merged outer first; an inner one the outer
            // merge replaced is gone.
            for l in &locs {
                if let Some(v) = get_mut(&mut root, l) {
                    merge_patch(v, &patch);
                }
            }
            store::save_full(tx, key, root, meta.expire_ms())?;
        }
    }
    Ok(SetOutcome::Done)
}

/// Merges `patch` into the value at `loc` of a split document, in place.
/// An object patched into an object is applied member by member in the
/// target's node, rewritten once; a member that has nodes of its own below
/// it and is patched by an object is merged into recursively, so a patch
/// of one field deep inside a big document rewrites that field's node.
/// Anything else replaces the target (as SET there would).
fn merge_at(tx: &mut Tx, key: &[u8], loc: &[Seg], patch: &Value) -> Result<(), CmdError> {
    let meta = live(tx, key)?;
    let walked = match patch {
        Value::Object(_) => store::walk(tx, key, &meta, loc)?,
        _ => None,
    };
    let (Value::Object(p), Some(mut w)) = (patch, walked) else {
        return replace_at(tx, key, &meta, loc, patched(patch));
    };
    let Some(target) = get_mut(&mut w.value, &w.rel).and_then(Value::as_object_mut).filter(|_| w.array.is_none())
    else {
        return replace_at(tx, key, &meta, loc, patched(patch));
    };
    let mut deeper = Vec::new();
    let mut changed = false;
    for (k, v) in p {
        match target.get_mut(k) {
            Some(old) if v.is_object() && store::holds_nodes(old) => {
                deeper.push(k);
                continue;
            }
            Some(_) if v.is_null() => {
                let gone = target.shift_remove(k).expect("invariant: present");
                store::drop_below(tx, key, &meta, &gone)?;
            }
            // No nodes below: merged in memory.
            Some(old) if v.is_object() && old.is_object() => merge_patch(old, v),
            Some(old) => {
                let gone = std::mem::replace(old, patched(v));
                store::drop_below(tx, key, &meta, &gone)?;
            }
            None if v.is_null() => continue,
            None => {
                target.insert(k.clone(), patched(v));
            }
        }
        changed = true;
    }
    if changed {
        store::save_node(tx, key, &meta, w)?;
    }
    let mut at = loc.to_vec();
    for k in deeper {
        at.push(Seg::Key(k.clone()));
        merge_at(tx, key, &at, &p[k])?;
        at.pop();
    }
    Ok(())
}

/// Puts `v` at `loc` of a split document: the root is written afresh
/// (nothing of the old document stays), any other location in place.
fn replace_at(tx: &mut Tx, key: &[u8], meta: &Meta, loc: &[Seg], v: Value) -> Result<(), CmdError> {
    if loc.is_empty() {
        return store::save_full(tx, key, v, meta.expire_ms());
    }
    set_split(tx, key, meta, loc, v, SetCond::Any).map(drop)
}

/// What a merge patch becomes where there was nothing to merge into: the
/// patch without its null members.
fn patched(patch: &Value) -> Value {
    let mut v = Value::Null;
    merge_patch(&mut v, patch);
    v
}

fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("invariant: just made an object");
    for (k, v) in p {
        if v.is_null() {
            t.shift_remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// JSON.DEL / JSON.FORGET: removes every match; the count removed.
pub fn del(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<u64, CmdError> {
    if path.is_root() {
        if store::lookup(tx, key)?.is_none() {
            return Ok(0);
        }
        tx.del_meta(key)?;
        return Ok(1);
    }
    let mut n = 0;
    match matches(tx, key, path, Nesting::Allowed)? {
        None => {}
        Some(Matches::InPlace { locs, .. }) => {
            for l in outermost_last_first(locs) {
                let meta = live(tx, key)?;
                n += del_split(tx, key, &meta, &l)?;
            }
        }
        Some(Matches::Whole { meta, mut root, locs }) => {
            for l in outermost_last_first(locs) {
                let Some((last, parent)) = l.split_last() else { continue };
                match (get_mut(&mut root, parent), last) {
                    (Some(Value::Object(o)), Seg::Key(k)) => n += o.shift_remove(k).is_some() as u64,
                    (Some(Value::Array(a)), Seg::Idx(i)) if (*i as usize) < a.len() => {
                        a.remove(*i as usize);
                        n += 1;
                    }
                    _ => {}
                }
            }
            if n > 0 {
                store::save_full(tx, key, root, meta.expire_ms())?;
            }
        }
    }
    Ok(n)
}

/// The matches a DEL removes, in the order it removes them: only the
/// outermost of nested matches (the inner ones go with them; the root is
/// not one), last in document order first, so that removing one never
/// shifts the index of one still to remove.
fn outermost_last_first(mut locs: Vec<Vec<Seg>>) -> Vec<Vec<Seg>> {
    locs.sort_by(|a, b| cmp_loc(a, b));
    locs.dedup();
    let mut out: Vec<Vec<Seg>> = Vec::with_capacity(locs.len());
    for l in locs {
        // Sorted, a location's descendants directly follow it.
        if !l.is_empty() && !out.last().is_some_and(|o| l.starts_with(o)) {
            out.push(l);
        }
    }
    out.reverse();
    out
}

/// JSON.DEL of one chain in a split document: the member or element is cut
/// out of its parent's node (or chunk) and its nodes are deleted, the rest
/// of the document untouched. How many were removed (0 or 1).
fn del_split(tx: &mut Tx, key: &[u8], meta: &Meta, chain: &[Seg]) -> Result<u64, CmdError> {
    let Some((last, parent)) = chain.split_last() else {
        return Ok(0);
    };
    let Some(mut w) = store::walk(tx, key, meta, parent)? else {
        return Ok(0);
    };
    if let Some(ix) = w.array {
        let Seg::Idx(i) = last else { return Ok(0) };
        let len = ix.len() as i64;
        let i = if *i < 0 { len + i } else { *i };
        if !(0..len).contains(&i) {
            return Ok(0);
        }
        let (pos, at) = store::locate(&ix, i as u64);
        if let Some(gone) = store::splice(tx, key, meta, ix, pos, Edit::Remove(at))? {
            store::drop_below(tx, key, meta, &gone)?;
        }
        return Ok(1);
    }
    let target = get_mut(&mut w.value, &w.rel).expect("invariant: walked");
    let Some(step) = resolve(target, last) else {
        return Ok(0);
    };
    let gone = match (target, step) {
        (Value::Object(o), Seg::Key(k)) => o.shift_remove(&k),
        (Value::Array(a), Seg::Idx(i)) => Some(a.remove(i as usize)),
        _ => None,
    };
    let Some(gone) = gone else { return Ok(0) };
    store::drop_below(tx, key, meta, &gone)?;
    store::save_node(tx, key, meta, w)?;
    Ok(1)
}

fn cmp_loc(a: &[Seg], b: &[Seg]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Seg::Idx(i), Seg::Idx(j)) => i.cmp(j),
            (Seg::Key(i), Seg::Key(j)) => i.cmp(j),
            (Seg::Key(_), Seg::Idx(_)) => Ordering::Less,
            (Seg::Idx(_), Seg::Key(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// JSON.TYPE: the type name of each match.
pub fn types(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<Option<Vec<&'static str>>, CmdError> {
    Ok(read_each(tx, key, path, |v| Some(type_name(v)))?.map(|v| v.into_iter().flatten().collect()))
}

/// The shape of [`strlen`], [`arrlen`] and [`objlen`].
pub type Lengths = fn(&mut Tx, &[u8], &JPath) -> Result<Option<Vec<Option<i64>>>, CmdError>;

/// JSON.STRLEN: length of each string match.
pub fn strlen(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<Option<Vec<Option<i64>>>, CmdError> {
    read_each(tx, key, path, |v| v.as_str().map(|s| s.len() as i64))
}

/// JSON.ARRLEN.
pub fn arrlen(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<Option<Vec<Option<i64>>>, CmdError> {
    if let Some(ix) = chunked(tx, key, path)? {
        return Ok(Some(vec![Some(ix.len() as i64)]));
    }
    read_each(tx, key, path, |v| v.as_array().map(|a| a.len() as i64))
}

/// JSON.OBJLEN.
pub fn objlen(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<Option<Vec<Option<i64>>>, CmdError> {
    read_each(tx, key, path, |v| v.as_object().map(|o| o.len() as i64))
}

/// JSON.OBJKEYS.
pub fn objkeys(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<Option<Vec<Option<Vec<String>>>>, CmdError> {
    read_each(tx, key, path, |v| v.as_object().map(|o| o.keys().cloned().collect()))
}

/// Arithmetic of JSON.NUMINCRBY / JSON.NUMMULTBY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    /// Add.
    Incr,
    /// Multiply.
    Mult,
}

/// JSON.NUMINCRBY / JSON.NUMMULTBY: the new value of each number match.
pub fn num_op(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    op: NumOp,
    by: &Number,
) -> Result<Option<Vec<Option<Number>>>, CmdError> {
    edit_values(tx, key, path, |v| {
        let Value::Number(n) = v else { return Ok(None) };
        let int = match (n.as_i64(), by.as_i64(), op) {
            (Some(a), Some(b), NumOp::Incr) => a.checked_add(b),
            (Some(a), Some(b), NumOp::Mult) => a.checked_mul(b),
            _ => None,
        };
        let new = match int {
            Some(i) => Number::from(i),
            None => {
                let (a, b) = (n.as_f64().unwrap_or(0.0), by.as_f64().unwrap_or(0.0));
                let r = if op == NumOp::Incr { a + b } else { a * b };
                Number::from_f64(r).ok_or(CmdError::Err("result is not a number"))?
            }
        };
        *v = Value::Number(new.clone());
        Ok(Some(new))
    })
}

/// JSON.STRAPPEND: the new length of each string match.
pub fn strappend(tx: &mut Tx, key: &[u8], path: &JPath, suffix: &str) -> Result<Option<Vec<Option<i64>>>, CmdError> {
    edit_values(tx, key, path, |v| {
        Ok(match v {
            Value::String(s) => {
                s.push_str(suffix);
                Some(s.len() as i64)
            }
            _ => None,
        })
    })
}

/// JSON.TOGGLE: the new value of each boolean match.
pub fn toggle(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<Option<Vec<Option<bool>>>, CmdError> {
    edit_values(tx, key, path, |v| {
        Ok(match v {
            Value::Bool(b) => {
                *b = !*b;
                Some(*b)
            }
            _ => None,
        })
    })
}

/// JSON.CLEAR: empties containers and zeroes numbers; returns how many.
/// In place, a cleared container's nodes are deleted and its own node (or
/// its parent's) rewritten; a chunked array becomes an empty node.
pub fn clear(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<Option<i64>, CmdError> {
    let r = edit(tx, key, path, Nesting::Forbidden, |place, t| match t {
        Target::Chunked(ix) if ix.is_empty() => Ok((None, false)),
        Target::Chunked(ix) => {
            let meta = place.meta();
            let w = store::Walked {
                node: ix.node,
                value: Value::Array(Vec::new()),
                rel: Vec::new(),
                chunk: None,
                array: Some(ix),
            };
            store::save_node(place.tx, place.key, &meta, w)?;
            Ok((Some(()), false))
        }
        Target::Value(v) => {
            let emptied = match v {
                Value::Array(a) if !a.is_empty() => Value::Array(Vec::new()),
                Value::Object(o) if !o.is_empty() => Value::Object(Map::new()),
                Value::Number(n) if n.as_f64() != Some(0.0) => Value::from(0),
                _ => return Ok((None, false)),
            };
            let old = std::mem::replace(v, emptied);
            place.drop(&old)?;
            Ok((Some(()), true))
        }
    })?;
    Ok(r.map(|r| r.iter().flatten().count() as i64))
}

/// The chunked array a plain path ends at, if it does (see `store`).
fn chunked(tx: &mut Tx, key: &[u8], path: &JPath) -> Result<Option<Chunks>, CmdError> {
    let (Some(chain), Some(meta)) = (&path.chain, store::lookup(tx, key)?) else {
        return Ok(None);
    };
    if !store::is_split(&meta) {
        return Ok(None);
    }
    Ok(store::walk(tx, key, &meta, chain)?.and_then(|w| w.array))
}

/// Inserts `values` before element `at` (`at <= len`) of a chunked array;
/// the array's new length.
fn chunked_insert(place: &mut Place, ix: Chunks, at: u64, values: &[Value]) -> Result<i64, CmdError> {
    let len = ix.len() + values.len() as u64;
    let (pos, i) = store::locate(&ix, at);
    store::splice(place.tx, place.key, &place.meta(), ix, pos, Edit::Insert(i, values))?;
    Ok(len as i64)
}

/// Runs an array edit on every array match (None for other matches):
/// `chunked` edits a chunked array chunk by chunk, `plain` any other array
/// in memory (values it cuts out go through the [`Place`]); `plain` returns
/// its result and whether it changed the array.
fn edit_arrays<T>(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    mut chunked: impl FnMut(&mut Place, Chunks) -> Result<T, CmdError>,
    mut plain: impl FnMut(&mut Place, &mut Vec<Value>) -> Result<(T, bool), CmdError>,
) -> Result<Option<Vec<Option<T>>>, CmdError> {
    edit(tx, key, path, Nesting::Forbidden, |place, t| match t {
        Target::Chunked(ix) => Ok((Some(chunked(place, ix)?), false)),
        Target::Value(Value::Array(a)) => plain(place, a).map(|(r, changed)| (Some(r), changed)),
        Target::Value(_) => Ok((None, false)),
    })
}

/// JSON.ARRAPPEND: the new length of each array match.
pub fn arrappend(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    values: &[Value],
) -> Result<Option<Vec<Option<i64>>>, CmdError> {
    edit_arrays(
        tx,
        key,
        path,
        |place, ix| {
            let end = ix.len();
            chunked_insert(place, ix, end, values)
        },
        |_, a| {
            a.extend_from_slice(values);
            Ok((a.len() as i64, true))
        },
    )
}

/// JSON.ARRINSERT: inserts before `index` (negative from the end).
pub fn arrinsert(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    index: i64,
    values: &[Value],
) -> Result<Option<Vec<Option<i64>>>, CmdError> {
    let insert_at = |len: i64| {
        let at = if index < 0 { len + index } else { index };
        (0..=len).contains(&at).then_some(at).ok_or(CmdError::Err("index out of bounds"))
    };
    edit_arrays(
        tx,
        key,
        path,
        |place, ix| {
            let at = insert_at(ix.len() as i64)?;
            chunked_insert(place, ix, at as u64, values)
        },
        |_, a| {
            let at = insert_at(a.len() as i64)?;
            let tail = a.split_off(at as usize);
            a.extend_from_slice(values);
            a.extend(tail);
            Ok((a.len() as i64, true))
        },
    )
}

/// JSON.ARRINDEX: first index of `needle` in `[start, stop)` (-1 if none).
pub fn arrindex(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    needle: &Value,
    start: i64,
    stop: i64,
) -> Result<Option<Vec<Option<i64>>>, CmdError> {
    read(tx, key, path, Access::Whole, |root, locs| {
        locs.iter()
            .map(|l| {
                let a = get(root, l)?.as_array()?;
                let len = a.len() as i64;
                let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
                let (from, to) = (norm(start), if stop == 0 { len } else { norm(stop) });
                Some((from..to.max(from)).find(|&i| json_eq(&a[i as usize], needle)).unwrap_or(-1))
            })
            .collect()
    })
}

/// Equality where 1 and 1.0 are the same number, as RedisJSON compares.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// JSON.ARRPOP: removes and returns the element at `index` (clamped) of each
/// array match; Some(None) for an empty array.
pub fn arrpop(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    index: i64,
) -> Result<Option<Vec<Option<Option<Value>>>>, CmdError> {
    let pop_at = |len: i64| if index < 0 { (len + index).max(0) } else { index.min(len - 1) };
    edit_arrays(
        tx,
        key,
        path,
        |place, ix| {
            if ix.is_empty() {
                return Ok(None);
            }
            let meta = place.meta();
            let (pos, i) = store::locate(&ix, pop_at(ix.len() as i64) as u64);
            let popped = store::splice(place.tx, place.key, &meta, ix, pos, Edit::Remove(i))?;
            popped.map(|v| place.take(v)).transpose()
        },
        |place, a| {
            if a.is_empty() {
                return Ok((None, false));
            }
            let v = a.remove(pop_at(a.len() as i64) as usize);
            Ok((Some(place.take(v)?), true))
        },
    )
}

/// JSON.ARRTRIM: keeps `[start, stop]` (inclusive, negative from the end).
pub fn arrtrim(
    tx: &mut Tx,
    key: &[u8],
    path: &JPath,
    start: i64,
    stop: i64,
) -> Result<Option<Vec<Option<i64>>>, CmdError> {
    // The kept range as `from..to`, empty if nothing is kept.
    let keep = |len: i64| {
        let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
        let (from, to) = (norm(start), norm(stop).min(len - 1));
        if from >= len || from > to {
            (0, 0)
        } else {
            (from as u64, to as u64 + 1)
        }
    };
    edit_arrays(
        tx,
        key,
        path,
        |place, ix| {
            let (from, to) = keep(ix.len() as i64);
            Ok(store::trim(place.tx, place.key, &place.meta(), ix, from, to)? as i64)
        },
        |place, a| {
            let (from, to) = keep(a.len() as i64);
            let len = a.len();
            let tail: Vec<Value> = a.drain(to as usize..).collect();
            for gone in tail.iter().chain(a.drain(..from as usize).as_slice()) {
                place.drop(gone)?;
            }
            Ok((a.len() as i64, a.len() != len))
        },
    )
}
