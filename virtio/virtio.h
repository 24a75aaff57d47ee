/* SPDX-License-Identifier: MIT */
/*
 * virtio.h - virtio 1.x over MMIO with split virtqueues (virtio 1.2, 2.7 and
 * 4.2). Modern devices only: VIRTIO_F_VERSION_1 is required.
 *
 * A split virtqueue is three areas in guest memory, all written by the
 * (untrusted) driver except the used ring:
 *
 *   descriptor table          available ring (driver)     used ring (device)
 *   +---------------------+   +-------+-----+---------+   +-------+-----+-------------+
 *   | addr len flags next |   | flags | idx | ring[N] |   | flags | idx | ring[N]     |
 *   | addr len flags next |   +-------+-----+---------+   +-------+-----+-------------+
 *   | ...      N entries  |     ring[] holds chain heads    {id, len}: chains returned
 *   +---------------------+
 *
 * A request is a chain of descriptors linked by `next`: device-readable
 * buffers first, then device-writable ones. Every field above can change
 * under our feet, so each is read once into host memory before it is
 * checked, and vq_pop() is the only code that walks chains.
 */
#ifndef CAPSA_VIRTIO_H
#define CAPSA_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "../vmm/mem.h"

struct vm;

#define VIRTIO_MMIO_SIZE	0x1000
#define VIRTIO_MAX_QUEUES	4
#define VQ_MAX_SIZE		256

#define VIRTIO_REASSERT_MS	1000	/* see virtio_reassert() */

#define VIRTIO_INT_USED		1
#define VIRTIO_INT_CONFIG	2

struct virtq {
	uint16_t size;		/* negotiated entries, a power of two */
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Host views, set when the driver makes the queue ready. */
	struct vring_desc *desc;
	uint16_t *avail;	/* flags, idx, ring[size] */
	uint16_t *used;		/* flags, idx, then {u32 id, u32 len}[size] */
	uint16_t last_avail;	/* next ring slot we will consume */
	uint16_t used_idx;	/* our copy of used->idx */
	bool event_idx;		/* VIRTIO_RING_F_EVENT_IDX negotiated */
	uint16_t signalled;	/* used_idx when we last decided on an interrupt */
	int kick_fd;		/* ioeventfd on QueueNotify for this queue */
};

/* A descriptor chain, copied out and translated: out[] then in[]. */
struct vq_chain {
	uint16_t head;
	uint16_t n_out, n_in;
	uint64_t out_len, in_len;
	struct iovec iov[VQ_MAX_SIZE];
};

struct virtio_dev;

/**
 * struct virtio_ops - what a device type provides to the transport.
 * @name:       for messages.
 * @device_id:  virtio device type.
 * @features:   feature bits every device of the type offers
 *              (VIRTIO_F_VERSION_1 is added).
 * @nqueues:    number of virtqueues.
 * @config:     bytes of the device configuration space.
 * @notify:     optional: the driver kicked queue @q, served on the vCPU
 *              thread that wrote QueueNotify, with the device lock held,
 *              instead of through an ioeventfd. Only for a device whose
 *              work is a short copy and whose driver spins until it is done
 *              (a console), where the round trip to another thread costs
 *              more than the work.
 * @reset:      the driver reset the device; drop in-flight state.
 * @dump:       optional: log_state() lines on the device's own state (the
 *              requests it holds), with the device lock held.
 */
struct virtio_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features;
	unsigned nqueues;
	const void *(*config)(struct virtio_dev *dev, uint32_t *len);
	void (*notify)(struct virtio_dev *dev, unsigned q);
	void (*reset)(struct virtio_dev *dev);
	void (*dump)(struct virtio_dev *dev);
};

struct virtio_dev {
	const struct virtio_ops *ops;
	struct vm *vm;
	const struct guest_mem *mem;
	uint64_t base;
	unsigned irq;
	int irq_fd;			/* irqfd on the device's IOAPIC pin */
	pthread_mutex_t lock;		/* vCPU register access vs. device work */
	uint32_t status;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t features;		/* offered: ops->features, plus what the
					   device adds before the guest runs */
	uint64_t driver_features;
	_Atomic uint32_t isr;
	_Atomic uint64_t irqs;		/* interrupts sent, for the state dump */
	uint64_t irqs_checked;		/* irqs at the last virtio_reassert() */
	bool isr_checked;		/* the ISR was set then */
	unsigned reasserts;		/* interrupts raised again by it */
	uint32_t config_gen;
	bool warned;			/* the driver broke the device (said once) */
	struct virtq vq[VIRTIO_MAX_QUEUES];
};

int virtio_mmio_init(struct virtio_dev *dev, const struct virtio_ops *ops,
		     struct vm *vm, uint64_t base, unsigned irq);
void virtio_interrupt(struct virtio_dev *dev, uint32_t why);
void virtio_fail(struct virtio_dev *dev, const char *why);
bool virtio_live(const struct virtio_dev *dev);
void virtio_broken(const struct vm *vm, char *buf, size_t len);
void virtio_dump(const struct vm *vm);
unsigned virtio_reassert(const struct vm *vm);

int vq_enable(struct virtq *q, const struct guest_mem *m);
int vq_pop(struct virtq *q, const struct guest_mem *m, struct vq_chain *c);
void vq_push(struct virtq *q, uint16_t head, uint32_t len);
void vq_put(struct virtq *q, uint16_t head, uint32_t len);
void vq_publish(struct virtq *q);
bool vq_has_avail(const struct virtq *q);
bool vq_wants_interrupt(struct virtq *q);
void vq_notify(struct virtq *q, bool on);

unsigned iov_slice(const struct iovec *src, unsigned n, size_t off, size_t max,
		   struct iovec *dst);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off,
		    const void *buf, size_t len);
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off,
		  void *buf, size_t len);

#endif
