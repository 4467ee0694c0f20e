//! Request parser throughput: ns per request for pipelines of typical
//! requests, parsed the way a connection does (parse, advance, repeat).
//!
//! Plain `std::time` timing, no extra crate: needs `harness = false` for this
//! bench in Cargo.toml (`cargo bench --bench resp_parse`). Numbers are for
//! comparing changes on one machine, never asserted.
// Built with the libtest harness (no `harness = false`) `main` is unused.
#![cfg_attr(test, allow(dead_code))]

use diskdb::resp::parser::{Limits, Parsed, Parser};
use std::hint::black_box;
use std::time::Instant;

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

/// Parse `count` copies of `one`, `rounds` times; print the best ns/request.
fn bench(name: &str, one: &[u8], count: usize) {
    let pipeline: Vec<u8> = one.repeat(count);
    let limits = Limits::default();
    let mut parser = Parser::new();
    // Inline requests are unescaped in place, so each round parses a fresh
    // copy; the copy is outside the timed region.
    let mut buf = pipeline.clone();
    let mut best = f64::MAX;
    for _ in 0..15 {
        buf.copy_from_slice(&pipeline);
        let start = Instant::now();
        let mut off = 0;
        let mut args = 0;
        while let Parsed::Command { consumed } = parser.parse(&mut buf[off..], &limits) {
            args += parser.argc();
            off += consumed;
        }
        let ns = start.elapsed().as_nanos() as f64 / count as f64;
        assert_eq!(
            off,
            pipeline.len(),
            "{name}: the pipeline did not parse whole"
        );
        black_box(args);
        best = best.min(ns);
    }
    println!("{name:<28} {best:>7.1} ns/request");
}

fn main() {
    bench("GET key", &mb(&[b"GET", b"key:000123"]), 100_000);
    bench("SET key 3B", &mb(&[b"SET", b"key:000123", b"xyz"]), 100_000);
    bench(
        "SET key 1KiB",
        &mb(&[b"SET", b"key:000123", &[b'v'; 1024]]),
        20_000,
    );
    let mset: Vec<Vec<u8>> = (0..100).map(|i| format!("k{i}").into_bytes()).collect();
    let mut margs: Vec<&[u8]> = vec![b"MSET"];
    margs.extend(mset.iter().map(Vec::as_slice));
    bench("MSET 50 pairs", &mb(&margs), 5_000);
    bench("inline PING", b"PING\r\n", 100_000);
    bench(
        "inline SET quoted",
        b"SET key \"hello \\x41 world\"\r\n",
        100_000,
    );
}
