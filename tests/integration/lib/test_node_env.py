"""Self-test of the Node.js test environment (node_env.py): a real node server and wrk, no hostmon.

In a fresh cgroup2 directory:
  1. every route answers as documented (status codes, 204 without a body, the chunked body
     reassembled, a 100 KB POST echoed byte for byte, HEAD without a body, 404 elsewhere), on new
     connections and on one keep-alive connection (which stays one connection);
  2. wrk for 2 s with a request mix counts responses by status, and those counts add up to wrk's
     own total; a plain wrk run reports requests, a rate and a latency;
  3. node (and only node) is in the cgroup, on the port it was given;
  4. stop() ends node with exit code 0, kill() with SIGKILL; afterwards nothing we started is
     running, the cgroup is empty and the server's directory is gone;
  5. parse_wrk reads wrk's latencies in seconds too (a slow machine's, padded with a space).
"""
import os
import time

from cgroup_test import Env, cgroup2_mount, cgroup_of, cgroup_procs, info
from hostmon_test import main
from node_env import (COUNT_STATUSES, KeepAlive, NodeServer, node_binary, parse_wrk, request, request_mix,
                      within_surplus, wrk, wrk_binary)
from php_env import children, free_port, identities, still_running

WRK_S = 2
WRK_CONNECTIONS = 4
MIX = ["/fast", "/status/404", "/slow?ms=60"]


def routes(t, srv):
    t.check(srv.fresh("GET", "/fast") == (200, b"ok"), f"GET /fast -> {srv.fresh('GET', '/fast')}")
    for route, said, bad in (("slow", "slept", "soon"), ("burn", "burned", "10001")):
        start = time.monotonic()
        status, body = srv.fresh("GET", f"/{route}?ms=30")
        waited = time.monotonic() - start
        t.check(status == 200 and body == f"{said} 30 ms\n".encode(), f"GET /{route}?ms=30 -> {status} {body!r}")
        t.check(waited >= 0.025, f"GET /{route}?ms=30 took its 30 ms ({waited * 1000:.1f} ms)")
        t.check(srv.fresh("GET", f"/{route}?ms={bad}")[0] == 400, f"GET /{route}?ms={bad} -> 400")
    for code in (200, 201, 302, 404, 500, 503):
        status, body = srv.fresh("GET", f"/status/{code}")
        t.check(status == code and body == f"status {code}\n".encode(), f"GET /status/{code} -> {status} {body!r}")
    status, headers, body = request(srv, "GET", "/status/204")
    t.check(status == 204 and body == b"" and "content-length" not in headers,
            f"GET /status/204 -> {status} {headers} {body!r}")
    t.check(srv.fresh("GET", "/status/99")[0] == 404, "GET /status/99 (not 3 digits) -> 404")
    status, headers, body = request(srv.url(), "GET", "/chunked")
    t.check(status == 200 and headers.get("transfer-encoding") == "chunked" and "content-length" not in headers,
            f"GET /chunked is chunked: {status} {headers}")
    t.check(body == b"one\ntwo\nthree\n", f"GET /chunked body reassembled: {body!r}")
    payload = os.urandom(100 * 1024)
    status, body = srv.fresh("POST", "/echo", payload)
    t.check(status == 200 and body == payload,
            f"POST /echo 100 KB -> {status}, {len(body)} bytes, equal: {body == payload}")
    status, headers, body = request(srv.address, "HEAD", "/fast")
    t.check(status == 200 and body == b"" and headers.get("content-length") == "2",
            f"HEAD /fast -> {status} {headers} {body!r}")
    for method, path in (("GET", "/"), ("GET", "/nope"), ("POST", "/fast"), ("GET", "/echo")):
        status, _ = srv.fresh(method, path, b"x" if method == "POST" else None)
        t.check(status == 404, f"{method} {path} -> {status}, want 404")

    with KeepAlive(srv) as ka:
        got = [ka.request("GET", "/fast"), ka.request("GET", "/status/404"), ka.request("POST", "/echo", payload),
               ka.request("HEAD", "/fast"), ka.request("GET", "/chunked"), ka.request("GET", "/slow?ms=1")]
        want = [(200, b"ok"), (404, b"status 404\n"), (200, payload), (200, b""), (200, b"one\ntwo\nthree\n"),
                (200, b"slept 1 ms\n")]
        t.check([g[0] for g in got] == [w[0] for w in want] and got == want,
                f"keep-alive answers: {[(s, b[:20]) for s, b in got]}")
        t.check(ka.responses == 6 and ka.connects == 1,
                f"keep-alive: {ka.responses} responses on {ka.connects} connection(s), want 6 on 1")


def load(t, srv):
    r = wrk(srv.url("/"), WRK_S, WRK_CONNECTIONS, threads=2, script=COUNT_STATUSES + request_mix(MIX))
    info(f"wrk mix {MIX}: {r['requests']} requests, statuses {r['statuses']}, {r['rps']} req/s")
    st = r["statuses"] or {}
    t.check(r["requests"] > 0, f"wrk mix completed requests: {r['requests']}")
    t.check(sum(st.values()) == r["requests"] == r["responses"],
            f"per-status counts {st} add up to wrk's total {r['requests']}")
    t.check(set(st) == {200, 404}, f"wrk mix saw exactly 200 and 404: {st}")
    t.check(r["non_2xx_3xx"] == st.get(404), f"wrk's non-2xx/3xx {r['non_2xx_3xx']} == 404s {st.get(404)}")
    t.check(not any(r["socket_errors"].values()), f"no socket errors: {r['socket_errors']}")
    # each thread's request() takes the routes in turn, and at most one request per connection is
    # unanswered when wrk stops: a third of the answers, give or take one per thread and connection
    slack = len(MIX) * (2 + WRK_CONNECTIONS)
    t.check(abs(len(MIX) * st.get(404, 0) - r["requests"]) <= slack,
            f"the mix takes the routes in turn: {st.get(404)} of {r['requests']} are 404 (one in {len(MIX)})")

    r = wrk(srv.url("/fast"), WRK_S, WRK_CONNECTIONS)
    info(f"wrk /fast: {r['requests']} requests, {r['rps']} req/s, latency {r['latency']}")
    t.check(r["requests"] > 0 and r["rps"] > 0 and r["non_2xx_3xx"] == 0 and r["statuses"] is None,
            f"plain wrk run: {r['requests']} requests, {r['rps']} req/s, {r['non_2xx_3xx']} non-2xx/3xx")
    t.check(r["latency"].get("avg", 0) > 0 and r["latency"]["max"] >= r["latency"]["avg"],
            f"wrk latency parsed: {r['latency']}")
    n = r["requests"]
    t.check(within_surplus(n + 4, n, 4) and not within_surplus(n + 5, n, 4) and not within_surplus(n - 1, n, 4),
            "within_surplus: from wrk's count to wrk's count + connections")
    try:
        request_mix([("HEAD", "/fast")])
        refused = False
    except ValueError:
        refused = True
    t.check(refused, "request_mix refuses HEAD (wrk would wait for its body)")


# wrk --latency output of a slow run (under qemu's TCG): the values in seconds end with a space
SLOW_WRK = """Running 6s test @ http://127.0.0.1:42315/burn?ms=5
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.39s     1.17s    5.34s    82.61%
    Req/Sec     4.26      2.68    10.00     73.91%
  Latency Distribution
     50%    1.11s \n     75%    1.70s \n     90%    2.44s \n     99%  882.00ms
  23 requests in 6.07s, 3.64KB read
Requests/sec:      3.79
Transfer/sec:     613.90B
"""


def parse_slow(t):
    r = parse_wrk(SLOW_WRK)
    t.check(r["requests"] == 23 and r["latency"].get("avg") == 1.39 and
            r["latency"].get("percentiles") == {50: 1.11, 75: 1.7, 90: 2.44, 99: 0.882},
            f"parse_wrk: latencies in seconds and ms: {r}")


def run(t):
    parse_slow(t)
    if os.geteuid() != 0:
        t.check(False, "test_node_env needs root (cgroups)")
        return
    if not t.check(node_binary() and wrk_binary(), "node and wrk are installed (make deps)"):
        return
    env = Env("hostmon-node", cgroup2_mount())
    started = {}
    try:
        cg = env.mkdir("")
        cgdir = env.path(cg)
        port = free_port()
        srv = NodeServer(cgroup=cgdir, port=port)
        with srv:
            started.update(identities([srv.pid]))
            base = srv.base
            t.check(srv.port == port and srv.url("/x") == f"http://127.0.0.1:{port}/x",
                    f"listens on the given port {port}: {srv.port} {srv.url('/x')}")
            t.check(cgroup_procs(cgdir) == [srv.pid] and cgroup_of(srv.pid) == cg,
                    f"node {srv.pid} alone in {cg}: procs {cgroup_procs(cgdir)}, its cgroup {cgroup_of(srv.pid)}")
            routes(t, srv)
            load(t, srv)
            t.check(srv.running(), "node survived the load")
        t.check(srv.proc.returncode == 0, f"stop(): node exit code {srv.proc.returncode}, want 0")
        t.check(not os.path.exists(base), f"{base} removed")

        with NodeServer(cgroup=cgdir) as other:
            started.update(identities([other.pid]))
            t.check(other.port not in (0, port) and other.fresh("GET", "/fast") == (200, b"ok"),
                    f"port 0 chose a free port: {other.port}")
            rc = other.kill()
        t.check(rc == -9, f"kill(): exit code {rc}, want -9 (SIGKILL)")
        t.check(cgroup_procs(cgdir) == [], f"{cg} is empty after stop and kill: {cgroup_procs(cgdir)}")
    finally:
        left = env.cleanup()
        t.check(not left, f"removed every cgroup this test created: left {left}")
    t.check(not still_running(started), f"nothing left running: {still_running(started)}")
    t.check(children(os.getpid()) == [], f"no child of the test left (node, wrk): {children(os.getpid())}")


if __name__ == "__main__":
    main(run, "lib/test_node_env")
