"""Soak: hostmon's memory levels off and its fds stay constant under hours-like churn, compressed.

The real daemon (the CPU collector, and rabbitmq polling a fake broker of 2,000 queues every
second) under, at once and for HOSTMON_SOAK_SECONDS (60 in `make test`, 600 in `make soak`):
- connection churn: rounds of 200 connections opened at once, half of them sending a partial
  request, all closed without reading;
- scrapers: 4 threads scraping /metrics, on keep-alive and new connections, half of them asking
  for gzip;
- busy idlers: 100 connections held open for a few seconds, then replaced.
Sampled once a second: VmRSS and the number of open fds. Once the load has stopped the daemon
holds exactly the fds it held before it began, every scrape was answered, and a scrape at the end
is whole; RSS stays under twice its start + 20 MiB. In `make soak` (at least LEVEL_SECONDS), after
the first third (warm-up: the allocator's heap reaches the working set of the most connections
and scrapes in flight at once; what that is and why it is bounded: docs/PERFORMANCE.md, memory
under connection churn), the least-squares slope of RSS must be under 1% of its mean per minute;
a 60 s run is too short to see the level, so there the slope is only reported (as are the fds).
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fault_server import FaultServer
from cgroup_test import info
from hostmon_test import main, parse_samples, read_response, request, running_daemon

SECONDS = float(os.environ.get("HOSTMON_SOAK_SECONDS", "60"))
QUEUES = 2000
MAX_SLOPE_PCT_PER_MIN = 1.0
LEVEL_SECONDS = 300  # long enough for the warm-up to end inside the first third


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nfds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def slope_pct_per_min(samples):
    """Least-squares slope of [(t, rss)] as % of the mean RSS per minute."""
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mr = sum(r for _, r in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    if var == 0 or mr == 0:
        return 0.0
    b = sum((t - mt) * (r - mr) for t, r in samples) / var
    return b * 60 / mr * 100


def churn(d, stop, counts):
    while not stop.is_set():
        socks = []
        for i in range(200):
            try:
                s = socket.create_connection((d.host, d.port), timeout=5)
                if i % 2:
                    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: soak\r\n")  # never finished
                socks.append(s)
            except OSError:
                counts["refused"] += 1
        for s in socks:
            s.close()
        counts["churned"] += len(socks)


def scraper(d, stop, counts, gzip):
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    s = None
    while not stop.is_set():
        try:
            if s is None:
                s = socket.create_connection((d.host, d.port), timeout=10)
            hdrs = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            s.sendall(f"GET /metrics HTTP/1.1\r\nHost: soak\r\n{hdrs}\r\n".encode())
            r = read_response(s)
            if r and r[0] == 200:
                counts["scrapes"] += 1
            else:
                counts["bad_scrapes"] += 1
            if counts["scrapes"] % 3 == 0:  # every third on a new connection
                s.close()
                s = None
        except OSError:
            counts["bad_scrapes"] += 1
            if s:
                s.close()
            s = None
    if s:
        s.close()


def idlers(d, stop, counts):
    while not stop.is_set():
        socks = []
        for _ in range(100):
            try:
                socks.append(socket.create_connection((d.host, d.port), timeout=5))
            except OSError:
                counts["refused"] += 1
        stop.wait(3)
        for s in socks:
            s.close()
        counts["idled"] += len(socks)


def run(t):
    queues = [{"name": f"soak-{i}", "vhost": "/", "messages": i, "messages_ready": i,
               "messages_unacknowledged": 0} for i in range(QUEUES)]
    with FaultServer() as fs, running_daemon(t, "--collectors", "cgroup_cpu,rabbitmq",
                                             "--rabbitmq-url", fs.url, "--rabbitmq-interval", "1s",
                                             "--rabbitmq-timeout", "900ms") as d:
        fs.set_mode("good", items=queues)
        pid = d.proc.pid
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and \
                parse_samples(request(d, "/metrics")[2].decode()).get("hostmon_rabbitmq_up") != 1:
            time.sleep(0.2)
        time.sleep(1)
        fds_before = nfds(pid)
        stop = threading.Event()
        counts = {"churned": 0, "refused": 0, "scrapes": 0, "bad_scrapes": 0, "idled": 0}
        parts = os.environ.get("HOSTMON_SOAK_PARTS", "churn,idlers,scrapers").split(",")
        threads = [threading.Thread(target=churn, args=(d, stop, counts))] if "churn" in parts else []
        threads += [threading.Thread(target=idlers, args=(d, stop, counts))] if "idlers" in parts else []
        threads += [threading.Thread(target=scraper, args=(d, stop, counts, i % 2 == 0))
                    for i in range(4 if "scrapers" in parts else 0)]
        for th in threads:
            th.daemon = True
            th.start()
        samples, t0 = [], time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            samples.append((time.monotonic() - t0, rss_kib(pid)))
            if len(samples) % 30 == 0:
                info(f"{samples[-1][0]:.0f} s: RSS {samples[-1][1]} KiB")
            time.sleep(1)
        stop.set()
        for th in threads:
            th.join(30)
        info(f"{SECONDS:.0f} s: {counts}; RSS {samples[0][1]} -> {samples[-1][1]} KiB "
             f"(max {max(r for _, r in samples)})")
        t.check(counts["scrapes"] > 0 and counts["churned"] > 0 and counts["idled"] > 0,
                f"the load ran: {counts}")
        t.check(counts["bad_scrapes"] == 0, f"every scrape was answered 200: {counts['bad_scrapes']} were not")
        warm = [s for s in samples if s[0] >= SECONDS / 3]
        slope = slope_pct_per_min(warm) if len(warm) >= 5 else None
        shown = "-" if slope is None else f"{slope:.2f}"
        info(f"RSS slope after the first third: {shown} % per minute"
             + ("" if SECONDS >= LEVEL_SECONDS else " (judged in make soak only)"))
        if SECONDS >= LEVEL_SECONDS:
            t.check(slope is not None and slope < MAX_SLOPE_PCT_PER_MIN,
                    f"RSS levels off after warm-up: slope {shown} % per minute (< {MAX_SLOPE_PCT_PER_MIN})")
        bound = 2 * samples[0][1] + 20 * 1024
        t.check(max(r for _, r in samples) <= bound,
                f"RSS bounded: peak {max(r for _, r in samples)} KiB <= {bound} KiB")
        settled = None
        for _ in range(50):  # the server closes what the clients closed within a moment
            settled = nfds(pid)
            if settled == fds_before:
                break
            time.sleep(0.2)
        info(f"fds: {fds_before} before the load, {settled} after")
        t.check(settled == fds_before, f"fds constant: {fds_before} before the load, {settled} after")
        r = request(d, "/metrics")
        t.check(r and r[0] == 200 and b"rabbitmq_individual_queue_messages{" in r[2],
                "a scrape after the soak is whole")


if __name__ == "__main__":
    main(run, "web/test_soak")
