/* SPDX-License-Identifier: MIT */
/*
 * netcase.h - what the virtio-net device tests (t_net.c, t_net_tx.c) share:
 * one device on a fake VM (netenv.h), guest buffers at fixed addresses, a
 * frame pattern, and looks at the device's state. See netcase.c.
 */
#ifndef CAPSA_TEST_NETCASE_H
#define CAPSA_TEST_NETCASE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netenv.h"

#define F(bit)		(1ULL << VIRTIO_NET_F_##bit)
#define HDR		((uint32_t)NET_HDR_LEN)
#define RXBUF		0x100000ULL	/* receive buffer i at +i * stride */
#define TXBUF		0x200000ULL	/* one transmit frame, up to 128 KiB */
#define BIG		(NET_MAX_FRAME + 64)

typedef struct virtio_net_hdr_v1 vhdr;

extern struct netenv env;
extern uint64_t stride;			/* 4 KiB buffers; 8 KiB for the direct path */
extern uint8_t frame[BIG], got[HDR + BIG];

void *gpa(uint64_t a, uint64_t len);
void fill(uint8_t *f, size_t len, unsigned seed);
struct net_stats stats(void);
bool needs_reset(void);
bool kicks_off(unsigned q);
ssize_t host_recv(void);

#endif
