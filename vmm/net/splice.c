// SPDX-License-Identifier: MIT
/*
 * splice.c - the bytes of an allowed connection, both ways, between the
 * guest's stream and the upstream socket.
 *
 * Theory of Operation
 * ===================
 *
 * Each direction has a pipe: splice(2) moves data from one socket into it
 * and from it into the other, so the bytes stay in the kernel and the
 * broker holds no buffer of its own (only the sniffed first bytes, sent
 * upstream before anything else). A direction writes while its pipe holds
 * data and reads again once it is empty, so a slow reader stops the
 * writer (back-pressure) and the broker's memory stays the pipes'. When one side
 * ends its sending (EOF), the pipe is drained and the other side is
 * half-closed (shutdown SHUT_WR), so a client may still read its answer.
 * The flow ends when both directions are closed, or at the first error;
 * its byte counts go to the audit log then.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flow.h"

/**
 * splice_start() - make the two pipes of a connection.
 *
 * Return: 0 or -1 with errno set.
 */
int
splice_start(struct flow *f)
{
	int p[2], q[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	if (pipe2(q, O_NONBLOCK | O_CLOEXEC) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	f->up.r = p[0];
	f->up.w = p[1];
	f->down.r = q[0];
	f->down.w = q[1];
	return 0;
}

/* Send what was read to sniff before anything else; false while some waits. */
static bool
send_early(struct flow *f)
{
	while (f->early_off < f->early_len) {
		ssize_t n = write(f->u, f->early + f->early_off, f->early_len - f->early_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0) {
			f->err = n < 0 ? errno : EPIPE;
			return false;
		}
		f->early_off += (size_t)n;
		f->sent += (uint64_t)n;
	}
	return true;
}

/*
 * Move what can be moved from @in through @d to @out without waiting.
 * Return: 0, or -errno when the connection must end.
 */
static int
pump(int in, struct pipe_dir *d, int out, uint64_t *count)
{
	for (;;) {
		ssize_t n = 0, m;

		if (!d->eof && d->queued < PIPE_BYTES) {
			n = splice(in, NULL, d->w, NULL, PIPE_BYTES - d->queued,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n == 0)
				d->eof = true;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (n > 0)
				d->queued += (size_t)n;
		}
		m = 0;
		if (d->queued) {
			m = splice(d->r, NULL, out, NULL, d->queued, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (m < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (m > 0) {
				d->queued -= (size_t)m;
				*count += (uint64_t)m;
			}
		}
		if (d->eof && !d->queued && !d->shut) {
			shutdown(out, SHUT_WR);
			d->shut = true;
		}
		if (n <= 0 && m <= 0)
			return 0;
	}
}

/**
 * splice_io() - one of the two sockets is ready: move data, then wait for
 * what comes next, or end the flow.
 */
void
splice_io(struct flow *f)
{
	int e = 0;

	if (!send_early(f)) {
		if (f->err) {
			audit_flow(f->b, f, "allow");
			flow_close(f);
			return;
		}
		flow_watch(f, false, false, false, true);
		return;
	}
	e = pump(f->g, &f->up, f->u, &f->sent);
	if (!e)
		e = pump(f->u, &f->down, f->g, &f->received);
	if (e || (f->up.shut && f->down.shut)) {
		f->err = -e;
		audit_flow(f->b, f, "allow");
		flow_close(f);
		return;
	}
	/*
	 * Wait to read only into an empty pipe: a pipe can be full of small
	 * buffers long before PIPE_BYTES, and a readable socket we cannot
	 * read would spin the loop. Data waiting is written first.
	 */
	flow_watch(f, !f->up.eof && !f->up.queued, f->down.queued > 0,
		   !f->down.eof && !f->down.queued, f->up.queued > 0);
}
