"""CPU limits, throttling and the cardinality flags of the cgroup_cpu collector, on real cgroups.

Both cgroup mounts are found from /proc/self/mountinfo, and the test adapts to what the host has:

  (a) a limit for real (cpu_limits.limit_and_throttling): 0.2 cores (cfs_quota_us=20000 of
      cfs_period_us=100000) on a busy process, in the v1 cpu hierarchy where one is mounted (test
      cgroups at the same path in cgroup2 and in it, as on this hybrid host); else in cgroup2
      (cpu.max "20000 100000") where the cgroup2 cpu controller can be turned on; else (a) is
      skipped, with the reason. Checked: hostmon_cgroup_cpu_limit_cores == 0.2; throttled
      seconds > 0 and equal to the kernel's throttled time (v1 throttled_time / cgroup2
      throttled_usec) read right before and right after the scrape (bracketed by the two reads,
      within 2% of their mean); the cgroup's CPU use is about 0.2 core-seconds per second
      (+-25%); an unlimited sibling and the parent have no limit/throttled series; a changed
      limit and a removed limit are picked up by the periodic rescan (--cgroup-refresh-interval
      500ms). tests/integration/cgroup_cpu/test_cpu_max.py is the cgroup2 path on its own.
  (b) cardinality (cgroup2 only, no controller needed): a small tree of cgroups (4 levels, 3 leaves
      with a short CPU-using process each, one idle cgroup) and one daemon per filter: unfiltered,
      --cpu-max-depth, --cpu-include, --cpu-exclude, --cpu-max-series (with an include that confines
      it to the test's tree, so the machine's other cgroups cannot change the expected set; and
      alone with a cap of 1). Exactly which paths are exported is checked, and
      hostmon_cgroup_cpu_series_dropped counts what the cap left out; promtool accepts every page.

Everything created here is removed in finally blocks: our processes by pid, cgroups deepest first
in both hierarchies, and the cgroup2 cpu controller is turned off again if this test turned it on.
"""
import os
import sys
import re
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import CPU, WAIT, Env, info, mounts, scalar, scrape, series, stop_daemon, wait_until
from cpu_limits import REFRESH, V1Limits, V2Cpu, V2Limits, limit_and_throttling
from hostmon_test import Daemon, main, promtool_check

DROPPED = "hostmon_cgroup_cpu_series_dropped"

PERIOD_US = 100000
QUOTA_US = 20000
CHANGED_QUOTA_US = 50000


def depth(path):
    return 0 if path == "/" else path.count("/")


def cardinality(t, env):
    """(b): which paths each filter flag exports, and what the series cap counts as dropped.

    The tree is base/tree (depth 2), its a and b (3), a/x, a/y, b/z (4) and a/x/deep (5)."""
    if not os.path.isdir(env.path(env.base)):
        env.mkdir(None)  # (a) was skipped: it made the base
    B = env.mkdir("tree")
    tree = [B]
    for rel in ("a", "b", "a/x", "a/y", "b/z", "a/x/deep"):
        tree.append(env.mkdir(f"tree/{rel}"))
    idle = env.mkdir("tree/idle")  # never runs anything: never exported
    leaves = [f"{B}/a/y", f"{B}/b/z", f"{B}/a/x/deep"]
    allset = set(tree)
    bre = re.escape(B)
    # (name, flags, expected exported paths of ours or None, expected whole exported set or None,
    #  expected series_dropped or None)
    runs = [
        ("unfiltered", [], allset, None, 0),
        ("max-depth 3", ["--cpu-max-depth", "3"], {B, f"{B}/a", f"{B}/b"}, None, 0),
        ("include a/", ["--cpu-include", f"^{bre}/a(/|$)"], None,
         {f"{B}/a", f"{B}/a/x", f"{B}/a/y", f"{B}/a/x/deep"}, 0),
        ("exclude a/x", ["--cpu-exclude", f"^{bre}/a/x(/|$)"],
         {B, f"{B}/a", f"{B}/b", f"{B}/a/y", f"{B}/b/z"}, None, 0),
        ("max-series 3 + include", ["--cpu-include", f"^{bre}(/|$)", "--cpu-max-series", "3"], None,
         {B, f"{B}/a", f"{B}/b"}, 4),
        ("max-series 5 + include", ["--cpu-include", f"^{bre}(/|$)", "--cpu-max-series", "5"], None,
         None, 2),
        ("max-series 1", ["--cpu-max-series", "1"], None, {"/"}, None),
    ]
    daemons = []
    try:
        for name, flags, *_ in runs:
            daemons.append(Daemon("--cgroup-refresh-interval", REFRESH, *flags))
        # every daemon runs while the short processes use CPU
        ran = sum(env.run_short(leaf, 0.002) for leaf in leaves)
        t.check(ran == len(leaves), f"short processes ran in {ran} of {len(leaves)} leaves")

        for (name, flags, want_ours, want_all, want_dropped), d in zip(runs, daemons):
            def state():
                text = scrape(d)
                cpu = series(text, CPU)
                exported = set(cpu)
                ours = {p for p in exported if p and (p == B or p.startswith(B + "/"))}
                return text, exported, ours, scalar(text, DROPPED)

            def settled():
                text, exported, ours, dropped = state()
                if want_ours is not None and ours != want_ours:
                    return None
                if want_all is not None and exported != want_all:
                    return None
                if want_dropped is not None and dropped != want_dropped:
                    return None
                if name == "max-series 5 + include" and len(exported) != 5:
                    return None
                if name == "max-series 1" and (dropped or 0) < len(allset):
                    return None
                return text, exported, ours, dropped

            # the short processes' time reaches each daemon at their exit; then it is final
            got = wait_until(settled, 5.0, 0.2)
            text, exported, ours, dropped = got or state()
            info(f"{name}: ours {sorted(p[len(B):] or '.' for p in ours)}, {len(exported)} exported, "
                 f"series_dropped {dropped}")
            if want_ours is not None:
                t.check(ours == want_ours, f"{name}: exported of ours {sorted(ours)}, want {sorted(want_ours)}")
            if want_all is not None:
                t.check(exported == want_all, f"{name}: exported {sorted(exported)}, want {sorted(want_all)}")
            if want_dropped is not None:
                t.check(dropped == want_dropped, f"{name}: series_dropped {dropped}, want {want_dropped}")
            t.check(idle not in exported, f"{name}: the idle cgroup is not exported")
            t.check(set(series(text, WAIT)) == exported, f"{name}: the wait series cover the same cgroups")
            ok, out = promtool_check(text.encode())
            t.check(ok, f"{name}: promtool check metrics: {out}")

            if name in ("unfiltered", "exclude a/x", "max-depth 3"):
                t.check("/" in exported, f"{name}: the root cgroup is exported")
            if name == "max-depth 3":
                deep = sorted(p for p in exported if depth(p) > 3)
                t.check(not deep, f"max-depth 3: nothing deeper exported: {deep[:5]}")
            if name == "max-series 5 + include":
                shallow = {B, f"{B}/a", f"{B}/b"}
                level3 = {f"{B}/a/x", f"{B}/a/y", f"{B}/b/z"}
                t.check(len(exported) == 5 and shallow <= exported and exported - shallow <= level3,
                        f"max-series 5: the 3 shallow cgroups and 2 of depth 3: {sorted(exported)}")
            if name == "max-series 1":
                t.check(dropped is not None and dropped >= len(allset),
                        f"max-series 1: series_dropped {dropped} counts at least our {len(allset)}")
            t.check(d.alive(), f"{name}: daemon alive")
    finally:
        for d in daemons:
            stop_daemon(t, d)


def run(t):
    if os.geteuid() != 0:
        t.check(False, "test_cpu_limits needs root (cgroups and BPF)")
        return
    v2, v1 = mounts()
    if not t.check(v2, "a cgroup2 mount in /proc/self/mountinfo"):
        return
    info(f"cgroup2 at {v2}, v1 cpu hierarchy at {v1}")
    env = Env("hostmon-cpulim", v2, v1)
    v2cpu = V2Cpu(v2)
    start = time.monotonic()
    try:
        if v1:
            limit_and_throttling(t, env, V1Limits(env), QUOTA_US, PERIOD_US, CHANGED_QUOTA_US)
        else:
            why = v2cpu.enable()
            if why:
                t.skip(f"(a) limits and throttling: no v1 cpu hierarchy is mounted, and {why}")
            else:
                limit_and_throttling(t, env, V2Limits(env), QUOTA_US, PERIOD_US, CHANGED_QUOTA_US)
        cardinality(t, env)
    finally:
        left = env.cleanup()
        t.check(not left, f"removed every cgroup this test created: left {left}")
        for mnt in (v2, v1) if v1 else (v2,):
            t.check(not os.path.exists(mnt + env.base), f"{mnt + env.base} is gone")
        if v2cpu.enabled_here:
            why = v2cpu.restore()
            t.check(why is None, f"the cgroup2 cpu controller is turned off again: {why}")
        info(f"took {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main(run, "cgroup_cpu/test_limits")
