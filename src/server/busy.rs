//! Serving the other clients while a script is busy (Redis's
//! `processEventsWhileBlocked` from the Lua hook): for a command that may
//! run a script, the server lends its connections to the script engine;
//! past `busy-reply-threshold` the hook calls `serve` with the server state
//! and the store, which accepts new connections (as Redis does, within
//! `maxclients`), reads every other connection and answers each command it
//! finds (`Busy::answer`: -BUSY, SCRIPT KILL, FUNCTION KILL, NOAUTH, and
//! the commands Redis runs while busy: AUTH, HELLO, MULTI, WATCH, QUIT...).
//! Input the server must see (a protocol error) is left for after the
//! script (`deferred`).
//!
//! One `Servicer` lives as long as the server, lent and taken back per
//! command; it owns a duplicate of the listening socket and of the poll
//! registry, so it can accept while the server is inside the script.

use super::conn::{Conn, ReadOutcome};
use super::event_loop::accept_into;
use crate::cmd::script::busy::{Busy, BusyService};
use crate::cmd::state::ServerState;
use crate::resp::args::Args;
use crate::resp::parser::{Auth, Limits, Parsed};
use crate::storage::Store;
use mio::net::TcpListener;
use mio::Registry;
use slab::Slab;
use std::any::Any;
use std::os::fd::AsFd;

/// The connections lent for one command, and what became of them.
pub struct Servicer {
    /// Every connection (the running client's output is not in it).
    pub conns: Slab<Conn>,
    /// The client running the script: not read.
    running: usize,
    limits: Limits,
    /// Connections that closed meanwhile (the server closes them after).
    pub closed: Vec<usize>,
    /// Connections with output left to write, or to close once written
    /// (queued by the server after).
    pub unwritten: Vec<usize>,
    /// Connections with input left for the server (a protocol error); not
    /// read again meanwhile (the server runs their input after).
    pub deferred: Vec<usize>,
    listener: TcpListener,
    registry: Registry,
}

impl Servicer {
    /// A servicer accepting on a duplicate of `listener`, registering with
    /// a duplicate of `registry`.
    pub fn new(listener: &TcpListener, registry: &Registry) -> std::io::Result<Servicer> {
        let fd = listener.as_fd().try_clone_to_owned()?;
        Ok(Servicer {
            conns: Slab::new(),
            running: 0,
            limits: Limits { max_bulk_len: 0, max_multibulk_len: 0, max_inline_len: 0 },
            closed: Vec::new(),
            unwritten: Vec::new(),
            deferred: Vec::new(),
            listener: TcpListener::from_std(std::net::TcpListener::from(fd)),
            registry: registry.try_clone()?,
        })
    }

    /// Takes `conns` while `running` runs a command under request `limits`.
    pub fn lend(&mut self, conns: Slab<Conn>, running: usize, limits: Limits) {
        (self.conns, self.running, self.limits) = (conns, running, limits);
        self.closed.clear();
        self.unwritten.clear();
        self.deferred.clear();
    }
}

impl BusyService for Servicer {
    fn serve(&mut self, busy: &mut Busy, store: &Store, state: &mut ServerState) {
        let Servicer { conns, running, limits, closed, unwritten, deferred, .. } = self;
        let cfg = &state.config.server;
        let (clients, stats) = (&mut state.clients, &mut state.stats);
        let admitted = accept_into(
            &self.listener,
            &self.registry,
            conns,
            cfg.maxclients,
            cfg.requirepass.is_empty(),
            &mut state.next_client_id,
            |key, client| {
                let ck = clients.insert(client);
                debug_assert_eq!(ck, key, "invariant: client and connection slabs share keys");
            },
        );
        stats.connections += admitted.accepted;
        stats.rejected += admitted.rejected;
        for (key, conn) in conns.iter_mut() {
            let c = &state.clients[key];
            // Like the server, a blocked client's input waits until it is
            // served, and nothing is read after QUIT.
            if key == *running
                || conn.closing
                || c.blocked.is_some()
                || c.close_after_reply
                || closed.contains(&key)
                || deferred.contains(&key)
            {
                continue;
            }
            // Output queued earlier in this tick waits for the server (it is
            // written after the WAL flush); only a connection with nothing
            // unwritten gets its answers now.
            let idle = conn.pending_output() == 0;
            loop {
                match conn.read_chunk() {
                    ReadOutcome::Data { drained, .. } => {
                        if !answer(conn, limits, busy, store, state, key) {
                            deferred.push(key);
                            break;
                        }
                        if drained || state.clients[key].close_after_reply {
                            break;
                        }
                    }
                    ReadOutcome::WouldBlock => break,
                    ReadOutcome::Closed => {
                        closed.push(key);
                        break;
                    }
                }
            }
            if idle && conn.pending_output() > 0 && conn.flush().is_err() {
                closed.push(key);
            }
            if state.clients[key].close_after_reply && conn.pending_output() == 0 {
                // QUIT, answered: closed now, as Redis closes it.
                let _ = conn.stream.shutdown(std::net::Shutdown::Both);
                closed.push(key);
            } else if (conn.pending_output() > 0 || state.clients[key].close_after_reply) && !unwritten.contains(&key) {
                unwritten.push(key);
            }
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Answers every complete command in `conn`'s input (client `key`), until
/// the client is to be closed. False if a protocol error is left for the
/// server.
fn answer(
    conn: &mut Conn,
    limits: &Limits,
    busy: &mut Busy,
    store: &Store,
    state: &mut ServerState,
    key: usize,
) -> bool {
    loop {
        if state.clients[key].close_after_reply {
            return true;
        }
        // Unauthenticated clients get Redis's tighter request limits.
        conn.parser.set_auth(if state.clients[key].authed { Auth::NotRequired } else { Auth::Required });
        let start = conn.start;
        match conn.parser.parse(&mut conn.inbuf[start..conn.end], limits) {
            Parsed::Command { consumed } => {
                let args = Args::new(&conn.inbuf[start..start + consumed], conn.parser.spans());
                if !args.is_empty() {
                    busy.answer(store, state, key, &mut conn.out, &args);
                }
                conn.start += consumed;
            }
            Parsed::Incomplete => return true,
            Parsed::Error(_) => return false,
        }
    }
}
