// SPDX-License-Identifier: MIT
/*
 * drv.c - see drv.h.
 */
#include <string.h>

#include "drv.h"

uint32_t
drv_rd(struct drv *d, uint64_t off)
{
	uint32_t v = 0;

	bus_access(&d->vm->mmio, d->base + off, (uint8_t *)&v, 4, false);
	return v;
}

void
drv_wr(struct drv *d, uint64_t off, uint32_t v)
{
	bus_access(&d->vm->mmio, d->base + off, (uint8_t *)&v, 4, true);
}

static void
wr64(struct drv *d, uint64_t lo, uint64_t v)
{
	drv_wr(d, lo, (uint32_t)v);
	drv_wr(d, lo + 4, (uint32_t)(v >> 32));
}

/**
 * drv_start() - reset the device, negotiate VERSION_1 only, set up @nq
 * queues of @size entries (rings zeroed) and set DRIVER_OK.
 *
 * Return: the device status read back at the end.
 */
uint32_t
drv_start(struct drv *d, struct vm *vm, uint64_t base, unsigned nq, uint16_t size,
	  uint64_t ring_gpa)
{
	return drv_start_features(d, vm, base, nq, size, ring_gpa, 1ULL << VIRTIO_F_VERSION_1);
}

/**
 * drv_start_features() - drv_start(), accepting the feature bits @features.
 *
 * Return: the device status read back at the end.
 */
uint32_t
drv_start_features(struct drv *d, struct vm *vm, uint64_t base, unsigned nq, uint16_t size,
		   uint64_t ring_gpa, uint64_t features)
{
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->base = base;
	d->nq = nq;
	drv_wr(d, 0x070, 0);
	drv_wr(d, 0x070, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	drv_wr(d, 0x024, 0);
	drv_wr(d, 0x020, (uint32_t)features);
	drv_wr(d, 0x024, 1);
	drv_wr(d, 0x020, (uint32_t)(features >> 32));
	drv_wr(d, 0x070, drv_rd(d, 0x070) | VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned i = 0; i < nq; i++) {
		uint64_t g = ring_gpa + i * DRV_RING_SPAN;

		d->q[i].size = size;
		d->q[i].desc = g;
		d->q[i].avail = g + 0x1000;
		d->q[i].used = g + 0x2000;
		memset(mem_ptr(&vm->mem, g, DRV_RING_SPAN), 0, DRV_RING_SPAN);
		drv_wr(d, 0x030, i);
		drv_wr(d, 0x038, size);
		wr64(d, 0x080, d->q[i].desc);
		wr64(d, 0x090, d->q[i].avail);
		wr64(d, 0x0a0, d->q[i].used);
		drv_wr(d, 0x044, 1);
	}
	drv_wr(d, 0x070, drv_rd(d, 0x070) | VIRTIO_CONFIG_S_DRIVER_OK);
	return drv_rd(d, 0x070);
}

void
drv_desc(struct drv *d, unsigned q, uint16_t i, uint64_t addr, uint32_t len,
	 uint16_t flags, uint16_t next)
{
	struct vring_desc *t = mem_ptr(&d->vm->mem, d->q[q].desc, 16 * d->q[q].size);

	t[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

/* Make chain @head available and publish the new index. */
void
drv_post(struct drv *d, unsigned q, uint16_t head)
{
	uint16_t *avail = mem_ptr(&d->vm->mem, d->q[q].avail, 6 + 2 * d->q[q].size);
	uint16_t idx = avail[1];

	avail[2 + idx % d->q[q].size] = head;
	__atomic_store_n(&avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

/* The next used chain of queue @q, if the device returned one. */
bool
drv_used(struct drv *d, unsigned q, uint32_t *id, uint32_t *len)
{
	uint16_t *used = mem_ptr(&d->vm->mem, d->q[q].used, 6 + 8 * d->q[q].size);
	uint32_t *ring = (uint32_t *)(used + 2);
	uint16_t slot = d->q[q].used_seen % d->q[q].size;

	if (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) == d->q[q].used_seen)
		return false;
	*id = ring[2 * slot];
	*len = ring[2 * slot + 1];
	d->q[q].used_seen++;
	return true;
}
