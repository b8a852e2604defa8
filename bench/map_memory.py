#!/usr/bin/env python3
"""Kernel memory of hostmon's BPF maps with default sizes: measured here, projected to more CPUs.

Usage: bench/map_memory.py BUILD_DIR [CPUS...]   (default CPUS: 4 96 256)

Starts build/hostmon with its default collectors and sizes, reads each of its maps' fdinfo (the
kernel's own memlock figure, map type, value size, entries, flags) and prints per map the bytes
measured on this machine and projected to each CPU count. Only what the kernel allocates per
possible CPU changes with the count; that slope per map follows the kernel's own accounting
(kernel/bpf/hashtab.c htab_map_mem_usage, arraymap.c array_map_mem_usage):
  per-CPU hash / LRU per-CPU hash: value (rounded to 8) x entries per CPU (the worst case, all
    entries used, where the map is not preallocated), plus the per-CPU lock counters
  per-CPU array: value (rounded to 8) x entries per CPU
  hash / LRU hash: the per-CPU lock counters; a preallocated hash also one spare element and
    one pointer per CPU
  everything else (array, ring buffer, task / socket storage): nothing per CPU.
Task and socket storage elements belong to each task or socket and are not in these figures.
"""
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HASH, ARRAY, PERCPU_HASH, PERCPU_ARRAY, LRU_HASH, LRU_PERCPU_HASH = 1, 2, 5, 6, 9, 10
NO_PREALLOC = 1
HTAB_ELEM = 48          # sizeof(struct htab_elem) on 64-bit kernels
LOCK_COUNTERS = 8 * 4   # HASHTAB_MAP_LOCK_COUNT ints per CPU


def r8(n):
    return (n + 7) // 8 * 8


def per_cpu_slope(m):
    """Bytes the map adds per possible CPU, at its maximum number of entries."""
    t, v, n, flags = m["map_type"], r8(m["value_size"]), m["max_entries"], m["map_flags"]
    if t in (PERCPU_HASH, LRU_PERCPU_HASH):
        return LOCK_COUNTERS + v * n
    if t == PERCPU_ARRAY:
        return v * n
    if t == HASH and not flags & NO_PREALLOC:
        return LOCK_COUNTERS + HTAB_ELEM + r8(m["key_size"]) + v + 8
    if t in (HASH, LRU_HASH):
        return LOCK_COUNTERS
    return 0


def possible_cpus():
    n = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        a, _, b = part.partition("-")
        n += int(b or a) - int(a) + 1
    return n


def daemon_maps(pid):
    maps = {}
    for fd in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            text = open(fd).read()
        except OSError:
            continue
        if "map_id:" not in text:
            continue
        fields = dict(re.findall(r"^(\w+):\s+(\S+)$", text, re.M))
        keys = ("map_type", "key_size", "value_size", "max_entries", "map_flags", "memlock", "map_id")
        m = {k: int(fields[k], 16 if fields[k].startswith("0x") else 10) for k in keys}
        maps[m["map_id"]] = m
    for mid, m in maps.items():
        out = subprocess.run(["bpftool", "map", "show", "id", str(mid)], capture_output=True, text=True).stdout
        name = re.search(r"name (\S+)", out)
        m["name"] = name.group(1) if name else f"id{mid}"
    return list(maps.values())


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    targets = [int(c) for c in sys.argv[2:]] or [4, 96, 256]
    log = open("/tmp/hostmon-bench-mapmem.log", "w+")
    d = subprocess.Popen([os.path.join(ROOT, build, "hostmon"), "--listen", "127.0.0.1:0"], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            log.seek(0)
            if "msg=listening" in log.read():
                break
            time.sleep(0.1)
        maps = daemon_maps(d.pid)
    finally:
        d.terminate()
        d.wait()
    here = possible_cpus()
    cols = [f"{c} CPUs" for c in targets]
    print(f"{'map':24} {'type':>4} {'entries':>8} {'here (' + str(here) + ' CPUs)':>16} " + " ".join(f"{c:>12}" for c in cols))
    totals = [0] * len(targets)
    total_here = 0
    for m in sorted(maps, key=lambda m: -per_cpu_slope(m) * max(targets) - m["memlock"]):
        slope = per_cpu_slope(m)
        proj = [m["memlock"] + slope * (c - here) for c in targets]
        total_here += m["memlock"]
        totals = [a + b for a, b in zip(totals, proj)]
        print(f"{m['name']:24} {m['map_type']:>4} {m['max_entries']:>8} {m['memlock']:>16} " + " ".join(f"{p:>12}" for p in proj))
    mib = lambda b: f"{b / 2**20:.1f} MiB"
    print(f"{'total':24} {'':>4} {'':>8} {mib(total_here):>16} " + " ".join(f"{mib(t):>12}" for t in totals))
    log.seek(0)
    line = [l for l in log.read().splitlines() if "BPF map memory" in l]
    print("daemon's own start line:", line[0] if line else "missing")


if __name__ == "__main__":
    main()
