#!/bin/sh
# Installs the Debian packages hostmon needs to run (build it and start it) or to test it;
# fast when all are present.
# Usage: scripts/deps.sh run|test|kernels
set -eu

# Building and running: the compilers, libbpf and the libraries the daemon links or opens.
RUN_PACKAGES="
 make gcc clang llvm pkg-config libc6-dev libbpf-dev bpftool libelf-dev
 zlib1g-dev libisal-dev libcurl4-openssl-dev libcjson-dev linux-libc-dev
"
# Testing and checking: the peers the integration tests run for real, the checkers, sanitizers.
# rabbitmq-server ships the rabbitmq_management and rabbitmq_prometheus plugins; the tests'
# brokers enable both in their own directories (tests/integration/lib/rabbitmq_env.py).
TEST_PACKAGES="
 clang-format cppcheck clang-tools valgrind libclang-rt-14-dev shellcheck
 curl prometheus nginx php8.2-fpm php8.2-cli php-laravel-framework libfcgi-bin
 rabbitmq-server amqp-tools wrk hyperfine linux-perf
 nodejs procps iproute2 python3 python3-prometheus-client tmux
 docker.io debootstrap python3-yaml chromium man-db
 iptables util-linux
"
# Testing on other kernels (make test-kernels): qemu, and what builds the guest's root.
KERNEL_PACKAGES="
 qemu-system-x86 debootstrap cpio
"

case "${1:-}" in
run) PACKAGES=$RUN_PACKAGES ;;
test) PACKAGES="$RUN_PACKAGES $TEST_PACKAGES" ;;
kernels) PACKAGES="$RUN_PACKAGES $TEST_PACKAGES $KERNEL_PACKAGES" ;;
*)
	echo "usage: $0 run|test|kernels" >&2
	exit 2
	;;
esac

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps-$1' as root" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Install first from the current package lists; refresh them only if that fails.
# $missing is a list of package names: word splitting is intended.
# shellcheck disable=SC2086
if ! apt-get install -y -q --no-install-recommends $missing; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
fi
