"""A pair of network namespaces joined by a veth link, for tests that need real TCP trouble (drops,
refused connects) without touching the host's own network: namespace a (10.X.Y.1) and b
(10.X.Y.2), drops of what a sends, processes started inside either, in a cgroup.

Drops are iptables rules (its statistic match) in b's INPUT chain rather than tc netem: this
machine's kernel has no sch_netem, and a packet dropped where it arrives is lost as on a lossy
link (a drop in a's own OUTPUT chain would fail a's transmit with a local error instead)."""
import os
import subprocess
import sys

from cgroup_test import enter_cgroup


# A server for python3 -c: listens on argv[1] (port 0), prints its port, reads every connection to
# its end.
SINK = r"""
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0))
s.listen(512)
print(s.getsockname()[1], flush=True)
def drain(c):
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
"""


class NoVeth(Exception):
    """The kernel makes no veth pair (no veth driver: a guest kernel without its modules)."""


def run(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)


class NetnsPair:
    def __init__(self, tag):
        n = os.getpid() % 250 + 1
        self.a, self.b = f"hm-{tag}-a-{os.getpid()}", f"hm-{tag}-b-{os.getpid()}"
        self.veth_a, self.veth_b = f"hma{os.getpid()}"[:15], f"hmb{os.getpid()}"[:15]
        self.addr_a, self.addr_b = f"10.213.{n}.1", f"10.213.{n}.2"
        self.procs = []
        self.made = []
        try:
            for ns in (self.a, self.b):
                run("ip", "netns", "add", ns)
                self.made.append(ns)
            p = run("ip", "link", "add", self.veth_a, "netns", self.a, "type", "veth", "peer", "name",
                    self.veth_b, "netns", self.b, check=False)
            if p.returncode != 0:
                raise NoVeth(f"ip link add ... type veth failed: {p.stderr.strip()}")
            for ns, dev, addr in ((self.a, self.veth_a, self.addr_a), (self.b, self.veth_b, self.addr_b)):
                run("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
                run("ip", "-n", ns, "link", "set", dev, "up")
                run("ip", "-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def drop(self, *match):
        """Drops what a sends that matches (iptables match arguments) where it arrives in b, as a
        lossy link would: a's stack sent it and learns of the loss only by its timers and the
        acknowledgements, never by a local error. No arguments: drop nothing again."""
        run("ip", "netns", "exec", self.b, "iptables", "-F", "INPUT")
        if match:
            run("ip", "netns", "exec", self.b, "iptables", "-A", "INPUT", "-i", self.veth_b, *match, "-j", "DROP")

    def drop_random(self, probability):
        self.drop("-m", "statistic", "--mode", "random", "--probability", str(probability))

    def drop_every_other_syn(self):
        """Every other SYN a sends: connects made one after the other each lose their first SYN."""
        self.drop("-p", "tcp", "--syn", "-m", "statistic", "--mode", "nth", "--every", "2", "--packet", "0")

    def spawn(self, ns, cgdir, code, *args):
        """python3 -c code inside namespace ns, its whole life in cgroup directory cgdir."""
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code, *args],
                             preexec_fn=enter_cgroup(cgdir), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, close_fds=True, text=True)
        self.procs.append(p)
        return p

    def snmp_tcp(self, ns):
        """The Tcp: line of /proc/net/snmp inside namespace ns, as a dict."""
        lines = [line.split() for line in run("ip", "netns", "exec", ns, "cat", "/proc/net/snmp").stdout.splitlines()
                 if line.startswith("Tcp:")]
        return dict(zip(lines[0][1:], map(int, lines[1][1:])))

    def netstat_ext(self, ns):
        """The TcpExt: line of /proc/net/netstat inside namespace ns, as a dict."""
        lines = [line.split() for line in run("ip", "netns", "exec", ns, "cat", "/proc/net/netstat").stdout.splitlines()
                 if line.startswith("TcpExt:")]
        return dict(zip(lines[0][1:], map(int, lines[1][1:])))

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for ns in self.made:
            run("ip", "netns", "del", ns, check=False)
        self.made = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
