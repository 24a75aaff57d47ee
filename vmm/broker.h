/* SPDX-License-Identifier: MIT */
/*
 * broker.h - the helper outside the jail: connects for the --vsock bridge,
 * and removes capsa's sockets when capsa is gone, even after kill -9.
 */
#ifndef CAPSA_BROKER_H
#define CAPSA_BROKER_H

#include <stdint.h>

int broker_own_path(const char *path);
int broker_listen(const char *path);
int broker_bridge(const char *path);
int broker_start(void);
int broker_connect(uint32_t port);

#endif
