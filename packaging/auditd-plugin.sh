# auditd-plugin.sh: shell functions shared by install.sh and the Debian package's
# maintainer scripts (installed as /usr/share/audisp-lkm/auditd-plugin.sh): is auditd
# running, is the plugin running and fed, and reloading auditd's plugins with the auditd
# 3.0.9 dispatcher's quirk handled. Expects `say` (one line of progress) to be defined.
# bash (Essential in Debian).

state=${state:-/run/audisp-lkm.state}

# The auditd the kernel sends to, if it still runs: an auditd killed without unregistering
# stays the kernel's `pid` until the kernel next fails to send it a record (and, where
# nothing reaps it, a zombie).
auditd_pid() {
	pid=$(auditctl -s 2>/dev/null | sed -n 's/^pid \([1-9][0-9]*\)$/\1/p')
	running "$pid" auditd && echo "$pid"
}
auditd_running() { [ -n "$(auditd_pid)" ]; }
# The plugin auditd runs now: not one that exited and lingers as a zombie (auditd stops
# reaping when its dispatcher exits with its last plugin).
plugin_pid() { pgrep -x -r R,S,D,T -P "$(auditd_pid)" audisp-lkm; }

# Waits up to 3 s for the plugin to be running (yes) or gone (no).
wait_for_plugin() {
	for _ in $(seq 30); do
		if plugin_pid >/dev/null; then [ "$1" = yes ] && return 0
		else [ "$1" = no ] && return 0; fi
		sleep 0.1
	done
	return 1
}

# Whether the running plugin receives events: send one and ask for its state report.
plugin_receives_events() {
	wait_for_plugin yes || return 1
	auditctl -m "audisp-lkm: checking that the plugin receives events" >/dev/null 2>&1 || return 1
	for _ in $(seq 30); do
		sleep 0.1
		kill -USR1 "$(plugin_pid)" 2>/dev/null || continue
		records=$(sed -n 's/^records = //p' "$state" 2>/dev/null)
		[ "${records:-0}" -gt 0 ] && return 0
	done
	return 1
}

reload_auditd() {
	if ! auditd_running; then
		say "auditd is not running: the plugin starts with it"
		return
	fi
	kill -HUP "$(auditd_pid)"
	say "auditd signalled (SIGHUP): it re-reads its plugins"
	[ "$1" = yes ] || { wait_for_plugin no || say "the plugin has not stopped yet"; return; }
	plugin_receives_events && { say "the plugin is running and receives events"; return; }
	# auditd 3.0.9's dispatcher stops when its last plugin is removed; restarted by a
	# later SIGHUP, it may kill the plugin it starts with a stale SIGHUP, and it delivers
	# no events. Only restarting auditd clears that.
	if [ "$(cat /proc/1/comm)" = systemd ]; then
		say "warning: the plugin receives no events (auditd 3.0.9, after its last plugin" \
			"was removed): restart auditd (service auditd restart, or reboot)"
		return
	fi
	say "the plugin receives no events (auditd 3.0.9, after its last plugin was removed): restarting auditd"
	auditctl --signal TERM >/dev/null
	for _ in $(seq 50); do auditd_running || break; sleep 0.1; done
	start_daemon auditd
	if plugin_receives_events; then say "the plugin is running and receives events"
	else say "warning: the plugin receives no events; see auditd's messages in syslog"; fi
}

# Starts a daemon that detaches itself, with no descriptor but the standard three,
# pointed at /dev/null: auditd keeps every descriptor it inherits (and passes those above
# 23 to its plugins), and a package script's descriptors are dpkg's.
# (bash: dash cannot name a descriptor above 9 in a redirection.)
start_daemon() {
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done 2>/dev/null
		exec "$@" </dev/null >/dev/null 2>&1
	)
}

# rsyslog reads its configuration (the package's drop-in) only when it starts. Under
# systemd, systemctl restarts it; elsewhere (containers) the system's rsyslogd (the one
# in /run/rsyslogd.pid: not a second one a user runs) is stopped and started again.
restart_rsyslog() {
	if [ -d /run/systemd/system ]; then
		pidof rsyslogd >/dev/null 2>&1 || return 0
		deb-systemd-invoke restart rsyslog.service 2>/dev/null || systemctl restart rsyslog.service
		return
	fi
	pid=$(cat /run/rsyslogd.pid 2>/dev/null || true)
	running "$pid" rsyslogd || return 0
	kill -TERM "$pid"
	for _ in $(seq 50); do running "$pid" rsyslogd || break; sleep 0.1; done
	rm -f /run/rsyslogd.pid
	start_daemon rsyslogd
	for _ in $(seq 50); do running "$(cat /run/rsyslogd.pid 2>/dev/null)" rsyslogd && [ -S /dev/log ] && return 0; sleep 0.1; done
	return 1
}

# Whether process $1 runs program $2 (a zombie does not).
running() {
	[ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] &&
		[ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)" != Z ]
}
