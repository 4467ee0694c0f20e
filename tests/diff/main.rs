//! Differential tests: every script in `tests/diff/scripts/*.txt` is sent line
//! by line to a throwaway real `redis-server` and to DiskDB, and the raw reply
//! bytes must be identical (`script.rs` documents the script format).
//!
//! One test per script, so the test runner runs them in parallel and names
//! the failing family; `every_script_has_a_test` fails if a script file has
//! no entry below, so no script is silently skipped. Without `redis-server`
//! (from `REDIS_SERVER` or PATH) the tests print why and pass.
//!
//! Adding a script: create `tests/diff/scripts/<name>.txt` (snake_case name)
//! and add `<name>` to the `diff_scripts!` list.

#[path = "../common/mod.rs"]
mod common;
mod resp;
mod runner;
mod script;

/// Declares one `#[test]` per script name, and `SCRIPTS`, the list of them.
macro_rules! diff_scripts {
    ($($name:ident),* $(,)?) => {
        /// Every script that has a test.
        const SCRIPTS: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                runner::run_script(stringify!($name));
            }
        )*
    };
}

diff_scripts!(
    connection,
    function_dump,
    functions,
    generic,
    hashes,
    keys,
    lists,
    lualibs,
    membercache,
    protocol,
    pubsub,
    scripting,
    server,
    sets,
    sort,
    streams,
    strings,
    transactions,
    zsets
);

#[test]
fn every_script_has_a_test() {
    let dir = common::repo_path("tests/diff/scripts");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/diff/scripts exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if !SCRIPTS.contains(&stem.as_str()) {
            missing.push(stem);
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "scripts without a test (add their names to diff_scripts! in tests/diff/main.rs; \
         names must be snake_case identifiers): {missing:?}"
    );
}
