#!/bin/sh
# run-host.sh BUILD_DIR CAPSA [GROUP...] - run the VM tests where they can run:
# directly when this machine's KVM boots a guest, else in the emulated KVM
# host (tests/vm/emulated-host.sh).
# env EHOST_FILES: more files the tests run (e.g. build/capsa-test), on PATH.
set -eu
B=$1 CAPSA=$2
shift 2
here=$(dirname "$0")
# Test helpers built by tests/vm/vm.mk.
bins=$(ls "$B"/tests-bin/* 2>/dev/null || true)
if "$CAPSA" -- true >/dev/null 2>&1; then
	echo "# this machine's KVM boots guests: running the VM tests here"
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	for f in $bins ${EHOST_FILES:-}; do ln -s "$(realpath "$f")" "$bin/"; done
	PATH=$bin:$PATH CAPSA=$(realpath "$CAPSA") sh "$here/run.sh" "$@"
else
	echo "# $("$CAPSA" -- true 2>&1 | head -n1)"
	echo "# running the VM tests in an emulated KVM host"
	# shellcheck disable=SC2086 # a list of files
	EHOST_ARGS="$*" "$here/emulated-host.sh" "$B/ehost" "$CAPSA" "$here" $bins ${EHOST_FILES:-}
fi
