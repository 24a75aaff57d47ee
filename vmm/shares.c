// SPDX-License-Identifier: MIT
/*
 * shares.c - --share HOST[:GUEST][:ro|:rw] and --rootfs DIR[:rw]: host
 * directories the guest mounts by tag, each served by a virtio-fs device.
 *
 * Read-only unless :rw, like Docker's `-v ...:ro` made the default. The
 * guest path defaults to the host path made absolute, so `-w "$PWD"` works
 * with `--share .`; it must be absolute and outside the guest's own /proc,
 * /sys and /dev, and two shares cannot have one. A directory given to
 * --rootfs is one more share, at "/", which the guest's init puts below a
 * tmpfs overlay as it does an image (or uses as is, with :rw; never for
 * the host's own root).
 *
 * Everything is opened here, before the jail: each HOST as a directory fd
 * (read permission checked), capsa's /proc/self/fd for the server to
 * reopen files with, and RLIMIT_NOFILE raised for the fds the server will
 * hold (struct fs_budget: one pool for all shares). The jail then turns
 * the directory fds into detached mounts (jail/fs.c).
 *
 * Identity, when capsa starts as root: the jail makes capsa --user
 * (nobody by default), which could neither write a user's share nor
 * should own what the guest creates there. So without --user, the :rw
 * shares are served as their owner (the owner of HOST; they must all have
 * one): the threads serving them take that uid and gid as their
 * filesystem identity, which the jail keeps as the saved ids for them
 * alone. Read-only shares and the VMM stay nobody. With --user, that user
 * serves everything. Not started as root, capsa is the user who ran it,
 * and so are the files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "shares.h"
#include "util.h"
#include "../jail/jail.h"

#define FS_FD_POOL	131072	/* fds all shares may hold together */
#define FD_RESERVE	2048	/* RLIMIT_NOFILE left for the rest of capsa */
#define FD_MIN_POOL	256

/**
 * share_parse() - one --share value, text only (nothing is opened yet).
 * @s:      filled in; its strings are allocated.
 * @val:    HOST[:GUEST][:ro|:rw]; GUEST is what follows the last ':'.
 * @err:    a one-line message on failure.
 * @errlen: its size.
 *
 * Return: 0 or -1.
 */
int
share_parse(struct share_spec *s, const char *val, char *err, unsigned errlen)
{
	size_t len = strlen(val);
	const char *colon;
	char *host, guest[PATH_MAX];

	*s = (struct share_spec){ .ro = true };
	if (len > 3 && (!strcmp(val + len - 3, ":ro") || !strcmp(val + len - 3, ":rw"))) {
		s->ro = val[len - 1] == 'o';
		len -= 3;
	}
	host = strndup(val, len);
	if (!host)
		return errmsg(err, errlen, "out of memory");
	colon = strrchr(host, ':');
	if (colon)
		host[colon - host] = 0;
	if (!host[0])
		return errmsg(err, errlen, "--share '%s': expected HOST[:GUEST][:ro|:rw]", val);
	if (colon && colon[1] != '/')
		return errmsg(err, errlen, "--share %s: the guest path '%s' must be absolute",
			    val, colon + 1);
	if (path_absolute(colon ? colon + 1 : host, guest, sizeof(guest)) < 0)
		return errmsg(err, errlen, "--share %s: path too long", val);
	s->host = host;
	s->guest = strdup(guest);
	return s->guest ? 0 : errmsg(err, errlen, "out of memory");
}

/* @path is @dir or below it. */
static bool
below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

static int
by_guest(const void *a, const void *b)
{
	return strcmp(((const struct share_spec *)a)->guest, ((const struct share_spec *)b)->guest);
}

/**
 * shares_check() - the --share options together: guest paths the guest
 * can use, none twice; then sorted, so that a share's parent is mounted
 * before it.
 *
 * Return: 0 or -1 with @err set.
 */
int
shares_check(struct capsa_config *cfg, char *err, unsigned errlen)
{
	static const char *const own[] = { "/proc", "/sys", "/dev" };

	for (unsigned i = 0; i < cfg->nshares; i++) {
		const struct share_spec *s = &cfg->shares[i];

		if (!strcmp(s->guest, "/"))
			return errmsg(err, errlen, "--share %s: not at / (a directory as the root is "
				    "--rootfs DIR)", s->host);
		for (unsigned k = 0; k < ARRAY_SIZE(own); k++)
			if (below(s->guest, own[k]))
				return errmsg(err, errlen, "--share %s: %s is inside the guest's own %s",
					    s->host, s->guest, own[k]);
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(s->guest, cfg->shares[k].guest))
				return errmsg(err, errlen, "--share %s: %s is already the guest path of "
					    "--share %s", s->host, s->guest, cfg->shares[k].host);
	}
	qsort(cfg->shares, cfg->nshares, sizeof(cfg->shares[0]), by_guest);
	return 0;
}

/**
 * share_tag() - the virtio-fs tag of share @i: what the guest mounts.
 */
void
share_tag(const struct capsa_config *cfg, unsigned i, char tag[FS_TAG_MAX])
{
	if (cfg->shares[i].root)
		snprintf(tag, FS_TAG_MAX, "capsa-root");
	else
		snprintf(tag, FS_TAG_MAX, "capsa%u", i);
}

/* Kernel state, not files: never a share. */
static bool
pseudo_fs(long type)
{
	static const long magic[] = {
		PROC_SUPER_MAGIC, SYSFS_MAGIC, DEVPTS_SUPER_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC,
		SECURITYFS_MAGIC, CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, BPF_FS_MAGIC,
		SELINUX_MAGIC, SMACK_MAGIC, EFIVARFS_MAGIC, PSTOREFS_MAGIC, NSFS_MAGIC,
		BINFMTFS_MAGIC, 0x65735543 /* fusectl */,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(magic); i++)
		if ((uint32_t)type == (uint32_t)magic[i])
			return true;
	return false;
}

/* HOST as an O_PATH directory fd; readable (and searchable) by capsa. */
static int
open_root(const char *opt, const struct share_spec *s, struct stat *st, char *err, size_t errlen)
{
	int rd = open(s->host, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
	struct statfs sfs;

	if (rd < 0 && errno == ENOTDIR)
		return errmsg(err, errlen, "--%s %s: not a directory", opt, s->host);
	if (rd < 0)
		return errmsg(err, errlen, "--%s %s: %s", opt, s->host, strerror(errno));
	fd = openat(rd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || faccessat(rd, ".", R_OK | X_OK, AT_EACCESS) < 0 || fstat(fd, st) < 0 ||
	    fstatfs(fd, &sfs) < 0) {
		errmsg(err, errlen, "--%s %s: %s", opt, s->host, strerror(errno));
		close(rd);
		return -1;
	}
	close(rd);
	if (pseudo_fs((long)sfs.f_type)) {
		close(fd);
		return errmsg(err, errlen, "--%s %s: a kernel pseudo-filesystem, not files to share",
			    opt, s->host);
	}
	return fd;
}

/* --rootfs DIR: the last share, at "/". An image is left to virtio-blk. */
static int
add_root(struct capsa_config *cfg, char *err, size_t errlen)
{
	struct stat st, slash;
	struct share_spec *s = &cfg->shares[cfg->nshares];

	if (!cfg->rootfs.path || stat(cfg->rootfs.path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (!cfg->rootfs.ro && stat("/", &slash) == 0 && st.st_dev == slash.st_dev &&
	    st.st_ino == slash.st_ino)
		return errmsg(err, errlen, "--rootfs %s:rw: the host's own root is never writable "
			    "(drop :rw; writes then stay in guest RAM)", cfg->rootfs.path);
	*s = (struct share_spec){ .host = cfg->rootfs.path, .guest = "/", .ro = cfg->rootfs.ro,
				  .root = true };
	cfg->nshares++;
	cfg->rootfs_dir = true;
	return 0;
}

/*
 * Started as root without --user: the :rw shares are served as their
 * owner (see the top). They must agree on who that is.
 */
static int
choose_identity(struct shares *sh, struct capsa_config *cfg, char *err, size_t errlen)
{
	const struct share_spec *first = NULL;

	if (geteuid() != 0 || cfg->jail.user_set)
		return 0;
	for (unsigned i = 0; i < sh->n; i++) {
		struct fs_share *fs = &sh->v[i].fs;

		if (fs->ro)
			continue;
		if (first && (fs->owner_uid != cfg->jail.fs_uid || fs->owner_gid != cfg->jail.fs_gid))
			return errmsg(err, errlen, "--share %s: owned by %u:%u, --share %s by %u:%u; "
				    "capsa started as root serves :rw shares as one user (give --user)",
				    cfg->shares[i].host, fs->owner_uid, fs->owner_gid, first->host,
				    cfg->jail.fs_uid, cfg->jail.fs_gid);
		first = &cfg->shares[i];
		cfg->jail.fs_id = true;
		cfg->jail.fs_uid = fs->owner_uid;
		cfg->jail.fs_gid = fs->owner_gid;
		fs->set_fsid = true;
		fs->fs_uid = fs->owner_uid;
		fs->fs_gid = fs->owner_gid;
	}
	return 0;
}

/*
 * The fds the shares may hold: RLIMIT_NOFILE's soft limit raised to the
 * hard one (root raises the hard one too) for FS_FD_POOL, less a reserve.
 */
static long
fd_budget(void)
{
	rlim_t want = FS_FD_POOL + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_max < want && geteuid() == 0 &&
	    setrlimit(RLIMIT_NOFILE, &(struct rlimit){ want, want }) == 0)
		rl.rlim_max = want;
	rl.rlim_cur = MIN(rl.rlim_max, want);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < FD_RESERVE + FD_MIN_POOL)
		return -1;
	return (long)(rl.rlim_cur - FD_RESERVE);
}

/**
 * shares_open() - open every share (and a directory --rootfs), first of
 * all, so that a bad one costs one clear line and no VM.
 * @sh:     filled in.
 * @cfg:    the options; a directory --rootfs is added to its shares, and
 *          the jail learns what to keep (trees, fds, identity).
 * @err:    a one-line message on failure.
 * @errlen: its size.
 *
 * Return: 0 or -1.
 */
int
shares_open(struct shares *sh, struct capsa_config *cfg, char *err, size_t errlen)
{
	long pool;
	int proc;

	memset(sh, 0, sizeof(*sh));
	if (add_root(cfg, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->nshares; i++) {
		const struct share_spec *s = &cfg->shares[i];
		struct share *d = &sh->v[i];
		struct stat st;
		int fd = open_root(s->root ? "rootfs" : "share", s, &st, err, errlen);

		if (fd < 0)
			return -1;
		share_tag(cfg, i, d->tag);
		/* The read-only root changes under nobody: cache it all. */
		d->fs = (struct fs_share){ .root_fd = fd, .ro = s->ro, .cache = s->root && s->ro,
					   .owner_uid = st.st_uid, .owner_gid = st.st_gid };
		sh->trees[i] = fd;
		sh->n++;
	}
	if (!sh->n)
		return 0;
	proc = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return errmsg(err, errlen, "--share: cannot open /proc/self/fd (%s): capsa reopens "
			    "shared files through it", strerror(errno));
	if (choose_identity(sh, cfg, err, errlen) < 0)
		return -1;
	pool = fd_budget();
	if (pool < 0)
		return errmsg(err, errlen, "--share: RLIMIT_NOFILE is below %d, too low to serve files",
			    FD_RESERVE + FD_MIN_POOL);
	atomic_store(&sh->budget.left, pool);
	for (unsigned i = 0; i < sh->n; i++) {
		sh->v[i].fs.proc_fd = proc;
		sh->v[i].fs.budget = &sh->budget;
	}
	sh->trees[sh->n] = proc;
	cfg->jail.trees = sh->trees;
	cfg->jail.ntrees = sh->n + 1;
	cfg->jail.fs_threads = true;
	cfg->jail.extra_fds = (unsigned)pool;
	log_info("%u shares, at most %ld files open on the host at once", sh->n, pool);
	return 0;
}

/**
 * shares_attach() - share @i as a virtio-fs device at @base, @irq.
 *
 * Return: 0 or -errno.
 */
int
shares_attach(struct shares *sh, unsigned i, struct vm *vm, struct loop *loop,
	      uint64_t base, unsigned irq)
{
	/* The server creates files with the guest's modes, exactly. */
	umask(0);
	sh->v[i].dev = fs_create(vm, loop, base, irq, sh->v[i].tag, &sh->v[i].fs);
	return sh->v[i].dev ? 0 : -errno;
}

/**
 * shares_start() - after the jail: start every share's threads.
 *
 * Return: 0 or -errno.
 */
int
shares_start(struct shares *sh)
{
	for (unsigned i = 0; i < sh->n; i++) {
		int err = fs_start(sh->v[i].dev, jail_fs_thread);

		if (err)
			return err;
	}
	return 0;
}
