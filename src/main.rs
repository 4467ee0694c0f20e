//! The `diskdb` binary: command line, configuration, logging, then
//! `Server::run`. Prints `listening on ADDR` on stdout once bound, which tests
//! and scripts read to learn the port when it is 0.

use clap::Parser;
use diskdb::config::Config;
use diskdb::server::Server;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The server's allocator (see Cargo.toml for why jemalloc).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A Redis-compatible server whose data lives on disk in RocksDB.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML); see conf/diskdb.toml.
    #[arg(short, long)]
    config: Option<PathBuf>,
    /// Port to listen on (0 = pick a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long)]
    bind: Option<String>,
    /// Data directory.
    #[arg(long)]
    dir: Option<String>,
    /// Password required from clients.
    #[arg(long)]
    requirepass: Option<String>,
    /// error | warn | info | debug | trace
    #[arg(long)]
    loglevel: Option<String>,
}

fn load(cli: &Cli) -> Result<Config, diskdb::error::Error> {
    let mut cfg = match &cli.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    if let Some(p) = cli.port {
        cfg.server.port = p;
    }
    if let Some(b) = &cli.bind {
        cfg.server.bind = b.clone();
    }
    if let Some(d) = &cli.dir {
        cfg.storage.dir = d.clone();
    }
    if let Some(p) = &cli.requirepass {
        cfg.server.requirepass = p.clone();
    }
    if let Some(l) = &cli.loglevel {
        cfg.server.loglevel = l.clone();
    }
    cfg.validate()?;
    Ok(cfg)
}

fn init_logging(cfg: &Config) -> Result<(), String> {
    let mut b = env_logger::Builder::new();
    b.parse_filters(&cfg.server.loglevel);
    b.format_timestamp_millis();
    if !cfg.server.logfile.is_empty() {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cfg.server.logfile)
            .map_err(|e| format!("cannot open server.logfile '{}': {e}", cfg.server.logfile))?;
        b.target(env_logger::Target::Pipe(Box::new(f)));
    }
    b.init();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = match load(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("diskdb: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = init_logging(&cfg) {
        eprintln!("diskdb: {e}");
        return ExitCode::from(2);
    }
    let mut server = match Server::new(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("diskdb: {e}");
            log::error!("{e}");
            return ExitCode::from(1);
        }
    };
    if let Some(p) = &cli.config {
        server.set_config_file(p.display().to_string());
    }
    match server.local_addr() {
        Ok(a) => {
            println!("listening on {a}");
            let _ = std::io::stdout().flush();
        }
        Err(e) => {
            eprintln!("diskdb: {e}");
            return ExitCode::from(1);
        }
    }
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            eprintln!("diskdb: {e}");
            ExitCode::from(1)
        }
    }
}
