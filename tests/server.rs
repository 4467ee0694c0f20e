//! Server commands through the real binary: INFO, DBSIZE/FLUSH*, CONFIG
//! GET/SET/REWRITE and their effects, SLOWLOG, COMMAND, TIME/LASTSAVE,
//! DEBUG SLEEP, and SHUTDOWN / SIGTERM keeping the data.

mod common;

use common::{Reply, TestServer};
use std::collections::HashMap;
use std::time::Duration;

fn err(r: &Reply) -> &str {
    r.err().unwrap_or_else(|| panic!("expected an error, got {r:?}"))
}

/// `key:value` lines of an INFO reply.
fn info_fields(text: &str) -> HashMap<String, String> {
    text.split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap_or_else(|| panic!("INFO line without ':': {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// CONFIG GET's reply as pairs (RESP2 flat array).
fn config_get(c: &mut common::RawClient, pattern: &str) -> Vec<(String, String)> {
    c.cmd(&["CONFIG", "GET", pattern]).items().chunks(2).map(|kv| (kv[0].str(), kv[1].str())).collect()
}

fn config_value(c: &mut common::RawClient, name: &str) -> String {
    let pairs = config_get(c, name);
    assert_eq!(pairs.len(), 1, "{name}: {pairs:?}");
    pairs[0].1.clone()
}

#[test]
fn info_has_the_fields_tools_parse() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "a", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "b", "2"]), Reply::ok());
    let text = c.cmd(&["INFO"]).str();
    for section in
        ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# Keyspace", "# Storage"]
    {
        assert!(text.contains(&format!("{section}\r\n")), "missing {section}:\n{text}");
    }
    assert!(!text.contains("# Commandstats"), "commandstats is not a default section");
    let f = info_fields(&text);
    assert_eq!(f["redis_version"], "7.0.15");
    assert_eq!(f["redis_mode"], "standalone");
    assert_eq!(f["tcp_port"], s.port.to_string());
    assert_eq!(f["role"], "master");
    assert_eq!(f["connected_slaves"], "0");
    assert_eq!(f["loading"], "0");
    assert_eq!(f["db0"], "keys=2,expires=0,avg_ttl=0");
    assert!(!f.contains_key("db1"), "empty databases are not listed");
    for numeric in [
        "process_id",
        "uptime_in_seconds",
        "connected_clients",
        "used_memory",
        "rdb_changes_since_last_save",
        "rdb_last_save_time",
        "aof_enabled",
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "rocksdb_sst_files_size",
    ] {
        let v = f.get(numeric).unwrap_or_else(|| panic!("no {numeric}"));
        assert!(v.parse::<i64>().is_ok(), "{numeric}:{v}");
    }
    assert!(f["connected_clients"].parse::<i64>().unwrap() >= 1);
    assert!(f["used_memory"].parse::<i64>().unwrap() > 0);
    assert!(f["total_commands_processed"].parse::<i64>().unwrap() >= 2);

    // Sections by name, case-insensitive, in Redis's fixed order.
    let two = c.cmd(&["INFO", "KEYSPACE", "server"]).str();
    assert!(two.starts_with("# Server\r\n"), "{two}");
    assert!(two.contains("\r\n\r\n# Keyspace\r\ndb0:keys=2"), "{two}");
    assert!(!two.contains("# Clients"));
    assert_eq!(c.cmd(&["INFO", "nosuchsection"]), Reply::bulk(""));
    let all = c.cmd(&["INFO", "all"]).str();
    assert!(all.contains("# Commandstats\r\ncmdstat_"), "{all}");
    assert!(all.contains("cmdstat_set:calls=2,"), "{all}");
    assert!(c.cmd(&["INFO", "everything"]).str().contains("# Storage"));
}

/// The server allocates with jemalloc set to `thp:always` (.cargo/config.toml):
/// its memory is advised for huge pages (VmFlags `hg`), so the memtable
/// arenas can be backed by them where the kernel allows (Cargo.toml says why).
#[cfg(target_os = "linux")]
#[test]
fn the_allocator_advises_huge_pages() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "a", "1"]), Reply::ok());
    let f = info_fields(&c.cmd(&["INFO", "server", "memory"]).str());
    assert!(f["mem_allocator"].starts_with("jemalloc-"), "{}", f["mem_allocator"]);
    let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", f["process_id"])).expect("smaps");
    let advised =
        smaps.lines().filter(|l| l.starts_with("VmFlags:") && l.split_whitespace().any(|flag| flag == "hg")).count();
    assert!(advised > 0, "no mapping of the server is advised for huge pages");
}

#[test]
fn dbsize_flushdb_flushall() {
    let s = TestServer::new();
    let mut c = s.raw();
    for k in ["a", "b", "c"] {
        assert_eq!(c.cmd(&["SET", k, "v"]), Reply::ok());
    }
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "x", "v"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(1));
    assert_eq!(c.cmd(&["SELECT", "0"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(3));
    assert_eq!(err(&c.cmd(&["FLUSHDB", "now"])), "ERR syntax error");
    assert_eq!(c.cmd(&["FLUSHDB", "ASYNC"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(0));
    assert_eq!(c.cmd(&["GET", "a"]), Reply::Bulk(None));
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(1), "FLUSHDB only empties the selected db");
    assert_eq!(c.cmd(&["FLUSHALL"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(0));
}

#[test]
fn config_get_set_round_trips() {
    let s = TestServer::new();
    let mut c = s.raw();
    for (name, value) in [
        ("maxclients", "500"),
        ("timeout", "300"),
        ("slowlog-log-slower-than", "-1"),
        ("slowlog-max-len", "64"),
        ("hz", "20"),
        ("appendfsync", "always"),
        ("proto-max-bulk-len", "2097152"),
        ("client-query-buffer-limit", "2097152"),
    ] {
        assert_eq!(c.cmd(&["CONFIG", "SET", name, value]), Reply::ok(), "{name}");
        assert_eq!(config_value(&mut c, name), value, "{name}");
    }
    // Units, case-insensitive names and enum values, several pairs at once.
    assert_eq!(c.cmd(&["CONFIG", "SET", "PROTO-MAX-BULK-LEN", "4mb", "appendfsync", "EVERYSEC"]), Reply::ok());
    assert_eq!(config_value(&mut c, "proto-max-bulk-len"), "4194304");
    assert_eq!(config_value(&mut c, "appendfsync"), "everysec");
    assert_eq!(c.cmd(&["CONFIG", "SET", "loglevel", "warning"]), Reply::ok());
    assert_eq!(config_value(&mut c, "loglevel"), "warn");

    // Read-only parameters are still shown.
    assert_eq!(config_value(&mut c, "port"), s.port.to_string());
    assert_eq!(config_value(&mut c, "databases"), "16");
    assert_eq!(config_value(&mut c, "save"), "");
    assert_eq!(config_value(&mut c, "appendonly"), "yes");
    assert_eq!(config_value(&mut c, "bind"), "127.0.0.1");
    assert!(!config_value(&mut c, "dir").is_empty());
    assert_eq!(
        err(&c.cmd(&["CONFIG", "SET", "port", "1"])),
        "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
    );

    // Globs and several patterns, each parameter once.
    let names: Vec<String> =
        c.cmd(&["CONFIG", "GET", "slowlog-*", "*max-len", "timeout"]).items().chunks(2).map(|kv| kv[0].str()).collect();
    assert_eq!(names, ["slowlog-log-slower-than", "slowlog-max-len", "timeout"]);

    // All-or-nothing: a bad value leaves the good pair unapplied.
    assert_eq!(
        err(&c.cmd(&["CONFIG", "SET", "timeout", "1", "maxclients", "zero"])),
        "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"
    );
    assert_eq!(config_value(&mut c, "timeout"), "300");
    assert_eq!(
        err(&c.cmd(&["CONFIG", "SET", "foo", "bar"])),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );

    // RESP3: a map.
    assert!(matches!(c.cmd(&["HELLO", "3"]), Reply::Map(_)));
    assert!(matches!(c.cmd(&["CONFIG", "GET", "maxclients"]), Reply::Map(ref m) if m.len() == 1));
}

#[test]
fn config_set_maxclients_refuses_extra_clients() {
    let s = TestServer::new();
    let mut a = s.raw();
    assert_eq!(a.cmd(&["CONFIG", "SET", "maxclients", "1"]), Reply::ok());
    let mut b = s.raw();
    assert_eq!(b.read(), Reply::Error("ERR max number of clients reached".into()));
    assert!(b.is_closed(Duration::from_secs(10)));
    assert_eq!(a.cmd(&["CONFIG", "SET", "maxclients", "10"]), Reply::ok());
    assert_eq!(s.raw().cmd(&["PING"]), Reply::Simple("PONG".into()));
    let f = info_fields(&a.cmd(&["INFO", "stats"]).str());
    assert_eq!(f["rejected_connections"], "1");
}

#[test]
fn config_set_requirepass_takes_effect_for_new_connections() {
    let s = TestServer::new();
    let mut a = s.raw();
    assert_eq!(a.cmd(&["CONFIG", "SET", "requirepass", "pw"]), Reply::ok());
    // The existing connection stays authenticated.
    assert_eq!(a.cmd(&["PING"]), Reply::Simple("PONG".into()));
    let mut b = s.raw();
    assert_eq!(err(&b.cmd(&["PING"])), "NOAUTH Authentication required.");
    assert_eq!(b.cmd(&["AUTH", "pw"]), Reply::ok());
    assert_eq!(b.cmd(&["PING"]), Reply::Simple("PONG".into()));
    // Clearing it lets everyone in, including clients that never authenticated.
    let mut c = s.raw();
    assert!(c.cmd(&["PING"]).err().is_some());
    assert_eq!(a.cmd(&["CONFIG", "SET", "requirepass", ""]), Reply::ok());
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn config_rewrite_updates_the_file() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxclients", "77", "appendfsync", "always"]), Reply::ok());
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), Reply::ok());
    let path = s.data_dir().parent().expect("temp dir").join("diskdb.toml");
    let text = std::fs::read_to_string(&path).expect("config file");
    let parsed = diskdb::config::Config::from_toml(&text).expect("rewritten file is valid");
    assert_eq!(parsed.server.maxclients, 77);
    assert_eq!(parsed.storage.sync, diskdb::config::SyncPolicy::Always);
    assert_eq!(parsed.server.hz, 50, "untouched keys are kept");
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), Reply::ok());
    let f = info_fields(&c.cmd(&["INFO", "stats"]).str());
    assert_eq!(f["total_commands_processed"], "1", "counters restart: only RESETSTAT itself is counted");
}

#[test]
fn slowlog_records_commands_over_the_threshold() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "slowpoke"]), Reply::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]), Reply::ok());
    assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), Reply::ok());
    assert_eq!(c.cmd(&["SET", "key", "value"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "key"]), Reply::bulk("value"));
    let entries = c.cmd(&["SLOWLOG", "GET", "-1"]).items();
    assert!(entries.len() >= 3, "{entries:?}");
    // Newest first: GET, SET, then the SLOWLOG RESET itself.
    let e = entries[0].items();
    assert_eq!(e.len(), 6);
    assert!(matches!(e[0], Reply::Int(_)));
    assert!(matches!(e[1], Reply::Int(t) if t > 1_600_000_000));
    assert!(matches!(e[2], Reply::Int(us) if us >= 0));
    assert_eq!(e[3], Reply::Array(Some(vec![Reply::bulk("GET"), Reply::bulk("key")])));
    assert!(e[4].str().starts_with("127.0.0.1:"));
    assert_eq!(e[5], Reply::bulk("slowpoke"));
    assert_eq!(entries[1].items()[3].items()[0], Reply::bulk("SET"));
    let ids: Vec<Reply> = entries.iter().map(|e| e.items()[0].clone()).collect();
    assert!(ids.windows(2).all(|w| matches!((&w[0], &w[1]), (Reply::Int(a), Reply::Int(b)) if a > b)));
    assert_eq!(c.cmd(&["SLOWLOG", "GET", "1"]).items().len(), 1);
    assert!(matches!(c.cmd(&["SLOWLOG", "LEN"]), Reply::Int(n) if n >= 4));
    assert_eq!(c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]), Reply::ok());
    assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), Reply::ok());
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), Reply::Int(0));
    assert_eq!(err(&c.cmd(&["SLOWLOG", "GET", "-2"])), "ERR count should be greater than or equal to -1");
}

#[test]
fn command_introspection_comes_from_the_table() {
    let s = TestServer::new();
    let mut c = s.raw();
    let Reply::Int(count) = c.cmd(&["COMMAND", "COUNT"]) else { panic!("COMMAND COUNT") };
    let all = c.cmd(&["COMMAND"]).items();
    assert_eq!(all.len() as i64, count);
    assert!(all.iter().all(|e| e.items().len() == 10));

    let get = c.cmd(&["COMMAND", "INFO", "get", "nosuch"]).items();
    assert_eq!(get[1], Reply::Bulk(None));
    let g = get[0].items();
    assert_eq!(g[0], Reply::bulk("get"));
    assert_eq!(g[1], Reply::Int(2));
    assert_eq!(g[2], Reply::Array(Some(vec![Reply::Simple("readonly".into()), Reply::Simple("fast".into())])));
    assert_eq!((g[3].clone(), g[4].clone(), g[5].clone()), (Reply::Int(1), Reply::Int(1), Reply::Int(1)));
    assert_eq!(
        g[6],
        Reply::Array(Some(vec![
            Reply::Simple("@read".into()),
            Reply::Simple("@string".into()),
            Reply::Simple("@fast".into())
        ]))
    );
    assert_eq!(g[8].items().len(), 1, "one key spec");

    let config = c.cmd(&["COMMAND", "INFO", "config"]).items()[0].items();
    let subs: Vec<String> = config[9].items().iter().map(|e| e.items()[0].str()).collect();
    assert!(subs.contains(&"config|get".to_string()), "{subs:?}");
    assert_eq!(c.cmd(&["COMMAND", "INFO", "CONFIG|GET"]).items()[0].items()[1], Reply::Int(-3));

    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        Reply::Array(Some(vec![Reply::bulk("a"), Reply::bulk("b")]))
    );
    assert_eq!(err(&c.cmd(&["COMMAND", "GETKEYS", "PING", "x"])), "ERR The command has no key arguments");
    assert_eq!(err(&c.cmd(&["COMMAND", "GETKEYS", "nosuch", "x"])), "ERR Invalid command specified");
    assert_eq!(
        err(&c.cmd(&["COMMAND", "GETKEYS", "GET", "a", "b"])),
        "ERR Invalid number of arguments specified for command"
    );

    // Movable keys: a numkeys list (and the destination of the STORE forms),
    // SORT's STORE; COMMAND INFO reports only the fixed positions.
    for (name, flags, (first, last, step)) in [
        ("zunionstore", vec!["write", "denyoom", "movablekeys"], (1, 1, 1)),
        ("lmpop", vec!["write", "movablekeys"], (0, 0, 0)),
        ("bzmpop", vec!["write", "blocking", "movablekeys"], (0, 0, 0)),
        ("sort", vec!["write", "denyoom", "movablekeys"], (1, 1, 1)),
        ("sort_ro", vec!["readonly", "movablekeys"], (1, 1, 1)),
    ] {
        let info = c.cmd(&["COMMAND", "INFO", name]).items()[0].items();
        let got: Vec<String> = info[2].items().iter().map(Reply::str).collect();
        assert_eq!(got, flags, "{name}");
        assert_eq!(info[3..6], [Reply::Int(first), Reply::Int(last), Reply::Int(step)], "{name}");
    }
    assert_eq!(
        c.cmd(&["COMMAND", "GETKEYS", "ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]),
        Reply::Array(Some(vec![Reply::bulk("d"), Reply::bulk("a"), Reply::bulk("b")]))
    );

    let docs = c.cmd(&["COMMAND", "DOCS", "get"]).items();
    assert_eq!(docs[0], Reply::bulk("get"));
    let fields: Vec<Reply> = docs[1].items();
    assert_eq!(fields[0], Reply::bulk("group"));
    assert_eq!(fields[1], Reply::bulk("string"));

    let list: Vec<String> = c.cmd(&["COMMAND", "LIST"]).items().iter().map(Reply::str).collect();
    assert!(list.contains(&"get".to_string()) && list.contains(&"client|kill".to_string()));
    let pat: Vec<String> =
        c.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"]).items().iter().map(Reply::str).collect();
    assert!(pat.iter().all(|n| n.starts_with("config")) && pat.len() >= 6, "{pat:?}");
    let conn: Vec<String> =
        c.cmd(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"]).items().iter().map(Reply::str).collect();
    assert!(conn.contains(&"ping".to_string()) && !conn.contains(&"get".to_string()), "{conn:?}");
}

#[test]
fn time_lastsave_and_debug_sleep() {
    let s = TestServer::new();
    let mut c = s.raw();
    let t = c.cmd(&["TIME"]).items();
    let secs: u64 = t[0].str().parse().expect("seconds");
    let micros: u64 = t[1].str().parse().expect("micros");
    assert!(secs > 1_600_000_000 && micros < 1_000_000);
    assert!(matches!(c.cmd(&["LASTSAVE"]), Reply::Int(n) if n > 1_600_000_000));
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0"]), Reply::ok());
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0.01"]), Reply::ok());
    assert_eq!(
        err(&c.cmd(&["DEBUG", "JMAP"])),
        "ERR unknown subcommand or wrong number of arguments for 'JMAP'. Try DEBUG HELP."
    );
}

#[test]
fn shutdown_exits_cleanly_and_keeps_the_data() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "survivor", "yes"]), Reply::ok());
    assert_eq!(err(&c.cmd(&["SHUTDOWN", "ABORT"])), "ERR No shutdown in progress.");
    assert_eq!(err(&c.cmd(&["SHUTDOWN", "SAVE", "NOSAVE"])), "ERR syntax error");
    c.send_cmd(&["SHUTDOWN", "NOSAVE"]);
    assert_eq!(c.read_to_close(), b"", "no reply, the connection just closes");
    let status = s.wait_exit(Duration::from_secs(20)).expect("server exits after SHUTDOWN");
    assert!(status.success(), "{status}");
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "survivor"]), Reply::bulk("yes"));
}

#[test]
fn sigterm_stops_gracefully_and_keeps_the_data() {
    let mut s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), Reply::ok());
    s.stop();
    s.restart();
    assert_eq!(s.raw().cmd(&["GET", "k"]), Reply::bulk("v"));
}

#[test]
fn shutdown_requires_authentication() {
    let s = TestServer::start("[server]\nrequirepass = \"pw\"\n");
    let mut c = s.raw();
    assert_eq!(err(&c.cmd(&["SHUTDOWN"])), "NOAUTH Authentication required.");
    assert_eq!(c.cmd(&["AUTH", "pw"]), Reply::ok());
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn slowlog_hides_passwords_and_commandstats_name_subcommands() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]), Reply::ok());
    let _ = c.cmd(&["AUTH", "secret-one"]);
    let _ = c.cmd(&["HELLO", "2", "AUTH", "default", "secret-two"]);
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", ""]), Reply::ok());
    fn flat(r: &Reply, out: &mut String) {
        match r {
            Reply::Array(Some(v)) => v.iter().for_each(|x| flat(x, out)),
            Reply::Bulk(Some(b)) => out.push_str(&format!("{} ", String::from_utf8_lossy(b))),
            _ => {}
        }
    }
    let mut log = String::new();
    flat(&c.cmd(&["SLOWLOG", "GET", "10"]), &mut log);
    assert!(!log.contains("secret"), "{log}");
    assert!(log.contains("(redacted)"), "{log}");
    let info = c.cmd(&["INFO", "commandstats"]).str();
    assert!(info.contains("cmdstat_config|set:calls=2"), "{info}");
    assert!(info.contains("cmdstat_auth:calls=1"), "{info}");
}
