//! String semantics over the store (values live inline in `meta`).
//!
//! Every function here works on the command's `Tx` and knows no RESP: the
//! handlers in `cmd/string.rs` parse arguments and write replies. Rules kept
//! from Redis:
//! - a key of another type gives WRONGTYPE (`get` is the one place that checks);
//! - SET/GETSET/MSET drop the TTL unless KEEPTTL; APPEND, SETRANGE and the
//!   counters keep it;
//! - an absolute expiry already in the past deletes the key instead of storing
//!   a record that is born dead (the expiry index never holds past times);
//! - INCRBYFLOAT computes in x87 extended precision, like Redis's `long double`
//!   on x86-64, so its results are byte-identical (see [`long_double`]).

use crate::error::CmdError;
use crate::storage::{Meta, Tx, Type};
use crate::util::parse_i64;

/// When a write happens, depending on whether the key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// Always (plain SET).
    Always,
    /// Only if the key does not exist (NX, SETNX, MSETNX).
    IfMissing,
    /// Only if the key exists (XX).
    IfExists,
}

impl Cond {
    fn allows(self, exists: bool) -> bool {
        match self {
            Cond::Always => true,
            Cond::IfMissing => !exists,
            Cond::IfExists => exists,
        }
    }
}

/// What a write does to the key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// Remove it (SET without options, PERSIST).
    Clear,
    /// Leave it as it is (KEEPTTL).
    Keep,
    /// Expire at this Unix time in ms; at or before now the key is deleted.
    At(u64),
}

/// How SET treats the value it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Old {
    /// Overwrite whatever type is there (SET, SETNX, SETEX).
    Any,
    /// The old value is returned, so it must be a string (SET GET, GETSET).
    MustBeString,
}

/// Result of [`set`].
#[derive(Debug)]
pub struct SetOutcome {
    /// The record that was there before (any type unless `Old::MustBeString`).
    pub old: Option<Meta>,
    /// False if NX/XX prevented the write.
    pub written: bool,
}

/// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`
const TOO_LONG: CmdError = CmdError::Err("string exceeds maximum allowed size (proto-max-bulk-len)");

fn check_string(m: Option<Meta>) -> Result<Option<Meta>, CmdError> {
    match m {
        Some(m) if m.ty() != Type::String => Err(CmdError::WrongType),
        m => Ok(m),
    }
}

/// The live string record of `key`: `None` if absent, WRONGTYPE if the key
/// holds another type. The value is shared (`Meta` is reference counted), so a
/// GET copies it only into the reply buffer.
pub fn get(tx: &mut Tx, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    check_string(tx.meta(key)?)
}

/// Like [`get`] but reports any other type as absent (MGET).
pub fn get_lenient(tx: &mut Tx, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    Ok(tx.meta(key)?.filter(|m| m.ty() == Type::String))
}

/// Writes `key` = `value` with `ttl` (computed against `old`), or deletes the
/// key when the expiry is already past.
fn store(tx: &mut Tx, key: &[u8], value: &[u8], old: Option<&Meta>, ttl: Ttl) -> Result<(), CmdError> {
    let expire = match ttl {
        Ttl::Clear => 0,
        Ttl::Keep => old.map_or(0, Meta::expire_ms),
        Ttl::At(ms) if ms <= tx.now_ms => return Ok(tx.del_meta(key)?),
        Ttl::At(ms) => ms,
    };
    Ok(tx.put_meta(key, Meta::string(value, expire))?)
}

/// SET and its variants: writes `value` if `cond` allows, applying `ttl`.
pub fn set(tx: &mut Tx, key: &[u8], value: &[u8], cond: Cond, ttl: Ttl, old: Old) -> Result<SetOutcome, CmdError> {
    let prev = tx.meta(key)?;
    let prev = match old {
        Old::Any => prev,
        Old::MustBeString => check_string(prev)?,
    };
    let written = cond.allows(prev.is_some());
    if written {
        store(tx, key, value, prev.as_ref(), ttl)?;
    }
    Ok(SetOutcome { old: prev, written })
}

/// Changes the TTL of the live string `m` stored at `key` (GETEX).
pub fn set_ttl(tx: &mut Tx, key: &[u8], m: &Meta, ttl: Ttl) -> Result<(), CmdError> {
    match ttl {
        Ttl::Keep => Ok(()),
        Ttl::Clear if m.expire_ms() == 0 => Ok(()),
        Ttl::Clear => Ok(tx.put_meta(key, m.with_expire(0))?),
        Ttl::At(ms) if ms <= tx.now_ms => Ok(tx.del_meta(key)?),
        Ttl::At(ms) => Ok(tx.put_meta(key, m.with_expire(ms))?),
    }
}

/// GETDEL: the string value, deleting the key.
pub fn getdel(tx: &mut Tx, key: &[u8]) -> Result<Option<Meta>, CmdError> {
    let m = get(tx, key)?;
    if m.is_some() {
        tx.del_meta(key)?;
    }
    Ok(m)
}

/// MSET / MSETNX: sets every pair if `cond` allows it for every key (all or
/// nothing); TTLs are cleared. Returns whether the pairs were written.
pub fn mset<'a, I>(tx: &mut Tx, pairs: I, cond: Cond) -> Result<bool, CmdError>
where
    I: Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
{
    if cond != Cond::Always {
        for (key, _) in pairs.clone() {
            if !cond.allows(tx.meta(key)?.is_some()) {
                return Ok(false);
            }
        }
    }
    for (key, value) in pairs {
        tx.put_meta(key, Meta::string(value, 0))?;
    }
    Ok(true)
}

/// INCRBY family: adds `delta` to the integer at `key` (0 if absent), keeping
/// the TTL. Returns the new value.
pub fn incr_by(tx: &mut Tx, key: &[u8], delta: i64) -> Result<i64, CmdError> {
    let old = get(tx, key)?;
    let cur = match &old {
        Some(m) => parse_i64(m.value()).ok_or(CmdError::NotInteger)?,
        None => 0,
    };
    let new = cur.checked_add(delta).ok_or(CmdError::Overflow)?;
    let mut buf = itoa::Buffer::new();
    store(tx, key, buf.format(new).as_bytes(), old.as_ref(), Ttl::Keep)?;
    Ok(new)
}

/// INCRBYFLOAT: adds the decimal `incr` to the number at `key` (0 if absent)
/// in extended precision, keeping the TTL. Returns the new record.
pub fn incr_by_float(tx: &mut Tx, key: &[u8], incr: &[u8]) -> Result<Meta, CmdError> {
    let old = get(tx, key)?;
    let text = long_double::add_decimal(old.as_ref().map(Meta::value), incr).map_err(|e| match e {
        long_double::AddError::NotFloat => CmdError::NotFloat,
        long_double::AddError::NanOrInfinity => CmdError::Err("increment would produce NaN or Infinity"),
    })?;
    let expire = old.as_ref().map_or(0, Meta::expire_ms);
    let m = Meta::string(text.as_bytes(), expire);
    tx.put_meta(key, m.clone())?;
    Ok(m)
}

/// APPEND: appends `tail`, creating the key if needed (even with an empty
/// tail, like Redis). Returns the new length.
pub fn append(tx: &mut Tx, key: &[u8], tail: &[u8], max_len: u64) -> Result<usize, CmdError> {
    let Some(m) = get(tx, key)? else {
        tx.put_meta(key, Meta::string(tail, 0))?;
        return Ok(tail.len());
    };
    let old = m.value();
    if old.len() as u64 + tail.len() as u64 > max_len {
        return Err(TOO_LONG);
    }
    let mut v = Vec::with_capacity(old.len() + tail.len());
    v.extend_from_slice(old);
    v.extend_from_slice(tail);
    store(tx, key, &v, Some(&m), Ttl::Keep)?;
    Ok(v.len())
}

/// SETRANGE: overwrites from `offset`, zero-padding as needed. An empty patch
/// changes nothing (and does not create the key). Returns the new length.
pub fn setrange(tx: &mut Tx, key: &[u8], offset: u64, patch: &[u8], max_len: u64) -> Result<usize, CmdError> {
    let old = get(tx, key)?;
    if patch.is_empty() {
        return Ok(old.map_or(0, |m| m.value().len()));
    }
    let end = offset.checked_add(patch.len() as u64).filter(|&e| e <= max_len).ok_or(TOO_LONG)?;
    let (offset, end) = (offset as usize, end as usize);
    let mut v = old.as_ref().map_or_else(Vec::new, |m| m.value().to_vec());
    if v.len() < end {
        v.resize(end, 0);
    }
    v[offset..end].copy_from_slice(patch);
    store(tx, key, &v, old.as_ref(), Ttl::Keep)?;
    Ok(v.len())
}

/// GETRANGE: the bytes from `start` to `end` inclusive, negative indexes
/// counting from the end, clamped like Redis.
pub fn range(v: &[u8], start: i64, end: i64) -> &[u8] {
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    let len = v.len() as i64;
    // Redis adds in unsigned arithmetic; wrapping gives the same result.
    let start = if start < 0 { len.wrapping_add(start) } else { start }.max(0);
    let end = if end < 0 { len.wrapping_add(end) } else { end }.max(0).min(len - 1);
    if start > end || len == 0 {
        return &[];
    }
    &v[start as usize..=end as usize]
}

/// The two values LCS compares (absent keys are empty strings).
pub fn lcs_values(tx: &mut Tx, a: &[u8], b: &[u8]) -> Result<(Option<Meta>, Option<Meta>), CmdError> {
    let (ma, mb) = (tx.meta(a)?, tx.meta(b)?);
    if [&ma, &mb].iter().any(|m| m.as_ref().is_some_and(|m| m.ty() != Type::String)) {
        return Err(CmdError::Err("The specified keys must contain string values"));
    }
    Ok((ma, mb))
}

/// What LCS computes besides the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LcsWant {
    /// Only the length (LEN).
    Len,
    /// The common subsequence itself (default).
    String,
    /// The matching ranges no shorter than `min_len` (IDX [MINMATCHLEN n]).
    Matches {
        /// Shortest range reported.
        min_len: u64,
    },
}

/// One range of an LCS IDX reply: positions are inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    /// Range in the first string.
    pub a: (u32, u32),
    /// Range in the second string.
    pub b: (u32, u32),
    /// Length of the range.
    pub len: u32,
}

/// Result of [`lcs`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lcs {
    /// Length of the longest common subsequence.
    pub len: u32,
    /// The subsequence (`LcsWant::String` only).
    pub string: Vec<u8>,
    /// Ranges from the end of the strings backwards (`LcsWant::Matches` only).
    pub matches: Vec<LcsMatch>,
}

/// LCS by Redis's dynamic programming table, walked back the same way so
/// that ties and ranges come out identical. The table takes
/// `4 (|a|+1)(|b|+1)` bytes and is refused above `max_table` bytes.
pub fn lcs(a: &[u8], b: &[u8], want: LcsWant, max_table: u64) -> Result<Lcs, CmdError> {
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(CmdError::Err("String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells * 4 > max_table {
        return Err(CmdError::Err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return Err(CmdError::Err("Insufficient memory, failed allocating transient memory for LCS"));
    }
    table.resize(cells as usize, 0);
    let w = blen + 1;
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let len = table[alen * w + blen];
    let mut out = Lcs { len, ..Lcs::default() };
    if want == LcsWant::Len {
        return Ok(out);
    }
    let mut string = vec![0u8; len as usize];
    let mut idx = len as usize;
    // `arange_start == alen` means "no range open", as in Redis.
    let none = alen as u32;
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (none, 0u32, 0u32, 0u32);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            string[idx - 1] = a[i - 1];
            if a_start == none {
                (a_start, a_end, b_start, b_end) = (i as u32 - 1, i as u32 - 1, j as u32 - 1, j as u32 - 1);
            } else if a_start == i as u32 && b_start == j as u32 {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = a_start != none;
        }
        if emit {
            let mlen = a_end.wrapping_sub(a_start).wrapping_add(1);
            if let LcsWant::Matches { min_len } = want {
                if min_len == 0 || mlen as u64 >= min_len {
                    out.matches.push(LcsMatch { a: (a_start, a_end), b: (b_start, b_end), len: mlen });
                }
            }
            a_start = none;
        }
    }
    if want == LcsWant::String {
        out.string = string;
    }
    Ok(out)
}

/// Redis's INCRBYFLOAT arithmetic: `strtold`, a `long double` addition and
/// `printf("%.17Lf")` with trailing zeros removed, emulated exactly for the
/// x87 80-bit format (64-bit significand, 15-bit exponent) that `long double`
/// is on x86-64 Linux. Plain `f64` would answer `0.30000000000000004` to
/// `0.1 + 0.2` where Redis answers `0.3`, and overflow at 1.8e308 where Redis
/// goes on to 1.19e4932. HINCRBYFLOAT uses the same arithmetic.
pub mod long_double {
    use std::cmp::Ordering;

    /// Why [`add_decimal`] failed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AddError {
        /// An operand is not a number `string2ld` accepts.
        NotFloat,
        /// The sum is infinite (or NaN).
        NanOrInfinity,
    }

    /// Redis's `MAX_LONG_DOUBLE_CHARS`: longer inputs are refused.
    const MAX_CHARS: usize = 5 * 1024;
    /// Significand bits, the integer bit included.
    const MANT_BITS: i64 = 64;
    /// Exponent of the last significand bit of the smallest (subnormal) value, 2^-16445.
    const MIN_EXP: i64 = -16445;
    /// Exponent of the last significand bit of the largest finite value.
    const MAX_EXP: i64 = 16320;

    /// A finite value `(-1)^neg * mant * 2^exp`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Ext {
        neg: bool,
        mant: u64,
        exp: i64,
    }

    impl Ext {
        const ZERO: Ext = Ext { neg: false, mant: 0, exp: 0 };
    }

    /// A parsed or computed number.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Num {
        Finite(Ext),
        Inf,
    }

    /// Rounding outcome: `Overflow` and `Underflow` are what `strtold` flags with ERANGE.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Rounded {
        Value(Ext),
        Overflow,
        Underflow,
    }

    /// Adds the decimal `incr` to `old` (0 when `None`), both parsed like
    /// Redis's `string2ld`, and formats the sum like `ld2string(LD_STR_HUMAN)`.
    pub fn add_decimal(old: Option<&[u8]>, incr: &[u8]) -> Result<String, AddError> {
        let a = match old {
            Some(v) => parse(v).ok_or(AddError::NotFloat)?,
            None => Num::Finite(Ext::ZERO),
        };
        let b = parse(incr).ok_or(AddError::NotFloat)?;
        match (a, b) {
            (Num::Finite(x), Num::Finite(y)) => match add(x, y) {
                Rounded::Value(s) => Ok(format_human(s)),
                Rounded::Overflow | Rounded::Underflow => Err(AddError::NanOrInfinity),
            },
            _ => Err(AddError::NanOrInfinity),
        }
    }

    /// `string2ld`: length 1..5119, no leading space, every byte consumed by
    /// `strtold` (so a NUL byte is refused), no NaN, no overflow, no
    /// underflow to zero.
    fn parse(s: &[u8]) -> Option<Num> {
        if s.is_empty() || s.len() >= MAX_CHARS || s[0].is_ascii_whitespace() || s[0] == 0x0b {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(Num::Inf);
        }
        let hex = body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x';
        let r = if hex { parse_hex(neg, &body[2..])? } else { parse_dec(neg, body)? };
        match r {
            Rounded::Value(v) => Some(Num::Finite(v)),
            Rounded::Overflow | Rounded::Underflow => None,
        }
    }

    /// Splits `digits[.digits][<e>[sign]digits]`: (integer part, fraction,
    /// exponent). None if anything is left over or there are no digits.
    fn split_number(s: &[u8], radix: u32, exp_char: u8) -> Option<(&[u8], &[u8], i64)> {
        let is_digit = |c: &u8| (*c as char).is_digit(radix);
        let int_end = s.iter().position(|c| !is_digit(c)).unwrap_or(s.len());
        let (int, mut rest) = s.split_at(int_end);
        let mut frac: &[u8] = &[];
        if let Some(r) = rest.strip_prefix(b".") {
            let end = r.iter().position(|c| !is_digit(c)).unwrap_or(r.len());
            frac = &r[..end];
            rest = &r[end..];
        }
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut exp: i64 = 0;
        if let Some((&c, r)) = rest.split_first() {
            if c | 0x20 != exp_char {
                return None;
            }
            let (eneg, digits) = match r.first() {
                Some(b'-') => (true, &r[1..]),
                Some(b'+') => (false, &r[1..]),
                _ => (false, r),
            };
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            // Saturate: anything this large over- or underflows anyway.
            for &d in digits {
                exp = (exp * 10 + (d - b'0') as i64).min(1_000_000_000);
            }
            if eneg {
                exp = -exp;
            }
        }
        Some((int, frac, exp))
    }

    fn parse_dec(neg: bool, s: &[u8]) -> Option<Rounded> {
        let (int, frac, exp) = split_number(s, 10, b'e')?;
        let (mut d, nd) = Big::from_digits(int, frac, 10);
        let nd = nd as i64;
        if d.is_zero() {
            return Some(Rounded::Value(Ext { neg, ..Ext::ZERO }));
        }
        let k = exp - frac.len() as i64;
        // d is in [10^(nd-1), 10^nd): beyond these bounds the result is surely
        // infinite (max ~1.19e4932) or below half the smallest subnormal (~3.6e-4951).
        if k + nd > 4933 {
            return Some(Rounded::Overflow);
        }
        if k + nd < -4951 {
            return Some(Rounded::Underflow);
        }
        if k >= 0 {
            d.mul_pow10(k as u64);
            return Some(round(neg, &d, 0, false));
        }
        let mut den = Big::from_u128(1);
        den.mul_pow10((-k) as u64);
        Some(round_ratio(neg, d, den))
    }

    fn parse_hex(neg: bool, s: &[u8]) -> Option<Rounded> {
        let (int, frac, exp) = split_number(s, 16, b'p')?;
        let (h, _) = Big::from_digits(int, frac, 16);
        let e = exp - 4 * frac.len() as i64;
        Some(round(neg, &h, e, false))
    }

    /// Rounds `num / den` (both non-zero) to nearest-even.
    fn round_ratio(neg: bool, mut num: Big, mut den: Big) -> Rounded {
        // Scale so the quotient has 66..67 bits: enough for the 64 kept, the
        // rounding bit, and a remainder that is the sticky bit.
        let s = 66 - (num.bits() as i64 - den.bits() as i64);
        if s > 0 {
            num = num.shl(s as u64);
        } else {
            den = den.shl((-s) as u64);
        }
        let mut q: u128 = 0;
        for bit in (0..68u64).rev() {
            let t = den.shl(bit);
            if num.cmp(&t) != Ordering::Less {
                num.sub(&t);
                q |= 1 << bit;
            }
        }
        round(neg, &Big::from_u128(q), -s, !num.is_zero())
    }

    /// Rounds `n * 2^e` (plus something below 2^e if `sticky`) to the format,
    /// nearest-even, with gradual underflow.
    fn round(neg: bool, n: &Big, e: i64, sticky: bool) -> Rounded {
        let bl = n.bits() as i64;
        if bl == 0 {
            return if sticky { Rounded::Underflow } else { Rounded::Value(Ext { neg, ..Ext::ZERO }) };
        }
        let mut ulp = (e + bl - MANT_BITS).max(MIN_EXP);
        if ulp > MAX_EXP {
            return Rounded::Overflow;
        }
        let shift = ulp - e;
        let mant = if shift <= 0 {
            // n has at most 64 bits here, and the result too.
            (n.to_u128() << (-shift)) as u64
        } else {
            let shift = shift as u64;
            let mut q = n.shr(shift).to_u128();
            let half = n.bit(shift - 1);
            let rest = sticky || n.any_below(shift - 1);
            if half && (rest || q & 1 == 1) {
                q += 1;
            }
            if q == 1 << MANT_BITS {
                q >>= 1;
                ulp += 1;
            }
            q as u64
        };
        if ulp > MAX_EXP {
            return Rounded::Overflow;
        }
        if mant == 0 {
            return Rounded::Underflow;
        }
        Rounded::Value(Ext { neg, mant, exp: ulp })
    }

    /// `a + b`, exactly rounded.
    fn add(a: Ext, b: Ext) -> Rounded {
        if a.mant == 0 && b.mant == 0 {
            return Rounded::Value(Ext { neg: a.neg && b.neg, ..Ext::ZERO });
        }
        if a.mant == 0 {
            return Rounded::Value(b);
        }
        if b.mant == 0 {
            return Rounded::Value(a);
        }
        let e = a.exp.min(b.exp);
        let na = Big::from_u128(a.mant as u128).shl((a.exp - e) as u64);
        let nb = Big::from_u128(b.mant as u128).shl((b.exp - e) as u64);
        if a.neg == b.neg {
            return round(a.neg, &na.add(&nb), e, false);
        }
        match na.cmp(&nb) {
            Ordering::Equal => Rounded::Value(Ext::ZERO),
            Ordering::Greater => {
                let mut d = na;
                d.sub(&nb);
                round(a.neg, &d, e, false)
            }
            Ordering::Less => {
                let mut d = nb;
                d.sub(&na);
                round(b.neg, &d, e, false)
            }
        }
    }

    /// `printf("%.17Lf")` (exact digits, nearest-even), then trailing zeros and
    /// a trailing point removed, and "-0" turned into "0", as `ld2string` does.
    fn format_human(x: Ext) -> String {
        const SCALE: u128 = 100_000_000_000_000_000; // 10^17
        let scaled = if x.exp >= 0 {
            let mut n = Big::from_u128(x.mant as u128 * SCALE);
            n = n.shl(x.exp as u64);
            n
        } else {
            let num = x.mant as u128 * SCALE; // < 2^121
            let sh = (-x.exp) as u32;
            let q = if sh >= 128 {
                0
            } else {
                let (q, rem, half) = (num >> sh, num & ((1u128 << sh) - 1), 1u128 << (sh - 1));
                if rem > half || (rem == half && q & 1 == 1) {
                    q + 1
                } else {
                    q
                }
            };
            Big::from_u128(q)
        };
        let digits = scaled.to_decimal();
        let digits = if digits.len() < 18 { format!("{digits:0>18}") } else { digits };
        let (int, frac) = digits.split_at(digits.len() - 17);
        let mut s = String::with_capacity(digits.len() + 2);
        if x.neg {
            s.push('-');
        }
        s.push_str(int);
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
        if s.ends_with('.') {
            s.pop();
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }

    /// A non-negative big integer: little-endian 32-bit limbs, no zero top limb.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Big(Vec<u32>);

    impl Big {
        fn zero() -> Big {
            Big(Vec::new())
        }

        fn from_u128(mut v: u128) -> Big {
            let mut l = Vec::with_capacity(4);
            while v > 0 {
                l.push(v as u32);
                v >>= 32;
            }
            Big(l)
        }

        /// The integer spelled by the digits of `int` then `frac` (already
        /// checked to be digits of `radix`, 10 or 16), and how many
        /// significant digits it has. Digits are fed 7 at a time, so a long
        /// number costs one limb multiply per chunk, not per digit.
        fn from_digits(int: &[u8], frac: &[u8], radix: u32) -> (Big, usize) {
            const CHUNK: u32 = 7;
            let mut n = Big::zero();
            let (mut chunk, mut chunk_len, mut count) = (0u32, 0u32, 0usize);
            for &c in int.iter().chain(frac).skip_while(|&&c| c == b'0') {
                chunk = chunk * radix + (c as char).to_digit(radix).expect("invariant: digits checked");
                chunk_len += 1;
                count += 1;
                if chunk_len == CHUNK {
                    n.mul_small(radix.pow(CHUNK));
                    n.add_small(chunk);
                    (chunk, chunk_len) = (0, 0);
                }
            }
            n.mul_small(radix.pow(chunk_len));
            n.add_small(chunk);
            (n, count)
        }

        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }

        fn is_zero(&self) -> bool {
            self.0.is_empty()
        }

        fn bits(&self) -> u64 {
            self.0.last().map_or(0, |&top| (self.0.len() as u64 - 1) * 32 + (32 - top.leading_zeros()) as u64)
        }

        fn bit(&self, i: u64) -> bool {
            let w = (i / 32) as usize;
            w < self.0.len() && (self.0[w] >> (i % 32)) & 1 == 1
        }

        /// True if any bit below position `i` is set.
        fn any_below(&self, i: u64) -> bool {
            let w = ((i / 32) as usize).min(self.0.len());
            let b = i % 32;
            self.0[..w].iter().any(|&x| x != 0) || (w < self.0.len() && b > 0 && self.0[w] & ((1 << b) - 1) != 0)
        }

        fn to_u128(&self) -> u128 {
            debug_assert!(self.bits() <= 128);
            self.0.iter().take(4).rev().fold(0u128, |acc, &l| (acc << 32) | l as u128)
        }

        fn shl(&self, n: u64) -> Big {
            if self.is_zero() {
                return Big::zero();
            }
            let (words, b) = ((n / 32) as usize, (n % 32) as u32);
            let mut v = vec![0u32; words];
            v.reserve(self.0.len() + 1);
            let mut carry = 0u32;
            for &l in &self.0 {
                v.push(if b == 0 { l } else { (l << b) | carry });
                carry = if b == 0 { 0 } else { l >> (32 - b) };
            }
            v.push(carry);
            let mut r = Big(v);
            r.trim();
            r
        }

        fn shr(&self, n: u64) -> Big {
            let words = n / 32;
            if words >= self.0.len() as u64 {
                return Big::zero();
            }
            let (words, b) = (words as usize, (n % 32) as u32);
            let src = &self.0[words..];
            let mut v = Vec::with_capacity(src.len());
            for (k, &l) in src.iter().enumerate() {
                let hi = src.get(k + 1).copied().unwrap_or(0);
                v.push(if b == 0 { l } else { (l >> b) | (hi << (32 - b)) });
            }
            let mut r = Big(v);
            r.trim();
            r
        }

        fn mul_small(&mut self, m: u32) {
            let mut carry = 0u64;
            for l in &mut self.0 {
                let p = *l as u64 * m as u64 + carry;
                *l = p as u32;
                carry = p >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
            self.trim();
        }

        fn mul_pow10(&mut self, mut k: u64) {
            while k >= 9 {
                self.mul_small(1_000_000_000);
                k -= 9;
            }
            self.mul_small(10u32.pow(k as u32));
        }

        fn add_small(&mut self, a: u32) {
            let mut carry = a as u64;
            for l in &mut self.0 {
                if carry == 0 {
                    return;
                }
                let s = *l as u64 + carry;
                *l = s as u32;
                carry = s >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
        }

        fn add(&self, o: &Big) -> Big {
            let n = self.0.len().max(o.0.len());
            let mut v = Vec::with_capacity(n + 1);
            let mut carry = 0u64;
            for k in 0..n {
                let s = *self.0.get(k).unwrap_or(&0) as u64 + *o.0.get(k).unwrap_or(&0) as u64 + carry;
                v.push(s as u32);
                carry = s >> 32;
            }
            v.push(carry as u32);
            let mut r = Big(v);
            r.trim();
            r
        }

        /// `self -= o`; requires `self >= o`.
        fn sub(&mut self, o: &Big) {
            let mut borrow = 0i64;
            for k in 0..self.0.len() {
                let d = self.0[k] as i64 - *o.0.get(k).unwrap_or(&0) as i64 - borrow;
                self.0[k] = d.rem_euclid(1 << 32) as u32;
                borrow = (d < 0) as i64;
            }
            debug_assert_eq!(borrow, 0);
            self.trim();
        }

        fn cmp(&self, o: &Big) -> Ordering {
            self.0.len().cmp(&o.0.len()).then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
        }

        fn to_decimal(&self) -> String {
            let mut n = self.clone();
            let mut chunks = Vec::new();
            while !n.is_zero() {
                let mut rem = 0u64;
                for l in n.0.iter_mut().rev() {
                    let cur = (rem << 32) | *l as u64;
                    *l = (cur / 1_000_000_000) as u32;
                    rem = cur % 1_000_000_000;
                }
                n.trim();
                chunks.push(rem as u32);
            }
            let mut s = chunks.last().map_or_else(|| "0".to_string(), |c| c.to_string());
            for c in chunks.iter().rev().skip(1) {
                s.push_str(&format!("{c:09}"));
            }
            s
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn add_str(a: &str, b: &str) -> Result<String, AddError> {
            add_decimal(Some(a.as_bytes()), b.as_bytes())
        }

        #[test]
        fn matches_redis_on_x86_64() {
            // Expected values were produced by redis-server 7.0 on x86-64.
            assert_eq!(add_str("0.1", "0.2").unwrap(), "0.3");
            assert_eq!(add_decimal(None, b"10.5").unwrap(), "10.5");
            assert_eq!(add_str("10.5", "0.1").unwrap(), "10.6");
            assert_eq!(add_str("0", "0x10").unwrap(), "16");
            assert_eq!(add_str("0", "1.5e-10").unwrap(), "0.00000000015");
            assert_eq!(add_str("0", "-0.0").unwrap(), "0");
            assert_eq!(add_str("0", "0.000003814697265625").unwrap(), "0.00000381469726562");
            assert_eq!(add_str("0", "1e-4950").unwrap(), "0");
            assert_eq!(add_str("0", "0x1p-16445").unwrap(), "0");
            let big = add_str("1e308", "1e308").unwrap();
            assert!(big.starts_with("199999999999999999993371759311691291321120199694831134415594095989843469737"));
            assert!(big.ends_with("857156096") && big.len() == 309, "{big}");
        }

        #[test]
        fn refusals() {
            for bad in ["", " 1", "1 ", "abc", "nan", "1e", "0x", ".", "1e-5000", "1e5000", "--1", "0x1p"] {
                assert_eq!(add_str("0", bad), Err(AddError::NotFloat), "{bad:?}");
            }
            assert_eq!(add_str("0", "inf"), Err(AddError::NanOrInfinity));
            assert_eq!(add_str("1e4932", "1e4932"), Err(AddError::NanOrInfinity));
            assert_eq!(add_str("", "1"), Err(AddError::NotFloat));
            assert_eq!(add_str("1\0junk", "1"), Err(AddError::NotFloat));
            assert_eq!(add_str("\0", "1"), Err(AddError::NotFloat));
        }

        #[test]
        fn exact_integers_and_signs() {
            assert_eq!(add_str("9007199254740993", "0").unwrap(), "9007199254740993");
            assert_eq!(add_str("-1.5", "1.5").unwrap(), "0");
            assert_eq!(add_str("-1.25", "0").unwrap(), "-1.25");
            assert_eq!(add_str("-1e-30", "0").unwrap(), "0");
            assert_eq!(add_str("0x.8", "+.5").unwrap(), "1");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_clamps_like_redis() {
        let v = b"Hello World";
        assert_eq!(range(v, 0, 3), b"Hell");
        assert_eq!(range(v, -3, -1), b"rld");
        assert_eq!(range(v, 0, -1), v);
        assert_eq!(range(v, 5, 3), b"");
        assert_eq!(range(v, -1, -5), b"");
        assert_eq!(range(v, 0, 1000), v);
        assert_eq!(range(v, i64::MIN, i64::MAX), v);
        assert_eq!(range(b"", 0, -1), b"");
    }

    #[test]
    fn lcs_like_redis() {
        let r = lcs(b"ohmytext", b"mynewtext", LcsWant::String, u64::MAX).unwrap();
        assert_eq!((r.len, r.string.as_slice()), (6, &b"mytext"[..]));
        let r = lcs(b"ohmytext", b"mynewtext", LcsWant::Matches { min_len: 4 }, u64::MAX).unwrap();
        assert_eq!(r.matches, vec![LcsMatch { a: (4, 7), b: (5, 8), len: 4 }]);
        let r = lcs(b"ohmytext", b"mynewtext", LcsWant::Matches { min_len: 0 }, u64::MAX).unwrap();
        assert_eq!(r.matches.len(), 2);
        assert_eq!(r.matches[1], LcsMatch { a: (2, 3), b: (0, 1), len: 2 });
        assert!(lcs(b"abc", b"abc", LcsWant::Len, 10).is_err());
    }
}
