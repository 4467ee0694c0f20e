//! Third-party client environments the integration tests install on first use
//! under the build folder: a Python virtual environment per set of pinned
//! packages, a `node_modules` per pinned `package.json` + lock file. Tests run
//! in parallel processes, so each environment is built under an exclusive lock
//! file and marked complete only after its install succeeded; a build that died
//! half way is thrown away and redone by the next test.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

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
/// into it first unless an earlier run completed it. `install` panics on failure.
fn ensure(prefix: &str, key: &str, install: impl FnOnce(&Path)) -> PathBuf {
    let target = build_folder();
    let dir = target.join(format!("{prefix}-{}", digest(key)));
    let done = dir.join(".complete");
    if done.exists() {
        return dir;
    }
    let lock = File::create(target.join(format!("{prefix}-{}.lock", digest(key)))).expect("lock file");
    lock.lock().expect("lock");
    // Another test may have finished it while this one waited for the lock.
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("environment dir");
        install(&dir);
        std::fs::write(&done, key).expect("completion marker");
    }
    dir
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
