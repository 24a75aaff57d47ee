// SPDX-License-Identifier: MIT
/*
 * t_options.c - options_parse() over tables of good and bad invocations,
 * parse_u64(), and --env-file.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "vmm/options.h"
#include "vmm/net/policy.h"
#include "vmm/util.h"

#define MAXARGS 16
#define ANY 0xffffffffU

struct good {
	const char *argv[MAXARGS];
	uint64_t memory;		/* ANY: not checked */
	unsigned cpus;
	uint64_t timeout;
	int tty;			/* -1: not checked */
	const char *env;		/* entries joined by '|', NULL: not checked */
	const char *cmd0;
	int argc;
};

static const struct good good[] = {
	{ { "--", "echo", "hi" }, 512, 1, 0, TTY_AUTO, "", "echo", 2 },
	{ { "--cpus", "2", "--", "true" }, ANY, 2, 0, -1, NULL, "true", 1 },
	{ { "--cpus=64", "--", "true" }, ANY, 64, 0, -1, NULL, "true", 1 },
	{ { "-c", "3", "--", "true" }, ANY, 3, 0, -1, NULL, "true", 1 },
	{ { "--memory", "2G", "--", "x" }, 2048, 1, 0, -1, NULL, "x", 1 },
	{ { "--memory", "1g", "--", "x" }, 1024, 1, 0, -1, NULL, "x", 1 },
	{ { "-m", "64", "--", "x" }, 64, 1, 0, -1, NULL, "x", 1 },
	{ { "--memory=100m", "--", "x" }, 100, 1, 0, -1, NULL, "x", 1 },
	{ { "--memory", "65536M", "--", "x" }, 65536, 1, 0, -1, NULL, "x", 1 },
	{ { "--memory", "64G", "--", "x" }, 65536, 1, 0, -1, NULL, "x", 1 },
	{ { "--memory", "0000000000000000000000000000000000000064", "--", "x" }, 64, 1, 0, -1,
	  NULL, "x", 1 },
	{ { "--memory", "00000000000000000000000000001289", "--", "x" }, 1289, 1, 0, -1, NULL,
	  "x", 1 },
	{ { "--timeout", "60", "--", "x" }, ANY, 1, 60, -1, NULL, "x", 1 },
	{ { "--timeout=1073741824", "--", "x" }, ANY, 1, 1U << 30, -1, NULL, "x", 1 },
	{ { "-t", "--", "x" }, ANY, 1, 0, TTY_FORCE, NULL, "x", 1 },
	{ { "--no-tty", "--", "x" }, ANY, 1, 0, TTY_NEVER, NULL, "x", 1 },
	{ { "-t", "-T", "--", "x" }, ANY, 1, 0, TTY_NEVER, NULL, "x", 1 },
	{ { "-e", "A=1", "--env", "B=", "-e", "C==x=", "--", "x" }, ANY, 1, 0, -1,
	  "A=1|B=|C==x=", "x", 1 },
	{ { "-e", "T_OPTIONS_HOST", "--", "x" }, ANY, 1, 0, -1, "T_OPTIONS_HOST=from host", "x", 1 },
	{ { "--env=A=1", "--", "x" }, ANY, 1, 0, -1, "A=1", "x", 1 },
	{ { "--cpus", "2", "--cpus", "4", "--", "x" }, ANY, 4, 0, -1, NULL, "x", 1 },
	{ { "--", "--cpus", "0" }, 512, 1, 0, -1, "", "--cpus", 2 },
	{ { "-v", "--", "-v", "--" }, ANY, 1, 0, -1, NULL, "-v", 2 },
	{ { "--", "a b", "", "\xff\x01" }, ANY, 1, 0, -1, NULL, "a b", 3 },
};

struct bad {
	const char *argv[MAXARGS];
	const char *msg;		/* a part of the one-line message */
};

static const struct bad bad[] = {
	{ { NULL }, "missing '-- COMMAND'" },
	{ { "echo", "hi" }, "missing '--' before the command 'echo'" },
	{ { "--bogus", "--", "x" }, "unknown option '--bogus'" },
	{ { "-x", "--", "x" }, "unknown option '-x'" },
	{ { "--cpu", "2", "--", "x" }, "unknown option '--cpu'" },
	{ { "-cpus", "2", "--", "x" }, "unknown option '-cpus'" },
	{ { "---cpus", "2", "--", "x" }, "unknown option '---cpus'" },
	{ { "-", "--", "x" }, "unknown option '-'" },
	{ { "--=2", "--", "x" }, "unknown option '--=2'" },
	{ { "--cpus" }, "option --cpus needs a value: N" },
	{ { "--cpus", "0", "--", "x" }, "--cpus 0: must be between 1 and 64" },
	{ { "--cpus", "65", "--", "x" }, "--cpus 65: must be between 1 and 64" },
	{ { "--cpus", "1000", "--", "x" }, "must be between 1 and 64" },
	{ { "--cpus", "99999999999999999999", "--", "x" }, "must be between 1 and 64" },
	{ { "--cpus", "abc", "--", "x" }, "--cpus abc: not a number" },
	{ { "--cpus", "99999999999999999999x", "--", "x" }, "not a number" },
	{ { "--memory", "99999999999999999999xG", "--", "x" }, "not a size" },
	{ { "--cpus", "-1", "--", "x" }, "not a number" },
	{ { "--cpus", "", "--", "x" }, "not a number" },
	{ { "--cpus", "2x", "--", "x" }, "not a number" },
	{ { "--cpus", " 2", "--", "x" }, "not a number" },
	{ { "--cpus=", "--", "x" }, "not a number" },
	{ { "--cpus", "--", "x" }, "--cpus --: not a number" },
	{ { "--memory", "0", "--", "x" }, "--memory 0: must be between 64 MiB and 64 GiB" },
	{ { "--memory", "63", "--", "x" }, "must be between" },
	{ { "--memory", "65537", "--", "x" }, "must be between" },
	{ { "--memory", "1T", "--", "x" }, "--memory 1T: must be between" },
	{ { "--memory", "65G", "--", "x" }, "must be between" },
	{ { "--memory", "99999999999999999999G", "--", "x" }, "must be between" },
	{ { "--memory", "abc", "--", "x" }, "--memory abc: not a size in MiB" },
	{ { "--memory", "", "--", "x" }, "not a size" },
	{ { "--memory", "G", "--", "x" }, "not a size" },
	{ { "--memory", "1.5G", "--", "x" }, "not a size" },
	{ { "--memory", "512K", "--", "x" }, "not a size" },
	{ { "--memory", "512 ", "--", "x" }, "not a size" },
	{ { "--memory", "-512", "--", "x" }, "not a size" },
	{ { "--memory", "1GM", "--", "x" }, "--memory 1GM: not a size" },
	{ { "--memory", "2GG", "--", "x" }, "not a size" },
	{ { "--timeout", "0", "--", "x" }, "--timeout 0: not a number of seconds" },
	{ { "--timeout", "1073741825", "--", "x" }, "not a number of seconds" },
	{ { "--timeout", "5s", "--", "x" }, "not a number of seconds" },
	{ { "-e", "=x", "--", "x" }, "-e '=x': empty variable name" },
	{ { "-e", "", "--", "x" }, "empty variable name" },
	{ { "-e", "T_OPTIONS_UNSET", "--", "x" }, "-e T_OPTIONS_UNSET: not set on the host" },
	{ { "-w", "tmp", "--", "x" }, "-w tmp: must be an absolute path" },
	{ { "-w", "", "--", "x" }, "must be an absolute path" },
	{ { "--tty=1", "--", "x" }, "option --tty takes no value" },
	{ { "--verbose=yes", "--", "x" }, "option --verbose takes no value" },
	{ { "--" }, "no command after '--'" },
	{ { "-v", "--" }, "no command after '--'" },
	{ { "--", "" }, "the command name is empty" },
	{ { "--env-file", "/nonexistent/env", "--", "x" },
	  "--env-file /nonexistent/env: No such file or directory" },
	{ { "--env-file", "/", "--", "x" }, "--env-file /: Is a directory" },
	{ { "--net", "usr", "--", "x" }, "--net usr: expected user or tap:NAME" },
	{ { "--net", "user", "--net", "tap:t", "--", "x" }, "--net user (or --allow/--deny) and --net tap:t" },
	{ { "--allow", "x.test", "--net", "tap:t", "--", "x" }, "cannot be combined" },
	{ { "--allow", "x.test:0", "--", "x" }, "--allow x.test:0: the port must be 1-65535" },
	{ { "--deny", "[::1", "--", "x" }, "--deny [::1: expected [IPV6]:PORT" },
	{ { "--allow", "127.0.0.1", "--", "x" }, "reached as host.capsa.internal" },
	{ { "--net-log", "/tmp/x", "--", "x" }, "--net-log needs --net user" },
	{ { "-p", "8080", "--", "x" }, "-p 8080: expected [HOSTADDR:]HOSTPORT:GUESTPORT" },
	{ { "-p", "0:80", "--", "x" }, "expected [HOSTADDR:]HOSTPORT:GUESTPORT" },
	{ { "-p", "80:65536", "--", "x" }, "expected [HOSTADDR:]HOSTPORT:GUESTPORT" },
	{ { "-p", "x:80:80", "--", "x" }, "expected [HOSTADDR:]HOSTPORT:GUESTPORT" },
	{ { "-p", "::1:80:80", "--", "x" }, "expected [HOSTADDR:]HOSTPORT:GUESTPORT" },
	{ { "-p", "[::1:80:80", "--", "x" }, "expected [HOSTADDR:]HOSTPORT:GUESTPORT" },
	{ { "-p", "8080:80/udp", "--", "x" }, "only TCP ports can be published" },
	{ { "--net", "tap:", "--", "x" }, "--net tap:: not a valid interface name" },
	{ { "--net", "tap:a/b", "--", "x" }, "not a valid interface name" },
	{ { "--net", "tap:tap%d", "--", "x" }, "not a valid interface name" },
	{ { "--net", "tap:abcdefghijklmnop", "--", "x" }, "at most 15 characters" },
	{ { "--net", "tap:t", "--mac", "52:54:00:12:34", "--", "x" }, "expected six hex octets" },
	{ { "--net", "tap:t", "--mac", "52:54:00:12:34:5g", "--", "x" }, "expected six hex" },
	{ { "--net", "tap:t", "--mac", "52:54:00:12:34:567", "--", "x" }, "expected six hex" },
	{ { "--net", "tap:t", "--mac", " 2:54:00:12:34:56", "--", "x" }, "expected six hex" },
	{ { "--net", "tap:t", "--mac", "52-54-00-12-34-56", "--", "x" }, "expected six hex" },
	{ { "--net", "tap:t", "--mac", "01:00:5e:00:00:01", "--", "x" }, "a multicast address" },
	{ { "--net", "tap:t", "--mac", "00:00:00:00:00:00", "--", "x" }, "the all-zero address" },
	{ { "--net", "tap:t", "--ip", "10.0.2.15", "--", "x" }, "expected an IPv4 ADDR/PREFIX" },
	{ { "--net", "tap:t", "--ip", "10.0.2.15/33", "--", "x" }, "expected an IPv4" },
	{ { "--net", "tap:t", "--ip", "10.0.2/24", "--", "x" }, "expected an IPv4" },
	{ { "--net", "tap:t", "--ip", "10.0.2.15/", "--", "x" }, "expected an IPv4" },
	{ { "--net", "tap:t", "--ip", "10.0.2.15/2x", "--", "x" }, "expected an IPv4" },
	{ { "--net", "tap:t", "--gateway", "10.0.2.256", "--", "x" }, "--gateway 10.0.2.256: expected" },
	{ { "--net", "tap:t", "--gateway", "10.0.2.2", "--", "x" }, "--gateway needs --ip" },
	{ { "--net", "tap:t", "--ip", "10.0.2.15/24", "--gateway", "10.0.3.1", "--", "x" },
	  "--gateway 10.0.3.1: not another address in --ip 10.0.2.15/24" },
	{ { "--net", "tap:t", "--ip", "10.0.2.15/24", "--gateway", "10.0.2.15", "--", "x" },
	  "not another address" },
	{ { "--mac", "52:54:00:12:34:56", "--", "x" }, "--mac needs --net tap:NAME" },
	{ { "--ip", "10.0.2.15/24", "--", "x" }, "--ip needs --net tap:NAME" },
	{ { "--gateway", "10.0.2.2", "--", "x" }, "--gateway needs --net tap:NAME" },
	{ { "--control", "", "--", "x" }, "--control needs a path" },
	{ { "exec" }, "capsa exec needs the control socket first" },
	{ { "exec", "--", "x" }, "capsa exec needs the control socket first" },
	{ { "exec", "-e", "A=1", "--", "x" }, "capsa exec needs the control socket first" },
	{ { "exec", "/s" }, "missing '-- COMMAND' (usage: capsa exec PATH" },
	{ { "exec", "/s", "x" }, "missing '--' before the command 'x' (usage: capsa exec PATH" },
	{ { "exec", "/s", "--memory", "1G", "--", "x" }, "--memory is for the sandbox" },
	{ { "exec", "/s", "--control", "/t", "--", "x" }, "--control is for the sandbox" },
	{ { "exec", "/s", "--bogus", "--", "x" }, "unknown option '--bogus' (see capsa exec --help)" },
	{ { "exec", "/s", "--" }, "no command after '--'" },
	{ { "exec", "/s", "-w", "rel", "--", "x" }, "must be an absolute path" },
};

static int
parse(const char *const *args, struct capsa_config *cfg, char *err, unsigned errlen)
{
	static char *argv[MAXARGS + 2];
	int argc = 1;

	argv[0] = "capsa";
	while (argc <= MAXARGS && args[argc - 1])
		argc++;
	memcpy(argv + 1, args, (argc - 1) * sizeof(char *));
	argv[argc] = NULL;
	err[0] = 0;
	return options_parse(cfg, argc, argv, err, errlen);
}

static void
joined(const struct strlist *l, char *out, size_t len)
{
	out[0] = 0;
	for (unsigned i = 0; i < l->n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "|" : "", l->v[i]);
}

static void
test_good(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		const struct good *t = &good[i];
		struct capsa_config c;
		char err[256], env[256];
		const char *desc = t->argv[0];
		int r = parse(t->argv, &c, err, sizeof(err));

		if (!CHECK_INT(r, 0, "good #%zu (%s ...): parses", i, desc)) {
			printf("#   error: %s\n", err);
			continue;
		}
		joined(&c.env, env, sizeof(env));
		CHECK(c.action == ACT_RUN && (t->memory == ANY || c.memory_mib == t->memory) &&
		      c.cpus == t->cpus && c.timeout_s == t->timeout &&
		      (t->tty < 0 || (int)c.tty == t->tty),
		      "good #%zu (%s ...): memory %llu, cpus %u, timeout %llu, tty %d", i, desc,
		      (unsigned long long)c.memory_mib, c.cpus, (unsigned long long)c.timeout_s,
		      c.tty);
		CHECK(!t->env || !strcmp(env, t->env), "good #%zu: environment [%s]", i, env);
		CHECK(c.argc == t->argc && !strcmp(c.argv[0], t->cmd0) && c.argv[c.argc] == NULL,
		      "good #%zu: command %s, %d args, NULL-terminated", i, t->cmd0, t->argc);
		free(c.env.v);
	}
}

/* --net user and its rules, -p, --net-log. */
static void
test_net_user(void)
{
	static const char *const a[] = { "--allow", "x.test:443", "--deny", "10.0.0.0/8",
		"-p", "8080:80", "-p", "[::1]:9090:90/tcp", "--publish=192.0.2.1:7070:70",
		"--net-log", "/tmp/log", "--", "x", NULL };
	static const char *const b[] = { "--net", "user", "--", "x", NULL };
	static const char *const c[] = { "-p", "8080:80", "--", "x", NULL };
	struct capsa_config cfg;
	char err[256];

	CHECK_INT(parse(a, &cfg, err, sizeof(err)), 0, "net: rules, -p, --net-log parse %s", err);
	CHECK(cfg.net_user && cfg.policy && cfg.policy->n == 2 && cfg.policy->nallow == 1,
	      "net: --allow/--deny mean --net user, two rules");
	CHECK(cfg.npublish == 3 && cfg.publish[0].family == 4 && cfg.publish[0].addr[0] == 127 &&
	      cfg.publish[0].addr[3] == 1 && cfg.publish[0].host_port == 8080 &&
	      cfg.publish[0].guest_port == 80, "net: -p 8080:80 is 127.0.0.1:8080 to 80");
	CHECK(cfg.publish[1].family == 6 && cfg.publish[1].addr[15] == 1 &&
	      cfg.publish[1].host_port == 9090 && cfg.publish[1].guest_port == 90,
	      "net: -p [::1]:9090:90/tcp");
	CHECK(cfg.publish[2].addr[0] == 192 && cfg.publish[2].addr[3] == 1 &&
	      cfg.publish[2].host_port == 7070, "net: --publish=192.0.2.1:7070:70");
	CHECK_STR(cfg.net_log, "/tmp/log", "net: --net-log");
	free(cfg.policy);
	CHECK(parse(b, &cfg, err, sizeof(err)) == 0 && cfg.net_user && cfg.policy &&
	      cfg.policy->n == 0, "net: --net user alone: no rules");
	free(cfg.policy);
	CHECK(parse(c, &cfg, err, sizeof(err)) == 0 && !cfg.net_user && cfg.npublish == 1,
	      "net: -p without --net user");
}

static void
test_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct capsa_config c;
		char err[256];
		int r = parse(bad[i].argv, &c, err, sizeof(err));

		CHECK(r == -1 && strstr(err, bad[i].msg) && !strchr(err, '\n'),
		      "bad: \"%s\" in one line (got \"%s\")", bad[i].msg, err);
		free(c.env.v);
		free(c.policy);
	}
}

/* capsa exec PATH [OPTIONS] -- COMMAND: the command's options, the same parsers. */
static void
test_exec(void)
{
	struct capsa_config c;
	char err[256];

	CHECK(parse((const char *[]){ "exec", "/run/box.sock", "-e", "A=1", "-w", "/tmp", "-t",
				      "--timeout=5", "--kill-after=0", "--", "sh", "x", NULL },
		    &c, err, sizeof(err)) == 0 &&
	      c.exec && !strcmp(c.control_path, "/run/box.sock") && c.env.n == 1 &&
	      !strcmp(c.workdir, "/tmp") && c.tty == TTY_FORCE && c.timeout_s == 5 &&
	      c.kill_after_s == 0 && c.argc == 2 && !strcmp(c.argv[1], "x"),
	      "exec: PATH, -e, -w, -t, --timeout, --kill-after and the command (%s)", err);
	free(c.env.v);
	CHECK(parse((const char *[]){ "exec", "/s", "--", "true", NULL }, &c, err, sizeof(err)) == 0 &&
	      c.kill_after_s == DEFAULT_KILL_AFTER_S && c.action == ACT_RUN,
	      "exec: --kill-after defaults as capsa's");
	CHECK(parse((const char *[]){ "exec", "--help", NULL }, &c, err, sizeof(err)) == 0 &&
	      c.exec && c.action == ACT_HELP, "capsa exec --help: its own help");
	CHECK(parse((const char *[]){ "--control", "/c", "--", "x", NULL }, &c, err, sizeof(err)) == 0 &&
	      !c.exec && !strcmp(c.control_path, "/c"), "--control PATH on a sandbox");
	CHECK(parse((const char *[]){ "--", "exec", "/s", NULL }, &c, err, sizeof(err)) == 0 &&
	      !c.exec && !strcmp(c.argv[0], "exec"), "-- exec: a command named exec, not the client");
}

static void
test_actions(void)
{
	static const struct { const char *argv[MAXARGS]; int action; } t[] = {
		{ { "--help" }, ACT_HELP },
		{ { "-h", "--bogus" }, ACT_HELP },
		{ { "--cpus", "2", "--version" }, ACT_VERSION },
		{ { "-v", "--help", "--", "x" }, ACT_HELP },
	};
	struct capsa_config c;
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		CHECK(parse(t[i].argv, &c, err, sizeof(err)) == 0 && (int)c.action == t[i].action,
		      "%s %s: action %d, nothing after it parsed", t[i].argv[0],
		      t[i].argv[1] ? t[i].argv[1] : "", t[i].action);
	CHECK(parse((const char *[]){ "--cpus", "0", "--help", NULL }, &c, err, sizeof(err)) < 0,
	      "an error before --help still fails");
}

/* argv and environment together are capped at MAX_RUN_BYTES. */
static void
test_size_cap(void)
{
	size_t n = MAX_RUN_BYTES - (strlen("x") + 2) - 2;	/* each string costs len + 2 */
	char *big = malloc(n + 2), err[256];
	struct capsa_config c;

	memset(big, 'a', n + 1);
	big[n] = 0;
	CHECK_INT(parse((const char *[]){ "--", "x", big, NULL }, &c, err, sizeof(err)), 0,
		  "argv of exactly MAX_RUN_BYTES");
	big[n] = 'a';
	big[n + 1] = 0;
	CHECK(parse((const char *[]){ "--", "x", big, NULL }, &c, err, sizeof(err)) < 0 &&
	      strstr(err, "arguments and environment too long"), "one byte more: %s", err);
	big[n / 2] = 0;
	big[1] = '=';
	CHECK(parse((const char *[]){ "-e", big, "--", "x", big + n / 2 + 1, NULL }, &c, err,
		    sizeof(err)) < 0 && strstr(err, "too long"),
	      "the environment counts toward the cap");
	free(c.env.v);
	free(big);
}

static void
test_parse_u64(void)
{
	static const struct { const char *s; uint64_t min, max; int ret; uint64_t v; } t[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "007", 0, 10, 0, 7 },
		{ "11", 0, 10, -ERANGE, 0 },
		{ "4", 5, 10, -ERANGE, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, -ERANGE, 0 },
		{ "", 0, 10, -EINVAL, 0 },
		{ NULL, 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },
		{ "-1", 0, 10, -EINVAL, 0 },
		{ " 1", 0, 10, -EINVAL, 0 },
		{ "1 ", 0, 10, -EINVAL, 0 },
		{ "0x1", 0, 10, -EINVAL, 0 },
		{ "1e3", 0, 10000, -EINVAL, 0 },
		{ "1\n", 0, 10, -EINVAL, 0 },
		/* fuzz_size: a non-digit after an overflow is still not a number */
		{ "99999999999999999999x", 0, UINT64_MAX, -EINVAL, 0 },
		{ "850000000000000000000$0", 0, 10, -EINVAL, 0 },
		{ "\xff", 0, 10, -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t v = 12345;
		int r = parse_u64(t[i].s, t[i].min, t[i].max, &v);

		char vis[32] = "NULL";

		for (size_t j = 0; t[i].s && j <= strlen(t[i].s) && j < sizeof(vis); j++)
			vis[j] = t[i].s[j] && (t[i].s[j] < ' ' || t[i].s[j] > '~') ? '?' : t[i].s[j];
		CHECK(r == t[i].ret && v == (r ? 12345 : t[i].v),
		      "parse_u64(\"%s\", %llu, %llu) = %d, value %llu", vis,
		      (unsigned long long)t[i].min, (unsigned long long)t[i].max, t[i].ret,
		      (unsigned long long)t[i].v);
	}
}

static void
test_env_file(void)
{
	static const struct { const char *text, *env, *msg; } t[] = {
		{ "A=1\n# comment\n\nB=two words\nC=\n", "Z=0|A=1|B=two words|C=", NULL },
		{ "X=1", "Z=0|X=1", NULL },
		{ "T_OPTIONS_HOST\n", "Z=0|T_OPTIONS_HOST=from host", NULL },
		{ "#only a comment\n", "Z=0", NULL },
		{ "", "Z=0", NULL },
		{ "A=1\n=bad\n", NULL, ":2: '=bad': empty variable name" },
		{ "\n\nT_OPTIONS_UNSET\n", NULL, ":3: T_OPTIONS_UNSET: not set on the host" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char path[] = "/tmp/t_options.XXXXXX", err[512], env[256];
		int fd = mkstemp(path), r;
		struct capsa_config c;

		if (fd < 0 || write(fd, t[i].text, strlen(t[i].text)) < 0)
			abort();
		close(fd);
		r = parse((const char *[]){ "-e", "Z=0", "--env-file", path, "--", "x", NULL }, &c,
			  err, sizeof(err));
		unlink(path);
		if (t[i].env) {
			joined(&c.env, env, sizeof(env));
			CHECK(r == 0 && !strcmp(env, t[i].env), "env-file #%zu: [%s]", i, env);
		} else {
			CHECK(r < 0 && !strncmp(err, "--env-file /tmp/t_options.", 26) &&
			      strstr(err, t[i].msg), "env-file #%zu: %s", i, err);
		}
		free(c.env.v);
	}
}

/* --net, --mac, --ip, --gateway: what the good ones leave in the config. */
static void
test_net(void)
{
	struct capsa_config c;
	char err[256];

	CHECK(parse((const char *[]){ "--", "x", NULL }, &c, err, sizeof(err)) == 0 &&
	      !c.net_tap && !c.mac_set && !c.ip && !c.gateway, "default: no network");
	CHECK(parse((const char *[]){ "--net", "tap:tap0", "--mac", "52:54:00:Ab:cD:ef", "--ip",
				      "10.0.2.15/24", "--gateway", "10.0.2.2", "--", "x", NULL },
		    &c, err, sizeof(err)) == 0 && !strcmp(c.net_tap, "tap0") && c.mac_set &&
	      !memcmp(c.mac, "\x52\x54\x00\xab\xcd\xef", 6) && !strcmp(c.ip, "10.0.2.15/24") &&
	      !strcmp(c.gateway, "10.0.2.2"), "--net --mac --ip --gateway (%s)", err);
	CHECK(parse((const char *[]){ "--net=tap:abcdefghijklmno", "--ip", "10.1.2.3/0",
				      "--gateway", "192.168.1.1", "--", "x", NULL },
		    &c, err, sizeof(err)) == 0 && !strcmp(c.net_tap, "abcdefghijklmno"),
	      "a 15-character tap; /0 takes any gateway (%s)", err);
	CHECK(parse((const char *[]){ "--net", "tap:t", "--ip", "10.0.0.1/32", "--", "x", NULL },
		    &c, err, sizeof(err)) == 0 && !c.gateway, "--ip /32 without a gateway (%s)", err);
}

/* --kill-after: 10 s unless told, and 0 waits for the command forever. */
static void
test_kill_after(void)
{
	struct capsa_config c;
	char err[256];

	CHECK(parse((const char *[]){ "--", "x", NULL }, &c, err, sizeof(err)) == 0 &&
	      c.kill_after_s == 10, "default --kill-after is 10 s");
	CHECK(parse((const char *[]){ "--kill-after", "0", "--", "x", NULL }, &c, err,
		    sizeof(err)) == 0 && c.kill_after_s == 0, "--kill-after 0: never (%s)", err);
	CHECK(parse((const char *[]){ "--kill-after=30", "--", "x", NULL }, &c, err,
		    sizeof(err)) == 0 && c.kill_after_s == 30, "--kill-after=30 (%s)", err);
	CHECK(parse((const char *[]){ "--kill-after", "-1", "--", "x", NULL }, &c, err,
		    sizeof(err)) < 0 && strstr(err, "--kill-after -1: not a number of seconds"),
	      "--kill-after -1 refused (%s)", err);
	CHECK(parse((const char *[]){ "--kill-after", "5s", "--", "x", NULL }, &c, err,
		    sizeof(err)) < 0, "--kill-after 5s refused");
}

int
main(void)
{
	setenv("T_OPTIONS_HOST", "from host", 1);
	unsetenv("T_OPTIONS_UNSET");
	test_good();
	test_net_user();
	test_bad();
	test_exec();
	test_actions();
	test_size_cap();
	test_parse_u64();
	test_env_file();
	test_net();
	test_kill_after();
	return tap_done();
}
