// SPDX-License-Identifier: MIT
/*
 * creds.c - stages 3 to 5 of the jail: no new privileges, capabilities and
 * identity, resource limits; see the Theory of Operation in jail.c.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "stage.h"
#include "../vmm/util.h"

/**
 * jail_set_user() - parse --user USER|UID[:GID].
 * @j:    the jail.
 * @user: a name from the password database, or a numeric uid with an
 *        optional gid (default: the uid's primary group, else the uid).
 *
 * Return: 0, -EINVAL for a malformed number, -ENOENT for an unknown name.
 */
int
jail_set_user(struct jail *j, const char *user)
{
	char num[24];
	const char *colon = strchr(user, ':');
	size_t n = colon ? (size_t)(colon - user) : strlen(user);
	uint64_t uid, gid;
	struct passwd *pw;

	if (n >= sizeof(num))
		return -EINVAL;
	memcpy(num, user, n);
	num[n] = 0;
	if (parse_u64(num, 0, UINT32_MAX - 1, &uid) < 0) {
		pw = colon ? NULL : getpwnam(user);
		if (!pw)
			return colon ? -EINVAL : -ENOENT;
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else if (colon) {
		if (parse_u64(colon + 1, 0, UINT32_MAX - 1, &gid) < 0)
			return -EINVAL;
	} else {
		pw = getpwuid((uid_t)uid);
		gid = pw ? pw->pw_gid : uid;
	}
	j->uid = (uid_t)uid;
	j->gid = (gid_t)gid;
	j->user_set = true;
	return 0;
}

/**
 * creds_identity() - the identity a root capsa takes: --user, else nobody.
 * @run: the jail run; run->uid and run->gid are set.
 *
 * Looked up now, while /etc/passwd can still be read.
 */
void
creds_identity(struct jail_run *run)
{
	struct passwd *pw;

	run->uid = run->gid = JAIL_NOBODY;
	if (run->j->user_set) {
		run->uid = run->j->uid;
		run->gid = run->j->gid;
	} else if (run->root && (pw = getpwnam("nobody"))) {
		run->uid = pw->pw_uid;
		run->gid = pw->pw_gid;
	}
}

/**
 * stage_no_new_privs() - no_new_privs, and not dumpable.
 *
 * Return: 0 or -errno.
 */
int
stage_no_new_privs(struct jail_run *run, char *detail, size_t len)
{
	(void)run;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_detail(detail, len, -errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return jail_detail(detail, len, -errno, "PR_SET_DUMPABLE: %s", strerror(errno));
	return jail_detail(detail, len, 0, "no_new_privs set, not dumpable");
}

/* Dropping from the bounding set needs CAP_SETPCAP: root or a user namespace. */
static int
drop_bounding(void)
{
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	return 0;
}

static int
clear_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/*
 * Leaving uid 0 also empties the permitted and effective sets. A :rw
 * share served as its owner keeps that owner as the saved ids: the only
 * identity besides --user a capsa thread can take again, and only as its
 * filesystem identity (setfsuid), which no filter but the share threads'
 * allows.
 */
static int
switch_user(const struct jail_run *run)
{
	const struct jail *j = run->j;
	uid_t suid = j->fs_id ? j->fs_uid : run->uid;
	gid_t sgid = j->fs_id ? j->fs_gid : run->gid;

	if (setgroups(0, NULL) < 0 || setresgid(run->gid, run->gid, sgid) < 0 ||
	    setresuid(run->uid, run->uid, suid) < 0)
		return -errno;
	return 0;
}

/**
 * stage_capabilities() - drop every capability; leave root for --user.
 *
 * Each part is tried even when an earlier one failed.
 *
 * Return: 0 or -errno of the first part that failed.
 */
int
stage_capabilities(struct jail_run *run, char *detail, size_t len)
{
	int bounding = drop_bounding();
	int user = run->root ? switch_user(run) : 0;
	int caps = clear_caps();

	if (bounding)
		return jail_detail(detail, len, bounding, "bounding set kept (%s)%s", strerror(-bounding),
				 caps ? "; others kept too" : "; others dropped");
	if (user)
		return jail_detail(detail, len, user, "cannot become uid %u gid %u: %s",
				 run->uid, run->gid, strerror(-user));
	if (caps)
		return jail_detail(detail, len, caps, "capset: %s", strerror(-caps));
	if (run->root)
		return jail_detail(detail, len, 0, "all dropped; now uid %u gid %u", run->uid, run->gid);
	return jail_detail(detail, len, 0, "all dropped%s",
			   run->j->user_set ? "; --user ignored: not started as root" : "");
}

static int
set_limit(int resource, rlim_t value)
{
	struct rlimit rl = { value, value };

	return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

/**
 * stage_rlimits() - limit open files (what is open, the spare, and the
 * shares' budget), core dumps and (if nothing writes a file) file size.
 *
 * Return: 0 or -errno.
 */
int
stage_rlimits(struct jail_run *run, char *detail, size_t len)
{
	struct rlimit cur;
	rlim_t nofile = (rlim_t)run->max_fd + 1 + JAIL_SPARE_FDS + run->j->extra_fds;
	int err;

	if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_max < nofile)
		nofile = cur.rlim_max;
	err = set_limit(RLIMIT_NOFILE, nofile);
	if (!err)
		err = set_limit(RLIMIT_CORE, 0);
	if (!err && run->written_fd < 0)
		err = set_limit(RLIMIT_FSIZE, 0);
	if (err)
		return jail_detail(detail, len, err, "setrlimit: %s", strerror(-err));
	if (run->written_fd >= 0)
		return jail_detail(detail, len, 0, "nofile %lu, core 0, fsize unlimited "
				 "(fd %d writes a file)", (unsigned long)nofile, run->written_fd);
	return jail_detail(detail, len, 0, "nofile %lu, core 0, fsize 0", (unsigned long)nofile);
}
