#!/bin/sh
# /init of a make test-kernels guest: mounts what hostmon and its tests expect, brings up lo, runs
# tests/run.sh on the layers and folders named by hostmon.tests= on the kernel command line, writes
# its output to the second serial port (ttyS1, read by tests/kernels/run.sh), and powers off.
# The kernel's own messages go to ttyS0. As PID 1 this shell also reaps orphaned test processes
# while it waits for run.sh.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH HOME=/root LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
ip link set lo up
hostname hostmon-guest

# Under TCG a daemon verifying its BPF programs beside five others (cgroup_cpu/test_limits) takes
# longer than the harness's 30 s to listen.
export HOSTMON_START_TIMEOUT=300
# Debian's kernels have fentry/fexit: the PHP-FPM hooks must take the socket path there
# (tests/integration/http_latency/test_http_latency.py checks the tier hostmon chose).
export HOSTMON_EXPECT_PHP_HOOKS=sock_iter

out=/dev/ttyS1
tests=$(sed -n 's/.*hostmon\.tests=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
{
	echo "guest: kernel $(uname -r), $(nproc) CPUs, tests: ${tests:-none}"
	if [ -n "$tests" ]; then
		cd /hostmon || exit 1
		# the selection is a list of layers and folders: word splitting is intended
		# shellcheck disable=SC2086
		tests/run.sh build $tests
		echo "guest: run.sh exit $?"
	else
		echo "guest: no hostmon.tests= on the kernel command line"
	fi
} >"$out" 2>&1

# ttyS1 is a 16550 the host drains as fast as it is written; a second lets the last line out.
sleep 1
echo o >/proc/sysrq-trigger
sleep 30
