"""RabbitMQ sources side by side, in one run on one broker per size: N queues in ONE vhost,
hostmon's count poll through the management API and through the rabbitmq_prometheus plugin (with
--rabbitmq-plugin-consumers count, the default, and detail), a
plain exporter (bench/rmq_plain_exporter.py: one full /api/queues with requests +
prometheus_client), and the broker's own time for hostmon's requests (curl: the floor no client
can beat).

Usage: rabbitmq_sources.py BUILD [N[xV] ...]   (default 5000 10000; 50000x5: 50,000 queues over
5 vhosts, /, bench1 .. bench4)
"""
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from rabbitmq import (FAST, VHOSTS, curl_parallel_time, curl_time, metric, next_poll_duration,
                      scrape_text, start_hostmon)  # noqa: E402
from rabbitmq_env import Broker, free_port  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SIZES = [tuple(int(v) for v in (x + "x1").split("x")[:2]) for x in (sys.argv[2:] or ["5000", "10000"])]
POLLS = 3
PROM = "family=queue_coarse_metrics&family=queue_consumer_count"
PROM_LEAN = "family=queue_coarse_metrics"   # --rabbitmq-plugin-consumers detail


def interval_s(n):
    return max(8, n // 2500)   # above the management API's time for a poll here


def hostmon_polls(b, n, source, consumers="count"):
    d, addr = start_hostmon(BUILD, f"/tmp/hostmon-bench-rmq-{source}-{consumers}-{n}.log", "--rabbitmq-url", b.url,
                            "--rabbitmq-source", source, "--rabbitmq-plugin-consumers", consumers, "--rabbitmq-prometheus-url", b.prom_url,
                            "--rabbitmq-interval", f"{interval_s(n)}s", "--rabbitmq-timeout",
                            f"{interval_s(n) - 1}s",
                            "--rabbitmq-detail-interval", "600s")
    try:
        # the first poll also ran the detail poll before it; the next ones are count polls alone
        polls = [next_poll_duration(addr, polls_done=i) for i in range(POLLS)]
        page = scrape_text(addr)
        # as Prometheus scrapes (gzip), and as curl without --compressed (the text, inflated on
        # the way out)
        gzip_ms = min(curl_time(f"http://{addr}/metrics", headers=["Accept-Encoding: gzip"])
                      for _ in range(5)) * 1000
        scrape_ms = min(curl_time(f"http://{addr}/metrics") for _ in range(5)) * 1000
        status = open(f"/proc/{d.pid}/status").read()
        rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        # the peak over the whole run: the first poll (with its detail poll), the count polls, and
        # every scrape above
        hwm_kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
        return {"poll_s": statistics.median(polls), "polls": polls,
                "queues": metric(page, "hostmon_rabbitmq_queues"), "scrape_ms": scrape_ms,
                "gzip_ms": gzip_ms, "rss_mb": rss_kb / 1024, "peak_mb": hwm_kb / 1024,
                "source": re.search(r'hostmon_rabbitmq_source\{[^}]*source="(\w+)"', page).group(1)}
    finally:
        d.terminate()
        d.wait()


def run_size(b, n, nvhosts):
    vhosts = ["bench"] if nvhosts == 1 else VHOSTS[:nvhosts]
    b.import_definitions({
        "vhosts": [{"name": v} for v in vhosts],
        "permissions": [{"user": "guest", "vhost": v, "configure": ".*", "write": ".*", "read": ".*"}
                        for v in vhosts],
        "queues": [{"name": f"bench-{n}-{i:06d}", "vhost": vhosts[i % len(vhosts)], "durable": True,
                    "auto_delete": False, "arguments": {}} for i in range(n)]})
    time.sleep(2)
    ev = [urllib.parse.quote(v, safe="") for v in vhosts]
    # the same requests as hostmon's, 4 at once as its default
    floor_mgmt = statistics.median(curl_parallel_time([f"{b.url}/api/queues/{v}?{FAST}" for v in ev])
                                   for _ in range(3))
    floor_prom = statistics.median(curl_parallel_time(
        [f"{b.prom_url}/metrics/detailed?vhost={v}&{PROM}" for v in ev]) for _ in range(3))
    floor_lean = statistics.median(curl_parallel_time(
        [f"{b.prom_url}/metrics/detailed?vhost={v}&{PROM_LEAN}" for v in ev]) for _ in range(3))
    mgmt = hostmon_polls(b, n, "management")
    prom = hostmon_polls(b, n, "prometheus")
    lean = hostmon_polls(b, n, "prometheus", consumers="detail")
    plain = subprocess.run([sys.executable, os.path.join(HERE, "rmq_plain_exporter.py"), b.url, str(POLLS)],
                           capture_output=True, text=True)
    m = re.search(r"poll_s=(\S+)", plain.stdout)
    plain_s = float(m.group(1)) if m else float("nan")
    for name, r in (("management", mgmt), ("prometheus", prom), ("prometheus, consumers at detail", lean)):
        print(f"hostmon source={name} (used {r['source']}) queues={n} vhosts={nvhosts} exported={r['queues']:.0f} "
              f"poll_s={r['poll_s']:.3f} polls_s={','.join(f'{p:.3f}' for p in r['polls'])} "
              f"scrape_gzip_ms={r['gzip_ms']:.1f} scrape_text_ms={r['scrape_ms']:.1f} "
              f"rss_mb={r['rss_mb']:.1f} peak_rss_mb={r['peak_mb']:.1f}", flush=True)
    print(plain.stdout.strip() or plain.stderr.strip()[-500:], flush=True)
    print(f"broker alone (curl, median of 3): management {floor_mgmt:.3f} s, plugin {floor_prom:.3f} s, "
          f"plugin without queue_consumer_count {floor_lean:.3f} s", flush=True)
    print(f"ratio queues={n}: plain exporter / hostmon prometheus = {plain_s / prom['poll_s']:.1f}x, "
          f"plain / hostmon management = {plain_s / mgmt['poll_s']:.1f}x, "
          f"hostmon prometheus / plugin alone = {prom['poll_s'] / floor_prom:.2f}, "
          f"consumers at detail: plain / hostmon = {plain_s / lean['poll_s']:.1f}x, "
          f"hostmon / plugin alone = {lean['poll_s'] / floor_lean:.2f}", flush=True)


def main():
    for n, nvhosts in SIZES:
        with Broker(nodename="hostmon-bench-src@localhost", amqp_port=free_port(), mgmt_port=free_port(),
                    dist_port=free_port()) as b:
            run_size(b, n, nvhosts)


if __name__ == "__main__":
    main()
