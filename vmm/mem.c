// SPDX-License-Identifier: MIT
/*
 * mem.c - guest RAM allocation and address translation.
 */
#include <errno.h>
#include <sys/mman.h>

#include "mem.h"
#include "util.h"

/**
 * mem_init() - reserve guest RAM.
 * @m:    filled in.
 * @size: bytes of RAM; a multiple of 2 MiB.
 *
 * The mapping is lazily backed: the guest only costs what it touches.
 *
 * Return: 0 or -errno.
 */
int
mem_init(struct guest_mem *m, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM never belongs in a core dump of capsa. */
	madvise(p, size, MADV_DONTDUMP);
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
