//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, as
//! Redis 7.0.
//!
//! Submodules (the Lua bridge):
//! - `engine`: the one Lua VM, the script cache keyed by SHA1, running a
//!   script inside one storage batch (its writes commit together), the
//!   `redis.call` checks (NOSCRIPT, arity, read-only scripts);
//! - `convert`: Lua <-> RESP conversion rules;
//! - `cjson`, `cmsgpack`, `bit`, `lstruct`: the libraries of the same names
//!   (`libargs`: their `luaL_check*`-style argument checks);
//! - `bootstrap.lua`: the `redis` library and the read-only globals, in Lua.
//!
//! A script runs to completion on the executor thread; past
//! `busy-reply-threshold` its instruction-count hook serves the other
//! clients (`busy`): they get `-BUSY` and may SCRIPT KILL it.

pub mod bit;
pub mod busy;
pub mod cjson;
pub mod cmsgpack;
pub mod convert;
pub mod engine;
pub mod libargs;
pub mod lstruct;

use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use engine::{Engine, Mode, Outcome, Target};

/// True if the command named `name` may run a script (EVAL*, FCALL*, and
/// EXEC, which may hold them): the server then lends the other clients'
/// connections for the busy-script service (see `busy`).
pub fn may_run_script(name: &[u8]) -> bool {
    // Cheap first test: this runs before every command.
    if !matches!(name.first(), Some(b'e' | b'E' | b'f' | b'F')) {
        return false;
    }
    super::lookup(super::table::COMMANDS, name)
        .is_some_and(|s| s.name == "exec" || (s.group == super::Group::Scripting && s.name != "function"))
}

/// EVAL script numkeys [key ...] [arg ...]
///
/// Depends on the script.
pub fn eval(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_body(ctx, args, Mode::ReadWrite)
}

/// EVAL_RO script numkeys [key ...] [arg ...]
///
/// Depends on the script; write commands are refused.
pub fn eval_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_body(ctx, args, Mode::ReadOnly)
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
///
/// Depends on the script.
pub fn evalsha(ctx: &mut Ctx, args: &Args) -> CmdResult {
    run_cached(ctx, args, args.get(1), Mode::ReadWrite)
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
///
/// Depends on the script; write commands are refused.
pub fn evalsha_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    run_cached(ctx, args, args.get(1), Mode::ReadOnly)
}

fn eval_body(ctx: &mut Ctx, args: &Args, mode: Mode) -> CmdResult {
    numkeys(args)?;
    let sha = ctx.state.scripting.load(args.get(1)).map_err(CmdError::Bytes)?;
    run_cached(ctx, args, sha.as_bytes(), mode)
}

/// The key count of an EVAL-style command, checked against the arguments.
pub(super) fn numkeys(args: &Args) -> Result<usize, CmdError> {
    let n = args.i64(2)?;
    if n < 0 {
        return Err(CmdError::Err("Number of keys can't be negative"));
    }
    if n as usize > args.len() - 3 {
        return Err(CmdError::Err("Number of keys can't be greater than number of args"));
    }
    Ok(n as usize)
}

fn run_cached(ctx: &mut Ctx, args: &Args, sha: &[u8], mode: Mode) -> CmdResult {
    let n = numkeys(args)?;
    match run(ctx, Target::Script(sha), args, n, mode) {
        None => Err(CmdError::Raw("NOSCRIPT No matching script. Please use EVAL.".into())),
        Some(r) => r,
    }
}

/// Runs a script or function with the keys and arguments of an EVAL-style
/// command (`numkeys` keys from index 3); None if there is no such one.
pub(super) fn run(ctx: &mut Ctx, target: Target, args: &Args, numkeys: usize, mode: Mode) -> Option<CmdResult> {
    let (store, clock) = (ctx.tx.store(), ctx.tx.now_ms);
    Some(match Engine::run(ctx.state, store, ctx.client, ctx.out, target, args, numkeys, mode, clock)? {
        Outcome::Done => Ok(()),
        Outcome::Failed(text) => Err(CmdError::Bytes(text)),
    })
}

/// SCRIPT LOAD script
///
/// O(N) in the script's length.
pub fn script_load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sha = ctx.state.scripting.load(args.get(2)).map_err(CmdError::Bytes)?;
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

/// SCRIPT EXISTS sha1 [sha1 ...]
///
/// O(N) in the SHA1s given.
pub fn script_exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.out.array(args.len() - 2);
    for sha in args.iter_from(2) {
        ctx.out.int(ctx.state.scripting.exists(sha) as i64);
    }
    Ok(())
}

/// SCRIPT FLUSH [ASYNC|SYNC]
///
/// O(N) in the cached scripts.
pub fn script_flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.opt(2) {
        None => {}
        Some(_) if args.len() == 3 && (args.is(2, "ASYNC") || args.is(2, "SYNC")) => {}
        Some(_) => return Err(CmdError::Err("SCRIPT FLUSH only support SYNC|ASYNC option")),
    }
    ctx.state.scripting.flush();
    ctx.out.ok();
    Ok(())
}

/// SCRIPT KILL (and FUNCTION KILL)
///
/// O(1). Scripts run on the executor thread: while one is busy the busy
/// service answers KILL (see `busy`); a KILL that reaches here found none.
pub fn script_kill(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    Err(CmdError::Raw("NOTBUSY No scripts in execution right now.".into()))
}

/// SCRIPT HELP
///
/// O(1).
pub fn script_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ];
    help_lines(ctx, HELP)
}

/// A HELP reply: one status line each.
pub(super) fn help_lines(ctx: &mut Ctx, lines: &[&str]) -> CmdResult {
    ctx.out.array(lines.len());
    for line in lines {
        ctx.out.simple(line);
    }
    Ok(())
}
