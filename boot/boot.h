/* SPDX-License-Identifier: MIT */
/*
 * boot.h - laying out guest memory for the 64-bit Linux boot protocol.
 *
 * Guest physical layout (all below 1 MiB is fixed):
 *
 *   0x000500  GDT (null, null, code64, data, tss)
 *   0x007000  boot_params ("zero page")
 *   0x009000  PML4, 0x00a000 PDPT, 0x00b000.. 4 page directories:
 *             an identity map of the first 4 GiB with 2 MiB pages
 *   0x020000  kernel command line
 *   0x0f0000  MP floating pointer + MP configuration table (reserved)
 *   0x100000  bzImage protected-mode code; the kernel decompresses itself
 *   top of low RAM: initrd (embedded base cpio + per-run cpio)
 *   0xd0000000  virtio-mmio windows, 4 KiB each, then IOAPIC and LAPIC
 */
#ifndef CAPSA_BOOT_H
#define CAPSA_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "../vmm/mem.h"

#define BOOT_GDT	0x500
#define BOOT_PARAMS	0x7000
#define BOOT_STACK	0x8ff0
#define BOOT_PML4	0x9000
#define BOOT_PDPT	0xa000
#define BOOT_PD		0xb000
#define BOOT_CMDLINE	0x20000
#define BOOT_CMDLINE_MAX 2048
#define BOOT_MPTABLE	0xf0000
#define BOOT_KERNEL	0x100000
#define BOOT_EBDA	0x9fc00

#define IOAPIC_ADDR	0xfec00000U
#define LAPIC_ADDR	0xfee00000U
#define IOAPIC_PINS	24

/* GDT selectors the 64-bit boot protocol requires (__BOOT_CS, __BOOT_DS). */
#define BOOT_CS		0x10
#define BOOT_DS		0x18
#define BOOT_TSS	0x20

/* A piece of the initrd; the pieces are concatenated cpio archives. */
struct boot_blob {
	const void *data;
	size_t len;
};

struct boot_info {
	uint64_t entry;		/* 64-bit entry point (rip) */
	uint64_t params;	/* boot_params address (rsi) */
	uint64_t initrd;	/* where the initrd landed */
	uint64_t initrd_len;
};

int boot_load_kernel(struct guest_mem *m, const void *image, size_t len,
		     const char *cmdline, const struct boot_blob *initrd,
		     unsigned n_initrd, struct boot_info *out);
int boot_write_mptable(struct guest_mem *m, unsigned ncpus);
void boot_write_pagetables(struct guest_mem *m);

#endif
