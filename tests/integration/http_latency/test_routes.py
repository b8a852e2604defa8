"""Routes of the http_latency collector against real servers: the route label is made in the kernel.

  1. configured patterns win (--http-routes '/users/:id,/api/v1/orders/*'), else id-like segments
     fold to :id and the query string is dropped — checked on the labels a node server's requests
     get;
  2. the per-cgroup cap (--http-max-routes) holds under 10,000 distinct paths: a second node
     server in its own cgroup gets at most the cap's routes plus "other", and every request past
     the cap is counted in hostmon_http_latency_routes_folded_total (also each of the same path's
     requests on one keep-alive connection); the first server's routes are untouched by the
     second's flood (the cap is per cgroup);
  3. PHP gets its route from the request URI: REQUEST_URI of the FastCGI params the worker reads
     (both modes), so behind nginx's `try_files $uri /index.php?$query_string` (Laravel's setup,
     where the USDT probe's request_uri is /index.php for every request) /users/42 and /users/7
     are route /users/:id, not /index.php;
  4. promtool accepts the page.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, wait_until
from hostmon_test import main, parse_samples, promtool_check, running_daemon
from http_hist import NAMES
from node_env import KeepAlive, NodeServer, wrk
from php_env import PING_PATH, FpmPool, Nginx

FAMILY = "hostmon_http_server_request_duration_seconds"
COUNT_RE = re.compile(FAMILY + r'_count\{cgroup="([^"]*)",container_id="[^"]*",pod_uid="[^"]*",'
                      + NAMES + r'runtime="([^"]*)",method="[^"]*",status_code="([^"]*)",'
                      r'route="((?:[^"\\]|\\.)*)"\}')
CAP = 20

# every request a distinct path without an id-like segment (letters only), so none fold; RUN is
# the wrk run's letter, so the paths of a second run (on a slow machine) differ from the first's
FLOOD = """
local n = 0
local letters = "abcdefghijklmnopqrstuvwxyz"
function request()
   n = n + 1
   local k, s = n, ""
   repeat
      local d = k % 26
      s = string.sub(letters, d + 1, d + 1) .. s
      k = (k - d) / 26
   until k == 0
   return wrk.format("GET", "/page/RUN" .. s)
end
"""


def routes(d, cgroup):
    """{route: count} of one cgroup's requests (all runtimes, methods, statuses)."""
    out = {}
    for key, v in parse_samples(scrape(d)).items():
        m = COUNT_RE.match(key)
        if m and m.group(1) == cgroup:
            out[m.group(4)] = out.get(m.group(4), 0) + v
    return out


def folded(d):
    return parse_samples(scrape(d)).get("hostmon_http_latency_routes_folded_total")


def node_routes(t, env, d):
    cg = env.mkdir("node-routes")
    with NodeServer(cgroup=env.path(cg)) as srv:
        wait_until(lambda: parse_samples(scrape(d)).get("hostmon_http_latency_cgroups_attached", 0) >= 1, 5)
        c = KeepAlive(srv)
        paths = {
            "/users/42": "/users/:id",
            "/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301": "/users/:id",
            "/api/v1/orders/abc/def": "/api/v1/orders/*",
            "/api/v1/orders": "/api/v1/orders/*",
            "/orders/12345/items": "/orders/:id/items",
            "/blobs/0123456789abcdef0123/meta": "/blobs/:id/meta",
            "/search?q=1&page=2": "/search",
            "/": "/",
        }
        for p in paths:
            c.request("GET", p)
        c.close()
        want = {}
        for label in paths.values():
            want[label] = want.get(label, 0) + 1
        got = wait_until(lambda: (lambda r: r if r == want else None)(routes(d, cg)), 3) or routes(d, cg)
        t.check(got == want, f"route labels: {got} want {want}")
    return cg


def flood(t, env, d, first_cg, first_routes):
    cg = env.mkdir("node-flood")
    with NodeServer(cgroup=env.path(cg)) as srv:
        wait_until(lambda: parse_samples(scrape(d)).get("hostmon_http_latency_cgroups_attached", 0) >= 2, 5)
        before = folded(d)
        total = runs = 0
        while total < 10000 and runs < 26:
            r = wrk(srv.url("/"), 2, 4, script=FLOOD.replace("RUN", "abcdefghijklmnopqrstuvwxyz"[runs]))
            total += r["requests"]
            runs += 1
        time.sleep(0.5)
        got = routes(d, cg)
        info(f"{total} requests with distinct paths: {len(got)} route labels, "
             f"other={got.get('other', 0)}, folded {before} -> {folded(d)}")
        named = [r for r in got if r != "other"]
        t.check(len(named) <= CAP, f"at most --http-max-routes {CAP} routes besides other: {len(named)}")
        t.check(got.get("other", 0) >= total - CAP - 8,
                f"the rest under other: {got.get('other', 0)} of {total}")
        after = folded(d)
        t.check(before is not None and after is not None and after - before >= total - CAP - 8,
                f"folded requests counted: {before} -> {after} for {total} requests")
        t.check(routes(d, first_cg) == first_routes,
                f"the first server's routes are untouched (the cap is per cgroup): {routes(d, first_cg)}")
        # one keep-alive connection asking a new path again and again: a connection keeps the
        # route it made last, but not "other", so every one of its requests is counted folded
        before, other = folded(d), got.get("other", 0)
        c = KeepAlive(srv)
        for _ in range(20):
            c.request("GET", "/again/zz")
        c.close()
        wait_until(lambda: routes(d, cg).get("other", 0) - other >= 20, 3)
        t.check(folded(d) - before == 20 and routes(d, cg).get("other", 0) - other == 20,
                f"the same new path 20 times on one connection: folded {folded(d) - before}, "
                f"other {routes(d, cg).get('other', 0) - other}")


def php_routes(t, env, d, mode):
    pcg, ncg = env.mkdir(f"php-{mode}"), env.mkdir(f"nginx-{mode}")
    with FpmPool(listen="unix", cgroup=env.path(pcg)) as pool, Nginx(pool, cgroup=env.path(ncg)) as web:
        time.sleep(0.5)
        for _ in range(3):
            web.get("/php/sleep.php?ms=10")
        got = wait_until(lambda: (lambda r: r if r.get("/php/sleep.php") == 3 else None)(routes(d, pcg)), 3) \
            or routes(d, pcg)
        t.check(got.get("/php/sleep.php") == 3, f"php {mode}: the route comes from the request URI: {got}")
        got = routes(d, ncg)
        t.check(got.get("/php/sleep.php") == 3, f"php {mode}: nginx in front, same route: {got}")
    pcg, ncg = env.mkdir(f"laravel-{mode}"), env.mkdir(f"laravel-nginx-{mode}")
    with FpmPool(listen="unix", cgroup=env.path(pcg)) as pool, \
            Nginx(pool, cgroup=env.path(ncg), try_files=True) as web:
        time.sleep(0.5)


        def ours():
            # without the pool's readiness ping (FastCGI straight to the pool, no REQUEST_URI:
            # route "" or the probe's /fpm-ping), which may be recorded after start() returned
            return {r: v for r, v in routes(d, pcg).items() if r not in ("", PING_PATH)}
        statuses = [web.get(p).status for p in ("/users/42", "/users/7")]
        got = wait_until(lambda: (lambda r: r if sum(r.values()) >= 2 else None)(ours()), 5) or ours()
        t.check(got == {"/users/:id": 2},
                f"php {mode} behind try_files to /index.php (answered {statuses}): the client's path "
                f"folded, not the script: {got}")


def run(t):
    env = Env("hostmon-routes", cgroup2_mount())
    try:
        env.mkdir("")
        for args, fastcgi in ((("--http-max-routes", str(CAP),
                                "--http-routes", "/users/:id,/api/v1/orders/*"), False),
                              (("--http-php-usdt=false",), True)):
            with running_daemon(t, "--collectors", "http_latency", *args) as d:
                if fastcgi:
                    info("php-fpm through FastCGI (REQUEST_URI)")
                    php_routes(t, env, d, "fastcgi")
                else:
                    first = node_routes(t, env, d)
                    flood(t, env, d, first, routes(d, first))
                    info("php-fpm through USDT (request_uri)")
                    php_routes(t, env, d, "usdt")
                ok, why = promtool_check(scrape(d).encode())
                t.check(ok, f"promtool: {why}")
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")


if __name__ == "__main__":
    main(run, "http_latency/test_routes")
