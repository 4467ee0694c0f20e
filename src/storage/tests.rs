//! Store and Tx tests against a temporary RocksDB directory.

use super::*;
use crate::config::StorageConfig;

/// A store in a temp dir that is removed on drop.
struct TempStore {
    store: Option<Store>,
    _dir: tempfile::TempDir,
}

impl TempStore {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&cfg(dir.path()), 16).expect("open");
        TempStore { store: Some(store), _dir: dir }
    }
    fn reopen(&mut self) {
        let path = self._dir.path().to_path_buf();
        self.store = None;
        self.store = Some(Store::open(&cfg(&path), 16).expect("reopen"));
    }
    fn s(&mut self) -> &mut Store {
        self.store.as_mut().expect("open")
    }
}

fn cfg(p: &std::path::Path) -> StorageConfig {
    StorageConfig { dir: p.to_string_lossy().into(), read_cache_size: 1 << 20, ..StorageConfig::default() }
}

fn set(s: &mut Store, db: u8, k: &[u8], v: &[u8], exp: u64) {
    let mut tx = Tx::new(s, db, 1000);
    tx.put_meta(k, Meta::string(v, exp)).unwrap();
    let d = tx.finish();
    s.commit(d).unwrap();
}

#[test]
fn put_get_counts_and_reopen() {
    let mut t = TempStore::new();
    set(t.s(), 0, b"a", b"1", 0);
    set(t.s(), 0, b"b", b"2", 5000);
    set(t.s(), 1, b"a", b"x", 0);
    set(t.s(), 0, b"a", b"3", 0);
    assert_eq!(t.s().counts(0), DbCounts { keys: 2, expires: 1 });
    assert_eq!(t.s().counts(1), DbCounts { keys: 1, expires: 0 });
    t.s().flush_wal(true).unwrap();
    t.reopen();
    assert_eq!(t.s().counts(0), DbCounts { keys: 2, expires: 1 });
    let m = t.s().get_meta(&keys::meta(0, b"a")).unwrap().unwrap();
    assert_eq!(m.value(), b"3");
    assert_eq!(t.s().due_expiries(0, 5000, 10).unwrap(), vec![(5000, 0, b"b".to_vec())]);
}

#[test]
fn lazy_expiry_and_delete_fix_index_and_counts() {
    let mut t = TempStore::new();
    set(t.s(), 0, b"k", b"v", 500);
    let s = t.s();
    let mut tx = Tx::new(s, 0, 1000);
    assert_eq!(tx.meta(b"k").unwrap(), None);
    let d = tx.finish();
    s.commit(d).unwrap();
    assert_eq!(s.counts(0), DbCounts::default());
    assert!(s.due_expiries(0, 10_000, 10).unwrap().is_empty());
    assert_eq!(s.get_meta(&keys::meta(0, b"k")).unwrap(), None);
}

#[test]
fn pending_writes_are_visible_and_dropped_tx_writes_nothing() {
    let mut t = TempStore::new();
    let s = t.s();
    let mut tx = Tx::new(s, 0, 1000);
    for i in 0..20u8 {
        tx.put_meta(&[i], Meta::string(&[i], 0)).unwrap();
    }
    assert_eq!(tx.meta(&[7]).unwrap().unwrap().value(), &[7]);
    drop(tx);
    assert_eq!(s.counts(0).keys, 0);
    assert_eq!(s.get_meta(&keys::meta(0, &[7])).unwrap(), None);
}

#[test]
fn flushdb_only_touches_one_db() {
    let mut t = TempStore::new();
    set(t.s(), 0, b"a", b"1", 0);
    set(t.s(), 2, b"a", b"1", 0);
    let s = t.s();
    let mut tx = Tx::new(s, 0, 1000);
    tx.flush(Some(0));
    let d = tx.finish();
    s.commit(d).unwrap();
    assert_eq!(s.counts(0).keys, 0);
    assert_eq!(s.counts(2).keys, 1);
    assert_eq!(s.get_meta(&keys::meta(0, b"a")).unwrap(), None);
    assert!(s.get_meta(&keys::meta(2, b"a")).unwrap().is_some());
    assert_eq!(s.scan_meta(2, None, 10).unwrap().len(), 1);
}

#[test]
fn versions_never_repeat_across_reopen() {
    let mut t = TempStore::new();
    let a = t.s().new_version().unwrap();
    let b = t.s().new_version().unwrap();
    assert!(b > a);
    t.s().flush_wal(true).unwrap();
    t.reopen();
    assert!(t.s().new_version().unwrap() > b);
}

#[test]
fn compaction_drops_dead_versions_only() {
    let mut t = TempStore::new();
    let s = t.s();
    let v_old = s.new_version().unwrap();
    let v_live = s.new_version().unwrap();
    let mut tx = Tx::new(s, 0, 1000);
    tx.put_meta(b"h", Meta::collection(Type::Hash, v_live, 1, 0, b"")).unwrap();
    tx.put(Cf::Data, keys::data(0, b"h", v_live, b"f"), b"live".to_vec());
    tx.put(Cf::Data, keys::data(0, b"h", v_old, b"f"), b"stale".to_vec());
    tx.put(Cf::Data, keys::data(0, b"gone", v_live, b"f"), b"orphan".to_vec());
    tx.put(Cf::Zscore, keys::zscore(0, b"h", v_old, 1.0, b"m"), Vec::new());
    let d = tx.finish();
    s.commit(d).unwrap();
    s.persist_all().unwrap();
    s.compact_all();
    assert_eq!(s.get(Cf::Data, &keys::data(0, b"h", v_live, b"f")).unwrap(), Some(b"live".to_vec()));
    assert_eq!(s.get(Cf::Data, &keys::data(0, b"h", v_old, b"f")).unwrap(), None);
    assert_eq!(s.get(Cf::Data, &keys::data(0, b"gone", v_live, b"f")).unwrap(), None);
    assert_eq!(s.get(Cf::Zscore, &keys::zscore(0, b"h", v_old, 1.0, b"m")).unwrap(), None);
}

/// Puts `data` sub-keys `p|k` in one transaction.
fn put_subs(s: &mut Store, keys: &[&[u8]]) {
    let mut tx = Tx::new(s, 0, 1000);
    for k in keys {
        tx.put(Cf::Data, [b"p".as_slice(), k].concat(), k.to_vec());
    }
    let d = tx.finish();
    s.commit(d).unwrap();
}

fn subs(s: &Store, start: Option<&[u8]>, reverse: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    s.iter_prefix(Cf::Data, b"p", start, reverse, |k, _| {
        out.push(k[1..].to_vec());
        true
    })
    .unwrap();
    out
}

#[test]
fn an_open_batch_is_seen_by_reads_and_written_once_at_the_end() {
    let mut t = TempStore::new();
    put_subs(t.s(), &[b"b", b"d", b"f"]);
    set(t.s(), 0, b"x", b"old", 0);
    let s = t.s();
    s.begin_batch();
    put_subs(s, &[b"a", b"e"]);
    let mut tx = Tx::new(s, 0, 1000);
    tx.delete(Cf::Data, b"pd".to_vec());
    tx.put(Cf::Data, b"pf".to_vec(), b"new".to_vec());
    tx.put_meta(b"x", Meta::string(b"new", 0)).unwrap();
    tx.put_meta(b"y", Meta::string(b"1", 0)).unwrap();
    let d = tx.finish();
    s.commit(d).unwrap();
    // Reads merge the batch over RocksDB, both directions and from a start.
    assert_eq!(subs(s, None, false), [b"a", b"b", b"e", b"f"].map(|k| k.to_vec()));
    assert_eq!(subs(s, None, true), [b"f", b"e", b"b", b"a"].map(|k| k.to_vec()));
    assert_eq!(subs(s, Some(b"pc"), false), [b"e", b"f"].map(|k| k.to_vec()));
    assert_eq!(subs(s, Some(b"pd"), true), [b"b", b"a"].map(|k| k.to_vec()));
    assert_eq!(s.get(Cf::Data, b"pf").unwrap().as_deref(), Some(&b"new"[..]));
    assert_eq!(s.get(Cf::Data, b"pd").unwrap(), None);
    assert_eq!(s.counts(0).keys, 2);
    assert_eq!(s.scan_meta(0, None, 10).unwrap().len(), 2);
    // Nothing reached RocksDB yet: a raw read still sees the old records.
    assert!(s.db.get_cf(s.cf(Cf::Data), b"pd").unwrap().is_some());
    assert!(s.db.get_cf(s.cf(Cf::Data), b"pa").unwrap().is_none());
    s.end_batch().unwrap();
    assert!(s.db.get_cf(s.cf(Cf::Data), b"pd").unwrap().is_none());
    assert_eq!(subs(s, None, false), [b"a", b"b", b"e", b"f"].map(|k| k.to_vec()));
    s.flush_wal(true).unwrap();
    t.reopen();
    assert_eq!(subs(t.s(), None, false), [b"a", b"b", b"e", b"f"].map(|k| k.to_vec()));
    assert_eq!(t.s().get_meta(&keys::meta(0, b"x")).unwrap().unwrap().value(), b"new");
    assert_eq!(t.s().counts(0).keys, 2);
}

#[test]
fn a_flush_inside_a_batch_hides_older_records_but_not_later_writes() {
    let mut t = TempStore::new();
    set(t.s(), 0, b"a", b"1", 0);
    set(t.s(), 0, b"b", b"1", 0);
    let s = t.s();
    s.begin_batch();
    let mut tx = Tx::new(s, 0, 1000);
    tx.flush(Some(0));
    let d = tx.finish();
    s.commit(d).unwrap();
    set(s, 0, b"c", b"1", 0);
    let names: Vec<Vec<u8>> = s.scan_meta(0, None, 10).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, vec![b"c".to_vec()]);
    assert_eq!(s.get_meta(&keys::meta(0, b"a")).unwrap(), None);
    s.end_batch().unwrap();
    let names: Vec<Vec<u8>> = s.scan_meta(0, None, 10).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, vec![b"c".to_vec()]);
    assert_eq!(s.counts(0).keys, 1);
}

#[test]
fn cursor_seeks_past_many_deletion_markers_and_within_bounds() {
    let mut t = TempStore::new();
    let s = t.s();
    let key = |i: u32| format!("k{i:03}").into_bytes();
    let mut tx = Tx::new(s, 0, 1000);
    for i in 0..1000 {
        tx.put(Cf::Data, key(i), b"v".to_vec());
    }
    s.commit(tx.finish()).expect("commit");
    let mut tx = Tx::new(s, 0, 1000);
    for i in 100..900 {
        tx.delete(Cf::Data, key(i));
    }
    s.commit(tx.finish()).expect("commit");
    let mut c = s.cursor(Cf::Data, b"k", Some(b"l".to_vec()));
    let own = |k: &[u8], _: &[u8]| k.to_vec();
    // 800 markers, more than a cursor seek may skip: the bounded seek takes over.
    assert_eq!(c.first(&key(100), None, own).expect("seek"), Some(key(900)));
    assert_eq!(c.first(&key(100), Some(b"k5"), own).expect("seek"), None);
    assert_eq!(c.first(&key(10), None, own).expect("seek"), Some(key(10)));
    assert_eq!(c.first_after(&key(10), None, own).expect("seek"), Some(key(11)));
    assert_eq!(c.first_after(&key(99), None, own).expect("seek"), Some(key(900)));
    assert_eq!(c.first_after(&key(999), None, own).expect("seek"), None);
}

#[test]
fn a_tick_defers_commits_until_a_read_needs_them_or_the_tick_ends() {
    let mut t = TempStore::new();
    let s = t.s();
    let raw = |s: &Store, k: &[u8]| s.db.get_cf(s.cf(Cf::Data), k).unwrap();
    s.begin_tick();
    set(s, 0, b"x", b"1", 0);
    put_subs(s, &[b"a"]);
    // Deferred: RocksDB has neither yet, but the read cache answers for the meta record.
    assert!(raw(s, b"pa").is_none());
    assert_eq!(s.get_meta(&keys::meta(0, b"x")).unwrap().unwrap().value(), b"1");
    assert!(raw(s, b"pa").is_none());
    // A read that RocksDB answers hands the deferred writes over first.
    assert!(s.get(Cf::Data, b"pa").unwrap().is_some());
    assert!(raw(s, b"pa").is_some());
    // A MULTI/script batch inside the tick: earlier commits land first, the
    // batch joins the tick batch, later commits after it.
    put_subs(s, &[b"b"]);
    s.begin_batch();
    put_subs(s, &[b"c"]);
    assert_eq!(subs(s, None, false), [b"a", b"b", b"c"].map(|k| k.to_vec()));
    assert!(raw(s, b"pb").is_some() && raw(s, b"pc").is_none());
    s.end_batch().unwrap();
    put_subs(s, &[b"d"]);
    assert!(raw(s, b"pc").is_none() && raw(s, b"pd").is_none());
    s.end_tick(false).unwrap();
    assert!(raw(s, b"pc").is_some() && raw(s, b"pd").is_some());
    // Outside a tick, a commit is written at once.
    put_subs(s, &[b"e"]);
    assert!(raw(s, b"pe").is_some());
    s.flush_wal(true).unwrap();
    t.reopen();
    assert_eq!(subs(t.s(), None, false), [b"a", b"b", b"c", b"d", b"e"].map(|k| k.to_vec()));
    assert_eq!(t.s().get_meta(&keys::meta(0, b"x")).unwrap().unwrap().value(), b"1");
}

#[test]
fn a_batch_inside_a_tick_joins_the_tick_batch_without_a_write_of_its_own() {
    let mut t = TempStore::new();
    set(t.s(), 0, b"old", b"1", 0);
    let s = t.s();
    let raw = |s: &Store, k: &[u8]| s.db.get_cf(s.cf(Cf::Data), k).unwrap();
    s.begin_tick();
    put_subs(s, &[b"a"]);
    s.begin_batch();
    put_subs(s, &[b"b"]);
    // The batch's own write is read through the overlay: nothing is written.
    assert!(s.get(Cf::Data, b"pb").unwrap().is_some());
    assert!(raw(s, b"pa").is_none() && raw(s, b"pb").is_none());
    // A flush then a write in the batch: the order the tick batch must keep.
    let mut tx = Tx::new(s, 0, 1000);
    tx.flush(Some(0));
    let d = tx.finish();
    s.commit(d).unwrap();
    set(s, 0, b"new", b"1", 0);
    put_subs(s, &[b"c"]);
    s.end_batch().unwrap();
    // Appended to the tick batch, still unwritten; a read of one of its keys
    // hands the whole tick batch over.
    assert!(raw(s, b"pc").is_none());
    assert!(s.get(Cf::Data, b"pc").unwrap().is_some());
    assert!([b"pa", b"pb", b"pc"].iter().all(|k| raw(s, *k).is_some()));
    s.end_tick(true).unwrap();
    t.reopen();
    let names: Vec<Vec<u8>> = t.s().scan_meta(0, None, 10).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, vec![b"new".to_vec()]);
    assert_eq!(subs(t.s(), None, false), [b"a", b"b", b"c"].map(|k| k.to_vec()));
    assert_eq!(t.s().counts(0).keys, 1);
}

#[test]
fn a_meta_record_rewritten_in_a_tick_reaches_rocksdb_once() {
    let mut t = TempStore::new();
    let s = t.s();
    let raw = |s: &Store, k: &[u8]| s.db.get_cf(s.cf(Cf::Meta), keys::meta(0, k)).unwrap();
    let entries = |s: &Store| s.property(Cf::Meta, "rocksdb.num-entries-active-mem-table");
    let before = entries(s);
    s.begin_tick();
    set(s, 0, b"gone", b"x", 0);
    for i in 0..50 {
        set(s, 0, b"k", format!("v{i}").as_bytes(), 0);
    }
    // A flush in the middle: what was kept aside before it goes before it.
    let mut tx = Tx::new(s, 0, 1000);
    tx.flush(Some(0));
    let d = tx.finish();
    s.commit(d).unwrap();
    for i in 50..100 {
        set(s, 0, b"k", format!("v{i}").as_bytes(), 0);
    }
    set(s, 0, b"after", b"1", 0);
    set(s, 0, b"d", b"1", 0);
    let mut tx = Tx::new(s, 0, 1000);
    tx.del_meta(b"d").unwrap();
    let d = tx.finish();
    s.commit(d).unwrap();
    // Kept aside until the tick batch is handed over; reads see the latest.
    assert!(raw(s, b"k").is_none());
    assert_eq!(s.get_meta(&keys::meta(0, b"k")).unwrap().unwrap().value(), b"v99");
    assert!(s.get_meta(&keys::meta(0, b"d")).unwrap().is_none());
    s.end_tick(false).unwrap();
    assert_eq!(raw(s, b"k").map(|r| Meta::decode(&r, b"k").unwrap().value().to_vec()), Some(b"v99".to_vec()));
    // One record per key (gone and k before the flush, k, after and d's
    // delete after it), not one per write: 100 rewrites of k would be 100.
    let written = entries(s) - before;
    assert!(written <= 6, "{written} meta records written");
    t.reopen();
    let names: Vec<Vec<u8>> = t.s().scan_meta(0, None, 10).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, vec![b"after".to_vec(), b"k".to_vec()]);
    assert_eq!(t.s().get_meta(&keys::meta(0, b"k")).unwrap().unwrap().value(), b"v99");
    assert_eq!(t.s().counts(0).keys, 2);
}

#[test]
fn replies_may_leave_mid_tick_only_while_no_write_waits_for_the_wal() {
    let mut t = TempStore::new();
    let s = t.s();
    s.begin_tick();
    assert!(s.nothing_unflushed(false));
    set(s, 0, b"k", b"v", 0);
    assert!(!s.nothing_unflushed(false), "deferred in the tick batch");
    s.settle().unwrap();
    assert!(!s.nothing_unflushed(false), "written, not handed to the OS");
    s.end_tick(false).unwrap();
    assert!(s.nothing_unflushed(false));
    assert!(!s.nothing_unflushed(true), "not fsynced yet");
    s.begin_tick();
    s.end_tick(true).unwrap();
    assert!(s.nothing_unflushed(true));
}
