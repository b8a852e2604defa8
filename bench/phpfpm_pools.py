"""Per-request cost of PHP-FPM pool saturation: http_latency's USDT programs with the pool accounting
(this build) against the same programs without it (a BASELINE build, e.g. the commit before it),
each beside empty programs on the same probes attached at the same time (the floor).

    /usr/bin/python3 bench/phpfpm_pools.py BUILD_DIR BASELINE_BUILD_DIR [SECONDS] [ROUNDS]

A php-fpm pool (tests/integration/lib/php_env.py, pm=static, 2 workers) runs in a throw-away cgroup2
directory; 2 clients send it FastCGI requests for tests/fixtures/php/sleep.php?ms=0 back to back
for SECONDS. Each round runs the baseline's hostmon and then this build's (--collectors
http_latency, filtered to that cgroup, USDT mode), each time with BUILD_DIR/bench/hook_floor_bench
usdt BINARY attached to the same probes. The kernel's statistics (kernel.bpf_stats_enabled, on for
the run and restored after) give each program's runs and mean ns per run, read from the daemon's
own program ids (/proc/PID/fdinfo) before and after the load.
"""
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from cgroup_test import Env, cgroup2_mount  # noqa: E402
import hostmon_test  # noqa: E402
from hostmon_test import Daemon, fdinfo_ids  # noqa: E402
from php_env import FpmPool  # noqa: E402

STATS = "/proc/sys/kernel/bpf_stats_enabled"


def prog_stats(ids):
    """name -> (run_time_ns, run_cnt) of the programs with these ids."""
    out = json.loads(subprocess.check_output(["bpftool", "-j", "prog", "show"]))
    return {p.get("name", ""): (p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in out if p.get("id") in ids}


def load(pool, seconds, clients=2):
    until = time.monotonic() + seconds
    done = [0]

    def client():
        while time.monotonic() < until:
            pool.request("php/sleep.php", "ms=0")
            done[0] += 1
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return done[0]


def one(build, floor_bin, pool, env, seconds):
    """{program: ns per run} of one hostmon build and of the floor, over one load."""
    hostmon_test.BIN = os.path.join(build, "hostmon")
    d = Daemon("--collectors", "http_latency", "--http-include-cgroup", "^" + env.base + "(/|$)")
    floor = subprocess.Popen([floor_bin, "usdt", pool.binary], stdout=subprocess.PIPE, text=True)
    try:
        floor.stdout.readline()  # "attached usdt"
        deadline = time.monotonic() + 10
        while "php USDT probes attached" not in d.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # the workers' pools are read on their events
        load(pool, 0.5)  # warm: every worker served requests
        ids = fdinfo_ids(d.proc.pid, "prog_id")
        before = prog_stats(ids)
        n = load(pool, seconds)
        after = prog_stats(ids)
    finally:
        floor.terminate()
        out, _ = floor.communicate()
        d.stop()
        d.close()
    rows = {}
    for name, (t, c) in after.items():
        if name.startswith("php_request"):
            t0, c0 = before.get(name, (0, 0))
            rows[name] = (t - t0) / (c - c0) if c > c0 else 0.0
    for line in out.splitlines():  # "floor NAME runs=N ns_per_run=X": over its whole attachment
        parts = line.split()
        if len(parts) == 4 and parts[0] == "floor":
            rows[parts[1]] = float(parts[3].split("=")[1])
    return n, rows


def main():
    build, baseline = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    floor_bin = os.path.join(build, "bench", "hook_floor_bench")
    env = Env("hostmon-bench-php", cgroup2_mount())
    env.mkdir("")
    cg = env.mkdir("pool")
    old = open(STATS).read().strip()
    try:
        open(STATS, "w").write("1")
        with FpmPool(listen="unix", pm="static", max_children=2, cgroup=env.path(cg)) as pool:
            print(f"== {seconds:.0f} s of back-to-back FastCGI requests (2 clients, sleep.php?ms=0) per run, "
                  f"kernel {os.uname().release}")
            print("| round | build | requests | startup ns/run | floor | shutdown ns/run | floor |")
            print("|---|---|---|---|---|---|---|")
            for r in range(rounds):
                for label, b in (("baseline", baseline), ("pools", build)):
                    n, rows = one(b, floor_bin, pool, env, seconds)
                    st = next((v for k, v in rows.items() if k.startswith("php_request_sta")), 0.0)
                    sh = next((v for k, v in rows.items() if k.startswith("php_request_shu")), 0.0)
                    print(f"| {r + 1} | {label} | {n} | {st:.0f} | {rows.get('floor_php_startup', 0):.0f} | "
                          f"{sh:.0f} | {rows.get('floor_php_shutdown', 0):.0f} |", flush=True)
    finally:
        open(STATS, "w").write(old)
        env.cleanup()


if __name__ == "__main__":
    main()
