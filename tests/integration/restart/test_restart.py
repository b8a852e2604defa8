"""The restart controller against a real Laravel app on a real php-fpm pool in its own cgroup.

Each scenario starts a php-fpm pool (static, 2 workers, unix socket, process_control_timeout 1 s)
in a fresh cgroup2 directory with nginx in front (tests/integration/lib/php_env.py), and hostmon with
one rule in a --config file (cores 1, threshold 0.5, clear 0.3, interval 500ms, window 3s). Load
is the Laravel route /burn?seconds=N through nginx, which keeps one worker on a CPU. The threshold
is 0.5 rather than 0.8 so that the other engineers' load on this 2-vCPU machine cannot starve a
burn below it; the decision logic is the same at any threshold (unit-tested in
tests/unit/test_restart_fsm.c).

  (a) signal action, with a webhook receiver: a burst shorter than the window -> no action; a
      sustained burn -> exactly one SIGUSR2: every worker replaced, the master kept, result ok,
      not before the window; more burn inside the cooldown -> no second action; the webhook got
      the state changes and the result as JSON; promtool accepts the page.
  (b) dry run, target given as a process (pidfile + exe): result dry_run, no process touched; the
      log and the webhook (text starting "DRY RUN") say "would send SIGUSR2 to pid N (php-fpm8.2
      master)"; a second dry rule whose pidfile is missing says why it would fail.
  (c) exec action: the command sees HOSTMON_RULE/TARGET/CPU_RATIO; one that outlives its timeout
      is killed with its whole session (result timeout).
  (d) systemd action through a stand-in systemctl (no systemd here), target given as a unit name:
      the stand-in gets "restart UNIT" and reloads the pool -> result ok; max_actions 1 -> the
      next sustained burn suspends the rule; SIGHUP lifts the suspension; an invalid file on
      SIGHUP keeps the running rules.
  (e) invalid rules stop the start with exit 2 and the rule's name.

Everything created is removed in finally blocks: pools and nginx by their own pids, cgroups.
"""
import contextlib
import json
import os
import sys
import re
import signal
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, wait_until
from hostmon_test import BIN, Daemon, main, parse_samples, promtool_check
from php_env import FpmPool, Nginx, identities, still_running

RULE = {"cores": 1, "threshold": 0.5, "clear": 0.3, "interval": "500ms", "window": "3s",
        "cooldown": "20s", "verify": "10s"}
RESULTS = ("ok", "failed", "timeout", "dry_run")


class Receiver:
    """A local webhook receiver recording every JSON POST."""

    def __init__(self):
        self.posts = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("content-length", 0))
                body = self.rfile.read(n)
                outer.posts.append((self.path, self.headers.get("content-type"), body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self):
        return [json.loads(b) for _, _, b in self.posts]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def write_config(tmp, rules):
    path = os.path.join(tmp, "hostmon.json")
    with open(path, "w") as f:
        json.dump({"restart": {"rules": rules}}, f)
    return path


def rule(name, target, action, **extra):
    r = {"name": name, **target, **RULE, "action": action}
    r.update(extra)
    return r


def metrics(d):
    """The one rule's restart families: actions by result, state, ratio, target found."""
    s = parse_samples(scrape(d))
    out = {"actions": {}, "state": None, "ratio": None, "found": None}
    for k, v in s.items():
        m = re.match(r'hostmon_restart_actions_total\{rule="[^"]*",action="([^"]*)",result="([^"]*)"\}', k)
        if m:
            out["actions"][m.group(2)] = v
        m = re.match(r'hostmon_restart_rule_state\{rule="[^"]*",state="([^"]*)"\}', k)
        if m and v == 1:
            out["state"] = m.group(1)
        if k.startswith("hostmon_restart_rule_cpu_ratio{"):
            out["ratio"] = v
        if k.startswith("hostmon_restart_rule_target_found{"):
            out["found"] = v
    return out


def burn(web, seconds):
    """Starts a burn request in the background; returns the thread (its response is ignored: a
    reload may cut it short with a 502)."""
    def get():
        try:
            web.get(f"/burn?seconds={seconds}", timeout=seconds + 30)
        except OSError:
            pass  # the worker serving it was replaced: nginx or the pool closed the connection

    t = threading.Thread(target=get, daemon=True)
    t.start()
    return t


def wait_metrics(d, pred, timeout):
    """Scrapes until pred(metrics) holds; returns those metrics, or None at the timeout."""
    return wait_until(lambda: (lambda m: m if pred(m) else None)(metrics(d)), timeout)


def total_actions(m):
    return sum(m["actions"].get(r, 0) for r in RESULTS)


def wait_ready(t, d):
    """Until the rule has a ratio (two samples of a found target) and the pool is idle (ok)."""
    m = wait_metrics(d, lambda m: m["ratio"] is not None and m["state"] == "ok", 15)
    t.check(bool(m) and m["found"] == 1, f"target found and sampled: {m}")


def log_times(d, pattern):
    """Timestamps (seconds) of the log lines matching pattern."""
    out = []
    for line in d.logs().splitlines():
        if re.search(pattern, line):
            ts = re.search(r"time=\S+T(\d+):(\d+):([\d.]+)Z", line)
            if ts:
                out.append(int(ts.group(1)) * 3600 + int(ts.group(2)) * 60 + float(ts.group(3)))
    return out


def stop(t, d, what):
    rc, _ = d.stop()
    t.check(rc == 0, f"{what}: hostmon exit code {rc}")
    if rc != 0:
        print(d.logs())
    d.close()


@contextlib.contextmanager
def scenario(t, env, tmp, name, make_rules, daemon_env=None):
    """A pool in cgroup base/name behind nginx, and hostmon running make_rules(cg, pool) from a
    config file; yields (cg, pool, web, daemon, config path) once the rule has sampled its target."""
    cg = env.mkdir(name)
    with FpmPool(listen="unix", cgroup=env.path(cg), process_control_timeout=1) as pool, \
            Nginx(pool) as web:
        cfg = write_config(tmp, make_rules(cg, pool))
        d = Daemon("--collectors", "cgroup_cpu", "--config", cfg, env=daemon_env)
        try:
            wait_ready(t, d)
            yield cg, pool, web, d, cfg
        finally:
            stop(t, d, name)


def scenario_signal(t, env, tmp):
    hook = Receiver()
    rules = lambda cg, pool: [rule("laravel", {"cgroup": cg},
                                   {"type": "signal", "signal": "SIGUSR2", "pidfile": pool.pidfile,
                                    "exe": "php-fpm8.2"},
                                   notify={"webhook": hook.url})]
    try:
        with scenario(t, env, tmp, "signal", rules) as (cg, pool, web, d, _):
            master, workers = pool.master_pid, set(pool.worker_pids())
            t.check(len(workers) == 2, f"two workers {workers}")

            info("(a) a 1.5 s burst, shorter than the 3 s window")
            burn(web, 1.5).join()
            time.sleep(2)
            m = metrics(d)
            t.check(total_actions(m) == 0, f"no action for a short burst: {m['actions']}")
            t.check(set(pool.worker_pids()) == workers, "workers untouched")
            t.check(log_times(d, r"from=ok to=pending"), "the burst made the rule pending")

            info("(a) a sustained burn")
            burn(web, 8)
            m = wait_metrics(d, lambda m: m["actions"].get("ok"), 25)
            t.check(bool(m) and m["actions"].get("ok") == 1 and total_actions(m) == 1,
                    f"exactly one action, verified ok: {m and m['actions']}")
            t.check(pool.master_pid == master and master in pool.pids(), "the master was kept")
            new = set(pool.worker_pids())
            t.check(len(new) == 2 and not (new & workers), f"every worker replaced: {workers} -> {new}")
            t.check(re.search(r"restart action taken.*signal=SIGUSR2 pid=%d" % master, d.logs()),
                    "the signal is logged by name (SIGUSR2) with the master's pid")
            pend, act = log_times(d, r"from=ok to=pending"), log_times(d, r"to=cooldown")
            # the window starts where the first hot sample's interval started, up to one
            # interval before the line that logged it
            t.check(len(act) == 1 and pend and act[0] - pend[-1] >= 3 - 0.5 - 0.01,
                    f"acted after the window ({pend[-1:]} -> {act})")

            info("(a) more burn inside the cooldown")
            burn(web, 5).join()
            time.sleep(1)
            m = metrics(d)
            t.check(total_actions(m) == 1 and m["state"] == "cooldown",
                    f"no second action within the cooldown: {m['actions']} {m['state']}")
            t.check(set(pool.worker_pids()) == new, "workers untouched in the cooldown")

            ok, why = promtool_check(scrape(d).encode())
            t.check(ok, f"promtool accepts the page: {why}")
            ev = wait_until(lambda: (lambda e: e if any(x["event"] == "action" for x in e) else None)(
                hook.events()), 10) or []
            states = [(e.get("from"), e["state"]) for e in ev if e["event"] == "state"]
            t.check(("ok", "pending") in states and ("pending", "cooldown") in states,
                    f"state changes posted: {states}")
            results = [e.get("result") for e in ev if e["event"] == "action"]
            t.check(results == ["ok"], f"the result posted: {results}")
            t.check(all(ct == "application/json" for _, ct, _ in hook.posts), "JSON content type")
            t.check(all(e["rule"] == "laravel" and "laravel" in e["text"] for e in ev),
                    "Slack-compatible text and the rule in every post")
    finally:
        hook.close()


def dry_run_counts(d):
    """hostmon_restart_actions_total{result="dry_run"} per rule."""
    out = {}
    for k, v in parse_samples(scrape(d)).items():
        m = re.match(r'hostmon_restart_actions_total\{rule="([^"]*)",action="[^"]*",result="dry_run"\}', k)
        if m:
            out[m.group(1)] = v
    return out


def scenario_dry_run(t, env, tmp):
    hook = Receiver()
    missing = os.path.join(tmp, "no-such.pid")
    rules = lambda cg, pool: [
        rule("dry", {"process": {"exe": "php-fpm8.2", "pidfile": pool.pidfile}},
             {"type": "signal"}, dry_run=True, notify={"webhook": hook.url}),
        rule("dry-nopid", {"cgroup": cg}, {"type": "signal", "pidfile": missing},
             dry_run=True, notify={"webhook": hook.url})]
    try:
        with scenario(t, env, tmp, "dry", rules) as (cg, pool, web, d, _):
            ids = identities(pool.pids())
            info("(b) dry run: a sustained burn")
            burn(web, 5)
            n = wait_until(lambda: (lambda c: c if c.get("dry") and c.get("dry-nopid") else None)(
                dry_run_counts(d)), 20)
            t.check(n == {"dry": 1, "dry-nopid": 1}, f"one dry_run result per rule: {n}")
            m = metrics(d)
            t.check(total_actions(m) == 1, f"no other result: {m['actions']}")
            t.check(len(still_running(ids)) == len(ids), "no process was signalled")
            logs = d.logs()
            want = f"would send SIGUSR2 to pid {pool.master_pid} (php-fpm8.2 master)"
            t.check(want in logs, f"the log says what it would do: {want}")
            t.check(f"sending SIGUSR2 would fail: cannot read pidfile {missing}" in logs,
                    "the log says why it would fail (the pidfile is missing)")
            ev = wait_until(lambda: (lambda e: e if sum(x["event"] == "action" for x in e) >= 2
                                     else None)(hook.events()), 10) or []
            t.check(len(ev) >= 2 and all(e["text"].startswith(f"hostmon on {e['host']}: DRY RUN: ")
                                         for e in ev),
                    f"every webhook text says DRY RUN: {[e['text'] for e in ev]}")
            acted = [e for e in ev if e["event"] == "action" and e["rule"] == "dry"]
            t.check(acted and want in acted[0]["text"], f"the webhook says what it would do: {acted}")
    finally:
        hook.close()


def scenario_exec(t, env, tmp):
    # the command runs as nobody: it writes what it saw into a directory nobody may write to
    os.chmod(tmp, 0o711)  # nobody passes through to its drop directory, nothing more
    drop = os.path.join(tmp, "exec-out")
    os.makedirs(drop, exist_ok=True)
    os.chmod(drop, 0o1777)
    out = os.path.join(drop, "exec.env")
    # its own environment, uid, capabilities and open descriptors, read from /proc by its shell
    script = (f"tr '\\0' '\\n' < /proc/$$/environ > {out}; echo UID=$(id -u) >> {out}; "
              f"grep -E '^Cap(Eff|Prm|Bnd|Amb):' /proc/$$/status | tr -d '\\t' | tr ':' '=' >> {out}; "
              f"echo FDS=$(ls /proc/$$/fd | tr '\\n' ,) >> {out}; sleep 60 & sleep 60")
    rules = lambda cg, pool: [rule("slow-exec", {"cgroup": cg},
                                   {"type": "exec", "timeout": "1s", "user": "nobody",
                                    "argv": ["/bin/sh", "-c", script]})]
    # a secret in hostmon's environment must not reach the command
    secret = {"HOSTMON_RABBITMQ_PASSWORD": "hunter2-exec", "RABBITMQ_PASSWORD": "hunter2-compat"}
    with scenario(t, env, tmp, "exec", rules, daemon_env=secret) as (cg, pool, web, d, _):
        info("(c) exec action that outlives its 1 s timeout")
        burn(web, 5)
        m = wait_metrics(d, lambda m: m["actions"].get("timeout"), 20)
        t.check(bool(m) and m["actions"].get("timeout") == 1, f"result timeout: {m and m['actions']}")
        with open(out) as f:
            seen = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
        t.check(seen.get("HOSTMON_RULE") == "slow-exec", f"HOSTMON_RULE {seen.get('HOSTMON_RULE')}")
        t.check(seen.get("HOSTMON_TARGET") == cg, f"HOSTMON_TARGET {seen.get('HOSTMON_TARGET')}")
        t.check(float(seen.get("HOSTMON_CPU_RATIO", "0")) > 0.5,
                f"HOSTMON_CPU_RATIO {seen.get('HOSTMON_CPU_RATIO')}")
        env_names = sorted(k for k in seen if k not in ("UID", "FDS") and not k.startswith("Cap"))
        t.check(env_names == ["HOSTMON_CPU_RATIO", "HOSTMON_RULE", "HOSTMON_TARGET", "PATH"],
                f"only the documented variables, no secret: {env_names}")
        t.check(seen.get("UID") == "65534", f"runs as nobody: uid {seen.get('UID')}")
        caps = {k: int(seen.get(k, "1"), 16) for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb")}
        t.check(not any(caps.values()), f"no capability at all: {caps}")
        # 0-2, and the descriptor ls itself opened to read the directory
        fds = [x for x in seen.get("FDS", "").split(",") if x]
        t.check(len(fds) <= 4 and {"0", "1", "2"} <= set(fds), f"no inherited descriptors: {fds}")
        left = subprocess.run(["pgrep", "-f", f"environ > {out}"], capture_output=True, text=True).stdout
        t.check(left.strip() == "", f"the command's session was killed: {left!r}")


def scenario_systemd(t, env, tmp):
    unit = f"hostmon-test-{os.getpid()}.service"
    calls = os.path.join(tmp, "systemctl.calls")
    standin = os.path.join(tmp, "systemctl")

    def rules(cg, pool):
        # stand-in for systemctl (this machine has no systemd): records its arguments and
        # reloads the pool
        with open(standin, "w") as f:
            f.write(f"#!/bin/sh\necho \"$@\" >> {calls}\nkill -USR2 $(cat {pool.pidfile})\n")
        os.chmod(standin, 0o755)
        return [rule("unit", {"unit": unit}, {"type": "systemd", "systemctl": standin},
                     cooldown="2s", max_actions=1)]

    with scenario(t, env, tmp, unit, rules) as (cg, pool, web, d, cfg):
        workers = set(pool.worker_pids())
        info("(d) systemd action through a stand-in systemctl")
        burn(web, 6)
        m = wait_metrics(d, lambda m: m["actions"].get("ok"), 25)
        t.check(bool(m) and m["actions"].get("ok") == 1, f"result ok: {m and m['actions']}")
        with open(calls) as f:
            t.check(f.read().split("\n")[0] == f"restart {unit}", "systemctl restart UNIT")
        t.check(not (set(pool.worker_pids()) & workers), "the pool was restarted")

        info("(d) max_actions 1: the next sustained burn suspends the rule")
        wait_until(lambda: metrics(d)["state"] == "ok", 10)
        burn(web, 5)
        m = wait_metrics(d, lambda m: m["state"] == "suspended", 20)
        t.check(bool(m) and total_actions(m) == 1, f"suspended, no second action: {m}")

        info("(d) an invalid file on SIGHUP keeps the running rules")
        good = open(cfg).read()
        with open(cfg, "w") as f:
            f.write('{"restart": {"rules": [{"name": "unit"}]}}')
        d.proc.send_signal(signal.SIGHUP)
        t.check(wait_until(lambda: "restart rules not reloaded" in d.logs(), 5), "reload refused")
        t.check(metrics(d)["state"] == "suspended", "still suspended")

        info("(d) SIGHUP with a valid file lifts the suspension")
        with open(cfg, "w") as f:
            f.write(good)
        d.proc.send_signal(signal.SIGHUP)
        m = wait_metrics(d, lambda m: m["state"] in ("ok", "pending"), 5)
        t.check(bool(m), f"suspension lifted: {m}")
        t.check(m and m["actions"].get("ok") == 1, "the counters survive a reload")


def scenario_invalid(t, tmp):
    cfg = write_config(tmp, [{"name": "bad", "cgroup": "/x", "threshold": 0.5, "clear": 0.9,
                              "action": {"type": "signal"}}])
    p = subprocess.run([BIN, "--config", cfg], capture_output=True, text=True, timeout=10)
    t.check(p.returncode == 2 and 'restart rule "bad"' in p.stderr and "clear" in p.stderr,
            f"invalid rule refused at start: {p.returncode} {p.stderr.strip()}")


def run(t):
    env = Env("hostmon-restart", cgroup2_mount())
    tmp = tempfile.mkdtemp(prefix="hostmon-restart-")
    try:
        env.mkdir("")
        scenario_invalid(t, tmp)
        scenario_signal(t, env, tmp)
        scenario_dry_run(t, env, tmp)
        scenario_exec(t, env, tmp)
        scenario_systemd(t, env, tmp)
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed: {left}")
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main(run, "restart/test_restart")
