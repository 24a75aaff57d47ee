/* SPDX-License-Identifier: MIT */
/*
 * console.h - virtio-console: the guest kernel's log (hvc0) with --verbose.
 */
#ifndef CAPSA_CONSOLE_H
#define CAPSA_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct klog;
struct console_dev;

struct console_dev *console_create(struct vm *vm, uint64_t base, unsigned irq,
				   struct klog *log);
bool console_up(struct console_dev *d);

#endif
