//! List commands through the real binary: long lists (shifts in the middle,
//! range deletes, bounded ranges), persistence across a restart, expiry kept
//! across changes, and a randomized differential run against a real
//! redis-server comparing raw reply bytes. The edge cases of every command's
//! arguments are in tests/diff/scripts/lists.txt.

mod common;

use common::{RawClient, RedisServer, Reply, TestServer};

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(Some(items.iter().map(|s| Reply::bulk(s)).collect()))
}

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

/// A tiny deterministic PRNG, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    fn int(&mut self, span: i64) -> String {
        (self.below(2 * span as u64 + 1) as i64 - span).to_string()
    }

    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.below(of.len() as u64) as usize]
    }
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
        let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
        ours.send_cmd(&args);
        theirs.send_cmd(&args);
        let (a, b) = (ours.read_raw(), theirs.read_raw());
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "command {i}: {cmd:?} (ours left, redis right)"
        );
    }
    // The final contents agree too.
    for k in ["a", "b", "c"] {
        assert_eq!(all(&mut ours, k), all(&mut theirs, k), "{k}");
    }
}
