//! MULTI/EXEC/WATCH against the real server with real clients: optimistic
//! locking under concurrent writers, and crash atomicity of a transaction.

mod common;

use common::{Reply, TestServer};
use std::time::Duration;

/// Four clients increment one counter with WATCH/MULTI/EXEC, retrying when
/// EXEC aborts: the counter ends at exactly the number of committed EXECs, so
/// no increment was lost to a race and no aborted transaction was applied.
#[test]
fn watch_gives_optimistic_locking_under_concurrent_clients() {
    let server = TestServer::new();
    let per_client = 200;
    let aborted: usize = server
        .on_clients(4, move |mut con| {
            let mut aborted = 0;
            for _ in 0..per_client {
                loop {
                    redis::cmd("WATCH").arg("counter").exec(&mut con).expect("watch");
                    let v: Option<i64> = redis::cmd("GET").arg("counter").query(&mut con).expect("get");
                    let r: Option<(String,)> = redis::pipe()
                        .atomic()
                        .cmd("SET")
                        .arg("counter")
                        .arg(v.unwrap_or(0) + 1)
                        .query(&mut con)
                        .expect("exec");
                    if r.is_some() {
                        break;
                    }
                    aborted += 1;
                }
            }
            aborted
        })
        .into_iter()
        .sum();
    let mut con = server.client();
    let v: i64 = redis::cmd("GET").arg("counter").query(&mut con).expect("get");
    assert_eq!(v, 4 * per_client, "{aborted} aborted EXECs");
}

/// A transaction larger than RocksDB's WAL buffer is still one write: kill
/// the server while clients run such transactions, and after the restart
/// every transaction is either fully there or not at all.
#[test]
fn a_killed_server_never_leaves_half_a_transaction() {
    let mut server = TestServer::new();
    let value = "v".repeat(64 * 1024);
    for round in 0..3 {
        let port = server.port;
        let value = value.clone();
        let writer = std::thread::spawn(move || {
            let mut raw = common::RawClient::connect(port).expect("connect");
            raw.set_timeout(Duration::from_secs(5));
            let mut acked = Vec::new();
            for i in 0.. {
                // The kill may land while sending or while reading: either
                // way this transaction is not acknowledged.
                let acknowledged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    raw.send_cmd(&["MULTI"]);
                    for part in 0..8 {
                        raw.send_cmd(&["SET", &format!("tx:{round}:{i}:{part}"), &value]);
                    }
                    raw.send_cmd(&["EXEC"]);
                    (0..10).all(|_| !matches!(raw.read(), Reply::Error(_)))
                }));
                if !matches!(acknowledged, Ok(true)) {
                    break;
                }
                acked.push(i);
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(400 + 150 * round));
        server.kill();
        let acked = writer.join().expect("writer");
        server.restart();
        let mut raw = server.raw();
        let last = acked.last().copied().unwrap_or(0);
        // Check every acknowledged transaction and the one in flight.
        for i in 0..=last + 1 {
            let keys: Vec<String> = (0..8).map(|p| format!("tx:{round}:{i}:{p}")).collect();
            let mut args = vec!["EXISTS"];
            args.extend(keys.iter().map(String::as_str));
            let Reply::Int(n) = raw.cmd(&args) else { panic!("EXISTS reply") };
            assert!(n == 0 || n == 8, "transaction {i} of round {round} is half there: {n} of 8 keys");
            if i <= last {
                assert_eq!(n, 8, "acknowledged transaction {i} of round {round} lost");
            }
        }
        assert!(!acked.is_empty(), "round {round}: no transaction was acknowledged before the kill");
    }
}

/// The process dies in the middle of an EXEC, after its first commands ran
/// and with the WAL handed to the OS (DEBUG CRASH): none of the transaction
/// may be there after the restart, while what was acknowledged before is.
#[test]
fn a_crash_in_the_middle_of_exec_leaves_none_of_it() {
    let mut server = TestServer::start("[storage]\nsync = \"always\"\n");
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["SET", "before", "1"]), Reply::ok());
    raw.cmd(&["MULTI"]);
    raw.cmd(&["SET", "inside:1", "x"]);
    raw.cmd(&["RPUSH", "inside:2", "a", "b"]);
    raw.cmd(&["DEBUG", "CRASH"]);
    raw.cmd(&["SET", "inside:3", "x"]);
    raw.send_cmd(&["EXEC"]);
    assert!(raw.is_closed_after_data(Duration::from_secs(10)), "the server died");
    assert!(server.wait_exit(Duration::from_secs(10)).is_some(), "the process exited");
    server.restart();
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["GET", "before"]), Reply::bulk("1"));
    assert_eq!(raw.cmd(&["EXISTS", "inside:1", "inside:2", "inside:3"]), Reply::Int(0));
}
