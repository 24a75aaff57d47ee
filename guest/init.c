// SPDX-License-Identifier: MIT
/*
 * init.c - PID 1 inside the capsa guest.
 *
 * Sets up the system environment (env.c), reads the run configuration
 * capsa put in the initramfs, puts copied files in place, connects the
 * control and stdio streams to the host over vsock, runs the command as a
 * session (session.c: its stdio on pipes or a pty, relayed to the
 * streams), reaps every child, and reports the command's exit status once
 * its output is out. capsa ends the VM when the status arrives; rebooting
 * is only the fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "env.h"
#include "exec.h"
#include "init.h"
#include "netuser.h"
#include "proto.h"
#include "rootfs.h"
#include "session.h"
#include "shares.h"

#define MAX_ARGS 65536
#define MAX_COPIES 256
#define FALLBACK_REBOOT_MS 10000

struct run {
	char *argv[MAX_ARGS + 1];
	char *envp[MAX_ARGS + 1];
	const char *copies[MAX_COPIES];
	const char *cwd;
	const char *hostname;
	const char *net_if, *net_ip, *net_gw;	/* --net, --ip, --gateway */
	const char *rootfs;	/* "ro" or "rw" with --rootfs, else NULL */
	int nargs, nenv, ncopies;
	struct netuser_cfg netuser;	/* --net user, -p */
	bool tty;
	unsigned rows, cols;
	bool exec;		/* --control: serve `capsa exec` (exec.c) */
};

static int ctrl_fd = -1, err_fd = 2;
static pid_t exec_server;
static bool root_rw;

/* One line on the command's stderr (or the console before it exists). */
static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write(err_fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void
send_msg(uint32_t type, int32_t value)
{
	struct capsa_msg m = { type, value };

	if (ctrl_fd >= 0)
		(void)!write(ctrl_fd, &m, sizeof(m));
}

static void __attribute__((noreturn))
finish(int status)
{
	struct pollfd p = { .fd = ctrl_fd, .events = POLLIN };

	/* Running execs' clients hear that the sandbox ends, before it does. */
	exec_stop(exec_server);
	/* Disk writes are on the host before capsa hears the status and ends the VM. */
	rootfs_leave(root_rw);
	sync();
	send_msg(MSG_EXIT, status);
	/* capsa stops the VM on receipt; wait for that, then reboot anyway. */
	if (ctrl_fd >= 0)
		poll(&p, 1, FALLBACK_REBOOT_MS);
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		return NULL;
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void
add_record(struct run *r, int tag, const char *v)
{
	if (tag == RUN_ARG && r->nargs < MAX_ARGS)
		r->argv[r->nargs++] = (char *)v;
	else if (tag == RUN_ENV && r->nenv < MAX_ARGS)
		r->envp[r->nenv++] = (char *)v;
	else if (tag == RUN_COPY && r->ncopies < MAX_COPIES)
		r->copies[r->ncopies++] = v;
	else if (tag == RUN_CWD)
		r->cwd = v;
	else if (tag == RUN_HOSTNAME)
		r->hostname = v;
	else if (tag == RUN_NET)
		r->net_if = v;
	else if (tag == RUN_NET_IP)
		r->net_ip = v;
	else if (tag == RUN_NET_GW)
		r->net_gw = v;
	else if (tag == RUN_TTY)
		r->tty = sscanf(v, "%ux%u", &r->rows, &r->cols) == 2;
	else if (tag == RUN_ROOTFS)
		r->rootfs = v;
	else if (tag == RUN_EXEC)
		r->exec = true;
	else if (tag == RUN_SHARE || tag == RUN_ROOT_SHARE)
		shares_record(tag, v);
	else if (tag == RUN_NET_USER)
		r->netuser.net = true;
	else if (tag == RUN_PUBLISH && r->netuser.npublish < NU_MAX_PUBLISH)
		r->netuser.publish[r->netuser.npublish++] = (unsigned)atoi(v);
}

static int
load_run(struct run *r)
{
	size_t len = 0, pos = 0;
	char *buf = read_file(RUN_CONFIG_PATH, &len);
	const char *v;
	int tag;

	if (!buf)
		return -1;
	unlink(RUN_CONFIG_PATH);
	rmdir("/.capsa");
	while ((v = run_next(buf, len, &pos, &tag)))
		add_record(r, tag, v);
	return r->nargs ? 0 : -1;
}

/*
 * --copy: <staging>/N goes to its guest path. @staging is RUN_COPY_DIR, or
 * a /proc/self/fd path to it once --rootfs has hidden the initramfs.
 */
static int
place_copies(const struct run *r, const char *staging)
{
	char src[96];
	unsigned n;
	int off;

	for (int i = 0; i < r->ncopies; i++) {
		const char *dst;

		if (sscanf(r->copies[i], "%u:%n", &n, &off) != 1 || r->copies[i][off] != '/')
			continue;
		dst = r->copies[i] + off;
		snprintf(src, sizeof(src), "%s/%u", staging, n);
		if (mkdir_parents(dst) < 0 || copy_tree(src, dst) < 0) {
			say("capsa: --copy to %s: %s\n", dst, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* --share: each at its guest path, once the root is in place. */
static int
mount_shares(void)
{
	char err[256];

	if (shares_mount(err, sizeof(err)) == 0)
		return 0;
	say("capsa: %s\n", err);
	return -1;
}

/* --net tap: eth0 up, configured when --ip/--gateway say how; --net user and -p: the helper. */
static int
configure_net(const struct run *r)
{
	char err[256];

	if (r->net_if && net_setup(r->net_if, r->net_ip, r->net_gw, err, sizeof(err)) < 0) {
		say("capsa: %s\n", err);
		return -1;
	}
	if (netuser_start(&r->netuser, err, sizeof(err)) < 0) {
		say("capsa: --net user: %s\n", err);
		return -1;
	}
	return 0;
}

static int
connect_host(unsigned port)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK, .svm_cid = HOST_CID, .svm_port = port,
	};
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		say("capsa-init: cannot reach the host over vsock (port %#x): %s\n",
		    port, strerror(errno));
		finish(125);
	}
	return s;
}

static void
on_control(struct session *s)
{
	struct capsa_msg m;
	ssize_t n = read(ctrl_fd, &m, sizeof(m));

	if (n == 0)
		finish(125);	/* capsa is gone */
	if (n != sizeof(m))
		return;
	if (m.type == MSG_WINSIZE)
		session_resize(s, (uint32_t)m.value);
	if (m.type == MSG_SIGNAL && m.value > 0 && m.value < NSIG)
		session_signal(s, m.value);
}

/*
 * From here on init mostly relays. SCHED_BATCH: woken by a pipe it never
 * preempts the command that filled it, so on one vCPU the command writes
 * on until the pipe is full and init moves it in one piece, rather than
 * the two taking turns at every small write (each turn a context switch,
 * and one vsock packet). The command is a normal task (session.c).
 * musl has no sched_setscheduler(): the syscall.
 */
static void
relay_priority(void)
{
	struct sched_param sp = { 0 };

	syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &sp);
}

/* SIGCHLD as a readable fd; blocked before the first fork, so none is lost. */
static int
child_events(void)
{
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	return signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
}

/*
 * Relay the command's stdio and reap every child (init inherits orphans)
 * until the command ends; then its output goes out, then its status.
 */
static int
wait_command(struct session *s, int sfd)
{
	struct pollfd p[2 + SESSION_NFDS] = { { .fd = sfd, .events = POLLIN },
					      { .fd = ctrl_fd, .events = POLLIN } };
	struct signalfd_siginfo si;
	int wstatus;
	pid_t pid;

	for (;;) {
		while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
			session_reaped(s, pid, wstatus);
		if (!s->pid)
			break;
		session_events(s, &p[2]);
		if (poll(p, sizeof(p) / sizeof(p[0]), -1) < 0)
			continue;
		while (p[0].revents && read(sfd, &si, sizeof(si)) > 0)
			;
		if (p[1].revents)
			on_control(s);
		session_io(s, &p[2]);
	}
	session_flush(s);
	return s->status;
}

/* The run's command as a session; exits with its status if it cannot start. */
static void
start_command(struct run *r, struct session *s, const int streams[3])
{
	struct session_cmd cmd = {
		.argv = r->argv, .envp = r->envp, .cwd = r->cwd,
		.tty = r->tty, .rows = r->rows, .cols = r->cols,
	};
	char why[512];
	int status;

	r->argv[r->nargs] = NULL;
	r->envp[r->nenv] = NULL;
	status = session_start(s, &cmd, streams, why, sizeof(why));
	if (status) {
		say("capsa: %s\n", why);
		finish(status);
	}
	err_fd = 2;	/* the session owns the streams now */
}

int
main(void)
{
	static struct run r;
	static struct session s;
	char staging[64];
	int fds[3], staging_fd, sfd, exec_fd = -1;

	umask(0);
	signal(SIGPIPE, SIG_IGN);	/* a relay's reader gone is an error return */
	env_mount();
	if (load_run(&r) < 0) {
		say("capsa-init: no run configuration\n");
		finish(125);
	}
	ctrl_fd = connect_host(PORT_CONTROL);
	fds[0] = connect_host(PORT_STDIN);
	fds[1] = connect_host(PORT_STDOUT);
	fds[2] = err_fd = connect_host(PORT_STDERR);
	if (r.exec && (exec_fd = exec_listen()) < 0) {
		say("capsa-init: cannot listen for capsa exec: %s\n", strerror(errno));
		finish(125);
	}
	send_msg(MSG_READY, 0);
	staging_fd = r.ncopies ? open(RUN_COPY_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	snprintf(staging, sizeof(staging), "/proc/self/fd/%d", staging_fd);
	if (r.rootfs) {
		char why[256];

		root_rw = !strcmp(r.rootfs, "rw");
		if (rootfs_enter(root_rw, why, sizeof(why)) < 0) {
			say("capsa: --rootfs: %s\n", why);
			root_rw = false;
			finish(125);
		}
	}
	env_finish(r.hostname ? r.hostname : "capsa", root_rw);
	r.netuser.root_rw = root_rw;
	if (mount_shares() < 0 || place_copies(&r, r.rootfs ? staging : RUN_COPY_DIR) < 0 ||
	    configure_net(&r) < 0)
		finish(125);
	if (staging_fd >= 0)
		close(staging_fd);
	umask(022);
	relay_priority();	/* before the exec server: its relays too */
	/* Execs see what the main command sees: the root, the copies, the network. */
	if (exec_fd >= 0)
		exec_server = exec_serve(exec_fd);

	if ((sfd = child_events()) < 0) {
		say("capsa-init: signalfd: %s\n", strerror(errno));
		finish(125);
	}
	start_command(&r, &s, fds);
	finish(wait_command(&s, sfd));
}
