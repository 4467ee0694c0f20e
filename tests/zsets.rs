//! Sorted-set commands through the real binary: exact RESP2/RESP3 shapes,
//! ZRANK/ZREVRANK WITHSCORE (Redis 7.2, absent from the 7.0 oracle), a
//! 100,000-member sorted set read with bounded walks, multi-call ZSCAN,
//! random members, emptied keys disappearing, TTLs kept or dropped like
//! Redis, persistence across a restart, and a randomized differential run
//! against a real redis-server comparing raw reply bytes. Every command's
//! argument edge cases are in tests/diff/scripts/zsets.txt.

mod common;

use common::{args, assert_uniform, bulks, err, int, pipeline, RawClient, RedisServer, Reply, TestServer};
use std::collections::HashSet;

/// Adds members `{prefix}{i:06}` with score `score(i)` for i in `range`,
/// 1,000 pairs per ZADD.
fn fill(c: &mut RawClient, key: &str, prefix: &str, range: std::ops::Range<usize>, score: impl Fn(usize) -> String) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(1000) {
        let pairs: Vec<(String, String)> = chunk.iter().map(|&i| (score(i), format!("{prefix}{i:06}"))).collect();
        let mut args = vec!["ZADD", key];
        for (s, m) in &pairs {
            args.push(s);
            args.push(m);
        }
        assert_eq!(c.cmd(&args), int(chunk.len() as i64));
    }
}

fn strings(r: &Reply) -> Vec<String> {
    r.items().iter().map(Reply::str).collect()
}

#[test]
fn reply_shapes_in_resp2_and_resp3() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2.5", "b", "inf", "c"]);
    c.send_cmd(&["ZRANGE", "z", "0", "1", "WITHSCORES"]);
    assert_eq!(c.read_raw(), b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n");
    c.send_cmd(&["ZSCORE", "z", "c"]);
    assert_eq!(c.read_raw(), b"$3\r\ninf\r\n");
    c.send_cmd(&["ZSCORE", "z", "nosuch"]);
    assert_eq!(c.read_raw(), b"$-1\r\n");
    c.send_cmd(&["ZINCRBY", "z", "0.1", "a"]);
    assert_eq!(c.read_raw(), b"$18\r\n1.1000000000000001\r\n");
    c.send_cmd(&["ZPOPMIN", "nokey"]);
    assert_eq!(c.read_raw(), b"*0\r\n");
    c.send_cmd(&["ZMPOP", "1", "nokey", "MIN"]);
    assert_eq!(c.read_raw(), b"*-1\r\n");

    c.cmd(&["HELLO", "3"]);
    c.send_cmd(&["ZRANGE", "z", "0", "1", "WITHSCORES"]);
    assert_eq!(c.read_raw(), b"*2\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
    c.send_cmd(&["ZSCORE", "z", "c"]);
    assert_eq!(c.read_raw(), b",inf\r\n");
    c.send_cmd(&["ZSCORE", "z", "nosuch"]);
    assert_eq!(c.read_raw(), b"_\r\n");
    // ZPOPMAX without a count is flat, with a count nested.
    c.send_cmd(&["ZPOPMAX", "z"]);
    assert_eq!(c.read_raw(), b"*2\r\n$1\r\nc\r\n,inf\r\n");
    c.send_cmd(&["ZPOPMAX", "z", "1"]);
    assert_eq!(c.read_raw(), b"*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
    // ZMPOP nests in both protocols.
    c.send_cmd(&["ZMPOP", "1", "z", "MIN", "COUNT", "5"]);
    assert_eq!(c.read_raw(), b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n");
    c.send_cmd(&["ZMPOP", "1", "z", "MIN"]);
    assert_eq!(c.read_raw(), b"_\r\n");
    assert_eq!(c.cmd(&["EXISTS", "z"]), int(0));
}

#[test]
fn rank_with_score_is_redis_7_2() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    c.send_cmd(&["ZRANK", "z", "b", "WITHSCORE"]);
    assert_eq!(c.read_raw(), b"*2\r\n:1\r\n$1\r\n2\r\n");
    c.send_cmd(&["ZREVRANK", "z", "a", "withscore"]);
    assert_eq!(c.read_raw(), b"*2\r\n:2\r\n$1\r\n1\r\n");
    c.send_cmd(&["ZRANK", "z", "nosuch", "WITHSCORE"]);
    assert_eq!(c.read_raw(), b"*-1\r\n");
    c.send_cmd(&["ZRANK", "nokey", "a", "WITHSCORE"]);
    assert_eq!(c.read_raw(), b"*-1\r\n");
    c.send_cmd(&["ZRANK", "z", "nosuch"]);
    assert_eq!(c.read_raw(), b"$-1\r\n");
    assert_eq!(c.cmd(&["ZRANK", "z", "a", "WITHSCORES"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["ZRANK", "z", "a", "WITHSCORE", "x"]), err("ERR wrong number of arguments for 'zrank' command"));
    c.cmd(&["HELLO", "3"]);
    c.send_cmd(&["ZRANK", "z", "c", "WITHSCORE"]);
    assert_eq!(c.read_raw(), b"*2\r\n:2\r\n,3\r\n");
    c.send_cmd(&["ZRANK", "z", "nosuch", "WITHSCORE"]);
    assert_eq!(c.read_raw(), b"_\r\n");
}

#[test]
fn hundred_thousand_members_are_read_with_bounded_walks() {
    let s = TestServer::new();
    let mut c = s.raw();
    let n = 100_000;
    fill(&mut c, "big", "m", 0..n, |i| i.to_string());
    assert_eq!(c.cmd(&["ZCARD", "big"]), int(n as i64));

    assert_eq!(strings(&c.cmd(&["ZRANGE", "big", "0", "9"])), (0..10).map(|i| format!("m{i:06}")).collect::<Vec<_>>());
    assert_eq!(
        strings(&c.cmd(&["ZRANGE", "big", "-3", "-1", "WITHSCORES"])),
        ["m099997", "99997", "m099998", "99998", "m099999", "99999"]
    );
    assert_eq!(strings(&c.cmd(&["ZREVRANGE", "big", "0", "1"])), ["m099999", "m099998"]);
    assert_eq!(strings(&c.cmd(&["ZRANGE", "big", "50000", "50001"])), ["m050000", "m050001"]);
    assert_eq!(strings(&c.cmd(&["ZRANGE", "big", "-50001", "-50000", "REV"])), ["m050000", "m049999"]);
    assert_eq!(c.cmd(&["ZSCORE", "big", "m077777"]), Reply::bulk("77777"));
    assert_eq!(c.cmd(&["ZRANK", "big", "m099990"]), int(99_990));
    assert_eq!(c.cmd(&["ZRANK", "big", "m050000"]), int(50_000));
    assert_eq!(c.cmd(&["ZREVRANK", "big", "m099990"]), int(9));
    assert_eq!(c.cmd(&["ZRANK", "big", "nosuch"]), Reply::Bulk(None));
    assert_eq!(
        strings(&c.cmd(&["ZRANGEBYSCORE", "big", "(99990", "+inf", "LIMIT", "2", "3"])),
        ["m099993", "m099994", "m099995"]
    );
    assert_eq!(strings(&c.cmd(&["ZREVRANGEBYSCORE", "big", "(12", "-inf", "LIMIT", "0", "2"])), ["m000011", "m000010"]);
    assert_eq!(c.cmd(&["ZCOUNT", "big", "(10", "20"]), int(10));
    assert_eq!(c.cmd(&["ZCOUNT", "big", "-inf", "+inf"]), int(n as i64));
    assert_eq!(c.cmd(&["ZMSCORE", "big", "m000000", "m099999", "x"]).items().len(), 3);

    // Changes keep both indexes in step.
    assert_eq!(c.cmd(&["ZADD", "big", "-1", "m050000"]), int(0));
    assert_eq!(strings(&c.cmd(&["ZRANGE", "big", "0", "1"])), ["m050000", "m000000"]);
    assert_eq!(c.cmd(&["ZRANK", "big", "m050001"]), int(50_001));
    assert_eq!(strings(&c.cmd(&["ZPOPMAX", "big", "2"])), ["m099999", "99999", "m099998", "99998"]);
    assert_eq!(c.cmd(&["ZREMRANGEBYRANK", "big", "1", "10"]), int(10));
    assert_eq!(c.cmd(&["ZREMRANGEBYSCORE", "big", "(99990", "99997"]), int(7));
    assert_eq!(c.cmd(&["ZCARD", "big"]), int(n as i64 - 19));
    assert_eq!(strings(&c.cmd(&["ZRANGE", "big", "0", "2"])), ["m050000", "m000010", "m000011"]);
    assert_eq!(strings(&c.cmd(&["ZRANGE", "big", "-1", "-1"])), ["m099990"]);
}

#[test]
fn every_rank_is_counted_right_from_both_ends() {
    let s = TestServer::new();
    let mut c = s.raw();
    // Ranks are counted by walking from both ends a batch at a time: check
    // every member, batch boundaries included, in a pipeline.
    let n = 1500;
    fill(&mut c, "z", "m", 0..n, |i| (i / 3).to_string());
    for i in 0..n {
        let m = format!("m{i:06}");
        c.send_cmd(&["ZRANK", "z", &m]);
        c.send_cmd(&["ZREVRANK", "z", &m, "WITHSCORE"]);
    }
    for i in 0..n {
        assert_eq!(c.read(), int(i as i64), "ZRANK of member {i}");
        let expected = Reply::Array(Some(vec![int((n - 1 - i) as i64), Reply::bulk(&(i / 3).to_string())]));
        assert_eq!(c.read(), expected, "ZREVRANK of member {i}");
    }
}

#[test]
fn lex_ranges_on_a_big_equal_score_set_seek_by_member() {
    let s = TestServer::new();
    let mut c = s.raw();
    fill(&mut c, "lex", "k", 0..20_000, |_| "0".into());
    assert_eq!(strings(&c.cmd(&["ZRANGEBYLEX", "lex", "[k012000", "(k012003"])), ["k012000", "k012001", "k012002"]);
    assert_eq!(strings(&c.cmd(&["ZRANGEBYLEX", "lex", "(k012000", "+", "LIMIT", "1", "2"])), ["k012002", "k012003"]);
    assert_eq!(strings(&c.cmd(&["ZREVRANGEBYLEX", "lex", "(k012000", "-", "LIMIT", "0", "2"])), ["k011999", "k011998"]);
    assert_eq!(strings(&c.cmd(&["ZRANGE", "lex", "[k019999", "[k019998", "BYLEX", "REV"])), ["k019999", "k019998"]);
    assert_eq!(c.cmd(&["ZLEXCOUNT", "lex", "[k000100", "(k000200"]), int(100));
    assert_eq!(c.cmd(&["ZREMRANGEBYLEX", "lex", "[k010000", "(k011000"]), int(1000));
    assert_eq!(c.cmd(&["ZCARD", "lex"]), int(19_000));
    assert_eq!(strings(&c.cmd(&["ZRANGEBYLEX", "lex", "(k009999", "+", "LIMIT", "0", "1"])), ["k011000"]);
}

#[test]
fn zscan_of_a_big_set_returns_every_member_once() {
    let s = TestServer::new();
    let mut c = s.raw();
    fill(&mut c, "z", "m", 0..1000, |i| format!("{i}.5"));
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c.cmd(&["ZSCAN", "z", &cursor, "COUNT", "100"]).items();
        calls += 1;
        let page = strings(&r[1]);
        for pair in page.chunks(2) {
            let i: usize = pair[0][1..].parse().unwrap();
            assert_eq!(pair[1], format!("{i}.5"));
            assert!(seen.insert(i), "member {i} returned twice");
        }
        cursor = r[0].str();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    assert!(calls > 5, "a big sorted set is scanned in several calls");
    // MATCH filters members.
    let r = c.cmd(&["ZSCAN", "z", "0", "MATCH", "m00099*", "COUNT", "10000"]).items();
    assert_eq!(
        strings(&r[1]),
        [
            "m000990", "990.5", "m000991", "991.5", "m000992", "992.5", "m000993", "993.5", "m000994", "994.5",
            "m000995", "995.5", "m000996", "996.5", "m000997", "997.5", "m000998", "998.5", "m000999", "999.5"
        ]
    );
}

#[test]
fn random_members_are_members() {
    let s = TestServer::new();
    let mut c = s.raw();
    fill(&mut c, "z", "m", 0..500, |i| i.to_string());
    let all: HashSet<String> = (0..500).map(|i| format!("m{i:06}")).collect();
    let one = c.cmd(&["ZRANDMEMBER", "z"]).str();
    assert!(all.contains(&one));
    let distinct = strings(&c.cmd(&["ZRANDMEMBER", "z", "50"]));
    assert_eq!(distinct.len(), 50);
    assert_eq!(distinct.iter().collect::<HashSet<_>>().len(), 50);
    assert!(distinct.iter().all(|m| all.contains(m)));
    let repeated = strings(&c.cmd(&["ZRANDMEMBER", "z", "-2000"]));
    assert_eq!(repeated.len(), 2000);
    assert!(repeated.iter().all(|m| all.contains(m)));
    let with = strings(&c.cmd(&["ZRANDMEMBER", "z", "-5", "WITHSCORES"]));
    for pair in with.chunks(2) {
        assert_eq!(pair[1], pair[0][1..].parse::<u64>().unwrap().to_string());
    }
    // A count covering the set: everything, highest score first (Redis's order).
    let whole = strings(&c.cmd(&["ZRANDMEMBER", "z", "1000"]));
    assert_eq!(whole.len(), 500);
    assert_eq!(whole[0], "m000499");
    assert_eq!(whole[499], "m000000");
}

#[test]
fn random_members_are_uniform_with_their_scores() {
    // Unpadded members 1..=600 (a lopsided trie of the `data` records, which
    // the old descent drew from with a strong bias): ZRANDMEMBER now picks
    // uniform ranks of the score order through the rank index. Scores come
    // from the `zscore` records and must match the member's.
    let s = TestServer::new();
    let mut c = s.raw();
    let members: Vec<String> = (1..=600).map(|i| i.to_string()).collect();
    let mut args = vec!["ZADD", "u"];
    let scores: Vec<String> = (1..=600).map(|i| format!("{}", (i * 7919) % 600)).collect();
    for (m, sc) in members.iter().zip(&scores) {
        args.extend([sc.as_str(), m.as_str()]);
    }
    assert_eq!(c.cmd(&args), int(600));
    let mut draws = Vec::new();
    for _ in 0..240 {
        let reply = c.cmd(&["ZRANDMEMBER", "u", "-250", "WITHSCORES"]).items();
        for pair in reply.chunks(2) {
            let m = pair[0].str();
            let i: usize = m.parse().expect("member");
            assert_eq!(pair[1].str(), scores[i - 1], "score of {m}");
            draws.push(m);
        }
    }
    assert_uniform("ZRANDMEMBER -250", &members, &draws);
    // Score changes between picks (a delete and a put of `zscore`): still
    // uniform, with the new scores.
    let mut args = vec!["ZADD", "u"];
    for m in &members[..300] {
        args.extend(["1000", m.as_str()]);
    }
    assert_eq!(c.cmd(&args), int(0));
    let mut draws = Vec::new();
    for _ in 0..300 {
        let reply = c.cmd(&["ZRANDMEMBER", "u", "200", "WITHSCORES"]).items();
        let distinct: HashSet<String> = reply.chunks(2).map(|p| p[0].str()).collect();
        assert_eq!(distinct.len(), 200, "distinct members");
        for pair in reply.chunks(2) {
            let m = pair[0].str();
            let i: usize = m.parse().expect("member");
            let want = if i <= 300 { "1000" } else { scores[i - 1].as_str() };
            assert_eq!(pair[1].str(), want, "score of {m}");
            draws.push(m);
        }
    }
    assert_uniform("ZRANDMEMBER 200", &members, &draws);
}

#[test]
fn emptied_sorted_sets_disappear() {
    let s = TestServer::new();
    let mut c = s.raw();
    let cases: [&[&str]; 8] = [
        &["ZREM", "z", "a", "b", "c"],
        &["ZPOPMIN", "z", "3"],
        &["ZPOPMAX", "z", "10"],
        &["ZMPOP", "1", "z", "MAX", "COUNT", "3"],
        &["ZREMRANGEBYRANK", "z", "0", "-1"],
        &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"],
        &["ZREMRANGEBYLEX", "z", "-", "+"],
        &["ZINTERSTORE", "z", "2", "z", "nokey"],
    ];
    for cmd in cases {
        c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        c.cmd(cmd);
        assert_eq!(c.cmd(&["EXISTS", "z"]), int(0), "{cmd:?}");
        assert_eq!(c.cmd(&["TYPE", "z"]), Reply::Simple("none".into()), "{cmd:?}");
        // A new sorted set at the same key starts empty (no leftover members).
        assert_eq!(c.cmd(&["ZADD", "z", "9", "x"]), int(1));
        assert_eq!(c.cmd(&["ZRANGE", "z", "0", "-1"]), bulks(&["x"]), "{cmd:?}");
        c.cmd(&["DEL", "z"]);
    }
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
}

#[test]
fn wrongtype_and_overwrites() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["SET", "str", "x"]);
    let wrong = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_eq!(c.cmd(&["ZADD", "str", "1", "a"]), wrong);
    assert_eq!(c.cmd(&["ZRANGE", "str", "0", "-1"]), wrong);
    assert_eq!(c.cmd(&["ZSCAN", "str", "0"]), wrong);
    assert_eq!(c.cmd(&["ZUNION", "2", "nokey", "str"]), wrong);
    c.cmd(&["ZADD", "z", "1", "a"]);
    assert_eq!(c.cmd(&["GET", "z"]), wrong);
    assert_eq!(c.cmd(&["SADD", "z", "a"]), wrong);
    // The STORE variants replace a destination of any type, TTL included.
    c.cmd(&["EXPIRE", "str", "1000"]);
    assert_eq!(c.cmd(&["ZUNIONSTORE", "str", "1", "z"]), int(1));
    assert_eq!(c.cmd(&["TYPE", "str"]), Reply::Simple("zset".into()));
    assert_eq!(c.cmd(&["TTL", "str"]), int(-1));
    // A plain SET replaces a sorted set.
    assert_eq!(c.cmd(&["SET", "z", "v"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "z"]), Reply::bulk("v"));
}

#[test]
fn changes_keep_the_ttl() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    c.cmd(&["EXPIRE", "z", "1000"]);
    c.cmd(&["ZADD", "z", "4", "d"]);
    c.cmd(&["ZINCRBY", "z", "1", "a"]);
    c.cmd(&["ZREM", "z", "b"]);
    c.cmd(&["ZPOPMIN", "z"]);
    let ttl = c.cmd(&["TTL", "z"]);
    assert!(matches!(ttl, Reply::Int(t) if t > 990), "{ttl:?}");
    assert_eq!(c.cmd(&["ZCARD", "z"]), int(2));
}

#[test]
fn same_key_as_source_and_destination() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["ZADD", "d", "1", "a", "2", "b"]);
    assert_eq!(c.cmd(&["ZUNIONSTORE", "d", "2", "d", "d"]), int(2));
    assert_eq!(strings(&c.cmd(&["ZRANGE", "d", "0", "-1", "WITHSCORES"])), ["a", "2", "b", "4"]);
    assert_eq!(c.cmd(&["ZRANGESTORE", "d", "d", "1", "1"]), int(1));
    assert_eq!(strings(&c.cmd(&["ZRANGE", "d", "0", "-1", "WITHSCORES"])), ["b", "4"]);
    assert_eq!(c.cmd(&["ZDIFFSTORE", "d", "2", "d", "d"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "d"]), int(0));
    // A member named twice in one command counts once.
    assert_eq!(c.cmd(&["ZADD", "d", "1", "x", "2", "x", "3", "x"]), int(1));
    assert_eq!(c.cmd(&["ZSCORE", "d", "x"]), Reply::bulk("3"));
    assert_eq!(c.cmd(&["ZRANGE", "d", "0", "-1"]), bulks(&["x"]));
    assert_eq!(c.cmd(&["ZREM", "d", "x", "x"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "d"]), int(0));
}

#[test]
fn binary_members_and_exact_scores() {
    let s = TestServer::new();
    let mut c = s.raw();
    let weird: &[u8] = b"m\0\r\n\xff";
    assert_eq!(c.cmd_bytes(&[b"ZADD", b"z", b"0.1", weird, b"-0", b"", b"1e-300", b"tiny"]), int(3));
    assert_eq!(c.cmd_bytes(&[b"ZSCORE", b"z", weird]), Reply::bulk("0.10000000000000001"));
    assert_eq!(c.cmd_bytes(&[b"ZSCORE", b"z", b""]), Reply::bulk("0"));
    assert_eq!(c.cmd_bytes(&[b"ZSCORE", b"z", b"tiny"]), Reply::bulk("1e-300"));
    assert_eq!(
        c.cmd(&["ZRANGE", "z", "0", "-1"]),
        Reply::Array(Some(vec![Reply::bulk(""), Reply::bulk("tiny"), Reply::Bulk(Some(weird.to_vec()))]))
    );
    assert_eq!(c.cmd_bytes(&[b"ZRANK", b"z", weird]), int(2));
}

#[test]
fn sorted_sets_survive_a_restart() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    fill(&mut c, "z", "m", 0..3000, |i| format!("{}", i as f64 / 4.0));
    c.cmd(&["ZADD", "small", "-inf", "lo", "inf", "hi", "1.5", "mid"]);
    c.cmd(&["ZREM", "z", "m000001"]);
    drop(c);
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["ZCARD", "z"]), int(2999));
    assert_eq!(
        strings(&c.cmd(&["ZRANGE", "z", "0", "2", "WITHSCORES"])),
        ["m000000", "0", "m000002", "0.5", "m000003", "0.75"]
    );
    assert_eq!(c.cmd(&["ZSCORE", "z", "m002999"]), Reply::bulk("749.75"));
    assert_eq!(c.cmd(&["ZRANK", "z", "m002999"]), int(2998));
    assert_eq!(
        strings(&c.cmd(&["ZRANGE", "small", "0", "-1", "WITHSCORES"])),
        ["lo", "-inf", "mid", "1.5", "hi", "inf"]
    );
}

/// One pipeline (one event-loop tick, one write batch, whose member records
/// reach RocksDB sorted by key) rewrites, removes and re-adds the same
/// members many times: the last write of each record wins, before and
/// after a restart that replays the batch from the WAL, and no stale score
/// record is left in the order.
#[test]
fn many_rewrites_of_the_same_members_in_one_tick_keep_their_order() {
    let mut s = TestServer::new();
    let mut cmds = Vec::new();
    let mut model = std::collections::BTreeMap::new();
    let mut rng = Lcg(7);
    for round in 0..600 {
        let m = format!("m{}", rng.below(5));
        if round % 7 == 3 {
            cmds.push(args(&[b"ZREM", b"z", m.as_bytes()]));
            model.remove(&m);
        } else {
            let score = rng.below(1000) as i64 - 500;
            cmds.push(args(&[b"ZADD", b"z", score.to_string().as_bytes(), m.as_bytes()]));
            model.insert(m, score);
        }
        let f = format!("f{}", rng.below(3));
        cmds.push(args(&[b"HSET", b"h", f.as_bytes(), round.to_string().as_bytes()]));
    }
    cmds.push(args(&[b"HDEL", b"h", b"f0"]));
    cmds.push(args(&[b"HSET", b"h", b"f0", b"last"]));
    pipeline(&s, 0, &cmds);
    let mut by_score: Vec<(i64, String)> = model.iter().map(|(m, &sc)| (sc, m.clone())).collect();
    by_score.sort();
    let want: Vec<String> = by_score.iter().flat_map(|(sc, m)| [m.clone(), sc.to_string()]).collect();
    for restarted in [false, true] {
        if restarted {
            s.restart();
        }
        let mut c = s.raw();
        assert_eq!(strings(&c.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"])), want, "restarted: {restarted}");
        assert_eq!(strings(&c.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"])), want);
        assert_eq!(c.cmd(&["ZCARD", "z"]), int(model.len() as i64));
        assert_eq!(c.cmd(&["HGET", "h", "f0"]), Reply::bulk("last"));
        assert_eq!(c.cmd(&["HLEN", "h"]), int(3));
    }
}

/// A tiny deterministic generator for the differential run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[test]
fn randomized_commands_match_redis() {
    let Some(redis) = RedisServer::start() else { return };
    let s = TestServer::new();
    let (mut ours, mut theirs) = (s.raw(), redis.raw());
    let mut rng = Lcg(42);
    let keys = ["a", "b", "c"];
    let members = ["m1", "m2", "m3", "m4", "m5", "m6", "", "x"];
    let scores = ["0", "1", "-1", "2.5", "inf", "-inf", "-0", "1e300", "0.1", "3"];
    let bounds = ["-inf", "+inf", "0", "(0", "1", "(1", "2.5", "(3", "-1"];
    let lex = ["-", "+", "[m1", "(m3", "[m5", "(x", "[", "(m6"];
    let idx = ["0", "1", "-1", "2", "-3", "10", "-10"];
    for step in 0..3000 {
        let k = rng.pick(&keys);
        let args: Vec<&str> = match rng.below(17) {
            0..=3 => vec![
                "ZADD",
                k,
                rng.pick(&["NX", "XX", "GT", "LT", "CH", "CH"]),
                rng.pick(&scores),
                rng.pick(&members),
                rng.pick(&scores),
                rng.pick(&members),
            ],
            4 => vec!["ZINCRBY", k, rng.pick(&scores), rng.pick(&members)],
            5 => vec!["ZREM", k, rng.pick(&members), rng.pick(&members)],
            6 => vec!["ZRANGE", k, rng.pick(&idx), rng.pick(&idx), rng.pick(&["WITHSCORES", "REV"])],
            7 => vec![
                "ZRANGEBYSCORE",
                k,
                rng.pick(&bounds),
                rng.pick(&bounds),
                "WITHSCORES",
                "LIMIT",
                rng.pick(&["0", "1", "2"]),
                rng.pick(&["-1", "1", "3"]),
            ],
            8 => vec!["ZREVRANGEBYSCORE", k, rng.pick(&bounds), rng.pick(&bounds)],
            9 => vec![rng.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT"]), k, rng.pick(&lex), rng.pick(&lex)],
            10 => vec![rng.pick(&["ZRANK", "ZREVRANK", "ZSCORE"]), k, rng.pick(&members)],
            11 => vec![rng.pick(&["ZPOPMIN", "ZPOPMAX"]), k, rng.pick(&["1", "2"])],
            12 => vec![rng.pick(&["ZREMRANGEBYRANK", "ZREMRANGEBYSCORE"]), k, rng.pick(&idx), rng.pick(&idx)],
            13 => {
                vec![rng.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), k, "2", rng.pick(&keys), rng.pick(&keys)]
            }
            14 => vec![
                rng.pick(&["ZUNION", "ZINTER"]),
                "2",
                rng.pick(&keys),
                rng.pick(&keys),
                "WEIGHTS",
                rng.pick(&scores),
                rng.pick(&scores),
                "AGGREGATE",
                rng.pick(&["SUM", "MIN", "MAX"]),
                "WITHSCORES",
            ],
            15 => vec!["ZCOUNT", k, rng.pick(&bounds), rng.pick(&bounds)],
            _ => vec!["ZCARD", k],
        };
        let (a, b) = (ours.cmd(&args), theirs.cmd(&args));
        assert_eq!(a, b, "step {step}: {args:?}");
    }
}

/// Sends `args` to both servers and asserts equal replies.
fn both(ours: &mut RawClient, theirs: &mut RawClient, step: usize, args: &[&str]) -> Reply {
    let (a, b) = (ours.cmd(args), theirs.cmd(args));
    assert_eq!(a, b, "step {step}: {args:?}");
    a
}

#[test]
fn ranks_of_a_big_sorted_set_match_redis_through_writes_and_a_restart() {
    // ZRANK / ZREVRANK / rank ranges of a set big enough for the rank index
    // (storage/rank.rs), checked against redis-server after every kind of
    // zset write, with members crowding into a few score values (so blocks
    // grow and are cut again), a MULTI, a DEL + re-creation and a restart
    // (the index is rebuilt from the records).
    let Some(redis) = RedisServer::start() else { return };
    let mut s = TestServer::new();
    let (mut ours, mut theirs) = (s.raw(), redis.raw());
    let n = 12_000usize;
    fill(&mut ours, "z", "m", 0..n, |i| (i % 97).to_string());
    fill(&mut theirs, "z", "m", 0..n, |i| (i % 97).to_string());
    let mut rng = Lcg(7);
    let mut next_new = n;
    let mut restarted = false;
    for step in 0..6000 {
        if step == 3000 && !restarted {
            drop(ours);
            s.restart();
            ours = s.raw();
            restarted = true;
        }
        let member = format!("m{:06}", rng.below(next_new as u64 + 20));
        let score = rng.pick(&["3", "3.5", "50", "-1", "96", "1e9", "42"]).to_string();
        let card = match ours.cmd(&["ZCARD", "z"]) {
            Reply::Int(c) => c,
            r => panic!("ZCARD: {r:?}"),
        };
        let deep = (card / 2 + rng.below(card as u64 / 2 + 1) as i64 - card / 4).max(0).to_string();
        let deep_end = (card / 2 + rng.below(300) as i64).to_string();
        let neg = format!("-{}", 1 + rng.below(card as u64));
        let args: Vec<String> = match rng.below(20) {
            0..=2 => {
                next_new += 1;
                vec!["ZADD".into(), "z".into(), score, format!("m{:06}", next_new - 1)]
            }
            3 => vec!["ZADD".into(), "z".into(), "XX".into(), "CH".into(), score, member.clone()],
            4 => vec!["ZINCRBY".into(), "z".into(), score, member.clone()],
            5 => vec!["ZREM".into(), "z".into(), member.clone(), format!("m{:06}", rng.below(next_new as u64))],
            6 => vec![rng.pick(&["ZPOPMIN", "ZPOPMAX"]).into(), "z".into(), rng.pick(&["1", "3"]).into()],
            7 => {
                let end = deep.parse::<u64>().expect("a number") + rng.below(4);
                vec!["ZREMRANGEBYRANK".into(), "z".into(), deep.clone(), end.to_string()]
            }
            8 => vec!["ZREMRANGEBYSCORE".into(), "z".into(), "(3".into(), "3.5".into()],
            9 => vec!["ZMPOP".into(), "1".into(), "z".into(), rng.pick(&["MIN", "MAX"]).into()],
            10..=13 => vec![rng.pick(&["ZRANK", "ZREVRANK"]).into(), "z".into(), member.clone()],
            14 | 15 => vec!["ZRANGE".into(), "z".into(), deep.clone(), deep_end, "WITHSCORES".into()],
            16 => vec!["ZRANGE".into(), "z".into(), deep.clone(), (card / 2 + 5).to_string(), "REV".into()],
            17 => vec!["ZRANGE".into(), "z".into(), neg.clone(), neg, "WITHSCORES".into()],
            18 => vec!["ZREVRANGE".into(), "z".into(), deep.clone(), deep],
            _ => {
                // Several writes and ranks in one MULTI.
                for cmd in [
                    vec!["MULTI"],
                    vec!["ZADD", "z", "3", "mx-a", "3", "mx-b"],
                    vec!["ZRANK", "z", "mx-b"],
                    vec!["ZREM", "z", "mx-a", &member],
                    vec!["ZREVRANK", "z", "mx-b"],
                    vec!["ZRANGE", "z", "6000", "6002"],
                ] {
                    both(&mut ours, &mut theirs, step, &cmd);
                }
                vec!["EXEC".into()]
            }
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        both(&mut ours, &mut theirs, step, &args);
    }
    // Every member's rank at the end, from both ends.
    let all = both(&mut ours, &mut theirs, 0, &["ZRANGE", "z", "0", "-1"]);
    for (i, m) in strings(&all).iter().enumerate().step_by(7) {
        assert_eq!(ours.cmd(&["ZRANK", "z", m]), int(i as i64), "final ZRANK {m}");
    }
    // A new version of the key must not be answered from the old index.
    for c in [&mut ours, &mut theirs] {
        c.cmd(&["DEL", "z"]);
        fill(c, "z", "n", 0..2000, |i| ((2000 - i) / 2).to_string());
    }
    for m in ["n000000", "n000777", "n001999", "m000001"] {
        both(&mut ours, &mut theirs, 0, &["ZRANK", "z", m]);
        both(&mut ours, &mut theirs, 0, &["ZREVRANK", "z", m]);
    }
    both(&mut ours, &mut theirs, 0, &["ZRANGE", "z", "1000", "1003", "WITHSCORES"]);
}
