// SPDX-License-Identifier: MIT
/*
 * netfwd.c - one connection of the guest's network helper: a TCP socket
 * in the guest (a), a vsock stream to the host (h), and the bytes between
 * them, through a buffer each way.
 *
 *   intercepted: a program connected somewhere; the helper accepted it
 *                (netbpf.c) and its own address is where the program
 *                meant to go. h is a new stream to PORT_NET whose first
 *                bytes are the struct net_req (vmm/net/wire.h), queued ahead
 *                of the program's data; the broker's struct net_reply
 *                comes first the other way. A refusal resets the
 *                program's connection (SO_LINGER 0), so it fails at once.
 *   published:   the host connected to -p's port; h is that stream, and
 *                a connects to 127.0.0.1:PORT, else [::1]:PORT, so a
 *                server bound to the guest's loopback only is reached.
 *
 * An EOF one way is passed on as a half-close once the buffer is empty;
 * the connection ends when both ways have ended, or at the first error.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "netuser.h"
#include "proto.h"
#include "../vmm/net/wire.h"

struct fwd {
	struct nu_ev ev_a, ev_h;
	int a, h;
	bool published;
	bool a_connecting, h_connecting;
	bool want_reply;		/* the broker's net_reply has not come yet */
	bool dead;			/* freed: its other socket's event, later in the batch, is stale */
	bool a_eof, h_eof, a_shut, h_shut;
	unsigned port;			/* published: the guest port */
	bool tried6;			/* ... [::1] was tried too */
	struct net_reply rep;
	size_t rep_got;
	struct nu_buf up, down;		/* a to h, h to a */
};

#define MIN_SZ(a, b) ((a) < (b) ? (a) : (b))

static unsigned nconns;

static void
fwd_free(struct fwd *f, bool reset)
{
	struct linger lg = { 1, 0 };

	if (f->dead)
		return;
	f->dead = true;
	if (reset && f->a >= 0)
		setsockopt(f->a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (f->a >= 0) {
		nu_del(&f->ev_a);
		close(f->a);
	}
	if (f->h >= 0) {
		nu_del(&f->ev_h);
		close(f->h);
	}
	nconns--;
	nu_free_later(f);
}

static bool
fill(int fd, struct nu_buf *b, bool *eof, bool *bad)
{
	ssize_t n;

	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (*eof || b->len == sizeof(b->d))
		return false;
	n = read(fd, b->d + b->len, sizeof(b->d) - b->len);
	if (n == 0)
		*eof = true;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		*bad = true;
	if (n > 0)
		b->len += (size_t)n;
	return n > 0;
}

static bool
drain(int fd, struct nu_buf *b, bool *bad)
{
	ssize_t n;

	if (b->off == b->len)
		return false;
	n = write(fd, b->d + b->off, b->len - b->off);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		*bad = true;
	if (n > 0)
		b->off += (size_t)n;
	return n > 0;
}

/* The broker's reply at the head of the host's data; false when refused. */
static bool
take_reply(struct fwd *f)
{
	struct nu_buf *b = &f->down;
	size_t n = MIN_SZ(sizeof(f->rep) - f->rep_got, b->len - b->off);

	memcpy((char *)&f->rep + f->rep_got, b->d + b->off, n);
	f->rep_got += n;
	b->off += n;
	if (f->rep_got < sizeof(f->rep))
		return !f->h_eof;
	f->want_reply = false;
	return f->rep.magic == NET_MAGIC && f->rep.status == NET_OK;
}

static void
watch(struct fwd *f)
{
	uint32_t a = 0, h = 0;

	/* While one side connects, only its connect is waited for: data on
	 * the other could not move and would spin the loop. */
	if (f->a_connecting || f->h_connecting) {
		nu_set(&f->ev_a, f->a_connecting ? EPOLLOUT : 0);
		nu_set(&f->ev_h, f->h_connecting ? EPOLLOUT : 0);
		return;
	}
	if (!f->a_eof && f->up.len < sizeof(f->up.d))
		a |= EPOLLIN;
	if (f->down.off < f->down.len && !f->want_reply)
		a |= EPOLLOUT;
	if (!f->h_eof && f->down.len < sizeof(f->down.d))
		h |= EPOLLIN;
	if (f->up.off < f->up.len)
		h |= EPOLLOUT;
	nu_set(&f->ev_a, a);
	nu_set(&f->ev_h, h);
}

/* Connect a published connection to the guest's server on @family's loopback. */
static bool
local_connect(struct fwd *f, int family)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)f->port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port),
				  .sin_addr = { htonl(INADDR_LOOPBACK) } };
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r;

	f->tried6 |= family == AF_INET6;
	if (f->a >= 0) {
		nu_del(&f->ev_a);
		close(f->a);
	}
	f->a = fd;
	if (fd < 0 || nu_add(&f->ev_a, NU_FWD_A, fd, f, EPOLLOUT) < 0)
		return false;
	r = family == AF_INET ? connect(fd, (struct sockaddr *)&s4, sizeof(s4)) :
				connect(fd, (struct sockaddr *)&s6, sizeof(s6));
	f->a_connecting = r < 0 && errno == EINPROGRESS;
	if (r < 0 && !f->a_connecting)
		return family == AF_INET && local_connect(f, AF_INET6);
	return true;
}

/* A connect in progress ended; false when it failed for good. */
static bool
connected(struct fwd *f, bool host)
{
	int e = 0;
	socklen_t len = sizeof(e);

	getsockopt(host ? f->h : f->a, SOL_SOCKET, SO_ERROR, &e, &len);
	if (host) {
		f->h_connecting = false;
		return !e;
	}
	f->a_connecting = false;
	if (e && !f->tried6)
		return local_connect(f, AF_INET6);	/* not on 127.0.0.1: try [::1] */
	return !e;
}

/**
 * fwd_io() - one of a connection's sockets is ready.
 */
void
fwd_io(struct nu_ev *ev, uint32_t events)
{
	struct fwd *f = ev->p;
	bool bad = false, moved = true;

	/*
	 * Both sockets can be in one batch of events: once the first freed
	 * the connection, its fds are closed (their numbers maybe reused by an
	 * accept since), so the second must not touch them.
	 */
	if (f->dead)
		return;
	if (ev == &f->ev_h && f->h_connecting && !connected(f, true)) {
		fwd_free(f, true);	/* the host is not there */
		return;
	}
	if (ev == &f->ev_a && f->a_connecting && !connected(f, false)) {
		fwd_free(f, false);
		return;
	}
	while (moved && !bad && !f->a_connecting && !f->h_connecting) {
		moved = fill(f->a, &f->up, &f->a_eof, &bad);
		moved |= drain(f->h, &f->up, &bad);
		moved |= fill(f->h, &f->down, &f->h_eof, &bad);
		if (f->want_reply && !take_reply(f)) {
			fwd_free(f, true);	/* refused by the policy, or unreachable */
			return;
		}
		if (!f->want_reply)
			moved |= drain(f->a, &f->down, &bad);
	}
	if (f->a_eof && f->up.off == f->up.len && !f->h_shut && !f->h_connecting) {
		shutdown(f->h, SHUT_WR);
		f->h_shut = true;
	}
	if (f->h_eof && f->down.off == f->down.len && !f->a_shut && !f->want_reply) {
		shutdown(f->a, SHUT_WR);
		f->a_shut = true;
	}
	if (bad || (f->a_shut && f->h_shut) || (events & EPOLLERR && !f->a_connecting)) {
		fwd_free(f, bad && !f->published);
		return;
	}
	watch(f);
}

static struct fwd *
fwd_new(int a, int h, bool published)
{
	struct fwd *f = nconns < NU_MAX_CONNS ? malloc(sizeof(*f)) : NULL;

	if (!f)
		return NULL;
	memset(f, 0, offsetof(struct fwd, up));
	f->up.off = f->up.len = f->down.off = f->down.len = 0;
	f->a = a;
	f->h = h;
	f->published = published;
	nconns++;
	if ((a >= 0 && nu_add(&f->ev_a, NU_FWD_A, a, f, 0) < 0) ||
	    nu_add(&f->ev_h, NU_FWD_H, h, f, 0) < 0) {
		f->a = f->h = -1;
		fwd_free(f, false);
		return NULL;
	}
	return f;
}

/* The request for the broker: where the program connected, and the name. */
static void
make_request(struct fwd *f, const struct sockaddr_storage *ss)
{
	struct net_req *q = (struct net_req *)f->up.d;
	const char *name = dns_name_for(ss);

	memset(q, 0, sizeof(*q));
	q->magic = NET_MAGIC;
	q->kind = NET_CONNECT;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		q->family = 4;
		q->port = ntohs(s4->sin_port);
		memcpy(q->addr, &s4->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		q->family = 6;
		q->port = ntohs(s6->sin6_port);
		memcpy(q->addr, &s6->sin6_addr, 16);
	}
	if (name) {
		q->name_len = (uint8_t)strlen(name);
		memcpy(q->name, name, q->name_len);
	}
	f->up.len = sizeof(*q);
}

/**
 * fwd_intercept() - a program's connection, accepted: where did it mean to go?
 */
void
fwd_intercept(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct linger lg = { 1, 0 };
	bool connecting;
	struct fwd *f;
	int h;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		goto reset;
	if ((ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_port == htons(53)) ||
	    (ss.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&ss)->sin6_port == htons(53))) {
		dns_tcp_new(fd);	/* DNS over TCP is answered here */
		return;
	}
	h = vsock_host(&connecting);
	if (h < 0)
		goto reset;
	f = fwd_new(fd, h, false);
	if (!f) {
		close(h);
		goto reset;
	}
	f->h_connecting = connecting;
	f->want_reply = true;
	make_request(f, &ss);
	watch(f);
	if (!f->h_connecting)
		fwd_io(&f->ev_h, EPOLLOUT);
	return;
reset:
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/**
 * fwd_publish() - the host connected to -p's guest @port.
 */
void
fwd_publish(int vsock_fd, unsigned port)
{
	struct fwd *f = fwd_new(-1, vsock_fd, true);

	if (!f) {
		close(vsock_fd);
		return;
	}
	f->port = port;
	if (!local_connect(f, AF_INET)) {
		fwd_free(f, false);
		return;
	}
	watch(f);
	if (!f->a_connecting)
		fwd_io(&f->ev_a, EPOLLOUT);
}
