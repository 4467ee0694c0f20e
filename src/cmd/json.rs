//! JSON.* handlers (RedisJSON's commands): argument parsing and reply
//! shapes. JSONPath (`$…`) replies carry one entry per match (null where the
//! match has the wrong type); legacy paths reply with one value and error
//! when nothing of the right type matched. Semantics live in `types::json`.

use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::types::json::{self as doc, JPath, NumOp, SetCond, SetOutcome};
use serde_json::Value;

fn path_at(a: &Args, i: usize) -> Result<JPath, CmdError> {
    JPath::parse(a.opt(i).unwrap_or(b"."))
}

fn no_key() -> CmdError {
    CmdError::Err("could not perform this operation on a key that doesn't exist")
}

fn missing(p: &JPath, or: &str) -> CmdError {
    CmdError::Raw(format!("ERR Path '{}' does not exist or {or}", p.text))
}

fn text(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("invariant: a Value always serializes")
}

/// Which match a legacy path reports.
#[derive(Clone, Copy)]
enum Pick {
    First,
    Last,
}

fn pick<T>(r: Vec<Option<T>>, which: Pick) -> Option<T> {
    let mut it = r.into_iter().flatten();
    match which {
        Pick::First => it.next(),
        Pick::Last => it.last(),
    }
}

/// Integer-per-match replies (lengths, indexes).
fn ints(c: &mut Ctx, p: &JPath, r: Option<Vec<Option<i64>>>, or: &str, which: Pick) -> CmdResult {
    let r = r.ok_or_else(no_key)?;
    if p.legacy {
        let n = pick(r, which).ok_or_else(|| missing(p, or))?;
        c.out.int(n);
    } else {
        c.out.array(r.len());
        for x in r {
            match x {
                Some(n) => c.out.int(n),
                None => c.out.null(),
            }
        }
    }
    Ok(())
}

/// JSON.SET key path value [NX | XX]
/// O(size of value) plus, on a split document with a plain path, the nodes on the path.
pub fn json_set(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = JPath::parse(a.get(2))?;
    let mut cond = SetCond::Any;
    for i in 4..a.len() {
        cond = match cond {
            SetCond::Any if a.is(i, "NX") => SetCond::IfMissing,
            SetCond::Any if a.is(i, "XX") => SetCond::IfExists,
            _ => return Err(CmdError::Syntax),
        };
    }
    let value = doc::parse_value(a.get(3))?;
    let o = doc::set(&mut c.tx, a.get(1), &path, value, cond)?;
    set_reply(c, o)
}

fn set_reply(c: &mut Ctx, o: SetOutcome) -> CmdResult {
    match o {
        SetOutcome::Done => c.out.ok(),
        SetOutcome::Skipped => c.out.null(),
        SetOutcome::NotAtRoot => return Err(CmdError::Err("new objects must be created at the root")),
    }
    Ok(())
}

/// JSON.MSET key path value [key path value ...]
/// All or nothing: the writes share the command's one batch.
pub fn json_mset(c: &mut Ctx, a: &Args) -> CmdResult {
    if (a.len() - 1) % 3 != 0 {
        return Err(CmdError::WrongArity("json.mset".into()));
    }
    let mut triples = Vec::new();
    for i in (1..a.len()).step_by(3) {
        triples.push((a.get(i), JPath::parse(a.get(i + 1))?, doc::parse_value(a.get(i + 2))?));
    }
    for (key, path, value) in triples {
        if doc::set(&mut c.tx, key, &path, value, SetCond::Any)? == SetOutcome::NotAtRoot {
            return Err(CmdError::Err("new objects must be created at the root"));
        }
    }
    c.out.ok();
    Ok(())
}

/// JSON.MERGE key path value
/// RFC 7396 merge patch at every match; in a split document only the nodes
/// holding what the patch changes are written.
pub fn json_merge(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = JPath::parse(a.get(2))?;
    let patch = doc::parse_value(a.get(3))?;
    if a.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let o = doc::merge(&mut c.tx, a.get(1), &path, patch)?;
    set_reply(c, o)
}

/// Output layout of JSON.GET (INDENT / NEWLINE / SPACE).
#[derive(Default)]
struct Layout {
    indent: Vec<u8>,
    newline: Vec<u8>,
    space: Vec<u8>,
}

impl Layout {
    fn is_compact(&self) -> bool {
        self.indent.is_empty() && self.newline.is_empty() && self.space.is_empty()
    }

    fn write(&self, out: &mut Vec<u8>, v: &Value, level: usize) {
        let pad = |out: &mut Vec<u8>, n: usize| {
            out.extend_from_slice(&self.newline);
            for _ in 0..n {
                out.extend_from_slice(&self.indent);
            }
        };
        match v {
            Value::Array(xs) if !xs.is_empty() => {
                out.push(b'[');
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    pad(out, level + 1);
                    self.write(out, x, level + 1);
                }
                pad(out, level);
                out.push(b']');
            }
            Value::Object(o) if !o.is_empty() => {
                out.push(b'{');
                for (i, (k, x)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    pad(out, level + 1);
                    out.extend_from_slice(&text(&Value::String(k.clone())));
                    out.push(b':');
                    out.extend_from_slice(&self.space);
                    self.write(out, x, level + 1);
                }
                pad(out, level);
                out.push(b'}');
            }
            other => out.extend_from_slice(&text(other)),
        }
    }

    fn render(&self, v: &Value) -> Vec<u8> {
        if self.is_compact() {
            return text(v);
        }
        let mut out = Vec::new();
        self.write(&mut out, v, 0);
        out
    }
}

/// JSON.GET key [INDENT s] [NEWLINE s] [SPACE s] [path ...]
/// One path: the value (legacy) or a JSON array of matches; several paths:
/// a JSON object keyed by path.
pub fn json_get(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut layout = Layout::default();
    let mut paths = Vec::new();
    let mut i = 2;
    while i < a.len() {
        let opt = [("INDENT", &mut layout.indent), ("NEWLINE", &mut layout.newline), ("SPACE", &mut layout.space)]
            .into_iter()
            .find(|(w, _)| a.is(i, w));
        if let Some((_, slot)) = opt {
            *slot = a.opt(i + 1).ok_or(CmdError::Syntax)?.to_vec();
            i += 2;
            continue;
        }
        if !a.is(i, "NOESCAPE") {
            paths.push(JPath::parse(a.get(i))?);
        }
        i += 1;
    }
    if paths.is_empty() {
        paths.push(JPath::parse(b".")?);
    }
    let Some(found) = doc::get_values(&mut c.tx, a.get(1), &paths)? else {
        c.out.null();
        return Ok(());
    };
    let legacy = paths.iter().all(|p| p.legacy);
    let first = |p: &JPath, v: Vec<Value>| -> Result<Value, CmdError> {
        v.into_iter().next().ok_or_else(|| CmdError::Raw(format!("ERR Path '{}' does not exist", p.text)))
    };
    let reply = if paths.len() == 1 {
        let v = found.into_iter().next().expect("invariant: one path");
        if legacy {
            first(&paths[0], v)?
        } else {
            Value::Array(v)
        }
    } else {
        let mut m = serde_json::Map::new();
        for (p, v) in paths.iter().zip(found) {
            m.insert(p.original.clone(), if legacy { first(p, v)? } else { Value::Array(v) });
        }
        Value::Object(m)
    };
    c.out.bulk(&layout.render(&reply));
    Ok(())
}

/// JSON.MGET key [key ...] path
/// Null for a missing key or one of another type.
pub fn json_mget(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = JPath::parse(a.get(a.len() - 1))?;
    let keys: Vec<&[u8]> = (1..a.len() - 1).map(|i| a.get(i)).collect();
    c.out.array(keys.len());
    for k in keys {
        let found = match doc::get_values(&mut c.tx, k, std::slice::from_ref(&path)) {
            Ok(f) => f,
            Err(CmdError::WrongType) => None,
            Err(e) => return Err(e),
        };
        match found.map(|mut f| f.pop().unwrap_or_default()) {
            Some(v) if !path.legacy => c.out.bulk(&text(&Value::Array(v))),
            Some(v) if !v.is_empty() => c.out.bulk(&text(&v[0])),
            _ => c.out.null(),
        }
    }
    Ok(())
}

/// JSON.DEL key [path]
/// Returns how many values were removed; the root path deletes the key.
pub fn json_del(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = path_at(a, 2)?;
    let n = doc::del(&mut c.tx, a.get(1), &path)?;
    c.out.int(n as i64);
    Ok(())
}

/// JSON.FORGET key [path]
/// Same as JSON.DEL.
pub fn json_forget(c: &mut Ctx, a: &Args) -> CmdResult {
    json_del(c, a)
}

/// JSON.TYPE key [path]
/// Wrapped in an array in RESP3.
pub fn json_type(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = path_at(a, 2)?;
    let r = doc::types(&mut c.tx, a.get(1), &path)?;
    if c.out.resp3 {
        c.out.array(1);
    }
    match r {
        None => c.out.null(),
        Some(t) if path.legacy => match t.first() {
            Some(t) => c.out.simple(t),
            None => c.out.null(),
        },
        Some(t) => {
            c.out.array(t.len());
            for x in t {
                c.out.simple(x);
            }
        }
    }
    Ok(())
}

/// A per-match length (JSON.STRLEN / ARRLEN / OBJLEN): legacy paths answer
/// null for a missing key and the first match's length.
fn length(c: &mut Ctx, a: &Args, of: doc::Lengths, or: &str) -> CmdResult {
    let path = path_at(a, 2)?;
    let r = of(&mut c.tx, a.get(1), &path)?;
    if path.legacy && r.is_none() {
        c.out.null();
        return Ok(());
    }
    ints(c, &path, r, or, Pick::First)
}

/// JSON.STRLEN key [path]
pub fn json_strlen(c: &mut Ctx, a: &Args) -> CmdResult {
    length(c, a, doc::strlen, "not a string")
}

/// JSON.ARRLEN key [path]
pub fn json_arrlen(c: &mut Ctx, a: &Args) -> CmdResult {
    length(c, a, doc::arrlen, "not an array")
}

/// JSON.OBJLEN key [path]
pub fn json_objlen(c: &mut Ctx, a: &Args) -> CmdResult {
    length(c, a, doc::objlen, "not an object")
}

/// JSON.OBJKEYS key [path]
pub fn json_objkeys(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = path_at(a, 2)?;
    let r = doc::objkeys(&mut c.tx, a.get(1), &path)?;
    let write_keys = |c: &mut Ctx, ks: Vec<String>| {
        c.out.array(ks.len());
        for k in ks {
            c.out.bulk(k.as_bytes());
        }
    };
    match r {
        None if path.legacy => c.out.null(),
        None => return Err(no_key()),
        Some(r) if path.legacy => match pick(r, Pick::First) {
            Some(ks) => write_keys(c, ks),
            None => c.out.null(),
        },
        Some(r) => {
            c.out.array(r.len());
            for x in r {
                match x {
                    Some(ks) => write_keys(c, ks),
                    None => c.out.null(),
                }
            }
        }
    }
    Ok(())
}

fn num(c: &mut Ctx, a: &Args, op: NumOp) -> CmdResult {
    let path = JPath::parse(a.get(2))?;
    let Value::Number(by) = doc::parse_value(a.get(3))? else {
        return Err(CmdError::Err("expected value at line 1 column 1"));
    };
    let r = doc::num_op(&mut c.tx, a.get(1), &path, op, &by)?.ok_or_else(no_key)?;
    if c.out.resp3 {
        c.out.array(r.len());
        for x in r {
            match x.as_ref().map(|n| (n.as_i64(), n.as_f64())) {
                Some((Some(i), _)) => c.out.int(i),
                Some((None, Some(f))) => c.out.double(f),
                _ => c.out.null(),
            }
        }
    } else if path.legacy {
        let n = pick(r, Pick::Last).ok_or_else(|| missing(&path, "does not contains a number"))?;
        c.out.bulk(n.to_string().as_bytes());
    } else {
        let v = Value::Array(r.into_iter().map(|x| x.map_or(Value::Null, Value::Number)).collect());
        c.out.bulk(&text(&v));
    }
    Ok(())
}

/// JSON.NUMINCRBY key path number
/// O(1) on a plain path: only the node holding the number is rewritten.
pub fn json_numincrby(c: &mut Ctx, a: &Args) -> CmdResult {
    num(c, a, NumOp::Incr)
}

/// JSON.NUMMULTBY key path number
pub fn json_nummultby(c: &mut Ctx, a: &Args) -> CmdResult {
    num(c, a, NumOp::Mult)
}

/// JSON.STRAPPEND key [path] value
pub fn json_strappend(c: &mut Ctx, a: &Args) -> CmdResult {
    let (path, raw) = if a.len() >= 4 { (JPath::parse(a.get(2))?, a.get(3)) } else { (JPath::parse(b".")?, a.get(2)) };
    let suffix = match doc::parse_value(raw)? {
        Value::String(s) => s,
        other => {
            return Err(CmdError::Raw(format!(
                "WRONGTYPE wrong type of path value - expected string but found {}",
                doc::type_name(&other)
            )))
        }
    };
    let r = doc::strappend(&mut c.tx, a.get(1), &path, &suffix)?;
    ints(c, &path, r, "not a string", Pick::Last)
}

/// JSON.TOGGLE key path
pub fn json_toggle(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = JPath::parse(a.get(2))?;
    let r = doc::toggle(&mut c.tx, a.get(1), &path)?.ok_or_else(no_key)?;
    if path.legacy {
        let b = pick(r, Pick::Last).ok_or_else(|| missing(&path, "not a bool"))?;
        c.out.bulk(if b { b"true" } else { b"false" });
    } else {
        c.out.array(r.len());
        for x in r {
            match x {
                Some(b) => c.out.int(b as i64),
                None => c.out.null(),
            }
        }
    }
    Ok(())
}

/// JSON.CLEAR key [path]
/// Empties containers and sets numbers to 0; returns how many changed. In a
/// split document each match's node is rewritten and the nodes below it deleted.
pub fn json_clear(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = path_at(a, 2)?;
    let n = doc::clear(&mut c.tx, a.get(1), &path)?.ok_or_else(no_key)?;
    c.out.int(n);
    Ok(())
}

fn values_from(a: &Args, from: usize) -> Result<Vec<Value>, CmdError> {
    (from..a.len()).map(|i| doc::parse_value(a.get(i))).collect()
}

/// JSON.ARRAPPEND key path value [value ...]
/// On a plain path only the node holding the array is rewritten.
pub fn json_arrappend(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = JPath::parse(a.get(2))?;
    let values = values_from(a, 3)?;
    let r = doc::arrappend(&mut c.tx, a.get(1), &path, &values)?;
    ints(c, &path, r, "not an array", Pick::Last)
}

/// JSON.ARRINSERT key path index value [value ...]
pub fn json_arrinsert(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = JPath::parse(a.get(2))?;
    let index = a.i64(3)?;
    let values = values_from(a, 4)?;
    let r = doc::arrinsert(&mut c.tx, a.get(1), &path, index, &values)?;
    ints(c, &path, r, "not an array", Pick::Last)
}

/// JSON.ARRINDEX key path value [start [stop]]
pub fn json_arrindex(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = JPath::parse(a.get(2))?;
    let needle = doc::parse_value(a.get(3))?;
    let start = if a.len() > 4 { a.i64(4)? } else { 0 };
    let stop = if a.len() > 5 { a.i64(5)? } else { 0 };
    if a.len() > 6 {
        return Err(CmdError::WrongArity("json.arrindex".into()));
    }
    let r = doc::arrindex(&mut c.tx, a.get(1), &path, &needle, start, stop)?;
    if r.is_none() {
        return Err(CmdError::Raw(format!("ERR Path '{}' does not exist", path.original)));
    }
    ints(c, &path, r, "not an array", Pick::First)
}

/// JSON.ARRPOP key [path [index]]
/// Returns the popped element as JSON text.
pub fn json_arrpop(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = path_at(a, 2)?;
    let index = if a.len() > 3 { a.i64(3)? } else { -1 };
    let r = doc::arrpop(&mut c.tx, a.get(1), &path, index)?.ok_or_else(no_key)?;
    if path.legacy {
        match pick(r, Pick::Last).ok_or_else(|| missing(&path, "not an array"))? {
            Some(v) => c.out.bulk(&text(&v)),
            None => c.out.null(),
        }
    } else {
        c.out.array(r.len());
        for x in r {
            match x.flatten() {
                Some(v) => c.out.bulk(&text(&v)),
                None => c.out.null(),
            }
        }
    }
    Ok(())
}

/// JSON.ARRTRIM key path start stop
pub fn json_arrtrim(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = JPath::parse(a.get(2))?;
    let (start, stop) = (a.i64(3)?, a.i64(4)?);
    let r = doc::arrtrim(&mut c.tx, a.get(1), &path, start, stop)?;
    ints(c, &path, r, "not an array", Pick::Last)
}

/// JSON.RESP key [path]
/// The value as RESP: `[` / `{` headed arrays, numbers as integers or bulk text.
pub fn json_resp(c: &mut Ctx, a: &Args) -> CmdResult {
    let path = path_at(a, 2)?;
    let Some(mut found) = doc::get_values(&mut c.tx, a.get(1), std::slice::from_ref(&path))? else {
        c.out.null();
        return Ok(());
    };
    let v = found.pop().unwrap_or_default();
    if path.legacy {
        match v.first() {
            Some(x) => resp_value(c, x),
            None => return Err(CmdError::Raw(format!("ERR Path '{}' does not exist", path.text))),
        }
    } else {
        c.out.array(v.len());
        for x in &v {
            resp_value(c, x);
        }
    }
    Ok(())
}

fn resp_value(c: &mut Ctx, v: &Value) {
    match v {
        Value::Null => c.out.null(),
        Value::Bool(b) => c.out.simple(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => c.out.int(i),
            None => c.out.bulk(n.to_string().as_bytes()),
        },
        Value::String(s) => c.out.bulk(s.as_bytes()),
        Value::Array(xs) => {
            c.out.array(xs.len() + 1);
            c.out.simple("[");
            for x in xs {
                resp_value(c, x);
            }
        }
        Value::Object(o) => {
            c.out.array(o.len() * 2 + 1);
            c.out.simple("{");
            for (k, x) in o {
                c.out.bulk(k.as_bytes());
                resp_value(c, x);
            }
        }
    }
}
