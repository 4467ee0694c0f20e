//! The Lua VM (one per server, like Redis): Lua 5.1 via `mlua`, the `redis`
//! library (bootstrap.lua + the Rust bridge below), `cjson`, the script cache
//! keyed by SHA1, and running one script with its commands in one batch.
//!
//! `redis.call` and the time-limit hook are made once with the VM, so (with
//! `unsafe` kept to ffi.rs, STYLE.md) they must own what they use: the
//! `Slot`. For each run the server's state is moved into the slot, a
//! stand-in state taking its place (`Lent`: swapped back when the run ends,
//! on every path), and for each command that may run a script the server
//! lends the slot its store and its busy service (`lend` / `reclaim`).
//! (Made per run in a `Lua::scope` instead, the function's create and
//! destroy cost ~2.5k of a short EVALSHA's ~45k instructions.)
//! `redis.pcall` is Lua around whatever `redis.call` is.
//!
//! Past the time limit the hook hands the busy service the slot's state and
//! store, so the other clients' commands are answered as the server would
//! (see `busy`).
//!
//! Per run the engine makes one call into Lua (`bridge.run`: KEYS/ARGV built
//! and set in Lua, left until the next run) and reuses `redis.call`'s
//! buffers; the collector's pause follows the heap's size (`gc_pause`).

use super::busy::{Busy, BusyService};
use super::convert::{lua_bytes, lua_to_reply, reply_to_lua, ReplyStrings};
use crate::cmd::state::{ServerState, Shutdown};
use crate::cmd::{call, lookup, table, Flags};
use crate::config::Config;
use crate::resp::args::Args;
use crate::resp::ffi::Span;
use crate::resp::reply::ReplyBuf;
use crate::storage::keys::{self, Cf};
use crate::storage::Store;
use mlua::{Function, HookTriggers, Lua, MultiValue, StdLib, Table, Value, Variadic, VmState};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Most KEYS + ARGV passed to a run on the Lua stack (see `Engine::run`).
const STACK_ARGS_MAX: usize = 1000;

/// Lua instructions between two checks of the time limit.
const HOOK_EVERY: u32 = 100_000;

/// Lua 5.1's collector starts a cycle once the heap has grown `pause`% over
/// what the last cycle left, and a cycle marks everything live. A short
/// script leaves a few hundred bytes of garbage, so with the default 200 a
/// small VM (the runtime, ~50 KB) re-marks its whole live heap every couple
/// of hundred runs; with Redis's extra 50 KB step every 50 runs (the former
/// policy here) about every 50. So the pause lets a small heap gather up to
/// `GC_HEADROOM` of garbage per cycle, which stays in cache (megabytes did
/// not: sweeping cold memory and re-growing Lua's string table cost a fifth
/// of a short EVALSHA's CPU); a heap of `GC_HEADROOM` or more keeps the
/// default.
const GC_HEADROOM: usize = 512 << 10;

/// Runs between two re-pacings of the collector (`gc_pause`); the
/// time-limit hook re-paces it too, so a long script growing its heap gets
/// Lua's default pace.
const GC_PERIOD: u32 = 50;

/// The collector's pause for a heap of `used` bytes (see `GC_HEADROOM`).
fn gc_pause(used: usize) -> i32 {
    (100 * (used.saturating_add(GC_HEADROOM)) / used.max(1)).clamp(200, 1000) as i32
}

/// Why a script may not run a command: Redis's texts.
const NO_ARGS: &str = "ERR Please specify at least one argument for this redis lib call";
const BAD_ARG: &str = "ERR Lua redis lib command arguments must be strings or integers";
const UNKNOWN: &str = "ERR Unknown Redis command called from script";
const ARITY: &str = "ERR Wrong number of args calling Redis command from script";
const NOSCRIPT: &str = "ERR This Redis command is not allowed from script";
const RO_WRITE: &str = "ERR Write commands are not allowed from read-only scripts.";
const OUTSIDE_RUN: &str = "ERR redis.call/pcall can only be called inside a script invocation";

/// A compiled script in the cache.
struct Cached {
    func: Function,
    /// The shebang's flags; None for a script without one (Redis's
    /// "compat mode": EVAL_RO runs it and refuses its writes).
    flags: Option<ScriptFlags>,
}

/// Script and function flags (`#!lua flags=...`, `register_function`'s
/// `flags`), in Redis's order.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags(u8);

impl ScriptFlags {
    /// The names, in the order FUNCTION LIST shows them.
    pub const NAMES: [&'static str; 5] =
        ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];

    /// The flag `name` (exact, as Redis compares shebang flags).
    fn parse(name: &[u8]) -> Option<ScriptFlags> {
        Self::NAMES.iter().position(|n| n.as_bytes() == name).map(|i| ScriptFlags(1 << i))
    }

    /// True if the script may not write.
    pub fn no_writes(self) -> bool {
        self.0 & 1 != 0
    }

    /// The names of the flags set.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES.into_iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| n)
    }
}

/// A function registered by a library.
pub struct FunctionDef {
    /// Its name (unique across libraries).
    pub name: String,
    /// `description`, if given.
    pub description: Option<Vec<u8>>,
    /// Its flags.
    pub flags: ScriptFlags,
    func: Function,
}

/// A library loaded by FUNCTION LOAD.
pub struct Library {
    /// The `name=` of its shebang.
    pub name: String,
    /// Its full code, shebang included (what FUNCTION LIST WITHCODE shows
    /// and what is persisted).
    pub code: Vec<u8>,
    /// Its functions, in registration order.
    pub functions: Vec<FunctionDef>,
}

/// What to run: a cached script by SHA1, or a library function by name.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// EVAL / EVALSHA.
    Script(&'a [u8]),
    /// FCALL.
    Function(&'a [u8]),
}

/// The scripting engine: VM, runtime tables and script cache.
pub struct Engine {
    lua: Lua,
    env: Table,
    run: Function,
    /// The script cache by SHA1 (ahash: every EVALSHA looks it up).
    cache: HashMap<String, Cached, ahash::RandomState>,
    /// FUNCTION libraries by name, and which library has each function.
    libraries: BTreeMap<String, Library>,
    function_libs: HashMap<String, String>,
    /// Environment of library code and functions (see bootstrap.lua).
    fenv: Table,
    load_library: Function,
    run_function: Function,
    /// Set by the time-limit hook once the running script has been killed.
    killed: Rc<Cell<bool>>,
    /// When the running script started (the hook compares with the limit).
    started: Rc<Cell<Option<Instant>>>,
    /// The line the script was at when it was killed.
    killed_line: Rc<Cell<i64>>,
    /// Set by the hook when SHUTDOWN NOSAVE killed the running script.
    shutdown: Rc<Cell<bool>>,
    /// `busy-reply-threshold`.
    limit: Rc<Cell<Duration>>,
    /// The running script has called a write command / is a function.
    wrote: Rc<Cell<bool>>,
    is_function: Rc<Cell<bool>>,
    /// What `redis.call` and the hook work with (see the header).
    slot: Rc<RefCell<Slot>>,
    /// The script's protocol (`redis.setresp`), 2 at each start.
    resp: Rc<Cell<u8>>,
    /// The error a Rust library function raised (see `raise`).
    pending: Pending,
    /// Scripts run so far (when to re-pace the collector).
    runs: Cell<u32>,
    /// A script's `redis.call` is running a command (see `in_command`).
    in_command: Cell<bool>,
}

/// What `redis.call` and the time-limit hook reach: made once with the VM,
/// they own it rather than borrow the server's.
struct Slot {
    /// During a run the server's state; between runs a stand-in sharing
    /// this VM (None in the stand-in's own slot).
    state: Option<ServerState>,
    /// True while `state` is the server's.
    running: bool,
    /// The store, lent by the server for a command that may run a script.
    store: Option<Rc<Store>>,
    /// Serves the other clients while a script is busy (lent likewise).
    service: Option<Box<dyn BusyService>>,
    /// The running script's client and mode.
    client: usize,
    mode: Mode,
    /// The buffers `redis.call` reuses.
    scratch: Scratch,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            state: None,
            running: false,
            store: None,
            service: None,
            client: 0,
            mode: Mode::ReadWrite,
            scratch: Scratch::default(),
        }
    }
}

/// The server's state moved into the slot for one run; moved back when this
/// is dropped, whichever way the run ends.
struct Lent<'a> {
    state: &'a mut ServerState,
    slot: &'a RefCell<Slot>,
}

impl<'a> Lent<'a> {
    fn new(state: &'a mut ServerState, slot: &'a RefCell<Slot>, client: usize, mode: Mode) -> Lent<'a> {
        let mut s = slot.borrow_mut();
        std::mem::swap(state, s.state.as_mut().expect("invariant: the stand-in state is in the slot between runs"));
        (s.running, s.client, s.mode) = (true, client, mode);
        drop(s);
        Lent { state, slot }
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let mut s = self.slot.borrow_mut();
        std::mem::swap(self.state, s.state.as_mut().expect("invariant: the server's state is in the slot for the run"));
        s.running = false;
    }
}

/// What `redis.call` reuses from call to call: the command's arguments and
/// its RESP reply (parsed back into Lua values).
#[derive(Default)]
struct Scratch {
    args: Vec<u8>,
    spans: Vec<Span>,
    reply: Vec<u8>,
}

/// Slot for the text of an error raised by a Rust library function: mlua
/// raises Rust errors as userdata, so the function leaves Redis's error text
/// here and the Lua side (error handler, pcall) turns it into what Redis's
/// C function would have raised: an error table (`redis.call`) or, when
/// `plain`, a string (`luaL_error` in a library).
pub type Pending = Rc<RefCell<Option<Raised>>>;

/// An error left in the pending slot.
pub struct Raised {
    text: Vec<u8>,
    plain: bool,
}

/// Marks mlua errors whose text is in the pending slot.
/// (bootstrap.lua checks for this text too.)
const PENDING_MARK: &str = "__diskdb_pending_error__";

/// Raises `msg` (full Redis error text) from a Rust library function.
pub fn raise(pending: &Pending, msg: Vec<u8>) -> mlua::Error {
    *pending.borrow_mut() = Some(Raised { text: msg, plain: false });
    mlua::Error::runtime(PENDING_MARK)
}

/// `msg` raised the way `luaL_error` does from a C library function: a
/// string, prefixed with `source:line:` of the calling Lua function (none
/// when a C function such as pcall called it).
pub fn raise_here(lua: &Lua, pending: &Pending, msg: &str) -> mlua::Error {
    let at = lua.inspect_stack(1, |d| {
        let src = d.source().short_src.map(|s| s.into_owned());
        match (src, d.current_line()) {
            (Some(src), Some(line)) if line > 0 => format!("{src}:{line}: "),
            _ => String::new(),
        }
    });
    *pending.borrow_mut() = Some(Raised { text: format!("{}{msg}", at.unwrap_or_default()).into_bytes(), plain: true });
    mlua::Error::runtime(PENDING_MARK)
}

/// How a script is run: the read-only variants refuse write commands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// EVAL / EVALSHA.
    ReadWrite,
    /// EVAL_RO / EVALSHA_RO.
    ReadOnly,
}

/// Libraries loaded for FUNCTION RESTORE, not yet joined to the others.
pub struct Detached {
    libraries: BTreeMap<String, Library>,
    functions: HashMap<String, String>,
}

/// What FUNCTION RESTORE does with the libraries already loaded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Deletes them all first.
    Flush,
    /// Keeps them; a library of the same name is an error (the default).
    Append,
    /// Keeps them; a library of the same name is replaced.
    Replace,
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
        let engine = Engine::build(time_limit_ms).expect("invariant: the Lua runtime loads");
        let stand_in = ServerState::with_engine(Config::default(), engine.stand_in());
        engine.slot.borrow_mut().state = Some(stand_in);
        engine
    }

    /// What stands in the server's state for a run (see `Lent`): this VM's
    /// handles, no scripts, and a slot of its own that is never used.
    fn stand_in(&self) -> Engine {
        Engine {
            lua: self.lua.clone(),
            env: self.env.clone(),
            run: self.run.clone(),
            cache: HashMap::default(),
            libraries: BTreeMap::new(),
            function_libs: HashMap::new(),
            fenv: self.fenv.clone(),
            load_library: self.load_library.clone(),
            run_function: self.run_function.clone(),
            killed: self.killed.clone(),
            started: self.started.clone(),
            killed_line: self.killed_line.clone(),
            shutdown: self.shutdown.clone(),
            limit: self.limit.clone(),
            wrote: self.wrote.clone(),
            is_function: self.is_function.clone(),
            slot: Rc::new(RefCell::new(Slot::new())),
            resp: self.resp.clone(),
            pending: self.pending.clone(),
            runs: Cell::new(0),
            in_command: Cell::new(false),
        }
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
            lua.create_function(move |lua, ()| match p.borrow_mut().take() {
                Some(r) => Ok((Some(lua.create_string(r.text)?), r.plain)),
                None => Ok((None, false)),
            })?,
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
        let slot = Rc::new(RefCell::new(Slot::new()));
        let (wrote, is_function) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
        let (sl, r, p, w) = (slot.clone(), resp.clone(), pending.clone(), wrote.clone());
        let strings = ReplyStrings::new(&lua)?;
        // bootstrap.lua keeps it and puts it back as redis.call at each run.
        redis.raw_set(
            "call",
            lua.create_function(move |lua, args: MultiValue| {
                let Ok(mut guard) = sl.try_borrow_mut() else { return Err(raise(&p, OUTSIDE_RUN.into())) };
                let Slot { state: Some(state), running: true, store: Some(store), client, mode, scratch, .. } =
                    &mut *guard
                else {
                    return Err(raise(&p, OUTSIDE_RUN.into()));
                };
                match lib_call(lua, &strings, state, store, *client, scratch, args, *mode, r.get(), &w)? {
                    (false, v) => Err(raise(&p, error_message(&v)?)),
                    (true, v) => Ok(v),
                }
            })?,
        )?;
        lua.load(include_str!("bootstrap.lua")).set_name("=bootstrap").call::<()>(bridge.clone())?;
        let env: Table = bridge.get("env")?;
        let run: Function = bridge.get("run")?;
        let fenv: Table = bridge.get("fenv")?;
        let load_library: Function = bridge.get("load_library")?;
        let run_function: Function = bridge.get("run_function")?;
        let killed = Rc::new(Cell::new(false));
        let k = killed.clone();
        bridge.set("killed", lua.create_function(move |_, ()| Ok(k.get()))?)?;
        let started: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let limit = Rc::new(Cell::new(Duration::from_millis(time_limit_ms)));
        let killed_line = Rc::new(Cell::new(0i64));
        let shutdown = Rc::new(Cell::new(false));
        let (k, s, l, kl) = (killed.clone(), started.clone(), limit.clone(), killed_line.clone());
        let (sl, w, isf, sd) = (slot.clone(), wrote.clone(), is_function.clone(), shutdown.clone());
        lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |lua, debug| {
            let killed = || Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."));
            if k.get() {
                // Raised once: pcall and xpcall rethrow it (bootstrap.lua), and
                // failing again here could hit the error handler itself.
                return Ok(VmState::Continue);
            }
            // A long script may be growing the heap: the pause follows.
            lua.gc_set_pause(gc_pause(lua.used_memory()));
            if !s.get().is_some_and(|t| t.elapsed() > l.get()) {
                return Ok(VmState::Continue);
            }
            // Busy: the other clients are served (-BUSY) and may kill the
            // script. With nobody to send SCRIPT KILL (library code at
            // FUNCTION LOAD) the script is killed at the limit. (The slot is
            // never borrowed here: no Lua runs inside redis.call.)
            let Ok(mut guard) = sl.try_borrow_mut() else { return Ok(VmState::Continue) };
            let kill = match &mut *guard {
                Slot { state: Some(state), running: true, store: Some(store), service: Some(service), .. } => {
                    let mut busy = Busy { is_function: isf.get(), wrote: w.get(), kill: false, shutdown: false };
                    service.serve(&mut busy, store, state);
                    sd.set(busy.shutdown);
                    busy.kill
                }
                _ => true,
            };
            drop(guard);
            if kill {
                k.set(true);
                // The error names the line the script was at.
                kl.set(debug.current_line().map_or(0, |l| l as i64));
                return killed();
            }
            Ok(VmState::Continue)
        })?;
        Ok(Engine {
            lua,
            env,
            run,
            cache: HashMap::default(),
            libraries: BTreeMap::new(),
            function_libs: HashMap::new(),
            fenv,
            load_library,
            run_function,
            killed,
            started,
            killed_line,
            shutdown,
            limit,
            wrote,
            is_function,
            slot,
            resp,
            pending,
            runs: Cell::new(0),
            in_command: Cell::new(false),
        })
    }

    /// Compiles `body` into the cache (if new) and returns its SHA1.
    pub fn load(&mut self, body: &[u8]) -> Result<String, Vec<u8>> {
        let sha = sha1hex(body);
        if !self.cache.contains_key(&sha) {
            let (flags, skip) = match body.starts_with(b"#!") {
                true => {
                    let (f, skip) = script_shebang(body)?;
                    (Some(f), skip)
                }
                false => (None, 0),
            };
            // The shebang's newline stays, so line numbers count it.
            let func = self.compile(&body[skip..], "@user_script", &self.env, "script (new function)")?;
            self.cache.insert(sha.clone(), Cached { func, flags });
        }
        Ok(sha)
    }

    /// Compiles `code` as chunk `name` running in `env`; Redis's error text
    /// ("Error compiling <what>: ...") if it does not compile.
    fn compile(&self, code: &[u8], name: &str, env: &Table, what: &str) -> Result<Function, Vec<u8>> {
        self.lua
            .load(code)
            .set_name(name)
            .set_environment(env.clone())
            .into_function()
            .map_err(|e| format!("ERR Error compiling {what}: {}", lua_message(&e)).into_bytes())
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

    /// True while a script's `redis.call` runs a command: the command is
    /// then the script's (Redis's Lua client: the slow log shows no client
    /// address or name for it).
    pub fn in_command(&self) -> bool {
        self.in_command.get()
    }

    /// Sets `busy-reply-threshold`.
    pub fn set_time_limit(&self, ms: u64) {
        self.limit.set(Duration::from_millis(ms));
    }

    /// Lends the store and the service that answers other clients while a
    /// script is busy, for one command that may run a script (`reclaim`
    /// gives them back): `redis.call` and the hook own what they use.
    pub fn lend(&self, service: Box<dyn BusyService>, store: Rc<Store>) {
        let mut slot = self.slot.borrow_mut();
        (slot.service, slot.store) = (Some(service), Some(store));
    }

    /// Takes back what `lend` gave (the store is dropped: the server's is
    /// its only owner again).
    pub fn reclaim(&self) -> Option<Box<dyn BusyService>> {
        let mut slot = self.slot.borrow_mut();
        slot.store = None;
        slot.service.take()
    }

    /// FUNCTION LOAD [REPLACE]: compiles a library and runs its code, which
    /// registers its functions. Returns its name, or Redis's error text.
    pub fn load_library(&mut self, code: &[u8], replace: bool) -> Result<String, Vec<u8>> {
        let (name, skip) = library_shebang(code)?;
        if !replace && self.libraries.contains_key(&name) {
            return Err(format!("ERR Library '{name}' already exists").into_bytes());
        }
        let chunk = self.compile(&code[skip..], "@user_function", &self.fenv, "function")?;
        let registering = |e: &[u8]| [b"ERR Error registering functions: ", e].concat();
        // The time-limit hook guards the library's code too.
        self.killed.set(false);
        self.wrote.set(false);
        self.is_function.set(true);
        self.started.set(Some(Instant::now()));
        let ran = self.load_library.call::<(bool, Value)>(chunk);
        self.started.set(None);
        let (ok, v) = ran.map_err(|e| registering(format!("ERR {}", lua_message(&e)).as_bytes()))?;
        if !ok {
            let msg = error_message(&v).unwrap_or_default();
            return Err(registering(&msg));
        }
        let functions = read_registered(&v).map_err(|e| registering(format!("ERR {}", lua_message(&e)).as_bytes()))?;
        if functions.is_empty() {
            return Err(b"ERR No functions registered".to_vec());
        }
        for f in &functions {
            if self.function_libs.get(&f.name).is_some_and(|owner| *owner != name) {
                return Err(format!("ERR Function {} already exists", f.name).into_bytes());
            }
        }
        self.delete_library(&name);
        for f in &functions {
            self.function_libs.insert(f.name.clone(), name.clone());
        }
        self.libraries.insert(name.clone(), Library { name: name.clone(), code: code.to_vec(), functions });
        Ok(name)
    }

    /// FUNCTION DELETE: false if there is no such library.
    pub fn delete_library(&mut self, name: &str) -> bool {
        let Some(lib) = self.libraries.remove(name) else {
            return false;
        };
        for f in &lib.functions {
            self.function_libs.remove(&f.name);
        }
        true
    }

    /// FUNCTION FLUSH.
    pub fn flush_libraries(&mut self) {
        self.libraries.clear();
        self.function_libs.clear();
        let _ = self.lua.gc_collect();
    }

    /// FUNCTION RESTORE's first step: loads `codes` as FUNCTION LOAD does,
    /// but into a set of their own (a library name twice is an error),
    /// leaving the loaded libraries alone.
    pub fn load_detached(&mut self, codes: &[Vec<u8>]) -> Result<Detached, Vec<u8>> {
        let old = (std::mem::take(&mut self.libraries), std::mem::take(&mut self.function_libs));
        let loaded = codes.iter().try_for_each(|code| self.load_library(code, false).map(drop));
        let libraries = std::mem::replace(&mut self.libraries, old.0);
        let functions = std::mem::replace(&mut self.function_libs, old.1);
        loaded.map(|()| Detached { libraries, functions })
    }

    /// FUNCTION RESTORE's second step: `new` replaces all libraries
    /// (`Flush`) or joins them, as Redis's `libraryJoin`: a library of the
    /// same name is an error (`Append`) or replaced (`Replace`); a function
    /// name another library has is an error. On error nothing changes.
    /// Returns the names of the libraries restored.
    pub fn join(&mut self, new: Detached, policy: RestorePolicy) -> Result<Vec<String>, Vec<u8>> {
        let names = new.libraries.keys().cloned().collect();
        if policy == RestorePolicy::Flush {
            (self.libraries, self.function_libs) = (new.libraries, new.functions);
            return Ok(names);
        }
        if policy == RestorePolicy::Append {
            if let Some(name) = new.libraries.keys().find(|n| self.libraries.contains_key(*n)) {
                return Err(format!("ERR Library {name} already exists").into_bytes());
            }
        }
        for f in new.functions.keys() {
            if self.function_libs.get(f).is_some_and(|owner| !new.libraries.contains_key(owner)) {
                return Err(format!("ERR Function {f} already exists").into_bytes());
            }
        }
        for (name, lib) in new.libraries {
            self.delete_library(&name);
            self.function_libs.extend(lib.functions.iter().map(|f| (f.name.clone(), name.clone())));
            self.libraries.insert(name, lib);
        }
        Ok(names)
    }

    /// INFO memory's scripting figures: the VM's heap (scripts and functions
    /// share one VM), cached scripts, functions and libraries.
    pub fn memory_info(&self) -> (usize, usize, usize, usize) {
        (self.lua.used_memory(), self.cache.len(), self.function_libs.len(), self.libraries.len())
    }

    /// The libraries, by name.
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    /// Loads the libraries persisted by FUNCTION LOAD (at start-up).
    pub fn load_persisted(&mut self, store: &Store) {
        let mut codes = Vec::new();
        let scanned = store.iter_prefix(Cf::Default, keys::FUNCTION_PREFIX, None, false, |_, v| {
            codes.push(v.to_vec());
            true
        });
        if let Err(e) = scanned {
            log::warn!("cannot read the persisted function libraries: {e}");
        }
        for code in codes {
            if let Err(e) = self.load_library(&code, true) {
                log::warn!("persisted function library not loaded: {}", String::from_utf8_lossy(&e));
            }
        }
    }

    /// Runs the cached script or the function `target` for `client` with
    /// the arguments of an EVAL-style command (`numkeys` keys from index 3,
    /// then ARGV), writing its reply to `out`. None if there is no such
    /// script or function. Keys expire by `clock`, the time the command
    /// started (Redis 7 freezes it at the script's start).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        state: &mut ServerState,
        store: &Store,
        client: usize,
        out: &mut ReplyBuf,
        target: Target,
        args: &Args,
        numkeys: usize,
        mode: Mode,
        clock: u64,
    ) -> Option<Outcome> {
        let eng = &state.scripting;
        let (func, flags) = match target {
            Target::Script(sha) => {
                // Cache keys are 40 lowercase hex digits: anything else is
                // not there, and the lookup needs no allocation.
                let mut lower = [0u8; 40];
                if sha.len() != lower.len() {
                    return None;
                }
                lower.copy_from_slice(sha);
                lower.make_ascii_lowercase();
                let c = eng.cache.get(std::str::from_utf8(&lower).ok()?)?;
                (c.func.clone(), c.flags)
            }
            Target::Function(name) => {
                let f = eng.function(name)?;
                (f.func.clone(), Some(f.flags))
            }
        };
        if mode == Mode::ReadOnly && flags.is_some_and(|f| !f.no_writes()) {
            return Some(Outcome::Failed(b"ERR Can not execute a script with write flag using *_ro command.".to_vec()));
        }
        let mode = if flags.is_some_and(ScriptFlags::no_writes) { Mode::ReadOnly } else { mode };
        let is_function = matches!(target, Target::Function(_));
        // `name` names the script in errors: its SHA1, or the function's name.
        let name = || match target {
            Target::Script(sha) => String::from_utf8_lossy(sha).to_ascii_lowercase(),
            Target::Function(name) => String::from_utf8_lossy(name).into_owned(),
        };
        let run = if is_function { eng.run_function.clone() } else { eng.run.clone() };
        let lua = eng.lua.clone();
        let (killed, started, resp, pending) =
            (eng.killed.clone(), eng.started.clone(), eng.resp.clone(), eng.pending.clone());
        let (wrote, slot) = (eng.wrote.clone(), eng.slot.clone());
        if !slot.borrow().store.as_deref().is_some_and(|lent| std::ptr::eq(lent, store)) {
            // The server lends its store for every command that may run a
            // script (see `lend`).
            log::error!("a script was to run without the server's store lent to the engine");
            return Some(Outcome::Failed(b"ERR internal error".to_vec()));
        }
        wrote.set(false);
        eng.is_function.set(is_function);
        resp.set(2);
        pending.borrow_mut().take();
        let result = (|| -> mlua::Result<Outcome> {
            let db = state.clients[client].db;
            killed.set(false);
            started.set(Some(Instant::now()));
            store.begin_batch();
            state.deny_blocking += 1;
            // (Inside EXEC, the transaction's clock comes back after.)
            let outer_clock = state.frozen_clock.replace(clock);
            let ran = {
                let _lent = Lent::new(state, &slot, client, mode);
                // bootstrap.lua sets KEYS / ARGV for the run. Few arguments
                // go on the stack, split in Lua (cheaper than two tables
                // built through mlua); Lua 5.1's stack takes a few thousand,
                // so more go as tables.
                if args.len() - 3 <= STACK_ARGS_MAX {
                    let on_stack: Variadic<_> = args.iter_from(3).map(lua_bytes).collect();
                    run.call::<(bool, Value)>((func, numkeys, Value::Nil, on_stack))
                } else {
                    let (keys, argv) = (args.iter_from(3).take(numkeys), args.iter_from(3 + numkeys));
                    sequence(&lua, keys).and_then(|k| run.call::<(bool, Value)>((func, k, sequence(&lua, argv)?)))
                }
            };
            state.deny_blocking -= 1;
            state.frozen_clock = outer_clock;
            state.clients[client].db = db;
            started.set(None);
            if state.scripting.runs.replace(state.scripting.runs.get().wrapping_add(1)) % GC_PERIOD == 0 {
                lua.gc_set_pause(gc_pause(lua.used_memory()));
            }
            if state.scripting.shutdown.replace(false) {
                // SHUTDOWN NOSAVE: like Redis, the server stops before the
                // script's writes are kept anywhere.
                store.discard_batch().map_err(|e| mlua::Error::runtime(e.to_string()))?;
                log::warn!("SHUTDOWN NOSAVE while a script was busy: its writes are dropped");
                state.shutdown = Some(Shutdown::Clean);
                return Ok(Outcome::Failed(b"ERR the server is shutting down".to_vec()));
            }
            // The commands already ran; like Redis, what they wrote stays.
            store.end_batch().map_err(|e| mlua::Error::runtime(e.to_string()))?;
            if killed.get() {
                let kind = if is_function { "function" } else { "script" };
                let line = state.scripting.killed_line.get();
                let msg = format!(
                    "ERR Script killed by user with SCRIPT KILL... script: {}, on @user_{kind}:{line}.",
                    name()
                );
                return Ok(Outcome::Failed(msg.into_bytes()));
            }
            let (ok, value) = ran?;
            if ok {
                lua_to_reply(&value, out, resp.get() == 3)?;
                return Ok(Outcome::Done);
            }
            Ok(Outcome::Failed(error_text(&value, &name())?))
        })();
        Some(result.unwrap_or_else(|e| {
            // The runtime failed outside the script (which its xpcall
            // catches): drop what it may have installed for the run.
            let eng = &state.scripting;
            for k in ["KEYS", "ARGV"] {
                let _ = eng.lua.globals().raw_set(k, Value::Nil);
            }
            Outcome::Failed(format!("ERR {}", lua_message(&e)).into_bytes())
        }))
    }

    /// The library function `name`.
    fn function(&self, name: &[u8]) -> Option<&FunctionDef> {
        let name = std::str::from_utf8(name).ok()?;
        self.libraries[self.function_libs.get(name)?].functions.iter().find(|f| f.name == name)
    }
}

/// A Lua array of `items` (KEYS, ARGV), filled in one call into Lua.
fn sequence<'a>(lua: &Lua, items: impl Iterator<Item = &'a [u8]>) -> mlua::Result<Table> {
    lua.create_sequence_from(items.map(lua_bytes))
}

/// The flags of a `#!lua flags=a,b` script shebang, and the shebang's length.
fn script_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), Vec<u8>> {
    let Some(end) = memchr::memchr(b'\n', body) else {
        return Err(b"ERR Invalid script shebang".to_vec());
    };
    let parts = crate::resp::refparser::split_args(&body[..end]).unwrap_or_default();
    let Some(engine) = parts.first() else {
        return Err(b"ERR Invalid engine in script shebang".to_vec());
    };
    if engine != b"#!lua" {
        return Err([b"ERR Unexpected engine in script shebang: ", &engine[..]].concat());
    }
    let mut flags = ScriptFlags::default();
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err([b"ERR Unknown lua shebang option: ", &part[..]].concat());
        };
        for name in list.split(|&c| c == b',').filter(|n| !list.is_empty() || !n.is_empty()) {
            match ScriptFlags::parse(name) {
                Some(f) => flags.0 |= f.0,
                None => return Err([b"ERR Unexpected flag in script shebang: ", name].concat()),
            }
        }
    }
    Ok((flags, end))
}

/// The `name=` of a `#!lua name=lib` library shebang, and the shebang's
/// length; Redis's errors otherwise.
fn library_shebang(code: &[u8]) -> Result<(String, usize), Vec<u8>> {
    if !code.starts_with(b"#!") {
        return Err(b"ERR Missing library metadata".to_vec());
    }
    let invalid = || b"ERR Invalid library metadata".to_vec();
    let end = memchr::memchr(b'\n', code).ok_or_else(invalid)?;
    let parts = crate::resp::refparser::split_args(&code[..end]).ok_or_else(invalid)?;
    let engine = parts.first().ok_or_else(invalid)?;
    let mut name: Option<Vec<u8>> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(b"ERR Invalid metadata value, name argument was given multiple times".to_vec());
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return Err([b"ERR Invalid metadata value given: ", &part[..]].concat());
    }
    let Some(name) = name else {
        return Err(b"ERR Library name was not given".to_vec());
    };
    if !engine[2..].eq_ignore_ascii_case(b"lua") {
        return Err([b"ERR Engine '", &engine[2..], b"' not found"].concat());
    }
    if name.is_empty() || !name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_') {
        return Err(
            b"ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
                .to_vec(),
        );
    }
    Ok((String::from_utf8(name).expect("invariant: checked ASCII"), end))
}

/// The functions a library's code registered (bootstrap.lua's records).
fn read_registered(v: &Value) -> mlua::Result<Vec<FunctionDef>> {
    let Value::Table(t) = v else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for f in t.clone().sequence_values::<Table>() {
        let f = f?;
        let mut flags = ScriptFlags::default();
        for n in f.get::<Table>("flags")?.sequence_values::<mlua::String>() {
            flags.0 |= ScriptFlags::parse(&n?.as_bytes()).map_or(0, |f| f.0);
        }
        let description: Option<mlua::String> = f.get("description")?;
        out.push(FunctionDef {
            name: f.get("name")?,
            description: description.map(|d| d.as_bytes().to_vec()),
            flags,
            func: f.get("callback")?,
        });
    }
    Ok(out)
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
    strings: &ReplyStrings,
    state: &mut ServerState,
    store: &Store,
    client: usize,
    scratch: &mut Scratch,
    args: MultiValue,
    mode: Mode,
    resp: u8,
    wrote: &Cell<bool>,
) -> mlua::Result<(bool, Value)> {
    let fail = |msg: &str| -> mlua::Result<(bool, Value)> {
        let t = lua.create_table()?;
        t.raw_set("err", msg)?;
        Ok((false, Value::Table(t)))
    };
    if args.is_empty() {
        return fail(NO_ARGS);
    }
    let Scratch { args: buf, spans, reply } = scratch;
    buf.clear();
    spans.clear();
    for a in args {
        let off = buf.len();
        match a {
            Value::String(s) => buf.extend_from_slice(&s.as_bytes()),
            Value::Integer(_) | Value::Number(_) => match lua.coerce_string(a)? {
                Some(s) => buf.extend_from_slice(&s.as_bytes()),
                None => return fail(BAD_ARG),
            },
            _ => return fail(BAD_ARG),
        }
        spans.push(Span { off, len: buf.len() - off });
    }
    let args = Args::new(buf, spans);
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
    if flags.contains(Flags::WRITE) {
        // From now on SCRIPT KILL answers UNKILLABLE (as Redis's write-dirty flag).
        wrote.set(true);
    }
    let mut out = ReplyBuf { buf: std::mem::take(reply), resp3: resp == 3 };
    out.buf.clear();
    state.scripting.in_command.set(true);
    call(store, state, client, &mut out, &args, spec);
    state.scripting.in_command.set(false);
    let mut pos = 0;
    let v = reply_to_lua(lua, strings, &out.buf, &mut pos);
    let is_err = out.buf.first() == Some(&b'-');
    *reply = out.buf;
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
        let (ok, v): (bool, Value) = e.run.call((f, 0)).expect("runs");
        assert!(ok);
        assert!(matches!(v, Value::Integer(1)) || matches!(v, Value::Number(n) if n == 1.0));
    }

    #[test]
    fn small_heaps_gather_more_garbage_per_cycle_big_ones_as_lua_does() {
        assert!(gc_pause(Engine::new(5000).lua.used_memory()) > 500);
        assert_eq!(gc_pause(64 << 10), 900);
        assert_eq!(gc_pause(GC_HEADROOM), 200);
        assert_eq!(gc_pause(GC_HEADROOM / 2), 300);
        assert_eq!(gc_pause(usize::MAX / 200), 200);
        assert_eq!(gc_pause(0), 1000);
    }

    #[test]
    fn sha1_of_empty() {
        assert_eq!(sha1hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }
}
