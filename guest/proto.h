/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the contract between capsa (host) and its init (guest).
 *
 * Per run, capsa appends a cpio archive to the initramfs holding
 * RUN_CONFIG_PATH: a sequence of records, each one tag byte, then bytes
 * other than NUL, then a NUL. Tags below; argv elements and environment
 * entries repeat, in order.
 *
 * The init then connects vsock streams to the host (CID 2) on the fixed
 * ports below. The command's stdin, stdout and stderr are three of them;
 * the control stream carries struct capsa_msg records both ways. With
 * RUN_EXEC the init also listens on PORT_EXEC before it reports MSG_READY,
 * and serves each connection capsa makes there as one `capsa exec`
 * (guest/exec.c; the protocol is exec_wire.h's).
 */
#ifndef CAPSA_PROTO_H
#define CAPSA_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define RUN_CONFIG_PATH "/.capsa/run"

enum run_tag {
	RUN_ARG = 'a',		/* one argv element */
	RUN_ENV = 'e',		/* KEY=VALUE */
	RUN_CWD = 'w',		/* working directory */
	RUN_HOSTNAME = 'h',
	RUN_TTY = 't',		/* "ROWSxCOLS": give the command a pty */
	RUN_COPY = 'c',		/* "N:PATH": move RUN_COPY_DIR/N to PATH */
	RUN_NET = 'n',		/* "eth0": the network interface to bring up */
	RUN_NET_IP = 'i',	/* "ADDR/PREFIX": its IPv4 address */
	RUN_NET_GW = 'g',	/* "ADDR": the default gateway */
	RUN_ROOTFS = 'r',	/* "ro" or "rw": the root is on /dev/vda, see rootfs.c */
	RUN_EXEC = 'x',		/* "1": serve `capsa exec` on PORT_EXEC (--control) */
	RUN_SHARE = 's',	/* "ro:TAG:/PATH" or "rw:...": mount virtio-fs TAG at PATH */
	RUN_ROOT_SHARE = 'R',	/* "TAG": with RUN_ROOTFS, the root is virtio-fs TAG */
	RUN_NET_USER = 'u',	/* "1": --net user, see netuser.c */
	RUN_PUBLISH = 'p',	/* "GUESTPORT": -p, once for each guest port */
};

#define RUN_COPY_DIR "/.capsa/copy"

#define HOST_CID 2
#define CAPSA_PORT_BASE 0x43500000U	/* far from ports users pick */
enum capsa_port {
	PORT_CONTROL = CAPSA_PORT_BASE,
	PORT_STDIN,
	PORT_STDOUT,
	PORT_STDERR,
	PORT_EXEC,		/* the guest listens: one connection per `capsa exec` */
	PORT_NET,		/* --net user: one stream per connection (net/wire.h) */
};
/* -p: the guest's helper listens on this plus GUESTPORT for each published port. */
#define PORT_PUBLISH_BASE 0x43510000U

/* Control messages; both ends are x86-64 and little-endian. */
enum capsa_msg_type {
	MSG_EXIT = 1,		/* guest: the command ended; value = exit status */
	MSG_SIGNAL = 2,		/* host: deliver signal `value` to the command */
	MSG_WINSIZE = 3,	/* host: rows << 16 | cols */
	MSG_READY = 4,		/* guest: init is up and connected */
};

struct capsa_msg {
	uint32_t type;
	int32_t value;
};

/**
 * run_next() - iterate over the records of a run configuration.
 * @buf: the whole file.
 * @len: its length.
 * @pos: cursor, start at 0.
 * @tag: the record's tag, filled in.
 *
 * Return: the record's value (NUL-terminated, inside @buf), or NULL at the
 * end or at a truncated record.
 */
static inline const char *
run_next(const char *buf, size_t len, size_t *pos, int *tag)
{
	size_t start = *pos, i;

	if (start + 1 >= len)
		return NULL;
	for (i = start + 1; i < len && buf[i]; i++)
		;
	if (i == len)
		return NULL;
	*tag = (unsigned char)buf[start];
	*pos = i + 1;
	return buf + start + 1;
}

#endif
