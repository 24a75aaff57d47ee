/* SPDX-License-Identifier: MIT */
/*
 * netuser.h - the guest half of --net user and -p: a helper process the
 * init starts before the command (netuser.c), its connections (netfwd.c),
 * its DNS (netdns.c), and how the kernel hands it everything (netbpf.c,
 * nlroute.c).
 */
#ifndef CAPSA_NETUSER_H
#define CAPSA_NETUSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NU_MAX_PUBLISH	16
#define NU_BUF		(64 * 1024)	/* per direction of a connection */
#define NU_MAX_CONNS	1024

struct netuser_cfg {
	bool net;			/* --net user */
	bool root_rw;			/* / is a --rootfs IMAGE:rw: never written */
	unsigned publish[NU_MAX_PUBLISH];	/* -p guest ports */
	unsigned npublish;
};

/* What an epoll event is for: the pointer in its data leads here. */
enum nu_kind { NU_TCP_LISTEN, NU_UDP, NU_PUBLISH, NU_FWD_A, NU_FWD_H, NU_DNS_HOST, NU_DNS_TCP };

struct nu_ev {
	enum nu_kind kind;
	void *p;
	int fd;
	uint32_t events;		/* registered now */
};

struct nu_buf {
	size_t off, len;
	uint8_t d[NU_BUF];
};

int netuser_start(const struct netuser_cfg *cfg, char *err, size_t errlen);

/* netuser.c: the loop */
int nu_add(struct nu_ev *ev, enum nu_kind kind, int fd, void *p, uint32_t events);
void nu_set(struct nu_ev *ev, uint32_t events);
void nu_del(struct nu_ev *ev);
void nu_free_later(void *p);
int vsock_host(bool *connecting);

/* netfwd.c: one connection, between a guest TCP socket and a vsock stream */
void fwd_intercept(int fd);
void fwd_publish(int vsock_fd, unsigned port);
void fwd_io(struct nu_ev *ev, uint32_t events);

/* netdns.c */
void dns_udp(int fd);
void dns_tcp_new(int fd);
void dns_tcp_io(struct nu_ev *ev, uint32_t events);
void dns_host_io(struct nu_ev *ev, uint32_t events);
const char *dns_name_for(const struct sockaddr_storage *ss);

/* netbpf.c, nlroute.c */
int bpf_intercept(const int fds[4], char *err, size_t errlen);
int route_local(int family, const void *addr, unsigned prefix);

#endif
