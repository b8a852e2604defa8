"""Test cgroups at one path in cgroup2 and in the v1 memory and blkio hierarchies (where this host
has them), processes that live in them, a loop device, and reads of the kernel's own files: what the
cgroup_saturation tests compare hostmon with."""
import os
import re
import subprocess
import sys
import time

from cgroup_test import enter_cgroup, unescape_mountinfo
from hostmon_test import parse_samples

LABELS_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def v1_mounts():
    """controller -> v1 mount point, for the memory and blkio controllers."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, sep, right = line.partition(" - ")
            if not sep:
                continue
            fstype, _source, opts = (right.split() + ["", "", ""])[:3]
            if fstype != "cgroup":
                continue
            for c in ("memory", "blkio"):
                if c in opts.split(",") and c not in out:
                    out[c] = unescape_mountinfo(left.split()[4])
    return out


class Cgroups:
    """Cgroups base/rel made in cgroup2 and in each v1 hierarchy given; removed deepest first."""

    def __init__(self, prefix, v2, v1):
        self.v2, self.v1 = v2, v1  # v1: controller -> mount point
        self.base = f"/{prefix}-{os.getpid()}"
        self.dirs = []
        self.procs = []

    def dirs_of(self, cg):
        return [self.v2 + cg] + [m + cg for m in self.v1.values()]

    def mkdir(self, rel):
        cg = self.base + (f"/{rel}" if rel else "")
        for d in self.dirs_of(cg):
            os.mkdir(d)
            self.dirs.append(d)
        self.delegate(os.path.dirname(self.v2 + cg))
        return cg

    def delegate(self, parent):
        """In cgroup2, a child has memory.* and io.* files only where its parent hands it those
        controllers; those the v1 hierarchies do not hold are handed down (a cgroup2-only host)."""
        offered = open(parent + "/cgroup.controllers").read().split()
        want = [c for c, v1name in (("memory", "memory"), ("io", "blkio")) if c in offered and v1name not in self.v1]
        for c in want:
            if c not in open(parent + "/cgroup.subtree_control").read().split():
                with open(parent + "/cgroup.subtree_control", "w") as f:
                    f.write(f"+{c}")

    def rmdir(self, cg):
        for d in self.dirs_of(cg):
            for _ in range(200):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            if d in self.dirs:
                self.dirs.remove(d)

    def v1file(self, controller, cg, name):
        return self.v1[controller] + cg + "/" + name

    def spawn(self, cg, code, *args, stdout=subprocess.DEVNULL):
        """python3 -c code, its whole life in cg (in every hierarchy)."""
        p = subprocess.Popen([sys.executable, "-c", code, *args], preexec_fn=enter_cgroup(*self.dirs_of(cg)),
                             stdin=subprocess.DEVNULL, stdout=stdout, close_fds=True)
        self.procs.append(p)
        return p

    def run(self, cg, argv):
        """Runs argv in cg to its end; returns the CompletedProcess."""
        return subprocess.run(argv, preexec_fn=enter_cgroup(*self.dirs_of(cg)), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=120)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        left = []
        for d in sorted(reversed(self.dirs), key=lambda d: d.count("/"), reverse=True):
            for _ in range(200):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                left.append(d)
        return left


class NoLoopDevice(Exception):
    """The kernel gives no loop device (no loop driver: a guest kernel without its modules)."""


class LoopDevice:
    """A loop device over a sparse file in /tmp, detached and deleted on exit."""

    def __init__(self, size_mb=64):
        self.file = f"/tmp/hostmon-loop-{os.getpid()}.img"
        with open(self.file, "wb") as f:
            f.truncate(size_mb << 20)
        p = subprocess.run(["losetup", "-f", "--show", self.file], capture_output=True, text=True)
        if p.returncode != 0:
            os.unlink(self.file)
            raise NoLoopDevice(f"losetup could not make a loop device: {p.stderr.strip()}")
        self.dev = p.stdout.strip()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(["losetup", "-d", self.dev], check=False)
        os.unlink(self.file)


def labelled(text, family):
    """[(labels dict, value)] of one family."""
    out = []
    for key, v in parse_samples(text).items():
        name, _, rest = key.partition("{")
        if name == family:
            out.append((dict(LABELS_RE.findall(rest)), v))
    return out


def value(text, family, cgroup, **labels):
    for lab, v in labelled(text, family):
        if lab.get("cgroup") == cgroup and all(lab.get(k) == x for k, x in labels.items()):
            return v
    return None


def keyed(path):
    """A flat keyed file (memory.stat) as a dict of ints."""
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(" ")
            out[k] = int(v)
    return out


def psi_totals(path):
    """{'some': usec, 'full': usec} of a *.pressure file."""
    out = {}
    with open(path) as f:
        for line in f:
            kind, *fields = line.split()
            out[kind] = int(dict(x.split("=") for x in fields)["total"])
    return out


def blkio(path):
    """(read, write) summed over devices of a v1 blkio throttle file."""
    r = w = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[1] == "Read":
                r += int(parts[2])
            elif len(parts) == 3 and parts[1] == "Write":
                w += int(parts[2])
    return r, w
