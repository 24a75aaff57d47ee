#!/bin/sh
# exec.sh BUILD_DIR CAPSA BENCH_BIN - `make bench-exec`: the latency of
# `capsa exec PATH -- true` beside the boot to exit of `capsa -- true`, in
# one run (tests/bench/exec-run.sh does the runs). Goal: an exec costs at
# most 5% of a boot.
#
# Where this machine's KVM cannot boot a guest, the runs are in the
# emulated KVM host (tests/vm/emulated-host.sh); compare the two figures
# there, not the absolute numbers.
#
# Writes BUILD_DIR/bench-exec/log (BENCH lines for tests/bench/report.py).
# env: BENCH_EXEC_RUNS (execs, default 50), BENCH_EXEC_BOOTS (boots, 15),
#      EHOST_TIMEOUT (s, default 1200)
set -eu
B=$1 CAPSA=$2 BIN=$3
here=$(cd "$(dirname "$0")" && pwd)
W=$B/bench-exec
rm -rf "$W"
mkdir -p "$W/tests"
cp "$here/exec-run.sh" "$W/tests/run.sh"
sed -i "1a RUNS=${BENCH_EXEC_RUNS:-50} BOOTS=${BENCH_EXEC_BOOTS:-15}" "$W/tests/run.sh"
if "$CAPSA" -- true >/dev/null 2>&1; then
	echo "# bench-exec: this machine's KVM boots guests: running here"
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	ln -s "$(realpath "$BIN/measure")" "$bin/"
	ln -s "$(realpath "$CAPSA")" "$bin/capsa"
	cp "$here/../vm/lib.sh" "$W/tests/lib.sh"
	PATH=$bin:$PATH sh "$W/tests/run.sh" | tee "$W/log"
	echo "BENCH env direct $(uname -r)" >>"$W/log"
else
	echo "# bench-exec: running in the emulated KVM host (QEMU TCG + nested SVM)"
	EHOST_TIMEOUT=${EHOST_TIMEOUT:-1200} \
		bash "$here/../vm/emulated-host.sh" "$B/ehost" "$CAPSA" "$W/tests" "$BIN/measure" |
		tee "$W/serial" | grep -E '^(ok|not ok|#|emulated-host)' || true
	tr -d '\r' <"$W/serial" | grep '^BENCH ' >"$W/log" || true
	echo "BENCH env emulated $(ls "$B"/ehost/kernel/lib/modules | head -n1)" >>"$W/log"
fi
