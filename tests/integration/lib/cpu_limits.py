"""CPU limits of test cgroups in either hierarchy, and the limit/throttling check of the cgroup_cpu collector.

V1Limits (cpu.cfs_quota_us in the v1 cpu hierarchy) and V2Limits (cgroup2 cpu.max, with V2Cpu to
turn the cgroup2 cpu controller on where the host allows) set limits and read the kernel's
throttled time the same way, so one check, limit_and_throttling(), covers both paths hostmon
reads (user/cgroup_cpu/limits.c: cpu.max first, the v1 files where cgroup2 has none).
"""
import errno
import os
import time

from cgroup_test import CPU, info, mounts, read_file, scrape, series, stat_value, stop_daemon, wait_until, write_file
from hostmon_test import Daemon, promtool_check

LIMIT = "hostmon_cgroup_cpu_limit_cores"
THROTTLED = "hostmon_cgroup_cpu_throttled_seconds_total"
REFRESH = "500ms"
THROTTLE_ACCURACY = 0.02
RATE_TOLERANCE = 0.25


class V2Cpu:
    """The cgroup2 cpu controller on the mount point v2: whether this host lets a test use it, and
    turning it on in the mount's root for the test's cgroups (and back off, if the test did it).

    The cpu controller is in cgroup2 only where no v1 hierarchy holds it (a controller is bound to
    one hierarchy at a time) and, outside the real root, where the no-internal-process rule lets
    the mount's root delegate it (cgroup.subtree_control)."""

    def __init__(self, v2):
        self.v2 = v2
        self.enabled_here = False  # this test turned it on in the root's subtree_control

    def controllers(self, cgdir=None):
        return read_file(os.path.join(cgdir or self.v2, "cgroup.controllers")).split()

    def enable(self):
        """Makes cpu available to children of the mount's root; returns None, or why it cannot."""
        ctl = os.path.join(self.v2, "cgroup.subtree_control")
        if "cpu" in read_file(ctl).split():
            return None
        # asked even when cgroup.controllers lacks cpu: the kernel's answer is the reason
        try:
            write_file(ctl, "+cpu")
        except OSError as e:
            offered = " ".join(self.controllers()) or "none"
            _, v1 = mounts()
            bound = f"; a cgroup v1 hierarchy holds it, mounted at {v1}" if v1 else ""
            return (f"the cgroup2 mount {self.v2} cannot give its children the cpu controller: writing "
                    f"+cpu to {ctl} failed ({e}); its cgroup.controllers offers: {offered}{bound}")
        self.enabled_here = True
        info(f"enabled the cpu controller in {ctl} for this test")
        return None

    def restore(self):
        """Turns cpu off in the root again if this test turned it on; returns None, or what went
        wrong. EBUSY means another cgroup delegates cpu below the root now: it is left on for it."""
        if not self.enabled_here:
            return None
        ctl = os.path.join(self.v2, "cgroup.subtree_control")
        try:
            write_file(ctl, "-cpu")
        except OSError as e:
            if e.errno == errno.EBUSY:
                info(f"left cpu enabled in {ctl}: a cgroup below delegates it now ({e})")
                return None
            return f"writing -cpu to {ctl} failed: {e}"
        self.enabled_here = False
        return None


class V1Limits:
    """CPU limits of test cgroups in the v1 cpu hierarchy: cpu.cfs_quota_us / cpu.cfs_period_us,
    throttled time from cpu.stat throttled_time (ns). Its cgroups exist in both hierarchies."""
    name = "v1 cpu.cfs_quota_us"
    in_v1 = True
    stat_key = "throttled_time"

    def __init__(self, env):
        self.env = env

    def dir(self, cg):
        return self.env.path(cg, v1=True)

    def prepare(self, cg):
        """Makes cg's children limitable (nothing to do in v1)."""

    def set(self, cg, quota_us, period_us):
        write_file(self.dir(cg) + "/cpu.cfs_period_us", period_us)
        write_file(self.dir(cg) + "/cpu.cfs_quota_us", quota_us)

    def clear(self, cg):
        write_file(self.dir(cg) + "/cpu.cfs_quota_us", -1)

    def unlimited(self, cg):
        return read_file(self.dir(cg) + "/cpu.cfs_quota_us") == "-1"

    def throttled_ns(self, cg):
        return stat_value(self.dir(cg) + "/cpu.stat", "throttled_time")

    def member(self, pid, cg):
        """Whether pid is in cg in cgroup2 and in the v1 cpu hierarchy; (bool, /proc/PID/cgroup lines)."""
        lines = read_file(f"/proc/{pid}/cgroup").splitlines()
        in_v2 = f"0::{cg}" in lines
        in_v1 = any(len(p) == 3 and "cpu" in p[1].split(",") and p[2] == cg
                    for p in (line.split(":", 2) for line in lines))
        return in_v2 and in_v1, lines


class V2Limits(V1Limits):
    """CPU limits of test cgroups in cgroup2: cpu.max "QUOTA PERIOD", throttled time from cpu.stat
    throttled_usec. The cpu controller must be on in the mount's root (V2Cpu.enable())."""
    name = "cgroup2 cpu.max"
    in_v1 = False
    stat_key = "throttled_usec"

    def dir(self, cg):
        return self.env.path(cg)

    def prepare(self, cg):
        write_file(self.dir(cg) + "/cgroup.subtree_control", "+cpu")

    def set(self, cg, quota_us, period_us):
        write_file(self.dir(cg) + "/cpu.max", f"{quota_us} {period_us}")

    def clear(self, cg):
        write_file(self.dir(cg) + "/cpu.max", "max")

    def unlimited(self, cg):
        return read_file(self.dir(cg) + "/cpu.max").split()[0] == "max"

    def throttled_ns(self, cg):
        return stat_value(self.dir(cg) + "/cpu.stat", "throttled_usec") * 1000

    def member(self, pid, cg):
        lines = read_file(f"/proc/{pid}/cgroup").splitlines()
        return f"0::{cg}" in lines, lines


def limit_and_throttling(t, env, limits, quota_us, period_us, changed_quota_us, daemon_args=()):
    """A quota_us/period_us limit on a busy process, against the kernel's own throttled time.

    Under env's base: "limited" (the limit, a busy process) and "free" (no limit, a light one).
    Checked: hostmon_cgroup_cpu_limit_cores == quota/period for limited; throttled_seconds_total
    > 0 and bracketed by the kernel's throttled time read right before and right after the scrape
    (and within 2% of their mean); the limited cgroup's CPU use (hostmon_cgroup_cpu_seconds_total
    delta) is about the limit (+-25%: the limit bites; not a timing threshold on hostmon); free and
    the base have no limit/throttled series; a changed limit and a removed one are picked up by the
    periodic rescan (--cgroup-refresh-interval 500ms), and the throttled counter never goes down.
    The caller cleans env up."""
    what = limits.name
    cores = quota_us / period_us
    changed = changed_quota_us / period_us
    base = env.mkdir(None, v1=limits.in_v1)
    limits.prepare(base)
    lim = env.mkdir("limited", v1=limits.in_v1)
    free = env.mkdir("free", v1=limits.in_v1)
    limits.set(lim, quota_us, period_us)
    t.check(limits.unlimited(free) and limits.unlimited(base), f"{what}: the free cgroup and the base have no limit")

    d = Daemon("--cgroup-refresh-interval", REFRESH, *daemon_args)
    try:
        busy = env.spawn(lim, "busy", v1=limits.in_v1)
        light = env.spawn(free, "light", v1=limits.in_v1)
        for name, p, path in (("busy", busy, lim), ("light", light, free)):
            wait_until(lambda: limits.member(p.pid, path)[0], 2.0, 0.02)
            ok, lines = limits.member(p.pid, path)
            t.check(ok, f"{what}: {name} burner is in {path}: {lines}")

        time.sleep(1.0)
        w0 = time.monotonic()
        u0 = stat_value(env.path(lim) + "/cpu.stat", "usage_usec")
        text0 = scrape(d)
        w0 = (w0 + time.monotonic()) / 2
        time.sleep(2.5)
        before = limits.throttled_ns(lim)
        w1 = time.monotonic()
        text1 = scrape(d)
        w1 = (w1 + time.monotonic()) / 2
        after = limits.throttled_ns(lim)
        u1 = stat_value(env.path(lim) + "/cpu.stat", "usage_usec")
        nr_throttled = stat_value(limits.dir(lim) + "/cpu.stat", "nr_throttled")

        lim1, thr1 = series(text1, LIMIT), series(text1, THROTTLED)
        t.check(lim1.get(lim) is not None and abs(lim1[lim] - cores) < 1e-9,
                f"{what}: {LIMIT} for {lim} is {lim1.get(lim)}, want {cores}")
        h = thr1.get(lim)
        mean = (before + after) / 2 / 1e9
        info(f"{what}: throttled: hostmon {h} s, cpu.stat {limits.stat_key} {before / 1e9:.6f}..{after / 1e9:.6f} s, "
             f"nr_throttled {nr_throttled}")
        if t.check(h is not None, f"{what}: {THROTTLED} exported for {lim}"):
            t.check(h > 0, f"{what}: throttled time > 0: {h}")
            t.check(before / 1e9 - 1e-9 <= h <= after / 1e9 + 1e-9,
                    f"{what}: throttled {h} s lies between the kernel's reads {before / 1e9} .. {after / 1e9} s")
            err = abs(h - mean) / mean if mean > 0 else float("inf")
            t.check(err <= THROTTLE_ACCURACY,
                    f"{what}: throttled {h:.6f} s vs {limits.stat_key} {mean:.6f} s: error {err * 100:.2f}%")

        c0, c1 = series(text0, CPU), series(text1, CPU)
        if t.check(lim in c0 and lim in c1, f"{what}: {lim} CPU series in both scrapes"):
            rate = (c1[lim] - c0[lim]) / (w1 - w0)
            kernel_rate = (u1 - u0) / 1e6 / (w1 - w0)
            info(f"{what}: limited cgroup used {rate:.3f} cores by hostmon ({kernel_rate:.3f} by cpu.stat "
                 f"usage_usec) over {w1 - w0:.2f} s; limit {cores}")
            t.check(abs(rate - cores) <= RATE_TOLERANCE * cores,
                    f"{what}: limited cgroup used {rate:.3f} cores/s, want {cores} +-{RATE_TOLERANCE * 100:.0f}%")

        for path in (free, base):
            t.check(path in c1, f"{what}: {path} used CPU and is exported")
            t.check(path not in lim1 and path not in thr1,
                    f"{what}: {path} has no limit: no limit/throttled series ({lim1.get(path)}, {thr1.get(path)})")
        ours = {p for p in lim1 if p and p.startswith(base)}
        t.check(ours == {lim}, f"{what}: only {lim} of ours has a limit series: {sorted(ours)}")
        t.check(set(thr1) <= set(lim1), f"{what}: every throttled series has a limit series")
        ok, out = promtool_check(text1.encode())
        t.check(ok, f"{what}: promtool check metrics (limits page): {out}")

        # a changed limit is picked up by the periodic rescan; a removed one takes its series away
        limits.set(lim, changed_quota_us, period_us)
        t_set = time.monotonic()
        got = wait_until(lambda: series(scrape(d), LIMIT).get(lim) == changed, 3.0, 0.1)
        info(f"{what}: changed limit seen after {time.monotonic() - t_set:.2f} s")
        t.check(got, f"{what}: changed limit {changed} exported within 3 s (refresh {REFRESH})")
        thr_kernel = limits.throttled_ns(lim) / 1e9
        thr_now = series(scrape(d), THROTTLED).get(lim)
        t.check(thr_now is not None and h is not None and thr_now >= h,
                f"{what}: throttled counter exported and did not go down: {h} -> {thr_now} (kernel {thr_kernel})")
        limits.clear(lim)
        t_set = time.monotonic()

        def unlimited():
            text = scrape(d)
            return lim not in series(text, LIMIT) and lim not in series(text, THROTTLED) and lim in series(text, CPU)

        got = wait_until(unlimited, 3.0, 0.1)
        info(f"{what}: removed limit seen after {time.monotonic() - t_set:.2f} s")
        t.check(got, f"{what}: limit and throttled series gone within 3 s after the limit was removed")
        t.check(d.alive(), f"{what}: daemon alive")
    finally:
        for p in list(env.procs):
            env.kill(p)
        stop_daemon(t, d, f"daemon ({what})")
