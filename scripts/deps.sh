#!/bin/sh
# Installs the Debian packages hostmon needs to build and test; fast when all are present.
set -eu

PACKAGES="
 make gcc clang llvm pkg-config libc6-dev libbpf-dev bpftool libelf-dev
 zlib1g-dev libisal-dev libcurl4-openssl-dev libcjson-dev linux-libc-dev
 clang-format cppcheck clang-tools valgrind libclang-rt-14-dev
 curl prometheus nginx php8.2-fpm php8.2-cli php-laravel-framework libfcgi-bin
 rabbitmq-server amqp-tools wrk hyperfine linux-perf
 nodejs procps iproute2 python3 python3-prometheus-client shellcheck
"

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
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
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
