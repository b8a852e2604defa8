"""Health that tells the truth: a collector whose source fails is down, and says why; no working
collector at all is a failed start; a refusal for want of privileges says so and names the
capabilities.

  1. RabbitMQ behind a fake broker that answers 401: hostmon_collector_up{collector="rabbitmq"} 0
     and /readyz 503 naming rabbitmq and the reason, while hostmon_rabbitmq_up keeps the detail;
     once the broker answers, both recover.
  2. As nobody with no capabilities (setpriv), the default collectors (all BPF) cannot start: one
     line per collector says it is a privilege problem and which capabilities are missing, and the
     daemon exits non-zero instead of serving nothing.
  3. The same user with a working RabbitMQ collector beside them: a partial start stays up and
     /readyz names what is missing.
  4. --collectors rabbitmq without a URL: exits non-zero.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fault_server import FaultServer
from hostmon_test import BIN, Daemon, main, parse_samples, request

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all"]
QUEUES = [{"name": "q1", "vhost": "/", "messages": 3, "messages_ready": 2, "messages_unacknowledged": 1}]


def samples_of(d):
    _, _, body = request(d, "/metrics")
    return parse_samples(body.decode())


def wait_for(pred, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return pred()


def broker_down_is_collector_down(t):
    with FaultServer() as fs:
        fs.set_mode("401")
        d = Daemon("--collectors", "rabbitmq", "--rabbitmq-url", fs.url, "--rabbitmq-interval", "1s",
                   "--rabbitmq-timeout", "500ms")
        try:
            fs.wait_requests(1)
            down = wait_for(lambda: samples_of(d).get('hostmon_rabbitmq_up{host="127.0.0.1"}') == 0)
            up_now = samples_of(d).get('hostmon_collector_up{collector="rabbitmq"}')
            t.check(down and up_now == 0, f"a broker answering 401: the collector is down: {up_now}")
            status, _, body = request(d, "/readyz")
            text = body.decode()
            t.check(status == 503 and "rabbitmq down: last poll failed: " in text,
                    f"/readyz names the collector and why: {status} {text!r}")
            fs.set_mode("good", items=QUEUES)
            up = wait_for(lambda: samples_of(d).get('hostmon_collector_up{collector="rabbitmq"}') == 1)
            t.check(up, "the collector is up again once the broker answers")
            status, _, body = request(d, "/readyz")
            t.check(status == 200 and b"rabbitmq up" in body, f"/readyz recovers: {status} {body!r}")
        finally:
            rc, _ = d.stop()
            t.check(rc == 0, f"exit code {rc}")
            d.close()


def run_to_exit(args, wrapper=(), timeout=30):
    p = subprocess.run([*wrapper, BIN, "--listen", "127.0.0.1:0", *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def unprivileged_nothing_starts(t):
    rc, logs = run_to_exit([], wrapper=NOBODY)
    failed = [line for line in logs.splitlines() if "collector failed to start" in line]
    t.check(rc != 0, f"no collector started: exit code {rc}, want non-zero")
    t.check("no collector could start" in logs, f"says why it exits:\n{logs}")
    bpf_collectors = ("cgroup_cpu", "http_latency", "cgroup_saturation", "cgroup_tcp", "nodejs_eventloop")
    t.check(len(failed) == len(bpf_collectors)
            and all(f"collector={c} " in " ".join(failed) for c in bpf_collectors),
            f"one failure line for each BPF collector: {failed}")
    t.check(all("privilege problem" in line and "CAP_BPF" in line and "CAP_PERFMON" in line for line in failed),
            f"each says it is a privilege problem and names the capabilities: {failed}")
    t.check(not any("verifier" in line for line in failed), f"and does not blame the verifier: {failed}")


def unprivileged_partial_start(t):
    with FaultServer() as fs:
        fs.set_mode("good", items=QUEUES)
        d = Daemon("--collectors", "cgroup_cpu,rabbitmq", "--rabbitmq-url", fs.url, "--rabbitmq-interval", "1s",
                   "--rabbitmq-timeout", "500ms", wrapper=NOBODY)
        try:
            up = wait_for(lambda: samples_of(d).get('hostmon_collector_up{collector="rabbitmq"}') == 1)
            t.check(up, "a partial start stays up: rabbitmq works")
            s = samples_of(d)
            t.check(s.get('hostmon_collector_up{collector="cgroup_cpu"}') == 0, "cgroup_cpu reported down")
            status, _, body = request(d, "/readyz")
            text = body.decode()
            t.check(status == 503 and "cgroup_cpu down: did not start" in text and "rabbitmq up" in text,
                    f"/readyz says what is missing: {status} {text!r}")
            t.check("no BPF privileges" in text, f"and why: {text!r}")
            down = [line for line in text.splitlines() if line.startswith("cgroup_cpu down: ")]
            t.check(down and "a privilege problem, not the kernel: missing CAP_" in down[0]
                    and "see the log" not in down[0],
                    f"the collector's own line gives its start error, not 'see the log': {down}")
            _, _, body = request(d, "/status.json")
            cols = {c["name"]: c for c in json.loads(body)["collectors"]}
            t.check(cols["cgroup_cpu"]["up"] is False and cols["cgroup_cpu"]["reason"] == down[0][len("cgroup_cpu down: "):],
                    f"the status page gives the same reason: {cols['cgroup_cpu']}")
        finally:
            rc, _ = d.stop()
            t.check(rc == 0, f"partial start exit code {rc}")
            d.close()


def rabbitmq_without_url(t):
    rc, logs = run_to_exit(["--collectors", "rabbitmq"])
    t.check(rc != 0 and "no collector could start" in logs,
            f"--collectors rabbitmq without a URL: exit {rc}, want non-zero:\n{logs}")


def run(t):
    broker_down_is_collector_down(t)
    unprivileged_nothing_starts(t)
    unprivileged_partial_start(t)
    rabbitmq_without_url(t)


if __name__ == "__main__":
    main(run, "core/test_health")
