// SPDX-License-Identifier: MIT
/*
 * queue.c - split virtqueues: the one descriptor-chain walker and the used
 * ring. Every guest-written value is copied once, then checked.
 */
#include <errno.h>
#include <string.h>

#include "virtio.h"
#include "../vmm/util.h"

#define AVAIL_FLAGS 0
#define AVAIL_IDX 1
#define AVAIL_RING 2
#define USED_FLAGS 0
#define USED_IDX 1
/* With VIRTIO_RING_F_EVENT_IDX: avail->ring[size] and used->ring[size]. */
#define USED_EVENT(q) (AVAIL_RING + (q)->size)
#define AVAIL_EVENT(q) (2 + 4 * (q)->size)

/**
 * vq_enable() - check a queue's geometry and map its rings.
 * @q: a queue whose size and addresses the driver wrote.
 * @m: guest memory.
 *
 * Return: 0, or -EINVAL when the size is not a power of two up to
 * VQ_MAX_SIZE, or a ring is misaligned or not wholly in guest RAM.
 */
int
vq_enable(struct virtq *q, const struct guest_mem *m)
{
	uint64_t n = q->size;

	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -EINVAL;
	q->desc = mem_ptr(m, q->desc_gpa, 16 * n);
	q->avail = mem_ptr(m, q->avail_gpa, 6 + 2 * n);
	q->used = mem_ptr(m, q->used_gpa, 6 + 8 * n);
	if (!q->desc || !q->avail || !q->used)
		return -EINVAL;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled = 0;
	q->ready = true;
	return 0;
}

static uint16_t
avail_idx(const struct virtq *q)
{
	return __atomic_load_n(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
}

/**
 * vq_has_avail() - whether the driver has made chains available.
 */
bool
vq_has_avail(const struct virtq *q)
{
	return q->ready && avail_idx(q) != q->last_avail;
}

/**
 * vq_pop() - take the next available chain and translate it.
 * @q: a ready queue.
 * @m: guest memory.
 * @c: the chain, filled in: readable buffers in iov[0..n_out), writable
 *     ones in iov[n_out..n_out+n_in).
 *
 * The contract every device relies on: the head and every `next` index is
 * below the queue size; a chain has at most q->size descriptors, so a loop
 * ends as an error; each buffer lies wholly inside guest RAM; no readable
 * buffer follows a writable one; indirect descriptors are refused (never
 * offered). Nothing in @c points outside guest memory.
 *
 * Return: the number of descriptors (> 0), 0 when the ring is empty, or
 * -EINVAL when the ring or the chain is malformed; the device then needs a
 * reset, since the driver broke the protocol.
 */
int
vq_pop(struct virtq *q, const struct guest_mem *m, struct vq_chain *c)
{
	uint16_t avail = avail_idx(q), idx, count = 0;

	if (avail == q->last_avail)
		return 0;
	if ((uint16_t)(avail - q->last_avail) > q->size)
		return -EINVAL;
	idx = __atomic_load_n(&q->avail[AVAIL_RING + (q->last_avail & (q->size - 1))],
			      __ATOMIC_RELAXED);
	c->head = idx;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		struct vring_desc d;
		void *p;

		if (idx >= q->size || count == q->size)
			return -EINVAL;
		memcpy(&d, &q->desc[idx], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;
		p = mem_ptr(m, d.addr, d.len);
		if (!p)
			return -EINVAL;
		if (d.flags & VRING_DESC_F_WRITE) {
			c->n_in++;
			c->in_len += d.len;
		} else if (c->n_in) {
			return -EINVAL;
		} else {
			c->n_out++;
			c->out_len += d.len;
		}
		c->iov[count++] = (struct iovec){ p, d.len };
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
	}
	q->last_avail++;
	return count;
}

/**
 * vq_put() - return a chain to the driver, unseen until vq_publish().
 * @q:    the queue.
 * @head: the chain's head, as vq_pop() gave it.
 * @len:  bytes the device wrote into the chain's writable buffers.
 *
 * For chains the driver must see together: the buffers of one merged
 * network frame, which it reads as soon as the first one shows.
 */
void
vq_put(struct virtq *q, uint16_t head, uint32_t len)
{
	uint32_t *ring = (uint32_t *)(q->used + 2);
	uint16_t slot = q->used_idx & (q->size - 1);

	ring[2 * slot] = head;
	ring[2 * slot + 1] = len;
	q->used_idx++;
}

/**
 * vq_publish() - let the driver see every chain vq_put() returned.
 */
void
vq_publish(struct virtq *q)
{
	/* The entries must be visible before the index that publishes them. */
	__atomic_store_n(&q->used[USED_IDX], q->used_idx, __ATOMIC_RELEASE);
}

/**
 * vq_push() - return a chain to the driver.
 * @q:    the queue.
 * @head: the chain's head, as vq_pop() gave it.
 * @len:  bytes the device wrote into the chain's writable buffers.
 */
void
vq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	vq_put(q, head, len);
	vq_publish(q);
}

/**
 * vq_notify() - whether the driver should kick the device for new chains.
 * @q:  a ready queue.
 * @on: false while the device will look at the queue anyway.
 *
 * VRING_USED_F_NO_NOTIFY is advice the driver may ignore (virtio 1.2,
 * 2.7.10). With EVENT_IDX the driver reads avail_event instead: "on" asks
 * for a kick for the next chain it adds; "off" leaves the old value, which
 * the driver has passed, so at most one more kick comes (2.7.7.2). After
 * turning kicks back on, check vq_has_avail() again: a chain the driver
 * added before it saw the change came without a kick.
 */
void
vq_notify(struct virtq *q, bool on)
{
	if (!q->event_idx)
		__atomic_store_n(&q->used[USED_FLAGS], on ? 0 : VRING_USED_F_NO_NOTIFY,
				 __ATOMIC_RELAXED);
	else if (on)
		__atomic_store_n(&q->used[AVAIL_EVENT(q)], avail_idx(q), __ATOMIC_RELAXED);
	/* The change must be visible before we read avail->idx again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/**
 * vq_wants_interrupt() - whether the driver asked to hear of the chains
 * used since the last call.
 *
 * With EVENT_IDX, only when used->idx passed used_event since then
 * (vring_need_event() in the spec, 2.7.10.1); without, unless the driver
 * set VRING_AVAIL_F_NO_INTERRUPT. Call it whenever chains were used and
 * an interrupt might go out: a skipped call only makes the next one say
 * yes more readily, never no.
 */
bool
vq_wants_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled, now = q->used_idx, event;

	/* used->idx must be visible before we read what the driver wants. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(__atomic_load_n(&q->avail[AVAIL_FLAGS], __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	event = __atomic_load_n(&q->avail[USED_EVENT(q)], __ATOMIC_RELAXED);
	q->signalled = now;
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

/**
 * iov_slice() - the bytes [@off, @off + @max) of an iovec, as an iovec.
 * @src: the iovec.
 * @n:   its entries.
 * @off: bytes to skip.
 * @max: bytes to take at most.
 * @dst: the slice, at most @n entries, pointing into @src's buffers.
 *
 * Return: the number of entries in @dst.
 */
unsigned
iov_slice(const struct iovec *src, unsigned n, size_t off, size_t max, struct iovec *dst)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && max; i++) {
		size_t l = src[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		dst[k].iov_base = (uint8_t *)src[i].iov_base + off;
		dst[k].iov_len = MIN(l - off, max);
		max -= dst[k++].iov_len;
		off = 0;
	}
	return k;
}

static size_t
iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len, bool to_iov)
{
	struct iovec part[VQ_MAX_SIZE];
	unsigned k = iov_slice(iov, MIN(n, VQ_MAX_SIZE), off, len, part);
	size_t done = 0;

	for (unsigned i = 0; i < k; i++) {
		if (to_iov)
			memcpy(part[i].iov_base, (uint8_t *)buf + done, part[i].iov_len);
		else
			memcpy((uint8_t *)buf + done, part[i].iov_base, part[i].iov_len);
		done += part[i].iov_len;
	}
	return done;
}

/**
 * iov_from_buf() - copy @len bytes into an iovec at byte offset @off.
 *
 * Return: bytes copied, short when the iovec is shorter.
 */
size_t
iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	return iov_copy(iov, n, off, (void *)buf, len, true);
}

/**
 * iov_to_buf() - copy @len bytes out of an iovec from byte offset @off.
 *
 * Return: bytes copied, short when the iovec is shorter.
 */
size_t
iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	return iov_copy(iov, n, off, buf, len, false);
}
