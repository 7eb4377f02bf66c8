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
#
# `record-fixtures.sh --evasion [FILE]` records instead only the evasion steps
# (see "Evasion steps" below) into FILE (default kernel/evasion.log): dirfd
# routes after a change of working directory, a watched directory created while
# the watches are loaded, and io_uring operations (programs/uringops, raw
# io_uring system calls) seen through io_uring path watches (programs/uringwatch,
# libaudit: auditctl 3.0.9 cannot write them). Also needs libaudit-dev and a
# kernel with io_uring enabled (kernel.io_uring_disabled = 0, Linux >= 5.16).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
evasion=false
if [ "${1:-}" = --evasion ]; then
	evasion=true
	out="${2:-$here/kernel/evasion.log}"
else
	out="${1:-$here/kernel/x86_64-i386.log}"
fi
work=/var/tmp/lkmfix
saved_modules=/var/tmp/lkmfix.modules-saved
rm -rf "$work" && mkdir -m 0755 "$work"
made_dirs=()
late=""        # --evasion: the watched directory created during the run

disabled_auditing=false  # --evasion: auditing switched off by step 14, on again right after
mounted=""               # --evasion: the bind mount of step 13, while it is mounted
cleanup() {
	$disabled_auditing && auditctl -e 1 >/dev/null 2>&1
	[ -n "$mounted" ] && umount "$mounted" 2>/dev/null
	auditctl -D -k lkmfix >/dev/null 2>&1 || true
	# auditctl -D removes the io_uring watches too; this is in case it did not.
	[ -x "$work/uringwatch" ] && "$work/uringwatch" remove --ops 0,18,28,35,36,37,38,39 lkmfix /etc/modprobe.d /etc/modules-load.d \
		${late:+"$late"} >/dev/null 2>&1 || true
	rm -f /etc/modprobe.d/lkmfix-* /etc/modprobe.d/.lkmfix-* /usr/lib/modprobe.d/lkmfix-* \
		/etc/modules-load.d/lkmfix-* /etc/modprobe.d/$'lkmfix-nl\nx.conf' 2>/dev/null || true
	[ -n "$late" ] && rm -rf "$late" "$late.old" "$late.old2" "$late.old3" "$late.new" "$late.new3" 2>/dev/null || true
	rm -rf /etc/modprobe.d/lkmfix-dir "$work"
	[ -f "$work.modules-created" ] && rm -f /etc/modules "$work.modules-created"
	[ -e "$saved_modules" ] && [ ! -e /etc/modules ] && mv "$saved_modules" /etc/modules
	for d in "${made_dirs[@]}"; do rmdir "$d" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'echo "record-fixtures: line $LINENO failed: $BASH_COMMAND" >&2' ERR

[ "$(id -u)" = 0 ] || { echo "record-fixtures: needs root" >&2; exit 1; }
# The kernel's pid must be a live auditd: one killed without unregistering stays listed.
. "$here/../../packaging/auditd-plugin.sh"
auditd_running || { echo "record-fixtures: auditd is not running" >&2; exit 1; }

# Copies the raw records of this run to $out, waiting (10 s at most) until `$1` (a grep
# pattern, or `count:N:PATTERN` for N matching records) shows auditd wrote the last step.
# `ausearch -k` misses URINGOP events (3.0.9 reads no key from them): --evasion adds
# them with `-m URINGOP` (those whose key is lkmfix) and merges by event serial.
extract() {
	local want=$1 found
	for _ in $(seq 100); do
		if $evasion; then
			{
				ausearch --input-logs --raw -k lkmfix --start "$start_date" "$start_time" || true
				ausearch --input-logs --raw -m URINGOP --start "$start_date" "$start_time" 2>/dev/null |
					awk '{ id = $2 } /^type=URINGOP / { keep[id] = / key="lkmfix"/ } { line[NR] = $0; ids[NR] = id }
						END { for (i = 1; i <= NR; i++) if (keep[ids[i]]) print line[i] }' || true
				# auditctl -e carries no key: its CONFIG_CHANGE records by their field.
				ausearch --input-logs --raw -m CONFIG_CHANGE --start "$start_date" "$start_time" 2>/dev/null |
					grep ' audit_enabled=' || true
			} | awk '!seen[$0]++ { match($0, /msg=audit\([0-9.]+:[0-9]+\)/)
					id = substr($0, RSTART + 10, RLENGTH - 11); sub(/^[0-9.]+:/, "", id)
					printf "%s\t%s\n", id, $0 }' | sort -s -t "$(printf '\t')" -n -k1,1 | cut -f2- > "$out"
		else
			ausearch --input-logs --raw -k lkmfix --start "$start_date" "$start_time" > "$out" || true
		fi
		case $want in
		count:*) found=$(grep -c -- "${want#count:*:}" "$out" || true)
			[ "$found" -ge "$(echo "$want" | cut -d: -f2)" ] && return 0 ;;
		*) grep -q -- "$want" "$out" && return 0 ;;
		esac
		sleep 0.1
	done
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
}

if $evasion; then
	# Evasion steps. The expectations (file events per step) are kept with the tests that
	# replay kernel/evasion.log: keep the two in step.
	[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] ||
		{ echo "record-fixtures: io_uring is disabled (kernel.io_uring_disabled)" >&2; exit 1; }
	M=/etc/modprobe.d
	[ -d $M ] || { mkdir $M; made_dirs+=($M); }
	[ -d /etc/modules-load.d ] || { mkdir /etc/modules-load.d; made_dirs+=(/etc/modules-load.d); }
	# A directory of the product's list that does not exist yet; it is created in step 4,
	# after the watches are loaded. /run/modules-load.d unless the machine has it.
	for d in /run/modules-load.d /run/modprobe.d /usr/local/lib/modules-load.d /usr/local/lib/modprobe.d; do
		[ -e "$d" ] || { late=$d; break; }
	done
	[ -n "$late" ] || { echo "record-fixtures: every late-directory candidate exists" >&2; exit 1; }
	[ "$late" = /run/modules-load.d ] || echo "record-fixtures: /run/modules-load.d exists; the late directory is $late" >&2
	L=$late

	gcc -O2 -Wall -o "$work/lkmops" "$here/programs/lkmops.c"
	gcc -O2 -Wall -o "$work/uringops" "$here/programs/uringops.c"
	gcc -O2 -Wall -o "$work/uringwatch" "$here/programs/uringwatch.c" -laudit
	echo x > "$work/a.conf"
	echo x > "$work/o.conf"
	echo "install usb-storage /bin/true" > "$work/xchg-evil.conf"
	mkdir "$work/msrc"; echo x > "$work/msrc/lkmfix-mounted.conf"
	for s in "" -async -sqpoll; do echo x > "$work/u$s.conf"; echo x > "$work/l$s.conf"; done

	# The rules' own CONFIG_CHANGE records (op=add_rule, list=4 and list=7) are recorded too.
	# The second starts after this script did: no record of an earlier run can be in it.
	sleep 1
	start_date=$(date +%x) start_time=$(date +%T)
	auditctl -w $M -p wa -k lkmfix
	auditctl -w /etc/modules-load.d -p wa -k lkmfix
	# The form the product ships for a directory that may not exist yet.
	auditctl -a always,exit -F arch=b64 -F path="$L" -F perm=w -k lkmfix
	auditctl -a always,exit -F arch=b32 -F path="$L" -F perm=w -k lkmfix
	# io_uring watches (list 7: AUDIT_WATCH + key) with the mask audisp-lkm loads: bit 0
	# (the index io_uring work is filtered with) and the operations' own bits; a mask of
	# every bit would also log each system call naming an entry (reads, cd).
	"$work/uringwatch" add --ops 0,18,28,35,36,37,38,39 lkmfix $M /etc/modules-load.d "$L"
	# A tree watch on the scratch directory: its subdirectories' moves are followed.
	auditctl -a always,exit -F arch=b64 -F dir="$work" -F perm=wa -k lkmfix
	auditctl -a always,exit -F arch=b64 -S io_uring_setup -k lkmfix
	# Mounts over the late place, as audit-rules/50-audisp-lkm.rules has them.
	auditctl -a always,exit -F arch=b64 -S mount -S move_mount -S open_tree -F path="$L" -k lkmfix
	auditctl -a always,exit -F arch=b64 -S execve,execveat -F ppid=$$ -k lkmfix
	auditctl -a always,exit -F arch=b32 -S execve -F ppid=$$ -k lkmfix

	ops="$work/lkmops"
	uring="$work/uringops"
	W=$work

	# Each line is one step; io_uring forms: openat by a dirfd to $M and a plain name,
	# renameat from an absolute name (AT_FDCWD) to dirfd + name, linkat from dirfd + name
	# to an absolute name, symlinkat to a name relative to the working directory ($M).
	"$ops" dirfd-create-chdir $M lkmfix-root-dirfd.conf /                              # 1 dirfd creation, cwd /
	"$ops" dirfd-create-chdir $M lkmfix-cwd-dirfd.conf /var/tmp                        # 2 dirfd creation, cwd /var/tmp
	"$ops" renameat-dirfd-chdir $W a.conf $M lkmfix-root-renamed.conf /                # 3 dirfd rename between dirs, cwd /
	mkdir "$L"; made_dirs+=("$L")                                                      # 4 the late directory appears,
	"$ops" dirfd-create-chdir "$L" lkmfix-late.conf /                                  # 4   then a dirfd creation in it
	"$uring" openat $M lkmfix-uring-openat.conf                                        # 5 io_uring openat
	"$uring" renameat - $W/u.conf $M lkmfix-uring-renamed.conf                         # 5 io_uring renameat
	"$uring" linkat $W l.conf - $M/lkmfix-uring-link.conf                              # 5 io_uring linkat
	(cd $M && "$uring" symlinkat /var/tmp/evil.conf - lkmfix-uring-symlink.conf)      # 5 io_uring symlinkat
	"$uring" --async openat $M lkmfix-uring-openat-async.conf                          # 6 the same, IOSQE_ASYNC
	"$uring" --async renameat - $W/u-async.conf $M lkmfix-uring-renamed-async.conf     # 6
	"$uring" --async linkat $W l-async.conf - $M/lkmfix-uring-link-async.conf          # 6
	(cd $M && "$uring" --async symlinkat /var/tmp/evil.conf - lkmfix-uring-symlink-async.conf)  # 6
	"$uring" --sqpoll openat $M lkmfix-uring-openat-sqpoll.conf                        # 7 the same, IORING_SETUP_SQPOLL
	"$uring" --sqpoll renameat - $W/u-sqpoll.conf $M lkmfix-uring-renamed-sqpoll.conf  # 7
	"$uring" --sqpoll linkat $W l-sqpoll.conf - $M/lkmfix-uring-link-sqpoll.conf       # 7
	(cd $M && "$uring" --sqpoll symlinkat /var/tmp/evil.conf - lkmfix-uring-symlink-sqpoll.conf)  # 7
	bash -c '"$@"; true' _ "$uring" openat $M lkmfix-uring-noexec.conf                 # 8 grandchild: no exec record
	"$uring" openat "$L" lkmfix-uring-late.conf                                        # 9 io_uring into the late dir
	mkdir "$W/d1"                                                                      # 10 a directory made, then renamed
	"$ops" dirfd-create-after-rename "$W/d1" lkmfix-followed.conf "$W/d2"             # 10   under an open descriptor used after
	"$ops" rename "$W/o.conf" $M/lkmfix-order.conf                                   # 11 a rename with two PARENT texts
	"$ops" openat-create $M/lkmfix-xchg.conf                                           # 12 RENAME_EXCHANGE through two
	"$ops" renameat2-exchange-dirfd-chdir $M lkmfix-xchg.conf "$W" xchg-evil.conf /   # 12   descriptors, cwd /
	mkdir "$W/m"; mount --bind $M "$W/m"; mounted="$W/m"                              # 13 the place seen under
	"$ops" openat-create "$W/m/lkmfix-bind.conf"                                       # 13   another name (bind mount),
	unshare -m sh -c "mount --bind $M /mnt && exec $ops openat-create /mnt/lkmfix-ns.conf"  # 13 and from another
	umount "$W/m"; mounted=""                                                          # 13   mount namespace
	mount --bind "$W/msrc" "$L"; mounted="$L"                                        # 14 the late place replaced by
	umount "$L"; mounted=""                                                            # 14   a mount over it,
	mkdir "$L.new"; echo "install usb-storage /bin/true" > "$L.new/lkmfix-brought.conf"
	mv "$L" "$L.old"                                                                   # 15 the late place replaced by
	mv "$L.new" "$L"                                                                   # 15   a directory renamed in,
	mv "$L" "$L.old3"; mkdir "$L" "$L.new3"; echo x > "$L.new3/lkmfix-over.conf"     # 16 then by a directory
	mv -T "$L.new3" "$L"                                                               # 16   renamed over it (empty),
	mv "$L" "$L.old2"; ln -s "$W" "$L"                                                 # 16 then by a symbolic link
	if auditctl -s | grep -q '^enabled 1'; then
		disabled_auditing=true
		auditctl -e 0 >/dev/null                                                       # 17 auditing switched off,
		auditctl -e 1 >/dev/null; disabled_auditing=false                              # 17   and on again
	fi
	auditctl -W $M -p wa -k lkmfix                                                     # 18 a watch removed
	rules=$(auditctl -l | grep -c lkmfix)
	auditctl -D -k lkmfix >/dev/null                                                   # 19 every rule removed

	extract "count:$((rules + 1)):op=remove_rule key=\"lkmfix\""
	echo "recorded $(grep -c . "$out") records into $out"
	exit 0
fi

for d in /etc/modprobe.d /etc/modules-load.d; do
	[ -d "$d" ] || { mkdir "$d"; made_dirs+=("$d"); }
done
# Step 27 creates /etc/modules: one that exists (kmod's postinst writes it) is set aside
# before any watch is loaded, and put back by cleanup.
if [ -e /etc/modules ]; then
	[ -e "$saved_modules" ] && { echo "record-fixtures: $saved_modules exists (an interrupted run?): restore it first" >&2; exit 1; }
	mv /etc/modules "$saved_modules"
fi

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
extract 'lkmfix-fifo\.conf" .*nametype=DELETE'
echo "recorded $(grep -c . "$out") records into $out"
if [ $# -eq 0 ]; then
	ausearch -if "$out" > "${out%.log}.ausearch.txt"
	ausearch -i -if "$out" > "${out%.log}.interpreted.txt"
fi
