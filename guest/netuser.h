/* SPDX-License-Identifier: MIT */
/*
 * netuser.h - the guest half of --net user and --publish (netuser.c and
 * its parts).
 */
#ifndef CAPSA_NETUSER_H
#define CAPSA_NETUSER_H

int route_local(int family, const void *addr, unsigned prefix);

#endif
