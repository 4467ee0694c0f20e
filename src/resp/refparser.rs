//! Reference request parser: a plain, non-resumable Rust statement of the
//! rules the C parser implements (Redis 7.0 `processMultibulkBuffer`,
//! `processInlineBuffer`, `sdssplitargs`, `string2ll`, plus the deliberate
//! differences listed in `csrc/resp.c`).
//!
//! It exists to be obviously correct, not fast: it always parses from the
//! start of the buffer and copies every argument. The tests feed the C parser
//! every split of many streams and require exactly the commands and errors
//! this parser finds on the whole stream.

use super::parser::{expected_dollar_text, Auth, Limits};

/// Outcome of [`parse_ref`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefParsed {
    /// A whole request occupying `buf[..consumed]`, with its arguments.
    Command {
        /// The arguments, unescaped.
        args: Vec<Vec<u8>>,
        /// Bytes of the buffer the request used.
        consumed: usize,
    },
    /// More bytes are needed.
    Incomplete,
    /// A protocol error (text after `Protocol error: `).
    Error(&'static str),
}

/// Parse the request at the start of `buf` from scratch, for a client that
/// needs no authentication.
pub fn parse_ref(buf: &[u8], limits: &Limits) -> RefParsed {
    parse_ref_as(buf, limits, Auth::NotRequired)
}

/// Like [`parse_ref`], for a client in the given [`Auth`] state.
pub fn parse_ref_as(buf: &[u8], limits: &Limits, auth: Auth) -> RefParsed {
    match buf.first() {
        None => RefParsed::Incomplete,
        Some(b'*') => multibulk(buf, limits, auth),
        Some(_) => inline(buf, limits),
    }
}

/// Where a `*N` / `$len` header line starting at `start` ends.
enum Line {
    /// Index of its '\r', and the byte after it has arrived.
    End(usize),
    Incomplete,
    TooBig,
}

/// A header line ends at the first '\r'; Redis then skips two bytes without
/// looking at the second, but waits until it is there. A line whose '\r' lies
/// more than `max` bytes from its start (or is not within the first `max + 1`
/// bytes received) is too big.
fn header_line(buf: &[u8], start: usize, max: usize) -> Line {
    let rest = &buf[start..];
    match rest.iter().position(|&b| b == b'\r') {
        Some(p) if p > max => Line::TooBig,
        Some(p) if p + 1 < rest.len() => Line::End(start + p),
        Some(_) => Line::Incomplete,
        None if rest.len() > max => Line::TooBig,
        None => Line::Incomplete,
    }
}

/// Redis `string2ll`: an optional '-', then "0" alone or a non-zero digit
/// followed by digits; nothing else (no '+', spaces, leading zeros or "-0"),
/// at most 20 bytes, and the value must fit an i64.
fn redis_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.first().map_or(true, |d| !(b'1'..=b'9').contains(d)) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // At most 20 digits: no overflow in i128.
    let magnitude: i128 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn multibulk(buf: &[u8], limits: &Limits, auth: Auth) -> RefParsed {
    let cr = match header_line(buf, 0, limits.max_inline_len) {
        Line::End(cr) => cr,
        Line::Incomplete => return RefParsed::Incomplete,
        Line::TooBig => return RefParsed::Error("too big mbulk count string"),
    };
    // In Redis's order: not a number or above INT_MAX, then the
    // unauthenticated limit; then our own max_multibulk_len.
    let count = match redis_int(&buf[1..cr]) {
        None => return RefParsed::Error("invalid multibulk length"),
        Some(n) if n > i64::from(i32::MAX) => return RefParsed::Error("invalid multibulk length"),
        Some(n) if n > 10 && auth == Auth::Required => return RefParsed::Error("unauthenticated multibulk length"),
        Some(n) if n <= 0 => return RefParsed::Command { args: Vec::new(), consumed: cr + 2 },
        Some(n) if n as u64 > limits.max_multibulk_len => return RefParsed::Error("invalid multibulk length"),
        Some(n) => n as u64,
    };
    let mut pos = cr + 2;
    let mut args = Vec::new();
    for _ in 0..count {
        let cr = match header_line(buf, pos, limits.max_inline_len) {
            Line::End(cr) => cr,
            Line::Incomplete => return RefParsed::Incomplete,
            Line::TooBig => return RefParsed::Error("too big bulk count string"),
        };
        if buf[pos] != b'$' {
            return RefParsed::Error(expected_dollar_text(buf[pos]));
        }
        let len = match redis_int(&buf[pos + 1..cr]) {
            Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len => n as u64,
            _ => return RefParsed::Error("invalid bulk length"),
        };
        if len > 16384 && auth == Auth::Required {
            return RefParsed::Error("unauthenticated bulk length");
        }
        pos = cr + 2;
        // The payload plus two bytes Redis skips without checking for "\r\n".
        if ((buf.len() - pos) as u64) < len.saturating_add(2) {
            return RefParsed::Incomplete;
        }
        let len = len as usize;
        args.push(buf[pos..pos + len].to_vec());
        pos += len + 2;
    }
    RefParsed::Command { args, consumed: pos }
}

fn inline(buf: &[u8], limits: &Limits) -> RefParsed {
    let max = limits.max_inline_len;
    let nl = match buf.iter().position(|&b| b == b'\n') {
        Some(p) if p > max => return RefParsed::Error("too big inline request"),
        Some(p) => p,
        None if buf.len() > max => return RefParsed::Error("too big inline request"),
        None => return RefParsed::Incomplete,
    };
    let line = &buf[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match split_args(line) {
        Some(args) => RefParsed::Command { args, consumed: nl + 1 },
        None => RefParsed::Error("unbalanced quotes in request"),
    }
}

/// `isspace` in the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn hex(b: u8) -> u8 {
    // Only called on bytes that passed is_ascii_hexdigit.
    (b as char).to_digit(16).map_or(0, |d| d as u8)
}

/// A line-for-line transcription of Redis `sdssplitargs`, where `at(i)`
/// returning `None` stands for the NUL that ends an sds string. `None` for
/// unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let at = |i: usize| line.get(i).copied();
    let mut p = 0;
    let mut args = Vec::new();
    loop {
        while at(p).is_some_and(is_space) {
            p += 1;
        }
        if at(p).is_none() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut inq, mut insq, mut done) = (false, false, false);
        while !done {
            if inq {
                match at(p) {
                    Some(b'\\')
                        if at(p + 1) == Some(b'x')
                            && at(p + 2).is_some_and(|b| b.is_ascii_hexdigit())
                            && at(p + 3).is_some_and(|b| b.is_ascii_hexdigit()) =>
                    {
                        current.push(hex(line[p + 2]) * 16 + hex(line[p + 3]));
                        p += 3;
                    }
                    Some(b'\\') if at(p + 1).is_some() => {
                        p += 1;
                        current.push(match line[p] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        // closing quote must be followed by a space or nothing
                        if at(p + 1).is_some_and(|b| !is_space(b)) {
                            return None;
                        }
                        done = true;
                    }
                    None => return None,
                    Some(b) => current.push(b),
                }
            } else if insq {
                match at(p) {
                    Some(b'\\') if at(p + 1) == Some(b'\'') => {
                        p += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if at(p + 1).is_some_and(|b| !is_space(b)) {
                            return None;
                        }
                        done = true;
                    }
                    None => return None,
                    Some(b) => current.push(b),
                }
            } else {
                match at(p) {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => done = true,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(b) => current.push(b),
                }
            }
            // sds: `if (*p) p++;`, on wherever p points now
            if at(p).is_some() {
                p += 1;
            }
        }
        args.push(current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_int_matches_string2ll() {
        assert_eq!(redis_int(b"0"), Some(0));
        assert_eq!(redis_int(b"-1"), Some(-1));
        assert_eq!(redis_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(redis_int(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"-", b"-0", b"01", b"+1", b" 1", b"1 ", b"9223372036854775808", b"1x"] {
            assert_eq!(redis_int(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn split_args_follows_sdssplitargs() {
        let v = |s: &[u8]| {
            split_args(s).map(|a| a.into_iter().map(|x| String::from_utf8_lossy(&x).into_owned()).collect::<Vec<_>>())
        };
        assert_eq!(v(b"set a \"b c\""), Some(vec!["set".into(), "a".into(), "b c".into()]));
        assert_eq!(v(b"a\"b c\"  'd'"), Some(vec!["ab c".into(), "d".into()]));
        assert_eq!(v(b"\"x\"y"), None);
        assert_eq!(v(b"'x"), None);
        assert_eq!(v(b"  "), Some(vec![]));
    }
}
