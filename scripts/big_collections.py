#!/usr/bin/env python3
"""Server-side latencies on big collections, DiskDB beside redis-server.

Builds a sorted set of N members (default 1,000,000) and a hash of N fields
in each server, then reports, from each server's own INFO commandstats
(usec_per_call, so the network and this script are left out):

  ZRANGE z 0 9        the first ten members
  ZSCORE z m          a point read
  ZRANK z m           of the middle member: DiskDB has no order-statistics
                      index and walks from the nearer end (O(rank)), Redis
                      walks its skiplist (O(log N))
  ZREVRANK z m        the same from the other end
  DEL h               of the N-field hash: DiskDB only drops the meta record
                      (O(1)); Redis frees every field (O(N))

Usage: python3 scripts/big_collections.py [--n 1000000] [--calls 200]
       [--diskdb target/release/diskdb] [--redis-server redis-server]
Timings belong here and in docs, never in tests. The servers reuse the
helpers of scripts/bench_compare.py (AOF everysec for Redis, the shipped
defaults for DiskDB).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_compare import Children, Resp, start_diskdb, start_redis  # noqa: E402

BATCH = 1000


def member(i):
    return b"m:%09d" % i


def fill(conn, n):
    """ZADD z / HSET h in batches of BATCH, pipelined."""
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        zadd = ["ZADD", "z"]
        hset = ["HSET", "h"]
        for i in range(lo, hi):
            zadd += [str(i), member(i)]
            hset += [member(i), b"v"]
        for r in conn.pipeline([zadd, hset]):
            if isinstance(r, str) and r.startswith("ERR"):
                raise RuntimeError(r)


def commandstats(conn):
    """{command: usec_per_call} from INFO commandstats."""
    text = conn.cmd("INFO", "commandstats").decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("cmdstat_"):
            name, fields = line[len("cmdstat_"):].split(":", 1)
            kv = dict(f.split("=") for f in fields.split(","))
            out[name] = (int(kv["calls"]), float(kv["usec_per_call"]))
    return out


def measure(conn, n, calls):
    """Runs each probe `calls` times (DEL once: it empties the hash) and
    returns {label: usec_per_call} as the server counted it."""
    mid = member(n // 2)
    probes = [
        ("ZRANGE z 0 9", ["ZRANGE", "z", "0", "9"], "zrange"),
        ("ZSCORE z <mid>", ["ZSCORE", "z", mid], "zscore"),
        ("ZRANK z <mid>", ["ZRANK", "z", mid], "zrank"),
        ("ZREVRANK z <mid>", ["ZREVRANK", "z", mid], "zrevrank"),
        ("ZRANK z <first+10>", ["ZRANK", "z", member(10)], "zrank"),
    ]
    res = {}
    for label, cmd, stat in probes:
        conn.cmd("CONFIG", "RESETSTAT")
        for _ in range(calls):
            conn.cmd(*cmd)
        res[label] = commandstats(conn)[stat][1]
    conn.cmd("CONFIG", "RESETSTAT")
    conn.cmd("DEL", "h")
    res["DEL h (%d fields)" % n] = commandstats(conn)["del"][1]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--diskdb", default="target/release/diskdb")
    ap.add_argument("--redis-server", default="redis-server")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="big-collections-")
    children = Children()
    results = {}
    try:
        for name, start, binary in [("diskdb", start_diskdb, args.diskdb),
                                    ("redis", start_redis, args.redis_server)]:
            server = start(children, binary, work, "everysec")
            conn = Resp(server.port, timeout=600)
            t = time.monotonic()
            fill(conn, args.n)
            print("[%s] filled %d members + %d fields in %.1f s" % (name, args.n, args.n, time.monotonic() - t),
                  flush=True)
            results[name] = measure(conn, args.n, args.calls)
            conn.close()
            children.stop(server.proc)
    finally:
        children.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    print("\n%-26s %14s %14s" % ("server-side latency (us)", "diskdb", "redis"))
    for label in results["diskdb"]:
        print("%-26s %14.1f %14.1f" % (label, results["diskdb"][label], results["redis"][label]))


if __name__ == "__main__":
    main()
