// SPDX-License-Identifier: MIT
/*
 * vsock_net.c - guest connections the broker gives a host end: --net
 * user's streams (host port PORT_NET) and --vsock PATH_<port>.
 *
 * Theory of Operation
 * ===================
 *
 * The jailed VMM may not make sockets, so when the guest connects to one
 * of these ports it asks the broker (vmm/net/broker.c) for the other end:
 * BM_NET_OPEN or BM_UNIX_OPEN with a fresh id, sent on the broker's
 * channel without waiting. The connection exists meanwhile, `pending`,
 * with no host fd: the guest hears nothing (no RESPONSE yet), and data it
 * should not have sent yet is dropped. The answer, BM_STREAM with the same
 * id, arrives on the loop: its socket becomes the connection's host end
 * and the guest gets its RESPONSE; a refusal, or no answer because the
 * connection is gone by then, ends it with a RST (or closes the socket).
 * At most MAX_PENDING requests wait at once; past that the guest's
 * connection is refused at once. The VMM reads nothing of what flows on
 * a --net user stream: that is between the guest's helper and the broker.
 *
 * The --net user port is a vsock service (vsock_int.h) of its own; the
 * bridge's service (vsock_unix.c) asks through broker_request() too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vsock.h"
#include "vsock_int.h"
#include "../guest/proto.h"
#include "../vmm/broker.h"
#include "../vmm/net/msg.h"
#include "../vmm/util.h"

#define MAX_PENDING 64

struct vsock_broker {
	struct vsock_service svc;	/* --net user's port */
	struct vsock_dev *d;
	int fd;
	struct ev ev;
	unsigned npending;
	uint32_t next_id;
};

static struct vsock_broker *the_broker;	/* one broker, one device */

/**
 * broker_request() - a guest connection whose host end the broker makes.
 * @d:          the device.
 * @type:       BM_NET_OPEN, or BM_UNIX_OPEN (for --vsock PATH_@host_port).
 * @host_port:  the port the guest connected to.
 * @guest_port: its own.
 *
 * Return: the pending connection, or NULL when it cannot wait (the guest
 * then gets a RST).
 */
struct conn *
broker_request(struct vsock_dev *d, uint16_t type, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_broker *b = the_broker;
	struct bmsg m;
	struct conn *c;

	if (!b || b->npending == MAX_PENDING)
		return NULL;
	m = bmsg_make(type, ++b->next_id);
	m.u.unix_open.port = host_port;
	c = conn_new(d, host_port, guest_port, -1, -1);
	if (!c)
		return NULL;
	if (bmsg_send(b->fd, &m, -1) < 0) {
		conn_close(c);
		return NULL;
	}
	c->pending = true;
	c->broker_id = m.id;
	b->npending++;
	return c;
}

/* The connection the answer @id is for, if it still waits for it. */
static struct conn *
find_pending(struct vsock_dev *d, uint32_t id)
{
	for (unsigned h = 0; h < HASH_SIZE; h++)
		for (struct conn *c = d->hash[h]; c; c = c->hnext)
			if (c->pending && c->broker_id == id)
				return c;
	return NULL;
}

static void
on_answer(struct vsock_broker *b, const struct bmsg *m, int fd)
{
	struct conn *c = find_pending(b->d, m->id);

	if (b->npending)
		b->npending--;		/* every request gets one answer */
	if (!c) {
		if (fd >= 0)
			close(fd);	/* the guest gave up meanwhile */
		return;
	}
	c->pending = false;
	if (fd < 0) {
		log_info("vsock: the broker refused guest port %u's connection to %u: %s",
			 c->guest_port, c->host_port, strerror(m->u.stream.err));
		conn_owe(c, OWE_RST);
		return;
	}
	conn_attach(c, fd);
	conn_owe(c, OWE_RESPONSE);
	conn_update_poll(c);
}

static void
on_broker(struct ev *ev, uint32_t events)
{
	struct vsock_broker *b = ev->opaque;
	struct bmsg m;
	int fd, r;

	(void)events;
	vsock_lock(b->d);
	while ((r = bmsg_recv(b->fd, false, &m, &fd)) != -EAGAIN) {
		if (r == -EBADMSG)
			continue;
		if (r <= 0) {
			char why[64];

			/* The broker died: nothing more comes; stop listening. */
			loop_del(b->d->loop, &b->ev);
			broker_why(why, sizeof(why));
			log_warn("the broker is gone (%s); new network and --vsock connections fail", why);
			break;
		}
		on_answer(b, &m, fd);
	}
	vsock_kick_rx(b->d);
	vsock_unlock(b->d);
}

static struct conn *
net_accept(struct vsock_service *svc, uint32_t host_port, uint32_t guest_port)
{
	struct vsock_broker *b = svc->opaque;

	return broker_request(b->d, BM_NET_OPEN, host_port, guest_port);
}

/**
 * vsock_broker() - serve the broker's streams to the guest.
 * @d:   the device.
 * @fd:  the VMM's end of the broker's channel (broker_channel()).
 * @net: --net user: guest connections to PORT_NET go to the broker.
 *
 * Return: 0 or -errno.
 */
int
vsock_broker(struct vsock_dev *d, int fd, bool net)
{
	struct vsock_broker *b = calloc(1, sizeof(*b));
	int e;

	if (!b)
		return -ENOMEM;
	*b = (struct vsock_broker){ .d = d, .fd = fd };
	e = loop_add(d->loop, &b->ev, EV_CONTROL, fd, EPOLLIN, on_broker, b);
	if (e) {
		free(b);
		return e;
	}
	the_broker = b;
	if (net) {
		b->svc = (struct vsock_service){ .name = "net", .port_lo = PORT_NET,
						 .port_hi = PORT_NET, .accept = net_accept, .opaque = b };
		vsock_register(d, &b->svc);
	}
	return 0;
}
