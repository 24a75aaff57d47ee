/* SPDX-License-Identifier: MIT */
/*
 * workers.h - threads that serve a device's requests off the vCPUs and the
 * event loop (virtio-blk, virtio-fs): see workers.c.
 */
#ifndef CAPSA_WORKERS_H
#define CAPSA_WORKERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define VQ_WORKERS_MAX	8

/* Serve one chain: 0, or -EINVAL when it breaks the device's protocol. */
typedef int (*vq_serve_fn)(void *opaque, const struct vq_chain *c, uint32_t *used);

struct vq_workers;

struct vq_worker {
	struct vq_workers *pool;
	pthread_t thread;
	struct vq_chain chain;		/* the request being served */
};

/**
 * struct vq_workers - a device's worker threads and what they share.
 * @vdev:        the device; its lock guards everything here.
 * @first:       the first queue served;
 * @nq:          queues @first .. @first + @nq - 1 are served, lower ones first.
 * @serve:       serves one chain, without the lock.
 * @thread_init: run first in each thread (identity, seccomp), or NULL.
 * @opaque:      for @serve and @thread_init.
 * @broken:      what a chain @serve refuses means, for virtio_fail().
 */
struct vq_workers {
	struct virtio_dev *vdev;
	unsigned first, nq;
	vq_serve_fn serve;
	int (*thread_init)(void *opaque);
	void *opaque;
	const char *broken;
	pthread_cond_t work;		/* chains may be available */
	pthread_cond_t idle;		/* nothing in flight any more */
	unsigned inflight;
	unsigned gen;			/* bumped by reset: older completions are dropped */
	unsigned n;			/* threads started */
	struct vq_worker w[VQ_WORKERS_MAX];
};

void vq_workers_init(struct vq_workers *p, struct virtio_dev *vdev, unsigned first, unsigned nq,
		     vq_serve_fn serve, void *opaque, const char *broken);
int vq_workers_start(struct vq_workers *p, unsigned n, int (*thread_init)(void *opaque));
void vq_workers_kick(struct vq_workers *p);
void vq_workers_reset(struct vq_workers *p);

#endif
