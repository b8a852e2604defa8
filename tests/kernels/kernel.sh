#!/bin/sh
# Fetches (once) a Debian kernel for make test-kernels and prints "PACKAGE VERSION VMLINUZ".
# KERNEL is a series (6.1: bookworm's own kernel; 6.12: bookworm's backported one), resolved to
# the newest cloud-amd64 package apt knows, or an exact package name (linux-image-6.1.0-47-cloud-amd64).
# The cloud flavour has what the guest needs built in (8250 serial console, initramfs, BTF,
# kprobes, fprobe) and boots faster than the generic one. Cached as CACHE/<package>_<version>/.
# Usage: tests/kernels/kernel.sh CACHE_DIR KERNEL
set -eu

cache=${1:?cache dir}
kernel=${2:?kernel series or package}

case $kernel in
6.1) meta=linux-image-cloud-amd64 ;;
6.12) meta=linux-image-6.12-cloud-amd64 ;;
linux-image-*) meta="" ;;
*)
	echo "kernels: unknown kernel $kernel (6.1, 6.12 or a linux-image-* package)" >&2
	exit 2
	;;
esac

# The package a meta package points at, from the current lists (refreshed once if absent).
resolve() {
	apt-cache depends "$1" 2>/dev/null | sed -n 's/^  Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1
}
candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^  Candidate: //p'
}
package=$kernel
if [ -n "$meta" ]; then
	package=$(resolve "$meta")
	if [ -z "$package" ]; then
		apt-get update -q >&2
		package=$(resolve "$meta")
	fi
fi
version=$(candidate "$package")
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
	echo "kernels: apt knows no package $package${meta:+ (from $meta)}" >&2
	exit 1
fi

dir="$cache/${package}_$version"
if [ ! -d "$dir" ]; then
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/kernel-fetch.XXXXXX")
	trap 'rm -rf "$work"' EXIT INT TERM
	echo "kernels: apt-get download $package=$version" >&2
	# apt's sandbox user must be able to write where the package lands
	chmod 777 "$work"
	(cd "$work" && apt-get download -q "$package=$version" >&2)
	dpkg -x "$work"/*.deb "$work/x"
	mkdir "$work/out"
	cp "$work"/x/boot/vmlinuz-* "$work/out/vmlinuz"
	cp "$work"/x/boot/config-* "$work/out/config"
	mv "$work/out" "$dir"
fi
echo "$package $version $dir/vmlinuz"
