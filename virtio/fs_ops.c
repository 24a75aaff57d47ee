// SPDX-License-Identifier: MIT
/*
 * fs_ops.c - the virtio-fs server: one FUSE request in, one reply out.
 *
 * A request is a chain whose readable part is a fuse_in_header, the
 * opcode's fixed argument, then names or data; its writable part receives
 * a fuse_out_header and the reply. fs_serve() checks what the table below
 * says of the opcode once, before dispatch: the header's length against
 * the chain, the fixed argument's size, each name (one path component: no
 * '/', not "." or "..", no NUL inside, at most 255 bytes), the target of a
 * symlink, a read-only share for mutating opcodes, and the node id. Every
 * value is copied out of guest memory once, then checked; a handler sees
 * only the copies (WRITE data and READ buffers excepted: they go straight
 * between guest memory and the file).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fs_int.h"
#include "../vmm/util.h"

#define MAX_BACKGROUND	64

typedef int (*fs_fn)(struct fs_req *r);

/**
 * struct fs_op - what fs_serve() checks before calling a handler.
 * @fn:       the handler; NULL: ENOSYS.
 * @in:       bytes of the fixed argument the request carries.
 * @names:    NUL-terminated names after it (0, 1 or 2).
 * @target:   the second "name" is a symlink target (any bytes, < 4 KiB).
 * @extra:    bytes after the fixed argument are data (WRITE, BATCH_FORGET).
 * @mutates:  EROFS on a read-only share.
 * @node:     the handler works on in.nodeid: it must name a live inode.
 * @no_reply: FORGET and friends: the guest waits for no answer.
 */
struct fs_op {
	fs_fn fn;
	uint16_t in;
	uint8_t names;
	bool target, extra, mutates, node, no_reply;
};

/* ---- the handlers ------------------------------------------------------- */

static int
fs_lookup(struct fs_req *r)
{
	int err = fs_lookup_name(r, r->node, r->name, &r->o.entry);

	/* The read-only root caches what is not there, too: nodeid 0. */
	if (err == -ENOENT && r->srv->share.cache) {
		r->o.entry = (struct fuse_entry_out){ .entry_valid = FS_LONG_TTL };
		err = 0;
	}
	if (!err)
		fs_reply_entry(r);
	return err;
}

static int
fs_forget(struct fs_req *r)
{
	fs_inode_forget(r->srv, r->in.nodeid, r->a.forget.nlookup);
	return 0;
}

static int
fs_batch_forget(struct fs_req *r)
{
	const struct vq_chain *c = r->c;
	uint64_t off = sizeof(r->in) + sizeof(r->a.batch);
	struct fuse_forget_one one[64];

	if (r->extra != (uint64_t)r->a.batch.count * sizeof(one[0]))
		return -EINVAL;
	for (uint32_t left = r->a.batch.count; left;) {
		uint32_t n = MIN(left, (uint32_t)ARRAY_SIZE(one));

		iov_to_buf(c->iov, c->n_out, off, one, n * sizeof(one[0]));
		for (uint32_t i = 0; i < n; i++)
			fs_inode_forget(r->srv, one[i].nodeid, one[i].nlookup);
		off += n * sizeof(one[0]);
		left -= n;
	}
	return 0;
}


static int
fs_getattr(struct fs_req *r)
{
	return fs_reply_attr(r, r->node->fd);
}


static int
fs_readlink(struct fs_req *r)
{
	char buf[FS_PATH_MAX];
	ssize_t n;

	if (!S_ISLNK(r->node->type))
		return -EINVAL;
	n = readlinkat(r->node->fd, "", buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if ((size_t)n == sizeof(buf))
		return -ENAMETOOLONG;		/* cut short: never a truncated target */
	if ((size_t)n > r->room)
		return -ERANGE;
	fs_reply_data(r, buf, (size_t)n);
	return 0;
}


static int
fs_statfs(struct fs_req *r)
{
	struct statfs st;
	struct fuse_kstatfs *k = &r->o.statfs.st;

	if (fstatfs(r->node->fd, &st) < 0)
		return -errno;
	*k = (struct fuse_kstatfs){
		.blocks = st.f_blocks, .bfree = st.f_bfree, .bavail = st.f_bavail,
		.files = st.f_files, .ffree = st.f_ffree, .bsize = (uint32_t)st.f_bsize,
		.namelen = (uint32_t)st.f_namelen, .frsize = (uint32_t)st.f_frsize,
	};
	r->olen = sizeof(r->o.statfs);
	return 0;
}

/* SYNCFS: syncfs needs an fd opened for I/O, not O_PATH. */
static int
fs_syncfs(struct fs_req *r)
{
	int fd = openat(r->srv->inodes[0].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (syncfs(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* What capsa asks of the guest kernel, when it offers it. */
#define FS_WANT (FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_AUTO_INVAL_DATA | \
		 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS | \
		 FUSE_MAX_PAGES | FUSE_ASYNC_DIO)

static int
fs_init(struct fs_req *r)
{
	const struct fuse_init_in *a = &r->a.init;
	struct fuse_init_out *o = &r->o.init;
	uint32_t want = FS_WANT | (r->srv->share.cache ? FUSE_CACHE_SYMLINKS : 0);

	if (a->major != FUSE_KERNEL_VERSION || a->minor < FS_MIN_MINOR)
		return -EPROTO;
	/* A new session: whatever the guest held before, it holds no more. */
	fs_forget_all(r->srv);
	*o = (struct fuse_init_out){
		.major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = a->max_readahead, .flags = a->flags & want,
		.max_background = MAX_BACKGROUND, .congestion_threshold = MAX_BACKGROUND * 3 / 4,
		.max_write = FS_MAX_IO, .time_gran = 1, .max_pages = FS_MAX_PAGES,
	};
	r->srv->minor = MIN(a->minor, (uint32_t)FUSE_KERNEL_MINOR_VERSION);
	r->srv->inited = true;
	r->olen = sizeof(*o);
	return 0;
}

static int
fs_destroy(struct fs_req *r)
{
	fs_forget_all(r->srv);
	r->srv->inited = false;
	return 0;
}

static int
fs_no_reply(struct fs_req *r)
{
	(void)r;
	return 0;
}

#define IN(type)	.in = sizeof(struct type)
#define NODE		.node = true
#define WRITES		.mutates = true
#define NAME		.names = 1
#define NAMES		.names = 2
#define NO_REPLY	.no_reply = true
static const struct fs_op ops[] = {
	[FUSE_LOOKUP]		= { .fn = fs_lookup, NAME, NODE },
	[FUSE_FORGET]		= { .fn = fs_forget, IN(fuse_forget_in), NO_REPLY },
	[FUSE_BATCH_FORGET]	= { .fn = fs_batch_forget, IN(fuse_batch_forget_in), .extra = true,
				    NO_REPLY },
	[FUSE_INTERRUPT]	= { .fn = fs_no_reply, IN(fuse_interrupt_in), NO_REPLY },
	[FUSE_GETATTR]		= { .fn = fs_getattr, IN(fuse_getattr_in), NODE },
	[FUSE_SETATTR]		= { .fn = fs_setattr, IN(fuse_setattr_in), NODE, WRITES },
	[FUSE_READLINK]		= { .fn = fs_readlink, NODE },
	[FUSE_SYMLINK]		= { .fn = fs_symlink, NAMES, .target = true, NODE, WRITES },
	[FUSE_MKNOD]		= { .fn = fs_mknod, IN(fuse_mknod_in), NAME, NODE, WRITES },
	[FUSE_MKDIR]		= { .fn = fs_mkdir, IN(fuse_mkdir_in), NAME, NODE, WRITES },
	[FUSE_UNLINK]		= { .fn = fs_unlink, NAME, NODE, WRITES },
	[FUSE_RMDIR]		= { .fn = fs_rmdir, NAME, NODE, WRITES },
	[FUSE_RENAME]		= { .fn = fs_rename, IN(fuse_rename_in), NAMES, NODE, WRITES },
	[FUSE_RENAME2]		= { .fn = fs_rename2, IN(fuse_rename2_in), NAMES, NODE, WRITES },
	[FUSE_LINK]		= { .fn = fs_link, IN(fuse_link_in), NAME, NODE, WRITES },
	[FUSE_OPEN]		= { .fn = fs_open, IN(fuse_open_in), NODE },
	[FUSE_CREATE]		= { .fn = fs_create_open, IN(fuse_create_in), NAME, NODE, WRITES },
	[FUSE_READ]		= { .fn = fs_read, IN(fuse_read_in) },
	[FUSE_WRITE]		= { .fn = fs_write, IN(fuse_write_in), .extra = true, WRITES },
	[FUSE_STATFS]		= { .fn = fs_statfs, NODE },
	[FUSE_RELEASE]		= { .fn = fs_release, IN(fuse_release_in) },
	[FUSE_FSYNC]		= { .fn = fs_fsync, IN(fuse_fsync_in) },
	[FUSE_FLUSH]		= { .fn = fs_flush, IN(fuse_flush_in) },
	[FUSE_INIT]		= { .fn = fs_init, .in = 16 },	/* fuse_init_in before 7.36 */
	[FUSE_OPENDIR]		= { .fn = fs_opendir, IN(fuse_open_in), NODE },
	[FUSE_READDIR]		= { .fn = fs_readdir, IN(fuse_read_in) },
	[FUSE_READDIRPLUS]	= { .fn = fs_readdirplus, IN(fuse_read_in) },
	[FUSE_RELEASEDIR]	= { .fn = fs_releasedir, IN(fuse_release_in) },
	[FUSE_FSYNCDIR]		= { .fn = fs_fsyncdir, IN(fuse_fsync_in) },
	[FUSE_FALLOCATE]	= { .fn = fs_fallocate, IN(fuse_fallocate_in), WRITES },
	[FUSE_LSEEK]		= { .fn = fs_lseek, IN(fuse_lseek_in) },
	[FUSE_SYNCFS]		= { .fn = fs_syncfs, IN(fuse_syncfs_in) },
	[FUSE_DESTROY]		= { .fn = fs_destroy },
	/*
	 * Not served, ENOSYS (the guest kernel then stops asking): xattrs,
	 * ACCESS (the guest checks permissions itself: default_permissions),
	 * locks (not offered: the guest keeps them), ioctl, poll, bmap, DAX
	 * mappings, copy_file_range (the guest copies), tmpfile.
	 */
};
#undef IN
#undef NODE
#undef WRITES
#undef NAME
#undef NAMES
#undef NO_REPLY

/* ---- checking and dispatch --------------------------------------------- */

static bool
name_ok(const char *s, size_t len)
{
	return len >= 1 && len <= FS_NAME_MAX && !memchr(s, '/', len) &&
	       strcmp(s, ".") && strcmp(s, "..");
}

/*
 * The names after the fixed argument: each NUL-terminated, the last NUL
 * the request's last byte, each a valid name (a symlink's target: any
 * bytes but NUL, shorter than FS_PATH_MAX).
 */
static int
take_names(struct fs_req *r, const struct fs_op *op, uint64_t len, uint64_t off)
{
	const char *end, *second;

	if (len > sizeof(r->names))
		return -ENAMETOOLONG;
	iov_to_buf(r->c->iov, r->c->n_out, off, r->names, (size_t)len);
	end = memchr(r->names, 0, (size_t)len);
	if (!end || !name_ok(r->names, (size_t)(end - r->names)))
		return end && end - r->names > FS_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
	r->name = r->names;
	second = end + 1;
	if (op->names == 1)
		return (uint64_t)(second - r->names) == len ? 0 : -EINVAL;
	end = memchr(second, 0, (size_t)(r->names + len - second));
	if (!end || end + 1 != r->names + len)
		return -EINVAL;
	if (op->target ? end == second || end - second >= FS_PATH_MAX
		       : !name_ok(second, (size_t)(end - second)))
		return op->target && end - second >= FS_PATH_MAX ? -ENAMETOOLONG : -EINVAL;
	r->name2 = second;
	return 0;
}

/* Everything the table says of @op, before the handler runs. */
static int
check(struct fs_req *r, const struct fs_op *op)
{
	const struct vq_chain *c = r->c;
	uint64_t args = c->out_len - sizeof(r->in);
	/* FUSE_INIT's argument grew (7.36); every other one has one size. */
	uint32_t fixed = op == &ops[FUSE_INIT] ? (uint32_t)MIN(args, sizeof(r->a.init)) : op->in;

	if (r->in.len != c->out_len || args < op->in)
		return -EINVAL;
	iov_to_buf(c->iov, c->n_out, sizeof(r->in), &r->a, fixed);
	r->extra = args - fixed;
	if (op->names) {
		int err = take_names(r, op, r->extra, sizeof(r->in) + fixed);

		if (err)
			return err;
	} else if (r->extra && !op->extra && op != &ops[FUSE_INIT]) {
		return -EINVAL;
	}
	if (op != &ops[FUSE_INIT] && !r->srv->inited)
		return -EIO;
	if (op->mutates && r->srv->share.ro)
		return -EROFS;
	if (op->node && !(r->node = fs_inode_get(r->srv, r->in.nodeid)))
		return -ENOENT;
	return 0;
}

/* Header and reply argument into the writable buffers. */
static uint32_t
reply(struct fs_req *r, int err)
{
	const struct vq_chain *c = r->c;
	struct fuse_out_header h = { .error = err, .unique = r->in.unique };
	uint32_t body = err ? 0 : r->olen ? r->olen : r->data;

	if (body > r->room) {
		h.error = -EINVAL;
		body = 0;
	}
	h.len = (uint32_t)sizeof(h) + body;
	iov_from_buf(c->iov + c->n_out, c->n_in, 0, &h, sizeof(h));
	if (!err && r->olen && body)
		iov_from_buf(c->iov + c->n_out, c->n_in, sizeof(h), &r->o, r->olen);
	return h.len;
}

/**
 * fs_serve() - carry out one FUSE request and write its reply.
 * @srv:  the server.
 * @c:    the request's chain, as vq_pop() gave it.
 * @used: bytes written into the chain's writable buffers.
 *
 * Return: 0 when the request was served (or answered with an error), or
 * -EINVAL when it breaks the protocol: no header, or no room for the
 * reply header of an opcode that has one.
 */
int
fs_serve(struct fs_server *srv, const struct vq_chain *c, uint32_t *used)
{
	struct fs_req *r = &(struct fs_req){ .srv = srv, .c = c };
	static const struct fs_op unknown = { .fn = NULL };
	const struct fs_op *op;
	int err;

	*used = 0;
	if (c->out_len < sizeof(r->in))
		return -EINVAL;
	iov_to_buf(c->iov, c->n_out, 0, &r->in, sizeof(r->in));
	op = r->in.opcode < ARRAY_SIZE(ops) && ops[r->in.opcode].fn ? &ops[r->in.opcode] : &unknown;
	if (!op->no_reply && c->in_len < sizeof(struct fuse_out_header))
		return -EINVAL;
	r->room = op->no_reply ? 0 : c->in_len - sizeof(struct fuse_out_header);
	err = op->fn ? check(r, op) : -ENOSYS;
	if (!err)
		err = op->fn(r);
	if (r->node)
		fs_inode_put(srv, r->node);
	if (!op->no_reply)
		*used = reply(r, err);
	return 0;
}

/**
 * fs_server_new() - a server for one share.
 * @share: the share; the server owns its root_fd from now on.
 *
 * Return: the server, or NULL with errno set (ENOTDIR: the root is not a
 * directory).
 */
struct fs_server *
fs_server_new(const struct fs_share *share)
{
	struct fs_server *srv = calloc(1, sizeof(*srv));
	struct stat st;
	int err = -ENOMEM;

	if (srv) {
		srv->share = *share;
		err = fs_stat(share->root_fd, &st);
		if (!err && !S_ISDIR(st.st_mode))
			err = -ENOTDIR;
		if (!err) {
			srv->root_dev = st.st_dev;
			err = fs_tables_init(srv, share->root_fd, &st);
		}
	}
	if (err) {
		if (srv)
			fs_tables_free(srv);
		free(srv);
		errno = -err;
		return NULL;
	}
	return srv;
}

/**
 * fs_server_free() - close everything the server holds (tests, fuzzers).
 */
void
fs_server_free(struct fs_server *srv)
{
	fs_tables_free(srv);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

/**
 * fs_server_inodes() - live inodes, the root included (tests).
 */
unsigned
fs_server_inodes(struct fs_server *srv)
{
	return srv->ninodes;
}

/**
 * fs_server_handles() - open files and directories (tests).
 */
unsigned
fs_server_handles(struct fs_server *srv)
{
	return srv->nhandles;
}
