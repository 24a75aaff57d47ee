// SPDX-License-Identifier: MIT
/*
 * vsockhost - the host half of capsa's guest protocol (guest/proto.h) for
 * a QEMU guest with a vhost-vsock device, so that QEMU can boot capsa's own
 * init and be timed doing what capsa does.
 *
 *   vsockhost [-t] [-d SECONDS] [-r FILE] -- CMD [ARG...]
 *
 * Listens on AF_VSOCK ports PORT_CONTROL..PORT_STDERR (the guest init
 * connects to CID 2, which vhost-vsock routes to this host), then starts
 * CMD (QEMU) with stdin /dev/null and stdout on our stderr. Our stdin goes
 * to the command's stdin stream, its stdout and stderr streams to ours.
 * When the init reports MSG_EXIT, the output streams are drained (as
 * capsa's vsock_flush does) and CMD is ended: SIGKILL by default, the
 * quickest end QEMU can have; SIGTERM with -t, a clean exit (for measure
 * -m, which reads the VMM's memory at its exit). Exit status: the
 * command's, or 125 if the guest never reported one.
 *
 * -d SECONDS: give up on a guest that has not reported its status by
 * then (default 300): end CMD, exit 125. CMD also dies with vsockhost.
 *
 * -r FILE: write "ready_ms=R exit_ms=E end_ms=X" to FILE, milliseconds
 * since vsockhost started: MSG_READY, MSG_EXIT and CMD reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "../../guest/proto.h"

#define NPORTS 4
#define BUF (256 * 1024)
#define FLUSH_MS 5000

enum { P_CTL, P_IN, P_OUT, P_ERR };

static double t0;
static pid_t child;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void __attribute__((noreturn))
fail(const char *what)
{
	fprintf(stderr, "vsockhost: %s: %s\n", what, strerror(errno));
	if (child > 0)
		kill(child, SIGKILL);
	exit(125);
}

static int
listen_port(unsigned port)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port,
	};
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
		fail("vsock listen (is vhost_vsock loaded?)");
	return s;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static pid_t
start(char **argv)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null < 0 || dup2(null, 0) < 0 || dup2(2, 1) < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			_exit(125);
		execvp(argv[0], argv);
		fprintf(stderr, "vsockhost: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* One read from an output stream to @to; false at its end. */
static bool
pass(int from, int to)
{
	static char buf[BUF];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	(void)write_all(to, buf, (size_t)n);
	return true;
}

struct host {
	int lfd[NPORTS];	/* listeners */
	int fd[NPORTS];		/* accepted streams, -1 before and after */
	bool in_eof;		/* our stdin is done */
	int status;		/* from MSG_EXIT, else -1 */
	double ready_ms, exit_ms;
};

static void
on_control(struct host *h)
{
	struct capsa_msg m;
	ssize_t n = read(h->fd[P_CTL], &m, sizeof(m));

	if (n == 0) {
		close(h->fd[P_CTL]);
		h->fd[P_CTL] = -1;
	}
	if (n != sizeof(m))
		return;
	if (m.type == MSG_READY && !h->ready_ms)
		h->ready_ms = now_ms() - t0;
	if (m.type == MSG_EXIT && h->status < 0) {
		h->status = m.value;
		h->exit_ms = now_ms() - t0;
	}
}

static void
on_stdin(struct host *h)
{
	static char buf[BUF];
	ssize_t n = read(0, buf, sizeof(buf));

	if (n > 0 && write_all(h->fd[P_IN], buf, (size_t)n) == 0)
		return;
	shutdown(h->fd[P_IN], SHUT_WR);
	h->in_eof = true;
}

/*
 * Serve the streams until MSG_EXIT, CMD's end or @timeout_ms; with @flush,
 * only the output streams, until EOF on both.
 */
static void
serve(struct host *h, bool flush, int timeout_ms)
{
	double deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p[NPORTS + 1];
		int i, n = 0, idx[NPORTS + 1];

		for (i = 0; i < NPORTS; i++) {
			if (flush && i != P_OUT && i != P_ERR)
				continue;
			if (h->fd[i] < 0 && h->lfd[i] >= 0 && !flush)
				p[n] = (struct pollfd){ .fd = h->lfd[i], .events = POLLIN };
			else if (h->fd[i] >= 0 && i != P_IN)
				p[n] = (struct pollfd){ .fd = h->fd[i], .events = POLLIN };
			else
				continue;
			idx[n++] = i;
		}
		if (!flush && h->fd[P_IN] >= 0 && !h->in_eof) {
			p[n] = (struct pollfd){ .fd = 0, .events = POLLIN };
			idx[n++] = NPORTS;
		}
		if (flush && !n)
			return;
		if (now_ms() > deadline) {
			if (!flush)
				fprintf(stderr, "vsockhost: no exit status after %d s\n", timeout_ms / 1000);
			return;
		}
		if (poll(p, (nfds_t)n, flush ? 100 : 50) < 0 && errno != EINTR)
			fail("poll");
		for (int k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			i = idx[k];
			if (i == NPORTS) {
				on_stdin(h);
			} else if (h->fd[i] < 0) {
				h->fd[i] = accept4(h->lfd[i], NULL, NULL, SOCK_CLOEXEC);
				close(h->lfd[i]);
				h->lfd[i] = -1;
			} else if (i == P_CTL) {
				on_control(h);
			} else if (!pass(h->fd[i], i == P_OUT ? 1 : 2)) {
				close(h->fd[i]);
				h->fd[i] = -1;
			}
		}
		if (!flush && h->status >= 0)
			return;
		if (!flush && waitpid(child, NULL, WNOHANG) == child) {
			child = 0;
			return;
		}
	}
}

int
main(int argc, char **argv)
{
	struct host h = { .status = -1, .fd = { -1, -1, -1, -1 } };
	const char *report = NULL;
	int sig = SIGKILL, opt, deadline_s = 300;
	double end_ms;

	t0 = now_ms();
	while ((opt = getopt(argc, argv, "+td:r:")) != -1) {
		if (opt == 't')
			sig = SIGTERM;
		else if (opt == 'd')
			deadline_s = atoi(optarg);
		else if (opt == 'r')
			report = optarg;
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: vsockhost [-t] [-d SECONDS] [-r FILE] -- CMD [ARG...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < NPORTS; i++)
		h.lfd[i] = listen_port(PORT_CONTROL + (unsigned)i);
	child = start(argv + optind);
	serve(&h, false, deadline_s * 1000);
	if (h.status >= 0)
		serve(&h, true, FLUSH_MS);
	if (child > 0) {
		kill(child, sig);
		waitpid(child, NULL, 0);
	}
	end_ms = now_ms() - t0;
	if (report) {
		FILE *f = fopen(report, "w");

		if (f) {
			fprintf(f, "ready_ms=%.1f exit_ms=%.1f end_ms=%.1f\n", h.ready_ms, h.exit_ms, end_ms);
			fclose(f);
		}
	}
	if (h.status < 0) {
		fprintf(stderr, "vsockhost: the guest did not report an exit status\n");
		return 125;
	}
	return h.status;
}
