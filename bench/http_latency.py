"""http_latency collector costs: wrk throughput against node with/without hostmon, the syscall cost the hooks
add to processes they do not trace, and each BPF program's cost per run.

Usage (root; `make bench` runs it after the other benchmarks):
    /usr/bin/python3 bench/http_latency.py [BUILD_DIR] [--hostmon-args "--collectors http_latency"] [--pairs 5]
        [--seconds 5] [--connections 8] [--threads 1] [--rounds 5] [--settle 2]
        [--only syscalls,throughput,programs]
hostmon runs as `BUILD_DIR/hostmon --listen 127.0.0.1:0 HOSTMON_ARGS` (HOSTMON_ARGS below, or
--hostmon-args). If hostmon refuses them, or a collector is not up, the script stops with hostmon's
log. To try the mechanics without the http_latency collector: --hostmon-args "--collectors cgroup_cpu".
Parts:
  syscalls    build/bench/syscall_bench (read 1 byte of /dev/zero, and getppid) in rounds of:
              (a) no hostmon, (f) empty programs on sys_enter/sys_exit (build/bench/hook_floor_bench:
              what the hooks alone cost every process), (b) hostmon and no node/php process, (b2) hostmon after the node server
              it saw has exited, (c) hostmon and an idle node server (the bench process itself is not
              traced). Reported: median over rounds of each run's best-of-5 ns, and the added ns.
              `bpftool perf list` shows whether hostmon holds sys_enter/sys_exit hooks in each case.
  throughput  wrk on node's /fast (node in its own cgroup), pairs of runs without / with hostmon,
              alternating which goes first; medians and the % loss. hostmon restarts for every run
              with it; after each, its request histogram count is compared with wrk's responses.
  programs    hostmon with --bpf-stats during one wrk run: ns per run of each BPF program (the
              kernel's run_time_ns / run_cnt; about 37 ns is the floor of that measurement here).
Goals (issue): throughput loss <= 2% (must <= 5%); untraced syscall + <= 20 ns (must <= 60) with a
node server running, about 0 without one. Results go to docs/PERFORMANCE.md by hand.
"""
import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
import hostmon_test  # noqa: E402
from cgroup_test import Env, cgroup2_mount, scrape  # noqa: E402
from hostmon_test import Daemon, parse_samples  # noqa: E402
from node_env import NodeServer, node_binary, wrk, wrk_binary  # noqa: E402

HOSTMON_ARGS = ["--collectors", "http_latency"]   # besides --listen; --hostmon-args replaces them

HISTOGRAM = "hostmon_http_server_request_duration_seconds"
TARGET_COMMS = {"node", "nodejs", "php", "php8.2", "php-fpm", "php-fpm8.2", "php-cgi", "php-cgi8.2"}
SYSCALL_KINDS = ("read", "getppid")
GOAL_LOSS_PCT, MUST_LOSS_PCT = 2.0, 5.0
GOAL_ADDED_NS, MUST_ADDED_NS = 20.0, 60.0


class BenchError(RuntimeError):
    pass


def say(msg):
    print(msg, flush=True)


# ---- hostmon ----------------------------------------------------------------------------------

def start_hostmon(args):
    """The daemon with args, listening; raises BenchError with its log if it refuses to start or a
    collector is not up."""
    try:
        d = Daemon(*args)
    except RuntimeError as e:
        for name in os.listdir("/tmp"):  # the log of the Daemon that never was
            if name.startswith(f"hostmon-test-{os.getpid()}-"):
                os.unlink(os.path.join("/tmp", name))
        hint = ("\n(this hostmon has no http_latency collector: --hostmon-args '--collectors cgroup_cpu' tries the script "
                "itself)") if 'unknown collector "http_latency"' in str(e) else ""
        raise BenchError(f"hostmon did not start with {shlex.join(args)}:\n{e}{hint}") from None
    samples = parse_samples(scrape(d))
    down = [k for k, v in samples.items() if k.startswith("hostmon_collector_up{") and v != 1]
    if down or not any(k.startswith("hostmon_collector_up{") for k in samples):
        log = d.logs()
        stop_hostmon(d)
        raise BenchError(f"hostmon {shlex.join(args)}: collectors not up {down or '(none listed)'}:\n{log}")
    return d


def stop_hostmon(d):
    rc, _ = d.stop()
    if rc != 0:
        say(f"# warning: hostmon exited {rc}; its log:\n{d.logs()}")
    d.close()


def http_latency_listed(samples):
    return 'hostmon_collector_up{collector="http_latency"}' in samples


def histogram_count(samples, runtime="node"):
    """Sum of the request histogram's _count over every series of runtime; None if absent."""
    counts = [v for k, v in samples.items()
              if k.startswith(HISTOGRAM + "_count{") and f'runtime="{runtime}"' in k]
    return sum(counts) if counts else None


# ---- what runs on the machine -----------------------------------------------------------------

def target_processes():
    """pids of node or php processes anywhere on the machine (ours or other people's)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/comm") as f:
                    if f.read().strip() in TARGET_COMMS:
                        out.append(int(name))
            except OSError:
                pass
    return sorted(out)


def syscall_hook_owners():
    """pids holding BPF programs on sys_enter/sys_exit (raw or per-syscall tracepoints), from
    `bpftool perf list`; None if bpftool cannot tell."""
    try:
        p = subprocess.run(["bpftool", "-j", "perf", "list"], capture_output=True, text=True, timeout=30)
        entries = json.loads(p.stdout) if p.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        entries = None
    if entries is None:
        return None
    return sorted({e["pid"] for e in entries
                   if re.fullmatch(r"sys_(enter|exit)(_\w+)?", str(e.get("tracepoint", "")))})


# ---- syscalls ---------------------------------------------------------------------------------

def syscall_ns(build, kind):
    out = subprocess.run([os.path.join(build, "bench", "syscall_bench"), kind], capture_output=True, text=True,
                         timeout=120)
    m = re.search(r"best_ns=([0-9.]+)", out.stdout)
    if out.returncode != 0 or not m:
        raise BenchError(f"syscall_bench {kind} failed ({out.returncode}): {out.stdout}{out.stderr}")
    return float(m.group(1))


def measure_condition(build, name, results, notes, hostmon=None):
    targets = target_processes()
    owners = syscall_hook_owners()
    ours = None if owners is None or hostmon is None else hostmon.proc.pid in owners
    foreign = None if owners is None else [p for p in owners if hostmon is None or p != hostmon.proc.pid]
    values = {kind: syscall_ns(build, kind) for kind in SYSCALL_KINDS}
    for kind, v in values.items():
        results.setdefault((name, kind), []).append(v)
    note = notes.setdefault(name, {"targets": set(), "foreign": set(), "hooked": set()})
    note["targets"].update(targets)
    note["foreign"].update(foreign or [])
    note["hooked"].add(ours)
    say(f"  {name:<24} " + " ".join(f"{k}={v:.1f}ns" for k, v in values.items())
        + f" hostmon_syscall_hooks={'-' if ours is None else ('yes' if ours else 'no')}"
        + (f" node/php_pids={targets}" if targets else "") + (f" other_hook_pids={foreign}" if foreign else ""))


def bench_syscalls(opt, cgdir):
    """Returns {(condition, kind): [best ns per round]} and per-condition notes."""
    say(f"== untraced syscall cost: syscall_bench (best of 5 x 1,000,000) in {opt.rounds} rounds")
    results, notes = {}, {}
    for rnd in range(1, opt.rounds + 1):
        say(f" round {rnd}")
        measure_condition(opt.build, "a: no hostmon", results, notes)
        # the floor: empty programs on the same two hooks, which every process pays while attached
        floor = subprocess.Popen([os.path.join(opt.build, "bench", "hook_floor_bench")],
                                 stdout=subprocess.PIPE, text=True)
        try:
            if floor.stdout.readline().strip() != "attached":
                raise BenchError("hook_floor_bench could not attach its empty programs")
            measure_condition(opt.build, "f: empty programs on the hooks", results, notes,
                              types.SimpleNamespace(proc=floor))
        finally:
            floor.terminate()
            floor.wait()
        d = start_hostmon(opt.hostmon_args)
        try:
            time.sleep(opt.settle)
            measure_condition(opt.build, "b: hostmon, no target", results, notes, d)
            with NodeServer(cgroup=cgdir) as srv:
                srv.fresh("GET", "/fast")
                time.sleep(opt.settle)
                measure_condition(opt.build, "c: hostmon + node", results, notes, d)
            time.sleep(opt.settle)
            measure_condition(opt.build, "b2: hostmon, node gone", results, notes, d)
        finally:
            stop_hostmon(d)
    return results, notes


# ---- throughput -------------------------------------------------------------------------------

def others(own_pids):
    """What else may slow this run down: (other processes' syscall hooks, other node/php pids)."""
    owners = syscall_hook_owners() or []
    return ({p for p in owners if p not in own_pids}, {p for p in target_processes() if p not in own_pids})


def node_cpu_usec(cgdir):
    """CPU time (us) used so far by the node server's cgroup, from its cpu.stat."""
    with open(os.path.join(cgdir, "cpu.stat")) as f:
        for line in f:
            k, _, v = line.partition(" ")
            if k == "usage_usec":
                return int(v)
    return 0


def pin(server_pid):
    """On 2+ CPUs: node (every thread) on CPU 0, this script and what it starts (wrk, hostmon) on
    CPU 1, so the scheduler's placement does not add its own noise to the comparison."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return
    for tid in os.listdir(f"/proc/{server_pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {cpus[0]})
        except OSError:
            pass
    os.sched_setaffinity(0, {cpus[1]})
    say(f"  pinned: node on CPU {cpus[0]}, wrk and hostmon on CPU {cpus[1]}")


def bench_throughput(opt, cgdir):
    """Returns (median rps without, median rps with, per-pair losses in %, [(histogram count, wrk
    responses)] of the runs with hostmon, number of runs disturbed by other hooks or servers)."""
    say(f"== wrk /fast on node: {opt.pairs} pairs of {opt.seconds} s runs without / with hostmon "
        f"({opt.threads} thread(s), {opt.connections} connections)")
    without, with_, losses, counted, disturbed = [], [], [], [], 0
    cpu_per_req = {"without": [], "with": []}  # node's CPU microseconds per request
    affinity = os.sched_getaffinity(0)
    with NodeServer(cgroup=cgdir) as srv:
        url = srv.url("/fast")
        pin(srv.pid)
        wrk(url, 1, opt.connections, opt.threads)  # warm-up: node's JIT
        for pair in range(1, opt.pairs + 1):
            line, rps = [], {}
            for mode in (("without", "with") if pair % 2 else ("with", "without")):
                d = start_hostmon(opt.hostmon_args) if mode == "with" else None
                try:
                    if d:
                        time.sleep(opt.settle)
                    own = {srv.pid} | ({d.proc.pid} if d else set())
                    hooks, servers = others(own)
                    usage0 = node_cpu_usec(cgdir)
                    r = wrk(url, opt.seconds, opt.connections, opt.threads)
                    usage1 = node_cpu_usec(cgdir)
                    hooks2, servers2 = others(own)
                    if r["requests"]:
                        cpu_per_req[mode].append((usage1 - usage0) / r["requests"])
                    samples = parse_samples(scrape(d)) if d else None
                finally:
                    if d:
                        stop_hostmon(d)
                rps[mode] = r["rps"]
                line.append(f"{mode}={r['rps']:.0f}")
                if d:
                    n = histogram_count(samples)
                    if n is None and http_latency_listed(samples):
                        raise BenchError("the http_latency collector is up but exported no runtime=\"node\" requests: "
                                         "it did not see the node server")
                    counted.append((n, r["requests"]))
                    line.append(f"(collector counted {n:.0f} of wrk's {r['requests']} responses)" if n is not None
                                else "(no http histogram: substitute collectors?)")
                if r["non_2xx_3xx"] or any(r["socket_errors"].values()):
                    line.append(f"[errors: non-2xx/3xx={r['non_2xx_3xx']} socket={r['socket_errors']}]")
                if hooks | hooks2 | servers | servers2:
                    disturbed += 1
                    line.append(f"[disturbed: other syscall hooks {sorted(hooks | hooks2)[:5]}, "
                                f"other node/php {sorted(servers | servers2)[:5]}]")
            without.append(rps["without"])
            with_.append(rps["with"])
            losses.append((1 - rps["with"] / rps["without"]) * 100)
            say(f"  pair {pair}: " + " ".join(line) + f" loss={losses[-1]:.1f}%")
    os.sched_setaffinity(0, affinity)
    return (statistics.median(without), statistics.median(with_), losses, counted, disturbed,
            {m: statistics.median(v) if v else None for m, v in cpu_per_req.items()})


# ---- programs ---------------------------------------------------------------------------------

def bench_programs(opt, cgdir):
    say(f"== BPF program cost (--bpf-stats) during a {opt.seconds} s wrk run on /fast")
    with NodeServer(cgroup=cgdir) as srv:
        d = start_hostmon(opt.hostmon_args + ["--bpf-stats"])
        try:
            time.sleep(opt.settle)
            before = parse_samples(scrape(d))
            r = wrk(srv.url("/fast"), opt.seconds, opt.connections, opt.threads)
            after = parse_samples(scrape(d))
        finally:
            stop_hostmon(d)
    if after.get("hostmon_bpf_stats_enabled") != 1:
        say("  # warning: hostmon_bpf_stats_enabled is not 1: the kernel kept no run-time statistics")
    rows = []
    for key, runs in sorted(after.items()):
        m = re.fullmatch(r'hostmon_bpf_program_runs_total\{program="([^"]+)"\}', key)
        if not m:
            continue
        prog = m.group(1)
        secs_key = f'hostmon_bpf_program_run_seconds_total{{program="{prog}"}}'
        runs_d = runs - before.get(key, 0)
        secs_d = after.get(secs_key, 0) - before.get(secs_key, 0)
        ns = secs_d * 1e9 / runs_d if runs_d > 0 else None
        per_req = runs_d / r["requests"] if r["requests"] else None
        rows.append((prog, runs_d, ns, per_req))
        say(f"  {prog:<28} runs={runs_d:.0f} ns_per_run={'-' if ns is None else f'{ns:.1f}'} "
            f"runs_per_request={'-' if per_req is None else f'{per_req:.1f}'}")
    if not rows:
        say("  (hostmon exported no hostmon_bpf_program_runs_total series)")
    say(f"  wrk: {r['requests']} responses, {r['rps']:.0f} req/s")
    return rows


# ---- report -----------------------------------------------------------------------------------

def verdict(value, goal, must):
    if value is None:
        return "-"
    return "goal met" if value <= goal else ("within must" if value <= must else "MUST MISSED")


def report(opt, syscalls, throughput, programs):
    say("")
    say(f"== summary: hostmon {shlex.join(opt.hostmon_args)}, {os.cpu_count()} CPUs, kernel {os.uname().release}, "
        f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}")
    say("| what | goal | measured | verdict |")
    say("|---|---|---|---|")
    if throughput:
        w0, w1, losses, counted, disturbed, cpu = throughput
        loss = (1 - w1 / w0) * 100 if w0 else None
        say(f"| wrk /fast req/s without hostmon, median of {opt.pairs} x {opt.seconds} s | | {w0:.0f} | |")
        say(f"| wrk /fast req/s with hostmon, median of {opt.pairs} x {opt.seconds} s | | {w1:.0f} | |")
        say(f"| throughput loss (medians) | <= {GOAL_LOSS_PCT:g}% (must <= {MUST_LOSS_PCT:g}%) | {loss:.2f}% | "
            f"{verdict(loss, GOAL_LOSS_PCT, MUST_LOSS_PCT)} |")
        say(f"| throughput loss (median of the pairs' losses; spread {min(losses):.1f}..{max(losses):.1f}) | | "
            f"{statistics.median(losses):.2f}% | |")
        if cpu["without"] and cpu["with"]:
            added = (cpu["with"] / cpu["without"] - 1) * 100
            say(f"| node CPU per request without / with hostmon (medians; steal time does not inflate it) | | "
                f"{cpu['without']:.2f} / {cpu['with']:.2f} us | |")
            say(f"| node CPU per request added by hostmon | | {added:+.2f}% | |")
        if disturbed:
            say(f"| runs with other syscall hooks or node/php servers on the machine | none | {disturbed} of "
                f"{2 * opt.pairs} | CHECK |")
        if all(n is not None for n, _ in counted):
            ok = sum(1 for n, c in counted if c <= n <= c + opt.connections)
            say(f"| runs whose histogram count is wrk's responses (+ <= {opt.connections} unread) | all | "
                f"{ok} of {len(counted)} | {'ok' if ok == len(counted) else 'CHECK'} |")
        else:
            say("| request histogram count | | absent (no http_latency collector) | |")
    if syscalls:
        results, notes = syscalls
        for kind in SYSCALL_KINDS:
            base = statistics.median(results[("a: no hostmon", kind)])
            say(f"| {kind} ns per syscall, no hostmon (median of {opt.rounds} best-of-5) | | {base:.1f} | |")
            for cond, goal, must in (("b: hostmon, no target", 0, None), ("b2: hostmon, node gone", 0, None),
                                     ("f: empty programs on the hooks", 0, None),
                                     ("c: hostmon + node", GOAL_ADDED_NS, MUST_ADDED_NS)):
                added = statistics.median(results[(cond, kind)]) - base
                hooked = notes[cond]["hooked"]
                hook = ("hooks attached" if hooked == {True} or cond.startswith("f:") else
                        "no hooks" if hooked == {False} else "hooks unknown" if hooked == {None} else "hooks varied")
                extra = []
                if notes[cond]["targets"] and cond != "c: hostmon + node":
                    extra.append(f"node/php running: {sorted(notes[cond]['targets'])[:5]}")
                if notes[cond]["foreign"] or notes["a: no hostmon"]["foreign"]:
                    extra.append("other sys_enter/exit hooks present: "
                                 f"{sorted(notes[cond]['foreign'] | notes['a: no hostmon']['foreign'])[:5]}")
                goal_txt = ("floor of the mechanism" if cond.startswith("f:") else
                            "about 0" if must is None else f"<= {goal:g} ns (must <= {must:g})")
                v = "-" if must is None else verdict(added, goal, must)
                say(f"| {kind}: added by {cond[cond.index(':') + 2:]} ({hook}) | {goal_txt} | {added:+.1f} ns"
                    + (f" ({'; '.join(extra)})" if extra else "") + f" | {v} |")
    for prog, runs, ns, per_req in programs or []:
        say(f"| program {prog}: ns per run (kernel stats) | | {'-' if ns is None else f'{ns:.1f}'} "
            f"({runs:.0f} runs, {'-' if per_req is None else f'{per_req:.1f}'} per request) | |")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build", help="build directory (default: build)")
    ap.add_argument("--hostmon-args", type=shlex.split, default=HOSTMON_ARGS,
                    help=f"hostmon's arguments besides --listen (default: {shlex.join(HOSTMON_ARGS)})")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5, help="syscall rounds (default: 5)")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds after hostmon or node starts or stops before measuring (default: 2)")
    ap.add_argument("--only", default="syscalls,throughput,programs")
    opt = ap.parse_args(argv)
    opt.build = os.path.join(ROOT, opt.build) if not os.path.isabs(opt.build) else opt.build
    opt.only = set(opt.only.split(","))
    if opt.only - {"syscalls", "throughput", "programs"}:
        ap.error(f"--only: unknown part(s) {sorted(opt.only - {'syscalls', 'throughput', 'programs'})}")
    if min(opt.pairs, opt.seconds, opt.connections, opt.threads, opt.rounds) < 1 or opt.connections < opt.threads:
        ap.error("pairs, seconds, connections, threads and rounds must be >= 1, connections >= threads")
    return opt


def main(argv):
    opt = parse_args(argv)
    hostmon_test.BIN = os.path.join(opt.build, "hostmon")
    missing = [what for what, ok in (
        (hostmon_test.BIN, os.access(hostmon_test.BIN, os.X_OK)),
        (os.path.join(opt.build, "bench", "syscall_bench"),
         os.access(os.path.join(opt.build, "bench", "syscall_bench"), os.X_OK)),
        ("node", node_binary()), ("wrk", wrk_binary())) if not ok]
    if missing:
        say(f"bench/http_latency.py: missing {', '.join(missing)} "
            f"(make all {opt.build}/bench/syscall_bench; make deps)")
        return 2
    if os.geteuid() != 0:
        say("bench/http_latency.py: needs root (BPF, cgroups)")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    say(f"== http_latency collector bench: hostmon {shlex.join(opt.hostmon_args)}")
    env = Env("hostmon-bench-http", cgroup2_mount())
    syscalls = throughput = programs = None
    try:
        cgdir = env.path(env.mkdir(""))
        # fail early and clearly if hostmon refuses the arguments
        stop_hostmon(start_hostmon(opt.hostmon_args))
        if "syscalls" in opt.only:
            syscalls = bench_syscalls(opt, cgdir)
        if "throughput" in opt.only:
            throughput = bench_throughput(opt, cgdir)
        if "programs" in opt.only:
            programs = bench_programs(opt, cgdir)
    except BenchError as e:
        say(f"bench/http_latency.py: FAILED: {e}")
        return 1
    finally:
        left = env.cleanup()
        if left:
            say(f"# warning: could not remove {left}")
    report(opt, syscalls, throughput, programs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
