"""The real daemon: CLI contract, endpoints, exposition formats, negotiation, clean shutdown."""
import gzip
import os
import sys
import subprocess

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hostmon_test import BIN, Daemon, main, parse_samples, promtool_check, read_response, request

PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def cli(t):
    p = subprocess.run([BIN, "--version"], capture_output=True, text=True)
    t.check(p.returncode == 0 and p.stdout.startswith("hostmon "), f"--version: {p!r}")
    p = subprocess.run([BIN, "--help"], capture_output=True, text=True)
    t.check(p.returncode == 0 and "--listen" in p.stdout and "HOSTMON_LISTEN" in p.stdout, "--help lists flags and env")
    t.check(all(f"  {c} " in p.stdout for c in ("cgroup_cpu", "http_latency", "rabbitmq")), "--help lists the collectors")
    for args, env, fragment in [
        (["--bogus"], {}, "unknown flag --bogus"),
        (["--listen", "nope"], {}, "--listen"),
        (["--log-format", "xml"], {}, "logfmt or json"),
        ([], {"HOSTMON_LOG_LEVEL": "chatty"}, "HOSTMON_LOG_LEVEL"),
        (["--collectors", "nonexistent"], {}, "unknown collector"),
    ]:
        p = subprocess.run([BIN, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=20)
        lines = p.stderr.strip().splitlines()
        t.check(p.returncode == 2, f"{args} {env}: exit {p.returncode}, want 2")
        t.check(len(lines) == 1 and fragment in lines[0], f"{args} {env}: one clear line, got {p.stderr!r}")


def endpoints(t, d):
    status, headers, body = request(d, "/healthz")
    t.check(status == 200 and body == b"ok\n", f"/healthz {status} {body!r}")
    status, _, body = request(d, "/readyz")
    t.check(status == 200 and b"ready" in body, f"/readyz {status} {body!r}")
    status, headers, body = request(d, "/")
    t.check(status == 200 and b'href="/metrics"' in body and "text/html" in headers["content-type"], "/ page")
    status, _, _ = request(d, "/nope")
    t.check(status == 404, f"unknown path: {status}")
    status, _, _ = request(d, "/metrics?x=1")
    t.check(status == 200, f"query string ignored: {status}")
    status, headers, _ = request(d, "/metrics", method="POST")
    t.check(status == 405 and headers.get("allow") == "GET, HEAD", f"POST: {status} {headers}")
    status, headers, _ = request(d, "/metrics", method="DELETE")
    t.check(status == 405, f"DELETE: {status}")
    # HEAD: same headers, no body
    s = d.connect()
    s.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, body = read_response(s, head_only=True)
    t.check(status == 200 and int(headers["content-length"]) > 0 and body == b"", "HEAD has length, no body")
    status, _, body = read_response(s)
    t.check(status == 200 and body == b"ok\n", "the response after HEAD is intact")
    s.close()
    # the page is kept in gzip: HEAD without gzip gives the text's length, not the gzip's
    head_len = int(headers["content-length"])
    _, _, text = request(d, "/metrics")
    _, _, packed = request(d, "/metrics", headers={"Accept-Encoding": "gzip"})
    t.check(abs(head_len - len(text)) <= len(text) // 10 < abs(head_len - len(packed)),
            f"HEAD's Content-Length is the text's: {head_len}, text {len(text)}, gzip {len(packed)}")


def exposition(t, d):
    status, headers, body = request(d, "/metrics")
    text = body.decode()
    t.check(status == 200, f"/metrics {status}")
    t.check(headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8", headers["content-type"])
    ok, out = promtool_check(body)
    t.check(ok, f"promtool check metrics: {out}")
    samples = parse_samples(text)
    for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                 "process_open_fds", "process_max_fds", "process_start_time_seconds",
                 "hostmon_web_requests_total", "hostmon_bpf_stats_enabled"]:
        t.check(name in samples, f"{name} present")
    build = [k for k in samples if k.startswith("hostmon_build_info{")]
    t.check(len(build) == 1 and 'version="' in build[0] and 'libbpf="1.' in build[0]
            and f'kernel="{os.uname().release}"' in build[0], f"build info: {build}")
    t.check(samples.get("process_resident_memory_bytes", 0) > 0, "rss > 0")
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            name = line.split()[2]
            t.check(f"# HELP {name} " in text, f"HELP for {name}")

    # OpenMetrics when Prometheus asks for it
    status, headers, body = request(d, "/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
    t.check(headers["content-type"].startswith("application/openmetrics-text; version=1.0.0"), headers["content-type"])
    t.check(body.endswith(b"# EOF\n"), "OpenMetrics ends with # EOF")
    t.check(b"# TYPE process_cpu_seconds counter" in body and b"\nprocess_cpu_seconds_total " in body,
            "OpenMetrics counter family without _total")
    try:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
        fams = list(text_string_to_metric_families(body.decode()))
        t.check(len(fams) > 5, "OpenMetrics parses with prometheus_client")
    except ImportError:
        t.check(False, "python3-prometheus-client is missing (make deps installs it)")

    # plain text when text/plain is preferred
    status, headers, body = request(d, "/metrics", headers={"Accept": "text/plain;version=0.0.4,application/openmetrics-text;q=0.5"})
    t.check(headers["content-type"].startswith("text/plain"), "text/plain preferred")

    # gzip
    status, headers, body = request(d, "/metrics", headers={"Accept-Encoding": "gzip, deflate"})
    t.check(headers.get("content-encoding") == "gzip", f"gzip header: {headers}")
    plain = gzip.decompress(body)
    ok, out = promtool_check(plain)
    t.check(ok, f"gzip body passes promtool: {out}")
    status, headers, body = request(d, "/metrics", headers={"Accept-Encoding": "gzip;q=0, identity"})
    t.check("content-encoding" not in headers, "gzip;q=0 refuses gzip")
    status, headers, body = request(d, "/metrics", headers={"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"})
    t.check(gzip.decompress(body).endswith(b"# EOF\n"), "gzip + OpenMetrics")


def keepalive(t, d):
    s = d.connect()
    for i in range(20):
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, body = read_response(s)
        if not t.check(status == 200 and "connection" not in headers, f"keep-alive request {i}: {status} {headers}"):
            break
    # HTTP/1.0 closes by default
    s.close()
    s = d.connect()
    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    status, headers, body = read_response(s)
    t.check(status == 200 and headers.get("connection") == "close", "HTTP/1.0 closes")
    t.check(s.recv(10) == b"", "connection closed after HTTP/1.0 response")
    s.close()


def shutdown(t):
    for sig_name in ["SIGTERM", "SIGINT"]:
        import signal
        d = Daemon()
        try:
            request(d, "/metrics")
            rc, secs = d.stop(getattr(signal, sig_name))
            t.check(rc == 0, f"{sig_name}: exit {rc}\n{d.logs()}")
            if not os.environ.get("HOSTMON_WRAPPER"):  # valgrind's exit-time leak check takes longer
                t.check(secs < 2.0, f"{sig_name}: exited in {secs:.2f}s (must be < 2 s)")
            t.check("msg=stopped" in d.logs(), "logs its stop")
        finally:
            d.close()


def structured_logs(t):
    d = Daemon("--log-format", "json")
    try:
        import json
        # lines from a wrapper tool (valgrind: "==pid==", "--pid--") are not hostmon's
        lines = [line for line in d.logs().splitlines() if line.strip() and not line.startswith(("==", "--"))]
        parsed = [json.loads(line) for line in lines]
        t.check(all("time" in p and "level" in p and "msg" in p for p in parsed), "json log lines")
        t.check(any(p["msg"] == "listening" and p.get("address") for p in parsed), "json listening line")
    finally:
        d.stop()
        d.close()


def run(t):
    cli(t)
    d = Daemon()
    try:
        endpoints(t, d)
        exposition(t, d)
        keepalive(t, d)
        t.check(d.alive(), "daemon alive")
    finally:
        rc, _ = d.stop()
        t.check(rc == 0, f"exit code {rc}")
        if rc != 0:
            print(d.logs())
        d.close()
    shutdown(t)
    structured_logs(t)


if __name__ == "__main__":
    main(run, "core/test_daemon")
