//! The event loop: poll → accept / read → parse → dispatch → (end of tick)
//! WAL flush/sync → write replies. Timers (active expiry, WAL sync, idle
//! clients) run between ticks; the poll timeout is the time to the next one.
//!
//! Ordering that durability depends on: a reply is written only after
//! `Store::flush_wal` for every write made before it (and, with `sync =
//! "always"`, after the fsync), so an acknowledged write survives a process
//! crash (or, with `always`, a power loss). Once a tick has written, its
//! replies wait for the tick's end (one flush for all); until then, each
//! client's replies are written as soon as it is served.

use super::busy::Servicer;
use super::conn::{Conn, ReadOutcome};
use super::{exclusive, Server, CONN_BASE, LISTENER, SIGNALS};
use crate::cmd::state::{Blocked, Client};
use crate::cmd::{count_timed_out, dispatch};
use crate::config::SyncPolicy;
use crate::error::Error;
use crate::resp::args::{Args, OwnedArgs};
use crate::resp::parser::{Auth, Limits, Parsed};
use crate::storage::now_ms;
use crate::types::expire::active_expire_cycle;
use mio::net::TcpListener;
use mio::{Events, Interest, Registry, Token};
use slab::Slab;
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// Largest inline request (Redis PROTO_INLINE_MAX_SIZE).
const INLINE_MAX: usize = 64 * 1024;

impl Server {
    /// Runs until SHUTDOWN or SIGINT/SIGTERM, then closes the store cleanly.
    pub fn run(&mut self) -> Result<(), Error> {
        let mut events = Events::with_capacity(1024);
        let mut last_cron = Instant::now();
        let mut last_sync = Instant::now();
        let mut last_idle_check = Instant::now();
        log::info!("ready to accept connections on port {}", self.state.port);
        loop {
            let cron_every = Duration::from_millis(1000 / self.state.config.server.hz.max(1) as u64);
            let mut timeout = cron_every.saturating_sub(last_cron.elapsed());
            if let Some(next_deadline) = self.expire_blocked() {
                timeout = timeout.min(next_deadline);
            }
            self.resume_unblocked();
            if !self.pending_writes.is_empty() {
                self.before_sleep();
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e.into());
                }
            }
            // Commits of this tick's commands gather into one RocksDB write,
            // made by `before_sleep` before any reply goes out.
            self.store.begin_tick();
            let mut stop = false;
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    SIGNALS => {
                        for sig in self.signals.pending() {
                            log::warn!("received signal {sig}, shutting down");
                            stop = true;
                        }
                    }
                    Token(t) => {
                        let key = t - CONN_BASE;
                        if !self.conns.contains(key) || self.conns[key].closing {
                            continue; // a stale event for a closed connection
                        }
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            self.handle_readable(key);
                        }
                        if ev.is_writable() && !self.conns[key].closing {
                            self.queue_write(key);
                        }
                    }
                }
            }
            self.resume_unblocked();
            self.before_sleep();
            if last_cron.elapsed() >= cron_every {
                last_cron = Instant::now();
                self.cron(cron_every);
            }
            if self.state.config.storage.sync == SyncPolicy::Everysec && last_sync.elapsed() >= Duration::from_secs(1) {
                last_sync = Instant::now();
                self.store.sync_in_background();
            }
            if self.state.config.server.timeout > 0 && last_idle_check.elapsed() >= Duration::from_secs(1) {
                last_idle_check = Instant::now();
                self.close_idle();
            }
            if stop || self.state.shutdown.is_some() {
                return self.shutdown();
            }
        }
    }

    fn accept(&mut self) {
        let authed = self.state.config.server.requirepass.is_empty();
        let state = &mut self.state;
        let (clients, stats) = (&mut state.clients, &mut state.stats);
        let limit = state.config.server.maxclients;
        let next_id = &mut state.next_client_id;
        let admitted = accept_into(
            &self.listener,
            self.poll.registry(),
            &mut self.conns,
            limit,
            authed,
            next_id,
            |key, client| {
                let ck = clients.insert(client);
                debug_assert_eq!(ck, key, "invariant: client and connection slabs share keys");
            },
        );
        stats.connections += admitted.accepted;
        stats.rejected += admitted.rejected;
    }

    /// Reads until WouldBlock, running every complete command after each chunk.
    fn handle_readable(&mut self, key: usize) {
        loop {
            let outcome = self.conns[key].read_chunk();
            match outcome {
                ReadOutcome::Data { n, drained } => {
                    self.state.stats.net_in += n as u64;
                    self.process_input(key);
                    let conn = &self.conns[key];
                    if conn.closing || self.state.clients[key].close_after_reply {
                        break;
                    }
                    if conn.pending_input() > self.state.config.server.client_query_buffer_limit {
                        log::warn!("closing client {}: query buffer limit reached", self.state.clients[key].addr);
                        self.close(key);
                        return;
                    }
                    if drained {
                        break;
                    }
                }
                ReadOutcome::WouldBlock => break,
                ReadOutcome::Closed => {
                    self.close(key);
                    return;
                }
            }
        }
        if self.store.nothing_unflushed(self.state.config.storage.sync == SyncPolicy::Always) {
            // Nothing to make durable first (read-only so far this tick):
            // reply now rather than after every other ready client. Held to
            // the tick's end, 50 pipelining clients' replies leave in one
            // burst, so the clients sit idle while the server runs the whole
            // tick, and the server then waits for their next burst.
            self.write_conn(key);
        } else {
            self.queue_write(key);
        }
    }

    /// Parses and runs every complete command in the connection's buffer.
    fn process_input(&mut self, key: usize) {
        let limits = Limits {
            max_bulk_len: self.state.config.server.proto_max_bulk_len,
            max_multibulk_len: 1024 * 1024,
            max_inline_len: INLINE_MAX,
        };
        loop {
            let client = &self.state.clients[key];
            if client.close_after_reply || client.blocked.is_some() || self.conns[key].closing {
                return;
            }
            let conn = &mut self.conns[key];
            // Unauthenticated clients get Redis's tighter request limits.
            conn.parser.set_auth(if client.authed { Auth::NotRequired } else { Auth::Required });
            let start = conn.start;
            match conn.parser.parse(&mut conn.inbuf[start..conn.end], &limits) {
                Parsed::Command { consumed } => {
                    if self.store.write_error().is_some() {
                        // After a write error (disk full): a rate-limited probe
                        // whether writes work again, so they resume by themselves.
                        let _ = exclusive(&mut self.store).writable();
                    }
                    let conn = &mut self.conns[key];
                    let buf = &conn.inbuf[start..start + consumed];
                    let args = Args::new(buf, conn.parser.spans());
                    if !args.is_empty() && crate::cmd::script::may_run_script(args.get(0)) {
                        // (Scripts and EXEC never block: no block request.)
                        let mut owned = std::mem::take(&mut self.script_args);
                        args.copy_into(&mut owned);
                        self.dispatch_lending(key, &owned.as_args(), limits);
                        self.script_args = owned;
                    } else if !args.is_empty() {
                        dispatch(&self.store, &mut self.state, key, &mut conn.out, &args);
                        if let Some(mut req) = self.state.block_request.take() {
                            let db = self.state.clients[key].db;
                            let args = match req.rerun.take() {
                                Some(rerun) => OwnedArgs::from_slices(rerun.iter().map(Vec::as_slice)),
                                None => args.to_owned_args(),
                            };
                            self.state.park(key, Blocked { args, db, req });
                        }
                    }
                    self.conns[key].start += consumed;
                    self.deliver_pushes();
                    if self.conns[key].closing {
                        return;
                    }
                    let conn = &mut self.conns[key];
                    let limit = self.state.config.server.client_output_buffer_limit;
                    if limit > 0 && conn.pending_output() > limit {
                        // Checked per command, like Redis, so one pipelined read
                        // cannot pile up gigabytes of replies before the check.
                        log::warn!("closing client {}: output buffer limit reached", self.state.clients[key].addr);
                        self.close(key);
                        return;
                    }
                    if !self.state.ready_keys.is_empty() {
                        // Like Redis: clients blocked on keys this command fed
                        // are served before the next command runs.
                        self.serve_blocked();
                    }
                }
                Parsed::Incomplete => return,
                Parsed::Error(msg) => {
                    let text = format!("ERR Protocol error: {msg}");
                    log::info!("protocol error from client {}: {msg}", self.state.clients[key].addr);
                    conn.out.error_text(text.as_bytes());
                    conn.start = conn.end;
                    self.state.clients[key].close_after_reply = true;
                    return;
                }
            }
        }
    }

    /// Runs a command that may run a script with the other connections lent
    /// to the script engine, which serves them while the script is busy
    /// (see `busy`); takes them back after (with the connections accepted
    /// meanwhile), and runs the input it left for the server.
    fn dispatch_lending(&mut self, key: usize, args: &Args, limits: Limits) {
        let mut out = std::mem::take(&mut self.conns[key].out);
        let conns = std::mem::take(&mut self.conns);
        let mut servicer = self.servicer.take().expect("invariant: the servicer is home between commands");
        servicer.lend(conns, key, limits);
        self.state.scripting.lend(servicer, self.store.clone());
        dispatch(&self.store, &mut self.state, key, &mut out, args);
        let lent = self.state.scripting.reclaim().expect("invariant: the engine returns what it was lent");
        let mut lent: Box<Servicer> = lent.into_any().downcast().expect("invariant: the server lent a Servicer");
        self.conns = std::mem::take(&mut lent.conns);
        self.conns[key].out = out;
        for &k in &lent.unwritten {
            self.queue_write(k);
        }
        for &k in &lent.closed {
            self.close(k);
        }
        let deferred = std::mem::take(&mut lent.deferred);
        self.servicer = Some(lent);
        for k in deferred {
            // The servicer stopped mid-way: run what it left, then read and
            // run the rest (edge-triggered polling would not report it).
            if !self.conns[k].closing {
                self.process_input(k);
            }
            if !self.conns[k].closing {
                self.handle_readable(k);
            }
        }
    }

    /// Moves messages published by the last command into their subscribers'
    /// output, closing a subscriber past the `pubsub` output limits (hard: at
    /// once; soft: when it stays above for the configured seconds), like Redis.
    fn deliver_pushes(&mut self) {
        if self.state.push_targets.is_empty() {
            return;
        }
        let now = now_ms();
        for key in std::mem::take(&mut self.state.push_targets) {
            let Some(c) = self.state.clients.get_mut(key) else { continue };
            let Some(conn) = self.conns.get_mut(key) else {
                c.pushes.clear();
                continue;
            };
            if conn.closing {
                c.pushes.clear();
                continue;
            }
            // Copy, then clear: the client's push buffer keeps its capacity,
            // so a fan-out does not allocate per subscriber per message.
            conn.out.buf.extend_from_slice(&c.pushes);
            c.pushes.clear();
            let pending = conn.pending_output();
            let cfg = &self.state.config.server;
            let (hard, soft, soft_ms) =
                (cfg.pubsub_output_hard_limit, cfg.pubsub_output_soft_limit, cfg.pubsub_output_soft_seconds * 1000);
            let over_soft = soft > 0 && pending > soft;
            let since = if over_soft { *c.soft_limit_since.get_or_insert(now) } else { now };
            if !over_soft {
                c.soft_limit_since = None;
            }
            if (hard > 0 && pending > hard) || (over_soft && now - since >= soft_ms) {
                log::warn!(
                    "closing subscriber {}: pubsub output buffer limit reached ({pending} bytes pending)",
                    c.addr
                );
                self.close(key);
                continue;
            }
            self.queue_write(key);
        }
    }

    /// Runs the commands of clients blocked on ready keys again, FIFO per key.
    /// A command that still cannot proceed stays parked in its place.
    fn serve_blocked(&mut self) {
        while !self.state.ready_keys.is_empty() {
            for slot in std::mem::take(&mut self.state.ready_keys) {
                let waiters: Vec<usize> =
                    self.state.blocking_keys.get(&slot).map(|q| q.iter().copied().collect()).unwrap_or_default();
                for c in waiters {
                    let Some(args) = self.state.clients.get(c).and_then(|x| x.blocked.as_ref()).map(|b| b.args.clone())
                    else {
                        continue;
                    };
                    dispatch(&self.store, &mut self.state, c, &mut self.conns[c].out, &args.as_args());
                    self.deliver_pushes();
                    if self.state.block_request.take().is_some() {
                        continue;
                    }
                    self.state.unpark(c);
                    self.resume.push(c);
                    self.queue_write(c);
                }
            }
        }
    }

    /// Replies to blocked clients whose deadline passed; returns the time to
    /// the next deadline (for the poll timeout).
    fn expire_blocked(&mut self) -> Option<Duration> {
        if self.state.blocking_keys.is_empty() {
            return None;
        }
        let now = now_ms();
        let mut next: Option<u64> = None;
        let mut due = Vec::new();
        for (k, c) in self.state.clients.iter() {
            if let Some(d) = c.blocked.as_ref().and_then(|b| b.req.deadline_ms) {
                if d <= now {
                    due.push(k);
                } else {
                    next = Some(next.map_or(d, |n| n.min(d)));
                }
            }
        }
        for k in due {
            if let Some(b) = self.state.unpark(k) {
                count_timed_out(&mut self.state, &b.args.as_args());
                // Every Redis 7.0 blocking command times out with a null array.
                self.conns[k].out.null_array();
                self.resume.push(k);
                self.queue_write(k);
            }
        }
        next.map(|d| Duration::from_millis(d.saturating_sub(now)))
    }

    /// Runs the pipelined input of clients that were just unblocked.
    fn resume_unblocked(&mut self) {
        while let Some(k) = self.resume.pop() {
            if self.conns.contains(k) {
                self.process_input(k);
                self.queue_write(k);
            }
        }
    }

    fn queue_write(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        if !conn.queued && (conn.pending_output() > 0 || self.state.clients[key].close_after_reply) {
            conn.queued = true;
            self.pending_writes.push(key);
        }
    }

    /// End of tick: make the tick's writes durable per policy, then write replies.
    fn before_sleep(&mut self) {
        let sync = self.state.config.storage.sync == SyncPolicy::Always;
        if let Err(e) = self.store.end_tick(sync) {
            // Replies must not claim durability we do not have: drop the clients' output.
            log::error!("WAL flush failed, closing clients of this tick: {e}");
            for key in std::mem::take(&mut self.pending_writes) {
                self.close(key);
            }
        }
        for key in std::mem::take(&mut self.pending_writes) {
            self.write_conn(key);
        }
        for key in std::mem::take(&mut self.to_close) {
            if let Some(mut conn) = self.conns.try_remove(key) {
                let _ = self.poll.registry().deregister(&mut conn.stream);
                self.state.clients.remove(key);
            }
        }
    }

    /// Writes a connection's pending output (until done or WouldBlock, then
    /// WRITABLE interest), closing it after its last reply or past the
    /// output limit. Only once the writes it acknowledges are flushed.
    fn write_conn(&mut self, key: usize) {
        let limit = self.state.config.server.client_output_buffer_limit;
        let Some(conn) = self.conns.get_mut(key) else { return };
        conn.queued = false;
        // Buffer sizes for CLIENT LIST / INFO, refreshed for active clients only.
        if let Some(c) = self.state.clients.get_mut(key) {
            c.qbuf = conn.pending_input();
            c.obuf = conn.pending_output();
        }
        if conn.closing {
            return;
        }
        match conn.flush() {
            Ok((n, done)) => {
                self.state.stats.net_out += n as u64;
                let close_now = done && self.state.clients[key].close_after_reply;
                if close_now {
                    self.close(key);
                    return;
                }
                let conn = &mut self.conns[key];
                if !done && limit > 0 && conn.pending_output() > limit {
                    log::warn!("closing client {}: output buffer limit reached", self.state.clients[key].addr);
                    self.close(key);
                    return;
                }
                let want = !done;
                if want != conn.want_write {
                    conn.want_write = want;
                    let interest = if want { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
                    let _ = self.poll.registry().reregister(&mut conn.stream, Token(key + CONN_BASE), interest);
                }
            }
            Err(_) => self.close(key),
        }
    }

    fn close(&mut self, key: usize) {
        self.state.unpark(key);
        crate::cmd::multi::discard_transaction(&mut self.state, key);
        crate::cmd::pubsub::unsubscribe_all(&mut self.state, key);
        if let Some(conn) = self.conns.get_mut(key) {
            if !conn.closing {
                conn.closing = true;
                self.to_close.push(key);
            }
        }
    }

    fn cron(&mut self, budget_base: Duration) {
        // Like Redis: spend at most a quarter of the timer period expiring keys.
        let budget = budget_base / 4;
        match active_expire_cycle(exclusive(&mut self.store), &mut self.expire_cursor_ms, budget) {
            Ok(n) => self.state.stats.expired_keys += n,
            Err(e) => log::error!("active expiry failed: {e}"),
        }
        // Closing clients killed by CLIENT KILL / QUIT that have nothing left to write.
        let done: Vec<usize> = self
            .state
            .clients
            .iter()
            .filter(|(k, c)| c.close_after_reply && self.conns.get(*k).is_some_and(|x| x.pending_output() == 0))
            .map(|(k, _)| k)
            .collect();
        for k in done {
            self.close(k);
        }
        self.before_sleep();
    }

    fn close_idle(&mut self) {
        let limit_ms = self.state.config.server.timeout * 1000;
        let now = now_ms();
        let idle: Vec<usize> = self
            .state
            .clients
            .iter()
            .filter(|(_, c)| now.saturating_sub(c.last_ms) > limit_ms)
            .map(|(k, _)| k)
            .collect();
        for k in idle {
            log::info!("closing idle client {}", self.state.clients[k].addr);
            self.close(k);
        }
        self.before_sleep();
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        log::warn!("shutting down: syncing the WAL and flushing memtables");
        self.before_sleep();
        self.store.close_cleanly()?;
        log::warn!("DiskDB is now ready to exit, bye bye...");
        Ok(())
    }
}

/// Connections `accept_into` took, and refused (past `maxclients`).
#[derive(Default)]
pub struct Admitted {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections refused.
    pub rejected: u64,
}

/// Accepts every pending connection on `listener` into `conns` (beyond
/// `maxclients` one gets Redis's error and is closed), registered for
/// reading under its slab key; `admit` gets the new client's state, whose
/// id comes from `next_id`. Used by the event loop and, while a script is
/// busy, by the busy service.
pub(super) fn accept_into(
    listener: &TcpListener,
    registry: &Registry,
    conns: &mut Slab<Conn>,
    maxclients: usize,
    authed: bool,
    next_id: &mut u64,
    mut admit: impl FnMut(usize, Client),
) -> Admitted {
    let mut n = Admitted::default();
    loop {
        match listener.accept() {
            Ok((mut stream, peer)) => {
                if conns.len() >= maxclients {
                    n.rejected += 1;
                    let _ = stream.write(b"-ERR max number of clients reached\r\n");
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let entry = conns.vacant_entry();
                let key = entry.key();
                if let Err(e) = registry.register(&mut stream, Token(key + CONN_BASE), Interest::READABLE) {
                    log::warn!("cannot register client {peer}: {e}");
                    continue;
                }
                let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
                let conn = entry.insert(Conn::new(stream));
                // Unauthenticated clients get Redis's tighter request limits.
                conn.parser.set_auth(if authed { Auth::NotRequired } else { Auth::Required });
                let id = *next_id;
                *next_id += 1;
                admit(key, Client::new(id, peer.to_string(), laddr, authed));
                n.accepted += 1;
                log::debug!("accepted client {id} from {peer}");
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::warn!("accept failed: {e}");
                return n;
            }
        }
    }
}
