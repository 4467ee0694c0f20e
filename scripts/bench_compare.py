#!/usr/bin/env python3
"""DiskDB against redis-server, measured with redis-benchmark in one run.

Usage (from the repository root; `make bench-compare` / `make bench-quick`):

    python3 scripts/bench_compare.py [--quick] [--out DIR] [--publish DIR]

For each durability mode (Redis `appendonly yes` + `appendfsync everysec`
against DiskDB `sync = "everysec"`, then both `always`) it starts one
redis-server and one DiskDB on free loopback ports with temporary data
directories, fills the key space both will read, and runs redis-benchmark
(`-c 50`, `-P 1` and `-P 16`) on every test of the list below, alternating
Redis / DiskDB / Redis / DiskDB so that the drift of a shared, noisy machine
falls on both alike. Each figure is therefore a ratio DiskDB / Redis taken
from adjacent runs, never an absolute claim.

A test whose commands DiskDB does not implement yet (an error reply to a
probe before the runs, or redis-benchmark stopping on "Error from server")
is reported as "n/a", not as a failure.

Every run lasts about the same time: a short warm-up run per test and system
measures its rate, and the request count `-n` is sized so that the whole
comparison fits the time budget (about 5 minutes; under 1 minute with
--quick). Writes, into --out: runs.csv (every run), results.csv (one row per
mode, pipeline and test), results.md (tables for docs/benchmarks.md) and
chart.png (ratios, drawn with gnuplot when it is installed). --publish DIR
also copies the chart and results.csv to DIR/bench-compare.{png,csv} and
replaces the table between the bench-compare markers of DIR/benchmarks.md.

Python 3 standard library only. Every process it starts is stopped on exit,
including on Ctrl-C and SIGTERM.
"""

import argparse
import csv
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import hashlib
import selectors
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLIENTS = 50
PROBE_PREFIX = "__bench_probe__:"
# Rough fixed costs (seconds) left out of the timed runs when sizing them.
WARMUP_COST = 0.3
MODE_COST = 4.0
MARK_BEGIN = "<!-- bench-compare:begin -->"
MARK_END = "<!-- bench-compare:end -->"


class Test:
    """One redis-benchmark test: its -t name, value size, database, the
    commands that must work for it to be meaningful, and its CSV row name."""

    def __init__(self, name, rb, probe, size=None, db=0, command=None, subscribers=0, setup=None):
        self.name = name
        self.rb = rb
        self.probe = probe
        self.size = size
        # 1 KiB tests use their own database, so a 1 KiB SET never changes
        # what the 3-byte GET of a later pass reads.
        self.db = db
        # A test that is not one of redis-benchmark's own (-t) runs this
        # command line instead; its CSV row is the command line itself.
        self.command = command
        # Connections subscribed to PUBLISH_CHANNEL while the test runs.
        self.subscribers = subscribers
        # Commands sent before every run (a server of another mode starts
        # without them: SCRIPT LOAD).
        self.setup = setup or []
        # redis-benchmark's row: "SET", "LRANGE_100 (first 100 elements)",
        # "MSET (10 keys)"; the word before " (" identifies it.
        self.row = " ".join(command) if command else rb.upper()


BENCH_LUA = "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])"
BENCH_LUA_SHA = hashlib.sha1(BENCH_LUA.encode()).hexdigest()


def _k(suffix):
    return PROBE_PREFIX + suffix


# In redis-benchmark's own order, so each test finds what the previous left
# (get after set, pops after pushes).
TESTS = [
    Test("set", "set", [["SET", _k("s"), "v"]]),
    Test("get", "get", [["GET", _k("s")]]),
    Test("incr", "incr", [["INCR", _k("n")]]),
    Test("lpush", "lpush", [["LPUSH", _k("l"), "v"]]),
    Test("rpush", "rpush", [["RPUSH", _k("l"), "v"]]),
    Test("lpop", "lpop", [["LPUSH", _k("l"), "v"], ["LPOP", _k("l")]]),
    Test("rpop", "rpop", [["LPUSH", _k("l"), "v"], ["RPOP", _k("l")]]),
    Test("sadd", "sadd", [["SADD", _k("t"), "v"]]),
    Test("hset", "hset", [["HSET", _k("h"), "f", "v"]]),
    Test("spop", "spop", [["SADD", _k("t"), "v"], ["SPOP", _k("t")]]),
    Test("zadd", "zadd", [["ZADD", _k("z"), "1", "v"]]),
    Test("lrange_100", "lrange_100", [["LPUSH", _k("l"), "v"], ["LRANGE", _k("l"), "0", "99"]]),
    Test("mset", "mset", [["MSET", _k("a"), "v", _k("b"), "v"]]),
    # Streams: one stream that XADD grows and XRANGE reads the head of.
    Test("xadd", "xadd", [["XADD", _k("x"), "*", "f", "v"]], command=["XADD", "bench:stream", "*", "f", "v"]),
    Test("xrange_10", "xrange_10", [["XADD", _k("x"), "*", "f", "v"], ["XRANGE", _k("x"), "-", "+", "COUNT", "10"]],
         command=["XRANGE", "bench:stream", "-", "+", "COUNT", "10"]),
    # Issue 7's figures: a small script (one SET, one GET) by EVALSHA, and
    # PUBLISH fanned out to 100 subscribers that read everything.
    Test("evalsha", "evalsha", [["SCRIPT", "LOAD", BENCH_LUA], ["EVALSHA", BENCH_LUA_SHA, "1", _k("e"), "v"]],
         command=["EVALSHA", BENCH_LUA_SHA, "1", "key:__rand_int__", "v"], setup=[["SCRIPT", "LOAD", BENCH_LUA]]),
    Test("publish_100", "publish_100", [["PUBLISH", "bench:channel", "v"]],
         command=["PUBLISH", "bench:channel", "hello"], subscribers=100),
    Test("set_1k", "set", [["SET", _k("s"), "v" * 1024]], size=1024, db=1),
    Test("get_1k", "get", [["GET", _k("s")]], size=1024, db=1),
]
PROBE_KEYS = [_k(s) for s in "snlthzabxe"]


# --------------------------------------------------------------------------
# Processes


class Children:
    """Every process this script started, stopped on exit whatever happens."""

    def __init__(self):
        self.procs = []

    def add(self, proc):
        self.procs.append(proc)
        return proc

    def stop(self, proc, grace=10.0):
        """SIGTERM (both servers shut down cleanly on it), then SIGKILL."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)


def _raise_exit(signum, _frame):
    # Turn SIGTERM/SIGHUP into an exception so `finally` blocks run and
    # subprocess.run() kills a running redis-benchmark on the way out.
    raise SystemExit(128 + signum)


def free_port():
    """A loopback port free right now (redis-server needs a number)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# A minimal RESP client (probes and prefill only; the load is redis-benchmark)


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Resp:
    """A blocking RESP2 connection; replies are returned, errors as RespError
    values (not raised), so a probe can look at them."""

    def __init__(self, port, timeout=30.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ConnectionError("unexpected reply %r" % line)

    def cmd(self, *args):
        self.sock.sendall(encode(args))
        return self.read()

    def pipeline(self, cmds):
        """Sends every command, then reads every reply."""
        self.sock.sendall(b"".join(encode(c) for c in cmds))
        return [self.read() for _ in cmds]


class RespError(str):
    """An error reply."""


class Subscribers:
    """`count` connections SUBSCRIBEd to `channel`, drained by one thread
    that reads everything into a scratch buffer without parsing, so the
    publisher's fan-out, not this reader, is what is measured."""

    def __init__(self, port, channel, count):
        self.socks = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10.0)
            s.sendall(encode(["SUBSCRIBE", channel]))
            self.socks.append(s)
        for s in self.socks:
            # The confirmation: *3 $9 subscribe $N channel :1.
            got = b""
            while got.count(b"\r\n") < 6:
                got += s.recv(4096)
            s.setblocking(False)
        self.stop_flag = False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        sel = selectors.DefaultSelector()
        for s in self.socks:
            sel.register(s, selectors.EVENT_READ)
        while not self.stop_flag:
            for key, _ in sel.select(timeout=0.1):
                try:
                    key.fileobj.recv(1 << 20)
                except (BlockingIOError, InterruptedError):
                    pass
        sel.close()

    def close(self):
        self.stop_flag = True
        self.thread.join()
        for s in self.socks:
            s.close()


def wait_ping(port, proc, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with status %s during start-up" % (what, proc.returncode))
        try:
            c = Resp(port, timeout=2.0)
            try:
                if c.cmd("PING") == "PONG":
                    return
            finally:
                c.close()
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("%s did not answer PING within %.0f s" % (what, timeout))


# --------------------------------------------------------------------------
# The two servers


class Server:
    """A running server under test: name, port, process, log file."""

    def __init__(self, name, port, proc, log):
        self.name = name
        self.port = port
        self.proc = proc
        self.log = log

    def alive(self):
        return self.proc.poll() is None

    def tail(self, n=15):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def start_redis(children, binary, work, mode, start_timeout=20.0):
    """`start_timeout`: seconds to wait for PING (a big AOF loads for long)."""
    d = os.path.join(work, "redis-" + mode)
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "redis.log")
    last = None
    for _ in range(3):  # another process may take the port between probe and bind
        port = free_port()
        proc = children.add(
            subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                 "--save", "", "--appendonly", "yes", "--appendfsync", mode,
                 "--daemonize", "no", "--logfile", log],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            )
        )
        try:
            wait_ping(port, proc, "redis-server", timeout=start_timeout)
            return Server("redis", port, proc, log)
        except RuntimeError as e:
            last = e
            children.stop(proc)
    raise RuntimeError("%s\n%s" % (last, open(log, errors="replace").read()[-2000:]))


def start_diskdb(children, binary, work, mode, storage_extra=""):
    """`storage_extra`: more `[storage]` lines (scripts/bench_storage.py)."""
    d = os.path.join(work, "diskdb-" + mode)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "diskdb.toml")
    with open(conf, "w") as f:
        # Everything else at the shipped defaults (conf/diskdb.toml): the
        # configuration a user gets.
        f.write('[server]\nbind = "127.0.0.1"\nport = 0\nloglevel = "warn"\n\n'
                '[storage]\ndir = "%s"\nsync = "%s"\n%s' % (os.path.join(d, "data"), mode, storage_extra))
    log = os.path.join(d, "diskdb.log")
    with open(log, "wb") as out:
        proc = children.add(
            subprocess.Popen([binary, "--config", conf], stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT)
        )
    # Port 0: the server picks one and prints `listening on ADDR`, so no race.
    deadline = time.monotonic() + 30
    port = None
    while port is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            children.stop(proc)
            raise RuntimeError("diskdb did not start:\n" + open(log, errors="replace").read()[-2000:])
        m = re.search(r"listening on \S+:(\d+)", open(log, errors="replace").read())
        if m:
            port = int(m.group(1))
        else:
            time.sleep(0.05)
    wait_ping(port, proc, "diskdb")
    return Server("diskdb", port, proc, log)


def probe(server):
    """Names of the tests whose commands the server answers without error."""
    c = Resp(server.port)
    try:
        ok = set()
        for t in TESTS:
            replies = c.pipeline([["SELECT", str(t.db)]] + t.probe)
            if not any(isinstance(r, RespError) for r in replies[1:]):
                ok.add(t.name)
        for db in sorted({t.db for t in TESTS}):
            c.pipeline([["SELECT", str(db)], ["DEL"] + PROBE_KEYS])
        return ok
    finally:
        c.close()


def prefill(server, keyspace):
    """Writes every key redis-benchmark's GET can ask for (`key:%012d`,
    3-byte values in db 0, 1 KiB in db 1), so GET measures hits on both."""
    c = Resp(server.port, timeout=120.0)
    try:
        for db, value in sorted({(t.db, "x" * (t.size or 3)) for t in TESTS}):
            c.cmd("SELECT", str(db))
            # MSET of 100 keys, 20 of them per round trip: few replies to
            # read here, and few commands for the servers to sync.
            keys_per_cmd, cmds_per_trip = 100, 20
            cmds = []
            for start in range(0, keyspace, keys_per_cmd):
                mset = ["MSET"]
                for i in range(start, min(start + keys_per_cmd, keyspace)):
                    mset += ["key:%012d" % i, value]
                cmds.append(mset)
            for at in range(0, len(cmds), cmds_per_trip):
                bad = [r for r in c.pipeline(cmds[at:at + cmds_per_trip]) if isinstance(r, RespError)]
                if bad:
                    raise RuntimeError("%s: prefill failed: %s" % (server.name, bad[0]))
    finally:
        c.close()


# --------------------------------------------------------------------------
# redis-benchmark


class Run:
    """One redis-benchmark run: ops/s and latencies (ms), or why it failed."""

    def __init__(self, ops=None, p50=None, p99=None, n=0, secs=0.0, error=None, unsupported=False):
        self.ops, self.p50, self.p99 = ops, p50, p99
        self.n, self.secs = n, secs
        self.error = error
        self.unsupported = unsupported


def bench(rb, server, test, pipeline, n, keyspace):
    cmd = [rb, "-h", "127.0.0.1", "-p", str(server.port), "-c", str(CLIENTS),
           "-n", str(n), "-P", str(pipeline), "-r", str(keyspace),
           "--dbnum", str(test.db), "--csv"]
    if test.size:
        cmd += ["-d", str(test.size)]
    cmd += test.command if test.command else ["-t", test.rb]
    if test.setup:
        c = Resp(server.port)
        try:
            c.pipeline(test.setup)
        finally:
            c.close()
    subs = Subscribers(server.port, test.command[1], test.subscribers) if test.subscribers else None
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=max(120.0, n / 1000.0))
    except subprocess.TimeoutExpired:
        return Run(n=n, error="redis-benchmark timed out")
    finally:
        if subs:
            subs.close()
    secs = time.monotonic() - t0
    out = p.stdout + p.stderr
    m = re.search(r"Error from server: (.*)", out)
    if m:
        # redis-benchmark stops at the first error reply.
        return Run(n=n, secs=secs, error=m.group(1).strip(), unsupported=True)
    for row in csv.reader(l for l in p.stdout.splitlines() if l.startswith('"')):
        if row and row[0].split(" (")[0] == test.row and "needed" not in row[0]:
            return Run(ops=float(row[1]), p50=float(row[4]), p99=float(row[6]), n=n, secs=secs)
    last = out.strip().splitlines()[-1:] or ["no output"]
    return Run(n=n, secs=secs, error="exit %d: %s" % (p.returncode, last[0]))


# --------------------------------------------------------------------------
# Reporting


def fmt_ops(x):
    if x is None:
        return "n/a"
    if x >= 1e6:
        return "%.2fM" % (x / 1e6)
    if x >= 1e3:
        return "%.1fk" % (x / 1e3)
    return "%.0f" % x


def fmt_ms(x):
    return "-" if x is None else "%.2f" % x


def fmt_ratio(x):
    return "n/a" if x is None else "%.2fx" % x


def median_or_none(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Result:
    """All rounds of one (mode, pipeline, test)."""

    def __init__(self, mode, pipeline, test):
        self.mode, self.pipeline, self.test = mode, pipeline, test
        self.runs = {"redis": [], "diskdb": []}
        self.note = ""

    def agg(self, system, field):
        return median_or_none([getattr(r, field) for r in self.runs[system]])

    def ratio(self):
        """Median of per-round ratios: each pairs adjacent runs, so drift of
        the machine between rounds cancels."""
        pairs = zip(self.runs["redis"], self.runs["diskdb"])
        return median_or_none([d.ops / r.ops for r, d in pairs if r.ops and d.ops])


def write_csvs(out, results, runs_log):
    with open(os.path.join(out, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mode", "pipeline", "test", "round", "system", "requests", "seconds",
                    "ops_per_sec", "p50_ms", "p99_ms", "error"])
        w.writerows(runs_log)
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mode", "pipeline", "test", "redis_ops_per_sec", "redis_p50_ms", "redis_p99_ms",
                    "diskdb_ops_per_sec", "diskdb_p50_ms", "diskdb_p99_ms", "ratio", "note"])
        for r in results:
            def num(x, fmt="%.2f"):
                return "" if x is None else fmt % x
            w.writerow([r.mode, r.pipeline, r.test.name,
                        num(r.agg("redis", "ops"), "%.0f"), num(r.agg("redis", "p50"), "%.3f"),
                        num(r.agg("redis", "p99"), "%.3f"),
                        num(r.agg("diskdb", "ops"), "%.0f"), num(r.agg("diskdb", "p50"), "%.3f"),
                        num(r.agg("diskdb", "p99"), "%.3f"), num(r.ratio(), "%.3f"), r.note])


def console_table(results):
    head = ("mode", "P", "test", "redis ops/s", "p50", "p99", "diskdb ops/s", "p50", "p99", "ratio")
    rows = [head]
    for r in results:
        rows.append((r.mode, str(r.pipeline), r.test.name,
                     fmt_ops(r.agg("redis", "ops")), fmt_ms(r.agg("redis", "p50")), fmt_ms(r.agg("redis", "p99")),
                     fmt_ops(r.agg("diskdb", "ops")), fmt_ms(r.agg("diskdb", "p50")), fmt_ms(r.agg("diskdb", "p99")),
                     fmt_ratio(r.ratio()) + ("  " + r.note if r.note else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head) - 1)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) if i < 3 else row[i].rjust(widths[i]) for i in range(len(widths))]
        lines.append("  ".join(cells) + "  " + row[-1])
    return "\n".join(lines)


def markdown(results, meta, modes, pipelines):
    """One table per durability mode: ops/s (p50/p99 ms) per system and the
    ratio, a column group per pipeline depth."""
    md = [meta, ""]
    for mode in modes:
        md.append("**%s** (Redis `appendonly yes`, `appendfsync %s`; DiskDB `sync = \"%s\"`)" % (mode, mode, mode))
        md.append("")
        head = ["test"]
        for p in pipelines:
            head += ["Redis P=%d" % p, "DiskDB P=%d" % p, "ratio P=%d" % p]
        md.append("| " + " | ".join(head) + " |")
        md.append("|" + "---|" + "---:|" * (len(head) - 1))
        for t in TESTS:
            cells = [t.name]
            for p in pipelines:
                r = next((x for x in results if x.mode == mode and x.pipeline == p and x.test is t), None)
                if r is None:
                    cells += ["", "", ""]
                    continue
                for sysname in ("redis", "diskdb"):
                    ops = r.agg(sysname, "ops")
                    cells.append("n/a" if ops is None else "%s (%s/%s)" % (
                        fmt_ops(ops), fmt_ms(r.agg(sysname, "p50")), fmt_ms(r.agg(sysname, "p99"))))
                ratio = r.ratio()
                cells.append("**%s**" % fmt_ratio(ratio) if ratio is not None else "n/a")
            md.append("| " + " | ".join(cells) + " |")
        md.append("")
    md.append("Cells: ops/s (p50/p99 latency in ms); ratio = DiskDB / Redis throughput, median of "
              "per-round ratios of adjacent runs; n/a = command not implemented by DiskDB yet.")
    return "\n".join(md) + "\n"


def chart(out, results, modes, pipelines, subtitle):
    """A bar chart of the ratios (gnuplot): one panel per mode, one bar per
    pipeline depth, n/a where DiskDB lacks the commands."""
    png = os.path.join(out, "chart.png")
    if os.path.exists(png):
        os.remove(png)  # never publish a previous run's chart with this run's table
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("gnuplot not found: no chart (apt-get install gnuplot-nox)", file=sys.stderr)
        return None
    ratios = [r.ratio() for r in results if r.ratio() is not None]
    ymax = max([1.2] + [x * 1.18 for x in ratios])
    width = 0.8 / len(pipelines)
    colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]
    g = []
    g.append('set terminal pngcairo size 1200,%d font "sans,10" noenhanced' % (330 * len(modes) + 60))
    g.append("set output '%s'" % png)
    g.append('set multiplot layout %d,1 title "DiskDB / Redis throughput ratio (redis-benchmark -c %d; higher is better, 1.0 = parity)\\n%s"'
             % (len(modes), CLIENTS, subtitle))
    g.append("set style fill solid 0.85 border -1")
    g.append("set boxwidth %.3f" % width)
    g.append("set yrange [0:%.2f]" % ymax)
    g.append("set xrange [-0.6:%.1f]" % (len(TESTS) - 0.4))
    g.append("set grid ytics")
    g.append("set key outside right top vertical")
    g.append("set xtics (%s)" % ", ".join('"%s" %d' % (t.name, i) for i, t in enumerate(TESTS)))
    g.append("set xtics rotate by -25")
    g.append("set ylabel 'DiskDB / Redis'")
    for mode in modes:
        g.append("unset label")
        g.append('set title "sync %s (Redis appendfsync %s)"' % (mode, mode))
        data = []
        for i, t in enumerate(TESTS):
            for j, p in enumerate(pipelines):
                x = i - 0.4 + width * (j + 0.5)
                r = next((x_ for x_ in results if x_.mode == mode and x_.pipeline == p and x_.test is t), None)
                v = r.ratio() if r else None
                if v is None:
                    g.append('set label "n/a" at %.3f,%.3f center rotate by 90 font ",8" tc rgb "#777777"'
                             % (x, ymax * 0.06))
                data.append("%d %.3f %s" % (j, x, "NaN" if v is None else "%.6f" % v))
        g.append("$%s << EOD\n%s\nEOD" % (mode, "\n".join(data)))
        plots = []
        for j, p in enumerate(pipelines):
            plots.append("$%s using 2:($1==%d ? $3 : NaN) with boxes lc rgb '%s' title 'P=%d'"
                         % (mode, j, colors[j % len(colors)], p))
            plots.append("$%s using 2:($1==%d ? $3 : NaN):(sprintf('%%.2f', $3)) with labels offset 0,0.6 font ',8' notitle"
                         % (mode, j))
        plots.append("1 with lines dt 2 lc rgb 'black' notitle")
        g.append("plot " + ", ".join(plots))
    g.append("unset multiplot")
    script = os.path.join(out, "chart.gp")
    with open(script, "w") as f:
        f.write("\n".join(g) + "\n")
    p = subprocess.run([gnuplot, script], capture_output=True, text=True)
    if p.returncode != 0:
        print("gnuplot failed: %s" % p.stderr.strip(), file=sys.stderr)
        return None
    return png


def publish(dest, out, md):
    os.makedirs(dest, exist_ok=True)
    for src, name in (("chart.png", "bench-compare.png"), ("results.csv", "bench-compare.csv")):
        if os.path.exists(os.path.join(out, src)):
            shutil.copyfile(os.path.join(out, src), os.path.join(dest, name))
    doc = os.path.join(dest, "benchmarks.md")
    if not os.path.exists(doc):
        return
    text = open(doc).read()
    a, b = text.find(MARK_BEGIN), text.find(MARK_END)
    if a < 0 or b < a:
        print("%s has no %s ... %s markers: table not updated" % (doc, MARK_BEGIN, MARK_END), file=sys.stderr)
        return
    with open(doc, "w") as f:
        f.write(text[: a + len(MARK_BEGIN)] + "\n" + md + text[b:])


# --------------------------------------------------------------------------
# Driver


def version_of(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="development mode: everysec only, one round, ~40 s budget, 10k keys")
    ap.add_argument("--out", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "bench-compare"))
    ap.add_argument("--publish", metavar="DIR", help="copy chart and CSV to DIR and update DIR/benchmarks.md")
    ap.add_argument("--diskdb", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "diskdb"))
    ap.add_argument("--redis-server", default="redis-server")
    ap.add_argument("--redis-benchmark", default="redis-benchmark")
    ap.add_argument("--modes", help="comma list of everysec,always")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--tests", help="comma list (default: all): " + ",".join(t.name for t in TESTS))
    ap.add_argument("--rounds", type=int, help="A/B pairs per test (default 2, quick 1)")
    ap.add_argument("--budget", type=float, help="seconds for all runs (default 270, quick 40)")
    ap.add_argument("--keyspace", type=int, help="distinct keys, -r (default 100000, quick 10000)")
    ap.add_argument("--keep", action="store_true", help="keep the servers' data directories")
    a = ap.parse_args()

    modes = (a.modes or ("everysec" if a.quick else "everysec,always")).split(",")
    pipelines = [int(x) for x in a.pipelines.split(",")]
    rounds = a.rounds or (1 if a.quick else 2)
    budget = a.budget or (40.0 if a.quick else 270.0)
    keyspace = a.keyspace or (10000 if a.quick else 100000)
    if a.tests:
        wanted = a.tests.split(",")
        unknown = [w for w in wanted if w not in {t.name for t in TESTS}]
        if unknown:
            ap.error("unknown test(s): %s" % ",".join(unknown))
        TESTS[:] = [t for t in TESTS if t.name in wanted]
    for m in modes:
        if m not in ("everysec", "always"):
            ap.error("unknown mode %r" % m)

    missing = [b for b in (a.redis_server, a.redis_benchmark) if not shutil.which(b)]
    if missing:
        sys.exit("not found: %s (Debian: apt-get install redis-server redis-tools)" % ", ".join(missing))
    if not os.access(a.diskdb, os.X_OK):
        sys.exit("%s not found: build it first (cargo build --release)" % a.diskdb)

    os.makedirs(a.out, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGHUP, _raise_exit)
    children = Children()
    work = tempfile.mkdtemp(prefix="diskdb-bench-")
    started = time.monotonic()
    load_before = os.getloadavg()
    results, runs_log = [], []
    supported = None
    try:
        for mi, mode in enumerate(modes):
            redis = start_redis(children, a.redis_server, work, mode)
            disk = start_diskdb(children, a.diskdb, work, mode)
            servers = {"redis": redis, "diskdb": disk}
            if supported is None:
                supported = probe(disk)
                lacking = probe(redis) ^ {t.name for t in TESTS}
                if lacking:
                    sys.exit("redis-server rejects the probes of %s" % ",".join(sorted(lacking)))
                na = [t.name for t in TESTS if t.name not in supported]
                if na:
                    print("DiskDB does not implement yet (n/a): %s" % ", ".join(na), file=sys.stderr)
            t0 = time.monotonic()
            for s in servers.values():
                prefill(s, keyspace)
            print("[%s] servers up (redis :%d, diskdb :%d), %d keys prefilled in %.1f s"
                  % (mode, redis.port, disk.port, keyspace, time.monotonic() - t0), file=sys.stderr)
            for pi, pipeline in enumerate(pipelines):
                for ti, test in enumerate(TESTS):
                    res = Result(mode, pipeline, test)
                    results.append(res)
                    systems = ["redis", "diskdb"] if test.name in supported else ["redis"]
                    if test.name not in supported:
                        res.note = "DiskDB: not implemented"
                    # Warm-up: measures each system's rate to size -n, and
                    # brings both to a steady state before the timed rounds.
                    warm_n = 2000 * pipeline
                    rate = {}
                    for sname in list(systems):
                        w = bench(a.redis_benchmark, servers[sname], test, pipeline, warm_n, keyspace)
                        if w.unsupported and sname == "diskdb":
                            systems.remove("diskdb")
                            res.note = "DiskDB: " + w.error
                        elif w.error:
                            raise RuntimeError("%s %s P=%d warm-up: %s\n%s" % (sname, test.name, pipeline, w.error,
                                                                             servers[sname].tail()))
                        else:
                            rate[sname] = w.n / max(w.secs, 1e-3)
                    # Spread what is left of the budget over the runs left,
                    # after the warm-ups and server starts still to come.
                    left_runs = left_warm = 0
                    for mj in range(mi, len(modes)):
                        for pj in range(pi if mj == mi else 0, len(pipelines)):
                            for tk in range(ti if (mj, pj) == (mi, pi) else 0, len(TESTS)):
                                both = TESTS[tk].name in supported
                                left_runs += rounds * (2 if both else 1)
                                left_warm += 0 if tk == ti and (mj, pj) == (mi, pi) else (2 if both else 1)
                    left_time = (budget - (time.monotonic() - started)
                                 - WARMUP_COST * left_warm - MODE_COST * (len(modes) - 1 - mi))
                    per_run = min(8.0, max(0.4, left_time / max(1, left_runs)))
                    floor = CLIENTS * pipeline * 8
                    n = {s: int(max(floor, min(5_000_000, rate[s] * per_run))) for s in systems}
                    for rnd in range(rounds):
                        for sname in systems:  # A/B/A/B
                            if not servers[sname].alive():
                                raise RuntimeError("%s died:\n%s" % (sname, servers[sname].tail()))
                            r = bench(a.redis_benchmark, servers[sname], test, pipeline, n[sname], keyspace)
                            if r.error and not r.unsupported:
                                res.note = "%s: %s" % (sname, r.error)
                            res.runs[sname].append(r)
                            runs_log.append([mode, pipeline, test.name, rnd + 1, sname, r.n, "%.3f" % r.secs,
                                             "" if r.ops is None else "%.0f" % r.ops,
                                             "" if r.p50 is None else r.p50, "" if r.p99 is None else r.p99,
                                             r.error or ""])
                    print("[%s P=%-2d] %-10s redis %8s ops/s  diskdb %8s ops/s  ratio %s"
                          % (mode, pipeline, test.name, fmt_ops(res.agg("redis", "ops")),
                             fmt_ops(res.agg("diskdb", "ops")), fmt_ratio(res.ratio())), file=sys.stderr)
            children.stop(redis.proc)
            children.stop(disk.proc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        children.stop_all()
        if a.keep:
            print("data kept in %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

    elapsed = time.monotonic() - started
    load_after = os.getloadavg()
    diskdb_v = version_of([a.diskdb, "--version"])
    redis_v = version_of([a.redis_server, "--version"]).split(" sha=")[0]
    commit = version_of(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    meta = ("%s (commit %s) vs %s; %s, %d cores; %s; redis-benchmark -c %d -r %d, "
            "%d round(s) A/B per test, %.0f s; load average %.1f before, %.1f after."
            % (diskdb_v, commit, redis_v, cpu_model(), os.cpu_count() or 0,
               datetime.date.today().isoformat(), CLIENTS, keyspace, rounds, elapsed,
               load_before[0], load_after[0]))
    write_csvs(a.out, results, runs_log)
    md = markdown(results, meta, modes, pipelines)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md)
    png = chart(a.out, results, modes, pipelines, "%s vs %s, %s" % (diskdb_v, redis_v, datetime.date.today().isoformat()))
    print()
    print(meta)
    print(console_table(results))
    print()
    print("wrote %s/{results.csv,runs.csv,results.md%s}" % (a.out, ",chart.png" if png else ""))
    if a.publish:
        publish(a.publish, a.out, md)
        print("published to %s" % a.publish)
    return 0


if __name__ == "__main__":
    sys.exit(main())
