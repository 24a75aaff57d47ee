#!/bin/sh
# VM tests: run the real capsa against a real KVM and guest kernel.
# usage: run.sh [GROUP...]   (default: every group)
# Each tests/vm/t_*.sh defines groups (shell functions t_NAME) and adds
# them to ALL_GROUPS.
# Prints TAP. Runs in the emulated KVM host (busybox sh) or directly on a
# host whose KVM can boot a guest; CAPSA names the binary (default: capsa).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
CAPSA=${CAPSA:-capsa}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# cap ARGS...: run capsa with stdin from /dev/null; stdout in $T/out,
# stderr in $T/err, exit status in $rc.
cap() {
	"$CAPSA" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# status NAME WANT ARGS...: run capsa and check its exit status.
status() {
	_name=$1 _want=$2
	shift 2
	cap "$@"
	if [ "$rc" = "$_want" ]; then
		ok "$_name"
	else
		fail "$_name" "exit status $rc, want $_want; stderr: $(head -c 300 "$T/err")"
	fi
}

# bad NAME ARGS...: capsa must refuse with exit 125 and one line on stderr.
bad() {
	_name=$1
	shift
	status "$_name: exit 125" 125 "$@"
	expect_lines "$_name: one line on stderr" "$T/err" 1
}

ALL_GROUPS=
for f in "$here"/t_*.sh; do
	. "$f"
done
for g in ${*:-$ALL_GROUPS}; do
	diag "$g"
	$g
done
plan
