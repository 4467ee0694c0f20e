"""Celery end to end on DiskDB: a solo-pool worker (a child process) takes
tasks from the DiskDB broker and stores results in the DiskDB backend; this
client sends single tasks, a group and a chord, a failing task, and checks
every result. Usage: celery_run.py PORT LOGFILE. Prints `celery OK` and the id
of each task with its expected result (`task ID EXPECTED`), which the Rust test
reads back from DiskDB itself."""

import os
import subprocess
import sys
import time

port, logfile = sys.argv[1], sys.argv[2]
os.environ["DISKDB_URL"] = f"redis://127.0.0.1:{port}/0"
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

from celery import chord, group  # noqa: E402

from celery_tasks import add, app, fail, tsum  # noqa: E402

TIMEOUT = 30

with open(logfile, "w") as log:
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-heartbeat", "-n", "fw@%h"],
        cwd=here, stdout=log, stderr=subprocess.STDOUT, env=os.environ,
    )
try:
    # The worker answers a ping over the broadcast (pidbox: PUBLISH/PSUBSCRIBE) once it consumes.
    deadline = time.time() + TIMEOUT
    while not app.control.ping(timeout=0.5):
        assert worker.poll() is None, "the worker exited at start-up"
        assert time.time() < deadline, "the worker never answered a ping"

    singles = [(add.delay(i, i * 10), i * 11) for i in range(5)]
    g = group(add.s(i, 1) for i in range(4)).apply_async()
    c = chord(add.s(i, i) for i in range(4))(tsum.s())
    bad = fail.delay("boom")

    for r, want in singles:
        got = r.get(timeout=TIMEOUT)
        assert got == want, (r.id, got, want)
        print(f"task {r.id} {want}")
    assert g.get(timeout=TIMEOUT) == [1, 2, 3, 4], g.results
    assert c.get(timeout=TIMEOUT) == 12
    print(f"task {c.id} 12")
    try:
        bad.get(timeout=TIMEOUT)
        raise AssertionError("the failing task succeeded")
    except ValueError as e:
        assert str(e) == "boom", e
    assert bad.state == "FAILURE", bad.state
    print(f"failed {bad.id}")

    # A remote-control call answered by the worker, then a warm shutdown through the broker.
    stats = app.control.inspect(timeout=TIMEOUT, limit=1).stats()
    assert stats and any("fw@" in name for name in stats), stats
    app.control.shutdown()
    assert worker.wait(timeout=TIMEOUT) == 0, "the worker did not shut down cleanly"
    print("celery OK")
finally:
    if worker.poll() is None:
        worker.kill()
