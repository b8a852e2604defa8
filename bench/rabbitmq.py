"""RabbitMQ collector at scale: a real broker with N queues spread over 5 vhosts (definitions import),
hostmon's poll beside the broker's own time for the same requests (one per vhost, 4 at once, as
hostmon's default), for one listing of every queue (what hostmon did before), and a straightforward
exporter's poll."""
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from rabbitmq_env import Broker, free_port  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
FAST = ("disable_stats=true&enable_queue_totals=true&columns=name,vhost,node,type,state,durable,"
        "messages,messages_ready,messages_unacknowledged")
VHOSTS = ["/", "bench1", "bench2", "bench3", "bench4"]


def curl_time(url, what="time_total", headers=()):
    args = [a for h in headers for a in ("-H", h)]
    out = subprocess.run(["curl", "-s", "-u", "guest:guest", *args, "-o", "/dev/null", "-w", "%{" + what + "}", url],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def curl_parallel_time(urls, parallel=4):
    """Wall time of fetching urls with at most `parallel` at once (curl --parallel)."""
    args = ["curl", "-s", "-u", "guest:guest", "--parallel", "--parallel-max", str(parallel)]
    for u in urls:
        args += ["-o", "/dev/null", u]
    t = time.monotonic()
    subprocess.run(args, check=True, capture_output=True)   # --parallel shows its meter despite -s
    return time.monotonic() - t


def metric(text, name):
    m = re.search(r"^" + re.escape(name) + r"(?:\{[^}]*\})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


POLL_INTERVAL_S = 20  # above the broker's time for a poll at 50,000 queues here
POLLS = 3


def scrape_text(addr):
    return urllib.request.urlopen(f"http://{addr}/metrics", timeout=60).read().decode()


def poll_duration(addr):
    return metric(scrape_text(addr), "hostmon_rabbitmq_poll_duration_seconds")


def next_poll_duration(addr, polls_done):
    """Waits for the next successful poll (its success timestamp moves) and returns its duration."""
    last = metric(scrape_text(addr), "hostmon_rabbitmq_last_success_timestamp_seconds")
    deadline = time.monotonic() + 3 * POLL_INTERVAL_S
    while time.monotonic() < deadline:
        time.sleep(0.5)
        text = scrape_text(addr)
        if metric(text, "hostmon_rabbitmq_last_success_timestamp_seconds") != last:
            return metric(text, "hostmon_rabbitmq_poll_duration_seconds")
    raise RuntimeError(f"no successful poll after poll {polls_done}")


def start_hostmon(build, log, *args):
    """hostmon with the rabbitmq collector alone; returns (process, address) after its first
    successful poll (or after 60 s)."""
    env = dict(os.environ, HOSTMON_RABBITMQ_PASSWORD="guest")
    with open(log, "w") as lf:
        d = subprocess.Popen([os.path.join(ROOT, build, "hostmon"), "--listen", "127.0.0.1:0",
                              "--collectors", "rabbitmq", *args],
                             stdout=lf, stderr=subprocess.STDOUT, env=env)
    addr = None
    for _ in range(600):
        text = open(log).read()
        m = re.search(r"msg=listening address=(\S+)", text)
        addr = m.group(1) if m else addr
        if "rabbitmq poll succeeded" in text:
            break
        time.sleep(0.1)
    return d, addr


def run_size(b, n):
    defs = {"vhosts": [{"name": v} for v in VHOSTS[1:]],
            "permissions": [{"user": "guest", "vhost": v, "configure": ".*", "write": ".*", "read": ".*"}
                            for v in VHOSTS[1:]],
            "queues": [{"name": f"bench-{n}-{i:06d}", "vhost": VHOSTS[i % len(VHOSTS)], "durable": True,
                        "auto_delete": False, "arguments": {}} for i in range(n)]}
    b.import_definitions(defs)
    time.sleep(2)
    # medians of 3 on both sides: the broker's time for one listing moves by tens of percent
    one_s = statistics.median(curl_time(f"{b.url}/api/queues?{FAST}") for _ in range(3))
    per_vhost = [f"{b.url}/api/queues/{urllib.parse.quote(v, safe='')}?{FAST}" for v in VHOSTS]
    broker_s = statistics.median(curl_parallel_time(per_vhost) for _ in range(3))
    d, addr = start_hostmon(BUILD, f"/tmp/hostmon-bench-rmq-{n}.log", "--rabbitmq-url", b.url,
                            "--rabbitmq-source", "management", "--rabbitmq-interval", f"{POLL_INTERVAL_S}s",
                            "--rabbitmq-timeout", f"{POLL_INTERVAL_S - 1}s", "--rabbitmq-detail-interval", "600s")
    try:
        polls = [poll_duration(addr)]
        for _ in range(POLLS - 1):
            polls.append(next_poll_duration(addr, polls_done=len(polls)))
        page = urllib.request.urlopen(f"http://{addr}/metrics", timeout=60).read().decode()
        # curl, not python, reads the page: the client's own speed is not hostmon's
        scrape_ms = min(curl_time(f"http://{addr}/metrics") for _ in range(5)) * 1000
        # hostmon builds the whole page before its first byte: time to first byte = collect + render
        render_ms = min(curl_time(f"http://{addr}/metrics", "time_starttransfer") for _ in range(5)) * 1000
        collect_ms = metric(page, 'hostmon_collector_duration_seconds') * 1000
        rss_kb = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{d.pid}/status").read()).group(1))
        print(f"hostmon queues={n} poll_s={statistics.median(polls):.3f} "
              f"polls_s={','.join(f'{p:.2f}' for p in polls)} "
              f"broker_s_same_requests={broker_s:.3f} broker_s_one_listing={one_s:.3f} exported={metric(page, 'hostmon_rabbitmq_queues'):.0f} "
              f"collect_ms={collect_ms:.1f} collect_render_ms={render_ms:.1f} scrape_ms={scrape_ms:.1f} "
              f"rss_mb={rss_kb / 1024:.1f}",
              flush=True)
    finally:
        d.terminate()
        d.wait()
    naive = subprocess.run([os.path.join(ROOT, BUILD, "bench", "rmq_naive_bench"), b.url],
                           capture_output=True, text=True)
    print(naive.stdout.strip() or naive.stderr.strip(), flush=True)


def main():
    for n in [int(x) for x in (sys.argv[2:] or ["10000", "50000"])]:
        # a fresh broker per size, on its own ports, so sizes do not add up
        with Broker(nodename="hostmon-bench@localhost", amqp_port=free_port(), mgmt_port=free_port(),
                    dist_port=free_port()) as b:
            run_size(b, n)


if __name__ == "__main__":
    main()
