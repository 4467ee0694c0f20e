//! Small shared helpers with Redis-exact semantics: number parsing and
//! printing, glob matching. Used by several command families.

/// Parses an integer exactly like Redis's `string2ll`: optional `-`, digits,
/// no `+`, no spaces, no leading zeros, within i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a float like Redis's `getDoubleFromObject`/`strtold` checks: no
/// leading space, the whole string consumed, NaN rejected; `inf`, `+inf`,
/// `-inf`, `infinity` accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let v = strtod(s)?;
    let lower = String::from_utf8_lossy(s).to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("0x") {
        return Some(v);
    }
    // strtod's ERANGE: overflow to inf and underflow to zero are errors for
    // Redis's getDoubleFromObject; a literal "inf" is not.
    let mantissa = body.split('e').next().unwrap_or("");
    if (v.is_infinite() && !body.starts_with("inf"))
        || (v == 0.0 && mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c)))
    {
        return None;
    }
    Some(v)
}

/// A plain `strtod` over the whole argument (NaN rejected, overflow gives
/// ±inf): what Redis uses where it does not check ERANGE (score ranges).
pub fn strtod(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() || s[s.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if body.starts_with("nan") || lower.len() - body.len() > 1 {
        return None;
    }
    if body.starts_with("0x") {
        return parse_hex_float(&lower);
    }
    // Rust accepts forms strtod rejects ("1_0" no, but "infinity" yes): check chars first.
    if !lower.bytes().all(|c| c.is_ascii_digit() || b"+-.eEinfty".contains(&c)) {
        return None;
    }
    lower.parse::<f64>().ok()
}

/// strtod accepts hex floats (`0x10`, `0x1.8p3`); Redis inherits that.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let hex = body.strip_prefix("0x")?;
    let (mant, exp) = match hex.split_once('p') {
        Some((m, e)) => (m, parse_i64(e.strip_prefix('+').unwrap_or(e).as_bytes()).or_else(|| e.parse().ok())?),
        None => (hex, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp.clamp(-2000, 2000) as i32);
    Some(if neg { -v } else { v })
}

/// Formats a double the way Redis 7.0 replies it (`%.17g`, `inf`, `-inf`,
/// `nan`) into `buf`, returning the used slice.
pub fn fmt_double(d: f64, buf: &mut [u8; 40]) -> &[u8] {
    let s: String = if d.is_infinite() {
        if d > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if d.is_nan() {
        "nan".into()
    } else {
        fmt_g(d, 17)
    };
    let n = s.len().min(40);
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    &buf[..n]
}

/// C's `%.<prec>g` for a finite double.
pub fn fmt_g(d: f64, prec: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let e = format!("{:.*e}", prec - 1, d);
    let (mant, exp) = e.split_once('e').expect("invariant: {:e} has an exponent");
    let exp: i32 = exp.parse().expect("invariant: exponent is an integer");
    if exp < -4 || exp >= prec as i32 {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Formats an INCRBYFLOAT / HINCRBYFLOAT result: Redis prints a long double with
/// `%.17Lf` and strips trailing zeros, which for f64 values equals the shortest
/// round-trip decimal in plain (non-exponent) notation.
pub fn fmt_float_human(d: f64) -> String {
    let s = format!("{d}");
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Glob-style match with Redis's `stringmatchlen` rules: `*`, `?`, `[abc]`,
/// `[^a-z]`, `\x` escapes; optionally case-insensitive.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    // Redis's matcher never enters its loop for an empty string, so only an
    // empty pattern matches it (callers special-case a lone `*` as "all").
    if s.is_empty() {
        return pattern.is_empty();
    }
    glob_rec(pattern, s, nocase, 0)
}

fn glob_rec(mut p: &[u8], mut s: &[u8], nocase: bool, depth: u32) -> bool {
    if depth > 1000 {
        return false;
    }
    let eq = |a: u8, b: u8| if nocase { a.eq_ignore_ascii_case(&b) } else { a == b };
    while !p.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if glob_rec(&p[1..], &s[i..], nocase, depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                if s.is_empty() {
                    return false;
                }
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if eq(p[0], s[0]) {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut lo, mut hi) = (p[0], p[2]);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        p = &p[2..];
                        let c = s[0];
                        let in_range = |c: u8| c >= lo && c <= hi;
                        if in_range(c)
                            || (nocase && (in_range(c.to_ascii_lowercase()) || in_range(c.to_ascii_uppercase())))
                        {
                            matched = true;
                        }
                    } else if eq(p[0], s[0]) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // Unterminated class: Redis treats the end of pattern as end of class.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if s.is_empty() || !eq(p[0], s[0]) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if s.is_empty() || !eq(c, s[0]) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            return p.iter().all(|&c| c == b'*');
        }
    }
    s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_like_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"+1", b"01", b" 1", b"1 ", b"-0", b"9223372036854775808", b"1a", b"-"] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn floats_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"0x1p3"), Some(8.0));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(parse_f64(b"1e-310").map(|v| v > 0.0), Some(true));
        for bad in [&b""[..], b"nan", b" 1", b"1 ", b"abc", b"1.5.5", b"1e400", b"1e-400", b"--1"] {
            assert_eq!(parse_f64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn doubles_like_percent_17g() {
        let f = |d: f64| fmt_g(d, 17);
        assert_eq!(f(1.0), "1");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(0.1), "0.10000000000000001");
        assert_eq!(f(1e20), "1e+20");
        assert_eq!(f(123456.0), "123456");
        assert_eq!(f(1e-5), "1.0000000000000001e-05");
        assert_eq!(f(-2.5), "-2.5");
        assert_eq!(fmt_float_human(10.5 + 0.1), "10.6");
        assert_eq!(fmt_float_human(3.0), "3");
    }

    #[test]
    fn glob_like_redis() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"h\\*llo", b"hallo", false));
        assert!(glob_match(b"HE*", b"hello", true));
        assert!(!glob_match(b"a*b", b"acd", false));
        assert!(glob_match(b"a*b*", b"ab", false));
        assert!(!glob_match(b"", b"a", false));
        assert!(glob_match(b"", b"", false));
        assert!(!glob_match(b"*", b"", false));
    }
}
