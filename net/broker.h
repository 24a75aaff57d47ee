/* SPDX-License-Identifier: MIT */
/*
 * broker.h - the broker: the process outside the VMM's jail that opens
 * what the jailed VMM may not (--vsock PATH_<port> sockets, --net user
 * connections), see the Theory of Operation in net/broker.c.
 */
#ifndef CAPSA_NET_BROKER_H
#define CAPSA_NET_BROKER_H

#include <stdbool.h>
#include <sys/types.h>

#include "../jail/jail.h"

struct net_policy;

struct broker_config {
	struct net_policy *policy;	/* --net user, or NULL */
	const char *vsock_path;		/* --vsock PATH (bound already), or NULL */
	int log_fd;			/* --net-log FILE, or -1 */
	bool verbose;
	enum jail_mode jail;		/* --jail: off leaves the broker unconfined too */
};

int broker_start(const struct broker_config *cfg, int *ctl, pid_t *pid);

#endif
