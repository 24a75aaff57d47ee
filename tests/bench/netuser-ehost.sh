#!/bin/sh
# netuser-ehost.sh - runs inside the emulated KVM host as its run.sh (see
# tests/bench/netuser.sh): the same TCP transfers and short requests to a
# server on the host's loopback from capsa --net user, from QEMU microvm
# with -netdev user (libslirp), and from QEMU microvm with passt
# (-netdev stream). Each guest reaches the host's loopback its own way:
# capsa as host.capsa.internal (169.254.1.2), slirp as 10.0.2.2, passt as
# its gateway address (192.0.2.254: a veth pair gives passt an interface
# with a default route to copy; nothing is ever sent out of it).
# ONLY (tests/only) picks backends: so far the emulated host has died
# every time a QEMU guest started on passt (3 of 3 tries, 2026-12-01), so
# `make bench-netuser` runs capsa and slirp unless ONLY says otherwise.
. /tests/lib.sh
MIB=$(cat /tests/mib)
RUNS=$(cat /tests/runs)
N=$(cat /tests/requests)
B=/tests/bin

head -c $((MIB << 20)) /dev/urandom >/tmp/h2g
want_h2g=$(sha256sum </tmp/h2g | cut -c1-16)
mkfifo /tmp/idle
exec 7<>/tmp/idle
mkdir -p /tmp/www && echo "hello" >/tmp/www/index.html
httpd -p 127.0.0.1:8080 -h /tmp/www
netlab veth bp0 bp1 $$ && ip addr add 192.0.2.1/24 dev bp0 && ip link set bp0 up &&
	ip link set bp1 up && ip route add default via 192.0.2.254 dev bp0

listen() {
	nc -l -p 5001 </tmp/idle >/tmp/g2h &
	l1=$!
	nc -l -p 5002 </tmp/h2g >/dev/null &
	l2=$!
}

# verdict NAME LOG: check one run's BENCH and CONNRATE lines; print RESULT.
verdict() {
	set -- "$1" $(grep -a '^BENCH ' "$2" | tr -d '\r' | head -n1) $(grep -a '^CONNRATE ' "$2" | tr -d '\r' | head -n1)
	[ $# -eq 9 ] || kill $l1 2>/dev/null
	wait $l1
	kill $l2 2>/dev/null
	if [ $# -ne 9 ] || [ "$5" != "$(sha256sum </tmp/g2h | cut -c1-16)" ] || [ "$6" != "$want_h2g" ] ||
	   [ "$8" != "$N" ]; then
		fail "$1: $MIB MiB each way, hashes match, $N requests" "$(tail -n 5 "$2" | tr '\n' '|')"
		return
	fi
	ok "$1: $MIB MiB each way, hashes match, $N requests"
	awk -v n="$1" -v m=$MIB -v a="$3" -v b="$4" -v r="$8" -v s="$9" 'BEGIN {
		printf "RESULT %s %.2f %.2f %.1f\n", n, m / a, m / b, r / s }'
}

capsa_run() {
	listen
	capsa --timeout $((MIB * 20 + 300)) --allow host.capsa.internal \
		--copy /tests/net-guest.sh:/bench.sh --copy $B/connrate:/connrate \
		-- sh -c "sh /bench.sh $MIB 169.254.1.2; /connrate 169.254.1.2 8080 $N" \
		>/tmp/capsa.log 2>/tmp/capsa.err </dev/null || grep -av '^\[' /tmp/capsa.err | tail -n 5 | sed 's/^/# /'
	verdict capsa /tmp/capsa.log
}

# qemu_run NAME NETDEV APPEND
qemu_run() {
	listen
	timeout $((MIB * 20 + 400)) \
	$B/ld-linux-x86-64.so.2 --library-path $B $B/qemu-system-x86_64 -L $B \
		-M microvm,acpi=off,x-option-roms=off,rtc=off -enable-kvm -cpu host \
		-m 512 -smp 1 -nodefaults -no-user-config -display none -monitor none \
		-serial file:/tmp/qemu.log -no-reboot -bios $B/bios-microvm.bin \
		-kernel $B/bzImage -initrd $B/qguest.cpio \
		-append "console=ttyS0 reboot=t panic=-1 quiet rdinit=/init tsc=reliable no_timer_check mib=$MIB n=$N $3" \
		-netdev "$2" -device virtio-net-device,netdev=n0 </dev/null >/tmp/qemu.out 2>&1
	[ -s /tmp/qemu.out ] && sed 's/^/# qemu: /' /tmp/qemu.out | head -n 5
	grep -q '^CONNRATE ' /tmp/qemu.log || sed 's/^/# qemu guest: /' /tmp/qemu.log | tail -n 20
	verdict "$1" /tmp/qemu.log
}

slirp_run() {
	qemu_run slirp user,id=n0,net=10.0.2.0/24 "ip=10.0.2.15/24 gw=10.0.2.2 host=10.0.2.2"
}

passt_run() {
	rm -f /tmp/passt.sock
	echo "# passt: starting"
	# passt will not run as root: it becomes nobody, who must exist.
	grep -q '^nobody:' /etc/passwd 2>/dev/null || {
		mkdir -p /etc
		echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>/etc/passwd
		echo 'nogroup:x:65534:' >>/etc/group
	}
	setsid $B/ld-linux-x86-64.so.2 --library-path $B $B/passt -f -d --runas 65534:65534 \
		-s /tmp/passt.sock </dev/null >/tmp/passt.out 2>&1 &
	p=$!
	sleep 2
	echo "# passt: pid $p, $(ls -la /tmp/passt.sock 2>&1)"
	sed 's/^/# passt: /' /tmp/passt.out | head -n 30
	for _i in $(seq 50); do [ -S /tmp/passt.sock ] && break; sleep 0.1; done
	qemu_run passt stream,id=n0,server=off,addr.type=unix,addr.path=/tmp/passt.sock \
		"ip=192.0.2.1/24 gw=192.0.2.254 host=192.0.2.254"
	kill $p 2>/dev/null
	wait $p 2>/dev/null
	sed 's/^/# passt: /' /tmp/passt.out | head -n 20
}

for i in $(seq "$RUNS"); do
	for b in $(cat /tests/only); do
		${b}_run
	done
done
plan
