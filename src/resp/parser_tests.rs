//! Tests of the C request parser through its safe wrapper: one unit test per
//! frame kind and error (expected values checked against redis-server 7.0.15),
//! and a differential property test against the pure-Rust reference parser
//! at every split point of a fixed corpus and of pseudo-random streams.

use super::*;
use crate::resp::refparser::{parse_ref_as, RefParsed};

/// What a client connection observes, in order: complete requests (arguments
/// and bytes used), then either an error or some bytes still pending.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Cmd(Vec<Vec<u8>>, usize),
    Err(&'static str),
    Pending(usize),
}

fn cmd(args: &[&[u8]], consumed: usize) -> Ev {
    Ev::Cmd(args.iter().map(|a| a.to_vec()).collect(), consumed)
}

/// The reference parser over the whole stream.
fn ref_events(stream: &[u8], lim: &Limits, auth: Auth) -> Vec<Ev> {
    let mut off = 0;
    let mut evs = Vec::new();
    loop {
        match parse_ref_as(&stream[off..], lim, auth) {
            RefParsed::Command { args, consumed } => {
                assert!(consumed > 0, "reference parser made no progress");
                evs.push(Ev::Cmd(args, consumed));
                off += consumed;
            }
            RefParsed::Incomplete => {
                evs.push(Ev::Pending(stream.len() - off));
                return evs;
            }
            RefParsed::Error(e) => {
                evs.push(Ev::Err(e));
                return evs;
            }
        }
    }
}

/// The C parser, fed like a connection: the stream arrives in pieces ending
/// at each of `cuts` (increasing) and then at its end; complete requests are
/// drained from the front of the buffer as they are parsed.
fn c_events(stream: &[u8], cuts: &[usize], lim: &Limits, p: &mut Parser) -> Vec<Ev> {
    let mut ends = cuts.iter().copied().chain(std::iter::once(stream.len()));
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut evs = Vec::new();
    loop {
        match p.parse(&mut buf, lim) {
            Parsed::Command { consumed } => {
                assert!(consumed > 0 && consumed <= buf.len());
                assert_eq!(p.argc(), p.spans().len());
                let args: Vec<Vec<u8>> = p.args(&buf).map(<[u8]>::to_vec).collect();
                for (i, a) in args.iter().enumerate() {
                    assert_eq!(p.arg(&buf, i), &a[..]);
                }
                evs.push(Ev::Cmd(args, consumed));
                buf.drain(..consumed);
            }
            Parsed::Incomplete if fed == stream.len() => {
                evs.push(Ev::Pending(buf.len()));
                return evs;
            }
            Parsed::Incomplete => {
                let end = ends.next().unwrap_or(stream.len()).max(fed);
                buf.extend_from_slice(&stream[fed..end]);
                fed = end;
            }
            Parsed::Error(e) => {
                evs.push(Ev::Err(e));
                return evs;
            }
        }
    }
}

/// Whole-stream result, also required of the reference parser.
fn check(stream: &[u8], lim: &Limits, want: &[Ev]) {
    check_as(stream, lim, Auth::NotRequired, want);
}

fn check_as(stream: &[u8], lim: &Limits, auth: Auth, want: &[Ev]) {
    let mut p = Parser::new();
    p.set_auth(auth);
    assert_eq!(c_events(stream, &[], lim, &mut p), want, "C parser on {}", stream.escape_ascii());
    assert_eq!(ref_events(stream, lim, auth), want, "reference on {}", stream.escape_ascii());
}

/// The property: at every split point, and byte by byte, with span arrays
/// that start empty, tiny and normal, the C parser sees exactly what the
/// reference parser sees on the whole stream.
fn check_splits(stream: &[u8], lim: &Limits, auth: Auth) {
    let want = ref_events(stream, lim, auth);
    let parser = |cap: usize| {
        let mut p = Parser::with_capacity(cap);
        p.set_auth(auth);
        p
    };
    for k in 0..=stream.len() {
        let got = c_events(stream, &[k], lim, &mut parser([0, 1, 16][k % 3]));
        assert_eq!(got, want, "split at {k} of {}", stream.escape_ascii());
    }
    let bytewise: Vec<usize> = (1..stream.len()).collect();
    let got = c_events(stream, &bytewise, lim, &mut parser(0));
    assert_eq!(got, want, "byte by byte: {}", stream.escape_ascii());
}

/// Every stream is checked with default limits, with tiny ones (so the
/// "too big" and length errors are reachable in short streams) and as an
/// unauthenticated client.
fn check_splits_all(stream: &[u8]) {
    check_splits(stream, &Limits::default(), Auth::NotRequired);
    check_splits(stream, &small(), Auth::NotRequired);
    check_splits(stream, &Limits::default(), Auth::Required);
}

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

fn small() -> Limits {
    Limits { max_bulk_len: 10, max_multibulk_len: 4, max_inline_len: 16 }
}

const D: &str = "expected '$', got ";

// ---- frame kinds -------------------------------------------------------

#[test]
fn multibulk_request() {
    let s = mb(&[b"SET", b"key", b"value"]);
    check(&s, &Limits::default(), &[cmd(&[b"SET", b"key", b"value"], s.len()), Ev::Pending(0)]);
}

#[test]
fn multibulk_is_binary_safe() {
    let s = mb(&[b"SET", b"\r\n", b"a\r\nb\0\xff\n", b""]);
    let want = cmd(&[b"SET", b"\r\n", b"a\r\nb\0\xff\n", b""], s.len());
    check(&s, &Limits::default(), &[want, Ev::Pending(0)]);
}

#[test]
fn pipeline_of_mixed_requests() {
    let mut s = mb(&[b"PING"]);
    s.extend_from_slice(b"ECHO hi\r\n");
    s.extend(mb(&[b"GET", b"k"]));
    s.extend_from_slice(b"*1\r\n$4\r\nPI");
    check(
        &s,
        &Limits::default(),
        &[cmd(&[b"PING"], 14), cmd(&[b"ECHO", b"hi"], 9), cmd(&[b"GET", b"k"], 20), Ev::Pending(10)],
    );
}

#[test]
fn empty_requests_have_no_args() {
    let lim = Limits::default();
    check(b"*0\r\n*-1\r\n*-5\r\n", &lim, &[cmd(&[], 4), cmd(&[], 5), cmd(&[], 5), Ev::Pending(0)]);
    check(b"\r\n\n   \r\nPING\n", &lim, &[cmd(&[], 2), cmd(&[], 1), cmd(&[], 5), cmd(&[b"PING"], 5), Ev::Pending(0)]);
}

#[test]
fn inline_requests() {
    let lim = Limits::default();
    check(b"PING\r\n", &lim, &[cmd(&[b"PING"], 6), Ev::Pending(0)]);
    check(b"PING\n", &lim, &[cmd(&[b"PING"], 5), Ev::Pending(0)]);
    check(b"SET a \"hello world\"\r\n", &lim, &[cmd(&[b"SET", b"a", b"hello world"], 21), Ev::Pending(0)]);
    check(b"ECHO\ta\n", &lim, &[cmd(&[b"ECHO", b"a"], 7), Ev::Pending(0)]);
    // '\r' in the middle of a line separates arguments
    check(b"ECHO a\rb\r\n", &lim, &[cmd(&[b"ECHO", b"a", b"b"], 10), Ev::Pending(0)]);
    // '\v' is skipped between tokens but does not end one
    check(b"ECHO  \x0bx\x0by \n", &lim, &[cmd(&[b"ECHO", b"x\x0by"], 12), Ev::Pending(0)]);
}

#[test]
fn inline_quoting_follows_sdssplitargs() {
    let lim = Limits::default();
    let one = |line: &[u8], arg: &[u8]| check(line, &lim, &[cmd(&[b"ECHO", arg], line.len()), Ev::Pending(0)]);
    one(b"ECHO \"a\\x41\\n\"\r\n", b"aA\n");
    one(b"ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\"\n", b"\n\r\t\x08\x07\\\"");
    one(b"ECHO \"\\x4g\"\n", b"x4g");
    one(b"ECHO \"\\q\\\\\"\n", b"q\\");
    one(b"ECHO 'a\\'b'\r\n", b"a'b");
    one(b"ECHO 'a\\\\b'\n", b"a\\\\b");
    one(b"ECHO '' \n", b"");
    one(b"ECHO \"a\"\x0b\n", b"a");
    // quotes may open inside a token
    one(b"ECHO a\"b c\"\n", b"ab c");
}

#[test]
fn inline_args_are_unescaped_in_place() {
    let mut buf = b"SET k \"a\\x41\\\"b\" tail\r\nNEXT".to_vec();
    let mut p = Parser::new();
    assert_eq!(p.parse(&mut buf, &Limits::default()), Parsed::Command { consumed: 23 });
    let args: Vec<&[u8]> = p.args(&buf).collect();
    assert_eq!(args, [&b"SET"[..], b"k", b"aA\"b", b"tail"]);
    for s in p.spans() {
        assert!(s.off + s.len <= 23, "span outside the request: {s:?}");
    }
    assert_eq!(&buf[23..], b"NEXT", "bytes after the request must be untouched");
}

// ---- errors --------------------------------------------------------------

#[test]
fn invalid_multibulk_length() {
    let lim = Limits::default();
    for s in [&b"*abc\r\n"[..], b"*\r\n", b"*01\r\n", b"*+1\r\n", b"*-0\r\n", b"*1 \r\n", b"*2147483648\r\n"] {
        check(s, &lim, &[Ev::Err("invalid multibulk length")]);
    }
    // 21 bytes is too long for string2ll, whatever the value
    check(b"*000000000000000000001\r\n", &lim, &[Ev::Err("invalid multibulk length")]);
    // our own limit (Redis 7.0 only rejects > INT_MAX)
    check(b"*1048576\r\n", &lim, &[Ev::Pending(10)]);
    check(b"*1048577\r\n", &lim, &[Ev::Err("invalid multibulk length")]);
    check(b"*3000000\r\n", &lim, &[Ev::Err("invalid multibulk length")]);
    let wide = Limits { max_multibulk_len: u64::MAX, ..lim };
    check(b"*2147483647\r\n", &wide, &[Ev::Pending(13)]);
    check(b"*2147483648\r\n", &wide, &[Ev::Err("invalid multibulk length")]);
}

#[test]
fn invalid_bulk_length() {
    let lim = Limits::default();
    for s in
        [&b"*1\r\n$-5\r\n"[..], b"*1\r\n$-1\r\n", b"*1\r\n$abc\r\n", b"*1\r\n$+4\r\n", b"*1\r\n$\r\n", b"*1\r\n$04\r\n"]
    {
        check(s, &lim, &[Ev::Err("invalid bulk length")]);
    }
    check(b"*1\r\n$536870913\r\n", &lim, &[Ev::Err("invalid bulk length")]);
    check(b"*1\r\n$536870912\r\n", &lim, &[Ev::Pending(16)]);
}

#[test]
fn expected_dollar() {
    let lim = Limits::default();
    check(b"*1\r\nx4\r\n", &lim, &[Ev::Err("expected '$', got 'x'")]);
    check(b"*2\r\n$4\r\nECHO\r\n*1\r\n", &lim, &[Ev::Err("expected '$', got '*'")]);
    // Redis maps '\r' and '\n' to spaces in error replies
    check(b"*1\r\n\r\n", &lim, &[Ev::Err("expected '$', got ' '")]);
    check(b"*1\r\n\n\r\n", &lim, &[Ev::Err("expected '$', got ' '")]);
    // a raw byte >= 0x80 cannot be in a &str (Redis echoes it raw)
    check(b"*1\r\n\x80\r\n", &lim, &[Ev::Err("expected '$', got '?'")]);
    // like Redis, the header line must be complete before its first byte is judged
    check(b"*1\r\nxyz", &lim, &[Ev::Pending(7)]);
    check(b"*1\r\nx", &lim, &[Ev::Pending(5)]);
    for b in 0..=255u8 {
        let text = expected_dollar_text(b);
        assert!(text.starts_with(D) && text.len() == D.len() + 3, "{text:?}");
    }
    assert_eq!(expected_dollar_text(b'A'), "expected '$', got 'A'");
}

#[test]
fn unbalanced_quotes() {
    let lim = Limits::default();
    for s in [
        &b"ECHO \"abc\"def\r\n"[..],
        b"ECHO \"abc\r\n",
        b"ECHO a\"b c\"d\n",
        b"ECHO 'a\n",
        b"ECHO 'a'b\n",
        b"ECHO \"a\\\"\n",
        b"\"\n",
    ] {
        check(s, &lim, &[Ev::Err("unbalanced quotes in request")]);
    }
}

#[test]
fn unauthenticated_limits() {
    let lim = Limits::default();
    let unauth = |s: &[u8], want: &[Ev]| check_as(s, &lim, Auth::Required, want);
    unauth(b"*11\r\n", &[Ev::Err("unauthenticated multibulk length")]);
    unauth(b"*10\r\n", &[Ev::Pending(5)]);
    unauth(b"*2\r\n$16385\r\n", &[Ev::Err("unauthenticated bulk length")]);
    unauth(b"*2\r\n$16384\r\n", &[Ev::Pending(12)]);
    // Redis's order: syntax and INT_MAX first, then the unauthenticated
    // limit, then our max_multibulk_len
    unauth(b"*2147483648\r\n", &[Ev::Err("invalid multibulk length")]);
    unauth(b"*3000000\r\n", &[Ev::Err("unauthenticated multibulk length")]);
    unauth(b"*1\r\n$536870913\r\n", &[Ev::Err("invalid bulk length")]);
    // inline requests have no such limit
    let mut line = b"SET k ".to_vec();
    line.extend(std::iter::repeat(b'v').take(20000));
    line.extend_from_slice(b"\n");
    let v = vec![b'v'; 20000];
    unauth(&line, &[cmd(&[b"SET", b"k", &v], line.len()), Ev::Pending(0)]);

    // the setting applies from the next call, e.g. after AUTH
    let mut p = Parser::new();
    p.set_auth(Auth::Required);
    let mut buf = b"*11\r\n".to_vec();
    assert_eq!(p.parse(&mut buf, &lim), Parsed::Error("unauthenticated multibulk length"));
    p.reset();
    p.set_auth(Auth::NotRequired);
    assert_eq!(p.parse(&mut buf, &lim), Parsed::Incomplete);
}

#[test]
fn too_big_lines() {
    let lim = Limits::default();
    let max = lim.max_inline_len;
    let mut s = vec![b'a'; max];
    check(&s, &lim, &[Ev::Pending(max)]);
    s.push(b'a');
    check(&s, &lim, &[Ev::Err("too big inline request")]);
    // a line of exactly max bytes is fine; max + 1 before the '\n' is not
    let mut ok = vec![b'a'; max];
    ok.push(b'\n');
    check(&ok, &lim, &[Ev::Cmd(vec![vec![b'a'; max]], max + 1), Ev::Pending(0)]);
    let mut big = vec![b'a'; max + 1];
    big.push(b'\n');
    check(&big, &lim, &[Ev::Err("too big inline request")]);

    let mut m = b"*".to_vec();
    m.extend(std::iter::repeat(b'1').take(max - 1));
    check(&m, &lim, &[Ev::Pending(max)]);
    m.push(b'1');
    check(&m, &lim, &[Ev::Err("too big mbulk count string")]);

    let mut b = b"*1\r\n$".to_vec();
    b.extend(std::iter::repeat(b'1').take(max - 1));
    check(&b, &lim, &[Ev::Pending(max + 4)]);
    b.push(b'1');
    check(&b, &lim, &[Ev::Err("too big bulk count string")]);
}

// ---- Redis quirks kept on purpose -----------------------------------------

#[test]
fn bytes_after_bulk_and_after_cr_are_not_checked() {
    let lim = Limits::default();
    let s = b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n";
    check(s, &lim, &[cmd(&[b"PING"], 14), cmd(&[b"PING"], 14), Ev::Pending(0)]);
    check(b"*1\rX$4\r\nPING\r\n", &lim, &[cmd(&[b"PING"], 14), Ev::Pending(0)]);
    check(b"*1\r\n$4\rXPING\r\n", &lim, &[cmd(&[b"PING"], 14), Ev::Pending(0)]);
    check(b"*1\r\n$4\r\nPING\r", &lim, &[Ev::Pending(13)]);
}

#[test]
fn nul_is_an_ordinary_byte() {
    let lim = Limits::default();
    check(b"ECHO a\0b\n", &lim, &[cmd(&[b"ECHO", b"a\0b"], 9), Ev::Pending(0)]);
    check(b"*1\0\r\n", &lim, &[Ev::Err("invalid multibulk length")]);
    check(b"*1\r\n\0\r\n", &lim, &[Ev::Err("expected '$', got '\0'")]);
}

// ---- the wrapper ------------------------------------------------------------

#[test]
fn span_array_grows_for_many_arguments() {
    let args: Vec<Vec<u8>> = (0..300).map(|i| format!("arg{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut s = mb(&refs);
    let line: Vec<u8> = args.join(&b' ');
    s.extend_from_slice(&line);
    s.extend_from_slice(b"\n");
    let mb_len = s.len() - line.len() - 1;
    let lim = Limits::default();
    check(&s, &lim, &[Ev::Cmd(args.clone(), mb_len), Ev::Cmd(args, line.len() + 1), Ev::Pending(0)]);
    let mut p = Parser::with_capacity(0);
    assert!(matches!(p.parse(&mut s, &lim), Parsed::Command { .. }));
    assert_eq!(p.argc(), 300);
}

#[test]
fn huge_span_array_is_released_between_requests() {
    let args: Vec<Vec<u8>> = (0..2000).map(|i| i.to_string().into_bytes()).collect();
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let mut s = mb(&refs);
    let mut p = Parser::new();
    let lim = Limits::default();
    assert!(matches!(p.parse(&mut s, &lim), Parsed::Command { .. }));
    assert!(p.spans.len() >= 2000);
    assert_eq!(p.parse(&mut b"PI".to_vec(), &lim), Parsed::Incomplete);
    assert_eq!(p.spans.len(), DEFAULT_SPANS);
}

#[test]
fn incomplete_input_is_not_rescanned() {
    let lim = Limits::default();
    let mut p = Parser::new();
    let mut buf = vec![b'a'; 1000];
    assert_eq!(p.parse(&mut buf, &lim), Parsed::Incomplete);
    assert_eq!(p.state.scan_pos(), 1000, "the next call resumes the '\\n' search here");
    buf.extend_from_slice(b"\n");
    assert_eq!(p.parse(&mut buf, &lim), Parsed::Command { consumed: 1001 });

    // a bulk payload waits at its start; the header is not parsed again
    let mut buf = b"*2\r\n$3\r\nSET\r\n$5\r\nab".to_vec();
    assert_eq!(p.parse(&mut buf, &lim), Parsed::Incomplete);
    assert_eq!(p.state.scan_pos(), buf.len() - 2);
    buf.extend_from_slice(b"cde\r\n");
    assert_eq!(p.parse(&mut buf, &lim), Parsed::Command { consumed: buf.len() });
    assert_eq!(p.args(&buf).collect::<Vec<_>>(), [&b"SET"[..], b"abcde"]);
}

#[test]
fn reset_forgets_a_partial_request() {
    let lim = Limits::default();
    let mut p = Parser::new();
    assert_eq!(p.parse(&mut b"*2\r\n$3\r\nGET\r\n".to_vec(), &lim), Parsed::Incomplete);
    p.reset();
    let mut buf = b"PING\r\n".to_vec();
    assert_eq!(p.parse(&mut buf, &lim), Parsed::Command { consumed: 6 });
    assert_eq!(p.arg(&buf, 0), b"PING");
}

// ---- property tests ---------------------------------------------------------

fn corpus() -> Vec<Vec<u8>> {
    let mut c: Vec<Vec<u8>> = [
        &b""[..],
        b"PING\r\n",
        b"PING\nPING\r\n\r\n\n",
        b"SET a \"hello world\"\r\nGET a\r\n",
        b"SET k \"a\\x41\\n\\\"q\\\\\" 'it\\'s' x\r\n",
        b"ECHO \"unterminated\r\nPING\r\n",
        b"ECHO \"a\"b\r\n",
        b"ECHO a\"b c\" d 'e f'g\n",
        b"ECHO  \x0b\x0cx\x0by\t\"\"\n",
        b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
        b"*abc\r\n",
        b"*3000000\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\nx4\r\n",
        b"*1\r\n\r\n",
        b"*2\r\n$4\r\nECHO\r\n*1\r\n",
        b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
        b"*1\rX$4\r\nPING\r\n",
        b"*1\r\n$4\r\nPING\r",
        b"*1\r\n$0\r\n\r\n",
        b"*1\r\n$11\r\naaaaaaaaaaa\r\n",
        b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n",
        b"*01\r\n$4\r\nPING\r\n",
        b"ECHO a\0b\nPING\n",
        b"*1\r\n\0\r\n",
        b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
        b"*11111111111111111111111111111\r\n",
        b"*1\r\n$11111111111111111111111111111\r\n",
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    c.push(mb(&[b"SET", b"k\r\n", b"\r\n\r\n$3\r\n*1\r\n"]));
    let mut pipeline = Vec::new();
    for i in 0..5 {
        pipeline.extend(mb(&[b"SET", format!("key:{i}").as_bytes(), b"v\r\nv"]));
        pipeline.extend_from_slice(format!("GET \"key:{i}\"\r\n").as_bytes());
    }
    c.push(pipeline);
    c
}

#[test]
fn corpus_every_split_point_matches_reference() {
    for s in corpus() {
        check_splits_all(&s);
    }
}

/// xorshift64: deterministic, seedable, no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, alphabet: &[u8], max_len: usize) -> Vec<u8> {
        let n = self.below(max_len + 1);
        (0..n).map(|_| self.pick(alphabet)).collect()
    }
}

const PROTO_BYTES: &[u8] = b"*$\r\n\r\n0123456789-+\"' \\xaAtnq\t\x0b\0\x80\xff";
const ARG_BYTES: &[u8] = b"ab\r\n$*\"' \\x4Ft\0\xfe";

fn random_inline(r: &mut Rng) -> Vec<u8> {
    let mut line = Vec::new();
    for _ in 0..r.below(5) {
        line.extend_from_slice(r.pick(&[&b" "[..], b"  ", b"\t", b"\x0b", b"\r", b""]));
        match r.below(4) {
            0 => line.extend(r.bytes(b"abcXYZ019", 6)),
            1 => {
                line.push(b'"');
                for _ in 0..r.below(5) {
                    line.extend_from_slice(r.pick(&[
                        &b"a"[..],
                        b" ",
                        b"\\n",
                        b"\\x41",
                        b"\\x4",
                        b"\\\"",
                        b"\\\\",
                        b"\\q",
                        b"'",
                        b"\r",
                    ]));
                }
                if r.below(8) != 0 {
                    line.push(b'"');
                }
            }
            2 => {
                line.push(b'\'');
                line.extend_from_slice(r.pick(&[&b"x y"[..], b"\\'", b"\\n", b"\"", b""]));
                if r.below(8) != 0 {
                    line.push(b'\'');
                }
            }
            _ => line.extend(r.bytes(ARG_BYTES, 4)),
        }
    }
    line.extend_from_slice(r.pick(&[&b"\r\n"[..], b"\n", b"\r\n", b""]));
    line
}

fn random_multibulk(r: &mut Rng) -> Vec<u8> {
    let args: Vec<Vec<u8>> = (0..r.below(5)).map(|_| r.bytes(ARG_BYTES, 12)).collect();
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    mb(&refs)
}

fn random_stream(r: &mut Rng) -> Vec<u8> {
    let mut s = Vec::new();
    for _ in 0..1 + r.below(4) {
        match r.below(10) {
            0..=2 => s.extend(random_multibulk(r)),
            3..=4 => s.extend(random_inline(r)),
            5 => s.extend(r.bytes(PROTO_BYTES, 12)),
            6 => {
                let n = r.pick(&["*", "$"]).to_string()
                    + r.pick(&[
                        "-1",
                        "0",
                        "1",
                        "2",
                        "3",
                        "01",
                        "-0",
                        "abc",
                        "",
                        "4294967296",
                        "12",
                        "+1",
                        "20000",
                        "1111111111111111111",
                    ]);
                s.extend_from_slice(n.as_bytes());
                s.extend_from_slice(r.pick(&[&b"\r\n"[..], b"\r", b"\rx", b"\n"]));
            }
            _ => {
                // a valid request with one byte replaced, inserted or removed
                let mut m = random_multibulk(r);
                let i = r.below(m.len());
                match r.below(3) {
                    0 => m[i] = r.pick(PROTO_BYTES),
                    1 => m.insert(i, r.pick(PROTO_BYTES)),
                    _ => {
                        m.remove(i);
                    }
                }
                s.extend(m);
            }
        }
    }
    s
}

#[test]
fn random_streams_every_split_point_match_reference() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let s = random_stream(&mut r);
        check_splits_all(&s);
    }
}
