"""A real, isolated Node.js HTTP/1.1 server and wrk load, for the http_latency collector's tests and benchmarks.

Standard library only (runs under Debian's /usr/bin/python3). Needs /usr/bin/node (Node 20) and
/usr/bin/wrk (``make deps``); root only when a cgroup is given.

    from cgroup_test import Env, cgroup2_mount
    from node_env import NodeServer, KeepAlive, wrk, COUNT_STATUSES, request_mix
    env = Env("hostmon-node", cgroup2_mount())
    cg = env.mkdir("")                                    # a fresh cgroup2 directory
    with NodeServer(cgroup=env.path(cg)) as srv:
        srv.fresh("GET", "/fast")                         # (200, b"ok"), on a new connection
        with KeepAlive(srv) as ka:                        # one connection, many requests
            ka.request("POST", "/echo", b"x" * 100000)
        r = wrk(srv.url("/"), 2, 4, script=COUNT_STATUSES + request_mix(["/fast", "/status/404"]))
        r["requests"], r["statuses"]                      # e.g. 5120, {200: 2560, 404: 2560}
    env.cleanup()

API
    NodeServer(cgroup=None, port=0, script=SERVER_JS, node=None, env=None, start_timeout=10, keep=False)
    .start() -> self  .stop(timeout=5) -> exit code  .kill() -> exit code  (also context manager, close())
    .pid .port .host .address .url(path="/") .running() .base .log .log_tail(n=30)
    .fresh(method, path, body=None, headers=None) -> (status, body)       (a new connection each time)
    request(target, method, path, body=None, headers=None, timeout=30) -> (status, headers, body)
        target: a NodeServer, (host, port) or "http://host:port"; headers with lower-case names
    KeepAlive(target, timeout=30)  .request(method, path, body=None, headers=None) -> (status, body)
        .responses (answers read) .connects (TCP connections opened: 1 unless the server closed it)
        .last_headers .close()  (also context manager)
    wrk(url, duration_s, connections, threads=1, script=None, timeout_s=10, latency=False) -> dict
        requests, seconds, bytes, rps, non_2xx_3xx, socket_errors {connect, read, write, timeout},
        latency {avg, stdev, max} and with latency=True percentiles {50, 75, 90, 99} (seconds),
        statuses {code: count} and responses (only with COUNT_STATUSES), returncode, output
    COUNT_STATUSES: Lua counting every response wrk read by status (its done() prints the counts)
    request_mix(requests) -> Lua whose request() cycles through requests: paths, or
        (method, path) / (method, path, body) tuples
    within_surplus(server_count, client_count, connections) -> bool
A server left running by a crashed test is stopped (and its directory removed) at exit.

Routes of tests/fixtures/node/server.js: GET /fast -> 200 "ok"; GET /slow?ms=N -> 200 after N ms;
GET /burn?ms=N -> 200 after busy-looping N ms (0..10000; CPU-bound, blocks the event loop);
GET /status/NNN -> NNN (200..599); GET /chunked -> 200 chunked, three writes 10 ms apart;
POST /echo -> 200 with the request body; HEAD wherever GET works; anything else 404.

How it is isolated and counted
------------------------------
* The server has its own temporary directory (/tmp/hostmon-node-XXXX, its cwd) holding its log;
  stop() removes it unless keep=True. It listens on 127.0.0.1 only, on port (0: any free port; it
  prints "listening PORT", which start() waits for).
* cgroup: the forked child writes its pid to <cgroup>/cgroup.procs before it execs node
  (cgroup_test.enter_cgroup), so node's whole life, and every thread it starts, is in it.
* stop(): SIGTERM to our own pid (server.js closes every connection and exits 0), SIGKILL after
  timeout; kill(): SIGKILL at once. Node forks nothing, so the one pid is the whole server.
* wrk: ``wrk -t T -c C -d Ds --timeout Ts [-s script] URL``; a script is written to its own
  temporary directory, removed afterwards. "N requests in" counts the responses wrk read in full;
  with COUNT_STATUSES, response() counts each of them by status in every thread, and done()
  adds the threads up and prints "hostmon-wrk: ..." lines that wrk() parses. wrk keeps one request
  in flight per connection, so when it stops, the server may have answered (or may still answer)
  up to `connections` requests that wrk never read: a server-side count is between wrk's count and
  wrk's count + connections (within_surplus).
* A script may define only one of each wrk callback: COUNT_STATUSES defines setup, init, response
  and done; request_mix defines request. Do not send HEAD through wrk: its parser waits for a body.
"""
import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

from cgroup_test import enter_cgroup
from hostmon_test import ROOT
from server_env import StartStop, file_tail, find_binary, forget, stop_at_exit

SERVER_JS = os.path.join(ROOT, "tests", "fixtures", "node", "server.js")


class NodeEnvError(RuntimeError):
    pass


def node_binary():
    return find_binary("HOSTMON_NODE", "/usr/bin/node", "node", "nodejs")


def wrk_binary():
    return find_binary("HOSTMON_WRK", "/usr/bin/wrk", "wrk")


class NodeServer(StartStop):
    """tests/fixtures/node/server.js in its own temp dir (and cgroup). See the module docstring."""

    host = "127.0.0.1"

    def __init__(self, cgroup=None, port=0, script=SERVER_JS, node=None, env=None, start_timeout=10,
                 keep=False):
        self.cgroup = cgroup
        self.requested_port = int(port)
        self.script = script
        self.binary = node or node_binary()
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self.keep = keep
        self.base = None
        self.proc = None
        self.port = None
        self._out = None

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    @property
    def log(self):
        return os.path.join(self.base, "stdout-stderr.log") if self.base else None

    @property
    def address(self):
        return (self.host, self.port)

    def url(self, path="/"):
        return f"http://{self.host}:{self.port}{path}"

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=30):
        return file_tail(self.log, n) if self.base else "(no directory)"

    def _child_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("NODE_")}  # no NODE_OPTIONS
        env.update(self.env)
        return env

    def start(self):
        """Starts node (inside cgroup, if given); returns self once it prints "listening PORT"."""
        if self.running():
            return self
        if self.binary is None:
            raise NodeEnvError("node not found: install nodejs (make deps) or set HOSTMON_NODE")
        self.base = tempfile.mkdtemp(prefix="hostmon-node-")
        self._out = open(self.log, "wb")
        self.proc = subprocess.Popen([self.binary, self.script, str(self.requested_port)],
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
                                     env=self._child_env(), cwd=self.base, start_new_session=True,
                                     preexec_fn=enter_cgroup(self.cgroup) if self.cgroup else None)
        stop_at_exit(self, self.kill)
        deadline = time.monotonic() + self.start_timeout
        while True:
            with open(self.log, errors="replace") as f:
                m = re.search(r"^listening ([0-9]+)$", f.read(), re.M)
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise NodeEnvError(f"node exited during start-up ({self.proc.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise NodeEnvError(f"node not listening after {self.start_timeout} s:\n{self.log_tail()}")
            time.sleep(0.02)

    def _finish(self, rc):
        if self._out is not None:
            self._out.close()
            self._out = None
        forget(self)
        if self.base is not None and not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
        return rc

    def stop(self, timeout=5):
        """SIGTERM to our node by its pid, SIGKILL if it is still there after timeout; reaps it,
        removes the directory unless keep. Returns node's exit code (0 after SIGTERM)."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        return self._finish(rc)

    close = stop

    def kill(self):
        """SIGKILL at once (no goodbye on open connections); reaps; returns the exit code (-9)."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            rc = self.proc.wait()
        return self._finish(rc)

    def fresh(self, method, path, body=None, headers=None):
        """One request on a new connection; (status, body bytes)."""
        status, _, data = request(self, method, path, body, headers)
        return status, data


# ---- clients ----------------------------------------------------------------------------------

def _host_port(target):
    if isinstance(target, NodeServer):
        return target.address
    if isinstance(target, str):
        u = urlsplit(target)
        if u.scheme != "http" or not u.hostname or not u.port:
            raise ValueError(f"expected http://host:port, not {target!r}")
        return u.hostname, u.port
    host, port = target
    return host, int(port)


def request(target, method, path, body=None, headers=None, timeout=30):
    """One request on a new connection (closed afterwards); (status, headers, body bytes)."""
    host, port = _host_port(target)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


class _CountingConnection(http.client.HTTPConnection):
    connects = 0

    def connect(self):
        super().connect()
        self.connects += 1


class KeepAlive:
    """One keep-alive connection for many requests; counts the responses read and the TCP
    connections opened (http.client reopens silently if the server closed it)."""

    def __init__(self, target, timeout=30):
        host, port = _host_port(target)
        self._conn = _CountingConnection(host, port, timeout=timeout)
        self.responses = 0
        self.last_headers = {}

    @property
    def connects(self):
        return self._conn.connects

    def request(self, method, path, body=None, headers=None):
        """(status, body bytes); the body is read in full so the connection can be reused."""
        self._conn.request(method, path, body=body, headers=headers or {})
        r = self._conn.getresponse()
        data = r.read()
        self.responses += 1
        self.last_headers = {k.lower(): v for k, v in r.getheaders()}
        return r.status, data

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- wrk --------------------------------------------------------------------------------------

COUNT_STATUSES = r"""
-- node_env.COUNT_STATUSES: counts the responses wrk read, by status, over all threads
local hostmon_threads = {}

function setup(thread)
   table.insert(hostmon_threads, thread)
end

function init(args)
   statuses = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total, parts = 0, {}
   local sum = {}
   for _, t in ipairs(hostmon_threads) do
      for status, n in pairs(t:get("statuses")) do
         sum[status] = (sum[status] or 0) + n
      end
   end
   for status, n in pairs(sum) do
      total = total + n
      table.insert(parts, string.format("%d=%d", status, n))
   end
   table.sort(parts)
   io.write(string.format("hostmon-wrk: responses=%d statuses=%s\n", total, table.concat(parts, ",")))
   io.write(string.format("hostmon-wrk: summary requests=%d status_errors=%d timeouts=%d\n",
                          summary.requests, summary.errors.status, summary.errors.timeout))
end
"""


def _lua_string(s):
    if isinstance(s, bytes):
        s = s.decode("latin-1")
    return '"' + "".join(c if c.isalnum() or c in " /?=&.-_%:" else f"\\{ord(c)}" for c in s) + '"'


def request_mix(requests):
    """Lua whose request() cycles through requests (each thread from its first): a path (GET), or
    (method, path) or (method, path, body)."""
    items = []
    for r in requests:
        method, path, body = ("GET", r, None) if isinstance(r, str) else (tuple(r) + (None,))[:3]
        if method == "HEAD":
            raise ValueError("wrk cannot read HEAD responses: its parser waits for the body")
        items.append("{" + ", ".join([_lua_string(method), _lua_string(path),
                                      _lua_string(body) if body is not None else "nil"]) + "}")
    return """
-- node_env.request_mix: every request in turn
local hostmon_mix = {%s}
local hostmon_next = 0

function request()
   hostmon_next = hostmon_next %% #hostmon_mix + 1
   local r = hostmon_mix[hostmon_next]
   return wrk.format(r[1], r[2], nil, r[3])
end
""" % ",\n   ".join(items)


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def _count(text):
    """wrk's counts are plain integers; rates and sizes may carry k/M/G (powers of 1000 or 1024)."""
    m = re.fullmatch(r"([0-9.]+)([kKMG]?B?)", text)
    if not m:
        return None
    mult = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}
    return float(m.group(1)) * mult.get(m.group(2), 1)


def parse_wrk(output):
    """The numbers of one wrk run's output (see wrk()); raises NodeEnvError if it has no summary."""
    m = re.search(r"^\s*([0-9]+) requests in ([0-9.]+(?:us|ms|s|m|h)), ([0-9.]+[KMG]?B) read", output, re.M)
    if not m:
        raise NodeEnvError(f"no summary in wrk output:\n{output}")
    res = {"requests": int(m.group(1)), "seconds": _seconds(m.group(2)), "bytes": _count(m.group(3)),
           "non_2xx_3xx": 0, "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
           "latency": {}, "statuses": None, "responses": None}
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    res["rps"] = float(m.group(1)) if m else None
    m = re.search(r"^\s*Non-2xx or 3xx responses: ([0-9]+)", output, re.M)
    if m:
        res["non_2xx_3xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)", output)
    if m:
        res["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", output, re.M)
    if m:
        res["latency"] = dict(zip(("avg", "stdev", "max"), map(_seconds, m.groups())))
    # wrk pads a value in seconds ("1.11s ") to the width of one in ms ("12.34ms")
    pct = {int(p): _seconds(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M)}
    if pct:
        res["latency"]["percentiles"] = pct
    m = re.search(r"^hostmon-wrk: responses=([0-9]+) statuses=(\S*)$", output, re.M)
    if m:
        res["responses"] = int(m.group(1))
        res["statuses"] = {int(k): int(v) for k, v in (p.split("=") for p in m.group(2).split(",") if p)}
    return res


def wrk(url, duration_s, connections, threads=1, script=None, timeout_s=10, latency=False):
    """Runs wrk against url for duration_s with connections (>= threads) and returns parse_wrk()'s
    dict plus returncode and output. script is Lua source (e.g. COUNT_STATUSES + request_mix(...))."""
    binary = wrk_binary()
    if binary is None:
        raise NodeEnvError("wrk not found: install wrk (make deps) or set HOSTMON_WRK")
    if connections < threads:
        raise ValueError(f"wrk needs connections ({connections}) >= threads ({threads})")
    argv = [binary, "-t", str(int(threads)), "-c", str(int(connections)), "-d", f"{duration_s}s",
            "--timeout", f"{timeout_s}s"] + (["--latency"] if latency else [])
    tmp = None
    try:
        if script is not None:
            tmp = tempfile.mkdtemp(prefix="hostmon-wrk-")
            path = os.path.join(tmp, "script.lua")
            with open(path, "w") as f:
                f.write(script)
            argv += ["-s", path]
        argv.append(url)
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=duration_s + timeout_s + 30)
        except subprocess.TimeoutExpired as e:
            raise NodeEnvError(f"wrk did not finish: {argv}") from e
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    output = p.stdout + p.stderr
    if p.returncode != 0:
        raise NodeEnvError(f"wrk exited {p.returncode}: {argv}\n{output}")
    res = parse_wrk(output)
    res["returncode"], res["output"] = p.returncode, output
    return res


def within_surplus(server_count, client_count, connections):
    """True if a server-side count fits what wrk read: the server may have answered up to one
    unread request per connection when wrk stopped, never fewer than wrk read."""
    return client_count <= server_count <= client_count + connections
