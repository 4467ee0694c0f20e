//! Durability: data survives a graceful restart; under every sync policy a
//! SIGKILL at a random moment loses no acknowledged write and never leaves a
//! command half-applied (MSET is all-or-nothing); a second server on the same
//! data dir is refused with a clear message.

mod common;

use common::{encode, parse, Reply, TestServer};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A random number below `n` (std only: RandomState is randomly keyed).
fn random_below(n: u64) -> u64 {
    RandomState::new().build_hasher().finish() % n
}

/// A client for writer threads: every failure is `None` (the server is
/// killed under it), never a panic.
struct Writer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Writer {
    fn connect(port: u16) -> Option<Writer> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream.set_nodelay(true).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        Some(Writer { stream, buf: Vec::new() })
    }

    fn call(&mut self, args: &[&[u8]]) -> Option<Reply> {
        self.stream.write_all(&encode(args)).ok()?;
        loop {
            if let Some((reply, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Some(reply);
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

/// Sends `cmds` in db `db` as one pipeline and returns their replies.
fn pipeline(s: &TestServer, db: u32, cmds: &[Vec<Vec<u8>>]) -> Vec<Reply> {
    let mut bytes = Vec::new();
    for cmd in cmds {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        bytes.extend(encode(&args));
    }
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let select = encode(&[b"SELECT", db.to_string().as_bytes()]);
    let sender = std::thread::spawn(move || {
        writer.write_all(&select).expect("send");
        writer.write_all(&bytes).expect("send");
    });
    let mut buf = Vec::new();
    let mut replies = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while replies.len() < cmds.len() + 1 {
        while let Some((r, used)) = parse(&buf) {
            buf.drain(..used);
            replies.push(r);
        }
        if replies.len() == cmds.len() + 1 {
            break;
        }
        let n = stream.read(&mut chunk).expect("read replies");
        assert!(n > 0, "connection closed during pipeline");
        buf.extend_from_slice(&chunk[..n]);
    }
    sender.join().expect("sender");
    assert_eq!(replies.remove(0), Reply::ok(), "SELECT {db}");
    replies
}

fn args(words: &[&[u8]]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.to_vec()).collect()
}

#[test]
fn graceful_restart_keeps_every_key_and_ttl() {
    let mut s = TestServer::new();
    let dbs = [0u32, 1, 7, 15];
    let big = vec![b'b'; 300 * 1024];
    let mut c = s.raw();
    for db in dbs {
        assert_eq!(c.cmd(&["SELECT", &db.to_string()]), Reply::ok());
        for i in 0..50 {
            assert_eq!(c.cmd(&["SET", &format!("plain:{db}:{i}"), &format!("value {db} {i}")]), Reply::ok());
        }
        for i in 0..db + 3 {
            assert_eq!(c.cmd(&["SET", &format!("ttl:{db}:{i}"), "t", "EX", "100000"]), Reply::ok());
        }
        assert_eq!(c.cmd_bytes(&[b"SET", b"bin\x00key", b"\x00\xff\r\n"]), Reply::ok());
        assert_eq!(c.cmd_bytes(&[b"SET", b"big", &big]), Reply::ok());
    }
    // A key whose TTL is over by the time the server is back.
    assert_eq!(c.cmd(&["SELECT", "9"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "short", "x", "PX", "1"]), Reply::ok());
    let mut sizes = Vec::new();
    for db in dbs {
        assert_eq!(c.cmd(&["SELECT", &db.to_string()]), Reply::ok());
        let Reply::Int(n) = c.cmd(&["DBSIZE"]) else { panic!("DBSIZE") };
        assert_eq!(n, 50 + db as i64 + 3 + 2, "db {db} before restart");
        sizes.push(n);
    }
    drop(c);

    s.stop();
    s.restart();

    for (db, size) in dbs.into_iter().zip(sizes) {
        let mut cmds: Vec<Vec<Vec<u8>>> =
            (0..50).map(|i| args(&[b"GET", format!("plain:{db}:{i}").as_bytes()])).collect();
        cmds.extend((0..50).map(|i| args(&[b"TTL", format!("plain:{db}:{i}").as_bytes()])));
        cmds.extend((0..db + 3).map(|i| args(&[b"TTL", format!("ttl:{db}:{i}").as_bytes()])));
        cmds.extend((0..db + 3).map(|i| args(&[b"GET", format!("ttl:{db}:{i}").as_bytes()])));
        cmds.push(args(&[b"GET", b"bin\x00key"]));
        cmds.push(args(&[b"GET", b"big"]));
        cmds.push(args(&[b"DBSIZE"]));
        let mut replies = pipeline(&s, db, &cmds).into_iter();
        for i in 0..50 {
            assert_eq!(replies.next(), Some(Reply::bulk(&format!("value {db} {i}"))), "db {db} plain:{i}");
        }
        for i in 0..50 {
            assert_eq!(replies.next(), Some(Reply::Int(-1)), "db {db} TTL plain:{i}");
        }
        for i in 0..db + 3 {
            let ttl = replies.next();
            assert!(matches!(ttl, Some(Reply::Int(t)) if t > 0 && t <= 100000), "db {db} TTL ttl:{i}: {ttl:?}");
        }
        for i in 0..db + 3 {
            assert_eq!(replies.next(), Some(Reply::bulk("t")), "db {db} ttl:{i}");
        }
        assert_eq!(replies.next(), Some(Reply::Bulk(Some(b"\x00\xff\r\n".to_vec()))), "db {db} binary key");
        assert_eq!(replies.next(), Some(Reply::Bulk(Some(big.clone()))), "db {db} big value");
        assert_eq!(replies.next(), Some(Reply::Int(size)), "db {db} DBSIZE after restart");
    }
    assert_eq!(pipeline(&s, 9, &[args(&[b"GET", b"short"])]), vec![Reply::Bulk(None)]);
    assert_eq!(pipeline(&s, 3, &[args(&[b"DBSIZE"])]), vec![Reply::Int(0)]);
}

/// What one writer thread saw acknowledged.
#[derive(Default)]
struct Acked {
    /// Keys whose SET got +OK, with their values.
    sets: Vec<(String, String)>,
    /// Highest value an INCR of the thread's counter replied.
    counter: i64,
}

/// Writes until the connection fails: SET a new key, INCR the thread's counter.
fn spawn_writer(port: u16, cycle: usize, thread: usize, acks: Arc<AtomicUsize>) -> JoinHandle<Acked> {
    std::thread::spawn(move || {
        let mut acked = Acked::default();
        let Some(mut w) = Writer::connect(port) else { return acked };
        let counter = format!("counter:{thread}");
        for i in 0.. {
            let key = format!("k:{cycle}:{thread}:{i}");
            let value = format!("v{i}-{}", "x".repeat(i % 64));
            match w.call(&[b"SET", key.as_bytes(), value.as_bytes()]) {
                Some(r) if r == Reply::ok() => acked.sets.push((key, value)),
                Some(other) => panic!("SET {key}: {other:?}"),
                None => break,
            }
            match w.call(&[b"INCR", counter.as_bytes()]) {
                Some(Reply::Int(n)) => acked.counter = n,
                Some(other) => panic!("INCR {counter}: {other:?}"),
                None => break,
            }
            acks.fetch_add(1, Ordering::Relaxed);
        }
        acked
    })
}

/// Waits until the writers have some acknowledged writes, then a random while.
fn wait_then_random(acks: &AtomicUsize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while acks.load(Ordering::Relaxed) < 50 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(random_below(250)));
}

/// SIGKILL under write load, five times on the same data dir: every
/// acknowledged SET is there with its value, every counter is at least its
/// last acknowledged INCR (at most one more: the write in flight).
fn kill_under_load(sync: &str) {
    const THREADS: usize = 4;
    let mut s = TestServer::start(&format!("[storage]\nsync = \"{sync}\"\n"));
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut counters = [0i64; THREADS];
    for cycle in 0..5 {
        let acks = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..THREADS).map(|t| spawn_writer(s.port, cycle, t, acks.clone())).collect();
        wait_then_random(&acks);
        s.kill();
        let mut cycle_sets = 0;
        for (t, w) in writers.into_iter().enumerate() {
            let acked = w.join().expect("writer thread");
            cycle_sets += acked.sets.len();
            sets.extend(acked.sets);
            counters[t] = counters[t].max(acked.counter);
        }
        assert!(cycle_sets > 0, "cycle {cycle}: nothing was acknowledged before the kill");
        eprintln!("sync={sync} cycle {cycle}: {cycle_sets} SETs acknowledged before the kill");
        s.restart();

        let mut cmds: Vec<_> = sets.iter().map(|(k, _)| args(&[b"GET", k.as_bytes()])).collect();
        cmds.extend((0..THREADS).map(|t| args(&[b"GET", format!("counter:{t}").as_bytes()])));
        let replies = pipeline(&s, 0, &cmds);
        let mut lost = Vec::new();
        for ((k, v), r) in sets.iter().zip(&replies) {
            if *r != Reply::bulk(v) {
                lost.push(format!("{k}: {r:?}"));
            }
        }
        assert!(
            lost.is_empty(),
            "sync={sync} cycle {cycle}: {} of {} acknowledged SETs lost, e.g. {:?}",
            lost.len(),
            sets.len(),
            &lost[..lost.len().min(5)]
        );
        for (t, r) in replies[sets.len()..].iter().enumerate() {
            let value: i64 = match r {
                Reply::Bulk(None) => 0,
                r => r.str().parse().expect("counter is an integer"),
            };
            assert!(
                value == counters[t] || value == counters[t] + 1,
                "sync={sync} cycle {cycle}: counter:{t} is {value}, last acknowledged INCR was {}",
                counters[t]
            );
            counters[t] = value;
        }
    }
}

#[test]
fn sigkill_loses_no_acknowledged_write_sync_always() {
    kill_under_load("always");
}

#[test]
fn sigkill_loses_no_acknowledged_write_sync_everysec() {
    kill_under_load("everysec");
}

#[test]
fn sigkill_never_splits_an_mset() {
    const PAIRS: usize = 50;
    let mut s = TestServer::start("[storage]\nsync = \"no\"\n");
    let mut last_acked: Option<usize> = None;
    let mut round = 0;
    for cycle in 0..3 {
        let acks = Arc::new(AtomicUsize::new(0));
        let port = s.port;
        let counter = acks.clone();
        let start = round;
        // Each MSET writes PAIRS fresh keys `r{round}:i` and overwrites the
        // shared keys `fixed:i`, all with the round number (padded, so one
        // MSET is a large batch).
        let writer = std::thread::spawn(move || {
            let mut acked = None;
            let Some(mut w) = Writer::connect(port) else { return acked };
            for round in start.. {
                let value = format!("{round}:{}", "p".repeat(1000));
                let keys: Vec<String> =
                    (0..PAIRS).flat_map(|i| [format!("r{round}:{i}"), format!("fixed:{i}")]).collect();
                let mut cmd: Vec<&[u8]> = vec![b"MSET"];
                for k in &keys {
                    cmd.push(k.as_bytes());
                    cmd.push(value.as_bytes());
                }
                match w.call(&cmd) {
                    Some(r) if r == Reply::ok() => acked = Some(round),
                    Some(other) => panic!("MSET: {other:?}"),
                    None => break,
                }
                counter.fetch_add(1, Ordering::Relaxed);
            }
            acked
        });
        wait_then_random(&acks);
        s.kill();
        let acked = writer.join().expect("writer thread");
        assert!(acked.is_some(), "cycle {cycle}: no MSET was acknowledged before the kill");
        last_acked = acked.or(last_acked);
        s.restart();

        let newest = last_acked.expect("some MSET acknowledged");
        // Rounds up to the acknowledged one, plus the one that may have been in flight.
        let mut cmds: Vec<_> = (0..PAIRS).map(|i| args(&[b"GET", format!("fixed:{i}").as_bytes()])).collect();
        for r in 0..=newest + 1 {
            cmds.push(args(&[b"EXISTS", format!("r{r}:0").as_bytes()]));
            let mut mget = vec![b"MGET".to_vec()];
            mget.extend((0..PAIRS).map(|i| format!("r{r}:{i}").into_bytes()));
            cmds.push(mget);
        }
        let replies = pipeline(&s, 0, &cmds);
        let fixed: Vec<String> = replies[..PAIRS].iter().map(|r| r.str()).collect();
        assert!(fixed.iter().all(|v| *v == fixed[0]), "cycle {cycle}: fixed:* mix two MSETs");
        let fixed_round: usize = fixed[0].split(':').next().and_then(|n| n.parse().ok()).expect("round number");
        assert!(
            fixed_round == newest || fixed_round == newest + 1,
            "cycle {cycle}: fixed:* hold round {fixed_round}, last acknowledged {newest}"
        );
        for (r, pair) in replies[PAIRS..].chunks(2).enumerate() {
            let items = pair[1].items();
            let present = items.iter().filter(|x| **x != Reply::Bulk(None)).count();
            assert!(present == 0 || present == PAIRS, "cycle {cycle}: round {r} has {present} of {PAIRS} keys");
            if r <= newest {
                assert_eq!(present, PAIRS, "cycle {cycle}: acknowledged round {r} lost");
            }
            assert_eq!(pair[0], Reply::Int(i64::from(present > 0)), "cycle {cycle}: EXISTS r{r}:0");
        }
        round = fixed_round + 1;
    }
}

#[test]
fn second_server_on_the_same_dir_is_refused() {
    let s = TestServer::new();
    assert_eq!(s.raw().cmd(&["SET", "mine", "1"]), Reply::ok());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("second.toml");
    let data = s.data_dir();
    std::fs::write(
        &config,
        format!("[server]\nbind = \"127.0.0.1\"\nport = 0\n\n[storage]\ndir = {:?}\n", data.to_string_lossy()),
    )
    .expect("write config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_diskdb"))
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn second diskdb");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a second server on the same data dir kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("read stderr");
    assert!(!status.success(), "second server exited with {status}");
    let lower = stderr.to_lowercase();
    assert!(lower.contains("in use") || lower.contains("lock"), "stderr does not say why: {stderr}");
    assert!(stderr.contains(&*data.to_string_lossy()), "stderr does not name the dir: {stderr}");
    // The first server is unaffected.
    assert_eq!(s.raw().cmd(&["GET", "mine"]), Reply::bulk("1"));
}
