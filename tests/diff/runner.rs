//! Runs one script against a real redis-server and DiskDB side by side and
//! collects every line whose raw replies differ.
//!
//! Each pass starts on fresh connections with FLUSHALL and SELECT 0 on both
//! servers (replies not compared). If a connection breaks or a reply does not
//! come, the line is reported and both sides reconnect (back in db 0, in the
//! protocol the script last asked for), so the rest of the script still runs
//! in step. A line that closes both connections alike (QUIT) is not a
//! mismatch.

use crate::common::{encode, RedisServer, TestServer};
use crate::resp::{canonical, escape, frame_end, Order};
use crate::script::{parse, Line, Script, Step};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long a reply may take before the line counts as unanswered.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes of a reply shown in a failure message.
const SHOW_MAX: usize = 2000;

/// What one server answered to one command.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A complete reply frame.
    Reply(Vec<u8>),
    /// The server closed the connection (with these unframed bytes pending).
    Closed(Vec<u8>),
    /// Anything else: timeout, unparsable bytes, write failure.
    Broken(String),
}

impl Outcome {
    fn show(&self) -> String {
        match self {
            Outcome::Reply(b) => escape(b, SHOW_MAX),
            Outcome::Closed(b) if b.is_empty() => "<connection closed>".into(),
            Outcome::Closed(b) => format!("<connection closed after {}>", escape(b, SHOW_MAX)),
            Outcome::Broken(why) => format!("<{why}>"),
        }
    }
}

/// One connection that reads whole reply frames.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to server under test");
        stream.set_read_timeout(Some(REPLY_TIMEOUT)).expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        Conn { stream, buf: Vec::new() }
    }

    fn call(&mut self, args: &[Vec<u8>]) -> Outcome {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        if let Err(e) = self.stream.write_all(&encode(&refs)) {
            return Outcome::Broken(format!("write failed: {e}"));
        }
        self.read_frame()
    }

    fn read_frame(&mut self) -> Outcome {
        loop {
            match frame_end(&self.buf, 0) {
                Ok(Some(end)) => return Outcome::Reply(self.buf.drain(..end).collect()),
                Ok(None) => {}
                Err(e) => return Outcome::Broken(format!("not RESP ({e}): {}", escape(&self.buf, SHOW_MAX))),
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Outcome::Closed(std::mem::take(&mut self.buf)),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Outcome::Broken(format!("no reply within {REPLY_TIMEOUT:?}"));
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Outcome::Closed(std::mem::take(&mut self.buf));
                }
                Err(e) => return Outcome::Broken(format!("read failed: {e}")),
            }
        }
    }
}

/// Both servers' connections (up to four each, opened on first use), kept
/// in the same state.
struct Pair {
    redis_port: u16,
    diskdb_port: u16,
    redis: Vec<Conn>,
    diskdb: Vec<Conn>,
    protocol: u8,
}

fn cmd(words: &[&str]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

impl Pair {
    fn open(redis_port: u16, diskdb_port: u16, protocol: u8) -> Pair {
        let mut p = Pair { redis_port, diskdb_port, redis: Vec::new(), diskdb: Vec::new(), protocol };
        p.connect(0);
        p.setup(0, &cmd(&["FLUSHALL"]));
        p
    }

    /// Opens connections up to index `n` (in db 0, in the current protocol).
    fn connect(&mut self, n: usize) {
        while self.redis.len() <= n {
            let i = self.redis.len();
            self.redis.push(Conn::open(self.redis_port));
            self.diskdb.push(Conn::open(self.diskdb_port));
            self.setup(i, &cmd(&["SELECT", "0"]));
            if self.protocol != 2 {
                self.setup(i, &cmd(&["HELLO", &self.protocol.to_string()]));
            }
        }
    }

    /// Sends to both, ignoring the replies (they may legitimately differ).
    fn setup(&mut self, conn: usize, args: &[Vec<u8>]) {
        let _ = self.redis[conn].call(args);
        let _ = self.diskdb[conn].call(args);
    }

    fn set_protocol(&mut self, version: u8) {
        if version != self.protocol {
            self.protocol = version;
            for i in 0..self.redis.len() {
                self.setup(i, &cmd(&["HELLO", &version.to_string()]));
            }
        }
    }

    fn reconnect(&mut self) {
        let n = self.redis.len();
        self.redis.clear();
        self.diskdb.clear();
        self.connect(n.max(1) - 1);
    }
}

/// Runs one step on both sides; the mismatch text if the replies differ.
fn run_step(pair: &mut Pair, script: &str, line: &Line) -> Option<String> {
    let (theirs, ours, order) = match &line.step {
        Step::Command { args, order, conn, send_only } => {
            pair.connect(*conn);
            if *send_only {
                let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
                let frame = encode(&refs);
                let sent = pair.redis[*conn].stream.write_all(&frame).and(pair.diskdb[*conn].stream.write_all(&frame));
                return sent.err().map(|e| format!("{script}.txt:{}: send failed: {e}", line.number));
            }
            (pair.redis[*conn].call(args), pair.diskdb[*conn].call(args), *order)
        }
        Step::Read(conn) => {
            pair.connect(*conn);
            (pair.redis[*conn].read_frame(), pair.diskdb[*conn].read_frame(), Order::Exact)
        }
        Step::Sleep(_) | Step::Protocol(_) => return None,
    };
    let same = match (&theirs, &ours) {
        (Outcome::Reply(a), Outcome::Reply(b)) => canonical(a, order) == canonical(b, order),
        (Outcome::Closed(a), Outcome::Closed(b)) => a == b,
        _ => false,
    };
    if !matches!((&theirs, &ours), (Outcome::Reply(_), Outcome::Reply(_))) {
        pair.reconnect();
    }
    (!same).then(|| {
        format!(
            "{script}.txt:{}: {}\n    redis:  {}\n    diskdb: {}",
            line.number,
            line.text.trim(),
            theirs.show(),
            ours.show()
        )
    })
}

/// One pass over the script; returns the mismatches.
fn run_pass(script: &Script, redis_port: u16, diskdb_port: u16, protocol: u8) -> Vec<String> {
    let mut pair = Pair::open(redis_port, diskdb_port, protocol);
    let mut mismatches = Vec::new();
    for line in &script.lines {
        match &line.step {
            Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Step::Protocol(v) => pair.set_protocol(*v),
            Step::Command { .. } | Step::Read(_) => mismatches.extend(run_step(&mut pair, &script.name, line)),
        }
    }
    mismatches
}

/// Runs `tests/diff/scripts/<name>.txt` and fails listing every mismatch.
pub fn run_script(name: &str) {
    let path = crate::common::repo_path(&format!("tests/diff/scripts/{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let script = parse(name, &text).unwrap_or_else(|e| panic!("{e}"));
    let Some(redis) = RedisServer::start() else {
        eprintln!("SKIP {name}: no redis-server to compare against");
        return;
    };
    let diskdb = TestServer::new();
    let mut report = Vec::new();
    // Every script runs twice: RESP2, then RESP3 after HELLO 3 (issue: RESP3
    // replies must match Redis for every command).
    for protocol in [2, 3] {
        let mismatches = run_pass(&script, redis.port, diskdb.port, protocol);
        if !mismatches.is_empty() {
            report.push(format!(
                "--- {name}.txt, RESP{protocol} pass: {} mismatching line(s)\n{}",
                mismatches.len(),
                mismatches.join("\n")
            ));
        }
    }
    assert!(report.is_empty(), "{name}.txt differs from redis-server:\n{}", report.join("\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_mismatches_and_keeps_going_after_a_close() {
        let Some(redis) = RedisServer::start() else { return };
        let diskdb = TestServer::new();
        let text = "SET a 1\nINFO server\nSELECT 3\nQUIT\nGET a\n~ MGET a a nokey\n\
                    !resp3\nGET nokey\n~ CONFIG GET port\n";
        let script = parse("selftest", text).expect("parses");
        let mismatches = run_pass(&script, redis.port, diskdb.port, 2);
        assert_eq!(mismatches.len(), 2, "{mismatches:#?}");
        assert!(mismatches[0].starts_with("selftest.txt:2: INFO server\n    redis:  $"), "{}", mismatches[0]);
        assert!(mismatches[1].starts_with("selftest.txt:9: ~ CONFIG GET port\n    redis:  %1"), "{}", mismatches[1]);
    }
}
