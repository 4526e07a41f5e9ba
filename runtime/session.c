/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A sandbox's files on the host (see session.h). */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "cleanup.h"
#include "hook_proto.h"
#include "util.h"

char *kn_runtime_dir(kn_error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *dir = NULL;
	struct stat st;

	if (kn_is_host_root())
		dir = kn_xstrdup("/run/kennel");
	else if (xdg && xdg[0] == '/')
		dir = kn_xasprintf("%s/kennel", xdg);
	else
		dir = kn_xasprintf("/tmp/kennel-%u", (unsigned) geteuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		kn_error_set(err, errno, "create %s", dir);
		return NULL;
	}
	if (lstat(dir, &st) < 0) {
		kn_error_set(err, errno, "%s", dir);
		return NULL;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0022)) {
		kn_error_setx(err, EPERM, "%s is not a directory owned by uid %u and writable only by it: remove it",
			      dir, (unsigned) geteuid());
		return NULL;
	}
	return steal_ptr(&dir);
}

int kn_session_create(kn_session *s, kn_error *err)
{
	_cleanup_free_ char *rt = kn_runtime_dir(err);
	_cleanup_free_ char *sessions = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	if (!rt)
		return -err->code;
	r = kn_session_id(s->id);
	if (r < 0)
		return kn_error_set(err, -r, "session id");
	sessions = kn_xasprintf("%s/sessions", rt);
	if (mkdir(sessions, 0700) < 0 && errno != EEXIST)
		return kn_error_set(err, errno, "create %s", sessions);
	s->dir = kn_xasprintf("%s/%s", sessions, s->id);
	s->shared = kn_xasprintf("%s/shared", s->dir);
	s->socket = kn_xasprintf("%s/policy.sock", s->shared);
	s->settings = kn_xasprintf("%s/managed-settings.json", s->dir);
	if (mkdir(s->dir, 0700) < 0) {
		r = kn_error_set(err, errno, "create %s", s->dir);
		goto fail;
	}
	/* 0755: the sandbox's user traverses it through the bind */
	if (mkdir(s->shared, 0755) < 0 || chmod(s->shared, 0755) < 0) {
		r = kn_error_set(err, errno, "create %s", s->shared);
		goto fail;
	}
	return 0;
fail:
	kn_session_remove(s);
	return r;
}

static struct json_object *hook_entry(const char *shim, const char *event, const char *matcher)
{
	struct json_object *group = json_object_new_object();
	struct json_object *hooks = json_object_new_array();
	struct json_object *h = json_object_new_object();
	_cleanup_free_ char *cmd = kn_xasprintf("%s %s --deadline-ms %d", shim, event, KN_HOOK_DEADLINE_MS);
	struct json_object *list = json_object_new_array();

	json_object_object_add(h, "type", json_object_new_string("command"));
	json_object_object_add(h, "command", json_object_new_string(cmd));
	json_object_object_add(h, "timeout", json_object_new_int(KN_HOOK_TIMEOUT_S));
	json_object_array_add(hooks, h);
	if (matcher)
		json_object_object_add(group, "matcher", json_object_new_string(matcher));
	json_object_object_add(group, "hooks", hooks);
	json_object_array_add(list, group);
	return list;
}

int kn_session_write_settings(const kn_session *s, const char *shim_path, kn_error *err)
{
	static const struct {
		const char *event;
		const char *matcher;
	} events[] = {
		{ "PreToolUse", "*" }, { "PermissionRequest", "*" }, { "Notification", NULL },
		{ "Stop", NULL },      { "SubagentStop", NULL },     { "SessionStart", NULL },
		{ "SessionEnd", NULL }, { "UserPromptSubmit", NULL },
	};
	struct json_object *root = json_object_new_object();
	struct json_object *hooks = json_object_new_object();
	struct json_object *env = json_object_new_object();
	const char *text;
	int r;

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		json_object_object_add(hooks, events[i].event, hook_entry(shim_path, events[i].event, events[i].matcher));
	json_object_object_add(root, "hooks", hooks);
	json_object_object_add(root, "allowManagedHooksOnly", json_object_new_boolean(1));
	json_object_object_add(root, "disableAllHooks", json_object_new_boolean(0));
	json_object_object_add(env, "DISABLE_AUTOUPDATER", json_object_new_string("1"));
	json_object_object_add(root, "env", env);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	r = 0;
	{
		int fd = open(s->settings, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		size_t len = strlen(text);

		/* 0644 whatever the umask: Claude Code in the sandbox reads it */
		if (fd < 0 || fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t) len)
			r = kn_error_set(err, errno, "write %s", s->settings);
		if (fd >= 0 && close(fd) < 0 && r == 0)
			r = kn_error_set(err, errno, "write %s", s->settings);
	}
	json_object_put(root);
	return r;
}

void kn_session_remove(kn_session *s)
{
	if (s->socket)
		unlink(s->socket);
	if (s->settings)
		unlink(s->settings);
	if (s->shared)
		rmdir(s->shared);
	if (s->dir)
		rmdir(s->dir);
	free(s->dir);
	free(s->shared);
	free(s->socket);
	free(s->settings);
	s->dir = s->shared = s->socket = s->settings = NULL;
}

char *kn_hook_shim_host_path(kn_error *err)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *candidates[3] = { NULL, NULL, NULL };
	char *found = NULL;

	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			candidates[0] = kn_xasprintf("%s/kennel-hook", self);
			candidates[1] = kn_xasprintf("%s/../hooks/kennel-hook", self);
		}
	}
	candidates[2] = kn_xasprintf("%s/kennel-hook", KENNEL_LIBEXECDIR);
	for (size_t i = 0; i < 3 && !found; i++)
		if (candidates[i] && access(candidates[i], X_OK) == 0)
			found = realpath(candidates[i], NULL);
	if (!found)
		kn_error_setx(err, ENOENT, "the hook shim kennel-hook is not installed (looked beside kennel and in %s)",
			      candidates[2]);
	for (size_t i = 0; i < 3; i++)
		free(candidates[i]);
	return found;
}
