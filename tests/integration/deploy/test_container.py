"""deploy/: hostmon's image run as deploy/kubernetes/daemonset.yaml runs it, under real docker,
beside the example Laravel image and a Node.js container.

The manifest is read and turned into `docker run` flags (docker_env.daemonset_run): host PID, its
capability list, read-only root filesystem and /sys, env, args and memory limit are the ones this
test runs with. What the test adds, and says so: a name, a --config file with one restart rule
(mounted read-only) and nothing else; the image is the manifest's hostmon:latest as `make image`
builds it, run under this run's own tag (so a run in another checkout cannot retag it meanwhile). Capability names this docker does not know (20.10: BPF,
PERFMON) are left out only where the manifest also grants SYS_ADMIN, which covers them there.

Checked: the image (--help, OCI labels, no compiler); the manifest (no privileged, drop ALL,
read-only root and /sys, probes, memory arithmetic); with the backends started BEFORE hostmon
(processes found under the manifest's capabilities, and a warning naming CAP_SYS_PTRACE
without it): CPU series of each container, HTTP
histograms for requests into php-fpm (USDT inside the container), nginx and node, the php-fpm
pool (4 workers, pm.max_children 4 read inside the container through /proc/PID/root), /readyz and
/healthz; promtool on the scrape; peak memory within the manifest's formula and limit; a restart
rule on the Laravel container's cgroup doing one graceful reload inside it on sustained burn;
and docker stop: exit 0, every BPF program hostmon held gone.
"""
import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from docker_env import (HOSTMON_IMAGE, LARAVEL_IMAGE, Container, DockerHost, build_images, build_test_image,
                        daemon_capabilities, daemonset_run, docker, image_size, remove_image)
from hostmon_test import ROOT, Daemon, main, promtool_check
from prom_env import Prometheus, dashboard_exprs, selectors
from rabbitmq_env import Broker, free_port

MANIFEST = os.path.join(ROOT, "deploy", "kubernetes", "daemonset.yaml")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "hostmon.json")
RULES = os.path.join(ROOT, "deploy", "prometheus", "hostmon-rules.yml")
NODE_IMAGE = f"hostmon-test-node-{os.getpid()}:latest"
CPU = "hostmon_cgroup_cpu_seconds_total"
HIST = "hostmon_http_server_request_duration_seconds"
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def info(msg):
    print(f"# {msg}", flush=True)


def get(ip, port, path, timeout=30):
    c = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_for(fn, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
        except (OSError, http.client.HTTPException):
            v = None
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def samples(text):
    """[(name, {label: value}, value)] of a text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        out.append((name, dict(LABEL_RE.findall(labels)), float(value)))
    return out


def of_container(text, name, container_id, **want):
    """Sum of family `name` over the series whose container_id is the container's."""
    return sum(v for n, labels, v in samples(text) if n == name and labels.get("container_id") == container_id
               and all(labels.get(k) == w for k, w in want.items()))


def memory_formula(manifest_text):
    """(base MiB, MiB per CPU, MiB per 1000 tasks) from the manifest's
    '# memory: B MiB + P MiB per CPU + T MiB per 1000 tasks' comment."""
    m = re.search(r"#\s+memory: ([\d.]+) MiB \+ ([\d.]+) MiB per CPU \+ ([\d.]+) MiB per 1000 tasks",
                  manifest_text)
    return (float(m.group(1)), float(m.group(2)), float(m.group(3))) if m else None


def host_tasks():
    """Threads on the host now: each gets one baseline of the CPU collector."""
    return sum(len(os.listdir(f"/proc/{p}/task")) for p in os.listdir("/proc") if p.isdigit()
               and os.path.isdir(f"/proc/{p}/task"))


def mib(quantity):
    m = re.fullmatch(r"(\d+)Mi", str(quantity))
    return int(m.group(1)) if m else None


def held_bpf(pid):
    """(program ids, per-CPU map value bytes per CPU) of what process pid holds open."""
    progs, percpu = set(), 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"^prog_id:\s*(\d+)", text, re.M)
        if m:
            progs.add(int(m.group(1)))
        kind = re.search(r"^map_type:\s*(\d+)", text, re.M)
        # BPF_MAP_TYPE_PERCPU_HASH 5, PERCPU_ARRAY 6, LRU_PERCPU_HASH 10: one value per CPU
        if kind and int(kind.group(1)) in (5, 6, 10):
            fields = dict(re.findall(r"^(\w+):\s*(\d+)", text, re.M))
            percpu += int(fields["value_size"]) * int(fields["max_entries"])
    return progs, percpu


def check_image(t):
    p = docker("run", "--rm", HOSTMON_IMAGE, "--help", check=False)
    t.check(p.returncode == 0 and "Usage: hostmon" in p.stdout, f"--help in the image: {p.stderr[-300:]}")
    labels = docker("image", "inspect", "-f", "{{json .Config.Labels}}", HOSTMON_IMAGE).stdout
    t.check('"org.opencontainers.image.title":"hostmon"' in labels, f"OCI labels: {labels}")
    p = docker("run", "--rm", "--entrypoint", "/bin/sh", HOSTMON_IMAGE, "-c",
               "command -v gcc || command -v clang || command -v make || ls /usr/include/bpf", check=False)
    t.check(p.returncode != 0, f"no compiler, make or headers in the runtime image: {p.stdout}")
    for tag in (HOSTMON_IMAGE, LARAVEL_IMAGE):
        info(f"image {tag}: {image_size(tag) / 1e6:.1f} MB")


def check_manifest(t, spec, text):
    sec = spec["container"].get("securityContext", {})
    t.check(not sec.get("privileged"), "the DaemonSet is not privileged")
    caps = sec.get("capabilities", {})
    t.check(caps.get("drop") == ["ALL"], f"capabilities: drop ALL ({caps.get('drop')})")
    t.check("SYS_RESOURCE" not in caps.get("add", []), "no CAP_SYS_RESOURCE (BPF memory is memcg-charged)")
    t.check(sec.get("readOnlyRootFilesystem") is True, "read-only root filesystem")
    sys_mounts = [m for m in spec["container"].get("volumeMounts", []) if m["mountPath"] == "/sys"]
    t.check(sys_mounts and all(m.get("readOnly") for m in sys_mounts), "/sys mounted read-only")
    probes = {k: spec["container"].get(k, {}).get("httpGet", {}).get("path") for k in
              ("readinessProbe", "livenessProbe")}
    t.check(probes == {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}, f"probes: {probes}")
    formula = memory_formula(text)
    limit = mib(spec["container"].get("resources", {}).get("limits", {}).get("memory"))
    t.check(formula is not None and limit is not None, f"memory formula comment and limit in Mi ({formula}, {limit})")
    if formula and limit:
        t.check(limit >= formula[0] + 256 * formula[1] + 100 * formula[2],
                f"limit {limit} Mi covers the formula at 256 CPUs and 100,000 tasks")
    unknown = spec["caps_unknown"]
    if unknown:
        info(f"capabilities this docker does not know, left out: {unknown} (SYS_ADMIN covers them here)")
        t.check("SYS_ADMIN" in caps.get("add", []), "capabilities left out are covered by SYS_ADMIN")
    return formula, limit


def burn(ip, port, seconds, parallel):
    """parallel clients asking /work?ms=1000 in a loop for seconds: more than a core of PHP."""
    end = time.monotonic() + seconds

    def loop():
        while time.monotonic() < end:
            try:
                get(ip, port, "/work?ms=1000")
            except OSError:
                time.sleep(0.1)
    threads = [threading.Thread(target=loop) for _ in range(parallel)]
    for th in threads:
        th.start()
    return threads


def run(t):
    with DockerHost(), tempfile.TemporaryDirectory(prefix="hostmon-deploy-") as tmp:
        times = build_images()
        info("make image: %.1f s, make image-laravel: %.1f s" % (times["image"], times["image-laravel"]))
        start = time.monotonic()
        build_test_image(NODE_IMAGE, os.path.join(ROOT, "tests", "fixtures", "node"),
                         os.path.join(ROOT, "tests", "integration", "deploy", "node", "Dockerfile"))
        info(f"node test image: {time.monotonic() - start:.1f} s")
        try:
            check_image(t)
            scenario(t, tmp)
        finally:
            for tag in (NODE_IMAGE, HOSTMON_IMAGE, LARAVEL_IMAGE):
                remove_image(tag)


def scenario(t, tmp):
    with open(MANIFEST) as f:
        text = f.read()
    import yaml
    manifest_caps = yaml.safe_load(text)["spec"]["template"]["spec"]["containers"][0] \
        .get("securityContext", {}).get("capabilities", {}).get("add", [])
    flags, image, args, spec = daemonset_run(MANIFEST, known_caps=daemon_capabilities(manifest_caps, HOSTMON_IMAGE))
    t.check(image == "hostmon:latest", f"the manifest runs the image make image builds: {image}")
    image = HOSTMON_IMAGE  # that build, under this run's own tag
    sources = [v["hostPath"]["path"] for v in spec["pod"].get("volumes", []) if "hostPath" in v]
    missing = [p for p in sources if not os.path.exists(p)]  # docker makes them; removed at the end
    try:
        with_manifest(t, tmp, text, flags, image, args, spec)
    finally:
        for p in missing:
            try:
                os.rmdir(p)
            except OSError:
                pass


def with_manifest(t, tmp, text, flags, image, args, spec):
    formula, limit = check_manifest(t, spec, text)
    info(f"docker run {' '.join(flags)} {image} {' '.join(args)}")

    # the backends first: hostmon must find processes that were running before it started
    broker = Broker(nodename=f"hostmon-deploy-{os.getpid()}@localhost", amqp_port=0, mgmt_port=0,
                    dist_port=free_port(), stats_interval_ms=1000)
    broker_started = threading.Thread(target=broker.start)  # joined before use; overlaps docker
    broker_started.start()
    extra = contextlib.ExitStack()
    extra.callback(lambda: (broker_started.join(), broker.stop(), broker.cleanup()))
    fpm = Container("laravel", LARAVEL_IMAGE, flags=["--cpus", "1"]).start()
    web = Container("laravel-web", LARAVEL_IMAGE, "web", flags=["--network", f"container:{fpm.id}"]).start()
    node = Container("node", NODE_IMAGE).start()
    containers = [fpm, web, node]
    try:
        ok = wait_for(lambda: get(fpm.ip, 8080, "/health")[0] == 200 and get(node.ip, 8000, "/fast")[0] == 200, 60)
        t.check(ok, f"backends answer: {fpm.logs()[-500:]} {node.logs()[-500:]}")
        master = fpm.pid  # php-fpm is the container's main process

        rule = {"name": "laravel", "cgroup": fpm.cgroup, "cores": 1, "threshold": 0.6, "clear": 0.3,
                "interval": "500ms", "window": "3s", "cooldown": "1h", "verify": "30s",
                "action": {"type": "signal", "signal": "SIGUSR2", "exe": "php-fpm8.2"}}
        config = os.path.join(tmp, "hostmon.json")
        with open(config, "w") as f:
            json.dump({"restart": {"rules": [rule]}}, f)
        os.chmod(tmp, 0o755)
        os.chmod(config, 0o644)
        hm = Container("hostmon", image, *args, "--config", "/etc/hostmon/hostmon.json",
                       flags=flags + ["-v", f"{config}:/etc/hostmon/hostmon.json:ro"]).start()
        containers.append(hm)
        ready = wait_for(lambda: get(hm.ip, 9567, "/readyz")[0] == 200, 60)
        t.check(ready, f"/readyz 200 under the manifest's privileges: {hm.logs()[-3000:]}")
        t.check(get(hm.ip, 9567, "/healthz")[0] == 200, "/healthz 200")
        logs = hm.logs()
        t.check("php USDT probes attached" in logs, "USDT probes attached to the php-fpm that ran before hostmon")
        without_ptrace(t, flags, image)
        prom = start_prometheus(t, extra, broker, broker_started, hm)

        n = 30
        answers = [(get(fpm.ip, 8080, f"/users/{i}")[0], get(node.ip, 8000, "/fast")[0]) for i in range(n)]
        errors = [get(node.ip, 8000, "/status/500")[0] for _ in range(5)]  # for the error-rate panel
        t.check(errors == [500] * 5, f"node answers 500 where asked: {errors}")
        t.check(all(a == (200, 200) for a in answers), f"laravel and node answer: {set(answers)}")

        def counted():
            text = get(hm.ip, 9567, "/metrics")[1].decode()
            php = of_container(text, HIST + "_count", fpm.id, runtime="php")
            ngx = of_container(text, HIST + "_count", web.id, runtime="nginx")
            nod = of_container(text, HIST + "_count", node.id, runtime="node")
            return (php >= n and ngx >= n and nod >= n) and text
        text = wait_for(counted, 30) or get(hm.ip, 9567, "/metrics")[1].decode()
        for c, runtime in ((fpm, "php"), (web, "nginx"), (node, "node")):
            got = of_container(text, HIST + "_count", c.id, runtime=runtime)
            t.check(got >= n, f"{runtime} requests into {c.name} counted: {got} >= {n}")
            t.check(of_container(text, CPU, c.id) > 0, f"CPU series of {c.name}")
        ok, out = promtool_check(text.encode())
        t.check(ok, f"promtool check metrics: {out[:2000]}")
        check_names(t, hm, text, [fpm, web, node])
        check_pool(t, hm, fpm)

        # sustained burn on the pool: one graceful reload, the master kept, its workers replaced
        workers_before = set(docker("top", fpm.id, "-eo", "pid,args").stdout.split("\n")[1:])
        threads = burn(fpm.ip, 8080, 8, 3)
        acted = wait_for(lambda: of_container_rule(get(hm.ip, 9567, "/metrics")[1].decode()) >= 1, 60, 0.5)
        for th in threads:
            th.join()
        t.check(acted, f"restart rule acted ok once: {grep(hm.logs(), 'restart')}")
        t.check(of_container_rule(get(hm.ip, 9567, "/metrics")[1].decode()) == 1, "exactly one action")
        t.check(fpm.running() and fpm.pid == master, "php-fpm master kept (graceful reload)")
        workers_after = set(docker("top", fpm.id, "-eo", "pid,args").stdout.split("\n")[1:])
        t.check(workers_before != workers_after, "the pool's workers were replaced")

        check_dashboard(t, prom)

        # memory: the container's peak (cgroup v1 memory controller, or cgroup2 memory.peak)
        peak = memory_peak(hm)
        progs, percpu_bytes = held_bpf(hm.pid)
        ncpu = os.cpu_count()
        info(f"hostmon in its container: peak {peak / 2**20 if peak else float('nan'):.1f} MiB, "
             f"per-CPU map values {percpu_bytes / 2**20:.2f} MiB per CPU, {len(progs)} BPF programs")
        if formula:
            t.check(percpu_bytes <= formula[1] * 2**20, f"per-CPU maps {percpu_bytes} B within {formula[1]} MiB per CPU")
            if peak is not None:
                tasks = host_tasks()
                t.check(peak <= (formula[0] + formula[1] * ncpu + formula[2] * tasks / 1000) * 2**20,
                        f"peak {peak} B within the formula at {ncpu} CPUs and {tasks} tasks")
        t.check(peak is not None, "the container's peak memory is readable")
        t.check(not hm.inspect()["State"]["OOMKilled"], "not OOM-killed")
        t.check(len(progs) > 0, "hostmon holds BPF programs")

        rc = hm.stop()
        t.check(rc == 0, f"docker stop: exit code {rc}: {hm.logs()[-1000:]}")
        left = [p for p in progs if subprocess.run(["bpftool", "prog", "show", "id", str(p)],
                                                   capture_output=True).returncode == 0]
        t.check(not left, f"no BPF program left attached after stop: {left}")
    finally:
        extra.close()
        for c in reversed(containers):
            c.remove()


def start_prometheus(t, extra, broker, broker_started, hm):
    """A broker with one queue, a second (host) hostmon running the rabbitmq collector, as the
    cluster-wide Deployment would, and Prometheus scraping both hostmons with the alert rules."""
    broker_started.join()
    t.check(broker.is_running(), "RabbitMQ started")
    broker.declare_queue("/", "orders")
    broker.publish("/", "orders", "x", count=5)
    d = Daemon("--collectors", "rabbitmq", "--rabbitmq-url", broker.url, "--rabbitmq-interval", "1s",
               "--rabbitmq-timeout", "800ms", "--rabbitmq-detail-interval", "1s",
               env={"HOSTMON_RABBITMQ_PASSWORD": "guest"})
    extra.callback(lambda: (d.stop(), d.close()))
    prom = Prometheus([f"{hm.ip}:9567", f"{d.host}:{d.port}"], rule_files=[RULES]).start()
    extra.callback(prom.stop)
    return prom


def check_dashboard(t, prom):
    """Every panel expression of the dashboard and every metric selector of every alert rule returns
    data from the real Prometheus scraping this scenario; every rule evaluates without error."""
    t.check(prom.wait_scraped(3), "Prometheus scraped both hostmons")
    for title, expr in dashboard_exprs(DASHBOARD):
        got = wait_for(lambda: prom.query(expr), 15, 1)
        t.check(bool(got), f"dashboard panel {title!r} has data: {expr}")
    rules = wait_for(lambda: [r for r in prom.rules() if r.get("health") == "ok"] and prom.rules(), 15, 1) or []
    t.check(len(rules) >= 12, f"the alert rules are loaded: {len(rules)}")
    for r in rules:
        t.check(r.get("health") == "ok", f"rule {r['name']} evaluates: {r.get('lastError')}")
        for sel in selectors(r["query"]):
            t.check(bool(prom.query(f"count({sel})")), f"rule {r['name']}: {sel} has data")


def check_pool(t, hm, fpm):
    """The example image's pool (examples/laravel/php-fpm.conf: [laravel], pm static, max_children 4),
    its pm.max_children read inside the container (/proc/PID/root): the master names Debian's
    /etc/php/8.2/fpm/php-fpm.conf, whose include= reaches pool.d/laravel.conf, a file the host
    does not have."""
    def pool_of(text):
        return {n: (labels, v) for n, labels, v in samples(text) if n.startswith("hostmon_phpfpm_")
                and labels.get("container_id") == fpm.id and labels.get("pool") == "laravel"}
    got = wait_for(lambda: (lambda p: p.get("hostmon_phpfpm_workers", ({}, 0))[1] == 4 and p)(
        pool_of(get(hm.ip, 9567, "/metrics")[1].decode())), 20) or {}
    info_labels = got.get("hostmon_phpfpm_config_info", ({}, 0))[0]
    t.check(got.get("hostmon_phpfpm_workers", ({}, 0))[1] == 4
            and got.get("hostmon_phpfpm_max_children", ({}, 0))[1] == 4,
            f"php-fpm pool laravel of {fpm.name}: 4 workers, max_children 4: {got}")
    t.check(info_labels.get("status") == "ok"
            and info_labels.get("config") == "/etc/php/8.2/fpm/pool.d/laravel.conf",
            f"max_children read inside the container, from its pool.d/laravel.conf: {info_labels}")


def names_of(text, container_id, family=CPU):
    return {labels.get("container") for n, labels, _ in samples(text)
            if n == family and labels.get("container_id") == container_id}


def check_names(t, hm, text, containers):
    """Docker's names on the CPU and HTTP series (from config.v2.json under the manifest's
    read-only /var/lib/docker/containers), and a rename followed at the next rescan."""
    for c in containers:
        t.check(names_of(text, c.id) == {c.name}, f"container label of {c.name}: {names_of(text, c.id)}")
    t.check(names_of(text, containers[0].id, HIST + "_count") == {containers[0].name},
            f"container label on the HTTP series: {names_of(text, containers[0].id, HIST + '_count')}")
    node = containers[-1]
    docker("rename", node.name, node.name + "-renamed")
    node.name += "-renamed"
    renamed = wait_for(lambda: names_of(get(hm.ip, 9567, "/metrics")[1].decode(), node.id) == {node.name}, 30, 0.5)
    t.check(renamed, f"the rename followed: {names_of(get(hm.ip, 9567, '/metrics')[1].decode(), node.id)}")


def without_ptrace(t, flags, image):
    """The manifest's flags less SYS_PTRACE: the containers' processes are hidden, and hostmon says so."""
    i = flags.index("SYS_PTRACE")
    less = flags[:i - 1] + flags[i + 1:]
    c = Container("hostmon-noptrace", image, "--listen", ":9567", "--collectors", "http_latency", flags=less).start()
    try:
        ok = wait_for(lambda: get(c.ip, 9567, "/readyz")[0] == 200, 60)
        logs = c.logs()
        t.check(ok and "cannot see which program some processes run" in logs and "CAP_SYS_PTRACE" in logs,
                f"without CAP_SYS_PTRACE hostmon says which capability is missing: {logs[-1500:]}")
    finally:
        c.remove()


def of_container_rule(text):
    return sum(v for n, labels, v in samples(text) if n == "hostmon_restart_actions_total"
               and labels.get("rule") == "laravel" and labels.get("result") == "ok")


def grep(text, word):
    return "\n".join(line for line in text.splitlines() if word in line)[-2000:]


def memory_peak(c):
    for path in (f"/sys/fs/cgroup/memory/docker/{c.id}/memory.max_usage_in_bytes",
                 f"/sys/fs/cgroup/docker/{c.id}/memory.peak",
                 f"/sys/fs/cgroup/system.slice/docker-{c.id}.scope/memory.peak"):
        try:
            with open(path) as f:
                return int(f.read())
        except OSError:
            continue
    return None


if __name__ == "__main__":
    main(run, "deploy/test_container")
