//! SAVE / BGSAVE / LASTSAVE: a RocksDB checkpoint under `dir/backups/<timestamp>`
//! taken online, reported by INFO persistence, and directly usable as a data
//! dir by another server.

mod common;

use common::{info_field, Reply, TestServer};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn backups(s: &TestServer) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(s.data_dir().join("backups"))
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn bgsave_makes_a_checkpoint_that_opens_as_a_data_dir() {
    let s = TestServer::new();
    let mut c = s.raw();
    for i in 0..500 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), &format!("v{i}")]), Reply::ok());
    }
    assert_eq!(c.cmd(&["RPUSH", "list", "a", "b", "c"]), Reply::Int(3));
    assert_eq!(c.cmd(&["HSET", "hash", "f", "v"]), Reply::Int(1));
    assert_eq!(c.cmd(&["ZADD", "zset", "1.5", "m"]), Reply::Int(1));
    let Reply::Int(before) = c.cmd(&["LASTSAVE"]) else { panic!("LASTSAVE") };
    std::thread::sleep(Duration::from_millis(1100)); // LASTSAVE has 1 s resolution

    assert_eq!(c.cmd(&["BGSAVE"]), Reply::Simple("Background saving started".into()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut c, "persistence", "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(&mut c, "persistence", "rdb_last_bgsave_status"), "ok");
    let Reply::Int(after) = c.cmd(&["LASTSAVE"]) else { panic!("LASTSAVE") };
    assert!(after > before, "LASTSAVE did not move: {before} -> {after}");
    assert_eq!(info_field(&mut c, "persistence", "rdb_last_save_time"), after.to_string());
    let dirs = backups(&s);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_eq!(info_field(&mut c, "persistence", "rdb_last_backup_dir"), dirs[0].display().to_string());

    // Written after the checkpoint: not in the backup.
    assert_eq!(c.cmd(&["SET", "later", "x"]), Reply::ok());
    assert_eq!(c.cmd(&["DEL", "k0"]), Reply::Int(1));

    let b = TestServer::start_on_copy(&dirs[0], "");
    let mut bc = b.raw();
    assert_eq!(bc.cmd(&["DBSIZE"]), Reply::Int(503));
    assert_eq!(bc.cmd(&["GET", "k0"]), Reply::bulk("v0"));
    assert_eq!(bc.cmd(&["GET", "k499"]), Reply::bulk("v499"));
    assert_eq!(bc.cmd(&["GET", "later"]), Reply::Bulk(None));
    assert_eq!(bc.cmd(&["LRANGE", "list", "0", "-1"]).items().len(), 3);
    assert_eq!(bc.cmd(&["HGET", "hash", "f"]), Reply::bulk("v"));
    assert_eq!(bc.cmd(&["ZSCORE", "zset", "m"]), Reply::bulk("1.5"));
    // The original goes on unaffected.
    assert_eq!(c.cmd(&["GET", "later"]), Reply::bulk("x"));
}

#[test]
fn save_is_synchronous_and_backups_do_not_collide() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "a", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["SAVE"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "a", "2"]), Reply::ok());
    assert_eq!(c.cmd(&["SAVE"]), Reply::ok());
    let dirs = backups(&s);
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    assert_eq!(info_field(&mut c, "persistence", "rdb_changes_since_last_save"), "0");
    // Each backup holds its own point in time.
    for (dir, want) in dirs.iter().zip(["1", "2"]) {
        let b = TestServer::start_on_copy(dir, "");
        assert_eq!(b.raw().cmd(&["GET", "a"]), Reply::bulk(want), "{}", dir.display());
    }
}

#[test]
fn save_and_bgsave_arguments_like_redis() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SAVE", "x"]).err(), Some("ERR wrong number of arguments for 'save' command"));
    assert_eq!(c.cmd(&["BGSAVE", "NOW"]).err(), Some("ERR syntax error"));
    let r = c.cmd(&["BGSAVE", "SCHEDULE"]);
    assert!(
        r == Reply::Simple("Background saving started".into())
            || r == Reply::Simple("Background saving scheduled".into()),
        "{r:?}"
    );
}
