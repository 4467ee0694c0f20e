//! Server-wide state that commands read and change through `Ctx`: clients,
//! statistics, the slow log, SCAN cursors, the shutdown request. The `server`
//! layer owns the instance; the types live here so handlers need not import it.

use super::pubsub::{PubSub, Subscriptions};
use super::CommandSpec;
use crate::config::Config;
use crate::resp::args::OwnedArgs;
use crate::storage::now_ms;
use slab::Slab;
use std::collections::{HashMap, VecDeque};

/// One connected client as commands see it (its socket lives in `server`).
#[derive(Debug, Clone)]
pub struct Client {
    /// Unique, increasing id (CLIENT ID).
    pub id: u64,
    /// Peer address `ip:port`.
    pub addr: String,
    /// Local address `ip:port`.
    pub laddr: String,
    /// CLIENT SETNAME name.
    pub name: Vec<u8>,
    /// Selected database.
    pub db: u8,
    /// Passed AUTH (or no password is set).
    pub authed: bool,
    /// Protocol version: 2 or 3.
    pub resp: u8,
    /// Connection time (ms).
    pub created_ms: u64,
    /// Last command time (ms).
    pub last_ms: u64,
    /// Last command name.
    pub last_cmd: &'static str,
    /// CLIENT SETINFO lib-name / lib-ver.
    pub lib_name: Vec<u8>,
    /// CLIENT SETINFO lib-ver.
    pub lib_ver: Vec<u8>,
    /// Close once the pending replies are written (QUIT, CLIENT KILL, protocol error).
    pub close_after_reply: bool,
    /// Input bytes buffered (refreshed by the server each tick).
    pub qbuf: usize,
    /// Output bytes buffered (refreshed by the server each tick).
    pub obuf: usize,
    /// Commands run by this client.
    pub commands: u64,
    /// Set while the client waits in a blocking command.
    pub blocked: Option<Blocked>,
    /// Commands queued since MULTI (None = not in a transaction).
    pub multi: Option<Vec<(&'static CommandSpec, OwnedArgs)>>,
    /// A command was rejected while queuing: EXEC must fail with EXECABORT.
    pub multi_aborted: bool,
    /// Keys WATCHed by this client.
    pub watched: Vec<Watched>,
    /// A watched key was touched: EXEC must abort (Redis `CLIENT_DIRTY_CAS`).
    pub dirty_cas: bool,
    /// Pub/Sub subscriptions.
    pub subs: Subscriptions,
    /// Messages published to this client by others, not yet moved to its
    /// connection (the server does that right after the publishing command).
    pub pushes: Vec<u8>,
    /// Since when (ms) its unsent output is above the pubsub soft limit.
    pub soft_limit_since: Option<u64>,
    /// CLIENT REPLY state: which replies of its commands are dropped.
    pub reply: ReplyMode,
}

/// CLIENT REPLY: Redis's `CLIENT_REPLY_OFF` / `_SKIP_NEXT` / `_SKIP` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReplyMode {
    /// Every reply is sent.
    #[default]
    On,
    /// No reply is sent until CLIENT REPLY ON.
    Off,
    /// Set by CLIENT REPLY SKIP: becomes `Skip` once that command is done.
    SkipNext,
    /// The reply of the command being run is dropped.
    Skip,
}

/// One WATCHed key.
#[derive(Debug, Clone)]
pub struct Watched {
    /// Database of the key.
    pub db: u8,
    /// The key.
    pub key: Vec<u8>,
    /// The key existed (and had not expired) when WATCH ran: if it is gone
    /// at EXEC time (expired meanwhile), the transaction aborts like Redis 7.
    pub live: bool,
}

/// What a handler asks for when it must wait (BLPOP on empty lists...).
#[derive(Debug, Clone)]
pub struct BlockRequest {
    /// Keys whose change may let the command proceed.
    pub keys: Vec<Vec<u8>>,
    /// Absolute deadline (Unix ms), None = forever. On timeout the client
    /// gets a null array, as every blocking command does in Redis 7.0.
    pub deadline_ms: Option<u64>,
    /// The command to run again instead of the one sent, when the handler
    /// resolved something that must not be re-resolved at the retry (XREAD's
    /// `$` becomes the stream's last id at the time the client blocked).
    pub rerun: Option<Vec<Vec<u8>>>,
}

/// A parked client: its command, to be run again when a key becomes ready.
#[derive(Debug, Clone)]
pub struct Blocked {
    /// The command as sent.
    pub args: OwnedArgs,
    /// Database it runs in.
    pub db: u8,
    /// What it waits for.
    pub req: BlockRequest,
}

impl Client {
    /// A new client connected now.
    pub fn new(id: u64, addr: String, laddr: String, authed: bool) -> Self {
        let now = now_ms();
        Client {
            id,
            addr,
            laddr,
            name: Vec::new(),
            db: 0,
            authed,
            resp: 2,
            created_ms: now,
            last_ms: now,
            last_cmd: "NULL",
            lib_name: Vec::new(),
            lib_ver: Vec::new(),
            close_after_reply: false,
            qbuf: 0,
            obuf: 0,
            commands: 0,
            blocked: None,
            multi: None,
            multi_aborted: false,
            watched: Vec::new(),
            dirty_cas: false,
            subs: Subscriptions::default(),
            pushes: Vec::new(),
            soft_limit_since: None,
            reply: ReplyMode::On,
        }
    }
}

/// Counters reported by INFO stats.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Connections accepted since start (or CONFIG RESETSTAT).
    pub connections: u64,
    /// Connections refused by maxclients.
    pub rejected: u64,
    /// Commands processed.
    pub commands: u64,
    /// Bytes read from clients.
    pub net_in: u64,
    /// Bytes written to clients.
    pub net_out: u64,
    /// Keys removed by expiry (lazy or active).
    pub expired_keys: u64,
    /// Lookups that found a key.
    pub keyspace_hits: u64,
    /// Lookups that did not.
    pub keyspace_misses: u64,
    /// Error replies sent.
    pub errors: u64,
    /// Per command `(name, subcommand or "")`: calls, microseconds, failed calls.
    pub per_cmd: HashMap<(&'static str, &'static str), CmdStat, ahash::RandomState>,
}

/// One command's counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct CmdStat {
    /// Calls.
    pub calls: u64,
    /// Total microseconds.
    pub usec: u64,
    /// Calls that replied with an error.
    pub failed: u64,
}

/// One slow-log entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    /// Increasing id.
    pub id: u64,
    /// Unix time (s) when it ran.
    pub time: u64,
    /// Duration in microseconds.
    pub usec: u64,
    /// Arguments (at most 32; long ones cut like Redis).
    pub args: Vec<Vec<u8>>,
    /// Client address.
    pub addr: String,
    /// Client name.
    pub name: Vec<u8>,
}

/// The slow log (newest first).
#[derive(Debug, Default)]
pub struct SlowLog {
    /// Entries, newest at the front.
    pub entries: VecDeque<SlowEntry>,
    /// Next entry id.
    pub next_id: u64,
}

/// How SHUTDOWN asked the server to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Flush and close cleanly.
    Clean,
}

/// Server-wide state reached through `Ctx::state`.
pub struct ServerState {
    /// The running configuration (CONFIG SET changes it).
    pub config: Config,
    /// Clients, keyed like the server's connection slab.
    pub clients: Slab<Client>,
    /// INFO counters.
    pub stats: Stats,
    /// SLOWLOG.
    pub slowlog: SlowLog,
    /// Set by SHUTDOWN; the event loop stops after the tick.
    pub shutdown: Option<Shutdown>,
    /// Server start (ms).
    pub start_ms: u64,
    /// Next CLIENT ID.
    pub next_client_id: u64,
    /// SCAN cursor → key to resume after (see `keys::scan`).
    pub scan_cursors: ScanCursors,
    /// Port actually bound (after port 0 resolution).
    pub port: u16,
    /// Run id reported by INFO.
    pub run_id: String,
    /// Path of the configuration file, if any.
    pub config_file: String,
    /// Writes since the last save (INFO rdb_changes_since_last_save).
    pub dirty: u64,
    /// Set by a handler that must wait; the server parks the client.
    pub block_request: Option<BlockRequest>,
    /// Blocked clients per (db, key), in arrival order (served FIFO).
    pub blocking_keys: HashMap<(u8, Vec<u8>), VecDeque<usize>>,
    /// Keys written since the blocked clients were last served.
    pub ready_keys: Vec<(u8, Vec<u8>)>,
    /// Clients WATCHing each (db, key).
    pub watched_keys: HashMap<(u8, Vec<u8>), Vec<usize>>,
    /// Above zero while commands run inside EXEC or a script, where blocking
    /// commands must answer at once as if they timed out.
    pub deny_blocking: u32,
    /// While a script or EXEC runs: its start (Unix ms), the clock its
    /// commands expire keys by. Redis 7 stops that clock for both, so a key
    /// does not expire in the middle of one.
    pub frozen_clock: Option<u64>,
    /// Pub/Sub subscriptions, server-wide.
    pub pubsub: PubSub,
    /// Clients with messages in `Client::pushes`.
    pub push_targets: Vec<usize>,
    /// The Lua VM and script cache.
    pub scripting: super::script::engine::Engine,
}

impl ServerState {
    /// Fresh state for `config`.
    pub fn new(config: Config) -> Self {
        let scripting = super::script::engine::Engine::new(config.server.busy_reply_threshold);
        Self::with_engine(config, scripting)
    }

    /// Fresh state for `config` around the engine `scripting` (the engine
    /// makes its stand-in state so, see `script::engine`).
    pub fn with_engine(config: Config, scripting: super::script::engine::Engine) -> Self {
        let now = now_ms();
        ServerState {
            clients: Slab::new(),
            stats: Stats::default(),
            slowlog: SlowLog::default(),
            shutdown: None,
            start_ms: now,
            next_client_id: 1,
            scan_cursors: ScanCursors::default(),
            port: 0,
            run_id: format!("{:040x}", ((now as u128) * 0x9e37_79b9_7f4a_7c15) ^ std::process::id() as u128)
                .chars()
                .take(40)
                .collect(),
            config_file: String::new(),
            dirty: 0,
            block_request: None,
            blocking_keys: HashMap::new(),
            ready_keys: Vec::new(),
            watched_keys: HashMap::new(),
            deny_blocking: 0,
            frozen_clock: None,
            pubsub: PubSub::default(),
            push_targets: Vec::new(),
            scripting,
            config,
        }
    }
}

impl ServerState {
    /// Number of clients blocked right now.
    pub fn blocked_clients(&self) -> usize {
        self.clients.iter().filter(|(_, c)| c.blocked.is_some()).count()
    }

    /// Parks client `key` on its request's keys.
    pub fn park(&mut self, key: usize, blocked: Blocked) {
        for k in &blocked.req.keys {
            self.blocking_keys.entry((blocked.db, k.clone())).or_default().push_back(key);
        }
        self.clients[key].blocked = Some(blocked);
    }

    /// Removes client `key` from every wait queue; returns what it waited on.
    pub fn unpark(&mut self, key: usize) -> Option<Blocked> {
        let b = self.clients.get_mut(key)?.blocked.take()?;
        for k in &b.req.keys {
            let slot = (b.db, k.clone());
            if let Some(q) = self.blocking_keys.get_mut(&slot) {
                q.retain(|&c| c != key);
                if q.is_empty() {
                    self.blocking_keys.remove(&slot);
                }
            }
        }
        Some(b)
    }
}

/// SCAN cursors are numbers clients can parse; each one maps to the key where
/// the scan resumes. Bounded: the oldest cursors are forgotten (a forgotten
/// cursor restarts at the beginning, which SCAN's guarantees allow).
#[derive(Debug, Default)]
pub struct ScanCursors {
    map: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
    next: u64,
}

/// Cursors remembered at once.
const MAX_CURSORS: usize = 16 * 1024;

impl ScanCursors {
    /// Remembers `key` and returns its new cursor number (never 0).
    pub fn store(&mut self, key: Vec<u8>) -> u64 {
        self.next += 1;
        // Spread numbers out so a client cannot walk into another's cursor by +1.
        let id = self.next.wrapping_mul(0x9e37_79b9).max(1) & 0x7fff_ffff_ffff_ffff;
        self.map.insert(id, key);
        self.order.push_back(id);
        if self.order.len() > MAX_CURSORS {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        id
    }

    /// The key a cursor resumes after.
    pub fn get(&self, id: u64) -> Option<&[u8]> {
        self.map.get(&id).map(Vec::as_slice)
    }
}
