// SPDX-License-Identifier: MIT
/*
 * kvm.c - create the VM: /dev/kvm, guest RAM, the in-kernel IOAPIC/LAPIC/PIT,
 * and the vCPUs with their CPUID and 64-bit boot state.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm.h"
#include "util.h"
#include "../boot/boot.h"

#define CPUID_MAX_ENTRIES 256
#define CPUID_HYPERVISOR (1U << 31)	/* leaf 1 ecx */
#define CPUID_TSC_DEADLINE (1U << 24)	/* leaf 1 ecx */

static int
set_memory(struct vm *vm)
{
	struct kvm_userspace_memory_region low = {
		.slot = 0, .guest_phys_addr = 0,
		.memory_size = vm->mem.low_end,
		.userspace_addr = (uintptr_t)vm->mem.host,
	};
	struct kvm_userspace_memory_region high = {
		.slot = 1, .guest_phys_addr = MEM_HIGH_START,
		.memory_size = vm->mem.size - vm->mem.low_end,
		.userspace_addr = (uintptr_t)vm->mem.host + vm->mem.low_end,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &low) < 0)
		return -errno;
	if (high.memory_size && ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &high) < 0)
		return -errno;
	return 0;
}

/*
 * The in-kernel IOAPIC, LAPICs and PIT: interrupts and timers never leave
 * the kernel, and irqfds can inject without a userspace round trip.
 */
static int
create_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	/* Intel needs these three pages somewhere outside RAM; AMD ignores them. */
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		return -errno;
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

static struct kvm_cpuid2 *
supported_cpuid(int kvm_fd)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
				      CPUID_MAX_ENTRIES * sizeof(c->entries[0]));

	if (!c)
		return NULL;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

/*
 * KVM emulates the TSC-deadline LAPIC timer everywhere but does not list
 * it as supported CPUID; offering it spares the guest calibrating the
 * LAPIC timer against the PIT at boot, which takes long in a VM.
 */
static bool
tsc_deadline(int kvm_fd)
{
	return ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
}

/*
 * Each vCPU reports its own APIC id in CPUID, matching the MP table, or the
 * guest kernel mixes CPUs up.
 */
static int
set_cpuid(struct vcpu *cpu, const struct kvm_cpuid2 *base)
{
	size_t size = sizeof(*base) + base->nent * sizeof(base->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	int err = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, base, size);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1) {
			e->ebx = (e->ebx & 0x0000ffff) | (cpu->id << 24) |
				 (cpu->vm->ncpus << 16);
			e->ecx |= CPUID_HYPERVISOR;
			if (tsc_deadline(cpu->vm->kvm_fd))
				e->ecx |= CPUID_TSC_DEADLINE;
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = cpu->id;
		}
	}
	if (ioctl(cpu->fd, KVM_SET_CPUID2, c) < 0)
		err = -errno;
	free(c);
	return err;
}

static int
create_vcpu(struct vm *vm, unsigned id, long run_size, const struct kvm_cpuid2 *cpuid)
{
	struct vcpu *cpu = &vm->vcpus[id];

	cpu->vm = vm;
	cpu->id = id;
	cpu->last_exit = UINT32_MAX;
	cpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (cpu->fd < 0)
		return -errno;
	cpu->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu->fd, 0);
	if (cpu->run == MAP_FAILED)
		return -errno;
	return set_cpuid(cpu, cpuid);
}

static int
fail(struct vm *vm, const char *step, int err)
{
	snprintf(vm->end_msg, sizeof(vm->end_msg), "%s: %s", step, strerror(-err));
	return err;
}

/*
 * A paravirtual nested KVM (PVM, the kvm_pvm module) offers /dev/kvm on
 * CPUs without VMX or SVM, but it only runs kernels built for it: an
 * ordinary guest kernel crawls through instruction emulation and then
 * fails. Refuse it up front instead of after half a minute.
 */
static bool
kvm_is_paravirtual(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static int
open_kvm(struct vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0 && errno == ENOENT)
		return fail(vm, "no /dev/kvm: this machine has no KVM (or it is not passed through)", -ENOENT);
	if (vm->kvm_fd < 0)
		return fail(vm, "cannot open /dev/kvm", -errno);
	if (kvm_is_paravirtual())
		return fail(vm, "this host's KVM is a paravirtual nested KVM (kvm_pvm) that cannot "
			    "run an unmodified guest kernel", -ENOTSUP);
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return fail(vm, "/dev/kvm", -ENOTSUP);
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return fail(vm, "KVM_CREATE_VM", -errno);
	return 0;
}

static void
on_kick(int sig)
{
	(void)sig;
}

/**
 * vm_create() - open /dev/kvm and build a VM with RAM, irqchip and vCPUs.
 * @vm:        zeroed, filled in.
 * @mem_bytes: guest RAM, a multiple of 2 MiB.
 * @ncpus:     vCPUs, 1..VM_MAX_CPUS.
 *
 * Return: 0 or -errno; vm->end_msg then names the step that failed.
 */
int
vm_create(struct vm *vm, uint64_t mem_bytes, unsigned ncpus)
{
	struct kvm_cpuid2 *cpuid;
	long run_size;
	int err;

	vm->ncpus = ncpus;
	/* Before the jail (no sigaction after it): a kick only interrupts KVM_RUN. */
	sigaction(VCPU_KICK_SIGNAL, &(struct sigaction){ .sa_handler = on_kick }, NULL);
	vm->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->end_fd < 0)
		return fail(vm, "eventfd", -errno);
	err = open_kvm(vm);
	if (err)
		return err;
	err = mem_init(&vm->mem, mem_bytes);
	if (err)
		return fail(vm, "cannot reserve guest memory", err);
	err = set_memory(vm);
	if (err)
		return fail(vm, "KVM_SET_USER_MEMORY_REGION", err);
	err = create_irqchip(vm);
	if (err)
		return fail(vm, "KVM irqchip", err);
	run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	cpuid = supported_cpuid(vm->kvm_fd);
	if (run_size <= 0 || !cpuid)
		return fail(vm, "KVM_GET_SUPPORTED_CPUID", -errno ? -errno : -EIO);
	for (unsigned i = 0; i < ncpus && !err; i++)
		err = create_vcpu(vm, i, run_size, cpuid);
	free(cpuid);
	return err ? fail(vm, "KVM_CREATE_VCPU", err) : 0;
}

/*
 * LINT0 delivers the legacy PIC (ExtINT) and LINT1 NMIs, the wiring the
 * MP table describes; the kernel expects firmware to have set this up.
 */
static int
set_lint(struct vcpu *cpu)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0 = (uint32_t *)&lapic.regs[0x350];
	uint32_t *lvt1 = (uint32_t *)&lapic.regs[0x360];

	if (ioctl(cpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	*lvt0 = (*lvt0 & ~0x700U) | (7U << 8);	/* delivery mode ExtINT */
	*lvt1 = (*lvt1 & ~0x700U) | (4U << 8);	/* delivery mode NMI */
	if (ioctl(cpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

static void
set_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = !code, .s = 1, .l = code, .g = 1,
	};
}

/**
 * vm_boot_cpu() - put vCPU 0 in 64-bit mode at the kernel's entry point.
 * @vm:     the VM, with page tables and GDT already in memory.
 * @entry:  startup_64.
 * @params: boot_params, passed in rsi.
 *
 * The other vCPUs stay in their reset state until the kernel sends them
 * INIT/SIPI through the in-kernel LAPIC.
 *
 * Return: 0 or -errno.
 */
int
vm_boot_cpu(struct vm *vm, uint64_t entry, uint64_t params)
{
	struct vcpu *cpu = &vm->vcpus[0];
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry, .rsi = params, .rflags = 2,
		.rsp = BOOT_STACK, .rbp = BOOT_STACK,
	};
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	for (unsigned i = 0; i < vm->ncpus; i++)
		if (set_lint(&vm->vcpus[i]) < 0)
			return fail(vm, "KVM_SET_LAPIC", -errno);
	if (ioctl(cpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return fail(vm, "KVM_GET_SREGS", -errno);
	set_segment(&sregs.cs, BOOT_CS, 0xb, 1);
	set_segment(&sregs.ds, BOOT_DS, 0x3, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .selector = BOOT_TSS, .limit = 0x67,
					 .type = 0xb, .present = 1 };
	sregs.gdt.base = BOOT_GDT;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr3 = BOOT_PML4;
	sregs.cr4 = 1U << 5;				/* PAE */
	sregs.cr0 = (1U << 0) | (1U << 4) | (1U << 31);	/* PE, ET, PG */
	sregs.efer = (1U << 8) | (1U << 10);		/* LME, LMA */
	if (ioctl(cpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return fail(vm, "KVM_SET_SREGS", -errno);
	if (ioctl(cpu->fd, KVM_SET_REGS, &regs) < 0)
		return fail(vm, "KVM_SET_REGS", -errno);
	if (ioctl(cpu->fd, KVM_SET_FPU, &fpu) < 0)
		return fail(vm, "KVM_SET_FPU", -errno);
	return 0;
}

/**
 * vm_irq_line() - set the level of an IOAPIC pin (edge devices pulse it).
 *
 * Return: 0 or -errno.
 */
int
vm_irq_line(struct vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	return ioctl(vm->fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

/**
 * vm_stop() - end the VM: record why and wake the event loop.
 * @vm:  the VM.
 * @why: the reason; only the first call's reason and message are kept.
 * @fmt: a message for VM_FAILED and VM_PANIC, or NULL.
 *
 * Safe from any thread.
 */
void
vm_stop(struct vm *vm, enum vm_end why, const char *fmt, ...)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;
	va_list ap;

	if (!atomic_compare_exchange_strong(&vm->end, &expected, (int)why))
		return;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(vm->end_msg, sizeof(vm->end_msg), fmt, ap);
		va_end(ap);
	}
	(void)!write(vm->end_fd, &one, sizeof(one));
}

/**
 * vm_start() - start one thread per vCPU.
 *
 * Return: 0 or -errno.
 */
int
vm_start(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int err = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_main,
					 &vm->vcpus[i]);
		if (err)
			return fail(vm, "cannot start vCPU thread", -err);
	}
	return 0;
}

/*
 * The IOAPIC pins of the devices, as KVM has them: a pin masked, stuck
 * with remote IRR set (a level interrupt never EOIed) or pending in IRR
 * tells a lost interrupt from a guest that died.
 */
static void
dump_ioapic(struct vm *vm, unsigned first, unsigned n)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	const struct kvm_ioapic_state *io = &chip.chip.ioapic;

	if (ioctl(vm->fd, KVM_GET_IRQCHIP, &chip) < 0) {
		log_state("ioapic: %s", strerror(errno));
		return;
	}
	for (unsigned pin = first; pin < first + n && pin < KVM_IOAPIC_NUM_PINS; pin++) {
		uint64_t e = io->redirtbl[pin].bits;

		log_state("ioapic pin %u: vector %llu%s%s%s%s", pin,
			  (unsigned long long)(e & 0xff), e >> 16 & 1 ? " masked" : "",
			  e >> 15 & 1 ? " level" : " edge", e >> 14 & 1 ? " remote-irr" : "",
			  io->irr >> pin & 1 ? " pending" : "");
	}
}

static bool
dump_pending(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (atomic_load(&vm->vcpus[i].dump_req))
			return true;
	return false;
}

/**
 * vm_dump() - say how far each vCPU got and how the devices' pins stand.
 * @vm:        the VM.
 * @first_pin: the first IOAPIC pin to show.
 * @npins:     how many.
 *
 * For SIGUSR1: a run that seems stuck is asked what it waits for. Never
 * touches a vCPU fd: KVM_RUN holds it, and the loop would wait too; each
 * vCPU thread is kicked out of KVM_RUN to report itself (vcpu_dump()).
 */
void
vm_dump(struct vm *vm, unsigned first_pin, unsigned npins)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		uint32_t last = atomic_load(&vm->vcpus[i].last_exit);

		if (last == UINT32_MAX) {
			log_state("vcpu%u: not run yet", i);
			continue;
		}
		log_state("vcpu%u: %llu exits, the last one reason %u", i,
			  (unsigned long long)atomic_load(&vm->vcpus[i].exits), last);
		/* Its own thread reports the rest (KVM_RUN holds the vCPU fd). */
		atomic_store(&vm->vcpus[i].dump_req, true);
	}
	vm_kick(vm);
	dump_ioapic(vm, first_pin, npins);
	/* Up to a second for their reports: a dump before capsa stops must
	 * not lose the one vCPU that was busy in the guest. */
	for (int tries = 0; tries < 100 && dump_pending(vm); tries++)
		poll(NULL, 0, 10);
}

/**
 * vm_kick() - make every vCPU leave KVM_RUN once (to report itself).
 * @vm: the VM.
 *
 * Not used against lost interrupts: in the emulated KVM host, kicking once
 * a second while a hostile guest left an interrupt unacknowledged crashed
 * the emulated host's own kernel (its stack guard page hit in error_entry,
 * on the vCPU thread) in both runs of t_hostile that did, and in none of
 * those that did not.
 */
void
vm_kick(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		int tid = atomic_load(&vm->vcpus[i].tid);

		/* tgkill, not pthread_kill (musl's tkill could reach any thread). */
		if (tid)
			syscall(SYS_tgkill, getpid(), tid, VCPU_KICK_SIGNAL);
	}
}
