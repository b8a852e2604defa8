"""The cgroup_saturation collector against the kernel's own numbers, on real cgroups.

Test cgroups live at one path in cgroup2 and in the v1 memory and blkio hierarchies (this hybrid
host keeps those controllers in v1; on a cgroup2-only host they are cgroup2 alone). Checked:

  memory: a process holding 64 MiB of anonymous memory and 16 MiB of page cache, under a 512 MiB
    limit: hostmon's usage and working set lie between two reads of the kernel's files taken just
    before and just after the scrape (usage_in_bytes / memory.current; usage minus
    total_inactive_file / inactive_file), usage >= 64 MiB, limit == 512 MiB; no limit series for
    the unlimited parent.
  OOM: a process allocating 256 MiB in a cgroup limited to 32 MiB is SIGKILLed by the OOM killer;
    the kernel's own count (memory.oom_control oom_kill / memory.events oom_kill) is 1 and so is
    hostmon_cgroup_oom_kills_total for the cgroup and its parent; after the cgroup is removed and
    made again at the same path (a restarted container), the kernel's count of the new cgroup is 0
    and hostmon still says 1 for it and for the parent.
  pressure: three busy processes in a cgroup on this 2-CPU machine stall on CPU; for every test
    cgroup, resource and kind the kernel has, hostmon's stall seconds lie between two reads of the
    cgroup's *.pressure total=; cpu some > 0 for the busy cgroup, memory some > 0 for the OOM one.
  I/O: O_DIRECT writes (16 MiB) and reads (8 MiB) on a loop device made for the test (in v1, with
    a throttle rule far above the device's speed, without which newer kernels keep no v1 blkio
    statistics for the device): hostmon's
    bytes and operations equal the kernel's io.stat / blkio.throttle.*_recursive (read after the
    I/O ended, before and after the scrape), written >= 16 MiB, read >= 8 MiB.
  hostmon top --once --json: the holder's row has the working set (between the kernel reads), the
    limit, %MEM = working set / limit, OOM 0.
  The page passes promtool check metrics.
Everything made here (processes, cgroups, the loop device and its file) is removed in finally blocks.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import cgroup2_mount, info, scrape, stop_daemon, wait_until
from hostmon_test import BIN, Daemon, main, promtool_check
from saturation_env import Cgroups, LoopDevice, NoLoopDevice, blkio, keyed, labelled, psi_totals, v1_mounts, value

MiB = 1 << 20
USAGE = "hostmon_cgroup_memory_usage_bytes"
WSS = "hostmon_cgroup_memory_working_set_bytes"
LIMIT = "hostmon_cgroup_memory_limit_bytes"
OOM = "hostmon_cgroup_oom_kills_total"
PSI = "hostmon_cgroup_pressure_stall_seconds_total"
IO_BYTES = "hostmon_cgroup_io_bytes_total"
IO_OPS = "hostmon_cgroup_io_operations_total"

HOLD = r"""
import sys, time
anon = bytearray(64 << 20)
for i in range(0, len(anon), 4096):
    anon[i] = 1
with open(sys.argv[1], "wb") as f:
    f.write(b"x" * (16 << 20))
    f.flush()
print("ready", flush=True)
time.sleep(600)
"""
HOG = r"""
chunks = []
while True:
    chunks.append(bytearray(1 << 20))
    for i in range(0, 1 << 20, 4096):
        chunks[-1][i] = 1
"""
BUSY = "while True: pass"


class Kernel:
    """The kernel's own memory and I/O numbers of a test cgroup, from whichever hierarchy has them."""

    def __init__(self, v2, v1):
        self.v2, self.v1 = v2, v1

    def memory(self, cg):
        """(usage, working set, limit or None)."""
        if os.path.exists(self.v2 + cg + "/memory.current"):
            usage = int(open(self.v2 + cg + "/memory.current").read())
            inactive = keyed(self.v2 + cg + "/memory.stat")["inactive_file"]
            lim = open(self.v2 + cg + "/memory.max").read().strip()
            return usage, max(usage - inactive, 0), None if lim == "max" else int(lim)
        d = self.v1["memory"] + cg
        usage = int(open(d + "/memory.usage_in_bytes").read())
        inactive = keyed(d + "/memory.stat")["total_inactive_file"]
        lim = int(open(d + "/memory.limit_in_bytes").read())
        return usage, max(usage - inactive, 0), None if lim >= 1 << 62 else lim

    def set_limit(self, cg, nbytes):
        if "memory" in self.v1:
            with open(self.v1["memory"] + cg + "/memory.limit_in_bytes", "w") as f:
                f.write(str(nbytes))
        else:
            with open(self.v2 + cg + "/memory.max", "w") as f:
                f.write(str(nbytes))

    def oom_kills(self, cg):
        if "memory" in self.v1:
            return keyed(self.v1["memory"] + cg + "/memory.oom_control")["oom_kill"]
        return keyed(self.v2 + cg + "/memory.events")["oom_kill"]

    def io(self, cg):
        """(read bytes, write bytes, read ops, write ops)."""
        if os.path.exists(self.v2 + cg + "/io.stat"):
            t = {"rbytes": 0, "wbytes": 0, "rios": 0, "wios": 0}
            for line in open(self.v2 + cg + "/io.stat"):
                for kv in line.split()[1:]:
                    k, _, v = kv.partition("=")
                    if k in t:
                        t[k] += int(v)
            return t["rbytes"], t["wbytes"], t["rios"], t["wios"]
        d = self.v1["blkio"] + cg
        rb, wb = blkio(d + "/blkio.throttle.io_service_bytes_recursive")
        ro, wo = blkio(d + "/blkio.throttle.io_serviced_recursive")
        return rb, wb, ro, wo


def between(t, what, lo, got, hi, slack=0):
    ok = got is not None and min(lo, hi) - slack <= got <= max(lo, hi) + slack
    t.check(ok, f"{what}: hostmon {got} not between the kernel's {lo} and {hi}")


def memory_part(t, d, cgs, k):
    parent = cgs.mkdir("")
    mem = cgs.mkdir("mem")
    k.set_limit(mem, 512 * MiB)
    cache_file = f"/tmp/hostmon-sat-cache-{os.getpid()}"
    try:
        p = cgs.spawn(mem, HOLD, cache_file, stdout=subprocess.PIPE)
        t.check(p.stdout.readline().strip() == b"ready", "the memory holder started")
        wait_until(lambda: value(scrape(d), USAGE, mem) is not None, 10)
        before = k.memory(mem)
        page = scrape(d)
        after = k.memory(mem)
        usage, wss, lim = value(page, USAGE, mem), value(page, WSS, mem), value(page, LIMIT, mem)
        info(f"memory: kernel {before} / {after}, hostmon usage {usage} wss {wss} limit {lim}")
        # the holder sleeps; the kernel's own allocations for the cgroup move a few pages at most
        between(t, "memory usage", before[0], usage, after[0], slack=256 << 10)
        between(t, "working set", before[1], wss, after[1], slack=256 << 10)
        t.check(usage is not None and usage >= 64 * MiB, f"usage {usage} >= 64 MiB")
        t.check(wss is not None and wss <= usage, "working set <= usage")
        t.check(lim == 512 * MiB, f"limit {lim} == 512 MiB")
        t.check(value(page, LIMIT, parent) is None, "no limit series for the unlimited parent")
        t.check(value(page, USAGE, parent) is not None and value(page, USAGE, parent) >= usage - (256 << 10),
                "the parent's usage includes the child's")
        ok, out = promtool_check(page.encode())
        t.check(ok, f"promtool check metrics: {out}")
        top_columns(t, d, mem, k)
        p.kill()
        p.wait()
    finally:
        if os.path.exists(cache_file):
            os.unlink(cache_file)


def top_columns(t, d, mem, k):
    """hostmon top --once --json against the daemon: the memory columns of the holder's row."""
    url = f"http://{d.host}:{d.port}"
    before = k.memory(mem)
    p = subprocess.run([BIN, "top", "--url", url, "--once", "--json", "--interval", "1s"], capture_output=True,
                       text=True, timeout=60)
    after = k.memory(mem)
    t.check(p.returncode == 0, f"hostmon top --once --json ran: {p.stderr}")
    rows = [r for r in json.loads(p.stdout or "{}").get("rows", []) if r.get("cgroup") == mem]
    if not t.check(len(rows) == 1, f"top has a row for {mem}: {p.stdout[:500]}"):
        return
    r = rows[0]
    between(t, "top MEM", before[1], r.get("memory_working_set_bytes"), after[1], slack=256 << 10)
    t.check(r.get("memory_limit_bytes") == 512 * MiB, f"top memory limit {r.get('memory_limit_bytes')}")
    t.check(abs((r.get("memory_limit_percent") or 0) - 100 * r["memory_working_set_bytes"] / (512 * MiB)) < 1e-6,
            "top %MEM = working set / limit")
    t.check(r.get("oom_kills") == 0, f"top OOM 0 in the window ({r.get('oom_kills')})")


def oom_part(t, d, cgs, k):
    parent = cgs.base
    oom = cgs.mkdir("oom")
    k.set_limit(oom, 32 * MiB)
    p = cgs.spawn(oom, HOG)
    try:
        p.wait(timeout=60)
    except Exception:
        p.kill()
        p.wait()
    t.check(p.returncode == -signal.SIGKILL, f"the hog was SIGKILLed (returncode {p.returncode})")
    t.check(k.oom_kills(oom) == 1, f"the kernel counted 1 OOM kill (oom_kill {k.oom_kills(oom)})")
    got = wait_until(lambda: value(scrape(d), OOM, oom) == 1, 10)
    page = scrape(d)
    t.check(got, f"hostmon counted the OOM kill in the victim's cgroup ({value(page, OOM, oom)})")
    t.check(value(page, OOM, parent) == 1, f"and in its parent ({value(page, OOM, parent)})")
    sibling = cgs.base + "/mem"
    t.check(value(page, OOM, sibling) == 0, f"and not in a sibling ({value(page, OOM, sibling)})")
    # what pressure the OOM cgroup saw before the kill, before the cgroup goes
    t.check((psi_totals(cgs.v2 + oom + "/memory.pressure").get("some", 0)) > 0,
            "the OOM cgroup stalled on memory before the kill (kernel memory.pressure)")
    pressure_part(t, d, cgs, [oom], "memory")

    # a restarted container: the cgroup removed, made again at the same path, the kill still shown
    old = os.stat(cgs.v2 + oom).st_ino
    cgs.rmdir(oom)
    wait_until(lambda: value(scrape(d), OOM, oom) is None, 10)
    cgs.mkdir("oom")
    t.check(os.stat(cgs.v2 + oom).st_ino != old, "the new cgroup has a new id")
    t.check(k.oom_kills(oom) == 0, "the kernel's count of the new cgroup is 0")
    page = scrape(d)
    got = wait_until(lambda: value(scrape(d), OOM, oom) == 1, 10)
    page = scrape(d)
    t.check(got, f"hostmon still shows the kill for the path after the restart ({value(page, OOM, oom)})")
    t.check(value(page, OOM, parent) == 1, f"and the parent still 1 ({value(page, OOM, parent)})")


def pressure_part(t, d, cgs, cgroups, resource=None):
    """For every cgroup, resource and kind the kernel has: hostmon between two reads of its file."""
    checked = 0
    for cg in cgroups:
        for res in ("cpu", "memory", "io"):
            if resource and res != resource:
                continue
            fn = cgs.v2 + cg + f"/{res}.pressure"
            if not os.path.exists(fn):
                continue
            before = psi_totals(fn)
            page = scrape(d)
            after = psi_totals(fn)
            for kind in before:
                got = value(page, PSI, cg, resource=res, kind=kind)
                between(t, f"{cg} {res} {kind} stall", before[kind], None if got is None else round(got * 1e6),
                        after[kind])
                checked += 1
    t.check(checked > 0, "some pressure file was compared")


def cpu_pressure_part(t, d, cgs):
    busy = cgs.mkdir("busy")
    procs = [cgs.spawn(busy, BUSY) for _ in range(3)]
    time.sleep(1.5)
    fn = cgs.v2 + busy + "/cpu.pressure"
    t.check(psi_totals(fn)["some"] > 0, "three busy processes on two CPUs stall on CPU (kernel cpu.pressure)")
    pressure_part(t, d, cgs, [busy, cgs.base])
    page = scrape(d)
    got = value(page, PSI, busy, resource="cpu", kind="some")
    t.check(got is not None and got > 0, f"hostmon cpu some stall > 0 ({got})")
    for p in procs:
        p.kill()
        p.wait()


def io_part(t, d, cgs, k):
    io = cgs.mkdir("io")
    with LoopDevice() as loop:
        if "blkio" in k.v1:
            # kernels since 6.9 keep v1 blkio.throttle statistics only for devices with a throttle
            # rule (blk_throtl_activated): a rule far above what the device can do turns them on
            rdev = os.stat(loop.dev).st_rdev
            with open(k.v1["blkio"] + io + "/blkio.throttle.write_bps_device", "w") as f:
                f.write(f"{os.major(rdev)}:{os.minor(rdev)} {1 << 40}")
        w = cgs.run(io, ["dd", "if=/dev/zero", f"of={loop.dev}", "bs=1M", "count=16", "oflag=direct"])
        r = cgs.run(io, ["dd", f"if={loop.dev}", "of=/dev/null", "bs=1M", "count=8", "iflag=direct"])
        t.check(w.returncode == 0 and r.returncode == 0, f"dd ran ({w.stderr!r} {r.stderr!r})")
        got = wait_until(lambda: value(scrape(d), IO_BYTES, io, direction="write"), 10)
        before = k.io(io)
        page = scrape(d)
        after = k.io(io)
        info(f"io: kernel {before} / {after}")
        names = [(IO_BYTES, "read"), (IO_BYTES, "write"), (IO_OPS, "read"), (IO_OPS, "write")]
        for i, (fam, direction) in enumerate(names):
            between(t, f"{fam} {direction}", before[i], value(page, fam, io, direction=direction), after[i])
        t.check(got is not None and got >= 16 * MiB, f"written bytes {got} >= 16 MiB")
        rb = value(page, IO_BYTES, io, direction="read")
        t.check(rb is not None and rb >= 8 * MiB, f"read bytes {rb} >= 8 MiB")
        t.check((value(page, IO_OPS, io, direction="write") or 0) >= 16, "at least 16 write operations")
        parent = value(page, IO_BYTES, cgs.base, direction="write")
        t.check(parent is not None and parent >= got, "the parent's I/O includes the child's")


def run(t):
    v2 = cgroup2_mount()
    v1 = v1_mounts()
    cgs = Cgroups("hostmon-sat", v2, v1)
    k = Kernel(v2, v1)
    info(f"cgroup2 {v2}, v1 {v1}")
    d = None
    try:
        # with cgroup_cpu beside it: hostmon top shows rows of cgroups that have a CPU series
        d = Daemon("--collectors", "cgroup_cpu,cgroup_saturation", "--cgroup-refresh-interval", "200ms",
                   "--cpu-include", "^/hostmon-sat-")
        hook = re.search(r"oom_hook=(\S+)", d.logs())
        info(f"OOM hook on this kernel: {hook.group(1) if hook else 'not logged'}")
        t.check(hook is not None, "the collector says which OOM hook it attached")
        memory_part(t, d, cgs, k)
        oom_part(t, d, cgs, k)
        cpu_pressure_part(t, d, cgs)
        try:
            io_part(t, d, cgs, k)
        except NoLoopDevice as e:
            t.skip(f"I/O against the kernel's counters: {e}")
        t.check(labelled(scrape(d), "hostmon_cgroup_saturation_read_errors_total")[0][1] == 0,
                "no cgroup file failed to read")
    finally:
        if d:
            stop_daemon(t, d)
        left = cgs.cleanup()
        t.check(not left, f"cgroups removed ({left})")


if __name__ == "__main__":
    main(run, "cgroup_saturation/test_cgroup_saturation")
