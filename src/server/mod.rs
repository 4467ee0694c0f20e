//! The server: one `mio::Poll`, the listener, a slab of connections, the store
//! and the server-wide state. `event_loop.rs` runs it.

pub mod busy;
pub mod conn;
pub mod event_loop;

use crate::cmd::state::ServerState;
use crate::config::Config;
use crate::error::Error;
use crate::storage::Store;
use conn::Conn;
use mio::net::TcpListener;
use mio::{Poll, Token};
use slab::Slab;
use std::net::SocketAddr;
use std::rc::Rc;

/// Token of the plain TCP listener.
pub const LISTENER: Token = Token(0);
/// Reserved for the TLS listener.
pub const TLS_LISTENER: Token = Token(1);
/// Token of the signal source.
pub const SIGNALS: Token = Token(usize::MAX - 1);
/// Connection tokens are `slab key + CONN_BASE`.
pub const CONN_BASE: usize = 2;

/// A running DiskDB instance.
pub struct Server {
    poll: Poll,
    listener: TcpListener,
    signals: signal_hook_mio::v1_0::Signals,
    conns: Slab<Conn>,
    /// Shared with the script engine while a command that may run a script
    /// runs (see `dispatch_lending`); the only owner otherwise.
    store: Rc<Store>,
    state: ServerState,
    /// Connections with output to write at the end of the tick.
    pending_writes: Vec<usize>,
    /// Connections to remove after the event batch.
    to_close: Vec<usize>,
    /// Where the active expiry cycle left the expire index.
    expire_cursor_ms: u64,
    /// Clients just unblocked whose pipelined input must be run.
    resume: Vec<usize>,
    /// Serves the other clients while a script is busy (lent per command).
    servicer: Option<Box<busy::Servicer>>,
    /// A script command's arguments, copied out of the connection (the
    /// script lends the connections away); reused from call to call.
    script_args: crate::resp::args::OwnedArgs,
}

impl Server {
    /// Opens the store and binds the listener.
    pub fn new(config: Config) -> Result<Server, Error> {
        let store = Rc::new(Store::open(&config.storage, config.server.databases)?);
        let addr: SocketAddr = format!("{}:{}", config.server.bind, config.server.port)
            .parse()
            .or_else(|_| {
                use std::net::ToSocketAddrs;
                (config.server.bind.as_str(), config.server.port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .ok_or(())
            })
            .map_err(|_| Error::Config(format!("invalid value for 'server.bind': {}", config.server.bind)))?;
        let mut listener = TcpListener::bind(addr)
            .map_err(|e| Error::Config(format!("cannot listen on {addr} (server.bind/server.port): {e}")))?;
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, mio::Interest::READABLE)?;
        let mut signals =
            signal_hook_mio::v1_0::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])?;
        poll.registry().register(&mut signals, SIGNALS, mio::Interest::READABLE)?;
        let mut state = ServerState::new(config);
        state.scripting.load_persisted(&store);
        state.port = listener.local_addr()?.port();
        let servicer = Some(Box::new(busy::Servicer::new(&listener, poll.registry())?));
        Ok(Server {
            poll,
            listener,
            signals,
            conns: Slab::new(),
            store,
            state,
            pending_writes: Vec::new(),
            to_close: Vec::new(),
            expire_cursor_ms: 0,
            resume: Vec::new(),
            servicer,
            script_args: Default::default(),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Records the configuration file path (CONFIG REWRITE, INFO).
    pub fn set_config_file(&mut self, path: String) {
        self.state.config_file = path;
    }
}

/// The store, for what needs it exclusively (reopening after a write error,
/// active expiry): between commands nothing else holds it.
fn exclusive(store: &mut Rc<Store>) -> &mut Store {
    Rc::get_mut(store).expect("invariant: the engine gives the store back after each command")
}
