//! Set commands through the real binary: the `redis` crate for typed
//! results, raw RESP for exact bytes, error texts and RESP3 shapes. Covers
//! WRONGTYPE both ways, emptied sets disappearing, SMOVE and the STORE
//! commands with a destination among the sources, big sets (SPOP and
//! SRANDMEMBER sampling, SSCAN), and persistence across a crash-restart.
//! tests/diff/scripts/sets.txt compares the replies with a real redis-server.

mod common;

use common::{assert_uniform, bulk, err, int, Reply, TestServer, WRONGTYPE};
use redis::Commands;
use std::collections::HashSet;

/// The members of an array/set reply, sorted.
fn sorted(r: Reply) -> Vec<String> {
    let mut v: Vec<String> = r.items().iter().map(Reply::str).collect();
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn membership_exact_replies() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.send_cmd(&["SADD", "s", "a", "b", "a", "c"]);
    assert_eq!(c.read_raw(), b":3\r\n", "a member named twice counts once");
    assert_eq!(c.cmd(&["SADD", "s", "c", "d"]), int(1));
    assert_eq!(c.cmd(&["SCARD", "s"]), int(4));
    c.send_cmd(&["SISMEMBER", "s", "a"]);
    assert_eq!(c.read_raw(), b":1\r\n");
    c.send_cmd(&["SMISMEMBER", "s", "a", "zz", "d"]);
    assert_eq!(c.read_raw(), b"*3\r\n:1\r\n:0\r\n:1\r\n");
    c.send_cmd(&["SMEMBERS", "s"]);
    assert_eq!(c.read_raw(), b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    assert_eq!(c.cmd(&["SREM", "s", "a", "a", "zz"]), int(1));
    assert_eq!(c.cmd(&["SCARD", "s"]), int(3));
    let m: &[u8] = b"m\0\r\n\xff";
    assert_eq!(c.cmd_bytes(&[b"SADD", b"bin", m, b""]), int(2));
    assert_eq!(c.cmd_bytes(&[b"SISMEMBER", b"bin", m]), int(1));
    assert_eq!(c.cmd_bytes(&[b"SISMEMBER", b"bin", b""]), int(1));
    assert_eq!(c.cmd_bytes(&[b"SISMEMBER", b"bin", b"m"]), int(0));
    // RESP3: sets where Redis replies sets, arrays for SRANDMEMBER.
    c.cmd(&["HELLO", "3"]);
    c.send_cmd(&["SMEMBERS", "nokey"]);
    assert_eq!(c.read_raw(), b"~0\r\n");
    c.send_cmd(&["SPOP", "nokey", "2"]);
    assert_eq!(c.read_raw(), b"~0\r\n");
    c.send_cmd(&["SRANDMEMBER", "nokey", "2"]);
    assert_eq!(c.read_raw(), b"*0\r\n");
    c.send_cmd(&["SRANDMEMBER", "nokey"]);
    assert_eq!(c.read_raw(), b"_\r\n");
    c.send_cmd(&["SINTER", "s", "s"]);
    assert_eq!(c.read_raw(), b"~3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    c.send_cmd(&["SISMEMBER", "s", "b"]);
    assert_eq!(c.read_raw(), b":1\r\n", "an integer, not a RESP3 boolean");
}

#[test]
fn spop_and_srandmember() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["SADD", "s", "a", "b", "c", "d", "e"]);
    let all = strs(&["a", "b", "c", "d", "e"]);
    let picked = sorted(c.cmd(&["SRANDMEMBER", "s", "3"]));
    assert_eq!(picked.len(), 3);
    assert!(picked.windows(2).all(|w| w[0] != w[1]) && picked.iter().all(|m| all.contains(m)));
    assert_eq!(sorted(c.cmd(&["SRANDMEMBER", "s", "10"])), all);
    let repeated = c.cmd(&["SRANDMEMBER", "s", "-12"]).items();
    assert_eq!(repeated.len(), 12);
    assert!(repeated.iter().all(|m| all.contains(&m.str())));
    assert_eq!(c.cmd(&["SRANDMEMBER", "s", "0"]), Reply::Array(Some(vec![])));
    assert_eq!(c.cmd(&["SCARD", "s"]), int(5), "SRANDMEMBER does not remove");
    assert_eq!(
        c.cmd(&["SRANDMEMBER", "s", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );

    let popped = sorted(c.cmd(&["SPOP", "s", "2"]));
    assert_eq!(popped.len(), 2);
    assert_eq!(c.cmd(&["SCARD", "s"]), int(3));
    for m in &popped {
        assert_eq!(c.cmd(&["SISMEMBER", "s", m]), int(0), "{m} was removed");
    }
    let one = c.cmd(&["SPOP", "s"]).str();
    assert!(all.contains(&one) && !popped.contains(&one));
    assert_eq!(c.cmd(&["SCARD", "s"]), int(2));
    assert_eq!(c.cmd(&["SPOP", "s", "-1"]), err("ERR value is out of range, must be positive"));
    assert_eq!(c.cmd(&["SPOP", "s", "1", "2"]), err("ERR syntax error"));
    assert_eq!(sorted(c.cmd(&["SPOP", "s", "5"])).len(), 2);
    assert_eq!(c.cmd(&["EXISTS", "s"]), int(0), "popping everything deletes the set");
    assert_eq!(c.cmd(&["SPOP", "s"]), Reply::Bulk(None));
}

#[test]
fn smove_including_same_source_and_destination() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["SADD", "src", "a", "b"]);
    c.cmd(&["SADD", "dst", "b", "c"]);
    assert_eq!(c.cmd(&["SMOVE", "src", "dst", "a"]), int(1));
    assert_eq!(c.cmd(&["SMOVE", "src", "dst", "a"]), int(0));
    assert_eq!(c.cmd(&["SMOVE", "src", "dst", "b"]), int(1), "already in dst: still moved out of src");
    assert_eq!(c.cmd(&["EXISTS", "src"]), int(0), "emptied source disappears");
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "dst"])), strs(&["a", "b", "c"]));
    assert_eq!(c.cmd(&["SMOVE", "dst", "dst", "a"]), int(1));
    assert_eq!(c.cmd(&["SMOVE", "dst", "dst", "zz"]), int(0));
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "dst"])), strs(&["a", "b", "c"]), "SMOVE s s changes nothing");
    assert_eq!(c.cmd(&["SMOVE", "dst", "fresh", "c"]), int(1));
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "fresh"])), strs(&["c"]));
    assert_eq!(c.cmd(&["SCARD", "dst"]), int(2));
    c.cmd(&["SET", "str", "v"]);
    assert_eq!(c.cmd(&["SMOVE", "nokey", "str", "a"]), int(0), "a missing source answers before dst's type");
    assert_eq!(c.cmd(&["SMOVE", "dst", "str", "a"]), err(WRONGTYPE));
    assert_eq!(c.cmd(&["SMOVE", "str", "dst", "a"]), err(WRONGTYPE));
    assert_eq!(c.cmd(&["SCARD", "dst"]), int(2), "a failed SMOVE changes nothing");
}

#[test]
fn algebra_and_store_with_destination_among_sources() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["SADD", "x", "a", "b", "c", "d"]);
    c.cmd(&["SADD", "y", "c", "d", "e"]);
    c.cmd(&["SADD", "z", "d", "e", "f"]);
    assert_eq!(sorted(c.cmd(&["SINTER", "x", "y", "z"])), strs(&["d"]));
    assert_eq!(sorted(c.cmd(&["SUNION", "x", "y", "z"])), strs(&["a", "b", "c", "d", "e", "f"]));
    assert_eq!(sorted(c.cmd(&["SDIFF", "x", "y", "z"])), strs(&["a", "b"]));
    assert_eq!(sorted(c.cmd(&["SINTER", "x", "nokey"])), Vec::<String>::new());
    assert_eq!(c.cmd(&["SINTERCARD", "2", "x", "y"]), int(2));
    assert_eq!(c.cmd(&["SINTERCARD", "2", "x", "y", "LIMIT", "1"]), int(1));
    assert_eq!(c.cmd(&["SINTERCARD", "0", "x"]), err("ERR numkeys should be greater than 0"));
    assert_eq!(c.cmd(&["SINTERCARD", "3", "x"]), err("ERR Number of keys can't be greater than number of args"));
    assert_eq!(c.cmd(&["SINTERCARD", "1", "x", "LIMIT", "-1"]), err("ERR LIMIT can't be negative"));

    // The destination is one of the sources: computed before written.
    assert_eq!(c.cmd(&["SINTERSTORE", "x", "x", "y"]), int(2));
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "x"])), strs(&["c", "d"]));
    assert_eq!(c.cmd(&["SUNIONSTORE", "x", "x", "z"]), int(4));
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "x"])), strs(&["c", "d", "e", "f"]));
    assert_eq!(c.cmd(&["SDIFFSTORE", "x", "x", "y"]), int(1));
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "x"])), strs(&["f"]));
    // An empty result deletes the destination, whatever it held.
    c.cmd(&["EXPIRE", "x", "1000"]);
    assert_eq!(c.cmd(&["SDIFFSTORE", "x", "x", "x"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "x"]), int(0));
    c.cmd(&["SET", "str", "v"]);
    assert_eq!(c.cmd(&["SINTERSTORE", "str", "y", "nokey"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "str"]), int(0));
    // A non-empty result replaces any type and clears the TTL.
    c.cmd(&["SET", "str", "v"]);
    c.cmd(&["EXPIRE", "str", "1000"]);
    assert_eq!(c.cmd(&["SUNIONSTORE", "str", "y"]), int(3));
    assert_eq!(c.cmd(&["TYPE", "str"]), Reply::Simple("set".into()));
    assert_eq!(c.cmd(&["TTL", "str"]), int(-1));
    // A source of the wrong type fails the whole command, even after a missing key.
    c.cmd(&["SET", "plain", "v"]);
    assert_eq!(c.cmd(&["SINTER", "nokey", "plain"]), err(WRONGTYPE));
    assert_eq!(c.cmd(&["SUNIONSTORE", "str", "y", "plain"]), err(WRONGTYPE));
    assert_eq!(c.cmd(&["SCARD", "str"]), int(3), "nothing written on error");
}

#[test]
fn wrongtype_both_ways_and_emptied_sets_disappear() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["SET", "str", "v"]);
    for cmd in [
        &["SADD", "str", "m"][..],
        &["SREM", "str", "m"],
        &["SISMEMBER", "str", "m"],
        &["SMISMEMBER", "str", "m"],
        &["SCARD", "str"],
        &["SMEMBERS", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "2"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "-2"],
        &["SINTER", "str"],
        &["SUNION", "str"],
        &["SDIFF", "str"],
        &["SINTERCARD", "1", "str"],
        &["SSCAN", "str", "0"],
    ] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    c.cmd(&["SADD", "s", "m"]);
    for cmd in [&["GET", "s"][..], &["INCR", "s"], &["HGET", "s", "f"], &["HSET", "s", "f", "v"]] {
        assert_eq!(c.cmd(cmd), err(WRONGTYPE), "{cmd:?}");
    }
    assert_eq!(c.cmd(&["SREM", "s", "m"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "s"]), int(0));
    assert_eq!(c.cmd(&["TYPE", "s"]), Reply::Simple("none".into()));
    c.cmd(&["SADD", "p", "only"]);
    assert_eq!(c.cmd(&["SPOP", "p"]), bulk("only"));
    assert_eq!(c.cmd(&["EXISTS", "p"]), int(0));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
}

#[test]
fn big_set_sampling_and_scan() {
    let s = TestServer::new();
    let mut r = s.client();
    let members: Vec<String> = (0..10_000).map(|i| format!("member-{i}")).collect();
    let all: HashSet<&String> = members.iter().collect();
    assert_eq!(r.sadd::<_, _, i64>("big", &members).expect("SADD 10,000"), 10_000);
    assert_eq!(r.scard::<_, i64>("big").expect("SCARD"), 10_000);
    let mut c = s.raw();
    for count in [1usize, 50, 2000, 6000, 10_000, 50_000] {
        let got: Vec<String> =
            c.cmd(&["SRANDMEMBER", "big", &count.to_string()]).items().iter().map(Reply::str).collect();
        assert_eq!(got.len(), count.min(10_000), "count {count}");
        let unique: HashSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "count {count}: distinct");
        assert!(got.iter().all(|m| all.contains(m)), "count {count}: real members");
    }
    let got = c.cmd(&["SRANDMEMBER", "big", "-3000"]).items();
    assert_eq!(got.len(), 3000);
    assert!(got.iter().all(|m| all.contains(&m.str())));

    // SPOP in steps removes exactly what it returns.
    let mut popped = HashSet::new();
    for count in ["1", "100", "2500"] {
        for m in c.cmd(&["SPOP", "big", count]).items() {
            assert!(popped.insert(m.str()), "popped twice");
        }
    }
    popped.insert(c.cmd(&["SPOP", "big"]).str());
    assert_eq!(popped.len(), 2602);
    assert_eq!(c.cmd(&["SCARD", "big"]), int(10_000 - 2602));
    for m in popped.iter().take(50) {
        assert_eq!(c.cmd(&["SISMEMBER", "big", m]), int(0));
    }

    // SSCAN visits every remaining member exactly once.
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = c.cmd(&["SSCAN", "big", &cursor, "COUNT", "1000"]).items();
        cursor = reply[0].str();
        for m in reply[1].items() {
            assert!(seen.insert(m.str()), "member returned twice");
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 10_000 - 2602);
    assert!(seen.is_disjoint(&popped));

    // The algebra at size: intersection with itself, difference with itself.
    assert_eq!(c.cmd(&["SINTERSTORE", "copy", "big", "big"]), int(10_000 - 2602));
    assert_eq!(c.cmd(&["SINTERCARD", "2", "big", "copy", "LIMIT", "10"]), int(10));
    assert_eq!(c.cmd(&["SDIFFSTORE", "copy", "copy", "big"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "copy"]), int(0));
    // Popping everything left deletes the key.
    assert_eq!(c.cmd(&["SPOP", "big", "100000"]).items().len(), 10_000 - 2602);
    assert_eq!(c.cmd(&["EXISTS", "big"]), int(0));
}

#[test]
fn sets_survive_a_crash_restart() {
    let mut s = TestServer::new();
    {
        let mut c = s.raw();
        c.cmd(&["SADD", "s", "a", "b", "c"]);
        c.cmd(&["SREM", "s", "b"]);
        c.cmd(&["SADD", "t", "c", "d"]);
        c.cmd(&["SINTERSTORE", "i", "s", "t"]);
        c.cmd(&["SMOVE", "t", "s", "d"]);
    }
    s.restart();
    let mut c = s.raw();
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "s"])), strs(&["a", "c", "d"]));
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "t"])), strs(&["c"]));
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "i"])), strs(&["c"]));
    assert_eq!(c.cmd(&["SCARD", "s"]), int(3));
    assert_eq!(c.cmd(&["SADD", "s", "e"]), int(1));
    assert_eq!(c.cmd(&["SCARD", "s"]), int(4));
}

#[test]
fn draining_a_big_set_one_pop_at_a_time_pops_each_member_once() {
    // Single SPOPs empty a set while the deletion markers of the popped
    // members pile up in the memtable: the picks' shared iterator
    // (storage::Cursor) must hand over to range-bounded seeks when it meets
    // too many of them, inside MULTI (reads through the batch overlay) too.
    let s = TestServer::new();
    let mut c = s.raw();
    let n = 3000;
    let mut left: HashSet<String> = (0..n).map(|i| format!("k:{i:05}")).collect();
    for chunk in left.iter().cloned().collect::<Vec<_>>().chunks(500) {
        let mut args = vec!["SADD", "d"];
        args.extend(chunk.iter().map(String::as_str));
        assert_eq!(c.cmd(&args), int(chunk.len() as i64));
    }
    let mut step = 0;
    while !left.is_empty() {
        step += 1;
        if step % 97 == 0 {
            assert_eq!(c.cmd(&["MULTI"]), Reply::ok());
            for cmd in [&["SPOP", "d"][..], &["SRANDMEMBER", "d", "-3"], &["SPOP", "d"]] {
                assert_eq!(c.cmd(cmd), Reply::Simple("QUEUED".into()));
            }
            let replies = c.cmd(&["EXEC"]).items();
            for m in replies[1].items() {
                assert!(left.contains(&m.str()) && m != replies[0], "SRANDMEMBER {m:?} not a member");
            }
            for r in [&replies[0], &replies[2]] {
                if *r != Reply::Bulk(None) {
                    assert!(left.remove(&r.str()), "step {step}: {r:?} popped twice or never added");
                }
            }
            continue;
        }
        let m = c.cmd(&["SPOP", "d"]).str();
        assert!(left.remove(&m), "step {step}: {m} popped twice or never added");
        if step % 500 == 0 {
            assert_eq!(c.cmd(&["SCARD", "d"]), int(left.len() as i64));
        }
    }
    assert_eq!(c.cmd(&["EXISTS", "d"]), int(0));
    assert_eq!(c.cmd(&["SPOP", "d"]), Reply::Bulk(None));
}

#[test]
fn picks_from_a_big_set_are_uniform_and_follow_its_changes() {
    // Sets of more than 128 members are drawn from by rank (storage/rank.rs):
    // uniform even for unpadded members, where a trie descent favours `1`
    // (a branch of its own next to `1...`, about 1% of its draws). 60,000
    // draws over 1,500 members: 40 each on average; uniform draws stay far
    // inside [5, 100]. (A set this small is indexed by its first pick.)
    let s = TestServer::new();
    let mut c = s.raw();
    let members: Vec<String> = (1..=1500).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "u"];
    args.extend(members.iter().map(String::as_str));
    assert_eq!(c.cmd(&args), int(1500));
    let mut counts = std::collections::HashMap::new();
    // Fewer draws per call than members, or the whole set is read instead.
    for _ in 0..60 {
        for m in c.cmd(&["SRANDMEMBER", "u", "-1000"]).items() {
            *counts.entry(m.str()).or_insert(0u32) += 1;
        }
    }
    assert_eq!(counts.len(), 1500, "every member drawn");
    let (lo, hi) = (counts.values().min().copied(), counts.values().max().copied());
    assert!(lo >= Some(5) && hi <= Some(100), "draw counts between {lo:?} and {hi:?}");
    // Removals and additions between picks (the set stays indexed): only
    // live members come out.
    let gone: Vec<&str> = members.iter().step_by(5).map(String::as_str).collect();
    let mut args = vec!["SREM", "u"];
    args.extend(&gone);
    assert_eq!(c.cmd(&args), int(300));
    assert_eq!(c.cmd(&["SADD", "u", "new-a", "new-b", "1"]), int(3));
    let live: HashSet<String> = c.cmd(&["SMEMBERS", "u"]).items().iter().map(Reply::str).collect();
    assert_eq!(live.len(), 1203);
    for m in c.cmd(&["SRANDMEMBER", "u", "-1000"]).items() {
        assert!(live.contains(&m.str()), "{m:?} is not a member");
    }
    let popped: Vec<String> = c.cmd(&["SPOP", "u", "100"]).items().iter().map(Reply::str).collect();
    assert!(popped.iter().all(|m| live.contains(m)));
    assert_eq!(popped.iter().collect::<HashSet<_>>().len(), 100);
    assert_eq!(c.cmd(&["SCARD", "u"]), int(1103));
}

#[test]
fn picks_from_a_mid_sized_set_are_uniform() {
    // 300 unpadded members: more than are read whole, fewer than the rank
    // index was once kept for, so the old code drew them by the biased trie
    // descent (`3`, `30`..`39`, `300` a branch of 12 next to `1...`'s 111).
    let s = TestServer::new();
    let mut c = s.raw();
    let members: Vec<String> = (1..=300).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "m"];
    args.extend(members.iter().map(String::as_str));
    assert_eq!(c.cmd(&args), int(300));
    let mut draws = Vec::new();
    for _ in 0..300 {
        draws.extend(c.cmd(&["SRANDMEMBER", "m", "-100"]).items().iter().map(Reply::str));
    }
    assert_uniform("SRANDMEMBER -100", &members, &draws);
    let mut draws = Vec::new();
    for _ in 0..300 {
        let got: Vec<String> = c.cmd(&["SRANDMEMBER", "m", "100"]).items().iter().map(Reply::str).collect();
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), 100, "distinct");
        draws.extend(got);
    }
    assert_uniform("SRANDMEMBER 100", &members, &draws);
    // SPOP of one member, put back each time: uniform too.
    let mut draws = Vec::new();
    for _ in 0..9000 {
        let m = c.cmd(&["SPOP", "m"]).str();
        assert_eq!(c.cmd(&["SADD", "m", &m]), int(1));
        draws.push(m);
    }
    assert_uniform("SPOP", &members, &draws);
}

#[test]
fn pipelined_member_writes_and_lookups_match_a_model_in_one_tick_and_after_restart() {
    // One pipeline, so many commands share an event-loop tick: member
    // lookups answered by the member cache (src/storage/subcache.rs) must see
    // every earlier write of the tick, and what they answered must be what
    // RocksDB holds after a restart (with an empty cache). A tiny member
    // cache makes eviction happen along the way.
    let mut s = TestServer::start("[storage]\nmember_cache_size = 4096\n");
    let mut model: HashSet<String> = HashSet::new();
    let mut rng = common::Rng(0x9e37_79b9_7f4a_7c15);
    let mut cmds = Vec::new();
    let mut want = Vec::new();
    for _ in 0..3000 {
        let m = format!("m{}", rng.below(200));
        match rng.below(4) {
            0 | 1 => {
                cmds.push(common::args(&[b"SADD", b"s", m.as_bytes()]));
                want.push(int(i64::from(model.insert(m))));
            }
            2 => {
                cmds.push(common::args(&[b"SREM", b"s", m.as_bytes()]));
                want.push(int(i64::from(model.remove(&m))));
            }
            _ => {
                cmds.push(common::args(&[b"SISMEMBER", b"s", m.as_bytes()]));
                want.push(int(i64::from(model.contains(&m))));
            }
        }
    }
    assert_eq!(common::pipeline(&s, 0, &cmds), want);
    s.restart();
    let mut c = s.raw();
    let mut all: Vec<String> = model.into_iter().collect();
    all.sort();
    assert_eq!(sorted(c.cmd(&["SMEMBERS", "s"])), all);
    for i in 0..200 {
        let m = format!("m{i}");
        assert_eq!(c.cmd(&["SISMEMBER", "s", &m]), int(i64::from(all.contains(&m))), "{m}");
    }
}
