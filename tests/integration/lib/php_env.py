"""Real, isolated php-fpm pools and an nginx in front of them, for integration tests and benchmarks.

Standard library only (runs under Debian's /usr/bin/python3), root only (the pool runs as nobody).
Needs php8.2-fpm, nginx and php-laravel-framework (``make deps``).

    from cgroup_test import Env, cgroup2_mount
    from php_env import FpmPool, Nginx
    env = Env("hostmon-php", cgroup2_mount())
    cg = env.mkdir("")                                   # a fresh cgroup2 directory
    with FpmPool(listen="unix", cgroup=env.path(cg)) as pool, Nginx(pool) as web:
        web.get("/burn?seconds=1")                       # Laravel, CPU charged to cg
        web.get("/php/sleep.php?ms=30")                  # a plain PHP script
        pool.request("php/notfound.php")                 # FastCGI straight to the pool
        new_workers = pool.reload()                      # SIGUSR2, waits for the new workers
    env.cleanup()

API
    FpmPool(listen="tcp"|"unix", cgroup=None, pm="static", max_children=2, pm_options=None,
            docroot=FIXTURES, env=None, process_control_timeout=5, extra_config="",
            start_timeout=10, keep=False)
    .start() .stop(graceful=False, timeout=15) -> exit code   (also context manager, close())
    .master_pid .worker_pids() .pids() .pidfile .base .error_log .storage .address
    .fastcgi_pass (nginx syntax) .reload(timeout=15) -> new worker pids  .ping() -> bool
    .request(script, query="", method="GET", uri=None, params=None, body=b"") -> Response
    .running() .leftover_workers (killed by stop() after the master exited) .log_tail(n=30)
    Nginx(upstream=pool | "127.0.0.1:9000" | "unix:/path", port=0, cgroup=None, laravel=LARAVEL,
          php_dir=PHP_SCRIPTS, workers=1, extra_http_config="", try_files=False, start_timeout=10,
          keep=False)
    .start() .stop(graceful=False, timeout=15) -> exit code   (also context manager, close())
    .master_pid .worker_pids() .pids() .running() .port .url(path) .base .access_log .error_log
    .get(path, timeout=60, headers=None, method="GET") -> Response  (one request, new connection)
    Response: .status .headers (lower-case names) .body (bytes) .text .seconds (wall time) .stderr
    fastcgi(address, params, body=b"", timeout=60) -> Response     (a minimal FastCGI client)
A pool or nginx left running by a crashed test is stopped (and its directory removed) at exit.

Routes behind Nginx: /php/NAME.php runs tests/fixtures/php/NAME.php (sleep.php?ms=N,
notfound.php, burn.php?seconds=N); every other path goes to the Laravel app in
tests/fixtures/laravel (/, /burn?seconds=N, /sleep?ms=N, /status/CODE). With try_files=True it
gets there as Laravel's documented nginx setup does: `try_files $uri /index.php?$query_string`
under its public/ root, an internal redirect to a `\.php$` location (REQUEST_URI stays the
client's path, SCRIPT_NAME is /index.php); else one location sends it to index.php directly.

How they are isolated
---------------------
Each object has its own temporary directory (/tmp/hostmon-php-XXXX, /tmp/hostmon-nginx-XXXX) with
its configuration, pid file, logs and (pool) socket; stop() removes it unless keep=True. Nothing
under /etc/php, /etc/nginx, /run, /var/log or /var/lib/nginx is written; the system php.ini and its
conf.d are read as usual (opcache on, as in production).

* php-fpm: ``php-fpm8.2 --nodaemonize --fpm-config <base>/php-fpm.conf`` (the file has a [global]
  section and one pool, so /etc/php/8.2/fpm/pool.d is not included). The master runs as root, the
  workers as nobody:nogroup (php-fpm refuses a pool without a user). The unix socket is
  nobody:nogroup 0660 and the base directory 0711, so nginx's workers (also nobody) can connect.
  clear_env=yes: the workers see only env= plus HOSTMON_LARAVEL_STORAGE=<base>/laravel-storage
  (owned by nobody), where the Laravel app keeps everything it writes (manifests, logs).
* cgroup: the forked child writes its pid to <cgroup>/cgroup.procs before it execs php-fpm
  (cgroup_test.enter_cgroup), so the master and every worker it forks live there from the start.
* ready: start() returns when php-fpm's ping.path (/fpm-ping) answers "pong" over FastCGI and, for
  pm=static, all max_children workers exist. pm.status_path is /fpm-status.
* reload(): SIGUSR2 makes the master re-exec itself with the same pid, keeping its listening
  socket; old workers get SIGQUIT and up to process_control_timeout seconds to finish their
  request before SIGTERM. reload() returns when a full set of new workers answers.
* stop(): SIGTERM to our own master (SIGQUIT if graceful), which ends and reaps its workers; any
  worker still alive afterwards (same pid AND start time) is SIGKILLed by pid.
* nginx: ``nginx -p <base>/ -c <base>/nginx.conf -e <base>/error.log`` with ``daemon off``, its own
  pid, lock, access/error logs and temp paths (client body, fastcgi, ...) in <base>; workers run as
  nobody. The access log records $request_time and $upstream_response_time per request.
"""
import grp
import http.client
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from cgroup_test import enter_cgroup
from hostmon_test import ROOT
from server_env import StartStop, file_tail, find_binary, forget, stop_at_exit

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
LARAVEL = os.path.join(FIXTURES, "laravel")
PHP_SCRIPTS = os.path.join(FIXTURES, "php")
POOL_USER, POOL_GROUP = "nobody", "nogroup"
PING_PATH, STATUS_PATH = "/fpm-ping", "/fpm-status"


class PhpEnvError(RuntimeError):
    pass


def php_fpm_binary():
    return find_binary("HOSTMON_PHP_FPM", "php-fpm8.2", "/usr/sbin/php-fpm8.2", "php-fpm", "/usr/sbin/php-fpm")


def nginx_binary():
    return find_binary("HOSTMON_NGINX", "nginx", "/usr/sbin/nginx")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid):
    """(state, ppid, start time in ticks) of pid, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1]), int(fields[19])


def children(pid):
    """Live (not zombie) children of pid, sorted."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st and st[1] == pid and st[0] != "Z":
                out.append(int(name))
    return sorted(out)


def identities(pids):
    """{pid: start time}: a pid is the same process later only if its start time is unchanged."""
    out = {}
    for pid in pids:
        st = _stat(pid)
        if st:
            out[pid] = st[2]
    return out


def still_running(ids):
    """The pids of ids (from identities()) still running as the same process; zombies count as gone."""
    return [pid for pid, start in ids.items()
            if (st := _stat(pid)) and st[2] == start and st[0] != "Z"]


def kill_leftovers(ids, timeout=5):
    """SIGKILLs each process of ids (from identities()) still alive; returns the pids it killed."""
    left = still_running(ids)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while still_running(ids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def _child_env():
    # php-fpm is built with systemd support: keep it from talking to a service manager's socket
    return {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}


class Response:
    """One HTTP or FastCGI answer: status, headers (lower-case names), body bytes, wall seconds."""

    def __init__(self, status, headers, body, seconds, stderr=b""):
        self.status = status
        self.headers = headers
        self.body = body
        self.seconds = seconds
        self.stderr = stderr

    @property
    def text(self):
        return self.body.decode(errors="replace")

    def __repr__(self):
        return f"Response({self.status}, {self.body[:200]!r}, {self.seconds * 1000:.1f} ms)"


# ---- FastCGI ---------------------------------------------------------------------------------

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 1, 3, 4, 5, 6, 7
FCGI_RESPONDER = 1
FCGI_MAX_CONTENT = 65535


def _fcgi_record(rtype, content=b"", request_id=1):
    out = b""
    for i in range(0, max(len(content), 1), FCGI_MAX_CONTENT):
        chunk = content[i:i + FCGI_MAX_CONTENT]
        pad = -len(chunk) % 8
        out += struct.pack("!BBHHBx", 1, rtype, request_id, len(chunk), pad) + chunk + b"\0" * pad
    return out


def _fcgi_length(n):
    return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)


def _fcgi_params(params):
    out = b""
    for k, v in params.items():
        k, v = str(k).encode(), str(v).encode()
        out += _fcgi_length(len(k)) + _fcgi_length(len(v)) + k + v
    return out


def _recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise PhpEnvError("FastCGI peer closed the connection mid-record")
        data += chunk
    return data


def fastcgi(address, params, body=b"", timeout=60):
    """One FastCGI responder request to address ((host, port) or a unix socket path); Response.

    params are the CGI variables (SCRIPT_FILENAME, REQUEST_METHOD, ...); the CGI "Status:" header
    becomes .status (200 without one)."""
    start = time.monotonic()
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(address)
        params = dict(params)
        params.setdefault("CONTENT_LENGTH", len(body))
        s.sendall(_fcgi_record(FCGI_BEGIN_REQUEST, struct.pack("!HB5x", FCGI_RESPONDER, 0))
                  + _fcgi_record(FCGI_PARAMS, _fcgi_params(params)) + _fcgi_record(FCGI_PARAMS)
                  + (_fcgi_record(FCGI_STDIN, body) if body else b"") + _fcgi_record(FCGI_STDIN))
        stdout, stderr = b"", b""
        while True:
            _version, rtype, _rid, length, pad = struct.unpack("!BBHHBx", _recv_exact(s, 8))
            content = _recv_exact(s, length + pad)[:length]
            if rtype == FCGI_STDOUT:
                stdout += content
            elif rtype == FCGI_STDERR:
                stderr += content
            elif rtype == FCGI_END_REQUEST:
                break
    head, _, payload = stdout.partition(b"\r\n\r\n")
    headers, status = {}, 200
    for line in head.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip().lower(), value.strip()
        if name == "status":
            status = int(value.split()[0])
        headers[name] = value
    return Response(status, headers, payload, time.monotonic() - start, stderr)


class _Server(StartStop):
    """What FpmPool and Nginx share: a temp dir, one master process we started, stop by its pid."""

    prefix = "hostmon-server-"

    def __init__(self, cgroup, start_timeout, keep):
        self.cgroup = cgroup
        self.start_timeout = start_timeout
        self.keep = keep
        self.base = None
        self.proc = None
        self._out = None
        self.leftover_workers = []  # workers stop() had to SIGKILL after the master exited

    @property
    def master_pid(self):
        return self.proc.pid if self.proc is not None else None

    def worker_pids(self):
        """The master's live children (the workers), sorted; [] if not running."""
        return children(self.proc.pid) if self.running() else []

    def pids(self):
        """Master and workers."""
        return ([self.proc.pid] + self.worker_pids()) if self.running() else []

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _make_base(self):
        self.base = tempfile.mkdtemp(prefix=self.prefix)
        os.chmod(self.base, 0o711)  # the unprivileged workers must reach sockets and files inside

    def _spawn(self, argv):
        self._out = open(os.path.join(self.base, "stdout-stderr.log"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
                                     env=self._env(), cwd=self.base, start_new_session=True,
                                     preexec_fn=enter_cgroup(self.cgroup) if self.cgroup else None)
        stop_at_exit(self, self.stop)

    def _env(self):
        return _child_env()

    def _wait_ready(self, ready, what):
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise PhpEnvError(f"{what} exited during start-up ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if ready():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise PhpEnvError(f"{what} not ready after {self.start_timeout} s:\n{self.log_tail()}")
            time.sleep(0.02)

    def log_tail(self, n=30):
        if self.base is None:
            return "(no directory)"
        return file_tail(self.error_log, n) + file_tail(os.path.join(self.base, "stdout-stderr.log"), n)

    def stop(self, graceful=False, timeout=15):
        """Stops the master by its pid (graceful: let requests finish), reaps it, kills any worker
        that outlived it, removes the directory unless keep. Returns the master's exit code."""
        rc = None
        if self.proc is not None:
            workers = identities(self.worker_pids())
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGQUIT if graceful else signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self.leftover_workers = kill_leftovers(workers)
        if self._out is not None:
            self._out.close()
            self._out = None
        forget(self)
        if self.base is not None and not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
        return rc

    close = stop


class FpmPool(_Server):
    """One php-fpm master with one pool, in its own temp dir (and cgroup). See the module docstring."""

    prefix = "hostmon-php-"

    def __init__(self, listen="tcp", cgroup=None, pm="static", max_children=2, pm_options=None,
                 docroot=FIXTURES, env=None, process_control_timeout=5, extra_config="",
                 start_timeout=10, keep=False):
        if listen not in ("tcp", "unix"):
            raise ValueError(f"listen must be 'tcp' or 'unix', not {listen!r}")
        if pm not in ("static", "dynamic", "ondemand"):
            raise ValueError(f"pm must be static, dynamic or ondemand, not {pm!r}")
        super().__init__(cgroup, start_timeout, keep)
        self.listen = listen
        self.pm = pm
        self.max_children = max_children
        self.pm_options = dict(pm_options or {})
        self.docroot = docroot
        self.env = dict(env or {})
        self.process_control_timeout = process_control_timeout
        self.extra_config = extra_config
        self.port = None
        self.binary = php_fpm_binary()

    # paths, all inside base
    def _in_base(self, name):
        return os.path.join(self.base, name) if self.base else None

    config = property(lambda self: self._in_base("php-fpm.conf"))
    pidfile = property(lambda self: self._in_base("php-fpm.pid"))
    error_log = property(lambda self: self._in_base("php-fpm.log"))
    socket_path = property(lambda self: self._in_base("php-fpm.sock"))
    storage = property(lambda self: self._in_base("laravel-storage"))

    @property
    def address(self):
        """Where the pool listens: (host, port) or a unix socket path."""
        return ("127.0.0.1", self.port) if self.listen == "tcp" else self.socket_path

    @property
    def fastcgi_pass(self):
        """The address in nginx's fastcgi_pass syntax."""
        return f"127.0.0.1:{self.port}" if self.listen == "tcp" else f"unix:{self.socket_path}"

    def _write_config(self):
        pool_env = {"HOSTMON_LARAVEL_STORAGE": self.storage, **self.env}
        for k, v in pool_env.items():
            if not k.replace("_", "").isalnum() or "\n" in str(v):
                raise ValueError(f"bad pool env entry {k!r}={v!r}")
        lines = [
            "; written by tests/integration/lib/php_env.py",
            "[global]",
            f"pid = {self.pidfile}",
            f"error_log = {self.error_log}",
            "log_level = notice",
            "daemonize = no",
            f"process_control_timeout = {int(self.process_control_timeout)}s",
            "",
            "[hostmon]",
            f"user = {POOL_USER}",
            f"group = {POOL_GROUP}",
            f"listen = {self.address[0]}:{self.address[1]}" if self.listen == "tcp" else f"listen = {self.socket_path}",
            f"listen.owner = {POOL_USER}",
            f"listen.group = {POOL_GROUP}",
            "listen.mode = 0660",
            f"pm = {self.pm}",
            f"pm.max_children = {int(self.max_children)}",
            *(f"pm.{k} = {v}" for k, v in self.pm_options.items()),
            f"ping.path = {PING_PATH}",
            f"pm.status_path = {STATUS_PATH}",
            f"chdir = {self.docroot}",
            "clear_env = yes",
            "catch_workers_output = yes",
            "decorate_workers_output = no",
            *(f'env[{k}] = "{v}"' for k, v in pool_env.items()),
            self.extra_config,
        ]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        """Starts php-fpm (its master inside cgroup, if given); returns self when it answers."""
        if self.running():
            return self
        if self.binary is None:
            raise PhpEnvError("php-fpm not found: install php8.2-fpm (make deps) or set HOSTMON_PHP_FPM")
        self._make_base()
        os.mkdir(self.storage, 0o700)
        os.chown(self.storage, pwd.getpwnam(POOL_USER).pw_uid, grp.getgrnam(POOL_GROUP).gr_gid)
        if self.listen == "tcp":
            self.port = free_port()
        self._write_config()
        self._spawn([self.binary, "--nodaemonize", "--fpm-config", self.config])
        self._wait_ready(self._ready, f"php-fpm ({self.config})")
        return self

    def _full(self, workers=None):
        """Every static worker is there; workers: a listing already taken (judge that one)."""
        workers = self.worker_pids() if workers is None else workers
        return self.pm != "static" or len(workers) == self.max_children

    def _ready(self):
        return self._full() and self.ping()

    def ping(self, timeout=5):
        """True if the pool answers its ping path with "pong" (a worker served a FastCGI request)."""
        try:
            r = fastcgi(self.address, {"SCRIPT_FILENAME": PING_PATH, "SCRIPT_NAME": PING_PATH,
                                       "REQUEST_METHOD": "GET"}, timeout=timeout)
        except (OSError, PhpEnvError):
            return False
        return r.status == 200 and r.body.strip() == b"pong"

    def request(self, script, query="", method="GET", uri=None, params=None, body=b"", timeout=60):
        """Runs script (relative to docroot, or absolute) through FastCGI, bypassing nginx; Response.

        e.g. request("php/sleep.php", "ms=5"), request("laravel/public/index.php", uri="/status/404")."""
        filename = script if os.path.isabs(script) else os.path.join(self.docroot, script)
        path = uri if uri is not None else "/" + os.path.relpath(filename, self.docroot)
        p = {
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": method,
            "SCRIPT_FILENAME": filename, "SCRIPT_NAME": "/" + os.path.basename(filename),
            "DOCUMENT_ROOT": os.path.dirname(filename), "QUERY_STRING": query,
            "REQUEST_URI": path + (f"?{query}" if query else ""), "SERVER_NAME": "localhost",
            "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost",
        }
        p.update(params or {})
        return fastcgi(self.address, p, body, timeout)

    def reload(self, timeout=15):
        """SIGUSR2 (graceful reload): returns the new worker pids once a full set, none of them an
        old worker, answers. The master keeps its pid (it re-execs itself)."""
        old = identities(self.worker_pids())
        master = self.proc.pid
        os.kill(master, signal.SIGUSR2)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise PhpEnvError(f"php-fpm exited during reload ({self.proc.returncode}):\n{self.log_tail()}")
            new = self.worker_pids()
            # fullness judged on the same listing that is returned: a worker may still be forking
            if (new and not still_running(old) and not set(new) & set(old) and self._full(new)
                    and self.ping()):
                return new
            if time.monotonic() > deadline:
                raise PhpEnvError(f"php-fpm reload not done after {timeout} s (workers {new}, "
                                  f"old ones left {still_running(old)}):\n{self.log_tail()}")
            time.sleep(0.02)


FASTCGI_PARAMS = (  # nginx's stock fastcgi_params without SCRIPT_NAME, which each location sets
    ("QUERY_STRING", "$query_string"), ("REQUEST_METHOD", "$request_method"),
    ("CONTENT_TYPE", "$content_type"), ("CONTENT_LENGTH", "$content_length"),
    ("REQUEST_URI", "$request_uri"), ("DOCUMENT_URI", "$document_uri"),
    ("SERVER_PROTOCOL", "$server_protocol"), ("REQUEST_SCHEME", "$scheme"),
    ("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "nginx/$nginx_version"),
    ("REMOTE_ADDR", "$remote_addr"), ("REMOTE_PORT", "$remote_port"),
    ("SERVER_ADDR", "$server_addr"), ("SERVER_PORT", "$server_port"),
    ("SERVER_NAME", "$server_name"), ("REDIRECT_STATUS", "200"),
)


class Nginx(_Server):
    """An nginx of its own in front of one FastCGI upstream. See the module docstring."""

    prefix = "hostmon-nginx-"

    def __init__(self, upstream, port=0, cgroup=None, laravel=LARAVEL, php_dir=PHP_SCRIPTS, workers=1,
                 extra_http_config="", try_files=False, start_timeout=10, keep=False):
        super().__init__(cgroup, start_timeout, keep)
        self.upstream = upstream
        self.try_files = try_files
        self.port = port
        self.laravel = laravel
        self.php_dir = php_dir
        self.workers = workers
        self.extra_http_config = extra_http_config
        self.binary = nginx_binary()

    config = property(lambda self: os.path.join(self.base, "nginx.conf"))
    error_log = property(lambda self: os.path.join(self.base, "error.log"))
    access_log = property(lambda self: os.path.join(self.base, "access.log"))
    pidfile = property(lambda self: os.path.join(self.base, "nginx.pid"))

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def _location(self, match, script_filename, script_name, document_root, upstream):
        params = [*FASTCGI_PARAMS, ("SCRIPT_FILENAME", script_filename), ("SCRIPT_NAME", script_name),
                  ("DOCUMENT_ROOT", document_root)]
        body = "\n".join(f'            fastcgi_param {k} "{v}";' for k, v in params)
        return f"""        location {match} {{
            fastcgi_pass {upstream};
{body}
        }}"""

    def _laravel(self, upstream):
        public = self.laravel + "/public"
        if not self.try_files:
            return self._location("/", public + "/index.php", "/index.php", public, upstream)
        return f"""        location / {{
            root {public};
            try_files $uri /index.php?$query_string;
        }}
{self._location("~ [.]php$", public + "$fastcgi_script_name", "$fastcgi_script_name", public, upstream)}"""

    def _write_config(self):
        upstream = self.upstream.fastcgi_pass if isinstance(self.upstream, FpmPool) else self.upstream
        b = self.base
        conf = f"""# written by tests/integration/lib/php_env.py
daemon off;
master_process on;
worker_processes {int(self.workers)};
user {POOL_USER} {POOL_GROUP};
pid "{b}/nginx.pid";
lock_file "{b}/nginx.lock";
error_log "{b}/error.log" notice;
events {{
    worker_connections 1024;
}}
http {{
    log_format timed '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                     'rt=$request_time urt=$upstream_response_time';
    access_log "{b}/access.log" timed;
    client_body_temp_path "{b}/tmp/body";
    fastcgi_temp_path "{b}/tmp/fastcgi";
    proxy_temp_path "{b}/tmp/proxy";
    scgi_temp_path "{b}/tmp/scgi";
    uwsgi_temp_path "{b}/tmp/uwsgi";
    server_tokens off;
    fastcgi_read_timeout 120s;
{self.extra_http_config}
    server {{
        listen 127.0.0.1:{self.port};
        server_name localhost;
{self._location("~ ^/php/([A-Za-z0-9_-]+[.]php)$", self.php_dir + "/$1", "/php/$1", self.php_dir, upstream)}
        location /php/ {{
            return 404;
        }}
{self._laravel(upstream)}
    }}
}}
"""
        with open(self.config, "w") as f:
            f.write(conf)

    def start(self):
        """Starts nginx (inside cgroup, if given); returns self when its port accepts connections."""
        if self.running():
            return self
        if self.binary is None:
            raise PhpEnvError("nginx not found: install nginx (make deps) or set HOSTMON_NGINX")
        self._make_base()
        os.mkdir(os.path.join(self.base, "tmp"))
        self.port = self.port or free_port()
        self._write_config()
        # -e: the error log before the configuration is read (the compiled default is stderr)
        self._spawn([self.binary, "-p", self.base + "/", "-c", self.config, "-e", self.error_log])
        self._wait_ready(self._ready, f"nginx ({self.config})")
        return self

    def _ready(self):
        if not self.worker_pids():
            return False
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def get(self, path, timeout=60, headers=None, method="GET"):
        """One request on a new connection; Response with .seconds the wall time until the body."""
        start = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            body = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body,
                            time.monotonic() - start)
        finally:
            conn.close()
