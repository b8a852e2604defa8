"""Cost of the cgroup_saturation collector: its scrape-time file reads per cgroup, and its OOM
hooks beside an empty program on the same hook, in the same run.

    /usr/bin/python3 bench/cgroup_saturation.py [BUILD_DIR] [CGROUPS]

Scrape: CGROUPS test cgroups (500 by default) at one path in cgroup2 and in the v1 memory and
blkio hierarchies this host has, each with a sleeping process; hostmon --collectors
cgroup_saturation is scraped 21 times and hostmon_collector_duration_seconds{collector=
"cgroup_saturation"} read each time; the median, and per exported cgroup, are printed, beside the
same daemon's duration with only the machine's own cgroups (the test cgroups excluded by
--cpu-exclude) in alternating scrapes of two daemons.

OOM hooks: mark_victim runs only when the OOM killer kills (nothing to measure per ordinary
event); the exit fallback runs at every thread exit: build/bench/oom_exit_bench 5000 attaches it
and an empty sched_process_exit program together and prints both per-run costs.
"""
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from cgroup_test import cgroup2_mount, scrape  # noqa: E402
import hostmon_test  # noqa: E402
from hostmon_test import Daemon, parse_samples  # noqa: E402
from saturation_env import Cgroups, v1_mounts  # noqa: E402

DURATION = 'hostmon_collector_duration_seconds{collector="cgroup_saturation"}'
SERIES = "hostmon_cgroup_memory_usage_bytes{"


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    hostmon_test.BIN = os.environ.get("HOSTMON_BIN") or os.path.join(ROOT, build, "hostmon")
    cgs = Cgroups("hostmon-bench-sat", cgroup2_mount(), v1_mounts())
    daemons = []
    try:
        cgs.mkdir("")
        for i in range(n):
            cg = cgs.mkdir(f"c{i}")
            if i % 10 == 0:
                cgs.spawn(cg, "import time; time.sleep(600)")
        with_test = Daemon("--collectors", "cgroup_saturation")
        without = Daemon("--collectors", "cgroup_saturation", "--cpu-exclude", "^/hostmon-bench-sat-")
        daemons = [with_test, without]
        dur = {id(with_test): [], id(without): []}
        exported = {}
        for _ in range(21):
            for d in daemons:
                s = parse_samples(scrape(d))
                exported[id(d)] = sum(1 for k in s if k.startswith(SERIES))
                s = parse_samples(scrape(d))  # the duration of the scrape before this one
                dur[id(d)].append(s[DURATION])
        a, b = statistics.median(dur[id(with_test)]), statistics.median(dur[id(without)])
        na, nb = exported[id(with_test)], exported[id(without)]
        print(f"collect, median of 21 scrapes: {a * 1e3:.2f} ms with {na} cgroups exported, "
              f"{b * 1e3:.2f} ms with {nb}; per cgroup {(a - b) / max(na - nb, 1) * 1e6:.1f} us")
    finally:
        for d in daemons:
            d.stop()
            d.close()
        left = cgs.cleanup()
        if left:
            print(f"left behind: {left}")
    out = subprocess.run([os.path.join(ROOT, build, "bench", "oom_exit_bench"), "5000"], capture_output=True,
                         text=True, check=True).stdout
    print("exit fallback beside an empty sched_process_exit program, 5000 fork+exit:")
    print("  " + out.strip().replace("\n", "\n  "))


if __name__ == "__main__":
    main()
