// SPDX-License-Identifier: MIT
/*
 * fuzz_blk.c - blk_serve(), virtio-blk request handling, against any
 * chain: the fuzzer picks the image (read-only or not), how the request's
 * bytes are cut into readable and writable buffers, and their contents.
 *
 * Oracle: a request with a writable byte gets a status of OK, IOERR or
 * UNSUPP as its last byte; `used` never exceeds the writable bytes; the
 * image keeps its size, and a read-only image keeps its contents.
 *
 * fuzz-sources: virtio/blk.c
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "virtio/blk.h"
#include "virtio/virtio.h"
#include "vmm/util.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)
#define IMG (64 * 512)
#define MAX_SEGS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int img = -1;
static uint8_t before[IMG], after[IMG];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_chain c;
	struct blk_disk disk;
	uint8_t *bufs[MAX_SEGS] = { 0 };
	uint32_t used = 0;
	size_t off = 2;
	bool ro;

	if (size < 2)
		return 0;
	if (img < 0)
		img = memfd_create("fuzz-blk", 0);
	ro = data[0] & 1;
	REQUIRE(ftruncate(img, 0) == 0 && ftruncate(img, IMG) == 0);
	for (unsigned i = 0; i < IMG; i++)
		before[i] = (uint8_t)(i * 7);
	REQUIRE(pwrite(img, before, IMG, 0) == IMG);
	REQUIRE(blk_disk_init(&disk, img, ro) == 0);
	/* Segments: a 16-bit length each, then that many bytes of content. */
	memset(&c, 0, sizeof(c));
	for (unsigned n = data[1] % MAX_SEGS + 1, i = 0; i < n && off + 1 < size; i++) {
		size_t len = (size_t)(data[off] | data[off + 1] << 8) % 5000;

		off += 2;
		bool out = i < n / 2 + (data[0] >> 1 & 1);
		bufs[i] = calloc(1, len ? len : 1);
		memcpy(bufs[i], data + off, off < size ? MIN(len, size - off) : 0);
		off += MIN(len, size - off);
		c.iov[i] = (struct iovec){ bufs[i], len };
		if (out) {
			c.n_out++;
			c.out_len += len;
		} else {
			c.n_in++;
			c.in_len += len;
		}
	}
	if (blk_serve(&disk, &c, &used) == 0) {
		uint8_t status = 0xff;

		for (unsigned i = c.n_out + c.n_in; i-- > c.n_out;)
			if (c.iov[i].iov_len) {
				status = ((uint8_t *)c.iov[i].iov_base)[c.iov[i].iov_len - 1];
				break;
			}
		REQUIRE(status == VIRTIO_BLK_S_OK || status == VIRTIO_BLK_S_IOERR ||
			status == VIRTIO_BLK_S_UNSUPP);
		REQUIRE(used >= 1 && used <= c.in_len);
	} else {
		REQUIRE(c.in_len == 0);
	}
	REQUIRE(lseek(img, 0, SEEK_END) == IMG);
	if (ro) {
		REQUIRE(pread(img, after, IMG, 0) == IMG);
		REQUIRE(!memcmp(before, after, IMG));
	}
	for (unsigned i = 0; i < MAX_SEGS; i++)
		free(bufs[i]);
	return 0;
}
