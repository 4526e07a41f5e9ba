/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "util.h"

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

#define _cleanup_json_ __attribute__((cleanup(json_putp)))

char *kn_cache_dir(kn_error *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	const char *forced = getenv("KENNEL_CACHE_DIR");

	if (forced && forced[0] == '/')
		return kn_xstrdup(forced);
	if (geteuid() == 0)
		return kn_xstrdup("/var/cache/kennel/rootfs");
	if (xdg && xdg[0] == '/')
		return kn_xasprintf("%s/kennel/rootfs", xdg);
	if (home && home[0] == '/')
		return kn_xasprintf("%s/.cache/kennel/rootfs", home);
	kn_error_setx(err, ENOENT, "no cache directory: set XDG_CACHE_HOME or HOME");
	return NULL;
}

char *kn_lock_path(const char *explicit_path, kn_error *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (explicit_path)
		return kn_xstrdup(explicit_path);
	if (access("kennel.lock", F_OK) == 0)
		return kn_xstrdup("kennel.lock");
	if (xdg && xdg[0] == '/')
		return kn_xasprintf("%s/kennel/kennel.lock", xdg);
	if (home && home[0] == '/')
		return kn_xasprintf("%s/.config/kennel/kennel.lock", home);
	kn_error_setx(err, ENOENT, "no lock file: pass --lock FILE, or set XDG_CONFIG_HOME or HOME");
	return NULL;
}

bool kn_is_sha256_hex(const char *s)
{
	size_t n = 0;

	for (; s && s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == KN_SHA256_HEX_LEN;
}

/* Read and parse the lock file; *root is NULL (and 0 returned) when it does not exist and @missing_ok. */
static int lock_read(const char *path, bool missing_ok, struct json_object **root, kn_error *err)
{
	struct json_object *o, *v;

	*root = NULL;
	if (access(path, F_OK) < 0 && errno == ENOENT && missing_ok)
		return 0;
	o = json_object_from_file(path);
	if (!o) {
		if (access(path, R_OK) < 0)
			return kn_error_set(err, errno, "lock file %s", path);
		return kn_error_setx(err, EINVAL, "lock file %s: not valid JSON (%s)", path, json_util_get_last_err());
	}
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "rootfs", &v) || !json_object_is_type(v, json_type_object)) {
		json_object_put(o);
		return kn_error_setx(err, EINVAL, "lock file %s: expected {\"version\": 1, \"rootfs\": {NAME: {\"source\", \"sha256\"}}}", path);
	}
	if (json_object_object_get_ex(o, "version", &v) && json_object_get_int(v) != 1) {
		json_object_put(o);
		return kn_error_setx(err, EINVAL, "lock file %s: unsupported version (kennel reads version 1)", path);
	}
	*root = o;
	return 0;
}

int kn_lock_lookup(const char *path, const char *name, char *sha256_hex, char **source, kn_error *err)
{
	_cleanup_json_ struct json_object *root = NULL;
	struct json_object *rootfs, *pin, *v;
	const char *hex;
	int r;

	if (access(path, F_OK) < 0)
		return kn_error_setx(err, ENOENT, "rootfs '%s': no lock file %s to look the name up in "
				     "(pin it with: kennel rootfs pull SOURCE --name %s)", name, path, name);
	r = lock_read(path, false, &root, err);
	if (r < 0)
		return r;
	json_object_object_get_ex(root, "rootfs", &rootfs);
	if (!json_object_object_get_ex(rootfs, name, &pin))
		return kn_error_setx(err, ENOENT, "rootfs '%s' is not pinned in %s "
				     "(pin it with: kennel rootfs pull SOURCE --name %s)", name, path, name);
	if (!json_object_is_type(pin, json_type_object) || !json_object_object_get_ex(pin, "sha256", &v) ||
	    !json_object_is_type(v, json_type_string))
		return kn_error_setx(err, EINVAL, "lock file %s: rootfs.%s.sha256: required", path, name);
	hex = json_object_get_string(v);
	if (!kn_is_sha256_hex(hex))
		return kn_error_setx(err, EINVAL, "lock file %s: rootfs.%s.sha256: not 64 lowercase hex digits", path, name);
	memcpy(sha256_hex, hex, KN_SHA256_HEX_LEN + 1);
	if (source) {
		*source = NULL;
		if (json_object_object_get_ex(pin, "source", &v) && json_object_is_type(v, json_type_string))
			*source = kn_xstrdup(json_object_get_string(v));
	}
	return 0;
}

static int mkdir_parents(const char *path, kn_error *err)
{
	_cleanup_free_ char *copy = kn_xstrdup(path);

	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return kn_error_set(err, errno, "create %s", copy);
		*p = '/';
	}
	return 0;
}

int kn_lock_pin(const char *path, const char *name, const char *source, const char *sha256_hex, kn_error *err)
{
	_cleanup_json_ struct json_object *root = NULL;
	_cleanup_free_ char *tmp = NULL;
	struct json_object *rootfs, *pin;
	int r;

	if (!kn_is_sha256_hex(sha256_hex))
		return kn_error_setx(err, EINVAL, "pin %s: bad digest", name);
	if (!*name || strchr(name, '/') || !strncmp(name, "sha256:", 7))
		return kn_error_setx(err, EINVAL, "rootfs name '%s': must not be empty, contain '/' or start with sha256:", name);
	r = lock_read(path, true, &root, err);
	if (r < 0)
		return r;
	if (!root) {
		root = json_object_new_object();
		json_object_object_add(root, "version", json_object_new_int(1));
		json_object_object_add(root, "rootfs", json_object_new_object());
	}
	json_object_object_get_ex(root, "rootfs", &rootfs);
	pin = json_object_new_object();
	json_object_object_add(pin, "source", json_object_new_string(source ? source : ""));
	json_object_object_add(pin, "sha256", json_object_new_string(sha256_hex));
	json_object_object_add(rootfs, name, pin);

	r = mkdir_parents(path, err);
	if (r < 0)
		return r;
	tmp = kn_xasprintf("%s.tmp.%d", path, (int) getpid());
	if (json_object_to_file_ext(tmp, root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE) < 0) {
		r = kn_error_set(err, errno ? errno : EIO, "write %s", tmp);
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = kn_error_set(err, errno, "rename %s to %s", tmp, path);
		unlink(tmp);
		return r;
	}
	return 0;
}

static int open_entry(const char *hex, char **dir, int *lock_fd, kn_error *err)
{
	_cleanup_free_ char *cache = kn_cache_dir(err);
	_cleanup_free_ char *lock = NULL, *tree = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!cache)
		return -err->code;
	tree = kn_xasprintf("%s/sha256-%s/rootfs", cache, hex);
	if (stat(tree, &st) < 0 || !S_ISDIR(st.st_mode))
		return kn_error_setx(err, ENOENT, "rootfs sha256:%s is not in the cache %s (pull it: kennel rootfs pull SOURCE --sha256 %s)",
				     hex, cache, hex);
	lock = kn_xasprintf("%s/locks/sha256-%s.lock", cache, hex);
	fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0) {
		/* a pull or rm holds it: wait for it to finish, then check again */
		if (flock(fd, LOCK_SH) < 0)
			return kn_error_set(err, errno, "lock %s", lock);
		if (stat(tree, &st) < 0)
			return kn_error_setx(err, ENOENT, "rootfs sha256:%s was removed from the cache meanwhile", hex);
	}
	*dir = steal_ptr(&tree);
	*lock_fd = steal_fd(&fd);
	return 0;
}

int kn_rootfs_resolve(const char *arg, const char *lock_path, char **dir, int *lock_fd, kn_error *err)
{
	struct stat st;
	char hex[KN_SHA256_HEX_LEN + 1];
	_cleanup_free_ char *lp = NULL;
	int r;

	*dir = NULL;
	*lock_fd = -1;
	if (!strncmp(arg, "sha256:", 7)) {
		if (!kn_is_sha256_hex(arg + 7))
			return kn_error_setx(err, EINVAL, "--rootfs %s: expected sha256: and 64 lowercase hex digits", arg);
		return open_entry(arg + 7, dir, lock_fd, err);
	}
	if (strchr(arg, '/') || stat(arg, &st) == 0) {
		*dir = kn_xstrdup(arg);
		return 0;
	}
	lp = kn_lock_path(lock_path, err);
	if (!lp)
		return -err->code;
	r = kn_lock_lookup(lp, arg, hex, NULL, err);
	if (r < 0)
		return r;
	r = open_entry(hex, dir, lock_fd, err);
	if (r < 0)
		return kn_error_wrap(err, "rootfs '%s' (pinned in %s)", arg, lp);
	return 0;
}
