//! `struct` for scripts, as Roberto Ierusalimschy's struct library 0.2 that
//! Redis bundles: `pack(fmt, ...)`, `unpack(fmt, s [, i])`, `size(fmt)`.
//! Formats: `<` `>` `=` endianness, `![n]` alignment, `x` padding, `b B h H
//! l L T i[n] I[n]` integers (native sizes of x86-64 Linux), `f d` floats,
//! `s` zero-terminated string, `c[n]` fixed string (`c0`: sized by the string
//! on pack, by the previous number on unpack). (File named `lstruct` because
//! `struct` is a Rust keyword.)

use super::engine::Pending;
use super::libargs::{register, Call};
use mlua::{Lua, MultiValue, Value};

/// Largest `i[n]` / `I[n]` size.
const MAX_INT_SIZE: usize = 32;
/// `!` without a number: the platform's strictest alignment.
const MAX_ALIGN: usize = 8;

/// Format state: byte order and maximum alignment.
struct Header {
    little: bool,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header { little: true, align: 1 }
    }
}

/// A format string being read.
struct Fmt<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Fmt<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = self.s.get(self.pos).copied()?;
        self.pos += 1;
        Some(c)
    }

    /// An optional decimal count after an option.
    fn num(&mut self, c: &Call, default: usize) -> mlua::Result<usize> {
        if !self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: usize = 0;
        while let Some(d) = self.s.get(self.pos).filter(|d| d.is_ascii_digit()) {
            let d = (d - b'0') as usize;
            if a > i32::MAX as usize / 10 || a * 10 > i32::MAX as usize - d {
                return Err(c.error("integral size overflow"));
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a)
    }

    /// The size of option `opt` (0 for options without one).
    fn size(&mut self, c: &Call, opt: u8) -> mlua::Result<usize> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.num(c, 1)?,
            b'i' | b'I' => {
                let sz = self.num(c, 4)?;
                if sz > MAX_INT_SIZE {
                    let msg = format!("integral size {sz} is larger than limit of {MAX_INT_SIZE}");
                    return Err(c.error(&msg));
                }
                sz
            }
            _ => 0,
        })
    }

    /// Endianness, alignment and spaces; anything else is an invalid option.
    fn control(&mut self, c: &Call, opt: u8, h: &mut Header) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' | b'=' => h.little = true,
            b'!' => {
                let a = self.num(c, MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(c.error(&format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
            }
            _ => return Err(c.arg_error(1, &format!("invalid format option '{}'", opt as char))),
        }
        Ok(())
    }
}

/// Padding needed before an item of `size` at offset `len`.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn is_int(opt: u8) -> bool {
    matches!(opt, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

fn put_bytes(out: &mut Vec<u8>, le_bytes: &[u8], little: bool) {
    if little {
        out.extend_from_slice(le_bytes);
    } else {
        out.extend(le_bytes.iter().rev());
    }
}

fn pack(c: &Call) -> mlua::Result<mlua::String> {
    c.string(1)?;
    // struct.c pushes a nil after the arguments: the first missing one is nil.
    let mut args = c.args.clone();
    args.push_back(Value::Nil);
    let c = &Call { args, ..*c };
    let fmt = c.string(1)?;
    let fmt = fmt.as_bytes();
    let mut f = Fmt { s: &fmt, pos: 0 };
    let mut h = Header::new();
    let (mut arg, mut out) = (2, Vec::new());
    while let Some(opt) = f.next() {
        let mut size = f.size(c, opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            _ if is_int(opt) => {
                let n = c.number(arg)?;
                arg += 1;
                // Negative numbers go through a signed conversion (two's
                // complement); bytes past the 8th are zero.
                let v = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let mut le = [0u8; MAX_INT_SIZE];
                le[..8].copy_from_slice(&v.to_le_bytes());
                put_bytes(&mut out, &le[..size], h.little);
            }
            b'x' => out.push(0),
            b'f' => {
                let v = c.number(arg)? as f32;
                arg += 1;
                put_bytes(&mut out, &v.to_le_bytes(), h.little);
            }
            b'd' => {
                let v = c.number(arg)?;
                arg += 1;
                put_bytes(&mut out, &v.to_le_bytes(), h.little);
            }
            b'c' | b's' => {
                let s = c.string(arg)?;
                let s = s.as_bytes();
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // struct.c reports the argument after the string.
                    return Err(c.arg_error(arg as i64, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => f.control(c, opt, &mut h)?,
        }
    }
    c.lua.create_string(&out)
}

/// An integer of `bytes` (in `little` order) as a Lua number.
fn get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: u8| l = (l << 8) | b as u64;
    if little {
        bytes.iter().rev().for_each(|&b| push(b));
    } else {
        bytes.iter().for_each(|&b| push(b));
    }
    if !signed {
        return l as f64;
    }
    let bits = bytes.len() * 8;
    if bits > 0 && bits < 64 && l & (1 << (bits - 1)) != 0 {
        l |= u64::MAX << (bits - 1);
    }
    l as i64 as f64
}

fn ordered<const N: usize>(bytes: &[u8], little: bool) -> [u8; N] {
    let mut a: [u8; N] = bytes.try_into().expect("invariant: sized by the option");
    if !little {
        a.reverse();
    }
    a
}

fn unpack(c: &Call) -> mlua::Result<MultiValue> {
    let fmt = c.string(1)?;
    let fmt = fmt.as_bytes();
    let data = c.string(2)?;
    let data = data.as_bytes();
    let ld = data.len();
    let start = c.opt_integer(3, 1)?;
    if start < 1 {
        return Err(c.arg_error(3, "offset must be 1 or greater"));
    }
    let mut pos = (start - 1) as usize;
    let mut f = Fmt { s: &fmt, pos: 0 };
    let mut h = Header::new();
    let mut out: Vec<Value> = Vec::new();
    let short = || c.arg_error(2, "data string too short");
    while let Some(opt) = f.next() {
        let mut size = f.size(c, opt)?;
        pos += to_align(pos, &h, opt, size);
        if size > ld || pos > ld - size {
            return Err(short());
        }
        let item = &data[pos..pos + size];
        match opt {
            _ if is_int(opt) => out.push(Value::Number(get_integer(item, h.little, opt.is_ascii_lowercase()))),
            b'x' => {}
            b'f' => out.push(Value::Number(f32::from_le_bytes(ordered(item, h.little)) as f64)),
            b'd' => out.push(Value::Number(f64::from_le_bytes(ordered(item, h.little)))),
            b'c' => {
                if size == 0 {
                    let n = match out.last() {
                        Some(v) => c.lua.coerce_number(v.clone())?,
                        None => None,
                    };
                    let Some(n) = n else {
                        return Err(c.error("format 'c0' needs a previous size"));
                    };
                    out.pop();
                    size = n as usize;
                    if size > ld || pos > ld - size {
                        return Err(short());
                    }
                }
                out.push(Value::String(c.lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(end) = memchr::memchr(0, &data[pos..]) else {
                    return Err(c.error("unfinished string in data"));
                };
                out.push(Value::String(c.lua.create_string(&data[pos..pos + end])?));
                size = end + 1;
            }
            _ => f.control(c, opt, &mut h)?,
        }
        pos += size;
    }
    out.push(Value::Number((pos + 1) as f64));
    Ok(MultiValue::from_vec(out))
}

fn size(c: &Call) -> mlua::Result<f64> {
    let fmt = c.string(1)?;
    let fmt = fmt.as_bytes();
    let mut f = Fmt { s: &fmt, pos: 0 };
    let mut h = Header::new();
    let mut pos = 0;
    while let Some(opt) = f.next() {
        let size = f.size(c, opt)?;
        pos += to_align(pos, &h, opt, size);
        if opt == b's' {
            return Err(c.arg_error(1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(c.arg_error(1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(c, opt, &mut h)?;
        }
        pos += size;
    }
    Ok(pos as f64)
}

/// Installs the global `struct` table.
pub fn install(lua: &Lua, pending: &Pending) -> mlua::Result<()> {
    let t = lua.create_table()?;
    register(lua, &t, pending, "pack", pack)?;
    register(lua, &t, pending, "unpack", unpack)?;
    register(lua, &t, pending, "size", size)?;
    lua.globals().set("struct", t)
}
