//! The stock Redis tools work unchanged against DiskDB: `redis-cli` (one-shot
//! commands, `--scan`, `--pipe` mass insertion, interactive mode fed through
//! stdin) and `redis-benchmark`. redis-cli's output is also compared with
//! what it prints against a real redis-server, when one is installed. Each
//! test prints why and passes if the tool is not installed.

mod common;

use common::{RedisServer, Reply, TestServer};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Longest any tool may run before the test fails (a hang, not slowness).
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// True if `tool --version` runs; otherwise prints why the test is skipped.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: {tool} not found; install the Debian package redis-tools");
    }
    ok
}

/// Runs `tool args` with `stdin`, failing the test if it runs past `TOOL_TIMEOUT`.
fn run(tool: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(tool)
        .args(args)
        .env("REDISCLI_HISTFILE", "/dev/null")
        .env_remove("REDISCLI_AUTH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {tool}: {e}"));
    let pid = child.id();
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(TOOL_TIMEOUT) {
        Ok(out) => out.unwrap_or_else(|e| panic!("{tool}: {e}")),
        Err(_) => {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            panic!("{tool} {args:?} did not finish within {TOOL_TIMEOUT:?}");
        }
    };
    let _ = feeder.join();
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `redis-cli -p PORT args...` with `stdin`.
fn cli(port: u16, args: &[&str], stdin: &[u8]) -> Output {
    let port = port.to_string();
    let mut all = vec!["-p", port.as_str()];
    all.extend_from_slice(args);
    run("redis-cli", &all, stdin)
}

/// Runs the same redis-cli invocation against DiskDB and (if installed) a
/// real redis-server; asserts equal stdout and exit status; returns DiskDB's stdout.
fn cli_like_redis(s: &TestServer, redis: Option<&RedisServer>, args: &[&str], stdin: &[u8]) -> String {
    let ours = cli(s.port, args, stdin);
    if let Some(r) = redis {
        let theirs = cli(r.port, args, stdin);
        assert_eq!(stdout(&ours), stdout(&theirs), "redis-cli {args:?}: stdout differs from redis-server's");
        assert_eq!(ours.status.code(), theirs.status.code(), "redis-cli {args:?}: exit status");
    }
    stdout(&ours)
}

#[test]
fn redis_cli_one_shot_commands() {
    if !have("redis-cli") {
        return;
    }
    let s = TestServer::new();
    let redis = RedisServer::start();
    let r = redis.as_ref();
    let cases: &[(&[&str], &str)] = &[
        (&["PING"], "PONG\n"),
        (&["SET", "a", "hello world"], "OK\n"),
        (&["GET", "a"], "hello world\n"),
        (&["GET", "missing"], "\n"),
        (&["INCR", "n"], "1\n"),
        (&["INCRBY", "n", "41"], "42\n"),
        (&["MGET", "a", "missing", "n"], "hello world\n\n42\n"),
        (&["-n", "3", "SET", "in3", "x"], "OK\n"),
        (&["-n", "3", "DBSIZE"], "1\n"),
        (&["DBSIZE"], "2\n"),
        (&["GET"], "ERR wrong number of arguments for 'get' command\n\n"),
        (&["FOO", "bar"], "ERR unknown command 'FOO', with args beginning with: 'bar' \n\n"),
        (&["INCR", "a"], "ERR value is not an integer or out of range\n\n"),
    ];
    for (args, expected) in cases {
        assert_eq!(cli_like_redis(&s, r, args, b""), *expected, "redis-cli {args:?}");
    }
    // Arguments read from stdin (-x) as the last argument.
    assert_eq!(cli_like_redis(&s, r, &["-x", "SET", "fromstdin"], b"piped\nvalue"), "OK\n");
    assert_eq!(cli_like_redis(&s, r, &["GET", "fromstdin"], b""), "piped\nvalue\n");
}

#[test]
fn redis_cli_scan() {
    if !have("redis-cli") {
        return;
    }
    let s = TestServer::new();
    let mut c = s.raw();
    for i in 0..100 {
        assert_eq!(c.cmd(&["SET", &format!("k:{i}"), "v"]), Reply::ok());
    }
    assert_eq!(c.cmd(&["SET", "other", "v"]), Reply::ok());
    let sorted = |o: Output| {
        assert!(o.status.success(), "redis-cli --scan failed: {}", String::from_utf8_lossy(&o.stderr));
        let mut lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    let mut all: Vec<String> = (0..100).map(|i| format!("k:{i}")).collect();
    all.push("other".into());
    all.sort();
    assert_eq!(sorted(cli(s.port, &["--scan"], b"")), all);
    let mut ones: Vec<String> = all.iter().filter(|k| k.starts_with("k:1")).cloned().collect();
    ones.sort();
    assert_eq!(sorted(cli(s.port, &["--scan", "--pattern", "k:1*"], b"")), ones);
    assert_eq!(sorted(cli(s.port, &["--scan", "--pattern", "nothing*"], b"")), Vec::<String>::new());
}

/// A mass-insertion stream: `n` SETs in RESP, as the Redis docs describe.
fn mass_insert(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let key = format!("mass:{i}");
        let value = format!("value-{i}");
        v.extend(common::encode(&[b"SET", key.as_bytes(), value.as_bytes()]));
    }
    v
}

#[test]
fn redis_cli_pipe_mass_insertion() {
    if !have("redis-cli") {
        return;
    }
    let s = TestServer::new();
    let n = 20_000;
    let out = cli(s.port, &["--pipe"], &mass_insert(n));
    let text = stdout(&out);
    assert!(out.status.success(), "redis-cli --pipe failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("errors: 0, replies: {n}")), "redis-cli --pipe said: {text}");
    let mut c = s.raw();
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(n as i64));
    assert_eq!(c.cmd(&["GET", "mass:12345"]), Reply::bulk("value-12345"));

    // Errors in the stream are counted, and do not stop it.
    let mut stream = mass_insert(10);
    for _ in 0..3 {
        stream.extend(common::encode(&[b"INCR", b"mass:1"]));
    }
    let out = cli(s.port, &["--pipe"], &stream);
    let text = stdout(&out);
    assert!(text.contains("errors: 3, replies: 13"), "redis-cli --pipe said: {text}");
}

#[test]
fn redis_cli_interactive_mode() {
    if !have("redis-cli") {
        return;
    }
    let s = TestServer::new();
    let redis = RedisServer::start();
    let session = b"SET x 1\nINCR x\nGET x\nGET nokey\nFOO\nSET \"a b\" 'c d'\nGET \"a b\"\n\
        SELECT 2\nSET y 2\nDBSIZE\nSELECT 0\nDBSIZE\nPING\n";
    let got = cli_like_redis(&s, redis.as_ref(), &[], session);
    assert_eq!(
        got,
        "OK\n2\n2\n\nERR unknown command 'FOO', with args beginning with: \n\nOK\nc d\nOK\nOK\n1\nOK\n2\nPONG\n"
    );
}

/// Runs redis-benchmark and checks every test printed a requests-per-second figure.
fn benchmark(port: u16, extra: &[&str]) {
    let port = port.to_string();
    let mut args = vec!["-p", port.as_str(), "-t", "set,get,incr,mset", "-n", "2000", "-q"];
    args.extend_from_slice(extra);
    let out = run("redis-benchmark", &args, b"");
    let text = stdout(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "redis-benchmark {extra:?} failed ({}):\n{text}\n{stderr}", out.status);
    assert!(
        !text.contains("Error") && !stderr.contains("Error"),
        "redis-benchmark {extra:?} reported errors:\n{text}\n{stderr}"
    );
    // Progress lines end in '\r'; the final line of each test ends in '\n'.
    let results: Vec<&str> =
        text.split(['\r', '\n']).map(str::trim).filter(|l| l.contains("requests per second")).collect();
    for test in ["SET", "GET", "INCR", "MSET (10 keys)"] {
        let line = results
            .iter()
            .find(|l| l.starts_with(&format!("{test}: ")))
            .unwrap_or_else(|| panic!("redis-benchmark {extra:?}: no result for {test}:\n{text}"));
        let rps: f64 = line[test.len() + 2..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no figure in {line:?}"));
        assert!(rps > 0.0, "{line}");
    }
}

#[test]
fn redis_benchmark_runs_without_errors() {
    if !have("redis-benchmark") {
        return;
    }
    let s = TestServer::new();
    benchmark(s.port, &[]);
    benchmark(s.port, &["-P", "16"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}
