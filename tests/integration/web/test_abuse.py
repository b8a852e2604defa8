"""Hostile clients against the real daemon: malformed, oversized, partial, pipelined, idle, random."""
import os
import random
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hostmon_test import Daemon, main, parse_samples, promtool_check, read_response, request

MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\n\r\n",
    b"GET /metrics HTTP/2.0\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nNoColon\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\n Folded: x\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    b"GET /me\x00trics HTTP/1.1\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),  # a TLS ClientHello
    b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n",
]


def one_bad_request(d, payload, results):
    try:
        s = d.connect(timeout=15)
        try:
            s.sendall(payload)
        except OSError:
            pass  # the server may answer and close before everything is sent
        s.settimeout(15)
        try:
            r = read_response(s)
            results.append(r[0] if r else "closed")
        except (ConnectionResetError, BrokenPipeError):
            results.append("reset")
        s.close()
    except Exception as e:  # noqa: BLE001 - recorded and judged below
        results.append(f"error {e!r}")


def malformed_flood(t, d, total=10000, workers=8):
    rng = random.Random(1234)
    payloads = []
    for i in range(total):
        kind = i % 3
        if kind == 0:
            payloads.append(MALFORMED[(i // 3) % len(MALFORMED)])
        elif kind == 1:
            payloads.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 600))) + b"\r\n\r\n")
        else:
            good = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            pos = rng.randrange(len(good))
            payloads.append(good[:pos] + bytes([rng.getrandbits(8)]) + good[pos + 1:] + b"\r\n\r\n")
    results = []

    def worker(chunk):
        for p in chunk:
            one_bad_request(d, p, results)

    threads = [threading.Thread(target=worker, args=(payloads[w::workers],)) for w in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    errors = [r for r in results if isinstance(r, str) and r.startswith("error")]
    t.check(len(results) == total, f"every bad request finished ({len(results)}/{total})")
    t.check(not errors, f"no client errors: {errors[:5]}")
    statuses = {}
    for r in results:
        statuses[r] = statuses.get(r, 0) + 1
    print(f"malformed flood outcomes: {statuses}")
    t.check(set(statuses) <= {200, 400, 404, 405, 431, 505, "closed", "reset"}, f"only expected outcomes: {statuses}")
    t.check(statuses.get(400, 0) > 1000, "malformed requests get 400")
    t.check(statuses.get(431, 0) > 0 and statuses.get(505, 0) > 0, "431 and 505 seen")


def specific_answers(t, d):
    for payload, want in [(MALFORMED[0], 400), (MALFORMED[3], 505), (MALFORMED[10], 431), (MALFORMED[11], 431),
                          (MALFORMED[4], 400), (MALFORMED[5], 400), (MALFORMED[6], 400)]:
        s = d.connect()
        s.sendall(payload)
        r = read_response(s)
        t.check(r is not None and r[0] == want, f"{payload[:30]!r}: {r and r[0]} want {want}")
        t.check(r is not None and r[1].get("connection") == "close", "error answers close the connection")
        s.close()


def pipelined(t, d):
    s = d.connect()
    reqs = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in ["/healthz", "/metrics", "/nope", "/healthz"])
    s.sendall(reqs)
    statuses = [read_response(s)[0] for _ in range(4)]
    t.check(statuses == [200, 200, 404, 200], f"pipelined statuses in order: {statuses}")
    s.close()
    # strict check with a byte-exact reader
    s = d.connect()
    s.sendall(b"GET /healthz HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
    data = b""
    s.settimeout(10)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    codes = [int(c) for c in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]
    t.check(codes == [200, 404, 200], f"pipelined responses in order: {codes}")


def partial_requests(t, d):
    """With --read-header-timeout=1s a stalled head gets 408 and the connection closes."""
    socks = []
    for i in range(50):
        s = d.connect()
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * i)
        socks.append(s)
    status, _, _ = request(d, "/metrics")
    t.check(status == 200, "scrape works while partial requests wait")
    outcomes = []
    for s in socks:
        s.settimeout(10)
        try:
            r = read_response(s)
            outcomes.append(r and r[0])
        except OSError as e:
            outcomes.append(repr(e))
        s.close()
    t.check(all(o == 408 for o in outcomes), f"stalled heads get 408: {set(map(str, outcomes))}")


def idle_connections(t, d, n=500):
    socks = [d.connect() for _ in range(n)]
    time.sleep(0.3)
    start = time.monotonic()
    status, _, body = request(d, "/metrics", timeout=10)
    t.check(status == 200, f"/metrics answers with {n} idle connections open")
    print(f"/metrics with {n} idle connections: {time.monotonic() - start:.3f}s")
    samples = parse_samples(body.decode())
    t.check(samples.get("hostmon_web_connections_open", 0) >= n, f"open connections gauge: {samples.get('hostmon_web_connections_open')}")
    for s in socks:
        s.close()


def random_bytes(t, d):
    rng = random.Random(99)
    for _ in range(200):
        s = d.connect()
        try:
            s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 20000))))
        except OSError:
            pass
        s.close()
    t.check(d.alive(), "alive after random bytes")


def slow_reader(t, d):
    """A client that never reads a big response must not delay others."""
    s = d.connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    for _ in range(50):
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, _ = request(d, "/healthz", timeout=5)
    t.check(status == 200, "others are served while a client does not read")
    s.close()


def limits(t):
    d = Daemon("--max-connections=20", "--read-header-timeout=30s")
    try:
        busy = []
        for _ in range(20):
            s = d.connect()
            s.sendall(b"GET /metrics HTTP/1.1\r\n")  # mid-request: not evictable
            busy.append(s)
        time.sleep(0.3)
        s = d.connect()
        r = read_response(s)
        t.check(r is not None and r[0] == 503, f"over the limit with busy connections: {r and r[0]}")
        s.close()
        for s in busy:
            s.close()
        time.sleep(0.3)
        idle = [d.connect() for _ in range(20)]
        time.sleep(0.3)
        status, _, body = request(d, "/metrics")
        t.check(status == 200, "idle connections are displaced for a new scrape")
        samples = parse_samples(body.decode())
        t.check(samples.get("hostmon_web_connections_evicted_total", 0) >= 1, "eviction counted")
        t.check(samples.get("hostmon_web_connections_rejected_total", 0) >= 1, "rejection counted")
        for s in idle:
            s.close()
    finally:
        rc, _ = d.stop()
        t.check(rc == 0, f"limits daemon exit {rc}")
        d.close()


def run(t):
    d = Daemon("--read-header-timeout=1s")
    try:
        specific_answers(t, d)
        pipelined(t, d)
        malformed_flood(t, d)
        partial_requests(t, d)
        idle_connections(t, d)
        random_bytes(t, d)
        slow_reader(t, d)
        t.check(d.alive(), "daemon alive after abuse")
        start = time.monotonic()
        status, _, body = request(d, "/metrics", timeout=10)
        print(f"/metrics after abuse: {time.monotonic() - start:.3f}s")
        t.check(status == 200, "/metrics answers after abuse")
        ok, out = promtool_check(body)
        t.check(ok, f"promtool after abuse: {out}")
        samples = parse_samples(body.decode())
        t.check(samples.get("hostmon_web_bad_requests_total", 0) > 1000, "bad requests counted")
    finally:
        rc, _ = d.stop()
        t.check(rc == 0, f"exit code {rc}")
        if rc != 0:
            print(d.logs()[-3000:])
        d.close()
    limits(t)


if __name__ == "__main__":
    main(run, "web/test_abuse")
