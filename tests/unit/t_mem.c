// SPDX-License-Identifier: MIT
/*
 * t_mem.c - mem_init() and mem_ptr(), the one guest-address translator.
 */
#include <sys/mman.h>

#include "tap.h"
#include "vmm/mem.h"
#include "vmm/util.h"

#define HIGH (64 * MIB)			/* RAM above 4 GiB in the big layout */
#define NONE UINT64_MAX			/* mem_ptr() must refuse */

struct xlate { uint64_t gpa, len, off; const char *what; };

/* Layout: [0, 0xd0000000) at host offset 0; [4G, 4G+64M) right after. */
static const struct xlate two_slots[] = {
	{ 0, 0, 0, "zero length at 0" },
	{ 0, 1, 0, "first byte" },
	{ 0x1000, 0x1000, 0x1000, "a page" },
	{ MEM_HOLE_START - 1, 1, MEM_HOLE_START - 1, "last low byte" },
	{ MEM_HOLE_START - 16, 16, MEM_HOLE_START - 16, "ends exactly at the hole" },
	{ MEM_HOLE_START - 16, 17, NONE, "one byte into the hole" },
	{ MEM_HOLE_START, 0, NONE, "zero length at the hole" },
	{ MEM_HOLE_START, 1, NONE, "in the hole" },
	{ 0xfee00000, 4, NONE, "the LAPIC page" },
	{ MEM_HIGH_START - 1, 2, NONE, "straddles 4 GiB" },
	{ MEM_HIGH_START, 1, MEM_HOLE_START, "first high byte" },
	{ MEM_HIGH_START, HIGH, MEM_HOLE_START, "all of high RAM" },
	{ MEM_HIGH_START, HIGH + 1, NONE, "one past high RAM" },
	{ MEM_HIGH_START + HIGH - 1, 1, MEM_HOLE_START + HIGH - 1, "last high byte" },
	{ MEM_HIGH_START + HIGH, 0, NONE, "zero length at the end" },
	{ MEM_HIGH_START + HIGH, 1, NONE, "past the end" },
	{ 0, MEM_HOLE_START + 1, NONE, "low range spilling into the hole" },
	{ 0, UINT64_MAX, NONE, "huge length" },
	{ 16, UINT64_MAX - 8, NONE, "length that wraps" },
	{ UINT64_MAX, 1, NONE, "address that wraps" },
	{ UINT64_MAX, 0, NONE, "top address, zero length" },
	{ MEM_HIGH_START + 8, UINT64_MAX - MEM_HIGH_START, NONE, "high range that wraps" },
};

/* 64 MiB, all below the hole: the default-sized guest scaled down. */
static const struct xlate one_slot[] = {
	{ 64 * MIB - 4, 4, 64 * MIB - 4, "last word" },
	{ 64 * MIB - 4, 5, NONE, "one past the end" },
	{ 64 * MIB, 0, NONE, "zero length at the end" },
	{ MEM_HIGH_START, 1, NONE, "no high RAM" },
	{ MEM_HIGH_START, 0, NONE, "no high RAM, zero length" },
};

static void
run(const struct guest_mem *m, const struct xlate *t, size_t n, const char *layout)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = mem_ptr(m, t[i].gpa, t[i].len);

		if (t[i].off == NONE)
			CHECK(p == NULL, "%s: %s refused (%#llx+%#llx)", layout, t[i].what,
			      (unsigned long long)t[i].gpa, (unsigned long long)t[i].len);
		else
			CHECK(p == m->host + t[i].off, "%s: %s at host offset %#llx", layout,
			      t[i].what, (unsigned long long)t[i].off);
	}
}

int
main(void)
{
	struct guest_mem big, small;

	/* mem_init() lays out the slots; the mapping is lazily backed. */
	if (!CHECK_INT(mem_init(&big, MEM_HOLE_START + HIGH), 0, "mem_init 3.25 GiB + 64 MiB"))
		return tap_done();
	CHECK_U64(big.low_end, MEM_HOLE_START, "low RAM ends at the MMIO hole");
	CHECK_U64(big.size, MEM_HOLE_START + HIGH, "size recorded");
	run(&big, two_slots, ARRAY_SIZE(two_slots), "two slots");
	/* The translated pointers are usable: first and last byte of each slot. */
	*(uint8_t *)mem_ptr(&big, 0, 1) = 1;
	*(uint8_t *)mem_ptr(&big, MEM_HOLE_START - 1, 1) = 2;
	*(uint8_t *)mem_ptr(&big, MEM_HIGH_START + HIGH - 1, 1) = 3;
	CHECK_INT(big.host[big.size - 1], 3, "last high byte is the mapping's last byte");
	munmap(big.host, big.size);

	CHECK_INT(mem_init(&small, 64 * MIB), 0, "mem_init 64 MiB");
	CHECK_U64(small.low_end, 64 * MIB, "small guest: all RAM is low");
	CHECK_U64((uintptr_t)small.host % (2 * MIB), 0, "RAM starts on a 2 MiB boundary");
	small.host[0] = 1;
	small.host[small.size - 1] = 2;
	CHECK(small.host[0] == 1 && small.host[small.size - 1] == 2,
	      "the first and the last byte are mapped");
	run(&small, one_slot, ARRAY_SIZE(one_slot), "one slot");
	munmap(small.host, small.size);
	return tap_done();
}
