"""cgroup names: pod, namespace and container labels from the kubelet's log layout, unit labels
from systemd-style paths, on the CPU and HTTP families alike.

A stand-in for the kubelet (no Kubernetes runs here): the test makes kubepods cgroups in the
cgroupfs driver's form (.../kubepods/burstable/pod<uid>/<container id>) under its own cgroup2
directory, and the kubelet's log layout in a temporary directory given as --kubelet-log-dir:
pods/<namespace>_<pod>_<uid>/<container>/0.log and containers/<pod>_<namespace>_<container>-<id>.log
(a symlink to the former, as the kubelet makes it). A burner runs in one container's cgroup, a
Node.js server in the other's. Checked: the labels on hostmon_cgroup_cpu_seconds_total and on the
HTTP histograms; the pod's own cgroup has pod and namespace, no container; a cgroup named like a
systemd service has its unit; when the pod's log directories go (the pod was deleted), the names
go at the next rescan while the cgroup stays.
"""
import os
import shutil
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, wait_until
from hostmon_test import main, promtool_check, running_daemon
from node_env import NodeServer, request

LABELS = ("container", "pod", "namespace", "unit")


def labels_of(text, family, cgroup):
    """The name labels of the first series of family whose cgroup label is cgroup, or None."""
    import re
    for line in text.splitlines():
        if line.startswith(family + "{") and f'cgroup="{cgroup}"' in line:
            got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line.split("{", 1)[1].rsplit("}", 1)[0]))
            return {k: got.get(k) for k in LABELS}
    return None


def kubelet_layout(root, namespace, pod, uid, containers):
    """The kubelet's log files for one pod; containers is {name: id}."""
    pod_dir = os.path.join(root, "pods", f"{namespace}_{pod}_{uid}")
    os.makedirs(os.path.join(root, "containers"), exist_ok=True)
    for name, cid in containers.items():
        os.makedirs(os.path.join(pod_dir, name))
        log = os.path.join(pod_dir, name, "0.log")
        open(log, "w").close()
        os.symlink(log, os.path.join(root, "containers", f"{pod}_{namespace}_{name}-{cid}.log"))
    return pod_dir


def run(t):
    env = Env("hostmon-names", cgroup2_mount())
    logs = tempfile.mkdtemp(prefix="hostmon-kubelet-")
    try:
        uid = str(uuid.uuid4())
        ids = {"burner": uuid.uuid4().hex + uuid.uuid4().hex, "web": uuid.uuid4().hex + uuid.uuid4().hex}
        env.mkdir("")
        env.mkdir("kubepods")
        env.mkdir("kubepods/burstable")
        pod_cg = env.mkdir(f"kubepods/burstable/pod{uid}")
        cgs = {name: env.mkdir(f"kubepods/burstable/pod{uid}/{cid}") for name, cid in ids.items()}
        env.mkdir("test.slice")
        unit_cg = env.mkdir("test.slice/names-test.service")
        pod_dir = kubelet_layout(logs, "shop", "web-6b7f9d-x2k4p", uid, ids)
        env.spawn(cgs["burner"], "light")
        env.spawn(unit_cg, "light")
        with NodeServer(cgroup=env.path(cgs["web"])) as srv, \
                running_daemon(t, "--collectors", "cgroup_cpu,http_latency", "--kubelet-log-dir", logs,
                               "--cgroup-refresh-interval", "500ms",
                               "--http-include-cgroup", f"^{env.base}/") as d:
            for _ in range(20):
                request(srv, "GET", "/fast")

            def named():
                text = scrape(d)
                h = labels_of(text, "hostmon_http_server_request_duration_seconds_count", cgs["web"])
                return text if h and h["container"] == "web" else None
            text = wait_until(named, 15) or scrape(d)
            ok, out = promtool_check(text.encode())
            t.check(ok, f"promtool check metrics: {out[:1000]}")
            want = {"pod": "web-6b7f9d-x2k4p", "namespace": "shop", "unit": ""}
            for name, cg in cgs.items():
                got = labels_of(text, "hostmon_cgroup_cpu_seconds_total", cg)
                t.check(got == dict(want, container=name), f"CPU labels of {name}: {got}")
            got = labels_of(text, "hostmon_http_server_request_duration_seconds_count", cgs["web"])
            t.check(got == dict(want, container="web"), f"HTTP labels of the node server: {got}")
            got = labels_of(text, "hostmon_cgroup_cpu_seconds_total", pod_cg)
            t.check(got == dict(want, container=""), f"the pod's own cgroup: {got}")
            got = labels_of(text, "hostmon_cgroup_cpu_seconds_total", unit_cg)
            t.check(got == {"container": "", "pod": "", "namespace": "", "unit": "names-test.service"},
                    f"a service's cgroup: {got}")

            # the pod deleted: the kubelet removes its logs; the names follow at the next rescan
            shutil.rmtree(pod_dir)
            for name in os.listdir(os.path.join(logs, "containers")):
                os.unlink(os.path.join(logs, "containers", name))
            time.sleep(0.01)

            def unnamed():
                got = labels_of(scrape(d), "hostmon_cgroup_cpu_seconds_total", cgs["burner"])
                return got if got and got["pod"] == "" else None
            got = wait_until(unnamed, 10)
            t.check(got == {"container": "", "pod": "", "namespace": "", "unit": ""},
                    f"names gone with the pod's logs, the cgroup kept: {got}")
            info("kubepods cgroups and the kubelet's log layout named the series")
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main(run, "cgroup/test_names")
