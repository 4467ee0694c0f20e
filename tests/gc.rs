//! Deleting is cheap and its space comes back: a 1,000,000 field hash is
//! deleted by removing its meta record only, and a manual compaction (DEBUG
//! COMPACT) lets the GC filter drop every member; deleting 90% of a dataset
//! and compacting leaves about 10% of the disk usage; members of expired
//! collections are dropped by compaction too.

mod common;

use common::{encode, Reply, TestServer};

fn info_field(c: &mut common::RawClient, name: &str) -> u64 {
    common::info_field(c, "storage", name).parse().expect("number")
}

#[test]
fn deleting_a_million_field_hash_reclaims_its_space() {
    let s = TestServer::new();
    let mut c = s.raw();
    const FIELDS: usize = 1_000_000;
    const PER_CMD: usize = 1000;
    // Pipeline 50 HSETs of 1000 fields per write.
    let mut pending = 0;
    let mut buf = Vec::new();
    for chunk in 0..FIELDS / PER_CMD {
        let mut args: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"big".to_vec()];
        for i in chunk * PER_CMD..(chunk + 1) * PER_CMD {
            args.push(format!("field:{i}").into_bytes());
            args.push(b"v".to_vec());
        }
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        buf.extend_from_slice(&encode(&refs));
        pending += 1;
        if pending == 50 {
            c.send(&buf);
            buf.clear();
            for _ in 0..pending {
                assert_eq!(c.read(), Reply::Int(PER_CMD as i64));
            }
            pending = 0;
        }
    }
    assert_eq!(c.cmd(&["HLEN", "big"]), Reply::Int(FIELDS as i64));
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    assert!(info_field(&mut c, "rocksdb_data_estimate_num_keys") > 0);
    assert!(info_field(&mut c, "rocksdb_data_sst_size") > 0);

    assert_eq!(c.cmd(&["DEL", "big"]), Reply::Int(1));
    assert_eq!(c.cmd(&["EXISTS", "big"]), Reply::Int(0));
    // A new hash under the same name gets a new version: no old field leaks in.
    assert_eq!(c.cmd(&["HSET", "big", "fresh", "1"]), Reply::Int(1));
    assert_eq!(c.cmd(&["HLEN", "big"]), Reply::Int(1));
    assert_eq!(c.cmd(&["HGET", "big", "field:7"]), Reply::Bulk(None));
    assert_eq!(c.cmd(&["DEL", "big"]), Reply::Int(1));

    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    assert_eq!(info_field(&mut c, "rocksdb_data_estimate_num_keys"), 0);
    assert_eq!(info_field(&mut c, "rocksdb_data_sst_size"), 0);
}

/// Deleting most of a dataset and compacting gives the disk space back, and
/// the members of expired collections are dropped by compaction too.
#[test]
fn deleting_most_keys_then_compacting_shrinks_the_store() {
    let s = TestServer::new();
    let mut c = s.raw();
    const KEYS: usize = 4000;
    // Values that do not compress away (xorshift bytes, printable).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = Vec::new();
    for i in 0..KEYS {
        let value: Vec<u8> = (0..1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b'!' + (x % 90) as u8
            })
            .collect();
        buf.extend_from_slice(&encode(&[b"SET", format!("key:{i}").as_bytes(), &value]));
        if i % 200 == 199 {
            c.send(&buf);
            buf.clear();
            for _ in 0..200 {
                assert_eq!(c.read(), Reply::ok());
            }
        }
    }
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    let full = info_field(&mut c, "rocksdb_sst_files_size");
    assert!(full > (KEYS as u64) * 800, "4000 x 1 KiB stored in only {full} bytes");

    // Delete 90%: every key whose number does not end in 0, 400 per DEL.
    for residue in 1..10 {
        let mut del = vec!["DEL".to_string()];
        del.extend((0..KEYS).filter(|i| i % 10 == residue).map(|i| format!("key:{i}")));
        let refs: Vec<&str> = del.iter().map(String::as_str).collect();
        assert_eq!(c.cmd(&refs), Reply::Int(KEYS as i64 / 10));
    }
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(KEYS as i64 / 10));
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    let after = info_field(&mut c, "rocksdb_sst_files_size");
    assert!(after < full / 5, "deleting 90% of the keys left {after} of {full} bytes on disk");
    assert_eq!(c.cmd(&["GET", "key:0"]).str().len(), 1024);

    // An expiring hash: once expired, compaction drops its members.
    let mut hset = vec!["HSET".to_string(), "h".to_string()];
    for i in 0..5000 {
        hset.push(format!("f{i}"));
        hset.push("v".to_string());
    }
    let refs: Vec<&str> = hset.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&refs), Reply::Int(5000));
    assert_eq!(c.cmd(&["PEXPIRE", "h", "100"]), Reply::Int(1));
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    assert!(info_field(&mut c, "rocksdb_data_estimate_num_keys") >= 5000);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(c.cmd(&["EXISTS", "h"]), Reply::Int(0));
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    assert_eq!(info_field(&mut c, "rocksdb_data_estimate_num_keys"), 0);
}

/// Pops, LTRIM and LREM write no deletes: they only move a list's ends, and
/// compaction drops the records outside them. The list reads the same
/// before and after, and indexes pushed back into the span read their new
/// elements.
#[test]
fn list_records_outside_the_span_are_dropped_by_compaction() {
    let s = TestServer::new();
    let mut c = s.raw();
    let mut model: std::collections::VecDeque<String> = (0..1000).map(|i| format!("e{}", i % 97)).collect();
    let mut rpush = vec!["RPUSH".to_string(), "q".to_string()];
    rpush.extend(model.iter().cloned());
    let refs: Vec<&str> = rpush.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&refs), Reply::Int(1000));
    for _ in 0..150 {
        assert_eq!(c.cmd(&["LPOP", "q"]).str(), model.pop_front().expect("model"));
    }
    for _ in 0..100 {
        assert_eq!(c.cmd(&["RPOP", "q"]).str(), model.pop_back().expect("model"));
    }
    let popped: Vec<String> = c.cmd(&["LPOP", "q", "40"]).items().iter().map(Reply::str).collect();
    assert_eq!(popped, model.drain(..40).collect::<Vec<_>>());
    let popped: Vec<String> = c.cmd(&["RPOP", "q", "60"]).items().iter().map(Reply::str).collect();
    assert_eq!(popped, model.drain(model.len() - 60..).rev().collect::<Vec<_>>());
    assert_eq!(c.cmd(&["LTRIM", "q", "25", "-31"]), Reply::ok());
    model = model.iter().skip(25).take(model.len() - 55).cloned().collect();
    // LREM from the tail compacts towards the head: the head moves.
    let removed = model.iter().filter(|e| *e == "e5").count() as i64;
    assert_eq!(c.cmd(&["LREM", "q", "0", "e5"]), Reply::Int(removed));
    model.retain(|e| e != "e5");
    let check = |c: &mut common::RawClient, model: &std::collections::VecDeque<String>| {
        let got: Vec<String> = c.cmd(&["LRANGE", "q", "0", "-1"]).items().iter().map(Reply::str).collect();
        assert_eq!(got, model.iter().cloned().collect::<Vec<_>>());
        assert_eq!(c.cmd(&["LLEN", "q"]), Reply::Int(model.len() as i64));
    };
    check(&mut c, &model);
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    assert_eq!(info_field(&mut c, "rocksdb_data_estimate_num_keys"), model.len() as u64);
    check(&mut c, &model);
    // Pushes reuse the dropped indexes at both ends.
    for i in 0..30 {
        let (l, r) = (format!("l{i}"), format!("r{i}"));
        assert!(matches!(c.cmd(&["LPUSH", "q", &l]), Reply::Int(_)));
        assert!(matches!(c.cmd(&["RPUSH", "q", &r]), Reply::Int(_)));
        model.push_front(l);
        model.push_back(r);
    }
    check(&mut c, &model);
    assert_eq!(c.cmd(&["DEBUG", "COMPACT"]), Reply::ok());
    assert_eq!(info_field(&mut c, "rocksdb_data_estimate_num_keys"), model.len() as u64);
    check(&mut c, &model);
}
