/* SPDX-License-Identifier: MIT */
/*
 * hostnet.h - the host side of the guest's vsock services, opened before
 * the VM (hostnet.c).
 */
#ifndef CAPSA_HOSTNET_H
#define CAPSA_HOSTNET_H

#include <stddef.h>
#include <sys/types.h>

#include "options.h"

struct vsock_dev;

struct hostnet {
	int bridge_fd;			/* --vsock PATH's listener, or -1 */
	int broker_fd;			/* the broker's channel, or -1 */
	pid_t broker_pid;
	int publish_fd[MAX_PUBLISH];	/* -p listeners */
};

int hostnet_open(const struct capsa_config *cfg, struct hostnet *h, char *err, size_t errlen);
int hostnet_attach(const struct capsa_config *cfg, struct hostnet *h, struct vsock_dev *v,
		   char *err, size_t errlen);

#endif
