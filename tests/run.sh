#!/bin/sh
# Runs the test layers (unit, bpf, fuzz seed replay, integration) and prints one closing "N passed, N failed" line
# (", N skipped" added when a test skipped a part whose prerequisite is absent).
# Usage: tests/run.sh BUILD_DIR LAYER...   (LAYER: unit, bpf, fuzz, integration, all, or a folder or
# file below one, e.g. integration/cgroup_cpu or integration/core/test_host_check.py, or
# fuzz/fuzz_request.c for one harness's seed replay)
set -u

build=${1:?build dir}
shift
[ "$#" -gt 0 ] || set -- all
root=$(cd "$(dirname "$0")/.." && pwd)
export HOSTMON_BIN="$root/$build/hostmon"
export HOSTMON_ROOT="$root"

valgrind="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
--suppressions=$root/tests/valgrind.supp"
if [ "${HOSTMON_VALGRIND:-0}" = 1 ]; then
	# the integration tests start the daemon through this wrapper
	export HOSTMON_WRAPPER="$valgrind"
	# fuzz loops are for the sanitizers' speed; under valgrind a sample is enough
	export RMQ_FUZZ_ITERATIONS="${RMQ_FUZZ_ITERATIONS:-5000}"
fi

passed=0
failed=0
skipped=0
failures=""

# Runs one test program; it prints "<name>: N passed, M failed[, K skipped]" as its last summary
# line, and a "# SKIP reason" line per skipped part. A program that prints no summary, or one that
# neither checked nor skipped anything (0 passed, 0 failed), tested nothing: it counts as one
# failure whatever its exit code.
run_one() {
	name=$1
	shift
	log=$(mktemp)
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	summary=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
	p=$(echo "$summary" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
	f=$(echo "$summary" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	s=$(echo "$summary" | sed -n 's/.* \([0-9]*\) skipped$/\1/p')
	p=${p:-0}
	f=${f:-0}
	s=${s:-0}
	why=""
	if [ -z "$summary" ]; then
		why="no summary line"
		f=1
	elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		why="no checks ran"
		f=1
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		why="exit $rc without a failed check"
		f=1 # crashed or exited non-zero without reporting a failure: count it
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ "$f" -ne 0 ]; then
		failures="$failures $name"
		echo "FAIL $name (${secs}s, exit $rc): $p passed, $f failed${why:+ ($why)}"
		grep -E '^not ok|ERROR|Sanitizer|runtime error|==[0-9]+==' "$log" | head -n 40 | sed 's/^/    /'
		echo "    --- last lines ---"
		tail -n 15 "$log" | sed 's/^/    /'
	elif [ "$p" -eq 0 ]; then
		echo "skip $name (${secs}s): $s skipped"
	else
		if [ "$s" -ne 0 ]; then
			echo "ok   $name (${secs}s): $p passed, $s skipped"
		else
			echo "ok   $name (${secs}s): $p passed"
		fi
	fi
	if [ "$s" -ne 0 ]; then
		grep -E '^# SKIP ' "$log" | head -n 10 | sed 's/^/    /'
	fi
	rm -f "$log"
}

# Test programs and scripts, found anywhere under a layer's folder (tests/<layer>/<concern>/test_*),
# or under the part of it that $1 names (a folder or one file).
tests_of() {
	find "$root/tests/$1" -name "test_*.$2" -type f | sort
}

layer_unit() {
	for src in $(tests_of "unit${1:+/$1}" c); do
		name=${src#"$root"/tests/}
		name=${name%.c}
		bin="$root/$build/tests/$name"
		if [ "${HOSTMON_VALGRIND:-0}" = 1 ]; then
			# $valgrind is a command with its options: split on purpose
			# shellcheck disable=SC2086
			run_one "$name" $valgrind "$bin"
		else
			run_one "$name" "$bin"
		fi
	done
}

layer_bpf() {
	for src in $(tests_of "bpf${1:+/$1}" c); do
		name=${src#"$root"/tests/}
		name=${name%.c}
		run_one "$name" "$root/$build/tests/$name"
	done
}

# Each fuzz harness (tests/fuzz/fuzz_NAME.c) built as a plain program that runs its entry point
# once on every seed: tests/fuzz/seeds/NAME and tests/fixtures/NAME, as make fuzz seeds them.
layer_fuzz() {
	for src in $(find "$root/tests/fuzz" -name "fuzz_${1:-*}.c" -type f | sort); do
		name=${src#"$root"/tests/}
		name=${name%.c}
		harness=${name#fuzz/fuzz_}
		set --
		for d in "$root/tests/fuzz/seeds/$harness" "$root/tests/fixtures/$harness"; do
			[ -d "$d" ] && set -- "$@" "$d"
		done
		if [ "${HOSTMON_VALGRIND:-0}" = 1 ]; then
			# shellcheck disable=SC2086
			run_one "$name" $valgrind "$root/$build/tests/$name" "$name" "$@"
		else
			run_one "$name" "$root/$build/tests/$name" "$name" "$@"
		fi
	done
}

layer_integration() {
	for t in $(tests_of "integration${1:+/$1}" py); do
		name=${t#"$root"/tests/}
		name=${name%.py}
		# Debian's interpreter: it has the python3-* packages that make deps-test installs
		run_one "$name" /usr/bin/python3 "$t"
	done
}

for arg in "$@"; do
	layer=${arg%%/*}
	part=""
	[ "$layer" = "$arg" ] || part=${arg#*/}
	if [ -n "$part" ] && [ ! -e "$root/tests/$arg" ]; then
		echo "no tests/$arg" >&2
		exit 2
	fi
	case $layer in
	unit) layer_unit "$part" ;;
	bpf) layer_bpf "$part" ;;
	integration) layer_integration "$part" ;;
	fuzz)
		harness=${part#fuzz_}
		layer_fuzz "${harness%.c}"
		;;
	all)
		layer_unit
		layer_bpf
		layer_fuzz
		layer_integration
		;;
	*)
		echo "unknown layer $layer" >&2
		exit 2
		;;
	esac
done

[ -z "$failures" ] || echo "failed:$failures"
[ "$skipped" -eq 0 ] || echo "skipped: $skipped (reasons above)"
# the closing line, always last and always this shape
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
