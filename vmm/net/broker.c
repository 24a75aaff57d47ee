// SPDX-License-Identifier: MIT
/*
 * broker.c - the privileged half of capsa: a process outside the VMM's
 * jail that opens, for the jailed VMM, what the jail forbids it.
 *
 * Theory of Operation
 * ===================
 *
 * capsa forks the broker before the jail (vmm/broker.c), and the broker
 * closes everything of the VM it inherited: it keeps only its end of a
 * SOCK_SEQPACKET pair to the VMM, stderr, and the --net-log file. It has
 * one job per message (msg.h), each message checked on receipt, and
 * answers with an fd:
 *
 *   BM_UNIX_OPEN  connect the unix socket --vsock PATH_<port>;
 *   BM_NET_OPEN   make a socketpair for a guest's network stream: one end
 *                 goes to the VMM, which joins it to the guest's vsock
 *                 connection; the other is a flow here (flow.c), which
 *                 reads the guest's request, decides, connects and
 *                 splices.
 *
 * So the VMM never calls socket() or connect() and never parses what a
 * guest sends over the network; the broker does, and the policy lives
 * here, out of the guest's and the VMM's reach. The broker confines
 * itself (jail/broker.c): no new privileges, no capabilities, its own
 * seccomp allowlist; it keeps the host's network and its files (it
 * resolves names and connects, for the user who ran capsa).
 *
 * When the VMM is gone, however it ended (even by SIGKILL: the pair
 * reaches EOF), the broker removes the sockets capsa created (--vsock
 * PATH, --control PATH) if each is still that socket, logs the
 * connections still open, and exits; its flows end with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "flow.h"
#include "msg.h"
#include "../../jail/jail.h"
#include "../util.h"

#define HOST_REFRESH_MS	1000

/* Keep @keep (ascending, -1 entries ignored); close every other fd. */
static void
close_others(const int *keep, unsigned n)
{
	int from = 0;

	for (unsigned i = 0; i < n; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from)
			syscall(SYS_close_range, from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/**
 * broker_refresh_host() - read the host's own addresses again, at most
 * once a second: a guest must not reach the host through them.
 */
void
broker_refresh_host(struct broker *b)
{
	struct net_addr addrs[MAX_HOST_ADDRS];
	struct ifaddrs *ifa, *i;
	unsigned n = 0;
	double t = now_ms();

	if (b->host_t && t - b->host_t < HOST_REFRESH_MS)
		return;
	b->host_t = t;
	if (getifaddrs(&ifa) < 0)
		return;			/* keep what we knew */
	for (i = ifa; i && n < MAX_HOST_ADDRS; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			addrs[n] = (struct net_addr){ 4, { 0 } };
			memcpy(addrs[n++].a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			addrs[n] = (struct net_addr){ 6, { 0 } };
			memcpy(addrs[n++].a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		}
	}
	freeifaddrs(ifa);
	policy_set_host(b->policy, addrs, n);
}

static int
connect_unix(const char *path, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s;

	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s_%" PRIu32, path, port) >=
	    sizeof(a.sun_path))
		return -ENAMETOOLONG;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;

		close(s);
		return e;
	}
	return s;
}

/* A stream for a guest's PORT_NET connection: one end a flow, one the VMM's. */
static int
net_open(struct broker *b)
{
	int sv[2];

	if (!b->policy)
		return -EPERM;
	if (b->nflows >= b->max_flows)
		return -EBUSY;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (!flow_new(b, sv[0])) {
		close(sv[1]);
		return -ENOMEM;
	}
	return sv[1];
}

static void
answer(struct broker *b, uint32_t id, int fd)
{
	struct bmsg m = bmsg_make(BM_STREAM, id);
	int err;

	m.u.stream.err = fd < 0 ? -fd : 0;
	err = bmsg_send(b->ctl, &m, fd);
	if (fd >= 0)
		close(fd);
	/* The VMM waits for one answer a request: a refusal, if the fd cannot go. */
	if (err < 0 && fd >= 0) {
		m.u.stream.err = -err;
		err = bmsg_send(b->ctl, &m, -1);
	}
	if (err < 0)
		b->loop.done = true;	/* the VMM is gone, or cannot be told */
}

static void
on_ctl(struct ev *ev, uint32_t events)
{
	struct broker *b = ev->opaque;
	struct bmsg m;
	int fd, r;

	(void)events;
	while ((r = bmsg_recv(b->ctl, true, &m, &fd)) != -EAGAIN) {
		if (r == 0 || (r < 0 && r != -EBADMSG && r != -EINTR)) {
			b->loop.done = true;	/* the VMM is gone */
			return;
		}
		if (r < 0) {
			log_warn("broker: refused a malformed message from the VMM");
			continue;
		}
		if (m.type == BM_UNIX_OPEN)
			answer(b, m.id, b->cfg->bridge[0] ? connect_unix(b->cfg->bridge, m.u.unix_open.port) :
						      -ECONNREFUSED);
		else
			answer(b, m.id, net_open(b));
	}
}

static void
on_tick(struct ev *ev, uint32_t events)
{
	struct broker *b = ev->opaque;
	uint64_t n;

	(void)events;
	(void)!read(ev->fd, &n, sizeof(n));
	flow_tick(b, now_ms());
}

/* As many flows as the fd limit allows, up to MAX_FLOWS. */
static void
raise_fd_limit(struct broker *b)
{
	struct rlimit r;

	b->max_flows = 64;
	if (getrlimit(RLIMIT_NOFILE, &r) < 0)
		return;
	r.rlim_cur = MIN(r.rlim_max, (rlim_t)(MAX_FLOWS * FLOW_FDS + 64));
	setrlimit(RLIMIT_NOFILE, &r);
	getrlimit(RLIMIT_NOFILE, &r);
	b->max_flows = (unsigned)MIN((rlim_t)MAX_FLOWS, r.rlim_cur > 64 ? (r.rlim_cur - 64) / FLOW_FDS : 0);
}

static int
broker_setup(struct broker *b, const struct broker_config *cfg)
{
	struct itimerspec second = { { 1, 0 }, { 1, 0 } };
	char detail[128];
	int tfd;

	raise_fd_limit(b);
	if (loop_init(&b->loop) < 0 ||
	    loop_add(&b->loop, &b->ctl_ev, EV_CONTROL, b->ctl, EPOLLIN, on_ctl, b) < 0)
		return -1;
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0 || timerfd_settime(tfd, 0, &second, NULL) < 0 ||
	    loop_add(&b->loop, &b->tick_ev, EV_TIMER, tfd, EPOLLIN, on_tick, b) < 0)
		return -1;
	if (b->policy && resolver_init(b) < 0)
		return -1;
	if (b->policy)
		broker_refresh_host(b);
	if (jail_broker(cfg->jail, detail, sizeof(detail)) < 0) {
		log_warn("broker: %s", detail);
		if (cfg->jail == JAIL_STRICT)
			return -1;
	}
	log_info("broker: %s", detail);
	return 0;
}

/**
 * broker_remove_owned() - remove each socket capsa created that is still
 * that socket (same device and inode), so a path reused since is left be.
 */
void
broker_remove_owned(const struct broker_config *cfg)
{
	struct stat st;

	for (unsigned i = 0; i < cfg->nowned; i++)
		if (lstat(cfg->owned[i].path, &st) == 0 && st.st_dev == cfg->owned[i].dev &&
		    st.st_ino == cfg->owned[i].ino)
			unlink(cfg->owned[i].path);
}

/**
 * broker_main() - the broker process, forked by broker_start() (vmm/broker.c).
 * @ctl: its end of the channel to the VMM.
 * @cfg: what it owns and serves.
 */
void __attribute__((noreturn))
broker_main(int ctl, const struct broker_config *cfg)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGWINCH };
	static struct broker b;
	int keep[] = { 2, ctl, cfg->log_fd };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (unsigned i = 0; i < ARRAY_SIZE(ignored); i++)
		signal(ignored[i], SIG_IGN);
	prctl(PR_SET_NAME, "capsa-broker");
	for (unsigned i = 1; i < ARRAY_SIZE(keep); i++)	/* ascending, for close_others() */
		for (unsigned k = i; k > 0 && keep[k] < keep[k - 1]; k--) {
			int t = keep[k];

			keep[k] = keep[k - 1];
			keep[k - 1] = t;
		}
	close_others(keep, ARRAY_SIZE(keep));
	b = (struct broker){ .ctl = ctl, .cfg = cfg, .policy = cfg->policy, .log_fd = cfg->log_fd,
			     .verbose = cfg->verbose };
	if (broker_setup(&b, cfg) == 0)
		loop_run(&b.loop);
	/* Connections still open end with capsa: their lines, with the bytes. */
	for (struct flow *f = b.flows; f; f = f->next)
		if (f->state == F_SPLICE) {
			f->err = ECONNABORTED;
			audit_flow(&b, f, "allow");
		}
	broker_remove_owned(cfg);
	_exit(0);
}
