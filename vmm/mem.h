/* SPDX-License-Identifier: MIT */
/*
 * mem.h - guest physical memory and the one translator from guest addresses
 * to host pointers.
 *
 * Guest RAM is at most two slots: [0, low_end) and, when RAM reaches into
 * the MMIO hole below 4 GiB, [4 GiB, 4 GiB + high_size). Nothing else in
 * capsa computes a host pointer from a guest address: every access goes
 * through mem_ptr(), which checks the whole range.
 */
#ifndef CAPSA_MEM_H
#define CAPSA_MEM_H

#include <stdint.h>
#include <stddef.h>

#define MEM_HOLE_START 0xd0000000ULL	/* MMIO devices, IOAPIC, LAPIC */
#define MEM_HIGH_START 0x100000000ULL

struct guest_mem {
	uint8_t *host;		/* one mapping; high RAM follows low RAM */
	uint64_t size;		/* total RAM bytes */
	uint64_t low_end;	/* RAM below the hole ends here */
};

int mem_init(struct guest_mem *m, uint64_t size);
void *mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

#endif
