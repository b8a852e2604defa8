#!/bin/sh
# Runs every benchmark, each beside its baseline in the same run; results go to docs/PERFORMANCE.md by hand.
# Usage: bench/run.sh BUILD_DIR
set -eu

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "== machine: $(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"

echo "== render 100,000 series (bench/render_bench.c)"
"$build/bench/render_bench" 100000 20

echo "== scrape a 10,000-series page with wrk (bench/scrape_bench.c, server single-threaded)"
"$build/bench/scrape_bench" 10000 10s identity
"$build/bench/scrape_bench" 10000 10s gzip

echo "== baseline: the same page from python3-prometheus-client"
port=19567
/usr/bin/python3 bench/baseline_exporter.py 10000 $port >/tmp/hostmon-bench-baseline.log 2>&1 &
bpid=$!
pids="$pids $bpid"
for _ in $(seq 50); do grep -q ready /tmp/hostmon-bench-baseline.log 2>/dev/null && break; sleep 0.1; done
t0=$(cpu_ticks $bpid)
out=$(wrk -t1 -c4 -d10s -H "Accept-Encoding: identity" "http://127.0.0.1:$port/metrics")
t1=$(cpu_ticks $bpid)
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
hz=$(getconf CLK_TCK)
echo "$out" | awk -v r="$reqs" -v c=$((t1 - t0)) -v hz="$hz" '/Requests\/sec/ {
	printf "scrape python-prometheus-client series=10000 encoding=identity scrapes=%d scrapes_per_s=%s server_cpu_ms_per_scrape=%.3f\n",
	r, $2, (r > 0 ? c / hz * 1000 / r : 0) }'
echo "baseline idle RSS after scrapes: $(rss_kb $bpid) kB"
kill $bpid

echo "== hostmon daemon idle RSS (all default collectors attached)"
log=/tmp/hostmon-bench-daemon.log
"$build/hostmon" --listen 127.0.0.1:0 >"$log" 2>&1 &
dpid=$!
pids="$pids $dpid"
for _ in $(seq 100); do grep -q 'msg=listening' "$log" && break; sleep 0.1; done
addr=$(sed -n 's/.*msg=listening address=\([^ ]*\).*/\1/p' "$log")
sleep 2
curl -s -o /dev/null "http://$addr/metrics"
sleep 1
echo "hostmon idle RSS after start and one scrape: $(rss_kb $dpid) kB"
kill $dpid
wait $dpid 2>/dev/null || true

echo "== RabbitMQ: 10,000 and 50,000 queues on a real broker (bench/rabbitmq.py)"
/usr/bin/python3 bench/rabbitmq.py "$build" 10000 50000

echo "== RabbitMQ plugin page parse, 10,000 and 50,000 queues' page (bench/rmq_prom_parse_bench.c)"
"$build/bench/rmq_prom_parse_bench" 10000 10
"$build/bench/rmq_prom_parse_bench" 50000 5

echo "== RabbitMQ sources: 5,000 and 10,000 queues in one vhost, 50,000 over 5 vhosts; management vs plugin vs a plain exporter (bench/rabbitmq_sources.py)"
/usr/bin/python3 bench/rabbitmq_sources.py "$build" 5000 10000 50000x5
