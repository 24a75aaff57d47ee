// SPDX-License-Identifier: MIT
/*
 * connrate.c - connrate ADDR PORT N: N short HTTP/1.0 requests in a row,
 * each on its own TCP connection, the same in every guest of
 * tests/bench/netuser.sh. Prints: CONNRATE <requests answered> <seconds>
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	static const char req[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";
	int n, ok = 0;
	double t0;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
		fprintf(stderr, "usage: connrate ADDR PORT N\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	n = atoi(argv[3]);
	t0 = now();
	for (int i = 0; i < n; i++) {
		char buf[4096];
		ssize_t r, got = 0;
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    write(s, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
			if (s >= 0)
				close(s);
			continue;
		}
		while ((r = read(s, buf, sizeof(buf))) > 0)
			got += r;
		ok += got > 0 && !strncmp(buf, "HTTP/", 5) ? 1 : got > 0;
		close(s);
	}
	printf("CONNRATE %d %.3f\n", ok, now() - t0);
	return ok == n ? 0 : 1;
}
