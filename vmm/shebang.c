// SPDX-License-Identifier: MIT
/*
 * shebang.c - capsa as a script interpreter: the one argument Linux passes
 * for everything after the interpreter's path on a `#!` line, split as
 * `env -S` does (options.c then parses the words as any command line).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "util.h"

static int
nomem(char *err, unsigned errlen)
{
	snprintf(err, errlen, "out of memory");
	return -1;
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
		snprintf(err, errlen, "unterminated %c quote in the shebang line", q);
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
			return nomem(err, errlen);
		line = next_word(line, w, &got, err, errlen);
		if (!line) {
			free(w);
			return -1;
		}
		if (!got)
			free(w);
		else if (strlist_add(words, w) < 0)
			return nomem(err, errlen);
	}
	return 0;
}

/**
 * shebang_expand() - capsa as a script's interpreter.
 *
 * `#!/usr/local/bin/capsa --memory 128 -- /bin/sh` makes Linux run
 * capsa "--memory 128 -- /bin/sh" SCRIPT ARGS...: the options arrive as one
 * argument. Split it, and have the script itself copied into the guest at
 * its absolute path, where the interpreter is given it.
 */
int
shebang_expand(struct capsa_config *cfg, int *argc, char ***argv, char *err, unsigned errlen)
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
		return snprintf(err, errlen, "%s: path too long", (*argv)[2]), -1;
	strlist_add(&words, script);
	for (int i = 3; i < *argc; i++)
		strlist_add(&words, (*argv)[i]);
	*argc = (int)words.n;
	*argv = words.v;
	return 0;
}
