//! Blocking commands with several connections (raw sockets). Every scenario
//! runs against DiskDB and, when it is installed, against a real redis-server:
//! both must give the same transcript of raw replies, and the transcript is
//! also checked against what the scenario expects.
//!
//! No timed assertions: a scenario waits (polling CLIENT LIST) until a client
//! is parked before another one writes, and the only waits on the clock are
//! short timeouts whose expiry is the thing under test, or a short pause
//! before checking that a client is still waiting.

mod common;

use common::{RawClient, RedisServer, TestServer};
use std::time::Duration;

/// Runs `scenario` (given a server's port) on DiskDB and on redis-server, and
/// asserts both transcripts are equal; returns DiskDB's.
fn on_both(scenario: impl Fn(u16) -> Vec<String>) -> Vec<String> {
    let ours = {
        let s = TestServer::new();
        scenario(s.port)
    };
    if let Some(redis) = RedisServer::start() {
        let theirs = scenario(redis.port);
        assert_eq!(ours, theirs, "DiskDB (left) and redis-server (right) differ");
    }
    ours
}

/// A connection named `name` (so CLIENT LIST can tell when it is parked).
fn named(port: u16, name: &str) -> RawClient {
    let mut c = RawClient::connect(port).expect("connect");
    c.send_cmd(&["CLIENT", "SETNAME", name]);
    assert_eq!(c.read_raw(), b"+OK\r\n");
    c
}

/// Reads one reply as text (CRLFs kept visible).
fn reply(c: &mut RawClient) -> String {
    String::from_utf8_lossy(&c.read_raw()).into_owned()
}

/// Sends `args` and reads the reply as text.
fn cmd(c: &mut RawClient, args: &[&str]) -> String {
    c.send_cmd(args);
    reply(c)
}

/// Waits until client `name` has run `command` (it is then parked, since the
/// scenarios only call this for commands that have nothing to serve).
fn wait_parked(port: u16, name: &str, command: &str) {
    let mut ctl = RawClient::connect(port).expect("connect");
    let (want_name, want_cmd) = (format!(" name={name} "), format!(" cmd={command} "));
    for _ in 0..1000 {
        let list = ctl.cmd(&["CLIENT", "LIST"]).str();
        if list.lines().any(|l| l.contains(&want_name) && l.contains(&want_cmd)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("client {name} never ran {command}");
}

/// Waits until no client is called `name` any more (it disconnected).
fn wait_gone(port: u16, name: &str) {
    let mut ctl = RawClient::connect(port).expect("connect");
    let want = format!(" name={name} ");
    for _ in 0..1000 {
        if !ctl.cmd(&["CLIENT", "LIST"]).str().lines().any(|l| l.contains(&want)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("client {name} is still connected");
}

/// Sends a blocking command from a new client `name` and waits until it is parked.
fn park(port: u16, name: &str, args: &[&str]) -> RawClient {
    let mut c = named(port, name);
    c.send_cmd(args);
    wait_parked(port, name, &args[0].to_ascii_lowercase());
    c
}

/// True if nothing arrives on `c` for a little while (it is still waiting).
/// `RawClient::read_raw` panics when its read times out, which is the
/// outcome hoped for here.
fn still_waiting(c: &mut RawClient) -> bool {
    c.set_timeout(Duration::from_millis(150));
    let quiet = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.read_raw())).is_err();
    c.set_timeout(Duration::from_secs(30));
    quiet
}

fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{i}\r\n", i.len()));
    }
    s
}

#[test]
fn a_push_serves_a_parked_blpop_and_the_list_stays_empty() {
    let t = on_both(|port| {
        let mut w = park(port, "w", &["BLPOP", "l", "0"]);
        let mut p = named(port, "p");
        vec![
            cmd(&mut p, &["LPUSH", "l", "x"]),
            reply(&mut w),
            cmd(&mut p, &["EXISTS", "l"]),
            cmd(&mut p, &["LLEN", "l"]),
        ]
    });
    assert_eq!(t, vec![":1\r\n".to_string(), arr(&["l", "x"]), ":0\r\n".into(), ":0\r\n".into()]);
}

#[test]
fn a_pipelined_push_then_llen_sees_the_element_already_served() {
    let t = on_both(|port| {
        let mut w = park(port, "w", &["BLPOP", "l", "0"]);
        let mut p = named(port, "p");
        p.send(b"*3\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n$1\r\na\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nl\r\n");
        vec![reply(&mut p), reply(&mut p), reply(&mut w)]
    });
    assert_eq!(t, vec![":1\r\n".to_string(), ":0\r\n".into(), arr(&["l", "a"])]);
}

#[test]
fn waiters_are_served_in_fifo_order() {
    let t = on_both(|port| {
        let mut a = park(port, "a", &["BLPOP", "l", "0"]);
        let mut b = park(port, "b", &["BRPOP", "other", "l", "0"]);
        let mut c = park(port, "c", &["BLPOP", "l", "0"]);
        let mut d = park(port, "d", &["BLPOP", "l", "0"]);
        let mut p = named(port, "p");
        // One push of three elements: the first three waiters, in the order
        // they blocked (b pops from the right); the fourth keeps waiting.
        let pushed = cmd(&mut p, &["RPUSH", "l", "1", "2", "3"]);
        let mut t = vec![pushed, reply(&mut a), reply(&mut b), reply(&mut c)];
        t.push(still_waiting(&mut d).to_string());
        t.push(cmd(&mut p, &["LPUSH", "l", "4", "5"]));
        t.push(reply(&mut d));
        t.push(cmd(&mut p, &["LRANGE", "l", "0", "-1"]));
        t
    });
    assert_eq!(
        t,
        vec![
            ":3\r\n".to_string(),
            arr(&["l", "1"]),
            arr(&["l", "3"]),
            arr(&["l", "2"]),
            "true".into(),
            ":2\r\n".into(),
            arr(&["l", "5"]),
            arr(&["4"]),
        ]
    );
}

#[test]
fn timeouts_reply_the_null_array_in_both_protocols() {
    let t = on_both(|port| {
        // All at once on separate connections, so the waits overlap.
        let cmds: [&[&str]; 5] = [
            &["BLPOP", "l", "0.1"],
            &["BRPOP", "l", "m", "0.1"],
            &["BLMOVE", "l", "d", "LEFT", "RIGHT", "0.1"],
            &["BRPOPLPUSH", "l", "d", "0.1"],
            &["BLMPOP", "0.1", "2", "l", "m", "LEFT", "COUNT", "2"],
        ];
        let mut conns: Vec<RawClient> = Vec::new();
        for (i, args) in cmds.iter().enumerate() {
            for proto in ["2", "3"] {
                let mut c = named(port, &format!("c{i}p{proto}"));
                c.send_cmd(&["HELLO", proto]);
                c.read_raw();
                c.send_cmd(args);
                conns.push(c);
            }
        }
        let mut t: Vec<String> = conns.iter_mut().map(reply).collect();
        let mut p = named(port, "p");
        t.push(cmd(&mut p, &["DBSIZE"]));
        t
    });
    let mut want = Vec::new();
    for _ in 0..5 {
        want.push("*-1\r\n".to_string());
        want.push("_\r\n".to_string());
    }
    want.push(":0\r\n".into());
    assert_eq!(t, want);
}

#[test]
fn zero_timeout_waits_until_served_and_bad_timeouts_are_errors() {
    let t = on_both(|port| {
        let mut w = park(port, "w", &["BLPOP", "l", "0"]);
        let mut p = named(port, "p");
        let mut t = vec![still_waiting(&mut w).to_string()];
        t.push(cmd(&mut p, &["RPUSH", "l", "v"]));
        t.push(reply(&mut w));
        for bad in ["-1", "abc", "", "-0.5"] {
            t.push(cmd(&mut p, &["BLPOP", "l", bad]));
            t.push(cmd(&mut p, &["BLMOVE", "l", "d", "LEFT", "LEFT", bad]));
            t.push(cmd(&mut p, &["BLMPOP", bad, "1", "l", "LEFT"]));
        }
        t
    });
    assert_eq!(&t[..3], &["true".to_string(), ":1\r\n".into(), arr(&["l", "v"])]);
    assert_eq!(t[3], "-ERR timeout is negative\r\n");
    assert_eq!(t[6], "-ERR timeout is not a float or out of range\r\n");
}

#[test]
fn several_keys_are_served_from_the_first_non_empty_one() {
    let t = on_both(|port| {
        let mut p = named(port, "p");
        let mut t = vec![cmd(&mut p, &["RPUSH", "k3", "c"]), cmd(&mut p, &["RPUSH", "k2", "b"])];
        // Data present: argument order decides, not age.
        t.push(cmd(&mut p, &["BLPOP", "k1", "k2", "k3", "0"]));
        t.push(cmd(&mut p, &["BLMPOP", "0", "3", "k1", "k2", "k3", "RIGHT", "COUNT", "5"]));
        // Parked on several keys: whichever is pushed serves it.
        let mut w = park(port, "w", &["BRPOP", "k1", "k2", "0"]);
        t.push(cmd(&mut p, &["RPUSH", "k2", "x", "y"]));
        t.push(reply(&mut w));
        t.push(cmd(&mut p, &["LRANGE", "k2", "0", "-1"]));
        t
    });
    assert_eq!(
        t,
        vec![
            ":1\r\n".to_string(),
            ":1\r\n".into(),
            arr(&["k2", "b"]),
            "*2\r\n$2\r\nk3\r\n*1\r\n$1\r\nc\r\n".into(),
            ":2\r\n".into(),
            arr(&["k2", "y"]),
            arr(&["x"]),
        ]
    );
}

#[test]
fn blmove_blmpop_and_brpoplpush_are_served_by_pushes() {
    let t = on_both(|port| {
        let mut p = named(port, "p");
        let mut m = park(port, "m", &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
        let mut r = park(port, "r", &["BRPOPLPUSH", "src", "dst", "0"]);
        let mut t = vec![cmd(&mut p, &["RPUSH", "src", "a", "b", "c"]), reply(&mut m), reply(&mut r)];
        t.push(cmd(&mut p, &["LRANGE", "src", "0", "-1"]));
        t.push(cmd(&mut p, &["LRANGE", "dst", "0", "-1"]));
        let mut x = park(port, "x", &["BLMPOP", "0", "2", "k1", "k2", "LEFT", "COUNT", "3"]);
        t.push(cmd(&mut p, &["RPUSH", "k2", "1", "2", "3", "4"]));
        t.push(reply(&mut x));
        t.push(cmd(&mut p, &["LRANGE", "k2", "0", "-1"]));
        t
    });
    assert_eq!(
        t,
        vec![
            ":3\r\n".to_string(),
            "$1\r\na\r\n".into(),
            "$1\r\nc\r\n".into(),
            arr(&["b"]),
            arr(&["c", "a"]),
            ":4\r\n".into(),
            "*2\r\n$2\r\nk2\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n".into(),
            arr(&["4"]),
        ]
    );
}

#[test]
fn a_moved_element_wakes_the_waiter_of_the_destination() {
    let t = on_both(|port| {
        let mut p = named(port, "p");
        let mut m = park(port, "m", &["BLMOVE", "a", "b", "LEFT", "LEFT", "0"]);
        let mut w = park(port, "w", &["BLPOP", "b", "0"]);
        vec![cmd(&mut p, &["RPUSH", "a", "v"]), reply(&mut m), reply(&mut w), cmd(&mut p, &["DBSIZE"])]
    });
    assert_eq!(t, vec![":1\r\n".to_string(), "$1\r\nv\r\n".into(), arr(&["b", "v"]), ":0\r\n".into()]);
}

#[test]
fn a_key_of_another_type_keeps_the_waiter_parked() {
    let t = on_both(|port| {
        let mut p = named(port, "p");
        let mut w = park(port, "w", &["BLPOP", "l", "0"]);
        let mut t = vec![cmd(&mut p, &["SET", "l", "string"])];
        t.push(still_waiting(&mut w).to_string());
        t.push(cmd(&mut p, &["DEL", "l"]));
        t.push(cmd(&mut p, &["RPUSH", "l", "v"]));
        t.push(reply(&mut w));
        // Parked on two keys, the first turns into a string: the second serves.
        let mut w2 = park(port, "w2", &["BLPOP", "k1", "k2", "0"]);
        t.push(cmd(&mut p, &["SET", "k1", "s"]));
        t.push(cmd(&mut p, &["RPUSH", "k2", "x"]));
        t.push(reply(&mut w2));
        t.push(cmd(&mut p, &["BLPOP", "k1", "k2", "0"]));
        // BLMOVE whose destination became a string: the waiter gets the
        // error, and the element stays in the source.
        let mut m = park(port, "m", &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
        t.push(cmd(&mut p, &["SET", "dst", "s"]));
        t.push(cmd(&mut p, &["RPUSH", "src", "e"]));
        t.push(reply(&mut m));
        t.push(cmd(&mut p, &["LRANGE", "src", "0", "-1"]));
        t
    });
    let wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n".to_string();
    assert_eq!(
        t,
        vec![
            "+OK\r\n".to_string(),
            "true".into(),
            ":1\r\n".into(),
            ":1\r\n".into(),
            arr(&["l", "v"]),
            "+OK\r\n".into(),
            ":1\r\n".into(),
            arr(&["k2", "x"]),
            wrong.clone(),
            "+OK\r\n".into(),
            ":1\r\n".into(),
            wrong,
            arr(&["e"]),
        ]
    );
}

#[test]
fn a_waiter_that_disconnects_loses_nothing() {
    let t = on_both(|port| {
        let mut p = named(port, "p");
        let gone = park(port, "gone", &["BLPOP", "l", "0"]);
        let mut next = park(port, "next", &["BLPOP", "l", "0"]);
        let gone2 = park(port, "gone2", &["BLPOP", "l2", "0"]);
        drop(gone);
        drop(gone2);
        wait_gone(port, "gone");
        wait_gone(port, "gone2");
        vec![
            cmd(&mut p, &["RPUSH", "l", "a"]),
            reply(&mut next),
            cmd(&mut p, &["RPUSH", "l2", "b"]),
            cmd(&mut p, &["LRANGE", "l2", "0", "-1"]),
        ]
    });
    assert_eq!(t, vec![":1\r\n".to_string(), arr(&["l", "a"]), ":1\r\n".into(), arr(&["b"])]);
}

#[test]
fn one_push_of_many_elements_serves_waiters_in_turn() {
    let t = on_both(|port| {
        let mut p = named(port, "p");
        let mut a = park(port, "a", &["BLPOP", "l", "0"]);
        let mut b = park(port, "b", &["BRPOP", "l", "0"]);
        vec![
            cmd(&mut p, &["LPUSH", "l", "x", "y", "z"]),
            reply(&mut a),
            reply(&mut b),
            cmd(&mut p, &["LRANGE", "l", "0", "-1"]),
        ]
    });
    assert_eq!(t, vec![":3\r\n".to_string(), arr(&["l", "z"]), arr(&["l", "x"]), arr(&["y"])]);
}

#[test]
fn sorted_set_pops_serve_at_once_or_park_in_both_protocols() {
    let t = on_both(|port| {
        let mut t = Vec::new();
        for proto in ["2", "3"] {
            let hello = |c: &mut RawClient| drop(cmd(c, &["HELLO", proto]));
            let mut p = named(port, "p");
            hello(&mut p);
            t.push(cmd(&mut p, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4.5", "d"]));
            // Data present: the non-blocking path.
            t.push(cmd(&mut p, &["BZPOPMIN", "none", "z", "0"]));
            t.push(cmd(&mut p, &["BZPOPMAX", "z", "0"]));
            t.push(cmd(&mut p, &["BZMPOP", "0", "2", "none", "z", "MIN", "COUNT", "5"]));
            t.push(cmd(&mut p, &["EXISTS", "z"]));
            // Parked, then served by a ZADD.
            let mut w = named(port, "w");
            hello(&mut w);
            w.send_cmd(&["BZPOPMAX", "z1", "z2", "0"]);
            wait_parked(port, "w", "bzpopmax");
            let mut m = named(port, "m");
            hello(&mut m);
            m.send_cmd(&["BZMPOP", "0", "1", "z3", "MIN", "COUNT", "2"]);
            wait_parked(port, "m", "bzmpop");
            t.push(cmd(&mut p, &["ZADD", "z2", "-1", "x", "inf", "y"]));
            t.push(reply(&mut w));
            t.push(cmd(&mut p, &["ZADD", "z3", "7", "q", "8", "r", "9", "s"]));
            t.push(reply(&mut m));
            t.push(cmd(&mut p, &["DEL", "z2", "z3"]));
            // Timeouts.
            t.push(cmd(&mut p, &["BZPOPMIN", "z", "0.05"]));
            t.push(cmd(&mut p, &["BZMPOP", "0.05", "1", "z", "MAX"]));
        }
        t
    });
    let resp2 = [
        ":4\r\n",
        "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n",
        "*3\r\n$1\r\nz\r\n$1\r\nd\r\n$3\r\n4.5\r\n",
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
        ":0\r\n",
        ":2\r\n",
        "*3\r\n$2\r\nz2\r\n$1\r\ny\r\n$3\r\ninf\r\n",
        ":3\r\n",
        "*2\r\n$2\r\nz3\r\n*2\r\n*2\r\n$1\r\nq\r\n$1\r\n7\r\n*2\r\n$1\r\nr\r\n$1\r\n8\r\n",
        ":2\r\n",
        "*-1\r\n",
        "*-1\r\n",
    ];
    assert_eq!(&t[..12], &resp2[..]);
    // RESP3: scores are doubles, the timeouts the one null.
    assert_eq!(t[13], "*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(t[18], "*3\r\n$2\r\nz2\r\n$1\r\ny\r\n,inf\r\n");
    assert_eq!(&t[22..], &["_\r\n".to_string(), "_\r\n".into()]);
}

#[test]
fn sorted_set_pops_skip_a_key_of_another_type_while_parked() {
    let t = on_both(|port| {
        let mut p = named(port, "p");
        let mut t = vec![cmd(&mut p, &["RPUSH", "l", "v"])];
        t.push(cmd(&mut p, &["BZPOPMIN", "l", "0"]));
        t.push(cmd(&mut p, &["BZMPOP", "0", "2", "none", "l", "MIN"]));
        t.push(cmd(&mut p, &["BZPOPMIN", "z", "-1"]));
        t.push(cmd(&mut p, &["BZPOPMIN", "z", "abc"]));
        t.push(cmd(&mut p, &["BZMPOP", "-1", "0", "z", "MIN"]));
        t.push(cmd(&mut p, &["BZMPOP", "abc", "1", "z", "MIN", "COUNT", "0"]));
        t.push(cmd(&mut p, &["BZMPOP", "abc", "1", "z", "MIN"]));
        let mut w = park(port, "w", &["BZPOPMIN", "z", "0"]);
        t.push(cmd(&mut p, &["RPUSH", "z", "not-a-zset"]));
        t.push(still_waiting(&mut w).to_string());
        t.push(cmd(&mut p, &["DEL", "z"]));
        t.push(cmd(&mut p, &["ZADD", "z", "5", "m"]));
        t.push(reply(&mut w));
        // A list waiter is not woken by a sorted set, and the other way round.
        let mut lw = park(port, "lw", &["BLPOP", "k", "0"]);
        t.push(cmd(&mut p, &["ZADD", "k", "1", "x"]));
        t.push(still_waiting(&mut lw).to_string());
        t.push(cmd(&mut p, &["ZPOPMIN", "k"]));
        t.push(cmd(&mut p, &["RPUSH", "k", "y"]));
        t.push(reply(&mut lw));
        t
    });
    let wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(t[1], wrong);
    assert_eq!(t[2], wrong);
    assert_eq!(t[3], "-ERR timeout is negative\r\n");
    assert_eq!(t[5], "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(t[6], "-ERR count should be greater than 0\r\n");
    assert_eq!(t[7], "-ERR timeout is not a float or out of range\r\n");
    assert_eq!(
        &t[9..],
        &[
            "true".to_string(),
            ":1\r\n".into(),
            ":1\r\n".into(),
            "*3\r\n$1\r\nz\r\n$1\r\nm\r\n$1\r\n5\r\n".into(),
            ":1\r\n".into(),
            "true".into(),
            "*2\r\n$1\r\nx\r\n$1\r\n1\r\n".into(),
            ":1\r\n".into(),
            arr(&["k", "y"]),
        ]
    );
}
