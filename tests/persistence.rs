//! Durability: data survives a graceful restart; a second server on the same
//! data dir is refused with a clear message; a corrupt or foreign data dir
//! stops start-up with a clear error and exit code, never a panic; INFO
//! shows RocksDB's figures. Crashes (SIGKILL under load) are tests/crash.rs.

mod common;

use common::{args, pipeline, Reply, TestServer};

#[test]
fn graceful_restart_keeps_every_key_and_ttl() {
    let mut s = TestServer::new();
    let dbs = [0u32, 1, 7, 15];
    let big = vec![b'b'; 300 * 1024];
    let mut c = s.raw();
    for db in dbs {
        assert_eq!(c.cmd(&["SELECT", &db.to_string()]), Reply::ok());
        for i in 0..50 {
            assert_eq!(c.cmd(&["SET", &format!("plain:{db}:{i}"), &format!("value {db} {i}")]), Reply::ok());
        }
        for i in 0..db + 3 {
            assert_eq!(c.cmd(&["SET", &format!("ttl:{db}:{i}"), "t", "EX", "100000"]), Reply::ok());
        }
        assert_eq!(c.cmd_bytes(&[b"SET", b"bin\x00key", b"\x00\xff\r\n"]), Reply::ok());
        assert_eq!(c.cmd_bytes(&[b"SET", b"big", &big]), Reply::ok());
    }
    // A key whose TTL is over by the time the server is back.
    assert_eq!(c.cmd(&["SELECT", "9"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "short", "x", "PX", "1"]), Reply::ok());
    let mut sizes = Vec::new();
    for db in dbs {
        assert_eq!(c.cmd(&["SELECT", &db.to_string()]), Reply::ok());
        let Reply::Int(n) = c.cmd(&["DBSIZE"]) else { panic!("DBSIZE") };
        assert_eq!(n, 50 + db as i64 + 3 + 2, "db {db} before restart");
        sizes.push(n);
    }
    drop(c);

    s.stop();
    s.restart();

    for (db, size) in dbs.into_iter().zip(sizes) {
        let mut cmds: Vec<Vec<Vec<u8>>> =
            (0..50).map(|i| args(&[b"GET", format!("plain:{db}:{i}").as_bytes()])).collect();
        cmds.extend((0..50).map(|i| args(&[b"TTL", format!("plain:{db}:{i}").as_bytes()])));
        cmds.extend((0..db + 3).map(|i| args(&[b"TTL", format!("ttl:{db}:{i}").as_bytes()])));
        cmds.extend((0..db + 3).map(|i| args(&[b"GET", format!("ttl:{db}:{i}").as_bytes()])));
        cmds.push(args(&[b"GET", b"bin\x00key"]));
        cmds.push(args(&[b"GET", b"big"]));
        cmds.push(args(&[b"DBSIZE"]));
        let mut replies = pipeline(&s, db, &cmds).into_iter();
        for i in 0..50 {
            assert_eq!(replies.next(), Some(Reply::bulk(&format!("value {db} {i}"))), "db {db} plain:{i}");
        }
        for i in 0..50 {
            assert_eq!(replies.next(), Some(Reply::Int(-1)), "db {db} TTL plain:{i}");
        }
        for i in 0..db + 3 {
            let ttl = replies.next();
            assert!(matches!(ttl, Some(Reply::Int(t)) if t > 0 && t <= 100000), "db {db} TTL ttl:{i}: {ttl:?}");
        }
        for i in 0..db + 3 {
            assert_eq!(replies.next(), Some(Reply::bulk("t")), "db {db} ttl:{i}");
        }
        assert_eq!(replies.next(), Some(Reply::Bulk(Some(b"\x00\xff\r\n".to_vec()))), "db {db} binary key");
        assert_eq!(replies.next(), Some(Reply::Bulk(Some(big.clone()))), "db {db} big value");
        assert_eq!(replies.next(), Some(Reply::Int(size)), "db {db} DBSIZE after restart");
    }
    assert_eq!(pipeline(&s, 9, &[args(&[b"GET", b"short"])]), vec![Reply::Bulk(None)]);
    assert_eq!(pipeline(&s, 3, &[args(&[b"DBSIZE"])]), vec![Reply::Int(0)]);
}

#[test]
fn second_server_on_the_same_dir_is_refused() {
    let s = TestServer::new();
    assert_eq!(s.raw().cmd(&["SET", "mine", "1"]), Reply::ok());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("second.toml");
    let data = s.data_dir();
    std::fs::write(
        &config,
        format!("[server]\nbind = \"127.0.0.1\"\nport = 0\n\n[storage]\ndir = {:?}\n", data.to_string_lossy()),
    )
    .expect("write config");
    let (code, stderr) = common::run_to_exit(&["--config".as_ref(), config.as_os_str()]);
    assert!(code.is_some_and(|c| c != 0), "second server exited with {code:?}");
    let lower = stderr.to_lowercase();
    assert!(lower.contains("in use") || lower.contains("lock"), "stderr does not say why: {stderr}");
    assert!(stderr.contains(&*data.to_string_lossy()), "stderr does not name the dir: {stderr}");
    // The first server is unaffected.
    assert_eq!(s.raw().cmd(&["GET", "mine"]), Reply::bulk("1"));
}

/// Starts the binary on `data` and expects it to refuse with exit code 1 and
/// a message naming the dir, without a panic.
fn refused(data: &std::path::Path, why: &[&str]) {
    let (code, stderr) = common::run_to_exit(&["--port".as_ref(), "0".as_ref(), "--dir".as_ref(), data.as_os_str()]);
    assert_eq!(code, Some(1), "exit code; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.contains(&*data.to_string_lossy()), "stderr does not name the dir: {stderr}");
    assert!(why.iter().any(|w| stderr.contains(w)), "stderr does not say why ({why:?}): {stderr}");
}

#[test]
fn corrupt_data_dir_is_refused_with_a_clear_error() {
    let mut s = TestServer::new();
    assert_eq!(s.raw().cmd(&["SET", "k", "v"]), Reply::ok());
    s.stop();
    let data = s.data_dir();
    // A CURRENT that points nowhere / is garbage.
    let current = data.join("CURRENT");
    let saved = std::fs::read(&current).expect("CURRENT");
    std::fs::write(&current, b"\x00garbage\xff").expect("write CURRENT");
    refused(&data, &["Corruption", "corrupt", "No such file", "IO error"]);
    // A truncated MANIFEST.
    std::fs::write(&current, &saved).expect("restore CURRENT");
    let manifest = String::from_utf8(saved).expect("CURRENT is text").trim().to_string();
    let f = std::fs::OpenOptions::new().write(true).open(data.join(&manifest)).expect("manifest");
    f.set_len(10).expect("truncate manifest");
    drop(f);
    refused(&data, &["Corruption", "corrupt", "IO error"]);
}

#[test]
fn foreign_rocksdb_dir_is_refused_not_adopted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("other-app");
    {
        let mut o = rocksdb::Options::default();
        o.create_if_missing(true);
        let db = rocksdb::DB::open(&o, &data).expect("open a plain RocksDB");
        db.put(b"their", b"data").expect("put");
    }
    refused(&data, &["not DiskDB's"]);
    // Untouched: still only the default column family.
    let cfs = rocksdb::DB::list_cf(&rocksdb::Options::default(), &data).expect("list cfs");
    assert_eq!(cfs, vec!["default".to_string()]);
}

/// INFO reports RocksDB's own figures in memory, persistence and storage.
#[test]
fn info_reports_rocksdb_figures() {
    let s = TestServer::start("[storage]\nsync = \"always\"\n");
    let mut c = s.raw();
    // Pipelined: with `always`, one fsync covers a whole tick.
    let value = "v".repeat(100);
    let sets: Vec<_> = (0..2000).map(|i| args(&[b"SET", format!("k{i}").as_bytes(), value.as_bytes()])).collect();
    assert!(pipeline(&s, 0, &sets).iter().all(|r| *r == Reply::ok()));
    let num = |c: &mut common::RawClient, section: &str, name: &str| -> u64 {
        common::info_field(c, section, name).parse().unwrap_or_else(|_| panic!("{name} is not a number"))
    };
    assert!(num(&mut c, "memory", "rocksdb_memtables_size") > 2000 * 100);
    assert_eq!(num(&mut c, "memory", "rocksdb_block_cache_capacity"), 8388608); // conf/test.toml
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    let gets: Vec<_> = (0..2000).map(|i| args(&[b"GET", format!("k{i}").as_bytes()])).collect();
    assert!(pipeline(&s, 0, &gets).iter().all(|r| *r == Reply::bulk(&value)));
    assert!(num(&mut c, "memory", "rocksdb_block_cache_usage") > 0);
    assert!(num(&mut c, "storage", "rocksdb_sst_files_size") > 0);
    assert!(num(&mut c, "storage", "rocksdb_live_data_size") > 0);
    num(&mut c, "storage", "rocksdb_pending_compaction_bytes");
    assert_eq!(common::info_field(&mut c, "persistence", "wal_sync_policy"), "always");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    assert!(now - num(&mut c, "persistence", "wal_last_sync_time") < 60, "last sync too long ago");
    assert_eq!(common::info_field(&mut c, "persistence", "aof_last_write_status"), "ok");
    assert_eq!(common::info_field(&mut c, "storage", "storage_writes"), "ok");
}
