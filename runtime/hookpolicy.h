/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_HOOKPOLICY_H
#define KENNEL_HOOKPOLICY_H

/*
 * The supervisor's decision function for the hook server: the command
 * policy of hooks/ (rules loaded once per sandbox) applied to each event
 * the shim forwards, rendered as Claude Code's hook output.
 */

#include <stddef.h>

#include "error.h"
#include "hookserver.h"

typedef struct kn_hook_policy kn_hook_policy;

/*
 * kn_hook_policy_new() - a policy to be loaded from the shipped rules plus
 * @rule_files (NULL-terminated, may be NULL) and the user's rule
 * directory; @ws_host is the workspace on the host and @ws_sandbox where
 * the sandbox sees it (both NULL without a workspace): scripts run by path
 * inside it are read from the host side.  Nothing is read yet.
 */
kn_hook_policy *kn_hook_policy_new(char *const *rule_files, const char *ws_host, const char *ws_sandbox);

/*
 * kn_hook_policy_prepare() - load the rules (kn_hooks_config.prepare; @ctx
 * is the kn_hook_policy).  Return: 0, or -errno with @err set (a rule
 * file's error names the file and line).
 */
int kn_hook_policy_prepare(void *ctx, kn_error *err);

/* kn_hook_policy_decide() - a kn_hook_decide_fn; @ctx is the kn_hook_policy. */
void kn_hook_policy_decide(void *ctx, const char *event, size_t len, kn_hook_answer *out);

/* kn_hook_policy_free() - NULL is fine. */
void kn_hook_policy_free(kn_hook_policy *p);

#endif
