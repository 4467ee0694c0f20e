//! The boundary to the C request parser in `csrc/resp.{h,c}`.
//!
//! This is the only file of the crate with `unsafe`. It holds `#[repr(C)]`
//! mirrors of the C structs (their size and field offsets are asserted at
//! compile time here and with `_Static_assert` in `resp.c`, so a change on one
//! side that is not made on the other fails the build) and [`parse`], a safe
//! function around `resp_parse`.
//!
//! Why the call is sound whatever the caller does: the C parser only reads and
//! writes `buf[..buf.len()]`, `spans[..spans.len()]`, `*state` and `*limits`;
//! it keeps no pointer after returning; and it checks the offsets stored in
//! the state against the length of the buffer it is given, so a state paired
//! with the wrong (shorter) buffer yields [`ErrorKind::State`], not an
//! out-of-bounds access.

use std::mem::{align_of, offset_of, size_of};
use std::os::raw::{c_int, c_uchar};

/// One parsed argument: `buf[off..off + len]`, with `off` relative to the start
/// of the buffer given to the parse call (the start of the request).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Offset of the argument's first byte.
    pub off: usize,
    /// Length of the argument in bytes.
    pub len: usize,
}

/// Mirror of `resp_limits`: the protocol limits, passed on every call so that
/// `CONFIG SET` takes effect on the next request.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RespLimits {
    /// Largest accepted `$len` (Redis `proto-max-bulk-len`).
    pub max_bulk_len: u64,
    /// Largest accepted `*N`.
    pub max_multibulk_len: u64,
    /// Longest inline line, and longest `*N` / `$len` line.
    pub max_inline_len: u64,
    /// Non-zero while the client has not authenticated: Redis then refuses
    /// `*N` above 10 and `$len` above 16384.
    pub auth_required: u64,
}

/// Mirror of `resp_state`: where a partly received request stopped. One per
/// connection; all zeroes (`Default`) is the state before a request.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RespState {
    pos: usize,
    scan: usize,
    argc: usize,
    need: usize,
    mb_total: u64,
    bulk_len: u64,
    phase: u32,
    err_byte: u32,
}

// The same numbers are asserted in csrc/resp.c; keep both in sync with resp.h.
const _: () = assert!(size_of::<Span>() == 2 * size_of::<usize>());
const _: () = assert!(align_of::<Span>() == align_of::<usize>());
const _: () = assert!(offset_of!(Span, len) == size_of::<usize>());
const _: () = assert!(size_of::<RespLimits>() == 32);
const _: () = assert!(align_of::<RespLimits>() == align_of::<u64>());
const _: () = assert!(offset_of!(RespState, mb_total) == 4 * size_of::<usize>());
const _: () = assert!(offset_of!(RespState, phase) == 4 * size_of::<usize>() + 16);
const _: () = assert!(size_of::<RespState>() == 4 * size_of::<usize>() + 24);
const _: () = assert!(
    align_of::<RespState>()
        == if align_of::<u64>() > align_of::<usize>() { align_of::<u64>() } else { align_of::<usize>() }
);

impl RespState {
    /// After [`Status::Ok`]: bytes of the buffer the request used.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// After [`Status::Ok`]: number of arguments (spans written).
    pub fn argc(&self) -> usize {
        self.argc
    }

    /// True before any byte of a request has been looked at.
    pub fn is_fresh(&self) -> bool {
        *self == RespState::default()
    }

    /// How far the terminator search has got (for tests of resumption).
    pub fn scan_pos(&self) -> usize {
        self.scan
    }
}

/// Why a request is not valid RESP (each maps to one Redis error text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `*N` is not a number, or too large.
    MultibulkLen,
    /// A bulk header did not start with `$`; holds the byte found instead.
    ExpectedDollar(u8),
    /// `$len` is not a number, negative or too large.
    BulkLen,
    /// An inline line has unbalanced quotes.
    Unbalanced,
    /// An inline line is longer than the limit.
    InlineTooBig,
    /// The `*N` line is longer than the limit.
    MultibulkTooBig,
    /// A `$len` line is longer than the limit.
    BulkTooBig,
    /// The state does not belong to this buffer (a caller bug).
    State,
    /// `*N` above 10 before authentication.
    UnauthMultibulkLen,
    /// `$len` above 16384 before authentication.
    UnauthBulkLen,
}

/// What one call of the C parser reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// A whole request: see [`RespState::consumed`] and [`RespState::argc`].
    Ok,
    /// More bytes are needed, appended to the same buffer.
    Incomplete,
    /// The span array must grow to at least this many entries (keeping its
    /// contents); then call again with the same state and buffer.
    NeedSpace(usize),
    /// A protocol error; the connection should be closed.
    Err(ErrorKind),
}

// Return codes of resp_parse (csrc/resp.h).
const RESP_OK: c_int = 0;
const RESP_INCOMPLETE: c_int = 1;
const RESP_NEED_SPACE: c_int = 2;
const RESP_ERR_MBULK_LEN: c_int = -1;
const RESP_ERR_EXPECTED_DOLLAR: c_int = -2;
const RESP_ERR_BULK_LEN: c_int = -3;
const RESP_ERR_UNBALANCED: c_int = -4;
const RESP_ERR_INLINE_TOO_BIG: c_int = -5;
const RESP_ERR_MBULK_TOO_BIG: c_int = -6;
const RESP_ERR_BULK_TOO_BIG: c_int = -7;
const RESP_ERR_UNAUTH_MBULK_LEN: c_int = -9;
const RESP_ERR_UNAUTH_BULK_LEN: c_int = -10;

extern "C" {
    fn resp_parse(
        st: *mut RespState,
        buf: *mut c_uchar,
        len: usize,
        lim: *const RespLimits,
        spans: *mut Span,
        cap: usize,
    ) -> c_int;
    fn resp_state_size() -> usize;
}

/// Run the C parser on the request at the start of `buf`, resuming from
/// `state`. Spans are written to `spans` (its length is the capacity);
/// inline arguments may be unescaped in place inside `buf`.
pub fn parse(state: &mut RespState, buf: &mut [u8], limits: &RespLimits, spans: &mut [Span]) -> Status {
    // SAFETY: every pointer comes from a live Rust reference or slice that is
    // borrowed (mutably where C writes) for the whole call, and each length is
    // that slice's own length. resp_parse reads/writes only buf[..len],
    // spans[..cap], *st and *lim, validates st's offsets against len before
    // using them, retains no pointer after returning and does not allocate.
    // The types are #[repr(C)] mirrors whose layout is asserted above and in C.
    let rc = unsafe { resp_parse(state, buf.as_mut_ptr(), buf.len(), limits, spans.as_mut_ptr(), spans.len()) };
    match rc {
        RESP_OK => Status::Ok,
        RESP_INCOMPLETE => Status::Incomplete,
        RESP_NEED_SPACE => Status::NeedSpace(state.need),
        RESP_ERR_MBULK_LEN => Status::Err(ErrorKind::MultibulkLen),
        RESP_ERR_EXPECTED_DOLLAR => {
            // err_byte holds an unsigned char widened to u32.
            Status::Err(ErrorKind::ExpectedDollar(state.err_byte as u8))
        }
        RESP_ERR_BULK_LEN => Status::Err(ErrorKind::BulkLen),
        RESP_ERR_UNBALANCED => Status::Err(ErrorKind::Unbalanced),
        RESP_ERR_INLINE_TOO_BIG => Status::Err(ErrorKind::InlineTooBig),
        RESP_ERR_MBULK_TOO_BIG => Status::Err(ErrorKind::MultibulkTooBig),
        RESP_ERR_BULK_TOO_BIG => Status::Err(ErrorKind::BulkTooBig),
        RESP_ERR_UNAUTH_MBULK_LEN => Status::Err(ErrorKind::UnauthMultibulkLen),
        RESP_ERR_UNAUTH_BULK_LEN => Status::Err(ErrorKind::UnauthBulkLen),
        // RESP_ERR_STATE, and anything unknown: never trust it as success.
        _ => Status::Err(ErrorKind::State),
    }
}

/// `sizeof(resp_state)` as the C compiler sees it, to cross-check the mirror
/// at run time (the const asserts only see the Rust side).
pub fn c_state_size() -> usize {
    // SAFETY: resp_state_size takes no arguments, touches no memory and only
    // returns a constant.
    unsafe { resp_state_size() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_and_rust_agree_on_state_size() {
        assert_eq!(c_state_size(), size_of::<RespState>());
    }

    #[test]
    fn state_from_another_buffer_is_rejected_not_read() {
        let lim = RespLimits { max_bulk_len: 100, max_multibulk_len: 100, max_inline_len: 100, auth_required: 0 };
        let mut st = RespState::default();
        let mut spans = [Span::default(); 4];
        let mut long = *b"*2\r\n$3\r\nfoo\r\n$3\r\nb";
        assert_eq!(parse(&mut st, &mut long, &lim, &mut spans), Status::Incomplete);
        let mut short = *b"*2\r\n";
        assert_eq!(parse(&mut st, &mut short, &lim, &mut spans), Status::Err(ErrorKind::State));
    }
}
