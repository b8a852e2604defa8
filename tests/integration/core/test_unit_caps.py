"""hostmon under exactly the systemd unit's capability set finds the servers that ran before it.

systemd cannot run as PID 1 here, so this is a stand-in for it (said so in the output): setpriv
limits the bounding set to the unit's CapabilityBoundingSet (read from deploy/systemd/
hostmon.service, so the test follows the unit) and clears the inheritable set; uid 0 then holds
exactly those capabilities, as under the unit.

1. A node server started before hostmon, as root with every capability (so reading its
   /proc/PID/exe needs CAP_SYS_PTRACE from anyone with fewer), is made a target: it is listed in
   /status.json and its requests are counted under its cgroup; the "cannot see which program"
   warning counts no process that root itself can see, and every default collector is up.
2. The control, which shows the check can fail: the same set without CAP_SYS_PTRACE leaves that
   server out and says so once in the log, naming the capability.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, wait_until
from hostmon_test import ROOT, main, parse_samples, request, running_daemon
from node_env import NodeServer

UNIT = os.path.join(ROOT, "deploy", "systemd", "hostmon.service")
COUNT = "hostmon_http_server_request_duration_seconds_count"


def unit_capabilities():
    with open(UNIT) as f:
        m = re.search(r"^CapabilityBoundingSet=(.*)$", f.read(), re.M)
    return m.group(1).split() if m else []


def setpriv(caps):
    names = ",".join("+" + c.lower().removeprefix("cap_") for c in caps)
    return ["setpriv", f"--bounding-set=-all,{names}", "--inh-caps=-all"]


def unreadable_to_root():
    """Processes whose /proc/PID/exe even this test (root, every capability) cannot read (a VM's
    init may be one): no capability set can make hostmon see them."""
    n = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                os.readlink(f"/proc/{p}/exe")
            except PermissionError:
                n += 1
            except OSError:
                pass
    return n


def unseen(d):
    """processes=N of the "cannot see which program" warning, 0 without one."""
    m = re.search(r'cannot see which program.*?processes=(\d+)', d.logs())
    return int(m.group(1)) if m else 0


def status(d):
    r = request(d, "/status.json")
    return json.loads(r[2]) if r and r[0] == 200 else None


def target_pids(doc):
    return {t.get("pid") for t in ((doc or {}).get("http_targets") or {}).get("items", [])}


def counted(d, cg):
    return sum(v for k, v in parse_samples(scrape(d)).items()
               if k.startswith(COUNT + "{") and f'cgroup="{cg}"' in k and 'runtime="node"' in k)


def run(t):
    caps = unit_capabilities()
    if not t.check(caps, f"the unit has a CapabilityBoundingSet: {caps}"):
        return
    info(f"a stand-in for systemd (which cannot be PID 1 here): setpriv with the unit's set {' '.join(caps)}")
    env = Env("hostmon-unitcaps", cgroup2_mount())
    try:
        env.mkdir("")
        cg = env.mkdir("node")
        with NodeServer(cgroup=env.path(cg)) as srv:
            include = ["--http-include-cgroup", f"^{env.base}(/|$)"]
            with running_daemon(t, *include, wrapper=setpriv(caps)) as d:
                with open(f"/proc/{d.proc.pid}/status") as f:
                    eff = re.search(r"^CapEff:\s*(\S+)", f.read(), re.M).group(1)
                info(f"hostmon CapEff {eff}")
                doc = wait_until(lambda: (lambda s: s if s and srv.pid in target_pids(s) else None)(status(d)),
                                 15, 0.3)
                t.check(doc is not None, f"node (pid {srv.pid}, started first, root with all capabilities) "
                        f"is a target under the unit's set: {sorted(target_pids(status(d)))}")
                for c in (doc or status(d) or {}).get("collectors", []):
                    if c.get("name") in ("cgroup_cpu", "http_latency"):
                        t.check(c.get("up") is True, f"{c.get('name')} up under the unit's set: {c}")
                for _ in range(3):
                    srv.fresh("GET", "/fast")
                n = wait_until(lambda: counted(d, cg) >= 3 or None, 10, 0.3)
                t.check(n, f"its requests are counted under {cg}: {counted(d, cg)}")
                base = unreadable_to_root()
                t.check(unseen(d) <= base, f"no process left unseen that root itself can see: "
                        f"{unseen(d)} unseen, {base} unreadable even to root")
            without = [c for c in caps if c != "CAP_SYS_PTRACE"]
            with running_daemon(t, *include, wrapper=setpriv(without)) as d:
                said = wait_until(lambda: "cannot see which program" in d.logs() or None, 15, 0.3)
                t.check(said and "CAP_SYS_PTRACE" in d.logs(),
                        "control: without CAP_SYS_PTRACE it says which capability is missing")
                t.check(srv.pid not in target_pids(status(d)), "control: and the server is not a target")
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")


if __name__ == "__main__":
    main(run, "core/test_unit_caps")
