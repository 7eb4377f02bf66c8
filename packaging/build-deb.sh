#!/bin/bash
# build-deb.sh: builds the Debian package of audisp-lkm and prints its path on the last
# line.
#
#   packaging/build-deb.sh [--version VERSION] [--output DIR] [--binary FILE] [--lintian]
#
# Over dpkg-deb, not debhelper: the binary comes from SwiftPM (a release build with the
# static Swift standard library, as install.sh makes it), which dh_auto_build does not
# know, and the package is a handful of files; dpkg-deb, dpkg-shlibdeps and lintian give
# the same artefact with no source package to maintain. The version is the first of
# packaging/debian/changelog unless --version is given (a rebuilt package: an entry for
# it is added to the packaged changelog). --binary uses a build already made. --lintian
# runs lintian on the result and fails on any error.
#
# Contents:
#   /usr/sbin/audisp-lkm                              root:root 0750 (auditd's check)
#   /etc/audit/audisp-lkm.conf                        settings (conffile; format = json for the alerts file)
#   /etc/audit/audisp-lkm.rules                       the watches (conffile; postinst links it into rules.d)
#   /etc/audit/plugins.d/audisp-lkm.conf              auditd's plugin entry (conffile)
#   /etc/rsyslog.d/30-audisp-lkm.conf                 alerts to /var/log/audisp-lkm/alerts.json (conffile)
#   /etc/logrotate.d/audisp-lkm                       (conffile)
#   /usr/share/audisp-lkm/auditd-plugin.sh            the maintainer scripts' shell functions (install.sh's too)
#   /usr/share/man/man8/audisp-lkm.8.gz, man5/audisp-lkm.conf.5.gz  written by `audisp-lkm manual`
#   /usr/share/doc/audisp-lkm/                        copyright, changelog, README, docs/, example rules
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
version=""
output="$here/.build-deb"
binary=""
run_lintian=no
while [ $# -gt 0 ]; do
	case "$1" in
	--version) version=$2; shift ;;
	--output) output=$2; shift ;;
	--binary) binary=$2; shift ;;
	--lintian) run_lintian=yes ;;
	-h|--help) sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "build-deb: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
say() { echo "build-deb: $*" >&2; }
. "$here/packaging/release-build.sh"

changelog="$here/packaging/debian/changelog"
changelog_version=$(dpkg-parsechangelog -l "$changelog" -S Version)
[ -n "$version" ] || version=$changelog_version
arch=$(dpkg --print-architecture)

# Standard output is the package's path alone: the build's output goes to standard error.
if [ -z "$binary" ]; then build_release >&2; fi
env -i "$binary" --help >/dev/null || { echo "build-deb: $binary does not run with an empty environment" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
doc="$root/usr/share/doc/audisp-lkm"
install -d "$root/usr/sbin" "$root/etc/audit/plugins.d" "$root/etc/rsyslog.d" "$root/etc/logrotate.d" \
	"$root/usr/share/audisp-lkm" "$root/usr/share/man/man8" "$root/usr/share/man/man5" "$doc/examples" "$root/DEBIAN"
install -m 0750 "$binary" "$root/usr/sbin/audisp-lkm"
strip --strip-unneeded "$root/usr/sbin/audisp-lkm"
# The rsyslog drop-in reads JSON alerts: the package's settings say so (the only change).
sed 's/^format = text$/format = json/' "$here/plugin-conf/config/audisp-lkm.conf" > "$root/etc/audit/audisp-lkm.conf"
grep -q '^format = json$' "$root/etc/audit/audisp-lkm.conf" || { echo "build-deb: the settings file has no 'format = text' line" >&2; exit 1; }
chmod 0640 "$root/etc/audit/audisp-lkm.conf"
install -m 0640 "$here/audit-rules/50-audisp-lkm.rules" "$root/etc/audit/audisp-lkm.rules"
install -m 0640 "$here/plugin-conf/audisp-lkm.conf" "$root/etc/audit/plugins.d/audisp-lkm.conf"
install -m 0644 "$here/packaging/rsyslog/30-audisp-lkm.conf" "$root/etc/rsyslog.d/30-audisp-lkm.conf"
install -m 0644 "$here/packaging/logrotate/audisp-lkm" "$root/etc/logrotate.d/audisp-lkm"
install -m 0644 "$here/packaging/auditd-plugin.sh" "$root/usr/share/audisp-lkm/auditd-plugin.sh"
"$binary" manual 8 | gzip -9n > "$root/usr/share/man/man8/audisp-lkm.8.gz"
"$binary" manual 5 | gzip -9n > "$root/usr/share/man/man5/audisp-lkm.conf.5.gz"
install -m 0644 "$here/packaging/debian/copyright" "$doc/copyright"
install -m 0644 "$here/audit-rules/52-audisp-lkm-io_uring.rules" "$here/audit-rules/55-audisp-lkm-exec.rules" "$doc/examples/"
gzip -9n < "$here/README.md" > "$doc/README.md.gz"
# The README's links: the manual, the design and the known limits, beside it.
install -d -m 0755 "$doc/docs"
for page in manual design known-limits; do
	gzip -9n < "$here/docs/$page.md" > "$doc/docs/$page.md.gz"
	chmod 0644 "$doc/docs/$page.md.gz"
done
{
	if [ "$version" != "$changelog_version" ]; then
		printf 'audisp-lkm (%s) unstable; urgency=medium\n\n  * Rebuilt.\n\n -- %s  %s\n\n' \
			"$version" "$(dpkg-parsechangelog -l "$changelog" -S Maintainer)" "$(date -R)"
	fi
	cat "$changelog"
} | gzip -9n > "$doc/changelog.Debian.gz"
chmod 0644 "$root/usr/share/man/man8/audisp-lkm.8.gz" "$root/usr/share/man/man5/audisp-lkm.conf.5.gz" "$doc/README.md.gz" \
	"$doc/changelog.Debian.gz"

# The shared libraries' packages, as dpkg-shlibdeps finds them (it wants a debian/control).
mkdir -p "$stage/shlibs/debian"
printf 'Source: audisp-lkm\n\nPackage: audisp-lkm\nArchitecture: any\n' > "$stage/shlibs/debian/control"
shlibs=$(cd "$stage/shlibs" && dpkg-shlibdeps -O -e"$root/usr/sbin/audisp-lkm" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

find "$root/etc" -type f | sed "s|^$root||" | sort > "$root/DEBIAN/conffiles"
install -m 0755 "$here/packaging/debian/postinst" "$here/packaging/debian/postrm" "$root/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" \
	"$here/packaging/debian/control.in" > "$root/DEBIAN/control"
# dpkg keeps conffiles' sums itself: md5sums lists the other files, as dh_md5sums does.
(cd "$root" && find . \( -path ./DEBIAN -o -path ./etc \) -prune -o -type f -printf '%P\n' | sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$output"
deb="$output/audisp-lkm_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
if [ "$run_lintian" = yes ]; then
	say "lintian $deb"
	# lintian leaves its MLDBM caches in TMPDIR: the stage, removed on exit.
	TMPDIR="$stage" lintian --fail-on error "$deb" >&2
fi
echo "$deb"
