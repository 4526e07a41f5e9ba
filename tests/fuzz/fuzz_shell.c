/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the Bash tool's command is written by the agent, so the
 * shell parser sees hostile text.  Parse it and check what the policy relies
 * on: a clean verdict (0, or -EINVAL/-E2BIG with a message), and a result
 * whose every field is consistent.  A broken invariant aborts, so the
 * fuzzer reports it like a crash.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_word(const kn_sh_word *w)
{
	check(w->text != NULL);
	(void) strlen(w->text); /* terminated, readable (ASan) */
}

static void check_cmd(const kn_sh_cmd *c)
{
	check(c->argc == 0 || c->argv != NULL);
	for (size_t i = 0; i < c->argc; i++)
		check_word(&c->argv[i]);
	for (char **a = c->assign; a && *a; a++)
		check(strchr(*a, '=') != NULL);
	for (size_t i = 0; i < c->n_redirs; i++) {
		const kn_sh_redir *r = &c->redirs[i];
		bool heredoc = !strcmp(r->op, "<<") || !strcmp(r->op, "<<-");

		check(r->op[0] != '\0' && memchr(r->op, '\0', sizeof(r->op)) != NULL);
		check(r->fd >= -1);
		check_word(&r->target);
		check(heredoc == (r->heredoc != NULL));
	}
	check(c->pipe_index < c->pipe_len);
	check(c->depth <= KN_SH_MAX_DEPTH);
	/* the text's own commands are the only ones at depth 0 */
	check((c->depth == 0) == (c->origin == KN_SH_TOP));
	check(c->origin != KN_SH_WRAPPER || (c->wrappers && *c->wrappers));
	check(!c->more_args || c->wrappers);
	/* only a string found in the text can hold unknown text */
	check(!c->dynamic_string || c->depth > 0);
	check(c->argc == 0 || c->argv[0].text[0] != '\0' || c->argv[0].quoted || c->argv[0].dynamic
	      || c->origin == KN_SH_WRAPPER || c->origin == KN_SH_FIND_EXEC || c->origin == KN_SH_EVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kn_error err = KN_ERROR_INIT;
	kn_sh_script s;
	char *text;
	int r;

	if (size > KN_SH_MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	r = kn_sh_parse(text, &s, &err);
	check(r == 0 || r == -EINVAL || r == -E2BIG);
	if (r < 0) {
		check(s.n == 0 && s.cmds == NULL);
		check(err.msg[0] != '\0');
		check(r != -EINVAL || strstr(err.msg, " at offset ") != NULL);
	} else {
		check(s.n <= KN_SH_MAX_CMDS);
		check(s.n == 0 || s.cmds != NULL);
		for (size_t i = 0; i < s.n; i++)
			check_cmd(&s.cmds[i]);
		/* one pipeline, one length (quadratic: only on small results) */
		for (size_t i = 0; s.n <= 256 && i < s.n; i++)
			for (size_t j = 0; j < i; j++)
				if (s.cmds[i].pipeline == s.cmds[j].pipeline)
					check(s.cmds[i].pipe_len == s.cmds[j].pipe_len);
	}
	kn_sh_script_free(&s);
	kn_sh_script_free(&s);
	free(text);
	return 0;
}
