//! List semantics against a model (`VecDeque`), on a store in a temp dir:
//! every operation is committed, then the whole list and its record are
//! compared with the model, so shifts, trims and deletes keep the layout
//! invariants (exactly `head..tail` stored, empty lists deleted).

use super::*;
use crate::storage::testutil::TempStore;
use std::collections::VecDeque;

impl TempStore {
    /// The list's elements, read by LRANGE 0 -1 (None if the key is absent).
    fn read(&mut self, key: &[u8]) -> Option<Vec<Vec<u8>>> {
        self.run(|tx| {
            let l = get(tx, key).expect("get")?;
            let mut v = Vec::new();
            range(tx, key, &l, 0, l.len() - 1, |e| v.push(e.to_vec())).expect("range");
            assert_eq!(v.len() as u64, l.len(), "record length matches the stored elements");
            Some(v)
        })
    }

    /// Number of data sub-keys of the list's current version inside its
    /// `head..tail` span (records outside it are dead, left to the GC filter).
    fn stored(&mut self, key: &[u8]) -> usize {
        let l = self.run(|tx| get(tx, key).expect("get"));
        let Some(l) = l else { return 0 };
        let prefix = keys::data_prefix(0, key, l.version);
        let mut n = 0;
        self.store
            .iter_prefix(Cf::Data, &prefix, None, false, |k, _| {
                let abs = u64::from_be_bytes(k[prefix.len()..].try_into().expect("8-byte index"));
                n += usize::from((l.head..l.tail).contains(&abs));
                true
            })
            .expect("iter");
        n
    }
}

fn check(t: &mut TempStore, model: &VecDeque<Vec<u8>>, what: &str) {
    let got = t.read(b"l");
    if model.is_empty() {
        assert_eq!(got, None, "{what}: an empty list is deleted");
    } else {
        assert_eq!(got.as_deref(), Some(&model.iter().cloned().collect::<Vec<_>>()[..]), "{what}");
        assert_eq!(t.stored(b"l"), model.len(), "{what}: every index of head..tail is stored");
    }
}

/// A tiny deterministic PRNG (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn signed(&mut self, n: u64) -> i64 {
        self.below(2 * n + 1) as i64 - n as i64
    }
}

fn model_rem(m: &mut VecDeque<Vec<u8>>, count: i64, e: &[u8]) -> u64 {
    let mut removed = 0u64;
    let limit = count.unsigned_abs();
    let idx: Vec<usize> = if count >= 0 { (0..m.len()).collect() } else { (0..m.len()).rev().collect() };
    let mut drop = vec![false; m.len()];
    for i in idx {
        if m[i] == e && (limit == 0 || removed < limit) {
            drop[i] = true;
            removed += 1;
        }
    }
    let mut i = 0;
    m.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
    removed
}

fn model_trim(m: &mut VecDeque<Vec<u8>>, start: i64, stop: i64) {
    match span(m.len() as u64, start, stop) {
        Some((a, b)) => {
            m.truncate(b as usize + 1);
            m.drain(..a as usize);
        }
        None => m.clear(),
    }
}

#[test]
fn random_operations_match_the_model() {
    let mut t = TempStore::new();
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Few distinct values, so LREM/LINSERT/LPOS find several matches.
    let val = |r: &mut Rng| vec![b'a' + r.below(4) as u8];
    let mut longest = 0;
    for step in 0..3000 {
        let op = rng.below(9);
        let what = format!("step {step} op {op} on {m:?}");
        match op {
            0 | 1 => {
                let n = 1 + rng.below(5);
                let vals: Vec<Vec<u8>> = (0..n).map(|_| val(&mut rng)).collect();
                let end = if op == 0 { End::Left } else { End::Right };
                let len = t.run(|tx| push(tx, b"l", vals.iter().map(|v| v.as_slice()), end, Exists::Any).unwrap());
                for v in vals {
                    if end == End::Left {
                        m.push_front(v)
                    } else {
                        m.push_back(v)
                    }
                }
                assert_eq!(len, m.len() as u64, "{what}");
            }
            2 => {
                let n = 1 + rng.below(4);
                let end = if rng.below(2) == 0 { End::Left } else { End::Right };
                let got = t.run(|tx| get(tx, b"l").unwrap().map(|l| pop(tx, b"l", l, end, n).unwrap()));
                let mut want = Vec::new();
                for _ in 0..n {
                    let x = if end == End::Left { m.pop_front() } else { m.pop_back() };
                    want.extend(x);
                }
                assert_eq!(got.unwrap_or_default(), want, "{what}");
            }
            3 => {
                let count = rng.signed(3);
                let e = val(&mut rng);
                let got = t.run(|tx| get(tx, b"l").unwrap().map_or(0, |l| rem(tx, b"l", l, count, &e).unwrap()));
                assert_eq!(got, model_rem(&mut m, count, &e), "{what} LREM {count} {e:?}");
            }
            4 => {
                let pivot = val(&mut rng);
                let e = vec![b'A' + rng.below(3) as u8];
                let place = if rng.below(2) == 0 { Place::Before } else { Place::After };
                let got = t.run(|tx| get(tx, b"l").unwrap().map(|l| insert(tx, b"l", l, place, &pivot, &e).unwrap()));
                let want = m.iter().position(|x| *x == pivot).map(|p| {
                    m.insert(if place == Place::Before { p } else { p + 1 }, e.clone());
                    m.len() as u64
                });
                assert_eq!(got.flatten(), want, "{what} LINSERT {place:?} {pivot:?} {e:?}");
            }
            5 if rng.below(4) == 0 => {
                let len = m.len() as i64;
                let (a, b) = (rng.signed(len as u64 + 2), rng.signed(len as u64 + 2));
                t.run(|tx| get(tx, b"l").unwrap().map(|l| trim(tx, b"l", l, a, b).unwrap()));
                model_trim(&mut m, a, b);
            }
            6 => {
                let i = rng.signed(m.len() as u64 + 1);
                let e = val(&mut rng);
                let r = t.run(|tx| get(tx, b"l").unwrap().map(|l| set(tx, b"l", &l, i, &e)));
                let len = m.len() as i64;
                let at = if i < 0 { len + i } else { i };
                if (0..len).contains(&at) {
                    assert_eq!(r, Some(Ok(())), "{what}");
                    m[at as usize] = e;
                } else if !m.is_empty() {
                    assert_eq!(r, Some(Err(CmdError::Err("index out of range"))), "{what}");
                }
            }
            7 => {
                // LMOVE l l: rotation through the Tx's own pending writes.
                let (from, to) =
                    ([End::Left, End::Right][rng.below(2) as usize], [End::Left, End::Right][rng.below(2) as usize]);
                let got = t.run(|tx| get(tx, b"l").unwrap().map(|l| lmove(tx, b"l", l, b"l", from, to).unwrap()));
                let want = if from == End::Left { m.pop_front() } else { m.pop_back() };
                if let Some(v) = &want {
                    if to == End::Left {
                        m.push_front(v.clone())
                    } else {
                        m.push_back(v.clone())
                    }
                }
                assert_eq!(got, want, "{what}");
            }
            _ => {
                let i = rng.signed(m.len() as u64 + 1);
                let got = t.run(|tx| get(tx, b"l").unwrap().map(|l| index(tx, b"l", &l, i).unwrap()));
                let len = m.len() as i64;
                let at = if i < 0 { len + i } else { i };
                let want = (0..len).contains(&at).then(|| m[at as usize].clone());
                assert_eq!(got.flatten(), want, "{what}");
            }
        }
        check(&mut t, &m, &what);
        longest = longest.max(m.len());
    }
    assert!(longest > 40, "the lists grew long enough to shift ({longest})");
}

#[test]
fn positions_follow_rank_count_and_maxlen() {
    let mut t = TempStore::new();
    let elems: Vec<&[u8]> = vec![b"a", b"b", b"c", b"1", b"2", b"3", b"c", b"c"];
    t.run(|tx| push(tx, b"l", elems.iter().copied(), End::Right, Exists::Any).unwrap());
    let q = |rank, count, maxlen| PosQuery { rank, count, maxlen };
    let mut pos = |query: PosQuery| {
        t.run(|tx| {
            let l = get(tx, b"l").unwrap().unwrap();
            positions(tx, b"l", &l, b"c", query).unwrap()
        })
    };
    assert_eq!(pos(q(1, 1, 0)), vec![2]);
    assert_eq!(pos(q(2, 1, 0)), vec![6]);
    assert_eq!(pos(q(1, 0, 0)), vec![2, 6, 7]);
    assert_eq!(pos(q(-1, 0, 0)), vec![7, 6, 2]);
    assert_eq!(pos(q(-1, 2, 0)), vec![7, 6]);
    assert_eq!(pos(q(1, 0, 3)), vec![2]);
    assert_eq!(pos(q(-1, 0, 1)), vec![7]);
    assert_eq!(pos(q(4, 0, 0)), Vec::<u64>::new());
    assert_eq!(pos(q(i64::MIN, 1, 0)), vec![7]);
}

#[test]
fn span_matches_redis_normalization() {
    assert_eq!(span(5, 0, -1), Some((0, 4)));
    assert_eq!(span(5, -100, 100), Some((0, 4)));
    assert_eq!(span(5, 3, 1), None);
    assert_eq!(span(5, 5, 10), None);
    assert_eq!(span(5, -2, -1), Some((3, 4)));
    assert_eq!(span(5, i64::MIN, i64::MAX), Some((0, 4)));
    assert_eq!(span(0, 0, -1), None);
}

#[test]
fn push_keeps_the_expiry_and_a_new_list_gets_a_new_version() {
    let mut t = TempStore::new();
    t.run(|tx| push(tx, b"l", [&b"a"[..]], End::Left, Exists::Any).unwrap());
    let v1 = t.run(|tx| get(tx, b"l").unwrap().unwrap().version);
    t.run(|tx| {
        let m = tx.meta(b"l").unwrap().unwrap();
        tx.put_meta(b"l", m.with_expire(1 << 50)).unwrap();
    });
    t.run(|tx| push(tx, b"l", [&b"b"[..]], End::Right, Exists::Required).unwrap());
    t.run(|tx| assert_eq!(tx.meta(b"l").unwrap().unwrap().expire_ms(), 1 << 50));
    assert_eq!(t.run(|tx| push(tx, b"none", [&b"x"[..]], End::Left, Exists::Required).unwrap()), 0);
    assert!(t.run(|tx| get(tx, b"none").unwrap()).is_none());
    // Emptied and re-created: a new version, so stale sub-keys cannot leak in.
    t.run(|tx| {
        let l = get(tx, b"l").unwrap().unwrap();
        pop(tx, b"l", l, End::Left, 10).unwrap()
    });
    t.run(|tx| push(tx, b"l", [&b"c"[..]], End::Left, Exists::Any).unwrap());
    assert_ne!(t.run(|tx| get(tx, b"l").unwrap().unwrap().version), v1);
    assert_eq!(t.read(b"l"), Some(vec![b"c".to_vec()]));
}
