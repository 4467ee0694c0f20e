//! Third-party client environments the integration tests install on first use
//! under the build folder: a Python virtual environment per set of pinned
//! packages, a `node_modules` per pinned `package.json` + lock file. Tests run
//! in parallel processes: see `ensure` for how they share one build.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The build folder (`CARGO_TARGET_DIR`, or `target`): target/release/diskdb → target.
pub fn build_folder() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_diskdb"));
    bin.parent().and_then(|p| p.parent()).expect("target dir").to_path_buf()
}

/// FNV-1a: a stable short name for an environment's exact pins, so changing a
/// pin builds a new environment instead of reusing a stale one.
fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Returns `build_folder()/<prefix>-<digest of key>`, running `install(dir)`
/// first unless an earlier run completed it. `install` panics on failure.
///
/// The environment is built in a private folder and renamed into place, so a
/// build that died half way is never used. A lock file holding the builder's
/// pid makes the other tests wait instead of installing the same packages
/// again on the same cores; a lock whose process is gone is taken over.
fn ensure(prefix: &str, key: &str, install: impl FnOnce(&Path)) -> PathBuf {
    let target = build_folder();
    let name = format!("{prefix}-{}", digest(key));
    let dir = target.join(&name);
    let lock = target.join(format!("{name}.lock"));
    loop {
        if dir.exists() {
            return dir;
        }
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut f) => {
                let _held = LockFile(lock.clone());
                write!(f, "{}", std::process::id()).expect("write lock file");
                if dir.exists() {
                    return dir;
                }
                let tmp = target.join(format!("{name}.tmp-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&tmp);
                std::fs::create_dir_all(&tmp).expect("environment dir");
                install(&tmp);
                if std::fs::rename(&tmp, &dir).is_err() {
                    let _ = std::fs::remove_dir_all(&tmp);
                }
                return dir;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if lock_is_stale(&lock) {
                    let _ = std::fs::remove_file(&lock);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("lock file {}: {e}", lock.display()),
        }
    }
}

/// Whether the process that wrote `lock` is gone. A lock without a pid yet was
/// created a moment ago, unless it is older than its holder could take to write one.
fn lock_is_stale(lock: &Path) -> bool {
    match std::fs::read_to_string(lock).ok().and_then(|p| p.trim().parse::<u32>().ok()) {
        Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
        None => std::fs::metadata(lock)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(10)),
    }
}

/// Removes the lock file when the build ends, also when it panics.
struct LockFile(PathBuf);

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `python` of a virtual environment holding exactly `packages` (pinned
/// `name==version` requirement lines) and what they depend on.
pub fn python(packages: &[&str]) -> PathBuf {
    let key = packages.join("\n");
    let venv = ensure("pyenv", &key, |dir| {
        run(Command::new("python3").args(["-m", "venv"]).arg(dir), "python3 -m venv");
        run(
            Command::new(dir.join("bin/python"))
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                .args(packages),
            &format!("pip install {}", packages.join(" ")),
        );
    });
    venv.join("bin/python")
}

/// A folder holding `node_modules` installed by `npm ci` from the repository's
/// `package.json` and `package-lock.json` in `project` (relative to the repo).
pub fn node_modules(project: &str) -> PathBuf {
    let src = super::repo_path(project);
    let manifest = std::fs::read_to_string(src.join("package.json")).expect("package.json");
    let lock = std::fs::read_to_string(src.join("package-lock.json")).expect("package-lock.json");
    ensure("nodeenv", &format!("{manifest}\n{lock}"), |dir| {
        std::fs::write(dir.join("package.json"), &manifest).expect("copy package.json");
        std::fs::write(dir.join("package-lock.json"), &lock).expect("copy package-lock.json");
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(dir), "npm ci");
    })
}
