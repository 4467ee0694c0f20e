//! Serving the other clients while a script is busy (Redis's
//! `processEventsWhileBlocked` from the Lua hook): for a command that may
//! run a script, the server lends its connections to the script engine;
//! past `busy-reply-threshold` the hook calls `serve`, which accepts new
//! connections (as Redis does, within `maxclients`), reads every other
//! connection and answers each command it finds (`Busy::answer`: -BUSY,
//! SCRIPT KILL, FUNCTION KILL, NOAUTH, and AUTH / HELLO of a client that
//! connected meanwhile). A command that needs what the server holds is left
//! in its client's input for after the script (`deferred`).
//!
//! One `Servicer` lives as long as the server, lent and taken back per
//! command; it owns a duplicate of the listening socket and of the poll
//! registry, so it can accept while the server is inside the script.

use super::conn::{Conn, ReadOutcome};
use super::event_loop::{accept_into, Admitted};
use crate::cmd::script::busy::{Answered, Busy, BusyService, Sender};
use crate::cmd::state::Client;
use crate::resp::args::Args;
use crate::resp::parser::{Auth, Limits, Parsed};
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
    /// Connections with output left to write (queued by the server after).
    pub unwritten: Vec<usize>,
    /// Connections with a command left for after the script; not read
    /// again meanwhile (the server runs their input after).
    pub deferred: Vec<usize>,
    /// Connections accepted meanwhile, with their state (the server takes
    /// it over after, under the same keys).
    pub accepted: Vec<(usize, Client)>,
    /// Connections accepted and refused meanwhile.
    pub admitted: Admitted,
    /// The next client id (the server's counter, lent and taken back).
    pub next_client_id: u64,
    listener: TcpListener,
    registry: Registry,
    maxclients: usize,
    requirepass: String,
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
            accepted: Vec::new(),
            admitted: Admitted::default(),
            next_client_id: 0,
            listener: TcpListener::from_std(std::net::TcpListener::from(fd)),
            registry: registry.try_clone()?,
            maxclients: 0,
            requirepass: String::new(),
        })
    }

    /// Takes `conns` while `running` runs a command; the rest is the
    /// server's settings of the moment.
    pub fn lend(
        &mut self,
        conns: Slab<Conn>,
        running: usize,
        limits: Limits,
        maxclients: usize,
        requirepass: &str,
        next_client_id: u64,
    ) {
        self.conns = conns;
        (self.running, self.limits, self.maxclients, self.next_client_id) =
            (running, limits, maxclients, next_client_id);
        if self.requirepass != requirepass {
            self.requirepass = requirepass.to_string();
        }
        self.closed.clear();
        self.unwritten.clear();
        self.deferred.clear();
        self.accepted.clear();
        self.admitted = Admitted::default();
    }
}

impl BusyService for Servicer {
    fn serve(&mut self, busy: &mut Busy) {
        let Servicer { conns, running, limits, closed, unwritten, deferred, accepted, .. } = self;
        let authed = self.requirepass.is_empty();
        let admitted = accept_into(
            &self.listener,
            &self.registry,
            conns,
            self.maxclients,
            authed,
            &mut self.next_client_id,
            |key, client| accepted.push((key, client)),
        );
        self.admitted.accepted += admitted.accepted;
        self.admitted.rejected += admitted.rejected;
        for (key, conn) in conns.iter_mut() {
            if key == *running || conn.closing || closed.contains(&key) || deferred.contains(&key) {
                continue;
            }
            let mut client = accepted.iter_mut().find(|(k, _)| *k == key).map(|(_, c)| c);
            // Output queued earlier in this tick waits for the server (it is
            // written after the WAL flush); only a connection with nothing
            // unwritten gets its answers now.
            let idle = conn.pending_output() == 0;
            loop {
                match conn.read_chunk() {
                    ReadOutcome::Data { drained, .. } => {
                        if answer(conn, limits, busy, client.as_deref_mut(), &self.requirepass) == Answered::Later {
                            deferred.push(key);
                            break;
                        }
                        if drained {
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
            if conn.pending_output() > 0 && !unwritten.contains(&key) {
                unwritten.push(key);
            }
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Answers every complete command in `conn`'s input, up to one left for
/// later (not consumed); a protocol error is left for the server. `client`
/// is the state of a connection accepted during the script.
fn answer(
    conn: &mut Conn,
    limits: &Limits,
    busy: &mut Busy,
    mut client: Option<&mut Client>,
    requirepass: &str,
) -> Answered {
    loop {
        let start = conn.start;
        match conn.parser.parse(&mut conn.inbuf[start..conn.end], limits) {
            Parsed::Command { consumed } => {
                let args = Args::new(&conn.inbuf[start..start + consumed], conn.parser.spans());
                if !args.is_empty() {
                    let sender = match client.as_deref_mut() {
                        Some(client) => Sender::New { client, requirepass },
                        None => Sender::Known { authed: conn.parser.auth() == Auth::NotRequired },
                    };
                    if busy.answer(&args, &mut conn.out, sender) == Answered::Later {
                        return Answered::Later;
                    }
                }
                conn.start += consumed;
                if let Some(c) = client.as_deref() {
                    // AUTH / HELLO may have authenticated it.
                    conn.parser.set_auth(if c.authed { Auth::NotRequired } else { Auth::Required });
                }
            }
            Parsed::Incomplete | Parsed::Error(_) => return Answered::Now,
        }
    }
}
