//! LZF, as the liblzf 3.6 Redis bundles compresses (HLOG 16, VERY_FAST,
//! hash table starting empty): the same input gives the same bytes, which
//! is what makes DiskDB's payloads byte-identical with Redis's.
//!
//! Format: `000LLLLL` then L+1 literal bytes; `LLLooooo oooooooo` a back
//! reference of L+2 bytes at distance o+1; `111ooooo LLLLLLLL oooooooo` the
//! same with length L+9.

const HLOG: u32 = 16;
const HSIZE: u32 = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// liblzf's hash of the 3 bytes ending at the newest byte of `h`.
fn slot(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & (HSIZE - 1)) as usize
}

/// Compresses `input` into at most `max_out` bytes; None if it does not
/// fit (liblzf's `lzf_compress` returning 0), including its bound checks,
/// which decide whether Redis stores a string compressed.
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n == 0 || max_out == 0 {
        return None;
    }
    // Positions + 1 would be needed to tell 0 from empty; liblzf never
    // matches a reference at the very first byte, so 0 serves as empty.
    let mut table = vec![0u32; HSIZE as usize];
    let mut out = vec![0u8; max_out + 1];
    let end = max_out;
    // `op` is the next output byte; a literal run keeps its length byte at
    // `op - lit - 1`, written when the run stops.
    let (mut ip, mut op, mut lit) = (0usize, 1usize, 0usize);
    let mut h: u32 = if n >= 2 { (input[0] as u32) << 8 | input[1] as u32 } else { 0 };
    while ip + 2 < n {
        h = h << 8 | input[ip + 2] as u32;
        let s = slot(h);
        let r = table[s] as usize;
        table[s] = ip as u32;
        let found = r > 0 && r < ip && ip - r - 1 < MAX_OFF && ip + 4 < n && input[r..r + 3] == input[ip..ip + 3];
        if found {
            let off = ip - r - 1;
            let maxlen = (n - ip - 2).min(MAX_REF);
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            if lit == 0 {
                op -= 1;
            }
            if op + 4 >= end {
                return None;
            }
            let mut len = 2;
            // liblzf first compares 16 bytes without the length bound, then
            // extends up to `maxlen`.
            let mut open = true;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        open = false;
                        break;
                    }
                }
            }
            if open {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 2; // and a new literal run starts
            lit = 0;
            ip += len + 1;
            if ip + 2 >= n {
                break;
            }
            // Hash the last two positions of the match (VERY_FAST).
            ip -= 2;
            h = (input[ip] as u32) << 8 | input[ip + 1] as u32;
            for _ in 0..2 {
                h = h << 8 | input[ip + 2] as u32;
                table[slot(h)] = ip as u32;
                ip += 1;
            }
        } else {
            if op >= end {
                return None;
            }
            push_literal(&mut out, &mut op, &mut lit, input[ip]);
            ip += 1;
        }
    }
    if op + 3 > end {
        return None;
    }
    while ip < n {
        push_literal(&mut out, &mut op, &mut lit, input[ip]);
        ip += 1;
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        op -= 1;
    }
    out.truncate(op);
    Some(out)
}

/// Adds one byte to the current literal run, closing it when full.
fn push_literal(out: &mut [u8], op: &mut usize, lit: &mut usize, b: u8) {
    out[*op] = b;
    *op += 1;
    *lit += 1;
    if *lit == MAX_LIT {
        out[*op - *lit - 1] = (*lit - 1) as u8;
        *lit = 0;
        *op += 1;
    }
}

/// Decompresses `input` into exactly `len` bytes; None if it is corrupt or
/// does not make `len` bytes.
pub fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < MAX_LIT {
            let run = input.get(ip..ip + ctrl + 1)?;
            if out.len() + run.len() > len {
                return None;
            }
            out.extend_from_slice(run);
            ip += ctrl + 1;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += *input.get(ip)? as usize;
                ip += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(ip)? as usize + 1;
            ip += 1;
            let start = out.len().checked_sub(back)?;
            if out.len() + n + 2 > len {
                return None;
            }
            // Byte by byte: a reference may overlap what it produces.
            for i in start..start + n + 2 {
                out.push(out[i]);
            }
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_does_not_fit() {
        let text = b"redis.register_function('a', function() return 1 end) redis.register_function('b', function() return 1 end)";
        let packed = compress(text, text.len() - 4).expect("repetitive text compresses");
        assert!(packed.len() < text.len() - 4);
        assert_eq!(decompress(&packed, text.len()).as_deref(), Some(&text[..]));
        let long: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8 ^ (i / 7) as u8).collect();
        let packed = compress(&long, long.len()).expect("fits in its own length");
        assert_eq!(decompress(&packed, long.len()), Some(long));
        assert_eq!(compress(b"abcdefghijklmnopqrstuvwxyz", 22), None);
        assert_eq!(decompress(&[0x20, 0x00], 3), None, "a reference before the start");
        assert_eq!(decompress(&[0x02, b'a'], 3), None, "a truncated literal run");
    }

    #[test]
    fn matches_the_bytes_redis_writes() {
        // From redis-server 7.0.15: FUNCTION DUMP of this library.
        let code = b"#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)";
        let want = b"\x1f#!lua name=mylib\nredis.register_\x0bfunction('my@\x0b\x02', @\x06`\x12\x11keys, args) return`\x0c\x07[1] end)";
        assert_eq!(compress(code, code.len() - 4).as_deref(), Some(&want[..]));
    }
}
