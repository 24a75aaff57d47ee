/* SPDX-License-Identifier: MIT */
/*
 * serial.h - an 8250 UART at COM1 for the guest kernel's messages, and the
 * i8042 keyboard controller's reset line.
 */
#ifndef CAPSA_SERIAL_H
#define CAPSA_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;

#define SERIAL_PORT 0x3f8
#define SERIAL_IRQ 4
struct klog;

struct serial {
	pthread_mutex_t lock;
	struct vm *vm;
	struct klog *log;	/* where the bytes go */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool thr_int;		/* "transmitter empty" interrupt pending */
	int irq_level;
};

int serial_init(struct serial *s, struct vm *vm, struct klog *log);
int i8042_init(struct vm *vm);

#endif
