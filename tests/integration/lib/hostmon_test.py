"""Shared helpers for integration tests: start the real daemon, speak HTTP, count checks."""
import contextlib
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import weakref

ROOT = os.environ.get("HOSTMON_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
BIN = os.environ.get("HOSTMON_BIN", os.path.join(ROOT, "build", "hostmon"))


class Checks:
    """Counts checks; prints 'not ok' lines and the closing summary tests/run.sh reads.

    A part of a test whose prerequisite is truly absent calls skip(reason) instead of checking:
    the reason is printed ("# SKIP ...") and counted. A test that neither checked nor skipped
    anything fails."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"not ok - {what}", flush=True)
        return cond

    def skip(self, reason):
        self.skipped += 1
        print(f"# SKIP {reason}", flush=True)

    def summary(self):
        if self.passed + self.failed + self.skipped == 0:  # a test that checked nothing tested nothing
            self.check(False, f"{self.name}: no checks ran")
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        print(f"{self.name}: {self.passed} passed, {self.failed} failed{skipped}", flush=True)
        return 1 if self.failed else 0


class Daemon:
    """The real hostmon process on 127.0.0.1:0; the chosen address is read from its log."""

    def __init__(self, *args, env=None, listen="127.0.0.1:0", wrapper=()):
        # HOSTMON_WRAPPER runs the daemon under a tool (make valgrind sets valgrind)
        wrapper = (*os.environ.get("HOSTMON_WRAPPER", "").split(), *wrapper)
        full_env = dict(os.environ)
        # A system call missing from hostmon's seccomp list kills the daemon in tests (so the
        # test fails) instead of failing one call quietly; tools that make calls of their own
        # (valgrind, the sanitizers' leak checker) run without the filter.
        tooled = bool(wrapper) or "asan" in BIN
        full_env.setdefault("HOSTMON_SECCOMP", "false" if tooled else "kill")
        full_env.update(env or {})
        self.log_path = f"/tmp/hostmon-test-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen([*wrapper, BIN, "--listen", listen, *args], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env)
        try:
            self.host, self.port = self._wait_listening()
        except RuntimeError:
            self.proc.kill()  # a daemon that never listened is nobody's to stop
            self.proc.wait()
            raise

    def _wait_listening(self):
        # HOSTMON_START_TIMEOUT: seconds, for slow machines (make test-kernels' emulated guests)
        default = 120 if os.environ.get("HOSTMON_WRAPPER") else 30
        deadline = time.monotonic() + float(os.environ.get("HOSTMON_START_TIMEOUT", default))
        while time.monotonic() < deadline:
            self.log.flush()
            with open(self.log_path) as f:
                m = re.search(r'(?:msg=listening address=|"msg":"listening","address":")([^\s"]+)', f.read())
            if m:
                host, port = m.group(1).rsplit(":", 1)
                return host.strip("[]"), int(port)
            if self.proc.poll() is not None:
                raise RuntimeError(f"hostmon exited early:\n{self.logs()}")
            time.sleep(0.05)
        raise RuntimeError(f"hostmon did not log its address:\n{self.logs()}")

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and returns (exit code, seconds to exit)."""
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        return rc, time.monotonic() - start

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        os.unlink(self.log_path)

    def connect(self, timeout=10):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        return s


_leftover = weakref.WeakKeyDictionary()  # bytes read past one response, per socket


@contextlib.contextmanager
def running_daemon(t, *args, **kwargs):
    """A Daemon for a with block; on leaving it, stopped, its exit code checked (0), closed."""
    d = Daemon(*args, **kwargs)
    try:
        yield d
    finally:
        rc, _ = d.stop()
        t.check(rc == 0, f"exit code {rc}")
        d.close()


def read_response(sock, head_only=False):
    """Reads one HTTP/1.1 response with Content-Length; returns (status, headers, body) or None on EOF.

    Bytes that belong to the next (pipelined) response are kept for the next call."""
    data = _leftover.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None if not data else (0, {}, data)
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    length = 0 if head_only else int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    if rest[length:]:
        _leftover[sock] = rest[length:]
    return status, headers, rest[:length]


def request(daemon, path, method="GET", headers=None, timeout=10):
    s = daemon.connect(timeout)
    try:
        hdrs = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{hdrs}\r\n".encode())
        return read_response(s, head_only=(method == "HEAD"))
    finally:
        s.close()


def promtool_check(text):
    """Returns (ok, output) of `promtool check metrics` on text."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
    return p.returncode == 0, (p.stdout + p.stderr).decode(errors="replace")


def fdinfo_ids(pid, field):
    """The values of one fdinfo field (map_id, prog_id, link_id) over the fds the process holds."""
    ids = set()
    for fdinfo in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(fdinfo) as f:
                m = re.search(rf"^{field}:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    return ids


def daemon_map_ids(pid, name):
    """Ids of the BPF maps named `name` the process holds open (from /proc/PID/fdinfo)."""
    ids = []
    for map_id in fdinfo_ids(pid, "map_id"):
        p = subprocess.run(["bpftool", "map", "show", "id", str(map_id), "-j"], capture_output=True, text=True)
        if p.returncode == 0 and json.loads(p.stdout).get("name") == name:
            ids.append(map_id)
    return sorted(ids)


def map_dump(map_id):
    """The entries of a BPF map as `bpftool map dump -j` gives them."""
    p = subprocess.run(["bpftool", "map", "dump", "id", str(map_id), "-j"], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"bpftool map dump id {map_id}: {p.stderr}")
    return json.loads(p.stdout)


def key_cgroup_ids(entries):
    """The cgroup id (the key's first 8 bytes) of every entry of a bpftool dump."""
    ids = set()
    for e in entries:
        f = e.get("formatted")
        if f and isinstance(f.get("key"), dict):
            ids.add(int(f["key"].get("cgroup_id", 0)))
        elif f and isinstance(f.get("key"), int):
            ids.add(f["key"])
        else:
            raw = bytes(int(b, 16) for b in e["key"][:8])
            ids.add(int.from_bytes(raw, "little"))
    return ids


def asan_options_for_rss():
    """ASAN_OPTIONS for a daemon whose RSS a test bounds: under make asan, freed blocks wait in
    ASan's quarantine (256 MiB) and the RSS would measure that; without it the shadow memory (1/8
    of what is touched) still fits the tests' bounds."""
    return (os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0").lstrip(":")


def parse_samples(text):
    """Maps 'name{labels}' -> float for every sample line of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def main(fn, name):
    checks = Checks(name)
    try:
        fn(checks)
    except Exception as e:  # a crash in the test is a failure, reported with its cause
        import traceback
        traceback.print_exc()
        checks.check(False, f"test raised {e!r}")
    sys.exit(checks.summary())
