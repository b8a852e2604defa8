#!/bin/sh
# Makes sure a Docker daemon answers: starts Debian's dockerd by hand where no service manager
# runs it (a machine or CI runner without systemd as PID 1); does nothing when one answers.
# Usage: scripts/dockerd.sh   prints "dockerd: started PID" when it started one (the caller may
# stop it by that pid), nothing otherwise; its log is /var/log/hostmon-dockerd.log.
set -eu

DOCKER=${DOCKER:-docker}
log=/var/log/hostmon-dockerd.log

if "$DOCKER" version >/dev/null 2>&1; then
	exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
	echo "dockerd.sh: no dockerd on PATH (install docker.io: scripts/deps.sh test)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "dockerd.sh: no Docker daemon answers and starting one needs root" >&2
	exit 1
fi

# its own session, so it outlives this script and the make that ran it
setsid dockerd >>"$log" 2>&1 </dev/null &
pid=$!
i=0
while ! "$DOCKER" version >/dev/null 2>&1; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "dockerd.sh: dockerd exited during start-up; last lines of $log:" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	i=$((i + 1))
	if [ "$i" -gt 300 ]; then
		echo "dockerd.sh: dockerd (pid $pid) not answering after 30 s; see $log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "dockerd: started $pid"
