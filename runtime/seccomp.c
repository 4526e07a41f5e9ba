/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp: the filter is built in the parent and only loaded in the child.
 *
 * How this works, in order:
 *   1. kn_seccomp_prepare() in the parent, before clone:
 *      - no OCI profile: point at kn_seccomp_default_insns, the default
 *        profile compiled to BPF at build time by kennel-gen-seccomp (no
 *        libseccomp work at launch);
 *      - an OCI linux.seccomp object: validate it, build a libseccomp
 *        context with kn_seccomp_ctx_new() (the same attributes as the
 *        default), add the rules, export the BPF into memory.
 *   2. kn_seccomp_apply() in the child, after no_new_privs, as late as
 *      possible before execve: one seccomp(2) call, nothing to allocate.
 *   3. kn_bpf_free() in the parent.
 *
 * OCI semantics we follow (runc's where the spec is silent):
 *   - a rule whose action equals the default action is a no-op and is
 *     skipped (libseccomp refuses such rules);
 *   - a syscall name libseccomp does not know is skipped in an ALLOW rule
 *     (not adding it leaves it to the default action) and is an error in
 *     any other rule (we could not enforce it: fail closed); a name that
 *     exists on none of the filter's architectures is skipped;
 *   - args with the same index are alternatives (separate rules), args with
 *     different indexes are ANDed: a rule with a0 in {1,2} and a1 == 5
 *     becomes (a0==1 && a1==5) || (a0==2 && a1==5);
 *   - SCMP_ACT_NOTIFY is refused: there is no agent to answer.
 * libseccomp quirk worth knowing when writing profiles: once a syscall has
 * an unconditional rule, later conditional rules for it are dropped, and an
 * unconditional rule replaces earlier conditional ones.
 */
#include "seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include <seccomp_profile.h> /* angle brackets: see seccomp_profile.h */

/* Written by kennel-gen-seccomp into the build directory (seccomp_default.c). */
extern const struct sock_filter kn_seccomp_default_insns[];
extern const size_t kn_seccomp_default_len;

#define OCI_FIELD "linux.seccomp"

/* Bounds that keep a hostile spec from making us build a huge filter. */
#define MAX_RULE_ARGS 64
#define MAX_RULE_COMBOS 1024
/* The kernel caps SECCOMP_RET_ERRNO data at MAX_ERRNO. */
#define MAX_ERRNO_RET 4095
/* Architectures the runtime spec defines: bounds the list we keep. */
#define MAX_ARCHES 32

struct oci_state {
	scmp_filter_ctx ctx;
	uint32_t default_action;
	uint32_t arches[MAX_ARCHES]; /* tokens in the filter, native first */
	size_t n_arches;
	kn_error *err;
};

/* A JSON member, with JSON null read as absent (Docker writes "args": null). */
static struct json_object *member(struct json_object *obj, const char *key)
{
	struct json_object *val = NULL;

	if (!json_object_object_get_ex(obj, key, &val))
		return NULL;
	return val;
}

static int get_string(struct json_object *obj, const char *path, const char *key, int required,
		      const char **out, kn_error *err)
{
	struct json_object *val = member(obj, key);

	*out = NULL;
	if (!val) {
		if (required)
			return kn_error_setx(err, EINVAL, "%s.%s: missing", path, key);
		return 0;
	}
	if (!json_object_is_type(val, json_type_string))
		return kn_error_setx(err, EINVAL, "%s.%s: must be a string", path, key);
	*out = json_object_get_string(val);
	return 0;
}

/* Non-negative JSON integer up to UINT64_MAX; @what names it in errors. */
static int get_u64(struct json_object *val, const char *what, uint64_t *out, kn_error *err)
{
	*out = 0;
	if (!json_object_is_type(val, json_type_int))
		return kn_error_setx(err, EINVAL, "%s: must be an integer", what);
	/* json-c keeps values above INT64_MAX as uint64 and clamps them to
	 * INT64_MAX here, so a negative int64 really was negative. */
	if (json_object_get_int64(val) < 0)
		return kn_error_setx(err, EINVAL, "%s: must not be negative", what);
	errno = 0;
	*out = json_object_get_uint64(val);
	if (errno)
		return kn_error_setx(err, EINVAL, "%s: out of range", what);
	return 0;
}

static int get_array(struct json_object *obj, const char *path, const char *key, int required,
		     struct json_object **out, kn_error *err)
{
	struct json_object *val = member(obj, key);

	*out = NULL;
	if (!val) {
		if (required)
			return kn_error_setx(err, EINVAL, "%s.%s: missing", path, key);
		return 0;
	}
	if (!json_object_is_type(val, json_type_array))
		return kn_error_setx(err, EINVAL, "%s.%s: must be an array", path, key);
	*out = val;
	return 0;
}

/*
 * Read an action and its errno/trace value (@errno_key) from @obj.  A missing
 * errno value means EPERM, as the runtime spec says; giving one to an action
 * that has none is an error, as the spec also says.
 */
static int parse_action(struct json_object *obj, const char *path, const char *action_key,
			const char *errno_key, uint32_t *out, kn_error *err)
{
	struct json_object *errno_val;
	const char *name;
	uint64_t ret = EPERM;
	uint32_t action;
	int takes_errno, r;

	r = get_string(obj, path, action_key, 1, &name, err);
	if (r < 0)
		return r;
	if (kn_seccomp_action_lookup(name, &action, &takes_errno) < 0)
		return kn_error_setx(err, EINVAL, "%s.%s: unknown action '%s'", path, action_key,
				     name);
	if (action == SCMP_ACT_NOTIFY)
		return kn_error_setx(err, EOPNOTSUPP,
				     "%s.%s: SCMP_ACT_NOTIFY is not supported: kennel has no "
				     "seccomp agent to answer notifications",
				     path, action_key);
	errno_val = member(obj, errno_key);
	if (errno_val) {
		char what[160];

		snprintf(what, sizeof(what), "%s.%s", path, errno_key);
		if (!takes_errno)
			return kn_error_setx(err, EINVAL,
					     "%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one, "
					     "not %s",
					     what, name);
		r = get_u64(errno_val, what, &ret, err);
		if (r < 0)
			return r;
		if (action == SCMP_ACT_ERRNO(0) && ret > MAX_ERRNO_RET)
			return kn_error_setx(err, ERANGE, "%s: %llu is not an errno value (0-%d)",
					     what, (unsigned long long) ret, MAX_ERRNO_RET);
		if (ret > 0xffff)
			return kn_error_setx(err, ERANGE, "%s: %llu does not fit in 16 bits", what,
					     (unsigned long long) ret);
	}
	*out = takes_errno ? action | (uint32_t) ret : action;
	return 0;
}

static int add_arches(struct oci_state *st, struct json_object *arr)
{
	size_t i, n = json_object_array_length(arr);

	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		const char *name;
		uint32_t token;
		int r;

		if (!json_object_is_type(v, json_type_string))
			return kn_error_setx(st->err, EINVAL,
					     OCI_FIELD ".architectures[%zu]: must be a string", i);
		name = json_object_get_string(v);
		if (kn_seccomp_arch_lookup(name, &token) < 0)
			return kn_error_setx(st->err, EINVAL,
					     OCI_FIELD ".architectures[%zu]: unknown architecture '%s'",
					     i, name);
		/* This libseccomp cannot filter that ABI: leaving it out
		 * means its syscalls meet the bad-arch action (kill). */
		if (token == 0)
			continue;
		r = seccomp_arch_add(st->ctx, token);
		if (r == -EEXIST)
			continue;
		if (r < 0)
			return kn_error_set(st->err, -r, OCI_FIELD ".architectures[%zu]: add %s", i,
					    name);
		if (st->n_arches < MAX_ARCHES)
			st->arches[st->n_arches++] = token;
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned int flag;
} filter_flags[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
	/* Only means something with a notify listener, which we refuse; the
	 * kernel rejects it without one, so accept it and pass nothing. */
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 0 },
};

static int parse_flags(struct json_object *arr, unsigned int *flags, kn_error *err)
{
	size_t i, j, n = json_object_array_length(arr);

	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		const char *name;

		if (!json_object_is_type(v, json_type_string))
			return kn_error_setx(err, EINVAL, OCI_FIELD ".flags[%zu]: must be a string",
					     i);
		name = json_object_get_string(v);
		for (j = 0; j < sizeof(filter_flags) / sizeof(filter_flags[0]); j++)
			if (strcmp(filter_flags[j].name, name) == 0)
				break;
		if (j == sizeof(filter_flags) / sizeof(filter_flags[0]))
			return kn_error_setx(err, EINVAL, OCI_FIELD ".flags[%zu]: unknown flag '%s'",
					     i, name);
		*flags |= filter_flags[j].flag;
	}
	return 0;
}

static int parse_arg(struct json_object *obj, const char *path, struct scmp_arg_cmp *cmp,
		     kn_error *err)
{
	struct json_object *v;
	const char *op_name;
	char what[160];
	uint64_t index = 0;
	int r;

	*cmp = (struct scmp_arg_cmp){ 0 };
	if (!json_object_is_type(obj, json_type_object))
		return kn_error_setx(err, EINVAL, "%s: must be an object", path);

	v = member(obj, "index");
	if (!v)
		return kn_error_setx(err, EINVAL, "%s.index: missing", path);
	snprintf(what, sizeof(what), "%s.index", path);
	r = get_u64(v, what, &index, err);
	if (r < 0)
		return r;
	if (index >= KN_SECCOMP_MAX_ARGS)
		return kn_error_setx(err, EINVAL, "%s: %llu is not a syscall argument (0-%d)", what,
				     (unsigned long long) index, KN_SECCOMP_MAX_ARGS - 1);
	cmp->arg = (unsigned int) index;

	v = member(obj, "value");
	if (!v)
		return kn_error_setx(err, EINVAL, "%s.value: missing", path);
	snprintf(what, sizeof(what), "%s.value", path);
	r = get_u64(v, what, &cmp->datum_a, err);
	if (r < 0)
		return r;

	v = member(obj, "valueTwo");
	if (v) {
		snprintf(what, sizeof(what), "%s.valueTwo", path);
		r = get_u64(v, what, &cmp->datum_b, err);
		if (r < 0)
			return r;
	}

	r = get_string(obj, path, "op", 1, &op_name, err);
	if (r < 0)
		return r;
	if (kn_seccomp_op_lookup(op_name, &cmp->op) < 0)
		return kn_error_setx(err, EINVAL, "%s.op: unknown operator '%s'", path, op_name);
	return 0;
}

/* Does @name exist on at least one architecture of the filter? */
static int exists_on_filter_arches(const struct oci_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->n_arches; i++)
		if (seccomp_syscall_resolve_name_arch(st->arches[i], name) >= 0)
			return 1;
	return 0;
}

/*
 * Add @action for syscall @nr once per combination of alternatives: @by_index
 * holds, per argument index, the comparisons given for it (any one may hold);
 * a combination takes one from each non-empty index (all must hold).
 */
static int add_combinations(struct oci_state *st, const char *path, const char *name, int nr,
			    uint32_t action, struct scmp_arg_cmp *const by_index[],
			    const size_t counts[])
{
	size_t pick[KN_SECCOMP_MAX_ARGS] = { 0 };
	struct scmp_arg_cmp cmps[KN_SECCOMP_MAX_ARGS];
	unsigned int i;

	for (;;) {
		unsigned int n = 0;
		int r;

		for (i = 0; i < KN_SECCOMP_MAX_ARGS; i++)
			if (counts[i])
				cmps[n++] = by_index[i][pick[i]];
		r = seccomp_rule_add_array(st->ctx, action, nr, n, cmps);
		if (r < 0)
			return kn_error_set(st->err, -r, "%s: add rule for '%s'", path, name);
		/* Next combination: an odometer over the non-empty indexes. */
		for (i = 0; i < KN_SECCOMP_MAX_ARGS; i++) {
			if (counts[i] == 0)
				continue;
			if (++pick[i] < counts[i])
				break;
			pick[i] = 0;
		}
		if (i == KN_SECCOMP_MAX_ARGS)
			return 0;
	}
}

static int compile_rule(struct oci_state *st, struct json_object *rule, size_t idx)
{
	struct scmp_arg_cmp cmps[MAX_RULE_ARGS];
	struct scmp_arg_cmp grouped[MAX_RULE_ARGS];
	struct scmp_arg_cmp *by_index[KN_SECCOMP_MAX_ARGS] = { NULL };
	size_t counts[KN_SECCOMP_MAX_ARGS] = { 0 };
	struct json_object *names, *args;
	size_t i, n_names, n_args = 0, combos = 1, at;
	uint32_t action;
	char path[64];
	int r;

	snprintf(path, sizeof(path), OCI_FIELD ".syscalls[%zu]", idx);
	if (!json_object_is_type(rule, json_type_object))
		return kn_error_setx(st->err, EINVAL, "%s: must be an object", path);

	r = get_array(rule, path, "names", 1, &names, st->err);
	if (r < 0)
		return r;
	n_names = json_object_array_length(names);
	if (n_names == 0)
		return kn_error_setx(st->err, EINVAL, "%s.names: must not be empty", path);
	for (i = 0; i < n_names; i++)
		if (!json_object_is_type(json_object_array_get_idx(names, i), json_type_string))
			return kn_error_setx(st->err, EINVAL, "%s.names[%zu]: must be a string",
					     path, i);

	r = parse_action(rule, path, "action", "errnoRet", &action, st->err);
	if (r < 0)
		return r;

	r = get_array(rule, path, "args", 0, &args, st->err);
	if (r < 0)
		return r;
	if (args) {
		n_args = json_object_array_length(args);
		if (n_args > MAX_RULE_ARGS)
			return kn_error_setx(st->err, E2BIG, "%s.args: %zu conditions, at most %d",
					     path, n_args, MAX_RULE_ARGS);
	}
	for (i = 0; i < n_args; i++) {
		char arg_path[96];

		snprintf(arg_path, sizeof(arg_path), "%s.args[%zu]", path, i);
		r = parse_arg(json_object_array_get_idx(args, i), arg_path, &cmps[i], st->err);
		if (r < 0)
			return r;
		counts[cmps[i].arg]++;
	}
	/* Group by index, keeping the spec's order within an index. */
	for (i = 0, at = 0; i < KN_SECCOMP_MAX_ARGS; i++) {
		size_t j;

		if (counts[i] == 0)
			continue;
		by_index[i] = &grouped[at];
		for (j = 0; j < n_args; j++)
			if (cmps[j].arg == i)
				grouped[at++] = cmps[j];
		combos *= counts[i];
		if (combos > MAX_RULE_COMBOS)
			return kn_error_setx(st->err, E2BIG,
					     "%s.args: more than %d combinations of alternatives",
					     path, MAX_RULE_COMBOS);
	}

	if (action == st->default_action)
		return 0;

	for (i = 0; i < n_names; i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		int nr = seccomp_syscall_resolve_name(name);

		if (nr == __NR_SCMP_ERROR) {
			const struct scmp_version *v;

			if (action == SCMP_ACT_ALLOW)
				continue;
			v = seccomp_version();
			return kn_error_setx(st->err, EINVAL,
					     "%s.names[%zu]: syscall '%s' is unknown to libseccomp "
					     "%u.%u.%u, so its %s rule cannot be enforced",
					     path, i, name, v->major, v->minor, v->micro,
					     kn_seccomp_action_name(action));
		}
		if (!exists_on_filter_arches(st, name))
			continue;
		r = add_combinations(st, path, name, nr, action, by_index, counts);
		if (r < 0)
			return r;
	}
	return 0;
}

static int compile_oci(struct json_object *spec, kn_bpf *out, kn_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	struct oci_state st = { .err = err };
	struct json_object *arr;
	unsigned int flags = 0;
	size_t i, n;
	int r;

	if (!json_object_is_type(spec, json_type_object))
		return kn_error_setx(err, EINVAL, OCI_FIELD ": must be an object");
	r = parse_action(spec, OCI_FIELD, "defaultAction", "defaultErrnoRet", &st.default_action,
			 err);
	if (r < 0)
		return r;
	r = kn_seccomp_ctx_new(st.default_action, &ctx, err);
	if (r < 0)
		return r;
	st.ctx = ctx;
	st.arches[st.n_arches++] = seccomp_arch_native();

	r = get_array(spec, OCI_FIELD, "architectures", 0, &arr, err);
	if (r < 0)
		return r;
	if (arr) {
		r = add_arches(&st, arr);
		if (r < 0)
			return r;
	}

	r = get_array(spec, OCI_FIELD, "flags", 0, &arr, err);
	if (r < 0)
		return r;
	if (arr) {
		r = parse_flags(arr, &flags, err);
		if (r < 0)
			return r;
	}

	r = get_array(spec, OCI_FIELD, "syscalls", 0, &arr, err);
	if (r < 0)
		return r;
	n = arr ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		r = compile_rule(&st, json_object_array_get_idx(arr, i), i);
		if (r < 0)
			return r;
	}

	r = kn_seccomp_export(ctx, &out->insns, &out->len, err);
	if (r < 0)
		return r;
	out->is_static = 0;
	out->flags = flags;
	return 0;
}

int kn_seccomp_prepare(struct json_object *oci_seccomp, kn_bpf *out, kn_error *err)
{
	*out = (kn_bpf){ 0 };
	if (oci_seccomp)
		return compile_oci(oci_seccomp, out, err);
	if (kn_seccomp_default_len == 0)
		return kn_error_setx(err, EIO,
				     "seccomp: the built-in default filter is empty: the build is "
				     "broken, rebuild kennel");
	/* Never written through: is_static keeps kn_bpf_free() away from it. */
	out->insns = (struct sock_filter *) kn_seccomp_default_insns;
	out->len = kn_seccomp_default_len;
	out->is_static = 1;
	return 0;
}

int kn_seccomp_apply(const kn_bpf *prog, kn_error *err)
{
	struct sock_fprog fprog;
	long r;

	if (!prog || !prog->insns || prog->len == 0 || prog->len > BPF_MAXINSNS)
		return kn_error_setx(err, EINVAL,
				     "seccomp: refusing to load a filter of %zu instructions",
				     prog ? prog->len : 0);
	fprog.len = (unsigned short) prog->len;
	fprog.filter = prog->insns;
	/* seccomp(2) rather than prctl(PR_SET_SECCOMP): only it takes flags. */
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, prog->flags, &fprog);
	if (r < 0) {
		int e = errno;

		if (e == EACCES)
			return kn_error_set(err, e,
					    "seccomp: load filter: set no_new_privs before loading");
		if (e == EINVAL && prog->flags)
			return kn_error_set(err, e,
					    "seccomp: load filter with flags 0x%x: the kernel "
					    "refuses one of them",
					    prog->flags);
		return kn_error_set(err, e, "seccomp: load filter");
	}
	if (r > 0)
		return kn_error_setx(err, EBUSY,
				     "seccomp: load filter: thread %ld cannot take it (TSYNC)", r);
	return 0;
}

void kn_bpf_free(kn_bpf *prog)
{
	if (!prog)
		return;
	if (!prog->is_static)
		free(prog->insns);
	*prog = (kn_bpf){ 0 };
}

struct json_object *kn_seccomp_default_json(void)
{
	return kn_seccomp_profile_json();
}
