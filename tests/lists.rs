//! List commands through the real binary: long lists (shifts in the middle,
//! range deletes, bounded ranges), persistence across a restart, expiry kept
//! across changes, and a randomized differential run against a real
//! redis-server comparing raw reply bytes. The edge cases of every command's
//! arguments are in tests/diff/scripts/lists.txt.

mod common;

use common::{bulks, encode, int, same_reply, RawClient, RedisServer, Reply, Rng, TestServer};

/// LRANGE key 0 -1 as strings.
fn all(c: &mut RawClient, key: &str) -> Vec<String> {
    c.cmd(&["LRANGE", key, "0", "-1"]).items().iter().map(|r| r.str()).collect()
}

/// Pushes `n` elements "0".."n-1" with one RPUSH.
fn fill(c: &mut RawClient, key: &str, n: usize) -> Vec<String> {
    let elems: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let mut args = vec!["RPUSH", key];
    args.extend(elems.iter().map(|s| s.as_str()));
    assert_eq!(c.cmd(&args), int(n as i64));
    elems
}

#[test]
fn long_list_edits_in_the_middle_stay_consistent() {
    let s = TestServer::new();
    let mut c = s.raw();
    let mut model = fill(&mut c, "l", 2000);

    // Bounded reads anywhere in the list.
    assert_eq!(c.cmd(&["LRANGE", "l", "0", "2"]), bulks(&["0", "1", "2"]));
    assert_eq!(c.cmd(&["LRANGE", "l", "-2", "-1"]), bulks(&["1998", "1999"]));
    assert_eq!(c.cmd(&["LRANGE", "l", "1000", "1001"]), bulks(&["1000", "1001"]));
    assert_eq!(c.cmd(&["LINDEX", "l", "1234"]), Reply::bulk("1234"));
    assert_eq!(c.cmd(&["LINDEX", "l", "-1234"]), Reply::bulk("766"));

    // LINSERT near the head (shifts the head side) and near the tail (the tail side).
    assert_eq!(c.cmd(&["LINSERT", "l", "BEFORE", "3", "h"]), int(2001));
    model.insert(3, "h".into());
    assert_eq!(c.cmd(&["LINSERT", "l", "AFTER", "1995", "t"]), int(2002));
    let at = model.iter().position(|x| x == "1995").unwrap() + 1;
    model.insert(at, "t".into());
    assert_eq!(c.cmd(&["LINSERT", "l", "AFTER", "1000", "m"]), int(2003));
    let at = model.iter().position(|x| x == "1000").unwrap() + 1;
    model.insert(at, "m".into());
    assert_eq!(all(&mut c, "l"), model);

    // LSET, then LREM from both ends and all.
    assert_eq!(c.cmd(&["LSET", "l", "10", "x"]), Reply::ok());
    assert_eq!(c.cmd(&["LSET", "l", "-10", "x"]), Reply::ok());
    assert_eq!(c.cmd(&["LSET", "l", "500", "x"]), Reply::ok());
    model[10] = "x".into();
    let n = model.len();
    model[n - 10] = "x".into();
    model[500] = "x".into();
    assert_eq!(c.cmd(&["LREM", "l", "1", "x"]), int(1));
    model.remove(10);
    assert_eq!(c.cmd(&["LREM", "l", "-1", "x"]), int(1));
    let last = model.iter().rposition(|x| x == "x").unwrap();
    model.remove(last);
    assert_eq!(all(&mut c, "l"), model);
    assert_eq!(c.cmd(&["RPUSH", "l", "x", "x"]), int(model.len() as i64 + 2));
    assert_eq!(c.cmd(&["LREM", "l", "0", "x"]), int(3));
    model.retain(|x| x != "x");
    assert_eq!(all(&mut c, "l"), model);
    assert_eq!(c.cmd(&["LPOS", "l", "1500"]), int(model.iter().position(|x| x == "1500").unwrap() as i64));

    // LTRIM dropping long runs at both ends (range deletes), then the rest.
    assert_eq!(c.cmd(&["LTRIM", "l", "100", "-101"]), Reply::ok());
    let n = model.len();
    model = model[100..n - 100].to_vec();
    assert_eq!(all(&mut c, "l"), model);
    assert_eq!(c.cmd(&["LLEN", "l"]), int(model.len() as i64));
    // Pushes after a trim land next to the kept elements, not in old slots.
    assert_eq!(c.cmd(&["LPUSH", "l", "front"]), int(model.len() as i64 + 1));
    assert_eq!(c.cmd(&["RPUSH", "l", "back"]), int(model.len() as i64 + 2));
    model.insert(0, "front".into());
    model.push("back".into());
    assert_eq!(all(&mut c, "l"), model);

    // Popping big counts from both ends until it is gone.
    let popped = c.cmd(&["LPOP", "l", "700"]).items().iter().map(|r| r.str()).collect::<Vec<_>>();
    assert_eq!(popped, model[..700].to_vec());
    model.drain(..700);
    let popped = c.cmd(&["RPOP", "l", "3"]).items().iter().map(|r| r.str()).collect::<Vec<_>>();
    assert_eq!(
        popped,
        vec![model[model.len() - 1].clone(), model[model.len() - 2].clone(), model[model.len() - 3].clone()]
    );
    model.truncate(model.len() - 3);
    assert_eq!(all(&mut c, "l"), model);
    let rest = c.cmd(&["RPOP", "l", "100000"]).items().len();
    assert_eq!(rest, model.len());
    assert_eq!(c.cmd(&["EXISTS", "l"]), int(0));
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
}

#[test]
fn lists_survive_a_restart_and_keep_their_ttl() {
    let mut s = TestServer::new();
    {
        let mut c = s.raw();
        assert_eq!(c.cmd(&["RPUSH", "l", "a", "b", "c"]), int(3));
        assert_eq!(c.cmd(&["LPUSH", "l", "z"]), int(4));
        assert_eq!(c.cmd(&["EXPIRE", "l", "1000"]), int(1));
        assert_eq!(c.cmd(&["RPUSH", "l", "d"]), int(5));
        assert_eq!(c.cmd(&["LPOP", "l"]), Reply::bulk("z"));
        assert_eq!(c.cmd(&["LMOVE", "l", "l", "LEFT", "RIGHT"]), Reply::bulk("a"));
        assert_eq!(c.cmd(&["RPUSH", "other", "x"]), int(1));
        assert_eq!(c.cmd(&["RPOPLPUSH", "other", "other"]), Reply::bulk("x"));
    }
    s.restart();
    let mut c = s.raw();
    assert_eq!(all(&mut c, "l"), vec!["b", "c", "d", "a"]);
    assert!(matches!(c.cmd(&["TTL", "l"]), Reply::Int(t) if t > 900 && t <= 1000));
    assert_eq!(c.cmd(&["TYPE", "l"]), Reply::Simple("list".into()));
    assert_eq!(all(&mut c, "other"), vec!["x"]);
    assert_eq!(c.cmd(&["DBSIZE"]), int(2));
}

#[test]
fn wrongtype_everywhere_and_resp3_shapes() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "s", "v"]), Reply::ok());
    let wrong = Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into());
    for cmd in [
        &["LPUSH", "s", "a"][..],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "2"],
        &["LLEN", "s"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "a"],
        &["LRANGE", "s", "0", "-1"],
        &["LTRIM", "s", "0", "1"],
        &["LREM", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LPOS", "s", "a"],
        &["RPOPLPUSH", "s", "d"],
        &["LMOVE", "s", "d", "LEFT", "LEFT"],
        &["LMPOP", "1", "s", "LEFT"],
        &["BLPOP", "s", "0"],
        &["BLMOVE", "s", "d", "LEFT", "LEFT", "0"],
        &["BLMPOP", "0", "1", "s", "LEFT"],
    ] {
        assert_eq!(c.cmd(cmd), wrong, "{cmd:?}");
    }
    assert_eq!(c.cmd(&["GET", "s"]), Reply::bulk("v"));

    assert!(matches!(c.cmd(&["HELLO", "3"]), Reply::Map(_)));
    c.send_cmd(&["LPOP", "none", "2"]);
    assert_eq!(c.read_raw(), b"_\r\n");
    c.send_cmd(&["LPOS", "none", "a"]);
    assert_eq!(c.read_raw(), b"_\r\n");
    c.send_cmd(&["RPUSH", "l", "a", "b"]);
    assert_eq!(c.read_raw(), b":2\r\n");
    c.send_cmd(&["LMPOP", "1", "l", "RIGHT", "COUNT", "5"]);
    assert_eq!(c.read_raw(), b"*2\r\n$1\r\nl\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n");
}

/// One random list command over three keys and four values, so matches,
/// rotations, empties and re-creations all happen often.
fn random_command(r: &mut Rng) -> Vec<String> {
    let keys = ["a", "b", "c"];
    let vals = ["w", "x", "y", "z"];
    let key = r.pick(&keys).to_string();
    let val = r.pick(&vals).to_string();
    let ends = ["LEFT", "RIGHT"];
    match r.below(16) {
        0..=2 => {
            let push = r.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]).to_string();
            let mut v = vec![push, key];
            for _ in 0..=r.below(6) {
                v.push(r.pick(&vals).to_string());
            }
            v
        }
        3 => vec![r.pick(&["LPOP", "RPOP"]).into(), key],
        4 => vec![r.pick(&["LPOP", "RPOP"]).into(), key, r.below(5).to_string()],
        5 => vec!["LRANGE".into(), key, r.int(12), r.int(12)],
        6 => vec!["LINDEX".into(), key, r.int(12)],
        7 => vec!["LSET".into(), key, r.int(12), val],
        8 if r.below(3) == 0 => vec!["LTRIM".into(), key, r.int(12), r.int(12)],
        9 => vec!["LREM".into(), key, r.int(3), val],
        10 => vec!["LINSERT".into(), key, r.pick(&["BEFORE", "AFTER"]).into(), val, r.pick(&vals).into()],
        11 => {
            let mut v = vec!["LPOS".into(), key, val];
            if r.below(2) == 0 {
                v.extend(["RANK".into(), r.pick(&["1", "2", "-1", "-2", "3"]).into()]);
            }
            if r.below(2) == 0 {
                v.extend(["COUNT".into(), r.below(4).to_string()]);
            }
            if r.below(2) == 0 {
                v.extend(["MAXLEN".into(), r.below(8).to_string()]);
            }
            v
        }
        12 => vec!["LMOVE".into(), key, r.pick(&keys).into(), r.pick(&ends).into(), r.pick(&ends).into()],
        13 => vec!["RPOPLPUSH".into(), key, r.pick(&keys).into()],
        14 => vec![
            "LMPOP".into(),
            "2".into(),
            key,
            r.pick(&keys).into(),
            r.pick(&ends).into(),
            "COUNT".into(),
            (1 + r.below(4)).to_string(),
        ],
        _ => vec!["LLEN".into(), key],
    }
}

#[test]
fn random_commands_match_redis_byte_for_byte() {
    let Some(redis) = RedisServer::start() else { return };
    let s = TestServer::new();
    let (mut ours, mut theirs) = (s.raw(), redis.raw());
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    for i in 0..3000 {
        let cmd = random_command(&mut r);
        same_reply(&mut ours, &mut theirs, i, &cmd);
    }
    // The final contents agree too.
    for k in ["a", "b", "c"] {
        assert_eq!(all(&mut ours, k), all(&mut theirs, k), "{k}");
    }
}

/// One command of the read-ahead run: pops from either end of a long list
/// mixed with the writes that change the elements next to its ends (LSET
/// near either end, pushes back onto a popped end, LINSERT, LREM, LTRIM)
/// and with a DEL and re-creation; every written value is new (`v{step}`),
/// so a pop answering from a stale read-ahead shows.
fn read_ahead_command(r: &mut Rng, step: usize) -> Vec<String> {
    let val = format!("v{step}");
    match r.below(20) {
        0..=6 => vec![r.pick(&["LPOP", "RPOP"]).into(), "q".into()],
        7 => vec![r.pick(&["LPOP", "RPOP"]).into(), "q".into(), (1 + r.below(3)).to_string()],
        // An index next to either end: 3..=-3.
        8..=10 => vec!["LSET".into(), "q".into(), (3 - r.below(7) as i64).to_string(), val],
        11 | 12 => vec![r.pick(&["LPUSH", "RPUSH"]).into(), "q".into(), val],
        13 => vec!["LINSERT".into(), "q".into(), r.pick(&["BEFORE", "AFTER"]).into(), format!("v{}", step - 1), val],
        14 => vec!["LREM".into(), "q".into(), r.int(2), format!("v{}", step.saturating_sub(2))],
        15 => vec!["LTRIM".into(), "q".into(), r.below(3).to_string(), (-1 - r.below(3) as i64).to_string()],
        16 => vec!["RPOPLPUSH".into(), "q".into(), "q".into()],
        17 if r.below(8) == 0 => vec!["DEL".into(), "q".into()],
        _ => {
            let mut v = vec!["RPUSH".into(), "q".into()];
            v.extend((0..r.below(200)).map(|i| format!("v{step}.{i}")));
            v
        }
    }
}

/// Pops read ahead and cache the elements next to the one popped
/// (`Store::last_member_read`); every later write of those records must show
/// in the next pops, whether it comes in the same pipeline (one tick, the
/// writes still in the tick batch) or later. Compared byte for byte with
/// redis-server; with the member cache at its default size, tiny (entries
/// evicted all the time) and off (pops read their element alone).
#[test]
fn pops_read_ahead_and_still_see_every_later_write() {
    for config in ["", "[storage]\nmember_cache_size = 4096\n", "[storage]\nmember_cache_size = 0\n"] {
        read_ahead_run(config);
    }
}

fn read_ahead_run(config: &str) {
    let Some(redis) = RedisServer::start() else { return };
    let s = TestServer::start(config);
    let (mut ours, mut theirs) = (s.raw(), redis.raw());
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut step = 1;
    for _ in 0..150 {
        // Pipelines of 1 to 30 commands, each answered in one tick.
        let cmds: Vec<Vec<String>> = (0..1 + r.below(30))
            .map(|_| {
                step += 1;
                read_ahead_command(&mut r, step)
            })
            .collect();
        let mut bytes = Vec::new();
        for cmd in &cmds {
            let args: Vec<&[u8]> = cmd.iter().map(String::as_bytes).collect();
            bytes.extend(encode(&args));
        }
        ours.send(&bytes);
        theirs.send(&bytes);
        for cmd in &cmds {
            let (a, b) = (ours.read_raw(), theirs.read_raw());
            assert_eq!(
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b),
                "{cmd:?} with {config:?} (ours left, redis right)"
            );
        }
    }
    assert_eq!(all(&mut ours, "q"), all(&mut theirs, "q"));
}
