#!/bin/sh
# blk.sh BUILD_DIR CAPSA - disk benchmark: capsa's virtio-blk against QEMU's
# (microvm machine, virtio-blk-device) with the same guest kernel, the same
# workload and the same image, in the same (emulated) KVM host.
#
# Workload, in the guest, on a 256 MiB raw image held in the host's RAM:
#   sequential read and write, 1 MiB blocks, O_DIRECT (busybox dd)
#   4 KiB random reads, O_DIRECT, 1 and 4 threads for 10 s (randread.c)
# Prints each figure for both and the ratio capsa/QEMU. Absolute numbers
# under the emulated host (QEMU TCG running KVM) are far below real hardware;
# the ratios are the point.
#
# env: BENCH_MIB (image size, default 256), BENCH_SECONDS (random reads, default 10)
set -eu
B=$1 CAPSA=$2
here=$(cd "$(dirname "$0")" && pwd)
vm=$here/../vm
W=$B/bench-blk
rm -rf "$W"
mkdir -p "$W/tests" "$W/fix"

# The random-read tool, static, padded to whole sectors: the guests read it
# from a second disk (capsa's embedded root has no way in for a file).
musl-gcc -O2 -static -pthread -o "$W/randread" "$here/randread.c"
cp "$W/randread" "$W/fix/tools.img"
truncate -s $(( ($(stat -c %s "$W/randread") + 511) / 512 * 512 )) "$W/fix/tools.img"

# QEMU and the shared libraries it needs, started through their own loader.
sh "$here/qemu-fixture.sh" "$W/fix/qemu"
cp "$B/bzImage" "$W/fix/bzImage"

# The workload, the same for both guests; output lines start with "bench".
cat >"$W/fix/workload.sh" <<'EOF'
set -e
mib=$1 secs=$2
cat /dev/vdb >/tmp/randread
chmod +x /tmp/randread
# busybox dd prints no rate: time it with /proc/uptime (10 ms steps).
timed() {
	t0=$(cut -d" " -f1 /proc/uptime)
	"$@" 2>/dev/null
	t1=$(cut -d" " -f1 /proc/uptime)
	awk -v a="$t0" -v b="$t1" -v m="$mib" 'BEGIN { printf "%.1f MB/s", m * 1.048576 / (b - a) }'
}
echo "bench seqwrite $(timed dd if=/dev/zero of=/dev/vda bs=1M count="$mib" oflag=direct conv=fsync)"
echo "bench seqread $(timed dd if=/dev/vda of=/dev/null bs=1M count="$mib" iflag=direct)"
echo "bench randread1 $(/tmp/randread /dev/vda "$secs" 1)"
echo "bench randread4 $(/tmp/randread /dev/vda "$secs" 4)"
EOF

# QEMU's guest: a busybox initramfs whose init runs the workload on the console.
Q=$W/qroot
mkdir -p "$Q/bin" "$Q/dev" "$Q/proc" "$Q/sys" "$Q/tmp"
cp /bin/busybox "$Q/bin/busybox"
ln -s busybox "$Q/bin/sh"
cp "$W/fix/workload.sh" "$Q/workload.sh"
cat >"$Q/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
sh /workload.sh $(cat /proc/cmdline | sed -n 's/.*bench=\([0-9]*\),\([0-9]*\).*/\1 \2/p')
echo bench-done
reboot -f
EOF
chmod 755 "$Q/init"
(cd "$Q" && find . | cpio -o -H newc -R 0:0 --quiet) >"$W/fix/qemu-initrd.cpio"

echo "${BENCH_MIB:-256} ${BENCH_SECONDS:-10}" >"$W/fix/params"

# What runs in the emulated host.
cat >"$W/tests/run.sh" <<'EOF'
#!/bin/sh
. /tests/lib.sh
F=/tests/fixtures
read -r mib secs <$F/params
cmdline="console=ttyS0 reboot=t panic=-1 quiet rdinit=/init bench=$mib,$secs"
truncate -s "${mib}M" /tmp/bench.img
capsa --memory 512 --disk /tmp/bench.img --disk $F/tools.img -- \
	sh -c "$(cat $F/workload.sh)" sh "$mib" "$secs" >/tmp/capsa.out 2>&1
cat /tmp/capsa.out
rm -f /tmp/bench.img
truncate -s "${mib}M" /tmp/bench.img
timeout 600 $F/qemu/microvm -kernel $F/bzImage -initrd $F/qemu-initrd.cpio -append "$cmdline" \
	-drive file=/tmp/bench.img,format=raw,if=none,id=d0,cache=writeback,aio=threads \
	-device virtio-blk-device,drive=d0 \
	-drive file=$F/tools.img,format=raw,if=none,id=d1,readonly=on \
	-device virtio-blk-device,drive=d1 </dev/null 2>&1 | tr -d '\r' >/tmp/qemu.out
grep bench /tmp/qemu.out || tail -n 30 /tmp/qemu.out
for what in seqwrite seqread randread1 randread4; do
	c=$(sed -n "s/^bench $what //p" /tmp/capsa.out)
	q=$(sed -n "s/^bench $what //p" /tmp/qemu.out)
	echo "RESULT $what capsa: $c | qemu: $q"
	[ -n "$c" ] && [ -n "$q" ] && ok "$what measured for both" || fail "$what measured for both"
done
plan
EOF
EHOST_TIMEOUT=${EHOST_TIMEOUT:-1800} EHOST_FIXTURES=$W/fix \
	bash "$vm/emulated-host.sh" "$B/ehost" "$CAPSA" "$W/tests" | tee "$W/log" | grep -E '^(RESULT|bench|ok|not ok|#)' || true
grep '^RESULT' "$W/log" | awk '
	# A figure in MB/s or IOPS, whatever unit dd chose.
	function num(s,   v) {
		if (!match(s, /[0-9.]+ *(IOPS|[kKMG]B\/s)/)) return 0
		v = substr(s, RSTART, RLENGTH) + 0
		if (s ~ /GB\/s/) v *= 1000
		if (s ~ /[kK]B\/s/) v /= 1000
		return v
	}
	{
		split($0, p, /capsa: | \| qemu: /)
		c = num(p[2]); q = num(p[3])
		printf "%-10s capsa %10.1f  qemu %10.1f  %s  capsa/qemu %.2f\n", $2, c, q,
			$2 ~ /rand/ ? "IOPS" : "MB/s", q ? c / q : 0
	}'
