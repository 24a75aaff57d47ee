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
mkdir -p "$out" "$cache"

sh "$(dirname "$0")/debian-tree.sh" "$tree" python3,git "$cache/debootstrap-fs.log"

if [ ! -e "$out/debian/.done" ]; then
	rm -rf "$out/debian"
	cp -al "$tree" "$out/debian"
fi
