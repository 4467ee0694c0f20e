//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, as Redis 7.
//!
//! - While a client is in MULTI, `dispatch` queues its commands (`queue`)
//!   after checking that they exist and have a valid arity; a rejected command
//!   makes EXEC fail with EXECABORT. MULTI, EXEC, DISCARD, WATCH, QUIT and
//!   RESET run at once.
//! - EXEC runs the queue with nothing interleaved (one executor thread), every
//!   command with its own reply and errors in place (no rollback), inside one
//!   storage batch: after a crash either the whole transaction is on disk or
//!   none of it. Blocking commands answer at once as if they timed out.
//! - WATCH: `touch` (called by the dispatcher for every committed change,
//!   deletions and FLUSHDB/FLUSHALL included) marks the watchers of a changed
//!   key; EXEC then replies a null array. A watched key that was live at WATCH
//!   time and has expired by EXEC also aborts, like Redis 7.

use super::state::{ServerState, Watched};
use super::{call, CommandSpec, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::storage::{Store, TxData};

/// Commands that run at once inside MULTI instead of being queued.
pub fn runs_in_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Marks the client's open transaction (if any) as failed: a command was rejected.
pub fn flag_error(state: &mut ServerState, client: usize) {
    let c = &mut state.clients[client];
    if c.multi.is_some() {
        c.multi_aborted = true;
    }
}

/// Queues `args` for EXEC, or rejects it (arity) and fails the transaction.
pub fn queue(state: &mut ServerState, client: usize, out: &mut ReplyBuf, args: &Args, spec: &'static CommandSpec) {
    if !super::arity_ok(spec.arity, args.len()) {
        state.stats.errors += 1;
        flag_error(state, client);
        out.error(&CmdError::WrongArity(spec.name.into()));
        return;
    }
    if let Some(q) = state.clients[client].multi.as_mut() {
        q.push((spec, args.to_owned_args()));
    }
    out.simple("QUEUED");
}

/// MULTI
///
/// O(1).
pub fn multi(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let me = ctx.me();
    if me.multi.is_some() {
        return Err(CmdError::Err("MULTI calls can not be nested"));
    }
    me.multi = Some(Vec::new());
    me.multi_aborted = false;
    ctx.out.ok();
    Ok(())
}

/// DISCARD
///
/// O(N) in the queued commands.
pub fn discard(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.me().multi.is_none() {
        return Err(CmdError::Err("DISCARD without MULTI"));
    }
    discard_transaction(ctx.state, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// Drops the client's queue and watched keys (DISCARD, EXEC, RESET, disconnect).
pub fn discard_transaction(state: &mut ServerState, client: usize) {
    let Some(c) = state.clients.get_mut(client) else { return };
    c.multi = None;
    c.multi_aborted = false;
    unwatch_all(state, client);
}

/// EXEC
///
/// Runs the queued commands in one storage batch; replies their replies as an
/// array, a null array if a watched key changed, or EXECABORT.
pub fn exec(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let me = ctx.me();
    let Some(queued) = me.multi.take() else {
        return Err(CmdError::Err("EXEC without MULTI"));
    };
    let aborted = me.multi_aborted;
    let store = ctx.tx.store();
    let cas_failed = ctx.me().dirty_cas || watched_key_expired(ctx, store);
    discard_transaction(ctx.state, ctx.client);
    if aborted {
        return Err(CmdError::Raw("EXECABORT Transaction discarded because of previous errors.".into()));
    }
    if cas_failed {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(queued.len());
    store.begin_batch();
    ctx.state.deny_blocking += 1;
    ctx.state.frozen_clock = Some(ctx.tx.now_ms);
    for (spec, args) in &queued {
        call(store, ctx.state, ctx.client, ctx.out, &args.as_args(), spec);
    }
    ctx.state.frozen_clock = None;
    ctx.state.deny_blocking -= 1;
    // Nothing of the transaction is written if this fails: the replies go.
    store
        .end_batch()
        .map_err(|e| store.write_error().map_or_else(|| CmdError::storage(e), |c| CmdError::misconf(&c)))?;
    Ok(())
}

/// True if `key` exists in `db` and has not expired at `now`.
fn live(store: &Store, db: u8, key: &[u8], now: u64) -> Result<bool, crate::error::Error> {
    Ok(store.get_meta_in(db, key)?.is_some_and(|m| !m.is_expired(now)))
}

/// A key live at WATCH time that is gone or expired now (a read error counts
/// as gone: the transaction aborts rather than run on unknown state).
fn watched_key_expired(ctx: &mut Ctx, store: &Store) -> bool {
    let now = ctx.tx.now_ms;
    ctx.state.clients[ctx.client]
        .watched
        .iter()
        .filter(|w| w.live)
        .any(|w| !live(store, w.db, &w.key, now).unwrap_or(false))
}

/// WATCH key [key ...]
///
/// O(1) per key.
pub fn watch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.me().multi.is_some() {
        return Err(CmdError::Err("WATCH inside MULTI is not allowed"));
    }
    let db = ctx.tx.db;
    for key in args.iter_from(1) {
        if ctx.me().watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        let live = live(ctx.tx.store(), db, key, ctx.tx.now_ms)?;
        ctx.me().watched.push(Watched { db, key: key.to_vec(), live });
        ctx.state.watched_keys.entry((db, key.to_vec())).or_default().push(ctx.client);
    }
    ctx.out.ok();
    Ok(())
}

/// UNWATCH
///
/// O(N) in the watched keys.
pub fn unwatch(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    unwatch_all(ctx.state, ctx.client);
    ctx.out.ok();
    Ok(())
}

/// Forgets every key `client` watches.
pub fn unwatch_all(state: &mut ServerState, client: usize) {
    let Some(c) = state.clients.get_mut(client) else { return };
    c.dirty_cas = false;
    for w in std::mem::take(&mut c.watched) {
        let slot = (w.db, w.key);
        if let Some(v) = state.watched_keys.get_mut(&slot) {
            v.retain(|&x| x != client);
            if v.is_empty() {
                state.watched_keys.remove(&slot);
            }
        }
    }
}

/// Marks the watchers of every key `data` changes. Called before the commit,
/// so a flush can still tell which watched keys exist (Redis only touches
/// those).
pub fn touch(store: &Store, state: &mut ServerState, data: &TxData) {
    let mut hit: Vec<usize> = Vec::new();
    for (db, key) in data.changed_keys() {
        if let Some(v) = state.watched_keys.get(&(db, key.to_vec())) {
            hit.extend_from_slice(v);
        }
    }
    for flushed in data.flushed_dbs() {
        for ((db, key), v) in &state.watched_keys {
            if flushed.map_or(true, |d| d == *db) && matches!(store.get_meta_in(*db, key), Ok(Some(_))) {
                hit.extend_from_slice(v);
            }
        }
    }
    for c in hit {
        if let Some(c) = state.clients.get_mut(c) {
            c.dirty_cas = true;
        }
    }
}
