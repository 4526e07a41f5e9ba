/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

/* runc's defaults plus Docker's additions (/proc/interrupts, powercap). */
const char *const kn_default_masked_paths[] = {
	"/proc/acpi",
	"/proc/asound",
	"/proc/interrupts",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/sys/devices/virtual/powercap",
	"/sys/firmware",
	NULL,
};

const char *const kn_default_readonly_paths[] = {
	"/proc/bus",
	"/proc/fs",
	"/proc/irq",
	"/proc/sys",
	"/proc/sysrq-trigger",
	NULL,
};

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

static const char *rlimit_name(int resource)
{
	for (size_t i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return NULL;
}

static char **split_commas(const char *s)
{
	char **v = kn_xcalloc(1, sizeof(char *));
	_cleanup_free_ char *copy = kn_xstrdup(s);
	char *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (*tok)
			kn_strv_append(&v, tok);
	return v;
}

void kn_spec_add_mount(kn_spec *spec, const char *dest, const char *type,
		       const char *source, const char *options)
{
	kn_mount *m;

	spec->mounts = kn_xrealloc(spec->mounts, (spec->n_mounts + 1) * sizeof(kn_mount));
	m = &spec->mounts[spec->n_mounts++];
	m->destination = kn_xstrdup(dest);
	m->type = kn_xstrdup(type);
	m->source = kn_xstrdup(source);
	m->options = options ? split_commas(options) : kn_xcalloc(1, sizeof(char *));
}

static void add_rlimit(kn_spec *spec, int resource, uint64_t soft, uint64_t hard)
{
	spec->rlimits = kn_xrealloc(spec->rlimits, (spec->n_rlimits + 1) * sizeof(kn_rlimit));
	spec->rlimits[spec->n_rlimits++] = (kn_rlimit) { resource, soft, hard };
}

kn_spec *kn_spec_new_default(uint64_t tmpfs_size)
{
	kn_spec *spec = kn_xcalloc(1, sizeof(*spec));
	char opts[256];

	spec->root_path = kn_xstrdup("rootfs");
	kn_strv_append(&spec->args, "sh");
	kn_strv_append(&spec->env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	kn_strv_append(&spec->env, "HOME=/home/claude");
	kn_strv_append(&spec->env, "USER=claude");
	kn_strv_append(&spec->env, "LOGNAME=claude");
	spec->cwd = kn_xstrdup("/");
	spec->uid = 1000;
	spec->gid = 1000;
	spec->hostname = kn_xstrdup("kennel");

	kn_spec_add_mount(spec, "/proc", "proc", "proc", "nosuid,noexec,nodev");
	kn_spec_add_mount(spec, "/dev", "tmpfs", "tmpfs", "nosuid,noexec,strictatime,mode=755,size=65536k");
	kn_spec_add_mount(spec, "/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620");
	kn_spec_add_mount(spec, "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k");
	kn_spec_add_mount(spec, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev");
	/*
	 * No /sys: nothing in it is needed to run an agent, and it shows the
	 * host's hardware and kernel configuration.  (Mounting a fresh sysfs
	 * was also 0.6 ms of a 4 ms start.)  A spec that wants it gets it
	 * read-only.
	 */
	snprintf(opts, sizeof(opts), "nosuid,nodev,mode=1777,size=%llu", (unsigned long long) tmpfs_size);
	kn_spec_add_mount(spec, "/tmp", "tmpfs", "tmpfs", opts);
	snprintf(opts, sizeof(opts), "nosuid,nodev,mode=755,size=%llu", (unsigned long long) tmpfs_size);
	kn_spec_add_mount(spec, "/run", "tmpfs", "tmpfs", opts);
	snprintf(opts, sizeof(opts), "nosuid,nodev,mode=700,uid=1000,gid=1000,size=%llu", (unsigned long long) tmpfs_size);
	kn_spec_add_mount(spec, "/home/claude", "tmpfs", "tmpfs", opts);

	spec->masked_paths = kn_strv_dup((char *const *) kn_default_masked_paths);
	spec->readonly_paths = kn_strv_dup((char *const *) kn_default_readonly_paths);

	add_rlimit(spec, RLIMIT_NOFILE, 1024, 1024);
	/* No core dumps: a crash inside must not hand memory to the host's core_pattern. */
	add_rlimit(spec, RLIMIT_CORE, 0, 0);
	return spec;
}

static void free_mounts(kn_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		free(spec->mounts[i].destination);
		free(spec->mounts[i].type);
		free(spec->mounts[i].source);
		kn_strv_free(spec->mounts[i].options);
	}
	free(spec->mounts);
	spec->mounts = NULL;
	spec->n_mounts = 0;
}

void kn_spec_free(kn_spec *spec)
{
	if (!spec)
		return;
	free(spec->root_path);
	kn_strv_free(spec->args);
	kn_strv_free(spec->env);
	free(spec->cwd);
	free(spec->additional_gids);
	free(spec->rlimits);
	free(spec->hostname);
	free_mounts(spec);
	free(spec->uid_mappings);
	free(spec->gid_mappings);
	kn_strv_free(spec->masked_paths);
	kn_strv_free(spec->readonly_paths);
	for (size_t i = 0; i < spec->n_sysctls; i++) {
		free(spec->sysctls[i].key);
		free(spec->sysctls[i].value);
	}
	free(spec->sysctls);
	if (spec->seccomp)
		json_object_put(spec->seccomp);
	if (spec->annotations)
		json_object_put(spec->annotations);
	free(spec);
}

/* ---- parsing ---------------------------------------------------------- */

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

static int want_type(struct json_object *v, json_type t, const char *field, const char *what, kn_error *err)
{
	if (!json_object_is_type(v, t))
		return kn_error_setx(err, EINVAL, "%s: must be %s", field, what);
	return 0;
}

static int get_string(struct json_object *o, const char *key, const char *field, char **out, kn_error *err)
{
	struct json_object *v = get(o, key);
	int r;

	if (!v)
		return 0;
	r = want_type(v, json_type_string, field, "a string", err);
	if (r < 0)
		return r;
	free(*out);
	*out = kn_xstrdup(json_object_get_string(v));
	return 1;
}

static int get_strv(struct json_object *o, const char *key, const char *field, char ***out, kn_error *err)
{
	struct json_object *v = get(o, key);
	char **r = NULL;
	size_t n;
	int ret;

	if (!v)
		return 0;
	ret = want_type(v, json_type_array, field, "an array of strings", err);
	if (ret < 0)
		return ret;
	n = json_object_array_length(v);
	r = kn_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string)) {
			kn_strv_free(r);
			return kn_error_setx(err, EINVAL, "%s[%zu]: must be a string", field, i);
		}
		r[i] = kn_xstrdup(json_object_get_string(e));
	}
	kn_strv_free(*out);
	*out = r;
	return 1;
}

static int get_u64(struct json_object *o, const char *key, const char *field, uint64_t *out, bool *present, kn_error *err)
{
	struct json_object *v = get(o, key);
	int64_t i;

	if (present)
		*present = false;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return kn_error_setx(err, EINVAL, "%s: must be an integer", field);
	errno = 0;
	i = json_object_get_int64(v);
	if (i < 0) {
		/* json-c stores values above INT64_MAX as uint64 */
		uint64_t u = json_object_get_uint64(v);

		if (u <= INT64_MAX)
			return kn_error_setx(err, EINVAL, "%s: must not be negative", field);
		*out = u;
	} else {
		*out = (uint64_t) json_object_get_uint64(v);
	}
	if (present)
		*present = true;
	return 1;
}

static int get_u32(struct json_object *o, const char *key, const char *field, uint32_t *out, kn_error *err)
{
	uint64_t v = 0;
	bool present;
	int r = get_u64(o, key, field, &v, &present, err);

	if (r <= 0)
		return r;
	if (v > UINT32_MAX)
		return kn_error_setx(err, ERANGE, "%s: out of range", field);
	*out = (uint32_t) v;
	return 1;
}

static int parse_idmaps(struct json_object *arr, const char *field, kn_idmap **out, size_t *n_out, kn_error *err)
{
	size_t n;
	kn_idmap *maps;
	int r;

	r = want_type(arr, json_type_array, field, "an array", err);
	if (r < 0)
		return r;
	n = json_object_array_length(arr);
	maps = kn_xcalloc(n ? n : 1, sizeof(kn_idmap));
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		char f[128];

		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if (!json_object_is_type(e, json_type_object)) {
			free(maps);
			return kn_error_setx(err, EINVAL, "%s: must be an object", f);
		}
		if (!get(e, "containerID") || !get(e, "hostID") || !get(e, "size")) {
			free(maps);
			return kn_error_setx(err, EINVAL, "%s: containerID, hostID and size are required", f);
		}
		if (get_u32(e, "containerID", f, &maps[i].container_id, err) < 0 ||
		    get_u32(e, "hostID", f, &maps[i].host_id, err) < 0 ||
		    get_u32(e, "size", f, &maps[i].size, err) < 0) {
			free(maps);
			return -err->code;
		}
		if (maps[i].size == 0) {
			free(maps);
			return kn_error_setx(err, EINVAL, "%s: size must be at least 1", f);
		}
	}
	free(*out);
	*out = maps;
	*n_out = n;
	return 0;
}

static int parse_process(kn_spec *spec, struct json_object *proc, void (*warn_cb)(const char *), kn_error *err)
{
	struct json_object *user, *v;
	int r;

	r = want_type(proc, json_type_object, "process", "an object", err);
	if (r < 0)
		return r;
	if ((r = get_strv(proc, "args", "process.args", &spec->args, err)) < 0)
		return r;
	if (r == 0)
		return kn_error_setx(err, EINVAL, "process.args: required");
	if ((r = get_strv(proc, "env", "process.env", &spec->env, err)) < 0)
		return r;
	if ((r = get_string(proc, "cwd", "process.cwd", &spec->cwd, err)) < 0)
		return r;
	if ((v = get(proc, "terminal"))) {
		if ((r = want_type(v, json_type_boolean, "process.terminal", "a boolean", err)) < 0)
			return r;
		spec->terminal = json_object_get_boolean(v);
	}
	if ((user = get(proc, "user"))) {
		struct json_object *g;

		if ((r = want_type(user, json_type_object, "process.user", "an object", err)) < 0)
			return r;
		if (get_u32(user, "uid", "process.user.uid", &spec->uid, err) < 0 ||
		    get_u32(user, "gid", "process.user.gid", &spec->gid, err) < 0)
			return -err->code;
		if ((g = get(user, "additionalGids"))) {
			size_t n;

			if ((r = want_type(g, json_type_array, "process.user.additionalGids", "an array", err)) < 0)
				return r;
			n = json_object_array_length(g);
			free(spec->additional_gids);
			spec->additional_gids = kn_xcalloc(n ? n : 1, sizeof(uint32_t));
			spec->n_additional_gids = n;
			for (size_t i = 0; i < n; i++) {
				struct json_object *e = json_object_array_get_idx(g, i);
				int64_t x = json_object_get_int64(e);

				if (!json_object_is_type(e, json_type_int) || x < 0 || x > UINT32_MAX)
					return kn_error_setx(err, EINVAL, "process.user.additionalGids[%zu]: must be a gid", i);
				spec->additional_gids[i] = (uint32_t) x;
			}
		}
	}
	if ((v = get(proc, "rlimits"))) {
		size_t n;

		if ((r = want_type(v, json_type_array, "process.rlimits", "an array", err)) < 0)
			return r;
		n = json_object_array_length(v);
		free(spec->rlimits);
		spec->rlimits = NULL;
		spec->n_rlimits = 0;
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			_cleanup_free_ char *type = NULL;
			char f[64];
			uint64_t soft = 0, hard = 0;
			int res = -1;

			snprintf(f, sizeof(f), "process.rlimits[%zu]", i);
			if ((r = get_string(e, "type", f, &type, err)) < 0)
				return r;
			for (size_t k = 0; type && k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
				if (strcmp(type, rlimit_names[k].name) == 0)
					res = rlimit_names[k].resource;
			if (res < 0)
				return kn_error_setx(err, EINVAL, "%s.type: unknown rlimit '%s'", f, type ? type : "");
			if (get_u64(e, "soft", f, &soft, NULL, err) < 0 || get_u64(e, "hard", f, &hard, NULL, err) < 0)
				return -err->code;
			if (soft > hard)
				return kn_error_setx(err, EINVAL, "%s: soft limit above hard limit", f);
			add_rlimit(spec, res, soft, hard);
		}
	}
	if ((v = get(proc, "capabilities")) && json_object_is_type(v, json_type_object) && warn_cb) {
		bool any = false;

		struct json_object_iterator it = json_object_iter_begin(v), end = json_object_iter_end(v);

		/* json-c's foreach macro is a GNU statement expression: iterate by hand. */
		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			struct json_object *val = json_object_iter_peek_value(&it);

			if (json_object_is_type(val, json_type_array) && json_object_array_length(val) > 0)
				any = true;
		}
		if (any)
			warn_cb("process.capabilities ignored: kennel runs every process with no capabilities");
	}
	if ((v = get(proc, "noNewPrivileges")) && json_object_is_type(v, json_type_boolean) &&
	    !json_object_get_boolean(v) && warn_cb)
		warn_cb("process.noNewPrivileges=false ignored: kennel always sets no_new_privs");
	return 0;
}

static int parse_mounts(kn_spec *spec, struct json_object *arr, kn_error *err)
{
	size_t n;
	int r;

	if ((r = want_type(arr, json_type_array, "mounts", "an array", err)) < 0)
		return r;
	free_mounts(spec);
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		_cleanup_free_ char *dest = NULL, *type = NULL, *source = NULL;
		char **options = NULL;
		char f[64];
		kn_mount *m;

		snprintf(f, sizeof(f), "mounts[%zu]", i);
		if ((r = want_type(e, json_type_object, f, "an object", err)) < 0)
			return r;
		if (get_string(e, "destination", f, &dest, err) < 0 ||
		    get_string(e, "type", f, &type, err) < 0 ||
		    get_string(e, "source", f, &source, err) < 0)
			return -err->code;
		if (!dest)
			return kn_error_setx(err, EINVAL, "%s.destination: required", f);
		if (get_strv(e, "options", f, &options, err) < 0)
			return -err->code;
		if (!type) {
			/* OCI: a mount with "bind"/"rbind" in options and no type is a bind mount. */
			for (size_t k = 0; options && options[k]; k++)
				if (!strcmp(options[k], "bind") || !strcmp(options[k], "rbind"))
					type = kn_xstrdup("bind");
			if (!type) {
				kn_strv_free(options);
				return kn_error_setx(err, EINVAL, "%s.type: required", f);
			}
		}
		spec->mounts = kn_xrealloc(spec->mounts, (spec->n_mounts + 1) * sizeof(kn_mount));
		m = &spec->mounts[spec->n_mounts++];
		m->destination = steal_ptr(&dest);
		m->type = steal_ptr(&type);
		m->source = steal_ptr(&source);
		m->options = options ? options : kn_xcalloc(1, sizeof(char *));
	}
	return 0;
}

static int parse_linux(kn_spec *spec, struct json_object *lx, void (*warn_cb)(const char *), kn_error *err)
{
	struct json_object *v;
	int r;

	if ((r = want_type(lx, json_type_object, "linux", "an object", err)) < 0)
		return r;
	if ((v = get(lx, "namespaces"))) {
		size_t n;

		if ((r = want_type(v, json_type_array, "linux.namespaces", "an array", err)) < 0)
			return r;
		n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			struct json_object *path = get(e, "path");

			if (path && json_object_is_type(path, json_type_string) &&
			    json_object_get_string_len(path) > 0)
				return kn_error_setx(err, ENOTSUP,
						     "linux.namespaces[%zu].path: joining an existing namespace is not supported: kennel always creates its own",
						     i);
		}
	}
	if ((v = get(lx, "uidMappings")) && (r = parse_idmaps(v, "linux.uidMappings", &spec->uid_mappings, &spec->n_uid_mappings, err)) < 0)
		return r;
	if ((v = get(lx, "gidMappings")) && (r = parse_idmaps(v, "linux.gidMappings", &spec->gid_mappings, &spec->n_gid_mappings, err)) < 0)
		return r;
	if ((spec->n_uid_mappings == 0) != (spec->n_gid_mappings == 0))
		return kn_error_setx(err, EINVAL, "linux.uidMappings and linux.gidMappings: give both or neither");
	/* The defaults are always applied; the spec can only add to them. */
	{
		char **extra = NULL;

		if ((r = get_strv(lx, "maskedPaths", "linux.maskedPaths", &extra, err)) < 0)
			return r;
		for (size_t i = 0; extra && extra[i]; i++)
			kn_strv_append(&spec->masked_paths, extra[i]);
		kn_strv_free(extra);
		extra = NULL;
		if ((r = get_strv(lx, "readonlyPaths", "linux.readonlyPaths", &extra, err)) < 0)
			return r;
		for (size_t i = 0; extra && extra[i]; i++)
			kn_strv_append(&spec->readonly_paths, extra[i]);
		kn_strv_free(extra);
	}
	if ((v = get(lx, "seccomp"))) {
		if ((r = want_type(v, json_type_object, "linux.seccomp", "an object", err)) < 0)
			return r;
		spec->seccomp = json_object_get(v);
	}
	if ((v = get(lx, "sysctl"))) {
		if ((r = want_type(v, json_type_object, "linux.sysctl", "an object", err)) < 0)
			return r;
		struct json_object_iterator it = json_object_iter_begin(v), end = json_object_iter_end(v);

		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *key = json_object_iter_peek_name(&it);
			struct json_object *val = json_object_iter_peek_value(&it);

			if (!json_object_is_type(val, json_type_string))
				return kn_error_setx(err, EINVAL, "linux.sysctl.%s: must be a string", key);
			spec->sysctls = kn_xrealloc(spec->sysctls, (spec->n_sysctls + 1) * sizeof(kn_sysctl));
			spec->sysctls[spec->n_sysctls].key = kn_xstrdup(key);
			spec->sysctls[spec->n_sysctls].value = kn_xstrdup(json_object_get_string(val));
			spec->n_sysctls++;
		}
	}
	if ((v = get(lx, "devices")) && json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
		return kn_error_setx(err, ENOTSUP,
				     "linux.devices: extra devices are not supported: kennel provides /dev/null, zero, full, random, urandom, tty and a private devpts");
	if ((v = get(lx, "resources")) && warn_cb)
		warn_cb("linux.resources not applied: kennel does not set cgroup limits yet");
	return 0;
}

int kn_spec_parse(const char *json_text, kn_spec **out, void (*warn_cb)(const char *msg), kn_error *err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root, *v;
	kn_spec *spec;
	int r;

	if (!tok)
		return kn_error_set(err, ENOMEM, "json parser");
	root = json_tokener_parse_ex(tok, json_text, (int) strlen(json_text));
	if (!root) {
		r = kn_error_setx(err, EINVAL, "invalid JSON: %s (at offset %zu)",
				  json_tokener_error_desc(json_tokener_get_error(tok)),
				  json_tokener_get_parse_end(tok));
		json_tokener_free(tok);
		return r;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return kn_error_setx(err, EINVAL, "the top level must be a JSON object");
	}

	/* Start from an empty spec with only the always-on defaults. */
	spec = kn_xcalloc(1, sizeof(*spec));
	spec->masked_paths = kn_strv_dup((char *const *) kn_default_masked_paths);
	spec->readonly_paths = kn_strv_dup((char *const *) kn_default_readonly_paths);
	spec->cwd = kn_xstrdup("/");

	if (!(v = get(root, "ociVersion"))) {
		r = kn_error_setx(err, EINVAL, "ociVersion: required");
		goto fail;
	}
	if (!json_object_is_type(v, json_type_string) || strncmp(json_object_get_string(v), "1.", 2) != 0) {
		r = kn_error_setx(err, EINVAL, "ociVersion: unsupported version (kennel reads 1.x)");
		goto fail;
	}
	if (!(v = get(root, "root"))) {
		r = kn_error_setx(err, EINVAL, "root: required");
		goto fail;
	}
	if ((r = get_string(v, "path", "root.path", &spec->root_path, err)) < 0)
		goto fail;
	if (!spec->root_path || !*spec->root_path) {
		r = kn_error_setx(err, EINVAL, "root.path: required");
		goto fail;
	}
	if ((v = get(root, "root")) && (v = get(v, "readonly")) && json_object_is_type(v, json_type_boolean) &&
	    !json_object_get_boolean(v) && warn_cb)
		warn_cb("root.readonly=false ignored: kennel always mounts the root read-only");
	if (!(v = get(root, "process"))) {
		r = kn_error_setx(err, EINVAL, "process: required");
		goto fail;
	}
	if ((r = parse_process(spec, v, warn_cb, err)) < 0)
		goto fail;
	if ((r = get_string(root, "hostname", "hostname", &spec->hostname, err)) < 0)
		goto fail;
	if ((v = get(root, "mounts")) && (r = parse_mounts(spec, v, err)) < 0)
		goto fail;
	if ((v = get(root, "linux")) && (r = parse_linux(spec, v, warn_cb, err)) < 0)
		goto fail;
	if ((v = get(root, "hooks")) && warn_cb && json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0)
		warn_cb("hooks not run: OCI hooks come with kennel's lifecycle commands");
	if ((v = get(root, "annotations")) && json_object_is_type(v, json_type_object))
		spec->annotations = json_object_get(v);
	json_object_put(root);
	*out = spec;
	return 0;
fail:
	json_object_put(root);
	kn_spec_free(spec);
	return r;
}

int kn_spec_load(const char *bundle, kn_spec **out, void (*warn_cb)(const char *msg), kn_error *err)
{
	_cleanup_free_ char *path = kn_xasprintf("%s/config.json", bundle);
	_cleanup_free_ char *text = NULL;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	size_t cap = 0, len = 0;
	kn_spec *spec = NULL;
	int r;

	if (!f)
		return kn_error_set(err, errno, "open %s", path);
	for (;;) {
		size_t n;

		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > 64u << 20)
				return kn_error_setx(err, EFBIG, "%s: larger than 64 MiB", path);
			text = kn_xrealloc(text, cap);
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		return kn_error_set(err, EIO, "read %s", path);
	text[len] = '\0';
	r = kn_spec_parse(text, &spec, warn_cb, err);
	if (r < 0)
		return kn_error_wrap(err, "%s", path);
	if (spec->root_path[0] != '/') {
		_cleanup_free_ char *abs_bundle = realpath(bundle, NULL);
		char *p;

		if (!abs_bundle) {
			r = kn_error_set(err, errno, "bundle %s", bundle);
			kn_spec_free(spec);
			return r;
		}
		p = kn_xasprintf("%s/%s", abs_bundle, spec->root_path);
		free(spec->root_path);
		spec->root_path = p;
	}
	*out = spec;
	return 0;
}

/* ---- rendering -------------------------------------------------------- */

static struct json_object *strv_json(char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; v && v[i]; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

static struct json_object *idmaps_json(const kn_idmap *m, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "containerID", json_object_new_int64(m[i].container_id));
		json_object_object_add(o, "hostID", json_object_new_int64(m[i].host_id));
		json_object_object_add(o, "size", json_object_new_int64(m[i].size));
		json_object_array_add(a, o);
	}
	return a;
}

struct json_object *kn_spec_to_json(const kn_spec *spec)
{
	struct json_object *root = json_object_new_object();
	struct json_object *proc = json_object_new_object();
	struct json_object *user = json_object_new_object();
	struct json_object *caps = json_object_new_object();
	struct json_object *rl = json_object_new_array();
	struct json_object *r = json_object_new_object();
	struct json_object *mounts = json_object_new_array();
	struct json_object *lx = json_object_new_object();
	struct json_object *ns = json_object_new_array();
	static const char *const ns_types[] = { "pid", "network", "ipc", "uts", "mount", "user", "cgroup", NULL };
	static const char *const cap_sets[] = { "bounding", "effective", "inheritable", "permitted", "ambient", NULL };

	json_object_object_add(root, "ociVersion", json_object_new_string("1.0.2"));

	json_object_object_add(proc, "terminal", json_object_new_boolean(spec->terminal));
	json_object_object_add(user, "uid", json_object_new_int64(spec->uid));
	json_object_object_add(user, "gid", json_object_new_int64(spec->gid));
	json_object_object_add(proc, "user", user);
	json_object_object_add(proc, "args", strv_json(spec->args));
	json_object_object_add(proc, "env", strv_json(spec->env));
	json_object_object_add(proc, "cwd", json_object_new_string(spec->cwd ? spec->cwd : "/"));
	for (size_t i = 0; cap_sets[i]; i++)
		json_object_object_add(caps, cap_sets[i], json_object_new_array());
	json_object_object_add(proc, "capabilities", caps);
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		struct json_object *o = json_object_new_object();
		const char *name = rlimit_name(spec->rlimits[i].resource);

		json_object_object_add(o, "type", json_object_new_string(name ? name : "RLIMIT_UNKNOWN"));
		json_object_object_add(o, "hard", json_object_new_uint64(spec->rlimits[i].hard));
		json_object_object_add(o, "soft", json_object_new_uint64(spec->rlimits[i].soft));
		json_object_array_add(rl, o);
	}
	json_object_object_add(proc, "rlimits", rl);
	json_object_object_add(proc, "noNewPrivileges", json_object_new_boolean(1));
	json_object_object_add(root, "process", proc);

	json_object_object_add(r, "path", json_object_new_string(spec->root_path));
	json_object_object_add(r, "readonly", json_object_new_boolean(1));
	json_object_object_add(root, "root", r);
	json_object_object_add(root, "hostname", json_object_new_string(spec->hostname ? spec->hostname : "kennel"));

	for (size_t i = 0; i < spec->n_mounts; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "destination", json_object_new_string(spec->mounts[i].destination));
		json_object_object_add(o, "type", json_object_new_string(spec->mounts[i].type));
		if (spec->mounts[i].source)
			json_object_object_add(o, "source", json_object_new_string(spec->mounts[i].source));
		json_object_object_add(o, "options", strv_json(spec->mounts[i].options));
		json_object_array_add(mounts, o);
	}
	json_object_object_add(root, "mounts", mounts);

	for (size_t i = 0; ns_types[i]; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string(ns_types[i]));
		json_object_array_add(ns, o);
	}
	json_object_object_add(lx, "namespaces", ns);
	if (spec->n_uid_mappings) {
		json_object_object_add(lx, "uidMappings", idmaps_json(spec->uid_mappings, spec->n_uid_mappings));
		json_object_object_add(lx, "gidMappings", idmaps_json(spec->gid_mappings, spec->n_gid_mappings));
	}
	json_object_object_add(lx, "maskedPaths", strv_json(spec->masked_paths));
	json_object_object_add(lx, "readonlyPaths", strv_json(spec->readonly_paths));
	if (spec->seccomp)
		json_object_object_add(lx, "seccomp", json_object_get(spec->seccomp));
	json_object_object_add(root, "linux", lx);
	if (spec->annotations)
		json_object_object_add(root, "annotations", json_object_get(spec->annotations));
	return root;
}

static int check_abs_path(const char *p, const char *field, kn_error *err)
{
	if (!p || p[0] != '/')
		return kn_error_setx(err, EINVAL, "%s: '%s' must be an absolute path", field, p ? p : "");
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return kn_error_setx(err, EINVAL, "%s: '%s' must not contain '..'", field, p);
	return 0;
}

int kn_spec_validate(const kn_spec *spec, kn_error *err)
{
	int r;

	if (!spec->args || !spec->args[0] || !spec->args[0][0])
		return kn_error_setx(err, EINVAL, "process.args: no command given");
	if ((r = check_abs_path(spec->cwd, "process.cwd", err)) < 0)
		return r;
	if (!spec->root_path || !*spec->root_path)
		return kn_error_setx(err, EINVAL, "root.path: required");
	for (size_t i = 0; i < spec->n_mounts; i++) {
		char f[64];

		snprintf(f, sizeof(f), "mounts[%zu].destination", i);
		if ((r = check_abs_path(spec->mounts[i].destination, f, err)) < 0)
			return r;
	}
	for (size_t i = 0; spec->masked_paths && spec->masked_paths[i]; i++)
		if ((r = check_abs_path(spec->masked_paths[i], "linux.maskedPaths", err)) < 0)
			return r;
	for (size_t i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++)
		if ((r = check_abs_path(spec->readonly_paths[i], "linux.readonlyPaths", err)) < 0)
			return r;
	if (spec->hostname && strlen(spec->hostname) > 64)
		return kn_error_setx(err, EINVAL, "hostname: longer than 64 characters");
	return 0;
}
