"""make install into a DESTDIR: the binary, the systemd unit with its paths pointing at what was
installed, the man page generated from --help (rendered with man -l, found by name through
MANPATH), the docs; make uninstall removes them again.

  1. make install DESTDIR=tmp PREFIX=/usr/local, and again with PREFIX=/usr: every file in place
     with its mode; the installed binary runs; the unit's ExecStart and Documentation name files
     that exist under DESTDIR, and systemd-analyze verify accepts the unit (ExecStart rebased on
     DESTDIR, man:hostmon(8) found through MANPATH).
  2. man -l renders the page without warnings; it has every flag and command --help lists.
  3. make uninstall leaves nothing of it.
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hostmon_test import BIN, ROOT, main

BUILD = os.path.dirname(os.path.abspath(BIN))


def make(*args):
    return subprocess.run(["make", "--no-print-directory", "-C", ROOT, f"BUILD={BUILD}", *args],
                          capture_output=True, text=True, timeout=600)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def installed(t, dest, prefix):
    root = dest + prefix
    binary = f"{root}/bin/hostmon"
    unit = f"{root}/lib/systemd/system/hostmon.service"
    page = f"{root}/share/man/man8/hostmon.8"
    doc = f"{root}/share/doc/hostmon"
    for path, want in ((binary, 0o755), (unit, 0o644), (page, 0o644), (f"{doc}/README.md", 0o644)):
        t.check(os.path.isfile(path) and mode(path) == want,
                f"{prefix}: {path[len(dest):]} installed, mode {oct(want)}")
    docs = sorted(os.listdir(os.path.join(ROOT, "docs")))
    t.check(os.path.isdir(f"{doc}/docs") and sorted(os.listdir(f"{doc}/docs")) == docs,
            f"{prefix}: every page of docs/")
    t.check(os.path.isfile(f"{doc}/deploy/prometheus/hostmon-rules.yml")
            and os.path.isfile(f"{doc}/deploy/kubernetes/daemonset.yaml"), f"{prefix}: deploy/")
    p = subprocess.run([binary, "--version"], capture_output=True, text=True)
    t.check(p.returncode == 0 and p.stdout.startswith("hostmon "), f"{prefix}: the binary runs")

    with open(unit) as f:
        text = f.read()
    exec_start = re.search(r"^ExecStart=(\S+)", text, re.M).group(1)
    t.check(exec_start == f"{prefix}/bin/hostmon" and os.path.isfile(dest + exec_start),
            f"{prefix}: ExecStart {exec_start} is the installed binary")
    docs_ref = re.findall(r"file://(\S+)", re.search(r"^Documentation=(.*)$", text, re.M).group(1))
    t.check(docs_ref and all(os.path.isfile(dest + d) for d in docs_ref),
            f"{prefix}: Documentation= names installed files: {docs_ref}")
    with tempfile.TemporaryDirectory(prefix="hostmon-unit-") as d:
        rebased = os.path.join(d, "hostmon.service")
        with open(rebased, "w") as f:
            f.write(text.replace(f"ExecStart={exec_start} ", f"ExecStart={dest + exec_start} "))
        p = subprocess.run(["systemd-analyze", "verify", rebased], capture_output=True, text=True,
                           env={**os.environ, "MANPATH": f"{root}/share/man"})
        t.check(p.returncode == 0 and "hostmon.service" not in p.stderr,
                f"{prefix}: systemd-analyze verify (man:hostmon(8) found): {p.stdout}{p.stderr}")
    return binary, page


def man_page(t, binary, page):
    env = {**os.environ, "MANWIDTH": "100", "LC_ALL": "C.UTF-8"}
    p = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True, env=env)
    text = re.sub(r".\x08", "", p.stdout)  # overstrike (bold, underline) out
    t.check(p.returncode == 0 and "HOSTMON(8)" in text and "SYNOPSIS" in text,
            f"man -l renders the page: rc {p.returncode}")
    t.check(p.stderr.strip() == "", f"no roff warnings: {p.stderr.strip()[:300]!r}")
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    flags = set(re.findall(r"^  (--[a-z0-9-]+)", help_text, re.M))
    missing = sorted(f for f in flags if f not in text)
    t.check(len(flags) > 30 and not missing, f"every daemon flag of --help is in the page: {missing}")
    commands = re.findall(r"^  (\w+) ", help_text.split("Commands")[1], re.M)
    for c in commands:
        if c == "run":
            continue
        t.check(f"HOSTMON {c.upper()}" in text, f"the page has hostmon {c}")
        sub = subprocess.run([binary, c, "--help"], capture_output=True, text=True).stdout
        own = set(re.findall(r"^  (--[a-z0-9-]+)", sub, re.M))
        t.check(own and all(f in text for f in own), f"hostmon {c}'s flags are in the page")


def run(t):
    dest = tempfile.mkdtemp(prefix="hostmon-destdir-")
    try:
        for prefix in ("/usr/local", "/usr"):
            p = make("install", f"DESTDIR={dest}", f"PREFIX={prefix}")
            t.check(p.returncode == 0, f"make install PREFIX={prefix}: {p.stderr[-500:]}")
            binary, page = installed(t, dest, prefix)
            if prefix == "/usr/local":
                man_page(t, binary, page)
            p = make("uninstall", f"DESTDIR={dest}", f"PREFIX={prefix}")
            left = [os.path.join(r, f) for r, _, fs in os.walk(dest) for f in fs]
            t.check(p.returncode == 0 and not left, f"make uninstall PREFIX={prefix} leaves {left[:5]}")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    main(run, "deploy/test_install")
