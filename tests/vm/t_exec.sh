# capsa exec: more commands in a running sandbox (--control PATH).
# Sourced by run.sh. execwire (tests/vm/execwire.c) speaks the protocol
# without capsa's code; ptyrun gives capsa exec a real terminal.

# box [OPTIONS...]: a sandbox in the background whose main command runs
# until /tmp/stop exists (box_end makes it); its control socket $T/c.sock.
box() {
	rm -f "$T/c.sock"
	"$CAPSA" --control "$T/c.sock" "$@" -- \
		sh -c 'while [ ! -e /tmp/stop ]; do sleep 0.1; done; echo main-done' \
		>"$T/box.out" 2>"$T/box.err" </dev/null &
	box_pid=$!
	for _i in $(seq 300); do
		[ -S "$T/c.sock" ] && return 0
		sleep 0.1
	done
	return 1
}

# box_end: end the main command; the sandbox's status in $box_rc.
box_end() {
	"$CAPSA" exec "$T/c.sock" -- touch /tmp/stop >/dev/null 2>&1 </dev/null
	wait $box_pid
	box_rc=$?
}

# ex ARGS...: capsa exec $T/c.sock ARGS with stdin from /dev/null; stdout in
# $T/out, stderr in $T/err, status in $rc.
ex() {
	"$CAPSA" exec "$T/c.sock" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# ex_status NAME WANT ARGS...
ex_status() {
	_name=$1 _want=$2
	shift 2
	ex "$@"
	expect_eq "$_name" "$rc" "$_want"
}

t_exec_io() {
	box
	ex -- printf '%s|' '' 'a b' '$(x)' '*' "a
b" "$(printf 'caf\303\251 \001\377')"
	expect_eq "argv byte for byte: empty, spaces, \$(), *, newline, non-UTF-8" \
		"$(od -An -c "$T/out" | tr -d ' \n')" \
		"$(printf '%s|' '' 'a b' '$(x)' '*' "a
b" "$(printf 'caf\303\251 \001\377')" | od -An -c | tr -d ' \n')"
	ex -- sh -c 'echo out; echo err >&2; echo out2'
	expect_eq "stdout and stderr apart: stdout" "$(cat "$T/out")" "out
out2"
	expect_file "stdout and stderr apart: stderr" "$T/err" "err"
	head -c 3000000 /dev/urandom >"$T/rand"
	"$CAPSA" exec "$T/c.sock" -- cat <"$T/rand" >"$T/back"
	expect_eq "3 MB of random bytes through stdin and stdout: exact" \
		"$(sha256sum <"$T/back")" "$(sha256sum <"$T/rand")"
	rm -f "$T/rand" "$T/back"
	expect_eq "stdin with its EOF: printf 'a\\nb\\n' | wc -l" \
		"$(printf 'a\nb\n' | "$CAPSA" exec "$T/c.sock" -- wc -l)" 2
	ex_status "the command's status: exit 7" 7 -- sh -c 'exit 7'
	ex_status "killed by SIGTERM: 143" 143 -- sh -c 'kill -TERM $$'
	ex_status "command not found: 127" 127 -- no-such-command
	expect_grep "command not found: said on stderr" "$T/err" "no-such-command: command not found"
	ex_status "not executable: 126" 126 -- /proc/cpuinfo
	ex_status "-w that does not exist: 125" 125 -w /nope -- true
	expect_lines "-w that does not exist: one line" "$T/err" 1
	ex_status "--timeout 1 on sleep 60: 124" 124 --timeout 1 -- sleep 60
	ex -e FOO=bar -e 'SP=a b' -- sh -c 'echo "$FOO|$SP|$HOME|$PATH"'
	expect_eq "-e, and the main command's default environment" "$(cat "$T/out")" \
		"bar|a b|/root|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	ex -e PATH=/bin -- sh -c 'echo $PATH'
	expect_file "-e PATH=/bin: the later entry wins" "$T/out" "/bin"
	printf 'A=1\n# comment\nB=two words\n' >"$T/env"
	ex --env-file "$T/env" -- sh -c 'echo "$A $B"'
	expect_file "--env-file" "$T/out" "1 two words"
	ex -w /proc -- pwd
	expect_file "-w /proc" "$T/out" "/proc"
	( "$CAPSA" exec "$T/c.sock" -- yes; echo $? >"$T/st" ) | head -1 >/dev/null
	expect_eq "yes | head -1: the command gets SIGPIPE (141)" "$(cat "$T/st")" 141
	box_end
	expect_eq "the sandbox ends with its main command's status" "$box_rc:$(cat "$T/box.out")" \
		"0:main-done"
}

t_exec_state() {
	box
	ex -- sh -c 'echo kept >/tmp/state'
	ex -- cat /tmp/state
	expect_file "a file one exec writes, the next reads" "$T/out" "kept"
	ex -- sh -c 'mkdir -p /tmp/www && echo served >/tmp/www/index.html && httpd -p 8080 -h /tmp/www'
	expect_eq "an exec starts a server (httpd) and ends" "$rc" 0
	ex -- wget -q -O - http://127.0.0.1:8080/index.html
	expect_file "the next exec reaches that server" "$T/out" "served"
	ex -- sh -c 'cd /tmp && export X=1 && echo $X'
	ex -- sh -c 'echo "${X:-unset} $(pwd)"'
	expect_file "each exec has its own environment and directory" "$T/out" "unset /"
	box_end
}

t_exec_many() {
	box
	for i in $(seq 32); do
		( "$CAPSA" exec "$T/c.sock" -- sh -c "sleep 1; echo out$i; echo err$i >&2; exit $i" \
			>"$T/o$i" 2>"$T/e$i" </dev/null; echo $? >"$T/s$i" ) &
	done
	wait_for=0
	for _i in $(seq 600); do
		wait_for=$(ls "$T" | grep -c '^s[0-9]')
		[ "$wait_for" -ge 32 ] && break
		sleep 0.2
	done
	good=0
	for i in $(seq 32); do
		[ "$(cat "$T/o$i")|$(cat "$T/e$i")|$(cat "$T/s$i")" = "out$i|err$i|$i" ] && good=$((good + 1))
	done
	expect_eq "32 execs at once: each its own output and status" "$good" 32
	[ "$good" = 32 ] || diag "$(for i in 1 2 3; do echo "$(cat "$T/o$i")|$(cat "$T/e$i")|$(cat "$T/s$i")"; done)"
	rm -f "$T"/o[0-9]* "$T"/e[0-9]* "$T"/s[0-9]*
	box_end
}

t_exec_signals() {
	box
	"$CAPSA" exec "$T/c.sock" -- sh -c 'trap "echo got-term; exit 3" TERM; echo ready; sleep 100 & wait' \
		>"$T/out" 2>"$T/err" </dev/null &
	cpid=$!
	for _i in $(seq 100); do grep -q ready "$T/out" && break; sleep 0.1; done
	kill -TERM $cpid
	wait $cpid
	expect_eq "SIGTERM to the client reaches the command (its trap, its status)" \
		"$?:$(tail -n 1 "$T/out")" "3:got-term"
	"$CAPSA" exec "$T/c.sock" --kill-after 1 -- sh -c 'trap "" TERM; echo ready; sleep 30' \
		>"$T/out" 2>"$T/err" </dev/null &
	cpid=$!
	for _i in $(seq 100); do grep -q ready "$T/out" && break; sleep 0.1; done
	kill -TERM $cpid
	wait $cpid
	expect_eq "--kill-after 1: a command that ignores SIGTERM is killed (137)" "$?" 137
	expect_lines "--kill-after: one line says so" "$T/err" 1
	"$CAPSA" exec "$T/c.sock" -- sh -c 'echo ready; exec sleep 777' >"$T/out" 2>/dev/null </dev/null &
	cpid=$!
	for _i in $(seq 100); do grep -q ready "$T/out" && break; sleep 0.1; done
	ex -- pidof sleep
	before=$(cat "$T/out")
	kill -9 $cpid
	wait $cpid 2>/dev/null
	sleep 1
	ex -- sh -c 'ps -o args | grep -c "^sleep 777"'
	expect_eq "client killed (-9): its command is killed too" "$before:$(cat "$T/out")" \
		"${before:-none}:0"
	"$CAPSA" exec "$T/c.sock" -- sh -c 'sleep 888 & sleep 889 & echo ready; wait' \
		>"$T/out" 2>/dev/null </dev/null &
	cpid=$!
	for _i in $(seq 100); do grep -q ready "$T/out" && break; sleep 0.1; done
	kill -9 $cpid
	wait $cpid 2>/dev/null
	sleep 1
	ex -- sh -c 'ps -o args | grep -c "^sleep 88"'
	expect_file "client killed: the command's children are killed too" "$T/out" 0
	# With cgroup2 mounted each exec has a cgroup: even a setsid daemon goes.
	ex -- sh -c 'grep -q " /sys/fs/cgroup cgroup2" /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup'
	"$CAPSA" exec "$T/c.sock" -- sh -c 'setsid sleep 999 & echo ready; wait' \
		>"$T/out" 2>/dev/null </dev/null &
	cpid=$!
	for _i in $(seq 100); do grep -q ready "$T/out" && break; sleep 0.1; done
	ex -- sh -c 'cat /sys/fs/cgroup/capsa-exec-*/cgroup.procs | wc -l'
	inside=$(cat "$T/out")
	kill -9 $cpid
	wait $cpid 2>/dev/null
	sleep 1
	ex -- sh -c 'ps -o args | grep -c "^sleep 999"'
	expect_eq "client killed: a setsid daemon of its cgroup is killed too" \
		"$(cat "$T/out"):$([ "${inside:-0}" -ge 2 ] && echo in-cgroup)" "0:in-cgroup"
	box_end
}

t_exec_end() {
	box
	"$CAPSA" exec "$T/c.sock" -- sleep 100 >"$T/o1" 2>"$T/e1" </dev/null &
	cpid=$!
	sleep 2
	box_end
	wait $cpid
	expect_eq "the main command ends: a running exec gets 125" "$?" 125
	expect_lines "the main command ends: with one line" "$T/e1" 1
	expect_grep "the main command ends: saying so" "$T/e1" "sandbox ended"
	expect_eq "the sandbox's end: PATH is gone" "$(ls "$T" | grep -c c.sock)" 0
	ex_status "exec after the sandbox ended: 125" 125 -- true
	expect_lines "exec after the sandbox ended: one line" "$T/err" 1
	box
	ex -- true
	kill -9 $box_pid
	wait $box_pid 2>/dev/null
	for _i in $(seq 50); do [ -e "$T/c.sock" ] || break; sleep 0.1; done
	expect_eq "kill -9 capsa: PATH is removed all the same" "$(ls "$T" | grep -c c.sock)" 0
	rm -f "$T/o1" "$T/e1"
}

t_exec_bad() {
	box
	check "a client without capsa's code (execwire) runs a command" \
		sh -c "[ \"\$(execwire run '$T/c.sock' echo hi)\" = hi ]"
	execwire raw "$T/c.sock" "CAPSA-EXEC 2" >"$T/out"
	expect_file "an unknown protocol version: closed at once" "$T/out" "CLOSED"
	execwire raw "$T/c.sock" "GET / HTTP/1.0" >"$T/out"
	expect_file "not the protocol: closed at once" "$T/out" "CLOSED"
	# 0x63: no such frame type.
	execwire raw "$T/c.sock" "CAPSA-EXEC 1" 6300000000 >"$T/out"
	expect_grep "an unknown frame type: ERROR" "$T/out" "^ERROR unknown frame type"
	# STDIN of 65537 bytes, announced.
	execwire raw "$T/c.sock" "CAPSA-EXEC 1" 0201000100 >"$T/out"
	expect_grep "a frame longer than its type allows: ERROR" "$T/out" "^ERROR frame length"
	# STDIN before START.
	execwire raw "$T/c.sock" "CAPSA-EXEC 1" 020100000078 >"$T/out"
	expect_grep "a first frame that is not START: ERROR" "$T/out" "^ERROR the first frame"
	# START "a\0": an empty command name.
	execwire raw "$T/c.sock" "CAPSA-EXEC 1" 01020000006100 >"$T/out"
	expect_grep "START with an empty command: ERROR" "$T/out" "^ERROR the command name is empty"
	# START "atrue\0q\0": an unknown record.
	execwire raw "$T/c.sock" "CAPSA-EXEC 1" 01080000006174727565007100 >"$T/out"
	expect_grep "START with an unknown record: ERROR" "$T/out" "^ERROR"
	# START "asleep\0a5\0", then SIGNAL 0.
	execwire raw "$T/c.sock" "CAPSA-EXEC 1" 010a00000061736c65657000613500040400000000000000 >"$T/out"
	expect_grep "SIGNAL 0: ERROR" "$T/out" "^ERROR signal 0"
	ex -- true
	expect_eq "after all that the sandbox still serves" "$rc" 0
	touch "$T/plain"
	status "capsa exec on a plain file: 125" 125 exec "$T/plain" -- true
	expect_lines "capsa exec on a plain file: one line" "$T/err" 1
	status "capsa exec on a missing PATH: 125" 125 exec "$T/missing" -- true
	expect_lines "capsa exec on a missing PATH: one line" "$T/err" 1
	bad "capsa exec with a sandbox option" exec "$T/c.sock" --memory 1G -- true
	bad "capsa exec without a command" exec "$T/c.sock" --
	bad "capsa exec without PATH" exec -- true
	bad "--control PATH that exists" --control "$T/plain" -- true
	expect_eq "an existing PATH is left alone" "$(ls "$T/plain")" "$T/plain"
	rm -f "$T/plain"
	box_end
	rm -f "$T/v.sock"
	"$CAPSA" --vsock "$T/v.sock" -- sleep 30 >/dev/null 2>&1 </dev/null &
	vpid=$!
	for _i in $(seq 100); do [ -S "$T/v.sock" ] && break; sleep 0.1; done
	sleep 3
	status "capsa exec on a --vsock socket (not a control socket): 125" 125 exec "$T/v.sock" -- true
	expect_lines "capsa exec on a --vsock socket: one line" "$T/err" 1
	kill $vpid
	wait $vpid 2>/dev/null
}

# tty NAME ARGS...: as t_io.sh's: capsa on a fresh pty.
exec_tty() {
	ptyrun "$@" >"$T/out" 2>"$T/err"
}

t_exec_tty() {
	box
	exec_tty -s 33x111 -- "$CAPSA" exec "$T/c.sock" -- sh -c 'tty; stty size; echo "T=$TERM"'
	expect_grep "on a terminal the exec gets a pty" "$T/out" "^/dev/pts/"
	expect_grep "with the terminal's size" "$T/out" "^33 111"
	expect_grep "and TERM" "$T/out" "^T=."
	expect_grep "terminal restored after a normal exit" "$T/err" "RESTORED yes"
	exec_tty -i 'wait:ready;sleep:300;send:\x03' -- "$CAPSA" exec "$T/c.sock" -- \
		sh -c 'echo ready; exec sleep 100'
	expect_grep "Ctrl-C on the terminal: SIGINT in the guest (130)" "$T/err" "EXIT 130"
	expect_grep "Ctrl-C: terminal restored" "$T/err" "RESTORED yes"
	exec_tty -s 24x80 -i 'wait:go;sleep:300;winch:40x132;sleep:1500;send:x\r' -- \
		"$CAPSA" exec "$T/c.sock" -- sh -c 'echo go; read x; stty size'
	expect_grep "a window size change reaches the pty" "$T/out" "^40 132"
	exec_tty -- "$CAPSA" exec "$T/c.sock" -T -- sh -c 'tty; true'
	expect_grep "-T: no terminal even on one" "$T/out" "not a tty"
	box_end
	exec_tty -- "$CAPSA" exec "$T/c.sock" -- true
	expect_grep "a failing exec on a terminal: 125" "$T/err" "EXIT 125"
	expect_grep "and the terminal is restored" "$T/err" "RESTORED yes"
}

ALL_GROUPS="$ALL_GROUPS t_exec_io t_exec_state t_exec_many t_exec_signals t_exec_end t_exec_bad t_exec_tty"
