//! Errors: `Error` is internal (start-up, storage, I/O); `CmdError` is what a
//! client sees. `CmdError::write_to` is the one place that maps a variant to
//! its Redis prefix and text, so the texts stay byte-identical to Redis 7.

use std::fmt;

/// Internal error: start-up, configuration, storage and I/O failures.
#[derive(Debug)]
pub enum Error {
    /// Operating-system I/O failure.
    Io(std::io::Error),
    /// Invalid configuration; the text names the key.
    Config(String),
    /// RocksDB reported an error.
    Storage(String),
    /// A record that cannot be decoded.
    Corrupt {
        /// Column family of the record.
        cf: &'static str,
        /// Raw key of the record.
        key: Vec<u8>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Config(m) => write!(f, "configuration error: {m}"),
            Error::Storage(m) => write!(f, "storage error: {m}"),
            Error::Corrupt { cf, key } => {
                write!(f, "corrupt record in column family '{cf}', key {:?}", String::from_utf8_lossy(key))
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// A client-visible command error. Texts match Redis 7 byte for byte.
#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    /// `ERR wrong number of arguments for '<cmd>' command`
    WrongArity(String),
    /// `ERR unknown command '<cmd>', with args beginning with: '<a>' ...`
    UnknownCommand(String),
    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
    UnknownSubcommand(String, String),
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `ERR syntax error`
    Syntax,
    /// `ERR no such key`
    NoSuchKey,
    /// `NOAUTH Authentication required.`
    NoAuth,
    /// `ERR increment or decrement would overflow`
    Overflow,
    /// `ERR internal error` (the cause is logged).
    Internal,
    /// Any other error: the full text after the `-`, prefix included.
    Raw(String),
    /// `ERR <text>`: a fixed text behind the ERR prefix.
    Err(&'static str),
    /// A full error line as raw bytes (may echo binary client input).
    Bytes(Vec<u8>),
}

impl CmdError {
    /// Writes the error line (without the leading `-` and trailing CRLF).
    pub fn text(&self) -> String {
        match self {
            CmdError::WrongArity(c) => format!("ERR wrong number of arguments for '{c}' command"),
            CmdError::UnknownCommand(m) => m.clone(),
            CmdError::UnknownSubcommand(sub, cmd) => {
                format!("ERR unknown subcommand '{sub}'. Try {} HELP.", cmd.to_ascii_uppercase())
            }
            CmdError::WrongType => "WRONGTYPE Operation against a key holding the wrong kind of value".into(),
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::NoAuth => "NOAUTH Authentication required.".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::Internal => "ERR internal error".into(),
            CmdError::Raw(s) => s.clone(),
            CmdError::Err(s) => format!("ERR {s}"),
            CmdError::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }

    /// Logs a storage error and turns it into the client-visible `Internal`.
    pub fn storage(e: Error) -> CmdError {
        log::error!("{e}");
        CmdError::Internal
    }
}

impl From<Error> for CmdError {
    fn from(e: Error) -> Self {
        CmdError::storage(e)
    }
}

/// Result of a command handler: the reply is already in the `ReplyBuf`.
pub type CmdResult = Result<(), CmdError>;
