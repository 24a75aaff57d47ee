/* SPDX-License-Identifier: MIT */
/*
 * fsenv.h - the virtio-fs server's unit tests (t_fs.c, t_fs_hostile.c):
 * a share directory, a server on it, one FUSE request at a time (its reply
 * in q), TAP checks. See fsenv.c.
 */
#ifndef CAPSA_TEST_FSENV_H
#define CAPSA_TEST_FSENV_H

#include <stdbool.h>
#include <stdint.h>

#include "fsreq.h"

extern char dir[64], outside[64];
extern struct fsreq q;

void ft_begin(void);
int ft_end(void);
void check(bool ok, const char *what);
void skip(const char *what, const char *why);
char *at(const char *name);
void put(const char *name, const char *text);
struct fs_server *server(const char *path, bool ro, long fds);
int call(struct fs_server *srv, uint32_t op, uint64_t node, const void *arg, size_t len,
	    const char *n1, const char *n2);
void init(struct fs_server *srv);
uint64_t lookup(struct fs_server *srv, uint64_t parent, const char *name,
		   struct fuse_entry_out *e);
uint64_t open_file(struct fs_server *srv, uint64_t node, uint32_t flags);
void forget(struct fs_server *srv, uint64_t node, uint64_t n);

#endif
