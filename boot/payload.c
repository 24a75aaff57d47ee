// SPDX-License-Identifier: MIT
/*
 * payload.c - the per-run initramfs piece: the run configuration records
 * (guest/proto.h) and the files of --copy, staged under RUN_COPY_DIR/N for
 * the guest init to move into place.
 *
 * --copy is a snapshot: regular files, directories and symlinks, with
 * their modes; symlinks are copied as links and never followed, so nothing
 * outside the named tree is read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "payload.h"
#include "../guest/proto.h"
#include "../vmm/term.h"
#include "../vmm/shares.h"
#include "../vmm/util.h"

struct records {
	char *buf;
	size_t len;
	int err;
};

static void
record(struct records *r, int tag, const char *v)
{
	size_t vl = strlen(v);
	char *b = realloc(r->buf, r->len + vl + 2);

	if (!b) {
		r->err = -ENOMEM;
		return;
	}
	b[r->len] = (char)tag;
	memcpy(b + r->len + 1, v, vl + 1);
	r->len += vl + 2;
	r->buf = b;
}

static int
add_file(struct cpio *c, const char *host, const char *name, const struct stat *st)
{
	int fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *data = st->st_size ? malloc((size_t)st->st_size) : NULL;
	ssize_t n = 0;

	if (fd >= 0 && st->st_size)
		n = data ? read(fd, data, (size_t)st->st_size) : -1;
	if (fd >= 0)
		close(fd);
	if (fd < 0 || n != st->st_size) {
		free(data);
		return fd < 0 || n < 0 ? -errno : -EIO;
	}
	cpio_add(c, name, st->st_mode, data, (size_t)st->st_size);
	free(data);
	return 0;
}

static int add_tree(struct cpio *c, const char *host, const char *name, char *err, size_t errlen);

static int
add_dir(struct cpio *c, const char *host, const char *name, const struct stat *st,
	char *err, size_t errlen)
{
	char h[PATH_MAX], n[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(host);
	int r = 0;

	if (!d)
		return -errno;
	cpio_add(c, name, st->st_mode, NULL, 0);
	while (!r && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(h, sizeof(h), "%s/%s", host, e->d_name) >= sizeof(h) ||
		    (size_t)snprintf(n, sizeof(n), "%s/%s", name, e->d_name) >= sizeof(n))
			r = -ENAMETOOLONG;
		else
			r = add_tree(c, h, n, err, errlen);
	}
	closedir(d);
	return r;
}

static int
add_tree(struct cpio *c, const char *host, const char *name, char *err, size_t errlen)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int r = 0;

	if (lstat(host, &st) < 0) {
		r = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		return add_dir(c, host, name, &st, err, errlen);
	} else if (S_ISREG(st.st_mode)) {
		r = add_file(c, host, name, &st);
	} else if (S_ISLNK(st.st_mode)) {
		n = readlink(host, target, sizeof(target) - 1);
		if (n < 0)
			r = -errno;
		else
			cpio_add(c, name, st.st_mode, target, (size_t)n);
	} else {
		snprintf(err, errlen, "--copy %s: not a file, directory or symlink", host);
		return -EINVAL;
	}
	if (r && !*err)
		snprintf(err, errlen, "--copy %s: %s", host, strerror(-r));
	return r;
}

/* SRC[:DST]; DST defaults to SRC made absolute. */
static int
copy_dest(const char *spec, char *src, char *dst, char *err, size_t errlen)
{
	const char *colon = strrchr(spec, ':');
	size_t sl = colon ? (size_t)(colon - spec) : strlen(spec);

	if (sl == 0 || sl >= PATH_MAX) {
		snprintf(err, errlen, "--copy %s: expected HOST_PATH[:GUEST_PATH]", spec);
		return -EINVAL;
	}
	memcpy(src, spec, sl);
	src[sl] = 0;
	if (colon) {
		if (colon[1] != '/' || strlen(colon + 1) >= PATH_MAX) {
			snprintf(err, errlen, "--copy %s: the guest path must be absolute", spec);
			return -EINVAL;
		}
		strcpy(dst, colon + 1);
		return 0;
	}
	if (path_absolute(src, dst, PATH_MAX) < 0) {
		snprintf(err, errlen, "--copy %s: path too long", spec);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Each share's tag and where the guest mounts it, parents first. */
static void
add_shares(struct records *r, const struct capsa_config *cfg)
{
	char tag[FS_TAG_MAX], rec[PATH_MAX + FS_TAG_MAX + 8];

	for (unsigned i = 0; i < cfg->nshares; i++) {
		const struct share_spec *s = &cfg->shares[i];

		share_tag(cfg, i, tag);
		if (s->root) {
			record(r, RUN_ROOT_SHARE, tag);
			continue;
		}
		snprintf(rec, sizeof(rec), "%s:%s:%s", s->ro ? "ro" : "rw", tag, s->guest);
		record(r, RUN_SHARE, rec);
	}
}

/* -p: each guest port once (two host ports may lead to one). */
static void
add_publish(struct records *r, const struct capsa_config *cfg)
{
	char port[8];

	for (unsigned i = 0; i < cfg->npublish; i++) {
		bool seen = false;

		for (unsigned k = 0; k < i; k++)
			seen |= cfg->publish[k].guest_port == cfg->publish[i].guest_port;
		snprintf(port, sizeof(port), "%u", cfg->publish[i].guest_port);
		if (!seen)
			record(r, RUN_PUBLISH, port);
	}
}

static int
add_copies(struct cpio *c, struct records *r, const struct strlist *copies,
	   char *err, size_t errlen)
{
	char src[PATH_MAX], dst[PATH_MAX], name[64], rec[PATH_MAX + 32];
	int e;

	if (copies->n)
		cpio_add(c, &RUN_COPY_DIR[1], 040700, NULL, 0);
	for (unsigned i = 0; i < copies->n; i++) {
		e = copy_dest(copies->v[i], src, dst, err, errlen);
		if (e)
			return e;
		snprintf(name, sizeof(name), "%s/%u", &RUN_COPY_DIR[1], i);
		e = add_tree(c, src, name, err, errlen);
		if (e)
			return e;
		snprintf(rec, sizeof(rec), "%u:%s", i, dst);
		record(r, RUN_COPY, rec);
	}
	return 0;
}

/**
 * payload_build() - the per-run cpio for @cfg.
 * @cfg:    the run.
 * @tty:    the command gets a terminal of @rows x @cols.
 * @c:      the archive, filled in.
 * @err:    a one-line message on failure.
 * @errlen: its size.
 *
 * The guest environment starts minimal: PATH, HOME, HOSTNAME and, on a
 * terminal, TERM; then the user's entries in order, so they win.
 *
 * Return: 0 or -errno.
 */
int
payload_build(const struct capsa_config *cfg, bool tty, unsigned rows, unsigned cols,
	      struct cpio *c, char *err, size_t errlen)
{
	struct records r = { 0 };
	char buf[64];
	int e;

	*err = 0;
	record(&r, RUN_ENV, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	record(&r, RUN_ENV, "HOME=/root");
	record(&r, RUN_ENV, "HOSTNAME=" GUEST_HOSTNAME);
	if (tty) {
		term_env(buf, sizeof(buf));
		record(&r, RUN_ENV, buf);
		snprintf(buf, sizeof(buf), "%ux%u", rows, cols);
		record(&r, RUN_TTY, buf);
	}
	for (unsigned i = 0; i < cfg->env.n; i++)
		record(&r, RUN_ENV, cfg->env.v[i]);
	for (int i = 0; i < cfg->argc; i++)
		record(&r, RUN_ARG, cfg->argv[i]);
	record(&r, RUN_HOSTNAME, GUEST_HOSTNAME);
	if (cfg->workdir)
		record(&r, RUN_CWD, cfg->workdir);
	if (cfg->net_tap)
		record(&r, RUN_NET, "eth0");
	if (cfg->ip)
		record(&r, RUN_NET_IP, cfg->ip);
	if (cfg->gateway)
		record(&r, RUN_NET_GW, cfg->gateway);
	if (cfg->rootfs.path)
		record(&r, RUN_ROOTFS, cfg->rootfs.ro ? "ro" : "rw");
	if (cfg->control_path)
		record(&r, RUN_EXEC, "1");
	add_shares(&r, cfg);
	if (cfg->net_user)
		record(&r, RUN_NET_USER, "1");
	add_publish(&r, cfg);
	cpio_add(c, ".capsa", 040700, NULL, 0);
	e = add_copies(c, &r, &cfg->copies, err, errlen);
	if (!e && r.err)
		e = r.err;
	if (!e) {
		cpio_add(c, &RUN_CONFIG_PATH[1], 0100600, r.buf, r.len);
		cpio_finish(c);
		e = c->err;
	}
	if (e && !*err)
		snprintf(err, errlen, "cannot build the guest's run configuration: %s", strerror(-e));
	free(r.buf);
	return e;
}
