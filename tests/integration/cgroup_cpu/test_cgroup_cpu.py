"""The cgroup_cpu collector against the kernel's own numbers.

Acceptance tests of per-cgroup CPU accounting, on fresh cgroup2 groups this test creates under the
cgroup2 mount (found from /proc/self/mountinfo):
  1. accuracy: hostmon_cgroup_cpu_seconds_total deltas agree with cpu.stat usage_usec deltas (1%)
     for a busy loop, a ~50% duty cycle, their parent (sum of descendants) and a lone busy process;
  2. run-queue wait: hostmon_cgroup_cpu_runqueue_wait_seconds_total agrees with the tasks' own
     /proc/PID/task/TID/schedstat run_delay (5%) for three busy processes sharing two CPUs;
  3. a child removed mid-run: the parent's counter does not go down, the child's series goes away;
  4. churn: 1,000 short-lived cgroups are discovered, then forgotten, and leave no kernel map entry;
  5. promtool accepts the page and every cgroup path starts with '/';
  6. everything started or created here is cleaned up, even on failure; the daemon exits 0.

Kernel values are read right before and right after each scrape and averaged, so both sides are
sampled at (nearly) the same instant. Nothing here depends on how fast the machine is: the burners
get whatever CPU the (noisy, 2-vCPU) VM gives them, and only agreement with the kernel is checked.
"""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import (CPU, WAIT, Env, cgroup2_mount, info, scalar, scrape, series, stat_value,
                         stop_daemon, wait_until)
from hostmon_test import Daemon, daemon_map_ids, main, map_dump, promtool_check

REFRESH = "500ms"
REFRESH_S = 0.5
CHURN = 1000
ACCURACY = 0.01
RUNQ_ACCURACY = 0.05
ACCURACY_WINDOW_S = 5.0  # a 10 ms charging lag stays well under 1% of what the ~50% burner gets


def usage_ns(cgdir):
    return stat_value(os.path.join(cgdir, "cpu.stat"), "usage_usec") * 1000


def run_delay_ns(pids):
    """Sum of the run-queue wait (2nd field of schedstat) of every thread of pids."""
    total = 0
    for pid in pids:
        for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
            try:
                with open(path) as f:
                    total += int(f.read().split()[1])
            except (FileNotFoundError, ProcessLookupError):
                pass
    return total


def scrape_with(d, kernel_fn):
    """Scrapes between two reads of the kernel's numbers; returns (page, average of the reads)."""
    t0 = time.monotonic()
    before = kernel_fn()
    text = scrape(d)
    after = kernel_fn()
    info(f"scrape between kernel reads took {(time.monotonic() - t0) * 1000:.1f} ms")
    if isinstance(before, dict):
        return text, {k: (before[k] + after[k]) / 2 for k in before}
    return text, (before + after) / 2


def live_cgroups(mnt):
    """How many cgroup directories exist (the root included), as hostmon's walk would count them."""
    n = 0
    for _, dirnames, _ in os.walk(mnt):
        n += 1
        dirnames[:] = [x for x in dirnames if not x.startswith(".")]
    return n


def map_keys(map_id):
    keys = set()
    for e in map_dump(map_id):
        if "formatted" in e:
            keys.add(int(e["formatted"]["key"]))
        else:
            keys.add(int.from_bytes(bytes(int(b, 16) for b in e["key"]), "little"))
    return keys


def rel_err(h, k):
    return abs(h - k) / k if k > 0 else float("inf")


def page_checks(t, text, what):
    ok, out = promtool_check(text.encode())
    t.check(ok, f"promtool check metrics ({what}): {out}")
    paths = [p for fam in (CPU, WAIT) for p in series(text, fam)]
    bad = [p for p in paths if p is None or not p.startswith("/")]
    t.check(paths and not bad, f"every cgroup path starts with '/' ({what}): {bad[:5]}")


def accuracy_and_removal(t, d, env, cg):
    """Checks 1, 3 and 5: the busy/duty/lone groups against cpu.stat, then a child removed mid-run."""
    procs = {
        "busy": env.spawn(cg["busy"], "busy"),
        "duty": env.spawn(cg["duty"], "duty"),
        "lone": env.spawn(cg["lone"], "busy"),
    }
    for name, p in procs.items():
        with open(f"/proc/{p.pid}/cgroup") as f:
            member = f.read()
        t.check(f"0::{cg[name]}\n" in member, f"{name} burner runs in its cgroup: {member!r}")

    names = ["parent", "busy", "duty", "lone"]

    def kernel():
        return {n: usage_ns(env.path(cg[n])) / 1e9 for n in names}

    time.sleep(1.0)
    # a warm-up scrape discovers the cgroups (a rescan) and, under valgrind, translates the
    # code, so the measured scrapes are short and their kernel readings bracket them tightly
    scrape_with(d, kernel)
    text0, k0 = scrape_with(d, kernel)
    time.sleep(ACCURACY_WINDOW_S)
    text1, k1 = scrape_with(d, kernel)
    h0, h1 = series(text0, CPU), series(text1, CPU)
    for n in names:
        path = cg[n]
        if not t.check(path in h0 and path in h1, f"{path} exported in both scrapes"):
            continue
        dh, dk = h1[path] - h0[path], k1[n] - k0[n]
        err = rel_err(dh, dk)
        info(f"accuracy {n:6s}: hostmon {dh:.6f} s, cpu.stat {dk:.6f} s, error {err * 100:.3f}%")
        t.check(dk > 0.05, f"{n}: the burner got CPU ({dk:.3f} s); the comparison needs some")
        t.check(err <= ACCURACY, f"{n}: hostmon delta {dh:.6f} s vs cpu.stat delta {dk:.6f} s: "
                                 f"error {err * 100:.2f}% > {ACCURACY * 100:.0f}%")
    # the parent includes its descendants (and nothing else: it has no tasks of its own)
    pb, pd, pp = (h1.get(cg[n], 0) - h0.get(cg[n], 0) for n in ("busy", "duty", "parent"))
    t.check(abs(pp - (pb + pd)) <= 1e-6 * max(pp, 1), f"parent delta {pp:.9f} = busy + duty {pb + pd:.9f}")
    page_checks(t, text1, "accuracy page")

    # 3. a child removed mid-run: parent keeps counting, never goes down; the child's series goes
    duty_path, parent_path = cg["duty"], cg["parent"]
    duty_id = os.stat(env.path(cg["duty"])).st_ino
    map_ids = daemon_map_ids(d.proc.pid, "cgroup_cpu")
    t.check(len(map_ids) == 1 and duty_id in map_keys(map_ids[0]), f"the duty cgroup has a map entry ({map_ids})")
    env.kill(procs["duty"])
    t.check(env.rmdir(env.path(cg["duty"])), "rmdir the duty cgroup after its process died")
    time.sleep(2 * REFRESH_S + 0.2)  # at least one periodic rescan
    # forgotten by the periodic rescan alone (no scrape in between): its kernel entry is gone
    t.check(map_ids and duty_id not in map_keys(map_ids[0]), "the removed child's map entry was dropped")

    def kernel_parent():
        return usage_ns(env.path(cg["parent"])) / 1e9

    text2, kp2 = scrape_with(d, kernel_parent)
    h2 = series(text2, CPU)
    t.check(duty_path not in h2, f"the removed child's series is gone: {duty_path}")
    t.check(duty_path not in series(text2, WAIT), "the removed child's wait series is gone")
    t.check(parent_path in h1 and parent_path in h2 and h2[parent_path] >= h1[parent_path],
            f"parent did not go down after the child's removal: {h1.get(parent_path)} -> {h2.get(parent_path)}")
    t.check(cg["busy"] in h2, "the surviving sibling is still exported")
    # the kernel folds a removed child's usage into its parent; so does hostmon
    if parent_path in h2 and parent_path in h0:
        dh, dk = h2[parent_path] - h0[parent_path], kp2 - k0["parent"]
        err = rel_err(dh, dk)
        info(f"parent across the removal: hostmon {dh:.6f} s, cpu.stat {dk:.6f} s, error {err * 100:.3f}%")
        t.check(err <= ACCURACY, f"parent across the child's removal: hostmon {dh:.6f} s vs cpu.stat "
                                 f"{dk:.6f} s: error {err * 100:.2f}%")
    # a few more rescans later it still holds
    time.sleep(2 * REFRESH_S)
    h3 = series(scrape(d), CPU)
    t.check(parent_path in h2 and parent_path in h3 and h3[parent_path] >= h2[parent_path],
            f"parent exported and monotonic after more rescans: {h2.get(parent_path)} -> {h3.get(parent_path)}")
    for p in procs.values():
        env.kill(p)


def runqueue_wait(t, d, env):
    """Check 2: three busy processes share 2 CPUs; their waits vs /proc/PID/task/TID/schedstat."""
    path = env.mkdir("runq")
    ncpu = os.cpu_count() or 2
    procs = [env.spawn(path, "busy") for _ in range(max(3, ncpu + 1))]
    pids = [p.pid for p in procs]
    # a cgroup created after start is discovered by a rescan; wait until its series shows
    found = wait_until(lambda: path in series(scrape(d), WAIT), 5.0, 0.25)
    t.check(found, f"{path} discovered after it was created")
    time.sleep(1.0)
    text0, k0 = scrape_with(d, lambda: run_delay_ns(pids) / 1e9)
    time.sleep(3.0)
    text1, k1 = scrape_with(d, lambda: run_delay_ns(pids) / 1e9)
    w0, w1 = series(text0, WAIT), series(text1, WAIT)
    if t.check(path in w0 and path in w1, f"{path} wait series in both scrapes"):
        dh, dk = w1[path] - w0[path], k1 - k0
        err = rel_err(dh, dk)
        info(f"runqueue wait ({len(pids)} busy on {ncpu} CPUs): hostmon {dh:.6f} s, schedstat {dk:.6f} s, "
             f"error {err * 100:.3f}%")
        t.check(dk > 0.05, f"the busy processes waited ({dk:.3f} s); the comparison needs some")
        t.check(err <= RUNQ_ACCURACY, f"runqueue wait: hostmon delta {dh:.6f} s vs schedstat delta {dk:.6f} s: "
                                      f"error {err * 100:.2f}% > {RUNQ_ACCURACY * 100:.0f}%")
    for p in procs:
        env.kill(p)


def churn(t, d, env):
    """Check 4: 1,000 cgroups that each used a little CPU, discovered, then removed and forgotten."""
    ppath = env.mkdir("churn")
    parent = env.path(ppath)
    map_ids = daemon_map_ids(d.proc.pid, "cgroup_cpu")
    if not t.check(len(map_ids) == 1, f"the daemon holds one map named cgroup_cpu: {map_ids}"):
        return
    map_id = map_ids[0]
    time.sleep(2 * REFRESH_S + 0.1)  # the empty parent becomes known

    def counted():
        before = live_cgroups(env.v2)
        text = scrape(d)
        return text, before, live_cgroups(env.v2)

    text0, live0a, live0b = counted()
    known0 = scalar(text0, "hostmon_cgroup_cpu_cgroups")
    info(f"churn: known cgroups before {known0:.0f}, live {live0a}..{live0b}")

    children = []
    for i in range(CHURN):
        children.append(env.mkdir(f"churn/c{i:04d}"))
    ids = {os.stat(env.path(c)).st_ino: c for c in children}
    ok = sum(env.run_short(c, 0.001) for c in children)
    t.check(ok == CHURN, f"short processes ran in all {CHURN} cgroups ({ok})")

    # discovered: by the scrape-time rescan of unknown ids (1/s) or the periodic rescan
    def discovered():
        text = scrape(d)
        got = series(text, CPU)
        return text if all(p in got for p in ids.values()) else None

    text1 = wait_until(discovered, 5.0, 0.3) or scrape(d)
    h1 = series(text1, CPU)
    missing = [p for p in ids.values() if p not in h1]
    t.check(not missing, f"all {CHURN} churn cgroups exported after they ran: {len(missing)} missing, e.g. {missing[:3]}")
    known1 = scalar(text1, "hostmon_cgroup_cpu_cgroups")
    live1 = live_cgroups(env.v2)
    slack1 = 5 + abs(live1 - CHURN - live0b)  # what the machine's other cgroups did meanwhile
    t.check(known1 >= known0 + CHURN - slack1,
            f"known cgroups grew by ~{CHURN}: {known0:.0f} -> {known1:.0f} (live {live0b} -> {live1})")
    keys1 = map_keys(map_id)
    in_map = len(keys1 & ids.keys())
    t.check(in_map == CHURN, f"each churn cgroup has a kernel map entry: {in_map} of {CHURN}")
    child_sum = sum(h1.get(p, 0) for p in ids.values())
    t.check(ppath in h1 and abs(h1[ppath] - child_sum) <= 1e-6 * max(child_sum, 1),
            f"churn parent {h1.get(ppath)} = sum of its children {child_sum}")
    info(f"churn: {in_map} entries of ours in the map ({len(keys1)} in all), known {known1:.0f}, "
         f"parent {h1.get(ppath, 0):.6f} s (cpu.stat {usage_ns(parent) / 1e9:.6f} s)")
    page_checks(t, text1, f"page with {CHURN} churn cgroups")

    # remove them all: the periodic rescans (no scrape needed) forget them and drop their map entries
    dirs = [env.path(c) for c in children]
    removed = sum(env.rmdir(c) for c in dirs)
    t.check(removed == CHURN, f"rmdir'd {removed} of {CHURN} churn cgroups")
    for c in dirs:
        if not os.path.exists(c):
            env.dirs.remove(c)
    t_rm = time.monotonic()
    dead = wait_until(lambda: not (map_keys(map_id) & ids.keys()), 10 * REFRESH_S, 0.25)
    info(f"churn: map free of the removed cgroups after {time.monotonic() - t_rm:.2f} s without a scrape: {dead}")
    keys2 = map_keys(map_id)
    dead = keys2 & ids.keys()
    t.check(not dead, f"periodic rescans dropped the map entries of the removed churn cgroups: "
                      f"{len(dead)} of {CHURN} left after {10 * REFRESH_S:.1f} s")

    text2, live2a, live2b = counted()
    known2 = scalar(text2, "hostmon_cgroup_cpu_cgroups")
    info(f"churn: known cgroups after removal {known2:.0f} (before {known0:.0f}), live {live2a}..{live2b}")
    # the machine's other cgroups may have changed meanwhile: allow for what the walk saw change
    slack = 5 + abs(live2a - live0a) + abs(live2b - live0b)
    t.check(abs(known2 - known0) <= slack,
            f"known cgroups back to the earlier level: {known0:.0f} -> {known2:.0f} (slack {slack})")
    t.check(len(keys2) <= known2, f"map entries {len(keys2)} <= known cgroups {known2:.0f}")
    h2 = series(text2, CPU)
    t.check(not any(p in h2 for p in ids.values()), "the removed churn cgroups' series are gone")
    t.check(ppath in h1 and ppath in h2 and h2[ppath] >= h1[ppath],
            f"churn parent monotonic across the removals: {h1.get(ppath)} -> {h2.get(ppath)}")
    root0, root2 = series(text0, CPU).get("/"), h2.get("/")
    t.check(root0 is not None and root2 is not None and root2 >= root0, f"root monotonic: {root0} -> {root2}")
    # they were known before they went, so none of them counts as created-and-removed between scans
    orph0 = scalar(text0, "hostmon_cgroup_cpu_orphaned_total")
    orph2 = scalar(text2, "hostmon_cgroup_cpu_orphaned_total")
    t.check(orph2 - orph0 < CHURN / 10, f"known churn cgroups were not counted as orphans: orphaned {orph0:.0f} -> {orph2:.0f}")
    info(f"churn: parent after removal {h2.get(ppath, 0):.6f} s (cpu.stat {usage_ns(parent) / 1e9:.6f} s), "
         f"orphaned_total {orph0:.0f} -> {orph2:.0f}, "
         f"map_full_total {scalar(text2, 'hostmon_cgroup_cpu_map_full_total'):.0f}")
    t.check(scalar(text2, "hostmon_cgroup_cpu_map_full_total") == 0, "no charge dropped for a full map")
    page_checks(t, text2, "page after the churn")


def run(t):
    if os.geteuid() != 0:
        t.check(False, "test_cpu needs root (cgroups and BPF)")
        return
    env = Env("hostmon-test", cgroup2_mount())
    d = None
    try:
        env.mkdir(None)
        cg = {"parent": env.mkdir("parent"), "lone": env.mkdir("lone")}
        cg["busy"] = env.mkdir("parent/busy")
        cg["duty"] = env.mkdir("parent/duty")
        d = Daemon("--cgroup-refresh-interval", REFRESH)
        t.check("msg=\"collector attached\" collector=cgroup_cpu" in d.logs(), "cgroup_cpu collector attached")
        accuracy_and_removal(t, d, env, cg)
        runqueue_wait(t, d, env)
        churn(t, d, env)
        t.check(d.alive(), "daemon alive")
    finally:
        left = env.cleanup()
        t.check(not left, f"removed every cgroup this test created: left {left}")
        t.check(not os.path.exists(env.path(env.base)), f"{env.path(env.base)} is gone")
        if d is not None:
            stop_daemon(t, d)


if __name__ == "__main__":
    main(run, "cgroup_cpu/test_cgroup_cpu")
