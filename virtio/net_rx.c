// SPDX-License-Identifier: MIT
/*
 * net_rx.c - virtio-net's receive side: frames from the tap into the
 * receive chains the device holds (see the Theory of Operation in net.c).
 *
 * The device takes receive chains from the ring and holds them in its pool
 * until they can take the largest frame the tap may hand over (one chain,
 * without VIRTIO_NET_F_MRG_RXBUF), then reads the next frame straight into
 * them; the header is copied out and checked (net_rx_check()), and the
 * chains the frame filled are published together; the rest stay for the
 * next frame. A frame the driver cannot take is dropped and counted, and
 * its chains are used again. While the driver has posted less than a
 * largest frame needs, a frame is read into rx_buf instead and copied into
 * as many chains as it needs; it waits there, and the tap is not read
 * again, until the driver posts enough: the host's queue, not capsa's
 * memory, absorbs the burst.
 *
 * Everything here runs on the device's thread with the device lock held,
 * but for the reads from the tap (net_begin_io()).
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net_int.h"
#include "../vmm/tap.h"
#include "../vmm/util.h"

/* ---- receive: the chains held ------------------------------------------- */

/* Enough chains held to read a frame into: room for any frame, or one chain. */
static bool
pool_ready(const struct net_dev *d)
{
	const struct rx_pool *p = &d->pool;

	if (!net_has(d->vdev.driver_features, VIRTIO_NET_F_MRG_RXBUF))
		return p->n > 0;
	return p->cap >= RX_NEED;
}

/* No more chains may be held: a frame larger than them can never fit. */
static bool
pool_full(const struct net_dev *d)
{
	const struct rx_pool *p = &d->pool;

	if (!net_has(d->vdev.driver_features, VIRTIO_NET_F_MRG_RXBUF))
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

	/* At most a ring's worth a call: a guest re-posting bad chains can't hold the lock. */
	for (unsigned k = 0; k < q->size && !pool_ready(d) && !pool_full(d); k++) {
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
	gen = net_begin_io(d);
	r = readv(d->tap_fd, iov, (int)n + 1);
	err = errno;
	if (!net_end_io(d, gen, RXQ))
		return 0;
	if (r <= 0) {
		rx_failed(d, r ? err : EPIPE);	/* a tap never reads 0; a socket's gone peer does */
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
	unsigned gen = net_begin_io(d);
	ssize_t r = read(d->tap_fd, d->rx_buf, sizeof(d->rx_buf));
	int err = errno;

	if (!net_end_io(d, gen, RXQ))
		return 0;
	if (r <= 0) {
		rx_failed(d, r ? err : EPIPE);
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

/**
 * net_rx_round() - move up to RX_BATCH frames from the tap to the guest.
 * @d: the device, its lock held; its receive queue may be not ready.
 *
 * Sets rx_stalled when a frame waits for the driver to post buffers.
 *
 * Return: frames moved (delivered or dropped), or -EINVAL when the driver
 * broke the ring (the device is then NEEDS_RESET).
 */
int
net_rx_round(struct net_dev *d)
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

/**
 * net_set_offloads() - offload what the driver takes, so that the tap
 * hands over only frames it can.
 * @d: the device, its lock held.
 */
void
net_set_offloads(struct net_dev *d)
{
	uint64_t f = d->vdev.driver_features;
	unsigned want = 0;
	int e;

	if (!d->offload)
		return;
	if (net_has(f, VIRTIO_NET_F_GUEST_CSUM))
		want |= TUN_F_CSUM;
	if (net_has(f, VIRTIO_NET_F_GUEST_TSO4))
		want |= TUN_F_TSO4;
	if (net_has(f, VIRTIO_NET_F_GUEST_TSO6))
		want |= TUN_F_TSO6;
	if (net_has(f, VIRTIO_NET_F_GUEST_ECN))
		want |= TUN_F_TSO_ECN;
	if (want == d->tun_offloads)
		return;
	/* The check on receive drops what a stale setting lets through. */
	e = tap_set_offload(d->tap_fd, want);
	if (e < 0)
		log_warn("virtio-net: cannot set the tap's offloads to %#x: %s", want, strerror(-e));
	d->tun_offloads = want;
}

