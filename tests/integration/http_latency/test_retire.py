"""Removed cgroups leave the page and the kernel maps after --http-removed-retention.

A node with container churn creates and removes cgroups all day. Their histograms, admitted
routes and route counts were kept in the kernel forever, so once --http-max-series label sets
(or 1,024 cgroups with routes) had been seen, every new cgroup's requests were dropped
(hostmon_http_latency_histograms_full_total) or folded into route="other".

1. Churn: 24 cgroups one after another, each with a node server answering 2 requests to /fast
   and then removed, against --http-max-series 16 (the smallest allowed). Every cgroup's series is
   on the page with its 2 requests while it lives, nothing is dropped or folded, and after the
   retention every removed cgroup's series is gone from the page and its keys from the kernel's
   hists, route_seen and route_count maps (read with bpftool from the daemon's own fds).
2. Within the retention a removed cgroup's series is still on the page (its last requests reach
   a scrape).
3. Unnamed cgroups (removed before any scan named them) share the cgroup="" series; when their
   kernel entries are deleted, that series keeps their requests: it never goes down.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, wait_until
from hostmon_test import daemon_map_ids, key_cgroup_ids, main, map_dump, parse_samples, running_daemon
from node_env import NodeServer

COUNT = "hostmon_http_server_request_duration_seconds_count"
CHURN = 24
PER_SERVER = 2
RETENTION_S = 4


def node_counts(text, cgroup):
    """_count of the node /fast 200 series of one cgroup path ("" for the unnamed ones)."""
    return [v for k, v in parse_samples(text).items()
            if k.startswith(COUNT + "{") and f'cgroup="{cgroup}"' in k and 'runtime="node"' in k
            and 'route="/fast"' in k and 'status_code="200"' in k]


def counter(text, name):
    return parse_samples(text).get(name, 0.0)


def kernel_ids(pid):
    """{map name: cgroup ids its keys hold} for the maps a removed cgroup must leave."""
    out = {}
    for name in ("hists", "route_seen", "route_count"):
        ids = daemon_map_ids(pid, name)
        out[name] = key_cgroup_ids(map_dump(ids[0])) if ids else None
    return out


def churn(t, env, d):
    removed = {}
    for i in range(CHURN):
        cg = env.mkdir(f"c{i}")
        path = env.path(cg)
        cgid = os.stat(path).st_ino
        with NodeServer(cgroup=path) as srv:
            ok = all(srv.fresh("GET", "/fast")[0] == 200 for _ in range(PER_SERVER))
            t.check(ok, f"c{i}: {PER_SERVER} x GET /fast answered")
            # named while it runs: the scrape sees its cgroup in the tree
            counts = wait_until(lambda: node_counts(scrape(d), cg) or None, 10, 0.2)
            t.check(counts == [PER_SERVER], f"c{i}: its series holds its {PER_SERVER} requests: {counts}")
        t.check(Env.rmdir(path), f"removed {cg}")
        removed[cg] = cgid
        if i == 0:
            # well within the retention: still there for the scrape that follows the removal
            t.check(node_counts(scrape(d), cg) == [PER_SERVER],
                    "a removed cgroup's series stays on the page within the retention")
    text = scrape(d)
    t.check(counter(text, "hostmon_http_latency_histograms_full_total") == 0,
            f"{CHURN} cgroups through 16 series of room: no request dropped for a full map")
    t.check(counter(text, "hostmon_http_latency_routes_folded_total") == 0,
            "no route folded to \"other\" for want of room")

    def all_gone():
        text = scrape(d)
        return text if not any(node_counts(text, cg) for cg in removed) else None
    text = wait_until(all_gone, RETENTION_S + 20, 0.5)
    t.check(text is not None, "every removed cgroup's series left the page after the retention")
    if text:
        retired = counter(text, "hostmon_http_latency_cgroups_retired_total")
        t.check(retired >= CHURN, f"hostmon_http_latency_cgroups_retired_total {retired} >= {CHURN}")
    ids = kernel_ids(d.proc.pid)
    for name, held in ids.items():
        if t.check(held is not None, f"the daemon's {name} map found"):
            left = held & set(removed.values())
            t.check(not left, f"{name}: no key of a removed cgroup left ({len(left)})")


def unnamed(t, env, d):
    for name in ("u1", "u2"):
        cg = env.mkdir(name)
        with NodeServer(cgroup=env.path(cg)) as srv:
            for _ in range(PER_SERVER):
                srv.fresh("GET", "/fast")
        t.check(Env.rmdir(env.path(cg)), f"removed {cg} before any scrape named it")
    time.sleep(2.5)  # past the refresh interval: the tree never knew them
    first = node_counts(scrape(d), "")
    t.check(first == [2 * PER_SERVER], f"the unnamed series holds both: {first}")
    before = counter(scrape(d), "hostmon_http_latency_cgroups_retired_total")
    # unnamed ones wait out the retention and two rescans
    retired = wait_until(lambda: counter(scrape(d), "hostmon_http_latency_cgroups_retired_total")
                         >= before + 2 or None, RETENTION_S + 20, 0.5)
    t.check(retired, "the unnamed cgroups' entries were retired")
    after = node_counts(scrape(d), "")
    info(f"unnamed series before {first}, after the kernel entries went {after}")
    t.check(after == first, f"the merged series kept their requests: {after}")


def run(t):
    env = Env("hostmon-retire", cgroup2_mount())
    try:
        env.mkdir("")
        with running_daemon(t, "--collectors", "http_latency", "--cgroup-refresh-interval", "1s",
                            "--http-max-series", "16", "--http-removed-retention", f"{RETENTION_S}s",
                            "--http-include-cgroup", f"^{env.base}(/|$)") as d:
            churn(t, env, d)
            unnamed(t, env, d)
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")


if __name__ == "__main__":
    main(run, "http_latency/test_retire")
