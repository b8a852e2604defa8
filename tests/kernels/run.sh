#!/bin/sh
# make test-kernels: boots Debian kernels under qemu (TCG, one at a time) with a debootstrapped
# initramfs, runs hostmon's BPF tests and the CPU and HTTP integration tests inside each, and
# prints each guest's results and one closing "N passed, M failed" line (exit 1 on any failure).
# Kernels, the guest root and its packages are cached in HOSTMON_KERNELS_CACHE
# (/var/cache/hostmon-kernels); the build's binaries and tests are packed anew on every run.
# Usage: tests/kernels/run.sh BUILD_DIR [KERNEL...]   (KERNEL: 6.1, 6.12 or a linux-image-* package)
# Environment: HOSTMON_KERNELS_TESTS (tests/run.sh selections, comma-separated),
# HOSTMON_KERNELS_TIMEOUT (seconds per guest, 3600), HOSTMON_KERNELS_KEEP=1 (keep the logs).
set -eu

build=${1:?build dir}
shift
[ "$#" -gt 0 ] || set -- 6.1 6.12
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/kernels"
cache=${HOSTMON_KERNELS_CACHE:-/var/cache/hostmon-kernels}
# Not http_latency/test_queueing.py: it compares hostmon's latency distribution with wrk's over a
# fixed 6 s window, and a TCG guest serves too few requests in it (about 50) for means within 15%.
tests=bpf,integration/cgroup_cpu,integration/http_latency/test_http_latency.py
tests=$tests,integration/http_latency/test_routes.py,integration/core/test_host_check.py
tests=$tests,integration/cgroup_saturation,integration/cgroup_tcp
selection=${HOSTMON_KERNELS_TESTS:-$tests}
limit=${HOSTMON_KERNELS_TIMEOUT:-3600}

for f in "$build/hostmon" "$build/tests/bpf/test_skeletons"; do
	[ -x "$root/$f" ] || {
		echo "kernels: $f is missing (make all and the BPF tests first: make test-kernels does)" >&2
		exit 2
	}
done
node=$(command -v node || true)
promtool=$(command -v promtool || true)
if [ -z "$node" ] || [ -z "$promtool" ]; then
	echo "kernels: node and promtool must be installed (make deps-test)" >&2
	exit 2
fi

mkdir -p "$cache" "$root/$build"
work=$(mktemp -d "$root/$build/kernels.XXXXXX")
qemu_pid=""
cleanup() {
	if [ -n "$qemu_pid" ]; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	if [ "${HOSTMON_KERNELS_KEEP:-0}" = 1 ]; then
		echo "kernels: logs kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One builder of the cache at a time (another worktree may run this too).
exec 9>"$cache/.lock"
flock 9
base=$("$here/root.sh" "$cache")
kernels=""
for k in "$@"; do
	kernels="$kernels $("$here/kernel.sh" "$cache" "$k" | tr ' ' '|')"
done
flock -u 9

# The run's own layer, unpacked over the cached root: /init, the build, the tests, the host's
# node and promtool (the versions make test uses). The initramfs is the two archives back to back.
stage="$work/stage"
mkdir -p "$stage/hostmon/build/tests" "$stage/usr/bin"
cp "$here/init.sh" "$stage/init"
cp "$root/$build/hostmon" "$stage/hostmon/build/"
(cd "$root/$build/tests" && find bpf -type f -perm -u+x -exec cp --parents {} "$stage/hostmon/build/tests/" \;)
cp -R "$root/tests" "$stage/hostmon/tests"
rm -rf "$stage/hostmon/tests/kernels"
cp "$node" "$stage/usr/bin/node"
cp "$promtool" "$stage/usr/bin/promtool"
chmod -R go+rX "$stage"
chmod 755 "$stage/init"
(cd "$stage" && find . -mindepth 1 -print | cpio -o -H newc -R 0:0 --quiet) >"$work/overlay.cpio"
cat "$base" "$work/overlay.cpio" >"$work/initrd.cpio"
rm -rf "$stage" "$work/overlay.cpio"

total_passed=0
total_failed=0
summary=""
for entry in $kernels; do
	package=${entry%%|*}
	rest=${entry#*|}
	version=${rest%%|*}
	vmlinuz=${rest#*|}
	name=${package#linux-image-}
	console="$work/$name.console"
	results="$work/$name.results"
	echo "kernels: booting $package $version (qemu TCG, 2 CPUs)"
	start=$(date +%s)
	# TCG, not KVM: this machine's /dev/kvm runs only kernels built for its backend (ENVIRONMENT.md).
	# One TCG thread for both vCPUs: with thread=multi a guest attaching and detaching tracepoints
	# (live kernel text patching through int3) died of "Oops: int3" in __schedule.
	qemu-system-x86_64 -accel tcg,thread=single -cpu max -smp 2 -m 3072 -no-reboot \
		-nodefaults -display none -monitor none \
		-kernel "$vmlinuz" -initrd "$work/initrd.cpio" \
		-append "console=ttyS0 panic=-1 mitigations=off hostmon.tests=$selection" \
		-serial "file:$console" -serial "file:$results" &
	qemu_pid=$!
	elapsed=0
	while kill -0 "$qemu_pid" 2>/dev/null && [ "$elapsed" -lt "$limit" ]; do
		sleep 5
		elapsed=$(($(date +%s) - start))
	done
	timed_out=0
	if kill -0 "$qemu_pid" 2>/dev/null; then
		timed_out=1
		kill "$qemu_pid"
	fi
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=""
	secs=$(($(date +%s) - start))

	# the guest's tty ends lines with \r\n
	tr -d '\r' <"$results" >"$results.txt"
	mv "$results.txt" "$results"
	sed "s/^/[$name] /" "$results"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$results" | tail -n 1 || true)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f% failed}
	else # a guest that stopped early: what its finished tests said
		p=$(sed -n 's/^\(ok  \|FAIL\) .*: \([0-9]*\) passed.*/\2/p' "$results" | awk '{s += $1} END {print s + 0}')
		f=$(sed -n 's/^FAIL .*, \([0-9]*\) failed.*/\1/p' "$results" | awk '{s += $1} END {print s + 0}')
	fi
	why=""
	if [ "$timed_out" = 1 ]; then
		why="timed out after ${limit}s"
	elif ! grep -q '^guest: run.sh exit' "$results"; then
		why="the guest stopped before the tests finished"
	elif [ -z "$line" ]; then
		why="no closing line from tests/run.sh"
	fi
	if [ -n "$why" ]; then
		f=$((f + 1))
		echo "[$name] FAIL: $why; last lines of the console:"
		tail -n 20 "$console" | sed "s/^/[$name]     /"
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	summary="$summary
  $package $version: $p passed, $f failed (${secs}s)"
done

echo "kernels:$summary"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
