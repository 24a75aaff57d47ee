// SPDX-License-Identifier: MIT
/*
 * fuzz_mmio.c - the virtio-mmio register interface: any sequence of
 * accesses of any width at any offset of (and around) a device's window,
 * as a hostile guest driver would make them.
 *
 * Input: a device shape (queues, config size, features), then 8-byte
 * accesses { kind, width, offset, value }. After each, the transport's
 * invariants are checked: a ready queue is well formed and wholly in RAM;
 * the identification registers never change; NEEDS_RESET sticks until
 * the driver resets the device; a broken device is not live.
 *
 * fuzz-sources: virtio/mmio.c virtio/queue.c vmm/bus.c vmm/mem.c
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"
#include "virtio/virtio.h"

#define RAM	(256 * 1024)
#define BASE	0xd0000000ULL

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct vm vm;
static struct virtio_dev dev;
static struct virtio_ops ops;
static uint8_t cfg[64];
static uint32_t cfg_len;
static int resets;

static const void *
config(struct virtio_dev *d, uint32_t *len)
{
	*len = cfg_len;
	return cfg;
}

static void
reset(struct virtio_dev *d)
{
	resets++;
}

struct op {
	uint8_t kind, width;
	uint16_t off;
	uint32_t val;
} __attribute__((packed));

static bool
in_ram(const void *p, size_t len)
{
	const uint8_t *b = p;

	return b >= vm.mem.host && b <= vm.mem.host + RAM &&
	       len <= (size_t)(vm.mem.host + RAM - b);
}

static void
check(void)
{
	uint32_t v;

	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		const struct virtq *q = &dev.vq[i];

		REQUIRE(i < ops.nqueues || !q->ready);
		if (!q->ready)
			continue;
		REQUIRE(q->size && q->size <= VQ_MAX_SIZE && !(q->size & (q->size - 1)));
		REQUIRE(in_ram(q->desc, 16 * q->size) && in_ram(q->avail, 6 + 2 * q->size) &&
			in_ram(q->used, 6 + 8 * q->size));
	}
	bus_access(&vm.mmio, BASE, (uint8_t *)&v, 4, false);
	REQUIRE(v == 0x74726976);
	bus_access(&vm.mmio, BASE + 8, (uint8_t *)&v, 4, false);
	REQUIRE(v == ops.device_id);
	if (dev.status & VIRTIO_CONFIG_S_NEEDS_RESET)
		REQUIRE(!virtio_live(&dev));
}

static void
mmio_op(const struct op *o)
{
	static const uint32_t widths[] = { 1, 2, 4, 8 };
	uint8_t data[8];
	uint32_t len = widths[o->width & 3], status = dev.status;
	uint64_t addr = BASE + o->off - 0x100;	/* a little before the window too */

	memset(data, 0xa5, sizeof(data));
	memcpy(data, &o->val, 4);
	bus_access(&vm.mmio, addr, data, len, o->kind & 1);
	if (!(o->kind & 1) && addr >= BASE + 0x100 && addr + len <= BASE + 0x100 + cfg_len)
		REQUIRE(!memcmp(data, cfg + (addr - BASE - 0x100), len));
	if ((status & VIRTIO_CONFIG_S_NEEDS_RESET) && dev.status)
		REQUIRE(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	check();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 10)
		return 0;
	if (!vm.mem.host && fake_vm(&vm, RAM))
		abort();
	vm.mmio.n = 0;
	memset(&dev, 0, sizeof(dev));
	ops = (struct virtio_ops){ .name = "fuzz", .device_id = data[0],
				   .nqueues = 1 + data[1] % VIRTIO_MAX_QUEUES, .config = config,
				   .reset = reset };
	memcpy(&ops.features, data + 2, 8);
	cfg_len = data[1] >> 2;
	for (unsigned i = 0; i < sizeof(cfg); i++)
		cfg[i] = (uint8_t)(i * 7 + 3);
	if (virtio_mmio_init(&dev, &ops, &vm, BASE, 5))
		abort();
	for (size_t off = 10; off + sizeof(struct op) <= size; off += sizeof(struct op)) {
		struct op o;

		memcpy(&o, data + off, sizeof(o));
		mmio_op(&o);
	}
	close(dev.irq_fd);
	for (unsigned i = 0; i < ops.nqueues; i++)
		close(dev.vq[i].kick_fd);
	pthread_mutex_destroy(&dev.lock);
	return 0;
}
