#!/usr/bin/env bash
# Re-records Tests/Fixtures/kernel/x86_64-i386.log from the running kernel, and the
# ausearch renderings of it beside it (default and -i output, for the replay tests).
# With an argument, writes only the raw log, to that file (the live test does this).
#
# Loads watch rules on the LKM configuration paths (key "lkmfix") plus exec
# tracking for this script's children, performs every creation and rename
# route with programs/lkmops (x86_64 and i386 builds) and a #! script, then
# copies the raw records auditd wrote (ENRICHED format) with `ausearch --raw`.
# Everything it adds (rules, files, directories) is removed on exit, even on
# failure. The expectations live in Tests/FileEventsTests/KernelFixtureTests.swift
# and describe what each step below did: keep the two in step.
#
# Needs root, auditd running with log_format = ENRICHED, gcc and gcc-multilib.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="${1:-$here/kernel/x86_64-i386.log}"
work=/var/tmp/lkmfix
rm -rf "$work" && mkdir -m 0755 "$work"
made_dirs=()

cleanup() {
	auditctl -D -k lkmfix >/dev/null 2>&1 || true
	rm -f /etc/modprobe.d/lkmfix-* /etc/modprobe.d/.lkmfix-* /usr/lib/modprobe.d/lkmfix-* \
		/etc/modules-load.d/lkmfix-* /etc/modprobe.d/$'lkmfix-nl\nx.conf' 2>/dev/null || true
	rm -rf /etc/modprobe.d/lkmfix-dir "$work"
	[ -f "$work.modules-created" ] && rm -f /etc/modules "$work.modules-created"
	for d in "${made_dirs[@]}"; do rmdir "$d" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'echo "record-fixtures: line $LINENO failed: $BASH_COMMAND" >&2' ERR

[ "$(id -u)" = 0 ] || { echo "record-fixtures: needs root" >&2; exit 1; }
auditctl -s | grep -q '^pid [1-9]' || { echo "record-fixtures: auditd is not running" >&2; exit 1; }

for d in /etc/modprobe.d /etc/modules-load.d; do
	[ -d "$d" ] || { mkdir "$d"; made_dirs+=("$d"); }
done
[ -e /etc/modules ] && { echo "record-fixtures: /etc/modules exists; refusing to touch it" >&2; exit 1; }

gcc -O2 -Wall -o "$work/lkmops" "$here/programs/lkmops.c"
gcc -m32 -O2 -Wall -o "$work/lkmops32" "$here/programs/lkmops.c"
install -m 0755 "$here/programs/droplet-agent.postinst" "$work/droplet-agent.postinst"

for d in /etc/modprobe.d /etc/modules-load.d /usr/lib/modprobe.d; do
	auditctl -w "$d" -p wa -k lkmfix
done
auditctl -a always,exit -F arch=b64 -F dir=/etc -F name=modules -F perm=wa -k lkmfix 2>/dev/null ||
	auditctl -w /etc/modules -p wa -k lkmfix
auditctl -a always,exit -F arch=b64 -S execve,execveat -F ppid=$$ -k lkmfix
auditctl -a always,exit -F arch=b32 -S execve -F ppid=$$ -k lkmfix

start_date=$(date +%x) start_time=$(date +%T)
sleep 1
ops="$work/lkmops"
ops32="$work/lkmops32"
M=/etc/modprobe.d

# Each line is one step; the order is what KernelFixtureTests expects.
"$ops" openat-create $M/lkmfix-openat.conf                     # 1 creation
"$ops" open-create $M/lkmfix-open.conf                         # 2 creation
(cd $M && "$ops" creat lkmfix-creat.conf)                      # 3 creation, cwd-relative
"$ops" openat2-create $M/lkmfix-openat2.conf                   # 4 creation
"$ops" dirfd-create $M lkmfix-dirfd.conf                       # 5 creation, dirfd-relative
"$ops" create-excl $M/lkmfix-openat.conf || true               # 6 failed: ignored
"$ops" open-existing $M/lkmfix-openat.conf                     # 7 not a creation
"$ops" tmpfile-link $M $M/lkmfix-tmpfile.conf                  # 8 O_TMPFILE + linkat: creation
echo x > "$work/src.conf"
"$ops" link "$work/src.conf" $M/lkmfix-link.conf               # 9 link: creation
"$ops" symlink /var/tmp/evil.conf $M/lkmfix-symlink.conf       # 10 symlink: creation
"$ops" mknod $M/lkmfix-fifo.conf                               # 11 mknod: creation
"$ops" mkdir $M/lkmfix-dir                                     # 12 mkdir: not a creation
echo x > "$work/r.conf"
"$ops" rename "$work/r.conf" $M/lkmfix-renamed.conf            # 13 rename into the dir
"$ops" rename $M/lkmfix-open.conf $M/lkmfix-openat.conf        # 14 rename over an existing file
"$ops" renameat-dirfd $M lkmfix-creat.conf $M lkmfix-dirfd-renamed.conf   # 15 renameat, dirfds
echo x > "$work/nr.conf"
"$ops" renameat2-noreplace "$work/nr.conf" $M/lkmfix-noreplace.conf      # 16 RENAME_NOREPLACE
echo x > "$work/ex.conf"
"$ops" renameat2-exchange "$work/ex.conf" $M/lkmfix-openat2.conf         # 17 RENAME_EXCHANGE
"$ops" openat-create $M/../modprobe.d//lkmfix-dots.conf        # 18 '..' and '//'
"$ops" openat-create /lib/modprobe.d/lkmfix-alias.conf         # 19 merged-/usr alias
"$ops" openat-create $M/$'lkmfix-nl\nx.conf'                   # 20 newline in the name
"$ops" openat-create "$M/lkmfix-quote\"'.conf"                 # 21 quotes
"$ops" openat-create $M/$'lkmfix-esc\e[31m.conf'               # 22 escape sequence
"$ops" openat-create $M/$'lkmfix-bin\xff\xfe.conf'             # 23 non-UTF-8 bytes
"$ops" openat-create "$M/lkmfix-sp ace.conf"                   # 24 space (hex-encoded)
"$ops32" openat-create /etc/modules-load.d/lkmfix-i386.conf    # 25 i386 creation
"$ops32" rename /etc/modules-load.d/lkmfix-i386.conf /etc/modules-load.d/lkmfix-i386-renamed.conf  # 26 i386 rename
touch "$work.modules-created"
"$work/droplet-agent.postinst"                                 # 27, 28 #! script: /etc/modules, then a forked child
(cd /etc/modules-load.d && "$ops" renameat2-noreplace ../modprobe.d/lkmfix-link.conf lkmfix-moved.conf)  # 29 relative rename between dirs
"$ops" unlink $M/lkmfix-fifo.conf                              # 30 deletion: not a candidate

# auditd writes behind the kernel: wait (10 s at most) until the last step is in the log.
for _ in $(seq 100); do
	ausearch --input-logs --raw -k lkmfix --start "$start_date" "$start_time" > "$out" || true
	grep -q 'lkmfix-fifo\.conf" .*nametype=DELETE' "$out" && break
	sleep 0.1
done
if ! grep -q 'lkmfix-fifo\.conf" .*nametype=DELETE' "$out"; then
	log=$(sed -n 's/^log_file *= *//p' /etc/audit/auditd.conf)
	{
		echo "record-fixtures: the last step's records did not reach ${log:-the audit log} in 10 s" \
			"($(grep -c . "$out") lkmfix records found). auditd state:"
		auditctl -s
		ps -o pid,stat,args -C auditd || true
		df -h "$(dirname "${log:-/var/log/audit/x}")" || true
		tail -n 3 "${log:-/var/log/audit/audit.log}" || true
	} >&2
	exit 1
fi
echo "recorded $(grep -c . "$out") records into $out"
if [ $# -eq 0 ]; then
	ausearch -if "$out" > "${out%.log}.ausearch.txt"
	ausearch -i -if "$out" > "${out%.log}.interpreted.txt"
fi
