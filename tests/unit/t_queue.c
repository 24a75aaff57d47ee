// SPDX-License-Identifier: MIT
/*
 * t_queue.c - the split virtqueue against a fake guest memory: vq_enable()
 * geometry checks, vq_pop()'s documented contract, vq_push() and the used
 * ring, free-running indices, and the iovec copy helpers.
 */
#include <errno.h>

#include "tap.h"
#include "fake.h"
#include "virtio/virtio.h"
#include "vmm/util.h"

#define RAM	(1 * MIB)
#define DESC	0x1000
#define AVAIL	0x2000
#define USED	0x3000
#define BUF	0x10000
#define QSIZE	8

static struct guest_mem mem;
static struct virtq q;

static void
setup(uint16_t size)
{
	memset(mem.host, 0, 0x10000);
	q = (struct virtq){ .size = size, .desc_gpa = DESC, .avail_gpa = AVAIL,
			    .used_gpa = USED, .kick_fd = -1 };
	if (vq_enable(&q, &mem))
		abort();
}

static void
desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)(mem.host + DESC) + i;

	*d = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static uint16_t *
avail(void)
{
	return (uint16_t *)(mem.host + AVAIL);
}

/* Make chain @head available, as a driver would. */
static void
post(uint16_t head)
{
	uint16_t idx = avail()[1];

	avail()[2 + idx % q.size] = head;
	avail()[1] = (uint16_t)(idx + 1);
}

static void
test_enable(void)
{
	static const struct {
		uint16_t size;
		uint64_t desc, avail, used;
		int want;
		const char *what;
	} t[] = {
		{ 8, DESC, AVAIL, USED, 0, "a well placed queue" },
		{ 1, DESC, AVAIL, USED, 0, "size 1" },
		{ VQ_MAX_SIZE, DESC, 0x4000, 0x6000, 0, "the largest size" },
		{ 0, DESC, AVAIL, USED, -EINVAL, "size 0" },
		{ 3, DESC, AVAIL, USED, -EINVAL, "size not a power of two" },
		{ 2 * VQ_MAX_SIZE, DESC, 0x4000, 0x8000, -EINVAL, "size above the maximum" },
		{ 8, DESC + 8, AVAIL, USED, -EINVAL, "descriptors not 16-byte aligned" },
		{ 8, DESC, AVAIL + 1, USED, -EINVAL, "avail ring at an odd address" },
		{ 8, DESC, AVAIL + 2, USED, 0, "avail ring 2-byte aligned" },
		{ 8, DESC, AVAIL, USED + 2, -EINVAL, "used ring not 4-byte aligned" },
		{ 8, RAM - 128, AVAIL, USED, 0, "descriptors end at RAM's end" },
		{ 8, RAM - 112, AVAIL, USED, -EINVAL, "descriptors cross RAM's end" },
		{ 8, DESC, RAM - 22, USED, 0, "avail ring (6+2n bytes) ends at RAM's end" },
		{ 8, DESC, RAM - 20, USED, -EINVAL, "avail ring crosses RAM's end" },
		{ 8, DESC, AVAIL, RAM - 72, 0, "used ring (6+8n bytes) ends at RAM's end" },
		{ 8, DESC, AVAIL, RAM - 68, -EINVAL, "used ring crosses RAM's end" },
		{ 8, MEM_HOLE_START, AVAIL, USED, -EINVAL, "descriptors in the MMIO hole" },
		{ 8, DESC, UINT64_MAX - 1, USED, -EINVAL, "avail ring address wraps" },
		{ 8, DESC, AVAIL, 0xfffffffffffffff0ULL, -EINVAL, "used ring address wraps" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct virtq v = { .size = t[i].size, .desc_gpa = t[i].desc,
				   .avail_gpa = t[i].avail, .used_gpa = t[i].used,
				   .last_avail = 77, .used_idx = 77 };

		CHECK_INT(vq_enable(&v, &mem), t[i].want, "vq_enable: %s", t[i].what);
		CHECK(v.ready == (t[i].want == 0), "vq_enable: %s: ready only on success",
		      t[i].what);
		if (t[i].want == 0)
			CHECK((uint8_t *)v.desc == mem.host + t[i].desc &&
			      (uint8_t *)v.avail == mem.host + t[i].avail &&
			      (uint8_t *)v.used == mem.host + t[i].used &&
			      v.last_avail == 0 && v.used_idx == 0,
			      "vq_enable: %s: rings mapped, indices reset", t[i].what);
	}
}

static void
test_pop_good(void)
{
	struct vq_chain c;

	setup(QSIZE);
	CHECK_INT(vq_pop(&q, &mem, &c), 0, "empty ring: 0");
	CHECK(!vq_has_avail(&q), "empty ring: nothing available");

	desc(5, BUF, 16, 0, 0);
	post(5);
	CHECK(vq_has_avail(&q), "a posted chain is available");
	CHECK_INT(vq_pop(&q, &mem, &c), 1, "one readable descriptor");
	CHECK(c.head == 5 && c.n_out == 1 && c.n_in == 0 && c.out_len == 16 && c.in_len == 0,
	      "head 5, one out buffer of 16 bytes");
	CHECK(c.iov[0].iov_base == mem.host + BUF && c.iov[0].iov_len == 16,
	      "iov points at the buffer in guest memory");
	CHECK_INT(q.last_avail, 1, "last_avail advanced");
	CHECK_INT(vq_pop(&q, &mem, &c), 0, "then empty again");

	/* 2 readable then 2 writable, linked out of order: 0 -> 3 -> 7 -> 1. */
	desc(0, BUF, 10, VRING_DESC_F_NEXT, 3);
	desc(3, BUF + 100, 20, VRING_DESC_F_NEXT, 7);
	desc(7, BUF + 200, 30, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(1, BUF + 300, 0, VRING_DESC_F_WRITE, 6);	/* no NEXT: `next` ignored */
	post(0);
	CHECK_INT(vq_pop(&q, &mem, &c), 4, "a chain of four");
	CHECK(c.head == 0 && c.n_out == 2 && c.n_in == 2 && c.out_len == 30 && c.in_len == 30,
	      "2 out (30 bytes) then 2 in (30 bytes)");
	CHECK(c.iov[1].iov_base == mem.host + BUF + 100 && c.iov[2].iov_len == 30 &&
	      c.iov[3].iov_base == mem.host + BUF + 300 && c.iov[3].iov_len == 0,
	      "iovs in chain order, zero-length buffer kept");

	/* A chain as long as the queue, the longest allowed. */
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(i, BUF + i, 1, i + 1 < QSIZE ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	post(0);
	CHECK_INT(vq_pop(&q, &mem, &c), QSIZE, "a chain of queue-size descriptors");
	CHECK_INT(c.out_len, QSIZE, "its length");

	/* Buffers at the very ends of RAM. */
	desc(2, 0, 1, VRING_DESC_F_NEXT, 4);
	desc(4, RAM - 1, 1, VRING_DESC_F_WRITE, 0);
	post(2);
	CHECK_INT(vq_pop(&q, &mem, &c), 2, "first and last byte of RAM");
	CHECK(c.iov[1].iov_base == mem.host + RAM - 1, "last byte translated");
}

/* Each case writes a malformed chain at head 0 of a fresh queue. */
static void
test_pop_bad(void)
{
	struct vq_chain c;
	const uint16_t N = VRING_DESC_F_NEXT, W = VRING_DESC_F_WRITE;

	setup(QSIZE);
	desc(0, BUF, 8, W | N, 1);
	desc(1, BUF, 8, 0, 0);
	post(0);
	CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "readable after writable");

	setup(QSIZE);
	desc(0, BUF, 8, N, QSIZE);
	post(0);
	CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "next == queue size");

	setup(QSIZE);
	desc(0, BUF, 8, N, 0xffff);
	post(0);
	CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "next 0xffff");

	setup(QSIZE);
	post(QSIZE);
	CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "head == queue size");

	setup(QSIZE);
	desc(0, BUF, 8, N, 0);
	post(0);
	CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "descriptor linked to itself");

	setup(QSIZE);
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(i, BUF, 8, N, (uint16_t)((i + 1) % QSIZE));
	post(0);
	CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "a loop through every descriptor");

	setup(QSIZE);
	desc(0, BUF, 16 * 2, VRING_DESC_F_INDIRECT, 0);
	post(0);
	CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "indirect descriptor refused");

	static const struct { uint64_t addr; uint32_t len; const char *what; } oob[] = {
		{ RAM - 1, 2, "buffer crossing RAM's end" },
		{ RAM, 1, "buffer just past RAM" },
		{ RAM, 0, "empty buffer at RAM's end" },
		{ 0, 0xffffffff, "4 GiB buffer" },
		{ MEM_HOLE_START, 4, "buffer in the MMIO hole" },
		{ MEM_HIGH_START, 4, "buffer above 4 GiB, no high RAM" },
		{ UINT64_MAX, 1, "buffer address wraps" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(oob); i++) {
		setup(QSIZE);
		desc(0, BUF, 8, N, 1);
		desc(1, oob[i].addr, oob[i].len, W, 0);
		post(0);
		CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "%s", oob[i].what);
	}

	setup(QSIZE);
	avail()[1] = QSIZE + 1;
	CHECK_INT(vq_pop(&q, &mem, &c), -EINVAL, "avail idx more than queue size ahead");
	setup(QSIZE);
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(i, BUF, 1, 0, 0);
	avail()[1] = QSIZE;
	CHECK_INT(vq_pop(&q, &mem, &c), 1, "avail idx exactly queue size ahead is fine");
}

/*
 * The largest queue: a chain may use every descriptor once, and a loop
 * through all of them must end as an error before the chain's iov array
 * (VQ_MAX_SIZE entries) overflows into what follows it.
 */
static void
test_max_chain(void)
{
	static struct {
		struct vq_chain c;
		uint8_t after[64];
	} s;
	static const uint8_t untouched[64] = { [0 ... 63] = 0x5a };

	for (int loop = 0; loop < 2; loop++) {
		setup(VQ_MAX_SIZE);
		memset(s.after, 0x5a, sizeof(s.after));
		for (unsigned i = 0; i < VQ_MAX_SIZE; i++)
			desc((uint16_t)i, BUF + i, 1,
			     loop || i + 1 < VQ_MAX_SIZE ? VRING_DESC_F_NEXT : 0,
			     (uint16_t)((i + 1) % VQ_MAX_SIZE));
		post(0);
		CHECK_INT(vq_pop(&q, &mem, &s.c), loop ? -EINVAL : VQ_MAX_SIZE,
			  loop ? "a loop through all %u descriptors" : "a chain of all %u descriptors",
			  VQ_MAX_SIZE);
		CHECK_MEM(s.after, untouched, sizeof(untouched),
			  "%s: nothing written past the chain's iov array", loop ? "loop" : "chain");
	}
}

/* Indices are free-running 16-bit counters; slots are taken modulo size. */
static void
test_wrap(void)
{
	struct vq_chain c;
	uint32_t *used_ring;
	int n = 0;

	setup(QSIZE);
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(i, BUF + 64 * i, 64, VRING_DESC_F_WRITE, 0);
	q.last_avail = 0xfffe;
	q.used_idx = 0xffff;
	avail()[2 + 6] = 6;
	avail()[2 + 7] = 7;
	avail()[2 + 0] = 3;
	avail()[1] = 1;				/* 0xfffe, 0xffff, 0x0000 posted */
	while (vq_pop(&q, &mem, &c) == 1) {
		CHECK_INT(c.head, n == 0 ? 6 : n == 1 ? 7 : 3, "wrap: chain %d head", n);
		vq_push(&q, c.head, 100 + (uint32_t)n);
		n++;
	}
	CHECK_INT(n, 3, "wrap: three chains across 0xffff");
	CHECK_INT(q.last_avail, 1, "wrap: last_avail is 1");
	used_ring = (uint32_t *)(mem.host + USED + 4);
	CHECK(used_ring[2 * 7] == 6 && used_ring[2 * 7 + 1] == 100, "used slot 7: {6, 100}");
	CHECK(used_ring[0] == 7 && used_ring[1] == 101, "used slot 0: {7, 101}");
	CHECK(used_ring[2] == 3 && used_ring[3] == 102, "used slot 1: {3, 102}");
	CHECK_INT(((uint16_t *)(mem.host + USED))[1], 2, "used idx published: 2");
	CHECK_INT(((uint16_t *)(mem.host + USED))[0], 0, "used flags untouched");

	CHECK(vq_wants_interrupt(&q), "interrupts wanted by default");
	avail()[0] = VRING_AVAIL_F_NO_INTERRUPT;
	CHECK(!vq_wants_interrupt(&q), "VRING_AVAIL_F_NO_INTERRUPT honoured");
	q.ready = false;
	avail()[1] = 5;
	CHECK(!vq_has_avail(&q), "a queue that is not ready has nothing available");
}

/* VIRTIO_RING_F_EVENT_IDX: used_event and avail_event past the rings. */
static void
test_event_idx(void)
{
	uint16_t *used = (uint16_t *)(mem.host + USED);
	struct vq_chain c;

	setup(QSIZE);
	q.event_idx = true;
	for (uint16_t i = 0; i < QSIZE; i++)
		desc(i, BUF + 64 * i, 64, VRING_DESC_F_WRITE, 0);
	avail()[0] = VRING_AVAIL_F_NO_INTERRUPT;	/* ignored with EVENT_IDX */
	avail()[2 + QSIZE] = 0;				/* used_event: after entry 0 */
	post(0);
	vq_pop(&q, &mem, &c);
	vq_push(&q, c.head, 1);
	CHECK(vq_wants_interrupt(&q), "event idx: used_event 0 crossed: interrupt");
	CHECK(!vq_wants_interrupt(&q), "event idx: nothing new used: none");
	for (int i = 1; i <= 3; i++) {
		post((uint16_t)i);
		vq_pop(&q, &mem, &c);
		vq_push(&q, c.head, 1);
	}
	avail()[2 + QSIZE] = 5;
	CHECK(!vq_wants_interrupt(&q), "event idx: used idx 4, used_event 5: none");
	post(4);
	post(5);
	for (int i = 0; i < 2; i++) {
		vq_pop(&q, &mem, &c);
		vq_push(&q, c.head, 1);
	}
	CHECK(vq_wants_interrupt(&q), "event idx: 4 -> 6 crosses used_event 5: interrupt");

	used[2 + 4 * QSIZE] = 0x1234;
	vq_notify(&q, false);
	CHECK_INT(used[2 + 4 * QSIZE], 0x1234, "event idx: kicks off leaves avail_event alone");
	CHECK_INT(used[0], 0, "event idx: used flags stay 0");
	vq_notify(&q, true);
	CHECK_INT(used[2 + 4 * QSIZE], 6, "event idx: kicks on: avail_event is avail idx");

	q.event_idx = false;
	vq_notify(&q, false);
	CHECK_INT(used[0], VRING_USED_F_NO_NOTIFY, "no event idx: kicks off sets NO_NOTIFY");
	CHECK(!vq_wants_interrupt(&q), "no event idx: NO_INTERRUPT honoured again");
}

static void
test_iov(void)
{
	uint8_t a[3], b[5], c[2], out[16];
	const uint8_t src[10] = "0123456789";
	struct iovec iov[] = { { a, 3 }, { NULL, 0 }, { b, 5 }, { c, 2 } };
	static const struct { size_t off, len, want; const char *bytes; } t[] = {
		{ 0, 10, 10, "0123456789" },
		{ 0, 16, 10, "0123456789" },
		{ 2, 3, 3, "234" },
		{ 3, 5, 5, "34567" },
		{ 7, 3, 3, "789" },
		{ 9, 4, 1, "9" },
		{ 10, 4, 0, "" },
		{ 1000, 4, 0, "" },
		{ 4, 0, 0, "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint8_t flat[10];

		iov_from_buf(iov, 4, 0, src, 10);
		memset(out, '.', sizeof(out));
		CHECK_INT(iov_to_buf(iov, 4, t[i].off, out, t[i].len), t[i].want,
			  "iov_to_buf off %zu len %zu: count", t[i].off, t[i].len);
		CHECK(!memcmp(out, t[i].bytes, t[i].want) && out[t[i].want] == '.',
		      "iov_to_buf off %zu len %zu: bytes, nothing more", t[i].off, t[i].len);

		memset(a, '.', 3), memset(b, '.', 5), memset(c, '.', 2);
		CHECK_INT(iov_from_buf(iov, 4, t[i].off, "abcdefghijklmnop", t[i].len), t[i].want,
			  "iov_from_buf off %zu len %zu: count", t[i].off, t[i].len);
		memcpy(flat, a, 3), memcpy(flat + 3, b, 5), memcpy(flat + 8, c, 2);
		bool same = true;
		for (size_t j = 0; j < 10; j++)
			same &= flat[j] == (j >= t[i].off && j < t[i].off + t[i].want ?
					    (uint8_t)('a' + j - t[i].off) : '.');
		CHECK(same, "iov_from_buf off %zu len %zu: bytes in place, nothing more",
		      t[i].off, t[i].len);
	}
	CHECK_INT(iov_to_buf(iov, 0, 0, out, 4), 0, "no iovecs: nothing copied");
}

int
main(void)
{
	if (fake_mem(&mem, RAM))
		return 1;
	test_enable();
	test_pop_good();
	test_pop_bad();
	test_max_chain();
	test_wrap();
	test_event_idx();
	test_iov();
	fake_mem_free(&mem);
	return tap_done();
}
