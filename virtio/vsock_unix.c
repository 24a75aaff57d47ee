// SPDX-License-Identifier: MIT
/*
 * vsock_unix.c - the host side of vsock as Firecracker exposes it, so that
 * existing clients work unchanged:
 *
 *   host to guest: connect to the unix socket PATH, send "CONNECT <port>\n",
 *                  read "OK <host_port>\n", then bytes flow;
 *   guest to host: a guest connection to CID 2 port P is joined to the unix
 *                  socket PATH_P; nobody listening there means a RST.
 *
 * Theory of operation: capsa jails itself, and the jailed process can
 * neither create sockets nor resolve paths. So capsa binds PATH before the
 * jail, and the broker (net/broker.c), a process outside the jail, makes
 * the PATH_<number> connections for it (virtio/vsock_net.c) and removes
 * PATH once capsa is gone, however it ended. The jailed VMM only ever
 * accept()s on the listener it already holds and receives ready-made
 * sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vsock.h"
#include "vsock_int.h"
#include "../vmm/util.h"

#define MAX_HANDSHAKES 64
#define HANDSHAKE_MAX 32		/* "CONNECT 4294967295\n" fits */

struct handshake {
	struct vsock_bridge *b;
	int fd;
	struct ev ev;
	char line[HANDSHAKE_MAX + 1];
	unsigned len;
};

struct vsock_bridge {
	struct vsock_dev *d;
	int listen_fd;
	struct ev listen_ev;
	struct handshake *hs[MAX_HANDSHAKES];
	unsigned n_hs;
};

/* The guest accepted a host-initiated connection: tell the unix client, as Firecracker does. */
static void
bridge_opened(struct conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->host_port);

	/* write(), not send(): one syscall fewer for the jail to allow. */
	if (write(c->in_fd, ok, (size_t)n) != n)
		conn_owe(c, OWE_RST);
}

static void
handshake_end(struct handshake *h, bool close_fd)
{
	struct vsock_bridge *b = h->b;

	loop_del(b->d->loop, &h->ev);
	if (close_fd) {
		close(h->fd);
		vsock_fd_closed(b->d);
	}
	for (unsigned i = 0; i < b->n_hs; i++)
		if (b->hs[i] == h)
			b->hs[i] = b->hs[--b->n_hs];
	loop_free_later(b->d->loop, h);
}

/* "CONNECT <port>\n": decimal, no sign, at most 32 bits. */
static bool
parse_connect(const char *line, uint32_t *port)
{
	uint64_t v;
	char num[16];
	size_t n;

	if (strncmp(line, "CONNECT ", 8))
		return false;
	n = strcspn(line + 8, "\n");
	if (n == 0 || n >= sizeof(num) || line[8 + n] != '\n')
		return false;
	memcpy(num, line + 8, n);
	num[n] = 0;
	if (parse_u64(num, 0, UINT32_MAX, &v) < 0)
		return false;
	*port = (uint32_t)v;
	return true;
}

/*
 * Read what there is of the CONNECT line, a byte at a time: whatever
 * follows the newline stays in the socket for the guest.
 *
 * Return: true once the line is complete, false while more must come;
 * *bad is set when the client broke the protocol or went away.
 */
static bool
read_line(struct handshake *h, bool *bad)
{
	*bad = false;
	while (h->len < HANDSHAKE_MAX) {
		ssize_t n = read(h->fd, h->line + h->len, 1);

		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0)
			break;
		if (h->line[h->len++] == '\n') {
			h->line[h->len] = 0;
			return true;
		}
	}
	*bad = true;
	return false;
}

/* A unix client wrote (part of) its CONNECT line. */
static void
on_handshake(struct ev *ev, uint32_t events)
{
	struct handshake *h = ev->opaque;
	struct vsock_bridge *b = h->b;
	uint32_t port = 0;
	struct conn *c;
	bool bad;

	(void)events;
	if (!read_line(h, &bad)) {
		if (bad)
			handshake_end(h, true);
		return;
	}
	vsock_lock(b->d);
	/* The connection takes over the fd: stop watching it as a handshake first. */
	handshake_end(h, false);
	c = parse_connect(h->line, &port) ? conn_connect(b->d, port, h->fd) : NULL;
	log_info("vsock: host connection to guest port %u: %s", port, c ? "requested" : "refused");
	if (!c)
		close(h->fd);
	else
		c->opened = bridge_opened;
	vsock_unlock(b->d);
}

static void
on_accept(struct ev *ev, uint32_t events)
{
	struct vsock_bridge *b = ev->opaque;
	int fd;

	(void)events;
	while ((fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0 ||
	       errno == EINTR) {
		if (fd < 0)
			continue;
		struct handshake *h = b->n_hs < MAX_HANDSHAKES ? calloc(1, sizeof(*h)) : NULL;

		if (!h) {
			close(fd);	/* too many clients still handshaking */
			continue;
		}
		h->b = b;
		h->fd = fd;
		b->hs[b->n_hs++] = h;
		if (loop_add(b->d->loop, &h->ev, EV_HOST_IO, fd, EPOLLIN, on_handshake, h) < 0)
			handshake_end(h, true);
	}
	/* Out of fds: stop accepting (else the ready listener spins the loop)
	 * until a bridge connection closes. */
	if (errno == EMFILE || errno == ENFILE)
		loop_set(b->d->loop, &b->listen_ev, 0);
}

/**
 * vsock_fd_closed() - a host socket was closed: accept again on every
 * listener the fd limit had stopped.
 */
void
vsock_fd_closed(struct vsock_dev *d)
{
	for (unsigned i = 0; i < d->nlisten; i++)
		loop_set(d->loop, d->listen[i], EPOLLIN);
}

/**
 * bridge_bind() - create the unix socket @path (Firecracker-style), before
 * the broker starts and the jail closes: it must not exist.
 * @path: as given.
 * @abs:  the absolute path, filled in (the broker removes it at exit).
 * @len:  its size.
 *
 * Return: the listening socket, -EEXIST when @path exists, -ENAMETOOLONG,
 * or -errno.
 */
int
bridge_bind(const char *path, char *abs, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, err = 0;

	/* Room for "_4294967295" after it, for the guest-to-host sockets. */
	if (len < sizeof(a.sun_path) || path_absolute(path, abs, sizeof(a.sun_path) - 11) < 0)
		return -ENAMETOOLONG;
	strcpy(a.sun_path, abs);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		err = errno == EADDRINUSE ? -EEXIST : -errno;	/* PATH is not ours: leave it */
	else if (listen(fd, 128) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/**
 * vsock_bridge() - serve the unix socket bridge_bind() made.
 * @d:  the device; its broker (vsock_broker()) makes the PATH_<port> links.
 * @fd: the listening socket.
 *
 * Return: 0 or -errno.
 */
int
vsock_bridge(struct vsock_dev *d, int fd)
{
	struct vsock_bridge *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->d = d;
	b->listen_fd = fd;
	err = d->nlisten < MAX_LISTEN ?
	      loop_add(d->loop, &b->listen_ev, EV_LISTEN, fd, EPOLLIN, on_accept, b) : -ENOSPC;
	if (err) {
		free(b);
		return err;
	}
	d->listen[d->nlisten++] = &b->listen_ev;
	d->bridge = b;
	return 0;
}
