#!/bin/sh
# Makes sure the Dockerfiles' base image (debian:bookworm-slim) is present: kept if it is, pulled
# if a registry answers, otherwise built here with debootstrap from this machine's Debian mirror
# and imported under that tag, so the Dockerfiles stay the ones a user builds anywhere.
# Usage: scripts/base-image.sh [TAG]   (default debian:bookworm-slim; MIRROR=URL overrides the
# mirror read from /etc/apt/sources.list*)
set -eu

DOCKER=${DOCKER:-docker}
tag=${1:-debian:bookworm-slim}
suite=bookworm

if "$DOCKER" image inspect "$tag" >/dev/null 2>&1; then
	exit 0
fi
# a registry that is not reachable fails fast or hangs: bound the wait
if timeout 60 "$DOCKER" pull -q "$tag" >/dev/null 2>&1; then
	echo "base-image: pulled $tag"
	exit 0
fi

# The mirror this machine's apt uses (deb822 "URIs:" or one-line "deb URL suite ...").
mirror_of_apt() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '
			/^URIs:/ { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			/^$/ { if (ok && uri) { print uri; exit } uri = ""; ok = 0 }
			END { if (ok && uri) print uri }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v s="$suite" '$1 == "deb" && $3 == s { print $2 }'
}
mirror=${MIRROR:-$(mirror_of_apt | head -n 1)}
if [ -z "$mirror" ]; then
	echo "base-image: no $suite mirror in /etc/apt/sources.list*; set MIRROR=URL" >&2
	exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	echo "base-image: $tag is not here, cannot be pulled, and debootstrap is missing" >&2
	exit 1
fi

dir=$(mktemp -d /tmp/hostmon-base-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
echo "base-image: building $tag with debootstrap ($suite, minbase, $mirror)"
debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 || {
	tail -n 20 "$dir.log" >&2
	rm -f "$dir.log"
	exit 1
}
rm -f "$dir.log"
# what a slim image leaves out: package caches and lists (apt-get update brings the lists back)
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/* \
	"$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/*
tar -C "$dir" --numeric-owner -c . |
	"$DOCKER" import -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		-m "debootstrap --variant=minbase $suite (scripts/base-image.sh)" - "$tag" >/dev/null
echo "base-image: imported $tag ($("$DOCKER" image inspect -f '{{.Size}}' "$tag") bytes)"
