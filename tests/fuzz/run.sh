#!/bin/sh
# Run each named libFuzzer harness for SECONDS, seeded from tests/fuzz/seeds/NAME and, where
# they exist, tests/fixtures/NAME; a crash fails.
# Usage: tests/fuzz/run.sh BUILD_FUZZ_DIR SECONDS NAME...
set -eu
dir=$1
seconds=$2
shift 2
here=$(dirname "$0")
for name in "$@"; do
	corpus=$(mktemp -d)
	seeds=""
	for d in "$here/seeds/$name" "$here/../fixtures/$name"; do
		[ -d "$d" ] && seeds="$seeds $d"
	done
	# New inputs go to a scratch corpus; the checked-in seeds are only read.
	echo "fuzz_$name: ${seconds}s"
	if ! "$dir/fuzz_$name" -max_total_time="$seconds" -max_len=16384 \
		-artifact_prefix="$dir/crash-$name-" "$corpus" $seeds; then
		rm -rf "$corpus"
		echo "fuzz_$name: failed, input saved under $dir/crash-$name-*" >&2
		exit 1
	fi
	rm -rf "$corpus"
done
