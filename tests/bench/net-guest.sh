#!/bin/sh
# net-guest.sh MIB HOST_IP - the guest half of tests/bench/net.sh, the same
# under capsa and QEMU: MIB MiB to the host over TCP (port 5001), then MIB
# MiB from it (port 5002), both with busybox nc, timed by the guest.
# Prints: BENCH <seconds guest->host> <seconds host->guest> <sha g->h> <sha h->g>
mib=$1 host=$2
head -c $((mib << 20)) /dev/urandom >/tmp/g
mkfifo /tmp/idle
exec 3<>/tmp/idle
t0=$(cut -d' ' -f1 /proc/uptime)
nc -w 10 "$host" 5001 </tmp/g
t1=$(cut -d' ' -f1 /proc/uptime)
nc -w 10 "$host" 5002 </tmp/idle >/tmp/h
t2=$(cut -d' ' -f1 /proc/uptime)
echo "BENCH $(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { print b - a, c - b }')" \
	"$(sha256sum </tmp/g | cut -c1-16) $(sha256sum </tmp/h | cut -c1-16)"
