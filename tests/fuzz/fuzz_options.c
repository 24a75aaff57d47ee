// SPDX-License-Identifier: MIT
/*
 * fuzz_options.c - options_parse() on any argv: the input, split at NUL
 * bytes, is capsa's argv after its name.
 *
 * Oracle: a failure leaves a non-empty message that fits the buffer; a
 * run's command starts right after the first "--", is non-empty and
 * NULL-terminated; every value is within its documented range; every
 * environment entry is KEY=VALUE with a non-empty key.
 * --env-file has its own harness (fuzz_envfile): here it could name any
 * file, /dev/stdin included, so inputs that use it are skipped.
 *
 * fuzz-sources: vmm/options.c vmm/shebang.c vmm/util.c
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/options.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setenv("FUZZ_HOST", "host value", 1);
	return 0;
}

static void
check_run(const struct capsa_config *c, char **argv, int argc)
{
	int dashdash = 1;

	while (dashdash < argc && strcmp(argv[dashdash], "--"))
		dashdash++;
	REQUIRE(c->argv == argv + dashdash + 1 && c->argc == argc - dashdash - 1);
	REQUIRE(c->argc >= 1 && c->argv[0][0] && c->argv[c->argc] == NULL);
	REQUIRE(c->cpus >= 1 && c->cpus <= MAX_CPUS);
	REQUIRE(c->memory_mib >= MIN_MEMORY_MIB && c->memory_mib <= MAX_MEMORY_MIB);
	REQUIRE(c->timeout_s <= 1U << 30);
	REQUIRE(!c->workdir || c->workdir[0] == '/');
	REQUIRE(c->tty == TTY_AUTO || c->tty == TTY_FORCE || c->tty == TTY_NEVER);
	for (unsigned i = 0; i < c->env.n; i++) {
		const char *eq = strchr(c->env.v[i], '=');

		REQUIRE(eq && eq > c->env.v[i]);
	}
	REQUIRE(c->env.n == 0 || c->env.v[c->env.n] == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2], err[128];
	struct capsa_config c;
	int argc = 1, r;

	memcpy(buf, data, size);
	buf[size] = 0;
	argv[0] = "capsa";
	for (char *p = buf; p <= buf + size && argc <= MAX_ARGS; p += strlen(p) + 1) {
		if (!strncmp(p, "--env-file", 10))
			goto out;
		argv[argc++] = p;
	}
	argv[argc] = NULL;
	memset(err, 0x55, sizeof(err));
	r = options_parse(&c, argc, argv, err, sizeof(err));
	if (r < 0) {
		REQUIRE(r == -1 && err[0] && memchr(err, 0, sizeof(err)));
	} else {
		REQUIRE(r == 0);
		if (c.action == ACT_RUN)
			check_run(&c, argv, argc);
		else
			REQUIRE(c.action == ACT_HELP || c.action == ACT_VERSION);
	}
	free(c.env.v);
out:
	free(buf);
	return 0;
}
