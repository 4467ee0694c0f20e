//! Hash commands through the real binary: the `redis` crate for typed
//! results, raw RESP for exact bytes, error texts and RESP3 shapes. Covers
//! WRONGTYPE both ways, emptied hashes disappearing, big hashes (random
//! picks and HSCAN without reading everything), and persistence across a
//! crash-restart. tests/diff/scripts/hashes.txt compares the replies with a
//! real redis-server.

mod common;

use common::{assert_uniform, bulk, err, int, RawClient, Reply, TestServer, WRONGTYPE};
use redis::Commands;
use std::collections::{HashMap, HashSet};

#[test]
fn field_commands_exact_replies() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.send_cmd(&["HSET", "h", "f1", "v1", "f2", "v2"]);
    assert_eq!(c.read_raw(), b":2\r\n");
    c.send_cmd(&["HSET", "h", "f1", "new", "f3", "v3", "f3", "v3b"]);
    assert_eq!(c.read_raw(), b":1\r\n", "one new field; a field named twice counts once");
    c.send_cmd(&["HGET", "h", "f1"]);
    assert_eq!(c.read_raw(), b"$3\r\nnew\r\n");
    c.send_cmd(&["HGET", "h", "f3"]);
    assert_eq!(c.read_raw(), b"$3\r\nv3b\r\n", "the last value of a repeated field wins");
    c.send_cmd(&["HGET", "h", "nofield"]);
    assert_eq!(c.read_raw(), b"$-1\r\n");
    c.send_cmd(&["HMGET", "h", "f1", "nofield", "f2"]);
    assert_eq!(c.read_raw(), b"*3\r\n$3\r\nnew\r\n$-1\r\n$2\r\nv2\r\n");
    assert_eq!(c.cmd(&["HLEN", "h"]), int(3));
    assert_eq!(c.cmd(&["HEXISTS", "h", "f2"]), int(1));
    assert_eq!(c.cmd(&["HEXISTS", "h", "f9"]), int(0));
    assert_eq!(c.cmd(&["HSTRLEN", "h", "f1"]), int(3));
    assert_eq!(c.cmd(&["HSTRLEN", "h", "f9"]), int(0));
    assert_eq!(c.cmd(&["HSETNX", "h", "f1", "x"]), int(0));
    assert_eq!(c.cmd(&["HSETNX", "h", "f4", "x"]), int(1));
    assert_eq!(c.cmd(&["HMSET", "h", "f5", "v5"]), Reply::ok());
    assert_eq!(c.cmd(&["HSET", "h", "f1"]), err("ERR wrong number of arguments for 'hset' command"));
    assert_eq!(c.cmd(&["HMSET", "h", "a", "1", "b"]), err("ERR wrong number of arguments for 'hmset' command"));
    // Binary-safe fields and values.
    let f: &[u8] = b"f\0\r\n\xff";
    let v: &[u8] = b"\0v\r\n";
    assert_eq!(c.cmd_bytes(&[b"HSET", b"bin", f, v]), int(1));
    assert_eq!(c.cmd_bytes(&[b"HGET", b"bin", f]), Reply::Bulk(Some(v.to_vec())));
    assert_eq!(c.cmd_bytes(&[b"HGET", b"bin", b"f"]), Reply::Bulk(None));
    // HKEYS / HVALS / HGETALL come in field order here; Redis leaves it unspecified.
    c.send_cmd(&["HKEYS", "h"]);
    assert_eq!(c.read_raw(), b"*5\r\n$2\r\nf1\r\n$2\r\nf2\r\n$2\r\nf3\r\n$2\r\nf4\r\n$2\r\nf5\r\n");
    c.send_cmd(&["HGETALL", "nokey"]);
    assert_eq!(c.read_raw(), b"*0\r\n");
}

#[test]
fn resp3_shapes() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["HSET", "h", "a", "1"]);
    c.send_cmd(&["HGETALL", "h"]);
    assert_eq!(c.read_raw(), b"%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    c.send_cmd(&["HGETALL", "nokey"]);
    assert_eq!(c.read_raw(), b"%0\r\n");
    c.send_cmd(&["HRANDFIELD", "h", "2", "WITHVALUES"]);
    assert_eq!(c.read_raw(), b"*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n", "RESP3: an array of pairs");
    c.send_cmd(&["HRANDFIELD", "h", "-2", "WITHVALUES"]);
    assert_eq!(c.read_raw(), b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    c.send_cmd(&["HRANDFIELD", "nokey"]);
    assert_eq!(c.read_raw(), b"_\r\n");
    c.send_cmd(&["HGET", "h", "zz"]);
    assert_eq!(c.read_raw(), b"_\r\n");
    c.send_cmd(&["HINCRBYFLOAT", "h", "a", "0.5"]);
    assert_eq!(c.read_raw(), b"$3\r\n1.5\r\n", "a bulk string, not a RESP3 double");
    c.send_cmd(&["HSCAN", "h", "0"]);
    assert_eq!(c.read_raw(), b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$3\r\n1.5\r\n");
    // RESP2: WITHVALUES is flat.
    c.cmd(&["HELLO", "2"]);
    c.send_cmd(&["HRANDFIELD", "h", "1", "WITHVALUES"]);
    assert_eq!(c.read_raw(), b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n");
}

#[test]
fn counters() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["HINCRBY", "h", "n", "5"]), int(5));
    assert_eq!(c.cmd(&["HINCRBY", "h", "n", "-8"]), int(-3));
    assert_eq!(c.cmd(&["HINCRBY", "h", "n", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(c.cmd(&["HSET", "h", "max", "9223372036854775807", "s", "abc"]), int(2));
    assert_eq!(c.cmd(&["HINCRBY", "h", "max", "1"]), err("ERR increment or decrement would overflow"));
    assert_eq!(c.cmd(&["HINCRBY", "h", "s", "1"]), err("ERR hash value is not an integer"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "f", "10.5"]), bulk("10.5"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "f", "0.1"]), bulk("10.6"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "n", "1e2"]), bulk("97"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "f", "x"]), err("ERR value is not a valid float"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "f", "inf"]), err("ERR value is NaN or Infinity"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "s", "1"]), err("ERR hash value is not a float"));
    assert_eq!(c.cmd(&["HSET", "h", "big", "1e4932"]), int(1));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "big", "1e4932"]), err("ERR increment would produce NaN or Infinity"));
    assert_eq!(c.cmd(&["HGET", "h", "f"]), bulk("10.6"));
    assert_eq!(c.cmd(&["HGET", "h", "n"]), bulk("97"));
    // The failed commands wrote nothing.
    assert_eq!(c.cmd(&["HLEN", "h"]), int(5));
}

#[test]
fn wrongtype_both_ways() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["SET", "str", "v"]);
    for cmd in [
        &["HSET", "str", "f", "v"][..],
        &["HSETNX", "str", "f", "v"],
        &["HMSET", "str", "f", "v"],
        &["HGET", "str", "f"],
        &["HMGET", "str", "f"],
        &["HDEL", "str", "f"],
        &["HLEN", "str"],
        &["HEXISTS", "str", "f"],
        &["HSTRLEN", "str", "f"],
        &["HGETALL", "str"],
        &["HKEYS", "str"],
        &["HVALS", "str"],
        &["HINCRBY", "str", "f", "1"],
        &["HINCRBYFLOAT", "str", "f", "1"],
        &["HRANDFIELD", "str"],
        &["HRANDFIELD", "str", "2", "WITHVALUES"],
        &["HSCAN", "str", "0"],
    ] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(c.cmd(&["GET", "str"]), bulk("v"), "the string is untouched");
    c.cmd(&["HSET", "h", "f", "v"]);
    for cmd in [&["GET", "h"][..], &["APPEND", "h", "x"], &["INCR", "h"], &["STRLEN", "h"], &["SADD", "h", "m"]] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(c.cmd(&["TYPE", "h"]), Reply::Simple("hash".into()));
    // SET overwrites a hash; the old fields do not come back with a new hash.
    assert_eq!(c.cmd(&["SET", "h", "plain"]), Reply::ok());
    assert_eq!(c.cmd(&["HSET", "h", "g", "1"]), err(WRONGTYPE));
    c.cmd(&["DEL", "h"]);
    assert_eq!(c.cmd(&["HSET", "h", "g", "1"]), int(1));
    assert_eq!(c.cmd(&["HGET", "h", "f"]), Reply::Bulk(None));
    assert_eq!(c.cmd(&["HLEN", "h"]), int(1));
}

#[test]
fn emptied_hash_disappears_and_writes_keep_ttl() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(c.cmd(&["HDEL", "h", "a", "a", "zz"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "h"]), int(1));
    assert_eq!(c.cmd(&["HDEL", "h", "b"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "h"]), int(0));
    assert_eq!(c.cmd(&["TYPE", "h"]), Reply::Simple("none".into()));
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    // Writes keep the TTL.
    c.cmd(&["HSET", "t", "a", "1"]);
    c.cmd(&["EXPIRE", "t", "1000"]);
    c.cmd(&["HSET", "t", "b", "2"]);
    c.cmd(&["HINCRBY", "t", "n", "1"]);
    c.cmd(&["HDEL", "t", "b"]);
    assert!(matches!(c.cmd(&["TTL", "t"]), Reply::Int(n) if n > 990));
    // An expired hash is gone, and a new one starts empty.
    c.cmd(&["PEXPIRE", "t", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(c.cmd(&["HLEN", "t"]), int(0));
    assert_eq!(c.cmd(&["HSET", "t", "z", "1"]), int(1));
    assert_eq!(c.cmd(&["HGETALL", "t"]), Reply::Array(Some(vec![bulk("z"), bulk("1")])));
    assert_eq!(c.cmd(&["TTL", "t"]), int(-1));
}

/// The fields of a HRANDFIELD reply (RESP2), checked to be real fields.
fn fields_of(reply: Reply, all: &HashMap<String, String>, with_values: bool) -> Vec<String> {
    let items = reply.items();
    let step = if with_values { 2 } else { 1 };
    items
        .chunks(step)
        .map(|ch| {
            let f = ch[0].str();
            let v = all.get(&f).unwrap_or_else(|| panic!("{f} is not a field"));
            if with_values {
                assert_eq!(&ch[1].str(), v, "value of {f}");
            }
            f
        })
        .collect()
}

#[test]
fn big_hash_random_picks_and_scan() {
    let s = TestServer::new();
    let mut r = s.client();
    let all: HashMap<String, String> = (0..10_000).map(|i| (format!("field:{i}"), format!("value:{i}"))).collect();
    let pairs: Vec<(&String, &String)> = all.iter().collect();
    let _: () = r.hset_multiple("big", &pairs).expect("HSET 10,000 fields");
    assert_eq!(r.hlen::<_, i64>("big").expect("HLEN"), 10_000);
    assert_eq!(r.hget::<_, _, String>("big", "field:1234").expect("HGET"), "value:1234");

    let mut c = s.raw();
    // Distinct picks, at counts taking the sampling path and the read-all path.
    for (count, with_values) in [(1, false), (100, true), (3000, false), (6000, true), (10_000, false), (20_000, true)]
    {
        let mut cmd = vec!["HRANDFIELD".to_string(), "big".into(), count.to_string()];
        if with_values {
            cmd.push("WITHVALUES".into());
        }
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let got = fields_of(c.cmd(&args), &all, with_values);
        assert_eq!(got.len(), count.min(10_000), "count {count}");
        let unique: HashSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "count {count}: distinct");
    }
    // Repeats allowed: exactly |count| answers.
    let got = fields_of(c.cmd(&["HRANDFIELD", "big", "-500", "WITHVALUES"]), &all, true);
    assert_eq!(got.len(), 500);
    // Single picks reach many different fields.
    let singles: HashSet<String> = (0..300).map(|_| c.cmd(&["HRANDFIELD", "big"]).str()).collect();
    assert!(singles.len() > 200, "300 draws gave only {} fields", singles.len());

    // HSCAN walks everything once, COUNT at a time.
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let reply = c.cmd(&["HSCAN", "big", &cursor, "COUNT", "500"]).items();
        cursor = reply[0].str();
        let items = reply[1].items();
        assert!(items.len() <= 1000, "at most COUNT pairs per call");
        for ch in items.chunks(2) {
            assert!(seen.insert(ch[0].str(), ch[1].str()).is_none(), "field returned twice");
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, all);
    assert_eq!(calls, 20);
    // MATCH filters within a step.
    let reply = c.cmd(&["HSCAN", "big", "0", "MATCH", "field:1?", "COUNT", "100000"]).items();
    assert_eq!(reply[0].str(), "0");
    assert_eq!(reply[1].items().len(), 20);

    // Deleting half, then everything.
    let half: Vec<String> = (0..5000).map(|i| format!("field:{i}")).collect();
    assert_eq!(r.hdel::<_, _, i64>("big", &half).expect("HDEL"), 5000);
    assert_eq!(r.hlen::<_, i64>("big").expect("HLEN"), 5000);
    assert_eq!(r.hget::<_, _, Option<String>>("big", "field:10").expect("HGET"), None);
    let rest: Vec<String> = (5000..10_000).map(|i| format!("field:{i}")).collect();
    assert_eq!(r.hdel::<_, _, i64>("big", &rest).expect("HDEL"), 5000);
    assert!(!r.exists::<_, bool>("big").expect("EXISTS"));
}

#[test]
fn random_fields_are_uniform_over_unpadded_fields() {
    // Unpadded fields 1..=600 make a lopsided trie: `6`, `60`..`69` and `600`
    // are one first-byte branch of 12 fields next to `1...` (111 fields), and
    // the old trie descent drew each branch about equally often. Picks by
    // rank (storage/rank.rs) are uniform: chi-square over 60,000 draws.
    let s = TestServer::new();
    let mut c = s.raw();
    let fields: Vec<String> = (1..=600).map(|i| i.to_string()).collect();
    let mut args = vec!["HSET", "u"];
    for f in &fields {
        args.extend([f.as_str(), "v"]);
    }
    assert_eq!(c.cmd(&args), int(600));
    let draws = |c: &mut RawClient, count: &str, calls: usize| -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..calls {
            let reply = c.cmd(&["HRANDFIELD", "u", count, "WITHVALUES"]).items();
            for pair in reply.chunks(2) {
                out.push(pair[0].str());
            }
        }
        out
    };
    // Repeats allowed (fewer than the fields: the whole hash is not read).
    assert_uniform("HRANDFIELD -250", &fields, &draws(&mut c, "-250", 240));
    // Overwrites, removals and additions while the hash is indexed: the
    // index follows them (an overwrite is a delete plus a put), so the
    // picks stay uniform over the live fields and carry current values.
    let mut args = vec!["HSET", "u"];
    for f in &fields[..300] {
        args.extend([f.as_str(), "w"]);
    }
    args.extend(["new", "w"]);
    assert_eq!(c.cmd(&args), int(1));
    assert_eq!(c.cmd(&["HDEL", "u", "1", "2", "3"]), int(3));
    assert_eq!(c.cmd(&["HINCRBY", "u", "4", "1"]), err("ERR hash value is not an integer"));
    assert_eq!(c.cmd(&["HSET", "u", "4", "7"]), int(0));
    assert_eq!(c.cmd(&["HINCRBY", "u", "4", "1"]), int(8));
    let live: Vec<String> = fields[3..].iter().cloned().chain(["new".to_string()]).collect();
    // Distinct picks, a third of the hash per call.
    assert_uniform("HRANDFIELD 199", &live, &draws(&mut c, "199", 300));
    let reply = c.cmd(&["HRANDFIELD", "u", "-598", "WITHVALUES"]).items();
    for pair in reply.chunks(2) {
        let (f, v) = (pair[0].str(), pair[1].str());
        let want = match f.parse::<usize>() {
            Ok(4) => "8",
            Ok(i) if i <= 300 => "w",
            Ok(_) => "v",
            Err(_) => "w",
        };
        assert_eq!(v, want, "value of {f}");
    }
}

#[test]
fn hashes_survive_a_crash_restart() {
    let mut s = TestServer::new();
    {
        let mut c = s.raw();
        c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
        c.cmd(&["HINCRBYFLOAT", "h", "f", "1.5"]);
        c.cmd(&["HSET", "gone", "x", "1"]);
        c.cmd(&["HDEL", "gone", "x"]);
        c.cmd(&["HSET", "ttl", "x", "1"]);
        c.cmd(&["EXPIRE", "ttl", "1000"]);
    }
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["HLEN", "h"]), int(3));
    assert_eq!(c.cmd(&["HMGET", "h", "a", "b", "f"]), Reply::Array(Some(vec![bulk("1"), bulk("2"), bulk("1.5")])));
    assert_eq!(c.cmd(&["EXISTS", "gone"]), int(0));
    assert!(matches!(c.cmd(&["TTL", "ttl"]), Reply::Int(n) if n > 990));
    assert_eq!(c.cmd(&["HSET", "h", "c", "3"]), int(1));
    assert_eq!(c.cmd(&["HLEN", "h"]), int(4));
}
