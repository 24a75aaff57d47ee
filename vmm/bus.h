/* SPDX-License-Identifier: MIT */
/*
 * bus.h - dispatch of port I/O and MMIO exits to the device that owns the
 * address. Ranges are registered during setup and never change after, so
 * vCPU threads read the table without locks.
 */
#ifndef CAPSA_BUS_H
#define CAPSA_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_RANGES 16

/**
 * typedef bus_fn - access one register window.
 * @opaque: the device.
 * @off:    offset inside the device's range.
 * @data:   bytes to write, or to fill on a read.
 * @len:    1, 2, 4 or 8.
 * @write:  direction.
 *
 * Return: 0, or -1 when the access ends the VM (a reset request).
 */
typedef int (*bus_fn)(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		      bool write);

struct bus_range {
	uint64_t base, len;
	bus_fn fn;
	void *opaque;
};

struct bus {
	unsigned n;
	struct bus_range r[BUS_MAX_RANGES];
};

int bus_add(struct bus *b, uint64_t base, uint64_t len, bus_fn fn, void *opaque);
int bus_access(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len,
	       bool write);

#endif
