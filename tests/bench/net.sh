#!/bin/bash
# net.sh [MIB] [RUNS] - TCP throughput over a tap, guest to host and host to
# guest: capsa against QEMU's microvm machine with virtio-net-device
# (-netdev tap,vhost=off), with the same guest kernel (build/bzImage), the
# same persistent tap, the same busybox nc at both ends and the same guest
# script (tests/bench/net-guest.sh), alternating, RUNS times each.
#
# Both run inside the emulated KVM host of the VM tests (QEMU TCG with a
# nested SVM CPU), since that is where capsa can boot here: the absolute
# figures are those of an emulated machine; the ratio is the comparison.
# Prints each run, then the medians and capsa/QEMU ratios.
set -eu
cd "$(dirname "$0")/../.."
B=build MIB=${1:-64} RUNS=${2:-3}
S=$B/bench-net
make -s capsa "$B/tests-bin/nettool"
rm -rf "$S"
mkdir -p "$S/qroot/bin" "$S/qroot/proc" "$S/qroot/sys" "$S/qroot/dev" "$S/qroot/tmp" "$S/tests"

# The QEMU guest: busybox, the same guest script, an init that does what
# capsa's init does for --ip (uncompressed: the guest kernel has no decompressors).
cp /bin/busybox "$S/qroot/bin/busybox"
ln -s busybox "$S/qroot/bin/sh"
install -m 755 tests/bench/net-qinit.sh "$S/qroot/init"
install -m 755 tests/bench/net-guest.sh "$S/qroot/bench.sh"
(cd "$S/qroot" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$S/qguest.cpio"

# What runs in the emulated host, and what it needs there (all in /tests/bin).
cp tests/bench/net-ehost.sh "$S/tests/run.sh"
cp tests/vm/lib.sh tests/bench/net-guest.sh "$S/tests/"
echo "$MIB" >"$S/tests/mib"
echo "$RUNS" >"$S/tests/runs"
# QEMU_ONLY=1 or CAPSA_ONLY=1 run one side only.
[ -z "${QEMU_ONLY:-}" ] || sed -i "1a QEMU_ONLY=1" "$S/tests/run.sh"
[ -z "${CAPSA_ONLY:-}" ] || sed -i "1a CAPSA_ONLY=1" "$S/tests/run.sh"
qemu=$(command -v qemu-system-x86_64)
libs=$(ldd "$qemu" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
# shellcheck disable=SC2086  # one file per word
EHOST_TIMEOUT=${EHOST_TIMEOUT:-1800} tests/vm/emulated-host.sh "$B/ehost" ./capsa "$S/tests" \
	"$qemu" $libs /usr/share/qemu/bios-microvm.bin "$B/bzImage" "$S/qguest.cpio" \
	"$B/tests-bin/nettool" >"$S/ehost.log" 2>&1 || status=$?
grep -E '^(ok|not ok|#)' "$S/ehost.log" || true
[ "${status:-0}" -eq 0 ] || { tail -n 5 "$S/ehost.log"; exit 1; }

tr -d '\r' <"$S/ehost.log" | awk -v mib="$MIB" '
	/^RESULT / { n[$2]++; g[$2, n[$2]] = $3; h[$2, n[$2]] = $4;
		     printf "%-5s run %d: guest->host %7.2f MiB/s   host->guest %7.2f MiB/s\n", $2, n[$2], $3, $4 }
	function median(a, who, k,   v, i, j, t) {
		for (i = 1; i <= k; i++) v[i] = a[who, i]
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
	}
	END {
		cg = median(g, "capsa", n["capsa"]); ch = median(h, "capsa", n["capsa"])
		qg = median(g, "qemu", n["qemu"]); qh = median(h, "qemu", n["qemu"])
		printf "median (%d MiB, %d runs): capsa %.2f / %.2f MiB/s, QEMU microvm %.2f / %.2f MiB/s\n",
			mib, n["capsa"], cg, ch, qg, qh
		printf "capsa/QEMU: guest->host %.2f, host->guest %.2f\n", cg / qg, ch / qh
	}'
