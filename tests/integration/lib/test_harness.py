"""The test layer itself: a test program that makes no check fails, in hostmon_test.main() and in tests/run.sh.

  - hostmon_test.main() around a test function that checks nothing exits 1 and reports
    "0 passed, 1 failed" with a "no checks ran" line; one passing check exits 0; a test that
    only skipped (with its reason) exits 0 and says "0 passed, 0 failed, 1 skipped".
  - tests/run.sh, copied into a scratch tree whose "unit" layer holds stand-in programs (shell
    scripts): no summary line, "0 passed, 0 failed", a non-zero exit after only passed checks and
    a reported failure each count as failed (even with exit 0); a real pass counts as passed; a
    skip is reported with its reason and counted apart; the closing line adds them up and the exit
    code says whether anything failed.
(C unit and BPF tests share tests/unit/test.h; tests/unit/test_harness.c checks its test_summary.)
"""
import os
import shutil
import subprocess
import sys
import tempfile

LIB = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, LIB)
from hostmon_test import ROOT, main

# name -> (what the stand-in prints, its exit code, run.sh's verdict line must start with)
PROGRAMS = {
    "test_silent": ("", 0, "FAIL unit/x/test_silent"),
    "test_zero": ("test_zero: 0 passed, 0 failed", 0, "FAIL unit/x/test_zero"),
    "test_crash": ("test_crash: 2 passed, 0 failed", 3, "FAIL unit/x/test_crash"),
    "test_failed": ("not ok - something\ntest_failed: 1 passed, 1 failed", 0, "FAIL unit/x/test_failed"),
    "test_good": ("test_good: 4 passed, 0 failed", 0, "ok   unit/x/test_good"),
    "test_skip": ("# SKIP no frobnicator here\ntest_skip: 0 passed, 0 failed, 1 skipped", 0, "skip unit/x/test_skip"),
    "test_part": ("# SKIP part two needs a frobnicator\ntest_part: 2 passed, 0 failed, 1 skipped", 0,
                  "ok   unit/x/test_part"),
}
REASONS = {"test_silent": "(no summary line)", "test_zero": "(no checks ran)",
           "test_crash": "(exit 3 without a failed check)"}


def python_main(t, body, want_rc, want_last):
    code = (f"import sys; sys.path.insert(0, {LIB!r}); from hostmon_test import main; "
            f"main(lambda t: {body}, 'child')")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = p.stdout.splitlines()
    t.check(p.returncode == want_rc, f"main(lambda t: {body}): exit {p.returncode}, want {want_rc}")
    t.check(lines and lines[-1] == want_last, f"main(lambda t: {body}): last line {lines[-1:]}, want {want_last!r}")
    return lines


def run_sh(t, scratch, names):
    """Runs the copied run.sh on the stand-ins in names; returns (exit code, output lines)."""
    for name in PROGRAMS:
        for d in ("tests/unit/x", "b/tests/unit/x"):
            path = os.path.join(scratch, d, name if d.startswith("b/") else name + ".c")
            if os.path.exists(path):
                os.unlink(path)
    for name in names:
        out, rc, _ = PROGRAMS[name]
        with open(os.path.join(scratch, "tests/unit/x", name + ".c"), "w"):
            pass  # run.sh finds a layer's programs by their sources
        exe = os.path.join(scratch, "b/tests/unit/x", name)
        with open(exe, "w") as f:
            f.write("#!/bin/sh\ncat <<'EOF'\n" + out + "\nEOF\nexit " + str(rc) + "\n" if out else
                    "#!/bin/sh\necho some output without a summary\nexit 0\n")
        os.chmod(exe, 0o755)
    p = subprocess.run(["sh", os.path.join(scratch, "tests/run.sh"), "b", "unit"], capture_output=True,
                       text=True, timeout=60, cwd=scratch)
    return p.returncode, p.stdout.splitlines()


def run(t):
    lines = python_main(t, "None", 1, "child: 0 passed, 1 failed")
    t.check("not ok - child: no checks ran" in lines, f"main() says why: {lines}")
    python_main(t, "t.check(True, 'x')", 0, "child: 1 passed, 0 failed")
    python_main(t, "t.check(False, 'x')", 1, "child: 0 passed, 1 failed")
    lines = python_main(t, "t.skip('no frobnicator')", 0, "child: 0 passed, 0 failed, 1 skipped")
    t.check("# SKIP no frobnicator" in lines, f"main() prints the skip's reason: {lines}")

    scratch = tempfile.mkdtemp(prefix="hostmon-harness-")
    try:
        os.makedirs(os.path.join(scratch, "tests/unit/x"))
        os.makedirs(os.path.join(scratch, "b/tests/unit/x"))
        shutil.copy(os.path.join(ROOT, "tests/run.sh"), os.path.join(scratch, "tests/run.sh"))

        rc, out = run_sh(t, scratch, list(PROGRAMS))
        for name, (_, _, verdict) in PROGRAMS.items():
            line = next((x for x in out if x.split(" (")[0].rstrip() == verdict.rstrip()), None)
            t.check(line is not None, f"run.sh: {verdict!r} in {out}")
            if line is not None and name in REASONS:
                t.check(line.endswith(REASONS[name]), f"run.sh says why {name} failed: {line!r}")
        # silent, zero and crash count 1 each, failed reports 1; good 4 and the others' passes are added
        want = ["skipped: 2 (reasons above)", "9 passed, 4 failed"]
        t.check(out[-2:] == want, f"run.sh closing lines: {out[-2:]}, want {want!r}")
        t.check(rc == 1, f"run.sh exit {rc} when a program failed, want 1")
        t.check("    # SKIP no frobnicator here" in out and "    # SKIP part two needs a frobnicator" in out,
                f"run.sh shows why each skip happened: {out}")

        for name in ("test_silent", "test_zero"):
            rc, out = run_sh(t, scratch, ["test_good", name])
            t.check(rc == 1 and out[-1:] == ["4 passed, 1 failed"],
                    f"run.sh with test_good and {name}: exit {rc}, {out[-1:]}, want 1 and '4 passed, 1 failed'")
        rc, out = run_sh(t, scratch, ["test_good"])
        t.check(rc == 0 and out[-1:] == ["4 passed, 0 failed"], f"run.sh with test_good only: exit {rc}, {out}")
        rc, out = run_sh(t, scratch, ["test_good", "test_skip"])
        t.check(rc == 0 and out[-2:] == ["skipped: 1 (reasons above)", "4 passed, 0 failed"],
                f"run.sh with test_good and test_skip: exit {rc}, {out}")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main(run, "lib/test_harness")
