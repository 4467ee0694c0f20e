//! Generic key operations over the store, for any type: existence, deletion,
//! relocation (RENAME / COPY / MOVE), expiry, listing (KEYS / SCAN),
//! random sampling and the encoding names OBJECT reports.
//!
//! Invariants:
//! - Every point lookup goes through `Tx::meta*`, so an expired key is seen as
//!   absent (and deleted with the command, lazy expiry).
//! - Listing reads committed records with `Store::scan_meta` and skips expired
//!   ones without deleting them: the active expiry cycle reclaims them, and a
//!   read-only listing need not turn into a write.
//! - An expiry is never stored in the past: setting one deletes the key instead
//!   (the active cycle relies on this, see `types/expire.rs`).

use crate::error::CmdError;
use crate::storage::keys::{self as layout, Cf};
use crate::storage::{Meta, Store, Tx, Type};
use crate::util::{glob_match, parse_i64};

/// What to do when the destination of a RENAME already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it (RENAME, COPY ... REPLACE).
    Replace,
    /// Leave it and report failure (RENAMENX, plain COPY, MOVE).
    Keep,
}

/// Outcome of RENAME / RENAMENX / COPY / MOVE on an existing source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relocated {
    /// The value is now at the destination.
    Done,
    /// The destination exists and was kept.
    DestinationExists,
    /// The source does not exist (COPY and MOVE report 0; RENAME errors).
    NoSource,
}

/// The condition of EXPIRE's NX / XX / GT / LT options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireIf {
    /// No option: always set.
    Always,
    /// NX: only if the key has no expiry.
    NoExpiry,
    /// XX: only if the key has an expiry.
    HasExpiry,
    /// GT: only if the new expiry is later (no expiry counts as infinite).
    Later,
    /// LT: only if the new expiry is earlier (no expiry counts as infinite).
    Earlier,
    /// XX LT: only if the key has an expiry and the new one is earlier.
    /// (XX GT needs no variant of its own: GT already fails without an expiry.)
    EarlierWithExpiry,
}

/// Expiry state of a key, as TTL and EXPIRETIME report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No such key (-2).
    Missing,
    /// The key never expires (-1).
    Never,
    /// Absolute Unix time in milliseconds.
    At(u64),
}

/// True if `key` exists (expired keys do not).
pub fn exists(tx: &mut Tx, key: &[u8]) -> Result<bool, CmdError> {
    Ok(tx.meta(key)?.is_some())
}

/// Deletes `key`; true if it existed. O(1) for any type: sub-keys are left to
/// the compaction filter.
pub fn delete(tx: &mut Tx, key: &[u8]) -> Result<bool, CmdError> {
    if tx.meta(key)?.is_none() {
        return Ok(false);
    }
    tx.del_meta(key)?;
    Ok(true)
}

/// The type of `key`, or None if it does not exist.
pub fn key_type(tx: &mut Tx, key: &[u8]) -> Result<Option<Type>, CmdError> {
    Ok(tx.meta(key)?.map(|m| m.ty()))
}

/// Whether the source survives a relocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relocation {
    /// COPY: the source stays.
    Copy,
    /// RENAME, MOVE: the source is deleted by the caller afterwards.
    Move,
}

/// The record to store at (`dst_db`, `dst_key`) for the value `meta` of
/// (`tx.db`, `src_key`). Strings live inline in `meta`, so the record itself
/// is the copy, expiry included.
// A collection's sub-keys embed the user key, so relocating one rewrites its
// members under the destination key with a fresh version (O(N), like Kvrocks;
// Redis's RENAME is O(1)). The source's old sub-keys are left to the GC
// filter once its meta record is deleted or replaced.
fn relocated_record(
    tx: &mut Tx,
    meta: &Meta,
    src_key: &[u8],
    dst_db: u8,
    dst_key: &[u8],
    _how: Relocation,
) -> Result<Meta, CmdError> {
    if meta.ty() == Type::String {
        return Ok(meta.clone());
    }
    let version = tx.new_version()?;
    let src_prefix = layout::data_prefix(tx.db, src_key, meta.version());
    let dst_prefix = layout::data_prefix(dst_db, dst_key, version);
    for cf in [Cf::Data, Cf::Zscore] {
        let mut copied = Vec::new();
        tx.store().iter_prefix(cf, &src_prefix, None, false, |k, v| {
            let mut nk = dst_prefix.clone();
            nk.extend_from_slice(&k[src_prefix.len()..]);
            copied.push((nk, v.to_vec()));
            true
        })?;
        for (k, v) in copied {
            tx.put(cf, k, v);
        }
    }
    Ok(Meta::collection(meta.ty(), version, meta.len(), meta.expire_ms(), meta.extra()))
}

/// RENAME / RENAMENX: moves `src` to `dst` in the current db, expiry included.
/// Renaming a key to itself changes nothing but still requires the key.
pub fn rename(tx: &mut Tx, src: &[u8], dst: &[u8], ow: Overwrite) -> Result<Relocated, CmdError> {
    let Some(meta) = tx.meta(src)? else {
        return Ok(Relocated::NoSource);
    };
    if src == dst {
        return Ok(match ow {
            Overwrite::Replace => Relocated::Done,
            Overwrite::Keep => Relocated::DestinationExists,
        });
    }
    if ow == Overwrite::Keep && tx.meta(dst)?.is_some() {
        return Ok(Relocated::DestinationExists);
    }
    let moved = relocated_record(tx, &meta, src, tx.db, dst, Relocation::Move)?;
    tx.put_meta(dst, moved)?;
    tx.del_meta(src)?;
    Ok(Relocated::Done)
}

/// COPY: copies `src` (current db) to `dst` in `dst_db`, expiry included. The
/// caller has rejected copying a key onto itself.
pub fn copy(tx: &mut Tx, src: &[u8], dst_db: u8, dst: &[u8], ow: Overwrite) -> Result<Relocated, CmdError> {
    let Some(meta) = tx.meta(src)? else {
        return Ok(Relocated::NoSource);
    };
    if ow == Overwrite::Keep && tx.meta_in(dst_db, dst)?.is_some() {
        return Ok(Relocated::DestinationExists);
    }
    let copied = relocated_record(tx, &meta, src, dst_db, dst, Relocation::Copy)?;
    tx.set_meta_in(dst_db, dst, Some(copied))?;
    Ok(Relocated::Done)
}

/// MOVE: moves `key` from the current db to `dst_db` unless it exists there.
/// The caller has rejected `dst_db == tx.db`.
pub fn move_to(tx: &mut Tx, key: &[u8], dst_db: u8) -> Result<Relocated, CmdError> {
    let Some(meta) = tx.meta(key)? else {
        return Ok(Relocated::NoSource);
    };
    if tx.meta_in(dst_db, key)?.is_some() {
        return Ok(Relocated::DestinationExists);
    }
    let moved = relocated_record(tx, &meta, key, dst_db, key, Relocation::Move)?;
    tx.set_meta_in(dst_db, key, Some(moved))?;
    tx.del_meta(key)?;
    Ok(Relocated::Done)
}

/// Sets `key` to expire at `at_ms` (absolute Unix ms, possibly in the past or
/// negative) if `cond` holds; true if it was applied. A time not after now
/// deletes the key, as Redis does.
pub fn set_expire(tx: &mut Tx, key: &[u8], at_ms: i64, cond: ExpireIf) -> Result<bool, CmdError> {
    let Some(meta) = tx.meta(key)? else {
        return Ok(false);
    };
    // Redis's -1 for "no expiry" compares as infinite for GT and LT.
    let current = match meta.expire_ms() {
        0 => None,
        ms => Some(ms as i64),
    };
    let allowed = match (cond, current) {
        (ExpireIf::Always, _) => true,
        (ExpireIf::NoExpiry, c) => c.is_none(),
        (ExpireIf::HasExpiry, c) => c.is_some(),
        (ExpireIf::Later, None) => false,
        (ExpireIf::Later, Some(c)) => at_ms > c,
        (ExpireIf::Earlier, None) => true,
        (ExpireIf::Earlier | ExpireIf::EarlierWithExpiry, Some(c)) => at_ms < c,
        (ExpireIf::EarlierWithExpiry, None) => false,
    };
    if !allowed {
        return Ok(false);
    }
    if at_ms <= tx.now_ms as i64 {
        tx.del_meta(key)?;
    } else {
        tx.put_meta(key, meta.with_expire(at_ms as u64))?;
    }
    Ok(true)
}

/// The expiry of `key`.
pub fn expiry(tx: &mut Tx, key: &[u8]) -> Result<Expiry, CmdError> {
    Ok(match tx.meta(key)? {
        None => Expiry::Missing,
        Some(m) if m.expire_ms() == 0 => Expiry::Never,
        Some(m) => Expiry::At(m.expire_ms()),
    })
}

/// PERSIST: removes the expiry of `key`; true if it had one.
pub fn persist(tx: &mut Tx, key: &[u8]) -> Result<bool, CmdError> {
    match tx.meta(key)? {
        Some(m) if m.expire_ms() != 0 => {
            tx.put_meta(key, m.with_expire(0))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The name OBJECT ENCODING reports for a value.
pub fn encoding(store: &Store, db: u8, key: &[u8], meta: &Meta) -> Result<&'static str, CmdError> {
    // Redis 7.0's default thresholds: hash/zset-max-listpack-entries 128,
    // set-max-intset-entries 512; lists are always quicklists in 7.0.
    Ok(match meta.ty() {
        Type::String => string_encoding(meta.value()),
        Type::List => "quicklist",
        Type::Hash if meta.len() <= 128 => "listpack",
        Type::ZSet if meta.len() <= 128 => "listpack",
        Type::Set if meta.len() <= 512 && set_is_all_integers(store, db, key, meta)? => "intset",
        Type::Hash | Type::Set => "hashtable",
        Type::ZSet => "skiplist",
        Type::Stream => "stream",
        Type::Json => "raw",
    })
}

/// True if every member of a (small: at most 512) set is an integer.
fn set_is_all_integers(store: &Store, db: u8, key: &[u8], meta: &Meta) -> Result<bool, CmdError> {
    let prefix = layout::data_prefix(db, key, meta.version());
    let mut all = true;
    store.iter_prefix(Cf::Data, &prefix, None, false, |k, _| {
        all = parse_i64(&k[prefix.len()..]).is_some();
        all
    })?;
    Ok(all)
}

/// Redis's `tryObjectEncoding` for strings: "int" for a canonical integer of
/// at most 20 bytes (string2l rules: no sign '+', no leading zero, no spaces),
/// "embstr" up to 44 bytes, "raw" beyond.
fn string_encoding(v: &[u8]) -> &'static str {
    if v.len() <= 20 && parse_i64(v).is_some() {
        "int"
    } else if v.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

/// Redis shares the integers 0..10000 as one object with an infinite
/// reference count; OBJECT REFCOUNT reports it.
pub fn refcount(meta: &Meta) -> i64 {
    const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;
    const OBJ_SHARED_INTEGERS: i64 = 10_000;
    let shared = meta.ty() == Type::String
        && meta.value().len() <= 20
        && parse_i64(meta.value()).is_some_and(|n| (0..OBJ_SHARED_INTEGERS).contains(&n));
    if shared {
        OBJ_SHARED_REFCOUNT
    } else {
        1
    }
}

/// A KEYS / SCAN filter: glob pattern and type name.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    /// MATCH pattern (None: every key).
    pub pattern: Option<&'a [u8]>,
    /// TYPE name, compared case-insensitively (None: every type).
    pub type_name: Option<&'a [u8]>,
}

impl Filter<'_> {
    /// The bytes every matching key starts with: the pattern up to its first
    /// special character. Listing seeks there and stops past it.
    fn prefix(&self) -> &[u8] {
        let p = self.pattern.unwrap_or(b"");
        let end = p.iter().position(|c| matches!(c, b'*' | b'?' | b'[' | b'\\')).unwrap_or(p.len());
        &p[..end]
    }

    fn accepts(&self, key: &[u8], meta: &Meta) -> bool {
        self.pattern.map_or(true, |p| glob_match(p, key, false))
            && self.type_name.map_or(true, |t| t.eq_ignore_ascii_case(meta.ty().name().as_bytes()))
    }
}

/// Where a listing starts.
#[derive(Debug, Clone, Copy)]
enum Start<'a> {
    /// At `key` itself, if it exists, then after it.
    AtOrAfter(&'a [u8]),
    /// Strictly after `key`.
    After(&'a [u8]),
}

/// Up to `limit` records of `db` from `from`, in key order, expired ones included.
fn page(store: &Store, db: u8, from: Start, limit: usize) -> Result<Vec<(Vec<u8>, Meta)>, CmdError> {
    Ok(match from {
        Start::After(k) => store.scan_meta(db, Some(k), limit)?,
        Start::AtOrAfter(b"") => store.scan_meta(db, None, limit)?,
        Start::AtOrAfter(k) => {
            let mut out = Vec::new();
            if let Some(m) = store.get_meta(&layout::meta(db, k))? {
                out.push((k.to_vec(), m));
            }
            out.extend(store.scan_meta(db, Some(k), limit.saturating_sub(out.len()))?);
            out
        }
    })
}

/// Records fetched per storage call while listing.
const LIST_BATCH: usize = 1024;

/// KEYS: every live key of `db` matching `filter`, in key order. Reads only
/// the range sharing the pattern's literal prefix.
pub fn keys(store: &Store, db: u8, now_ms: u64, filter: Filter) -> Result<Vec<Vec<u8>>, CmdError> {
    let prefix = filter.prefix();
    let mut out = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    loop {
        let from = match &last {
            None => Start::AtOrAfter(prefix),
            Some(k) => Start::After(k),
        };
        let batch = page(store, db, from, LIST_BATCH)?;
        let n = batch.len();
        for (key, meta) in batch {
            if !key.starts_with(prefix) {
                return Ok(out);
            }
            if !meta.is_expired(now_ms) && filter.accepts(&key, &meta) {
                out.push(key.clone());
            }
            last = Some(key);
        }
        if n < LIST_BATCH {
            return Ok(out);
        }
    }
}

/// One SCAN step: the keys found and where the next step resumes.
#[derive(Debug, Default)]
pub struct ScanPage {
    /// Live keys that passed the filter.
    pub keys: Vec<Vec<u8>>,
    /// The last key examined, if the scan is not complete.
    pub resume_after: Option<Vec<u8>>,
}

/// One SCAN step: examines up to `count` records of `db` after `after` (from
/// the start when None) and returns the live ones that pass `filter`.
pub fn scan(
    store: &Store,
    db: u8,
    now_ms: u64,
    after: Option<&[u8]>,
    count: usize,
    filter: Filter,
) -> Result<ScanPage, CmdError> {
    let prefix = filter.prefix();
    let from = match after {
        Some(k) if k >= prefix => Start::After(k),
        _ => Start::AtOrAfter(prefix),
    };
    let count = count.max(1);
    // One record more than examined tells whether anything is left, so the
    // last step already replies cursor 0.
    let mut batch = page(store, db, from, count.saturating_add(1))?;
    let more = batch.len() > count;
    batch.truncate(count);
    let mut out = ScanPage::default();
    for (key, meta) in batch {
        if !key.starts_with(prefix) {
            out.resume_after = None;
            return Ok(out);
        }
        if !meta.is_expired(now_ms) && filter.accepts(&key, &meta) {
            out.keys.push(key.clone());
        }
        out.resume_after = Some(key);
    }
    if !more {
        out.resume_after = None;
    }
    Ok(out)
}

/// Random draws before settling for a biased one or walking from the start.
const RANDOM_TRIES: usize = 16;
/// Levels of the random descent before sampling the remaining range.
const RANDOM_DEPTH: usize = 24;
/// Records read when the descent stops in a range of keys with long shared prefixes.
const RANDOM_SAMPLE: usize = 16;

/// RANDOMKEY: a random live key of `db`, or None if it has none. A big
/// database is never read whole: each draw is a descent of a few seeks (see
/// [`random_descent`]), kept with probability `1 / (N * p)` so that keys the
/// descent over-draws (few keys behind a prefix byte) are thinned down to
/// uniform. After a bounded number of draws the last live one is taken; only
/// a database whose keys are almost all expired (and not yet reclaimed) falls
/// back to a walk.
pub fn random_key(store: &Store, db: u8, now_ms: u64) -> Result<Option<Vec<u8>>, CmdError> {
    let n = store.counts(db).keys;
    if n == 0 {
        return Ok(None);
    }
    let mut biased = None;
    for _ in 0..RANDOM_TRIES {
        let Some(draw) = random_descent(store, db)? else {
            return Ok(None);
        };
        if draw.meta.is_expired(now_ms) {
            continue;
        }
        let keep = 1.0 / (n as f64 * draw.probability);
        if keep >= 1.0 || random_unit() < keep {
            return Ok(Some(draw.key));
        }
        biased = Some(draw.key);
    }
    if biased.is_some() {
        return Ok(biased);
    }
    // Nearly everything drawn had expired: find any live key in order.
    let mut after: Option<Vec<u8>> = None;
    loop {
        let from = after.as_deref().map_or(Start::AtOrAfter(b""), Start::After);
        let batch = page(store, db, from, LIST_BATCH)?;
        let n = batch.len();
        if let Some((k, _)) = batch.iter().find(|(_, m)| !m.is_expired(now_ms)) {
            return Ok(Some(k.clone()));
        }
        if n < LIST_BATCH {
            return Ok(None);
        }
        after = batch.into_iter().next_back().map(|(k, _)| k);
    }
}

/// A record drawn by [`random_descent`] and the probability it had.
struct Draw {
    key: Vec<u8>,
    meta: Meta,
    probability: f64,
}

/// One random record of `db` (expired or not), drawn by descending the key
/// space byte by byte: the keys of the current range `[lo, hi]` share a
/// prefix; the next byte is drawn uniformly among the values between the
/// smallest and largest present (an absent value falls to the next present
/// one), and the range narrows to the keys with that byte. Each level costs a
/// few seeks, and the draw follows where keys actually are, so `user:1..N`
/// spreads over all of them instead of piling up after gaps between prefixes.
/// The probability of the outcome is tracked for [`random_key`]'s thinning.
fn random_descent(store: &Store, db: u8) -> Result<Option<Draw>, CmdError> {
    let Some(mut lo) = page(store, db, Start::AtOrAfter(b""), 1)?.pop() else {
        return Ok(None);
    };
    let Some(mut hi) = last_with_prefix(store, db, b"")? else {
        return Ok(None);
    };
    let mut probability = 1.0;
    let done = |(key, meta): (Vec<u8>, Meta), probability: f64| Ok(Some(Draw { key, meta, probability }));
    for _ in 0..RANDOM_DEPTH {
        if lo.0 == hi {
            return done(lo, probability);
        }
        // lo < hi: they differ at `c`, or lo is a proper prefix of hi.
        let c = lo.0.iter().zip(&hi).take_while(|(a, b)| a == b).count();
        let lo_is_prefix = lo.0.len() == c;
        let low_byte = if lo_is_prefix {
            match page(store, db, Start::After(&lo.0), 1)?.pop() {
                Some((k, _)) if k.len() > c => k[c],
                _ => return done(lo, probability),
            }
        } else {
            lo.0[c]
        };
        let high_byte = hi[c];
        // One choice per byte value, plus `lo` itself when it ends here.
        let choices = u64::from(high_byte - low_byte) + 1 + u64::from(lo_is_prefix);
        let r = random_u64() % choices;
        if lo_is_prefix && r == choices - 1 {
            return done(lo, probability / choices as f64);
        }
        let mut bucket = hi[..c].to_vec();
        bucket.push(low_byte + r as u8);
        let Some(next) = page(store, db, Start::AtOrAfter(&bucket), 1)?.pop() else {
            return done(lo, probability);
        };
        // `bucket <= next <= hi`, so `next` extends the shared prefix by a byte.
        let Some(&next_byte) = next.0.get(c) else {
            return done(next, probability);
        };
        bucket[c] = next_byte;
        // The byte values that lead here: those above the previous present one.
        let below = previous_byte(store, db, &bucket)?.filter(|&b| b >= low_byte);
        let width = u64::from(next_byte - below.map_or(low_byte, |b| b + 1)) + 1;
        probability *= width as f64 / choices as f64;
        let Some(next_hi) = last_with_prefix(store, db, &bucket)? else {
            return done(next, probability);
        };
        lo = next;
        hi = next_hi;
    }
    // Keys sharing very long prefixes: pick among a few at the range start.
    let mut sample = page(store, db, Start::AtOrAfter(&lo.0), RANDOM_SAMPLE)?;
    sample.retain(|(k, _)| *k <= hi);
    if sample.is_empty() {
        return done(lo, probability);
    }
    let p = probability / sample.len() as f64;
    let i = (random_u64() % sample.len() as u64) as usize;
    done(sample.swap_remove(i), p)
}

/// The greatest key of `db` starting with `prefix`.
fn last_with_prefix(store: &Store, db: u8, prefix: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    let mut last = None;
    store.iter_prefix(Cf::Meta, &layout::meta(db, prefix), None, true, |k, _| {
        last = Some(layout::split_meta(k).1.to_vec());
        false
    })?;
    Ok(last)
}

/// For `bucket` = `prefix | b`: the greatest byte below `b` that follows
/// `prefix` in some key of `db`, if any.
fn previous_byte(store: &Store, db: u8, bucket: &[u8]) -> Result<Option<u8>, CmdError> {
    let c = bucket.len() - 1;
    let start = layout::meta(db, bucket);
    let mut found = None;
    store.iter_prefix(Cf::Meta, &layout::meta(db, &bucket[..c]), Some(&start), true, |k, _| {
        let key = layout::split_meta(k).1;
        if key.starts_with(bucket) {
            return true;
        }
        found = key.get(c).copied();
        false
    })?;
    Ok(found)
}

/// A random u64: std's `RandomState` is freshly keyed for each instance.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

/// A random f64 in [0, 1).
fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_encodings_follow_redis() {
        for (v, e) in [
            (&b"1"[..], "int"),
            (b"-1", "int"),
            (b"1234567890123456789", "int"),
            (b"12345678901234567890", "embstr"),
            (b"01", "embstr"),
            (b"+1", "embstr"),
            (b" 1", "embstr"),
            (b"-0", "embstr"),
            (b"", "embstr"),
            (&[b'x'; 44], "embstr"),
            (&[b'x'; 45], "raw"),
        ] {
            assert_eq!(string_encoding(v), e, "{:?}", String::from_utf8_lossy(v));
        }
    }

    #[test]
    fn refcount_of_shared_integers() {
        assert_eq!(refcount(&Meta::string(b"9999", 0)), i32::MAX as i64);
        assert_eq!(refcount(&Meta::string(b"10000", 0)), 1);
        assert_eq!(refcount(&Meta::string(b"-1", 0)), 1);
        assert_eq!(refcount(&Meta::string(b"x", 0)), 1);
    }

    #[test]
    fn literal_prefix_stops_at_specials() {
        let f = |p: &'static [u8]| Filter { pattern: Some(p), type_name: None }.prefix().to_vec();
        assert_eq!(f(b"user:*"), b"user:");
        assert_eq!(f(b"a?c"), b"a");
        assert_eq!(f(b"[ab]"), b"");
        assert_eq!(f(b"x\\*"), b"x");
        assert_eq!(f(b"exact"), b"exact");
    }
}
