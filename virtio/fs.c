// SPDX-License-Identifier: MIT
/*
 * fs.c - virtio-fs (virtio 1.2, 5.11): a host directory as a guest
 * filesystem, by tag. The FUSE server is fs_ops.c and its neighbours;
 * this file is the device.
 *
 * Theory of operation: two queues, hiprio (queue 0: FORGET, BATCH_FORGET,
 * INTERRUPT, which have no reply) and one request queue (queue 1,
 * num_request_queues = 1: a 6.1 guest uses one anyway). FS_WORKERS threads
 * per share (workers.c) serve both, hiprio first, with fs_serve(): openat2,
 * preadv, pwritev, getdents64 ... on the share, so requests are in flight
 * together and neither a vCPU nor the event loop waits for the host's disk.
 * The server has its own lock for its tables.
 *
 * Unlike virtio-blk's, the workers start right after the jail, before the
 * vCPUs, from fs_start(): they need the file syscalls, which the jail
 * gives only to threads born while the main thread's filter still has
 * them (see jail/filter.c). Each worker first takes its share's
 * filesystem identity (setfsuid, when capsa started as root serves a :rw
 * share as its owner), then narrows itself to the fs filter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <unistd.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>

#include "fs.h"
#include "workers.h"
#include "../vmm/loop.h"
#include "../vmm/util.h"

#define FS_QUEUES	2	/* hiprio, one request queue */

struct fs_dev {
	struct virtio_dev vdev;		/* first: the transport's view */
	struct fs_server *srv;
	struct fs_share share;
	struct virtio_fs_config config;
	struct ev kick_ev[FS_QUEUES];
	int (*thread_init)(void);	/* the jail's narrowing, in each worker */
	struct vq_workers hiprio;	/* one thread for queue 0 */
	struct vq_workers pool;		/* FS_WORKERS for the request queue */
};

static int
serve(void *opaque, const struct vq_chain *c, uint32_t *used)
{
	return fs_serve(((struct fs_dev *)opaque)->srv, c, used);
}

static void
kick(struct ev *ev, uint32_t events)
{
	struct fs_dev *d = ev->opaque;
	uint64_t n;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));
	vq_workers_kick(ev == &d->kick_ev[0] ? &d->hiprio : &d->pool);
}

/* The worker's identity and seccomp filter, before it touches a request. */
static int
narrow(void *opaque)
{
	struct fs_dev *d = opaque;

	if (d->share.set_fsid) {
		setfsgid(d->share.fs_gid);
		setfsuid(d->share.fs_uid);
		/* Both return the previous value: ask again to see it took. */
		if ((uid_t)setfsuid((uid_t)-1) != d->share.fs_uid ||
		    (gid_t)setfsgid((gid_t)-1) != d->share.fs_gid)
			return -EPERM;
	}
	return d->thread_init ? d->thread_init() : 0;
}

/**
 * fs_start() - start the device's workers; after the jail, before the vCPUs.
 * @d:           the device.
 * @thread_init: called first in each worker (the jail's fs filter), or NULL.
 *
 * Return: 0 or -errno.
 */
int
fs_start(struct fs_dev *d, int (*thread_init)(void))
{
	int err;

	d->thread_init = thread_init;
	err = vq_workers_start(&d->hiprio, 1, narrow);
	return err ? err : vq_workers_start(&d->pool, FS_WORKERS, narrow);
}

/* The driver reset the device: let requests in flight finish, then forget them. */
static void
fs_reset(struct virtio_dev *vdev)
{
	struct fs_dev *d = (struct fs_dev *)vdev;

	vq_workers_reset(&d->hiprio);
	vq_workers_reset(&d->pool);
}

static void
fs_dump(struct virtio_dev *vdev)
{
	struct fs_dev *d = (struct fs_dev *)vdev;

	log_state("virtio-fs@%#llx (%s): %u requests in flight, generation %u; %u inodes, "
		  "%u open files; fd budget left %ld", (unsigned long long)vdev->base,
		  (const char *)d->config.tag, d->pool.inflight + d->hiprio.inflight, d->pool.gen,
		  fs_server_inodes(d->srv), fs_server_handles(d->srv),
		  (long)atomic_load(&d->share.budget->left));
}

static const void *
fs_config(struct virtio_dev *vdev, uint32_t *len)
{
	struct fs_dev *d = (struct fs_dev *)vdev;

	*len = sizeof(d->config);
	return &d->config;
}

static const struct virtio_ops fs_ops = {
	.name = "fs",
	.device_id = VIRTIO_ID_FS,
	.features = 0,
	.nqueues = FS_QUEUES,
	.config = fs_config,
	.reset = fs_reset,
	.dump = fs_dump,
};

/**
 * fs_create() - a virtio-fs device serving @share under @tag.
 * @vm:    the VM.
 * @loop:  the event loop that receives the queues' kicks.
 * @base:  MMIO window.
 * @irq:   IOAPIC pin.
 * @tag:   what the guest mounts (mount -t virtiofs TAG DIR); < 36 bytes.
 * @share: the directory and how to serve it; the device owns its root_fd.
 *
 * Return: the device, or NULL with errno set.
 */
struct fs_dev *
fs_create(struct vm *vm, struct loop *loop, uint64_t base, unsigned irq,
	  const char *tag, const struct fs_share *share)
{
	struct fs_dev *d = calloc(1, sizeof(*d));
	int err = 0;

	if (!d)
		return NULL;
	if (strlen(tag) >= FS_TAG_MAX) {
		free(d);
		errno = EINVAL;
		return NULL;
	}
	vq_workers_init(&d->hiprio, &d->vdev, 0, 1, serve, d, "malformed FORGET");
	vq_workers_init(&d->pool, &d->vdev, 1, 1, serve, d,
			"FUSE request without a header or room for the reply");
	d->share = *share;
	memcpy(d->config.tag, tag, strlen(tag));
	d->config.num_request_queues = 1;
	d->srv = fs_server_new(share);
	if (!d->srv) {
		free(d);
		return NULL;
	}
	err = virtio_mmio_init(&d->vdev, &fs_ops, vm, base, irq);
	for (unsigned q = 0; !err && q < FS_QUEUES; q++)
		err = loop_add(loop, &d->kick_ev[q], EV_KICK, d->vdev.vq[q].kick_fd, EPOLLIN, kick, d);
	if (err) {
		/* The bus may know the device now: it stays, and capsa ends. */
		errno = -err;
		return NULL;
	}
	return d;
}
