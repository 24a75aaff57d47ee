// SPDX-License-Identifier: MIT
/*
 * fuzz_queue.c - vq_enable() and vq_pop(), the one descriptor-chain
 * walker, against rings and memory the fuzzer writes.
 *
 * Input: struct hdr (queue size, the three ring addresses, the starting
 * indices, an offset for the copy helpers), then the guest's RAM image.
 * Every chain vq_pop() returns is checked against its documented contract
 * and every byte of it is touched, so a buffer outside RAM faults.
 *
 * fuzz-sources: virtio/queue.c vmm/mem.c
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "virtio/virtio.h"

#define RAM (64 * 1024)

struct hdr {
	uint16_t size, last_avail, used_idx, off;
	uint32_t desc, avail, used;
} __attribute__((packed));

static struct guest_mem mem;
static struct vq_chain chain;

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static bool
in_ram(const void *p, size_t len)
{
	const uint8_t *b = p;

	return b >= mem.host && b <= mem.host + RAM && len <= (size_t)(mem.host + RAM - b);
}

static void
check_chain(const struct virtq *q, int n, uint16_t off)
{
	uint64_t out = 0, in = 0;
	uint8_t scratch[512];
	volatile uint8_t sink = 0;

	REQUIRE(n <= q->size && chain.head < q->size);
	REQUIRE(chain.n_out + chain.n_in == n);
	for (int i = 0; i < n; i++) {
		const struct iovec *v = &chain.iov[i];

		REQUIRE(in_ram(v->iov_base, v->iov_len));
		if (v->iov_len)
			sink += ((uint8_t *)v->iov_base)[0] + ((uint8_t *)v->iov_base)[v->iov_len - 1];
		*(i < chain.n_out ? &out : &in) += v->iov_len;
	}
	REQUIRE(out == chain.out_len && in == chain.in_len);
	/* The device copies headers out and replies in, at any offset. */
	REQUIRE(iov_to_buf(chain.iov, chain.n_out, off, scratch, sizeof(scratch)) ==
		(off < out ? (out - off < sizeof(scratch) ? out - off : sizeof(scratch)) : 0));
	iov_from_buf(chain.iov + chain.n_out, chain.n_in, off, scratch, sizeof(scratch));
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hdr h;
	struct virtq q;
	int n;

	if (size < sizeof(h))
		return 0;
	if (!mem.host && fake_mem(&mem, RAM))
		abort();
	memcpy(&h, data, sizeof(h));
	memset(mem.host, 0, RAM);
	memcpy(mem.host, data + sizeof(h), size - sizeof(h) < RAM ? size - sizeof(h) : RAM);

	/* Addresses reach a little past RAM, into the hole, and above 4 GiB. */
	q = (struct virtq){ .size = h.size, .desc_gpa = h.desc, .avail_gpa = h.avail,
			    .used_gpa = h.used, .kick_fd = -1 };
	if (h.desc & 0x80000000)
		q.desc_gpa = (uint64_t)h.desc << 8;
	if (vq_enable(&q, &mem) < 0) {
		REQUIRE(!q.ready);
		return 0;
	}
	REQUIRE(q.ready && q.size && q.size <= VQ_MAX_SIZE && !(q.size & (q.size - 1)));
	REQUIRE(in_ram(q.desc, 16 * q.size) && in_ram(q.avail, 6 + 2 * q.size) &&
		in_ram(q.used, 6 + 8 * q.size));
	q.last_avail = h.last_avail;
	q.used_idx = h.used_idx;
	for (int i = 0; i < 2 * VQ_MAX_SIZE + 2; i++) {
		uint16_t before = q.last_avail, used = q.used_idx;

		n = vq_pop(&q, &mem, &chain);
		if (n <= 0) {
			REQUIRE(n == 0 ? !vq_has_avail(&q) : n == -EINVAL);
			break;
		}
		REQUIRE(q.last_avail == (uint16_t)(before + 1));
		check_chain(&q, n, h.off);
		vq_push(&q, chain.head, (uint32_t)chain.in_len);
		REQUIRE(q.used[1] == (uint16_t)(used + 1));
	}
	vq_wants_interrupt(&q);
	return 0;
}
