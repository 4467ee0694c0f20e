//! Stream commands (XADD ... XINFO): argument parsing in Redis 7.0's order
//! (which decides which error a bad command gets) and the replies; the
//! semantics live in `types::stream`.
//!
//! Blocking reads (XREAD / XREADGROUP BLOCK) park through `Ctx::block`: the
//! command runs again from the start when a stream it waits on is written
//! (or deleted). XREAD's `$` must mean "after the last id when I blocked", so
//! the handler parks with a rewritten command whose `$` are concrete ids.

use super::list::Attempt;
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::types::stream::{
    self as st, Ack, AddOutcome, Bound, ClaimOpts, Created, Entry, GroupCtx, Id, NewId, Redelivered, Rev, SetId,
    StartAt, Strict, Trim, TrimSpec,
};

/// An id as a bulk string, formatted on the stack (XRANGE replies hold many).
fn id_bulk(c: &mut Ctx, id: Id) {
    write_id(c.out, id)
}

fn write_id(out: &mut ReplyBuf, id: Id) {
    let mut buf = [0u8; 41];
    let (mut ms, mut seq) = (itoa::Buffer::new(), itoa::Buffer::new());
    let (ms, seq) = (ms.format(id.ms).as_bytes(), seq.format(id.seq).as_bytes());
    buf[..ms.len()].copy_from_slice(ms);
    buf[ms.len()] = b'-';
    buf[ms.len() + 1..ms.len() + 1 + seq.len()].copy_from_slice(seq);
    out.bulk(&buf[..ms.len() + 1 + seq.len()]);
}

/// One entry as XRANGE replies it, straight from its stored value.
fn reply_stored_entry(out: &mut ReplyBuf, id: Id, v: &[u8]) {
    out.array(2);
    write_id(out, id);
    let fields = st::entry_fields(v);
    out.array(fields.clone().count());
    for f in fields {
        out.bulk(f);
    }
}

fn reply_entry(c: &mut Ctx, id: Id, fields: &[Vec<u8>]) {
    c.out.array(2);
    id_bulk(c, id);
    c.out.array(fields.len());
    for f in fields {
        c.out.bulk(f);
    }
}

fn reply_entries(c: &mut Ctx, entries: &[Entry]) {
    c.out.array(entries.len());
    for (id, f) in entries {
        reply_entry(c, *id, f);
    }
}

fn strict_id(arg: &[u8]) -> Result<Id, CmdError> {
    Id::parse(arg, 0, Strict::Yes)
}

/// XADD/XTRIM arguments (Redis's streamParseAddOrTrimArgsOrReply).
struct AddArgs {
    trim: Option<TrimSpec>,
    mkstream: bool,
    new_id: NewId,
    /// Index of the first field (XADD).
    fields_at: usize,
}

/// Which command's options are parsed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TrimCmd {
    Xadd,
    Xtrim,
}

fn parse_add_or_trim(a: &Args, cmd: TrimCmd) -> Result<AddArgs, CmdError> {
    let mut strategy: Option<Trim> = None;
    let (mut approx, mut limit, mut mkstream) = (false, None::<i64>, true);
    let mut new_id = None;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - 1 - i;
        let opt = a.get(i);
        if cmd == TrimCmd::Xadd && opt == b"*" {
            new_id = Some(NewId::Auto);
            break;
        } else if (a.is(i, "MAXLEN") || a.is(i, "MINID")) && more > 0 {
            if strategy.is_some() {
                return Err(CmdError::Err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            let maxlen = a.is(i, "MAXLEN");
            let mut v = i + 1;
            approx = false;
            if (a.get(v) == b"~" || a.get(v) == b"=") && more >= 2 {
                approx = a.get(v) == b"~";
                v += 1;
            }
            strategy = Some(if maxlen {
                let n = a.i64(v)?;
                if n < 0 {
                    return Err(CmdError::Err("The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(strict_id(a.get(v))?)
            });
            i = v + 1;
            continue;
        } else if a.is(i, "LIMIT") && more > 0 {
            let n = a.i64(i + 1)?;
            if n < 0 {
                return Err(CmdError::Err("The LIMIT argument must be >= 0."));
            }
            limit = Some(n);
            i += 2;
            continue;
        } else if cmd == TrimCmd::Xadd && a.is(i, "NOMKSTREAM") {
            mkstream = false;
        } else if cmd == TrimCmd::Xadd {
            // The id: `ms-*` picks the sequence, anything else is exact.
            new_id = Some(match opt.strip_suffix(b"-*") {
                Some(ms) if !ms.is_empty() && !ms.contains(&b'-') => NewId::Ms(Id::parse(ms, 0, Strict::Yes)?.ms),
                _ => {
                    let id = strict_id(opt)?;
                    if id == Id::MIN {
                        return Err(CmdError::Err("The ID specified in XADD must be greater than 0-0"));
                    }
                    NewId::Exact(id)
                }
            });
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if limit.is_some() && strategy.is_none() {
        return Err(CmdError::Err("syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if cmd == TrimCmd::Xtrim && strategy.is_none() {
        return Err(CmdError::Err("syntax error, XTRIM must be called with a trimming strategy"));
    }
    if limit.is_some() && !approx {
        return Err(CmdError::Err("syntax error, LIMIT cannot be used without the special ~ option"));
    }
    let limit = match limit {
        Some(n) => n as u64,
        None if approx => st::DEFAULT_TRIM_LIMIT,
        None => 0,
    };
    let trim = strategy.map(|strategy| TrimSpec { strategy, approx, limit });
    Ok(AddArgs { trim, mkstream, new_id: new_id.unwrap_or(NewId::Auto), fields_at: i + 1 })
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
/// O(1) plus the trimmed entries.
pub fn xadd(c: &mut Ctx, a: &Args) -> CmdResult {
    let p = parse_add_or_trim(a, TrimCmd::Xadd)?;
    let nfields = a.len().saturating_sub(p.fields_at);
    if p.fields_at > a.len() || nfields < 2 || nfields % 2 == 1 {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    let fields = (p.fields_at..a.len()).map(|i| a.get(i));
    match st::add(&mut c.tx, a.get(1), p.new_id, fields, p.mkstream, p.trim)? {
        AddOutcome::Added(id) => id_bulk(c, id),
        AddOutcome::NoStream => c.out.null(),
    }
    Ok(())
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
/// O(trimmed entries).
pub fn xtrim(c: &mut Ctx, a: &Args) -> CmdResult {
    if st::lookup(&mut c.tx, a.get(1))?.is_none() {
        c.out.int(0);
        return Ok(());
    }
    let p = parse_add_or_trim(a, TrimCmd::Xtrim)?;
    if p.fields_at <= a.len() {
        // XTRIM stops parsing only at the end; anything left is a syntax error.
        return Err(CmdError::Syntax);
    }
    let trim = p.trim.ok_or(CmdError::Syntax)?;
    let n = st::trim(&mut c.tx, a.get(1), trim)?;
    c.out.int(n as i64);
    Ok(())
}

/// XRANGE key start end [COUNT count]
/// O(log N + M).
pub fn xrange(c: &mut Ctx, a: &Args) -> CmdResult {
    range(c, a, Rev::No)
}

/// XREVRANGE key end start [COUNT count]
/// O(log N + M).
pub fn xrevrange(c: &mut Ctx, a: &Args) -> CmdResult {
    range(c, a, Rev::Yes)
}

fn range(c: &mut Ctx, a: &Args, rev: Rev) -> CmdResult {
    let (si, ei) = if rev == Rev::Yes { (3, 2) } else { (2, 3) };
    let start = Id::parse_bound(a.get(si), Bound::Start)?;
    let end = Id::parse_bound(a.get(ei), Bound::End)?;
    let mut count: Option<i64> = None;
    let mut i = 4;
    while i < a.len() {
        if a.is(i, "COUNT") && i + 1 < a.len() {
            count = Some(a.i64(i + 1)?.max(0));
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = st::lookup(&mut c.tx, a.get(1))? else {
        c.out.array(0);
        return Ok(());
    };
    let count = match count {
        // Redis answers a COUNT of 0 (or less) with a null, not an empty array.
        Some(0) => {
            c.out.null_array();
            return Ok(());
        }
        Some(n) => n as u64,
        None => 0,
    };
    // Replies are written while iterating: no entry is copied out.
    let out = &mut *c.out;
    let d = out.defer_array();
    let n = st::range_each(&c.tx, a.get(1), &s, start, end, count, rev, |id, v| reply_stored_entry(out, id, v))?;
    c.out.fill(d, n as usize);
    Ok(())
}

/// XLEN key
/// O(1).
pub fn xlen(c: &mut Ctx, a: &Args) -> CmdResult {
    let n = st::lookup(&mut c.tx, a.get(1))?.map_or(0, |s| s.len);
    c.out.int(n as i64);
    Ok(())
}

/// XDEL key id [id ...]
/// O(1) per id.
pub fn xdel(c: &mut Ctx, a: &Args) -> CmdResult {
    if st::lookup(&mut c.tx, a.get(1))?.is_none() {
        c.out.int(0);
        return Ok(());
    }
    let ids = a.iter_from(2).map(strict_id).collect::<Result<Vec<_>, _>>()?;
    let n = st::delete(&mut c.tx, a.get(1), &ids)?;
    c.out.int(n as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
/// O(1).
pub fn xsetid(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut o = SetId { last: strict_id(a.get(2))?, entries_added: None, max_deleted: Id::MIN };
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        if a.is(i, "ENTRIESADDED") && more {
            let n = a.i64(i + 1)?;
            if n < 0 {
                return Err(CmdError::Err("entries_added must be positive"));
            }
            o.entries_added = Some(n as u64);
        } else if a.is(i, "MAXDELETEDID") && more {
            o.max_deleted = strict_id(a.get(i + 1))?;
            if o.last < o.max_deleted {
                return Err(CmdError::Err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    st::set_id(&mut c.tx, a.get(1), o)?;
    c.out.ok();
    Ok(())
}

// ------------------------------------------------------------ XREAD family

/// XREAD / XREADGROUP options.
struct ReadArgs<'a> {
    count: u64,
    block: Option<Option<u64>>,
    group: Option<(&'a [u8], &'a [u8])>,
    ack: Ack,
    streams_at: usize,
    nkeys: usize,
}

/// Which command is reading.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    Plain,
    Group,
}

fn parse_read<'a>(c: &Ctx, a: &Args<'a>, who: Reader) -> Result<ReadArgs<'a>, CmdError> {
    let mut r = ReadArgs { count: 0, block: None, group: None, ack: Ack::Explicit, streams_at: 0, nkeys: 0 };
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - 1 - i;
        if a.is(i, "BLOCK") && more > 0 {
            let ms = a.i64(i + 1).map_err(|_| CmdError::Err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::Err("timeout is negative"));
            }
            r.block = Some(if ms == 0 { None } else { Some(c.tx.now_ms.saturating_add(ms as u64)) });
            i += 1;
        } else if a.is(i, "COUNT") && more > 0 {
            r.count = a.i64(i + 1)?.max(0) as u64;
            i += 1;
        } else if a.is(i, "STREAMS") && more > 0 {
            r.streams_at = i + 1;
            let n = a.len() - r.streams_at;
            if n % 2 != 0 {
                return Err(CmdError::Err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            r.nkeys = n / 2;
            break;
        } else if a.is(i, "GROUP") && more >= 2 {
            if who == Reader::Plain {
                return Err(CmdError::Err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((a.get(i + 1), a.get(i + 2)));
            i += 2;
        } else if a.is(i, "NOACK") {
            if who == Reader::Plain {
                return Err(CmdError::Err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.ack = Ack::Auto;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if r.streams_at == 0 {
        return Err(CmdError::Syntax);
    }
    if who == Reader::Group && r.group.is_none() {
        return Err(CmdError::Err("Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// What one stream of a read asks for.
enum Want {
    /// Entries after this id (XREAD; XREADGROUP history).
    After(Id),
    /// XREADGROUP `>`.
    New,
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
/// O(M) in the entries returned per stream.
pub fn xread(c: &mut Ctx, a: &Args) -> CmdResult {
    read(c, a, Reader::Plain)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]
/// O(M) in the entries returned per stream.
pub fn xreadgroup(c: &mut Ctx, a: &Args) -> CmdResult {
    read(c, a, Reader::Group)
}

fn read(c: &mut Ctx, a: &Args, who: Reader) -> CmdResult {
    let r = parse_read(c, a, who)?;
    let attempt = Attempt::of(c);
    let keys: Vec<&[u8]> = (0..r.nkeys).map(|k| a.get(r.streams_at + k)).collect();
    let mut wants = Vec::with_capacity(r.nkeys);
    // Concrete ids for `$`, so a retry reads after the id seen when blocking.
    let mut resolved: Vec<Option<Id>> = vec![None; r.nkeys];
    for (k, key) in keys.iter().enumerate() {
        let arg = a.get(r.streams_at + r.nkeys + k);
        let s = match (st::lookup(&mut c.tx, key), attempt, r.group) {
            // A parked group reader whose stream was deleted (or replaced) is
            // told so, as Redis 7.0 does; a plain reader keeps waiting.
            (Ok(None) | Err(CmdError::WrongType), Attempt::Retry, Some(_)) => {
                return Err(CmdError::Raw("UNBLOCKED the stream key no longer exists".into()));
            }
            (r, _, _) => attempt.source(r)?,
        };
        if let Some((group, _)) = r.group {
            let exists = match &s {
                Some(s) => st::group(&c.tx, key, s, group)?.is_some(),
                None => false,
            };
            if !exists {
                if attempt == Attempt::Retry {
                    return Err(CmdError::Raw(
                        "NOGROUP the consumer group this client was blocked on no longer exists".into(),
                    ));
                }
                return Err(CmdError::Bytes(
                    [
                        b"NOGROUP No such key '".as_slice(),
                        key,
                        b"' or consumer group '",
                        group,
                        b"' in XREADGROUP with GROUP option",
                    ]
                    .concat(),
                ));
            }
        }
        if arg == b"$" {
            if who == Reader::Group {
                return Err(CmdError::Err(
                    "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this \
                     consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just \
                     return an empty result set.",
                ));
            }
            let id = s.map_or(Id::MIN, |s| s.last);
            resolved[k] = Some(id);
            wants.push(Want::After(id));
        } else if arg == b">" {
            if who == Reader::Plain {
                return Err(CmdError::Err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            wants.push(Want::New);
        } else {
            wants.push(Want::After(strict_id(arg)?));
        }
    }
    // Serve every stream that has something; an empty answer may block.
    let mut served: Vec<(&[u8], Served)> = Vec::new();
    for (key, want) in keys.iter().zip(&wants) {
        let Some(s) = attempt.source(st::lookup(&mut c.tx, key))? else {
            continue;
        };
        match r.group {
            Some((group, consumer)) => {
                let Some(g) = st::group(&c.tx, key, &s, group)? else {
                    continue;
                };
                let mut gc = GroupCtx::new(key, s, group, g);
                // Like Redis 7.0, a consumer is created (or seen) only by a
                // read that serves it, not by one that finds nothing new.
                match want {
                    Want::New => {
                        let entries = gc.read_new(&mut c.tx, consumer, r.count, r.ack)?;
                        if !entries.is_empty() {
                            gc.touch_consumer(&mut c.tx, consumer)?;
                            served.push((key, Served::Entries(entries)));
                        }
                    }
                    Want::After(id) => {
                        gc.touch_consumer(&mut c.tx, consumer)?;
                        served.push((key, Served::History(gc.read_history(&mut c.tx, consumer, *id, r.count)?)));
                    }
                }
            }
            None => {
                let Want::After(id) = want else { continue };
                let Some(start) = id.next() else { continue };
                let entries = st::range(&c.tx, key, &s, start, Id::MAX, r.count, Rev::No)?;
                if !entries.is_empty() {
                    served.push((key, Served::Entries(entries)));
                }
            }
        }
    }
    if served.is_empty() {
        if let Some(deadline) = r.block {
            let wait: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
            if resolved.iter().any(Option::is_some) {
                let mut rerun: Vec<Vec<u8>> = a.iter_from(0).map(<[u8]>::to_vec).collect();
                for (k, id) in resolved.iter().enumerate() {
                    if let Some(id) = id {
                        rerun[r.streams_at + r.nkeys + k] = id.text().into_bytes();
                    }
                }
                return c.block_rerun(wait, deadline, rerun);
            }
            return c.block(wait, deadline);
        }
        c.out.null_array();
        return Ok(());
    }
    if c.out.resp3 {
        c.out.map(served.len());
    } else {
        c.out.array(served.len());
    }
    for (key, what) in &served {
        if !c.out.resp3 {
            c.out.array(2);
        }
        c.out.bulk(key);
        match what {
            Served::Entries(e) => reply_entries(c, e),
            Served::History(h) => {
                c.out.array(h.len());
                for (id, fields) in h {
                    match fields {
                        Some(f) => reply_entry(c, *id, f),
                        None => {
                            c.out.array(2);
                            id_bulk(c, *id);
                            c.out.null_array();
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// One stream's part of a read reply.
enum Served {
    Entries(Vec<Entry>),
    History(Vec<Redelivered>),
}

// ------------------------------------------------------------ groups

fn nogroup_for_key(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Bytes([b"NOGROUP No such key '".as_slice(), key, b"' or consumer group '", group, b"'"].concat())
}

fn nogroup_named(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Bytes([b"NOGROUP No such consumer group '".as_slice(), group, b"' for key name '", key, b"'"].concat())
}

fn subcommand_syntax(a: &Args) -> CmdError {
    CmdError::Bytes(
        [b"ERR unknown subcommand or wrong number of arguments for '".as_slice(), a.get(1), b"'. Try XGROUP HELP."]
            .concat(),
    )
}

/// The group a XGROUP subcommand names; NOGROUP if missing. The key must exist.
fn xgroup_target<'k>(c: &mut Ctx, a: &Args<'k>) -> Result<GroupCtx<'k>, CmdError> {
    let key = a.get(2);
    let s = st::lookup(&mut c.tx, key)?.ok_or_else(key_required)?;
    match st::group(&c.tx, key, &s, a.get(3))? {
        Some(g) => Ok(GroupCtx::new(key, s, a.get(3), g)),
        None => Err(nogroup_named(key, a.get(3))),
    }
}

fn key_required() -> CmdError {
    CmdError::Err(
        "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM \
         option to create an empty stream automatically.",
    )
}

/// ENTRIESREAD's value.
fn entries_read_arg(a: &Args, i: usize) -> Result<i64, CmdError> {
    let n = a.i64(i)?;
    if n < 0 && n != -1 {
        return Err(CmdError::Err("value for ENTRIESREAD must be positive or -1"));
    }
    Ok(n)
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]
/// O(1).
pub fn xgroup_create(c: &mut Ctx, a: &Args) -> CmdResult {
    let (mut mkstream, mut entries_read) = (false, -1);
    let mut i = 5;
    while i < a.len() {
        if a.is(i, "MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if a.is(i, "ENTRIESREAD") && i + 1 < a.len() {
            entries_read = entries_read_arg(a, i + 1)?;
            i += 2;
        } else {
            return Err(subcommand_syntax(a));
        }
    }
    let key = a.get(2);
    let existing = st::lookup(&mut c.tx, key)?;
    if existing.is_none() && !mkstream {
        return Err(key_required());
    }
    if a.len() > 8 {
        return Err(subcommand_syntax(a));
    }
    let at = if a.get(4) == b"$" { StartAt::Last } else { StartAt::Id(strict_id(a.get(4))?) };
    let s = match existing {
        Some(s) => s,
        None => st::Stream::create(&c.tx)?,
    };
    match st::create_group(&mut c.tx, key, s, a.get(3), at, entries_read)? {
        Created::Ok => c.out.ok(),
        Created::Exists => return Err(CmdError::Raw("BUSYGROUP Consumer Group name already exists".into())),
    }
    Ok(())
}

/// XGROUP SETID key group id|$ [ENTRIESREAD entries-read]
/// O(1).
pub fn xgroup_setid(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut gc = xgroup_target(c, a)?;
    if a.len() != 5 && a.len() != 7 {
        return Err(subcommand_syntax(a));
    }
    let at = if a.get(4) == b"$" { StartAt::Last } else { StartAt::Id(Id::parse(a.get(4), 0, Strict::No)?) };
    let mut entries_read = -1;
    if a.len() == 7 {
        if !a.is(5, "ENTRIESREAD") {
            return Err(subcommand_syntax(a));
        }
        entries_read = entries_read_arg(a, 6)?;
    }
    gc.set_id(&mut c.tx, at, entries_read);
    c.out.ok();
    Ok(())
}

/// XGROUP DESTROY key group
/// O(1): the group's records go in range deletes.
pub fn xgroup_destroy(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(2);
    let s = st::lookup(&mut c.tx, key)?.ok_or_else(key_required)?;
    match st::group(&c.tx, key, &s, a.get(3))? {
        Some(g) => {
            GroupCtx::new(key, s, a.get(3), g).destroy(&mut c.tx)?;
            c.out.int(1);
        }
        None => c.out.int(0),
    }
    Ok(())
}

/// XGROUP CREATECONSUMER key group consumer
/// O(1).
pub fn xgroup_createconsumer(c: &mut Ctx, a: &Args) -> CmdResult {
    let gc = xgroup_target(c, a)?;
    let created = gc.create_consumer(&mut c.tx, a.get(4))?;
    c.out.int(i64::from(created));
    Ok(())
}

/// XGROUP DELCONSUMER key group consumer
/// O(pending entries of the group).
pub fn xgroup_delconsumer(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut gc = xgroup_target(c, a)?;
    let n = gc.delete_consumer(&mut c.tx, a.get(4))?;
    c.out.int(n as i64);
    Ok(())
}

/// XGROUP HELP
pub fn xgroup_help(c: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        c,
        &[
            "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
            "HELP",
            "    Print this help.",
        ],
    )
}

fn help(c: &mut Ctx, lines: &[&str]) -> CmdResult {
    c.out.array(lines.len());
    for l in lines {
        c.out.simple(l);
    }
    Ok(())
}

/// XACK key group id [id ...]
/// O(1) per id.
pub fn xack(c: &mut Ctx, a: &Args) -> CmdResult {
    let s = st::lookup(&mut c.tx, a.get(1))?;
    let ids = a.iter_from(3).map(strict_id).collect::<Result<Vec<_>, _>>()?;
    let g = match &s {
        Some(s) => st::group(&c.tx, a.get(1), s, a.get(2))?,
        None => None,
    };
    let (Some(s), Some(g)) = (s, g) else {
        c.out.int(0);
        return Ok(());
    };
    let mut gc = GroupCtx::new(a.get(1), s, a.get(2), g);
    let n = gc.ack(&mut c.tx, &ids)?;
    c.out.int(n as i64);
    Ok(())
}

/// The stream and group of XPENDING / XCLAIM / XAUTOCLAIM: NOGROUP if missing.
fn claim_target<'k>(c: &mut Ctx, a: &Args<'k>) -> Result<GroupCtx<'k>, CmdError> {
    st::open_group(&mut c.tx, a.get(1), a.get(2))?.ok_or_else(|| nogroup_for_key(a.get(1), a.get(2)))
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
/// O(1) summary (plus the consumers); O(M) extended.
pub fn xpending(c: &mut Ctx, a: &Args) -> CmdResult {
    if a.len() != 3 && !(6..=9).contains(&a.len()) {
        return Err(CmdError::Syntax);
    }
    let mut ext = None;
    if a.len() >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if a.is(3, "IDLE") {
            min_idle = a.i64(4)?;
            if a.len() < 8 {
                return Err(CmdError::Syntax);
            }
            at = 5;
        }
        let count = a.i64(at + 2)?.max(0) as u64;
        let start = Id::parse_bound(a.get(at), Bound::Start)?;
        let end = Id::parse_bound(a.get(at + 1), Bound::End)?;
        ext = Some((min_idle, start, end, count, a.opt(at + 3)));
    }
    let gc = claim_target(c, a)?;
    let Some((min_idle, start, end, count, consumer)) = ext else {
        c.out.array(4);
        c.out.int(gc.g.pending as i64);
        if gc.g.pending == 0 {
            c.out.null();
            c.out.null();
            c.out.null_array();
            return Ok(());
        }
        let first = gc.pending(&c.tx, Id::MIN, Id::MAX, None, 1)?;
        let last = gc.last_pending(&c.tx)?.unwrap_or(Id::MIN);
        id_bulk(c, first.first().map_or(Id::MIN, |p| p.id));
        id_bulk(c, last);
        let owners: Vec<_> = gc.consumers(&c.tx)?.into_iter().filter(|(_, k)| k.pending > 0).collect();
        c.out.array(owners.len());
        for (name, k) in owners {
            c.out.array(2);
            c.out.bulk(&name);
            c.out.bulk_int(k.pending as i64);
        }
        return Ok(());
    };
    if let Some(name) = consumer {
        if gc.consumer(&c.tx, name)?.is_none() {
            c.out.array(0);
            return Ok(());
        }
    }
    let now = c.tx.now_ms as i64;
    // IDLE filters after the range read, so read without COUNT then cut.
    let limit = if min_idle > 0 { u64::MAX } else { count };
    let list: Vec<_> = gc
        .pending(&c.tx, start, end, consumer, limit)?
        .into_iter()
        .filter(|p| min_idle <= 0 || now - p.delivered_ms as i64 >= min_idle)
        .take(count as usize)
        .collect();
    c.out.array(list.len());
    for p in list {
        c.out.array(4);
        id_bulk(c, p.id);
        c.out.bulk(&p.consumer);
        c.out.int((now - p.delivered_ms as i64).max(0));
        c.out.int(p.count as i64);
    }
    Ok(())
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]
/// O(log N) per id.
pub fn xclaim(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut gc = claim_target(c, a)?;
    let min_idle = a.i64(4).map_err(|_| CmdError::Err("Invalid min-idle-time argument for XCLAIM"))?.max(0);
    let mut j = 5;
    let mut ids = Vec::new();
    while j < a.len() {
        match strict_id(a.get(j)) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = c.tx.now_ms as i64;
    let mut o = ClaimOpts { min_idle, delivery_ms: 0, retry_count: None, force: false, justid: false };
    let mut delivery: Option<i64> = None;
    let mut last_id = Id::MIN;
    while j < a.len() {
        let more = j + 1 < a.len();
        let num = |i: usize, what: &'static str| a.i64(i).map_err(|_| CmdError::Err(what));
        if a.is(j, "FORCE") {
            o.force = true;
        } else if a.is(j, "JUSTID") {
            o.justid = true;
        } else if a.is(j, "IDLE") && more {
            j += 1;
            delivery = Some(now - num(j, "Invalid IDLE option argument for XCLAIM")?);
        } else if a.is(j, "TIME") && more {
            j += 1;
            delivery = Some(num(j, "Invalid TIME option argument for XCLAIM")?);
        } else if a.is(j, "RETRYCOUNT") && more {
            j += 1;
            let n = num(j, "Invalid RETRYCOUNT option argument for XCLAIM")?;
            o.retry_count = if n >= 0 { Some(n as u64) } else { None };
        } else if a.is(j, "LASTID") && more {
            j += 1;
            last_id = strict_id(a.get(j))?;
        } else {
            return Err(CmdError::Bytes([b"ERR Unrecognized XCLAIM option '".as_slice(), a.get(j), b"'"].concat()));
        }
        j += 1;
    }
    if last_id > gc.g.last {
        gc.g.last = last_id;
    }
    // A bogus time (future, negative) means now, as Redis decides.
    o.delivery_ms = match delivery {
        Some(d) if d >= 0 && d <= now => d as u64,
        _ => now as u64,
    };
    let mut claimed = Vec::new();
    for id in ids {
        if let Some(e) = gc.claim(&mut c.tx, a.get(3), id, &o)? {
            claimed.push(e);
        }
    }
    gc.save(&mut c.tx);
    reply_claimed(c, &claimed, o.justid);
    Ok(())
}

/// Claimed entries, or only their ids with JUSTID.
fn reply_claimed(c: &mut Ctx, claimed: &[Entry], justid: bool) {
    c.out.array(claimed.len());
    for (id, fields) in claimed {
        if justid {
            id_bulk(c, *id);
        } else {
            reply_entry(c, *id, fields);
        }
    }
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
/// O(count).
pub fn xautoclaim(c: &mut Ctx, a: &Args) -> CmdResult {
    let mut gc = claim_target(c, a)?;
    let min_idle = a.i64(4).map_err(|_| CmdError::Err("Invalid min-idle-time argument for XAUTOCLAIM"))?.max(0);
    let start = Id::parse_bound(a.get(5), Bound::Start)?;
    let (mut count, mut justid) = (100u64, false);
    let mut j = 6;
    while j < a.len() {
        if a.is(j, "COUNT") && j + 1 < a.len() {
            let n = a.i64(j + 1).map_err(|_| CmdError::Err("COUNT must be > 0"))?;
            if !(1..=i64::MAX / 16).contains(&n) {
                return Err(CmdError::Err("COUNT must be > 0"));
            }
            count = n as u64;
            j += 1;
        } else if a.is(j, "JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let r = gc.autoclaim(&mut c.tx, a.get(3), min_idle, start, count, justid)?;
    c.out.array(3);
    id_bulk(c, r.next);
    reply_claimed(c, &r.claimed, justid);
    c.out.array(r.deleted.len());
    for id in &r.deleted {
        id_bulk(c, *id);
    }
    Ok(())
}

// ------------------------------------------------------------ XINFO

/// A key/value reply: a map in RESP3, a flat array in RESP2.
fn fields(c: &mut Ctx, n: usize) {
    c.out.map(n);
}

fn opt_int(c: &mut Ctx, v: Option<u64>) {
    match v {
        Some(n) => c.out.int(n as i64),
        None => c.out.null(),
    }
}

/// XINFO STREAM key [FULL [COUNT count]]
/// O(1) (FULL: O(count) entries and pending entries per group).
pub fn xinfo_stream(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(2);
    let full = a.len() > 3;
    let mut count = 10u64;
    if full {
        let ok = a.is(3, "FULL") && (a.len() == 4 || (a.len() == 6 && a.is(4, "COUNT")));
        if !ok {
            return Err(CmdError::Bytes(
                [
                    b"ERR unknown subcommand or wrong number of arguments for '".as_slice(),
                    a.get(1),
                    b"'. Try XINFO HELP.",
                ]
                .concat(),
            ));
        }
        if a.len() == 6 {
            count = a.i64(5)?.max(0) as u64;
        }
    }
    let s = st::lookup(&mut c.tx, key)?.ok_or(CmdError::NoSuchKey)?;
    let nodes = st::node_count(&c.tx, key, &s)?;
    fields(c, if full { 9 } else { 10 });
    c.out.bulk(b"length");
    c.out.int(s.len as i64);
    c.out.bulk(b"radix-tree-keys");
    c.out.int(nodes as i64);
    c.out.bulk(b"radix-tree-nodes");
    c.out.int(nodes as i64 + 1);
    c.out.bulk(b"last-generated-id");
    id_bulk(c, s.last);
    c.out.bulk(b"max-deleted-entry-id");
    id_bulk(c, s.max_deleted);
    c.out.bulk(b"entries-added");
    c.out.int(s.entries_added as i64);
    c.out.bulk(b"recorded-first-entry-id");
    id_bulk(c, s.first);
    if !full {
        c.out.bulk(b"groups");
        c.out.int(s.groups as i64);
        for (name, rev) in [(&b"first-entry"[..], Rev::No), (&b"last-entry"[..], Rev::Yes)] {
            c.out.bulk(name);
            match st::range(&c.tx, key, &s, Id::MIN, Id::MAX, 1, rev)?.first() {
                Some((id, f)) => reply_entry(c, *id, f),
                None => c.out.null(),
            }
        }
        return Ok(());
    }
    c.out.bulk(b"entries");
    let entries = st::range(&c.tx, key, &s, Id::MIN, Id::MAX, count, Rev::No)?;
    reply_entries(c, &entries);
    c.out.bulk(b"groups");
    let groups = st::groups(&c.tx, key, &s)?;
    c.out.array(groups.len());
    let limit = if count == 0 { u64::MAX } else { count };
    for (name, g) in groups {
        let lag = s.lag(&g);
        let gc = GroupCtx::new(key, s.clone(), &name, g);
        fields(c, 7);
        c.out.bulk(b"name");
        c.out.bulk(&name);
        c.out.bulk(b"last-delivered-id");
        id_bulk(c, gc.g.last);
        c.out.bulk(b"entries-read");
        opt_int(c, u64::try_from(gc.g.entries_read).ok());
        c.out.bulk(b"lag");
        opt_int(c, lag);
        c.out.bulk(b"pel-count");
        c.out.int(gc.g.pending as i64);
        c.out.bulk(b"pending");
        let pel = gc.pending(&c.tx, Id::MIN, Id::MAX, None, limit)?;
        c.out.array(pel.len());
        for p in &pel {
            c.out.array(4);
            id_bulk(c, p.id);
            c.out.bulk(&p.consumer);
            c.out.int(p.delivered_ms as i64);
            c.out.int(p.count as i64);
        }
        c.out.bulk(b"consumers");
        let consumers = gc.consumers(&c.tx)?;
        c.out.array(consumers.len());
        for (cname, k) in consumers {
            fields(c, 4);
            c.out.bulk(b"name");
            c.out.bulk(&cname);
            c.out.bulk(b"seen-time");
            c.out.int(k.seen_ms as i64);
            c.out.bulk(b"pel-count");
            c.out.int(k.pending as i64);
            c.out.bulk(b"pending");
            let mine = gc.pending(&c.tx, Id::MIN, Id::MAX, Some(&cname), limit)?;
            c.out.array(mine.len());
            for p in &mine {
                c.out.array(3);
                id_bulk(c, p.id);
                c.out.int(p.delivered_ms as i64);
                c.out.int(p.count as i64);
            }
        }
    }
    Ok(())
}

/// XINFO GROUPS key
/// O(groups).
pub fn xinfo_groups(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(2);
    let s = st::lookup(&mut c.tx, key)?.ok_or(CmdError::NoSuchKey)?;
    let groups = st::groups(&c.tx, key, &s)?;
    c.out.array(groups.len());
    for (name, g) in groups {
        let lag = s.lag(&g);
        let gc = GroupCtx::new(key, s.clone(), &name, g);
        let consumers = gc.consumers(&c.tx)?.len();
        fields(c, 6);
        c.out.bulk(b"name");
        c.out.bulk(&name);
        c.out.bulk(b"consumers");
        c.out.int(consumers as i64);
        c.out.bulk(b"pending");
        c.out.int(gc.g.pending as i64);
        c.out.bulk(b"last-delivered-id");
        id_bulk(c, gc.g.last);
        c.out.bulk(b"entries-read");
        opt_int(c, u64::try_from(gc.g.entries_read).ok());
        c.out.bulk(b"lag");
        opt_int(c, lag);
    }
    Ok(())
}

/// XINFO CONSUMERS key group
/// O(consumers).
pub fn xinfo_consumers(c: &mut Ctx, a: &Args) -> CmdResult {
    let key = a.get(2);
    let s = st::lookup(&mut c.tx, key)?.ok_or(CmdError::NoSuchKey)?;
    let g = st::group(&c.tx, key, &s, a.get(3))?.ok_or_else(|| nogroup_named(key, a.get(3)))?;
    let gc = GroupCtx::new(key, s, a.get(3), g);
    let consumers = gc.consumers(&c.tx)?;
    let now = c.tx.now_ms as i64;
    c.out.array(consumers.len());
    for (name, k) in consumers {
        fields(c, 3);
        c.out.bulk(b"name");
        c.out.bulk(&name);
        c.out.bulk(b"pending");
        c.out.int(k.pending as i64);
        c.out.bulk(b"idle");
        c.out.int((now - k.seen_ms as i64).max(0));
    }
    Ok(())
}

/// XINFO HELP
pub fn xinfo_help(c: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        c,
        &[
            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
            "HELP",
            "    Print this help.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::types::stream::INVALID_ID;

    #[test]
    fn invalid_id_text_is_redis_text() {
        assert_eq!(INVALID_ID.text(), "ERR Invalid stream ID specified as stream command argument");
    }
}
