"""PHP-FPM pool saturation: requests in flight, workers, pm.max_children and saturated seconds per pool.

A real php-fpm (tests/integration/lib/php_env.py: FpmPool, pm=static, max_children=2, pool
"hostmon", in its own cgroup2 directory) behind a real nginx (in another), under hostmon
--collectors http_latency, started BEFORE them, once through USDT and once with
--http-php-usdt=false (FastCGI records). Clients ask nginx for /php/sleep.php?ms=300.

Checked, in both modes, on the series of the pool's cgroup and pool="hostmon":
  - the pool is found: hostmon_phpfpm_workers 2 (the worker processes), hostmon_phpfpm_max_children
    2 read from the master's --fpm-config file (through /proc/PID/root), and
    hostmon_phpfpm_config_info names that file with status="ok"
  - one client, requests back to back for LOAD_S: in flight is never above 1 and is 1 while a request
    runs; the saturated counter grows by less than a quarter of the time the load took (a pool with
    a free worker is not saturated: it stays at 0 here)
  - four clients: in flight is never above 2 (two workers) and is 2 while they run; the saturated
    counter grows between two scrapes taken during the load (it counts an interval still open) and
    by at least half the load's duration overall, and never by more than the time between the two
    scrapes around it; in flight is 0 once the clients are done. The wait for a worker is in
    nginx's series: its mean latency over the load is at least 1.5x php's (two requests wait for
    each one served: about 2x)
The status page (/status.json) lists the workers with pool "hostmon" and the master with none.
Only in the FastCGI run: the pool stopped, its cgroup removed and made again at the same path (a
new cgroup id, as systemctl restart makes), a new pool started there: still one series per family
for (cgroup, pool), the saturated counter not below its last value, workers 2.
Only in the USDT run: the configuration file moved away, the next rescan says status="unreadable"
and hostmon_phpfpm_max_children leaves the page while the other pool series stay; moved back, it is
2 again with status="ok".
No timing threshold: each bound is a fraction of the load's own wall time. promtool accepts the
page; the daemon exits 0; the pool and the cgroup are removed in finally blocks.
"""
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, wait_until
import json

from hostmon_test import main, parse_samples, promtool_check, request, running_daemon
from http_hist import delta, histograms, merged, quiet
from php_env import FpmPool, Nginx

POOL = "hostmon"  # the pool php_env.FpmPool writes
SLEEP_MS = 300
LOAD_S = 4.0


def pool_series(text, family, cg):
    """{labels: value} of family for the pool in cgroup cg."""
    out = {}
    for key, v in parse_samples(text).items():
        if key.startswith(family + "{") and f'cgroup="{cg}"' in key and f'pool="{POOL}"' in key:
            out[key] = v
    return out


def value(text, family, cg):
    """The one sample of family for our pool, or None."""
    s = pool_series(text, family, cg)
    return next(iter(s.values())) if len(s) == 1 else None


def config_status(text, cg):
    for key in pool_series(text, "hostmon_phpfpm_config_info", cg):
        m = re.search(r'config="([^"]*)".*status="([^"]*)"', key)
        if m:
            return m.group(1), m.group(2)
    return None, None


class Load:
    """n clients sending /php/sleep.php?ms=SLEEP_MS requests back to back to nginx for seconds."""

    def __init__(self, web, n, seconds):
        self.web, self.n, self.seconds = web, n, seconds
        self.errors, self.done = [], 0
        self.lock = threading.Lock()

    def _client(self, until):
        while time.monotonic() < until:
            try:
                r = self.web.get(f"/php/sleep.php?ms={SLEEP_MS}", timeout=30)
                with self.lock:
                    self.done += 1
                    if r.status != 200:
                        self.errors.append(r.status)
            except Exception as e:  # reported as a failed check, with the others
                with self.lock:
                    self.errors.append(repr(e))
                return

    def run(self, d, cg):
        """Runs the load while scraping the pool; (elapsed, in-flight samples, saturated samples)."""
        until = time.monotonic() + self.seconds
        threads = [threading.Thread(target=self._client, args=(until,)) for _ in range(self.n)]
        start = time.monotonic()
        for th in threads:
            th.start()
        flights, saturated = [], []
        while any(th.is_alive() for th in threads):
            text = scrape(d)
            flights.append(value(text, "hostmon_phpfpm_requests_in_flight", cg))
            saturated.append((time.monotonic(), value(text, "hostmon_phpfpm_saturated_seconds_total", cg)))
            time.sleep(0.2)
        for th in threads:
            th.join()
        return time.monotonic() - start, flights, saturated


def mean(h):
    return h["sum"] / h["count"] if h["count"] else None


def one_mode(t, env, mode):
    cg, cg_web = env.mkdir(mode), env.mkdir(mode + "-nginx")
    args = ["--collectors", "http_latency", "--cgroup-refresh-interval", "1s",
            "--http-include-cgroup", f"^{env.base}(/|$)"]
    if mode == "fastcgi":
        args.append("--http-php-usdt=false")
    with running_daemon(t, *args) as d, \
            FpmPool(listen="unix", pm="static", max_children=2, cgroup=env.path(cg)) as pool, \
            Nginx(pool, cgroup=env.path(cg_web)) as web:
        found = wait_until(lambda: (lambda s: value(s, "hostmon_phpfpm_workers", cg) == 2
                                    and value(s, "hostmon_phpfpm_max_children", cg) == 2)(scrape(d)), 10)
        text = scrape(d)
        t.check(found, f"{mode}: pool {POOL} found with 2 workers and max_children 2: "
                       f"{pool_series(text, 'hostmon_phpfpm_workers', cg)} "
                       f"{pool_series(text, 'hostmon_phpfpm_max_children', cg)}")
        _, _, body = request(d, "/status.json")
        items = (json.loads(body).get("http_targets") or {}).get("items", [])
        pools = {i["pid"]: i.get("pool") for i in items}
        t.check(all(pools.get(w) == POOL for w in pool.worker_pids()) and pools.get(pool.master_pid) == "",
                f"{mode}: the status page names the workers' pool, none for the master: {pools}")
        conf, status = config_status(text, cg)
        t.check(status == "ok" and conf == pool.config,
                f"{mode}: config_info names the master's --fpm-config {pool.config} with status ok: "
                f"{conf} {status}")

        # one client: a free worker always remains
        before = value(scrape(d), "hostmon_phpfpm_saturated_seconds_total", cg) or 0.0
        elapsed, flights, _ = Load(web, 1, LOAD_S).run(d, cg)
        after = value(scrape(d), "hostmon_phpfpm_saturated_seconds_total", cg)
        info(f"{mode}: 1 client {elapsed:.2f} s: in flight {flights}, saturated +{(after or 0) - before:.3f} s")
        t.check(all(f is not None and f <= 1 for f in flights) and 1 in flights,
                f"{mode}: 1 client: in flight 1 while it runs, never above: {flights}")
        t.check(after is not None and after - before < 0.25 * elapsed,
                f"{mode}: 1 client: saturated grew {after - before if after is not None else None} s, "
                f"less than a quarter of the load's {elapsed:.2f} s")

        # four clients on two workers: two requests always wait
        h_web, h_pool = quiet(d, cg_web), quiet(d, cg)
        t0, before = time.monotonic(), value(scrape(d), "hostmon_phpfpm_saturated_seconds_total", cg)
        load = Load(web, 4, LOAD_S)
        elapsed, flights, saturated = load.run(d, cg)
        after, t1 = value(scrape(d), "hostmon_phpfpm_saturated_seconds_total", cg), time.monotonic()
        wait_web = mean(merged(delta(quiet(d, cg_web), h_web), "nginx"))
        wait_php = mean(merged(delta(quiet(d, cg), h_pool), "php"))
        t.check(not load.errors and load.done >= 4, f"{mode}: 4 clients: {load.done} requests, errors {load.errors}")
        grew = (after or 0) - (before or 0)
        info(f"{mode}: 4 clients {elapsed:.2f} s ({load.done} requests): in flight {flights}, "
             f"saturated +{grew:.3f} s")
        t.check(all(f is not None and f <= 2 for f in flights) and flights.count(2) >= len(flights) // 2,
                f"{mode}: 4 clients: in flight 2 (both workers) while they run, never above: {flights}")
        middle = [v for at, v in saturated if v is not None and t0 + 0.5 < at < t0 + LOAD_S - 0.5]
        t.check(len(middle) >= 2 and middle[-1] > middle[0],
                f"{mode}: 4 clients: the saturated counter grows during the load: {middle}")
        t.check(before is not None and after is not None and 0.5 * elapsed <= grew <= t1 - t0,
                f"{mode}: 4 clients: saturated grew {grew:.3f} s: at least half the load's "
                f"{elapsed:.2f} s, at most the {t1 - t0:.2f} s between the scrapes around it")
        t.check(wait_until(lambda: value(scrape(d), "hostmon_phpfpm_requests_in_flight", cg) == 0, 5),
                f"{mode}: in flight back to 0 after the load")
        info(f"{mode}: 4 clients: mean latency nginx {wait_web} s, php {wait_php} s")
        t.check(wait_web is not None and wait_php is not None and wait_web >= 1.5 * wait_php,
                f"{mode}: the wait for a worker is in nginx's series: nginx mean {wait_web} s >= 1.5 x "
                f"php mean {wait_php} s")

        if mode == "usdt":
            moved = pool.config + ".away"
            os.rename(pool.config, moved)
            try:
                gone = wait_until(lambda: config_status(scrape(d), cg)[1] == "unreadable", 10)
                text = scrape(d)
                t.check(gone and value(text, "hostmon_phpfpm_max_children", cg) is None
                        and value(text, "hostmon_phpfpm_workers", cg) == 2,
                        f"{mode}: config moved away: status unreadable, max_children absent, workers "
                        f"still 2: {config_status(text, cg)} "
                        f"{pool_series(text, 'hostmon_phpfpm_max_children', cg)}")
            finally:
                os.rename(moved, pool.config)
            back = wait_until(lambda: value(scrape(d), "hostmon_phpfpm_max_children", cg) == 2, 10)
            t.check(back and config_status(scrape(d), cg)[1] == "ok",
                    f"{mode}: config back: max_children 2, status ok")
        if mode == "fastcgi":
            recreated(t, env, d, cg, pool, web)
        ok, why = promtool_check(scrape(d).encode())
        t.check(ok, f"{mode}: promtool: {why}")


def recreated(t, env, d, cg, pool, web):
    """The pool's cgroup removed and made again at the same path, a new pool started in it."""
    last = value(scrape(d), "hostmon_phpfpm_saturated_seconds_total", cg)
    web.stop()
    pool.stop()
    os.rmdir(env.path(cg))
    os.mkdir(env.path(cg))
    with FpmPool(listen="unix", pm="static", max_children=2, cgroup=env.path(cg)):
        found = wait_until(lambda: value(scrape(d), "hostmon_phpfpm_workers", cg) == 2, 10)
        text = scrape(d)
        families = ("hostmon_phpfpm_workers", "hostmon_phpfpm_saturated_seconds_total",
                    "hostmon_phpfpm_requests_in_flight", "hostmon_phpfpm_max_children")
        # lines, not parsed samples: two series with the same labels would be one key of a dict
        counts = {f: sum(1 for line in text.splitlines() if line.startswith(f + "{")
                         and f'cgroup="{cg}"' in line and f'pool="{POOL}"' in line) for f in families}
        now = value(text, "hostmon_phpfpm_saturated_seconds_total", cg)
        t.check(found and all(n == 1 for n in counts.values()),
                f"re-created cgroup: one series per family for the pool, workers 2: {counts}")
        t.check(now is not None and last is not None and now >= last,
                f"re-created cgroup: the saturated counter goes on ({last} -> {now})")


def run(t):
    env = Env("hostmon-phpfpm", cgroup2_mount())
    try:
        env.mkdir("")
        for mode in ("usdt", "fastcgi"):
            one_mode(t, env, mode)
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")


if __name__ == "__main__":
    main(run, "http_latency/test_phpfpm_pools")
