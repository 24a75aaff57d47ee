// SPDX-License-Identifier: MIT
/*
 * t_bus.c - bus_add() and bus_access(): routing by address, partial
 * overlaps, unclaimed addresses, a full table.
 */
#include <errno.h>

#include "tap.h"
#include "vmm/bus.h"
#include "vmm/util.h"

/* A device that records its last access and answers reads with its id. */
struct rec {
	int id, calls;
	uint64_t off;
	uint32_t len;
	bool write;
	int ret;
};

static int
record(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct rec *r = opaque;

	r->calls++;
	r->off = off;
	r->len = len;
	r->write = write;
	if (!write)
		memset(data, r->id, len);
	return r->ret;
}

static struct rec a = { .id = 0xa1 }, b = { .id = 0xb2, .ret = -1 };

struct route {
	uint64_t addr;
	uint32_t len;
	struct rec *dev;	/* NULL: nobody */
	uint64_t off;
	const char *what;
};

/* a: [0x3f8, 0x400)  b: [0xd0000000, 0xd0001000) */
static const struct route routes[] = {
	{ 0x3f8, 1, &a, 0, "first byte of a" },
	{ 0x3ff, 1, &a, 7, "last byte of a" },
	{ 0x3fc, 4, &a, 4, "word ending at a's end" },
	{ 0x3fd, 4, NULL, 0, "word straddling a's end" },
	{ 0x3f7, 2, NULL, 0, "word straddling a's start" },
	{ 0x400, 1, NULL, 0, "just past a" },
	{ 0x3f7, 1, NULL, 0, "just before a" },
	{ 0xd0000000, 8, &b, 0, "quad at b" },
	{ 0xd0000ff8, 8, &b, 0xff8, "last quad of b" },
	{ 0xd0000ffc, 8, NULL, 0, "quad straddling b's end" },
	{ 0xd0001000, 4, NULL, 0, "just past b" },
	{ 0, 4, NULL, 0, "address 0" },
	{ UINT64_MAX, 1, NULL, 0, "top address" },
	{ UINT64_MAX - 3, 8, NULL, 0, "access that wraps" },
};

int
main(void)
{
	struct bus bus = { 0 };
	int err;

	CHECK_INT(bus_add(&bus, 0x3f8, 8, record, &a), 0, "add a");
	CHECK_INT(bus_add(&bus, 0xd0000000, 0x1000, record, &b), 0, "add b");
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *t = &routes[i];
		uint8_t data[8] = { 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a };
		uint8_t want[8];
		int ret;

		a.calls = b.calls = 0;
		ret = bus_access(&bus, t->addr, data, t->len, false);
		memset(want, 0x5a, 8);
		memset(want, t->dev ? t->dev->id : 0xff, t->len);
		if (!t->dev) {
			CHECK(a.calls + b.calls == 0 && ret == 0, "read %s: no device", t->what);
			CHECK_MEM(data, want, 8, "read %s: all ones, nothing beyond len", t->what);
			CHECK_INT(bus_access(&bus, t->addr, data, t->len, true), 0,
				  "write %s: dropped", t->what);
			CHECK_INT(a.calls + b.calls, 0, "write %s: no device called", t->what);
			continue;
		}
		CHECK(t->dev->calls == 1 && a.calls + b.calls == 1, "read %s: one call", t->what);
		CHECK(t->dev->off == t->off && t->dev->len == t->len && !t->dev->write,
		      "read %s: offset %#llx len %u", t->what, (unsigned long long)t->off, t->len);
		CHECK_INT(ret, t->dev->ret, "read %s: device's return value passed on", t->what);
		CHECK_MEM(data, want, 8, "read %s: device's bytes", t->what);
		bus_access(&bus, t->addr, data, t->len, true);
		CHECK(t->dev->calls == 2 && t->dev->write, "write %s reaches the device", t->what);
	}

	for (unsigned i = 2; i < BUS_MAX_RANGES; i++)
		bus_add(&bus, 0x1000 * i, 0x10, record, &a);
	err = bus_add(&bus, 0x100000, 0x10, record, &a);
	CHECK_INT(err, -ENOSPC, "the %uth range is refused", BUS_MAX_RANGES + 1);
	CHECK_INT(bus.n, BUS_MAX_RANGES, "the table keeps %u ranges", BUS_MAX_RANGES);
	return tap_done();
}
