// SPDX-License-Identifier: MIT
/*
 * vsock_conn.c - the host side of vsock connections: the connection table,
 * the queue of connections owing the guest a packet, and the host fds.
 *
 * Data from the guest goes straight from guest memory to out_fd when
 * nothing waits before it; what the fd does not take waits in a ring of at
 * most CONN_BUF bytes, the credit the guest was given, and is written when
 * the fd is writable again. Data from the host is read from in_fd only when
 * the guest has credit and receive buffers (see flush_rx() in vsock.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vsock.h"
#include "vsock_int.h"
#include "../vmm/loop.h"
#include "../vmm/util.h"

static unsigned
hash(uint32_t host_port, uint32_t guest_port)
{
	return (host_port * 31 + guest_port) % HASH_SIZE;
}

struct conn *
conn_find(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port)
{
	struct conn *c = d->hash[hash(host_port, guest_port)];

	while (c && (c->host_port != host_port || c->guest_port != guest_port))
		c = c->hnext;
	return c;
}

/* Bytes the guest can still take from us on this connection. */
uint32_t
peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

bool
can_read_host(const struct conn *c)
{
	return c->in_fd >= 0 && !c->in_eof && !c->connecting &&
	       !(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) && !(c->owe & OWE_RST);
}

static bool
has_rx_work(const struct conn *c)
{
	return c->closed ? false : c->owe || (c->in_ready && can_read_host(c) && peer_credit(c) > 0);
}

void
sendq_push(struct conn *c)
{
	struct vsock_dev *d = c->d;

	if (c->queued || !has_rx_work(c))
		return;
	c->queued = true;
	c->qnext = NULL;
	if (d->sendq_tail)
		d->sendq_tail->qnext = c;
	else
		d->sendq = c;
	d->sendq_tail = c;
}

struct conn *
sendq_pop(struct vsock_dev *d)
{
	struct conn *c = d->sendq;

	if (c) {
		d->sendq = c->qnext;
		if (!d->sendq)
			d->sendq_tail = NULL;
		c->queued = false;
	}
	return c;
}

static void
sendq_remove(struct conn *c)
{
	struct conn **pp = &c->d->sendq, *prev = NULL;

	if (!c->queued)
		return;
	while (*pp != c) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	*pp = c->qnext;
	if (c->d->sendq_tail == c)
		c->d->sendq_tail = prev;
	c->queued = false;
}

/**
 * conn_owe() - queue control packets for the guest (OWE_*).
 */
void
conn_owe(struct conn *c, uint32_t what)
{
	c->owe |= what;
	sendq_push(c);
}

void
queue_rst(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port)
{
	/* A flood of bad packets may overflow this; the guest then times out. */
	if (d->n_rst < RST_QUEUE) {
		d->rst[d->n_rst].host_port = host_port;
		d->rst[d->n_rst].guest_port = guest_port;
		d->n_rst++;
	}
}

/* ---- host fds ---------------------------------------------------------- */

/*
 * Write buffered guest data to out_fd. Return false once out_fd failed for
 * good (the reader went away): the guest is then told we stopped receiving.
 */
static bool
drain_buf(struct conn *c)
{
	while (c->buf_len) {
		uint32_t chunk = MIN(c->buf_len, CONN_BUF - c->buf_head);
		ssize_t n = write(c->out_fd, c->buf + c->buf_head, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		c->buf_head = (c->buf_head + (uint32_t)n) % CONN_BUF;
		c->buf_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	return true;
}

static void
out_failed(struct conn *c)
{
	c->out_dead = true;
	c->fwd_cnt += c->buf_len;	/* discarded bytes count as consumed */
	c->buf_len = 0;
	c->shut_flags |= VIRTIO_VSOCK_SHUTDOWN_RCV;
	conn_owe(c, OWE_SHUTDOWN);
}

/* Tell the guest about freed space once its view of it is below half. */
static void
maybe_credit(struct conn *c)
{
	uint32_t seen_free = CONN_BUF - (c->rx_cnt - c->fwd_told);

	if (c->fwd_cnt != c->fwd_told && seen_free < CONN_BUF / 2)
		conn_owe(c, OWE_CREDIT);
}

/* The guest sent its last byte and all of it is out: pass the EOF on. */
void
finish_output(struct conn *c)
{
	if (c->buf_len || !(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND))
		return;
	if (c->peer_shut == (VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV)) {
		conn_owe(c, OWE_RST);	/* both directions done: close */
		return;
	}
	if (c->out_fd >= 0 && c->out_fd == c->in_fd)
		shutdown(c->out_fd, SHUT_WR);
}

static void
flush_output(struct conn *c)
{
	if (!c->out_dead && !drain_buf(c))
		out_failed(c);
	maybe_credit(c);
	finish_output(c);
	conn_update_poll(c);
}

/*
 * A host fd of a connection is ready. Hang-ups count as readiness for the
 * input side (the read returns EOF) and as failure for an output-only fd
 * (its reader is gone, so the guest's writer should see EPIPE at once).
 */
static void
host_io(struct ev *ev, uint32_t events)
{
	struct conn *c = ev->opaque;
	struct vsock_dev *d = c->d;
	bool shared = c->in_fd == c->out_fd;

	vsock_lock(d);
	if (ev == &c->in_ev && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && can_read_host(c)) {
		c->in_ready = true;
		sendq_push(c);
	}
	if (!shared && ev == &c->out_ev && (events & (EPOLLHUP | EPOLLERR)) && !c->out_dead)
		out_failed(c);
	else if ((events & (EPOLLOUT | EPOLLERR)) && (shared || ev == &c->out_ev))
		flush_output(c);
	if (!c->closed)
		conn_update_poll(c);
	vsock_kick_rx(d);
	vsock_unlock(d);
}

/*
 * Arm in_fd only while we could act on it and out_fd only while there is
 * a backlog, so the loop never spins on a ready fd it cannot serve. An fd
 * with nothing wanted stays registered but disarmed.
 */
void
conn_update_poll(struct conn *c)
{
	bool want_in = can_read_host(c) && !c->in_ready;
	bool want_out = c->buf_len && !c->out_dead;
	uint32_t in_ev = want_in ? EPOLLIN : 0, out_ev = want_out ? EPOLLOUT : 0;

	if (c->in_polled && c->in_fd == c->out_fd)
		loop_set(c->d->loop, &c->in_ev, in_ev | out_ev);
	else if (c->in_polled)
		loop_set(c->d->loop, &c->in_ev, in_ev);
	if (c->out_polled && c->in_fd != c->out_fd)
		loop_set(c->d->loop, &c->out_ev, out_ev);
}

/* Register a host fd; a regular file cannot be polled and is always ready. */
static bool
watch(struct conn *c, struct ev *ev, int fd, bool *always)
{
	int err = loop_add(c->d->loop, ev, EV_HOST_IO, fd, 0, host_io, c);

	*always = err == -EPERM;
	return err == 0;
}

/**
 * conn_new() - a connection between guest port @guest_port and host port
 * @host_port, moving data between the guest and the host fds.
 *
 * Return: the connection, or NULL at the MAX_CONNS cap or out of memory.
 */
struct conn *
conn_new(struct vsock_dev *d, uint32_t host_port, uint32_t guest_port,
	 int in_fd, int out_fd)
{
	struct conn *c;
	unsigned h = hash(host_port, guest_port);

	if (d->nconns == MAX_CONNS || !(c = calloc(1, sizeof(*c))))
		return NULL;
	c->d = d;
	c->host_port = host_port;
	c->guest_port = guest_port;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	if (in_fd >= 0)
		c->in_polled = watch(c, &c->in_ev, in_fd, &c->in_always);
	if (out_fd >= 0 && out_fd != in_fd)
		c->out_polled = watch(c, &c->out_ev, out_fd, &c->out_always);
	if (out_fd >= 0 && out_fd == in_fd) {
		c->out_polled = c->in_polled;
		c->out_always = c->in_always;
	}
	c->in_ready = c->in_always;
	c->hnext = d->hash[h];
	d->hash[h] = c;
	d->nconns++;
	return c;
}

/**
 * conn_close() - forget a connection; a service's socket is closed with it.
 */
void
conn_close(struct conn *c)
{
	struct vsock_dev *d = c->d;
	struct conn **pp = &d->hash[hash(c->host_port, c->guest_port)];

	while (*pp != c)
		pp = &(*pp)->hnext;
	*pp = c->hnext;
	sendq_remove(c);
	if (c->in_polled)
		loop_del(d->loop, &c->in_ev);
	if (c->out_polled && c->out_fd != c->in_fd)
		loop_del(d->loop, &c->out_ev);
	free(c->buf);
	if (c->owns_fd) {
		close(c->in_fd);
		if (c->svc && c->svc->closed)
			c->svc->closed(c->svc);
	}
	c->closed = true;
	d->nconns--;
	loop_free_later(d->loop, c);
}

/*
 * Guest data for a connection: write it straight from guest memory when
 * nothing is queued before it, keep the rest. The guest must respect our
 * credit; data beyond it is a protocol violation and resets the connection.
 */
void
recv_data(struct conn *c, const struct vq_chain *ch, uint32_t len)
{
	struct iovec iov[VQ_MAX_SIZE];
	size_t done = 0;
	unsigned n;

	if (c->rx_cnt - c->fwd_cnt + len > CONN_BUF) {
		conn_owe(c, OWE_RST);
		return;
	}
	c->rx_cnt += len;
	if (c->out_dead || c->out_fd < 0) {
		c->fwd_cnt += len;
		maybe_credit(c);
		return;
	}
	n = iov_slice(ch->iov, ch->n_out, HDR_LEN, len, iov);
	if (!c->buf && !(c->buf = malloc(CONN_BUF))) {
		conn_owe(c, OWE_RST);
		return;
	}
	done = 0;
	if (!c->buf_len) {
		ssize_t w = writev(c->out_fd, iov, (int)n);

		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			out_failed(c);
			return;
		}
		done = w > 0 ? (size_t)w : 0;
		c->fwd_cnt += (uint32_t)done;
	}
	/* Keep what the fd did not take, in the ring after the backlog. */
	for (size_t skip = done; skip < len;) {
		uint8_t tmp[4096];
		size_t take = iov_to_buf(iov, n, skip, tmp, MIN(sizeof(tmp), len - skip));
		uint32_t tail = (c->buf_head + c->buf_len) % CONN_BUF;
		uint32_t first = MIN((uint32_t)take, CONN_BUF - tail);

		memcpy(c->buf + tail, tmp, first);
		memcpy(c->buf, tmp + first, take - first);
		c->buf_len += (uint32_t)take;
		skip += take;
	}
	maybe_credit(c);
	conn_update_poll(c);
}

/**
 * vsock_flush() - write out what the guest sent and capsa still holds.
 * @d:          the device; the VM has stopped.
 * @timeout_ms: give up on an fd that takes no data for this long.
 */
void
vsock_flush(struct vsock_dev *d, int timeout_ms)
{
	vsock_lock(d);
	for (unsigned h = 0; h < HASH_SIZE; h++) {
		for (struct conn *c = d->hash[h]; c; c = c->hnext) {
			while (c->buf_len && !c->out_dead) {
				struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };

				if (poll(&p, 1, timeout_ms) <= 0 || !drain_buf(c))
					break;
			}
		}
	}
	vsock_unlock(d);
}

/* ---- services ---------------------------------------------------------- */

#define FIRST_HOST_PORT (1U << 30)	/* ports capsa picks for host-initiated links */

/* How many ports a service claims (none when lo > hi). */
static uint64_t
span(const struct vsock_service *s)
{
	return s->port_lo > s->port_hi ? 0 : (uint64_t)s->port_hi - s->port_lo + 1;
}

/**
 * vsock_register() - add a service; the guest's connections to its ports
 * go to its accept handler. Where ranges overlap, the narrower range wins
 * (--net user's one port before the --vsock bridge's every port), then
 * the one registered first.
 */
void
vsock_register(struct vsock_dev *d, struct vsock_service *s)
{
	struct vsock_service **pp = &d->services;

	while (*pp && span(*pp) <= span(s))
		pp = &(*pp)->next;
	s->next = *pp;
	*pp = s;
}

static bool
port_free(struct vsock_dev *d, uint32_t port)
{
	for (unsigned h = 0; h < HASH_SIZE; h++)
		for (struct conn *c = d->hash[h]; c; c = c->hnext)
			if (c->host_port == port)
				return false;
	return true;
}

/**
 * conn_attach() - give a pending connection its host socket @fd (both
 * ways), closed with the connection.
 */
void
conn_attach(struct conn *c, int fd)
{
	c->in_fd = c->out_fd = fd;
	c->in_polled = c->out_polled = watch(c, &c->in_ev, fd, &c->in_always);
	c->out_always = c->in_always;
	c->in_ready = c->in_always;
	c->owns_fd = true;
}

/* A host port no connection uses, from 2^30 up (far from capsa's own). */
static uint32_t
pick_port(struct vsock_dev *d)
{
	for (;;) {
		uint32_t p = d->next_port++;

		if (d->next_port < FIRST_HOST_PORT)
			d->next_port = FIRST_HOST_PORT;
		if (p >= FIRST_HOST_PORT && port_free(d, p))
			return p;
	}
}

/**
 * vsock_connect() - open a connection from the host to guest port
 * @guest_port on behalf of service @s, carrying the socket @fd both ways.
 * @d:          the device (lock held).
 * @s:          the service; its opened() runs when the guest accepts.
 * @guest_port: where the guest listens.
 * @fd:         the host end; owned by the connection from now on, closed
 *              with it (also when this fails).
 *
 * A guest with no listener there answers with a RST, which closes it.
 *
 * Return: the connection, or NULL at the connection cap or out of memory.
 */
struct conn *
vsock_connect(struct vsock_dev *d, struct vsock_service *s, uint32_t guest_port, int fd)
{
	struct conn *c = conn_new(d, pick_port(d), guest_port, fd, fd);

	if (!c) {
		close(fd);
		return NULL;
	}
	c->svc = s;
	c->owns_fd = true;
	c->connecting = true;
	conn_owe(c, OWE_REQUEST);
	conn_update_poll(c);
	vsock_kick_rx(d);
	return c;
}
