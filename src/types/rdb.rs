//! Redis's RDB serialization, the pieces DUMP-style payloads are made of:
//! length encoding, string encoding (integer, LZF or raw, chosen as Redis
//! 7.0's `rdbSaveRawString` does), CRC64 (Jones, reflected, as Redis's
//! `crc64`) and the payload footer (RDB version, 2 bytes LE, then the CRC64
//! of everything before it, 8 bytes LE). Byte-identical with Redis, so a
//! payload made by one restores into the other. No RESP, no storage.

mod lzf;

/// The RDB format version Redis 7.0 writes (and the newest it reads).
pub const RDB_VERSION: u16 = 10;
/// Opcode of a function library (its code as one string).
pub const OPCODE_FUNCTION: u8 = 245;
/// Opcode of a function library in the 7.0 release candidates' format.
pub const OPCODE_FUNCTION_PRE_GA: u8 = 246;

/// Redis's "Jones" CRC-64: polynomial 0xad93d23594c935a9, reflected, no
/// final xor; one byte-wise table built at compile time.
const CRC64_TABLE: [u64; 256] = {
    const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Continues the CRC-64 `crc` over `data` (start with 0).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc = CRC64_TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// Appends `n` in RDB length encoding: 6 bits, 14 bits, or a marker byte
/// then 32 or 64 bits big-endian.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Top two bits of a length byte that mark a special encoding.
const ENCVAL: u8 = 0xc0;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// Appends `s` as an RDB string the way Redis 7.0 does (with
/// `rdbcompression yes`): a short decimal integer as 1, 2 or 4 bytes; over
/// 20 bytes, LZF if that saves at least 4 bytes; else length and bytes.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = crate::util::parse_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.extend_from_slice(&[ENCVAL | ENC_INT8, v as u8]);
                return;
            }
            if let Ok(v) = i16::try_from(v) {
                out.push(ENCVAL | ENC_INT16);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
            if let Ok(v) = i32::try_from(v) {
                out.push(ENCVAL | ENC_INT32);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Some(packed) = lzf::compress(s, s.len() - 4) {
            out.push(ENCVAL | ENC_LZF);
            write_len(out, packed.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends the footer: RDB version and the CRC-64 of the whole payload.
pub fn seal(payload: &mut Vec<u8>) {
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, payload);
    payload.extend_from_slice(&crc.to_le_bytes());
}

/// The RDB version of a sealed payload, if it is one Redis 7.0 would
/// accept (version not newer than ours, CRC matching); Redis's
/// `verifyDumpPayload`.
pub fn verify(payload: &[u8]) -> Option<u16> {
    let body = payload.len().checked_sub(10)?;
    let version = u16::from_le_bytes([payload[body], payload[body + 1]]);
    let crc = u64::from_le_bytes(payload[body + 2..].try_into().expect("invariant: 8 bytes"));
    (version <= RDB_VERSION && crc64(0, &payload[..body + 2]) == crc).then_some(version)
}

/// Reads RDB values from a payload. Like Redis's reader it runs over the
/// whole buffer, footer included: a truncated value may read into it.
pub struct Reader<'a> {
    buf: &'a [u8],
    /// Bytes consumed so far.
    pub pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    /// One byte (a type or opcode).
    pub fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    /// A length, or the encoding number of a specially encoded string
    /// (`Err`).
    fn len_or_encoding(&mut self) -> Option<Result<u64, u8>> {
        let b = self.byte()?;
        Some(match b >> 6 {
            0 => Ok((b & 0x3f) as u64),
            1 => Ok((((b & 0x3f) as u64) << 8) | self.byte()? as u64),
            2 if b == 0x80 => Ok(u32::from_be_bytes(self.take(4)?.try_into().ok()?) as u64),
            2 if b == 0x81 => Ok(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            2 => return None,
            _ => Err(b & 0x3f),
        })
    }

    /// A plain length.
    pub fn length(&mut self) -> Option<u64> {
        self.len_or_encoding()?.ok()
    }

    /// A string in any of its encodings.
    pub fn string(&mut self) -> Option<Vec<u8>> {
        let int = |v: i64| Some(v.to_string().into_bytes());
        match self.len_or_encoding()? {
            Ok(n) => self.take(usize::try_from(n).ok()?).map(<[u8]>::to_vec),
            Err(ENC_INT8) => int(self.take(1)?[0] as i8 as i64),
            Err(ENC_INT16) => int(i16::from_le_bytes(self.take(2)?.try_into().ok()?) as i64),
            Err(ENC_INT32) => int(i32::from_le_bytes(self.take(4)?.try_into().ok()?) as i64),
            Err(ENC_LZF) => {
                let packed_len = usize::try_from(self.length()?).ok()?;
                let len = usize::try_from(self.length()?).ok()?;
                lzf::decompress(self.take(packed_len)?, len)
            }
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_redis_jones() {
        // Redis's crc64 test vector (src/crc64.c).
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(crc64(0, b"1234"), b"56789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(0, b""), 0);
    }

    #[test]
    fn lengths_round_trip_in_every_width() {
        for n in [0u64, 63, 64, 16383, 16384, u32::MAX as u64, u32::MAX as u64 + 1] {
            let mut out = Vec::new();
            write_len(&mut out, n);
            let width = match n {
                0..=63 => 1,
                64..=16383 => 2,
                16384..=0xffff_ffff => 5,
                _ => 9,
            };
            assert_eq!(out.len(), width, "{n}");
            assert_eq!(Reader::new(&out).length(), Some(n));
        }
    }

    #[test]
    fn strings_pick_redis_encodings() {
        let enc = |s: &[u8]| {
            let mut out = Vec::new();
            write_string(&mut out, s);
            out
        };
        assert_eq!(enc(b"12"), [0xc0, 12]);
        assert_eq!(enc(b"-200"), [0xc1, 0x38, 0xff]);
        assert_eq!(enc(b"100000"), [0xc2, 0xa0, 0x86, 0x01, 0x00]);
        assert_eq!(enc(b"012"), [3, b'0', b'1', b'2']);
        assert_eq!(enc(b"99999999999"), [11, b'9', b'9', b'9', b'9', b'9', b'9', b'9', b'9', b'9', b'9', b'9']);
        assert_eq!(enc(&[b'a'; 20])[0], 20, "20 bytes are never compressed");
        assert_eq!(enc(&[b'a'; 21])[0], 0xc3);
        for s in [&b"12"[..], b"-200", b"100000", b"012", &[b'a'; 21], &[b'x'; 5000], b"abcdefghijklmnopqrstuvwxyz"] {
            assert_eq!(Reader::new(&enc(s)).string().as_deref(), Some(s));
        }
    }

    #[test]
    fn sealed_payloads_verify_and_damaged_ones_do_not() {
        let mut p = vec![OPCODE_FUNCTION];
        write_string(&mut p, b"#!lua name=x\n");
        seal(&mut p);
        assert_eq!(verify(&p), Some(RDB_VERSION));
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert_eq!(verify(&bad), None);
        assert_eq!(verify(&p[..9]), None);
        let mut newer = p[..p.len() - 10].to_vec();
        newer.extend_from_slice(&(RDB_VERSION + 1).to_le_bytes());
        let crc = crc64(0, &newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(verify(&newer), None);
    }
}
