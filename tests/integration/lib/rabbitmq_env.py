"""A real, isolated, throw-away RabbitMQ node for integration tests and benchmarks.

Standard library only (runs under Debian's /usr/bin/python3). Needs Debian's
rabbitmq-server 3.10 (``make deps``) and, for :meth:`Broker.hold_unacked`,
amqp-tools.

    from rabbitmq_env import Broker
    with Broker() as b:                      # start() ... stop() + cleanup()
        b.put_vhost("a/b")
        b.declare_queue("a/b", "q 1")
        b.publish("a/b", "q 1", "hello", count=10)
        with b.hold_unacked("a/b", "q 1", 4):   # 6 ready, 4 unacknowledged
            b.wait_queue("a/b", "q 1", messages_ready=6, messages_unacknowledged=4)
        print(b.url)                         # http://127.0.0.1:15672

API (all names are plain str; vhost and queue names are URL-encoded with q(), '/' -> %2F)
    Broker(nodename="hostmon-test@localhost", amqp_port=5672, mgmt_port=15672, dist_port=None,
           user="guest", password="guest", start_timeout=60, stats_interval_ms=None,
           extra_config="", base_dir=None, keep=False, prom_port=0)   # port 0 = pick a free port
    .start() .start_in_background() -> (thread, result) .stop(graceful_ctl=False) .kill() .cleanup()/.close() .is_running() .pid()
    .url .prom_url (rabbitmq_prometheus, always enabled) .amqp_url .base .log_file .started_in .env() .ctl(*args, tool="rabbitmqctl")
    .request(method, path, body=None, user=, password=, headers=, timeout=) -> HttpResult
    .api(method, path, body=None, expect=(200, 201, 204)) -> parsed JSON
    .put_vhost(name) .delete_vhost(name) .declare_queue(vhost, name, durable=True, args=None)
    .delete_queue(vhost, name) .purge_queue(vhost, name)
    .publish(vhost, queue, body, count=1, persistent=False) -> number routed
    .queue_info(vhost, name) -> dict | None          (statistics DB: lags up to ~2 intervals)
    .live_counts(vhost, name) -> dict | None         (disable_stats+enable_queue_totals: live)
    .wait_queue(vhost, name, timeout=30, live=False, messages_ready=..., ...) -> dict
    .list_queues(vhost=None, **query) .overview()
    .import_definitions(defs) ; Broker.queue_definitions(vhost, names) -> defs for N queues
    .set_user(name, password, tags="") .delete_user(name) .set_permissions(vhost, user)
    .hold_unacked(vhost, queue, count) -> UnackedConsumer (.pid, .stop(), context manager)
A node left running by a crashed test is ended (and its directory removed) at interpreter exit.

How the node is isolated (found by experiment on Debian 12, rabbitmq-server 3.10.8)
-------------------------------------------------------------------------------------
Every file the node or its CLI tools touch lives in one temporary directory
(``Broker.base``, /tmp/hostmon-rabbitmq-XXXX); nothing under /var/lib/rabbitmq,
/var/log/rabbitmq, /etc/rabbitmq or the real $HOME is read or written, so a
system broker's data is never touched. :meth:`Broker.cleanup` removes the directory.

* The scripts are run from /usr/lib/rabbitmq/bin, NOT /usr/sbin: Debian's
  /usr/sbin wrapper does ``cd /var/lib/rabbitmq`` and ``su rabbitmq``, which
  would use the system cookie, the system HOME and the system log files.
* ``HOME=<base>`` with ``<base>/.erlang.cookie`` (random, mode 0400): the
  server and rabbitmqctl/rabbitmq-plugins read the Erlang cookie from $HOME.
  A cookie that is not 0400 makes Erlang refuse to start.
* ``RABBITMQ_CONF_ENV_FILE=<base>/rabbitmq-env.conf`` (empty): otherwise
  rabbitmq-env sources /etc/rabbitmq/rabbitmq-env.conf (which may set
  NODENAME, NODE_PORT, ...).
* ``RABBITMQ_CONFIG_FILE=<base>/rabbitmq.conf`` (new-style sysctl format):
  AMQP listener and management listener on 127.0.0.1 at the chosen ports,
  a low disk_free_limit so a nearly full test disk does not block publishers,
  optional ``collect_statistics_interval``.
  ``RABBITMQ_ADVANCED_CONFIG_FILE=<base>/advanced.config`` (absent) so
  /etc/rabbitmq/advanced.config is not picked up.
* ``RABBITMQ_ENABLED_PLUGINS_FILE=<base>/enabled_plugins``, written directly
  as ``[rabbitmq_management,rabbitmq_prometheus].`` -- byte for byte what
  ``rabbitmq-plugins enable --offline rabbitmq_management rabbitmq_prometheus``
  writes with the same environment, but without its ~1.2 s CLI start-up.
  Debian's rabbitmq-server package ships both plugins; the Prometheus listener
  is on 127.0.0.1 at ``prom_port`` (a free port unless given).
* ``RABBITMQ_MNESIA_BASE=<base>/mnesia`` (database, quorum/stream data,
  feature-flags file, plugins-expand dir and the pid file
  ``<mnesia>/<nodename>.pid`` all default to below it) and
  ``RABBITMQ_LOG_BASE=<base>/log`` (``<nodename>.log``; its tail is put into
  every start-up error message).
* ``RABBITMQ_NODENAME=hostmon-test@localhost`` (short name; localhost must
  resolve), ``RABBITMQ_NODE_IP_ADDRESS/RABBITMQ_NODE_PORT`` (AMQP),
  ``RABBITMQ_DIST_PORT`` (inter-node/CLI distribution, default AMQP+20000
  = 25672, bound to 127.0.0.1 via
  ``RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}``).
* ``ERL_EPMD_PORT=<free port>``: this module starts its OWN epmd
  (``epmd -port P -address 127.0.0.1``, a child process it reaps) instead of
  sharing the system one on 4369, so the node name can never clash with a
  system node and stop() can end epmd too without touching anybody else's.
  Server and CLI tools both honour ERL_EPMD_PORT.

Start-up: ``rabbitmq-server -detached``; start() returns when
``GET /api/overview`` answers 200 for guest/guest (about 5 s here). It fails
with the log tail if the node dies, and after ``start_timeout`` (60 s).
Ports are checked first: if 5672/15672/25672 (or the chosen ones) are taken,
start() says which process holds them (``ss -ltnp``) instead of a confusing
time-out. Pass ``amqp_port=0, mgmt_port=0`` to pick free ports.

Stop: SIGTERM to the node's own pid (read from its pid file, checked against
/proc/<pid>/cmdline so only our node is signalled) -- RabbitMQ 3.10 treats
SIGTERM as a graceful ``rabbitmqctl stop`` but it avoids the CLI's ~1-2 s
start-up; ``stop(graceful_ctl=True)`` uses ``rabbitmqctl stop`` itself.
stop() returns when the process has exited and the management and AMQP ports
are closed; a graceful stop takes ~6 s here (5 s of it a fixed wait inside
RabbitMQ's shutdown, not configurable by collect_statistics_interval). ``kill()`` is SIGKILL (a crash) for "broker died mid-run" tests.
Data survive stop()/start() (same directory), so a restarted node has the
same queues; cleanup() deletes everything.

Statistics: ``GET /api/queues/{vhost}/{name}`` reads the management statistics
database, refreshed every ``collect_statistics_interval`` (5 s by default):
after publishing, use :meth:`Broker.wait_queue` rather than a single read.
``Broker(stats_interval_ms=1000)`` shortens that lag for faster tests.
(``disable_stats=true&enable_queue_totals=true`` requests read live totals.)

Unacknowledged messages: :meth:`Broker.hold_unacked` runs
``amqp-consume --heartbeat=0 -p N -q QUEUE sleep infinity`` -- amqp-consume pipes
each message to the command and acks only after the command exits; ``sleep``
never exits, so with prefetch N the broker delivers N messages and they stay
unacknowledged until the process is killed (then they are requeued as ready).
``--heartbeat=0`` matters: amqp-consume blocks in waitpid() and cannot answer
heartbeats, so with heartbeats on, the broker would close the connection
(and requeue) after about two heartbeat periods.
"""
import atexit
import base64
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

RABBIT_BIN = os.environ.get("HOSTMON_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin")
EPMD = shutil.which("epmd") or "/usr/bin/epmd"
AMQP_CONSUME = shutil.which("amqp-consume") or "/usr/bin/amqp-consume"


class BrokerError(RuntimeError):
    pass


_live_brokers = set()   # started and not yet cleaned up


@atexit.register
def _cleanup_at_exit():
    """A test that crashes without cleanup() must not leave a node (or its epmd) behind."""
    for b in list(_live_brokers):
        try:
            if b.keep:
                b._stop_consumers()
            else:
                b.cleanup()
        except Exception:
            pass


def q(name):
    """URL-encodes one path segment: every reserved byte, '/' included ('/' -> %2F)."""
    return urllib.parse.quote(name, safe="")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1", timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_bindable(port):
    """True if nobody listens on port (on any address: a 0.0.0.0 listener blocks 127.0.0.1 too)."""
    for addr in ("0.0.0.0", "127.0.0.1"):
        s = socket.socket()
        # as the broker's own listeners do: a TIME_WAIT left by a client must not count as "in use"
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def _who_listens(port):
    try:
        out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True,
                             timeout=5).stdout.strip()
        return out or "(ss shows no listener; maybe TIME_WAIT or another namespace)"
    except (OSError, subprocess.SubprocessError):
        return "(ss unavailable)"


class HttpResult:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return f"HttpResult({self.status}, {self.body[:200]!r})"


class UnackedConsumer:
    """An amqp-consume process holding messages unacknowledged; stop() (or .pid) ends it."""

    def __init__(self, proc, vhost, queue, count):
        self.proc = proc
        self.pid = proc.pid
        self.vhost = vhost
        self.queue = queue
        self.count = count

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """Kills amqp-consume and its `sleep` child (own process group); messages are requeued."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Broker:
    """One isolated RabbitMQ node in its own temp directory. See the module docstring."""

    def __init__(self, nodename="hostmon-test@localhost", amqp_port=5672, mgmt_port=15672,
                 dist_port=None, user="guest", password="guest", start_timeout=60.0,
                 stats_interval_ms=None, extra_config="", base_dir=None, keep=False,
                 prom_port=0):
        self.nodename = nodename
        self.amqp_port = amqp_port or free_port()
        self.mgmt_port = mgmt_port or free_port()
        self.prom_port = prom_port or free_port()
        self.dist_port = dist_port or (self.amqp_port + 20000 if self.amqp_port + 20000 < 65536
                                       else free_port())
        self.user = user
        self.password = password
        self.start_timeout = start_timeout
        self.stats_interval_ms = stats_interval_ms
        self.extra_config = extra_config
        self.keep = keep
        self._own_base = base_dir is None
        self.base = base_dir      # own temp dir: created by start(), so a failed port check leaves none
        self.epmd_port = None
        self._epmd = None
        self._pid = None
        self._consumers = []
        self._conn = None
        self.started_in = 0.0     # seconds the last real start took

    # ---- files and environment -------------------------------------------------------------

    @property
    def url(self):
        return f"http://127.0.0.1:{self.mgmt_port}"

    @property
    def prom_url(self):
        """The rabbitmq_prometheus plugin's listener (/metrics, /metrics/detailed)."""
        return f"http://127.0.0.1:{self.prom_port}"

    @property
    def amqp_url(self):
        return f"amqp://{q(self.user)}:{q(self.password)}@127.0.0.1:{self.amqp_port}/"

    @property
    def log_file(self):
        return os.path.join(self.base, "log", f"{self.nodename}.log")

    @property
    def pid_file(self):
        return os.path.join(self.base, "mnesia", f"{self.nodename}.pid")

    def _ensure_base(self):
        if self.base is None:
            self.base = tempfile.mkdtemp(prefix="hostmon-rabbitmq-")
        os.makedirs(self.base, exist_ok=True)
        self._write_files()

    def _write_files(self):
        cookie = os.path.join(self.base, ".erlang.cookie")
        if not os.path.exists(cookie):
            fd = os.open(cookie, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(16).upper())
        open(os.path.join(self.base, "rabbitmq-env.conf"), "a").close()
        with open(os.path.join(self.base, "enabled_plugins"), "w") as f:
            f.write("[rabbitmq_management,rabbitmq_prometheus].")
        conf = [
            f"listeners.tcp.1 = 127.0.0.1:{self.amqp_port}",
            "management.tcp.ip = 127.0.0.1",
            f"management.tcp.port = {self.mgmt_port}",
            "prometheus.tcp.ip = 127.0.0.1",
            f"prometheus.tcp.port = {self.prom_port}",
            "disk_free_limit.absolute = 50MB",
            "log.console = false",
            "log.file.level = info",
        ]
        if self.stats_interval_ms:
            conf.append(f"collect_statistics_interval = {int(self.stats_interval_ms)}")
        if self.extra_config:
            conf.append(self.extra_config.strip())
        with open(os.path.join(self.base, "rabbitmq.conf"), "w") as f:
            f.write("\n".join(conf) + "\n")

    def env(self):
        """The environment for rabbitmq-server/rabbitmqctl/rabbitmq-plugins of THIS node."""
        if self.base is None:
            self._ensure_base()
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("RABBITMQ_", "ERL_")) and k not in ("CONFIG_FILE", "NODENAME")}
        b = self.base
        e.update({
            "HOME": b,
            "RABBITMQ_CONF_ENV_FILE": os.path.join(b, "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": os.path.join(b, "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(b, "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(b, "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": os.path.join(b, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(b, "log"),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        })
        if self.epmd_port:
            e["ERL_EPMD_PORT"] = str(self.epmd_port)
            e["ERL_EPMD_ADDRESS"] = "127.0.0.1"
        return e

    def ctl(self, *args, tool="rabbitmqctl", check=True, timeout=120):
        """Runs a RabbitMQ CLI tool against this node; returns CompletedProcess.

        e.g. ctl("eval", "rabbit_amqqueue:list().") or ctl("list_queues", tool="rabbitmqctl")."""
        if self.base is None:
            self._ensure_base()
        if not self._epmd_alive() and not self._adopt_epmd():
            self._start_epmd()
        r = subprocess.run([os.path.join(RABBIT_BIN, tool), *args], env=self.env(), cwd=self.base,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise BrokerError(f"{tool} {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        return r

    # ---- processes -------------------------------------------------------------------------

    def _epmd_alive(self):
        return self._epmd is not None and self._epmd.poll() is None

    def _adopt_epmd(self):
        """A node started by another Broker object on the same base_dir: use its epmd port."""
        pid = self.pid()
        if pid is None:
            return False
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().split(b"\0")
        if b"-epmd_port" in cmd:
            self.epmd_port = int(cmd[cmd.index(b"-epmd_port") + 1])
            return True
        return False

    def _start_epmd(self):
        self.epmd_port = free_port()
        self._epmd = subprocess.Popen([EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 5
        while not port_open(self.epmd_port):
            if self._epmd.poll() is not None or time.monotonic() > deadline:
                raise BrokerError(f"epmd did not start on 127.0.0.1:{self.epmd_port}")
            time.sleep(0.02)

    def _stop_epmd(self):
        if self._epmd is not None:
            if self._epmd.poll() is None:
                self._epmd.terminate()
                try:
                    self._epmd.wait(5)
                except subprocess.TimeoutExpired:
                    self._epmd.kill()
                    self._epmd.wait()
            self._epmd = None

    def _ours(self, pid):
        """True if pid is a live (not zombie) beam.smp of THIS node (its -home is our base dir)."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return (self.base is not None and state != "Z" and b"beam" in cmd[0]
                and os.fsencode(self.base) in cmd)

    def pid(self):
        """The pid of THIS node's beam.smp, or None. The pid file is removed as soon as a shutdown
        begins, so the pid seen last is remembered and checked against /proc too."""
        if self.base is None:
            return None
        try:
            with open(self.pid_file) as f:
                self._pid = int(f.read().strip())
        except (OSError, ValueError):
            pass
        pid = getattr(self, "_pid", None)
        if pid is not None and self._ours(pid):
            return pid
        self._pid = None
        return None

    def api_ready(self, timeout=2.0):
        try:
            return self.request("GET", "/api/overview", timeout=timeout, fresh=True).status == 200
        except OSError:
            return False

    def is_running(self):
        """True if our node's process is alive and its management API answers 200."""
        return self.pid() is not None and self.api_ready()

    def _log_tail(self, n=40):
        try:
            with open(self.log_file, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log file)"

    def start(self):
        """Starts the node (no-op if already running); returns when /api/overview answers 200."""
        if self.pid() is not None:
            if self._wait_api(self.start_timeout):
                return self
            raise BrokerError(f"RabbitMQ node {self.nodename} runs (pid {self.pid()}) but its API at "
                              f"{self.url} does not answer.\nlog tail:\n{self._log_tail()}")
        for what, port in (("AMQP", self.amqp_port), ("management", self.mgmt_port),
                           ("prometheus", self.prom_port),
                           ("distribution", self.dist_port)):
            if not port_bindable(port):
                raise BrokerError(
                    f"cannot start the test RabbitMQ: {what} port {port} is already in use "
                    f"(a system rabbitmq-server or another test broker?):\n  {_who_listens(port)}\n"
                    f"Stop it, or use Broker(amqp_port=0, mgmt_port=0) for free ports.")
        if not os.path.exists(os.path.join(RABBIT_BIN, "rabbitmq-server")):
            raise BrokerError(f"{RABBIT_BIN}/rabbitmq-server not found: install rabbitmq-server (make deps)")
        self._ensure_base()
        _live_brokers.add(self)
        if not self._epmd_alive():
            self._start_epmd()
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(RABBIT_BIN, "rabbitmq-server"), "-detached"], env=self.env(),
                           cwd=self.base, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise BrokerError(f"rabbitmq-server -detached failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        if not self._wait_api(self.start_timeout - (time.monotonic() - t0), started=t0):
            pid = self.pid()
            if pid:  # do not leave a half-started node behind
                self._terminate(pid, 15)
            raise BrokerError(f"RabbitMQ did not answer GET {self.url}/api/overview with 200 within "
                              f"{self.start_timeout:.0f} s.\nlog tail ({self.log_file}):\n{self._log_tail()}")
        self.started_in = time.monotonic() - t0
        return self

    def start_in_background(self):
        """Starts the node in a thread (a test does other work meanwhile); returns (thread,
        result): after thread.join(), result["ok"] is True or result["err"] the exception."""
        result = {}

        def start():
            try:
                self.start()
                result["ok"] = True
            except Exception as e:   # the caller reports it
                result["err"] = e
        th = threading.Thread(target=start, daemon=True)
        th.start()
        return th, result

    def _wait_api(self, timeout, started=None):
        deadline = time.monotonic() + max(timeout, 1)
        saw_pid = False
        while time.monotonic() < deadline:
            if self.api_ready(timeout=2):
                return True
            pid = self.pid()
            saw_pid = saw_pid or pid is not None
            # the pid file appears ~0.5 s after -detached; if it was there and the process is gone, it died
            if pid is None and (saw_pid or (started and time.monotonic() - started > 15)):
                raise BrokerError(f"RabbitMQ node {self.nodename} exited during start-up.\n"
                                  f"log tail ({self.log_file}):\n{self._log_tail()}")
            time.sleep(0.1)
        return False

    def _terminate(self, pid, timeout):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() == pid:
            time.sleep(0.05)
        if self.pid() == pid:
            os.kill(pid, signal.SIGKILL)

    def _wait_gone(self, pid, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.pid() != pid and not port_open(self.mgmt_port) and not port_open(self.amqp_port)
                    and not port_open(self.prom_port)):
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout=60, graceful_ctl=False):
        """Stops the node (no-op if not running); returns when it exited and its ports are closed."""
        self._stop_consumers()
        self._close_conn()
        pid = self.pid()
        if pid is not None:
            if graceful_ctl:
                self.ctl("stop", check=False, timeout=timeout)
            else:
                os.kill(pid, signal.SIGTERM)  # RabbitMQ 3.10: SIGTERM = graceful stop
            if not self._wait_gone(pid, timeout):
                if self.pid() == pid:
                    os.kill(pid, signal.SIGKILL)
                if not self._wait_gone(pid, 10):
                    raise BrokerError(f"RabbitMQ (pid {pid}) did not stop; ports {self.amqp_port}/"
                                      f"{self.mgmt_port} still open")
        self._stop_epmd()
        return self

    def kill(self):
        """SIGKILL: the broker crashes (no graceful shutdown). Returns when the ports are closed."""
        self._stop_consumers()
        self._close_conn()
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 15)
        return self

    def cleanup(self):
        """Ends the node and removes its directory (unless keep=True or a caller-owned base_dir).

        When the directory is to be removed anyway, the node is SIGKILLed (instant) instead of
        stopped gracefully (a graceful stop spends ~6 s, 5 of them in a fixed shutdown wait)."""
        try:
            if self._own_base and not self.keep:
                self.kill()
            self.stop()
        finally:
            self._stop_epmd()
            _live_brokers.discard(self)
            if self._own_base and not self.keep and self.base is not None:
                shutil.rmtree(self.base, ignore_errors=True)
                self.base = None

    close = cleanup

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()

    # ---- HTTP API --------------------------------------------------------------------------

    def _close_conn(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, body=None, *, user=None, password=None, headers=None,
                timeout=60, fresh=False):
        """One management-API request; returns HttpResult(status, headers, body bytes).

        path is sent as given (encode names with q()); body may be a dict/list (sent as JSON),
        str or bytes. A kept-alive connection is reused unless fresh=True."""
        user = self.user if user is None else user
        password = self.password if password is None else password
        h = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        if isinstance(body, str):
            body = body.encode()
        h.update(headers or {})
        for attempt in (0, 1):
            conn = http.client.HTTPConnection("127.0.0.1", self.mgmt_port, timeout=timeout) if fresh \
                else self._conn or http.client.HTTPConnection("127.0.0.1", self.mgmt_port, timeout=timeout)
            try:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
                conn.request(method, path, body=body, headers=h)
                resp = conn.getresponse()
                data = resp.read()
                result = HttpResult(resp.status, dict(resp.getheaders()), data)
                if fresh or resp.will_close:
                    conn.close()
                    if not fresh:
                        self._conn = None
                else:
                    self._conn = conn
                return result
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                self._conn = None
                if fresh or attempt:
                    raise
            except Exception:
                conn.close()
                if not fresh:
                    self._conn = None
                raise

    def api(self, method, path, body=None, expect=(200, 201, 204), **kw):
        """request() that raises BrokerError unless the status is in expect; returns parsed JSON."""
        r = self.request(method, path, body, **kw)
        if r.status not in expect:
            raise BrokerError(f"{method} {path} -> {r.status}: {r.body[:500]!r}")
        return r.json()

    def overview(self):
        return self.api("GET", "/api/overview")

    def put_vhost(self, name):
        self.api("PUT", f"/api/vhosts/{q(name)}", {})
        # the creating user (guest) gets full permissions implicitly in 3.10; make it explicit
        self.set_permissions(name, self.user)

    def delete_vhost(self, name, missing_ok=True):
        self.api("DELETE", f"/api/vhosts/{q(name)}", expect=(204, 404) if missing_ok else (204,))

    def declare_queue(self, vhost, name, durable=True, args=None, auto_delete=False):
        """Declares a queue; args e.g. {"x-queue-type": "quorum"} (quorum/stream need durable)."""
        self.api("PUT", f"/api/queues/{q(vhost)}/{q(name)}",
                 {"durable": durable, "auto_delete": auto_delete, "arguments": args or {}})

    def delete_queue(self, vhost, name, missing_ok=True):
        self.api("DELETE", f"/api/queues/{q(vhost)}/{q(name)}",
                 expect=(204, 404) if missing_ok else (204,))

    def purge_queue(self, vhost, name):
        self.api("DELETE", f"/api/queues/{q(vhost)}/{q(name)}/contents")

    def publish(self, vhost, queue, body, count=1, persistent=False, headers=None):
        """Publishes body count times to queue via the default exchange; returns how many were routed.

        body: str, or bytes (sent base64 if not UTF-8)."""
        if isinstance(body, bytes):
            try:
                payload, enc = body.decode("utf-8"), "string"
            except UnicodeDecodeError:
                payload, enc = base64.b64encode(body).decode(), "base64"
        else:
            payload, enc = body, "string"
        props = {"delivery_mode": 2} if persistent else {}
        if headers:
            props["headers"] = headers
        msg = {"properties": props, "routing_key": queue, "payload": payload, "payload_encoding": enc}
        path = f"/api/exchanges/{q(vhost)}/amq.default/publish"
        routed = 0
        for _ in range(count):
            routed += bool(self.api("POST", path, msg).get("routed"))
        return routed

    def queue_info(self, vhost, name, **params):
        """GET /api/queues/{vhost}/{name} as a dict (None if 404). Counts lag by the stats interval."""
        qs = ("?" + urllib.parse.urlencode(params)) if params else ""
        r = self.request("GET", f"/api/queues/{q(vhost)}/{q(name)}{qs}")
        if r.status == 404:
            return None
        if r.status != 200:
            raise BrokerError(f"queue_info {vhost!r}/{name!r} -> {r.status}: {r.body[:300]!r}")
        return r.json()

    def list_queues(self, vhost=None, **params):
        """GET /api/queues[/{vhost}] with query params (columns=..., disable_stats=...); parsed JSON."""
        path = "/api/queues" + (f"/{q(vhost)}" if vhost is not None else "")
        qs = ("?" + urllib.parse.urlencode(params)) if params else ""
        return self.api("GET", path + qs)

    def live_counts(self, vhost, name):
        """Live messages/ready/unacked of one queue, bypassing the statistics database (None if absent).

        GET /api/queues/{vhost}/{name} ignores enable_queue_totals, so this lists the vhost with
        disable_stats=true&enable_queue_totals=true, narrowed by the name= filter (a substring
        match that RabbitMQ applies only to paged requests), and picks the exact name."""
        page = 1
        while True:
            qs = urllib.parse.urlencode({
                "disable_stats": "true", "enable_queue_totals": "true", "name": name,
                "columns": "name,messages,messages_ready,messages_unacknowledged",
                "page": page, "page_size": 500})
            r = self.request("GET", f"/api/queues/{q(vhost)}?{qs}")
            if r.status != 200:
                return None
            d = r.json()
            hit = next((i for i in d["items"] if i.get("name") == name), None)
            if hit is not None or page >= d["page_count"]:
                return hit
            page += 1

    def wait_queue(self, vhost, name, timeout=30, live=False, **expected):
        """Polls queue_info (or live_counts) until every expected field equals; returns the dict.

        e.g. wait_queue("/", "q", messages_ready=6, messages_unacknowledged=4)."""
        deadline = time.monotonic() + timeout
        info = None
        while True:
            info = self.live_counts(vhost, name) if live else self.queue_info(vhost, name)
            if info is not None and all(info.get(k) == v for k, v in expected.items()):
                return info
            if time.monotonic() > deadline:
                got = {k: (info or {}).get(k) for k in expected}
                raise BrokerError(f"queue {vhost!r}/{name!r}: wanted {expected}, have {got} after {timeout} s")
            time.sleep(0.2)

    def import_definitions(self, defs, timeout=600):
        """POST /api/definitions (vhosts, queues, users, permissions, ... in one call)."""
        self.api("POST", "/api/definitions", defs, timeout=timeout)

    @staticmethod
    def queue_definitions(vhost, names, durable=True, arguments=None):
        """A definitions document that creates the given queues in vhost (vhost included)."""
        return {"vhosts": [{"name": vhost}],
                "permissions": [{"user": "guest", "vhost": vhost, "configure": ".*", "write": ".*",
                                 "read": ".*"}],
                "queues": [{"name": n, "vhost": vhost, "durable": durable, "auto_delete": False,
                            "arguments": arguments or {}} for n in names]}

    def set_user(self, name, password, tags=""):
        self.api("PUT", f"/api/users/{q(name)}", {"password": password, "tags": tags})

    def delete_user(self, name, missing_ok=True):
        self.api("DELETE", f"/api/users/{q(name)}", expect=(204, 404) if missing_ok else (204,))

    def set_permissions(self, vhost, user, configure=".*", write=".*", read=".*"):
        self.api("PUT", f"/api/permissions/{q(vhost)}/{q(user)}",
                 {"configure": configure, "write": write, "read": read})

    # ---- consumers -------------------------------------------------------------------------

    def hold_unacked(self, vhost, queue, count, wait=True, timeout=30, user=None, password=None):
        """Starts amqp-consume holding `count` messages of queue unacknowledged; returns UnackedConsumer.

        The queue should have at least `count` ready messages. wait=True returns once the broker's
        live totals show `count` unacknowledged. Kill with .stop() (or os.killpg(c.pid, SIGKILL))."""
        if not os.path.exists(AMQP_CONSUME):
            raise BrokerError("amqp-consume not found: install amqp-tools (make deps)")
        if wait:
            have = self.live_counts(vhost, queue)
            if have is None or have.get("messages_ready", 0) < count:
                raise BrokerError(f"hold_unacked({count}): queue {vhost!r}/{queue!r} has only {have} "
                                  f"(transient messages do not survive a kill/restart)")
        cmd = [AMQP_CONSUME, "--server=127.0.0.1", f"--port={self.amqp_port}", f"--vhost={vhost}",
               f"--username={user or self.user}", f"--password={password or self.password}",
               "--heartbeat=0", f"--prefetch-count={count}", f"--queue={queue}",
               "sleep", "infinity"]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        c = UnackedConsumer(proc, vhost, queue, count)
        self._consumers.append(c)
        if wait:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace")
                    raise BrokerError(f"amqp-consume exited ({proc.returncode}): {err}")
                info = self.live_counts(vhost, queue)
                if info and info.get("messages_unacknowledged") == count:
                    break
                if time.monotonic() > deadline:
                    c.stop()
                    raise BrokerError(f"amqp-consume did not get {count} unacked messages of "
                                      f"{vhost!r}/{queue!r} within {timeout} s: {info}")
                time.sleep(0.1)
        return c

    def _stop_consumers(self):
        for c in self._consumers:
            c.stop()
        self._consumers = []


if __name__ == "__main__":  # smoke test: python3 tests/integration/lib/rabbitmq_env.py
    import sys
    with Broker(amqp_port=int(sys.argv[1]) if len(sys.argv) > 1 else 5672) as b:
        print(f"started in {b.started_in:.1f} s at {b.url} (node {b.nodename}, dir {b.base})")
        vh, name = "a/b c", 'q "1" \\ ü'
        b.put_vhost(vh)
        b.declare_queue(vh, name)
        print("routed", b.publish(vh, name, "hello", count=10))
        with b.hold_unacked(vh, name, 4) as c:
            print("live", b.live_counts(vh, name), "consumer pid", c.pid)
        print("after kill", b.wait_queue(vh, name, live=True, messages_ready=10)["messages_ready"])
        t = time.monotonic()
    print(f"stopped + cleaned in {time.monotonic() - t:.1f} s")
