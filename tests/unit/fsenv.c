// SPDX-License-Identifier: MIT
/*
 * fsenv.c - what the virtio-fs server's unit tests share: a share
 * directory, one request at a time against a server on it, and TAP checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsenv.h"

static int n_pass, n_fail;
char dir[64], outside[64];
struct fsreq q;

void
check(bool ok, const char *what)
{
	if (ok)
		n_pass++;
	else
		n_fail++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", n_pass + n_fail, what);
	if (!ok)
		printf("# rc %d, error %d (%s), used %u\n", q.rc, q.error,
		       q.error < 0 ? strerror(-q.error) : "", q.used);
}

char *
at(const char *name)
{
	static char buf[2][256];
	static int k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

void
put(const char *name, const char *text)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(name);
		exit(1);
	}
	close(fd);
}

static struct fs_budget budget;

struct fs_server *
server(const char *path, bool ro, long fds)
{
	struct fs_share sh = {
		.root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC),
		.proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC),
		.ro = ro, .owner_uid = geteuid(), .owner_gid = getegid(), .budget = &budget,
	};
	struct fs_server *srv;

	atomic_store(&budget.left, fds);
	srv = fs_server_new(&sh);
	if (!srv) {
		perror("fs_server_new");
		exit(1);
	}
	return srv;
}

/* A check this host cannot run, as TAP's skip. */
void
skip(const char *what, const char *why)
{
	n_pass++;
	printf("ok %d - %s # SKIP %s\n", n_pass + n_fail, what, why);
}

/* One request: opcode, node, fixed argument, names; the reply in q. */
int
call(struct fs_server *srv, uint32_t op, uint64_t node, const void *arg, size_t len,
	const char *n1, const char *n2)
{
	memset(&q, 0, offsetof(struct fsreq, out));
	q.opcode = op;
	q.nodeid = node;
	q.arg = arg;
	q.arglen = len;
	q.n1 = n1;
	q.n2 = n2;
	fsreq_run(srv, &q);
	return q.error;
}

void
init(struct fs_server *srv)
{
	struct fuse_init_in in = { .major = 7, .minor = 36, .max_readahead = 65536,
				   .flags = 0xffffffff };
	const struct fuse_init_out *o = (const void *)q.out;
	const uint32_t want = FUSE_DO_READDIRPLUS | FUSE_PARALLEL_DIROPS | FUSE_ASYNC_READ |
			      FUSE_BIG_WRITES | FUSE_MAX_PAGES | FUSE_AUTO_INVAL_DATA |
			      FUSE_ATOMIC_O_TRUNC;

	call(srv, FUSE_INIT, 0, &in, sizeof(in), NULL, NULL);
	check(q.error == 0 && q.olen == sizeof(*o) && o->major == 7, "INIT: 7.x answered");
	check((o->flags & want) == want, "INIT: the features asked for are negotiated");
	check(!(o->flags & (FUSE_WRITEBACK_CACHE | FUSE_POSIX_LOCKS | FUSE_EXPORT_SUPPORT |
			    FUSE_POSIX_ACL)), "INIT: no writeback cache, remote locks, export, ACLs");
	check(o->max_pages >= 32 && o->max_write == o->max_pages * 4096U, "INIT: max_pages and max_write");
}

/* LOOKUP @name below @parent: its node id (0 on error), entry in *@e. */
uint64_t
lookup(struct fs_server *srv, uint64_t parent, const char *name, struct fuse_entry_out *e)
{
	call(srv, FUSE_LOOKUP, parent, NULL, 0, name, NULL);
	if (q.error)
		return 0;
	if (e)
		memcpy(e, q.out, sizeof(*e));
	return ((struct fuse_entry_out *)q.out)->nodeid;
}

uint64_t
open_file(struct fs_server *srv, uint64_t node, uint32_t flags)
{
	struct fuse_open_in in = { .flags = flags };

	call(srv, FUSE_OPEN, node, &in, sizeof(in), NULL, NULL);
	return q.error ? 0 : ((struct fuse_open_out *)q.out)->fh;
}

void
forget(struct fs_server *srv, uint64_t node, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };

	call(srv, FUSE_FORGET, node, &in, sizeof(in), NULL, NULL);
}

/**
 * ft_begin() - a fresh share directory holding "file", and a file beside it
 * (outside) that no request may reach; both unique, since the musl and
 * ASan builds of a test may run at once.
 */
void
ft_begin(void)
{
	strcpy(dir, "/tmp/capsa-t-fs-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(outside, sizeof(outside), "%s-outside", dir);
	put("file", "hello");
	close(open(outside, O_WRONLY | O_CREAT, 0600));
}

/**
 * ft_end() - remove both, print the plan and the counts.
 *
 * Return: the test's exit status.
 */
int
ft_end(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, outside);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	printf("1..%d\n%d passed, %d failed\n", n_pass + n_fail, n_pass, n_fail);
	return n_fail != 0;
}
