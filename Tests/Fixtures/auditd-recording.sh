# auditd-recording.sh: what the fixture recorders share, sourced by them. It brings in
# packaging/auditd-plugin.sh (auditd_pid, auditd_running, start_daemon, running: as
# install.sh uses them), takes the tests' lock and starts and stops auditd for a
# recording, waiting for its records in $log. Expects `die` (report and exit) and, for
# start_auditd and require_log_file, `log`.
# bash.

. "$(dirname "${BASH_SOURCE[0]}")/../../packaging/auditd-plugin.sh"

# Takes the lock the project's tests hold while they change audit state (30 min at most),
# on descriptor 9, for as long as the recorder runs.
take_tests_lock() {
	local lock=/run/lock/audisp-lkm-tests.lock
	exec 9>>"$lock"
	flock -w 1800 9 || die "could not take $lock within 30 minutes"
}

# Fails unless auditd writes its log to $log.
require_log_file() {
	[ "$(sed -n 's/^log_file *= *//p' /etc/audit/auditd.conf)" = "$log" ] || die "auditd does not log to $log"
}

# Whether any auditd process (not a zombie) runs, whatever the kernel thinks.
any_auditd() { ps -C auditd -o stat= 2>/dev/null | grep -qv '^Z'; }

# Starts auditd (start_daemon: no descriptor but the standard three, so it does not hold
# a recorder's lock after the recorder ends) and waits (10 s at most) until the kernel
# sends to it and its DAEMON_START is in $log. (grep -q stops reading at the match:
# tail's SIGPIPE then is no failure.)
start_auditd() {
	local from started
	from=$(stat -c %s "$log" 2>/dev/null || echo 0)
	start_daemon auditd
	for _ in $(seq 100); do
		started=$(auditd_pid) || true
		if [ -n "$started" ] && { tail -c +$((from + 1)) "$log" 2>/dev/null || true; } |
			grep -q "^type=DAEMON_START .* pid=$started "; then
			return 0
		fi
		sleep 0.1
	done
	die "auditd did not start (or wrote no DAEMON_START) within 10 s"
}

# Waits (10 s at most) until no auditd process runs.
wait_auditd_stopped() {
	for _ in $(seq 100); do
		any_auditd || return 0
		sleep 0.1
	done
	die "auditd still runs 10 s after SIGTERM"
}

# Stops auditd (SIGTERM through auditctl, which signals the kernel's auditd) and waits
# until no auditd process runs.
stop_auditd() {
	auditctl --signal TERM >/dev/null
	wait_auditd_stopped
}
