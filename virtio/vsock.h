/* SPDX-License-Identifier: MIT */
/*
 * vsock.h - virtio-vsock device: stream sockets between guest and host.
 */
#ifndef CAPSA_VSOCK_H
#define CAPSA_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vm;
struct loop;
struct vsock_dev;
struct vsock_exec;
struct publish_spec;

struct vsock_dev *vsock_create(struct vm *vm, struct loop *loop, uint64_t base,
			       unsigned irq, uint64_t guest_cid);
int vsock_expose(struct vsock_dev *d, uint32_t port, int in_fd, int out_fd);
void vsock_flush(struct vsock_dev *d, int timeout_ms);
int vsock_bridge(struct vsock_dev *d, const char *path);
struct vsock_exec *vsock_exec_listen(struct vsock_dev *d, const char *path, int *err);
void vsock_exec_ready(struct vsock_exec *x);
int vsock_broker(struct vsock_dev *d, int fd, bool net);
int publish_listen(const struct publish_spec *p, char *err, size_t errlen);
int vsock_publish(struct vsock_dev *d, int fd, uint16_t guest_port);

#endif
