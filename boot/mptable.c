// SPDX-License-Identifier: MIT
/*
 * mptable.c - the Intel MultiProcessor table: without ACPI it is how the
 * guest kernel finds its CPUs and the IOAPIC the virtio interrupts go to.
 * Layout from the MP specification 1.4, chapter 4.
 */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "../vmm/util.h"

#define MP_MAX_CPUS 64

struct mpf {			/* floating pointer structure */
	char sig[4];
	uint32_t physptr;
	uint8_t length;		/* in 16-byte units */
	uint8_t specrev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_header {		/* configuration table header */
	char sig[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t count;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {		/* also used for local interrupt entries */
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

enum { MP_CPU, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_IRQ_INT, MP_IRQ_NMI, MP_IRQ_SMI, MP_IRQ_EXTINT };

static uint8_t
checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static uint8_t *
put(uint8_t *p, const void *entry, size_t len, uint16_t *count)
{
	memcpy(p, entry, len);
	++*count;
	return p + len;
}

/**
 * boot_write_mptable() - describe @ncpus CPUs, one ISA bus and one IOAPIC.
 * @m:     guest memory.
 * @ncpus: vCPUs, with APIC ids 0..ncpus-1; the IOAPIC takes id ncpus.
 *
 * Every IOAPIC pin is wired 1:1 to the ISA IRQ of the same number, which is
 * how the interrupts on the virtio_mmio.device= command line are routed.
 *
 * Return: 0, or -EINVAL for an unsupported CPU count.
 */
int
boot_write_mptable(struct guest_mem *m, unsigned ncpus)
{
	size_t max = sizeof(struct mpf) + sizeof(struct mpc_header) +
		     MP_MAX_CPUS * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
		     sizeof(struct mpc_ioapic) + (IOAPIC_PINS + 2) * sizeof(struct mpc_intsrc);
	uint8_t *base = mem_ptr(m, BOOT_MPTABLE, max), *p;
	struct mpf *mpf;
	struct mpc_header *hdr;
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint16_t count = 0;

	if (!base || ncpus == 0 || ncpus > MP_MAX_CPUS)
		return -EINVAL;
	mpf = (struct mpf *)base;
	hdr = (struct mpc_header *)(mpf + 1);
	p = (uint8_t *)(hdr + 1);
	memset(base, 0, max);
	memcpy(hdr->sig, "PCMP", 4);
	hdr->spec = 4;
	memcpy(hdr->oem, "CAPSA   ", 8);
	memcpy(hdr->product, "MICROVM     ", 12);
	hdr->lapic = LAPIC_ADDR;

	for (unsigned i = 0; i < ncpus; i++) {
		struct mpc_cpu c = {
			.type = MP_CPU, .apicid = (uint8_t)i, .apicver = 0x14,
			.cpuflag = 1 | (i == 0 ? 2 : 0),	/* enabled, boot CPU */
			.cpufeature = 0x600, .featureflag = 0x201,	/* APIC, FPU */
		};
		p = put(p, &c, sizeof(c), &count);
	}
	p = put(p, &(struct mpc_bus){ .type = MP_BUS, .bustype = "ISA   " },
		sizeof(struct mpc_bus), &count);
	p = put(p, &(struct mpc_ioapic){ .type = MP_IOAPIC, .apicid = ioapic_id,
		.apicver = 0x11, .flags = 1, .apicaddr = IOAPIC_ADDR },
		sizeof(struct mpc_ioapic), &count);
	for (uint8_t pin = 0; pin < IOAPIC_PINS; pin++) {
		struct mpc_intsrc s = { .type = MP_INTSRC, .irqtype = MP_IRQ_INT,
			.srcbusirq = pin, .dstapic = ioapic_id, .dstirq = pin };
		p = put(p, &s, sizeof(s), &count);
	}
	p = put(p, &(struct mpc_intsrc){ .type = MP_LINTSRC, .irqtype = MP_IRQ_EXTINT,
		.dstapic = 0xff, .dstirq = 0 }, sizeof(struct mpc_intsrc), &count);
	p = put(p, &(struct mpc_intsrc){ .type = MP_LINTSRC, .irqtype = MP_IRQ_NMI,
		.dstapic = 0xff, .dstirq = 1 }, sizeof(struct mpc_intsrc), &count);
	hdr->count = count;
	hdr->length = (uint16_t)(p - (uint8_t *)hdr);
	hdr->checksum = checksum(hdr, hdr->length);

	memcpy(mpf->sig, "_MP_", 4);
	mpf->physptr = BOOT_MPTABLE + sizeof(*mpf);
	mpf->length = 1;
	mpf->specrev = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}
