/* SPDX-License-Identifier: MIT */
/*
 * shares.h - --share and --rootfs DIR: host directories served to the
 * guest by virtio-fs devices (virtio/fs.h).
 *
 * Order: share_parse() per option and shares_check() once the options are
 * read; shares_open() before anything else is built; shares_attach() per
 * device as the VM is assembled; the jail; shares_start(); jail_narrow().
 */
#ifndef CAPSA_SHARES_H
#define CAPSA_SHARES_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "../virtio/fs.h"

struct vm;
struct loop;

struct share {
	char tag[FS_TAG_MAX];
	struct fs_share fs;
	struct fs_dev *dev;
};

struct shares {
	struct share v[MAX_SHARES + 1];
	unsigned n;
	struct fs_budget budget;
	int trees[MAX_SHARES + 2];	/* every root, then capsa's /proc/self/fd */
};

int share_parse(struct share_spec *s, const char *val, char *err, unsigned errlen);
int shares_check(struct capsa_config *cfg, char *err, unsigned errlen);
void share_tag(const struct capsa_config *cfg, unsigned i, char tag[FS_TAG_MAX]);
int shares_open(struct shares *sh, struct capsa_config *cfg, char *err, size_t errlen);
int shares_attach(struct shares *sh, unsigned i, struct vm *vm, struct loop *loop,
		  uint64_t base, unsigned irq);
int shares_start(struct shares *sh);

#endif
