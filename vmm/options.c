// SPDX-License-Identifier: MIT
/*
 * options.c - table-driven parsing of capsa's command line.
 *
 * capsa [OPTIONS] -- COMMAND [ARG...]: options come first and `--` is
 * required, so nothing in the command can ever be taken for an option.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "tap.h"
#include "util.h"

struct option_def {
	const char *lng;
	char shrt;
	const char *arg;	/* NULL: a flag without value */
	int (*set)(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
	const char *help;
	const char *example;
};

static int __attribute__((format(printf, 3, 4)))
fail(char *err, unsigned errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/**
 * strlist_add() - append a string (not copied).
 *
 * Return: 0 or -ENOMEM.
 */
int
strlist_add(struct strlist *l, char *s)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[l->n++] = s;
	v[l->n] = NULL;
	l->v = v;
	return 0;
}

/* A size in MiB: plain, or with an M, G or T suffix. */
static int
set_memory(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	static const struct { char suffix; uint64_t mib; } units[] = {
		{ 'M', 1 }, { 'G', 1024 }, { 'T', 1024 * 1024 },
	};
	size_t len = strlen(val);
	uint64_t v, mul = 1;
	char *num;
	int r;

	/* At most one suffix, and the whole number before it. */
	for (unsigned i = 0; len > 1 && i < ARRAY_SIZE(units); i++)
		if ((val[len - 1] & ~0x20) == units[i].suffix) {
			mul = units[i].mib;
			len--;
			break;
		}
	num = strndup(val, len);
	if (!num)
		return fail(err, errlen, "out of memory");
	r = parse_u64(num, 0, MAX_MEMORY_MIB, &v);
	free(num);
	if (r == -EINVAL)
		return fail(err, errlen, "--memory %s: not a size in MiB (e.g. 512 or 2G)", val);
	if (r < 0 || v * mul < MIN_MEMORY_MIB || v * mul > MAX_MEMORY_MIB)
		return fail(err, errlen, "--memory %s: must be between %d MiB and %d GiB",
			    val, MIN_MEMORY_MIB, MAX_MEMORY_MIB / 1024);
	cfg->memory_mib = v * mul;
	return 0;
}

static int
set_cpus(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	uint64_t v;
	int r = parse_u64(val, 1, MAX_CPUS, &v);

	if (r == -EINVAL)
		return fail(err, errlen, "--cpus %s: not a number", val);
	if (r < 0)
		return fail(err, errlen, "--cpus %s: must be between 1 and %d", val, MAX_CPUS);
	cfg->cpus = (unsigned)v;
	return 0;
}

/* A duration for option --@name: whole seconds, at least 1. */
static int
seconds(const char *name, const char *val, uint64_t *out, char *err, unsigned errlen)
{
	if (parse_u64(val, 1, 1U << 30, out) < 0)
		return fail(err, errlen, "--%s %s: not a number of seconds (1 or more)", name, val);
	return 0;
}

static int
set_timeout(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	return seconds("timeout", val, &cfg->timeout_s, err, errlen);
}

/*
 * KEY=VALUE, or KEY alone to pass the host's value on. The whole host
 * environment is never passed: secrets must be let in by name.
 */
static int
add_env(struct capsa_config *cfg, char *entry, const char *where, char *err, unsigned errlen)
{
	char *eq = strchr(entry, '='), *host;
	size_t klen = eq ? (size_t)(eq - entry) : strlen(entry);

	if (klen == 0)
		return fail(err, errlen, "%s '%s': empty variable name", where, entry);
	if (!eq) {
		host = getenv(entry);
		if (!host)
			return fail(err, errlen, "%s %s: not set on the host (use %s=VALUE)",
				    where, entry, entry);
		entry = host - klen - 1;	/* "KEY=value" in the host's environ */
	}
	if (strlist_add(&cfg->env, entry) < 0)
		return fail(err, errlen, "out of memory");
	return 0;
}

static int
set_env(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	return add_env(cfg, val, "-e", err, errlen);
}

static int
set_env_file(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	FILE *f = fopen(val, "re");
	char *line = NULL, where[300];
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, r = 0;

	if (!f)
		return fail(err, errlen, "--env-file %s: %s", val, strerror(errno));
	while (r == 0 && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = 0;
		if (n == 0 || line[0] == '#')
			continue;
		snprintf(where, sizeof(where), "--env-file %s:%d:", val, lineno);
		r = add_env(cfg, strdup(line), where, err, errlen);
	}
	if (r == 0 && ferror(f))	/* a directory, an I/O error */
		r = fail(err, errlen, "--env-file %s: %s", val, strerror(errno));
	free(line);
	fclose(f);
	return r;
}

static int
set_kill_after(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	return seconds("kill-after", val, &cfg->kill_after_s, err, errlen);
}

static int
set_copy(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (!*val || *val == ':')
		return fail(err, errlen, "--copy '%s': expected HOST_PATH[:GUEST_PATH]", val);
	if (strlist_add(&cfg->copies, val) < 0)
		return fail(err, errlen, "out of memory");
	return 0;
}

static int
set_vsock(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (!*val)
		return fail(err, errlen, "--vsock needs a path");
	cfg->vsock_path = val;
	return 0;
}

static int
set_cid(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	/* 0-2 are the hypervisor, local and host; -1 is VMADDR_CID_ANY. */
	if (parse_u64(val, 3, 0xfffffffeU, &cfg->cid) < 0)
		return fail(err, errlen, "--cid %s: must be a number from 3 to 4294967294", val);
	return 0;
}

/* --net user (vmm/netopt.c) or --net tap:NAME. */
static int
set_net(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	int e;

	if (!strcmp(val, "user"))
		return netopt_user(cfg, err, errlen);
	if (strncmp(val, "tap:", 4))
		return fail(err, errlen, "--net %s: expected user or tap:NAME", val);
	e = tap_check_name(val + 4);
	if (e == -ENAMETOOLONG)
		return fail(err, errlen, "--net %s: interface names have at most %d characters",
			    val, IFNAMSIZ - 1);
	if (e)
		return fail(err, errlen, "--net %s: not a valid interface name", val);
	cfg->net_tap = val + 4;
	return 0;
}

static int
hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ?
	       (c | 0x20) - 'a' + 10 : -1;
}

/* Six octets as two hex digits each, colon-separated; never a multicast one. */
static int
set_mac(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	uint8_t m[6], any = 0;

	for (int i = 0; i < 6; i++) {
		const char *p = val + 3 * i;
		int hi = hex_digit(p[0]), lo = hi < 0 ? -1 : hex_digit(p[1]);

		if (hi < 0 || lo < 0 || p[2] != (i == 5 ? 0 : ':'))
			return fail(err, errlen,
				    "--mac %s: expected six hex octets like 52:54:00:12:34:56", val);
		m[i] = (uint8_t)(hi << 4 | lo);
		any |= m[i];
	}
	if (m[0] & 1)
		return fail(err, errlen, "--mac %s: a multicast address (the first octet is odd)", val);
	if (!any)
		return fail(err, errlen, "--mac %s: the all-zero address", val);
	memcpy(cfg->mac, m, sizeof(m));
	cfg->mac_set = true;
	return 0;
}

/* ADDR/PREFIX: a dotted IPv4 address and a prefix length 0-32. */
static int
parse_cidr(const char *val, struct in_addr *addr, unsigned *prefix)
{
	const char *slash = strchr(val, '/');
	char a[INET_ADDRSTRLEN];
	uint64_t p;

	if (!slash || (size_t)(slash - val) >= sizeof(a))
		return -EINVAL;
	memcpy(a, val, (size_t)(slash - val));
	a[slash - val] = 0;
	if (inet_pton(AF_INET, a, addr) != 1 || parse_u64(slash + 1, 0, 32, &p) < 0)
		return -EINVAL;
	*prefix = (unsigned)p;
	return 0;
}

static int
set_ip(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	struct in_addr a;
	unsigned prefix;

	if (parse_cidr(val, &a, &prefix) < 0)
		return fail(err, errlen, "--ip %s: expected an IPv4 ADDR/PREFIX like 10.0.2.15/24", val);
	cfg->ip = val;
	return 0;
}

static int
set_gateway(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	struct in_addr a;

	if (inet_pton(AF_INET, val, &a) != 1)
		return fail(err, errlen, "--gateway %s: expected an IPv4 address like 10.0.2.2", val);
	cfg->gateway = val;
	return 0;
}

/* The network options only make sense together; the gateway must be on-link. */
static int
check_net(const struct capsa_config *cfg, char *err, unsigned errlen)
{
	struct in_addr a, gw;
	unsigned prefix;
	uint32_t mask;

	if (!cfg->net_tap && (cfg->mac_set || cfg->ip || cfg->gateway))
		return fail(err, errlen, "--%s needs --net tap:NAME",
			    cfg->mac_set ? "mac" : cfg->ip ? "ip" : "gateway");
	if (cfg->gateway && !cfg->ip)
		return fail(err, errlen, "--gateway needs --ip ADDR/PREFIX");
	if (!cfg->gateway)
		return 0;
	parse_cidr(cfg->ip, &a, &prefix);
	inet_pton(AF_INET, cfg->gateway, &gw);
	mask = prefix ? htonl(~0U << (32 - prefix)) : 0;
	if ((a.s_addr ^ gw.s_addr) & mask || a.s_addr == gw.s_addr)
		return fail(err, errlen, "--gateway %s: not another address in --ip %s",
			    cfg->gateway, cfg->ip);
	return 0;
}

static int
set_workdir(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (val[0] != '/')
		return fail(err, errlen, "-w %s: must be an absolute path in the guest", val);
	cfg->workdir = val;
	return 0;
}

static int
set_jail(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (jail_set_mode(&cfg->jail, val) < 0)
		return fail(err, errlen, "--jail %s: must be best-effort, strict or off", val);
	return 0;
}

static int
set_user(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	int r = jail_set_user(&cfg->jail, val);

	if (r == -ENOENT)
		return fail(err, errlen, "--user %s: no such user", val);
	if (r < 0)
		return fail(err, errlen, "--user %s: not a user name or UID[:GID]", val);
	return 0;
}

/* FILE, FILE:ro or FILE:rw; @ro is the default. The suffix is cut off a copy. */
static int
parse_disk(struct disk_spec *d, const char *opt, const char *val, bool ro,
	   char *err, unsigned errlen)
{
	size_t len = strlen(val);

	if (len > 3 && (!strcmp(val + len - 3, ":ro") || !strcmp(val + len - 3, ":rw"))) {
		ro = val[len - 1] == 'o';
		len -= 3;
	}
	if (len == 0)
		return fail(err, errlen, "--%s: empty path", opt);
	d->path = strndup(val, len);
	d->ro = ro;
	return d->path ? 0 : fail(err, errlen, "out of memory");
}

static int
set_disk(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (cfg->ndisks == MAX_DISKS)
		return fail(err, errlen, "--disk %s: at most %d disks", val, MAX_DISKS);
	return parse_disk(&cfg->disks[cfg->ndisks++], "disk", val, false, err, errlen);
}

static int
set_rootfs(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (cfg->rootfs.path)
		return fail(err, errlen, "--rootfs %s: only one root filesystem", val);
	return parse_disk(&cfg->rootfs, "rootfs", val, true, err, errlen);
}

#define FLAG(name, field, value) \
	static int name(struct capsa_config *cfg, char *val, char *err, unsigned errlen) \
	{ (void)val; (void)err; (void)errlen; cfg->field = value; return 0; }
FLAG(set_verbose, verbose, true)
FLAG(set_tty, tty, TTY_FORCE)
FLAG(set_notty, tty, TTY_NEVER)
FLAG(set_help, action, ACT_HELP)
FLAG(set_version, action, ACT_VERSION)
FLAG(set_check, action, ACT_CHECK)

static const struct option_def options[] = {
	{ "cpus", 'c', "N", set_cpus, "virtual CPUs (1-64, default 1)", "--cpus 2" },
	{ "memory", 'm', "MIB", set_memory, "guest memory in MiB, or with a G suffix (default 512)",
	  "--memory 2G" },
	{ "env", 'e', "KEY[=VALUE]", set_env,
	  "set a variable in the guest; KEY alone passes the host's value", "-e TERM -e DEBUG=1" },
	{ "env-file", 0, "FILE", set_env_file, "read KEY=VALUE lines from FILE",
	  "--env-file ./ci.env" },
	{ "workdir", 'w', "DIR", set_workdir, "working directory in the guest", "-w /tmp" },
	{ "disk", 0, "FILE[:ro]", set_disk,
	  "attach a raw disk image as /dev/vda, vdb ... (repeatable; :ro read-only)",
	  "--disk data.img --disk ref.img:ro" },
	{ "rootfs", 0, "IMAGE[:rw]", set_rootfs,
	  "boot with / on an ext4 or squashfs image; writes go to RAM unless :rw",
	  "--rootfs debian.ext4" },
	{ "timeout", 0, "SECONDS", set_timeout, "kill the command after SECONDS, exit 124",
	  "--timeout 60" },
	{ "kill-after", 0, "SECONDS", set_kill_after,
	  "after forwarding a signal, end the VM if the command is still running",
	  "--kill-after 10" },
	{ "copy", 0, "HOST[:GUEST]", set_copy,
	  "copy a file or tree into the guest (default: same absolute path)",
	  "--copy .:/src -w /src" },
	{ "vsock", 0, "PATH", set_vsock,
	  "expose guest vsock ports on the unix socket PATH (Firecracker protocol)",
	  "--vsock /tmp/agent.sock" },
	{ "cid", 0, "N", set_cid, "the guest's vsock CID (default 3)", "--cid 7" },
	{ "net", 0, "user|tap:NAME", set_net,
	  "user: outbound TCP and DNS through capsa, as you; tap:NAME: eth0 on a TAP interface "
	  "(default: no network)", "--net user" },
	{ "allow", 0, "RULE", netopt_allow,
	  "with --net user, only what allow rules match: NAME, *.DOMAIN, ADDR[/PREFIX], :PORT[-HIGH]",
	  "--allow pypi.org:443" },
	{ "deny", 0, "RULE", netopt_deny, "never connect where RULE matches (wins over --allow)",
	  "--deny '*.example.com'" },
	{ "publish", 'p', "[ADDR:]PORT:GUESTPORT", netopt_publish,
	  "a host listener (default 127.0.0.1) reaching GUESTPORT in the guest", "-p 8080:80" },
	{ "net-log", 0, "FILE", netopt_log, "append one JSON line per network decision to FILE",
	  "--net-log net.jsonl" },
	{ "mac", 0, "MAC", set_mac, "eth0's MAC address (default: a random local one)",
	  "--mac 52:54:00:12:34:56" },
	{ "ip", 0, "ADDR/PREFIX", set_ip, "configure eth0 with this IPv4 address",
	  "--ip 10.0.2.15/24" },
	{ "gateway", 0, "ADDR", set_gateway, "default route via ADDR", "--gateway 10.0.2.2" },
	{ "tty", 't', NULL, set_tty, "give the command a terminal even if capsa has none", "-t" },
	{ "no-tty", 'T', NULL, set_notty, "never give the command a terminal", "-T" },
	{ "jail", 0, "MODE", set_jail, "confine capsa: best-effort (default), strict or off",
	  "--jail strict" },
	{ "user", 0, "USER|UID[:GID]", set_user, "who capsa becomes when run as root (default nobody)",
	  "--user 1000:1000" },
	{ "check", 0, NULL, set_check, "show whether a guest can run here, and the jail", "--check" },
	{ "verbose", 'v', NULL, set_verbose, "show the guest kernel log and capsa's steps", "-v" },
	{ "help", 'h', NULL, set_help, "show this help", "--help" },
	{ "version", 0, NULL, set_version, "show the version", "--version" },
};

static const struct option_def *
find_option(const char *a, char **inline_val)
{
	*inline_val = NULL;
	if (a[0] == '-' && a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

		for (unsigned i = 0; i < ARRAY_SIZE(options); i++)
			if (strlen(options[i].lng) == len && !strncmp(options[i].lng, a + 2, len)) {
				*inline_val = eq ? (char *)eq + 1 : NULL;
				return &options[i];
			}
		return NULL;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(options); i++)
		if (a[0] == '-' && options[i].shrt && a[1] == options[i].shrt && !a[2])
			return &options[i];
	return NULL;
}

static int
check_command(struct capsa_config *cfg, char *err, unsigned errlen)
{
	size_t total = 0;

	if (cfg->argc == 0)
		return fail(err, errlen, "no command after '--' (try: capsa -- uname -a)");
	if (cfg->argv[0][0] == 0)
		return fail(err, errlen, "the command name is empty");
	for (int i = 0; i < cfg->argc; i++)
		total += strlen(cfg->argv[i]) + 2;
	for (unsigned i = 0; i < cfg->env.n; i++)
		total += strlen(cfg->env.v[i]) + 2;
	if (total > MAX_RUN_BYTES)
		return fail(err, errlen, "arguments and environment too long (%zu bytes, at most %d)",
			    total, MAX_RUN_BYTES);
	return 0;
}

/*
 * One word of a shebang line, env -S style: whitespace separates words;
 * '...' is literal; "..." and bare text take backslash escapes (\\ \" \'
 * \t \n \_ for a space).
 */
static const char *
next_word(const char *p, char *out, bool *got, char *err, unsigned errlen)
{
	char q = 0;

	*got = false;
	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p && (q || (*p != ' ' && *p != '\t')); p++) {
		*got = true;
		if (q == '\'' && *p != '\'') {
			*out++ = *p;
		} else if (*p == q) {
			q = 0;
		} else if (!q && (*p == '\'' || *p == '"')) {
			q = *p;
		} else if (*p == '\\' && p[1]) {
			p++;
			*out++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p == '_' ? ' ' : *p;
		} else {
			*out++ = *p;
		}
	}
	*out = 0;
	if (q) {
		fail(err, errlen, "unterminated %c quote in the shebang line", q);
		return NULL;
	}
	return p;
}

/**
 * shebang_split() - split a shebang line's arguments into words.
 * @line:   what Linux passed as one argument.
 * @words:  the words, appended (newly allocated).
 * @err:    a message on failure.
 * @errlen: its size.
 *
 * Return: 0 or -1.
 */
int
shebang_split(const char *line, struct strlist *words, char *err, unsigned errlen)
{
	bool got;

	while (*line) {
		char *w = malloc(strlen(line) + 1);

		if (!w)
			return fail(err, errlen, "out of memory");
		line = next_word(line, w, &got, err, errlen);
		if (!line) {
			free(w);
			return -1;
		}
		if (!got)
			free(w);
		else if (strlist_add(words, w) < 0)
			return fail(err, errlen, "out of memory");
	}
	return 0;
}

/*
 * `#!/usr/local/bin/capsa --memory 128 -- /bin/sh` makes Linux run
 * capsa "--memory 128 -- /bin/sh" SCRIPT ARGS...: the options arrive as one
 * argument. Split it, and have the script itself copied into the guest at
 * its absolute path, where the interpreter is given it.
 */
static int
expand_shebang(struct capsa_config *cfg, int *argc, char ***argv, char *err, unsigned errlen)
{
	struct strlist words = { 0 };
	char *script;
	bool dashes = false;

	if (*argc < 3 || !strpbrk((*argv)[1], " \t") || (*argv)[1][0] != '-')
		return 0;
	if (strlist_add(&words, (*argv)[0]) < 0 ||
	    shebang_split((*argv)[1], &words, err, errlen) < 0)
		return -1;
	for (unsigned i = 1; i < words.n; i++)
		dashes |= !strcmp(words.v[i], "--");
	if (!dashes)
		return 0;	/* not a shebang line: parse as given */
	script = malloc(PATH_MAX);
	if (!script || path_absolute((*argv)[2], script, PATH_MAX) < 0 ||
	    strlist_add(&cfg->copies, script) < 0)
		return fail(err, errlen, "%s: path too long", (*argv)[2]);
	strlist_add(&words, script);
	for (int i = 3; i < *argc; i++)
		strlist_add(&words, (*argv)[i]);
	*argc = (int)words.n;
	*argv = words.v;
	return 0;
}

/**
 * options_parse() - parse argv into @cfg.
 * @cfg:    filled in, defaults first.
 * @argc:   as main() got it.
 * @argv:   as main() got it; strings are referenced, not copied.
 * @err:    a one-line message on failure.
 * @errlen: its size.
 *
 * Return: 0, or -1 with @err set.
 */
int
options_parse(struct capsa_config *cfg, int argc, char **argv, char *err, unsigned errlen)
{
	int i;

	*cfg = (struct capsa_config){ .memory_mib = DEFAULT_MEMORY_MIB, .cpus = 1, .cid = 3 };
	if (expand_shebang(cfg, &argc, &argv, err, errlen) < 0)
		return -1;
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		char *val;
		const struct option_def *o = find_option(argv[i], &val);

		if (!o && argv[i][0] == '-')
			return fail(err, errlen, "unknown option '%s' (see capsa --help)", argv[i]);
		if (!o)
			return fail(err, errlen, "missing '--' before the command '%s' "
				    "(usage: capsa [OPTIONS] -- COMMAND [ARG...])", argv[i]);
		if (o->arg && !val && ++i == argc)
			return fail(err, errlen, "option --%s needs a value: %s", o->lng, o->arg);
		if (!o->arg && val)
			return fail(err, errlen, "option --%s takes no value", o->lng);
		if (o->set(cfg, o->arg && !val ? argv[i] : val, err, errlen) < 0)
			return -1;
		if (cfg->action == ACT_HELP || cfg->action == ACT_VERSION)
			return 0;
	}
	if (cfg->action == ACT_CHECK)
		return 0;
	if (i == argc)
		return fail(err, errlen, "missing '-- COMMAND' (usage: capsa [OPTIONS] -- COMMAND [ARG...])");
	cfg->argv = argv + i + 1;
	cfg->argc = argc - i - 1;
	if (check_net(cfg, err, errlen) < 0 || netopt_check(cfg, err, errlen) < 0)
		return -1;
	return check_command(cfg, err, errlen);
}

/**
 * options_usage() - print the help: every option, a line and an example.
 */
void
options_usage(void)
{
	printf("usage: capsa [OPTIONS] -- COMMAND [ARG...]\n\n"
	       "Run COMMAND inside a KVM micro-VM and exit with its status.\n\n"
	       "options:\n");
	for (unsigned i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option_def *o = &options[i];
		char left[64];

		snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->shrt ? "-" : "",
			 o->shrt ? o->shrt : ' ', o->shrt ? ", " : "  ", o->lng,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-26s %s\n  %-26s   e.g. capsa %s -- ...\n", left, o->help, "", o->example);
	}
	printf("\nexit status: the command's; 128+N if it died of signal N; 124 timeout;\n"
	       "125 capsa failed; 126 command not executable; 127 command not found.\n");
}
