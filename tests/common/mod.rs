//! Test harness: `TestServer` starts the real `diskdb` binary on a free port
//! with a temporary data dir; `RawClient` speaks RESP over a plain socket and
//! returns typed replies or the exact bytes; `RedisServer` starts a real
//! `redis-server` for differential tests.

#![allow(dead_code)]

pub mod envs;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running diskdb child process with its own temp dir.
pub struct TestServer {
    child: Option<Child>,
    /// Port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
    extra: String,
    /// Data dir elsewhere than `dir/data` (e.g. on a small tmpfs).
    data: Option<PathBuf>,
}

/// Base config for tests: small buffers, no fsync, quiet logs.
const BASE: &str = include_str!("../../conf/test.toml");

impl TestServer {
    /// Starts a server; `extra` is TOML appended under the base config (use full
    /// `[section]` headers; keys override the base ones via a merged table).
    pub fn start(extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = TestServer { child: None, port: 0, dir, extra: extra.to_string(), data: None };
        s.spawn();
        s
    }

    /// Starts with its data dir at `data` (config and log stay in a temp dir).
    pub fn start_with_data_dir(data: PathBuf, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = TestServer { child: None, port: 0, dir, extra: extra.to_string(), data: Some(data) };
        s.spawn();
        s
    }

    /// Starts on a copy of the data dir `src` (e.g. a backup), with `extra` config.
    pub fn start_on_copy(src: &Path, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(src, &dir.path().join("data"));
        let mut s = TestServer { child: None, port: 0, dir, extra: extra.to_string(), data: None };
        s.spawn();
        s
    }

    /// Starts with the default test configuration.
    pub fn new() -> TestServer {
        TestServer::start("")
    }

    /// Data directory of this server.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| self.dir.path().join("data"))
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("diskdb.toml")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn write_config(&self) {
        let mut base: toml::Table = toml::from_str(BASE).expect("conf/test.toml parses");
        let extra: toml::Table = toml::from_str(&self.extra).expect("extra config parses");
        for (section, v) in extra {
            match (base.get_mut(&section), v) {
                (Some(toml::Value::Table(b)), toml::Value::Table(e)) => b.extend(e),
                (_, v) => {
                    base.insert(section, v);
                }
            }
        }
        let server = base.entry("server").or_insert(toml::Value::Table(Default::default()));
        let server = server.as_table_mut().expect("server table");
        server.insert("port".into(), toml::Value::Integer(0));
        let storage = base.entry("storage").or_insert(toml::Value::Table(Default::default()));
        storage
            .as_table_mut()
            .expect("storage table")
            .insert("dir".into(), toml::Value::String(self.data_dir().to_string_lossy().into()));
        std::fs::write(self.config_path(), toml::to_string(&base).expect("toml")).expect("write config");
    }

    fn spawn(&mut self) {
        self.write_config();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_diskdb"))
            .arg("--config")
            .arg(self.config_path())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn diskdb");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                if let Some(addr) = line.trim().strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_string());
                }
                line.clear();
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("diskdb did not start:\n{}", self.log());
            }
        };
        self.port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port in listening line");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("diskdb exited with {status}:\n{}", self.log());
            }
            if let Ok(mut c) = self.try_raw() {
                if c.cmd(&["PING"]).is_ok_or_noauth() {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!("diskdb does not answer PING:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("client");
        c.get_connection().expect("connect")
    }

    /// Runs `f` on `n` clients at once, each on its own thread with its own
    /// connection, and returns what each returned (races between clients).
    #[allow(dead_code)]
    pub fn on_clients<T, F>(&self, n: usize, f: F) -> Vec<T>
    where
        T: Send + 'static,
        F: Fn(redis::Connection) -> T + Send + Clone + 'static,
    {
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let (con, f) = (self.client(), f.clone());
                std::thread::spawn(move || f(con))
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("client thread")).collect()
    }

    /// A raw RESP connection.
    pub fn raw(&self) -> RawClient {
        self.try_raw().expect("connect raw")
    }

    fn try_raw(&self) -> std::io::Result<RawClient> {
        RawClient::connect(self.port)
    }

    /// Stops with SIGTERM and waits (graceful shutdown path).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY-free: kill(2) through the libc crate is not needed; use the `kill` command.
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    panic!("diskdb did not stop on SIGTERM:\n{}", self.log());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Kills with SIGKILL (crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits for the process to exit by itself (e.g. after SHUTDOWN).
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(s)) = c.try_wait() {
                    self.child = None;
                    return Some(s);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Starts again on the same data dir (after stop or kill).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- diskdb log ---\n{}", self.log());
        }
        self.kill();
    }
}

/// Copies a directory tree (files only, no links kept).
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("create dir");
    for e in std::fs::read_dir(src).expect("read dir") {
        let e = e.expect("dir entry");
        let to = dst.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).expect("copy file");
        }
    }
}

/// Runs `diskdb` with `args` until it exits (at most 30 s): (exit code, stderr).
/// For start-up failures; panics if the server keeps running.
pub fn run_to_exit(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_diskdb"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn diskdb");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("diskdb {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().expect("stderr reader"))
}

/// One `name:value` field of `INFO section`, as text.
pub fn info_field(c: &mut RawClient, section: &str, name: &str) -> String {
    let text = c.cmd(&["INFO", section]).str();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("{name} missing in INFO {section}:\n{text}"))
        .trim()
        .to_string()
}

/// A command as owned words (for `pipeline`).
pub fn args(words: &[&[u8]]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.to_vec()).collect()
}

/// Sends `cmds` in db `db` as one pipeline (written by a second thread, so
/// huge pipelines cannot deadlock) and returns their replies.
pub fn pipeline(s: &TestServer, db: u32, cmds: &[Vec<Vec<u8>>]) -> Vec<Reply> {
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

/// A client for threads writing while the server may be killed: every
/// failure is `None`, never a panic.
pub struct Writer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Writer {
    /// Connects, or None.
    pub fn connect(port: u16) -> Option<Writer> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream.set_nodelay(true).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        Some(Writer { stream, buf: Vec::new() })
    }

    /// Sends one command and reads its reply; None once the connection is gone.
    pub fn call(&mut self, args: &[&[u8]]) -> Option<Reply> {
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

/// Redis's WRONGTYPE error text.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// An integer reply.
pub fn int(n: i64) -> Reply {
    Reply::Int(n)
}

/// A bulk string reply.
pub fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

/// An array of bulk strings.
pub fn bulks(items: &[&str]) -> Reply {
    Reply::Array(Some(items.iter().map(|s| Reply::bulk(s)).collect()))
}

/// An error reply with this full text.
pub fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

/// A tiny deterministic xorshift generator for randomized tests.
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// An integer in `-span..=span`, as text.
    pub fn int(&mut self, span: i64) -> String {
        (self.below(2 * span as u64 + 1) as i64 - span).to_string()
    }

    /// One of `of`.
    pub fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.below(of.len() as u64) as usize]
    }
}

/// Asserts that `draws` (each a category name) are spread uniformly over
/// the `k` categories of `all`, by Pearson's chi-square statistic: under a
/// uniform sampler it has mean `k - 1` and standard deviation
/// `sqrt(2 (k - 1))`, and it stays under mean + 6 deviations except with
/// negligible probability, while a sampler favouring some categories by a
/// few times goes far past. Every draw must be one of `all`.
pub fn assert_uniform(what: &str, all: &[String], draws: &[String]) {
    let mut counts: std::collections::HashMap<&str, u64> = all.iter().map(|m| (m.as_str(), 0)).collect();
    for d in draws {
        *counts.get_mut(d.as_str()).unwrap_or_else(|| panic!("{what}: {d:?} is not a member")) += 1;
    }
    let k = all.len() as f64;
    let expected = draws.len() as f64 / k;
    let chi2: f64 = counts.values().map(|&o| (o as f64 - expected).powi(2) / expected).sum();
    let bound = (k - 1.0) + 6.0 * (2.0 * (k - 1.0)).sqrt();
    let (most, n) = counts.iter().max_by_key(|(_, &n)| n).expect("members");
    assert!(
        chi2 < bound,
        "{what}: not uniform: chi-square {chi2:.0} over {k} members (bound {bound:.0}); {most:?} drawn {n} times, {expected:.0} expected"
    );
}

/// Sends `cmd` to DiskDB (`ours`) and redis-server (`theirs`) and asserts
/// the raw replies are equal; `step` names the command in the failure.
pub fn same_reply(ours: &mut RawClient, theirs: &mut RawClient, step: usize, cmd: &[String]) {
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    ours.send_cmd(&args);
    theirs.send_cmd(&args);
    let (a, b) = (ours.read_raw(), theirs.read_raw());
    assert_eq!(
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b),
        "command {step}: {cmd:?} (ours left, redis right)"
    );
}

/// A parsed RESP2/RESP3 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+...`
    Simple(String),
    /// `-...`
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` (None for `$-1`)
    Bulk(Option<Vec<u8>>),
    /// `*n` (None for `*-1`)
    Array(Option<Vec<Reply>>),
    /// RESP3 `_`
    Null,
    /// RESP3 `,`
    Double(String),
    /// RESP3 `#`
    Bool(bool),
    /// RESP3 `%`
    Map(Vec<(Reply, Reply)>),
    /// RESP3 `~`
    Set(Vec<Reply>),
    /// RESP3 `=`
    Verbatim(Vec<u8>),
    /// RESP3 `>`
    Push(Vec<Reply>),
}

impl Reply {
    /// A bulk string reply.
    pub fn bulk(s: &str) -> Reply {
        Reply::Bulk(Some(s.as_bytes().to_vec()))
    }
    /// `+OK`
    pub fn ok() -> Reply {
        Reply::Simple("OK".into())
    }
    fn is_ok_or_noauth(&self) -> bool {
        match self {
            Reply::Simple(_) => true,
            Reply::Error(e) => e.starts_with("NOAUTH"),
            _ => false,
        }
    }
    /// The error text, if an error.
    pub fn err(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e),
            _ => None,
        }
    }
    /// Bulk as UTF-8 string.
    pub fn str(&self) -> String {
        match self {
            Reply::Bulk(Some(b)) | Reply::Verbatim(b) => String::from_utf8_lossy(b).into_owned(),
            Reply::Simple(s) => s.clone(),
            other => panic!("not a string reply: {other:?}"),
        }
    }
    /// Array items.
    pub fn items(&self) -> Vec<Reply> {
        match self {
            Reply::Array(Some(v)) | Reply::Set(v) | Reply::Push(v) => v.clone(),
            other => panic!("not an array reply: {other:?}"),
        }
    }
}

/// A raw RESP client.
pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects to 127.0.0.1:port.
    pub fn connect(port: u16) -> std::io::Result<RawClient> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(RawClient { stream, buf: Vec::new() })
    }

    /// Sets the read timeout.
    pub fn set_timeout(&mut self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).expect("timeout");
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends a command as a RESP multibulk.
    pub fn send_cmd(&mut self, args: &[&str]) {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&encode(&bytes));
    }

    /// Sends a command and reads its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        self.send_cmd(args);
        self.read()
    }

    /// Sends a binary command and reads its reply.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Reply {
        self.send(&encode(args));
        self.read()
    }

    /// Reads one reply.
    pub fn read(&mut self) -> Reply {
        let raw = self.read_raw();
        let (r, used) = parse(&raw).expect("complete reply");
        assert_eq!(used, raw.len());
        r
    }

    /// Reads the exact bytes of one complete reply.
    pub fn read_raw(&mut self) -> Vec<u8> {
        loop {
            if let Some((_, used)) = parse(&self.buf) {
                return self.buf.drain(..used).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read reply");
            assert!(n > 0, "connection closed; got so far: {:?}", String::from_utf8_lossy(&self.buf));
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until the server closes the connection; returns what arrived.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        let _ = self.stream.read_to_end(&mut out);
        out
    }

    /// True if the server closes the connection within `within` (EOF or reset;
    /// a timeout or unexpected data is not a close).
    pub fn is_closed(&mut self, within: Duration) -> bool {
        self.stream.set_read_timeout(Some(within)).expect("timeout");
        let mut b = [0u8; 1];
        match self.stream.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        }
    }

    /// True if the server closes the connection within `within`, after any
    /// amount of data still in flight (which is read and dropped).
    pub fn is_closed_after_data(&mut self, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            self.stream.set_read_timeout(Some(left)).expect("timeout");
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) => return !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
            }
        }
    }
}

/// Encodes a command as a RESP multibulk.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn line(b: &[u8]) -> Option<(&[u8], usize)> {
    let i = b.windows(2).position(|w| w == b"\r\n")?;
    Some((&b[..i], i + 2))
}

/// Parses one reply from the front of `b`: (reply, bytes used), or None if incomplete.
pub fn parse(b: &[u8]) -> Option<(Reply, usize)> {
    let (l, n) = line(b)?;
    let t = l[0];
    let s = String::from_utf8_lossy(&l[1..]).into_owned();
    let items = |count: usize, mut at: usize| -> Option<(Vec<Reply>, usize)> {
        let mut v = Vec::with_capacity(count);
        for _ in 0..count {
            let (r, u) = parse(&b[at..])?;
            v.push(r);
            at += u;
        }
        Some((v, at))
    };
    Some(match t {
        b'+' => (Reply::Simple(s), n),
        b'-' => (Reply::Error(s), n),
        b':' => (Reply::Int(s.parse().expect("int")), n),
        b'_' => (Reply::Null, n),
        b',' => (Reply::Double(s), n),
        b'#' => (Reply::Bool(s == "t"), n),
        b'$' | b'=' => {
            let len: i64 = s.parse().expect("bulk len");
            if len < 0 {
                return Some((Reply::Bulk(None), n));
            }
            let end = n + len as usize;
            if b.len() < end + 2 {
                return None;
            }
            let data = b[n..end].to_vec();
            if t == b'=' {
                (Reply::Verbatim(data[4..].to_vec()), end + 2)
            } else {
                (Reply::Bulk(Some(data)), end + 2)
            }
        }
        b'*' | b'~' | b'>' => {
            let len: i64 = s.parse().expect("array len");
            if len < 0 {
                return Some((Reply::Array(None), n));
            }
            let (v, at) = items(len as usize, n)?;
            (
                match t {
                    b'*' => Reply::Array(Some(v)),
                    b'~' => Reply::Set(v),
                    _ => Reply::Push(v),
                },
                at,
            )
        }
        b'%' => {
            let len: usize = s.parse().expect("map len");
            let (v, at) = items(len * 2, n)?;
            let mut pairs = Vec::new();
            let mut it = v.into_iter();
            while let (Some(k), Some(val)) = (it.next(), it.next()) {
                pairs.push((k, val));
            }
            (Reply::Map(pairs), at)
        }
        _ => panic!("bad reply type byte {:?} in {:?}", t as char, String::from_utf8_lossy(b)),
    })
}

/// A throwaway `redis-server` for differential tests; None (with a reason
/// printed) if it is not installed.
pub struct RedisServer {
    child: Child,
    /// Port it listens on.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts redis-server from `REDIS_SERVER` or PATH on a free port.
    pub fn start() -> Option<RedisServer> {
        let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        if Command::new(&bin).arg("--version").output().is_err() {
            eprintln!("SKIP: redis-server not found ({bin}); install the Debian package redis-server");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        for _ in 0..20 {
            let port = free_port();
            let child = Command::new(&bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut child = child;
            while Instant::now() < deadline {
                // A server that failed to bind exits; a PONG on its port would
                // then come from someone else's server.
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if let Ok(mut c) = RawClient::connect(port) {
                    // Make sure the answer comes from our child, not another test's server.
                    let info = c.cmd(&["INFO", "server"]);
                    if matches!(&info, Reply::Bulk(Some(b)) if String::from_utf8_lossy(b).contains(&format!("process_id:{}\r\n", child.id())))
                    {
                        return Some(RedisServer { child, port, _dir: dir });
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("could not start redis-server");
    }

    /// A raw connection.
    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.port).expect("connect redis-server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Path of a file under the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

// ---- multi-connection scenarios (blocking commands), shared by tests/blocking.rs and tests/streams.rs

/// Runs `scenario` (given a server's port) on DiskDB and on redis-server, and
/// asserts both transcripts are equal; returns DiskDB's.
pub fn on_both(scenario: impl Fn(u16) -> Vec<String>) -> Vec<String> {
    let ours = {
        let s = TestServer::new();
        scenario(s.port)
    };
    if let Some(redis) = RedisServer::start() {
        let theirs = scenario(redis.port);
        assert_eq!(ours, theirs, "DiskDB (left) and redis-server (right) differ");
    }
    ours
}

/// A connection named `name` (so CLIENT LIST can tell when it is parked).
pub fn named(port: u16, name: &str) -> RawClient {
    let mut c = RawClient::connect(port).expect("connect");
    c.send_cmd(&["CLIENT", "SETNAME", name]);
    assert_eq!(c.read_raw(), b"+OK\r\n");
    c
}

/// Reads one reply as text (CRLFs kept visible).
pub fn reply(c: &mut RawClient) -> String {
    String::from_utf8_lossy(&c.read_raw()).into_owned()
}

/// Sends `args` and reads the reply as text.
pub fn cmd(c: &mut RawClient, args: &[&str]) -> String {
    c.send_cmd(args);
    reply(c)
}

/// Waits until client `name` has run `command` (it is then parked, since the
/// scenarios only call this for commands that have nothing to serve).
pub fn wait_parked(port: u16, name: &str, command: &str) {
    let mut ctl = RawClient::connect(port).expect("connect");
    let (want_name, want_cmd) = (format!(" name={name} "), format!(" cmd={command} "));
    for _ in 0..1000 {
        let list = ctl.cmd(&["CLIENT", "LIST"]).str();
        if list.lines().any(|l| l.contains(&want_name) && l.contains(&want_cmd)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("client {name} never ran {command}");
}
