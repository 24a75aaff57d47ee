/* SPDX-License-Identifier: MIT */
/*
 * broker.h - the VMM's side of the broker, the process outside the jail
 * that connects for the --vsock bridge and --net user, and removes capsa's
 * sockets when capsa is gone, even after kill -9 (vmm/broker.c; the
 * broker itself is net/broker.c).
 */
#ifndef CAPSA_BROKER_H
#define CAPSA_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include "../jail/jail.h"

struct net_policy;

int broker_own_path(const char *path);
int broker_listen(const char *path);
int broker_bridge(const char *path);
void broker_net(struct net_policy *policy, int log_fd, bool verbose, enum jail_mode jail);
int broker_start(void);
int broker_channel(void);
void broker_why(char *buf, size_t len);

#endif
