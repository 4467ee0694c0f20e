//! Generic key commands against the real binary: DEL/UNLINK/EXISTS/TOUCH/TYPE,
//! KEYS and SCAN (completeness, MATCH, TYPE, COUNT), RANDOMKEY,
//! RENAME/RENAMENX/COPY/MOVE (with SELECT isolation), the EXPIRE/TTL family
//! and OBJECT.

mod common;

use common::{RawClient, Reply, TestServer};
use std::collections::BTreeSet;

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn nil() -> Reply {
    Reply::Bulk(None)
}

fn err(c: &mut RawClient, args: &[&str]) -> String {
    match c.cmd(args) {
        Reply::Error(e) => e,
        other => panic!("{args:?}: expected an error, got {other:?}"),
    }
}

fn set(c: &mut RawClient, k: &str, v: &str) {
    assert_eq!(c.cmd(&["SET", k, v]), Reply::ok());
}

/// TTL of `key` is `secs`, or one less if the machine is slow.
fn assert_ttl_near(c: &mut RawClient, key: &str, secs: i64) {
    let ttl = c.cmd(&["TTL", key]);
    assert!(matches!(ttl, Reply::Int(t) if t == secs || t == secs - 1), "TTL {key}: {ttl:?}, want ~{secs}");
}

/// The keys of an array reply, sorted.
fn sorted(r: Reply) -> Vec<String> {
    let mut v: Vec<String> = r.items().iter().map(Reply::str).collect();
    v.sort();
    v
}

/// Runs SCAN to completion with `extra` options; every key returned (with
/// duplicates, to check there are none) and the number of calls.
fn scan_all(c: &mut RawClient, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let r = c.cmd(&args).items();
        calls += 1;
        assert_eq!(r.len(), 2);
        let next = r[0].str();
        assert!(next.parse::<u64>().is_ok(), "cursor {next:?} must be a number");
        seen.extend(r[1].items().iter().map(Reply::str));
        if next == "0" {
            return (seen, calls);
        }
        assert!(calls < 100_000, "SCAN does not terminate");
        cursor = next;
    }
}

#[test]
fn del_unlink_exists_touch_type() {
    let s = TestServer::new();
    let mut c = s.raw();
    set(&mut c, "a", "1");
    set(&mut c, "b", "2");
    set(&mut c, "c", "3");
    assert_eq!(c.cmd(&["EXISTS", "a", "a", "nokey", "b"]), int(3));
    assert_eq!(c.cmd(&["TOUCH", "a", "a", "nokey"]), int(2));
    assert_eq!(c.cmd(&["TYPE", "a"]), Reply::Simple("string".into()));
    assert_eq!(c.cmd(&["TYPE", "nokey"]), Reply::Simple("none".into()));
    assert_eq!(c.cmd(&["DEL", "a", "a", "nokey"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "a"]), int(0));
    assert_eq!(c.cmd(&["UNLINK", "b", "c", "b"]), int(2));
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    assert!(err(&mut c, &["DEL"]).contains("wrong number of arguments for 'del'"));
    assert!(err(&mut c, &["EXISTS"]).contains("wrong number of arguments for 'exists'"));
    assert!(err(&mut c, &["TYPE", "a", "b"]).contains("wrong number of arguments for 'type'"));
}

#[test]
fn keys_patterns() {
    let s = TestServer::new();
    let mut c = s.raw();
    for k in ["user:1", "user:2", "user:10", "usex", "hello", "hallo", "hxllo", "heeeello", "a*b", "[x]", "Hello"] {
        set(&mut c, k, "v");
    }
    assert_eq!(sorted(c.cmd(&["KEYS", "*"])).len(), 11);
    assert_eq!(sorted(c.cmd(&["KEYS", "user:*"])), ["user:1", "user:10", "user:2"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "user:?"])), ["user:1", "user:2"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "h?llo"])), ["hallo", "hello", "hxllo"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "h*llo"])), ["hallo", "heeeello", "hello", "hxllo"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "h[ae]llo"])), ["hallo", "hello"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "h[^e]llo"])), ["hallo", "hxllo"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "h[a-b]llo"])), ["hallo"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "hello"])), ["hello"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "a\\*b"])), ["a*b"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "\\[x\\]"])), ["[x]"]);
    assert_eq!(sorted(c.cmd(&["KEYS", "nomatch*"])), Vec::<String>::new());
    assert_eq!(sorted(c.cmd(&["KEYS", "user"])), Vec::<String>::new());
    assert_eq!(sorted(c.cmd(&["KEYS", "user:1"])), ["user:1"]);
    // Expired keys are not listed even before they are reclaimed.
    assert_eq!(c.cmd(&["PEXPIREAT", "hello", "1"]), int(1));
    assert_eq!(sorted(c.cmd(&["KEYS", "h*llo"])), ["hallo", "heeeello", "hxllo"]);
}

#[test]
fn scan_sees_every_key_once() {
    let s = TestServer::new();
    let mut c = s.raw();
    let mut all = BTreeSet::new();
    for i in 0..1000 {
        let k = format!("key:{i}");
        set(&mut c, &k, "v");
        all.insert(k);
    }
    let (seen, calls) = scan_all(&mut c, &["COUNT", "10"]);
    assert_eq!(seen.len(), 1000, "no duplicates");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), all);
    assert!(calls >= 100, "COUNT 10 over 1000 keys takes many calls ({calls})");
    // Default COUNT.
    let (seen, _) = scan_all(&mut c, &[]);
    assert_eq!(seen.len(), 1000);
    // A big COUNT returns everything in one call with cursor 0.
    let (seen, calls) = scan_all(&mut c, &["COUNT", "5000"]);
    assert_eq!((seen.len(), calls), (1000, 1));
}

#[test]
fn scan_match_type_and_errors() {
    let s = TestServer::new();
    let mut c = s.raw();
    for i in 0..200 {
        set(&mut c, &format!("a:{i}"), "v");
        set(&mut c, &format!("b:{i}"), "v");
    }
    let (seen, _) = scan_all(&mut c, &["MATCH", "a:1*", "COUNT", "7"]);
    let want: BTreeSet<String> = (0..200).map(|i| format!("a:{i}")).filter(|k| k.starts_with("a:1")).collect();
    assert_eq!(seen.len(), want.len());
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), want);
    let (seen, _) = scan_all(&mut c, &["MATCH", "*:19?", "COUNT", "13"]);
    assert_eq!(seen.len(), 20);
    let (seen, _) = scan_all(&mut c, &["TYPE", "string", "COUNT", "50"]);
    assert_eq!(seen.len(), 400);
    let (seen, _) = scan_all(&mut c, &["TYPE", "STRING", "MATCH", "b:*"]);
    assert_eq!(seen.len(), 200);
    let (seen, _) = scan_all(&mut c, &["TYPE", "list"]);
    assert!(seen.is_empty());
    let (seen, _) = scan_all(&mut c, &["TYPE", "nosuchtype"]);
    assert!(seen.is_empty());
    // Expired keys are skipped.
    assert_eq!(c.cmd(&["PEXPIREAT", "a:5", "1"]), int(1));
    let (seen, _) = scan_all(&mut c, &["MATCH", "a:5*"]);
    assert_eq!(sorted(Reply::Array(Some(seen.iter().map(|k| bulk(k)).collect()))).len(), 10);
    assert_eq!(err(&mut c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(err(&mut c, &["SCAN", " 1"]), "ERR invalid cursor");
    assert_eq!(err(&mut c, &["SCAN", "18446744073709551616"]), "ERR invalid cursor");
    assert_eq!(err(&mut c, &["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["SCAN", "0", "COUNT", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["SCAN", "0", "FOO", "bar"]), "ERR syntax error");
    // SCAN of an empty db: cursor 0 at once.
    assert_eq!(c.cmd(&["SELECT", "3"]), Reply::ok());
    assert_eq!(c.cmd(&["SCAN", "0"]), Reply::Array(Some(vec![bulk("0"), Reply::Array(Some(vec![]))])));
}

#[test]
fn randomkey_returns_live_keys() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["RANDOMKEY"]), nil());
    set(&mut c, "only", "v");
    assert_eq!(c.cmd(&["RANDOMKEY"]), bulk("only"));
    for i in 0..300 {
        set(&mut c, &format!("user:{i}"), "v");
    }
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        let k = c.cmd(&["RANDOMKEY"]).str();
        assert!(k == "only" || k.starts_with("user:"), "{k}");
        seen.insert(k);
    }
    assert!(seen.len() > 60, "RANDOMKEY should spread over the keys, saw {}", seen.len());
    // Keys that expired but are not reclaimed yet are never returned.
    assert_eq!(c.cmd(&["SELECT", "2"]), Reply::ok());
    for i in 0..50 {
        set(&mut c, &format!("dead:{i}"), "v");
        assert_eq!(c.cmd(&["PEXPIREAT", &format!("dead:{i}"), "1"]), int(1));
    }
    assert_eq!(c.cmd(&["RANDOMKEY"]), nil());
    set(&mut c, "dead:25x", "alive");
    for _ in 0..20 {
        assert_eq!(c.cmd(&["RANDOMKEY"]), bulk("dead:25x"));
    }
}

#[test]
fn rename_and_renamenx() {
    let s = TestServer::new();
    let mut c = s.raw();
    set(&mut c, "a", "1");
    assert_eq!(c.cmd(&["PEXPIRE", "a", "100000"]), int(1));
    assert_eq!(c.cmd(&["RENAME", "a", "b"]), Reply::ok());
    assert_eq!(c.cmd(&["EXISTS", "a"]), int(0));
    assert_eq!(c.cmd(&["GET", "b"]), bulk("1"));
    let Reply::Int(ttl) = c.cmd(&["PTTL", "b"]) else { panic!("PTTL") };
    assert!(ttl > 90_000 && ttl <= 100_000, "TTL moves with the key: {ttl}");
    set(&mut c, "c", "3");
    assert_eq!(c.cmd(&["RENAME", "b", "c"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "c"]), bulk("1"));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    // Same key: no-op, but the key must exist.
    assert_eq!(c.cmd(&["RENAME", "c", "c"]), Reply::ok());
    assert_eq!(c.cmd(&["RENAMENX", "c", "c"]), int(0));
    assert_eq!(c.cmd(&["GET", "c"]), bulk("1"));
    assert_eq!(err(&mut c, &["RENAME", "nokey", "x"]), "ERR no such key");
    assert_eq!(err(&mut c, &["RENAME", "nokey", "nokey"]), "ERR no such key");
    assert_eq!(err(&mut c, &["RENAMENX", "nokey", "x"]), "ERR no such key");
    set(&mut c, "d", "4");
    assert_eq!(c.cmd(&["RENAMENX", "c", "d"]), int(0));
    assert_eq!(c.cmd(&["GET", "d"]), bulk("4"));
    assert_eq!(c.cmd(&["RENAMENX", "c", "e"]), int(1));
    assert_eq!(c.cmd(&["GET", "e"]), bulk("1"));
    assert_eq!(c.cmd(&["EXISTS", "c"]), int(0));
    // A persistent key renamed over a volatile one stays persistent.
    assert_eq!(c.cmd(&["EXPIRE", "e", "100"]), int(1));
    assert_eq!(c.cmd(&["RENAME", "d", "e"]), Reply::ok());
    assert_eq!(c.cmd(&["TTL", "e"]), int(-1));
}

#[test]
fn copy_within_and_across_dbs() {
    let s = TestServer::new();
    let mut c = s.raw();
    set(&mut c, "src", "v");
    assert_eq!(c.cmd(&["EXPIRE", "src", "1000"]), int(1));
    assert_eq!(c.cmd(&["COPY", "src", "dst"]), int(1));
    assert_eq!(c.cmd(&["GET", "dst"]), bulk("v"));
    assert!(matches!(c.cmd(&["TTL", "dst"]), Reply::Int(t) if t > 990 && t <= 1000));
    set(&mut c, "other", "o");
    assert_eq!(c.cmd(&["COPY", "src", "other"]), int(0));
    assert_eq!(c.cmd(&["GET", "other"]), bulk("o"));
    assert_eq!(c.cmd(&["COPY", "src", "other", "REPLACE"]), int(1));
    assert_eq!(c.cmd(&["GET", "other"]), bulk("v"));
    assert_eq!(c.cmd(&["COPY", "nokey", "x"]), int(0));
    // Another database, same name: allowed; the copy lives only there.
    assert_eq!(c.cmd(&["COPY", "src", "src", "DB", "1"]), int(1));
    assert_eq!(c.cmd(&["COPY", "src", "src", "DB", "1"]), int(0));
    assert_eq!(c.cmd(&["COPY", "src", "src", "db", "1", "replace"]), int(1));
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    assert_eq!(c.cmd(&["GET", "src"]), bulk("v"));
    assert!(matches!(c.cmd(&["TTL", "src"]), Reply::Int(t) if t > 990 && t <= 1000));
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), int(3));
    assert_eq!(err(&mut c, &["COPY", "src", "src"]), "ERR source and destination objects are the same");
    assert_eq!(err(&mut c, &["COPY", "src", "src", "DB", "0"]), "ERR source and destination objects are the same");
    assert_eq!(err(&mut c, &["COPY", "src", "x", "DB", "16"]), "ERR DB index is out of range");
    assert_eq!(err(&mut c, &["COPY", "src", "x", "DB", "-1"]), "ERR DB index is out of range");
    assert_eq!(err(&mut c, &["COPY", "src", "x", "DB", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["COPY", "src", "x", "DB"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["COPY", "src", "x", "FOO"]), "ERR syntax error");
}

#[test]
fn move_between_dbs() {
    let s = TestServer::new();
    let mut c = s.raw();
    set(&mut c, "k", "v");
    assert_eq!(c.cmd(&["PEXPIRE", "k", "500000"]), int(1));
    assert_eq!(c.cmd(&["MOVE", "k", "1"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));
    assert_eq!(c.cmd(&["MOVE", "k", "1"]), int(0));
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v"));
    assert!(matches!(c.cmd(&["PTTL", "k"]), Reply::Int(t) if t > 490_000));
    // The destination already has the key: nothing moves.
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    set(&mut c, "k", "other");
    assert_eq!(c.cmd(&["MOVE", "k", "1"]), int(0));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("other"));
    assert_eq!(err(&mut c, &["MOVE", "k", "0"]), "ERR source and destination objects are the same");
    assert_eq!(err(&mut c, &["MOVE", "k", "16"]), "ERR DB index is out of range");
    assert_eq!(err(&mut c, &["MOVE", "k", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(
        err(&mut c, &["MOVE", "k", "99999999999"]),
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    // Another client on db 1 sees the moved key, db 0 keeps its own.
    let mut d = s.raw();
    assert_eq!(d.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(d.cmd(&["GET", "k"]), bulk("v"));
    assert_eq!(d.cmd(&["DBSIZE"]), int(1));
}

#[test]
fn expire_family_and_options() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["EXPIRE", "nokey", "10"]), int(0));
    assert_eq!(c.cmd(&["TTL", "nokey"]), int(-2));
    assert_eq!(c.cmd(&["PTTL", "nokey"]), int(-2));
    assert_eq!(c.cmd(&["EXPIRETIME", "nokey"]), int(-2));
    assert_eq!(c.cmd(&["PEXPIRETIME", "nokey"]), int(-2));
    set(&mut c, "k", "v");
    assert_eq!(c.cmd(&["TTL", "k"]), int(-1));
    assert_eq!(c.cmd(&["PTTL", "k"]), int(-1));
    assert_eq!(c.cmd(&["EXPIRETIME", "k"]), int(-1));
    assert_eq!(c.cmd(&["PEXPIRETIME", "k"]), int(-1));
    assert_eq!(c.cmd(&["PERSIST", "k"]), int(0));
    // NX / XX / GT / LT.
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "XX"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "GT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "XX", "LT"]), int(0));
    assert_eq!(c.cmd(&["TTL", "k"]), int(-1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "LT"]), int(1));
    assert_ttl_near(&mut c, "k", 100);
    assert_eq!(c.cmd(&["EXPIRE", "k", "200", "NX"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "50", "GT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "200", "GT"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "300", "LT"]), int(0));
    assert_eq!(c.cmd(&["EXPIRE", "k", "150", "xx", "lt"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "400", "XX", "GT"]), int(1));
    assert_ttl_near(&mut c, "k", 400);
    assert_eq!(c.cmd(&["PERSIST", "k"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "10", "NX"]), int(1));
    assert_eq!(c.cmd(&["PERSIST", "k"]), int(1));
    // Absolute times.
    assert_eq!(c.cmd(&["PEXPIREAT", "k", "33177600000000"]), int(1));
    assert_eq!(c.cmd(&["PEXPIRETIME", "k"]), int(33177600000000));
    assert_eq!(c.cmd(&["EXPIRETIME", "k"]), int(33177600000));
    assert_eq!(c.cmd(&["EXPIREAT", "k", "33177600001"]), int(1));
    assert_eq!(c.cmd(&["PEXPIRETIME", "k"]), int(33177600001000));
    let Reply::Int(pttl) = c.cmd(&["PTTL", "k"]) else { panic!("PTTL") };
    assert!(pttl > 1_000_000_000_000);
    // A time in the past deletes the key and counts as applied.
    assert_eq!(c.cmd(&["EXPIRE", "k", "-1"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));
    set(&mut c, "k", "v");
    assert_eq!(c.cmd(&["PEXPIREAT", "k", "0"]), int(1));
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    set(&mut c, "k", "v");
    assert_eq!(c.cmd(&["EXPIRE", "k", "0"]), int(1));
    assert_eq!(c.cmd(&["GET", "k"]), nil());
    // Extremes that do not overflow.
    set(&mut c, "k", "v");
    assert_eq!(c.cmd(&["PEXPIREAT", "k", "9223372036854775807"]), int(1));
    assert_eq!(c.cmd(&["PEXPIRETIME", "k"]), int(i64::MAX));
    assert_eq!(c.cmd(&["EXPIREAT", "k", "9223372036854775"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "k", "-9223372036854775"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "k"]), int(0));
    // Errors, in Redis's order: options first, then the number, then overflow.
    set(&mut c, "k", "v");
    let both = "ERR NX and XX, GT or LT options at the same time are not compatible";
    assert_eq!(err(&mut c, &["EXPIRE", "k", "10", "NX", "XX"]), both);
    assert_eq!(err(&mut c, &["EXPIRE", "k", "10", "NX", "GT"]), both);
    assert_eq!(err(&mut c, &["PEXPIRE", "k", "x", "LT", "NX"]), both);
    assert_eq!(
        err(&mut c, &["EXPIRE", "k", "10", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(err(&mut c, &["EXPIRE", "k", "10", "FOO"]), "ERR Unsupported option FOO");
    assert_eq!(err(&mut c, &["EXPIRE", "k", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["EXPIRE", "k", "9223372036854776"]), "ERR invalid expire time in 'expire' command");
    assert_eq!(err(&mut c, &["EXPIRE", "k", "-9223372036854776"]), "ERR invalid expire time in 'expire' command");
    assert_eq!(err(&mut c, &["PEXPIRE", "k", "9223372036854775807"]), "ERR invalid expire time in 'pexpire' command");
    assert_eq!(err(&mut c, &["EXPIREAT", "k", "9223372036854775808"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["EXPIREAT", "k", "9223372036854776"]), "ERR invalid expire time in 'expireat' command");
    assert_eq!(c.cmd(&["TTL", "k"]), int(-1));
    assert!(err(&mut c, &["EXPIRE", "k"]).contains("wrong number of arguments for 'expire'"));
}

#[test]
fn object_subcommands() {
    let s = TestServer::new();
    let mut c = s.raw();
    for (k, v, enc) in [
        ("i", "12345", "int"),
        ("neg", "-5", "int"),
        ("big", "12345678901234567890", "embstr"),
        ("lead0", "01", "embstr"),
        ("e", "", "embstr"),
        ("s44", &"x".repeat(44), "embstr"),
        ("s45", &"x".repeat(45), "raw"),
    ] {
        set(&mut c, k, v);
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", k]), bulk(enc), "{k}");
    }
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "nokey"]), nil());
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "s45"]), int(1));
    set(&mut c, "shared", "100");
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "shared"]), int(2147483647));
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "nokey"]), nil());
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "i"]), int(0));
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "nokey"]), nil());
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "nokey"]), nil());
    assert!(err(&mut c, &["OBJECT", "FREQ", "i"]).starts_with("ERR An LFU maxmemory policy is not selected"));
    let help = c.cmd(&["OBJECT", "HELP"]).items();
    assert_eq!(help.len(), 15);
    assert_eq!(help[0], Reply::Simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into()));
    assert_eq!(err(&mut c, &["OBJECT", "foo"]), "ERR unknown subcommand 'foo'. Try OBJECT HELP.");
    assert_eq!(err(&mut c, &["OBJECT"]), "ERR wrong number of arguments for 'object' command");
    assert_eq!(err(&mut c, &["OBJECT", "ENCODING"]), "ERR wrong number of arguments for 'object|encoding' command");
}

#[test]
fn generic_commands_through_redis_crate() {
    let s = TestServer::new();
    let mut con = s.client();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).expect("SET");
    let n: i64 = redis::cmd("EXPIRE").arg("k").arg(100).query(&mut con).expect("EXPIRE");
    assert_eq!(n, 1);
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut con).expect("TTL");
    assert_eq!(ttl, 100);
    let (cursor, keys): (u64, Vec<String>) = redis::cmd("SCAN").arg(0).query(&mut con).expect("SCAN");
    assert_eq!((cursor, keys), (0, vec!["k".to_string()]));
    let all: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).expect("KEYS");
    assert_eq!(all, ["k"]);
    let n: i64 = redis::cmd("DEL").arg("k").query(&mut con).expect("DEL");
    assert_eq!(n, 1);
}
