/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the hook event path end to end, as the supervisor runs it on
 * what comes out of the sandbox: parse the event JSON, decide with the
 * shipped default rules, render Claude Code's hook output.  Invariants: the
 * output is always one valid JSON object (UTF-8); an event that decides
 * carries a decision and a reason naming a rule; PreToolUse always answers
 * allow/ask/deny in its documented form; PermissionRequest answers deny or
 * allow in its form, or nothing; a Bash event's decision is the one
 * kn_policy_check_bash gives for the same command.  A broken invariant
 * aborts, so the fuzzer reports it like a crash.
 *
 * Input: a JSON event when it starts with '{'; otherwise byte 0 picks a
 * tool (and event) and the rest is that tool's command or path, wrapped in
 * a well-formed event, so the fuzzer spends its time in the policy rather
 * than in the JSON syntax.  The workspace is a scratch directory with a few
 * scripts, SQL files and a git HEAD, so script reading is exercised too.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kn_policy *pol;
static char ws_host[64];
static kn_policy_ctx ctx;

static const char *const ws_files[][2] = {
	{ "clean.sh", "#!/bin/sh\nrm -rf ~\n" },
	{ "ok.sh", "#!/bin/bash\necho ok\n./ok2.sh\n" },
	{ "ok2.sh", "ls | wc -l\n" },
	{ "loop.sh", "bash loop.sh\n" },
	{ "drop.sql", "DROP TABLE x;\n" },
	{ ".git/HEAD", "ref: refs/heads/main\n" },
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void cleanup(void)
{
	char path[128];

	for (size_t i = 0; i < sizeof(ws_files) / sizeof(ws_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", ws_host, ws_files[i][0]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/.git", ws_host);
	rmdir(path);
	rmdir(ws_host);
	kn_policy_free(pol);
}

static void init(void)
{
	kn_error err = KN_ERROR_INIT;

	if (kn_policy_load(NULL, false, &pol, &err) < 0) {
		fprintf(stderr, "fuzz_hook_event: %s\n", err.msg);
		abort();
	}
	snprintf(ws_host, sizeof(ws_host), "/tmp/kn-fuzz-policy-XXXXXX");
	check(mkdtemp(ws_host) != NULL);
	for (size_t i = 0; i < sizeof(ws_files) / sizeof(ws_files[0]); i++) {
		char path[128];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", ws_host, ws_files[i][0]);
		if (strchr(ws_files[i][0], '/')) {
			char dir[128];

			snprintf(dir, sizeof(dir), "%s/.git", ws_host);
			mkdir(dir, 0755);
		}
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
		check(fd >= 0);
		check(write(fd, ws_files[i][1], strlen(ws_files[i][1])) == (ssize_t) strlen(ws_files[i][1]));
		close(fd);
	}
	ctx.workspace = "/workspace";
	ctx.workspace_host = ws_host;
	ctx.home = "/home/claude";
	atexit(cleanup);
}

static json_object *parse_strict(const char *s)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;

	check(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int) strlen(s));
	check(o != NULL && json_tokener_get_error(tok) == json_tokener_success);
	check(json_object_is_type(o, json_type_object));
	json_tokener_free(tok);
	return o;
}

static const char *member(json_object *o, const char *a, const char *b, const char *c)
{
	json_object *x;

	if (!json_object_object_get_ex(o, a, &x) || (b && !json_object_object_get_ex(x, b, &x)) ||
	    (c && !json_object_object_get_ex(x, c, &x)) || !json_object_is_type(x, json_type_string))
		return NULL;
	return json_object_get_string(x);
}

static void check_result(const kn_policy_result *res)
{
	json_object *o;
	const char *name;

	check(res->output != NULL);
	o = parse_strict(res->output);
	name = kn_policy_decision_name(res->decision);
	if (!res->decides) {
		check(!strcmp(res->output, "{}"));
	} else {
		check(res->rule[0] == '\0' || strstr(res->reason, res->rule) != NULL);
		check(res->reason[0] != '\0');
		if (!strcmp(res->event, "PermissionRequest")) {
			const char *behavior = member(o, "hookSpecificOutput", "decision", "behavior");

			check(behavior ? !strcmp(behavior, name) : !strcmp(res->output, "{}"));
			check(res->decision != KN_POLICY_DENY || behavior);
		} else {
			const char *d = member(o, "hookSpecificOutput", "permissionDecision", NULL);

			check(d && !strcmp(d, name));
			check(!strcmp(member(o, "hookSpecificOutput", "hookEventName", NULL), "PreToolUse"));
			check(member(o, "hookSpecificOutput", "permissionDecisionReason", NULL) != NULL);
		}
	}
	json_object_put(o);
}

/* event_for() - a well-formed event carrying @text as the input of the tool byte @mode picks. */
static char *event_for(uint8_t mode, const char *text, size_t len)
{
	static const char *const tools[][2] = {
		{ "Bash", "command" }, { "Write", "file_path" }, { "Edit", "file_path" },
		{ "MultiEdit", "file_path" }, { "NotebookEdit", "notebook_path" }, { "Bash", "command" },
		{ "WebFetch", "url" }, { "Bash", "command" },
	};
	json_object *o = json_object_new_object(), *in = json_object_new_object();
	size_t t = mode % 8;
	char *s;

	json_object_object_add(o, "session_id", json_object_new_string("fuzz"));
	json_object_object_add(o, "transcript_path", json_object_new_string("/home/claude/.claude/t.jsonl"));
	json_object_object_add(o, "cwd", json_object_new_string((mode & 0x40) ? "/workspace/sub" : "/workspace"));
	json_object_object_add(o, "permission_mode", json_object_new_string("default"));
	json_object_object_add(o, "hook_event_name",
			       json_object_new_string((mode & 0x80) ? "PermissionRequest" : "PreToolUse"));
	json_object_object_add(o, "tool_name", json_object_new_string(tools[t][0]));
	json_object_object_add(in, tools[t][1], json_object_new_string_len(text, (int) len));
	json_object_object_add(o, "tool_input", in);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	check(s != NULL);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kn_policy_result res;

	if (!pol)
		init();
	if (size == 0 || data[0] == '{') {
		kn_policy_handle_event(pol, &ctx, (const char *) data, size, &res);
		check_result(&res);
		kn_policy_result_free(&res);
		return 0;
	}
	if (size > KN_POLICY_MAX_EVENT / 2)
		return 0;
	{
		char *text = malloc(size);
		char *ev;
		size_t len = size - 1;
		uint8_t mode = data[0];

		check(text != NULL);
		memcpy(text, data + 1, len);
		text[len] = '\0';
		/* mostly valid UTF-8 and no NUL, so the policy (not the JSON check) sees the input */
		if (!(mode & 0x20))
			for (size_t i = 0; i < len; i++)
				if ((unsigned char) text[i] >= 0x80 || text[i] == '\0')
					text[i] = '?';
		ev = event_for(mode, text, len);
		kn_policy_handle_event(pol, &ctx, ev, strlen(ev), &res);
		check_result(&res);
		if (res.decides && !strcmp(res.tool, "Bash") && !(mode & 0x20) && strlen(text) == len) {
			kn_policy_ctx c = ctx;
			kn_policy_verdict v;

			c.cwd = (mode & 0x40) ? "/workspace/sub" : "/workspace";
			kn_policy_check_bash(pol, &c, text, &v);
			check(v.decision == res.decision);
			check(!strcmp(v.rule, res.rule));
		}
		kn_policy_result_free(&res);
		free(ev);
		free(text);
	}
	return 0;
}
