// SPDX-License-Identifier: MIT
/*
 * netlab.c - the --net user VM tests' test internet, and the guest
 * programs busybox does not have (tests/vm/t_netuser.sh).
 *
 *   netlab veth NAME PEER PID      a veth pair: NAME here, PEER in the
 *                                  network namespace of PID
 *   netlab sni ADDR PORT LOG       a TLS stand-in: reads each ClientHello,
 *                                  appends its SNI to LOG, answers
 *                                  "sni-ok NAME\n" and closes
 *   netlab echo ADDR PORT          an echo server, a process per client
 *   netlab get ADDR PORT HOST      (in the guest) connect() straight to
 *                                  ADDR:PORT, send an HTTP GET for HOST,
 *                                  print the answer; exit 1 if refused
 *   netlab nobind CMD [ARG...]     run CMD without CAP_NET_BIND_SERVICE
 *   netlab hostile N               (in the guest) malformed and oversized
 *                                  requests on the broker's vsock port,
 *                                  then N streams held open at once;
 *                                  prints what happened to each
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/vm_sockets.h>

#include "../../guest/proto.h"

static int
die(const char *what)
{
	fprintf(stderr, "netlab: %s: %s\n", what, strerror(errno));
	return 1;
}

/* ---- veth ------------------------------------------------------------ */

static struct rtattr *
attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (data)
		memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void
nest_end(struct nlmsghdr *h, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)h + h->nlmsg_len - (char *)a);
}

static int
veth(const char *name, const char *peer, int pid)
{
	char buf[1024] = { 0 };
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *info, *data, *p;
	struct nlmsgerr *e;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	h->nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	h->nlmsg_type = RTM_NEWLINK;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	attr(h, IFLA_IFNAME, name, strlen(name) + 1);
	info = attr(h, IFLA_LINKINFO, NULL, 0);
	attr(h, IFLA_INFO_KIND, "veth", 4);
	data = attr(h, IFLA_INFO_DATA, NULL, 0);
	p = attr(h, VETH_INFO_PEER, NULL, 0);
	h->nlmsg_len += sizeof(struct ifinfomsg);	/* the peer's ifinfomsg, zero */
	attr(h, IFLA_IFNAME, peer, strlen(peer) + 1);
	attr(h, IFLA_NET_NS_PID, &pid, sizeof(pid));
	nest_end(h, p);
	nest_end(h, data);
	nest_end(h, info);
	if (s < 0 || send(s, buf, h->nlmsg_len, 0) < 0 || recv(s, buf, sizeof(buf), 0) < 0)
		return die("netlink");
	e = NLMSG_DATA(h);
	if (h->nlmsg_type == NLMSG_ERROR && e->error) {
		errno = -e->error;
		return die("RTM_NEWLINK veth");
	}
	return 0;
}

/* ---- servers ----------------------------------------------------------- */

static int
listen_on(const char *addr, int port)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int v6 = strchr(addr, ':') != NULL, one = 1;
	int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6 ? inet_pton(AF_INET6, addr, &s6.sin6_addr) != 1 : inet_pton(AF_INET, addr, &s4.sin_addr) != 1)
		return -1;
	if ((v6 ? bind(s, (void *)&s6, sizeof(s6)) : bind(s, (void *)&s4, sizeof(s4))) < 0 ||
	    listen(s, 128) < 0)
		return -1;
	return s;
}

/* The SNI of a ClientHello in one TLS record, or "" (a test server: lenient). */
static void
sni_of(const unsigned char *b, size_t n, char *out, size_t len)
{
	size_t i = 5 + 4 + 2 + 32;

	out[0] = 0;
	if (n < i + 1 || b[0] != 22 || b[5] != 1)
		return;
	i += 1 + b[i];
	if (i + 2 > n)
		return;
	i += 2 + (size_t)(b[i] << 8 | b[i + 1]);
	if (i + 1 > n)
		return;
	i += 1 + b[i];
	i += 2;					/* extensions length */
	while (i + 4 <= n) {
		size_t type = (size_t)(b[i] << 8 | b[i + 1]), l = (size_t)(b[i + 2] << 8 | b[i + 3]);

		if (type == 0 && i + 9 <= n) {
			size_t nl = (size_t)(b[i + 7] << 8 | b[i + 8]);

			if (i + 9 + nl <= n && nl < len) {
				memcpy(out, b + i + 9, nl);
				out[nl] = 0;
			}
			return;
		}
		i += 4 + l;
	}
}

static int
sni(const char *addr, int port, const char *log)
{
	int s = listen_on(addr, port);

	if (s < 0)
		return die("listen");
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		unsigned char b[16384];
		char name[256], msg[300];
		size_t got = 0;
		ssize_t n;
		int c = accept(s, NULL, NULL), fd;

		if (c < 0)
			continue;
		while (got < sizeof(b) && (n = read(c, b + got, sizeof(b) - got)) > 0) {
			got += (size_t)n;
			if (got >= 5 && got >= 5 + (size_t)(b[3] << 8 | b[4]))
				break;
		}
		sni_of(b, got, name, sizeof(name));
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		n = snprintf(msg, sizeof(msg), "%s\n", name[0] ? name : "(none)");
		(void)!write(fd, msg, (size_t)n);
		close(fd);
		n = snprintf(msg, sizeof(msg), "sni-ok %s\n", name);
		(void)!write(c, msg, (size_t)n);
		close(c);
	}
}

static int
echo(const char *addr, int port)
{
	int s = listen_on(addr, port);

	if (s < 0)
		return die("listen");
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		if (fork() == 0) {
			char b[65536];
			ssize_t n;

			while ((n = read(c, b, sizeof(b))) > 0)
				if (write(c, b, (size_t)n) != n)
					break;
			_exit(0);
		}
		close(c);
	}
}

/* ---- in the guest ---------------------------------------------------------- */

static int
get(const char *addr, int port, const char *host)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int v6 = strchr(addr, ':') != NULL, s = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	char b[4096];
	ssize_t n, total = 0;

	if (v6)
		inet_pton(AF_INET6, addr, &s6.sin6_addr);
	else
		inet_pton(AF_INET, addr, &s4.sin_addr);
	if ((v6 ? connect(s, (void *)&s6, sizeof(s6)) : connect(s, (void *)&s4, sizeof(s4))) < 0)
		return die("connect");
	n = snprintf(b, sizeof(b), "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", host);
	if (write(s, b, (size_t)n) != n)
		return die("write");
	while ((n = read(s, b, sizeof(b))) > 0) {
		fwrite(b, 1, (size_t)n, stdout);
		total += n;
	}
	if (n < 0)
		return die("read");
	return total ? 0 : 1;
}

static int
vsock_net(void)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = HOST_CID, .svm_port = PORT_NET };
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

/* Send @len bytes of @req; what came back: "closed", "reply N", or "open". */
static const char *
try_request(const void *req, size_t len)
{
	static char out[32];
	unsigned char rep[16];
	struct timeval tv = { 15, 0 };	/* past the broker's deadline for a request */
	int s = vsock_net();
	ssize_t n;

	if (s < 0)
		return "refused";
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)!write(s, req, len);
	n = read(s, rep, sizeof(rep));
	snprintf(out, sizeof(out), n == 16 ? "reply %u" : n == 0 ? "closed" : n < 0 ? "open" : "short",
		 rep[4]);
	close(s);
	return out;
}

static int
hostile(int flood)
{
	unsigned char req[288] = { 0 }, big[70000];
	int *fds = calloc((size_t)flood, sizeof(int)), held = 0, refused = 0;

	printf("garbage: %s\n", try_request("hello broker, let me out\n", 25));
	memcpy(req, "\x63\x6e\x65\x74", 4);		/* NET_MAGIC */
	req[4] = 1, req[5] = 4, req[6] = 80, req[8] = 203, req[24 + 6] = 254;	/* name_len 254 */
	printf("name_len 254: %s\n", try_request(req, sizeof(req)));
	req[24 + 6] = 3, memcpy(req + 32, "a b", 3);
	printf("bad name: %s\n", try_request(req, sizeof(req)));
	memset(big, 'A', sizeof(big));
	printf("oversized: %s\n", try_request(big, sizeof(big)));
	for (int i = 0; i < flood; i++) {
		fds[i] = vsock_net();
		held += fds[i] >= 0;
		refused += fds[i] < 0;
	}
	printf("flood: %d held, %d refused\n", held, refused);
	for (int i = 0; i < flood; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 0;
}

/* Root keeps only the bounding set's capabilities across exec. */
static int
nobind(char **argv)
{
	if (prctl(PR_CAPBSET_DROP, CAP_NET_BIND_SERVICE, 0, 0, 0) < 0)
		return die("PR_CAPBSET_DROP");
	execvp(argv[0], argv);
	return die(argv[0]);
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "nobind"))
		return nobind(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "veth"))
		return veth(argv[2], argv[3], atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "sni"))
		return sni(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 4 && !strcmp(argv[1], "echo"))
		return echo(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "get"))
		return get(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 3 && !strcmp(argv[1], "hostile"))
		return hostile(atoi(argv[2]));
	fprintf(stderr, "usage: netlab veth|sni|echo|get|hostile ...\n");
	return 2;
}
