#!/bin/sh
# CPU collector costs, each beside its floor (an empty program on the same hook, in the same run) or
# its baseline (the same work without hostmon): scheduler slowdown (alternating without / with),
# programs on sched_switch, cost per task walked and per task released, 2,000 cgroups.
# Usage: bench/cpu.sh BUILD_DIR
set -eu

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log=/tmp/hostmon-bench-cpu.log
dpid=""
cgdir=""
cleanup() {
	[ -z "$dpid" ] || kill "$dpid" 2>/dev/null || true
	[ -z "${floor_pid:-}" ] || kill "$floor_pid" 2>/dev/null || true
	if [ -n "$cgdir" ] && [ -d "$cgdir" ]; then
		find "$cgdir" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
		rmdir "$cgdir" 2>/dev/null || true
	fi
}
trap cleanup EXIT INT TERM

start_daemon() {
	"$build/hostmon" --listen 127.0.0.1:0 --collectors cgroup_cpu "$@" >"$log" 2>&1 &
	dpid=$!
	for _ in $(seq 100); do grep -q 'msg=listening' "$log" && break; sleep 0.1; done
	addr=$(sed -n 's/.*msg=listening address=\([^ ]*\).*/\1/p' "$log")
}
stop_daemon() {
	kill "$dpid"
	wait "$dpid" 2>/dev/null || true
	dpid=""
}
metric() { curl -s "http://$addr/metrics" | awk -v m="$1" 'index($0, m) == 1 {print $2; exit}'; }
pipe_usecs() { perf bench sched pipe -l "${1:-200000}" 2>/dev/null | awk '/usecs\/op/ {print $1}'; }

echo "== perf bench sched pipe, alternating without / with the cgroup_cpu collector (usecs/op, lower is better)"
without=""
with=""
for round in 1 2 3 4 5 6 7 8 9; do
	without="$without $(pipe_usecs)"
	start_daemon
	with="$with $(pipe_usecs)"
	stop_daemon
	echo "round $round: without=$(echo "$without" | awk '{print $NF}') with=$(echo "$with" | awk '{print $NF}')"
done
median() { echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mw=$(median "$without")
mh=$(median "$with")
echo "median without=$mw with=$mh slowdown_pct=$(echo "$mw $mh" | awk '{printf "%.2f", ($2 / $1 - 1) * 100}')"

floor_pid=""
floor_out=/tmp/hostmon-bench-floor.out
start_floor() {
	"$build/bench/hook_floor_bench" "$@" >"$floor_out" 2>&1 &
	floor_pid=$!
	for _ in $(seq 100); do grep -q '^attached' "$floor_out" && break; sleep 0.1; done
}
stop_floor() {
	kill "$floor_pid"
	wait "$floor_pid" 2>/dev/null || true
	floor_pid=""
}
# hostmon's own figure for a program: ns per run from its --bpf-stats metrics
prog_ns() {
	secs=$(metric "hostmon_bpf_program_run_seconds_total{program=\"$1\"}")
	runs=$(metric "hostmon_bpf_program_runs_total{program=\"$1\"}")
	echo "$secs ${runs:-0}" | awk '{printf "runs=%d ns_per_run=%.1f", $2, ($2 > 0 ? $1 * 1e9 / $2 : 0)}'
}
ratio() { echo "$1 $2" | awk '{printf "%.2f", ($2 > 0 ? $1 / $2 : 0)}'; }
ns_of() { echo "$1" | sed -n 's/.*ns_per_run=\([0-9.]*\).*/\1/p'; }

echo "== sched_switch during perf bench sched pipe: an empty program on it (the floor) and hostmon's programs at once"
start_daemon --bpf-stats
start_floor sched
pipe_usecs 200000 >/dev/null
stop_floor
floor_switch=$(grep 'floor_sched_switch' "$floor_out")
echo "floor: $floor_switch"
# every hostmon program with its run count in the same window: none runs once per switch
for prog in cpu_charge_tasks cpu_cgroup_attach cpu_task_free; do
	echo "hostmon $prog $(prog_ns "$prog")"
done
stop_daemon

echo "== per task walked (the collector's walk, once per collect): hostmon's iter/task program and an empty one"
start_daemon --bpf-stats
for _ in $(seq 200); do curl -s -o /dev/null "http://$addr/metrics"; done
walk=$(prog_ns cpu_charge_tasks)
floor_walk=$("$build/bench/hook_floor_bench" walk 200 | grep floor_task_walk)
tasks=$(find /proc/[0-9]*/task -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
collect=$(metric 'hostmon_collector_duration_seconds{collector="cgroup_cpu"}')
echo "hostmon cpu_charge_tasks $walk ratio_to_floor=$(ratio "$(ns_of "$walk")" "$(ns_of "$floor_walk")")"
echo "$floor_walk"
echo "tasks=$tasks collect_ms=$(echo "$collect" | awk '{printf "%.2f", $1 * 1000}')"
stop_daemon

echo "== per task released (fork + exit of /bin/true x 3000): hostmon's sched_process_free program and an empty one at once"
start_daemon --bpf-stats
start_floor sched
before=$(prog_ns cpu_task_free)
i=0
while [ $i -lt 3000 ]; do /bin/true; i=$((i + 1)); done
sleep 0.5
free=$(prog_ns cpu_task_free)
stop_floor
floor_free=$(grep 'floor_task_free' "$floor_out")
echo "hostmon cpu_task_free $free ratio_to_floor=$(ratio "$(ns_of "$free")" "$(ns_of "$floor_free")") (before the loop: $before)"
echo "$floor_free"
stop_daemon

echo "== 2,000 cgroups: collect + render time and daemon RSS"
mnt=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
cgdir="$mnt/hostmon-bench-$$"
mkdir "$cgdir"
i=0
while [ $i -lt 40 ]; do
	mkdir "$cgdir/slice-$i"
	j=0
	while [ $j -lt 49 ]; do
		mkdir "$cgdir/slice-$i/unit-$j"
		j=$((j + 1))
	done
	i=$((i + 1))
done
start_daemon
# every cgroup gets a process that uses a little CPU, so each has a map entry and a series
burners=""
for d in "$cgdir"/slice-*/unit-*; do
	sh -c "echo \$\$ > $d/cgroup.procs; i=0; while [ \$i -lt 200 ]; do i=\$((i+1)); done" &
	burners="$burners $!"
done
for p in $burners; do wait "$p" || true; done
sleep 1.5
curl -s -o /dev/null "http://$addr/metrics"
total=0
n=20
for _ in $(seq $n); do
	t=$(curl -s -o /dev/null -w '%{time_total}' "http://$addr/metrics")
	total=$(echo "$total $t" | awk '{print $1 + $2}')
done
cgroups=$(metric "hostmon_cgroup_cpu_cgroups ")
series=$(curl -s "http://$addr/metrics" | grep -c '^hostmon_cgroup_cpu_seconds_total{')
collect=$(metric 'hostmon_collector_duration_seconds{collector="cgroup_cpu"}')
echo "cgroups_known=$cgroups cpu_series=$series collect_ms=$(echo "$collect" | awk '{printf "%.2f", $1 * 1000}') scrape_ms_avg=$(echo "$total $n" | awk '{printf "%.2f", $1 / $2 * 1000}') rss_kb=$(awk '/^VmRSS/ {print $2}' /proc/$dpid/status)"
stop_daemon
