# virtio-vsock and the Firecracker-style unix socket bridge (--vsock PATH).
# Sourced by run.sh. vsockit (tests/vm/vsockit.c) is the nc of both sides.

VSOCKIT=$(command -v vsockit)

# vm ARGS...: start capsa in the background with the bridge at $T/v.sock and
# vsockit in the guest; its pid in $vm_pid.
vm() {
	rm -f "$T/v.sock"
	"$CAPSA" --vsock "$T/v.sock" --copy "$VSOCKIT:/usr/bin/vsockit" "$@" \
		>"$T/vm.out" 2>"$T/vm.err" </dev/null &
	vm_pid=$!
}

# listening FILE: wait until a vsockit whose stderr goes to FILE listens.
listening() {
	for _i in $(seq 300); do
		grep -q "vsockit: listening" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# hconnect PORT ARGS...: once the guest listens, connect to its PORT
# through the bridge.
hconnect() {
	_port=$1
	shift
	listening "$T/vm.err" && vsockit "$@" connect-unix "$T/v.sock" "$_port"
}

# hlisten ARGS...: a vsockit listener on the host in the background
# (pid in $hl_pid), waited for.
hlisten() {
	vsockit "$@" 2>"$T/hl.err" &
	hl_pid=$!
	listening "$T/hl.err"
}

t_vsock_echo() {
	vm -- vsockit echo-vsock 5000 1
	got=$(echo hello | hconnect 5000 2>/dev/null)
	wait $vm_pid
	expect_eq "host to guest: echo through CONNECT 5000" "$got" hello
	hlisten echo-unix "$T/v.sock_6000" 1
	echo_pid=$hl_pid
	cap --vsock "$T/v.sock" --copy "$VSOCKIT:/usr/bin/vsockit" -- \
		sh -c 'echo hi | vsockit connect-vsock 2 6000'
	expect_file "guest to host: echo through PATH_6000" "$T/out" hi
	wait $echo_pid
	expect_eq "the socket is removed when capsa exits" "$(ls "$T" | grep -c v.sock$)" 0
	rm -f "$T/v.sock_6000"
}

t_vsock_bulk() {
	size=104857600
	want=$(vsockit gen 1 $size | sha256sum)
	vm -- sh -c 'vsockit listen-vsock 5001 </dev/null | sha256sum'
	start=$(date +%s)
	vsockit gen 1 $size | hconnect 5001 >/dev/null
	wait $vm_pid
	took=$(($(date +%s) - start))
	expect_eq "100 MiB host to guest: same sha256" "$(cat "$T/vm.out")" "$want"
	diag "host to guest: 100 MiB in ${took}s"
	hlisten listen-unix "$T/v.sock_6001" </dev/null >"$T/recv"
	lpid=$hl_pid
	start=$(date +%s)
	cap --vsock "$T/v.sock" --copy "$VSOCKIT:/usr/bin/vsockit" -- \
		sh -c "vsockit gen 2 $size | vsockit connect-vsock 2 6001 >/dev/null"
	wait $lpid
	took=$(($(date +%s) - start))
	expect_eq "100 MiB guest to host: same sha256" \
		"$(sha256sum <"$T/recv")" "$(vsockit gen 2 $size | sha256sum)"
	diag "guest to host: 100 MiB in ${took}s"
	rm -f "$T/recv" "$T/v.sock_6001"
}

t_vsock_parallel() {
	vm -- vsockit echo-vsock 5002 64
	listening "$T/vm.err"
	vsockit parallel-unix "$T/v.sock" 5002 64 65536 >"$T/par"
	expect_file "64 parallel connections host to guest" "$T/par" "64 of 64 connections ok"
	wait $vm_pid
	hlisten echo-unix "$T/v.sock_6002" 64
	epid=$hl_pid
	cap --vsock "$T/v.sock" --copy "$VSOCKIT:/usr/bin/vsockit" -- \
		vsockit parallel-vsock 6002 64 65536
	expect_file "64 parallel connections guest to host" "$T/out" "64 of 64 connections ok"
	wait $epid
	rm -f "$T/v.sock_6002"
}

t_vsock_refused() {
	vm -- sh -c 'echo "vsockit: listening" >&2; sleep 30'
	listening "$T/vm.err"
	echo x | vsockit connect-unix "$T/v.sock" 5999 >/dev/null 2>&1
	expect_eq "host to guest, no listener: refused" "$?" 1
	kill $vm_pid; wait $vm_pid
	status "guest to host, no listener: connection refused" 1 \
		--vsock "$T/v.sock" --copy "$VSOCKIT:/usr/bin/vsockit" -- \
		sh -c 'echo x | vsockit connect-vsock 2 6999'
	expect_grep "guest to host, no listener: the guest sees a reset" "$T/err" "reset\|refused"
	touch "$T/exists"
	bad "--vsock PATH that exists" --vsock "$T/exists" -- true
	expect_eq "an existing PATH is left alone" "$(ls "$T/exists")" "$T/exists"
	vm -- sleep 100
	for i in $(seq 100); do [ -S "$T/v.sock" ] && break; sleep 0.1; done
	kill -9 $vm_pid; wait $vm_pid 2>/dev/null
	for i in $(seq 50); do [ -e "$T/v.sock" ] || break; sleep 0.1; done
	expect_eq "kill -9 capsa: the socket is still removed" "$(ls "$T" | grep -c v.sock)" 0
}

t_vsock_midway() {
	# The guest stops reading after 1 MiB of an endless stream.
	vm -- sh -c 'vsockit listen-vsock 5003 </dev/null | head -c 1048576 | wc -c'
	vsockit gen 3 1000000000 | hconnect 5003 >/dev/null 2>&1
	wait $vm_pid
	expect_eq "guest closes mid-transfer: capsa goes on and exits 0" "$?:$(cat "$T/vm.out")" "0:1048576"
	# The host stops reading after 1 MiB.
	(vsockit listen-unix "$T/v.sock_6003" </dev/null 2>"$T/hl.err" | head -c 1048576 | wc -c >"$T/hcount") &
	listening "$T/hl.err"
	cap --vsock "$T/v.sock" --copy "$VSOCKIT:/usr/bin/vsockit" -- \
		sh -c 'vsockit gen 4 1000000000 | vsockit connect-vsock 2 6003 >/dev/null; echo "writer: $?"'
	wait
	expect_eq "host closes mid-transfer: capsa is fine, the host read 1 MiB" \
		"$rc:$(cat "$T/hcount")" "0:1048576"
	if grep -q "writer: [1-9]" "$T/out"; then ok "host closes mid-transfer: the guest writer fails"
	else fail "host closes mid-transfer: the guest writer fails" "$(cat "$T/out")"; fi
	rm -f "$T/v.sock_6003"
}

t_vsock_slow_reader() {
	size=52428800
	hlisten -d 2000 listen-unix "$T/v.sock_6004" </dev/null >"$T/recv"
	lpid=$hl_pid
	vm -- sh -c "vsockit gen 5 $size | vsockit connect-vsock 2 6004 >/dev/null"
	sleep 8
	rss1=$(awk '/VmRSS/ {print $2}' /proc/$vm_pid/status)
	sleep 4
	rss2=$(awk '/VmRSS/ {print $2}' /proc/$vm_pid/status)
	diag "capsa RSS under a slow reader: $rss1 kB, then $rss2 kB"
	if [ "${rss2:-0}" -lt $((${rss1:-0} + 2048)) ]; then ok "slow reader: capsa memory stays bounded"
	else fail "slow reader: capsa memory stays bounded" "$rss1 -> $rss2 kB"; fi
	wait $lpid
	wait $vm_pid
	expect_eq "slow reader: nothing lost" "$(sha256sum <"$T/recv")" "$(vsockit gen 5 $size | sha256sum)"
	rm -f "$T/recv" "$T/v.sock_6004"
}

ALL_GROUPS="$ALL_GROUPS t_vsock_echo t_vsock_bulk t_vsock_parallel t_vsock_refused t_vsock_midway t_vsock_slow_reader"
