//! The active expiry cycle: walks the `expire` index in time order and deletes
//! keys whose time has come, within a time budget, so expired keys leave
//! DBSIZE/KEYS/SCAN without being touched. Index entries that no longer match
//! their key (changed expiry, FLUSHDB) are dropped on the way.

use crate::error::Error;
use crate::storage::keys::{self, Cf};
use crate::storage::{now_ms, Store, Tx};
use std::time::{Duration, Instant};

/// Keys examined per batch (one commit per batch).
const BATCH: usize = 64;

/// Runs one cycle for at most `budget`; returns the number of keys expired.
/// `cursor_ms` remembers where the index was left (entries before it were
/// handled; a key is never given an expiry in the past, it is deleted instead).
pub fn active_expire_cycle(store: &mut Store, cursor_ms: &mut u64, budget: Duration) -> Result<u64, Error> {
    let started = Instant::now();
    let mut expired = 0;
    loop {
        let now = now_ms();
        let due = store.due_expiries(*cursor_ms, now, BATCH)?;
        if due.is_empty() {
            return Ok(expired);
        }
        let mut tx = Tx::new(store, 0, now);
        for (ms, db, key) in &due {
            let live = tx.raw_meta_in(*db, key)?;
            match live {
                Some(m) if m.expire_ms() == *ms && m.is_expired(now) => {
                    tx.set_meta_in(*db, key, None)?;
                    expired += 1;
                }
                _ => tx.delete(Cf::Expire, keys::expire(*ms, *db, key)),
            }
        }
        let n = due.len();
        let last = due.last().map(|d| d.0).unwrap_or(*cursor_ms);
        let data = tx.finish();
        store.commit(data)?;
        *cursor_ms = last;
        if n < BATCH || started.elapsed() >= budget {
            return Ok(expired);
        }
    }
}
