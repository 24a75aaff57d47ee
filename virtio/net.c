// SPDX-License-Identifier: MIT
/*
 * net.c - virtio-net (virtio 1.2, 5.1) over a TAP interface: one receive
 * and one transmit queue, mergeable receive buffers, and checksum and TCP
 * segmentation offloads when the tap can do them.
 *
 * Frames cross the tap with the same 12-byte header virtio-net uses
 * (struct virtio_net_hdr_v1), so offloads pass straight through: the guest
 * hands partially checksummed 64 KiB TSO frames to the host stack, and the
 * tap hands such frames back once TUNSETOFFLOAD says the guest takes them.
 *
 * Transmit: each chain is one header and one frame. The header is copied
 * out and checked (net_tx_check(), in net_frame.c), then the frame goes to the tap with
 * one writev straight from guest memory. A malformed frame is dropped and
 * counted; the chain goes back to the driver either way.
 *
 * Receive: one frame at a time is read from the tap into rx_buf, checked
 * (net_rx_check()), and copied into as many receive chains as it needs
 * (one, without VIRTIO_NET_F_MRG_RXBUF). The chains of one frame are
 * published together. When the driver has posted too few buffers, the
 * frame waits and the tap is not read again until the driver kicks the
 * receive queue: the host's queue, not capsa's memory, absorbs the burst.
 * A frame that cannot fit even in every chain the device could hold is
 * dropped and counted, and its chains are returned empty.
 *
 * All of it runs on the event loop thread under the device lock. A ring
 * the driver broke (a bad chain) makes the device NEEDS_RESET; nothing the
 * guest or the tap sends can stop capsa.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/virtio_ids.h>

#include "net.h"
#include "virtio.h"
#include "../vmm/loop.h"
#include "../vmm/tap.h"
#include "../vmm/util.h"

enum { RXQ, TXQ };

#define RX_BUDGET	64	/* frames per event, so the loop stays fair */
#define TX_BUDGET	256

#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
/* EVENT_IDX: the driver asks for an interrupt per batch, not per chain. */
#define NET_FEATURES	(F(MAC) | F(STATUS) | F(MRG_RXBUF) | 1ULL << VIRTIO_RING_F_EVENT_IDX)
#define NET_OFFLOADS	(F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | \
			 F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN))

struct net_dev {
	struct virtio_dev vdev;		/* first: the transport's view */
	struct loop *loop;
	struct ev kick_ev[2], tap_ev;
	int tap_fd;
	bool tap_dead;			/* reading it failed for good */
	bool offload;			/* the tap takes TUNSETOFFLOAD */
	unsigned tun_offloads;		/* TUN_F_* set on the tap now */
	struct virtio_net_config config;
	/* host -> guest: a frame from the tap, on its way into receive chains */
	size_t rx_len;			/* header + frame bytes in rx_buf; 0: none */
	size_t rx_off;			/* bytes of it already copied */
	unsigned rx_held;		/* chains it fills so far */
	bool rx_stalled;		/* it waits for the driver to post buffers */
	uint16_t rx_head[VQ_MAX_SIZE];
	uint32_t rx_written[VQ_MAX_SIZE];
	struct vq_chain rx_first;	/* the chain with the header (num_buffers) */
	/* guest -> host */
	bool tx_blocked;		/* tx_chain waits for the tap to take it */
	struct vq_chain tx_chain;
	struct vq_chain scratch;
	bool rx_used, tx_used;		/* chains returned since the last interrupt */
	struct net_stats st;
	uint8_t rx_buf[NET_HDR_LEN + NET_MAX_FRAME + 1];	/* +1: too long shows */
};

static void interrupt(struct net_dev *d);

static bool
has(uint64_t features, unsigned bit)
{
	return features & (1ULL << bit);
}

/* ---- transmit ------------------------------------------------------------ */

/* The bytes of @iov from @off on, as a new iovec in @out; its length. */
static unsigned
iov_tail(const struct iovec *iov, unsigned n, size_t off, struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k++].iov_len = iov[i].iov_len - off;
		off = 0;
	}
	return k;
}

/* Write tx_chain's frame to the tap. Return: 0, -EINVAL (drop), -EAGAIN. */
static int
tx_write(struct net_dev *d)
{
	const struct vq_chain *c = &d->tx_chain;
	struct iovec iov[VQ_MAX_SIZE + 1];
	struct virtio_net_hdr_v1 h;
	ssize_t w;

	if (c->n_in || c->out_len < NET_HDR_LEN)
		return -EINVAL;
	iov_to_buf(c->iov, c->n_out, 0, &h, NET_HDR_LEN);
	if (net_tx_check(&h, c->out_len - NET_HDR_LEN, d->vdev.driver_features) < 0)
		return -EINVAL;
	/* The checked copy of the header goes out, not what the guest may change. */
	iov[0] = (struct iovec){ &h, NET_HDR_LEN };
	w = writev(d->tap_fd, iov, 1 + (int)iov_tail(c->iov, c->n_out, NET_HDR_LEN, iov + 1));
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (w < 0) {
		d->st.tx_errors++;
	} else {
		d->st.tx_frames++;
		d->st.tx_bytes += c->out_len - NET_HDR_LEN;
	}
	return 0;
}

/* Send tx_chain and return it. Return: false when the tap would block. */
static bool
tx_send(struct net_dev *d)
{
	int e = tx_write(d);

	d->tx_blocked = e == -EAGAIN;
	if (d->tx_blocked)
		return false;
	if (e == -EINVAL)
		d->st.tx_dropped++;
	vq_push(&d->vdev.vq[TXQ], d->tx_chain.head, 0);
	d->tx_used = true;
	return true;
}

/* Kick queue @q ourselves: there is more to do after the other events. */
static void
requeue(struct net_dev *d, unsigned q)
{
	uint64_t one = 1;

	(void)!write(d->vdev.vq[q].kick_fd, &one, sizeof(one));
}

/*
 * Send what the driver queued. Its kicks are off meanwhile (each is a VM
 * exit), and back on once the queue is empty; a chain that raced with
 * that, or a full budget, is served on a kick of our own.
 */
static void
process_tx(struct net_dev *d)
{
	struct virtq *q = &d->vdev.vq[TXQ];
	unsigned budget = TX_BUDGET;
	int n = 0;

	if (!q->ready || (d->tx_blocked && !tx_send(d)))
		return;
	vq_notify(q, false);
	while (budget && (n = vq_pop(q, d->vdev.mem, &d->tx_chain)) > 0) {
		if (!tx_send(d))
			return;		/* EPOLLOUT resumes; kicks stay off */
		budget--;
	}
	if (n < 0) {
		virtio_fail(&d->vdev, "malformed transmit descriptor chain");
		return;
	}
	if (budget)
		vq_notify(q, true);
	if (!budget || vq_has_avail(q))
		requeue(d, TXQ);
}

/* ---- receive ------------------------------------------------------------- */

/* Offload what the guest takes, so the tap hands over only frames it can. */
static void
set_offloads(struct net_dev *d)
{
	uint64_t f = d->vdev.driver_features;
	unsigned want = 0;
	int e;

	if (!d->offload)
		return;
	if (has(f, VIRTIO_NET_F_GUEST_CSUM))
		want |= TUN_F_CSUM;
	if (has(f, VIRTIO_NET_F_GUEST_TSO4))
		want |= TUN_F_TSO4;
	if (has(f, VIRTIO_NET_F_GUEST_TSO6))
		want |= TUN_F_TSO6;
	if (has(f, VIRTIO_NET_F_GUEST_ECN))
		want |= TUN_F_TSO_ECN;
	if (want == d->tun_offloads)
		return;
	/* The check on receive drops what a stale setting lets through. */
	e = tap_set_offload(d->tap_fd, want);
	if (e < 0)
		log_warn("virtio-net: cannot set the tap's offloads to %#x: %s", want, strerror(-e));
	d->tun_offloads = want;
}

/* Read the next acceptable frame into rx_buf. Return: whether there is one. */
static bool
rx_read(struct net_dev *d)
{
	struct virtio_net_hdr_v1 h;
	ssize_t n;

	while (!d->tap_dead) {
		n = read(d->tap_fd, d->rx_buf, sizeof(d->rx_buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n < 0) {
			log_warn("virtio-net: reading the tap failed: %s; the guest receives no more",
				 strerror(errno));
			d->tap_dead = true;
			return false;
		}
		memcpy(&h, d->rx_buf, MIN((size_t)n, NET_HDR_LEN));
		if ((size_t)n < NET_HDR_LEN ||
		    net_rx_check(&h, (size_t)n - NET_HDR_LEN, d->vdev.driver_features) < 0) {
			d->st.rx_dropped++;
			continue;
		}
		memcpy(d->rx_buf, &h, NET_HDR_LEN);
		d->rx_len = (size_t)n;
		d->rx_off = 0;
		return true;
	}
	return false;
}

static void
rx_done(struct net_dev *d)
{
	d->rx_len = d->rx_off = 0;
	d->rx_held = 0;
	d->rx_used = true;
}

/* Hand the frame's chains to the driver, all at once. */
static void
rx_publish(struct net_dev *d)
{
	struct virtq *q = &d->vdev.vq[RXQ];
	uint16_t nbuf = (uint16_t)d->rx_held;

	iov_from_buf(d->rx_first.iov, d->rx_first.n_in,
		     offsetof(struct virtio_net_hdr_v1, num_buffers), &nbuf, sizeof(nbuf));
	for (unsigned i = 0; i < d->rx_held; i++)
		vq_put(q, d->rx_head[i], d->rx_written[i]);
	vq_publish(q);
	d->st.rx_frames++;
	d->st.rx_bytes += d->rx_len - NET_HDR_LEN;
	rx_done(d);
}

/* Larger than every chain the device could hold: return them empty. */
static void
rx_drop(struct net_dev *d)
{
	struct virtq *q = &d->vdev.vq[RXQ];

	for (unsigned i = 0; i < d->rx_held; i++)
		vq_put(q, d->rx_head[i], 0);
	vq_publish(q);
	d->st.rx_dropped++;
	rx_done(d);
}

/*
 * Take the next usable receive chain: writable only and room for at least
 * a header (5.1.6.3.1). Unusable ones go back empty, counted.
 * Return: 1, 0 when the ring is empty, -EINVAL when it is malformed.
 */
static int
rx_chain(struct net_dev *d, struct vq_chain *c)
{
	struct virtq *q = &d->vdev.vq[RXQ];
	int n;

	while ((n = vq_pop(q, d->vdev.mem, c)) > 0) {
		if (!c->n_out && c->in_len >= NET_HDR_LEN)
			return 1;
		vq_push(q, c->head, 0);
		d->rx_used = true;
		d->st.bad_buffers++;
	}
	return n < 0 ? -EINVAL : 0;
}

/*
 * Copy the pending frame on into receive chains.
 * Return: 1 when it is delivered or dropped, 0 when it waits for buffers,
 * -EINVAL when the ring is malformed.
 */
static int
rx_fill(struct net_dev *d)
{
	struct virtq *q = &d->vdev.vq[RXQ];
	bool mrg = has(d->vdev.driver_features, VIRTIO_NET_F_MRG_RXBUF);
	unsigned max = mrg ? MIN(q->size, VQ_MAX_SIZE) : 1;

	while (d->rx_off < d->rx_len) {
		struct vq_chain *c = d->rx_held ? &d->scratch : &d->rx_first;
		size_t n;
		int r;

		if (d->rx_held == max) {
			rx_drop(d);
			return 1;
		}
		r = rx_chain(d, c);
		if (r <= 0)
			return r;
		n = iov_from_buf(c->iov, c->n_in, 0, d->rx_buf + d->rx_off, d->rx_len - d->rx_off);
		d->rx_head[d->rx_held] = c->head;
		d->rx_written[d->rx_held++] = (uint32_t)n;
		d->rx_off += n;
	}
	rx_publish(d);
	return 1;
}

/*
 * Move frames from the tap to the guest. The driver's kicks only matter
 * to a frame waiting for buffers, so they are on only then; buffers that
 * raced with turning them on are looked at on a kick of our own.
 */
static void
process_rx(struct net_dev *d)
{
	struct virtq *q = &d->vdev.vq[RXQ];
	int r = 1;

	if (!q->ready)
		return;
	set_offloads(d);
	for (unsigned i = 0; i < RX_BUDGET && r > 0; i++) {
		if (!d->rx_len && !rx_read(d))
			break;
		r = rx_fill(d);
		/* Now, not after the batch: the guest works while we copy. */
		interrupt(d);
	}
	if (r < 0) {
		virtio_fail(&d->vdev, "malformed receive descriptor chain");
		return;
	}
	d->rx_stalled = r == 0;
	vq_notify(q, d->rx_stalled);
	if (d->rx_stalled && vq_has_avail(q))
		requeue(d, RXQ);
}

/* ---- the event loop side ------------------------------------------------- */

/*
 * Read the tap only while a frame could go somewhere: the device runs, the
 * receive queue is up and no frame is waiting for buffers. Wait for the
 * tap to take data only while a frame is blocked.
 */
static void
update_poll(struct net_dev *d)
{
	uint32_t events = 0;

	if (virtio_live(&d->vdev) && d->vdev.vq[RXQ].ready && !d->rx_stalled && !d->tap_dead)
		events |= EPOLLIN;
	if (virtio_live(&d->vdev) && d->tx_blocked)
		events |= EPOLLOUT;
	loop_set(d->loop, &d->tap_ev, events);
}

static void
interrupt(struct net_dev *d)
{
	bool need = (d->rx_used && vq_wants_interrupt(&d->vdev.vq[RXQ])) ||
		    (d->tx_used && vq_wants_interrupt(&d->vdev.vq[TXQ]));

	d->rx_used = d->tx_used = false;
	if (need) {
		d->st.interrupts++;
		virtio_interrupt(&d->vdev, VIRTIO_INT_USED);
	}
}

static void
kick(struct ev *ev, uint32_t events)
{
	struct net_dev *d = ev->opaque;
	uint64_t n = 0;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));
	pthread_mutex_lock(&d->vdev.lock);
	d->st.kicks[ev == &d->kick_ev[TXQ]] += n;
	if (virtio_live(&d->vdev) && ev == &d->kick_ev[TXQ])
		process_tx(d);
	else if (virtio_live(&d->vdev))
		process_rx(d);		/* new buffers: a waiting frame may fit */
	update_poll(d);
	interrupt(d);
	pthread_mutex_unlock(&d->vdev.lock);
}

static void
tap_io(struct ev *ev, uint32_t events)
{
	struct net_dev *d = ev->opaque;

	pthread_mutex_lock(&d->vdev.lock);
	if (virtio_live(&d->vdev) && d->tx_blocked && (events & (EPOLLOUT | EPOLLERR)))
		process_tx(d);
	if (virtio_live(&d->vdev) && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		process_rx(d);
	update_poll(d);
	interrupt(d);
	pthread_mutex_unlock(&d->vdev.lock);
}

/* ---- the transport's callbacks ------------------------------------------- */

static const void *
net_config(struct virtio_dev *vdev, uint32_t *len)
{
	struct net_dev *d = (struct net_dev *)vdev;

	*len = sizeof(d->config);
	return &d->config;
}

/*
 * The driver reset the device (on a vCPU thread, lock held): the rings are
 * gone, and with them any frame half copied or waiting. Only plain state
 * and the tap's registration change here, both guarded by the lock.
 */
static void
net_reset(struct virtio_dev *vdev)
{
	struct net_dev *d = (struct net_dev *)vdev;

	d->rx_len = d->rx_off = 0;
	d->rx_held = 0;
	d->rx_stalled = d->tx_blocked = false;
	d->rx_used = d->tx_used = false;
	if (d->tap_ev.fn)
		loop_set(d->loop, &d->tap_ev, 0);
}

static const struct virtio_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.features = NET_FEATURES,
	.nqueues = 2,
	.config = net_config,
	.reset = net_reset,
};

/* The same device on a tap that takes TUNSETOFFLOAD. */
static const struct virtio_ops net_offload_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.features = NET_FEATURES | NET_OFFLOADS,
	.nqueues = 2,
	.config = net_config,
	.reset = net_reset,
};

/**
 * net_create() - a virtio-net device whose wire is the tap @tap_fd.
 * @vm:      the VM.
 * @loop:    the event loop the device's work runs on.
 * @base:    MMIO window.
 * @irq:     IOAPIC pin.
 * @tap_fd:  the tap, non-blocking, with 12-byte virtio-net headers; it
 *           stays capsa's (never closed here).
 * @offload: the tap takes TUNSETOFFLOAD: offer checksum and TSO offloads.
 * @mac:     the guest's MAC address.
 *
 * Return: the device, or NULL with errno set.
 */
struct net_dev *
net_create(struct vm *vm, struct loop *loop, uint64_t base, unsigned irq,
	   int tap_fd, bool offload, const uint8_t mac[6])
{
	struct net_dev *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return NULL;
	d->loop = loop;
	d->tap_fd = tap_fd;
	d->offload = offload;
	memcpy(d->config.mac, mac, sizeof(d->config.mac));
	d->config.status = VIRTIO_NET_S_LINK_UP;
	err = virtio_mmio_init(&d->vdev, offload ? &net_offload_ops : &net_ops, vm, base, irq);
	for (unsigned q = RXQ; !err && q <= TXQ; q++)
		err = loop_add(loop, &d->kick_ev[q], EV_KICK, d->vdev.vq[q].kick_fd,
			       EPOLLIN, kick, d);
	if (!err)
		err = loop_add(loop, &d->tap_ev, EV_HOST_IO, tap_fd, 0, tap_io, d);
	if (err) {
		errno = -err;
		return NULL;
	}
	return d;
}

/**
 * net_get_stats() - a copy of the device's counters.
 */
void
net_get_stats(struct net_dev *d, struct net_stats *st)
{
	pthread_mutex_lock(&d->vdev.lock);
	*st = d->st;
	pthread_mutex_unlock(&d->vdev.lock);
}

/**
 * net_log_stats() - what the device moved and refused, for --verbose.
 */
void
net_log_stats(struct net_dev *d)
{
	struct net_stats st;

	net_get_stats(d, &st);
	log_info("eth0: received %llu frames (%llu bytes), dropped %llu; sent %llu (%llu bytes), "
		 "dropped %llu malformed, %llu refused by the tap; %llu unusable receive buffers; "
		 "kicks %llu rx, %llu tx; %llu interrupts",
		 (unsigned long long)st.rx_frames, (unsigned long long)st.rx_bytes,
		 (unsigned long long)st.rx_dropped, (unsigned long long)st.tx_frames,
		 (unsigned long long)st.tx_bytes, (unsigned long long)st.tx_dropped,
		 (unsigned long long)st.tx_errors, (unsigned long long)st.bad_buffers,
		 (unsigned long long)st.kicks[0], (unsigned long long)st.kicks[1],
		 (unsigned long long)st.interrupts);
}
