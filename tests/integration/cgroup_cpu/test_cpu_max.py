"""The cgroup_cpu collector's cgroup2 cpu.max path, on real cgroups (hostmon --collectors cgroup_cpu).

The cgroup2 mount is found from /proc/self/mountinfo. The cpu controller is turned on in its root's
cgroup.subtree_control where the host allows it (and off again afterwards if this test turned it
on); a host whose cgroup2 cannot have it (a controller bound to a v1 hierarchy is not available in
cgroup2 at the same time, in any mount namespace) skips, with the kernel's answer as the reason.

Where it runs: a test cgroup with +cpu in its subtree_control, a child "limited" with cpu.max
"25000 100000" and a busy process, and an unlimited sibling with a light one
(cpu_limits.limit_and_throttling). Checked: hostmon_cgroup_cpu_limit_cores == 0.25;
hostmon_cgroup_cpu_throttled_seconds_total > 0 and equal to cpu.stat throttled_usec read right
before and right after the scrape (bracketed, within 2% of their mean); the limited cgroup uses
about 0.25 cores (+-25%); the sibling and the parent have no limit/throttled series; cpu.max
"50000 100000" is picked up as 0.5 and "max" takes the series away (periodic rescan, 500 ms); the
throttled counter never goes down; promtool accepts the page; the daemon exits 0.

Everything created here is removed in finally blocks: our processes by pid, cgroups deepest first.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, info, mounts
from cpu_limits import V2Cpu, V2Limits, limit_and_throttling
from hostmon_test import main

PERIOD_US = 100000
QUOTA_US = 25000
CHANGED_QUOTA_US = 50000


def run(t):
    if os.geteuid() != 0:
        t.check(False, "test_cpu_max needs root (cgroups and BPF)")
        return
    v2, v1 = mounts()
    if not t.check(v2, "a cgroup2 mount in /proc/self/mountinfo"):
        return
    info(f"cgroup2 at {v2}, v1 cpu hierarchy at {v1}")
    v2cpu = V2Cpu(v2)
    why = v2cpu.enable()
    if why:
        t.skip(f"cgroup2 cpu.max: {why}")
        return
    env = Env("hostmon-cpumax", v2)
    start = time.monotonic()
    try:
        limit_and_throttling(t, env, V2Limits(env), QUOTA_US, PERIOD_US, CHANGED_QUOTA_US,
                             daemon_args=("--collectors", "cgroup_cpu"))
    finally:
        left = env.cleanup()
        t.check(not left, f"removed every cgroup this test created: left {left}")
        t.check(not os.path.exists(env.path(env.base)), f"{env.path(env.base)} is gone")
        if v2cpu.enabled_here:
            why = v2cpu.restore()
            t.check(why is None, f"the cgroup2 cpu controller is turned off again: {why}")
        info(f"took {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main(run, "cgroup_cpu/test_cpu_max")
