//! Streams beyond the differential script: blocking XREAD / XREADGROUP with
//! two connections (compared with a real redis-server when installed),
//! consumer groups across a SIGKILL and restart, XAUTOCLAIM of a dead
//! consumer's entries, approximate trimming over many nodes, and the replies
//! that carry idle times (checked by shape, since times differ).

mod common;

use common::{cmd, named, on_both, reply, wait_parked, RawClient, Reply, TestServer};

#[test]
fn xread_dollar_waits_for_entries_added_after_it_blocked() {
    let t = on_both(|port| {
        let mut a = named(port, "writer");
        let mut b = named(port, "reader");
        let mut out = vec![cmd(&mut a, &["XADD", "s", "1-1", "a", "1"])];
        b.send_cmd(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
        wait_parked(port, "reader", "xread");
        // A write that adds nothing must not make the parked `$` move on.
        out.push(cmd(&mut a, &["XGROUP", "CREATE", "s", "g", "0"]));
        out.push(cmd(&mut a, &["XADD", "s", "2-1", "b", "2"]));
        out.push(reply(&mut b));
        out
    });
    assert_eq!(t[2], "$3\r\n2-1\r\n");
    assert_eq!(t[3], "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
}

#[test]
fn xread_on_a_missing_stream_wakes_on_its_creation_and_times_out_otherwise() {
    let t = on_both(|port| {
        let mut a = named(port, "writer");
        let mut b = named(port, "reader");
        let mut out = vec![cmd(&mut b, &["XREAD", "BLOCK", "30", "STREAMS", "nothing", "$"])];
        b.send_cmd(&["XREAD", "COUNT", "5", "BLOCK", "0", "STREAMS", "x", "y", "$", "$"]);
        wait_parked(port, "reader", "xread");
        out.push(cmd(&mut a, &["XADD", "y", "5-5", "f", "v"]));
        out.push(reply(&mut b));
        out
    });
    assert_eq!(t[0], "*-1\r\n");
    assert_eq!(t[2], "*1\r\n*2\r\n$1\r\ny\r\n*1\r\n*2\r\n$3\r\n5-5\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
}

#[test]
fn xreadgroup_blocks_for_new_entries_and_records_them_pending() {
    let t = on_both(|port| {
        let mut a = named(port, "writer");
        let mut b = named(port, "worker");
        let mut out = vec![cmd(&mut a, &["XGROUP", "CREATE", "jobs", "g", "$", "MKSTREAM"])];
        b.send_cmd(&["XREADGROUP", "GROUP", "g", "w1", "BLOCK", "0", "STREAMS", "jobs", ">"]);
        wait_parked(port, "worker", "xreadgroup");
        out.push(cmd(&mut a, &["XADD", "jobs", "7-0", "job", "1"]));
        out.push(reply(&mut b));
        out.push(cmd(&mut a, &["XPENDING", "jobs", "g"]));
        out.push(cmd(&mut b, &["XREADGROUP", "GROUP", "g", "w1", "BLOCK", "20", "STREAMS", "jobs", ">"]));
        out
    });
    assert_eq!(t[2], "*1\r\n*2\r\n$4\r\njobs\r\n*1\r\n*2\r\n$3\r\n7-0\r\n*2\r\n$3\r\njob\r\n$1\r\n1\r\n");
    assert_eq!(t[3], "*4\r\n:1\r\n$3\r\n7-0\r\n$3\r\n7-0\r\n*1\r\n*2\r\n$2\r\nw1\r\n$1\r\n1\r\n");
    assert_eq!(t[4], "*-1\r\n");
}

#[test]
fn blocked_xreadgroup_gets_nogroup_when_its_group_or_stream_goes() {
    let t = on_both(|port| {
        let mut a = named(port, "writer");
        let mut b = named(port, "worker");
        let mut out = vec![cmd(&mut a, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"])];
        b.send_cmd(&["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]);
        wait_parked(port, "worker", "xreadgroup");
        out.push(cmd(&mut a, &["XGROUP", "DESTROY", "s", "g"]));
        out.push(reply(&mut b));
        out.push(cmd(&mut a, &["XGROUP", "CREATE", "s", "g", "$"]));
        b.send_cmd(&["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]);
        wait_parked(port, "worker", "xreadgroup");
        out.push(cmd(&mut a, &["DEL", "s"]));
        out.push(reply(&mut b));
        out
    });
    assert_eq!(t[2], "-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    assert_eq!(t[5], "-UNBLOCKED the stream key no longer exists\r\n");
}

#[test]
fn ids_stay_monotonic_when_the_clock_is_behind_the_last_id() {
    let t = on_both(|port| {
        let mut a = RawClient::connect(port).expect("connect");
        // An id far in the future: the clock is now "behind" the stream.
        let mut out = vec![cmd(&mut a, &["XADD", "s", "99999999999999-5", "a", "1"])];
        out.push(cmd(&mut a, &["XADD", "s", "*", "b", "2"]));
        out.push(cmd(&mut a, &["XADD", "s", "99999999999999-*", "c", "3"]));
        out.push(cmd(&mut a, &["XADD", "s", "18446744073709551615-18446744073709551615", "d", "4"]));
        out.push(cmd(&mut a, &["XADD", "s", "*", "e", "5"]));
        out
    });
    assert_eq!(t[1], "$16\r\n99999999999999-6\r\n");
    assert_eq!(t[2], "$16\r\n99999999999999-7\r\n");
    assert_eq!(t[4], "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n");
}

#[test]
fn approximate_trimming_removes_whole_nodes_like_redis() {
    on_both(|port| {
        let mut a = RawClient::connect(port).expect("connect");
        let mut out = Vec::new();
        let add = |a: &mut RawClient, from: u64, to: u64| {
            for i in from..to {
                let id = format!("{i}-1");
                a.cmd(&["XADD", "s", &id, "f", "v"]);
            }
        };
        add(&mut a, 1, 251);
        for step in [
            &["XTRIM", "s", "MAXLEN", "~", "120"][..],
            &["XLEN", "s"],
            &["XTRIM", "s", "MAXLEN", "~", "10", "LIMIT", "30"],
            &["XTRIM", "s", "MINID", "~", "230"],
            &["XRANGE", "s", "-", "+", "COUNT", "1"],
            &["XTRIM", "s", "MAXLEN", "=", "120"],
            &["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "0"],
            &["XLEN", "s"],
        ] {
            out.push(cmd(&mut a, step));
        }
        add(&mut a, 300, 420);
        for step in
            [&["XADD", "s", "MAXLEN", "~", "5", "999-1", "x", "y"][..], &["XLEN", "s"], &["XTRIM", "s", "MINID", "400"]]
        {
            out.push(cmd(&mut a, step));
        }
        assert_eq!(out[0], ":100\r\n", "{out:?}");
        out
    });
}

/// Pending entries per consumer, from XPENDING's summary.
fn owners(c: &mut RawClient) -> Vec<(String, String)> {
    let r = c.cmd(&["XPENDING", "jobs", "g"]);
    match r.items().get(3) {
        Some(Reply::Array(Some(list))) => list.iter().map(|p| (p.items()[0].str(), p.items()[1].str())).collect(),
        _ => Vec::new(),
    }
}

fn ids(r: &Reply) -> Vec<String> {
    r.items().iter().map(|e| e.items()[0].str()).collect()
}

#[test]
fn consumer_group_survives_a_crash_and_autoclaims_a_dead_consumers_entries() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    for i in 1..=10 {
        c.cmd(&["XADD", "jobs", &format!("{i}-0"), "n", &i.to_string()]);
    }
    assert_eq!(c.cmd(&["XGROUP", "CREATE", "jobs", "g", "0"]), Reply::ok());
    let read = |c: &mut RawClient, who: &str, n: &str| {
        let r = c.cmd(&["XREADGROUP", "GROUP", "g", who, "COUNT", n, "STREAMS", "jobs", ">"]);
        ids(&r.items()[0].items()[1])
    };
    assert_eq!(read(&mut c, "w1", "4"), ["1-0", "2-0", "3-0", "4-0"]);
    assert_eq!(read(&mut c, "w2", "3"), ["5-0", "6-0", "7-0"]);
    assert_eq!(read(&mut c, "w3", "3"), ["8-0", "9-0", "10-0"]);
    assert_eq!(c.cmd(&["XACK", "jobs", "g", "1-0", "2-0", "5-0"]), Reply::Int(3));

    // Crash: every acknowledged write (reads that created PEL records, acks) must survive.
    s.kill();
    s.restart();
    let mut c = s.raw();
    let w = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(owners(&mut c), [w("w1", "2"), w("w2", "2"), w("w3", "3")]);
    let hist = c.cmd(&["XREADGROUP", "GROUP", "g", "w1", "STREAMS", "jobs", "0"]);
    assert_eq!(ids(&hist.items()[0].items()[1]), ["3-0", "4-0"]);
    // Nothing new is left to deliver.
    assert_eq!(c.cmd(&["XREADGROUP", "GROUP", "g", "w2", "STREAMS", "jobs", ">"]), Reply::Array(None));

    // The live workers finish; w3 is dead and w4 takes over its entries.
    assert_eq!(c.cmd(&["XACK", "jobs", "g", "3-0", "4-0", "6-0", "7-0"]), Reply::Int(4));
    let r = c.cmd(&["XAUTOCLAIM", "jobs", "g", "w4", "0", "0", "COUNT", "2"]);
    let it = r.items();
    assert_eq!(it[0].str(), "10-0", "cursor to continue from");
    assert_eq!(ids(&it[1]), ["8-0", "9-0"]);
    let r = c.cmd(&["XAUTOCLAIM", "jobs", "g", "w4", "0", it[0].str().as_str(), "JUSTID"]);
    assert_eq!(r.items()[0].str(), "0-0");
    assert_eq!(r.items()[1].items().iter().map(Reply::str).collect::<Vec<_>>(), ["10-0"]);
    assert_eq!(owners(&mut c), [w("w4", "3")]);
    // Extended form: id, owner, idle ms, deliveries (2: read once, claimed once; JUSTID does not count).
    let ext = c.cmd(&["XPENDING", "jobs", "g", "-", "+", "10", "w4"]);
    let rows: Vec<_> =
        ext.items().iter().map(|p| (p.items()[0].str(), p.items()[1].str(), p.items()[3].clone())).collect();
    assert_eq!(
        rows,
        [
            ("8-0".into(), "w4".into(), Reply::Int(2)),
            ("9-0".into(), "w4".into(), Reply::Int(2)),
            ("10-0".into(), "w4".into(), Reply::Int(1))
        ]
    );
    assert!(ext.items().iter().all(|p| matches!(p.items()[2], Reply::Int(n) if n >= 0)));
    // XINFO CONSUMERS: name, pending, idle for each consumer, in name order.
    let info = c.cmd(&["XINFO", "CONSUMERS", "jobs", "g"]);
    let names: Vec<_> = info.items().iter().map(|m| (m.items()[1].str(), m.items()[3].clone())).collect();
    assert_eq!(
        names,
        [
            ("w1".into(), Reply::Int(0)),
            ("w2".into(), Reply::Int(0)),
            ("w3".into(), Reply::Int(0)),
            ("w4".into(), Reply::Int(3))
        ]
    );
    assert_eq!(c.cmd(&["XGROUP", "DELCONSUMER", "jobs", "g", "w4"]), Reply::Int(3));
    assert_eq!(c.cmd(&["XPENDING", "jobs", "g"]).items()[0], Reply::Int(0));

    // A graceful restart keeps the group's position and counters too.
    s.restart();
    let mut c = s.raw();
    let groups = c.cmd(&["XINFO", "GROUPS", "jobs"]);
    let g = groups.items()[0].items();
    assert_eq!((g[7].str(), g[9].clone(), g[11].clone()), ("10-0".into(), Reply::Int(10), Reply::Int(0)));
}

#[test]
fn deleting_a_big_stream_touches_only_its_meta_record() {
    let s = TestServer::new();
    let mut c = s.raw();
    for i in 1..=300 {
        c.cmd(&["XADD", "big", &format!("{i}-0"), "f", "v"]);
    }
    c.cmd(&["XGROUP", "CREATE", "big", "g", "0"]);
    c.cmd(&["XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "STREAMS", "big", ">"]);
    assert_eq!(c.cmd(&["DEL", "big"]), Reply::Int(1));
    // A re-created stream starts from scratch: no old entries, groups or PEL.
    c.cmd(&["XADD", "big", "1-0", "f", "v"]);
    assert_eq!(c.cmd(&["XLEN", "big"]), Reply::Int(1));
    assert_eq!(c.cmd(&["XINFO", "GROUPS", "big"]), Reply::Array(Some(vec![])));
    assert_eq!(c.cmd(&["TYPE", "big"]), Reply::Simple("stream".into()));
}

#[test]
fn xclaim_idle_time_and_retrycount_show_in_xpending_and_xinfo_full() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.cmd(&["XADD", "q", "1-0", "f", "v"]);
    c.cmd(&["XADD", "q", "2-0", "f", "v"]);
    c.cmd(&["XGROUP", "CREATE", "q", "g", "0"]);
    c.cmd(&["XREADGROUP", "GROUP", "g", "a", "STREAMS", "q", ">"]);
    // Back-dated by an hour, with a retry count given: idle >= 3600000.
    let r = c.cmd(&["XCLAIM", "q", "g", "b", "0", "1-0", "IDLE", "3600000", "RETRYCOUNT", "9", "JUSTID"]);
    assert_eq!(r.items().iter().map(Reply::str).collect::<Vec<_>>(), ["1-0"]);
    // min-idle-time not reached: 2-0 was delivered just now.
    assert_eq!(c.cmd(&["XCLAIM", "q", "g", "b", "3600000", "2-0"]), Reply::Array(Some(vec![])));
    let old = c.cmd(&["XPENDING", "q", "g", "IDLE", "3000000", "-", "+", "10"]);
    assert_eq!(old.items().len(), 1);
    let row = old.items()[0].items();
    assert_eq!((row[0].str(), row[1].str(), row[3].clone()), ("1-0".into(), "b".into(), Reply::Int(9)));
    assert!(matches!(row[2], Reply::Int(n) if n >= 3_600_000));
    // XINFO STREAM FULL: the group's PEL carries delivery times and counts.
    let full = c.cmd(&["XINFO", "STREAM", "q", "FULL"]);
    let f = full.items();
    assert_eq!(f[0].str(), "length");
    assert_eq!(f[16].str(), "groups");
    let g = f[17].items()[0].items();
    assert_eq!(
        (g[1].str(), g[8].str(), g[9].clone(), g[11].items().len()),
        ("g".into(), "pel-count".into(), Reply::Int(2), 2)
    );
    let consumers = g[13].items();
    assert_eq!(consumers.iter().map(|m| m.items()[1].str()).collect::<Vec<_>>(), ["a", "b"]);
}

/// A pipeline of XADDs is written behind (one RocksDB write for many
/// commands): reads later in the same pipeline must see every entry, a MULTI
/// in the middle must keep the order, and after a SIGKILL every acknowledged
/// entry is there.
#[test]
fn pipelined_xadds_are_read_back_in_the_same_pipeline_and_survive_a_crash() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    let mut batch = Vec::new();
    for i in 1..=40 {
        batch.extend(common::encode(&[b"XADD", b"p", format!("{i}-0").as_bytes(), b"n", i.to_string().as_bytes()]));
        if i == 20 {
            // Read in the middle: sees the twenty entries written before it.
            batch.extend(common::encode(&[b"XRANGE", b"p", b"-", b"+"]));
            batch.extend(common::encode(&[b"MULTI"]));
            batch.extend(common::encode(&[b"XADD", b"p", b"20-1", b"n", b"in-multi"]));
            batch.extend(common::encode(&[b"EXEC"]));
        }
    }
    batch.extend(common::encode(&[b"XREVRANGE", b"p", b"+", b"-", b"COUNT", b"3"]));
    batch.extend(common::encode(&[b"XLEN", b"p"]));
    c.send(&batch);
    let replies: Vec<Reply> = (0..40 + 4 + 2).map(|_| c.read()).collect();
    assert_eq!(replies[0], Reply::bulk("1-0"));
    let mid = &replies[20];
    assert_eq!(ids(mid), (1..=20).map(|i| format!("{i}-0")).collect::<Vec<_>>());
    assert_eq!(replies[23].items(), [Reply::bulk("20-1")]);
    assert_eq!(ids(&replies[44]), ["40-0", "39-0", "38-0"]);
    assert_eq!(replies[45], Reply::Int(41));

    s.kill();
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["XLEN", "p"]), Reply::Int(41));
    let all = c.cmd(&["XRANGE", "p", "19-0", "21-0"]);
    assert_eq!(ids(&all), ["19-0", "20-0", "20-1", "21-0"]);
}
