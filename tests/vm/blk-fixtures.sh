#!/bin/sh
# blk-fixtures.sh OUT CACHE - disk images for the virtio-blk VM tests (t_blk_*).
#
#   OUT/debian.ext4      Debian 12 (debootstrap minbase + python3-minimal, and curl, git,
#                        python3-pip for the --net user tests),
#                        stripped of docs, locales and apt lists; ext4 sized to fit
#   OUT/debian.squashfs  the same tree as squashfs (zstd)
#   OUT/small.ext4       16 MiB ext4 holding a static busybox, for the :rw tests
#
# The debootstrap tree is cached in CACHE/debian-rootfs (Debian packages only,
# from the mirror apt is configured with); images are rebuilt only when missing.
# They must fit in the emulated KVM host's RAM (the initramfs carries them), so
# everything a one-shot command does not need is left out.
set -eu
out=$1 cache=$2
tree=$cache/debian-rootfs
suite=bookworm
mkdir -p "$out" "$cache"

need() { command -v "$1" >/dev/null || { echo "blk-fixtures: $1 missing (sh .ci/deps)" >&2; exit 1; }; }

# The mirror apt already uses for the suite (no host name is written down here).
mirror() {
	# shellcheck disable=SC2016  # $(...) is apt's syntax
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(IDENTIFIER)' 2>/dev/null |
		awk -v s="$suite" '$2 == s && $3 == "Packages" { print $1; exit }'
}

if [ ! -e "$tree/.done" ]; then
	need debootstrap
	m=$(mirror)
	[ -n "$m" ] || { echo "blk-fixtures: no apt mirror for $suite (apt-get update?)" >&2; exit 1; }
	rm -rf "$tree"
	debootstrap --variant=minbase --include=python3-minimal,curl,git,python3-pip "$suite" "$tree" "$m" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
	# Not needed to run a command; a smaller image is a faster test.
	rm -rf "$tree"/usr/share/doc/* "$tree"/usr/share/man "$tree"/usr/share/info \
		"$tree"/usr/share/locale/* "$tree"/usr/share/i18n "$tree"/usr/share/zoneinfo \
		"$tree"/usr/share/common-licenses "$tree"/usr/share/lintian \
		"$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/* "$tree"/var/cache/debconf/*-old \
		"$tree"/var/log/* "$tree"/usr/lib/x86_64-linux-gnu/gconv
	touch "$tree/.done"
fi

if [ ! -e "$out/debian.ext4" ]; then
	need mkfs.ext4
	# Used space plus a quarter and 16 MiB: room for metadata and the journal.
	mib=$(du -sm --exclude=.done "$tree" | cut -f1)
	mib=$((mib + mib / 4 + 16))
	rm -f "$out/debian.ext4.tmp"
	truncate -s "${mib}M" "$out/debian.ext4.tmp"
	mkfs.ext4 -q -F -L debian -E root_owner=0:0 -d "$tree" "$out/debian.ext4.tmp"
	mv "$out/debian.ext4.tmp" "$out/debian.ext4"
fi

if [ ! -e "$out/debian.squashfs" ]; then
	need mksquashfs
	mksquashfs "$tree" "$out/debian.squashfs.tmp" -comp zstd -noappend -quiet \
		-e .done >/dev/null
	mv "$out/debian.squashfs.tmp" "$out/debian.squashfs"
fi

if [ ! -e "$out/small.ext4" ]; then
	small=$(mktemp -d)
	trap 'rm -rf "$small"' EXIT
	mkdir -p "$small/bin" "$small/etc" "$small/proc" "$small/sys" "$small/dev" \
		"$small/tmp" "$small/run"
	cp /bin/busybox "$small/bin/busybox"
	for app in sh cat echo ls sync mount grep; do ln -s busybox "$small/bin/$app"; done
	echo small >"$small/etc/name"
	truncate -s 16M "$out/small.ext4.tmp"
	mkfs.ext4 -q -F -L small -E root_owner=0:0 -d "$small" "$out/small.ext4.tmp"
	mv "$out/small.ext4.tmp" "$out/small.ext4"
fi
