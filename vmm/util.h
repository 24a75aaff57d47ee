/* SPDX-License-Identifier: MIT */
/*
 * util.h - small helpers shared by every part of capsa.
 *
 * Error convention: helpers return 0 (or a count) on success and -errno on
 * failure; only capsa.c turns an error into a message and an exit status.
 */
#ifndef CAPSA_UTIL_H
#define CAPSA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a) - 1, (a))
#define KIB 1024ULL
#define MIB (1024ULL * KIB)
#define GIB (1024ULL * MIB)

/* Exit statuses of capsa itself (docker/podman/env conventions). */
enum {
	EXIT_CAPSA = 125,	/* capsa failed: bad flag, no KVM, boot failure */
	EXIT_NOEXEC = 126,	/* command found but not executable */
	EXIT_NOTFOUND = 127,	/* command not found */
	EXIT_TIMEOUT = 124,	/* --timeout expired (GNU timeout) */
};

extern int log_verbose;

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_state(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);
double now_ms(void);

int errmsg(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int write_all(int fd, const void *buf, size_t len);
int path_absolute(const char *path, char *out, size_t len);

#endif
