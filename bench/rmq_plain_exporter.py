"""Baseline for the RabbitMQ source benchmark: a plain exporter as people write one, one full
GET /api/queues per poll (urllib, keep-alive-free like most), every queue into prometheus_client
gauges.

Usage: rmq_plain_exporter.py URL [POLLS]   prints "plain_exporter poll_s=<median> polls_s=a,b,c"
"""
import base64
import json
import statistics
import sys
import time
import urllib.request

from prometheus_client import CollectorRegistry, Gauge, generate_latest

FIELDS = ["messages", "messages_ready", "messages_unacknowledged", "consumers", "message_bytes"]


def poll(url, gauges):
    auth = "Basic " + base64.b64encode(b"guest:guest").decode()
    req = urllib.request.Request(url + "/api/queues", headers={"Authorization": auth})
    with urllib.request.urlopen(req, timeout=300) as r:
        queues = json.load(r)
    for q in queues:
        for f in FIELDS:
            if isinstance(q.get(f), (int, float)):
                gauges[f].labels("rabbitmq", q["vhost"], q["name"]).set(q[f])


def main():
    url = sys.argv[1].rstrip("/")
    polls = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    registry = CollectorRegistry()
    gauges = {f: Gauge("rabbitmq_individual_queue_" + f, f, ["host", "vhost", "name"], registry=registry)
              for f in FIELDS}
    times = []
    for _ in range(polls):
        t = time.monotonic()
        poll(url, gauges)
        times.append(time.monotonic() - t)
    series = generate_latest(registry).count(b"\nrabbitmq_individual_queue_")
    print(f"plain_exporter poll_s={statistics.median(times):.3f} "
          f"polls_s={','.join(f'{x:.2f}' for x in times)} series={series}", flush=True)


if __name__ == "__main__":
    main()
