/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Matching one parsed simple command (shell.h) against a rule's command
 * matcher: program, subcommand words, flags (short flags combined or not,
 * long flags and their abbreviations), arguments by glob or path predicate,
 * git push destinations, and the files a command writes.  Paths are judged
 * lexically, in the agent's view.  The text a command receives (stdin, SQL)
 * is policy_input.c's.
 */
#include "policy_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

static inline void strv_freep(char ***v)
{
	kn_strv_free(*v);
}
#define _cleanup_strv_ __attribute__((cleanup(strv_freep)))

/* A word is matched as a glob only when it is a plausible one: fnmatch backtracks on many stars. */
#define GLOB_MAX_STARS 8
/* words of xargs input judged as arguments; past that, the rest is unknown */
#define XARGS_WORDS_MAX 256

/* Removing one of these (or everything in it) breaks the system; deeper paths are not listed. */
static const char *const system_dirs[] = {
	"/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
	"/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/usr", "/var",
	"/usr/bin", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/local",
	"/usr/local/bin", "/usr/local/lib", "/usr/sbin", "/usr/share", "/usr/src", "/var/cache", "/var/lib",
	"/var/log", "/var/mail", "/var/spool",
};

/* /dev entries that are not a disk: writing or shredding them destroys nothing. */
static const char *const harmless_devs[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
	"/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd/*", "/dev/shm/*", "/dev/pts/*", "/dev/ptmx",
};

static const char *const shells[] = { "sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "yash" };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

bool kn_is_shell(const char *prog)
{
	for (size_t i = 0; i < N_OF(shells); i++)
		if (!strcmp(prog, shells[i]))
			return true;
	return false;
}

/* ---- paths ---- */

bool kn_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

char *kn_path_normalize(const char *base, const char *path)
{
	_cleanup_free_ char *joined = path[0] == '/' ? kn_xstrdup(path) : kn_xasprintf("%s/%s", base, path);
	char *out = kn_xmalloc(strlen(joined) + 2);
	size_t len = 0;
	char *save = NULL;

	for (char *comp = strtok_r(joined, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the slash; ".." of / is / */
			continue;
		}
		out[len++] = '/';
		memcpy(out + len, comp, strlen(comp));
		len += strlen(comp);
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return out;
}

/* replace_var() - @s with every $NAME / ${NAME} (not followed by a name character) replaced by @value. */
static char *replace_var(const char *s, const char *name, const char *value)
{
	size_t nlen = strlen(name), cap = strlen(s) + 1, len = 0;
	char *out = kn_xmalloc(cap);

	while (*s) {
		size_t skip = 0;

		if (s[0] == '$' && !strncmp(s + 1, name, nlen) && !(isalnum((unsigned char) s[1 + nlen]) || s[1 + nlen] == '_'))
			skip = 1 + nlen;
		else if (s[0] == '$' && s[1] == '{' && !strncmp(s + 2, name, nlen) && s[2 + nlen] == '}')
			skip = 3 + nlen;
		if (skip) {
			size_t vlen = strlen(value);

			cap += vlen;
			out = kn_xrealloc(out, cap);
			memcpy(out + len, value, vlen);
			len += vlen;
			s += skip;
		} else {
			out[len++] = *s++;
		}
	}
	out[len] = '\0';
	return out;
}

char *kn_resolve_word(kn_eval *ev, const kn_sh_word *w, const char *cwd, bool *dynamic)
{
	_cleanup_free_ char *text = kn_xstrdup(w->text);
	size_t stars = 0;

	*dynamic = false;
	if (w->dynamic && kn_has_expansion(text)) {
		char *a = replace_var(text, "HOME", ev->home);
		char *b = replace_var(a, "PWD", cwd);

		free(a);
		free(text);
		text = b;
		if (kn_has_expansion(text)) {
			*dynamic = true;
			return NULL;
		}
	}
	if (!*text || strlen(text) >= PATH_MAX)
		return NULL;
	for (const char *c = text; *c; c++)
		stars += *c == '*';
	if (stars > GLOB_MAX_STARS) {
		*dynamic = true;
		return NULL;
	}
	if (text[0] == '~') {
		/* tilde expansion: ~ ~/x ~+ ~user; ~- (OLDPWD) is not known */
		const char *rest = text + 1 + strcspn(text + 1, "/");
		size_t ulen = (size_t) (rest - text) - 1;
		char *expanded;

		if (ulen == 0)
			expanded = kn_xasprintf("%s%s", ev->home, rest);
		else if (ulen == 1 && text[1] == '+')
			expanded = kn_xasprintf("%s%s", cwd, rest);
		else if (ulen == 1 && text[1] == '-') {
			*dynamic = true;
			return NULL;
		} else if (ulen == 4 && !strncmp(text + 1, "root", 4))
			expanded = kn_xasprintf("/root%s", rest);
		else
			expanded = kn_xasprintf("/home/%.*s%s", (int) ulen, text + 1, rest);
		free(text);
		text = expanded;
	}
	return kn_path_normalize(cwd, text);
}

/*
 * path_is() - the path (or pattern, when @glob) @p names @target, or,
 * with @children, every entry of @target ("/usr/" followed by a star empties /usr).
 */
static bool path_is(const char *p, bool glob, const char *target, bool children)
{
	if (!glob)
		return !strcmp(p, target);
	if (fnmatch(p, target, FNM_PATHNAME | FNM_PERIOD) == 0)
		return true;
	if (children) {
		/* a last component of only wildcards (star, dot-star, star-dot-star) */
		const char *slash = strrchr(p, '/');
		const char *last = slash ? slash + 1 : p;
		bool star = false;
		char dir[PATH_MAX];

		for (const char *c = last; *c; c++) {
			if (*c == '*')
				star = true;
			else if (*c != '?' && *c != '.')
				return false;
		}
		if (!star || !slash)
			return false;
		if (slash == p)
			snprintf(dir, sizeof(dir), "/");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int) (slash - p), p);
		return path_is(dir, kn_is_glob_text(dir), target, false);
	}
	return false;
}

/* pred_path() - does the resolved path or pattern @p satisfy one of the predicates in @preds? */
static bool pred_path(kn_eval *ev, const char *p, bool glob, unsigned preds)
{
	if ((preds & KN_PRED_ROOT) && path_is(p, glob, "/", true))
		return true;
	if (preds & KN_PRED_HOME) {
		const char *slash = strrchr(p, '/');

		if (path_is(p, glob, ev->home, true))
			return true;
		/* somebody's home: /home/NAME or everything in it */
		if (!strncmp(p, "/home/", 6) && slash == p + 5 && p[6])
			return true;
	}
	if (preds & KN_PRED_SYSTEM)
		for (size_t i = 0; i < N_OF(system_dirs); i++)
			if (path_is(p, glob, system_dirs[i], true))
				return true;
	if ((preds & KN_PRED_WORKSPACE) && path_is(p, glob, ev->ws, true))
		return true;
	if (preds & KN_PRED_WORKSPACE_GIT) {
		_cleanup_free_ char *git = kn_xasprintf("%s/.git", strcmp(ev->ws, "/") ? ev->ws : "");

		if (path_is(p, glob, git, true))
			return true;
	}
	if (preds & KN_PRED_OUTSIDE) {
		char lit[PATH_MAX];

		snprintf(lit, sizeof(lit), "%s", p);
		if (glob) {
			/* the directory part before the first wildcard decides */
			char *w = strpbrk(lit, "*?[");
			char *slash;

			if (w)
				*w = '\0';
			slash = strrchr(lit, '/');
			if (slash)
				*(slash == lit ? slash + 1 : slash) = '\0';
		}
		if (!kn_path_under(lit, ev->ws))
			return true;
	}
	if ((preds & KN_PRED_DEVICE) && !strncmp(p, "/dev/", 5) && p[5]) {
		bool harmless = false;

		for (size_t i = 0; i < N_OF(harmless_devs) && !harmless; i++)
			harmless = fnmatch(harmless_devs[i], p, 0) == 0;
		if (!harmless)
			return true;
	}
	return false;
}

/* relative_reaches_up() - a relative @text that names the cwd itself, an ancestor, or all their entries. */
static bool relative_reaches_up(const char *text)
{
	static const char base[] = "/u1/u2/u3/u4/u5/u6/u7/u8/u9";
	_cleanup_free_ char *n = kn_path_normalize(base, text);

	if (kn_path_under(base, n))
		return true;
	return kn_is_glob_text(n) && path_is(n, true, base, true);
}

/* pred_word() - does argument @w satisfy one of @preds, in any of the places the command may run? */
static bool pred_word(kn_eval *ev, const kn_sh_word *w, unsigned preds)
{
	bool relative = w->text[0] != '/' && w->text[0] != '~' && w->text[0] != '$';

	if ((preds & KN_PRED_DYNAMIC) && ev->cwd_unknown && relative && relative_reaches_up(w->text))
		return true;
	for (size_t i = 0; i < ev->n_cwds; i++) {
		bool dynamic;
		_cleanup_free_ char *p = kn_resolve_word(ev, w, ev->cwds[i], &dynamic);

		if (dynamic)
			return (preds & KN_PRED_DYNAMIC) != 0;
		if (p && pred_path(ev, p, w->dynamic && kn_is_glob_text(p), preds))
			return true;
		if (!relative)
			break; /* the same everywhere */
	}
	return false;
}

/* ---- words, flags, arguments ---- */

/*
 * token_has_flag() - does option token @t carry rule flag @rf?
 *   --long       --long, --long=VALUE, or an abbreviation --lo (GNU getopt and
 *                git accept unique prefixes, so "--recur" is --recursive)
 *   --long=V     exactly that
 *   -x           any single-dash token containing x: -x, -rx, -xf
 *   -word        exactly -word (find, dd-style single-dash words)
 */
static bool token_has_flag(const char *t, const char *rf)
{
	if (rf[1] == '-') {
		size_t tn, rn;

		if (t[1] != '-')
			return false;
		if (strchr(rf, '='))
			return !strcmp(t, rf);
		tn = strcspn(t, "=");
		rn = strlen(rf);
		return tn >= 3 && tn <= rn && !strncmp(t, rf, tn);
	}
	if (rf[2] == '\0')
		return t[1] != '-' && strchr(t + 1, rf[1]) != NULL;
	return !strcmp(t, rf);
}

/* cmd_has_flag() - @c carries @rf, in its words or in the words xargs will add (@extra, may be NULL). */
static bool cmd_has_flag(const kn_sh_cmd *c, size_t ddash, const char *rf, char *const *extra)
{
	for (size_t i = 1; i < ddash; i++)
		if (kn_is_option(c->argv[i].text) && token_has_flag(c->argv[i].text, rf))
			return true;
	for (size_t i = 0; extra && ddash == c->argc && extra[i]; i++)
		if (kn_is_option(extra[i]) && token_has_flag(extra[i], rf))
			return true;
	return false;
}

static bool cmd_has_any_flag(const kn_sh_cmd *c, size_t ddash, const kn_strlist *l, char *const *extra)
{
	for (size_t i = 0; i < l->n; i++)
		if (cmd_has_flag(c, ddash, l->v[i], extra))
			return true;
	return false;
}

/*
 * xargs_words() - the words xargs takes from its input, as far as the
 * command line shows them (echo -rf / | xargs rm): a NULL-terminated
 * vector, or NULL.
 */
static char **xargs_words(kn_eval *ev, const kn_sh_script *s, size_t i)
{
	kn_texts t = { 0 };
	char **out = NULL;
	size_t n = 0;

	kn_gather_stdin(ev, s, i, &t);
	for (size_t k = 0; k < t.n && n < XARGS_WORDS_MAX; k++) {
		_cleanup_free_ char *copy = kn_xstrdup(t.v[k]);
		char *save = NULL;

		for (char *w = strtok_r(copy, " \t\n", &save); w && n < XARGS_WORDS_MAX; w = strtok_r(NULL, " \t\n", &save), n++)
			kn_strv_append(&out, w);
	}
	kn_texts_free(&t);
	return out;
}

/* find_roots() - [first, end) of find's starting points, after -H -L -P -O3 -D opts. */
static void find_roots(const kn_sh_cmd *c, size_t *first, size_t *end)
{
	size_t i = 1;

	while (i < c->argc) {
		const char *t = c->argv[i].text;

		if (!strcmp(t, "-H") || !strcmp(t, "-L") || !strcmp(t, "-P") || !strncmp(t, "-O", 2))
			i++;
		else if (!strcmp(t, "-D"))
			i += 2;
		else
			break;
	}
	*first = i;
	while (i < c->argc) {
		const char *t = c->argv[i].text;

		if (t[0] == '-' || !strcmp(t, "(") || !strcmp(t, "!") || !strcmp(t, ","))
			break;
		i++;
	}
	*end = i;
}

static bool word_matches_args(kn_eval *ev, const kn_args_match *a, const kn_sh_word *w, bool nocase)
{
	kn_sh_word cut = *w;

	if (a->prefix) {
		size_t n = strlen(a->prefix);

		if (strncmp(w->text, a->prefix, n))
			return false;
		cut.text = w->text + n;
	}
	for (size_t g = 0; g < a->globs.n; g++)
		if (fnmatch(a->globs.v[g], cut.text, nocase ? FNM_CASEFOLD : 0) == 0)
			return true;
	return a->preds && pred_word(ev, &cut, a->preds);
}

/*
 * xargs_args_match() - the arguments xargs adds from its input: the words
 * of what the command line pipes into it when it shows them (echo / |
 * xargs rm -rf), else one argument only known at run time.
 */
static bool xargs_args_match(kn_eval *ev, const kn_args_match *a, const kn_sh_script *s, size_t i, bool nocase)
{
	kn_texts t = { 0 };
	bool hit = false;
	size_t words = 0;

	kn_gather_stdin(ev, s, i, &t);
	for (size_t k = 0; k < t.n && !hit && words < XARGS_WORDS_MAX; k++) {
		_cleanup_free_ char *copy = kn_xstrdup(t.v[k]);
		char *save = NULL;

		for (char *w = strtok_r(copy, " \t\n", &save); w && !hit && words < XARGS_WORDS_MAX;
		     w = strtok_r(NULL, " \t\n", &save), words++) {
			kn_sh_word word = { .text = w, .dynamic = kn_is_glob_text(w), .quoted = false };

			hit = word_matches_args(ev, a, &word, nocase);
		}
	}
	if (!hit && (t.opaque || !t.n || words >= XARGS_WORDS_MAX)) {
		kn_sh_word unknown = { .text = (char *) "$XARGS_INPUT", .dynamic = true, .quoted = false };

		hit = word_matches_args(ev, a, &unknown, nocase);
	}
	kn_texts_free(&t);
	return hit;
}

static bool args_match(kn_eval *ev, const kn_args_match *a, const kn_sh_script *s, size_t ci, const char *prog,
		       size_t ddash, bool nocase)
{
	const kn_sh_cmd *c = &s->cmds[ci];
	size_t first = 1, end = c->argc;

	if (c->more_args && xargs_args_match(ev, a, s, ci, nocase))
		return true;

	if (!strcmp(prog, "find")) {
		find_roots(c, &first, &end);
		if (first == end) {
			/* no starting point: find searches "." */
			kn_sh_word dot = { .text = (char *) ".", .dynamic = false, .quoted = false };

			return word_matches_args(ev, a, &dot, nocase);
		}
		for (size_t i = first; i < end; i++)
			if (word_matches_args(ev, a, &c->argv[i], nocase))
				return true;
		return false;
	}
	for (size_t i = first; i < end; i++)
		if (kn_positional(c, ddash, i) && word_matches_args(ev, a, &c->argv[i], nocase))
			return true;
	return false;
}

static bool word_eq(const char *pattern, const char *word, bool nocase)
{
	return fnmatch(pattern, word, nocase ? FNM_CASEFOLD : 0) == 0;
}

/*
 * subcommand_end() - match the word sequence @seq as the command's first
 * positional words.  Options may come before and between them; an option
 * written without =VALUE may or may not take the next word as its value
 * (git -C DIR push, kubectl -n NS delete), so both readings are tried
 * (a table over word index x words matched: linear, no backtracking).
 * Return: the argv index just after the last word matched, or 0.
 */
static size_t subcommand_end(const kn_sh_cmd *c, size_t ddash, const kn_strlist *seq, bool nocase)
{
	size_t n = c->argc, m = seq->n;
	_cleanup_free_ unsigned char *reach = kn_xcalloc((n + 2) * (m + 1), 1);

#define REACH(i, j) reach[(i) * (m + 1) + (j)]
	REACH(1, 0) = 1;
	for (size_t i = 1; i < n; i++) {
		for (size_t j = 0; j < m; j++) {
			const char *t = c->argv[i].text;

			if (!REACH(i, j))
				continue;
			if (i < ddash && kn_is_option(t)) {
				REACH(i + 1, j) = 1;
				if (!strchr(t, '=') && i + 2 <= n)
					REACH(i + 2, j) = 1;
			} else if (i != ddash && word_eq(seq->v[j], t, nocase)) {
				REACH(i + 1, j + 1) = 1;
			} else if (i == ddash) {
				REACH(i + 1, j) = 1;
			}
		}
	}
	for (size_t i = 1; i <= n; i++)
		if (REACH(i, m))
			return i;
#undef REACH
	return 0;
}

/*
 * verb_match() - one of the first @within positional words matches a verb
 * glob.  A word right after an option without =VALUE may be that option's
 * value: it is a candidate but does not count as a position.
 */
static bool verb_match(const kn_cmd_match *m, const kn_sh_cmd *c, size_t ddash)
{
	unsigned pos = 0;
	bool after_option = false;

	for (size_t i = 1; i < c->argc && pos < m->verb_within; i++) {
		const char *t = c->argv[i].text;

		if (i < ddash && kn_is_option(t)) {
			after_option = !strchr(t, '=');
			continue;
		}
		if (i == ddash)
			continue;
		for (size_t v = 0; v < m->verbs.n; v++)
			if (word_eq(m->verbs.v[v], t, m->nocase))
				return true;
		if (!after_option)
			pos++;
		after_option = false;
	}
	return false;
}

static bool exec_program_match(const kn_strlist *progs, const kn_sh_cmd *c)
{
	for (size_t i = 1; i + 1 < c->argc; i++) {
		const char *t = c->argv[i].text;

		if (strcmp(t, "-exec") && strcmp(t, "-execdir") && strcmp(t, "-ok") && strcmp(t, "-okdir"))
			continue;
		for (size_t p = 0; p < progs->n; p++)
			if (fnmatch(progs->v[p], kn_sh_basename(c->argv[i + 1].text), 0) == 0)
				return true;
	}
	return false;
}

static bool wrapper_match(const kn_strlist *w, const kn_sh_cmd *c)
{
	if (!c->wrappers)
		return false;
	for (size_t i = 0; i < w->n; i++) {
		size_t n = strlen(w->v[i]);

		for (const char *p = c->wrappers; (p = strstr(p, w->v[i])); p += n)
			if ((p == c->wrappers || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
				return true;
	}
	return false;
}

int kn_shell_script_arg(const kn_sh_cmd *c, bool *reads_stdin)
{
	bool c_flag = false, s_flag = false;
	size_t i = 1;

	*reads_stdin = false;
	while (i < c->argc) {
		const char *t = c->argv[i].text;

		if (!strcmp(t, "--") || !strcmp(t, "-")) {
			i++;
			break;
		}
		if ((t[0] == '-' || t[0] == '+') && t[1]) {
			if (t[1] == '-') {
				if (!strcmp(t, "--rcfile") || !strcmp(t, "--init-file"))
					i++;
				i++;
				continue;
			}
			for (const char *f = t + 1; *f; f++) {
				if (*f == 'c')
					c_flag = true;
				else if (*f == 's')
					s_flag = true;
				else if (*f == 'o' || *f == 'O')
					i++; /* -o pipefail */
			}
			i++;
			continue;
		}
		break;
	}
	if (c_flag)
		return -1;
	if (s_flag || i >= c->argc) {
		*reads_stdin = true;
		return -1;
	}
	return (int) i;
}

/* reads_script_from_stdin() - a shell or an interpreter that takes its program on stdin. */
static bool reads_script_from_stdin(const kn_sh_cmd *c, const char *prog)
{
	static const struct {
		const char *glob;
		const char *code_flags;
	} interps[] = {
		{ "python*", "cm" }, { "perl*", "eE" }, { "ruby*", "e" }, { "node", "ep" }, { "nodejs", "ep" },
		{ "php*", "r" },
	};
	size_t ddash = kn_ddash_index(c);

	if (kn_is_shell(prog)) {
		bool in;

		kn_shell_script_arg(c, &in);
		return in;
	}
	for (size_t k = 0; k < N_OF(interps); k++) {
		if (fnmatch(interps[k].glob, prog, 0))
			continue;
		for (size_t i = 1; i < c->argc; i++) {
			const char *t = c->argv[i].text;

			if (i < ddash && kn_is_option(t)) {
				if (t[1] == '-')
					if (!strcmp(t, "--eval") || !strcmp(t, "--print"))
						return false;
				if (t[1] != '-' && strpbrk(t + 1, interps[k].code_flags))
					return false;
				continue;
			}
			if (i == ddash)
				continue;
			return !strcmp(t, "-");
		}
		return true;
	}
	return false;
}

/* ---- git push ---- */

/* current_branch() - the branch checked out in the repository around @dir: malloc'd, "" when detached, NULL unknown. */
static char *current_branch(kn_eval *ev, const char *dir)
{
	_cleanup_free_ char *d = kn_xstrdup(dir);

	while (kn_path_under(d, ev->ws)) {
		_cleanup_free_ char *head_path = kn_xasprintf("%s/.git/HEAD", strcmp(d, "/") ? d : "");
		_cleanup_free_ char *head = NULL;
		size_t len;
		int r = kn_read_ws_file(ev, head_path, &head, &len);

		if (r == -ENOTDIR) {
			/* .git is a file (worktree, submodule): "gitdir: PATH" */
			_cleanup_free_ char *gitfile = kn_xasprintf("%s/.git", strcmp(d, "/") ? d : "");
			_cleanup_free_ char *link = NULL;

			if (kn_read_ws_file(ev, gitfile, &link, &len) == 0 && !strncmp(link, "gitdir: ", 8)) {
				_cleanup_free_ char *gitdir = NULL;

				link[strcspn(link, "\n")] = '\0';
				gitdir = kn_path_normalize(d, link + 8);
				free(head_path);
				head_path = kn_xasprintf("%s/HEAD", gitdir);
				r = kn_read_ws_file(ev, head_path, &head, &len);
			}
		}
		if (r == 0) {
			head[strcspn(head, "\n")] = '\0';
			if (!strncmp(head, "ref: refs/heads/", 16))
				return kn_xstrdup(head + 16);
			return kn_xstrdup("");
		}
		if (r != -ENOENT)
			return NULL;
		if (!strcmp(d, ev->ws) || !strcmp(d, "/"))
			break;
		*strrchr(d, '/') = '\0';
		if (!*d)
			strcpy(d, "/");
	}
	return NULL;
}

static bool branch_in(const kn_strlist *l, const char *branch)
{
	for (size_t i = 0; i < l->n; i++)
		if (fnmatch(l->v[i], branch, 0) == 0)
			return true;
	return false;
}

/* push_to_current() - does pushing the current branch (in -C DIR or the cwd) hit @l? Unknown counts as yes. */
static bool push_to_current(kn_eval *ev, const kn_strlist *l, const kn_sh_cmd *c, size_t sub_start)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char *branch = NULL;

	if (ev->cwd_unknown)
		return true;
	dir = kn_xstrdup(ev->cwds[ev->n_cwds - 1]);
	for (size_t i = 1; i + 1 < sub_start; i++)
		if (!strcmp(c->argv[i].text, "-C")) {
			bool dynamic;
			char *d = kn_resolve_word(ev, &c->argv[i + 1], dir, &dynamic);

			if (!d)
				return true;
			free(dir);
			dir = d;
		}
	branch = current_branch(ev, dir);
	if (!branch)
		return true;
	return *branch && branch_in(l, branch);
}

/*
 * push_branch_match() - git push [options] [REMOTE [REFSPEC...]]: does a
 * destination branch match @l?  No refspec (or HEAD) pushes the current
 * branch, read from the repository's HEAD; --all and --branches push them all.
 */
static bool push_branch_match(kn_eval *ev, const kn_strlist *l, const kn_sh_cmd *c, size_t ddash, size_t sub_end,
			      size_t sub_start)
{
	size_t n_pos = 0;

	for (size_t i = sub_end; i < c->argc; i++) {
		const char *t = c->argv[i].text;
		const char *dst;
		_cleanup_free_ char *ref = NULL;

		if (i < ddash && kn_is_option(t)) {
			if (!strcmp(t, "--all") || !strcmp(t, "--branches") || !strcmp(t, "--mirror"))
				return true;
			if (!strcmp(t, "-o") || !strcmp(t, "--push-option") || !strcmp(t, "--repo") ||
			    !strcmp(t, "--receive-pack") || !strcmp(t, "--exec"))
				i++;
			continue;
		}
		if (i == ddash)
			continue;
		if (n_pos++ == 0)
			continue; /* the remote */
		if (c->argv[i].dynamic && kn_has_expansion(t))
			return true;
		ref = kn_xstrdup(t[0] == '+' ? t + 1 : t);
		dst = strrchr(ref, ':') ? strrchr(ref, ':') + 1 : ref;
		if (!strcmp(dst, "HEAD") || !strcmp(dst, "@")) {
			if (push_to_current(ev, l, c, sub_start))
				return true;
			continue;
		}
		if (!strncmp(dst, "refs/heads/", 11))
			dst += 11;
		if (branch_in(l, dst))
			return true;
	}
	if (n_pos <= 1)
		return push_to_current(ev, l, c, sub_start);
	return false;
}

/* ---- the command matcher ---- */

bool kn_match_cmd(kn_eval *ev, const kn_cmd_match *m, const kn_sh_script *s, size_t i)
{
	const kn_sh_cmd *c = &s->cmds[i];
	const char *prog;
	size_t ddash, sub_end = 1, sub_start = 1;
	_cleanup_strv_ char **extra = NULL;

	if (c->argc == 0)
		return false;
	prog = kn_sh_basename(c->argv[0].text);
	if (m->programs.n) {
		bool ok = false;

		for (size_t k = 0; k < m->programs.n && !ok; k++)
			ok = kn_is_glob_text(m->programs.v[k]) ? fnmatch(m->programs.v[k], prog, 0) == 0
							       : !strcmp(m->programs.v[k], prog);
		if (!ok)
			return false;
	}
	if (m->wrapper.n && !wrapper_match(&m->wrapper, c))
		return false;
	ddash = kn_ddash_index(c);
	if (m->n_subcommands) {
		size_t k;

		for (k = 0; k < m->n_subcommands; k++)
			if ((sub_end = subcommand_end(c, ddash, &m->subcommands[k], m->nocase)))
				break;
		if (k == m->n_subcommands)
			return false;
		/* where the first subcommand word sits, for git -C DIR */
		sub_start = sub_end - m->subcommands[k].n;
	}
	if (c->more_args && (m->n_flags || m->any_flag.n || m->no_flag.n))
		extra = xargs_words(ev, s, i);
	for (size_t g = 0; g < m->n_flags; g++)
		if (!cmd_has_any_flag(c, ddash, &m->flags[g], extra))
			return false;
	if (m->any_flag.n && !cmd_has_any_flag(c, ddash, &m->any_flag, extra))
		return false;
	if (m->no_flag.n && cmd_has_any_flag(c, ddash, &m->no_flag, extra))
		return false;
	if (m->verbs.n && !verb_match(m, c, ddash))
		return false;
	if (m->exec_program.n && !exec_program_match(&m->exec_program, c))
		return false;
	if (m->args.set && !args_match(ev, &m->args, s, i, prog, ddash, m->nocase))
		return false;
	if (m->stdin_script && !reads_script_from_stdin(c, prog))
		return false;
	if (m->push_branch.n && !push_branch_match(ev, &m->push_branch, c, ddash, sub_end, sub_start))
		return false;
	if (m->input.set && !kn_match_input(ev, &m->input, s, i, prog))
		return false;
	if (m->unless && kn_match_cmd(ev, m->unless, s, i))
		return false;
	return true;
}

/* ---- written paths ---- */

/* expand_pattern() - a rule path glob with a leading ~, $HOME or $WORKSPACE replaced. */
static char *expand_pattern(kn_eval *ev, const char *g)
{
	const char *ws = strcmp(ev->ws, "/") ? ev->ws : "";

	if (g[0] == '~' && (g[1] == '/' || !g[1]))
		return kn_xasprintf("%s%s", ev->home, g + 1);
	if (!strncmp(g, "$HOME", 5) && (g[5] == '/' || !g[5]))
		return kn_xasprintf("%s%s", ev->home, g + 5);
	if (!strncmp(g, "$WORKSPACE", 10) && (g[10] == '/' || !g[10]))
		return kn_xasprintf("%s%s", ws, g + 10);
	return kn_xstrdup(g);
}

bool kn_match_path(kn_eval *ev, const kn_strlist *globs, const char *path)
{
	for (size_t i = 0; i < globs->n; i++) {
		_cleanup_free_ char *g = expand_pattern(ev, globs->v[i]);

		/* no FNM_PATHNAME: * crosses directories, so * / .git/hooks/ * covers every repository */
		if (fnmatch(g, path, 0) == 0)
			return true;
	}
	return false;
}

static bool word_writes_match(kn_eval *ev, const kn_strlist *globs, const kn_sh_word *w, const char *cut)
{
	kn_sh_word x = *w;

	if (cut)
		x.text = (char *) cut;
	for (size_t i = 0; i < ev->n_cwds; i++) {
		bool dynamic;
		_cleanup_free_ char *p = kn_resolve_word(ev, &x, ev->cwds[i], &dynamic);

		if (p && kn_match_path(ev, globs, p))
			return true;
	}
	return false;
}

bool kn_match_writes(kn_eval *ev, const kn_strlist *globs, const kn_sh_cmd *c)
{
	const char *prog;
	size_t ddash, last = 0;

	for (size_t r = 0; r < c->n_redirs; r++) {
		const kn_sh_redir *rd = &c->redirs[r];
		const char *op = rd->op;
		bool write = !strcmp(op, ">") || !strcmp(op, ">>") || !strcmp(op, ">|") || !strcmp(op, "&>") ||
			     !strcmp(op, "&>>") || !strcmp(op, "<>");

		/* >& FILE writes FILE; >&2 and >&- are fds */
		if (!strcmp(op, ">&") && rd->target.text[0] && strspn(rd->target.text, "0123456789-") != strlen(rd->target.text))
			write = true;
		if (write && word_writes_match(ev, globs, &rd->target, NULL))
			return true;
	}
	if (c->argc == 0)
		return false;
	prog = kn_sh_basename(c->argv[0].text);
	ddash = kn_ddash_index(c);
	if (!strcmp(prog, "tee") || !strcmp(prog, "truncate")) {
		for (size_t i = 1; i < c->argc; i++)
			if (kn_positional(c, ddash, i) && word_writes_match(ev, globs, &c->argv[i], NULL))
				return true;
	} else if (!strcmp(prog, "cp") || !strcmp(prog, "mv") || !strcmp(prog, "install") || !strcmp(prog, "ln") ||
		   !strcmp(prog, "rsync")) {
		for (size_t i = 1; i < c->argc; i++) {
			const char *t = c->argv[i].text;

			if (kn_positional(c, ddash, i))
				last = i;
			else if (i < ddash && !strcmp(t, "-t") && i + 1 < c->argc &&
				 word_writes_match(ev, globs, &c->argv[i + 1], NULL))
				return true;
			else if (i < ddash && !strncmp(t, "--target-directory=", 19) &&
				 word_writes_match(ev, globs, &c->argv[i], t + 19))
				return true;
		}
		if (last > 1 && word_writes_match(ev, globs, &c->argv[last], NULL))
			return true;
		if (last > 1) {
			/* cp x DIR/ writes DIR/x: test DIR/NAME for the sources too */
			for (size_t i = 1; i < last; i++) {
				if (!kn_positional(c, ddash, i))
					continue;
				_cleanup_free_ char *into = kn_xasprintf("%s/%s", c->argv[last].text,
									 kn_sh_basename(c->argv[i].text));
				kn_sh_word w = c->argv[last];

				w.text = into;
				if (word_writes_match(ev, globs, &w, NULL))
					return true;
			}
		}
	} else if (!strcmp(prog, "dd")) {
		for (size_t i = 1; i < c->argc; i++)
			if (!strncmp(c->argv[i].text, "of=", 3) && word_writes_match(ev, globs, &c->argv[i], c->argv[i].text + 3))
				return true;
	}
	return false;
}
