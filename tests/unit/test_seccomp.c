/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the seccomp module, against the real kernel: every probe
 * forks a child that (when it can) enters a fresh user, mount and network
 * namespace, sets no_new_privs, loads a filter and makes one syscall with
 * syscall(2), then reports {return value, errno} over a pipe; the parent
 * checks the report or how the child died.
 *
 * The namespaces give the child every capability over them, so without a
 * filter the kernel would let most refused calls through, or fail them with
 * some other errno: the control test runs each probe unfiltered and checks
 * exactly that, so an EPERM seen under the filter is the filter's doing
 * (KENNEL_TEST_VERBOSE=1 prints what the kernel answered to each).
 *
 * Probes run against both the built-in program and the one compiled from
 * kn_seccomp_default_json(); then come the OCI parser tests and a timing of
 * kn_seccomp_prepare() printed as TAP comments.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "seccomp.h"
#include <seccomp_profile.h> /* angle brackets: see seccomp_profile.h */

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HIGH_BIT (UINT64_C(1) << 32)

/* ---- helpers ------------------------------------------------------------ */

/* Skip a test the machine cannot run, or fail it when CI says everything
 * must work (KENNEL_MUST_WORK=1). */
static void skip_unless_available(int available, const char *what)
{
	const char *must = getenv("KENNEL_MUST_WORK");

	if (available)
		return;
	if (must && strcmp(must, "1") == 0)
		fail_msg("KENNEL_MUST_WORK=1 but %s", what);
	printf("# skip: %s\n", what);
	fflush(stdout);
	skip();
}

static int userns_available;

enum outcome_kind { RETURNED, EXITED, SIGNALED };

struct outcome {
	enum outcome_kind kind;
	long ret;   /* RETURNED: the syscall's return value */
	int err;    /* RETURNED: errno when ret < 0 */
	int status; /* EXITED: exit code; SIGNALED: signal */
};

struct report {
	long ret;
	int err;
};

static const char *describe(const struct outcome *o, char *buf, size_t size)
{
	switch (o->kind) {
	case RETURNED:
		if (o->ret < 0)
			snprintf(buf, size, "failed with %s (%d)", strerrorname_np(o->err) ?
				 strerrorname_np(o->err) : "?", o->err);
		else
			snprintf(buf, size, "returned %ld", o->ret);
		break;
	case EXITED:
		snprintf(buf, size, "exited %d without a report", o->status);
		break;
	case SIGNALED:
		snprintf(buf, size, "killed by %s", sigabbrev_np(o->status) ?
			 sigabbrev_np(o->status) : "?");
		break;
	}
	return buf;
}

/* Enter namespaces where we hold every capability, so that the kernel itself
 * would allow the refused calls (see the control test). */
static void enter_private_namespaces(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int fd;

	if (!userns_available)
		return;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) < 0)
		_exit(120);
	/* Map ourselves to root, or the kernel refuses nested user
	 * namespaces (the creator's uid must be mapped). */
	fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "deny", 4) != 4)
		_exit(120);
	close(fd);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
	fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t) strlen(map))
		_exit(120);
	close(fd);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
	fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t) strlen(map))
		_exit(120);
	close(fd);
}

/* Run @call in a child under @prog (NULL: no filter) and say what happened. */
static void run_probe(const kn_bpf *prog, long (*call)(void), struct outcome *o)
{
	struct report rep;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		kn_error err = KN_ERROR_INIT;

		close(fds[0]);
		enter_private_namespaces();
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(121);
		if (prog && kn_seccomp_apply(prog, &err) < 0)
			_exit(122);
		errno = 0;
		rep.ret = call();
		rep.err = rep.ret < 0 ? errno : 0;
		if (write(fds[1], &rep, sizeof(rep)) != (ssize_t) sizeof(rep))
			_exit(123);
		_exit(0);
	}
	close(fds[1]);
	do
		n = read(fds[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*o = (struct outcome){ 0 };
	if (n == (ssize_t) sizeof(rep) && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		o->kind = RETURNED;
		o->ret = rep.ret;
		o->err = rep.err;
	} else if (WIFSIGNALED(status)) {
		o->kind = SIGNALED;
		o->status = WTERMSIG(status);
	} else {
		o->kind = EXITED;
		o->status = WEXITSTATUS(status);
		if (o->status >= 120 && o->status <= 123)
			fail_msg("probe child could not set up (exit %d: 120 unshare, 121 "
				 "no_new_privs, 122 seccomp load, 123 report)",
				 o->status);
	}
}

/* ---- probes ------------------------------------------------------------- */

static long raw_clone(unsigned long flags)
{
	long r = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t) r, NULL, 0);
	return r;
}

static long pipe_ioctl(uint64_t request)
{
	int fds[2];
	char c = 'x';
	long r;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	r = syscall(SYS_ioctl, fds[0], request, &c);
	return r;
}

static long p_unshare_user(void) { return syscall(SYS_unshare, CLONE_NEWUSER); }
static long p_unshare_ns(void) { return syscall(SYS_unshare, CLONE_NEWNS); }
static long p_setns(void) { return syscall(SYS_setns, -1, 0); }
static long p_clone_newns(void) { return raw_clone(CLONE_NEWNS); }
static long p_clone_newuser(void) { return raw_clone(CLONE_NEWUSER); }
static long p_clone_newnet_high(void) { return raw_clone(CLONE_NEWNET | (1UL << 40)); }
static long p_clone3(void) { return syscall(SYS_clone3, NULL, 0); }
static long p_mount(void) { return syscall(SYS_mount, NULL, NULL, NULL, 0, NULL); }
static long p_umount2(void) { return syscall(SYS_umount2, "/kennel-test-none", 0); }
static long p_pivot_root(void) { return syscall(SYS_pivot_root, "/kennel-a", "/kennel-b"); }
static long p_chroot(void) { return syscall(SYS_chroot, "/kennel-test-none"); }
static long p_fsopen(void) { return syscall(SYS_fsopen, "kennel-no-such-fs", 0); }
static long p_fspick(void) { return syscall(SYS_fspick, AT_FDCWD, "/kennel-test-none", 0); }
static long p_open_tree(void) { return syscall(SYS_open_tree, AT_FDCWD, "/", O_CLOEXEC); }
static long p_move_mount(void)
{
	return syscall(SYS_move_mount, AT_FDCWD, "/kennel-a", AT_FDCWD, "/kennel-b", 0);
}
static long p_mount_setattr(void) { return syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, NULL, 0); }
static long p_keyctl(void)
{
	return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 1);
}
static long p_add_key(void) { return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0); }
static long p_request_key(void) { return syscall(SYS_request_key, NULL, NULL, NULL, 0); }
static long p_bpf(void) { return syscall(SYS_bpf, -1, NULL, 0); }
static long p_perf_event_open(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long p_userfaultfd(void) { return syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | O_CLOEXEC); }
static long p_io_uring_setup(void) { return syscall(SYS_io_uring_setup, 1, NULL); }
static long p_io_uring_enter(void) { return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0); }
static long p_io_uring_register(void) { return syscall(SYS_io_uring_register, -1, 0, NULL, 0); }
static long p_ptrace(void) { return syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL); }
static long p_process_vm_readv(void)
{
	return syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0);
}
static long p_name_to_handle_at(void)
{
	return syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0);
}
static long p_clock_settime(void) { return syscall(SYS_clock_settime, CLOCK_REALTIME, NULL); }
static long p_iopl(void) { return syscall(SYS_iopl, 0); }
static long p_ioperm(void) { return syscall(SYS_ioperm, 0, 0, 0); }
static long p_personality_bad(void) { return syscall(SYS_personality, READ_IMPLIES_EXEC); }
static long p_personality_query(void) { return syscall(SYS_personality, 0xffffffffUL); }
static long p_ioctl_tiocsti(void) { return pipe_ioctl(TIOCSTI); }
static long p_ioctl_tiocsti_high(void) { return pipe_ioctl(TIOCSTI | HIGH_BIT); }
static long p_ioctl_tioclinux(void) { return pipe_ioctl(TIOCLINUX); }
static long p_ioctl_fionread(void) { return pipe_ioctl(FIONREAD); }
static long p_socket_packet(void) { return syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0); }
static long p_socket_packet_high(void)
{
	return syscall(SYS_socket, AF_PACKET | HIGH_BIT, SOCK_RAW, 0);
}
static long p_socket_vsock(void) { return syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0); }
static long p_socket_vsock_high(void)
{
	return syscall(SYS_socket, AF_VSOCK | HIGH_BIT, SOCK_STREAM, 0);
}
static long p_socket_alg(void) { return syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0); }
static long p_socket_inet(void) { return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }
static long p_socket_unix(void) { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }
static long p_socket_netlink(void) { return syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0); }
static long p_getpid(void) { return syscall(SYS_getpid); }
static long p_write(void)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	return syscall(SYS_write, fds[1], "k", 1);
}
static long p_x32_getpid(void) { return syscall(__X32_SYSCALL_BIT | 39); }
static long p_fork(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -1;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = ECHILD;
		return -1;
	}
	return pid;
}
static void *thread_main(void *arg) { return arg; }
static long p_pthread(void)
{
	pthread_t t;
	int e = pthread_create(&t, NULL, thread_main, NULL);

	if (e) {
		errno = e;
		return -1;
	}
	return pthread_join(t, NULL) == 0 ? 0 : -1;
}
static long p_execve(void)
{
	char *argv[] = { "true", NULL };
	char *envp[] = { NULL };

	return execve("/bin/true", argv, envp);
}

enum expect { EXPECT_ERRNO, EXPECT_OK, EXPECT_SIGSYS, EXPECT_EXEC };

struct probe {
	const char *name;
	long (*call)(void);
	enum expect expect;
	int err;     /* EXPECT_ERRNO: the errno the filter gives */
	int control; /* 1: unfiltered, the kernel answers differently */
};

#define REFUSED(n, fn) { n, fn, EXPECT_ERRNO, EPERM, 1 }
/* Refused by the filter, but the kernel would refuse it too without
 * init-namespace capabilities, so the control cannot tell them apart. */
#define REFUSED_ALSO_BY_KERNEL(n, fn) { n, fn, EXPECT_ERRNO, EPERM, 0 }
#define ALLOWED(n, fn) { n, fn, EXPECT_OK, 0, 0 }

static const struct probe probes[] = {
	REFUSED("unshare_newuser", p_unshare_user),
	REFUSED("unshare_newns", p_unshare_ns),
	REFUSED("setns", p_setns),
	REFUSED("clone_newns", p_clone_newns),
	REFUSED("clone_newuser", p_clone_newuser),
	REFUSED("clone_newnet_high_bits", p_clone_newnet_high),
	ALLOWED("fork", p_fork),
	ALLOWED("pthread_create", p_pthread),
	{ "clone3_enosys", p_clone3, EXPECT_ERRNO, ENOSYS, 1 },
	REFUSED("mount", p_mount),
	REFUSED("umount2", p_umount2),
	REFUSED("pivot_root", p_pivot_root),
	REFUSED("chroot", p_chroot),
	REFUSED("fsopen", p_fsopen),
	REFUSED("fspick", p_fspick),
	REFUSED("open_tree", p_open_tree),
	REFUSED("move_mount", p_move_mount),
	REFUSED("mount_setattr", p_mount_setattr),
	REFUSED("keyctl", p_keyctl),
	REFUSED("add_key", p_add_key),
	REFUSED("request_key", p_request_key),
	REFUSED("bpf", p_bpf),
	REFUSED("perf_event_open", p_perf_event_open),
	REFUSED("userfaultfd", p_userfaultfd),
	REFUSED("io_uring_setup", p_io_uring_setup),
	REFUSED("io_uring_enter", p_io_uring_enter),
	REFUSED("io_uring_register", p_io_uring_register),
	REFUSED("ptrace", p_ptrace),
	REFUSED("process_vm_readv", p_process_vm_readv),
	REFUSED("name_to_handle_at", p_name_to_handle_at),
	REFUSED("clock_settime", p_clock_settime),
	REFUSED("iopl", p_iopl),
	REFUSED("ioperm", p_ioperm),
	REFUSED("personality_read_implies_exec", p_personality_bad),
	ALLOWED("personality_query", p_personality_query),
	{ "ioctl_tiocsti", p_ioctl_tiocsti, EXPECT_ERRNO, EPERM, 1 },
	{ "ioctl_tiocsti_high_bits", p_ioctl_tiocsti_high, EXPECT_ERRNO, EPERM, 1 },
	{ "ioctl_tioclinux", p_ioctl_tioclinux, EXPECT_ERRNO, EPERM, 1 },
	ALLOWED("ioctl_fionread", p_ioctl_fionread),
	REFUSED("socket_af_packet", p_socket_packet),
	REFUSED("socket_af_packet_high_bits", p_socket_packet_high),
	REFUSED("socket_af_vsock", p_socket_vsock),
	REFUSED("socket_af_vsock_high_bits", p_socket_vsock_high),
	REFUSED("socket_af_alg", p_socket_alg),
	ALLOWED("socket_af_inet", p_socket_inet),
	ALLOWED("socket_af_unix", p_socket_unix),
	ALLOWED("socket_af_netlink", p_socket_netlink),
	ALLOWED("getpid", p_getpid),
	ALLOWED("write", p_write),
	{ "x32_getpid", p_x32_getpid, EXPECT_SIGSYS, 0, 1 },
	{ "execve_true", p_execve, EXPECT_EXEC, 0, 0 },
};

static int outcome_matches(const struct probe *p, const struct outcome *o)
{
	switch (p->expect) {
	case EXPECT_ERRNO:
		return o->kind == RETURNED && o->ret == -1 && o->err == p->err;
	case EXPECT_OK:
		return o->kind == RETURNED && o->ret >= 0;
	case EXPECT_SIGSYS:
		return o->kind == SIGNALED && o->status == SIGSYS;
	case EXPECT_EXEC:
		return o->kind == EXITED && o->status == 0;
	}
	return 0;
}

static const char *expectation(const struct probe *p, char *buf, size_t size)
{
	switch (p->expect) {
	case EXPECT_ERRNO:
		snprintf(buf, size, "failure with %s", strerrorname_np(p->err));
		break;
	case EXPECT_OK:
		snprintf(buf, size, "success");
		break;
	case EXPECT_SIGSYS:
		snprintf(buf, size, "death by SIGSYS");
		break;
	case EXPECT_EXEC:
		snprintf(buf, size, "exec of /bin/true exiting 0");
		break;
	}
	return buf;
}

/* ---- programs under test ------------------------------------------------- */

static kn_bpf builtin_prog;
static kn_bpf json_prog;

struct probe_case {
	const struct probe *probe;
	const kn_bpf *prog;
};

static struct probe_case cases[2 * ARRAY_SIZE(probes)];
static char case_names[2 * ARRAY_SIZE(probes)][80];

static void test_probe(void **state)
{
	const struct probe_case *c = *state;
	struct outcome o;

	run_probe(c->prog, c->probe->call, &o);
	if (!outcome_matches(c->probe, &o)) {
		char got[96], want[96];

		fail_msg("%s: expected %s, got: %s", c->probe->name,
			 expectation(c->probe, want, sizeof(want)), describe(&o, got, sizeof(got)));
	}
}

#if defined(__x86_64__)
/* getpid through the i386 entry point (int $0x80, eax = 20). */
static long p_int80_getpid(void)
{
	long ret = 20;

	__asm__ volatile("int $0x80" : "+a"(ret) : : "r8", "r9", "r10", "r11", "memory");
	return ret;
}
#endif

static void check_int80(const kn_bpf *prog)
{
#if defined(__x86_64__)
	char got[96];
	struct outcome o;
	int ia32_works;

	/* Without a filter: does this kernel run i386 syscalls at all? */
	run_probe(NULL, p_int80_getpid, &o);
	ia32_works = o.kind == RETURNED && o.ret > 0;
	if (!ia32_works)
		printf("# int $0x80 unfiltered %s: no IA32 emulation here\n",
		       describe(&o, got, sizeof(got)));

	run_probe(prog, p_int80_getpid, &o);
	if (o.kind == RETURNED && o.ret > 0)
		fail_msg("int $0x80 getpid ran under the filter: returned %ld", o.ret);
	if (ia32_works && !(o.kind == SIGNALED && o.status == SIGSYS))
		fail_msg("int $0x80 getpid: expected the bad-arch action (SIGSYS), got: %s",
			 describe(&o, got, sizeof(got)));
	if (!ia32_works && o.kind != SIGNALED)
		fail_msg("int $0x80 getpid: expected a signal, got: %s",
			 describe(&o, got, sizeof(got)));
#else
	(void) prog;
	skip();
#endif
}

static void test_int80_builtin(void **state)
{
	(void) state;
	check_int80(&builtin_prog);
}

static void test_int80_json(void **state)
{
	(void) state;
	check_int80(&json_prog);
}

/* Each refusing probe, unfiltered in the private namespaces, must get some
 * other answer from the kernel; each allowed one must succeed. */
static void test_probes_control(void **state)
{
	const char *v = getenv("KENNEL_TEST_VERBOSE");
	int verbose = v && strcmp(v, "1") == 0;
	char got[96];
	size_t i, bad = 0;

	(void) state;
	skip_unless_available(userns_available, "unprivileged user namespaces are unavailable");
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		const struct probe *p = &probes[i];
		struct outcome o;

		if (p->expect == EXPECT_EXEC)
			continue;
		run_probe(NULL, p->call, &o);
		if (verbose)
			printf("# control %s: %s\n", p->name, describe(&o, got, sizeof(got)));
		if (p->expect == EXPECT_OK && !outcome_matches(p, &o)) {
			printf("# control %s: expected success, got: %s\n", p->name,
			       describe(&o, got, sizeof(got)));
			bad++;
		} else if (p->expect != EXPECT_OK && p->control && outcome_matches(p, &o)) {
			printf("# control %s: the kernel alone gives the filtered answer (%s)\n",
			       p->name, describe(&o, got, sizeof(got)));
			bad++;
		}
	}
	fflush(stdout);
	assert_int_equal(bad, 0);
}

/* ---- default program checks ---------------------------------------------- */

static void test_builtin_is_static(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_bpf prog;

	(void) state;
	assert_int_equal(kn_seccomp_prepare(NULL, &prog, &err), 0);
	assert_true(prog.is_static);
	assert_true(prog.len > 0 && prog.len <= BPF_MAXINSNS);
	assert_int_equal(prog.flags, 0);
	kn_bpf_free(&prog);
	assert_null(prog.insns);
	kn_bpf_free(NULL);
}

/* The JSON rendering compiles to the very same instructions. */
static void test_json_matches_builtin(void **state)
{
	(void) state;
	assert_int_equal(json_prog.len, builtin_prog.len);
	assert_memory_equal(json_prog.insns, builtin_prog.insns,
			    builtin_prog.len * sizeof(struct sock_filter));
	printf("# default program: %zu BPF instructions, identical from JSON\n", builtin_prog.len);
}

static struct json_object *find_rule(struct json_object *syscalls, const char *name,
				     const char *action)
{
	size_t i;

	for (i = 0; i < json_object_array_length(syscalls); i++) {
		struct json_object *r = json_object_array_get_idx(syscalls, i), *v, *names;

		if (!json_object_object_get_ex(r, "names", &names) ||
		    !json_object_object_get_ex(r, "action", &v) ||
		    strcmp(json_object_get_string(v), action) != 0)
			continue;
		if (strcmp(json_object_get_string(json_object_array_get_idx(names, 0)), name) == 0)
			return r;
	}
	return NULL;
}

static void test_default_json_shape(void **state)
{
	struct json_object *j = kn_seccomp_default_json(), *v, *syscalls, *names, *rule;
	const char *const *allow;
	size_t i, n;

	(void) state;
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "defaultAction", &v));
	assert_string_equal(json_object_get_string(v), "SCMP_ACT_ERRNO");
	assert_true(json_object_object_get_ex(j, "defaultErrnoRet", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(j, "architectures", &v));
	assert_int_equal(json_object_array_length(v), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)),
			    "SCMP_ARCH_X86_64");
	assert_true(json_object_object_get_ex(j, "syscalls", &syscalls));
	assert_true(json_object_object_get_ex(json_object_array_get_idx(syscalls, 0), "names",
					      &names));

	/* Every allowlisted name is a real x86_64 syscall: no typos, no
	 * 32-bit-only names that libseccomp would silently drop. */
	allow = kn_seccomp_profile_allowlist(&n);
	assert_int_equal(json_object_array_length(names), n);
	for (i = 0; i < n; i++) {
		if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, allow[i]) < 0)
			fail_msg("allowlist entry '%s' is not an x86_64 syscall", allow[i]);
		assert_false(strcmp(allow[i], "ioctl") == 0 || strcmp(allow[i], "socket") == 0 ||
			     strcmp(allow[i], "clone") == 0 || strcmp(allow[i], "ptrace") == 0 ||
			     strncmp(allow[i], "io_uring", 8) == 0);
	}

	rule = find_rule(syscalls, "clone3", "SCMP_ACT_ERRNO");
	assert_non_null(rule);
	assert_true(json_object_object_get_ex(rule, "errnoRet", &v));
	assert_int_equal(json_object_get_int(v), ENOSYS);
	rule = find_rule(syscalls, "clone", "SCMP_ACT_ALLOW");
	assert_non_null(rule);
	assert_true(json_object_object_get_ex(rule, "args", &v));
	v = json_object_array_get_idx(v, 0);
	assert_non_null(v);
	{
		struct json_object *f;

		assert_true(json_object_object_get_ex(v, "op", &f));
		assert_string_equal(json_object_get_string(f), "SCMP_CMP_MASKED_EQ");
		assert_true(json_object_object_get_ex(v, "value", &f));
		assert_int_equal(json_object_get_uint64(f), 0x7e020080);
	}
	assert_non_null(find_rule(syscalls, "ioctl", "SCMP_ACT_ALLOW"));
	assert_non_null(find_rule(syscalls, "socket", "SCMP_ACT_ALLOW"));

	printf("# default profile: %zu unconditional + clone, personality, ioctl, socket "
	       "filtered = %zu syscalls; %zu OCI rules\n",
	       n, n + 4, json_object_array_length(syscalls));
	json_object_put(j);
}

/* ---- OCI parser ---------------------------------------------------------- */

static int prepare_text(const char *text, kn_bpf *prog, kn_error *err)
{
	struct json_object *j = json_tokener_parse(text);
	int r;

	assert_non_null(j);
	r = kn_seccomp_prepare(j, prog, err);
	json_object_put(j);
	return r;
}

static kn_bpf oci_prog; /* the program the probes below run under */

static int free_oci_prog(void **state)
{
	(void) state;
	kn_bpf_free(&oci_prog);
	return 0;
}

/* fd 100 is a pipe (see test_oci_small_profile): the kernel answers ESPIPE. */
static long p_lseek_77_end(void) { return syscall(SYS_lseek, 100, 77, SEEK_END); }
static long p_lseek_77_hole(void) { return syscall(SYS_lseek, 100, 77, SEEK_HOLE); }
static long p_lseek_77_set(void) { return syscall(SYS_lseek, 100, 77, SEEK_SET); }
static long p_lseek_78_end(void) { return syscall(SYS_lseek, 100, 78, SEEK_END); }
static long p_getppid(void) { return syscall(SYS_getppid); }

/* Run @call under @prog: expect the filter's @err, or with @err 0 expect the
 * call to reach the kernel (success, or a kernel errno such as ESPIPE). */
static void expect_probe(const kn_bpf *prog, long (*call)(void), const char *what, int err)
{
	char got[96];
	struct outcome o;

	run_probe(prog, call, &o);
	if (o.kind == RETURNED) {
		if (err && o.ret == -1 && o.err == err)
			return;
		if (!err && (o.ret >= 0 || (o.err != EXDEV && o.err != EPERM)))
			return;
	}
	fail_msg("%s: expected %s, got: %s", what, err ? strerrorname_np(err) : "no filter errno",
		 describe(&o, got, sizeof(got)));
}

/* defaultAction ALLOW and one ERRNO rule: arg 2 (whence) is SEEK_END or
 * SEEK_HOLE (same index: alternatives) and arg 1 == 77 (ANDed). */
static void test_oci_small_profile(void **state)
{
	kn_error err = KN_ERROR_INIT;
	int pipefd[2];

	(void) state;
	assert_int_equal(
		prepare_text("{\"defaultAction\":\"SCMP_ACT_ALLOW\","
			     " \"architectures\":[\"SCMP_ARCH_X86_64\"],"
			     " \"syscalls\":[{\"names\":[\"lseek\"],\"action\":\"SCMP_ACT_ERRNO\","
			     "   \"errnoRet\":18,"
			     "   \"args\":[{\"index\":2,\"value\":2,\"op\":\"SCMP_CMP_EQ\"},"
			     "             {\"index\":2,\"value\":4,\"op\":\"SCMP_CMP_EQ\"},"
			     "             {\"index\":1,\"value\":77,\"op\":\"SCMP_CMP_EQ\"}]}]}",
			     &oci_prog, &err),
		0);
	assert_false(oci_prog.is_static);
	/* stdin may be a tty or a file: make fd 0 a pipe so the kernel's own
	 * answer (ESPIPE) is predictable and never EXDEV. */
	assert_int_equal(pipe(pipefd), 0);
	assert_true(dup2(pipefd[0], 100) == 100);
	close(pipefd[0]);
	close(pipefd[1]);
	expect_probe(&oci_prog, p_lseek_77_end, "lseek(77, SEEK_END)", EXDEV);
	expect_probe(&oci_prog, p_lseek_77_hole, "lseek(77, SEEK_HOLE)", EXDEV);
	expect_probe(&oci_prog, p_lseek_77_set, "lseek(77, SEEK_SET)", 0);
	expect_probe(&oci_prog, p_lseek_78_end, "lseek(78, SEEK_END)", 0);
	expect_probe(&oci_prog, p_getppid, "getppid", 0);
	close(100);
	kn_bpf_free(&oci_prog);
}

/* An ALLOW rule naming a syscall libseccomp does not know is skipped.  (The
 * allowlist carries what a sanitizer runtime may need in the child.) */
static void test_oci_unknown_name_allow_skipped(void **state)
{
	kn_error err = KN_ERROR_INIT;

	(void) state;
	assert_int_equal(
		prepare_text("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":18,"
			     " \"syscalls\":[{\"names\":[\"kennel_no_such_syscall\",\"write\","
			     "   \"exit_group\",\"exit\",\"getpid\",\"gettid\",\"mmap\",\"munmap\","
			     "   \"mprotect\",\"madvise\",\"brk\",\"futex\",\"rt_sigaction\","
			     "   \"rt_sigprocmask\",\"sigaltstack\",\"close\",\"read\"],"
			     "   \"action\":\"SCMP_ACT_ALLOW\"}]}",
			     &oci_prog, &err),
		0);
	expect_probe(&oci_prog, p_getpid, "getpid", 0);
	expect_probe(&oci_prog, p_getppid, "getppid", EXDEV);
	kn_bpf_free(&oci_prog);
}

static void test_oci_arches_and_flags(void **state)
{
	kn_error err = KN_ERROR_INIT;

	(void) state;
	/* LOONGARCH64 is a runtime-spec name libseccomp 2.5 cannot filter:
	 * skipped (its syscalls would meet the bad-arch action). */
	assert_int_equal(
		prepare_text("{\"defaultAction\":\"SCMP_ACT_ALLOW\","
			     " \"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\","
			     "   \"SCMP_ARCH_X32\",\"SCMP_ARCH_LOONGARCH64\"],"
			     " \"flags\":[\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\","
			     "   \"SECCOMP_FILTER_FLAG_TSYNC\"],"
			     " \"syscalls\":[{\"names\":[\"getppid\",\"chown32\"],"
			     "   \"action\":\"SCMP_ACT_ERRNO\"}]}",
			     &oci_prog, &err),
		0);
	assert_int_equal(oci_prog.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
					 SECCOMP_FILTER_FLAG_TSYNC);
	expect_probe(&oci_prog, p_getppid, "getppid", EPERM);
	expect_probe(&oci_prog, p_getpid, "getpid", 0);
	kn_bpf_free(&oci_prog);
}

struct bad_profile {
	const char *json;
	const char *msg_part; /* must appear in the error message */
	int code;
};

static const struct bad_profile bad_profiles[] = {
	{ "{\"defaultAction\":\"SCMP_ACT_FOO\"}", "unknown action 'SCMP_ACT_FOO'", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
	  "\"action\":\"SCMP_ACT_BAR\"}]}",
	  "syscalls[0].action: unknown action 'SCMP_ACT_BAR'", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
	  "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
	  "SCMP_ACT_NOTIFY is not supported", EOPNOTSUPP },
	{ "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "SCMP_ACT_NOTIFY is not supported",
	  EOPNOTSUPP },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\","
	  "\"kennel_no_such_syscall\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
	  "syscalls[0].names[1]: syscall 'kennel_no_such_syscall' is unknown", EINVAL },
	{ "{\"defaultAction\":5}", "linux.seccomp.defaultAction: must be a string", EINVAL },
	{ "{}", "linux.seccomp.defaultAction: missing", EINVAL },
	{ "[]", "linux.seccomp: must be an object", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
	  "linux.seccomp.syscalls: must be an array", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":\"getpid\","
	  "\"action\":\"SCMP_ACT_ERRNO\"}]}",
	  "linux.seccomp.syscalls[0].names: must be an array", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[7],"
	  "\"action\":\"SCMP_ACT_ERRNO\"}]}",
	  "linux.seccomp.syscalls[0].names[0]: must be a string", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
	  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":\"1\","
	  "\"op\":\"SCMP_CMP_EQ\"}]}]}",
	  "linux.seccomp.syscalls[0].args[0].value: must be an integer", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
	  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,"
	  "\"op\":\"SCMP_CMP_EQ\"}]}]}",
	  "linux.seccomp.syscalls[0].args[0].index: 6 is not a syscall argument", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
	  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,"
	  "\"op\":\"SCMP_CMP_ALMOST\"}]}]}",
	  "linux.seccomp.syscalls[0].args[0].op: unknown operator 'SCMP_CMP_ALMOST'", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
	  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":-1,"
	  "\"op\":\"SCMP_CMP_EQ\"}]}]}",
	  "linux.seccomp.syscalls[0].args[0].value: must not be negative", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
	  "\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":1}]}",
	  "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":5000}",
	  "linux.seccomp.defaultErrnoRet: 5000 is not an errno value", ERANGE },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_Z80\"]}",
	  "linux.seccomp.architectures[0]: unknown architecture 'SCMP_ARCH_Z80'", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"SCMP_ARCH_X86_64\"}",
	  "linux.seccomp.architectures: must be an array", EINVAL },
	{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_MAGIC\"]}",
	  "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_MAGIC'", EINVAL },
};

static void test_oci_bad_profiles(void **state)
{
	size_t i;

	(void) state;
	for (i = 0; i < ARRAY_SIZE(bad_profiles); i++) {
		kn_error err = KN_ERROR_INIT;
		kn_bpf prog;
		int r = prepare_text(bad_profiles[i].json, &prog, &err);

		if (r != -bad_profiles[i].code || !strstr(err.msg, bad_profiles[i].msg_part))
			fail_msg("profile %zu: got %d '%s', expected %d and '%s'", i, r, err.msg,
				 -bad_profiles[i].code, bad_profiles[i].msg_part);
		assert_null(prog.insns);
		assert_int_equal(prog.len, 0);
	}
}

/* A rule equal to the default action is a no-op, not an error. */
static void test_oci_rule_same_as_default(void **state)
{
	kn_error err = KN_ERROR_INIT;

	(void) state;
	assert_int_equal(prepare_text("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
				      "\"names\":[\"getpid\",\"kennel_no_such_syscall\"],"
				      "\"action\":\"SCMP_ACT_ALLOW\"}]}",
				      &oci_prog, &err),
			 0);
	assert_true(oci_prog.len > 0);
	kn_bpf_free(&oci_prog);
}

static void test_apply_refuses_empty(void **state)
{
	kn_error err = KN_ERROR_INIT;
	kn_bpf empty = { NULL, 0, 0, 0 };

	(void) state;
	assert_int_equal(kn_seccomp_apply(&empty, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "refusing to load"));
	assert_int_equal(kn_seccomp_apply(NULL, &err), -EINVAL);
}

/* ---- timing -------------------------------------------------------------- */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static void test_prepare_timing(void **state)
{
	struct json_object *j;
	kn_error err = KN_ERROR_INIT;
	double t0, builtin_us, json_us, render_us;
	const int builtin_runs = 10000, json_runs = 20;
	int i;

	(void) state;
	t0 = now_us();
	for (i = 0; i < builtin_runs; i++) {
		kn_bpf prog;

		assert_int_equal(kn_seccomp_prepare(NULL, &prog, &err), 0);
		kn_bpf_free(&prog);
	}
	builtin_us = (now_us() - t0) / builtin_runs;

	t0 = now_us();
	j = kn_seccomp_default_json();
	render_us = now_us() - t0;
	assert_non_null(j);
	t0 = now_us();
	for (i = 0; i < json_runs; i++) {
		kn_bpf prog;

		assert_int_equal(kn_seccomp_prepare(j, &prog, &err), 0);
		kn_bpf_free(&prog);
	}
	json_us = (now_us() - t0) / json_runs;
	json_object_put(j);
	printf("# kn_seccomp_prepare: built-in %.3f us, default profile as JSON %.0f us "
	       "(%.0fx; rendering the JSON %.0f us)\n",
	       builtin_us, json_us, json_us / (builtin_us > 0 ? builtin_us : 1e-3), render_us);
	fflush(stdout);
}

/* ---- main ---------------------------------------------------------------- */

static int group_setup(void **state)
{
	struct json_object *j;
	kn_error err = KN_ERROR_INIT;
	int status;
	pid_t pid;

	(void) state;
	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) == 0 ? 0 : 1);
	userns_available = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0;

	if (kn_seccomp_prepare(NULL, &builtin_prog, &err) < 0) {
		fprintf(stderr, "built-in program: %s\n", err.msg);
		return -1;
	}
	j = kn_seccomp_default_json();
	if (!j)
		return -1;
	if (kn_seccomp_prepare(j, &json_prog, &err) < 0) {
		fprintf(stderr, "default JSON: %s\n", err.msg);
		json_object_put(j);
		return -1;
	}
	json_object_put(j);
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	kn_bpf_free(&builtin_prog);
	kn_bpf_free(&json_prog);
	return 0;
}

#define FIXED_TEST(f) { #f, f, NULL, NULL, NULL }
#define OCI_TEST(f) { #f, f, NULL, free_oci_prog, NULL }

static const struct CMUnitTest fixed_tests[] = {
	FIXED_TEST(test_builtin_is_static),
	FIXED_TEST(test_json_matches_builtin),
	FIXED_TEST(test_default_json_shape),
	FIXED_TEST(test_probes_control),
	FIXED_TEST(test_int80_builtin),
	FIXED_TEST(test_int80_json),
	OCI_TEST(test_oci_small_profile),
	OCI_TEST(test_oci_unknown_name_allow_skipped),
	OCI_TEST(test_oci_arches_and_flags),
	FIXED_TEST(test_oci_bad_profiles),
	OCI_TEST(test_oci_rule_same_as_default),
	FIXED_TEST(test_apply_refuses_empty),
	FIXED_TEST(test_prepare_timing),
};

static struct CMUnitTest tests[2 * ARRAY_SIZE(probes) + ARRAY_SIZE(fixed_tests)];

int main(void)
{
	size_t i, n = 0;

	for (i = 0; i < 2 * ARRAY_SIZE(probes); i++) {
		int from_json = i >= ARRAY_SIZE(probes);
		const struct probe *p = &probes[i % ARRAY_SIZE(probes)];

		cases[i].probe = p;
		cases[i].prog = from_json ? &json_prog : &builtin_prog;
		snprintf(case_names[i], sizeof(case_names[i]), "%s/%s",
			 from_json ? "default_json" : "default_builtin", p->name);
		tests[n].name = case_names[i];
		tests[n].test_func = test_probe;
		tests[n].initial_state = &cases[i];
		n++;
	}
	for (i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		tests[n++] = fixed_tests[i];
	return _cmocka_run_group_tests("seccomp", tests, n, group_setup, group_teardown);
}
