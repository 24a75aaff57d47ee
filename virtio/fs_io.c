// SPDX-License-Identifier: MIT
/*
 * fs_io.c - the virtio-fs opcodes on open files: OPEN, CREATE, READ,
 * WRITE, FLUSH, FSYNC, FALLOCATE, LSEEK, RELEASE.
 *
 * Only regular files are opened, each through its inode's O_PATH fd
 * (fs_reopen()), with flags capsa chose from the guest's: access mode,
 * append, truncate and sync, nothing else (no O_CREAT outside CREATE, no
 * O_DIRECT, O_NOATIME or O_PATH). On a read-only share nothing opens for
 * writing or with O_TRUNC. CREATE makes the file with O_EXCL and
 * O_NOFOLLOW: it never opens a symlink, FIFO or device that was there,
 * and falls back to a plain open of a regular file only when the guest
 * did not ask for O_EXCL. Data moves between the guest's buffers and the
 * file with preadv/pwritev, without a copy in capsa.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "fs_int.h"
#include "../vmm/util.h"

#define FALLOC_OK (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | \
		   FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE)

/* The open flags capsa uses for the guest's @f. */
static int
io_flags(const struct fs_server *srv, uint32_t f, int *out)
{
	uint32_t acc = f & O_ACCMODE;

	if (acc == O_ACCMODE)
		return -EINVAL;
	if (srv->share.ro && (acc != O_RDONLY || (f & O_TRUNC)))
		return -EROFS;
	*out = (int)(f & (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC));
	return 0;
}

static bool
writable(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/*
 * FOPEN_NOFLUSH: capsa's FLUSH would do nothing (writes go through at once,
 * no POSIX locks are served), so the guest need not send one at every
 * close, a round trip each. Pages a shared mapping dirtied reach the host at
 * msync, at writeback, or at the guest's sync before it powers off, as they
 * would after a close anyway.
 */
static uint32_t
open_flags(const struct fs_server *srv)
{
	/* The root does not change: keep its pages across opens. */
	return FOPEN_NOFLUSH | (srv->share.cache ? FOPEN_KEEP_CACHE : 0);
}

/* Open regular file @n and make it a handle; the reply's fuse_open_out. */
static int
open_handle(struct fs_req *r, struct fs_inode *n, int flags, struct fuse_open_out *o)
{
	int fd;

	if (S_ISDIR(n->type))
		return -EISDIR;
	if (!S_ISREG(n->type))
		return -EACCES;		/* never a device, FIFO or socket */
	fd = fs_reopen(r->srv, n, flags);
	if (fd < 0)
		return fd;
	*o = (struct fuse_open_out){ .open_flags = open_flags(r->srv) };
	return fs_handle_add(r->srv, fd, false, writable(flags), &o->fh);
}

int
fs_open(struct fs_req *r)
{
	int flags, err = io_flags(r->srv, r->a.open.flags, &flags);

	if (!err)
		err = open_handle(r, r->node, flags, &r->o.open);
	if (!err)
		r->olen = sizeof(r->o.open);
	return err;
}

/* CREATE found the name taken, and the guest did not ask for O_EXCL. */
static int
open_existing(struct fs_req *r, int flags)
{
	struct fuse_entry_out *e = &r->o.create.entry;
	struct fs_inode *n;
	int err = fs_lookup_name(r, r->node, r->name, e);

	if (err)
		return err;
	n = fs_inode_get(r->srv, e->nodeid);
	err = n ? open_handle(r, n, flags, &r->o.create.open) : -ENOENT;
	if (n)
		fs_inode_put(r->srv, n);
	if (err)
		fs_inode_forget(r->srv, e->nodeid, 1);
	return err;
}

int
fs_create_open(struct fs_req *r)
{
	const struct fuse_create_in *a = &r->a.create;
	struct fuse_entry_out *e = &r->o.create.entry;
	char name[16];
	int flags, fd, pfd, err = io_flags(r->srv, a->flags, &flags);

	if (!err && (a->mode & S_IFMT) && (a->mode & S_IFMT) != S_IFREG)
		err = -EINVAL;
	if (err)
		return err;
	fd = fs_openat_beneath(r->node->fd, r->name, flags | O_CREAT | O_EXCL,
			       fs_safe_mode(a->mode, false));
	if (fd == -EEXIST && !(a->flags & O_EXCL))
		err = open_existing(r, flags);
	else if (fd < 0)
		err = fd;
	else {
		/* The inode of the fd just made, not of whatever the name is now. */
		fs_fd_name(fd, name);
		pfd = openat(r->srv->share.proc_fd, name, O_PATH | O_CLOEXEC);
		err = pfd < 0 ? -errno : fs_add_entry(r, pfd, e);
		if (!err) {
			r->o.create.open = (struct fuse_open_out){ .open_flags = open_flags(r->srv) };
			err = fs_handle_add(r->srv, fd, false, writable(flags), &r->o.create.open.fh);
			if (err)
				fs_inode_forget(r->srv, e->nodeid, 1);
		} else {
			close(fd);
		}
	}
	if (!err)
		r->olen = sizeof(r->o.create);
	return err;
}

/* The whole of @iov from or to @fd at @off; short only at the end of the file. */
static ssize_t
io_all(int fd, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	size_t done = 0;

	while (n) {
		ssize_t k = write ? pwritev(fd, iov, (int)MIN(n, IOV_MAX), (off_t)(off + done))
				  : preadv(fd, iov, (int)MIN(n, IOV_MAX), (off_t)(off + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return done ? (ssize_t)done : -errno;
		if (k == 0)
			break;
		done += (size_t)k;
		while (n && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return (ssize_t)done;
}

int
fs_read(struct fs_req *r)
{
	const struct fuse_read_in *a = &r->a.read;
	const struct vq_chain *c = r->c;
	struct fs_handle *h = fs_handle_get(r->srv, a->fh, false);
	uint64_t size = MIN(MIN((uint64_t)a->size, FS_MAX_IO), r->room);
	struct iovec iov[VQ_MAX_SIZE];
	ssize_t n = -EINVAL;
	unsigned k;

	if (!h)
		return -EBADF;
	if (a->offset <= (uint64_t)INT64_MAX - size) {
		k = iov_slice(c->iov + c->n_out, c->n_in, sizeof(struct fuse_out_header), size, iov);
		n = io_all(h->fd, iov, k, a->offset, false);
	}
	fs_handle_put(r->srv, h);
	if (n < 0)
		return (int)n;
	r->data = (uint32_t)n;
	return 0;
}

int
fs_write(struct fs_req *r)
{
	const struct fuse_write_in *a = &r->a.write;
	const struct vq_chain *c = r->c;
	struct fs_handle *h;
	struct iovec iov[VQ_MAX_SIZE];
	ssize_t n;
	unsigned k;

	if (r->extra != a->size || a->size > FS_MAX_IO || a->offset > (uint64_t)INT64_MAX - a->size)
		return -EINVAL;
	h = fs_handle_get(r->srv, a->fh, false);
	if (!h)
		return -EBADF;
	if (!h->write) {
		fs_handle_put(r->srv, h);
		return -EBADF;
	}
	k = iov_slice(c->iov, c->n_out, sizeof(r->in) + sizeof(*a), a->size, iov);
	n = io_all(h->fd, iov, k, a->offset, true);
	fs_handle_put(r->srv, h);
	if (n < 0)
		return (int)n;
	r->o.write = (struct fuse_write_out){ .size = (uint32_t)n };
	r->olen = sizeof(r->o.write);
	return 0;
}

int
fs_release(struct fs_req *r)
{
	return fs_handle_release(r->srv, r->a.release.fh, false);
}

/* close(2) on the guest's side: capsa buffers nothing, there is nothing to do. */
int
fs_flush(struct fs_req *r)
{
	struct fs_handle *h = fs_handle_get(r->srv, r->a.flush.fh, false);

	if (!h)
		return -EBADF;
	fs_handle_put(r->srv, h);
	return 0;
}

static int
sync_handle(struct fs_req *r, bool dir)
{
	const struct fuse_fsync_in *a = &r->a.fsync;
	struct fs_handle *h = fs_handle_get(r->srv, a->fh, dir);
	int res;

	if (!h)
		return -EBADF;
	/* A real sync on the host, never a silent success. */
	res = (a->fsync_flags & FUSE_FSYNC_FDATASYNC) ? fdatasync(h->fd) : fsync(h->fd);
	fs_handle_put(r->srv, h);
	return res < 0 ? -errno : 0;
}

int
fs_fsync(struct fs_req *r)
{
	return sync_handle(r, false);
}

int
fs_fsyncdir(struct fs_req *r)
{
	return sync_handle(r, true);
}

int
fs_fallocate(struct fs_req *r)
{
	const struct fuse_fallocate_in *a = &r->a.fallocate;
	struct fs_handle *h;
	int res;

	if (a->mode & ~(uint32_t)FALLOC_OK)
		return -EOPNOTSUPP;
	if (a->offset > (uint64_t)INT64_MAX || a->length > (uint64_t)INT64_MAX - a->offset)
		return -EFBIG;
	h = fs_handle_get(r->srv, a->fh, false);
	if (!h)
		return -EBADF;
	res = h->write ? fallocate(h->fd, (int)a->mode, (off_t)a->offset, (off_t)a->length) : -1;
	if (!h->write)
		errno = EBADF;
	fs_handle_put(r->srv, h);
	return res < 0 ? -errno : 0;
}

int
fs_lseek(struct fs_req *r)
{
	const struct fuse_lseek_in *a = &r->a.lseek;
	struct fs_handle *h;
	off_t off;

	if (a->whence != SEEK_DATA && a->whence != SEEK_HOLE)
		return -EINVAL;
	if (a->offset > (uint64_t)INT64_MAX)
		return -ENXIO;
	h = fs_handle_get(r->srv, a->fh, false);
	if (!h)
		return -EBADF;
	off = lseek(h->fd, (off_t)a->offset, (int)a->whence);
	fs_handle_put(r->srv, h);
	if (off < 0)
		return -errno;
	r->o.lseek = (struct fuse_lseek_out){ .offset = (uint64_t)off };
	r->olen = sizeof(r->o.lseek);
	return 0;
}
