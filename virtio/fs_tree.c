// SPDX-License-Identifier: MIT
/*
 * fs_tree.c - the virtio-fs opcodes that change the tree: SETATTR, MKDIR,
 * MKNOD, SYMLINK, LINK, UNLINK, RMDIR, RENAME, RENAME2.
 *
 * Each works on names below a directory inode's fd (one name each, checked
 * before dispatch) or on an inode's own O_PATH fd; what needs an open file
 * (chmod, utimes, link of the file itself) goes through capsa's fd
 * directory, never through a path. Modes lose set-user-ID (and, on files,
 * set-group-ID): a guest must not plant a set-user-ID program on the host.
 * MKNOD makes FIFOs, sockets and plain files, never a device node.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>

#include "fs_int.h"
#include "../vmm/util.h"

static int
set_times(struct fs_req *r, const char *name)
{
	const struct fuse_setattr_in *a = &r->a.setattr;
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

	if (a->valid & FATTR_ATIME)
		ts[0] = (a->valid & FATTR_ATIME_NOW) ? (struct timespec){ .tv_nsec = UTIME_NOW } :
			(struct timespec){ (time_t)a->atime, a->atimensec };
	if (a->valid & FATTR_MTIME)
		ts[1] = (a->valid & FATTR_MTIME_NOW) ? (struct timespec){ .tv_nsec = UTIME_NOW } :
			(struct timespec){ (time_t)a->mtime, a->mtimensec };
	return utimensat(r->srv->share.proc_fd, name, ts, 0) < 0 ? -errno : 0;
}

static bool
same_file(int fd, const struct fs_inode *n)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == n->dev && st.st_ino == n->ino;
}

static int
set_size(struct fs_req *r)
{
	const struct fuse_setattr_in *a = &r->a.setattr;
	struct fs_handle *h = (a->valid & FATTR_FH) ? fs_handle_get(r->srv, a->fh, false) : NULL;
	int fd, err = 0;

	if (!S_ISREG(r->node->type))
		return S_ISDIR(r->node->type) ? -EISDIR : -EINVAL;
	if (a->size > (uint64_t)INT64_MAX)
		err = -EFBIG;
	/* The guest's handle is used only when it is this node's file. */
	if (h && !(h->write && same_file(h->fd, r->node))) {
		fs_handle_put(r->srv, h);
		h = NULL;
	}
	fd = err ? -1 : h ? h->fd : fs_reopen(r->srv, r->node, O_WRONLY);
	if (fd < 0 && !err)
		err = fd;
	if (!err && ftruncate(fd, (off_t)a->size) < 0)
		err = -errno;
	if (fd >= 0 && !h)
		close(fd);
	if (h)
		fs_handle_put(r->srv, h);
	return err;
}

int
fs_setattr(struct fs_req *r)
{
	const struct fuse_setattr_in *a = &r->a.setattr;
	const struct fs_inode *n = r->node;
	uid_t uid = (a->valid & FATTR_UID) ? fs_id_in(a->uid, r->srv->share.owner_uid) : (uid_t)-1;
	gid_t gid = (a->valid & FATTR_GID) ? fs_id_in(a->gid, r->srv->share.owner_gid) : (gid_t)-1;
	char name[16];
	int err = 0;

	fs_fd_name(n->fd, name);
	/* Through the fd directory: chmod and utimes of an O_PATH fd's file. */
	if (S_ISLNK(n->type) && (a->valid & (FATTR_MODE | FATTR_ATIME | FATTR_MTIME)))
		return -EOPNOTSUPP;
	if ((a->valid & FATTR_MODE) &&
	    fchmodat(r->srv->share.proc_fd, name, fs_safe_mode(a->mode, S_ISDIR(n->type)), 0) < 0)
		return -errno;
	if ((a->valid & (FATTR_UID | FATTR_GID)) &&
	    fchownat(n->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (a->valid & FATTR_SIZE)
		err = set_size(r);
	if (!err && (a->valid & (FATTR_ATIME | FATTR_MTIME)))
		err = set_times(r, name);
	return err ? err : fs_reply_attr(r, n->fd);
}

/* After a mkdir, mknod, symlink or link: the new name's entry. */
static int
made(struct fs_req *r, int err, const char *name)
{
	if (err < 0)
		return -errno;
	err = fs_lookup_name(r, r->node, name, &r->o.entry);
	if (!err)
		fs_reply_entry(r);
	return err;
}

int
fs_mkdir(struct fs_req *r)
{
	return made(r, mkdirat(r->node->fd, r->name, fs_safe_mode(r->a.mkdir.mode, true)), r->name);
}

/* FIFOs, sockets and regular files; never a device node. */
int
fs_mknod(struct fs_req *r)
{
	mode_t mode = r->a.mknod.mode, type = mode & S_IFMT;

	if (type != S_IFIFO && type != S_IFSOCK && type != S_IFREG)
		return -EPERM;
	return made(r, mknodat(r->node->fd, r->name, type | fs_safe_mode(mode, false), 0), r->name);
}

int
fs_symlink(struct fs_req *r)
{
	/* FUSE sends the new name first, then the target. */
	return made(r, symlinkat(r->name2, r->node->fd, r->name), r->name);
}

int
fs_link(struct fs_req *r)
{
	struct fs_inode *old = fs_inode_get(r->srv, r->a.link.oldnodeid);
	char name[16];
	int res;

	if (!old)
		return -ENOENT;
	if (S_ISDIR(old->type)) {
		fs_inode_put(r->srv, old);
		return -EPERM;
	}
	/* The O_PATH fd's file itself, through the fd directory's magic link. */
	fs_fd_name(old->fd, name);
	res = linkat(r->srv->share.proc_fd, name, r->node->fd, r->name, AT_SYMLINK_FOLLOW);
	fs_inode_put(r->srv, old);
	return made(r, res, r->name);
}

int
fs_unlink(struct fs_req *r)
{
	return unlinkat(r->node->fd, r->name, 0) < 0 ? -errno : 0;
}

int
fs_rmdir(struct fs_req *r)
{
	return unlinkat(r->node->fd, r->name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int
do_rename(struct fs_req *r, uint64_t newdir, uint32_t flags)
{
	struct fs_inode *to;
	int err = 0;

	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	to = fs_inode_get(r->srv, newdir);
	if (!to)
		return -ENOENT;
	if (syscall(SYS_renameat2, r->node->fd, r->name, to->fd, r->name2, flags) < 0)
		err = -errno;
	fs_inode_put(r->srv, to);
	return err;
}

int
fs_rename(struct fs_req *r)
{
	return do_rename(r, r->a.rename.newdir, 0);
}

int
fs_rename2(struct fs_req *r)
{
	return do_rename(r, r->a.rename2.newdir, r->a.rename2.flags);
}
