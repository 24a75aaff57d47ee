// SPDX-License-Identifier: MIT
/*
 * vsock.c - virtio-vsock (virtio 1.2, 5.10): stream connections between the
 * guest and host fds.
 *
 * Each connection joins a guest port to host fds: data from the guest is
 * written to out_fd, data read from in_fd goes to the guest. Flow control
 * is the protocol's own: the guest may send at most our buf_alloc bytes
 * beyond what we have written out, and we send at most its free space. So
 * a slow reader stops the writer instead of growing a buffer, and memory
 * per connection is bounded by CONN_BUF.
 *
 * All work runs on the event loop thread, under the device lock: queue
 * kicks, host fds becoming readable or writable. Packets to the guest wait
 * in `sendq` (a FIFO of connections with something to say) until the
 * driver posts receive buffers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "vsock.h"
#include "vsock_int.h"
#include "../guest/proto.h"
#include "../vmm/loop.h"
#include "../vmm/util.h"

static void flush_rx(struct vsock_dev *d);

/* ---- packets from the guest -------------------------------------------- */

/* The service that owns host port @port, if any. */
static struct vsock_service *
find_service(struct vsock_dev *d, uint32_t port)
{
	for (struct vsock_service *s = d->services; s; s = s->next)
		if (s->accept && port >= s->port_lo && port <= s->port_hi)
			return s;
	return NULL;
}

/*
 * The guest connects to a host port: one of capsa's stdio ports (each
 * taken once), or a port a service owns. Anything else, or a full
 * connection table, is refused with a RST.
 */
static void
on_request(struct vsock_dev *d, const struct virtio_vsock_hdr *h)
{
	struct vsock_service *s = NULL;
	struct vsock_port *p = NULL;
	struct conn *c = NULL;

	for (unsigned i = 0; i < d->nports; i++)
		if (d->ports[i].port == h->dst_port && !d->ports[i].taken)
			p = &d->ports[i];
	if (p)
		c = conn_new(d, h->dst_port, h->src_port, p->in_fd, p->out_fd);
	else if ((s = find_service(d, h->dst_port)))
		c = s->accept(s, h->dst_port, h->src_port);
	if (!c) {
		queue_rst(d, h->dst_port, h->src_port);
		return;
	}
	if (p)
		p->taken = true;
	c->svc = s;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (!c->pending)
		conn_owe(c, OWE_RESPONSE);	/* else once the broker's stream is there */
	conn_update_poll(c);
}

static void
on_shutdown(struct conn *c, uint32_t flags)
{
	c->peer_shut |= flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	finish_output(c);
	conn_update_poll(c);
}

static void
on_packet(struct vsock_dev *d, const struct virtio_vsock_hdr *h,
	  const struct vq_chain *ch)
{
	struct conn *c = conn_find(d, h->dst_port, h->src_port);

	if (h->op == VIRTIO_VSOCK_OP_REQUEST && !c) {
		on_request(d, h);
		return;
	}
	if (!c) {
		if (h->op != VIRTIO_VSOCK_OP_RST)
			queue_rst(d, h->dst_port, h->src_port);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW:
		if (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)
			conn_owe(c, OWE_RST);
		else
			recv_data(c, ch, h->len);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		on_shutdown(c, h->flags);
		break;
	case VIRTIO_VSOCK_OP_RST:
		conn_close(c);
		return;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		conn_owe(c, OWE_CREDIT);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (!c->connecting) {
			conn_owe(c, OWE_RST);
			break;
		}
		c->connecting = false;
		if (c->svc && c->svc->opened)
			c->svc->opened(c);
		conn_update_poll(c);
		break;
	default:			/* REQUEST on a known connection */
		conn_owe(c, OWE_RST);
		break;
	}
	sendq_push(c);			/* credit may have opened */
}

/*
 * Validate a packet header copied out of the guest. Everything is checked
 * here once; on_packet() may then trust the copy.
 */
static bool
valid_hdr(const struct vsock_dev *d, const struct virtio_vsock_hdr *h,
	  const struct vq_chain *ch)
{
	if (h->src_cid != d->guest_cid || h->dst_cid != HOST_CID)
		return false;
	if (h->op == VIRTIO_VSOCK_OP_INVALID || h->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return false;
	if (h->op == VIRTIO_VSOCK_OP_RW)
		return h->len > 0 && h->len <= MAX_PAYLOAD && h->len <= ch->out_len - HDR_LEN;
	return h->len == 0;
}

static void
process_tx(struct vsock_dev *d)
{
	struct virtq *q = &d->vdev.vq[TXQ];
	struct vq_chain *ch = &d->chain;
	int n;

	while ((n = vq_pop(q, d->vdev.mem, ch)) > 0) {
		struct virtio_vsock_hdr h;

		if (ch->out_len >= HDR_LEN) {
			iov_to_buf(ch->iov, ch->n_out, 0, &h, HDR_LEN);
			if (h.type != VIRTIO_VSOCK_TYPE_STREAM && h.op != VIRTIO_VSOCK_OP_RST &&
			    h.src_cid == d->guest_cid)
				queue_rst(d, h.dst_port, h.src_port);
			else if (valid_hdr(d, &h, ch))
				on_packet(d, &h, ch);
		}
		vq_push(q, ch->head, 0);
		d->tx_used = true;
	}
	if (n < 0)
		virtio_fail(&d->vdev, "malformed transmit descriptor chain");
}

/* ---- packets to the guest ---------------------------------------------- */

static void
fill_hdr(struct vsock_dev *d, struct virtio_vsock_hdr *h, uint32_t host_port,
	 uint32_t guest_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = HOST_CID;
	h->dst_cid = d->guest_cid;
	h->src_port = host_port;
	h->dst_port = guest_port;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = CONN_BUF;
}

/* Pop a receive buffer big enough for a header; false when none is posted. */
static bool
rx_chain(struct vsock_dev *d)
{
	struct virtq *q = &d->vdev.vq[RXQ];
	int n;

	while ((n = vq_pop(q, d->vdev.mem, &d->chain)) > 0) {
		if (d->chain.n_out == 0 && d->chain.in_len >= HDR_LEN)
			return true;
		vq_push(q, d->chain.head, 0);	/* unusable: give it back */
		d->rx_used = true;
	}
	if (n < 0)
		virtio_fail(&d->vdev, "malformed receive descriptor chain");
	return false;
}

static void
rx_send(struct vsock_dev *d, struct virtio_vsock_hdr *h)
{
	struct vq_chain *ch = &d->chain;

	iov_from_buf(ch->iov, ch->n_in, 0, h, HDR_LEN);
	vq_push(&d->vdev.vq[RXQ], ch->head, (uint32_t)HDR_LEN + h->len);
	d->rx_used = true;
}

/* Send the control packets @c owes; after a RST the connection is gone. */
static void
send_control(struct vsock_dev *d, struct conn *c)
{
	static const struct { uint32_t owe; uint16_t op; } order[] = {
		{ OWE_REQUEST, VIRTIO_VSOCK_OP_REQUEST },
		{ OWE_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE },
		{ OWE_CREDIT, VIRTIO_VSOCK_OP_CREDIT_UPDATE },
		{ OWE_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN },
		{ OWE_RST, VIRTIO_VSOCK_OP_RST },
	};
	struct virtio_vsock_hdr h;
	bool rst = c->owe & OWE_RST;

	if (rst)
		c->owe = OWE_RST;	/* nothing else matters any more */
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++) {
		if (!(c->owe & order[i].owe))
			continue;
		if (!rx_chain(d))
			return;
		fill_hdr(d, &h, c->host_port, c->guest_port, order[i].op);
		h.fwd_cnt = c->fwd_told = c->fwd_cnt;
		if (order[i].op == VIRTIO_VSOCK_OP_SHUTDOWN)
			h.flags = c->shut_flags;
		rx_send(d, &h);
		c->owe &= ~order[i].owe;
	}
	if (rst && !c->owe)
		conn_close(c);
}

/* Read host data straight into one receive buffer. */
static void
send_data(struct vsock_dev *d, struct conn *c)
{
	struct vq_chain *ch = &d->chain;
	struct iovec iov[VQ_MAX_SIZE];
	struct virtio_vsock_hdr h;
	size_t max = MIN(peer_credit(c), MAX_PAYLOAD);
	unsigned n;
	ssize_t r;

	if (!rx_chain(d))
		return;
	n = iov_slice(ch->iov + ch->n_out, ch->n_in, HDR_LEN, max, iov);
	r = n ? readv(c->in_fd, iov, (int)n) : -1;
	if (r < 0 && (errno == EAGAIN || errno == EINTR || !n)) {
		d->vdev.vq[RXQ].last_avail--;	/* unused: leave it posted */
		c->in_ready = c->in_always;
		return;
	}
	fill_hdr(d, &h, c->host_port, c->guest_port,
		 r > 0 ? VIRTIO_VSOCK_OP_RW : VIRTIO_VSOCK_OP_SHUTDOWN);
	h.fwd_cnt = c->fwd_told = c->fwd_cnt;
	if (r > 0) {
		h.len = (uint32_t)r;
		c->tx_cnt += (uint32_t)r;
	} else {
		/* EOF or a read error: no more data from the host side. */
		c->in_eof = true;
		c->shut_flags |= VIRTIO_VSOCK_SHUTDOWN_SEND;
		h.flags = c->shut_flags;
	}
	rx_send(d, &h);
}

static void
send_rsts(struct vsock_dev *d)
{
	struct virtio_vsock_hdr h;

	while (d->n_rst && rx_chain(d)) {
		d->n_rst--;
		fill_hdr(d, &h, d->rst[d->n_rst].host_port, d->rst[d->n_rst].guest_port,
			 VIRTIO_VSOCK_OP_RST);
		rx_send(d, &h);
	}
}

static void
interrupt(struct vsock_dev *d)
{
	bool need = (d->rx_used && vq_wants_interrupt(&d->vdev.vq[RXQ])) ||
		    (d->tx_used && vq_wants_interrupt(&d->vdev.vq[TXQ]));

	d->rx_used = d->tx_used = false;
	if (need)
		virtio_interrupt(&d->vdev, VIRTIO_INT_USED);
}

/*
 * Send what connections owe the guest while receive buffers last. Each
 * pass serves one packet of one connection, then requeues it at the tail,
 * so a busy stream cannot starve the others.
 */
static void
flush_rx(struct vsock_dev *d)
{
	struct virtq *q = &d->vdev.vq[RXQ];
	struct conn *c;

	if (!q->ready)
		return;
	send_rsts(d);
	while (d->sendq && virtio_live(&d->vdev) && vq_has_avail(q)) {
		uint16_t before = q->last_avail;

		c = sendq_pop(d);
		if (c->owe)
			send_control(d, c);
		else if (c->in_ready && can_read_host(c) && peer_credit(c))
			send_data(d, c);
		if (!c->closed) {
			sendq_push(c);
			conn_update_poll(c);
		}
		if (q->last_avail == before && c->queued)
			break;		/* stuck: try again on the next event */
	}
	interrupt(d);
}

/**
 * vsock_kick_rx() - send what is owed to the guest now (device lock held).
 */
void
vsock_kick_rx(struct vsock_dev *d)
{
	if (virtio_live(&d->vdev))
		flush_rx(d);
}

static void
kick(struct ev *ev, uint32_t events)
{
	struct vsock_dev *d = ev->opaque;
	uint64_t n;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));
	vsock_lock(d);
	if (virtio_live(&d->vdev)) {
		if (d->vdev.vq[TXQ].ready)
			process_tx(d);
		flush_rx(d);
	}
	vsock_unlock(d);
}

/*
 * The driver reset the device: every connection is gone (5.10.6.6). This
 * runs on a vCPU thread, but connections belong to the loop thread (their
 * fds, their memory), so it only leaves a note and wakes the loop.
 */
static void
vsock_reset(struct virtio_dev *vdev)
{
	struct vsock_dev *d = (struct vsock_dev *)vdev;
	uint64_t one = 1;

	d->reset_pending = true;
	(void)!write(d->vdev.vq[TXQ].kick_fd, &one, sizeof(one));
}

/**
 * vsock_lock() - take the device lock on the loop thread, first closing
 * every connection if the driver reset the device meanwhile.
 */
void
vsock_lock(struct vsock_dev *d)
{
	pthread_mutex_lock(&d->vdev.lock);
	if (!d->reset_pending)
		return;
	d->reset_pending = false;
	for (unsigned h = 0; h < HASH_SIZE; h++)
		while (d->hash[h])
			conn_close(d->hash[h]);
	d->n_rst = 0;
}

/**
 * vsock_unlock() - release the device lock.
 */
void
vsock_unlock(struct vsock_dev *d)
{
	pthread_mutex_unlock(&d->vdev.lock);
}

/* The connections, as far as a stall is concerned: who owes whom bytes or credit. */
static void
vsock_dump(struct virtio_dev *vdev)
{
	struct vsock_dev *d = (struct vsock_dev *)vdev;

	log_state("virtio-vsock: %u connections, %u resets queued%s%s", d->nconns, d->n_rst,
		  d->sendq ? ", packets waiting for receive buffers" : "",
		  d->reset_pending ? ", reset pending" : "");
	for (unsigned h = 0; h < HASH_SIZE; h++)
		for (const struct conn *c = d->hash[h]; c; c = c->hnext)
			log_state("virtio-vsock: host port %#x guest port %u: owes %#x, "
				  "sent %u of credit %u, %u bytes buffered for the host%s%s",
				  c->host_port, c->guest_port, c->owe, c->tx_cnt - c->peer_fwd_cnt,
				  c->peer_buf_alloc, c->buf_len, c->in_eof ? ", host EOF" : "",
				  c->peer_shut ? ", guest shut down" : "");
}

static const void *
vsock_config(struct virtio_dev *vdev, uint32_t *len)
{
	struct vsock_dev *d = (struct vsock_dev *)vdev;

	*len = sizeof(d->config);
	return &d->config;
}

static const struct virtio_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.features = 0,
	.nqueues = 3,
	.config = vsock_config,
	.reset = vsock_reset,
	.dump = vsock_dump,
};

/**
 * vsock_create() - a vsock device for a guest with CID @guest_cid.
 * @vm:        the VM.
 * @loop:      the event loop the device's work runs on.
 * @base:      MMIO window.
 * @irq:       IOAPIC pin.
 * @guest_cid: the guest's address, 3 or more.
 *
 * Return: the device, or NULL with errno set.
 */
struct vsock_dev *
vsock_create(struct vm *vm, struct loop *loop, uint64_t base, unsigned irq,
	     uint64_t guest_cid)
{
	struct vsock_dev *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return NULL;
	d->loop = loop;
	d->guest_cid = guest_cid;
	d->config.guest_cid = guest_cid;
	err = virtio_mmio_init(&d->vdev, &vsock_ops, vm, base, irq);
	for (unsigned q = RXQ; !err && q <= TXQ; q++)
		err = loop_add(loop, &d->kick_ev[q], EV_KICK, d->vdev.vq[q].kick_fd,
			       EPOLLIN, kick, d);
	if (err) {
		errno = -err;
		return NULL;
	}
	return d;
}

/**
 * vsock_expose() - let the guest connect, once, to host port @port.
 * @d:      the device.
 * @port:   the host port (CID 2).
 * @in_fd:  host data for the guest is read here, or -1.
 * @out_fd: data from the guest is written here, or -1.
 *
 * The fds stay capsa's; they are never closed here. Pollable fds must be
 * non-blocking; regular files may block.
 *
 * Return: 0, or -ENOSPC.
 */
int
vsock_expose(struct vsock_dev *d, uint32_t port, int in_fd, int out_fd)
{
	if (d->nports == MAX_PORTS)
		return -ENOSPC;
	d->ports[d->nports++] = (struct vsock_port){ port, in_fd, out_fd, false };
	return 0;
}

