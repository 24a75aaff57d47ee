// SPDX-License-Identifier: MIT
/*
 * t_boot.c - boot_load_kernel() against synthetic bzImage headers and the
 * real build/bzImage: header checks, where the kernel, command line and
 * initrd land, boot_params, the e820 map, page tables and GDT.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <asm/bootparam.h>

#include "tap.h"
#include "fake.h"
#include "boot/boot.h"
#include "vmm/util.h"

#define SETUP_SECTS	4
#define SETUP_LEN	((SETUP_SECTS + 1) * 512)
#define CODE_LEN	8192
#define IMAGE_LEN	(SETUP_LEN + CODE_LEN)

static struct setup_header
good_header(void)
{
	return (struct setup_header){
		.setup_sects = SETUP_SECTS, .boot_flag = 0xAA55, .header = 0x53726448,
		.version = 0x020f, .loadflags = LOADED_HIGH, .xloadflags = XLF_KERNEL_64,
		.cmdline_size = 255, .initrd_addr_max = 0x7fffffff,
		.pref_address = 0x1000000, .init_size = 0x200000,
	};
}

/* A bzImage of @len bytes, in an allocation of exactly @len bytes. */
static uint8_t *
image(const struct setup_header *h, size_t len)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	memcpy(p + 0x1f1, h, MIN(sizeof(*h), len > 0x1f1 ? len - 0x1f1 : 0));
	return p;
}

static int
load(struct guest_mem *m, const struct setup_header *h, size_t len, const char *cmdline,
     const struct boot_blob *rd, unsigned n, struct boot_info *bi)
{
	uint8_t *img = image(h, len);
	int r = boot_load_kernel(m, img, len, cmdline, rd, n, bi);

	free(img);
	return r;
}

static void
test_refused(struct guest_mem *m)
{
	struct setup_header h;
	struct boot_info bi;
	static char longline[2100];
	static const struct { size_t len; int field; uint64_t val; const char *what; } t[] = {
		{ 0x24f, -1, 0, "image shorter than the boot sector" },
		{ 0x260, -1, 0, "image ending inside the setup header" },
		{ 0x26c, -1, 0, "image ending right after the setup header" },
		{ IMAGE_LEN, 0, 0xAA56, "bad boot flag" },
		{ IMAGE_LEN, 1, 0x53726449, "bad HdrS magic" },
		{ IMAGE_LEN, 2, 0x020b, "boot protocol 2.11" },
		{ IMAGE_LEN, 3, 0, "no 64-bit entry (xloadflags)" },
		{ IMAGE_LEN, 4, 0, "not loaded high" },
		{ IMAGE_LEN, 5, IMAGE_LEN / 512, "setup as long as the image" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		h = good_header();
		switch (t[i].field) {
		case 0: h.boot_flag = (uint16_t)t[i].val; break;
		case 1: h.header = (uint32_t)t[i].val; break;
		case 2: h.version = (uint16_t)t[i].val; break;
		case 3: h.xloadflags = 0; break;
		case 4: h.loadflags = 0; break;
		case 5: h.setup_sects = (uint8_t)t[i].val; break;
		}
		CHECK_INT(load(m, &h, t[i].len, "", NULL, 0, &bi), -ENOEXEC, "%s", t[i].what);
	}
	h = good_header();
	memset(longline, 'x', 255);
	CHECK_INT(load(m, &h, IMAGE_LEN, longline, NULL, 0, &bi), 0,
		  "command line of cmdline_size bytes");
	memset(longline, 'x', 256);
	CHECK_INT(load(m, &h, IMAGE_LEN, longline, NULL, 0, &bi), -E2BIG,
		  "command line over the kernel's cmdline_size");
	h.cmdline_size = 4095;
	memset(longline, 'x', BOOT_CMDLINE_MAX);
	CHECK_INT(load(m, &h, IMAGE_LEN, longline, NULL, 0, &bi), -E2BIG,
		  "command line over BOOT_CMDLINE_MAX");
	h = good_header();
	h.init_size = 64 * MIB;
	CHECK_INT(load(m, &h, IMAGE_LEN, "", NULL, 0, &bi), -ENOMEM,
		  "init_size larger than RAM");
	h = good_header();
	struct boot_blob big = { m->host, 48 * MIB };
	CHECK_INT(load(m, &h, IMAGE_LEN, "", &big, 1, &bi), -ENOMEM,
		  "initrd that would overlap the decompressed kernel");
}

static void
test_layout(struct guest_mem *m)
{
	struct setup_header h = good_header();
	struct boot_info bi;
	struct boot_blob rd[] = { { "abcde", 5 }, { "xyz", 3 }, { "", 0 }, { "1234", 4 } };
	static const uint8_t want_rd[] = "abcde\0\0\0xyz\0" "1234";
	uint8_t *img = image(&h, IMAGE_LEN);
	struct boot_params *bp = (struct boot_params *)(m->host + BOOT_PARAMS);
	static const struct boot_e820_entry e820[] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
		{ 0x100000, 63 * MIB, 1 },
	};
	uint64_t *pml4 = (uint64_t *)(m->host + BOOT_PML4), *pd = (uint64_t *)(m->host + BOOT_PD);
	uint64_t *gdt = (uint64_t *)(m->host + BOOT_GDT);
	bool pd_ok = true;

	memset(m->host, 0xcc, 2 * MIB);
	CHECK_INT(boot_load_kernel(m, img, IMAGE_LEN, "console=ttyS0 quiet", rd, 4, &bi), 0,
		  "a good image loads");
	CHECK_MEM(m->host + BOOT_KERNEL, img + SETUP_LEN, CODE_LEN,
		  "protected-mode code at 1 MiB, setup sectors skipped");
	CHECK_STR((char *)m->host + BOOT_CMDLINE, "console=ttyS0 quiet", "command line at 0x20000");
	CHECK(bi.entry == BOOT_KERNEL + 0x200 && bi.params == BOOT_PARAMS,
	      "entry startup_64 at 1 MiB + 0x200, boot_params at 0x7000");
	CHECK_U64(bi.initrd_len, sizeof(want_rd) - 1, "initrd: pieces padded to 4 bytes");
	CHECK_U64(bi.initrd, 64 * MIB - 4096, "initrd at the top of RAM, page aligned");
	CHECK_MEM(m->host + bi.initrd, want_rd, sizeof(want_rd) - 1, "initrd bytes, zero padded");

	CHECK(bp->hdr.boot_flag == 0xAA55 && bp->hdr.header == 0x53726448 &&
	      bp->hdr.init_size == 0x200000, "boot_params carries the image's setup header");
	CHECK(bp->hdr.type_of_loader == 0xff && bp->hdr.cmd_line_ptr == BOOT_CMDLINE &&
	      bp->hdr.ramdisk_image == bi.initrd && bp->hdr.ramdisk_size == bi.initrd_len,
	      "loader type, command line and initrd filled in");
	CHECK_INT(bp->e820_entries, ARRAY_SIZE(e820), "four e820 entries");
	CHECK_MEM(bp->e820_table, e820, sizeof(e820),
		  "e820: RAM to the EBDA, EBDA, MP table/BIOS, RAM from 1 MiB");
	CHECK(bp->ext_ramdisk_image == 0 && bp->screen_info.orig_video_isVGA == 0 &&
	      bp->acpi_rsdp_addr == 0, "the rest of boot_params is zero");

	CHECK(pml4[0] == (BOOT_PDPT | 3) && pml4[1] == 0, "PML4 maps the PDPT only");
	for (int i = 0; i < 4; i++)
		CHECK_U64(((uint64_t *)(m->host + BOOT_PDPT))[i], (BOOT_PD + 0x1000ULL * i) | 3,
			  "PDPT entry %d", i);
	for (uint64_t i = 0; i < 2048; i++)
		pd_ok &= pd[i] == (i << 21 | 0x83);
	CHECK(pd_ok, "2048 2 MiB pages identity-map 4 GiB");
	CHECK(gdt[0] == 0 && gdt[2] == 0x00af9b000000ffffULL && gdt[3] == 0x00cf93000000ffffULL,
	      "GDT: null, 64-bit code at 0x10, data at 0x18");

	h.initrd_addr_max = 32 * MIB - 1;
	memcpy(img + 0x1f1, &h, sizeof(h));
	CHECK_INT(boot_load_kernel(m, img, IMAGE_LEN, "", rd, 1, &bi), 0, "initrd_addr_max 32 MiB");
	CHECK_U64(bi.initrd, 32 * MIB - 4096, "initrd placed below initrd_addr_max");
	h = good_header();
	memcpy(img + 0x1f1, &h, sizeof(h));
	CHECK_INT(boot_load_kernel(m, img, IMAGE_LEN, "", &rd[2], 1, &bi), 0, "an empty initrd");
	CHECK(bi.initrd == 0 && bi.initrd_len == 0 && bp->hdr.ramdisk_image == 0 &&
	      bp->hdr.ramdisk_size == 0, "an empty initrd is no initrd: address and size 0");
	free(img);
}

/* RAM reaching past the MMIO hole: a fifth e820 entry above 4 GiB. */
static void
test_high(void)
{
	struct guest_mem m;
	struct setup_header h = good_header();
	struct boot_info bi;
	struct boot_params *bp;

	if (!CHECK_INT(mem_init(&m, MEM_HOLE_START + 64 * MIB), 0, "3.25 GiB + 64 MiB guest"))
		return;
	struct boot_blob rd = { "x", 1 };

	CHECK_INT(load(&m, &h, IMAGE_LEN, "", &rd, 1, &bi), 0, "loads");
	bp = (struct boot_params *)(m.host + BOOT_PARAMS);
	CHECK(bp->e820_entries == 5 && bp->e820_table[3].size == MEM_HOLE_START - BOOT_KERNEL &&
	      bp->e820_table[4].addr == MEM_HIGH_START && bp->e820_table[4].size == 64 * MIB &&
	      bp->e820_table[4].type == 1, "e820: low RAM to the hole, 64 MiB at 4 GiB");
	CHECK_U64(bi.initrd, 0x80000000 - 4096, "initrd below initrd_addr_max (2 GiB)");
	munmap(m.host, m.size);
}

static void
test_real(const char *path)
{
	struct guest_mem m;
	struct boot_info bi;
	struct boot_blob rd = { "07070100", 8 };
	struct stat st;
	uint8_t *img;
	int fd = open(path, O_RDONLY);
	const struct setup_header *h;

	if (fd < 0 || fstat(fd, &st)) {
		printf("ok %u # SKIP %s not built\n", ++tap_n, path);
		return;
	}
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	h = (const struct setup_header *)(img + 0x1f1);
	if (!CHECK_INT(mem_init(&m, 512 * MIB), 0, "512 MiB guest"))
		return;
	CHECK_INT(boot_load_kernel(&m, img, (size_t)st.st_size, "console=ttyS0", &rd, 1, &bi), 0,
		  "%s loads", path);
	CHECK_MEM(m.host + BOOT_KERNEL, img + (h->setup_sects + 1) * 512,
		  (size_t)st.st_size - (h->setup_sects + 1) * 512, "%s: kernel copied whole", path);
	CHECK(bi.initrd >= h->pref_address + h->init_size && bi.initrd + 8 <= 512 * MIB,
	      "initrd above the kernel's decompression area (%#llx >= %#llx)",
	      (unsigned long long)bi.initrd, (unsigned long long)(h->pref_address + h->init_size));
	munmap(m.host, m.size);
	munmap(img, (size_t)st.st_size);
}

int
main(int argc, char **argv)
{
	struct guest_mem m;

	if (fake_mem(&m, 64 * MIB))
		return 1;
	test_refused(&m);
	test_layout(&m);
	test_high();
	test_real(argc > 1 ? argv[1] : "build/bzImage");
	fake_mem_free(&m);
	return tap_done();
}
