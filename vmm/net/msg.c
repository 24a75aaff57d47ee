// SPDX-License-Identifier: MIT
/*
 * msg.c - the VMM <-> broker messages (msg.h): building, sending, and
 * validating on receipt.
 *
 * The broker is the side with rights, so it treats the VMM as a
 * compromised peer: a message of the wrong size, type or direction, or
 * one that carries an fd it should not, is refused whole and any fds it
 * carried are closed. The VMM checks the broker's answers the same way.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "msg.h"

/* The payload size of each type, and who may send it. */
static const struct {
	uint16_t len;
	bool from_vmm;
} types[] = {
	[BM_NET_OPEN] = { 0, true },
	[BM_UNIX_OPEN] = { 4, true },
	[BM_STREAM] = { 4, false },
};

/**
 * bmsg_make() - a message of @type with @id and a zero payload.
 */
struct bmsg
bmsg_make(uint16_t type, uint32_t id)
{
	struct bmsg m = { .type = type, .id = id };

	if (type < sizeof(types) / sizeof(types[0]))
		m.len = types[type].len;
	return m;
}

/**
 * bmsg_parse() - validate a received record and copy it out.
 * @buf:      the record.
 * @n:        its length.
 * @from_vmm: it came from the VMM (else from the broker).
 * @nfds:     how many fds came with it.
 * @m:        the message, filled in on success.
 *
 * Return: 0, or -EBADMSG.
 */
int
bmsg_parse(const void *buf, size_t n, bool from_vmm, unsigned nfds, struct bmsg *m)
{
	struct bmsg h = { 0 };

	if (n < BMSG_HDR)
		return -EBADMSG;
	memcpy(&h, buf, BMSG_HDR);
	if (h.type == 0 || h.type >= sizeof(types) / sizeof(types[0]) ||
	    types[h.type].from_vmm != from_vmm || h.len != types[h.type].len ||
	    n != BMSG_HDR + (size_t)h.len)
		return -EBADMSG;
	memcpy(&h.u, (const char *)buf + BMSG_HDR, h.len);
	if (h.type == BM_STREAM &&
	    (h.u.stream.err < 0 || h.u.stream.err > 4095 || nfds != (h.u.stream.err ? 0u : 1u)))
		return -EBADMSG;
	if (h.type != BM_STREAM && nfds)
		return -EBADMSG;
	*m = h;
	return 0;
}

/**
 * bmsg_send() - send @m, with @fd when it is not -1.
 *
 * The VMM sends no fds, and so only write()s (one syscall fewer in its jail).
 *
 * Return: 0 or -errno.
 */
int
bmsg_send(int sock, const struct bmsg *m, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)m, BMSG_HDR + (size_t)m->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t r;

	if (fd < 0) {
		r = write(sock, m, iov.iov_len);
	} else {
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		r = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	if (r < 0)
		return -errno;
	return (size_t)r == iov.iov_len ? 0 : -EMSGSIZE;
}

/* Every fd that came with a record; returns how many. */
static unsigned
take_fds(struct msghdr *mh, int *fds, unsigned max)
{
	unsigned n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

/**
 * bmsg_recv() - receive and validate one message.
 * @sock:     the socketpair end.
 * @from_vmm: we are the broker.
 * @m:        the message.
 * @fd:       the fd that came with it, or -1.
 *
 * Return: 1 for a message, 0 at EOF, -EAGAIN, -EBADMSG for a message
 * refused (its fds closed), or another -errno.
 */
int
bmsg_recv(int sock, bool from_vmm, struct bmsg *m, int *fd)
{
	char buf[BMSG_MAX + 1], ctl[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	int fds[4];
	unsigned nfds;
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	*fd = -1;
	if (n < 0)
		return -errno;
	nfds = take_fds(&mh, fds, 4);
	if (n == 0 && !nfds)
		return 0;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    bmsg_parse(buf, (size_t)n, from_vmm, nfds, m) < 0) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return -EBADMSG;
	}
	*fd = nfds ? fds[0] : -1;
	return 1;
}
