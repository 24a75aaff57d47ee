// SPDX-License-Identifier: MIT
/*
 * fs_dir.c - the virtio-fs opcodes on open directories: OPENDIR, READDIR,
 * READDIRPLUS, RELEASEDIR (FSYNCDIR is with FSYNC in fs_io.c).
 *
 * A directory handle is the directory opened read-only through its O_PATH
 * fd ("." below it, so no name is resolved again). READDIR seeks to the
 * guest's offset, which is a d_off cookie the host filesystem gave earlier,
 * and copies entries with getdents64 until the guest's buffer is full; the
 * next call starts at the first entry that did not fit. READDIRPLUS also
 * looks each entry up, exactly as LOOKUP would (one name, no symlink
 * followed), but only once the entry is known to fit: the guest takes a
 * reference on every entry it receives and on no other. An entry that
 * cannot be looked up (gone since, on another filesystem, over the fd
 * budget) and "." and ".." go out with node id 0: a name without
 * attributes, which the guest looks up itself if it needs to.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs_int.h"
#include "../vmm/util.h"

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int
fs_opendir(struct fs_req *r)
{
	struct fuse_open_out *o = &r->o.open;
	int fd, err;

	if (!S_ISDIR(r->node->type))
		return -ENOTDIR;
	fd = openat(r->node->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*o = (struct fuse_open_out){
		.open_flags = r->srv->share.cache ? FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR : 0,
	};
	err = fs_handle_add(r->srv, fd, true, false, &o->fh);
	if (!err)
		r->olen = sizeof(*o);
	return err;
}

int
fs_releasedir(struct fs_req *r)
{
	return fs_handle_release(r->srv, r->a.release.fh, true);
}

static bool
dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/*
 * One entry into the reply at @*used, if it fits in @size; READDIRPLUS
 * looks it up then. Return: false when it did not fit.
 */
static bool
emit(struct fs_req *r, struct fs_inode *dir, const struct linux_dirent64 *d, bool plus,
     uint64_t size, uint64_t *used)
{
	union {
		struct fuse_direntplus p;
		uint8_t bytes[FUSE_NAME_OFFSET_DIRENTPLUS + FS_NAME_MAX + 8];
	} u;
	size_t namelen = strnlen(d->d_name, FS_NAME_MAX + 1);
	size_t head = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
	size_t len = FUSE_DIRENT_ALIGN(head + namelen);
	struct fuse_dirent *de = plus ? &u.p.dirent : (struct fuse_dirent *)u.bytes;

	if (namelen > FS_NAME_MAX || *used + len > size)
		return namelen > FS_NAME_MAX;	/* too long for FUSE: skipped */
	memset(u.bytes, 0, len);
	if (plus && !dot(d->d_name) && fs_lookup_name(r, dir, d->d_name, &u.p.entry_out) < 0)
		memset(&u.p.entry_out, 0, sizeof(u.p.entry_out));
	*de = (struct fuse_dirent){ .ino = d->d_ino, .off = (uint64_t)d->d_off,
				    .namelen = (uint32_t)namelen, .type = d->d_type };
	memcpy(u.bytes + head, d->d_name, namelen);
	iov_from_buf(r->c->iov + r->c->n_out, r->c->n_in, sizeof(struct fuse_out_header) + *used,
		     u.bytes, len);
	*used += len;
	return true;
}

/* Fill the reply from offset @off of directory handle @h. */
static int
fill(struct fs_req *r, struct fs_handle *h, struct fs_inode *dir, bool plus, uint64_t size)
{
	union {
		struct linux_dirent64 d;
		char bytes[4096];
	} buf;
	uint64_t used = 0;

	if (lseek(h->fd, (off_t)r->a.read.offset, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		long n = syscall(SYS_getdents64, h->fd, buf.bytes, sizeof(buf));

		if (n <= 0) {
			r->data = (uint32_t)used;
			return n < 0 && !used ? -errno : 0;
		}
		for (long pos = 0; pos < n;) {
			const struct linux_dirent64 *d = (const void *)(buf.bytes + pos);

			if (!emit(r, dir, d, plus, size, &used)) {
				r->data = (uint32_t)used;
				return used ? 0 : -EINVAL;
			}
			pos += d->d_reclen;
		}
	}
}

static int
do_readdir(struct fs_req *r, bool plus)
{
	const struct fuse_read_in *a = &r->a.read;
	struct fs_handle *h = fs_handle_get(r->srv, a->fh, true);
	struct fs_inode *dir = NULL;
	int err;

	if (!h)
		return -EBADF;
	/* READDIRPLUS looks names up below the directory's inode. */
	if (plus && !(dir = fs_inode_get(r->srv, r->in.nodeid))) {
		fs_handle_put(r->srv, h);
		return -ENOENT;
	}
	pthread_mutex_lock(&h->lock);
	err = a->offset > (uint64_t)INT64_MAX ? -EINVAL :
	      fill(r, h, dir, plus, MIN(MIN((uint64_t)a->size, FS_MAX_IO), r->room));
	pthread_mutex_unlock(&h->lock);
	if (dir)
		fs_inode_put(r->srv, dir);
	fs_handle_put(r->srv, h);
	return err;
}

int
fs_readdir(struct fs_req *r)
{
	return do_readdir(r, false);
}

int
fs_readdirplus(struct fs_req *r)
{
	return do_readdir(r, true);
}
