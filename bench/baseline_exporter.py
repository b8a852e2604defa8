"""Baseline for the scrape benchmark: the same 10k-series page served by python prometheus_client."""
import sys
import time

from prometheus_client import Counter, start_http_server


def main():
    nseries = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    labels = ["cgroup", "container_id", "pod_uid"]
    cpu = Counter("hostmon_cgroup_cpu_seconds", "CPU time of the cgroup.", labels)
    wait = Counter("hostmon_cgroup_cpu_runqueue_wait_seconds", "Run-queue wait of the cgroup.", labels)
    for i in range(nseries // 2):
        path = f"/system.slice/app-{i // 10}.service/worker-{i}"
        cpu.labels(path, "", "").inc(i * 7919 % 100000 / 1000.0 + 0.123456)
        wait.labels(path, "", "").inc(i * 104729 % 100000 / 1e6)
    start_http_server(port, addr="127.0.0.1")
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
