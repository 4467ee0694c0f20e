//! Connection commands: PING, ECHO, SELECT, AUTH, HELLO, QUIT, RESET and the
//! CLIENT family.
//!
//! Per-connection state (db, protocol, auth, name) lives in `state::Client`,
//! reached through `ctx.me()`; the protocol of replies is also mirrored in
//! `ctx.out.resp3`, which HELLO and RESET keep in step with `Client::resp`.
//! Killing another client only flags it (`close_after_reply`): the server
//! closes it once its pending output is written, so no handler touches sockets.

use super::server::reply_help;
use super::state::{Client, ReplyMode};
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::storage::now_ms;
use crate::util::parse_i64;

/// Redis's version as reported by HELLO and INFO: clients that check the
/// server version see the Redis release whose behaviour we reproduce.
pub const REDIS_VERSION: &str = "7.0.15";

/// The only ACL user there is.
const DEFAULT_USER: &[u8] = b"default";

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// PING [message]
///
/// O(1). `+PONG`, or the message as a bulk string.
pub fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() <= 2 && ctx.me().resp == 2 && ctx.me().subs.any() {
        // Subscriber mode (RESP2): PING answers in the shape of a message.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.opt(1).unwrap_or(b""));
        return Ok(());
    }
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(args.get(1)),
        _ => return Err(CmdError::WrongArity("ping".into())),
    }
    Ok(())
}

/// ECHO message
///
/// O(1).
pub fn echo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.out.bulk(args.get(1));
    Ok(())
}

/// SELECT index
///
/// O(1).
pub fn select(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis parses an `int`, with its own message for a valid but too large integer.
    let id = args.i64(1)?;
    if i32::try_from(id).is_err() {
        return Err(CmdError::Err("value is out of range, value must between -2147483648 and 2147483647"));
    }
    if id < 0 || id as usize >= ctx.state.config.server.databases {
        return Err(CmdError::Err("DB index is out of range"));
    }
    ctx.me().db = id as u8;
    ctx.out.ok();
    Ok(())
}

/// Compares secrets in time independent of where they first differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Authenticates `me` as `user` with `pass`, as Redis's
/// `ACLAuthenticateUser` does with only the `default` user: without
/// `requirepass` that user is `nopass` and any password works.
fn authenticate(me: &mut Client, requirepass: &str, user: &[u8], pass: &[u8]) -> CmdResult {
    let required = requirepass.as_bytes();
    let ok = user == DEFAULT_USER && (required.is_empty() || same_secret(required, pass));
    if !ok {
        // A failed attempt leaves an earlier authentication in place, as in Redis.
        return Err(CmdError::Raw(WRONGPASS.into()));
    }
    me.authed = true;
    Ok(())
}

/// AUTH [username] password
///
/// O(N) in the password length.
pub fn auth(ctx: &mut Ctx, args: &Args) -> CmdResult {
    auth_client(&mut ctx.state.clients[ctx.client], &ctx.state.config.server.requirepass, ctx.out, args)
}

/// AUTH for the client `me`, given the server's `requirepass` (also run for
/// a client that connects while a script is busy, see `script::busy`).
pub fn auth_client(me: &mut Client, requirepass: &str, out: &mut ReplyBuf, args: &Args) -> CmdResult {
    match args.len() {
        2 => {
            if requirepass.is_empty() {
                return Err(CmdError::Err(
                    "AUTH <password> called without any password configured for the default user. \
                     Are you sure your configuration is correct?",
                ));
            }
            authenticate(me, requirepass, DEFAULT_USER, args.get(1))?;
        }
        3 => authenticate(me, requirepass, args.get(1), args.get(2))?,
        _ => return Err(CmdError::Syntax),
    }
    out.ok();
    Ok(())
}

/// Redis's rule for client names (and SETINFO values): printable ASCII
/// without spaces.
fn printable_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// Sets (or clears, when empty) `me`'s name.
fn name_client(me: &mut Client, name: &[u8]) -> CmdResult {
    if !printable_name(name) {
        return Err(CmdError::Err("Client names cannot contain spaces, newlines or special characters."));
    }
    me.name = name.to_vec();
    Ok(())
}

/// Switches `me` (and its reply buffer) to RESP `proto`.
fn set_protocol(me: &mut Client, out: &mut ReplyBuf, proto: u8) {
    me.resp = proto;
    out.resp3 = proto == 3;
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
///
/// O(1). Options are applied in order, as Redis 7.0 does: an AUTH or SETNAME
/// that precedes a failing option has already taken effect. A client that is
/// still not authenticated afterwards gets NOAUTH and keeps its protocol.
pub fn hello(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hello_client(&mut ctx.state.clients[ctx.client], &ctx.state.config.server.requirepass, ctx.out, args)
}

/// HELLO for the client `me`, given the server's `requirepass` (also run
/// for a client that connects while a script is busy, see `script::busy`).
pub fn hello_client(me: &mut Client, requirepass: &str, out: &mut ReplyBuf, args: &Args) -> CmdResult {
    let mut proto = None;
    if args.len() >= 2 {
        let v = parse_i64(args.get(1)).ok_or(CmdError::Err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::Raw("NOPROTO unsupported protocol version".into()));
        }
        proto = Some(v as u8);
    }
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if args.is(i, "AUTH") && more >= 2 {
            authenticate(me, requirepass, args.get(i + 1), args.get(i + 2))?;
            i += 3;
        } else if args.is(i, "SETNAME") && more >= 1 {
            name_client(me, args.get(i + 1))?;
            i += 2;
        } else {
            let opt = String::from_utf8_lossy(args.get(i));
            return Err(CmdError::Raw(format!("ERR Syntax error in HELLO option '{opt}'")));
        }
    }
    if !me.authed {
        return Err(CmdError::Raw(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
             the RESP protocol version at the same time"
                .into(),
        ));
    }
    if let Some(p) = proto {
        set_protocol(me, out, p);
    }
    let (id, resp) = (me.id, me.resp);
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(resp as i64);
    out.bulk(b"id");
    out.int(id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

/// QUIT
///
/// O(1). Replies `+OK`, then the server closes the connection.
pub fn quit(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.me().close_after_reply = true;
    ctx.out.ok();
    Ok(())
}

/// RESET
///
/// O(1). Back to a fresh connection's state: db 0, RESP2, no name, and not
/// authenticated if a password is required.
pub fn reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let open = ctx.state.config.server.requirepass.is_empty();
    super::multi::discard_transaction(ctx.state, ctx.client);
    super::pubsub::unsubscribe_all(ctx.state, ctx.client);
    set_protocol(&mut ctx.state.clients[ctx.client], ctx.out, 2);
    let me = ctx.me();
    me.db = 0;
    me.name.clear();
    me.authed = open;
    me.reply = ReplyMode::On;
    ctx.out.simple("RESET");
    Ok(())
}

/// CLIENT ID
///
/// O(1).
pub fn client_id(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let id = ctx.me().id;
    ctx.out.int(id as i64);
    Ok(())
}

/// CLIENT GETNAME
///
/// O(1).
pub fn client_getname(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let name = ctx.me().name.clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(&name);
    }
    Ok(())
}

/// CLIENT SETNAME connection-name
///
/// O(1). An empty name removes the name.
pub fn client_setname(ctx: &mut Ctx, args: &Args) -> CmdResult {
    name_client(ctx.me(), args.get(2))?;
    ctx.out.ok();
    Ok(())
}

/// CLIENT SETINFO <LIB-NAME libname | LIB-VER libver>
///
/// O(1). (Redis 7.2; shown in CLIENT LIST as `lib-name=` / `lib-ver=`.)
pub fn client_setinfo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let attr = args.get(2);
    let value = args.get(3);
    let lib_name = if args.is(2, "LIB-NAME") {
        true
    } else if args.is(2, "LIB-VER") {
        false
    } else {
        return Err(CmdError::Raw(format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(attr))));
    };
    if !printable_name(value) {
        return Err(CmdError::Raw(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        )));
    }
    let me = ctx.me();
    let slot = if lib_name { &mut me.lib_name } else { &mut me.lib_ver };
    *slot = value.to_vec();
    ctx.out.ok();
    Ok(())
}

/// CLIENT REPLY ON|OFF|SKIP
///
/// O(1). ON replies `+OK`; OFF drops every reply until ON; SKIP drops the
/// reply of the next command (see `dispatch`). SKIP while OFF stays OFF.
pub fn client_reply(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let me = ctx.me();
    if args.is(2, "ON") {
        me.reply = ReplyMode::On;
        ctx.out.ok();
    } else if args.is(2, "OFF") {
        me.reply = ReplyMode::Off;
    } else if args.is(2, "SKIP") {
        if me.reply != ReplyMode::Off {
            me.reply = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// CLIENT NO-EVICT ON|OFF, CLIENT NO-TOUCH ON|OFF
///
/// O(1). Accepted and ignored: there is no client eviction, and key access
/// times are not tracked.
pub fn client_noop_flag(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !(args.is(2, "ON") || args.is(2, "OFF")) {
        return Err(CmdError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

/// Client types of `CLIENT LIST TYPE` / `CLIENT KILL TYPE`. Every client
/// here is a normal one (no replication; pub/sub clients are not told apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Other,
}

fn client_type(name: &[u8]) -> Result<ClientType, CmdError> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Ok(ClientType::Normal),
        b"slave" | b"replica" | b"pubsub" | b"master" => Ok(ClientType::Other),
        _ => Err(CmdError::Raw(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(name)))),
    }
}

/// CLIENT LIST `flags=`: P subscriber, x in MULTI, b blocked, d watched key
/// touched, N none.
fn client_flags(c: &Client) -> String {
    let mut f = String::new();
    // Redis's order of the letters.
    for (on, ch) in [(c.subs.any(), 'P'), (c.multi.is_some(), 'x'), (c.blocked.is_some(), 'b'), (c.dirty_cas, 'd')] {
        if on {
            f.push(ch);
        }
    }
    if f.is_empty() {
        f.push('N');
    }
    f
}

/// One CLIENT LIST line (without the newline), in Redis 7.0's field order.
/// `cmd` is the command to show: the caller's own line shows the running one.
fn client_line(c: &Client, cmd: &str, now: u64) -> String {
    format!(
        "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
         qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r \
         cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        String::from_utf8_lossy(&c.name),
        now.saturating_sub(c.created_ms) / 1000,
        now.saturating_sub(c.last_ms) / 1000,
        client_flags(c),
        c.db,
        c.subs.channels.len(),
        c.subs.patterns.len(),
        c.subs.shards.len(),
        c.multi.as_ref().map_or(-1, |q| q.len() as i64),
        c.qbuf,
        c.obuf,
        cmd,
        c.resp,
        String::from_utf8_lossy(&c.lib_name),
        String::from_utf8_lossy(&c.lib_ver),
    )
}

/// Appends the line of client `key` plus a newline. The dispatcher records
/// a command's name after it ran, so the caller's own line shows `running`
/// (the CLIENT subcommand in progress), as Redis does.
fn push_client_line(ctx: &Ctx, key: usize, running: &str, text: &mut String) {
    let c = &ctx.state.clients[key];
    let cmd = if key == ctx.client { running } else { c.last_cmd };
    text.push_str(&client_line(c, cmd, now_ms()));
    text.push('\n');
}

/// `client|list` style name of the CLIENT subcommand being run.
fn running_name(args: &Args) -> String {
    format!("client|{}", String::from_utf8_lossy(args.get(1)).to_ascii_lowercase())
}

/// CLIENT INFO
///
/// O(1).
pub fn client_info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut text = String::new();
    push_client_line(ctx, ctx.client, &running_name(args), &mut text);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]
///
/// O(N) in the number of clients.
pub fn client_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut keys: Vec<usize> = Vec::new();
    if args.len() == 4 && args.is(2, "TYPE") {
        if client_type(args.get(3))? == ClientType::Normal {
            keys = ctx.state.clients.iter().map(|(k, _)| k).collect();
        }
    } else if args.len() > 3 && args.is(2, "ID") {
        for a in args.iter_from(3) {
            let id = parse_i64(a).ok_or(CmdError::Err("Invalid client ID"))?;
            if let Some((k, _)) = ctx.state.clients.iter().find(|(_, c)| c.id as i64 == id) {
                keys.push(k);
            }
        }
    } else if args.len() != 2 {
        return Err(CmdError::Syntax);
    } else {
        keys = ctx.state.clients.iter().map(|(k, _)| k).collect();
    }
    let running = running_name(args);
    let mut text = String::new();
    for k in keys {
        push_client_line(ctx, k, &running, &mut text);
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// Which clients CLIENT KILL targets; unset fields match everything.
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    id: Option<u64>,
    /// `Some(false)` for a type no client has.
    normal: Option<bool>,
    skip_me: bool,
}

impl KillFilter<'_> {
    fn matches(&self, key: usize, me: usize, c: &Client) -> bool {
        self.addr.map_or(true, |a| a == c.addr.as_bytes())
            && self.laddr.map_or(true, |a| a == c.laddr.as_bytes())
            && self.id.map_or(true, |id| id == c.id)
            && self.normal.unwrap_or(true)
            && !(self.skip_me && key == me)
    }
}

/// Parses the new-style `CLIENT KILL <option> <value> ...` filter.
fn kill_filter<'a>(args: &Args<'a>) -> Result<KillFilter<'a>, CmdError> {
    let mut f = KillFilter { skip_me: true, ..KillFilter::default() };
    let mut i = 2;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        let value = args.get(i + 1);
        if args.is(i, "ID") {
            let id = parse_i64(value).filter(|&n| n >= 1).ok_or(CmdError::Err("client-id should be greater than 0"))?;
            f.id = Some(id as u64);
        } else if args.is(i, "TYPE") {
            f.normal = Some(client_type(value)? == ClientType::Normal);
        } else if args.is(i, "ADDR") {
            f.addr = Some(value);
        } else if args.is(i, "LADDR") {
            f.laddr = Some(value);
        } else if args.is(i, "USER") {
            if value != DEFAULT_USER {
                return Err(CmdError::Raw(format!("ERR No such user '{}'", String::from_utf8_lossy(value))));
            }
        } else if args.is(i, "SKIPME") {
            f.skip_me = if value.eq_ignore_ascii_case(b"yes") {
                true
            } else if value.eq_ignore_ascii_case(b"no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(f)
}

/// CLIENT KILL ip:port
/// CLIENT KILL [ID id] [TYPE type] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no] ...
///
/// O(N) in the number of clients. The old form replies `+OK` (or "No such
/// client") and may kill the caller; the new form replies the number killed.
pub fn client_kill(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let old_form = args.len() == 3;
    let filter =
        if old_form { KillFilter { addr: Some(args.get(2)), ..KillFilter::default() } } else { kill_filter(args)? };
    let me = ctx.client;
    let mut killed = 0i64;
    for (key, c) in ctx.state.clients.iter_mut() {
        if filter.matches(key, me, c) {
            // The caller gets its reply first; others are closed by the
            // server once their pending output is written.
            c.close_after_reply = true;
            killed += 1;
        }
    }
    if !old_form {
        ctx.out.int(killed);
    } else if killed == 0 {
        return Err(CmdError::Err("No such client"));
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// CLIENT HELP
///
/// O(1).
pub fn client_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "CLIENT",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}
