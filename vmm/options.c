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
#include "shares.h"
#include "tap.h"
#include "util.h"

#define RUN_USAGE "capsa [OPTIONS] -- COMMAND [ARG...]"
#define EXEC_USAGE "capsa exec PATH [OPTIONS] -- COMMAND [ARG...]"

struct option_def {
	const char *lng;
	char shrt;
	const char *arg;	/* NULL: a flag without value */
	int (*set)(struct capsa_config *cfg, char *val, char *err, unsigned errlen);
	const char *help;
	const char *example;
};

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
		return errmsg(err, errlen, "out of memory");
	r = parse_u64(num, 0, MAX_MEMORY_MIB, &v);
	free(num);
	if (r == -EINVAL)
		return errmsg(err, errlen, "--memory %s: not a size in MiB (e.g. 512 or 2G)", val);
	if (r < 0 || v * mul < MIN_MEMORY_MIB || v * mul > MAX_MEMORY_MIB)
		return errmsg(err, errlen, "--memory %s: must be between %d MiB and %d GiB",
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
		return errmsg(err, errlen, "--cpus %s: not a number", val);
	if (r < 0)
		return errmsg(err, errlen, "--cpus %s: must be between 1 and %d", val, MAX_CPUS);
	cfg->cpus = (unsigned)v;
	return 0;
}

/* A duration for option --@name: whole seconds, at least 1. */
static int
seconds(const char *name, const char *val, uint64_t *out, char *err, unsigned errlen)
{
	if (parse_u64(val, 1, 1U << 30, out) < 0)
		return errmsg(err, errlen, "--%s %s: not a number of seconds (1 or more)", name, val);
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
		return errmsg(err, errlen, "%s '%s': empty variable name", where, entry);
	if (!eq) {
		host = getenv(entry);
		if (!host)
			return errmsg(err, errlen, "%s %s: not set on the host (use %s=VALUE)",
				    where, entry, entry);
		entry = host - klen - 1;	/* "KEY=value" in the host's environ */
	}
	if (strlist_add(&cfg->env, entry) < 0)
		return errmsg(err, errlen, "out of memory");
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
		return errmsg(err, errlen, "--env-file %s: %s", val, strerror(errno));
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
		r = errmsg(err, errlen, "--env-file %s: %s", val, strerror(errno));
	free(line);
	fclose(f);
	return r;
}

static int
set_kill_after(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	/* 0 is allowed here: wait for the command however long it takes. */
	if (parse_u64(val, 0, 1U << 30, &cfg->kill_after_s) < 0)
		return errmsg(err, errlen, "--kill-after %s: not a number of seconds (0 or more)", val);
	return 0;
}

static int
set_copy(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (!*val || *val == ':')
		return errmsg(err, errlen, "--copy '%s': expected HOST_PATH[:GUEST_PATH]", val);
	if (strlist_add(&cfg->copies, val) < 0)
		return errmsg(err, errlen, "out of memory");
	return 0;
}

static int
set_vsock(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (!*val)
		return errmsg(err, errlen, "--vsock needs a path");
	cfg->vsock_path = val;
	return 0;
}

static int
set_control(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (!*val)
		return errmsg(err, errlen, "--control needs a path");
	cfg->control_path = val;
	return 0;
}

static int
set_cid(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	/* 0-2 are the hypervisor, local and host; -1 is VMADDR_CID_ANY. */
	if (parse_u64(val, 3, 0xfffffffeU, &cfg->cid) < 0)
		return errmsg(err, errlen, "--cid %s: must be a number from 3 to 4294967294", val);
	return 0;
}

static int
set_workdir(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (val[0] != '/')
		return errmsg(err, errlen, "-w %s: must be an absolute path in the guest", val);
	cfg->workdir = val;
	return 0;
}

static int
set_jail(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (jail_set_mode(&cfg->jail, val) < 0)
		return errmsg(err, errlen, "--jail %s: must be best-effort, strict or off", val);
	return 0;
}

static int
set_user(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	int r = jail_set_user(&cfg->jail, val);

	if (r == -ENOENT)
		return errmsg(err, errlen, "--user %s: no such user", val);
	if (r < 0)
		return errmsg(err, errlen, "--user %s: not a user name or UID[:GID]", val);
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
		return errmsg(err, errlen, "--%s: empty path", opt);
	d->path = strndup(val, len);
	d->ro = ro;
	return d->path ? 0 : errmsg(err, errlen, "out of memory");
}

static int
set_disk(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (cfg->ndisks == MAX_DISKS)
		return errmsg(err, errlen, "--disk %s: at most %d disks", val, MAX_DISKS);
	return parse_disk(&cfg->disks[cfg->ndisks++], "disk", val, false, err, errlen);
}

static int
set_rootfs(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (cfg->rootfs.path)
		return errmsg(err, errlen, "--rootfs %s: only one root filesystem", val);
	return parse_disk(&cfg->rootfs, "rootfs", val, true, err, errlen);
}

static int
set_share(struct capsa_config *cfg, char *val, char *err, unsigned errlen)
{
	if (cfg->nshares == MAX_SHARES)
		return errmsg(err, errlen, "--share %s: at most %d shares", val, MAX_SHARES);
	return share_parse(&cfg->shares[cfg->nshares++], val, err, errlen);
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
	{ "rootfs", 0, "IMAGE|DIR[:rw]", set_rootfs,
	  "boot with / on an ext4 or squashfs image or a host directory; writes go to RAM unless :rw",
	  "--rootfs debian.ext4" },
	{ "share", 0, "HOST[:GUEST][:ro|:rw]", set_share,
	  "the host directory HOST at GUEST (default: the same path); read-only unless :rw",
	  "--share .:rw -w \"$PWD\"" },
	{ "timeout", 0, "SECONDS", set_timeout, "kill the command after SECONDS, exit 124",
	  "--timeout 60" },
	{ "kill-after", 0, "SECONDS", set_kill_after,
	  "after forwarding a signal, stop the VM if the command still runs (default 10; 0: never)",
	  "--kill-after 30" },
	{ "copy", 0, "HOST[:GUEST]", set_copy,
	  "copy a file or tree into the guest (default: same absolute path)",
	  "--copy .:/src -w /src" },
	{ "vsock", 0, "PATH", set_vsock,
	  "expose guest vsock ports on the unix socket PATH (Firecracker protocol)",
	  "--vsock /tmp/agent.sock" },
	{ "cid", 0, "N", set_cid, "the guest's vsock CID (default 3)", "--cid 7" },
	{ "control", 0, "PATH", set_control,
	  "listen on the unix socket PATH for `capsa exec PATH -- CMD` (more commands)",
	  "--control /tmp/box.sock" },
	{ "net", 0, "user|tap:NAME", netopt_net,
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
	{ "mac", 0, "MAC", netopt_mac, "eth0's MAC address (default: a random local one)",
	  "--mac 52:54:00:12:34:56" },
	{ "ip", 0, "ADDR/PREFIX", netopt_ip, "configure eth0 with this IPv4 address",
	  "--ip 10.0.2.15/24" },
	{ "gateway", 0, "ADDR", netopt_gateway, "default route via ADDR", "--gateway 10.0.2.2" },
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
		return errmsg(err, errlen, "no command after '--' (try: capsa -- uname -a)");
	if (cfg->argv[0][0] == 0)
		return errmsg(err, errlen, "the command name is empty");
	for (int i = 0; i < cfg->argc; i++)
		total += strlen(cfg->argv[i]) + 2;
	for (unsigned i = 0; i < cfg->env.n; i++)
		total += strlen(cfg->env.v[i]) + 2;
	if (total > MAX_RUN_BYTES)
		return errmsg(err, errlen, "arguments and environment too long (%zu bytes, at most %d)",
			    total, MAX_RUN_BYTES);
	return 0;
}

/* The options `capsa exec` takes: the command's, none of the VM's. */
static bool
exec_option(const struct option_def *o)
{
	static const char *const names[] = {
		"env", "env-file", "workdir", "tty", "no-tty", "timeout", "kill-after", "verbose",
		"help",
	};

	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(o->lng, names[i]))
			return true;
	return false;
}

/*
 * The options from argv[*i] up to "--", for `capsa` or (@usage names it)
 * `capsa exec`. *i is left on the "--", or on argc when there is none.
 */
static int
parse_options(struct capsa_config *cfg, int argc, char **argv, int *i, const char *usage,
	      bool exec, char *err, unsigned errlen)
{
	for (; *i < argc && strcmp(argv[*i], "--"); ++*i) {
		char *val;
		const struct option_def *o = find_option(argv[*i], &val);

		if (!o && argv[*i][0] == '-')
			return errmsg(err, errlen, "unknown option '%s' (see capsa %s--help)", argv[*i],
				    exec ? "exec " : "");
		if (!o)
			return errmsg(err, errlen, "missing '--' before the command '%s' (usage: %s)",
				    argv[*i], usage);
		if (exec && !exec_option(o))
			return errmsg(err, errlen, "--%s is for the sandbox (capsa --%s ...), not for capsa exec",
				    o->lng, o->lng);
		if (o->arg && !val && ++*i == argc)
			return errmsg(err, errlen, "option --%s needs a value: %s", o->lng, o->arg);
		if (!o->arg && val)
			return errmsg(err, errlen, "option --%s takes no value", o->lng);
		if (o->set(cfg, o->arg && !val ? argv[*i] : val, err, errlen) < 0)
			return -1;
		if (cfg->action == ACT_HELP || cfg->action == ACT_VERSION)
			return 0;
	}
	if (*i == argc && cfg->action != ACT_CHECK)
		return errmsg(err, errlen, "missing '-- COMMAND' (usage: %s)", usage);
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
 * `capsa exec PATH [OPTIONS] -- COMMAND [ARG...]` sets @cfg->exec and
 * control_path, and takes only the options about the command.
 *
 * Return: 0, or -1 with @err set.
 */
int
options_parse(struct capsa_config *cfg, int argc, char **argv, char *err, unsigned errlen)
{
	bool exec = argc > 1 && !strcmp(argv[1], "exec");
	int i = exec ? 3 : 1;

	*cfg = (struct capsa_config){ .memory_mib = DEFAULT_MEMORY_MIB, .cpus = 1, .cid = 3,
				       .kill_after_s = DEFAULT_KILL_AFTER_S };
	if (exec) {
		cfg->exec = true;
		if (argc > 2 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help")))
			return set_help(cfg, NULL, err, errlen);
		if (argc < 3 || argv[2][0] == '-' || !argv[2][0])
			return errmsg(err, errlen, "capsa exec needs the control socket first (usage: %s)",
				    EXEC_USAGE);
		cfg->control_path = argv[2];
	} else if (shebang_expand(cfg, &argc, &argv, err, errlen) < 0) {
		return -1;
	}
	if (parse_options(cfg, argc, argv, &i, exec ? EXEC_USAGE : RUN_USAGE, exec, err, errlen) < 0)
		return -1;
	if (cfg->action == ACT_HELP || cfg->action == ACT_VERSION || cfg->action == ACT_CHECK)
		return 0;
	cfg->argv = argv + i + 1;
	cfg->argc = argc - i - 1;
	if (netopt_check(cfg, err, errlen) < 0 || shares_check(cfg, err, errlen) < 0)
		return -1;
	return check_command(cfg, err, errlen);
}

/**
 * options_usage() - print the help: every option, a line and an example.
 * @exec: the help of `capsa exec`, with only its options.
 */
void
options_usage(bool exec)
{
	if (exec)
		printf("usage: " EXEC_USAGE "\n\n"
		       "Run COMMAND in the sandbox of `capsa --control PATH`, as `capsa -- COMMAND`\n"
		       "would run it there.\n\noptions:\n");
	else
		printf("usage: " RUN_USAGE "\n\n"
		       "Run COMMAND inside a KVM micro-VM and exit with its status.\n\n"
		       "options:\n");
	for (unsigned i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option_def *o = &options[i];
		char left[64];

		if (exec && !exec_option(o))
			continue;
		snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->shrt ? "-" : "",
			 o->shrt ? o->shrt : ' ', o->shrt ? ", " : "  ", o->lng,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-26s %s\n  %-26s   e.g. capsa %s%s -- ...\n", left, o->help, "",
		       exec ? "exec PATH " : "", o->example);
	}
	printf("\nexit status: the command's; 128+N if it died of signal N; 124 timeout;\n"
	       "125 capsa failed; 126 command not executable; 127 command not found.\n");
}
