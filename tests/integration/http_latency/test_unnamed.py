"""Histograms of cgroups that cannot be named share one label set, and the page still holds each
label set once.

Two node servers, each in a cgroup of its own that is removed before hostmon ever names it (no
scrape while they run, and a cgroup rescan after the removal): both cgroups' requests are
exported with cgroup="" and the other cgroup labels empty. They must come out as one series per
runtime, method, status and route, holding the requests of both, not as two series with the same
labels (which Prometheus drops as duplicates).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape
from hostmon_test import main, promtool_check, running_daemon
from node_env import NodeServer

FAMILY = "hostmon_http_server_request_duration_seconds_count"
PER_SERVER = 5


def unnamed_counts(text):
    """The _count lines of the node /fast route whose cgroup label is empty."""
    return [line for line in text.splitlines() if line.startswith(FAMILY + '{cgroup="",')
            and 'runtime="node"' in line and 'route="/fast"' in line and 'status_code="200"' in line]


def run(t):
    env = Env("hostmon-unnamed", cgroup2_mount())
    try:
        env.mkdir("")
        with running_daemon(t, "--collectors", "http_latency", "--cgroup-refresh-interval", "1s",
                            "--http-include-cgroup", f"^{env.base}(/|$)") as d:
            for name in ("a", "b"):
                cg = env.mkdir(name)
                with NodeServer(cgroup=env.path(cg)) as srv:
                    for _ in range(PER_SERVER):
                        status, _ = srv.fresh("GET", "/fast")
                        t.check(status == 200, f"{name}: GET /fast {status}")
                t.check(Env.rmdir(env.path(cg)), f"removed {cg}")
            time.sleep(2.5)  # more than the refresh interval: the tree knows neither cgroup now
            text = scrape(d)
            lines = unnamed_counts(text)
            info(f"series with cgroup=\"\": {lines}")
            t.check(len(lines) == 1, f"one series for the unnamed cgroups, not one each: {lines}")
            total = sum(float(line.rsplit(" ", 1)[1]) for line in lines)
            t.check(total == 2 * PER_SERVER, f"it holds both servers' requests: {total} of {2 * PER_SERVER}")
            ok, why = promtool_check(text.encode())
            t.check(ok, f"promtool: {why}")
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")


if __name__ == "__main__":
    main(run, "http_latency/test_unnamed")
