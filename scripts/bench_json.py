#!/usr/bin/env python3
"""JSON partial-update benchmark: JSON.NUMINCRBY on one field of a ~1 MiB
document vs rewriting the document (JSON.GET + JSON.SET), against a running
DiskDB. Plain sockets, no client library. Usage: bench_json.py PORT [N]
Prints the per-operation times and their ratio; not a test (no assertions)."""
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

def main():
    port = int(sys.argv[1]); n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    c = Conn(port)
    d = json.dumps(doc(4400), separators=(",", ":"))
    c.cmd("JSON.SET", "bench:json", "$", d)
    print(f"document: {len(d)} bytes")
    t = time.perf_counter()
    for i in range(n):
        c.cmd("JSON.NUMINCRBY", "bench:json", f".records.r{i % 4400}.count", "1")
    inc = (time.perf_counter() - t) / n
    t = time.perf_counter()
    m = max(n // 10, 10)
    for i in range(m):
        cur = c.cmd("JSON.GET", "bench:json")
        c.cmd("JSON.SET", "bench:json", "$", cur)
    rw = (time.perf_counter() - t) / m
    print(f"JSON.NUMINCRBY one field: {inc*1e6:.0f} us/op")
    print(f"JSON.GET + JSON.SET whole: {rw*1e6:.0f} us/op")
    print(f"ratio: {rw/inc:.1f}x")
    c.cmd("DEL", "bench:json")

if __name__ == "__main__":
    main()
