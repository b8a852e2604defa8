"""The http collector against real servers: node under curl-like clients and wrk, php-fpm behind nginx.

hostmon runs with --collectors http and is started BEFORE the servers (they are picked up as they
exec). Counts are compared as deltas of hostmon_http_server_request_duration_seconds between two
scrapes around each batch of requests, per (runtime, method, status_code), in the server's cgroup.

  node (tests/fixtures/node/server.js in its own cgroup):
    - picked up after hostmon started; the syscall hooks attach (and detach when it is gone)
    - keep-alive and fresh connections: GET /fast, /status/404 and /503, chunked, 100 KB POST echo,
      HEAD: counts equal what the clients received, split by method and status
    - a 60 ms route lands above le="0.05" and within le="0.1"; a fast one in le="0.005"
    - wrk for 3 s with 8 connections and a mix of 200/404: the histogram count is wrk's
      response count plus at most its open connections, per status
    - a connection closed before its response is counted as unpaired "closed"
    - a server killed mid-request leaves no state: the in-flight request is counted as
      "process_exit", the target count and hooks go back to 0
  a node server started before hostmon is found by the /proc scan and measured.
  php-fpm (tests/integration/php_env.py: pools on TCP and on a unix socket, nginx in front):
    - through USDT, and with --http-php-usdt=false through the FastCGI fallback: sleep.php?ms=30
      (never in le="0.025"), notfound.php (404), Laravel / (200) and /status/503: counts exact
  promtool accepts every page.

Everything created is removed in finally blocks (servers by their pids, cgroups).
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, wait_until
from hostmon_test import Daemon, main, parse_samples, promtool_check
from node_env import COUNT_STATUSES, KeepAlive, NodeServer, request_mix, within_surplus, wrk
from php_env import FpmPool, Nginx

FAMILY = "hostmon_http_server_request_duration_seconds"
SERIES_RE = re.compile(FAMILY + r'_(bucket|count|sum)\{cgroup="([^"]*)",container_id="[^"]*",'
                       r'pod_uid="[^"]*",runtime="([^"]*)",method="([^"]*)",status_code="([^"]*)"'
                       r'(?:,le="([^"]*)")?\}')


def histograms(d, cgroup):
    """{(runtime, method, status): {"count": n, "le": {bound: n}}} for one cgroup."""
    out = {}
    for key, v in parse_samples(scrape(d)).items():
        m = SERIES_RE.match(key)
        if not m or m.group(2) != cgroup:
            continue
        h = out.setdefault((m.group(3), m.group(4), m.group(5)), {"count": 0, "le": {}})
        if m.group(1) == "count":
            h["count"] = v
        elif m.group(1) == "bucket":
            h["le"][m.group(6)] = v
    return out


def delta(after, before):
    out = {}
    for k, h in after.items():
        b = before.get(k, {"count": 0, "le": {}})
        n = h["count"] - b["count"]
        if n:
            out[k] = {"count": n, "le": {le: v - b["le"].get(le, 0) for le, v in h["le"].items()}}
    return out


def counts(d):
    return {k: h["count"] for k, h in d.items()}


def scalar(d, name):
    return parse_samples(scrape(d)).get(name, 0)


def unpaired(d, reason):
    return scalar(d, f'hostmon_http_latency_unpaired_requests_total{{reason="{reason}"}}')


def settle(d, cg, want_total, timeout=5):
    """Waits until the cgroup's histograms hold want_total requests (responses are recorded when
    written, which can be a moment after the client read them)."""
    return wait_until(lambda: (lambda h: h if sum(x["count"] for x in h.values()) >= want_total else None)(
        histograms(d, cg)), timeout) or histograms(d, cg)


def quiet(d, cg, timeout=5):
    """The cgroup's histograms once they stop changing: a PHP request ends in the kernel when the
    worker writes FCGI_END_REQUEST, which can come just after nginx has answered the client."""
    last = histograms(d, cg)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = histograms(d, cg)
        if now == last:
            return now
        last = now
    return last


def node_tests(t, env, d):
    cg = env.mkdir("node")
    with NodeServer(cgroup=env.path(cg)) as srv:
        found = wait_until(lambda: scalar(d, "hostmon_http_latency_target_processes") >= 1 and
                           scalar(d, "hostmon_http_latency_syscall_hooks_attached") == 1, 5)
        t.check(found, "a server started after hostmon is picked up and the hooks attach")

        info("node: keep-alive and fresh connections, every route")
        before = histograms(d, cg)
        with KeepAlive(srv) as ka:
            for _ in range(20):
                ka.request("GET", "/fast")
            for _ in range(5):
                ka.request("GET", "/status/404")
            for _ in range(3):
                ka.request("GET", "/chunked")
            for _ in range(3):
                s, body = ka.request("POST", "/echo", b"x" * 100000)
                t.check(s == 200 and len(body) == 100000, "100 KB echoed")
            for _ in range(4):
                ka.request("HEAD", "/fast")
            t.check(ka.responses == 35 and ka.connects == 1, f"one keep-alive connection: {ka.connects}")
        for _ in range(10):
            srv.fresh("GET", "/fast")
        for _ in range(2):
            srv.fresh("GET", "/status/503")
        got = counts(delta(settle(d, cg, sum(h["count"] for h in before.values()) + 47), before))
        want = {("node", "GET", "200"): 20 + 3 + 10, ("node", "GET", "404"): 5, ("node", "POST", "200"): 3,
                ("node", "HEAD", "200"): 4, ("node", "GET", "503"): 2}
        t.check(got == want, f"counts by method and status: {got} want {want}")

        info("node: buckets of a 60 ms route")
        before = histograms(d, cg)
        for _ in range(3):
            srv.fresh("GET", "/slow?ms=60")
        h = delta(settle(d, cg, sum(x["count"] for x in before.values()) + 3), before)
        slow = h.get(("node", "GET", "200"), {"count": 0, "le": {}})
        t.check(slow["count"] == 3 and slow["le"].get("0.05") == 0 and slow["le"].get("0.1") == 3,
                f"60 ms: above 0.05, within 0.1: {slow}")

        info("node: wrk, 3 s, 8 connections, 200 and 404")
        before = histograms(d, cg)
        r = wrk(srv.url("/"), 3, 8, threads=2, script=COUNT_STATUSES + request_mix(["/fast", "/status/404"]))
        time.sleep(0.5)
        h = counts(delta(histograms(d, cg), before))
        for code in (200, 404):
            server = h.get(("node", "GET", str(code)), 0)
            client = r["statuses"].get(code, 0)
            t.check(client > 0 and within_surplus(server, client, 8),
                    f"status {code}: hostmon {server}, wrk {client} (+8 at most)")

        info("node: a connection closed before its response")
        closed = unpaired(d, "closed")
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        s.close()
        t.check(wait_until(lambda: unpaired(d, "closed") == closed + 1, 3),
                f"counted as closed: {unpaired(d, 'closed') - closed}")

        info("node: killed mid-request")
        exited = unpaired(d, "process_exit")
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        srv.kill()
        s.close()
        t.check(wait_until(lambda: unpaired(d, "process_exit") == exited + 1, 3),
                "the request in flight is counted as process_exit")
        t.check(wait_until(lambda: scalar(d, "hostmon_http_latency_target_processes") == 0 and
                           scalar(d, "hostmon_http_latency_syscall_hooks_attached") == 0, 5),
                "no target left, hooks detached")
    ok, why = promtool_check(scrape(d).encode())
    t.check(ok, f"promtool: {why}")


def seeded_tests(t, env):
    """A server that was running before hostmon started is found by the /proc scan."""
    cg = env.mkdir("node-before")
    with NodeServer(cgroup=env.path(cg)) as srv:
        d = Daemon("--collectors", "http_latency")
        try:
            info("node started before hostmon")
            for _ in range(5):
                srv.fresh("GET", "/fast")
            got = counts(settle(d, cg, 5))
            t.check(got == {("node", "GET", "200"): 5}, f"a server older than hostmon: {got}")
        finally:
            rc, _ = d.stop()
            t.check(rc == 0, f"exit code {rc}")
            d.close()


def php_tests(t, env, d, mode):
    for listen in ("tcp", "unix"):
        cg = env.mkdir(f"php-{mode}-{listen}")
        with FpmPool(listen=listen, cgroup=env.path(cg)) as pool, Nginx(pool) as web:
            wait_until(lambda: scalar(d, "hostmon_http_latency_target_processes") >= 3, 5)
            if mode == "usdt":
                wait_until(lambda: "php USDT probes attached" in d.logs(), 5)
            web.get("/")  # warm: the first Laravel request of a worker compiles the app
            web.get("/")
            info(f"php ({mode}, {listen}): sleep 30 ms, 404, Laravel 200 and 503")
            before = quiet(d, cg)
            for _ in range(6):
                r = web.get("/php/sleep.php?ms=30")
                t.check(r.status == 200, f"sleep.php answered {r.status}")
            for _ in range(4):
                web.get("/php/notfound.php")
            for _ in range(3):
                web.get("/")
            for _ in range(2):
                web.get("/status/503")
            settle(d, cg, sum(x["count"] for x in before.values()) + 15)
            h = delta(quiet(d, cg), before)
            got = counts(h)
            want = {("php", "GET", "200"): 9, ("php", "GET", "404"): 4, ("php", "GET", "503"): 2}
            t.check(got == want, f"php {mode} {listen}: {got} want {want}")
            ok200 = h.get(("php", "GET", "200"), {"le": {}})
            t.check(ok200["le"].get("0.025", -1) <= 3, f"30 ms sleeps are not within 0.025: {ok200['le']}")
    ok, why = promtool_check(scrape(d).encode())
    t.check(ok, f"promtool: {why}")


def run(t):
    env = Env("hostmon-http", cgroup2_mount())
    try:
        env.mkdir("")
        seeded_tests(t, env)
        runs = [(("--collectors", "http_latency", "--cgroup-refresh-interval", "1s"),
                 lambda d: (node_tests(t, env, d), php_tests(t, env, d, "usdt"))),
                (("--collectors", "http_latency", "--http-php-usdt=false"),
                 lambda d: (php_tests(t, env, d, "fastcgi"),
                            t.check("USDT probes attached" not in d.logs(),
                                    "no USDT with --http-php-usdt=false")))]
        for args, body in runs:
            d = Daemon(*args)
            try:
                body(d)
            finally:
                rc, _ = d.stop()
                t.check(rc == 0, f"exit code {rc}")
                d.close()
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")


if __name__ == "__main__":
    main(run, "test_http_latency")
