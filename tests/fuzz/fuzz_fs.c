// SPDX-License-Identifier: MIT
/*
 * fuzz_fs.c - fs_serve(), the virtio-fs FUSE server, against a real small
 * directory tree: the fuzzer writes a session of requests (any opcode,
 * any lengths, any names and arguments), and how each is cut into
 * readable and writable buffers.
 *
 * Input: one flags byte (bit 0: a read-only share; bit 1: no INIT first),
 * then requests, each
 *   u8 opcode (0xff: a raw u32 follows), u8 node (0: the root, 1-8: a node
 *   id an earlier reply gave, else raw: the next 8 bytes), u8 fh (0: as the
 *   payload says, 1-4: a handle an earlier reply gave, put in the payload's
 *   first 8 bytes), u8 cuts (readable split, writable room), u16 len,
 *   then len bytes: the fixed argument, names and data, as they come.
 *
 * Oracle: every request gets a well-formed reply (or, for FORGET and the
 * like, none): a header whose length is what was written, the request's
 * unique, an error 0 or a negated errno; fs_serve() fails only when the
 * chain has no room for a header. Nothing outside the share's directory
 * changes; a read-only share's tree does not change at all; when the
 * server is freed every fd it opened is closed.
 *
 * fuzz-sources: virtio/fs_ops.c virtio/fs_io.c virtio/fs_dir.c virtio/fs_inode.c
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fuse.h>

#include "input.h"
#include "virtio/fs.h"
#include "vmm/util.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAX_REQS 24
#define BUF (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64], tree[96];
static uint8_t in[BUF + 64], out[BUF + 64];

/* The opcodes a guest sends, so that one byte names most of them. */
static const uint32_t opcodes[] = {
	FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR, FUSE_READLINK, FUSE_SYMLINK,
	FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME, FUSE_LINK, FUSE_OPEN,
	FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE, FUSE_FSYNC, FUSE_SETXATTR,
	FUSE_GETXATTR, FUSE_LISTXATTR, FUSE_REMOVEXATTR, FUSE_FLUSH, FUSE_INIT, FUSE_OPENDIR,
	FUSE_READDIR, FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_GETLK, FUSE_SETLK, FUSE_ACCESS,
	FUSE_CREATE, FUSE_INTERRUPT, FUSE_BMAP, FUSE_DESTROY, FUSE_IOCTL, FUSE_POLL,
	FUSE_BATCH_FORGET, FUSE_FALLOCATE, FUSE_READDIRPLUS, FUSE_RENAME2, FUSE_LSEEK,
	FUSE_COPY_FILE_RANGE, FUSE_SYNCFS, FUSE_TMPFILE,
};

static void
wipe(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *e;

	REQUIRE(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd, e->d_name, 0) < 0 && errno == EISDIR) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

			REQUIRE(sub >= 0);
			wipe(sub);
			REQUIRE(unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0);
		}
	}
	closedir(d);
}

/* The share: a file, a directory with a file, symlinks out, a FIFO. */
static void
make_tree(void)
{
	char p[160];
	int fd;

	wipe(open(tree, O_RDONLY | O_DIRECTORY));
	snprintf(p, sizeof(p), "%s/file", tree);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	REQUIRE(fd >= 0 && write(fd, "hello, world\n", 13) == 13);
	close(fd);
	snprintf(p, sizeof(p), "%s/dir", tree);
	REQUIRE(mkdir(p, 0755) == 0);
	snprintf(p, sizeof(p), "%s/dir/inner", tree);
	close(open(p, O_WRONLY | O_CREAT, 0600));
	snprintf(p, sizeof(p), "%s/up", tree);
	REQUIRE(symlink("..", p) == 0);
	snprintf(p, sizeof(p), "%s/etc", tree);
	REQUIRE(symlink("/etc", p) == 0);
	snprintf(p, sizeof(p), "%s/fifo", tree);
	REQUIRE(mkfifo(p, 0644) == 0);
}

/* What must not change: the directory around the share, and its sentinel. */
static unsigned
outside_sum(void)
{
	char p[160], buf[32] = { 0 };
	DIR *d = opendir(base);
	struct dirent *e;
	unsigned n = 0;
	int fd;

	REQUIRE(d);
	while ((e = readdir(d)))
		n = n * 31 + (unsigned)e->d_name[0] + (unsigned)strlen(e->d_name);
	closedir(d);
	snprintf(p, sizeof(p), "%s/sentinel", base);
	fd = open(p, O_RDONLY);
	REQUIRE(fd >= 0 && read(fd, buf, sizeof(buf)) == 7 && !memcmp(buf, "outside", 7));
	close(fd);
	return n;
}

/* A read-only share's tree: names, sizes and modes. */
static unsigned
tree_sum(const char *path, int depth)
{
	DIR *d = opendir(path);
	struct dirent *e;
	unsigned n = 7;

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		char p[512];
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (lstat(p, &st) < 0)
			continue;
		n += (unsigned)strlen(e->d_name) * 131 + (unsigned)st.st_size * 7 + st.st_mode;
		if (S_ISDIR(st.st_mode) && depth < 4 && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n += tree_sum(p, depth + 1) * 3;
	}
	closedir(d);
	return n;
}

static unsigned
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	REQUIRE(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void
setup(void)
{
	char p[160];
	int fd;

	strcpy(base, "/tmp/capsa-fuzz-fs-XXXXXX");
	REQUIRE(mkdtemp(base));
	snprintf(tree, sizeof(tree), "%s/share", base);
	REQUIRE(mkdir(tree, 0755) == 0);
	snprintf(p, sizeof(p), "%s/sentinel", base);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	REQUIRE(fd >= 0 && write(fd, "outside", 7) == 7);
	close(fd);
}

struct session {
	struct fs_server *srv;
	uint64_t nodes[8], fhs[4];
	unsigned nn, nf;
};

/* Node ids and handles the reply gave, for later requests to use. */
static void
remember(struct session *s, uint32_t op, const uint8_t *body, uint32_t len)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;

	if ((op == FUSE_LOOKUP || op == FUSE_MKDIR || op == FUSE_MKNOD || op == FUSE_SYMLINK ||
	     op == FUSE_LINK || op == FUSE_CREATE) && len >= sizeof(e)) {
		memcpy(&e, body, sizeof(e));
		s->nodes[s->nn++ % 8] = e.nodeid;
	}
	if ((op == FUSE_OPEN || op == FUSE_OPENDIR) && len >= sizeof(o)) {
		memcpy(&o, body, sizeof(o));
		s->fhs[s->nf++ % 4] = o.fh;
	}
	if (op == FUSE_CREATE && len >= sizeof(e) + sizeof(o)) {
		memcpy(&o, body + sizeof(e), sizeof(o));
		s->fhs[s->nf++ % 4] = o.fh;
	}
}

/* One request from the input through fs_serve(), checked. */
static void
one(struct session *s, uint32_t op, uint64_t node, const uint8_t *payload, size_t len,
    unsigned fhsel, uint8_t cuts)
{
	static struct vq_chain c;
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + len), .opcode = op,
				    .unique = 0x1234 + len, .nodeid = node };
	struct fuse_out_header oh;
	size_t split = len ? (size_t)(cuts & 15) * len / 16 : 0;
	size_t room = (cuts >> 4) == 15 ? 0 : (cuts >> 4) == 14 ? 40 : BUF;
	uint32_t used = 0;
	int r;

	memcpy(in, &h, sizeof(h));
	memcpy(in + sizeof(h), payload, len);
	if (fhsel && len >= 8)
		memcpy(in + sizeof(h), &s->fhs[(fhsel - 1) % 4], 8);
	memset(&c, 0, sizeof(c));
	c.iov[c.n_out++] = (struct iovec){ in, sizeof(h) + split };
	if (len - split)
		c.iov[c.n_out++] = (struct iovec){ in + sizeof(h) + split, len - split };
	c.out_len = sizeof(h) + len;
	c.iov[c.n_out + c.n_in++] = (struct iovec){ out, (cuts & 0x80) ? 7 : 16 };
	c.iov[c.n_out + c.n_in++] = (struct iovec){ out + 16, room };
	c.in_len = ((cuts & 0x80) ? 7 : 16) + room;
	r = fs_serve(s->srv, &c, &used);
	REQUIRE(r == 0 || r == -EINVAL);
	REQUIRE(r == 0 || c.in_len < sizeof(oh));
	REQUIRE(used <= c.in_len);
	if (r < 0 || used == 0)
		return;
	/* The header, wherever the two buffers cut it. */
	memcpy(&oh, out, c.iov[c.n_out].iov_len);
	memcpy((uint8_t *)&oh + c.iov[c.n_out].iov_len, out + 16, sizeof(oh) - c.iov[c.n_out].iov_len);
	REQUIRE(oh.len == used && oh.unique == h.unique && oh.error <= 0 && oh.error > -4096);
	if (!oh.error && !(cuts & 0x80))
		remember(s, op, out + 16, used - 16);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fs_budget budget;
	struct in inp = { data, size };
	struct session s = { 0 };
	unsigned flags = (unsigned)take(&inp, 1), fds, outside, before = 0;
	struct fs_share sh;

	if (!base[0])
		setup();
	make_tree();
	fds = open_fds();
	outside = outside_sum();
	if (flags & 1)
		before = tree_sum(tree, 0);
	atomic_store(&budget.left, 64);
	sh = (struct fs_share){
		.root_fd = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC),
		.proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC),
		.ro = flags & 1, .cache = flags & 4, .owner_uid = geteuid(), .owner_gid = getegid(),
		.budget = &budget,
	};
	s.srv = fs_server_new(&sh);
	REQUIRE(s.srv);
	if (!(flags & 2)) {
		struct fuse_init_in init = { .major = 7, .minor = 36, .max_readahead = 65536,
					     .flags = 0xffffffff };

		one(&s, FUSE_INIT, 0, (const uint8_t *)&init, sizeof(init), 0, 0);
	}
	for (unsigned k = 0; k < MAX_REQS && inp.left >= 6; k++) {
		uint32_t op = (uint32_t)take(&inp, 1);
		unsigned nsel = (unsigned)take(&inp, 1), fhsel = (unsigned)take(&inp, 1);
		uint8_t cuts = (uint8_t)take(&inp, 1);
		size_t len = (size_t)take(&inp, 2) % BUF;
		uint64_t node;
		const uint8_t *p;

		op = op == 0xff ? (uint32_t)take(&inp, 4) : opcodes[op % ARRAY_SIZE(opcodes)];
		node = nsel == 0 ? FUSE_ROOT_ID : nsel <= 8 ? s.nodes[nsel - 1] : take(&inp, 8);
		p = bytes(&inp, &len);
		one(&s, op, node, p, len, fhsel % 5, cuts);
	}
	fs_server_free(s.srv);
	close(sh.proc_fd);
	REQUIRE(open_fds() == fds);
	REQUIRE(outside_sum() == outside);
	if (flags & 1)
		REQUIRE(tree_sum(tree, 0) == before);
	return 0;
}
