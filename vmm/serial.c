// SPDX-License-Identifier: MIT
/*
 * serial.c - a transmit-only 8250 UART: the guest kernel's console without
 * --verbose (it then prints only a panic) and its early console with it,
 * until virtio-console takes over; the bytes go to the kernel log (klog.c).
 * Transmission is instant, so the "transmitter empty" interrupt is pending
 * whenever the guest enables it.
 */
#include <string.h>
#include <unistd.h>

#include "klog.h"
#include "serial.h"
#include "util.h"
#include "vm.h"

enum { RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define LCR_DLAB	0x80
#define IER_THRI	0x02
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define LSR_TEMT_THRE	0x60
#define MSR_DCD_DSR_CTS	0xb0

static void
update_irq(struct serial *s)
{
	int level = (s->ier & IER_THRI) && s->thr_int;

	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vm, SERIAL_IRQ, level);
	}
}

static uint8_t
serial_read(struct serial *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case RBR_THR:	return dlab ? s->dll : 0;
	case IER:	return dlab ? s->dlm : s->ier;
	case IIR_FCR:
		v = (s->ier & IER_THRI) && s->thr_int ? IIR_THRI : IIR_NONE;
		if (v == IIR_THRI)
			s->thr_int = false;	/* reading IIR acknowledges THRI */
		return v | 0xc0;		/* FIFOs enabled */
	case LCR:	return s->lcr;
	case MCR:	return s->mcr;
	case LSR:	return LSR_TEMT_THRE;
	case MSR:	return MSR_DCD_DSR_CTS;
	default:	return s->scr;
	}
}

static void
serial_write(struct serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case RBR_THR:
		if (dlab) {
			s->dll = v;
		} else {
			klog_write(s->log, &v, 1);
			s->thr_int = true;
		}
		break;
	case IER:
		if (dlab) {
			s->dlm = v;
		} else {
			/* Enabling THRI with an empty THR raises it at once. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thr_int = true;
			s->ier = v & 0x0f;
		}
		break;
	case LCR:	s->lcr = v; break;
	case MCR:	s->mcr = v; break;
	case SCR:	s->scr = v; break;
	default:	break;			/* FCR, LSR, MSR: nothing to do */
	}
}

static int
serial_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len && off + i < 8; i++) {
		if (write)
			serial_write(s, (unsigned)off + i, data[i]);
		else
			data[i] = serial_read(s, (unsigned)off + i);
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/**
 * serial_init() - attach the UART at COM1.
 * @s:   zeroed.
 * @vm:  the VM.
 * @log: where the bytes the guest sends go.
 *
 * Return: 0 or -errno.
 */
int
serial_init(struct serial *s, struct vm *vm, struct klog *log)
{
	pthread_mutex_init(&s->lock, NULL);
	s->vm = vm;
	s->log = log;
	return bus_add(&vm->pio, SERIAL_PORT, 8, serial_access, s);
}

/*
 * The i8042 is here only for its reset line: `reboot=k` makes the guest
 * write 0xfe to port 0x64, which ends the VM. Its status register reads 0
 * (no data, input buffer empty) so the guest never waits on it.
 */
static int
i8042_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
	struct vm *vm = opaque;

	if (!write) {
		memset(data, 0, len);
		return 0;
	}
	if (off == 4 && data[0] == 0xfe) {
		vm_stop(vm, VM_RESET, NULL);
		return -1;
	}
	return 0;
}

/**
 * i8042_init() - attach the keyboard controller's ports 0x60 and 0x64.
 *
 * Return: 0 or -errno.
 */
int
i8042_init(struct vm *vm)
{
	return bus_add(&vm->pio, 0x60, 5, i8042_access, vm);
}
