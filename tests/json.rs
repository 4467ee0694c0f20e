//! JSON.* commands through the real binary, against RedisJSON's documented
//! examples and reply shapes: both path syntaxes, RESP2 and RESP3 where they
//! differ, error texts, generic commands on JSON keys, large (split)
//! documents changed in place, and persistence across a restart.

mod common;

use common::{RawClient, Reply, TestServer};

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn nil() -> Reply {
    Reply::Bulk(None)
}

fn arr(v: Vec<Reply>) -> Reply {
    Reply::Array(Some(v))
}

fn err(s: &str) -> Reply {
    Reply::Error(s.into())
}

#[test]
fn set_get_both_path_syntaxes() {
    let s = TestServer::new();
    let mut c = s.raw();
    let doc = r#"{"a":2,"b":{"c":[1,2,3],"d":"x"},"store":{"book":[{"price":8,"t":"A"},{"price":12,"t":"B"}]}}"#;
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$", doc]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.GET", "doc"]), bulk(doc));
    assert_eq!(c.cmd(&["JSON.GET", "doc", ".b.c"]), bulk("[1,2,3]"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "b.d"]), bulk("\"x\""));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$.b.c"]), bulk("[[1,2,3]]"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$..price"]), bulk("[8,12]"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$..[?(@.price<10)].t"]), bulk("[\"A\"]"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$.store.book[*].t"]), bulk("[\"A\",\"B\"]"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$.b.c[0:2]"]), bulk("[1,2]"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$.b.c[-1]"]), bulk("[3]"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$.nope"]), bulk("[]"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", ".nope"]), err("ERR Path '$.nope' does not exist"));
    assert_eq!(c.cmd(&["JSON.GET", "doc", ".a", ".b.d"]), bulk(r#"{".a":2,".b.d":"x"}"#));
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$.a", "$.b.d"]), bulk(r#"{"$.a":[2],"$.b.d":["x"]}"#));
    assert_eq!(
        c.cmd(&["JSON.GET", "doc", "INDENT", "\t", "NEWLINE", "\n", "SPACE", " ", ".b"]),
        bulk("{\n\t\"c\": [\n\t\t1,\n\t\t2,\n\t\t3\n\t],\n\t\"d\": \"x\"\n}")
    );
    assert_eq!(c.cmd(&["JSON.GET", "missing"]), nil());
    // NX / XX, paths that cannot be created.
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$.a", "5", "NX"]), nil());
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$.new", "5", "XX"]), nil());
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$.new", "5", "NX"]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$.x.y.z", "1"]), nil());
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$..price", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$..price"]), bulk("[1,1]"));
    assert_eq!(c.cmd(&["JSON.SET", "fresh", ".a", "1"]), err("ERR new objects must be created at the root"));
    assert_eq!(c.cmd(&["JSON.SET", "fresh", "$", "1", "XX"]), nil());
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$", "1", "NX"]), nil());
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$", "1", "NX", "XX"]), err("ERR syntax error"));
}

#[test]
fn errors_are_redis_style_and_server_stays_up() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["JSON.SET", "k", "$", "{bad"]), err("ERR key must be a string at line 1 column 2"));
    assert_eq!(c.cmd(&["JSON.SET", "k", "$", "nope"]), err("ERR expected ident at line 1 column 2"));
    assert!(c.cmd(&["JSON.GET", "k", "$[?"]).err().unwrap().starts_with("ERR Invalid JSONPath"));
    assert_eq!(c.cmd(&["SET", "str", "v"]), Reply::ok());
    let wrongtype = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(c.cmd(&["JSON.GET", "str"]), wrongtype);
    assert_eq!(c.cmd(&["JSON.SET", "str", "$", "1"]), wrongtype);
    assert_eq!(c.cmd(&["JSON.SET", "k", "$", r#"{"s":"x","n":1}"#]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), wrongtype);
    assert_eq!(
        c.cmd(&["JSON.NUMINCRBY", "k", ".s", "1"]),
        err("ERR Path '$.s' does not exist or does not contains a number")
    );
    assert_eq!(c.cmd(&["JSON.ARRAPPEND", "k", ".n", "1"]), err("ERR Path '$.n' does not exist or not an array"));
    assert_eq!(
        c.cmd(&["JSON.NUMINCRBY", "nokey", "$.a", "1"]),
        err("ERR could not perform this operation on a key that doesn't exist")
    );
    assert_eq!(c.cmd(&["JSON.SET"]), err("ERR wrong number of arguments for 'json.set' command"));
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn numbers_strings_booleans() {
    let s = TestServer::new();
    let mut c = s.raw();
    // RedisJSON's JSON.NUMINCRBY example.
    assert_eq!(c.cmd(&["JSON.SET", "doc", ".", r#"{"a":"b","b":[{"a":2}, {"a":5}, {"a":"c"}]}"#]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.NUMINCRBY", "doc", "$.a", "2"]), bulk("[null]"));
    assert_eq!(c.cmd(&["JSON.NUMINCRBY", "doc", "$..a", "2"]), bulk("[null,4,7,null]"));
    assert_eq!(c.cmd(&["JSON.NUMINCRBY", "doc", ".b[0].a", "1.5"]), bulk("5.5"));
    assert_eq!(c.cmd(&["JSON.NUMMULTBY", "doc", "$.b[1].a", "2"]), bulk("[14]"));
    // STRAPPEND / STRLEN.
    assert_eq!(c.cmd(&["JSON.SET", "s", "$", r#"{"a":"foo","nested":{"a":"hello"},"n":{"a":31}}"#]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.STRAPPEND", "s", "$..a", "\"baz\""]), arr(vec![int(6), int(8), nil()]));
    assert_eq!(c.cmd(&["JSON.STRLEN", "s", "$..a"]), arr(vec![int(6), int(8), nil()]));
    assert_eq!(c.cmd(&["JSON.STRLEN", "s", ".a"]), int(6));
    assert_eq!(c.cmd(&["JSON.STRAPPEND", "s", ".a", "\"!\""]), int(7));
    // TOGGLE.
    assert_eq!(c.cmd(&["JSON.SET", "t", "$", r#"{"bool":true,"x":1}"#]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.TOGGLE", "t", "$.bool"]), arr(vec![int(0)]));
    assert_eq!(c.cmd(&["JSON.TOGGLE", "t", "$.x"]), arr(vec![nil()]));
    assert_eq!(c.cmd(&["JSON.TOGGLE", "t", ".bool"]), bulk("true"));
    assert_eq!(c.cmd(&["JSON.TOGGLE", "t", ".x"]), err("ERR Path '$.x' does not exist or not a bool"));
    // TYPE.
    assert_eq!(
        c.cmd(&["JSON.TYPE", "t", "$.*"]),
        arr(vec![Reply::Simple("boolean".into()), Reply::Simple("integer".into())])
    );
    assert_eq!(c.cmd(&["JSON.TYPE", "t"]), Reply::Simple("object".into()));
    assert_eq!(c.cmd(&["JSON.TYPE", "missing"]), nil());
}

#[test]
fn arrays_and_objects() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["JSON.SET", "k1", ".", r#"[[], ["a"], ["a", "b"]]"#]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.ARRPOP", "k1", "$[*]"]), arr(vec![nil(), bulk("\"a\""), bulk("\"b\"")]));
    assert_eq!(c.cmd(&["JSON.GET", "k1"]), bulk(r#"[[],[],["a"]]"#));
    assert_eq!(c.cmd(&["JSON.SET", "k2", ".", r#"[[], ["a"], ["a", "b"]]"#]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.ARRPOP", "k2"]), bulk(r#"["a","b"]"#));
    assert_eq!(c.cmd(&["JSON.ARRPOP", "k2", ".", "0"]), bulk("[]"));
    assert_eq!(c.cmd(&["JSON.GET", "k2"]), bulk(r#"[["a"]]"#));

    assert_eq!(c.cmd(&["JSON.SET", "a", "$", r#"{"arr":[1,2,3],"o":{"x":1,"y":[1]}}"#]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.ARRAPPEND", "a", "$.arr", "4", "\"five\""]), arr(vec![int(5)]));
    assert_eq!(c.cmd(&["JSON.ARRAPPEND", "a", ".arr", "6"]), int(6));
    assert_eq!(c.cmd(&["JSON.ARRINSERT", "a", "$.arr", "0", "0"]), arr(vec![int(7)]));
    assert_eq!(c.cmd(&["JSON.ARRINSERT", "a", ".arr", "-1", "5.5"]), int(8));
    assert_eq!(c.cmd(&["JSON.ARRINSERT", "a", ".arr", "99", "1"]), err("ERR index out of bounds"));
    assert_eq!(c.cmd(&["JSON.GET", "a", ".arr"]), bulk(r#"[0,1,2,3,4,"five",5.5,6]"#));
    assert_eq!(c.cmd(&["JSON.ARRINDEX", "a", "$.arr", "\"five\""]), arr(vec![int(5)]));
    assert_eq!(c.cmd(&["JSON.ARRINDEX", "a", ".arr", "3", "4"]), int(-1));
    assert_eq!(c.cmd(&["JSON.ARRINDEX", "a", "$.*", "1"]), arr(vec![int(1), nil()]));
    assert_eq!(c.cmd(&["JSON.ARRLEN", "a", "$.*"]), arr(vec![int(8), nil()]));
    assert_eq!(c.cmd(&["JSON.ARRLEN", "a", ".o.y"]), int(1));
    assert_eq!(c.cmd(&["JSON.ARRTRIM", "a", "$.arr", "1", "-2"]), arr(vec![int(6)]));
    assert_eq!(c.cmd(&["JSON.GET", "a", ".arr"]), bulk(r#"[1,2,3,4,"five",5.5]"#));
    assert_eq!(c.cmd(&["JSON.ARRTRIM", "a", ".arr", "9", "11"]), int(0));
    assert_eq!(c.cmd(&["JSON.OBJLEN", "a", "$.o"]), arr(vec![int(2)]));
    assert_eq!(c.cmd(&["JSON.OBJLEN", "a"]), int(2));
    assert_eq!(c.cmd(&["JSON.OBJKEYS", "a", "$..o"]), arr(vec![arr(vec![bulk("x"), bulk("y")])]));
    assert_eq!(c.cmd(&["JSON.OBJKEYS", "a", ".o"]), arr(vec![bulk("x"), bulk("y")]));
    // CLEAR, DEL, FORGET, MERGE, MSET, MGET.
    assert_eq!(
        c.cmd(&[
            "JSON.SET",
            "c",
            "$",
            r#"{"obj":{"a":1,"b":2},"arr":[1,2,3],"str":"foo","bool":true,"int":42,"float":3.14}"#
        ]),
        Reply::ok()
    );
    assert_eq!(c.cmd(&["JSON.CLEAR", "c", "$.*"]), int(4));
    assert_eq!(c.cmd(&["JSON.GET", "c"]), bulk(r#"{"obj":{},"arr":[],"str":"foo","bool":true,"int":0,"float":0}"#));
    assert_eq!(c.cmd(&["JSON.SET", "d", "$", r#"{"a":1,"nested":{"a":2,"b":3}}"#]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.DEL", "d", "$..a"]), int(2));
    assert_eq!(c.cmd(&["JSON.GET", "d"]), bulk(r#"{"nested":{"b":3}}"#));
    assert_eq!(c.cmd(&["JSON.FORGET", "d", ".nested.b"]), int(1));
    assert_eq!(c.cmd(&["JSON.MERGE", "d", "$", r#"{"nested":{"c":[1]},"z":null,"n":7}"#]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.GET", "d"]), bulk(r#"{"nested":{"c":[1]},"n":7}"#));
    assert_eq!(c.cmd(&["JSON.MSET", "m1", "$", "1", "m2", "$", r#"{"a":2}"#, "d", "$.n", "8"]), Reply::ok());
    assert_eq!(
        c.cmd(&["JSON.MSET", "m3", "$", "1", "nokey", "$.a", "1"]),
        err("ERR new objects must be created at the root")
    );
    assert_eq!(c.cmd(&["EXISTS", "m3"]), int(0));
    assert_eq!(c.cmd(&["JSON.MGET", "m2", "d", "missing", "$.a"]), arr(vec![bulk("[2]"), bulk("[]"), nil()]));
    assert_eq!(c.cmd(&["JSON.MGET", "m2", "d", ".n"]), arr(vec![nil(), bulk("8")]));
    assert_eq!(c.cmd(&["JSON.DEL", "d"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "d"]), int(0));
}

#[test]
fn resp3_shapes_and_json_resp() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["JSON.SET", "doc", "$", r#"{"a":[1,2.5,"x",null,true],"o":{"k":"v"}}"#]), Reply::ok());
    let simple = |s: &str| Reply::Simple(s.into());
    assert_eq!(
        c.cmd(&["JSON.RESP", "doc", ".a"]),
        arr(vec![simple("["), int(1), bulk("2.5"), bulk("x"), nil(), simple("true")])
    );
    assert_eq!(c.cmd(&["JSON.RESP", "doc", "$.o"]), arr(vec![arr(vec![simple("{"), bulk("k"), bulk("v")])]));
    let _ = c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd(&["JSON.TYPE", "doc", ".o"]), arr(vec![simple("object")]));
    assert_eq!(
        c.cmd(&["JSON.NUMINCRBY", "doc", "$.a[*]", "1"]),
        arr(vec![int(2), Reply::Double("3.5".into()), Reply::Null, Reply::Null, Reply::Null])
    );
    assert_eq!(c.cmd(&["JSON.GET", "doc", "$.o.k"]), bulk("[\"v\"]"));
}

#[test]
fn generic_commands_on_json_keys() {
    let s = TestServer::new();
    let mut c = s.raw();
    let big = big_doc(2000);
    for (k, v) in [("small", r#"{"a":1}"#.to_string()), ("big", big)] {
        assert_eq!(c.cmd(&["JSON.SET", k, "$", &v]), Reply::ok());
        assert_eq!(c.cmd(&["TYPE", k]), Reply::Simple("ReJSON-RL".into()));
        assert_eq!(c.cmd(&["COPY", k, &format!("{k}-copy")]), int(1));
        assert_eq!(c.cmd(&["RENAME", &format!("{k}-copy"), &format!("{k}-moved")]), Reply::ok());
        assert_eq!(c.cmd(&["JSON.GET", &format!("{k}-moved")]), c.cmd(&["JSON.GET", k]));
        assert_eq!(c.cmd(&["EXPIRE", k, "100"]), int(1));
        assert_eq!(c.cmd(&["JSON.SET", k, "$.extra", "1"]), Reply::ok());
        assert!(matches!(c.cmd(&["TTL", k]), Reply::Int(t) if t > 0), "JSON.SET keeps the TTL");
    }
    assert_eq!(c.cmd(&["SCAN", "0", "TYPE", "ReJSON-RL", "COUNT", "100"]).items()[1].items().len(), 4);
    assert_eq!(c.cmd(&["DEL", "big", "small"]), int(2));
    assert_eq!(c.cmd(&["JSON.GET", "big"]), nil());
}

/// A document of `n` records, each an object with a counter, a list and text.
fn big_doc(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#""r{i}":{{"id":{i},"count":0,"tags":["t{i}","x"],"text":"{}"}}"#, "lorem ipsum ".repeat(3)))
        .collect();
    format!(r#"{{"meta":{{"n":{n}}},"records":{{{}}},"list":[]}}"#, items.join(","))
}

#[test]
fn large_document_partial_updates_and_restart() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    let doc = big_doc(5000);
    assert!(doc.len() > 400_000, "{}", doc.len());
    assert_eq!(c.cmd(&["JSON.SET", "big", "$", &doc]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.GET", "big"]), bulk(&doc));
    let mut expect: serde_json::Value = serde_json::from_str(&doc).unwrap();
    for i in (0..5000).step_by(250) {
        assert_eq!(c.cmd(&["JSON.NUMINCRBY", "big", &format!(".records.r{i}.count"), "3"]), bulk("3"));
        assert_eq!(
            c.cmd(&["JSON.ARRAPPEND", "big", &format!("$.records.r{i}.tags"), &format!("{i}")]),
            arr(vec![int(3)])
        );
        assert_eq!(c.cmd(&["JSON.SET", "big", &format!("$.records.r{i}.new"), "{\"z\":true}"]), Reply::ok());
        assert_eq!(c.cmd(&["JSON.STRAPPEND", "big", &format!(".records.r{i}.text"), "\"!\""]), int(37));
        assert_eq!(c.cmd(&["JSON.ARRAPPEND", "big", ".list", &format!("{i}")]), int((i / 250 + 1) as i64));
        let r = &mut expect["records"][format!("r{i}")];
        r["count"] = 3.into();
        r["tags"].as_array_mut().unwrap().push(i.into());
        r["new"] = serde_json::json!({"z": true});
        r["text"] = format!("{}!", "lorem ipsum ".repeat(3)).into();
        expect["list"].as_array_mut().unwrap().push(i.into());
    }
    // Grow a part far past a node, then read pieces and the whole.
    let chunk = format!("[{}]", (0..3000).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    assert_eq!(c.cmd(&["JSON.SET", "big", "$.records.r1.blob", &chunk]), Reply::ok());
    expect["records"]["r1"]["blob"] = serde_json::from_str(&chunk).unwrap();
    assert_eq!(c.cmd(&["JSON.GET", "big", ".records.r250"]), bulk(&expect["records"]["r250"].to_string()));
    assert_eq!(c.cmd(&["JSON.GET", "big", "$..[?(@.count>2)].id"]).str().matches(',').count(), 19);
    let whole = expect.to_string();
    assert_eq!(c.cmd(&["JSON.GET", "big"]), bulk(&whole));
    s.restart();
    let mut c: RawClient = s.raw();
    assert_eq!(c.cmd(&["JSON.GET", "big"]), bulk(&whole));
    assert_eq!(c.cmd(&["JSON.NUMINCRBY", "big", "$.records.r0.count", "1"]), bulk("[4]"));
    assert_eq!(c.cmd(&["JSON.DEL", "big", "$.records.r0"]), int(1));
    assert_eq!(c.cmd(&["JSON.GET", "big", "$.records.r0"]), bulk("[]"));
    assert_eq!(c.cmd(&["JSON.OBJLEN", "big", ".records"]), int(4999));
}

/// Checks the whole document and a sweep of single elements of `$.a`
/// against the model (single elements take the chunk-by-index path).
fn check_big(c: &mut RawClient, key: &str, expect: &serde_json::Value) {
    assert_eq!(c.cmd(&["JSON.GET", key]), bulk(&expect.to_string()));
    let a = expect["a"].as_array().unwrap();
    let n = a.len() as i64;
    assert_eq!(c.cmd(&["JSON.ARRLEN", key, "$.a"]), arr(vec![int(n)]));
    for i in (0..n).step_by(113).chain([0, n - 1]) {
        let want = format!("[{}]", a[i as usize]);
        assert_eq!(c.cmd(&["JSON.GET", key, &format!("$.a[{i}]")]), bulk(&want), "index {i}");
        assert_eq!(c.cmd(&["JSON.GET", key, &format!("$.a[{}]", i - n)]), bulk(&want), "index {}", i - n);
    }
    assert_eq!(c.cmd(&["JSON.GET", key, &format!("$.a[{n}]")]), bulk("[]"));
    assert_eq!(c.cmd(&["JSON.GET", key, &format!("$.a[-{}]", n + 1)]), bulk("[]"));
}

/// A big array of scalars is kept in chunks: element edits, inserts, pops
/// and trims at and across chunk borders (a sweep, so whatever the chunk
/// size), negative indexes, JSONPath filters over the chunks, restart.
#[test]
fn big_arrays_are_chunked_and_edited_by_index() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    let nums: Vec<i64> = (10_000..30_000).collect();
    let mut expect = serde_json::json!({"meta": {"v": 1}, "a": nums});
    assert_eq!(c.cmd(&["JSON.SET", "ba", "$", &expect.to_string()]), Reply::ok());
    check_big(&mut c, "ba", &expect);
    // Element updates by positive and negative index, across the array.
    for i in [0i64, 340, 341, 342, 682, 683, 9_999, 19_999, -1, -342, -20_000] {
        let len = a(&mut expect).len() as i64;
        let at = if i < 0 { len + i } else { i } as usize;
        let new = a(&mut expect)[at].as_i64().unwrap() + 7;
        a(&mut expect)[at] = new.into();
        assert_eq!(c.cmd(&["JSON.NUMINCRBY", "ba", &format!("$.a[{i}]"), "7"]), bulk(&format!("[{new}]")));
    }
    assert_eq!(c.cmd(&["JSON.SET", "ba", "$.a[5000]", r#"{"x":[1,2]}"#]), Reply::ok());
    a(&mut expect)[5000] = serde_json::json!({"x": [1, 2]});
    assert_eq!(c.cmd(&["JSON.ARRAPPEND", "ba", "$.a[5000].x", "3"]), arr(vec![int(3)]));
    a(&mut expect)[5000]["x"].as_array_mut().unwrap().push(3.into());
    assert_eq!(c.cmd(&["JSON.GET", "ba", ".a[5000]"]), bulk(r#"{"x":[1,2,3]}"#));
    check_big(&mut c, "ba", &expect);
    // Inserts sweeping over the first chunk borders, and a long run that
    // must be cut into several chunks.
    for (n, i) in (335..350).chain(675..690).enumerate() {
        let v = 1_000_000 + n as i64;
        a(&mut expect).insert(i, v.into());
        let len = a(&mut expect).len() as i64;
        assert_eq!(c.cmd(&["JSON.ARRINSERT", "ba", "$.a", &i.to_string(), &v.to_string()]), arr(vec![int(len)]));
    }
    let run: Vec<String> = (0..2000).map(|i| (2_000_000 + i).to_string()).collect();
    let mut args = vec!["JSON.ARRINSERT", "ba", ".a", "-3"];
    args.extend(run.iter().map(|s| s.as_str()));
    let len = a(&mut expect).len();
    a(&mut expect).splice(len - 3..len - 3, run.iter().map(|s| s.parse::<i64>().unwrap().into()));
    assert_eq!(c.cmd(&args), int(a(&mut expect).len() as i64));
    assert_eq!(c.cmd(&["JSON.ARRINSERT", "ba", "$.a", "99999999", "1"]), err("ERR index out of bounds"));
    assert_eq!(
        c.cmd(&["JSON.ARRINSERT", "ba", "$.a", "0", "\"head\""]),
        arr(vec![int(a(&mut expect).len() as i64 + 1)])
    );
    a(&mut expect).insert(0, "head".into());
    check_big(&mut c, "ba", &expect);
    // Appends, including a container too big for a chunk.
    let big_obj = serde_json::json!({"n": 1, "s": "y".repeat(5000)});
    for v in ["1", "\"s\"", &big_obj.to_string(), "[1,[2]]"] {
        a(&mut expect).push(serde_json::from_str(v).unwrap());
        assert_eq!(c.cmd(&["JSON.ARRAPPEND", "ba", "$.a", v]), arr(vec![int(a(&mut expect).len() as i64)]));
    }
    assert_eq!(c.cmd(&["JSON.NUMINCRBY", "ba", "$.a[-2].n", "4"]), bulk("[5]"));
    a(&mut expect).iter_mut().rev().nth(1).unwrap()["n"] = 5.into();
    assert_eq!(c.cmd(&["JSON.GET", "ba", "$.a[?(@.n>3)].n"]), bulk("[5]"));
    check_big(&mut c, "ba", &expect);
    // Pops at the ends, at borders and past the end (clamped).
    for i in [-1i64, -2, 0, 340, 341, 342, 683, 99_999, -99_999] {
        let len = a(&mut expect).len() as i64;
        let at = if i < 0 { (len + i).max(0) } else { i.min(len - 1) } as usize;
        let v = a(&mut expect).remove(at);
        assert_eq!(c.cmd(&["JSON.ARRPOP", "ba", "$.a", &i.to_string()]), arr(vec![bulk(&v.to_string())]), "pop {i}");
    }
    check_big(&mut c, "ba", &expect);
    // Filters run over every chunk (and a filtered write rewrites whole).
    let over: Vec<String> = expect["a"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.as_i64().is_some_and(|n| n > 29_990))
        .map(|v| v.to_string())
        .collect();
    assert_eq!(c.cmd(&["JSON.GET", "ba", "$.a[?(@>29990)]"]), bulk(&format!("[{}]", over.join(","))));
    assert_eq!(c.cmd(&["JSON.ARRINDEX", "ba", "$.a", "29999"]).items().len(), 1);
    let mut doubled = Vec::new();
    for v in a(&mut expect).iter_mut() {
        if let Some(n) = v.as_i64().filter(|n| (29_995..40_000).contains(n)) {
            *v = (n * 2).into();
            doubled.push(v.to_string());
        }
    }
    let want = bulk(&format!("[{}]", doubled.join(",")));
    assert_eq!(c.cmd(&["JSON.NUMMULTBY", "ba", "$.a[?(@>=29995 && @<40000)]", "2"]), want);
    check_big(&mut c, "ba", &expect);
    // Trims cutting chunks at both ends, then to nothing.
    for (from, to) in [(3i64, -4i64), (338, 10_000), (1, -2)] {
        let len = a(&mut expect).len() as i64;
        let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i };
        let (f, t) = (norm(from) as usize, (norm(to).min(len - 1)) as usize);
        let kept: Vec<_> = a(&mut expect)[f..=t].to_vec();
        *a(&mut expect) = kept;
        let want = arr(vec![int(a(&mut expect).len() as i64)]);
        assert_eq!(c.cmd(&["JSON.ARRTRIM", "ba", "$.a", &from.to_string(), &to.to_string()]), want);
    }
    check_big(&mut c, "ba", &expect);
    s.restart();
    let mut c: RawClient = s.raw();
    check_big(&mut c, "ba", &expect);
    assert_eq!(c.cmd(&["JSON.ARRTRIM", "ba", "$.a", "5", "1"]), arr(vec![int(0)]));
    assert_eq!(c.cmd(&["JSON.ARRPOP", "ba", "$.a"]), arr(vec![nil()]));
    assert_eq!(c.cmd(&["JSON.ARRAPPEND", "ba", "$.a", "1", "2"]), arr(vec![int(2)]));
    assert_eq!(c.cmd(&["JSON.GET", "ba", "$.a"]), bulk("[[1,2]]"));
    // A document that is itself a big array; replacing a chunked array.
    let root: Vec<i64> = (0..50_000).collect();
    assert_eq!(c.cmd(&["JSON.SET", "root", "$", &serde_json::json!(root).to_string()]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.NUMINCRBY", "root", "$[40000]", "1"]), bulk("[40001]"));
    assert_eq!(c.cmd(&["JSON.ARRAPPEND", "root", "$", "7"]), arr(vec![int(50_001)]));
    assert_eq!(c.cmd(&["JSON.ARRPOP", "root", ".", "0"]), bulk("0"));
    assert_eq!(c.cmd(&["JSON.GET", "root", "$[-1]", "$[39999]"]), bulk(r#"{"$[-1]":[7],"$[39999]":[40001]}"#));
    assert_eq!(c.cmd(&["JSON.SET", "ba", "$.a", "[\"fresh\"]"]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.GET", "ba", "$.a"]), bulk("[[\"fresh\"]]"));
}

fn a(e: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    e["a"].as_array_mut().unwrap()
}
