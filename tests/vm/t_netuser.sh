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
NU_FIX=${FIXTURES:-/tests/fixtures}/net
NU_DEBIAN=${FIXTURES:-/tests/fixtures}/blk/debian.ext4

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

# nscap ARGS...: cap, in capsa's namespaces.
nscap() {
	in_cap "$CAPSA" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# nu_up: the two namespaces, the veth between them, the servers.
nu_up() {
	nu_hosts >"$T/nu-hosts"
	mkdir -p "$T/www" "$T/www2"
	[ ! -d "$NU_FIX/www" ] || cp -a "$NU_FIX/www/." "$T/www/"
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

# nucap ARGS...: nscap with netlab in the guest and a time limit.
nucap() {
	nscap --copy "$NETLAB:/usr/bin/netlab" --timeout 120 "$@"
}

# logged NAME PATTERN: the audit log has a line matching PATTERN.
logged() {
	grep -q -- "$2" "$T/net.log" && { ok "$1"; return; }
	fail "$1" "no '$2' in the log:"
	sed 's/^/#   /' "$T/net.log" | tail -n 12
}

# The basics with the built-in busybox root: HTTP by name, DNS A and
# AAAA, DNS sent elsewhere, IPv6, a static binary's own connect().
t_netuser_basic() {
	nu_up
	nucap --net user --net-log "$T/net.log" -- sh -c '
		netlab get 192.0.2.11 80 other.test
		wget -q -O- http://www.test/
		nslookup www.test
		nslookup -type=AAAA www.test
		echo "via 8.8.8.8:"; nslookup other.test 8.8.8.8
		echo ping6 | nc 2001:db8::10 7
		echo ping4 | nc echo.test 7
		cat /etc/resolv.conf'
	expect_eq "basic: exit 0" "$rc" 0
	[ "$rc" = 0 ] || diag "stderr: $(head -c 600 "$T/err")"
	expect_grep "basic: wget http://www.test/" "$T/out" "hello from www.test"
	expect_grep "basic: DNS A www.test" "$T/out" "Address: 192.0.2.10"
	expect_grep "basic: DNS AAAA www.test" "$T/out" "Address: 2001:db8::10"
	expect_grep "basic: DNS sent to 8.8.8.8 is answered by capsa" "$T/out" "Address: 192.0.2.11"
	expect_grep "basic: IPv6 to 2001:db8::10" "$T/out" "^ping6"
	expect_grep "basic: IPv4 by name" "$T/out" "^ping4"
	expect_grep "basic: a static binary's connect() to 192.0.2.11" "$T/out" "hello from other.test"
	expect_grep "basic: resolv.conf names capsa" "$T/out" "nameserver 169.254.1.1"
	logged "basic: HTTP by name is logged, with Host and bytes" \
		'"dst":"192.0.2.10","port":80,"name":"www.test","sni":"www.test","verdict":"allow","rule":null,"reason":"public destination, no --allow","connected":"192.0.2.10","sent":[1-9]'
	logged "basic: the bare address is logged without a name" '"dst":"192.0.2.11","port":80,"name":null'
	logged "basic: DNS is logged" '"kind":"dns","name":"www.test","type":"AAAA","verdict":"allow"'
	logged "basic: IPv6" '"dst":"2001:db8::10","port":7,'
	nu_down
}

# The rules, the defaults, and the log.
t_netuser_policy() {
	nu_up
	nucap --allow www.test --net-log "$T/net.log" -v -- sh -c '
		wget -q -O- http://www.test/ && echo "www: ok"
		wget -q -O- http://other.test/ || echo "other: refused"
		wget -q -O- --header "Host: other.test" http://www.test/ || echo "forged Host: refused"'
	expect_grep "policy: the allowed name" "$T/out" "www: ok"
	expect_grep "policy: another name is refused" "$T/out" "other: refused"
	expect_grep "policy: the allowed name with a forged Host is refused" "$T/out" "forged Host: refused"
	logged "policy: other.test is not even resolved" '"kind":"dns","name":"other.test","type":"A","verdict":"deny"'
	logged "policy: the forged Host is logged" '"name":"www.test","sni":"other.test","verdict":"deny","rule":"--allow www.test","reason":"Host/SNI does not match the rule"'
	expect_grep "policy: -v shows the refusals" "$T/err" "net: refused www.test Host/SNI other.test:80"
	nucap --allow www.test --net-log "$T/net.log" -- netlab get 192.0.2.10 80 www.test
	expect_eq "policy: the allowed name's address, bare, is refused" "$rc" 1
	logged "policy: ... logged" '"dst":"192.0.2.10","port":80,"name":null,"sni":null,"verdict":"deny","rule":null,"reason":"no --allow rule matches"'
	# Refusals one after another, then an allowed connection: the guest's
	# helper must come through each (a refused connection's two sockets can
	# be ready in one batch of its events), and each refusal is logged.
	before=$(grep -c '"dst":"192.0.2.10","port":80,"name":null,"sni":null,"verdict":"deny"' "$T/net.log")
	nucap --allow www.test --net-log "$T/net.log" -- sh -c '
		i=0; while [ $i -lt 30 ]; do netlab get 192.0.2.10 80 www.test >/dev/null 2>&1; i=$((i + 1)); done
		wget -q -O- http://www.test/ && echo "after: ok"'
	expect_grep "policy: after 30 refusals in a row, the allowed name still works" "$T/out" "after: ok"
	expect_eq "policy: ... and each of the 30 is in the log" \
		$(($(grep -c '"dst":"192.0.2.10","port":80,"name":null,"sni":null,"verdict":"deny"' "$T/net.log") - before)) 30
	nucap --allow '*.test' --deny other.test --net-log "$T/net.log" -- sh -c '
		wget -q -O- http://www.test/ && echo "www: ok"
		wget -q -O- http://other.test/ || echo "other: refused"'
	expect_grep "policy: --allow *.test allows www.test" "$T/out" "www: ok"
	expect_grep "policy: --deny beats --allow" "$T/out" "other: refused"
	logged "policy: ... the --deny is in the log" '"kind":"dns","name":"other.test","type":"A","verdict":"deny","reason":"no rule could allow the name"'
	# The special addresses: refused unless a rule names them. Nothing
	# routes to them here, so an allowed one fails without a packet sent.
	in_cap httpd -f -p 127.0.0.1:8080 -h "$T/www2" &
	h1=$!
	in_cap httpd -f -p 198.51.100.1:8081 -h "$T/www2" &
	h2=$!
	nucap --net user --net-log "$T/net.log" -- sh -c '
		for d in 169.254.169.254:80 10.1.2.3:80 169.254.1.2:8080 198.51.100.1:8081; do
			netlab get ${d%:*} ${d#*:} x >/dev/null 2>&1 && echo "$d: reached" || echo "$d: refused"
		done
		wget -q -O- http://metadata.test/ || echo "metadata.test: refused"
		wget -q -O- http://host.capsa.internal:8080/ || echo "host.capsa.internal: refused"'
	for d in 169.254.169.254:80 10.1.2.3:80 169.254.1.2:8080 198.51.100.1:8081 metadata.test host.capsa.internal; do
		expect_grep "policy: $d is refused by default" "$T/out" "^$d: refused"
	done
	logged "policy: metadata, logged" '"dst":"169.254.169.254","port":80,"name":null,"sni":null,"verdict":"deny","rule":null,"reason":"link-local address"'
	logged "policy: the host's own address, logged" '"dst":"198.51.100.1","port":8081,"name":null,"sni":null,"verdict":"deny","rule":null,"reason":"the host.s own address"'
	nucap --allow host.capsa.internal:8080 --allow 198.51.100.1:8081 --allow 169.254.169.254:80 \
		--allow 10.0.0.0/8 --net-log "$T/net.log" -- sh -c '
		wget -q -O- http://host.capsa.internal:8080/ && echo "host.capsa.internal: ok"
		netlab get 198.51.100.1 8081 x >/dev/null && echo "host address: ok"
		netlab get 169.254.169.254 80 x >/dev/null 2>&1 || echo "metadata: not reached"
		netlab get 10.1.2.3 80 x >/dev/null 2>&1 || echo "private: not reached"'
	expect_grep "policy: --allow host.capsa.internal:8080 reaches the host's loopback" "$T/out" "host.capsa.internal: ok"
	expect_grep "policy: --allow 198.51.100.1:8081 reaches the host's address" "$T/out" "host address: ok"
	logged "policy: --allow 169.254.169.254:80 allows the metadata address" \
		'"dst":"169.254.169.254","port":80,"name":null,"sni":"x","verdict":"allow","rule":"--allow 169.254.169.254:80".*"error":"Network unreachable"'
	logged "policy: --allow 10.0.0.0/8 allows 10.1.2.3 (unreachable here)" \
		'"dst":"10.1.2.3","port":80,"name":null,"sni":"x","verdict":"allow","rule":"--allow 10.0.0.0/8".*"error":"Network unreachable"'
	kill $h1 $h2
	wait $h1 $h2 2>/dev/null
	nu_down
}

# Debian's own programs: curl, python, git, pip, and TLS with its SNI.
t_netuser_debian() {
	if [ ! -e "$NU_DEBIAN" ] || [ ! -d "$NU_FIX/www/repo.git" ]; then
		skip "--net user with Debian" "no fixtures (make blk-fixtures net-fixtures)"
		return
	fi
	nu_up
	nucap --rootfs "$NU_DEBIAN" --memory 1024 --allow '*.test:80' --allow www.test:443 \
		--net-log "$T/net.log" -- sh -c '
		curl -sS http://www.test/
		python3 -c "import urllib.request; print(urllib.request.urlopen(\"http://www.test/\").read().decode().strip(), \"(urllib)\")"
		git clone -q http://git.test/repo.git /tmp/repo && cat /tmp/repo/README
		pip download -q --no-deps --disable-pip-version-check --no-cache-dir \
			--index-url http://pypi.test/simple --trusted-host pypi.test -d /tmp/pkgs capsademo &&
			ls /tmp/pkgs
		curl -sSk https://www.test/
		getent hosts www.test >/dev/null
		curl -sSk --resolve other.test:443:192.0.2.10 https://other.test/ || echo "forged SNI: refused"'
	expect_eq "debian: exit 0" "$rc" 0
	diag "stderr: $(grep -v '^\[' "$T/err" | head -c 1200)"
	expect_grep "debian: curl http://www.test/" "$T/out" "^hello from www.test$"
	expect_grep "debian: python urllib" "$T/out" "hello from www.test (urllib)"
	expect_grep "debian: git clone over http" "$T/out" "capsa test repository"
	expect_grep "debian: pip download from a local index" "$T/out" "capsademo-1.0-py3-none-any.whl"
	expect_grep "debian: curl https://www.test/ reaches the TLS endpoint, which saw SNI www.test" \
		"$T/sni.log" "^www.test$"
	expect_grep "debian: a forged SNI is refused" "$T/out" "forged SNI: refused"
	if grep -q other.test "$T/sni.log"; then fail "debian: ... and never reached the server"
	else ok "debian: ... and never reached the server"; fi
	logged "debian: ... logged" '"port":443,"name":"www.test","sni":"other.test","verdict":"deny"'
	nu_down
}

# pub_wait PID: until the host's 127.0.0.1:18000 answers (into $T/got), or capsa is gone.
pub_wait() {
	rm -f "$T/got"
	for _i in $(seq 300); do
		in_cap timeout 10 wget -q -O "$T/got" http://127.0.0.1:18000/ 2>/dev/null && return
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	diag "capsa: $(grep -v '^\[' "$T/err" | tail -n 20)"
}

# pub_closed NAME: nothing answers at the host's 127.0.0.1:18000 any more.
pub_closed() {
	if in_cap timeout 10 wget -q -O /dev/null http://127.0.0.1:18000/ 2>/dev/null; then
		fail "$1"
	else
		ok "$1"
	fi
}

# -p: a server on the guest's loopback, from the host; 64 at once; the
# port closes with capsa, even after kill -9. (64 at once against busybox
# httpd: python's http.server listens with a backlog of 5, and under the
# emulated CPU its clients' SYNs run out of retries.)
t_netuser_publish() {
	nu_up
	if [ -e "$NU_DEBIAN" ]; then
		nsenter -t "$NU_CAP" -n -m -- "$CAPSA" -v --rootfs "$NU_DEBIAN" -p 127.0.0.1:18000:8000 \
			--timeout 300 -- sh -c '
			cd /tmp && echo "from the guest" >index.html
			exec python3 -m http.server --bind 127.0.0.1 8000' >"$T/out" 2>"$T/err" </dev/null &
		pid=$!
		pub_wait $pid
		expect_file "publish: python3 -m http.server on the guest's 127.0.0.1:8000, at the host's 127.0.0.1:18000" \
			"$T/got" "from the guest"
		kill -9 $pid
		wait $pid 2>/dev/null
		sleep 0.5
		pub_closed "publish: after kill -9 the host port is closed"
	else
		skip "publish: python3 -m http.server" "no fixtures (make blk-fixtures)"
	fi
	nsenter -t "$NU_CAP" -n -m -- "$CAPSA" -v -p 127.0.0.1:18000:8000 --timeout 300 -- sh -c '
		mkdir /tmp/w && echo "from the guest" >/tmp/w/index.html
		exec httpd -f -p 127.0.0.1:8000 -h /tmp/w' >"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	pub_wait $pid
	expect_file "publish: busybox httpd on the guest's loopback" "$T/got" "from the guest"
	pids=
	for i in $(seq 64); do
		in_cap timeout 300 wget -q -O "$T/p.$i" http://127.0.0.1:18000/ 2>/dev/null &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086 # a list of pids
	wait $pids 2>/dev/null
	expect_eq "publish: 64 connections at once" "$(cat "$T"/p.* 2>/dev/null | grep -c "from the guest")" 64
	rm -f "$T"/p.* "$T/got"
	kill $pid
	wait $pid 2>/dev/null
	pub_closed "publish: after capsa ends (SIGTERM) the host port is closed"
	nscap -p 18000:8000 -- true
	expect_eq "publish: the port is free again" "$rc" 0
	[ "$rc" = 0 ] || diag "$(cat "$T/err")"
	pub_closed "publish: after exit the host port is closed"
	nu_down
}

# 100 MiB each way over one connection; 200 short connections in a row.
t_netuser_bulk() {
	nu_up
	head -c $((100 << 20)) /dev/urandom >"$T/h2g"
	mkfifo "$T/idle"
	exec 7<>"$T/idle"
	in_inet nc -l -p 5001 <"$T/idle" >"$T/g2h" &
	p1=$!
	in_inet nc -l -p 5002 <"$T/h2g" >/dev/null &
	p2=$!
	nucap --net user --memory 768 --timeout 600 -- sh -c '
		head -c '$((100 << 20))' /dev/urandom >/tmp/g
		sha256sum /tmp/g | cut -d" " -f1
		mkfifo /tmp/idle; exec 3<>/tmp/idle
		t0=$(cut -d" " -f1 /proc/uptime)
		nc 192.0.2.10 5001 </tmp/g
		t1=$(cut -d" " -f1 /proc/uptime)
		nc 192.0.2.10 5002 </tmp/idle >/tmp/h
		t2=$(cut -d" " -f1 /proc/uptime)
		sha256sum /tmp/h | cut -d" " -f1
		echo "$t0 $t1 $t2"
		rm /tmp/g /tmp/h
		n=0; for i in $(seq 200); do wget -q -O- http://www.test/ >/dev/null && n=$((n + 1)); done
		echo "short: $n"'
	for _i in $(seq 50); do kill -0 $p1 2>/dev/null || break; sleep 0.1; done
	kill $p1 $p2 2>/dev/null
	wait $p1 $p2 2>/dev/null
	exec 7>&-
	expect_eq "bulk: exit 0" "$rc" 0
	[ "$rc" = 0 ] || diag "stderr: $(head -c 600 "$T/err")"
	expect_eq "bulk: guest to host, 100 MiB, same sha256" "$(sha256sum "$T/g2h" | cut -d' ' -f1)" "$(sed -n 1p "$T/out")"
	expect_eq "bulk: host to guest, 100 MiB, same sha256" "$(sed -n 2p "$T/out")" "$(sha256sum "$T/h2g" | cut -d' ' -f1)"
	set -- $(sed -n 3p "$T/out")
	[ $# = 3 ] && diag "$(awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN {
		printf "throughput (emulated host): guest->host %.1f MiB/s, host->guest %.1f MiB/s",
			100 / (b - a), 100 / (c - b) }')"
	expect_grep "bulk: 200 short connections in a row" "$T/out" "^short: 200$"
	rm -f "$T/h2g" "$T/g2h" "$T/idle"
	nu_down
}

# A hostile guest on the broker's port: junk, oversized, a flood past the cap.
t_netuser_hostile() {
	nu_up
	nucap --net user -- sh -c '
		netlab hostile 1500
		wget -q -O- http://www.test/ && echo "after: ok"'
	expect_eq "hostile: capsa exits 0" "$rc" 0
	expect_grep "hostile: garbage: never a full request, closed at the deadline" "$T/out" "garbage: closed"
	expect_grep "hostile: a name length past 253 is refused" "$T/out" "name_len 254: reply 5"
	expect_grep "hostile: a bad name is refused" "$T/out" "bad name: reply 5"
	expect_grep "hostile: an oversized request is refused" "$T/out" "oversized: \(reply 5\|closed\)"
	expect_grep "hostile: a flood past the caps is refused" "$T/out" "flood: [0-9]* held, [1-9][0-9]* refused"
	expect_grep "hostile: the broker and capsa go on" "$T/out" "after: ok"
	diag "$(grep flood "$T/out")"
	nu_down
}

# Bad input: one line and exit 125, nothing left behind.
t_netuser_bad() {
	bad "--allow x.test:0" --allow x.test:0 -- true
	bad "--allow 1.2.3.4/33" --allow 1.2.3.4/33 -- true
	bad "--deny '[::1'" --deny '[::1' -- true
	bad "--allow 127.0.0.1" --allow 127.0.0.1 -- true
	bad "--net user --net tap:x" --net user --net tap:x -- true
	bad "--net-log without --net user" --net-log "$T/log" -- true
	bad "-p 70000:80" -p 70000:80 -- true
	bad "-p 8080:80/udp" -p 8080:80/udp -- true
	bad "--net-log in a missing directory" --net user --net-log /nonexistent/dir/log -- true
	nc -l -p 18009 </dev/null >/dev/null &
	busy=$!
	sleep 0.3
	bad "-p on a port in use" -p 127.0.0.1:18009:80 -- true
	expect_grep "-p in use: says so" "$T/err" "the host port is in use"
	kill $busy
	wait $busy 2>/dev/null
	"$NETLAB" nobind "$CAPSA" -p 80:80 -- true >"$T/out" 2>"$T/err" </dev/null
	expect_eq "-p 80 without privilege: exit 125" "$?" 125
	expect_grep "-p 80 without privilege: says so" "$T/err" "needs privilege"
}

ALL_GROUPS="$ALL_GROUPS t_netuser_basic t_netuser_policy t_netuser_debian t_netuser_publish t_netuser_bulk t_netuser_hostile t_netuser_bad"


