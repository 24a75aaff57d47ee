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
 * neither create sockets nor resolve paths. So the broker (vmm/broker.c),
 * forked before the jail, connects to PATH_<number> when asked and passes
 * the socket back, and removes PATH once capsa is gone however it ended.
 * The jailed VMM only ever accept()s on the listener it already holds and
 * receives ready-made sockets. The bridge is a vsock service: it owns
 * every host port but capsa's own, and opens host-to-guest connections
 * with vsock_connect().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsock.h"
#include "vsock_int.h"
#include "../guest/proto.h"
#include "../vmm/net/msg.h"
#include "../vmm/broker.h"
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
	struct vsock_service svc;	/* first: the device's view */
	struct vsock_dev *d;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	struct ev listen_ev;
	struct handshake *hs[MAX_HANDSHAKES];
	unsigned n_hs;
};

/* ---- guest to host ----------------------------------------------------- */

/*
 * A guest connection to CID 2 port @host_port: joined to the unix socket
 * PATH_<host_port>, which the broker connects. capsa's own ports are never
 * the bridge's. NULL when nobody listens there (the guest then gets a RST).
 */
static struct conn *
bridge_accept(struct vsock_service *svc, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_bridge *b = (struct vsock_bridge *)svc;

	/* The broker connects PATH_<port>; the connection waits for it (vsock_net.c). */
	if ((host_port & ~0xfU) == CAPSA_PORT_BASE)
		return NULL;
	return broker_request(b->d, BM_UNIX_OPEN, host_port, guest_port);
}

/* ---- host to guest ----------------------------------------------------- */

/* The guest accepted a host-initiated connection: tell the unix client, as
 * Firecracker does. */
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
		loop_set(b->d->loop, &b->listen_ev, EPOLLIN);
	}
	for (unsigned i = 0; i < b->n_hs; i++)
		if (b->hs[i] == h)
			b->hs[i] = b->hs[--b->n_hs];
	loop_free_later(b->d->loop, h);
}

/* "CONNECT <port>\n": decimal, no sign, at most 32 bits, not capsa's own. */
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
	return (*port & ~0xfU) != CAPSA_PORT_BASE;
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
	struct conn *c = NULL;
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
	if (parse_connect(h->line, &port))
		c = vsock_connect(b->d, &b->svc, port, h->fd);	/* it owns the fd now */
	else
		close(h->fd);
	log_info("vsock: host connection to guest port %u: %s", port, c ? "requested" : "refused");
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

/* A bridge socket was closed: accept again if the fd limit had stopped us. */
static void
bridge_closed(struct vsock_service *svc)
{
	struct vsock_bridge *b = (struct vsock_bridge *)svc;

	loop_set(b->d->loop, &b->listen_ev, EPOLLIN);
}

/**
 * vsock_bridge() - listen on the unix socket @path (Firecracker-style).
 * @d:    the device.
 * @path: must not exist; capsa creates it and the broker removes it on
 *        every exit. broker_start() must follow.
 *
 * Return: 0, -EEXIST when @path exists, -ENAMETOOLONG, or -errno.
 */
int
vsock_bridge(struct vsock_dev *d, const char *path)
{
	struct vsock_bridge *b = calloc(1, sizeof(*b));
	int err = 0;

	if (!b)
		return -ENOMEM;
	b->d = d;
	/* Room for "_4294967295" after it, for the guest-to-host sockets. */
	if (path_absolute(path, b->path, sizeof(b->path) - 11) < 0)
		err = -ENAMETOOLONG;
	b->listen_fd = err ? err : broker_listen(b->path);
	if (b->listen_fd < 0)
		err = b->listen_fd;
	if (!err)
		err = broker_bridge(b->path);
	if (!err)
		err = loop_add(d->loop, &b->listen_ev, EV_LISTEN, b->listen_fd, EPOLLIN, on_accept, b);
	if (err) {	/* a PATH bound is removed at exit, by capsa or the broker */
		if (b->listen_fd >= 0)
			close(b->listen_fd);
		free(b);
		return err;
	}
	b->svc = (struct vsock_service){
		.name = "bridge", .port_lo = 0, .port_hi = UINT32_MAX,
		.accept = bridge_accept, .opened = bridge_opened, .closed = bridge_closed,
	};
	vsock_register(d, &b->svc);
	return 0;
}
