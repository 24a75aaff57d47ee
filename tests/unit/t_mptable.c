// SPDX-License-Identifier: MIT
/*
 * t_mptable.c - the MP table as the guest kernel parses it (MP spec 1.4,
 * chapter 4): floating pointer, header, checksums and every entry.
 */
#include <errno.h>

#include "tap.h"
#include "fake.h"
#include "boot/boot.h"
#include "vmm/util.h"

static uint8_t
sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static uint32_t
u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t
u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Walk the entries; count those that are not what @ncpus CPUs need. */
static void
check_entries(const uint8_t *e, const uint8_t *end, unsigned ncpus)
{
	unsigned cpus = 0, buses = 0, ioapics = 0, pins = 0, lints = 0, wrong = 0;

	while (e < end) {
		switch (e[0]) {
		case 0:		/* processor: id, version, flags (enabled, BSP) */
			wrong += e[1] != cpus || !(e[3] & 1) || !!(e[3] & 2) != (cpus == 0);
			cpus++;
			e += 20;
			break;
		case 1:
			wrong += memcmp(e + 2, "ISA   ", 6) != 0;
			buses++;
			e += 8;
			break;
		case 2:		/* IOAPIC: id after the CPUs', enabled, address */
			wrong += e[1] != ncpus || !(e[3] & 1) || u32(e + 4) != IOAPIC_ADDR;
			ioapics++;
			e += 8;
			break;
		case 3:		/* INT on bus 0, ISA IRQ n -> IOAPIC pin n */
			wrong += e[1] != 0 || e[4] != 0 || e[5] != pins || e[6] != ncpus ||
				 e[7] != pins;
			pins++;
			e += 8;
			break;
		case 4:		/* ExtINT -> LINT0, NMI -> LINT1 of every LAPIC */
			wrong += e[1] != (lints ? 1 : 3) || e[6] != 0xff || e[7] != lints;
			lints++;
			e += 8;
			break;
		default:
			CHECK(0, "%u CPUs: unknown entry type %u", ncpus, e[0]);
			return;
		}
	}
	CHECK(e == end, "%u CPUs: entries end exactly at the table's length", ncpus);
	CHECK(cpus == ncpus && buses == 1 && ioapics == 1 && pins == IOAPIC_PINS && lints == 2,
	      "%u CPUs: %u cpu, %u bus, %u ioapic, %u intsrc, %u lint entries", ncpus, cpus,
	      buses, ioapics, pins, lints);
	CHECK_INT(wrong, 0, "%u CPUs: every entry's fields", ncpus);
}

int
main(void)
{
	static const unsigned counts[] = { 1, 2, 3, 64 };
	struct guest_mem m;

	if (fake_mem(&m, 2 * MIB))
		return 1;
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		unsigned n = counts[i];
		const uint8_t *mpf = m.host + BOOT_MPTABLE, *hdr = mpf + 16;
		uint16_t len;

		memset(m.host + BOOT_MPTABLE, 0xcc, 0x10000);
		CHECK_INT(boot_write_mptable(&m, n), 0, "%u CPUs: written", n);
		CHECK(!memcmp(mpf, "_MP_", 4) && u32(mpf + 4) == BOOT_MPTABLE + 16 && mpf[8] == 1 &&
		      mpf[9] == 4 && mpf[11] == 0, "%u CPUs: floating pointer, table right after it",
		      n);
		CHECK_INT(sum(mpf, 16), 0, "%u CPUs: floating pointer checksum", n);
		len = u16(hdr + 4);
		CHECK(!memcmp(hdr, "PCMP", 4) && hdr[6] == 4 && u32(hdr + 36) == LAPIC_ADDR,
		      "%u CPUs: header signature, revision, LAPIC address", n);
		CHECK_INT(len, 44 + 20 * n + 8 * (2 + IOAPIC_PINS + 2), "%u CPUs: table length", n);
		CHECK_INT(u16(hdr + 34), n + 2 + IOAPIC_PINS + 2, "%u CPUs: entry count", n);
		CHECK_INT(sum(hdr, len), 0, "%u CPUs: table checksum", n);
		CHECK(BOOT_MPTABLE + 16 + len <= BOOT_KERNEL, "%u CPUs: below 1 MiB", n);
		check_entries(hdr + 44, hdr + len, n);
	}
	memset(m.host + BOOT_MPTABLE, 0xcc, 16);
	CHECK_INT(boot_write_mptable(&m, 0), -EINVAL, "0 CPUs refused");
	CHECK_INT(boot_write_mptable(&m, 65), -EINVAL, "65 CPUs refused");
	CHECK_INT(m.host[BOOT_MPTABLE], 0xcc, "a refused table writes nothing");
	fake_mem_free(&m);

	CHECK_INT(fake_mem(&m, BOOT_MPTABLE + 64), 0, "a guest too small for the table");
	CHECK_INT(boot_write_mptable(&m, 1), -EINVAL, "is refused, not overrun");
	fake_mem_free(&m);
	return tap_done();
}
