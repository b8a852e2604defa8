"""Clients that ask for a big /metrics page and never read it: memory stays bounded.

The real daemon polls a fake RabbitMQ broker (tests/integration/lib/fault_server.py) of QUEUES
queues, which makes a ~20 MB text page, ~0.7 MB in gzip. Then CLIENTS connections each send
`GET /metrics` (no gzip: the text, the biggest answer) and never read. hostmon keeps every /metrics
page in gzip, shared among concurrent scrapes, and inflates it a window at a time for a client that
does not take gzip; it serves at most --max-scrapes of them at once (503 with Retry-After beyond,
counted in hostmon_web_requests_refused_total, logged once per interval), and caps the bytes queued
for slow readers (--max-queued-bytes). Checked:
- the daemon's RSS grows by at most 2 x the gzip page + --max-scrapes inflate windows + 8 MiB over
  its RSS before the clients came: the text page is never held (it alone would pass the bound; and
  without sharing, each connection held its own copy);
- every client got an answer: at most --max-scrapes a 200, the others 503 with Retry-After, and
  the refusals are counted by reason and logged at most once per interval;
- once they are gone, reading clients get the complete page (identity and gzip, the same text),
  every queue in it;
- the cap on queued bytes: with a cap of 1.5 gzip pages, while one slow client holds a page, a new
  page (the held one is older than the 1 s a page is shared) would pass it and gets 503 counted as
  reason="queued_bytes"; once the slow client has gone, the next scrape is served.
The clients are sent in batches, each waiting for its answers, and the flood stops as soon as the
RSS bound is passed, so an unbounded daemon fails the test without taking the machine's memory.
"""
import gzip
import os
import re
import resource
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import info
from fault_server import FaultServer, sample_queue
from hostmon_test import asan_options_for_rss, main, parse_samples, request, running_daemon

QUEUES = 26000  # ~20 MB of text page with every per-queue family
CLIENTS = 500
BATCH = 10
MAX_SCRAPES = 16
MIB = 1024 * 1024
SERIES = b"rabbitmq_individual_queue_messages{"
INFLATE_WINDOW = 256 * 1024  # what a client served inflated holds: the window and ISA-L's state


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Samples the daemon's RSS in the background; .peak is the highest seen."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, rss_bytes(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def now(self):
        self.peak = max(self.peak, rss_bytes(self.pid))
        return self.peak

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.now()


def scrape(d, headers=None, tries=20):
    """A reading client's scrape; a 503 (the server still closing the slow clients) is retried."""
    for _ in range(tries):
        r = request(d, "/metrics", headers=headers, timeout=60)
        if r and r[0] != 503:
            return r
        time.sleep(0.25)
    return r


def wait_page(d):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = request(d, "/metrics", timeout=60)
        if r and r[0] == 200 and r[2].count(SERIES) >= QUEUES:
            return r
        time.sleep(0.5)
    raise RuntimeError("the page never listed every queue")


def non_reader(d):
    """Connects and asks for /metrics with a tiny receive window, then never reads."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect((d.host, d.port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: slow\r\n\r\n")
    return s


def first_answer(socks, timeout=60):
    """Waits until every socket has bytes to read; returns {sock: status line and headers} from a
    peek (MSG_PEEK leaves the response unread)."""
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLIN)
    waiting = set(s.fileno() for s in socks)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for fd, _ in poller.poll(200):
            waiting.discard(fd)
            poller.unregister(fd)
    heads = {}
    for s in socks:
        if s.fileno() in waiting:
            heads[s] = None
            continue
        data = s.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        heads[s] = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return heads


def flood(t, d, rss, bound):
    """CLIENTS non-readers in batches; stops early once RSS passes bound. Returns their heads."""
    socks, heads = [], {}
    while len(socks) < CLIENTS:
        batch = [non_reader(d) for _ in range(BATCH)]
        socks += batch
        heads.update(first_answer(batch))
        if rss.now() > bound:
            info(f"RSS bound passed after {len(socks)} clients: stopping the flood")
            break
    return socks, heads


def check_answers(t, heads):
    statuses = {}
    for head in heads.values():
        m = re.match(r"HTTP/1\.1 (\d{3}) ", head or "")
        code = int(m.group(1)) if m else None
        statuses[code] = statuses.get(code, 0) + 1
    info(f"answers to {len(heads)} non-reading clients: {statuses}")
    t.check(set(statuses) <= {200, 503}, f"every client got 200 or 503: {statuses}")
    t.check(1 <= statuses.get(200, 0) <= MAX_SCRAPES,
            f"at most --max-scrapes={MAX_SCRAPES} clients are served at once: {statuses.get(200, 0)}")
    refused = [h for h in heads.values() if h and h.startswith("HTTP/1.1 503 ")]
    t.check(refused and all(re.search(r"(?im)^retry-after: \d+$", h) for h in refused),
            f"every 503 carries Retry-After ({len(refused)} refused)")
    return statuses.get(503, 0)


def check_page(t, d, what, headers=None):
    r = scrape(d, headers)
    t.check(r is not None and r[0] == 200, f"{what}: a reading client gets 200 ({r and r[0]})")
    if not r or r[0] != 200:
        return None
    body = gzip.decompress(r[2]) if r[1].get("content-encoding") == "gzip" else r[2]
    t.check(body.count(SERIES) == QUEUES, f"{what}: every queue is on the page ({body.count(SERIES)})")
    t.check(body.endswith(b"\n") and b"hostmon_web_requests_refused_total" in body,
            f"{what}: the page is whole")
    return body


def read_response(sock):
    """The body of the response on sock (its Content-Length), read to the end."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?im)^content-length: (\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        body += chunk
    return body


def same_page(t, d):
    """A slow identity client holds a page; a gzip scrape in the same second shares it: the text
    inflated on the way out is the gzip page's, byte for byte."""
    holder = non_reader(d)
    first_answer([holder])
    r = request(d, "/metrics", headers={"Accept-Encoding": "gzip"}, timeout=60)
    text = read_response(holder)
    holder.close()
    unzipped = gzip.decompress(r[2]) if r and r[1].get("content-encoding") == "gzip" else b""
    t.check(text.count(SERIES) == QUEUES and text == unzipped,
            f"the identity page is the shared gzip page's text, byte for byte "
            f"({len(text)} and {len(unzipped)} bytes)")


def refused(d, reason):
    r = scrape(d, {"Accept-Encoding": "gzip"})
    body = gzip.decompress(r[2]) if r and r[1].get("content-encoding") == "gzip" else b""
    return parse_samples(body.decode()).get(f'hostmon_web_requests_refused_total{{reason="{reason}"}}')


def queued_bytes_cap(t, fs, gz_page):
    """A daemon whose --max-queued-bytes holds one gzip page and a half."""
    cap = int(1.5 * gz_page)
    with running_daemon(t, "--collectors", "rabbitmq", "--rabbitmq-url", fs.url,
                        "--rabbitmq-interval", "300s", f"--max-queued-bytes={cap}") as d:
        wait_page(d)
        before = refused(d, "queued_bytes")
        holder = non_reader(d)
        head = first_answer([holder])[holder] or ""
        t.check(head.startswith("HTTP/1.1 200 "), f"a slow client alone is served: {head[:40]!r}")
        time.sleep(1.5)  # the held page is now too old to share: a new one would be rendered
        late = non_reader(d)
        head = first_answer([late])[late] or ""
        t.check(head.startswith("HTTP/1.1 503 ") and re.search(r"(?im)^retry-after: \d+$", head),
                f"a second page would pass --max-queued-bytes={cap}: 503 with Retry-After: {head[:60]!r}")
        holder.close()
        late.close()
        after = refused(d, "queued_bytes")
        t.check(before is not None and after is not None and after > before,
                f"once the slow client has gone a scrape is served, and the refusal is counted as "
                f"reason=queued_bytes: {before} -> {after}")


def run(t):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CLIENTS + 200
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard) if hard != resource.RLIM_INFINITY
                                                    else want, hard))
    items = [sample_queue(i) for i in range(QUEUES)]
    with FaultServer("good", items=items) as fs, running_daemon(
            t, "--collectors", "rabbitmq", "--rabbitmq-url", fs.url, "--rabbitmq-interval", "300s",
            "--max-connections", str(CLIENTS + 50), f"--max-scrapes={MAX_SCRAPES}",
            env={"ASAN_OPTIONS": asan_options_for_rss()}) as d:
        page = len(wait_page(d)[2])
        for _ in range(3):  # the allocator's steady state after full scrapes
            scrape(d)
        gz_page = len(scrape(d, {"Accept-Encoding": "gzip"})[2])
        pid = d.proc.pid
        base = rss_bytes(pid)
        bound = base + 2 * gz_page + MAX_SCRAPES * INFLATE_WINDOW + 8 * MIB
        t.check(bound < base + page, f"the bound leaves no room for the text page: "
                                     f"{(bound - base) / MIB:.1f} < {page / MIB:.1f} MiB")
        info(f"page {page / MIB:.1f} MiB, {gz_page / MIB:.2f} MiB in gzip; RSS before the clients "
             f"{base / MIB:.1f} MiB; bound {bound / MIB:.1f} MiB")
        rss = PeakRss(pid)
        logged = len(d.logs().splitlines())
        start = time.monotonic()
        socks, heads = flood(t, d, rss, bound)
        held = rss.now()
        elapsed = time.monotonic() - start
        for s in socks:
            s.close()
        peak = rss.stop()
        info(f"{len(socks)} non-reading clients: RSS {base / MIB:.1f} -> peak {peak / MIB:.1f} MiB "
             f"(+{(peak - base) / MIB:.1f} MiB, {held / MIB:.1f} MiB while they were connected)")
        t.check(len(socks) == CLIENTS, f"all {CLIENTS} clients were sent ({len(socks)})")
        t.check(peak <= bound, f"RSS within 2 gzip pages + {MAX_SCRAPES} inflate windows + 8 MiB of "
                               f"its start: peak {peak / MIB:.1f} MiB <= {bound / MIB:.1f} MiB")
        refused = check_answers(t, heads)
        t.check(d.alive(), "the daemon is alive")

        body = check_page(t, d, "identity")
        unzipped = check_page(t, d, "gzip", {"Accept-Encoding": "gzip"})
        same_page(t, d)
        if body is not None:
            samples = parse_samples(body.decode())
            counted = sum(v for k, v in samples.items() if k.startswith("hostmon_web_requests_refused_total{"))
            t.check(counted >= refused, f"refusals counted by reason: {counted} >= {refused} "
                                        f"({ {k: v for k, v in samples.items() if 'refused' in k} })")
        elapsed = time.monotonic() - start
        lines = [l for l in d.logs().splitlines()[logged:] if "refus" in l]
        allowed = 1 + int(elapsed // 60)
        t.check(1 <= len(lines) <= allowed, f"refusals logged at most once a minute: {len(lines)} lines in "
                                            f"{elapsed:.0f} s: {lines[:3]}")
        queued_bytes_cap(t, fs, gz_page)


if __name__ == "__main__":
    main(run, "web/test_slow_readers")
