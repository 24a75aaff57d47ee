#!/bin/sh
# fs-fixtures.sh OUT CACHE - the tree for the virtio-fs VM tests (t_fs_*).
#
#   OUT/debian   Debian 12 (debootstrap minbase + python3 + git), stripped
#                of docs, locales and apt lists, as a directory: the guest's root
#                with --rootfs DIR, and (through chroot) the emulated host's git
#
# The debootstrap tree is cached in CACHE/debian-fs (Debian packages only, from
# the mirror apt is configured with); OUT/debian is a hard-linked copy of it,
# remade when missing. It lives in the emulated KVM host's RAM with the rest of
# the fixtures, so what a one-shot command does not need is left out.
set -eu
out=$1 cache=$2
tree=$cache/debian-fs
suite=bookworm
mkdir -p "$out" "$cache"

need() { command -v "$1" >/dev/null || { echo "fs-fixtures: $1 missing (sh .ci/deps)" >&2; exit 1; }; }

# The mirror apt already uses for the suite (no host name is written down here).
mirror() {
	# shellcheck disable=SC2016  # $(...) is apt's syntax
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(IDENTIFIER)' 2>/dev/null |
		awk -v s="$suite" '$2 == s && $3 == "Packages" { print $1; exit }'
}

if [ ! -e "$tree/.done" ]; then
	need debootstrap
	m=$(mirror)
	[ -n "$m" ] || { echo "fs-fixtures: no apt mirror for $suite (apt-get update?)" >&2; exit 1; }
	rm -rf "$tree"
	debootstrap --variant=minbase --include=python3,git "$suite" "$tree" "$m" \
		>"$cache/debootstrap-fs.log" 2>&1 || { tail -n 20 "$cache/debootstrap-fs.log" >&2; exit 1; }
	rm -rf "$tree"/usr/share/doc/* "$tree"/usr/share/man "$tree"/usr/share/info \
		"$tree"/usr/share/locale/* "$tree"/usr/share/i18n "$tree"/usr/share/zoneinfo \
		"$tree"/usr/share/common-licenses "$tree"/usr/share/lintian \
		"$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/* "$tree"/var/cache/debconf/*-old \
		"$tree"/var/log/* "$tree"/usr/lib/x86_64-linux-gnu/gconv \
		"$tree"/usr/share/perl "$tree"/usr/lib/x86_64-linux-gnu/perl
	touch "$tree/.done"
fi

if [ ! -e "$out/debian/.done" ]; then
	rm -rf "$out/debian"
	cp -al "$tree" "$out/debian"
fi
