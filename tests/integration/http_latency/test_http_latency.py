"""The http_latency collector against real servers: node under curl-like clients and wrk, php-fpm behind nginx.

hostmon runs with --collectors http_latency and is started BEFORE the servers (they are picked up as they
exec). Counts are compared as deltas of hostmon_http_server_request_duration_seconds between two
scrapes around each batch of requests, per (runtime, method, status_code), in the server's cgroup.

  node (tests/fixtures/node/server.js in its own cgroup):
    - picked up after hostmon started; its cgroup's sockets are watched, no PHP-FPM hook attaches
    - keep-alive and fresh connections: GET /fast, /status/404 and /503, chunked, 100 KB POST echo,
      HEAD: counts equal what the clients received, split by method and status
    - a 60 ms route lands above le="0.05" and within the first bucket that holds the longest wait its
      client saw (le="0.075" here; more under qemu's TCG, where node itself is slow)
    - wrk for 3 s with 8 connections and a mix of 200/404: the histogram count is wrk's
      response count plus at most its open connections, per status
    - a connection closed before its response is counted as unpaired "closed"
    - pipelining: a request sent (in a segment of its own) while a 300 ms one waits is counted
      "pipelined" and not measured, the first is measured in full, and a request after both
      answers is measured again and counted while the idle connection stays open (at the
      client's ACK of its response); two requests in one segment: the first is measured with its
      own response, the unseen second's response is not taken for the third request's
    - 1,000 connections left waiting (the server never answers or closes them): new requests
      still count exactly, and closing them counts each as "closed"
    - a server killed mid-request leaves no state: the in-flight request is counted as
      "process_exit", the target count and hooks go back to 0
  a node server started before hostmon is found by the /proc scan and measured.
  php-fpm (tests/integration/lib/php_env.py: pools on TCP and on a unix socket, nginx in front):
    - through USDT, and with --http-php-usdt=false through the FastCGI fallback: sleep.php?ms=30
      (never in le="0.025"), notfound.php (404), Laravel / (200) and /status/503: counts exact;
      the workers SIGKILLed while one sleeps in a request: one "process_exit"
    - the PHP-FPM hooks attach while the pool runs (one tier, logged once: sock_iter where the
      kernel has fentry, else sock_length where it has the socket length tracepoints (this
      project's machine), else syscalls; HOSTMON_EXPECT_PHP_HOOKS names the one this kernel must
      get) and detach when it is gone
    - which of the two measured them, since both give the same counts: in the USDT run the log
      says "php USDT probes attached" (collector=http_latency) once, for the pool's php-fpm
      binary, and the daemon's `targets` map has every pool process in USDT mode (the FastCGI
      sniffer skips such a process, so its counts came from the probes); in the FastCGI run no
      probe is attached or tried and every pool process is in FastCGI mode
  Every bucket a check reads must be on the page: a missing bucket fails the check.
  promtool accepts every page.

Everything created is removed in finally blocks (servers by their pids, cgroups).
"""
import json
import os
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, wait_until
from hostmon_test import (Daemon, daemon_map_ids, main, map_dump, parse_samples, promtool_check,
                          running_daemon)
from http_hist import counts, delta, histograms, quiet
from node_env import COUNT_STATUSES, KeepAlive, NodeServer, request_mix, within_surplus, wrk
from php_env import FpmPool, Nginx

# enum http_mode in bpf/http_latency/http_latency.h
MODE_PHP_USDT, MODE_PHP_FCGI = 2, 3
MODE_NAMES = {1: "http", MODE_PHP_USDT: "usdt", MODE_PHP_FCGI: "fastcgi"}
USDT_ATTACHED = "php USDT probes attached"
USDT_UNUSABLE = "php binary without usable USDT probes; measuring FastCGI on its sockets"
LOGFMT_RE = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
PHP_HOOKS_RE = re.compile(r'hostmon_http_latency_php_hooks_attached\{tier="([^"]*)"\}')
PHP_TIERS = ("sock_iter", "sock_length", "syscalls")
# the tier this kernel must get (tests/kernels sets it: Debian's kernels have fentry); unset, either
EXPECT_TIER = os.environ.get("HOSTMON_EXPECT_PHP_HOOKS")


def scalar(d, name):
    """A sample's value, or None when it is not on the page (which no check may take for 0)."""
    return parse_samples(scrape(d)).get(name)


def php_hooks(samples):
    """{tier: value} of hostmon_http_latency_php_hooks_attached (one series, the tier in use)."""
    return {m.group(1): v for k, v in samples.items()
            if (m := PHP_HOOKS_RE.fullmatch(k))}


def gauges(d, want_targets_at_least, want_hooks, want_cgroups=None):
    """Whether target_processes >= want_targets_at_least, the PHP-FPM hooks' gauge == want_hooks
    (they serve PHP-FPM targets only) and, when given, cgroups_attached == want_cgroups (the
    cgroups whose sockets are watched for HTTP servers); False if any is missing from the page."""
    samples = parse_samples(scrape(d))
    targets = samples.get("hostmon_http_latency_target_processes")
    tiers = php_hooks(samples)
    hooks = next(iter(tiers.values())) if len(tiers) == 1 else None
    cgroups = samples.get("hostmon_http_latency_cgroups_attached")
    return (targets is not None and hooks is not None and cgroups is not None
            and targets >= want_targets_at_least and hooks == want_hooks
            and (want_cgroups is None or cgroups == want_cgroups))


def bucket(h, le):
    """The le bucket of a histogram delta, or None if the page had no such bucket."""
    return h["le"].get(le) if h else None


def log_records(d, msg):
    """The daemon's logfmt lines whose msg is msg, as {key: value} dicts."""
    out = []
    for line in d.logs().splitlines():
        rec = {k: json.loads(v) if v.startswith('"') else v for k, v in LOGFMT_RE.findall(line)}
        if rec.get("msg") == msg:
            out.append(rec)
    return out


def target_modes(d):
    """{tgid: mode} of the daemon's `targets` map (struct http_target: runtime, mode, pad)."""
    ids = daemon_map_ids(d.proc.pid, "targets")
    if len(ids) != 1:
        raise RuntimeError(f"the daemon holds {len(ids)} maps named targets: {ids}")
    out = {}
    for e in map_dump(ids[0]):
        if "formatted" in e:
            out[int(e["formatted"]["key"])] = int(e["formatted"]["value"]["mode"])
        else:
            key = bytes(int(b, 16) for b in e["key"])
            value = bytes(int(b, 16) for b in e["value"])
            out[int.from_bytes(key, "little")] = value[1]
    return out


def unpaired(d, reason):
    return scalar(d, f'hostmon_http_latency_unpaired_requests_total{{reason="{reason}"}}')


def settle(d, cg, want_total, timeout=5):
    """Waits until the cgroup's histograms hold want_total requests (a request is recorded at the
    client's next segment after its response: the ACK, the next request or the FIN, which can
    be a moment after the client read it)."""
    return wait_until(lambda: (lambda h: h if sum(x["count"] for x in h.values()) >= want_total else None)(
        histograms(d, cg)), timeout) or histograms(d, cg)


def read_responses(s, n, timeout=5):
    """Reads from socket s until n complete responses (each with a Content-Length) are in."""
    data, deadline = b"", time.monotonic() + timeout
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        done, rest = 0, data
        while b"\r\n\r\n" in rest:
            head, rest = rest.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?i)content-length: *(\d+)", head)
            size = int(m.group(1)) if m else 0
            if len(rest) < size:
                break
            rest = rest[size:]
            done += 1
        if done >= n:
            return data
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
    return data


def on_one_connection(d, cg, srv, segments, answers, last, want):
    """On one new connection (TCP_NODELAY): sends each of segments as a segment of its own, 0.1 s
    apart, reads `answers` responses, sends last and reads its response; then, the connection
    still open and idle, waits for want more requests in the cgroup's histograms. Returns (the
    first responses, the last one, the histograms' delta)."""
    before = histograms(d, cg)
    s = socket.create_connection(("127.0.0.1", srv.port))
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i, seg in enumerate(segments):
            if i:
                time.sleep(0.1)   # a segment of its own, while the first waits
            s.sendall(seg)
        first = read_responses(s, answers)
        s.sendall(last)
        second = read_responses(s, 1)
        # still open and idle: the last response is recorded at the client's ACK of it
        h = delta(settle(d, cg, sum(x["count"] for x in before.values()) + want), before)
    finally:
        s.close()
    return first, second, h


def pipelined(t, d, srv, cg):
    """HTTP/1.1 pipelining on one connection: the request sent while the first waits is counted
    pipelined and not measured, the first is measured in full (its 300 ms), and a request after
    both responses is measured again, and counted while the idle connection stays open."""
    slow = b"GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
    piped = unpaired(d, "pipelined")
    both, third, h = on_one_connection(d, cg, srv, [slow, b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"], 2,
                                       b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    t.check(both.count(b"HTTP/1.1 200") == 2 and third.count(b"HTTP/1.1 200") == 1,
            f"the server answered all three in order: {both[:60]!r} ... {third[:30]!r}")
    got = h.get(("node", "GET", "200"), {"count": 0, "le": {}})
    t.check(got["count"] == 2 and bucket(got, "0.25") == 1,
            f"two measured, the connection still open: the slow one (above 0.25 s) and the one "
            f"after both answers: {got}")
    t.check(piped is not None and unpaired(d, "pipelined") == piped + 1,
            f"the pipelined one counted unpaired: {piped} -> {unpaired(d, 'pipelined')}")

    # two requests in one segment: only the first is seen; its response is still the one it gets
    # (not the second's), and the request after both is paired with its own response
    piped = unpaired(d, "pipelined")
    both, third, h = on_one_connection(d, cg, srv, [slow + b"GET /status/404 HTTP/1.1\r\nHost: x\r\n\r\n"], 2,
                                       b"GET /status/503 HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    t.check(b"HTTP/1.1 200" in both and b"HTTP/1.1 404" in both and b"HTTP/1.1 503" in third,
            f"one segment, two requests, then a third: {both[:40]!r} ... {third[:30]!r}")
    got = {k: (v["count"], bucket(v, "0.25")) for k, v in h.items()}
    t.check(got == {("node", "GET", "200"): (1, 0), ("node", "GET", "503"): (1, 1)},
            f"the first with its own 200 (above 0.25 s), the third with its 503; the unseen 404 "
            f"not counted: {got}")
    t.check(unpaired(d, "pipelined") == piped, "nothing counted pipelined: the second was never seen")


def node_tests(t, env, d):
    cg = env.mkdir("node")
    with NodeServer(cgroup=env.path(cg)) as srv:
        found = wait_until(lambda: gauges(d, 1, 0, 1), 5)
        t.check(found, "a server started after hostmon is picked up: its cgroup's sockets are "
                "watched, no syscall hook attaches for it")

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
        waited = 0.0
        for _ in range(3):
            start = time.monotonic()
            srv.fresh("GET", "/slow?ms=60")
            waited = max(waited, time.monotonic() - start)
        h = delta(settle(d, cg, sum(x["count"] for x in before.values()) + 3), before)
        slow = h.get(("node", "GET", "200"), {"count": 0, "le": {}})
        # first request byte in to first response byte out: at least the server's 60 ms, at most
        # what the client waited, whatever the machine's speed
        within = min((le for le in slow["le"] if le != "+Inf" and float(le) >= waited), key=float, default="+Inf")
        t.check(slow["count"] == 3 and bucket(slow, "0.05") == 0 and bucket(slow, within) == 3,
                f"60 ms: above 0.05, within {within} (the client waited {waited * 1000:.1f} ms at most): {slow}")

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
        t.check(closed is not None and wait_until(lambda: unpaired(d, "closed") == closed + 1, 3),
                f"counted as closed: {closed} -> {unpaired(d, 'closed')}")

        info("node: a request pipelined behind a slow one, then one after both answers")
        pipelined(t, d, srv, cg)

        info(f"node: {HELD_OPEN} connections left waiting, never closed by the server")
        # Their state is socket storage, not a map of connections that could fill up: new requests
        # still count, and each waiting one is still there to be counted when its client goes.
        closed = unpaired(d, "closed")
        held = []
        try:
            for _ in range(HELD_OPEN):
                c = socket.create_connection(("127.0.0.1", srv.port))
                c.sendall(b"GET /slow?ms=600000 HTTP/1.1\r\nHost: x\r\n\r\n")
                held.append(c)
            before = histograms(d, cg)
            for _ in range(10):
                srv.fresh("GET", "/fast")
            got = counts(delta(settle(d, cg, sum(x["count"] for x in before.values()) + 10), before))
            t.check(got == {("node", "GET", "200"): 10},
                    f"with {HELD_OPEN} requests waiting, new ones count: {got}")
        finally:
            for c in held:
                c.close()
        t.check(closed is not None and wait_until(lambda: unpaired(d, "closed") == closed + HELD_OPEN, 10),
                f"each waiting request counted closed when its client left: {closed} -> {unpaired(d, 'closed')}")

        info("node: killed mid-request")
        exited = unpaired(d, "process_exit")
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        srv.kill()
        s.close()
        t.check(exited is not None and wait_until(lambda: unpaired(d, "process_exit") == exited + 1, 3),
                f"the request in flight is counted as process_exit: {exited} -> {unpaired(d, 'process_exit')}")
        t.check(wait_until(lambda: gauges(d, 0, 0, 0) and scalar(d, "hostmon_http_latency_target_processes") == 0, 5),
                "no target left, hooks and cgroup programs detached")
    ok, why = promtool_check(scrape(d).encode())
    t.check(ok, f"promtool: {why}")


def seeded_tests(t, env):
    """A server that was running before hostmon started is found by the /proc scan."""
    cg = env.mkdir("node-before")
    with NodeServer(cgroup=env.path(cg)) as srv:
        d = Daemon("--collectors", "http_latency", *only_ours(env))
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
    want_mode = MODE_PHP_USDT if mode == "usdt" else MODE_PHP_FCGI
    for listen in ("tcp", "unix"):
        cg = env.mkdir(f"php-{mode}-{listen}")
        with FpmPool(listen=listen, cgroup=env.path(cg)) as pool, Nginx(pool) as web:
            pids = pool.pids()
            binary = os.path.realpath(f"/proc/{pool.master_pid}/exe")

            def modes_settled():
                modes = target_modes(d)
                return modes if all(modes.get(p) == want_mode for p in pids) else None

            modes = wait_until(modes_settled, 5) or target_modes(d)
            tiers = wait_until(lambda: (lambda h: h if list(h.values()) == [1] else None)(
                php_hooks(parse_samples(scrape(d)))), 5) or php_hooks(parse_samples(scrape(d)))
            tier = next(iter(tiers), None)
            t.check(list(tiers.values()) == [1] and tier in PHP_TIERS
                    and (EXPECT_TIER is None or tier == EXPECT_TIER),
                    f"php {mode} {listen}: the PHP-FPM hooks attached, one tier"
                    f"{'' if EXPECT_TIER is None else ' (' + EXPECT_TIER + ')'}: {tiers}")
            info(f"php ({mode}, {listen}): PHP-FPM hooks tier {tier}")
            got_modes = {p: MODE_NAMES.get(modes.get(p), modes.get(p)) for p in pids}
            t.check(pids and all(modes.get(p) == want_mode for p in pids),
                    f"php {mode} {listen}: every pool process ({binary}) is a target in {mode} mode: {got_modes}")
            if mode == "usdt":
                attached = wait_until(lambda: [r for r in log_records(d, USDT_ATTACHED)
                                               if r.get("collector") == "http_latency" and r.get("binary") == binary], 5)
                t.check(attached, f"php usdt {listen}: logged {USDT_ATTACHED!r} for {binary}: "
                                  f"{log_records(d, USDT_ATTACHED)}")
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
            ok200 = h.get(("php", "GET", "200"))
            fast = bucket(ok200, "0.025")
            # only the 3 Laravel / requests may be that fast; the 6 sleeps of 30 ms never are
            t.check(fast is not None and 0 <= fast <= 3,
                    f"php {mode} {listen}: 30 ms sleeps are not within le=0.025 (bucket present, <= 3): {ok200}")
            t.check(bucket(ok200, "+Inf") == 9, f"php {mode} {listen}: le=+Inf holds all 9: {ok200}")

            info(f"php ({mode}, {listen}): the workers killed with a request in flight")
            exited = unpaired(d, "process_exit")
            client = threading.Thread(target=lambda: web.get("/php/sleep.php?ms=3000", timeout=20))
            client.start()
            time.sleep(0.5)  # nginx has handed it to a worker, which sleeps in it for 3 s
            for pid in pool.worker_pids():
                os.kill(pid, signal.SIGKILL)
            client.join()
            # counted by the kernel as the worker's thread ends (its task storage), once
            t.check(exited is not None and wait_until(lambda: unpaired(d, "process_exit") == exited + 1, 5),
                    f"php {mode} {listen}: the request in flight is counted as process_exit: "
                    f"{exited} -> {unpaired(d, 'process_exit')}")
    t.check(wait_until(lambda: gauges(d, 0, 0), 5),
            f"php {mode}: no PHP-FPM target left, its hooks detached: "
            f"{php_hooks(parse_samples(scrape(d)))}")
    chosen = log_records(d, "php-fpm hooks chosen")
    t.check(len(chosen) == 1 and chosen[0].get("tier") in PHP_TIERS,
            f"php {mode}: the tier is logged once, at start: {chosen}")
    attached = log_records(d, USDT_ATTACHED)
    unusable = log_records(d, USDT_UNUSABLE)
    if mode == "usdt":
        t.check(len(attached) == 1 and not unusable,
                f"php usdt: probes attached once for the one php-fpm binary, never refused: {attached} {unusable}")
    else:
        t.check(not attached and not unusable,
                f"php fastcgi: with --http-php-usdt=false no USDT probe is attached or tried: {attached} {unusable}")
    ok, why = promtool_check(scrape(d).encode())
    t.check(ok, f"promtool: {why}")


# connections the node test holds open with a request waiting: request state is socket storage,
# so no number of them can fill a map (a map of connections sized below this would fail the test)
HELD_OPEN = 1000


def only_ours(env):
    """hostmon sees every node, nginx and php-fpm on the host (others' containers too): the target
    counts, hook gauges and USDT log lines checked here must be this test's own."""
    return ("--http-include-cgroup", f"^{env.base}(/|$)")


def run(t):
    env = Env("hostmon-http", cgroup2_mount())
    try:
        env.mkdir("")
        seeded_tests(t, env)
        runs = [(("--collectors", "http_latency", "--cgroup-refresh-interval", "1s", *only_ours(env)),
                 lambda d: (node_tests(t, env, d), php_tests(t, env, d, "usdt"))),
                (("--collectors", "http_latency", "--http-php-usdt=false", *only_ours(env)),
                 lambda d: php_tests(t, env, d, "fastcgi"))]
        for args, body in runs:
            with running_daemon(t, *args) as d:
                body(d)
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")


if __name__ == "__main__":
    main(run, "http_latency/test_http_latency")
