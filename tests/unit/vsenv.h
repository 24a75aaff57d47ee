/* SPDX-License-Identifier: MIT */
/*
 * vsenv.h - a virtio-vsock device on a fake VM, with its event loop and
 * socketpairs as host fds, for the unit test and the fuzz harness.
 *
 * The device runs exactly as in capsa: guest kicks arrive on its ioeventfds
 * and host fds through the event loop. vsenv_pump() serves events until
 * the loop is idle.
 */
#ifndef CAPSA_TEST_VSENV_H
#define CAPSA_TEST_VSENV_H

#include <linux/virtio_vsock.h>

#include "drv.h"
#include "fake.h"
#include "guest/proto.h"
#include "virtio/vsock.h"
#include "vmm/loop.h"

#define VSENV_BASE	0xd0000000ULL
#define VSENV_IRQ	5
#define VSENV_CID	3
#define VSENV_RING	0x10000		/* rings of queue i at +i*0x3000 */
#define VSENV_QSIZE	16
#define VSENV_RXBUF	0x100000	/* 16 receive buffers of 4 KiB */
#define VSENV_TXBUF	0x200000	/* transmit buffers, 128 KiB apart */
#define VSENV_MAX_BATCHES 64
#define VSENV_CONN_BUF	(256 * 1024)	/* the device's buf_alloc */

enum { VS_RXQ, VS_TXQ, VS_EVQ };

/* Host ports exposed: fds [0] are capsa's, [1] the test's. */
enum { VS_CONTROL, VS_STDIN, VS_STDOUT, VS_STDERR, VS_SLOW1, VS_SLOW2, VS_NPORTS };
extern const uint32_t vsenv_port[VS_NPORTS];

struct vsenv {
	struct vm vm;
	struct loop loop;
	struct vsock_dev *dev;
	struct virtio_dev *vdev;	/* the device's transport half */
	struct drv drv;
	int host[VS_NPORTS][2];
};

int vsenv_init(struct vsenv *e, uint64_t ram);
unsigned vsenv_pump(struct vsenv *e);
void vsenv_kick(struct vsenv *e, unsigned q);
void vsenv_free(struct vsenv *e);

#endif
