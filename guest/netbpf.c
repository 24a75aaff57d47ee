// SPDX-License-Identifier: MIT
/*
 * netbpf.c - the guest kernel hands the helper every connection: a BPF
 * sk_lookup program, attached to the guest's network namespace.
 *
 * With the local routes of nlroute.c every address is the guest's own, so
 * a connect() to 203.0.113.7:443 stays in the guest and its SYN looks for
 * a listener there. sk_lookup programs run at that moment, before the
 * kernel's own listener lookup, and may pick the socket: this one picks
 * the helper's TCP listener (one per family, from a SOCKMAP) for every TCP
 * destination that is not the guest's loopback, and its UDP socket for
 * port 53 anywhere (so DNS to any resolver, or to 127.0.0.1 when the
 * image has no resolv.conf, reaches capsa). The accepted socket's own
 * address is then the destination the program asked for: no NAT, no
 * conntrack table, the same for IPv4 and IPv6, and nothing to configure
 * beyond one route per family and this program. Why not netfilter
 * REDIRECT: it needs conntrack state per connection and SO_ORIGINAL_DST,
 * a table filled through the xtables or nftables netlink ABI (hundreds of
 * lines of blobs), two of each for IPv4 and IPv6. (Chosen for that, not
 * measured against it: REDIRECT was not built.)
 *
 * The program, 42 instructions assembled here (the verifier checks it):
 *
 *   proto = ctx->protocol; fam = ctx->family
 *   TCP:  key = fam == AF_INET ? 0 : 1; loopback destinations pass
 *   UDP:  only port 53; key = fam == AF_INET ? 2 : 3
 *   sk = map[key]; if sk: bpf_sk_assign(ctx, sk, 0); bpf_sk_release(sk)
 *   return SK_PASS (the kernel's own lookup, if nothing was assigned)
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "netuser.h"

#define CTX(f)	offsetof(struct bpf_sk_lookup, f)

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
					       .off = (o), .imm = (i) })
#define MOV64_REG(d, s)		INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i)		INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD64_IMM(d, i)		INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define AND32_IMM(d, i)		INSN(BPF_ALU | BPF_AND | BPF_K, d, 0, 0, i)
#define LDX_W(d, s, o)		INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define STX_W(d, s, o)		INSN(BPF_STX | BPF_MEM | BPF_W, d, s, o, 0)
#define JEQ_IMM(d, i, o)	INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JNE_IMM(d, i, o)	INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define JA(o)			INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL(f)			INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()			INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP_FD(d, fd)	INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), \
				INSN(0, 0, 0, 0, 0)

static long
bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

/* A jump to a label, resolved by assemble(). */
struct ins {
	struct bpf_insn i;
	int to;			/* label, or -1 */
	int label;		/* this is a label, not an instruction: its number, or -1 */
};

#define I(x)		{ x, -1, -1 }
#define J(x, l)		{ x, l, -1 }
#define LABEL(l)	{ { 0 }, -1, l }

enum { L_TCP, L_V6, L_LOOKUP, L_PASS, NLABELS };

/* Labels out, jump offsets in (each counts the instructions after the jump). */
static unsigned
assemble(const struct ins *in, unsigned n, struct bpf_insn *out)
{
	int at[NLABELS] = { 0 };
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++)
		if (in[i].label >= 0)
			at[in[i].label] = (int)k;
		else
			k++;
	k = 0;
	for (unsigned i = 0; i < n; i++) {
		if (in[i].label >= 0)
			continue;
		out[k] = in[i].i;
		if (in[i].to >= 0)
			out[k].off = (short)(at[in[i].to] - (int)k - 1);
		k++;
	}
	return k;
}

static int
load(int map, char *log, size_t loglen)
{
	const struct ins prog[] = {
		I(MOV64_REG(BPF_REG_6, BPF_REG_1)),
		I(LDX_W(BPF_REG_2, BPF_REG_6, CTX(protocol))),
		I(LDX_W(BPF_REG_3, BPF_REG_6, CTX(family))),
		J(JEQ_IMM(BPF_REG_2, IPPROTO_TCP, 0), L_TCP),
		J(JNE_IMM(BPF_REG_2, IPPROTO_UDP, 0), L_PASS),
		/* UDP: port 53 at any address, the guest's loopback included */
		I(LDX_W(BPF_REG_4, BPF_REG_6, CTX(local_port))),
		J(JNE_IMM(BPF_REG_4, 53, 0), L_PASS),
		I(MOV64_IMM(BPF_REG_7, 2)),
		J(JEQ_IMM(BPF_REG_3, AF_INET, 0), L_LOOKUP),
		I(MOV64_IMM(BPF_REG_7, 3)),
		J(JA(0), L_LOOKUP),
		/* TCP: anywhere but the guest's loopback */
		LABEL(L_TCP),
		I(MOV64_IMM(BPF_REG_7, 0)),
		J(JNE_IMM(BPF_REG_3, AF_INET, 0), L_V6),
		I(LDX_W(BPF_REG_4, BPF_REG_6, CTX(local_ip4))),
		I(AND32_IMM(BPF_REG_4, 0xff)),			/* the first byte: network order */
		J(JEQ_IMM(BPF_REG_4, 127, 0), L_PASS),
		J(JA(0), L_LOOKUP),
		LABEL(L_V6),
		I(MOV64_IMM(BPF_REG_7, 1)),
		I(LDX_W(BPF_REG_4, BPF_REG_6, CTX(local_ip6[0]))),
		J(JNE_IMM(BPF_REG_4, 0, 0), L_LOOKUP),
		I(LDX_W(BPF_REG_4, BPF_REG_6, CTX(local_ip6[1]))),
		J(JNE_IMM(BPF_REG_4, 0, 0), L_LOOKUP),
		I(LDX_W(BPF_REG_4, BPF_REG_6, CTX(local_ip6[2]))),
		J(JNE_IMM(BPF_REG_4, 0, 0), L_LOOKUP),
		I(LDX_W(BPF_REG_4, BPF_REG_6, CTX(local_ip6[3]))),
		J(JEQ_IMM(BPF_REG_4, (int)htonl(1), 0), L_PASS),	/* ::1 */
		/* sk = map[key]; bpf_sk_assign(ctx, sk, 0); bpf_sk_release(sk) */
		LABEL(L_LOOKUP),
		I(STX_W(BPF_REG_10, BPF_REG_7, -4)),
		I(INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map)),
		I(INSN(0, 0, 0, 0, 0)),
		I(MOV64_REG(BPF_REG_2, BPF_REG_10)),
		I(ADD64_IMM(BPF_REG_2, -4)),
		I(CALL(BPF_FUNC_map_lookup_elem)),
		J(JEQ_IMM(BPF_REG_0, 0, 0), L_PASS),
		I(MOV64_REG(BPF_REG_7, BPF_REG_0)),
		I(MOV64_REG(BPF_REG_1, BPF_REG_6)),
		I(MOV64_REG(BPF_REG_2, BPF_REG_0)),
		I(MOV64_IMM(BPF_REG_3, 0)),
		I(CALL(BPF_FUNC_sk_assign)),
		I(MOV64_REG(BPF_REG_1, BPF_REG_7)),
		I(CALL(BPF_FUNC_sk_release)),
		LABEL(L_PASS),
		I(MOV64_IMM(BPF_REG_0, SK_PASS)),
		I(EXIT()),
	};
	struct bpf_insn code[sizeof(prog) / sizeof(prog[0])];
	union bpf_attr a = { 0 };

	a.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
	a.expected_attach_type = BPF_SK_LOOKUP;
	a.insns = (uintptr_t)code;
	a.insn_cnt = assemble(prog, sizeof(prog) / sizeof(prog[0]), code);
	a.license = (uintptr_t)"Dual MIT/GPL";
	if (log) {
		a.log_buf = (uintptr_t)log;
		a.log_size = (uint32_t)loglen;
		a.log_level = 1;
	}
	return (int)bpf(BPF_PROG_LOAD, &a);
}

/**
 * bpf_intercept() - steer every TCP connection and DNS query to the helper.
 * @fds:    its sockets: TCP listener IPv4, IPv6; UDP IPv4, IPv6 (port 53's).
 * @err:    why not, on failure (with the verifier's first words).
 * @errlen: its size.
 *
 * Return: the BPF link's fd (interception lasts while it is open), or -1.
 */
int
bpf_intercept(const int fds[4], char *err, size_t errlen)
{
	static char log[65536];
	union bpf_attr a = { 0 };
	int map, prog, ns, link;
	size_t n;

	a.map_type = BPF_MAP_TYPE_SOCKMAP;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 4;
	map = (int)bpf(BPF_MAP_CREATE, &a);
	if (map < 0) {
		snprintf(err, errlen, "bpf: SOCKMAP: %s", strerror(errno));
		return -1;
	}
	for (uint32_t k = 0; k < 4; k++) {
		uint64_t fd = (uint64_t)fds[k];

		a = (union bpf_attr){ .map_fd = (uint32_t)map };
		a.key = (uintptr_t)&k;
		a.value = (uintptr_t)&fd;
		if (bpf(BPF_MAP_UPDATE_ELEM, &a) < 0) {
			snprintf(err, errlen, "bpf: SOCKMAP[%u]: %s", k, strerror(errno));
			return -1;
		}
	}
	prog = load(map, NULL, 0);
	if (prog < 0) {
		int e = errno;

		/* Again with the verifier's log: its last words say why. */
		load(map, log, sizeof(log));
		n = strlen(log);
		snprintf(err, errlen, "bpf: sk_lookup program: %s: %s", strerror(e),
			 log + (n > 160 ? n - 160 : 0));
		return -1;
	}
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	a = (union bpf_attr){ 0 };
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_fd = (uint32_t)ns;
	a.link_create.attach_type = BPF_SK_LOOKUP;
	link = ns < 0 ? -1 : (int)bpf(BPF_LINK_CREATE, &a);
	if (link < 0)
		snprintf(err, errlen, "bpf: attaching sk_lookup: %s", strerror(errno));
	if (ns >= 0)
		close(ns);
	close(prog);
	close(map);
	return link;
}
