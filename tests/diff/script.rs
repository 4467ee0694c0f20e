//! Differential script files (`tests/diff/scripts/<name>.txt`): one command
//! per line, tokenized like redis-cli does (its `sdssplitargs`), plus a few
//! directives. The format:
//!
//! ```text
//! # comment                 blank lines and lines starting with '#' are skipped
//! SET k "a b\r\n\x00"       double quotes: \n \r \t \b \a \" \\ \xHH escapes
//! SET k 'it\'s'             single quotes: only \' is an escape
//! ~ SMEMBERS s              the reply's top-level elements (a map's pairs) in any order
//! ~~ SCAN 0 COUNT 100       every aggregate at every depth in any order
//! !sleep 50                 sleep 50 ms
//! !resp3 / !resp2           send HELLO 3 / HELLO 2 to both servers, ignore the reply
//! !both-protocols           (before the first command) kept for old scripts: every script now runs in RESP2 and RESP3
//! @2 GET k                  run on connection 2 (1..=4; 1 is the default) of each server
//! !send @2 BLPOP l 0        send without waiting for the reply (blocking commands, pub/sub)
//! !read @2                  read one more reply (or push message) from connection 2 and compare
//! ```

use crate::resp::Order;

/// One executable line of a script.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Send a command to both servers and compare the replies.
    Command {
        /// The command's arguments.
        args: Vec<Vec<u8>>,
        /// How the replies are compared.
        order: Order,
        /// Connection index (0-based).
        conn: usize,
        /// Only send it (`!send`): the reply is read by a later `!read`.
        send_only: bool,
    },
    /// Read one reply from a connection and compare.
    Read(usize),
    /// Pause.
    Sleep(u64),
    /// Switch both connections to this protocol version (HELLO n, reply ignored).
    Protocol(u8),
}

/// A step with where it came from, for failure messages.
#[derive(Clone, Debug)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    /// The line as written.
    pub text: String,
    /// What to do.
    pub step: Step,
}

/// A parsed script.
#[derive(Debug, Default)]
pub struct Script {
    /// The file name without `.txt`.
    pub name: String,
    /// Executable lines in file order.
    pub lines: Vec<Line>,
    /// `!both-protocols` was given (every script runs in both protocols now).
    pub both_protocols: bool,
}

/// Parses a script; errors name the line.
pub fn parse(name: &str, text: &str) -> Result<Script, String> {
    let mut script = Script { name: name.to_string(), ..Script::default() };
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let text = raw.trim_end_matches('\r');
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let bad = |why: String| format!("{name}.txt:{number}: {why}: {text}");
        let step = if let Some(directive) = trimmed.strip_prefix('!') {
            let mut words = directive.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("sleep"), Some(ms), None) => {
                    Step::Sleep(ms.parse().map_err(|_| bad("!sleep wants milliseconds".into()))?)
                }
                (Some("read"), conn, None) => Step::Read(conn_index(conn).map_err(|e| bad(e.into()))?),
                (Some("send"), _, _) => {
                    let rest = directive["send".len()..].trim_start();
                    command_step(rest, true).map_err(|e| bad(e.into()))?
                }
                (Some("resp3"), None, None) => Step::Protocol(3),
                (Some("resp2"), None, None) => Step::Protocol(2),
                (Some("both-protocols"), None, None) => {
                    if !script.lines.is_empty() {
                        return Err(bad("!both-protocols must come before the first command".into()));
                    }
                    script.both_protocols = true;
                    continue;
                }
                _ => return Err(bad("unknown directive".into())),
            }
        } else {
            command_step(trimmed, false).map_err(|e| bad(e.into()))?
        };
        script.lines.push(Line { number, text: text.to_string(), step });
    }
    Ok(script)
}

/// `@N` (1..=4) as a 0-based connection index; none = connection 1.
fn conn_index(word: Option<&str>) -> Result<usize, &'static str> {
    match word {
        None => Ok(0),
        Some(w) => match w.strip_prefix('@').and_then(|n| n.parse::<usize>().ok()) {
            Some(n @ 1..=4) => Ok(n - 1),
            _ => Err("a connection is written @1 .. @4"),
        },
    }
}

/// A command line: `[@N] [~|~~] command args...`.
fn command_step(line: &str, send_only: bool) -> Result<Step, &'static str> {
    let (conn, line) = match line.strip_prefix('@') {
        Some(_) => {
            let (word, rest) = line.split_once(char::is_whitespace).ok_or("no command after the connection")?;
            (conn_index(Some(word))?, rest.trim_start())
        }
        None => (0, line),
    };
    let (order, command) = if let Some(rest) = line.strip_prefix("~~ ") {
        (Order::Deep, rest)
    } else if let Some(rest) = line.strip_prefix("~ ") {
        (Order::Top, rest)
    } else {
        (Order::Exact, line)
    };
    let args = split_args(command.as_bytes())?;
    if args.is_empty() {
        return Err("no command after the order marker");
    }
    Ok(Step::Command { args, order, conn, send_only })
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments exactly like redis-cli (`sdssplitargs`).
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && line[p].is_ascii_whitespace() {
            p += 1;
        }
        if p == line.len() {
            return Ok(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = line.get(p).copied();
            if in_double {
                match c {
                    None => return Err("unbalanced quotes"),
                    Some(b'\\') if line.get(p + 1) == Some(&b'x') => {
                        match (line.get(p + 2).copied().and_then(hex), line.get(p + 3).copied().and_then(hex)) {
                            (Some(h), Some(l)) => {
                                current.push(h * 16 + l);
                                p += 3;
                            }
                            _ => {
                                current.push(b'x');
                                p += 1;
                            }
                        }
                    }
                    Some(b'\\') if p + 1 < line.len() => {
                        p += 1;
                        current.push(match line[p] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(p + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return Err("closing quote must be followed by a space");
                        }
                        p += 1;
                        break;
                    }
                    Some(b) => current.push(b),
                }
            } else if in_single {
                match c {
                    None => return Err("unbalanced quotes"),
                    Some(b'\\') if line.get(p + 1) == Some(&b'\'') => {
                        p += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(p + 1).is_some_and(|b| !b.is_ascii_whitespace()) {
                            return Err("closing quote must be followed by a space");
                        }
                        p += 1;
                        break;
                    }
                    Some(b) => current.push(b),
                }
            } else {
                match c {
                    None => break,
                    Some(b) if b.is_ascii_whitespace() => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(b) => current.push(b),
                }
            }
            p += 1;
        }
        args.push(current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<Vec<u8>> {
        split_args(s.as_bytes()).expect("splits")
    }

    #[test]
    fn splits_like_redis_cli() {
        assert_eq!(split("SET  k   v"), vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]);
        assert_eq!(split(r#"ECHO "a b" 'c d'"#)[1..], [b"a b".to_vec(), b"c d".to_vec()]);
        assert_eq!(split(r#"ECHO "\x00\xff\n\r\t\"\\\q""#)[1], b"\x00\xff\n\r\t\"\\q".to_vec());
        assert_eq!(split(r#"ECHO "\xzz""#)[1], b"xzz".to_vec());
        assert_eq!(split(r"ECHO 'it\'s \n'")[1], b"it's \\n".to_vec());
        assert_eq!(split(r#"ECHO "" ''"#)[1..], [Vec::new(), Vec::new()]);
        assert_eq!(split(r#"ECHO a"b c" d"#)[1..], [b"ab c".to_vec(), b"d".to_vec()]);
        assert_eq!(split("   "), Vec::<Vec<u8>>::new());
        assert!(split_args(br#"ECHO "abc"#).is_err());
        assert!(split_args(br#"ECHO "a"b"#).is_err());
        assert!(split_args(b"ECHO 'a").is_err());
    }

    #[test]
    fn parses_directives_and_markers() {
        let text = "!both-protocols\n# c\n\n~ SMEMBERS s\n~~ SCAN 0\n!sleep 5\n!resp3\nPING\r\n\
                    @2 ~ GET a\n!send @3 BLPOP l 0\n!read @3\n!read\n";
        let s = parse("t", text).expect("parses");
        assert!(s.both_protocols);
        let steps: Vec<_> = s.lines.iter().map(|l| (l.number, l.step.clone())).collect();
        let cmd = |words: &[&str], order, conn, send_only| Step::Command {
            args: words.iter().map(|w| w.as_bytes().to_vec()).collect(),
            order,
            conn,
            send_only,
        };
        assert_eq!(
            steps,
            vec![
                (4, cmd(&["SMEMBERS", "s"], Order::Top, 0, false)),
                (5, cmd(&["SCAN", "0"], Order::Deep, 0, false)),
                (6, Step::Sleep(5)),
                (7, Step::Protocol(3)),
                (8, cmd(&["PING"], Order::Exact, 0, false)),
                (9, cmd(&["GET", "a"], Order::Top, 1, false)),
                (10, cmd(&["BLPOP", "l", "0"], Order::Exact, 2, true)),
                (11, Step::Read(2)),
                (12, Step::Read(0)),
            ]
        );
        assert!(parse("t", "@5 PING\n").is_err());
        assert!(parse("t", "@2\n").is_err());
        assert!(parse("t", "PING\n!both-protocols\n").is_err());
        assert!(parse("t", "!nosuch\n").is_err());
        assert!(parse("t", "ECHO \"x\n").is_err());
    }
}
