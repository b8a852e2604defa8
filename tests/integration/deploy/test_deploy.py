"""deploy/: the Prometheus rules load in promtool, use only metrics hostmon documents, and pass their
unit tests (`promtool test rules`), which cover every alert firing and not firing, hostmon down and
absent included; the systemd unit passes `systemd-analyze verify` (offline: no systemd runs here);
docs/prometheus.md's scrape config passes `promtool check config` and its Service and
ServiceMonitor fit the DaemonSet (no Kubernetes API: checked against the manifest); the RabbitMQ
Deployment is one replica of the same image with --collectors rabbitmq and no grant, the DaemonSet's
RabbitMQ collector is off, and hostmon runs with the Deployment's arguments, environment and user
against a stand-in broker."""
import os
import sys
import re
import subprocess
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fault_server import FaultServer, sample_queue
from hostmon_test import BIN, ROOT, Daemon, main


def check_unit(t):
    """The unit as shipped, its ExecStart pointed at the built binary (verify checks that it exists)."""
    with open(os.path.join(ROOT, "deploy", "systemd", "hostmon.service")) as f:
        unit = f.read()
    t.check("ExecStart=/usr/local/bin/hostmon " in unit, "the unit starts /usr/local/bin/hostmon")
    with tempfile.TemporaryDirectory(prefix="hostmon-unit-") as d:
        path = os.path.join(d, "hostmon.service")
        with open(path, "w") as f:
            f.write(unit.replace("ExecStart=/usr/local/bin/hostmon ", f"ExecStart={BIN} "))
        # Documentation=man:hostmon(8) resolves once installed: test_install.py verifies that
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True,
                           text=True)
        t.check(p.returncode == 0 and "hostmon.service" not in p.stderr,
                f"systemd-analyze verify: {p.returncode} {p.stdout}{p.stderr}")


def check_rule_tests(t, rules):
    tests = os.path.join(ROOT, "deploy", "prometheus", "hostmon-rules.test.yml")
    p = subprocess.run(["promtool", "test", "rules", tests], capture_output=True, text=True)
    t.check(p.returncode == 0, f"promtool test rules: {p.stdout}{p.stderr}")
    import yaml  # Debian's python3-yaml
    with open(tests) as f:
        cases = [c for test in yaml.safe_load(f)["tests"] for c in test.get("alert_rule_test", [])]
    with open(rules) as f:
        alerts = re.findall(r"- alert: (\w+)", f.read())
    for alert in alerts:
        mine = [c for c in cases if c["alertname"] == alert]
        t.check(any(c["exp_alerts"] for c in mine) and any(not c["exp_alerts"] for c in mine),
                f"alert {alert} is tested firing and not firing")


def yaml_blocks(path):
    with open(path) as f:
        return re.findall(r"```yaml\n(.*?)```", f.read(), re.S)


def check_scrape_docs(t, rules):
    """docs/prometheus.md: the scrape config passes promtool check config with the rule file beside
    it and names the job the alerts use; the Service and ServiceMonitor fit the DaemonSet (no
    Kubernetes API here: checked against the manifest, not applied)."""
    import yaml  # Debian's python3-yaml
    blocks = yaml_blocks(os.path.join(ROOT, "docs", "prometheus.md"))
    t.check(len(blocks) == 2, f"two YAML blocks in docs/prometheus.md, got {len(blocks)}")
    if len(blocks) != 2:
        return
    with tempfile.TemporaryDirectory(prefix="hostmon-prom-") as d:
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(blocks[0])
        with open(rules) as src, open(os.path.join(d, "hostmon-rules.yml"), "w") as dst:
            dst.write(src.read())
        p = subprocess.run(["promtool", "check", "config", os.path.join(d, "prometheus.yml")],
                           capture_output=True, text=True)
        t.check(p.returncode == 0 and "SUCCESS" in p.stdout + p.stderr,
                f"promtool check config of the docs' scrape config: {p.stdout}{p.stderr}")
    cfg = yaml.safe_load(blocks[0])
    jobs = [j["job_name"] for j in cfg["scrape_configs"]]
    with open(rules) as f:
        rule_text = f.read()
    t.check(jobs == ["hostmon"] and 'up{job="hostmon"}' in rule_text,
            f"the job the alerts expect: {jobs}")
    docs = list(yaml.safe_load_all(blocks[1]))
    kinds = {x["kind"]: x for x in docs}
    with open(os.path.join(ROOT, "deploy", "kubernetes", "daemonset.yaml")) as f:
        ds = yaml.safe_load(f)
    svc, sm = kinds.get("Service"), kinds.get("ServiceMonitor")
    t.check(svc and sm and sm["apiVersion"] == "monitoring.coreos.com/v1", f"a Service and a ServiceMonitor: {list(kinds)}")
    if not (svc and sm):
        return
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"] for c in ds["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
    t.check(svc["metadata"]["namespace"] == ds["metadata"]["namespace"]
            and all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items()),
            "the Service selects the DaemonSet's pods in its namespace")
    t.check(all(p["targetPort"] in ports for p in svc["spec"]["ports"]),
            f"the Service's targetPort is a named port of the DaemonSet {ports}")
    t.check(all(svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items())
            and svc["metadata"]["namespace"] in sm["spec"]["namespaceSelector"]["matchNames"],
            "the ServiceMonitor selects the Service")
    t.check({e["port"] for e in sm["spec"]["endpoints"]} <= {p["name"] for p in svc["spec"]["ports"]}
            and svc["metadata"]["name"] == "hostmon",
            "it scrapes the Service's port; the job (the Service's name) is hostmon")


def manifest(name):
    import yaml  # Debian's python3-yaml
    with open(os.path.join(ROOT, "deploy", "kubernetes", name)) as f:
        return yaml.safe_load(f)


def flag(args, name):
    return args[args.index(name) + 1] if name in args else None


def check_rabbitmq_exporter(t):
    ds, dep = manifest("daemonset.yaml"), manifest("rabbitmq-exporter.yaml")
    dsc = ds["spec"]["template"]["spec"]["containers"][0]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    t.check(dep["kind"] == "Deployment" and dep["spec"]["replicas"] == 1
            and dep["spec"]["strategy"]["type"] == "Recreate",
            "rabbitmq-exporter.yaml: a Deployment of one replica, never two at once (Recreate)")
    t.check(c["image"] == dsc["image"] and flag(c["args"], "--collectors") == "rabbitmq",
            f"the same image ({c['image']}), --collectors rabbitmq ({c['args']})")
    t.check("rabbitmq" not in flag(dsc["args"], "--collectors").split(",")
            and not any("RABBITMQ" in e["name"] for e in dsc.get("env", [])),
            "the DaemonSet's RabbitMQ collector is off (not in --collectors, no RABBITMQ settings)")
    sc = c["securityContext"]
    t.check(not pod.get("hostPID") and sc["runAsNonRoot"] and sc["runAsUser"] != 0
            and sc["capabilities"] == {"drop": ["ALL"]} and sc["readOnlyRootFilesystem"]
            and not sc["allowPrivilegeEscalation"]
            and not any("hostPath" in v for v in pod.get("volumes", [])),
            "the Deployment has no grant: not root, no capability, no host PID or path")
    env = {e["name"]: e.get("value") for e in c["env"]}
    secret_dirs = {m["mountPath"] for m in c["volumeMounts"]
                   for v in pod["volumes"] if v["name"] == m["name"] and "secret" in v}
    pw = env.get("HOSTMON_RABBITMQ_PASSWORD_FILE") or ""
    t.check("HOSTMON_RABBITMQ_PASSWORD" not in env and os.path.dirname(pw) in secret_dirs,
            f"the password from a Secret's file ({pw} in {secret_dirs}), never in the manifest")

    # the manifest's own arguments, environment and user, against a stand-in broker
    with FaultServer("good", items=[sample_queue(1), sample_queue(2, vhost="a/b")]) as fs, \
            tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        pwfile = os.path.join(tmp, "password")
        with open(pwfile, "w") as f:
            f.write("guest\n")
        os.chmod(pwfile, 0o444)
        env.update(HOSTMON_RABBITMQ_URL=fs.url, HOSTMON_RABBITMQ_PASSWORD_FILE=pwfile)
        args = list(c["args"])
        del args[args.index("--listen"):args.index("--listen") + 2]   # the test's own port
        user = str(sc["runAsUser"])
        d = Daemon(*args, env=env, wrapper=("setpriv", "--reuid", user, "--regid",
                                            str(sc["runAsGroup"]), "--clear-groups"))
        try:
            page, deadline = "", time.monotonic() + 10
            while time.monotonic() < deadline and 'hostmon_rabbitmq_up{host="127.0.0.1"} 1' not in page:
                time.sleep(0.2)
                page = urllib.request.urlopen(f"http://{d.host}:{d.port}/metrics").read().decode()
            ups = re.findall(r'^hostmon_collector_up\{collector="(\w+)"\} (\S+)', page, re.M)
            t.check(ups == [("rabbitmq", "1")] and 'rabbitmq_individual_queue_messages{host="127.0.0.1",'
                    'vhost="a/b",name="q2"} 2' in page,
                    f"hostmon as the Deployment runs it (user {user}): the rabbitmq collector alone, "
                    f"up, its queues: {ups}")
        finally:
            d.stop()
            d.close()


def run(t):
    check_unit(t)
    check_rabbitmq_exporter(t)
    check_scrape_docs(t, os.path.join(ROOT, "deploy", "prometheus", "hostmon-rules.yml"))
    rules = os.path.join(ROOT, "deploy", "prometheus", "hostmon-rules.yml")
    p = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
    t.check(p.returncode == 0, f"promtool check rules: {p.stdout}{p.stderr}")
    with open(os.path.join(ROOT, "docs", "metrics.md")) as f:
        documented = set(re.findall(r"`((?:hostmon|rabbitmq|process)_[a-z_]+)", f.read()))
    with open(rules) as f:
        exprs = re.findall(r"expr: (.*)", f.read())
    t.check(len(exprs) > 0, "rules have expressions")
    check_rule_tests(t, rules)
    for expr in exprs:
        for name in re.findall(r"\b((?:hostmon|rabbitmq|process)_[a-z_]+)", expr):
            t.check(name in documented, f"{name} (used in an alert) is documented in docs/metrics.md")


if __name__ == "__main__":
    main(run, "deploy/test_deploy")
