/* SPDX-License-Identifier: MIT */
/*
 * blk.h - virtio-blk device: a raw disk image (or host block device) as
 * /dev/vdX in the guest.
 */
#ifndef CAPSA_BLK_H
#define CAPSA_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_blk.h>

#include "virtio.h"

#define BLK_SECTOR	512

struct vm;
struct loop;
struct blk_dev;

/**
 * struct blk_disk - the backing store as the request code sees it.
 * @fd:        open image, O_RDWR unless @ro.
 * @ro:        writes, discards and write-zeroes fail with IOERR.
 * @can_punch: the host can punch holes (fallocate) in @fd: DISCARD offered.
 * @sectors:   capacity in 512-byte sectors.
 * @id:        GET_ID answer, NUL-padded, not NUL-terminated when full.
 */
struct blk_disk {
	int fd;
	bool ro;
	bool can_punch;
	uint64_t sectors;
	char id[VIRTIO_BLK_ID_BYTES];
};

struct blk_dev *blk_create(struct vm *vm, struct loop *loop, uint64_t base,
			   unsigned irq, int fd, bool ro);

/* The request code, public for the unit tests and fuzzers. */
int blk_disk_init(struct blk_disk *disk, int fd, bool ro);
int blk_serve(const struct blk_disk *disk, const struct vq_chain *c, uint32_t *used);

#endif
