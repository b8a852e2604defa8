#!/bin/sh
# Builds (once) the guest's root filesystem for make test-kernels: a debootstrapped Debian 12
# minbase with the libraries hostmon links and the peers the chosen tests run, packed as an
# uncompressed initramfs (newc cpio; the TCG guest would spend minutes inflating a compressed one).
# Cached as CACHE/root-<key>.cpio, the key a hash of this script (its package list); prints the path.
# Usage: tests/kernels/root.sh CACHE_DIR
set -eu

cache=${1:?cache dir}
mirror=${HOSTMON_KERNELS_MIRROR:-http://deb.debian.org/debian}
security=${HOSTMON_KERNELS_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

# What hostmon and its test binaries link or open (the same list as scripts/deps.sh run's -dev
# packages), what the BPF and integration tests call (bpftool, ss, ps), and the servers the
# cgroup_cpu and http_latency tests drive. node and promtool are copied from the host by
# tests/kernels/run.sh, so the guest runs the versions make test runs.
PACKAGES="
 busybox netbase libbpf1 libelf1 zlib1g libisal2 libcjson1 libcurl4 libstdc++6
 python3 bpftool iproute2 procps wrk
 nginx php8.2-fpm php8.2-cli php-laravel-framework libfcgi-bin
"

key=$(sha256sum "$0" | cut -c1-16)
out="$cache/root-$key.cpio"
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/root-build.XXXXXX")
cleanup() {
	# a failed apt step may leave these mounted in the chroot
	umount "$work/root/proc" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
root="$work/root"

echo "kernels: debootstrap bookworm minbase into $root" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
	tail -n 20 "$work/debootstrap.log" >&2
	exit 1
}

cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
# packages' maintainer scripts must not start services in the chroot
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
echo "kernels: installing the guest's packages" >&2
# $PACKAGES is a list of package names: word splitting (into one line of names) is intended
# shellcheck disable=SC2086
set -- $PACKAGES
packages="$*"
chroot "$root" sh -c "export DEBIAN_FRONTEND=noninteractive
	apt-get update -q && apt-get -y -q dist-upgrade &&
	apt-get install -y -q --no-install-recommends $packages && apt-get clean" \
	>"$work/apt.log" 2>&1 || {
	tail -n 30 "$work/apt.log" >&2
	exit 1
}
umount "$root/proc"

# Trim what a test guest never reads; it all sits in the guest's RAM.
rm -rf "$root/var/lib/apt/lists"/* "$root/var/cache/apt"/* "$root/usr/share/doc" \
	"$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale" \
	"$root/usr/sbin/policy-rc.d"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
echo hostmon-guest >"$root/etc/hostname"

(cd "$root" && find . -print | cpio -o -H newc -R 0:0 --quiet) >"$work/root.cpio"
mv "$work/root.cpio" "$out"
echo "kernels: guest root $out ($(du -h "$out" | cut -f1))" >&2
echo "$out"
