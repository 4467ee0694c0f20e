//! Lua <-> RESP conversion, with Redis 7's exact rules.
//!
//! A command called from a script replies into a scratch buffer; `reply_to_lua`
//! parses those RESP bytes back into Lua values exactly as Redis does
//! (`redisProtocolToLuaType`): status -> `{ok=..}`, error -> `{err=..}`,
//! null bulk/array -> `false`, RESP3 map/set/double/bignum/verbatim -> tagged
//! tables. `lua_to_reply` goes the other way for a script's return value
//! (`luaReplyToRedisReply`): numbers truncate to integers, `true` -> 1,
//! `false` -> null, arrays stop at the first nil.

use crate::resp::reply::ReplyBuf;
use mlua::{BString, Either, IntoLua, Lua, Table, Value};

/// Deepest table nesting a reply may have (a table that contains itself
/// would otherwise recurse forever).
const MAX_DEPTH: usize = 1000;

/// Strings every status and error reply needs, made once: pushing a kept
/// string costs less than interning the same bytes again per reply.
pub struct ReplyStrings {
    ok: mlua::String,
    err: mlua::String,
    /// The status nearly every write replies.
    ok_text: mlua::String,
}

impl ReplyStrings {
    /// The strings, in `lua`.
    pub fn new(lua: &Lua) -> mlua::Result<ReplyStrings> {
        Ok(ReplyStrings {
            ok: lua.create_string("ok")?,
            err: lua.create_string("err")?,
            ok_text: lua.create_string("OK")?,
        })
    }
}

/// Parses one RESP reply at `buf[*pos..]` into a Lua value.
pub fn reply_to_lua(lua: &Lua, strings: &ReplyStrings, buf: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let kind = buf[*pos];
    let line_end = *pos + memchr::memchr(b'\n', &buf[*pos..]).unwrap_or(buf.len() - *pos);
    let line = &buf[*pos + 1..line_end.saturating_sub(1)];
    *pos = line_end + 1;
    let num = || -> i64 { std::str::from_utf8(line).ok().and_then(|s| s.parse().ok()).unwrap_or(0) };
    let tagged_as = |tag: &str, v: Value| tagged(lua, tag, v);
    match kind {
        b'+' if line == b"OK" => tagged(lua, &strings.ok, &strings.ok_text),
        b'+' => tagged(lua, &strings.ok, lua_bytes(line)),
        b'-' => tagged(lua, &strings.err, lua_bytes(line)),
        b':' => Ok(Value::Number(num() as f64)),
        b'$' | b'=' => {
            let n = num();
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let body = &buf[*pos..*pos + n as usize];
            *pos += n as usize + 2;
            if kind == b'$' {
                return Ok(Value::String(lua.create_string(body)?));
            }
            let t = lua.create_table()?;
            t.raw_set("format", lua.create_string(&body[..3.min(body.len())])?)?;
            t.raw_set("string", lua.create_string(body.get(4..).unwrap_or_default())?)?;
            tagged_as("verbatim_string", Value::Table(t))
        }
        b'*' | b'>' => {
            let n = num();
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table()?;
            for i in 1..=n {
                let v = reply_to_lua(lua, strings, buf, pos)?;
                t.raw_set(i, v)?;
            }
            Ok(Value::Table(t))
        }
        b'%' | b'~' => {
            let t = lua.create_table()?;
            for _ in 0..num() {
                let k = reply_to_lua(lua, strings, buf, pos)?;
                let v = if kind == b'%' { reply_to_lua(lua, strings, buf, pos)? } else { Value::Boolean(true) };
                t.raw_set(k, v)?;
            }
            tagged_as(if kind == b'%' { "map" } else { "set" }, Value::Table(t))
        }
        b'|' => {
            // Attributes are skipped: the value follows them.
            for _ in 0..num() * 2 {
                reply_to_lua(lua, strings, buf, pos)?;
            }
            reply_to_lua(lua, strings, buf, pos)
        }
        b'_' => Ok(Value::Nil),
        b'#' => Ok(Value::Boolean(line == b"t")),
        b',' => {
            let d = crate::util::strtod(line).unwrap_or(0.0);
            tagged_as("double", Value::Number(d))
        }
        b'(' => tagged_as("big_number", Value::String(lua.create_string(line)?)),
        _ => Ok(Value::Nil),
    }
}

/// `{tag = v}`, in one call into Lua (statuses: every write replies one).
fn tagged(lua: &Lua, tag: impl IntoLua, v: impl IntoLua) -> mlua::Result<Value> {
    Ok(Value::Table(lua.create_table_from([(tag, v)])?))
}

/// `bytes` as a Lua string value that needs no mlua reference when pushed:
/// UTF-8 text (nearly all keys, arguments and statuses) goes straight onto
/// the Lua stack, anything else through an owned copy.
pub fn lua_bytes(bytes: &[u8]) -> Either<&str, BString> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Either::Left(s),
        Err(_) => Either::Right(BString::from(bytes.to_vec())),
    }
}

/// Writes a script's return value as a reply. `script_resp3` is the
/// protocol the script chose with `redis.setresp` (it decides how booleans
/// are sent, as in Redis).
pub fn lua_to_reply(v: &Value, out: &mut ReplyBuf, script_resp3: bool) -> mlua::Result<()> {
    write_value(v, out, script_resp3, 0)
}

fn write_value(v: &Value, out: &mut ReplyBuf, resp3: bool, depth: usize) -> mlua::Result<()> {
    if depth > MAX_DEPTH {
        out.error_text(b"ERR reached lua stack limit");
        return Ok(());
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) if resp3 => out.bool(*b),
        Value::Boolean(true) => out.int(1),
        Value::Boolean(false) => out.null(),
        Value::Integer(i) => out.int(*i),
        Value::Number(n) => out.int(*n as i64),
        Value::Table(t) => write_table(t, out, resp3, depth)?,
        _ => out.null(),
    }
    Ok(())
}

fn write_table(t: &Table, out: &mut ReplyBuf, resp3: bool, depth: usize) -> mlua::Result<()> {
    if let Value::String(e) = t.raw_get::<Value>("err")? {
        // Redis sends "-%s": a text that starts with '-' keeps both dashes.
        out.error_text(&e.as_bytes());
        return Ok(());
    }
    if let Value::String(s) = t.raw_get::<Value>("ok")? {
        out.simple_bytes(&no_newlines(&s.as_bytes()));
        return Ok(());
    }
    if let Value::Number(d) = t.raw_get::<Value>("double")? {
        out.double(d);
        return Ok(());
    }
    if let Value::Integer(d) = t.raw_get::<Value>("double")? {
        out.double(d as f64);
        return Ok(());
    }
    if let Value::String(s) = t.raw_get::<Value>("big_number")? {
        let s = no_newlines(&s.as_bytes());
        if out.resp3 {
            out.buf.push(b'(');
            out.buf.extend_from_slice(&s);
            out.buf.extend_from_slice(b"\r\n");
        } else {
            out.bulk(&s);
        }
        return Ok(());
    }
    if let Value::Table(v) = t.raw_get::<Value>("verbatim_string")? {
        if let (Value::String(_), Value::String(s)) = (v.raw_get::<Value>("format")?, v.raw_get::<Value>("string")?) {
            out.verbatim(&s.as_bytes());
            return Ok(());
        }
    }
    if let Value::Table(m) = t.raw_get::<Value>("map")? {
        let d = out.defer_map();
        let mut n = 0;
        for pair in m.pairs::<Value, Value>() {
            let (k, v) = pair?;
            write_value(&k, out, resp3, depth + 1)?;
            write_value(&v, out, resp3, depth + 1)?;
            n += 1;
        }
        out.fill(d, n);
        return Ok(());
    }
    if let Value::Table(m) = t.raw_get::<Value>("set")? {
        let mut keys = Vec::new();
        for pair in m.pairs::<Value, Value>() {
            keys.push(pair?.0);
        }
        out.set(keys.len());
        for k in &keys {
            write_value(k, out, resp3, depth + 1)?;
        }
        return Ok(());
    }
    let d = out.defer_array();
    let mut n = 0;
    loop {
        let v: Value = t.raw_get(n + 1)?;
        if v.is_nil() {
            break;
        }
        write_value(&v, out, resp3, depth + 1)?;
        n += 1;
    }
    out.fill(d, n);
    Ok(())
}

fn no_newlines(s: &[u8]) -> Vec<u8> {
    s.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect()
}
