/* SPDX-License-Identifier: MIT */
/*
 * stage.h - what the jail's stages share; private to jail/.
 */
#ifndef CAPSA_JAIL_STAGE_H
#define CAPSA_JAIL_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jail.h"

/* Spare fds under RLIMIT_NOFILE, for connections the run opens later. */
#define JAIL_SPARE_FDS	1088	/* vsock: 1024 connections and 64 handshakes */

/* What jail_apply() learns before the first stage and passes along. */
struct jail_run {
	const struct jail *j;
	bool root;		/* started with euid 0 */
	uid_t uid;		/* the identity to take when root: --user or nobody */
	gid_t gid;
	bool userns;		/* the namespaces came with a new user namespace */
	bool private_mounts;	/* the namespace stage gave capsa its own mounts */
	int max_fd;		/* highest open fd */
	int written_fd;		/* an fd writing a regular file or block device, or -1 */
	int filter_err;		/* building the seccomp filters failed: -errno */
};

int jail_detail(char *detail, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

int stage_namespaces(struct jail_run *run, char *detail, size_t len);
int stage_filesystem(struct jail_run *run, char *detail, size_t len);
int stage_no_new_privs(struct jail_run *run, char *detail, size_t len);
int stage_capabilities(struct jail_run *run, char *detail, size_t len);
int stage_rlimits(struct jail_run *run, char *detail, size_t len);
int stage_seccomp(struct jail_run *run, char *detail, size_t len);

void creds_identity(struct jail_run *run);
enum filter_kind { FILTER_VMM, FILTER_VCPU, FILTER_FS, FILTER_KINDS };

int filter_build(void);
unsigned filter_count(enum filter_kind k);
void filter_names(enum filter_kind k, char *buf, size_t len);

#ifdef CAPSA_TEST_HOOKS
int jail_test_escape(const char *where);
void jail_test_set(const struct jail *j);
#else
/* Test builds only: make the jailed capsa try a forbidden operation. */
static inline int jail_test_escape(const char *where) { (void)where; return 0; }
static inline void jail_test_set(const struct jail *j) { (void)j; }
#endif

#endif
