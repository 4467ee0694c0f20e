//! Serving the other clients while a script is busy (Redis's
//! `processEventsWhileBlocked` from the Lua hook): for a command that may
//! run a script, the server lends its connections to the script engine;
//! past `busy-reply-threshold` the hook calls `serve`, which reads every
//! other connection and answers each command it finds (`Busy::answer`:
//! -BUSY, SCRIPT KILL, FUNCTION KILL). New connections wait in the listen
//! backlog until the script ends.

use super::conn::{Conn, ReadOutcome};
use crate::cmd::script::busy::{Busy, BusyService};
use crate::resp::args::Args;
use crate::resp::parser::{Limits, Parsed};
use slab::Slab;
use std::any::Any;

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
}

impl Servicer {
    /// Lends `conns` while `running` runs a command.
    pub fn new(conns: Slab<Conn>, running: usize, limits: Limits) -> Servicer {
        Servicer { conns, running, limits, closed: Vec::new(), unwritten: Vec::new() }
    }
}

impl BusyService for Servicer {
    fn serve(&mut self, busy: &mut Busy) {
        for (key, conn) in self.conns.iter_mut() {
            if key == self.running || conn.closing || self.closed.contains(&key) {
                continue;
            }
            // Output queued earlier in this tick waits for the server (it is
            // written after the WAL flush); only a connection with nothing
            // unwritten gets its answers now.
            let idle = conn.pending_output() == 0;
            loop {
                match conn.read_chunk() {
                    ReadOutcome::Data { drained, .. } => {
                        answer(conn, &self.limits, busy);
                        if drained {
                            break;
                        }
                    }
                    ReadOutcome::WouldBlock => break,
                    ReadOutcome::Closed => {
                        self.closed.push(key);
                        break;
                    }
                }
            }
            if idle && conn.pending_output() > 0 && conn.flush().is_err() {
                self.closed.push(key);
            }
            if conn.pending_output() > 0 && !self.unwritten.contains(&key) {
                self.unwritten.push(key);
            }
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Answers every complete command in `conn`'s input; a protocol error is
/// left for the server.
fn answer(conn: &mut Conn, limits: &Limits, busy: &mut Busy) {
    loop {
        let start = conn.start;
        match conn.parser.parse(&mut conn.inbuf[start..conn.end], limits) {
            Parsed::Command { consumed } => {
                let args = Args::new(&conn.inbuf[start..start + consumed], conn.parser.spans());
                if !args.is_empty() {
                    busy.answer(&args, &mut conn.out);
                }
                conn.start += consumed;
            }
            Parsed::Incomplete | Parsed::Error(_) => return,
        }
    }
}
