//! The `meta` record: one per user key, read first by every command.
//!
//! ```text
//! | type u8 | flags u8 | expire_at_ms u64 BE (0 = none) | payload ... |
//! string payload     : the raw value
//! collection payload : | version u64 BE | len u64 BE | type extras ... |
//! ```
//! A `Meta` is an immutable, cheaply cloned view (`Rc<[u8]>`) so the read cache,
//! a transaction and a reply can share one copy of a string value.

use crate::error::{CmdError, Error};
use std::rc::Rc;

/// Size of the common header.
const HEADER: usize = 10;

/// The type of a key, as stored in byte 0 of its meta record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// String (also bitmaps and HyperLogLog).
    String = 0,
    /// List.
    List = 1,
    /// Hash.
    Hash = 2,
    /// Set.
    Set = 3,
    /// Sorted set.
    ZSet = 4,
    /// Stream.
    Stream = 5,
    /// JSON document.
    Json = 6,
}

impl Type {
    fn from_u8(b: u8) -> Option<Type> {
        Some(match b {
            0 => Type::String,
            1 => Type::List,
            2 => Type::Hash,
            3 => Type::Set,
            4 => Type::ZSet,
            5 => Type::Stream,
            6 => Type::Json,
            _ => return None,
        })
    }

    /// The name TYPE reports.
    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::List => "list",
            Type::Hash => "hash",
            Type::Set => "set",
            Type::ZSet => "zset",
            Type::Stream => "stream",
            Type::Json => "ReJSON-RL",
        }
    }
}

/// A decoded-on-demand meta record.
#[derive(Clone, PartialEq, Eq)]
pub struct Meta(Rc<[u8]>);

impl std::fmt::Debug for Meta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Meta({:?}, expire={}, {} bytes)", self.ty(), self.expire_ms(), self.0.len())
    }
}

impl Meta {
    /// Validates raw bytes read from the `meta` column family.
    pub fn decode(raw: &[u8], key: &[u8]) -> Result<Meta, Error> {
        let ok = raw.len() >= HEADER
            && match Type::from_u8(raw[0]) {
                Some(Type::String) => true,
                Some(_) => raw.len() >= HEADER + 16,
                None => false,
            };
        if !ok {
            return Err(Error::Corrupt { cf: "meta", key: key.to_vec() });
        }
        Ok(Meta(Rc::from(raw)))
    }

    /// A string record.
    pub fn string(value: &[u8], expire_ms: u64) -> Meta {
        let mut v = Vec::with_capacity(HEADER + value.len());
        v.push(Type::String as u8);
        v.push(0);
        v.extend_from_slice(&expire_ms.to_be_bytes());
        v.extend_from_slice(value);
        Meta(Rc::from(v))
    }

    /// A collection record.
    pub fn collection(ty: Type, version: u64, len: u64, expire_ms: u64, extra: &[u8]) -> Meta {
        let mut v = Vec::with_capacity(HEADER + 16 + extra.len());
        v.push(ty as u8);
        v.push(0);
        v.extend_from_slice(&expire_ms.to_be_bytes());
        v.extend_from_slice(&version.to_be_bytes());
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(extra);
        Meta(Rc::from(v))
    }

    /// The encoded bytes, as stored.
    pub fn raw(&self) -> &[u8] {
        &self.0
    }

    /// The key's type.
    pub fn ty(&self) -> Type {
        Type::from_u8(self.0[0]).expect("invariant: type validated by decode")
    }

    /// Absolute expiry in Unix milliseconds; 0 = none.
    pub fn expire_ms(&self) -> u64 {
        u64::from_be_bytes(self.0[2..10].try_into().expect("invariant: header length"))
    }

    /// True if the key has an expiry at or before `now_ms`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        let e = self.expire_ms();
        e != 0 && e <= now_ms
    }

    /// A string's value (the whole payload).
    pub fn value(&self) -> &[u8] {
        &self.0[HEADER..]
    }

    /// A collection's version (sub-keys carry it).
    pub fn version(&self) -> u64 {
        u64::from_be_bytes(self.0[HEADER..HEADER + 8].try_into().expect("invariant: collection header"))
    }

    /// A collection's element count.
    pub fn len(&self) -> u64 {
        u64::from_be_bytes(self.0[HEADER + 8..HEADER + 16].try_into().expect("invariant: collection header"))
    }

    /// True for an empty collection (never stored: empty collections are deleted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A collection's type-specific extras.
    pub fn extra(&self) -> &[u8] {
        &self.0[HEADER + 16..]
    }

    /// A list's live index span `head..tail` (its type extras: `head u64 BE |
    /// tail u64 BE`, see `types/list.rs`); None for another type or a short
    /// record. Indexes outside it are dead: pops and trims do not delete
    /// their records, the GC filter does (`gc.rs`).
    pub fn list_span(&self) -> Option<(u64, u64)> {
        if self.ty() != Type::List {
            return None;
        }
        let x = self.extra();
        let head = u64::from_be_bytes(x.get(..8)?.try_into().ok()?);
        let tail = u64::from_be_bytes(x.get(8..16)?.try_into().ok()?);
        Some((head, tail))
    }

    /// The same record with another expiry.
    pub fn with_expire(&self, expire_ms: u64) -> Meta {
        let mut v = self.0.to_vec();
        v[2..10].copy_from_slice(&expire_ms.to_be_bytes());
        Meta(Rc::from(v))
    }

    /// Bytes this record occupies (for cache accounting).
    pub fn size(&self) -> usize {
        self.0.len()
    }
}

/// Type check on a looked-up record: the one place WRONGTYPE comes from.
pub trait OfType {
    /// `Ok(None)` if absent, `Ok(Some)` if of type `t`, WRONGTYPE otherwise.
    fn of_type(self, t: Type) -> Result<Option<Meta>, CmdError>;
}

impl OfType for Option<Meta> {
    fn of_type(self, t: Type) -> Result<Option<Meta>, CmdError> {
        match self {
            Some(m) if m.ty() != t => Err(CmdError::WrongType),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_round_trip() {
        let m = Meta::string(b"hello", 42);
        let d = Meta::decode(m.raw(), b"k").unwrap();
        assert_eq!(d.ty(), Type::String);
        assert_eq!(d.expire_ms(), 42);
        assert_eq!(d.value(), b"hello");
        assert_eq!(d.with_expire(0).expire_ms(), 0);
        assert!(d.is_expired(42) && !d.is_expired(41));
    }

    #[test]
    fn collection_round_trip() {
        let m = Meta::collection(Type::List, 7, 3, 0, b"xy");
        let d = Meta::decode(m.raw(), b"k").unwrap();
        assert_eq!((d.ty(), d.version(), d.len(), d.extra()), (Type::List, 7, 3, &b"xy"[..]));
    }

    #[test]
    fn garbage_is_corrupt_not_panic() {
        assert!(Meta::decode(b"", b"k").is_err());
        assert!(Meta::decode(&[9; 12], b"k").is_err());
        assert!(Meta::decode(&[1; 12], b"k").is_err());
    }
}
