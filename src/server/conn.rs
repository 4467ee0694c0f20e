//! `Conn`: one client socket with its input buffer, parser state and pending
//! output. Client-visible state (db, name, auth) lives in `cmd::state::Client`
//! under the same slab key, so commands can list every client while one
//! connection is borrowed.

use crate::resp::parser::Parser;
use crate::resp::reply::ReplyBuf;
use mio::net::TcpStream;
use std::io::{self, Read, Write};

/// Bytes read per `read` call.
const READ_CHUNK: usize = 64 * 1024;

/// Capacity kept by an idle output buffer; larger ones are shrunk.
const KEEP_CAPACITY: usize = 64 * 1024;

/// One client connection.
pub struct Conn {
    /// The socket.
    pub stream: TcpStream,
    /// Receive buffer. Only `inbuf[..end]` holds received bytes; the rest is
    /// spare room kept initialised, so reads never zero memory again.
    pub inbuf: Vec<u8>,
    /// End of the received bytes.
    pub end: usize,
    /// Start of the command being parsed (`inbuf[start..end]` is unparsed).
    pub start: usize,
    /// Resumable parser state for the command at `start`.
    pub parser: Parser,
    /// Pending replies.
    pub out: ReplyBuf,
    /// Bytes of `out` already written.
    pub out_pos: usize,
    /// WRITABLE interest is registered (after a write hit WouldBlock).
    pub want_write: bool,
    /// Marked for removal after this event batch.
    pub closing: bool,
    /// Already in the server's list of connections with output to write.
    pub queued: bool,
}

/// What a read attempt produced.
pub enum ReadOutcome {
    /// Some bytes arrived. `drained`: the read did not fill the room given,
    /// so the socket is empty now (with edge-triggered polling, later data
    /// raises a new event), which saves the read that would say WouldBlock.
    Data {
        /// Bytes read.
        n: usize,
        /// The socket had no more bytes.
        drained: bool,
    },
    /// Nothing more to read now.
    WouldBlock,
    /// The peer closed the connection (or it failed).
    Closed,
}

impl Conn {
    /// Wraps an accepted socket.
    pub fn new(stream: TcpStream) -> Self {
        Conn {
            stream,
            inbuf: Vec::new(),
            end: 0,
            start: 0,
            parser: Parser::new(),
            out: ReplyBuf::new(),
            out_pos: 0,
            want_write: false,
            closing: false,
            queued: false,
        }
    }

    /// Reads one chunk from the socket, appending to the received bytes.
    pub fn read_chunk(&mut self) -> ReadOutcome {
        // Drop parsed bytes first so the buffer holds only the current command.
        if self.start > 0 {
            self.inbuf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == 0 && self.inbuf.len() > 4 * READ_CHUNK {
                self.inbuf.truncate(READ_CHUNK);
                self.inbuf.shrink_to_fit();
            }
        }
        if self.inbuf.len() - self.end < READ_CHUNK / 4 {
            // Grow (zeroing only the new room, once) when little room is left.
            let want = (self.end + READ_CHUNK).max(self.inbuf.len() * 2);
            self.inbuf.resize(want, 0);
        }
        let room = self.inbuf.len() - self.end;
        match self.stream.read(&mut self.inbuf[self.end..]) {
            Ok(0) => ReadOutcome::Closed,
            Ok(n) => {
                self.end += n;
                ReadOutcome::Data { n, drained: n < room }
            }
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock => ReadOutcome::WouldBlock,
                io::ErrorKind::Interrupted => ReadOutcome::Data { n: 0, drained: false },
                _ => ReadOutcome::Closed,
            },
        }
    }

    /// Unparsed input bytes.
    pub fn pending_input(&self) -> usize {
        self.end - self.start
    }

    /// Unwritten output bytes.
    pub fn pending_output(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Writes pending output until done or WouldBlock. Returns bytes written,
    /// or an error if the connection is broken.
    pub fn flush(&mut self) -> io::Result<(usize, bool)> {
        let mut written = 0;
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out.buf[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.out_pos += n;
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((written, false)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.buf.clear();
        self.out_pos = 0;
        if self.out.buf.capacity() > 16 * KEEP_CAPACITY {
            self.out.buf.shrink_to(KEEP_CAPACITY);
        }
        Ok((written, true))
    }
}
