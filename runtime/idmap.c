/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "idmap.h"

#include <errno.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

extern char **environ;

static bool range_has_zero(const kn_idmap *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].host_id == 0)
			return true;
	return false;
}

static bool covers(const kn_idmap *m, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].container_id && id - m[i].container_id < m[i].size)
			return true;
	return false;
}

bool kn_idmap_subid_has_range(const char *file, const char *name, uid_t uid)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	char line[512];
	char uidstr[32];

	if (!f)
		return false;
	snprintf(uidstr, sizeof(uidstr), "%u", (unsigned) uid);
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		*colon = '\0';
		if ((name && strcmp(line, name) == 0) || strcmp(line, uidstr) == 0)
			return true;
	}
	return false;
}

static int find_helper(const char *name, char **out)
{
	static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin", "/sbin", NULL };

	for (size_t i = 0; dirs[i]; i++) {
		char *p = kn_xasprintf("%s/%s", dirs[i], name);

		if (access(p, X_OK) == 0) {
			*out = p;
			return 0;
		}
		free(p);
	}
	return -ENOENT;
}

int kn_idmap_plan_make(const kn_spec *spec, uid_t host_uid, gid_t host_gid,
		       kn_idmap_plan *plan, kn_error *err)
{
	bool root = geteuid() == 0;

	memset(plan, 0, sizeof(*plan));
	if (spec->n_uid_mappings == 0) {
		if (host_uid == 0 || host_gid == 0)
			return kn_error_setx(err, EPERM,
					     "refusing to map the sandbox user to host root: pass --host-uid and --host-gid with an unprivileged id");
		plan->uid[0] = (kn_idmap) { spec->uid, (uint32_t) host_uid, 1 };
		plan->gid[0] = (kn_idmap) { spec->gid, (uint32_t) host_gid, 1 };
		plan->n_uid = plan->n_gid = 1;
		/* An unprivileged writer must give up setgroups(2) to write gid_map. */
		plan->deny_setgroups = !root;
		return 0;
	}

	if (spec->n_uid_mappings > 16 || spec->n_gid_mappings > 16)
		return kn_error_setx(err, E2BIG, "linux.uidMappings/gidMappings: at most 16 entries");
	if (range_has_zero(spec->uid_mappings, spec->n_uid_mappings) ||
	    range_has_zero(spec->gid_mappings, spec->n_gid_mappings))
		return kn_error_setx(err, EPERM,
				     "linux.uidMappings/gidMappings: refusing to map a container id to host root (hostID 0)");
	if (!covers(spec->uid_mappings, spec->n_uid_mappings, spec->uid))
		return kn_error_setx(err, EINVAL, "process.user.uid %u is not mapped by linux.uidMappings", spec->uid);
	if (!covers(spec->gid_mappings, spec->n_gid_mappings, spec->gid))
		return kn_error_setx(err, EINVAL, "process.user.gid %u is not mapped by linux.gidMappings", spec->gid);
	memcpy(plan->uid, spec->uid_mappings, spec->n_uid_mappings * sizeof(kn_idmap));
	memcpy(plan->gid, spec->gid_mappings, spec->n_gid_mappings * sizeof(kn_idmap));
	plan->n_uid = spec->n_uid_mappings;
	plan->n_gid = spec->n_gid_mappings;
	if (root)
		return 0;

	if (plan->n_uid == 1 && plan->uid[0].size == 1 && plan->uid[0].host_id == geteuid() &&
	    plan->n_gid == 1 && plan->gid[0].size == 1 && plan->gid[0].host_id == getegid()) {
		plan->deny_setgroups = true;
		return 0;
	}

	/* Ranges: only the setuid helpers may write them for us. */
	{
		_cleanup_free_ char *nu = NULL, *ng = NULL;
		struct passwd *pw = getpwuid(geteuid());
		const char *name = pw ? pw->pw_name : NULL;

		if (find_helper("newuidmap", &nu) < 0 || find_helper("newgidmap", &ng) < 0)
			return kn_error_setx(err, ENOENT,
					     "the spec maps ranges of ids, which needs newuidmap and newgidmap: install them (apt-get install uidmap)");
		if (!kn_idmap_subid_has_range("/etc/subuid", name, geteuid()))
			return kn_error_setx(err, EPERM,
					     "no subordinate uid range for %s in /etc/subuid: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s",
					     name ? name : "this user", name ? name : "USER");
		if (!kn_idmap_subid_has_range("/etc/subgid", name, geteuid()))
			return kn_error_setx(err, EPERM,
					     "no subordinate gid range for %s in /etc/subgid: sudo usermod --add-subgids 100000-165535 %s",
					     name ? name : "this user", name ? name : "USER");
	}
	plan->use_helpers = true;
	return 0;
}

static int format_map(const kn_idmap *m, size_t n, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, cap - off, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);

		if (w < 0 || (size_t) w >= cap - off)
			return -E2BIG;
		off += (size_t) w;
	}
	return (int) off;
}

static int run_helper(const char *helper, pid_t pid, const kn_idmap *m, size_t n, kn_error *err)
{
	_cleanup_free_ char *path = NULL;
	char *argv[2 + 3 * 16 + 1];
	char nums[3 * 16 + 1][16];
	size_t k = 0;
	pid_t child;
	int status, r;

	if (find_helper(helper, &path) < 0)
		return kn_error_setx(err, ENOENT, "%s not found: install it (apt-get install uidmap)", helper);
	argv[k++] = path;
	snprintf(nums[0], sizeof(nums[0]), "%d", (int) pid);
	argv[k++] = nums[0];
	for (size_t i = 0; i < n; i++) {
		snprintf(nums[1 + 3 * i], 16, "%u", m[i].container_id);
		snprintf(nums[2 + 3 * i], 16, "%u", m[i].host_id);
		snprintf(nums[3 + 3 * i], 16, "%u", m[i].size);
		argv[k++] = nums[1 + 3 * i];
		argv[k++] = nums[2 + 3 * i];
		argv[k++] = nums[3 + 3 * i];
	}
	argv[k] = NULL;
	r = posix_spawn(&child, path, NULL, NULL, argv, environ);
	if (r != 0)
		return kn_error_set(err, r, "run %s", path);
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			return kn_error_set(err, errno, "wait for %s", helper);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return kn_error_setx(err, EPERM,
				     "%s refused the mapping (its message is above): the ranges must lie within your /etc/sub%cid entries",
				     helper, helper[3] == 'u' ? 'u' : 'g');
	return 0;
}

int kn_idmap_write(pid_t pid, const kn_idmap_plan *plan, kn_error *err)
{
	char path[64];
	char buf[16 * 40];
	int len, r;

	if (plan->use_helpers) {
		r = run_helper("newuidmap", pid, plan->uid, plan->n_uid, err);
		if (r < 0)
			return r;
		return run_helper("newgidmap", pid, plan->gid, plan->n_gid, err);
	}
	if (plan->deny_setgroups) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int) pid);
		r = kn_write_file(path, "deny", 4, err);
		if (r < 0)
			return r;
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int) pid);
	len = format_map(plan->uid, plan->n_uid, buf, sizeof(buf));
	if (len < 0)
		return kn_error_setx(err, E2BIG, "uid map too long");
	r = kn_write_file(path, buf, (size_t) len, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int) pid);
	len = format_map(plan->gid, plan->n_gid, buf, sizeof(buf));
	if (len < 0)
		return kn_error_setx(err, E2BIG, "gid map too long");
	return kn_write_file(path, buf, (size_t) len, err);
}
