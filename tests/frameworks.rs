//! Real job frameworks end to end against a DiskDB started by the test: a
//! Celery worker (solo pool; DiskDB as broker and result backend), an RQ burst
//! worker and a BullMQ queue + worker. Their pinned packages are installed on
//! first use under the build folder (tests/common/envs.rs). Each driver under
//! tests/frameworks/ checks every result it gets through its framework; the
//! test then reads the same jobs back from DiskDB with its own connection, so
//! a driver that "passes" without the data being there still fails.

mod common;

use common::TestServer;
use redis::Commands;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Celery and RQ with exactly what they depend on, pinned (`pip freeze`);
/// `celery[redis]` needs `redis` and `packaging`.
const PYTHON_PACKAGES: &[&str] = &[
    "amqp==5.4.2",
    "billiard==4.3.2",
    "celery==5.7.0",
    "click==8.5.1",
    "click-didyoumean==0.3.1",
    "click-plugins==1.1.1.2",
    "click-repl==0.4.1",
    "croniter==7.0.0",
    "kombu==5.7.0",
    "packaging==26.3",
    "prompt_toolkit==3.0.53",
    "python-dateutil==2.9.0.post0",
    "redis==8.1.0",
    "rq==3.0.0",
    "six==1.17.0",
    "typing_extensions==4.16.0",
    "tzlocal==5.4.5",
    "vine==5.1.0",
    "wcwidth==0.9.4",
];

/// How long a driver may run, its framework installed, before it is killed
/// (with the worker it started): far above the seconds it needs, a hang fails.
const DRIVER_LIMIT: Duration = Duration::from_secs(120);

/// Runs a driver to completion: `program driver PORT LOGFILE`; returns its
/// stdout, panicking with its output and the framework's log on failure, on a
/// hang, or when the final `<name> OK` line is missing.
fn drive(s: &TestServer, name: &str, program: &Path, driver: &str, env: &[(&str, &Path)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = |what: &str| dir.path().join(format!("{name}.{what}"));
    let mut child = Command::new(program)
        .arg(common::repo_path(driver))
        .arg(s.port.to_string())
        .arg(file("log"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(File::create(file("stdout")).expect("stdout file"))
        .stderr(File::create(file("stderr")).expect("stderr file"))
        .process_group(0)
        .spawn()
        .expect("run the driver");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the driver") {
            break Some(status);
        }
        if started.elapsed() > DRIVER_LIMIT {
            // The whole group: the driver and the worker process it started.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |what: &str| std::fs::read_to_string(file(what)).unwrap_or_default();
    let stdout = read("stdout");
    let report = || {
        let outcome = status.map_or(format!("killed after {DRIVER_LIMIT:?}"), |s| s.to_string());
        format!(
            "{name} driver: {outcome}\nstdout:\n{stdout}\nstderr:\n{}\n{name} log:\n{}",
            read("stderr"),
            read("log")
        )
    };
    assert!(status.is_some_and(|s| s.success()), "{}", report());
    assert!(stdout.lines().any(|l| l == format!("{name} OK")), "{}", report());
    stdout
}

/// Asserts that the framework met no error reply it could have shrugged off
/// (an unknown command, a wrong arity, a failing subcommand): per INFO
/// commandstats only the calls in `may_fail` failed, and no error replies
/// were sent outside commandstats (unknown commands). CLIENT fails for every
/// client, as on Redis 7: redis-py 8 tries CLIENT MAINT_NOTIFICATIONS.
fn assert_no_stray_errors(s: &TestServer, may_fail: &[&str]) {
    let mut c = s.raw();
    let stats = c.cmd(&["INFO", "commandstats"]).str();
    let mut failed = 0;
    for line in stats.lines().filter_map(|l| l.strip_prefix("cmdstat_")) {
        let (name, fields) = line.split_once(':').expect("cmdstat line");
        let n: u64 = fields
            .split(',')
            .filter_map(|f| f.split_once('='))
            .filter(|(k, _)| *k == "failed_calls" || *k == "rejected_calls")
            .map(|(_, v)| v.parse::<u64>().expect("count"))
            .sum();
        let command = name.split('|').next().unwrap_or(name);
        assert!(n == 0 || may_fail.contains(&command), "unexpected errors: cmdstat_{line}\n{stats}");
        failed += n;
    }
    let total: u64 = common::info_field(&mut c, "stats", "total_error_replies").parse().expect("total_error_replies");
    assert!(total <= failed, "{total} error replies, {failed} of them from known commands:\n{stats}");
}

/// The words after `tag` on each stdout line starting with it.
fn tagged<'a>(stdout: &'a str, tag: &str) -> Vec<Vec<&'a str>> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix(tag).and_then(|rest| rest.strip_prefix(' ')))
        .map(|rest| rest.split(' ').collect())
        .collect()
}

#[test]
fn celery_worker_runs_tasks_groups_and_a_chord() {
    let s = TestServer::new();
    let python = common::envs::python(PYTHON_PACKAGES);
    let stdout = drive(&s, "celery", &python, "tests/frameworks/celery_run.py", &[]);
    // kombu runs its scripts with EVALSHA first: NOSCRIPT, then EVAL.
    assert_no_stray_errors(&s, &["client", "evalsha"]);
    // Celery's Redis backend keeps each result as JSON under celery-task-meta-ID.
    let mut c = s.client();
    let tasks = tagged(&stdout, "task");
    assert_eq!(tasks.len(), 6, "{stdout}");
    for t in &tasks {
        let meta: String = c.get(format!("celery-task-meta-{}", t[0])).expect("task meta");
        let meta: serde_json::Value = serde_json::from_str(&meta).expect("task meta JSON");
        assert_eq!(meta["status"], "SUCCESS", "{meta}");
        assert_eq!(meta["result"].to_string(), t[1], "{meta}");
    }
    let failed = tagged(&stdout, "failed");
    assert_eq!(failed.len(), 1, "{stdout}");
    let meta: String = c.get(format!("celery-task-meta-{}", failed[0][0])).expect("failed task meta");
    let meta: serde_json::Value = serde_json::from_str(&meta).expect("task meta JSON");
    assert_eq!(meta["status"], "FAILURE", "{meta}");
    assert_eq!(meta["result"]["exc_type"], "ValueError", "{meta}");
}

#[test]
fn rq_burst_worker_runs_jobs_and_records_failures() {
    let s = TestServer::new();
    let python = common::envs::python(PYTHON_PACKAGES);
    let stdout = drive(&s, "rq", &python, "tests/frameworks/rq_run.py", &[]);
    assert_no_stray_errors(&s, &["client", "evalsha"]);
    let mut c = s.client();
    let finished = tagged(&stdout, "finished");
    assert_eq!(finished.len(), 8, "{stdout}");
    for f in &finished {
        let status: String = c.hget(format!("rq:job:{}", f[0]), "status").expect("job status");
        assert_eq!(status, "finished", "job {}", f[0]);
    }
    let failed = tagged(&stdout, "failed");
    assert_eq!(failed.len(), 1, "{stdout}");
    let (registry, id) = (failed[0][0], failed[0][1]);
    let members: Vec<String> = c.zrange(registry, 0, -1).expect("failed registry");
    assert_eq!(members, vec![id.to_string()]);
    let status: String = c.hget(format!("rq:job:{id}"), "status").expect("job status");
    assert_eq!(status, "failed");
}

#[test]
fn bullmq_worker_runs_delayed_retried_and_failing_jobs() {
    let s = TestServer::new();
    let modules = common::envs::node_modules("tests/frameworks").join("node_modules");
    let stdout = drive(&s, "bullmq", Path::new("node"), "tests/frameworks/bullmq_run.js", &[("NODE_PATH", &modules)]);
    assert_no_stray_errors(&s, &["evalsha"]);
    // BullMQ keeps a job as the hash bull:QUEUE:ID, its return value as JSON.
    let mut c = s.client();
    let completed = tagged(&stdout, "completed");
    assert_eq!(completed.len(), 7, "{stdout}");
    for job in &completed {
        let value: String = c.hget(format!("bull:fw:{}", job[0]), "returnvalue").expect("returnvalue");
        assert_eq!(value, job[1], "job {}", job[0]);
        let rank: Option<i64> = c.zrank("bull:fw:completed", job[0]).expect("ZRANK");
        assert!(rank.is_some(), "job {} is not in the completed set", job[0]);
    }
    let failed = tagged(&stdout, "failed");
    assert_eq!(failed.len(), 1, "{stdout}");
    let members: Vec<String> = c.zrange("bull:fw:failed", 0, -1).expect("failed set");
    assert_eq!(members, vec![failed[0][0].to_string()]);
    let reason: String = c.hget(format!("bull:fw:{}", failed[0][0]), "failedReason").expect("failedReason");
    assert_eq!(reason, "boom");
}
