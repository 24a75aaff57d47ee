/* SPDX-License-Identifier: MIT */
/*
 * net_int.h - what the two halves of the virtio-net device share: the
 * device (net.c: its thread, transmit, the transport's callbacks) and its
 * receive side (net_rx.c). Not for other users.
 */
#ifndef CAPSA_NET_INT_H
#define CAPSA_NET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "net.h"
#include "virtio.h"
#include "../vmm/loop.h"

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
	uint64_t self_kicks[2];		/* requeue()'s, not yet seen by a handler */
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

static inline bool
net_has(uint64_t features, unsigned bit)
{
	return features & (1ULL << bit);
}

unsigned net_begin_io(struct net_dev *d);
bool net_end_io(struct net_dev *d, unsigned gen, unsigned q);
void net_set_offloads(struct net_dev *d);
int net_rx_round(struct net_dev *d);

#endif
