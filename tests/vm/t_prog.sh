# Real programs, unchanged, in the guest: each group a task users bring to
# a sandbox, on the Debian root of tests/vm/blk-fixtures.sh (prog.squashfs:
# PostgreSQL, node, python3, gcc, git, curl, strace, inotify-tools,
# iptables, e2fsprogs).
# t_prog_env checks the guest environment itself, on the built-in root.
# Sourced by run.sh (cap, status, bad).
PROG_IMG=${FIXTURES:-/tests/fixtures}/blk/prog.squashfs

# prog NAME SCRIPT [ARGS...]: run the sh SCRIPT on the Debian root
# (stdout in $T/out, stderr in $T/err, status in $rc); false and a skip
# when the fixture is missing.
prog() {
	if [ ! -e "$PROG_IMG" ]; then
		skip "$1" "no $PROG_IMG (make blk-fixtures)"
		return 1
	fi
	_script=$2
	shift 2
	cap --rootfs "$PROG_IMG" --memory 1024 "$@" -- sh -c "$_script"
}

# expect_out NAME WANT: the last run printed exactly WANT and exited 0.
expect_out() {
	if [ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$2" ]; then
		ok "$1"
	else
		fail "$1" "status $rc, stdout '$(head -c 300 "$T/out")', want '$2'; stderr: $(tail -c 600 "$T/err")"
	fi
}

# What a normal Linux system has, before the command starts.
t_prog_env() {
	cap -- sh -c 'stat -c %a /dev/shm; grep -E " /(dev/shm|dev/mqueue|sys/fs/cgroup) " /proc/mounts | cut -d" " -f2,3
		for l in /dev/fd /dev/stdin /dev/stdout /dev/stderr; do readlink $l; done'
	expect_eq "/dev/shm (tmpfs 1777), /dev/mqueue, cgroup2, /dev/fd and /dev/std*" "$(cat "$T/out")" \
		"$(printf '1777\n/dev/shm tmpfs\n/dev/mqueue mqueue\n/sys/fs/cgroup cgroup2\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2')"
	cap -- sh -c 'cat /sys/fs/cgroup/cgroup.subtree_control'
	expect_grep "cgroup2: the controllers are enabled for children" "$T/out" "memory.*pids"
	cap -- sh -c 'hostname; cat /etc/hostname; grep -w localhost /etc/hosts | tr -s "\t " " "'
	expect_eq "hostname, /etc/hostname, /etc/hosts: localhost on 127.0.0.1 and ::1" "$(cat "$T/out")" \
		"$(printf 'capsa\ncapsa\n127.0.0.1 localhost capsa\n::1 localhost ip6-localhost ip6-loopback capsa')"
	cap -- sh -c 'ip -o addr show dev lo | awk "{print \$3, \$4}"'
	expect_eq "loopback up, IPv4 and IPv6" "$(cat "$T/out")" "$(printf 'inet 127.0.0.1/8\ninet6 ::1/128')"
	cap -- sh -c 'for d in /run /run/lock /var/tmp /tmp /dev/shm; do touch $d/x && echo $d; done'
	expect_eq "/run, /run/lock, /var/tmp, /tmp, /dev/shm writable" "$(cat "$T/out")" \
		"$(printf '/run\n/run/lock\n/var/tmp\n/tmp\n/dev/shm')"
	cap -- sh -c 'cut -d" " -f41 /proc/1/stat; cut -d" " -f41 /proc/self/stat'
	expect_eq "init relays as SCHED_BATCH (3), the command is a normal task (0)" \
		"$(cat "$T/out" | tr '\n' ' ')" "3 0 "
	before=$(date +%s)
	cap -- date +%s
	after=$(date +%s)
	if [ "$rc" = 0 ] && [ "$(cat "$T/out")" -ge $((before - 2)) ] && [ "$(cat "$T/out")" -le $((after + 2)) ]; then
		ok "the guest's clock is the host's ($before <= $(cat "$T/out") <= $after)"
	else
		fail "the guest's clock is the host's" "guest $(cat "$T/out"), host $before to $after"
	fi
}

# --rootfs IMAGE:rw: the environment is there, and nothing of it in the image.
t_prog_env_rw() {
	if [ ! -e "${FIXTURES:-/tests/fixtures}/blk/small.ext4" ]; then
		skip "--rootfs :rw environment" "no fixtures (make blk-fixtures)"
		return
	fi
	cp "${FIXTURES:-/tests/fixtures}/blk/small.ext4" "$T/rw.ext4"
	cap --disk "$T/rw.ext4" -- sh -c 'mkdir /tmp/m && mount /dev/vda /tmp/m &&
		echo "192.0.2.1 mine" >/tmp/m/etc/hosts && umount /tmp/m'
	expect_eq "an image with its own /etc/hosts" "$rc" 0
	# small.ext4's busybox has few applet links; the image is mounted a
	# second time to see what is in it below the guest's view.
	cap --rootfs "$T/rw.ext4:rw" -- sh -c 'grep -c localhost /etc/hosts; ls /dev/shm >/dev/null && echo shm
		busybox mkdir /tmp/m; mount /dev/vda /tmp/m; cat /tmp/m/etc/hosts; ls /tmp/m/etc
		ls -d /tmp/m/var/tmp 2>&1 | grep -c "No such"'
	expect_eq "rw: /etc/hosts in the guest, the image's own untouched, nothing added" "$(cat "$T/out")" \
		"$(printf '2\nshm\n192.0.2.1 mine\nhosts\nname\n1')"
	rm -f "$T/rw.ext4"
}

# node from a host pipe to a host pipe (libuv takes no vsock socket for stdio).
t_prog_stdio() {
	prog "node prints to a host pipe" 'node -e "console.log(6 * 7)"' || return
	expect_out "node prints to a host pipe" 42
	head -c 1048576 /dev/urandom >"$T/rand"
	"$CAPSA" --rootfs "$PROG_IMG" --memory 1024 -- node -e '
		const h = require("crypto").createHash("sha256");
		process.stdin.on("data", (d) => h.update(d)).on("end", () => console.log(h.digest("hex")));' \
		<"$T/rand" >"$T/out" 2>"$T/err"
	expect_eq "node reads 1 MiB from a host pipe to its EOF" "$(cat "$T/out")" \
		"$(sha256sum <"$T/rand" | cut -d' ' -f1)"
	prog "node: stdout and stderr apart" 'node -e "console.log(\"out\"); console.error(\"err\"); process.exit(3)"'
	expect_eq "node: stdout and stderr apart, its exit status" "$rc:$(cat "$T/out"):$(cat "$T/err")" "3:out:err"
	prog "S_ISFIFO" 'python3 -c "import os, stat; print([stat.S_ISFIFO(os.fstat(i).st_mode) for i in (0, 1, 2)])"'
	expect_out "python sees S_ISFIFO on fds 0-2" "[True, True, True]"
	rm -f "$T/rand"
}

t_prog_postgres() {
	prog "PostgreSQL" '
		export PATH=/usr/lib/postgresql/15/bin:$PATH
		install -d -o postgres -g postgres /run/postgresql
		su postgres -c "initdb -D /tmp/pg --locale=C -E UTF8 -A trust" >/tmp/initdb.log 2>&1 ||
			{ cat /tmp/initdb.log >&2; exit 1; }
		su postgres -c "pg_ctl -D /tmp/pg -l /tmp/pg.log -w start" >/dev/null ||
			{ cat /tmp/pg.log >&2; exit 2; }
		su postgres -c "psql -qAt -c \"create table t (n int); insert into t select generate_series(1, 1000); select sum(n) from t\""' || return
	expect_out "PostgreSQL: initdb, pg_ctl start, a query through psql" 500500
}

t_prog_node_http() {
	prog "node HTTP server" '
		node -e "require(\"http\").createServer((q, r) => r.end(\"hello \" + q.url)).listen(8080, () => console.log(\"up\"))" >/tmp/n.log 2>&1 &
		for i in $(seq 300); do grep -q up /tmp/n.log && break; sleep 0.1; done
		curl -sS http://localhost:8080/a; echo; curl -sS -4 http://localhost:8080/b; echo
		curl -sS http://[::1]:8080/c; echo' || return
	expect_out "a node HTTP server, fetched with curl from localhost, 127.0.0.1 and ::1" \
		"$(printf 'hello /a\nhello /b\nhello /c')"
}

t_prog_python() {
	prog "python multiprocessing" 'python3 -c "
from multiprocessing import Pool
from multiprocessing.shared_memory import SharedMemory
with Pool(2) as p:
    print(sum(p.map(abs, range(-100, 0))))
m = SharedMemory(create=True, size=4096); m.buf[0] = 42; print(m.buf[0]); m.close(); m.unlink()"' || return
	expect_out "python multiprocessing: a Pool and shared memory" "$(printf '5050\n42')"
	prog "IPv6 loopback" 'python3 -c "
import socket
s = socket.socket(socket.AF_INET6); s.bind((\"::1\", 0)); s.listen()
c = socket.create_connection(s.getsockname()[:2]); a, _ = s.accept()
c.sendall(b\"over ::1\"); print(a.recv(64).decode())"'
	expect_out "python: a TCP connection over ::1" "over ::1"
}

t_prog_gcc() {
	prog "gcc" '
		cat >/tmp/h.c <<EOF
#include <math.h>
#include <pthread.h>
#include <stdio.h>
static void *twice(void *x) { *(double *)x *= 2; return x; }
int main(void) { pthread_t t; double v = sqrt(441.0); pthread_create(&t, 0, twice, &v);
	pthread_join(t, 0); printf("%.0f\n", v); return 0; }
EOF
		gcc -O2 -Wall -pthread -o /tmp/h /tmp/h.c -lm && /tmp/h' || return
	expect_out "gcc builds a C program (threads, libm) that runs" 42
}

t_prog_git() {
	prog "git" '
		git init -q /tmp/r && cd /tmp/r && git config user.email t@example.org && git config user.name T &&
		echo one >f && git add f && git commit -qm first && echo two >>f && git commit -qam second &&
		git log --format=%s && git status --porcelain' || return
	expect_out "git: init, commit, log" "$(printf 'second\nfirst')"
}

t_prog_inotify() {
	prog "inotify" '
		touch /tmp/w
		inotifywait -e modify /tmp/w >/tmp/ev 2>/tmp/iw &
		for i in $(seq 300); do grep -q "Watches established" /tmp/iw && break; sleep 0.1; done
		echo x >>/tmp/w
		wait; cat /tmp/ev' || return
	expect_out "a file watcher (inotifywait) sees a file change" "/tmp/w MODIFY "
}

t_prog_sandbox() {
	prog "namespaces" 'unshare --user --map-root-user --pid --fork --mount-proc sh -c "echo \$\$; id -u; ps -o comm= -p 1"
		su nobody -s /bin/sh -c "unshare --user --map-root-user id -u"' || return
	expect_out "unshare: user and pid namespaces (and an unprivileged user namespace)" "$(printf '1\n0\nsh\n0')"
	prog "seccomp" '
		cat >/tmp/s.c <<EOF
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
int main(void) {
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdir, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = { sizeof(f) / sizeof(f[0]), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p))
		return perror("seccomp"), 1;
	printf("mkdir: %s\n", mkdir("/tmp/d", 0700) ? strerror(errno) : "made");
	return 0;
}
EOF
		gcc -o /tmp/s /tmp/s.c && /tmp/s && ls -d /tmp/d 2>/dev/null
		strace -f --seccomp-bpf -e trace=execve -o /tmp/st true && grep -c execve /tmp/st'
	expect_out "a program under its own seccomp filter; strace --seccomp-bpf" \
		"$(printf 'mkdir: Operation not permitted\n1')"
	prog "cgroup2" '
		mkdir /sys/fs/cgroup/job && cd /sys/fs/cgroup/job && echo 64M >memory.max && echo 4 >pids.max &&
		cat memory.max && python3 -c "
import os, time
open(\"cgroup.procs\", \"w\").write(str(os.getpid()))
kids, failed = [], 0
for i in range(6):
    try:
        pid = os.fork()
    except BlockingIOError:
        failed += 1
        continue
    if pid == 0:
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
print(len(kids), failed)" && cat pids.events'
	expect_out "cgroup2: a child cgroup limits memory and processes" \
		"$(printf '67108864\n3 3\nmax 3')"
}

# A firewall and a port redirect with Debian's iptables (nf_tables, xt
# matches through nft_compat); a disk image built and loop-mounted.
t_prog_system() {
	prog "iptables" '
		node -e "require(\"http\").createServer((q, r) => r.end(\"via \" + q.url)).listen(8080, () => console.log(\"up\"))" >/tmp/n.log 2>&1 &
		for i in $(seq 300); do grep -q up /tmp/n.log && break; sleep 0.1; done
		iptables -t nat -A OUTPUT -o lo -p tcp --dport 81 -j REDIRECT --to-ports 8080 &&
		iptables -A OUTPUT -o lo -p tcp -m multiport --dports 82,83 -m comment --comment "closed" -j DROP &&
		iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT || exit
		curl -sS http://127.0.0.1:81/r; echo
		curl -sS -m 2 http://127.0.0.1:83/ 2>/dev/null; echo "curl $?"' || return
	expect_out "iptables: REDIRECT, multiport, comment, state" "$(printf 'via /r\ncurl 28')"
	prog "loop" '
		truncate -s 32M /tmp/img && mkfs.ext4 -q /tmp/img && mkdir /tmp/m && mount -o loop /tmp/img /tmp/m &&
		echo data >/tmp/m/f && umount /tmp/m && mount -o loop,ro /tmp/img /tmp/m && cat /tmp/m/f &&
		losetup -a | grep -c /tmp/img'
	expect_out "an ext4 image made, loop-mounted, written and read back" "$(printf 'data\n1')"
}

ALL_GROUPS="$ALL_GROUPS t_prog_env t_prog_env_rw t_prog_stdio t_prog_postgres t_prog_node_http"
ALL_GROUPS="$ALL_GROUPS t_prog_python t_prog_gcc t_prog_git t_prog_inotify t_prog_sandbox t_prog_system"
