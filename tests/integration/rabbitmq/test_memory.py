"""The rabbitmq collector's memory follows the queue cap and the name limit, not the response.

Run: /usr/bin/python3 tests/integration/rabbitmq/test_memory.py
A fake broker (fault_server's "many" mode) streams (a) 2,000,000 tiny queues in one 64 MB
response and (b) a 60 MB response of long names; the daemon's peak RSS (VmHWM) must stay within
64 MB, only the first --rabbitmq-max-queues (the default, 100,000) are exported, the rest and the
names over 255 bytes are counted by reason, and the next good poll is exact.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from fault_server import FaultServer, sample_queue
from hostmon_test import Daemon, asan_options_for_rss, main, parse_samples, request

CAP = 100_000            # the default --rabbitmq-max-queues
PEAK_KB = 64 * 1024
TINY = [(2_000_000, 8)]  # {"name":"q1234567","vhost":"/"}, 32 bytes each: 64 MB
# 60 MB of names over the limit, some at it, a few short ones, and one of 1 MiB
LONG = [(3000, 8), (2000, 255), (6000, 10_000), (1, 1 << 20)]
GOOD = [sample_queue(1), sample_queue(2, vhost="a/b"), sample_queue(3)]


def status_of(d, key):
    """/proc/PID/status field in kB."""
    with open(f"/proc/{d.proc.pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak(d):
    """Starts VmHWM again from the current RSS (proc(5): clear_refs 5)."""
    with open(f"/proc/{d.proc.pid}/clear_refs", "w") as f:
        f.write("5")


def rabbitmq_status(d):
    status, _, body = request(d, "/status.json")
    return json.loads(body)["rabbitmq"] if status == 200 else {}


def wait_poll(d, queues, after, timeout=60):
    """Waits for a successful poll that ended after `after` (Unix time) with `queues` passing the
    filters (cheap: /status.json, not the page). Returns its status object, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = rabbitmq_status(d)
        if r.get("up") and r.get("queues") == queues and (r.get("last_success_at") or 0) > after:
            return r
        time.sleep(0.2)
    return None


def exported(d):
    """(per-queue info series, {(name, labels): value} of the collector's own samples)."""
    status, _, body = request(d, "/metrics", timeout=60)
    text = body.decode()
    info = sum(1 for line in text.splitlines() if line.startswith("rabbitmq_individual_queue_info{"))
    own = parse_samples("\n".join(l for l in text.splitlines() if l.startswith("hostmon_rabbitmq_")))
    return status, info, own


def dropped(own, reason):
    for key, v in own.items():
        if key.startswith("hostmon_rabbitmq_queues_dropped{") and f'reason="{reason}"' in key:
            return v
    return None


def good_poll(t, fs, d, what):
    fs.set_mode("good", items=GOOD)
    t0 = time.time()
    ok = wait_poll(d, len(GOOD), t0) is not None
    status, info, own = exported(d)
    t.check(ok and status == 200 and info == len(GOOD),
            f"{what}: the next good poll exports exactly its {len(GOOD)} queues ({info})")
    t.check(dropped(own, "max_queues") == 0 and dropped(own, "name_too_long") == 0,
            f"{what}: nothing dropped in the good poll: {dropped(own, 'max_queues')}, "
            f"{dropped(own, 'name_too_long')}")
    return status_of(d, "VmRSS")


def run(t):
    with FaultServer("good", items=GOOD) as fs:
        # counts and details every poll, so both lists and the snapshot they join are in memory;
        # a poll of 64 MB takes about a second, so a scrape right after one does not meet the next
        d = Daemon("--collectors", "rabbitmq", "--rabbitmq-url", fs.url, "--rabbitmq-interval", "5s",
                   "--rabbitmq-timeout", "4s", "--rabbitmq-detail-interval", "5s",
                   env={"HOSTMON_RABBITMQ_PASSWORD": "guest", "ASAN_OPTIONS": asan_options_for_rss()})
        try:
            t.check(wait_poll(d, len(GOOD), 0) is not None, "a good poll first")
            base = status_of(d, "VmHWM")

            fs.set_mode("many", groups=TINY)
            t0 = time.time()
            r = wait_poll(d, sum(n for n, _ in TINY), t0)
            hwm_a = status_of(d, "VmHWM")
            t.check(r is not None, f"2,000,000 tiny queues in one response: the poll succeeds ({r})")
            # a second poll of the same, so what one poll leaves behind meets the next
            r = r and wait_poll(d, sum(n for n, _ in TINY), time.time())
            polls_a = status_of(d, "VmHWM")
            status, info, own = exported(d)
            hwm_a = status_of(d, "VmHWM")
            t.check(status == 200 and info == CAP, f"2M queues: the cap is exported: {info} series")
            t.check(dropped(own, "max_queues") == 2_000_000 - CAP,
                    f"2M queues: dropped{{reason=max_queues}} is the rest: {dropped(own, 'max_queues')}")
            matching = own.get('hostmon_rabbitmq_queues{host="127.0.0.1"}')
            t.check(matching == 2_000_000, f"2M queues: hostmon_rabbitmq_queues counts them all: {matching}")
            t.check(hwm_a <= PEAK_KB, f"2M queues (64 MB): peak RSS {hwm_a / 1024:.1f} MB <= 64 MB")
            rss_a = good_poll(t, fs, d, "after 2M queues")

            reset_peak(d)
            fs.set_mode("many", groups=LONG)
            kept = sum(n for n, b in LONG if b <= 255)
            t0 = time.time()
            r = wait_poll(d, kept, t0)
            polls_b = status_of(d, "VmHWM")
            t.check(r is not None, f"60 MB of long names: the poll succeeds with the {kept} queues "
                                   f"whose names fit ({rabbitmq_status(d)})")
            status, info, own = exported(d)
            hwm_b = status_of(d, "VmHWM")
            too_long = sum(n for n, b in LONG if b > 255)
            t.check(status == 200 and info == kept, f"long names: {kept} exported: {info}")
            t.check(dropped(own, "name_too_long") == too_long,
                    f"long names: dropped{{reason=name_too_long}} {dropped(own, 'name_too_long')}, "
                    f"want {too_long} (the 1 MiB name among them)")
            t.check(hwm_b <= PEAK_KB, f"60 MB of long names: peak RSS {hwm_b / 1024:.1f} MB <= 64 MB")
            lines = [l for l in d.logs().splitlines() if "rabbitmq queues dropped" in l]
            t.check(any("name_too_long" in l and "over 255 bytes" in l for l in lines),
                    f"one log line says names over 255 bytes were dropped: {lines}")
            t.check("JSON is not a queue listing" not in d.logs(),
                    "a 1 MiB queue name is not reported as a wrong listing")
            rss_b = good_poll(t, fs, d, "after long names")
            print(f"# peak RSS (VmHWM): {base / 1024:.1f} MB before; 2M queues {polls_a / 1024:.1f} MB "
                  f"over two polls, {hwm_a / 1024:.1f} MB with a scrape of them; 60 MB of long names "
                  f"{polls_b / 1024:.1f} MB, {hwm_b / 1024:.1f} MB with a scrape; RSS after the next "
                  f"good poll {rss_a / 1024:.1f} MB and {rss_b / 1024:.1f} MB")
            t.check(d.alive(), "daemon alive")
        finally:
            rc, _ = d.stop()
            t.check(rc == 0, f"daemon exit code {rc}")
            d.close()


if __name__ == "__main__":
    main(run, "rabbitmq/test_memory")
