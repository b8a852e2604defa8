#!/bin/sh
# Writes hostmon's man page (roff, section 8) to stdout from the binary's own --help texts: the
# daemon's, then each command's, so the page says what --help says.
# Usage: scripts/manpage.sh BUILD/hostmon [PREFIX]
set -eu

bin=${1:?usage: $0 HOSTMON_BINARY [PREFIX]}
prefix=${2:-/usr/local}
version=$("$bin" --version | sed 's/^hostmon //')
# the commands are the lines under "Commands" in --help, except run (the daemon itself)
commands=$("$bin" --help | awk '/^Commands/ { on = 1; next } on && NF { print $1 }' | grep -vx run)

# One --help text -> roff. Unindented lines ending in ':' followed by entries are headings;
# "  NAME   text" lines are entries (.TP), deeper-indented lines continue the entry before them;
# other unindented lines are prose. The first block (Usage) is the synopsis, the
# "hostmon X: summary." line the name or the command's summary.
to_roff() {
	awk -v top="$1" '
	function esc(s) {
		gsub(/\\/, "\\e", s)
		gsub(/-/, "\\-", s)
		if (s ~ /^[.\x27]/)
			s = "\\&" s
		return s
	}
	function flush_prose() {
		if (prose != "") {
			print ".PP"
			print prose
			prose = ""
		}
	}
	BEGIN { in_usage = 0 }
	/^Usage: / {
		sub(/^Usage: /, "")
		if (top) print ".SH SYNOPSIS"; else print ".SS Synopsis"
		print ".nf"
		print esc($0)
		in_usage = 1
		next
	}
	in_usage && /^ +/ { sub(/^ +/, ""); print esc($0); next }
	in_usage { print ".fi"; in_usage = 0 }
	/^hostmon [^ ]*: / && !named {
		named = 1
		line = $0
		sub(/^hostmon [^ ]*: /, "", line)
		if (top) {
			print ".SH DESCRIPTION"
			print toupper(substr(line, 1, 1)) esc(substr(line, 2))
		} else {
			print ".PP"
			print esc(line)
		}
		next
	}
	/^$/ { flush_prose(); next }
	/^[^ ].*:$/ && !(prose != "") {
		heading = $0
		sub(/:$/, "", heading)
		if (top && (heading ~ /^Collectors/ || heading ~ /^Commands/)) {
			word = heading
			sub(/ .*/, "", word)
			print ".SH " toupper(word)
			sub(/^[^ ]* */, "", heading)
			if (heading != "")
				print esc(heading)
		}
		else
			print ".SS " esc(heading)
		next
	}
	/^   +[^ ]/ && entry { sub(/^ +/, ""); print ".br"; print esc($0); next }
	/^  [^ ]/ {
		flush_prose()
		line = $0
		sub(/^  /, "", line)
		# the tag ends at the first run of two spaces (or one space before a long tag runs on)
		n = match(line, /  +/)
		if (n) { tag = substr(line, 1, n - 1); text = substr(line, n + RLENGTH) }
		else if (match(line, / [a-z(]/) && line ~ /^--[^ ]+ [A-Z:]+ /) {
			split(line, parts, " ")
			tag = parts[1] " " parts[2]
			text = substr(line, length(tag) + 2)
		} else { tag = line; text = "" }
		print ".TP"
		print "\\fB" esc(tag) "\\fR"
		print esc(text)
		entry = 1
		next
	}
	/^[^ ]/ {
		entry = 0
		prose = prose (prose == "" ? "" : "\n") esc($0)
		next
	}
	END { flush_prose(); if (in_usage) print ".fi" }
	'
}

date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
printf '.TH HOSTMON 8 "%s" "hostmon %s" "System Administration"\n' "$date" "$version"
printf '.SH NAME\nhostmon \\- eBPF host monitor exporting Prometheus metrics\n'
"$bin" --help | to_roff 1
for c in $commands; do
	printf '.SH "HOSTMON %s"\n' "$(echo "$c" | tr '[:lower:]' '[:upper:]')"
	"$bin" "$c" --help | to_roff 0
done
cat <<EOF
.SH FILES
.TP
\\fB$prefix/lib/systemd/system/hostmon.service\\fR
the systemd unit; optional settings in /etc/default/hostmon
.TP
\\fB$prefix/share/doc/hostmon/\\fR
README.md and the documentation (configuration.md, metrics.md, restart.md, incident.md, ...)
.SH SEE ALSO
The status page at http://ADDR:9567/ and /status.json; \\fBhostmon status\\fR.
EOF
