#!/bin/sh
# build-kernel.sh OUT FRAGMENT... - build the guest bzImage from Debian's
# linux-source-6.1: tinyconfig plus the committed fragments.
#
# The kernel takes minutes to build, so the result is cached next to OUT and
# keyed by the hash of the fragments: touching them without changing their
# content, or a fresh clone reusing a build directory, rebuilds nothing.
set -eu
out=$1; shift
dir=$(dirname "$out")
src=$dir/linux-source-6.1
obj=$dir/kobj-$(basename "$out")
key=$(cat "$@" | sha256sum | cut -c1-16)

if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
	touch "$out"
	exit 0
fi
if [ ! -f "$src/Makefile" ]; then
	tar -C "$dir" -xf /usr/src/linux-source-6.1.tar.xz
fi
mkdir -p "$obj"
make -s -C "$src" O="$(realpath "$obj")" tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$@" >/dev/null
make -s -C "$src" O="$(realpath "$obj")" olddefconfig >/dev/null

# A fragment line the kernel silently dropped is a bug in the fragment.
dropped=$(cat "$@" | grep -E '^CONFIG_[A-Z0-9_]+=' | grep -vxFf "$obj/.config" | grep -v '=n$' || true)
if [ -n "$dropped" ]; then
	echo "build-kernel: the kernel dropped these fragment lines:" $dropped >&2
	exit 1
fi
make -s -C "$src" O="$(realpath "$obj")" -j"$(nproc)" bzImage
cp "$obj/arch/x86/boot/bzImage" "$out"
echo "$key" > "$out.key"
