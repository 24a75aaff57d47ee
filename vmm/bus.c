// SPDX-License-Identifier: MIT
/*
 * bus.c - address range lookup for PIO and MMIO exits.
 */
#include <errno.h>
#include <string.h>

#include "bus.h"

/**
 * bus_add() - give [@base, @base + @len) to a device.
 *
 * Return: 0, or -ENOSPC when the table is full.
 */
int
bus_add(struct bus *b, uint64_t base, uint64_t len, bus_fn fn, void *opaque)
{
	if (b->n == BUS_MAX_RANGES)
		return -ENOSPC;
	b->r[b->n++] = (struct bus_range){ base, len, fn, opaque };
	return 0;
}

/**
 * bus_access() - route one guest access.
 * @b:     the bus.
 * @addr:  guest address or port.
 * @data:  the bytes (in/out).
 * @len:   access size, at most 8.
 * @write: direction.
 *
 * Accesses to nothing read as all ones and drop writes, as on real hardware.
 * An access that straddles a device's end is not that device's.
 *
 * Return: what the device returned, or 0.
 */
int
bus_access(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
	   bool write)
{
	for (unsigned i = 0; i < b->n; i++) {
		const struct bus_range *r = &b->r[i];

		if (addr >= r->base && addr - r->base < r->len &&
		    len <= r->len - (addr - r->base))
			return r->fn(r->opaque, addr - r->base, data, len, write);
	}
	if (!write)
		memset(data, 0xff, len);
	return 0;
}
