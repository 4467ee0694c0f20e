"""RQ end to end on DiskDB: enqueue jobs (plain, with a dependency, retried then
failing, and one with a result TTL), run `rq worker --burst` as a child process
until the queue is empty, then check the results, the finished and failed
registries, and the failure's traceback. Usage: rq_run.py PORT LOGFILE. Prints
`rq OK`, `finished ID` per job that must have succeeded and
`failed REGISTRYKEY ID` for the failed job: the Rust test reads both back."""

import os
import subprocess
import sys

from redis import Redis
from rq import Queue, Retry
from rq.job import JobStatus

port, logfile = sys.argv[1], sys.argv[2]
url = f"redis://127.0.0.1:{port}/0"
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

import rq_jobs  # noqa: E402

conn = Redis.from_url(url)
q = Queue("default", connection=conn)

adds = [(q.enqueue(rq_jobs.add, i, 100), i + 100) for i in range(6)]
first = q.enqueue(rq_jobs.concat, "a", "b")
after = q.enqueue(rq_jobs.concat, "c", "d", depends_on=first)
doomed = q.enqueue(rq_jobs.fail, "boom", retry=Retry(max=1))
assert after.get_status() == JobStatus.DEFERRED, after.get_status()
assert q.count == 8, q.count

with open(logfile, "w") as log:
    rc = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", url, "default"],
        cwd=here, stdout=log, stderr=subprocess.STDOUT, timeout=60,
    ).returncode
assert rc == 0, f"rq worker exited with {rc}"

for job, want in adds + [(first, "a-b"), (after, "c-d")]:
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED, (job.id, job.get_status())
    assert job.return_value() == want, (job.id, job.return_value(), want)
    print(f"finished {job.id}")

doomed.refresh()
assert doomed.get_status() == JobStatus.FAILED, doomed.get_status()
assert doomed.retries_left == 0, doomed.retries_left
assert "ValueError: boom" in (doomed.latest_result().exc_string or ""), doomed.latest_result()
failed = q.failed_job_registry
assert failed.get_job_ids() == [doomed.id], failed.get_job_ids()
assert len(q.finished_job_registry) == 8, q.finished_job_registry.get_job_ids()
assert q.count == 0, q.count
print(f"failed {failed.key} {doomed.id}")
print("rq OK")
