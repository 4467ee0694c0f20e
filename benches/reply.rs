//! Reply encoding: what `ReplyBuf` costs per reply for the shapes the hot
//! commands produce (`+OK`, integers, small and 1 KiB bulks, nulls, an
//! LRANGE-sized array with a known and a deferred length, doubles), in RESP2
//! and RESP3.
//!
//! Each iteration writes `REPLIES` replies into a buffer that is cleared, not
//! freed, between iterations, as a connection's output buffer is between
//! ticks; the throughput is replies/s. Numbers compare changes on one
//! machine and are never asserted (`cargo bench --bench reply`).

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use diskdb::resp::reply::ReplyBuf;
use std::hint::black_box;

/// Replies written per iteration: enough to amortise the clear.
const REPLIES: usize = 1000;

/// One reply shape: a name and a writer.
struct Shape {
    name: &'static str,
    write: fn(&mut ReplyBuf, usize),
}

/// Elements of the LRANGE-like array replies (redis-benchmark's lrange_100).
const ARRAY_LEN: usize = 100;

/// The shapes measured. `i` varies the integers so none is a constant.
fn shapes() -> Vec<Shape> {
    vec![
        Shape { name: "ok", write: |r, _| r.ok() },
        Shape { name: "int", write: |r, i| r.int(black_box(i as i64 * 7919)) },
        Shape { name: "bulk 3B", write: |r, _| r.bulk(black_box(b"xyz")) },
        Shape { name: "bulk 1KiB", write: |r, _| r.bulk(black_box(&[b'v'; 1024])) },
        Shape { name: "null", write: |r, _| r.null() },
        Shape { name: "double", write: |r, i| r.double(black_box(i as f64 + 0.25)) },
        Shape {
            name: "array 100x 3B",
            write: |r, _| {
                r.array(ARRAY_LEN);
                for _ in 0..ARRAY_LEN {
                    r.bulk(black_box(b"xyz"));
                }
            },
        },
        Shape {
            name: "deferred array 100x 3B",
            write: |r, _| {
                let d = r.defer_array();
                for _ in 0..ARRAY_LEN {
                    r.bulk(black_box(b"xyz"));
                }
                r.fill(d, ARRAY_LEN);
            },
        },
    ]
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply");
    group.throughput(Throughput::Elements(REPLIES as u64));
    for shape in shapes() {
        for (proto, resp3) in [("resp2", false), ("resp3", true)] {
            let mut out = ReplyBuf { resp3, ..ReplyBuf::default() };
            group.bench_function(BenchmarkId::new(shape.name, proto), |b| {
                b.iter(|| {
                    out.buf.clear();
                    for i in 0..REPLIES {
                        (shape.write)(&mut out, i);
                    }
                    black_box(out.len())
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = encode
}
criterion_main!(benches);
