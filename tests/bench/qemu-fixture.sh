#!/bin/sh
# qemu-fixture.sh DIR - QEMU for the emulated KVM host, which has no
# installed QEMU: copies qemu-system-x86_64, the microvm firmware and the
# shared libraries it needs (with their loader) into DIR, and writes
# DIR/microvm, which starts QEMU through that loader as a microvm machine
# with KVM, 512 MiB, no default devices and the serial port on stdio; more
# arguments (kernel, initrd, drives) follow on its command line.
set -eu
D=$1
mkdir -p "$D/lib"
cp /usr/bin/qemu-system-x86_64 /usr/share/qemu/bios-microvm.bin "$D/"
ldd /usr/bin/qemu-system-x86_64 | awk '$3 ~ /^\// { print $3 } $1 ~ /^\/lib/ { print $1 }' |
	while read -r lib; do cp -L "$lib" "$D/lib/"; done
cat >"$D/microvm" <<'EOF'
#!/bin/sh
d=$(dirname "$0")
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/qemu-system-x86_64" \
	-M microvm,acpi=off -enable-kvm -cpu host -m 512 -bios "$d/bios-microvm.bin" \
	-nodefaults -no-user-config -nographic -no-reboot -serial stdio "$@"
EOF
chmod 755 "$D/microvm"
