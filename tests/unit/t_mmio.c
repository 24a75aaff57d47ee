// SPDX-License-Identifier: MIT
/*
 * t_mmio.c - the virtio-mmio register interface, driven through the MMIO
 * bus of a fake VM as a guest driver would: identification, feature
 * negotiation, queue setup, broken queues, interrupts, reset, config space.
 */
#include <unistd.h>

#include "tap.h"
#include "fake.h"
#include "virtio/virtio.h"
#include "vmm/util.h"

#define BASE	0xd0000000ULL
#define IRQ	5
#define FEATS	(1ULL << 3 | 1ULL << 40)

static struct vm vm;
static struct virtio_dev dev;
static int resets;
static const uint8_t cfg[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static const void *
test_config(struct virtio_dev *d, uint32_t *len)
{
	*len = sizeof(cfg);
	return cfg;
}

static void
test_reset(struct virtio_dev *d)
{
	resets++;
}

static const struct virtio_ops ops = {
	.name = "test", .device_id = 42, .features = FEATS, .nqueues = 2,
	.config = test_config, .reset = test_reset,
};

static uint32_t
rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	bus_access(&vm.mmio, BASE + off, (uint8_t *)&v, 4, false);
	return v;
}

static void
wr(uint64_t off, uint32_t v)
{
	bus_access(&vm.mmio, BASE + off, (uint8_t *)&v, 4, true);
}

/* Events counted on an eventfd since the last call (nonblocking). */
static uint64_t
drain(int fd)
{
	uint64_t n = 0;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

static void
test_wiring(void)
{
	CHECK_INT(fake_wiring.n_irqfd, 1, "one irqfd");
	CHECK(fake_wiring.irqfd[0].gsi == IRQ && (int)fake_wiring.irqfd[0].fd == dev.irq_fd,
	      "irqfd on the device's pin, with its eventfd");
	CHECK_INT(fake_wiring.n_ioeventfd, 2, "one ioeventfd per queue");
	for (unsigned i = 0; i < 2; i++) {
		struct kvm_ioeventfd *io = &fake_wiring.ioeventfd[i];

		CHECK(io->addr == BASE + 0x50 && io->len == 4 && io->datamatch == i &&
		      (io->flags & KVM_IOEVENTFD_FLAG_DATAMATCH) && (int)io->fd == dev.vq[i].kick_fd,
		      "queue %u: ioeventfd on QueueNotify matching %u", i, i);
	}
	CHECK_INT(dev.vq[2].kick_fd, -1, "no kick fd for a queue the device lacks");
	CHECK(vm.mmio.n == 1 && vm.mmio.r[0].base == BASE && vm.mmio.r[0].len == 0x1000,
	      "a 4 KiB window on the MMIO bus");
}

static void
test_ids(void)
{
	static const struct { uint32_t off, want; const char *what; } t[] = {
		{ 0x000, 0x74726976, "MagicValue 'virt'" },
		{ 0x004, 2, "Version 2 (modern)" },
		{ 0x008, 42, "DeviceID" },
		{ 0x00c, 0x41534350, "VendorID" },
		{ 0x034, VQ_MAX_SIZE, "QueueNumMax" },
		{ 0x044, 0, "QueueReady" },
		{ 0x060, 0, "InterruptStatus" },
		{ 0x070, 0, "Status" },
		{ 0x0fc, 0, "ConfigGeneration" },
		{ 0x0c0, 0, "an unassigned register" },
		{ 0x050, 0, "QueueNotify reads 0" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		CHECK_U64(rd(t[i].off), t[i].want, "%s", t[i].what);
}

static void
test_features(void)
{
	wr(0x014, 0);
	CHECK_U64(rd(0x010), (uint32_t)FEATS, "device features, low word");
	wr(0x014, 1);
	CHECK_U64(rd(0x010), (FEATS >> 32) | 1, "device features, high word with VERSION_1");
	wr(0x014, 2);
	CHECK_U64(rd(0x010), 0, "device features, word 2 is 0");

	/* Without VERSION_1: FEATURES_OK does not stick. */
	wr(0x070, 1 | 2);
	wr(0x024, 0), wr(0x020, 1 << 3);
	wr(0x024, 1), wr(0x020, 0);
	wr(0x070, 1 | 2 | 8);
	CHECK_U64(rd(0x070), 1 | 2, "FEATURES_OK refused without VERSION_1");
	/* A bit the device never offered. */
	wr(0x024, 1), wr(0x020, 1 | 2);
	wr(0x070, 1 | 2 | 8);
	CHECK_U64(rd(0x070), 1 | 2, "FEATURES_OK refused for a feature not offered");
	/* Word 2 does not exist; its writes are ignored. */
	wr(0x024, 2), wr(0x020, 0xffffffff);
	wr(0x024, 1), wr(0x020, 1 | 1 << 8);
	wr(0x070, 1 | 2 | 8);
	CHECK_U64(rd(0x070), 1 | 2 | 8, "FEATURES_OK accepted for offered bits + VERSION_1");
	CHECK_U64(dev.driver_features, 1ULL << 3 | 1ULL << 32 | 1ULL << 40, "driver features");
	wr(0x024, 0), wr(0x020, 0);
	CHECK_U64(dev.driver_features, 1ULL << 3 | 1ULL << 32 | 1ULL << 40,
		  "features frozen after FEATURES_OK");
}

static void
queue_setup(unsigned sel, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(0x030, sel);
	wr(0x038, num);
	wr(0x080, (uint32_t)desc), wr(0x084, (uint32_t)(desc >> 32));
	wr(0x090, (uint32_t)avail), wr(0x094, (uint32_t)(avail >> 32));
	wr(0x0a0, (uint32_t)used), wr(0x0a4, (uint32_t)(used >> 32));
	wr(0x044, 1);
}

static void
test_queues(void)
{
	struct virtq *q = &dev.vq[1];

	queue_setup(1, 16, 0x10000, 0x11000, 0x12000);
	CHECK(q->ready && q->size == 16 && q->desc_gpa == 0x10000 && q->avail_gpa == 0x11000 &&
	      q->used_gpa == 0x12000, "queue 1 ready with size 16 and its three addresses");
	CHECK((uint8_t *)q->desc == vm.mem.host + 0x10000, "descriptors mapped");
	CHECK_U64(rd(0x044), 1, "QueueReady reads 1");
	CHECK(!dev.vq[0].ready, "queue 0 untouched");
	wr(0x038, 4);
	wr(0x080, 0x20000);
	CHECK(q->size == 16 && q->desc_gpa == 0x10000, "a ready queue's size and address are frozen");
	wr(0x044, 0);
	CHECK(!q->ready, "QueueReady 0 stops the queue");
	wr(0x080, 0x20000);
	CHECK_U64(q->desc_gpa, 0x20000, "a stopped queue can move");

	wr(0x030, 2);
	CHECK_U64(rd(0x034), 0, "QueueNumMax 0 for a queue the device lacks");
	wr(0x038, 8), wr(0x044, 1);
	CHECK(!dev.vq[2].ready && dev.vq[2].size == VQ_MAX_SIZE && rd(0x044) == 0,
	      "writes to a queue the device lacks change nothing");
	wr(0x030, 0xffffffff);
	wr(0x044, 1);
	CHECK_U64(rd(0x044), 0, "QueueSel 0xffffffff: nothing");
	CHECK(!(dev.status & VIRTIO_CONFIG_S_NEEDS_RESET), "and no failure");
}

static void
test_broken(void)
{
	static const struct { uint32_t num; uint64_t desc, avail, used; const char *what; } t[] = {
		{ 3, 0x10000, 0x11000, 0x12000, "size 3" },
		{ 0x10000, 0x10000, 0x11000, 0x12000, "size 65536" },
		{ 16, 0x10008, 0x11000, 0x12000, "misaligned descriptors" },
		{ 16, 0x10000, 0x11000, 0x100000000ULL, "used ring above 4 GiB" },
		{ 16, 0x10000, 0x11000ULL | 1ULL << 40, 0x12000, "avail ring far away" },
		{ 16, 4 * MIB - 16, 0x11000, 0x12000, "descriptors past RAM's end" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		wr(0x070, 0);
		drain(dev.irq_fd);
		wr(0x070, 1 | 2 | 4);
		CHECK(virtio_live(&dev), "%s: live before", t[i].what);
		queue_setup(0, t[i].num, t[i].desc, t[i].avail, t[i].used);
		CHECK(!dev.vq[0].ready, "%s: queue not ready", t[i].what);
		CHECK_U64(rd(0x070), 1 | 2 | 4 | VIRTIO_CONFIG_S_NEEDS_RESET,
			  "%s: DEVICE_NEEDS_RESET set", t[i].what);
		CHECK(!virtio_live(&dev), "%s: device not live", t[i].what);
		CHECK_U64(rd(0x060), VIRTIO_INT_CONFIG, "%s: config interrupt status", t[i].what);
		CHECK_U64(drain(dev.irq_fd), 1, "%s: one interrupt raised", t[i].what);
	}
	virtio_fail(&dev, "again");
	CHECK_U64(drain(dev.irq_fd), 0, "a second failure raises no interrupt");
	wr(0x070, 1 | 2 | 4 | 8);
	CHECK(rd(0x070) & VIRTIO_CONFIG_S_NEEDS_RESET, "the driver cannot clear NEEDS_RESET");

	atomic_store(&dev.isr, 3);
	wr(0x064, 2);
	CHECK_U64(rd(0x060), 1, "InterruptACK clears the bits written");
	virtio_interrupt(&dev, VIRTIO_INT_USED);
	CHECK(rd(0x060) == 1 && drain(dev.irq_fd) == 1, "virtio_interrupt sets ISR, kicks irqfd");
}

static void
test_reset_and_widths(void)
{
	int kick = dev.vq[0].kick_fd, before = resets;
	uint64_t v8 = 0;
	uint16_t v2 = 0xffff;

	queue_setup(1, 16, 0x10000, 0x11000, 0x12000);
	wr(0x070, 0);
	CHECK_INT(resets, before + 1, "Status 0 calls the device's reset");
	CHECK(dev.status == 0 && dev.driver_features == 0 && dev.isr == 0 && dev.queue_sel == 0,
	      "reset clears status, features, ISR, QueueSel");
	CHECK(!dev.vq[1].ready && dev.vq[1].size == VQ_MAX_SIZE && dev.vq[1].desc_gpa == 0 &&
	      dev.vq[0].kick_fd == kick, "reset clears the queues but keeps their kick fds");

	bus_access(&vm.mmio, BASE, (uint8_t *)&v2, 2, false);
	CHECK_U64(v2, 0, "a 16-bit read of a register reads 0");
	bus_access(&vm.mmio, BASE + 2, (uint8_t *)&v8, 4, false);
	CHECK_U64(v8, 0, "a misaligned 32-bit read reads 0");
	v8 = 0x0f;
	bus_access(&vm.mmio, BASE + 0x70, (uint8_t *)&v8, 1, true);
	bus_access(&vm.mmio, BASE + 0x70, (uint8_t *)&v8, 8, true);
	CHECK_U64(rd(0x070), 0, "8- and 64-bit writes to Status are ignored");
}

/* An interrupt the driver never acknowledged goes out again, and only that. */
static void
test_reassert(void)
{
	wr(0x064, rd(0x060));			/* ack whatever is pending */
	drain(dev.irq_fd);
	virtio_reassert(&vm);
	virtio_reassert(&vm);
	CHECK_U64(drain(dev.irq_fd), 0, "reassert: nothing pending, nothing raised");
	virtio_interrupt(&dev, VIRTIO_INT_USED);
	drain(dev.irq_fd);
	virtio_reassert(&vm);
	CHECK_U64(drain(dev.irq_fd), 0, "reassert: not at the first look");
	CHECK_INT((int)virtio_reassert(&vm), 1, "reassert: still not taken a period later: one raised");
	CHECK_U64(drain(dev.irq_fd), 1, "reassert: ... again, on its irqfd");
	virtio_interrupt(&dev, VIRTIO_INT_USED);
	drain(dev.irq_fd);
	virtio_reassert(&vm);
	CHECK_U64(drain(dev.irq_fd), 0, "reassert: a new interrupt meanwhile: not again");
	wr(0x064, 1);
	CHECK_INT((int)virtio_reassert(&vm), 0, "reassert: acknowledged: none raised");
	CHECK_U64(drain(dev.irq_fd), 0, "reassert: acknowledged: not again");
	CHECK_INT((int)dev.reasserts, 1, "reassert: counted once");
}

static void
test_config_space(void)
{
	static const struct { uint32_t off, len; int from; const char *what; } t[] = {
		{ 0, 4, 0, "first word" },
		{ 8, 4, 8, "last word" },
		{ 4, 8, 4, "a quad inside" },
		{ 11, 1, 11, "last byte" },
		{ 8, 8, -1, "a quad running past the end" },
		{ 12, 1, -1, "just past the end" },
		{ 0xefc, 4, -1, "the window's last word" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint8_t got[8], want[8] = { 0 };

		memset(got, 0xee, sizeof(got));
		if (t[i].from >= 0)
			memcpy(want, cfg + t[i].from, t[i].len);
		bus_access(&vm.mmio, BASE + 0x100 + t[i].off, got, t[i].len, false);
		CHECK_MEM(got, want, t[i].len, "config %s", t[i].what);
	}
	uint32_t v = 0;
	bus_access(&vm.mmio, BASE + 0x100, (uint8_t *)&v, 4, true);
	CHECK_U64(rd(0x100), 0x04030201, "config space is read-only");
}

int
main(void)
{
	if (fake_vm(&vm, 4 * MIB))
		return 1;
	CHECK_INT(virtio_mmio_init(&dev, &ops, &vm, BASE, IRQ), 0, "virtio_mmio_init");
	CHECK_INT(resets, 1, "the device is reset once at init");
	test_wiring();
	test_ids();
	test_features();
	test_queues();
	test_broken();
	test_reset_and_widths();
	test_config_space();
	test_reassert();
	fake_vm_free(&vm);
	return tap_done();
}
