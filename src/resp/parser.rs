//! Safe wrapper around the C request parser: splits RESP2 multibulk
//! (`*N\r\n$len\r\n...`) and inline (`SET a "b c"\r\n`) requests into
//! argument spans pointing into the connection's input buffer, without
//! copying or allocating per request.
//!
//! Invariants the caller keeps (one [`Parser`] per connection):
//! - `buf` passed to [`Parser::parse`] starts at the first byte of the current
//!   request. After [`Parsed::Incomplete`] the next call gets the same bytes
//!   at the same start plus whatever arrived since; the parser resumes where
//!   it stopped rather than rescanning.
//! - After [`Parsed::Command`] the arguments are read with [`Parser::arg`] /
//!   [`Parser::args`] on that same buffer, then the caller advances past
//!   `consumed` bytes and parses again; the state is already reset.
//! - After [`Parsed::Error`] the caller replies
//!   `-ERR Protocol error: <text>\r\n` and closes, as Redis does.
//!
//! Semantics (and every error text) are Redis 7.0's; the few deliberate
//! differences are listed at the top of `csrc/resp.c`. `refparser.rs` is an
//! independent pure-Rust implementation of the same rules that the tests
//! compare against at every split point of many streams.

use super::ffi::{self, ErrorKind, RespLimits, RespState, Status};

pub use super::ffi::Span;

/// Protocol limits, checked on every request (the Redis defaults apply unless
/// configured otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted bulk argument (`proto-max-bulk-len`, 512 MiB).
    pub max_bulk_len: u64,
    /// Largest accepted argument count in `*N` (1,048,576, Redis 6's fixed
    /// limit; Redis 7.0 accepts up to 2^31 - 1, so raise it for that).
    pub max_multibulk_len: u64,
    /// Longest inline request line, also the longest `*N` / `$len` header
    /// line (Redis `PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub max_inline_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: 512 * 1024 * 1024, max_multibulk_len: 1024 * 1024, max_inline_len: 64 * 1024 }
    }
}

impl Limits {
    fn to_c(self, auth: Auth) -> RespLimits {
        RespLimits {
            max_bulk_len: self.max_bulk_len,
            max_multibulk_len: self.max_multibulk_len,
            max_inline_len: u64::try_from(self.max_inline_len).unwrap_or(u64::MAX),
            auth_required: u64::from(auth == Auth::Required),
        }
    }
}

/// Whether the connection still has to authenticate. Redis (since the fix
/// for CVE-2021-32675) refuses big requests from such clients before reading
/// them, so that an unauthenticated peer cannot make it buffer much.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// No password is set, or AUTH succeeded: only [`Limits`] apply.
    #[default]
    NotRequired,
    /// A password is set and the client has not authenticated: `*N` above 10
    /// is "unauthenticated multibulk length", `$len` above 16384 is
    /// "unauthenticated bulk length".
    Required,
}

/// Outcome of one [`Parser::parse`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request occupying `buf[..consumed]`. It may have zero arguments
    /// (an empty inline line, `*0`, `*-1`): Redis skips those silently.
    Command {
        /// Bytes of the buffer this request used.
        consumed: usize,
    },
    /// The request is not complete yet: append bytes and call again.
    Incomplete,
    /// A protocol error: the text that follows `Protocol error: ` in Redis's
    /// reply, e.g. `invalid bulk length`.
    Error(&'static str),
}

/// Span capacity a fresh parser starts with: enough for almost every command.
const DEFAULT_SPANS: usize = 16;

/// A span array grown past this (a huge MSET) is given back between requests,
/// so an idle connection does not keep megabytes of spans.
const SHRINK_ABOVE: usize = 1024;

/// Resumable request parser; one per connection.
#[derive(Debug)]
pub struct Parser {
    /// Where the C parser stopped inside a partly received request.
    state: RespState,
    /// Span array handed to C; its length is the capacity C may fill. Spans of
    /// a partly received request live here between calls.
    spans: Vec<Span>,
    /// Argument count of the last complete request (0 otherwise).
    argc: usize,
    /// Whether the unauthenticated limits apply.
    auth: Auth,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser with room for 16 arguments; it grows on demand.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_SPANS)
    }

    /// A parser with room for `spans` arguments before it has to grow
    /// (0 is allowed; tests use it to exercise growth).
    pub fn with_capacity(spans: usize) -> Self {
        Parser { state: RespState::default(), spans: vec![Span::default(); spans], argc: 0, auth: Auth::NotRequired }
    }

    /// Parse the next request at the start of `buf`.
    ///
    /// On [`Parsed::Command`], [`argc`](Self::argc), [`arg`](Self::arg),
    /// [`args`](Self::args) and [`spans`](Self::spans) describe its arguments
    /// until the next call, and the parser is ready for the next request,
    /// which starts at `buf[consumed..]`. On [`Parsed::Incomplete`] call again
    /// with the same buffer (same start) extended by the bytes read since.
    ///
    /// Inline arguments with quotes are unescaped in place, so bytes of
    /// `buf[..consumed]` may change; nothing changes on `Incomplete`.
    pub fn parse(&mut self, buf: &mut [u8], limits: &Limits) -> Parsed {
        if self.state.is_fresh() && self.spans.len() > SHRINK_ABOVE {
            self.spans.truncate(DEFAULT_SPANS);
            self.spans.shrink_to_fit();
        }
        self.argc = 0;
        let lim = limits.to_c(self.auth);
        loop {
            match ffi::parse(&mut self.state, buf, &lim, &mut self.spans) {
                Status::Ok => {
                    let consumed = self.state.consumed();
                    self.argc = self.state.argc();
                    self.state = RespState::default();
                    return Parsed::Command { consumed };
                }
                Status::Incomplete => return Parsed::Incomplete,
                Status::NeedSpace(need) => {
                    // C resumes exactly where it stopped, so the spans written
                    // so far must survive: resize keeps the prefix.
                    let need = need.max(self.spans.len() + 1);
                    self.spans.resize(need, Span::default());
                }
                Status::Err(kind) => return Parsed::Error(error_text(kind)),
            }
        }
    }

    /// Number of arguments of the last parsed request.
    pub fn argc(&self) -> usize {
        self.argc
    }

    /// Argument `i` of the last parsed request, as a slice of `buf` (the same
    /// buffer given to `parse`). Panics if `i >= argc()` or `buf` is not that
    /// buffer.
    pub fn arg<'a>(&self, buf: &'a [u8], i: usize) -> &'a [u8] {
        let s = self.spans()[i];
        &buf[s.off..s.off + s.len]
    }

    /// All arguments of the last parsed request, in order, as slices of `buf`.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        self.spans().iter().map(move |s| &buf[s.off..s.off + s.len])
    }

    /// Spans `{off, len}` of the last parsed request's arguments; offsets are
    /// relative to the start of the buffer given to `parse`.
    pub fn spans(&self) -> &[Span] {
        &self.spans[..self.argc]
    }

    /// Set whether the connection still has to authenticate (see [`Auth`]);
    /// applies from the next `parse` call. New parsers start with
    /// [`Auth::NotRequired`].
    pub fn set_auth(&mut self, auth: Auth) {
        self.auth = auth;
    }

    /// Whether the connection still has to authenticate, as last set.
    pub fn auth(&self) -> Auth {
        self.auth
    }

    /// Forget any partly parsed request (e.g. when the input buffer is
    /// discarded).
    pub fn reset(&mut self) {
        self.state = RespState::default();
        self.argc = 0;
    }
}

/// Redis's text for each protocol error (after `Protocol error: `).
fn error_text(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::MultibulkLen => "invalid multibulk length",
        ErrorKind::ExpectedDollar(b) => expected_dollar_text(b),
        ErrorKind::BulkLen => "invalid bulk length",
        ErrorKind::Unbalanced => "unbalanced quotes in request",
        ErrorKind::InlineTooBig => "too big inline request",
        ErrorKind::MultibulkTooBig => "too big mbulk count string",
        ErrorKind::BulkTooBig => "too big bulk count string",
        ErrorKind::UnauthMultibulkLen => "unauthenticated multibulk length",
        ErrorKind::UnauthBulkLen => "unauthenticated bulk length",
        // Only reachable if a caller breaks the same-buffer contract.
        ErrorKind::State => "invalid parser state",
    }
}

const EXPECTED_PREFIX: &[u8] = b"expected '$', got '";
const EXPECTED_LEN: usize = EXPECTED_PREFIX.len() + 2;

/// "expected '$', got 'X'" for every ASCII X, built at compile time so the
/// error can be a `&'static str` without allocating.
static EXPECTED_DOLLAR: [[u8; EXPECTED_LEN]; 128] = {
    let mut table = [[0u8; EXPECTED_LEN]; 128];
    let mut b = 0;
    while b < 128 {
        let mut i = 0;
        while i < EXPECTED_PREFIX.len() {
            table[b][i] = EXPECTED_PREFIX[i];
            i += 1;
        }
        // Redis's addReplyErrorFormat turns '\r' and '\n' into spaces so the
        // reply stays one line.
        table[b][i] = if b == b'\r' as usize || b == b'\n' as usize { b' ' } else { b as u8 };
        table[b][i + 1] = b'\'';
        b += 1;
    }
    table
};

/// Used for bytes >= 0x80: Redis echoes the raw byte, which a `&str` cannot
/// hold, so it is shown as '?'.
const EXPECTED_NON_ASCII: &str = "expected '$', got '?'";

/// The text of Redis's "expected '$', got '%c'" error for byte `b`.
pub fn expected_dollar_text(b: u8) -> &'static str {
    match EXPECTED_DOLLAR.get(usize::from(b)) {
        Some(text) => std::str::from_utf8(text).unwrap_or(EXPECTED_NON_ASCII),
        None => EXPECTED_NON_ASCII,
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
