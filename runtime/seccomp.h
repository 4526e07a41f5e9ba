/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_SECCOMP_H
#define KENNEL_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>

#include <json-c/json.h>

#include "error.h"

/*
 * A ready-to-load classic BPF program.  Built in the parent before clone (so
 * the child only loads it) either from the OCI spec's linux.seccomp object or
 * from kennel's default profile, which is compiled at build time.
 */
typedef struct kn_bpf {
	struct sock_filter *insns; /* owned unless is_static */
	size_t len;                /* number of instructions */
	int is_static;             /* points at the built-in default program */
	unsigned int flags;        /* SECCOMP_FILTER_FLAG_* passed to seccomp(2) */
} kn_bpf;

/*
 * kn_seccomp_prepare() - build the filter to apply.
 * @oci_seccomp: the spec's "linux.seccomp" object, or NULL for kennel's
 *               default profile (the precompiled program; no libseccomp work).
 * Return: 0 and *out filled, or -errno with @err set (unknown action, unknown
 * architecture, malformed rule...).  Fails closed: never returns an empty
 * program on success.
 */
int kn_seccomp_prepare(struct json_object *oci_seccomp, kn_bpf *out, kn_error *err);

/*
 * kn_seccomp_apply() - load @prog into the calling thread with
 * SECCOMP_SET_MODE_FILTER and @prog->flags (from the OCI "flags" list; TSYNC
 * is not needed by the single-threaded child but harmless when asked for).
 * The caller has set no_new_privs before.
 * Return: 0 or -errno with @err set.
 */
int kn_seccomp_apply(const kn_bpf *prog, kn_error *err);

/* kn_bpf_free() - release a program from kn_seccomp_prepare(); NULL-safe. */
void kn_bpf_free(kn_bpf *prog);

/*
 * kn_seccomp_default_json() - kennel's default profile as an OCI
 * linux.seccomp object (what `kennel-oci spec` prints).  Compiling it with
 * kn_seccomp_prepare() yields a filter with the same behaviour as the
 * built-in program.
 * Return: a new reference, or NULL on allocation failure.
 */
struct json_object *kn_seccomp_default_json(void);

#endif
