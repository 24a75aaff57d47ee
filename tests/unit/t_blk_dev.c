// SPDX-License-Identifier: MIT
/*
 * t_blk_dev.c - the virtio-blk device as the guest sees it, worker threads
 * and all: every byte it writes into guest memory must land in a buffer
 * the driver offered as writable for a request still in flight, or in the
 * used ring. Guest RAM starts as a canary pattern; after each round the
 * bytes that changed are compared with what the round allowed. A reset
 * waits for the requests in flight and nothing is written after it, to the
 * old rings or to new ones (the issue 13 question: does capsa write into
 * guest memory it no longer owns?).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "drv.h"
#include "fake.h"
#include "virtio/blk.h"
#include "vmm/loop.h"

#define BASE	0xd0000000ULL
#define IRQ	5
#define RING	0x10000		/* queue 0's rings (drv.h: +0x1000 avail, +0x2000 used) */
#define RING2	0x20000		/* where the driver puts them after a reset */
#define DATA	0x100000	/* headers, buffers, status bytes from here */
#define RAM	(8 << 20)
#define QSIZE	128
#define NREQ	100
#define CANARY	0xa5
#define IMG	(1 << 20)

static struct vm vm;
static struct loop loop;
static struct drv drv;
static struct blk_dev *dev;
static uint8_t *snap;

/* Ranges the device may write in this round. */
static struct { uint64_t gpa, len; } allowed[NREQ * 8];
static unsigned nallowed;

static uint8_t
img_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

static void
pump(void)
{
	struct epoll_event evs[8];
	int n;

	while ((n = epoll_wait(loop.epfd, evs, 8, 0)) > 0)
		for (int i = 0; i < n; i++) {
			struct ev *ev = evs[i].data.ptr;

			ev->fn(ev, evs[i].events);
		}
}

static void
kick(void)
{
	uint64_t one = 1;

	(void)!write(((struct virtio_dev *)dev)->vq[0].kick_fd, &one, sizeof(one));
	pump();
}

static void
allow(uint64_t gpa, uint64_t len)
{
	allowed[nallowed].gpa = gpa;
	allowed[nallowed++].len = len;
}

static bool
is_allowed(uint64_t gpa, uint64_t ring)
{
	if (gpa >= ring + 0x2000 && gpa < ring + 0x2000 + 6 + 8 * QSIZE)
		return true;
	for (unsigned i = 0; i < nallowed; i++)
		if (gpa >= allowed[i].gpa && gpa < allowed[i].gpa + allowed[i].len)
			return true;
	return false;
}

/* Bytes of guest RAM that changed since the snapshot outside what was allowed. */
static unsigned
stray_writes(uint64_t ring, uint64_t *first)
{
	const uint8_t *ram = mem_ptr(&vm.mem, 0, RAM);
	unsigned stray = 0;

	for (uint64_t a = 0; a < RAM; a++)
		if (ram[a] != snap[a] && !is_allowed(a, ring) && stray++ == 0)
			*first = a;
	return stray;
}

/*
 * Request @i: a header, then 1-4 data descriptors of odd sizes summing to
 * whole sectors, then the status byte, each at its own place in DATA; its
 * descriptors are the six from @slot * 6.
 * Mostly reads; some writes, GET_ID, FLUSH and requests that must fail.
 * Return: its head.
 */
static uint16_t
build(unsigned i, unsigned slot, uint64_t base, uint32_t *kind)
{
	struct virtio_blk_outhdr *h = mem_ptr(&vm.mem, base, sizeof(*h));
	uint16_t d = (uint16_t)(slot * 6), head = d;
	unsigned parts = 1 + i % 4, sectors = 1 + i % 9;
	uint32_t total = sectors * 512, done = 0;
	uint64_t buf = base + 64, at = 0;

	*kind = i % 10 == 7 ? VIRTIO_BLK_T_OUT : i % 10 == 8 ? VIRTIO_BLK_T_GET_ID :
		i % 10 == 9 ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_IN;
	/* Writes go to sectors 2000 and up, which no read checks. */
	*h = (struct virtio_blk_outhdr){ .type = *kind, .sector = *kind == VIRTIO_BLK_T_OUT ?
					 2000 + i % 30 : (uint64_t)(i * 13 % 2000) };
	if (i % 25 == 3)
		h->sector = IMG / 512;			/* past the end: IOERR */
	drv_desc(&drv, 0, d, base, sizeof(*h), VRING_DESC_F_NEXT, (uint16_t)(d + 1));
	d++;
	if (*kind == VIRTIO_BLK_T_FLUSH)
		parts = 0;
	if (*kind == VIRTIO_BLK_T_GET_ID)
		total = VIRTIO_BLK_ID_BYTES, parts = 1;
	for (unsigned p = 0; p < parts; p++) {
		uint32_t n = p + 1 == parts ? total - done : total / parts;
		bool wr = *kind != VIRTIO_BLK_T_OUT;

		if (wr)
			allow(buf + at, n);
		drv_desc(&drv, 0, d, buf + at, n, VRING_DESC_F_NEXT | (wr ? VRING_DESC_F_WRITE : 0),
			 (uint16_t)(d + 1));
		done += n;
		at += n + (p & 1) * 512;		/* gaps between some buffers */
		d++;
	}
	allow(buf + at + 8192, 1);
	drv_desc(&drv, 0, d, buf + at + 8192, 1, VRING_DESC_F_WRITE, 0);
	return head;
}

/* The used length the device must report for request @i (see build()). */
static uint32_t
expect_len(unsigned i, uint32_t kind)
{
	if (kind == VIRTIO_BLK_T_IN && i % 25 != 3)
		return (1 + i % 9) * 512 + 1;
	if (kind == VIRTIO_BLK_T_GET_ID)
		return VIRTIO_BLK_ID_BYTES + 1;
	return 1;
}

static bool
wait_used(unsigned n)
{
	uint16_t *used = mem_ptr(&vm.mem, drv.q[0].used, 4);
	struct timespec ts = { 0, 1000000 };

	for (int t = 0; t < 5000; t++) {
		if ((uint16_t)(__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) - drv.q[0].used_seen) >= n)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void
test_round(unsigned round)
{
	uint32_t kind[NREQ], id, len;
	uint16_t head[NREQ];
	unsigned got = 0, good = 0, bad_data = 0, batch = QSIZE / 6;
	bool seen[NREQ] = { false };
	uint64_t first = 0;

	nallowed = 0;
	for (unsigned i = 0; i < NREQ; i += batch) {
		unsigned n = NREQ - i < batch ? NREQ - i : batch;

		for (unsigned k = 0; k < n; k++)
			head[i + k] = build(i + k, k, DATA + (uint64_t)(i + k) * 0x10000, &kind[i + k]);
		for (unsigned k = 0; k < n; k++)
			drv_post(&drv, 0, head[i + k]);
		memcpy(snap, mem_ptr(&vm.mem, 0, RAM), RAM);
		kick();
		CHECK(wait_used(n), "round %u: requests %u-%u all completed", round, i, i + n - 1);
		while (drv_used(&drv, 0, &id, &len)) {
			unsigned k = 0;

			while (k < n && head[i + k] != id)
				k++;
			/* Each head once, with what it wrote: data for a read, then the status byte. */
			if (k < n && !seen[i + k] && len == expect_len(i + k, kind[i + k]))
				seen[i + k] = true, good++;
			got++;
		}
		CHECK_INT((int)stray_writes(RING, &first), 0,
			  "round %u, requests %u-%u: no byte written outside the writable buffers "
			  "and the used ring (first at %#llx)", round, i, i + n - 1,
			  (unsigned long long)first);
	}
	CHECK_INT((int)got, NREQ, "round %u: as many used entries as requests", round);
	CHECK_INT((int)good, NREQ, "round %u: each request returned once, with its length", round);
	/* The first data buffer of each read (see build()) holds its sector's start. */
	for (unsigned i = 0; i < NREQ; i++) {
		const uint8_t *b = mem_ptr(&vm.mem, DATA + (uint64_t)i * 0x10000 + 64, 512);
		uint64_t off = (uint64_t)(i * 13 % 2000) * 512;
		unsigned len1 = (1 + i % 9) * 512 / (1 + i % 4);

		for (unsigned k = 0; kind[i] == VIRTIO_BLK_T_IN && i % 25 != 3 && k < len1 && k < 512; k++)
			bad_data += b[k] != img_byte(off + k);
	}
	CHECK_INT((int)bad_data, 0, "round %u: reads brought the image's bytes", round);
}

/* A reset with requests in flight: afterwards the device writes nothing, anywhere. */
static void
test_reset(void)
{
	uint32_t kind;
	uint64_t first = 0;

	nallowed = 0;
	for (unsigned i = 0; i < QSIZE / 6; i++)
		drv_post(&drv, 0, build(i, i, DATA + (uint64_t)i * 0x10000, &kind));
	kick();		/* the workers take them; the reset comes at once */
	drv_wr(&drv, 0x070, 0);		/* returns once the requests in flight are done */
	drv_start(&drv, &vm, BASE, 1, QSIZE, RING2);
	memcpy(snap, mem_ptr(&vm.mem, 0, RAM), RAM);
	nallowed = 0;
	usleep(200000);
	pump();
	CHECK_INT((int)stray_writes(RING2, &first), 0,
		  "after a reset with requests in flight: nothing written, not even to the "
		  "new used ring (first at %#llx)", (unsigned long long)first);
	CHECK_INT((int)__atomic_load_n((uint16_t *)mem_ptr(&vm.mem, RING2 + 0x2002, 2),
				       __ATOMIC_ACQUIRE), 0,
		  "after a reset: no old request completes on the new ring");
}

int
main(void)
{
	char path[] = "/tmp/t_blk_dev.XXXXXX";
	uint8_t *img = malloc(IMG);
	int fd = mkstemp(path);

	snap = malloc(RAM);
	if (fd < 0 || !img || !snap || fake_vm(&vm, RAM) || loop_init(&loop))
		return 1;
	unlink(path);
	for (uint64_t i = 0; i < IMG; i++)
		img[i] = img_byte(i);
	if (write(fd, img, IMG) != IMG)
		return 1;
	dev = blk_create(&vm, &loop, BASE, IRQ, fd, false);
	CHECK(dev != NULL, "blk_create");
	if (!dev)
		return tap_done();
	memset(mem_ptr(&vm.mem, 0, RAM), CANARY, RAM);
	drv_start(&drv, &vm, BASE, 1, QSIZE, RING);
	for (unsigned r = 0; r < 3; r++)
		test_round(r);
	test_reset();
	free(img);
	return tap_done();
}
