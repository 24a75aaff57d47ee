#!/bin/sh
# oci-fixture.sh OUT CACHE - what tests/vm/t_container.sh needs to run capsa
# under a real OCI runtime in the emulated KVM host, which has only busybox:
#
#   OUT/sysroot/      Debian's crun and the shared libraries it loads, at
#                     their usual paths (the test copies them into /)
#   OUT/config.json   the runtime config Podman writes for a rootful
#                     `podman run --device /dev/kvm --network none`, with
#                     its default capabilities and seccomp profile, from
#                     Debian's golang-github-containers-common (the package
#                     is downloaded into CACHE, not installed)
set -eu
out=$1 cache=$2
pkg=golang-github-containers-common
command -v crun >/dev/null || { echo "oci-fixture: crun missing (sh .ci/deps)" >&2; exit 1; }
mkdir -p "$cache"
if [ ! -e "$cache/containers-common/.done" ]; then
	rm -rf "$cache/containers-common" "$cache/deb"
	mkdir -p "$cache/deb"
	(cd "$cache/deb" && apt-get download -q "$pkg" 2>/dev/null) ||
		{ echo "oci-fixture: apt-get download $pkg failed" >&2; exit 1; }
	dpkg-deb -x "$cache"/deb/*.deb "$cache/containers-common"
	rm -rf "$cache/deb"
	touch "$cache/containers-common/.done"
fi
rm -rf "$out"
mkdir -p "$out/sysroot/usr/bin"
cp /usr/bin/crun "$out/sysroot/usr/bin/"
ldd /usr/bin/crun | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
	mkdir -p "$out/sysroot$(dirname "$lib")"
	cp -L "$lib" "$out/sysroot$lib"
done
share=$cache/containers-common/usr/share/containers
python3 "$(dirname "$0")/oci-config.py" "$share/seccomp.json" "$share/containers.conf" "$out/config.json"
