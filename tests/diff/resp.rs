//! Raw RESP frames for the differential runner: where one reply ends in a
//! byte stream, the canonical form of an unordered reply, and a printable
//! escape of reply bytes. Replies are compared as bytes, so nothing here
//! interprets values; it only finds frame boundaries (RESP2 and RESP3,
//! including attributes and push frames).

/// Which replies are compared as multisets (script lines `~ ` and `~~ `).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Byte-for-byte.
    Exact,
    /// The top-level aggregate's elements (map: its pairs) in any order.
    Top,
    /// Every aggregate, at every depth, in any order.
    Deep,
}

/// End of the `\r\n`-terminated line starting at `at`: (line without CRLF, offset after CRLF).
fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let i = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..i], at + i + 2))
}

fn number(text: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad length {:?}", String::from_utf8_lossy(text)))
}

/// Offset just past the frame starting at `at`: `Ok(None)` if more bytes are
/// needed, `Err` if the bytes are not RESP.
pub fn frame_end(buf: &[u8], at: usize) -> Result<Option<usize>, String> {
    let Some((head, mut end)) = line(buf, at) else { return Ok(None) };
    let Some((&kind, text)) = head.split_first() else { return Err("empty reply line".into()) };
    let children = match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => return Ok(Some(end)),
        b'$' | b'!' | b'=' => {
            let n = number(text)?;
            if n < 0 {
                return Ok(Some(end));
            }
            let stop = end + n as usize + 2;
            return Ok((buf.len() >= stop).then_some(stop));
        }
        b'*' | b'~' | b'>' => number(text)?.max(0),
        b'%' => number(text)?.max(0) * 2,
        // An attribute map is a prefix of the reply it annotates.
        b'|' => number(text)?.max(0) * 2 + 1,
        other => return Err(format!("unknown reply type byte {:?}", other as char)),
    };
    for _ in 0..children {
        match frame_end(buf, end)? {
            Some(e) => end = e,
            None => return Ok(None),
        }
    }
    Ok(Some(end))
}

/// The frame with its aggregates' elements sorted as `order` asks, so two
/// replies holding the same multiset compare equal as bytes.
pub fn canonical(frame: &[u8], order: Order) -> Vec<u8> {
    if order == Order::Exact {
        return frame.to_vec();
    }
    let Some((head, body)) = line(frame, 0) else { return frame.to_vec() };
    let per_unit = match head.first() {
        Some(b'*' | b'~' | b'>') => 1,
        Some(b'%') => 2,
        _ => return frame.to_vec(),
    };
    let Ok(n) = number(&head[1..]) else { return frame.to_vec() };
    let inner = if order == Order::Deep { Order::Deep } else { Order::Exact };
    let mut units = Vec::new();
    let mut at = body;
    for _ in 0..n.max(0) {
        let mut unit = Vec::new();
        for _ in 0..per_unit {
            let Ok(Some(end)) = frame_end(frame, at) else { return frame.to_vec() };
            unit.extend_from_slice(&canonical(&frame[at..end], inner));
            at = end;
        }
        units.push(unit);
    }
    units.sort();
    let mut out = frame[..body].to_vec();
    for u in units {
        out.extend_from_slice(&u);
    }
    out
}

/// Reply bytes made printable: `\r` `\n` `\t` `\\` and `\xHH` escapes, cut
/// after `max` bytes.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        s.push_str(&format!("... ({} bytes in all)", bytes.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_end_where_they_should() {
        assert_eq!(frame_end(b"+OK\r\n", 0), Ok(Some(5)));
        assert_eq!(frame_end(b"+OK\r", 0), Ok(None));
        assert_eq!(frame_end(b"$3\r\nabc\r\n:1\r\n", 0), Ok(Some(9)));
        assert_eq!(frame_end(b"$3\r\nab", 0), Ok(None));
        assert_eq!(frame_end(b"$-1\r\n", 0), Ok(Some(5)));
        assert_eq!(frame_end(b"*2\r\n:1\r\n*1\r\n$1\r\nx\r\n", 0), Ok(Some(19)));
        assert_eq!(frame_end(b"*2\r\n:1\r\n", 0), Ok(None));
        assert_eq!(frame_end(b"%1\r\n+a\r\n:1\r\n", 0), Ok(Some(12)));
        assert_eq!(frame_end(b"|1\r\n+a\r\n:1\r\n+OK\r\n", 0), Ok(Some(17)));
        assert_eq!(frame_end(b"*-1\r\n", 0), Ok(Some(5)));
        assert!(frame_end(b"?\r\n", 0).is_err());
    }

    #[test]
    fn canonical_sorts_the_asked_levels() {
        let a = b"*3\r\n$1\r\nb\r\n*2\r\n:2\r\n:1\r\n$1\r\na\r\n";
        let b = b"*3\r\n*2\r\n:1\r\n:2\r\n$1\r\na\r\n$1\r\nb\r\n";
        assert_ne!(canonical(a, Order::Top), canonical(b, Order::Top));
        assert_eq!(canonical(a, Order::Deep), canonical(b, Order::Deep));
        let m1 = b"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n";
        let m2 = b"%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n";
        assert_eq!(canonical(m1, Order::Top), canonical(m2, Order::Top));
        let m3 = b"%2\r\n+b\r\n:1\r\n+a\r\n:2\r\n";
        assert_ne!(canonical(m1, Order::Top), canonical(m3, Order::Top));
        assert_eq!(canonical(b"-ERR x\r\n", Order::Top), b"-ERR x\r\n");
    }

    #[test]
    fn escape_shows_crlf_and_binary() {
        assert_eq!(escape(b"$2\r\na\x00\r\n", 100), "$2\\r\\na\\x00\\r\\n");
        assert_eq!(escape(b"abcdef", 3), "abc... (6 bytes in all)");
    }
}
