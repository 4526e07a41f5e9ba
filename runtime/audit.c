/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The audit log (see audit.h). */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "util.h"

char *kn_audit_default_path(kn_error *err)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (geteuid() == 0)
		return kn_xstrdup("/var/log/kennel/audit.log");
	if (state && state[0] == '/')
		return kn_xasprintf("%s/kennel/audit.log", state);
	if (!home || home[0] != '/') {
		kn_error_setx(err, ENOENT, "audit log: neither XDG_STATE_HOME nor HOME is set: pass --audit-log FILE");
		return NULL;
	}
	return kn_xasprintf("%s/.local/state/kennel/audit.log", home);
}

static int mkdir_parents(const char *path, kn_error *err)
{
	_cleanup_free_ char *dir = kn_xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return kn_error_set(err, errno, "create %s", dir);
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return kn_error_set(err, errno, "create %s", dir);
	return 0;
}

int kn_audit_open(kn_audit *a, const char *path, const char *session, kn_error *err)
{
	int r;

	a->fd = -1;
	a->dirty = false;
	snprintf(a->session, sizeof(a->session), "%s", session);
	r = mkdir_parents(path, err);
	if (r < 0)
		return kn_error_wrap(err, "audit log %s", path);
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->fd < 0)
		return kn_error_set(err, errno, "audit log %s", path);
	return 0;
}

void kn_audit_flush(kn_audit *a)
{
	if (a->fd >= 0 && a->dirty) {
		fdatasync(a->fd);
		a->dirty = false;
	}
}

void kn_audit_close(kn_audit *a)
{
	if (a->fd < 0)
		return;
	kn_audit_flush(a);
	close(a->fd);
	a->fd = -1;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

void kn_audit_net(kn_audit *a, const char *kind, const char *name, const char *address, unsigned port,
		  const char *qtype, const char *decision, const char *reason)
{
	static bool warned;
	struct json_object *o;
	struct timespec ts;
	struct tm tm;
	char when[64], stamp[32];
	const char *text;
	size_t len;
	_cleanup_free_ char *line = NULL;

	if (a->fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when, sizeof(when), "%s.%03dZ", stamp, (int) (ts.tv_nsec / 1000000) % 1000);

	o = json_object_new_object();
	add_str(o, "time", when);
	add_str(o, "session", a->session);
	add_str(o, "kind", kind);
	add_str(o, "name", name);
	add_str(o, "address", address);
	json_object_object_add(o, "port", port ? json_object_new_int((int) port) : NULL);
	if (qtype)
		add_str(o, "qtype", qtype);
	add_str(o, "decision", decision);
	add_str(o, "reason", reason);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	line = kn_xasprintf("%s\n", text);
	json_object_put(o);
	len = strlen(line);
	if (write(a->fd, line, len) != (ssize_t) len) {
		if (!warned)
			fprintf(stderr, "kennel: warning: cannot write the audit log: %s\n", strerror(errno));
		warned = true;
		return;
	}
	a->dirty = true;
}

int kn_session_id(char out[33])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
		return -errno;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}
