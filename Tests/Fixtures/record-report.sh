#!/usr/bin/env bash
# Records, from the running kernel and a real auditd, the fixture logs of a compliance
# "period report": a stretch of /var/log/audit/audit.log in which the product's own rules
# (audit-rules/50-audisp-lkm.rules, key audisp-lkm, the --with-exec rules, key
# audisp-lkm-exec, and the io_uring and directory-tree watches `audisp-lkm watches add`
# loads, key audisp-lkm) are loaded, the LKM configuration places are changed in every way a
# report has to tell apart (creation, modification, truncation, attributes, excluded
# programs, renames within and out of a place, deletion), auditd is stopped and started
# (a gap), its log is rotated, and one watch is removed (tampering).
#
#   AUDISP_LKM=.build/debug/audisp-lkm Tests/Fixtures/record-report.sh [OUTDIR]   (default: kernel/ beside this script)
#
# AUDISP_LKM is the product's binary (default: audisp-lkm on PATH); its `watches add
# --key audisp-lkm` loads, right after the rules file, the io_uring watches and a
# `-F dir=DIR -F perm=wa` tree watch on each place that exists (both system-call
# tables), as install.sh does. The tree watches are needed because the rules file's
# `-F path=DIR` watches do not see writes to existing files: they match only system
# calls that name the directory itself (a creation, deletion or rename, through its
# PARENT item), never an append, a truncation, or a chmod, chown or utimensat of a file
# already there. A tree watch is loaded only for a directory that exists when `watches
# add` runs, so /etc/modprobe.d and /etc/modules-load.d are made first when missing.
#
# Writes OUTDIR/report/audit.log.1 (the part written before the rotation) and
# OUTDIR/report/audit.log (the part after it), exactly as auditd wrote them;
# OUTDIR/report-fleet.log.gz, the same records as an aggregator with name_format would
# write them for two hosts (alpha, beta); OUTDIR/report/STEPS.md, the audit event ids of
# every step and what a report should make of them. The expectations live in
# Tests/ComplianceTests/PeriodReportTests.swift: keep the two in step.
#
# Needs root and auditd with log_format = ENRICHED. Everything it adds (rules, files, the
# /etc/modprobe.d directory if it had to make it) is removed on exit, even on failure,
# and auditd is left running or stopped as it was found. It takes the lock the project's
# tests take before touching audit state (CI_LOG=FILE: first wait until FILE has a line
# starting with rc=, the end of a CI run).
#
# Observed on Linux 6.18 with auditd 3.0.9 with the path= watches alone (the first version
# of this script): steps b, c and d (an append, a truncation and rewrite, chmod and chown
# of an existing file) left no file event, only the exec events of their programs, as the
# path= watches name only the directory. With the tree watches they have file events
# (STEPS.md lists each step's events and system calls). Step l removes one path= watch
# only: the tree watch on /etc/modules-load.d stays, so the creation after it may still
# be recorded (STEPS.md says whether it was).
#
# Side effects that cannot be undone: auditd's log is rotated once (step i), and once more
# before the recording when audit.log is near max_log_file (see "Headroom"); with
# num_logs = N, each rotation drops the oldest of the N-1 kept logs, as any rotation does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="${1:-$here/kernel}"
rules_dir=$(cd "$here/../../audit-rules" && pwd)
lkm=${AUDISP_LKM:-audisp-lkm}
rules="$rules_dir/50-audisp-lkm.rules"
# install.sh --with-exec installs 55-audisp-lkm-exec.rules (an older layout had 51-).
exec_rules=""
for f in "$rules_dir/55-audisp-lkm-exec.rules" "$rules_dir/51-audisp-lkm-exec.rules"; do
	[ -f "$f" ] && { exec_rules=$f; break; }
done
log=/var/log/audit/audit.log
ci_log=${CI_LOG-}
M=/etc/modprobe.d
L=/etc/modules-load.d

say() { echo "record-report: $*" >&2; }
die() { say "$*"; exit 1; }

# auditd_pid, any_auditd, start_auditd, stop_auditd, wait_auditd_stopped.
. "$here/auditd-recording.sh"

# The size of $1 at a moment it ends with a whole line (auditd writes a record with more
# than one write only if it is long, but a slice must never start mid-line).
line_size() {
	local s
	for _ in $(seq 100); do
		s=$(stat -c %s "$1")
		[ "$s" -eq 0 ] && { echo 0; return 0; }
		[ "$(dd if="$1" bs=1 skip=$((s - 1)) count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 0a ] &&
			{ echo "$s"; return 0; }
		sleep 0.1
	done
	die "$1 does not end with a whole line"
}

# Waits (10 s at most) until $1 holds at least $2 lines matching the grep pattern $3.
wait_log() {
	local file=$1 want=$2 pattern=$3
	for _ in $(seq 100); do
		[ "$(grep -c -- "$pattern" "$file" || true)" -ge "$want" ] && return 0
		sleep 0.1
	done
	die "$file: $want records matching '$pattern' did not arrive within 10 s"
}

was_running=false      # auditd ran when the script started: it runs when the script ends
loaded=false           # the product's rules are loaded (by this script)
made_dirs=()           # places this script had to make
tmp=""                 # scratch directory (not under /etc, /run or /usr)
cleanup() {
	set +e
	if $loaded; then
		auditctl -D -k audisp-lkm >/dev/null 2>&1
		auditctl -D -k audisp-lkm-exec >/dev/null 2>&1
	fi
	rm -f $M/lkmrep-* $L/lkmrep-* /var/tmp/lkmrep-* 2>/dev/null
	# sed -i's temporary file, if sed died before renaming it (only one made by this run).
	[ -n "$tmp" ] && [ -d $M ] && find $M -maxdepth 1 -name 'sed??????' -newer "$tmp/start" -delete 2>/dev/null
	for d in "${made_dirs[@]}"; do rmdir "$d" 2>/dev/null || say "could not remove $d"; done
	if $was_running && [ -z "$(auditd_pid)" ]; then
		start_auditd
	elif ! $was_running && any_auditd; then
		stop_auditd
	fi
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "line $LINENO failed: $BASH_COMMAND"' ERR

[ "$(id -u)" = 0 ] || die "needs root"
[ -f "$rules" ] || die "$rules is missing"
for c in auditctl auditd perl sed truncate touch flock od dd; do
	command -v "$c" >/dev/null || die "$c is not installed"
done
# The product's binary (AUDISP_LKM, or audisp-lkm on PATH) loads the tree watches.
case $lkm in
*/*) ;;
*) lkm=$(command -v "$lkm" 2>/dev/null) || die "audisp-lkm is not on PATH: set AUDISP_LKM to the product's binary" ;;
esac
[ -f "$lkm" ] && [ -x "$lkm" ] || die "AUDISP_LKM=$lkm is not an executable file (the product's binary is needed for \`watches add\`)"

# A CI run of the project may be using auditd: wait (25 min at most) until its log has its
# final `rc=` line.
if [ -n "$ci_log" ]; then
	for i in $(seq 76); do
		grep -q '^rc=' "$ci_log" 2>/dev/null && break
		[ "$i" = 76 ] && die "$ci_log has no rc= line after 25 minutes"
		[ "$i" = 1 ] && say "waiting for $ci_log to end (rc= line)"
		sleep 20
	done
fi

# Everything below touches audit state: under the project's tests' lock (30 min at most).
take_tests_lock

# The fixture is in auditd's ENRICHED format (the \x1d-separated translated fields).
format=$(sed -n 's/^log_format *= *//p' /etc/audit/auditd.conf)
[ "$format" = ENRICHED ] || die "log_format is '${format:-unset}' in /etc/audit/auditd.conf, not ENRICHED"
require_log_file
[ "$(uname -m)" = x86_64 ] || die "step l's expectations are for x86_64"
# Rules of these keys loaded by someone else would be removed at the end: refuse.
! auditctl -l | grep -q 'key=audisp-lkm' || die "rules with key audisp-lkm* are loaded already"
ls -d $M/lkmrep-* $L/lkmrep-* /var/tmp/lkmrep-* >/dev/null 2>&1 && die "lkmrep-* files exist already"

tmp=$(mktemp -d /tmp/lkmrep-run.XXXXXX)
touch "$tmp/start"
# The places written to must exist before the watches load (a directory made afterwards
# would add its own record); a directory made here is removed at the end.
for d in $M $L; do
	[ -d "$d" ] || { mkdir -m 0755 "$d"; made_dirs+=("$d"); }
done

# auditd: left as found. Started here if it is not running (and stopped by cleanup).
if [ -n "$(auditd_pid)" ]; then
	was_running=true
else
	any_auditd && die "an auditd runs that the kernel does not send to; stop it first"
	say "auditd is not running: starting it (it is stopped again at the end)"
	start_auditd
fi

# Headroom: the capture assumes exactly one rotation (step i). auditd also rotates when
# audit.log reaches max_log_file; with the exec rules every exec on the machine is logged
# (about 1.5 KB each), so when less than 4 MiB is left the log is rotated first, outside
# the recording.
max_mb=$(sed -n 's/^max_log_file *= *//p' /etc/audit/auditd.conf)
if [ -n "$max_mb" ] && [ "$(stat -c %s "$log")" -gt $(( (max_mb - 4) * 1048576 )) ]; then
	say "audit.log is within 4 MiB of max_log_file ($max_mb MB): rotating it before recording"
	ino=$(stat -c %i "$log")
	auditctl --signal USR1 >/dev/null
	for _ in $(seq 100); do [ "$(stat -c %i "$log" 2>/dev/null)" != "$ino" ] && break; sleep 0.1; done
	wait_log "$log" 1 '^type=DAEMON_ROTATE '
	sleep 1
fi

# The capture starts here, before the rules load, so their CONFIG_CHANGE add_rule
# records are in it: the byte offset in audit.log and the file's inode, to find the file
# again as audit.log.1 after step i.
start_ino=$(stat -c %i "$log")
start_off=$(line_size "$log")
say "capturing $log from byte $start_off (inode $start_ino)"

# The product's rules, as install.sh loads them (--with-exec included), then `audisp-lkm
# watches add`, as install.sh runs it: the io_uring watches (auditctl 3.0.9 cannot load
# 52-audisp-lkm-io_uring.rules) and the dir= tree watches on the places that exist.
loaded=true
load_rules() {
	auditctl -R "$rules" >/dev/null
	[ -n "$exec_rules" ] && auditctl -R "$exec_rules" >/dev/null
	"$lkm" watches add --key audisp-lkm >"$tmp/watches.out" 2>&1 ||
		{ cat "$tmp/watches.out" >&2; die "$lkm watches add --key audisp-lkm failed"; }
	sed 's/^/record-report: watches add: /' "$tmp/watches.out" >&2
}
load_rules
nrules=$(auditctl -l | grep -c 'key=audisp-lkm')
ntree=$(auditctl -l | grep -c -- '-F dir=.*key=audisp-lkm')
for d in $M $L; do
	auditctl -l | grep -qE -- "arch=b64 .*-F dir=$d -F perm=wa .*key=audisp-lkm\$" ||
		die "no b64 dir= tree watch on $d after watches add"
done
say "loaded $nrules rules ($ntree dir= tree watches)"

# Each step's programs run through `run STEP CMD...`, which notes the pid of the process
# (the pid= of its exec event, and of its file events) for STEPS.md.
pids="$tmp/pids"
: > "$pids"
run() {
	local step=$1; shift
	"$@" &
	local p=$!
	printf '%s\t%s\t%s\n' "$step" "$p" "$*" >> "$pids"
	wait "$p"
}

sleep 1.2
# a. creation by a shell (O_CREAT|O_TRUNC of a new name)
run a sh -c 'echo "install cramfs /bin/false" > /etc/modprobe.d/lkmrep-a.conf'
sleep 1.2
# b. modification: an append to the existing file
run b sh -c 'echo "blacklist cramfs" >> /etc/modprobe.d/lkmrep-a.conf'
sleep 1.2
# c. truncation, then a rewrite: the existing file opened O_TRUNC is a modification
run c truncate -s 0 $M/lkmrep-a.conf
run c sh -c 'echo "install cramfs /bin/false" > /etc/modprobe.d/lkmrep-a.conf'
sleep 1.2
# d. permission, owner and modification-time change (and an extended attribute, if
#    setfattr is installed)
run d chmod 600 $M/lkmrep-a.conf
run d chown 1:1 $M/lkmrep-a.conf
run d touch -m -d '2020-01-01' $M/lkmrep-a.conf
if command -v setfattr >/dev/null; then
	run d setfattr -n user.lkmrep -v 1 $M/lkmrep-a.conf
else
	say "setfattr is not installed: step d has no extended attribute change"
fi
sleep 1.2
# e. operations the rule excludes: a creation by perl (process.name perl), and sed -i,
#    which writes a temporary sedXXXXXX (process.name sed and file.name sed*) and renames
#    it onto lkmrep-perl.conf
run e perl -e 'open(F, ">/etc/modprobe.d/lkmrep-perl.conf") or die; print F "options x y=1\n"'
run e sed -i 's/x/y/' $M/lkmrep-perl.conf
sleep 1.2
# f. a rename within a place
run f mv $M/lkmrep-a.conf $M/lkmrep-b.conf
sleep 1.2
# g. a creation in /etc/modules-load.d
run g sh -c 'echo dccp > /etc/modules-load.d/lkmrep-load.conf'
sleep 1.2
# h. auditd stopped and started within the period: a creation while it is down is not in
#    the log (with no audit=1 on the kernel's command line the kernel keeps no hold queue
#    for records made while no auditd listens). The rules stay loaded in the kernel.
run h auditctl --signal TERM
wait_auditd_stopped
run h sh -c 'echo x > /etc/modprobe.d/lkmrep-unseen.conf'
sleep 2
start_auditd
printf 'h\t%s\tauditd (started again)\n' "$(auditd_pid)" >> "$pids"
if [ "$(auditctl -l | grep -c 'key=audisp-lkm')" != "$nrules" ]; then
	say "the rules did not survive auditd's restart: loading them again"
	load_rules
fi
sleep 1.2
# i. log rotation: audit.log becomes audit.log.1 (auditd writes DAEMON_ROTATE)
run i auditctl --signal USR1
sleep 1
[ "$(stat -c %i "$log.1" 2>/dev/null)" = "$start_ino" ] ||
	die "after SIGUSR1 $log.1 is not the file the capture started in (no rotation, or more than one)"
sleep 0.2
# j. a rename out of a place
run j mv $M/lkmrep-b.conf /var/tmp/lkmrep-out.conf
sleep 1.2
# k. deletions
run k rm $M/lkmrep-perl.conf
run k rm $L/lkmrep-load.conf
run k rm $M/lkmrep-unseen.conf
sleep 1.2
# l. tampering: one watch removed (CONFIG_CHANGE op=remove_rule). The rule text is taken
#    from the rules file (its perm= field must match exactly). Only that path= watch
#    goes: the dir= tree watch on the place (both tables) stays, so the creation and
#    deletion afterwards may still be recorded through it (STEPS.md says whether).
del=$(grep -E '^-a always,exit -F arch=b64 -F path=/etc/modules-load.d -F perm=[rwxa]+ -k audisp-lkm$' "$rules" |
	sed 's/^-a /-d /')
[ -n "$del" ] || die "no b64 watch on /etc/modules-load.d in $rules"
# shellcheck disable=SC2086  # the rule's words
run l auditctl $del
run l sh -c 'echo y > /etc/modules-load.d/lkmrep-after.conf'
run l rm $L/lkmrep-after.conf
sleep 1.2
# The end of the period: the rules removed (CONFIG_CHANGE op=remove_rule for each).
run z auditctl -D -k audisp-lkm >/dev/null
[ -n "$exec_rules" ] && run z auditctl -D -k audisp-lkm-exec >/dev/null
loaded=false
sleep 1

# auditd writes behind the kernel: wait until the last removal is in the log.
last_key=audisp-lkm; [ -n "$exec_rules" ] && last_key=audisp-lkm-exec
wait_log "$log" "$(grep -c -- "-k $last_key\$" "${exec_rules:-$rules}")" "op=remove_rule key=\"$last_key\""

# The slices, as auditd wrote them: audit.log.1 from the offset, all of audit.log.
mkdir -p "$out/report"
tail -c +$((start_off + 1)) "$log.1" > "$out/report/audit.log.1"
end_off=$(line_size "$log")
head -c "$end_off" "$log" > "$out/report/audit.log"

# The fleet log: what an aggregator's auditd (name_format = user, fed by audisp-remote on
# two hosts that recorded the same period) writes. Every record gets its host's
# `node=NAME ` prefix; records arrive event by event, so a run of lines with one
# msg=audit(...) stamp from alpha is followed by the same run from beta. Both hosts thus
# reuse every serial number and inode, as separate machines do.
cat "$out/report/audit.log.1" "$out/report/audit.log" | awk '
	function flush(   i) {
		for (i = 1; i <= n; i++) print "node=alpha " run[i]
		for (i = 1; i <= n; i++) print "node=beta " run[i]
		n = 0
	}
	{
		stamp = ""
		if (match($0, /msg=audit\([0-9.]+:[0-9]+\)/)) stamp = substr($0, RSTART, RLENGTH)
		if (n > 0 && stamp != cur) flush()
		cur = stamp; run[++n] = $0
	}
	END { flush() }' > "$out/report-fleet.log"

# STEPS.md: each step's events, found by the pids of its programs (their exec events,
# key audisp-lkm-exec, and file events, key audisp-lkm), then auditd's and the rules' own
# records. The classification is what a report over the period should say.
# Step l: was lkmrep-after.conf recorded (through the dir= tree watch that stays)?
# (grep reads the files itself: `cat | grep -q` fails under pipefail when grep stops early)
if grep -q '^type=PATH .*lkmrep-after.conf" .*nametype=CREATE' "$out/report/audit.log.1" "$out/report/audit.log"; then
	after_text='**creation, alert** and **deletion, none**: recorded although the path= watch is gone, because the b64 dir= tree watch on /etc/modules-load.d (loaded by `audisp-lkm watches add`) was not removed; the report still shows the tampering'
else
	after_text='**not in the log** (x86_64 programs used the removed b64 watch) except as exec events'
fi
declare -A what=(
	[a]='creation of lkmrep-a.conf by sh: **creation, alert**'
	[b]='append to lkmrep-a.conf (open O_WRONLY|O_CREAT|O_APPEND of an existing file): a report should call it **modification, no alert** (the rule alerts on creation and rename only). The path= watch on the directory matches only system calls that name the directory itself (the PARENT item of a creation, deletion or rename); this open names only the file, and is recorded through the dir= tree watch that `audisp-lkm watches add` loaded (a PATH item of nametype NORMAL, no PARENT)'
	[c]='truncate(1) (open of the existing file, then ftruncate on the descriptor) and a rewrite through `>` (O_CREAT|O_TRUNC of an existing file): a report should call both **modification, no alert** (not a creation). As in step b, only the dir= tree watch sees them. Observed on 6.18 (coreutils 9.1): truncate(1) opens the file with openat O_WRONLY|O_CREAT|O_NONBLOCK, which is recorded (nametype NORMAL), then calls ftruncate on the descriptor, which is not (no name, no truncate system call); the rewrite is an openat O_WRONLY|O_CREAT|O_TRUNC, nametype NORMAL. An O_CREAT open of an existing file is no creation: the PATH item says NORMAL, not CREATE'
	[d]='chmod 600, chown 1:1 and `touch -m -d 2020-01-01` (and setfattr, when installed): a report should call them **attributes (permission, owner, times), no alert**. They name only the file, never the watched directory: only the dir= tree watch (perm=wa, the attribute class) records them. Observed on 6.18 (coreutils 9.1): chmod is fchmodat and chown is fchownat, each recorded with the file as a NORMAL item; touch opens the file (openat O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK, recorded, nametype NORMAL) and then calls utimensat(0, NULL, ...) on that descriptor, which names nothing and is **not recorded**: the time change is seen only as touch'"'"'s open (and its exec event)'
	[e]='perl creates lkmrep-perl.conf: **creation, excluded** (process.name perl). sed -i: sedXXXXXX created: **creation, excluded** (process.name sed and file.name sed*); renamed onto lkmrep-perl.conf: **rename**, which the sed clause does not cover (file.name is lkmrep-perl.conf): **alert** under rule version 1 (renames count), none under version 6. Between the two, sed gives the temporary file the original'"'"'s owner and security attributes through its descriptor (fchown, fsetxattr; the dir= tree watch records them with a PATH item of name (null)): attributes of sedXXXXXX, **excluded** with it'
	[f]='mv lkmrep-a.conf to lkmrep-b.conf: **rename within the place, alert** (version 1)'
	[g]='creation of /etc/modules-load.d/lkmrep-load.conf by sh: **creation, alert**'
	[h]='auditd stopped (DAEMON_END), lkmrep-unseen.conf created while it was down (**not in the log**: the gap), auditd started (DAEMON_START); the report should show the gap'
	[i]='auditctl --signal USR1: DAEMON_ROTATE; the period continues in the next file'
	[j]='mv lkmrep-b.conf to /var/tmp/lkmrep-out.conf: **rename out of the place, none** (the destination is outside the rule): for the place, a removal'
	[k]='rm of lkmrep-perl.conf, lkmrep-load.conf and lkmrep-unseen.conf: **deletion, none** (lkmrep-unseen.conf is deleted without its creation being in the log)'
	[l]="auditctl -d of the b64 path= watch on /etc/modules-load.d: CONFIG_CHANGE op=remove_rule: **tampering (watch removal), alert**; lkmrep-after.conf created and removed afterwards: $after_text"
	[z]='the rules removed at the end of the period (CONFIG_CHANGE op=remove_rule): end of coverage'
)
{
	echo "# Steps of the period-report fixture"
	echo
	echo "Recorded by record-report.sh on $(uname -r) ($(uname -m)), auditd $(auditctl -v | sed 's/.* //'),"
	echo "log_format = $format. Rules: $(basename "$rules")${exec_rules:+ and $(basename "$exec_rules")}, then"
	echo "\`audisp-lkm watches add --key audisp-lkm\` (io_uring watches and $ntree dir= tree watches); $nrules rules in all."
	echo "Slices: report/audit.log.1 ($(stat -c %s "$out/report/audit.log.1") bytes, from byte $start_off of the"
	echo "rotated file) and report/audit.log ($(stat -c %s "$out/report/audit.log") bytes). Event ids are SEC.MSEC:SERIAL;"
	echo "times are UTC. Exec events (key audisp-lkm-exec) are each program's execve; file"
	echo "events carry key audisp-lkm. Records of other processes on the machine are kept."
	for step in a b c d e f g h i j k l z; do
		echo
		echo "## Step $step"
		echo
		echo "${what[$step]}"
		echo
		awk -F '\t' -v s="$step" '$1 == s { printf "- `%s` (pid %s)\n", $3, $2 }' "$pids"
		echo
		cat "$out/report/audit.log.1" "$out/report/audit.log" | awk -v s="$step" -v pidfile="$pids" '
			BEGIN { FS = "\t"; while ((getline l < pidfile) > 0) { split(l, f, "\t"); if (f[1] == s) mine[f[2]] = 1 }; FS = " " }
			{
				if (!match($0, /msg=audit\([0-9.]+:[0-9]+\)/)) next
				id = substr($0, RSTART + 10, RLENGTH - 11)
				pid = ""; if (match($0, / pid=[0-9]+/)) pid = substr($0, RSTART + 5, RLENGTH - 5)
			}
			# auditd records name the process that asked (auditctl) or auditd itself.
			/^type=DAEMON_[A-Z]+ / && (pid in mine) {
				t = $1; sub(/^type=/, "", t); op = ""; if (match($0, / op=[^ ]+/)) op = substr($0, RSTART + 1, RLENGTH - 1)
				order[++n] = id; line[id] = sprintf("%s %s", t, op); file[id] = 1; next
			}
			/^type=SYSCALL / {
				if (!(pid in mine)) next
				sc = ""; if (match($0, /\035ARCH=[^ ]+ SYSCALL=[^ ]+/)) { sc = substr($0, RSTART, RLENGTH); sub(/.*SYSCALL=/, "", sc) }
				key = ""; if (match($0, / key="[^"]*"/)) key = substr($0, RSTART + 6, RLENGTH - 7)
				ok = ""; if (match($0, / success=[a-z]+/)) ok = substr($0, RSTART + 9, RLENGTH - 9)
				comm = ""; if (match($0, / comm="[^"]*"/)) comm = substr($0, RSTART + 7, RLENGTH - 8)
				# open flags (a1 of open, a2 of openat; the raw fields are hexadecimal)
				fl = ""; fa = (sc == "open" ? "a1" : sc == "openat" ? "a2" : "")
				if (fa != "" && match($0, " " fa "=[0-9a-f]+")) fl = " " oflags(substr($0, RSTART + 4, RLENGTH - 4))
				order[++n] = id; line[id] = sprintf("%s%s (success=%s) by %s, key %s", sc, fl, ok, comm, key == "" ? "(null)" : key)
				if (key == "audisp-lkm") file[id] = 1
				next
			}
			/^type=PATH / && (id in line) {
				nm = ""; if (match($0, / name=("[^"]*"|[0-9A-F]+|\(null\))/)) nm = substr($0, RSTART + 6, RLENGTH - 6)
				nt = ""; if (match($0, / nametype=[A-Z]+/)) nt = substr($0, RSTART + 10, RLENGTH - 10)
				paths[id] = paths[id] sprintf(" %s %s", nm, nt)
			}
			# (the kernel writes the CONFIG_CHANGE record of an event before its SYSCALL record)
			/^type=CONFIG_CHANGE / {
				c = ""; if (match($0, / op=[^ ]+/)) c = substr($0, RSTART + 1, RLENGTH - 1)
				if (match($0, / key="[^"]*"/)) c = c substr($0, RSTART, RLENGTH)
				cc[id] = "; CONFIG_CHANGE " c
			}
			function hex(h,   v, i) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
			function oflags(h,   v, r, i, nm, bit) {
				v = hex(h); r = (v % 4 == 1 ? "O_WRONLY" : v % 4 == 2 ? "O_RDWR" : "O_RDONLY")
				split("64 128 256 512 1024 2048 65536 131072 524288", bit, " ")
				split("O_CREAT O_EXCL O_NOCTTY O_TRUNC O_APPEND O_NONBLOCK O_DIRECTORY O_NOFOLLOW O_CLOEXEC", nm, " ")
				for (i = 1; i <= 9; i++) if (int(v / bit[i]) % 2) r = r "|" nm[i]
				return r
			}
			function show(i, j,   a, t) {
				a = order[i]; t = a; sub(/:.*/, "", t)
				if (j > i) printf "- `%s` .. `%s` (%d events) %s%s at %s\n", a, order[j], j - i + 1, line[a], cc[a], strftime("%H:%M:%S", t, 1)
				else printf "- `%s` %s%s at %s%s\n", a, line[a], cc[a], strftime("%H:%M:%S", t, 1), paths[a] == "" ? "" : "; PATH:" paths[a]
			}
			END {
				# Runs of like events with no PATH (auditctl -D: one sendto per rule) on one line.
				for (i = 1; i <= n; i = j + 1) {
					for (j = i; j < n && paths[order[i]] == "" && paths[order[j + 1]] == "" &&
						line[order[j + 1]] == line[order[i]] && cc[order[j + 1]] == cc[order[i]]; j++) ;
					show(i, j)
				}
				if (n == 0) print "- (no events)"
				nf = 0; for (i = 1; i <= n; i++) if ((order[i] in file) || (order[i] in cc)) nf++
				if (nf == 0) print "\n_No file event (key audisp-lkm) and no auditd record in the log for this step._"
			}'
	done
	echo
	echo "## auditd's and the rules' own records"
	echo
	echo "CONFIG_CHANGE records of one operation and key less than 0.5 s apart are on one line."
	echo
	for f in audit.log.1 audit.log; do
		echo "In report/$f ($(head -n 1 "$out/report/$f" | grep -o 'audit([0-9.:]*)') to $(tail -n 1 "$out/report/$f" | grep -o 'audit([0-9.:]*)')):"
		echo
		awk '
			function flush() {
				if (cnt) printf "- %s: `%s`%s at %s\n", what, first, (cnt > 1 ? " .. `" last "` (" cnt " records)" : ""), strftime("%H:%M:%S", t0, 1)
				cnt = 0
			}
			/^type=(DAEMON_[A-Z]+|CONFIG_CHANGE) / {
				match($0, /msg=audit\([0-9.]+:[0-9]+\)/); id = substr($0, RSTART + 10, RLENGTH - 11)
				t = id; sub(/:.*/, "", t)
				type = $1; sub(/^type=/, "", type)
				rest = $0; sub(/^[^)]*\): /, "", rest); sub(/\035.*/, "", rest)
				w = type; if (match(rest, /op=[^ ]+/)) w = w " " substr(rest, RSTART, RLENGTH)
				if (match(rest, /key="[^"]*"/)) w = w " " substr(rest, RSTART, RLENGTH)
				if (match(rest, /audit_pid=[0-9]+ old=[0-9]+/)) w = w " " substr(rest, RSTART, RLENGTH)
				if (match(rest, /audit_enabled=[0-9]+/)) w = w " " substr(rest, RSTART, RLENGTH)
				if (cnt && type == "CONFIG_CHANGE" && w == what && t - tl < 0.5) { last = id; tl = t; cnt++; next }
				flush(); what = w; first = last = id; cnt = 1; t0 = tl = t
			}
			END { flush() }' "$out/report/$f"
		echo
	done
} > "$out/report/STEPS.md"
gzip -n -9 -f "$out/report-fleet.log"

# Checks: the records a report needs are there, the unseen ones are not.
all="$tmp/all.log"
cat "$out/report/audit.log.1" "$out/report/audit.log" > "$all"
for t in DAEMON_END DAEMON_START; do
	grep -q "^type=$t " "$all" || die "no $t record in the slices"
done
grep -q '^type=DAEMON_ROTATE ' "$out/report/audit.log.1" "$out/report/audit.log" || die "no DAEMON_ROTATE record"
grep -q 'op=add_rule key="audisp-lkm"' "$all" || die "no add_rule record"
grep -q 'op=remove_rule key="audisp-lkm"' "$all" || die "no remove_rule record"
for n in lkmrep-a.conf lkmrep-b.conf lkmrep-perl.conf lkmrep-load.conf; do
	grep -q "^type=PATH .*name=\"[^\"]*$n\"" "$all" || die "no PATH record names $n"
done
grep -q '^type=PATH .*lkmrep-unseen.conf" .*nametype=CREATE' "$all" && die "lkmrep-unseen.conf's creation is in the log"
grep -q '^type=PATH .*lkmrep-after.conf" .*nametype=CREATE' "$all" &&
	say "note: lkmrep-after.conf's creation (step l) is in the log, through the dir= tree watch"
# Steps b, c and d: a file event (key audisp-lkm) of the step's programs whose PATH
# records name lkmrep-a.conf; the system calls seen are reported.
for step in b c d; do
	seen=$(awk -v s="$step" -v pidfile="$pids" '
		BEGIN { FS = "\t"; while ((getline l < pidfile) > 0) { split(l, f, "\t"); if (f[1] == s) mine[f[2]] = 1 }; FS = " " }
		{ if (!match($0, /msg=audit\([0-9.]+:[0-9]+\)/)) next; id = substr($0, RSTART, RLENGTH) }
		/^type=SYSCALL / && / key="audisp-lkm"/ {
			pid = ""; if (match($0, / pid=[0-9]+/)) pid = substr($0, RSTART + 5, RLENGTH - 5)
			if (pid in mine) { sc = ""; if (match($0, /SYSCALL=[^ ]+/)) sc = substr($0, RSTART + 8, RLENGTH - 8); ev[id] = sc }
		}
		/^type=PATH / && /lkmrep-a\.conf"/ && (id in ev) && !(id in done) { done[id] = 1; out = out " " ev[id] }
		END { print substr(out, 2) }' "$all")
	[ -n "$seen" ] || die "step $step: no file event (key audisp-lkm) names lkmrep-a.conf"
	say "step $step: file events naming lkmrep-a.conf: $seen"
done
say "wrote $out: report/audit.log.1 ($(stat -c %s "$out/report/audit.log.1") bytes)," \
	"report/audit.log ($(stat -c %s "$out/report/audit.log") bytes)," \
	"report-fleet.log.gz ($(stat -c %s "$out/report-fleet.log.gz") bytes), report/STEPS.md"
