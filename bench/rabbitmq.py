"""RabbitMQ collector at scale: a real broker with N queues spread over 5 vhosts (definitions import),
hostmon's poll beside the broker's own time for the same requests (one per vhost, 4 at once, as
hostmon's default), for one listing of every queue (what hostmon did before), and a straightforward
exporter's poll."""
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from rabbitmq_env import Broker, free_port  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SIZES = [int(x) for x in (sys.argv[2:] or ["10000", "50000"])]
FAST = ("disable_stats=true&enable_queue_totals=true&columns=name,vhost,node,type,state,durable,"
        "messages,messages_ready,messages_unacknowledged")
VHOSTS = ["/", "bench1", "bench2", "bench3", "bench4"]


def curl_time(url):
    out = subprocess.run(["curl", "-s", "-u", "guest:guest", "-o", "/dev/null", "-w", "%{time_total}", url],
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


def run_size(b, n):
    defs = {"vhosts": [{"name": v} for v in VHOSTS[1:]],
            "permissions": [{"user": "guest", "vhost": v, "configure": ".*", "write": ".*", "read": ".*"}
                            for v in VHOSTS[1:]],
            "queues": [{"name": f"bench-{n}-{i:06d}", "vhost": VHOSTS[i % len(VHOSTS)], "durable": True,
                        "auto_delete": False, "arguments": {}} for i in range(n)]}
    b.import_definitions(defs)
    time.sleep(2)
    one_s = min(curl_time(f"{b.url}/api/queues?{FAST}") for _ in range(3))
    per_vhost = [f"{b.url}/api/queues/{urllib.parse.quote(v, safe='')}?{FAST}" for v in VHOSTS]
    broker_s = min(curl_parallel_time(per_vhost) for _ in range(3))
    log = f"/tmp/hostmon-bench-rmq-{n}.log"
    env = dict(os.environ, HOSTMON_RABBITMQ_PASSWORD="guest")
    with open(log, "w") as lf:
        d = subprocess.Popen([os.path.join(ROOT, BUILD, "hostmon"), "--listen", "127.0.0.1:0", "--collectors",
                              "rabbitmq", "--rabbitmq-url", b.url, "--rabbitmq-interval", "60s",
                              "--rabbitmq-timeout", "50s", "--rabbitmq-detail-interval", "600s"],
                             stdout=lf, stderr=subprocess.STDOUT, env=env)
    try:
        addr = None
        for _ in range(600):
            text = open(log).read()
            m = re.search(r"msg=listening address=(\S+)", text)
            if m:
                addr = m.group(1)
            if "rabbitmq poll succeeded" in text:
                break
            time.sleep(0.1)
        page = urllib.request.urlopen(f"http://{addr}/metrics", timeout=60).read().decode()
        # curl, not python, reads the page: the client's own speed is not hostmon's
        scrape_ms = min(curl_time(f"http://{addr}/metrics") for _ in range(5)) * 1000
        collect_ms = metric(page, 'hostmon_collector_duration_seconds') * 1000
        rss_kb = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{d.pid}/status").read()).group(1))
        print(f"hostmon queues={n} poll_s={metric(page, 'hostmon_rabbitmq_poll_duration_seconds'):.3f} "
              f"broker_s_same_requests={broker_s:.3f} broker_s_one_listing={one_s:.3f} exported={metric(page, 'hostmon_rabbitmq_queues'):.0f} "
              f"collect_ms={collect_ms:.1f} scrape_ms={scrape_ms:.1f} rss_mb={rss_kb / 1024:.1f}",
              flush=True)
    finally:
        d.terminate()
        d.wait()
    naive = subprocess.run([os.path.join(ROOT, BUILD, "bench", "rmq_naive_bench"), b.url],
                           capture_output=True, text=True)
    print(naive.stdout.strip() or naive.stderr.strip(), flush=True)


def main():
    for n in SIZES:
        # a fresh broker per size, on its own ports, so sizes do not add up
        with Broker(nodename="hostmon-bench@localhost", amqp_port=free_port(), mgmt_port=free_port(),
                    dist_port=free_port()) as b:
            run_size(b, n)


if __name__ == "__main__":
    main()
