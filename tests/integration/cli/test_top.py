"""hostmon top and hostmon latency against a real daemon, in a real terminal (tmux).

Setup: fresh cgroups under /hostmon-cli-PID: limited (0.2 cores: cpu.cfs_quota_us in the v1 cpu
hierarchy where one holds cpu, else cgroup2 cpu.max; two busy loops), busy (one busy loop) and node
(tests/fixtures/node/server.js, kept busy by a client thread that asks GET /slow?ms=300 over and
over on one keep-alive connection, so every request lands in the (0.25, 0.5] s bucket of the
default buckets). The daemon runs both collectors, with --http-include-cgroup restricted to this
test's cgroups (other engineers' node servers may run on this machine at the same time).

Checked:
  1. in tmux (a real terminal, 200x50): the busy cgroup's row shows its cores, at most one, and
     within 10% of the range of its cpu.stat rates over the 1 s windows of the last 4 s (sampled
     every 0.1 s: the busy loop gets whatever this noisy 2-vCPU VM gives it, about 1.0 when
     quiet), and no row above it has fewer cores (sorted by CPU); the limited row shows 0.1-0.3 cores, >= 60% of its limit, throttled
     above 10% and the ! and T marks; the node row's p99 is in (0.25, 0.5] s; key p sorts by p99 (the
     header says so, the column never increases down the table); / busy Enter leaves only rows
     matching busy; q exits 0, leaves the alternate screen, shows the cursor and gives the
     terminal back in canonical mode with echo (stty, run after top in the same pane);
     a second run ended by ^C does the same.
  2. --once --json, between two scrapes of the daemon by this test: every row is one of this
     test's cgroups (--filter); the busy row's CPU seconds are at most the daemon's own counter's
     delta over the surrounding scrapes and at least that minus one core for the time around the
     window that is not the window; the node
     row's request count is at most the surrounding window's and its p50 and p99 are in the
     bucket the daemon's own deltas put them in; the limited row's limit_cores is 0.2, its
     throttled seconds are at most the kernel's throttled time around the window, and it is
     marked throttled; rates are counts over the window.
  3. --once off a terminal prints one plain table (no escape sequences) with the busy row.
  4. hostmon latency --cgroup node --duration 3s --json: requests, p99 in (0.25, 0.5], the split
     by status is all 200, and the CPU part names the node cgroup; --pid of node picks the same
     cgroup; the text form has the bars.
  5. standalone (no daemon at --url): top --once --json and latency --json load the collectors
     themselves (BPF programs seen in the process's fdinfo), report source "standalone", the busy
     cgroup's CPU seconds in the window are at most its cpu.stat delta around the run and at least
     that minus one core for the time around the run that is not the window (loading the
     collectors takes a while), node's p99 is in (0.25, 0.5];
     after exit none of those programs exists; the live view in tmux says standalone in its
     header, shows the busy row, and after q the terminal is restored and its programs are
     gone. Without a daemon and without privileges (as
     nobody): exit 1, both said.
  6. hostmon --help lists the commands; each command's --help names its flags; bad flags exit 2.
Everything started is stopped by pid; the cgroups are removed; the daemon exits 0.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import CPU, Env, info, mounts, scrape, series, stat_value, wait_until
from cpu_limits import V1Limits, V2Cpu, V2Limits
from hostmon_test import BIN, fdinfo_ids, main, running_daemon
from http_hist import bucket_index, delta, histogram_quantile, histograms, merged
from node_env import KeepAlive, NodeServer

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
SLOW_MS = 300
NO_DAEMON = "http://127.0.0.1:1"  # nothing listens on port 1: the commands go standalone


class Load(threading.Thread):
    """GET /slow?ms=SLOW_MS on one keep-alive connection until stopped."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.stop, self.sent = srv, threading.Event(), 0

    def run(self):
        with KeepAlive(self.srv) as ka:
            while not self.stop.is_set():
                ka.request("GET", f"/slow?ms={SLOW_MS}")
                self.sent += 1


class Usage(threading.Thread):
    """Samples a cgroup's cpu.stat usage_usec every 0.1 s, so a rate the live view shows for
    some recent window can be compared with the kernel's own rates over the windows it could be."""

    def __init__(self, cg):
        super().__init__(daemon=True)
        self.path, self.stop, self.samples = cgroup2_dir(cg) + "/cpu.stat", threading.Event(), []

    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), stat_value(self.path, "usage_usec") / 1e6))
            time.sleep(0.1)

    def agrees(self, cores, window_s, lookback_s=4.0):
        """Whether cores lies within 10% of the range of the kernel's rates over windows of
        window_s (+-10%) in the last lookback_s; (bool, why)."""
        now = time.monotonic()
        recent = [x for x in self.samples if now - x[0] <= lookback_s]
        rates = [(b[1] - a[1]) / (b[0] - a[0]) for i, a in enumerate(recent) for b in recent[i + 1:]
                 if 0.9 * window_s <= b[0] - a[0] <= 1.1 * window_s]
        if not rates or cores is None:
            return False, f"no kernel rates to compare ({len(recent)} samples) or no value ({cores})"
        lo, hi = min(rates), max(rates)
        return 0.9 * lo <= cores <= 1.1 * hi, f"{cores} vs the kernel's {lo:.3f}..{hi:.3f} cores"


class Tmux:
    """One tmux server of our own (its own socket), one 200x50 pane running a shell command."""

    def __init__(self, command):
        self.sock = f"hostmon-cli-{os.getpid()}-{time.monotonic_ns()}"
        self.run("new-session", "-d", "-x", "200", "-y", "50", command)

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True,
                              timeout=30)

    def screen(self):
        return self.run("capture-pane", "-p").stdout

    def stable(self):
        """The screen once two captures 0.1 s apart agree (not caught in the middle of a frame)."""
        last = self.screen()
        for _ in range(30):
            time.sleep(0.1)
            now = self.screen()
            if now == last:
                return now
            last = now
        return last

    def keys(self, *keys):
        self.run("send-keys", *keys)

    def flag(self, name):
        return self.run("display-message", "-p", f"#{{{name}}}").stdout.strip()

    def close(self):
        self.run("kill-server")


# name, CORES, %LIM, THR%, WAITms/s, ms/TASK-s, MEM, %MEM, OOM, REQ/s, P50, P99, 5XX%, ELU%, PHP%, marks
ROW_RE = re.compile(r"^(!| ) (\S.*?)\s+(-|\d+\.\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)"
                    r"\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+([TWEPL]+))?\s*$")


def number(text):
    return None if text == "-" else float(text)


def table_rows(screen):
    """[(name, cores or None, p99 text, {"marked", "lim", "thr", "marks"})] of a screen's table."""
    rows, in_table = [], False
    for line in screen.splitlines():
        if "SERVICE" in line and "CORES" in line:
            in_table = True
            continue
        m = ROW_RE.match(line) if in_table else None
        if m:
            more = {"marked": m.group(1) == "!", "lim": number(m.group(4)), "thr": number(m.group(5)),
                    "marks": m.group(17) or "", "mem": m.group(8), "oom": m.group(10), "elu": m.group(15),
                    "php": m.group(16)}
            rows.append((m.group(2).strip(), number(m.group(3)), m.group(13), more))
    return rows


def seconds_of(text):
    """'498ms' / '1.25s' / '>10s' / '-' -> seconds (None for '-', inf past the last bound)."""
    if text == "-":
        return None
    if text.startswith(">"):
        return float("inf")
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text[:-1])


def cgroup2_dir(cg):
    return mounts()[0] + cg


def in_slow_bucket(v):
    return v is not None and 0.25 < v <= 0.5


def limited_row(t, row, screen):
    """The 0.2-core cgroup with two busy loops: at its limit, throttled, marked T."""
    if not t.check(row is not None, f"the limited cgroup has a row:\n{screen}"):
        return
    _, cores, _, more = row
    t.check(cores is not None and 0.1 <= cores <= 0.3, f"limited cgroup near its 0.2 cores: {cores}")
    t.check(more["lim"] is not None and more["lim"] >= 60, f"% of limit near 100: {more['lim']}")
    t.check(more["thr"] is not None and more["thr"] > 10, f"throttled above 10%: {more['thr']}")
    t.check(more["marked"] and "T" in more["marks"], f"marked unusual (! and T): {more}")


def live_view(t, url, busy, node, limited):
    out = tempfile.mkdtemp(prefix="hostmon-cli-")
    stty = os.path.join(out, "stty")
    usage = Usage(busy)
    usage.start()
    try:
        tm = Tmux(f"{BIN} top --url {url} --interval 1s; echo rc=$? > {stty}.rc; stty -a > {stty}; sleep 60")
        try:
            def ready():
                rows = table_rows(tm.screen())
                names = {r[0]: r for r in rows}
                return rows if busy in names and node in names and names[node][2] != "-" and limited in names \
                    and names[limited][3]["thr"] is not None else None
            rows = wait_until(ready, 20, 0.5)
            screen = tm.stable()
            if {busy, node, limited} <= {r[0] for r in table_rows(screen)}:
                rows = table_rows(screen)  # the rows of the very screen the checks quote
            if not t.check(rows, f"top shows the busy and the node rows:\n{screen}"):
                return
            info("the live view:\n" + "\n".join("# " + line for line in screen.splitlines()[:14]))
            names = {r[0]: r for r in rows}
            cores = names[busy][1]
            ok, why = usage.agrees(cores, 1.0)
            t.check(ok and cores <= 1.05, f"busy loop's cores agree with its cpu.stat (at most one core): {why}")
            above = [r for r in rows[:rows.index(names[busy])] if r[1] is None or r[1] < cores]
            t.check(not above, f"sorted by CPU: no row above the busy one has fewer cores: {above}")
            p99 = seconds_of(names[node][2])
            t.check(in_slow_bucket(p99), f"node p99 {names[node][2]} in (0.25, 0.5] s")
            limited_row(t, names.get(limited), screen)
            t.check(re.search(r"host CPU \d+\.\d\d of \d+ cores", screen) and "HTTP targets" in screen
                    and "worst p99" in screen, f"header line:\n{screen.splitlines()[:3]}")

            tm.keys("p")
            t.check(wait_until(lambda: "sorted by p99" in tm.screen(), 5), "key p: sorted by p99")
            time.sleep(1.5)  # one refresh after the key, so the table is a whole new one
            p99s = [seconds_of(r[2]) for r in table_rows(tm.stable())]
            known = [v for v in p99s if v is not None]
            t.check(known and known == sorted(known, reverse=True) and p99s[:len(known)] == known,
                    f"p99 column never increases, unknown last: {p99s}")

            tm.keys("/")
            tm.keys("-l", "busy")
            tm.keys("Enter")
            t.check(wait_until(lambda: "filter /busy" in tm.screen(), 5), "key /: the header shows the filter")
            time.sleep(0.5)
            names = [r[0] for r in table_rows(tm.stable())]
            t.check(busy in names and all("busy" in n for n in names), f"filter keeps only busy rows: {names}")

            tm.keys("q")
            t.check(wait_until(lambda: os.path.exists(stty) and os.path.getsize(stty) > 0, 10), "q ends top")
            with open(stty + ".rc") as f:
                t.check(f.read().strip() == "rc=0", "top exits 0 after q")
            with open(stty) as f:
                modes = f.read().split()
            t.check("icanon" in modes and "echo" in modes, f"terminal back in canonical mode with echo: {modes}")
            t.check(tm.flag("alternate_on") == "0", "alternate screen left")
            t.check(tm.flag("cursor_flag") == "1", "cursor shown again")
            t.check("SERVICE" not in tm.screen(), "the table went with the alternate screen")
        finally:
            tm.close()

        os.unlink(stty)
        tm = Tmux(f"{BIN} top --url {url}; echo rc=$? > {stty}.rc; stty -a > {stty}; sleep 60")
        try:
            t.check(wait_until(lambda: "SERVICE" in tm.screen(), 10), "second run shows the table")
            tm.keys("C-c")
            t.check(wait_until(lambda: os.path.exists(stty) and os.path.getsize(stty) > 0, 10), "^C ends top")
            with open(stty + ".rc") as f:
                t.check(f.read().strip() == "rc=0", "top exits 0 after ^C")
            with open(stty) as f:
                modes = f.read().split()
            t.check("icanon" in modes and "echo" in modes, f"^C: terminal restored: {modes}")
            t.check(tm.flag("alternate_on") == "0" and tm.flag("cursor_flag") == "1",
                    "^C: main screen and cursor back")
        finally:
            tm.close()
    finally:
        usage.stop.set()
        shutil.rmtree(out, ignore_errors=True)


def once_json(t, d, url, busy, node, limited, limits):
    before_text, t0 = scrape(d), time.monotonic()
    before_h = histograms(d, node)
    throttled0 = limits.throttled_ns(limited) / 1e9
    p = subprocess.run([BIN, "top", "--url", url, "--once", "--json", "--interval", "3s",
                        "--filter", f"^{os.path.dirname(busy)}/"], capture_output=True, text=True, timeout=60)
    after_text, t1 = scrape(d), time.monotonic()
    after_h = histograms(d, node)
    throttled1 = limits.throttled_ns(limited) / 1e9
    if not t.check(p.returncode == 0, f"--once --json exits 0: {p.stderr}"):
        return
    doc = json.loads(p.stdout)
    rows = {r["cgroup"]: r for r in doc["rows"]}
    t.check(set(rows) <= {busy, node, limited} and busy in rows,
            f"--filter keeps this test's cgroups only: {sorted(rows)}")
    t.check(doc["source"] == "daemon" and 2.5 < doc["window_seconds"] < 10, f"window {doc['window_seconds']}")
    outer_s = t1 - t0
    cpu0, cpu1 = series(before_text, CPU), series(after_text, CPU)
    b = rows.get(busy)
    if t.check(b is not None, "busy row in the JSON"):
        outer = cpu1[busy] - cpu0[busy]
        t.check(b["name"] == busy and b["limit_cores"] is None, f"busy row labels: {b['name']} {b['limit_cores']}")
        # the window lies inside this test's two scrapes: it holds at most their CPU delta, and at
        # least that minus one core (one busy thread) for the time around it that is not the window
        floor = outer - (outer_s - doc["window_seconds"]) * 1.0 - 0.01
        t.check(floor <= b["cpu_seconds"] <= outer + 0.01,
                f"busy {b['cpu_seconds']:.3f} CPU s in the window, between {floor:.3f} and {outer:.3f} "
                f"(the daemon's counter over {outer_s:.2f} s around it)")
        t.check(abs(b["cpu_cores"] * doc["window_seconds"] - b["cpu_seconds"]) < 1e-6, "cores = seconds / window")
    n = rows.get(node)
    if t.check(n is not None, "node row in the JSON"):
        h = merged(delta(after_h, before_h), "node")
        t.check(0 < n["http_requests"] <= h["count"], f"requests {n['http_requests']} within the daemon's {h['count']}")
        t.check(abs(n["http_requests_per_second"] * doc["window_seconds"] - n["http_requests"]) < 1e-6,
                "req/s = requests / window")
        for q, key in ((0.5, "p50_seconds"), (0.99, "p99_seconds")):
            theirs = histogram_quantile(q, h["le"])
            t.check(bucket_index(BOUNDS, n[key]) == bucket_index(BOUNDS, theirs) and in_slow_bucket(n[key]),
                    f"{key} {n[key]} in the bucket of the daemon's own {theirs}")
        t.check(n["http_5xx"] == 0 and n["http_5xx_percent"] == 0, "no 5xx")
        elu = n.get("eventloop_utilization_percent")
        t.check(elu is not None and 0 <= elu <= 100, f"node's event-loop utilisation is in the row: {elu}")
    lim = rows.get(limited)
    if t.check(lim is not None, "limited row in the JSON"):
        outer = throttled1 - throttled0
        t.check(lim["limit_cores"] == 0.2, f"limit_cores is the daemon's gauge, 0.2: {lim['limit_cores']}")
        t.check(0 < lim["throttled_seconds"] <= outer + 0.05,
                f"throttled {lim['throttled_seconds']:.3f} s within the kernel's {outer:.3f} s around the window")
        t.check(lim["throttled_percent"] > 10 and "throttled" in lim["unusual"],
                f"throttled {lim['throttled_percent']:.0f}% and marked: {lim['unusual']}")
        # two busy loops in 0.2 cores are runnable all the time and on a CPU a tenth of it
        demand = lim["cpu_seconds"] + lim["runqueue_wait_seconds"]
        per_task = lim["runqueue_wait_ms_per_task_second"]
        t.check(per_task is not None and abs(per_task - 1000 * lim["runqueue_wait_seconds"] / demand) < 1e-6
                and per_task > 500,
                f"wait per task-second {per_task} ms: queued for most of each runnable second")
    t.check(doc["host"]["http_targets"] is not None and doc["host"]["http_targets"] >= 1, "HTTP targets counted")


def plain_table(t, url, busy):
    p = subprocess.run([BIN, "top", "--url", url, "--interval", "1s"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    t.check(p.returncode == 0 and "\x1b" not in p.stdout, f"off a terminal: one plain table, exit 0: {p.stderr}")
    t.check(busy in [r[0] for r in table_rows(p.stdout)], f"the plain table has the busy row:\n{p.stdout}")


def latency(t, url, node, node_pid):
    p = subprocess.run([BIN, "latency", "--url", url, "--cgroup", f"^{node}$", "--duration", "3s", "--json"],
                       capture_output=True, text=True, timeout=60)
    if not t.check(p.returncode == 0, f"latency --json exits 0: {p.stderr}"):
        return
    doc = json.loads(p.stdout)
    lat = doc["latency"]
    t.check(lat["requests"] > 0 and in_slow_bucket(lat["p99_seconds"]),
            f"latency: {lat['requests']} requests, p99 {lat['p99_seconds']}")
    split = {s["value"]: s["requests"] for s in doc["split"] if s["requests"]}
    t.check(split == {"200": lat["requests"]}, f"split by status: {split}")
    t.check([c["cgroup"] for c in doc["cpu"]] == [node], f"CPU part: {doc['cpu']}")
    p = subprocess.run([BIN, "latency", "--url", url, "--pid", str(node_pid), "--duration", "2s", "--json"],
                       capture_output=True, text=True, timeout=60)
    if t.check(p.returncode == 0, f"latency --pid exits 0: {p.stderr}"):
        doc = json.loads(p.stdout)
        t.check([c["cgroup"] for c in doc["cpu"]] == [node] and doc["latency"]["requests"] > 0,
                f"--pid {node_pid} picks node's cgroup: {doc['cpu']}, {doc['latency']['requests']} requests")
    p = subprocess.run([BIN, "latency", "--url", url, "--cgroup", f"^{node}$", "--duration", "2s"],
                       capture_output=True, text=True, timeout=60)
    info("hostmon latency:\n" + "\n".join("# " + line for line in p.stdout.splitlines()))
    t.check(p.returncode == 0 and re.search(r"0\.25 -> 0\.5 : \d+ +\|\*+", p.stdout) and "by status:" in p.stdout,
            f"latency text: bars and the split:\n{p.stdout}")


def prog_ids(pid):
    """Ids of the BPF programs the process holds."""
    return fdinfo_ids(pid, "prog_id")


def prog_exists(prog_id):
    return subprocess.run(["bpftool", "prog", "show", "id", str(prog_id)], capture_output=True).returncode == 0


def programs_left(ids):
    """Those of ids that still exist once the kernel has had time to free them: the last
    reference goes with the process, the program itself is freed by deferred work."""
    left = [i for i in ids if prog_exists(i)]
    if left:
        wait_until(lambda: not [i for i in ids if prog_exists(i)], 10, 0.2)
        left = [i for i in ids if prog_exists(i)]
    return left


def standalone(t, busy, node, base):
    """No daemon at --url: the command loads the collectors itself, reports the same way, and
    leaves no BPF program behind."""
    env = dict(os.environ, HOSTMON_HTTP_INCLUDE_CGROUP=f"^{base}/")
    usage0, t0 = stat_value(cgroup2_dir(busy) + "/cpu.stat", "usage_usec") / 1e6, time.monotonic()
    p = subprocess.Popen([BIN, "top", "--url", NO_DAEMON, "--once", "--json", "--interval", "3s", "--filter",
                          f"^{base}/"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ids = wait_until(lambda: prog_ids(p.pid), 10, 0.2)
    out, errout = p.communicate(timeout=60)
    usage1, t1 = stat_value(cgroup2_dir(busy) + "/cpu.stat", "usage_usec") / 1e6, time.monotonic()
    t.check(ids, "standalone: the command loaded BPF programs itself")
    left = programs_left(ids)
    t.check(not left, f"standalone: no BPF program left after exit: {left}")
    if not t.check(p.returncode == 0, f"standalone --once --json exits 0: {errout}"):
        return
    doc = json.loads(out)
    t.check(doc["source"] == "standalone", f"source {doc['source']}")
    rows = {r["cgroup"]: r for r in doc["rows"]}
    b = rows.get(busy)
    if t.check(b is not None, f"standalone: busy row: {sorted(rows)}"):
        # the run also loads the collectors, so its time around the window is longer than the
        # window: the window holds at most the CPU around it, and at least that minus one core
        # (one busy thread) for the time around it that is not the window
        outer = usage1 - usage0
        floor = outer - (t1 - t0 - doc["window_seconds"]) * 1.0 - 0.01
        t.check(floor <= b["cpu_seconds"] <= outer + 0.01,
                f"standalone: busy {b['cpu_seconds']:.3f} CPU s in the window, between {floor:.3f} and "
                f"{outer:.3f} (cpu.stat around the run of {t1 - t0:.2f} s)")
        t.check(abs(b["cpu_cores"] * doc["window_seconds"] - b["cpu_seconds"]) < 1e-6,
                "standalone: cores = seconds / window")
    n = rows.get(node)
    t.check(n is not None and n["http_requests"] > 0 and in_slow_bucket(n["p99_seconds"]),
            f"standalone: node requests measured, p99 in (0.25, 0.5]: {n}")

    p = subprocess.run([BIN, "latency", "--url", NO_DAEMON, "--cgroup", f"^{node}$", "--duration", "3s", "--json"],
                       capture_output=True, text=True, timeout=60, env=env)
    if t.check(p.returncode == 0, f"standalone latency exits 0: {p.stderr}"):
        doc = json.loads(p.stdout)
        t.check(doc["source"] == "standalone" and doc["latency"]["requests"] > 0
                and in_slow_bucket(doc["latency"]["p99_seconds"]), f"standalone latency: {doc['latency']}")


def child_of(pid):
    """The one child process of pid (the command tmux's shell runs), or None."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
    except OSError:
        return None
    return int(kids[0]) if kids else None


def standalone_live(t, busy, base):
    """The live view without a daemon: the header says standalone, the busy row is there, q ends
    it, the terminal is restored and the programs it loaded are gone."""
    out = tempfile.mkdtemp(prefix="hostmon-cli-")
    stty = os.path.join(out, "stty")
    tm = Tmux(f"HOSTMON_HTTP_INCLUDE_CGROUP='^{base}/' {BIN} top --url {NO_DAEMON} --filter '^{base}/'; "
              f"echo rc=$? > {stty}.rc; stty -a > {stty}; sleep 60")
    usage = Usage(busy)
    usage.start()
    try:
        def ready():
            names = {r[0]: r for r in table_rows(tm.screen())}
            return names.get(busy)
        row = wait_until(ready, 20, 0.5)
        screen = tm.stable()
        t.check("standalone" in screen.splitlines()[0] if screen else False,
                f"standalone live view says so in its header:\n{screen}")
        ok, why = usage.agrees(row[1] if row else None, 1.0)
        t.check(ok, f"standalone live view: busy cores agree with its cpu.stat: {why}")
        top_pid = child_of(int(tm.flag("pane_pid")))
        ids = prog_ids(top_pid) if top_pid else set()
        t.check(ids, f"standalone live view holds its own BPF programs (pid {top_pid})")
        tm.keys("q")
        t.check(wait_until(lambda: os.path.exists(stty) and os.path.getsize(stty) > 0, 10), "q ends it")
        with open(stty) as f:
            modes = f.read().split()
        t.check("icanon" in modes and "echo" in modes and tm.flag("alternate_on") == "0",
                f"standalone: terminal restored: {modes}")
        left = programs_left(ids)
        t.check(not left, f"standalone live view: no BPF program left after q: {left}")
    finally:
        usage.stop.set()
        tm.close()
        shutil.rmtree(out, ignore_errors=True)


def no_daemon_no_privilege(t):
    """Neither a daemon nor the privilege to load the collectors: exit 1, both said."""
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", BIN, "top", "--url",
                        NO_DAEMON, "--once"], capture_output=True, text=True, timeout=30)
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    t.check(p.returncode == 1 and "no hostmon daemon" in last and "cannot be loaded here" in last,
            f"no daemon, no privilege: exit {p.returncode}, {last}")


def help_and_usage(t):
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    t.check(p.returncode == 0 and re.search(r"^  top ", p.stdout, re.M) and re.search(r"^  latency ", p.stdout, re.M),
            "hostmon --help lists the commands")
    for cmd, flags in (("top", ("--url", "--interval", "--sort", "--filter", "--once", "--json")),
                       ("latency", ("--url", "--cgroup", "--duration", "--by", "--json"))):
        p = subprocess.run([BIN, cmd, "--help"], capture_output=True, text=True, timeout=30)
        t.check(p.returncode == 0 and p.stdout.startswith(f"Usage: hostmon {cmd}") and all(f in p.stdout for f in flags),
                f"hostmon {cmd} --help names its flags:\n{p.stdout}")
    for argv in (["top", "--bogus"], ["top", "--sort", "nope"], ["latency", "--by", "colour"],
                 ["top", "--filter", "("], ["top", "--interval", "0"], ["latency", "--pid", "1", "--cgroup", "x"]):
        p = subprocess.run([BIN, *argv], capture_output=True, text=True, timeout=30)
        t.check(p.returncode == 2 and p.stderr.startswith(f"hostmon {argv[0]}: "),
                f"{argv}: exit 2 with a message: {p.returncode} {p.stderr}")


def run(t):
    if shutil.which("tmux") is None:
        t.check(False, "tmux is missing: make deps-test installs it")
        return
    v2, v1 = mounts()
    env = Env("hostmon-cli", v2, v1)
    load = limits = limited = None
    v2cpu = None
    try:
        if v1:
            limits = V1Limits(env)
        else:
            v2cpu = V2Cpu(v2)
            why = v2cpu.enable()
            if why:
                t.check(False, f"no way to limit a test cgroup's CPU: {why}")
                return
            limits = V2Limits(env)
        env.mkdir("", v1=limits.in_v1)
        limits.prepare(env.base)
        busy, node = env.mkdir("busy"), env.mkdir("node")
        limited = env.mkdir("limited", v1=limits.in_v1)
        limits.set(limited, 20000, 100000)
        env.spawn(busy, "busy")
        for _ in range(2):
            env.spawn(limited, "busy", v1=limits.in_v1)
        with running_daemon(t, "--collectors", "cgroup_cpu,http_latency,nodejs_eventloop", "--http-include-cgroup",
                            f"^{env.base}/", "--cgroup-refresh-interval", "1s") as d, \
                NodeServer(cgroup=env.path(node)) as srv:
            url = f"http://{d.host}:{d.port}"
            load = Load(srv)
            load.start()
            t.check(wait_until(lambda: merged(histograms(d, node), "node")["count"] >= 2, 15),
                    "node's requests are on the daemon's page")
            info(f"daemon {url}, busy {busy}, node {node}")
            live_view(t, url, busy, node, limited)
            once_json(t, d, url, busy, node, limited, limits)
            plain_table(t, url, busy)
            latency(t, url, node, srv.pid)
            standalone(t, busy, node, env.base)
            standalone_live(t, busy, env.base)
            load.stop.set()
            load.join(5)
        no_daemon_no_privilege(t)
        help_and_usage(t)
    finally:
        if load is not None:
            load.stop.set()
        if limited is not None:
            limits.clear(limited)
        left = env.cleanup()
        if v2cpu is not None:
            why = v2cpu.restore()
            t.check(why is None, f"the cgroup2 cpu controller is turned off again: {why}")
        t.check(not left, f"cgroups removed: {left}")


if __name__ == "__main__":
    main(run, "test_top")
