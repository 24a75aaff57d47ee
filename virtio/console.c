// SPDX-License-Identifier: MIT
/*
 * console.c - virtio-console (virtio 1.2, 5.3) with one port and no input:
 * the guest kernel's console (hvc0) with --verbose.
 *
 * The 8250 costs a VM exit per byte, two with the status register it polls
 * first, and made a verbose boot three times slower than a quiet one. Here
 * hvc0 hands over its log a chunk (up to 16 bytes) per kick, and the kernel
 * replays the messages it printed before the device came up (with
 * boot/patches/virtio-console-replay.patch), so the log is complete from
 * its first line. Each console write spins until its buffer comes back, so
 * the kick is served right on the vCPU thread that made it (virtio_ops
 * .notify, no ioeventfd): a round trip through the event loop thread cost
 * more than the copy. That also puts a panic's last lines out before the
 * guest resets. The receive queue is never filled: the guest reads
 * nothing from the host here.
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "console.h"
#include "virtio.h"
#include "../vmm/klog.h"

enum { RXQ, TXQ };

struct console_dev {
	struct virtio_dev vdev;		/* first: the transport's view */
	struct klog *log;
	struct vq_chain chain;		/* scratch, too large for the stack */
};

/* Every chain the driver queued: its readable bytes go to the log. */
static void
drain_tx(struct console_dev *d)
{
	struct virtq *q = &d->vdev.vq[TXQ];
	bool used = false;
	int n;

	while (virtio_live(&d->vdev) && q->ready && (n = vq_pop(q, d->vdev.mem, &d->chain)) > 0) {
		for (unsigned i = 0; i < d->chain.n_out; i++)
			klog_write(d->log, d->chain.iov[i].iov_base, d->chain.iov[i].iov_len);
		vq_push(q, d->chain.head, 0);
		used = true;
	}
	if (n < 0)
		virtio_fail(&d->vdev, "malformed descriptor chain");
	if (used && vq_wants_interrupt(q))
		virtio_interrupt(&d->vdev, VIRTIO_INT_USED);
}

/* The driver kicked a queue: on the vCPU thread, with the device lock held. */
static void
console_notify(struct virtio_dev *vdev, unsigned q)
{
	if (q == TXQ)
		drain_tx((struct console_dev *)vdev);
}

static const struct virtio_ops console_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = 0,			/* one port, no size, no emergency write */
	.nqueues = 2,
	.notify = console_notify,
};

/**
 * console_up() - whether the guest's driver has set the device up, that is
 * whether its kernel got as far as hvc0.
 */
bool
console_up(struct console_dev *d)
{
	bool up;

	pthread_mutex_lock(&d->vdev.lock);
	up = virtio_live(&d->vdev);
	pthread_mutex_unlock(&d->vdev.lock);
	return up;
}

/**
 * console_create() - a virtio-console whose output goes to @log.
 * @vm:   the VM.
 * @base: MMIO window.
 * @irq:  IOAPIC pin.
 * @log:  the kernel log.
 *
 * Return: the device, or NULL with errno set.
 */
struct console_dev *
console_create(struct vm *vm, uint64_t base, unsigned irq, struct klog *log)
{
	struct console_dev *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return NULL;
	d->log = log;
	err = virtio_mmio_init(&d->vdev, &console_ops, vm, base, irq);
	if (err) {
		free(d);
		errno = -err;
		return NULL;
	}
	return d;
}
