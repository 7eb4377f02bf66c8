#!/usr/bin/env bash
# Records, from the running kernel and a real auditd, the fixture of an auditd killed with
# SIGKILL (so it writes no DAEMON_END record) and started again: what a period report has
# to call a stop without an end record, and date from the last record before it.
#
#   Tests/Fixtures/record-unclean-stop.sh [OUTDIR]   (default: kernel/ beside this script)
#
# Steps, each marked by a user message (`auditctl -m "lkm-unclean: STEP"`, a USER record):
#   before      auditd runs; then it is killed (kill -9) and the script waits 2 s;
#   while-down  sent while no auditd runs (the kernel may hold it for the next auditd,
#               print it to the kernel log or drop it: STEPS.md says what it did);
#   after       2 s later, auditd started again (its DAEMON_START), then this marker.
#
# Writes OUTDIR/unclean-stop/audit.log, the stretch of /var/log/audit/audit.log from the
# `before` marker's line to the `after` marker's, exactly as auditd wrote it (other
# processes' records included), and OUTDIR/unclean-stop/STEPS.md (event ids and times).
# The expectations live in Tests/EndToEndTests/ReportCommandTests.swift.
#
# Needs root and auditd logging to /var/log/audit/audit.log. Takes the lock the project's
# tests take before touching audit state; auditd is left running or stopped as it was
# found (a killed one is started again).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="${1:-$here/kernel}/unclean-stop"
log=/var/log/audit/audit.log

say() { echo "record-unclean-stop: $*" >&2; }
die() { say "$*"; exit 1; }
# auditd_pid, auditd_running, running, start_auditd, stop_auditd.
. "$here/auditd-recording.sh"

# Waits (10 s at most) until the log has a line matching the grep pattern $1 after byte $2.
# (grep -q stops reading at the first match: tail's SIGPIPE then is no failure.)
wait_log() {
	for _ in $(seq 100); do
		{ tail -c +$(($2 + 1)) "$log" || true; } | grep -q -- "$1" && return 0
		sleep 0.1
	done
	die "no record matching '$1' within 10 s"
}

was_running=false
cleanup() {
	set +e
	if $was_running && ! auditd_running; then
		start_auditd
	elif ! $was_running && auditd_running; then
		stop_auditd
	fi
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || die "needs root"
# systemd's auditd.service restarts a killed auditd itself (Restart=on-failure).
[ -d /run/systemd/system ] && die "systemd runs here: it would restart the killed auditd; record where auditd runs on its own"
require_log_file
take_tests_lock

auditd_running && was_running=true || start_auditd
from=$(stat -c %s "$log")

auditctl -m "lkm-unclean: before" >/dev/null
wait_log "lkm-unclean: before" "$from"
killed=$(auditd_pid)
kill -KILL "$killed"
for _ in $(seq 100); do running "$killed" auditd || break; sleep 0.1; done
running "$killed" auditd && die "auditd $killed still runs after SIGKILL"
say "auditd $killed killed; the kernel still lists pid $(auditctl -s | sed -n 's/^pid //p')"
sleep 2
auditctl -m "lkm-unclean: while-down" >/dev/null
sleep 2
start_auditd
auditctl -m "lkm-unclean: after" >/dev/null
wait_log "lkm-unclean: after" "$from"

mkdir -p "$out"
# From the `before` marker's line to the `after` marker's, as written.
tail -c +$((from + 1)) "$log" | sed -n '/lkm-unclean: before/,/lkm-unclean: after/p' >"$out/audit.log"

id_of() { grep -m1 -- "$1" "$out/audit.log" | sed -n 's/.*msg=audit(\([0-9.:]*\)).*/\1/p'; }
{
	echo "# Steps of the unclean-stop fixture"
	echo
	echo "Recorded by record-unclean-stop.sh on $(uname -r) ($(uname -m)), auditd $(auditctl -v | sed 's/.*version //'),"
	echo "log_format = $(sed -n 's/^log_format *= *//p' /etc/audit/auditd.conf). Event ids are SEC.MSEC:SERIAL."
	echo
	echo "- \`$(id_of 'lkm-unclean: before')\` marker before: auditd (pid $killed) runs; then \`kill -9 $killed\` (no DAEMON_END)"
	if grep -q "lkm-unclean: while-down" "$out/audit.log"; then
		echo "- \`$(id_of 'lkm-unclean: while-down')\` marker while-down, sent 2 s after the kill: the kernel held it and the next auditd wrote it"
	else
		echo "- marker while-down, sent 2 s after the kill: **not in the log** (the kernel failed to send it to the killed auditd, dropped its registration and did not keep the record)"
	fi
	echo "- \`$(id_of '^type=DAEMON_START')\` DAEMON_START of the next auditd, 4 s after the kill;" \
		"the kernel's registration of it: $(grep -m1 -o 'op=set audit_pid=[0-9]* old=[0-9]*' "$out/audit.log")"
	echo "- \`$(id_of 'lkm-unclean: after')\` marker after"
	echo
	echo "$(grep -c DAEMON_END "$out/audit.log" || true) DAEMON_END records; $(wc -l <"$out/audit.log") lines."
} >"$out/STEPS.md"
say "wrote $out/audit.log and $out/STEPS.md"
