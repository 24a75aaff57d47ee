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
#define SERIAL_TAIL 2048

struct serial {
	pthread_mutex_t lock;
	struct vm *vm;
	int out_fd;		/* where kernel messages go, or -1 */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool thr_int;		/* "transmitter empty" interrupt pending */
	int irq_level;
	char line[256];
	unsigned line_len;
	char tail[SERIAL_TAIL];	/* the last messages, shown when boot fails */
	unsigned tail_len;
};

int serial_init(struct serial *s, struct vm *vm, int out_fd);
void serial_tail(struct serial *s, char *buf, unsigned size);
int i8042_init(struct vm *vm);

#endif
