//! Expiry against the real binary: lazy expiry on access, active expiry of
//! keys nobody touches, expiry surviving a restart, PERSIST.
//! Sleeps only wait for time to pass; assertions poll with a generous deadline
//! instead of timing anything.

mod common;

use common::{RawClient, Reply, TestServer};
use std::time::{Duration, Instant};

fn set(c: &mut RawClient, k: &str, v: &str) {
    assert_eq!(c.cmd(&["SET", k, v]), Reply::ok());
}

/// Polls `f` until it holds, failing after 10 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn lazy_expiry_on_access() {
    let s = TestServer::new();
    let mut c = s.raw();
    set(&mut c, "k", "v");
    assert_eq!(c.cmd(&["PEXPIRE", "k", "50"]), Reply::Int(1));
    assert!(matches!(c.cmd(&["PTTL", "k"]), Reply::Int(t) if (0..=50).contains(&t)));
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Bulk(None));
    assert_eq!(c.cmd(&["EXISTS", "k"]), Reply::Int(0));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(-2));
    assert_eq!(c.cmd(&["TYPE", "k"]), Reply::Simple("none".into()));
    // An expired key is gone for every command, and can be created afresh.
    set(&mut c, "k2", "v");
    assert_eq!(c.cmd(&["PEXPIRE", "k2", "30"]), Reply::Int(1));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(c.cmd(&["RENAME", "k2", "x"]), Reply::Error("ERR no such key".into()));
    assert_eq!(c.cmd(&["PERSIST", "k2"]), Reply::Int(0));
    set(&mut c, "k2", "new");
    assert_eq!(c.cmd(&["TTL", "k2"]), Reply::Int(-1));
}

#[test]
fn active_expiry_reclaims_untouched_keys() {
    let s = TestServer::new();
    let mut c = s.raw();
    for i in 0..200 {
        let k = format!("vol:{i}");
        set(&mut c, &k, "v");
        assert_eq!(c.cmd(&["PEXPIRE", &k, "100"]), Reply::Int(1));
    }
    set(&mut c, "keep", "v");
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(201));
    // Only DBSIZE, which never looks at keys: the drop is the active cycle's work.
    eventually("DBSIZE to drop to 1", || c.cmd(&["DBSIZE"]) == Reply::Int(1));
    assert_eq!(c.cmd(&["GET", "keep"]), Reply::bulk("v"));
    // Other databases are reclaimed too.
    assert_eq!(c.cmd(&["SELECT", "5"]), Reply::ok());
    for i in 0..20 {
        let k = format!("vol:{i}");
        set(&mut c, &k, "v");
        assert_eq!(c.cmd(&["PEXPIRE", &k, "50"]), Reply::Int(1));
    }
    eventually("db 5 to empty", || c.cmd(&["DBSIZE"]) == Reply::Int(0));
}

#[test]
fn ttl_survives_restart() {
    let mut s = TestServer::new();
    {
        let mut c = s.raw();
        set(&mut c, "vol", "v");
        assert_eq!(c.cmd(&["PEXPIREAT", "vol", "33177600000000"]), Reply::Int(1));
        set(&mut c, "short", "v");
        assert_eq!(c.cmd(&["PEXPIRE", "short", "300"]), Reply::Int(1));
        set(&mut c, "plain", "v");
        set(&mut c, "persisted", "v");
        assert_eq!(c.cmd(&["EXPIRE", "persisted", "1000"]), Reply::Int(1));
        assert_eq!(c.cmd(&["PERSIST", "persisted"]), Reply::Int(1));
    }
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PEXPIRETIME", "vol"]), Reply::Int(33177600000000));
    assert_eq!(c.cmd(&["TTL", "plain"]), Reply::Int(-1));
    assert_eq!(c.cmd(&["TTL", "persisted"]), Reply::Int(-1));
    // The short-lived key still expires after the restart, without being touched.
    eventually("the short key to expire", || c.cmd(&["DBSIZE"]) == Reply::Int(3));
    assert_eq!(c.cmd(&["EXISTS", "short"]), Reply::Int(0));
}

#[test]
fn persist_keeps_key_forever() {
    let s = TestServer::new();
    let mut c = s.raw();
    set(&mut c, "k", "v");
    assert_eq!(c.cmd(&["PERSIST", "k"]), Reply::Int(0));
    assert_eq!(c.cmd(&["PERSIST", "nokey"]), Reply::Int(0));
    assert_eq!(c.cmd(&["PEXPIRE", "k", "100"]), Reply::Int(1));
    assert_eq!(c.cmd(&["PERSIST", "k"]), Reply::Int(1));
    assert_eq!(c.cmd(&["PERSIST", "k"]), Reply::Int(0));
    assert_eq!(c.cmd(&["TTL", "k"]), Reply::Int(-1));
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("v"));
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(1));
}
