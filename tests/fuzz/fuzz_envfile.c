// SPDX-License-Identifier: MIT
/*
 * fuzz_envfile.c - --env-file on any file contents.
 *
 * The input is the file (a memfd). Oracle: a model of the documented
 * format - one KEY=VALUE or KEY (the host's value) per line, '#' comments
 * and empty lines skipped, a line's text ending at a NUL byte - must give
 * exactly the environment options_parse() built, in order, after the -e
 * given before the file; or both must fail (options_parse() naming the
 * file in its message).
 * Runs without LeakSanitizer: lines naming a host variable, and the line
 * that fails, are strdup()ed and then dropped by design (see
 * tests/unit/lsan.supp); the harness frees every other copy.
 *
 * fuzz-sources: vmm/options.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/options.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setenv("FUZZ_HOST", "host value", 1);
	return 0;
}

/*
 * The model: compare line by line with what options_parse() produced.
 * Return: entries matched, or -1 where the model says the file fails.
 */
static int
model(const uint8_t *data, size_t size, const struct strlist *env)
{
	int n = 0;

	for (size_t at = 0; at < size;) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t end = nl ? (size_t)(nl - data) : size;
		char *line = strndup((const char *)data + at, end - at);	/* stops at NUL */
		const char *eq = strchr(line, '=');

		if (end > at && data[at] != '#') {
			const char *host = eq ? "" : getenv(line);
			char *want;

			if (eq == line || !line[0] || !host) {
				free(line);
				return -1;
			}
			want = malloc(strlen(line) + strlen(host) + 2);
			sprintf(want, eq ? "%s" : "%s=%s", line, host);
			REQUIRE(1 + (unsigned)n < env->n && !strcmp(env->v[1 + n], want));
			free(want);
			n++;
		}
		free(line);
		at = end + 1;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	struct capsa_config c;
	int fd = memfd_create("env", MFD_CLOEXEC), r, n;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	char *argv[] = { "capsa", "-e", "PRE=1", "--env-file", path, "--", "x", NULL };

	r = options_parse(&c, 7, argv, err, sizeof(err));
	close(fd);
	n = model(data, size, &c.env);
	if (r < 0)
		REQUIRE(n < 0 && !strncmp(err, "--env-file ", 11) && strstr(err, path));
	else
		REQUIRE(n >= 0 && c.env.n == 1 + (unsigned)n);
	REQUIRE(c.env.n >= 1 && !strcmp(c.env.v[0], "PRE=1"));
	/* Free the lines options_parse() copied, not the host's environ. */
	for (unsigned i = 1; i < c.env.n; i++) {
		char *e = c.env.v[i], *eq = strchr(e, '='), *key = strndup(e, eq - e);
		const char *host = getenv(key);

		if (!host || e != host - (eq - e) - 1)
			free(e);
		free(key);
	}
	free(c.env.v);
	return 0;
}
