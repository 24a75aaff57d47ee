#!/bin/sh
# run-host.sh BUILD_DIR CAPSA [GROUP...] - run the VM tests where they can run:
# directly when this machine's KVM boots a guest, else in the emulated KVM
# host (tests/vm/emulated-host.sh).
# Test helpers (BUILD_DIR/tests-bin, from tests/vm/vm.mk) and EHOST_FILES
# (e.g. build/capsa-test) are put on PATH. Fixtures built into
# BUILD_DIR/fixtures (tests/vm/blk.mk) are passed on: as $FIXTURES, or
# /tests/fixtures in the emulated host.
set -eu
B=$1 CAPSA=$2
shift 2
here=$(dirname "$0")
bins=$(ls "$B"/tests-bin/* 2>/dev/null || true)
fix=
[ ! -d "$B/fixtures" ] || fix=$(realpath "$B/fixtures")
if "$CAPSA" -- true >/dev/null 2>&1; then
	echo "# this machine's KVM boots guests: running the VM tests here"
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	for f in $bins ${EHOST_FILES:-}; do ln -s "$(realpath "$f")" "$bin/"; done
	PATH=$bin:$PATH FIXTURES=$fix CAPSA=$(realpath "$CAPSA") sh "$here/run.sh" "$@"
else
	echo "# $("$CAPSA" -- true 2>&1 | head -n1)"
	echo "# running the VM tests in an emulated KVM host"
	# shellcheck disable=SC2086 # a list of files
	EHOST_FIXTURES=$fix EHOST_ARGS="$*" \
		"$here/emulated-host.sh" "$B/ehost" "$CAPSA" "$here" $bins ${EHOST_FILES:-}
fi
