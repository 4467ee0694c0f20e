//! Chunked JSON arrays over time, through the real binary: values cut out of
//! a document (ARRPOP, ARRTRIM, SET over, DEL of a path) leave no records
//! of their own sub-nodes behind, and long runs of inserts and pops keep
//! the array in few chunks. Records are counted with `DEBUG COMPACT` and
//! INFO's `rocksdb_data_estimate_num_keys` (exact once fully compacted), as
//! the GC tests do.

mod common;

use common::{encode, info_field, RawClient, Reply, Rng, TestServer};
use serde_json::{json, Value};

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn one(n: i64) -> Reply {
    Reply::Array(Some(vec![Reply::Int(n)]))
}

/// Data records in the store once compacted (dead versions dropped).
fn records(c: &mut RawClient) -> u64 {
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    info_field(c, "storage", "rocksdb_data_estimate_num_keys").parse().expect("number")
}

/// An array element big enough to be cut into nodes of its own: a split
/// object holding a chunked array of `n` numbers.
fn big_elem(tag: u64, n: usize) -> Value {
    let fields: serde_json::Map<String, Value> = (0..60).map(|i| (format!("f{i}"), json!("v".repeat(90)))).collect();
    json!({"tag": tag, "list": (0..n).collect::<Vec<_>>(), "obj": fields})
}

/// Checks the document against the model, then that its records are no
/// more than those of the same document written afresh (a few chunks of
/// slack: edits need not cut as evenly), leaving it written afresh.
fn no_garbage(c: &mut RawClient, key: &str, model: &Value, what: &str) {
    let text = model.to_string();
    assert_eq!(c.cmd(&["JSON.GET", key]), bulk(&text), "{what}");
    let edited = records(c);
    assert_eq!(c.cmd(&["JSON.SET", key, "$", &text]), Reply::ok());
    let fresh = records(c);
    assert!(edited <= fresh + 4, "{what}: {edited} records after the edits, {fresh} when written afresh");
}

/// ARRPOP, ARRTRIM, SET over and DEL of big array elements (and SET over a
/// whole chunked array holding some) delete the elements' own records in
/// the same write.
#[test]
fn cut_out_values_leave_no_records_behind() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    let mut model = json!({"a": (0..20_000).collect::<Vec<_>>(), "b": (0..6_000).collect::<Vec<_>>()});
    assert_eq!(c.cmd(&["JSON.SET", "k", "$", &model.to_string()]), Reply::ok());
    let base = records(&mut c);
    let bigs: Vec<Value> = (0..3).map(|t| big_elem(t, 8_000)).collect();
    let texts: Vec<String> = bigs.iter().map(Value::to_string).collect();
    let mut args = vec!["JSON.ARRAPPEND", "k", "$.a"];
    args.extend(texts.iter().map(String::as_str));
    assert_eq!(c.cmd(&args), one(20_003));
    // Each big element is a few dozen records of its own.
    let grown = records(&mut c);
    assert!(grown >= base + 3 * 20, "{base} -> {grown}");
    for t in texts.iter().rev() {
        assert_eq!(c.cmd(&["JSON.ARRPOP", "k", "$.a"]), Reply::Array(Some(vec![bulk(t)])));
    }
    no_garbage(&mut c, "k", &model, "ARRPOP");

    // Inserted in the middle and at the front, trimmed away (a border chunk
    // cut, whole chunks dropped).
    assert_eq!(c.cmd(&["JSON.ARRINSERT", "k", "$.a", "0", &texts[0], &texts[1]]), one(20_002));
    assert_eq!(c.cmd(&["JSON.ARRAPPEND", "k", "$.a", &texts[2]]), one(20_003));
    assert_eq!(c.cmd(&["JSON.ARRTRIM", "k", "$.a", "2", "19000"]), one(18_999));
    model["a"].as_array_mut().unwrap().truncate(18_999);
    assert_eq!(c.cmd(&["JSON.ARRTRIM", "k", "$.a", "1000", "-1"]), one(17_999));
    model["a"].as_array_mut().unwrap().drain(..1000);
    no_garbage(&mut c, "k", &model, "ARRTRIM");

    // Overwritten and deleted by path, in place.
    assert_eq!(c.cmd(&["JSON.SET", "k", "$.a[10]", &texts[0]]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.SET", "k", "$.a[10]", "\"small\""]), Reply::ok());
    model["a"][10] = json!("small");
    assert_eq!(c.cmd(&["JSON.SET", "k", "$.a[11]", &texts[1]]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.DEL", "k", "$.a[11]"]), Reply::Int(1));
    model["a"].as_array_mut().unwrap().remove(11);
    assert_eq!(c.cmd(&["JSON.SET", "k", "$.a[12]", &texts[2]]), Reply::ok());
    assert_eq!(c.cmd(&["JSON.DEL", "k", ".a[12].list"]), Reply::Int(1));
    assert_eq!(c.cmd(&["JSON.DEL", "k", "$.a[12].obj"]), Reply::Int(1));
    model["a"][12] = json!({"tag": 2});
    no_garbage(&mut c, "k", &model, "SET over / DEL");

    // A chunked array holding big elements, replaced whole.
    assert_eq!(c.cmd(&["JSON.ARRAPPEND", "k", "$.b", &texts[0], &texts[1]]), one(6_002));
    assert_eq!(c.cmd(&["JSON.SET", "k", "$.b", "[1,2]"]), Reply::ok());
    model["b"] = json!([1, 2]);
    no_garbage(&mut c, "k", &model, "SET over a chunked array");
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["JSON.GET", "k"]), bulk(&model.to_string()));
}

/// Chunks of `$.a`: the records of `{"a": [...]}` minus the root and the
/// array's index.
fn chunks(c: &mut RawClient) -> u64 {
    records(c) - 2
}

/// The chunk target size (store.rs `CHUNK_BYTES`, "about 2 KiB").
const CHUNK: u64 = 2048;

/// Cycles of growing an array to twice its size by ARRINSERT runs and
/// ARRAPPEND at random places, then shrinking it back by ARRPOP at random
/// indexes and ARRTRIM; every reply and, after every burst, the whole
/// document are compared with a model, and again after a restart. The
/// chunk count stays within twice what the array's bytes need (without
/// merging, the chunks thinned by each shrink pile up).
#[test]
fn insert_pop_cycles_keep_chunks_few() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    const LOW: usize = 6_000;
    let mut model: Vec<i64> = (0..LOW as i64).collect();
    let doc = |m: &[i64]| json!({ "a": m }).to_string();
    assert_eq!(c.cmd(&["JSON.SET", "k", "$", &doc(&model)]), Reply::ok());
    let mut next_val = 1_000_000i64;
    for cycle in 0..5 {
        while model.len() < 2 * LOW {
            let run: Vec<i64> = (0..1 + rng.below(200) as i64).map(|i| next_val + i).collect();
            next_val += run.len() as i64;
            let words: Vec<String> = run.iter().map(i64::to_string).collect();
            let at = rng.below(model.len() as u64 + 1) as usize;
            let mut args = if rng.below(4) == 0 {
                model.extend(&run);
                vec!["JSON.ARRAPPEND".to_string(), "k".into(), "$.a".into()]
            } else {
                model.splice(at..at, run.iter().copied());
                vec!["JSON.ARRINSERT".to_string(), "k".into(), "$.a".into(), at.to_string()]
            };
            args.extend(words);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(c.cmd(&refs), one(model.len() as i64), "cycle {cycle}");
            assert_eq!(c.cmd(&["JSON.GET", "k"]), bulk(&doc(&model)), "cycle {cycle} after {}", args[0]);
        }
        while model.len() > LOW {
            if rng.below(10) == 0 {
                let len = model.len() as u64;
                let (from, to) = (rng.below(40), len - 1 - rng.below(40));
                let want = one(to as i64 - from as i64 + 1);
                assert_eq!(c.cmd(&["JSON.ARRTRIM", "k", "$.a", &from.to_string(), &to.to_string()]), want);
                model.truncate(to as usize + 1);
                model.drain(..from as usize);
            } else {
                // A pipelined burst of pops, each reply checked.
                let mut buf = Vec::new();
                let mut want = Vec::new();
                for _ in 0..100 {
                    let i = rng.below(model.len() as u64) as usize;
                    buf.extend(encode(&[b"JSON.ARRPOP", b"k", b"$.a", i.to_string().as_bytes()]));
                    want.push(model.remove(i));
                }
                c.send(&buf);
                for w in want {
                    assert_eq!(c.read(), Reply::Array(Some(vec![bulk(&w.to_string())])), "cycle {cycle}");
                }
            }
            assert_eq!(c.cmd(&["JSON.GET", "k"]), bulk(&doc(&model)), "cycle {cycle} shrinking");
        }
        let bytes = json!(model).to_string().len() as u64;
        let n = chunks(&mut c);
        assert!(n <= 2 * bytes.div_ceil(CHUNK) + 1, "cycle {cycle}: {n} chunks for {bytes} bytes");
    }
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["JSON.GET", "k"]), bulk(&doc(&model)));
    assert_eq!(c.cmd(&["JSON.ARRPOP", "k", "$.a", "0"]), Reply::Array(Some(vec![bulk(&model.remove(0).to_string())])));
    assert_eq!(c.cmd(&["JSON.ARRLEN", "k", "$.a"]), one(model.len() as i64));
    let bytes = json!(model).to_string().len() as u64;
    assert!(chunks(&mut c) <= 2 * bytes.div_ceil(CHUNK) + 1);
}
