// SPDX-License-Identifier: MIT
/*
 * t_fs_hostile.c - what a hostile guest tries against the virtio-fs server
 * (fs_serve), on real temporary directories: names of "..", "a/b", "." and
 * with NULs, symlinks to /etc and ones swapped in on the host, device nodes
 * and FIFOs, a read-only share, and the fd budget. Prints TAP, then the
 * counts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "fsenv.h"

static void
test_names(void)
{
	struct fs_server *srv = server(dir, false, 100);
	static const char *const bad[] = { "..", ".", "a/b", "/etc", "../outside", "" };
	char longname[300];
	struct fuse_mkdir_in mk = { .mode = 0755 };

	init(srv);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[80];

		call(srv, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, bad[i], NULL);
		snprintf(what, sizeof(what), "LOOKUP '%s': EINVAL", bad[i]);
		check(q.error == -EINVAL, what);
		call(srv, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), bad[i], NULL);
		snprintf(what, sizeof(what), "MKDIR '%s': EINVAL", bad[i]);
		check(q.error == -EINVAL, what);
	}
	call(srv, FUSE_LOOKUP, FUSE_ROOT_ID, "a\0b", 4, NULL, NULL);
	check(q.error == -EINVAL, "LOOKUP 'a' NUL 'b' (a NUL inside): EINVAL");
	call(srv, FUSE_LOOKUP, FUSE_ROOT_ID, "abc", 3, NULL, NULL);
	check(q.error == -EINVAL, "LOOKUP without a NUL: EINVAL");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	call(srv, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, longname, NULL);
	check(q.error == -ENAMETOOLONG, "LOOKUP of a 299-byte name: ENAMETOOLONG");
	call(srv, FUSE_RENAME, FUSE_ROOT_ID, "\1\0\0\0\0\0\0\0", 8, "file", "..");
	check(q.error == -EINVAL, "RENAME to '..': EINVAL");
	call(srv, FUSE_RENAME, FUSE_ROOT_ID, "\1\0\0\0\0\0\0\0", 8, "file", "x/y");
	check(q.error == -EINVAL, "RENAME to 'x/y': EINVAL");
	check(access(at("../outside"), F_OK) < 0 && access(outside, F_OK) == 0 &&
	      access(at("file"), F_OK) == 0, "nothing was made or moved on the host");
	fs_server_free(srv);
}

/* The host swaps a symlink in for a file or directory the guest knows. */
static void
test_swaps(void)
{
	struct fs_server *srv = server(dir, false, 100);
	struct fuse_entry_out e;
	struct fuse_read_in rd = { .size = 100 };
	uint64_t f, d, fh;

	init(srv);
	put("victim", "mine");
	mkdir(at("vdir"), 0755);
	f = lookup(srv, FUSE_ROOT_ID, "victim", NULL);
	d = lookup(srv, FUSE_ROOT_ID, "vdir", NULL);
	rename(at("victim"), at("victim.old"));
	symlink("/etc/passwd", at("victim"));
	rmdir(at("vdir"));
	symlink("/etc", at("vdir"));
	fh = open_file(srv, f, O_RDONLY);
	rd.fh = fh;
	call(srv, FUSE_READ, f, &rd, sizeof(rd), NULL, NULL);
	check(q.error == 0 && q.olen == 4 && !memcmp(q.out, "mine", 4),
	      "a symlink swapped in after LOOKUP: OPEN reads the file looked up, not /etc/passwd");
	check(lookup(srv, FUSE_ROOT_ID, "victim", &e) && S_ISLNK(e.attr.mode),
	      "LOOKUP again: the symlink itself");
	check(open_file(srv, e.nodeid, O_RDONLY) == 0 && q.error == -EACCES,
	      "OPEN of that symlink: refused (never followed)");
	call(srv, FUSE_LOOKUP, d, NULL, 0, "passwd", NULL);
	check(q.error == -ENOENT, "LOOKUP in a directory replaced by a symlink to /etc: not /etc");
	check(lookup(srv, FUSE_ROOT_ID, "vdir", &e) && S_ISLNK(e.attr.mode),
	      "the new vdir is a symlink node");
	call(srv, FUSE_LOOKUP, e.nodeid, NULL, 0, "passwd", NULL);
	check(q.error == -ENOTDIR, "LOOKUP below it: ENOTDIR");
	call(srv, FUSE_OPENDIR, e.nodeid, &(struct fuse_open_in){ 0 }, sizeof(struct fuse_open_in),
		NULL, NULL);
	check(q.error == -ENOTDIR, "OPENDIR of it: ENOTDIR");
	fs_server_free(srv);
}

/* Device nodes, FIFOs and sockets on a share are never opened. */
static void
test_special(void)
{
	struct fs_server *srv = server(dir, false, 100);
	struct fuse_create_in cr = { .flags = O_RDWR, .mode = S_IFREG | 0644 };
	struct fuse_entry_out e;
	int have_dev = mknod(at("dev-null"), S_IFCHR | 0666, makedev(1, 3)) == 0;

	init(srv);
	mkfifo(at("pipe"), 0666);
	check(lookup(srv, FUSE_ROOT_ID, "pipe", &e) && S_ISFIFO(e.attr.mode), "LOOKUP a FIFO");
	check(open_file(srv, e.nodeid, O_RDONLY) == 0 && q.error == -EACCES,
	      "OPEN a FIFO: EACCES, and no hang");
	check(open_file(srv, e.nodeid, O_WRONLY | O_NONBLOCK) == 0 && q.error == -EACCES,
	      "OPEN a FIFO for writing: EACCES");
	call(srv, FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "pipe", NULL);
	check(q.error == -EACCES, "CREATE (no O_EXCL) over a FIFO: EACCES, no hang");
	if (have_dev) {
		check(lookup(srv, FUSE_ROOT_ID, "dev-null", &e) && S_ISCHR(e.attr.mode),
		      "LOOKUP a device node");
		check(open_file(srv, e.nodeid, O_RDWR) == 0 && q.error == -EACCES,
		      "OPEN a device node: EACCES");
		call(srv, FUSE_SETATTR, e.nodeid, &(struct fuse_setattr_in){ .valid = FATTR_SIZE },
			sizeof(struct fuse_setattr_in), NULL, NULL);
		check(q.error == -EINVAL, "truncate a device node: EINVAL");
	} else {
		skip("device node", "cannot mknod here");
	}
	fs_server_free(srv);
}

/* A hash of the tree: names, sizes, modes, times, contents; "" on failure. */
static void
tree_sum(const char *path, char sum[80])
{
	char cmd[512];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "cd %s && { find . -exec ls -ld --time-style=+%%s {} + | sort; "
		 "cat $(find . -type f | sort); } | md5sum", path);
	p = popen(cmd, "r");
	if (p) {
		n = fread(sum, 1, 79, p);
		pclose(p);
	}
	sum[n] = 0;
}

static void
test_ro(void)
{
	struct fs_server *srv = server(dir, true, 100);
	char before[80], after[80];
	struct fuse_mkdir_in mk = { .mode = 0755 };
	struct fuse_create_in cr = { .flags = O_RDWR, .mode = S_IFREG | 0644 };
	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = 0777 };
	uint64_t node;
	unsigned erofs = 0;

	tree_sum(dir, before);
	init(srv);
	node = lookup(srv, FUSE_ROOT_ID, "file", NULL);
	erofs += call(srv, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), "x", NULL) == -EROFS;
	erofs += call(srv, FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "x", NULL) == -EROFS;
	erofs += call(srv, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "file", NULL) == -EROFS;
	erofs += call(srv, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0, "sub", NULL) == -EROFS;
	erofs += call(srv, FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "x", "y") == -EROFS;
	erofs += call(srv, FUSE_SETATTR, node, &sa, sizeof(sa), NULL, NULL) == -EROFS;
	erofs += call(srv, FUSE_RENAME, FUSE_ROOT_ID, "\1\0\0\0\0\0\0\0", 8, "file", "y") == -EROFS;
	erofs += call(srv, FUSE_LINK, FUSE_ROOT_ID, &(struct fuse_link_in){ .oldnodeid = node },
		      sizeof(struct fuse_link_in), "y", NULL) == -EROFS;
	erofs += call(srv, FUSE_MKNOD, FUSE_ROOT_ID, &(struct fuse_mknod_in){ .mode = S_IFIFO },
		      sizeof(struct fuse_mknod_in), "y", NULL) == -EROFS;
	check(erofs == 9, "read-only share: every mutating request fails with EROFS");
	check(open_file(srv, node, O_WRONLY) == 0 && q.error == -EROFS, "OPEN for writing: EROFS");
	check(open_file(srv, node, O_RDONLY | O_TRUNC) == 0 && q.error == -EROFS, "OPEN O_TRUNC: EROFS");
	check(open_file(srv, node, O_RDONLY) != 0, "OPEN for reading works");
	tree_sum(dir, after);
	check(before[0] && !strcmp(before, after), "the host tree is unchanged");
	fs_server_free(srv);
}

/* The fd budget: ENFILE for lookups, EMFILE for opens, and the server goes on. */
static void
test_budget(void)
{
	struct fs_server *srv = server(dir, false, 3);
	uint64_t a, b;
	char name[16];

	init(srv);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		put(name, "x");
	}
	a = lookup(srv, FUSE_ROOT_ID, "b0", NULL);
	b = lookup(srv, FUSE_ROOT_ID, "b1", NULL);
	lookup(srv, FUSE_ROOT_ID, "b2", NULL);
	check(a && b && !lookup(srv, FUSE_ROOT_ID, "b3", NULL) && q.error == -ENFILE,
	      "budget of 3 fds: the fourth LOOKUP fails with ENFILE");
	check(open_file(srv, a, O_RDONLY) == 0 && q.error == -EMFILE, "and an OPEN with EMFILE");
	forget(srv, b, 1);
	check(open_file(srv, a, O_RDONLY) != 0, "after a FORGET, the OPEN works");
	check(lookup(srv, FUSE_ROOT_ID, "b0", NULL) == a, "a known name needs no new fd");
	fs_server_free(srv);
}

int
main(void)
{
	ft_begin();
	test_names();
	test_swaps();
	test_special();
	test_ro();
	test_budget();
	return ft_end();
}
