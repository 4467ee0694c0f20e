//! FUNCTION DUMP / FUNCTION RESTORE across servers: a payload dumped by a
//! real redis-server restores into DiskDB (and the other way round), the
//! restored functions run, and restored libraries survive a restart like
//! FUNCTION LOAD ones.

mod common;

use common::{RawClient, RedisServer, Reply, TestServer};

/// A library whose code is long enough for the dump to be LZF-compressed.
const LIB: &str = "#!lua name=shared\n\
    redis.register_function('greet', function(keys, args) return 'hello ' .. args[1] end)\n\
    redis.register_function{function_name='count', callback=function(keys) return redis.call('incr', keys[1]) end}\n\
    -- a comment that repeats itself: a comment that repeats itself";

fn dump(c: &mut RawClient) -> Vec<u8> {
    match c.cmd(&["FUNCTION", "DUMP"]) {
        Reply::Bulk(Some(p)) => p,
        other => panic!("FUNCTION DUMP replied {other:?}"),
    }
}

/// Both ways: Redis's dump restores into DiskDB, where the functions run
/// and dump to the same bytes; DiskDB's dump restores into Redis.
#[test]
fn payloads_move_between_redis_and_diskdb() {
    let Some(redis) = RedisServer::start() else { return };
    let server = TestServer::start("");
    let (mut theirs, mut ours) = (redis.raw(), server.raw());
    assert_eq!(theirs.cmd(&["FUNCTION", "LOAD", LIB]), Reply::bulk("shared"));
    let payload = dump(&mut theirs);
    assert_eq!(payload[0], 245, "the function library opcode");
    assert_eq!(payload[1], 0xc3, "the code is LZF-compressed");

    assert_eq!(ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload]), Reply::ok());
    assert_eq!(ours.cmd(&["FCALL", "greet", "0", "diskdb"]), Reply::bulk("hello diskdb"));
    assert_eq!(ours.cmd(&["FCALL", "count", "1", "n"]), Reply::Int(1));
    assert_eq!(dump(&mut ours), payload);
    // Restoring again collides unless REPLACE or FLUSH says otherwise.
    let again = ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload]);
    assert_eq!(again, Reply::Error("ERR Library shared already exists".into()));
    assert_eq!(ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"]), Reply::ok());

    // DiskDB's own dump of a library it loaded restores into Redis.
    let lib2 = LIB.replace("name=shared", "name=second").replace("'greet'", "'greet2'").replace("'count'", "'count2'");
    assert_eq!(ours.cmd(&["FUNCTION", "LOAD", &lib2]), Reply::bulk("second"));
    assert_eq!(ours.cmd(&["FUNCTION", "DELETE", "shared"]), Reply::ok());
    let ours_payload = dump(&mut ours);
    assert_eq!(theirs.cmd_bytes(&[b"FUNCTION", b"RESTORE", &ours_payload, b"FLUSH"]), Reply::ok());
    assert_eq!(theirs.cmd(&["FCALL", "greet2", "0", "redis"]), Reply::bulk("hello redis"));
    assert_eq!(dump(&mut theirs), ours_payload);

    let mut damaged = payload.clone();
    damaged[5] ^= 0x20;
    let wrong = Reply::Error("ERR DUMP payload version or checksum are wrong".into());
    assert_eq!(ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &damaged]), wrong);
    assert_eq!(theirs.cmd_bytes(&[b"FUNCTION", b"RESTORE", &damaged]), wrong);
}

/// Restored libraries are persisted like FUNCTION LOAD's: after a restart
/// (clean or SIGKILL) they are there, and a RESTORE ... FLUSH removed the
/// ones it replaced from disk too.
#[test]
fn restored_libraries_survive_a_restart() {
    let mut server = TestServer::start("[storage]\nsync = \"always\"\n");
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["FUNCTION", "LOAD", LIB]), Reply::bulk("shared"));
    let payload = dump(&mut raw);
    let old = "#!lua name=old\nredis.register_function('old', function() return 1 end)";
    assert_eq!(raw.cmd(&["FUNCTION", "FLUSH"]), Reply::ok());
    assert_eq!(raw.cmd(&["FUNCTION", "LOAD", old]), Reply::bulk("old"));
    assert_eq!(raw.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload]), Reply::ok());
    server.kill();
    server.restart();
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["FCALL", "greet", "0", "again"]), Reply::bulk("hello again"));
    assert_eq!(raw.cmd(&["FCALL", "old", "0"]), Reply::Int(1));
    assert_eq!(raw.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"]), Reply::ok());
    server.stop();
    server.restart();
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["FCALL", "old", "0"]), Reply::Error("ERR Function not found".into()));
    assert_eq!(raw.cmd(&["FCALL", "greet", "0", "x"]), Reply::bulk("hello x"));
    assert_eq!(dump(&mut raw), payload);
}
