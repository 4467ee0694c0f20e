//! Crash safety under load: concurrent writers over strings, lists, hashes
//! and sorted sets (plus MSET and LMOVE, which must be all-or-nothing) while
//! the server is SIGKILLed at random moments, then restarted on the same data
//! dir and checked.
//!
//! What is proven, per `sync` policy:
//! - `always`: 0 acknowledged writes lost over 20 kill cycles.
//! - `everysec` and `no`: 0 lost on a *process* crash, which is what SIGKILL
//!   is: every tick's WAL reaches the OS before its replies are sent. An OS
//!   crash or power loss may lose the last second (`everysec`) or more (`no`);
//!   no test here can provoke that.
//!
//! Each cycle runs the writers for a random while after the first
//! acknowledgements; the test stays bounded (~30 s on two shared cores).

mod common;

use common::{args, pipeline, Reply, TestServer, Writer};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const THREADS: usize = 3;
/// Keys one MSET writes.
const MSET_KEYS: usize = 10;

/// A random number below `n` (std only: RandomState is randomly keyed).
fn random_below(n: u64) -> u64 {
    RandomState::new().build_hasher().finish() % n
}

/// One kind of write: how many were acknowledged, and how many were sent
/// (at most one more: the command in flight when the server died).
#[derive(Debug, Default, Clone, Copy)]
struct Seq {
    acked: u64,
    sent: u64,
}

impl Seq {
    /// Checks the count found after restart and resumes from it.
    fn settle(&mut self, found: u64, what: &str) {
        assert!(
            found >= self.acked && found <= self.sent,
            "{what}: {found} applied, but {} acknowledged and {} sent",
            self.acked,
            self.sent
        );
        self.acked = found;
        self.sent = found;
    }
}

/// What one writer thread has done, carried across cycles.
#[derive(Debug, Default, Clone)]
struct Log {
    /// Acknowledged SETs (key, value).
    sets: Vec<(String, String)>,
    /// RPUSH l:{t} n, for n = 0, 1, 2...
    pushes: Seq,
    /// LMOVE l:{t} m:{t} LEFT RIGHT: moves the oldest element.
    moves: Seq,
    /// HSET h:{t} f{n} n
    hsets: Seq,
    /// ZADD z:{t} n m{n}
    zadds: Seq,
    /// MSET x:{t}:{n}:0..MSET_KEYS, all set to n.
    msets: Seq,
}

/// Sends one write; false once the server is gone.
fn send(w: &mut Writer, seq: &mut Seq, cmd: &[&[u8]], ok: impl Fn(&Reply) -> bool) -> bool {
    seq.sent += 1;
    match w.call(cmd) {
        Some(r) if ok(&r) => {
            seq.acked += 1;
            true
        }
        Some(other) => panic!("{:?}: unexpected reply {other:?}", String::from_utf8_lossy(cmd[0])),
        None => false,
    }
}

/// Writes every kind in turn until the connection fails.
fn write_until_killed(port: u16, cycle: usize, t: usize, mut log: Log, acks: &AtomicUsize) -> Log {
    let Some(mut w) = Writer::connect(port) else {
        return log;
    };
    let is_int = |r: &Reply| matches!(r, Reply::Int(_));
    let (hash, zset) = (format!("h:{t}"), format!("z:{t}"));
    for i in 0.. {
        let key = format!("s:{cycle}:{t}:{i}");
        let value = format!("v{i}-{}", "x".repeat(i % 64));
        if w.call(&[b"SET", key.as_bytes(), value.as_bytes()]).is_some_and(|r| r == Reply::ok()) {
            log.sets.push((key, value));
        } else {
            break;
        }
        let n = log.pushes.sent.to_string();
        if !send(&mut w, &mut log.pushes, &[b"RPUSH", format!("l:{t}").as_bytes(), n.as_bytes()], is_int) {
            break;
        }
        if i % 2 == 1 {
            let expect = Reply::bulk(&log.moves.sent.to_string());
            let (src, dst) = (format!("l:{t}"), format!("m:{t}"));
            let cmd: [&[u8]; 5] = [b"LMOVE", src.as_bytes(), dst.as_bytes(), b"LEFT", b"RIGHT"];
            if !send(&mut w, &mut log.moves, &cmd, |r| *r == expect) {
                break;
            }
        }
        let n = log.hsets.sent.to_string();
        let field = format!("f{n}");
        let cmd: [&[u8]; 4] = [b"HSET", hash.as_bytes(), field.as_bytes(), n.as_bytes()];
        if !send(&mut w, &mut log.hsets, &cmd, |r| *r == Reply::Int(1)) {
            break;
        }
        let n = log.zadds.sent.to_string();
        let member = format!("m{n}");
        let cmd: [&[u8]; 4] = [b"ZADD", zset.as_bytes(), n.as_bytes(), member.as_bytes()];
        if !send(&mut w, &mut log.zadds, &cmd, |r| *r == Reply::Int(1)) {
            break;
        }
        if i % 5 == 0 {
            let n = log.msets.sent.to_string();
            let keys: Vec<String> = (0..MSET_KEYS).map(|k| format!("x:{t}:{n}:{k}")).collect();
            let mut cmd: Vec<&[u8]> = vec![b"MSET"];
            for k in &keys {
                cmd.push(k.as_bytes());
                cmd.push(n.as_bytes());
            }
            if !send(&mut w, &mut log.msets, &cmd, |r| *r == Reply::ok()) {
                break;
            }
        }
        acks.fetch_add(1, Ordering::Relaxed);
    }
    log
}

fn ints(r: &Reply) -> Vec<u64> {
    r.items().iter().map(|x| x.str().parse().expect("integer element")).collect()
}

/// Checks thread `t`'s data after a restart and settles its counters on what
/// was applied (the in-flight command may or may not have been).
fn check(s: &TestServer, t: usize, log: &mut Log, cycle: usize) {
    let at = |what: &str| format!("cycle {cycle}, thread {t}: {what}");
    let mut cmds: Vec<Vec<Vec<u8>>> = log.sets.iter().map(|(k, _)| args(&[b"GET", k.as_bytes()])).collect();
    let lists = [format!("m:{t}"), format!("l:{t}")];
    for l in &lists {
        cmds.push(args(&[b"LRANGE", l.as_bytes(), b"0", b"-1"]));
    }
    cmds.push(args(&[b"HGETALL", format!("h:{t}").as_bytes()]));
    cmds.push(args(&[b"ZRANGE", format!("z:{t}").as_bytes(), b"0", b"-1", b"WITHSCORES"]));
    for n in 0..log.msets.sent {
        let mut mget = vec![b"MGET".to_vec()];
        mget.extend((0..MSET_KEYS).map(|k| format!("x:{t}:{n}:{k}").into_bytes()));
        cmds.push(mget);
    }
    let replies = pipeline(s, 0, &cmds);
    let (sets, rest) = replies.split_at(log.sets.len());
    let lost: Vec<_> = log.sets.iter().zip(sets).filter(|((_, v), r)| **r != Reply::bulk(v)).collect();
    assert!(lost.is_empty(), "{}: {} of {} SETs lost, e.g. {:?}", at("strings"), lost.len(), log.sets.len(), lost[0]);

    // Lists: m ++ l is exactly 0..pushes: an LMOVE neither lost nor doubled an element.
    let (moved, left) = (ints(&rest[0]), ints(&rest[1]));
    let all: Vec<u64> = moved.iter().chain(&left).copied().collect();
    assert_eq!(all, (0..all.len() as u64).collect::<Vec<_>>(), "{}", at("m ++ l is not 0..n"));
    log.pushes.settle(all.len() as u64, &at("RPUSH"));
    log.moves.settle(moved.len() as u64, &at("LMOVE"));

    let hash = rest[2].items();
    let mut fields: Vec<(String, String)> = hash.chunks(2).map(|p| (p[0].str(), p[1].str())).collect();
    fields.sort_by_key(|(_, v)| v.parse::<u64>().expect("hash value"));
    for (n, (f, v)) in fields.iter().enumerate() {
        assert_eq!((f.as_str(), v.as_str()), (format!("f{n}").as_str(), n.to_string().as_str()), "{}", at("hash"));
    }
    log.hsets.settle(fields.len() as u64, &at("HSET"));

    let zset = rest[3].items();
    for (n, p) in zset.chunks(2).enumerate() {
        assert_eq!((p[0].str(), p[1].str()), (format!("m{n}"), n.to_string()), "{}", at("zset"));
    }
    log.zadds.settle(zset.len() as u64 / 2, &at("ZADD"));

    let mut applied = 0;
    for (n, r) in rest[4..].iter().enumerate() {
        let present = r.items().iter().filter(|x| **x == Reply::bulk(&n.to_string())).count();
        assert!(present == 0 || present == MSET_KEYS, "{}", at(&format!("MSET {n} half-applied: {present} keys")));
        applied += (present > 0) as u64;
    }
    log.msets.settle(applied, &at("MSET"));
}

/// `cycles` SIGKILLs under write load on one data dir, checking everything
/// written so far after each restart.
fn kill_under_load(sync: &str, cycles: usize) {
    let mut s = TestServer::start(&format!("[storage]\nsync = \"{sync}\"\n"));
    let mut logs = vec![Log::default(); THREADS];
    let mut total_acked = 0;
    for cycle in 0..cycles {
        let acks = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = logs
            .iter()
            .enumerate()
            .map(|(t, log)| {
                let (port, log, acks) = (s.port, log.clone(), acks.clone());
                std::thread::spawn(move || write_until_killed(port, cycle, t, log, &acks))
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while acks.load(Ordering::Relaxed) < 10 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(random_below(400)));
        s.kill();
        let before: usize = logs.iter().map(|l| l.sets.len()).sum();
        logs = writers.into_iter().map(|w| w.join().expect("writer thread")).collect();
        let acked = logs.iter().map(|l| l.sets.len()).sum::<usize>() - before;
        assert!(acked > 0, "sync={sync} cycle {cycle}: nothing acknowledged before the kill");
        total_acked += acked;
        s.restart();
        for (t, log) in logs.iter_mut().enumerate() {
            check(&s, t, log, cycle);
        }
        if cycle == 0 {
            let log = s.log();
            assert!(log.contains("unclean shutdown"), "restart after SIGKILL does not log the recovery:\n{log}");
        }
    }
    eprintln!("sync={sync}: {cycles} kills, {total_acked} acknowledged iterations, 0 lost");
}

#[test]
fn sigkill_loses_nothing_acknowledged_sync_always_20_cycles() {
    kill_under_load("always", 20);
}

#[test]
fn sigkill_loses_nothing_acknowledged_sync_everysec() {
    kill_under_load("everysec", 6);
}

#[test]
fn sigkill_loses_nothing_acknowledged_sync_no() {
    kill_under_load("no", 6);
}

/// A graceful stop is not reported as a recovery.
#[test]
fn clean_restart_is_not_reported_as_a_recovery() {
    let mut s = TestServer::new();
    assert_eq!(s.raw().cmd(&["SET", "k", "v"]), Reply::ok());
    s.stop();
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "k"]), Reply::bulk("v"));
    assert!(!s.log().contains("unclean shutdown"), "clean stop reported as unclean:\n{}", s.log());
}
