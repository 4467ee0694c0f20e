//! Storage encoding: building and splitting the key layouts of
//! `storage::keys` (meta, data, zscore, expire), the order-preserving score
//! encoding, and the meta record codec, over a fixed set of realistic keys
//! (redis-benchmark's `key:000000012345` shape plus longer ones).
//!
//! Throughput is keys (or scores) per second over the whole set per
//! iteration. Numbers compare changes on one machine and are never asserted
//! (`cargo bench --bench keys`).

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use diskdb::storage::keys;
use diskdb::storage::meta::{Meta, Type};
use std::hint::black_box;

/// Distinct user keys per iteration.
const KEYS: usize = 1000;

/// `key:%012d` as redis-benchmark writes them, every tenth one 64 bytes long.
fn user_keys() -> Vec<Vec<u8>> {
    (0..KEYS)
        .map(|i| {
            if i % 10 == 0 {
                format!("user:{i:08}:session:{}", "x".repeat(42)).into_bytes()
            } else {
                format!("key:{i:012}").into_bytes()
            }
        })
        .collect()
}

/// Scores spread over signs and magnitudes, with the infinities and zeros
/// that take the encoding's other branches.
fn scores() -> Vec<f64> {
    let mut v: Vec<f64> = (0..KEYS as i32).map(|i| f64::from(i - 500) * 1.37e3_f64.powi(i % 7 - 3)).collect();
    v.extend([f64::NEG_INFINITY, -0.0, 0.0, f64::INFINITY]);
    v
}

fn key_layouts(c: &mut Criterion) {
    let ks = user_keys();
    let mut group = c.benchmark_group("keys");
    group.throughput(Throughput::Elements(KEYS as u64));

    let mut reused = Vec::new();
    group.bench_function("meta_into (reused buffer)", |b| {
        b.iter(|| {
            for k in &ks {
                keys::meta_into(&mut reused, 0, black_box(k));
                black_box(&reused);
            }
        })
    });
    group.bench_function("meta (allocating)", |b| {
        b.iter(|| {
            for k in &ks {
                black_box(keys::meta(0, black_box(k)));
            }
        })
    });
    group.bench_function("data (hash field)", |b| {
        b.iter(|| {
            for (i, k) in ks.iter().enumerate() {
                black_box(keys::data(3, black_box(k), i as u64, b"field:1"));
            }
        })
    });
    let data_keys: Vec<Vec<u8>> = ks.iter().enumerate().map(|(i, k)| keys::data(3, k, i as u64, b"field:1")).collect();
    group.bench_function("split_data", |b| {
        b.iter(|| {
            for k in &data_keys {
                black_box(keys::split_data(black_box(k)));
            }
        })
    });
    group.bench_function("zscore", |b| {
        b.iter(|| {
            for (i, k) in ks.iter().enumerate() {
                black_box(keys::zscore(0, black_box(k), 7, i as f64 * 0.5, b"member"));
            }
        })
    });
    group.bench_function("expire + split_expire", |b| {
        b.iter(|| {
            for (i, k) in ks.iter().enumerate() {
                let e = keys::expire(1_700_000_000_000 + i as u64, 0, black_box(k));
                black_box(keys::split_expire(&e));
            }
        })
    });
    group.finish();
}

fn score_encoding(c: &mut Criterion) {
    let xs = scores();
    let encoded: Vec<[u8; 8]> = xs.iter().map(|&x| keys::encode_score(x)).collect();
    let mut group = c.benchmark_group("score");
    group.throughput(Throughput::Elements(xs.len() as u64));
    group.bench_function("encode_score", |b| {
        b.iter(|| {
            for &x in &xs {
                black_box(keys::encode_score(black_box(x)));
            }
        })
    });
    group.bench_function("decode_score", |b| {
        b.iter(|| {
            for &e in &encoded {
                black_box(keys::decode_score(black_box(e)));
            }
        })
    });
    group.finish();
}

fn meta_codec(c: &mut Criterion) {
    let ks = user_keys();
    let small = Meta::string(b"xyz", 0);
    let big = Meta::string(&[b'v'; 1024], 1_700_000_000_000);
    let hash = Meta::collection(Type::Hash, 42, 1000, 0, b"");
    let mut group = c.benchmark_group("meta");
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("string 3B encode", |b| {
        b.iter(|| {
            for _ in 0..KEYS {
                black_box(Meta::string(black_box(b"xyz"), 0));
            }
        })
    });
    for (name, m) in [("decode string 3B", &small), ("decode string 1KiB", &big), ("decode hash", &hash)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                for k in &ks {
                    let m = Meta::decode(black_box(m.raw()), k).expect("valid record");
                    black_box((m.ty(), m.expire_ms()));
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = key_layouts, score_encoding, meta_codec
}
criterion_main!(benches);
