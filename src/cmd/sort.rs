//! SORT and SORT_RO: option parsing in Redis 7.0's order (every option before
//! the key's type; LIMIT's integers when met), then `types::sort` does the
//! work and this file replies or stores the result as a list.

use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::types::{list, sort};

/// Whether STORE is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// SORT.
    ReadWrite,
    /// SORT_RO: STORE is a syntax error.
    ReadOnly,
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
///      [ASC | DESC] [ALPHA] [STORE destination]
/// O(N + M log M): N elements read, M sorted. Replies the output, or with
/// STORE its length (the destination becomes a list, or is deleted if empty).
pub fn sort(c: &mut Ctx, a: &Args) -> CmdResult {
    run(c, a, Mode::ReadWrite)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
/// O(N + M log M). SORT without STORE.
pub fn sort_ro(c: &mut Ctx, a: &Args) -> CmdResult {
    run(c, a, Mode::ReadOnly)
}

fn run(c: &mut Ctx, a: &Args, mode: Mode) -> CmdResult {
    let mut spec = sort::Spec { limit: (0, -1), ..sort::Spec::default() };
    let mut store = None;
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        if a.is(j, "ASC") {
            spec.desc = false;
        } else if a.is(j, "DESC") {
            spec.desc = true;
        } else if a.is(j, "ALPHA") {
            spec.alpha = true;
        } else if a.is(j, "LIMIT") && left >= 2 {
            spec.limit = (a.i64(j + 1)?, a.i64(j + 2)?);
            j += 2;
        } else if mode == Mode::ReadWrite && a.is(j, "STORE") && left >= 1 {
            store = Some(a.get(j + 1));
            j += 1;
        } else if a.is(j, "BY") && left >= 1 {
            spec.by = Some(a.get(j + 1));
            j += 1;
        } else if a.is(j, "GET") && left >= 1 {
            spec.gets.push(a.get(j + 1));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    spec.store = store.is_some();
    let out = sort::sort(&mut c.tx, a.get(1), &spec)?;
    match store {
        Some(dst) => {
            // Redis stores a nil GET as an empty string.
            let n = list::replace(&mut c.tx, dst, out.iter().map(|v| v.as_deref().unwrap_or_default()))?;
            c.out.int(n as i64);
        }
        None => {
            c.out.array(out.len());
            for v in &out {
                match v {
                    Some(v) => c.out.bulk(v),
                    None => c.out.null(),
                }
            }
        }
    }
    Ok(())
}
