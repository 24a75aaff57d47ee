// SPDX-License-Identifier: MIT
/*
 * t_fs.c - the virtio-fs server (fs_serve) against real temporary
 * directories, without KVM: FUSE requests crafted as the guest kernel
 * sends them, the replies and the host files checked: the protocol, files,
 * attributes, the tree's operations, directories, many inodes. What a
 * hostile guest tries is in t_fs_hostile.c. Prints TAP, then the counts.
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

// SPDX-License-Identifier: MIT
/*
 * t_fs.c - the virtio-fs server (fs_serve) against real temporary
 * directories, without KVM: FUSE requests crafted as the guest kernel
 * sends them, the replies and the host files checked. Then what a hostile
 * guest tries: names of "..", "a/b", "." and with NULs, symlinks to /etc
 * and ones swapped in on the host, device nodes and FIFOs, a read-only
 * share, lying lengths, and the fd budget. Prints TAP, then the counts.
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

#include "fsreq.h"

static void
test_protocol(void)
{
	struct fs_server *srv = server(dir, false, 100);
	struct fuse_init_in old = { .major = 7, .minor = 27 };
	struct fuse_getattr_in ga = { 0 };

	call(srv, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), NULL, NULL);
	check(q.rc == 0 && q.error == -EIO, "before INIT: EIO");
	call(srv, FUSE_INIT, 0, &old, 16, NULL, NULL);
	check(q.error == -EPROTO, "INIT from a 7.27 guest (no virtio-fs): EPROTO");
	init(srv);
	call(srv, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), NULL, NULL);
	check(q.error == 0 && q.olen == sizeof(struct fuse_attr_out) &&
	      S_ISDIR(((struct fuse_attr_out *)q.out)->attr.mode), "GETATTR of the root");
	check(((struct fuse_attr_out *)q.out)->attr.uid == 0, "the owner shows as uid 0");
	call(srv, 9999, FUSE_ROOT_ID, NULL, 0, NULL, NULL);
	check(q.rc == 0 && q.error == -ENOSYS, "unknown opcode: ENOSYS");
	call(srv, FUSE_GETXATTR, FUSE_ROOT_ID, "\0\0\0\0\0\0\0\0", 8, "user.x", NULL);
	check(q.error == -ENOSYS, "GETXATTR: ENOSYS (the guest stops asking)");
	call(srv, FUSE_GETATTR, FUSE_ROOT_ID, &ga, 4, NULL, NULL);
	check(q.error == -EINVAL, "GETATTR with a short argument: EINVAL");
	memset(&q, 0, offsetof(struct fsreq, out));
	q.opcode = FUSE_GETATTR, q.nodeid = 1, q.arg = &ga, q.arglen = sizeof(ga), q.len_delta = 8;
	fsreq_run(srv, &q);
	check(q.error == -EINVAL, "in.len larger than the chain: EINVAL");
	call(srv, FUSE_GETATTR, 0x12345, &ga, sizeof(ga), NULL, NULL);
	check(q.error == -ENOENT, "a made-up node id: ENOENT");
	call(srv, FUSE_GETATTR, (uint64_t)7 << 32 | 1, &ga, sizeof(ga), NULL, NULL);
	check(q.error == -ENOENT, "the root's slot with a wrong generation: ENOENT");
	memset(&q, 0, offsetof(struct fsreq, out));
	q.opcode = FUSE_GETATTR, q.nodeid = 1, q.arg = &ga, q.arglen = sizeof(ga), q.room = (size_t)-1;
	fsreq_run(srv, &q);
	check(q.rc == 0 && q.error == -EINVAL, "no room for the reply body: EINVAL in the header");
	forget(srv, FUSE_ROOT_ID, 1000);
	check(q.rc == 0 && q.used == 0, "FORGET: no reply");
	call(srv, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), NULL, NULL);
	check(q.error == 0, "the root survives a FORGET");
	fs_server_free(srv);
}

static void
test_files(void)
{
	struct fs_server *srv = server(dir, false, 100);
	struct fuse_create_in cr = { .flags = O_RDWR, .mode = S_IFREG | 06755 };
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_read_in rd = { 0 };
	struct fuse_write_in wr = { 0 };
	struct fuse_release_in rel = { 0 };
	uint64_t node, fh;
	struct stat st;

	init(srv);
	node = lookup(srv, FUSE_ROOT_ID, "file", &e);
	check(node && S_ISREG(e.attr.mode) && e.attr.size == 5, "LOOKUP file: a 5-byte file");
	check(lookup(srv, FUSE_ROOT_ID, "file", NULL) == node, "a second LOOKUP: the same node id");
	fh = open_file(srv, node, O_RDONLY);
	rd = (struct fuse_read_in){ .fh = fh, .size = 100 };
	call(srv, FUSE_READ, node, &rd, sizeof(rd), NULL, NULL);
	check(q.error == 0 && q.olen == 5 && !memcmp(q.out, "hello", 5), "OPEN + READ: 'hello'");
	rel.fh = fh;
	call(srv, FUSE_RELEASE, node, &rel, sizeof(rel), NULL, NULL);
	call(srv, FUSE_READ, node, &rd, sizeof(rd), NULL, NULL);
	check(q.error == -EBADF, "READ after RELEASE: EBADF");
	forget(srv, node, 2);
	check(fs_server_inodes(srv) == 1 && fs_server_handles(srv) == 0,
	      "FORGET of both lookups and RELEASE: nothing held but the root");

	call(srv, FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "new", NULL);
	memcpy(&e, q.out, sizeof(e));
	memcpy(&o, q.out + sizeof(e), sizeof(o));
	check(q.error == 0 && q.olen == sizeof(e) + sizeof(o) && e.nodeid, "CREATE new");
	check(o.open_flags == FOPEN_NOFLUSH,
	      "CREATE on a share the host may change: no FLUSH wanted at close, no cache kept");
	check(stat(at("new"), &st) == 0 && (st.st_mode & 07777) == 0755,
	      "CREATE: set-user-ID and set-group-ID dropped (06755 -> 0755)");
	check(st.st_uid == geteuid(), "CREATE: the file belongs to capsa's user");
	wr = (struct fuse_write_in){ .fh = o.fh, .offset = 3, .size = 6 };
	memset(&q, 0, offsetof(struct fsreq, out));
	q.opcode = FUSE_WRITE, q.nodeid = e.nodeid, q.arg = &wr, q.arglen = sizeof(wr);
	q.data = "abcdef", q.datalen = 6;
	fsreq_run(srv, &q);
	check(q.error == 0 && ((struct fuse_write_out *)q.out)->size == 6, "WRITE 6 bytes at 3");
	check(stat(at("new"), &st) == 0 && st.st_size == 9, "the host file is 9 bytes");
	wr.size = 7;
	fsreq_run(srv, &q);
	check(q.error == -EINVAL, "WRITE whose size disagrees with its data: EINVAL");
	call(srv, FUSE_CREATE, FUSE_ROOT_ID, &(struct fuse_create_in){ .flags = O_RDWR | O_EXCL,
		.mode = S_IFREG | 0644 }, sizeof(cr), "new", NULL);
	check(q.error == -EEXIST, "CREATE O_EXCL of an existing name: EEXIST");
	call(srv, FUSE_CREATE, FUSE_ROOT_ID, &(struct fuse_create_in){ .flags = O_RDWR | O_TRUNC,
		.mode = S_IFREG | 0644 }, sizeof(cr), "new", NULL);
	check(q.error == 0 && stat(at("new"), &st) == 0 && st.st_size == 0,
	      "CREATE without O_EXCL of an existing file opens it (O_TRUNC)");
	fs_server_free(srv);
}

static void
test_setattr(void)
{
	struct fs_server *srv = server(dir, false, 100);
	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = 04711 };
	const struct fuse_attr_out *ao = (const void *)q.out;
	struct fuse_fallocate_in fa;
	struct fuse_lseek_in ls;
	uint64_t node, fh;
	struct stat st;

	init(srv);
	put("attr", "0123456789");
	node = lookup(srv, FUSE_ROOT_ID, "attr", NULL);
	call(srv, FUSE_SETATTR, node, &sa, sizeof(sa), NULL, NULL);
	check(q.error == 0 && stat(at("attr"), &st) == 0 && (st.st_mode & 07777) == 0711 &&
	      (ao->attr.mode & 07777) == 0711, "SETATTR mode 04711: 0711 (no set-user-ID)");
	sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 4 };
	call(srv, FUSE_SETATTR, node, &sa, sizeof(sa), NULL, NULL);
	check(q.error == 0 && ao->attr.size == 4 && stat(at("attr"), &st) == 0 && st.st_size == 4,
	      "SETATTR size (truncate) to 4");
	sa = (struct fuse_setattr_in){ .valid = FATTR_MTIME | FATTR_ATIME, .mtime = 1000000000,
				       .atime = 1234567890 };
	call(srv, FUSE_SETATTR, node, &sa, sizeof(sa), NULL, NULL);
	check(q.error == 0 && stat(at("attr"), &st) == 0 && st.st_mtime == 1000000000 &&
	      st.st_atime == 1234567890, "SETATTR times");
	sa = (struct fuse_setattr_in){ .valid = FATTR_MTIME | FATTR_MTIME_NOW };
	call(srv, FUSE_SETATTR, node, &sa, sizeof(sa), NULL, NULL);
	check(q.error == 0 && stat(at("attr"), &st) == 0 && st.st_mtime > 1600000000,
	      "SETATTR mtime NOW");
	sa = (struct fuse_setattr_in){ .valid = FATTR_UID | FATTR_GID, .uid = 0, .gid = 0 };
	call(srv, FUSE_SETATTR, node, &sa, sizeof(sa), NULL, NULL);
	check(q.error == 0 && stat(at("attr"), &st) == 0 && st.st_uid == geteuid(),
	      "SETATTR uid 0 (the guest's root) is the owner: no change");
	fh = open_file(srv, node, O_RDWR);
	fa = (struct fuse_fallocate_in){ .fh = fh, .offset = 0, .length = 1 << 20 };
	call(srv, FUSE_FALLOCATE, node, &fa, sizeof(fa), NULL, NULL);
	check(q.error == 0 && stat(at("attr"), &st) == 0 && st.st_size == 1 << 20,
	      "FALLOCATE 1 MiB");
	ls = (struct fuse_lseek_in){ .fh = fh, .offset = 0, .whence = SEEK_HOLE };
	call(srv, FUSE_LSEEK, node, &ls, sizeof(ls), NULL, NULL);
	check(q.error == 0 && q.olen == sizeof(struct fuse_lseek_out), "LSEEK SEEK_HOLE");
	call(srv, FUSE_FSYNC, node, &(struct fuse_fsync_in){ .fh = fh }, sizeof(struct fuse_fsync_in),
		NULL, NULL);
	check(q.error == 0, "FSYNC");
	call(srv, FUSE_FSYNC, node, &(struct fuse_fsync_in){ .fh = fh + 1 },
		sizeof(struct fuse_fsync_in), NULL, NULL);
	check(q.error == -EBADF, "FSYNC of a handle that does not exist: EBADF");
	call(srv, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0, NULL, NULL);
	check(q.error == 0 && ((struct fuse_statfs_out *)q.out)->st.bsize > 0, "STATFS");
	/* A truncate naming one node and another file's handle cuts the node only. */
	put("other", "0123456789");
	sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE | FATTR_FH, .size = 2, .fh = fh };
	call(srv, FUSE_SETATTR, lookup(srv, FUSE_ROOT_ID, "other", NULL), &sa, sizeof(sa), NULL, NULL);
	check(q.error == 0 && stat(at("other"), &st) == 0 && st.st_size == 2 &&
	      stat(at("attr"), &st) == 0 && st.st_size == 1 << 20,
	      "SETATTR size with another file's handle: that file is left alone");
	fs_server_free(srv);
}

static void
test_tree(void)
{
	struct fs_server *srv = server(dir, false, 100);
	struct fuse_mkdir_in mk = { .mode = 0750 };
	struct fuse_mknod_in mn = { .mode = S_IFIFO | 0644 };
	struct fuse_entry_out e;
	uint64_t sub, node;
	struct stat st;
	char target[64];

	init(srv);
	call(srv, FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk), "sub", NULL);
	memcpy(&e, q.out, sizeof(e));
	sub = e.nodeid;
	check(q.error == 0 && S_ISDIR(e.attr.mode) && stat(at("sub"), &st) == 0 && S_ISDIR(st.st_mode),
	      "MKDIR sub");
	call(srv, FUSE_MKNOD, sub, &mn, sizeof(mn), "fifo", NULL);
	check(q.error == 0 && stat(at("sub/fifo"), &st) == 0 && S_ISFIFO(st.st_mode), "MKNOD a FIFO");
	mn.mode = S_IFCHR | 0666;
	mn.rdev = makedev(1, 3);
	call(srv, FUSE_MKNOD, sub, &mn, sizeof(mn), "null", NULL);
	check(q.error == -EPERM && access(at("sub/null"), F_OK) < 0, "MKNOD a device node: EPERM");
	call(srv, FUSE_SYMLINK, sub, NULL, 0, "ln", "../../etc");
	check(q.error == 0 && readlink(at("sub/ln"), target, sizeof(target)) == 9,
	      "SYMLINK sub/ln -> ../../etc");
	node = ((struct fuse_entry_out *)q.out)->nodeid;
	call(srv, FUSE_READLINK, node, NULL, 0, NULL, NULL);
	check(q.error == 0 && q.olen == 9 && !memcmp(q.out, "../../etc", 9), "READLINK");
	call(srv, FUSE_LOOKUP, node, NULL, 0, "passwd", NULL);
	check(q.error == -ENOTDIR, "LOOKUP below a symlink: ENOTDIR (never followed)");
	call(srv, FUSE_LINK, sub, &(struct fuse_link_in){ .oldnodeid = lookup(srv, 1, "file", NULL) },
		sizeof(struct fuse_link_in), "hard", NULL);
	check(q.error == 0 && ((struct fuse_entry_out *)q.out)->attr.nlink == 2 &&
	      stat(at("sub/hard"), &st) == 0 && st.st_nlink == 2, "LINK sub/hard to file");
	call(srv, FUSE_LINK, sub, &(struct fuse_link_in){ .oldnodeid = node },
		sizeof(struct fuse_link_in), "ln2", NULL);
	check(q.error == 0 && lstat(at("sub/ln2"), &st) == 0 && S_ISLNK(st.st_mode),
	      "LINK of a symlink links the symlink itself");
	call(srv, FUSE_RENAME2, sub, &(struct fuse_rename2_in){ .newdir = sub, .flags = RENAME_NOREPLACE },
		sizeof(struct fuse_rename2_in), "hard", "fifo");
	check(q.error == -EEXIST, "RENAME2 NOREPLACE onto a name: EEXIST");
	call(srv, FUSE_RENAME2, sub, &(struct fuse_rename2_in){ .newdir = sub, .flags = RENAME_EXCHANGE },
		sizeof(struct fuse_rename2_in), "hard", "fifo");
	check(q.error == 0 && lstat(at("sub/hard"), &st) == 0 && S_ISFIFO(st.st_mode),
	      "RENAME2 EXCHANGE");
	call(srv, FUSE_RENAME, sub, &(struct fuse_rename_in){ .newdir = FUSE_ROOT_ID },
		sizeof(struct fuse_rename_in), "fifo", "moved");
	check(q.error == 0 && stat(at("moved"), &st) == 0 && S_ISREG(st.st_mode),
	      "RENAME to another directory");
	call(srv, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "moved", NULL);
	check(q.error == 0 && access(at("moved"), F_OK) < 0, "UNLINK");
	call(srv, FUSE_RMDIR, FUSE_ROOT_ID, NULL, 0, "sub", NULL);
	check(q.error == -ENOTEMPTY, "RMDIR of a full directory: ENOTEMPTY");
	fs_server_free(srv);
}

/* READDIR: the names; READDIRPLUS: with node ids, one reference each. */
static void
test_readdir(void)
{
	struct fs_server *srv = server(dir, false, 1000);
	struct fuse_read_in rd = { .size = 4096 };
	unsigned names = 0, nodes = 0, before;
	uint64_t fh;

	init(srv);
	call(srv, FUSE_OPENDIR, FUSE_ROOT_ID, &(struct fuse_open_in){ 0 }, sizeof(struct fuse_open_in),
		NULL, NULL);
	fh = ((struct fuse_open_out *)q.out)->fh;
	check(q.error == 0, "OPENDIR of the root");
	rd.fh = fh;
	call(srv, FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd), NULL, NULL);
	for (uint32_t off = 0; off < q.olen;) {
		const struct fuse_dirent *d = (const void *)(q.out + off);

		names += d->namelen == 4 && !memcmp(d->name, "file", 4);
		off += FUSE_DIRENT_SIZE(d);
	}
	check(q.error == 0 && names == 1, "READDIR lists 'file'");
	before = fs_server_inodes(srv);
	call(srv, FUSE_READDIRPLUS, FUSE_ROOT_ID, &rd, sizeof(rd), NULL, NULL);
	names = 0;
	for (uint32_t off = 0; off < q.olen;) {
		const struct fuse_direntplus *d = (const void *)(q.out + off);

		names++;
		nodes += d->entry_out.nodeid != 0;
		off += FUSE_DIRENTPLUS_SIZE(d);
	}
	check(q.error == 0 && names >= 3 && nodes == names - 2,
	      "READDIRPLUS: every entry but . and .. with a node id");
	check(fs_server_inodes(srv) > before, "READDIRPLUS: the guest now holds the entries");
	rd.size = 200;		/* a few entries; the next call starts after them */
	call(srv, FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd), NULL, NULL);
	check(q.error == 0 && q.olen > 0 && q.olen <= 200, "READDIR into 200 bytes: what fits");
	call(srv, FUSE_RELEASEDIR, FUSE_ROOT_ID, &(struct fuse_release_in){ .fh = fh },
		sizeof(struct fuse_release_in), NULL, NULL);
	check(q.error == 0 && fs_server_handles(srv) == 0, "RELEASEDIR");
	fs_server_free(srv);
}

/*
 * Thousands of inodes: their (dev, ino) keys share hash buckets, and they
 * are forgotten in another order than they came: every chain must stay
 * whole (a lookup finds its own file again, a freed slot is unlinked).
 */
static void
test_many(void)
{
	enum { N = 3000 };
	static uint64_t ids[N];
	struct fs_server *srv = server(dir, false, N + 16);
	struct fuse_entry_out e = { 0 };
	unsigned bad = 0, again = 0;
	char name[32];
	struct stat st;

	init(srv);
	mkdir(at("many"), 0755);
	uint64_t d = lookup(srv, FUSE_ROOT_ID, "many", NULL);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many/m%d", i);
		close(open(at(name), O_WRONLY | O_CREAT, 0644));
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		ids[i] = lookup(srv, d, name, &e);
		snprintf(name, sizeof(name), "many/m%d", i);
		bad += !ids[i] || stat(at(name), &st) < 0 || e.attr.ino != st.st_ino;
	}
	check(bad == 0 && fs_server_inodes(srv) == N + 2, "3000 LOOKUPs: each its own file");
	/* Forget every other one from the end, then look all up again. */
	for (int i = N - 1; i >= 0; i -= 2)
		forget(srv, ids[i], 1);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		uint64_t id = lookup(srv, d, name, &e);

		snprintf(name, sizeof(name), "many/m%d", i);
		bad += !id || stat(at(name), &st) < 0 || e.attr.ino != st.st_ino;
		again += (i % 2 == (N - 1) % 2) ? 0 : id == ids[i];
		ids[i] = id;
	}
	check(bad == 0, "after forgetting half in reverse: every LOOKUP finds its own file");
	check(again == N / 2, "... the ones still held keep their node ids");
	for (int i = 0; i < N; i++)
		forget(srv, ids[i], i % 2 == (N - 1) % 2 ? 1 : 2);
	forget(srv, d, 1);
	check(fs_server_inodes(srv) == 1, "all forgotten: only the root is held");
	fs_server_free(srv);
	/* Only ours: the musl and ASan builds of this test may run at once. */
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "many/m%d", i);
		unlink(at(name));
	}
	if (rmdir(at("many")) < 0)
		printf("# could not remove many/\n");
}

int
main(void)
{
	ft_begin();
	test_protocol();
	test_files();
	test_setattr();
	test_tree();
	test_readdir();
	test_many();
	return ft_end();
}
