//! SORT / SORT_RO semantics over the store; no RESP (the handler is in
//! `cmd/sort.rs`). Follows Redis 7.0's `sort.c` step for step, because the
//! differential tests compare byte for byte:
//!
//! - the elements of a list, set or sorted set are loaded into a vector; a
//!   `BY` pattern without `*` means "don't sort" (lists and sorted sets keep
//!   their own order, reversed by DESC; a set being STOREd is sorted ALPHA
//!   instead, so the stored result is deterministic);
//! - numeric sorting parses each weight like C's `strtod` (the whole string,
//!   no overflow, no NaN; an empty or missing weight is 0) and breaks ties by
//!   comparing the elements bytewise; ALPHA compares bytes (the C locale's
//!   `strcoll`), and with BY a missing weight sorts first and ties keep the
//!   load order (glibc's qsort is a stable merge sort);
//! - `LIMIT` is normalized as Redis does, then `GET` patterns are resolved per
//!   output element (`#` = the element, `key*->field` = a hash field).
//!
//! SORT reads the whole collection, like Redis (O(N + M log M)); the
//! "don't sort" path on a list or sorted set reads only the LIMIT range.

use super::members::Members;
use super::{list, zset};
use crate::error::CmdError;
use crate::storage::{Meta, Tx, Type};
use crate::util::strtod;
use std::cmp::Ordering;

/// `ERR One or more scores can't be converted into double`.
pub const NOT_DOUBLE: CmdError = CmdError::Err("One or more scores can't be converted into double");

/// What to sort and how: the parsed options of one SORT.
#[derive(Debug, Clone, Default)]
pub struct Spec<'a> {
    /// `BY pattern` (the last one given).
    pub by: Option<&'a [u8]>,
    /// `LIMIT offset count` (Redis's defaults: 0, -1 = all).
    pub limit: (i64, i64),
    /// `GET pattern`s, in order.
    pub gets: Vec<&'a [u8]>,
    /// DESC.
    pub desc: bool,
    /// ALPHA.
    pub alpha: bool,
    /// STORE is given (changes the set and collation rules, as in Redis).
    pub store: bool,
}

/// One element being sorted, with its weight.
struct Item {
    elem: Vec<u8>,
    score: f64,
    /// The BY value for ALPHA with BY (None = missing key).
    cmp: Option<Vec<u8>>,
}

/// Runs the sort of `key` per `spec`: the output values in order, one per
/// element without GET, else one per GET pattern per element (None = nil;
/// STORE writes those as empty strings).
pub fn sort(tx: &mut Tx, key: &[u8], spec: &Spec) -> Result<Vec<Option<Vec<u8>>>, CmdError> {
    let meta = tx.meta(key)?;
    let ty = match &meta {
        None => return Ok(Vec::new()),
        Some(m) if matches!(m.ty(), Type::List | Type::Set | Type::ZSet) => m.ty(),
        Some(_) => return Err(CmdError::WrongType),
    };
    let meta = meta.expect("invariant: checked above");
    let mut dontsort = spec.by.is_some_and(|p| !p.contains(&b'*'));
    let mut alpha = spec.alpha;
    let mut by = spec.by;
    if dontsort && ty == Type::Set && spec.store {
        // Redis forces a deterministic order for what it writes.
        (dontsort, alpha, by) = (false, true, None);
    }
    let Some((start, end)) = window(meta.len() as i64, spec.limit) else {
        return Ok(Vec::new());
    };

    let (mut items, start, end) = if dontsort && ty != Type::Set {
        // Native order: read only the window.
        (load_window(tx, key, &meta, ty, spec.desc, start, end)?, 0, end - start)
    } else {
        (load_all(tx, key, &meta, ty)?, start, end)
    };

    if !dontsort {
        let mut bad = false;
        for it in items.iter_mut() {
            let weight = match by {
                Some(p) => match lookup_pattern(tx, p, &it.elem)? {
                    Some(w) => w,
                    None => continue,
                },
                None => {
                    if !alpha {
                        it.score = parse_weight(&it.elem).unwrap_or_else(|| {
                            bad = true;
                            0.0
                        });
                    }
                    continue;
                }
            };
            if alpha {
                it.cmp = Some(weight);
            } else {
                it.score = parse_weight(&weight).unwrap_or_else(|| {
                    bad = true;
                    0.0
                });
            }
        }
        if bad {
            return Err(NOT_DOUBLE);
        }
        let cmp = |a: &Item, b: &Item| {
            let o = compare(a, b, alpha, by.is_some());
            if spec.desc {
                o.reverse()
            } else {
                o
            }
        };
        items.sort_by(cmp);
    }

    let items = &items[start as usize..=end as usize];
    let mut out = Vec::with_capacity(items.len() * spec.gets.len().max(1));
    for it in items {
        if spec.gets.is_empty() {
            out.push(Some(it.elem.clone()));
        }
        for g in &spec.gets {
            out.push(lookup_pattern(tx, g, &it.elem)?);
        }
    }
    Ok(out)
}

/// Redis's LIMIT normalization over `len` elements: the inclusive window of
/// sorted positions to output, or None if it is empty.
fn window(len: i64, (offset, count): (i64, i64)) -> Option<(i64, i64)> {
    let start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let end = if count < 0 { len - 1 } else { start + count - 1 };
    let end = end.min(len - 1);
    (start < len && end >= start).then_some((start, end))
}

/// `sortCompare`: numeric by score then bytes; ALPHA by the element, or by
/// the BY value with missing values first.
fn compare(a: &Item, b: &Item, alpha: bool, by: bool) -> Ordering {
    if !alpha {
        return a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal).then_with(|| a.elem.cmp(&b.elem));
    }
    if by {
        return a.cmp.cmp(&b.cmp);
    }
    a.elem.cmp(&b.elem)
}

/// A weight as SORT reads it: C `strtod` over the whole string (leading
/// blanks allowed, trailing ones not), refusing NaN and out-of-range values
/// (ERANGE: overflow to infinity, or underflow of a non-zero number).
fn parse_weight(s: &[u8]) -> Option<f64> {
    let s = &s[s.iter().position(|c| !b" \t\n\x0b\x0c\r".contains(c)).unwrap_or(s.len())..];
    if s.is_empty() {
        return Some(0.0);
    }
    let v = strtod(s)?;
    let lower = s.to_ascii_lowercase();
    let literal_inf = lower.windows(3).any(|w| w == b"inf");
    let mantissa = lower.split(|&c| c == b'e' || c == b'p').next().unwrap_or(&[]);
    let nonzero = mantissa.iter().any(|c| (b'1'..=b'9').contains(c));
    let underflow = (v == 0.0 && nonzero && !lower.starts_with(b"0x")) || v.is_subnormal();
    if v.is_nan() || (v.is_infinite() && !literal_inf) || underflow {
        return None;
    }
    Some(v)
}

fn item(elem: Vec<u8>) -> Item {
    Item { elem, score: 0.0, cmp: None }
}

/// Every element, in the collection's own order.
fn load_all(tx: &mut Tx, key: &[u8], meta: &Meta, ty: Type) -> Result<Vec<Item>, CmdError> {
    let len = meta.len();
    match ty {
        Type::List | Type::ZSet => load_window(tx, key, meta, ty, false, 0, len as i64 - 1),
        _ => {
            let all = Members::new(tx.store(), tx.db, key, meta).all()?;
            Ok(all.into_iter().map(|(m, _)| item(m)).collect())
        }
    }
}

/// The elements at positions `start..=end` of a list or sorted set in its own
/// order, counted from the tail / highest score when `desc`.
fn load_window(
    tx: &mut Tx,
    key: &[u8],
    meta: &Meta,
    ty: Type,
    desc: bool,
    start: i64,
    end: i64,
) -> Result<Vec<Item>, CmdError> {
    let (start, end) = (start as u64, end as u64);
    if ty == Type::ZSet {
        let dir = if desc { zset::Dir::Reverse } else { zset::Dir::Forward };
        let v = zset::range_by_rank(tx, key, meta, start, end, dir)?;
        return Ok(v.into_iter().map(|(m, _)| item(m)).collect());
    }
    let l = list::get(tx, key)?.expect("invariant: the key holds a list");
    let n = l.len();
    let (first, last) = if desc { (n - 1 - end, n - 1 - start) } else { (start, end) };
    let mut v = Vec::with_capacity((last - first + 1).min(1 << 16) as usize);
    list::range(tx, key, &l, first, last, |e| v.push(item(e.to_vec())))?;
    if desc {
        v.reverse();
    }
    Ok(v)
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the
/// first `*` is replaced by the element and the key read as a string, or, for
/// `key*->field` (a non-empty field after the `*`), as a hash field. A
/// pattern without `*`, a missing key or one of another type gives None.
pub fn lookup_pattern(tx: &mut Tx, pattern: &[u8], elem: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    if pattern == b"#" {
        return Ok(Some(elem.to_vec()));
    }
    let Some(star) = pattern.iter().position(|&c| c == b'*') else {
        return Ok(None);
    };
    let rest = &pattern[star + 1..];
    let (post, field) = match rest.windows(2).position(|w| w == b"->") {
        Some(i) if i + 2 < rest.len() => (&rest[..i], Some(&rest[i + 2..])),
        _ => (rest, None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + post.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    let Some(m) = tx.meta(&key)? else {
        return Ok(None);
    };
    match (field, m.ty()) {
        (None, Type::String) => Ok(Some(m.value().to_vec())),
        (Some(f), Type::Hash) => Members::new(tx.store(), tx.db, &key, &m).get(f),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_like_strtod() {
        assert_eq!(parse_weight(b""), Some(0.0));
        assert_eq!(parse_weight(b"  1.5"), Some(1.5));
        assert_eq!(parse_weight(b"1.5 "), None);
        assert_eq!(parse_weight(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_weight(b"nan"), None);
        assert_eq!(parse_weight(b"1e400"), None);
        assert_eq!(parse_weight(b"1e-400"), None);
        assert_eq!(parse_weight(b"0e-400"), Some(0.0));
        assert_eq!(parse_weight(b"0x10"), Some(16.0));
        assert_eq!(parse_weight(b"abc"), None);
    }

    #[test]
    fn limit_window_matches_redis() {
        assert_eq!(window(5, (0, -1)), Some((0, 4)));
        assert_eq!(window(5, (-3, 2)), Some((0, 1)));
        assert_eq!(window(5, (3, 100)), Some((3, 4)));
        assert_eq!(window(5, (5, 1)), None);
        assert_eq!(window(5, (1, 0)), None);
        assert_eq!(window(5, (1, -7)), Some((1, 4)));
        assert_eq!(window(0, (0, -1)), None);
        assert_eq!(window(5, (i64::MAX, i64::MAX)), None);
    }
}
