/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_POLICY_INT_H
#define KENNEL_POLICY_INT_H

/*
 * The rule model shared by the YAML loader (policy_rules.c) and the
 * matcher (policy.c).  Not an API: nothing outside hooks/policy*.c uses it.
 * Every field mirrors a key of the schema documented in
 * hooks/rules/default.yaml.
 */

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "policy.h"
#include "shell.h"

typedef struct kn_strlist {
	char **v;
	size_t n;
} kn_strlist;

/* args: path predicates (a bit set) */
enum {
	KN_PRED_ROOT = 1u << 0,          /* / itself, or everything in it */
	KN_PRED_HOME = 1u << 1,          /* ~, $HOME, the agent's home */
	KN_PRED_SYSTEM = 1u << 2,        /* /usr, /etc, ... (policy.c: system_dirs) */
	KN_PRED_WORKSPACE = 1u << 3,     /* the workspace root itself */
	KN_PRED_WORKSPACE_GIT = 1u << 4, /* the workspace's .git */
	KN_PRED_OUTSIDE = 1u << 5,       /* anywhere outside the workspace */
	KN_PRED_DEVICE = 1u << 6,        /* /dev/... but null, zero, tty, std*, fd, shm, pts */
	KN_PRED_DYNAMIC = 1u << 7,       /* only known at run time ($X, or . under an unknown cd) */
};

typedef struct kn_args_match {
	bool set;
	unsigned preds;
	kn_strlist globs;   /* against the word as written (after quote removal) */
	char *prefix;       /* only words starting with it, and only the text after it ("of=") */
} kn_args_match;

typedef struct kn_input_match {
	bool set;
	kn_strlist statements;  /* keyword sequences (upper case, one space apart) in a statement's code */
	char *lacks;            /* ... and that keyword is absent from the statement */
	kn_strlist contains;    /* or: any of these anywhere (case-insensitive) */
	bool commands;          /* style commands (redis): a command per line, keywords open it */
} kn_input_match;

typedef struct kn_cmd_match {
	kn_strlist programs;          /* globs on the program's basename; empty: any */
	kn_strlist *subcommands;      /* alternatives, each a word sequence (globs) */
	size_t n_subcommands;
	bool nocase;                  /* subcommand, verb and args glob words ignore case */
	kn_strlist *flags;            /* all of these groups, each satisfied by any of its flags */
	size_t n_flags;
	kn_strlist any_flag;
	kn_strlist no_flag;
	kn_args_match args;
	kn_strlist verbs;
	unsigned verb_within;
	kn_input_match input;
	kn_strlist push_branch;
	kn_strlist exec_program;      /* find -exec/-execdir/-ok/-okdir PROGRAM */
	kn_strlist wrapper;           /* reached through one of these wrappers */
	bool stdin_script;            /* the program reads its script from stdin */
	struct kn_cmd_match *unless;  /* the rule does not apply when this matches too */
} kn_cmd_match;

typedef struct kn_rule {
	char *id;
	char *reason;
	char *file;
	unsigned line;
	kn_policy_decision decision;
	kn_strlist tools;             /* tool names; "any" matches every tool */
	kn_cmd_match *cmds;           /* alternatives */
	size_t n_cmds;
	kn_cmd_match *pipe_from;      /* pipeline: from ... to ... (both set or neither) */
	kn_cmd_match *pipe_to;
	kn_strlist paths;             /* globs on written paths */
	bool fork_bomb;
} kn_rule;

struct kn_policy {
	kn_rule *rules;
	size_t n;
};

/* ---- evaluation (policy.c, policy_match.c, policy_input.c) ---- */

#define KN_EVAL_MAX_CWDS 8
/* files (scripts, SQL files, git HEADs) one decision may read */
#define KN_EVAL_MAX_FILES 32

/* One decision in progress. */
typedef struct kn_eval {
	const kn_policy *p;
	char *ws;             /* workspace root, normalized (agent's view) */
	const char *ws_host;  /* the same on the host */
	char *home;
	char *cwds[KN_EVAL_MAX_CWDS];  /* where commands may run: the event's cwd, then literal cd targets */
	size_t n_cwds;
	bool cwd_unknown;     /* a cd to somewhere only known at run time */
	unsigned depth;       /* scripts followed to get here */
	unsigned files_read;
	const char *where;    /* "" at top level, else "script x.sh" / "stdin of bash" */
	kn_policy_verdict *v;
} kn_eval;

/* Texts a command receives (SQL, shell input): borrowed or owned. */
typedef struct kn_texts {
	const char **v;
	char **owned;
	size_t n, n_owned;
	bool opaque;          /* some of the input cannot be seen (a program's output, an unreadable file) */
} kn_texts;

void kn_texts_free(kn_texts *t);

/* kn_is_option() - an option word: starts with - and is not "-" alone. */
static inline bool kn_is_option(const char *t)
{
	return t[0] == '-' && t[1] != '\0';
}

/* kn_ddash_index() - where "--" ends @c's options, or argc. */
static inline size_t kn_ddash_index(const kn_sh_cmd *c)
{
	for (size_t i = 1; i < c->argc; i++)
		if (!strcmp(c->argv[i].text, "--"))
			return i;
	return c->argc;
}

/* kn_positional() - argument @i of @c is an operand, not an option (nor the "--" itself). */
static inline bool kn_positional(const kn_sh_cmd *c, size_t ddash, size_t i)
{
	return i > ddash || (i < ddash && !kn_is_option(c->argv[i].text));
}

/* kn_has_expansion() - $VAR, ${...}, $( ), backticks, or a process substitution <( ) >( ). */
static inline bool kn_has_expansion(const char *s)
{
	return strchr(s, '$') || strchr(s, '`') || strstr(s, "<(") || strstr(s, ">(");
}

static inline bool kn_is_glob_text(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* kn_match_input() - does the text command @i of @s receives hold a statement (or text) of @m? */
bool kn_match_input(kn_eval *ev, const kn_input_match *m, const kn_sh_script *s, size_t i, const char *prog);

/* kn_match_cmd() - does command @i of @s match @m? */
bool kn_match_cmd(kn_eval *ev, const kn_cmd_match *m, const kn_sh_script *s, size_t i);

/* kn_match_writes() - does a file command @c writes (redirections, tee, cp/mv/ln/install, dd of=) match @globs? */
bool kn_match_writes(kn_eval *ev, const kn_strlist *globs, const kn_sh_cmd *c);

/* kn_match_path() - does the absolute normalized @path match one of @globs (~, $HOME, $WORKSPACE expanded)? */
bool kn_match_path(kn_eval *ev, const kn_strlist *globs, const char *path);

/* kn_path_normalize() - @path taken from @base when relative, with . .. and // resolved lexically (malloc'd). */
char *kn_path_normalize(const char *base, const char *path);

/* kn_path_under() - @path is @dir or below it. */
bool kn_path_under(const char *path, const char *dir);

/*
 * kn_resolve_word() - the absolute path word @w names when run in @cwd
 * (~, $HOME, $PWD expanded).  Return: malloc'd path, or NULL when it is
 * only known at run time (*@dynamic set) or cannot be a path.
 */
char *kn_resolve_word(kn_eval *ev, const kn_sh_word *w, const char *cwd, bool *dynamic);

/*
 * kn_read_ws_file() - read @path (absolute, agent's view) from the workspace
 * through ws_host, never leaving it (openat2 RESOLVE_BENEATH), at most
 * KN_POLICY_MAX_SCRIPT bytes, NUL-terminated.
 * Return: 0, -EXDEV (not in the workspace), -EFBIG, -EMFILE (read budget
 * spent), or another -errno.
 */
int kn_read_ws_file(kn_eval *ev, const char *path, char **out, size_t *len);

/* kn_gather_stdin() - what command @i of @s reads on stdin, as far as the command line shows it. */
void kn_gather_stdin(kn_eval *ev, const kn_sh_script *s, size_t i, kn_texts *t);

/* kn_is_shell() - sh, bash, dash, zsh, ksh, ash, mksh, yash. */
bool kn_is_shell(const char *prog);

/*
 * kn_shell_script_arg() - for a shell command @c: the index of its script
 * file argument, or -1; *@reads_stdin when it reads commands from stdin
 * (no -c, no script, or -s).
 */
int kn_shell_script_arg(const kn_sh_cmd *c, bool *reads_stdin);

/* kn_rule_free() - free what @r holds (not @r itself). */
void kn_rule_free(kn_rule *r);

/* kn_policy_tool_is_file() - Write, Edit, MultiEdit or NotebookEdit. */
bool kn_policy_tool_is_file(const char *tool);

#endif
