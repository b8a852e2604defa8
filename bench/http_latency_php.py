"""php-fpm's CPU per request with the http_latency collector's PHP-FPM hooks, beside no hostmon in the
same run: what a PHP worker pays for being measured (USDT probes and the tier's read/write hooks).

Usage (root):
    /usr/bin/python3 bench/http_latency_php.py [BUILD_DIR] [--other-build DIR] [--pairs 5]
        [--requests 2000] [--mode usdt|fastcgi]
One php-fpm pool (2 workers, unix socket) in its own throw-away cgroup2 directory serves
tests/fixtures/php/notfound.php through FastCGI straight from this script (no nginx), --requests
per run, in --pairs rounds whose arm order rotates: (a) no hostmon, (h) BUILD_DIR/hostmon
--collectors http_latency --http-include-cgroup '^CG(/|$)' (--http-php-usdt=false with --mode
fastcgi), and with --other-build (o) that build's hostmon the same way (an earlier commit, to see
what a change costs). hostmon is started for each run and given 2 s to attach the pool's probes.
Measured per run: the pool cgroup's cpu.stat usage_usec delta / requests (every program the
workers trigger runs in their context and is charged there); each hostmon run must count every
request (its histogram). Reported: medians per arm, and the added microseconds and percent. The
tier of the PHP-FPM hooks is printed (hostmon_http_latency_php_hooks_attached).
"""
import argparse
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
from php_env import FpmPool  # noqa: E402

TIER_RE = re.compile(r'hostmon_http_latency_php_hooks_attached\{tier="([^"]*)"\}')
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


def one_run(opt, arm, pool, cg, cgdir):
    """CPU microseconds per request of the pool in one run of arm; (value, note)."""
    d = None
    if arm != "a":
        hostmon_test.BIN = os.path.join(opt.build if arm == "h" else opt.other_build, "hostmon")
        args = ["--collectors", "http_latency", "--http-include-cgroup", f"^{cg}(/|$)"]
        d = Daemon(*args, *(["--http-php-usdt=false"] if opt.mode == "fastcgi" else []))
        time.sleep(2)
    try:
        before_count = php_count(d, cg) if d else 0
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
            tiers = [m.group(1) for k, v in parse_samples(scrape(d)).items() if v == 1 and (m := TIER_RE.fullmatch(k))]
            note = f" counted={counted:.0f} tier={'/'.join(tiers) or '-'}"
            if counted != opt.requests:
                note += " (NOT every request counted)"
        return used / opt.requests, note
    finally:
        if d:
            d.stop()
            d.close()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--other-build", default=None, help="another build's directory: arm (o)")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--mode", choices=("usdt", "fastcgi"), default="usdt")
    opt = ap.parse_args(argv)
    opt.build = opt.build if os.path.isabs(opt.build) else os.path.join(ROOT, opt.build)
    arms = ["a", "h"] + (["o"] if opt.other_build else [])
    env = Env("hostmon-bench-php", cgroup2_mount())
    results = {a: [] for a in arms}
    try:
        cg = env.mkdir("")
        with FpmPool(listen="unix", cgroup=env.path(cg)) as pool:
            for _ in range(50):  # warm: opcache, the workers' first requests
                pool.request("php/notfound.php")
            for rnd in range(opt.pairs):
                order = arms[rnd % len(arms):] + arms[:rnd % len(arms)]
                for arm in order:
                    v, note = one_run(opt, arm, pool, cg, env.path(cg))
                    results[arm].append(v)
                    say(f" round {rnd + 1} {arm}: {v:.2f} us/request{note}")
    finally:
        env.cleanup()
    base = statistics.median(results["a"])
    say(f"== php-fpm CPU per request (notfound.php over FastCGI, {opt.mode} mode, medians of {opt.pairs} rounds, "
        f"kernel {os.uname().release}): `/usr/bin/python3 bench/http_latency_php.py {' '.join(argv)}`")
    say("| arm | us per request | added |")
    say("|---|---|---|")
    say(f"| a: no hostmon | {base:.2f} | |")
    for arm, name in (("h", opt.build), ("o", opt.other_build)):
        if arm in results:
            m = statistics.median(results[arm])
            say(f"| {arm}: hostmon ({name}) | {m:.2f} | {m - base:+.2f} us "
                f"({(m / base - 1) * 100:+.1f}%) |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
