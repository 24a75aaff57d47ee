#!/bin/sh
# ehost-ab.sh BUILD_DIR CAPSA [ROUNDS] - how often the emulated KVM host
# kills a healthy guest, capsa's and QEMU microvm's side by side in one
# emulated host, so a VM test that fails there now and then can be told
# apart from a capsa bug. Each round:
#   load: 8 capsa guests at once, then 8 QEMU guests at once (echo, exit)
#   data: 64 MiB of /dev/urandom through tee onto a virtio-blk disk (as
#         t_blk_data does), with capsa, then with QEMU
# Prints "AB load|data ROUND ..." lines and the totals.
set -eu
B=$1 CAPSA=$2 ROUNDS=${3:-12}
here=$(cd "$(dirname "$0")" && pwd)
W=$B/bench-ab
rm -rf "$W"
mkdir -p "$W/tests" "$W/q/bin" "$W/q/dev" "$W/q/proc"

sh "$here/qemu-fixture.sh" "$W/fix/qemu"
cp "$B/bzImage" "$W/fix/bzImage"

# QEMU's guest does what the capsa command does, chosen on the command line.
cp /bin/busybox "$W/q/bin/busybox"
ln -s busybox "$W/q/bin/sh"
cat >"$W/q/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
case "$(cat /proc/cmdline)" in
*mode=data*) head -c 67108864 /dev/urandom | tee /dev/vda | sha256sum >/dev/null; sync; echo data-done ;;
*) echo load-done ;;
esac
reboot -f
EOF
chmod 755 "$W/q/init"
(cd "$W/q" && find . | cpio -o -H newc -R 0:0 --quiet) >"$W/fix/q.cpio"

cat >"$W/tests/run.sh" <<'EOF'
#!/bin/sh
F=/tests/fixtures
echo "# groups: t_ab"
echo "# t_ab"
died() { grep -q "$1" "$2" && echo 0 || echo 1; }
q() {
	timeout 300 $F/qemu/microvm -kernel $F/bzImage -initrd $F/q.cpio "$@" </dev/null 2>&1 |
		tr -d '\r'
}
i=0
while [ $i -lt "$1" ]; do
	i=$((i + 1))
	for k in 1 2 3 4 5 6 7 8; do
		capsa -- sh -c "echo load-done" >/tmp/cl$k 2>&1 </dev/null &
	done
	wait
	for k in 1 2 3 4 5 6 7 8; do
		q -append "console=ttyS0 reboot=t panic=-1 quiet rdinit=/init mode=load" >/tmp/ql$k &
	done
	wait
	echo "AB load $i capsa_died=$(grep -L load-done /tmp/cl? | wc -l) qemu_died=$(grep -L load-done /tmp/ql? | wc -l)"
	for f in $(grep -L load-done /tmp/cl?); do echo "# capsa: $(tr '\n' ' ' <"$f")"; done
	truncate -s 64M /tmp/d.img
	capsa --disk /tmp/d.img -- sh -c 'head -c 67108864 /dev/urandom | tee /dev/vda |
		sha256sum >/dev/null; sync; echo data-done' >/tmp/cd 2>&1 </dev/null || true
	rm -f /tmp/d.img
	truncate -s 64M /tmp/d.img
	q -append "console=ttyS0 reboot=t panic=-1 quiet rdinit=/init mode=data" \
		-drive file=/tmp/d.img,format=raw,if=none,id=d0,cache=writeback,aio=threads \
		-device virtio-blk-device,drive=d0 >/tmp/qd
	rm -f /tmp/d.img
	cdied=$(died data-done /tmp/cd)
	echo "AB data $i capsa_died=$cdied qemu_died=$(died data-done /tmp/qd)"
	[ "$cdied" = 0 ] || echo "# capsa: $(tail -n 3 /tmp/cd | tr '\n' ' ')"
done
echo "1..0"
EOF
EHOST_ARGS=$ROUNDS EHOST_TIMEOUT=${EHOST_TIMEOUT:-7200} EHOST_FIXTURES=$W/fix \
	bash "$here/../vm/emulated-host.sh" "$B/ehost" "$CAPSA" "$W/tests" >"$W/log" 2>&1 || true
grep -E '^(AB|# capsa)' "$W/log" || true
awk '$1 == "AB" { split($4, c, "="); split($5, q, "="); n[$2] += 8 * ($2 == "load") + ($2 == "data");
		  cd[$2] += c[2]; qd[$2] += q[2] }
     END { for (k in n) printf "%s: capsa %d of %d guests died, QEMU %d of %d\n", k, cd[k], n[k], qd[k], n[k] }' "$W/log"
