"""The rabbitmq collector's second source, the rabbitmq_prometheus plugin, and auto's choice:
against a real, isolated RabbitMQ (the same series as the management path, odd names, wrong
password, stop and restart) and against the fault server (truncated, garbage, huge, stalled).

Run: /usr/bin/python3 tests/integration/rabbitmq/test_rabbitmq_prometheus.py
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fault_server import FaultServer, sample_queue
from hostmon_test import BIN, main, promtool_check, request
from rabbitmq_env import Broker, free_port
from test_rabbitmq import rmq_daemon, rss_kb, scrape, stop_daemon, wait_for

VHOSTS = ["/", 'v "x" \\ ü', "a/b,c}d=\"e\""]
# (vhost, name, ready, unacked)
QUEUES = [
    ("/", "plain", 3, 0),
    ("/", 'q "1" \\ ü ✓', 2, 2),
    ("/", 'a,b}c="d"} 7', 0, 0),
    ('v "x" \\ ü', "tab\tand space", 1, 0),
    ('v "x" \\ ü', 'q "1" \\ ü ✓', 0, 1),
    ("a/b,c}d=\"e\"", "x", 4, 0),
    ("/", "quorum ü", 2, 0),
]
QUORUM = {"quorum ü"}
PER_QUEUE = ["messages", "messages_ready", "messages_unacknowledged", "consumers", "message_bytes",
             "message_bytes_ready", "message_bytes_unacknowledged", "info"]


def series(s):
    """{(metric, frozenset(labels)): value} of every per-queue series."""
    return {(n, frozenset(l.items())): v for n, l, v in s.samples
            if n.startswith("rabbitmq_individual_queue_")}


def source_of(s):
    for l, _ in s.all("hostmon_rabbitmq_source"):
        return l.get("source")
    return None


def status_source(t, d, source, why):
    """hostmon status and /status.json name the source in use and why."""
    status, _, body = request(d, "/status.json")
    q = json.loads(body).get("rabbitmq") or {} if status == 200 else {}
    t.check(q.get("source") == source and q.get("source_why", "").startswith(why),
            f"/status.json: source {source}, why {why!r}: {q.get('source')!r}, {q.get('source_why')!r}")
    p = subprocess.run([BIN, "status", "--url", f"http://{d.host}:{d.port}"], capture_output=True, text=True,
                       timeout=30)
    t.check(p.returncode == 0 and f"source {source}: {why}" in p.stdout,
            f"hostmon status prints 'source {source}: {why}': {p.stdout[-400:]!r}")


def source_lines(d):
    return [l for l in d.logs().splitlines() if "rabbitmq source" in l]


def compare(t, b, mgmt, prom):
    """Both daemons poll the same broker: the same series, label for label, value for value."""
    want_names = {(vh, n) for vh, n, *_ in QUEUES}

    def settled(_):
        m, p = scrape(mgmt), scrape(prom)
        settled.last = (m, p)
        return (m.up() == 1 and p.up() == 1 and set(m.queues()) == want_names
                and series(m) == series(p) and m.get("rabbitmq_individual_queue_consumers",
                                                     vhost="/", name='q "1" \\ ü ✓') == 1)
    _, ok = wait_for(prom, settled, timeout=40, step=0.5)
    m, p = settled.last
    sm, sp = series(m), series(p)
    diff = sorted(set(sm.items()) ^ set(sp.items()), key=str)[:8]
    t.check(ok, f"management and prometheus sources: the same {len(sm)} series ({len(sp)}); "
                f"differences: {diff}")
    t.check(set(m.queues()) == want_names, f"every queue, odd names exact: {set(m.queues()) ^ want_names}")
    fams = {n for n, _ in sp}
    t.check(all("rabbitmq_individual_queue_" + f in fams for f in PER_QUEUE),
            f"prometheus source: every per-queue family: {sorted(fams)}")
    t.check(source_of(p) == "prometheus" and source_of(m) == "management",
            f"hostmon_rabbitmq_source: {source_of(p)}, {source_of(m)}")
    info = p.all("rabbitmq_individual_queue_info")
    t.check(info and all(l["node"] == b.nodename and l["durable"] == "true" and
                         l["type"] == ("quorum" if l["name"] in QUORUM else "classic")
                         for l, _ in info), f"info from the plugin and the live listing: {info[:2]}")
    ok, out = promtool_check(p.text.encode())
    t.check(ok, f"promtool (prometheus source): {out}")


def health(t, b, d, holders):
    """Broker health beside the queues: the node, its limits, a real memory alarm, the totals."""
    ov = b.overview()["object_totals"]
    s, ok = wait_for(d, lambda s: s.get("rabbitmq_connections") == ov["connections"] and
                     s.get("rabbitmq_node_running", node=b.nodename) == 1, timeout=10)
    t.check(ok and ov["connections"] == len(holders) and s.get("rabbitmq_consumers") == ov["consumers"]
            and s.get("rabbitmq_channels") == ov["channels"],
            f"health: connections, channels, consumers as /api/overview says: {ov}, "
            f"{[s.get(m) for m in ('rabbitmq_connections', 'rabbitmq_channels', 'rabbitmq_consumers')]}")
    g = {m: s.get("rabbitmq_node_" + m, node=b.nodename) for m in (
        "memory_used_bytes", "memory_limit_bytes", "memory_alarm", "disk_free_bytes",
        "disk_free_limit_bytes", "disk_free_alarm", "fds_used", "fds_limit", "sockets_used",
        "sockets_limit")}
    t.check(s.get("hostmon_rabbitmq_health_up") == 1 and None not in g.values() and
            0 < g["memory_used_bytes"] < g["memory_limit_bytes"] and g["memory_alarm"] == 0 and
            g["disk_free_limit_bytes"] == 50e6 and 0 < g["fds_used"] <= g["fds_limit"] and
            g["sockets_used"] <= g["sockets_limit"], f"health: the node's figures: {g}")
    b.ctl("set_vm_memory_high_watermark", "absolute", "1MB")
    try:
        s, ok = wait_for(d, lambda s: s.get("rabbitmq_node_memory_alarm", node=b.nodename) == 1, timeout=20)
        t.check(ok and s.get("rabbitmq_node_memory_limit_bytes", node=b.nodename) < 2e6,
                f"health: a real memory alarm (watermark 1 MB) shows: alarm "
                f"{s.get('rabbitmq_node_memory_alarm', node=b.nodename)}, limit "
                f"{s.get('rabbitmq_node_memory_limit_bytes', node=b.nodename)}")
    finally:
        b.ctl("set_vm_memory_high_watermark", "0.4")
    s, ok = wait_for(d, lambda s: s.get("rabbitmq_node_memory_alarm", node=b.nodename) == 0, timeout=20)
    t.check(ok, "health: the alarm clears")


def broker_part(t, b):
    for vh in VHOSTS[1:]:
        b.put_vhost(vh)
    for vh, name, ready, unacked in QUEUES:
        b.declare_queue(vh, name, args={"x-queue-type": "quorum"} if name in QUORUM else None)
        if ready + unacked:
            b.publish(vh, name, f"payload of {name}", count=ready + unacked, persistent=True)
    holders = [b.hold_unacked(vh, name, unacked) for vh, name, _, unacked in QUEUES if unacked]
    b.set_user("hm-wrong", "the-right-password", tags="monitoring")
    daemons = []
    try:
        mgmt = rmq_daemon(b.url, "--rabbitmq-source", "management")
        prom = rmq_daemon(b.url, "--rabbitmq-source", "prometheus")   # the listener from /api/overview
        auto = rmq_daemon(b.url, "--rabbitmq-source", "auto", "--rabbitmq-prometheus-url",
                          f"{b.prom_url}/")
        absent = rmq_daemon(b.url, "--rabbitmq-source", "auto", "--rabbitmq-prometheus-url",
                            f"http://127.0.0.1:{free_port()}")
        wrong = rmq_daemon(b.url, "--rabbitmq-source", "prometheus", "--rabbitmq-prometheus-url",
                           b.prom_url, "--rabbitmq-user", "hm-wrong")
        lean = rmq_daemon(b.url, "--rabbitmq-source", "prometheus", "--rabbitmq-plugin-consumers", "detail")
        daemons += [mgmt, prom, auto, absent, wrong, lean]
        compare(t, b, mgmt, prom)
        compare(t, b, mgmt, lean)   # consumers from the detail poll's queue_metrics

        health(t, b, prom, holders)
        s, ok = wait_for(auto, lambda s: s.up() == 1 and source_of(s) == "prometheus", timeout=10)
        lines = source_lines(auto)
        if not t.check(ok and len(lines) == 1 and "source=prometheus" in lines[0] and "plugin answers" in lines[0],
                       f"auto with the plugin: prometheus, one log line saying why: {lines}"):
            print(auto.logs()[-3000:])
        s, ok = wait_for(absent, lambda s: s.up() == 1 and source_of(s) == "management" and len(s.queues()) == len(QUEUES),
                         timeout=10)
        lines = source_lines(absent)
        t.check(ok and len(lines) == 1 and "source=management" in lines[0] and "connect" in lines[0],
                f"auto without a plugin listener: management, one log line saying why: {lines}")
        status_source(t, auto, "prometheus", "the rabbitmq_prometheus plugin answers on 1 node")
        status_source(t, absent, "management", "the rabbitmq_prometheus plugin: connect")
        status_source(t, mgmt, "management", "--rabbitmq-source management")
        derr = [(l, v) for l, v in s.all("hostmon_rabbitmq_detail_poll_errors_total") if v]
        t.check(s.detail_up() == 1 and not derr and "detail poll failed" not in absent.logs(),
                f"auto without a plugin: the first (detail) poll falls back too, no detail error: {derr}")
        s, ok = wait_for(wrong, lambda s: s.errors("auth") >= 2, timeout=8)
        t.check(ok and s.up() == 0 and not s.per_queue_names(),
                f"prometheus source, wrong password (the vhost listing is refused): up 0, auth "
                f"{s.errors('auth')}")
        stop_daemon(t, wrong, "wrong-password daemon")
        stop_daemon(t, absent, "no-plugin daemon")

        # a vhost with a line break: the plugin writes it raw, so it cannot be read
        b.put_vhost("nl\nvhost")
        b.declare_queue("nl\nvhost", "q")
        s, ok = wait_for(prom, lambda s: s.up() == 0 and s.errors("unexpected_response") >= 1, timeout=8)
        t.check(ok, f"prometheus source, a vhost with a line break: up 0, unexpected_response "
                    f"{s.errors('unexpected_response')}")
        t.check("line break" in prom.logs(), "the log says why (line break)")
        s, ok = wait_for(auto, lambda s: s.up() == 1 and source_of(s) == "management" and
                         ("nl\nvhost", "q") in s.queues(), timeout=10)
        lines = source_lines(auto)
        t.check(ok and lines and "line break" in lines[-1] and "source=management" in lines[-1],
                f"auto: management while such a vhost exists, and says why: {lines[-1:]}")
        b.delete_vhost("nl\nvhost")
        s, ok = wait_for(auto, lambda s: s.up() == 1 and source_of(s) == "prometheus", timeout=10)
        t.check(ok and len(source_lines(auto)) == 3, f"auto: back to the plugin: {source_lines(auto)}")
        s, ok = wait_for(prom, lambda s: s.up() == 1, timeout=10)
        t.check(ok, "prometheus source: up again")

        for h in holders:
            h.stop()
        b.stop()
        s, ok = wait_for(prom, lambda s: s.up() == 0 and s.errors("connect") >= 2, timeout=10)
        t.check(ok, f"broker stopped: prometheus source up 0, connect {s.errors('connect')}")
        t.check(prom.alive() and auto.alive(), "daemons survive the broker going away")
        b.start()
        s, ok = wait_for(prom, lambda s: s.up() == 1 and len(s.queues()) == len(QUEUES), timeout=20)
        t.check(ok, f"restarted: up 1, the {len(QUEUES)} queues back ({len(s.queues())})")
        for vh, n, ready, unacked in QUEUES:
            want = ready + unacked   # unacked messages went back to ready
            got = s.get("rabbitmq_individual_queue_messages_ready", vhost=vh, name=n)
            t.check(got == want, f"after restart {vh!r}/{n!r}: ready {got}, want {want}")
        s, ok = wait_for(auto, lambda s: s.up() == 1 and source_of(s) == "prometheus", timeout=20)
        t.check(ok, f"auto after the restart: prometheus ({source_of(s)})")
    finally:
        for x in daemons:
            if x.proc.returncode is None:
                stop_daemon(t, x, "daemon")


FAULT_QUEUES = [sample_queue(1), sample_queue(2, vhost="a/b"),
                dict(sample_queue(3, vhost='v "x" \\ ü'), name='q "3" ü} 1')]


def served_ok(s):
    got = s.queues()
    return s.up() == 1 and got == {(q["vhost"], q["name"]): q["messages"] for q in FAULT_QUEUES}


def plugin_daemon(fs, *extra):
    """A daemon whose plugin source and management API are both the fault server."""
    return rmq_daemon(fs.url, "--rabbitmq-source", "prometheus", "--rabbitmq-prometheus-url", fs.url, *extra)


def fault_part(t):
    with FaultServer("good", items=FAULT_QUEUES) as fs:
        d = plugin_daemon(fs, "--rabbitmq-max-response-bytes", "1MiB")
        try:
            s, ok = wait_for(d, lambda s: served_ok(s) and s.get(
                "rabbitmq_individual_queue_message_bytes", vhost="a/b", name="q2") == 20)
            t.check(ok, f"fault server, plugin format: up 1, odd names exact, bytes joined: {s.queues()}")
            reqs = list(fs.requests)
            stats = [r.raw_path for r in reqs if r.path.startswith("/api/queues/")
                     and "consumers" in r.param("columns", "")]
            t.check(not stats, f"the statistics database is never asked: {stats[:2]}")
            facts = [r for r in reqs if r.path.startswith("/api/queues/")]
            t.check(facts and all(r.param("disable_stats") == "true" for r in facts),
                    f"the management API only for the live facts ({len(facts)} requests)")
            det = [r for r in fs.requests if r.path == "/metrics/detailed"]
            fams = {tuple(r.query.get("family", [])) for r in det}
            t.check(fams == {("queue_coarse_metrics", "queue_consumer_count"), ("queue_metrics",)},
                    f"families asked: {fams}")
            cases = [("truncated", {}, "invalid_text"),
                     ("truncated", {"cut_at_line": True}, "unexpected_response"),
                     ("garbage", {}, "invalid_text"),
                     ("huge", {}, "too_large"),
                     ("stall", {}, "timeout"),
                     ("stall_body", {}, "timeout")]
            for mode, opts, reason in cases:
                s, ok = wait_for(d, served_ok, timeout=8)
                if not t.check(ok, f"{mode} {opts}: a good poll first"):
                    continue
                good = {k: v for k, v in series(s).items()}
                good_at = s.get("hostmon_rabbitmq_last_success_timestamp_seconds")
                before = s.errors(reason)
                fs.set_mode("good", items=FAULT_QUEUES, paths={"/metrics/detailed": (mode, opts)})
                peak = [0]
                seen = []
                # polls run every second with an 800 ms timeout: on a loaded machine one may end
                # as a timeout before the fault's own reason shows, so several are waited for
                s, ok = wait_for(d, lambda s: seen.append(s) or peak.__setitem__(0, max(peak[0], rss_kb(d.proc.pid)))
                                 or (s.errors(reason) > before and s.up() == 0), timeout=20, step=0.05)
                errs = {l["reason"]: v for n, l, v in s.samples if n == "hostmon_rabbitmq_poll_errors_total" and v}
                t.check(ok, f"{mode} {opts}: up 0, errors_total{{reason={reason}}} grows "
                            f"({before} -> {s.errors(reason)}; every reason: {errs})")
                changed = [x for x in seen if series(x) and
                           any(good.get(k) != v for k, v in series(x).items() if "info" not in k[0])]
                t.check(not changed, f"{mode}: the last good snapshot is served whole, or nothing")
                t.check(s.get("hostmon_rabbitmq_last_success_timestamp_seconds") == good_at,
                        f"{mode}: last success not advanced")
                t.check(d.alive() and peak[0] < 100 * 1024, f"{mode}: alive, RSS {peak[0]} kB")
                fs.set_mode("good", items=FAULT_QUEUES)
            s, ok = wait_for(d, served_ok, timeout=8)
            t.check(ok, "good again after the faults")
        finally:
            stop_daemon(t, d, "fault daemon")
    with FaultServer("good", items=FAULT_QUEUES) as fs:
        d = plugin_daemon(fs, "--rabbitmq-plugin-consumers", "detail")
        try:
            s, ok = wait_for(d, lambda s: served_ok(s) and s.get(
                "rabbitmq_individual_queue_consumers", vhost="a/b", name="q2") == 0)
            fams = {tuple(r.query.get("family", [])) for r in fs.requests if r.path == "/metrics/detailed"}
            t.check(ok and fams == {("queue_coarse_metrics",), ("queue_metrics",)},
                    f"--rabbitmq-plugin-consumers detail: the count poll without queue_consumer_count, "
                    f"consumers from queue_metrics: {fams}")
        finally:
            stop_daemon(t, d, "fault daemon, consumers at the detail poll")


class Peer(Broker):
    """A second node that joins first's cluster: the same Erlang cookie and first's epmd (the
    nodes find each other through it), its own ports and directory."""

    def __init__(self, first, **kw):
        super().__init__(**kw)
        self.first = first
        self.base = tempfile.mkdtemp(prefix="hostmon-rabbitmq-")
        with open(os.path.join(first.base, ".erlang.cookie")) as f:
            cookie = f.read()
        fd = os.open(os.path.join(self.base, ".erlang.cookie"), os.O_WRONLY | os.O_CREAT, 0o400)
        with os.fdopen(fd, "w") as f:
            f.write(cookie)

    def _epmd_alive(self):
        return self.first._epmd_alive()

    def _start_epmd(self):
        self.epmd_port = self.first.epmd_port

    def _stop_epmd(self):
        pass   # first's, ended with first

    def env(self):
        self.epmd_port = self.first.epmd_port
        return super().env()


def cluster_part(t, b):
    """Two nodes in one cluster on this machine: every node's plugin is scraped (nodes from
    /api/overview), the series equal the management path's, a node that fails fails the poll."""
    peer = Peer(b, nodename=f"hostmon-rmqpeer-{os.getpid()}@localhost", amqp_port=0, mgmt_port=0,
                dist_port=free_port(), stats_interval_ms=1000)
    daemons = []
    try:
        peer.start()
        peer.ctl("stop_app")
        peer.ctl("join_cluster", b.nodename)
        peer.ctl("start_app")
        deadline = time.monotonic() + 60
        while not peer.api_ready() and time.monotonic() < deadline:
            time.sleep(0.2)
        nodes = {n["name"] for n in b.api("GET", "/api/nodes?columns=name")}
        if not t.check(nodes == {b.nodename, peer.nodename}, f"one cluster of two nodes: {nodes}"):
            return
        for i in range(3):   # declared through the peer's API: they live on the peer
            peer.declare_queue("/", f"on-peer-{i}")
            peer.publish("/", f"on-peer-{i}", "m", count=i + 1, persistent=True)
        b.declare_queue("/", "on-first")
        mgmt = rmq_daemon(b.url, "--rabbitmq-source", "management")
        prom = rmq_daemon(b.url, "--rabbitmq-source", "prometheus")   # nodes from /api/overview
        listed = rmq_daemon(b.url, "--rabbitmq-source", "prometheus", "--rabbitmq-prometheus-url",
                            f"{b.prom_url},{peer.prom_url}")
        daemons += [mgmt, prom, listed]

        def same(_):
            m, p = scrape(mgmt), scrape(prom)
            same.last = (m, p)
            return m.up() == 1 and p.up() == 1 and series(m) == series(p) and \
                p.get("rabbitmq_individual_queue_messages", vhost="/", name="on-peer-2") == 3
        _, ok = wait_for(prom, same, timeout=30, step=0.5)
        m, p = same.last
        diff = sorted(set(series(m).items()) ^ set(series(p).items()), key=str)[:6]
        t.check(ok, f"cluster: the plugin of both nodes gives the management path's series: {diff}")
        info = {l["name"]: l["node"] for l, _ in p.all("rabbitmq_individual_queue_info")}
        t.check(info.get("on-peer-0") == peer.nodename and info.get("on-first") == b.nodename,
                f"cluster: each queue on its node: {info}")
        lines = source_lines(prom)
        t.check(lines and "2 nodes" in lines[-1] and str(peer.prom_port) in lines[-1]
                and str(b.prom_port) in lines[-1], f"cluster: the log names both nodes: {lines}")
        s, ok = wait_for(listed, lambda s: s.up() == 1 and series(s) == series(scrape(prom)), timeout=10)
        t.check(ok, "cluster, both nodes configured: the same series")
        before = s.errors("connect")
        good = series(s)
        good_at = s.get("hostmon_rabbitmq_last_success_timestamp_seconds")
        peer.kill()
        seen = []
        s, ok = wait_for(listed, lambda s: seen.append(s) or (s.errors("connect") > before and s.up() == 0),
                         timeout=10, step=0.05)
        t.check(ok, f"cluster: a configured node gone fails the poll: up 0, connect {before} -> "
                    f"{s.errors('connect')}")
        t.check(f"(node at http://127.0.0.1:{peer.prom_port}/)" in listed.logs(),
                "the log says which node failed")
        half = [x for x in seen if series(x) and series(x) != good]
        t.check(not half and s.get("hostmon_rabbitmq_last_success_timestamp_seconds") == good_at,
                f"cluster: the last good snapshot whole, not advanced ({len(half)} changed)")
        # asked again, /api/overview names the live node only: the poll follows the cluster
        s, ok = wait_for(prom, lambda s: s.up() == 1 and ("/", "on-first") in s.queues() and
                         ("/", "on-peer-0") not in s.queues(), timeout=20)
        t.check(ok, f"cluster, nodes from /api/overview: the live node's queues: {sorted(s.queues())}")
        s, ok = wait_for(prom, lambda s: s.get("rabbitmq_node_running", node=peer.nodename) == 0, timeout=20)
        t.check(ok and s.get("rabbitmq_node_running", node=b.nodename) == 1,
                "health: the killed node is in the cluster, not running; the other runs")
    finally:
        for x in daemons:
            if x.proc.returncode is None:
                stop_daemon(t, x, "cluster daemon")
        peer.cleanup()


def run(t):
    b = Broker(nodename=f"hostmon-rmqprom-{os.getpid()}@localhost", amqp_port=0, mgmt_port=0,
               dist_port=free_port(), stats_interval_ms=1000)
    th, started = b.start_in_background()
    try:
        fault_part(t)
        th.join(90)
        if t.check(started.get("ok"), f"broker started: {started.get('err')!r}"):
            broker_part(t, b)
            cluster_part(t, b)
    finally:
        th.join(90)
        b.cleanup()


if __name__ == "__main__":
    main(run, "rabbitmq/test_rabbitmq_prometheus")
