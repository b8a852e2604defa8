"""Self-test of the php test environment (php_env.py): real php-fpm pools behind nginx, no hostmon.

For a TCP and a unix-socket pool, each in a fresh cgroup2 directory:
  1. Laravel answers / with 200 "ok", /status/404 with 404, /sleep?ms=30 after >= 30 ms; the plain
     script /php/notfound.php answers 404 (through nginx and straight over FastCGI);
  2. /burn?seconds=1 grows the pool cgroup's cpu.stat usage_usec by more than 0.5 s;
  3. the master and every worker (running as nobody) are in the pool's cgroup, and only they;
  4. SIGUSR2 replaces every worker and keeps the master pid; the new workers serve requests;
  5. after stop() no process of the pool or of nginx is left, their directories are gone, and the
     cgroup can be removed; the fixture tree was not written to.
"""
import os
import pwd

from cgroup_test import Env, cgroup2_mount, cgroup_of, cgroup_procs, info, stat_value
from hostmon_test import main
from php_env import FIXTURES, POOL_USER, FpmPool, Nginx, identities, nginx_binary, php_fpm_binary, still_running

BURN_S = 1.0


def usage_s(cgdir):
    return stat_value(os.path.join(cgdir, "cpu.stat"), "usage_usec") / 1e6


def uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def tree_snapshot(top):
    """(path, size, mtime) of every file and directory below top."""
    out = set()
    for d, dirs, files in os.walk(top):
        for name in dirs + files:
            st = os.lstat(os.path.join(d, name))
            out.add((os.path.join(d, name), st.st_size, st.st_mtime_ns))
    return out


def one_pool(t, env, listen):
    cg = env.mkdir(listen)
    cgdir = env.path(cg)
    pool = FpmPool(listen=listen, cgroup=cgdir)
    web = Nginx(pool)
    try:
        pool.start()
        web.start()
        what = f"{listen} pool"

        r = web.get("/")
        t.check(r.status == 200 and r.body == b"ok", f"{what}: Laravel / -> {r}")
        r = web.get("/status/404")
        t.check(r.status == 404, f"{what}: Laravel /status/404 -> {r}")
        r = web.get("/sleep?ms=30")
        t.check(r.status == 200 and r.seconds >= 0.030, f"{what}: Laravel /sleep?ms=30 -> {r}")
        r = web.get("/php/notfound.php")
        t.check(r.status == 404 and r.body == b"not found\n", f"{what}: /php/notfound.php -> {r}")
        r = web.get("/php/sleep.php")
        t.check(r.status == 200 and r.seconds >= 0.030, f"{what}: /php/sleep.php (default 30 ms) -> {r}")
        r = pool.request("php/notfound.php")
        t.check(r.status == 404, f"{what}: notfound.php over FastCGI -> {r}")

        before = usage_s(cgdir)
        r = web.get(f"/burn?seconds={BURN_S}")
        grown = usage_s(cgdir) - before
        info(f"{what}: /burn?seconds={BURN_S} took {r.seconds:.2f} s, cgroup usage grew {grown:.2f} s")
        t.check(r.status == 200, f"{what}: /burn -> {r}")
        # the burn is wall-clock time: on a loaded 2-CPU host it gets a share of a CPU, but the
        # time lands in the pool's cgroup, which is what this checks
        t.check(grown > BURN_S / 10, f"{what}: cgroup usage grew {grown:.3f} s for a {BURN_S} s burn")

        master, workers = pool.master_pid, pool.worker_pids()
        t.check(len(workers) == 2, f"{what}: static pool has 2 workers: {workers}")
        t.check(cgroup_procs(cgdir) == sorted([master] + workers),
                f"{what}: cgroup.procs {cgroup_procs(cgdir)} == master {master} + workers {workers}")
        t.check(all(cgroup_of(p) == cg for p in [master] + workers),
                f"{what}: /proc/PID/cgroup of {[master] + workers} is {cg}")
        nobody = pwd.getpwnam(POOL_USER).pw_uid
        t.check(all(uid_of(p) == nobody for p in workers), f"{what}: workers run as {POOL_USER}")

        new = pool.reload()
        t.check(pool.master_pid == master and pool.running(), f"{what}: SIGUSR2 keeps the master pid {master}")
        t.check(len(new) == 2 and not set(new) & set(workers),
                f"{what}: SIGUSR2 replaced every worker: {workers} -> {new}")
        t.check(not still_running(identities(workers)), f"{what}: old workers {workers} are gone")
        t.check(cgroup_procs(cgdir) == sorted([master] + new), f"{what}: new workers are in {cg}")
        r = web.get("/")
        t.check(r.status == 200 and r.body == b"ok", f"{what}: Laravel / after reload -> {r}")

        started = identities(pool.pids() + web.pids())
        bases = (pool.base, web.base)
    finally:
        web.stop()
        rc = pool.stop()
    t.check(rc == 0, f"{what}: php-fpm exit code {rc} on SIGTERM")
    t.check(not still_running(started), f"{what}: nothing left running after stop: {still_running(started)}")
    t.check(not pool.leftover_workers and not web.leftover_workers,
            f"{what}: workers ended with their master (had to kill {pool.leftover_workers + web.leftover_workers})")
    t.check(cgroup_procs(cgdir) == [], f"{what}: {cg} is empty after stop")
    t.check(not any(os.path.exists(b) for b in bases), f"{what}: {bases} removed")


def run(t):
    if os.geteuid() != 0:
        t.check(False, "test_php_env needs root (cgroups, a pool running as nobody)")
        return
    if not t.check(php_fpm_binary() and nginx_binary(), "php-fpm and nginx are installed (make deps)"):
        return
    env = Env("hostmon-php", cgroup2_mount())
    fixtures = tree_snapshot(FIXTURES)
    try:
        env.mkdir("")
        for listen in ("tcp", "unix"):
            one_pool(t, env, listen)
    finally:
        left = env.cleanup()
        t.check(not left, f"removed every cgroup this test created: left {left}")
        t.check(not os.path.exists(env.path(env.base)), f"{env.path(env.base)} is gone")
    t.check(tree_snapshot(FIXTURES) == fixtures, f"nothing under {FIXTURES} was written")


if __name__ == "__main__":
    main(run, "lib/test_php_env")
