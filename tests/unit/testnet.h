/* SPDX-License-Identifier: MIT */
/*
 * testnet.h - a test internet, served from the test's own network and mount
 * namespaces, in which the documentation prefixes are local (an "AnyIP"
 * route on lo, guest/nlroute.c) and the names are in a private /etc/hosts:
 *
 *   www.test, api.test  192.0.2.10    HTTP on 80 (answers with the Host it
 *                                     got), a TLS stand-in on 443
 *   echo.test           203.0.113.7, 2001:db8::7   echo on 7
 *   meta.test           169.254.169.254 (nothing there: must be refused)
 *   the host's loopback 127.0.0.1:8080 echo, as host.capsa.internal
 *   the name server     127.0.0.1:53, the private /etc/resolv.conf's:
 *                                     NXDOMAIN to every question
 *
 * The servers run in a process of their own, so that the test's own
 * process has no thread when it forks. Needs root (or a user namespace) for
 * the namespaces. No packet can leave: the namespace has no device but lo.
 */
#ifndef CAPSA_TEST_TESTNET_H
#define CAPSA_TEST_TESTNET_H

#include <stdbool.h>

bool testnet_up(void);
void testnet_down(void);

#endif
