"""Where the daemon's RSS is under test_soak's load: /proc/PID/smaps Rss by mapping kind every 10 s.

Usage: HOSTMON_SECCOMP=false /usr/bin/python3 bench/soak_smaps.py [SECONDS [BINARY]]   (150, build/hostmon)
With GDB_MALLOC_INFO=1, glibc's malloc_info() of the daemon (called through gdb at the end, so the
seccomp filter must be off) is printed too. Used for docs/PERFORMANCE.md (memory under churn).
"""
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "web"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "lib"))
import hostmon_test  # noqa: E402

if len(sys.argv) > 2:
    hostmon_test.BIN = sys.argv[2]
import test_soak as soak  # noqa: E402
from fault_server import FaultServer  # noqa: E402
from hostmon_test import Daemon  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 150


def rss_by_kind(pid):
    """{kind: kB}: [heap], [stack], ..., "files", "arena" (64 MiB-aligned thread arenas), "anon"."""
    kinds, kind = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(\S*)", line)
            if m:
                start, name = int(m.group(1), 16), m.group(2)
                kind = (name if name.startswith("[") else "files" if name.startswith("/")
                        else "arena" if not name and start % (64 << 20) == 0 else "anon")
            elif line.startswith("Rss:") and kind:
                kinds[kind] = kinds.get(kind, 0) + int(line.split()[1])
    return kinds


def main():
    queues = [{"name": f"soak-{i}", "vhost": "/", "messages": i, "messages_ready": i,
               "messages_unacknowledged": 0} for i in range(soak.QUEUES)]
    with FaultServer("good", items=queues) as fs:
        d = Daemon("--collectors", "cgroup_cpu,rabbitmq", "--rabbitmq-url", fs.url, "--rabbitmq-interval",
                   "1s", "--rabbitmq-timeout", "900ms", env={"HOSTMON_RABBITMQ_PASSWORD": "guest"})
        try:
            time.sleep(3)
            stop = threading.Event()
            counts = {"churned": 0, "refused": 0, "scrapes": 0, "bad_scrapes": 0, "idled": 0}
            threads = [threading.Thread(target=soak.churn, args=(d, stop, counts)),
                       threading.Thread(target=soak.idlers, args=(d, stop, counts))]
            threads += [threading.Thread(target=soak.scraper, args=(d, stop, counts, i % 2 == 0))
                        for i in range(4)]
            for th in threads:
                th.daemon = True
                th.start()
            t0 = time.monotonic()
            while time.monotonic() - t0 < SECONDS:
                kinds = rss_by_kind(d.proc.pid)
                print(f"{time.monotonic() - t0:5.0f} s  VmRSS {soak.rss_kib(d.proc.pid):6d} kB  "
                      + "  ".join(f"{k} {v}" for k, v in sorted(kinds.items())), flush=True)
                time.sleep(10)
            if os.environ.get("GDB_MALLOC_INFO"):
                subprocess.run(["gdb", "-p", str(d.proc.pid), "-batch",
                                "-ex", "call (int)malloc_info(0, (void*)stderr)",
                                "-ex", "call (int)fflush((void*)stderr)"], capture_output=True)
                log = d.logs()
                print(log[log.find("<malloc"):])
            stop.set()
            for th in threads:
                th.join(30)
            print(counts)
        finally:
            d.stop()
            d.close()


if __name__ == "__main__":
    main()
