//! Generic key commands: DEL, EXISTS, TYPE, KEYS/SCAN, RENAME/COPY/MOVE, the EXPIRE/TTL family, OBJECT.
//!
//! Handlers parse arguments (in Redis's order, so the first error reported is
//! Redis's) and write replies; the semantics live in `types::keys`.

use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::types::keys::{self, ExpireIf, Expiry, Filter, Overwrite, Relocated};

/// Time unit of an EXPIRE/TTL variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

/// What an EXPIRE variant's time is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    /// EXPIRE / PEXPIRE: a duration from now.
    Now,
    /// EXPIREAT / PEXPIREAT: a Unix time.
    Epoch,
}

/// What a TTL variant reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    /// TTL / PTTL: time left.
    Remaining,
    /// EXPIRETIME / PEXPIRETIME: the absolute Unix time.
    Absolute,
}

/// Whether a command counts keys that exist (EXISTS, TOUCH) or deletes them (DEL, UNLINK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Count,
    Delete,
}

/// DEL key [key ...] — also UNLINK key [key ...] (deletion is O(1) per key for
/// every type here, so UNLINK has nothing to defer).
/// O(N) in the number of keys.
pub fn del(c: &mut Ctx, a: &Args) -> CmdResult {
    for_each_key(c, a, Action::Delete)
}

/// EXISTS key [key ...] — a key named twice counts twice.
/// O(N) in the number of keys.
pub fn exists(c: &mut Ctx, a: &Args) -> CmdResult {
    for_each_key(c, a, Action::Count)
}

/// TOUCH key [key ...] — access times are not tracked, so this only counts.
/// O(N) in the number of keys.
pub fn touch(c: &mut Ctx, a: &Args) -> CmdResult {
    for_each_key(c, a, Action::Count)
}

fn for_each_key(c: &mut Ctx, a: &Args, action: Action) -> CmdResult {
    let mut n = 0;
    for key in a.iter_from(1) {
        let hit = match action {
            Action::Count => keys::exists(&mut c.tx, key)?,
            Action::Delete => keys::delete(&mut c.tx, key)?,
        };
        n += hit as i64;
    }
    c.out.int(n);
    Ok(())
}

/// TYPE key
/// O(1).
pub fn type_(c: &mut Ctx, a: &Args) -> CmdResult {
    let ty = keys::key_type(&mut c.tx, a.get(1))?;
    c.out.simple(ty.map_or("none", |t| t.name()));
    Ok(())
}

/// KEYS pattern
/// O(N) in the keys sharing the pattern's literal prefix.
pub fn keys(c: &mut Ctx, a: &Args) -> CmdResult {
    let filter = Filter { pattern: Some(a.get(1)).filter(|p| *p != b"*"), type_name: None };
    let found = keys::keys(c.tx.store(), c.tx.db, c.tx.expire_ms, filter)?;
    c.out.array(found.len());
    for k in &found {
        c.out.bulk(k);
    }
    Ok(())
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
/// O(COUNT) per call. Cursors are numbers standing for the last key returned
/// (`ServerState::scan_cursors`); an unknown cursor starts over, which SCAN's
/// guarantees allow.
pub fn scan(c: &mut Ctx, a: &Args) -> CmdResult {
    let cursor = parse_cursor(a.get(1)).ok_or(CmdError::Err("invalid cursor"))?;
    let opts = parse_scan_opts(a, 2, TypeOption::Allowed)?;
    let filter = Filter { pattern: opts.pattern, type_name: opts.type_name };
    let count = opts.count;
    let after = resume_point(c, cursor);
    let page = keys::scan(c.tx.store(), c.tx.db, c.tx.expire_ms, after.as_deref(), count, filter)?;
    let next = page.resume_after.map_or(0, |k| c.state.scan_cursors.store(k));
    c.out.array(2);
    let mut digits = itoa::Buffer::new();
    c.out.bulk(digits.format(next).as_bytes());
    c.out.array(page.keys.len());
    for k in &page.keys {
        c.out.bulk(k);
    }
    Ok(())
}

/// The options shared by SCAN and HSCAN/SSCAN/ZSCAN.
pub struct ScanOpts<'a> {
    /// COUNT (default 10).
    pub count: usize,
    /// MATCH pattern; None for no pattern or a lone `*` (matches everything).
    pub pattern: Option<&'a [u8]>,
    /// TYPE filter (SCAN only).
    pub type_name: Option<&'a [u8]>,
}

/// Whether a scan command takes the TYPE option.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TypeOption {
    /// SCAN.
    Allowed,
    /// HSCAN, SSCAN, ZSCAN.
    Refused,
}

/// Parses `[MATCH pattern] [COUNT count] [TYPE type]` from argument `from`.
pub fn parse_scan_opts<'a>(a: &Args<'a>, from: usize, types: TypeOption) -> Result<ScanOpts<'a>, CmdError> {
    let mut opts = ScanOpts { count: 10, pattern: None, type_name: None };
    let mut i = from;
    while i < a.len() {
        let has_value = i + 1 < a.len();
        if a.is(i, "COUNT") && has_value {
            let n = a.i64(i + 1)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if a.is(i, "MATCH") && has_value {
            // "*" matches everything: no need to match it element by element.
            opts.pattern = Some(a.get(i + 1)).filter(|p| *p != b"*");
        } else if a.is(i, "TYPE") && has_value && types == TypeOption::Allowed {
            opts.type_name = Some(a.get(i + 1));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

/// Where a scan resumes for `cursor` (0 or an unknown cursor: the start).
pub fn resume_point(c: &Ctx, cursor: u64) -> Option<Vec<u8>> {
    match cursor {
        0 => None,
        n => c.state.scan_cursors.get(n).map(<[u8]>::to_vec),
    }
}

/// A SCAN cursor with C `strtoul` rules, as Redis parses it: an optional sign
/// (a negative value wraps), digits, nothing else; the empty string is 0.
pub fn parse_cursor(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))?;
    Some(if neg { n.wrapping_neg() } else { n })
}

/// RANDOMKEY
/// O(1) in the number of keys: a few seeks and a small sample.
pub fn randomkey(c: &mut Ctx, _a: &Args) -> CmdResult {
    match keys::random_key(c.tx.store(), c.tx.db, c.tx.expire_ms)? {
        Some(k) => c.out.bulk(&k),
        None => c.out.null(),
    }
    Ok(())
}

/// RENAME key newkey
/// O(1) for strings.
pub fn rename(c: &mut Ctx, a: &Args) -> CmdResult {
    rename_generic(c, a, Overwrite::Replace)
}

/// RENAMENX key newkey
/// O(1) for strings.
pub fn renamenx(c: &mut Ctx, a: &Args) -> CmdResult {
    rename_generic(c, a, Overwrite::Keep)
}

fn rename_generic(c: &mut Ctx, a: &Args, ow: Overwrite) -> CmdResult {
    match (keys::rename(&mut c.tx, a.get(1), a.get(2), ow)?, ow) {
        (Relocated::NoSource, _) => return Err(CmdError::NoSuchKey),
        (Relocated::Done, Overwrite::Replace) => c.out.ok(),
        (Relocated::Done, Overwrite::Keep) => c.out.int(1),
        (Relocated::DestinationExists, _) => c.out.int(0),
    }
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]
/// O(1) for strings.
pub fn copy(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut ow = Overwrite::Keep;
    let mut dst_db = c.tx.db;
    let mut i = 3;
    while i < a.len() {
        if a.is(i, "REPLACE") {
            ow = Overwrite::Replace;
        } else if a.is(i, "DB") && i + 1 < a.len() {
            dst_db = db_index(c, a, i + 1)?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let (src, dst) = (a.get(1), a.get(2));
    if dst_db == c.tx.db && src == dst {
        return Err(CmdError::Err("source and destination objects are the same"));
    }
    let done = keys::copy(&mut c.tx, src, dst_db, dst, ow)?;
    c.out.int((done == Relocated::Done) as i64);
    Ok(())
}

/// MOVE key db
/// O(1) for strings.
pub fn move_(c: &mut Ctx, a: &Args) -> CmdResult {
    let dst_db = db_index(c, a, 2)?;
    if dst_db == c.tx.db {
        return Err(CmdError::Err("source and destination objects are the same"));
    }
    let done = keys::move_to(&mut c.tx, a.get(1), dst_db)?;
    c.out.int((done == Relocated::Done) as i64);
    Ok(())
}

/// Argument `i` as a database index, with Redis's errors: an integer that
/// fits a C int, then an existing database.
fn db_index(c: &Ctx, a: &Args, i: usize) -> Result<u8, CmdError> {
    let n = a.i64(i)?;
    if i32::try_from(n).is_err() {
        return Err(CmdError::Raw(format!(
            "ERR value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        )));
    }
    match u8::try_from(n) {
        Ok(db) if usize::from(db) < c.tx.store().databases() => Ok(db),
        _ => Err(CmdError::Err("DB index is out of range")),
    }
}

/// EXPIRE key seconds [NX|XX|GT|LT]
/// O(1).
pub fn expire(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Base::Now, Unit::Seconds)
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]
/// O(1).
pub fn pexpire(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Base::Now, Unit::Millis)
}

/// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
/// O(1).
pub fn expireat(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Base::Epoch, Unit::Seconds)
}

/// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
/// O(1).
pub fn pexpireat(c: &mut Ctx, a: &Args) -> CmdResult {
    expire_generic(c, a, Base::Epoch, Unit::Millis)
}

fn expire_generic(c: &mut Ctx, a: &Args, base: Base, unit: Unit) -> CmdResult {
    let cond = parse_expire_options(a, 3)?;
    let when = a.i64(2)?;
    let base_ms = match base {
        Base::Now => c.tx.now_ms as i64,
        Base::Epoch => 0,
    };
    let at_ms = absolute_ms(when, base_ms, unit)
        .ok_or_else(|| CmdError::Raw(format!("ERR invalid expire time in '{}' command", c.spec.name)))?;
    let applied = keys::set_expire(&mut c.tx, a.get(1), at_ms, cond)?;
    c.out.int(applied as i64);
    Ok(())
}

/// `when` in `unit` after `base_ms`, in ms; None on overflow (Redis checks
/// the unit conversion and the addition, and allows negative results).
fn absolute_ms(when: i64, base_ms: i64, unit: Unit) -> Option<i64> {
    let ms = match unit {
        Unit::Seconds => when.checked_mul(1000)?,
        Unit::Millis => when,
    };
    if ms > i64::MAX - base_ms {
        return None;
    }
    Some(ms + base_ms)
}

/// EXPIRE's NX / XX / GT / LT options from index `from`, with Redis's checks.
fn parse_expire_options(a: &Args, from: usize) -> Result<ExpireIf, CmdError> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in a.iter_from(from) {
        match opt.to_ascii_uppercase().as_slice() {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GT" => gt = true,
            b"LT" => lt = true,
            _ => return Err(CmdError::Raw(format!("ERR Unsupported option {}", String::from_utf8_lossy(opt)))),
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::Err("NX and XX, GT or LT options at the same time are not compatible"));
    }
    if gt && lt {
        return Err(CmdError::Err("GT and LT options at the same time are not compatible"));
    }
    Ok(match (nx, xx, gt, lt) {
        (true, ..) => ExpireIf::NoExpiry,
        (_, _, true, _) => ExpireIf::Later,
        (_, true, _, true) => ExpireIf::EarlierWithExpiry,
        (_, false, _, true) => ExpireIf::Earlier,
        (_, true, ..) => ExpireIf::HasExpiry,
        _ => ExpireIf::Always,
    })
}

/// TTL key
/// O(1).
pub fn ttl(c: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(c, a, Report::Remaining, Unit::Seconds)
}

/// PTTL key
/// O(1).
pub fn pttl(c: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(c, a, Report::Remaining, Unit::Millis)
}

/// EXPIRETIME key
/// O(1).
pub fn expiretime(c: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(c, a, Report::Absolute, Unit::Seconds)
}

/// PEXPIRETIME key
/// O(1).
pub fn pexpiretime(c: &mut Ctx, a: &Args) -> CmdResult {
    ttl_generic(c, a, Report::Absolute, Unit::Millis)
}

fn ttl_generic(c: &mut Ctx, a: &Args, report: Report, unit: Unit) -> CmdResult {
    let n = match keys::expiry(&mut c.tx, a.get(1))? {
        Expiry::Missing => -2,
        Expiry::Never => -1,
        Expiry::At(at) => {
            let at = i64::try_from(at).unwrap_or(i64::MAX);
            let ms = match report {
                Report::Remaining => (at - c.tx.now_ms as i64).max(0),
                Report::Absolute => at,
            };
            match unit {
                Unit::Millis => ms,
                // Redis rounds to the nearest second, for EXPIRETIME too.
                Unit::Seconds => ms / 1000 + i64::from(ms % 1000 >= 500),
            }
        }
    };
    c.out.int(n);
    Ok(())
}

/// PERSIST key
/// O(1).
pub fn persist(c: &mut Ctx, a: &Args) -> CmdResult {
    let removed = keys::persist(&mut c.tx, a.get(1))?;
    c.out.int(removed as i64);
    Ok(())
}

/// OBJECT ENCODING key
/// O(1).
pub fn object_encoding(c: &mut Ctx, a: &Args) -> CmdResult {
    match c.tx.meta(a.get(2))? {
        Some(m) => {
            let enc = keys::encoding(c.tx.store(), c.tx.db, a.get(2), &m)?;
            c.out.bulk(enc.as_bytes())
        }
        None => c.out.null(),
    }
    Ok(())
}

/// OBJECT FREQ key
/// O(1). Access frequency is tracked only under an LFU maxmemory policy,
/// which DiskDB does not have, so an existing key gets Redis's error.
pub fn object_freq(c: &mut Ctx, a: &Args) -> CmdResult {
    if c.tx.meta(a.get(2))?.is_none() {
        c.out.null();
        return Ok(());
    }
    Err(CmdError::Err(
        "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching \
         between policies at runtime LRU and LFU data will take some time to adjust.",
    ))
}

/// OBJECT IDLETIME key
/// O(1). Access times are not tracked: always 0.
pub fn object_idletime(c: &mut Ctx, a: &Args) -> CmdResult {
    match c.tx.meta(a.get(2))? {
        Some(_) => c.out.int(0),
        None => c.out.null(),
    }
    Ok(())
}

/// OBJECT REFCOUNT key
/// O(1).
pub fn object_refcount(c: &mut Ctx, a: &Args) -> CmdResult {
    match c.tx.meta(a.get(2))? {
        Some(m) => c.out.int(keys::refcount(&m)),
        None => c.out.null(),
    }
    Ok(())
}

/// Redis's OBJECT HELP text, line by line.
const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// OBJECT HELP
/// O(1).
pub fn object_help(c: &mut Ctx, _a: &Args) -> CmdResult {
    c.out.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        c.out.simple(line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parses_like_strtoul() {
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        for bad in [&b"abc"[..], b" 1", b"1 ", b"-", b"+", b"1x"] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn expire_overflow_matches_redis() {
        assert_eq!(absolute_ms(i64::MAX / 1000, 0, Unit::Seconds), Some(i64::MAX / 1000 * 1000));
        assert_eq!(absolute_ms(i64::MAX / 1000 + 1, 0, Unit::Seconds), None);
        assert_eq!(absolute_ms(i64::MIN / 1000, 5, Unit::Seconds), Some(i64::MIN / 1000 * 1000 + 5));
        assert_eq!(absolute_ms(i64::MIN / 1000 - 1, 0, Unit::Seconds), None);
        assert_eq!(absolute_ms(i64::MAX, 1, Unit::Millis), None);
        assert_eq!(absolute_ms(i64::MAX, 0, Unit::Millis), Some(i64::MAX));
    }
}
