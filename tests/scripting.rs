//! Lua scripting against the real server: a script's writes are one batch
//! (a crash mid-script leaves none of them), a script past the time limit
//! makes other clients get -BUSY and SCRIPT KILL from another client stops
//! it, writes survive a restart
//! while the script cache is rebuilt on demand (as Redis), and a real
//! client's EVALSHA-then-EVAL fallback works.

mod common;

use common::{Reply, TestServer};
use std::time::Duration;

/// SIGKILL while a script that has already written is still running: after
/// the restart none of its writes exist, what was acknowledged before does.
#[test]
fn a_killed_server_never_leaves_half_a_script() {
    let mut server = TestServer::start("[storage]\nsync = \"always\"\n");
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["SET", "before", "1"]), Reply::ok());
    raw.send_cmd(&[
        "EVAL",
        "for i = 1, 200 do redis.call('set', 'inside:' .. i, i) end \
         redis.call('rpush', 'inside:list', 'a', 'b') while true do end",
        "0",
    ]);
    // The script has written (it runs for seconds before the time limit);
    // its batch is not committed yet.
    std::thread::sleep(Duration::from_millis(500));
    server.kill();
    server.restart();
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["GET", "before"]), Reply::bulk("1"));
    assert_eq!(raw.cmd(&["EXISTS", "inside:1", "inside:100", "inside:200", "inside:list"]), Reply::Int(0));
    assert_eq!(raw.cmd(&["DBSIZE"]), Reply::Int(1));
}

/// Waits until `probe` (sent over and over from a second connection) gets
/// -BUSY: the script on the first connection is past the time limit.
fn wait_busy(probe: &mut common::RawClient) -> String {
    for _ in 0..200 {
        let r = probe.cmd(&["GET", "x"]);
        if let Some(e) = r.err() {
            return e.to_string();
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the script never became busy");
}

/// A script running past busy-reply-threshold (set with CONFIG SET
/// lua-time-limit) makes other clients get -BUSY, and SCRIPT KILL from one
/// of them stops it (even if it catches errors); the server then serves
/// everyone again. FUNCTION KILL does the same for FCALL, and each KILL
/// refuses the other kind, like Redis.
#[test]
fn a_busy_script_answers_busy_and_script_kill_stops_it() {
    let server = TestServer::new();
    let (mut a, mut b) = (server.raw(), server.raw());
    a.set_timeout(Duration::from_secs(30));
    assert_eq!(b.cmd(&["CONFIG", "SET", "lua-time-limit", "200"]), Reply::ok());
    assert_eq!(
        b.cmd(&["CONFIG", "GET", "busy-reply-threshold"]),
        Reply::Array(Some(vec![Reply::bulk("busy-reply-threshold"), Reply::bulk("200"),]))
    );
    a.send_cmd(&["EVAL", "local n = 0\nwhile true do pcall(function() while true do n = n + 1 end end) end", "0"]);
    let busy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    assert_eq!(wait_busy(&mut b), busy);
    assert_eq!(b.cmd(&["FUNCTION", "KILL"]), Reply::Error(busy.into()));
    assert_eq!(b.cmd(&["SCRIPT", "KILL"]), Reply::ok());
    let err = a.read().err().map(str::to_string).unwrap_or_default();
    assert!(err.starts_with("ERR Script killed by user with SCRIPT KILL... script: "), "{err}");
    assert!(err.ends_with(", on @user_script:2."), "{err}");
    assert_eq!(b.cmd(&["SCRIPT", "KILL"]), Reply::Error("NOTBUSY No scripts in execution right now.".into()));
    assert_eq!(a.cmd(&["PING"]), Reply::Simple("PONG".into()));

    let lib = "#!lua name=busy\nredis.register_function('spin', function() while true do end end)";
    assert_eq!(b.cmd(&["FUNCTION", "LOAD", lib]), Reply::bulk("busy"));
    a.send_cmd(&["FCALL", "spin", "0"]);
    let busy = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
    assert_eq!(wait_busy(&mut b), busy);
    assert_eq!(b.cmd(&["SCRIPT", "KILL"]), Reply::Error(busy.into()));
    assert_eq!(b.cmd(&["FUNCTION", "KILL"]), Reply::ok());
    let err = a.read().err().map(str::to_string).unwrap_or_default();
    assert_eq!(err, "ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.");
    assert_eq!(
        b.cmd(&["FCALL", "spin", "1"]),
        Reply::Error("ERR Number of keys can't be greater than number of args".into())
    );
}

/// A busy script that has written cannot be killed (its writes would be
/// half done): SCRIPT KILL answers UNKILLABLE, and the script goes on.
/// SHUTDOWN NOSAVE stops it and the server, like Redis, without keeping its
/// writes; writes acknowledged before it are there after a restart.
#[test]
fn a_busy_script_that_wrote_is_unkillable_until_shutdown_nosave() {
    let mut server = TestServer::start("[server]\nbusy_reply_threshold = 200\n");
    let (mut a, mut b) = (server.raw(), server.raw());
    assert_eq!(a.cmd(&["SET", "before", "1"]), Reply::ok());
    a.send_cmd(&["EVAL", "redis.call('set', KEYS[1], 'v') while true do end", "1", "w"]);
    let busy = wait_busy(&mut b);
    assert!(busy.starts_with("BUSY "), "{busy}");
    let r = b.cmd(&["SCRIPT", "KILL"]);
    assert!(
        r.err().is_some_and(|e| e.starts_with("UNKILLABLE Sorry the script already executed write commands")),
        "{r:?}"
    );
    assert!(b.cmd(&["PING"]).err().is_some_and(|e| e.starts_with("BUSY ")));
    // Only SHUTDOWN with NOSAVE is served while busy.
    assert!(b.cmd(&["SHUTDOWN"]).err().is_some_and(|e| e.starts_with("BUSY ")));
    b.send_cmd(&["SHUTDOWN", "NOSAVE"]);
    let status = server.wait_exit(Duration::from_secs(20)).expect("the server stops");
    assert!(status.success(), "{status:?}");
    server.restart();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["GET", "before"]), Reply::bulk("1"));
    assert_eq!(c.cmd(&["EXISTS", "w"]), Reply::Int(0));
}

/// A script's writes are durable like any command's; the script cache is
/// not persisted (Redis rebuilds it on demand), so EVALSHA answers NOSCRIPT
/// after a restart until the script is loaded again.
#[test]
fn script_writes_survive_a_restart_and_the_cache_is_rebuilt() {
    let mut server = TestServer::new();
    let mut raw = server.raw();
    let sha =
        raw.cmd(&["SCRIPT", "LOAD", "redis.call('hset', KEYS[1], 'f', ARGV[1]) return redis.call('incr', KEYS[2])"]);
    let sha = sha.str();
    assert_eq!(raw.cmd(&["EVALSHA", &sha, "2", "h", "n", "v1"]), Reply::Int(1));
    assert_eq!(raw.cmd(&["EVALSHA", &sha, "2", "h", "n", "v2"]), Reply::Int(2));
    server.stop();
    server.restart();
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["HGET", "h", "f"]), Reply::bulk("v2"));
    assert_eq!(raw.cmd(&["GET", "n"]), Reply::bulk("2"));
    assert_eq!(
        raw.cmd(&["EVALSHA", &sha, "2", "h", "n", "v3"]),
        Reply::Error("NOSCRIPT No matching script. Please use EVAL.".into())
    );
}

/// The `redis` crate's `Script` sends EVALSHA and falls back to EVAL on
/// NOSCRIPT, as most client libraries do.
#[test]
fn a_client_library_script_runs_with_evalsha_fallback() {
    let server = TestServer::new();
    let mut con = server.client();
    let script = redis::Script::new("return redis.call('incrby', KEYS[1], ARGV[1])");
    let a: i64 = script.key("counter").arg(5).invoke(&mut con).expect("first run (EVAL fallback)");
    let b: i64 = script.key("counter").arg(2).invoke(&mut con).expect("second run (EVALSHA)");
    assert_eq!((a, b), (5, 7));
    let exists: Vec<i64> = redis::cmd("SCRIPT").arg("EXISTS").arg(script.get_hash()).query(&mut con).expect("exists");
    assert_eq!(exists, vec![1]);
}

/// Concurrent clients running a read-modify-write script never lose an
/// update: each script runs with nothing interleaved.
#[test]
fn scripts_are_atomic_under_concurrent_clients() {
    let server = TestServer::new();
    let per_client = 200;
    server.on_clients(4, move |mut con| {
        let script = redis::Script::new(
            "local v = tonumber(redis.call('get', KEYS[1]) or '0') \
             redis.call('set', KEYS[1], v + 1) return v + 1",
        );
        for _ in 0..per_client {
            let _: i64 = script.key("rmw").invoke(&mut con).expect("script");
        }
    });
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["GET", "rmw"]), Reply::bulk(&(4 * per_client).to_string()));
}

/// FUNCTION libraries are persisted like Redis persists them: after a
/// restart (clean or SIGKILL) FCALL still works, a REPLACE is what comes
/// back, FLUSHALL does not touch them and a FUNCTION FLUSH / DELETE is
/// durable too.
#[test]
fn function_libraries_survive_a_restart() {
    let mut server = TestServer::start("[storage]\nsync = \"always\"\n");
    let mut raw = server.raw();
    let lib =
        |body: &str| format!("#!lua name=mylib\nredis.register_function('hello', function(keys, args) {body} end)");
    assert_eq!(raw.cmd(&["FUNCTION", "LOAD", &lib("return 'v1'")]), Reply::bulk("mylib"));
    assert_eq!(raw.cmd(&["FUNCTION", "LOAD", "REPLACE", &lib("return args[1]")]), Reply::bulk("mylib"));
    let other = "#!lua name=other\nredis.register_function('o', function() return 1 end)";
    assert_eq!(raw.cmd(&["FUNCTION", "LOAD", other]), Reply::bulk("other"));
    assert_eq!(raw.cmd(&["FLUSHALL"]), Reply::ok());
    assert_eq!(raw.cmd(&["DBSIZE"]), Reply::Int(0));
    assert_eq!(raw.cmd(&["SCAN", "0"]).items()[1], Reply::Array(Some(vec![])));
    server.stop();
    server.restart();
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["FCALL", "hello", "0", "after restart"]), Reply::bulk("after restart"));
    assert_eq!(raw.cmd(&["FCALL", "o", "0"]), Reply::Int(1));
    assert_eq!(raw.cmd(&["DBSIZE"]), Reply::Int(0));
    assert_eq!(raw.cmd(&["FUNCTION", "DELETE", "other"]), Reply::ok());
    server.kill();
    server.restart();
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["FCALL", "hello", "0", "x"]), Reply::bulk("x"));
    assert_eq!(raw.cmd(&["FCALL", "o", "0"]), Reply::Error("ERR Function not found".into()));
    assert_eq!(raw.cmd(&["FUNCTION", "FLUSH"]), Reply::ok());
    server.kill();
    server.restart();
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["FCALL", "hello", "0"]), Reply::Error("ERR Function not found".into()));
    assert_eq!(raw.cmd(&["FUNCTION", "LIST"]), Reply::Array(Some(vec![])));
}

/// KEYS and ARGV reach the script whole whatever their number: few go to Lua
/// on its stack, many (past what Lua 5.1's stack takes) as tables. Compared
/// with redis-server, with `redis.pcall`'s error table on the way.
#[test]
fn keys_and_argv_of_any_count_match_redis() {
    let Some(redis) = common::RedisServer::start() else { return };
    let s = TestServer::new();
    let (mut ours, mut theirs) = (s.raw(), redis.raw());
    let body = "return {#KEYS, #ARGV, KEYS[1] or false, KEYS[#KEYS] or false, ARGV[1] or false, \
                ARGV[#ARGV] or false, redis.pcall('nosuch')['err'], redis.pcall('get', KEYS[1] or 'x')}";
    for (i, (nkeys, nargs)) in
        [(0, 0), (1, 1), (0, 3), (3, 0), (2, 998), (999, 2), (3, 1500), (5000, 5000)].into_iter().enumerate()
    {
        let mut cmd = vec!["EVAL".to_string(), body.to_string(), nkeys.to_string()];
        cmd.extend((0..nkeys).map(|k| format!("key:{k}")));
        cmd.extend((0..nargs).map(|a| format!("arg:{a}")));
        common::same_reply(&mut ours, &mut theirs, i, &cmd);
    }
}

/// While a script is busy, a client that connects is accepted and served
/// as Redis serves it: GET gets the BUSY text, HELLO runs, and SCRIPT KILL
/// from this new connection stops the script. A client connected before
/// gets its MULTI answered at once too. Everyone is served normally after
/// the kill.
#[test]
fn a_client_connecting_during_a_busy_script_gets_busy_and_can_kill_it() {
    let server = TestServer::start("[server]\nbusy_reply_threshold = 200\n");
    let (mut running, mut before) = (server.raw(), server.raw());
    running.set_timeout(Duration::from_secs(30));
    running.send_cmd(&["EVAL", "while true do end", "0"]);
    let busy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    assert_eq!(wait_busy(&mut before), busy);
    assert_eq!(before.cmd(&["MULTI"]), Reply::ok(), "MULTI is answered while busy");

    let mut new = server.raw();
    assert_eq!(new.cmd(&["GET", "k"]), Reply::Error(busy.into()));
    assert_eq!(new.cmd(&["PING"]), Reply::Error(busy.into()));
    assert_eq!(new.cmd(&["GET"]), Reply::Error("ERR wrong number of arguments for 'get' command".into()));
    let hello = new.cmd(&["HELLO", "3"]);
    let Reply::Map(fields) = hello else { panic!("HELLO 3 replied {hello:?}") };
    assert_eq!(fields[2], (Reply::bulk("proto"), Reply::Int(3)));
    assert_eq!(new.cmd(&["SCRIPT", "KILL"]), Reply::ok());

    let killed = running.read();
    assert!(killed.err().is_some_and(|e| e.starts_with("ERR Script killed by user with SCRIPT KILL...")), "{killed:?}");
    assert_eq!(before.cmd(&["SET", "k", "v"]), Reply::Simple("QUEUED".into()));
    assert_eq!(before.cmd(&["EXEC"]), Reply::Array(Some(vec![Reply::ok()])));
    assert_eq!(new.cmd(&["GET", "k"]), Reply::bulk("v"));
    assert_eq!(new.cmd(&["GET", "nokey"]), Reply::Null, "the new client kept RESP3 from its HELLO");
    let id = new.cmd(&["CLIENT", "ID"]);
    let list = running.cmd(&["CLIENT", "LIST"]).str();
    assert!(matches!(id, Reply::Int(n) if list.contains(&format!("id={n} "))), "{id:?} not in {list}");
    assert_eq!(running.cmd(&["EVAL", "return 1", "0"]), Reply::Int(1));
}

/// Starts `while true do end` on `running` with a 200 ms busy threshold and
/// waits until `probe` gets -BUSY.
fn start_busy(running: &mut common::RawClient, probe: &mut common::RawClient) {
    assert_eq!(probe.cmd(&["CONFIG", "SET", "lua-time-limit", "200"]), Reply::ok());
    running.set_timeout(Duration::from_secs(30));
    running.send_cmd(&["EVAL", "while true do end", "0"]);
    wait_busy(probe);
}

/// The commands Redis runs for a client connected before a busy script
/// (AUTH, HELLO, WATCH, UNWATCH, MULTI, DISCARD, RESET, QUIT) are answered
/// at once, byte for byte as redis-server answers them; any other command
/// gets -BUSY, which fails an open transaction (an EXEC while busy aborts
/// it at once, a later EXEC with EXECABORT), as Redis's `rejectCommand`.
#[test]
fn a_busy_script_answers_the_allowed_commands_of_clients_connected_before() {
    let Some(redis) = common::RedisServer::start() else { return };
    let server = TestServer::new();
    let mut sides: Vec<_> = [(server.raw(), server.raw(), server.raw(), server.raw()), {
        (redis.raw(), redis.raw(), redis.raw(), redis.raw())
    }]
    .into_iter()
    .collect();
    for (running, probe, _, queued) in sides.iter_mut() {
        assert_eq!(queued.cmd(&["MULTI"]), Reply::ok());
        start_busy(running, probe);
    }
    let steps: &[&[&str]] = &[
        &["AUTH", "pw"],
        &["AUTH", "user", "pw"],
        &["HELLO", "4"],
        &["WATCH", "k"],
        &["UNWATCH"],
        &["MULTI"],
        &["SET", "k", "v"],
        &["MULTI"],
        &["DISCARD"],
        &["DISCARD"],
        &["WATCH", "k"],
        &["MULTI"],
        &["WATCH", "k"],
        &["GET", "k"],
        &["EXEC"],
        &["EXEC"],
        &["NOSUCHCOMMAND"],
        &["GET"],
        &["RESET"],
        &["SELECT", "2"],
        &["QUIT"],
    ];
    for (i, step) in steps.iter().enumerate() {
        let cmd: Vec<String> = step.iter().map(|s| s.to_string()).collect();
        let [ours, theirs] = &mut sides[..] else { unreachable!() };
        common::same_reply(&mut ours.2, &mut theirs.2, i, &cmd);
    }
    for (running, probe, client, queued) in sides.iter_mut() {
        assert!(client.is_closed(Duration::from_secs(5)), "QUIT closes the connection while busy");
        // HELLO 3 / 2 switch the protocol at once (the id differs between servers).
        let hello = probe.cmd(&["HELLO", "3"]);
        assert!(matches!(&hello, Reply::Map(f) if f[2] == (Reply::bulk("proto"), Reply::Int(3))), "{hello:?}");
        assert!(matches!(probe.cmd(&["HELLO", "2"]), Reply::Array(Some(_))));
        // A queued command is rejected with -BUSY; AUTH and HELLO are queued.
        assert!(queued.cmd(&["SET", "a", "1"]).err().is_some_and(|e| e.starts_with("BUSY ")));
        assert_eq!(queued.cmd(&["AUTH", "pw"]), Reply::Simple("QUEUED".into()));
        assert_eq!(probe.cmd(&["SCRIPT", "KILL"]), Reply::ok());
        assert!(running.read().err().is_some_and(|e| e.starts_with("ERR Script killed")));
        assert_eq!(
            queued.cmd(&["EXEC"]),
            Reply::Error("EXECABORT Transaction discarded because of previous errors.".into())
        );
        assert_eq!(queued.cmd(&["EXISTS", "a"]), Reply::Int(0));
    }
}

/// With a password, a client connecting during a busy script must AUTH
/// before anything, SCRIPT KILL included (NOAUTH first, as Redis checks);
/// AUTH works while the script runs, so it can then kill it. Past
/// `maxclients` a new connection is refused as usual.
#[test]
fn a_busy_script_serves_auth_and_maxclients_to_new_clients() {
    let server = TestServer::start("[server]\nbusy_reply_threshold = 200\nrequirepass = \"sekret\"\nmaxclients = 3\n");
    let (mut running, mut probe) = (server.raw(), server.raw());
    assert_eq!(running.cmd(&["AUTH", "sekret"]), Reply::ok());
    assert_eq!(probe.cmd(&["AUTH", "sekret"]), Reply::ok());
    running.set_timeout(Duration::from_secs(30));
    running.send_cmd(&["EVAL", "while true do end", "0"]);
    assert!(wait_busy(&mut probe).starts_with("BUSY "));

    let mut new = server.raw();
    let noauth = Reply::Error("NOAUTH Authentication required.".into());
    assert_eq!(new.cmd(&["GET", "k"]), noauth);
    assert_eq!(new.cmd(&["SCRIPT", "KILL"]), noauth);
    assert_eq!(
        new.cmd(&["AUTH", "wrong"]),
        Reply::Error("WRONGPASS invalid username-password pair or user is disabled.".into())
    );
    assert_eq!(new.cmd(&["AUTH", "sekret"]), Reply::ok());
    assert!(new.cmd(&["GET", "k"]).err().is_some_and(|e| e.starts_with("BUSY ")));

    let mut fourth = server.raw();
    assert_eq!(fourth.read_to_close(), b"-ERR max number of clients reached\r\n");

    assert_eq!(new.cmd(&["SCRIPT", "KILL"]), Reply::ok());
    assert!(running.read().err().is_some_and(|e| e.starts_with("ERR Script killed")));
    assert_eq!(new.cmd(&["SET", "k", "v"]), Reply::ok());
    assert_eq!(probe.cmd(&["GET", "k"]), Reply::bulk("v"));
}

/// A script's commands are counted and timed on the clock that times the
/// script (one read per command start, as Redis's `ustime()` in `call`):
/// each SLOWLOG entry has the duration INFO commandstats added up, and the
/// script's duration holds its commands'. As in Redis, the slow log shows
/// the script's commands as its Lua client's (`?:0`, no name).
#[test]
fn a_scripts_commands_are_timed_within_it_in_slowlog_and_commandstats() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "caller"]), Reply::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]), Reply::ok());
    let script = "redis.call('SET', KEYS[1], ARGV[1]) local n = 0 for i = 1, 300000 do n = n + i end \
                  return redis.call('GET', KEYS[1])";
    assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), Reply::ok());
    assert_eq!(c.cmd(&["EVAL", script, "1", "k", "v"]), Reply::bulk("v"));
    // Newest first: EVAL, then its GET and SET (SLOWLOG RESET before them).
    let log = c.cmd(&["SLOWLOG", "GET"]).items();
    let entry = |i: usize| {
        let e = log[i].items();
        let Reply::Int(usec) = e[2] else { panic!("no duration: {:?}", log[i]) };
        assert_eq!(e[5].str(), if i == 0 { "caller" } else { "" }, "client name of {:?}", log[i]);
        if i > 0 {
            assert_eq!(e[4].str(), "?:0", "client address of {:?}", log[i]);
        } else {
            assert!(e[4].str().starts_with("127.0.0.1:"), "client address of {:?}", log[i]);
        }
        (e[3].items()[0].str().to_lowercase(), usec)
    };
    let (names, usec): (Vec<String>, Vec<i64>) = (0..3).map(entry).unzip();
    assert_eq!(names, ["eval", "get", "set"]);
    let stats = c.cmd(&["INFO", "commandstats"]).str();
    for (name, usec) in names.iter().zip(&usec) {
        let line = format!("cmdstat_{name}:calls=1,usec={usec},");
        assert!(stats.contains(&line), "{line} not in {stats}");
    }
    assert!(usec[0] >= usec[1] + usec[2], "script {} us, its commands {} + {} us", usec[0], usec[1], usec[2]);
    assert!(usec[0] > 0, "the loop takes time");
}

/// `redis.call`, KEYS and ARGV are installed once and reused from run to
/// run: whatever a script did to them (replaced `redis.call`, removed KEYS
/// with rawset) or a function run did (functions see no KEYS / ARGV), the
/// next script gets the server's `redis.call` and its own KEYS and ARGV.
#[test]
fn each_script_gets_the_real_redis_call_and_its_own_keys_and_argv() {
    let s = TestServer::new();
    let mut raw = s.raw();
    let check = |raw: &mut common::RawClient, n: &str| {
        let body = "redis.call('set', KEYS[1], ARGV[1]) return {redis.call('get', KEYS[1]), redis.pcall('get', KEYS[1]), #KEYS, #ARGV}";
        let got = raw.cmd(&["EVAL", body, "1", &format!("k{n}"), &format!("v{n}")]);
        let v = Reply::bulk(&format!("v{n}"));
        assert_eq!(got, Reply::Array(Some(vec![v.clone(), v, Reply::Int(1), Reply::Int(1)])), "after {n}");
    };
    check(&mut raw, "first");
    // (Redis refuses these: its library tables are read-only. Either way,
    // the next script must not see them.)
    let tamper = [
        "redis.call = function() return 'fake' end",
        "rawset(_G, 'KEYS', nil)",
        "rawset(_G, 'ARGV', nil) rawset(_G, 'KEYS', nil)",
    ];
    for (i, body) in tamper.into_iter().enumerate() {
        let _ = raw.cmd(&["EVAL", body, "1", "a", "b"]);
        check(&mut raw, &format!("tamper{i}"));
    }
    let lib =
        "#!lua name=lib\nredis.register_function('f', function(keys, args) return {keys[1], args[1], KEYS} end)\n\
               redis.register_function('g', function(keys, args) return redis.call('get', keys[1]) end)";
    assert_eq!(raw.cmd(&["FUNCTION", "LOAD", lib]), Reply::bulk("lib"));
    let Reply::Error(e) = raw.cmd(&["FCALL", "f", "1", "fk", "fa"]) else { panic!("KEYS is not a function's global") };
    assert!(e.contains("nonexistent global variable 'KEYS'"), "{e}");
    check(&mut raw, "a function run");
    assert_eq!(raw.cmd(&["FCALL", "g", "1", "ka function run"]), Reply::bulk("va function run"));
    check(&mut raw, "another function run");
}

/// INFO memory reports the scripting VM as Redis 7 does (`used_memory_lua`
/// and the cached script, function and library counts), following SCRIPT
/// LOAD, FUNCTION LOAD and SCRIPT FLUSH.
#[test]
fn info_memory_reports_the_lua_vm_and_what_it_holds() {
    let server = TestServer::start("");
    let mut raw = server.raw();
    let mem = |raw: &mut common::RawClient, name: &str| common::info_field(raw, "memory", name);
    let lua = mem(&mut raw, "used_memory_lua");
    assert!(lua.parse::<u64>().expect("a number") > 0);
    assert_eq!(lua, mem(&mut raw, "used_memory_vm_eval"));
    assert_eq!(mem(&mut raw, "number_of_cached_scripts"), "0");
    raw.cmd(&["SCRIPT", "LOAD", "return 1"]);
    raw.cmd(&["SCRIPT", "LOAD", "return 2"]);
    let lib = "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)\n\
               redis.register_function('f2', function() return 2 end)";
    assert_eq!(raw.cmd(&["FUNCTION", "LOAD", lib]), Reply::bulk("mylib"));
    assert_eq!(mem(&mut raw, "number_of_cached_scripts"), "2");
    assert_eq!(mem(&mut raw, "number_of_functions"), "2");
    assert_eq!(mem(&mut raw, "number_of_libraries"), "1");
    assert_eq!(raw.cmd(&["SCRIPT", "FLUSH"]), Reply::ok());
    assert_eq!(mem(&mut raw, "number_of_cached_scripts"), "0");
}
