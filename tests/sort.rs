//! SORT / SORT_RO through the real binary: STORE serving a client blocked on
//! the destination, a big list sorted with a LIMIT window, and a randomized
//! differential run against a real redis-server over lists, sets and sorted
//! sets with BY / GET patterns (deterministic forms only: see
//! tests/diff/scripts/sort.txt, which covers every option and error).

mod common;

use common::{bulks, int, same_reply, RedisServer, Reply, Rng, TestServer};
use std::time::Duration;

#[test]
fn store_serves_a_client_blocked_on_the_destination() {
    let s = TestServer::new();
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(a.cmd(&["RPUSH", "src", "3", "1", "2"]), int(3));
    b.send_cmd(&["BLPOP", "dst", "0"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(a.cmd(&["SORT", "src", "STORE", "dst"]), int(3));
    assert_eq!(b.read(), bulks(&["dst", "1"]));
    assert_eq!(a.cmd(&["LRANGE", "dst", "0", "-1"]), bulks(&["2", "3"]));
    assert_eq!(
        a.cmd(&["SORT_RO", "src", "STORE", "dst"]),
        Reply::Error("ERR syntax error".into()),
        "SORT_RO has no STORE"
    );
}

#[test]
fn big_list_sorted_with_a_window() {
    let s = TestServer::new();
    let mut c = s.raw();
    let n = 20_000;
    let vals: Vec<String> = (0..n).map(|i| ((i * 7919) % n).to_string()).collect();
    for chunk in vals.chunks(1000) {
        let mut args = vec!["RPUSH", "big"];
        args.extend(chunk.iter().map(String::as_str));
        c.cmd(&args);
    }
    let want: Vec<String> = (n - 15..n - 5).rev().map(|i| i.to_string()).collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&["SORT", "big", "DESC", "LIMIT", "5", "10"]), bulks(&want));
    assert_eq!(c.cmd(&["SORT", "big", "BY", "nosort", "LIMIT", "3", "2"]), bulks(&[&vals[3], &vals[4]]));
    assert_eq!(c.cmd(&["SORT", "big", "STORE", "sorted"]), int(n as i64));
    assert_eq!(c.cmd(&["LINDEX", "sorted", "12345"]), Reply::bulk("12345"));
}

/// A random SORT (or setup write) over a few keys whose elements are small
/// integers, with weights and hash fields that may be missing.
fn random_command(r: &mut Rng) -> Vec<String> {
    let srcs = ["l", "s", "z"];
    let elem = |r: &mut Rng| r.below(12).to_string();
    let s = |x: &str| x.to_string();
    match r.below(10) {
        0 => vec![s("RPUSH"), s("l"), elem(r), elem(r), elem(r)],
        1 => vec![s("SADD"), s("s"), elem(r), elem(r)],
        2 => vec![s("ZADD"), s("z"), r.int(5), elem(r), r.int(5), elem(r)],
        3 => vec![s("SET"), format!("w_{}", elem(r)), r.int(50)],
        4 => vec![s("HSET"), format!("h_{}", elem(r)), s(r.pick(&["f", "g"])), r.int(50)],
        5 if r.below(4) == 0 => vec![s("DEL"), s(r.pick(&srcs))],
        _ => {
            let mut v = vec![s(r.pick(&["SORT", "SORT_RO"])), s(r.pick(&srcs))];
            match r.below(4) {
                0 => v.extend([s("BY"), s(r.pick(&["w_*", "h_*->f", "h_*->g"]))]),
                1 if v[1] != "s" => v.extend([s("BY"), s("nosort")]),
                _ => {}
            }
            if r.below(2) == 0 {
                v.extend([s("LIMIT"), r.int(3), r.int(6)]);
            }
            for _ in 0..r.below(3) {
                v.extend([s("GET"), s(r.pick(&["#", "w_*", "h_*->f", "nostar"]))]);
            }
            if r.below(2) == 0 {
                v.push(s(r.pick(&["ASC", "DESC"])));
            }
            if r.below(4) == 0 && v.len() == 2 {
                v.push(s("ALPHA"));
            }
            if v[0] == "SORT" && r.below(4) == 0 {
                v.extend([s("STORE"), s("dst")]);
            }
            v
        }
    }
}

#[test]
fn random_sorts_match_redis_byte_for_byte() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let s = TestServer::new();
    let (mut ours, mut theirs) = (s.raw(), redis.raw());
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..3000 {
        let cmd = random_command(&mut r);
        same_reply(&mut ours, &mut theirs, i, &cmd);
        if cmd.iter().any(|a| a == "STORE") {
            let (a, b) = (ours.cmd(&["LRANGE", "dst", "0", "-1"]), theirs.cmd(&["LRANGE", "dst", "0", "-1"]));
            assert_eq!(a, b, "command {i}: {cmd:?} stored");
        }
    }
}
