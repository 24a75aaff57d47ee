// SPDX-License-Identifier: MIT
/*
 * loop.c - epoll dispatch.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

#define LOOP_BATCH 64

/**
 * loop_init() - create the epoll instance.
 *
 * Return: 0 or -errno.
 */
int
loop_init(struct loop *l)
{
	l->done = false;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

/*
 * epoll always reports hang-ups and errors, even for an fd registered for
 * nothing: a closed pipe would then wake the loop forever. An fd wanted for
 * nothing is registered one-shot instead, so it reports at most once.
 */
static uint32_t
armed(uint32_t events)
{
	return events ? events : EPOLLONESHOT;
}

/**
 * loop_add() - watch @fd for @events and call @fn when they occur.
 * @l:      the loop.
 * @ev:     storage for the registration; lives until loop_del().
 * @kind:   what the fd is, see loop.h.
 * @fd:     the fd.
 * @events: EPOLLIN/EPOLLOUT; may be 0 to register without waiting yet.
 * @fn:     the handler.
 * @opaque: for the handler.
 *
 * Return: 0 or -errno; -EPERM means the fd cannot be polled (a regular
 * file), which callers treat as always ready.
 */
int
loop_add(struct loop *l, struct ev *ev, enum ev_kind kind, int fd,
	 uint32_t events, ev_fn fn, void *opaque)
{
	struct epoll_event e = { .events = armed(events), .data.ptr = ev };

	*ev = (struct ev){ .kind = kind, .fd = fd, .fn = fn, .opaque = opaque,
			   .events = events };
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

/**
 * loop_set() - change what a registered fd is watched for.
 *
 * Return: 0 or -errno.
 */
int
loop_set(struct loop *l, struct ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = armed(events), .data.ptr = ev };

	if (ev->events == events)
		return 0;
	ev->events = events;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, ev->fd, &e) < 0 ? -errno : 0;
}

static void
ev_ignore(struct ev *ev, uint32_t events)
{
	(void)ev;
	(void)events;
}

/**
 * loop_del() - stop watching a registered fd, before it is closed.
 *
 * An event for it already fetched in this batch goes nowhere.
 */
void
loop_del(struct loop *l, struct ev *ev)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
	ev->events = 0;
	ev->fn = ev_ignore;
}

/**
 * loop_free_later() - free @p once the current batch of events is done.
 *
 * For objects holding a struct ev that a later event in the batch may
 * still point to.
 */
void
loop_free_later(struct loop *l, void *p)
{
	if (l->n_dead == l->cap_dead) {
		unsigned cap = l->cap_dead ? 2 * l->cap_dead : 16;
		void **g = realloc(l->graveyard, cap * sizeof(*g));

		if (!g) {
			/* Leak rather than risk a use after free. */
			return;
		}
		l->graveyard = g;
		l->cap_dead = cap;
	}
	l->graveyard[l->n_dead++] = p;
}

static void
bury(struct loop *l)
{
	while (l->n_dead)
		free(l->graveyard[--l->n_dead]);
}

/**
 * loop_run() - dispatch events until a handler sets l->done.
 *
 * Return: 0 or -errno.
 */
int
loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_BATCH];

	while (!l->done) {
		int n = epoll_wait(l->epfd, evs, LOOP_BATCH, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n && !l->done; i++) {
			struct ev *ev = evs[i].data.ptr;

			ev->fn(ev, evs[i].events);
		}
		bury(l);
	}
	return 0;
}

/**
 * loop_add_timer() - a timer on the loop, created now (the jail forbids
 * making fds later) and armed with loop_arm_timer() when, and if, needed.
 * @l, @ev, @fn, @opaque: as for loop_add().
 *
 * Return: 0 or -errno.
 */
int
loop_add_timer(struct loop *l, struct ev *ev, ev_fn fn, void *opaque)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	return loop_add(l, ev, EV_TIMER, fd, EPOLLIN, fn, opaque);
}

/* Fire @ev's timer once in @seconds, or, with @every, then at that period. */
int
loop_arm_timer(struct ev *ev, uint64_t seconds, bool every)
{
	struct timespec t = { .tv_sec = (time_t)seconds };
	struct itimerspec its = { .it_value = t, .it_interval = every ? t : (struct timespec){ 0 } };

	return timerfd_settime(ev->fd, 0, &its, NULL) < 0 ? -errno : 0;
}
