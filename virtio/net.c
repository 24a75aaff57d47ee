// SPDX-License-Identifier: MIT
/*
 * net.c - virtio-net (virtio 1.2, 5.1) over a TAP interface: one receive
 * and one transmit queue, mergeable receive buffers, and checksum and TCP
 * segmentation offloads when the tap can do them.
 *
 * Theory of operation:
 *
 *   vCPU --QueueNotify--> ioeventfd --+
 *   tap readable / writable ----------+--> the device's epoll --> its thread
 *   thread: lock; rounds of (up to TX_BATCH frames out, RX_BATCH in), an
 *           interrupt decision after each round; unlock
 *
 * Frames cross the tap with the same 12-byte header virtio-net uses
 * (struct virtio_net_hdr_v1), so offloads pass straight through, and each
 * frame is copied once, by the host kernel, straight between the tap and
 * guest memory: writev from the transmit chain, readv into receive chains.
 *
 * Each device is served by a thread of its own, started on its first
 * event (that is, after capsa jailed itself, like blk's workers), so no
 * other device, the guest's output or the signals wait behind a frame,
 * and a frame waits behind none of them. The device lock guards the rings
 * and the device's state, but is not held across the tap's syscalls: the
 * vCPU that reads InterruptStatus never waits for the host's network
 * stack. A reset waits for the tap I/O in flight, whose buffers belong to
 * the driver being reset, and bumps the generation, so that what the I/O
 * returns is dropped rather than pushed onto the new rings.
 *
 * Transmit: each chain is one header and one frame. The header is copied
 * out and checked (net_tx_check(), in net_frame.c), then the frame goes to
 * the tap with one writev from guest memory. A malformed frame is dropped
 * and counted; the chain goes back to the driver either way. Chains are
 * taken TX_BATCH at a time; when the tap would block, the rest wait for
 * EPOLLOUT, with the driver's kicks off.
 *
 * Receive: the device takes receive chains from the ring and holds them
 * until they can take the largest frame the tap may hand over (one chain,
 * without VIRTIO_NET_F_MRG_RXBUF), then reads the next frame into them; the
 * header is copied out and checked (net_rx_check()), and the chains the
 * frame filled are published together; the rest stay for the next frame.
 * A frame the driver cannot take is dropped and counted, and its chains are
 * used again. While the driver has posted less than a largest frame needs,
 * a frame is read into rx_buf instead and copied into as many chains as it
 * needs; it waits there, and the tap is not read again, until the driver
 * posts enough: the host's queue, not capsa's memory, absorbs the burst.
 *
 * Kicks are off while the thread serves a queue anyway (each is a VM exit)
 * and interrupts go out once a round, when the driver asked for one
 * (EVENT_IDX). A ring the driver broke (a bad chain) makes the device
 * NEEDS_RESET; nothing the guest or the tap sends can stop capsa.
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

#define TX_BATCH	16	/* transmit chains taken at a time */
#define RX_BATCH	16	/* frames received in a round */
#define ROUNDS		16	/* rounds in a wake-up, then the thread requeues itself */
#define RX_NEED		(NET_HDR_LEN + NET_MAX_FRAME)	/* room for any frame */

#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
/* EVENT_IDX: the driver asks for an interrupt per batch, not per chain. */
#define NET_FEATURES	(F(MAC) | F(STATUS) | F(MRG_RXBUF) | 1ULL << VIRTIO_RING_F_EVENT_IDX)
#define NET_OFFLOADS	(F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | \
			 F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN))

/*
 * Receive chains taken from the ring, oldest first: chain i is head[i],
 * its writable buffers are the next iovs[i] entries of iov[], trimmed to
 * len[i] <= RX_NEED bytes. At most the queue's size of chains; chains are
 * only added while iov[] has room for a whole one (VQ_MAX_SIZE buffers).
 */
struct rx_pool {
	unsigned n, niov;
	uint64_t cap;			/* sum of len[] */
	uint16_t head[VQ_MAX_SIZE];
	uint16_t iovs[VQ_MAX_SIZE];
	uint32_t len[VQ_MAX_SIZE];
	struct iovec iov[2 * VQ_MAX_SIZE];
};

struct net_dev {
	struct virtio_dev vdev;		/* first: the transport's view */
	struct loop *loop;		/* capsa's: starts the thread */
	struct loop own;		/* the device's: kicks and the tap */
	struct ev start_ev, kick_ev[2], tap_ev;
	pthread_cond_t idle;		/* no tap I/O in flight any more */
	bool busy;			/* tap I/O on chains, without the lock */
	unsigned gen;			/* bumped by reset: older I/O is dropped */
	int tap_fd;
	bool tap_dead;			/* reading it failed for good */
	bool offload;			/* the tap takes TUNSETOFFLOAD */
	unsigned tun_offloads;		/* TUN_F_* set on the tap now */
	struct virtio_net_config config;
	/* what the thread's handlers saw, for serve() (the thread's own) */
	uint64_t woke_kicks[2];
	uint32_t woke_tap;
	/* host -> guest */
	struct rx_pool pool;
	bool rx_stalled;		/* waits for the driver to post buffers */
	size_t rx_len;			/* a frame in rx_buf waiting for them; 0: none */
	/* guest -> host */
	unsigned tx_n, tx_done;		/* chains in tx[], chains of them sent */
	bool tx_blocked;		/* tx[tx_done] waits for the tap to take it */
	struct vq_chain tx[TX_BATCH];
	struct vq_chain scratch;
	bool rx_used, tx_used;		/* chains returned since the last interrupt */
	struct net_stats st;
	uint8_t rx_buf[RX_NEED + 1];	/* +1: too long shows */
};

static bool
has(uint64_t features, unsigned bit)
{
	return features & (1ULL << bit);
}

/*
 * Tap I/O without the lock: begin_io() before, end_io() after, which
 * says whether the results still belong to the device's rings.
 */
static unsigned
begin_io(struct net_dev *d)
{
	d->busy = true;
	pthread_mutex_unlock(&d->vdev.lock);
	return d->gen;
}

static bool
end_io(struct net_dev *d, unsigned gen, unsigned q)
{
	pthread_mutex_lock(&d->vdev.lock);
	d->busy = false;
	pthread_cond_broadcast(&d->idle);
	return gen == d->gen && virtio_live(&d->vdev) && d->vdev.vq[q].ready;
}

/* ---- transmit ------------------------------------------------------------ */

/*
 * Write a transmit chain's frame to the tap.
 * Return: 0 (sent), -EIO (the tap refused it), -EINVAL (malformed: drop),
 * -EAGAIN (the tap is full).
 */
static int
tx_write(int fd, const struct vq_chain *c, uint64_t features)
{
	struct iovec iov[VQ_MAX_SIZE + 1];
	struct virtio_net_hdr_v1 h;
	ssize_t w;

	if (c->n_in || c->out_len < NET_HDR_LEN)
		return -EINVAL;
	iov_to_buf(c->iov, c->n_out, 0, &h, NET_HDR_LEN);
	if (net_tx_check(&h, c->out_len - NET_HDR_LEN, features) < 0)
		return -EINVAL;
	/* The checked copy of the header goes out, not what the guest may change. */
	iov[0] = (struct iovec){ &h, NET_HDR_LEN };
	do {
		w = writev(fd, iov, 1 + (int)iov_slice(c->iov, c->n_out, NET_HDR_LEN, SIZE_MAX,
						       iov + 1));
	} while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EAGAIN)
		return -EAGAIN;
	return w < 0 ? -EIO : 0;
}

/* Return sent chains tx[from, to) to the driver and count them. */
static void
tx_complete(struct net_dev *d, const int *res, unsigned from, unsigned to)
{
	struct virtq *q = &d->vdev.vq[TXQ];

	for (unsigned i = from; i < to; i++) {
		if (res[i] == 0) {
			d->st.tx_frames++;
			d->st.tx_bytes += d->tx[i].out_len - NET_HDR_LEN;
		}
		d->st.tx_dropped += res[i] == -EINVAL;
		d->st.tx_errors += res[i] == -EIO;
		vq_put(q, d->tx[i].head, 0);
	}
	vq_publish(q);
	d->tx_used |= to > from;
}

/* Send what tx[] holds, until the tap would block. Return: chains sent. */
static int
tx_flush(struct net_dev *d)
{
	uint64_t features = d->vdev.driver_features;
	unsigned from = d->tx_done, i = from, gen = begin_io(d);
	int res[TX_BATCH];

	for (; i < d->tx_n; i++) {
		res[i] = tx_write(d->tap_fd, &d->tx[i], features);
		if (res[i] == -EAGAIN)
			break;
	}
	if (!end_io(d, gen, TXQ)) {
		d->tx_n = d->tx_done = 0;
		return 0;
	}
	tx_complete(d, res, from, i);
	d->tx_blocked = i < d->tx_n;
	d->tx_done = i;
	if (!d->tx_blocked)
		d->tx_n = d->tx_done = 0;
	return (int)(i - from);
}

/* Take up to TX_BATCH chains and send them. Return: chains sent, or -EINVAL. */
static int
tx_round(struct net_dev *d)
{
	struct virtq *q = &d->vdev.vq[TXQ];
	int n = 0;

	if (!q->ready || d->tx_blocked)
		return 0;
	/* A batch the tap blocked goes out whole before the next one is taken. */
	while (d->tx_done == 0 && d->tx_n < TX_BATCH &&
	       (n = vq_pop(q, d->vdev.mem, &d->tx[d->tx_n])) > 0)
		d->tx_n++;
	if (n < 0) {
		virtio_fail(&d->vdev, "malformed transmit descriptor chain");
		return -EINVAL;
	}
	return d->tx_n ? tx_flush(d) : 0;
}

/* ---- receive: the chains held ------------------------------------------- */

/* Enough chains held to read a frame into: room for any frame, or one chain. */
static bool
pool_ready(const struct net_dev *d)
{
	const struct rx_pool *p = &d->pool;

	if (!has(d->vdev.driver_features, VIRTIO_NET_F_MRG_RXBUF))
		return p->n > 0;
	return p->cap >= RX_NEED;
}

/* No more chains may be held: a frame larger than them can never fit. */
static bool
pool_full(const struct net_dev *d)
{
	const struct rx_pool *p = &d->pool;

	if (!has(d->vdev.driver_features, VIRTIO_NET_F_MRG_RXBUF))
		return p->n > 0;
	return p->n >= d->vdev.vq[RXQ].size || p->niov > VQ_MAX_SIZE;
}

/*
 * Take receive chains until the pool is ready or full. A usable chain is
 * writable only and has room for a header (5.1.6.3.1); unusable ones go
 * back empty, counted.
 * Return: 0, or -EINVAL when the ring is malformed.
 */
static int
pool_fill(struct net_dev *d)
{
	struct virtq *q = &d->vdev.vq[RXQ];
	struct rx_pool *p = &d->pool;
	struct vq_chain *c = &d->scratch;
	int n;

	while (!pool_ready(d) && !pool_full(d)) {
		n = vq_pop(q, d->vdev.mem, c);
		if (n <= 0)
			return n;
		if (c->n_out || c->in_len < NET_HDR_LEN) {
			vq_push(q, c->head, 0);
			d->rx_used = true;
			d->st.bad_buffers++;
			continue;
		}
		p->head[p->n] = c->head;
		p->iovs[p->n] = (uint16_t)iov_slice(c->iov, c->n_in, 0, RX_NEED, p->iov + p->niov);
		p->len[p->n] = (uint32_t)MIN(c->in_len, RX_NEED);
		p->niov += p->iovs[p->n];
		p->cap += p->len[p->n++];
	}
	return 0;
}

/* The first @m chains are the driver's again: drop them from the pool. */
static void
pool_consume(struct rx_pool *p, unsigned m)
{
	unsigned iovs = 0;

	for (unsigned i = 0; i < m; i++) {
		iovs += p->iovs[i];
		p->cap -= p->len[i];
	}
	p->n -= m;
	p->niov -= iovs;
	memmove(p->head, p->head + m, p->n * sizeof(p->head[0]));
	memmove(p->iovs, p->iovs + m, p->n * sizeof(p->iovs[0]));
	memmove(p->len, p->len + m, p->n * sizeof(p->len[0]));
	memmove(p->iov, p->iov + iovs, p->niov * sizeof(p->iov[0]));
}

/* Copy @len bytes of @buf into the pool's chains, in order. Return: bytes copied. */
static size_t
pool_copy(struct rx_pool *p, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0, iov = 0; i < p->n && done < len; iov += p->iovs[i++])
		done += iov_from_buf(p->iov + iov, p->iovs[i], 0, buf + done, len - done);
	return done;
}

/* ---- receive: frames ----------------------------------------------------- */

/*
 * The pool's chains hold a frame of @n bytes (header included): check its
 * header and hand the chains it filled to the driver, all at once. A frame
 * that is malformed, asks for an offload the driver lacks, or was longer
 * than the chains is dropped; its chains stay in the pool.
 */
static void
rx_deliver(struct net_dev *d, size_t n)
{
	struct virtq *q = &d->vdev.vq[RXQ];
	struct rx_pool *p = &d->pool;
	struct virtio_net_hdr_v1 h;
	size_t left = n;
	unsigned m = 0;

	/* Chain 0 has room for a header: pool_fill() saw to it. */
	if (n < NET_HDR_LEN || n > p->cap ||
	    iov_to_buf(p->iov, p->iovs[0], 0, &h, NET_HDR_LEN) != NET_HDR_LEN ||
	    net_rx_check(&h, n - NET_HDR_LEN, d->vdev.driver_features) < 0) {
		d->st.rx_dropped++;
		return;
	}
	for (; left; m++) {
		uint32_t l = (uint32_t)MIN(left, p->len[m]);

		vq_put(q, p->head[m], l);
		left -= l;
	}
	h.num_buffers = (uint16_t)m;
	iov_from_buf(p->iov, p->iovs[0], 0, &h, NET_HDR_LEN);
	vq_publish(q);
	pool_consume(p, m);
	d->st.rx_frames++;
	d->st.rx_bytes += n - NET_HDR_LEN;
	d->rx_used = true;
}

/* A read from the tap failed: EAGAIN is the end of its frames for now. */
static void
rx_failed(struct net_dev *d, int err)
{
	if (err == EAGAIN || err == EINTR)
		return;
	log_warn("virtio-net: reading the tap failed: %s; the guest receives no more",
		 strerror(err));
	d->tap_dead = true;
}

/*
 * Read the next frame straight into the pool's chains, with one byte of
 * our own after them that shows a frame longer than they are (a tap
 * returns its full length, a socket what fit).
 * Return: 1 when a frame was delivered or dropped, 0 when there is none.
 */
static int
rx_direct(struct net_dev *d)
{
	struct iovec iov[2 * VQ_MAX_SIZE + 1];
	uint8_t guard;
	unsigned n = d->pool.niov, gen;
	ssize_t r;
	int err;

	memcpy(iov, d->pool.iov, n * sizeof(iov[0]));
	iov[n] = (struct iovec){ &guard, 1 };
	gen = begin_io(d);
	r = readv(d->tap_fd, iov, (int)n + 1);
	err = errno;
	if (!end_io(d, gen, RXQ))
		return 0;
	if (r < 0) {
		rx_failed(d, err);
		return 0;
	}
	rx_deliver(d, (size_t)r);
	return 1;
}

/*
 * Too few buffers for a largest frame: read one into rx_buf, to wait
 * there for them. Return: as rx_direct().
 */
static int
rx_bounce(struct net_dev *d)
{
	unsigned gen = begin_io(d);
	ssize_t r = read(d->tap_fd, d->rx_buf, sizeof(d->rx_buf));
	int err = errno;

	if (!end_io(d, gen, RXQ))
		return 0;
	if (r < 0) {
		rx_failed(d, err);
		return 0;
	}
	/* Longer than any frame, or shorter than a header: nothing to wait for. */
	if ((size_t)r < NET_HDR_LEN || (size_t)r > RX_NEED)
		d->st.rx_dropped++;
	else
		d->rx_len = (size_t)r;
	return 1;
}

/*
 * Copy the frame in rx_buf into the pool once it fits; one that can never
 * fit (the pool is full) is dropped.
 * Return: 1 when it is delivered or dropped, 0 when it waits for buffers.
 */
static int
rx_place(struct net_dev *d)
{
	struct rx_pool *p = &d->pool;
	size_t n = d->rx_len;

	if (p->cap < n && !pool_full(d))
		return 0;
	if (p->cap < n || pool_copy(p, d->rx_buf, n) != n)
		d->st.rx_dropped++;
	else
		rx_deliver(d, n);
	d->st.rx_bounced++;
	d->rx_len = 0;
	return 1;
}

static bool
rx_live(const struct net_dev *d)
{
	return virtio_live(&d->vdev) && d->vdev.vq[RXQ].ready && !d->tap_dead;
}

/*
 * Move up to RX_BATCH frames from the tap to the guest.
 * Return: frames moved (delivered or dropped), or -EINVAL.
 */
static int
rx_round(struct net_dev *d)
{
	int moved = 0, r = 1;

	while (moved < RX_BATCH && r > 0 && rx_live(d)) {
		if (pool_fill(d) < 0) {
			virtio_fail(&d->vdev, "malformed receive descriptor chain");
			return -EINVAL;
		}
		if (d->rx_len)
			r = rx_place(d);
		else if (pool_ready(d))
			r = rx_direct(d);
		else
			r = rx_bounce(d);
		moved += r && !d->rx_len;
	}
	d->rx_stalled = d->rx_len != 0;
	return moved;
}

/* ---- serving the queues -------------------------------------------------- */

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

/* One interrupt for what both queues returned, if the driver asked for it. */
static void
interrupt(struct net_dev *d)
{
	struct virtq *rq = &d->vdev.vq[RXQ], *tq = &d->vdev.vq[TXQ];
	bool need = (d->rx_used && rq->ready && vq_wants_interrupt(rq)) ||
		    (d->tx_used && tq->ready && vq_wants_interrupt(tq));

	d->rx_used = d->tx_used = false;
	if (need) {
		d->st.interrupts++;
		virtio_interrupt(&d->vdev, VIRTIO_INT_USED);
	}
}

/*
 * Nothing more to do for now: ask for the kicks that matter, the transmit
 * queue's unless a frame waits for the tap, the receive queue's only when
 * a frame waits for buffers.
 * Return: whether chains came while the kicks were off (no kick for them).
 */
static bool
settle(struct net_dev *d)
{
	struct virtq *tq = &d->vdev.vq[TXQ], *rq = &d->vdev.vq[RXQ];
	bool more = false;

	if (tq->ready && !d->tx_blocked) {
		vq_notify(tq, true);
		more = vq_has_avail(tq);
	}
	if (rq->ready) {
		vq_notify(rq, d->rx_stalled);
		more |= d->rx_stalled && vq_has_avail(rq);
	}
	return more;
}

/* Read the tap only while a frame could go somewhere; wait to write only when blocked. */
static void
update_poll(struct net_dev *d)
{
	uint32_t events = 0;

	if (virtio_live(&d->vdev) && d->vdev.vq[RXQ].ready && !d->rx_stalled && !d->tap_dead)
		events |= EPOLLIN;
	if (virtio_live(&d->vdev) && d->tx_blocked)
		events |= EPOLLOUT;
	loop_set(&d->own, &d->tap_ev, events);
}

/* Kick queue @q ourselves: there is more to do after a look at the fds. */
static void
requeue(struct net_dev *d, unsigned q)
{
	uint64_t one = 1;

	(void)!write(d->vdev.vq[q].kick_fd, &one, sizeof(one));
}

/* Serve both queues until there is nothing left to do; with the lock held. */
static void
serve(struct net_dev *d)
{
	if (d->vdev.vq[TXQ].ready)
		vq_notify(&d->vdev.vq[TXQ], false);
	if (d->vdev.vq[RXQ].ready)
		set_offloads(d);
	for (unsigned round = 0; round < ROUNDS; round++) {
		int t = tx_round(d), r = rx_round(d);

		interrupt(d);
		if (t < 0 || r < 0 || !virtio_live(&d->vdev))
			return;
		if (!t && !r && !settle(d))
			return;
	}
	requeue(d, TXQ);
}

/* ---- the device's thread ------------------------------------------------- */

static void
on_kick(struct ev *ev, uint32_t events)
{
	struct net_dev *d = ev->opaque;
	uint64_t n = 0;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));
	d->woke_kicks[ev == &d->kick_ev[TXQ]] += n;
}

static void
on_tap(struct ev *ev, uint32_t events)
{
	struct net_dev *d = ev->opaque;

	d->woke_tap |= events;
}

/**
 * net_poll() - wait up to @timeout ms for the device's fds, then serve it.
 * @d:       the device.
 * @timeout: for epoll_wait(); 0 to serve only what is ready.
 *
 * The body of the device's thread; tests and fuzzers call it instead.
 *
 * Return: the number of fds that were ready.
 */
int
net_poll(struct net_dev *d, int timeout)
{
	struct epoll_event evs[3];
	int n = epoll_wait(d->own.epfd, evs, 3, timeout);

	for (int i = 0; i < n; i++) {
		struct ev *ev = evs[i].data.ptr;

		ev->fn(ev, evs[i].events);
	}
	if (n <= 0)
		return 0;
	pthread_mutex_lock(&d->vdev.lock);
	d->st.kicks[0] += d->woke_kicks[0];
	d->st.kicks[1] += d->woke_kicks[1];
	if (d->woke_tap & (EPOLLOUT | EPOLLERR))
		d->tx_blocked = false;
	d->woke_kicks[0] = d->woke_kicks[1] = d->woke_tap = 0;
	if (virtio_live(&d->vdev))
		serve(d);
	update_poll(d);
	pthread_mutex_unlock(&d->vdev.lock);
	return n;
}

static void *
net_thread(void *arg)
{
	for (;;)
		net_poll(arg, -1);
	return NULL;
}

/*
 * The device's first event, on capsa's loop: start its thread. That is
 * after capsa jailed itself, which needs it single-threaded (jail/jail.c),
 * since the guest runs only then.
 */
static void
start(struct ev *ev, uint32_t events)
{
	struct net_dev *d = ev->opaque;
	pthread_t t;
	int e;

	(void)events;
	loop_del(d->loop, &d->start_ev);
	e = pthread_create(&t, NULL, net_thread, d);
	if (e) {
		pthread_mutex_lock(&d->vdev.lock);
		virtio_fail(&d->vdev, "cannot start the device's thread");
		pthread_mutex_unlock(&d->vdev.lock);
	}
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
 * gone, and with them the chains held and any frame waiting. Tap I/O in
 * flight finishes first: its buffers are the old driver's.
 */
static void
net_reset(struct virtio_dev *vdev)
{
	struct net_dev *d = (struct net_dev *)vdev;

	d->gen++;
	while (d->busy)
		pthread_cond_wait(&d->idle, &vdev->lock);
	d->pool.n = d->pool.niov = 0;
	d->pool.cap = 0;
	d->rx_len = 0;
	d->tx_n = d->tx_done = 0;
	d->rx_stalled = d->tx_blocked = false;
	d->rx_used = d->tx_used = false;
	if (d->tap_ev.fn)
		loop_set(&d->own, &d->tap_ev, 0);
}

static void
net_dump(struct virtio_dev *vdev)
{
	struct net_dev *d = (struct net_dev *)vdev;

	log_state("virtio-net@%#llx: %u receive chains held (%llu bytes)%s%s; "
		  "%u transmit chains taken, %u sent%s", (unsigned long long)vdev->base,
		  d->pool.n, (unsigned long long)d->pool.cap, d->rx_len ? ", a frame waiting" : "",
		  d->rx_stalled ? ", waiting for buffers" : "", d->tx_n, d->tx_done,
		  d->tx_blocked ? ", waiting for the tap" : "");
}

static const struct virtio_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.features = NET_FEATURES,
	.nqueues = 2,
	.config = net_config,
	.reset = net_reset,
	.dump = net_dump,
};

/* The same device on a tap that takes TUNSETOFFLOAD. */
static const struct virtio_ops net_offload_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.features = NET_FEATURES | NET_OFFLOADS,
	.nqueues = 2,
	.config = net_config,
	.reset = net_reset,
	.dump = net_dump,
};

/* The device's fds on its own loop, and that loop on capsa's. */
static int
add_fds(struct net_dev *d)
{
	int err = loop_init(&d->own);

	for (unsigned q = RXQ; !err && q <= TXQ; q++)
		err = loop_add(&d->own, &d->kick_ev[q], EV_KICK, d->vdev.vq[q].kick_fd,
			       EPOLLIN, on_kick, d);
	if (!err)
		err = loop_add(&d->own, &d->tap_ev, EV_HOST_IO, d->tap_fd, 0, on_tap, d);
	if (!err)
		err = loop_add(d->loop, &d->start_ev, EV_KICK, d->own.epfd, EPOLLIN, start, d);
	return err;
}

/**
 * net_create() - a virtio-net device whose wire is the tap @tap_fd.
 * @vm:      the VM.
 * @loop:    capsa's event loop: the device's first event there starts its
 *           thread, which then serves it.
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
	d->own.epfd = -1;
	d->tap_fd = tap_fd;
	d->offload = offload;
	pthread_cond_init(&d->idle, NULL);
	memcpy(d->config.mac, mac, sizeof(d->config.mac));
	d->config.status = VIRTIO_NET_S_LINK_UP;
	err = virtio_mmio_init(&d->vdev, offload ? &net_offload_ops : &net_ops, vm, base, irq);
	if (!err)
		err = add_fds(d);
	if (err) {
		errno = -err;
		return NULL;
	}
	return d;
}

/**
 * net_destroy() - free a device whose thread never started (tests and
 * fuzzers; capsa's devices live until it exits). The tap stays open.
 */
void
net_destroy(struct net_dev *d)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (d->vdev.vq[q].kick_fd >= 0)
			close(d->vdev.vq[q].kick_fd);
	close(d->vdev.irq_fd);
	if (d->own.epfd >= 0)
		close(d->own.epfd);
	pthread_mutex_destroy(&d->vdev.lock);
	pthread_cond_destroy(&d->idle);
	free(d);
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
	log_info("eth0: received %llu frames (%llu bytes), dropped %llu, %llu through a bounce "
		 "buffer; sent %llu (%llu bytes), dropped %llu malformed, %llu refused by the tap; "
		 "%llu unusable receive buffers; kicks %llu rx, %llu tx; %llu interrupts",
		 (unsigned long long)st.rx_frames, (unsigned long long)st.rx_bytes,
		 (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_bounced,
		 (unsigned long long)st.tx_frames,
		 (unsigned long long)st.tx_bytes, (unsigned long long)st.tx_dropped,
		 (unsigned long long)st.tx_errors, (unsigned long long)st.bad_buffers,
		 (unsigned long long)st.kicks[0], (unsigned long long)st.kicks[1],
		 (unsigned long long)st.interrupts);
}
