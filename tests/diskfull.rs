//! Disk full: on a small tmpfs, writes that no longer fit are refused with a
//! MISCONF error naming the cause, reads keep working, INFO shows the state,
//! and writes resume by themselves once space is freed. Needs `mount -t
//! tmpfs` (tests run as root); where mounting is not permitted the test says
//! so and passes without checking anything.

mod common;

use common::{info_field, Reply, TestServer};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs of `mb` MiB mounted on a fresh dir, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mb: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!("SKIPPED: cannot mount a tmpfs here: {}", String::from_utf8_lossy(&out.stderr).trim());
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[test]
fn disk_full_refuses_writes_keeps_reads_and_recovers() {
    let Some(fs) = Tmpfs::mount(48) else { return };
    let filler = fs.path().join("filler");
    let mut s = TestServer::start_with_data_dir(
        fs.path().join("data"),
        "[storage]\nsync = \"always\"\nwrite_buffer_size = 1048576\n",
    );
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "before", "still here"]), Reply::ok());
    // Take most of the space away, then write until the disk is full.
    let free = fs2_free(fs.path());
    std::fs::write(&filler, vec![0u8; (free as usize).saturating_sub(6 << 20)]).expect("filler");
    let value = "v".repeat(64 * 1024);
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut c = s.raw();
    let misconf = loop {
        assert!(Instant::now() < deadline, "the disk never filled up");
        let key = format!("k{}", acked.len());
        // A write whose WAL flush failed is not acknowledged: its client is
        // closed without a reply, so reconnect and go on.
        let Some(mut w) = common::Writer::connect(s.port) else { panic!("server died:\n{}", s.log()) };
        match w.call(&[b"SET", key.as_bytes(), value.as_bytes()]) {
            Some(Reply::Simple(ok)) if ok == "OK" => acked.push(key),
            // Refused. Checked at once, as the server probes every 250 ms
            // whether writing works again: reopening the DB drops RocksDB's
            // old WAL files, and when that frees enough space writes resume
            // (legitimately); then fill again.
            Some(Reply::Error(e)) if info_field(&mut c, "storage", "storage_writes") == "refused" => break e,
            Some(Reply::Error(_)) => {}
            Some(other) => panic!("SET: {other:?}"),
            None => {} // closed: not acknowledged
        }
    };
    assert!(misconf.starts_with("MISCONF "), "{misconf}");
    assert!(misconf.to_lowercase().contains("space"), "the error does not name the cause: {misconf}");
    eprintln!("disk full after {} acknowledged 64 KiB writes: {misconf}", acked.len());
    // INFO says why writes are refused.
    assert!(!info_field(&mut c, "persistence", "storage_write_error").is_empty());
    assert_eq!(info_field(&mut c, "persistence", "aof_last_write_status"), "err");
    assert!(c.cmd(&["SET", "during", "x"]).err().is_some_and(|e| e.starts_with("MISCONF")));

    // Reads go on.
    assert_eq!(c.cmd(&["GET", "before"]), Reply::bulk("still here"));
    for k in &acked {
        assert_eq!(c.cmd(&["STRLEN", k]), Reply::Int(value.len() as i64), "{k}");
    }

    // Space comes back: writes resume without a restart.
    std::fs::remove_file(&filler).expect("remove filler");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match c.cmd(&["SET", "after", "y"]) {
            r if r == Reply::ok() => break,
            Reply::Error(e) if e.starts_with("MISCONF") => {
                assert!(Instant::now() < deadline, "writes did not resume after space came back:\n{}", s.log());
                std::thread::sleep(Duration::from_millis(200));
            }
            other => panic!("SET after: {other:?}"),
        }
    }
    assert_eq!(info_field(&mut c, "storage", "storage_writes"), "ok");
    let log = s.log();
    assert!(log.contains("writes to the data dir work again"), "recovery not logged:\n{log}");
    eprintln!("recovered by reopening the DB: {}", log.contains("reopened after a write error"));
    // Nothing acknowledged was lost, across a restart too.
    s.stop();
    s.restart();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["GET", "after"]), Reply::bulk("y"));
    for k in &acked {
        assert_eq!(c.cmd(&["STRLEN", k]), Reply::Int(value.len() as i64), "{k} after restart");
    }
}

/// Free bytes on the filesystem holding `p` (df, to stay std-only).
fn fs2_free(p: &Path) -> u64 {
    let out = Command::new("df").args(["-B1", "--output=avail"]).arg(p).output().expect("df");
    String::from_utf8_lossy(&out.stdout).lines().nth(1).and_then(|l| l.trim().parse().ok()).expect("df output")
}
