#!/bin/sh
# blk-fixtures.sh OUT CACHE - disk images for the virtio-blk VM tests (t_blk_*).
#
#   OUT/debian.ext4      Debian 12 (debootstrap minbase + python3-minimal, and curl, git,
#                        python3-pip for the --net user tests),
#                        stripped of docs, locales and apt lists; ext4 sized to fit
#   OUT/debian.squashfs  the same tree as squashfs (zstd)
#   OUT/small.ext4       16 MiB ext4 holding a static busybox, for the :rw tests
#   OUT/prog.squashfs    Debian 12 with the programs of tests/vm/t_prog.sh
#                        (PostgreSQL, node, gcc, git, curl, strace ...), zstd
#   OUT/ehost-disks      the images too large for the emulated host's RAM: it
#                        attaches each as a disk instead (emulated-host.sh)
#
# The debootstrap trees are cached in CACHE/debian-rootfs and
# CACHE/debian-prog-rootfs (Debian packages only, from the mirror apt is
# configured with); images are rebuilt only when missing. Everything a
# one-shot command does not need is left out: the small images live in the
# emulated KVM host's RAM (its initramfs carries them).
set -eu
out=$1 cache=$2
tree=$cache/debian-rootfs
mkdir -p "$out" "$cache"

need() { command -v "$1" >/dev/null || { echo "blk-fixtures: $1 missing (sh .ci/deps)" >&2; exit 1; }; }

# debian_tree DIR PACKAGES: a stripped Debian tree with PACKAGES (commas).
debian_tree() { sh "$(dirname "$0")/debian-tree.sh" "$1" "$2" "$1.log"; }

# fresh IMAGE TREE: IMAGE exists and is newer than TREE.
fresh() { [ "$1" -nt "$2/.done" ]; }

# curl, git and pip: what the --net user VM tests run on it (t_netuser_debian).
debian_tree "$tree" python3-minimal,curl,git,python3-pip
# What tests/vm/t_prog.sh runs: each a program users bring to a sandbox.
debian_tree "$cache/debian-prog-rootfs" \
	python3,postgresql,nodejs,gcc,libc6-dev,git,curl,strace,procps,inotify-tools,iproute2,iptables,e2fsprogs

if ! fresh "$out/debian.ext4" "$tree"; then
	need mkfs.ext4
	# Used space plus a quarter and 16 MiB: room for metadata and the journal.
	mib=$(du -sm --exclude=.done "$tree" | cut -f1)
	mib=$((mib + mib / 4 + 16))
	rm -f "$out/debian.ext4.tmp"
	truncate -s "${mib}M" "$out/debian.ext4.tmp"
	mkfs.ext4 -q -F -L debian -E root_owner=0:0 -d "$tree" "$out/debian.ext4.tmp"
	mv "$out/debian.ext4.tmp" "$out/debian.ext4"
fi

# squashfs TREE IMAGE
squashfs() {
	! fresh "$2" "$1" || return 0
	need mksquashfs
	mksquashfs "$1" "$2.tmp" -comp zstd -noappend -quiet -e .done >/dev/null
	mv "$2.tmp" "$2"
}
squashfs "$tree" "$out/debian.squashfs"
squashfs "$cache/debian-prog-rootfs" "$out/prog.squashfs"
echo prog.squashfs >"$out/ehost-disks"

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
