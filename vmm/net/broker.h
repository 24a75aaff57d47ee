/* SPDX-License-Identifier: MIT */
/*
 * broker.h - the broker process (vmm/net/broker.c): what it is forked with.
 * The VMM's side of it is vmm/broker.h.
 */
#ifndef CAPSA_NET_BROKER_H
#define CAPSA_NET_BROKER_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include "../../jail/jail.h"

#define BROKER_MAX_OWNED 4
#define BROKER_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* A socket capsa created, removed at the end while it is still that socket. */
struct broker_owned {
	char path[BROKER_PATH_MAX];
	dev_t dev;
	ino_t ino;
};

struct net_policy;

struct broker_config {
	struct broker_owned owned[BROKER_MAX_OWNED];
	unsigned nowned;
	char bridge[BROKER_PATH_MAX];	/* --vsock: connect <bridge>_<port>; "" none */
	struct net_policy *policy;	/* --net user, or NULL */
	int log_fd;			/* --net-log FILE, or -1 */
	bool verbose;
	enum jail_mode jail;		/* --jail: off leaves the broker unconfined too */
};

void __attribute__((noreturn)) broker_main(int ctl, const struct broker_config *cfg);
void broker_remove_owned(const struct broker_config *cfg);

#endif
