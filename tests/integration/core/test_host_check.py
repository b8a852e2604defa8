"""Kernel and host features missing: one clear log line, that collector down, the rest up.

Each case starts the real daemon in a mount namespace of its own (unshare --mount, private
propagation) where one prerequisite is hidden, so nothing outside the daemon sees a change:
  1. no kernel BTF (a tmpfs over /sys/kernel/btf, and over the other places libbpf looks for a
     vmlinux): "kernel BTF not found" logged once, cgroup_cpu and http_latency each log one
     "collector failed to start" and report hostmon_collector_up 0; rabbitmq (polling a fake
     broker that answers) stays up; /readyz answers 503 naming the missing BTF;
  2. no cgroup hierarchy at all (every cgroup mount unmounted): cgroup_cpu down with the reason in
     its one line; http_latency up, with its one "no cgroup2 hierarchy" warning;
  3. no cgroup2, a cgroup v1 cpuacct hierarchy (the host's, else one mounted here): cgroup_cpu up,
     keyed by the v1 ids; http_latency up with the same warning;
  4. root without CAP_SYS_ADMIN (CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN kept), tracefs and bpffs
     unmounted: each logged once as not available; both BPF collectors up anyway (tp_btf, iter/task,
     cgroup_skb and uprobes attach without tracefs; nothing is pinned);
  5. the same with CAP_SYS_ADMIN: the daemon mounts both itself and says so;
  6. a RabbitMQ-only exporter as an unprivileged user (the Deployment's way): no line about BPF's
     prerequisites (privileges, BTF, tracefs, bpffs), since none of its collectors needs them.
Every page passes promtool; every daemon exits 0. Runs on the host and in make test-kernels' guests.
"""
import os
import shlex
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import info, scrape
from fault_server import FaultServer
from hostmon_test import main, parse_samples, promtool_check, request, running_daemon

BPF_COLLECTORS = ("cgroup_cpu", "http_latency", "cgroup_saturation", "cgroup_tcp", "nodejs_eventloop")
NO_CGROUP2 = "no cgroup2 hierarchy: HTTP servers cannot be watched"
# Where libbpf 1.1 looks for the kernel's BTF after /sys/kernel/btf/vmlinux.
VMLINUX_DIRS = ("/boot", "/usr/lib/debug", f"/lib/modules/{os.uname().release}")


def in_namespace(setup):
    """A wrapper for Daemon: a private mount namespace where the shell commands setup ran first."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-ec", f'{setup}\nexec "$@"', "sh"]


def umount_fstype(*fstypes):
    """Shell lines that unmount every mount of these types, deepest first."""
    pattern = "|".join(fstypes)
    return (f"awk '$3 ~ /^({pattern})$/ {{print $2}}' /proc/self/mounts | sort -r | "
            "while read -r m; do umount \"$m\"; done")


def v1_cpuacct_mounted():
    with open("/proc/self/mounts") as f:
        return any(fields[2] == "cgroup" and "cpuacct" in fields[3].split(",")
                   for fields in (line.split() for line in f))


def lines_with(logs, text):
    return [line for line in logs.splitlines() if text in line]


def collector_up(d):
    text = scrape(d)
    return text, {c: parse_samples(text).get(f'hostmon_collector_up{{collector="{c}"}}')
                  for c in (*BPF_COLLECTORS, "rabbitmq")}


def check_page(t, what, text):
    ok, out = promtool_check(text.encode())
    t.check(ok, f"{what}: promtool check metrics: {out}")


def no_btf(t):
    hide = [f"mount -t tmpfs none {shlex.quote(p)}" for p in ("/sys/kernel/btf", *VMLINUX_DIRS)
            if os.path.isdir(p)]
    with FaultServer() as fs, running_daemon(t, "--rabbitmq-url", fs.url, "--rabbitmq-interval", "1s",
                                             "--rabbitmq-timeout", "500ms",
                                             wrapper=in_namespace("\n".join(hide))) as d:
        fs.set_mode("good", items=[{"name": "q", "vhost": "/", "messages": 1, "messages_ready": 1,
                                    "messages_unacknowledged": 0}])
        # a collector is up while its source answers: wait for the first good poll
        deadline = time.monotonic() + 20
        text, up = collector_up(d)
        while up["rabbitmq"] != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
            text, up = collector_up(d)
        logs = d.logs()
        info(f"no BTF: {up}")
        t.check(len(lines_with(logs, "kernel BTF not found")) == 1, f"no BTF: one line says so:\n{logs}")
        for c in BPF_COLLECTORS:
            t.check(len(lines_with(logs, f"msg=\"collector failed to start\" collector={c} ")) == 1,
                    f"no BTF: one failure line for {c}:\n{logs}")
            t.check(up[c] == 0, f"no BTF: {c} reported down: {up}")
        t.check(up["rabbitmq"] == 1, f"no BTF: the rabbitmq collector stays up: {up}")
        status, _, body = request(d, "/readyz")
        t.check(status == 503 and b"no kernel BTF" in body, f"no BTF: /readyz {status} {body!r}")
        status, _, _ = request(d, "/healthz")
        t.check(status == 200, f"no BTF: /healthz {status}")
        check_page(t, "no BTF", text)


def no_cgroups(t):
    with running_daemon(t, wrapper=in_namespace(umount_fstype("cgroup", "cgroup2"))) as d:
        text, up = collector_up(d)
        logs = d.logs()
        info(f"no cgroups: {up}")
        failed = lines_with(logs, "msg=\"collector failed to start\" collector=cgroup_cpu ")
        t.check(len(failed) == 1 and "no cgroup2 or cgroup v1 cpuacct hierarchy is mounted" in failed[0],
                f"no cgroups: one line says why cgroup_cpu is down:\n{logs}")
        t.check(up["cgroup_cpu"] == 0 and up["http_latency"] == 1, f"no cgroups: cpu down, http up: {up}")
        t.check(len(lines_with(logs, NO_CGROUP2)) == 1, f"no cgroups: http_latency warns once:\n{logs}")
        # the other per-cgroup collectors say why too, each once
        for c, why in (("cgroup_saturation", "no cgroup2 or cgroup v1 memory hierarchy is mounted"),
                       ("cgroup_tcp", "no cgroup2 hierarchy is mounted"),
                       ("nodejs_eventloop", "no cgroup2 hierarchy is mounted")):
            lines = lines_with(logs, f"msg=\"collector failed to start\" collector={c} ")
            t.check(len(lines) == 1 and why in lines[0] and up.get(c) == 0, f"no cgroups: {c} down, saying why:\n{logs}")
        t.check(len(lines_with(logs, "collector failed to start")) == 4, f"no cgroups: nothing else failed:\n{logs}")
        check_page(t, "no cgroups", text)


def v1_only(t):
    setup = [umount_fstype("cgroup2")]
    if not v1_cpuacct_mounted():
        # a cgroup2-only host (the qemu guests): cpuacct is a v1-only controller, free to mount
        setup.append("mount -t tmpfs none /sys/fs/cgroup && mkdir /sys/fs/cgroup/cpuacct && "
                     "mount -t cgroup -o cpuacct cpuacct /sys/fs/cgroup/cpuacct")
    with running_daemon(t, wrapper=in_namespace("\n".join(setup))) as d:
        text, up = collector_up(d)
        logs = d.logs()
        info(f"cgroup v1 only: {up}")
        t.check(up["cgroup_cpu"] == 1 and up["http_latency"] == 1, f"v1 only: both up: {up}")
        attached = lines_with(logs, "msg=\"collector attached\" collector=cgroup_cpu ")
        t.check(len(attached) == 1 and 'keyed_by="cgroup v1 cpuacct"' in attached[0],
                f"v1 only: cgroup_cpu keyed by v1 cpuacct ids:\n{logs}")
        t.check(len(lines_with(logs, NO_CGROUP2)) == 1, f"v1 only: http_latency warns once:\n{logs}")
        t.check('hostmon_cgroup_cpu_seconds_total{cgroup="/"' in text, "v1 only: the root cgroup is counted")
        # memory from the v1 memory hierarchy; TCP needs cgroup2 (a socket's cgroup is a cgroup2 one)
        t.check(up["cgroup_saturation"] == 1 and 'hostmon_cgroup_memory_usage_bytes{cgroup="/"' in text,
                f"v1 only: cgroup_saturation up, the root's memory exported: {up}")
        tcp = lines_with(logs, "msg=\"collector failed to start\" collector=cgroup_tcp ")
        t.check(up["cgroup_tcp"] == 0 and len(tcp) == 1 and "no cgroup2 hierarchy is mounted" in tcp[0],
                f"v1 only: cgroup_tcp down, saying why:\n{logs}")
        loops = lines_with(logs, "msg=\"collector failed to start\" collector=nodejs_eventloop ")
        t.check(up["nodejs_eventloop"] == 0 and len(loops) == 1 and "no cgroup2 hierarchy is mounted" in loops[0],
                f"v1 only: nodejs_eventloop down, saying why:\n{logs}")
        check_page(t, "v1 only", text)


def no_tracefs_bpffs(t, may_mount):
    what = "mountable" if may_mount else "not mountable"
    # debugfs too: its tracing/ directory would mount tracefs again when looked at
    wrapper = in_namespace(umount_fstype("tracefs", "bpf", "debugfs"))
    if not may_mount:
        wrapper += ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]
    with running_daemon(t, wrapper=wrapper) as d:
        text, up = collector_up(d)
        logs = d.logs()
        info(f"tracefs and bpffs {what}: {up}")
        for fs in ("tracefs", "bpf"):
            said = lines_with(logs, f"fs={fs} ")
            want = "msg=\"mounted filesystem\"" if may_mount else "msg=\"filesystem not available\""
            t.check(len(said) == 1 and want in said[0], f"{fs} {what}: one line, {want}:\n{logs}")
        t.check(all(up[c] == 1 for c in BPF_COLLECTORS), f"tracefs and bpffs {what}: collectors up: {up}")
        check_page(t, f"tracefs and bpffs {what}", text)


def rabbitmq_only_unprivileged(t):
    with FaultServer() as fs, running_daemon(t, "--collectors", "rabbitmq", "--rabbitmq-url", fs.url,
                                             "--rabbitmq-interval", "1s", "--rabbitmq-timeout", "500ms",
                                             wrapper=["setpriv", "--reuid=65534", "--regid=65534",
                                                      "--clear-groups", "--inh-caps=-all",
                                                      "--bounding-set=-all"]) as d:
        fs.set_mode("good", items=[{"name": "q", "vhost": "/", "messages": 1, "messages_ready": 1,
                                    "messages_unacknowledged": 0}])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            samples = parse_samples(scrape(d))
            if samples.get('hostmon_collector_up{collector="rabbitmq"}') == 1:
                break
            time.sleep(0.2)
        logs = d.logs()
        t.check(samples.get('hostmon_collector_up{collector="rabbitmq"}') == 1,
                f"rabbitmq only, unprivileged: the collector is up:\n{logs}")
        for text in ("insufficient privileges", "kernel BTF", "filesystem not available",
                     "mounted filesystem"):
            t.check(not lines_with(logs, text), f"rabbitmq only, unprivileged: no {text!r} line:\n{logs}")


def run(t):
    rabbitmq_only_unprivileged(t)
    no_btf(t)
    no_cgroups(t)
    v1_only(t)
    no_tracefs_bpffs(t, may_mount=False)
    no_tracefs_bpffs(t, may_mount=True)


if __name__ == "__main__":
    main(run, "core/test_host_check")
