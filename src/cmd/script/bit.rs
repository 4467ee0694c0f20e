//! `bit` for scripts, as LuaBitOp 1.0 (bundled by Redis): 32-bit operations
//! on Lua numbers. Arguments are normalised like LuaBitOp does, by adding
//! 2^52+2^51 and keeping the low 32 bits of the double (modular wrap-around,
//! fractions rounded to even); results are signed 32-bit numbers.

use super::engine::Pending;
use super::libargs::{register, Call};
use mlua::Lua;

/// Argument `n` as LuaBitOp's `barg`.
fn barg(c: &Call, n: usize) -> mlua::Result<i32> {
    let x = c.number(n)? + 6_755_399_441_055_744.0;
    Ok(x.to_bits() as u32 as i32)
}

fn fold(c: &Call, op: fn(i32, i32) -> i32) -> mlua::Result<f64> {
    let mut b = barg(c, 1)?;
    for n in 2..=c.args.len() {
        b = op(b, barg(c, n)?);
    }
    Ok(b as f64)
}

fn shift(c: &Call, op: fn(u32, u32) -> u32) -> mlua::Result<f64> {
    let (b, n) = (barg(c, 1)? as u32, barg(c, 2)? as u32 & 31);
    Ok(op(b, n) as i32 as f64)
}

fn tohex(c: &Call) -> mlua::Result<mlua::String> {
    let b = barg(c, 1)? as u32;
    let mut n = if c.arg(2).is_none() { 8 } else { barg(c, 2)? };
    let upper = n < 0;
    if upper {
        n = n.wrapping_neg();
    }
    let n = n.clamp(0, 8) as usize;
    let s = if upper { format!("{b:08X}") } else { format!("{b:08x}") };
    c.lua.create_string(&s[8 - n..])
}

/// Installs the global `bit` table.
pub fn install(lua: &Lua, pending: &Pending) -> mlua::Result<()> {
    let t = lua.create_table()?;
    register(lua, &t, pending, "tobit", |c| Ok(barg(c, 1)? as f64))?;
    register(lua, &t, pending, "bnot", |c| Ok(!barg(c, 1)? as f64))?;
    register(lua, &t, pending, "bswap", |c| Ok(barg(c, 1)?.swap_bytes() as f64))?;
    register(lua, &t, pending, "tohex", tohex)?;
    register(lua, &t, pending, "band", |c| fold(c, |a, b| a & b))?;
    register(lua, &t, pending, "bor", |c| fold(c, |a, b| a | b))?;
    register(lua, &t, pending, "bxor", |c| fold(c, |a, b| a ^ b))?;
    register(lua, &t, pending, "lshift", |c| shift(c, |b, n| b << n))?;
    register(lua, &t, pending, "rshift", |c| shift(c, |b, n| b >> n))?;
    register(lua, &t, pending, "arshift", |c| shift(c, |b, n| ((b as i32) >> n) as u32))?;
    register(lua, &t, pending, "rol", |c| shift(c, |b, n| b.rotate_left(n)))?;
    register(lua, &t, pending, "ror", |c| shift(c, |b, n| b.rotate_right(n)))?;
    lua.globals().set("bit", t)
}
