//! The Linux x86_64 release tarball: `make release-linux-x64` packages the
//! release binary built for this test run (into a temporary `DIST`, without
//! rebuilding: `RELEASE_BUILD=`), and the tarball must match its `.sha256`,
//! unpack into `diskdb-VERSION-linux-x86_64/` with the binary, the shipped
//! configuration, README.md and LICENSE, and the unpacked binary must report
//! its version, start with the shipped configuration and answer PING.
//!
//! Takes a few seconds (strip + gzip of the binary); needs `make`, `tar`,
//! `strip` and `sha256sum`, which the build machine has anyway.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const PLATFORM: &str = "linux-x86_64";

/// Runs a command, failing the test with its output if it does not succeed.
fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `make release-linux-x64` into `dist`, packaging this run's binary.
fn package(dist: &Path) -> PathBuf {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut make = Command::new("make");
    make.current_dir(root)
        .arg("--no-print-directory")
        .arg("release-linux-x64")
        .arg("RELEASE_BUILD=")
        .arg(format!("BIN={}", env!("CARGO_BIN_EXE_diskdb")))
        .arg(format!("DIST={}", dist.display()))
        // Under `make test` the outer make's jobserver is not ours to use.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    run(&mut make);
    let tarball = dist.join(format!("diskdb-{VERSION}-{PLATFORM}.tar.gz"));
    assert!(tarball.is_file(), "make did not produce {}", tarball.display());
    tarball
}

/// Kills the server when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the unpacked binary with the shipped config on a free port and
/// returns it with the address it printed.
fn start(bin: &Path, conf: &Path, data: &Path, log: &Path) -> (Running, String) {
    let log_file = std::fs::File::create(log).expect("log file");
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(conf)
        .args(["--port", "0", "--dir"])
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .expect("spawn the unpacked diskdb");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Running(child);
    // A thread reads stdout so that a server that never prints cannot hang
    // the test; it keeps draining afterwards so the pipe never fills.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on ") {
                let _ = tx.send(addr.to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(addr) => (server, addr),
        Err(_) => panic!(
            "the unpacked diskdb did not print `listening on`; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        ),
    }
}

#[test]
fn release_tarball_unpacks_and_serves() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("skipped: release-linux-x64 packages a Linux x86_64 binary");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dist = tmp.path().join("dist");
    let tarball = package(&dist);

    let sums = run(Command::new("sha256sum")
        .current_dir(&dist)
        .arg("-c")
        .arg(format!("diskdb-{VERSION}-{PLATFORM}.tar.gz.sha256")));
    assert!(String::from_utf8_lossy(&sums.stdout).contains(": OK"));

    let unpacked = tmp.path().join("unpacked");
    std::fs::create_dir(&unpacked).expect("mkdir");
    run(Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&unpacked));
    let top = unpacked.join(format!("diskdb-{VERSION}-{PLATFORM}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (shipped, source) in
        [("conf/diskdb.toml", "conf/diskdb.toml"), ("README.md", "README.md"), ("LICENSE", "LICENSE")]
    {
        let got = std::fs::read(top.join(shipped)).unwrap_or_else(|e| panic!("{shipped} in the tarball: {e}"));
        assert_eq!(
            got,
            std::fs::read(root.join(source)).expect("source file"),
            "{shipped} differs from the repository's"
        );
    }

    let bin = top.join("diskdb");
    let version = run(Command::new(&bin).arg("--version"));
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(version.starts_with(&format!("diskdb {VERSION}")), "--version printed {version:?}");

    let (_server, addr) =
        start(&bin, &top.join("conf/diskdb.toml"), &tmp.path().join("data"), &tmp.path().join("server.log"));
    let mut conn = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    conn.write_all(b"*1\r\n$4\r\nPING\r\n").expect("send PING");
    let mut reply = [0u8; 7];
    conn.read_exact(&mut reply).expect("read the PING reply");
    assert_eq!(&reply, b"+PONG\r\n");
}
