// SPDX-License-Identifier: MIT
/*
 * nettool.c - what the network VM tests need and busybox lacks.
 *
 *   nettool mktap NAME        create a persistent tap (like ip tuntap add)
 *   nettool rmtap NAME        delete a persistent tap
 *   nettool hold NAME         attach to tap NAME and wait, to make it busy;
 *                             "nettool: holding" on stderr once attached
 *   nettool nocap CMD [ARG..] run CMD without CAP_NET_ADMIN
 *   nettool junk IFACE N      send N odd frames out of IFACE (AF_PACKET):
 *                             minimum-size, maximum-size for its MTU,
 *                             broadcast floods; prints how many went out
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

static int
die(const char *what)
{
	fprintf(stderr, "nettool: %s: %s\n", what, strerror(errno));
	return 1;
}

static int
tun_attach(const char *name, short flags)
{
	struct ifreq ifr = { .ifr_flags = flags };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
persist(const char *name, int on)
{
	int fd = tun_attach(name, IFF_TAP | IFF_NO_PI);

	if (fd < 0 || ioctl(fd, TUNSETPERSIST, on) < 0)
		return die(name);
	close(fd);
	return 0;
}

static int
hold(const char *name)
{
	int fd = tun_attach(name, IFF_TAP | IFF_NO_PI);

	if (fd < 0)
		return die(name);
	fprintf(stderr, "nettool: holding\n");
	for (;;)
		pause();
}

/* Root keeps only the bounding set's capabilities across exec. */
static int
nocap(char **argv)
{
	if (prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) < 0)
		return die("PR_CAPBSET_DROP");
	execvp(argv[0], argv);
	return die(argv[0]);
}

static int
mtu(int s, const char *iface)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	return ioctl(s, SIOCGIFMTU, &ifr) < 0 ? 1500 : ifr.ifr_mtu;
}

/* Frame i of the junk: sizes cycle through the smallest and largest. */
static size_t
junk_frame(unsigned char *f, unsigned i, size_t max)
{
	static const size_t sizes[] = { ETH_HLEN, ETH_HLEN + 1, 60, 0, 1514, 0 };
	size_t len = sizes[i % 6] ? sizes[i % 6] : max;

	memset(f, 0xff, 6);			/* broadcast: every host takes it */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x88;				/* a local experimental ethertype */
	f[13] = 0xb5;
	for (size_t k = ETH_HLEN; k < len; k++)
		f[k] = (unsigned char)(k * 7 + i);
	return len > max ? max : len;
}

static int
junk(const char *iface, unsigned n)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_halen = 6 };
	int s = socket(AF_PACKET, SOCK_RAW, 0);
	unsigned char *f = malloc(65536 + ETH_HLEN);
	unsigned sent = 0;
	size_t max;

	if (s < 0 || !f)
		return die("socket");
	a.sll_ifindex = (int)if_nametoindex(iface);
	if (!a.sll_ifindex)
		return die(iface);
	max = (size_t)mtu(s, iface) + ETH_HLEN;
	for (unsigned i = 0; i < n; i++) {
		size_t len = junk_frame(f, i, max);

		if (sendto(s, f, len, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)len)
			sent++;
	}
	printf("%u\n", sent);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "mktap"))
		return persist(argv[2], 1);
	if (argc >= 3 && !strcmp(argv[1], "rmtap"))
		return persist(argv[2], 0);
	if (argc >= 3 && !strcmp(argv[1], "hold"))
		return hold(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "nocap"))
		return nocap(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "junk"))
		return junk(argv[2], (unsigned)atoi(argv[3]));
	fprintf(stderr, "usage: nettool mktap|rmtap|hold NAME | nocap CMD... | junk IFACE N\n");
	return 2;
}
