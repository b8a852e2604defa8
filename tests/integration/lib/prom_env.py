"""A real Prometheus server (Debian's prometheus) for integration tests: scrapes the given targets
every second and loads rule files; expressions are evaluated through its HTTP API. Also reads the
expressions of a Grafana dashboard and the metric selectors of an alert expression.

    with Prometheus(["172.17.0.3:9567"], rule_files=[rules]) as p:
        p.wait_scraped(2)                 # every target up for two scrapes
        p.query('up')                     # the instant vector's result list
        p.rules()                         # [{"name", "health", "lastError", "query", ...}]
    dashboard_exprs(path)                 # [(panel title, expr)] with $instance and
                                          # $__rate_interval replaced
    selectors(expr)                       # ['hostmon_x{a="b"}', ...] hostmon_/rabbitmq_/process_ ones
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from php_env import free_port
from server_env import StartStop, file_tail, find_binary, forget, stop_at_exit


class PrometheusError(RuntimeError):
    pass


class Prometheus(StartStop):
    def __init__(self, targets, rule_files=(), start_timeout=60):
        self.targets = list(targets)
        self.rule_files = list(rule_files)
        self.start_timeout = start_timeout
        self.binary = find_binary("HOSTMON_PROMETHEUS", "prometheus", "/usr/bin/prometheus")
        self.base = self.proc = self.port = self._out = None

    def start(self):
        if self.binary is None:
            raise PrometheusError("no prometheus binary (Debian's prometheus: scripts/deps.sh test)")
        self.base = tempfile.mkdtemp(prefix="hostmon-prometheus-")
        self.port = free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": self.rule_files,
                  "scrape_configs": [{"job_name": "hostmon", "static_configs": [{"targets": self.targets}]}]}
        path = os.path.join(self.base, "prometheus.yml")
        with open(path, "w") as f:
            json.dump(config, f)  # JSON is YAML
        self._out = open(os.path.join(self.base, "prometheus.log"), "wb")
        self.proc = subprocess.Popen([self.binary, f"--config.file={path}",
                                      f"--storage.tsdb.path={self.base}/data",
                                      f"--web.listen-address=127.0.0.1:{self.port}"],
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        stop_at_exit(self, self.stop)
        deadline = time.monotonic() + self.start_timeout
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise PrometheusError(f"prometheus not ready: {self.log_tail()}")
            time.sleep(0.2)
        return self

    def _ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def log_tail(self, n=20):
        return file_tail(os.path.join(self.base, "prometheus.log"), n) if self.base else ""

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.load(e)
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def rules(self):
        return [r for g in self.api("rules")["groups"] for r in g["rules"]]

    def wait_scraped(self, scrapes=2, timeout=30):
        """Every target up for `scrapes` scrapes in a row (the samples rate() needs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            up = self.query(f"min_over_time(up[{scrapes + 1}s])")
            if len(up) == len(self.targets) and all(float(s["value"][1]) == 1 for s in up):
                return True
            time.sleep(0.5)
        return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out is not None:
            self._out.close()
            self._out = None
        forget(self)
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None


def dashboard_exprs(path, rate_interval="1m"):
    """Every target expression of a Grafana dashboard, its variables replaced as Grafana would
    for "All" nodes."""
    with open(path) as f:
        dash = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            for target in p.get("targets", []):
                expr = target["expr"].replace("$__rate_interval", rate_interval).replace("$instance", ".*")
                out.append((p["title"], expr))
    walk(dash["panels"])
    return out


# a label matcher's quoted value may hold braces (a regex such as "[0-9a-f]{12,64}")
SELECTOR_RE = re.compile(r'\b((?:hostmon|rabbitmq|process)_[a-z_]+)(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})?')


def selectors(expr):
    """The hostmon, rabbitmq and process metric selectors of a PromQL expression."""
    return sorted({name + (labels or "") for name, labels in SELECTOR_RE.findall(expr)})
