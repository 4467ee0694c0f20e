//! Request parser throughput: the C parser (`resp::parser`, what connections
//! use) against the pure-Rust reference parser (`resp::refparser`, written to
//! be obviously correct, not fast), on pipelines of typical requests parsed
//! the way a connection does (parse, advance, repeat), and on large bulk
//! values (whole, and for the C parser also arriving in 16 KiB reads, which
//! exercises its resumption).
//!
//! Pipelines are reported in requests/s (one iteration parses `count`
//! requests; time per iteration / count = ns per request), large values in
//! bytes/s. Numbers compare changes on one machine and are never asserted
//! (`cargo bench --bench resp_parse`).

mod common;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use diskdb::resp::parser::{Limits, Parsed, Parser};
use diskdb::resp::refparser::{parse_ref, RefParsed};
use std::hint::black_box;

/// A RESP multibulk request.
fn mb(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Parses every request of `buf` with the C parser; returns the argument
/// count (so the work cannot be optimised away) and the bytes consumed.
fn parse_c(parser: &mut Parser, buf: &mut [u8], limits: &Limits) -> (usize, usize) {
    let mut off = 0;
    let mut args = 0;
    while let Parsed::Command { consumed } = parser.parse(&mut buf[off..], limits) {
        args += parser.argc();
        off += consumed;
    }
    (args, off)
}

/// Same with the reference parser.
fn parse_rust(buf: &[u8], limits: &Limits) -> (usize, usize) {
    let mut off = 0;
    let mut args = 0;
    while let RefParsed::Command { args: a, consumed } = parse_ref(&buf[off..], limits) {
        args += a.len();
        off += consumed;
    }
    (args, off)
}

/// Benchmarks both parsers on `count` copies of `one`.
fn pipeline(c: &mut Criterion, name: &str, one: &[u8], count: usize) {
    let stream = one.repeat(count);
    let limits = Limits::default();
    // The stream must parse whole, or the numbers measure an error path.
    let mut parsed = stream.clone();
    assert_eq!(parse_c(&mut Parser::new(), &mut parsed, &limits).1, stream.len(), "{name}: C parse");
    assert_eq!(parse_rust(&stream, &limits).1, stream.len(), "{name}: reference parse");
    // Inline requests are unescaped in place, so those iterations parse a
    // fresh copy (made outside the timed region); multibulk requests are
    // left as they were, so one buffer serves every iteration.
    let in_place = parsed != stream;

    let mut group = c.benchmark_group("parse pipeline");
    group.throughput(Throughput::Elements(count as u64));
    let mut parser = Parser::new();
    group.bench_function(BenchmarkId::new("c", name), |b| {
        if in_place {
            b.iter_batched_ref(
                || stream.clone(),
                |buf| black_box(parse_c(&mut parser, buf, &limits)),
                BatchSize::SmallInput,
            )
        } else {
            let mut buf = stream.clone();
            b.iter(|| black_box(parse_c(&mut parser, black_box(&mut buf), &limits)))
        }
    });
    group.bench_function(BenchmarkId::new("rust-ref", name), |b| {
        b.iter(|| black_box(parse_rust(black_box(&stream), &limits)))
    });
    group.finish();
}

fn pipelines(c: &mut Criterion) {
    // About 1,000 requests: what one 16-64 KiB read of a pipelining client holds.
    pipeline(c, "GET key", &mb(&[b"GET", b"key:000000000123"]), 1000);
    pipeline(c, "SET key 3B", &mb(&[b"SET", b"key:000000000123", b"xyz"]), 1000);
    pipeline(c, "SET key 1KiB", &mb(&[b"SET", b"key:000000000123", &[b'v'; 1024]]), 200);
    let mset: Vec<Vec<u8>> = (0..100).map(|i| format!("k{i}").into_bytes()).collect();
    let mut margs: Vec<&[u8]> = vec![b"MSET"];
    margs.extend(mset.iter().map(Vec::as_slice));
    pipeline(c, "MSET 50 pairs", &mb(&margs), 100);
    pipeline(c, "inline PING", b"PING\r\n", 1000);
    pipeline(c, "inline SET quoted", b"SET key \"hello \\x41 world\"\r\n", 1000);
}

/// Size of one socket read when a large value arrives in pieces.
const READ: usize = 16 * 1024;

/// Large values, in bytes/s. A multibulk request is not modified by the C
/// parser (asserted), so one buffer serves every iteration: a per-iteration
/// copy of megabytes would cost more than the parse.
fn large_values(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse large bulk");
    for size in [64 * 1024, 1024 * 1024, 8 * 1024 * 1024] {
        let value = vec![b'v'; size];
        let stream = mb(&[b"SET", b"key:000000000123", &value]);
        let label = format!("SET {} KiB", size / 1024);
        let mut buf = stream.clone();
        let mut parser = Parser::new();
        assert_eq!(parse_c(&mut parser, &mut buf, &limits).1, stream.len());
        assert!(buf == stream, "{label}: the C parser changed a multibulk request");
        group.throughput(Throughput::Bytes(stream.len() as u64));
        group.sample_size(if size > 1024 * 1024 { 20 } else { 50 });
        group.bench_function(BenchmarkId::new("c whole", &label), |b| {
            b.iter(|| black_box(parse_c(&mut parser, black_box(&mut buf), &limits)))
        });
        // The connection calls parse again with the same start each time more
        // bytes arrive; the C parser resumes instead of rescanning.
        group.bench_function(BenchmarkId::new("c 16KiB reads", &label), |b| {
            b.iter(|| {
                let mut have = READ.min(buf.len());
                loop {
                    match parser.parse(black_box(&mut buf[..have]), &limits) {
                        Parsed::Command { consumed } => break black_box(consumed),
                        Parsed::Incomplete => have = (have + READ).min(buf.len()),
                        Parsed::Error(e) => panic!("{label}: {e}"),
                    }
                }
            })
        });
        group.bench_function(BenchmarkId::new("rust-ref whole", &label), |b| {
            b.iter(|| black_box(parse_rust(black_box(&stream), &limits)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = pipelines, large_values
}
criterion_main!(benches);
