/* SPDX-License-Identifier: MIT */
/*
 * net.h - virtio-net device with a TAP backend.
 */
#ifndef CAPSA_NET_H
#define CAPSA_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_net.h>

struct vm;
struct loop;
struct net_dev;

/* Largest frame either way: a 64 KiB TSO frame, its Ethernet and VLAN headers. */
#define NET_MAX_FRAME	(65536 + 14 + 4)
#define NET_HDR_LEN	sizeof(struct virtio_net_hdr_v1)

/**
 * struct net_stats - what the device moved and refused, for --verbose.
 * @rx_frames:   frames delivered to the guest.
 * @rx_bytes:    their bytes, without the virtio-net header.
 * @rx_dropped:  frames from the tap the guest cannot take: malformed, an
 *               offload it did not negotiate, or larger than its buffers.
 * @tx_frames:   frames the guest sent that went out on the tap.
 * @tx_bytes:    their bytes.
 * @tx_dropped:  malformed frames from the guest: a bad length or header,
 *               an empty or writable transmit chain.
 * @tx_errors:   frames the tap refused.
 * @bad_buffers: receive chains returned unused (readable, or too small).
 * @kicks:       notifications from the driver, receive and transmit queue
 *               (each is a VM exit).
 * @interrupts:  interrupts raised.
 */
struct net_stats {
	uint64_t rx_frames, rx_bytes, rx_dropped;
	uint64_t tx_frames, tx_bytes, tx_dropped, tx_errors;
	uint64_t bad_buffers;
	uint64_t kicks[2], interrupts;
};

struct net_dev *net_create(struct vm *vm, struct loop *loop, uint64_t base, unsigned irq,
			   int tap_fd, bool offload, const uint8_t mac[6]);
void net_get_stats(struct net_dev *d, struct net_stats *st);
void net_log_stats(struct net_dev *d);
void net_random_mac(uint8_t mac[6]);
int net_tx_check(struct virtio_net_hdr_v1 *h, uint64_t frame_len, uint64_t features);
int net_rx_check(struct virtio_net_hdr_v1 *h, uint64_t frame_len, uint64_t features);

#endif
