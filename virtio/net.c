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
 * Receive (net_rx.c): frames go from the tap straight into receive chains
 * the device holds until they can take a largest frame; only while the
 * driver has posted too few does a frame wait in a buffer of capsa's.
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

#include "net_int.h"
#include "../vmm/util.h"

/**
 * net_begin_io() - let go of the device lock for tap I/O on chains the
 * device holds: the vCPUs may use the registers meanwhile, and a reset
 * waits for net_end_io().
 * @d: the device, its lock held.
 *
 * Return: the generation, for net_end_io().
 */
unsigned
net_begin_io(struct net_dev *d)
{
	unsigned gen = d->gen;

	d->busy = true;
	pthread_mutex_unlock(&d->vdev.lock);
	return gen;
}

/**
 * net_end_io() - take the device lock back after tap I/O.
 * @d:   the device.
 * @gen: what net_begin_io() returned.
 * @q:   the queue the I/O was for.
 *
 * Return: whether its results still belong to the device's rings: no reset
 * since, the device runs and queue @q is ready.
 */
bool
net_end_io(struct net_dev *d, unsigned gen, unsigned q)
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
	unsigned from = d->tx_done, i = from, gen = net_begin_io(d);
	int res[TX_BATCH];

	for (; i < d->tx_n; i++) {
		res[i] = tx_write(d->tap_fd, &d->tx[i], features);
		if (res[i] == -EAGAIN)
			break;
	}
	if (!net_end_io(d, gen, TXQ)) {
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

/* ---- serving the queues -------------------------------------------------- */

/* One interrupt for what both queues returned, if the driver asked for it. */
static void
interrupt(struct net_dev *d)
{
	struct virtq *rq = &d->vdev.vq[RXQ], *tq = &d->vdev.vq[TXQ];
	/* Both asked, always: each call moves its queue's EVENT_IDX mark. */
	bool rx = d->rx_used && rq->ready && vq_wants_interrupt(rq);
	bool tx = d->tx_used && tq->ready && vq_wants_interrupt(tq);
	bool need = rx || tx;

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

	if (write(d->vdev.vq[q].kick_fd, &one, sizeof(one)) == sizeof(one))
		d->self_kicks[q]++;	/* not the guest's: not counted as its kicks */
}

/* Serve both queues until there is nothing left to do; with the lock held. */
static void
serve(struct net_dev *d)
{
	if (d->vdev.vq[TXQ].ready)
		vq_notify(&d->vdev.vq[TXQ], false);
	if (d->vdev.vq[RXQ].ready)
		net_set_offloads(d);
	for (unsigned round = 0; round < ROUNDS; round++) {
		int t = tx_round(d), r = net_rx_round(d);

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
	for (unsigned q = 0; q < 2; q++) {
		uint64_t own = MIN(d->self_kicks[q], d->woke_kicks[q]);

		d->st.kicks[q] += d->woke_kicks[q] - own;
		d->self_kicks[q] -= own;
	}
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
