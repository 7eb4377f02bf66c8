#!/bin/bash
# install.sh: installs audisp-lkm as an auditd plugin, or removes it (--uninstall).
#
#   ./install.sh [--with-exec] [--binary FILE]
#   ./install.sh --uninstall
#
# Install builds the release binary (static Swift standard library: auditd starts
# plugins with an empty environment) unless --binary names one, then installs
#   /usr/sbin/audisp-lkm                          root:root 0750 (auditd's check)
#   /etc/audit/audisp-lkm.conf                    settings, only if absent (edits are kept)
#   /etc/audit/rules.d/50-audisp-lkm.rules        the watches
#   /etc/audit/rules.d/52-audisp-lkm-io_uring.rules  io_uring watches, only for auditctl 3.1+
#   /etc/audit/rules.d/55-audisp-lkm-exec.rules   exec tracking, only with --with-exec
#   /etc/audit/plugins.d/audisp-lkm.conf          the plugin conf
# loads the rules with augenrules --load (and, where auditctl is older than 3.1, the
# io_uring watches with `audisp-lkm watches add`) and sends auditd SIGHUP, which starts
# (or restarts, for a new binary) the plugin. Running it again changes only what differs.
#
# Uninstall stops the plugin (auditd's SIGHUP after its conf is gone), unloads the
# rules and removes every file above, the state report and the baseline of the places
# (/var/lib/audisp-lkm, which the plugin makes). An alert file
# (output = file) is data and is kept.
set -eu

bin=/usr/sbin/audisp-lkm
settings=/etc/audit/audisp-lkm.conf
plugin=/etc/audit/plugins.d/audisp-lkm.conf
rules=/etc/audit/rules.d/50-audisp-lkm.rules
exec_rules=/etc/audit/rules.d/55-audisp-lkm-exec.rules
uring_rules=/etc/audit/rules.d/52-audisp-lkm-io_uring.rules
state=/run/audisp-lkm.state
state_directory=/var/lib/audisp-lkm
here=$(cd "$(dirname "$0")" && pwd)

say() { echo "audisp-lkm install: $*"; }
die() { echo "audisp-lkm install: $*" >&2; exit 1; }
. "$here/packaging/auditd-plugin.sh"
. "$here/packaging/release-build.sh"

# Copies $1 to $2 with mode $3, owned by root, only when the content differs. A changed
# file is replaced by rename, so a running plugin's binary is never rewritten in place.
put() {
	if cmp -s "$1" "$2"; then
		say "$2: unchanged"
	else
		install -o root -g root -m "$3" "$1" "$2.new"
		mv -f "$2.new" "$2"
		say "$2: installed"
	fi
}

uninstall() {
	if [ -e "$plugin" ]; then
		rm -f "$plugin"
		reload_auditd no
	fi
	rm -f "$rules" "$exec_rules" "$uring_rules"
	augenrules --load >/dev/null || say "augenrules --load failed; rules with key audisp-lkm are removed below"
	auditctl -D -k audisp-lkm >/dev/null 2>&1 || true
	auditctl -D -k audisp-lkm-exec >/dev/null 2>&1 || true
	alerts=""
	if [ -f "$settings" ]; then
		alerts=$(sed -n 's/^[[:space:]]*file[[:space:]]*=[[:space:]]*//p' "$settings")
	fi
	rm -f "$bin" "$bin.new" "$settings" "$state" "$state.tmp"
	rm -rf "$state_directory"
	say "removed the plugin, its rules, binary, settings, state report and baseline"
	[ -n "$alerts" ] && [ -e "$alerts" ] && say "kept the alert file $alerts"
	true
}

[ "$(id -u)" = 0 ] || die "must run as root"
with_exec=no
binary=""
while [ $# -gt 0 ]; do
	case "$1" in
	--uninstall) uninstall; exit 0 ;;
	--with-exec) with_exec=yes ;;
	--binary) [ $# -ge 2 ] || die "--binary needs a file"; binary=$2; shift ;;
	-h|--help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
command -v augenrules >/dev/null || die "auditd is not installed (apt-get install auditd)"

if [ -z "$binary" ]; then build_release; fi
[ -x "$binary" ] || die "$binary is not an executable"
# auditd runs plugins with no environment at all: prove the binary starts that way.
env -i "$binary" --help >/dev/null || die "$binary does not run with an empty environment"

put "$binary" "$bin" 0750
if [ -e "$settings" ]; then
	say "$settings: kept (it may hold your edits; see plugin-conf/config/ for the defaults)"
else
	put "$here/plugin-conf/config/audisp-lkm.conf" "$settings" 0640
fi
"$bin" check --config "$settings" >/dev/null 2>&1 || [ $? -eq 1 ] || die "$settings is not valid: run $bin check"
put "$here/audit-rules/50-audisp-lkm.rules" "$rules" 0640
if [ "$with_exec" = yes ]; then
	put "$here/audit-rules/55-audisp-lkm-exec.rules" "$exec_rules" 0640
elif [ -e "$exec_rules" ]; then
	rm -f "$exec_rules"
	auditctl -D -k audisp-lkm-exec >/dev/null 2>&1 || true
	say "$exec_rules: removed (no --with-exec)"
fi
# auditctl writes io_uring rules from 3.1 on; before that audisp-lkm loads them itself.
auditctl_version=$(auditctl -v 2>/dev/null | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p')
if [ "$(printf '%s\n3.1\n' "${auditctl_version:-0}" | sort -V | head -n 1)" = 3.1 ]; then
	put "$here/audit-rules/52-audisp-lkm-io_uring.rules" "$uring_rules" 0640
elif [ -e "$uring_rules" ]; then
	rm -f "$uring_rules"
fi
augenrules --load >/dev/null || die "augenrules --load failed"
# The directory-tree watches (and, before auditctl 3.1, the io_uring ones) no rules file
# can hold; the plugin loads them again at start.
"$bin" watches add --config "$settings" >/dev/null ||
	say "warning: some watches were not loaded (kernel older than 5.16 for io_uring?): audisp-lkm watches add says why"
put "$here/plugin-conf/audisp-lkm.conf" "$plugin" 0640
reload_auditd yes
# The proof: every FAIL has its fix under it. With auditd stopped, the plugin starts with it.
if ! "$bin" check --config "$settings"; then
	auditd_running || { say "auditd is not running: start it, then run $bin check"; exit 0; }
	die "$bin check reports a problem (above)"
fi
