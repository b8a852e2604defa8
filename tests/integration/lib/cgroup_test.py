"""Shared helpers for the cgroup_cpu collector's integration tests: cgroup mounts, test cgroups and burners, scrapes."""
import os
import re
import signal
import subprocess
import sys
import time

from hostmon_test import parse_samples, request

CPU = "hostmon_cgroup_cpu_seconds_total"
WAIT = "hostmon_cgroup_cpu_runqueue_wait_seconds_total"

# The burners run as `python3 -c BURN MODE`; they enter their cgroup before exec (see Env.spawn()).
BURN = r"""
import sys, time
mode = sys.argv[1]
if mode == "busy":
    while True:
        pass
# duty: ~50% of a CPU (10 ms burn / 10 ms sleep); light: ~10% of a CPU (5 ms burn / 45 ms sleep)
burn, pause = {"duty": (0.010, 0.010), "light": (0.005, 0.045)}[mode]
clock = time.perf_counter
while True:
    end = clock() + burn
    while clock() < end:
        pass
    time.sleep(pause)
"""


def info(msg):
    print(f"# {msg}", flush=True)


def unescape_mountinfo(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def mounts():
    """(cgroup2 mount point or None, v1 mount point carrying the cpu controller or None)."""
    unified = v1cpu = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, sep, right = line.partition(" - ")
            if not sep:
                continue
            fstype, _source, opts = (right.split() + ["", "", ""])[:3]
            point = unescape_mountinfo(left.split()[4])
            if fstype == "cgroup2" and unified is None:
                unified = point
            elif fstype == "cgroup" and "cpu" in opts.split(",") and v1cpu is None:
                v1cpu = point
    return unified, v1cpu


def cgroup2_mount():
    unified, _ = mounts()
    if unified is None:
        raise RuntimeError("no cgroup2 mount in /proc/self/mountinfo")
    return unified


def enter_cgroup(*cgdirs):
    """A preexec_fn for subprocess.Popen: the forked child writes its own pid to cgroup.procs of each
    cgroup directory before it execs, so the program's whole life, and all it forks, is in them."""
    files = [os.path.join(d, "cgroup.procs") for d in cgdirs]

    def enter():
        for fn in files:
            with open(fn, "w") as f:
                f.write(str(os.getpid()))

    return enter


class Env:
    """What a test created and started, so that cleanup removes exactly that.

    Cgroups are named by their path as hostmon exports it (base/rel, starting with '/'); a cgroup
    made with v1=True exists at that same path in cgroup2 and in the v1 cpu hierarchy."""

    def __init__(self, prefix, v2, v1=None):
        self.v2, self.v1 = v2, v1
        self.base = f"/{prefix}-{os.getpid()}"  # cgroup path, as hostmon exports it
        self.dirs = []   # created directories (in either hierarchy), in creation order
        self.procs = []  # subprocess.Popen burners

    def path(self, cg, v1=False):
        """The directory of cgroup path cg in cgroup2 (or in the v1 cpu hierarchy if v1)."""
        return (self.v1 if v1 else self.v2) + cg

    def mkdir(self, rel, v1=False):
        """Creates base/rel in cgroup2 (and in the v1 cpu hierarchy too if v1); returns its path."""
        cg = self.base + (f"/{rel}" if rel else "")
        for in_v1 in ([False, True] if v1 else [False]):
            d = self.path(cg, in_v1)
            os.mkdir(d)
            self.dirs.append(d)
        return cg

    def spawn(self, cg, mode, v1=False):
        """Starts a burner (BURN mode) whose whole life is in cg (in both hierarchies if v1)."""
        dirs = [self.path(cg)] + ([self.path(cg, True)] if v1 else [])
        p = subprocess.Popen([sys.executable, "-c", BURN, mode], preexec_fn=enter_cgroup(*dirs),
                             stdin=subprocess.DEVNULL, close_fds=True)
        self.procs.append(p)
        return p

    def run_short(self, cg, burn_s):
        """Forks a child that enters cg (in cgroup2), burns burn_s of its own CPU time and exits;
        waits for it and returns whether it succeeded."""
        procs_file = self.path(cg) + "/cgroup.procs"
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with open(procs_file, "w") as f:
                    f.write(str(os.getpid()))
                end = time.thread_time() + burn_s
                while time.thread_time() < end:
                    pass
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0

    @staticmethod
    def kill(p):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait()

    @staticmethod
    def rmdir(d):
        """rmdir of directory d with retries (a killed task may take a moment to leave the cgroup)."""
        for _ in range(100):
            try:
                os.rmdir(d)
                return True
            except FileNotFoundError:
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def cleanup(self):
        """Kills every burner and removes every created directory, deepest first; returns those left."""
        for p in self.procs:
            self.kill(p)
        left = []
        # reverse creation order already has children before parents
        for d in sorted(reversed(self.dirs), key=lambda d: d.count("/"), reverse=True):
            if not self.rmdir(d):
                left.append(d)
        return left


def write_file(path, value):
    """Writes value to a cgroup file in one write(2), so the kernel's refusal is raised here."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def read_file(path):
    with open(path) as f:
        return f.read().strip()


def cgroup_procs(cgdir):
    """The pids in a cgroup directory's cgroup.procs, sorted."""
    with open(os.path.join(cgdir, "cgroup.procs")) as f:
        return sorted(int(line) for line in f if line.strip())


def cgroup_of(pid):
    """The cgroup2 path of pid (the "0::" line of /proc/PID/cgroup)."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    return None


def stat_value(path, key):
    """The value of key in a flat keyed file such as cpu.stat."""
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
    raise RuntimeError(f"no {key} in {path}")


def scrape(d):
    status, _, body = request(d, "/metrics", timeout=30)
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}")
    return body.decode()


LABEL_RE = re.compile(r'cgroup="((?:[^"\\]|\\.)*)"')


def series(text, family):
    """cgroup path -> value for one family."""
    out = {}
    for key, v in parse_samples(text).items():
        if key.startswith(family + "{"):
            m = LABEL_RE.search(key)
            out[m.group(1) if m else None] = v
    return out


def scalar(text, name):
    return parse_samples(text).get(name)


def wait_until(fn, timeout, step=0.1):
    """Polls fn() until it returns a truthy value or timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def stop_daemon(t, d, what="daemon"):
    """Stops d, checks that it exited 0 (printing its log if not) and removes its log."""
    rc, _ = d.stop()
    t.check(rc == 0, f"{what} exit code {rc}")
    if rc != 0:
        print(d.logs())
    d.close()
