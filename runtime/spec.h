/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_SPEC_H
#define KENNEL_SPEC_H

/*
 * The OCI runtime spec (config.json) as kennel uses it.  Both ways in end
 * here: `kennel sandbox` builds a kn_spec from its options, `kennel-oci`
 * parses one from a bundle, and the launcher only ever sees a kn_spec.
 *
 * What kennel enforces whatever the spec says (stricter than runc):
 * user, mount, pid, ipc, uts, net and cgroup namespaces always; root
 * read-only; no capabilities; no_new_privs; the default masked and
 * read-only paths in addition to the spec's; a seccomp filter (the
 * spec's own, or kennel's default when it has none).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

typedef struct kn_mount {
	char *destination;
	char *type;     /* "bind", "proc", "tmpfs", "devpts", "sysfs", "mqueue", ... */
	char *source;
	char **options; /* NULL-terminated, may be NULL */
} kn_mount;

typedef struct kn_idmap {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
} kn_idmap;

typedef struct kn_rlimit {
	int resource;
	uint64_t soft;
	uint64_t hard;
} kn_rlimit;

typedef struct kn_sysctl {
	char *key;
	char *value;
} kn_sysctl;

typedef struct kn_spec {
	char *root_path;            /* absolute after kn_spec_resolve_root() */
	char **args;
	char **env;
	char *cwd;
	uint32_t uid;
	uint32_t gid;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	bool terminal;
	kn_rlimit *rlimits;
	size_t n_rlimits;
	char *hostname;
	kn_mount *mounts;
	size_t n_mounts;
	kn_idmap *uid_mappings;     /* empty: the launcher maps process uid -> invoking user */
	size_t n_uid_mappings;
	kn_idmap *gid_mappings;
	size_t n_gid_mappings;
	char **masked_paths;
	char **readonly_paths;
	kn_sysctl *sysctls;
	size_t n_sysctls;
	struct json_object *seccomp; /* linux.seccomp (owned ref) or NULL: kennel's default */
	struct json_object *annotations; /* owned ref or NULL */
} kn_spec;

/* The paths every kennel sandbox masks and makes read-only (runc + Docker). */
extern const char *const kn_default_masked_paths[];
extern const char *const kn_default_readonly_paths[];

/*
 * kn_spec_new_default() - kennel's hardened default spec: args ["sh"],
 * root "rootfs", uid/gid 1000, cwd "/", hostname "kennel", the default
 * mounts (/proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /tmp, /run,
 * /home/claude; no /sys), masked and read-only paths, RLIMIT_NOFILE and
 * RLIMIT_CORE, a clean environment.  @tmpfs_size sizes /tmp, /run and
 * /home/claude (bytes).  Never fails (allocation aborts).
 */
kn_spec *kn_spec_new_default(uint64_t tmpfs_size);

/* kn_spec_free() - release a spec; NULL-safe. */
void kn_spec_free(kn_spec *spec);

/*
 * kn_spec_add_mount() - append a mount; @options is a comma-separated
 * list or NULL.  Copies everything.
 */
void kn_spec_add_mount(kn_spec *spec, const char *dest, const char *type,
		       const char *source, const char *options);

/*
 * kn_spec_parse() - parse an OCI config.json text.  Unknown fields are
 * ignored as the spec requires; fields kennel cannot honour safely are
 * refused (joining existing namespaces, extra devices) so nothing is
 * half-enforced.  Warnings (ignored capabilities...) go to @warn_cb when
 * not NULL.
 * Return: 0 and *out, or -errno with @err naming the field.
 */
int kn_spec_parse(const char *json_text, kn_spec **out,
		  void (*warn_cb)(const char *msg), kn_error *err);

/*
 * kn_spec_load() - read and parse BUNDLE/config.json, then resolve
 * root.path against the bundle.
 * Return: 0 and *out, or -errno with @err set ("config.json: ...").
 */
int kn_spec_load(const char *bundle, kn_spec **out,
		 void (*warn_cb)(const char *msg), kn_error *err);

/*
 * kn_spec_to_json() - render @spec as an OCI config.json object.  With
 * @rootless the mounts are the ones that work without privileges
 * (the same list: kennel's defaults need none).
 * Return: a new json object (caller puts it).
 */
struct json_object *kn_spec_to_json(const kn_spec *spec);

/*
 * kn_spec_validate() - check what the launcher relies on: absolute
 * destinations without "..", non-empty args, absolute cwd, mapped ids.
 * Return: 0 or -EINVAL with @err set.
 */
int kn_spec_validate(const kn_spec *spec, kn_error *err);

#endif
