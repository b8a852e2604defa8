"""The status page (/), /status.json and hostmon status against a real daemon.

A real node server runs in a fresh cgroup2 directory whose name carries markup and quotes
(`st <b>&'"`), a restart rule (dry run) watches that cgroup, and the rabbitmq collector polls a
fault-injecting broker stand-in that answers 401 (tests/integration/lib/fault_server.py), so one
collector is down with a reason.

  1. /status.json, field by field: the three collectors with up/down and the reason; the node
     process as an HTTP target (pid, exe, runtime, mode http, its cgroup); the rule with its
     state, target and no action yet; the RabbitMQ source down with its last error and poll
     time; hostmon's own CPU, resident memory (beside /proc) and BPF map memory (the sum of
     hostmon_bpf_map_memory_bytes on /metrics).
  2. / in headless Chromium (Debian's chromium): a screenshot is made
     (build/tests/status-page.png) and the rendered page's text has the collectors, the node
     target with its cgroup path as text (no <b> element came of it), the rule, the RabbitMQ
     error; no script, event handler or external asset (so it works without JavaScript).
  3. hostmon status --url prints the same as text (and --json the document); with nothing
     listening at --url it exits 1 saying no daemon answers there.
"""
import html.parser
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, wait_until
from fault_server import FaultServer
from hostmon_test import BIN, Daemon, main, parse_samples, request
from node_env import NodeServer

CGROUP_NAME = "st <b>&'\""


class PageText(html.parser.HTMLParser):
    """The text and the element names of a DOM as Chromium serialised it."""

    def __init__(self):
        super().__init__()
        self.text, self.tags, self.attrs = [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def status_json(d):
    status, headers, body = request(d, "/status.json")
    return status, headers, (json.loads(body) if status == 200 else None)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def chromium(args, timeout=90):
    """Headless Chromium with a throw-away profile; returns (exit code, stdout)."""
    profile = tempfile.mkdtemp(prefix="hostmon-chromium-")
    try:
        p = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-first-run", f"--user-data-dir={profile}", *args],
                           capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def check_json(t, d, doc, srv, cg, fs_host, started):
    cols = {c["name"]: c for c in doc["collectors"]}
    t.check(set(cols) == {"cgroup_cpu", "http_latency", "rabbitmq"}, f"collectors {sorted(cols)}")
    t.check(cols["cgroup_cpu"]["up"] is True and cols["cgroup_cpu"]["reason"] == "", "cgroup_cpu up")
    t.check(cols["rabbitmq"]["up"] is False and "401" in cols["rabbitmq"]["reason"],
            f"rabbitmq down with the reason: {cols['rabbitmq']}")
    targets = doc["http_targets"]["items"]
    mine = [x for x in targets if x["pid"] == srv.pid]
    t.check(len(mine) == 1, f"the node server {srv.pid} is a target: {targets}")
    if mine:
        x = mine[0]
        t.check(x["exe"] == "node" and x["runtime"] == "node" and x["mode"] == "http",
                f"exe, runtime and mode of the node target: {x}")
        t.check(x["cgroup"] == cg, f"its cgroup, markup and quotes as they are: {x['cgroup']!r}")
    t.check(doc["http_targets"]["total"] == len(targets), "total counts the targets shown")
    rules = doc["restart_rules"]
    t.check(isinstance(rules, list) and len(rules) == 1, f"one rule: {rules}")
    if rules:
        r = rules[0]
        t.check(r["name"] == "web-dry" and r["action"] == "signal" and r["dry_run"] is True,
                f"the rule: {r}")
        t.check(r["target_found"] is True and r["cgroup"] == cg and r["target"] == cg,
                f"its target found: {r['target']!r} in {r['cgroup']!r}")
        t.check(r["state"] == "ok" and r["last_action"] is None and r["actions"] == 0,
                f"state ok, no action yet: {r['state']} {r['last_action']}")
        t.check(r["cpu_ratio"] is not None and 0 <= r["cpu_ratio"] < 0.5 and r["threshold"] == 0.9,
                f"a CPU ratio beside the threshold: {r['cpu_ratio']} / {r['threshold']}")
    q = doc["rabbitmq"]
    t.check(q["host"] == fs_host and q["up"] is False, f"rabbitmq source {q}")
    t.check("401" in q["last_error"], f"its last error: {q['last_error']!r}")
    t.check(q.get("source") == "" and q.get("source_why") == "",
            f"no source named while no poll could choose one: {q.get('source')!r}, {q.get('source_why')!r}")
    now = time.time()
    t.check(q["last_poll_at"] is not None and started - 1 <= q["last_poll_at"] <= now + 1,
            f"its last poll time {q['last_poll_at']} within the run ({started}..{now})")
    t.check(q["last_success_at"] is None, "no successful poll: null, not 0")
    s = doc["self"]
    with open(f"/proc/{d.proc.pid}/status") as f:
        rss = [int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:")][0]
    t.check(0.5 * rss <= s["resident_memory_bytes"] <= 2 * rss,
            f"resident memory {s['resident_memory_bytes']} beside /proc's VmRSS {rss}")
    t.check(s["cpu_seconds"] > 0, f"CPU seconds {s['cpu_seconds']}")
    samples = parse_samples(request(d, "/metrics")[2].decode())
    maps = [v for k, v in samples.items() if k.startswith("hostmon_bpf_map_memory_bytes{")]
    t.check(s["bpf_maps"] == len(maps) and s["bpf_map_memory_bytes"] == sum(maps) > 0,
            f"BPF map memory {s['bpf_map_memory_bytes']} in {s['bpf_maps']} maps = /metrics' "
            f"{sum(maps)} in {len(maps)}")
    t.check(doc["version"] and doc["host"] == socket.gethostname(), f"version and host {doc['host']}")


def check_browser(t, d, srv, cg):
    url = f"http://{d.host}:{d.port}/"
    shot = os.path.join(os.path.dirname(BIN), "tests", "status-page.png")
    os.makedirs(os.path.dirname(shot), exist_ok=True)
    if os.path.exists(shot):
        os.unlink(shot)
    rc, _ = chromium(["--window-size=1280,1400", f"--screenshot={shot}", url])
    size = png_size(shot) if os.path.exists(shot) else None
    t.check(rc == 0 and size == (1280, 1400) and os.path.getsize(shot) > 20000,
            f"a screenshot of the page: rc {rc}, {size}, {shot}")
    info(f"screenshot: {shot}")
    # The page as the browser built it. Headless Chromium serialises the DOM (and takes
    # screenshots) through JavaScript, so both need scripts on; that the page needs none is
    # checked on the DOM itself: no script element, no event handler attribute, no javascript: URL.
    rc, dom = chromium(["--dump-dom", url])
    page = PageText()
    page.feed(dom)
    text = " ".join(" ".join(page.text).split())
    t.check(rc == 0 and "Collectors" in text, f"the browser rendered the page: rc {rc}")
    for want in ("cgroup_cpu up", "http_latency up", "rabbitmq down", "401", "HTTP targets",
                 f"{srv.pid} node node http {cg}", "web-dry (signal, dry run) ok", "none yet",
                 "RabbitMQ", "last error", "hostmon itself", "BPF map memory", "resident memory"):
        t.check(want in text, f"the page's text has {want!r}")
    t.check("b" not in page.tags, "the cgroup name's <b> stayed text, no element came of it")
    t.check("script" not in page.tags and "link" not in page.tags and "img" not in page.tags,
            f"no script, stylesheet link or image: {sorted(page.tags)}")
    handlers = [k for k, _ in page.attrs if k.startswith("on")]
    t.check(not handlers and "javascript:" not in dom, f"no event handler or javascript: URL: {handlers}")
    external = [v for k, v in page.attrs if k in ("href", "src") and v and not v.startswith("/")]
    t.check(not external, f"every link stays on hostmon: {external}")


def check_cli(t, d, srv, cg):
    url = f"http://{d.host}:{d.port}"
    p = subprocess.run([BIN, "status", "--url", url], capture_output=True, text=True, timeout=30)
    out = p.stdout
    t.check(p.returncode == 0, f"hostmon status exit {p.returncode}: {p.stderr}")
    for want in ("Collectors", "cgroup_cpu     up", "rabbitmq       down last poll failed",
                 f"{srv.pid:<8} node", cg, "web-dry: ok (dry run), signal action", "no action yet",
                 "RabbitMQ 127.0.0.1", "hostmon itself", "BPF maps"):
        t.check(want in out, f"hostmon status prints {want!r}")
    p = subprocess.run([BIN, "status", "--url", url, "--json"], capture_output=True, text=True,
                       timeout=30)
    doc = json.loads(p.stdout) if p.returncode == 0 else {}
    t.check([c["name"] for c in doc.get("collectors", [])] == ["cgroup_cpu", "http_latency", "rabbitmq"],
            "--json prints the document")
    nobody = f"http://127.0.0.1:{free_port()}"
    p = subprocess.run([BIN, "status", "--url", nobody], capture_output=True, text=True, timeout=30)
    t.check(p.returncode == 1 and f"no hostmon daemon at {nobody}/status.json" in p.stderr
            and p.stdout == "", f"no daemon: exit {p.returncode}, {p.stderr.strip()!r}")
    p = subprocess.run([BIN, "status", "--help"], capture_output=True, text=True, timeout=30)
    t.check(p.returncode == 0 and p.stdout.startswith("Usage: hostmon status"), "its own --help")


def run(t):
    env = Env("hostmon-status", cgroup2_mount())
    tmp = tempfile.mkdtemp(prefix="hostmon-status-")
    try:
        env.mkdir("")
        cg = env.mkdir(CGROUP_NAME)
        cfg = os.path.join(tmp, "hostmon.json")
        with open(cfg, "w") as f:
            json.dump({"restart": {"rules": [
                {"name": "web-dry", "cgroup": cg, "threshold": 0.9, "cores": 1, "interval": "500ms",
                 "window": "30s", "dry_run": True, "action": {"type": "signal"}}]}}, f)
        with NodeServer(cgroup=env.path(cg)) as srv, FaultServer() as fs:
            fs.set_mode("401")
            started = time.time()
            d = Daemon("--collectors", "cgroup_cpu,http_latency,rabbitmq", "--rabbitmq-url", fs.url,
                       "--rabbitmq-interval", "1s", "--rabbitmq-timeout", "500ms", "--config", cfg)
            try:
                srv.fresh("GET", "/fast")
                ready = wait_until(lambda: (lambda doc: doc if doc and doc["rabbitmq"]["last_error"]
                                            and doc["restart_rules"][0]["cpu_ratio"] is not None
                                            and any(x["pid"] == srv.pid
                                                    for x in doc["http_targets"]["items"])
                                            else None)(status_json(d)[2]), 20)
                status, headers, doc = status_json(d)
                t.check(status == 200 and headers.get("content-type") == "application/json",
                        f"/status.json: {status} {headers.get('content-type')}")
                t.check(bool(ready), "the target, the rule's first ratio and a failed poll show up")
                info("1. /status.json by field")
                check_json(t, d, ready or doc, srv, cg, "127.0.0.1", started)
                status, headers, body = request(d, "/")
                t.check(status == 200 and headers.get("content-type") == "text/html; charset=utf-8"
                        and b"<!doctype html>" in body, f"/ is the HTML page: {status}")
                info("2. / in headless Chromium")
                check_browser(t, d, srv, cg)
                info("3. hostmon status")
                check_cli(t, d, srv, cg)
                rc, _ = d.stop()
                t.check(rc == 0, f"hostmon exit code {rc}")
            finally:
                d.close()
    finally:
        env.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run, "core/test_status")
