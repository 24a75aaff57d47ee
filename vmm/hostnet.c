// SPDX-License-Identifier: MIT
/*
 * hostnet.c - the host side of --net user and -p, set up around the
 * broker's start (capsa.c's open_sockets()).
 *
 * Before the broker is forked: the --net-log file is opened (it becomes
 * the broker's alone) and the broker is told to serve --net user. After:
 * the vsock device is joined to the broker's channel, and each -p
 * listener is bound, so the broker never holds one and a published port
 * closes with capsa, even after kill -9. A port in use, or a privileged
 * one without the right, is one line and exit 125, before the guest runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "hostnet.h"
#include "options.h"
#include "util.h"
#include "net/policy.h"
#include "../virtio/vsock.h"

/**
 * hostnet_open() - before the broker starts: --net-log, and --net user's policy.
 * @cfg:    the run.
 * @err:    one line on failure.
 * @errlen: its size.
 *
 * Return: 0, or -1 with @err set.
 */
int
hostnet_open(const struct capsa_config *cfg, char *err, size_t errlen)
{
	int fd = -1;

	if (!cfg->net_user)
		return 0;
	if (cfg->net_log) {
		fd = open(cfg->net_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
		if (fd < 0)
			return errmsg(err, errlen, "--net-log %s: %s", cfg->net_log, strerror(errno));
	}
	broker_net(cfg->policy, fd, cfg->verbose, cfg->jail.mode);
	return 0;
}

/**
 * hostnet_attach() - after the broker starts: its streams, and -p's listeners.
 *
 * Return: 0, or -1 with @err set.
 */
int
hostnet_attach(const struct capsa_config *cfg, struct vsock_dev *v, char *err, size_t errlen)
{
	int fd = broker_channel(), e = 0;

	if (fd >= 0)
		e = vsock_broker(v, fd, cfg->net_user);
	for (unsigned i = 0; !e && i < cfg->npublish; i++) {
		fd = publish_listen(&cfg->publish[i], err, errlen);
		if (fd < 0)
			return -1;
		e = vsock_publish(v, fd, cfg->publish[i].guest_port);
	}
	if (e)
		return errmsg(err, errlen, "cannot set up the network services: %s", strerror(-e));
	if (cfg->net_user)
		log_info("--net user: %u rules, served by the broker", cfg->policy->n);
	return 0;
}
