//! Connection commands through the real binary: PING/ECHO/SELECT, AUTH
//! gating, HELLO (RESP3 switch, AUTH and SETNAME inside it), QUIT, RESET and
//! the CLIENT family (SETNAME, LIST, INFO, KILL of another connection).

mod common;

use common::{RawClient, Reply, TestServer};
use std::time::Duration;

const PASSWORD: &str = "[server]\nrequirepass = \"sekret\"\n";

fn err(r: &Reply) -> &str {
    r.err().unwrap_or_else(|| panic!("expected an error, got {r:?}"))
}

/// Parses `k=v k=v ...` (one CLIENT LIST line).
fn fields(line: &str) -> Vec<(String, String)> {
    line.split(' ').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn field(line: &str, key: &str) -> String {
    fields(line).into_iter().find(|(k, _)| k == key).map(|(_, v)| v).unwrap_or_else(|| panic!("no {key} in {line}"))
}

fn client_id(c: &mut RawClient) -> i64 {
    match c.cmd(&["CLIENT", "ID"]) {
        Reply::Int(n) => n,
        other => panic!("CLIENT ID: {other:?}"),
    }
}

#[test]
fn ping_echo_and_select_isolate_databases() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(c.cmd(&["PING", "hi"]), Reply::bulk("hi"));
    assert_eq!(c.cmd(&["ECHO", "x y"]), Reply::bulk("x y"));
    assert_eq!(err(&c.cmd(&["PING", "a", "b"])), "ERR wrong number of arguments for 'ping' command");
    assert_eq!(err(&c.cmd(&["SELECT", "16"])), "ERR DB index is out of range");
    assert_eq!(err(&c.cmd(&["SELECT", "x"])), "ERR value is not an integer or out of range");

    assert_eq!(c.cmd(&["SET", "k", "in0"]), Reply::ok());
    assert_eq!(c.cmd(&["SELECT", "1"]), Reply::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Bulk(None));
    assert_eq!(c.cmd(&["SET", "k", "in1"]), Reply::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(1));
    // Another connection starts in db 0 and sees db 0's value.
    let mut other = s.raw();
    assert_eq!(other.cmd(&["GET", "k"]), Reply::bulk("in0"));
    assert_eq!(c.cmd(&["GET", "k"]), Reply::bulk("in1"));
    assert_eq!(field(&c.cmd(&["CLIENT", "INFO"]).str(), "db"), "1");
}

#[test]
fn auth_gates_commands_until_the_password_is_given() {
    let s = TestServer::start(PASSWORD);
    let mut c = s.raw();
    assert_eq!(err(&c.cmd(&["PING"])), "NOAUTH Authentication required.");
    assert_eq!(err(&c.cmd(&["GET", "k"])), "NOAUTH Authentication required.");
    assert_eq!(err(&c.cmd(&["CLIENT", "ID"])), "NOAUTH Authentication required.");
    assert_eq!(err(&c.cmd(&["AUTH", "wrong"])), "WRONGPASS invalid username-password pair or user is disabled.");
    assert_eq!(
        err(&c.cmd(&["AUTH", "nobody", "sekret"])),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(err(&c.cmd(&["AUTH", "a", "b", "c"])), "ERR syntax error");
    assert_eq!(c.cmd(&["AUTH", "sekret"]), Reply::ok());
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
    // A failed attempt does not log an authenticated client out.
    assert!(c.cmd(&["AUTH", "wrong"]).err().is_some());
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));

    let mut d = s.raw();
    assert_eq!(d.cmd(&["AUTH", "default", "sekret"]), Reply::ok());
    assert_eq!(d.cmd(&["SET", "a", "1"]), Reply::ok());

    // RESET logs out when a password is required.
    assert_eq!(d.cmd(&["RESET"]), Reply::Simple("RESET".into()));
    assert_eq!(err(&d.cmd(&["GET", "a"])), "NOAUTH Authentication required.");
}

#[test]
fn redis_crate_authenticates_from_the_url() {
    let s = TestServer::start(PASSWORD);
    let url = format!("redis://:sekret@127.0.0.1:{}/", s.port);
    let mut con = redis::Client::open(url).expect("url").get_connection().expect("connect with password");
    let pong: String = redis::cmd("PING").query(&mut con).expect("ping");
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).expect("set");

    let bad = format!("redis://:nope@127.0.0.1:{}/", s.port);
    assert!(redis::Client::open(bad).expect("url").get_connection().is_err());
    assert!(redis::cmd("PING").query::<String>(&mut s.client()).is_err(), "no password: NOAUTH");
}

#[test]
fn auth_without_a_password_configured() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(
        err(&c.cmd(&["AUTH", "x"])),
        "ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?"
    );
    // The default user is `nopass`: any password works in the two-argument form.
    assert_eq!(c.cmd(&["AUTH", "default", "anything"]), Reply::ok());
}

fn hello_map(r: &Reply) -> Vec<(String, Reply)> {
    let pairs: Vec<(Reply, Reply)> = match r {
        Reply::Map(p) => p.clone(),
        Reply::Array(Some(v)) => v.chunks(2).map(|kv| (kv[0].clone(), kv[1].clone())).collect(),
        other => panic!("HELLO reply: {other:?}"),
    };
    pairs.into_iter().map(|(k, v)| (k.str(), v)).collect()
}

#[test]
fn hello_switches_protocol_and_replies_a_map() {
    let s = TestServer::new();
    let mut c = s.raw();
    let id = client_id(&mut c);
    let r = c.cmd(&["HELLO", "3"]);
    assert!(matches!(r, Reply::Map(_)), "RESP3 map: {r:?}");
    let m = hello_map(&r);
    let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["server", "version", "proto", "id", "mode", "role", "modules"]);
    assert_eq!(m[0].1, Reply::bulk("redis"));
    assert_eq!(m[1].1, Reply::bulk("7.0.15"));
    assert_eq!(m[2].1, Reply::Int(3));
    assert_eq!(m[3].1, Reply::Int(id));
    assert_eq!(m[4].1, Reply::bulk("standalone"));
    assert_eq!(m[5].1, Reply::bulk("master"));
    assert_eq!(m[6].1, Reply::Array(Some(vec![])));
    // RESP3 null and verbatim INFO.
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Reply::Null);
    assert!(matches!(c.cmd(&["INFO", "server"]), Reply::Verbatim(_)));

    let r = c.cmd(&["HELLO", "2", "SETNAME", "conn1"]);
    assert!(matches!(r, Reply::Array(Some(ref v)) if v.len() == 14), "RESP2 flat map: {r:?}");
    assert_eq!(hello_map(&r)[2].1, Reply::Int(2));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Reply::bulk("conn1"));
    // HELLO without a version keeps the protocol.
    assert_eq!(hello_map(&c.cmd(&["HELLO"]))[2].1, Reply::Int(2));

    assert_eq!(err(&c.cmd(&["HELLO", "4"])), "NOPROTO unsupported protocol version");
    assert_eq!(err(&c.cmd(&["HELLO", "x"])), "ERR Protocol version is not an integer or out of range");
    assert_eq!(err(&c.cmd(&["HELLO", "3", "foo"])), "ERR Syntax error in HELLO option 'foo'");
    assert_eq!(
        err(&c.cmd(&["HELLO", "3", "SETNAME", "a b"])),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    // Failed HELLOs left RESP2 in place.
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Reply::bulk("conn1"));
    let mut raw = s.raw();
    raw.send_cmd(&["CLIENT", "GETNAME"]);
    assert_eq!(raw.read_raw(), b"$-1\r\n");
}

#[test]
fn hello_gating_when_unauthenticated() {
    let s = TestServer::start(PASSWORD);
    let mut c = s.raw();
    let noauth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
                  HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
                  the RESP protocol version at the same time";
    assert_eq!(err(&c.cmd(&["HELLO", "3"])), noauth);
    assert_eq!(err(&c.cmd(&["HELLO"])), noauth);
    assert_eq!(
        err(&c.cmd(&["HELLO", "3", "AUTH", "default", "bad"])),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    // Still RESP2 and still locked out.
    c.send_cmd(&["PING"]);
    assert_eq!(c.read_raw(), b"-NOAUTH Authentication required.\r\n");

    let r = c.cmd(&["HELLO", "3", "AUTH", "default", "sekret", "SETNAME", "app"]);
    assert_eq!(hello_map(&r)[2].1, Reply::Int(3));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Reply::bulk("app"));
    assert_eq!(c.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn quit_replies_ok_and_closes() {
    let s = TestServer::new();
    let mut c = s.raw();
    c.send_cmd(&["QUIT"]);
    assert_eq!(c.read_to_close(), b"+OK\r\n");
}

#[test]
fn reset_restores_a_fresh_connection_state() {
    let s = TestServer::new();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SELECT", "2"]), Reply::ok());
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "x"]), Reply::ok());
    assert!(matches!(c.cmd(&["HELLO", "3"]), Reply::Map(_)));
    assert_eq!(c.cmd(&["RESET"]), Reply::Simple("RESET".into()));
    c.send_cmd(&["CLIENT", "GETNAME"]);
    assert_eq!(c.read_raw(), b"$-1\r\n", "name cleared, back to RESP2");
    let info = c.cmd(&["CLIENT", "INFO"]).str();
    assert_eq!(field(&info, "db"), "0");
    assert_eq!(field(&info, "resp"), "2");
}

#[test]
fn client_setname_getname_id_info_list() {
    let s = TestServer::new();
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(a.cmd(&["CLIENT", "GETNAME"]), Reply::Bulk(None));
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "alpha"]), Reply::ok());
    assert_eq!(a.cmd(&["CLIENT", "GETNAME"]), Reply::bulk("alpha"));
    assert_eq!(
        err(&a.cmd(&["CLIENT", "SETNAME", "has space"])),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(b.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]), Reply::ok());
    assert_eq!(b.cmd(&["CLIENT", "SETINFO", "lib-ver", "1.2"]), Reply::ok());
    assert!(b.cmd(&["CLIENT", "SETINFO", "bogus", "x"]).err().is_some());
    assert_eq!(b.cmd(&["CLIENT", "REPLY", "ON"]), Reply::ok());
    assert_eq!(b.cmd(&["CLIENT", "NO-EVICT", "ON"]), Reply::ok());
    assert_eq!(b.cmd(&["CLIENT", "NO-TOUCH", "OFF"]), Reply::ok());
    assert_eq!(err(&b.cmd(&["CLIENT", "REPLY", "maybe"])), "ERR syntax error");

    let ida = client_id(&mut a);
    let idb = client_id(&mut b);
    assert!(idb > ida, "ids increase");

    let info = a.cmd(&["CLIENT", "INFO"]).str();
    assert!(info.ends_with('\n'));
    let line = info.trim_end();
    let keys: Vec<String> = fields(line).into_iter().map(|(k, _)| k).collect();
    let expected = [
        "id",
        "addr",
        "laddr",
        "fd",
        "name",
        "age",
        "idle",
        "flags",
        "db",
        "sub",
        "psub",
        "ssub",
        "multi",
        "qbuf",
        "qbuf-free",
        "argv-mem",
        "multi-mem",
        "rbs",
        "rbp",
        "obl",
        "oll",
        "omem",
        "tot-mem",
        "events",
        "cmd",
        "user",
        "redir",
        "resp",
    ];
    assert_eq!(&keys[..expected.len()], expected);
    assert_eq!(field(line, "id"), ida.to_string());
    assert_eq!(field(line, "name"), "alpha");
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "cmd"), "client|info");
    assert_eq!(field(line, "user"), "default");

    let list = a.cmd(&["CLIENT", "LIST"]).str();
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines.len() >= 2, "{list}");
    let bl = lines.iter().find(|l| field(l, "id") == idb.to_string()).expect("b listed");
    assert_eq!(field(bl, "lib-name"), "mylib");
    assert_eq!(field(bl, "lib-ver"), "1.2");
    assert!(lines.iter().any(|l| field(l, "name") == "alpha"));

    let only_b = a.cmd(&["CLIENT", "LIST", "ID", &idb.to_string(), "999999"]).str();
    assert_eq!(only_b.lines().count(), 1);
    assert_eq!(field(only_b.trim_end(), "id"), idb.to_string());
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "normal"]).str().lines().count(), lines.len());
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]), Reply::bulk(""));
    assert_eq!(err(&a.cmd(&["CLIENT", "LIST", "TYPE", "x"])), "ERR Unknown client type 'x'");
    assert_eq!(err(&a.cmd(&["CLIENT", "LIST", "ID", "x"])), "ERR Invalid client ID");
    assert_eq!(err(&a.cmd(&["CLIENT", "FOO"])), "ERR unknown subcommand 'FOO'. Try CLIENT HELP.");
    assert!(a.cmd(&["CLIENT", "HELP"]).items().len() > 3);
}

#[test]
fn client_kill_closes_the_other_connection() {
    let s = TestServer::new();
    let mut a = s.raw();
    let mut b = s.raw();
    let mut c = s.raw();
    let idb = client_id(&mut b);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &idb.to_string()]), Reply::Int(1));
    assert!(b.is_closed(Duration::from_secs(10)), "killed client is disconnected");
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &idb.to_string()]), Reply::Int(0));

    // Old form by address.
    let addr = field(c.cmd(&["CLIENT", "INFO"]).str().trim_end(), "addr");
    assert_eq!(a.cmd(&["CLIENT", "KILL", &addr]), Reply::ok());
    assert!(c.is_closed(Duration::from_secs(10)));
    assert_eq!(err(&a.cmd(&["CLIENT", "KILL", &addr])), "ERR No such client");

    // SKIPME: by default the caller survives a filter that matches it.
    let ida = client_id(&mut a);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &ida.to_string()]), Reply::Int(0));
    assert_eq!(a.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(err(&a.cmd(&["CLIENT", "KILL", "ID", "0"])), "ERR client-id should be greater than 0");
    assert_eq!(err(&a.cmd(&["CLIENT", "KILL", "USER", "bob"])), "ERR No such user 'bob'");
    assert_eq!(err(&a.cmd(&["CLIENT", "KILL", "ID", "1", "SKIPME", "x"])), "ERR syntax error");
    // ... and with SKIPME no it gets its reply, then is closed.
    a.send_cmd(&["CLIENT", "KILL", "ID", &ida.to_string(), "SKIPME", "no"]);
    assert_eq!(a.read_to_close(), b":1\r\n");
}

#[test]
fn client_kill_by_user_and_laddr() {
    let s = TestServer::new();
    let mut a = s.raw();
    let mut b = s.raw();
    let laddr = field(b.cmd(&["CLIENT", "INFO"]).str().trim_end(), "laddr");
    assert_eq!(a.cmd(&["CLIENT", "KILL", "LADDR", "1.2.3.4:5"]), Reply::Int(0));
    // Every client connects to the same local address: all but the caller go.
    let killed = a.cmd(&["CLIENT", "KILL", "LADDR", &laddr, "USER", "default"]);
    assert!(matches!(killed, Reply::Int(n) if n >= 1), "{killed:?}");
    assert!(b.is_closed(Duration::from_secs(10)));
    assert_eq!(a.cmd(&["PING"]), Reply::Simple("PONG".into()));
}
