//! JSON edits through filters, wildcards and recursive descent, and CLEAR
//! and MERGE, on a large (split) document: they write only the nodes they
//! change, not the document. Bytes written are read off the memtables'
//! growth (INFO's `rocksdb_memtables_size`, which grows by arena blocks:
//! 512 KiB with the test config's 4 MiB write buffer), so one command that
//! rewrote the ~1.3 MB document would grow it by two blocks or more. A
//! random walk of such edits is checked against a serde_json model after
//! every step, after a restart, and for records left behind.

mod common;

use common::{info_field, RawClient, Reply, Rng, TestServer};
use serde_json::{json, Map, Value};
use serde_json_path::JsonPath;

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

/// A record of `$.recs`; every tenth holds a member big enough to be a node
/// of its own (`blob`) and a chunked array (`list`).
fn rec(id: u64) -> Value {
    let mut r = json!({"id": id, "price": id % 50, "name": format!("item{id}"), "tags": ["a", "b"], "ok": id % 2 == 0});
    if id % 10 == 0 {
        let blob: Map<String, Value> = (0..60).map(|i| (format!("f{i}"), json!("v".repeat(90)))).collect();
        r["blob"] = Value::Object(blob);
        r["list"] = json!((0..1500).collect::<Vec<_>>());
    }
    r
}

/// An array of `recs` records, a wide object of `wide` members, a small
/// object; `big_doc(6000, 2000)` is about 1.3 MB of JSON.
fn big_doc(recs: u64, wide: u64) -> Value {
    let byname: Map<String, Value> =
        (0..wide).map(|i| (format!("k{i}"), json!({"n": i, "s": "x".repeat(40)}))).collect();
    json!({
        "meta": {"count": 0, "cfg": {"x": 1, "y": "z".repeat(100), "deep": {"count": 3, "w": [1, 2]}}},
        "recs": (0..recs).map(rec).collect::<Vec<_>>(),
        "byname": byname,
    })
}

/// The memtables' size (see the module header).
fn memtables(c: &mut RawClient) -> i64 {
    info_field(c, "storage", "rocksdb_memtables_size").parse().expect("number")
}

/// Runs `cmd` and returns its reply and how much the memtables grew. The
/// caller leaves room for the command (a flush in between would spoil the
/// measure: the size would fall).
fn measured(c: &mut RawClient, cmd: &[&str]) -> (Reply, i64) {
    let before = memtables(c);
    let r = c.cmd(cmd);
    let grew = memtables(c) - before;
    assert!(grew >= 0, "the memtables flushed during {cmd:?}: a whole rewrite?");
    (r, grew)
}

/// Two arena blocks: a whole rewrite of `big_doc` grows the memtables at
/// least this much, an edit of one node at most one block.
const WHOLE: i64 = 1 << 20;

/// One-field MERGE, CLEAR and filtered / recursive NUMINCRBY (and the other
/// edits through filters) on a ~1.3 MB document each write far less than
/// the document; the replies are RedisJSON's and the document is right.
#[test]
fn one_field_edits_of_a_big_document_write_little() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    let mut model = big_doc(6000, 2000);
    let text = model.to_string();
    assert!(text.len() > 1_200_000, "{}", text.len());
    assert_eq!(c.cmd(&["JSON.SET", "d", "$", &text]), Reply::ok());
    let (_, whole) = measured(&mut c, &["JSON.SET", "d", "$", &text]);
    assert!(whole >= WHOLE, "a whole rewrite grew the memtables by only {whole}");
    // Empty memtables (compaction flushes them): the edits below fit.
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());

    let int = Reply::Int;
    let arr = |v: Vec<Reply>| Reply::Array(Some(v));
    type Step<'a> = (&'a [&'a str], Reply);
    let steps: Vec<Step> = vec![
        (&["JSON.MERGE", "d", "$.meta", r#"{"count":5,"cfg":{"x":null,"v":2}}"#], Reply::ok()),
        (&["JSON.MERGE", "d", "$", r#"{"meta":{"count":7},"top":1}"#], Reply::ok()),
        (&["JSON.MERGE", "d", "$.recs[?(@.id==20)]", r#"{"name":"n","blob":{"f3":"w","f4":null}}"#], Reply::ok()),
        (&["JSON.CLEAR", "d", "$.meta.cfg.deep"], int(1)),
        (&["JSON.CLEAR", "d", "$.recs[?(@.id==30)].blob"], int(1)),
        (&["JSON.CLEAR", "d", "$.recs[?(@.id==40)].list"], int(1)),
        (&["JSON.NUMINCRBY", "d", "$.recs[?(@.id==77)].price", "1"], bulk("[28]")),
        (&["JSON.NUMINCRBY", "d", "$..count", "2"], bulk("[9]")),
        (&["JSON.NUMMULTBY", "d", "$.byname[?(@.n==5)].n", "3"], bulk("[15]")),
        (&["JSON.TOGGLE", "d", "$.recs[?(@.id<3)].ok"], arr(vec![int(0), int(1), int(0)])),
        (&["JSON.STRAPPEND", "d", "$.recs[?(@.id==9)].name", r#""!""#], arr(vec![int(6)])),
        (&["JSON.SET", "d", "$.recs[?(@.id==10)].price", "1"], Reply::ok()),
        (&["JSON.ARRAPPEND", "d", "$.recs[?(@.id==11)].tags", r#""c""#], arr(vec![int(3)])),
        (&["JSON.ARRAPPEND", "d", "$.recs[?(@.id==50)].list", "7"], arr(vec![int(1501)])),
        (&["JSON.ARRPOP", "d", "$.recs[?(@.id==12)].tags"], arr(vec![bulk("\"b\"")])),
        (&["JSON.DEL", "d", "$.recs[?(@.id==13)].tags"], int(1)),
        (&["JSON.DEL", "d", "$.recs[?(@.id==60)].blob"], int(1)),
    ];
    for (cmd, want) in steps {
        let (r, grew) = measured(&mut c, cmd);
        assert_eq!(r, want, "{cmd:?}");
        assert!(grew < WHOLE / 2 + 1, "{cmd:?} grew the memtables by {grew} (a whole rewrite: {whole})");
        apply(&mut model, cmd);
    }
    assert_eq!(c.cmd(&["JSON.GET", "d"]), bulk(&model.to_string()));
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["JSON.GET", "d"]), bulk(&model.to_string()));
}

/// The model: RFC 7396 merge.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().unwrap();
    for (k, v) in p {
        if v.is_null() {
            t.shift_remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The model: JSON pointers of the matches of a JSONPath, in match order.
fn matches(doc: &Value, path: &str) -> Vec<String> {
    let p = JsonPath::parse(path).expect("test paths parse");
    p.query_located(doc).locations().map(|l| l.to_json_pointer()).collect()
}

/// The model's parent pointer and last step of a pointer.
fn split_ptr(ptr: &str) -> (&str, String) {
    let (parent, last) = ptr.rsplit_once('/').expect("not the root");
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

/// Applies a JSON.* command with a `$` path to the model; returns the
/// reply RedisJSON gives (RESP2).
fn apply(doc: &mut Value, cmd: &[&str]) -> Reply {
    let (name, path) = (cmd[0], cmd[2]);
    let ptrs = matches(doc, path);
    let per = |doc: &mut Value, f: &mut dyn FnMut(&mut Value) -> Option<Reply>| -> Vec<Reply> {
        ptrs.iter().map(|p| doc.pointer_mut(p).and_then(&mut *f).unwrap_or(Reply::Bulk(None))).collect()
    };
    let arg = |i: usize| serde_json::from_str::<Value>(cmd[i]).unwrap();
    match name {
        "JSON.NUMINCRBY" | "JSON.NUMMULTBY" => {
            let by = arg(3).as_i64().unwrap();
            let r: Vec<Value> = ptrs
                .iter()
                .map(|p| match doc.pointer_mut(p) {
                    Some(v) if v.is_i64() => {
                        let n = v.as_i64().unwrap();
                        *v = json!(if name == "JSON.NUMINCRBY" { n + by } else { n * by });
                        v.clone()
                    }
                    _ => Value::Null,
                })
                .collect();
            bulk(&Value::Array(r).to_string())
        }
        "JSON.TOGGLE" => Reply::Array(Some(per(doc, &mut |v| {
            let b = v.as_bool()?;
            *v = json!(!b);
            Some(Reply::Int(!b as i64))
        }))),
        "JSON.STRAPPEND" => {
            let suffix = arg(3);
            Reply::Array(Some(per(doc, &mut |v| {
                let s = format!("{}{}", v.as_str()?, suffix.as_str().unwrap());
                *v = json!(s);
                Some(Reply::Int(s.len() as i64))
            })))
        }
        "JSON.ARRAPPEND" => {
            let x = arg(3);
            Reply::Array(Some(per(doc, &mut |v| {
                let a = v.as_array_mut()?;
                a.push(x.clone());
                Some(Reply::Int(a.len() as i64))
            })))
        }
        "JSON.ARRPOP" => Reply::Array(Some(per(doc, &mut |v| {
            let a = v.as_array_mut()?;
            Some(a.pop().map_or(Reply::Bulk(None), |x| bulk(&x.to_string())))
        }))),
        "JSON.ARRTRIM" => {
            let (from, to) = (cmd[3].parse::<usize>().unwrap(), cmd[4].parse::<usize>().unwrap());
            Reply::Array(Some(per(doc, &mut |v| {
                let a = v.as_array_mut()?;
                a.truncate(to + 1);
                a.drain(..from.min(a.len()));
                Some(Reply::Int(a.len() as i64))
            })))
        }
        "JSON.CLEAR" => {
            let n = per(doc, &mut |v| {
                let cleared = match v {
                    Value::Array(a) if !a.is_empty() => json!([]),
                    Value::Object(o) if !o.is_empty() => json!({}),
                    Value::Number(n) if n.as_f64() != Some(0.0) => json!(0),
                    _ => return None,
                };
                *v = cleared;
                Some(Reply::Int(1))
            });
            Reply::Int(n.iter().filter(|r| **r == Reply::Int(1)).count() as i64)
        }
        "JSON.SET" => {
            let x = arg(3);
            if ptrs.is_empty() {
                return Reply::Bulk(None);
            }
            per(doc, &mut |v| {
                *v = x.clone();
                Some(Reply::ok())
            });
            Reply::ok()
        }
        "JSON.MERGE" => {
            let patch = arg(3);
            if ptrs.is_empty() {
                return Reply::Bulk(None);
            }
            per(doc, &mut |v| {
                merge_patch(v, &patch);
                Some(Reply::ok())
            });
            Reply::ok()
        }
        "JSON.DEL" => {
            // Outermost matches only, the last first (indexes stay valid).
            let mut ptrs = ptrs.clone();
            ptrs.sort_by(|a, b| {
                let seg =
                    |p: &str| p.split('/').map(|s| s.parse::<u64>().map_err(|_| s.to_string())).collect::<Vec<_>>();
                seg(a).cmp(&seg(b))
            });
            ptrs.dedup();
            let mut outer: Vec<String> = Vec::new();
            for p in ptrs {
                if !outer.last().is_some_and(|o| p.starts_with(&format!("{o}/"))) {
                    outer.push(p);
                }
            }
            let mut n = 0;
            for p in outer.iter().rev() {
                let (parent, last) = split_ptr(p);
                match doc.pointer_mut(parent) {
                    Some(Value::Object(o)) => n += o.shift_remove(&last).is_some() as i64,
                    Some(Value::Array(a)) => {
                        a.remove(last.parse::<usize>().unwrap());
                        n += 1;
                    }
                    _ => {}
                }
            }
            Reply::Int(n)
        }
        other => panic!("no model for {other}"),
    }
}

/// Paths of a random edit: a filter with one match, a few, many (the
/// whole-rewrite fallback), recursive descent, wildcards, nested matches.
fn random_path(rng: &mut Rng, container: bool) -> String {
    let id = rng.below(200);
    let leaf = ["price", "name", "ok", "tags", "blob", "list", "blob.f1"][rng.below(7) as usize];
    match rng.below(if container { 8 } else { 9 }) {
        0 | 1 => format!("$.recs[?(@.id=={id})].{leaf}"),
        2 => format!("$.recs[?(@.id<{})].{leaf}", rng.below(6)),
        3 => format!("$.recs[?(@.id=={id})]"),
        4 => "$..deep".into(),
        5 => format!("$.recs[{}:{}].{leaf}", id, id + rng.below(4)),
        6 => "$.meta.*".into(),
        7 => "$..count".into(),
        _ => "$.byname.*.n".into(),
    }
}

/// A random walk of edits through non-plain paths on a big document, each
/// reply and, after every step, the document compared with the model; then
/// after a restart; then its records are no more than the same document's
/// written afresh (no node of a cut-out value is left behind).
#[test]
fn random_edits_through_filters_match_a_model() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // About 330 KB: split and chunked as a big one, quicker to compare.
    let mut model = big_doc(1500, 600);
    assert_eq!(c.cmd(&["JSON.SET", "d", "$", &model.to_string()]), Reply::ok());
    let patches = [
        r#"{"name":"m","tags":null}"#,
        r#"{"blob":{"f1":"p","f2":null,"g":{"h":1}}}"#,
        r#"{"count":1,"w":null,"new":[1,2]}"#,
        r#"{"list":[9]}"#,
        r#"{"blob":null}"#,
        r#"5"#,
    ];
    for step in 0..160 {
        let (cmd, path): (&str, String) = match rng.below(12) {
            0 => ("JSON.NUMINCRBY", random_path(&mut rng, false)),
            1 => ("JSON.NUMMULTBY", random_path(&mut rng, false)),
            2 => ("JSON.TOGGLE", random_path(&mut rng, false)),
            3 => ("JSON.STRAPPEND", random_path(&mut rng, false)),
            4 => ("JSON.SET", random_path(&mut rng, false)),
            5 => ("JSON.ARRAPPEND", random_path(&mut rng, true)),
            6 => ("JSON.ARRPOP", random_path(&mut rng, true)),
            7 => ("JSON.ARRTRIM", random_path(&mut rng, true)),
            8 => ("JSON.CLEAR", random_path(&mut rng, true)),
            9 => ("JSON.DEL", random_path(&mut rng, true)),
            _ => ("JSON.MERGE", random_path(&mut rng, true)),
        };
        let extra: Vec<String> = match cmd {
            "JSON.NUMINCRBY" | "JSON.NUMMULTBY" => vec![(1 + rng.below(3)).to_string()],
            "JSON.STRAPPEND" => vec![r#""s""#.into()],
            "JSON.SET" => vec![[r#"1"#, r#""v""#, r#"{"z":[1]}"#][rng.below(3) as usize].into()],
            "JSON.ARRAPPEND" => vec![[r#"1"#, r#"{"q":"x"}"#][rng.below(2) as usize].into()],
            "JSON.ARRTRIM" => vec![rng.below(2).to_string(), (1 + rng.below(1000)).to_string()],
            "JSON.MERGE" => vec![patches[rng.below(patches.len() as u64) as usize].into()],
            _ => vec![],
        };
        let mut args = vec![cmd, "d", &path];
        args.extend(extra.iter().map(String::as_str));
        let want = apply(&mut model, &args);
        assert_eq!(c.cmd(&args), want, "step {step}: {args:?}");
        assert_eq!(c.cmd(&["JSON.GET", "d"]), bulk(&model.to_string()), "step {step}: {args:?}");
    }
    s.restart();
    let mut c = s.raw();
    let text = model.to_string();
    assert_eq!(c.cmd(&["JSON.GET", "d"]), bulk(&text));
    let records = |c: &mut RawClient| -> u64 {
        assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
        info_field(c, "storage", "rocksdb_data_estimate_num_keys").parse().expect("number")
    };
    let edited = records(&mut c);
    assert_eq!(c.cmd(&["JSON.SET", "d", "$", &text]), Reply::ok());
    let fresh = records(&mut c);
    assert!(edited <= fresh + fresh / 10, "{edited} records after the edits, {fresh} when written afresh");
}
