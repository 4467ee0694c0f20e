#!/usr/bin/env python3
"""Storage benchmarks: more data than cache, and restart time. Not tests.

Usage (from the repository root; `make bench-bigdata` / `make bench-restart`):

    python3 scripts/bench_storage.py bigdata [--keys N] [--cache BYTES] [--full]
    python3 scripts/bench_storage.py restart [--keys N] [--full]

bigdata: loads N keys of 200-byte values (half-compressible) into DiskDB
with a block cache at least 10x smaller than the data (default 2M keys,
~420 MB logical, 32 MiB cache; --full: 20M keys, ~4.2 GB, 128 MiB cache),
waits for compactions to settle, then runs random GETs over the whole key
space with redis-benchmark (-c 50, -P 1). Reports RSS (and its bound:
cache + memtables + 256 MiB), GET throughput and p99, on-disk size against
logical size. The same for redis-server (AOF everysec) when the data fits
in half the free memory; the ratios are DiskDB / Redis from the same run.

restart: loads N keys (default 3M, ~650 MB; --full 15M, ~3.2 GB) into both
servers, stops them cleanly, then times start-up until the first PING and
the first GET answer (median of 3). Redis loads its AOF (appendonly yes,
everysec, the MSETs as written); DiskDB opens RocksDB.

Python 3 standard library; reuses scripts/bench_compare.py's servers and
client. Every process started is stopped on exit.
"""

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_compare as bc  # noqa: E402

VALUE = 200
KEY = "key:%012d"


def rss_bytes(pid):
    """(VmRSS, VmHWM) of a process, bytes."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def du(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def load(server, keys):
    """MSET of 100 keys, 20 per round trip; values are 100 random bytes as
    hex (200 bytes, compress to about half), so compression is realistic."""
    c = bc.Resp(server.port, timeout=300.0)
    rnd = random.Random(42)
    t0 = time.monotonic()
    try:
        cmds = []
        for start in range(0, keys, 100):
            mset = ["MSET"]
            for i in range(start, min(start + 100, keys)):
                mset += [KEY % i, rnd.getrandbits(800).to_bytes(100, "little").hex()]
            cmds.append(mset)
            if len(cmds) == 20:
                bad = [r for r in c.pipeline(cmds) if isinstance(r, bc.RespError)]
                if bad:
                    raise RuntimeError("%s: load failed: %s" % (server.name, bad[0]))
                cmds = []
        if cmds:
            c.pipeline(cmds)
    finally:
        c.close()
    return time.monotonic() - t0


def info(server, section):
    c = bc.Resp(server.port)
    try:
        text = c.cmd("INFO", section).decode()
    finally:
        c.close()
    return dict(l.split(":", 1) for l in text.splitlines() if ":" in l)


def settle(server, limit=300.0):
    """Waits until RocksDB has no flush/compaction running or pending."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        i = info(server, "storage")
        if all(int(i.get(k, "0")) == 0 for k in
               ("rocksdb_pending_compaction_bytes", "rocksdb_running_compactions", "rocksdb_running_flushes")):
            return
        time.sleep(1)


def get_bench(rb, server, keys, n):
    """Random GETs over the whole key space: (ops/s, p50 ms, p99 ms)."""
    test = next(t for t in bc.TESTS if t.rb == "get" and not t.size)
    # -r draws keys uniformly in 0..keys-1: the same `key:%012d` names as load().
    run = bc.bench(rb, server, test, 1, n, keys)
    if run.error:
        raise RuntimeError("%s: redis-benchmark: %s" % (server.name, run.error))
    return run.ops, run.p50, run.p99


def mib(x):
    return "%.0f MiB" % (x / 1048576.0)


def bigdata(a, children, work):
    keys = a.keys or (20_000_000 if a.full else 2_000_000)
    cache = a.cache or (128 << 20 if a.full else 32 << 20)
    logical = keys * (len(KEY % 0) + VALUE)
    wb = 16 << 20
    extra = "block_cache_size = %d\nwrite_buffer_size = %d\nread_cache_size = %d\n" % (cache, wb, 16 << 20)
    print("bigdata: %d keys x %d B = %s logical, block cache %s (%.0fx smaller)"
          % (keys, VALUE, mib(logical), mib(cache), logical / cache))
    d = bc.start_diskdb(children, a.diskdb, work, "everysec", extra)
    secs = load(d, keys)
    print("diskdb: loaded in %.0f s (%.0f keys/s)" % (secs, keys / secs))
    settle(d)
    n = a.requests
    ops, p50, p99 = get_bench(a.redis_benchmark, d, keys, n)
    rss, peak = rss_bytes(d.proc.pid)
    disk = du(os.path.join(work, "diskdb-everysec", "data"))
    # Memtables: 4 column families x max_write_buffer_number (4) at most.
    bound = cache + 16 * wb + (256 << 20)
    rows = [("diskdb", ops, p50, p99, rss, peak, disk)]
    print("diskdb: RSS %s (peak %s, bound %s: %s), on disk %s = %.2fx logical"
          % (mib(rss), mib(peak), mib(bound), "ok" if rss <= bound else "EXCEEDED", mib(disk), disk / logical))
    children.stop(d.proc)
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if logical * 3 < free:
        r = bc.start_redis(children, a.redis_server, work, "everysec")
        secs = load(r, keys)
        print("redis:  loaded in %.0f s (%.0f keys/s)" % (secs, keys / secs))
        ops_r, p50_r, p99_r = get_bench(a.redis_benchmark, r, keys, n)
        rss_r, peak_r = rss_bytes(r.proc.pid)
        disk_r = du(os.path.join(work, "redis-everysec"))
        rows.append(("redis", ops_r, p50_r, p99_r, rss_r, peak_r, disk_r))
        children.stop(r.proc)
    else:
        print("redis:  skipped, %s of data does not fit in %s free memory" % (mib(logical), mib(free)))
    print()
    print("| server | GET ops/s | p50 ms | p99 ms | RSS | peak RSS | on disk | disk / logical |")
    print("|---|---|---|---|---|---|---|---|")
    for name, o, q50, q99, r_, pk, dk in rows:
        print("| %s | %.0f | %.3f | %.3f | %s | %s | %s | %.2f |" % (name, o, q50, q99, mib(r_), mib(pk), mib(dk), dk / logical))
    if len(rows) == 2:
        print("\nratios diskdb/redis: GET throughput %.2fx, p99 %.2fx, RSS %.2fx"
              % (rows[0][1] / rows[1][1], rows[0][3] / rows[1][3], rows[0][4] / rows[1][4]))


def time_start(start, first_get):
    """Seconds until PING answers, and until a GET of a stored key does."""
    t0 = time.monotonic()
    s = start()
    t_ping = time.monotonic() - t0
    c = bc.Resp(s.port, timeout=600.0)
    try:
        v = c.cmd("GET", first_get)
    finally:
        c.close()
    if not v:
        raise RuntimeError("%s: %s missing after restart" % (s.name, first_get))
    return s, t_ping, time.monotonic() - t0


def restart(a, children, work):
    keys = a.keys or (15_000_000 if a.full else 3_000_000)
    logical = keys * (len(KEY % 0) + VALUE)
    print("restart: %d keys x %d B = %s logical" % (keys, VALUE, mib(logical)))
    starts = {
        "diskdb": lambda: bc.start_diskdb(children, a.diskdb, work, "everysec"),
        # Redis answers PING only once its AOF is loaded: give it the time.
        "redis": lambda: bc.start_redis(children, a.redis_server, work, "everysec", start_timeout=1800.0),
    }
    sizes = {}
    for name, start in starts.items():
        s = start()
        secs = load(s, keys)
        print("%s: loaded in %.0f s" % (name, secs))
        children.stop(s.proc, grace=600)
        sizes[name] = du(os.path.join(work, name + "-everysec"))
    times = {name: [] for name in starts}
    probe = KEY % (keys // 2)
    for _ in range(a.rounds):
        for name, start in starts.items():  # alternating, same conditions
            s, t_ping, t_get = time_start(start, probe)
            times[name].append((t_ping, t_get))
            children.stop(s.proc, grace=600)
    print()
    print("| server | data on disk | start-up to PING (s) | to first GET (s) |")
    print("|---|---|---|---|")
    med = {}
    for name in starts:
        p = statistics.median(t for t, _ in times[name])
        g = statistics.median(t for _, t in times[name])
        med[name] = g
        print("| %s | %s | %.3f | %.3f |" % (name, mib(sizes[name]), p, g))
    print("\nratio diskdb/redis start-up (to first GET): %.3fx" % (med["diskdb"] / med["redis"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["bigdata", "restart"])
    ap.add_argument("--keys", type=int, help="keys to load (see above for defaults)")
    ap.add_argument("--cache", type=int, help="bigdata: block_cache_size in bytes")
    ap.add_argument("--full", action="store_true", help="the issue's full size (20M keys / 15M keys)")
    ap.add_argument("--requests", type=int, default=300_000, help="bigdata: GETs per server")
    ap.add_argument("--rounds", type=int, default=3, help="restart: start-ups per server")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(bc.ROOT, "target"))
    ap.add_argument("--diskdb", default=os.path.join(target, "release", "diskdb"))
    ap.add_argument("--redis-server", default="redis-server")
    ap.add_argument("--redis-benchmark", default="redis-benchmark")
    ap.add_argument("--keep", action="store_true", help="keep the data directories")
    a = ap.parse_args()
    missing = [b for b in (a.redis_server, a.redis_benchmark) if not shutil.which(b)]
    if missing:
        sys.exit("not found: %s (Debian: apt-get install redis-server redis-tools)" % ", ".join(missing))
    if not os.access(a.diskdb, os.X_OK):
        sys.exit("%s not found: build it first (cargo build --release)" % a.diskdb)
    signal.signal(signal.SIGTERM, bc._raise_exit)
    signal.signal(signal.SIGHUP, bc._raise_exit)
    children = bc.Children()
    work = tempfile.mkdtemp(prefix="diskdb-bench-storage-")
    try:
        (bigdata if a.what == "bigdata" else restart)(a, children, work)
    finally:
        children.stop_all()
        if a.keep:
            print("data kept in", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
