//! Deleting a huge collection is O(1) and its space comes back: a 1,000,000
//! field hash is deleted by removing its meta record only, and a manual
//! compaction (DEBUG COMPACT) lets the GC filter drop every member.

mod common;

use common::{encode, Reply, TestServer};

fn info_field(c: &mut common::RawClient, name: &str) -> u64 {
    let text = c.cmd(&["INFO", "storage"]).str();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("{name} missing in INFO storage:\n{text}"))
        .trim()
        .parse()
        .expect("number")
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
