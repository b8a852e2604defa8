"""php-fpm's CPU per request with the http_latency collector's PHP-FPM hooks, beside no hostmon and
beside empty programs on the same hooks in the same run: what a PHP worker pays for being measured
(USDT probes and the tier's read/write hooks), and how much of it is the hooks' own floor.

Usage (root):
    /usr/bin/python3 bench/http_latency_php.py [BUILD_DIR] [--other-build DIR] [--pairs 5]
        [--requests 2000] [--warm 3000] [--mode usdt|fastcgi] [--bpf-stats]
        [--floor sock_length|syscalls]
One php-fpm pool (2 workers, unix socket) in its own throw-away cgroup2 directory serves
tests/fixtures/php/notfound.php through FastCGI straight from this script (no nginx), --requests
per run, in --pairs rounds whose arm order rotates: (a) no hostmon, (f) the floor: empty programs
on the hooks the tier attaches (BUILD_DIR/bench/hook_floor_bench --no-stats --floor, default
sock_length: the socket length tracepoints; in USDT mode also empty programs on php-fpm's two USDT
probes), so what the programs cost shows beside what the hooks alone cost, (h) BUILD_DIR/hostmon
--collectors http_latency --http-include-cgroup '^CG(/|$)' (--http-php-usdt=false with --mode
fastcgi), and with --other-build (o) that build's hostmon the same way (an earlier commit, to see
what a change costs). hostmon is started for each run and given 2 s to attach the pool's probes.
Each run first serves --warm requests unmeasured (see one_run). Measured per run: the pool cgroup's
cpu.stat usage_usec delta / requests (every program the workers trigger runs in their context and
is charged there); each hostmon run must count every request (its histogram). Reported: medians
per arm, and the added microseconds and percent. The tier of the PHP-FPM hooks is printed (hostmon_http_latency_php_hooks_attached).
--bpf-stats runs the hostmon arms with --bpf-stats and adds, per program, its runs per request and
ns per run (medians over the rounds) and their product, the BPF time per request: where a worker's
microseconds go. The kernel's statistics read the clock twice per run, so with it the CPU figures
above are not the cost; run without it for those.
"""
import argparse
import contextlib
import os
import re
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
import hostmon_test  # noqa: E402
from cgroup_test import Env, cgroup2_mount, scrape  # noqa: E402
from hostmon_test import Daemon, parse_samples  # noqa: E402
from php_env import FpmPool, php_fpm_binary  # noqa: E402
from http_latency import Floor  # noqa: E402  (bench/, this script's directory)

TIER_RE = re.compile(r'hostmon_http_latency_php_hooks_attached\{tier="([^"]*)"\}')
PROG_RUNS_RE = re.compile(r'hostmon_bpf_program_runs_total\{program="([^"]+)"\}')
COUNT_RE = re.compile(r'hostmon_http_server_request_duration_seconds_count\{cgroup="([^"]*)".*runtime="php"')


def say(msg):
    print(msg, flush=True)


def usage_usec(cgdir):
    with open(os.path.join(cgdir, "cpu.stat")) as f:
        for line in f:
            k, v = line.split()
            if k == "usage_usec":
                return int(v)
    raise RuntimeError(f"no usage_usec in {cgdir}/cpu.stat")


def php_count(d, cg):
    return sum(v for k, v in parse_samples(scrape(d)).items() if (m := COUNT_RE.match(k)) and m.group(1) == cg)


def program_runs(samples):
    """{program: (runs, seconds)} of hostmon's --bpf-stats series."""
    out = {}
    for k, v in samples.items():
        if m := PROG_RUNS_RE.fullmatch(k):
            prog = m.group(1)
            out[prog] = (v, samples.get(f'hostmon_bpf_program_run_seconds_total{{program="{prog}"}}', 0))
    return out


def program_deltas(before, after, requests):
    """{program: (runs per request, ns per run)} of the programs that ran between two samples."""
    out = {}
    for prog, (runs, secs) in after.items():
        r0, s0 = before.get(prog, (0, 0))
        if runs > r0:
            out[prog] = ((runs - r0) / requests, (secs - s0) * 1e9 / (runs - r0))
    return out


def one_run(opt, arm, pool, cg, cgdir):
    """CPU microseconds per request of the pool in one run of arm; (value, note, {program: (runs per
    request, ns per run)} with --bpf-stats)."""
    d = None
    progs = {}
    floors = contextlib.ExitStack()
    if arm == "f":
        floors.enter_context(Floor(opt.build, opt.floor, stats=False))
        if opt.mode == "usdt":
            floors.enter_context(Floor(opt.build, "usdt", php_fpm_binary(), stats=False))
    elif arm != "a":
        hostmon_test.BIN = os.path.join(opt.build if arm == "h" else opt.other_build, "hostmon")
        args = ["--collectors", "http_latency", "--http-include-cgroup", f"^{cg}(/|$)"]
        args += ["--bpf-stats"] if opt.bpf_stats else []
        d = Daemon(*args, *(["--http-php-usdt=false"] if opt.mode == "fastcgi" else []))
        time.sleep(2)
    try:
        # every arm serves --warm requests first, unmeasured: under freshly attached programs the
        # pool's first couple of thousand requests cost it 10-15 us more each than the ones after
        # (measured 2026-12-05, whether hostmon had run 2 s or 6 s; not with empty programs), a
        # one-off that would otherwise be read as a per-request cost
        for _ in range(opt.warm):
            pool.request("php/notfound.php")
        before_count = php_count(d, cg) if d else 0
        before_progs = program_runs(parse_samples(scrape(d))) if d and opt.bpf_stats else {}
        start = usage_usec(cgdir)
        for _ in range(opt.requests):
            r = pool.request("php/notfound.php")
            if r.status != 404:
                raise RuntimeError(f"notfound.php answered {r.status}")
        used = usage_usec(cgdir) - start
        note = ""
        if d:
            time.sleep(0.3)
            counted = php_count(d, cg) - before_count
            samples = parse_samples(scrape(d))
            if opt.bpf_stats:
                progs = program_deltas(before_progs, program_runs(samples), opt.requests)
            tiers = [m.group(1) for k, v in samples.items() if v == 1 and (m := TIER_RE.fullmatch(k))]
            note = f" counted={counted:.0f} tier={'/'.join(tiers) or '-'}"
            if counted != opt.requests:
                note += " (NOT every request counted)"
        return used / opt.requests, note, progs
    finally:
        floors.close()
        if d:
            d.stop()
            d.close()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--other-build", default=None, help="another build's directory: arm (o)")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warm", type=int, default=3000, help="unmeasured requests first, in every arm")
    ap.add_argument("--mode", choices=("usdt", "fastcgi"), default="usdt")
    ap.add_argument("--bpf-stats", action="store_true", help="per-program runs and ns per request")
    ap.add_argument("--floor", choices=("sock_length", "syscalls"), default="sock_length",
                    help="the floor arm's hooks: those of the tier hostmon attaches (printed per run)")
    opt = ap.parse_args(argv)
    opt.build = opt.build if os.path.isabs(opt.build) else os.path.join(ROOT, opt.build)
    arms = ["a", "f", "h"] + (["o"] if opt.other_build else [])
    env = Env("hostmon-bench-php", cgroup2_mount())
    results = {a: [] for a in arms}
    stats = {a: [] for a in arms}
    try:
        cg = env.mkdir("")
        with FpmPool(listen="unix", cgroup=env.path(cg)) as pool:
            for _ in range(50):  # warm: opcache, the workers' first requests
                pool.request("php/notfound.php")
            for rnd in range(opt.pairs):
                order = arms[rnd % len(arms):] + arms[:rnd % len(arms)]
                for arm in order:
                    v, note, progs = one_run(opt, arm, pool, cg, env.path(cg))
                    results[arm].append(v)
                    stats[arm].append(progs)
                    say(f" round {rnd + 1} {arm}: {v:.2f} us/request{note}")
    finally:
        env.cleanup()
    base = statistics.median(results["a"])
    say(f"== php-fpm CPU per request (notfound.php over FastCGI, {opt.mode} mode, medians of {opt.pairs} rounds, "
        f"kernel {os.uname().release}): `/usr/bin/python3 bench/http_latency_php.py {' '.join(argv)}`")
    say("| arm | us per request | added |")
    say("|---|---|---|")
    say(f"| a: no hostmon | {base:.2f} | |")
    floor_name = f"f: floor, empty {opt.floor}" + (" + usdt" if opt.mode == "usdt" else "") + " programs"
    for arm, name in (("f", floor_name), ("h", f"h: hostmon ({opt.build})"),
                      ("o", f"o: hostmon ({opt.other_build})")):
        if arm in results:
            m = statistics.median(results[arm])
            say(f"| {name} | {m:.2f} | {m - base:+.2f} us ({(m / base - 1) * 100:+.1f}%) |")
    if opt.bpf_stats:
        for arm in arms[2:]:
            say_program_stats(arm, stats[arm])
    return 0


def say_program_stats(arm, rounds):
    """The --bpf-stats table of one arm: medians over its rounds."""
    say(f"== {arm}: BPF programs per request (--bpf-stats, medians of {len(rounds)} rounds)")
    say("| program | runs per request | ns per run | us per request |")
    say("|---|---|---|---|")
    total = 0.0
    for prog in sorted({p for r in rounds for p in r}):
        runs = statistics.median(r[prog][0] if prog in r else 0 for r in rounds)
        ns = statistics.median(r[prog][1] for r in rounds if prog in r)
        total += runs * ns / 1000
        say(f"| {prog} | {runs:.2f} | {ns:.0f} | {runs * ns / 1000:.2f} |")
    say(f"| all | | | {total:.2f} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
