/* SPDX-License-Identifier: MIT */
/*
 * drv.h - a minimal virtio-mmio guest driver for tests and fuzz harnesses:
 * it negotiates through the register window on a fake VM's MMIO bus, lays
 * out split virtqueues in guest memory, posts chains and reads used ones.
 *
 * Queue i's rings live at ring_gpa + i * 0x3000: descriptors, then the
 * avail ring at +0x1000, the used ring at +0x2000.
 */
#ifndef CAPSA_TEST_DRV_H
#define CAPSA_TEST_DRV_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/vm.h"
#include "virtio/virtio.h"

#define DRV_RING_SPAN 0x3000

struct drv {
	struct vm *vm;
	uint64_t base;
	unsigned nq;
	struct { uint16_t size, used_seen; uint64_t desc, avail, used; } q[VIRTIO_MAX_QUEUES];
};

uint32_t drv_rd(struct drv *d, uint64_t off);
void drv_wr(struct drv *d, uint64_t off, uint32_t v);
uint32_t drv_start(struct drv *d, struct vm *vm, uint64_t base, unsigned nq,
		   uint16_t size, uint64_t ring_gpa);
uint32_t drv_start_features(struct drv *d, struct vm *vm, uint64_t base, unsigned nq,
			    uint16_t size, uint64_t ring_gpa, uint64_t features);
void drv_desc(struct drv *d, unsigned q, uint16_t i, uint64_t addr, uint32_t len,
	      uint16_t flags, uint16_t next);
void drv_post(struct drv *d, unsigned q, uint16_t head);
bool drv_used(struct drv *d, unsigned q, uint32_t *id, uint32_t *len);

#endif
