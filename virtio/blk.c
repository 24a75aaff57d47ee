// SPDX-License-Identifier: MIT
/*
 * blk.c - virtio-blk (virtio 1.2, 5.2): a raw image as a guest disk.
 *
 * Theory of operation: BLK_WORKERS threads per disk (workers.c) serve
 * requests, preadv / pwritev / fdatasync / fallocate on the image, so
 * several are in flight at once and no vCPU (nor the event loop) ever waits
 * for the host's disk. They start on the first kick, after the jail.
 *
 * A request is a 16-byte header (readable), data, and a status byte (the
 * last writable byte). Every length is checked against the header's type
 * before a byte moves: a request that does not fit gets IOERR, an unknown
 * type UNSUPP, never a crash or a short transfer. Only a chain with no room
 * for a status byte breaks the protocol and puts the device in NEEDS_RESET.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_ids.h>

#include "blk.h"
#include "workers.h"
#include "../vmm/loop.h"
#include "../vmm/util.h"

#define BLK_WORKERS	4			/* requests served at once per disk */
#define SEG_MAX		(VQ_MAX_SIZE - 2)	/* the header and status take one each */
#define MAX_RANGES	32			/* discard / write-zeroes ranges a request */
#define MAX_RANGE_SECTORS (1U << 22)		/* 2 GiB per range */
#define MAX_XFER	(UINT32_MAX - 1)	/* the used length must fit in 32 bits */
#define ALIGN_SECTORS	8			/* 4 KiB: host filesystems' block */
#define HDR_LEN		sizeof(struct virtio_blk_outhdr)
#define RANGE_LEN	sizeof(struct virtio_blk_discard_write_zeroes)

struct blk_dev {
	struct virtio_dev vdev;		/* first: the transport's view */
	struct blk_disk disk;
	struct virtio_blk_config config;
	struct ev kick_ev;
	bool started;			/* the workers run */
	struct vq_workers pool;
};

/* One request while it is parsed and served. */
struct blk_req {
	const struct blk_disk *disk;
	const struct vq_chain *c;
	struct virtio_blk_outhdr hdr;
	uint64_t data_out;		/* readable bytes after the header */
	uint64_t data_in;		/* writable bytes before the status byte */
	uint32_t written;		/* data bytes given to the guest */
};

static const uint8_t zeros[64 * 1024];

/* ---- request code: iovecs and an fd, no device state -------------------- */

static bool
in_range(const struct blk_disk *d, uint64_t sector, uint64_t bytes)
{
	return bytes % BLK_SECTOR == 0 && bytes <= MAX_XFER && sector <= d->sectors &&
	       bytes / BLK_SECTOR <= d->sectors - sector;
}

/*
 * The whole iovec from or to @fd at @off. Short transfers are resumed; a
 * read that meets the end of the file (the image shrank under us) fails.
 */
static int
rw_all(int fd, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	for (;;) {
		ssize_t r;

		while (n && iov->iov_len == 0) {
			iov++;
			n--;
		}
		if (!n)
			return 0;
		r = write ? pwritev(fd, iov, (int)MIN(n, IOV_MAX), (off_t)off)
			  : preadv(fd, iov, (int)MIN(n, IOV_MAX), (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += (uint64_t)r;
		while ((size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
			if (!n)
				return 0;
		}
		iov->iov_base = (uint8_t *)iov->iov_base + r;
		iov->iov_len -= (size_t)r;
	}
}

static uint8_t
do_rw(struct blk_req *r, bool write)
{
	const struct vq_chain *c = r->c;
	uint64_t len = write ? r->data_out : r->data_in;
	struct iovec iov[VQ_MAX_SIZE];
	unsigned n;

	/* Data in the other direction disagrees with the request type. */
	if ((write ? r->data_in : r->data_out) != 0)
		return VIRTIO_BLK_S_IOERR;
	if ((write && r->disk->ro) || !in_range(r->disk, r->hdr.sector, len))
		return VIRTIO_BLK_S_IOERR;
	n = write ? iov_slice(c->iov, c->n_out, HDR_LEN, len, iov)
		  : iov_slice(c->iov + c->n_out, c->n_in, 0, len, iov);
	if (rw_all(r->disk->fd, iov, n, r->hdr.sector * BLK_SECTOR, write) < 0)
		return VIRTIO_BLK_S_IOERR;
	if (!write)
		r->written = (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

static uint8_t
do_flush(struct blk_req *r)
{
	if (r->data_out || r->data_in)
		return VIRTIO_BLK_S_IOERR;
	return fdatasync(r->disk->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static uint8_t
do_get_id(struct blk_req *r)
{
	const struct vq_chain *c = r->c;

	if (r->data_out)
		return VIRTIO_BLK_S_IOERR;
	r->written = (uint32_t)iov_from_buf(c->iov + c->n_out, c->n_in, 0, r->disk->id,
					    MIN(r->data_in, sizeof(r->disk->id)));
	return VIRTIO_BLK_S_OK;
}

static int
punch(int fd, uint64_t off, uint64_t len)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}

/* Zeroes on the image: the cheapest way the host offers, bytes as a last resort. */
static int
zero_range(const struct blk_disk *d, uint64_t off, uint64_t len, bool unmap)
{
	if (unmap && d->can_punch && punch(d->fd, off, len) == 0)
		return 0;
	if (fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (d->can_punch && punch(d->fd, off, len) == 0)
		return 0;
	while (len) {
		ssize_t w = pwrite(d->fd, zeros, MIN(len, sizeof(zeros)), (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/* DISCARD and WRITE_ZEROES: a list of ranges, all checked before any is done. */
static uint8_t
do_ranges(struct blk_req *r, bool zeroes)
{
	struct virtio_blk_discard_write_zeroes seg[MAX_RANGES];
	uint32_t allowed = zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
	uint64_t n = r->data_out / RANGE_LEN;
	const struct blk_disk *d = r->disk;

	if (r->data_in || r->data_out % RANGE_LEN || n == 0 || n > MAX_RANGES || d->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!zeroes && !d->can_punch)
		return VIRTIO_BLK_S_UNSUPP;
	iov_to_buf(r->c->iov, r->c->n_out, HDR_LEN, seg, r->data_out);
	for (unsigned i = 0; i < n; i++) {
		if (seg[i].flags & ~allowed)
			return VIRTIO_BLK_S_UNSUPP;
		if (seg[i].num_sectors > MAX_RANGE_SECTORS ||
		    !in_range(d, seg[i].sector, (uint64_t)seg[i].num_sectors * BLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = seg[i].sector * BLK_SECTOR;
		uint64_t len = (uint64_t)seg[i].num_sectors * BLK_SECTOR;
		bool unmap = seg[i].flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

		if (len && (zeroes ? zero_range(d, off, len, unmap) : punch(d->fd, off, len)) < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t
dispatch(struct blk_req *r)
{
	switch (r->hdr.type) {
	case VIRTIO_BLK_T_IN:		return do_rw(r, false);
	case VIRTIO_BLK_T_OUT:		return do_rw(r, true);
	case VIRTIO_BLK_T_FLUSH:	return do_flush(r);
	case VIRTIO_BLK_T_GET_ID:	return do_get_id(r);
	case VIRTIO_BLK_T_DISCARD:	return do_ranges(r, false);
	case VIRTIO_BLK_T_WRITE_ZEROES:	return do_ranges(r, true);
	default:			return VIRTIO_BLK_S_UNSUPP;
	}
}

/**
 * blk_serve() - carry out one request and write its status byte.
 * @disk: the backing store.
 * @c:    the request's chain, as vq_pop() gave it.
 * @used: bytes written into the chain's writable buffers, status included.
 *
 * Return: 0 when the request got a status (OK, IOERR or UNSUPP), -EINVAL
 * when the chain has no writable byte to carry one.
 */
int
blk_serve(const struct blk_disk *disk, const struct vq_chain *c, uint32_t *used)
{
	struct blk_req r = { .disk = disk, .c = c };
	uint8_t status = VIRTIO_BLK_S_IOERR;

	if (c->in_len == 0)
		return -EINVAL;
	r.data_in = c->in_len - 1;
	if (c->out_len >= HDR_LEN) {
		iov_to_buf(c->iov, c->n_out, 0, &r.hdr, HDR_LEN);
		r.data_out = c->out_len - HDR_LEN;
		status = dispatch(&r);
	}
	iov_from_buf(c->iov + c->n_out, c->n_in, r.data_in, &status, 1);
	*used = r.written + 1;
	return 0;
}

/* A serial that stays the same for the same file: "capsa-" and a hash of dev:inode. */
static void
make_id(char id[VIRTIO_BLK_ID_BYTES], const struct stat *st)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	uint64_t key[2] = { st->st_dev, st->st_ino };
	const uint8_t *p = (const uint8_t *)key;
	char buf[VIRTIO_BLK_ID_BYTES + 1];

	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	snprintf(buf, sizeof(buf), "capsa-%014llx", (unsigned long long)(h & ((1ULL << 56) - 1)));
	memcpy(id, buf, VIRTIO_BLK_ID_BYTES);
}

/**
 * blk_disk_init() - describe an open image for the request code.
 * @disk: filled in.
 * @fd:   a regular file or block device, O_RDWR unless @ro.
 * @ro:   refuse every write.
 *
 * Return: 0, -EINVAL when @fd is neither a regular file nor a block
 * device or its size is not a multiple of 512, or another -errno.
 */
int
blk_disk_init(struct blk_disk *disk, int fd, bool ro)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		return -EINVAL;
	}
	if (bytes % BLK_SECTOR)
		return -EINVAL;
	*disk = (struct blk_disk){ .fd = fd, .ro = ro, .sectors = bytes / BLK_SECTOR };
	make_id(disk->id, &st);
	/* Punching past the end changes nothing, and tells whether the host can. */
	if (!ro)
		disk->can_punch = S_ISBLK(st.st_mode) || punch(fd, bytes, 4096) == 0;
	return 0;
}

/* ---- the device: workers (workers.c), ring and interrupts ---------------- */

static int
serve(void *opaque, const struct vq_chain *c, uint32_t *used)
{
	return blk_serve(&((struct blk_dev *)opaque)->disk, c, used);
}

static void
kick(struct ev *ev, uint32_t events)
{
	struct blk_dev *d = ev->opaque;
	uint64_t n;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));
	/* The workers start on the first kick, after capsa jailed itself. */
	if (!d->started && vq_workers_start(&d->pool, BLK_WORKERS, NULL) < 0)
		virtio_fail(&d->vdev, "cannot start the I/O threads");
	d->started = true;
	vq_workers_kick(&d->pool);
}

/* The driver reset the device: let requests in flight finish, then forget them. */
static void
blk_reset(struct virtio_dev *vdev)
{
	vq_workers_reset(&((struct blk_dev *)vdev)->pool);
}

static void
blk_dump(struct virtio_dev *vdev)
{
	struct blk_dev *d = (struct blk_dev *)vdev;

	log_state("virtio-blk@%#llx: %u requests in flight on %s workers, generation %u",
		  (unsigned long long)vdev->base, d->pool.inflight, d->started ? "started" : "no",
		  d->pool.gen);
}

static const void *
blk_config(struct virtio_dev *vdev, uint32_t *len)
{
	struct blk_dev *d = (struct blk_dev *)vdev;

	*len = sizeof(d->config);
	return &d->config;
}

static const struct virtio_ops blk_ops = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
		    1ULL << VIRTIO_BLK_F_FLUSH,
	.nqueues = 1,
	.config = blk_config,
	.reset = blk_reset,
	.dump = blk_dump,
};

/* What this disk offers on top of blk_ops.features, and its config space. */
static void
describe(struct blk_dev *d)
{
	struct virtio_blk_config *c = &d->config;
	const struct blk_disk *disk = &d->disk;

	c->capacity = disk->sectors;
	c->seg_max = SEG_MAX;
	c->blk_size = BLK_SECTOR;
	if (disk->ro) {
		d->vdev.features |= 1ULL << VIRTIO_BLK_F_RO;
		return;
	}
	d->vdev.features |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	c->max_write_zeroes_sectors = MAX_RANGE_SECTORS;
	c->max_write_zeroes_seg = MAX_RANGES;
	c->write_zeroes_may_unmap = disk->can_punch;
	if (disk->can_punch) {
		d->vdev.features |= 1ULL << VIRTIO_BLK_F_DISCARD;
		c->max_discard_sectors = MAX_RANGE_SECTORS;
		c->max_discard_seg = MAX_RANGES;
		c->discard_sector_alignment = ALIGN_SECTORS;
	}
}

/**
 * blk_create() - a virtio-blk device backed by @fd.
 * @vm:   the VM.
 * @loop: the event loop that receives the queue's kicks.
 * @base: MMIO window.
 * @irq:  IOAPIC pin.
 * @fd:   the image, a regular file or block device whose size is a
 *        multiple of 512; O_RDWR unless @ro. It stays open for the VM's life.
 * @ro:   offer VIRTIO_BLK_F_RO and refuse writes.
 *
 * Return: the device, or NULL with errno set (EINVAL: not a usable image).
 */
struct blk_dev *
blk_create(struct vm *vm, struct loop *loop, uint64_t base, unsigned irq, int fd, bool ro)
{
	struct blk_dev *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return NULL;
	vq_workers_init(&d->pool, &d->vdev, 0, 1, serve, d, "request without a status byte");
	err = blk_disk_init(&d->disk, fd, ro);
	if (!err)
		err = virtio_mmio_init(&d->vdev, &blk_ops, vm, base, irq);
	if (!err) {
		describe(d);
		err = loop_add(loop, &d->kick_ev, EV_KICK, d->vdev.vq[0].kick_fd, EPOLLIN, kick, d);
	}
	if (err) {
		errno = -err;
		return NULL;
	}
	return d;
}
