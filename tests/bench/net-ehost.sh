#!/bin/sh
# net-ehost.sh - runs inside the emulated KVM host as its run.sh (see
# tests/bench/net.sh): the same TCP transfers through the same persistent
# tap, with capsa and with QEMU's microvm (virtio-net-device, vhost=off).
. /tests/lib.sh
MIB=$(cat /tests/mib)
RUNS=$(cat /tests/runs)
HOST_IP=10.0.2.1
GUEST_IP=10.0.2.15
B=/tests/bin

nettool mktap btap0 && ip addr add $HOST_IP/24 dev btap0 && ip link set btap0 up
head -c $((MIB << 20)) /dev/urandom >/tmp/h2g
want_h2g=$(sha256sum </tmp/h2g | cut -c1-16)
mkfifo /tmp/idle
exec 7<>/tmp/idle

# listen: the host ends of both transfers, in the background.
listen() {
	nc -l -p 5001 </tmp/idle >/tmp/g2h &
	l1=$!
	nc -l -p 5002 </tmp/h2g >/dev/null &
	l2=$!
}

# verdict NAME LOG: check the BENCH line of one run, report its throughput.
verdict() {
	set -- "$1" $(grep -a '^BENCH ' "$2" | tr -d '\r' | head -n1)
	[ $# -eq 6 ] || kill $l1 2>/dev/null	# the guest never connected
	wait $l1
	kill $l2 2>/dev/null
	if [ $# -ne 6 ] || [ "$5" != "$(sha256sum </tmp/g2h | cut -c1-16)" ] || [ "$6" != "$want_h2g" ]; then
		fail "$1: $MIB MiB each way, hashes match" "$(tail -n 5 "$2" | tr '\n' '|')"
		return
	fi
	ok "$1: $MIB MiB each way, hashes match"
	awk -v n="$1" -v m=$MIB -v a="$3" -v b="$4" 'BEGIN {
		printf "RESULT %s %.2f %.2f\n", n, m / a, m / b }'
}

capsa_run() {
	listen
	capsa -v --timeout $((MIB * 20 + 60)) --net tap:btap0 --ip $GUEST_IP/24 \
		--copy /tests/net-guest.sh:/bench.sh \
		-- sh /bench.sh $MIB $HOST_IP >/tmp/capsa.log 2>/tmp/capsa.err </dev/null
	rc=$?
	[ $rc = 0 ] || { echo "# capsa exit $rc"; grep -a -v '^\[' /tmp/capsa.err | tail -n 5 | sed 's/^/# /'; }
	verdict capsa /tmp/capsa.log
	# Frames and bytes show whether the offloads worked (64 KiB TSO frames).
	grep -o 'eth0: received.*' /tmp/capsa.err | sed 's/^/# /'
}

qemu_run() {
	listen
	timeout $((MIB * 20 + 120)) \
	$B/ld-linux-x86-64.so.2 --library-path $B $B/qemu-system-x86_64 -L $B \
		-M microvm,acpi=off,x-option-roms=off,rtc=off -enable-kvm -cpu host \
		-m 512 -smp 1 -nodefaults -no-user-config -display none -monitor none \
		-serial file:/tmp/qemu.log -no-reboot -bios $B/bios-microvm.bin \
		-kernel $B/bzImage -initrd $B/qguest.cpio \
		-append "console=ttyS0 reboot=t panic=-1 quiet rdinit=/init tsc=reliable no_timer_check mib=$MIB" \
		-netdev tap,id=n0,ifname=btap0,script=no,downscript=no,vhost=off \
		-device virtio-net-device,netdev=n0 </dev/null >/tmp/qemu.out 2>&1
	[ -s /tmp/qemu.out ] && sed 's/^/# qemu: /' /tmp/qemu.out | head -n 5
	grep -q '^BENCH ' /tmp/qemu.log || sed 's/^/# qemu guest: /' /tmp/qemu.log | tail -n 30
	verdict qemu /tmp/qemu.log
}

for i in $(seq "$RUNS"); do
	[ -n "${QEMU_ONLY:-}" ] || capsa_run
	[ -n "${CAPSA_ONLY:-}" ] || qemu_run
done
plan
