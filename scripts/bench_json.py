#!/usr/bin/env python3
"""JSON partial-update benchmark against a running DiskDB, each case vs
rewriting the document (JSON.GET + JSON.SET): JSON.NUMINCRBY on one field of
a ~1 MiB document of records, and on a ~1 MiB array of numbers
JSON.ARRAPPEND of one element and JSON.NUMINCRBY $[500000]. Plain sockets,
no client library. Usage: bench_json.py PORT [N]
Prints the per-operation times and their ratios; not a test (no assertions)."""
import json, socket, sys, time

def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")
    def cmd(self, *args):
        self.s.sendall(enc(*args))
        return self.read()
    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b"*":
            return [self.read() for _ in range(int(rest))]
        return rest

def doc(n):
    return {"meta": {"n": n}, "records": {
        f"r{i}": {"id": i, "count": 0, "tags": [f"t{i}", "x", "y"], "text": "lorem ipsum dolor sit amet " * 4,
                  "owner": {"name": f"user{i}", "email": f"user{i}@example.com"}} for i in range(n)}}

def timed(n, f):
    t = time.perf_counter()
    for i in range(n):
        f(i)
    return (time.perf_counter() - t) / n

def rewrite(c, key, n):
    """Per-op time of the whole-document alternative: JSON.GET + JSON.SET."""
    return timed(max(n // 10, 10), lambda i: c.cmd("JSON.SET", key, "$", c.cmd("JSON.GET", key)))

def report(name, op, rw):
    print(f"{name}: {op*1e6:.0f} us/op; GET+SET whole: {rw*1e6:.0f} us/op; ratio: {rw/op:.1f}x")

def main():
    port = int(sys.argv[1]); n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    c = Conn(port)
    d = json.dumps(doc(4400), separators=(",", ":"))
    c.cmd("JSON.SET", "bench:json", "$", d)
    print(f"records document: {len(d)} bytes")
    inc = timed(n, lambda i: c.cmd("JSON.NUMINCRBY", "bench:json", f".records.r{i % 4400}.count", "1"))
    report("JSON.NUMINCRBY one field", inc, rewrite(c, "bench:json", n))
    c.cmd("DEL", "bench:json")
    # 1 MiB array of numbers (600k one-digit numbers: index 500000 exists).
    a = json.dumps([i % 10 for i in range(600_000)], separators=(",", ":"))
    c.cmd("JSON.SET", "bench:arr", "$", a)
    print(f"array document: {len(a)} bytes")
    rw = rewrite(c, "bench:arr", n)
    c.cmd("JSON.SET", "bench:arr", "$", a)
    app = timed(n, lambda i: c.cmd("JSON.ARRAPPEND", "bench:arr", "$", "1"))
    report("JSON.ARRAPPEND one element", app, rw)
    inc = timed(n, lambda i: c.cmd("JSON.NUMINCRBY", "bench:arr", "$[500000]", "1"))
    report("JSON.NUMINCRBY $[500000]", inc, rw)
    c.cmd("DEL", "bench:arr")

if __name__ == "__main__":
    main()
