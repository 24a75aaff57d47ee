// SPDX-License-Identifier: MIT
/*
 * t_blk.c - virtio-blk request handling (blk_serve) against a real
 * image file, without KVM: well-formed requests, and every way a guest can
 * get one wrong (bounds, odd sizes, lengths that disagree with the header,
 * writes to a read-only disk). Prints TAP, then "N passed, N failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/blk.h"

#define IMG_SECTORS 2048	/* 1 MiB */

static int n_pass, n_fail;

static void
check(bool ok, const char *what)
{
	if (ok)
		n_pass++;
	else
		n_fail++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", n_pass + n_fail, what);
}

/* A chain under construction: readable buffers, then writable ones. */
struct req {
	struct vq_chain c;
	struct virtio_blk_outhdr hdr;
	uint8_t status;
};

static void
add(struct vq_chain *c, void *p, size_t len, bool writable)
{
	c->iov[c->n_out + c->n_in] = (struct iovec){ p, len };
	if (writable) {
		c->n_in++;
		c->in_len += len;
	} else {
		c->n_out++;
		c->out_len += len;
	}
}

static void
start(struct req *r, uint32_t type, uint64_t sector)
{
	memset(&r->c, 0, sizeof(r->c));
	r->hdr = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	r->status = 0xee;
	add(&r->c, &r->hdr, sizeof(r->hdr), false);
}

/* Serve it with the status byte last; return the status (or 0xff: no status). */
static int
serve(const struct blk_disk *d, struct req *r, uint32_t *used)
{
	uint32_t u = 0;

	add(&r->c, &r->status, 1, true);
	if (blk_serve(d, &r->c, &u) < 0)
		return 0xff;
	if (used)
		*used = u;
	return r->status;
}

static int
io(const struct blk_disk *d, uint32_t type, uint64_t sector, void *buf, size_t len)
{
	struct req r;

	start(&r, type, sector);
	add(&r.c, buf, len, type == VIRTIO_BLK_T_IN);
	return serve(d, &r, NULL);
}

static int
image(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, size) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void
test_read_write(const struct blk_disk *d)
{
	static uint8_t a[8192], b[8192];
	struct req r;
	uint32_t used = 0;

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7 + 3);
	check(io(d, VIRTIO_BLK_T_OUT, 8, a, 4096) == VIRTIO_BLK_S_OK, "OUT 4 KiB");
	start(&r, VIRTIO_BLK_T_IN, 8);
	add(&r.c, b, 4096, true);
	check(serve(d, &r, &used) == VIRTIO_BLK_S_OK && !memcmp(a, b, 4096),
	      "IN reads back what OUT wrote");
	check(used == 4097, "IN: used length is data plus status");
	/* The last sector, then one past it. */
	check(io(d, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, a, 512) == VIRTIO_BLK_S_OK,
	      "OUT to the last sector");
	check(io(d, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1, a, 1024) == VIRTIO_BLK_S_IOERR,
	      "OUT running past the end: IOERR");
	check(io(d, VIRTIO_BLK_T_IN, IMG_SECTORS, b, 512) == VIRTIO_BLK_S_IOERR,
	      "IN at the end: IOERR");
	check(io(d, VIRTIO_BLK_T_IN, UINT64_MAX, b, 512) == VIRTIO_BLK_S_IOERR,
	      "IN at sector 2^64-1 (overflow): IOERR");
	check(io(d, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, b, 512) == VIRTIO_BLK_S_IOERR,
	      "IN where sector*512 wraps: IOERR");
	check(io(d, VIRTIO_BLK_T_IN, 0, b, 100) == VIRTIO_BLK_S_IOERR, "IN of 100 bytes: IOERR");
	check(io(d, VIRTIO_BLK_T_OUT, 0, a, 513) == VIRTIO_BLK_S_IOERR, "OUT of 513 bytes: IOERR");
	check(io(d, VIRTIO_BLK_T_IN, 0, b, 0) == VIRTIO_BLK_S_OK, "IN of 0 bytes: OK");
}

static void
test_layouts(const struct blk_disk *d)
{
	static uint8_t a[4096], b[4096], extra[512];
	struct req r;

	memset(a, 0x5a, sizeof(a));
	/* Header split over two descriptors, data over eight and empty ones. */
	memset(&r.c, 0, sizeof(r.c));
	r.hdr = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_OUT, .sector = 16 };
	add(&r.c, &r.hdr, 5, false);
	add(&r.c, (uint8_t *)&r.hdr + 5, sizeof(r.hdr) - 5, false);
	for (int i = 0; i < 8; i++) {
		add(&r.c, a + i * 512, 512, false);
		add(&r.c, a, 0, false);
	}
	check(serve(d, &r, NULL) == VIRTIO_BLK_S_OK, "split header and data: OK");
	start(&r, VIRTIO_BLK_T_IN, 16);
	for (int i = 0; i < 4096; i += 1024)
		add(&r.c, b + i, 1024, true);
	check(serve(d, &r, NULL) == VIRTIO_BLK_S_OK && !memcmp(a, b, sizeof(a)),
	      "IN into four descriptors reads the split write back");

	start(&r, VIRTIO_BLK_T_IN, 0);
	add(&r.c, extra, sizeof(extra), false);
	add(&r.c, b, 512, true);
	check(serve(d, &r, NULL) == VIRTIO_BLK_S_IOERR, "IN with readable data: IOERR");
	start(&r, VIRTIO_BLK_T_OUT, 0);
	add(&r.c, a, 512, false);
	add(&r.c, extra, sizeof(extra), true);
	check(serve(d, &r, NULL) == VIRTIO_BLK_S_IOERR, "OUT with writable data: IOERR");

	memset(&r.c, 0, sizeof(r.c));
	r.hdr = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN };
	add(&r.c, &r.hdr, 8, false);
	check(serve(d, &r, NULL) == VIRTIO_BLK_S_IOERR, "header of 8 bytes: IOERR");

	memset(&r.c, 0, sizeof(r.c));
	add(&r.c, &r.hdr, sizeof(r.hdr), false);
	check(blk_serve(d, &r.c, &(uint32_t){ 0 }) == -EINVAL, "no status byte: -EINVAL");

	start(&r, 0x1234, 0);
	check(serve(d, &r, NULL) == VIRTIO_BLK_S_UNSUPP, "unknown type: UNSUPP");
	start(&r, VIRTIO_BLK_T_FLUSH, 0);
	check(serve(d, &r, NULL) == VIRTIO_BLK_S_OK, "FLUSH: OK");
	check(io(d, VIRTIO_BLK_T_FLUSH, 0, a, 512) == VIRTIO_BLK_S_IOERR, "FLUSH with data: IOERR");
}

static void
test_get_id(const struct blk_disk *d, int fd)
{
	char id[VIRTIO_BLK_ID_BYTES + 4] = { 0 };
	struct blk_disk again;
	struct req r;
	uint32_t used = 0;

	start(&r, VIRTIO_BLK_T_GET_ID, 0);
	add(&r.c, id, VIRTIO_BLK_ID_BYTES, true);
	check(serve(d, &r, &used) == VIRTIO_BLK_S_OK && !strncmp(id, "capsa-", 6) &&
	      used == VIRTIO_BLK_ID_BYTES + 1, "GET_ID: 20 bytes starting capsa-");
	check(blk_disk_init(&again, fd, true) == 0 && !memcmp(again.id, id, VIRTIO_BLK_ID_BYTES),
	      "GET_ID: the same file gives the same serial");
}

static void
range(struct virtio_blk_discard_write_zeroes *s, uint64_t sector, uint32_t n, uint32_t flags)
{
	*s = (struct virtio_blk_discard_write_zeroes){ .sector = sector, .num_sectors = n,
						       .flags = flags };
}

static bool
all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void
test_zeroes(const struct blk_disk *d)
{
	static uint8_t a[65536], b[65536];
	struct virtio_blk_discard_write_zeroes s[40];

	memset(a, 0xff, sizeof(a));
	io(d, VIRTIO_BLK_T_OUT, 64, a, sizeof(a));
	range(&s[0], 64, 8, 0);
	range(&s[1], 100, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	check(io(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, s, 2 * sizeof(s[0])) == VIRTIO_BLK_S_OK,
	      "WRITE_ZEROES of two ranges: OK");
	io(d, VIRTIO_BLK_T_IN, 64, b, sizeof(b));
	check(all(b, 4096, 0) && all(b + 4096, 36 * 512 - 4096, 0xff) &&
	      all(b + 36 * 512, 4096, 0) && all(b + 44 * 512, sizeof(b) - 44 * 512, 0xff),
	      "WRITE_ZEROES: exactly those ranges read back as zeroes");
	range(&s[0], 120, 8, 0);
	check(io(d, VIRTIO_BLK_T_DISCARD, 0, s, sizeof(s[0])) ==
	      (d->can_punch ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_UNSUPP), "DISCARD of a range");
	range(&s[0], 120, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	check(io(d, VIRTIO_BLK_T_DISCARD, 0, s, sizeof(s[0])) == VIRTIO_BLK_S_UNSUPP,
	      "DISCARD with the unmap flag: UNSUPP");
	range(&s[0], IMG_SECTORS - 4, 8, 0);
	check(io(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, s, sizeof(s[0])) == VIRTIO_BLK_S_IOERR,
	      "WRITE_ZEROES past the end: IOERR");
	range(&s[0], UINT64_MAX - 2, 8, 0);
	check(io(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, s, sizeof(s[0])) == VIRTIO_BLK_S_IOERR,
	      "WRITE_ZEROES with a wrapping range: IOERR");
	check(io(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, s, 8) == VIRTIO_BLK_S_IOERR,
	      "WRITE_ZEROES with half a range: IOERR");
	for (int i = 0; i < 40; i++)
		range(&s[i], (uint64_t)i * 8, 8, 0);
	check(io(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, s, sizeof(s)) == VIRTIO_BLK_S_IOERR,
	      "WRITE_ZEROES with 40 ranges (more than offered): IOERR");
	range(&s[0], 0, 8, 0x10);
	check(io(d, VIRTIO_BLK_T_WRITE_ZEROES, 0, s, sizeof(s[0])) == VIRTIO_BLK_S_UNSUPP,
	      "WRITE_ZEROES with a reserved flag: UNSUPP");
}

static void
test_read_only(const char *path)
{
	static uint8_t a[4096], b[4096], before[4096];
	struct virtio_blk_discard_write_zeroes s;
	struct blk_disk d;
	int fd = open(path, O_RDONLY);

	check(fd >= 0 && blk_disk_init(&d, fd, true) == 0 && d.ro && !d.can_punch,
	      "read-only disk: init");
	(void)!pread(fd, before, sizeof(before), 0);
	memset(a, 0x11, sizeof(a));
	check(io(&d, VIRTIO_BLK_T_OUT, 0, a, sizeof(a)) == VIRTIO_BLK_S_IOERR,
	      "read-only disk: OUT fails with IOERR");
	range(&s, 0, 8, 0);
	check(io(&d, VIRTIO_BLK_T_WRITE_ZEROES, 0, &s, sizeof(s)) == VIRTIO_BLK_S_IOERR,
	      "read-only disk: WRITE_ZEROES fails with IOERR");
	check(io(&d, VIRTIO_BLK_T_DISCARD, 0, &s, sizeof(s)) == VIRTIO_BLK_S_IOERR,
	      "read-only disk: DISCARD fails with IOERR");
	check(io(&d, VIRTIO_BLK_T_IN, 0, b, sizeof(b)) == VIRTIO_BLK_S_OK &&
	      !memcmp(b, before, sizeof(b)), "read-only disk: IN works, data unchanged");
	close(fd);
}

static void
test_bad_images(const char *dir)
{
	char path[512];
	struct blk_disk d;
	int fd;

	snprintf(path, sizeof(path), "%s/odd.img", dir);
	fd = image(path, 1000);
	check(blk_disk_init(&d, fd, false) == -EINVAL, "1000-byte image: -EINVAL");
	close(fd);
	unlink(path);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	check(blk_disk_init(&d, fd, true) == -EINVAL, "a directory: -EINVAL");
	close(fd);
}

int
main(void)
{
	char dir[] = "/tmp/capsa-blk-XXXXXX", path[512];
	struct blk_disk d;
	int fd;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	fd = image(path, IMG_SECTORS * 512);
	check(blk_disk_init(&d, fd, false) == 0 && d.sectors == IMG_SECTORS && !d.ro,
	      "1 MiB image: 2048 sectors");
	test_read_write(&d);
	test_layouts(&d);
	test_get_id(&d, fd);
	test_zeroes(&d);
	close(fd);
	test_read_only(path);
	test_bad_images(dir);
	unlink(path);
	rmdir(dir);
	printf("1..%d\n%d passed, %d failed\n", n_pass + n_fail, n_pass, n_fail);
	return n_fail != 0;
}
