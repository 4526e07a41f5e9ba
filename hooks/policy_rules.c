/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loading the policy's rules: YAML files (libyaml's document loader) turned
 * into the model of policy_int.h, checked strictly (an unknown key is an
 * error, not an ignored line: a misspelt matcher must not silently widen a
 * rule), and where the shipped and the user's rule files are found.
 */
#include "policy_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cleanup.h"
#include "util.h"

#define RULES_FILE_MAX (4u << 20)
#define ID_MAX 63
#define REASON_MAX 300
/* libyaml shares aliased nodes: a walk bounded in depth and in nodes visited cannot blow up */
#define WALK_DEPTH_MAX 12
#define WALK_NODES_MAX 200000

static const char *const file_tools[] = { "Write", "Edit", "MultiEdit", "NotebookEdit" };

bool kn_policy_tool_is_file(const char *tool)
{
	for (size_t i = 0; i < sizeof(file_tools) / sizeof(file_tools[0]); i++)
		if (!strcmp(tool, file_tools[i]))
			return true;
	return false;
}

/* ---- freeing ---- */

static void strlist_free(kn_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void cmd_match_free(kn_cmd_match *m)
{
	if (!m)
		return;
	strlist_free(&m->programs);
	for (size_t i = 0; i < m->n_subcommands; i++)
		strlist_free(&m->subcommands[i]);
	free(m->subcommands);
	for (size_t i = 0; i < m->n_flags; i++)
		strlist_free(&m->flags[i]);
	free(m->flags);
	strlist_free(&m->any_flag);
	strlist_free(&m->no_flag);
	strlist_free(&m->args.globs);
	free(m->args.prefix);
	strlist_free(&m->verbs);
	strlist_free(&m->input.statements);
	free(m->input.lacks);
	strlist_free(&m->input.contains);
	strlist_free(&m->push_branch);
	strlist_free(&m->exec_program);
	strlist_free(&m->wrapper);
	if (m->unless) {
		cmd_match_free(m->unless);
		free(m->unless);
	}
	memset(m, 0, sizeof(*m));
}

void kn_rule_free(kn_rule *r)
{
	free(r->id);
	free(r->reason);
	free(r->file);
	strlist_free(&r->tools);
	for (size_t i = 0; i < r->n_cmds; i++)
		cmd_match_free(&r->cmds[i]);
	free(r->cmds);
	if (r->pipe_from) {
		cmd_match_free(r->pipe_from);
		free(r->pipe_from);
	}
	if (r->pipe_to) {
		cmd_match_free(r->pipe_to);
		free(r->pipe_to);
	}
	strlist_free(&r->paths);
	memset(r, 0, sizeof(*r));
}

kn_policy *kn_policy_new(void)
{
	return kn_xcalloc(1, sizeof(kn_policy));
}

void kn_policy_free(kn_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		kn_rule_free(&p->rules[i]);
	free(p->rules);
	free(p);
}

size_t kn_policy_rule_count(const kn_policy *p)
{
	return p ? p->n : 0;
}

const char *kn_policy_decision_name(kn_policy_decision d)
{
	switch (d) {
	case KN_POLICY_DENY:
		return "deny";
	case KN_POLICY_ASK:
		return "ask";
	case KN_POLICY_ALLOW:
		break;
	}
	return "allow";
}

/* ---- the YAML walk ---- */

typedef struct loader {
	yaml_document_t *doc;
	const char *name;
	kn_error *err;
	unsigned visited;
} loader;

static unsigned line_of(const yaml_node_t *n)
{
	return (unsigned) n->start_mark.line + 1;
}

static int fail(loader *l, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return kn_error_setx(l->err, EINVAL, "%s:%u: %s", l->name, n ? line_of(n) : 0, msg);
}

static yaml_node_t *get_node(loader *l, int id)
{
	return yaml_document_get_node(l->doc, id);
}

/* visit() - count a node against the walk's budget. Return: 0 or -EINVAL. */
static int visit(loader *l, const yaml_node_t *n, unsigned depth)
{
	if (depth > WALK_DEPTH_MAX)
		return fail(l, n, "rules nested deeper than %d levels", WALK_DEPTH_MAX);
	if (++l->visited > WALK_NODES_MAX)
		return fail(l, n, "more than %d YAML nodes (aliases expanded)", WALK_NODES_MAX);
	return 0;
}

/* scalar_of() - the text of a scalar node, or NULL (with @err set) for anything else or an embedded NUL. */
static const char *scalar_of(loader *l, const yaml_node_t *n, const char *what)
{
	if (!n || n->type != YAML_SCALAR_NODE) {
		fail(l, n, "%s: expected a single value", what);
		return NULL;
	}
	if (strlen((const char *) n->data.scalar.value) != n->data.scalar.length) {
		fail(l, n, "%s: value contains a NUL byte", what);
		return NULL;
	}
	return (const char *) n->data.scalar.value;
}

static void strlist_add(kn_strlist *l, const char *s)
{
	l->v = kn_xrealloc(l->v, (l->n + 1) * sizeof(char *));
	l->v[l->n++] = kn_xstrdup(s);
}

typedef int (*item_check_fn)(loader *l, const yaml_node_t *n, const char *what, const char *s);

/* get_strlist() - a scalar or a non-empty sequence of scalars, each passed through @check (may be NULL). */
static int get_strlist(loader *l, const yaml_node_t *n, unsigned depth, const char *what, item_check_fn check,
		       kn_strlist *out)
{
	int r = visit(l, n, depth);

	if (r < 0)
		return r;
	if (out->n)
		return fail(l, n, "%s given twice", what);
	if (n->type == YAML_SCALAR_NODE) {
		const char *s = scalar_of(l, n, what);

		if (!s)
			return -EINVAL;
		if (check && (r = check(l, n, what, s)) < 0)
			return r;
		strlist_add(out, s);
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(l, n, "%s: expected a value or a list of values", what);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = get_node(l, *it);
		const char *s;

		if ((r = visit(l, item, depth + 1)) < 0)
			return r;
		s = scalar_of(l, item, what);
		if (!s)
			return -EINVAL;
		if (check && (r = check(l, item, what, s)) < 0)
			return r;
		strlist_add(out, s);
	}
	if (!out->n)
		return fail(l, n, "%s: an empty list matches nothing", what);
	return 0;
}

static int check_nonempty(loader *l, const yaml_node_t *n, const char *what, const char *s)
{
	if (!*s)
		return fail(l, n, "%s: empty value", what);
	return 0;
}

static int check_program(loader *l, const yaml_node_t *n, const char *what, const char *s)
{
	if (!*s || strchr(s, '/'))
		return fail(l, n, "%s: '%s' is not a program name (the basename is matched, no '/')", what, s);
	return 0;
}

static int check_flag(loader *l, const yaml_node_t *n, const char *what, const char *s)
{
	if (s[0] != '-' || !s[1] || !strcmp(s, "--") || strchr(s, ' '))
		return fail(l, n, "%s: '%s' is not a flag (-x, --long, --long=value or -word)", what, s);
	return 0;
}

static int check_tool(loader *l, const yaml_node_t *n, const char *what, const char *s)
{
	if (!*s)
		return fail(l, n, "%s: empty tool name", what);
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		      *c == '-'))
			return fail(l, n, "%s: '%s' is not a tool name (Bash, Write, Edit, ..., or any)", what, s);
	return 0;
}

static int get_bool(loader *l, const yaml_node_t *n, const char *what, bool *out)
{
	const char *s = scalar_of(l, n, what);

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "true"))
		*out = true;
	else if (!strcmp(s, "false"))
		*out = false;
	else
		return fail(l, n, "%s: expected true or false, not '%s'", what, s);
	return 0;
}

/*
 * mapping_keys() - check that every key of mapping @n is one of @known and
 * appears once.  Return: 0 or -EINVAL.
 */
static int mapping_keys(loader *l, const yaml_node_t *n, const char *what, const char *const *known, size_t n_known)
{
	unsigned long seen = 0;

	if (n->type != YAML_MAPPING_NODE)
		return fail(l, n, "%s: expected a mapping (key: value lines)", what);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = get_node(l, p->key);
		const char *key = scalar_of(l, k, what);
		size_t i;

		if (!key)
			return -EINVAL;
		for (i = 0; i < n_known; i++)
			if (!strcmp(key, known[i]))
				break;
		if (i == n_known) {
			char list[512] = "";
			size_t off = 0;

			for (size_t j = 0; j < n_known && off < sizeof(list); j++)
				off += (size_t) snprintf(list + off, sizeof(list) - off, "%s%s", j ? ", " : "", known[j]);
			return fail(l, k, "%s: unknown key '%s' (known: %s)", what, key, list);
		}
		if (seen & (1ul << i))
			return fail(l, k, "%s: key '%s' given twice", what, key);
		seen |= 1ul << i;
	}
	return 0;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *name;
	unsigned bit;
} pred_names[] = {
	{ "root", KN_PRED_ROOT },
	{ "home", KN_PRED_HOME },
	{ "system", KN_PRED_SYSTEM },
	{ "workspace", KN_PRED_WORKSPACE },
	{ "workspace-git", KN_PRED_WORKSPACE_GIT },
	{ "outside-workspace", KN_PRED_OUTSIDE },
	{ "device", KN_PRED_DEVICE },
	{ "dynamic", KN_PRED_DYNAMIC },
};

static int parse_args(loader *l, const yaml_node_t *n, unsigned depth, kn_args_match *a)
{
	static const char *const keys[] = { "path", "glob", "prefix" };
	int r;

	if ((r = visit(l, n, depth)) < 0 || (r = mapping_keys(l, n, "args", keys, N_OF(keys))) < 0)
		return r;
	a->set = true;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *key = (const char *) get_node(l, p->key)->data.scalar.value;
		yaml_node_t *v = get_node(l, p->value);

		if (!strcmp(key, "path")) {
			kn_strlist names = { 0 };

			if ((r = get_strlist(l, v, depth + 1, "args.path", check_nonempty, &names)) < 0) {
				strlist_free(&names);
				return r;
			}
			for (size_t i = 0; i < names.n; i++) {
				size_t j;

				for (j = 0; j < N_OF(pred_names); j++)
					if (!strcmp(names.v[i], pred_names[j].name))
						break;
				if (j == N_OF(pred_names)) {
					r = fail(l, v,
						 "args.path: unknown predicate '%s' (root, home, system, workspace, "
						 "workspace-git, outside-workspace, device, dynamic)",
						 names.v[i]);
					strlist_free(&names);
					return r;
				}
				a->preds |= pred_names[j].bit;
			}
			strlist_free(&names);
		} else if (!strcmp(key, "glob")) {
			if ((r = get_strlist(l, v, depth + 1, "args.glob", check_nonempty, &a->globs)) < 0)
				return r;
		} else {
			const char *s = scalar_of(l, v, "args.prefix");

			if (!s)
				return -EINVAL;
			if (!*s)
				return fail(l, v, "args.prefix: empty");
			a->prefix = kn_xstrdup(s);
		}
	}
	if (!a->preds && !a->globs.n)
		return fail(l, n, "args: give path: and/or glob:");
	return 0;
}

/* normalize_keywords() - "drop   table" -> "DROP TABLE"; only letters, digits and _ in words. */
static int normalize_keywords(loader *l, const yaml_node_t *n, const char *what, char *s)
{
	char *w = s;
	bool space = false;

	for (const char *c = s; *c; c++) {
		if (*c == ' ' || *c == '\t') {
			space = w != s;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return fail(l, n, "%s: '%s' is not a keyword sequence (letters, digits, _ and spaces)", what, s);
		if (space)
			*w++ = ' ';
		space = false;
		*w++ = (*c >= 'a' && *c <= 'z') ? (char) (*c - 'a' + 'A') : *c;
	}
	*w = '\0';
	if (w == s)
		return fail(l, n, "%s: empty keyword sequence", what);
	return 0;
}

static int parse_input(loader *l, const yaml_node_t *n, unsigned depth, kn_input_match *in)
{
	static const char *const keys[] = { "statement", "lacks", "contains", "style" };
	int r;

	if ((r = visit(l, n, depth)) < 0 || (r = mapping_keys(l, n, "input", keys, N_OF(keys))) < 0)
		return r;
	in->set = true;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *key = (const char *) get_node(l, p->key)->data.scalar.value;
		yaml_node_t *v = get_node(l, p->value);

		if (!strcmp(key, "statement")) {
			if ((r = get_strlist(l, v, depth + 1, "input.statement", NULL, &in->statements)) < 0)
				return r;
			for (size_t i = 0; i < in->statements.n; i++)
				if ((r = normalize_keywords(l, v, "input.statement", in->statements.v[i])) < 0)
					return r;
		} else if (!strcmp(key, "lacks")) {
			const char *s = scalar_of(l, v, "input.lacks");

			if (!s)
				return -EINVAL;
			in->lacks = kn_xstrdup(s);
			if ((r = normalize_keywords(l, v, "input.lacks", in->lacks)) < 0)
				return r;
			if (strchr(in->lacks, ' '))
				return fail(l, v, "input.lacks: one keyword");
		} else if (!strcmp(key, "contains")) {
			if ((r = get_strlist(l, v, depth + 1, "input.contains", check_nonempty, &in->contains)) < 0)
				return r;
		} else {
			const char *s = scalar_of(l, v, "input.style");

			if (!s)
				return -EINVAL;
			if (!strcmp(s, "commands"))
				in->commands = true;
			else if (strcmp(s, "sql"))
				return fail(l, v, "input.style: 'sql' (statements end at ;) or 'commands' (one per line)");
		}
	}
	if (!in->statements.n && !in->contains.n)
		return fail(l, n, "input: give statement: and/or contains:");
	if (in->lacks && !in->statements.n)
		return fail(l, n, "input.lacks applies to statement:");
	return 0;
}

static int parse_cmd(loader *l, const yaml_node_t *n, unsigned depth, kn_cmd_match *m);

static int parse_cmd_key(loader *l, const char *key, const yaml_node_t *v, unsigned depth, kn_cmd_match *m)
{
	int r;

	if (!strcmp(key, "program"))
		return get_strlist(l, v, depth, "program", check_program, &m->programs);
	if (!strcmp(key, "subcommand")) {
		kn_strlist alts = { 0 };

		if ((r = get_strlist(l, v, depth, "subcommand", check_nonempty, &alts)) < 0) {
			strlist_free(&alts);
			return r;
		}
		m->subcommands = kn_xcalloc(alts.n, sizeof(kn_strlist));
		m->n_subcommands = alts.n;
		for (size_t i = 0; i < alts.n; i++) {
			char *save = NULL;

			for (char *w = strtok_r(alts.v[i], " \t", &save); w; w = strtok_r(NULL, " \t", &save))
				strlist_add(&m->subcommands[i], w);
			if (!m->subcommands[i].n) {
				strlist_free(&alts);
				return fail(l, v, "subcommand: empty");
			}
		}
		strlist_free(&alts);
		return 0;
	}
	if (!strcmp(key, "nocase"))
		return get_bool(l, v, "nocase", &m->nocase);
	if (!strcmp(key, "flags")) {
		if ((r = visit(l, v, depth)) < 0)
			return r;
		if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.start == v->data.sequence.items.top)
			return fail(l, v, "flags: expected a list (each item a flag, or a list of alternative flags)");
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			m->flags = kn_xrealloc(m->flags, (m->n_flags + 1) * sizeof(kn_strlist));
			memset(&m->flags[m->n_flags], 0, sizeof(kn_strlist));
			m->n_flags++;
			if ((r = get_strlist(l, get_node(l, *it), depth + 1, "flags", check_flag,
					     &m->flags[m->n_flags - 1])) < 0)
				return r;
		}
		return 0;
	}
	if (!strcmp(key, "any_flag"))
		return get_strlist(l, v, depth, "any_flag", check_flag, &m->any_flag);
	if (!strcmp(key, "no_flag"))
		return get_strlist(l, v, depth, "no_flag", check_flag, &m->no_flag);
	if (!strcmp(key, "args"))
		return parse_args(l, v, depth, &m->args);
	if (!strcmp(key, "verb"))
		return get_strlist(l, v, depth, "verb", check_nonempty, &m->verbs);
	if (!strcmp(key, "verb_within")) {
		const char *s = scalar_of(l, v, "verb_within");
		char *end;
		long x;

		if (!s)
			return -EINVAL;
		errno = 0;
		x = strtol(s, &end, 10);
		if (errno || *end || end == s || x < 1 || x > 16)
			return fail(l, v, "verb_within: a number from 1 to 16");
		m->verb_within = (unsigned) x;
		return 0;
	}
	if (!strcmp(key, "input"))
		return parse_input(l, v, depth, &m->input);
	if (!strcmp(key, "push_branch"))
		return get_strlist(l, v, depth, "push_branch", check_nonempty, &m->push_branch);
	if (!strcmp(key, "find_exec"))
		return get_strlist(l, v, depth, "find_exec", check_program, &m->exec_program);
	if (!strcmp(key, "wrapper"))
		return get_strlist(l, v, depth, "wrapper", check_program, &m->wrapper);
	if (!strcmp(key, "stdin_script"))
		return get_bool(l, v, "stdin_script", &m->stdin_script);
	/* unless */
	m->unless = kn_xcalloc(1, sizeof(kn_cmd_match));
	return parse_cmd(l, v, depth, m->unless);
}

static int parse_cmd(loader *l, const yaml_node_t *n, unsigned depth, kn_cmd_match *m)
{
	static const char *const keys[] = {
		"program", "subcommand", "nocase", "flags", "any_flag", "no_flag", "args", "verb",
		"verb_within", "input", "push_branch", "find_exec", "wrapper", "stdin_script", "unless",
	};
	int r;

	if ((r = visit(l, n, depth)) < 0 || (r = mapping_keys(l, n, "command", keys, N_OF(keys))) < 0)
		return r;
	if (n->data.mapping.pairs.start == n->data.mapping.pairs.top)
		return fail(l, n, "command: empty matcher");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *key = (const char *) get_node(l, p->key)->data.scalar.value;

		if ((r = parse_cmd_key(l, key, get_node(l, p->value), depth + 1, m)) < 0)
			return r;
	}
	if (m->verb_within && !m->verbs.n)
		return fail(l, n, "verb_within needs verb:");
	if (m->verbs.n && !m->verb_within)
		m->verb_within = 3;
	return 0;
}

static int check_id(loader *l, const yaml_node_t *n, const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > ID_MAX)
		return fail(l, n, "id: 1 to %d characters", ID_MAX);
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || ((*c == '-' || *c == '.' || *c == '_') && c != id)))
			return fail(l, n, "id '%s': lower-case letters, digits, and - . _ after the first character", id);
	if (!strncmp(id, "builtin-", 8))
		return fail(l, n, "id '%s': the builtin- prefix is kennel's own escalations", id);
	return 0;
}

static int parse_rule(loader *l, const yaml_node_t *n, kn_rule *rule)
{
	static const char *const keys[] = { "id", "decision", "reason", "tool", "command", "pipeline", "path", "shape" };
	bool has_cmd = false, has_path = false, has_decision = false;
	int r;

	if ((r = visit(l, n, 2)) < 0 || (r = mapping_keys(l, n, "rule", keys, N_OF(keys))) < 0)
		return r;
	rule->file = kn_xstrdup(l->name);
	rule->line = line_of(n);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *key = (const char *) get_node(l, p->key)->data.scalar.value;
		yaml_node_t *v = get_node(l, p->value);
		const char *s;

		if (!strcmp(key, "id")) {
			if (!(s = scalar_of(l, v, "id")) || (r = check_id(l, v, s)) < 0)
				return s ? r : -EINVAL;
			rule->id = kn_xstrdup(s);
		} else if (!strcmp(key, "decision")) {
			if (!(s = scalar_of(l, v, "decision")))
				return -EINVAL;
			has_decision = true;
			if (!strcmp(s, "deny"))
				rule->decision = KN_POLICY_DENY;
			else if (!strcmp(s, "ask"))
				rule->decision = KN_POLICY_ASK;
			else if (!strcmp(s, "allow"))
				rule->decision = KN_POLICY_ALLOW;
			else
				return fail(l, v, "decision: deny, ask or allow, not '%s'", s);
		} else if (!strcmp(key, "reason")) {
			if (!(s = scalar_of(l, v, "reason")))
				return -EINVAL;
			if (!*s || strlen(s) > REASON_MAX)
				return fail(l, v, "reason: 1 to %d characters", REASON_MAX);
			rule->reason = kn_xstrdup(s);
		} else if (!strcmp(key, "tool")) {
			if ((r = get_strlist(l, v, 3, "tool", check_tool, &rule->tools)) < 0)
				return r;
		} else if (!strcmp(key, "command")) {
			has_cmd = true;
			if (v->type == YAML_SEQUENCE_NODE) {
				if ((r = visit(l, v, 3)) < 0)
					return r;
				for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
				     it++) {
					rule->cmds = kn_xrealloc(rule->cmds, (rule->n_cmds + 1) * sizeof(kn_cmd_match));
					memset(&rule->cmds[rule->n_cmds], 0, sizeof(kn_cmd_match));
					rule->n_cmds++;
					if ((r = parse_cmd(l, get_node(l, *it), 4, &rule->cmds[rule->n_cmds - 1])) < 0)
						return r;
				}
				if (!rule->n_cmds)
					return fail(l, v, "command: an empty list matches nothing");
			} else {
				rule->cmds = kn_xcalloc(1, sizeof(kn_cmd_match));
				rule->n_cmds = 1;
				if ((r = parse_cmd(l, v, 3, &rule->cmds[0])) < 0)
					return r;
			}
		} else if (!strcmp(key, "pipeline")) {
			static const char *const pkeys[] = { "from", "to" };

			has_cmd = true;
			if ((r = visit(l, v, 3)) < 0 || (r = mapping_keys(l, v, "pipeline", pkeys, N_OF(pkeys))) < 0)
				return r;
			for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
				const char *pk = (const char *) get_node(l, q->key)->data.scalar.value;
				kn_cmd_match **slot = !strcmp(pk, "from") ? &rule->pipe_from : &rule->pipe_to;

				*slot = kn_xcalloc(1, sizeof(kn_cmd_match));
				if ((r = parse_cmd(l, get_node(l, q->value), 4, *slot)) < 0)
					return r;
			}
			if (!rule->pipe_from || !rule->pipe_to)
				return fail(l, v, "pipeline: needs both from: and to:");
		} else if (!strcmp(key, "path")) {
			has_path = true;
			if ((r = get_strlist(l, v, 3, "path", check_nonempty, &rule->paths)) < 0)
				return r;
		} else {
			if (!(s = scalar_of(l, v, "shape")))
				return -EINVAL;
			if (strcmp(s, "fork-bomb"))
				return fail(l, v, "shape: the one known shape is fork-bomb");
			has_cmd = true;
			rule->fork_bomb = true;
		}
	}
	if (!rule->id)
		return fail(l, n, "rule without id");
	if (!has_decision)
		return fail(l, n, "rule %s: decision: missing (deny, ask or allow)", rule->id);
	if (!rule->reason)
		return fail(l, n, "rule %s: reason: missing (every rule says why)", rule->id);
	if (!rule->tools.n) {
		if (has_cmd)
			strlist_add(&rule->tools, "Bash");
		else if (has_path) {
			strlist_add(&rule->tools, "Bash");
			for (size_t i = 0; i < N_OF(file_tools); i++)
				strlist_add(&rule->tools, file_tools[i]);
		} else {
			return fail(l, n, "rule %s: no matcher (command:, pipeline:, path:, shape:); "
				    "to match every call of a tool say tool: NAME (or tool: any)", rule->id);
		}
	}
	for (size_t i = 0; i < rule->tools.n; i++) {
		const char *t = rule->tools.v[i];
		bool any = !strcmp(t, "any"), bash = !strcmp(t, "Bash"), file = kn_policy_tool_is_file(t);

		if (any && rule->tools.n > 1)
			return fail(l, n, "rule %s: tool: any stands alone", rule->id);
		if (has_cmd && !bash && !any)
			return fail(l, n, "rule %s: command:, pipeline: and shape: apply to Bash, not %s", rule->id, t);
		if (has_path && !has_cmd && !bash && !file && !any)
			return fail(l, n, "rule %s: path: applies to Bash and the file tools, not %s", rule->id, t);
	}
	return 0;
}

/*
 * parse_document() - the rules of one YAML document into @out (n_out).
 * Return: 0 or -EINVAL with l->err set; @out holds what was built either way.
 */
static int parse_document(loader *l, kn_rule **out, size_t *n_out)
{
	static const char *const keys[] = { "version", "rules" };
	yaml_node_t *root = yaml_document_get_root_node(l->doc);
	yaml_node_t *rules = NULL;
	int r;

	if (!root)
		return 0; /* an empty file: no rules */
	if ((r = visit(l, root, 0)) < 0 || (r = mapping_keys(l, root, "top level", keys, N_OF(keys))) < 0)
		return r;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *key = (const char *) get_node(l, p->key)->data.scalar.value;
		yaml_node_t *v = get_node(l, p->value);

		if (!strcmp(key, "version")) {
			const char *s = scalar_of(l, v, "version");

			if (!s)
				return -EINVAL;
			if (strcmp(s, "1"))
				return fail(l, v, "version: this kennel reads version 1 rules, not '%s'", s);
		} else {
			rules = v;
		}
	}
	if (!rules)
		return fail(l, root, "no rules: list");
	if (rules->type != YAML_SEQUENCE_NODE)
		return fail(l, rules, "rules: expected a list of rules");
	for (yaml_node_item_t *it = rules->data.sequence.items.start; it < rules->data.sequence.items.top; it++) {
		*out = kn_xrealloc(*out, (*n_out + 1) * sizeof(kn_rule));
		memset(&(*out)[*n_out], 0, sizeof(kn_rule));
		(*n_out)++;
		if ((r = parse_rule(l, get_node(l, *it), &(*out)[*n_out - 1])) < 0)
			return r;
	}
	return 0;
}

int kn_policy_add_yaml(kn_policy *p, const char *text, size_t len, const char *name, kn_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	loader l = { .doc = &doc, .name = name, .err = err };
	kn_rule *rules = NULL;
	size_t n = 0;
	int r;

	if (!yaml_parser_initialize(&parser))
		return kn_error_setx(err, ENOMEM, "%s: cannot initialise the YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *) text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = kn_error_setx(err, EINVAL, "%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
				  parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error",
				  parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return r;
	}
	r = parse_document(&l, &rules, &n);
	if (r == 0 && yaml_document_get_root_node(&doc)) {
		/* a second document would be silently ignored: refuse it */
		if (!yaml_parser_load(&parser, &extra)) {
			r = kn_error_setx(err, EINVAL, "%s:%zu: %s", name, parser.problem_mark.line + 1,
					  parser.problem ? parser.problem : "YAML error");
		} else {
			if (yaml_document_get_root_node(&extra))
				r = kn_error_setx(err, EINVAL, "%s: one YAML document per rules file", name);
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	for (size_t i = 0; r == 0 && i < n; i++) {
		for (size_t j = 0; j < p->n && r == 0; j++)
			if (!strcmp(rules[i].id, p->rules[j].id))
				r = kn_error_setx(err, EINVAL, "%s:%u: rule id '%s' already defined at %s:%u", name,
						  rules[i].line, rules[i].id, p->rules[j].file, p->rules[j].line);
		for (size_t j = 0; j < i && r == 0; j++)
			if (!strcmp(rules[i].id, rules[j].id))
				r = kn_error_setx(err, EINVAL, "%s:%u: rule id '%s' already defined at line %u", name,
						  rules[i].line, rules[i].id, rules[j].line);
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			kn_rule_free(&rules[i]);
		free(rules);
		return r;
	}
	if (n) {
		p->rules = kn_xrealloc(p->rules, (p->n + n) * sizeof(kn_rule));
		memcpy(p->rules + p->n, rules, n * sizeof(kn_rule));
		p->n += n;
	}
	free(rules);
	return 0;
}

int kn_policy_add_file(kn_policy *p, const char *path, kn_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return kn_error_set(err, errno, "rules file %s", path);
	if (fstat(fd, &st) < 0)
		return kn_error_set(err, errno, "rules file %s", path);
	if (!S_ISREG(st.st_mode))
		return kn_error_setx(err, EINVAL, "rules file %s: not a regular file", path);
	if (st.st_size > (off_t) RULES_FILE_MAX)
		return kn_error_setx(err, EFBIG, "rules file %s: larger than %u bytes", path, RULES_FILE_MAX);
	buf = kn_xmalloc((size_t) st.st_size + 1);
	while (got < (size_t) st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kn_error_set(err, errno, "rules file %s", path);
		if (n == 0)
			break;
		got += (size_t) n;
	}
	buf[got] = '\0';
	return kn_policy_add_yaml(p, buf, got, path, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int kn_policy_add_dir(kn_policy *p, const char *dir, kn_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	int r = 0;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return kn_error_set(err, errno, "rules directory %s", dir);
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		kn_strv_append(&names, e->d_name);
	}
	closedir(d);
	if (!names)
		return 0;
	qsort(names, kn_strv_len(names), sizeof(char *), cmp_str);
	for (size_t i = 0; names[i] && r == 0; i++) {
		_cleanup_free_ char *path = kn_xasprintf("%s/%s", dir, names[i]);

		r = kn_policy_add_file(p, path, err);
	}
	kn_strv_free(names);
	return r;
}

/* ---- where the rules are ---- */

static bool readable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* meson_source_dir() - the source tree of the meson build directory @dir, or NULL. */
static char *meson_source_dir(const char *dir)
{
	_cleanup_free_ char *info = kn_xasprintf("%s/meson-info/meson-info.json", dir);
	json_object *root, *dirs, *src;
	char *out = NULL;

	if (!readable(info))
		return NULL;
	root = json_object_from_file(info);
	if (root && json_object_object_get_ex(root, "directories", &dirs) &&
	    json_object_object_get_ex(dirs, "source", &src) && json_object_is_type(src, json_type_string))
		out = kn_xstrdup(json_object_get_string(src));
	json_object_put(root);
	return out;
}

char *kn_policy_default_rules_path(kn_error *err)
{
	const char *env = getenv("KENNEL_RULES_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		char *path = kn_xasprintf("%s/default.yaml", env);

		if (readable(path))
			return path;
		free(path);
		kn_error_setx(err, ENOENT, "KENNEL_RULES_DIR=%s holds no readable default.yaml", env);
		return NULL;
	}
#ifdef KENNEL_RULES_SRCDIR
	if (readable(KENNEL_RULES_SRCDIR "/default.yaml"))
		return kn_xstrdup(KENNEL_RULES_SRCDIR "/default.yaml");
#endif
#ifdef KENNEL_DATADIR
	if (readable(KENNEL_DATADIR "/kennel/rules/default.yaml"))
		return kn_xstrdup(KENNEL_DATADIR "/kennel/rules/default.yaml");
#endif
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash && slash != exe) {
			char *path;

			*slash = '\0';
			path = kn_xasprintf("%s/../share/kennel/rules/default.yaml", exe);
			if (readable(path))
				return path;
			free(path);
			/* a binary in a meson build tree (runtime/kennel, tests/unit/test_policy...) */
			for (int up = 0; up < 4; up++) {
				_cleanup_free_ char *src = meson_source_dir(exe);

				if (src) {
					path = kn_xasprintf("%s/hooks/rules/default.yaml", src);
					if (readable(path))
						return path;
					free(path);
					break;
				}
				slash = strrchr(exe, '/');
				if (!slash || slash == exe)
					break;
				*slash = '\0';
			}
		}
	}
	kn_error_setx(err, ENOENT,
		      "the default rules (default.yaml) were not found: set KENNEL_RULES_DIR or give --rules FILE");
	return NULL;
}

char *kn_policy_user_rules_dir(kn_error *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	/* XDG base directory spec: a relative XDG_CONFIG_HOME is invalid and ignored */
	if (xdg && xdg[0] == '/')
		return kn_xasprintf("%s/kennel/rules", xdg);
	if (home && home[0] == '/')
		return kn_xasprintf("%s/.config/kennel/rules", home);
	kn_error_setx(err, ENOENT, "neither XDG_CONFIG_HOME nor HOME is set: cannot find the user's rules");
	return NULL;
}

int kn_policy_load(const char *rules_path, bool user_rules, kn_policy **out, kn_error *err)
{
	kn_policy *p = kn_policy_new();
	_cleanup_free_ char *found = NULL;
	int r;

	if (!rules_path) {
		found = kn_policy_default_rules_path(err);
		if (!found) {
			kn_policy_free(p);
			return -ENOENT;
		}
		rules_path = found;
	}
	r = kn_policy_add_file(p, rules_path, err);
	if (r == 0 && user_rules) {
		_cleanup_free_ char *dir = kn_policy_user_rules_dir(err);

		r = dir ? kn_policy_add_dir(p, dir, err) : -ENOENT;
	}
	if (r < 0) {
		kn_policy_free(p);
		return r;
	}
	*out = p;
	return 0;
}
