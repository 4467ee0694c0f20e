//! FUNCTION libraries and FCALL / FCALL_RO, as Redis 7.0. The Lua side
//! (loading a library, running a function) is in `script::engine`; a
//! library's code is persisted in its `keys::function_library` record, so
//! libraries survive a restart (loaded again by `Engine::load_persisted`)
//! and FLUSHALL leaves them alone, as in Redis.

use super::script::{self, engine::Mode, engine::RestorePolicy, engine::Target};
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::storage::keys::{self, Cf};
use crate::storage::prefix_successor;
use crate::types::rdb;

/// FCALL function numkeys [key ...] [arg ...]
///
/// Depends on the function.
pub fn fcall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    fcall_body(ctx, args, Mode::ReadWrite)
}

/// FCALL_RO function numkeys [key ...] [arg ...]
///
/// Depends on the function, which must have the `no-writes` flag.
pub fn fcall_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    fcall_body(ctx, args, Mode::ReadOnly)
}

fn fcall_body(ctx: &mut Ctx, args: &Args, mode: Mode) -> CmdResult {
    let name = args.get(1);
    if !ctx.state.scripting.libraries().any(|l| l.functions.iter().any(|f| f.name.as_bytes() == name)) {
        return Err(CmdError::Err("Function not found"));
    }
    if args.i64(2).is_err() {
        return Err(CmdError::Err("Bad number of keys provided"));
    }
    let n = script::numkeys(args)?;
    script::run(ctx, Target::Function(name), args, n, mode).unwrap_or(Err(CmdError::Err("Function not found")))
}

/// FUNCTION LOAD [REPLACE] function-code
///
/// O(N) in the code's length.
pub fn load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut replace = false;
    let mut pos = 2;
    while pos < args.len() - 1 {
        if !args.is(pos, "REPLACE") {
            let msg = format!("ERR Unknown option given: {}", String::from_utf8_lossy(args.get(pos)));
            return Err(CmdError::Bytes(msg.into_bytes()));
        }
        replace = true;
        pos += 1;
    }
    if pos >= args.len() {
        return Err(CmdError::Err("Function code is missing"));
    }
    let code = args.get(pos);
    let name = ctx.state.scripting.load_library(code, replace).map_err(CmdError::Bytes)?;
    ctx.tx.put(Cf::Default, keys::function_library(name.as_bytes()), code.to_vec());
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

/// FUNCTION DELETE library-name
///
/// O(1).
pub fn delete(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = String::from_utf8_lossy(args.get(2));
    if !ctx.state.scripting.delete_library(&name) {
        return Err(CmdError::Err("Library not found"));
    }
    ctx.tx.delete(Cf::Default, keys::function_library(args.get(2)));
    ctx.out.ok();
    Ok(())
}

/// FUNCTION FLUSH [ASYNC|SYNC]
///
/// O(N) in the functions.
pub fn flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Err("unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP."));
    }
    if args.len() == 3 && !args.is(2, "ASYNC") && !args.is(2, "SYNC") {
        return Err(CmdError::Err("FUNCTION FLUSH only supports SYNC|ASYNC option"));
    }
    ctx.state.scripting.flush_libraries();
    unpersist_all(ctx);
    ctx.out.ok();
    Ok(())
}

/// Deletes every persisted library.
fn unpersist_all(ctx: &mut Ctx) {
    let end = prefix_successor(keys::FUNCTION_PREFIX).expect("invariant: the prefix is not all 0xff");
    ctx.tx.delete_range(Cf::Default, keys::FUNCTION_PREFIX.to_vec(), end);
}

/// FUNCTION DUMP
///
/// O(N) in the libraries' code. The payload is Redis 7.0's: per library
/// the function opcode and its code as an RDB string, then the RDB
/// version and CRC-64 (`rdb::seal`).
pub fn dump(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let mut payload = Vec::new();
    for lib in ctx.state.scripting.libraries() {
        payload.push(rdb::OPCODE_FUNCTION);
        rdb::write_string(&mut payload, &lib.code);
    }
    rdb::seal(&mut payload);
    ctx.out.bulk(&payload);
    Ok(())
}

/// FUNCTION RESTORE serialized-value [FLUSH | APPEND | REPLACE]
///
/// O(N) in the libraries restored. Like FUNCTION LOAD, restored libraries
/// are persisted; on any error nothing changes.
pub fn restore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 4 {
        let msg = [b"ERR unknown subcommand or wrong number of arguments for '", args.get(1), b"'. Try FUNCTION HELP."];
        return Err(CmdError::Bytes(msg.concat()));
    }
    let policy = match args.opt(3) {
        None => RestorePolicy::Append,
        Some(_) if args.is(3, "APPEND") => RestorePolicy::Append,
        Some(_) if args.is(3, "REPLACE") => RestorePolicy::Replace,
        Some(_) if args.is(3, "FLUSH") => RestorePolicy::Flush,
        Some(_) => {
            return Err(CmdError::Err("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."))
        }
    };
    let payload = args.get(2);
    if rdb::verify(payload).is_none() {
        return Err(CmdError::Err("DUMP payload version or checksum are wrong"));
    }
    let (codes, bad) = read_libraries(payload);
    // Libraries before a malformed one are loaded first, as Redis loads
    // each as it reads it: their errors come first.
    let new = ctx.state.scripting.load_detached(&codes).map_err(CmdError::Bytes)?;
    if let Some(why) = bad {
        return Err(CmdError::Bytes([b"ERR ", why.as_bytes()].concat()));
    }
    let names = ctx.state.scripting.join(new, policy).map_err(CmdError::Bytes)?;
    if policy == RestorePolicy::Flush {
        unpersist_all(ctx);
    }
    for name in names {
        let code = ctx.state.scripting.libraries().find(|l| l.name == name).map(|l| l.code.clone());
        ctx.tx.put(Cf::Default, keys::function_library(name.as_bytes()), code.unwrap_or_default());
    }
    ctx.out.ok();
    Ok(())
}

/// The libraries' code in a verified FUNCTION DUMP payload, up to the
/// first malformed entry, and Redis's error for that entry.
fn read_libraries(payload: &[u8]) -> (Vec<Vec<u8>>, Option<&'static str>) {
    let mut r = rdb::Reader::new(payload);
    let mut codes = Vec::new();
    // The last 10 bytes are the footer.
    while r.remaining() > 10 {
        let code = match r.byte() {
            Some(rdb::OPCODE_FUNCTION) => r.string().ok_or("Failed loading library payload"),
            Some(rdb::OPCODE_FUNCTION_PRE_GA) => pre_ga_library(&mut r),
            Some(_) => Err("given type is not a function"),
            None => Err("can not read data type"),
        };
        match code {
            Ok(code) => codes.push(code),
            Err(why) => return (codes, Some(why)),
        }
    }
    (codes, None)
}

/// A library in the format of Redis 7.0's release candidates (name,
/// engine, optional description, code without shebang), turned into the
/// code FUNCTION LOAD takes, as Redis does.
fn pre_ga_library(r: &mut rdb::Reader) -> Result<Vec<u8>, &'static str> {
    let name = r.string().ok_or("Failed loading library name")?;
    let engine = r.string().ok_or("Failed loading engine name")?;
    let has_description = r.length().ok_or("Failed loading library description indicator")?;
    if has_description != 0 {
        r.string().ok_or("Failed loading library description")?;
    }
    let body = r.string().ok_or("Failed loading library blob")?;
    Ok([b"#!".as_slice(), &engine, b" name=", &name, b"\n", &body].concat())
}

/// FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
///
/// O(N) in the functions.
pub fn list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut with_code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    let mut i = 2;
    while i < args.len() {
        if !with_code && args.is(i, "WITHCODE") {
            with_code = true;
        } else if pattern.is_none() && args.is(i, "LIBRARYNAME") {
            if i >= args.len() - 1 {
                return Err(CmdError::Err("library name argument was not given"));
            }
            i += 1;
            pattern = Some(args.get(i));
        } else {
            let msg = format!("ERR Unknown argument {}", String::from_utf8_lossy(args.get(i)));
            return Err(CmdError::Bytes(msg.into_bytes()));
        }
        i += 1;
    }
    let libs: Vec<_> = ctx
        .state
        .scripting
        .libraries()
        .filter(|l| pattern.map_or(true, |p| crate::util::glob_match(p, l.name.as_bytes(), true)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for lib in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            out.set(f.flags.names().count());
            for flag in f.flags.names() {
                out.simple(flag);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

/// FUNCTION STATS
///
/// O(1).
pub fn stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let (libs, funcs) =
        ctx.state.scripting.libraries().fold((0, 0), |(l, f), lib| (l + 1, f + lib.functions.len() as i64));
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    out.null();
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs);
    out.bulk(b"functions_count");
    out.int(funcs);
    Ok(())
}

/// FUNCTION HELP
///
/// O(1).
pub fn help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    ];
    script::help_lines(ctx, HELP)
}
