# virtio-net on a TAP interface (--net tap:NAME, --mac, --ip, --gateway).
# Sourced by run.sh. nettool (tests/vm/nettool.c) makes taps, holds them
# busy, drops CAP_NET_ADMIN and sends odd frames; busybox does the rest.

NETTOOL=$(command -v nettool)
HOST_IP=10.0.2.1
GUEST_IP=10.0.2.15
NET_MIB=32

# host_tap NAME: a persistent tap with $HOST_IP/24 on the host side, up.
host_tap() {
	nettool mktap "$1" && ip addr add "$HOST_IP/24" dev "$1" && ip link set "$1" up
}

# no_tap NAME: delete the persistent tap NAME.
no_tap() {
	nettool rmtap "$1" 2>/dev/null
}

# netcap ARGS...: cap with the guest on tap ctap0, nettool in the guest.
netcap() {
	cap --net tap:ctap0 --ip "$GUEST_IP/24" --gateway "$HOST_IP" \
		--copy "$NETTOOL:/usr/bin/nettool" "$@"
}

# The default: no network device, only the loopback interface.
t_net_none() {
	cap -- sh -c 'ls /sys/class/net; ip link'
	expect_eq "no --net: exit 0" "$rc" 0
	expect_eq "no --net: /sys/class/net has only lo" "$(head -n1 "$T/out")" lo
	expect_eq "no --net: ip link lists one interface" "$(grep -c '^[0-9]*:' "$T/out")" 1
	expect_grep "no --net: that one is lo, up" "$T/out" "^1: lo: <LOOPBACK,UP"
}

# --ip/--gateway configure eth0 before the command; the guest pings the host.
t_net_ping() {
	host_tap ctap0
	netcap -- sh -c 'ip -4 addr show eth0; ip route; ping -c 3 -W 5 '$HOST_IP
	expect_eq "ping the host: exit 0" "$rc" 0
	expect_grep "eth0 has --ip" "$T/out" "inet $GUEST_IP/24"
	expect_grep "default route via --gateway" "$T/out" "^default via $HOST_IP dev eth0"
	expect_grep "3 replies" "$T/out" "3 packets received"
	no_tap ctap0
}

# --mac, the default MAC, and eth0 up but unconfigured without --ip.
t_net_mac() {
	host_tap ctap0
	cap --net tap:ctap0 --mac 52:54:00:12:34:56 -- cat /sys/class/net/eth0/address
	expect_file "--mac sets eth0's address" "$T/out" 52:54:00:12:34:56
	cap --net tap:ctap0 -- sh -c 'cat /sys/class/net/eth0/address; ip -4 addr show eth0 | grep -c inet; ip link show eth0'
	expect_eq "no --ip: exit 0" "$rc" 0
	mac=$(head -n1 "$T/out")
	case $mac in
	?[26ae]:??:??:??:??:??) ok "default MAC is locally administered unicast ($mac)" ;;
	*) fail "default MAC is locally administered unicast" "got '$mac'" ;;
	esac
	expect_eq "no --ip: eth0 has no IPv4 address" "$(sed -n 2p "$T/out")" 0
	expect_grep "no --ip: eth0 is up" "$T/out" "eth0: <.*UP"
	no_tap ctap0
}

# sha256 FILE: the hash alone.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# Both directions of TCP through busybox nc, NET_MIB MiB each, hashed. The
# host listens for both: 5001 takes the guest's data, 5002 serves the
# host's. A listener's stdin is a fifo nobody writes, so nc does not
# half-close the connection before the data is through.
t_net_bulk() {
	host_tap ctap0
	head -c $((NET_MIB << 20)) /dev/urandom >"$T/h2g"
	mkfifo "$T/idle"
	exec 7<>"$T/idle"
	nc -l -p 5001 <"$T/idle" >"$T/g2h" &
	p1=$!
	nc -l -p 5002 <"$T/h2g" >/dev/null &
	p2=$!
	netcap --memory 512 --timeout 300 -- sh -c '
		head -c '$((NET_MIB << 20))' /dev/urandom >/tmp/g
		sha256sum /tmp/g | cut -d" " -f1
		mkfifo /tmp/idle; exec 3<>/tmp/idle
		t0=$(cut -d" " -f1 /proc/uptime)
		nc '$HOST_IP' 5001 </tmp/g
		t1=$(cut -d" " -f1 /proc/uptime)
		nc '$HOST_IP' 5002 </tmp/idle >/tmp/h
		t2=$(cut -d" " -f1 /proc/uptime)
		sha256sum /tmp/h | cut -d" " -f1
		echo "$t0 $t1 $t2"'
	# The guest is gone: a listener still waiting was never called.
	for _i in $(seq 50); do kill -0 $p1 2>/dev/null || break; sleep 0.1; done
	kill $p1 $p2 2>/dev/null
	wait $p1 $p2 2>/dev/null
	exec 7>&-
	expect_eq "bulk: exit 0" "$rc" 0
	[ "$rc" = 0 ] || diag "stderr: $(cat "$T/err"); stdout: $(cat "$T/out")"
	expect_eq "guest to host: $NET_MIB MiB, same sha256" "$(sha "$T/g2h")" "$(sed -n 1p "$T/out")"
	expect_eq "host to guest: $NET_MIB MiB, same sha256" "$(sed -n 2p "$T/out")" "$(sha "$T/h2g")"
	set -- $(sed -n 3p "$T/out")
	[ $# = 3 ] && diag "$(awk -v m=$NET_MIB -v a="$1" -v b="$2" -v c="$3" 'BEGIN {
		printf "throughput (emulated host): guest->host %.1f MiB/s, host->guest %.1f MiB/s",
			m / (b - a), m / (c - b) }')"
	rm -f "$T/h2g" "$T/g2h" "$T/idle"
	no_tap ctap0
}

# A tap capsa created is deleted when capsa ends, however it ends.
t_net_gone() {
	cap --net tap:cnew0 -- ls /sys/class/net
	expect_eq "new tap: exit 0" "$rc" 0
	expect_grep "new tap: the guest has eth0" "$T/out" "^eth0$"
	[ -e /sys/class/net/cnew0 ] && fail "a tap capsa created is gone after it exits" "cnew0 is still there"
	[ -e /sys/class/net/cnew0 ] || ok "a tap capsa created is gone after it exits"
	"$CAPSA" --net tap:cnew1 -- sleep 600 >/dev/null 2>&1 </dev/null &
	pid=$!
	for _i in $(seq 100); do
		[ -e /sys/class/net/cnew1 ] && break
		sleep 0.1
	done
	expect_eq "the created tap exists while capsa runs" "$(ls /sys/class/net | grep -c '^cnew1$')" 1
	# Jailed (its own mount namespace), but with the host's network: the tap.
	for _i in $(seq 100); do
		[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ] && break
		sleep 0.1
	done
	jail_ns_differs $pid mnt
	expect_eq "with a tap the jail keeps the network namespace" \
		"$(readlink /proc/$pid/ns/net)" "$(readlink /proc/$$/ns/net)"
	kill -9 $pid
	wait $pid 2>/dev/null
	for _i in $(seq 20); do
		[ -e /sys/class/net/cnew1 ] || break
		sleep 0.1
	done
	expect_eq "after kill -9 the created tap is gone" "$(ls /sys/class/net | grep -c '^cnew1$')" 0
}

# Bad input, and taps capsa cannot have: 125 and one line naming why.
t_net_bad() {
	bad "--net tap:bad/name" --net tap:bad/name -- true
	bad "--net tap: too long" --net tap:abcdefghijklmnop -- true
	bad "--net bogus" --net bogus -- true
	bad "--mac multicast" --net tap:x --mac 01:00:5e:00:00:01 -- true
	bad "--mac garbage" --net tap:x --mac 52:54:00:12:34 -- true
	bad "--ip without prefix" --net tap:x --ip 10.0.2.15 -- true
	bad "--ip without --net" --ip 10.0.2.15/24 -- true
	bad "--gateway off the subnet" --net tap:x --ip 10.0.2.15/24 --gateway 10.0.3.1 -- true
	bad "--net tap:lo (not a tap)" --net tap:lo -- true
	expect_grep "not a tap: says so" "$T/err" "not a tap"
	nettool hold cbusy 2>"$T/hold.err" &
	hold=$!
	for _i in $(seq 50); do
		grep -q holding "$T/hold.err" && break
		sleep 0.1
	done
	bad "busy tap" --net tap:cbusy -- true
	expect_grep "busy tap: says so" "$T/err" "in use by another process"
	kill $hold
	wait $hold 2>/dev/null
	nettool nocap "$CAPSA" --net tap:cnoperm -- true >"$T/out" 2>"$T/err" </dev/null
	expect_eq "no CAP_NET_ADMIN to create a tap: exit 125" "$?" 125
	expect_lines "no CAP_NET_ADMIN: one line" "$T/err" 1
	expect_grep "no CAP_NET_ADMIN: says so" "$T/err" "CAP_NET_ADMIN"
}

# Odd frames both ways (smallest, MTU-sized, a flood while the guest is slow
# to read), then the link still works and capsa reports what it dropped.
t_net_junk() {
	host_tap ctap0
	ip link set ctap0 mtu 9000
	"$CAPSA" -v --net tap:ctap0 --ip "$GUEST_IP/24" --copy "$NETTOOL:/usr/bin/nettool" -- sh -c '
		echo "guest sent $(nettool junk eth0 300) odd frames"
		nc -l -p 5003 </dev/null
		ping -c 3 -W 5 '$HOST_IP >"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	for _i in $(seq 300); do
		ping -c 1 -W 1 $GUEST_IP >/dev/null 2>&1 && break
	done
	sent=$(nettool junk ctap0 3000)
	for _i in $(seq 50); do
		echo go | nc $GUEST_IP 5003 2>/dev/null && break
		sleep 0.2
	done
	wait $pid
	rc=$?
	diag "host sent $sent odd frames; $(grep -o 'guest sent [0-9]*' "$T/out")"
	expect_eq "after odd frames: exit 0" "$rc" 0
	expect_grep "after odd frames: the guest still pings the host" "$T/out" "3 packets received"
	expect_grep "capsa -v reports eth0's counters" "$T/err" "eth0: received"
	diag "$(grep 'eth0: received' "$T/err")"
	no_tap ctap0
}

ALL_GROUPS="$ALL_GROUPS t_net_none t_net_ping t_net_mac t_net_bulk t_net_gone t_net_bad t_net_junk"
