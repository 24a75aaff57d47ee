#!/bin/sh
# blk.sh BUILD_DIR CAPSA - disk benchmark: capsa's virtio-blk against QEMU's
# (microvm machine, virtio-blk-device) with the same guest kernel, the same
# workload and the same image, in the same (emulated) KVM host.
#
# Workload, in the guest, on a 256 MiB raw image held in the host's RAM:
#   sequential read and write, 1 MiB blocks, O_DIRECT (busybox dd)
#   4 KiB random reads, O_DIRECT, 1 and 4 threads for 10 s (randread.c)
# Prints each figure's median over the rounds for both, its spread, and the
# ratio capsa/QEMU. Absolute numbers
# under the emulated host (QEMU TCG running KVM) are far below real hardware;
# the ratios are the point.
#
# env: BENCH_MIB (image size, default 256), BENCH_SECONDS (random reads, default 10),
#      BENCH_ROUNDS (alternating runs of each VMM, default 3)
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

echo "${BENCH_MIB:-256} ${BENCH_SECONDS:-10} ${BENCH_ROUNDS:-3}" >"$W/fix/params"

# What runs in the emulated host: one group a round, capsa and QEMU in it
# (which goes first alternates), so that a round the emulated host froze in
# runs again in a fresh one (emulated-host.sh) and the others still count.
cat >"$W/tests/run.sh" <<'EOF'
#!/bin/sh
. /tests/lib.sh
F=/tests/fixtures
read -r mib secs rounds <$F/params
cmdline="console=ttyS0 reboot=t panic=-1 quiet rdinit=/init bench=$mib,$secs"
# The emulated host takes silence for a freeze, and a round (both VMMs'
# runs) can take longer than its 300 s: say the benchmark goes on. A guest
# that hangs still ends at its run's time limit, with its output shown.
(while sleep 60; do echo "# bench-blk is running"; done) &
all= i=1
while [ $i -le "$rounds" ]; do all="$all t_round$i"; i=$((i + 1)); done

capsa_run() {
	truncate -s "${mib}M" /tmp/bench.img
	capsa --memory 512 --timeout 900 --disk /tmp/bench.img --disk $F/tools.img -- \
		sh -c "$(cat $F/workload.sh)" sh "$mib" "$secs" >/tmp/capsa.out 2>&1
	rm -f /tmp/bench.img
}
qemu_run() {
	truncate -s "${mib}M" /tmp/bench.img
	timeout 900 $F/qemu/microvm -kernel $F/bzImage -initrd $F/qemu-initrd.cpio -append "$cmdline" \
		-drive file=/tmp/bench.img,format=raw,if=none,id=d0,cache=writeback,aio=threads \
		-device virtio-blk-device,drive=d0 \
		-drive file=$F/tools.img,format=raw,if=none,id=d1,readonly=on \
		-device virtio-blk-device,drive=d1 </dev/null 2>&1 | tr -d '\r' >/tmp/qemu.out
	rm -f /tmp/bench.img
}
# report VMM GROUP: its figures as "RESULT what vmm value unit" lines, a test each.
report() {
	for what in seqwrite seqread randread1 randread4; do
		v=$(sed -n "s/^bench $what //p" /tmp/$1.out | grep -oE '[0-9.]+ *(IOPS|[kKMG]B/s)' | head -n1)
		[ -z "$v" ] || echo "RESULT $what $1 $v"
		[ -n "$v" ] && ok "$2 $1 $what" || fail "$2 $1 $what" "$(tail -n 3 /tmp/$1.out | tr '\n' '|')"
	done
}

echo "# groups: ${*:-$all}"
for g in ${*:-$all}; do
	echo "# $g"
	if [ $((${g#t_round} % 2)) = 1 ]; then
		capsa_run; qemu_run
	else
		qemu_run; capsa_run
	fi
	report capsa "$g"
	report qemu "$g"
done
plan
EOF
EHOST_TIMEOUT=${EHOST_TIMEOUT:-5400} EHOST_FIXTURES=$W/fix \
	bash "$vm/emulated-host.sh" "$B/ehost" "$CAPSA" "$W/tests" | tee "$W/log" | grep -E '^(RESULT|ok|not ok|#)' || true
# Medians over the rounds, their spread, and the ratio capsa/QEMU.
tr -d '\r' <"$W/log" | awk '
	# A figure in MB/s or IOPS, whatever unit dd chose.
	function num(v, u) { return u ~ /GB\/s/ ? v * 1000 : u ~ /[kK]B\/s/ ? v / 1000 : v }
	function median(w, s,   v, k, i, j, t) {
		k = n[w, s]
		for (i = 1; i <= k; i++) v[i] = x[w, s, i]
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		lo[w, s] = v[1]; hi[w, s] = v[k]
		return k ? (k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2) : 0
	}
	$1 == "RESULT" && NF >= 5 && $4 ~ /^[0-9.]+$/ { x[$2, $3, ++n[$2, $3]] = num($4, $5) }
	END {
		split("seqwrite seqread randread1 randread4", ws)
		for (i = 1; i <= 4; i++) {
			w = ws[i]; c = median(w, "capsa"); q = median(w, "qemu")
			printf "%-10s capsa %8.1f (%.1f-%.1f, %d runs)  qemu %8.1f (%.1f-%.1f, %d runs)  %s  capsa/qemu %.2f\n",
				w, c, lo[w, "capsa"], hi[w, "capsa"], n[w, "capsa"], q, lo[w, "qemu"],
				hi[w, "qemu"], n[w, "qemu"], w ~ /rand/ ? "IOPS" : "MB/s", q ? c / q : 0
		}
	}'
