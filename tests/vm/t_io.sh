# Command I/O contract: streams, back-pressure, broken pipes, argv.
# Sourced by run.sh; see run.sh for cap, status and bad.

t_io_streams() {
	head -c 16777216 /dev/urandom >"$T/rand"
	"$CAPSA" -- cat <"$T/rand" >"$T/out" 2>"$T/err"
	expect_eq "16 MiB binary through cat: exit 0" "$?" 0
	expect_eq "16 MiB binary through cat: same sha256" \
		"$(sha256sum <"$T/out")" "$(sha256sum <"$T/rand")"
	"$CAPSA" -- sh -c 'cat >&2' <"$T/rand" >"$T/out" 2>"$T/err"
	expect_eq "16 MiB binary through stderr: same sha256" \
		"$(sha256sum <"$T/err")" "$(sha256sum <"$T/rand")"
	got=$("$CAPSA" -- sh -c 'echo out; echo err >&2' 2>/dev/null)
	expect_eq "2>/dev/null leaves only stdout" "$got" out
	got=$(printf 'a\nb\n' | "$CAPSA" -- wc -l)
	expect_eq "stdin reaches the command: wc -l" "$got" 2
	got=$(printf 'no newline' | "$CAPSA" -- cat)
	expect_eq "stdin EOF reaches the command" "$got" "no newline"
	status "cat </dev/null exits at once" 0 -- cat
	# Pipes, as from a shell pipeline: runtimes such as libuv do not take
	# a vsock socket for a stream.
	got=$(echo | "$CAPSA" -- sh -c 'stat -L -c %F /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2 2>&1' 2>/dev/null | tr '\n' ' ')
	expect_eq "without a terminal, fds 0-2 are pipes" "$got" "fifo fifo fifo "
	got=$(printf 'x' | "$CAPSA" -- sh -c 'cat; echo " after EOF"')
	expect_eq "command goes on after stdin EOF" "$got" "x after EOF"
}

t_io_backpressure() {
	got=$("$CAPSA" -- cat /dev/zero | head -c 104857600 | wc -c)
	expect_eq "cat /dev/zero | head -c 100M | wc -c" "$got" 104857600
	# A slow reader: capsa's RSS must stay bounded while the guest writes.
	"$CAPSA" -- cat /dev/zero | (sleep 4; head -c 1000 >/dev/null; sleep 5) &
	sleep 3
	pid=$(pidof capsa | cut -d" " -f1)
	rss1=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
	sleep 3
	rss2=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
	diag "capsa RSS with a stalled reader: ${rss1} kB then ${rss2} kB"
	if [ "$rss2" -lt $((rss1 + 4096)) ]; then ok "slow reader: capsa RSS stays bounded"
	else fail "slow reader: capsa RSS stays bounded" "grew from $rss1 to $rss2 kB"; fi
	kill "$pid" 2>/dev/null
	wait 2>/dev/null
}

t_io_broken_pipe() {
	# "Promptly" is relative to a plain run: this machine may be slow.
	start=$(date +%s)
	"$CAPSA" -- true
	base=$(($(date +%s) - start))
	start=$(date +%s)
	got=$("$CAPSA" -- yes | head -1)
	took=$(($(date +%s) - start))
	expect_eq "capsa -- yes | head -1 prints y" "$got" y
	if [ "$took" -le $((2 * base + 3)) ]; then ok "capsa -- yes | head -1 ends promptly (${took}s, true takes ${base}s)"
	else fail "capsa -- yes | head -1 ends promptly" "took ${took}s, true takes ${base}s"; fi
	"$CAPSA" -- sh -c 'yes; echo "yes: $?" >&2' 2>"$T/err" | head -1 >/dev/null
	expect_file "the guest's yes sees a broken pipe (SIGPIPE, 141)" "$T/err" "yes: 141"
}

t_io_argv() {
	# Every byte but NUL, as separate arguments, must arrive unchanged.
	set -- "" " " "a b" "'q'" '"dq"' "$(printf 'line1\nline2')" '*' '$(id)' '`id`' \
		"$(printf '\001\377\200 bin')" '\' '-n' '--' "tab	x"
	"$CAPSA" -- sh -c 'for a in "$@"; do printf "%s\0" "$a"; done' argv0 "$@" >"$T/out"
	for a in "$@"; do printf '%s\0' "$a"; done >"$T/want"
	expect_eq "argv arrives byte for byte" "$(od -An -tx1 "$T/out")" "$(od -An -tx1 "$T/want")"
	cap -- sh -c 'echo $#' argv0 "" ""
	expect_file "empty arguments are kept" "$T/out" 2
}

ALL_GROUPS="$ALL_GROUPS t_io_streams t_io_backpressure t_io_broken_pipe t_io_argv"

t_io_env() {
	SECRET_TOKEN=hunter2 "$CAPSA" -- env >"$T/out" 2>"$T/err" </dev/null
	expect_eq "default environment: PATH HOME HOSTNAME only" \
		"$(cut -d= -f1 "$T/out" | sort | tr '\n' ' ')" "HOME HOSTNAME PATH "
	cap -e FOO=bar -e 'SP=a b' -- sh -c 'echo "$FOO|$SP"'
	expect_file "-e KEY=VALUE" "$T/out" "bar|a b"
	HOSTVAR=fromhost "$CAPSA" -e HOSTVAR -- sh -c 'echo $HOSTVAR' >"$T/out" </dev/null
	expect_file "-e KEY passes the host's value" "$T/out" fromhost
	printf '# comment\nA=1\n\nB=two words\n' >"$T/env"
	cap --env-file "$T/env" -e A=override -- sh -c 'echo "$A|$B"'
	expect_file "--env-file, then -e wins" "$T/out" "override|two words"
	bad "-e =x" -e =x -- true
	bad "-e UNSET (not on the host)" -e CAPSA_SURELY_UNSET -- true
	printf 'GOOD=1\n=bad\n' >"$T/env"
	bad "--env-file with a bad line" --env-file "$T/env" -- true
	bad "--env-file missing" --env-file /nonexistent -- true
	cap -w /tmp -- pwd
	expect_file "-w /tmp" "$T/out" /tmp
	bad "-w missing directory" -w /nonexistent -- true
	expect_grep "-w missing directory: named" "$T/err" /nonexistent
}

# sig NAME SIGNAL WANT ARGS...: start capsa, send SIGNAL once it runs the
# command, expect exit status WANT. $T/out is emptied first: the shell
# truncates it in the background child, maybe only after the wait below
# has found the last run's READY there.
sig() {
	_name=$1 _sig=$2 _want=$3
	shift 3
	: >"$T/out"
	"$CAPSA" "$@" >"$T/out" 2>"$T/err" </dev/null &
	_pid=$!
	for _i in $(seq 100); do grep -q READY "$T/out" 2>/dev/null && break; sleep 0.1; done
	kill -"$_sig" $_pid
	wait $_pid
	expect_eq "$_name" "$?" "$_want"
}

t_io_signals() {
	sig "SIGTERM reaches the command (143)" TERM 143 -- sh -c 'echo READY; exec sleep 100'
	sig "SIGINT reaches the command (130)" INT 130 -- sh -c 'echo READY; exec sleep 100'
	sig "SIGHUP reaches the command (129)" HUP 129 -- sh -c 'echo READY; exec sleep 100'
	sig "a trapped SIGTERM lets the command decide" TERM 3 -- \
		sh -c 'trap "exit 3" TERM; echo READY; sleep 100 & wait'
	: >"$T/out"
	"$CAPSA" -- sh -c 'trap "" INT; echo READY; sleep 100' >"$T/out" 2>&1 </dev/null &
	pid=$!
	for i in $(seq 100); do grep -q READY "$T/out" && break; sleep 0.1; done
	kill -INT $pid; sleep 1; kill -INT $pid
	wait $pid
	expect_eq "a second SIGINT ends the VM (130)" "$?" 130
	start=$(date +%s)
	sig "--kill-after ends an obstinate command (137)" TERM 137 --kill-after 2 -- \
		sh -c 'trap "" TERM; echo READY; sleep 100'
	start=$(date +%s)
	status "--timeout 3 exits 124" 124 --timeout 3 -- sleep 100
	took=$(($(date +%s) - start))
	if [ "$took" -le 8 ]; then ok "--timeout 3 ends within a few seconds (${took}s)"
	else fail "--timeout 3 ends within a few seconds" "took ${took}s"; fi
	status "--timeout not reached: the command's status" 5 --timeout 60 -- sh -c 'exit 5'
}

# A forwarded SIGTERM has a grace period (--kill-after, 10 s by default):
# then capsa stops the VM, whether the command ignores the signal or the
# guest hangs and cannot act on it. SIGUSR1 shows what capsa waits for.
t_io_grace() {
	start=$(date +%s)
	sig "default grace: an obstinate command is stopped (137)" TERM 137 -- \
		sh -c 'trap "" TERM; echo READY; sleep 100'
	took=$(($(date +%s) - start))
	if [ "$took" -ge 9 ] && [ "$took" -le 60 ]; then ok "default grace: about 10 s (${took}s)"
	else fail "default grace: about 10 s" "took ${took}s"; fi
	expect_lines "default grace: one line on stderr" "$T/err" 1
	if grep -q "did not end 10 s after SIGTERM (--kill-after)" "$T/err"; then ok "default grace: the line says why"
	else fail "default grace: the line says why" "$(cat "$T/err")"; fi
	# rtspin hangs the guest a second after READY: signal it after that.
	: >"$T/out"
	"$CAPSA" --copy "$(command -v rtspin):/rtspin" -- /rtspin >"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	for _i in $(seq 100); do grep -q READY "$T/out" 2>/dev/null && break; sleep 0.1; done
	sleep 4
	kill -TERM $pid
	wait $pid
	expect_eq "a hung guest: capsa still ends after the grace (137)" "$?" 137
	# --kill-after 0: capsa waits as long as the command runs.
	: >"$T/out"
	"$CAPSA" --kill-after 0 -- sh -c 'trap "" TERM; echo READY; sleep 100' \
		>"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	for _i in $(seq 100); do grep -q READY "$T/out" 2>/dev/null && break; sleep 0.1; done
	kill -TERM $pid
	sleep 15
	if kill -0 $pid 2>/dev/null; then ok "--kill-after 0: still waiting 15 s after SIGTERM"
	else fail "--kill-after 0: still waiting 15 s after SIGTERM" "$(cat "$T/err")"; fi
	kill -USR1 $pid
	sleep 2
	if grep -q "^capsa: state: virtio-vsock@0x[0-9a-f]*: status 0xf" "$T/err" &&
	   grep -q "^capsa: state: vcpu0: [0-9]* exits" "$T/err" &&
	   grep -q "^capsa: state: vcpu0: rip 0x[0-9a-f]*, rsp 0x[0-9a-f]*, cr3 0x[0-9a-f]*, interrupts o[nf]*, [a-z]*; LAPIC IRR:" "$T/err" &&
	   grep -q "^capsa: state: ioapic pin 5: vector" "$T/err" &&
	   grep -q "^capsa: state: virtio-vsock@0x[0-9a-f]* q1: size 256, avail" "$T/err"; then
		ok "SIGUSR1: the state of vCPUs, pins, devices and queues on stderr"
	else
		fail "SIGUSR1: the state of vCPUs, pins, devices and queues on stderr" "$(head -c 600 "$T/err")"
	fi
	if kill -0 $pid 2>/dev/null; then ok "SIGUSR1: capsa goes on"
	else fail "SIGUSR1: capsa goes on"; fi
	kill -9 $pid
	wait $pid 2>/dev/null
}

t_io_copy() {
	mkdir -p "$T/tree/sub"
	printf 'hello' >"$T/tree/file"
	chmod 751 "$T/tree/file"
	printf 'deep' >"$T/tree/sub/deep"
	ln -sf file "$T/tree/link"
	# A host file the guest does not have: only a copy of it could be read.
	printf 'host secret' >"$T/secret"
	ln -sf "$T/secret" "$T/tree/outside"
	cap --copy "$T/tree:/work" -- sh -c \
		'cat /work/file; echo; stat -c %a /work/file; cat /work/sub/deep; echo;
		 readlink /work/link; readlink /work/outside; cat /work/outside 2>/dev/null || echo not-followed'
	expect_eq "--copy: contents, modes, symlinks, nothing followed" "$(cat "$T/out")" \
		"$(printf 'hello\n751\ndeep\nfile\n%s\nnot-followed' "$T/secret")"
	cap --copy "$T/tree/file" -- cat "$T/tree/file"
	expect_eq "--copy FILE lands at the same absolute path" "$(cat "$T/out")" hello
	cap --copy "$T/tree/file:/a/b/c" -- cat /a/b/c
	expect_eq "--copy creates parent directories" "$(cat "$T/out")" hello
	cap --copy "$T/tree:/tmp" -- sh -c 'cat /tmp/file; echo; stat -c %a /tmp'
	expect_eq "--copy merges into an existing directory" "$(cat "$T/out")" "$(printf 'hello\n1777')"
	bad "--copy missing source" --copy /nonexistent -- true
	bad "--copy relative guest path" --copy "$T/tree:rel" -- true
	cap --copy "$T/tree" -- sh -c 'echo changed >'"$T/tree/file"
	expect_eq "--copy: nothing flows back" "$(cat "$T/tree/file")" hello
}

t_io_shebang() {
	capsa_path=$(command -v "$CAPSA")
	printf '#!%s --memory 128 -- /bin/sh\necho "script: $0 args: $*"\nexit 7\n' \
		"$capsa_path" >"$T/script.sh"
	chmod +x "$T/script.sh"
	(cd "$T" && ./script.sh one "two words") >"$T/out" 2>"$T/err"
	expect_eq "shebang script: exit status propagates" "$?" 7
	expect_file "shebang script runs in the guest with its arguments" "$T/out" \
		"script: $T/script.sh args: one two words"
	printf '#!%s -e X=1 -- /bin/sh -e\necho "X=$X"; false; echo unreachable\n' \
		"$capsa_path" >"$T/s2"
	chmod +x "$T/s2"
	"$T/s2" >"$T/out" 2>"$T/err"
	expect_eq "shebang: interpreter arguments split like env -S" "$?:$(cat "$T/out")" "1:X=1"
}

# tty NAME ARGS...: run capsa on a fresh pty through ptyrun; output in
# $T/out, "EXIT n" and "RESTORED yes|no" in $T/err.
tty() {
	ptyrun "$@" >"$T/out" 2>"$T/err"
}

t_tty() {
	tty -- "$CAPSA" -- tty
	expect_grep "on a terminal the command gets a pty" "$T/out" "^/dev/pts/"
	expect_grep "terminal restored after a normal exit" "$T/err" "RESTORED yes"
	tty -s 33x111 -- "$CAPSA" -- stty size
	expect_grep "the window size is set" "$T/out" "33 111"
	tty -s 24x80 -i 'wait:READY;winch:50x132;sleep:1000;send:go\r;wait:DONE' -- \
		"$CAPSA" -- sh -c 'echo READY; read x; stty size; echo DONE'
	expect_grep "SIGWINCH updates the size" "$T/out" "50 132"
	tty -i 'wait:READY;send:\x03' -- "$CAPSA" -- sh -c 'echo READY; exec sleep 100'
	expect_grep "Ctrl-C interrupts sleep 100: capsa exits 130" "$T/err" "EXIT 130"
	expect_grep "terminal restored after Ctrl-C" "$T/err" "RESTORED yes"
	# busybox ash asks for the cursor position at each prompt (ptyrun answers);
	# type only once it has, and press Ctrl-Z once the job runs (it prints
	# 42RUN, which its echoed command line does not contain).
	tty -i 'wait:[6n;sleep:500;send:sh -c "echo $((6*7))RUN && exec sleep 100"\r;wait:42RUN;sleep:500;send:\x1a;wait:Stopped;sleep:1000;send:jobs\r;sleep:1000;send:kill -9 %1\r;sleep:1000;send:exit 4\r;sleep:1000;send:exit 4\r' \
		-- "$CAPSA" -e PS1='# ' -- sh -i
	expect_grep "interactive sh: Ctrl-Z stops a job (job control)" "$T/out" "Stopped"
	expect_grep "interactive sh: exit status" "$T/err" "EXIT 4"
	tty -- "$CAPSA" --timeout 2 -- sleep 100
	expect_grep "--timeout on a terminal: 124" "$T/err" "EXIT 124"
	expect_grep "terminal restored after a timeout" "$T/err" "RESTORED yes"
	tty -i 'sleep:1500;kill:15;sleep:300;kill:15' -- "$CAPSA" -- sh -c 'trap "" TERM HUP; sleep 100'
	expect_grep "terminal restored after capsa is signalled" "$T/err" "RESTORED yes"
	tty -- "$CAPSA" -T -- tty
	expect_grep "-T: no terminal even on one" "$T/out" "not a tty"
	cap -t -- tty
	expect_grep "-t: a terminal even without one" "$T/out" "^/dev/pts/"
}

ALL_GROUPS="$ALL_GROUPS t_io_env t_io_signals t_io_grace t_io_copy t_io_shebang t_tty"
