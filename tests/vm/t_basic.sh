# Foundation tests: output, exit statuses, resources, bad input, no KVM.
# Sourced by run.sh; see run.sh for cap, status and bad.

# The README's main job: show what `capsa -- uname -a` prints.
t_uname() {
	cap -- uname -a
	cat "$T/out" "$T/err"
	expect_grep "capsa -- uname -a" "$T/out" "^Linux capsa "
}

t_output() {
	cap -- echo hello
	expect_eq "echo: exit 0" "$rc" 0
	expect_file "echo: stdout is exactly hello" "$T/out" hello
	expect_file "echo: stderr is empty (no kernel messages)" "$T/err" ""
	cap -- uname -a
	expect_grep "uname -a: a Linux guest" "$T/out" "^Linux capsa 6\.1"
	cap -- sh -c 'echo out; echo err >&2'
	expect_file "stdout and stderr apart: stdout" "$T/out" out
	expect_file "stdout and stderr apart: stderr" "$T/err" err
}

t_status() {
	status "exit 42 propagates" 42 -- sh -c 'exit 42'
	status "exit 0" 0 -- true
	status "exit 1" 1 -- false
	status "kill -9 gives 137" 137 -- sh -c 'kill -9 $$'
	status "missing command gives 127" 127 -- /nonexistent
	expect_grep "missing command names it" "$T/err" "/nonexistent"
	status "missing command on PATH gives 127" 127 -- no-such-command
	status "non-executable file gives 126" 126 -- /etc/passwd
	expect_lines "non-executable: one line on stderr" "$T/err" 1
}

t_resources() {
	cap --cpus 2 -- nproc
	expect_file "--cpus 2: guest sees 2 CPUs" "$T/out" 2
	cap -- nproc
	expect_file "default: 1 CPU" "$T/out" 1
	cap --memory 256 -- sh -c "awk '/MemTotal/ {print int(\$2/1024)}' /proc/meminfo"
	mem=$(cat "$T/out")
	if [ "${mem:-0}" -gt 200 ] && [ "$mem" -le 256 ]; then ok "--memory 256: guest has ~256 MiB"
	else fail "--memory 256: guest has ~256 MiB" "MemTotal $mem MiB"; fi
}

t_bad_input() {
	bad "--memory 0" --memory 0 -- true
	bad "--memory 1T" --memory 1T -- true
	bad "--memory abc" --memory abc -- true
	bad "--cpus 0" --cpus 0 -- true
	bad "--cpus 1000" --cpus 1000 -- true
	bad "unknown flag" --frobnicate -- true
	bad "missing --" echo hi
	bad "no command" --
}

t_no_kvm() {
	# A mount namespace whose /dev has no kvm node.
	if ! unshare -m true 2>/dev/null; then
		skip "no /dev/kvm gives 125" "unshare -m not permitted here"
		return
	fi
	unshare -m sh -c "mount -t tmpfs none /dev && exec $CAPSA -- true" >"$T/out" 2>"$T/err"
	expect_eq "no /dev/kvm gives 125" "$?" 125
	expect_grep "no /dev/kvm is named" "$T/err" "/dev/kvm"
}

ALL_GROUPS="$ALL_GROUPS t_uname t_output t_status t_resources t_bad_input t_no_kvm"
