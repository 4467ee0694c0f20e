//! The wire protocol over raw sockets: pipelining, requests split across
//! reads at every byte, inline requests, protocol errors (Redis's exact text,
//! then the connection closes), and the per-client limits (bulk length,
//! query buffer, max clients, idle timeout, output buffer). Where a real
//! redis-server is installed, the raw bytes are also compared with it. After
//! every error case the server must still serve a fresh client.

mod common;

use common::{encode, RedisServer, Reply, TestServer};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Upper bound on any wait for the server; a healthy run never gets near it.
const PATIENCE: Duration = Duration::from_secs(10);

/// Sent after a request stream so the reader knows when every reply is in.
const SENTINEL: &[u8] = b"*2\r\n$4\r\nECHO\r\n$7\r\n__end__\r\n";
const SENTINEL_REPLY: &[u8] = b"$7\r\n__end__\r\n";

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    s
}

/// Reads until the peer closes (EOF or reset). Returns what arrived and
/// whether the connection was closed (false: still open after `PATIENCE`).
fn read_until_close(s: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

/// Reads until the received bytes end with `tail`.
fn read_until_tail(s: &mut TcpStream, tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    while !out.ends_with(tail) {
        let n = s
            .read(&mut chunk)
            .unwrap_or_else(|e| panic!("reading replies: {e}; got so far: {:?}", String::from_utf8_lossy(&out)));
        assert!(n > 0, "connection closed; got so far: {:?}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&chunk[..n]);
    }
    out
}

/// Sends `bytes` on a fresh connection, then reads until the server closes it.
fn until_close(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut s = connect(port);
    let _ = s.write_all(bytes);
    read_until_close(&mut s)
}

/// Sends `bytes` plus a sentinel ECHO on a fresh connection and returns the
/// replies to `bytes` (the connection must stay open).
fn converse(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut s = connect(port);
    s.write_all(bytes).expect("send");
    s.write_all(SENTINEL).expect("send");
    let mut out = read_until_tail(&mut s, SENTINEL_REPLY);
    out.truncate(out.len() - SENTINEL_REPLY.len());
    out
}

/// A fresh client gets PONG: the server survived whatever came before.
fn assert_alive(s: &TestServer) {
    assert_eq!(s.raw().cmd(&["PING"]), Reply::Simple("PONG".into()), "server stopped serving:\n{}", s.log());
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace('\r', "\\r").replace('\n', "\\n")
}

/// A request that ends in a protocol error: DiskDB (and redis-server, when
/// installed) reply exactly `expected` and close the connection.
fn assert_protocol_error(s: &TestServer, redis: Option<&RedisServer>, request: &[u8], expected: &[u8]) {
    let (got, closed) = until_close(s.port, request);
    assert_eq!(show(&got), show(expected), "reply to {:?}", show(request));
    assert!(closed, "connection stays open after {:?}", show(request));
    if let Some(r) = redis {
        let (theirs, closed) = until_close(r.port, request);
        assert_eq!(show(&theirs), show(expected), "redis-server's reply to {:?}", show(request));
        assert!(closed, "redis-server keeps the connection open after {:?}", show(request));
    }
    assert_alive(s);
}

#[test]
fn pipeline_of_10000_commands_in_one_write() {
    let s = TestServer::new();
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for i in 0..10_000 {
        let n = i.to_string();
        let key = format!("p:{}", i / 3);
        match i % 3 {
            0 => {
                stream.extend(encode(&[b"SET", key.as_bytes(), n.as_bytes()]));
                expected.extend_from_slice(b"+OK\r\n");
            }
            1 => {
                stream.extend(encode(&[b"GET", key.as_bytes()]));
                let v = (i - 1).to_string();
                expected.extend(format!("${}\r\n{v}\r\n", v.len()).into_bytes());
            }
            _ => {
                stream.extend(encode(&[b"ECHO", n.as_bytes()]));
                expected.extend(format!("${}\r\n{n}\r\n", n.len()).into_bytes());
            }
        }
    }
    let mut conn = connect(s.port);
    let mut writer = conn.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        stream.extend_from_slice(SENTINEL);
        writer.write_all(&stream).expect("send pipeline");
    });
    let mut got = read_until_tail(&mut conn, SENTINEL_REPLY);
    sender.join().expect("sender");
    got.truncate(got.len() - SENTINEL_REPLY.len());
    assert_eq!(got.len(), expected.len(), "reply stream length");
    assert!(got == expected, "replies differ from the expected in-order stream");
    assert_alive(&s);
}

#[test]
fn frames_split_across_reads() {
    let s = TestServer::new();
    let cases: &[(&[u8], &[u8], &[u8])] = &[
        (b"*1\r\n$4\r\nPI", b"NG\r\n", b"+PONG\r\n"),
        (b"*1\r\n$", b"4\r\nPING\r\n", b"+PONG\r\n"),
        (b"*1\r", b"\n$4\r\nPING\r\n", b"+PONG\r\n"),
        (b"*", b"1\r\n$4\r\nPING\r\n", b"+PONG\r\n"),
        (b"*1\r\n$4\r\nPING\r", b"\n", b"+PONG\r\n"),
        (b"*2\r\n$4\r\nECHO\r\n$11\r\nhello", b" world\r\n", b"$11\r\nhello world\r\n"),
        (b"PI", b"NG\r\n", b"+PONG\r\n"),
        (b"PING\r", b"\n", b"+PONG\r\n"),
        (b"ECHO \"a ", b"b\"\r\n", b"$3\r\na b\r\n"),
    ];
    let mut c = s.raw();
    for (first, second, reply) in cases {
        c.send(first);
        // Give the server a chance to read the first part on its own.
        std::thread::sleep(Duration::from_millis(20));
        c.send(second);
        assert_eq!(show(&c.read_raw()), show(reply), "split {:?} | {:?}", show(first), show(second));
    }
    assert_alive(&s);
}

/// A pipeline mixing multibulk, inline, empty lines, binary and empty args.
fn mixed_pipeline() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(encode(&[b"SET", b"split:k", b"v\x00\r\nw"]));
    p.extend_from_slice(b"GET split:k\r\n");
    p.extend_from_slice(b"\r\n");
    p.extend_from_slice(b"ECHO \"quoted \\x41\" 'x'\r\n");
    p.extend_from_slice(b"ECHO \"two words\"\r\n");
    p.extend(encode(&[b"ECHO", b""]));
    p.extend_from_slice(b"*0\r\n");
    p.extend(encode(&[b"GET", b"split:k"]));
    p.extend_from_slice(b"PING\n");
    p
}

#[test]
fn pipeline_split_at_every_byte() {
    let s = TestServer::new();
    let stream = mixed_pipeline();
    let reference = converse(s.port, &stream);
    if let Some(r) = RedisServer::start() {
        assert_eq!(show(&converse(r.port, &stream)), show(&reference), "DiskDB vs redis-server, whole pipeline");
    }
    let mut c = connect(s.port);
    for at in 1..stream.len() {
        c.write_all(&stream[..at]).expect("send");
        std::thread::sleep(Duration::from_millis(1));
        c.write_all(&stream[at..]).expect("send");
        c.write_all(SENTINEL).expect("send");
        let mut got = read_until_tail(&mut c, SENTINEL_REPLY);
        got.truncate(got.len() - SENTINEL_REPLY.len());
        assert_eq!(show(&got), show(&reference), "pipeline split at byte {at}");
    }
    // And one byte per write.
    for b in &stream {
        c.write_all(std::slice::from_ref(b)).expect("send");
        std::thread::sleep(Duration::from_micros(200));
    }
    c.write_all(SENTINEL).expect("send");
    let mut got = read_until_tail(&mut c, SENTINEL_REPLY);
    got.truncate(got.len() - SENTINEL_REPLY.len());
    assert_eq!(show(&got), show(&reference), "pipeline sent one byte at a time");
    assert_alive(&s);
}

#[test]
fn inline_commands() {
    let s = TestServer::new();
    let redis = RedisServer::start();
    let cases: &[(&[u8], &[u8])] = &[
        (b"PING\r\n", b"+PONG\r\n"),
        (b"ping\n", b"+PONG\r\n"),
        (b"SET k \"a b\"\r\n", b"+OK\r\n"),
        (b"GET k\r\n", b"$3\r\na b\r\n"),
        (b"  GET   k  \r\n", b"$3\r\na b\r\n"),
        (b"SET k2 'it\\'s'\r\nGET k2\r\n", b"+OK\r\n$4\r\nit's\r\n"),
        (b"SET k3 \"\\x00\\r\\n\"\r\nGET k3\r\n", b"+OK\r\n$3\r\n\x00\r\n\r\n"),
        (b"ECHO \"\"\r\n", b"$0\r\n\r\n"),
        (b"\r\n\n\r\nPING\r\n", b"+PONG\r\n"),
        (b"foo a b\r\n", b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"),
        (b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n"),
        (b"PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n", b"+PONG\r\n+PONG\r\n+PONG\r\n"),
    ];
    for (request, expected) in cases {
        assert_eq!(show(&converse(s.port, request)), show(expected), "inline {:?}", show(request));
        if let Some(r) = &redis {
            assert_eq!(show(&converse(r.port, request)), show(expected), "redis-server, inline {:?}", show(request));
        }
    }
    assert_alive(&s);
}

#[test]
fn protocol_errors_reply_and_close() {
    let s = TestServer::new();
    let redis = RedisServer::start();
    let r = redis.as_ref();
    let invalid_mbulk: &[u8] = b"-ERR Protocol error: invalid multibulk length\r\n";
    let invalid_bulk: &[u8] = b"-ERR Protocol error: invalid bulk length\r\n";
    assert_protocol_error(&s, r, b"*abc\r\n", invalid_mbulk);
    assert_protocol_error(&s, r, b"*1x\r\n", invalid_mbulk);
    assert_protocol_error(&s, r, b"*1\r\nx3\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'x'\r\n");
    assert_protocol_error(&s, r, b"*2\r\n$4\r\nECHO\r\n:3\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n");
    assert_protocol_error(&s, r, b"*1\r\n$abc\r\n", invalid_bulk);
    assert_protocol_error(&s, r, b"*1\r\n$-1\r\n", invalid_bulk);
    assert_protocol_error(&s, r, b"*1\r\n$-5\r\n", invalid_bulk);
    assert_protocol_error(&s, r, b"*2\r\n$4\r\nECHO\r\n$536870913\r\n", invalid_bulk);
    assert_protocol_error(&s, r, b"SET k \"abc\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n");
    assert_protocol_error(&s, r, b"SET k 'a'b\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n");
    assert_protocol_error(&s, r, b"ECHO \"a\"b\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n");
    // Replies to the commands before the bad one still go out, nothing after it runs.
    let mut pipeline = b"PING\r\n*abc\r\nPING\r\n".to_vec();
    assert_protocol_error(&s, r, &pipeline, b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n");
    pipeline = encode(&[b"SET", b"before", b"1"]);
    pipeline.extend_from_slice(b"*1\r\nx\r\n");
    pipeline.extend(encode(&[b"SET", b"after", b"1"]));
    assert_protocol_error(&s, r, &pipeline, b"+OK\r\n-ERR Protocol error: expected '$', got 'x'\r\n");
    let mut c = s.raw();
    assert_eq!(c.cmd(&["EXISTS", "before", "after"]), Reply::Int(1));
    // An inline request longer than 64 KiB without a newline.
    let long = vec![b'x'; 64 * 1024 + 100];
    assert_protocol_error(&s, r, &long, b"-ERR Protocol error: too big inline request\r\n");
}

#[test]
fn bulk_longer_than_proto_max_bulk_len() {
    let s = TestServer::start("[server]\nproto_max_bulk_len = 1048576\n");
    let redis = RedisServer::start();
    if let Some(r) = &redis {
        assert_eq!(r.raw().cmd(&["CONFIG", "SET", "proto-max-bulk-len", "1048576"]), Reply::ok());
    }
    let request = b"*2\r\n$4\r\nECHO\r\n$1048577\r\n";
    assert_protocol_error(&s, redis.as_ref(), request, b"-ERR Protocol error: invalid bulk length\r\n");
    // Exactly the limit is fine.
    let value = vec![b'v'; 1024 * 1024];
    let mut c = s.raw();
    assert_eq!(c.cmd_bytes(&[b"ECHO", &value]), Reply::Bulk(Some(value.clone())));
    assert_alive(&s);
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let s = TestServer::start("[server]\nclient_query_buffer_limit = 1048576\n");
    let redis = RedisServer::start();
    if let Some(r) = &redis {
        assert_eq!(r.raw().cmd(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]), Reply::ok());
    }
    let mut ports = vec![s.port];
    ports.extend(redis.as_ref().map(|r| r.port));
    for port in ports {
        // 2 MiB of a 4 MiB bulk: the unparsed input passes the limit before
        // the request completes. Redis closes such a client too.
        let mut c = connect(port);
        let mut writer = c.try_clone().expect("clone");
        let sender = std::thread::spawn(move || {
            let _ = writer.write_all(b"*2\r\n$4\r\nECHO\r\n$4194304\r\n");
            let _ = writer.write_all(&vec![b'x'; 2 * 1024 * 1024]);
        });
        let (got, closed) = read_until_close(&mut c);
        let _ = sender.join();
        assert!(closed, "port {port}: client over the query buffer limit not closed");
        assert!(got.is_empty(), "port {port}: unexpected reply {:?}", show(&got));

        // A bulk under the limit may be pending for as long as the client
        // likes; finishing it later gets the reply.
        let mut c = connect(port);
        let value = vec![b'y'; 1_000_000];
        c.write_all(b"*2\r\n$4\r\nECHO\r\n$1000000\r\n").expect("send");
        c.write_all(&value[..999_000]).expect("send");
        std::thread::sleep(Duration::from_millis(100));
        c.write_all(&value[999_000..]).expect("send");
        c.write_all(b"\r\n").expect("send");
        let got = read_until_tail(&mut c, b"y\r\n");
        assert_eq!(got.len(), b"$1000000\r\n".len() + 1_000_000 + 2, "port {port}: pending bulk reply");

        // The limit is on unparsed input, not on a pipeline's total size.
        let mut pipeline = Vec::new();
        let mut expected = Vec::new();
        while pipeline.len() < 2 * 1024 * 1024 {
            pipeline.extend(encode(&[b"ECHO", b"0123456789"]));
            expected.extend_from_slice(b"$10\r\n0123456789\r\n");
        }
        let mut c = connect(port);
        let mut writer = c.try_clone().expect("clone");
        let sender = std::thread::spawn(move || {
            pipeline.extend_from_slice(SENTINEL);
            writer.write_all(&pipeline).expect("send pipeline");
        });
        let mut got = read_until_tail(&mut c, SENTINEL_REPLY);
        sender.join().expect("sender");
        got.truncate(got.len() - SENTINEL_REPLY.len());
        assert!(got == expected, "port {port}: 2 MiB pipeline replies differ");
    }
    assert_alive(&s);
}

/// Connects and gets PONG, retrying while earlier connections (the harness's
/// readiness probe) are still being released by the server.
fn connect_admitted(port: u16) -> TcpStream {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let mut c = connect(port);
        let got = request(&mut c, b"PING\r\n", 7);
        if got == b"+PONG\r\n" {
            return c;
        }
        assert!(std::time::Instant::now() < deadline, "not admitted: {:?}", show(&got));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `bytes` and reads up to `len` bytes of reply (less if the server closes).
fn request(c: &mut TcpStream, bytes: &[u8], len: usize) -> Vec<u8> {
    let _ = c.write_all(bytes);
    let mut out = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match c.read(&mut out[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    out.truncate(got);
    out
}

#[test]
fn maxclients_refuses_the_excess_client() {
    let s = TestServer::start("[server]\nmaxclients = 2\n");
    let a = connect_admitted(s.port);
    let mut b = connect_admitted(s.port);
    let mut third = connect(s.port);
    let (got, closed) = read_until_close(&mut third);
    assert_eq!(show(&got), show(b"-ERR max number of clients reached\r\n"));
    assert!(closed, "the refused client is closed");
    // The admitted ones still work, and a freed slot admits a new client.
    assert_eq!(request(&mut b, b"ECHO b\r\n", 7), b"$1\r\nb\r\n");
    drop(a);
    let mut d = connect_admitted(s.port);
    assert_eq!(request(&mut d, b"ECHO d\r\n", 7), b"$1\r\nd\r\n");
}

#[test]
fn idle_client_is_closed_after_timeout() {
    let s = TestServer::start("[server]\ntimeout = 1\n");
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert!(c.is_closed(PATIENCE), "an idle client outlived timeout = 1");
    assert_alive(&s);
}

#[test]
fn output_buffer_limit_closes_a_client_that_does_not_read() {
    let s = TestServer::start("[server]\nclient_output_buffer_limit = 1048576\n");
    let value = vec![b'v'; 100 * 1024];
    let mut good = s.raw();
    assert_eq!(good.cmd_bytes(&[b"SET", b"big", &value]), Reply::ok());
    let gets = 1000;
    let mut slow = connect(s.port);
    let mut pipeline = Vec::new();
    for _ in 0..gets {
        pipeline.extend(encode(&[b"GET", b"big"]));
    }
    slow.write_all(&pipeline).expect("send pipeline");
    // Not reading lets the output pile up in the server past the limit, so
    // the server drops the client: reading gets a prefix of the replies, then EOF.
    let (got, closed) = read_until_close(&mut slow);
    assert!(closed, "slow client not closed (got {} bytes)", got.len());
    let full = gets * (b"$102400\r\n".len() + value.len() + 2);
    assert!(got.len() < full, "got every reply ({} bytes): the limit did not apply", got.len());
    let _ = slow.shutdown(Shutdown::Both);
    assert_eq!(good.cmd(&["GET", "big"]), Reply::Bulk(Some(value)));
    assert_alive(&s);
}
