//! Pub/Sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE
//! SUNSUBSCRIBE PUBLISH SPUBLISH PUBSUB, as Redis 7. Messages are not stored.
//!
//! Subscriptions live in `ServerState::pubsub` (who listens to what) and in
//! each `Client` (what it listens to, in subscription order). A message for
//! the calling client goes straight into its reply buffer (a RESP3 client may
//! publish to itself); for any other client it is appended to that client's
//! `pushes`, which the server moves into the connection's output right after
//! the command and checks against the `pubsub` output limits there, so a slow
//! subscriber never slows a publisher down.

use super::state::{Client, ServerState};
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::util::glob_match;
use std::collections::HashMap;

/// Who listens to what, server-wide.
#[derive(Debug, Default)]
pub struct PubSub {
    /// Channel → subscribed clients, in subscription order.
    pub channels: HashMap<Vec<u8>, Vec<usize>>,
    /// Pattern → subscribed clients.
    pub patterns: HashMap<Vec<u8>, Vec<usize>>,
    /// Shard channel → subscribed clients.
    pub shards: HashMap<Vec<u8>, Vec<usize>>,
}

/// The three kinds of subscription, with Redis's reply words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn words(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }

    fn of_client(self, c: &mut Client) -> &mut Vec<Vec<u8>> {
        match self {
            Kind::Channel => &mut c.subs.channels,
            Kind::Pattern => &mut c.subs.patterns,
            Kind::Shard => &mut c.subs.shards,
        }
    }

    fn of_server(self, p: &mut PubSub) -> &mut HashMap<Vec<u8>, Vec<usize>> {
        match self {
            Kind::Channel => &mut p.channels,
            Kind::Pattern => &mut p.patterns,
            Kind::Shard => &mut p.shards,
        }
    }
}

/// A client's subscriptions, in the order they were made.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    /// SUBSCRIBE channels.
    pub channels: Vec<Vec<u8>>,
    /// PSUBSCRIBE patterns.
    pub patterns: Vec<Vec<u8>>,
    /// SSUBSCRIBE shard channels.
    pub shards: Vec<Vec<u8>>,
}

impl Subscriptions {
    /// True if the client listens to anything (RESP2 subscriber mode).
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shards.is_empty())
    }

    /// The count Redis reports after (un)subscribing: shard channels are
    /// counted on their own, channels and patterns together.
    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shards.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }
}

/// Commands a RESP2 client may send while subscribed.
pub fn allowed_when_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "unsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// Redis's error for any other command in RESP2 subscriber mode.
pub fn subscribed_error(name: &str) -> CmdError {
    CmdError::Raw(format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

/// `[subscribe|unsubscribe, name, count]` as a push (RESP3) or array (RESP2).
fn confirm(out: &mut ReplyBuf, word: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_kind(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let me = ctx.client;
    for name in args.iter_from(1) {
        let c = &mut ctx.state.clients[me];
        let list = kind.of_client(c);
        if !list.iter().any(|x| x == name) {
            list.push(name.to_vec());
            kind.of_server(&mut ctx.state.pubsub).entry(name.to_vec()).or_default().push(me);
        }
        let count = ctx.state.clients[me].subs.count(kind);
        confirm(ctx.out, kind.words().0, Some(name), count);
    }
    Ok(())
}

/// Removes `name` from client `me`'s `kind` subscriptions; false if absent.
fn drop_one(state: &mut ServerState, me: usize, kind: Kind, name: &[u8]) -> bool {
    let list = kind.of_client(&mut state.clients[me]);
    let Some(i) = list.iter().position(|x| x == name) else { return false };
    list.remove(i);
    let map = kind.of_server(&mut state.pubsub);
    if let Some(v) = map.get_mut(name) {
        v.retain(|&c| c != me);
        if v.is_empty() {
            map.remove(name);
        }
    }
    true
}

fn unsubscribe_kind(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let me = ctx.client;
    let names: Vec<Vec<u8>> = if args.len() > 1 {
        args.iter_from(1).map(<[u8]>::to_vec).collect()
    } else {
        kind.of_client(&mut ctx.state.clients[me]).clone()
    };
    if names.is_empty() {
        let count = ctx.state.clients[me].subs.count(kind);
        confirm(ctx.out, kind.words().1, None, count);
    }
    for name in names {
        drop_one(ctx.state, me, kind, &name);
        let count = ctx.state.clients[me].subs.count(kind);
        confirm(ctx.out, kind.words().1, Some(&name), count);
    }
    Ok(())
}

/// Drops every subscription of `client` without replying (RESET, disconnect).
pub fn unsubscribe_all(state: &mut ServerState, client: usize) {
    let Some(c) = state.clients.get_mut(client) else { return };
    let subs = std::mem::take(&mut c.subs);
    for (kind, names) in [(Kind::Channel, subs.channels), (Kind::Pattern, subs.patterns), (Kind::Shard, subs.shards)] {
        let map = kind.of_server(&mut state.pubsub);
        for name in names {
            if let Some(v) = map.get_mut(&name) {
                v.retain(|&x| x != client);
                if v.is_empty() {
                    map.remove(&name);
                }
            }
        }
    }
}

/// SUBSCRIBE channel [channel ...]
pub fn subscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Channel)
}

/// UNSUBSCRIBE [channel ...]
pub fn unsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Channel)
}

/// PSUBSCRIBE pattern [pattern ...]
pub fn psubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Pattern)
}

/// PUNSUBSCRIBE [pattern ...]
pub fn punsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Pattern)
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
pub fn ssubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_kind(ctx, args, Kind::Shard)
}

/// SUNSUBSCRIBE [shardchannel ...]
pub fn sunsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_kind(ctx, args, Kind::Shard)
}

/// Writes one message to client `to`: into the caller's own reply buffer, or
/// into the target's pending pushes (moved to its socket by the server).
fn deliver(ctx: &mut Ctx, to: usize, write: impl Fn(&mut ReplyBuf)) {
    if to == ctx.client {
        write(ctx.out);
        return;
    }
    let Some(c) = ctx.state.clients.get_mut(to) else { return };
    let mut buf = ReplyBuf { buf: std::mem::take(&mut c.pushes), resp3: c.resp == 3 };
    let first = buf.is_empty();
    write(&mut buf);
    c.pushes = buf.buf;
    if first {
        ctx.state.push_targets.push(to);
    }
}

/// Sends `msg` on `channel` to its subscribers and pattern subscribers;
/// returns how many received it.
fn publish_to(ctx: &mut Ctx, channel: &[u8], msg: &[u8], kind: Kind) -> usize {
    let direct: Vec<usize> = match kind {
        Kind::Shard => ctx.state.pubsub.shards.get(channel).cloned().unwrap_or_default(),
        _ => ctx.state.pubsub.channels.get(channel).cloned().unwrap_or_default(),
    };
    let word: &[u8] = if kind == Kind::Shard { b"smessage" } else { b"message" };
    for &c in &direct {
        deliver(ctx, c, |out| {
            out.push(3);
            out.bulk(word);
            out.bulk(channel);
            out.bulk(msg);
        });
    }
    let mut n = direct.len();
    if kind == Kind::Channel && !ctx.state.pubsub.patterns.is_empty() {
        let matching: Vec<(Vec<u8>, Vec<usize>)> = ctx
            .state
            .pubsub
            .patterns
            .iter()
            .filter(|(p, _)| glob_match(p, channel, false))
            .map(|(p, v)| (p.clone(), v.clone()))
            .collect();
        for (pattern, clients) in matching {
            for c in clients {
                deliver(ctx, c, |out| {
                    out.push(4);
                    out.bulk(b"pmessage");
                    out.bulk(&pattern);
                    out.bulk(channel);
                    out.bulk(msg);
                });
                n += 1;
            }
        }
    }
    n
}

/// PUBLISH channel message
pub fn publish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = publish_to(ctx, args.get(1), args.get(2), Kind::Channel);
    ctx.out.int(n as i64);
    Ok(())
}

/// SPUBLISH shardchannel message
pub fn spublish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = publish_to(ctx, args.get(1), args.get(2), Kind::Shard);
    ctx.out.int(n as i64);
    Ok(())
}

/// Active channels of `map` matching the optional pattern.
fn list_channels(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    let pattern = args.opt(2);
    let names: Vec<Vec<u8>> = kind
        .of_server(&mut ctx.state.pubsub)
        .keys()
        .filter(|k| pattern.map_or(true, |p| glob_match(p, k, false)))
        .cloned()
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(&n);
    }
    Ok(())
}

fn count_subscribers(ctx: &mut Ctx, args: &Args, kind: Kind) -> CmdResult {
    ctx.out.array(2 * (args.len() - 2));
    for name in args.iter_from(2) {
        let n = kind.of_server(&mut ctx.state.pubsub).get(name).map_or(0, Vec::len);
        ctx.out.bulk(name);
        ctx.out.int(n as i64);
    }
    Ok(())
}

/// PUBSUB CHANNELS [pattern]
pub fn pubsub_channels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    list_channels(ctx, args, Kind::Channel)
}

/// PUBSUB SHARDCHANNELS [pattern]
pub fn pubsub_shardchannels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    list_channels(ctx, args, Kind::Shard)
}

/// PUBSUB NUMSUB [channel ...]
pub fn pubsub_numsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    count_subscribers(ctx, args, Kind::Channel)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]
pub fn pubsub_shardnumsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    count_subscribers(ctx, args, Kind::Shard)
}

/// PUBSUB NUMPAT
pub fn pubsub_numpat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.state.pubsub.patterns.len();
    ctx.out.int(n as i64);
    Ok(())
}

/// PUBSUB HELP
pub fn pubsub_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    super::server::reply_help(
        ctx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
