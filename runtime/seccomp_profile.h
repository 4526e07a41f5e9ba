/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_SECCOMP_PROFILE_H
#define KENNEL_SECCOMP_PROFILE_H

/*
 * kennel's default seccomp profile as data, and the libseccomp plumbing shared
 * by the build-time generator (gen-seccomp.c) and the OCI compiler
 * (seccomp.c).  Both paths create their context with kn_seccomp_ctx_new(), so
 * the same rules added in the same order give byte-identical BPF.
 */

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

/*
 * libseccomp's header is also named seccomp.h, and runtime/ (holding
 * kennel's seccomp.h) is on the include path, so <seccomp.h> finds ours.
 * #include_next resumes the search after the directory this header was found
 * in; it is a GNU extension that -Wpedantic rejects and GCC 12 cannot silence
 * by pragma, hence system_header for the rest of this (declarations-only)
 * header.  It only works when this header was itself found through the
 * include path: include it as <seccomp_profile.h>, never "seccomp_profile.h"
 * from a file in runtime/.  Renaming runtime/seccomp.h would end all this.
 */
#pragma GCC system_header
#include_next <seccomp.h>
/* (Not for cppcheck, whose preprocessor does not follow #include_next.) */
#if !defined(SCMP_VER_MAJOR) && defined(__GNUC__)
#error "libseccomp's seccomp.h was not found: include this file as <seccomp_profile.h>"
#endif

static inline void kn_seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

#define _cleanup_seccomp_ __attribute__((cleanup(kn_seccomp_releasep)))

/* The kernel passes six syscall arguments; OCI's args[].index is 0..5. */
#define KN_SECCOMP_MAX_ARGS 6

/*
 * One rule of the default profile: @action when every comparison holds
 * (comparisons are on distinct argument indexes, ANDed).  Comparisons use
 * libseccomp's layout: datum_a is OCI's "value" (the mask for MASKED_EQ),
 * datum_b is OCI's "valueTwo".
 */
typedef struct kn_seccomp_rule {
	const char *name;
	uint32_t action;
	unsigned int n_cmps;
	struct scmp_arg_cmp cmps[KN_SECCOMP_MAX_ARGS];
} kn_seccomp_rule;

/* Called once per rule by kn_seccomp_profile_foreach(); non-zero stops. */
typedef int (*kn_seccomp_rule_fn)(const kn_seccomp_rule *rule, void *data);

/*
 * kn_seccomp_profile_foreach() - walk the default profile's rules in their
 * canonical order: the unconditional allowlist, then the argument-filtered
 * rules (clone, personality, ioctl, socket), then clone3 -> ENOSYS.
 * Return: 0 after the last rule, or the first non-zero value @fn returned.
 */
int kn_seccomp_profile_foreach(kn_seccomp_rule_fn fn, void *data);

/*
 * kn_seccomp_profile_allowlist() - the names the default profile allows
 * without conditions; *@count receives their number.
 * Return: a static array (never NULL).
 */
const char *const *kn_seccomp_profile_allowlist(size_t *count);

/*
 * kn_seccomp_ctx_new() - a libseccomp context with kennel's fixed attributes:
 * only the native architecture, bad-arch action KILL_PROCESS, binary-tree
 * syscall dispatch.  Both the default profile and OCI profiles go through it.
 * Return: 0 and *@out set (release with seccomp_release()), or -errno with
 * @err set (e.g. the kernel lacks an action).
 */
int kn_seccomp_ctx_new(uint32_t default_action, scmp_filter_ctx *out, kn_error *err);

/*
 * kn_seccomp_profile_build() - a context holding kennel's default profile.
 * Return: 0 and *@out set, or -errno with @err set (a table name libseccomp
 * does not know at all is an error: it means a typo in the table).
 */
int kn_seccomp_profile_build(scmp_filter_ctx *out, kn_error *err);

/*
 * kn_seccomp_profile_json() - the default profile as an OCI linux.seccomp
 * object (defaultAction, defaultErrnoRet, architectures, syscalls).
 * Return: a new reference, or NULL on allocation failure.
 */
struct json_object *kn_seccomp_profile_json(void);

/*
 * kn_seccomp_export() - compile @ctx to classic BPF in memory (libseccomp
 * 2.5 can only export to an fd, so through a memfd).
 * Return: 0 with *@insns (malloc'd, caller frees) and *@len (> 0, at most
 * BPF_MAXINSNS) set, or -errno with @err set.
 */
int kn_seccomp_export(scmp_filter_ctx ctx, struct sock_filter **insns, size_t *len,
		      kn_error *err);

/*
 * kn_seccomp_action_name() - OCI name of a libseccomp action, ignoring the
 * errno/trace data in its low 16 bits.
 * Return: a static string, or NULL for an action OCI cannot name.
 */
const char *kn_seccomp_action_name(uint32_t action);

/*
 * kn_seccomp_action_lookup() - parse an OCI action name.
 * Return: 0 with *@action (data bits clear) and *@takes_errno set, -ENOENT
 * for an unknown name.  SCMP_ACT_NOTIFY is known (so callers can refuse it
 * by name) and maps to SCMP_ACT_NOTIFY.
 */
int kn_seccomp_action_lookup(const char *name, uint32_t *action, int *takes_errno);

/*
 * kn_seccomp_op_name() / kn_seccomp_op_lookup() - OCI names of comparison
 * operators ("SCMP_CMP_MASKED_EQ").
 * Return: a static string or NULL; 0 with *@op set, or -ENOENT.
 */
const char *kn_seccomp_op_name(enum scmp_compare op);
int kn_seccomp_op_lookup(const char *name, enum scmp_compare *op);

/*
 * kn_seccomp_arch_lookup() - map a runtime-spec architecture name
 * ("SCMP_ARCH_AARCH64") to a libseccomp token.
 * Return: 0 with *@token set (0 when this libseccomp cannot build filters for
 * it), or -ENOENT when the name is not one the runtime spec defines.
 */
int kn_seccomp_arch_lookup(const char *name, uint32_t *token);

/*
 * kn_seccomp_arch_name() - runtime-spec name of a libseccomp arch token.
 * Return: a static string, or NULL when unknown.
 */
const char *kn_seccomp_arch_name(uint32_t token);

#endif
