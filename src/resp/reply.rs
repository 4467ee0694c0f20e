//! `ReplyBuf`: typed RESP2/RESP3 reply writers over one growing byte buffer.
//!
//! Every protocol difference lives here (null, map, set, double, bool, verbatim,
//! push), so handlers are protocol-agnostic. Writers format numbers on the stack
//! (`itoa`-style), so a reply never allocates a `String`.

use crate::error::CmdError;
use crate::util::fmt_double;

/// Position of a deferred array header, filled once the count is known.
#[derive(Debug, Clone, Copy)]
pub struct Deferred {
    at: usize,
    kind: u8,
    /// RESP2 map: the count written is twice the pairs.
    pairs: bool,
}

/// Reserved width of a deferred length (up to 10^19 - 1 elements).
const DEFER_WIDTH: usize = 20;

/// A connection's pending output.
#[derive(Debug, Default)]
pub struct ReplyBuf {
    /// Bytes not yet written to the socket.
    pub buf: Vec<u8>,
    /// True after `HELLO 3`.
    pub resp3: bool,
}

impl ReplyBuf {
    /// An empty RESP2 buffer.
    pub fn new() -> Self {
        ReplyBuf::default()
    }

    /// Bytes pending.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything after `mark` (a handler that failed half-way).
    pub fn truncate(&mut self, mark: usize) {
        self.buf.truncate(mark);
    }

    fn header(&mut self, prefix: u8, n: i64) {
        // Most counts and lengths are one digit (an XRANGE entry writes five
        // headers): one copy, no formatting.
        if (0..10).contains(&n) {
            self.buf.extend_from_slice(&[prefix, b'0' + n as u8, b'\r', b'\n']);
            return;
        }
        self.buf.push(prefix);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string (`+text`); must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.simple_bytes(s.as_bytes());
    }

    /// A simple string from bytes.
    pub fn simple_bytes(&mut self, s: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer.
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// A bulk string.
    pub fn bulk(&mut self, s: &[u8]) {
        self.header(b'$', s.len() as i64);
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer as a bulk string (e.g. INCRBYFLOAT results, CONFIG values).
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null reply: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    /// An array header of `n` elements.
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map header of `n` pairs (RESP2: an array of 2n).
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64)
        } else {
            self.header(b'*', 2 * n as i64)
        }
    }

    /// A set header (RESP2: an array).
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// A push header (pub/sub messages; RESP2: an array).
    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    /// A double: `,1.5` in RESP3, a bulk string in RESP2, spelled as Redis does.
    pub fn double(&mut self, d: f64) {
        let mut tmp = [0u8; 40];
        let s = fmt_double(d, &mut tmp);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn bool(&mut self, b: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Verbatim text (`=len\r\ntxt:...` in RESP3, bulk in RESP2), as INFO replies.
    pub fn verbatim(&mut self, s: &[u8]) {
        if self.resp3 {
            self.header(b'=', s.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// An error reply (`-TEXT`).
    pub fn error(&mut self, e: &CmdError) {
        match e {
            CmdError::Bytes(b) => self.error_text(b),
            other => self.error_text(other.text().as_bytes()),
        }
    }

    /// An error reply from its full text (prefix included).
    pub fn error_text(&mut self, text: &[u8]) {
        self.buf.push(b'-');
        // CR/LF inside an error would break framing: Redis replaces them by spaces.
        self.buf.extend(text.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Starts an array whose length is not known yet.
    pub fn defer_array(&mut self) -> Deferred {
        self.defer(b'*', false)
    }

    /// Starts a map whose length is not known yet.
    pub fn defer_map(&mut self) -> Deferred {
        if self.resp3 {
            self.defer(b'%', false)
        } else {
            self.defer(b'*', true)
        }
    }

    fn defer(&mut self, kind: u8, pairs: bool) -> Deferred {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[b' '; DEFER_WIDTH + 3]);
        Deferred { at, kind, pairs }
    }

    /// Fills a deferred header with its element count (pairs for a map).
    pub fn fill(&mut self, d: Deferred, n: usize) {
        let n = if d.pairs { n * 2 } else { n };
        let mut b = itoa::Buffer::new();
        let digits = b.format(n).as_bytes();
        let mut header = Vec::with_capacity(DEFER_WIDTH + 3);
        header.push(d.kind);
        header.extend_from_slice(digits);
        header.extend_from_slice(b"\r\n");
        self.buf.splice(d.at..d.at + DEFER_WIDTH + 3, header);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(f: impl Fn(&mut ReplyBuf)) -> (String, String) {
        let mut a = ReplyBuf::new();
        f(&mut a);
        let mut b = ReplyBuf { resp3: true, ..ReplyBuf::default() };
        f(&mut b);
        (String::from_utf8(a.buf).unwrap(), String::from_utf8(b.buf).unwrap())
    }

    #[test]
    fn one_digit_headers_and_their_neighbours() {
        for (n, text) in
            [(-1, ":-1\r\n"), (0, ":0\r\n"), (9, ":9\r\n"), (10, ":10\r\n"), (i64::MIN, ":-9223372036854775808\r\n")]
        {
            assert_eq!(both(|r| r.int(n)).0, text);
        }
        assert_eq!(both(|r| r.bulk(b"123456789")).0, "$9\r\n123456789\r\n");
        assert_eq!(both(|r| r.bulk(b"1234567890")).0, "$10\r\n1234567890\r\n");
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        assert_eq!(both(|r| r.null()), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.map(2)), ("*4\r\n".into(), "%2\r\n".into()));
        assert_eq!(both(|r| r.set(3)), ("*3\r\n".into(), "~3\r\n".into()));
        assert_eq!(both(|r| r.double(1.5)), ("$3\r\n1.5\r\n".into(), ",1.5\r\n".into()));
        assert_eq!(both(|r| r.double(f64::INFINITY)), ("$3\r\ninf\r\n".into(), ",inf\r\n".into()));
        assert_eq!(both(|r| r.bool(true)), (":1\r\n".into(), "#t\r\n".into()));
        assert_eq!(both(|r| r.verbatim(b"x")).1, "=5\r\ntxt:x\r\n");
    }

    #[test]
    fn deferred_array_is_filled() {
        let mut r = ReplyBuf::new();
        r.int(7);
        let d = r.defer_array();
        r.bulk(b"a");
        r.bulk(b"b");
        r.fill(d, 2);
        assert_eq!(r.buf, b":7\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    }

    #[test]
    fn error_newlines_are_flattened() {
        let mut r = ReplyBuf::new();
        r.error_text(b"ERR a\r\nb");
        assert_eq!(r.buf, b"-ERR a  b\r\n");
    }
}
