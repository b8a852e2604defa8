"""Per-packet cost of the http_latency collector's cgroup_skb programs beside empty programs on the same
hook, attached at the same time to the same cgroup, so both run on the very same packets.

    /usr/bin/python3 bench/http_latency_programs.py [BUILD_DIR] [SECONDS] [ECHO_BYTES]

A node server (tests/fixtures/node/server.js) runs in a throw-away cgroup2 directory; hostmon
(--collectors http_latency, filtered to that cgroup) and build/bench/hook_floor_bench (empty
cgroup_skb ingress/egress on the same cgroup) are both attached; wrk drives /fast for SECONDS with
8 keep-alive connections. The kernel's statistics (kernel.bpf_stats_enabled, on for the run and
restored after) give each program's run count and mean ns per run; the ratio to the empty program
on the same events is the cost over the hook's floor. Timings only mean something beside that floor
in the same run: the floor itself moves from day to day on this VM. With ECHO_BYTES, wrk POSTs a
body of that size to /echo instead (node sends it back), so a request is many segments each way:
the runs per request and ns per run then show what the programs cost a bulk transfer's segments.
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from cgroup_test import Env, cgroup2_mount  # noqa: E402
import hostmon_test  # noqa: E402
from hostmon_test import Daemon  # noqa: E402
from node_env import NodeServer, wrk  # noqa: E402

STATS = "/proc/sys/kernel/bpf_stats_enabled"


def program_stats(cgdir):
    """(run_time_ns, run_cnt) by name of the programs attached to cgdir: by id, so another
    hostmon on the host (its programs have the same names) is never mistaken for this one."""
    ids = {a["id"] for a in json.loads(subprocess.check_output(["bpftool", "-j", "cgroup", "show", cgdir]) or b"[]")}
    out = json.loads(subprocess.check_output(["bpftool", "-j", "prog", "show"]))
    return {p["name"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in out if p.get("id") in ids and p.get("name", "").endswith(("skb_ingress", "skb_egress"))}


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    echo = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    path, script = "/fast", None
    if echo:
        path = "/echo"
        script = (f'wrk.method = "POST"\nwrk.body = string.rep("x", {echo})\n'
                  'wrk.headers["Content-Type"] = "application/octet-stream"\n')
    # hostmon_test read HOSTMON_BIN when it was imported: name this build's binary now
    hostmon_test.BIN = os.environ.get("HOSTMON_BIN") or os.path.join(ROOT, build, "hostmon")
    env = Env("hostmon-bench-skb", cgroup2_mount())
    env.mkdir("")
    cg = env.mkdir("node")
    old = open(STATS).read().strip()
    floor = None
    try:
        open(STATS, "w").write("1")
        with NodeServer(cgroup=env.path(cg)) as srv:
            d = Daemon("--collectors", "http_latency", "--http-include-cgroup", "^" + env.base + "(/|$)")
            try:
                floor = subprocess.Popen([os.path.join(ROOT, build, "bench", "hook_floor_bench"), "cgroup",
                                          env.path(cg)], stdout=subprocess.PIPE, text=True)
                floor.stdout.readline()  # "attached ..."
                time.sleep(1.5)          # hostmon attaches on the target's event
                before = program_stats(env.path(cg))
                r = wrk(srv.url(path), seconds, 8, script=script)
                after = program_stats(env.path(cg))
            finally:
                d.stop()
                d.close()
        what = f"POST /echo of {echo} bytes" if echo else "/fast"
        print(f"== {r['requests']} requests to node {what} in {seconds} s, kernel {os.uname().release}")
        print("| program | runs | runs per request | ns per run | x the empty program on the same events |")
        print("|---|---|---|---|---|")
        rows = {}
        for name in sorted(after):
            t = after[name][0] - before.get(name, (0, 0))[0]
            n = after[name][1] - before.get(name, (0, 0))[1]
            rows[name] = t / n if n else 0.0
        for name, ns in rows.items():
            twin = "floor_skb_" + name.rsplit("_", 1)[-1]
            ratio = f"{ns / rows[twin]:.1f}" if name.startswith("http") and rows.get(twin) else ""
            runs = after[name][1] - before.get(name, (0, 0))[1]
            print(f"| {name} | {runs} | {runs / max(r['requests'], 1):.1f} | {ns:.1f} | {ratio} |")
    finally:
        if floor:
            floor.terminate()
            floor.wait()
        open(STATS, "w").write(old)
        env.cleanup()


if __name__ == "__main__":
    main()
