// SPDX-License-Identifier: MIT
/*
 * shares.c - mount the host's shared directories (virtio-fs, by tag).
 *
 * capsa sends one RUN_SHARE record per --share, parents before children,
 * and a RUN_ROOT_SHARE for a directory --rootfs, which rootfs.c mounts in
 * place of /dev/vda. The shares are mounted once the root is in place, at
 * their guest paths (made if missing): read-only ones read-only (capsa
 * refuses their writes anyway), all without device nodes or set-user-ID
 * programs from the host.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "init.h"
#include "proto.h"
#include "shares.h"

#define MAX_SHARES 32

static struct {
	char tag[40];
	const char *path;
	bool ro;
} shares[MAX_SHARES];
static unsigned nshares;
static const char *root_tag;

/**
 * shares_record() - a RUN_SHARE ("ro:TAG:/PATH") or RUN_ROOT_SHARE ("TAG")
 * record from the run configuration; malformed ones are ignored.
 */
void
shares_record(int tag, const char *v)
{
	const char *colon;
	size_t tl;

	if (tag == RUN_ROOT_SHARE) {
		root_tag = v;
		return;
	}
	if (nshares == MAX_SHARES || strlen(v) < 5 || v[2] != ':' ||
	    (strncmp(v, "ro", 2) && strncmp(v, "rw", 2)))
		return;
	colon = strchr(v + 3, ':');
	if (!colon || colon[1] != '/')
		return;
	tl = (size_t)(colon - (v + 3));
	if (tl == 0 || tl >= sizeof(shares[0].tag))
		return;
	memcpy(shares[nshares].tag, v + 3, tl);
	shares[nshares].tag[tl] = 0;
	shares[nshares].path = colon + 1;
	shares[nshares].ro = v[1] == 'o';
	nshares++;
}

/**
 * shares_root_tag() - the virtio-fs tag of a directory --rootfs, or NULL.
 */
const char *
shares_root_tag(void)
{
	return root_tag;
}

/**
 * shares_mount() - mount every share at its path.
 * @err:    a one-line reason on failure.
 * @errlen: its size.
 *
 * Return: 0 or -1.
 */
int
shares_mount(char *err, size_t errlen)
{
	for (unsigned i = 0; i < nshares; i++) {
		unsigned long flags = MS_NOSUID | MS_NODEV | (shares[i].ro ? MS_RDONLY : 0);
		const char *path = shares[i].path;

		if (mkdir_parents(path) < 0 || (mkdir(path, 0755) < 0 && errno != EEXIST) ||
		    mount(shares[i].tag, path, "virtiofs", flags, NULL) < 0) {
			snprintf(err, errlen, "--share at %s: cannot mount it: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}
