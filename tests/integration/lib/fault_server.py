"""A fault-injecting HTTP server standing in for a broken proxy in front of the RabbitMQ
management API. Standard library only (Debian's /usr/bin/python3).

    from fault_server import FaultServer
    with FaultServer() as fs:                     # 127.0.0.1:<free port>, background thread
        fs.set_mode("good", items=[{"name": "q", "vhost": "/", "messages": 3, ...}])
        daemon = Daemon("--rabbitmq-url", fs.url, ...)
        ...
        fs.set_mode("truncated")                  # next poll gets truncated JSON
        fs.wait_requests(2)                       # block until the client asked again
        assert fs.requests[-1].path == "/api/queues/%2F"
        assert fs.requests[-1].query["columns"] == ["name,vhost,messages,..."]
        fs.set_mode("good", items=[...], paths={"/api/queues/a%2Fb": "500"})  # one vhost fails

Modes (set_mode(mode, paths=None, **options); applies to every path, to requests from then on,
except the paths given in paths={path: mode or (mode, {options})}: path as sent, percent-encoded,
without the query; a key "path?text" applies to requests of path whose raw query contains text
(and wins over a plain "path" key), e.g. "/api/queues/%2F?consumers" for hostmon's detail poll only;
every set_mode replaces the earlier paths):
  good          items=[...] (queue objects), served by path as RabbitMQ does:
                /api/vhosts lists the vhosts ([{"name": ..., "description": ..., ...}], honouring
                ?columns=): vhosts=[...] if given, else those of the items in order of first
                appearance, then deleted=[...]; /api/queues lists every item;
                /api/nodes one running node, /api/overview its object_totals and no listeners;
                /api/queues/{vhost} (percent-decoded) the items of that vhost, 404
                {"error":"Object Not Found","reason":"Not Found"} for a vhost not listed or in
                deleted (a vhost deleted between a client's listing and its request).
                delay=<seconds> waits that long before answering (for concurrency tests).
                With ?page=N[&page_size=M] a queue listing answers like RabbitMQ
                3.10: {"filtered_count", "item_count", "items", "page", "page_count", "page_size",
                "total_count"} (page_size defaults to 100; an empty list gives page 1 with
                page_count 0); a page past the last is 400 {"error":"page_out_of_range","reason":
                "Page out of range, page: 3 page size: 3, len: 4"}; page_size > 500 or page < 1 is
                400 {"error":"invalid_pagination_parameters",...}; a non-integer page is 400
                {"error":"bad_request","reason":"Pagination parameters are invalid"}.
                Without ?page it answers a plain JSON list (as RabbitMQ does, page_size alone
                does not page). Optional
                columns=True applies ?columns= like RabbitMQ (top-level keys only);
                gzip=True compresses when the request accepts gzip.
                /metrics/detailed?vhost=V&family=F... (the rabbitmq_prometheus plugin) answers in
                the plugin's text format, label values unescaped as the 3.10 plugin writes them:
                queue_coarse_metrics (messages, messages_ready, messages_unacked),
                queue_consumer_count (consumers), queue_metrics (consumers, messages_bytes,
                messages_ready_bytes, messages_unacked_bytes), the items of vhost V (an unknown
                vhost: no queues, as the plugin does), then rabbitmq_identity_info with the
                node= of the first item (rabbit@localhost without items).
  json          body=<any JSON-able object or raw bytes/str>, status=200: served verbatim.
  garbage       200, Content-Type application/json, a body that is not JSON (binary + text).
  truncated     200, valid paged JSON cut in the middle; Content-Length matches what is sent,
                so only the JSON parser can notice. cut=<bytes> (default: half). For
                /metrics/detailed: the good page of 20 queues cut the same way (mid-line by default;
                cut_at_line=True cuts after the last whole line before the middle).
  short_body    200, Content-Length promises the whole body, half is sent, then the connection
                closes (a transfer error, curl's CURLE_PARTIAL_FILE).
  wrong_types   variant= "strings" (counts as strings: "messages": "12"), "nulls" (counts null,
                name 5), "items_not_list" ("items": {...}), "not_object" (top level 42),
                "page_count_lie" (page_count 1000 but items empty), "missing" (queues missing
                counters, as a queue that is down): options page-form (default) or list-form via
                paged_form=False.
  huge          a 100 MB body (size=<bytes>) streamed in 64 KiB chunks, never held in memory:
                kind="json" (a valid paged document with ~0.5 M queue objects), "garbage" (spaces
                then junk), "prom" (valid plugin lines for one queue, repeated; the default for
                /metrics/detailed); chunked=True uses chunked transfer instead of Content-Length.
  many          a large listing of one vhost, streamed (chunked) and never held in memory:
                /api/vhosts lists vhost (default "/"), /api/queues/{vhost} is a plain list of
                {"name", "vhost"} objects in groups=[(count, name_bytes), ...] order: count queues
                each, named "q<i>" (i counts from 0 over all groups) padded with "x" to name_bytes
                (never shorter than "q<i>"); any other path 404.
  gzip_bomb     Content-Encoding: gzip, ~100 KB on the wire that inflates to size (default
                100 MB) of valid-looking JSON (whitespace padding inside an array).
  stall         accepts the connection, reads the request and never answers (until close()).
  stall_body    sends 200 headers with a Content-Length, a few bytes of body, then stalls.
  slow          answers like `good` but sends the body 1 byte every delay seconds (default 0.5).
  status        status=<code> with body=<bytes/obj>: 401 (with WWW-Authenticate and RabbitMQ's
                {"error":"not_authorized","reason":"Login failed"}), 403, 500, 503, ...;
                shortcuts: set_mode("401"), set_mode("500").
  close         closes the connection without any response -- what RabbitMQ itself does when
                building a response takes longer than its 60 s request timeout (curl: "Empty reply
                from server", measured with /api/queues at 50,000 queues).

Every request is logged: .requests is a list of Request(method, path, query, raw_path, headers,
mode, time, client); query is urllib.parse.parse_qs of the query string, client the (address,
port) it came from. .url is "http://127.0.0.1:PORT". .max_in_flight is the most requests handled
at once since the last reset_in_flight() (a request counts from its head read to its response sent).
"""
import gzip
import http.server
import json
import socket
import threading
import time
import urllib.parse
import zlib


class Request:
    __slots__ = ("method", "path", "query", "raw_path", "headers", "mode", "time", "client")

    def __init__(self, method, raw_path, headers, mode, client=None):
        parts = urllib.parse.urlsplit(raw_path)
        self.method = method
        self.raw_path = raw_path
        self.path = parts.path                       # still percent-encoded, e.g. /api/queues/%2F
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.mode = mode
        self.time = time.monotonic()
        self.client = client

    def param(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def __repr__(self):
        return f"Request({self.method} {self.raw_path} mode={self.mode})"


def sample_queue(i, vhost="/"):
    return {"name": f"q{i}", "vhost": vhost, "messages": i, "messages_ready": i,
            "messages_unacknowledged": 0, "consumers": 0, "message_bytes": 10 * i,
            "message_bytes_ready": 10 * i, "message_bytes_unacknowledged": 0,
            "node": "rabbit@localhost", "type": "classic", "state": "running", "durable": True}


_PROM_FAMILIES = {   # family= -> (metric suffix, queue field), as the 3.10 plugin groups them
    "queue_coarse_metrics": [("messages_ready", "messages_ready"),
                             ("messages_unacked", "messages_unacknowledged"),
                             ("messages", "messages")],
    "queue_consumer_count": [("consumers", "consumers")],
    "queue_metrics": [("consumers", "consumers"), ("messages_bytes", "message_bytes"),
                      ("messages_ready_bytes", "message_bytes_ready"),
                      ("messages_unacked_bytes", "message_bytes_unacknowledged")],
}


def prom_page(items, vhost, families):
    """/metrics/detailed?vhost=vhost&family=... as the 3.10 plugin writes it (values unescaped)."""
    mine = [i for i in items if i.get("vhost") == vhost]
    out = []
    for fam in families:
        for suffix, field in _PROM_FAMILIES.get(fam, []):
            name = "rabbitmq_detailed_queue_" + suffix
            out.append(f"# TYPE {name} gauge\n# HELP {name} fault_server\n")
            for i in mine:
                if field in i and isinstance(i[field], (int, float)):
                    out.append(f'{name}{{vhost="{vhost}",queue="{i["name"]}"}} {i[field]}\n')
    node = mine[0].get("node", "rabbit@localhost") if mine else "rabbit@localhost"
    out.append("# TYPE rabbitmq_identity_info untyped\n"
               f'rabbitmq_identity_info{{rabbitmq_node="{node}",rabbitmq_cluster="fault",'
               'rabbitmq_cluster_permanent_id="x"} 1\n\n')
    return "".join(out).encode()


def paged(items, page=1, page_size=500, total=None, page_count=None):
    total = len(items) if total is None else total
    return {"filtered_count": total, "item_count": len(items), "items": items, "page": page,
            "page_count": page_count if page_count is not None else -(-total // page_size),
            "page_size": page_size, "total_count": total}


def _wrong_types(variant):
    if variant == "strings":
        q = sample_queue(12)
        q.update(messages="12", messages_ready="12", messages_unacknowledged="0")
        return paged([q])
    if variant == "nulls":
        q = sample_queue(3)
        q.update(name=5, messages=None, messages_ready=[], messages_unacknowledged={})
        return paged([q])
    if variant == "items_not_list":
        d = paged([sample_queue(1)])
        d["items"] = {"name": "q1", "vhost": "/", "messages": 1}
        return d
    if variant == "not_object":
        return 42
    if variant == "page_count_lie":
        return paged([], total=1000, page_count=1000)
    if variant == "missing":   # item shapes measured on 3.10 (disable_stats=true&enable_queue_totals=true)
        return paged([
            {"arguments": {"x-queue-type": "quorum"}, "auto_delete": False, "durable": True,
             "exclusive": None, "leader": None, "members": ["rabbit@localhost"], "messages": 2,
             "messages_ready": 2, "messages_unacknowledged": 0, "name": "q-quorum-down", "online": [],
             "state": "down", "type": "quorum", "vhost": "/"},            # no "node"
            {"arguments": {"x-queue-type": "stream"}, "auto_delete": False, "durable": True,
             "exclusive": None, "name": "q-stream", "state": "running", "totals": None,
             "type": "stream", "type_specific": None, "vhost": "/"},    # no counts, no "node"
            sample_queue(2)])
    raise ValueError(f"unknown wrong_types variant {variant!r}")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # else small writes wait for a delayed ACK (40 ms)
    server_version = "fault-server"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _do(self):
        fs = self.server.fault
        with fs._lock:
            parts = urllib.parse.urlsplit(self.path)
            by_query = [v for k, v in fs._paths.items() if "?" in k and
                        k.split("?", 1)[0] == parts.path and k.split("?", 1)[1] in parts.query]
            mode, opts = by_query[0] if by_query else fs._paths.get(parts.path, (fs._mode, fs._opts))
            opts = dict(opts)
            req = Request(self.command, self.path, dict(self.headers.items()), mode, self.client_address)
            fs.requests.append(req)
            fs._in_flight += 1
            fs.max_in_flight = max(fs.max_in_flight, fs._in_flight)
            fs._cond.notify_all()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        try:
            getattr(self, "_mode_" + mode)(req, **opts)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        finally:
            with fs._lock:
                fs._in_flight -= 1

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _do

    # -- helpers --
    def _send(self, status, body, ctype="application/json", headers=None, close=False):
        if not isinstance(body, (bytes, bytearray)):
            body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _stall(self):
        self.server.fault._closing.wait()
        self.close_connection = True

    # -- modes --
    def _good_body(self, req, items, columns, vhosts, deleted):
        """(status, JSON-able body) of a good answer, routed by path as RabbitMQ 3.10 does."""
        items = list(items)
        listed = list(vhosts) if vhosts is not None else list(dict.fromkeys(i.get("vhost") for i in items))
        listed += [v for v in deleted if v not in listed]
        if req.path == "/api/vhosts":
            body = [{"name": v, "description": "", "tags": [], "tracing": False} for v in listed]
            keep = req.param("columns")
            return 200, [{k: x[k] for k in keep.split(",") if k in x} for x in body] if keep else body
        if req.path == "/api/nodes":    # one node, as a healthy 3.10 node reports itself
            return 200, [{"name": "rabbit@localhost", "running": True, "mem_used": 150000000,
                          "mem_limit": 1000000000, "mem_alarm": False, "disk_free": 9000000000,
                          "disk_free_limit": 50000000, "disk_free_alarm": False, "fd_used": 40,
                          "fd_total": 1024, "sockets_used": 2, "sockets_total": 829}]
        if req.path == "/api/overview":  # no plugin listener: auto stays with the management API
            return 200, {"node": "rabbit@localhost", "listeners": [],
                         "object_totals": {"connections": 2, "channels": 3, "consumers": 4,
                                           "queues": len(items)}}
        if req.path.startswith("/api/queues/"):
            vhost = urllib.parse.unquote(req.path[len("/api/queues/"):])
            if vhost not in listed or vhost in deleted:
                return 404, {"error": "Object Not Found", "reason": "Not Found"}
            items = [i for i in items if i.get("vhost") == vhost]
        if columns and req.param("columns"):
            keep = req.param("columns").split(",")
            items = [{k: v for k, v in i.items() if k in keep} for i in items]
        if req.param("page") is None:   # as RabbitMQ does, page_size alone does not page
            return 200, items
        try:                            # exactly RabbitMQ 3.10's answers (see fixtures)
            page, size = int(req.param("page")), int(req.param("page_size", "100"))
        except ValueError:
            return 400, {"error": "bad_request", "reason": "Pagination parameters are invalid"}
        if size > 500 or size < 1 or page < 1:
            return 400, {"error": "invalid_pagination_parameters", "reason":
                         f"Invalid pagination parameters: page number {page}, page size {size}"}
        total = len(items)
        page_count = -(-total // size)          # 0 for an empty list; page 1 is still 200
        if page > max(page_count, 1):
            return 400, {"error": "page_out_of_range", "reason":
                         f"Page out of range, page: {page} page size: {size}, len: {total}"}
        return 200, paged(items[(page - 1) * size:page * size], page, size, total)

    def _mode_good(self, req, items=(), columns=False, gzip=False, status=200, vhosts=None, deleted=(),
                   delay=0):
        if delay and self.server.fault._closing.wait(delay):
            return
        hdrs = {"Vary": "accept-encoding"}
        if req.path == "/metrics/detailed":
            data = prom_page(items, req.param("vhost", ""), req.query.get("family", []))
            if gzip and "gzip" in req.headers.get("Accept-Encoding", ""):
                data = _gzip(data)
                hdrs["Content-Encoding"] = "gzip"
            self._send(status, data, ctype="text/plain; version=0.0.4", headers=hdrs)
            return
        code, body = self._good_body(req, items, columns, vhosts, deleted)
        data = json.dumps(body).encode()
        if gzip and "gzip" in req.headers.get("Accept-Encoding", ""):
            data = _gzip(data)
            hdrs["Content-Encoding"] = "gzip"
        self._send(status if code == 200 else code, data, headers=hdrs)

    def _mode_json(self, req, body=None, status=200, headers=None):
        self._send(status, body if isinstance(body, (bytes, str)) else json.dumps(body), headers=headers)

    def _mode_garbage(self, req):
        self._send(200, b"\x00\xffnot json at all <html>\x89PNG\r\n{{{[[[\"unterminated")

    def _mode_truncated(self, req, cut=None, cut_at_line=False):
        if req.path == "/metrics/detailed":
            vhost = req.param("vhost", "")
            data = prom_page([sample_queue(i, vhost) for i in range(1, 21)], vhost,
                             req.query.get("family", ["queue_coarse_metrics"]))
            end = cut if cut is not None else len(data) // 2
            if cut_at_line:
                end = data.rindex(b"\n", 0, end) + 1
            self._send(200, data[:end], ctype="text/plain; version=0.0.4")
            return
        data = json.dumps(paged([sample_queue(i) for i in range(1, 21)])).encode()
        self._send(200, data[:cut if cut is not None else len(data) // 2])

    def _mode_short_body(self, req):
        data = json.dumps(paged([sample_queue(i) for i in range(1, 21)])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.wfile.flush()
        self.close_connection = True

    def _mode_wrong_types(self, req, variant="strings", paged_form=True):
        body = _wrong_types(variant)
        if not paged_form and isinstance(body, dict) and isinstance(body.get("items"), list):
            body = body["items"]
        self._send(200, body)

    def _mode_huge(self, req, size=100 * 1024 * 1024, kind=None, chunked=False):
        kind = kind or ("prom" if req.path == "/metrics/detailed" else "json")
        head, item, tail = _huge_parts(kind)
        if kind == "prom":
            # the vhost asked for, as the plugin would name it: the size is then the only fault
            # (a page of another vhost fails at its first line, and which of a poll's requests
            # ends first would decide the reason)
            item = item.replace(b'vhost="/"', f'vhost="{req.param("vhost", "/")}"'.encode())
        n = max(0, (size - len(head) - len(tail)) // len(item))
        total = len(head) + n * len(item) + len(tail)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        per = max(1, 65536 // len(item))
        block = item * per
        out = self._chunk_writer(chunked)
        out(head)
        left = n
        while left > 0:
            k = min(per, left)
            out(block if k == per else item * k)
            left -= k
        out(tail)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _chunk_writer(self, chunked):
        w = self.wfile.write
        if not chunked:
            return w
        return lambda b: w(b"%x\r\n%s\r\n" % (len(b), b)) if b else None

    def _mode_many(self, req, groups=((1, 8),), vhost="/"):
        if req.path == "/api/vhosts":
            return self._send(200, [{"name": vhost}])
        if req.path != "/api/queues/" + urllib.parse.quote(vhost, safe=""):
            return self._send(404, {"error": "Object Not Found", "reason": "Not Found"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        out = self._chunk_writer(True)
        tail = ('","vhost":' + json.dumps(vhost) + "}").encode()
        block, i = [b"["], 0
        for count, name_bytes in groups:
            for _ in range(count):
                name = b"q%d" % i
                block.append(b'%s{"name":"%s%s%s' % (b"," if i else b"", name,
                                                      b"x" * (name_bytes - len(name)), tail))
                i += 1
                if len(block) >= 2048 or name_bytes > 65536:
                    out(b"".join(block))
                    block = []
        block.append(b"]")
        out(b"".join(block))
        self.wfile.write(b"0\r\n\r\n")

    def _mode_gzip_bomb(self, req, size=100 * 1024 * 1024):
        data = _bomb(size)
        self._send(200, data, headers={"Content-Encoding": "gzip"}, close=True)

    def _mode_stall(self, req):
        self._stall()

    def _mode_stall_body(self, req):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b'{"items": [')
        self.wfile.flush()
        self._stall()

    def _mode_slow(self, req, items=(), delay=0.5):
        data = json.dumps(self._good_body(req, items, False, None, ())[1]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for b in data:
            if self.server.fault._closing.wait(delay):
                return
            self.wfile.write(bytes([b]))
            self.wfile.flush()

    def _mode_status(self, req, status=500, body=None, headers=None):
        if body is None:
            body = {401: {"error": "not_authorized", "reason": "Login failed"},
                    403: {"error": "not_authorized", "reason": "Not management user"},
                    }.get(status, {"error": "Internal Server Error", "reason": "fault_server"})
        hdrs = dict(headers or {})
        if status == 401:
            hdrs.setdefault("WWW-Authenticate", 'Basic realm="RabbitMQ Management"')
        self._send(status, body if isinstance(body, (bytes, str)) else json.dumps(body), headers=hdrs)

    def _mode_close(self, req):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _gzip(data):
    return gzip.compress(data, 6)


_HUGE = {
    "json": (b'{"filtered_count":0,"item_count":0,"page":1,"page_count":1,"page_size":500,'
             b'"total_count":0,"items":[',
             b'{"name":"huge-queue-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","vhost":"/","messages":1,'
             b'"messages_ready":1,"messages_unacknowledged":0,"node":"rabbit@x","state":"running"},',
             b'{"name":"last","vhost":"/","messages":0}]}'),
    "garbage": (b"", b" " * 63 + b"\n", b"junk"),
    "prom": (b"# TYPE rabbitmq_detailed_queue_messages gauge\n",
             b'rabbitmq_detailed_queue_messages{vhost="/",queue="huge-queue-xxxxxxxxxxxxxxxxxxxx"} 1\n',
             b'rabbitmq_identity_info{rabbitmq_node="rabbit@x"} 1\n'),
}


def _huge_parts(kind):
    return _HUGE[kind]


_bomb_cache = {}


def _bomb(size):
    if size not in _bomb_cache:
        c = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip wrapper
        out = [c.compress(b"[")]
        block = b" " * (1 << 20)
        left = size - 2
        while left > 0:
            k = min(left, len(block))
            out.append(c.compress(block[:k]))
            left -= k
        out.append(c.compress(b"]"))
        out.append(c.flush())
        _bomb_cache[size] = b"".join(out)
    return _bomb_cache[size]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class FaultServer:
    """Threaded HTTP server on 127.0.0.1:0 in a background thread; see the module docstring."""

    def __init__(self, mode="good", host="127.0.0.1", port=0, **options):
        self.requests = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._mode, self._opts, self._paths = "good", {}, {}
        self._in_flight = self.max_in_flight = 0
        self.set_mode(mode, **options)
        self._httpd = _Server((host, port), _Handler)
        self._httpd.fault = self
        self.host, self.port = self._httpd.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fault-server", daemon=True)
        self._thread.start()

    @staticmethod
    def _checked(mode, options):
        mode, options = str(mode), dict(options)
        if mode.isdigit():
            options.setdefault("status", int(mode))
            mode = "status"
        if not hasattr(_Handler, "_mode_" + mode):
            raise ValueError(f"unknown fault mode {mode!r}")
        if mode == "gzip_bomb":
            _bomb(options.get("size", 100 * 1024 * 1024))  # build it now, not inside a request
        return mode, options

    def set_mode(self, mode, paths=None, **options):
        """Switches the behaviour for all following requests, at once for every path (see module
        docstring); paths={path: mode or (mode, {options})} gives some paths their own."""
        default = self._checked(mode, options)
        own = {p: self._checked(*((m, {}) if isinstance(m, (str, int)) else m))
               for p, m in (paths or {}).items()}
        with self._lock:
            (self._mode, self._opts), self._paths = default, own
        return self

    def reset_in_flight(self):
        with self._lock:
            self.max_in_flight = self._in_flight

    @property
    def mode(self):
        return self._mode

    def clear(self):
        with self._lock:
            self.requests = []

    def wait_requests(self, n, timeout=30):
        """Blocks until at least n requests were received in total; returns the list."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"fault server got {len(self.requests)} requests, wanted {n}")
                self._cond.wait(left)
            return list(self.requests)

    def paths(self):
        """['/api/queues?columns=...', ...]: path+query of every request, in order."""
        with self._lock:
            return [r.raw_path for r in self.requests]

    def close(self):
        self._closing.set()          # releases stalled handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":  # self-check: python3 tests/integration/lib/fault_server.py
    import http.client

    def get(fs, path="/api/queues?page=1&page_size=500", timeout=5, headers=None):
        c = http.client.HTTPConnection(fs.host, fs.port, timeout=timeout)
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheader("Content-Encoding"), r.read()

    with FaultServer("good", items=[sample_queue(i) for i in range(1, 1201)]) as fs:
        st, _, body = get(fs, "/api/queues?page=3&page_size=500&columns=name")
        d = json.loads(body)
        assert st == 200 and d["page_count"] == 3 and d["item_count"] == 200, d
        assert get(fs, "/api/queues?page=4&page_size=500")[0] == 400
        assert isinstance(json.loads(get(fs, "/api/queues")[2]), list)
        assert json.loads(get(fs, "/api/queues?page=9&page_size=500")[2])["error"] == "page_out_of_range"
        fs.set_mode("good", items=[sample_queue(1), sample_queue(2, "a/b é")], deleted=["gone"],
                    paths={"/api/queues/x": "500"})
        assert json.loads(get(fs, "/api/vhosts?columns=name")[2]) == [
            {"name": "/"}, {"name": "a/b é"}, {"name": "gone"}]
        st, _, body = get(fs, "/api/queues/a%2Fb%20%C3%A9?columns=name")
        assert st == 200 and [q["name"] for q in json.loads(body)] == ["q2"], body
        assert get(fs, "/api/queues/gone")[0] == 404 and get(fs, "/api/queues/nope")[0] == 404
        assert get(fs, "/api/queues/x")[0] == 500 and fs.requests[-1].mode == "status"
        st, _, body = get(fs, "/metrics/detailed?vhost=a%2Fb%20%C3%A9&family=queue_coarse_metrics")
        assert st == 200 and b'queue_messages{vhost="a/b \xc3\xa9",queue="q2"} 2\n' in body, body
        assert body.endswith(b'rabbitmq_cluster_permanent_id="x"} 1\n\n'), body
        fs.set_mode("truncated")
        st, _, body = get(fs, "/metrics/detailed?vhost=%2F&family=queue_coarse_metrics")
        assert st == 200 and b"rabbitmq_identity_info" not in body and not body.endswith(b"\n")
        fs.set_mode("huge", size=1024 * 1024)
        st, _, body = get(fs, "/metrics/detailed?vhost=%2F")
        assert len(body) > 1000000 and body.endswith(b'"rabbit@x"} 1\n'), body[-100:]
        fs.set_mode("good", items=[])
        d = json.loads(get(fs, "/api/queues?page=1&page_size=500")[2])
        assert d["page_count"] == 0 and d["items"] == [], d
        assert get(fs, "/api/queues?page=2&page_size=500")[0] == 400
        fs.set_mode("huge", size=10 * 1024 * 1024)
        st, _, body = get(fs)
        assert len(body) > 10_000_000 - 1000 and json.loads(body)["items"][-1]["name"] == "last"
        fs.set_mode("huge", size=1024 * 1024, chunked=True)
        assert json.loads(get(fs)[2])["items"][-1]["name"] == "last"
        fs.set_mode("gzip_bomb")
        st, enc, body = get(fs)
        assert enc == "gzip" and len(body) < 200_000 and len(gzip.decompress(body)) == 100 * 1024 * 1024
        for m in ("garbage", "truncated"):
            fs.set_mode(m)
            try:
                json.loads(get(fs)[2])
                raise AssertionError(m)
            except ValueError:
                pass
        fs.set_mode("short_body")
        try:
            get(fs)
            raise AssertionError("short_body")
        except http.client.IncompleteRead:
            pass
        fs.set_mode("401")
        assert get(fs)[0] == 401
        fs.set_mode("500")
        assert get(fs)[0] == 500
        fs.set_mode("wrong_types", variant="strings")
        assert json.loads(get(fs)[2])["items"][0]["messages"] == "12"
        fs.set_mode("stall")
        t = time.monotonic()
        try:
            get(fs, timeout=1)
            raise AssertionError("stall")
        except socket.timeout:
            pass
        assert time.monotonic() - t >= 0.9
        fs.set_mode("close")
        try:
            get(fs)
            raise AssertionError("close")
        except (http.client.RemoteDisconnected, ConnectionResetError):
            pass
        print(len(fs.requests), "requests logged, first:", fs.paths()[0])
    print("fault_server self-check ok")
