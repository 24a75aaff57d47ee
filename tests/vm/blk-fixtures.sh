#!/bin/sh
# blk-fixtures.sh OUT CACHE - disk images for the virtio-blk VM tests (t_blk_*).
#
#   OUT/debian.ext4      Debian 12 (debootstrap minbase + python3-minimal),
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
mkdir -p "$out" "$cache"

need() { command -v "$1" >/dev/null || { echo "blk-fixtures: $1 missing (sh .ci/deps)" >&2; exit 1; }; }

sh "$(dirname "$0")/debian-tree.sh" "$tree" python3-minimal "$cache/debootstrap.log"

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
