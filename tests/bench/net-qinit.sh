#!/bin/sh
# /init of the QEMU guest in tests/bench/net.sh: the guest network as capsa
# sets it up, then the same transfers, then reset (QEMU runs -no-reboot).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
mib=$(sed 's/.*mib=\([0-9]*\).*/\1/' /proc/cmdline)
sh /bench.sh "$mib" 10.0.2.1
reboot -f
