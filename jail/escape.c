// SPDX-License-Identifier: MIT
/*
 * escape.c - test builds only (-DCAPSA_TEST_HOOKS): make the jailed capsa
 * try what a compromised one would, so tests can see it blocked.
 *
 * CAPSA_TEST_ESCAPE=OP makes the main thread try OP right after the jail;
 * CAPSA_TEST_ESCAPE=vcpu:OP makes vCPU 0 try it right after its filter;
 * CAPSA_TEST_ESCAPE=share:OP makes the main thread of a run with shares
 * try it while it still has the share threads' syscalls (the fs probes
 * procroot and shareup: through the detached trees, out of them). A
 * blocked OP kills capsa with SIGSYS (exit status 159 in a shell). If OP
 * returns, capsa says so on stderr: the main thread exits 99 when it
 * succeeded and 98 when it failed with an error; the vCPU thread stops the
 * VM, so capsa exits 125.
 */
#ifdef CAPSA_TEST_HOOKS
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "stage.h"
#include "../vmm/util.h"

static const struct jail *jail;

/**
 * jail_test_set() - the jail the tries may look at (its shared trees).
 */
void
jail_test_set(const struct jail *j)
{
	jail = j;
}

/* From capsa's own fd directory (the last tree), up to PID 1's root. */
static long
try_procroot(void)
{
	if (!jail || !jail->ntrees)
		return -1;
	return openat(jail->trees[jail->ntrees - 1], "../../1/root/etc", O_PATH | O_DIRECTORY);
}

/* From the first share's root to its parent: success if ".." left the share. */
static long
try_shareup(void)
{
	struct stat a, b;
	int fd;

	if (!jail || jail->ntrees < 2)
		return -1;
	fd = openat(jail->trees[0], "..", O_PATH | O_DIRECTORY);
	if (fd < 0 || fstat(fd, &a) < 0 || fstat(jail->trees[0], &b) < 0)
		return -1;
	errno = EXDEV;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev ? -1 : fd;
}

static long
try_open(void)
{
	return open("/etc/passwd", O_RDONLY | O_CLOEXEC);
}

static long
try_execve(void)
{
	char *argv[] = { "capsa-escape", NULL };

	return execve("/nonexistent/capsa-escape", argv, argv + 1);
}

static long
try_ptrace(void)
{
	return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static long
try_socket_inet(void)
{
	return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static long
try_socket_unix(void)
{
	return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static long
try_mount(void)
{
	return mount("none", "/nonexistent/capsa-escape", "tmpfs", 0, NULL);
}

static long
try_unshare(void)
{
	return unshare(CLONE_NEWNS);
}

/* TIOCSTI types into a terminal; fd -1 so an unjailed run types nothing. */
static long
try_ioctl(void)
{
	return ioctl(-1, TIOCSTI, "x");
}

/* A terminal request the VMM filter allows and the vCPU filter does not. */
static long
try_ioctl_tty(void)
{
	struct termios t;

	return ioctl(-1, TCGETS, &t);
}

static const struct {
	const char *name;
	long (*try)(void);
} ops[] = {
	{ "open", try_open }, { "execve", try_execve }, { "ptrace", try_ptrace },
	{ "socket_inet", try_socket_inet }, { "socket_unix", try_socket_unix },
	{ "mount", try_mount }, { "unshare", try_unshare }, { "ioctl", try_ioctl },
	{ "ioctl_tty", try_ioctl_tty }, { "procroot", try_procroot }, { "shareup", try_shareup },
};

/**
 * jail_test_escape() - try the CAPSA_TEST_ESCAPE operation meant for @where.
 * @where: "vmm" (the main thread, after the jail), "share" (the main
 *         thread with the share threads' syscalls, before jail_narrow())
 *         or "vcpu".
 *
 * Return: 0 when there is nothing to try here; -EPERM from a vCPU thread
 * whose try returned. The main thread exits instead.
 */
int
jail_test_escape(const char *where)
{
	const char *want = getenv("CAPSA_TEST_ESCAPE"), *colon;
	size_t wl = strlen(where);
	long r;

	if (!want)
		return 0;
	colon = strchr(want, ':');
	if (colon ? strncmp(want, where, wl) || (size_t)(colon - want) != wl
		  : strcmp(where, "vmm"))
		return 0;
	want = colon ? colon + 1 : want;
	for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
		if (strcmp(want, ops[i].name))
			continue;
		r = ops[i].try();
		log_warn("test escape %s %s: %s", where, want, r < 0 ? strerror(errno) : "allowed");
		if (!strcmp(where, "vcpu"))
			return -EPERM;
		_exit(r < 0 ? 98 : 99);
	}
	log_warn("test escape: unknown operation '%s'", want);
	if (strcmp(where, "vcpu"))
		_exit(97);
	return -EINVAL;
}
#endif
