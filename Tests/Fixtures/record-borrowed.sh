#!/usr/bin/env bash
# Records, from the running kernel, programs that borrow the rule's exclusions, and the
# genuine programs the exclusions mean, each creating a file in /etc/modprobe.d:
#
#   borrowed-name   a copy of bash named perl (in /tmp/lkmfix-b/): process.name "perl"
#   borrowed-fd     bash <(echo ...): the script is /dev/fd/63 (process.executable like "/dev/fd/*")
#   borrowed-vmis   a copy of bash named /tmp/vmis.lkmfix (process.executable like "/tmp/vmis.*")
#   borrowed-fexec  programs/fexec: sh run through a descriptor, execveat(AT_EMPTY_PATH):
#                   the kernel ran /dev/fd/3
#   genuine-perl    /usr/bin/perl (package perl-base): process.name "perl", earned
#   genuine-sed     sed -i on an existing file: sed's temporary file, earned
#   genuine-dpkg    dpkg -i of a package shipping /etc/modprobe.d/lkmfix-pkg.conf (dpkg-new,
#                   then renamed), then dpkg --purge
#
#   Tests/Fixtures/record-borrowed.sh [FILE]   (default: kernel/borrowed.log beside it)
#
# Loads a watch on /etc/modprobe.d (key lkmfix) and exec tracking for this script's
# children, and writes the records with `ausearch --raw -k lkmfix`. Everything it adds
# (rules, files, the package) is removed on exit, even on failure. The expectations live
# in Tests/EndToEndTests/BorrowedExclusionTests.swift. Needs root, auditd, gcc, dpkg-deb.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="${1:-$here/kernel/borrowed.log}"
work=/tmp/lkmfix-b
M=/etc/modprobe.d
say() { echo "record-borrowed: $*" >&2; }
die() { say "$*"; exit 1; }
. "$here/auditd-recording.sh"

cleanup() {
	auditctl -D -k lkmfix >/dev/null 2>&1 || true
	dpkg --purge lkmfix-borrowed >/dev/null 2>&1 || true
	rm -f $M/lkmfix-* /tmp/vmis.lkmfix
	rm -rf "$work"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || die "needs root"
auditd_running || die "auditd is not running"
take_tests_lock
cleanup
mkdir -m 0755 "$work" "$M" 2>/dev/null || mkdir -p -m 0755 "$work"

gcc -O2 -o "$work/fexec" "$here/programs/fexec.c"
cp /usr/bin/bash "$work/perl"
cp /usr/bin/bash /tmp/vmis.lkmfix
echo "options lkmfix old=1" > $M/lkmfix-genuine-sed.conf
mkdir -p "$work/pkg/DEBIAN" "$work/pkg/etc/modprobe.d"
printf 'Package: lkmfix-borrowed\nVersion: 1\nArchitecture: all\nMaintainer: audisp-lkm tests <root@localhost>\nDescription: ships a modprobe.d file\n' \
	> "$work/pkg/DEBIAN/control"
echo "options lkmfix shipped=1" > "$work/pkg/etc/modprobe.d/lkmfix-pkg.conf"
dpkg-deb --root-owner-group --build "$work/pkg" "$work/lkmfix-borrowed.deb" >/dev/null

start_date=$(date +%x) start_time=$(date +%T)
sleep 1
auditctl -w $M -p wa -k lkmfix >/dev/null
auditctl -a always,exit -F arch=b64 -S execve,execveat -F ppid=$$ -k lkmfix >/dev/null

payload="install usb-storage /tmp/p"
"$work/perl" -c "echo '$payload' > $M/lkmfix-borrowed-name.conf"
bash <(echo "echo '$payload' > $M/lkmfix-borrowed-fd.conf")
/tmp/vmis.lkmfix -c "echo '$payload' > $M/lkmfix-borrowed-vmis.conf"
"$work/fexec" /usr/bin/sh -c "echo '$payload' > $M/lkmfix-borrowed-fexec.conf"
/usr/bin/perl -e "open(F, '>', '$M/lkmfix-genuine-perl.conf') or die; print F \"options lkmfix perl=1\\n\""
sed -i 's/old=1/old=2/' $M/lkmfix-genuine-sed.conf
dpkg -i "$work/lkmfix-borrowed.deb" >/dev/null
dpkg --purge lkmfix-borrowed >/dev/null

sleep 2
auditctl -D -k lkmfix >/dev/null
ausearch --input-logs --raw -k lkmfix --start "$start_date" "$start_time" > "$out" || true
[ -s "$out" ] || die "no records in $out"
say "wrote $(wc -l < "$out") records to $out"
