// SPDX-License-Identifier: MIT
/*
 * fsbench.c - the shared-directory workloads of tests/bench/fs.sh, run in
 * the guest, each timed with CLOCK_MONOTONIC:
 *
 *   fsbench files DIR N       create N small files (write 100 bytes, close),
 *                             stat each, unlink each
 *   fsbench write FILE MIB    write MIB MiB in 1 MiB blocks, then fsync
 *   fsbench read FILE         read it in 1 MiB blocks
 *   fsbench run CMD...        run CMD (its output to /dev/null), time it
 *
 * Prints "bench NAME MS [MB/s]" lines.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1024 * 1024)

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int
die(const char *what)
{
	perror(what);
	return 1;
}

static int
files(const char *dir, int n)
{
	char path[4096], data[100];
	struct stat st;
	double t0 = now(), t1, t2;

	memset(data, 'x', sizeof(data));
	for (int i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data) || close(fd) < 0)
			return die(path);
	}
	t1 = now();
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (stat(path, &st) < 0)
			return die(path);
	}
	t2 = now();
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (unlink(path) < 0)
			return die(path);
	}
	printf("bench create %.0f\nbench stat %.0f\nbench unlink %.0f\nbench files %.0f\n",
	       t1 - t0, t2 - t1, now() - t2, now() - t0);
	return 0;
}

static int
seq(const char *file, long mib, int write_it)
{
	static char buf[BLOCK];
	double t0 = now(), ms;
	long done = 0;
	int fd = write_it ? open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644) : open(file, O_RDONLY);

	if (fd < 0)
		return die(file);
	memset(buf, 0x5a, sizeof(buf));
	for (;;) {
		ssize_t k = write_it ? (done < mib * BLOCK ? write(fd, buf, BLOCK) : 0)
				     : read(fd, buf, BLOCK);

		if (k < 0)
			return die(file);
		if (k == 0)
			break;
		done += k;
	}
	if (write_it && fsync(fd) < 0)
		return die(file);
	close(fd);
	ms = now() - t0;
	printf("bench %s %.0f %.1f\n", write_it ? "seqwrite" : "seqread", ms,
	       done / 1048576.0 / (ms / 1e3));
	return 0;
}

static int
run(const char *name, char **argv)
{
	double t0 = now();
	pid_t p = fork();
	int status;

	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (p < 0 || waitpid(p, &status, 0) < 0)
		return die("fork");
	printf("bench %s %.0f%s\n", name, now() - t0, status ? " (failed)" : "");
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "files"))
		return files(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "write"))
		return seq(argv[2], atol(argv[3]), 1);
	if (argc == 3 && !strcmp(argv[1], "read"))
		return seq(argv[2], 0, 0);
	if (argc >= 4 && !strcmp(argv[1], "run"))
		return run(argv[2], argv + 3);
	fprintf(stderr, "usage: fsbench files DIR N | write FILE MIB | read FILE | run NAME CMD...\n");
	return 2;
}
