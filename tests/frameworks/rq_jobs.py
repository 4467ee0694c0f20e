"""Job functions for rq_run.py; the burst worker imports them by name."""


def add(x, y):
    return x + y


def concat(*parts):
    return "-".join(parts)


def fail(message):
    raise ValueError(message)
