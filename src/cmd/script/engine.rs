//! The Lua VM (one per server, like Redis): Lua 5.1 via `mlua`, the `redis`
//! library (bootstrap.lua + the Rust bridge below), `cjson`, the script cache
//! keyed by SHA1, and running one script with its commands in one batch.
//!
//! `redis.call` reaches the command table through `bridge.raw`, a function
//! created for the duration of one script (`Lua::scope`), so it may borrow
//! the store and the server state without any global.

use super::convert::{lua_to_reply, reply_to_lua};
use crate::cmd::state::ServerState;
use crate::cmd::{call, lookup, table, Flags};
use crate::resp::args::OwnedArgs;
use crate::resp::reply::ReplyBuf;
use crate::storage::Store;
use mlua::{Function, HookTriggers, Lua, MultiValue, StdLib, Table, Value, VmState};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Lua instructions between two checks of the time limit.
const HOOK_EVERY: u32 = 100_000;

/// Why a script may not run a command: Redis's texts.
const NO_ARGS: &str = "ERR Please specify at least one argument for this redis lib call";
const BAD_ARG: &str = "ERR Lua redis lib command arguments must be strings or integers";
const UNKNOWN: &str = "ERR Unknown Redis command called from script";
const ARITY: &str = "ERR Wrong number of args calling Redis command from script";
const NOSCRIPT: &str = "ERR This Redis command is not allowed from script";
const RO_WRITE: &str = "ERR Write commands are not allowed from read-only scripts.";

/// A compiled script in the cache.
struct Cached {
    func: Function,
}

/// The scripting engine: VM, runtime tables and script cache.
pub struct Engine {
    lua: Lua,
    env: Table,
    run: Function,
    cache: HashMap<String, Cached>,
    /// Set by the time-limit hook once the running script has been killed.
    killed: Rc<Cell<bool>>,
    /// When the running script started (the hook compares with the limit).
    started: Rc<Cell<Option<Instant>>>,
    /// The script's protocol (`redis.setresp`), 2 at each start.
    resp: Rc<Cell<u8>>,
    /// The error a Rust library function raised (see `raise`).
    pending: Pending,
    /// The `redis` table (call/pcall are set per run).
    redis: Table,
}

/// Slot for the text of an error raised by a Rust library function: mlua
/// raises Rust errors as userdata, so the function leaves Redis's error text
/// here and the Lua error handler turns it into the error table.
pub type Pending = Rc<RefCell<Option<Vec<u8>>>>;

/// Marks mlua errors whose text is in the pending slot.
/// (bootstrap.lua checks for this text too.)
const PENDING_MARK: &str = "__diskdb_pending_error__";

/// Raises `msg` (full Redis error text) from a Rust library function.
pub fn raise(pending: &Pending, msg: Vec<u8>) -> mlua::Error {
    *pending.borrow_mut() = Some(msg);
    mlua::Error::runtime(PENDING_MARK)
}

/// `msg` raised the way `luaL_error` does from a C library function called
/// by the user's code: prefixed with the user's `source:line:`.
pub fn raise_here(lua: &Lua, pending: &Pending, msg: &str) -> mlua::Error {
    let (src, line) = user_frame(lua);
    let at = match (src, line) {
        (Some(src), Some(line)) => format!("{}:{line}: ", src.trim_start_matches('@')),
        _ => String::new(),
    };
    raise(pending, format!("ERR {at}{msg}").into_bytes())
}

/// How a script is run: the read-only variants refuse write commands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// EVAL / EVALSHA.
    ReadWrite,
    /// EVAL_RO / EVALSHA_RO.
    ReadOnly,
}

/// What a script run produced, beyond the reply written to `out`.
pub enum Outcome {
    /// The reply is in `out`.
    Done,
    /// The script failed; the full error text (prefix included).
    Failed(Vec<u8>),
}

/// SHA1 of `body` as 40 lowercase hex digits.
pub fn sha1hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

impl Engine {
    /// A fresh VM with the Redis runtime loaded.
    pub fn new(time_limit_ms: u64) -> Engine {
        Engine::build(time_limit_ms).expect("invariant: the Lua runtime loads")
    }

    fn build(time_limit_ms: u64) -> mlua::Result<Engine> {
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH;
        let lua = Lua::new_with(libs, mlua::LuaOptions::default())?;
        let bridge = lua.create_table()?;
        let pending: Pending = Rc::new(RefCell::new(None));
        let resp = Rc::new(Cell::new(2u8));
        let redis = lua.create_table()?;
        let p = pending.clone();
        redis.set(
            "sha1hex",
            lua.create_function(move |lua, args: MultiValue| match args.len() {
                1 if matches!(args[0], Value::String(_) | Value::Integer(_) | Value::Number(_)) => {
                    let s = lua.coerce_string(args[0].clone())?.expect("invariant: strings and numbers coerce");
                    Ok(sha1hex(&s.as_bytes()))
                }
                _ => Err(raise(&p, b"ERR wrong number of arguments".to_vec())),
            })?,
        )?;
        lua.globals().set("redis", redis.clone())?;
        let p = pending.clone();
        bridge.set(
            "take_pending",
            lua.create_function(move |lua, ()| p.borrow_mut().take().map(|m| lua.create_string(m)).transpose())?,
        )?;
        let r = resp.clone();
        bridge.set(
            "setresp",
            lua.create_function(move |_, v: u8| {
                r.set(v);
                Ok(())
            })?,
        )?;
        bridge.set(
            "log",
            lua.create_function(|_, (level, msg): (u8, String)| {
                match level {
                    0 => log::debug!("{msg}"),
                    1 => log::info!("{msg}"),
                    2 => log::info!("{msg}"),
                    _ => log::warn!("{msg}"),
                }
                Ok(())
            })?,
        )?;
        bridge.set("where", lua.create_function(|lua, ()| Ok(user_frame(lua)))?)?;
        super::cjson::install(&lua, &pending)?;
        super::cmsgpack::install(&lua, &pending)?;
        super::bit::install(&lua, &pending)?;
        super::lstruct::install(&lua, &pending)?;
        lua.load(include_str!("bootstrap.lua")).set_name("=bootstrap").call::<()>(bridge.clone())?;
        let env: Table = bridge.get("env")?;
        let run: Function = bridge.get("run")?;
        let killed = Rc::new(Cell::new(false));
        let k = killed.clone();
        bridge.set("killed", lua.create_function(move |_, ()| Ok(k.get()))?)?;
        let started: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let limit = Duration::from_millis(time_limit_ms);
        let (k, s) = (killed.clone(), started.clone());
        lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |_, _| {
            // The executor is single threaded, so no other client can send
            // SCRIPT KILL while a script runs: past lua-time-limit the hook
            // kills the script itself (and keeps failing if it is caught).
            if s.get().is_some_and(|t| t.elapsed() > limit) {
                k.set(true);
                return Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."));
            }
            Ok(VmState::Continue)
        })?;
        Ok(Engine { lua, env, run, cache: HashMap::new(), killed, started, resp, pending, redis })
    }

    /// Compiles `body` into the cache (if new) and returns its SHA1.
    pub fn load(&mut self, body: &[u8]) -> Result<String, Vec<u8>> {
        let sha = sha1hex(body);
        if !self.cache.contains_key(&sha) {
            let func = self
                .lua
                .load(body)
                .set_name("@user_script")
                .set_environment(self.env.clone())
                .into_function()
                .map_err(|e| {
                format!("ERR Error compiling script (new function): {}", lua_message(&e)).into_bytes()
            })?;
            self.cache.insert(sha.clone(), Cached { func });
        }
        Ok(sha)
    }

    /// True if the script `sha` (any case) is cached.
    pub fn exists(&self, sha: &[u8]) -> bool {
        self.cache.contains_key(&String::from_utf8_lossy(sha).to_ascii_lowercase())
    }

    /// Empties the script cache (SCRIPT FLUSH).
    pub fn flush(&mut self) {
        self.cache.clear();
        // Drop the compiled functions now rather than at some later GC.
        let _ = self.lua.gc_collect();
    }

    /// Runs the cached script `sha` with `keys` and `argv` for `client`,
    /// writing its reply to `out`. None if the script is not cached.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        state: &mut ServerState,
        store: &Store,
        client: usize,
        out: &mut ReplyBuf,
        sha: &[u8],
        keys: &[&[u8]],
        argv: &[&[u8]],
        mode: Mode,
    ) -> Option<Outcome> {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        let eng = &state.scripting;
        let func = eng.cache.get(&sha)?.func.clone();
        let (lua, redis, run) = (eng.lua.clone(), eng.redis.clone(), eng.run.clone());
        let (killed, started, resp, pending) =
            (eng.killed.clone(), eng.started.clone(), eng.resp.clone(), eng.pending.clone());
        resp.set(2);
        pending.borrow_mut().take();
        let result = (|| -> mlua::Result<Outcome> {
            let g = lua.globals();
            let strings = |items: &[&[u8]]| -> mlua::Result<Table> {
                let v = items.iter().map(|x| lua.create_string(x)).collect::<mlua::Result<Vec<_>>>()?;
                lua.create_sequence_from(v)
            };
            g.raw_set("KEYS", strings(keys)?)?;
            g.raw_set("ARGV", strings(argv)?)?;
            let db = state.clients[client].db;
            killed.set(false);
            started.set(Some(Instant::now()));
            store.begin_batch();
            state.deny_blocking += 1;
            let cell = RefCell::new((&mut *state, Vec::new()));
            let ran = lua.scope(|scope| {
                let lib = |raise_errors: bool| {
                    let (cell, resp, pending) = (&cell, &resp, &pending);
                    scope.create_function(move |lua, args: MultiValue| {
                        let mut guard = cell.borrow_mut();
                        let (state, scratch) = &mut *guard;
                        let (ok, v) = lib_call(lua, state, store, client, scratch, args, mode, resp.get())?;
                        match (ok, raise_errors) {
                            (false, true) => Err(raise(pending, error_message(&v)?)),
                            _ => Ok(v),
                        }
                    })
                };
                redis.raw_set("call", lib(true)?)?;
                redis.raw_set("pcall", lib(false)?)?;
                let r = run.call::<(bool, Value)>(func);
                redis.raw_set("call", Value::Nil)?;
                redis.raw_set("pcall", Value::Nil)?;
                r
            });
            let state = cell.into_inner().0;
            state.deny_blocking -= 1;
            state.clients[client].db = db;
            started.set(None);
            // The commands already ran; like Redis, what they wrote stays.
            store.end_batch().map_err(|e| mlua::Error::runtime(e.to_string()))?;
            if killed.get() {
                return Ok(Outcome::Failed(
                    format!("ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:0.")
                        .into_bytes(),
                ));
            }
            let (ok, value) = ran?;
            let resp = resp.get();
            if ok {
                lua_to_reply(&value, out, resp == 3)?;
                return Ok(Outcome::Done);
            }
            Ok(Outcome::Failed(error_text(&value, &sha)?))
        })();
        let _ = lua.globals().raw_set("KEYS", Value::Nil);
        let _ = lua.globals().raw_set("ARGV", Value::Nil);
        Some(result.unwrap_or_else(|e| Outcome::Failed(format!("ERR {}", lua_message(&e)).into_bytes())))
    }
}

/// The `err` text of an error table.
fn error_message(v: &Value) -> mlua::Result<Vec<u8>> {
    Ok(match v {
        Value::Table(t) => match t.raw_get::<Value>("err")? {
            Value::String(s) => s.as_bytes().to_vec(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    })
}

/// `redis.call` / `redis.pcall` underneath: runs one command and returns
/// `(true, reply)` or `(false, {err=...})`.
#[allow(clippy::too_many_arguments)]
fn lib_call(
    lua: &Lua,
    state: &mut ServerState,
    store: &Store,
    client: usize,
    scratch: &mut Vec<u8>,
    args: MultiValue,
    mode: Mode,
    resp: u8,
) -> mlua::Result<(bool, Value)> {
    let fail = |msg: &str| -> mlua::Result<(bool, Value)> {
        let t = lua.create_table()?;
        t.raw_set("err", msg)?;
        Ok((false, Value::Table(t)))
    };
    if args.is_empty() {
        return fail(NO_ARGS);
    }
    let mut parts: Vec<mlua::String> = Vec::with_capacity(args.len());
    for a in args {
        match a {
            Value::String(_) | Value::Integer(_) | Value::Number(_) => match lua.coerce_string(a)? {
                Some(s) => parts.push(s),
                None => return fail(BAD_ARG),
            },
            _ => return fail(BAD_ARG),
        }
    }
    let owned = OwnedArgs::from_slices(parts.iter().map(|s| s.as_bytes()).collect::<Vec<_>>().iter().map(|b| &b[..]));
    let args = owned.as_args();
    let Some(spec) = lookup(table::COMMANDS, args.get(0)) else {
        return fail(UNKNOWN);
    };
    if !crate::cmd::arity_ok(spec.arity, args.len()) {
        return fail(ARITY);
    }
    let flags = match args.opt(1) {
        Some(sub) if !spec.subcommands.is_empty() => lookup(spec.subcommands, sub).map_or(spec.flags, |s| s.flags),
        _ => spec.flags,
    };
    if flags.contains(Flags::NOSCRIPT) {
        return fail(NOSCRIPT);
    }
    if mode == Mode::ReadOnly && flags.contains(Flags::WRITE) {
        return fail(RO_WRITE);
    }
    let mut out = ReplyBuf { buf: std::mem::take(scratch), resp3: resp == 3 };
    out.buf.clear();
    call(store, state, client, &mut out, &args, spec);
    let mut pos = 0;
    let v = reply_to_lua(lua, &out.buf, &mut pos);
    let is_err = out.buf.first() == Some(&b'-');
    *scratch = out.buf;
    Ok((!is_err, v?))
}

/// The reply of a failed script: the error table's text with where it
/// happened, as Redis 7 (`<err> script: <sha>, on @user_script:<line>.`).
fn error_text(v: &Value, sha: &str) -> mlua::Result<Vec<u8>> {
    let Value::Table(t) = v else {
        return Ok(format!("ERR Error running script (call to f_{sha}): @user_script:0: unknown error").into_bytes());
    };
    let mut msg = match t.raw_get::<Value>("err")? {
        Value::String(s) => s.as_bytes().to_vec(),
        _ => b"ERR unknown error".to_vec(),
    };
    let source: Option<String> = t.raw_get("source")?;
    let line: Option<i64> = t.raw_get("line")?;
    msg.extend_from_slice(format!(" script: {sha}").as_bytes());
    if let (Some(source), Some(line)) = (source, line) {
        msg.extend_from_slice(format!(", on {source}:{line}.").as_bytes());
    }
    Ok(msg)
}

/// Source and current line of the innermost frame running user code
/// (chunk names starting with `@`; C functions and the runtime are `=...`).
fn user_frame(lua: &Lua) -> (Option<String>, Option<i64>) {
    for level in 0.. {
        let found = lua.inspect_stack(level, |d| {
            let src = d.source().source.map(|s| s.into_owned());
            (src, d.current_line())
        });
        match found {
            None => break,
            Some((Some(src), line)) if src.starts_with('@') => return (Some(src), line.map(|l| l as i64)),
            Some(_) => {}
        }
    }
    (None, None)
}

/// The message Lua gave, without mlua's decorations.
fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_returns_the_script_result() {
        let mut e = Engine::new(5000);
        let sha = e.load(b"return 1").expect("compiles");
        let f = e.cache.get(&sha).expect("cached").func.clone();
        let (ok, v): (bool, Value) = e.run.call(f).expect("runs");
        assert!(ok);
        assert!(matches!(v, Value::Integer(1)) || matches!(v, Value::Number(n) if n == 1.0));
    }

    #[test]
    fn sha1_of_empty() {
        assert_eq!(sha1hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }
}
