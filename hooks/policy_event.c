/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Claude Code's hook events in, hook output out (json-c).  Input shapes
 * (Claude Code hooks reference): every event carries session_id,
 * transcript_path, cwd, permission_mode and hook_event_name; PreToolUse adds
 * tool_name, tool_input and tool_use_id, PermissionRequest tool_name and
 * tool_input.  tool_input by tool: Bash {command, description, timeout,
 * run_in_background}, Write {file_path, content}, Edit {file_path,
 * old_string, new_string, replace_all}, MultiEdit {file_path, edits[]},
 * NotebookEdit {notebook_path, new_source, cell_id, ...}.
 * Anything malformed is denied: a hook that fails or says nothing lets the
 * tool call proceed, so the answer must always be a decision.
 */
#include "policy_int.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define JSON_DEPTH_MAX 64

void kn_policy_result_free(kn_policy_result *res)
{
	free(res->output);
	res->output = NULL;
}

/* utf8_clean() - replace every byte that is not part of a valid UTF-8 sequence with '?' (JSON text is UTF-8). */
static void utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *) s;

	while (*p) {
		size_t n = 0;
		unsigned cp = 0;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			n = 1, cp = *p & 0x1f;
		else if ((*p & 0xf0) == 0xe0)
			n = 2, cp = *p & 0x0f;
		else if ((*p & 0xf8) == 0xf0)
			n = 3, cp = *p & 0x07;
		for (size_t i = 1; n && i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 either */
		if (n && ((n == 1 && cp < 0x80) || (n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
			  (n == 3 && (cp < 0x10000 || cp > 0x10ffff))))
			n = 0;
		if (!n) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
	utf8_clean(dst);
}

static char *json_text(json_object *o)
{
	char *s = kn_xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}

/* render() - the hook output for @res (decision, reason and event already set). */
static char *render(const kn_policy_result *res, bool permission_request)
{
	json_object *o, *h, *d;

	if (permission_request) {
		/*
		 * PermissionRequest decides allow or deny only; ask (and allowing
		 * because no rule matched) is no decision: Claude Code then shows
		 * its own permission dialog to the user.
		 */
		bool allow_rule = res->decision == KN_POLICY_ALLOW && res->rule[0] && strncmp(res->rule, "builtin-", 8);

		if (res->decision == KN_POLICY_ASK || (res->decision == KN_POLICY_ALLOW && !allow_rule))
			return kn_xstrdup("{}");
		o = json_object_new_object();
		h = json_object_new_object();
		d = json_object_new_object();
		json_object_object_add(d, "behavior", json_object_new_string(kn_policy_decision_name(res->decision)));
		if (res->decision == KN_POLICY_DENY)
			json_object_object_add(d, "message", json_object_new_string(res->reason));
		json_object_object_add(h, "hookEventName", json_object_new_string("PermissionRequest"));
		json_object_object_add(h, "decision", d);
		json_object_object_add(o, "hookSpecificOutput", h);
		return json_text(o);
	}
	o = json_object_new_object();
	h = json_object_new_object();
	json_object_object_add(h, "hookEventName", json_object_new_string("PreToolUse"));
	json_object_object_add(h, "permissionDecision", json_object_new_string(kn_policy_decision_name(res->decision)));
	json_object_object_add(h, "permissionDecisionReason", json_object_new_string(res->reason));
	json_object_object_add(o, "hookSpecificOutput", h);
	return json_text(o);
}

static void malformed(kn_policy_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* malformed() - deny an event kennel cannot read, saying why. */
static void malformed(kn_policy_result *res, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	res->decides = true;
	res->decision = KN_POLICY_DENY;
	copy_field(res->rule, sizeof(res->rule), "builtin-malformed-event");
	snprintf(res->reason, sizeof(res->reason), "kennel rule builtin-malformed-event: the hook event cannot be read, so the call is denied: %s",
		 why);
	utf8_clean(res->reason);
	free(res->output);
	res->output = render(res, !strcmp(res->event, "PermissionRequest"));
}

/*
 * get_string() - the string member @key of @o.  Return: it, or NULL with
 * @why saying what is wrong (missing, not a string, holding a NUL byte).
 */
static const char *get_string(json_object *o, const char *key, char *why, size_t cap)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		snprintf(why, cap, "no \"%s\"", key);
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(why, cap, "\"%s\" is not a string", key);
		return NULL;
	}
	s = json_object_get_string(v);
	if ((size_t) json_object_get_string_len(v) != strlen(s)) {
		/* the C string would stop early: what is checked must be what runs */
		snprintf(why, cap, "\"%s\" contains a NUL byte", key);
		return NULL;
	}
	return s;
}

static void decide_tool(const kn_policy *p, const kn_policy_ctx *base, json_object *ev, kn_policy_result *res)
{
	char why[128];
	const char *session = get_string(ev, "session_id", why, sizeof(why));
	const char *cwd, *tool, *target;
	json_object *input;
	kn_policy_ctx ctx = *base;
	kn_policy_verdict v;

	if (!session) {
		malformed(res, "%s", why);
		return;
	}
	copy_field(res->session, sizeof(res->session), session);
	if (!(cwd = get_string(ev, "cwd", why, sizeof(why)))) {
		malformed(res, "%s", why);
		return;
	}
	if (cwd[0] != '/') {
		malformed(res, "\"cwd\" is not an absolute path");
		return;
	}
	if (!(tool = get_string(ev, "tool_name", why, sizeof(why)))) {
		malformed(res, "%s", why);
		return;
	}
	copy_field(res->tool, sizeof(res->tool), tool);
	if (!json_object_object_get_ex(ev, "tool_input", &input) || !json_object_is_type(input, json_type_object)) {
		malformed(res, "no \"tool_input\" object");
		return;
	}
	ctx.cwd = cwd;
	if (!ctx.workspace)
		ctx.workspace = cwd;
	if (!strcmp(tool, "Bash")) {
		if (!(target = get_string(input, "command", why, sizeof(why)))) {
			malformed(res, "Bash tool_input: %s", why);
			return;
		}
		copy_field(res->target, sizeof(res->target), target);
		kn_policy_check_bash(p, &ctx, target, &v);
	} else if (kn_policy_tool_is_file(tool)) {
		const char *key = !strcmp(tool, "NotebookEdit") ? "notebook_path" : "file_path";

		if (!(target = get_string(input, key, why, sizeof(why)))) {
			malformed(res, "%s tool_input: %s", tool, why);
			return;
		}
		if (!*target) {
			malformed(res, "%s tool_input: empty \"%s\"", tool, key);
			return;
		}
		copy_field(res->target, sizeof(res->target), target);
		kn_policy_check_file(p, &ctx, tool, target, &v);
	} else {
		/* for the audit log: what the tool acts on, when it says */
		static const char *const keys[] = { "command", "file_path", "notebook_path", "url", "path", "pattern", "query" };

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !res->target[0]; i++) {
			json_object *x;

			if (json_object_object_get_ex(input, keys[i], &x) && json_object_is_type(x, json_type_string))
				copy_field(res->target, sizeof(res->target), json_object_get_string(x));
		}
		kn_policy_check_tool(p, tool, &v);
	}
	res->decides = true;
	res->decision = v.decision;
	copy_field(res->rule, sizeof(res->rule), v.rule);
	copy_field(res->reason, sizeof(res->reason), v.reason);
	free(res->output);
	res->output = render(res, !strcmp(res->event, "PermissionRequest"));
}

void kn_policy_handle_event(const kn_policy *p, const kn_policy_ctx *ctx, const char *input, size_t len,
			    kn_policy_result *res)
{
	json_tokener *tok;
	json_object *ev = NULL;
	enum json_tokener_error jerr;
	size_t end;
	char why[128];
	const char *name, *session;

	memset(res, 0, sizeof(*res));
	if (len > KN_POLICY_MAX_EVENT) {
		malformed(res, "larger than %u bytes", KN_POLICY_MAX_EVENT);
		return;
	}
	tok = json_tokener_new_ex(JSON_DEPTH_MAX);
	if (!tok) {
		malformed(res, "out of memory");
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	ev = json_tokener_parse_ex(tok, input, (int) len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || !ev) {
		json_object_put(ev);
		if (jerr == json_tokener_continue) {
			malformed(res, "the JSON text ends early");
			return;
		}
		malformed(res, "not valid JSON: %s", json_tokener_error_desc(jerr));
		return;
	}
	while (end < len && (input[end] == ' ' || input[end] == '\n' || input[end] == '\r' || input[end] == '\t'))
		end++;
	if (end < len) {
		json_object_put(ev);
		malformed(res, "text after the JSON object");
		return;
	}
	if (!json_object_is_type(ev, json_type_object)) {
		json_object_put(ev);
		malformed(res, "not a JSON object");
		return;
	}
	if (!(name = get_string(ev, "hook_event_name", why, sizeof(why)))) {
		json_object_put(ev);
		malformed(res, "%s", why);
		return;
	}
	copy_field(res->event, sizeof(res->event), name);
	if (!strcmp(name, "PreToolUse") || !strcmp(name, "PermissionRequest")) {
		decide_tool(p, ctx, ev, res);
	} else {
		/* Notification, Stop, SessionStart, ...: recorded, nothing to decide */
		session = get_string(ev, "session_id", why, sizeof(why));
		copy_field(res->session, sizeof(res->session), session);
		res->output = kn_xstrdup("{}");
	}
	json_object_put(ev);
}
