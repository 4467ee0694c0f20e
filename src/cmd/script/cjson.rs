//! `cjson` for scripts, behaving like the lua-cjson 2.1 Redis bundles:
//! `encode` (arrays vs objects by their keys, `%.14g` numbers, `/` escaped,
//! sparse arrays refused), `decode` (with lua-cjson's error texts and
//! `cjson.null`). Errors name the user's line, as lua-cjson's `luaL_error`.

use super::engine::{raise_here, Pending};
use mlua::{LightUserData, Lua, MultiValue, Table, Value};

/// Deepest nesting encode and decode accept (lua-cjson's default).
const MAX_DEPTH: usize = 1000;

/// Installs the global `cjson` table.
pub fn install(lua: &Lua, pending: &Pending) -> mlua::Result<()> {
    let t = lua.create_table()?;
    let p = pending.clone();
    t.set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_here(lua, &p, "bad argument #1 to 'encode' (expected 1 argument)"));
            }
            let mut out = Vec::new();
            encode(&args[0], &mut out, 0).map_err(|e| raise_here(lua, &p, &e))?;
            lua.create_string(&out)
        })?,
    )?;
    let p = pending.clone();
    t.set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_here(lua, &p, "bad argument #1 to 'decode' (expected 1 argument)"));
            }
            let s = match &args[0] {
                Value::String(_) | Value::Integer(_) | Value::Number(_) => {
                    lua.coerce_string(args[0].clone())?.expect("invariant: strings and numbers coerce")
                }
                other => {
                    let msg = format!("bad argument #1 to 'decode' (string expected, got {})", other.type_name());
                    return Err(raise_here(lua, &p, &msg));
                }
            };
            let bytes = s.as_bytes();
            let mut parser = Parser { lua, s: &bytes, pos: 0 };
            parser.document().map_err(|e| raise_here(lua, &p, &e))
        })?,
    )?;
    t.set("null", Value::LightUserData(LightUserData(std::ptr::null_mut())))?;
    lua.globals().set("cjson", t)
}

/// `n` as C's `%.14g` (also Lua 5.1's number format).
pub fn fmt_g14(n: f64) -> String {
    if n == 0.0 {
        return if n.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.13e}", n);
    let (mant, exp) = sci.split_once('e').expect("invariant: {:e} has an exponent");
    let exp: i32 = exp.parse().expect("invariant: {:e} exponent is an integer");
    if !(-4..14).contains(&exp) {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let fixed = format!("{:.*}", (13 - exp).max(0) as usize, n);
    trim_zeros(&fixed).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err("Cannot serialise number: must not be NaN or Inf".into());
            }
            out.extend_from_slice(fmt_g14(*n).as_bytes());
        }
        Value::String(s) => escape(&s.as_bytes(), out),
        Value::Table(t) => {
            if depth + 1 > MAX_DEPTH {
                return Err(format!("Cannot serialise, excessive nesting ({})", depth + 1));
            }
            encode_table(t, out, depth + 1)?;
        }
        other => return Err(format!("Cannot serialise {}: type not supported", other.type_name())),
    }
    Ok(())
}

/// The array length lua-cjson sees: Some(max) if every key is a positive
/// integer, None for an object; an error for an excessively sparse array.
fn array_length(t: &Table) -> Result<Option<usize>, String> {
    let (mut max, mut items) = (0usize, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        let n = match k {
            Value::Integer(i) if i >= 1 => i as f64,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n,
            _ => return Ok(None),
        };
        max = max.max(n as usize);
        items += 1;
    }
    if max > items * 2 && max > 10 {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok(Some(max))
}

fn encode_table(t: &Table, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match array_length(t)? {
        Some(len) if len > 0 => {
            out.push(b'[');
            for i in 1..=len {
                if i > 1 {
                    out.push(b',');
                }
                let v: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                encode(&v, out, depth)?;
            }
            out.push(b']');
        }
        _ => {
            out.push(b'{');
            let mut first = true;
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                if !first {
                    out.push(b',');
                }
                first = false;
                match &k {
                    Value::String(s) => escape(&s.as_bytes(), out),
                    Value::Integer(i) => escape(i.to_string().as_bytes(), out),
                    Value::Number(n) => escape(fmt_g14(*n).as_bytes(), out),
                    other => {
                        return Err(format!(
                            "Cannot serialise {}: table key must be a number or string",
                            other.type_name()
                        ))
                    }
                }
                out.push(b':');
                encode(&v, out, depth)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn escape(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// lua-cjson's token kinds, named as its error messages name them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num,
    Bool,
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num => "T_NUMBER",
            Tok::Bool => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(m) => m,
        }
    }
}

struct Parser<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn document(&mut self) -> Result<Value, String> {
        let (tok, at, v) = self.next()?;
        let v = self.value(tok, at, v, 1)?;
        let (tok, at, _) = self.next()?;
        if tok != Tok::End {
            return Err(expected("the end", tok, at));
        }
        Ok(v)
    }

    fn value(&mut self, tok: Tok, at: usize, v: Value, depth: usize) -> Result<Value, String> {
        match tok {
            Tok::Str | Tok::Num | Tok::Bool | Tok::Null => Ok(v),
            Tok::ObjBegin | Tok::ArrBegin => {
                if depth > MAX_DEPTH {
                    return Err(format!("Found too many nested data structures ({depth}) at character {}", at + 1));
                }
                let t = self.lua.create_table().map_err(|e| e.to_string())?;
                if tok == Tok::ObjBegin {
                    self.object(&t, depth)?;
                } else {
                    self.array(&t, depth)?;
                }
                Ok(Value::Table(t))
            }
            other => Err(expected("value", other, at)),
        }
    }

    fn object(&mut self, t: &Table, depth: usize) -> Result<(), String> {
        let (mut tok, mut at, mut k) = self.next()?;
        if tok == Tok::ObjEnd {
            return Ok(());
        }
        loop {
            if tok != Tok::Str {
                return Err(expected("object key string", tok, at));
            }
            let (ct, cat, _) = self.next()?;
            if ct != Tok::Colon {
                return Err(expected("colon", ct, cat));
            }
            let (vt, vat, v) = self.next()?;
            let v = self.value(vt, vat, v, depth + 1)?;
            t.raw_set(k, v).map_err(|e| e.to_string())?;
            let (nt, nat, _) = self.next()?;
            match nt {
                Tok::ObjEnd => return Ok(()),
                Tok::Comma => {}
                other => return Err(expected("comma or object end", other, nat)),
            }
            (tok, at, k) = self.next()?;
        }
    }

    fn array(&mut self, t: &Table, depth: usize) -> Result<(), String> {
        let (mut tok, mut at, mut v) = self.next()?;
        if tok == Tok::ArrEnd {
            return Ok(());
        }
        let mut i = 1;
        loop {
            let item = self.value(tok, at, v, depth + 1)?;
            t.raw_set(i, item).map_err(|e| e.to_string())?;
            i += 1;
            let (nt, nat, _) = self.next()?;
            match nt {
                Tok::ArrEnd => return Ok(()),
                Tok::Comma => {}
                other => return Err(expected("comma or array end", other, nat)),
            }
            (tok, at, v) = self.next()?;
        }
    }

    /// The next token, where it starts, and its value (for scalars).
    fn next(&mut self) -> Result<(Tok, usize, Value), String> {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let at = self.pos;
        let Some(&c) = self.s.get(at) else {
            return Ok((Tok::End, at, Value::Nil));
        };
        let single = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return Ok((t, at, Value::Nil));
        }
        match c {
            b'"' => self.string(at),
            b'-' | b'0'..=b'9' => {
                let end = self.s[at..]
                    .iter()
                    .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .map_or(self.s.len(), |p| at + p);
                match std::str::from_utf8(&self.s[at..end]).ok().and_then(|s| s.parse::<f64>().ok()) {
                    Some(n) => {
                        self.pos = end;
                        Ok((Tok::Num, at, Value::Number(n)))
                    }
                    None => Ok((Tok::Error("invalid number"), at, Value::Nil)),
                }
            }
            _ => {
                for (word, tok, v) in [
                    (&b"true"[..], Tok::Bool, Value::Boolean(true)),
                    (b"false", Tok::Bool, Value::Boolean(false)),
                    (b"null", Tok::Null, Value::LightUserData(LightUserData(std::ptr::null_mut()))),
                ] {
                    if self.s[at..].starts_with(word) {
                        self.pos += word.len();
                        return Ok((tok, at, v));
                    }
                }
                Ok((Tok::Error("invalid token"), at, Value::Nil))
            }
        }
    }

    fn string(&mut self, at: usize) -> Result<(Tok, usize, Value), String> {
        let mut out = Vec::new();
        let mut i = at + 1;
        loop {
            let Some(&c) = self.s.get(i) else {
                return Ok((Tok::Error("unexpected end of string"), at, Value::Nil));
            };
            i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(i) else {
                        return Ok((Tok::Error("unexpected end of string"), at, Value::Nil));
                    };
                    i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => match self.unicode(&mut i) {
                            Some(ch) => {
                                let mut b = [0u8; 4];
                                out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                            }
                            None => return Ok((Tok::Error("invalid unicode escape code"), at, Value::Nil)),
                        },
                        _ => return Ok((Tok::Error("invalid escape code"), at, Value::Nil)),
                    }
                }
                _ => out.push(c),
            }
        }
        self.pos = i;
        let s = self.lua.create_string(&out).map_err(|e| e.to_string())?;
        Ok((Tok::Str, at, Value::String(s)))
    }

    fn hex4(&self, i: usize) -> Option<u32> {
        let h = self.s.get(i..i + 4)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    fn unicode(&self, i: &mut usize) -> Option<char> {
        let hi = self.hex4(*i)?;
        *i += 4;
        if (0xd800..0xdc00).contains(&hi) {
            if self.s.get(*i..*i + 2) != Some(b"\\u") {
                return None;
            }
            let lo = self.hex4(*i + 2)?;
            if !(0xdc00..0xe000).contains(&lo) {
                return None;
            }
            *i += 6;
            return char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
        }
        char::from_u32(hi)
    }
}

fn expected(what: &str, found: Tok, at: usize) -> String {
    format!("Expected {what} but found {} at character {}", found.name(), at + 1)
}

#[cfg(test)]
mod tests {
    use super::fmt_g14;

    #[test]
    fn g14_matches_c() {
        assert_eq!(fmt_g14(0.1 + 0.2), "0.3");
        assert_eq!(fmt_g14(1e300), "1e+300");
        assert_eq!(fmt_g14(1.5), "1.5");
        assert_eq!(fmt_g14(100.0), "100");
        assert_eq!(fmt_g14(1e14), "1e+14");
        assert_eq!(fmt_g14(123456789012345.0), "1.2345678901234e+14");
        assert_eq!(fmt_g14(0.0001), "0.0001");
        assert_eq!(fmt_g14(0.00001), "1e-05");
        assert_eq!(fmt_g14(-2.5), "-2.5");
    }
}
