#!/bin/sh
# CPU collector costs: per-event program cost, scheduler slowdown (alternating with/without), 2,000 cgroups.
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
for round in 1 2 3 4 5; do
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

echo "== per-event program cost from the kernel's stats (--bpf-stats) during perf bench sched pipe"
start_daemon --bpf-stats
pipe_usecs 400000 >/dev/null
for prog in cpu_switch_btf cpu_switch_raw cpu_tick; do
	secs=$(metric "hostmon_bpf_program_run_seconds_total{program=\"$prog\"}")
	runs=$(metric "hostmon_bpf_program_runs_total{program=\"$prog\"}")
	[ -n "$runs" ] || continue
	echo "$prog runs=$runs ns_per_run=$(echo "$secs $runs" | awk '{printf "%.1f", ($2 > 0 ? $1 * 1e9 / $2 : 0)}')"
done
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
