//! Every key byte layout of the store, and the only place that builds them.
//! DESIGN.md "Storage encoding" is the description; this file implements it.
//!
//! ```text
//! meta    : | db u8 | user_key ...................................... |
//! data    : | db u8 | key_len u32 BE | user_key | version u64 BE | sub |
//! zscore  : | db u8 | key_len u32 BE | user_key | version u64 BE | score [8] | member |
//! json    : | db u8 | key_len u32 BE | user_key | version u64 BE | node id u64 BE |  (in `data`)
//! expire  : | expire_at_ms u64 BE | db u8 | user_key |
//! ```
//! The length prefix stops key `a` from being a prefix of key `ab`; big-endian
//! integers and the order-preserving score make byte order numeric order. Every
//! layout starts with the db byte (except `expire`, ordered by time), so one
//! range delete `[db, db+1)` empties a database.
//!
//! A stream's `sub` starts with a tag byte, so its entries sort apart from its
//! consumer-group records and each record kind is one contiguous range:
//! ```text
//! entry    : | 0 | ms u64 BE | seq u64 BE |                    (XRANGE = one bounded scan)
//! group    : | 1 | group ... |
//! consumer : | 2 | group_len u32 BE | group | consumer ... |
//! pending  : | 3 | group_len u32 BE | group | ms u64 BE | seq u64 BE |   (the group's PEL, id order)
//! ```

/// Column families. `Default` holds server records (counts, versions, format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cf {
    /// RocksDB's default column family: server bookkeeping records.
    Default,
    /// One record per user key.
    Meta,
    /// Collection members.
    Data,
    /// Sorted-set score order.
    Zscore,
    /// Expiry time index.
    Expire,
}

impl Cf {
    /// Every column family, in open order.
    pub const ALL: [Cf; 5] = [Cf::Default, Cf::Meta, Cf::Data, Cf::Zscore, Cf::Expire];

    /// The RocksDB name.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Default => "default",
            Cf::Meta => "meta",
            Cf::Data => "data",
            Cf::Zscore => "zscore",
            Cf::Expire => "expire",
        }
    }
}

/// Bookkeeping keys in the default column family.
pub const FORMAT_KEY: &[u8] = b"diskdb:format";
/// Persisted per-db key and expire counts.
pub const COUNTS_KEY: &[u8] = b"diskdb:counts";
/// High-water mark of allocated collection versions.
pub const VERSION_KEY: &[u8] = b"diskdb:version";
/// 1 while the server is stopped cleanly, 0 while it runs: found at 0 on
/// open, the last run crashed and the WAL was replayed.
pub const CLEAN_KEY: &[u8] = b"diskdb:clean";
/// FUNCTION libraries: `FUNCTION_PREFIX | library name` -> its code. In the
/// default column family, so no database, SCAN, DBSIZE or FLUSHALL sees them
/// (Redis's FLUSHALL keeps functions too).
pub const FUNCTION_PREFIX: &[u8] = b"diskdb:function:";

/// The record of the FUNCTION library `name`.
pub fn function_library(name: &[u8]) -> Vec<u8> {
    [FUNCTION_PREFIX, name].concat()
}

/// `db | user_key`: the meta record's key.
pub fn meta(db: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    meta_into(&mut k, db, key);
    k
}

/// Writes the meta key into a reused buffer (no allocation on the hot path).
pub fn meta_into(out: &mut Vec<u8>, db: u8, key: &[u8]) {
    out.clear();
    out.push(db);
    out.extend_from_slice(key);
}

/// Splits a meta key into `(db, user_key)`.
pub fn split_meta(mkey: &[u8]) -> (u8, &[u8]) {
    (mkey[0], &mkey[1..])
}

/// `db | key_len | user_key | version`: the prefix shared by a collection's sub-keys.
pub fn data_prefix(db: u8, key: &[u8], version: u64) -> Vec<u8> {
    prefix_with_room(db, key, version, 16)
}

/// [`data_prefix`] with capacity for `room` more bytes.
fn prefix_with_room(db: u8, key: &[u8], version: u64, room: usize) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + 4 + key.len() + 8 + room);
    k.push(db);
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// A collection member's key: the prefix followed by `sub`.
pub fn data(db: u8, key: &[u8], version: u64, sub: &[u8]) -> Vec<u8> {
    let mut k = prefix_with_room(db, key, version, sub.len());
    k.extend_from_slice(sub);
    k
}

/// A JSON document node: prefix | node id (u64 BE). Node 0 is the root of
/// a document too large to live inline in its `meta` record.
pub fn json_node(db: u8, key: &[u8], version: u64, node: u64) -> Vec<u8> {
    data(db, key, version, &node.to_be_bytes())
}

/// A sorted-set order record: prefix | encoded score | member.
pub fn zscore(db: u8, key: &[u8], version: u64, score: f64, member: &[u8]) -> Vec<u8> {
    let mut k = prefix_with_room(db, key, version, 8 + member.len());
    k.extend_from_slice(&encode_score(score));
    k.extend_from_slice(member);
    k
}

/// Parses a data/zscore key back into `(db, user_key, version, sub)`.
pub fn split_data(k: &[u8]) -> Option<(u8, &[u8], u64, &[u8])> {
    if k.len() < 13 {
        return None;
    }
    let len = u32::from_be_bytes(k[1..5].try_into().ok()?) as usize;
    let end = 5 + len;
    if k.len() < end + 8 {
        return None;
    }
    let version = u64::from_be_bytes(k[end..end + 8].try_into().ok()?);
    Some((k[0], &k[5..end], version, &k[end + 8..]))
}

/// Tags of a stream's sub-keys (see the diagram at the top).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamTag {
    /// An entry, by id.
    Entry = 0,
    /// A consumer group.
    Group = 1,
    /// A consumer of a group.
    Consumer = 2,
    /// A pending entry of a group.
    Pending = 3,
}

/// A stream sub-key: the data prefix, `tag`, then (for consumers and pending
/// entries) the length-prefixed `group`, then `tail` (an id or a name).
pub fn stream_sub(db: u8, key: &[u8], version: u64, tag: StreamTag, group: Option<&[u8]>, tail: &[u8]) -> Vec<u8> {
    // Sized exactly up front: an entry key (tag + 16-byte id) would outgrow
    // `data_prefix`'s spare room and reallocate on every XADD.
    let group_len = group.map_or(0, |g| 4 + g.len());
    let mut k = prefix_with_room(db, key, version, 1 + group_len + tail.len());
    k.push(tag as u8);
    if let Some(g) = group {
        k.extend_from_slice(&(g.len() as u32).to_be_bytes());
        k.extend_from_slice(g);
    }
    k.extend_from_slice(tail);
    k
}

/// A stream id as 16 order-preserving bytes.
pub fn stream_id(ms: u64, seq: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&ms.to_be_bytes());
    b[8..].copy_from_slice(&seq.to_be_bytes());
    b
}

/// Inverse of [`stream_id`] on the last 16 bytes of a sub-key.
pub fn split_stream_id(k: &[u8]) -> Option<(u64, u64)> {
    let t = k.len().checked_sub(16)?;
    Some((u64::from_be_bytes(k[t..t + 8].try_into().ok()?), u64::from_be_bytes(k[t + 8..].try_into().ok()?)))
}

/// `expire_at_ms | db | user_key`: the expiry index key.
pub fn expire(at_ms: u64, db: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + key.len());
    k.extend_from_slice(&at_ms.to_be_bytes());
    k.push(db);
    k.extend_from_slice(key);
    k
}

/// Parses an expiry index key into `(at_ms, db, user_key)`.
pub fn split_expire(k: &[u8]) -> Option<(u64, u8, &[u8])> {
    if k.len() < 9 {
        return None;
    }
    Some((u64::from_be_bytes(k[..8].try_into().ok()?), k[8], &k[9..]))
}

/// Order-preserving encoding of an f64: flip the sign bit of positives, all
/// bits of negatives, so that comparing bytes compares numbers.
pub fn encode_score(score: f64) -> [u8; 8] {
    let bits = score.to_bits();
    let flipped = if bits >> 63 == 0 { bits | (1 << 63) } else { !bits };
    flipped.to_be_bytes()
}

/// Inverse of [`encode_score`].
pub fn decode_score(b: [u8; 8]) -> f64 {
    let v = u64::from_be_bytes(b);
    let bits = if v >> 63 == 1 { v & !(1 << 63) } else { !v };
    f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_order_is_numeric_order() {
        let xs = [f64::NEG_INFINITY, -1e300, -2.5, -1.0, -0.0, 0.0, 1e-300, 1.0, 2.5, 1e300, f64::INFINITY];
        for w in xs.windows(2) {
            assert!(encode_score(w[0]) <= encode_score(w[1]), "{} vs {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(decode_score(encode_score(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn length_prefix_separates_prefix_keys() {
        let a = data(0, b"a", 1, b"x");
        let ab = data_prefix(0, b"ab", 1);
        assert!(!ab.starts_with(&data_prefix(0, b"a", 1)));
        assert!(!a.starts_with(&ab));
        assert_eq!(split_data(&a), Some((0, &b"a"[..], 1, &b"x"[..])));
    }

    #[test]
    fn stream_records_sort_apart() {
        let e = stream_sub(0, b"s", 1, StreamTag::Entry, None, &stream_id(u64::MAX, u64::MAX));
        let g = stream_sub(0, b"s", 1, StreamTag::Group, None, b"");
        let p = stream_sub(0, b"s", 1, StreamTag::Pending, Some(b"g"), &stream_id(1, 2));
        assert!(e < g && g < p);
        assert_eq!(split_stream_id(&p), Some((1, 2)));
        assert!(stream_id(1, u64::MAX) < stream_id(2, 0));
    }

    #[test]
    fn expire_round_trip() {
        let k = expire(1234, 3, b"key");
        assert_eq!(split_expire(&k), Some((1234, 3, &b"key"[..])));
        assert!(expire(1, 9, b"z") < expire(2, 0, b"a"));
    }
}
