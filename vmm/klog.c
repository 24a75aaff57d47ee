// SPDX-License-Identifier: MIT
/*
 * klog.c - the guest kernel's log: bytes from a console become lines on
 * stderr (with --verbose), the last KLOG_TAIL bytes are kept for the error
 * report when the guest dies, and a panic line ends the VM at once (the
 * kernel would otherwise wait for panic= or hang).
 */
#include <string.h>
#include <unistd.h>

#include "klog.h"
#include "util.h"
#include "vm.h"

static void
keep_tail(struct klog *k, const char *p, unsigned n)
{
	if (n >= KLOG_TAIL) {
		p += n - KLOG_TAIL;
		n = KLOG_TAIL;
	}
	if (k->tail_len + n > KLOG_TAIL) {
		unsigned drop = k->tail_len + n - KLOG_TAIL;

		memmove(k->tail, k->tail + drop, k->tail_len - drop);
		k->tail_len -= drop;
	}
	memcpy(k->tail + k->tail_len, p, n);
	k->tail_len += n;
}

static void
end_line(struct klog *k)
{
	k->line[k->line_len++] = '\n';
	if (k->out_fd >= 0)
		(void)!write(k->out_fd, k->line, k->line_len);
	keep_tail(k, k->line, k->line_len);
	k->line[k->line_len - 1] = 0;
	if (strstr(k->line, "Kernel panic - not syncing"))
		vm_stop(k->vm, VM_PANIC, "guest kernel panicked");
	k->line_len = 0;
}

/**
 * klog_init() - an empty log.
 * @k:      the log.
 * @vm:     the VM a panic line stops.
 * @out_fd: where complete lines go, or -1.
 */
void
klog_init(struct klog *k, struct vm *vm, int out_fd)
{
	pthread_mutex_init(&k->lock, NULL);
	k->vm = vm;
	k->out_fd = out_fd;
}

/**
 * klog_write() - bytes the guest kernel printed, any amount, any bytes.
 *
 * Carriage returns are dropped; a line longer than the buffer is cut in
 * pieces. Safe from any thread.
 */
void
klog_write(struct klog *k, const void *buf, size_t len)
{
	const char *p = buf;

	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r')
			continue;
		if (p[i] != '\n')
			k->line[k->line_len++] = p[i];
		if (p[i] == '\n' || k->line_len == sizeof(k->line) - 2)
			end_line(k);
	}
	pthread_mutex_unlock(&k->lock);
}

/**
 * klog_tail() - the last kernel messages, NUL-terminated.
 * @k:    the log.
 * @buf:  destination.
 * @size: its size, at least 1.
 */
void
klog_tail(struct klog *k, char *buf, unsigned size)
{
	unsigned n;

	pthread_mutex_lock(&k->lock);
	n = MIN(size - 1, k->tail_len);
	memcpy(buf, k->tail + k->tail_len - n, n);
	buf[n] = 0;
	pthread_mutex_unlock(&k->lock);
}
