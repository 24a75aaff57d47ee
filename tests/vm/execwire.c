// SPDX-License-Identifier: MIT
/*
 * execwire - the `capsa exec` protocol spoken without capsa's code, as any
 * other program would speak it from README's description alone: proof that
 * a small client can drive a sandbox, and the tool that sends it bad input.
 *
 *   execwire run PATH ARG...     run ARG... with stdin forwarded; its
 *                                stdout and stderr on ours; exit with its status
 *   execwire raw PATH HELLO HEX  send the line HELLO (\n added), then the
 *                                bytes HEX; print what comes back, one line
 *                                each: "OK 1", "STDOUT <n>", "ERROR <text>",
 *                                "EXIT <n>", "CLOSED"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
dial(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	strncpy(a.sun_path, path, sizeof(a.sun_path) - 1);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror(path);
		exit(125);
	}
	return s;
}

static int
get(int s, void *buf, size_t n)		/* exactly n bytes, or 0 at the end */
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(s, (char *)buf + got, n - got);
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	return 1;
}

static void
put(int s, uint8_t type, const void *data, uint32_t len)
{
	uint8_t hdr[5] = { type, len, len >> 8, len >> 16, len >> 24 };

	if (write(s, hdr, 5) != 5 || (len && write(s, data, len) != (ssize_t)len))
		exit(125);
}

/* The next frame: its type, its payload in buf (up to 65536 + 1), its length. */
static int
frame(int s, uint8_t *buf, uint32_t *len)
{
	uint8_t hdr[5];

	if (!get(s, hdr, 5))
		return -1;
	*len = hdr[1] | hdr[2] << 8 | hdr[3] << 16 | (uint32_t)hdr[4] << 24;
	if (*len > 65536 || !get(s, buf, *len))
		return -1;
	buf[*len] = 0;
	return hdr[0];
}

static int
run(int s, int argc, char **argv)
{
	static uint8_t buf[65537], start[65536];
	uint32_t len = 0, n;
	int t;

	for (int i = 0; i < argc; i++) {	/* records: tag, value, NUL */
		start[len++] = 'a';
		memcpy(start + len, argv[i], strlen(argv[i]) + 1);
		len += (uint32_t)strlen(argv[i]) + 1;
	}
	put(s, 1, start, len);
	/* Small inputs only: all of it at once stays inside the 256 KiB window. */
	while ((n = (uint32_t)read(0, buf, 65536)) > 0 && n <= 65536)
		put(s, 2, buf, n);
	put(s, 3, NULL, 0);
	while ((t = frame(s, buf, &len)) >= 0) {
		if (t == 16 || t == 17)
			(void)!write(t - 15, buf, len);
		if (t == 18)
			return buf[0];
		if (t == 19) {
			fprintf(stderr, "capsa: %s\n", buf);
			return 125;
		}
	}
	fprintf(stderr, "execwire: the sandbox ended\n");
	return 125;
}

static int
raw(int s, const char *hello, const char *hex)
{
	static uint8_t buf[65537];
	char line[64];
	size_t n = 0;
	uint32_t len;
	int t;

	(void)!write(s, hello, strlen(hello));
	(void)!write(s, "\n", 1);
	for (; hex[0] && hex[1]; hex += 2, n++) {
		char b[3] = { hex[0], hex[1], 0 };
		buf[n] = (uint8_t)strtoul(b, NULL, 16);
	}
	(void)!write(s, buf, n);
	for (n = 0; n < sizeof(line) - 1 && read(s, line + n, 1) == 1 && line[n] != '\n'; n++)
		;
	line[n] = 0;
	printf("%s\n", n ? line : "CLOSED");
	while (n && (t = frame(s, buf, &len)) >= 0) {
		if (t == 19)
			printf("ERROR %s\n", buf);
		else if (t == 18)
			printf("EXIT %u\n", buf[0]);
		else
			printf("%s %u\n", t == 16 ? "STDOUT" : t == 17 ? "STDERR" : "FRAME", len);
	}
	if (n)
		printf("CLOSED\n");
	return 0;
}

int
main(int argc, char **argv)
{
	char line[16];
	int s, i = 0;

	if (argc >= 4 && !strcmp(argv[1], "raw"))
		return raw(dial(argv[2]), argv[3], argc > 4 ? argv[4] : "");
	if (argc < 4 || strcmp(argv[1], "run"))
		return fprintf(stderr, "usage: execwire run PATH ARG... | raw PATH HELLO [HEX]\n"), 2;
	s = dial(argv[2]);
	(void)!write(s, "CAPSA-EXEC 1\n", 13);
	while (i < 15 && read(s, line + i, 1) == 1 && line[i] != '\n')
		i++;
	if (i != 4 || memcmp(line, "OK 1", 4))
		return fprintf(stderr, "execwire: not a capsa control socket\n"), 125;
	return run(s, argc - 3, argv + 3);
}
