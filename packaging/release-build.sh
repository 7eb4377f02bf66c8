# release-build.sh: the release binary that install.sh installs and build-deb.sh packages,
# built one way for both, sourced by them. Expects `say` and `here` (the repository).
# bash.

# Builds audisp-lkm in release mode with the Swift standard library linked in (auditd
# starts plugins with an empty environment, so no library path) into
# $here/.build-release, and sets `binary` to it. Call it as a command of its own, not
# after || or &&, where set -e would not stop at a failed build.
build_release() {
	say "building the release binary (swift build -c release --static-swift-stdlib)"
	(cd "$here" && swift build -c release --static-swift-stdlib --product audisp-lkm --scratch-path .build-release)
	binary="$here/.build-release/release/audisp-lkm"
}
