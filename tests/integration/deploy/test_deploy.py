"""deploy/: the Prometheus rules load in promtool, use only metrics hostmon documents, and pass their
unit tests (`promtool test rules`), which cover every alert firing and not firing; the systemd unit
passes `systemd-analyze verify` (offline: no systemd runs here)."""
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


def run(t):
    check_unit(t)
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
