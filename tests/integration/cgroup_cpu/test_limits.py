"""CPU limits, throttling and the cardinality flags of the cpu collector, on real cgroups.

On this hybrid host cgroup2 has no cpu controller: limits live in the cgroup v1 cpu hierarchy at the
same relative path (both mounts are found from /proc/self/mountinfo).

  (a) a limit for real: a test cgroup in cgroup2 and at the same path in the v1 cpu hierarchy, with
      cfs_period_us=100000 and cfs_quota_us=20000 (0.2 cores). A busy process puts itself into both
      before it burns. Checked: hostmon_cgroup_cpu_limit_cores == 0.2; throttled_seconds_total > 0
      and equal to v1 cpu.stat throttled_time read right before and right after the scrape (it is
      bracketed by the two reads, and within 2% of their mean); the cgroup's CPU use
      (hostmon_cgroup_cpu_seconds_total delta) is about 0.2 core-seconds per second (+-25%: a check
      that the limit bites, not a timing threshold on hostmon); an unlimited sibling and the parent
      have no limit/throttled series; a changed limit and a removed limit are picked up by the
      periodic rescan (--cgroup-refresh-interval 500ms).
  (b) cardinality: a small tree of cgroups (4 levels, 3 leaves with a short CPU-using process each,
      one idle cgroup) and one daemon per filter: unfiltered, --cpu-max-depth, --cpu-include,
      --cpu-exclude, --cpu-max-series (with an include that confines it to the test's tree, so the
      machine's other cgroups cannot change the expected set; and alone with a cap of 1). Exactly
      which paths are exported is checked, and hostmon_cgroup_cpu_series_dropped counts what the cap
      left out; promtool accepts every page.

Everything created here is removed in finally blocks: our processes by pid, cgroups deepest first
in both hierarchies.
"""
import os
import sys
import re
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import (CPU, WAIT, Env, info, mounts, scalar, scrape, series, stat_value, stop_daemon,
                         wait_until)
from hostmon_test import Daemon, main, promtool_check

REFRESH = "500ms"
LIMIT = "hostmon_cgroup_cpu_limit_cores"
THROTTLED = "hostmon_cgroup_cpu_throttled_seconds_total"
DROPPED = "hostmon_cgroup_cpu_series_dropped"

PERIOD_US = 100000
QUOTA_US = 20000
LIMIT_CORES = QUOTA_US / PERIOD_US
THROTTLE_ACCURACY = 0.02
RATE_TOLERANCE = 0.25


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def member_of(pid, v2rel, v1rel):
    """Whether /proc/PID/cgroup shows the cgroup2 path and the v1 cpu hierarchy's path."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = f.read().splitlines()
    in_v2 = f"0::{v2rel}" in lines
    in_v1 = any(len(p) == 3 and "cpu" in p[1].split(",") and p[2] == v1rel
                for p in (line.split(":", 2) for line in lines))
    return in_v2 and in_v1, lines


def limit_and_throttling(t, env):
    """(a): a 0.2-core v1 limit on a busy process, against the kernel's own throttled_time."""
    base = env.mkdir(None, v1=True)
    lim = env.mkdir("limited", v1=True)
    free = env.mkdir("free", v1=True)
    v1lim = env.path(lim, v1=True)
    write(v1lim + "/cpu.cfs_period_us", PERIOD_US)
    write(v1lim + "/cpu.cfs_quota_us", QUOTA_US)
    with open(env.path(free, v1=True) + "/cpu.cfs_quota_us") as f:
        t.check(f.read().strip() == "-1", "the free cgroup has no v1 quota")

    d = Daemon("--cgroup-refresh-interval", REFRESH)
    try:
        busy = env.spawn(lim, "busy", v1=True)
        light = env.spawn(free, "light", v1=True)
        for name, p, path in (("busy", busy, lim), ("light", light, free)):
            wait_until(lambda: member_of(p.pid, path, path)[0], 2.0, 0.02)
            ok, lines = member_of(p.pid, path, path)
            t.check(ok, f"{name} burner is in {path} in cgroup2 and in the v1 cpu hierarchy: {lines}")

        time.sleep(1.0)
        w0 = time.monotonic()
        u0 = stat_value(env.path(lim) + "/cpu.stat", "usage_usec")
        text0 = scrape(d)
        w0 = (w0 + time.monotonic()) / 2
        time.sleep(2.5)
        stat = v1lim + "/cpu.stat"
        before = stat_value(stat, "throttled_time")
        w1 = time.monotonic()
        text1 = scrape(d)
        w1 = (w1 + time.monotonic()) / 2
        after = stat_value(stat, "throttled_time")
        u1 = stat_value(env.path(lim) + "/cpu.stat", "usage_usec")
        nr_throttled = stat_value(stat, "nr_throttled")

        lim1, thr1 = series(text1, LIMIT), series(text1, THROTTLED)
        t.check(lim1.get(lim) is not None and abs(lim1[lim] - LIMIT_CORES) < 1e-9,
                f"{LIMIT} for {lim} is {lim1.get(lim)}, want {LIMIT_CORES}")
        h = thr1.get(lim)
        mean = (before + after) / 2 / 1e9
        info(f"throttled: hostmon {h} s, v1 throttled_time {before / 1e9:.6f}..{after / 1e9:.6f} s, "
             f"nr_throttled {nr_throttled}")
        if t.check(h is not None, f"{THROTTLED} exported for {lim}"):
            t.check(h > 0, f"throttled time > 0: {h}")
            t.check(before / 1e9 - 1e-9 <= h <= after / 1e9 + 1e-9,
                    f"throttled {h} s lies between the kernel's reads {before / 1e9} .. {after / 1e9} s")
            err = abs(h - mean) / mean if mean > 0 else float("inf")
            t.check(err <= THROTTLE_ACCURACY,
                    f"throttled {h:.6f} s vs v1 throttled_time {mean:.6f} s: error {err * 100:.2f}%")

        c0, c1 = series(text0, CPU), series(text1, CPU)
        if t.check(lim in c0 and lim in c1, f"{lim} CPU series in both scrapes"):
            rate = (c1[lim] - c0[lim]) / (w1 - w0)
            kernel_rate = (u1 - u0) / 1e6 / (w1 - w0)
            info(f"limited cgroup used {rate:.3f} cores by hostmon ({kernel_rate:.3f} by cpu.stat "
                 f"usage_usec) over {w1 - w0:.2f} s; limit {LIMIT_CORES}")
            t.check(abs(rate - LIMIT_CORES) <= RATE_TOLERANCE * LIMIT_CORES,
                    f"limited cgroup used {rate:.3f} cores/s, want {LIMIT_CORES} +-{RATE_TOLERANCE * 100:.0f}%")

        for path in (free, base):
            t.check(path in c1, f"{path} used CPU and is exported")
            t.check(path not in lim1 and path not in thr1,
                    f"{path} has no limit: no limit/throttled series ({lim1.get(path)}, {thr1.get(path)})")
        ours = {p for p in lim1 if p and p.startswith(base)}
        t.check(ours == {lim}, f"only {lim} of ours has a limit series: {sorted(ours)}")
        t.check(set(thr1) <= set(lim1), "every throttled series has a limit series")
        ok, out = promtool_check(text1.encode())
        t.check(ok, f"promtool check metrics (limits page): {out}")

        # a changed limit is picked up by the periodic rescan; a removed one takes its series away
        write(v1lim + "/cpu.cfs_quota_us", 50000)
        t_set = time.monotonic()
        got = wait_until(lambda: series(scrape(d), LIMIT).get(lim) == 0.5, 3.0, 0.1)
        info(f"changed limit seen after {time.monotonic() - t_set:.2f} s")
        t.check(got, f"changed limit 0.5 exported within 3 s (refresh {REFRESH})")
        thr_before = stat_value(stat, "throttled_time") / 1e9
        thr_now = series(scrape(d), THROTTLED).get(lim, -1)
        t.check(thr_now >= h if h is not None else False,
                f"throttled counter did not go down: {h} -> {thr_now} (kernel {thr_before})")
        write(v1lim + "/cpu.cfs_quota_us", -1)
        t_set = time.monotonic()

        def unlimited():
            text = scrape(d)
            return lim not in series(text, LIMIT) and lim not in series(text, THROTTLED) and lim in series(text, CPU)

        got = wait_until(unlimited, 3.0, 0.1)
        info(f"removed limit seen after {time.monotonic() - t_set:.2f} s")
        t.check(got, "limit and throttled series gone within 3 s after the quota was set to -1")
        t.check(d.alive(), "daemon (a) alive")
    finally:
        for p in list(env.procs):
            env.kill(p)
        stop_daemon(t, d, "daemon (a)")


def depth(path):
    return 0 if path == "/" else path.count("/")


def cardinality(t, env):
    """(b): which paths each filter flag exports, and what the series cap counts as dropped.

    The tree is base/tree (depth 2), its a and b (3), a/x, a/y, b/z (4) and a/x/deep (5)."""
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
    if not t.check(v2 and v1, f"cgroup2 ({v2}) and a v1 cpu hierarchy ({v1}) are mounted"):
        return
    env = Env("hostmon-cpulim", v2, v1)
    start = time.monotonic()
    try:
        limit_and_throttling(t, env)
        cardinality(t, env)
    finally:
        left = env.cleanup()
        t.check(not left, f"removed every cgroup this test created: left {left}")
        for mnt in (v2, v1):
            t.check(not os.path.exists(mnt + env.base), f"{mnt + env.base} is gone")
        info(f"took {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main(run, "test_cpu_limits")
