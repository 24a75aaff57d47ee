// SPDX-License-Identifier: MIT
/*
 * exec.c - `capsa exec` in the guest: more commands in the running sandbox.
 *
 * Theory of operation. With --control the init listens on vsock port
 * PORT_EXEC before it reports ready (capsa joins each client of the
 * --control socket to a connection there, bytes unchanged), and once the
 * root, the copies and the network are in place it forks the exec server.
 * Three kinds of process then serve an exec, so that none of them ever
 * waits on another and a broken one takes down nothing but its own exec:
 *
 *   exec server   accepts connections from the host (CID 2 only) and forks
 *                 one mux per connection; on SIGTERM (the main command
 *                 ended) it ends every mux and then itself.
 *   mux           speaks the protocol of exec_wire.h with the client: the
 *                 handshake, START, then frames both ways, never blocking
 *                 on any fd; stdin, stdout and stderr cross to the relay
 *                 over socketpairs, signals and window sizes as the main
 *                 command's control messages (struct capsa_msg). When the
 *                 relay is gone and its output is out: EXIT. When the
 *                 client goes away, on --timeout and at the sandbox's end:
 *                 every process of the exec is killed.
 *   relay         runs the command as a session (session.c), with exactly
 *                 the I/O contract of the main command, the socketpairs
 *                 as its streams; it exits with the command's status.
 *
 * Each exec's processes are in a cgroup of their own when cgroup2 is
 * there, so killing the exec (cgroup.kill) reaches whatever it started,
 * daemons included; else its process group. An exec that ends normally
 * leaves its background processes running: a server one exec starts is
 * there for the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "exec.h"
#include "exec_int.h"
#include "proto.h"
#include "session.h"

#define MAX_EXECS 256
#define HELLO_WAIT_MS 10000
#define CGROUP_ROOT "/sys/fs/cgroup"

/* The default environment, as capsa gives the main command (boot/payload.c). */
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A signalfd for @sigs, blocked first so that none is lost. */
static int
signal_fd(const int *sigs, int n)
{
	sigset_t set;

	sigemptyset(&set);
	for (int i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* ---- killing an exec -------------------------------------------------- */

/* The cgroup of exec @id, created; false where there is no cgroup2. */
static bool
exec_cgroup(char *dir, size_t len, pid_t id)
{
	snprintf(dir, len, CGROUP_ROOT "/capsa-exec-%d", (int)id);
	return mkdir(dir, 0755) == 0;
}

static int
write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, s, strlen(s));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/**
 * kill_exec() - every process of the exec: its cgroup, or the process group @pgid.
 */
void
kill_exec(const char *cgroup, pid_t pgid)
{
	char path[96];

	if (cgroup[0]) {
		snprintf(path, sizeof(path), "%s/cgroup.kill", cgroup);
		if (write_str(path, "1") == 0)
			return;
	}
	if (pgid > 0)
		kill(-pgid, SIGKILL);
}

/* ---- the relay: the command as a session ------------------------------- */

static void
relay_control(struct session *s, int ctl, const char *cgroup)
{
	struct capsa_msg m;
	ssize_t n = read(ctl, &m, sizeof(m));

	if (n == 0) {			/* the mux is gone: so is the exec */
		kill_exec(cgroup, s->pid);
		_exit(125);
	}
	if (n != sizeof(m))
		return;
	if (m.type == MSG_WINSIZE)
		session_resize(s, (uint32_t)m.value);
	if (m.type == MSG_SIGNAL && m.value > 0 && m.value < NSIG)
		session_signal(s, m.value);
}

/*
 * The relay process: start the command in the exec's cgroup, serve it as
 * the init serves the main command, and exit with its status once its
 * output is out. A command that cannot start says why on its stderr, as
 * the main command's would.
 */
static void __attribute__((noreturn))
relay_main(const struct session_cmd *cmd, int ctl, const int streams[3], const char *cgroup)
{
	static const int sigs[] = { SIGCHLD };
	static struct session s;
	struct pollfd p[2 + SESSION_NFDS] = { { .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
	char why[512], path[96];
	int status, wstatus;
	pid_t pid;

	p[0].fd = signal_fd(sigs, 1);
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	if (cgroup[0])
		(void)write_str(path, "0");	/* its children are born in it */
	status = session_start(&s, cmd, streams, why, sizeof(why));
	if (status) {
		dprintf(streams[2], "capsa: %s\n", why);
		_exit(status);
	}
	while (s.pid) {
		session_events(&s, &p[2]);
		if (poll(p, 2 + SESSION_NFDS, -1) < 0)
			continue;
		if (p[1].revents)
			relay_control(&s, ctl, cgroup);
		session_io(&s, &p[2]);
		while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0)
			session_reaped(&s, pid, wstatus);
		while (p[0].revents && read(p[0].fd, why, sizeof(why)) > 0)
			;
	}
	session_flush(&s);
	_exit(s.status);
}

/* ---- starting an exec -------------------------------------------------- */

/* "CAPSA-EXEC 1\n" from the client, answered "OK 1\n"; else the end. */
static void
handshake(int sock)
{
	char line[sizeof(WIRE_HELLO)];
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int64_t until = now_ms() + HELLO_WAIT_MS;
	size_t n = 0;

	while (n < sizeof(WIRE_HELLO) - 1) {
		if (poll(&p, 1, (int)MAX(until - now_ms(), 0)) <= 0 || read(sock, line + n, 1) != 1)
			_exit(0);
		if (line[n] != WIRE_HELLO[n])
			_exit(0);	/* not our protocol, or not this version */
		n++;
	}
	if (write(sock, WIRE_OK, strlen(WIRE_OK)) != (ssize_t)strlen(WIRE_OK))
		_exit(0);
}

/* The first frame, which must be START. */
static void
read_start(struct mux *m, struct wire_start *st)
{
	struct pollfd p = { .fd = m->sock, .events = POLLIN };
	struct wire_frame f;
	const char *why;
	uint8_t *at;
	int r;

	while ((r = wire_rx_next(&m->rx, &f, &why)) == 0) {
		size_t room = wire_rx_space(&m->rx, &at);
		ssize_t n;

		poll(&p, 1, -1);
		n = room ? read(m->sock, at, room) : -1;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			_exit(0);
		m->rx.len += (size_t)n;
	}
	if (r < 0)
		mux_error(m, "%s", why);
	if (f.type != W_START)
		mux_error(m, "the first frame is not START");
	if (wire_parse_start(f.data, f.len, st, &why) < 0)
		mux_error(m, "%s", why);
}

/* The main command's defaults (boot/payload.c), then the exec's: later wins. */
static char **
build_env(const struct wire_start *st)
{
	static char host[80] = "HOSTNAME=";
	char **env = calloc(st->nenv + 4, sizeof(*env));
	unsigned n = 3;

	if (!env)
		return NULL;
	gethostname(host + 9, sizeof(host) - 10);
	env[0] = DEFAULT_PATH;
	env[1] = "HOME=/root";
	env[2] = host;
	for (unsigned i = 0; i < st->nenv; i++) {
		size_t klen = strcspn(st->env[i], "=") + 1;
		unsigned j = 0;

		while (j < n && strncmp(env[j], st->env[i], klen))
			j++;
		env[j] = st->env[i];
		n += j == n;
	}
	return env;
}

/* Four socketpairs: [0] the mux's ends, [1] the relay's; ctl, in, out, err. */
static int
relay_pairs(int mine[4], int theirs[4])
{
	int sv[2];

	for (int i = 0; i < 4; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -1;
		mine[i] = sv[0];
		theirs[i] = sv[1];
		fcntl(sv[0], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

static void
start_relay(struct mux *m, const struct wire_start *st)
{
	struct session_cmd cmd = {
		.argv = st->argv, .envp = build_env(st), .cwd = st->cwd,
		.tty = st->tty, .rows = st->rows, .cols = st->cols,
	};
	int mine[4], theirs[4];

	if (!cmd.envp || relay_pairs(mine, theirs) < 0 || (m->relay = fork()) < 0)
		mux_error(m, "cannot start the command: %s", strerror(errno));
	if (m->relay == 0) {
		close(m->sock);
		for (int i = 0; i < 4; i++)
			close(mine[i]);
		relay_main(&cmd, theirs[0], &theirs[1], m->cgroup);
	}
	for (int i = 0; i < 4; i++)
		close(theirs[i]);
	m->ctl = mine[0];
	m->in = mine[1];
	m->out[0] = mine[2];
	m->out[1] = mine[3];
	free(cmd.envp);
}

/* One exec, start to end, in its own process. */
static void __attribute__((noreturn))
mux_main(int sock)
{
	static const int sigs[] = { SIGCHLD, SIGTERM };
	static struct mux m;
	struct wire_start st;
	int sfd = signal_fd(sigs, 2);

	m = (struct mux){ .sock = sock, .ctl = -1, .in = -1, .out = { -1, -1 }, .status = -1,
			  .rx = { .from_client = true } };
	handshake(sock);
	fcntl(sock, F_SETFL, O_NONBLOCK);
	m.inq = malloc(WIRE_WINDOW);
	if (!m.inq || sfd < 0)
		mux_error(&m, "out of memory");
	read_start(&m, &st);
	if (!exec_cgroup(m.cgroup, sizeof(m.cgroup), getpid()))
		m.cgroup[0] = 0;
	if (st.timeout_s)
		m.deadline = now_ms() + (int64_t)st.timeout_s * 1000;
	start_relay(&m, &st);
	wire_start_free(&st);
	mux_loop(&m, sfd);
}

/* ---- the exec server --------------------------------------------------- */

/* A connection from the host: a mux of its own, if there is room. */
static void
on_connect(int lfd, int sfd, unsigned *nmux)
{
	struct sockaddr_vm peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
	pid_t pid;

	if (fd < 0)
		return;
	/* Only capsa connects: a guest process reaching this port is refused. */
	if (peer.svm_cid != HOST_CID || *nmux >= MAX_EXECS || (pid = fork()) < 0) {
		close(fd);
		return;
	}
	if (pid == 0) {
		close(lfd);
		close(sfd);
		mux_main(fd);
	}
	close(fd);
	++*nmux;
}

/*
 * The exec server's loop. SIGTERM: the sandbox ends; every mux tells its
 * client so (they share this process group), then the server goes.
 */
static void __attribute__((noreturn))
server_main(int lfd)
{
	static const int sigs[] = { SIGCHLD, SIGTERM };
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .events = POLLIN } };
	struct signalfd_siginfo si;
	int sfd;
	int64_t until = 0;
	unsigned nmux = 0;

	setpgid(0, 0);
	/* Nothing of the init's: its streams must close when the init closes them. */
	if (lfd != 3) {
		dup2(lfd, 3);
		close(lfd);
		lfd = p[0].fd = 3;
	}
	syscall(SYS_close_range, 4, ~0U, 0);
	sfd = p[1].fd = signal_fd(sigs, 2);
	for (int fd = 0; fd < 3; fd++) {
		close(fd);
		if (open("/dev/null", O_RDWR | O_CLOEXEC) != fd)
			_exit(1);
	}
	fcntl(0, F_SETFD, 0);	/* 0-2 stay open across exec */
	fcntl(1, F_SETFD, 0);
	fcntl(2, F_SETFD, 0);
	while (!until || (nmux && now_ms() < until)) {
		if (poll(p, until ? 1 : 2, until ? 10 : -1) < 0)
			continue;
		if (p[0].revents && !until)
			on_connect(lfd, sfd, &nmux);
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo == SIGTERM && !until) {
				until = now_ms() + STOP_WAIT_MS - 100;
				p[0].fd = sfd;
				close(lfd);
				kill(0, SIGTERM);
			}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			nmux--;
	}
	_exit(0);
}

/**
 * exec_listen() - listen on PORT_EXEC; before the init reports ready, so
 * that capsa's first connection finds the port open (it waits in the
 * backlog until exec_serve()).
 *
 * Return: the listening socket, or -1.
 */
int
exec_listen(void)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = PORT_EXEC,
	};
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 128) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

/**
 * exec_serve() - serve execs from now on: the root, the copies and the
 * network are what the main command gets.
 * @lfd: from exec_listen(); closed here.
 *
 * Return: the exec server's pid, or -1.
 */
pid_t
exec_serve(int lfd)
{
	pid_t pid = fork();

	if (pid == 0)
		server_main(lfd);
	close(lfd);
	return pid;
}

/**
 * exec_stop() - the sandbox ends: every running exec's client hears so,
 * then the server is gone (at most STOP_WAIT_MS).
 * @server: from exec_serve(), or 0 / -1 for none.
 */
void
exec_stop(pid_t server)
{
	int64_t until = now_ms() + STOP_WAIT_MS;

	if (server <= 0 || kill(server, SIGTERM) < 0)
		return;
	while (waitpid(server, NULL, WNOHANG) == 0 && now_ms() < until)
		usleep(10000);
}
