//! Backups (SAVE / BGSAVE): a RocksDB checkpoint under `dir/backups/<timestamp>`.
//!
//! A checkpoint hard-links the live SST files and flushes the memtables first,
//! so it is cheap, consistent (a point in time of committed writes) and is a
//! complete data dir: `diskdb --dir dir/backups/<timestamp>` opens it. BGSAVE
//! runs the checkpoint on its own thread (it may wait on a memtable flush);
//! the executor only polls for its end, so the event loop is never blocked.

use super::Store;
use crate::error::Error;
use rocksdb::checkpoint::Checkpoint;
use rocksdb::DB;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Redis's text (after `ERR `) for SAVE/BGSAVE while a BGSAVE runs.
pub const BGSAVE_RUNNING: &str = "Background save already in progress";

/// State of SAVE / BGSAVE, reported by LASTSAVE and INFO persistence.
pub struct Backups {
    root: PathBuf,
    running: Option<(JoinHandle<Result<PathBuf, Error>>, Instant)>,
    /// The last backup succeeded (true before any).
    pub last_ok: bool,
    /// Unix seconds of the last successful backup (start-up time before any, like Redis).
    pub last_save_s: u64,
    /// Seconds the last backup took (-1 before any).
    pub last_duration_s: i64,
    /// Where the last successful backup is.
    pub last_path: Option<PathBuf>,
}

/// A snapshot of [`Backups`] for INFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStatus {
    /// A BGSAVE is running.
    pub in_progress: bool,
    /// Seconds the running BGSAVE has taken so far (-1 if none).
    pub current_s: i64,
    /// See [`Backups::last_ok`].
    pub last_ok: bool,
    /// See [`Backups::last_save_s`].
    pub last_save_s: u64,
    /// See [`Backups::last_duration_s`].
    pub last_duration_s: i64,
}

impl Backups {
    /// No backup yet; they go under `data_dir/backups`.
    pub fn new(data_dir: &Path) -> Self {
        Backups {
            root: data_dir.join("backups"),
            running: None,
            last_ok: true,
            last_save_s: super::now_ms() / 1000,
            last_duration_s: -1,
            last_path: None,
        }
    }

    /// A fresh directory name under the backups root (not created: RocksDB
    /// insists on creating the checkpoint dir itself).
    fn next_path(&self) -> Result<PathBuf, Error> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| Error::Storage(format!("cannot create '{}': {e}", self.root.display())))?;
        let stamp = timestamp(super::now_ms());
        let mut path = self.root.join(&stamp);
        let mut n = 1;
        while path.exists() {
            path = self.root.join(format!("{stamp}.{n}"));
            n += 1;
        }
        Ok(path)
    }

    fn finish(&mut self, result: &Result<PathBuf, Error>, started: Instant) {
        self.last_duration_s = started.elapsed().as_secs() as i64;
        match result {
            Ok(p) => {
                self.last_ok = true;
                self.last_save_s = super::now_ms() / 1000;
                log::info!("backup done in {:.3}s: {}", started.elapsed().as_secs_f64(), p.display());
                self.last_path = Some(p.clone());
            }
            Err(e) => {
                self.last_ok = false;
                log::error!("backup failed: {e}");
            }
        }
    }
}

fn checkpoint(db: &DB, path: &Path) -> Result<PathBuf, Error> {
    Checkpoint::new(db)
        .and_then(|c| c.create_checkpoint(path))
        .map_err(|e| Error::Storage(format!("checkpoint to '{}' failed: {}", path.display(), e.into_string())))?;
    Ok(path.to_path_buf())
}

/// `YYYYmmdd-HHMMSS-mmm` in UTC: sorts by time, readable, no extra crate.
fn timestamp(ms: u64) -> String {
    let (days, rem) = ((ms / 86_400_000) as i64, ms % 86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}{m:02}{d:02}-{h:02}{mi:02}{s:02}-{milli:03}")
}

impl Store {
    /// SAVE: a checkpoint now, on the calling thread.
    pub fn save(&self) -> Result<PathBuf, Error> {
        self.backup_poll();
        if self.backups.borrow().running.is_some() {
            return Err(Error::Storage(BGSAVE_RUNNING.into()));
        }
        // Writes still in the WAL buffer belong in the checkpoint.
        self.settle_and_flush_wal(false)?;
        let path = self.backups.borrow().next_path()?;
        let started = Instant::now();
        let result = checkpoint(&self.db, &path);
        self.backups.borrow_mut().finish(&result, started);
        result
    }

    /// BGSAVE: starts a checkpoint on a background thread. False if one is
    /// already running.
    pub fn bgsave(&self) -> Result<bool, Error> {
        self.backup_poll();
        if self.backups.borrow().running.is_some() {
            return Ok(false);
        }
        self.settle_and_flush_wal(false)?;
        let path = self.backups.borrow().next_path()?;
        let db: Arc<DB> = self.db.clone();
        let handle = std::thread::Builder::new()
            .name("diskdb-bgsave".into())
            .spawn(move || checkpoint(&db, &path))
            .map_err(|e| Error::Storage(format!("cannot start the backup thread: {e}")))?;
        self.backups.borrow_mut().running = Some((handle, Instant::now()));
        Ok(true)
    }

    /// Collects a finished BGSAVE; Some(ok) when one finished just now.
    pub fn backup_poll(&self) -> Option<bool> {
        let mut b = self.backups.borrow_mut();
        if !b.running.as_ref().is_some_and(|(h, _)| h.is_finished()) {
            return None;
        }
        let (handle, started) = b.running.take().expect("invariant: checked above");
        let result = handle.join().unwrap_or_else(|_| Err(Error::Storage("the backup thread panicked".into())));
        b.finish(&result, started);
        Some(result.is_ok())
    }

    /// Waits for a running BGSAVE (shutdown).
    pub fn backup_wait(&self) {
        let running = self.backups.borrow_mut().running.take();
        if let Some((handle, started)) = running {
            let result = handle.join().unwrap_or_else(|_| Err(Error::Storage("the backup thread panicked".into())));
            self.backups.borrow_mut().finish(&result, started);
        }
    }

    /// What INFO persistence and LASTSAVE report.
    pub fn backup_status(&self) -> BackupStatus {
        self.backup_poll();
        let b = self.backups.borrow();
        BackupStatus {
            in_progress: b.running.is_some(),
            current_s: b.running.as_ref().map_or(-1, |(_, t)| t.elapsed().as_secs() as i64),
            last_ok: b.last_ok,
            last_save_s: b.last_save_s,
            last_duration_s: b.last_duration_s,
        }
    }

    /// Where the last successful backup is.
    pub fn last_backup(&self) -> Option<PathBuf> {
        self.backups.borrow().last_path.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn timestamps_are_utc_calendar_times() {
        assert_eq!(timestamp(0), "19700101-000000-000");
        // 2024-02-29 23:59:59.999 UTC (a leap day).
        assert_eq!(timestamp(1_709_251_199_999), "20240229-235959-999");
    }
}
