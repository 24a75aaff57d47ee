# --net user, --allow/--deny, -p, --net-log (tests/vm/t_netuser.sh).
# Sourced by run.sh.
#
# The test internet is the test's own, in two network namespaces joined
# by a veth pair (netlab veth): "cap", where capsa and its broker run
# (198.51.100.1, 2001:db8:1::1; routes to the documentation prefixes and
# nothing else), and "inet", the servers (192.0.2.10 www.test with HTTP
# and a TLS stand-in that records the SNI it gets, 192.0.2.11 other.test,
# 203.0.113.7 and 2001:db8::10 echo servers). capsa's namespace also has
# its own /etc/hosts with the test names (the broker resolves with it).
# No packet can leave: neither namespace has a device to the outside.

NETLAB=$(command -v netlab)
NU_GROUP_START=0

nu_hosts() {
	cat <<-EOF
	127.0.0.1 localhost
	192.0.2.10 www.test pypi.test git.test
	2001:db8::10 www.test
	192.0.2.11 other.test
	203.0.113.7 echo.test
	2001:db8::10 echo6.test
	169.254.169.254 metadata.test
	10.1.2.3 intranet.test
	EOF
}

# in_cap CMD...: run in capsa's namespaces; in_inet CMD...: among the servers.
in_cap() { nsenter -t "$NU_CAP" -n -m -- "$@"; }
in_inet() { nsenter -t "$NU_INET" -n -- "$@"; }

# ucap ARGS...: cap, in capsa's namespaces.
ucap() {
	in_cap "$CAPSA" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# nu_up: the two namespaces, the veth between them, the servers.
nu_up() {
	nu_hosts >"$T/nu-hosts"
	mkdir -p "$T/www" "$T/www2"
	echo "hello from www.test" >"$T/www/index.html"
	echo "hello from other.test" >"$T/www2/index.html"
	[ -e /etc/hosts ] || { mkdir -p /etc && : >/etc/hosts; }
	unshare -n sleep 100000 &
	NU_INET=$!
	unshare -n -m sh -c "mount --bind '$T/nu-hosts' /etc/hosts && exec sleep 100000" &
	NU_CAP=$!
	for _i in $(seq 50); do
		[ "$(readlink /proc/$NU_CAP/ns/net)" != "$(readlink /proc/$$/ns/net)" ] &&
		[ "$(readlink /proc/$NU_INET/ns/net)" != "$(readlink /proc/$$/ns/net)" ] &&
		grep -q www.test /proc/$NU_CAP/root/etc/hosts 2>/dev/null && break
		sleep 0.1
	done
	in_cap "$NETLAB" veth vcap vnet "$NU_INET" || diag "veth failed"
	for ns in in_cap in_inet; do
		$ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		$ns ip link set lo up
	done
	in_cap ip addr add 198.51.100.1/24 dev vcap
	in_cap ip -6 addr add 2001:db8:1::1/64 dev vcap
	in_cap ip link set vcap up
	in_cap ip route add 192.0.2.0/24 via 198.51.100.2
	in_cap ip route add 203.0.113.0/24 via 198.51.100.2
	in_inet ip addr add 198.51.100.2/24 dev vnet
	in_inet ip -6 addr add 2001:db8:1::2/64 dev vnet
	in_inet ip link set vnet up
	for a in 192.0.2.10/32 192.0.2.11/32 203.0.113.7/32; do in_inet ip addr add $a dev lo; done
	in_inet ip -6 addr add 2001:db8::10/128 dev lo
	sleep 1
	in_cap ip -6 route add 2001:db8::/48 via 2001:db8:1::2
	in_inet httpd -f -p 192.0.2.10:80 -h "$T/www" &
	NU_PIDS=$!
	in_inet httpd -f -p 192.0.2.11:80 -h "$T/www2" &
	NU_PIDS="$NU_PIDS $!"
	in_inet "$NETLAB" sni 192.0.2.10 443 "$T/sni.log" &
	NU_PIDS="$NU_PIDS $!"
	in_inet "$NETLAB" echo 203.0.113.7 7 &
	NU_PIDS="$NU_PIDS $!"
	in_inet "$NETLAB" echo 2001:db8::10 7 &
	NU_PIDS="$NU_PIDS $!"
	for _i in $(seq 50); do
		in_cap wget -q -O /dev/null http://192.0.2.10/ 2>/dev/null && break
		sleep 0.1
	done
	in_cap wget -q -O /dev/null http://192.0.2.10/ || diag "the test internet is not up"
	: >"$T/net.log"
}

nu_down() {
	# shellcheck disable=SC2086 # a list of pids
	kill $NU_PIDS "$NU_CAP" "$NU_INET" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T/www" "$T/www2" "$T/nu-hosts" "$T/sni.log" "$T/net.log"
}

# The basics with the built-in busybox root: HTTP by name, DNS.
t_netuser_smoke() {
	nu_up
	ucap --net user --net-log "$T/net.log" -- sh -c 'wget -q -O- http://www.test/; nslookup www.test'
	expect_eq "smoke: exit 0" "$rc" 0
	[ "$rc" = 0 ] || diag "stderr: $(head -c 600 "$T/err")"
	expect_grep "smoke: wget http://www.test/" "$T/out" "hello from www.test"
	expect_grep "smoke: nslookup answers 192.0.2.10" "$T/out" "192.0.2.10"
	expect_grep "smoke: the connection is in the log" "$T/net.log" '"kind":"connect","dst":"192.0.2.10","port":80,"name":"www.test"'
	diag "$(head -c 800 "$T/net.log")"
	nu_down
}

ALL_GROUPS="$ALL_GROUPS t_netuser_smoke"
