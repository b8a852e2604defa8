"""Per-event cost of the nodejs_eventloop collector's sched_switch program beside an empty
tp_btf sched_switch program attached at the same time (so both run on the very same context
switches), in three cases:

    /usr/bin/python3 bench/nodejs_eventloop.py [BUILD_DIR] [SECONDS]

  loop busy   a node server (tests/fixtures/node/server.js) in a throw-away cgroup2 directory is a
              measured loop; wrk drives /fast for SECONDS with 8 keep-alive connections: most
              switches are the loop thread's own (task storage read, a turn recorded at each sleep)
  others      the same server marked but idle; `perf bench sched pipe` (two processes passing a
              byte back and forth, 100,000 round trips): the switches of tasks that are no loop,
              what every other task pays on a host where node runs (two pid-bitmap tests)
  none marked the pipe load with hostmon told a node name no process has (--http-targets nodex):
              every switch leaves at the program's first check
  exec        2,000 runs of /bin/true from a shell: eventloop_exec (the name compare at every exec
              of the host) beside an empty tp_btf sched_process_exec program

hostmon runs with --collectors nodejs_eventloop --bpf-stats (its hostmon_bpf_program_* series give
the window's delta), build/bench/hook_floor_bench sched is the floor (its exit line). The ratio to
the empty program on the same events is the cost over the hook's own; timings only mean something
beside that floor in the same run (the floor moves from day to day on this VM).
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from cgroup_test import Env, cgroup2_mount, scrape  # noqa: E402
import hostmon_test  # noqa: E402
from hostmon_test import Daemon, parse_samples  # noqa: E402
from node_env import NodeServer, wrk  # noqa: E402

PROGRAM = "eventloop_switch"
FLOOR = "floor_sched_switch"
EXEC_PROGRAM = "eventloop_exec"
EXEC_FLOOR = "floor_exec"


def program_stats(d, program=PROGRAM):
    """(run seconds, runs) of one of hostmon's programs from its page."""
    s = parse_samples(scrape(d))
    return (s.get(f'hostmon_bpf_program_run_seconds_total{{program="{program}"}}', 0.0),
            s.get(f'hostmon_bpf_program_runs_total{{program="{program}"}}', 0.0))


def floor_start(build):
    p = subprocess.Popen([os.path.join(ROOT, build, "bench", "hook_floor_bench"), "sched"],
                         stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "attached sched":
        raise RuntimeError("hook_floor_bench sched did not attach")
    return p


def floor_stop(p, program=FLOOR):
    p.terminate()
    out, _ = p.communicate(timeout=30)
    m = re.search(rf"floor {program} runs=(\d+) ns_per_run=([\d.]+)", out)
    return (float(m.group(1)), float(m.group(2))) if m else (0.0, float("nan"))


def exec_load():
    subprocess.run(["sh", "-c", "i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done"], check=True)
    return "2000 runs of /bin/true"


def pipe_load():
    subprocess.run(["perf", "bench", "sched", "pipe", "-l", "100000"], check=True, capture_output=True)
    return "perf bench sched pipe, 100000 round trips"


def one_case(build, targets, load, program=PROGRAM, floor_program=FLOOR):
    """Runs load with hostmon and the floor attached; hostmon's and the floor's ns per run of the
    program pair, with the loops and turns the page shows after it."""
    d = Daemon("--collectors", "nodejs_eventloop", "--bpf-stats", "--http-targets", targets)
    floor = floor_start(build)
    try:
        before = program_stats(d, program)
        what = load()
        after = program_stats(d, program)
        page = parse_samples(scrape(d))
    finally:
        fruns, fns = floor_stop(floor, floor_program)
        d.stop()
        d.close()
    loops = sum(v for k, v in page.items() if k.startswith("hostmon_nodejs_eventloop_loops{"))
    turns = sum(v for k, v in page.items() if k.startswith("hostmon_nodejs_eventloop_turn_duration_seconds_count{"))
    runs = after[1] - before[1]
    ns = (after[0] - before[0]) * 1e9 / runs if runs else float("nan")
    return what, loops, turns, runs, ns, fruns, fns


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    hostmon_test.BIN = os.environ.get("HOSTMON_BIN") or os.path.join(ROOT, build, "hostmon")
    env = Env("hostmon-bench-eventloop", cgroup2_mount())
    env.mkdir("")
    cg = env.mkdir("node")
    try:
        with NodeServer(cgroup=env.path(cg)) as srv:
            def wrk_load():
                r = wrk(srv.url("/fast"), seconds, 8)
                return f"wrk on node /fast {seconds} s, {r['requests']} requests"
            print(f"== {PROGRAM} beside {FLOOR}, kernel {os.uname().release}")
            print("| case | load | loops marked | turns | runs | ns per run | floor runs | floor ns per run | ratio |")
            print("|---|---|---|---|---|---|---|---|---|")
            cases = (("loop busy", "node,nodejs", wrk_load, PROGRAM, FLOOR),
                     ("others", "node,nodejs", pipe_load, PROGRAM, FLOOR),
                     ("none marked", "nodex", pipe_load, PROGRAM, FLOOR),
                     (f"exec ({EXEC_PROGRAM} beside {EXEC_FLOOR})", "node,nodejs", exec_load, EXEC_PROGRAM, EXEC_FLOOR))
            for case, targets, load, program, floor_program in cases:
                what, loops, turns, runs, ns, fruns, fns = one_case(build, targets, load, program, floor_program)
                print(f"| {case} | {what} | {loops:.0f} | {turns:.0f} | {runs:.0f} | {ns:.1f} | {fruns:.0f} | {fns:.1f} "
                      f"| {ns / fns if fns else float('nan'):.2f} |")
    finally:
        env.cleanup()


if __name__ == "__main__":
    main()
