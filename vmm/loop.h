/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the one event loop: epoll over every fd capsa waits on.
 *
 * Each registered fd carries a struct ev in its epoll data: a tag naming
 * what kind of fd it is and the handler to call. The kinds:
 *
 *   EV_VM_END     eventfd: a vCPU stopped the VM (reset, panic, failure)
 *   EV_KICK       ioeventfd: the guest notified a virtqueue
 *   EV_HOST_IO    a host fd a device moves data to or from (stdio, sockets)
 *   EV_LISTEN     a listening socket (the vsock bridge)
 *   EV_SIGNAL     signalfd: signals sent to capsa
 *   EV_TIMER      timerfd: --timeout, boot deadline, --kill-after
 *   EV_CONTROL    capsa's end of the guest control channel
 */
#ifndef CAPSA_LOOP_H
#define CAPSA_LOOP_H

#include <stdbool.h>
#include <stdint.h>

enum ev_kind {
	EV_VM_END, EV_KICK, EV_HOST_IO, EV_LISTEN, EV_SIGNAL, EV_TIMER, EV_CONTROL,
};

struct ev;
typedef void (*ev_fn)(struct ev *ev, uint32_t events);

struct ev {
	enum ev_kind kind;
	int fd;
	ev_fn fn;
	void *opaque;
	uint32_t events;	/* what it is registered for now */
};

struct loop {
	int epfd;
	bool done;
	/* Freed after the current batch: a later event in it may name them. */
	void **graveyard;
	unsigned n_dead, cap_dead;
};

int loop_init(struct loop *l);
int loop_add(struct loop *l, struct ev *ev, enum ev_kind kind, int fd,
	     uint32_t events, ev_fn fn, void *opaque);
int loop_set(struct loop *l, struct ev *ev, uint32_t events);
void loop_del(struct loop *l, struct ev *ev);
void loop_free_later(struct loop *l, void *p);
int loop_run(struct loop *l);
int loop_add_timer(struct loop *l, struct ev *ev, ev_fn fn, void *opaque);
int loop_arm_timer(struct ev *ev, uint64_t seconds, bool every);

#endif
