// SPDX-License-Identifier: MIT
/*
 * mmio.c - the virtio-mmio transport, version 2 (virtio 1.2, 4.2.2).
 *
 * Register accesses arrive on vCPU threads; QueueNotify never does: it is
 * an ioeventfd the event loop waits on, and interrupts go out through an
 * irqfd. The device lock orders register writes against device work.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "virtio.h"
#include "../vmm/util.h"
#include "../vmm/vm.h"

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c, REG_DEV_FEATURES = 0x010, REG_DEV_FEATURES_SEL = 0x014,
	REG_DRV_FEATURES = 0x020, REG_DRV_FEATURES_SEL = 0x024, REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038, REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050, REG_INT_STATUS = 0x060, REG_INT_ACK = 0x064,
	REG_STATUS = 0x070, REG_QUEUE_DESC_LO = 0x080, REG_QUEUE_DESC_HI = 0x084,
	REG_QUEUE_DRIVER_LO = 0x090, REG_QUEUE_DRIVER_HI = 0x094,
	REG_QUEUE_DEVICE_LO = 0x0a0, REG_QUEUE_DEVICE_HI = 0x0a4,
	REG_CONFIG_GEN = 0x0fc, REG_CONFIG = 0x100,
};

#define MMIO_MAGIC 0x74726976	/* "virt" */
#define MMIO_VENDOR 0x41534350	/* "CAPSA" would not fit; "PCSA" */

static uint64_t
dev_features(const struct virtio_dev *dev)
{
	return dev->features | 1ULL << VIRTIO_F_VERSION_1;
}

/**
 * virtio_live() - whether the device is running and not broken.
 */
bool
virtio_live(const struct virtio_dev *dev)
{
	return (dev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(dev->status & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED));
}

/**
 * virtio_interrupt() - tell the driver something changed.
 * @dev: the device.
 * @why: VIRTIO_INT_USED and/or VIRTIO_INT_CONFIG.
 */
void
virtio_interrupt(struct virtio_dev *dev, uint32_t why)
{
	uint64_t one = 1;

	atomic_fetch_or(&dev->isr, why);
	atomic_fetch_add_explicit(&dev->irqs, 1, memory_order_relaxed);
	(void)!write(dev->irq_fd, &one, sizeof(one));
}

/**
 * virtio_fail() - the driver broke the protocol: stop the device.
 * @dev: the device.
 * @why: what was wrong, for --verbose.
 *
 * The device sets DEVICE_NEEDS_RESET and raises a configuration interrupt
 * (virtio 1.2, 2.1.2); it serves nothing until the driver resets it. The
 * VM and the other devices go on.
 */
void
virtio_fail(struct virtio_dev *dev, const char *why)
{
	if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	/* Once per device: a guest that keeps breaking it must not flood stderr. */
	if (!dev->warned)
		log_warn("virtio-%s: %s; device needs reset", dev->ops->name, why);
	dev->warned = true;
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	virtio_interrupt(dev, VIRTIO_INT_CONFIG);
}

static void
reset(struct virtio_dev *dev)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct virtq *q = &dev->vq[i];
		int fd = q->kick_fd;

		memset(q, 0, sizeof(*q));
		q->kick_fd = fd;
		q->size = VQ_MAX_SIZE;
	}
	dev->status = 0;
	dev->driver_features = 0;
	dev->dev_feat_sel = dev->drv_feat_sel = dev->queue_sel = 0;
	atomic_store(&dev->isr, 0);
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

static void
set_status(struct virtio_dev *dev, uint32_t v)
{
	if (v == 0) {
		reset(dev);
		return;
	}
	/* FEATURES_OK sticks only for a subset of ours that includes VERSION_1. */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(dev->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((dev->driver_features & ~dev_features(dev)) ||
	     !(dev->driver_features & 1ULL << VIRTIO_F_VERSION_1)))
		v &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	dev->status = v | (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static struct virtq *
selected(struct virtio_dev *dev)
{
	return dev->queue_sel < dev->ops->nqueues ? &dev->vq[dev->queue_sel] : NULL;
}

static void
set_addr(uint64_t *a, uint32_t v, bool hi)
{
	*a = hi ? (*a & 0xffffffffULL) | ((uint64_t)v << 32)
		: (*a & ~0xffffffffULL) | v;
}

static void
queue_write(struct virtio_dev *dev, uint64_t reg, uint32_t v)
{
	struct virtq *q = selected(dev);

	/* Queue registers are only writable while the queue is not ready. */
	if (!q || (q->ready && reg != REG_QUEUE_READY))
		return;
	switch (reg) {
	case REG_QUEUE_NUM:		q->size = (uint16_t)MIN(v, 0xffffU); break;
	case REG_QUEUE_DESC_LO:		set_addr(&q->desc_gpa, v, false); break;
	case REG_QUEUE_DESC_HI:		set_addr(&q->desc_gpa, v, true); break;
	case REG_QUEUE_DRIVER_LO:	set_addr(&q->avail_gpa, v, false); break;
	case REG_QUEUE_DRIVER_HI:	set_addr(&q->avail_gpa, v, true); break;
	case REG_QUEUE_DEVICE_LO:	set_addr(&q->used_gpa, v, false); break;
	case REG_QUEUE_DEVICE_HI:	set_addr(&q->used_gpa, v, true); break;
	case REG_QUEUE_READY:
		if (!v) {
			q->ready = false;
			break;
		}
		if (q->ready)
			break;
		/* Only what was negotiated: the driver may write any feature bits. */
		q->event_idx = (dev->driver_features & dev_features(dev)) >>
			       VIRTIO_RING_F_EVENT_IDX & 1;
		if (vq_enable(q, dev->mem) < 0)
			virtio_fail(dev, "queue placed outside guest memory or badly sized");
		break;
	}
}

static void
reg_write(struct virtio_dev *dev, uint64_t reg, uint32_t v)
{
	switch (reg) {
	case REG_DEV_FEATURES_SEL:	dev->dev_feat_sel = v; break;
	case REG_DRV_FEATURES_SEL:	dev->drv_feat_sel = v; break;
	case REG_DRV_FEATURES:
		if (dev->drv_feat_sel < 2 && !(dev->status & VIRTIO_CONFIG_S_FEATURES_OK))
			set_addr(&dev->driver_features, v, dev->drv_feat_sel == 1);
		break;
	case REG_QUEUE_SEL:		dev->queue_sel = v; break;
	case REG_QUEUE_NOTIFY:
		/* Only devices that serve kicks inline see this: see wire_eventfds(). */
		if (dev->ops->notify && v < dev->ops->nqueues && virtio_live(dev) && dev->vq[v].ready)
			dev->ops->notify(dev, v);
		break;
	case REG_INT_ACK:		atomic_fetch_and(&dev->isr, ~v); break;
	case REG_STATUS:		set_status(dev, v); break;
	default:			queue_write(dev, reg, v); break;
	}
}

static uint32_t
reg_read(struct virtio_dev *dev, uint64_t reg)
{
	struct virtq *q = selected(dev);

	switch (reg) {
	case REG_MAGIC:		return MMIO_MAGIC;
	case REG_VERSION:	return 2;
	case REG_DEVICE_ID:	return dev->ops->device_id;
	case REG_VENDOR_ID:	return MMIO_VENDOR;
	case REG_DEV_FEATURES:
		return dev->dev_feat_sel < 2 ? (uint32_t)(dev_features(dev) >> (32 * dev->dev_feat_sel)) : 0;
	case REG_QUEUE_NUM_MAX:	return q ? VQ_MAX_SIZE : 0;
	case REG_QUEUE_READY:	return q ? q->ready : 0;
	case REG_INT_STATUS:	return atomic_load(&dev->isr);
	case REG_STATUS:	return dev->status;
	case REG_CONFIG_GEN:	return dev->config_gen;
	default:		return 0;
	}
}

static void
config_access(struct virtio_dev *dev, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	uint32_t size = 0;
	const uint8_t *cfg = dev->ops->config ? dev->ops->config(dev, &size) : NULL;

	/* Configuration space is read-only for every device capsa has. */
	if (write)
		return;
	if (!cfg || off >= size || len > size - off)
		memset(data, 0, len);
	else
		memcpy(data, cfg + off, len);
}

static int
mmio_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct virtio_dev *dev = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&dev->lock);
	if (off >= REG_CONFIG) {
		config_access(dev, off - REG_CONFIG, data, len, write);
	} else if (len != 4 || (off & 3)) {
		/* Registers are 32-bit only (4.2.2.2); ignore anything else. */
		if (!write)
			memset(data, 0, len);
	} else if (write) {
		memcpy(&v, data, 4);
		reg_write(dev, off, v);
	} else {
		v = reg_read(dev, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static int
wire_eventfds(struct virtio_dev *dev)
{
	struct kvm_irqfd irqfd = { .gsi = dev->irq };

	dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->irq_fd < 0)
		return -errno;
	irqfd.fd = (uint32_t)dev->irq_fd;
	if (ioctl(dev->vm->fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	for (unsigned i = 0; i < dev->ops->nqueues && !dev->ops->notify; i++) {
		struct kvm_ioeventfd io = {
			.addr = dev->base + REG_QUEUE_NOTIFY, .len = 4, .datamatch = i,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0)
			return -errno;
		dev->vq[i].kick_fd = fd;
		io.fd = fd;
		if (ioctl(dev->vm->fd, KVM_IOEVENTFD, &io) < 0)
			return -errno;
	}
	return 0;
}

/**
 * virtio_mmio_init() - put a device's register window on the MMIO bus.
 * @dev:  the device's generic part, zeroed.
 * @ops:  the device type.
 * @vm:   the VM.
 * @base: guest physical address of the 4 KiB window.
 * @irq:  IOAPIC pin.
 *
 * Return: 0 or -errno.
 */
int
virtio_mmio_init(struct virtio_dev *dev, const struct virtio_ops *ops,
		 struct vm *vm, uint64_t base, unsigned irq)
{
	int err;

	dev->ops = ops;
	dev->features = ops->features;
	dev->vm = vm;
	dev->mem = &vm->mem;
	dev->base = base;
	dev->irq = irq;
	pthread_mutex_init(&dev->lock, NULL);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		dev->vq[i].kick_fd = -1;
	reset(dev);
	err = wire_eventfds(dev);
	if (err)
		return err;
	return bus_add(&vm->mmio, base, VIRTIO_MMIO_SIZE, mmio_access, dev);
}

/**
 * virtio_broken() - name the devices the guest broke, for a last message.
 * @vm:  the VM.
 * @buf: "virtio-vsock, virtio-blk" or "", NUL-terminated.
 * @len: its size.
 */
void
virtio_broken(const struct vm *vm, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < vm->mmio.n; i++) {
		const struct virtio_dev *dev = vm->mmio.r[i].opaque;

		if (vm->mmio.r[i].fn != mmio_access || !dev->warned || n >= len)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%svirtio-%s", n ? ", " : "", dev->ops->name);
	}
}

/*
 * One queue as both sides left it: chains the driver made available
 * (avail) against those taken (seen), chains returned (used) against
 * the index the driver can see (published), and the flags or event
 * indexes that decide kicks and interrupts.
 */
static void
dump_queue(const struct virtio_dev *dev, unsigned i)
{
	const struct virtq *q = &dev->vq[i];
	uint16_t avail_flags, avail, published, used_flags;

	if (!q->ready) {
		log_state("virtio-%s@%#llx q%u: not ready", dev->ops->name,
			  (unsigned long long)dev->base, i);
		return;
	}
	avail_flags = __atomic_load_n(&q->avail[0], __ATOMIC_RELAXED);
	avail = __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
	used_flags = __atomic_load_n(&q->used[0], __ATOMIC_RELAXED);
	published = __atomic_load_n(&q->used[1], __ATOMIC_RELAXED);
	log_state("virtio-%s@%#llx q%u: size %u, avail %u (flags %#x), seen %u, used %u, "
		  "published %u (flags %#x)%s", dev->ops->name, (unsigned long long)dev->base, i,
		  q->size, avail, avail_flags, q->last_avail, q->used_idx, published, used_flags,
		  q->event_idx ? ", event idx" : "");
	if (q->event_idx)
		log_state("virtio-%s@%#llx q%u: used_event %u, avail_event %u",
			  dev->ops->name, (unsigned long long)dev->base, i,
			  __atomic_load_n(&q->avail[2 + q->size], __ATOMIC_RELAXED),
			  __atomic_load_n(&q->used[2 + 4 * q->size], __ATOMIC_RELAXED));
}

/**
 * virtio_dump() - log_state() what every virtio device and queue holds.
 * @vm: the VM.
 *
 * For SIGUSR1 on a run that seems stuck: it tells a request capsa never
 * completed (seen but not used), an interrupt the guest never took (isr
 * still set) and a guest that stopped asking (avail not moving) apart.
 */
void
virtio_dump(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->mmio.n; i++) {
		struct virtio_dev *dev = vm->mmio.r[i].opaque;

		if (vm->mmio.r[i].fn != mmio_access)
			continue;
		pthread_mutex_lock(&dev->lock);
		log_state("virtio-%s@%#llx: status %#x, isr %#x, %llu interrupts sent, %u raised "
			  "again%s", dev->ops->name, (unsigned long long)dev->base, dev->status,
			  atomic_load(&dev->isr), (unsigned long long)atomic_load(&dev->irqs),
			  dev->reasserts, dev->warned ? ", broken by the driver" : "");
		for (unsigned q = 0; q < dev->ops->nqueues; q++)
			dump_queue(dev, q);
		if (dev->ops->dump)
			dev->ops->dump(dev);
		pthread_mutex_unlock(&dev->lock);
	}
}

/**
 * virtio_reassert() - raise again each interrupt a driver has not taken.
 * @vm: the VM.
 *
 * Called every VIRTIO_REASSERT_MS from the event loop. A device whose
 * interrupt status stayed set since the last call, with no interrupt sent
 * in between, has an interrupt the driver never acknowledged: one lost on
 * its way (an edge interrupt has no second chance; the guest then waits
 * forever for a request that completed long ago, as seen in the emulated
 * KVM host). Raising it again costs a healthy guest nothing (a pending
 * edge coalesces; a handler that finds the status clear returns), and
 * saves a guest whose interrupt was lost.
 *
 * Return: how many were raised again.
 */
unsigned
virtio_reassert(const struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->mmio.n; i++) {
		struct virtio_dev *dev = vm->mmio.r[i].opaque;
		uint64_t one = 1, irqs;
		bool set;

		if (vm->mmio.r[i].fn != mmio_access)
			continue;
		irqs = atomic_load(&dev->irqs);
		set = atomic_load(&dev->isr) != 0;
		if (set && dev->isr_checked && irqs == dev->irqs_checked) {
			if (!dev->reasserts++)
				log_info("virtio-%s: the guest did not take an interrupt for %d ms; "
					 "raised it again", dev->ops->name, VIRTIO_REASSERT_MS);
			(void)!write(dev->irq_fd, &one, sizeof(one));
			n++;
		}
		dev->irqs_checked = irqs;
		dev->isr_checked = set;
	}
	return n;
}
