#!/bin/sh
# vm.sh BUILD_DIR CAPSA BENCH_BIN - capsa against QEMU microvm, side by
# side in one run: boot to exit of `true`, VMM memory, command output and
# vsock throughput (tests/bench/vm-run.sh does the runs).
#
# Both boot the same guest kernel (build/bzImage) with the same initramfs
# and init: QEMU's initrd is capsa's embedded initramfs plus the per-run
# cpio capsa would append (mkrun, built from capsa's own objects), its
# kernel command line capsa's (less the devices microvm declares itself),
# and it gets a vhost-vsock device, where vsockhost speaks capsa's host
# protocol to the init. Same memory and vCPUs.
#
# Where this machine's KVM cannot boot a guest, everything runs in the
# emulated KVM host (tests/vm/emulated-host.sh): absolute figures there are
# far below real hardware; compare the two columns, not the numbers.
#
# Writes BUILD_DIR/bench-vm/log (the BENCH lines); tests/bench/report.py
# makes the table.
# env: BENCH_RUNS (boot runs each, default 15), BENCH_MEM_RUNS (3),
#      BENCH_VRUNS (verbose boot-phase runs, 3), BENCH_CG_RUNS (callgrind
#      runs, 2), BENCH_OUT_RUNS (command output runs, 1), BENCH_TP_RUNS
#      (vsock runs, 3), BENCH_OUT_MIB (256), BENCH_BIG_MIB (1024),
#      BENCH_VSOCK_MIB (256), BENCH_MEM_MIB (512), BENCH_CPUS (1),
#      EHOST_TIMEOUT (s, default 3600)
set -eu
B=$1 CAPSA=$2 BIN=$3
here=$(cd "$(dirname "$0")" && pwd)
W=$B/bench-vm
rm -rf "$W"
mkdir -p "$W/tests" "$W/fix"
F=$W/fix
mem=${BENCH_MEM_MIB:-512} cpus=${BENCH_CPUS:-1}
big=$((${BENCH_BIG_MIB:-1024} * 1048576))
vs=$((${BENCH_VSOCK_MIB:-256} * 1048576))
out=$((${BENCH_OUT_MIB:-256} * 1048576))

# QEMU and the shared libraries it needs, started through their own loader.
sh "$here/qemu-fixture.sh" "$F/qemu"
cp "$B/bzImage" "$F/bzImage"
# valgrind's callgrind (a static tool binary) for the instruction counts.
vg=/usr/libexec/valgrind
if [ -x $vg/callgrind-amd64-linux ]; then
	mkdir -p "$F/vg"
	cp $vg/callgrind-amd64-linux $vg/vgpreload_core-amd64-linux.so $vg/default.supp "$F/vg/"
else
	echo "# bench: no valgrind: no instruction counts"
fi

# QEMU's initrds: what capsa would load for the same command line.
run() { o=$1; shift; "$BIN/mkrun" "$B/initramfs.cpio" "$F/$o" --memory "$mem" --cpus "$cpus" "$@"; }
run true.cpio -- true
run out.cpio -- sh -c "cat /dev/zero | head -c $out"
run h2g.cpio --copy "$BIN/bstream:/usr/bin/bstream" -- bstream recv-vsock 5001
run g2h.cpio --copy "$BIN/bstream:/usr/bin/bstream" -- bstream send-vsock 2 6001 "$vs"

cat >"$F/params" <<EOF
RUNS=${BENCH_RUNS:-15} MEM_RUNS=${BENCH_MEM_RUNS:-3} VRUNS=${BENCH_VRUNS:-3}
CG_RUNS=${BENCH_CG_RUNS:-2} OUT_RUNS=${BENCH_OUT_RUNS:-1} TP_RUNS=${BENCH_TP_RUNS:-3} OUT_BYTES=$out BIG_BYTES=$big VSOCK_BYTES=$vs
MEM_MIB=$mem CPUS=$cpus
EOF
cp "$here/vm-run.sh" "$W/tests/run.sh"
tools="$BIN/measure $BIN/vsockhost $BIN/bstream"

if "$CAPSA" -- true >/dev/null 2>&1; then
	# This machine's KVM boots guests: run here (needs vhost_vsock).
	echo "# bench: this machine's KVM boots guests: running here"
	modprobe vhost_vsock 2>/dev/null || true
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	for t in $tools; do ln -s "$(realpath "$t")" "$bin/"; done
	ln -s "$(realpath "$CAPSA")" "$bin/capsa"
	cp "$here/../vm/lib.sh" "$W/tests/lib.sh"
	PATH=$bin:$PATH F=$(realpath "$F") QEMU=qemu-system-x86_64 \
		sh "$W/tests/run.sh" | tee "$W/log"
	echo "BENCH env direct $(uname -r)" >>"$W/log"
else
	echo "# bench: $("$CAPSA" -- true 2>&1 | head -n1)"
	echo "# bench: running in the emulated KVM host (QEMU TCG + nested SVM)"
	q=/tests/fixtures/qemu
	sed -i "1a F=/tests/fixtures QEMU=\"$q/lib/ld-linux-x86-64.so.2 --library-path $q/lib $q/qemu-system-x86_64\"" \
		"$W/tests/run.sh"
	EHOST_TIMEOUT=${EHOST_TIMEOUT:-3600} EHOST_FIXTURES=$F EHOST_MODULES=vhost_vsock \
		bash "$here/../vm/emulated-host.sh" "$B/ehost" "$CAPSA" "$W/tests" $tools |
		tee "$W/serial" | grep -E '^(ok|not ok|#|emulated-host)' || true
	tr -d '\r' <"$W/serial" | grep '^BENCH ' >"$W/log" || true
	echo "BENCH env emulated $(ls "$B"/ehost/kernel/lib/modules | head -n1)" >>"$W/log"
fi
