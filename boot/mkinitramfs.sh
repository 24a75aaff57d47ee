#!/bin/sh
# mkinitramfs.sh OUT INIT BUSYBOX - the embedded base initramfs: the capsa
# init as /init and a static busybox with a link for each of its applets,
# so `capsa -- sh -c '...'` works with nothing else installed.
# Uncompressed: the guest unpacks it faster than it would decompress it.
set -eu
out=$1 init=$2 busybox=$3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/run" \
	"$root/root" "$root/etc" "$root/var/tmp"
cp "$init" "$root/init"
cp "$busybox" "$root/bin/busybox"
for app in $("$busybox" --list-full); do
	[ -e "$root/$app" ] || ln -s /bin/busybox "$root/$app"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost capsa\n' >"$root/etc/hosts"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 700 "$root/root"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
