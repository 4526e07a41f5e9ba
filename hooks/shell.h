/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_SHELL_H
#define KENNEL_SHELL_H

/*
 * A shell command line, as the policy engine needs to see it: every simple
 * command it would run, however deeply nested, with its words after quote
 * removal.  This is not a shell: nothing is expanded or executed.  What
 * cannot be known without running something (a $VAR, a $(...) result, a
 * glob) is marked dynamic, so the policy can escalate instead of guessing.
 *
 * Covered (POSIX sh + the bash forms agents write): quotes ' " $'...',
 * backslash escapes, line continuations, comments, ; && || | |& & and
 * newlines, subshells ( ), groups { }, $( ) and backticks (parsed
 * recursively), arithmetic $(( )) (one dynamic word), here-documents
 * (<<, <<-, quoted or not delimiters; the body is kept) and here-strings
 * (<<<), redirections (their targets are not arguments), VAR=x prefixes,
 * if/then/elif/else/fi, while/until/do/done, for/in, case/esac and
 * function definitions (their bodies' commands are listed like any
 * other).  Then, on each simple command: `bash -c S`, `sh -c S`, `zsh -c
 * S`, `dash -c S` (also ksh, mksh, ash), `eval S...`, `su -c S`, `env -S S`
 * and a here-document or here-string fed to a shell's stdin are parsed
 * recursively; the wrappers sudo doas env nice nohup timeout time command
 * exec xargs stdbuf ionice chroot setsid pkexec builtin coproc (with their
 * own options, e.g. `timeout -s 9 5`, `env -i A=b`, `sudo -u x`, `xargs -0
 * -n1`) are unwrapped into the command they run, which is listed after the
 * wrapper itself with the wrapper's place in its pipeline, its
 * redirections and its assignments; `find ... -exec CMD ... ;|+` and
 * `-execdir`/`-ok` contribute CMD as a command.
 *
 * Words are read where and as bash 5.2 reads them, including its
 * position-dependent cases: NAME[...] where an assignment may stand is one
 * word to its matching ] (`x[ # ] ; rm -rf /` runs rm), $[...] likewise,
 * !( starting a command is ! and a subshell, \<newline> is joined inside
 * unquoted here-document bodies before the delimiter is looked for.
 */

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* How a command was reached (a command can be wrapped inside a nested one: the innermost way is recorded). */
typedef enum kn_sh_origin {
	KN_SH_TOP = 0,    /* the command line itself */
	KN_SH_SUBSHELL,   /* ( ... ) or { ... } or a compound command's body */
	KN_SH_SUBST,      /* $( ... ) or ` ... ` */
	KN_SH_STRING,     /* bash/sh/zsh/dash -c STRING */
	KN_SH_EVAL,       /* eval ARGS */
	KN_SH_WRAPPER,    /* unwrapped from sudo, env, timeout, xargs, ... */
	KN_SH_FIND_EXEC,  /* find -exec/-execdir/-ok */
} kn_sh_origin;

typedef struct kn_sh_word {
	char *text;    /* after quote removal; the literal text of any expansion is kept as written */
	bool dynamic;  /* contains an unquoted or double-quoted $VAR / ${...} / $( ) / ` ` / $(( )), an unquoted glob or
			* brace expansion, or text xargs -I / find {} replaces when the command runs */
	bool quoted;   /* some part of it was quoted */
} kn_sh_word;

typedef struct kn_sh_redir {
	char op[4];      /* ">", ">>", "<", "<>", ">|", "&>", "&>>", "<<", "<<-", "<<<", ">&", "<&" */
	int fd;          /* the fd number written before the operator, -1 when none */
	kn_sh_word target; /* the file / fd word, or the here-doc delimiter, or the here-string */
	char *heredoc;   /* "<<" and "<<-": the body (NULL otherwise) */
} kn_sh_redir;

typedef struct kn_sh_cmd {
	kn_sh_word *argv;     /* argv[0] is the program as written (a path stays a path) */
	size_t argc;          /* 0 for a command that is only assignments/redirections */
	char **assign;        /* NULL-terminated VAR=value prefixes, may be NULL */
	kn_sh_redir *redirs;
	size_t n_redirs;
	size_t pipeline;      /* commands with the same number are one pipeline (numbering over the whole result) */
	size_t pipe_index;    /* position in that pipeline, 0-based */
	size_t pipe_len;      /* commands in that pipeline */
	bool background;      /* ended by & */
	unsigned depth;       /* 0 at top level; +1 per nesting (subshell, $( ), -c string, eval, wrapper, -exec) */
	kn_sh_origin origin;
	char *wrappers;       /* the wrappers unwrapped to reach it, space-separated ("sudo timeout"), or NULL */
	bool more_args;       /* reached through xargs: more arguments are appended when it runs (stdin, -a FILE, -I) */
	bool dynamic_string;  /* parsed from a string that holds expansions (sh -c "$X; ...", eval "echo $X",
			       * xargs -I{} sh -c {}): their values are re-parsed when it runs, so what runs
			       * may differ from this listing; escalate */
} kn_sh_cmd;

typedef struct kn_sh_script {
	kn_sh_cmd *cmds;      /* every simple command, in the order the text shows them (outer before inner) */
	size_t n;
	bool truncated;       /* a limit was hit (KN_SH_MAX_*, the work budget): commands are missing, the policy
			       * must not allow on a partial view */
} kn_sh_script;

#define KN_SH_MAX_DEPTH 16        /* nesting of $( ), -c strings, eval, wrappers */
#define KN_SH_MAX_CMDS 4096
#define KN_SH_MAX_INPUT (1 << 20)

/*
 * kn_sh_parse() - parse @text (a Bash tool command) into @out.
 * A syntax error (unterminated quote, unbalanced parenthesis, a here-doc
 * without its delimiter line...) is an error, not a best guess.
 * Return: 0 and @out filled (free with kn_sh_script_free), or -EINVAL with
 * @err saying what and where ("unterminated ' at offset 12"; inside a -c or
 * eval string, "in the string run by bash -c: ..." with the offset in that
 * string), or -E2BIG past KN_SH_MAX_INPUT, past 64 levels of the parser's
 * own nesting or past the work budget (a multiple of the input's length).
 * On error @out is empty.  @text is a C string: a command holding a NUL
 * byte must be refused by the caller, which alone sees it.
 */
int kn_sh_parse(const char *text, kn_sh_script *out, kn_error *err);

/* kn_sh_script_free() - free everything in @s; @s is empty afterwards; safe twice. */
void kn_sh_script_free(kn_sh_script *s);

/* kn_sh_basename() - the program's name without its directory ("/usr/bin/rm" -> "rm"); points into @argv0. */
const char *kn_sh_basename(const char *argv0);

#endif
