// SPDX-License-Identifier: MIT
/*
 * loader.c - load a bzImage and its initrd with the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst): copy the protected-mode code to 1 MiB,
 * fill in boot_params (setup header, e820 map, command line, initrd) and
 * build the identity page tables and GDT the 64-bit entry point expects.
 */
#include <errno.h>
#include <string.h>
#include <asm/bootparam.h>

#include "boot.h"
#include "../vmm/util.h"

#define HDR_OFFSET	0x1f1
#define HDR_MAGIC	0x53726448	/* "HdrS" */
#define MIN_PROTOCOL	0x020c		/* xloadflags, 64-bit entry */
#define E820_RAM	1
#define E820_RESERVED	2

/**
 * check_header() - validate a bzImage setup header.
 * @image: the bzImage.
 * @len:   its size.
 * @hdr:   a copy of the setup header, filled in.
 *
 * Return: offset of the protected-mode code, or -ENOEXEC.
 */
static long
check_header(const uint8_t *image, size_t len, struct setup_header *hdr)
{
	size_t setup_len;

	if (len < HDR_OFFSET + sizeof(*hdr))
		return -ENOEXEC;
	memcpy(hdr, image + HDR_OFFSET, sizeof(*hdr));
	if (hdr->boot_flag != 0xAA55 || hdr->header != HDR_MAGIC ||
	    hdr->version < MIN_PROTOCOL || !(hdr->xloadflags & XLF_KERNEL_64) ||
	    !(hdr->loadflags & LOADED_HIGH))
		return -ENOEXEC;
	setup_len = ((size_t)(hdr->setup_sects ? hdr->setup_sects : 4) + 1) * 512;
	if (setup_len >= len)
		return -ENOEXEC;
	return (long)setup_len;
}

static void
add_e820(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

static void
write_e820(struct boot_params *bp, const struct guest_mem *m)
{
	add_e820(bp, 0, BOOT_EBDA, E820_RAM);
	add_e820(bp, BOOT_EBDA, 0xa0000 - BOOT_EBDA, E820_RESERVED);
	add_e820(bp, BOOT_MPTABLE, BOOT_KERNEL - BOOT_MPTABLE, E820_RESERVED);
	add_e820(bp, BOOT_KERNEL, m->low_end - BOOT_KERNEL, E820_RAM);
	if (m->size > m->low_end)
		add_e820(bp, MEM_HIGH_START, m->size - m->low_end, E820_RAM);
}

/**
 * place_initrd() - copy the initrd pieces to the top of low RAM.
 * @m:     guest memory.
 * @hdr:   the kernel's setup header (initrd_addr_max).
 * @low:   lowest address the initrd may take (end of the kernel).
 * @parts: the pieces; each is padded to 4 bytes so archives stay aligned.
 * @n:     their number.
 * @out:   initrd address and length, filled in.
 *
 * Return: 0, or -ENOMEM when it does not fit.
 */
static int
place_initrd(struct guest_mem *m, const struct setup_header *hdr, uint64_t low,
	     const struct boot_blob *parts, unsigned n, struct boot_info *out)
{
	uint64_t total = 0, top, addr;
	uint8_t *p;

	for (unsigned i = 0; i < n; i++)
		total += ALIGN_UP(parts[i].len, 4);
	if (total == 0) {
		out->initrd = out->initrd_len = 0;	/* none: both stay 0 */
		return 0;
	}
	top = MIN(m->low_end, (uint64_t)hdr->initrd_addr_max + 1);
	if (total > top || ALIGN_DOWN(top - total, 4096) < low)
		return -ENOMEM;
	addr = ALIGN_DOWN(top - total, 4096);
	p = mem_ptr(m, addr, total);
	if (!p)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		memcpy(p, parts[i].data, parts[i].len);
		memset(p + parts[i].len, 0, ALIGN_UP(parts[i].len, 4) - parts[i].len);
		p += ALIGN_UP(parts[i].len, 4);
	}
	out->initrd = addr;
	out->initrd_len = total;
	return 0;
}

/**
 * boot_write_pagetables() - identity-map the first 4 GiB and write the GDT.
 * @m: guest memory (at least 1 MiB).
 *
 * The kernel's 64-bit entry needs paging on with the kernel, boot_params,
 * command line and initrd mapped 1:1; it replaces these tables early.
 */
void
boot_write_pagetables(struct guest_mem *m)
{
	uint64_t *pml4 = mem_ptr(m, BOOT_PML4, 4096);
	uint64_t *pdpt = mem_ptr(m, BOOT_PDPT, 4096);
	uint64_t *pd = mem_ptr(m, BOOT_PD, 4 * 4096);
	uint64_t *gdt = mem_ptr(m, BOOT_GDT, 5 * 8);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT | 0x3;			/* present, writable */
	for (int i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD + i * 4096) | 0x3;
	for (int i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* present, writable, 2M */

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffULL;		/* code: 64-bit, present, ring 0 */
	gdt[3] = 0x00cf93000000ffffULL;		/* data: flat 4 GiB, writable */
	gdt[4] = 0x00008b0000000067ULL;		/* 64-bit TSS, busy */
}

/**
 * boot_load_kernel() - put a bzImage, its command line and initrd in memory.
 * @m:        guest memory.
 * @image:    the bzImage.
 * @len:      its length.
 * @cmdline:  kernel command line, shorter than BOOT_CMDLINE_MAX.
 * @initrd:   initrd pieces, concatenated in order.
 * @n_initrd: their number.
 * @out:      where the vCPU must start, filled in.
 *
 * Return: 0, -ENOEXEC for an image that is not a 64-bit bzImage, -E2BIG for
 * an over-long command line, -ENOMEM when memory is too small.
 */
int
boot_load_kernel(struct guest_mem *m, const void *image, size_t len,
		 const char *cmdline, const struct boot_blob *initrd,
		 unsigned n_initrd, struct boot_info *out)
{
	struct setup_header hdr;
	struct boot_params *bp = mem_ptr(m, BOOT_PARAMS, sizeof(*bp));
	long setup = check_header(image, len, &hdr);
	size_t kernel_len, cmd_len = strlen(cmdline) + 1;
	uint64_t kernel_end;
	void *dst;
	int err;

	if (setup < 0)
		return (int)setup;
	if (cmd_len > BOOT_CMDLINE_MAX || cmd_len > (size_t)hdr.cmdline_size + 1)
		return -E2BIG;
	kernel_len = len - (size_t)setup;
	/* The kernel needs init_size bytes at its load address to decompress. */
	kernel_end = MAX(BOOT_KERNEL + kernel_len, (uint64_t)hdr.pref_address + hdr.init_size);
	dst = mem_ptr(m, BOOT_KERNEL, kernel_end - BOOT_KERNEL);
	if (!dst || !bp)
		return -ENOMEM;
	memcpy(dst, (const uint8_t *)image + setup, kernel_len);
	memcpy(mem_ptr(m, BOOT_CMDLINE, cmd_len), cmdline, cmd_len);

	err = place_initrd(m, &hdr, kernel_end, initrd, n_initrd, out);
	if (err)
		return err;

	memset(bp, 0, sizeof(*bp));
	bp->hdr = hdr;
	bp->hdr.type_of_loader = 0xff;		/* "undefined" boot loader */
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE;
	bp->hdr.ramdisk_image = (uint32_t)out->initrd;
	bp->hdr.ramdisk_size = (uint32_t)out->initrd_len;
	write_e820(bp, m);
	boot_write_pagetables(m);

	out->entry = BOOT_KERNEL + 0x200;	/* startup_64 */
	out->params = BOOT_PARAMS;
	return 0;
}
