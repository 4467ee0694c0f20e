//! Server commands: INFO, DBSIZE, FLUSHDB/FLUSHALL, CONFIG, COMMAND, TIME,
//! LASTSAVE, SHUTDOWN, DEBUG, SLOWLOG.
//!
//! Everything COMMAND reports (flags, key positions, ACL categories, key
//! specs, docs) is derived from the command table, so a new row shows up
//! without touching this file. CONFIG works from one parameter table
//! (`PARAMS`): each row knows how to parse, show, apply and persist itself;
//! CONFIG SET parses every pair before applying any, so it is all-or-nothing
//! like Redis 7.

use super::connection::REDIS_VERSION;
use super::state::{ServerState, Shutdown, Stats};
use super::{lookup, run_subcommand, table, CommandSpec, Ctx, Flags, KeySpec};
use crate::config::{Config, SyncPolicy};
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::storage::keys::Cf;
use crate::storage::now_ms;
use crate::util::{glob_match, parse_f64, parse_i64};
use std::cell::Cell;
use std::fmt::{Display, Write as _};
use std::time::Duration;

/// Writes Redis's HELP reply: a header naming `cmd`, the `lines`, and the
/// HELP entry every command has.
pub fn reply_help(out: &mut ReplyBuf, cmd: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

// ---------------------------------------------------------------------------
// DBSIZE, FLUSHDB, FLUSHALL, TIME, LASTSAVE, SHUTDOWN, DEBUG
// ---------------------------------------------------------------------------

/// DBSIZE
///
/// O(1): the key count is kept by the store. Like Redis, it includes keys
/// that have expired but were not reclaimed yet.
pub fn dbsize(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.tx.store().counts(ctx.tx.db).keys;
    ctx.out.int(n as i64);
    Ok(())
}

/// Checks FLUSHDB/FLUSHALL's optional `ASYNC|SYNC`. Both behave the same
/// here: a flush only drops the `meta` records, compaction reclaims the rest.
fn check_flush_mode(args: &Args) -> CmdResult {
    match args.len() {
        1 => Ok(()),
        2 if args.is(1, "ASYNC") || args.is(1, "SYNC") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// FLUSHDB [ASYNC|SYNC]
///
/// O(1) for the command; the space is reclaimed by compaction.
pub fn flushdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    check_flush_mode(args)?;
    let db = ctx.tx.db;
    ctx.tx.flush(Some(db));
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC]
///
/// O(number of databases).
pub fn flushall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    check_flush_mode(args)?;
    ctx.tx.flush(None);
    ctx.out.ok();
    Ok(())
}

/// TIME
///
/// O(1). `[unix seconds, microseconds]` as bulk strings.
pub fn time(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

/// LASTSAVE
///
/// O(1). Unix time of the last successful SAVE/BGSAVE (start-up time before any).
pub fn lastsave(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(ctx.tx.store().backup_status().last_save_s as i64);
    Ok(())
}

/// SAVE
///
/// O(SST files): a RocksDB checkpoint under `dir/backups/<timestamp>`, made
/// now. Cheap (hard links after a memtable flush), but it waits for the
/// flush, so BGSAVE is the one to use on a busy server.
pub fn save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    match ctx.tx.store().save() {
        Ok(_) => {
            ctx.state.dirty = 0;
            ctx.out.ok();
            Ok(())
        }
        Err(crate::error::Error::Storage(m)) if m == BGSAVE_RUNNING => Err(CmdError::Err(BGSAVE_RUNNING)),
        Err(e) => {
            log::error!("SAVE failed: {e}");
            Err(CmdError::Err("Failed to save the data set: see the server log"))
        }
    }
}

/// Redis's error text while a BGSAVE runs.
const BGSAVE_RUNNING: &str = crate::storage::backup::BGSAVE_RUNNING;

/// BGSAVE [SCHEDULE]
///
/// O(1) for the event loop: the checkpoint of SAVE, made on a background
/// thread. INFO persistence shows its progress and outcome, LASTSAVE its time.
/// SCHEDULE while one runs replies "scheduled" like Redis but starts nothing
/// more: the running checkpoint already holds every acknowledged write.
pub fn bgsave(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if args.is(1, "SCHEDULE") => true,
        _ => return Err(CmdError::Syntax),
    };
    match ctx.tx.store().bgsave() {
        Ok(true) => {
            ctx.state.dirty = 0;
            ctx.out.simple("Background saving started");
            Ok(())
        }
        Ok(false) if schedule => {
            ctx.out.simple("Background saving scheduled");
            Ok(())
        }
        Ok(false) => Err(CmdError::Err(BGSAVE_RUNNING)),
        Err(e) => {
            log::error!("BGSAVE failed to start: {e}");
            Err(CmdError::Err("Background save failed to start: see the server log"))
        }
    }
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
///
/// O(1) here; the event loop then syncs the WAL, flushes the memtables and
/// exits. Every write is already durable, so NOSAVE and SAVE behave alike.
/// Like Redis, a successful SHUTDOWN sends no reply: the connection closes.
pub fn shutdown(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nosave, mut save, mut other, mut abort) = (false, false, false, false);
    for i in 1..args.len() {
        if args.is(i, "NOSAVE") {
            nosave = true;
        } else if args.is(i, "SAVE") {
            save = true;
        } else if args.is(i, "NOW") || args.is(i, "FORCE") {
            other = true;
        } else if args.is(i, "ABORT") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // Shutdown is never left pending, so there is nothing to abort.
        return Err(CmdError::Err("No shutdown in progress."));
    }
    log::warn!("SHUTDOWN requested by client {}", ctx.me().addr);
    ctx.state.shutdown = Some(Shutdown::Clean);
    Ok(())
}

/// DEBUG SLEEP seconds | DEBUG LOG message | DEBUG HELP
///
/// SLEEP blocks the whole server, like Redis (decimals allowed; a value that
/// does not parse sleeps 0). Other Redis DEBUG subcommands are not supported.
pub fn debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sub = args.get(1);
    if args.len() == 3 && sub.eq_ignore_ascii_case(b"SLEEP") {
        let secs = parse_f64(args.get(2)).unwrap_or(0.0);
        if secs > 0.0 {
            // Too large for a Duration (or inf): as good as forever, like Redis.
            std::thread::sleep(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
        }
        ctx.out.ok();
    } else if args.len() == 2 && sub.eq_ignore_ascii_case(b"COMPACT") {
        // DiskDB's own: a full manual compaction, so the GC filter reclaims
        // the members of deleted collections now (tests, operators).
        ctx.tx.store().compact_all();
        ctx.out.ok();
    } else if args.len() == 2 && sub.eq_ignore_ascii_case(b"CRASH") {
        // DiskDB's own, for crash tests: hand everything written so far to
        // the OS (as the end of a tick does), then die at this exact point,
        // e.g. in the middle of an EXEC or a script.
        log::warn!("DEBUG CRASH: aborting the process");
        let _ = ctx.tx.store().flush_wal(false);
        std::process::abort();
    } else if args.len() == 3 && sub.eq_ignore_ascii_case(b"LOG") {
        log::warn!("DEBUG LOG: {}", String::from_utf8_lossy(args.get(2)));
        ctx.out.ok();
    } else if args.len() == 2 && sub.eq_ignore_ascii_case(b"HELP") {
        reply_help(
            ctx.out,
            "DEBUG",
            &[
                "COMPACT",
                "    Compact the whole store now (reclaims deleted collections' members).",
                "CRASH",
                "    Flush the write-ahead log to the OS, then abort the process (crash tests).",
                "LOG <message>",
                "    Write <message> to the server log.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        );
    } else {
        return Err(CmdError::Raw(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(sub)
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// SLOWLOG
// ---------------------------------------------------------------------------

/// SLOWLOG GET [count]
///
/// O(count). Newest first; 10 by default, -1 for all. Each entry is
/// `[id, unix time, microseconds, [args...], client addr, client name]`.
pub fn slowlog_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = match args.len() {
        2 => 10,
        3 => match parse_i64(args.get(2)) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => n as usize,
            _ => return Err(CmdError::Err("count should be greater than or equal to -1")),
        },
        _ => return Err(CmdError::Err("unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")),
    };
    let entries = &ctx.state.slowlog.entries;
    let n = count.min(entries.len());
    let out = &mut *ctx.out;
    out.array(n);
    for e in entries.iter().take(n) {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time as i64);
        out.int(e.usec as i64);
        out.array(e.args.len());
        for a in &e.args {
            out.bulk(a);
        }
        out.bulk(e.addr.as_bytes());
        out.bulk(&e.name);
    }
    Ok(())
}

/// SLOWLOG LEN
///
/// O(1).
pub fn slowlog_len(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(ctx.state.slowlog.entries.len() as i64);
    Ok(())
}

/// SLOWLOG RESET
///
/// O(N) in the entries dropped.
pub fn slowlog_reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.state.slowlog.entries.clear();
    ctx.out.ok();
    Ok(())
}

/// SLOWLOG HELP
///
/// O(1).
pub fn slowlog_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

/// One INFO section: its name, whether plain `INFO` shows it, its writer.
struct Section {
    name: &'static str,
    title: &'static str,
    default: bool,
    write: fn(&Ctx, &mut String),
}

/// Sections in output order (Redis prints them in a fixed order, whatever
/// the order they were asked in).
static SECTIONS: &[Section] = &[
    Section { name: "server", title: "Server", default: true, write: info_server },
    Section { name: "clients", title: "Clients", default: true, write: info_clients },
    Section { name: "memory", title: "Memory", default: true, write: info_memory },
    Section { name: "persistence", title: "Persistence", default: true, write: info_persistence },
    Section { name: "stats", title: "Stats", default: true, write: info_stats },
    Section { name: "replication", title: "Replication", default: true, write: info_replication },
    Section { name: "cpu", title: "CPU", default: true, write: info_cpu },
    Section { name: "commandstats", title: "Commandstats", default: false, write: info_commandstats },
    Section { name: "cluster", title: "Cluster", default: true, write: info_cluster },
    Section { name: "keyspace", title: "Keyspace", default: true, write: info_keyspace },
    Section { name: "storage", title: "Storage", default: true, write: info_storage },
];

/// Appends one `key:value` line.
fn field(out: &mut String, key: &str, value: impl Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

/// Redis's `bytesToHuman`: 1023B, 1.00K, 2.50M, ...
fn human_bytes(n: u64) -> String {
    let units = [(1u64 << 50, 'P'), (1 << 40, 'T'), (1 << 30, 'G'), (1 << 20, 'M'), (1 << 10, 'K')];
    for (size, unit) in units {
        if n >= size {
            return format!("{:.2}{unit}", n as f64 / size as f64);
        }
    }
    format!("{n}B")
}

/// A `key: value kB` line of a /proc file, in bytes.
fn proc_kb(path: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Resident set size of this process (bytes).
fn rss_bytes() -> u64 {
    proc_kb("/proc/self/status", "VmRSS")
}

/// User and system CPU seconds of this process, from /proc/self/stat.
fn cpu_seconds() -> (f64, f64) {
    // Linux reports clock ticks of USER_HZ, which is 100 on every platform we build for.
    const TICKS_PER_SEC: f64 = 100.0;
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / TICKS_PER_SEC;
    (tick(11), tick(12))
}

/// Per-second rates since the previous INFO, for the `instantaneous_*` fields.
#[derive(Clone, Copy, Default)]
struct Sample {
    at_ms: u64,
    commands: u64,
    net_in: u64,
    net_out: u64,
    ops_per_sec: u64,
    in_kbps: f64,
    out_kbps: f64,
}

thread_local! {
    // The executor is one thread, so this is per-server state; it lives here
    // rather than in ServerState because only INFO reads it.
    static SAMPLE: Cell<Option<Sample>> = const { Cell::new(None) };
}

/// The rates over the time since the previous sample (at least 100 ms old;
/// the first call averages since start-up).
fn rates(state: &ServerState) -> Sample {
    let now = now_ms();
    let s = &state.stats;
    let prev = SAMPLE.get().unwrap_or(Sample { at_ms: state.start_ms, ..Sample::default() });
    let elapsed = now.saturating_sub(prev.at_ms);
    if elapsed < 100 {
        return prev;
    }
    let per_sec = |now_v: u64, then: u64| now_v.saturating_sub(then) as f64 * 1000.0 / elapsed as f64;
    let next = Sample {
        at_ms: now,
        commands: s.commands,
        net_in: s.net_in,
        net_out: s.net_out,
        ops_per_sec: per_sec(s.commands, prev.commands).round() as u64,
        in_kbps: per_sec(s.net_in, prev.net_in) / 1024.0,
        out_kbps: per_sec(s.net_out, prev.net_out) / 1024.0,
    };
    SAMPLE.set(Some(next));
    next
}

fn info_server(ctx: &Ctx, out: &mut String) {
    let st = &*ctx.state;
    let now = now_ms();
    let uptime = now.saturating_sub(st.start_ms) / 1000;
    let kernel = |f: &str| std::fs::read_to_string(format!("/proc/sys/kernel/{f}")).unwrap_or_default();
    let usec = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_micros();
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
    field(out, "redis_version", REDIS_VERSION);
    field(out, "redis_git_sha1", "00000000");
    field(out, "redis_git_dirty", 0);
    field(out, "redis_build_id", "0");
    field(out, "redis_mode", "standalone");
    field(out, "diskdb_version", env!("CARGO_PKG_VERSION"));
    field(out, "os", format!("{} {} {}", kernel("ostype").trim(), kernel("osrelease").trim(), std::env::consts::ARCH));
    field(out, "arch_bits", usize::BITS);
    field(out, "multiplexing_api", "epoll");
    field(out, "process_id", std::process::id());
    field(out, "process_supervised", "no");
    field(out, "run_id", &st.run_id);
    field(out, "tcp_port", st.port);
    field(out, "server_time_usec", usec);
    field(out, "uptime_in_seconds", uptime);
    field(out, "uptime_in_days", uptime / 86400);
    field(out, "hz", st.config.server.hz);
    field(out, "configured_hz", st.config.server.hz);
    field(out, "executable", exe);
    field(out, "config_file", &st.config_file);
}

fn info_clients(ctx: &Ctx, out: &mut String) {
    let st = &*ctx.state;
    let max_in = st.clients.iter().map(|(_, c)| c.qbuf).max().unwrap_or(0);
    let max_out = st.clients.iter().map(|(_, c)| c.obuf).max().unwrap_or(0);
    field(out, "connected_clients", st.clients.len());
    field(out, "cluster_connections", 0);
    field(out, "maxclients", st.config.server.maxclients);
    field(out, "client_recent_max_input_buffer", max_in);
    field(out, "client_recent_max_output_buffer", max_out);
    field(out, "blocked_clients", ctx.state.blocked_clients());
    field(out, "tracking_clients", 0);
    field(out, "clients_in_timeout_table", 0);
}

fn info_memory(ctx: &Ctx, out: &mut String) {
    // Memory is the process RSS: the data set lives on disk, and RocksDB's
    // caches and memtables are part of the process.
    let rss = rss_bytes();
    let peak = proc_kb("/proc/self/status", "VmHWM").max(rss);
    let total = proc_kb("/proc/meminfo", "MemTotal");
    field(out, "used_memory", rss);
    field(out, "used_memory_human", human_bytes(rss));
    field(out, "used_memory_rss", rss);
    field(out, "used_memory_rss_human", human_bytes(rss));
    field(out, "used_memory_peak", peak);
    field(out, "used_memory_peak_human", human_bytes(peak));
    field(out, "total_system_memory", total);
    field(out, "total_system_memory_human", human_bytes(total));
    // One Lua VM runs scripts and functions (Redis 7 has one each): its
    // heap is reported as the EVAL VM's, the functions VM's as 0.
    let (lua, scripts, functions, libraries) = ctx.state.scripting.memory_info();
    let lua = lua as u64;
    field(out, "used_memory_lua", lua);
    field(out, "used_memory_vm_eval", lua);
    field(out, "used_memory_lua_human", human_bytes(lua));
    field(out, "number_of_cached_scripts", scripts);
    field(out, "number_of_functions", functions);
    field(out, "number_of_libraries", libraries);
    field(out, "used_memory_vm_functions", 0);
    field(out, "used_memory_vm_total", lua);
    field(out, "used_memory_vm_total_human", human_bytes(lua));
    field(out, "used_memory_read_cache", ctx.tx.store().read_cache_bytes());
    // RocksDB's share of the RSS: the block cache (shared by every column
    // family) and the memtables; SST data is on disk and not counted.
    let store = ctx.tx.store();
    field(out, "rocksdb_block_cache_usage", store.property(Cf::Meta, "rocksdb.block-cache-usage"));
    field(out, "rocksdb_block_cache_capacity", store.property(Cf::Meta, "rocksdb.block-cache-capacity"));
    field(out, "rocksdb_memtables_size", store.property_sum("rocksdb.cur-size-all-mem-tables"));
    field(out, "maxmemory", 0);
    field(out, "maxmemory_human", "0B");
    field(out, "maxmemory_policy", "noeviction");
    field(out, "mem_fragmentation_ratio", "1.00");
    // The binary's allocator (main.rs), under the same condition.
    field(out, "mem_allocator", if cfg!(target_env = "msvc") { "libc" } else { "jemalloc-5.3.0" });
}

fn info_persistence(ctx: &Ctx, out: &mut String) {
    let st = &*ctx.state;
    field(out, "loading", 0);
    field(out, "async_loading", 0);
    field(out, "rdb_changes_since_last_save", st.dirty);
    // SAVE/BGSAVE make RocksDB checkpoints (dir/backups/<timestamp>).
    let store = ctx.tx.store();
    let b = store.backup_status();
    field(out, "rdb_bgsave_in_progress", u8::from(b.in_progress));
    field(out, "rdb_last_save_time", b.last_save_s);
    field(out, "rdb_last_bgsave_status", if b.last_ok { "ok" } else { "err" });
    field(out, "rdb_last_bgsave_time_sec", b.last_duration_s);
    field(out, "rdb_current_bgsave_time_sec", b.current_s);
    field(out, "rdb_last_backup_dir", store.last_backup().map(|p| p.display().to_string()).unwrap_or_default());
    // The RocksDB WAL plays the part of the AOF: always on.
    field(out, "aof_enabled", 1);
    field(out, "aof_rewrite_in_progress", 0);
    field(out, "aof_rewrite_scheduled", 0);
    field(out, "aof_last_rewrite_time_sec", -1);
    field(out, "aof_current_rewrite_time_sec", -1);
    field(out, "aof_last_bgrewrite_status", "ok");
    let write_error = store.write_error();
    field(out, "aof_last_write_status", if write_error.is_some() { "err" } else { "ok" });
    field(out, "wal_sync_policy", st.config.storage.sync.name());
    field(out, "wal_last_sync_time", store.last_sync_ms.get() / 1000);
    field(out, "storage_write_error", write_error.unwrap_or_default());
}

fn info_stats(ctx: &Ctx, out: &mut String) {
    let st = &*ctx.state;
    let s = &st.stats;
    let r = rates(st);
    field(out, "total_connections_received", s.connections);
    field(out, "total_commands_processed", s.commands);
    field(out, "instantaneous_ops_per_sec", r.ops_per_sec);
    field(out, "total_net_input_bytes", s.net_in);
    field(out, "total_net_output_bytes", s.net_out);
    field(out, "instantaneous_input_kbps", format!("{:.2}", r.in_kbps));
    field(out, "instantaneous_output_kbps", format!("{:.2}", r.out_kbps));
    field(out, "rejected_connections", s.rejected);
    field(out, "sync_full", 0);
    field(out, "sync_partial_ok", 0);
    field(out, "sync_partial_err", 0);
    field(out, "expired_keys", s.expired_keys);
    field(out, "evicted_keys", 0);
    field(out, "keyspace_hits", s.keyspace_hits);
    field(out, "keyspace_misses", s.keyspace_misses);
    field(out, "pubsub_channels", ctx.state.pubsub.channels.len());
    field(out, "pubsub_patterns", ctx.state.pubsub.patterns.len());
    field(out, "pubsubshard_channels", ctx.state.pubsub.shards.len());
    field(out, "latest_fork_usec", 0);
    field(out, "total_error_replies", s.errors);
}

fn info_replication(ctx: &Ctx, out: &mut String) {
    field(out, "role", "master");
    field(out, "connected_slaves", 0);
    field(out, "master_failover_state", "no-failover");
    field(out, "master_replid", &ctx.state.run_id);
    field(out, "master_replid2", "0000000000000000000000000000000000000000");
    field(out, "master_repl_offset", 0);
    field(out, "second_repl_offset", -1);
    field(out, "repl_backlog_active", 0);
    field(out, "repl_backlog_size", 1048576);
    field(out, "repl_backlog_first_byte_offset", 0);
    field(out, "repl_backlog_histlen", 0);
}

fn info_cpu(_ctx: &Ctx, out: &mut String) {
    let (user, sys) = cpu_seconds();
    field(out, "used_cpu_sys", format!("{sys:.6}"));
    field(out, "used_cpu_user", format!("{user:.6}"));
    field(out, "used_cpu_sys_children", "0.000000");
    field(out, "used_cpu_user_children", "0.000000");
}

fn info_commandstats(ctx: &Ctx, out: &mut String) {
    let mut names: Vec<_> = ctx.state.stats.per_cmd.iter().collect();
    names.sort_by_key(|(name, _)| **name);
    for ((cmd, sub), s) in names {
        let name = if sub.is_empty() { cmd.to_string() } else { format!("{cmd}|{sub}") };
        let per_call = if s.calls == 0 { 0.0 } else { s.usec as f64 / s.calls as f64 };
        field(
            out,
            &format!("cmdstat_{name}"),
            format!(
                "calls={},usec={},usec_per_call={per_call:.2},rejected_calls=0,failed_calls={}",
                s.calls, s.usec, s.failed
            ),
        );
    }
}

fn info_cluster(_ctx: &Ctx, out: &mut String) {
    field(out, "cluster_enabled", 0);
}

fn info_keyspace(ctx: &Ctx, out: &mut String) {
    let store = ctx.tx.store();
    for db in 0..store.databases() {
        let c = store.counts(db as u8);
        if c.keys > 0 {
            field(out, &format!("db{db}"), format!("keys={},expires={},avg_ttl=0", c.keys, c.expires));
        }
    }
}

fn info_storage(ctx: &Ctx, out: &mut String) {
    let store = ctx.tx.store();
    let cfg = &ctx.state.config.storage;
    let sum = |prop: &str| store.property_sum(prop);
    // DB-wide properties are the same whichever column family is asked.
    let db_wide = |prop: &str| store.property(Cf::Default, prop);
    field(out, "storage_engine", "rocksdb");
    field(out, "storage_dir", &cfg.dir);
    field(out, "storage_sync", cfg.sync.name());
    field(out, "storage_last_sync_time", store.last_sync_ms.get() / 1000);
    field(out, "rocksdb_estimate_num_keys", store.property(Cf::Meta, "rocksdb.estimate-num-keys"));
    field(out, "rocksdb_live_data_size", sum("rocksdb.estimate-live-data-size"));
    // Collection members: these shrink once the GC filter has compacted dead versions away.
    field(out, "rocksdb_data_sst_size", store.property(Cf::Data, "rocksdb.total-sst-files-size"));
    field(out, "rocksdb_data_estimate_num_keys", store.property(Cf::Data, "rocksdb.estimate-num-keys"));
    field(out, "rocksdb_sst_files_size", sum("rocksdb.total-sst-files-size"));
    field(out, "rocksdb_memtables_size", sum("rocksdb.cur-size-all-mem-tables"));
    field(out, "rocksdb_block_cache_usage", store.property(Cf::Meta, "rocksdb.block-cache-usage"));
    field(out, "rocksdb_pending_compaction_bytes", sum("rocksdb.estimate-pending-compaction-bytes"));
    field(out, "rocksdb_running_compactions", db_wide("rocksdb.num-running-compactions"));
    field(out, "rocksdb_running_flushes", db_wide("rocksdb.num-running-flushes"));
    field(out, "rocksdb_background_errors", db_wide("rocksdb.background-errors"));
    field(out, "storage_writes", if store.write_error().is_some() { "refused" } else { "ok" });
    field(out, "read_cache_bytes", store.read_cache_bytes());
}

/// INFO [section [section ...]]
///
/// O(number of databases + commands seen). Sections: server, clients,
/// memory, persistence, stats, replication, cpu, commandstats, cluster,
/// keyspace, storage; `default`, `all`, `everything`. Unknown names are
/// ignored. A verbatim string in RESP3.
pub fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut all = false;
    let mut wanted: Vec<Vec<u8>> = Vec::new();
    if args.len() == 1 {
        wanted.push(b"default".to_vec());
    }
    for a in args.iter_from(1) {
        let a = a.to_ascii_lowercase();
        all |= a == b"all" || a == b"everything";
        wanted.push(a);
    }
    let default = wanted.iter().any(|w| w == b"default");
    let mut text = String::new();
    for s in SECTIONS {
        let chosen = all || (default && s.default) || wanted.iter().any(|w| w == s.name.as_bytes());
        if !chosen {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        let _ = write!(text, "# {}\r\n", s.title);
        (s.write)(ctx, &mut text);
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------

/// How CONFIG SET parses and checks a parameter's value.
#[derive(Clone, Copy)]
enum Kind {
    /// A plain integer within `[min, max]`.
    Int(i64, i64),
    /// A byte size (`1048576`, `1mb`, `2gb`, ...) within `[min, max]`.
    Memory(i64, i64),
    /// Any text.
    Text,
    /// One of these words, case-insensitive (Redis's enum configs).
    Choice(&'static [&'static str]),
    /// The log level, in Redis's words or ours.
    LogLevel,
    /// Shown by CONFIG GET, refused by CONFIG SET.
    Immutable,
    /// Checked like Redis, then ignored: persistence cannot be turned off.
    Ignored(fn(&[u8]) -> Result<(), &'static str>),
}

/// A parsed CONFIG SET value.
enum Value {
    Int(i64),
    Text(String),
}

/// One configuration parameter under its Redis name.
struct Param {
    name: &'static str,
    kind: Kind,
    /// `(section, key)` in the TOML file, for CONFIG REWRITE.
    toml: Option<(&'static str, &'static str)>,
    get: fn(&ServerState) -> String,
    apply: fn(&mut ServerState, Value),
}

fn int_of(v: Value) -> i64 {
    match v {
        Value::Int(n) => n,
        Value::Text(_) => 0,
    }
}

fn text_of(v: Value) -> String {
    match v {
        Value::Text(s) => s,
        Value::Int(n) => n.to_string(),
    }
}

fn no_apply(_: &mut ServerState, _: Value) {}

/// Redis's log levels and ours, mapped to ours.
const LOG_LEVELS: &[(&str, &str)] = &[
    ("debug", "debug"),
    ("verbose", "debug"),
    ("notice", "info"),
    ("warning", "warn"),
    ("error", "error"),
    ("warn", "warn"),
    ("info", "info"),
    ("trace", "trace"),
];

fn check_save(v: &[u8]) -> Result<(), &'static str> {
    // "" or pairs of "<seconds> <changes>", like Redis.
    let words: Vec<&[u8]> = v.split(|&c| c == b' ').filter(|w| !w.is_empty()).collect();
    if words.len() % 2 == 0 && words.iter().all(|w| parse_i64(w).is_some_and(|n| n >= 0)) {
        Ok(())
    } else {
        Err("Invalid save parameters")
    }
}

fn check_yes_no(v: &[u8]) -> Result<(), &'static str> {
    if v.eq_ignore_ascii_case(b"yes") || v.eq_ignore_ascii_case(b"no") {
        Ok(())
    } else {
        Err("argument must be 'yes' or 'no'")
    }
}

/// Every parameter CONFIG knows, sorted by name.
static PARAMS: &[Param] = &[
    Param {
        name: "appendfsync",
        kind: Kind::Choice(&["everysec", "always", "no"]),
        toml: Some(("storage", "sync")),
        get: |s| s.config.storage.sync.name().into(),
        apply: |s, v| {
            if let Some(p) = SyncPolicy::parse(text_of(v).as_bytes()) {
                s.config.storage.sync = p;
            }
        },
    },
    Param { name: "appendonly", kind: Kind::Ignored(check_yes_no), toml: None, get: |_| "yes".into(), apply: no_apply },
    Param { name: "bind", kind: Kind::Immutable, toml: None, get: |s| s.config.server.bind.clone(), apply: no_apply },
    Param {
        name: "busy-reply-threshold",
        kind: Kind::Int(0, i64::MAX),
        toml: Some(("server", "busy_reply_threshold")),
        get: |s| s.config.server.busy_reply_threshold.to_string(),
        apply: |s, v| {
            let ms = int_of(v) as u64;
            s.config.server.busy_reply_threshold = ms;
            s.scripting.set_time_limit(ms);
        },
    },
    Param {
        name: "client-query-buffer-limit",
        kind: Kind::Memory(1024 * 1024, i64::MAX),
        toml: Some(("server", "client_query_buffer_limit")),
        get: |s| s.config.server.client_query_buffer_limit.to_string(),
        apply: |s, v| s.config.server.client_query_buffer_limit = int_of(v) as usize,
    },
    Param {
        name: "databases",
        kind: Kind::Immutable,
        toml: None,
        get: |s| s.config.server.databases.to_string(),
        apply: no_apply,
    },
    Param {
        name: "dir",
        kind: Kind::Immutable,
        toml: None,
        get: |s| {
            std::fs::canonicalize(&s.config.storage.dir)
                .map_or_else(|_| s.config.storage.dir.clone(), |p| p.display().to_string())
        },
        apply: no_apply,
    },
    Param {
        name: "hz",
        kind: Kind::Int(0, i32::MAX as i64),
        toml: Some(("server", "hz")),
        get: |s| s.config.server.hz.to_string(),
        // Redis clamps to its 1..500 working range instead of refusing.
        apply: |s, v| s.config.server.hz = int_of(v).clamp(1, 500) as u32,
    },
    Param {
        name: "logfile",
        kind: Kind::Immutable,
        toml: None,
        get: |s| s.config.server.logfile.clone(),
        apply: no_apply,
    },
    Param {
        name: "loglevel",
        kind: Kind::LogLevel,
        toml: Some(("server", "loglevel")),
        get: |s| s.config.server.loglevel.clone(),
        apply: |s, v| {
            let level = text_of(v);
            // env_logger's own filter was fixed at start-up: this can make
            // logging quieter than the configured level, not louder.
            log::set_max_level(level.parse().unwrap_or(log::LevelFilter::Info));
            s.config.server.loglevel = level;
        },
    },
    Param {
        name: "lua-time-limit",
        kind: Kind::Int(0, i64::MAX),
        // An alias: CONFIG REWRITE writes busy-reply-threshold.
        toml: None,
        get: |s| s.config.server.busy_reply_threshold.to_string(),
        apply: |s, v| {
            let ms = int_of(v) as u64;
            s.config.server.busy_reply_threshold = ms;
            s.scripting.set_time_limit(ms);
        },
    },
    Param {
        name: "maxclients",
        kind: Kind::Int(1, u32::MAX as i64),
        toml: Some(("server", "maxclients")),
        get: |s| s.config.server.maxclients.to_string(),
        apply: |s, v| s.config.server.maxclients = int_of(v) as usize,
    },
    Param { name: "maxmemory", kind: Kind::Immutable, toml: None, get: |_| "0".into(), apply: no_apply },
    Param {
        name: "maxmemory-policy",
        kind: Kind::Immutable,
        toml: None,
        get: |_| "noeviction".into(),
        apply: no_apply,
    },
    Param { name: "port", kind: Kind::Immutable, toml: None, get: |s| s.port.to_string(), apply: no_apply },
    Param {
        name: "proto-max-bulk-len",
        kind: Kind::Memory(1024 * 1024, i64::MAX),
        toml: Some(("server", "proto_max_bulk_len")),
        get: |s| s.config.server.proto_max_bulk_len.to_string(),
        apply: |s, v| s.config.server.proto_max_bulk_len = int_of(v) as u64,
    },
    Param {
        name: "requirepass",
        kind: Kind::Text,
        toml: Some(("server", "requirepass")),
        get: |s| s.config.server.requirepass.clone(),
        apply: |s, v| {
            let pass = text_of(v);
            if pass.is_empty() {
                // No password: the default user is `nopass`, everyone is in.
                for (_, c) in s.clients.iter_mut() {
                    c.authed = true;
                }
            }
            s.config.server.requirepass = pass;
        },
    },
    Param { name: "save", kind: Kind::Ignored(check_save), toml: None, get: |_| String::new(), apply: no_apply },
    Param {
        name: "slowlog-log-slower-than",
        kind: Kind::Int(-1, i64::MAX),
        toml: Some(("server", "slowlog_log_slower_than")),
        get: |s| s.config.server.slowlog_log_slower_than.to_string(),
        apply: |s, v| s.config.server.slowlog_log_slower_than = int_of(v),
    },
    Param {
        name: "slowlog-max-len",
        kind: Kind::Int(0, i64::MAX),
        toml: Some(("server", "slowlog_max_len")),
        get: |s| s.config.server.slowlog_max_len.to_string(),
        apply: |s, v| s.config.server.slowlog_max_len = int_of(v) as usize,
    },
    Param {
        name: "timeout",
        kind: Kind::Int(0, i32::MAX as i64),
        toml: Some(("server", "timeout")),
        get: |s| s.config.server.timeout.to_string(),
        apply: |s, v| s.config.server.timeout = int_of(v) as u64,
    },
];

fn param_index(name: &[u8]) -> Option<usize> {
    PARAMS.iter().position(|p| p.name.as_bytes().eq_ignore_ascii_case(name))
}

/// Redis's `memtoull`: digits with an optional b/k/kb/m/mb/g/gb unit.
fn parse_memory(v: &[u8]) -> Option<u64> {
    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = v[digits..].to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Like strtoull on an empty string, no digits means 0.
    let n = std::str::from_utf8(&v[..digits]).ok()?;
    let n: u64 = if n.is_empty() { 0 } else { n.parse().ok()? };
    Some(n.saturating_mul(mul))
}

/// Parses a CONFIG SET value; `None` for parameters whose value is ignored.
fn parse_value(kind: Kind, raw: &[u8]) -> Result<Option<Value>, String> {
    let bounded = |n: i64, min: i64, max: i64| {
        if (min..=max).contains(&n) {
            Ok(Some(Value::Int(n)))
        } else {
            Err(format!("argument must be between {min} and {max} inclusive"))
        }
    };
    match kind {
        Kind::Int(min, max) => {
            let n = parse_i64(raw).ok_or("argument couldn't be parsed into an integer")?;
            bounded(n, min, max)
        }
        Kind::Memory(min, max) => {
            let n = parse_memory(raw).ok_or("argument must be a memory value")?;
            bounded(i64::try_from(n).unwrap_or(i64::MAX), min, max)
        }
        Kind::Text => Ok(Some(Value::Text(String::from_utf8_lossy(raw).into_owned()))),
        Kind::Choice(words) => match words.iter().find(|w| w.as_bytes().eq_ignore_ascii_case(raw)) {
            Some(w) => Ok(Some(Value::Text((*w).to_string()))),
            None => Err(format!("argument(s) must be one of the following: {}", words.join(", "))),
        },
        Kind::LogLevel => match LOG_LEVELS.iter().find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(raw)) {
            Some((_, ours)) => Ok(Some(Value::Text((*ours).to_string()))),
            None => Err("argument(s) must be one of the following: debug, verbose, notice, warning".into()),
        },
        Kind::Immutable => Err("can't set immutable config".into()),
        Kind::Ignored(check) => check(raw).map(|()| None).map_err(str::to_string),
    }
}

/// CONFIG GET parameter [parameter ...]
///
/// O(N) in the parameters. Glob patterns match case-insensitively; a plain
/// name is echoed as given, like Redis. A map reply.
pub fn config_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut found: Vec<(String, usize)> = Vec::new();
    for pat in args.iter_from(2) {
        let is_glob = pat.iter().any(|c| b"[*?".contains(c));
        if !is_glob {
            if let Some(i) = param_index(pat) {
                if !found.iter().any(|&(_, j)| j == i) {
                    found.push((String::from_utf8_lossy(pat).into_owned(), i));
                }
            }
            continue;
        }
        for (i, p) in PARAMS.iter().enumerate() {
            if !found.iter().any(|&(_, j)| j == i) && glob_match(pat, p.name.as_bytes(), true) {
                found.push((p.name.to_string(), i));
            }
        }
    }
    ctx.out.map(found.len());
    for (name, i) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk((PARAMS[i].get)(ctx.state).as_bytes());
    }
    Ok(())
}

/// CONFIG SET parameter value [parameter value ...]
///
/// O(N) in the pairs. All-or-nothing: every pair is checked (unknown names
/// first, then immutable and duplicate ones, then values, in Redis's order)
/// before any is applied.
pub fn config_set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    let failed = |name: &[u8], why: &str| {
        CmdError::Raw(format!(
            "ERR CONFIG SET failed (possibly related to argument '{}') - {why}",
            String::from_utf8_lossy(name)
        ))
    };
    let pairs: Vec<(&[u8], &[u8])> = (2..args.len()).step_by(2).map(|i| (args.get(i), args.get(i + 1))).collect();
    let mut first_err: Option<CmdError> = None;
    let mut chosen: Vec<usize> = Vec::with_capacity(pairs.len());
    for &(name, _) in &pairs {
        let Some(i) = param_index(name) else {
            if first_err.is_none() {
                first_err = Some(CmdError::Raw(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(name)
                )));
            }
            continue;
        };
        if first_err.is_none() {
            if matches!(PARAMS[i].kind, Kind::Immutable) {
                first_err = Some(failed(name, "can't set immutable config"));
            } else if chosen.contains(&i) {
                first_err = Some(failed(name, "duplicate parameter"));
            }
        }
        chosen.push(i);
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let mut values = Vec::with_capacity(pairs.len());
    for (&i, &(_, raw)) in chosen.iter().zip(&pairs) {
        let v = parse_value(PARAMS[i].kind, raw).map_err(|why| failed(PARAMS[i].name.as_bytes(), &why))?;
        values.push((i, v));
    }
    for (i, v) in values {
        if let Some(v) = v {
            (PARAMS[i].apply)(ctx.state, v);
        }
    }
    ctx.out.ok();
    Ok(())
}

/// CONFIG RESETSTAT
///
/// O(1). Zeroes the INFO counters (not the slow log, like Redis).
pub fn config_resetstat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.state.stats = Stats::default();
    SAMPLE.set(None);
    ctx.out.ok();
    Ok(())
}

/// Renders a parameter's current value as a TOML value.
fn toml_value(p: &Param, state: &ServerState) -> String {
    let v = (p.get)(state);
    match p.kind {
        Kind::Int(..) | Kind::Memory(..) => v,
        _ => toml::Value::String(v).to_string(),
    }
}

/// Returns `text` with `key = value` set under `[section]` for each update,
/// keeping every other line (comments included) as it was. Keys not in the
/// file are added at the end of their section (created if missing).
fn rewrite_toml(text: &str, updates: &[(&str, &str, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut section = String::new();
    // Per section: index of its last non-blank line (where new keys go).
    let mut section_end: Vec<(String, usize)> = Vec::new();
    let mut done = vec![false; updates.len()];
    for (n, line) in lines.iter_mut().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            section_end.push((section.clone(), n));
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(last) = section_end.last_mut() {
            last.1 = n;
        }
        let Some((key, _)) = t.split_once('=') else { continue };
        let key = key.trim().trim_matches('"').to_string();
        for (u, (sec, k, v)) in updates.iter().enumerate() {
            if *sec == section && *k == key {
                *line = format!("{k} = {v}");
                done[u] = true;
            }
        }
    }
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut appended = String::new();
    for (u, (sec, k, v)) in updates.iter().enumerate() {
        if done[u] {
            continue;
        }
        match section_end.iter().find(|(s, _)| s == sec) {
            Some(&(_, at)) => inserts.push((at, format!("{k} = {v}"))),
            None => {
                if !appended.contains(&format!("[{sec}]")) {
                    let _ = write!(appended, "\n[{sec}]\n");
                }
                let _ = writeln!(appended, "{k} = {v}");
            }
        }
    }
    // Insert from the bottom so earlier indexes stay valid; keep update order.
    inserts.sort_by_key(|&(at, _)| std::cmp::Reverse(at));
    let mut i = 0;
    while i < inserts.len() {
        let at = inserts[i].0;
        let group: Vec<String> = inserts[i..].iter().take_while(|(a, _)| *a == at).map(|(_, l)| l.clone()).collect();
        i += group.len();
        for (off, l) in group.into_iter().enumerate() {
            lines.insert(at + 1 + off, l);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.push_str(&appended);
    out
}

/// CONFIG REWRITE
///
/// O(size of the file). Writes the running values of the settable
/// parameters into the TOML file the server started with, keeping its
/// comments; keys still at their default are only updated if present.
pub fn config_rewrite(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let path = ctx.state.config_file.clone();
    if path.is_empty() {
        return Err(CmdError::Err("The server is running without a config file"));
    }
    let io_err = |e: std::io::Error| CmdError::Raw(format!("ERR Rewriting config file: {e}"));
    let text = std::fs::read_to_string(&path).map_err(io_err)?;
    let parsed: toml::Table =
        toml::from_str(&text).map_err(|e| CmdError::Raw(format!("ERR Rewriting config file: {e}")))?;
    let defaults = ServerState::new(Config::default());
    let updates: Vec<(&str, &str, String)> = PARAMS
        .iter()
        .filter_map(|p| p.toml.map(|(sec, key)| (p, sec, key)))
        .filter(|(p, sec, key)| {
            let in_file = parsed.get(*sec).and_then(|t| t.get(*key)).is_some();
            in_file || (p.get)(ctx.state) != (p.get)(&defaults)
        })
        .map(|(p, sec, key)| (sec, key, toml_value(p, ctx.state)))
        .collect();
    let new_text = rewrite_toml(&text, &updates);
    if let Err(e) = Config::from_toml(&new_text) {
        log::error!("CONFIG REWRITE produced an invalid file, not written: {e}");
        return Err(CmdError::Raw(format!("ERR Rewriting config file: {e}")));
    }
    // Write a sibling file, then rename: a crash never leaves half a config.
    let tmp = format!("{path}.rewrite.tmp");
    std::fs::write(&tmp, new_text).map_err(io_err)?;
    std::fs::rename(&tmp, &path).map_err(io_err)?;
    log::info!("CONFIG REWRITE executed with success");
    ctx.out.ok();
    Ok(())
}

/// CONFIG HELP
///
/// O(1).
pub fn config_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------

/// A command and, for a subcommand, its container.
#[derive(Clone, Copy)]
struct Cmd {
    spec: &'static CommandSpec,
    parent: Option<&'static CommandSpec>,
}

impl Cmd {
    /// `get`, or `config|get` for a subcommand.
    fn full_name(self) -> String {
        match self.parent {
            Some(p) => format!("{}|{}", p.name, self.spec.name),
            None => self.spec.name.to_string(),
        }
    }

    fn is_container(self) -> bool {
        !self.spec.subcommands.is_empty()
    }

    fn subs(self) -> impl Iterator<Item = Cmd> {
        self.spec.subcommands.iter().map(move |s| Cmd { spec: s, parent: Some(self.spec) })
    }

    /// ACL categories without the `@`, in Redis's order. Derived from the
    /// group and the flags; a container is only `slow`, like Redis's.
    fn categories(self) -> Vec<&'static str> {
        const ORDER: [&str; 21] = [
            "keyspace",
            "read",
            "write",
            "set",
            "sortedset",
            "list",
            "hash",
            "string",
            "bitmap",
            "hyperloglog",
            "geo",
            "stream",
            "pubsub",
            "admin",
            "fast",
            "slow",
            "blocking",
            "dangerous",
            "connection",
            "transaction",
            "scripting",
        ];
        const DANGEROUS: [&str; 9] =
            ["flushall", "flushdb", "info", "keys", "lastsave", "migrate", "restore", "sort", "swapdb"];
        if self.is_container() {
            return vec!["slow"];
        }
        let s = self.spec;
        let f = s.flags;
        let group = match s.group.name() {
            "generic" => Some("keyspace"),
            "sorted-set" | "sortedset" | "sorted_set" => Some("sortedset"),
            "transactions" => Some("transaction"),
            // Server commands that touch data (DBSIZE, FLUSHDB) are keyspace commands.
            "server" if f.intersects(Flags::WRITE | Flags::READONLY) => Some("keyspace"),
            "server" => None,
            other => ORDER.iter().copied().find(|c| *c == other),
        };
        let mut set: Vec<&str> = group.into_iter().collect();
        let mut add = |on: bool, c: &'static str| {
            if on {
                set.push(c);
            }
        };
        add(f.contains(Flags::READONLY), "read");
        add(f.contains(Flags::WRITE), "write");
        add(f.contains(Flags::ADMIN) || DANGEROUS.contains(&s.name), "dangerous");
        add(f.contains(Flags::ADMIN), "admin");
        add(f.contains(Flags::PUBSUB), "pubsub");
        add(f.contains(Flags::FAST), "fast");
        add(!f.contains(Flags::FAST), "slow");
        add(f.contains(Flags::BLOCKING), "blocking");
        ORDER.iter().copied().filter(|c| set.contains(c)).collect()
    }

    /// Key-spec flags, as far as the table tells them.
    fn key_flags(self) -> &'static [&'static str] {
        // Redis marks XREADGROUP's streams RO too: the write is to the group.
        if self.spec.flags.contains(Flags::WRITE) && !matches!(self.spec.keys, KeySpec::Streams { .. }) {
            &["RW", "update"]
        } else {
            &["RO", "access"]
        }
    }
}

/// Finds `name` or `parent|sub`, case-insensitively.
fn find_cmd(name: &[u8]) -> Option<Cmd> {
    match name.iter().position(|&c| c == b'|') {
        None => lookup(table::COMMANDS, name).map(|spec| Cmd { spec, parent: None }),
        Some(bar) => {
            let parent = lookup(table::COMMANDS, &name[..bar])?;
            let spec = lookup(parent.subcommands, &name[bar + 1..])?;
            Some(Cmd { spec, parent: Some(parent) })
        }
    }
}

/// Every command, then its subcommands, in table order.
fn all_cmds() -> Vec<Cmd> {
    let mut v = Vec::new();
    for spec in table::COMMANDS {
        let c = Cmd { spec, parent: None };
        v.push(c);
        v.extend(c.subs());
    }
    v
}

/// Writes one COMMAND INFO entry: Redis 7.0's ten fields.
fn write_info(out: &mut ReplyBuf, c: Cmd) {
    let s = c.spec;
    let (first, last, step) = s.keys.triple();
    out.array(10);
    out.bulk(c.full_name().as_bytes());
    out.int(s.arity as i64);
    let mut flags = s.flags.names();
    if s.keys.is_movable() {
        // Redis lists it after every flag but allow_busy.
        let at = flags.iter().position(|f| *f == "allow_busy").unwrap_or(flags.len());
        flags.insert(at, "movablekeys");
    }
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(first as i64);
    out.int(last as i64);
    out.int(step as i64);
    let cats = c.categories();
    out.set(cats.len());
    for cat in cats {
        out.simple(&format!("@{cat}"));
    }
    let unordered = s.flags.contains(Flags::UNORDERED);
    out.set(usize::from(unordered));
    if unordered {
        out.bulk(b"nondeterministic_output_order");
    }
    write_key_specs(out, c);
    let subs: Vec<Cmd> = c.subs().collect();
    out.set(subs.len());
    for sub in subs {
        write_info(out, sub);
    }
}

/// The key specs of a command: an `index` + `range` spec for the keys at
/// fixed positions, then a `keynum` spec for a numkeys list of keys, or the
/// `keyword` + `range` spec of the stream reads.
fn write_key_specs(out: &mut ReplyBuf, c: Cmd) {
    let (range, keynum, streams) = match c.spec.keys {
        KeySpec::None => (None, None, None),
        KeySpec::Range { first, last, step } => (Some((first, last, step)), None, None),
        KeySpec::NumKeys { at, fixed: 0 } => (None, Some(at), None),
        KeySpec::NumKeys { at, fixed } => (Some((1, fixed, 1)), Some(at), None),
        KeySpec::Sort { .. } => (Some((1, 1, 1)), None, None),
        KeySpec::Streams { from } => (None, None, Some(from)),
    };
    out.set(usize::from(range.is_some()) + usize::from(keynum.is_some()) + usize::from(streams.is_some()));
    let mut spec = |begin: Begin, kind: &str, find: &[(&str, i64)]| {
        out.map(3);
        out.bulk(b"flags");
        let flags = c.key_flags();
        out.set(flags.len());
        for f in flags {
            out.simple(f);
        }
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match begin {
            Begin::Index(index) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(index as i64);
            }
            Begin::Keyword(keyword, from) => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(keyword.as_bytes());
                out.bulk(b"startfrom");
                out.int(from as i64);
            }
        }
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        out.bulk(kind.as_bytes());
        out.bulk(b"spec");
        out.map(find.len());
        for (name, v) in find {
            out.bulk(name.as_bytes());
            out.int(*v);
        }
    };
    if let Some((first, last, step)) = range {
        // Redis's `lastkey` counts from the first key (or from the end if negative).
        let lastkey = if last < 0 { last } else { last - first };
        spec(Begin::Index(first), "range", &[("lastkey", lastkey as i64), ("keystep", step as i64), ("limit", 0)]);
    }
    if let Some(at) = keynum {
        spec(Begin::Index(at), "keynum", &[("keynumidx", 0), ("firstkey", 1), ("keystep", 1)]);
    }
    if let Some(from) = streams {
        // The keys run to the end, `limit 2`: half of what follows STREAMS.
        spec(Begin::Keyword("STREAMS", from), "range", &[("lastkey", -1), ("keystep", 1), ("limit", 2)]);
    }
}

/// Where a key spec's search for the first key begins.
enum Begin {
    /// At this argument index.
    Index(i32),
    /// After this keyword, searched from this index.
    Keyword(&'static str, i32),
}

/// Writes one COMMAND DOCS value: the group, and the subcommands' docs.
fn write_docs(out: &mut ReplyBuf, c: Cmd) {
    let subs: Vec<Cmd> = c.subs().collect();
    out.map(1 + usize::from(!subs.is_empty()));
    out.bulk(b"group");
    out.bulk(c.spec.group.name().as_bytes());
    if !subs.is_empty() {
        out.bulk(b"subcommands");
        out.map(subs.len());
        for sub in subs {
            out.bulk(sub.full_name().as_bytes());
            write_docs(out, sub);
        }
    }
}

/// COMMAND [subcommand ...]
///
/// O(N) in the commands. Without arguments, COMMAND INFO for every command.
pub fn command(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 1 {
        return run_subcommand(ctx, args);
    }
    write_all_info(ctx.out);
    Ok(())
}

/// COMMAND INFO of every top-level command (subcommands nested).
fn write_all_info(out: &mut ReplyBuf) {
    out.array(table::COMMANDS.len());
    for spec in table::COMMANDS {
        write_info(out, Cmd { spec, parent: None });
    }
}

/// COMMAND COUNT
///
/// O(1). Top-level commands only, like Redis.
pub fn command_count(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(table::COMMANDS.len() as i64);
    Ok(())
}

/// COMMAND INFO [command-name ...]
///
/// O(N) in the names. Unknown names give a null entry; no names means all.
pub fn command_info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() == 2 {
        write_all_info(ctx.out);
        return Ok(());
    }
    ctx.out.array(args.len() - 2);
    for name in args.iter_from(2) {
        match find_cmd(name) {
            Some(c) => write_info(ctx.out, c),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [command-name ...]
///
/// O(N) in the names. A map name → docs; unknown names are left out.
pub fn command_docs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cmds: Vec<Cmd> = if args.len() == 2 {
        table::COMMANDS.iter().map(|spec| Cmd { spec, parent: None }).collect()
    } else {
        args.iter_from(2).filter_map(find_cmd).collect()
    };
    ctx.out.map(cmds.len());
    for c in cmds {
        ctx.out.bulk(c.full_name().as_bytes());
        write_docs(ctx.out, c);
    }
    Ok(())
}

/// COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]
///
/// O(N) in the commands. Names include subcommands (`config|get`).
pub fn command_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    enum Filter<'a> {
        All,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let filter = match args.len() {
        2 => Filter::All,
        5 if args.is(2, "FILTERBY") => {
            let arg = args.get(4);
            if args.is(3, "MODULE") {
                Filter::Module
            } else if args.is(3, "ACLCAT") {
                Filter::AclCat(arg)
            } else if args.is(3, "PATTERN") {
                Filter::Pattern(arg)
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let names: Vec<String> = all_cmds()
        .into_iter()
        .filter(|c| match filter {
            Filter::All => true,
            Filter::Module => false,
            Filter::AclCat(cat) => c.categories().iter().any(|x| x.as_bytes().eq_ignore_ascii_case(cat)),
            Filter::Pattern(p) => glob_match(p, c.full_name().as_bytes(), true),
        })
        .map(Cmd::full_name)
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// The command named in `args[2..]` and the indexes of its keys there.
fn keys_of(args: &Args) -> Result<(Cmd, Vec<usize>), CmdError> {
    let argc = args.len() - 2;
    let base = lookup(table::COMMANDS, args.get(2)).ok_or(CmdError::Err("Invalid command specified"))?;
    let cmd = if base.subcommands.is_empty() || argc < 2 {
        Cmd { spec: base, parent: None }
    } else {
        let sub = lookup(base.subcommands, args.get(3)).ok_or(CmdError::Err("Invalid command specified"))?;
        Cmd { spec: sub, parent: Some(base) }
    };
    if matches!(cmd.spec.keys, KeySpec::None) {
        return Err(CmdError::Err("The command has no key arguments"));
    }
    let arity = cmd.spec.arity;
    let arity_ok = if arity >= 0 { argc == arity as usize } else { argc >= arity.unsigned_abs() as usize };
    if !arity_ok {
        return Err(CmdError::Err("Invalid number of arguments specified for command"));
    }
    let argv: Vec<&[u8]> = args.iter_from(2).collect();
    let keys = cmd.spec.keys.positions(&argv);
    if keys.is_empty() {
        return Err(CmdError::Err("Invalid arguments specified for command"));
    }
    Ok((cmd, keys))
}

/// COMMAND GETKEYS command [arg ...]
///
/// O(N) in the arguments.
pub fn command_getkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (_, keys) = keys_of(args)?;
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(args.get(k + 2));
    }
    Ok(())
}

/// COMMAND GETKEYSANDFLAGS command [arg ...]
///
/// O(N) in the arguments. Each key with its key-spec flags.
pub fn command_getkeysandflags(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (cmd, keys) = keys_of(args)?;
    let flags = cmd.key_flags();
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.array(2);
        ctx.out.bulk(args.get(k + 2));
        ctx.out.set(flags.len());
        for f in flags {
            ctx.out.simple(f);
        }
    }
    Ok(())
}

/// COMMAND HELP
///
/// O(1).
pub fn command_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_values_parse_like_redis() {
        assert_eq!(parse_memory(b"1048576"), Some(1048576));
        assert_eq!(parse_memory(b"1mb"), Some(1048576));
        assert_eq!(parse_memory(b"1MB"), Some(1048576));
        assert_eq!(parse_memory(b"2k"), Some(2000));
        assert_eq!(parse_memory(b"1gb"), Some(1 << 30));
        assert_eq!(parse_memory(b"-1"), None);
        assert_eq!(parse_memory(b"1.5mb"), None);
        assert_eq!(parse_memory(b"abc"), None);
    }

    #[test]
    fn human_bytes_matches_redis() {
        assert_eq!(human_bytes(1023), "1023B");
        assert_eq!(human_bytes(1024), "1.00K");
        assert_eq!(human_bytes(1536 * 1024), "1.50M");
    }

    #[test]
    fn rewrite_keeps_comments_and_adds_missing_keys() {
        let text = "# top\n[server]\n# the port\nport = 1\nhz = 10\n\n[storage]\ndir = \"d\"\n";
        let out = rewrite_toml(
            text,
            &[
                ("server", "hz", "20".into()),
                ("server", "maxclients", "5".into()),
                ("storage", "sync", "\"always\"".into()),
                ("other", "x", "1".into()),
            ],
        );
        assert_eq!(
            out,
            "# top\n[server]\n# the port\nport = 1\nhz = 20\nmaxclients = 5\n\n[storage]\ndir = \"d\"\nsync = \"always\"\n\n[other]\nx = 1\n"
        );
    }

    #[test]
    fn config_values_check_like_redis() {
        assert!(
            matches!(parse_value(Kind::Int(1, 10), b"abc"), Err(e) if e == "argument couldn't be parsed into an integer")
        );
        assert!(
            matches!(parse_value(Kind::Int(1, 10), b"0"), Err(e) if e == "argument must be between 1 and 10 inclusive")
        );
        assert!(matches!(parse_value(Kind::Int(1, 10), b"5"), Ok(Some(Value::Int(5)))));
        assert!(matches!(parse_value(Kind::LogLevel, b"WARNING"), Ok(Some(Value::Text(t))) if t == "warn"));
        assert!(matches!(parse_value(Kind::Ignored(check_save), b"900 1 300 10"), Ok(None)));
        assert!(parse_value(Kind::Ignored(check_save), b"900").is_err());
    }

    #[test]
    fn params_are_sorted_and_unique() {
        for w in PARAMS.windows(2) {
            assert!(w[0].name < w[1].name, "{} {}", w[0].name, w[1].name);
        }
    }

    #[test]
    fn command_lookup_handles_subcommands() {
        assert_eq!(find_cmd(b"GET").map(Cmd::full_name).as_deref(), Some("get"));
        assert_eq!(find_cmd(b"config|GET").map(Cmd::full_name).as_deref(), Some("config|get"));
        assert!(find_cmd(b"config|nope").is_none());
        let get = find_cmd(b"get").expect("get exists");
        assert_eq!(get.categories(), vec!["read", "string", "fast"]);
        let cfg = find_cmd(b"config|get").expect("config|get exists");
        assert_eq!(cfg.categories(), vec!["admin", "slow", "dangerous"]);
    }
}
