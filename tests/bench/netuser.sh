#!/bin/bash
# netuser.sh [MIB] [RUNS] [REQUESTS] - user networking side by side: capsa
# --net user against QEMU's microvm machine with -netdev user (libslirp)
# and with Debian's passt (-netdev stream), same guest kernel
# (build/bzImage), busybox nc at both ends (tests/bench/net-guest.sh) and
# the same short-request client (tests/bench/connrate.c), against servers
# on the host's loopback; alternating, RUNS times each.
#
# It runs inside the emulated KVM host of the VM tests, like net.sh: the
# absolute figures are an emulated machine's; compare the ratios.
set -eu
cd "$(dirname "$0")/../.."
B=build MIB=${1:-64} RUNS=${2:-3} REQ=${3:-200}
S=$B/bench-netuser
make -s capsa "$B/tests-bin/netlab" "$B/bench-bin/connrate"
command -v passt >/dev/null || { echo "netuser.sh: passt missing (sh .ci/deps)" >&2; exit 1; }
rm -rf "$S"
mkdir -p "$S/qroot/bin" "$S/qroot/proc" "$S/qroot/sys" "$S/qroot/dev" "$S/qroot/tmp" "$S/tests"

cp /bin/busybox "$S/qroot/bin/busybox"
ln -s busybox "$S/qroot/bin/sh"
install -m 755 tests/bench/netuser-qinit.sh "$S/qroot/init"
install -m 755 tests/bench/net-guest.sh "$S/qroot/bench.sh"
install -m 755 "$B/bench-bin/connrate" "$S/qroot/connrate"
(cd "$S/qroot" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$S/qguest.cpio"

cp tests/bench/netuser-ehost.sh "$S/tests/run.sh"
cp tests/vm/lib.sh tests/bench/net-guest.sh "$S/tests/"
echo "$MIB" >"$S/tests/mib"
echo "$RUNS" >"$S/tests/runs"
echo "$REQ" >"$S/tests/requests"
# ONLY="capsa slirp passt" (any of them) runs those backends only; passt
# is not in the default: see netuser-ehost.sh.
echo "${ONLY:-capsa slirp}" >"$S/tests/only"
qemu=$(command -v qemu-system-x86_64) passt=$(command -v passt)
libs=$( (ldd "$qemu"; ldd "$passt") | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
# shellcheck disable=SC2086  # one file per word
EHOST_TIMEOUT=${EHOST_TIMEOUT:-3000} tests/vm/emulated-host.sh "$B/ehost" ./capsa "$S/tests" \
	"$qemu" "$passt" $libs /usr/share/qemu/bios-microvm.bin "$B/bzImage" "$S/qguest.cpio" \
	"$B/tests-bin/netlab" "$B/bench-bin/connrate" >"$S/ehost.log" 2>&1 || status=$?
grep -E '^(ok|not ok|#)' "$S/ehost.log" || true
[ "${status:-0}" -eq 0 ] || { tail -n 5 "$S/ehost.log"; exit 1; }

tr -d '\r' <"$S/ehost.log" | awk -v mib="$MIB" -v req="$REQ" '
	/^RESULT / { n[$2]++; g[$2, n[$2]] = $3; h[$2, n[$2]] = $4; c[$2, n[$2]] = $5;
		     printf "%-5s run %d: guest->host %7.2f MiB/s  host->guest %7.2f MiB/s  %7.1f requests/s\n",
			$2, n[$2], $3, $4, $5 }
	function median(a, who, k,   v, i, j, t) {
		for (i = 1; i <= k; i++) v[i] = a[who, i]
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
	}
	END {
		split("capsa slirp passt", who, " ")
		printf "\nmedians (%d MiB each way, %d requests, %d runs):\n", mib, req, n["capsa"]
		printf "| metric | capsa --net user | QEMU slirp | QEMU passt | capsa/slirp | capsa/passt |\n|---|---:|---:|---:|---:|---:|\n"
		split("guest->host MiB/s,host->guest MiB/s,requests/s", name, ",")
		for (m = 1; m <= 3; m++) {
			for (k = 1; k <= 3; k++) {
				if (m == 1) v[k] = median(g, who[k], n[who[k]])
				else if (m == 2) v[k] = median(h, who[k], n[who[k]])
				else v[k] = median(c, who[k], n[who[k]])
			}
			printf "| %s |", name[m]
			for (k = 1; k <= 3; k++) printf n[who[k]] ? " %.2f |" : " not run |", v[k]
			for (k = 2; k <= 3; k++) printf n[who[k]] && v[k] ? " %.2f |" : " - |", v[k] ? v[1] / v[k] : 0
			printf "\n"
		}
		# A row says why it has no figure.
		if (!n["passt"])
			print "passt: not run (the emulated KVM host dies when a QEMU guest starts on it; ONLY=passt tries it)"
	}'
