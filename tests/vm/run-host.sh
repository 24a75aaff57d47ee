#!/bin/sh
# run-host.sh BUILD_DIR CAPSA [GROUP...] - run the VM tests where they can run:
# directly when this machine's KVM boots a guest, else in the emulated KVM
# host (tests/vm/emulated-host.sh).
set -eu
B=$1 CAPSA=$2
shift 2
here=$(dirname "$0")
# Test helpers built by tests/vm/vm.mk.
bins=$(ls "$B"/tests-bin/* 2>/dev/null || true)
if "$CAPSA" -- true >/dev/null 2>&1; then
	echo "# this machine's KVM boots guests: running the VM tests here"
	PATH=$(realpath "$B/tests-bin" 2>/dev/null || echo /nonexistent):$PATH \
	CAPSA=$(realpath "$CAPSA") sh "$here/run.sh" "$@"
else
	echo "# $("$CAPSA" -- true 2>&1 | head -n1)"
	echo "# running the VM tests in an emulated KVM host"
	# shellcheck disable=SC2086  # one file per word
	EHOST_ARGS="$*" "$here/emulated-host.sh" "$B/ehost" "$CAPSA" "$here" $bins
fi
