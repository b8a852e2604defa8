"""Least privilege of the running daemon (issue 18, findings 3-6), checked from outside it.

  (a) capabilities: once started, every thread has exactly the kept set in CapEff, CapPrm and
      CapBnd, none inheritable or ambient, NoNewPrivs 1 and Seccomp 2 (filter); the log names the
      set in one line; --seccomp=false keeps the reduction and drops only the filter.
  (b) the filter bites: an exec restart action (children inherit the filter) runs taskset, whose
      sched_setaffinity(2) hostmon's list lacks: under --seccomp=true it fails with EPERM (result
      failed, the output says so); under --seccomp=false the same command succeeds.
  (c) the list is complete: the daemon under `strace -f` through its start, every endpoint and
      format, a RabbitMQ poll (a local stand-in broker), SIGHUP and an exec action makes no
      system call that user/core/seccomp.c does not allow; the calls are printed.
  (d) files root acts on: a 0666 --config, a config in a 0777 directory and a 0777 action program
      are refused with one line and exit 2; --insecure-allow-writable accepts them; a 0644 file
      of root's in a directory under the sticky /tmp is fine.
  (e) a password in --rabbitmq-url is refused at start, the message says where it goes and never
      repeats it.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, wait_until
from hostmon_test import BIN, ROOT, Daemon, main, parse_samples, request

# LeakSanitizer's exit-time check (make asan) stops threads with calls the filter refuses; the
# daemons run under the filter here skip it (every other test runs asan without the filter)
NO_LEAK_CHECK = {"ASAN_OPTIONS": "detect_leaks=0"}

# bpf perfmon sys_admin net_admin sys_ptrace dac_read_search kill setuid setgid setpcap
KEPT = sum(1 << b for b in (39, 38, 21, 12, 19, 2, 5, 7, 6, 8))
KEPT_NAMES = "bpf,perfmon,sys_admin,net_admin,sys_ptrace,dac_read_search,kill,setuid,setgid,setpcap"


def status(pid):
    """The capability and filter fields of every thread of pid: {tid: {field: value}}."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                text = f.read()
        except OSError:
            continue
        out[tid] = {k: v for k, v in re.findall(r"^(Cap\w+|NoNewPrivs|Seccomp):\s*(\S+)", text, re.M)}
    return out


def check_reduced(t, d, seccomp, min_threads=1):
    threads = status(d.proc.pid)
    t.check(len(threads) >= min_threads, f"threads checked (the poller among them): {len(threads)}")
    for tid, s in threads.items():
        caps = {k: int(s[k], 16) for k in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb")}
        want = {"CapEff": KEPT, "CapPrm": KEPT, "CapBnd": KEPT, "CapInh": 0, "CapAmb": 0}
        t.check(caps == want, f"thread {tid}: {({k: hex(v) for k, v in caps.items()})}")
        t.check(s["NoNewPrivs"] == "1", f"thread {tid}: NoNewPrivs {s['NoNewPrivs']}")
        t.check(s["Seccomp"] == ("2" if seccomp else "0"), f"thread {tid}: Seccomp {s['Seccomp']}")
    line = [l for l in d.logs().splitlines() if "privileges reduced" in l]
    t.check(len(line) == 1 and f"capabilities={KEPT_NAMES}" in line[0], f"one log line: {line}")


class Broker:
    """A stand-in RabbitMQ management API: one vhost with one queue."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/api/vhosts"):
                    body = [{"name": "/"}]
                else:
                    body = [{"name": "q1", "vhost": "/", "messages": 1, "messages_ready": 1,
                             "messages_unacknowledged": 0, "node": "n", "type": "classic",
                             "state": "running", "durable": True}]
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def write_rule(tmp, cg, argv):
    path = os.path.join(tmp, "hostmon.json")
    rule = {"name": "probe", "cgroup": cg, "cores": 1, "threshold": 0.3, "clear": 0.1,
            "interval": "200ms", "window": "600ms", "cooldown": "60s", "verify": "1s",
            "action": {"type": "exec", "argv": argv, "timeout": "5s"}}
    with open(path, "w") as f:
        json.dump({"restart": {"rules": [rule]}}, f)
    return path


def action_results(d):
    s = parse_samples(request(d, "/metrics")[2].decode())
    return {m.group(1): v for k, v in s.items()
            if (m := re.match(r'hostmon_restart_actions_total\{rule="probe",action="exec",result="(\w+)"\}', k))}


def wait_action(d, timeout=20):
    return wait_until(lambda: (lambda r: r if sum(r.values()) else None)(action_results(d)), timeout) or {}


def part_filter(t, env, tmp):
    cg = env.mkdir("filter")
    env.spawn(cg, "busy")
    cfg = write_rule(tmp, cg, ["/usr/bin/taskset", "-c", "0", "/bin/true"])
    # without the filter the command runs; whether the busy loop's CPU then falls (ok) or not
    # (timeout) depends on the machine's load, not on the filter
    for mode, want in (("true", ("failed",)), ("false", ("timeout", "ok"))):
        info(f"(b) taskset from an exec action, --seccomp={mode}")
        d = Daemon("--collectors", "cgroup_cpu", "--config", cfg,
                   env={"HOSTMON_SECCOMP": mode, **NO_LEAK_CHECK})
        try:
            if mode == "true":
                check_reduced(t, d, True)
            got = wait_action(d)
            t.check(sum(got.get(w, 0) for w in want) == 1 and sum(got.values()) == 1,
                    f"--seccomp={mode}: result {' or '.join(want)}: {got}")
            result = [l for l in d.logs().splitlines() if "restart action result" in l]
            if mode == "true":
                t.check(result and "Operation not permitted" in result[0],
                        f"the command's sched_setaffinity was refused: {result}")
            else:
                t.check(result and "not permitted" not in result[0], f"the command ran: {result}")
        finally:
            rc, _ = d.stop()
            t.check(rc == 0, f"--seccomp={mode}: exit code {rc}")
            d.close()


def allowed_calls():
    with open(os.path.join(ROOT, "user", "core", "seccomp.c")) as f:
        return set(re.findall(r"__NR_(\w+)", f.read()))


def part_strace(t, env, tmp):
    cg = env.mkdir("strace")
    env.spawn(cg, "busy")
    cfg = write_rule(tmp, cg, ["/bin/sh", "-c", "id; cat /proc/self/status > /dev/null; sleep 0.1"])
    trace = os.path.join(tmp, "strace.out")
    broker = Broker()
    info("(c) every system call of a full run, under strace -f")
    d = Daemon("--config", cfg, "--rabbitmq-url", broker.url, "--rabbitmq-interval", "500ms",
               "--rabbitmq-timeout", "400ms", "--log-level", "debug",
               wrapper=("strace", "-f", "-qq", "-o", trace),
               # and a traced process cannot be ptraced again by LeakSanitizer
               env=NO_LEAK_CHECK)
    try:
        for path, hdrs in (("/", {}), ("/metrics", {}), ("/metrics", {"Accept-Encoding": "gzip"}),
                           ("/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"}),
                           ("/healthz", {}), ("/readyz", {}), ("/nope", {})):
            request(d, path, headers=hdrs)
        request(d, "/metrics", method="POST")
        got = wait_action(d)
        t.check(sum(got.values()) >= 1, f"the exec action ran: {got}")
        t.check(wait_until(lambda: "q1" in request(d, "/metrics")[2].decode(), 10),
                "a RabbitMQ poll succeeded")
        # strace is the process started; the daemon is its child
        children = open(f"/proc/{d.proc.pid}/task/{d.proc.pid}/children").read().split()
        hostmon = int(children[0])
        os.kill(hostmon, signal.SIGHUP)
        time.sleep(0.5)
        os.kill(hostmon, signal.SIGTERM)
        rc = d.proc.wait(timeout=20)
        t.check(rc == 0, f"hostmon under strace exited 0: {rc}")
    finally:
        d.close()
        broker.close()
    calls = {}
    with open(trace) as f:
        for line in f:
            m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]", line)
            if m and m.group(1) not in ("exited", "killed", "resumed"):
                calls[m.group(1)] = calls.get(m.group(1), 0) + 1
    # the start before the filter may use more (mounts, BPF loads); after it, only the list.
    # strace cannot tell the two apart, so the whole run must fit the list except the calls
    # that only happen before the filter is installed
    before_filter = {"execve", "mount", "setrlimit", "prlimit64"}
    print("# system calls of a full run (strace -f):", " ".join(sorted(calls)), flush=True)
    missing = sorted(set(calls) - allowed_calls() - before_filter)
    t.check(not missing, f"every call made is on the list in user/core/seccomp.c: missing {missing}")
    t.check(len(calls) > 40, f"the trace saw a full run: {len(calls)} distinct calls")


def part_files(t, tmp):
    good = os.path.join(tmp, "ok.json")
    with open(good, "w") as f:
        f.write("{}")
    os.chmod(good, 0o644)

    def start(*args):
        """A start that must be refused; one that runs instead is killed after 20 s (run()
        does that on the timeout) and reported as not refused."""
        try:
            return subprocess.run([BIN, "--listen", "127.0.0.1:0", *args], capture_output=True,
                                  text=True, timeout=20, env={**os.environ, "HOSTMON_SECCOMP": "kill"})
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, None, "", "still running after 20 s: not refused")

    info("(d) a 0666 config file")
    bad = os.path.join(tmp, "world.json")
    with open(bad, "w") as f:
        f.write("{}")
    os.chmod(bad, 0o666)
    p = start("--config", bad, "--collectors", "cgroup_cpu")
    t.check(p.returncode == 2 and "writable by group and others (mode 0666)" in p.stderr
            and p.stderr.count("\n") == 1, f"refused in one line: {p.returncode} {p.stderr!r}")

    info("(d) a config file in a 0777 directory")
    open_dir = os.path.join(tmp, "open")
    os.mkdir(open_dir)
    os.chmod(open_dir, 0o777)
    inside = os.path.join(open_dir, "hostmon.json")
    with open(inside, "w") as f:
        f.write("{}")
    os.chmod(inside, 0o644)
    p = start("--config", inside, "--collectors", "cgroup_cpu")
    t.check(p.returncode == 2 and f"its directory {open_dir} is writable" in p.stderr,
            f"unsafe parent refused: {p.stderr!r}")

    info("(d) a 0777 exec program")
    script = os.path.join(tmp, "restart.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\ntrue\n")
    os.chmod(script, 0o777)
    cfg = write_rule(tmp, "/x", [script])
    p = start("--config", cfg, "--collectors", "cgroup_cpu")
    t.check(p.returncode == 2 and 'restart rule "probe"' in p.stderr and "mode 0777" in p.stderr,
            f"writable program refused: {p.stderr!r}")

    info("(d) --insecure-allow-writable, and root's 0644 file below the sticky /tmp")
    for args in (("--config", bad, "--insecure-allow-writable"), ("--config", good)):
        d = Daemon("--collectors", "cgroup_cpu", *args)
        rc, _ = d.stop()
        t.check(rc == 0, f"{args} accepted: exit {rc}")
        d.close()


def part_url(t):
    info("(e) a password in --rabbitmq-url")
    p = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--rabbitmq-url", "http://admin:hunter2@127.0.0.1:15672"],
                       capture_output=True, text=True, timeout=20)
    t.check(p.returncode == 2 and "must not carry credentials" in p.stderr
            and "--rabbitmq-password-file" in p.stderr, f"refused: {p.returncode} {p.stderr!r}")
    t.check("hunter2" not in p.stderr + p.stdout, "the password is not repeated")


def run(t):
    env = Env("hostmon-privilege", cgroup2_mount())
    tmp = tempfile.mkdtemp(prefix="hostmon-privilege-")
    try:
        env.mkdir("")
        # valgrind (make valgrind) makes system calls of its own that hostmon's list does not
        # hold: under it the filter parts cannot run; the reduction itself still is checked
        wrapped = bool(os.environ.get("HOSTMON_WRAPPER"))
        modes = (("false", False),) if wrapped else (("kill", True), ("false", False))
        info("(a) the running daemon's privileges, with and without the filter")
        for mode, filtered in modes:
            d = Daemon("--collectors", "cgroup_cpu,rabbitmq", "--rabbitmq-url", "http://127.0.0.1:1",
                       env={"HOSTMON_SECCOMP": mode, **NO_LEAK_CHECK})
            try:
                check_reduced(t, d, filtered, min_threads=2)
                t.check(request(d, "/healthz")[0] == 200, f"serves after the reduction ({mode})")
            finally:
                rc, _ = d.stop()
                t.check(rc == 0, f"exit code {rc}")
                d.close()
        if wrapped:
            t.skip("the seccomp filter under a wrapper (valgrind): its calls are not hostmon's")
        else:
            part_filter(t, env, tmp)
            part_strace(t, env, tmp)
        part_files(t, tmp)
        part_url(t)
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main(run, "core/test_privilege")
