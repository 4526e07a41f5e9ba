/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a command receives besides its arguments, as far as the command line
 * shows it: its stdin (here-documents, here-strings, < FILE, what
 * echo/printf/cat pipe into it), files read from the workspace (scripts,
 * SQL files, git's HEAD: never leaving the workspace), and the statements
 * in that text a database client would run (SQL, redis commands).
 */
#include "policy_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

#define STDIN_HOPS_MAX 8
/* PostgreSQL dollar quotes nested in dollar quotes, searched this deep */
#define SQL_NEST_MAX 4

void kn_texts_free(kn_texts *t)
{
	for (size_t i = 0; i < t->n_owned; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static void texts_add(kn_texts *t, const char *s)
{
	t->v = kn_xrealloc(t->v, (t->n + 1) * sizeof(char *));
	t->v[t->n++] = s;
}

static void texts_add_owned(kn_texts *t, char *s)
{
	t->owned = kn_xrealloc(t->owned, (t->n_owned + 1) * sizeof(char *));
	t->owned[t->n_owned++] = s;
	texts_add(t, s);
}


/* ---- reading the workspace ---- */

int kn_read_ws_file(kn_eval *ev, const char *path, char **out, size_t *len)
{
	const char *rel;
	_cleanup_close_ int dirfd = -1;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		/* the agent controls the workspace: no symlink or .. may lead out of it */
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	size_t got = 0;

	if (!kn_path_under(path, ev->ws))
		return -EXDEV;
	rel = path + (strcmp(ev->ws, "/") ? strlen(ev->ws) : 0);
	while (*rel == '/')
		rel++;
	if (!*rel)
		return -EISDIR;
	if (ev->files_read >= KN_EVAL_MAX_FILES)
		return -EMFILE;
	ev->files_read++;
	dirfd = open(ev->ws_host, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	fd = (int) syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > (off_t) KN_POLICY_MAX_SCRIPT)
		return -EFBIG;
	buf = kn_xmalloc(KN_POLICY_MAX_SCRIPT + 2);
	for (;;) {
		ssize_t n = read(fd, buf + got, KN_POLICY_MAX_SCRIPT + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t) n;
		if (got > KN_POLICY_MAX_SCRIPT)
			return -EFBIG; /* it grew since fstat */
	}
	buf[got] = '\0';
	*out = steal_ptr(&buf);
	*len = got;
	return 0;
}

/* read_word_file() - the workspace file word @w names (first cwd that has it). Return: malloc'd text or NULL. */
static char *read_word_file(kn_eval *ev, const kn_sh_word *w)
{
	for (size_t i = 0; i < ev->n_cwds; i++) {
		bool dynamic;
		_cleanup_free_ char *p = kn_resolve_word(ev, w, ev->cwds[i], &dynamic);
		char *text;
		size_t len;

		if (!p || (w->dynamic && kn_is_glob_text(p)))
			return NULL;
		if (kn_read_ws_file(ev, p, &text, &len) == 0)
			return text;
		if (w->text[0] == '/')
			break;
	}
	return NULL;
}

/* ---- stdin ---- */

/* predecessor() - the command feeding command @i through a pipe (the innermost when wrapped), or NULL. */
static const kn_sh_cmd *predecessor(const kn_sh_script *s, size_t i, size_t *at)
{
	const kn_sh_cmd *c = &s->cmds[i];
	const kn_sh_cmd *found = NULL;

	if (c->pipe_index == 0)
		return NULL;
	for (size_t j = 0; j < s->n; j++)
		if (s->cmds[j].pipeline == c->pipeline && s->cmds[j].pipe_index == c->pipe_index - 1) {
			found = &s->cmds[j];
			*at = j;
		}
	return found;
}

static char *join_args(const kn_sh_cmd *c, size_t from)
{
	size_t len = 1;
	char *out;

	for (size_t i = from; i < c->argc; i++)
		len += strlen(c->argv[i].text) + 1;
	out = kn_xmalloc(len);
	out[0] = '\0';
	for (size_t i = from; i < c->argc; i++) {
		if (i > from)
			strcat(out, " ");
		strcat(out, c->argv[i].text);
	}
	return out;
}

/* unescape() - the backslash escapes printf and echo -e turn into characters (\n \t \\), in place. */
static void unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		if (r[0] == '\\' && (r[1] == 'n' || r[1] == 't' || r[1] == '\\')) {
			*w++ = r[1] == 'n' ? '\n' : r[1] == 't' ? '\t' : '\\';
			r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static void gather_stdin_hops(kn_eval *ev, const kn_sh_script *s, size_t i, kn_texts *t, unsigned hops)
{
	const kn_sh_cmd *c = &s->cmds[i];
	bool redirected = false;
	const kn_sh_cmd *u;
	const char *prog;
	size_t at = 0;

	for (size_t r = 0; r < c->n_redirs; r++) {
		const kn_sh_redir *rd = &c->redirs[r];

		if (rd->fd > 0)
			continue; /* not stdin */
		if (!strcmp(rd->op, "<<") || !strcmp(rd->op, "<<-")) {
			redirected = true;
			if (rd->heredoc)
				texts_add(t, rd->heredoc);
		} else if (!strcmp(rd->op, "<<<")) {
			redirected = true;
			texts_add(t, rd->target.text);
			if (rd->target.dynamic)
				t->opaque = true;
		} else if (!strcmp(rd->op, "<") || !strcmp(rd->op, "<>") || !strcmp(rd->op, "<&")) {
			char *text = strcmp(rd->op, "<&") ? read_word_file(ev, &rd->target) : NULL;

			redirected = true;
			if (text)
				texts_add_owned(t, text);
			else
				t->opaque = true;
		}
	}
	if (redirected)
		return;
	u = predecessor(s, i, &at);
	if (!u)
		return;
	if (u->argc == 0 || hops >= STDIN_HOPS_MAX || u->argv[0].dynamic) {
		t->opaque = true;
		return;
	}
	prog = kn_sh_basename(u->argv[0].text);
	if (!strcmp(prog, "echo") || !strcmp(prog, "printf")) {
		size_t from = 1;
		bool escapes = false;
		char *text;

		while (!strcmp(prog, "echo") && from < u->argc && u->argv[from].text[0] == '-' &&
		       strspn(u->argv[from].text + 1, "neE") == strlen(u->argv[from].text + 1)) {
			escapes |= strchr(u->argv[from].text, 'e') != NULL;
			from++;
		}
		text = join_args(u, from);
		if (!strcmp(prog, "printf") || escapes)
			unescape(text);
		texts_add_owned(t, text);
		for (size_t j = from; j < u->argc; j++)
			if (u->argv[j].dynamic && kn_has_expansion(u->argv[j].text))
				t->opaque = true;
		return;
	}
	if (!strcmp(prog, "cat") || !strcmp(prog, "tee")) {
		size_t ddash = kn_ddash_index(u);
		bool files = false;

		for (size_t j = 1; j < u->argc; j++) {
			char *text;

			if (!kn_positional(u, ddash, j) || !strcmp(u->argv[j].text, "-"))
				continue;
			if (!strcmp(prog, "tee"))
				continue; /* tee writes its files and passes stdin on */
			files = true;
			text = read_word_file(ev, &u->argv[j]);
			if (text)
				texts_add_owned(t, text);
			else
				t->opaque = true;
		}
		if (!files)
			gather_stdin_hops(ev, s, at, t, hops + 1);
		return;
	}
	t->opaque = true;
}

void kn_gather_stdin(kn_eval *ev, const kn_sh_script *s, size_t i, kn_texts *t)
{
	gather_stdin_hops(ev, s, i, t, 0);
}

/* ---- statements: SQL and redis commands ---- */

static bool word_char(char c)
{
	return isalnum((unsigned char) c) || c == '_';
}

/* skip_blank() - whitespace and SQL comments (-- line, slash-star block). */
static const char *skip_blank(const char *p, const char *end)
{
	for (;;) {
		while (p < end && isspace((unsigned char) *p))
			p++;
		if (p + 1 < end && p[0] == '-' && p[1] == '-') {
			while (p < end && *p != '\n')
				p++;
		} else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
			const char *e = p + 2;

			while (e + 1 < end && !(e[0] == '*' && e[1] == '/'))
				e++;
			p = e + 1 < end ? e + 2 : end;
		} else {
			return p;
		}
	}
}

/* keywords_at() - the keyword sequence @kw ("DROP TABLE") starts at @p, case-insensitive, blanks between. */
static bool keywords_at(const char *p, const char *end, const char *kw)
{
	while (*kw) {
		size_t n = strcspn(kw, " ");

		if ((size_t) (end - p) < n || strncasecmp(p, kw, n) || (p + n < end && word_char(p[n])))
			return false;
		kw += n;
		if (*kw == ' ') {
			kw++;
			p = skip_blank(p + n, end);
		}
	}
	return true;
}

static bool any_keywords_at(const kn_input_match *m, const char *p, const char *end)
{
	for (size_t i = 0; i < m->statements.n; i++)
		if (keywords_at(p, end, m->statements.v[i]))
			return true;
	return false;
}

/*
 * statements_match() - split [text, end) into statements and test each.
 * SQL: statements end at ';' outside quotes and comments, and a keyword
 * sequence counts wherever it appears in a statement's code, so EXPLAIN
 * ANALYZE DELETE ..., WITH x AS (DELETE ...) and PL/pgSQL bodies ($$ ... $$,
 * searched too) are seen.  @backslash: a backslash escapes the next
 * character inside quotes (MySQL) or not (PostgreSQL, SQLite); callers try
 * both readings, so a quote trick that hides a statement from one reading
 * shows it to the other.  Commands (redis): one per line, the keywords must
 * open it.
 */
static bool statements_match(const kn_input_match *m, const char *text, const char *end, bool backslash, unsigned nest)
{
	const char *start = text, *p = text;
	bool lacking_seen = false, hit = false;
	size_t lacks_len = m->lacks ? strlen(m->lacks) : 0;
	bool sql = !m->commands;

	for (;;) {
		char ch = p < end ? *p : '\0';

		if (p >= end || (sql ? ch == ';' : ch == '\n')) {
			if (!sql)
				hit = any_keywords_at(m, skip_blank(start, p), p);
			if (hit && !(m->lacks && lacking_seen))
				return true;
			if (p >= end)
				return false;
			start = ++p;
			hit = lacking_seen = false;
			continue;
		}
		if (ch == '\'' || ch == '"' || ch == '`') {
			p++;
			while (p < end && *p != ch) {
				if (backslash && *p == '\\' && p + 1 < end)
					p++;
				p++;
			}
			p = p < end ? p + 1 : end;
			continue;
		}
		if (sql && ch == '-' && p + 1 < end && p[1] == '-') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		if (sql && ch == '/' && p + 1 < end && p[1] == '*') {
			p += 2;
			while (p + 1 < end && !(p[0] == '*' && p[1] == '/'))
				p++;
			p = p + 1 < end ? p + 2 : end;
			continue;
		}
		if (sql && ch == '$' && (p == text || !word_char(p[-1])) && p + 1 < end && !isdigit((unsigned char) p[1])) {
			/* $tag$ ... $tag$ */
			const char *tag_end = p + 1;

			while (tag_end < end && word_char(*tag_end))
				tag_end++;
			if (tag_end < end && *tag_end == '$') {
				size_t tag_len = (size_t) (tag_end - p) + 1;
				const char *body = tag_end + 1, *close = body;

				while (close + tag_len <= end && strncmp(close, p, tag_len))
					close++;
				if (close + tag_len > end)
					close = end;
				if (nest < SQL_NEST_MAX && statements_match(m, body, close, backslash, nest + 1))
					return true;
				p = close + tag_len <= end ? close + tag_len : end;
				continue;
			}
		}
		if (isalpha((unsigned char) ch) && (p == text || !word_char(p[-1]))) {
			if (lacks_len && (size_t) (end - p) >= lacks_len && !strncasecmp(p, m->lacks, lacks_len) &&
			    (p + lacks_len == end || !word_char(p[lacks_len])))
				lacking_seen = true;
			if (sql && !hit)
				hit = any_keywords_at(m, p, end);
		}
		p++;
	}
}

static bool input_text_match(const kn_input_match *m, const char *text)
{
	const char *end = text + strlen(text);

	for (size_t i = 0; i < m->contains.n; i++)
		if (strcasestr(text, m->contains.v[i]))
			return true;
	if (!m->statements.n)
		return false;
	return statements_match(m, text, end, false, 0) || statements_match(m, text, end, true, 0);
}

/*
 * args_input_match() - a SQL client's arguments: each one is SQL text, and
 * so is a value glued to an option (-e"DROP ...", -BeDROP..., --command=...).
 */
static bool args_input_match(const kn_input_match *m, const kn_sh_cmd *c)
{
	for (size_t j = 1; j < c->argc; j++) {
		const char *w = c->argv[j].text;

		if (input_text_match(m, w))
			return true;
		if (w[0] == '-' && w[1] == '-' && strchr(w, '=') && input_text_match(m, strchr(w, '=') + 1))
			return true;
		for (size_t k = 2; w[0] == '-' && w[1] && w[1] != '-' && k < 6 && w[k] && isalpha((unsigned char) w[k - 1]);
		     k++)
			if (input_text_match(m, w + k))
				return true;
	}
	return false;
}

/*
 * command_word_match() - a line-command client's arguments (redis-cli -h H
 * -n 2 FLUSHALL): the command is the first non-option word; a word right
 * after an option may be that option's value, so it is tried too.
 */
static bool command_word_match(const kn_input_match *m, const kn_sh_cmd *c)
{
	size_t ddash = kn_ddash_index(c);
	bool after_option = false;

	for (size_t i = 1; i < c->argc; i++) {
		const char *t = c->argv[i].text;

		if (i < ddash && kn_is_option(t)) {
			after_option = !strchr(t, '=');
			continue;
		}
		if (i == ddash)
			continue;
		if (input_text_match(m, t))
			return true;
		if (!after_option)
			return false;
		after_option = false;
	}
	return false;
}

/*
 * input_match() - the text the command receives: its arguments, psql -f
 * FILE from the workspace, and its stdin (here-documents, here-strings,
 * < FILE, what echo/printf/cat pipe into it).
 */
bool kn_match_input(kn_eval *ev, const kn_input_match *m, const kn_sh_script *s, size_t i, const char *prog)
{
	const kn_sh_cmd *c = &s->cmds[i];
	kn_texts t = { 0 };
	bool hit = m->commands ? command_word_match(m, c) : args_input_match(m, c);

	for (size_t j = 1; !hit && !strcmp(prog, "psql") && j + 1 < c->argc; j++) {
		if (!strcmp(c->argv[j].text, "-f") || !strcmp(c->argv[j].text, "--file")) {
			_cleanup_free_ char *text = read_word_file(ev, &c->argv[j + 1]);

			hit = text && input_text_match(m, text);
		}
	}
	if (hit)
		return true;
	kn_gather_stdin(ev, s, i, &t);
	for (size_t j = 0; j < t.n && !hit; j++)
		hit = input_text_match(m, t.v[j]);
	kn_texts_free(&t);
	return hit;
}
