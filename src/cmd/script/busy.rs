//! A script running past `busy-reply-threshold` (`lua-time-limit`), as
//! Redis 7.0 handles it: the Lua hook lets the server read the other
//! clients (Redis's `processEventsWhileBlocked`) through a `BusyService`
//! the server lends to the engine for the duration of a command; each
//! command they sent is answered here: `-BUSY`, SCRIPT KILL / FUNCTION
//! KILL, which stop a script that has not written yet, or SHUTDOWN NOSAVE,
//! which stops any script, drops its writes and stops the server.
//!
//! As in Redis, an unknown command or a wrong argument count gets its usual
//! error and a client that must authenticate gets NOAUTH first. The other
//! commands Redis allows while busy (`ALLOW_BUSY`: AUTH, HELLO, MULTI,
//! WATCH, QUIT, RESET, ...) need the client's state, which the server holds
//! out of reach while the script runs: a client that connected during the
//! script has its state here (`Sender::New`), so its AUTH and HELLO run
//! now; otherwise the command waits in the client's input and runs, with
//! whatever follows it, once the script ends (`Answered::Later`).

use crate::cmd::state::Client;
use crate::cmd::{arity_ok, connection, lookup, table, unknown_command, Flags};
use crate::error::CmdError;
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use std::any::Any;

const BUSY_EVAL: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can \
                          either wait the script termination or kill the server in a hard way using the SHUTDOWN \
                          NOSAVE command.";

/// Serves the other clients while a script is busy (implemented by the
/// server, which owns the connections).
pub trait BusyService {
    /// Reads what the other clients sent, answering each command with
    /// `busy.answer`, and writes the answers.
    fn serve(&mut self, busy: &mut Busy);

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

/// The client that sent a command while a script is busy.
pub enum Sender<'a> {
    /// Connected before the script started: the server holds its state.
    Known {
        /// It has authenticated (or needs not).
        authed: bool,
    },
    /// Connected while the script is busy: its state, and the password the
    /// server requires.
    New {
        /// Its state until the server takes it over.
        client: &'a mut Client,
        /// `requirepass`.
        requirepass: &'a str,
    },
}

/// What became of a command sent while a script is busy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Answered {
    /// Its reply is written.
    Now,
    /// It needs the client's state: it stays in the client's input, and the
    /// client is not read again until the script ends.
    Later,
}

impl Busy {
    /// Answers (or leaves for later) a command another client sent while
    /// the script runs.
    pub fn answer(&mut self, args: &Args, out: &mut ReplyBuf, sender: Sender) -> Answered {
        let Some(spec) = lookup(table::COMMANDS, args.get(0)) else {
            out.error(&unknown_command(args));
            return Answered::Now;
        };
        if !arity_ok(spec.arity, args.len()) {
            out.error(&CmdError::WrongArity(spec.name.into()));
            return Answered::Now;
        }
        let flags = match args.opt(1) {
            Some(sub) if !spec.subcommands.is_empty() => lookup(spec.subcommands, sub).map_or(spec.flags, |s| s.flags),
            _ => spec.flags,
        };
        let authed = match &sender {
            Sender::Known { authed } => *authed,
            Sender::New { client, .. } => client.authed,
        };
        if !authed && !flags.contains(Flags::NO_AUTH) {
            out.error(&CmdError::NoAuth);
            return Answered::Now;
        }
        let ran = match (spec.name, sender) {
            ("auth", Sender::New { client, requirepass }) => connection::auth_client(client, requirepass, out, args),
            ("hello", Sender::New { client, requirepass }) => connection::hello_client(client, requirepass, out, args),
            // Answered below: the kills, SHUTDOWN, and FUNCTION STATS (which
            // Redis 7.0 answers with the BUSY text too).
            ("script" | "function" | "shutdown", _) => {
                self.answer_busy(args, out);
                return Answered::Now;
            }
            _ if flags.contains(Flags::ALLOW_BUSY) => return Answered::Later,
            _ => {
                self.answer_busy(args, out);
                return Answered::Now;
            }
        };
        if let Err(e) = ran {
            out.error(&e);
        }
        Answered::Now
    }

    /// The kills, SHUTDOWN NOSAVE, and the BUSY text for anything else.
    fn answer_busy(&mut self, args: &Args, out: &mut ReplyBuf) {
        let busy = if self.is_function { BUSY_FUNCTION } else { BUSY_EVAL };
        let kill_of = |family: &str| args.len() == 2 && args.is(0, family) && args.is(1, "KILL");
        let (script_kill, function_kill) = (kill_of("SCRIPT"), kill_of("FUNCTION"));
        if shutdown_nosave(args) {
            // Like Redis: no reply, the connection closes as the server stops.
            self.kill = true;
            self.shutdown = true;
            return;
        }
        if !script_kill && !function_kill {
            return out.error_text(busy.as_bytes());
        }
        if self.wrote {
            return out.error_text(UNKILLABLE.as_bytes());
        }
        // SCRIPT KILL kills scripts, FUNCTION KILL functions; the other gets
        // the BUSY text naming the right one.
        if script_kill == self.is_function {
            return out.error_text(busy.as_bytes());
        }
        self.kill = true;
        out.ok();
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
