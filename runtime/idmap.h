/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_IDMAP_H
#define KENNEL_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/*
 * How the sandbox's user namespace is mapped.  Two ways to write it:
 * directly (one mapping of the caller's own ids, or anything when root),
 * or through the setuid newuidmap/newgidmap helpers, which check the
 * caller's /etc/subuid and /etc/subgid ranges.
 */
typedef struct kn_idmap_plan {
	kn_idmap uid[16];
	size_t n_uid;
	kn_idmap gid[16];
	size_t n_gid;
	bool use_helpers;    /* newuidmap/newgidmap */
	bool deny_setgroups; /* write "deny" to /proc/PID/setgroups first */
} kn_idmap_plan;

/*
 * kn_idmap_plan_make() - decide the mapping for @spec.  Without mappings in
 * the spec, the process uid/gid map to @host_uid/@host_gid (one id each).
 * Never maps any id to host root (uid or gid 0): refused with an error.
 * Rootless callers get the helpers when the spec asks for more than their
 * own single id; missing helpers or subordinate ranges give an error that
 * says how to fix them.
 * Return: 0 or -errno with @err set.
 */
int kn_idmap_plan_make(const kn_spec *spec, uid_t host_uid, gid_t host_gid,
		       kn_idmap_plan *plan, kn_error *err);

/*
 * kn_idmap_write() - apply @plan to process @pid (a child that waits in
 * its new user namespace).
 * Return: 0 or -errno with @err set.
 */
int kn_idmap_write(pid_t pid, const kn_idmap_plan *plan, kn_error *err);

/*
 * kn_idmap_subid_has_range() - does /etc/subuid (@file) hold a range for
 * user @name or uid @uid?  Used for the error hint.
 * Return: true when a line names the user.
 */
bool kn_idmap_subid_has_range(const char *file, const char *name, uid_t uid);

#endif
