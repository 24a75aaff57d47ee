// SPDX-License-Identifier: MIT
/*
 * broker.c - the broker's own confinement (the broker is vmm/net/broker.c).
 *
 * The broker must keep what the VMM gives up: the host's network (it
 * connects for the guest), the host's files (/etc/hosts and
 * /etc/resolv.conf for each name it resolves, PATH_<port> for --vsock),
 * and socket() and connect(). So it gets no namespaces and no empty root;
 * what it loses is what it does not need:
 *
 *   Should:   set no_new_privs and not-dumpable, drop every capability
 *             (bounding, ambient, inheritable, permitted, effective), set
 *             RLIMIT_CORE 0, and load its own allowlist (below), which
 *             kills the broker on anything else
 *   Mustn't:  allow execve, ptrace, mount, unshare, or opening a file for
 *             writing (the --net-log file is open already); allow sockets
 *             other than unix, IPv4, IPv6 and netlink (getifaddrs)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>

#include "allow.h"
#include "jail.h"

static const unsigned long domains[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };
static const unsigned long fcntl_cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
static const unsigned long membarrier_cmds[] = {
	MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
};

#define WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

static const struct allow broker_allow[] = {
	ANY(read), ANY(write),		/* the VMM's channel, streams, the log */
	ANY(readv), ANY(writev),	/* musl's stdio */
	ANY(close),
	ANY(epoll_pwait), ANY(epoll_ctl),	/* the event loop */
	ANY(timerfd_settime),
	ONE_OF(socket, 0, domains),	/* upstream TCP, PATH_<port>, DNS, getifaddrs */
	ONE_OF(socketpair, 0, domains),	/* a guest stream's two ends */
	ANY(connect), ANY(bind),	/* upstream; musl's resolver binds its UDP socket */
	ANY(sendmsg), ANY(recvmsg),	/* fds to the VMM; messages from it */
	ANY(sendto), ANY(recvfrom),	/* DNS, netlink */
	ANY(getsockopt), ANY(setsockopt),	/* SO_ERROR of a connect; TCP_NODELAY */
	ANY(getsockname),		/* netlink, in getifaddrs */
	ANY(shutdown),			/* half-close: EOF to the other side */
	ANY(splice), ANY(pipe2),	/* the data path (vmm/net/splice.c) */
	ONE_OF(fcntl, 1, fcntl_cmds),
	MASKED(open, 1, WRITE_FLAGS, 0),	/* /etc/hosts, /etc/resolv.conf: reading only */
	MASKED(openat, 2, WRITE_FLAGS, 0),
	ANY(poll), ANY(ppoll),		/* musl's resolver waits for answers */
	ANY(lstat), ANY(newfstatat),	/* at exit: is PATH still our socket? */
	ANY(unlink),			/* ... then remove it */
	ANY(clock_gettime),
	ANY(futex),			/* the resolver threads' queue */
	MASKED(mmap, 2, PROT_EXEC, 0),	/* malloc and thread stacks; never executable */
	MASKED(mprotect, 2, PROT_EXEC, 0),
	ANY(munmap), ANY(mremap), ANY(madvise), ANY(brk),
	MASKED(clone, 0, THREAD_FLAGS | NS_FLAGS, THREAD_FLAGS),	/* resolver threads */
	ONE_OF(membarrier, 0, membarrier_cmds),	/* musl, on the first pthread_create */
	ANY(rt_sigprocmask), ANY(rt_sigreturn), ANY(restart_syscall),
	ANY(exit), ANY(exit_group),
};

static int
drop_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
			return -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/**
 * jail_broker_count() - how many syscalls the broker's filter allows.
 */
unsigned
jail_broker_count(void)
{
	return ARRAY_SIZE(broker_allow);
}

/**
 * jail_broker() - the broker confines itself; see the top of this file.
 * @mode:   --jail: off applies nothing; strict fails on any layer.
 * @detail: what applied, or what did not.
 * @len:    its size.
 *
 * Return: 0, or -errno when a layer could not be applied.
 */
int
jail_broker(enum jail_mode mode, char *detail, size_t len)
{
	struct rlimit zero = { 0, 0 };
	struct sock_fprog prog;
	int e;

	if (mode == JAIL_OFF) {
		snprintf(detail, len, "unconfined (--jail off)");
		return 0;
	}
	prctl(PR_SET_DUMPABLE, 0);
	setrlimit(RLIMIT_CORE, &zero);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(detail, len, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	e = drop_caps();
	if (e) {
		snprintf(detail, len, "dropping capabilities: %s", strerror(-e));
		return e;
	}
	e = filter_compile(broker_allow, ARRAY_SIZE(broker_allow), NULL, 0, &prog);
	if (!e && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		e = -errno;
	if (e) {
		snprintf(detail, len, "seccomp: %s", strerror(-e));
		return e;
	}
	snprintf(detail, len, "no capabilities, seccomp %u syscalls", jail_broker_count());
	return 0;
}
