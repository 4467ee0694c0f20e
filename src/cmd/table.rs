//! THE command table: one sorted row per command, the single source of truth
//! for dispatch, arity, flags, key positions, COMMAND and its subcommands.
//! Adding a command = one row here + one handler in its family's file.

use super::flag_bits::*;
use super::{
    connection, container, function, hash, json, keys, list, multi, pubsub, script, server, set, sort, spec, stream,
    string, zset, CommandSpec, Group, KeySpec,
};

/// Every command, sorted by name (binary-searched by `lookup`).
pub static COMMANDS: &[CommandSpec] = &[
    spec("append", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::String, string::append),
    spec(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        KeySpec::None,
        Group::Connection,
        connection::auth,
    ),
    spec("bgsave", -1, ADMIN | NOSCRIPT, KeySpec::None, Group::Server, server::bgsave),
    spec("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, KeySpec::TWO, Group::List, list::blmove),
    spec("blmpop", -5, WRITE | BLOCKING, KeySpec::NumKeys { at: 2, fixed: 0 }, Group::List, list::blmpop),
    spec(
        "blpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        KeySpec::Range { first: 1, last: -2, step: 1 },
        Group::List,
        list::blpop,
    ),
    spec(
        "brpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        KeySpec::Range { first: 1, last: -2, step: 1 },
        Group::List,
        list::brpop,
    ),
    spec("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, KeySpec::TWO, Group::List, list::brpoplpush),
    spec("bzmpop", -5, WRITE | BLOCKING, KeySpec::NumKeys { at: 2, fixed: 0 }, Group::SortedSet, zset::bzmpop),
    spec(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        KeySpec::Range { first: 1, last: -2, step: 1 },
        Group::SortedSet,
        zset::bzpopmax,
    ),
    spec(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        KeySpec::Range { first: 1, last: -2, step: 1 },
        Group::SortedSet,
        zset::bzpopmin,
    ),
    container("client", -2, NONE, Group::Connection, CLIENT_SUBS),
    CommandSpec {
        name: "command",
        arity: -1,
        flags: super::Flags::from_bits_retain(LOADING | STALE),
        keys: KeySpec::None,
        group: Group::Server,
        run: server::command,
        subcommands: COMMAND_SUBS,
    },
    container("config", -2, NONE, Group::Server, CONFIG_SUBS),
    spec("copy", -3, WRITE | DENYOOM, KeySpec::TWO, Group::Generic, keys::copy),
    spec("dbsize", 1, READONLY | FAST, KeySpec::None, Group::Server, server::dbsize),
    spec("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, KeySpec::None, Group::Server, server::debug),
    spec("decr", 2, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::String, string::decr),
    spec("decrby", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::String, string::decrby),
    spec("del", -2, WRITE, KeySpec::ALL, Group::Generic, keys::del),
    spec(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        KeySpec::None,
        Group::Transactions,
        multi::discard,
    ),
    spec("echo", 2, LOADING | STALE | FAST, KeySpec::None, Group::Connection, connection::echo),
    spec("eval", -3, NOSCRIPT | STALE, KeySpec::None, Group::Scripting, script::eval),
    spec("eval_ro", -3, NOSCRIPT | STALE | READONLY, KeySpec::None, Group::Scripting, script::eval_ro),
    spec("evalsha", -3, NOSCRIPT | STALE, KeySpec::None, Group::Scripting, script::evalsha),
    spec("evalsha_ro", -3, NOSCRIPT | STALE | READONLY, KeySpec::None, Group::Scripting, script::evalsha_ro),
    spec("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, KeySpec::None, Group::Transactions, multi::exec),
    spec("exists", -2, READONLY | FAST, KeySpec::ALL, Group::Generic, keys::exists),
    spec("expire", -3, WRITE | FAST, KeySpec::ONE, Group::Generic, keys::expire),
    spec("expireat", -3, WRITE | FAST, KeySpec::ONE, Group::Generic, keys::expireat),
    spec("expiretime", 2, READONLY | FAST, KeySpec::ONE, Group::Generic, keys::expiretime),
    spec("fcall", -3, NOSCRIPT | STALE, KeySpec::None, Group::Scripting, function::fcall),
    spec("fcall_ro", -3, NOSCRIPT | STALE | READONLY, KeySpec::None, Group::Scripting, function::fcall_ro),
    spec("flushall", -1, WRITE, KeySpec::None, Group::Server, server::flushall),
    spec("flushdb", -1, WRITE, KeySpec::None, Group::Server, server::flushdb),
    container("function", -2, NONE, Group::Scripting, FUNCTION_SUBS),
    spec("get", 2, READONLY | FAST, KeySpec::ONE, Group::String, string::get),
    spec("getdel", 2, WRITE | FAST, KeySpec::ONE, Group::String, string::getdel),
    spec("getex", -2, WRITE | FAST, KeySpec::ONE, Group::String, string::getex),
    spec("getrange", 4, READONLY, KeySpec::ONE, Group::String, string::getrange),
    spec("getset", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::String, string::getset),
    spec("hdel", -3, WRITE | FAST, KeySpec::ONE, Group::Hash, hash::hdel),
    spec(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        KeySpec::None,
        Group::Connection,
        connection::hello,
    ),
    spec("hexists", 3, READONLY | FAST, KeySpec::ONE, Group::Hash, hash::hexists),
    spec("hget", 3, READONLY | FAST, KeySpec::ONE, Group::Hash, hash::hget),
    spec("hgetall", 2, READONLY | UNORDERED, KeySpec::ONE, Group::Hash, hash::hgetall),
    spec("hincrby", 4, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::Hash, hash::hincrby),
    spec("hincrbyfloat", 4, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::Hash, hash::hincrbyfloat),
    spec("hkeys", 2, READONLY | UNORDERED, KeySpec::ONE, Group::Hash, hash::hkeys),
    spec("hlen", 2, READONLY | FAST, KeySpec::ONE, Group::Hash, hash::hlen),
    spec("hmget", -3, READONLY | FAST, KeySpec::ONE, Group::Hash, hash::hmget),
    spec("hmset", -4, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::Hash, hash::hmset),
    spec("hrandfield", -2, READONLY, KeySpec::ONE, Group::Hash, hash::hrandfield),
    spec("hscan", -3, READONLY, KeySpec::ONE, Group::Hash, hash::hscan),
    spec("hset", -4, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::Hash, hash::hset),
    spec("hsetnx", 4, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::Hash, hash::hsetnx),
    spec("hstrlen", 3, READONLY | FAST, KeySpec::ONE, Group::Hash, hash::hstrlen),
    spec("hvals", 2, READONLY | UNORDERED, KeySpec::ONE, Group::Hash, hash::hvals),
    spec("incr", 2, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::String, string::incr),
    spec("incrby", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::String, string::incrby),
    spec("incrbyfloat", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::String, string::incrbyfloat),
    spec("info", -1, LOADING | STALE, KeySpec::None, Group::Server, server::info),
    spec("json.arrappend", -4, WRITE | DENYOOM, KeySpec::ONE, Group::Json, json::json_arrappend),
    spec("json.arrindex", -4, READONLY, KeySpec::ONE, Group::Json, json::json_arrindex),
    spec("json.arrinsert", -5, WRITE | DENYOOM, KeySpec::ONE, Group::Json, json::json_arrinsert),
    spec("json.arrlen", -2, READONLY | FAST, KeySpec::ONE, Group::Json, json::json_arrlen),
    spec("json.arrpop", -2, WRITE, KeySpec::ONE, Group::Json, json::json_arrpop),
    spec("json.arrtrim", 5, WRITE, KeySpec::ONE, Group::Json, json::json_arrtrim),
    spec("json.clear", -2, WRITE, KeySpec::ONE, Group::Json, json::json_clear),
    spec("json.del", -2, WRITE, KeySpec::ONE, Group::Json, json::json_del),
    spec("json.forget", -2, WRITE, KeySpec::ONE, Group::Json, json::json_forget),
    spec("json.get", -2, READONLY, KeySpec::ONE, Group::Json, json::json_get),
    spec("json.merge", -4, WRITE | DENYOOM, KeySpec::ONE, Group::Json, json::json_merge),
    spec("json.mget", -3, READONLY, KeySpec::Range { first: 1, last: -2, step: 1 }, Group::Json, json::json_mget),
    spec(
        "json.mset",
        -4,
        WRITE | DENYOOM,
        KeySpec::Range { first: 1, last: -1, step: 3 },
        Group::Json,
        json::json_mset,
    ),
    spec("json.numincrby", 4, WRITE, KeySpec::ONE, Group::Json, json::json_numincrby),
    spec("json.nummultby", 4, WRITE, KeySpec::ONE, Group::Json, json::json_nummultby),
    spec("json.objkeys", -2, READONLY, KeySpec::ONE, Group::Json, json::json_objkeys),
    spec("json.objlen", -2, READONLY, KeySpec::ONE, Group::Json, json::json_objlen),
    spec("json.resp", -2, READONLY, KeySpec::ONE, Group::Json, json::json_resp),
    spec("json.set", -4, WRITE | DENYOOM, KeySpec::ONE, Group::Json, json::json_set),
    spec("json.strappend", -3, WRITE | DENYOOM, KeySpec::ONE, Group::Json, json::json_strappend),
    spec("json.strlen", -2, READONLY, KeySpec::ONE, Group::Json, json::json_strlen),
    spec("json.toggle", 3, WRITE, KeySpec::ONE, Group::Json, json::json_toggle),
    spec("json.type", -2, READONLY, KeySpec::ONE, Group::Json, json::json_type),
    spec("keys", 2, READONLY | UNORDERED, KeySpec::None, Group::Generic, keys::keys),
    spec("lastsave", 1, LOADING | STALE | FAST, KeySpec::None, Group::Server, server::lastsave),
    spec("lcs", -3, READONLY, KeySpec::TWO, Group::String, string::lcs),
    spec("lindex", 3, READONLY, KeySpec::ONE, Group::List, list::lindex),
    spec("linsert", 5, WRITE | DENYOOM, KeySpec::ONE, Group::List, list::linsert),
    spec("llen", 2, READONLY | FAST, KeySpec::ONE, Group::List, list::llen),
    spec("lmove", 5, WRITE | DENYOOM, KeySpec::TWO, Group::List, list::lmove),
    spec("lmpop", -4, WRITE, KeySpec::NumKeys { at: 1, fixed: 0 }, Group::List, list::lmpop),
    spec("lpop", -2, WRITE | FAST, KeySpec::ONE, Group::List, list::lpop),
    spec("lpos", -3, READONLY, KeySpec::ONE, Group::List, list::lpos),
    spec("lpush", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::List, list::lpush),
    spec("lpushx", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::List, list::lpushx),
    spec("lrange", 4, READONLY, KeySpec::ONE, Group::List, list::lrange),
    spec("lrem", 4, WRITE, KeySpec::ONE, Group::List, list::lrem),
    spec("lset", 4, WRITE | DENYOOM, KeySpec::ONE, Group::List, list::lset),
    spec("ltrim", 4, WRITE, KeySpec::ONE, Group::List, list::ltrim),
    spec("mget", -2, READONLY | FAST, KeySpec::ALL, Group::String, string::mget),
    spec("move", 3, WRITE | FAST, KeySpec::ONE, Group::Generic, keys::move_),
    spec("mset", -3, WRITE | DENYOOM, KeySpec::PAIRS, Group::String, string::mset),
    spec("msetnx", -3, WRITE | DENYOOM, KeySpec::PAIRS, Group::String, string::msetnx),
    spec("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::None, Group::Transactions, multi::multi),
    container("object", -2, NONE, Group::Generic, OBJECT_SUBS),
    spec("persist", 2, WRITE | FAST, KeySpec::ONE, Group::Generic, keys::persist),
    spec("pexpire", -3, WRITE | FAST, KeySpec::ONE, Group::Generic, keys::pexpire),
    spec("pexpireat", -3, WRITE | FAST, KeySpec::ONE, Group::Generic, keys::pexpireat),
    spec("pexpiretime", 2, READONLY | FAST, KeySpec::ONE, Group::Generic, keys::pexpiretime),
    spec("ping", -1, FAST, KeySpec::None, Group::Connection, connection::ping),
    spec("psetex", 4, WRITE | DENYOOM, KeySpec::ONE, Group::String, string::psetex),
    spec("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::psubscribe),
    spec("pttl", 2, READONLY | FAST, KeySpec::ONE, Group::Generic, keys::pttl),
    spec("publish", 3, PUBSUB | LOADING | STALE | FAST, KeySpec::None, Group::PubSub, pubsub::publish),
    container("pubsub", -2, NONE, Group::PubSub, PUBSUB_SUBS),
    spec("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::punsubscribe),
    spec(
        "quit",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        KeySpec::None,
        Group::Connection,
        connection::quit,
    ),
    spec("randomkey", 1, READONLY, KeySpec::None, Group::Generic, keys::randomkey),
    spec("rename", 3, WRITE, KeySpec::TWO, Group::Generic, keys::rename),
    spec("renamenx", 3, WRITE | FAST, KeySpec::TWO, Group::Generic, keys::renamenx),
    spec(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        KeySpec::None,
        Group::Connection,
        connection::reset,
    ),
    spec("rpop", -2, WRITE | FAST, KeySpec::ONE, Group::List, list::rpop),
    spec("rpoplpush", 3, WRITE | DENYOOM, KeySpec::TWO, Group::List, list::rpoplpush),
    spec("rpush", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::List, list::rpush),
    spec("rpushx", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::List, list::rpushx),
    spec("sadd", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::Set, set::sadd),
    spec("save", 1, ADMIN | NOSCRIPT, KeySpec::None, Group::Server, server::save),
    spec("scan", -2, READONLY, KeySpec::None, Group::Generic, keys::scan),
    spec("scard", 2, READONLY | FAST, KeySpec::ONE, Group::Set, set::scard),
    container("script", -2, NONE, Group::Scripting, SCRIPT_SUBS),
    spec("sdiff", -2, READONLY | UNORDERED, KeySpec::ALL, Group::Set, set::sdiff),
    spec("sdiffstore", -3, WRITE | DENYOOM, KeySpec::ALL, Group::Set, set::sdiffstore),
    spec("select", 2, LOADING | STALE | FAST, KeySpec::None, Group::Connection, connection::select),
    spec("set", -3, WRITE | DENYOOM, KeySpec::ONE, Group::String, string::set),
    spec("setex", 4, WRITE | DENYOOM, KeySpec::ONE, Group::String, string::setex),
    spec("setnx", 3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::String, string::setnx),
    spec("setrange", 4, WRITE | DENYOOM, KeySpec::ONE, Group::String, string::setrange),
    spec(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        KeySpec::None,
        Group::Server,
        server::shutdown,
    ),
    spec("sinter", -2, READONLY | UNORDERED, KeySpec::ALL, Group::Set, set::sinter),
    spec("sintercard", -3, READONLY, KeySpec::NumKeys { at: 1, fixed: 0 }, Group::Set, set::sintercard),
    spec("sinterstore", -3, WRITE | DENYOOM, KeySpec::ALL, Group::Set, set::sinterstore),
    spec("sismember", 3, READONLY | FAST, KeySpec::ONE, Group::Set, set::sismember),
    container("slowlog", -2, NONE, Group::Server, SLOWLOG_SUBS),
    spec("smembers", 2, READONLY | UNORDERED, KeySpec::ONE, Group::Set, set::smembers),
    spec("smismember", -3, READONLY | FAST, KeySpec::ONE, Group::Set, set::smismember),
    spec("smove", 4, WRITE | FAST, KeySpec::TWO, Group::Set, set::smove),
    spec("sort", -2, WRITE | DENYOOM, KeySpec::Sort { store: true }, Group::Generic, sort::sort),
    spec("sort_ro", -2, READONLY, KeySpec::Sort { store: false }, Group::Generic, sort::sort_ro),
    spec("spop", -2, WRITE | FAST, KeySpec::ONE, Group::Set, set::spop),
    spec("spublish", 3, PUBSUB | LOADING | STALE | FAST, KeySpec::None, Group::PubSub, pubsub::spublish),
    spec("srandmember", -2, READONLY, KeySpec::ONE, Group::Set, set::srandmember),
    spec("srem", -3, WRITE | FAST, KeySpec::ONE, Group::Set, set::srem),
    spec("sscan", -3, READONLY, KeySpec::ONE, Group::Set, set::sscan),
    spec("ssubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::ssubscribe),
    spec("strlen", 2, READONLY | FAST, KeySpec::ONE, Group::String, string::strlen),
    spec("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::subscribe),
    spec("substr", 4, READONLY, KeySpec::ONE, Group::String, string::getrange),
    spec("sunion", -2, READONLY | UNORDERED, KeySpec::ALL, Group::Set, set::sunion),
    spec("sunionstore", -3, WRITE | DENYOOM, KeySpec::ALL, Group::Set, set::sunionstore),
    spec("sunsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::sunsubscribe),
    spec("time", 1, LOADING | STALE | FAST, KeySpec::None, Group::Server, server::time),
    spec("touch", -2, READONLY | FAST, KeySpec::ALL, Group::Generic, keys::touch),
    spec("ttl", 2, READONLY | FAST, KeySpec::ONE, Group::Generic, keys::ttl),
    spec("type", 2, READONLY | FAST, KeySpec::ONE, Group::Generic, keys::type_),
    spec("unlink", -2, WRITE | FAST, KeySpec::ALL, Group::Generic, keys::del),
    spec("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::unsubscribe),
    spec(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        KeySpec::None,
        Group::Transactions,
        multi::unwatch,
    ),
    spec("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KeySpec::ALL, Group::Transactions, multi::watch),
    spec("xack", -4, WRITE | FAST, KeySpec::ONE, Group::Stream, stream::xack),
    spec("xadd", -5, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::Stream, stream::xadd),
    spec("xautoclaim", -6, WRITE | FAST, KeySpec::ONE, Group::Stream, stream::xautoclaim),
    spec("xclaim", -6, WRITE | FAST, KeySpec::ONE, Group::Stream, stream::xclaim),
    spec("xdel", -3, WRITE | FAST, KeySpec::ONE, Group::Stream, stream::xdel),
    container("xgroup", -2, NONE, Group::Stream, XGROUP_SUBS),
    container("xinfo", -2, NONE, Group::Stream, XINFO_SUBS),
    spec("xlen", 2, READONLY | FAST, KeySpec::ONE, Group::Stream, stream::xlen),
    spec("xpending", -3, READONLY, KeySpec::ONE, Group::Stream, stream::xpending),
    spec("xrange", -4, READONLY, KeySpec::ONE, Group::Stream, stream::xrange),
    // Keys follow STREAMS, which a Range cannot express (like BLMPOP's).
    spec("xread", -4, READONLY | BLOCKING, KeySpec::Streams { from: 1 }, Group::Stream, stream::xread),
    spec("xreadgroup", -7, WRITE | BLOCKING, KeySpec::Streams { from: 4 }, Group::Stream, stream::xreadgroup),
    spec("xrevrange", -4, READONLY, KeySpec::ONE, Group::Stream, stream::xrevrange),
    spec("xsetid", -3, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::Stream, stream::xsetid),
    spec("xtrim", -4, WRITE, KeySpec::ONE, Group::Stream, stream::xtrim),
    spec("zadd", -4, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::SortedSet, zset::zadd),
    spec("zcard", 2, READONLY | FAST, KeySpec::ONE, Group::SortedSet, zset::zcard),
    spec("zcount", 4, READONLY | FAST, KeySpec::ONE, Group::SortedSet, zset::zcount),
    spec("zdiff", -3, READONLY, KeySpec::NumKeys { at: 1, fixed: 0 }, Group::SortedSet, zset::zdiff),
    spec("zdiffstore", -4, WRITE | DENYOOM, KeySpec::NumKeys { at: 2, fixed: 1 }, Group::SortedSet, zset::zdiffstore),
    spec("zincrby", 4, WRITE | DENYOOM | FAST, KeySpec::ONE, Group::SortedSet, zset::zincrby),
    spec("zinter", -3, READONLY, KeySpec::NumKeys { at: 1, fixed: 0 }, Group::SortedSet, zset::zinter),
    spec("zintercard", -3, READONLY, KeySpec::NumKeys { at: 1, fixed: 0 }, Group::SortedSet, zset::zintercard),
    spec("zinterstore", -4, WRITE | DENYOOM, KeySpec::NumKeys { at: 2, fixed: 1 }, Group::SortedSet, zset::zinterstore),
    spec("zlexcount", 4, READONLY | FAST, KeySpec::ONE, Group::SortedSet, zset::zlexcount),
    spec("zmpop", -4, WRITE, KeySpec::NumKeys { at: 1, fixed: 0 }, Group::SortedSet, zset::zmpop),
    spec("zmscore", -3, READONLY | FAST, KeySpec::ONE, Group::SortedSet, zset::zmscore),
    spec("zpopmax", -2, WRITE | FAST, KeySpec::ONE, Group::SortedSet, zset::zpopmax),
    spec("zpopmin", -2, WRITE | FAST, KeySpec::ONE, Group::SortedSet, zset::zpopmin),
    spec("zrandmember", -2, READONLY, KeySpec::ONE, Group::SortedSet, zset::zrandmember),
    spec("zrange", -4, READONLY, KeySpec::ONE, Group::SortedSet, zset::zrange),
    spec("zrangebylex", -4, READONLY, KeySpec::ONE, Group::SortedSet, zset::zrangebylex),
    spec("zrangebyscore", -4, READONLY, KeySpec::ONE, Group::SortedSet, zset::zrangebyscore),
    spec("zrangestore", -5, WRITE | DENYOOM, KeySpec::TWO, Group::SortedSet, zset::zrangestore),
    // Arity -3: Redis 7.2's WITHSCORE (7.0 has 3).
    spec("zrank", -3, READONLY | FAST, KeySpec::ONE, Group::SortedSet, zset::zrank),
    spec("zrem", -3, WRITE | FAST, KeySpec::ONE, Group::SortedSet, zset::zrem),
    spec("zremrangebylex", 4, WRITE, KeySpec::ONE, Group::SortedSet, zset::zremrangebylex),
    spec("zremrangebyrank", 4, WRITE, KeySpec::ONE, Group::SortedSet, zset::zremrangebyrank),
    spec("zremrangebyscore", 4, WRITE, KeySpec::ONE, Group::SortedSet, zset::zremrangebyscore),
    spec("zrevrange", -4, READONLY, KeySpec::ONE, Group::SortedSet, zset::zrevrange),
    spec("zrevrangebylex", -4, READONLY, KeySpec::ONE, Group::SortedSet, zset::zrevrangebylex),
    spec("zrevrangebyscore", -4, READONLY, KeySpec::ONE, Group::SortedSet, zset::zrevrangebyscore),
    spec("zrevrank", -3, READONLY | FAST, KeySpec::ONE, Group::SortedSet, zset::zrevrank),
    spec("zscan", -3, READONLY, KeySpec::ONE, Group::SortedSet, zset::zscan),
    spec("zscore", 3, READONLY | FAST, KeySpec::ONE, Group::SortedSet, zset::zscore),
    spec("zunion", -3, READONLY, KeySpec::NumKeys { at: 1, fixed: 0 }, Group::SortedSet, zset::zunion),
    spec("zunionstore", -4, WRITE | DENYOOM, KeySpec::NumKeys { at: 2, fixed: 1 }, Group::SortedSet, zset::zunionstore),
];

/// CLIENT subcommands, sorted.
pub static CLIENT_SUBS: &[CommandSpec] = &[
    spec("getname", 2, CLIENT_PLAIN, KeySpec::None, Group::Connection, connection::client_getname),
    spec("help", 2, LOADING_STALE, KeySpec::None, Group::Connection, connection::client_help),
    spec("id", 2, CLIENT_PLAIN, KeySpec::None, Group::Connection, connection::client_id),
    spec("info", 2, CLIENT_PLAIN, KeySpec::None, Group::Connection, connection::client_info),
    spec("kill", -3, CLIENT_ADMIN, KeySpec::None, Group::Connection, connection::client_kill),
    spec("list", -2, CLIENT_ADMIN, KeySpec::None, Group::Connection, connection::client_list),
    spec("no-evict", 3, CLIENT_ADMIN, KeySpec::None, Group::Connection, connection::client_noop_flag),
    spec("no-touch", 3, CLIENT_PLAIN, KeySpec::None, Group::Connection, connection::client_noop_flag),
    spec("reply", 3, CLIENT_PLAIN, KeySpec::None, Group::Connection, connection::client_reply),
    spec("setinfo", 4, CLIENT_PLAIN, KeySpec::None, Group::Connection, connection::client_setinfo),
    spec("setname", 3, CLIENT_PLAIN, KeySpec::None, Group::Connection, connection::client_setname),
];

/// Flags of most CLIENT subcommands, as Redis 7.0 reports them.
const CLIENT_PLAIN: u32 = NOSCRIPT | LOADING | STALE;
/// Flags of the CLIENT subcommands that act on other clients.
const CLIENT_ADMIN: u32 = CLIENT_PLAIN | ADMIN;
/// Flags of the administrative CONFIG and SLOWLOG subcommands.
const SERVER_ADMIN: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
/// Flags of the HELP subcommands and of COMMAND's.
const LOADING_STALE: u32 = LOADING | STALE;

/// COMMAND subcommands, sorted.
pub static COMMAND_SUBS: &[CommandSpec] = &[
    spec("count", 2, LOADING_STALE, KeySpec::None, Group::Server, server::command_count),
    spec("docs", -2, LOADING_STALE | UNORDERED, KeySpec::None, Group::Server, server::command_docs),
    spec("getkeys", -4, LOADING_STALE, KeySpec::None, Group::Server, server::command_getkeys),
    spec("getkeysandflags", -4, LOADING_STALE, KeySpec::None, Group::Server, server::command_getkeysandflags),
    spec("help", 2, LOADING_STALE, KeySpec::None, Group::Server, server::command_help),
    spec("info", -2, LOADING_STALE | UNORDERED, KeySpec::None, Group::Server, server::command_info),
    spec("list", -2, LOADING_STALE | UNORDERED, KeySpec::None, Group::Server, server::command_list),
];

/// CONFIG subcommands, sorted.
pub static CONFIG_SUBS: &[CommandSpec] = &[
    spec("get", -3, SERVER_ADMIN, KeySpec::None, Group::Server, server::config_get),
    spec("help", 2, LOADING_STALE, KeySpec::None, Group::Server, server::config_help),
    spec("resetstat", 2, SERVER_ADMIN, KeySpec::None, Group::Server, server::config_resetstat),
    spec("rewrite", 2, SERVER_ADMIN, KeySpec::None, Group::Server, server::config_rewrite),
    spec("set", -4, SERVER_ADMIN, KeySpec::None, Group::Server, server::config_set),
];

/// OBJECT subcommands, sorted.
pub static OBJECT_SUBS: &[CommandSpec] = &[
    spec("encoding", 3, READONLY, KeySpec::Range { first: 2, last: 2, step: 1 }, Group::Generic, keys::object_encoding),
    spec("freq", 3, READONLY, KeySpec::Range { first: 2, last: 2, step: 1 }, Group::Generic, keys::object_freq),
    spec("help", 2, NONE, KeySpec::None, Group::Generic, keys::object_help),
    spec("idletime", 3, READONLY, KeySpec::Range { first: 2, last: 2, step: 1 }, Group::Generic, keys::object_idletime),
    spec("refcount", 3, READONLY, KeySpec::Range { first: 2, last: 2, step: 1 }, Group::Generic, keys::object_refcount),
];

/// SLOWLOG subcommands, sorted.
pub static SLOWLOG_SUBS: &[CommandSpec] = &[
    spec("get", -2, SLOWLOG_ADMIN, KeySpec::None, Group::Server, server::slowlog_get),
    spec("help", 2, LOADING_STALE, KeySpec::None, Group::Server, server::slowlog_help),
    spec("len", 2, SLOWLOG_ADMIN, KeySpec::None, Group::Server, server::slowlog_len),
    spec("reset", 2, SLOWLOG_ADMIN, KeySpec::None, Group::Server, server::slowlog_reset),
];

/// Flags of the SLOWLOG subcommands other than HELP.
const SLOWLOG_ADMIN: u32 = ADMIN | LOADING | STALE;

/// PUBSUB subcommands.
static PUBSUB_SUBS: &[CommandSpec] = &[
    spec("channels", -2, PUBSUB | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::pubsub_channels),
    spec("help", 2, LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::pubsub_help),
    spec("numpat", 2, PUBSUB | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::pubsub_numpat),
    spec("numsub", -2, PUBSUB | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::pubsub_numsub),
    spec("shardchannels", -2, PUBSUB | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::pubsub_shardchannels),
    spec("shardnumsub", -2, PUBSUB | LOADING | STALE, KeySpec::None, Group::PubSub, pubsub::pubsub_shardnumsub),
];

/// Key position of the XGROUP and XINFO subcommands.
const SUB_KEY: KeySpec = KeySpec::Range { first: 2, last: 2, step: 1 };

/// XGROUP subcommands, sorted.
pub static XGROUP_SUBS: &[CommandSpec] = &[
    spec("create", -5, WRITE | DENYOOM, SUB_KEY, Group::Stream, stream::xgroup_create),
    spec("createconsumer", 5, WRITE | DENYOOM, SUB_KEY, Group::Stream, stream::xgroup_createconsumer),
    spec("delconsumer", 5, WRITE, SUB_KEY, Group::Stream, stream::xgroup_delconsumer),
    spec("destroy", 4, WRITE, SUB_KEY, Group::Stream, stream::xgroup_destroy),
    spec("help", 2, LOADING_STALE, KeySpec::None, Group::Stream, stream::xgroup_help),
    spec("setid", -5, WRITE, SUB_KEY, Group::Stream, stream::xgroup_setid),
];

/// XINFO subcommands, sorted.
pub static XINFO_SUBS: &[CommandSpec] = &[
    spec("consumers", 4, READONLY, SUB_KEY, Group::Stream, stream::xinfo_consumers),
    spec("groups", 3, READONLY, SUB_KEY, Group::Stream, stream::xinfo_groups),
    spec("help", 2, LOADING_STALE, KeySpec::None, Group::Stream, stream::xinfo_help),
    spec("stream", -3, READONLY, SUB_KEY, Group::Stream, stream::xinfo_stream),
];

/// FUNCTION subcommands.
static FUNCTION_SUBS: &[CommandSpec] = &[
    spec("delete", 3, WRITE | NOSCRIPT, KeySpec::None, Group::Scripting, function::delete),
    spec("dump", 2, NOSCRIPT, KeySpec::None, Group::Scripting, function::dump),
    spec("flush", -2, WRITE | NOSCRIPT, KeySpec::None, Group::Scripting, function::flush),
    spec("help", 2, LOADING | STALE, KeySpec::None, Group::Scripting, function::help),
    spec("kill", 2, NOSCRIPT | ALLOW_BUSY, KeySpec::None, Group::Scripting, script::script_kill),
    spec("list", -2, NOSCRIPT, KeySpec::None, Group::Scripting, function::list),
    spec("load", -3, WRITE | DENYOOM | NOSCRIPT, KeySpec::None, Group::Scripting, function::load),
    spec("restore", -3, WRITE | DENYOOM | NOSCRIPT, KeySpec::None, Group::Scripting, function::restore),
    spec("stats", 2, NOSCRIPT | ALLOW_BUSY, KeySpec::None, Group::Scripting, function::stats),
];

/// SCRIPT subcommands.
static SCRIPT_SUBS: &[CommandSpec] = &[
    spec("exists", -3, NOSCRIPT, KeySpec::None, Group::Scripting, script::script_exists),
    spec("flush", -2, NOSCRIPT, KeySpec::None, Group::Scripting, script::script_flush),
    spec("help", 2, LOADING | STALE, KeySpec::None, Group::Scripting, script::script_help),
    spec("kill", 2, NOSCRIPT | ALLOW_BUSY, KeySpec::None, Group::Scripting, script::script_kill),
    spec("load", 3, NOSCRIPT | STALE, KeySpec::None, Group::Scripting, script::script_load),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn check(table: &[CommandSpec]) {
        for w in table.windows(2) {
            assert!(w[0].name < w[1].name, "not sorted/unique: {} {}", w[0].name, w[1].name);
        }
        for c in table {
            assert_eq!(c.name, c.name.to_lowercase(), "{}", c.name);
            assert_ne!(c.arity, 0, "{}", c.name);
            if let KeySpec::Range { first, last, .. } = c.keys {
                let min_args = c.arity.unsigned_abs() as i32;
                assert!(first < min_args, "{}: first key beyond arity", c.name);
                assert!(last < 0 || last < min_args, "{}: last key beyond arity", c.name);
                let rw = c.flags.contains(super::super::Flags::WRITE) as u8
                    + c.flags.contains(super::super::Flags::READONLY) as u8;
                // WATCH names keys without reading or writing them.
                let want = if c.group == Group::Transactions { rw <= 1 } else { rw == 1 };
                assert!(want, "{}: keyed command needs exactly one of WRITE/READONLY", c.name);
            }
            check(c.subcommands);
        }
    }

    #[test]
    fn table_is_sorted_unique_lowercase_and_consistent() {
        check(COMMANDS);
        assert!(super::super::lookup(COMMANDS, b"GeT").is_some());
        assert!(super::super::lookup(COMMANDS, b"nope").is_none());
    }
}
