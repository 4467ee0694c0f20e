//! Pub/Sub against the real server: delivery to many subscribers, RESP3
//! clients running commands while subscribed, cleanup on disconnect, and the
//! `pubsub` output limit that drops a subscriber which does not read without
//! ever blocking the publisher.

mod common;

use common::{Reply, TestServer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn ints(r: &Reply) -> i64 {
    match r {
        Reply::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

#[test]
fn every_subscriber_gets_every_message_in_order() {
    let server = TestServer::new();
    let mut subs: Vec<_> = (0..5)
        .map(|i| {
            let mut c = server.raw();
            let r = c.cmd(&["SUBSCRIBE", "news", &format!("own:{i}")]);
            assert_eq!(r.items()[0], Reply::bulk("subscribe"));
            c.read(); // the second channel's confirmation
            c
        })
        .collect();
    let mut publisher = server.raw();
    for n in 0..50 {
        assert_eq!(ints(&publisher.cmd(&["PUBLISH", "news", &n.to_string()])), 5);
    }
    assert_eq!(ints(&publisher.cmd(&["PUBLISH", "own:3", "just you"])), 1);
    for (i, s) in subs.iter_mut().enumerate() {
        for n in 0..50 {
            let m = s.read().items();
            assert_eq!(m, vec![Reply::bulk("message"), Reply::bulk("news"), Reply::bulk(&n.to_string())]);
        }
        if i == 3 {
            assert_eq!(s.read().items()[2], Reply::bulk("just you"));
        }
    }
    // Disconnected subscribers are forgotten.
    drop(subs);
    std::thread::sleep(Duration::from_millis(200));
    let r = publisher.cmd(&["PUBSUB", "NUMSUB", "news"]);
    assert_eq!(ints(&r.items()[1]), 0);
    assert_eq!(ints(&publisher.cmd(&["PUBLISH", "news", "x"])), 0);
}

#[test]
fn a_resp3_subscriber_runs_commands_and_receives_pushes() {
    let server = TestServer::new();
    let mut sub = server.raw();
    sub.cmd(&["HELLO", "3"]);
    let r = sub.cmd(&["SUBSCRIBE", "ch"]);
    assert!(matches!(r, Reply::Push(_)), "{r:?}");
    assert_eq!(sub.cmd(&["SET", "k", "v"]), Reply::ok());
    // Publishing to itself: the push comes before the PUBLISH reply.
    sub.send_cmd(&["PUBLISH", "ch", "self"]);
    assert_eq!(sub.read(), Reply::Push(vec![Reply::bulk("message"), Reply::bulk("ch"), Reply::bulk("self")]));
    assert_eq!(sub.read(), Reply::Int(1));
    let mut other = server.raw();
    other.cmd(&["PUBLISH", "ch", "from other"]);
    assert_eq!(sub.read(), Reply::Push(vec![Reply::bulk("message"), Reply::bulk("ch"), Reply::bulk("from other")]));
    assert_eq!(sub.cmd(&["GET", "k"]), Reply::bulk("v"));
}

#[test]
fn a_subscriber_that_does_not_read_is_dropped_and_the_publisher_never_waits() {
    let server = TestServer::start("[server]\npubsub_output_hard_limit = 1048576\n");
    let mut slow = server.raw();
    slow.cmd(&["SUBSCRIBE", "flood"]);
    let mut fast = server.raw();
    fast.cmd(&["SUBSCRIBE", "flood"]);
    let mut publisher = server.raw();
    publisher.set_timeout(Duration::from_secs(10));
    let payload = "p".repeat(16 * 1024);
    // 64 MiB for each subscriber: far past the 1 MiB limit and the socket buffers.
    // The publisher keeps at most 16 messages (256 KiB) ahead of the reading
    // subscriber, so a reader thread starved by a loaded machine is never
    // dropped itself; the one that does not read is.
    let read = Arc::new(AtomicUsize::new(0));
    let reader = {
        let read = Arc::clone(&read);
        std::thread::spawn(move || {
            let mut got = 0;
            while got < 4096 {
                let m = fast.read();
                assert_eq!(m.items()[1], Reply::bulk("flood"));
                got += 1;
                read.store(got, Ordering::Release);
            }
            got
        })
    };
    let mut delivered_to = Vec::new();
    for i in 0..4096 {
        while i - read.load(Ordering::Acquire) > 16 && !reader.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        delivered_to.push(ints(&publisher.cmd(&["PUBLISH", "flood", &payload])));
    }
    assert_eq!(reader.join().expect("reader"), 4096, "the reading subscriber got everything");
    assert_eq!(delivered_to[0], 2);
    assert_eq!(*delivered_to.last().expect("published"), 1, "the slow subscriber was dropped");
    assert!(slow.is_closed_after_data(Duration::from_secs(10)), "the slow subscriber's connection is closed");
    assert!(server.log().contains("pubsub output buffer limit"), "{}", server.log());
}

#[test]
fn client_list_shows_subscriptions_and_transactions() {
    let server = TestServer::new();
    let mut sub = server.raw();
    sub.cmd(&["CLIENT", "SETNAME", "sub"]);
    sub.cmd(&["SUBSCRIBE", "a"]);
    sub.send_cmd(&["PSUBSCRIBE", "p1", "p2"]);
    sub.read();
    sub.read();
    let mut tx = server.raw();
    tx.cmd(&["CLIENT", "SETNAME", "tx"]);
    tx.cmd(&["MULTI"]);
    tx.cmd(&["PING"]);
    let mut admin = server.raw();
    let list = admin.cmd(&["CLIENT", "LIST"]).str();
    let line =
        |name: &str| list.lines().find(|l| l.contains(&format!(" name={name} "))).expect("client listed").to_string();
    assert!(line("sub").contains(" flags=P db=0 sub=1 psub=2 ssub=0 multi=-1 "), "{}", line("sub"));
    assert!(line("tx").contains(" flags=x db=0 sub=0 psub=0 ssub=0 multi=1 "), "{}", line("tx"));
}
