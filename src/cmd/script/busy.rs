//! A script running past `busy-reply-threshold` (`lua-time-limit`), as
//! Redis 7.0 handles it: the Lua hook lets the server read the other
//! clients (Redis's `processEventsWhileBlocked`) through a `BusyService`
//! the server lends to the engine for the duration of a command; each
//! command they sent is answered here: `-BUSY`, SCRIPT KILL / FUNCTION
//! KILL, which stop a script that has not written yet, or SHUTDOWN NOSAVE,
//! which stops any script, drops its writes and stops the server.
//!
//! The service is handed the server state and the store by the running
//! script's own `redis.call` (the engine reaches it from the hook), so
//! every command Redis would run at that point runs now, as usual: an
//! unknown command or a wrong argument count gets its error, a client that
//! must authenticate gets NOAUTH, a RESP2 subscriber its context error,
//! and the commands Redis allows while busy (`ALLOW_BUSY`: AUTH, HELLO,
//! MULTI, DISCARD, WATCH, UNWATCH, QUIT, RESET) are dispatched. As in
//! Redis's `rejectCommand`, a rejected command fails the client's open
//! transaction, and a rejected EXEC discards it.

use crate::cmd::state::ServerState;
use crate::cmd::{arity_ok, dispatch, lookup, multi, pubsub, table, Flags};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::storage::Store;
use std::any::Any;

const BUSY_EVAL: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can \
                          either wait the script termination or kill the server in a hard way using the SHUTDOWN \
                          NOSAVE command.";

/// Serves the other clients while a script is busy (implemented by the
/// server, which owns the connections).
pub trait BusyService {
    /// Accepts new clients and reads what the other clients sent, answering
    /// each command with `busy.answer`, and writes the answers.
    fn serve(&mut self, busy: &mut Busy, store: &Store, state: &mut ServerState);

    /// For the server to take its connections back.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// The busy script, as other clients' commands see it.
pub struct Busy {
    /// A function (FCALL) rather than an EVAL script.
    pub is_function: bool,
    /// It has called a write command (then it cannot be killed).
    pub wrote: bool,
    /// Set by a successful SCRIPT KILL / FUNCTION KILL (or SHUTDOWN NOSAVE).
    pub kill: bool,
    /// Set by SHUTDOWN NOSAVE: the script's writes are dropped and the server stops.
    pub shutdown: bool,
}

impl Busy {
    /// Answers a command `client` sent while the script runs.
    pub fn answer(&mut self, store: &Store, state: &mut ServerState, client: usize, out: &mut ReplyBuf, args: &Args) {
        let Some(spec) = lookup(table::COMMANDS, args.get(0)) else {
            // The unknown-command error (which fails an open MULTI).
            dispatch(store, state, client, out, args);
            return;
        };
        let flags = match args.opt(1) {
            Some(sub) if !spec.subcommands.is_empty() => lookup(spec.subcommands, sub).map_or(spec.flags, |s| s.flags),
            _ => spec.flags,
        };
        let c = &state.clients[client];
        // Redis's `processCommand` order: arity, NOAUTH and the RESP2
        // subscriber context come before the busy check; those errors are
        // what dispatching gives.
        let checked_before = !arity_ok(spec.arity, args.len())
            || (!c.authed && !flags.contains(Flags::NO_AUTH))
            || (c.resp == 2 && c.subs.any() && !pubsub::allowed_when_subscribed(spec.name));
        if checked_before
            || (flags.contains(Flags::ALLOW_BUSY) && !matches!(spec.name, "script" | "function" | "shutdown"))
        {
            dispatch(store, state, client, out, args);
            return;
        }
        let rejected = match spec.name {
            // The kills, SHUTDOWN, and FUNCTION STATS (which Redis 7.0
            // answers with the BUSY text too).
            "script" | "function" | "shutdown" => self.answer_busy(args, out),
            "exec" => {
                multi::discard_transaction(state, client);
                let busy = self.busy_text();
                out.error_text(format!("EXECABORT Transaction discarded because of: {busy}").as_bytes());
                return;
            }
            _ => {
                out.error_text(self.busy_text().as_bytes());
                true
            }
        };
        if rejected {
            multi::flag_error(state, client);
        }
    }

    fn busy_text(&self) -> &'static str {
        if self.is_function {
            BUSY_FUNCTION
        } else {
            BUSY_EVAL
        }
    }

    /// The kills, SHUTDOWN NOSAVE, and the BUSY text for anything else;
    /// true if the command was rejected with the BUSY text.
    fn answer_busy(&mut self, args: &Args, out: &mut ReplyBuf) -> bool {
        let busy = self.busy_text();
        let kill_of = |family: &str| args.len() == 2 && args.is(0, family) && args.is(1, "KILL");
        let (script_kill, function_kill) = (kill_of("SCRIPT"), kill_of("FUNCTION"));
        if shutdown_nosave(args) {
            // Like Redis: no reply, the connection closes as the server stops.
            self.kill = true;
            self.shutdown = true;
            return false;
        }
        if !script_kill && !function_kill {
            out.error_text(busy.as_bytes());
            return true;
        }
        if self.wrote {
            out.error_text(UNKILLABLE.as_bytes());
        } else if script_kill == self.is_function {
            // SCRIPT KILL kills scripts, FUNCTION KILL functions; the other
            // gets the BUSY text naming the right one (a reply, not a rejection).
            out.error_text(busy.as_bytes());
        } else {
            self.kill = true;
            out.ok();
        }
        false
    }
}

/// SHUTDOWN with NOSAVE (and maybe NOW / FORCE), the one SHUTDOWN Redis
/// serves while a script is busy; any other gets the BUSY text.
fn shutdown_nosave(args: &Args) -> bool {
    let flags = 1..args.len();
    args.is(0, "SHUTDOWN")
        && flags.clone().any(|i| args.is(i, "NOSAVE"))
        && flags.into_iter().all(|i| ["NOSAVE", "NOW", "FORCE"].iter().any(|f| args.is(i, f)))
}
