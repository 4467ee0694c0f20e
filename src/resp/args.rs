//! `Args`: a command's arguments as slices into one buffer (the connection's
//! input buffer, or an owned copy for queued commands), with typed accessors
//! that produce Redis's error texts.

use crate::error::CmdError;
use crate::resp::ffi::Span;
use crate::util::{parse_f64, parse_i64};

/// Borrowed arguments: `buf[off..off+len]` for each span. Index 0 is the name.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    buf: &'a [u8],
    spans: &'a [Span],
}

impl<'a> Args<'a> {
    /// Arguments over `buf` at `spans` (as the parser reports them).
    pub fn new(buf: &'a [u8], spans: &'a [Span]) -> Self {
        Args { buf, spans }
    }

    /// Number of arguments, the command name included.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if there are no arguments at all.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `i` (panics if out of range: arity is checked by the dispatcher).
    pub fn get(&self, i: usize) -> &'a [u8] {
        let s = self.spans[i];
        &self.buf[s.off..s.off + s.len]
    }

    /// Argument `i` if present.
    pub fn opt(&self, i: usize) -> Option<&'a [u8]> {
        (i < self.len()).then(|| self.get(i))
    }

    /// Arguments from index `from` on.
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + '_ {
        (from..self.len()).map(move |i| self.get(i))
    }

    /// Argument `i` as an integer (`ERR value is not an integer or out of range`).
    pub fn i64(&self, i: usize) -> Result<i64, CmdError> {
        parse_i64(self.get(i)).ok_or(CmdError::NotInteger)
    }

    /// Argument `i` as a float (`ERR value is not a valid float`).
    pub fn f64(&self, i: usize) -> Result<f64, CmdError> {
        parse_f64(self.get(i)).ok_or(CmdError::NotFloat)
    }

    /// True if argument `i` equals `word` ignoring ASCII case.
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }

    /// The command name, lowercased, for error messages.
    pub fn name_lower(&self) -> String {
        String::from_utf8_lossy(self.get(0)).to_lowercase()
    }

    /// Copies the arguments into `o`, reusing its buffers (a script
    /// command's arguments, copied per call).
    pub fn copy_into(&self, o: &mut OwnedArgs) {
        o.buf.clear();
        o.spans.clear();
        o.extend(self.iter_from(0));
    }

    /// Copies the arguments out (for MULTI queues, blocked commands).
    pub fn to_owned_args(&self) -> OwnedArgs {
        // Sized up front: growing two vectors argument by argument cost
        // more than the copy.
        let mut o = OwnedArgs {
            buf: Vec::with_capacity(self.iter_from(0).map(<[u8]>::len).sum()),
            spans: Vec::with_capacity(self.len()),
        };
        o.extend(self.iter_from(0));
        o
    }
}

/// Arguments that own their bytes.
#[derive(Clone, Debug, Default)]
pub struct OwnedArgs {
    buf: Vec<u8>,
    spans: Vec<Span>,
}

impl OwnedArgs {
    /// Builds from any sequence of byte strings.
    pub fn from_slices<'b>(it: impl IntoIterator<Item = &'b [u8]>) -> Self {
        let mut o = OwnedArgs::default();
        o.extend(it);
        o
    }

    fn extend<'b>(&mut self, it: impl IntoIterator<Item = &'b [u8]>) {
        for a in it {
            self.spans.push(Span { off: self.buf.len(), len: a.len() });
            self.buf.extend_from_slice(a);
        }
    }

    /// A borrowed view.
    pub fn as_args(&self) -> Args<'_> {
        Args::new(&self.buf, &self.spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access() {
        let o = OwnedArgs::from_slices([&b"SET"[..], b"k", b"12", b"x", b"1.5"]);
        let a = o.as_args();
        assert_eq!(a.len(), 5);
        assert_eq!(a.get(1), b"k");
        assert_eq!(a.i64(2), Ok(12));
        assert_eq!(a.i64(3), Err(CmdError::NotInteger));
        assert_eq!(a.f64(4), Ok(1.5));
        assert!(a.is(0, "set"));
        assert_eq!(a.opt(9), None);
        assert_eq!(a.iter_from(3).count(), 2);
    }
}
