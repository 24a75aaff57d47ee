#!/bin/sh
# exec-run.sh - the runs of `make bench-exec` (tests/bench/exec.sh), where
# a guest boots: BOOTS times `capsa -- true`, then, in one sandbox, RUNS
# times `capsa exec PATH -- true`, each a whole process under measure.
# Prints TAP and "BENCH exec_boot|exec capsa wall_ms=... status=..." lines.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
CAPSA=${CAPSA:-capsa}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TO="timeout -s KILL 600"

$TO "$CAPSA" -- true		# warm-up, not counted
for i in $(seq "$BOOTS"); do
	$TO measure -o "$T/m" -- "$CAPSA" -- true </dev/null
	echo "BENCH exec_boot capsa $(cat "$T/m")"
done
ok "boots: $BOOTS runs"

"$CAPSA" --control "$T/c.sock" -- sleep 100000 </dev/null >/dev/null 2>&1 &
box=$!
for _i in $(seq 300); do [ -S "$T/c.sock" ] && break; sleep 0.1; done
$TO "$CAPSA" exec "$T/c.sock" -- true </dev/null	# waits for the boot; not counted
n=0
for i in $(seq "$RUNS"); do
	$TO measure -o "$T/m" -- "$CAPSA" exec "$T/c.sock" -- true </dev/null
	echo "BENCH exec capsa $(cat "$T/m")"
	grep -q "status=0" "$T/m" && n=$((n + 1))
done
expect_eq "execs: $RUNS runs, each exits 0" "$n" "$RUNS"
kill $box 2>/dev/null		# SIGTERM: on to sleep, which ends the sandbox
wait $box
plan
