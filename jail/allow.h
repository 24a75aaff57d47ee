/* SPDX-License-Identifier: MIT */
/*
 * allow.h - a seccomp allowlist entry, for filter.c (the VMM's and vCPUs'
 * lists) and broker.c (the broker's).
 */
#ifndef CAPSA_JAIL_ALLOW_H
#define CAPSA_JAIL_ALLOW_H

#include <sched.h>
#include <stddef.h>
#include <seccomp.h>
#include <linux/filter.h>

#include "../vmm/util.h"

/*
 * One allowed syscall: with any arguments (arg < 0), with argument @arg
 * equal to one of @vals, or (no @vals) with (@arg & @mask) == @eq.
 */
struct allow {
	int nr;
	int arg;
	const unsigned long *vals;
	unsigned nvals;
	unsigned long mask, eq;
};

/* SCMP_SYS(name) spelled out: musl #defines pread64 as pread. */
#define ANY(name)		{ __SNR_##name, -1, NULL, 0, 0, 0 }
#define ONE_OF(name, a, list)	{ __SNR_##name, a, list, ARRAY_SIZE(list), 0, 0 }
#define MASKED(name, a, m, v)	{ __SNR_##name, a, NULL, 0, m, v }

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
		  CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)

int filter_compile(const struct allow *list, size_t n, const struct allow *more, size_t nmore,
		   struct sock_fprog *prog);

#endif
