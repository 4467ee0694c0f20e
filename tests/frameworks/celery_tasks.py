"""The Celery app the worker and the client of celery_run.py share: broker and
result backend are both the DiskDB at $DISKDB_URL."""

import os

from celery import Celery

app = Celery("diskdb_fw", broker=os.environ["DISKDB_URL"], backend=os.environ["DISKDB_URL"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=False,
    worker_hijack_root_logger=False,
    result_expires=3600,
)


@app.task
def add(x, y):
    return x + y


@app.task
def tsum(numbers):
    return sum(numbers)


@app.task
def fail(message):
    raise ValueError(message)
