// SPDX-License-Identifier: MIT
/*
 * randread.c - 4 KiB random reads with O_DIRECT, like `fio --rw=randread
 * --bs=4k --direct=1`, for the disk benchmark (tests/bench/blk.sh). Runs in
 * the guest, so it is static and has no dependencies.
 *
 * usage: randread DEVICE SECONDS [THREADS]
 * Prints: "randread 4k: N IOPS (T threads, S s)".
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>	/* BLKGETSIZE64 */

#define BS 4096
#define MAX_THREADS 64

static int fd;
static uint64_t blocks;
static double end_at;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
reader(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1, n = 0;
	void *buf;

	if (posix_memalign(&buf, BS, BS))
		return NULL;
	while (now() < end_at) {
		for (int i = 0; i < 64; i++) {
			x ^= x << 13;	/* xorshift64 */
			x ^= x >> 7;
			x ^= x << 17;
			if (pread(fd, buf, BS, (off_t)((x % blocks) * BS)) != BS) {
				perror("pread");
				exit(1);
			}
			n++;
		}
	}
	return (void *)(uintptr_t)n;
}

int
main(int argc, char **argv)
{
	pthread_t t[MAX_THREADS];
	uint64_t bytes = 0, total = 0;
	struct stat st;
	int seconds, threads;
	double t0;

	if (argc < 3) {
		fprintf(stderr, "usage: randread DEVICE SECONDS [THREADS]\n");
		return 2;
	}
	seconds = atoi(argv[2]);
	threads = argc > 3 ? atoi(argv[3]) : 1;
	if (threads < 1 || threads > MAX_THREADS)
		threads = 1;
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &bytes) < 0 && fstat(fd, &st) == 0)
		bytes = (uint64_t)st.st_size;	/* a regular file */
	if (fd < 0 || bytes < BS) {
		perror(argv[1]);
		return 1;
	}
	blocks = bytes / BS;
	t0 = now();
	end_at = t0 + seconds;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, reader, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < threads; i++) {
		void *n;

		pthread_join(t[i], &n);
		total += (uintptr_t)n;
	}
	printf("randread 4k: %.0f IOPS (%d threads, %.1f s)\n", total / (now() - t0), threads,
	       now() - t0);
	return 0;
}
