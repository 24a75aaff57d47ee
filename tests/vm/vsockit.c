// SPDX-License-Identifier: MIT
/*
 * vsockit - a small nc for the vsock tests, on both sides of capsa.
 *
 *   vsockit listen-vsock PORT          accept one guest connection; relay stdio
 *   vsockit connect-vsock CID PORT     connect from the guest; relay stdio
 *   vsockit listen-unix PATH           accept one unix connection; relay stdio
 *   vsockit connect-unix PATH [PORT]   connect; with PORT, do the Firecracker
 *                                      "CONNECT PORT" handshake first
 *   vsockit echo-vsock PORT N          serve N concurrent echo connections
 *   vsockit echo-unix PATH N           the same on a unix socket
 *   vsockit parallel-unix PATH PORT N BYTES
 *                                      N concurrent CONNECTs through PATH, each
 *                                      echoing BYTES; checks every byte
 *   vsockit parallel-vsock PORT N BYTES
 *                                      the same from the guest to CID 2
 *   vsockit gen SEED BYTES             deterministic pseudo-random bytes
 *
 * Relaying: stdin goes to the socket (then a write shutdown), the socket to
 * stdout until EOF; both directions run to their end. Listeners say
 * "vsockit: listening" on stderr once ready. -d USEC before a command makes the reader sleep after
 * every 4 KiB (a slow reader). Exit 0 on success, 1 on any failure.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static unsigned delay_us;

static int
die(const char *what)
{
	fprintf(stderr, "vsockit: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
vsock_addr(int cid, unsigned port, struct sockaddr_vm *a)
{
	memset(a, 0, sizeof(*a));
	a->svm_family = AF_VSOCK;
	a->svm_cid = (unsigned)cid;
	a->svm_port = port;
	return socket(AF_VSOCK, SOCK_STREAM, 0);
}

static int
unix_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return socket(AF_UNIX, SOCK_STREAM, 0);
}

/* Says "vsockit: listening" on stderr once clients can connect. */
static int
listen_on(int s, struct sockaddr *a, socklen_t len)
{
	if (s < 0 || bind(s, a, len) < 0 || listen(s, 128) < 0)
		die("listen");
	fprintf(stderr, "vsockit: listening\n");
	return s;
}

static int
listen_vsock(unsigned port)
{
	struct sockaddr_vm a;
	int s = vsock_addr(-1, port, &a);

	return listen_on(s, (struct sockaddr *)&a, sizeof(a));
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un a;
	int s = unix_addr(path, &a);

	unlink(path);
	return listen_on(s, (struct sockaddr *)&a, sizeof(a));
}

/* The Firecracker handshake; returns the socket or -1. */
static int
connect_unix(const char *path, long port)
{
	struct sockaddr_un a;
	int s = unix_addr(path, &a);
	char line[64];
	size_t n = 0;

	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	if (port < 0)
		return s;
	dprintf(s, "CONNECT %ld\n", port);
	while (n < sizeof(line) - 1 && read(s, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	if (strncmp(line, "OK ", 3)) {
		errno = ECONNREFUSED;
		close(s);
		return -1;
	}
	return s;
}

static int
connect_vsock(int cid, unsigned port)
{
	struct sockaddr_vm a;
	int s = vsock_addr(cid, port, &a);

	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return s;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* stdin -> s (then shutdown), s -> stdout, until both directions are done. */
static int
relay(int s)
{
	struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = s, .events = POLLIN } };
	char buf[65536];

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0)
			return 1;
		if (p[0].revents) {
			ssize_t n = read(0, buf, sizeof(buf));

			if (n <= 0) {
				shutdown(s, SHUT_WR);
				p[0].fd = -1;
			} else if (write_all(s, buf, (size_t)n) < 0) {
				return 1;
			}
		}
		if (p[1].revents) {
			ssize_t n = read(s, buf, delay_us ? 4096 : sizeof(buf));

			if (n < 0)
				return 1;
			if (n == 0)
				p[1].fd = -1;
			else if (write_all(1, buf, (size_t)n) < 0)
				return 1;
			if (delay_us)
				usleep(delay_us);
		}
	}
	return 0;
}

static void
echo(int c)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(c, buf, sizeof(buf))) > 0)
		if (write_all(c, buf, (size_t)n) < 0)
			break;
	_exit(0);
}

static int
serve_echo(int ls, int count)
{
	int status, rc = 0;

	for (int i = 0; i < count; i++) {
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			die("accept");
		if (fork() == 0)
			echo(c);
		close(c);
	}
	while (wait(&status) > 0)
		rc |= !WIFEXITED(status) || WEXITSTATUS(status);
	return rc;
}

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int
gen(uint64_t seed, uint64_t bytes)
{
	static uint64_t buf[8192];
	uint64_t x = seed * 2654435761U + 1;

	while (bytes) {
		size_t n = bytes < sizeof(buf) ? bytes : sizeof(buf);

		for (size_t i = 0; i < sizeof(buf) / 8; i++)
			buf[i] = rnd(&x);
		if (write_all(1, (char *)buf, n) < 0)
			return 1;
		bytes -= n;
	}
	return 0;
}

/* One connection of a parallel test: send a pattern, read it back. */
static int
check_echo(int s, unsigned id, size_t bytes)
{
	char *out = malloc(bytes), *in = malloc(bytes);
	size_t got = 0;

	for (size_t i = 0; i < bytes; i++)
		out[i] = (char)(id * 31 + i * 7);
	if (fork() == 0)
		_exit(write_all(s, out, bytes) ? 1 : (shutdown(s, SHUT_WR), 0));
	while (got < bytes) {
		ssize_t n = read(s, in + got, bytes - got);

		if (n <= 0)
			return 1;
		got += (size_t)n;
	}
	return memcmp(in, out, bytes) != 0;
}

static int
parallel(const char *path, long port, int vsock, int n, size_t bytes)
{
	int status, fails = 0;

	for (int i = 0; i < n; i++) {
		if (fork() == 0) {
			int s = vsock ? connect_vsock(2, (unsigned)port) : connect_unix(path, port);

			_exit(s < 0 ? 2 : check_echo(s, (unsigned)i, bytes));
		}
	}
	while (wait(&status) > 0)
		fails += !WIFEXITED(status) || WEXITSTATUS(status);
	printf("%d of %d connections ok\n", n - fails, n);
	return fails != 0;
}

int
main(int argc, char **argv)
{
	int s;

	if (argc > 2 && !strcmp(argv[1], "-d")) {
		delay_us = (unsigned)atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "gen") && argc == 4)
		return gen(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
	if (!strcmp(argv[1], "listen-vsock") && argc == 3) {
		s = accept(listen_vsock((unsigned)atoi(argv[2])), NULL, NULL);
		return s < 0 ? die("accept") : relay(s);
	}
	if (!strcmp(argv[1], "listen-unix") && argc == 3) {
		s = accept(listen_unix(argv[2]), NULL, NULL);
		return s < 0 ? die("accept") : relay(s);
	}
	if (!strcmp(argv[1], "connect-vsock") && argc == 4) {
		s = connect_vsock(atoi(argv[2]), (unsigned)atoi(argv[3]));
		return s < 0 ? die("connect") : relay(s);
	}
	if (!strcmp(argv[1], "connect-unix") && (argc == 3 || argc == 4)) {
		s = connect_unix(argv[2], argc == 4 ? atol(argv[3]) : -1);
		return s < 0 ? die("connect") : relay(s);
	}
	if (!strcmp(argv[1], "echo-vsock") && argc == 4)
		return serve_echo(listen_vsock((unsigned)atoi(argv[2])), atoi(argv[3]));
	if (!strcmp(argv[1], "echo-unix") && argc == 4)
		return serve_echo(listen_unix(argv[2]), atoi(argv[3]));
	if (!strcmp(argv[1], "parallel-unix") && argc == 6)
		return parallel(argv[2], atol(argv[3]), 0, atoi(argv[4]), strtoul(argv[5], NULL, 0));
	if (!strcmp(argv[1], "parallel-vsock") && argc == 5)
		return parallel(NULL, atol(argv[2]), 1, atoi(argv[3]), strtoul(argv[4], NULL, 0));
	fprintf(stderr, "vsockit: bad arguments (see the comment at the top of vsockit.c)\n");
	return 2;
}
