// SPDX-License-Identifier: MIT
/*
 * mkrun - the initramfs capsa would give its guest, for another VMM.
 *
 *   mkrun BASE OUT [CAPSA OPTIONS] -- CMD [ARG...]
 *
 * Writes BASE (capsa's embedded initramfs, build/initramfs.cpio) and then
 * the per-run cpio for the command, each padded to 4 bytes, to OUT: the
 * same bytes capsa's loader puts in guest memory (boot/loader.c,
 * place_initrd). The run cpio comes from capsa's own code: its option
 * parser and payload_build(), linked in from capsa's objects, so --copy,
 * -e, -w and the rest mean exactly what they mean to capsa. No terminal:
 * as for capsa with stdout not a terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/payload.h"
#include "vmm/options.h"

static int
put(FILE *out, const void *buf, size_t len)
{
	static const char zero[4];

	if (fwrite(buf, 1, len, out) != len)
		return -1;
	return fwrite(zero, 1, (4 - len % 4) % 4, out) == (4 - len % 4) % 4 ? 0 : -1;
}

static void *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "mkrun: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

int
main(int argc, char **argv)
{
	struct capsa_config cfg;
	struct cpio run = { 0 };
	const char *path;
	char err[512];
	size_t blen;
	void *base;
	FILE *out;

	if (argc < 5) {
		fprintf(stderr, "usage: mkrun BASE OUT [CAPSA OPTIONS] -- CMD [ARG...]\n");
		return 2;
	}
	base = slurp(argv[1], &blen);
	path = argv[2];
	argv[2] = (char *)"capsa";		/* options_parse() skips argv[0] */
	if (options_parse(&cfg, argc - 2, argv + 2, err, sizeof(err)) < 0 ||
	    payload_build(&cfg, false, 0, 0, &run, err, sizeof(err)) < 0) {
		fprintf(stderr, "mkrun: %s\n", err);
		return 1;
	}
	out = fopen(path, "wb");
	if (!out || put(out, base, blen) < 0 || put(out, run.buf, run.len) < 0 || fclose(out)) {
		fprintf(stderr, "mkrun: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}
