/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hook server's decision function: hooks/policy.h applied to each event (see hookpolicy.h). */
#include "hookpolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

struct kn_hook_policy {
	kn_policy *policy;
	char **rule_files;
	kn_policy_ctx ctx;
	char *ws_host;
	char *ws_sandbox;
};

kn_hook_policy *kn_hook_policy_new(char *const *rule_files, const char *ws_host, const char *ws_sandbox)
{
	kn_hook_policy *hp = kn_xcalloc(1, sizeof(*hp));

	hp->rule_files = rule_files ? kn_strv_dup(rule_files) : NULL;
	hp->ws_host = ws_host ? kn_xstrdup(ws_host) : NULL;
	hp->ws_sandbox = ws_sandbox ? kn_xstrdup(ws_sandbox) : NULL;
	hp->ctx.workspace = hp->ws_sandbox;
	hp->ctx.workspace_host = hp->ws_host;
	return hp;
}

int kn_hook_policy_prepare(void *ctx, kn_error *err)
{
	kn_hook_policy *hp = ctx;
	int r;

	/* the shipped rules and the user's, then the --rules files */
	r = kn_policy_load(NULL, true, &hp->policy, err);
	for (size_t i = 0; r == 0 && hp->rule_files && hp->rule_files[i]; i++)
		r = kn_policy_add_file(hp->policy, hp->rule_files[i], err);
	return r < 0 ? kn_error_wrap(err, "command policy") : 0;
}

void kn_hook_policy_decide(void *ctx, const char *event, size_t len, kn_hook_answer *out)
{
	kn_hook_policy *hp = ctx;
	kn_policy_result res;

	memset(&res, 0, sizeof(res));
	kn_policy_handle_event(hp->policy, &hp->ctx, event, len, &res);
	out->output = res.output;
	res.output = NULL;
	if (res.decides)
		snprintf(out->decision, sizeof(out->decision), "%s", kn_policy_decision_name(res.decision));
	snprintf(out->event, sizeof(out->event), "%s", res.event);
	snprintf(out->tool, sizeof(out->tool), "%s", res.tool);
	snprintf(out->target, sizeof(out->target), "%s", res.target);
	snprintf(out->rule, sizeof(out->rule), "%s", res.rule);
	snprintf(out->reason, sizeof(out->reason), "%s", res.reason);
	kn_policy_result_free(&res);
}

void kn_hook_policy_free(kn_hook_policy *hp)
{
	if (!hp)
		return;
	kn_policy_free(hp->policy);
	kn_strv_free(hp->rule_files);
	free(hp->ws_host);
	free(hp->ws_sandbox);
	free(hp);
}
