//! The newest redis-py from PyPI, with its default protocol (RESP3 via HELLO 3),
//! runs a realistic session against DiskDB, with and without a password. The
//! virtual environment lives under the build folder and is created on first use.

mod common;

use common::TestServer;
use std::process::Command;

/// The redis-py version the tests pin (the newest on PyPI when written).
const REDIS_PY: &str = "redis==8.1.0";

fn run_session(s: &TestServer, password: Option<&str>) {
    let script = common::repo_path("tests/py/session.py");
    let mut cmd = Command::new(common::envs::python(&[REDIS_PY]));
    cmd.arg(script).arg(s.port.to_string());
    if let Some(p) = password {
        cmd.arg(p);
    }
    let out = cmd.output().expect("run python");
    assert!(
        out.status.success(),
        "redis-py session failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("redis-py session OK, protocol 3"), "{stdout}");
}

#[test]
fn redis_py_default_protocol_session() {
    let s = TestServer::new();
    run_session(&s, None);
}

#[test]
fn redis_py_with_password() {
    let s = TestServer::start("[server]\nrequirepass = \"s3cret\"\n");
    run_session(&s, Some("s3cret"));
}
