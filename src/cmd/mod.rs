//! Commands: the spec type, `Ctx` (what a handler may touch) and `dispatch`,
//! the one place that looks up, checks arity/auth, times, commits and replies.
//!
//! A handler writes its reply into `ctx.out` and returns `Ok(())`, or returns
//! `Err` having written nothing that counts: the dispatcher truncates the
//! output back to where the command started and writes the error instead. The
//! command's storage writes are committed only after `Ok`.

pub mod connection;
pub mod function;
pub mod hash;
pub mod json;
pub mod keys;
pub mod list;
pub mod members;
pub mod multi;
pub mod pubsub;
pub mod script;
pub mod server;
pub mod set;
pub mod sort;
pub mod state;
pub mod stream;
pub mod string;
pub mod table;
pub mod zset;

use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::storage::{now_ms, Store, Tx};
use state::{BlockRequest, Client, ReplyMode, ServerState, SlowEntry};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

bitflags::bitflags! {
    /// Command properties, as Redis's command flags.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Flags: u32 {
        /// May modify data.
        const WRITE = 1;
        /// Never modifies data.
        const READONLY = 1 << 1;
        /// O(1) or O(log N).
        const FAST = 1 << 2;
        /// Administrative.
        const ADMIN = 1 << 3;
        /// Allowed before AUTH.
        const NO_AUTH = 1 << 4;
        /// May block the client.
        const BLOCKING = 1 << 5;
        /// Reply order is unspecified (the differential tests sort it).
        const UNORDERED = 1 << 6;
        /// May grow memory use (Redis `denyoom`).
        const DENYOOM = 1 << 7;
        /// Not allowed from scripts.
        const NOSCRIPT = 1 << 8;
        /// Allowed while loading.
        const LOADING = 1 << 9;
        /// Allowed on a stale replica.
        const STALE = 1 << 10;
        /// Pub/Sub related.
        const PUBSUB = 1 << 11;
        /// Not shown in MONITOR.
        const SKIP_MONITOR = 1 << 12;
        /// Not logged in the slow log.
        const SKIP_SLOWLOG = 1 << 13;
        /// Does not count as activity for key timestamps.
        const NO_TOUCH = 1 << 14;
        /// Allowed in subscriber mode / with a dirty MULTI... (Redis `allow_busy`).
        const ALLOW_BUSY = 1 << 15;
    }
}

impl Flags {
    /// Redis's names for the flags set, in COMMAND INFO order.
    pub fn names(self) -> Vec<&'static str> {
        let table: [(Flags, &str); 14] = [
            (Flags::WRITE, "write"),
            (Flags::READONLY, "readonly"),
            (Flags::DENYOOM, "denyoom"),
            (Flags::ADMIN, "admin"),
            (Flags::PUBSUB, "pubsub"),
            (Flags::NOSCRIPT, "noscript"),
            (Flags::BLOCKING, "blocking"),
            (Flags::LOADING, "loading"),
            (Flags::STALE, "stale"),
            (Flags::SKIP_MONITOR, "skip_monitor"),
            (Flags::SKIP_SLOWLOG, "skip_slowlog"),
            (Flags::FAST, "fast"),
            (Flags::NO_AUTH, "no_auth"),
            (Flags::ALLOW_BUSY, "allow_busy"),
        ];
        table.iter().filter(|(f, _)| self.contains(*f)).map(|(_, n)| *n).collect()
    }
}

/// Where a command's keys are, for COMMAND GETKEYS, ACLs and cluster routing.
#[derive(Debug, Clone, Copy)]
pub enum KeySpec {
    /// No keys.
    None,
    /// Keys at `first..=last` every `step` (a negative `last` counts from the end).
    Range {
        /// First key index.
        first: i32,
        /// Last key index (-1 = last argument).
        last: i32,
        /// Distance between keys.
        step: i32,
    },
    /// A count at index `at` followed by that many keys (LMPOP, ZUNION, ...),
    /// after `fixed` keys from index 1 (the destination of ZUNIONSTORE, ...).
    NumKeys {
        /// Index of the numkeys argument.
        at: i32,
        /// Keys before it, from index 1.
        fixed: i32,
    },
    /// SORT: the key at 1, and the destination of the last STORE when
    /// `store` (SORT_RO has none).
    Sort {
        /// Whether STORE names a key.
        store: bool,
    },
    /// XREAD / XREADGROUP: the keys follow the first `STREAMS` searched
    /// from index `from`, half of the arguments after it (the rest are ids).
    Streams {
        /// Index where the search for `STREAMS` starts.
        from: i32,
    },
}

impl KeySpec {
    /// The single key at index 1.
    pub const ONE: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };
    /// Every argument from 1 on.
    pub const ALL: KeySpec = KeySpec::Range { first: 1, last: -1, step: 1 };
    /// Keys at 1 and 2 (RENAME, COPY, SMOVE, ...).
    pub const TWO: KeySpec = KeySpec::Range { first: 1, last: 2, step: 1 };
    /// Key/value pairs from 1 (MSET).
    pub const PAIRS: KeySpec = KeySpec::Range { first: 1, last: -1, step: 2 };

    /// `(first, last, step)` as COMMAND reports them: for movable keys, only
    /// the keys at fixed positions.
    pub fn triple(self) -> (i32, i32, i32) {
        match self {
            KeySpec::None | KeySpec::NumKeys { fixed: 0, .. } | KeySpec::Streams { .. } => (0, 0, 0),
            KeySpec::Range { first, last, step } => (first, last, step),
            KeySpec::NumKeys { fixed, .. } => (1, fixed, 1),
            KeySpec::Sort { .. } => (1, 1, 1),
        }
    }

    /// Whether the key positions depend on the arguments (Redis's
    /// `movablekeys` flag).
    pub fn is_movable(self) -> bool {
        matches!(self, KeySpec::NumKeys { .. } | KeySpec::Sort { .. } | KeySpec::Streams { .. })
    }

    /// Indexes of the keys in `args` (the command name at 0). Empty when the
    /// arguments cannot name keys (a numkeys that is not a positive count of
    /// the arguments present), as Redis's COMMAND GETKEYS reports.
    pub fn positions(self, args: &[&[u8]]) -> Vec<usize> {
        let argc = args.len();
        match self {
            KeySpec::None => Vec::new(),
            KeySpec::Range { first, last, step } => {
                let last = if last < 0 { argc as i32 + last } else { last };
                (first..=last.min(argc as i32 - 1)).step_by(step.max(1) as usize).map(|i| i as usize).collect()
            }
            KeySpec::NumKeys { at, fixed } => {
                let at = at as usize;
                // Redis's native getkeys uses atoi() here.
                let n = args.get(at).map_or(0, |a| atoi(a));
                if n < 1 || n > (argc.saturating_sub(at + 1)) as i64 {
                    return Vec::new();
                }
                (1..=fixed as usize).chain(at + 1..=at + n as usize).collect()
            }
            KeySpec::Sort { store } => {
                // Redis's sortGetKeys: skip the arguments of LIMIT, GET and
                // BY; the last STORE with an argument wins.
                let mut dst = None;
                let mut i = 2;
                while i < argc {
                    let a = args[i];
                    if a.eq_ignore_ascii_case(b"limit") {
                        i += 2;
                    } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argc {
                        dst = Some(i + 1);
                    } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
                        i += 1;
                    }
                    i += 1;
                }
                std::iter::once(1).chain(dst.filter(|_| store)).collect()
            }
            KeySpec::Streams { from } => {
                // Redis's keyword search stops before the last argument.
                let Some(at) =
                    (from as usize..argc.saturating_sub(1)).find(|&i| args[i].eq_ignore_ascii_case(b"streams"))
                else {
                    return Vec::new();
                };
                (at + 1..at + 1 + (argc - at - 1) / 2).collect()
            }
        }
    }
}

/// C's `atoi`: optional blanks and sign, then digits up to the first other byte.
fn atoi(s: &[u8]) -> i64 {
    let s = &s[s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len())..];
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &c in s.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// Command group (COMMAND DOCS, ACL categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Strings.
    String,
    /// Generic key commands.
    Generic,
    /// Connection management.
    Connection,
    /// Server management.
    Server,
    /// Hashes.
    Hash,
    /// Sets.
    Set,
    /// Sorted sets.
    SortedSet,
    /// Lists.
    List,
    /// MULTI/EXEC/WATCH.
    Transactions,
    /// Pub/Sub.
    PubSub,
    /// Streams.
    Stream,
    /// JSON documents.
    Json,
    /// Lua scripting.
    Scripting,
}

impl Group {
    /// Redis's name for the group.
    pub fn name(self) -> &'static str {
        match self {
            Group::String => "string",
            Group::Generic => "generic",
            Group::Connection => "connection",
            Group::Server => "server",
            Group::Hash => "hash",
            Group::Set => "set",
            Group::SortedSet => "sortedset",
            Group::List => "list",
            Group::Transactions => "transactions",
            Group::PubSub => "pubsub",
            Group::Stream => "stream",
            Group::Json => "json",
            Group::Scripting => "scripting",
        }
    }
}

/// A command handler.
pub type Handler = fn(&mut Ctx, &Args) -> CmdResult;

/// One row of the command table.
pub struct CommandSpec {
    /// Lowercase name (`config|get` style for subcommands is built from the parent).
    pub name: &'static str,
    /// Redis arity: positive = exact, negative = at least; counts the name.
    pub arity: i32,
    /// Properties.
    pub flags: Flags,
    /// Key positions.
    pub keys: KeySpec,
    /// Group.
    pub group: Group,
    /// The handler (for a container, it dispatches to `subcommands`).
    pub run: Handler,
    /// Subcommands (CONFIG GET, CLIENT LIST, ...), sorted by name.
    pub subcommands: &'static [CommandSpec],
}

impl std::fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Flag bits as plain `u32` constants, so table rows can `|` them in a static.
pub mod flag_bits {
    use super::Flags;
    /// No flags.
    pub const NONE: u32 = 0;
    /// See [`Flags::WRITE`].
    pub const WRITE: u32 = Flags::WRITE.bits();
    /// See [`Flags::READONLY`].
    pub const READONLY: u32 = Flags::READONLY.bits();
    /// See [`Flags::FAST`].
    pub const FAST: u32 = Flags::FAST.bits();
    /// See [`Flags::ADMIN`].
    pub const ADMIN: u32 = Flags::ADMIN.bits();
    /// See [`Flags::NO_AUTH`].
    pub const NO_AUTH: u32 = Flags::NO_AUTH.bits();
    /// See [`Flags::BLOCKING`].
    pub const BLOCKING: u32 = Flags::BLOCKING.bits();
    /// See [`Flags::UNORDERED`].
    pub const UNORDERED: u32 = Flags::UNORDERED.bits();
    /// See [`Flags::DENYOOM`].
    pub const DENYOOM: u32 = Flags::DENYOOM.bits();
    /// See [`Flags::NOSCRIPT`].
    pub const NOSCRIPT: u32 = Flags::NOSCRIPT.bits();
    /// See [`Flags::LOADING`].
    pub const LOADING: u32 = Flags::LOADING.bits();
    /// See [`Flags::STALE`].
    pub const STALE: u32 = Flags::STALE.bits();
    /// See [`Flags::PUBSUB`].
    pub const PUBSUB: u32 = Flags::PUBSUB.bits();
    /// See [`Flags::ALLOW_BUSY`].
    pub const ALLOW_BUSY: u32 = Flags::ALLOW_BUSY.bits();
    /// See [`Flags::SKIP_SLOWLOG`].
    pub const SKIP_SLOWLOG: u32 = Flags::SKIP_SLOWLOG.bits();
}

/// Builds a table row (`flags` from [`flag_bits`]).
pub const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    group: Group,
    run: Handler,
) -> CommandSpec {
    CommandSpec { name, arity, flags: Flags::from_bits_retain(flags), keys, group, run, subcommands: &[] }
}

/// Builds a container row whose handler is `run_subcommand`.
pub const fn container(
    name: &'static str,
    arity: i32,
    flags: u32,
    group: Group,
    subs: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags: Flags::from_bits_retain(flags),
        keys: KeySpec::None,
        group,
        run: run_subcommand,
        subcommands: subs,
    }
}

/// What a handler may touch: the command's transaction, its reply buffer, the
/// server-wide state, and which client it runs for.
pub struct Ctx<'a> {
    /// Storage transaction of this command (committed after `Ok`).
    pub tx: Tx<'a>,
    /// The client's reply buffer.
    pub out: &'a mut ReplyBuf,
    /// Server-wide state.
    pub state: &'a mut ServerState,
    /// Key of the client in `state.clients`.
    pub client: usize,
    /// The spec being run (for subcommand error texts).
    pub spec: &'static CommandSpec,
}

impl Ctx<'_> {
    /// The calling client.
    pub fn me(&mut self) -> &mut Client {
        &mut self.state.clients[self.client]
    }

    /// Parks the client until one of `keys` is written or `deadline_ms`
    /// passes; the command is then run again from the start. The handler
    /// returns this without writing a reply.
    /// Inside EXEC or a script nothing may wait: the command answers at once
    /// with the null array a timeout gives.
    pub fn block(&mut self, keys: Vec<Vec<u8>>, deadline_ms: Option<u64>) -> CmdResult {
        if !self.may_block() {
            self.out.null_array();
            return Ok(());
        }
        self.state.block_request = Some(BlockRequest { keys, deadline_ms, rerun: None });
        Ok(())
    }

    /// [`Ctx::block`], but the retries run `rerun` instead of the command sent.
    pub fn block_rerun(&mut self, keys: Vec<Vec<u8>>, deadline_ms: Option<u64>, rerun: Vec<Vec<u8>>) -> CmdResult {
        if !self.may_block() {
            self.out.null_array();
            return Ok(());
        }
        self.state.block_request = Some(BlockRequest { keys, deadline_ms, rerun: Some(rerun) });
        Ok(())
    }

    /// False inside EXEC and scripts, where blocking commands must not wait.
    pub fn may_block(&self) -> bool {
        self.state.deny_blocking == 0
    }

    /// The shape of every blocking pop: serve what `found` holds (the first
    /// ready source), or park on `keys` until `deadline_ms` and run again.
    pub fn serve_or_block<T>(
        &mut self,
        found: Option<T>,
        keys: &[&[u8]],
        deadline_ms: Option<u64>,
        serve: impl FnOnce(&mut Self, T) -> CmdResult,
    ) -> CmdResult {
        match found {
            Some(x) => serve(self, x),
            None => self.block_on(keys, deadline_ms),
        }
    }

    /// [`Ctx::block`] on borrowed key names.
    pub fn block_on(&mut self, keys: &[&[u8]], deadline_ms: Option<u64>) -> CmdResult {
        self.block(keys.iter().map(|k| k.to_vec()).collect(), deadline_ms)
    }
}

/// Parses a blocking command's timeout (seconds, fractions allowed, 0 =
/// forever) into an absolute deadline, exactly as Redis 7.0: the value is
/// truncated to whole milliseconds (so 0.0001 means forever), and values whose
/// milliseconds do not fit an i64 (inf, 1e16) wrap negative like C's cast.
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Option<u64>, CmdError> {
    let secs = crate::util::strtod(arg).ok_or(CmdError::Err("timeout is not a float or out of range"))?;
    let ms = secs * 1000.0;
    let ms = if ms.is_finite() && ms.abs() < 9.2e18 { ms.trunc() as i64 } else { i64::MIN };
    if ms < 0 {
        return Err(CmdError::Err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(None);
    }
    if ms > i64::MAX - now_ms as i64 {
        return Err(CmdError::Err("timeout is out of range"));
    }
    Ok(Some(now_ms + ms as u64))
}

/// Finds a command by name, case-insensitively, without allocating.
pub fn lookup(table: &'static [CommandSpec], name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > 32 {
        return None;
    }
    let mut lower = [0u8; 32];
    let lower = &mut lower[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    if std::ptr::eq(table, table::COMMANDS) {
        // Every command is looked up here: a hash probe is a fifth of a
        // binary search's byte compares over ~240 names.
        return command_index().get(&*lower).copied();
    }
    table.binary_search_by(|c| c.name.as_bytes().cmp(lower)).ok().map(|i| &table[i])
}

/// `table::COMMANDS` by name.
fn command_index() -> &'static HashMap<&'static [u8], &'static CommandSpec, ahash::RandomState> {
    static INDEX: OnceLock<HashMap<&'static [u8], &'static CommandSpec, ahash::RandomState>> = OnceLock::new();
    INDEX.get_or_init(|| table::COMMANDS.iter().map(|c| (c.name.as_bytes(), c)).collect())
}

pub(crate) fn arity_ok(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= (-arity) as usize
    }
}

/// Redis's text for an unknown command, byte for byte: C's `%.*s` stops at a
/// NUL and counts bytes, and the arguments stop once 128 bytes are listed.
pub(crate) fn unknown_command(args: &Args) -> CmdError {
    fn c_str(a: &[u8], max: usize) -> &[u8] {
        let a = &a[..a.iter().position(|&b| b == 0).unwrap_or(a.len())];
        &a[..a.len().min(max)]
    }
    let mut tail: Vec<u8> = Vec::new();
    for a in args.iter_from(1) {
        if tail.len() >= 128 {
            break;
        }
        let room = 128 - tail.len();
        tail.push(b'\'');
        tail.extend_from_slice(c_str(a, room));
        tail.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(c_str(args.get(0), 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&tail);
    CmdError::Bytes(msg)
}

/// Handler of container commands: finds the subcommand, checks its arity.
pub fn run_subcommand(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let parent = ctx.spec;
    let sub = args.get(1);
    match lookup(parent.subcommands, sub) {
        Some(s) => {
            if !arity_ok(s.arity, args.len()) {
                return Err(CmdError::WrongArity(format!("{}|{}", parent.name, s.name)));
            }
            (s.run)(ctx, args)
        }
        None => Err(CmdError::UnknownSubcommand(String::from_utf8_lossy(sub).into_owned(), parent.name.into())),
    }
}

/// Runs one command for `client`, appending its reply (or error) to `out`.
/// Returns the spec run (None for an unknown command). Inside MULTI the
/// command is queued instead (see `multi`).
pub fn dispatch(
    store: &Store,
    state: &mut ServerState,
    client: usize,
    out: &mut ReplyBuf,
    args: &Args,
) -> Option<&'static CommandSpec> {
    let mark = out.len();
    let spec = dispatch_command(store, state, client, out, args);
    // CLIENT REPLY OFF/SKIP: the reply is produced, then dropped, as Redis
    // drops it at the buffer; SKIP applies to the command after its own.
    let c = &mut state.clients[client];
    if matches!(c.reply, ReplyMode::Off | ReplyMode::Skip) {
        out.truncate(mark);
    }
    c.reply = match c.reply {
        ReplyMode::SkipNext => ReplyMode::Skip,
        ReplyMode::Skip => ReplyMode::On,
        m => m,
    };
    spec
}

/// `dispatch` before CLIENT REPLY: subscriber-mode checks, MULTI queueing, or the call.
fn dispatch_command(
    store: &Store,
    state: &mut ServerState,
    client: usize,
    out: &mut ReplyBuf,
    args: &Args,
) -> Option<&'static CommandSpec> {
    if args.is_empty() {
        return None;
    }
    let Some(spec) = lookup(table::COMMANDS, args.get(0)) else {
        state.stats.errors += 1;
        multi::flag_error(state, client);
        out.error(&unknown_command(args));
        return None;
    };
    let c = &state.clients[client];
    if c.resp == 2 && c.subs.any() && !pubsub::allowed_when_subscribed(spec.name) {
        state.stats.errors += 1;
        out.error(&pubsub::subscribed_error(spec.name));
        return Some(spec);
    }
    if c.multi.is_some() && !multi::runs_in_multi(spec) {
        multi::queue(state, client, out, args, spec);
        return Some(spec);
    }
    call(store, state, client, out, args, spec);
    Some(spec)
}

/// Runs `spec` now (a client's command, or one queued by EXEC or called by a
/// script): checks, runs, commits, counts, and writes its reply or error.
pub fn call(
    store: &Store,
    state: &mut ServerState,
    client: usize,
    out: &mut ReplyBuf,
    args: &Args,
    spec: &'static CommandSpec,
) {
    let mark = out.len();
    // One clock read is both the command's time (`now_ms`) and the start of
    // its duration, which is wall-clock time as in Redis (`ustime()`): a
    // script's EVALSHA and its two commands read the clock 7 times, not 11.
    let started = now_us();
    let result = run(store, state, client, out, args, spec, started / 1000);
    let usec = now_us().saturating_sub(started);
    // Like Redis, a call that parks its client is counted once, when it is
    // served by a re-run or times out (see `count_timed_out`), not per run.
    let parked = result.is_ok() && state.block_request.is_some();
    if !parked {
        state.stats.commands += 1;
    }
    // Containers count per subcommand, as Redis's `cmdstat_config|get`.
    let sub = match args.opt(1) {
        Some(a) if !spec.subcommands.is_empty() => lookup(spec.subcommands, a).map_or("", |s| s.name),
        _ => "",
    };
    let st = state.stats.per_cmd.entry((spec.name, sub)).or_default();
    st.calls += u64::from(!parked);
    st.usec += usec;
    let c = &mut state.clients[client];
    c.commands += 1;
    c.last_cmd = spec.name;
    if let Err(e) = result {
        st.failed += 1;
        state.stats.errors += 1;
        out.truncate(mark);
        out.error(&e);
    }
    slowlog_push(state, client, args, spec, usec);
}

/// Wall-clock time in microseconds (`now_ms` to the microsecond).
fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// Counts the call of a parked command whose timeout passed (the runs that
/// parked it were not counted), as Redis counts a timed-out BLPOP once.
pub fn count_timed_out(state: &mut ServerState, args: &Args) {
    if let Some(spec) = lookup(table::COMMANDS, args.get(0)) {
        state.stats.commands += 1;
        state.stats.per_cmd.entry((spec.name, "")).or_default().calls += 1;
    }
}

fn run(
    store: &Store,
    state: &mut ServerState,
    client: usize,
    out: &mut ReplyBuf,
    args: &Args,
    spec: &'static CommandSpec,
    now: u64,
) -> CmdResult {
    if !arity_ok(spec.arity, args.len()) {
        if spec.name == "exec" {
            // Like Redis: a rejected EXEC also discards the transaction.
            multi::discard_transaction(state, client);
            return Err(CmdError::Raw(format!(
                "EXECABORT Transaction discarded because of: wrong number of arguments for '{}' command",
                spec.name
            )));
        }
        return Err(CmdError::WrongArity(spec.name.into()));
    }
    let c = &mut state.clients[client];
    c.last_ms = now;
    if !c.authed && !spec.flags.contains(Flags::NO_AUTH) {
        return Err(CmdError::NoAuth);
    }
    let db = c.db;
    if spec.flags.contains(Flags::WRITE) {
        // (The event loop probes for recovery before each command: `Store::writable`.)
        if let Some(cause) = store.write_error() {
            return Err(CmdError::misconf(&cause));
        }
    }
    let data = {
        let mut tx = Tx::new(store, db, now);
        tx.expire_ms = state.frozen_clock.unwrap_or(now);
        let mut ctx = Ctx { tx, out, state, client, spec };
        (spec.run)(&mut ctx, args)?;
        ctx.tx.finish()
    };
    if !data.is_empty() {
        if !state.blocking_keys.is_empty() {
            // Clients blocked on a key this command created or changed get a
            // chance to run again (the server serves them after this command).
            for (db, key) in data.written_keys() {
                let slot = (db, key.to_vec());
                if state.blocking_keys.contains_key(&slot) && !state.ready_keys.contains(&slot) {
                    state.ready_keys.push(slot);
                }
            }
        }
        if !state.watched_keys.is_empty() {
            multi::touch(store, state, &data);
        }
        if let Err(e) = store.commit(data) {
            return Err(store.write_error().map_or_else(|| CmdError::storage(e), |cause| CmdError::misconf(&cause)));
        }
        if spec.flags.contains(Flags::WRITE) {
            state.dirty += 1;
        }
    }
    Ok(())
}

/// Argument positions that must not reach the slow log (passwords), as Redis hides them.
fn redacted_args(spec: &CommandSpec, args: &Args) -> Vec<usize> {
    match spec.name {
        "auth" => (1..args.len()).collect(),
        "hello" => (2..args.len()).filter(|&i| args.is(i, "AUTH")).flat_map(|i| [i + 1, i + 2]).collect(),
        "config" if args.len() > 3 && args.is(1, "SET") => (2..args.len() - 1)
            .step_by(2)
            .filter(|&i| args.is(i, "requirepass") || args.is(i, "masterauth"))
            .map(|i| i + 1)
            .collect(),
        _ => Vec::new(),
    }
}

fn slowlog_push(state: &mut ServerState, client: usize, args: &Args, spec: &CommandSpec, usec: u64) {
    let threshold = state.config.server.slowlog_log_slower_than;
    if threshold < 0 || (usec as i64) < threshold || spec.flags.contains(Flags::SKIP_SLOWLOG) {
        return;
    }
    // Like Redis: at most 32 arguments, each cut to 128 bytes, with a note.
    let argc = args.len();
    let shown = argc.min(32);
    let mut v = Vec::with_capacity(shown);
    let redacted = redacted_args(spec, args);
    for i in 0..shown {
        if i == 31 && argc > 32 {
            v.push(format!("... ({} more arguments)", argc - 31).into_bytes());
            break;
        }
        let a = args.get(i);
        if redacted.contains(&i) {
            v.push(b"(redacted)".to_vec());
        } else if a.len() > 128 {
            let mut s = a[..128].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
            v.push(s);
        } else {
            v.push(a.to_vec());
        }
    }
    let c = &state.clients[client];
    // Like Redis, a script's commands are its Lua client's: no address or name.
    let (addr, name) =
        if state.scripting.in_command() { ("?:0".to_string(), Vec::new()) } else { (c.addr.clone(), c.name.clone()) };
    let entry = SlowEntry { id: state.slowlog.next_id, time: now_ms() / 1000, usec, args: v, addr, name };
    state.slowlog.next_id += 1;
    state.slowlog.entries.push_front(entry);
    state.slowlog.entries.truncate(state.config.server.slowlog_max_len);
}
