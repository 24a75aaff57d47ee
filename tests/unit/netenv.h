/* SPDX-License-Identifier: MIT */
/*
 * netenv.h - a virtio-net device on a fake VM, with its event loop and a
 * SOCK_SEQPACKET socketpair for a tap (one record, one frame, with its
 * 12-byte header), for the unit test and the fuzz harness.
 *
 * The device runs exactly as in capsa: guest kicks arrive on its
 * ioeventfds and the "tap" through the event loop. netenv_pump() serves
 * events until the loop is idle.
 */
#ifndef CAPSA_TEST_NETENV_H
#define CAPSA_TEST_NETENV_H

#include <stdbool.h>
#include <stdint.h>

#include "drv.h"
#include "fake.h"
#include "virtio/net.h"
#include "vmm/loop.h"

#define NETENV_BASE	0xd0000000ULL
#define NETENV_IRQ	5
#define NETENV_RING	0x10000		/* rings of queue i at +i*0x3000 */
#define NETENV_QSIZE	16
#define NETENV_MAX_BATCHES 64

enum { NET_RXQ, NET_TXQ };

struct netenv {
	struct vm vm;
	struct loop loop;
	struct net_dev *dev;
	struct virtio_dev *vdev;	/* the device's transport half */
	struct drv drv;
	int tap[2];			/* [0] the device's tap, [1] the test's end */
};

int netenv_init(struct netenv *e, uint64_t ram, bool offload);
uint32_t netenv_start(struct netenv *e, uint64_t features);
unsigned netenv_pump(struct netenv *e);
void netenv_kick(struct netenv *e, unsigned q);
void netenv_free(struct netenv *e);

#endif
