// SPDX-License-Identifier: MIT
/*
 * init.c - PID 1 inside the capsa guest.
 *
 * Mounts the basic filesystems, reads the run configuration capsa put in
 * the initramfs, puts copied files in place, connects the control and
 * stdio streams to the host over vsock, runs the command, reaps every
 * child, and reports the command's exit status. capsa ends the VM when the
 * status arrives; rebooting is only the fallback.
 *
 * Without a terminal the command's stdin, stdout and stderr are the vsock
 * streams themselves (no copy in the guest). With one, they are a pty and
 * init pumps bytes between its master and the streams.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "init.h"
#include "netuser.h"
#include "proto.h"
#include "rootfs.h"

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
};

static int ctrl_fd = -1, err_fd = 2;
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

static void
mount_basics(void)
{
	static const struct { const char *src, *dst, *type; unsigned long flags; } m[] = {
		{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "sys", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "dev", "/dev", "devtmpfs", MS_NOSUID },
		{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC },
		{ "tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV },
		{ "run", "/run", "tmpfs", MS_NOSUID | MS_NODEV },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		mkdir(m[i].dst, 0755);
		if (mount(m[i].src, m[i].dst, m[i].type, m[i].flags, NULL) < 0)
			say("capsa-init: mount %s: %s\n", m[i].dst, strerror(errno));
	}
	chmod("/tmp", 01777);
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

/* Only the loopback interface is up unless capsa configured a network. */
static void
loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
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

/*
 * The child: its own session, stdio on the streams (or the pty), the
 * configured environment and directory, then exec. On failure the errno
 * goes back to init through @report (close-on-exec, so a successful exec
 * closes it).
 */
static void __attribute__((noreturn))
run_child(struct run *r, const int fds[3], const char *slave, int report)
{
	int e;

	setsid();
	for (int i = 0; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigprocmask(SIG_SETMASK, &(sigset_t){ 0 }, NULL);
	if (slave ? tty_attach(slave) < 0 :
	    dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0)
		_exit(125);
	if (r->cwd && chdir(r->cwd) < 0) {
		e = -errno;
		(void)!write(report, &e, sizeof(e));
		_exit(125);
	}
	r->envp[r->nenv] = NULL;
	environ = r->envp;
	execvp(r->argv[0], r->argv);
	e = errno;
	(void)!write(report, &e, sizeof(e));
	_exit(127);
}

/* What exec said: 0 when it succeeded, else the status to report. */
static int
exec_result(int report, const struct run *r)
{
	int e = 0;

	if (read(report, &e, sizeof(e)) != sizeof(e))
		return 0;
	if (e < 0) {
		say("capsa: -w %s: %s\n", r->cwd, strerror(-e));
		return 125;
	}
	if (e == ENOENT) {
		say("capsa: %s: command not found\n", r->argv[0]);
		return 127;
	}
	say("capsa: %s: %s\n", r->argv[0], strerror(e));
	return 126;
}

struct session {
	pid_t child;
	int sfd;		/* signalfd for SIGCHLD */
	int master;		/* pty master, or -1 */
	struct pump to_tty, from_tty;
};

static void
on_control(struct session *s)
{
	struct capsa_msg m;
	ssize_t n = read(ctrl_fd, &m, sizeof(m));
	pid_t fg;

	if (n == 0)
		finish(125);	/* capsa is gone */
	if (n != sizeof(m))
		return;
	if (m.type == MSG_WINSIZE && s->master >= 0)
		tty_resize(s->master, (uint32_t)m.value);
	if (m.type != MSG_SIGNAL || m.value <= 0 || m.value >= NSIG)
		return;
	/* On a terminal the signal is for the foreground job, as from the keyboard. */
	fg = s->master >= 0 ? tcgetpgrp(s->master) : -1;
	kill(fg > 0 ? -fg : -s->child, m.value);
}

static int
reap(pid_t child, bool *done)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == child) {
			*done = true;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
	return 0;
}

/* Reap every child (init inherits orphans) and pump the pty, if any. */
static int
wait_command(struct session *s)
{
	struct pollfd p[6] = { { .fd = s->sfd, .events = POLLIN },
			       { .fd = ctrl_fd, .events = POLLIN } };
	bool done = false;
	int status = reap(s->child, &done);

	while (!done) {
		struct signalfd_siginfo si;

		if (s->master >= 0) {
			pump_events(&s->to_tty, &p[2], &p[3]);
			pump_events(&s->from_tty, &p[4], &p[5]);
		}
		if (poll(p, s->master >= 0 ? 6 : 2, -1) < 0)
			continue;
		if (p[0].revents)
			(void)!read(s->sfd, &si, sizeof(si));
		if (p[1].revents)
			on_control(s);
		if (s->master >= 0) {
			pump_io(&s->to_tty, p[2].revents, p[3].revents);
			if (!pump_io(&s->from_tty, p[4].revents, p[5].revents))
				s->from_tty.in_eof = true;	/* capsa's stdout is gone */
		}
		status = reap(s->child, &done);
	}
	if (s->master >= 0)
		pump_drain(&s->from_tty);
	return status;
}

static void
start_pumps(struct session *s, const int fds[3])
{
	s->to_tty = (struct pump){ .in = fds[0], .out = s->master, .eof_byte = 4 };
	s->from_tty = (struct pump){ .in = s->master, .out = fds[1] };
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
}

static pid_t
spawn(struct run *r, struct session *s, const int fds[3])
{
	char slave[32];
	int report[2], status;
	sigset_t chld;
	pid_t child;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	s->sfd = signalfd(-1, &chld, SFD_CLOEXEC);
	s->master = r->tty ? tty_open(r->rows, r->cols, slave) : -1;
	if (pipe2(report, O_CLOEXEC) < 0 || s->sfd < 0 || (r->tty && s->master < 0) ||
	    (child = fork()) < 0) {
		say("capsa-init: cannot start the command: %s\n", strerror(errno));
		finish(125);
	}
	if (child == 0)
		run_child(r, fds, r->tty ? slave : NULL, report[1]);
	close(report[1]);
	status = exec_result(report[0], r);
	close(report[0]);
	if (status) {
		waitpid(child, NULL, 0);
		finish(status);
	}
	return child;
}

int
main(void)
{
	static struct run r;
	struct session s = { 0 };
	char staging[64];
	int fds[3], staging_fd;

	umask(0);
	mount_basics();
	if (load_run(&r) < 0) {
		say("capsa-init: no run configuration\n");
		finish(125);
	}
	if (r.hostname)
		sethostname(r.hostname, strlen(r.hostname));
	loopback_up();
	ctrl_fd = connect_host(PORT_CONTROL);
	fds[0] = connect_host(PORT_STDIN);
	fds[1] = connect_host(PORT_STDOUT);
	fds[2] = err_fd = connect_host(PORT_STDERR);
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
	r.netuser.root_rw = root_rw;
	if (place_copies(&r, r.rootfs ? staging : RUN_COPY_DIR) < 0 || configure_net(&r) < 0)
		finish(125);
	if (staging_fd >= 0)
		close(staging_fd);
	umask(022);

	s.child = spawn(&r, &s, fds);
	if (s.master >= 0) {
		start_pumps(&s, fds);
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	close(fds[2]);
	err_fd = 2;
	finish(wait_command(&s));
}
