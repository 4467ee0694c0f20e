//! Argument checks for the Rust-written Lua libraries (`bit`, `struct`,
//! `cmsgpack`), with the texts of Lua 5.1's `luaL_check*` helpers so errors
//! read exactly as Redis's C libraries raise them.

use super::engine::{raise_here, Pending};
use mlua::{Lua, MultiValue, Value};

/// One call of a library function: its arguments and what errors need.
pub struct Call<'a> {
    /// The VM.
    pub lua: &'a Lua,
    /// Where errors leave their text.
    pub pending: &'a Pending,
    /// The function's name, as `luaL_argerror` names it.
    pub name: &'static str,
    /// The arguments as passed.
    pub args: MultiValue,
}

/// Lua 5.1's name of a value's type (`luaL_typename`).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) | Value::Number(_) => "number",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        other => other.type_name(),
    }
}

impl Call<'_> {
    /// Argument `n` (1-based); `None` when absent ("no value").
    pub fn arg(&self, n: usize) -> Option<&Value> {
        self.args.get(n - 1)
    }

    /// `luaL_error`: `msg` with the caller's position.
    pub fn error(&self, msg: &str) -> mlua::Error {
        raise_here(self.lua, self.pending, msg)
    }

    /// `luaL_argerror`.
    pub fn arg_error(&self, n: i64, msg: &str) -> mlua::Error {
        self.error(&format!("bad argument #{n} to '{}' ({msg})", self.name))
    }

    fn type_error(&self, n: usize, expected: &str) -> mlua::Error {
        let got = self.arg(n).map_or("no value", type_name);
        self.arg_error(n as i64, &format!("{expected} expected, got {got}"))
    }

    /// `luaL_checknumber`: numbers and numeric strings.
    pub fn number(&self, n: usize) -> mlua::Result<f64> {
        match self.arg(n) {
            Some(Value::Integer(i)) => Ok(*i as f64),
            Some(Value::Number(x)) => Ok(*x),
            Some(v @ Value::String(_)) => match self.lua.coerce_number(v.clone())? {
                Some(x) => Ok(x),
                None => Err(self.type_error(n, "number")),
            },
            _ => Err(self.type_error(n, "number")),
        }
    }

    /// `luaL_optinteger`: `default` when absent or nil.
    pub fn opt_integer(&self, n: usize, default: i64) -> mlua::Result<i64> {
        match self.arg(n) {
            None | Some(Value::Nil) => Ok(default),
            Some(_) => Ok(self.number(n)? as i64),
        }
    }

    /// `luaL_checklstring`: strings and numbers (converted as Lua does).
    pub fn string(&self, n: usize) -> mlua::Result<mlua::String> {
        match self.arg(n) {
            Some(v @ (Value::String(_) | Value::Integer(_) | Value::Number(_))) => {
                Ok(self.lua.coerce_string(v.clone())?.expect("invariant: strings and numbers coerce"))
            }
            _ => Err(self.type_error(n, "string")),
        }
    }
}

/// Registers `f` as `table[name]`, handing it a `Call`.
pub fn register<R: mlua::IntoLuaMulti + 'static>(
    lua: &Lua,
    table: &mlua::Table,
    pending: &Pending,
    name: &'static str,
    f: fn(&Call) -> mlua::Result<R>,
) -> mlua::Result<()> {
    let p = pending.clone();
    let func = lua.create_function(move |lua, args: MultiValue| f(&Call { lua, pending: &p, name, args }))?;
    table.set(name, func)
}
