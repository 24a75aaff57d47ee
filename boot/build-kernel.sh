#!/bin/sh
# build-kernel.sh OUT FRAGMENT... - build the guest bzImage from Debian's
# linux-source-6.1, with boot/patches/*.patch applied: tinyconfig plus the
# committed fragments.
#
# The kernel takes minutes to build, so the result is cached next to OUT and
# keyed by the hash of the fragments and patches: touching them without
# changing their content, or a fresh clone reusing a build directory,
# rebuilds nothing.
set -eu
out=$1; shift
dir=$(dirname "$out")
src=$dir/linux-source-6.1
obj=$dir/kobj-$(basename "$out")
patches=$(ls "$(dirname "$0")"/patches/*.patch 2>/dev/null || true)
key=$(cat "$@" $patches | sha256sum | cut -c1-16)
pkey=$(cat /dev/null $patches | sha256sum | cut -c1-16)

if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
	touch "$out"
	exit 0
fi
# A source tree patched differently is unpacked afresh.
if [ ! -f "$src/Makefile" ] || [ "$(cat "$src/.capsa-patches" 2>/dev/null)" != "$pkey" ]; then
	rm -rf "$src"
	# The unpacked source and the objects take about 1.7 GiB: say so plainly
	# rather than fail half-way through tar on a full disk.
	free=$(df -Pk "$dir" | awk 'NR == 2 { print int($4 / 1024) }')
	if [ "$free" -lt 2048 ]; then
		echo "build-kernel.sh: $free MiB free in $dir; the guest kernel build needs 2048 MiB" >&2
		exit 1
	fi
	tar -C "$dir" -xf /usr/src/linux-source-6.1.tar.xz
	for p in $patches; do
		patch -s -p1 -d "$src" <"$p"
	done
	echo "$pkey" >"$src/.capsa-patches"
fi
mkdir -p "$obj"
make -s -C "$src" O="$(realpath "$obj")" tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$@" >/dev/null
make -s -C "$src" O="$(realpath "$obj")" olddefconfig >/dev/null

# A fragment line the kernel silently dropped is a bug in the fragment.
dropped=$(cat "$@" | grep -E '^CONFIG_[A-Z0-9_]+=' | grep -v '=n$' | grep -vxFf "$obj/.config" || true)
# An =n line the kernel kept on (something selects it) is dropped too.
for off in $(cat "$@" | sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=n$/\1/p'); do
	grep -qE "^$off=[ym]" "$obj/.config" && dropped="$dropped $off=n"
done
if [ -n "$dropped" ]; then
	echo "build-kernel: the kernel dropped these fragment lines:" $dropped >&2
	exit 1
fi
make -s -C "$src" O="$(realpath "$obj")" -j"$(nproc)" bzImage
cp "$obj/arch/x86/boot/bzImage" "$out"
echo "$key" > "$out.key"
