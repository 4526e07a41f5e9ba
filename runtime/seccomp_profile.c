/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kennel's default seccomp profile, as data, and what turns it into a
 * libseccomp context, OCI JSON and BPF.
 *
 * Where the rules come from: moby/moby profiles/seccomp/default.json (read at
 * commit 00f3d189e420d485e42d15fe494f96d272284e0e): the syscalls it allows
 * unconditionally plus its x86_64-only entries (arch_prctl, modify_ldt),
 * keeping the names that exist on x86_64 (its 32-bit-only names such as
 * chown32 or _llseek cannot be called on a native-only filter).  Nothing
 * Docker gates on a capability is here: the sandbox holds none.  kennel is
 * then stricter than Docker:
 *   - ioctl, io_uring_setup/enter/register, name_to_handle_at, ptrace and
 *     process_vm_readv/writev leave the unconditional list (io_uring runs
 *     work the filter never sees; current Docker dropped it too; the ptrace
 *     family lets the agent read other sandboxed processes' memory);
 *   - ioctl is allowed unless the low 32 bits of the request are TIOCSTI or
 *     TIOCLINUX (both push keystrokes into a terminal the sandbox may share
 *     with the user; the kernel reads the request as an unsigned int, so the
 *     high bits must not let `TIOCSTI | 1UL << 32` through);
 *   - socket is allowed unless the low 32 bits of the family are AF_PACKET,
 *     AF_ALG or AF_VSOCK (Docker refuses only AF_VSOCK, and compares all 64
 *     bits, which `AF_VSOCK | 1UL << 32` gets past: the kernel takes an int);
 *   - clone is allowed only without namespace flags (Docker's masked test,
 *     plus CLONE_NEWTIME), clone3 fails with ENOSYS so glibc falls back to
 *     clone, whose flags a filter can read.
 * Everything else (unshare, setns, the mount API, keyctl, bpf,
 * perf_event_open, userfaultfd, kexec, modules, reboot, ...) gets the
 * default action, EPERM.
 *
 * Neither libseccomp nor OCI has a "masked not-equal", so "allowed unless the
 * low 32 bits are one of V" is written as the complement: disjoint
 * MASKED_EQ prefixes covering every other 32-bit value (34 rules for ioctl,
 * 38 for socket; the high 32 bits are masked out, as the kernel ignores
 * them).  Disjoint rules give the same answer whatever order a runtime
 * evaluates them in, so the OCI rendering means the same to runc or crun.
 * (An unconditional ALLOW next to conditional ERRNO rules would not work:
 * libseccomp lets an unconditional rule replace a syscall's conditional ones.)
 */
#include <seccomp_profile.h> /* angle brackets: see seccomp_profile.h */

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Docker's list, x86_64 names, minus what kennel refuses (see above). */
static const char *const default_allow[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk",
	"capget", "capset", "chdir", "chmod", "chown", "clock_adjtime", "clock_getres",
	"clock_gettime", "clock_nanosleep", "close", "close_range", "connect",
	"copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
	"faccessat", "faccessat2", "fadvise64", "fallocate", "fanotify_mark", "fchdir",
	"fchmod", "fchmodat", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr",
	"flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstatfs",
	"fsync", "ftruncate", "futex", "futex_waitv", "futimesat", "get_robust_list",
	"get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid",
	"getgid", "getgroups", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
	"getppid", "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit",
	"getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid",
	"getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
	"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
	"ioprio_get", "ioprio_set", "kill", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self", "lchown", "lgetxattr", "link", "linkat", "listen",
	"listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise",
	"membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
	"mknodat", "mlock", "mlock2", "mlockall", "mmap", "modify_ldt", "mprotect",
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend",
	"mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
	"munlockall", "munmap", "nanosleep", "newfstatat", "open", "openat", "openat2",
	"pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
	"pkey_mprotect", "poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
	"process_mrelease", "pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
	"readlink", "readlinkat", "readv", "recvfrom", "recvmmsg", "recvmsg",
	"remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
	"restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
	"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min",
	"sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
	"sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam",
	"sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
	"semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto", "set_robust_list",
	"set_thread_area", "set_tid_address", "setfsgid", "setfsuid", "setgid", "setgroups",
	"setitimer", "setpgid", "setpriority", "setregid", "setresgid", "setresuid",
	"setreuid", "setrlimit", "setsid", "setsockopt", "setuid", "setxattr", "shmat",
	"shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
	"socketpair", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
	"timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create",
	"timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask", "uname",
	"unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork", "vmsplice", "wait4",
	"waitid", "write", "writev",
};

/*
 * Namespace flags clone(2) must not carry.  CLONE_NEWTIME (0x80) lies inside
 * CSIGNAL, the exit-signal byte of clone(2)'s flags, so clone(2) cannot
 * actually ask for it; keeping it in the mask only refuses exit signals of
 * 128 and up, which do not exist, and says what we mean.  On x86_64 the flags
 * are clone's first argument (s390 swaps the first two).
 */
#define CLONE_NS_FLAGS                                                                  \
	((uint64_t) (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |          \
		     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME))

#define CMP1(idx, op_, a, b) { { .arg = (idx), .op = (op_), .datum_a = (a), .datum_b = (b) } }

/* Rules with argument tests, in the order they are added after the allowlist. */
static const kn_seccomp_rule default_filtered[] = {
	{ "clone", SCMP_ACT_ALLOW, 1, CMP1(0, SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0) },
	/* Docker's personality values: PER_LINUX, PER_LINUX32, UNAME26,
	 * UNAME26|PER_LINUX32 and 0xffffffff (query only). */
	{ "personality", SCMP_ACT_ALLOW, 1, CMP1(0, SCMP_CMP_EQ, 0x0, 0) },
	{ "personality", SCMP_ACT_ALLOW, 1, CMP1(0, SCMP_CMP_EQ, 0x8, 0) },
	{ "personality", SCMP_ACT_ALLOW, 1, CMP1(0, SCMP_CMP_EQ, 0x20000, 0) },
	{ "personality", SCMP_ACT_ALLOW, 1, CMP1(0, SCMP_CMP_EQ, 0x20008, 0) },
	{ "personality", SCMP_ACT_ALLOW, 1, CMP1(0, SCMP_CMP_EQ, 0xffffffff, 0) },
};

/* "Allow @name unless the low 32 bits of argument @arg are one of @refused." */
struct allow_except {
	const char *name;
	unsigned int arg;
	const uint32_t *refused;
	size_t n_refused;
};

static const uint32_t ioctl_refused[] = { TIOCSTI, TIOCLINUX };
static const uint32_t socket_refused[] = { AF_PACKET, AF_ALG, AF_VSOCK };

static const struct allow_except default_except[] = {
	{ "ioctl", 1, ioctl_refused, ARRAY_SIZE(ioctl_refused) },
	{ "socket", 0, socket_refused, ARRAY_SIZE(socket_refused) },
};

/*
 * clone3 takes its flags in a struct the filter cannot read: answer ENOSYS,
 * as Docker does without CAP_SYS_ADMIN, so glibc (2.34+) retries with clone.
 */
static const kn_seccomp_rule default_clone3 = { "clone3", SCMP_ACT_ERRNO(ENOSYS), 0, { { 0 } } };

const char *const *kn_seccomp_profile_allowlist(size_t *count)
{
	if (count)
		*count = ARRAY_SIZE(default_allow);
	return default_allow;
}

/*
 * Emit ALLOW rules covering every 32-bit value v with (v & mask) == value
 * except the refused ones: a region holding no refused value becomes one
 * MASKED_EQ rule, any other region is split on its next bit (@bit, counting
 * down; -1 once all 32 bits are fixed, i.e. the region is a refused value).
 */
static int emit_complement(const struct allow_except *ex, uint32_t mask, uint32_t value, int bit,
			   kn_seccomp_rule_fn fn, void *data)
{
	size_t i, hits = 0;
	uint32_t next;
	int r;

	for (i = 0; i < ex->n_refused; i++)
		if ((ex->refused[i] & mask) == value)
			hits++;
	if (hits == 0) {
		const kn_seccomp_rule rule = {
			ex->name, SCMP_ACT_ALLOW, 1, CMP1(ex->arg, SCMP_CMP_MASKED_EQ, mask, value),
		};
		return fn(&rule, data);
	}
	if (bit < 0)
		return 0;
	next = mask | (UINT32_C(1) << bit);
	r = emit_complement(ex, next, value, bit - 1, fn, data);
	if (r)
		return r;
	return emit_complement(ex, next, value | (UINT32_C(1) << bit), bit - 1, fn, data);
}

static int profile_foreach(kn_seccomp_rule_fn fn, void *data, int with_allowlist)
{
	size_t i;
	int r;

	for (i = 0; with_allowlist && i < ARRAY_SIZE(default_allow); i++) {
		const kn_seccomp_rule rule = { default_allow[i], SCMP_ACT_ALLOW, 0, { { 0 } } };

		r = fn(&rule, data);
		if (r)
			return r;
	}
	for (i = 0; i < ARRAY_SIZE(default_filtered); i++) {
		r = fn(&default_filtered[i], data);
		if (r)
			return r;
	}
	for (i = 0; i < ARRAY_SIZE(default_except); i++) {
		r = emit_complement(&default_except[i], 0, 0, 31, fn, data);
		if (r)
			return r;
	}
	return fn(&default_clone3, data);
}

int kn_seccomp_profile_foreach(kn_seccomp_rule_fn fn, void *data)
{
	return profile_foreach(fn, data, 1);
}

/* ---- libseccomp context ------------------------------------------------- */

int kn_seccomp_ctx_new(uint32_t default_action, scmp_filter_ctx *out, kn_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	const char *name = kn_seccomp_action_name(default_action);
	int r;

	ctx = seccomp_init(default_action);
	if (!ctx)
		return kn_error_setx(err, EINVAL,
				     "seccomp: cannot create a filter with default action %s: "
				     "libseccomp or the kernel does not support it",
				     name ? name : "(unknown)");
	/*
	 * Only the native ABI is in the filter.  A syscall through another ABI
	 * (i386 via int $0x80; x32, whose numbers carry __X32_SYSCALL_BIT under
	 * the x86_64 audit arch and which libseccomp tests for in an
	 * x86_64-only filter) gets the bad-arch action.  We choose KILL_PROCESS
	 * over ERRNO: nothing in the sandbox should use those ABIs, so a caller
	 * is either probing for a less filtered door or a 32-bit binary that
	 * would run on after exit() "failed" with EPERM; SIGSYS stops both at
	 * once and shows in the exit status.
	 */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return kn_error_set(err, -r, "seccomp: set bad-arch action KILL_PROCESS");
	/* Dispatch on the syscall number through a binary tree rather than a
	 * list: the allowlist is ~290 entries long. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0)
		return kn_error_set(err, -r, "seccomp: set binary-tree optimisation");
	*out = steal_ptr(&ctx);
	return 0;
}

struct build_state {
	scmp_filter_ctx ctx;
	kn_error *err;
};

static int build_add_rule(const kn_seccomp_rule *rule, void *data)
{
	struct build_state *st = data;
	int nr, r;

	nr = seccomp_syscall_resolve_name(rule->name);
	if (nr == __NR_SCMP_ERROR) {
		/* An allowlisted syscall newer than this libseccomp: leaving
		 * it out only refuses it.  Any other rule must be enforced. */
		if (rule->action == SCMP_ACT_ALLOW)
			return 0;
		return kn_error_setx(st->err, ENOENT,
				     "seccomp: default profile: libseccomp does not know syscall "
				     "'%s'; upgrade libseccomp",
				     rule->name);
	}
	if (nr < 0)
		return 0; /* a pseudo-number: the syscall does not exist on this arch */
	r = seccomp_rule_add_array(st->ctx, rule->action, nr, rule->n_cmps, rule->cmps);
	if (r < 0)
		return kn_error_set(st->err, -r, "seccomp: default profile: add rule for '%s'",
				    rule->name);
	return 0;
}

int kn_seccomp_profile_build(scmp_filter_ctx *out, kn_error *err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	struct build_state st;
	int r;

	r = kn_seccomp_ctx_new(SCMP_ACT_ERRNO(EPERM), &ctx, err);
	if (r < 0)
		return r;
	st.ctx = ctx;
	st.err = err;
	r = kn_seccomp_profile_foreach(build_add_rule, &st);
	if (r < 0)
		return r;
	*out = steal_ptr(&ctx);
	return 0;
}

int kn_seccomp_export(scmp_filter_ctx ctx, struct sock_filter **insns, size_t *len,
		      kn_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ struct sock_filter *buf = NULL;
	size_t size, done = 0;
	off_t end;
	int r;

	fd = memfd_create("kennel-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0)
		return kn_error_set(err, errno, "seccomp: memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return kn_error_set(err, -r, "seccomp: export BPF");
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return kn_error_set(err, errno, "seccomp: size of exported BPF");
	size = (size_t) end;
	if (size == 0 || size % sizeof(struct sock_filter) != 0)
		return kn_error_setx(err, EIO, "seccomp: libseccomp exported %zu bytes, "
				     "not a whole BPF program", size);
	if (size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return kn_error_setx(err, E2BIG,
				     "seccomp: filter has %zu instructions, the kernel takes at "
				     "most %d: use fewer rules",
				     size / sizeof(struct sock_filter), BPF_MAXINSNS);
	buf = malloc(size);
	if (!buf)
		return kn_error_set(err, ENOMEM, "seccomp: BPF buffer");
	while (done < size) {
		ssize_t n = pread(fd, (char *) buf + done, size - done, (off_t) done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kn_error_set(err, errno, "seccomp: read back exported BPF");
		if (n == 0)
			return kn_error_setx(err, EIO, "seccomp: exported BPF shrank while read");
		done += (size_t) n;
	}
	*len = size / sizeof(struct sock_filter);
	*insns = steal_ptr(&buf);
	return 0;
}

/* ---- OCI names ---------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t action;
	int takes_errno;
} action_names[] = {
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL, 0 },
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, 0 },
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, 0 },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP, 0 },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), 1 },
	{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), 1 },
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, 0 },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG, 0 },
	{ "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, 0 },
};

const char *kn_seccomp_action_name(uint32_t action)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(action_names); i++)
		if (action_names[i].action == (action & 0xffff0000U))
			return action_names[i].name;
	return NULL;
}

int kn_seccomp_action_lookup(const char *name, uint32_t *action, int *takes_errno)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(action_names); i++) {
		if (strcmp(action_names[i].name, name) == 0) {
			*action = action_names[i].action;
			*takes_errno = action_names[i].takes_errno;
			return 0;
		}
	}
	return -ENOENT;
}

static const struct {
	const char *name;
	enum scmp_compare op;
} op_names[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

const char *kn_seccomp_op_name(enum scmp_compare op)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(op_names); i++)
		if (op_names[i].op == op)
			return op_names[i].name;
	return NULL;
}

int kn_seccomp_op_lookup(const char *name, enum scmp_compare *op)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(op_names); i++) {
		if (strcmp(op_names[i].name, name) == 0) {
			*op = op_names[i].op;
			return 0;
		}
	}
	return -ENOENT;
}

/* The runtime spec's architecture names; libseccomp's are the lower-case
 * suffix ("SCMP_ARCH_X86_64" -> "x86_64"). */
static const char *const arch_names[] = {
	"SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",
	"SCMP_ARCH_ARM",      "SCMP_ARCH_AARCH64",   "SCMP_ARCH_MIPS",
	"SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
	"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",    "SCMP_ARCH_PPC64LE",   "SCMP_ARCH_S390",
	"SCMP_ARCH_S390X",    "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64",
	"SCMP_ARCH_RISCV64",  "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
	"SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

#define ARCH_PREFIX "SCMP_ARCH_"

int kn_seccomp_arch_lookup(const char *name, uint32_t *token)
{
	char lower[32];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(arch_names); i++) {
		if (strcmp(arch_names[i], name) != 0)
			continue;
		for (j = 0; name[strlen(ARCH_PREFIX) + j] && j < sizeof(lower) - 1; j++)
			lower[j] = (char) tolower((unsigned char) name[strlen(ARCH_PREFIX) + j]);
		lower[j] = '\0';
		*token = seccomp_arch_resolve_name(lower);
		return 0;
	}
	return -ENOENT;
}

const char *kn_seccomp_arch_name(uint32_t token)
{
	size_t i;
	uint32_t t;

	for (i = 0; i < ARRAY_SIZE(arch_names); i++)
		if (kn_seccomp_arch_lookup(arch_names[i], &t) == 0 && t != 0 && t == token)
			return arch_names[i];
	return NULL;
}

/* ---- OCI rendering ------------------------------------------------------ */

static inline void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

#define _cleanup_json_put_ __attribute__((cleanup(json_putp)))

/* Add @val to @obj under @key, taking the reference; -ENOMEM on failure. */
static int json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int json_push(struct json_object *arr, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *render_rule(const kn_seccomp_rule *rule)
{
	_cleanup_json_put_ struct json_object *entry = json_object_new_object();
	struct json_object *names, *args;
	unsigned int i;

	if (!entry)
		return NULL;
	names = json_object_new_array();
	if (json_add(entry, "names", names) < 0 ||
	    json_push(names, json_object_new_string(rule->name)) < 0 ||
	    json_add(entry, "action",
		     json_object_new_string(kn_seccomp_action_name(rule->action))) < 0)
		return NULL;
	if ((rule->action & 0xffff0000U) == (uint32_t) SCMP_ACT_ERRNO(0) &&
	    json_add(entry, "errnoRet", json_object_new_int((int) (rule->action & 0xffffU))) < 0)
		return NULL;
	if (rule->n_cmps == 0)
		return steal_ptr(&entry);
	args = json_object_new_array();
	if (json_add(entry, "args", args) < 0)
		return NULL;
	for (i = 0; i < rule->n_cmps; i++) {
		const struct scmp_arg_cmp *c = &rule->cmps[i];
		struct json_object *arg = json_object_new_object();

		if (json_push(args, arg) < 0 ||
		    json_add(arg, "index", json_object_new_int((int) c->arg)) < 0 ||
		    json_add(arg, "value", json_object_new_uint64(c->datum_a)) < 0 ||
		    json_add(arg, "valueTwo", json_object_new_uint64(c->datum_b)) < 0 ||
		    json_add(arg, "op", json_object_new_string(kn_seccomp_op_name(c->op))) < 0)
			return NULL;
	}
	return steal_ptr(&entry);
}

static int render_add_rule(const kn_seccomp_rule *rule, void *data)
{
	return json_push(data, render_rule(rule));
}

struct json_object *kn_seccomp_profile_json(void)
{
	_cleanup_json_put_ struct json_object *root = json_object_new_object();
	struct json_object *arches, *syscalls, *allow, *names;
	const char *native = kn_seccomp_arch_name(seccomp_arch_native());
	size_t i;

	if (!root || !native)
		return NULL;
	if (json_add(root, "defaultAction", json_object_new_string("SCMP_ACT_ERRNO")) < 0 ||
	    json_add(root, "defaultErrnoRet", json_object_new_int(EPERM)) < 0)
		return NULL;
	arches = json_object_new_array();
	if (json_add(root, "architectures", arches) < 0 ||
	    json_push(arches, json_object_new_string(native)) < 0)
		return NULL;
	syscalls = json_object_new_array();
	if (json_add(root, "syscalls", syscalls) < 0)
		return NULL;
	allow = json_object_new_object();
	if (json_push(syscalls, allow) < 0)
		return NULL;
	names = json_object_new_array();
	if (json_add(allow, "names", names) < 0 ||
	    json_add(allow, "action", json_object_new_string("SCMP_ACT_ALLOW")) < 0)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(default_allow); i++)
		if (json_push(names, json_object_new_string(default_allow[i])) < 0)
			return NULL;
	if (profile_foreach(render_add_rule, syscalls, 0) < 0)
		return NULL;
	return steal_ptr(&root);
}
