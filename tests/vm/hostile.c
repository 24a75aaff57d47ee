// SPDX-License-Identifier: MIT
/*
 * hostile - a guest program that attacks capsa's virtio devices, for the
 * hostile-guest test. Run as root in the guest:
 *
 *   hostile SECONDS SEED DEVICE...
 *
 * DEVICE is a virtio-mmio window index (window i is at 0xd0000000 + i*4K).
 * For SECONDS it writes random values to the register windows through
 * /dev/mem, places virtqueues on pages of its own memory (their physical
 * addresses come from /proc/self/pagemap) and fills them with random
 * descriptors, rings and indices, mixed with plausible ones, and kicks the
 * queues. Unbind the kernel's driver from a device first to keep the guest
 * kernel out of the fight. Prints what it did; exits 0.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MMIO_BASE 0xd0000000UL
#define PAGES 64

enum {
	R_DEV_FEAT_SEL = 0x14, R_DRV_FEAT = 0x20, R_DRV_FEAT_SEL = 0x24, R_QUEUE_SEL = 0x30,
	R_QUEUE_NUM = 0x38, R_QUEUE_READY = 0x44, R_NOTIFY = 0x50, R_ACK = 0x64,
	R_STATUS = 0x70, R_DESC = 0x80, R_DRIVER = 0x90, R_DEVICE = 0xa0,
};

static uint64_t rng;
static uint8_t *pages;
static uint64_t phys[PAGES];
static unsigned long stats[6];

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
wr(volatile uint8_t *w, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(w + (off & 0xffc)) = v;
}

static uint64_t
guest_addr(void)
{
	switch (rnd() % 8) {
	case 0: return rnd();				/* anywhere */
	case 1: return MMIO_BASE + rnd() % 0x10000;	/* the device windows */
	case 2: return phys[rnd() % PAGES] + 4096 - rnd() % 64;	/* a page's end */
	default: return phys[rnd() % PAGES] + (rnd() % 256) * 16;
	}
}

/*
 * Bytes from @a to the end of the physically contiguous run of our pages
 * that holds it; 0 when @a is not in our pages. Whatever the device writes
 * must stay inside that run: past it lies guest memory that is the guest
 * kernel's, which a device told to write there rightly overwrites (the
 * guest then dies by its own hand, a failure of this test, not of capsa).
 */
static uint64_t
room(uint64_t a)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < PAGES && !end; i++)
		if (a >= phys[i] && a < phys[i] + 4096)
			end = phys[i] + 4096;
	for (bool more = end != 0; more;) {
		more = false;
		for (unsigned i = 0; i < PAGES; i++)
			if (phys[i] == end) {
				end += 4096;
				more = true;
			}
	}
	return end ? end - a : 0;
}

/* @len, cut to the room after @a when @a is ours (other addresses are outside RAM). */
static uint32_t
fit(uint64_t a, uint32_t len)
{
	uint64_t r = room(a);

	return r && len > r ? (uint32_t)r : len;
}

/* Random bytes, with descriptors that point into our pages now and then. */
static void
scribble(void)
{
	uint8_t *p = pages + (rnd() % PAGES) * 4096;
	struct { uint64_t addr; uint32_t len; uint16_t flags, next; } d;

	for (unsigned i = 0; i < 4096; i += 16) {
		if (rnd() % 3) {
			d.addr = guest_addr();
			d.len = fit(d.addr, rnd() % 4 ? (uint32_t)(rnd() % 8192) : (uint32_t)rnd());
			d.flags = (uint16_t)(rnd() % 8);
			d.next = (uint16_t)(rnd() % 4 ? rnd() % 16 : rnd());
			memcpy(p + i, &d, sizeof(d));
		} else {
			uint64_t r[2] = { rnd(), rnd() };

			memcpy(p + i, r, 16);
		}
	}
	stats[0]++;
}

static void
setup_queue(volatile uint8_t *w)
{
	wr(w, R_QUEUE_SEL, (uint32_t)(rnd() % 5));
	wr(w, R_QUEUE_NUM, rnd() % 4 ? 1U << (rnd() % 10) : (uint32_t)rnd());
	for (unsigned r = R_DESC; r <= R_DEVICE; r += 0x10) {
		uint64_t a = guest_addr();

		/* The used ring is written: 6 + 8 * VQ_MAX_SIZE (256) bytes at most. */
		if (r == R_DEVICE && room(a) && room(a) < 2054)
			a = phys[rnd() % PAGES];

		wr(w, r, (uint32_t)a);
		wr(w, r + 4, (uint32_t)(a >> 32));
	}
	wr(w, R_QUEUE_READY, 1);
	stats[1]++;
}

static void
drive(volatile uint8_t *w)
{
	static const uint32_t statuses[] = { 0, 1, 3, 0xb, 0xf, 0x4f, 0xff };

	switch (rnd() % 10) {
	case 0:
		wr(w, R_STATUS, statuses[rnd() % 7]);	/* includes resets */
		stats[2]++;
		break;
	case 1:
	case 2:
		setup_queue(w);
		break;
	case 3:
		wr(w, R_DRV_FEAT_SEL, (uint32_t)(rnd() % 3));
		wr(w, R_DRV_FEAT, (uint32_t)rnd());
		break;
	case 4: {
		unsigned r = (unsigned)(rnd() % 0x200);	/* any register or config ... */

		/* ... but the rings' addresses, which setup_queue() keeps in our pages. */
		if (r >= R_DESC && r < R_DEVICE + 8)
			r = 0x100 + r % 0x100;
		wr(w, r, (uint32_t)rnd());
		stats[3]++;
		break;
	}
	case 5:
		(void)*(volatile uint32_t *)(w + (rnd() % 0x200 & 0xffc));
		break;
	default:
		wr(w, R_NOTIFY, (uint32_t)(rnd() % 5));
		stats[4]++;
		break;
	}
	if (rnd() % 4 == 0)
		wr(w, R_ACK, (uint32_t)rnd());
}

static int
map_pages(void)
{
	int pm = open("/proc/self/pagemap", O_RDONLY);

	pages = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (pm < 0 || pages == MAP_FAILED)
		return -1;
	for (unsigned i = 0; i < PAGES; i++) {
		uint64_t e;

		if (pread(pm, &e, 8, (off_t)((uintptr_t)(pages + i * 4096) / 4096 * 8)) != 8 ||
		    !(e & (1ULL << 63)))
			return -1;
		phys[i] = (e & ((1ULL << 55) - 1)) * 4096;
	}
	close(pm);
	return 0;
}

int
main(int argc, char **argv)
{
	volatile uint8_t *win[16];
	int n = 0, fd;
	time_t end;

	if (argc < 4)
		return fprintf(stderr, "usage: hostile SECONDS SEED DEVICE...\n"), 2;
	end = time(NULL) + atoi(argv[1]);
	rng = strtoull(argv[2], NULL, 0) | 1;
	fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (fd < 0 || map_pages() < 0)
		return perror("hostile: /dev/mem or pagemap"), 1;
	for (int i = 3; i < argc && n < 16; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			       (off_t)(MMIO_BASE + 4096UL * (unsigned)atoi(argv[i])));

		if (p == MAP_FAILED)
			return perror("hostile: mmap"), 1;
		win[n++] = p;
	}
	while (time(NULL) < end) {
		for (int i = 0; i < 64; i++) {
			if (rnd() % 3 == 0)
				scribble();
			drive(win[rnd() % (uint64_t)n]);
			stats[5]++;
		}
	}
	printf("hostile: %lu actions, %lu scribbles, %lu queue setups, %lu status writes, "
	       "%lu register writes, %lu kicks\n",
	       stats[5], stats[0], stats[1], stats[2], stats[3], stats[4]);
	return 0;
}
