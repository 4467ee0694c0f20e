//! The newest redis-py from PyPI, with its default protocol (RESP3 via HELLO 3),
//! runs a realistic session against DiskDB, with and without a password. The
//! virtual environment lives under the build folder and is created on first use.

mod common;

use common::TestServer;
use std::path::PathBuf;
use std::process::Command;

/// The redis-py version the tests pin (the newest on PyPI when written).
const REDIS_PY: &str = "redis==8.1.0";

fn python() -> PathBuf {
    // target/release/diskdb → target/pyenv
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_diskdb"));
    let target = bin.parent().and_then(|p| p.parent()).expect("target dir").to_path_buf();
    let venv = target.join("pyenv");
    let ready = venv.join(".redis-py-8.1.0");
    if !ready.exists() {
        // Tests run in parallel: build in a private folder, then rename into place.
        let tmp = target.join(format!("pyenv.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let ok = Command::new("python3").args(["-m", "venv"]).arg(&tmp).status().expect("python3 -m venv");
        assert!(ok.success(), "creating the virtual environment failed");
        let ok = Command::new(tmp.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check", REDIS_PY])
            .status()
            .expect("pip");
        assert!(ok.success(), "pip install {REDIS_PY} failed");
        std::fs::write(tmp.join(".redis-py-8.1.0"), b"").expect("marker");
        if std::fs::rename(&tmp, &venv).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
    }
    venv.join("bin/python")
}

fn run_session(s: &TestServer, password: Option<&str>) {
    let script = common::repo_path("tests/py/session.py");
    let mut cmd = Command::new(python());
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
