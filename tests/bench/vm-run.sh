#!/bin/sh
# vm-run.sh - the side-by-side runs of `make bench` (tests/bench/vm.sh),
# on a host whose KVM boots guests: the emulated KVM host (busybox sh), or
# this machine. capsa and QEMU microvm take turns, run by run.
#
# env: F  fixtures (tests/bench/vm.sh): qemu/, bzImage, *.cpio, params
#      QEMU the qemu-system-x86_64 command (words; no spaces in paths)
#      CAPSA (default capsa); measure, vsockhost and bstream on PATH
# Prints TAP, and one line per measurement:
#   BENCH <metric> <capsa|qemu|plain> key=value...
# which tests/bench/report.py turns into the table and bench.json.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
CAPSA=${CAPSA:-capsa}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck disable=SC1091
. "$F/params"	# RUNS MEM_RUNS VRUNS CG_RUNS OUT_RUNS TP_RUNS OUT_BYTES BIG_BYTES ...
BSTREAM=$(command -v bstream)
TO="timeout -s KILL 600"

# The guest's kernel command line as capsa gives it (the kernel prints it
# at loglevel 7), less the virtio-mmio devices: microvm declares its own.
# capsa -v logs to its virtio-console (hvc0); QEMU's log goes to its
# serial port, the console capsa uses without -v.
$TO "$CAPSA" -v -- true >/dev/null 2>"$T/v.err"
cmdline=$(tr -d '\r' <"$T/v.err" | sed -n 's/.*Command line: //p' | head -n1 |
	sed 's/ virtio_mmio\.device=[^ ]*//g; s/ loglevel=7//; s/ quiet//; s/console=hvc0/console=ttyS0/')
if [ -n "$cmdline" ]; then ok "capsa's kernel command line: $cmdline"
else fail "capsa's kernel command line" "$(tail -n 5 "$T/v.err")"; fi
QUIET="$cmdline quiet loglevel=1" VERBOSE="$cmdline loglevel=7"

# qemu INITRD SERIAL APPEND: QEMU microvm as configured for quick boots in
# its documentation, with capsa's memory, CPUs, kernel and devices (a
# serial port, vsock).
qemu() {
	# shellcheck disable=SC2086 # QEMU is a word list
	echo $QEMU -M microvm,acpi=off,x-option-roms=off,rtc=off -enable-kvm -cpu host \
		-m "$MEM_MIB" -smp "$CPUS" -nodefaults -no-user-config -display none \
		-no-reboot -serial "file:$2" -bios "$F/qemu/bios-microvm.bin" \
		-kernel "$F/bzImage" -initrd "$1" \
		-device vhost-vsock-device,guest-cid=3 -append
}

# listening FILE: wait until the bstream whose stderr goes to FILE listens.
listening() {
	for _i in $(seq 300); do
		grep -q "bstream: listening" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- 1. boot to exit of `true`, each a whole process ------------------------
# One warm-up run each, not counted.
$TO "$CAPSA" -- true
# shellcheck disable=SC2046
$TO vsockhost -- $(qemu "$F/true.cpio" /dev/null) "$QUIET"
for i in $(seq "$RUNS"); do
	$TO measure -o "$T/m" -- "$CAPSA" -- true </dev/null
	echo "BENCH boot capsa $(cat "$T/m")"
	# shellcheck disable=SC2046
	$TO measure -o "$T/m" -- vsockhost -r "$T/r" -- $(qemu "$F/true.cpio" /dev/null) "$QUIET" </dev/null
	echo "BENCH boot qemu $(cat "$T/m") $(cat "$T/r")"
done
ok "boot: $RUNS runs each"

# The boot phases, both with the whole kernel log (loglevel 7, as `capsa
# -v` sets; capsa's on its virtio-console, QEMU's on its serial port):
# capsa's own timestamps, vsockhost's for QEMU.
for i in $(seq "$VRUNS"); do
	$TO measure -o "$T/m" -- "$CAPSA" -v -- true </dev/null 2>"$T/v.err"
	tr -d '\r' <"$T/v.err" | awk -v m="$(cat "$T/m")" '
		/VM built/ { match($0, /\(([0-9.]+) ms\)/); b = substr($0, RSTART + 1, RLENGTH - 5) }
		/guest init ready/ { match($0, /\(([0-9.]+) ms\)/); r = substr($0, RSTART + 1, RLENGTH - 5) }
		/command exited/ { match($0, /\(([0-9.]+) ms\)/); e = substr($0, RSTART + 1, RLENGTH - 5) }
		END { printf "BENCH phases capsa built_ms=%s ready_ms=%s exit_ms=%s %s\n", b, r, e, m }'
	# shellcheck disable=SC2046
	$TO measure -o "$T/m" -- vsockhost -r "$T/r" -- $(qemu "$F/true.cpio" "$T/serial") "$VERBOSE" </dev/null
	echo "BENCH phases qemu $(cat "$T/r") $(cat "$T/m")"
done
ok "phases: $VRUNS verbose runs each"

# ---- 2. VMM memory: peak RSS minus the guest RAM it touched ----------------
# QEMU ends on SIGTERM here (vsockhost -t), a clean exit, so that measure
# sees its exit with its memory still mapped.
for i in $(seq "$MEM_RUNS"); do
	$TO measure -m "$MEM_MIB" -o "$T/m" -- "$CAPSA" -- true </dev/null
	echo "BENCH mem capsa $(cat "$T/m")"
	# shellcheck disable=SC2046
	$TO vsockhost -t -- measure -m "$MEM_MIB" -o "$T/m" -- $(qemu "$F/true.cpio" /dev/null) "$QUIET" </dev/null
	echo "BENCH mem qemu $(cat "$T/m")"
done
if grep -q "guest_maps=1" "$T/m"; then ok "memory: the guest RAM mapping found"
else fail "memory: the guest RAM mapping found" "$(cat "$T/m")"; fi

# ---- 2b. a stable figure: instructions, counted by callgrind ---------------
# All threads of the VMM process, exec to exit, for `true`; for capsa also
# the set-up path alone (exec to vm_start, where the vCPUs start). capsa
# runs with --jail off: valgrind cannot run under capsa's seccomp filter.
if [ -x "$F/vg/callgrind-amd64-linux" ]; then
	export VALGRIND_LIB="$F/vg" VALGRIND_LAUNCHER=/bin/false
	cg="$F/vg/callgrind-amd64-linux --callgrind-out-file=$T/cg.out"
	for i in $(seq "$CG_RUNS"); do
		rm -f "$T"/cg.out*
		# shellcheck disable=SC2086
		$TO $cg --dump-before=vm_start "$CAPSA" --jail off -- true </dev/null 2>/dev/null
		st=$?
		setup=$(sed -n 's/^totals: //p' "$T/cg.out.1" 2>/dev/null)
		rest=$(sed -n 's/^totals: //p' "$T/cg.out" 2>/dev/null)
		echo "BENCH cg capsa status=$st setup_ir=$setup total_ir=$((${setup:-0} + ${rest:-0}))"
		rm -f "$T"/cg.out*
		# shellcheck disable=SC2046,SC2086
		$TO vsockhost -t -- $cg $(qemu "$F/true.cpio" /dev/null) "$QUIET" </dev/null 2>/dev/null
		st=$?
		echo "BENCH cg qemu status=$st total_ir=$(sed -n 's/^totals: //p' "$T/cg.out")"
	done
	unset VALGRIND_LIB VALGRIND_LAUNCHER
	if grep -q . "$T/cg.out"; then ok "callgrind: instructions counted"
	else fail "callgrind: instructions counted"; fi
fi

# ---- 3. vsock, one stream each way (before the long output runs: a
# run that hits the emulated host's time limit still has these rows) -----------------------------------------
for i in $(seq "$TP_RUNS"); do
	# host to guest: the guest's receiver reports on its stdout
	rm -f "$T/v.sock"
	$TO "$CAPSA" --vsock "$T/v.sock" --copy "$BSTREAM:/usr/bin/bstream" -- \
		bstream recv-vsock 5001 </dev/null >"$T/o" 2>/dev/null &
	$TO bstream send-unix "$T/v.sock" 5001 "$VSOCK_BYTES"
	wait
	echo "BENCH vsock_in capsa $(sed -n 's/^bstream: //p' "$T/o")"
	# shellcheck disable=SC2046
	$TO vsockhost -- $(qemu "$F/h2g.cpio" /dev/null) "$QUIET" </dev/null >"$T/o" 2>/dev/null &
	$TO bstream send-vsock 3 5001 "$VSOCK_BYTES"
	wait
	echo "BENCH vsock_in qemu $(sed -n 's/^bstream: //p' "$T/o")"
	# guest to host: the host's receiver reports
	rm -f "$T/s"
	rm -f "$T/l"
	bstream -o "$T/s" recv-unix "$T/v.sock_6001" 2>"$T/l" &
	listening "$T/l"
	$TO "$CAPSA" --vsock "$T/v.sock" --copy "$BSTREAM:/usr/bin/bstream" -- \
		bstream send-vsock 2 6001 "$VSOCK_BYTES" </dev/null
	wait
	echo "BENCH vsock_out capsa $(sed 's/^bstream: //' "$T/s")"
	rm -f "$T/s"
	rm -f "$T/l"
	bstream -o "$T/s" recv-vsock 6001 2>"$T/l" &
	listening "$T/l"
	# shellcheck disable=SC2046
	$TO vsockhost -- $(qemu "$F/g2h.cpio" /dev/null) "$QUIET" </dev/null
	wait
	echo "BENCH vsock_out qemu $(sed 's/^bstream: //' "$T/s")"
done
if grep -q "bytes=$VSOCK_BYTES " "$T/s"; then ok "vsock: every byte arrived"
else fail "vsock: every byte arrived" "$(cat "$T/s")"; fi
# ---- 4. command output through each one's channel --------------------------
for i in $(seq "$OUT_RUNS"); do
	$TO "$CAPSA" -- sh -c "cat /dev/zero | head -c $OUT_BYTES" </dev/null | bstream -o "$T/s" sink
	echo "BENCH out capsa $(sed 's/^bstream: //' "$T/s")"
	# shellcheck disable=SC2046
	$TO vsockhost -- $(qemu "$F/out.cpio" /dev/null) "$QUIET" </dev/null | bstream -o "$T/s" sink
	echo "BENCH out qemu $(sed 's/^bstream: //' "$T/s")"
done
# capsa's stdout against a plain pipe, same producer and reader.
for i in $(seq "$OUT_RUNS"); do
	$TO "$CAPSA" -- cat /dev/zero </dev/null 2>/dev/null | bstream -o "$T/s" sink "$BIG_BYTES"
	echo "BENCH big capsa $(sed 's/^bstream: //' "$T/s")"
	cat /dev/zero | bstream -o "$T/s" sink "$BIG_BYTES"
	echo "BENCH big plain $(sed 's/^bstream: //' "$T/s")"
done
if grep -q "bytes=$BIG_BYTES " "$T/s"; then ok "output: every byte arrived"
else fail "output: every byte arrived" "$(cat "$T/s")"; fi

plan
