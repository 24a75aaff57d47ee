/* SPDX-License-Identifier: MIT */
/*
 * cpio.h - writing "newc" cpio archives in memory: the per-run initramfs
 * piece that carries the run configuration and the files put into the guest.
 */
#ifndef CAPSA_CPIO_H
#define CAPSA_CPIO_H

#include <stddef.h>
#include <stdint.h>

struct cpio {
	uint8_t *buf;
	size_t len, cap;
	uint32_t ino;
	int err;		/* first error; later calls do nothing */
};

void cpio_add(struct cpio *c, const char *name, uint32_t mode,
	      const void *data, size_t len);
void cpio_finish(struct cpio *c);

#endif
