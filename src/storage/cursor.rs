//! A reusable RocksDB iterator for many short seeks within one command (the
//! random picks of `types::members`): see [`Cursor`].

use super::{storage_err, Cf, Store};
use crate::error::Error;
use rocksdb::ReadOptions;

impl Store {
    /// A reusable forward cursor over `[lower, upper)` of `cf`, for many
    /// short seeks within one command (random picks: see [`Cursor`]).
    pub fn cursor(&self, cf: Cf, lower: &[u8], upper: Option<Vec<u8>>) -> Cursor<'_> {
        Cursor { store: self, cf, lower: lower.to_vec(), upper, it: None }
    }
}

/// Internal keys (deletion markers mostly) a [`Cursor`] seek may step over
/// before it gives up and a range-bounded iterator takes over.
const CURSOR_SKIP_LIMIT: u64 = 256;

/// One RocksDB iterator reused for many seeks (a fresh iterator per seek
/// costs more than the seek: a random SPOP pick makes about twenty). Its
/// bounds are the whole collection, but each seek asks only for the first
/// key before a tighter `end`; a seek that would step over more than
/// [`CURSOR_SKIP_LIMIT`] internal keys (the deletion markers a draining SPOP
/// leaves) stops "incomplete" and is redone by an iterator bounded at `end`,
/// which never walks past the range it searches. While a MULTI/script batch
/// is open, every seek goes through the overlay-aware iteration instead.
/// Reads RocksDB as of the cursor's first seek: use it within one command.
pub struct Cursor<'s> {
    store: &'s Store,
    cf: Cf,
    lower: Vec<u8>,
    upper: Option<Vec<u8>>,
    it: Option<rocksdb::DBRawIterator<'s>>,
}

impl<'s> Cursor<'s> {
    /// `f` of the first entry at or after `start` and before `end` (None: the
    /// cursor's upper bound), if there is one.
    pub fn first<T>(
        &mut self,
        start: &[u8],
        end: Option<&[u8]>,
        f: impl FnOnce(&[u8], &[u8]) -> T,
    ) -> Result<Option<T>, Error> {
        self.seek(start, end, false, f)
    }

    /// Like [`Cursor::first`], strictly after `start` (one seek and a step).
    pub fn first_after<T>(
        &mut self,
        start: &[u8],
        end: Option<&[u8]>,
        f: impl FnOnce(&[u8], &[u8]) -> T,
    ) -> Result<Option<T>, Error> {
        self.seek(start, end, true, f)
    }

    /// `f` of the last entry in `[lo, end)` (`end` None: the cursor's upper
    /// bound), if there is one.
    pub fn last<T>(
        &mut self,
        lo: &[u8],
        end: Option<&[u8]>,
        f: impl FnOnce(&[u8], &[u8]) -> T,
    ) -> Result<Option<T>, Error> {
        let store = self.store;
        store.settle()?;
        let end: Option<Vec<u8>> = end.map(<[u8]>::to_vec).or_else(|| self.upper.clone());
        let end = end.as_deref();
        if store.overlay.borrow().is_empty() {
            let it = self.iter();
            match end {
                Some(e) => {
                    it.seek_for_prev(e);
                    if it.key() == Some(e) {
                        it.prev();
                    }
                }
                None => it.seek_to_last(),
            }
            if let (Some(k), Some(v)) = (it.key(), it.value()) {
                return Ok(if k < lo { None } else { Some(f(k, v)) });
            }
            match it.status() {
                Ok(()) => return Ok(None),
                Err(e) if e.kind() == rocksdb::ErrorKind::Incomplete => {}
                Err(e) => return Err(storage_err(e)),
            }
        }
        let (mut f, mut out) = (Some(f), None);
        store.iter_bounded(self.cf, lo, end, None, true, |k, v| {
            out = f.take().map(|f| f(k, v));
            false
        })?;
        Ok(out)
    }

    /// The reused iterator, opened on first use.
    fn iter(&mut self) -> &mut rocksdb::DBRawIterator<'s> {
        let store = self.store;
        let (lower, upper, cf) = (&self.lower, &self.upper, self.cf);
        self.it.get_or_insert_with(|| {
            let mut ro = ReadOptions::default();
            ro.set_iterate_lower_bound(lower.clone());
            if let Some(up) = upper {
                ro.set_iterate_upper_bound(up.clone());
            }
            ro.set_max_skippable_internal_keys(CURSOR_SKIP_LIMIT);
            store.db.raw_iterator_cf_opt(store.cf(cf), ro)
        })
    }

    fn seek<T>(
        &mut self,
        start: &[u8],
        end: Option<&[u8]>,
        after: bool,
        f: impl FnOnce(&[u8], &[u8]) -> T,
    ) -> Result<Option<T>, Error> {
        let store = self.store;
        store.settle()?;
        if store.overlay.borrow().is_empty() {
            let it = self.iter();
            it.seek(start);
            if after && it.key() == Some(start) {
                it.next();
            }
            if let (Some(k), Some(v)) = (it.key(), it.value()) {
                return Ok(if end.is_some_and(|e| k >= e) { None } else { Some(f(k, v)) });
            }
            match it.status() {
                Ok(()) => return Ok(None),
                Err(e) if e.kind() == rocksdb::ErrorKind::Incomplete => {}
                Err(e) => return Err(storage_err(e)),
            }
        }
        let upper = end.or(self.upper.as_deref());
        let (mut f, mut out) = (Some(f), None);
        store.iter_bounded(self.cf, &self.lower, upper, Some(start), false, |k, v| {
            if after && k == start {
                return true;
            }
            out = f.take().map(|f| f(k, v));
            false
        })?;
        Ok(out)
    }
}
