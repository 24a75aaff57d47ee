/* SPDX-License-Identifier: MIT */
/*
 * fs.h - virtio-fs: a host directory in the guest, served by a FUSE server
 * inside capsa (virtio 1.2, 5.11; the protocol is the kernel's
 * <linux/fuse.h>).
 */
#ifndef CAPSA_FS_H
#define CAPSA_FS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "virtio.h"

#define FS_TAG_MAX	36	/* virtio_fs_config.tag */
#define FS_WORKERS	4	/* requests served at once per share */

/* Open fds every share of a run may hold together (inodes and open files). */
struct fs_budget {
	_Atomic long left;
};

/**
 * struct fs_share - one shared directory as the server sees it.
 * @root_fd:   O_PATH directory fd of the share's root. The jail turns it
 *             into a detached mount of its own, so that ".." stays inside.
 * @proc_fd:   O_PATH fd on capsa's own /proc/self/fd directory (also
 *             detached by the jail): regular files are opened for I/O by
 *             reopening their O_PATH fd through it.
 * @ro:        every mutating request fails with EROFS, no file opens for
 *             writing or truncation.
 * @cache:     nothing changes under the share while the guest runs (the
 *             read-only root): long timeouts, negative lookups cached.
 * @owner_uid: the owner of @root_fd, shown to the guest as uid 0 (and 0 as
 *             the overflow id), so the guest's root owns the user's files.
 * @owner_gid: likewise for groups.
 * @set_fsid:  the serving threads take @fs_uid/@fs_gid as their
 *             filesystem identity (capsa started as root, a :rw share).
 * @fs_uid:    that identity.
 * @fs_gid:    and its group.
 * @budget:    the run's fd budget, shared by every share.
 */
struct fs_share {
	int root_fd;
	int proc_fd;
	bool ro;
	bool cache;
	uid_t owner_uid;
	gid_t owner_gid;
	bool set_fsid;
	uid_t fs_uid;
	gid_t fs_gid;
	struct fs_budget *budget;
};

struct vm;
struct loop;
struct fs_dev;
struct fs_server;

struct fs_dev *fs_create(struct vm *vm, struct loop *loop, uint64_t base, unsigned irq,
			 const char *tag, const struct fs_share *share);
int fs_start(struct fs_dev *d, int (*thread_init)(void));

/* The server, public for the unit tests and fuzzers. */
struct fs_server *fs_server_new(const struct fs_share *share);
void fs_server_free(struct fs_server *srv);
int fs_serve(struct fs_server *srv, const struct vq_chain *c, uint32_t *used);
unsigned fs_server_inodes(struct fs_server *srv);
unsigned fs_server_handles(struct fs_server *srv);

#endif
