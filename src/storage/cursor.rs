//! Reused RocksDB iterators. Creating an iterator (pinning the memtables and
//! files, building one child iterator per memtable and L0 file) and dropping
//! it cost about as much as a short range read itself, so:
//! - [`Cursor`]: one iterator for many short seeks within one command (the
//!   random picks of `types::members`);
//! - [`TickIters`]: one unbounded iterator per column family shared by every
//!   range read of an event-loop tick (`Store::walk`), as long as nothing was
//!   written since it was created (RocksDB's latest sequence number is
//!   unchanged), so it reads exactly what a fresh iterator would. The tick's
//!   end drops them, so none pins memtables or obsolete files for long.

use super::{storage_err, Cf, Store};
use crate::error::Error;
use rocksdb::{DBRawIterator, ReadOptions, DB};
use std::sync::Arc;

type RawIter<'a> = DBRawIterator<'a>;

self_cell::self_cell!(
    /// An iterator together with the DB handle it borrows.
    struct OwnedIter {
        owner: Arc<DB>,
        #[covariant]
        dependent: RawIter,
    }
);

/// The iterators shared by the range reads of one tick (module doc).
#[derive(Default)]
pub struct TickIters {
    /// Column family, the sequence number it reads at, the iterator.
    slots: Vec<(Cf, u64, OwnedIter)>,
    /// The last key a walk handed out, to resume from if it stops incomplete.
    last: Vec<u8>,
}

impl TickIters {
    /// Drops every iterator (end of tick, reopen).
    pub fn clear(&mut self) {
        self.slots.clear();
    }
}

/// How a walk over the shared iterator ended.
enum Walked {
    Done,
    /// Too many deletion markers or old versions in a row: resume with a
    /// bounded iterator (after `TickIters::last` if `resume_after`).
    Incomplete {
        resume_after: bool,
    },
}

impl Store {
    /// A reusable forward cursor over `[lower, upper)` of `cf`, for many
    /// short seeks within one command (random picks: see [`Cursor`]).
    pub fn cursor(&self, cf: Cf, lower: &[u8], upper: Option<Vec<u8>>) -> Cursor<'_> {
        Cursor { store: self, cf, lower: lower.to_vec(), upper, it: None }
    }
}

/// Internal keys (deletion markers mostly) a [`Cursor`] seek or a shared
/// iterator's step may step over before it gives up and a range-bounded
/// iterator takes over (an unbounded one could walk far past the range).
const CURSOR_SKIP_LIMIT: u64 = 256;

/// What a walk covers: `[lower, upper)` of `cf` (`upper` None: to the
/// end), from `start` (forward: the first key `>= start`; reverse: the last
/// key `<= start`; None: from the first / last key).
#[derive(Clone, Copy)]
pub(super) struct Span<'a> {
    pub cf: Cf,
    pub lower: &'a [u8],
    pub upper: Option<&'a [u8]>,
    pub start: Option<&'a [u8]>,
    pub reverse: bool,
}

impl Store {
    /// Walks `span` on the tick's shared iterator; the open batch's overlay
    /// must be empty.
    pub(super) fn walk(&self, span: Span, mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<(), Error> {
        let Ok(mut iters) = self.iters.try_borrow_mut() else {
            // A walk from within another walk's callback: an iterator of its own.
            return self.walk_bounded(span, false, f);
        };
        let cf = span.cf;
        let seq = self.db.latest_sequence_number();
        let TickIters { slots, last } = &mut *iters;
        let i = match slots.iter().position(|(c, s, _)| *c == cf && *s == seq) {
            Some(i) => i,
            None => {
                slots.retain(|(c, _, _)| *c != cf);
                let it = OwnedIter::new(Arc::clone(&self.db), |db| {
                    let mut ro = ReadOptions::default();
                    ro.set_max_skippable_internal_keys(CURSOR_SKIP_LIMIT);
                    db.raw_iterator_cf_opt(super::cf_handle(db, cf), ro)
                });
                slots.push((cf, seq, it));
                slots.len() - 1
            }
        };
        let walked = slots[i].2.with_dependent_mut(|_, it| walk_unbounded(it, span, last, &mut f))?;
        match walked {
            Walked::Done => Ok(()),
            Walked::Incomplete { resume_after: false } => {
                drop(iters);
                self.walk_bounded(span, false, f)
            }
            Walked::Incomplete { resume_after: true } => {
                let from = std::mem::take(last);
                drop(iters);
                let r = self.walk_bounded(Span { start: Some(&from), ..span }, true, f);
                if let Ok(mut iters) = self.iters.try_borrow_mut() {
                    iters.last = from; // keep the buffer
                }
                r
            }
        }
    }

    /// A fresh iterator over `[lower, upper)` of `cf`.
    pub(super) fn bounded_iter(&self, cf: Cf, lower: &[u8], upper: Option<&[u8]>) -> DBRawIterator<'_> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(lower.to_vec());
        if let Some(up) = upper {
            ro.set_iterate_upper_bound(up.to_vec());
        }
        // A raw iterator lends each key and value in place: the boxed
        // iterator copies both into fresh allocations per entry, which
        // dominated long walks (a ZRANK counting half a million members).
        self.db.raw_iterator_cf_opt(self.cf(cf), ro)
    }

    /// [`Store::walk`] on a fresh bounded iterator; `after` skips a first
    /// key equal to `start` (resuming after a key already handed out).
    fn walk_bounded(&self, span: Span, after: bool, mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<(), Error> {
        let Span { cf, lower, upper, start, reverse } = span;
        let mut it = self.bounded_iter(cf, lower, upper);
        seek_from(&mut it, start, reverse);
        if after && start.is_some() && it.key() == start {
            step(&mut it, reverse);
        }
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            if !f(k, v) {
                break;
            }
            step(&mut it, reverse);
        }
        it.status().map_err(storage_err)
    }
}

/// Positions a bounded iterator at `start` (forward: the first key `>=`;
/// reverse: the last key `<=`), or at its first / last key.
pub(super) fn seek_from(it: &mut DBRawIterator, start: Option<&[u8]>, reverse: bool) {
    match (start, reverse) {
        (Some(s), false) => it.seek(s),
        (Some(s), true) => it.seek_for_prev(s),
        (None, false) => it.seek_to_first(),
        (None, true) => it.seek_to_last(),
    }
}

/// One step in the walk's direction.
pub(super) fn step(it: &mut DBRawIterator, reverse: bool) {
    if reverse {
        it.prev()
    } else {
        it.next()
    }
}

/// The walk of [`Store::walk`] on an unbounded iterator: the bounds are
/// checked here, as a bounded iterator would apply them. Each key handed to
/// `f` is kept in `last` (a reused buffer) in case the walk must resume.
fn walk_unbounded(
    it: &mut DBRawIterator,
    span: Span,
    last: &mut Vec<u8>,
    f: &mut impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<Walked, Error> {
    let Span { lower, upper, start, reverse, .. } = span;
    if reverse {
        match (start, upper) {
            (Some(s), Some(u)) if s < u => it.seek_for_prev(s),
            (Some(s), None) => it.seek_for_prev(s),
            (_, Some(u)) => {
                it.seek_for_prev(u);
                if it.key() == Some(u) {
                    it.prev();
                }
            }
            (None, None) => it.seek_to_last(),
        }
    } else {
        it.seek(start.map_or(lower, |s| s.max(lower)));
    }
    let mut handed = false;
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        let out = if reverse { k < lower } else { upper.is_some_and(|u| k >= u) };
        if out {
            return Ok(Walked::Done);
        }
        last.clear();
        last.extend_from_slice(k);
        handed = true;
        if !f(k, v) {
            return Ok(Walked::Done);
        }
        step(it, reverse);
    }
    match it.status() {
        Ok(()) => Ok(Walked::Done),
        Err(e) if e.kind() == rocksdb::ErrorKind::Incomplete => Ok(Walked::Incomplete { resume_after: handed }),
        Err(e) => Err(storage_err(e)),
    }
}

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
        let span = Span { cf: self.cf, lower: lo, upper: end, start: None, reverse: true };
        store.iter_bounded(span, |k, v| {
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
        let span = Span { cf: self.cf, lower: &self.lower, upper, start: Some(start), reverse: false };
        store.iter_bounded(span, |k, v| {
            if after && k == start {
                return true;
            }
            out = f.take().map(|f| f(k, v));
            false
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testutil::TempStore;

    fn k(i: u32) -> Vec<u8> {
        [&b"k"[..], &i.to_be_bytes()].concat()
    }

    fn put_range(t: &mut TempStore, ids: impl Iterator<Item = u32>) {
        t.run(|tx| ids.for_each(|i| tx.put(Cf::Data, k(i), i.to_be_bytes().to_vec())));
    }

    fn shared(s: &Store, lo: &[u8], up: Option<&[u8]>, start: Option<&[u8]>, rev: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        s.walk(Span { cf: Cf::Data, lower: lo, upper: up, start, reverse: rev }, |k, _| {
            out.push(k.to_vec());
            true
        })
        .unwrap();
        out
    }

    fn bounded(s: &Store, lo: &[u8], up: Option<&[u8]>, start: Option<&[u8]>, rev: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        s.walk_bounded(Span { cf: Cf::Data, lower: lo, upper: up, start, reverse: rev }, false, |k, _| {
            out.push(k.to_vec());
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn shared_walks_apply_bounds_like_bounded_iterators() {
        let mut t = TempStore::new();
        put_range(&mut t, (0..40).map(|i| i * 2));
        let points: Vec<Vec<u8>> = [0, 1, 2, 7, 40, 77, 78, 79, 200].iter().map(|&i| k(i)).collect();
        for lo in &points {
            for up in points.iter().map(Some).chain([None]) {
                for start in points.iter().map(Some).chain([None]) {
                    for rev in [false, true] {
                        let (up, start) = (up.map(Vec::as_slice), start.map(Vec::as_slice));
                        let want = bounded(&t.store, lo, up, start, rev);
                        assert_eq!(shared(&t.store, lo, up, start, rev), want, "{lo:?} {up:?} {start:?} {rev}");
                    }
                }
            }
        }
    }

    /// Through `iter_prefix`, which hands the tick's deferred writes over first.
    fn all(s: &Store) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        s.iter_prefix(Cf::Data, b"k", None, false, |k, _| {
            out.push(k.to_vec());
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn a_write_after_the_shared_iterator_is_seen() {
        let mut t = TempStore::new();
        put_range(&mut t, 0..3);
        assert_eq!(all(&t.store).len(), 3);
        t.store.begin_tick();
        put_range(&mut t, 3..5);
        assert_eq!(all(&t.store).len(), 5);
        t.run(|tx| tx.delete(Cf::Data, k(0)));
        assert_eq!(all(&t.store).first(), Some(&k(1)));
        t.store.end_tick(false).unwrap();
        put_range(&mut t, 0..1);
        assert_eq!(all(&t.store).len(), 5);
    }

    #[test]
    fn runs_of_deletion_markers_resume_on_a_bounded_iterator() {
        let mut t = TempStore::new();
        put_range(&mut t, 0..2000);
        t.run(|tx| (5..1900).for_each(|i| tx.delete(Cf::Data, k(i))));
        let want: Vec<Vec<u8>> = (0..5).chain(1900..2000).map(k).collect();
        assert_eq!(shared(&t.store, b"k", None, None, false), want);
        let rev: Vec<Vec<u8>> = want.iter().rev().cloned().collect();
        assert_eq!(shared(&t.store, b"k", None, None, true), rev);
        // Nothing handed out before the markers: resumes from the start.
        assert_eq!(shared(&t.store, &k(5), None, None, false), want[5..].to_vec());
    }

    #[test]
    fn a_walk_inside_a_walk_gets_its_own_iterator() {
        let mut t = TempStore::new();
        put_range(&mut t, 0..4);
        let mut pairs = 0;
        t.store
            .walk(Span { cf: Cf::Data, lower: b"k", upper: None, start: None, reverse: false }, |_, _| {
                pairs += shared(&t.store, b"k", None, None, true).len();
                true
            })
            .unwrap();
        assert_eq!(pairs, 16);
    }
}
