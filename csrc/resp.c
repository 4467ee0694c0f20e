/*
 * resp.c - resumable RESP2 multibulk + inline request parser.
 *
 * A port of Redis 7.0 networking.c (processMultibulkBuffer,
 * processInlineBuffer) and sds.c (sdssplitargs) that works on a caller-owned
 * buffer and state instead of a client struct: see resp.h for the contract.
 *
 * Redis behaviour kept on purpose (clients and tests observe it):
 *   - "*N" / "$len" lines end at the first '\r'; the byte after it is skipped
 *     without checking that it is '\n' (but it must have arrived).
 *   - The two bytes after a bulk payload are skipped without checking that
 *     they are "\r\n".
 *   - Numbers follow string2ll: optional '-', no '+', no leading zeros, no
 *     "-0", fewer than 21 bytes. *N <= 0 is an empty request (skipped by the
 *     caller); $len < 0 is an error.
 *   - Inline lines end at '\n' with one optional '\r' before it stripped, and
 *     are split with sdssplitargs' quoting rules.
 *   - Before authentication (lim->auth_required), *N > 10 and $len > 16384
 *     are refused with Redis's "unauthenticated ..." errors.
 *
 * Deliberate differences from Redis:
 *   - NUL is an ordinary byte. Redis searches lines with strchr(), so a NUL in
 *     a line hides the terminator and the connection hangs until the "too
 *     big" limit; here the line ends at its real terminator.
 *   - Redis checks the "too big inline request" / "too big (m)bulk count
 *     string" limits against everything buffered when no terminator is found,
 *     so whether a 70 KB line passes depends on how the kernel split the
 *     reads. Here a terminator more than max_inline_len bytes after the line
 *     start is always an error: exactly what Redis answers when those bytes
 *     arrive before the terminator, and independent of how the stream is cut.
 *   - *N above lim->max_multibulk_len is "invalid multibulk length" (Redis 7.0
 *     only rejects N > INT_MAX; Redis 6 had a fixed 1024*1024 limit). It is
 *     checked after the unauthenticated limit, so an unauthenticated client
 *     gets Redis's answer.
 *
 * Resumption: state->pos is the start of the unit being parsed (a line or a
 * bulk payload), state->scan is how far the terminator search got, so a call
 * with more bytes only looks at the new ones. Spans already written for the
 * request stay in the caller's array.
 */
#include "resp.h"

#include <limits.h>
#include <string.h>

/* Keep in sync with the const asserts in src/resp/ffi.rs. */
_Static_assert(sizeof(resp_span) == 2 * sizeof(size_t), "resp_span layout");
_Static_assert(offsetof(resp_span, len) == sizeof(size_t), "resp_span layout");
_Static_assert(sizeof(resp_limits) == 32, "resp_limits layout");
_Static_assert(offsetof(resp_state, mb_total) == 4 * sizeof(size_t), "resp_state layout");
_Static_assert(offsetof(resp_state, phase) == 4 * sizeof(size_t) + 16, "resp_state layout");
_Static_assert(sizeof(resp_state) == 4 * sizeof(size_t) + 24, "resp_state layout");

/* Redis util.h LONG_STR_SIZE: string2ll refuses inputs this long or longer. */
#define LONG_STR_SIZE 21

/* Redis authRequired() limits (networking.c): an unauthenticated client may
 * not announce more arguments or a longer bulk than this. */
#define UNAUTH_MAX_MULTIBULK 10
#define UNAUTH_MAX_BULK 16384

/* Smallest span capacity asked for when the caller's array is too small. */
#define MIN_SPAN_CAP 8

enum { LINE_FOUND, LINE_INCOMPLETE, LINE_TOO_BIG };

/*
 * Redis util.c string2ll, over an explicit length. Kept byte-compatible
 * because what it accepts decides which requests are protocol errors.
 */
static int string2ll(const unsigned char *s, size_t slen, long long *value)
{
    const unsigned char *p = s;
    size_t plen = 0;
    int negative = 0;
    unsigned long long v;

    if (slen == 0 || slen >= LONG_STR_SIZE)
        return 0;
    if (slen == 1 && p[0] == '0') {
        *value = 0;
        return 1;
    }
    if (p[0] == '-') {
        negative = 1;
        p++;
        plen++;
        if (plen == slen)
            return 0;
    }
    if (p[0] >= '1' && p[0] <= '9') {
        v = (unsigned long long)(p[0] - '0');
        p++;
        plen++;
    } else {
        return 0;
    }
    while (plen < slen && p[0] >= '0' && p[0] <= '9') {
        unsigned long long d = (unsigned long long)(p[0] - '0');
        if (v > ULLONG_MAX / 10)
            return 0;
        v *= 10;
        if (v > ULLONG_MAX - d)
            return 0;
        v += d;
        p++;
        plen++;
    }
    if (plen < slen)
        return 0;
    if (negative) {
        if (v > (unsigned long long)(-(LLONG_MIN + 1)) + 1)
            return 0;
        *value = (long long)(0ULL - v);
    } else {
        if (v > LLONG_MAX)
            return 0;
        *value = (long long)v;
    }
    return 1;
}

/*
 * Find `term` in the line starting at `start`, resuming at *scan so that bytes
 * already searched by an earlier call are not searched again. A terminator
 * more than max_line bytes after the line start (or max_line + 1 buffered
 * bytes without one) is LINE_TOO_BIG: the split-independent form of Redis's
 * "more than PROTO_INLINE_MAX_SIZE bytes and no terminator" check.
 * On LINE_FOUND, *scan is left on the terminator, so a caller that still has
 * to wait for a following byte finds it again in O(1).
 */
static int find_line(const unsigned char *buf, size_t len, size_t start, size_t *scan,
                     uint64_t max_line, unsigned char term, size_t *at)
{
    size_t avail = len - start;
    size_t window = ((uint64_t)avail > max_line) ? (size_t)max_line + 1 : avail;
    size_t end = start + window;
    size_t i = *scan;

    if (i < end) {
        /* Header lines are a few bytes long: a plain loop beats the call
         * and setup of memchr for them; long inline lines still get it. */
        size_t quick = (end - i > 32) ? i + 32 : end;
        for (; i < quick; i++)
            if (buf[i] == term)
                goto found;
        if (i < end) {
            const unsigned char *hit = memchr(buf + i, term, end - i);
            if (hit != NULL) {
                i = (size_t)(hit - buf);
                goto found;
            }
        }
        *scan = end;
    }
    return ((uint64_t)avail > max_line) ? LINE_TOO_BIG : LINE_INCOMPLETE;
found:
    *at = *scan = i;
    return LINE_FOUND;
}

/* isspace() in the C locale, which is what sdssplitargs runs under. */
static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned char hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return (unsigned char)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (unsigned char)(c - 'a' + 10);
    return (unsigned char)(c - 'A' + 10);
}

/*
 * sdssplitargs over buf[p .. end), where `end` plays the role of the sds
 * terminator. Returns 0 and the argument count in *argc, or -1 on unbalanced
 * quotes. With write == 0 nothing is touched (a counting/validation pass, so
 * an error or a too-small span array is found before the buffer changes).
 * With write == 1 each argument is unescaped in place and its span recorded:
 * the write cursor w never passes the read cursor p, because every input
 * byte yields at most one output byte, so unread input is never overwritten.
 */
static int split_args(unsigned char *buf, size_t p, size_t end,
                      resp_span *spans, int write, size_t *argc)
{
    size_t w = p;
    size_t n = 0;

#define EMIT(ch)                  \
    do {                          \
        unsigned char c_ = (ch);  \
        if (write)                \
            buf[w] = c_;          \
        w++;                      \
    } while (0)

    for (;;) {
        size_t tok;
        int inq = 0, insq = 0, done = 0;

        while (p < end && is_space(buf[p]))
            p++;
        if (p == end) {
            *argc = n;
            return 0;
        }
        tok = w;
        while (!done) {
            if (inq) {
                if (p == end)
                    return -1; /* unterminated quotes */
                if (buf[p] == '\\' && end - p > 3 && buf[p + 1] == 'x' &&
                    is_hex(buf[p + 2]) && is_hex(buf[p + 3])) {
                    EMIT((unsigned char)(hex_val(buf[p + 2]) * 16 + hex_val(buf[p + 3])));
                    p += 4;
                } else if (buf[p] == '\\' && end - p > 1) {
                    unsigned char c;
                    switch (buf[p + 1]) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = buf[p + 1]; break;
                    }
                    EMIT(c);
                    p += 2;
                } else if (buf[p] == '"') {
                    /* closing quote must be followed by a space or nothing */
                    if (end - p > 1 && !is_space(buf[p + 1]))
                        return -1;
                    done = 1;
                    p++;
                } else {
                    EMIT(buf[p]);
                    p++;
                }
            } else if (insq) {
                if (p == end)
                    return -1; /* unterminated quotes */
                if (buf[p] == '\\' && end - p > 1 && buf[p + 1] == '\'') {
                    EMIT('\'');
                    p += 2;
                } else if (buf[p] == '\'') {
                    if (end - p > 1 && !is_space(buf[p + 1]))
                        return -1;
                    done = 1;
                    p++;
                } else {
                    EMIT(buf[p]);
                    p++;
                }
            } else if (p == end) {
                done = 1;
            } else {
                switch (buf[p]) {
                /* Only these end an unquoted token; '\v' and '\f' do not,
                 * although they are skipped between tokens. */
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                    done = 1;
                    break;
                case '"':
                    inq = 1;
                    break;
                case '\'':
                    insq = 1;
                    break;
                default:
                    EMIT(buf[p]);
                    break;
                }
                p++;
            }
        }
        if (write) {
            spans[n].off = tok;
            spans[n].len = w - tok;
        }
        n++;
    }
#undef EMIT
}

/* The request ends at `consumed` with `argc` arguments. */
static int finish(resp_state *st, size_t consumed, size_t argc)
{
    st->pos = consumed;
    st->scan = consumed;
    st->argc = argc;
    st->phase = RESP_PHASE_START;
    return RESP_OK;
}

/* Remember where a multibulk request stopped, and return rc. */
static int suspend(resp_state *st, uint32_t phase, size_t pos, size_t scan, size_t argc,
                   uint64_t bulk_len, int rc)
{
    st->phase = phase;
    st->pos = pos;
    st->scan = scan;
    st->argc = argc;
    st->bulk_len = bulk_len;
    return rc;
}

static int parse_inline(resp_state *st, unsigned char *buf, size_t len,
                        const resp_limits *lim, resp_span *spans, size_t cap)
{
    size_t nl, end, argc = 0;
    int r = find_line(buf, len, st->pos, &st->scan, lim->max_inline_len, '\n', &nl);

    if (r == LINE_TOO_BIG)
        return RESP_ERR_INLINE_TOO_BIG;
    if (r == LINE_INCOMPLETE)
        return RESP_INCOMPLETE;
    end = nl;
    if (end > st->pos && buf[end - 1] == '\r')
        end--;
    /* Validate and count first: the unescaping pass rewrites the buffer, so
     * it must run only once, when it is certain to finish. */
    if (split_args(buf, st->pos, end, NULL, 0, &argc) != 0)
        return RESP_ERR_UNBALANCED;
    if (argc > cap) {
        st->need = argc;
        return RESP_NEED_SPACE;
    }
    (void)split_args(buf, st->pos, end, spans, 1, &argc);
    return finish(st, nl + 1, argc);
}

/*
 * The multibulk path is straight-line code over locals, entered through the
 * switch at the point where the last call stopped; the state is written back
 * only when returning. (A loop over `switch (phase)` costs an unpredictable
 * indirect jump per header and payload, which dominated small requests.)
 */
int resp_parse(resp_state *st, unsigned char *buf, size_t len,
               const resp_limits *lim, resp_span *spans, size_t cap)
{
    size_t pos = st->pos, scan = st->scan, argc = st->argc, cr = 0;
    uint64_t total = st->mb_total, blen = st->bulk_len;
    long long ll = 0;
    int r;

    /* The state is plain data the caller could pair with the wrong buffer;
     * never let it steer a read outside [buf, buf + len). */
    if (pos > len || scan < pos || scan > len)
        return RESP_ERR_STATE;

    switch (st->phase) {
    case RESP_PHASE_START:
        if (pos >= len)
            return RESP_INCOMPLETE;
        st->argc = argc = 0;
        st->scan = scan = pos;
        if (buf[pos] != '*') {
            st->phase = RESP_PHASE_INLINE;
            return parse_inline(st, buf, len, lim, spans, cap);
        }
        st->phase = RESP_PHASE_MB_COUNT;
        break;
    case RESP_PHASE_INLINE:
        return parse_inline(st, buf, len, lim, spans, cap);
    case RESP_PHASE_MB_COUNT:
        break;
    case RESP_PHASE_MB_BULKLEN:
        if (argc >= total)
            return RESP_ERR_STATE;
        goto bulk_header;
    case RESP_PHASE_MB_DATA:
        if (argc >= total)
            return RESP_ERR_STATE;
        goto bulk_data;
    default:
        return RESP_ERR_STATE;
    }

    /* "*N\r\n" */
    r = find_line(buf, len, pos, &scan, lim->max_inline_len, '\r', &cr);
    if (r == LINE_TOO_BIG)
        return RESP_ERR_MBULK_TOO_BIG;
    if (r == LINE_INCOMPLETE || cr + 1 >= len) {
        st->scan = scan; /* Redis also waits for the byte after '\r' */
        return RESP_INCOMPLETE;
    }
    if (!string2ll(buf + pos + 1, cr - pos - 1, &ll) || ll > INT_MAX)
        return RESP_ERR_MBULK_LEN;
    if (ll > UNAUTH_MAX_MULTIBULK && lim->auth_required)
        return RESP_ERR_UNAUTH_MBULK_LEN;
    if (ll > 0 && (uint64_t)ll > lim->max_multibulk_len)
        return RESP_ERR_MBULK_LEN;
    if (ll <= 0)
        return finish(st, cr + 2, 0); /* "*0", "*-1": an empty request */
    st->mb_total = total = (uint64_t)ll;
    pos = scan = cr + 2;

    for (;;) {
    bulk_header: /* "$len\r\n" */
        r = find_line(buf, len, pos, &scan, lim->max_inline_len, '\r', &cr);
        if (r == LINE_TOO_BIG)
            return RESP_ERR_BULK_TOO_BIG;
        if (r == LINE_INCOMPLETE || cr + 1 >= len)
            return suspend(st, RESP_PHASE_MB_BULKLEN, pos, scan, argc, 0, RESP_INCOMPLETE);
        if (buf[pos] != '$') {
            st->err_byte = buf[pos];
            return RESP_ERR_EXPECTED_DOLLAR;
        }
        if (!string2ll(buf + pos + 1, cr - pos - 1, &ll) || ll < 0 ||
            (uint64_t)ll > lim->max_bulk_len)
            return RESP_ERR_BULK_LEN;
        if (ll > UNAUTH_MAX_BULK && lim->auth_required)
            return RESP_ERR_UNAUTH_BULK_LEN;
        blen = (uint64_t)ll;
        pos = cr + 2;

    bulk_data: /* payload + 2 trailing bytes, which Redis skips unchecked */
        if (len - pos < 2 || (uint64_t)(len - pos - 2) < blen)
            return suspend(st, RESP_PHASE_MB_DATA, pos, pos, argc, blen, RESP_INCOMPLETE);
        if (argc >= cap) {
            /* Grow geometrically, never beyond what *N announced, so a
             * bogus "*1000000" costs nothing until the args arrive. */
            uint64_t want = cap < MIN_SPAN_CAP ? MIN_SPAN_CAP : (uint64_t)cap * 2;
            st->need = (size_t)(want > total ? total : want);
            return suspend(st, RESP_PHASE_MB_DATA, pos, pos, argc, blen, RESP_NEED_SPACE);
        }
        spans[argc].off = pos;
        spans[argc].len = (size_t)blen;
        argc++;
        pos += (size_t)blen + 2;
        scan = pos;
        if (argc == total)
            return finish(st, pos, argc);
    }
}

size_t resp_state_size(void)
{
    return sizeof(resp_state);
}
