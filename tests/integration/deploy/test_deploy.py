"""deploy/: the Prometheus rules load in promtool, use only metrics hostmon documents, and pass their
unit tests (`promtool test rules`), which cover every alert firing and not firing, hostmon down and
absent included; the systemd unit passes `systemd-analyze verify` (offline: no systemd runs here);
docs/prometheus.md's scrape config passes `promtool check config` and its Service and
ServiceMonitor fit the DaemonSet (no Kubernetes API: checked against the manifest)."""
import os
import sys
import re
import subprocess
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hostmon_test import BIN, ROOT, main


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


def run(t):
    check_unit(t)
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
