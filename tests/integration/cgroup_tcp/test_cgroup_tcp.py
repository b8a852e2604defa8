"""The cgroup_tcp collector against real TCP trouble between two network namespaces made for the
test (a veth pair, drops of what the client sends; never the host's own network).

The client runs in namespace a and in cgroup base/client, the server (a sink that reads until EOF)
in namespace b and in base/server. Checked, each against the kernel or the provoked cause:
  refused: 5 connects to a closed port of b fail; hostmon counts 5 failed connects and 5 resets
    received for the client cgroup (and its parent), none for the server.
  reset: 3 connections closed with SO_LINGER 0 send 3 resets from the client and the server
    receives 3.
  latency: 10 connects over the clean link land at or below 0.1 s in
    hostmon_cgroup_tcp_connect_duration_seconds{remote_port=<the server's port>} of the client
    cgroup; then 10 connects made while every other SYN is dropped, so each loses its first SYN and
    waits out the kernel's 1 s initial retransmission timeout: as many land in (1, 2.5] as the
    namespace's TcpExt TCPSynRetrans says SYNs were sent again (at least 8), the sum agrees;
    the server cgroup has no histogram. (This kernel has no netem to add a fixed delay.)
  retransmits: with 10% of what a sends dropped, the client sends 4 MiB; hostmon's retransmits for the client
    cgroup equal RetransSegs of namespace a's /proc/net/snmp (only the client has sockets there)
    and are > 0.
  A cgroup removed after its connects loses its connect histogram (the kernel entries deleted
    after the rescan); the others keep theirs. The page passes promtool check metrics.
Everything made here (namespaces and their link, processes, cgroups) is removed in finally blocks.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cgroup_test import Env, cgroup2_mount, info, scrape, stop_daemon, wait_until
from hostmon_test import Daemon, daemon_map_ids, key_cgroup_ids, main, map_dump, promtool_check
from netns_env import NetnsPair, SINK, NoVeth
from saturation_env import labelled, value

RETRANS = "hostmon_cgroup_tcp_retransmits_total"
RESETS = "hostmon_cgroup_tcp_resets_total"
FAILS = "hostmon_cgroup_tcp_connect_failures_total"
HIST = "hostmon_cgroup_tcp_connect_duration_seconds"

CLIENT = r"""
import socket, struct, sys
mode, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
done = 0
if mode == "refused":
    for _ in range(n):
        try:
            socket.create_connection((host, port), timeout=10).close()
        except ConnectionRefusedError:
            done += 1
elif mode == "connect":
    for _ in range(n):
        socket.create_connection((host, port), timeout=10).close()
        done += 1
elif mode == "reset":
    for _ in range(n):
        c = socket.create_connection((host, port), timeout=10)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        done += 1
elif mode == "send":
    c = socket.create_connection((host, port), timeout=60)
    c.sendall(b"x" * n)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()
    done = n
print(done, flush=True)
"""


def client(t, net, cgdir, *args):
    p = net.spawn(net.a, cgdir, CLIENT, *map(str, args))
    out, err = p.communicate(timeout=120)
    t.check(p.returncode == 0, f"client {args[0]} ran: {err.strip()}")
    return int(out.strip() or 0)


def bucket_counts(page, cg, port):
    """{le: cumulative count} of the client's connect histogram for port."""
    out = {}
    for lab, v in labelled(page, HIST + "_bucket"):
        if lab.get("cgroup") == cg and lab.get("remote_port") == str(port):
            out[lab["le"]] = v
    return out


def run(t):
    env = Env("hostmon-tcp", cgroup2_mount())
    try:
        veth_test(t, env)
    except NoVeth as e:
        t.skip(f"TCP trouble between two namespaces: {e}")
    finally:
        left = env.cleanup()
        t.check(not left, f"cgroups removed ({left})")


def veth_test(t, env):
    d = None
    try:
        base = env.mkdir("")
        cl, sv = env.mkdir("client"), env.mkdir("server")
        with NetnsPair("tcp") as net:
            d = Daemon("--collectors", "cgroup_tcp", "--cgroup-refresh-interval", "200ms",
                       "--cpu-include", "^/hostmon-tcp-")
            server = net.spawn(net.b, env.path(sv), SINK, net.addr_b)
            port = int(server.stdout.readline())
            closed = port + 1 if port < 65535 else port - 1

            # refused connects: SYN answered by RST
            t.check(client(t, net, env.path(cl), "refused", net.addr_b, closed, 5) == 5, "5 connects refused")
            wait_until(lambda: value(scrape(d), FAILS, cl) == 5, 10)
            page = scrape(d)
            t.check(value(page, FAILS, cl) == 5, f"5 failed connects ({value(page, FAILS, cl)})")
            t.check(value(page, FAILS, base) == 5, f"and in the parent ({value(page, FAILS, base)})")
            t.check(value(page, RESETS, cl, direction="received") == 5,
                    f"5 resets received ({value(page, RESETS, cl, direction='received')})")
            t.check(value(page, FAILS, sv) in (None, 0), "no failed connects for the server")

            # resets sent: SO_LINGER 0
            t.check(client(t, net, env.path(cl), "reset", net.addr_b, port, 3) == 3, "3 connections reset")
            wait_until(lambda: value(scrape(d), RESETS, sv, direction="received") == 3, 10)
            page = scrape(d)
            t.check(value(page, RESETS, cl, direction="sent") == 3,
                    f"3 resets sent by the client ({value(page, RESETS, cl, direction='sent')})")
            t.check(value(page, RESETS, sv, direction="received") == 3,
                    f"3 resets received by the server ({value(page, RESETS, sv, direction='received')})")

            # connect latency: a clean link, then each connect's first SYN lost
            before = bucket_counts(scrape(d), cl, port)
            t.check(client(t, net, env.path(cl), "connect", net.addr_b, port, 10) == 10, "10 connects")
            page = scrape(d)
            mid = bucket_counts(page, cl, port)
            inc = {le: mid.get(le, 0) - before.get(le, 0) for le in mid}
            info(f"connect histogram increase, clean link: {inc}")
            t.check(inc.get("0.1") == 10 and inc.get("+Inf") == 10, f"10 connects at or below 0.1 s ({inc})")
            sum0 = value(page, HIST + "_sum", cl, remote_port=str(port))
            syn0 = net.netstat_ext(net.a)["TCPSynRetrans"]
            net.drop_every_other_syn()
            t.check(client(t, net, env.path(cl), "connect", net.addr_b, port, 10) == 10,
                    "10 connects, their first SYN dropped")
            net.drop()
            lost = net.netstat_ext(net.a)["TCPSynRetrans"] - syn0
            page = scrape(d)
            after = bucket_counts(page, cl, port)
            inc = {le: after.get(le, 0) - mid.get(le, 0) for le in after}
            info(f"connect histogram increase, first SYN dropped ({lost} SYNs retransmitted): {inc}")
            # the kernel's own count of SYNs it had to send again: each such connect waited 1 s
            t.check(lost >= 8, f"most connects lost their first SYN (TCPSynRetrans +{lost})")
            slow = inc.get("2.5", 0) - inc.get("1", 0)
            t.check(slow == lost and inc.get("+Inf") == 10 and inc.get("2.5") == 10,
                    f"as many connects in (1, 2.5] as SYNs retransmitted ({slow} vs {lost}; {inc})")
            s = value(page, HIST + "_sum", cl, remote_port=str(port)) - sum0
            t.check(lost * 1.0 <= s <= lost * 2.5 + (10 - lost) * 0.1, f"sum of the 10 connect times {s}")
            t.check(not [lab for lab, _ in labelled(page, HIST + "_count") if lab.get("cgroup") == sv],
                    "no connect histogram for the server (it connects to nobody)")

            # retransmits: 10% of what a sends is dropped
            snmp0, ext0 = net.snmp_tcp(net.a), net.netstat_ext(net.a)
            h0 = value(scrape(d), RETRANS, cl) or 0
            net.drop_random(0.1)
            for _ in range(3):  # a random drop may spare a whole transfer: send again until it did not
                t.check(client(t, net, env.path(cl), "send", net.addr_b, port, 4 << 20) == 4 << 20, "4 MiB sent")
                if net.snmp_tcp(net.a)["RetransSegs"] > snmp0["RetransSegs"]:
                    break
            net.drop()
            snmp1, ext1 = net.snmp_tcp(net.a), net.netstat_ext(net.a)
            # RetransSegs counts attempts that failed locally too (TCPRetransFail): what went out is
            # the difference, what hostmon counts
            fails = ext1.get("TCPRetransFail", 0) - ext0.get("TCPRetransFail", 0)
            kernel = snmp1["RetransSegs"] - snmp0["RetransSegs"] - fails
            got = wait_until(lambda: (value(scrape(d), RETRANS, cl) or 0) - h0 == kernel, 10)
            h1 = value(scrape(d), RETRANS, cl) or 0
            info(f"retransmits: namespace RetransSegs +{kernel} (TCPRetransFail +{fails}), hostmon +{h1 - h0}")
            t.check(kernel > 0, "the lossy link made the kernel retransmit")
            t.check(got, f"hostmon's retransmits +{h1 - h0} == RetransSegs - TCPRetransFail +{kernel}")
            # a removed cgroup's connect histograms go with it (its kernel entries deleted)
            gone = env.mkdir("gone")
            t.check(client(t, net, env.path(gone), "connect", net.addr_b, port, 2) == 2, "2 connects from a cgroup")
            has_hist = lambda: bool(bucket_counts(scrape(d), gone, port))  # noqa: E731
            t.check(wait_until(has_hist, 10), "its connect histogram is exported")
            gone_id = os.stat(env.path(gone)).st_ino
            connects = daemon_map_ids(d.proc.pid, "tcp_connects")
            in_kernel = lambda: gone_id in key_cgroup_ids(map_dump(connects[0]))  # noqa: E731
            t.check(connects and in_kernel(), "its connect histogram is in the kernel's tcp_connects")
            t.check(Env.rmdir(env.path(gone)), "the cgroup is removed")
            # with nobody scraping, the periodic rescan alone deletes its entries
            t.check(connects and wait_until(lambda: not in_kernel(), 10),
                    "its tcp_connects entries are deleted by the rescan, with no scrape")
            t.check(wait_until(lambda: not has_hist(), 10), "and its connect histogram goes with it")
            t.check(value(scrape(d), FAILS, cl) == 5, "the other cgroups' series stay")
            ok, out = promtool_check(scrape(d).encode())
            t.check(ok, f"promtool check metrics: {out}")
    finally:
        if d:
            stop_daemon(t, d)


if __name__ == "__main__":
    main(run, "cgroup_tcp/test_cgroup_tcp")
