/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_POLICY_H
#define KENNEL_POLICY_H

/*
 * The command policy: rules (YAML, see hooks/rules/default.yaml for the
 * schema) over Claude Code's hook events, decided outside the sandbox.
 *
 *   kn_policy_load()          shipped default rules + the user's rules, once
 *   kn_policy_handle_event()  one hook event JSON in, Claude Code's hook
 *                             output JSON out, plus what the audit log needs
 *   kn_policy_check_bash()    the decision for one Bash command line
 *   kn_policy_check_file()    the decision for one file tool's target
 *   kn_policy_main()          `kennel policy check|list ...`
 *
 * Decisions: deny beats ask beats allow, across every simple command a
 * command line runs.  For one simple command, a matching deny rule (shipped
 * or user) always wins; a matching allow rule is an exception that cancels
 * the ask rules matching that same command, never a deny.  What the policy
 * cannot see is escalated to ask, never allowed: a command line that does
 * not parse (the parse error is the reason), a parse cut short by a limit,
 * a command name only known at run time ($CMD, eval "$X"), a script that
 * cannot be read, a shell reading commands from a pipe it cannot see into.
 * A loaded kn_policy is read-only: one may serve several threads.
 */

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef enum kn_policy_decision {
	KN_POLICY_ALLOW = 0,
	KN_POLICY_ASK = 1,
	KN_POLICY_DENY = 2,
} kn_policy_decision;

/* The agent's view of its home and workspace inside the sandbox (runtime/spec.c). */
#define KN_POLICY_HOME_DEFAULT "/home/claude"
/* Largest hook event accepted (bytes); larger ones are denied unread. */
#define KN_POLICY_MAX_EVENT (1u << 20)
/* Largest script or SQL file read to check what it runs; larger ones are escalated. */
#define KN_POLICY_MAX_SCRIPT (256u << 10)
/* Scripts run by scripts are followed this deep; deeper is escalated. */
#define KN_POLICY_MAX_SCRIPT_DEPTH 4

typedef struct kn_policy kn_policy;

/*
 * Where a decision is made.  Paths are the agent's view (inside the
 * sandbox); only @workspace_host is a path on the host.
 */
typedef struct kn_policy_ctx {
	const char *workspace;       /* workspace root, absolute ("/workspace"); NULL: the event's cwd */
	const char *workspace_host;  /* the same directory where kennel reads it; NULL: @workspace */
	const char *home;            /* the agent's $HOME; NULL: KN_POLICY_HOME_DEFAULT */
	const char *cwd;             /* where the command runs, absolute; NULL: @workspace */
} kn_policy_ctx;

typedef struct kn_policy_verdict {
	kn_policy_decision decision;
	char rule[64];      /* the rule that decided ("rm-root"), a built-in escalation ("builtin-parse-error"), or "" */
	char reason[512];   /* for the user and the agent: names the rule and the command it matched */
} kn_policy_verdict;

/* What kn_policy_handle_event() made of one event: the answer and the audit fields. */
typedef struct kn_policy_result {
	char *output;           /* malloc'd hook output JSON, never NULL after handling; "{}" decides nothing */
	bool decides;           /* false for events without a decision (Notification, Stop, SessionStart, ...) */
	kn_policy_decision decision;  /* when @decides */
	char event[32];         /* hook_event_name ("" when missing) */
	char session[128];      /* session_id ("" when missing) */
	char tool[64];          /* tool_name, "" when none */
	char target[512];       /* the Bash command or the file path (cut), "" when none */
	char rule[64];
	char reason[512];
} kn_policy_result;

/* kn_policy_decision_name() - "allow", "ask" or "deny". */
const char *kn_policy_decision_name(kn_policy_decision d);

/* kn_policy_new() - an empty policy (no rules: everything is allowed); add rules with kn_policy_add_*. */
kn_policy *kn_policy_new(void);

/* kn_policy_free() - free @p and its rules; NULL is fine. */
void kn_policy_free(kn_policy *p);

/* kn_policy_rule_count() - how many rules @p holds. */
size_t kn_policy_rule_count(const kn_policy *p);

/*
 * kn_policy_add_yaml() - parse @len bytes of YAML rules (@name says where
 * they come from, for messages) and append them to @p.  Every rule is
 * checked before any is added: an unknown key, a missing id/decision/
 * reason, a bad value or an id already loaded is an error naming the file
 * and line, and @p is left as it was.
 * Return: 0, or -EINVAL with @err set.
 */
int kn_policy_add_yaml(kn_policy *p, const char *text, size_t len, const char *name, kn_error *err);

/*
 * kn_policy_add_file() - kn_policy_add_yaml() on the contents of @path
 * (at most 4 MiB).
 * Return: 0, or -errno / -EINVAL with @err set.
 */
int kn_policy_add_file(kn_policy *p, const char *path, kn_error *err);

/*
 * kn_policy_add_dir() - add every *.yaml file of @dir in name order; a
 * missing @dir is not an error (no user rules).
 * Return: 0, or -errno / -EINVAL with @err set (the first file that failed).
 */
int kn_policy_add_dir(kn_policy *p, const char *dir, kn_error *err);

/*
 * kn_policy_default_rules_path() - where the shipped default.yaml is:
 * $KENNEL_RULES_DIR/default.yaml when that variable is set (and then only
 * there); else the first that exists of: KENNEL_RULES_SRCDIR and
 * KENNEL_DATADIR/kennel/rules when built with those defined, the install
 * layout beside the running binary (BIN/../share/kennel/rules), and the
 * source tree of a meson build directory the binary runs from (read from
 * its meson-info/meson-info.json).
 * Return: a malloc'd path, or NULL with @err set saying where it looked.
 */
char *kn_policy_default_rules_path(kn_error *err);

/*
 * kn_policy_user_rules_dir() - $XDG_CONFIG_HOME/kennel/rules (default
 * ~/.config/kennel/rules).
 * Return: a malloc'd path, or NULL with @err set (neither variable set).
 */
char *kn_policy_user_rules_dir(kn_error *err);

/*
 * kn_policy_load() - the policy the supervisor uses: @rules_path (NULL:
 * kn_policy_default_rules_path()) and then, when @user_rules, every file of
 * kn_policy_user_rules_dir().  Load once and keep it: deciding needs no I/O
 * beyond reading scripts and git's HEAD in the workspace.
 * Return: 0 and *@out, or a negative errno with @err set (nothing loaded).
 */
int kn_policy_load(const char *rules_path, bool user_rules, kn_policy **out, kn_error *err);

/*
 * kn_policy_check_bash() - decide the Bash tool command line @command
 * (NUL-terminated) run in @ctx.  Scripts it runs by path from inside the
 * workspace are read (under ctx->workspace_host, never following a link out
 * of it) and checked the same way.
 */
void kn_policy_check_bash(const kn_policy *p, const kn_policy_ctx *ctx, const char *command, kn_policy_verdict *v);

/*
 * kn_policy_check_file() - decide a write by file tool @tool ("Write",
 * "Edit", "MultiEdit", "NotebookEdit") to @path (relative paths are taken
 * from ctx->cwd).
 */
void kn_policy_check_file(const kn_policy *p, const kn_policy_ctx *ctx, const char *tool, const char *path,
			  kn_policy_verdict *v);

/*
 * kn_policy_check_tool() - decide a call of @tool whose input the policy
 * does not look into (Read, WebFetch, Task, MCP tools...): only rules that
 * name the tool and have no matcher apply.
 */
void kn_policy_check_tool(const kn_policy *p, const char *tool, kn_policy_verdict *v);

/*
 * kn_policy_handle_event() - decide one hook event: @input is @len bytes
 * of the JSON Claude Code writes on a hook's stdin (it need not be
 * NUL-terminated).  @ctx gives the workspace; its cwd is ignored (the
 * event's "cwd" is used).  Always fills @res, output included (free with
 * kn_policy_result_free):
 *   PreToolUse         {"hookSpecificOutput":{"hookEventName":"PreToolUse",
 *                       "permissionDecision":"allow|ask|deny","permissionDecisionReason":R}}
 *   PermissionRequest  deny: {"hookSpecificOutput":{"hookEventName":"PermissionRequest",
 *                       "decision":{"behavior":"deny","message":R}}}; an allow rule that
 *                       matched: the same with {"behavior":"allow"}; otherwise "{}" (no
 *                       decision: Claude Code shows its own permission dialog)
 *   any other event    "{}" (@decides false)
 * Input that is not one JSON object, larger than KN_POLICY_MAX_EVENT,
 * without hook_event_name, or a tool event without session_id, cwd (absolute),
 * tool_name, tool_input or the tool's command/path is denied with a reason
 * saying what was wrong, in PreToolUse's form unless the event says
 * PermissionRequest.
 */
void kn_policy_handle_event(const kn_policy *p, const kn_policy_ctx *ctx, const char *input, size_t len,
			    kn_policy_result *res);

/* kn_policy_result_free() - free @res->output; safe twice. */
void kn_policy_result_free(kn_policy_result *res);

/*
 * kn_policy_main() - `kennel policy SUBCOMMAND ...`; @argv[0] is "policy".
 *   check [--rules FILE]... [--workspace DIR] [--workspace-host DIR] [--home DIR]
 *       read one hook event on stdin (at most KN_POLICY_MAX_EVENT bytes),
 *       print the hook output JSON and a newline on stdout.  Rules: the
 *       --rules files in order, or when none is given the shipped
 *       default.yaml plus the user's rules.  --workspace defaults to the
 *       event's cwd.
 *   list [--rules FILE]...   print each rule: id, decision, tools, reason
 * Return: the exit code: 0 when an answer was printed (malformed events get
 * a deny answer, still 0); 2 for a usage error, rules that do not load, or
 * stdin/stdout failing (message on stderr; Claude Code treats a hook's
 * exit 2 as a block).
 */
int kn_policy_main(int argc, char **argv);

#endif
