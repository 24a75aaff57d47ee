// SPDX-License-Identifier: MIT
/*
 * bstream - byte streams for the throughput benchmarks, timed where the
 * bytes arrive.
 *
 *   bstream sink [BYTES]                 read stdin to EOF (or BYTES, then exit)
 *   bstream recv-vsock PORT              accept one vsock stream, read it to EOF
 *   bstream recv-unix PATH               the same on a unix socket
 *   bstream send-vsock CID PORT BYTES    connect and send BYTES zeros
 *   bstream send-unix PATH PORT BYTES    the same through a Firecracker-style
 *                                        bridge: "CONNECT PORT\n", "OK ..."
 *
 * Receivers print "bstream: bytes=N ms=T MBps=R" to stdout (or -o FILE),
 * T from the first byte to the last, R in 10^6 bytes per second; listeners
 * say "bstream: listening" on stderr. Senders retry the connection for up
 * to 60 s (the peer may not listen yet), send, shut down their write side
 * and wait for the peer to close, so they never end before the bytes are
 * delivered. Exit 0 on success, 1 on failure.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define CHUNK (1024 * 1024)
#define RETRY_MS 20
#define RETRY_FOR_MS 60000

static const char *report_path;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
die(const char *what)
{
	fprintf(stderr, "bstream: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Read @fd until EOF or @limit bytes (0: no limit); report the rate. */
static int
receive(int fd, uint64_t limit)
{
	static char buf[CHUNK];
	uint64_t got = 0;
	double t0 = 0, t1 = 0;
	FILE *f = stdout;

	while (!limit || got < limit) {
		size_t want = limit && limit - got < sizeof(buf) ? (size_t)(limit - got) : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		if (!got)
			t0 = now_ms();
		got += (uint64_t)n;
		t1 = now_ms();
	}
	if (report_path && !(f = fopen(report_path, "w")))
		die(report_path);
	fprintf(f, "bstream: bytes=%llu ms=%.1f MBps=%.1f\n", (unsigned long long)got, t1 - t0,
		t1 > t0 ? got / ((t1 - t0) * 1e3) : 0.0);
	fclose(f);
	return limit && got < limit;
}

static int
vsock_socket(unsigned cid, unsigned port, struct sockaddr_vm *a)
{
	*a = (struct sockaddr_vm){ .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	return socket(AF_VSOCK, SOCK_STREAM, 0);
}

static int
unix_socket(const char *path, struct sockaddr_un *a)
{
	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return socket(AF_UNIX, SOCK_STREAM, 0);
}

static int
accept_one(int s, struct sockaddr *a, socklen_t len)
{
	int c;

	if (s < 0 || bind(s, a, len) < 0 || listen(s, 1) < 0)
		die("listen");
	fprintf(stderr, "bstream: listening\n");
	c = accept(s, NULL, NULL);
	if (c < 0)
		die("accept");
	close(s);
	return c;
}

/* One connection attempt; with @port >= 0 through the bridge's handshake. */
static int
try_connect(const char *path, unsigned cid, long port)
{
	union { struct sockaddr_vm v; struct sockaddr_un u; } a;
	char line[64];
	size_t n = 0;
	int s = path ? unix_socket(path, &a.u) : vsock_socket(cid, (unsigned)port, &a.v);

	if (s < 0)
		die("socket");
	if (connect(s, (struct sockaddr *)&a, path ? sizeof(a.u) : sizeof(a.v)) < 0)
		goto fail;
	if (!path)
		return s;
	dprintf(s, "CONNECT %ld\n", port);
	while (n < sizeof(line) - 1 && read(s, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	if (!strncmp(line, "OK ", 3))
		return s;
fail:
	close(s);
	return -1;
}

static int
send_zeros(const char *path, unsigned cid, long port, uint64_t bytes)
{
	static char buf[CHUNK];
	double give_up = now_ms() + RETRY_FOR_MS;
	int s;

	while ((s = try_connect(path, cid, port)) < 0) {
		if (now_ms() > give_up)
			die("connect");
		usleep(RETRY_MS * 1000);
	}
	while (bytes) {
		ssize_t n = write(s, buf, bytes < sizeof(buf) ? (size_t)bytes : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		bytes -= (uint64_t)n;
	}
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof(buf)) > 0)
		;
	return 0;
}

int
main(int argc, char **argv)
{
	union { struct sockaddr_vm v; struct sockaddr_un u; } a;

	if (argc > 2 && !strcmp(argv[1], "-o")) {
		report_path = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc >= 2 && argc <= 3 && !strcmp(argv[1], "sink"))
		return receive(0, argc == 3 ? strtoull(argv[2], NULL, 0) : 0);
	if (argc == 3 && !strcmp(argv[1], "recv-vsock")) {
		int s = vsock_socket(VMADDR_CID_ANY, (unsigned)atoi(argv[2]), &a.v);

		return receive(accept_one(s, (struct sockaddr *)&a.v, sizeof(a.v)), 0);
	}
	if (argc == 3 && !strcmp(argv[1], "recv-unix")) {
		int s = unix_socket(argv[2], &a.u);

		unlink(argv[2]);
		return receive(accept_one(s, (struct sockaddr *)&a.u, sizeof(a.u)), 0);
	}
	if (argc == 5 && !strcmp(argv[1], "send-vsock"))
		return send_zeros(NULL, (unsigned)atoi(argv[2]), atol(argv[3]), strtoull(argv[4], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "send-unix"))
		return send_zeros(argv[2], 0, atol(argv[3]), strtoull(argv[4], NULL, 0));
	fprintf(stderr, "bstream: bad arguments (see the comment at the top of bstream.c)\n");
	return 2;
}
