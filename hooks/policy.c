/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command policy's decisions.  How a Bash command line is judged:
 *  1. it is parsed (shell.c) into every simple command it would run, nested
 *     ones included; a line that does not parse is ask, with the parse error
 *     as the reason;
 *  2. the places commands may run are noted: the event's cwd and every
 *     literal cd/pushd target (a cd to a run-time value makes relative
 *     paths unknown);
 *  3. each simple command: a program name only known at run time is ask;
 *     then the rules: any deny rule decides; otherwise an allow rule
 *     cancels that command's ask rules; otherwise the first ask rule;
 *  4. what each command runs besides itself: scripts run by path
 *     (bash x.sh, ./x.sh, source x.sh) are read from the workspace and
 *     judged the same way; a shell reading commands from stdin is judged on
 *     what the command line feeds it, and escalated when that is not visible;
 *  5. a parse cut short by a limit is ask (what was seen may still deny).
 * The strongest outcome over all commands wins: deny, then ask, then allow.
 * A file tool's write is judged on its target path alone.
 */
#include "policy_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "util.h"

#define EXCERPT_MAX 160

/* ---- verdicts ---- */

static void verdict_init(kn_policy_verdict *v)
{
	v->decision = KN_POLICY_ALLOW;
	v->rule[0] = '\0';
	snprintf(v->reason, sizeof(v->reason), "kennel: no rule matched");
}

/*
 * verdict_raise() - record outcome @d from rule @id unless @v already holds
 * a stronger one (or an equal one from a rule: the first match is reported).
 */
static void verdict_raise(kn_policy_verdict *v, const char *where, kn_policy_decision d, const char *id,
			  const char *why, const char *detail)
{
	size_t off;

	if (d < v->decision || (d == v->decision && v->rule[0]))
		return;
	v->decision = d;
	snprintf(v->rule, sizeof(v->rule), "%s", id);
	off = (size_t) snprintf(v->reason, sizeof(v->reason), "kennel rule %s: %s", id, why);
	if (off < sizeof(v->reason) && ((detail && *detail) || (where && *where)))
		snprintf(v->reason + off, sizeof(v->reason) - off, " (%s%s%s%s)", detail && *detail ? detail : "",
			 detail && *detail && where && *where ? "; " : "", where && *where ? "in " : "",
			 where && *where ? where : "");
}

/* excerpt() - the command as the reason shows it: its words, cut. */
static void excerpt(const kn_sh_cmd *c, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = '\0';
	if (!c)
		return;
	if (c->argc == 0 && c->n_redirs)
		off = (size_t) snprintf(out, cap, "%s %s", c->redirs[0].op, c->redirs[0].target.text);
	if (c->wrappers)
		off = (size_t) snprintf(out, cap, "%s ", c->wrappers);
	for (size_t i = 0; i < c->argc && off < cap; i++)
		off += (size_t) snprintf(out + off, cap - off, "%s%s", i ? " " : "", c->argv[i].text);
	if (off >= cap && cap > 4)
		memcpy(out + cap - 4, "...", 4);
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

static void raise_cmd(kn_eval *ev, kn_policy_decision d, const char *id, const char *why, const kn_sh_cmd *c)
{
	char ex[EXCERPT_MAX];

	excerpt(c, ex, sizeof(ex));
	verdict_raise(ev->v, ev->where, d, id, why, ex);
}

static void raise_fmt(kn_eval *ev, kn_policy_decision d, const char *id, const kn_sh_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void raise_fmt(kn_eval *ev, kn_policy_decision d, const char *id, const kn_sh_cmd *c, const char *fmt, ...)
{
	char why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	raise_cmd(ev, d, id, why, c);
}

static bool rule_for_tool(const kn_rule *r, const char *tool)
{
	for (size_t i = 0; i < r->tools.n; i++)
		if (!strcmp(r->tools.v[i], tool) || !strcmp(r->tools.v[i], "any"))
			return true;
	return false;
}

static bool rule_has_matcher(const kn_rule *r)
{
	return r->n_cmds || r->pipe_to || r->paths.n || r->fork_bomb;
}

/* ---- the evaluation's state ---- */

static int eval_init(kn_eval *ev, const kn_policy *p, const kn_policy_ctx *ctx, kn_policy_verdict *v)
{
	const char *ws = ctx->workspace ? ctx->workspace : ctx->cwd;
	const char *cwd = ctx->cwd ? ctx->cwd : ws;
	const char *home = ctx->home ? ctx->home : KN_POLICY_HOME_DEFAULT;

	memset(ev, 0, sizeof(*ev));
	ev->p = p;
	ev->v = v;
	ev->where = "";
	if (!ws || ws[0] != '/' || cwd[0] != '/' || home[0] != '/') {
		verdict_raise(v, "", KN_POLICY_ASK, "builtin-context",
			      "no absolute workspace and working directory to judge paths against", NULL);
		return -EINVAL;
	}
	ev->ws = kn_path_normalize("/", ws);
	ev->ws_host = ctx->workspace_host ? ctx->workspace_host : ev->ws;
	ev->home = kn_path_normalize("/", home);
	ev->cwds[0] = kn_path_normalize("/", cwd);
	ev->n_cwds = 1;
	return 0;
}

static void eval_free(kn_eval *ev)
{
	for (size_t i = 0; i < ev->n_cwds; i++)
		free(ev->cwds[i]);
	free(ev->ws);
	free(ev->home);
}

static void add_cwd(kn_eval *ev, char *dir)
{
	for (size_t i = 0; i < ev->n_cwds; i++)
		if (!strcmp(ev->cwds[i], dir)) {
			free(dir);
			return;
		}
	if (ev->n_cwds == KN_EVAL_MAX_CWDS) {
		ev->cwd_unknown = true;
		free(dir);
		return;
	}
	ev->cwds[ev->n_cwds++] = dir;
}

/* note_cds() - every place a cd/pushd in @s may move to becomes a place commands may run. */
static void note_cds(kn_eval *ev, const kn_sh_script *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const kn_sh_cmd *c = &s->cmds[i];
		const char *prog;
		size_t k = 1, known;

		if (c->argc == 0 || c->argv[0].dynamic)
			continue;
		prog = kn_sh_basename(c->argv[0].text);
		if (!strcmp(prog, "popd")) {
			ev->cwd_unknown = true;
			continue;
		}
		if (strcmp(prog, "cd") && strcmp(prog, "pushd"))
			continue;
		while (k < c->argc && c->argv[k].text[0] == '-' && c->argv[k].text[1])
			k++; /* -L -P -e -@ */
		if (k < c->argc && !strcmp(c->argv[k].text, "--"))
			k++;
		if (k >= c->argc) {
			add_cwd(ev, kn_xstrdup(ev->home));
			continue;
		}
		if (!strcmp(c->argv[k].text, "-")) {
			ev->cwd_unknown = true;
			continue;
		}
		known = ev->n_cwds;
		for (size_t j = 0; j < known; j++) {
			bool dynamic;
			char *d = kn_resolve_word(ev, &c->argv[k], ev->cwds[j], &dynamic);

			if (!d || (c->argv[k].dynamic && strpbrk(d, "*?["))) {
				free(d);
				ev->cwd_unknown = true;
				break;
			}
			add_cwd(ev, d);
			if (c->argv[k].text[0] == '/' || c->argv[k].text[0] == '~')
				break;
		}
	}
}

/* ---- fork bombs ---- */

#define FUNCTIONS_MAX 64
/* how far a function body is searched for the function's own name */
#define BODY_SCAN_MAX (64u << 10)

typedef struct function_def {
	char *name;
	bool recursive;  /* its body calls it */
} function_def;

static bool name_char(char c)
{
	return c && !strchr(" \t\r\n;&|(){}<>'\"`", c);
}

/* body_calls() - the body starting at @p ("{ ... }" or "( ... )") holds the word @name. */
static bool body_calls(const char *p, const char *name, size_t len)
{
	const char *end;
	char open, close;
	unsigned depth = 0;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p != '{' && *p != '(')
		return false;
	open = *p;
	close = open == '{' ? '}' : ')';
	for (end = p; *end && (size_t) (end - p) < BODY_SCAN_MAX; end++) {
		if (*end == open)
			depth++;
		else if (*end == close && --depth == 0)
			break;
	}
	for (const char *q = p + 1; q + len <= end; q++)
		if (!strncmp(q, name, len) && !name_char(q[-1]) && !name_char(q[len]))
			return true;
	return false;
}

static void add_function(function_def *defs, size_t *n, const char *start, size_t len, const char *body)
{
	bool recursive;

	if (!len)
		return;
	recursive = body_calls(body, start, len);
	for (size_t i = 0; i < *n; i++)
		if (strlen(defs[i].name) == len && !strncmp(defs[i].name, start, len)) {
			defs[i].recursive |= recursive;
			return;
		}
	if (*n >= FUNCTIONS_MAX)
		return;
	defs[*n].name = kn_xasprintf("%.*s", (int) len, start);
	defs[*n].recursive = recursive;
	(*n)++;
}

/*
 * function_defs() - the functions @text defines, "NAME () BODY" or
 * "function NAME [()] BODY", and whether each body calls the function,
 * found in one pass (the text is the agent's: up to a MiB, so no search
 * per command).
 */
static size_t function_defs(const char *text, function_def *defs)
{
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (*p == '(') {
			const char *q = p + 1, *e = p, *b;

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q != ')')
				continue;
			while (e > text && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			for (b = e; b > text && name_char(b[-1]); b--)
				;
			add_function(defs, &n, b, (size_t) (e - b), q + 1);
		} else if (*p == 'f' && !strncmp(p, "function", 8) && (p == text || !name_char(p[-1])) &&
			   (p[8] == ' ' || p[8] == '\t')) {
			const char *b = p + 8, *e, *body;

			while (*b == ' ' || *b == '\t')
				b++;
			for (e = b; name_char(*e); e++)
				;
			body = e;
			while (*body == ' ' || *body == '\t')
				body++;
			if (body[0] == '(' && body[1] == ')')
				body += 2;
			add_function(defs, &n, b, (size_t) (e - b), body);
		}
	}
	return n;
}

/*
 * fork_bomb() - a function whose body runs it, and that is run twice at
 * once: piped into itself (:(){ :|:& };:) or in the background
 * (b(){ b & b; }; b).
 */
static const kn_sh_cmd *fork_bomb(const kn_sh_script *s, const char *text)
{
	function_def defs[FUNCTIONS_MAX];
	size_t n = function_defs(text, defs);
	const kn_sh_cmd *found = NULL;

	for (size_t f = 0; f < n && !found; f++) {
		if (!defs[f].recursive)
			continue;
		for (size_t j = 0; j < s->n && !found; j++) {
			const kn_sh_cmd *d = &s->cmds[j];

			if (d->argc == 0 || d->argv[0].dynamic || strcmp(d->argv[0].text, defs[f].name))
				continue;
			if (d->background)
				found = d;
			/* another call of it in the same pipeline */
			for (size_t k = j + 1; k < s->n && d->pipe_len > 1 && !found; k++)
				if (s->cmds[k].pipeline == d->pipeline && s->cmds[k].argc &&
				    !strcmp(s->cmds[k].argv[0].text, defs[f].name))
					found = d;
		}
	}
	for (size_t f = 0; f < n; f++)
		free(defs[f].name);
	return found;
}

/* ---- rules over one command ---- */

/* pipe_from_before() - the earlier command of @i's pipeline matching @from, or NULL. */
static const kn_sh_cmd *pipe_from_before(kn_eval *ev, const kn_cmd_match *from, const kn_sh_script *s, size_t i)
{
	const kn_sh_cmd *c = &s->cmds[i];

	if (c->pipe_index == 0)
		return NULL;
	for (size_t j = 0; j < s->n; j++)
		if (j != i && s->cmds[j].pipeline == c->pipeline && s->cmds[j].pipe_index < c->pipe_index &&
		    kn_match_cmd(ev, from, s, j))
			return &s->cmds[j];
	return NULL;
}

/*
 * One command line's pipeline facts, computed once per pipeline rule: for
 * each pipeline, the smallest position of a command matching the rule's
 * `from` (a 4096-stage pipeline must not cost 4096 x 4096 matches).
 */
typedef struct pipe_memo {
	size_t **min_from;   /* by rule index; NULL until that rule needs it */
	size_t n_rules;
	size_t n_pipelines;
} pipe_memo;

static void pipe_memo_init(pipe_memo *pm, const kn_eval *ev, const kn_sh_script *s)
{
	pm->n_rules = ev->p->n;
	pm->min_from = kn_xcalloc(pm->n_rules ? pm->n_rules : 1, sizeof(size_t *));
	pm->n_pipelines = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->cmds[i].pipeline + 1 > pm->n_pipelines)
			pm->n_pipelines = s->cmds[i].pipeline + 1;
}

static void pipe_memo_free(pipe_memo *pm)
{
	for (size_t k = 0; k < pm->n_rules; k++)
		free(pm->min_from[k]);
	free(pm->min_from);
}

/* from_before() - an earlier command of @i's pipeline matches rule @k's `from`. */
static bool from_before(kn_eval *ev, pipe_memo *pm, size_t k, const kn_sh_script *s, size_t i)
{
	const kn_sh_cmd *c = &s->cmds[i];

	if (c->pipe_index == 0)
		return false;
	if (!pm->min_from[k]) {
		size_t *min = kn_xmalloc(pm->n_pipelines * sizeof(size_t));

		for (size_t p = 0; p < pm->n_pipelines; p++)
			min[p] = SIZE_MAX;
		for (size_t j = 0; j < s->n; j++) {
			const kn_sh_cmd *d = &s->cmds[j];

			if (d->pipe_len > 1 && d->pipe_index < min[d->pipeline] &&
			    kn_match_cmd(ev, ev->p->rules[k].pipe_from, s, j))
				min[d->pipeline] = d->pipe_index;
		}
		pm->min_from[k] = min;
	}
	return pm->min_from[k][c->pipeline] < c->pipe_index;
}

static bool rule_matches(kn_eval *ev, pipe_memo *pm, size_t k, const kn_sh_script *s, size_t i)
{
	const kn_rule *r = &ev->p->rules[k];

	if (r->fork_bomb)
		return false; /* judged once per command line */
	if (r->n_cmds) {
		bool any = false;

		for (size_t alt = 0; alt < r->n_cmds && !any; alt++)
			any = kn_match_cmd(ev, &r->cmds[alt], s, i);
		if (!any)
			return false;
	}
	if (r->pipe_to && !(kn_match_cmd(ev, r->pipe_to, s, i) && from_before(ev, pm, k, s, i)))
		return false;
	if (r->paths.n && !kn_match_writes(ev, &r->paths, &s->cmds[i]))
		return false;
	return true;
}

/* raise_rule() - @r decided command @i; a pipeline rule shows both ends ("curl x | sh"). */
static void raise_rule(kn_eval *ev, const kn_rule *r, const kn_sh_script *s, size_t i)
{
	const kn_sh_cmd *from = r->pipe_to ? pipe_from_before(ev, r->pipe_from, s, i) : NULL;
	char a[EXCERPT_MAX / 2], b[EXCERPT_MAX / 2], both[EXCERPT_MAX + 8];

	if (!from) {
		raise_cmd(ev, r->decision, r->id, r->reason, &s->cmds[i]);
		return;
	}
	excerpt(from, a, sizeof(a));
	excerpt(&s->cmds[i], b, sizeof(b));
	snprintf(both, sizeof(both), "%s | ... %s", a, b);
	verdict_raise(ev->v, ev->where, r->decision, r->id, r->reason, both);
}

static void rules_cmd(kn_eval *ev, pipe_memo *pm, const kn_sh_script *s, size_t i)
{
	const kn_rule *ask = NULL, *allow = NULL;

	for (size_t k = 0; k < ev->p->n; k++) {
		const kn_rule *r = &ev->p->rules[k];

		if (!rule_for_tool(r, "Bash"))
			continue;
		if (r->decision == KN_POLICY_DENY) {
			if (rule_matches(ev, pm, k, s, i)) {
				raise_rule(ev, r, s, i);
				return;
			}
		} else if (r->decision == KN_POLICY_ASK ? !ask : !allow) {
			if (rule_matches(ev, pm, k, s, i))
				*(r->decision == KN_POLICY_ASK ? &ask : &allow) = r;
		}
	}
	if (allow)
		raise_rule(ev, allow, s, i);
	else if (ask)
		raise_rule(ev, ask, s, i);
}

/* ---- scripts ---- */

static void eval_text(kn_eval *ev, const char *text);

/* eval_nested() - judge @text, a script or a shell's input, as if typed at @where. */
static void eval_nested(kn_eval *ev, const kn_sh_cmd *c, const char *text, const char *where)
{
	const char *saved = ev->where;
	char label[320];

	if (ev->depth >= KN_POLICY_MAX_SCRIPT_DEPTH) {
		raise_fmt(ev, KN_POLICY_ASK, "builtin-script", c, "scripts run scripts more than %d deep",
			  KN_POLICY_MAX_SCRIPT_DEPTH);
		return;
	}
	snprintf(label, sizeof(label), "%s%s%s", where, *saved ? " in " : "", saved);
	ev->where = label;
	ev->depth++;
	eval_text(ev, text);
	ev->depth--;
	ev->where = saved;
}

/* shebang_is_shell() - a "#!" line naming a shell, directly or through env. */
static bool shebang_is_shell(const char *text)
{
	char line[256];
	char *save = NULL, *w;

	snprintf(line, sizeof(line), "%.*s", (int) strcspn(text + 2, "\n"), text + 2);
	w = strtok_r(line, " \t\r", &save);
	if (!w)
		return true; /* "#!" alone: the shell runs it */
	if (!strcmp(kn_sh_basename(w), "env")) {
		while ((w = strtok_r(NULL, " \t\r", &save)) && (w[0] == '-' || strchr(w, '=')))
			;
		if (!w)
			return false;
	}
	return kn_is_shell(kn_sh_basename(w));
}

static void check_script_text(kn_eval *ev, const kn_sh_cmd *c, const char *path, const char *text, size_t len,
			      bool by_shell)
{
	char where[300];

	if (!by_shell) {
		if (len >= 4 && !memcmp(text, "\177ELF", 4))
			return; /* a program, not a script */
		if (len >= 2 && text[0] == '#' && text[1] == '!' && !shebang_is_shell(text))
			return; /* python, node, ...: out of the policy's reach */
	}
	if (memchr(text, '\0', len))
		return; /* binary: no shell runs it */
	snprintf(where, sizeof(where), "script %s", path);
	eval_nested(ev, c, text, where);
}

/*
 * check_script_word() - the script word @w names: read it from the
 * workspace and judge it.  @by_shell: run by a shell (bash x) rather than
 * executed (./x, where the #! line decides).  Outside the workspace it
 * cannot be read: escalated when @outside_asks.
 */
static void check_script_word(kn_eval *ev, const kn_sh_cmd *c, const kn_sh_word *w, bool by_shell, bool outside_asks)
{
	bool relative = w->text[0] != '/' && w->text[0] != '~';
	bool found = false;
	int last_err = 0;
	char last_path[256] = "";

	if (w->dynamic) {
		raise_cmd(ev, KN_POLICY_ASK, "builtin-script", "the script to run is only known when the command runs", c);
		return;
	}
	if (relative && ev->cwd_unknown) {
		raise_cmd(ev, KN_POLICY_ASK, "builtin-script",
			  "the script's directory is only known when the command runs (cd to a variable)", c);
		return;
	}
	for (size_t i = 0; i < ev->n_cwds; i++) {
		bool dynamic;
		_cleanup_free_ char *p = kn_resolve_word(ev, w, ev->cwds[i], &dynamic);
		_cleanup_free_ char *text = NULL;
		size_t len;
		int r;

		if (!p) {
			raise_cmd(ev, KN_POLICY_ASK, "builtin-script", "the script to run is not a path the policy can read", c);
			return;
		}
		if (!kn_path_under(p, ev->ws)) {
			if (outside_asks)
				raise_fmt(ev, KN_POLICY_ASK, "builtin-script-outside", c,
					  "the script %s is outside the workspace, where the policy cannot read it", p);
			if (!relative)
				return;
			continue;
		}
		r = kn_read_ws_file(ev, p, &text, &len);
		if (r == 0) {
			found = true;
			check_script_text(ev, c, p, text, len, by_shell);
			if (ev->v->decision == KN_POLICY_DENY)
				return;
		} else {
			last_err = r;
			snprintf(last_path, sizeof(last_path), "%s", p);
		}
		if (!relative)
			break;
	}
	if (found || !last_err)
		return;
	if (last_err == -EFBIG)
		raise_fmt(ev, KN_POLICY_ASK, "builtin-script", c, "the script %s is larger than %u KiB: not checked",
			  last_path, KN_POLICY_MAX_SCRIPT >> 10);
	else if (last_err == -EMFILE)
		raise_fmt(ev, KN_POLICY_ASK, "builtin-script", c, "more than %d files to read for one decision",
			  KN_EVAL_MAX_FILES);
	else if (last_err == -EXDEV || last_err == -ELOOP)
		raise_fmt(ev, KN_POLICY_ASK, "builtin-script", c,
			  "the script %s is a link leading out of the workspace: not read", last_path);
	else if (last_err == -EISDIR || last_err == -EINVAL)
		raise_fmt(ev, KN_POLICY_ASK, "builtin-script", c, "the script %s is not a regular file", last_path);
	else
		raise_fmt(ev, KN_POLICY_ASK, "builtin-script", c, "the script %s cannot be read to check it: %s", last_path,
			  strerror(-last_err));
}

/* check_stdin_script() - a shell reading commands from stdin: judge what it is fed, or escalate. */
static void check_stdin_script(kn_eval *ev, const kn_sh_script *s, size_t i, const char *prog)
{
	kn_texts t = { 0 };
	char where[64];

	kn_gather_stdin(ev, s, i, &t);
	if (t.opaque)
		raise_fmt(ev, KN_POLICY_ASK, "builtin-shell-input", &s->cmds[i],
			  "%s runs commands from its input, which the policy cannot see", prog);
	snprintf(where, sizeof(where), "the input of %s", prog);
	for (size_t k = 0; k < t.n && ev->v->decision != KN_POLICY_DENY; k++)
		eval_nested(ev, &s->cmds[i], t.v[k], where);
	kn_texts_free(&t);
}

static void scripts_cmd(kn_eval *ev, const kn_sh_script *s, size_t i)
{
	const kn_sh_cmd *c = &s->cmds[i];
	const char *argv0 = c->argv[0].text;
	const char *prog = kn_sh_basename(argv0);

	if (kn_is_shell(prog)) {
		bool reads_stdin;
		int k = kn_shell_script_arg(c, &reads_stdin);

		if (k > 0)
			check_script_word(ev, c, &c->argv[k], true, true);
		else if (reads_stdin)
			check_stdin_script(ev, s, i, prog);
	} else if (!strcmp(prog, "source") || !strcmp(prog, ".")) {
		if (c->argc >= 2)
			check_script_word(ev, c, &c->argv[c->argc >= 3 && !strcmp(c->argv[1].text, "--") ? 2 : 1], true,
					  true);
	} else if (strchr(argv0, '/')) {
		/* ./x, dir/x: the workspace's own programs; /usr/bin/x: installed ones, not read */
		bool dynamic;
		_cleanup_free_ char *p = kn_resolve_word(ev, &c->argv[0], ev->cwds[0], &dynamic);

		if (argv0[0] != '/' || (p && kn_path_under(p, ev->ws)))
			check_script_word(ev, c, &c->argv[0], false, argv0[0] != '/');
	}
}

/* ---- command lines ---- */

static void eval_cmd(kn_eval *ev, pipe_memo *pm, const kn_sh_script *s, size_t i)
{
	const kn_sh_cmd *c = &s->cmds[i];

	if (c->argc && c->argv[0].dynamic)
		raise_cmd(ev, KN_POLICY_ASK, "builtin-dynamic-command", "the program to run is only known when the command runs",
			  c);
	/* from a -c / eval / xargs string holding expansions: what it runs is only partly known */
	if (c->dynamic_string)
		raise_cmd(ev, KN_POLICY_ASK, "builtin-dynamic-string",
			  "the command comes from a string with expansions, known only when it runs", c);
	rules_cmd(ev, pm, s, i);
	if (ev->v->decision == KN_POLICY_DENY)
		return;
	if (c->argc && !c->argv[0].dynamic)
		scripts_cmd(ev, s, i);
}

static void eval_text(kn_eval *ev, const char *text)
{
	kn_sh_script s = { 0 };
	kn_error err = KN_ERROR_INIT;
	size_t saved_n = ev->n_cwds;
	bool saved_unknown = ev->cwd_unknown;
	const kn_sh_cmd *bomb = NULL;
	pipe_memo pm;
	int r = kn_sh_parse(text, &s, &err);

	if (r < 0) {
		char why[384];

		if (r == -E2BIG)
			snprintf(why, sizeof(why), "the command line is too large to check");
		else
			snprintf(why, sizeof(why), "the command line cannot be parsed, so it cannot be checked: %s", err.msg);
		verdict_raise(ev->v, ev->where, KN_POLICY_ASK, "builtin-parse-error", why, NULL);
		return;
	}
	note_cds(ev, &s);
	for (size_t k = 0; k < ev->p->n; k++) {
		const kn_rule *rule = &ev->p->rules[k];

		if (rule->fork_bomb && rule_for_tool(rule, "Bash") && (bomb || (bomb = fork_bomb(&s, text))))
			raise_cmd(ev, rule->decision, rule->id, rule->reason, bomb);
	}
	pipe_memo_init(&pm, ev, &s);
	for (size_t i = 0; i < s.n && ev->v->decision != KN_POLICY_DENY; i++)
		eval_cmd(ev, &pm, &s, i);
	pipe_memo_free(&pm);
	if (s.truncated)
		verdict_raise(ev->v, ev->where, KN_POLICY_ASK, "builtin-truncated",
			      "the command line is too large or too deeply nested to check completely", NULL);
	while (ev->n_cwds > saved_n)
		free(ev->cwds[--ev->n_cwds]);
	ev->cwd_unknown = saved_unknown;
	kn_sh_script_free(&s);
}

void kn_policy_check_bash(const kn_policy *p, const kn_policy_ctx *ctx, const char *command, kn_policy_verdict *v)
{
	kn_eval ev;

	verdict_init(v);
	if (eval_init(&ev, p, ctx, v) < 0)
		return;
	eval_text(&ev, command);
	eval_free(&ev);
}

void kn_policy_check_file(const kn_policy *p, const kn_policy_ctx *ctx, const char *tool, const char *path,
			  kn_policy_verdict *v)
{
	kn_eval ev;
	_cleanup_free_ char *target = NULL;
	const kn_rule *ask = NULL, *allow = NULL;
	char detail[300];

	verdict_init(v);
	if (eval_init(&ev, p, ctx, v) < 0)
		return;
	target = kn_path_normalize(ev.cwds[0], path);
	snprintf(detail, sizeof(detail), "%s %s", tool, target);
	for (size_t k = 0; k < p->n; k++) {
		const kn_rule *r = &p->rules[k];

		/* command rules are Bash's; a file tool has only its path */
		if (!rule_for_tool(r, tool) || r->n_cmds || r->pipe_to || r->fork_bomb)
			continue;
		if (r->paths.n && !kn_match_path(&ev, &r->paths, target))
			continue;
		if (r->decision == KN_POLICY_DENY) {
			verdict_raise(v, "", KN_POLICY_DENY, r->id, r->reason, detail);
			break;
		}
		if (r->decision == KN_POLICY_ASK && !ask)
			ask = r;
		if (r->decision == KN_POLICY_ALLOW && !allow)
			allow = r;
	}
	if (allow)
		verdict_raise(v, "", KN_POLICY_ALLOW, allow->id, allow->reason, detail);
	else if (ask)
		verdict_raise(v, "", KN_POLICY_ASK, ask->id, ask->reason, detail);
	eval_free(&ev);
}

void kn_policy_check_tool(const kn_policy *p, const char *tool, kn_policy_verdict *v)
{
	const kn_rule *ask = NULL, *allow = NULL;

	verdict_init(v);
	for (size_t k = 0; k < p->n; k++) {
		const kn_rule *r = &p->rules[k];

		if (!rule_for_tool(r, tool) || rule_has_matcher(r))
			continue;
		if (r->decision == KN_POLICY_DENY) {
			verdict_raise(v, "", KN_POLICY_DENY, r->id, r->reason, tool);
			return;
		}
		if (r->decision == KN_POLICY_ASK && !ask)
			ask = r;
		if (r->decision == KN_POLICY_ALLOW && !allow)
			allow = r;
	}
	if (allow)
		verdict_raise(v, "", KN_POLICY_ALLOW, allow->id, allow->reason, tool);
	else if (ask)
		verdict_raise(v, "", KN_POLICY_ASK, ask->id, ask->reason, tool);
}
