/* SPDX-License-Identifier: MIT */
/*
 * jail.h - capsa confines itself before any guest code runs.
 *
 * Order (see the Theory of Operation in jail.c): open every host resource
 * the run needs, then jail_apply() on the main thread while it is still the
 * only thread, then (with shares) start the threads that serve them, each
 * calling jail_fs_thread() first, and jail_narrow(); then start the vCPU
 * threads, each of which calls jail_vcpu() before its first KVM_RUN.
 */
#ifndef CAPSA_JAIL_H
#define CAPSA_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum jail_mode {
	JAIL_BEST_EFFORT,	/* default: skip a layer that cannot be applied */
	JAIL_STRICT,		/* a layer that cannot be applied is fatal */
	JAIL_OFF,		/* debugging only: no jail, a warning */
};

/* The layers, in the order they are applied. */
enum jail_layer {
	JAIL_NAMESPACES, JAIL_FILESYSTEM, JAIL_NO_NEW_PRIVS,
	JAIL_CAPABILITIES, JAIL_RLIMITS, JAIL_SECCOMP, JAIL_LAYERS,
};

#define JAIL_DETAIL	112
#define JAIL_NOBODY	65534

/* What the jail keeps and how strict it is; filled by the options. */
struct jail {
	enum jail_mode mode;
	bool user_set;		/* --user given; else nobody */
	uid_t uid;		/* the identity capsa takes when started as root */
	gid_t gid;
	bool keep_net;		/* a host network backend (tap) is attached */
	/* Shares (vmm/shares.c): */
	int *trees;		/* directory fds served to the guest: each becomes a detached mount */
	unsigned ntrees;
	bool fs_threads;	/* share threads start between jail_apply() and jail_narrow() */
	unsigned extra_fds;	/* RLIMIT_NOFILE room they need */
	bool fs_id;		/* started as root: fs_uid/fs_gid stay the saved ids, for setfsuid */
	uid_t fs_uid;
	gid_t fs_gid;
};

/* How one layer went: err 0 when fully applied; detail says what or why not. */
struct jail_result {
	int err;
	char detail[JAIL_DETAIL];
};

struct jail_report {
	struct jail_result layer[JAIL_LAYERS];
};

struct vcpu;

int jail_set_mode(struct jail *j, const char *mode);
int jail_set_user(struct jail *j, const char *user);
int jail_apply(struct jail *j, struct jail_report *r, char *err, size_t errlen);
int jail_vcpu(struct vcpu *cpu);
int jail_narrow(void);
int jail_fs_thread(void);
const char *jail_layer_name(enum jail_layer l);
const char *jail_mode_name(enum jail_mode m);
int jail_check(const struct jail *j);
int jail_broker(enum jail_mode mode, char *detail, size_t len);
unsigned jail_broker_count(void);

#endif
