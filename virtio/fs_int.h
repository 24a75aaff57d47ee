/* SPDX-License-Identifier: MIT */
/*
 * fs_int.h - what the parts of the virtio-fs server share: the inode and
 * handle tables (fs_inode.c), one request being served (fs_ops.c), and the
 * helpers the opcode handlers use (fs_ops.c, fs_io.c, fs_dir.c).
 */
#ifndef CAPSA_FS_INT_H
#define CAPSA_FS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <linux/fuse.h>

#include "fs.h"

#define FS_NAME_MAX	255		/* one path component */
#define FS_PATH_MAX	4096		/* a symlink's target, with its NUL */
#define FS_MAX_PAGES	128		/* per READ or WRITE: 512 KiB */
#define FS_MAX_IO	(FS_MAX_PAGES * 4096U)
#define FS_MIN_MINOR	31		/* Linux 5.4, the first virtio-fs */
#define FS_TABLE_MAX	(1U << 20)	/* slots per table; the budget binds first */
#define FS_NONE		UINT32_MAX
#define FS_SHORT_TTL	1		/* s: a share the host may change */
#define FS_LONG_TTL	86400		/* s: the read-only root */
#define FS_OVERFLOW_ID	65534		/* what host root is shown as */

/*
 * A file or directory the guest knows, by (st_dev, st_ino). @fd is an
 * O_PATH fd on exactly that inode, never a path: the inode is found again
 * however it is renamed. The guest holds @nlookup references (lookups it
 * has not forgotten); requests in flight hold @refs. The fd is closed when
 * both are zero.
 */
struct fs_inode {
	int fd;
	uint32_t gen;		/* bumped when the slot is reused */
	uint32_t next;		/* hash chain (slot + 1), or free list (slot) */
	uint32_t refs;
	uint64_t nlookup;
	mode_t type;		/* S_IFMT bits: an inode never changes type */
	dev_t dev;
	ino_t ino;
};

/* A file or directory the guest opened: FUSE's fh. */
struct fs_handle {
	int fd;
	uint32_t gen;
	uint32_t next;		/* free list */
	uint32_t refs;		/* the open itself, plus requests in flight */
	bool open;		/* not released yet */
	bool dir;
	bool write;		/* opened for writing */
	pthread_mutex_t lock;	/* a directory's read position */
};

struct fs_server {
	struct fs_share share;
	dev_t root_dev;		/* lookups stay on this filesystem */
	bool inited;		/* FUSE_INIT answered */
	uint32_t minor;		/* the guest's protocol minor version */
	pthread_mutex_t lock;	/* both tables */
	struct fs_inode *inodes;	/* slot 0: the root, FUSE_ROOT_ID */
	uint32_t inode_hwm, inode_free, ninodes;
	uint32_t *buckets;	/* (dev, ino) hash heads: slot + 1, 0 for none */
	uint32_t nbuckets;
	struct fs_handle *handles;
	uint32_t handle_hwm, handle_free, nhandles;
};

/* One request while it is served. */
struct fs_req {
	struct fs_server *srv;
	const struct vq_chain *c;
	struct fuse_in_header in;
	union {
		struct fuse_init_in init;
		struct fuse_forget_in forget;
		struct fuse_batch_forget_in batch;
		struct fuse_getattr_in getattr;
		struct fuse_setattr_in setattr;
		struct fuse_mknod_in mknod;
		struct fuse_mkdir_in mkdir;
		struct fuse_rename_in rename;
		struct fuse_rename2_in rename2;
		struct fuse_link_in link;
		struct fuse_open_in open;
		struct fuse_create_in create;
		struct fuse_read_in read;
		struct fuse_write_in write;
		struct fuse_release_in release;
		struct fuse_flush_in flush;
		struct fuse_fsync_in fsync;
		struct fuse_fallocate_in fallocate;
		struct fuse_lseek_in lseek;
	} a;
	uint64_t extra;		/* readable bytes after it: WRITE data, forget list */
	const char *name;	/* the names after it, NUL-terminated, in names[] */
	const char *name2;
	uint64_t room;		/* writable bytes after the reply header */
	struct fs_inode *node;	/* in.nodeid, held while the request runs */
	union {
		struct fuse_entry_out entry;
		struct fuse_attr_out attr;
		struct fuse_open_out open;
		struct {
			struct fuse_entry_out entry;
			struct fuse_open_out open;
		} create;
		struct fuse_write_out write;
		struct fuse_statfs_out statfs;
		struct fuse_init_out init;
		struct fuse_lseek_out lseek;
	} o;
	uint32_t olen;		/* bytes of o to send */
	uint32_t data;		/* bytes written straight after the header */
	char names[FS_NAME_MAX + 1 + FS_PATH_MAX];
};

/* fs_inode.c */
int fs_tables_init(struct fs_server *srv, int root_fd, const struct stat *st);
void fs_tables_free(struct fs_server *srv);
struct fs_inode *fs_inode_get(struct fs_server *srv, uint64_t nodeid);
void fs_inode_put(struct fs_server *srv, struct fs_inode *n);
int fs_inode_add(struct fs_server *srv, int fd, const struct stat *st, struct fs_inode **out);
uint64_t fs_inode_id(const struct fs_server *srv, const struct fs_inode *n);
void fs_inode_forget(struct fs_server *srv, uint64_t nodeid, uint64_t nlookup);
void fs_forget_all(struct fs_server *srv);
int fs_handle_add(struct fs_server *srv, int fd, bool dir, bool write, uint64_t *fh);
struct fs_handle *fs_handle_get(struct fs_server *srv, uint64_t fh, bool dir);
void fs_handle_put(struct fs_server *srv, struct fs_handle *h);
int fs_handle_release(struct fs_server *srv, uint64_t fh, bool dir);

/* The share's owner is the guest's root (see fs_node.c). */
static inline uint32_t
fs_id_out(uint32_t id, uint32_t owner)
{
	return id == owner ? 0 : id == 0 ? FS_OVERFLOW_ID : id;
}

static inline uint32_t
fs_id_in(uint32_t id, uint32_t owner)
{
	return id == 0 ? owner : id;
}

/* fs_node.c: helpers for the handlers */
int fs_reopen(const struct fs_server *srv, const struct fs_inode *n, int flags);
int fs_stat(int fd, struct stat *st);
void fs_fd_name(int fd, char buf[16]);
mode_t fs_safe_mode(mode_t mode, bool dir);
void fs_fill_attr(const struct fs_server *srv, const struct stat *st, struct fuse_attr *a);
int fs_lookup_name(struct fs_req *r, struct fs_inode *parent, const char *name,
		   struct fuse_entry_out *e);
int fs_add_entry(struct fs_req *r, int fd, struct fuse_entry_out *e);
int fs_openat_beneath(int dirfd, const char *name, int flags, mode_t mode);
void fs_reply_data(struct fs_req *r, const void *buf, size_t len);
void fs_reply_entry(struct fs_req *r);
int fs_reply_attr(struct fs_req *r, int fd);

/* The handlers, by file; fs_ops.c's table maps opcodes to them. */
int fs_setattr(struct fs_req *r);
int fs_mkdir(struct fs_req *r);
int fs_mknod(struct fs_req *r);
int fs_symlink(struct fs_req *r);
int fs_link(struct fs_req *r);
int fs_unlink(struct fs_req *r);
int fs_rmdir(struct fs_req *r);
int fs_rename(struct fs_req *r);
int fs_rename2(struct fs_req *r);
int fs_open(struct fs_req *r);
int fs_create_open(struct fs_req *r);
int fs_read(struct fs_req *r);
int fs_write(struct fs_req *r);
int fs_release(struct fs_req *r);
int fs_flush(struct fs_req *r);
int fs_fsync(struct fs_req *r);
int fs_fallocate(struct fs_req *r);
int fs_lseek(struct fs_req *r);
int fs_opendir(struct fs_req *r);
int fs_readdir(struct fs_req *r);
int fs_readdirplus(struct fs_req *r);
int fs_releasedir(struct fs_req *r);
int fs_fsyncdir(struct fs_req *r);

#endif
