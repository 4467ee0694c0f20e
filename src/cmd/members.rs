//! Handler pieces shared by the collection families: the HSCAN / SSCAN /
//! ZSCAN body (cursor, MATCH and COUNT parsing, the page, the reply), and
//! the count argument of SRANDMEMBER / HRANDFIELD / ZRANDMEMBER.
//!
//! Cursors are numbers from `ServerState::scan_cursors` standing for the last
//! member examined, as for SCAN (an unknown cursor starts over, which SCAN's
//! guarantees allow).

use super::keys::{parse_cursor, parse_scan_opts, resume_point, TypeOption};
use super::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::resp::args::Args;
use crate::resp::reply::ReplyBuf;
use crate::storage::Type;
use crate::types::members::{self, Element, Members, Pick, SMALL};
use crate::util::fmt_double;

/// What a member scan replies after each member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanValue {
    /// Nothing (SSCAN).
    Nothing,
    /// The stored value (HSCAN).
    Raw,
    /// The stored 8-byte score, printed like Redis (ZSCAN).
    Score,
}

/// HSCAN / SSCAN / ZSCAN key cursor [MATCH pattern] [COUNT count]
/// O(COUNT) per call. Checks in Redis's order: the cursor, the key's type,
/// then (only for an existing key) the options. A collection of at most
/// [`SMALL`] elements is returned in one call with cursor 0, as Redis does
/// for its compact encodings.
pub fn scan(c: &mut Ctx, a: &Args, ty: Type, value: ScanValue) -> CmdResult {
    let cursor = parse_cursor(a.get(2)).ok_or(CmdError::Err("invalid cursor"))?;
    let key = a.get(1);
    let Some(meta) = members::lookup(&mut c.tx, key, ty)? else {
        reply(c.out, 0, &[], value);
        return Ok(());
    };
    let opts = parse_scan_opts(a, 3, TypeOption::Refused)?;
    let (mut count, pattern) = (opts.count, opts.pattern);
    if meta.len() <= SMALL {
        count = usize::MAX;
    }
    let after = resume_point(c, cursor);
    let page = Members::new(c.tx.store(), c.tx.db, key, &meta).scan(after.as_deref(), count, pattern)?;
    let next = page.resume_after.map_or(0, |k| c.state.scan_cursors.store(k));
    reply(c.out, next, &page.elements, value);
    Ok(())
}

/// `[cursor, [member, (value,) ...]]`, every item a bulk string.
fn reply(out: &mut ReplyBuf, next: u64, elements: &[Element], value: ScanValue) {
    out.array(2);
    let mut digits = itoa::Buffer::new();
    out.bulk(digits.format(next).as_bytes());
    let per = if value == ScanValue::Nothing { 1 } else { 2 };
    out.array(elements.len() * per);
    for (member, v) in elements {
        out.bulk(member);
        match value {
            ScanValue::Nothing => {}
            ScanValue::Raw => out.bulk(v),
            ScanValue::Score => {
                let bits = v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(0);
                let mut buf = [0u8; 40];
                out.bulk(fmt_double(f64::from_bits(bits), &mut buf));
            }
        }
    }
}

/// The count of SRANDMEMBER / HRANDFIELD / ZRANDMEMBER at argument `i`: a
/// non-negative count asks for distinct elements, a negative one for that
/// many independent draws. Redis accepts `-LONG_MAX..=LONG_MAX`.
pub fn rand_count(a: &Args, i: usize) -> Result<Pick, CmdError> {
    let n = a.i64(i)?;
    if n == i64::MIN {
        return Err(CmdError::Err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(if n >= 0 { Pick::Distinct(n as u64) } else { Pick::Repeated(n.unsigned_abs()) })
}
