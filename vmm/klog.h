/* SPDX-License-Identifier: MIT */
/*
 * klog.h - the guest kernel's log, whichever console carries it (the 8250
 * early on and without --verbose, virtio-console with it): shown with
 * --verbose, its tail kept for error reports, watched for a panic.
 */
#ifndef CAPSA_KLOG_H
#define CAPSA_KLOG_H

#include <pthread.h>
#include <stddef.h>

struct vm;

#define KLOG_TAIL 2048

struct klog {
	pthread_mutex_t lock;
	struct vm *vm;
	int out_fd;			/* where complete lines go, or -1 */
	char line[256];
	unsigned line_len;
	char tail[KLOG_TAIL];		/* the last messages, shown when boot fails */
	unsigned tail_len;
};

void klog_init(struct klog *k, struct vm *vm, int out_fd);
void klog_write(struct klog *k, const void *buf, size_t len);
void klog_tail(struct klog *k, char *buf, unsigned size);

#endif
