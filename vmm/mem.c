// SPDX-License-Identifier: MIT
/*
 * mem.c - guest RAM allocation and address translation.
 */
#include <errno.h>
#include <sys/mman.h>

#include "mem.h"
#include "util.h"

#define HUGE_2M (2 * MIB)

/**
 * mem_init() - reserve guest RAM.
 * @m:    filled in.
 * @size: bytes of RAM; a multiple of 2 MiB.
 *
 * The mapping is lazily backed: the guest only costs what it touches. It
 * starts on a 2 MiB boundary, as guest physical addresses do: only then
 * can KVM map a transparent huge page the host gives us with one 2 MiB
 * nested page table entry, rather than 512 faults and entries of 4 KiB.
 * Whether the host uses huge pages at all stays its own policy.
 *
 * Return: 0 or -errno.
 */
int
mem_init(struct guest_mem *m, uint64_t size)
{
	uint8_t *p = mmap(NULL, size + HUGE_2M, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *start;

	if (p == MAP_FAILED)
		return -errno;
	start = (uint8_t *)ALIGN_UP((uintptr_t)p, HUGE_2M);
	if (start > p)
		munmap(p, (size_t)(start - p));
	munmap(start + size, (size_t)(p + HUGE_2M - start));
	p = start;
	/* Guest RAM never belongs in a core dump of capsa, nor in a child it
	 * forks (the jail's uid-map helper, after the kernel is loaded): shared
	 * copy-on-write, each later write would copy the page and make KVM
	 * rewrite its mapping. */
	madvise(p, size, MADV_DONTDUMP);
	madvise(p, size, MADV_DONTFORK);
	m->host = p;
	m->size = size;
	m->low_end = MIN(size, MEM_HOLE_START);
	return 0;
}

/**
 * mem_ptr() - translate a guest physical range to a host pointer.
 * @m:   guest memory.
 * @gpa: guest physical address, any value the guest chose.
 * @len: length of the access, any value the guest chose.
 *
 * The range must lie wholly inside one RAM slot; ranges that wrap, touch
 * the MMIO hole or run past the end are refused. A zero @len is valid
 * anywhere inside RAM.
 *
 * Return: the host address of @gpa, or NULL when the range is not RAM.
 */
void *
mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t high_size = m->size - m->low_end;

	if (gpa + len < gpa)
		return NULL;
	if (gpa < m->low_end)
		return gpa + len <= m->low_end ? m->host + gpa : NULL;
	if (gpa >= MEM_HIGH_START && gpa - MEM_HIGH_START < high_size &&
	    len <= high_size - (gpa - MEM_HIGH_START))
		return m->host + m->low_end + (gpa - MEM_HIGH_START);
	return NULL;
}
