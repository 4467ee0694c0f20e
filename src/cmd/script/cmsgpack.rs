//! `cmsgpack` for scripts, as lua-cmsgpack 0.4.0 (bundled by Redis):
//! `pack(...)` encodes each argument and concatenates them; `unpack(s)`
//! returns every value in `s`; `unpack_one(s [, offset])` and
//! `unpack_limit(s, limit [, offset])` return the next offset (-1 at the
//! end) then the values. Integral numbers pack as the smallest integer
//! format, others as float32 when exact, else float64; a table whose keys are
//! exactly 1..n packs as an array, any other as a map; nesting deeper than
//! 16 packs as nil (so cyclic tables terminate).

use super::engine::Pending;
use super::libargs::{register, Call};
use mlua::{Lua, MultiValue, Table, Value};

/// Tables nested deeper than this pack as nil.
const MAX_NESTING: usize = 16;

fn encode_int(n: i64, out: &mut Vec<u8>) {
    match n {
        0..=127 => out.push(n as u8),
        128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        0x1_0000_0000.. => {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
        -32..=-1 => out.push(n as i8 as u8),
        -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    // An integral double (in i64 range) packs as an integer.
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) && n.fract() == 0.0 {
        return encode_int(n as i64, out);
    }
    let f = n as f32;
    if f as f64 == n || n.is_nan() {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A header of a string, array or map of `len` items: the fix form for
/// small lengths (under `fix_max`), else the 8/16/32-bit forms given.
fn encode_len(len: usize, fix: u8, fix_max: usize, forms: [Option<u8>; 3], out: &mut Vec<u8>) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if let (Some(tag), true) = (forms[0], len <= 0xff) {
        out.extend_from_slice(&[tag, len as u8]);
    } else if len <= 0xffff {
        out.push(forms[1].expect("invariant: every form has 16-bit lengths"));
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(forms[2].expect("invariant: every form has 32-bit lengths"));
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// lua-cmsgpack's array test: every key a positive integral number and the
/// largest equal to the count (the empty table is an array).
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let (mut max, mut count) = (0f64, 0f64);
    for pair in t.clone().pairs::<Value, Value>() {
        let n = match pair?.0 {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n <= 0.0 || n.fract() != 0.0 {
            return Ok(None);
        }
        max = max.max(n);
        count += 1.0;
    }
    Ok((max == count).then_some(count as usize))
}

fn encode(v: &Value, out: &mut Vec<u8>, level: usize) -> mlua::Result<()> {
    match v {
        Value::String(s) => {
            let s = s.as_bytes();
            encode_len(s.len(), 0xa0, 31, [Some(0xd9), Some(0xda), Some(0xdb)], out);
            out.extend_from_slice(&s);
        }
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(*i, out),
        Value::Number(n) => encode_number(*n, out),
        Value::Table(t) if level < MAX_NESTING => match array_len(t)? {
            Some(len) => {
                encode_len(len, 0x90, 15, [None, Some(0xdc), Some(0xdd)], out);
                for i in 1..=len {
                    encode(&t.raw_get::<Value>(i)?, out, level + 1)?;
                }
            }
            None => {
                let pairs = t.clone().pairs::<Value, Value>().collect::<mlua::Result<Vec<_>>>()?;
                encode_len(pairs.len(), 0x80, 15, [None, Some(0xde), Some(0xdf)], out);
                for (k, v) in &pairs {
                    encode(k, out, level + 1)?;
                    encode(v, out, level + 1)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

fn pack(c: &Call) -> mlua::Result<mlua::String> {
    if c.args.is_empty() {
        return Err(c.arg_error(0, "MessagePack pack needs input."));
    }
    let mut out = Vec::new();
    for v in c.args.iter() {
        encode(v, &mut out, 0)?;
    }
    c.lua.create_string(&out)
}

/// Why decoding stopped.
enum DecodeError {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

/// A cursor over packed bytes.
struct Cursor<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.s.len() - self.pos < n {
            return Err(DecodeError::Eof);
        }
        self.pos += n;
        Ok(&self.s[self.pos - n..self.pos])
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self.take(n)?.iter().fold(0u64, |a, &b| (a << 8) | b as u64))
    }

    fn value(&mut self) -> Result<Value, DecodeError> {
        let tag = self.take(1)?[0];
        let num = |n: f64| Ok(Value::Number(n));
        match tag {
            0xcc => num(self.be(1)? as f64),
            0xd0 => num(self.be(1)? as u8 as i8 as f64),
            0xcd => num(self.be(2)? as f64),
            0xd1 => num(self.be(2)? as u16 as i16 as f64),
            0xce => num(self.be(4)? as f64),
            0xd2 => num(self.be(4)? as u32 as i32 as f64),
            // lua-cmsgpack reads uint64 as a signed integer.
            0xcf => num(self.be(8)? as i64 as f64),
            0xd3 => num(self.be(8)? as i64 as f64),
            0xc0 => Ok(Value::Nil),
            0xc3 => Ok(Value::Boolean(true)),
            0xc2 => Ok(Value::Boolean(false)),
            0xca => num(f32::from_bits(self.be(4)? as u32) as f64),
            0xcb => num(f64::from_bits(self.be(8)?)),
            // (bin 8/16/32 are not understood: bad format.)
            0xd9 => self.string(1),
            0xda => self.string(2),
            0xdb => self.string(4),
            0xdc => self.array(2),
            0xdd => self.array(4),
            0xde => self.map(2),
            0xdf => self.map(4),
            0x00..=0x7f => num(tag as f64),
            0xe0..=0xff => num(tag as i8 as f64),
            0xa0..=0xbf => self.string_of((tag & 0x1f) as usize),
            0x90..=0x9f => self.array_of((tag & 0x0f) as usize),
            0x80..=0x8f => self.map_of((tag & 0x0f) as usize),
            _ => Err(DecodeError::BadFormat),
        }
    }

    fn string(&mut self, len_bytes: usize) -> Result<Value, DecodeError> {
        let n = self.be(len_bytes)? as usize;
        self.string_of(n)
    }

    fn string_of(&mut self, n: usize) -> Result<Value, DecodeError> {
        let lua = self.lua;
        Ok(Value::String(lua.create_string(self.take(n)?)?))
    }

    fn array(&mut self, len_bytes: usize) -> Result<Value, DecodeError> {
        let n = self.be(len_bytes)? as usize;
        self.array_of(n)
    }

    fn array_of(&mut self, n: usize) -> Result<Value, DecodeError> {
        let t = self.lua.create_table()?;
        for i in 1..=n {
            let v = self.value()?;
            t.raw_set(i, v)?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, len_bytes: usize) -> Result<Value, DecodeError> {
        let n = self.be(len_bytes)? as usize;
        self.map_of(n)
    }

    fn map_of(&mut self, n: usize) -> Result<Value, DecodeError> {
        let t = self.lua.create_table()?;
        for _ in 0..n {
            let k = self.value()?;
            let v = self.value()?;
            t.set(k, v)?;
        }
        Ok(Value::Table(t))
    }
}

/// lua-cmsgpack's `mp_unpack_full`: up to `limit` values from `offset`
/// (both 0: every value, and no offset returned).
fn unpack_full(c: &Call, limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    let s = c.string(1)?;
    let s = s.as_bytes();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        // (lua-cmsgpack prints the input length as the limit.)
        let msg = format!("Invalid request to unpack with offset of {offset} and limit of {}.", s.len());
        return Err(c.error(&msg));
    }
    if offset as usize > s.len() {
        return Err(c.error(&format!("Start offset {offset} greater than input length {}.", s.len())));
    }
    let limit = if decode_all { i64::MAX } else { limit };
    let mut cur = Cursor { lua: c.lua, s: &s, pos: offset as usize };
    let mut out = Vec::new();
    while cur.pos < s.len() && (out.len() as i64) < limit {
        match cur.value() {
            Ok(v) => out.push(v),
            Err(DecodeError::Eof) => return Err(c.error("Missing bytes in input.")),
            Err(DecodeError::BadFormat) => return Err(c.error("Bad data format in input.")),
            Err(DecodeError::Lua(e)) => return Err(e),
        }
    }
    if !decode_all {
        let next = if cur.pos == s.len() { -1 } else { cur.pos as i64 };
        out.insert(0, Value::Integer(next));
    }
    Ok(MultiValue::from_vec(out))
}

/// Installs the global `cmsgpack` table.
pub fn install(lua: &Lua, pending: &Pending) -> mlua::Result<()> {
    let t = lua.create_table()?;
    register(lua, &t, pending, "pack", pack)?;
    register(lua, &t, pending, "unpack", |c| unpack_full(c, 0, 0))?;
    register(lua, &t, pending, "unpack_one", |c| {
        let offset = c.opt_integer(2, 0)?;
        unpack_full(c, 1, offset)
    })?;
    register(lua, &t, pending, "unpack_limit", |c| {
        let limit = c.number(2)? as i64;
        let offset = c.opt_integer(3, 0)?;
        unpack_full(c, limit, offset)
    })?;
    t.set("_NAME", "cmsgpack")?;
    t.set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    lua.globals().set("cmsgpack", t)
}
