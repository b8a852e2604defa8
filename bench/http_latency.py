"""http_latency collector costs, each beside no hostmon and an empty-program floor on the same hooks in the
same run: wrk throughput against node, the syscall cost to processes hostmon does not trace, and each BPF
program's cost per run.

Usage (root; `make bench` runs it after the other benchmarks):
    /usr/bin/python3 bench/http_latency.py [BUILD_DIR] [--hostmon-args "--collectors http_latency"] [--pairs 5]
        [--seconds 5] [--connections 8] [--threads 1] [--rounds 5] [--settle 2] [--no-cgroup-filter]
        [--only syscalls,throughput,programs]
hostmon runs as `BUILD_DIR/hostmon --listen 127.0.0.1:0 HOSTMON_ARGS --http-include-cgroup '^/CG(/|$)'`
(HOSTMON_ARGS below, or --hostmon-args; CG is the bench's own throw-away cgroup, so node servers other
people's tests start on this machine are not targets; --no-cgroup-filter leaves that out). If hostmon
refuses them, or a collector is not up, the script stops with hostmon's log. To try the mechanics without
the http_latency collector: --hostmon-args "--collectors cgroup_cpu" --no-cgroup-filter.
Parts:
  throughput  tests/fixtures/node/server.js in its own cgroup2 directory (node on CPU 0; wrk, hostmon and
              this script on CPU 1) under wrk on /fast, in --pairs rounds of three runs, the order rotated
              every round: (a) no hostmon, (f) the floor: empty cgroup_skb ingress/egress programs attached
              to node's cgroup (build/bench/hook_floor_bench cgroup DIR), (h) hostmon, restarted for every
              run. Reported: medians of req/s, node's CPU per request (its cgroup's cpu.stat) and wrk's
              (its rusage) per arm, and the losses (h) vs (a), (f) vs (a), (h) vs (f); after each (h) run
              its request histogram count is compared with wrk's responses.
  syscalls    build/bench/syscall_bench (read 1 byte of /dev/zero; getppid; socket: a 1-byte write and
              read over a unix socket pair, per syscall; outside node's cgroup) in rounds of: (a) no
              hostmon, (r) empty raw sys_enter/sys_exit programs attached globally (hook_floor_bench
              syscalls: the floor of the syscall tier, and of the old per-syscall mechanism), (s) empty
              sock_recv_length/sock_send_length programs (hook_floor_bench sock_length: the floor of
              that tier; skipped on kernels without those tracepoints), (g) empty cgroup_skb programs
              on the cgroup of an idle node server (hook_floor_bench cgroup DIR: the floor of the
              cgroup mechanism for a process outside it), (b) hostmon and no node/php process, (c)
              hostmon and an idle node server in its cgroup, (p) hostmon and an idle php-fpm pool (2
              workers, unix socket) in that cgroup: its PHP-FPM hooks attached, of the tier this
              kernel got (sock_iter: fentry/fexit on the socket path, no floor here; sock_length: the
              socket length tracepoints, floor (s); syscalls: raw sys_enter/sys_exit, floor (r)), (b2)
              hostmon after both have exited. The floors run without BPF run-time statistics, as
              hostmon does (--no-stats). Reported: median over rounds of each run's best-of-5 ns, and
              the added ns. `bpftool perf list` shows whether hostmon holds sys_enter/sys_exit hooks.
  programs    hostmon with --bpf-stats during one wrk run: ns per run of each BPF program (the
              kernel's run_time_ns / run_cnt; about 37 ns is the floor of that measurement here).
  profile     the CPU the programs really take, caches and helpers included, measured so that other
              load on the machine does not count: node pinned on CPU 0 and wrk on CPU 1 under
              `perf record -e cpu-clock` (both CPUs, --profile-hz samples a second each) for one wrk
              run per arm, (f) the floor and (h) hostmon. Samples are counted only in node's and
              wrk's own tasks (the programs run in theirs: egress in node's send, ingress in the
              softirq of wrk's send); those whose leaf is the cgroup-BPF path (the programs, the
              helpers and maps they call, the kernel's cgroup_skb plumbing) are hostmon's. Reported:
              ns per request in that path, and its share of node's and wrk's CPU per request; the
              share is what hostmon can take from throughput when node and wrk saturate their CPUs;
              and the path's largest symbols, ns per request each. --profile-same-cpu pins wrk on
              node's CPU too, so that the socket's state never moves between CPUs: the
              difference is what that move costs.
Goals (issue 11): throughput loss <= 2% (must <= 5%); node CPU per request added <= 2%; an untargeted
syscall + <= 20 ns (must <= 40) while a node target exists, about 0 without one. The last table (goal /
must / measured / floor) is what goes to docs/PERFORMANCE.md, by hand, with the command.
"""
import argparse
import collections
import contextlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
import hostmon_test  # noqa: E402
from cgroup_test import Env, cgroup2_mount, scrape  # noqa: E402
from hostmon_test import Daemon, parse_samples  # noqa: E402
from node_env import NodeServer, node_binary, wrk, wrk_binary  # noqa: E402
from php_env import FpmPool  # noqa: E402

HOSTMON_ARGS = ["--collectors", "http_latency"]   # besides --listen; --hostmon-args replaces them

HISTOGRAM = "hostmon_http_server_request_duration_seconds"
TARGET_COMMS = {"node", "nodejs", "php", "php8.2", "php-fpm", "php-fpm8.2", "php-cgi", "php-cgi8.2"}
SYSCALL_KINDS = ("read", "getppid", "socket")
GOAL_LOSS_PCT, MUST_LOSS_PCT = 2.0, 5.0
GOAL_CPU_PCT = 2.0
GOAL_ADDED_NS, MUST_ADDED_NS = 20.0, 40.0


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


# ---- the floors: empty programs on the same hooks -----------------------------------------------

class Floor:
    """build/bench/hook_floor_bench MODE [DIR] while in the with block: empty programs on the raw
    sys_enter/sys_exit hooks ("syscalls"), the socket length tracepoints ("sock_length") or cgroup_skb
    ingress/egress on cgroup2 directory DIR ("cgroup"); stats=False: without BPF run-time statistics.
    Stopped by its pid with SIGTERM (it detaches and exits 0)."""

    def __init__(self, build, mode, cgdir=None, stats=True):
        self.argv = ([os.path.join(build, "bench", "hook_floor_bench")] + ([] if stats else ["--no-stats"])
                     + [mode] + ([cgdir] if cgdir else []))
        self.mode = mode
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != f"attached {self.mode}":
            self.stop()
            raise BenchError(f"{shlex.join(self.argv)} could not attach its empty programs (it said {line!r})")
        return self

    def stop(self):
        """SIGTERM, SIGKILL after 10 s; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        return rc

    def __exit__(self, *exc):
        rc = self.stop()
        if rc != 0:
            say(f"# warning: {shlex.join(self.argv)} exited {rc}")


def cgroup_programs(cgdir):
    """{program id: "name:attach type"} of the BPF programs attached to cgroup2 directory cgdir itself
    (`bpftool cgroup show`); {} if bpftool cannot tell."""
    try:
        p = subprocess.run(["bpftool", "-j", "cgroup", "show", cgdir], capture_output=True, text=True, timeout=30)
        entries = json.loads(p.stdout or "[]") if p.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        entries = []
    return {e.get("id"): f"{e.get('name', '?')}:{e.get('attach_type', '?')}" for e in entries}


# ---- syscalls ---------------------------------------------------------------------------------

def syscall_ns(build, kind):
    out = subprocess.run([os.path.join(build, "bench", "syscall_bench"), kind], capture_output=True, text=True,
                         timeout=120)
    m = re.search(r"best_ns=([0-9.]+)", out.stdout)
    if out.returncode != 0 or not m:
        raise BenchError(f"syscall_bench {kind} failed ({out.returncode}): {out.stdout}{out.stderr}")
    return float(m.group(1))


def measure_condition(build, name, results, notes, own_pid=None):
    """Runs syscall_bench for each kind under condition name; own_pid is the process that holds this
    condition's hooks (hostmon or a floor), not counted as a foreign hook owner."""
    targets = target_processes()
    owners = syscall_hook_owners()
    ours = None if owners is None or own_pid is None else own_pid in owners
    foreign = None if owners is None else [p for p in owners if p != own_pid]
    values = {kind: syscall_ns(build, kind) for kind in SYSCALL_KINDS}
    for kind, v in values.items():
        results.setdefault((name, kind), []).append(v)
    note = notes.setdefault(name, {"targets": set(), "foreign": set(), "hooked": set()})
    note["targets"].update(targets)
    note["foreign"].update(foreign or [])
    note["hooked"].add(ours)
    say(f"  {name:<37} " + " ".join(f"{k}={v:.1f}ns" for k, v in values.items())
        + f" sys_enter/exit_hooks_held={'-' if ours is None else ('yes' if ours else 'no')}"
        + (f" node/php_pids={targets}" if targets else "") + (f" other_hook_pids={foreign}" if foreign else ""))


SYSCALL_CONDITIONS = ("a: no hostmon", "r: empty raw sys_enter/sys_exit",
                      "s: empty sock_recv_length/sock_send_length", "g: empty cgroup_skb on node's cgroup",
                      "b: hostmon, no target", "c: hostmon + node", "p: hostmon + php-fpm",
                      "b2: hostmon, node and php-fpm gone")
FLOOR_OF_TIER = {"syscalls": "r:", "sock_length": "s:"}   # the PHP-FPM hooks' tier -> its floor's condition
SYSCALL_CONDITIONS_TEXT = {c[:c.index(":") + 1]: c[c.index(":") + 2:] for c in SYSCALL_CONDITIONS}
PHP_HOOKS_RE = re.compile(r'hostmon_http_latency_php_hooks_attached\{tier="([^"]*)"\}')


def php_tier(d):
    """The tier of hostmon's PHP-FPM hooks if they are attached now, else None."""
    return next((m.group(1) for k, v in parse_samples(scrape(d)).items()
                 if v == 1 and (m := PHP_HOOKS_RE.fullmatch(k))), None)


def bench_syscalls(opt, cgdir):
    """Returns {(condition, kind): [best ns per round]} and per-condition notes. syscall_bench runs in
    this script's cgroup, never in node's."""
    say(f"== untargeted syscall cost: syscall_bench (best of 5 x 1,000,000) in {opt.rounds} rounds")
    results, notes = {}, {}
    for rnd in range(1, opt.rounds + 1):
        say(f" round {rnd}")
        measure_condition(opt.build, SYSCALL_CONDITIONS[0], results, notes)
        # the syscall tier's floor (and the old mechanism's): empty programs on the two hooks every
        # process pays for
        with Floor(opt.build, "syscalls", stats=False) as floor:
            measure_condition(opt.build, SYSCALL_CONDITIONS[1], results, notes, floor.proc.pid)
        try:
            with Floor(opt.build, "sock_length", stats=False) as floor:
                measure_condition(opt.build, SYSCALL_CONDITIONS[2], results, notes, floor.proc.pid)
        except BenchError as e:
            if rnd == 1:
                say(f"  (s) skipped: {e}")
        with NodeServer(cgroup=cgdir) as srv:
            srv.fresh("GET", "/fast")
            with Floor(opt.build, "cgroup", cgdir, stats=False) as floor:
                measure_condition(opt.build, SYSCALL_CONDITIONS[3], results, notes, floor.proc.pid)
        d = start_hostmon(opt.hostmon_args)
        try:
            time.sleep(opt.settle)
            measure_condition(opt.build, SYSCALL_CONDITIONS[4], results, notes, d.proc.pid)
            with NodeServer(cgroup=cgdir) as srv:
                srv.fresh("GET", "/fast")
                time.sleep(opt.settle)
                measure_condition(opt.build, SYSCALL_CONDITIONS[5], results, notes, d.proc.pid)
            with FpmPool(listen="unix", cgroup=cgdir):
                time.sleep(opt.settle)
                tier = php_tier(d)
                if tier is None:
                    raise BenchError(f"hostmon did not attach its PHP-FPM hooks for the pool:\n{d.logs()}")
                opt.php_tiers.add(tier)
                measure_condition(opt.build, SYSCALL_CONDITIONS[6], results, notes, d.proc.pid)
            time.sleep(opt.settle)
            measure_condition(opt.build, SYSCALL_CONDITIONS[7], results, notes, d.proc.pid)
        finally:
            stop_hostmon(d)
    return results, notes


# ---- throughput -------------------------------------------------------------------------------

ARMS = ("a", "f", "h")
ARM_NAMES = {"a": "no hostmon", "f": "floor: empty cgroup_skb on node's cgroup", "h": "hostmon"}


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


def children_cpu_usec():
    """User + system CPU (us) of this script's reaped children (wrk() reaps wrk before it returns)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1e6


def pin(server_pid):
    """On 2+ CPUs: node (every thread) on CPU 0, this script and what it starts (wrk, hostmon, the
    floor) on CPU 1, so the scheduler's placement does not add its own noise to the comparison."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return
    for tid in os.listdir(f"/proc/{server_pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {cpus[0]})
        except OSError:
            pass
    os.sched_setaffinity(0, {cpus[1]})
    say(f"  pinned: node on CPU {cpus[0]}, wrk, hostmon and the floor on CPU {cpus[1]}")


def one_run(opt, arm, srv, cgdir, url):
    """One wrk run with arm's hooks in place; returns (wrk result, node us/request, wrk us/request,
    histogram count or None, hooks note, disturbance note or None)."""
    before = cgroup_programs(cgdir)  # none of them is this arm's: someone else's programs on node's cgroup
    with contextlib.ExitStack() as stack:
        floor = stack.enter_context(Floor(opt.build, "cgroup", cgdir, stats=False)) if arm == "f" else None
        d = start_hostmon(opt.hostmon_args) if arm == "h" else None
        if d:
            stack.callback(stop_hostmon, d)
            time.sleep(opt.settle)
        own = {srv.pid} | ({d.proc.pid} if d else set()) | ({floor.proc.pid} if floor else set())
        hooks, servers = others(own)
        held = syscall_hook_owners()
        progs = cgroup_programs(cgdir)
        hooks_note = (f"cgroup progs={sorted(progs.values()) or '-'} sys_enter/exit="
                      f"{'?' if held is None else ('yes' if d and d.proc.pid in held else 'no')}")
        node0, wrk0 = node_cpu_usec(cgdir), children_cpu_usec()
        r = wrk(url, opt.seconds, opt.connections, opt.threads)
        node1, wrk1 = node_cpu_usec(cgdir), children_cpu_usec()
        hooks2, servers2 = others(own)
        after = cgroup_programs(cgdir)
        samples = parse_samples(scrape(d)) if d else None
    # foreign: there before this arm attached anything; and in (a) everything, in (f) all but the floor's
    # (in (h) a program that came during the run cannot be told from hostmon's own)
    foreign = {i: n for i, n in {**progs, **after}.items()
               if i in before or arm == "a" or (arm == "f" and not n.startswith("floor_"))}
    n = None
    if d:
        n = histogram_count(samples)
        if n is None and http_latency_listed(samples):
            raise BenchError("the http_latency collector is up but exported no runtime=\"node\" requests: "
                             "it did not see the node server")
    per_req = (lambda us: us / r["requests"] if r["requests"] else None)
    disturbed = None
    if hooks | hooks2 | servers | servers2 or foreign:
        disturbed = (f"[disturbed: other syscall hooks {sorted(hooks | hooks2)[:5]}, "
                     f"other node/php {sorted(servers | servers2)[:5]}, "
                     f"other programs on node's cgroup {sorted(foreign.values())[:5]}]")
    return r, per_req(node1 - node0), per_req(wrk1 - wrk0), n, hooks_note, disturbed


def loss_pct(base, other):
    return (1 - other / base) * 100 if base else None


def bench_throughput(opt, cgdir):
    """Returns a namespace: per arm the lists rps, node_us, wrk_us (one entry per round); per round the
    paired losses; [(histogram count, wrk responses)] of the (h) runs; runs disturbed by others."""
    say(f"== wrk /fast on node: {opt.pairs} rounds of {opt.seconds} s runs, arms (a) {ARM_NAMES['a']}, "
        f"(f) {ARM_NAMES['f']}, (h) {ARM_NAMES['h']} ({shlex.join(opt.hostmon_args)}); order rotated every "
        f"round; {opt.threads} wrk thread(s), {opt.connections} connections")
    res = {"rps": {a: [] for a in ARMS}, "node_us": {a: [] for a in ARMS}, "wrk_us": {a: [] for a in ARMS},
           "losses": {"h-a": [], "f-a": [], "h-f": []}, "counted": [], "disturbed": 0, "hooks": {}}
    affinity = os.sched_getaffinity(0)
    try:
        with NodeServer(cgroup=cgdir) as srv:
            url = srv.url("/fast")
            pin(srv.pid)
            wrk(url, 1, opt.connections, opt.threads)  # warm-up: node's JIT
            for rnd in range(1, opt.pairs + 1):
                order = ARMS[(rnd - 1) % 3:] + ARMS[:(rnd - 1) % 3]
                line, rps = [], {}
                for arm in order:
                    r, node_us, wrk_us, n, hooks_note, disturbed = one_run(opt, arm, srv, cgdir, url)
                    rps[arm] = r["rps"]
                    res["rps"][arm].append(r["rps"])
                    for key, v in (("node_us", node_us), ("wrk_us", wrk_us)):
                        if v is not None:
                            res[key][arm].append(v)
                    res["hooks"].setdefault(arm, set()).add(hooks_note)
                    line.append(f"{arm}={r['rps']:.0f}")
                    if arm == "h":
                        res["counted"].append((n, r["requests"]))
                        line.append(f"(collector counted {n:.0f} of wrk's {r['requests']} responses)" if n is not None
                                    else "(no http histogram: substitute collectors?)")
                    if r["non_2xx_3xx"] or any(r["socket_errors"].values()):
                        line.append(f"[errors: non-2xx/3xx={r['non_2xx_3xx']} socket={r['socket_errors']}]")
                    if disturbed:
                        res["disturbed"] += 1
                        line.append(disturbed)
                for key, (base, other) in (("h-a", ("a", "h")), ("f-a", ("a", "f")), ("h-f", ("f", "h"))):
                    res["losses"][key].append(loss_pct(rps[base], rps[other]))
                say(f"  round {rnd}: " + " ".join(line) + " loss h/a={:.1f}% f/a={:.1f}% h/f={:.1f}%".format(
                    *(res["losses"][k][-1] for k in ("h-a", "f-a", "h-f"))))
    finally:
        os.sched_setaffinity(0, affinity)
    for arm in ARMS:
        say(f"  hooks in arm ({arm}): {'; '.join(sorted(res['hooks'].get(arm, [])))}")
    return res


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


# ---- profile ----------------------------------------------------------------------------------

# leaf symbols of the cgroup-BPF path: the programs (JIT-ed as bpf_prog_<tag>_<name>), what they call
# and the kernel's cgroup_skb entry; a floor run has the same plumbing around empty programs
BPF_PATH = re.compile(r"^(bpf_prog_[0-9a-f]+_\w+|bpf_sk_storage_\w+|bpf_local_storage_\w+|bpf_skb_\w+|"
                      r"bpf_sk_fullsock|bpf_ktime_get_ns|ktime_get_mono_fast_ns|__?htab_\w+|htab_\w+|"
                      r"__cgroup_bpf_run_filter_skb|__bpf_prog_run_save_cb|bpf_prog_run\w*|"
                      r"bpf_map_\w+|jhash\w*|bpf_get_current_task\w*)$")
PROFILED = ("node", "wrk")


def perf_samples(path):
    """{comm: {"all": n, "bpf": n, "syms": Counter}} of a `perf record` file, leaf symbols only
    (syms: the BPF path's samples by symbol)."""
    p = subprocess.run(["perf", "script", "-i", path, "-F", "comm,ip,sym"], capture_output=True, text=True,
                       timeout=300)
    out = {c: {"all": 0, "bpf": 0, "syms": collections.Counter()} for c in PROFILED}
    for line in p.stdout.splitlines():
        parts = line.split()
        if not parts or parts[0] not in out:
            continue
        c = out[parts[0]]
        c["all"] += 1
        if len(parts) >= 3 and BPF_PATH.match(parts[2]):
            c["bpf"] += 1
            c["syms"][parts[2]] += 1
    return out


def bench_profile(opt, cgdir):
    if not shutil.which("perf"):
        raise BenchError("perf is missing (Debian's linux-perf)")
    placement = "node and wrk both on CPU 0" if opt.profile_same_cpu else "node on CPU 0, wrk on CPU 1"
    say(f"== where the CPU goes: perf record -e cpu-clock -F {opt.profile_hz} on CPUs 0 and 1 during a "
        f"{opt.seconds} s wrk run per arm ({placement}; only their own samples count)")
    rows = {}
    affinity = os.sched_getaffinity(0)
    cpus = sorted(affinity)[:2]
    with NodeServer(cgroup=cgdir) as srv, contextlib.ExitStack() as restore, \
            tempfile.TemporaryDirectory(prefix="hostmon-bench-perf-") as tmp:
        restore.callback(os.sched_setaffinity, 0, affinity)
        srv.fresh("GET", "/fast")
        pin(srv.pid)
        if opt.profile_same_cpu:
            os.sched_setaffinity(0, {cpus[0]})  # wrk, started from here, beside node
        url = srv.url("/fast")
        for arm in ("f", "h"):
            with contextlib.ExitStack() as stack:
                if arm == "f":
                    stack.enter_context(Floor(opt.build, "cgroup", cgdir, stats=False))
                else:
                    d = start_hostmon(opt.hostmon_args)
                    stack.callback(stop_hostmon, d)
                time.sleep(opt.settle)
                data = os.path.join(tmp, f"perf-{arm}.data")
                rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(opt.profile_hz),
                                        "-C", ",".join(map(str, cpus)), "-o", data, "--", "sleep", str(opt.seconds + 2)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
                r = wrk(url, opt.seconds, opt.connections, opt.threads)
                rec.wait()
            counts = perf_samples(data)
            os.unlink(data)
            # the samples of the wrk run only are wanted; the second of perf before and after it holds
            # idle node and wrk, which add nothing to either count
            us_per_sample = 1e6 / opt.profile_hz
            req = max(r["requests"], 1)
            row = {c: {"cpu_us": counts[c]["all"] * us_per_sample / req,
                       "bpf_ns": counts[c]["bpf"] * us_per_sample * 1000 / req} for c in PROFILED}
            rows[arm] = (row, r)
            say(f"  ({arm}) {r['rps']:.0f} req/s; " + "; ".join(
                f"{c}: {row[c]['cpu_us']:.2f} us/request, of it {row[c]['bpf_ns']:.0f} ns in the BPF path"
                for c in PROFILED))
            for c in PROFILED:
                top = counts[c]["syms"].most_common(6)
                say(f"      {c}'s largest in the BPF path, ns per request: " + ", ".join(
                    f"{sym} {n * us_per_sample * 1000 / req:.0f}" for sym, n in top))
    return rows


def profile_report(rows):
    lines = []
    f, h = rows["f"][0], rows["h"][0]
    for c in PROFILED:
        added = h[c]["bpf_ns"] - f[c]["bpf_ns"]
        share = h[c]["bpf_ns"] / 1000 / h[c]["cpu_us"] * 100 if h[c]["cpu_us"] else None
        floor_share = f[c]["bpf_ns"] / 1000 / f[c]["cpu_us"] * 100 if f[c]["cpu_us"] else None
        lines.append(f"| {c}'s CPU per request in the BPF path (perf samples) | | | {h[c]['bpf_ns']:.0f} ns = "
                     f"{fmt(share, '.2f')}% of its {h[c]['cpu_us']:.2f} us ({added:+.0f} ns over the floor) | "
                     f"{f[c]['bpf_ns']:.0f} ns = {fmt(floor_share, '.2f')}% |")
    return lines


# ---- report -----------------------------------------------------------------------------------

def verdict(value, goal, must):
    if value is None:
        return "-"
    return "goal met" if value <= goal else ("within must" if must is None or value <= must else "MUST MISSED")


def median_or_none(values):
    return statistics.median(values) if values else None


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def throughput_report(opt, t):
    rps = {a: median_or_none(t["rps"][a]) for a in ARMS}
    node = {a: median_or_none(t["node_us"][a]) for a in ARMS}
    client = {a: median_or_none(t["wrk_us"][a]) for a in ARMS}
    n = opt.pairs
    for a in ARMS:
        say(f"| ({a}) {ARM_NAMES[a]}: wrk /fast req/s, median of {n} x {opt.seconds} s | | {rps[a]:.0f} | |")
        say(f"| ({a}) node CPU per request (its cgroup's cpu.stat; steal does not inflate it), median | | "
            f"{fmt(node[a], '.2f')} us | |")
        say(f"| ({a}) wrk CPU per request (its rusage), median | | {fmt(client[a], '.2f')} us | |")
    for key, (base, other), goal, must in (("h-a", ("a", "h"), GOAL_LOSS_PCT, MUST_LOSS_PCT),
                                           ("f-a", ("a", "f"), None, None), ("h-f", ("f", "h"), None, None)):
        loss = loss_pct(rps[base], rps[other])
        losses = t["losses"][key]
        goal_txt = f"<= {goal:g}% (must <= {must:g}%)" if goal is not None else ""
        say(f"| throughput loss ({other}) vs ({base}), between the medians | {goal_txt} | {fmt(loss, '.2f')}% | "
            f"{verdict(loss, goal, must) if goal is not None else ''} |")
        say(f"| throughput loss ({other}) vs ({base}), median of the rounds' paired losses (spread "
            f"{min(losses):.1f}..{max(losses):.1f}) | | {statistics.median(losses):.2f}% | |")
    for base, other in (("a", "h"), ("a", "f"), ("f", "h")):
        if node[base] and node[other]:
            say(f"| node CPU per request added, ({other}) vs ({base}) | "
                f"{f'<= {GOAL_CPU_PCT:g}%' if (base, other) == ('a', 'h') else ''} | "
                f"{(node[other] / node[base] - 1) * 100:+.2f}% | |")
    if t["disturbed"]:
        say(f"| runs with other syscall hooks, node/php servers, or others' programs on node's cgroup | none | "
            f"{t['disturbed']} of "
            f"{3 * n} | CHECK |")
    counted = t["counted"]
    if counted and all(c is not None for c, _ in counted):
        ok = sum(1 for c, w in counted if w <= c <= w + opt.connections)
        say(f"| (h) runs whose histogram count is wrk's responses (+ <= {opt.connections} unread) | all | "
            f"{ok} of {len(counted)} | {'ok' if ok == len(counted) else 'CHECK'} |")
    else:
        say("| request histogram count | | absent (no http_latency collector) | |")
    return rps, node


def syscalls_report(opt, syscalls):
    """Prints the syscall rows; returns {kind: {condition: added ns}}."""
    results, notes = syscalls
    added = {}
    for kind in SYSCALL_KINDS:
        base = statistics.median(results[(SYSCALL_CONDITIONS[0], kind)])
        added[kind] = {}
        say(f"| {kind} ns per syscall, no hostmon (median of {opt.rounds} best-of-5) | | {base:.1f} | |")
        for cond in SYSCALL_CONDITIONS[1:]:
            if (cond, kind) not in results:
                continue  # a floor this kernel has no hooks for
            added[kind][cond] = statistics.median(results[(cond, kind)]) - base
            held = notes[cond]["hooked"]
            hook = ("sys_enter/exit hooks held" if held == {True} else "no sys_enter/exit hooks" if held == {False}
                    else "hooks unknown" if held == {None} else "hooks varied")
            extra = []
            if notes[cond]["targets"] and not cond.startswith(("c:", "g:", "p:")):
                extra.append(f"node/php running: {sorted(notes[cond]['targets'])[:5]}")
            foreign = notes[cond]["foreign"] | notes[SYSCALL_CONDITIONS[0]]["foreign"]
            if foreign:
                extra.append(f"other sys_enter/exit hooks present: {sorted(foreign)[:5]}")
            goal_txt = ("floor, syscalls tier and old mechanism" if cond.startswith("r:") else
                        "floor, sock_length tier" if cond.startswith("s:") else
                        "floor, cgroup mechanism" if cond.startswith("g:") else
                        f"<= {GOAL_ADDED_NS:g} ns (must <= {MUST_ADDED_NS:g})" if cond.startswith(("c:", "p:"))
                        else "about 0")
            v = (verdict(added[kind][cond], GOAL_ADDED_NS, MUST_ADDED_NS) if cond.startswith(("c:", "p:"))
                 else "-")
            if cond.startswith("p:"):
                extra.append(f"PHP-FPM hooks tier {'/'.join(sorted(opt.php_tiers))}")
            say(f"| {kind}: added by {cond[cond.index(':') + 2:]} ({hook}) | {goal_txt} | "
                f"{added[kind][cond]:+.1f} ns" + (f" ({'; '.join(extra)})" if extra else "") + f" | {v} |")
    return added


def report(opt, syscalls, throughput, programs, profile=None):
    say("")
    say(f"== summary: hostmon {shlex.join(opt.hostmon_args)}, {os.cpu_count()} CPUs, kernel {os.uname().release}, "
        f"{time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}")
    if opt.cgroup_filter:
        say(f"   (hostmon was given {shlex.join(opt.cgroup_filter)}: only the bench's own node is a target)")
    say("| what | goal | measured | verdict |")
    say("|---|---|---|---|")
    rps = node = added = None
    if throughput:
        rps, node = throughput_report(opt, throughput)
    if syscalls:
        added = syscalls_report(opt, syscalls)
    for prog, runs, ns, per_req in programs or []:
        say(f"| program {prog}: ns per run (kernel stats) | | {fmt(ns, '.1f')} "
            f"({runs:.0f} runs, {fmt(per_req, '.1f')} per request) | |")

    say("")
    say(f"== cost table (issue 11): `/usr/bin/python3 bench/http_latency.py {' '.join(opt.argv)}`; measured = "
        "hostmon, floor = empty programs on the same hooks, both against no hostmon in the same run")
    say("| what | goal | must | measured | floor |")
    say("|---|---|---|---|---|")
    if rps:
        say(f"| wrk /fast throughput loss, medians of {opt.pairs} rotated rounds | <= {GOAL_LOSS_PCT:g}% | "
            f"<= {MUST_LOSS_PCT:g}% | {fmt(loss_pct(rps['a'], rps['h']), '.2f')}% "
            f"({verdict(loss_pct(rps['a'], rps['h']), GOAL_LOSS_PCT, MUST_LOSS_PCT)}; "
            f"{fmt(loss_pct(rps['f'], rps['h']), '.2f')}% vs the floor) | "
            f"{fmt(loss_pct(rps['a'], rps['f']), '.2f')}% (empty cgroup_skb on node's cgroup) |")
        cpu_h = (node["h"] / node["a"] - 1) * 100 if node["a"] and node["h"] else None
        cpu_f = (node["f"] / node["a"] - 1) * 100 if node["a"] and node["f"] else None
        say(f"| node CPU per request added | <= {GOAL_CPU_PCT:g}% | | {fmt(cpu_h, '+.2f')}% "
            f"({fmt(node['a'], '.2f')} -> {fmt(node['h'], '.2f')} us) | {fmt(cpu_f, '+.2f')}% |")
    for line in profile_report(profile) if profile else []:
        say(line)
    if added:
        cond = {c.split(":")[0]: c for c in SYSCALL_CONDITIONS}
        for kind in SYSCALL_KINDS:
            a = added[kind]
            say(f"| untargeted {kind} added ns, a node target running | <= {GOAL_ADDED_NS:g} | "
                f"<= {MUST_ADDED_NS:g} | {a[cond['c']]:+.1f} "
                f"({verdict(a[cond['c']], GOAL_ADDED_NS, MUST_ADDED_NS)}) | "
                f"{a[cond['g']]:+.1f} (empty cgroup_skb on node's cgroup); "
                f"{a[cond['r']]:+.1f} (empty raw sys_enter/sys_exit, the old mechanism) |")
        tier = "/".join(sorted(opt.php_tiers))
        floor_cond = FLOOR_OF_TIER.get(tier)
        for kind in SYSCALL_KINDS:
            a = added[kind]
            floor = (f"{a[cond[floor_cond[:-1]]]:+.1f} ({SYSCALL_CONDITIONS_TEXT[floor_cond]}, the same hooks)"
                     if floor_cond and cond[floor_cond[:-1]] in a else "no floor measured for this tier")
            say(f"| untargeted {kind} added ns, a php-fpm target running (PHP-FPM hooks tier {tier}) | "
                f"<= {GOAL_ADDED_NS:g} | <= {MUST_ADDED_NS:g} | {a[cond['p']]:+.1f} "
                f"({verdict(a[cond['p']], GOAL_ADDED_NS, MUST_ADDED_NS)}) | {floor} |")


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
    ap.add_argument("--no-cgroup-filter", dest="filter", action="store_false",
                    help="do not pass hostmon --http-include-cgroup for the bench's own cgroup")
    ap.add_argument("--profile-hz", type=int, default=10000, help="perf samples a second per CPU (profile)")
    ap.add_argument("--profile-same-cpu", action="store_true",
                    help="profile with wrk pinned on node's CPU (the socket's state stays on one CPU)")
    ap.add_argument("--only", default="syscalls,throughput,programs,profile")
    opt = ap.parse_args(argv)
    opt.argv = argv
    opt.cgroup_filter = []
    opt.php_tiers = set()
    opt.build = os.path.join(ROOT, opt.build) if not os.path.isabs(opt.build) else opt.build
    opt.only = set(opt.only.split(","))
    parts = {"syscalls", "throughput", "programs", "profile"}
    if opt.only - parts:
        ap.error(f"--only: unknown part(s) {sorted(opt.only - parts)}")
    if min(opt.pairs, opt.seconds, opt.connections, opt.threads, opt.rounds) < 1 or opt.connections < opt.threads:
        ap.error("pairs, seconds, connections, threads and rounds must be >= 1, connections >= threads")
    return opt


def main(argv):
    opt = parse_args(argv)
    hostmon_test.BIN = os.path.join(opt.build, "hostmon")
    tools = [os.path.join(opt.build, "bench", name) for name in ("syscall_bench", "hook_floor_bench")]
    missing = [what for what, ok in [(hostmon_test.BIN, os.access(hostmon_test.BIN, os.X_OK))]
               + [(t, os.access(t, os.X_OK)) for t in tools]
               + [("node", node_binary()), ("wrk", wrk_binary())] if not ok]
    if missing:
        say(f"bench/http_latency.py: missing {', '.join(missing)} "
            f"(make all {' '.join(os.path.relpath(t, ROOT) for t in tools)}; make deps)")
        return 2
    if os.geteuid() != 0:
        say("bench/http_latency.py: needs root (BPF, cgroups)")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    env = Env("hostmon-bench-http", cgroup2_mount())
    syscalls = throughput = programs = profile = None
    try:
        cg = env.mkdir("")
        cgdir = env.path(cg)
        if opt.filter:
            # other node servers on this machine (other people's tests) must not become targets;
            # the path is letters, digits, '-' and '/', so it is its own regex
            assert re.fullmatch(r"[/a-z0-9-]+", cg), cg
            opt.cgroup_filter = ["--http-include-cgroup", f"^{cg}(/|$)"]
            opt.hostmon_args = opt.hostmon_args + opt.cgroup_filter
        say(f"== http_latency collector bench: hostmon {shlex.join(opt.hostmon_args)}; node in cgroup {cg}"
            + (" (the filter makes it hostmon's only target)" if opt.filter else
               " (no cgroup filter: any node/php process on the machine is a target)"))
        # fail early and clearly if hostmon refuses the arguments
        stop_hostmon(start_hostmon(opt.hostmon_args))
        if "syscalls" in opt.only:
            syscalls = bench_syscalls(opt, cgdir)
        if "throughput" in opt.only:
            throughput = bench_throughput(opt, cgdir)
        if "programs" in opt.only:
            programs = bench_programs(opt, cgdir)
        if "profile" in opt.only:
            profile = bench_profile(opt, cgdir)
    except BenchError as e:
        say(f"bench/http_latency.py: FAILED: {e}")
        return 1
    finally:
        left = env.cleanup()
        if left:
            say(f"# warning: could not remove {left}")
    report(opt, syscalls, throughput, programs, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
