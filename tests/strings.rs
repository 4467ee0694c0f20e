//! String commands through the real binary: the `redis` crate for typed
//! results, raw RESP for exact bytes and error texts. TTL interplay is checked
//! by letting short expiries pass (one shared sleep), never by timing replies.
//! INCRBYFLOAT is also compared with a real redis-server on generated inputs.

mod common;

use common::{Reply, TestServer};
use std::time::Duration;

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn nil() -> Reply {
    Reply::Bulk(None)
}

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn ok() -> Reply {
    Reply::ok()
}

#[test]
fn get_set_exact_bytes_and_binary_values() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.send_cmd(&["GET", "nokey"]);
    assert_eq!(c.read_raw(), b"$-1\r\n");
    c.send_cmd(&["SET", "k", "hello"]);
    assert_eq!(c.read_raw(), b"+OK\r\n");
    c.send_cmd(&["GET", "k"]);
    assert_eq!(c.read_raw(), b"$5\r\nhello\r\n");
    c.send_cmd(&["SET", "k", ""]);
    assert_eq!(c.read_raw(), b"+OK\r\n");
    c.send_cmd(&["GET", "k"]);
    assert_eq!(c.read_raw(), b"$0\r\n\r\n");
    assert_eq!(c.cmd(&["STRLEN", "k"]), int(0));

    // Every byte value, CR/LF and NUL included, in value and key.
    let all: Vec<u8> = (0..=255u8).chain(b"\r\n\0\r\n".iter().copied()).collect();
    let key: &[u8] = b"bin\0\r\nkey";
    assert_eq!(c.cmd_bytes(&[b"SET", key, &all]), ok());
    assert_eq!(c.cmd_bytes(&[b"GET", key]), Reply::Bulk(Some(all.clone())));
    assert_eq!(c.cmd_bytes(&[b"STRLEN", key]), int(all.len() as i64));
    assert_eq!(c.cmd_bytes(&[b"GETRANGE", key, b"0", b"2"]), Reply::Bulk(Some(vec![0, 1, 2])));
    assert_eq!(c.cmd_bytes(&[b"APPEND", key, b"\0\xff"]), int(all.len() as i64 + 2));
    assert_eq!(c.cmd_bytes(&[b"GETRANGE", key, b"-2", b"-1"]), Reply::Bulk(Some(vec![0, 0xff])));
    // Keys differing only after a NUL are distinct.
    assert_eq!(c.cmd_bytes(&[b"GET", b"bin"]), nil());

    // Arity errors name the command as typed by Redis.
    assert_eq!(c.cmd(&["GET"]), err("ERR wrong number of arguments for 'get' command"));
    assert_eq!(c.cmd(&["SET", "k"]), err("ERR wrong number of arguments for 'set' command"));
    assert_eq!(c.cmd(&["substr", "k", "0"]), err("ERR wrong number of arguments for 'substr' command"));
}

#[test]
fn set_options_and_their_errors() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v1", "NX"]), ok());
    assert_eq!(c.cmd(&["SET", "k", "v2", "NX"]), nil());
    assert_eq!(c.cmd(&["SET", "k", "v3", "xx"]), ok());
    assert_eq!(c.cmd(&["SET", "missing", "v", "XX"]), nil());
    assert_eq!(c.cmd(&["GET", "missing"]), nil());
    assert_eq!(c.cmd(&["SET", "k", "v4", "GET"]), bulk("v3"));
    assert_eq!(c.cmd(&["SET", "new", "v", "GET"]), nil());
    assert_eq!(c.cmd(&["GET", "new"]), bulk("v"));
    // GET with NX: the old value comes back and nothing is written.
    assert_eq!(c.cmd(&["SET", "k", "v5", "NX", "GET"]), bulk("v4"));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v4"));
    assert_eq!(c.cmd(&["SET", "nope", "v", "XX", "GET"]), nil());
    assert_eq!(c.cmd(&["GET", "nope"]), nil());
    // Repeating an option is fine; the last expire wins.
    assert_eq!(c.cmd(&["SET", "k", "v", "NX", "NX", "GET", "GET"]), bulk("v4"));
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", "10", "EX", "20"]), ok());
    assert_eq!(c.cmd(&["SET", "k", "v", "KEEPTTL", "KEEPTTL"]), ok());

    let syntax = err("ERR syntax error");
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "XX", "NX"],
        &["SET", "k", "v", "EX", "10", "PX", "100"],
        &["SET", "k", "v", "PX", "10", "EXAT", "100"],
        &["SET", "k", "v", "EXAT", "10", "PXAT", "100"],
        &["SET", "k", "v", "PXAT", "10", "EX", "100"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "foo"],
        &["SET", "k", "v", "NXX"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "GET"],
        &["GETEX", "k", "KEEPTTL"],
        &["GETEX", "k", "EX", "10", "PERSIST"],
        &["GETEX", "k", "PERSIST", "PX", "10"],
        &["GETEX", "k", "PX"],
    ] {
        assert_eq!(c.cmd(bad), syntax, "{bad:?}");
    }

    let invalid = err("ERR invalid expire time in 'set' command");
    for t in [&["EX", "0"][..], &["EX", "-1"], &["PX", "0"], &["EXAT", "0"], &["PXAT", "-5"]] {
        let mut cmd = vec!["SET", "k", "v"];
        cmd.extend_from_slice(t);
        assert_eq!(c.cmd(&cmd), invalid, "{t:?}");
    }
    // Overflow of seconds → ms, or of now + ms.
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", "9223372036854775807"]), invalid);
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", "9223372036854775"]), invalid);
    assert_eq!(c.cmd(&["SET", "k", "v", "PX", "9223372036854775807"]), invalid);
    assert_eq!(c.cmd(&["SET", "k", "v", "PXAT", "9223372036854775807"]), ok());
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", "1.5"]), err("ERR value is not an integer or out of range"));
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", " 1"]), err("ERR value is not an integer or out of range"));
    assert_eq!(c.cmd(&["SETEX", "k", "0", "v"]), err("ERR invalid expire time in 'setex' command"));
    assert_eq!(c.cmd(&["PSETEX", "k", "-1", "v"]), err("ERR invalid expire time in 'psetex' command"));
    assert_eq!(c.cmd(&["SETEX", "k", "x", "v"]), err("ERR value is not an integer or out of range"));
    // A failed command changes nothing.
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v"));

    assert_eq!(c.cmd(&["SETNX", "k", "other"]), int(0));
    assert_eq!(c.cmd(&["SETNX", "fresh", "x"]), int(1));
    assert_eq!(c.cmd(&["GET", "fresh"]), bulk("x"));
    assert_eq!(c.cmd(&["SETEX", "se", "100", "a"]), ok());
    assert_eq!(c.cmd(&["PSETEX", "pse", "100000", "b"]), ok());
    assert_eq!(c.cmd(&["MGET", "se", "pse"]).items(), vec![bulk("a"), bulk("b")]);
}

#[test]
fn ttl_interplay() {
    let s = TestServer::new();
    let mut c = s.raw();
    // Short expiries, then one sleep, then check what survived.
    let setups: &[&[&str]] = &[
        &["SET", "plain", "v", "PX", "100"],
        &["SET", "keep", "v", "PX", "100"],
        &["SET", "app", "v", "PX", "100"],
        &["SET", "rng", "v", "PX", "100"],
        &["SET", "inc", "1", "PX", "100"],
        &["SET", "flt", "1", "PX", "100"],
        &["SET", "gs", "v", "PX", "100"],
        &["SET", "pers", "v", "PX", "100"],
        &["SET", "ms", "v", "PX", "100"],
        &["SET", "gx", "v"],
        &["PSETEX", "pse", "100", "v"],
        &["SETEX", "se", "1000", "v"],
    ];
    for cmd in setups {
        assert_eq!(c.cmd(cmd), ok(), "{cmd:?}");
    }
    assert_eq!(c.cmd(&["SET", "plain", "v2"]), ok());
    assert_eq!(c.cmd(&["SET", "keep", "v2", "KEEPTTL"]), ok());
    assert_eq!(c.cmd(&["APPEND", "app", "x"]), int(2));
    assert_eq!(c.cmd(&["SETRANGE", "rng", "1", "x"]), int(2));
    assert_eq!(c.cmd(&["INCR", "inc"]), int(2));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "flt", "0.5"]), bulk("1.5"));
    assert_eq!(c.cmd(&["GETSET", "gs", "v2"]), bulk("v"));
    assert_eq!(c.cmd(&["GETEX", "pers", "PERSIST"]), bulk("v"));
    assert_eq!(c.cmd(&["MSET", "ms", "v2"]), ok());
    assert_eq!(c.cmd(&["GETEX", "gx", "PX", "100"]), bulk("v"));
    assert_eq!(c.cmd(&["SET", "se", "v2", "PX", "100", "GET"]), bulk("v"));

    // Absolute times in the past delete at once (the old value still comes back).
    assert_eq!(c.cmd(&["SET", "past", "v"]), ok());
    assert_eq!(c.cmd(&["SET", "past", "v2", "EXAT", "1", "GET"]), bulk("v"));
    assert_eq!(c.cmd(&["GET", "past"]), nil());
    assert_eq!(c.cmd(&["SET", "past2", "v", "PXAT", "1"]), ok());
    assert_eq!(c.cmd(&["GET", "past2"]), nil());
    assert_eq!(c.cmd(&["SET", "gxpast", "v"]), ok());
    assert_eq!(c.cmd(&["GETEX", "gxpast", "EXAT", "1"]), bulk("v"));
    assert_eq!(c.cmd(&["GET", "gxpast"]), nil());
    assert_eq!(c.cmd(&["GETEX", "gxpast", "EX", "-1"]), nil(), "missing key: nil before the time is checked");
    assert_eq!(c.cmd(&["SET", "gxbad", "v"]), ok());
    assert_eq!(c.cmd(&["GETEX", "gxbad", "EX", "-1"]), err("ERR invalid expire time in 'getex' command"));
    assert_eq!(c.cmd(&["GETEX", "gxbad", "PX", "x"]), err("ERR value is not an integer or out of range"));

    std::thread::sleep(Duration::from_millis(250));
    let expect: &[(&str, Option<&str>)] = &[
        ("plain", Some("v2")),
        ("keep", None),
        ("app", None),
        ("rng", None),
        ("inc", None),
        ("flt", None),
        ("gs", Some("v2")),
        ("pers", Some("v")),
        ("ms", Some("v2")),
        ("gx", None),
        ("pse", None),
        ("se", None),
        ("gxbad", Some("v")),
    ];
    for (key, want) in expect {
        let want = want.map_or(nil(), bulk);
        assert_eq!(c.cmd(&["GET", key]), want, "{key}");
    }
    // Counters and APPEND on an expired key start from scratch.
    assert_eq!(c.cmd(&["INCR", "inc"]), int(1));
    assert_eq!(c.cmd(&["APPEND", "app", "y"]), int(1));
    assert_eq!(c.cmd(&["SETNX", "keep", "again"]), int(1));
}

#[test]
fn counters() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["INCR", "n"]), int(1));
    assert_eq!(c.cmd(&["INCRBY", "n", "41"]), int(42));
    assert_eq!(c.cmd(&["DECR", "n"]), int(41));
    assert_eq!(c.cmd(&["DECRBY", "n", "-9"]), int(50));
    assert_eq!(c.cmd(&["GET", "n"]), bulk("50"));
    assert_eq!(c.cmd(&["DECR", "fresh"]), int(-1));
    assert_eq!(c.cmd(&["INCRBY", "n", "-9223372036854775808"]), int(50 + i64::MIN));

    let not_int = err("ERR value is not an integer or out of range");
    for v in ["", " 1", "1 ", "01", "+1", "1.0", "abc", "9223372036854775808", "-0"] {
        assert_eq!(c.cmd(&["SET", "bad", v]), ok());
        assert_eq!(c.cmd(&["INCR", "bad"]), not_int, "{v:?}");
    }
    assert_eq!(c.cmd(&["INCRBY", "n", "1.5"]), not_int);
    assert_eq!(c.cmd(&["DECRBY", "n", "x"]), not_int);
    assert_eq!(c.cmd(&["DECRBY", "n", "-9223372036854775808"]), err("ERR decrement would overflow"));

    assert_eq!(c.cmd(&["SET", "max", "9223372036854775807"]), ok());
    assert_eq!(c.cmd(&["INCR", "max"]), err("ERR increment or decrement would overflow"));
    assert_eq!(c.cmd(&["SET", "min", "-9223372036854775808"]), ok());
    assert_eq!(c.cmd(&["DECR", "min"]), err("ERR increment or decrement would overflow"));
    assert_eq!(c.cmd(&["INCRBY", "min", "9223372036854775807"]), int(-1));
    assert_eq!(c.cmd(&["GET", "max"]), bulk("9223372036854775807"));

    // INCRBYFLOAT: long double arithmetic and Redis's human formatting.
    assert_eq!(c.cmd(&["SET", "bad", "abc"]), ok());
    let mut f = |k: &str, by: &str| c.cmd(&["INCRBYFLOAT", k, by]);
    assert_eq!(f("f", "10.5"), bulk("10.5"));
    assert_eq!(f("f", "0.1"), bulk("10.6"));
    assert_eq!(f("f", "-10.6"), bulk("0"));
    assert_eq!(f("g", "0.1"), bulk("0.1"));
    assert_eq!(f("g", "0.2"), bulk("0.3"));
    assert_eq!(f("h", "5.0e3"), bulk("5000"));
    assert_eq!(f("h", "-1.5e-2"), bulk("4999.98499999999999988"), "as Redis: 0.015 is inexact");
    assert_eq!(f("i", "0x10"), bulk("16"));
    assert_eq!(f("j", "1e308"), f("j2", "1e308"));
    let big = f("j", "1e308");
    assert!(big.str().starts_with("19999999999999999999337") && big.str().len() == 309, "{big:?}");
    assert_eq!(f("n", "1"), bulk("-9223372036854775757"), "64-bit significand: exact");
    assert_eq!(f("k", "inf"), err("ERR increment would produce NaN or Infinity"));
    assert_eq!(f("k", "1e5000"), err("ERR value is not a valid float"));
    assert_eq!(f("k", "abc"), err("ERR value is not a valid float"));
    assert_eq!(f("k", "nan"), err("ERR value is not a valid float"));
    assert_eq!(f("k", " 1"), err("ERR value is not a valid float"));
    assert_eq!(f("bad", "1"), err("ERR value is not a valid float"), "value 'abc' is not a float");
    assert_eq!(c.cmd(&["GET", "k"]), nil(), "failed increments create nothing");
}

#[test]
fn append_strlen_getrange_setrange() {
    let s = TestServer::start("[server]\nproto_max_bulk_len = 1048576\n");
    let mut c = s.raw();
    assert_eq!(c.cmd(&["APPEND", "a", ""]), int(0));
    assert_eq!(c.cmd(&["GET", "a"]), bulk(""), "APPEND creates the key even when empty");
    assert_eq!(c.cmd(&["APPEND", "a", "Hello"]), int(5));
    assert_eq!(c.cmd(&["APPEND", "a", " World"]), int(11));
    assert_eq!(c.cmd(&["STRLEN", "a"]), int(11));
    assert_eq!(c.cmd(&["STRLEN", "none"]), int(0));

    for (start, end, want) in [
        ("0", "4", "Hello"),
        ("-5", "-1", "World"),
        ("0", "-1", "Hello World"),
        ("5", "3", ""),
        ("-1", "-5", ""),
        ("0", "1000", "Hello World"),
        ("-1000", "2", "Hel"),
        ("-9223372036854775808", "9223372036854775807", "Hello World"),
        ("20", "30", ""),
    ] {
        assert_eq!(c.cmd(&["GETRANGE", "a", start, end]), bulk(want), "{start} {end}");
        assert_eq!(c.cmd(&["SUBSTR", "a", start, end]), bulk(want), "{start} {end}");
    }
    c.send_cmd(&["GETRANGE", "none", "0", "-1"]);
    assert_eq!(c.read_raw(), b"$0\r\n\r\n");
    assert_eq!(c.cmd(&["GETRANGE", "a", "x", "1"]), err("ERR value is not an integer or out of range"));

    assert_eq!(c.cmd(&["SETRANGE", "a", "6", "Redis"]), int(11));
    assert_eq!(c.cmd(&["GET", "a"]), bulk("Hello Redis"));
    assert_eq!(c.cmd(&["SETRANGE", "pad", "3", "x"]), int(4));
    assert_eq!(c.cmd_bytes(&[b"GET", b"pad"]), Reply::Bulk(Some(b"\0\0\0x".to_vec())));
    assert_eq!(c.cmd(&["SETRANGE", "a", "20", ""]), int(11), "empty patch: length, no change");
    assert_eq!(c.cmd(&["SETRANGE", "none", "5", ""]), int(0));
    assert_eq!(c.cmd(&["GET", "none"]), nil(), "empty patch does not create the key");
    assert_eq!(c.cmd(&["SETRANGE", "a", "-1", "x"]), err("ERR offset is out of range"));
    assert_eq!(c.cmd(&["SETRANGE", "a", "x", "x"]), err("ERR value is not an integer or out of range"));

    // The size limit is proto_max_bulk_len (1 MiB here).
    let too_long = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(c.cmd(&["SETRANGE", "big", "1048576", "x"]), too_long);
    assert_eq!(c.cmd(&["SETRANGE", "big", "9223372036854775807", "x"]), too_long);
    assert_eq!(c.cmd(&["SETRANGE", "a", "1048575", "xy"]), too_long);
    assert_eq!(c.cmd(&["SETRANGE", "big", "1048575", "x"]), int(1048576));
    assert_eq!(c.cmd(&["APPEND", "big", "y"]), too_long);
    assert_eq!(c.cmd(&["STRLEN", "big"]), int(1048576));
    assert_eq!(c.cmd(&["APPEND", "big", ""]), int(1048576));

    // LCS refuses a table (4 bytes per cell) larger than the same limit.
    let (x, y) = ("a".repeat(600), "b".repeat(600));
    assert_eq!(c.cmd(&["MSET", "x", &x, "y", &y]), ok());
    let limit = err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    assert_eq!(c.cmd(&["LCS", "x", "y"]), limit);
    assert_eq!(c.cmd(&["LCS", "x", "none", "LEN"]), int(0));
}

#[test]
fn mget_mset_msetnx() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["MSET", "a", "1", "b", "2", "a", "3"]), ok());
    assert_eq!(c.cmd(&["MGET", "a", "b", "c", "a"]).items(), vec![bulk("3"), bulk("2"), nil(), bulk("3")]);
    c.send_cmd(&["MGET", "a", "nope"]);
    assert_eq!(c.read_raw(), b"*2\r\n$1\r\n3\r\n$-1\r\n");
    assert_eq!(c.cmd(&["MSET", "a"]), err("ERR wrong number of arguments for 'mset' command"));
    assert_eq!(c.cmd(&["MSET", "a", "1", "b"]), err("ERR wrong number of arguments for 'mset' command"));
    assert_eq!(c.cmd(&["MSETNX", "x", "1", "y"]), err("ERR wrong number of arguments for 'msetnx' command"));
    assert_eq!(c.cmd(&["MSETNX", "x", "1", "a", "2"]), int(0));
    assert_eq!(c.cmd(&["GET", "x"]), nil(), "MSETNX is all or nothing");
    assert_eq!(c.cmd(&["MSETNX", "x", "1", "y", "2"]), int(1));
    assert_eq!(c.cmd(&["MGET", "x", "y"]).items(), vec![bulk("1"), bulk("2")]);
    assert_eq!(c.cmd(&["MSETNX", "z", "1", "z", "2"]), int(1), "a key repeated in one MSETNX");
    assert_eq!(c.cmd(&["GET", "z"]), bulk("2"));
}

#[test]
fn getdel_getset_getex() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GETDEL", "k"]), nil());
    assert_eq!(c.cmd(&["SET", "k", "v"]), ok());
    assert_eq!(c.cmd(&["GETDEL", "k"]), bulk("v"));
    assert_eq!(c.cmd(&["GET", "k"]), nil());
    assert_eq!(c.cmd(&["GETSET", "k", "a"]), nil());
    assert_eq!(c.cmd(&["GETSET", "k", "b"]), bulk("a"));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("b"));
    assert_eq!(c.cmd(&["GETEX", "k"]), bulk("b"));
    assert_eq!(c.cmd(&["GETEX", "k", "PERSIST"]), bulk("b"));
    assert_eq!(c.cmd(&["GETEX", "k", "EX", "100"]), bulk("b"));
    assert_eq!(c.cmd(&["GETEX", "k", "pxat", "99999999999999"]), bulk("b"));
    assert_eq!(c.cmd(&["GETEX", "nokey", "PERSIST"]), nil());
    assert_eq!(c.cmd(&["GETEX", "nokey", "foo"]), err("ERR syntax error"));
}

#[test]
fn lcs() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["MSET", "a", "ohmytext", "b", "mynewtext"]), ok());
    assert_eq!(c.cmd(&["LCS", "a", "b"]), bulk("mytext"));
    assert_eq!(c.cmd(&["LCS", "a", "b", "LEN"]), int(6));
    assert_eq!(c.cmd(&["LCS", "a", "nokey"]), bulk(""));
    assert_eq!(c.cmd(&["LCS", "nokey", "nokey2", "LEN"]), int(0));
    c.send_cmd(&["LCS", "a", "b", "IDX"]);
    assert_eq!(
        c.read_raw(),
        b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
    c.send_cmd(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]);
    assert_eq!(
        c.read_raw(),
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(c.cmd(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "-5"]).items()[1].items().len(), 2);
    assert_eq!(
        c.cmd(&["LCS", "a", "b", "IDX", "LEN"]),
        err("ERR If you want both the length and indexes, please just use IDX.")
    );
    assert_eq!(c.cmd(&["LCS", "a", "b", "MINMATCHLEN"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["LCS", "a", "b", "foo"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["LCS", "a", "b", "MINMATCHLEN", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(c.cmd(&["LCS", "a"]), err("ERR wrong number of arguments for 'lcs' command"));
}

#[test]
fn large_values_survive_restart() {
    let mut s = TestServer::new();
    let mib: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    {
        let mut c = s.raw();
        assert_eq!(c.cmd_bytes(&[b"SET", b"big", &mib]), ok());
        assert_eq!(c.cmd_bytes(&[b"GET", b"big"]), Reply::Bulk(Some(mib.clone())));
        assert_eq!(c.cmd_bytes(&[b"APPEND", b"big", &mib]), int(2 << 20));
        assert_eq!(c.cmd(&["STRLEN", "big"]), int(2 << 20));
        let tail = c.cmd(&["GETRANGE", "big", "-3", "-1"]);
        assert_eq!(tail, Reply::Bulk(Some(mib[mib.len() - 3..].to_vec())));
        assert_eq!(c.cmd_bytes(&[b"SETRANGE", b"big", b"1048576", b"xyz"]), int(2 << 20));
        assert_eq!(c.cmd_bytes(&[b"MSET", b"m1", &mib, b"m2", &mib[..10]]), ok());
    }
    s.restart();
    let mut c = s.raw();
    let mut want = mib.clone();
    want.extend_from_slice(b"xyz");
    want.extend_from_slice(&mib[3..]);
    assert_eq!(c.cmd(&["GET", "big"]), Reply::Bulk(Some(want)));
    assert_eq!(c.cmd(&["STRLEN", "m1"]), int(1 << 20));
    assert_eq!(c.cmd_bytes(&[b"GETDEL", b"m2"]), Reply::Bulk(Some(mib[..10].to_vec())));
}

#[test]
fn redis_crate_typed_results() {
    use redis::Commands;
    let s = TestServer::new();
    let mut con = s.client();
    let _: () = con.set("name", "diskdb").unwrap();
    let v: String = con.get("name").unwrap();
    assert_eq!(v, "diskdb");
    let none: Option<String> = con.get("missing").unwrap();
    assert_eq!(none, None);
    let n: i64 = con.incr("ctr", 5).unwrap();
    assert_eq!(n, 5);
    let n: i64 = con.decr("ctr", 7).unwrap();
    assert_eq!(n, -2);
    let f: f64 = redis::cmd("INCRBYFLOAT").arg("fl").arg(2.5).query(&mut con).unwrap();
    assert_eq!(f, 2.5);
    let _: () = con.mset(&[("m1", "a"), ("m2", "b")]).unwrap();
    let vs: Vec<Option<String>> = con.mget(&["m1", "nope", "m2"]).unwrap();
    assert_eq!(vs, vec![Some("a".into()), None, Some("b".into())]);
    let len: usize = con.append("name", "!").unwrap();
    assert_eq!(len, 7);
    let r: String = con.getrange("name", 0, 3).unwrap();
    assert_eq!(r, "disk");
    let old: Option<String> = con.getset("name", "x").unwrap();
    assert_eq!(old.as_deref(), Some("diskdb!"));
    let set: bool = con.set_nx("name", "y").unwrap();
    assert!(!set);
    let _: () = con.set_ex("tmp", "v", 100).unwrap();
    let opts = redis::SetOptions::default().conditional_set(redis::ExistenceCheck::NX).get(true);
    let prev: Option<String> = con.set_options("tmp", "w", opts).unwrap();
    assert_eq!(prev.as_deref(), Some("v"));
    let e = con.incr::<_, _, i64>("name", 1).unwrap_err();
    assert_eq!(e.detail(), Some("value is not an integer or out of range"));
    let bin: Vec<u8> = vec![0, 159, 146, 150, 13, 10];
    let _: () = con.set("bin", &bin[..]).unwrap();
    let back: Vec<u8> = con.get("bin").unwrap();
    assert_eq!(back, bin);
}

/// Tiny deterministic generator (xorshift) for the differential inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn digits(&mut self, n: u64) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }

    /// A decimal like users and Redis's own tests write: signs, fractions,
    /// exponents, long mantissas, huge and tiny magnitudes.
    fn number(&mut self) -> String {
        let sign = ["", "-", "+"][self.below(3) as usize];
        let n = self.below(6) + 1;
        let int = self.digits(n);
        let (short, long) = (self.below(4) + 1, self.below(25) + 1);
        let frac = match self.below(3) {
            0 => String::new(),
            1 => format!(".{}", self.digits(short)),
            _ => format!(".{}", self.digits(long)),
        };
        let exp = match self.below(6) {
            0 => format!("e{}", self.below(40) as i64 - 20),
            1 => format!("E{}", self.below(9800) as i64 - 4900),
            _ => String::new(),
        };
        format!("{sign}{int}{frac}{exp}")
    }
}

#[test]
fn incrbyfloat_matches_real_redis() {
    let Some(redis) = common::RedisServer::start() else { return };
    let s = TestServer::new();
    let (mut ours, mut theirs) = (s.raw(), redis.raw());
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let fixed = [
        ("0.1", "0.2"),
        ("1.1", "2.2"),
        ("0", "0.000003814697265625"),
        ("1e4932", "1e4932"),
        ("1.18973149535723176502e+4932", "0"),
        ("3e-4951", "0"),
        ("-0", "-0"),
        ("0x1.8p1", "0X.8"),
        ("123456789012345678901234567890", "0.5"),
        ("9007199254740993", "1"),
        ("0.1e1", "-.5"),
    ];
    let mut cases: Vec<(String, String)> = fixed.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    for _ in 0..400 {
        cases.push((rng.number(), rng.number()));
    }
    for (i, (a, b)) in cases.iter().enumerate() {
        let key = format!("f{i}");
        for c in [&mut ours, &mut theirs] {
            c.send_cmd(&["SET", &key, a]);
            c.send_cmd(&["INCRBYFLOAT", &key, b]);
            c.send_cmd(&["INCRBYFLOAT", &key, b]);
        }
        for step in 0..3 {
            let (x, y) = (ours.read_raw(), theirs.read_raw());
            assert_eq!(
                String::from_utf8_lossy(&x),
                String::from_utf8_lossy(&y),
                "case {i} step {step}: SET {a}; INCRBYFLOAT {b} (twice)"
            );
        }
    }
}
