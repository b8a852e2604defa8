"""Cost of the cgroup_tcp collector's programs, each beside an empty program on the same hook
attached at the same time (so both run on the very same events), and of the whole collector on a
connect-heavy workload against the same workload without it and with only the empty programs.

    /usr/bin/python3 bench/cgroup_tcp.py [BUILD_DIR] [ROUNDS]

Per event: hostmon (--collectors cgroup_tcp --bpf-stats) and build/bench/hook_floor_bench tcp are
attached together; in two network namespaces made for the run (tests/integration/lib/netns_env.py)
a client makes 2000 connects to a listening port and 500 to a closed one (resets received, failed
connects), closes 500 with SO_LINGER 0 (resets sent) and sends 8 x 8 MiB with 10% of its packets
dropped (retransmits). Each program's run count and mean ns per run come from the kernel's BPF
statistics (kernel.bpf_stats_enabled, on for the run): hostmon's from its
hostmon_bpf_program_* series (the window's delta), the floor's from its own exit line.

Workload: 10000 loopback connect+accept+close of one Python client in a cgroup, timed, in ROUNDS
alternating triples (nothing attached / the empty programs / hostmon's cgroup_tcp), medians. The
VM has 2 shared vCPUs: only the medians mean anything, and only beside each other.
"""
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from cgroup_test import Env, cgroup2_mount, scrape  # noqa: E402
import hostmon_test  # noqa: E402
from hostmon_test import Daemon, parse_samples  # noqa: E402
from netns_env import NetnsPair, SINK  # noqa: E402

STATS = "/proc/sys/kernel/bpf_stats_enabled"
PAIRS = {"tcp_retransmit": "floor_tcp_retransmit", "tcp_reset_sent": "floor_tcp_reset_sent",
         "tcp_reset_received": "floor_tcp_reset_received", "tcp_state_change": "floor_tcp_state_change"}

EVENTS = r"""
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
for _ in range(2000):
    socket.create_connection((host, port)).close()
for _ in range(500):
    try:
        socket.create_connection((host, port + 1 if port < 65535 else port - 1)).close()
    except ConnectionRefusedError:
        pass
for _ in range(500):
    c = socket.create_connection((host, port))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
"""

SEND = r"""
import socket, sys
for _ in range(8):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=120)
    c.sendall(b"x" * (8 << 20))
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
"""

CONNECTS = r"""
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4096)
addr = s.getsockname()
start = time.perf_counter()
for _ in range(10000):
    c = socket.create_connection(addr)
    a, _ = s.accept()
    c.close()
    a.close()
print(time.perf_counter() - start)
"""


def hostmon_programs(d):
    """name -> (run seconds, runs) of hostmon's programs from its page."""
    s = parse_samples(scrape(d))
    out = {}
    for key, v in s.items():
        m = re.match(r'hostmon_bpf_program_(run_seconds|runs)_total\{program="([^"]+)"\}', key)
        if m:
            t, r = out.get(m.group(2), (0.0, 0.0))
            out[m.group(2)] = (v, r) if m.group(1) == "run_seconds" else (t, v)
    return out


def floor_start(build):
    p = subprocess.Popen([os.path.join(ROOT, build, "bench", "hook_floor_bench"), "tcp"], stdout=subprocess.PIPE,
                         text=True)
    if p.stdout.readline().strip() != "attached tcp":
        raise RuntimeError("hook_floor_bench tcp did not attach")
    return p


def floor_stop(p):
    p.terminate()
    out, _ = p.communicate(timeout=30)
    return {m.group(1): (float(m.group(2)), float(m.group(3)))
            for m in re.finditer(r"floor (\S+) runs=(\d+) ns_per_run=([\d.]+)", out)}


def per_event(build, env, cg):
    d = Daemon("--collectors", "cgroup_tcp", "--bpf-stats")
    floor = None
    try:
        with NetnsPair("bench") as net:
            floor = floor_start(build)
            before = hostmon_programs(d)
            server = net.spawn(net.b, env.path(cg), SINK, net.addr_b)
            port = server.stdout.readline().strip()
            net.spawn(net.a, env.path(cg), EVENTS, net.addr_b, port).wait(timeout=600)
            net.drop_random(0.1)
            net.spawn(net.a, env.path(cg), SEND, net.addr_b, port).wait(timeout=600)
            net.drop()
            after = hostmon_programs(d)
            floors = floor_stop(floor)
            floor = None
    finally:
        if floor:
            floor_stop(floor)
        d.stop()
        d.close()
    print("per event (same run, same events; ns per run from the kernel's BPF statistics):")
    for prog, fprog in PAIRS.items():
        t0, r0 = before.get(prog, (0, 0))
        t1, r1 = after.get(prog, (0, 0))
        runs = r1 - r0
        ns = (t1 - t0) * 1e9 / runs if runs else float("nan")
        fr, fns = floors.get(fprog, (0, float("nan")))
        print(f"  {prog:20s} runs={runs:.0f} ns/run={ns:.1f}   {fprog:26s} runs={fr:.0f} ns/run={fns:.1f}"
              f"   ratio={ns / fns if fns else float('nan'):.2f}")


def timed_connects(env, cg):
    p = subprocess.run([sys.executable, "-c", CONNECTS], capture_output=True, text=True, check=True,
                       preexec_fn=lambda: open(env.path(cg) + "/cgroup.procs", "w").write(str(os.getpid())))
    return float(p.stdout)


def workload(build, env, cg, rounds):
    times = {"baseline": [], "floor": [], "hostmon": []}
    for _ in range(rounds):
        times["baseline"].append(timed_connects(env, cg))
        f = floor_start(build)
        try:
            times["floor"].append(timed_connects(env, cg))
        finally:
            floor_stop(f)
        d = Daemon("--collectors", "cgroup_tcp")
        try:
            time.sleep(0.5)
            times["hostmon"].append(timed_connects(env, cg))
        finally:
            d.stop()
            d.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"workload: 10000 loopback connect+accept+close, {rounds} alternating rounds, median seconds:")
    for k in ("baseline", "floor", "hostmon"):
        print(f"  {k:8s} {med[k]:.3f} s  ({med[k] / 10000 * 1e6:.1f} us per connection, "
              f"{(med[k] / med['baseline'] - 1) * 100:+.1f}% vs baseline)  all: "
              + " ".join(f"{x:.3f}" for x in times[k]))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    hostmon_test.BIN = os.environ.get("HOSTMON_BIN") or os.path.join(ROOT, build, "hostmon")
    env = Env("hostmon-bench-tcp", cgroup2_mount())
    env.mkdir("")
    cg = env.mkdir("client")
    old = open(STATS).read().strip()
    try:
        open(STATS, "w").write("1")
        per_event(build, env, cg)
        open(STATS, "w").write(old)
        workload(build, env, cg, rounds)
    finally:
        open(STATS, "w").write(old)
        env.cleanup()


if __name__ == "__main__":
    main()
