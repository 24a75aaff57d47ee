// SPDX-License-Identifier: MIT
/*
 * t_cpio.c - the newc writer: every header field and padding byte checked
 * by a parser here, then the archive unpacked by GNU cpio.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "boot/cpio.h"
#include "vmm/util.h"

static uint8_t binary[256];

static const struct entry {
	const char *name;
	uint32_t mode;
	const void *data;
	size_t len;
} entries[] = {
	{ ".capsa", 040700, NULL, 0 },
	{ ".capsa/run", 0100600, binary, sizeof(binary) },
	{ "e0", 0100644, "", 0 },
	{ "e1", 0100644, "a", 1 },
	{ "e22", 0100755, "ab", 2 },
	{ "e333", 0100644, "abc", 3 },
	{ "e4444", 0100644, "abcd", 4 },
	{ "e5", 0100644, "abcde", 5 },
	{ "link", 0120777, "e5", 2 },
};

static unsigned long
hex8(const uint8_t *p)
{
	char f[9];

	memcpy(f, p, 8);
	f[8] = 0;
	return strtoul(f, NULL, 16);
}

/* Parse one newc entry at @off; return the next entry's offset, or 0. */
static size_t
parse(const struct cpio *c, size_t off, unsigned ino, const struct entry *want)
{
	const uint8_t *h = c->buf + off;
	size_t nlen = strlen(want->name) + 1, data = ALIGN_UP(off + 110 + nlen, 4);
	unsigned long f[13];
	bool pad_ok = true;

	if (off + 110 > c->len || memcmp(h, "070701", 6))
		return CHECK(0, "%s: header magic at %zu", want->name, off), 0;
	for (int i = 0; i < 13; i++)
		f[i] = hex8(h + 6 + 8 * i);
	CHECK(f[0] == ino && f[1] == want->mode && f[2] == 0 && f[3] == 0 && f[4] == 1 &&
	      f[5] == 0 && f[6] == want->len && f[11] == nlen && f[12] == 0,
	      "%s: ino %u, mode %o, root-owned, nlink 1, size %zu, namesize %zu", want->name,
	      ino, want->mode, want->len, nlen);
	CHECK(f[7] == 0 && f[8] == 0 && f[9] == 0 && f[10] == 0, "%s: device numbers 0",
	      want->name);
	CHECK(!memcmp(h + 110, want->name, nlen), "%s: name with its NUL", want->name);
	for (size_t i = off + 110 + nlen; i < data; i++)
		pad_ok &= c->buf[i] == 0;
	for (size_t i = data + want->len; i < ALIGN_UP(data + want->len, 4); i++)
		pad_ok &= c->buf[i] == 0;
	CHECK(pad_ok, "%s: zero padding to 4 bytes after name and data", want->name);
	CHECK(!want->len || !memcmp(c->buf + data, want->data, want->len), "%s: data", want->name);
	return ALIGN_UP(data + want->len, 4);
}

static int
run_cpio(const char *dir, const struct cpio *c)
{
	char path[64];
	int fd, status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s.cpio", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, c->buf, c->len) != (ssize_t)c->len)
		return -1;
	lseek(fd, 0, SEEK_SET);
	pid = fork();
	if (pid == 0) {
		dup2(fd, 0);
		if (chdir(dir) == 0)
			execlp("cpio", "cpio", "-idm", "--quiet", "--no-absolute-filenames", NULL);
		_exit(127);
	}
	close(fd);
	unlink(path);
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_unpack(const struct cpio *c)
{
	char dir[] = "/tmp/t_cpio.XXXXXX", path[128], link[16] = { 0 };
	uint8_t got[256];
	struct stat st;
	int rc, fd;

	if (!mkdtemp(dir))
		return;
	rc = run_cpio(dir, c);
	if (rc == 127) {
		printf("ok %u # SKIP cpio not installed\n", ++tap_n);
		return;
	}
	CHECK_INT(rc, 0, "GNU cpio unpacks the archive");
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		const struct entry *e = &entries[i];

		snprintf(path, sizeof(path), "%s/%s", dir, e->name);
		if (!CHECK(lstat(path, &st) == 0 && st.st_mode == e->mode,
			   "unpacked %s with mode %o", e->name, e->mode))
			continue;
		if (S_ISLNK(st.st_mode)) {
			CHECK(readlink(path, link, sizeof(link) - 1) == 2 && !strcmp(link, "e5"),
			      "symlink %s -> e5", e->name);
		} else if (S_ISREG(st.st_mode)) {
			fd = open(path, O_RDONLY);
			CHECK(read(fd, got, sizeof(got)) == (ssize_t)e->len &&
			      !memcmp(got, e->data, e->len), "%s: content", e->name);
			close(fd);
		}
	}
	for (size_t i = ARRAY_SIZE(entries); i-- > 0;) {
		snprintf(path, sizeof(path), "%s/%s", dir, entries[i].name);
		S_ISDIR(entries[i].mode) ? rmdir(path) : unlink(path);
	}
	CHECK_INT(rmdir(dir), 0, "nothing else was unpacked");
}

int
main(void)
{
	struct cpio c = { 0 };
	static const struct entry trailer = { "TRAILER!!!", 0, NULL, 0 };
	size_t off = 0, len;

	for (int i = 0; i < 256; i++)
		binary[i] = (uint8_t)i;
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++)
		cpio_add(&c, entries[i].name, entries[i].mode, entries[i].data, entries[i].len);
	cpio_finish(&c);
	CHECK_INT(c.err, 0, "no error");
	CHECK_INT(c.len % 4, 0, "archive length a multiple of 4");
	for (size_t i = 0; i < ARRAY_SIZE(entries) && (i == 0 || off); i++)
		off = parse(&c, off, (unsigned)i + 1, &entries[i]);
	if (off)
		CHECK_INT(parse(&c, off, ARRAY_SIZE(entries) + 1, &trailer), c.len,
			  "the trailer ends the archive");
	test_unpack(&c);

	len = c.len;
	cpio_add(&c, "huge", 0100644, NULL, 0x100000000ULL);
	CHECK(c.err == -EFBIG && c.len == len, "a file of 4 GiB is refused: -EFBIG, nothing added");
	cpio_add(&c, "after", 0100644, "x", 1);
	CHECK(c.err == -EFBIG && c.len == len, "after an error nothing more is added");
	free(c.buf);
	return tap_done();
}
