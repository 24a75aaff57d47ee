/* SPDX-License-Identifier: MIT */
/*
 * options.h - capsa's command line, parsed into a struct capsa_config.
 */
#ifndef CAPSA_OPTIONS_H
#define CAPSA_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "../jail/jail.h"

#define DEFAULT_MEMORY_MIB 512
#define MIN_MEMORY_MIB 64
#define MAX_MEMORY_MIB (64 * 1024)
#define MAX_CPUS 64
#define MAX_RUN_BYTES (1024 * 1024)	/* argv + environment, as in the guest */
#define DEFAULT_KILL_AFTER_S 10		/* as docker stop waits */
#define MAX_DISKS 16			/* --disk: /dev/vda to /dev/vdp */
#define MAX_SHARES 16			/* --share; a directory --rootfs is one more */
#define MAX_PUBLISH 16			/* -p */

enum tty_mode { TTY_AUTO, TTY_FORCE, TTY_NEVER };
enum action { ACT_RUN, ACT_HELP, ACT_VERSION, ACT_CHECK };

struct strlist {
	char **v;
	unsigned n;
};

/* A --disk or --rootfs image: FILE, FILE:ro or FILE:rw. */
struct disk_spec {
	const char *path;		/* NULL: not given */
	bool ro;
};

/* A --share HOST[:GUEST][:ro|:rw], or a directory given to --rootfs. */
struct share_spec {
	const char *host;
	const char *guest;		/* absolute, normalized; "/" for the root */
	bool ro;
	bool root;			/* --rootfs DIR */
};

/* -p [HOSTADDR:]HOSTPORT:GUESTPORT */
struct publish_spec {
	uint8_t family;			/* of HOSTADDR: 4 or 6 */
	uint8_t addr[16];
	uint16_t host_port, guest_port;
};

struct net_policy;

struct capsa_config {
	enum action action;
	bool exec;			/* capsa exec PATH: a client of --control PATH */
	uint64_t memory_mib;
	unsigned cpus;
	bool verbose;
	enum tty_mode tty;
	uint64_t timeout_s;		/* 0: none */
	uint64_t kill_after_s;		/* after a forwarded signal; 0: never */
	const char *workdir;
	const char *vsock_path;		/* --vsock: Firecracker-style unix socket */
	const char *control_path;	/* --control: the socket `capsa exec` connects to */
	uint64_t cid;			/* the guest's vsock address */
	const char *net_tap;		/* --net tap:NAME: NAME, or NULL for no network */
	uint8_t mac[6];			/* --mac, valid when mac_set */
	bool mac_set;
	const char *ip;			/* --ip ADDR/PREFIX, as given (checked) */
	const char *gateway;		/* --gateway ADDR (checked) */
	bool net_user;			/* --net user, --allow or --deny */
	struct net_policy *policy;	/* their rules */
	const char *net_log;		/* --net-log FILE */
	struct publish_spec publish[MAX_PUBLISH];
	unsigned npublish;
	struct jail jail;		/* --jail, --user; kept directories */
	struct strlist env;		/* KEY=VALUE, in order; later wins */
	struct strlist copies;		/* HOST_PATH[:GUEST_PATH] */
	struct disk_spec rootfs;	/* --rootfs: /dev/vda, root of the guest */
	struct disk_spec disks[MAX_DISKS];	/* --disk, in order, after the rootfs */
	unsigned ndisks;
	bool rootfs_dir;		/* --rootfs names a directory: the last share */
	struct share_spec shares[MAX_SHARES + 1];	/* sorted by guest path */
	unsigned nshares;
	char **argv;			/* the command */
	int argc;
};

int options_parse(struct capsa_config *cfg, int argc, char **argv,
		  char *err, unsigned errlen);
void options_usage(bool exec);
int strlist_add(struct strlist *l, char *s);
int netopt_net(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
int netopt_mac(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
int netopt_ip(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
int netopt_gateway(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
int netopt_allow(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
int netopt_deny(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
int netopt_log(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
int netopt_publish(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
int netopt_check(const struct capsa_config *cfg, char *err, unsigned errlen);
int shebang_split(const char *line, struct strlist *words, char *err, unsigned errlen);
int shebang_expand(struct capsa_config *cfg, int *argc, char ***argv, char *err, unsigned errlen);

#endif
