// SPDX-License-Identifier: MIT
/*
 * hostnet.c - what capsa opens on the host for the guest's vsock
 * services before the VM exists: the --vsock PATH listener, the broker
 * (for --vsock and --net user), the --net-log file, and the -p listeners.
 *
 * The order matters. The broker is forked before the VM exists, so it
 * inherits no guest memory and no KVM fd, and before the -p listeners, so
 * a published port closes with capsa. --vsock PATH is bound before the
 * broker, which removes it when capsa is gone. The log file is the
 * broker's alone.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostnet.h"
#include "options.h"
#include "util.h"
#include "../net/broker.h"
#include "../net/policy.h"
#include "../virtio/vsock.h"

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
open_log(const struct capsa_config *cfg, char *err, size_t errlen)
{
	int fd;

	if (!cfg->net_log)
		return -1;
	fd = open(cfg->net_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		fail(err, errlen, "--net-log %s: %s", cfg->net_log, strerror(errno));
	return fd < 0 ? -2 : fd;
}

/**
 * hostnet_open() - bind, fork and open what the services need; see above.
 * @cfg:    the run.
 * @h:      filled in.
 * @err:    one line on failure.
 * @errlen: its size.
 *
 * Return: 0, or -1 with @err set.
 */
int
hostnet_open(const struct capsa_config *cfg, struct hostnet *h, char *err, size_t errlen)
{
	struct broker_config bc = { cfg->policy, NULL, -1, cfg->verbose, cfg->jail.mode };
	char path[108];
	int e;

	*h = (struct hostnet){ .bridge_fd = -1, .broker_fd = -1 };
	if (cfg->vsock_path) {
		h->bridge_fd = bridge_bind(cfg->vsock_path, path, sizeof(path));
		if (h->bridge_fd == -EEXIST)
			return fail(err, errlen, "--vsock %s: already exists (capsa creates the socket)",
				    cfg->vsock_path);
		if (h->bridge_fd < 0)
			return fail(err, errlen, "--vsock %s: %s", cfg->vsock_path,
				    strerror(-h->bridge_fd));
		bc.vsock_path = path;
	}
	bc.log_fd = open_log(cfg, err, errlen);
	if (bc.log_fd == -2) {
		if (cfg->vsock_path)
			unlink(path);
		return -1;
	}
	if (cfg->vsock_path || cfg->net_user) {
		e = broker_start(&bc, &h->broker_fd, &h->broker_pid);
		if (bc.log_fd >= 0)
			close(bc.log_fd);
		if (e) {
			if (cfg->vsock_path)
				unlink(path);
			return fail(err, errlen, "cannot start the broker: %s", strerror(-e));
		}
	}
	for (unsigned i = 0; i < cfg->npublish; i++) {
		h->publish_fd[i] = publish_listen(&cfg->publish[i], err, errlen);
		if (h->publish_fd[i] < 0)
			return -1;	/* the broker sees capsa exit, and removes PATH */
	}
	return 0;
}

/**
 * hostnet_attach() - give the vsock device what hostnet_open() made.
 *
 * Return: 0, or -1 with @err set.
 */
int
hostnet_attach(const struct capsa_config *cfg, struct hostnet *h, struct vsock_dev *v,
	       char *err, size_t errlen)
{
	int e = 0;

	if (h->broker_fd >= 0)
		e = vsock_broker(v, h->broker_fd, h->broker_pid, cfg->net_user);
	if (!e && h->bridge_fd >= 0)
		e = vsock_bridge(v, h->bridge_fd);
	for (unsigned i = 0; !e && i < cfg->npublish; i++)
		e = vsock_publish(v, h->publish_fd[i], cfg->publish[i].guest_port);
	if (e)
		return fail(err, errlen, "cannot set up the vsock services: %s", strerror(-e));
	if (cfg->net_user)
		log_info("--net user: %u rules; the broker is pid %d", cfg->policy->n,
			 (int)h->broker_pid);
	return 0;
}
