// SPDX-License-Identifier: MIT
/*
 * fs_inode.c - the virtio-fs server's inode and handle tables.
 *
 * An inode is an O_PATH fd on one file or directory of the share, keyed by
 * (st_dev, st_ino): a second lookup of the same file, by any name, finds
 * the same slot, as the guest kernel expects of a node id. A node id is
 * the slot's index plus one (FUSE_ROOT_ID is slot 0, the share's root) with
 * the slot's generation in the high 32 bits, so a stale or made-up id from
 * the guest names no slot at all rather than whichever file took its place.
 * A handle (FUSE's fh) is an fd opened for I/O, named the same way.
 *
 * Every fd counts against the run's budget (struct fs_budget), shared by
 * all shares and sized to RLIMIT_NOFILE before the jail: at the limit a
 * lookup fails with ENFILE and an open with EMFILE, and capsa goes on.
 * The tables are allocated at their full size but touched only as they
 * fill, so an idle share costs no memory.
 *
 * One mutex guards both tables. Requests hold references while they use
 * an entry, so a FORGET or RELEASE that races with them closes the fd only
 * when the last of them is done: an fd number is never reused under a
 * request that still means the old file.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs_int.h"

#define FS_INODES_MAX	131072		/* slots per share */
#define FS_HANDLES_MAX	16384
#define FS_BUCKETS	65536		/* a power of two */

/*
 * A hash chain links slots by slot + 1, bucket heads and each inode's
 * next alike, 0 ending the chain. A free slot's next is the free list's
 * next slot itself, FS_NONE at the end.
 */
#define LINK(slot)	((slot) + 1)

static bool
budget_take(struct fs_server *srv)
{
	if (atomic_fetch_sub(&srv->share.budget->left, 1) > 0)
		return true;
	atomic_fetch_add(&srv->share.budget->left, 1);
	return false;
}

static void
budget_give(struct fs_server *srv)
{
	atomic_fetch_add(&srv->share.budget->left, 1);
}

static uint32_t
bucket(const struct fs_server *srv, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)ino;

	h *= 0xff51afd7ed558ccdULL;
	return (uint32_t)(h ^ h >> 32) & (srv->nbuckets - 1);
}

/**
 * fs_tables_init() - empty tables, with the share's root as slot 0.
 * @srv:     the server.
 * @root_fd: O_PATH fd of the root directory; the table owns it now.
 * @st:      its attributes.
 *
 * Return: 0 or -ENOMEM.
 */
int
fs_tables_init(struct fs_server *srv, int root_fd, const struct stat *st)
{
	struct fs_inode *root;

	srv->inodes = calloc(FS_INODES_MAX, sizeof(*srv->inodes));
	srv->handles = calloc(FS_HANDLES_MAX, sizeof(*srv->handles));
	srv->buckets = calloc(FS_BUCKETS, sizeof(*srv->buckets));
	if (!srv->inodes || !srv->handles || !srv->buckets)
		return -ENOMEM;
	srv->nbuckets = FS_BUCKETS;
	srv->inode_free = srv->handle_free = FS_NONE;
	root = &srv->inodes[0];
	*root = (struct fs_inode){ .fd = root_fd, .nlookup = 1, .type = st->st_mode & S_IFMT,
				   .dev = st->st_dev, .ino = st->st_ino, .next = 0 };
	srv->buckets[bucket(srv, st->st_dev, st->st_ino)] = LINK(0);
	srv->inode_hwm = srv->ninodes = 1;
	pthread_mutex_init(&srv->lock, NULL);
	return 0;
}

/**
 * fs_tables_free() - close every fd the tables hold (the root's too).
 */
void
fs_tables_free(struct fs_server *srv)
{
	for (uint32_t i = 0; srv->inodes && i < srv->inode_hwm; i++)
		if (srv->inodes[i].fd >= 0)
			close(srv->inodes[i].fd);
	for (uint32_t i = 0; srv->handles && i < srv->handle_hwm; i++) {
		if (srv->handles[i].fd >= 0)
			close(srv->handles[i].fd);
		pthread_mutex_destroy(&srv->handles[i].lock);
	}
	free(srv->inodes);
	free(srv->handles);
	free(srv->buckets);
}

/**
 * fs_inode_id() - the node id the guest knows @n by.
 */
uint64_t
fs_inode_id(const struct fs_server *srv, const struct fs_inode *n)
{
	return (uint64_t)n->gen << 32 | (uint64_t)(n - srv->inodes + 1);
}

/* The slot @nodeid names, live, or NULL. With the lock held. */
static struct fs_inode *
find_id(struct fs_server *srv, uint64_t nodeid)
{
	uint32_t idx = (uint32_t)nodeid - 1;
	struct fs_inode *n;

	if (idx >= srv->inode_hwm)
		return NULL;
	n = &srv->inodes[idx];
	if ((uint32_t)(nodeid >> 32) != n->gen || !n->nlookup)
		return NULL;
	return n;
}

/* Close an inode nobody refers to any more. With the lock held. */
static void
maybe_free(struct fs_server *srv, struct fs_inode *n)
{
	uint32_t idx = (uint32_t)(n - srv->inodes), *link;

	if (idx == 0 || n->nlookup || n->refs)
		return;
	for (link = &srv->buckets[bucket(srv, n->dev, n->ino)]; *link && *link != LINK(idx);
	     link = &srv->inodes[*link - 1].next)
		;
	if (*link)
		*link = n->next;
	close(n->fd);
	budget_give(srv);
	n->fd = -1;
	n->gen++;
	n->next = srv->inode_free;
	srv->inode_free = idx;
	srv->ninodes--;
}

/**
 * fs_inode_get() - the inode the guest calls @nodeid, with a reference.
 *
 * Return: the inode (release it with fs_inode_put()), or NULL when the id
 * names no inode the guest holds.
 */
struct fs_inode *
fs_inode_get(struct fs_server *srv, uint64_t nodeid)
{
	struct fs_inode *n;

	pthread_mutex_lock(&srv->lock);
	n = find_id(srv, nodeid);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

/**
 * fs_inode_put() - drop a reference fs_inode_get() or fs_inode_add() gave.
 */
void
fs_inode_put(struct fs_server *srv, struct fs_inode *n)
{
	pthread_mutex_lock(&srv->lock);
	n->refs--;
	maybe_free(srv, n);
	pthread_mutex_unlock(&srv->lock);
}

static struct fs_inode *
find_key(struct fs_server *srv, dev_t dev, ino_t ino)
{
	for (uint32_t l = srv->buckets[bucket(srv, dev, ino)]; l; l = srv->inodes[l - 1].next)
		if (srv->inodes[l - 1].dev == dev && srv->inodes[l - 1].ino == ino)
			return &srv->inodes[l - 1];
	return NULL;
}

static struct fs_inode *
new_slot(struct fs_server *srv)
{
	uint32_t idx = srv->inode_free;

	if (idx != FS_NONE)
		srv->inode_free = srv->inodes[idx].next;
	else if (srv->inode_hwm < FS_INODES_MAX)
		idx = srv->inode_hwm++;
	else
		return NULL;
	srv->ninodes++;
	return &srv->inodes[idx];
}

/**
 * fs_inode_add() - the guest learnt of a file: one more lookup reference.
 * @srv: the server.
 * @fd:  an O_PATH fd on the file; the table owns it now (closed when the
 *       file was known already, or on failure).
 * @st:  the file's attributes, read from @fd.
 * @out: the inode, with a request reference (fs_inode_put()).
 *
 * Return: 0, or -ENFILE when the run's fd budget or the table is full.
 */
int
fs_inode_add(struct fs_server *srv, int fd, const struct stat *st, struct fs_inode **out)
{
	struct fs_inode *n;
	uint32_t b;

	pthread_mutex_lock(&srv->lock);
	n = find_key(srv, st->st_dev, st->st_ino);
	if (n) {
		n->nlookup++;
		n->refs++;
		pthread_mutex_unlock(&srv->lock);
		close(fd);
		*out = n;
		return 0;
	}
	n = budget_take(srv) ? new_slot(srv) : NULL;
	if (!n) {
		pthread_mutex_unlock(&srv->lock);
		close(fd);
		return -ENFILE;
	}
	b = bucket(srv, st->st_dev, st->st_ino);
	*n = (struct fs_inode){ .fd = fd, .gen = n->gen, .nlookup = 1, .refs = 1,
				.type = st->st_mode & S_IFMT, .dev = st->st_dev, .ino = st->st_ino,
				.next = srv->buckets[b] };
	srv->buckets[b] = LINK((uint32_t)(n - srv->inodes));
	pthread_mutex_unlock(&srv->lock);
	*out = n;
	return 0;
}

/**
 * fs_inode_forget() - the guest dropped @nlookup references to @nodeid.
 *
 * An unknown id is ignored (FORGET has no reply); so is the root.
 */
void
fs_inode_forget(struct fs_server *srv, uint64_t nodeid, uint64_t nlookup)
{
	struct fs_inode *n;

	pthread_mutex_lock(&srv->lock);
	n = find_id(srv, nodeid);
	if (n && n != srv->inodes) {
		n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
		maybe_free(srv, n);
	}
	pthread_mutex_unlock(&srv->lock);
}

static void
maybe_free_handle(struct fs_server *srv, struct fs_handle *h)
{
	if (h->refs)
		return;
	close(h->fd);
	budget_give(srv);
	h->fd = -1;
	h->gen++;
	h->next = srv->handle_free;
	srv->handle_free = (uint32_t)(h - srv->handles);
	srv->nhandles--;
}

/**
 * fs_forget_all() - a new session (FUSE_INIT, DESTROY): the guest holds
 * nothing any more. Entries still in use go when their requests end.
 */
void
fs_forget_all(struct fs_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	for (uint32_t i = 1; i < srv->inode_hwm; i++) {
		struct fs_inode *n = &srv->inodes[i];

		if (n->fd >= 0 && n->nlookup) {
			n->nlookup = 0;
			maybe_free(srv, n);
		}
	}
	for (uint32_t i = 0; i < srv->handle_hwm; i++) {
		struct fs_handle *h = &srv->handles[i];

		if (h->fd >= 0 && h->open) {
			h->open = false;	/* no request may find it now */
			h->refs--;
			maybe_free_handle(srv, h);
		}
	}
	pthread_mutex_unlock(&srv->lock);
}

/**
 * fs_handle_add() - the guest opened a file: its fd becomes a handle.
 * @srv:   the server.
 * @fd:    the open fd; the table owns it now (closed on failure).
 * @dir:   a directory (OPENDIR), else a file (OPEN, CREATE).
 * @write: opened for writing.
 * @fh:    the handle's id for the guest.
 *
 * Return: 0, or -EMFILE when the run's fd budget or the table is full.
 */
int
fs_handle_add(struct fs_server *srv, int fd, bool dir, bool write, uint64_t *fh)
{
	struct fs_handle *h = NULL;
	uint32_t idx;

	pthread_mutex_lock(&srv->lock);
	if (budget_take(srv)) {
		idx = srv->handle_free;
		if (idx != FS_NONE) {
			srv->handle_free = srv->handles[idx].next;
		} else if (srv->handle_hwm < FS_HANDLES_MAX) {
			idx = srv->handle_hwm++;
			pthread_mutex_init(&srv->handles[idx].lock, NULL);
		} else {
			budget_give(srv);
		}
		h = idx == FS_NONE ? NULL : &srv->handles[idx];
	}
	if (h) {
		h->fd = fd;
		h->open = true;
		h->refs = 1;
		h->dir = dir;
		h->write = write;
		srv->nhandles++;
		*fh = (uint64_t)h->gen << 32 | (uint64_t)(h - srv->handles + 1);
	}
	pthread_mutex_unlock(&srv->lock);
	if (!h)
		close(fd);
	return h ? 0 : -EMFILE;
}

/* The open handle @fh names, of the kind asked for, or NULL. With the lock held. */
static struct fs_handle *
find_handle(struct fs_server *srv, uint64_t fh, bool dir)
{
	uint32_t idx = (uint32_t)fh - 1;
	struct fs_handle *h;

	if (idx >= srv->handle_hwm)
		return NULL;
	h = &srv->handles[idx];
	if ((uint32_t)(fh >> 32) != h->gen || !h->open || h->dir != dir)
		return NULL;
	return h;
}

/**
 * fs_handle_get() - the open file (or directory, @dir) @fh, with a reference.
 *
 * Return: the handle (release with fs_handle_put()), or NULL.
 */
struct fs_handle *
fs_handle_get(struct fs_server *srv, uint64_t fh, bool dir)
{
	struct fs_handle *h;

	pthread_mutex_lock(&srv->lock);
	h = find_handle(srv, fh, dir);
	if (h)
		h->refs++;
	pthread_mutex_unlock(&srv->lock);
	return h;
}

/**
 * fs_handle_put() - drop a reference fs_handle_get() gave.
 */
void
fs_handle_put(struct fs_server *srv, struct fs_handle *h)
{
	pthread_mutex_lock(&srv->lock);
	h->refs--;
	maybe_free_handle(srv, h);
	pthread_mutex_unlock(&srv->lock);
}

/**
 * fs_handle_release() - RELEASE or RELEASEDIR: the guest closed @fh.
 *
 * Return: 0, or -EBADF when @fh names no open handle of that kind.
 */
int
fs_handle_release(struct fs_server *srv, uint64_t fh, bool dir)
{
	struct fs_handle *h;

	pthread_mutex_lock(&srv->lock);
	h = find_handle(srv, fh, dir);
	if (h) {
		h->open = false;
		h->refs--;
		maybe_free_handle(srv, h);
	}
	pthread_mutex_unlock(&srv->lock);
	return h ? 0 : -EBADF;
}
