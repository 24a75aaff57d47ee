# Jail tests: a real jailed capsa seen from outside (/proc) and from inside
# (capsa-test, built with -DCAPSA_TEST_HOOKS, tries forbidden operations).
# Sourced by run.sh; see run.sh for cap, status and bad. Run as root (the
# emulated host's tests are); the unprivileged user is made here.

SIGSYS_STATUS=159	# 128 + SIGSYS: the seccomp filters kill the process
JAIL_USER=capsau	# uid 1000, made by jail_user_setup

# jail_threads PID N: wait (up to 30 s) until capsa PID has N threads, the
# main one with 1 seccomp filter and the vCPU ones with 2.
jail_threads() {
	_i=0
	while [ $_i -lt 300 ]; do
		_n=0 _good=0
		for _t in /proc/$1/task/*; do
			_f=$(sed -n 's/^Seccomp_filters:[[:space:]]*//p' "$_t/status" 2>/dev/null)
			_n=$((_n + 1))
			if [ "${_t##*/}" = "$1" ]; then [ "$_f" = 1 ] && _good=$((_good + 1))
			else [ "$_f" = 2 ] && _good=$((_good + 1)); fi
		done
		[ $_n -eq "$2" ] && [ $_good -eq "$2" ] && return 0
		_i=$((_i + 1))
		sleep 0.1
	done
	return 1
}

# jail_field PID FILE KEY: the value of "KEY: value" in /proc/PID/FILE.
jail_field() {
	sed -n "s/^$3:[[:space:]]*//p" "/proc/$1/$2"
}

# jail_every_thread PID KEY WANT: KEY is WANT in every thread's status.
jail_every_thread() {
	_bad=
	for _t in /proc/$1/task/*; do
		_v=$(sed -n "s/^$2:[[:space:]]*//p" "$_t/status")
		[ "$_v" = "$3" ] || _bad="$_bad ${_t##*/}=$_v"
	done
	if [ -z "$_bad" ]; then ok "$2 is $3 on every thread"
	else fail "$2 is $3 on every thread" "got$_bad"; fi
}

jail_ns_differs() {
	expect_eq "$2 namespace differs from the parent's" \
		"$(readlink /proc/$1/ns/$2 | grep -cx "$(readlink /proc/$$/ns/$2)")" 0
}

# A jailed capsa running `sleep`, stdout and stderr a pipe (no file written).
t_jail_outside() {
	mkfifo "$T/fifo"
	cat "$T/fifo" >"$T/out" &
	"$CAPSA" --cpus 2 -- sleep 60 </dev/null >"$T/fifo" 2>&1 &
	pid=$!
	if ! jail_threads $pid 3; then
		fail "jailed capsa: 3 threads, all filtered" "$(head -c 300 "$T/out")"
		kill -9 $pid
		wait
		return
	fi
	ok "jailed capsa: 3 threads; main has 1 seccomp filter, vCPUs 2"
	jail_every_thread $pid Seccomp 2
	jail_every_thread $pid NoNewPrivs 1
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		expect_eq "$c is zero" "$(jail_field $pid status $c)" 0000000000000000
	done
	for ns in mnt ipc net; do jail_ns_differs $pid $ns; done
	expect_eq "/proc/PID/root is empty" "$(ls -A /proc/$pid/root/ | wc -l)" 0
	expect_eq "uid is nobody, not root" "$(jail_field $pid status Uid)" \
		"$(printf '65534\t65534\t65534\t65534')"
	expect_eq "gid is nobody" "$(jail_field $pid status Gid | cut -f1)" 65534
	expect_eq "no supplementary groups" "$(jail_field $pid status Groups)" ""
	expect_eq "core dumps limited to 0" \
		"$(grep 'Max core file size' /proc/$pid/limits | awk '{print $5}')" 0
	expect_eq "file size limited to 0 (nothing writes a file)" \
		"$(grep 'Max file size' /proc/$pid/limits | awk '{print $4}')" 0
	kill -TERM $pid
	wait $pid
	expect_eq "SIGTERM still reaches the command (143)" "$?" 143
	wait
}

# --user as root; stdout a file, so the file size is not limited.
t_jail_user() {
	"$CAPSA" --user 1000:1001 -- sleep 60 </dev/null >"$T/out" 2>"$T/err" &
	pid=$!
	if jail_threads $pid 2; then
		expect_eq "--user 1000:1001: uid" "$(jail_field $pid status Uid | cut -f1)" 1000
		expect_eq "--user 1000:1001: gid" "$(jail_field $pid status Gid | cut -f1)" 1001
		expect_eq "stdout is a file: file size not limited" \
			"$(grep 'Max file size' /proc/$pid/limits | awk '{print $4}')" unlimited
	else
		fail "--user 1000:1001: capsa jailed" "$(head -c 300 "$T/err")"
	fi
	kill -TERM $pid
	wait $pid
	bad "--user with an unknown name" --user no-such-user -- true
	bad "--user 5:x" --user 5:x -- true
	bad "--jail sometimes" --jail sometimes -- true
	cap -- sh -c 'head -c 300000 /dev/zero'
	expect_eq "300000 bytes to a file under the jail" "$(wc -c <"$T/out" | tr -d ' ')" 300000
}

# Every layer is reported with --verbose; strict passes as root; off warns.
t_jail_modes() {
	cap -v -- true
	for l in namespaces filesystem no-new-privs capabilities rlimits seccomp; do
		expect_grep "--verbose: $l applied" "$T/err" "jail: $l applied"
	done
	status "--jail strict as root: every layer applies" 0 --jail strict -- true
	cap --jail off -- echo hi
	expect_eq "--jail off: runs" "$rc" 0
	expect_grep "--jail off: warns on stderr" "$T/err" "warning: --jail off"
}

# The filesystem layer's pivot_root path: capsa rooted on a tmpfs (the
# emulated host's own root is the initramfs, which only the fallback handles).
t_jail_pivot() {
	_capsa=$(command -v "$CAPSA") _r=$T/root
	mkdir "$_r"
	unshare -m sh -c "
		mount -t tmpfs t '$_r' && mkdir '$_r/bin' '$_r/dev' '$_r/proc' '$_r/tmp' &&
		cp /bin/busybox '$_r/bin/' && cp '$_capsa' '$_r/bin/capsa' &&
		mount --rbind /dev '$_r/dev' && mount -t proc proc '$_r/proc' &&
		cd '$_r' && mount --move . / && exec chroot . /bin/capsa -v -- echo pivoted
	" >"$T/out" 2>"$T/err" </dev/null
	expect_eq "capsa on a tmpfs root: runs" "$?" 0
	expect_grep "capsa on a tmpfs root: pivot_root" "$T/err" "filesystem applied.*(pivot_root)"
	expect_file "capsa on a tmpfs root: output" "$T/out" pivoted
}

# jail_watch CMD...: run CMD (stdout $T/out, stderr $T/err, status $rc), and
# if it has not ended after 60 s, show where its threads are and kill it.
jail_watch() {
	"$@" >"$T/out" 2>"$T/err" </dev/null &
	_p=$! _i=0
	while [ $_i -lt 600 ] && ! grep -qs '^State:.*Z' /proc/$_p/status && [ -d /proc/$_p ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if [ $_i -ge 600 ]; then
		diag "still running after 60 s: $*"
		for _t in /proc/$_p/task/*; do
			diag "thread ${_t##*/}: $(grep State "$_t/status") in $(cat "$_t/wchan")"
			sed 's/^/#   /' "$_t/stack" 2>/dev/null
		done
		kill -9 $_p
	fi
	wait $_p
	rc=$?
}

# escape WHERE OP WANT: capsa-test tries OP on the main thread or a vCPU.
jail_escape() {
	_env=$2
	[ "$1" = vcpu ] && _env=vcpu:$2
	export CAPSA_TEST_ESCAPE=$_env
	jail_watch capsa-test $4 -- true
	unset CAPSA_TEST_ESCAPE
	_rc=$rc
	if [ "$_rc" = "$3" ]; then ok "$1 $2 ${4:+($4) }-> status $3"
	else fail "$1 $2 ${4:+($4) }-> status $3" "got $_rc: $(head -c 300 "$T/err")"; fi
}

t_jail_escape() {
	if ! command -v capsa-test >/dev/null; then
		skip "escape tests" "no capsa-test (make capsa-test)"
		return
	fi
	# No sockets at all: the vsock broker, outside the jail, makes them.
	for op in open execve ptrace socket_inet socket_unix mount unshare ioctl; do
		jail_escape vmm $op $SIGSYS_STATUS
		jail_escape vcpu $op $SIGSYS_STATUS
	done
	# Allowed on the main thread (the terminal), not on a vCPU.
	jail_escape vmm ioctl_tty 98
	jail_escape vcpu ioctl_tty $SIGSYS_STATUS
	# Controls: without the jail the same tries return (98 error, 99 success).
	jail_escape vmm ptrace 99 "--jail off"
	jail_escape vmm socket_inet 99 "--jail off"
	jail_escape vmm mount 98 "--jail off"
	jail_escape vcpu socket_inet 125 "--jail off"
	expect_grep "vcpu try reported" "$T/err" "test escape vcpu socket_inet: allowed"
}

# Normal runs trip no filter: in log mode, capsa-test logs (in dmesg)
# what would have killed it, and goes on.
t_jail_allowlist() {
	if ! command -v capsa-test >/dev/null; then
		skip "allowlist tests" "no capsa-test (make capsa-test)"
		return
	fi
	dmesg -c >/dev/null
	export CAPSA_TEST_SECCOMP=log
	echo "from stdin" | capsa-test --cpus 2 -v -- sh -c \
		'cat; echo out; echo err >&2; head -c 1000000 /dev/zero | wc -c; exit 3' \
		>"$T/out" 2>"$T/err"
	_rc=$?
	[ $_rc = 3 ] || grep -e 'state: vcpu' -e warning "$T/err" | sed 's/^/# stderr: /' | tail -n 8
	expect_eq "log mode: a busy run exits 3" $_rc 3
	capsa-test -- sh -c 'head -c 2000000 /dev/urandom' | wc -c >"$T/out"
	expect_file "log mode: 2 MB through a pipe" "$T/out" 2000000
	capsa-test -- sh -c 'kill -9 $$' >/dev/null 2>&1
	expect_eq "log mode: kill -9 gives 137" "$?" 137
	capsa-test -- sleep 5 >/dev/null 2>&1 &
	sleep 2
	kill -INT $!
	wait $!
	expect_eq "log mode: SIGINT is forwarded (130)" "$?" 130
	# The guest resets the vsock device: its connections close on a vCPU thread.
	capsa-test -- sh -c 'echo virtio0 >/sys/bus/virtio/drivers/vmw_vsock_virtio_transport/unbind
		sleep 60' >/dev/null 2>&1 &
	_pid=$!
	sleep 8
	kill -9 $_pid
	wait $_pid
	_log=$(dmesg | grep 'type=1326' | grep capsa-test)
	expect_eq "log mode: no syscall outside the allowlists" "$_log" ""
	# Control: a forbidden try is logged, so the check above can see.
	CAPSA_TEST_ESCAPE=mount capsa-test -- true >/dev/null 2>&1
	expect_eq "log mode control: the mount try went through (98)" "$?" 98
	unset CAPSA_TEST_SECCOMP
	_log=$(dmesg | grep 'type=1326' | grep -c 'syscall=165 ')
	if [ "$_log" -ge 1 ]; then ok "log mode control: the mount was logged"
	else fail "log mode control: the mount was logged" "$(dmesg | tail -n 5)"; fi
}

# The unprivileged user jail_user_setup made.
jail_user_setup() {
	mkdir -p /etc
	grep -q "^$JAIL_USER:" /etc/passwd 2>/dev/null ||
		echo "$JAIL_USER:x:1000:1000:capsa test:/tmp:/bin/sh" >>/etc/passwd
	grep -q "^$JAIL_USER:" /etc/group 2>/dev/null || echo "$JAIL_USER:x:1000:" >>/etc/group
	_kvm_mode=$(stat -c %a /dev/kvm)
	chmod 666 /dev/kvm
}

# ucap ARGS...: cap, as the unprivileged user.
ucap() {
	su -s /bin/sh "$JAIL_USER" -c "$(command -v "$CAPSA") $*" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

t_jail_unprivileged() {
	jail_user_setup
	ucap -v -- echo hi
	expect_eq "unprivileged: runs" "$rc" 0
	expect_file "unprivileged: output" "$T/out" hi
	expect_grep "unprivileged: namespaces in a user namespace" "$T/err" \
		"namespaces applied.*user namespace"
	expect_grep "unprivileged: seccomp applied" "$T/err" "seccomp applied"
	ucap --jail strict -- true
	expect_eq "unprivileged with user namespaces: --jail strict runs" "$rc" 0
	_userns=$(cat /proc/sys/user/max_user_namespaces)
	echo 0 >/proc/sys/user/max_user_namespaces
	ucap -v -- echo hi
	expect_eq "no user namespaces: still runs" "$rc" 0
	expect_file "no user namespaces: output" "$T/out" hi
	expect_grep "no user namespaces: namespaces skipped" "$T/err" "namespaces skipped"
	expect_grep "no user namespaces: filesystem skipped" "$T/err" "filesystem skipped"
	expect_grep "no user namespaces: seccomp still applied" "$T/err" "seccomp applied"
	ucap --jail strict -- echo hi
	expect_eq "no user namespaces: --jail strict exits 125" "$rc" 125
	expect_lines "no user namespaces: --jail strict says why in one line" "$T/err" 1
	expect_grep "no user namespaces: --jail strict names the layer" "$T/err" \
		"cannot apply namespaces (--jail strict)"
	expect_file "no user namespaces: --jail strict runs nothing" "$T/out" ""
	ucap --check
	expect_eq "no user namespaces: --check says a guest can run (0)" "$rc" 0
	expect_grep "no user namespaces: --check shows the skipped layer" "$T/out" \
		"namespaces *skipped"
	echo "$_userns" >/proc/sys/user/max_user_namespaces
	chmod "$_kvm_mode" /dev/kvm
}

t_jail_check() {
	cap -v --check
	sed 's/^/# /' "$T/out"
	expect_eq "--check: exit 0" "$rc" 0
	expect_grep "--check: /dev/kvm opens" "$T/out" "/dev/kvm *ok"
	expect_grep "--check: a guest boots" "$T/out" "guest *ok"
	expect_eq "--check: six layers applied" "$(grep -c '^    [a-z-]* *applied' "$T/out")" 6
	expect_grep "--check: verdict" "$T/out" "a guest can run here"
	if unshare -m true 2>/dev/null; then
		unshare -m sh -c "mount -t tmpfs none /dev && exec $CAPSA --check" \
			>"$T/out" 2>"$T/err"
		expect_eq "--check without /dev/kvm: exit 125" "$?" 125
		expect_grep "--check without /dev/kvm: says so" "$T/out" "/dev/kvm *FAILED: missing"
	fi
}

ALL_GROUPS="$ALL_GROUPS t_jail_outside t_jail_user t_jail_modes t_jail_pivot t_jail_escape"
ALL_GROUPS="$ALL_GROUPS t_jail_allowlist t_jail_unprivileged t_jail_check"
