#!/bin/sh
# /init of the QEMU guests in tests/bench/netuser.sh: eth0 as the backend
# (slirp or passt) expects it, then the same transfers and requests as the
# capsa guest, then reset (QEMU runs -no-reboot). The kernel command line
# says: mib= ip=ADDR/PREFIX gw= host= (where the host's loopback is) n=.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p"; }
ip link set lo up
ip addr add "$(arg ip)" dev eth0
ip link set eth0 up
ip route add default via "$(arg gw)"
sh /bench.sh "$(arg mib)" "$(arg host)"
/connrate "$(arg host)" 8080 "$(arg n)"
reboot -f
