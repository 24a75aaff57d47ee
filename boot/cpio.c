// SPDX-License-Identifier: MIT
/*
 * cpio.c - newc archive writer. The guest kernel unpacks it after the
 * embedded base archive, so its entries add to (or replace) the base files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpio.h"
#include "../vmm/util.h"

#define CPIO_HEADER 110

static int
reserve(struct cpio *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 4096;
	uint8_t *b;

	if (c->err)
		return c->err;
	if (c->len + more <= c->cap)
		return 0;
	while (cap < c->len + more)
		cap *= 2;
	b = realloc(c->buf, cap);
	if (!b)
		return c->err = -ENOMEM;
	c->buf = b;
	c->cap = cap;
	return 0;
}

static void
pad4(struct cpio *c)
{
	while (c->len & 3)
		c->buf[c->len++] = 0;
}

/**
 * cpio_add() - append one entry.
 * @c:    the archive; on allocation failure c->err is set.
 * @name: path inside the guest, without a leading slash.
 * @mode: type and permission bits (S_IFREG, S_IFDIR, S_IFLNK ...).
 * @data: file contents or symlink target; NULL for directories.
 * @len:  its length.
 *
 * Entries are owned by root: files a user puts into the guest belong to
 * the guest's root, as in a container image.
 */
void
cpio_add(struct cpio *c, const char *name, uint32_t mode, const void *data, size_t len)
{
	size_t nlen = strlen(name) + 1;
	char hdr[CPIO_HEADER + 1];

	if (len > 0xffffffffU)
		c->err = -EFBIG;
	if (reserve(c, CPIO_HEADER + nlen + len + 8))
		return;
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->ino, mode, 0, 0, 1, 0, (unsigned)len, 0, 0, 0, 0,
		 (unsigned)nlen, 0);
	memcpy(c->buf + c->len, hdr, CPIO_HEADER);
	c->len += CPIO_HEADER;
	memcpy(c->buf + c->len, name, nlen);
	c->len += nlen;
	pad4(c);
	if (len)
		memcpy(c->buf + c->len, data, len);
	c->len += len;
	pad4(c);
}

/**
 * cpio_finish() - append the trailer that ends the archive.
 */
void
cpio_finish(struct cpio *c)
{
	cpio_add(c, "TRAILER!!!", 0, NULL, 0);
}
