// SPDX-License-Identifier: MIT
/*
 * fs_node.c - what the virtio-fs handlers share: looking one name up,
 * reopening a file for I/O, attributes as the guest sees them.
 *
 * Confinement: each lookup resolves one name below its parent's fd with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * and O_PATH | O_NOFOLLOW: a symlink is returned as itself, never
 * followed (the guest reads it with READLINK and resolves it itself), and
 * a symlink swapped in on the host between two requests is just that, a
 * symlink. A lookup that lands on another filesystem (a mount point below
 * the share) finds nothing: a share is the one filesystem its root is on.
 * A file is opened for I/O only through its own O_PATH fd, never by name
 * again (fs_reopen()).
 *
 * Identity: the server acts with its threads' own credentials, never the
 * guest's (a guest's uid means nothing on the host). The share's owner is
 * shown to the guest as root (uid and gid 0), and host root as the
 * overflow id 65534, so the guest's root owns the user's files; a chown
 * to 0 is a chown to the owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "fs_int.h"
#include "../vmm/util.h"

/**
 * fs_stat() - the attributes of the file @fd is on, symlinks included.
 */
int
fs_stat(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/**
 * fs_fill_attr() - FUSE's view of @st: the owner mapped, see the top.
 */
void
fs_fill_attr(const struct fs_server *srv, const struct stat *st, struct fuse_attr *a)
{
	*a = (struct fuse_attr){
		.ino = st->st_ino, .size = (uint64_t)st->st_size, .blocks = (uint64_t)st->st_blocks,
		.atime = (uint64_t)st->st_atim.tv_sec, .atimensec = (uint32_t)st->st_atim.tv_nsec,
		.mtime = (uint64_t)st->st_mtim.tv_sec, .mtimensec = (uint32_t)st->st_mtim.tv_nsec,
		.ctime = (uint64_t)st->st_ctim.tv_sec, .ctimensec = (uint32_t)st->st_ctim.tv_nsec,
		.mode = st->st_mode, .nlink = (uint32_t)st->st_nlink,
		.uid = fs_id_out(st->st_uid, srv->share.owner_uid),
		.gid = fs_id_out(st->st_gid, srv->share.owner_gid),
		.rdev = (uint32_t)st->st_rdev, .blksize = (uint32_t)st->st_blksize,
	};
}

static uint64_t
ttl(const struct fs_server *srv)
{
	return srv->share.cache ? FS_LONG_TTL : FS_SHORT_TTL;
}

/**
 * fs_fd_name() - "/proc/self/fd/N" relative to the detached fd directory: "N".
 */
void
fs_fd_name(int fd, char buf[16])
{
	snprintf(buf, 16, "%d", fd);
}

/**
 * fs_reopen() - open the file O_PATH fd @n->fd is on, for I/O.
 * @srv:   the server.
 * @n:     the inode; must be a regular file (checked by the caller).
 * @flags: open flags, checked by the caller; O_CLOEXEC and O_NOCTTY added.
 *
 * Through capsa's own fd directory: the only way to go from an O_PATH fd
 * to an open file without a path that could have changed under it. The
 * new fd is checked to be on the same regular file.
 *
 * Return: the fd, or -errno.
 */
int
fs_reopen(const struct fs_server *srv, const struct fs_inode *n, int flags)
{
	char name[16];
	struct stat st;
	int fd;

	fs_fd_name(n->fd, name);
	fd = openat(srv->share.proc_fd, name, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != n->ino || st.st_dev != n->dev) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/**
 * fs_openat_beneath() - open one name below @dirfd, never through a symlink.
 *
 * openat2 where the kernel has it (5.6); else openat with O_NOFOLLOW,
 * which for one component without '/' resolves the same.
 *
 * Return: the fd, or -errno.
 */
int
fs_openat_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : (int)fd;
}

/**
 * fs_add_entry() - an O_PATH fd on a file the guest now knows: its entry.
 * @r:  the request.
 * @fd: the O_PATH fd; consumed.
 * @e:  filled in.
 *
 * Return: 0, -ENOENT for a file on another filesystem, -ENFILE at the
 * budget, or another -errno.
 */
int
fs_add_entry(struct fs_req *r, int fd, struct fuse_entry_out *e)
{
	struct fs_server *srv = r->srv;
	struct fs_inode *n;
	struct stat st;
	int err = fs_stat(fd, &st);

	if (!err && st.st_dev != srv->root_dev)
		err = -ENOENT;
	if (err) {
		close(fd);
		return err;
	}
	err = fs_inode_add(srv, fd, &st, &n);
	if (err)
		return err;
	*e = (struct fuse_entry_out){
		.nodeid = fs_inode_id(srv, n), .generation = n->gen,
		.entry_valid = ttl(srv), .attr_valid = ttl(srv),
	};
	fs_fill_attr(srv, &st, &e->attr);
	fs_inode_put(srv, n);
	return 0;
}

/**
 * fs_lookup_name() - look @name up below @parent: one more reference.
 *
 * Return: 0 with @e filled, or -errno.
 */
int
fs_lookup_name(struct fs_req *r, struct fs_inode *parent, const char *name,
	       struct fuse_entry_out *e)
{
	int fd;

	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	fd = fs_openat_beneath(parent->fd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	return fs_add_entry(r, fd, e);
}

/**
 * fs_reply_data() - reply bytes right after the header (READLINK).
 */
void
fs_reply_data(struct fs_req *r, const void *buf, size_t len)
{
	r->data = (uint32_t)iov_from_buf(r->c->iov + r->c->n_out, r->c->n_in,
					 sizeof(struct fuse_out_header), buf, MIN(len, r->room));
}

/**
 * fs_reply_entry() - the reply is r->o.entry.
 */
void
fs_reply_entry(struct fs_req *r)
{
	r->olen = sizeof(r->o.entry);
}

/**
 * fs_safe_mode() - the permission bits a guest may set on the host: never
 * set-user-ID, and set-group-ID only on directories (group inheritance).
 */
mode_t
fs_safe_mode(mode_t mode, bool dir)
{
	return mode & 07777 & ~(mode_t)S_ISUID & ~(mode_t)(dir ? 0 : S_ISGID);
}

/**
 * fs_reply_attr() - the reply is the attributes of the file @fd is on.
 *
 * Return: 0 or -errno.
 */
int
fs_reply_attr(struct fs_req *r, int fd)
{
	struct stat st;
	int err = fs_stat(fd, &st);

	if (err)
		return err;
	r->o.attr = (struct fuse_attr_out){ .attr_valid = ttl(r->srv) };
	fs_fill_attr(r->srv, &st, &r->o.attr.attr);
	r->olen = sizeof(r->o.attr);
	return 0;
}
