#!/bin/sh
# run-host.sh BUILD_DIR CAPSA [GROUP...] - run the VM tests where they can run:
# directly when this machine's KVM boots a guest, else in the emulated KVM
# host (tests/vm/emulated-host.sh). Test fixtures built into BUILD_DIR/fixtures
# (e.g. by tests/vm/blk.mk) are passed on: as $FIXTURES, or /tests/fixtures.
set -eu
B=$1 CAPSA=$2
shift 2
here=$(dirname "$0")
fix=
[ ! -d "$B/fixtures" ] || fix=$(realpath "$B/fixtures")
if "$CAPSA" -- true >/dev/null 2>&1; then
	echo "# this machine's KVM boots guests: running the VM tests here"
	FIXTURES=$fix CAPSA=$(realpath "$CAPSA") sh "$here/run.sh" "$@"
else
	echo "# $("$CAPSA" -- true 2>&1 | head -n1)"
	echo "# running the VM tests in an emulated KVM host"
	EHOST_FIXTURES=$fix EHOST_ARGS="$*" "$here/emulated-host.sh" "$B/ehost" "$CAPSA" "$here"
fi
