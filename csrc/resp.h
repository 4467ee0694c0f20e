/*
 * resp.h - resumable RESP2 multibulk + inline request parser (C ABI).
 *
 * The parser splits one client request at the start of a buffer into argument
 * spans {off, len}. It never allocates, never keeps a pointer between calls and
 * never reads outside [buf, buf + len): everything it must remember lives in the
 * caller-owned `resp_state` (one per connection), as offsets relative to the
 * start of the buffer. When a request is incomplete the caller appends bytes to
 * the SAME buffer (same start) and calls again; the parser resumes where it
 * stopped instead of rescanning.
 *
 * Semantics follow Redis 7.0 networking.c (processMultibulkBuffer,
 * processInlineBuffer, sdssplitargs) byte for byte, with a few deliberate
 * differences listed in resp.c: NUL bytes are ordinary bytes, the
 * "too big ..." limits apply to the line length rather than to however many
 * bytes one read() happened to return (so the result never depends on how
 * the stream was split), and *N has a configurable maximum.
 *
 * The Rust mirror of every type here is src/resp/ffi.rs; both sides assert the
 * same sizes and offsets, so change them together.
 */
#ifndef DISKDB_RESP_H
#define DISKDB_RESP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One argument: buf[off .. off + len). */
typedef struct resp_span {
    size_t off;
    size_t len;
} resp_span;

/* Per-call limits (config can change between calls). */
typedef struct resp_limits {
    uint64_t max_bulk_len;      /* proto-max-bulk-len; larger $len is an error */
    uint64_t max_multibulk_len; /* larger *N is an error */
    uint64_t max_inline_len;    /* PROTO_INLINE_MAX_SIZE: longest inline line,
                                   and longest *N / $len line */
    uint64_t auth_required;     /* non-zero while the client has not yet
                                   authenticated: Redis then refuses *N > 10
                                   and $len > 16384 before reading them */
} resp_limits;

/*
 * Resume state. All-zero bytes is the initial state (RESP_PHASE_START), so the
 * caller resets it by zeroing. Fields are private to resp.c except the ones
 * marked "out".
 */
typedef struct resp_state {
    size_t pos;         /* start of the unit being parsed; after RESP_OK: bytes consumed (out) */
    size_t scan;        /* terminator search resumes here: [pos, scan) holds none */
    size_t argc;        /* spans written so far; after RESP_OK: argument count (out) */
    size_t need;        /* after RESP_NEED_SPACE: span capacity wanted (out) */
    uint64_t mb_total;  /* N of the current *N request */
    uint64_t bulk_len;  /* length of the bulk being waited for */
    uint32_t phase;     /* RESP_PHASE_* */
    uint32_t err_byte;  /* after RESP_ERR_EXPECTED_DOLLAR: the offending byte (out) */
} resp_state;

/* Parse phases (values of resp_state.phase). */
enum {
    RESP_PHASE_START = 0,   /* nothing decided yet: look at the first byte */
    RESP_PHASE_MB_COUNT,    /* waiting for the "*N\r\n" line */
    RESP_PHASE_MB_BULKLEN,  /* waiting for a "$len\r\n" line */
    RESP_PHASE_MB_DATA,     /* waiting for bulk_len bytes + 2 */
    RESP_PHASE_INLINE       /* waiting for the '\n' of an inline line */
};

/* Return codes of resp_parse. Errors are negative. */
enum {
    RESP_OK = 0,               /* a whole request: argc spans, pos bytes consumed */
    RESP_INCOMPLETE = 1,       /* append more bytes to the same buffer and call again */
    RESP_NEED_SPACE = 2,       /* grow the span array to at least `need`, call again */
    RESP_ERR_MBULK_LEN = -1,   /* "invalid multibulk length" */
    RESP_ERR_EXPECTED_DOLLAR = -2, /* "expected '$', got '%c'" (err_byte) */
    RESP_ERR_BULK_LEN = -3,    /* "invalid bulk length" */
    RESP_ERR_UNBALANCED = -4,  /* "unbalanced quotes in request" */
    RESP_ERR_INLINE_TOO_BIG = -5, /* "too big inline request" */
    RESP_ERR_MBULK_TOO_BIG = -6,  /* "too big mbulk count string" */
    RESP_ERR_BULK_TOO_BIG = -7,   /* "too big bulk count string" */
    RESP_ERR_STATE = -8,       /* state does not fit this buffer: caller bug */
    RESP_ERR_UNAUTH_MBULK_LEN = -9, /* "unauthenticated multibulk length" */
    RESP_ERR_UNAUTH_BULK_LEN = -10  /* "unauthenticated bulk length" */
};

/*
 * Parse the request at the start of buf[0 .. len).
 *
 * Spans of the current request are written to spans[0 .. argc) and stay valid
 * across RESP_INCOMPLETE / RESP_NEED_SPACE returns, so the caller must keep the
 * array contents when it grows it. Inline arguments are unescaped in place:
 * bytes of buf inside the request may be rewritten, and only on the call that
 * returns RESP_OK (never on an incomplete request). After RESP_OK the caller
 * zeroes the state before parsing the next request.
 */
int resp_parse(resp_state *st, unsigned char *buf, size_t len,
               const resp_limits *lim, resp_span *spans, size_t cap);

/* sizeof(resp_state), so the Rust side can check its mirror at run time too. */
size_t resp_state_size(void);

#ifdef __cplusplus
}
#endif

#endif /* DISKDB_RESP_H */
