"""Kernel memory of hostmon's BPF maps with default sizes (all default collectors), measured on this
host and projected to other CPU counts.

    /usr/bin/python3 bench/map_memory.py [BUILD_DIR] [CPUS ...]   (default: 4 96 256)

Starts hostmon with its default collectors and sizes, and reads each of its maps'
/proc/PID/fdinfo: type, sizes and `memlock`, the kernel's own figure of the map's memory. memlock
already counts this host's possible CPUs; the per-CPU part of each map is worked out from its type
and sizes the way the kernel sizes it (kernel/bpf/hashtab.c, arraymap.c) and scaled to each CPU
count: per-CPU values (value size x entries per CPU), and per-CPU bookkeeping of hash maps (one
spare element and its pointer per CPU for a preallocated hash, 8 lock counters per CPU for every
hash); the targets map, which the collector sizes from the CPU count, with its entries at each
count. Local storage (socket, task) is allocated per socket or thread as they need it, outside the
map's memlock (listed with its near-0 memlock; charged to hostmon's memory cgroup: about 340 bytes
per task for cgroup_cpu's task_seen, measured in docs/cgroup_cpu.md).
"""
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
import hostmon_test  # noqa: E402
from hostmon_test import Daemon  # noqa: E402

HTAB_ELEM = 48      # sizeof(struct htab_elem) on 64-bit kernels
LOCK_COUNTERS = 8   # HASHTAB_MAP_LOCK_COUNT ints per CPU per hash map
NO_PREALLOC = 1     # BPF_F_NO_PREALLOC
HASHES = {"hash", "percpu_hash", "lru_hash", "lru_percpu_hash"}


def up8(n):
    return (n + 7) // 8 * 8


# Maps a collector sizes from the CPU count (user/http_latency/http_latency.c,
# latency_targets_room()): entries at a given number of CPUs.
SIZED_BY_CPUS = {"targets": lambda cpus: min(max(4096, 64 * cpus), 1 << 20)}


def pow2(n):
    p = 1
    while p < n:
        p *= 2
    return p


def at_cpus(m, here, cpus):
    """The map's memlock with cpus possible CPUs, from its memlock with `here` of them."""
    n = m["memlock"] + (cpus - here) * per_cpu_bytes(m)
    rule = SIZED_BY_CPUS.get(m["name"])
    if rule and m["type"] == "hash":
        elem = HTAB_ELEM + up8(m["key_size"]) + up8(m["value_size"])
        entries, now = rule(cpus), m["max_entries"]
        n += (entries - now) * elem + (pow2(entries) - pow2(now)) * 16  # elements, buckets
    return n


def per_cpu_bytes(m):
    """Bytes of the map's memlock that one more possible CPU adds."""
    kind, entries, key, value = m["type"], m["max_entries"], m["key_size"], m["value_size"]
    prealloc = not (m["flags"] & NO_PREALLOC)
    if kind == "percpu_array":
        return up8(value) * entries
    if kind not in HASHES:
        return 0
    n = 4 * LOCK_COUNTERS
    if kind == "percpu_hash" or kind == "lru_percpu_hash":
        n += up8(value) * entries if prealloc else 0
    elif kind == "hash" and prealloc:
        n += HTAB_ELEM + up8(key) + up8(value) + 8  # the spare element, and its pointer
    return n


MAP_TYPES = {1: "hash", 2: "array", 5: "percpu_hash", 6: "percpu_array", 9: "lru_hash",
             10: "lru_percpu_hash", 24: "sk_storage", 27: "ringbuf", 29: "task_storage"}


def maps_of(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            text = open(f"/proc/{pid}/fdinfo/{fd}").read()
        except OSError:
            continue
        f = dict(re.findall(r"^(\w+):\s*(\S+)", text, re.M))
        if "map_id" not in f:
            continue
        name = os.popen(f"bpftool map show id {f['map_id']} 2>/dev/null").read().split()
        name = name[3] if len(name) > 3 and name[2] == "name" else f"id{f['map_id']}"
        out[f["map_id"]] = {
            "name": name, "type": MAP_TYPES.get(int(f["map_type"]), f["map_type"]),
            "key_size": int(f["key_size"]), "value_size": int(f["value_size"]),
            "max_entries": int(f["max_entries"]), "flags": int(f["map_flags"], 16),
            "memlock": int(f["memlock"]),
        }
    return sorted(out.values(), key=lambda m: -m["memlock"])


def mib(n):
    return f"{n / 2**20:.2f}"


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    cpus = [int(c) for c in sys.argv[2:]] or [4, 96, 256]
    # hostmon_test read HOSTMON_BIN when it was imported: name this build's binary now
    hostmon_test.BIN = os.environ.get("HOSTMON_BIN") or os.path.join(ROOT, build, "hostmon")
    here = os.sysconf("SC_NPROCESSORS_CONF")
    with open("/sys/devices/system/cpu/possible") as f:
        possible = f.read().strip()
    lo, _, hi = possible.partition("-")
    here = int(hi or lo) - int(lo) + 1 if "," not in possible else here
    d = Daemon()
    try:
        time.sleep(1.0)
        maps = maps_of(d.proc.pid)
        start_line = [line for line in d.logs().splitlines() if "BPF map memory" in line]
    finally:
        d.stop()
        d.close()
    print(f"== hostmon's maps (default collectors and sizes), kernel {os.uname().release}, {here} possible CPUs here")
    print("| map | type | entries | value B | memlock here (KiB) | per CPU (B) | "
          + " | ".join(f"{c} CPUs (KiB)" for c in cpus) + " |")
    print("|---|---|---|---|---|---|" + "---|" * len(cpus))
    total = {c: 0 for c in cpus}
    total_here = 0
    for m in maps:
        pc = per_cpu_bytes(m)
        at = {c: at_cpus(m, here, c) for c in cpus}
        total_here += m["memlock"]
        for c in cpus:
            total[c] += at[c]
        print(f"| {m['name']} | {m['type']} | {m['max_entries']} | {m['value_size']} | "
              f"{m['memlock'] / 1024:.1f} | {pc} | " + " | ".join(f"{at[c] / 1024:.1f}" for c in cpus) + " |")
    print(f"| total (MiB) | | | | {mib(total_here)} | | " + " | ".join(mib(total[c]) for c in cpus) + " |")
    print("the daemon's own start line:", start_line[0] if start_line else "missing")


if __name__ == "__main__":
    main()
