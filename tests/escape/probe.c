/* kennel-probe: the escape battery, run INSIDE the sandbox.
 *
 *   kennel sandbox ... -- /usr/bin/kennel-probe [--host-port N] [--expect-hostname H]
 *
 * Each check tries one thing an escaping agent would try and asserts the exact
 * outcome the sandbox promises (an errno wherever there is one), in TAP: "ok K -
 * what", "not ok K - what: got X", "ok K - what # SKIP reason".  Exit status 0
 * iff nothing failed.  A skip is no pass: tests/escape/run-escape fails skips
 * under KENNEL_MUST_WORK=1 unless the reason starts with "n/a:".
 *
 * How this works:
 *   1. checks of the probe's own process (fds, visible pids) run first, in
 *      this process, before it opens anything;
 *   2. the plan line, then one result per entry of checks[], in order;
 *   3. every other check runs in a forked child that sends its result through
 *      a pipe: an attempt that works (chroot, unshare, setuid) cannot change
 *      what later checks see, and a seccomp kill or a hang (10 s alarm) fails
 *      one check, not the run.
 *
 * On a normal host most checks fail, which shows they can; even as root it
 * changes nothing there: mounts target a scratch directory (undone if they
 * work), umount/pivot_root/move_mount/mount_setattr get arguments the kernel
 * rejects after its permission check, tty ioctls get a NULL argument (nothing
 * injected), /proc and /sys files are opened but never written, ptrace uses
 * SEIZE (no stop), and the network checks only connect().
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Checks share one signature and most ignore some of its arguments (the
 * project builds with -Wno-unused-parameter too; this file is built alone). */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#define PROC_SUPER_MAGIC_ 0x9fa0
#define SYSFS_MAGIC_ 0x62656572
#define X32_SYSCALL_BIT 0x40000000L
#define I386_NR_GETPID 20
#define CHECK_TIMEOUT_S 10
#define CONNECT_TIMEOUT_S 3
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The command line plus a scratch directory, passed to every check. */
struct opts {
	int host_port;               /* 0: not given */
	const char *expect_hostname; /* NULL: not given */
	char scratch[64];            /* empty directory under /tmp, "" if none */
};

enum verdict { FAIL, PASS, SKIP }; /* zero is FAIL: no result is no pass */

/* One check's outcome; crosses the pipe from the forked child as is. */
struct result {
	enum verdict verdict;
	char detail[384]; /* why it failed or was skipped */
};

struct check;
typedef void (*check_fn)(const struct check *c, const struct opts *o, struct result *r);
typedef long (*attempt_fn)(const struct check *c, const struct opts *o);

/* One entry of the battery: a full check, or an attempt (one call) that must
 * fail with errno @want (or @want2, when not 0).  @arg, @value, @family, @type, @port parametrise
 * the shared checks (a path, a status field, an address). */
struct check {
	const char *what;
	check_fn check;
	attempt_fn attempt;
	int want, want2;
	const char *arg, *value;
	int family, type, port;
	bool in_process; /* inspects the probe itself: not forked */
	bool scratch;    /* needs o->scratch */
};

__attribute__((format(printf, 3, 4))) static void set(struct result *r, enum verdict v,
						       const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}
#define pass(r) ((r)->verdict = PASS)
#define fail(r, ...) set((r), FAIL, __VA_ARGS__)
#define skip(r, ...) set((r), SKIP, __VA_ARGS__)
/* Fail with the message if @cond holds, else pass. */
#define fail_if(r, cond, ...)                  \
	do {                                   \
		if (cond)                      \
			fail((r), __VA_ARGS__); \
		else                           \
			pass(r);               \
	} while (0)

/* Append to the NUL-terminated @buf of size @len, truncating quietly. */
__attribute__((format(printf, 3, 4))) static void appendf(char *buf, size_t len,
							  const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* "EPERM (Operation not permitted)" for an errno value. */
static const char *errname(int e)
{
	static char buf[96];
	const char *n = strerrorname_np(e);

	snprintf(buf, sizeof(buf), "%s (%s)", n ? n : "E?", strerror(e));
	return buf;
}

/* Judge a syscall-style return: it must have failed with exactly @want, or
 * @want2 when that is not 0. */
static void expect_errno2(struct result *r, long ret, int err, int want, int want2)
{
	if (ret != -1)
		fail(r, "got success (returned %ld)", ret);
	else if (err != want && (!want2 || err != want2))
		fail(r, "got %s, wanted %s%s%s", errname(err), strerrorname_np(want),
		     want2 ? " or " : "", want2 ? strerrorname_np(want2) : "");
	else
		pass(r);
}

static void expect_errno(struct result *r, long ret, int err, int want)
{
	expect_errno2(r, ret, err, want, 0);
}

/* For attempts that return an fd: close it, keep errno, return 0 or -1. */
static long closed(long fd)
{
	int e = errno;

	if (fd < 0)
		return -1;
	close((int)fd);
	errno = e;
	return 0;
}

/* A clone-like call that worked: its child exits at once, the parent reaps. */
static long reap(long ret)
{
	int e = errno;

	if (ret == 0)
		_exit(0);
	if (ret > 0)
		waitpid((pid_t)ret, NULL, 0);
	errno = e;
	return ret;
}

/* An attempt whose body is one expression. */
#define TRY(name, expr) \
	static long name(const struct check *c, const struct opts *o) { return (expr); }

/* ---- process state (in the probe itself) -------------------------------- */

/* Leaked descriptors are how runc's CVE-2024-21626 escaped (a host directory
 * fd reachable as /proc/self/fd/N): only stdin/stdout/stderr may come in. */
static void check_no_leaked_fds(const struct check *c, const struct opts *o, struct result *r)
{
	char extra[256] = "";
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");

	if (!d) {
		fail(r, "cannot list /proc/self/fd: %s", errname(errno));
		return;
	}
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		char target[PATH_MAX] = "?", path[64];

		if (de->d_name[0] == '.' || fd == dirfd(d) || fd <= 2)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 1] = '\0';
		appendf(extra, sizeof(extra), " %d->%s", fd, target);
	}
	closedir(d);
	fail_if(r, extra[0], "got extra fds:%s", extra);
}

/* A pid namespace hides host processes (their environment, /proc/PID/root
 * and /proc/PID/cwd are ways out): only kennel's init and the probe exist,
 * and the probe's own pid is small (a fresh namespace). */
static void check_no_host_processes(const struct check *c, const struct opts *o,
				    struct result *r)
{
	char seen[256] = "";
	int count = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d) {
		fail(r, "cannot list /proc: %s", errname(errno));
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9') {
			appendf(seen, sizeof(seen), " %s", de->d_name);
			count++;
		}
	}
	closedir(d);
	if (count >= 5)
		fail(r, "got %d processes in /proc:%s", count, seen);
	else if (getpid() > 10)
		fail(r, "got own pid %d", (int)getpid());
	else
		pass(r);
}

/* ---- identity and privilege --------------------------------------------- */

/* The agent is the unprivileged user 1000, never root of any namespace. */
static void check_ids(const struct check *c, const struct opts *o, struct result *r)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[64];
	int n;

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	n = getgroups(ARRAY_SIZE(groups), groups);
	pass(r);
	if (ru != 1000 || eu != 1000 || su != 1000 || rg != 1000 || eg != 1000 || sg != 1000)
		fail(r, "got uids %u/%u/%u gids %u/%u/%u", ru, eu, su, rg, eg, sg);
	for (int i = 0; i < n; i++)
		if (groups[i] == 0)
			fail(r, "got supplementary group 0");
}

/* Root on the host must map the agent to unprivileged ids: a host uid 0
 * behind uid 1000 would own every root-owned host file a mount exposes.
 * The outside column is the parent namespace's id, the host's with kennel's
 * single user namespace (bubblewrap nests two, and so shows 0 here). */
static void check_idmaps(const struct check *c, const struct opts *o, struct result *r)
{
	static const char *const maps[] = { "/proc/self/uid_map", "/proc/self/gid_map" };
	unsigned long inside, outside, count;

	pass(r);
	for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
		FILE *f = fopen(maps[i], "re");
		if (!f) {
			fail(r, "cannot read %s: %s", maps[i], errname(errno));
			return;
		}
		while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
			if (outside == 0)
				fail(r, "got %s line \"%lu %lu %lu\"", maps[i], inside, outside, count);
		fclose(f);
	}
}

/* The /proc/self/status field c->arg reads exactly c->value. */
static void check_status(const struct check *c, const struct opts *o, struct result *r)
{
	char line[256];
	size_t len = strlen(c->arg);
	FILE *f = fopen("/proc/self/status", "re");

	fail(r, "no %s line in /proc/self/status", c->arg);
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, c->arg, len) != 0 || line[len] != ':')
			continue;
		char *v = line + len + 1 + strspn(line + len + 1, " \t");
		v[strcspn(v, "\n")] = '\0';
		fail_if(r, strcmp(v, c->value) != 0, "got %s: %s", c->arg, v);
	}
	if (f)
		fclose(f);
}

/* ---- namespaces ---------------------------------------------------------- */

TRY(try_setuid_root, setuid(0))
TRY(try_unshare_user, unshare(CLONE_NEWUSER))
TRY(try_clone_newuser, reap(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)))
TRY(try_clone_newns, reap(syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0)))

static void check_unshare_other(const struct check *c, const struct opts *o, struct result *r)
{
	static const struct { int flag; const char *name; } ns[] = {
		{ CLONE_NEWNS, "NEWNS" },   { CLONE_NEWNET, "NEWNET" },
		{ CLONE_NEWPID, "NEWPID" }, { CLONE_NEWUTS, "NEWUTS" },
		{ CLONE_NEWIPC, "NEWIPC" }, { CLONE_NEWCGROUP, "NEWCGROUP" },
		{ 0x00000080, "NEWTIME" },
	};

	pass(r);
	for (size_t i = 0; i < ARRAY_SIZE(ns) && r->verdict == PASS; i++) {
		long ret = unshare(ns[i].flag);
		if (ret == 0 || errno != EPERM)
			fail(r, "got %s for CLONE_%s", ret == 0 ? "success" : errname(errno),
			     ns[i].name);
	}
}

/* An open failure is reported as its errno (not EPERM): a fail. */
static long try_setns(const struct check *c, const struct opts *o)
{
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long ret = setns(fd, CLONE_NEWNS);
	return closed(fd) ? -1 : ret;
}

/* clone3 passes its flags in memory, where seccomp cannot look, so the
 * filter must answer ENOSYS (glibc then falls back to clone).  The struct
 * is clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, ... */
TRY(try_clone3, reap(syscall(SYS_clone3, (uint64_t[8]){ CLONE_NEWUSER, 0, 0, 0, SIGCHLD },
			     8 * sizeof(uint64_t))))

/* ---- mounts and other kernel surface ------------------------------------- */

static long try_mount(const struct check *c, const struct opts *o)
{
	long ret = mount("tmpfs", o->scratch, "tmpfs", 0, "size=16k");
	if (ret == 0)
		umount2(o->scratch, 0);
	return ret;
}

/* Remounting the read-only root read-write, the classic way and by fspick. */
TRY(try_remount_root_rw, mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL))
TRY(try_fspick_root, closed(syscall(SYS_fspick, AT_FDCWD, "/", 0)))

/* A scratch directory is no mount point: root on a host gets EINVAL. */
TRY(try_umount, umount2(o->scratch, 0))
TRY(try_pivot_root, syscall(SYS_pivot_root, o->scratch, o->scratch))
TRY(try_chroot, chroot(o->scratch))
TRY(try_fsopen, closed(syscall(SYS_fsopen, "tmpfs", 0)))
TRY(try_open_tree, closed(syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */)))
TRY(try_move_mount, syscall(SYS_move_mount, AT_FDCWD, "/nonexistent-kennel-a", AT_FDCWD,
			    "/nonexistent-kennel-b", 0))

/* struct mount_attr { attr_set, attr_clr, propagation, userns_fd } */
TRY(try_mount_setattr, syscall(SYS_mount_setattr, AT_FDCWD, o->scratch, 0,
			       (uint64_t[4]){ 0, 1 /* MOUNT_ATTR_RDONLY */ }, 4 * sizeof(uint64_t)))

TRY(try_keyctl, syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0))
TRY(try_add_key, syscall(SYS_add_key, "user", "kennel-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING))
TRY(try_request_key, syscall(SYS_request_key, "user", "kennel-probe-absent", NULL,
			     KEY_SPEC_PROCESS_KEYRING))

TRY(try_bpf, closed(syscall(SYS_bpf, BPF_MAP_CREATE,
			     &(union bpf_attr){ .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
						.value_size = 4, .max_entries = 1 },
			     sizeof(union bpf_attr))))
/* Counting its own task clock is allowed to anyone at perf_event_paranoid 2. */
TRY(try_perf_event_open, closed(syscall(SYS_perf_event_open,
					&(struct perf_event_attr){
						.size = sizeof(struct perf_event_attr),
						.type = PERF_TYPE_SOFTWARE,
						.config = PERF_COUNT_SW_TASK_CLOCK,
						.disabled = 1, .exclude_kernel = 1 },
					0, -1, -1, 0)))
/* UFFD_USER_MODE_ONLY is open to everyone unless filtered. */
TRY(try_userfaultfd, closed(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY)))
TRY(try_io_uring, closed(syscall(SYS_io_uring_setup, 1, &(struct io_uring_params){ 0 })))
TRY(try_finit_module, syscall(SYS_finit_module, -1, "", 0))
TRY(try_ptrace_init, ptrace(PTRACE_SEIZE, 1, NULL, NULL))
TRY(try_ptrace_traceme, ptrace(PTRACE_TRACEME, 0, NULL, NULL))
TRY(try_socket, closed(socket(c->family, c->type | SOCK_CLOEXEC, c->port)))

/* TIOCSTI pushes bytes into a terminal's input, TIOCLINUX pastes the console
 * selection: commands typed into the user's shell outside the sandbox
 * (CVE-2016-7545, CVE-2023-1523).  The argument is NULL, so nothing is
 * injected even where the ioctl is allowed (the kernel reads it last).  Bits
 * above 32 are dropped by the kernel but not by a naive filter. */
static const char *tty_ioctls_refused(int fd)
{
	static const struct { unsigned long cmd; const char *name; } cmds[] = {
		{ TIOCSTI, "TIOCSTI" },
		{ TIOCSTI | (1UL << 32), "TIOCSTI|1<<32" },
		{ TIOCLINUX, "TIOCLINUX" },
		{ TIOCLINUX | (1UL << 32), "TIOCLINUX|1<<32" },
	};
	static char why[128];

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		long ret = syscall(SYS_ioctl, fd, cmds[i].cmd, NULL);
		if (ret != -1 || errno != EPERM) {
			snprintf(why, sizeof(why), "%s got %s", cmds[i].name,
				 ret != -1 ? "success" : errname(errno));
			return why;
		}
	}
	return NULL;
}

/* On a pty of our own, made our controlling terminal so the kernel's own
 * "not your terminal" EPERM cannot stand in for the filter's. */
static void check_tty_ioctls_pty(const struct check *c, const struct opts *o,
				 struct result *r)
{
	char slave[64];
	const char *why;
	int s, m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, slave, sizeof(slave))) {
		skip(r, "cannot open a pty through /dev/ptmx: %s", errname(errno));
		return;
	}
	setsid();
	if ((s = open(slave, O_RDWR | O_CLOEXEC)) < 0) {
		skip(r, "cannot open %s: %s", slave, errname(errno));
		return;
	}
	ioctl(s, TIOCSCTTY, 0);
	fail_if(r, (why = tty_ioctls_refused(s)) || (why = tty_ioctls_refused(m)), "%s", why);
}

static void check_tty_ioctls_stdin(const struct check *c, const struct opts *o,
				   struct result *r)
{
	const char *why;

	if (!isatty(0))
		skip(r, "n/a: stdin is not a terminal");
	else
		fail_if(r, (why = tty_ioctls_refused(0)), "%s", why);
}

/* getpid through a foreign syscall ABI, in a child of its own: x32 numbers
 * (bit 30 set) on the x86_64 entry, where a filter that checks the number
 * without that bit lets everything through; or int $0x80, the i386 table,
 * where numbers mean other syscalls, so the filter must check the arch.
 * Killed (SIGSYS from the filter, SIGSEGV without ia32 emulation) or an
 * error both pass; a pid back fails.  c->arg is "x32" or "i386". */
static void check_foreign_abi(const struct check *c, const struct opts *o, struct result *r)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		long ret = I386_NR_GETPID;
		if (strcmp(c->arg, "x32") == 0)
			ret = syscall(X32_SYSCALL_BIT | SYS_getpid);
		else
			__asm__ volatile("int $0x80" : "+a"(ret) : : "memory", "cc", "r8", "r9", "r10", "r11");
		_exit(ret > 0 ? 42 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		fail(r, "cannot fork/wait: %s", errname(errno));
	else
		fail_if(r, WIFEXITED(status) && WEXITSTATUS(status) == 42,
			"got success: %s getpid returned a pid", c->arg);
}

/* ---- filesystem ---------------------------------------------------------- */

/* Create a file under the prefix c->arg ("" for /) and remove it again. */
static long try_create(const struct check *c, const struct opts *o)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/kennel-probe-%d", c->arg, (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0)
		unlink(path);
	return closed(fd);
}

/* Positive control: the agent can work in directory c->arg, and what it
 * writes is its own (uid 1000), not root's or nobody's. */
static void check_writable(const struct check *c, const struct opts *o, struct result *r)
{
	char path[128], buf[8] = "";
	struct stat st;

	snprintf(path, sizeof(path), "%s/kennel-probe-%d", c->arg, (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		fail(r, "cannot create %s: %s", path, errname(errno));
		return;
	}
	if (write(fd, "kennel", 6) != 6 || pread(fd, buf, 6, 0) != 6 || memcmp(buf, "kennel", 6))
		fail(r, "write/read back of %s failed: %s", path, errname(errno));
	else if (fstat(fd, &st) != 0 || st.st_uid != 1000)
		fail(r, "%s is owned by uid %u, wanted 1000", path, st.st_uid);
	else
		pass(r);
	close(fd);
	if (unlink(path) != 0 && r->verdict == PASS)
		fail(r, "cannot remove %s: %s", path, errname(errno));
}

static long try_mknod(const struct check *c, const struct opts *o)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/null", o->scratch);
	long ret = mknod(path, S_IFCHR | 0600, makedev(1, 3));
	if (ret == 0)
		unlink(path);
	return ret;
}

/* The "shocker" escape (Docker, 2014): open_by_handle_at with a guessed
 * handle opens any file of the host filesystem past the mount tree. */
static long try_open_by_handle_at(const struct check *c, const struct opts *o)
{
	struct { struct file_handle fh; unsigned char bytes[128]; } h;
	int mount_id;

	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = sizeof(h.bytes);
	if (name_to_handle_at(AT_FDCWD, "/etc", &h.fh, &mount_id, 0) != 0) {
		/* filtered or unsupported: shocker's guess, inode 2 */
		uint32_t ino_gen[2] = { 2, 0 };
		h.fh.handle_bytes = sizeof(ino_gen);
		h.fh.handle_type = 1; /* FILEID_INO32_GEN */
		memcpy(h.fh.f_handle, ino_gen, sizeof(ino_gen));
	}
	int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long ret = closed(open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC));
	closed(mfd);
	return ret;
}

/* /proc/kcore is the kernel's memory as an ELF core: masked (a /dev/null
 * bind reads empty) or not openable at all. */
static void check_kcore(const struct check *c, const struct opts *o, struct result *r)
{
	char buf[64];
	int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf));

	closed(fd);
	fail_if(r, n > 0, "got %zd bytes from /proc/kcore", n);
}

/* Open for writing with O_TRUNC: the kernel checks the mount's read-only
 * flag before any permission, so EROFS proves a read-only mount (not just
 * file modes).  Nothing is ever written. */
static long open_for_write(const char *path)
{
	return closed(open(path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
}

/* c->arg must refuse writing with EROFS; a file this kernel does not have
 * (sysrq-trigger without CONFIG_MAGIC_SYSRQ) cannot be checked. */
static void check_write_erofs(const struct check *c, const struct opts *o, struct result *r)
{
	struct stat st;
	long ret;

	if (stat(c->arg, &st) != 0 && errno == ENOENT) {
		skip(r, "n/a: this kernel has no %s", c->arg);
		return;
	}
	ret = open_for_write(c->arg);
	expect_errno(r, ret, errno, EROFS);
}

/* Every file under @dir refuses writing with EROFS; returns files seen. */
static int walk_proc_sys(const char *dir, struct result *r)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int checked = 0;

	if (!d) {
		fail(r, "cannot list %s: %s", dir, errname(errno));
		return 0;
	}
	while ((de = readdir(d)) && r->verdict == PASS) {
		char path[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			checked += walk_proc_sys(path, r);
		} else if (de->d_type == DT_REG) {
			long ret = open_for_write(path);
			if (ret != -1 || errno != EROFS)
				fail(r, "got %s opening %s for writing",
				     ret != -1 ? "success" : errname(errno), path);
			checked++;
		}
	}
	closedir(d);
	return checked;
}

/* Any sysctl: kernel.modprobe, vm.*, the network stack's knobs ... */
static void check_proc_sys_readonly(const struct check *c, const struct opts *o,
				    struct result *r)
{
	pass(r);
	if (walk_proc_sys("/proc/sys", r) == 0 && r->verdict == PASS)
		fail(r, "found no files under /proc/sys");
}

/* A writable /sys means uevent_helper (run by the kernel as root on every
 * hotplug event) and friends.  mkdir on a read-only mount fails EROFS before
 * anything else is looked at (root on a writable sysfs gets EPERM: sysfs
 * has no mkdir).  /sys may also be absent (not a sysfs). */
static void check_sys_readonly(const struct check *c, const struct opts *o,
			       struct result *r)
{
	struct statfs sf;
	struct stat st;
	long ret;

	if (statfs("/sys", &sf) != 0 || sf.f_type != SYSFS_MAGIC_) {
		pass(r); /* absent: nothing to write to */
		return;
	}
	ret = mkdir("/sys/kennel-probe", 0755);
	if (ret == 0)
		rmdir("/sys/kennel-probe");
	expect_errno(r, ret, errno, EROFS);
	if (r->verdict == PASS && stat("/sys/kernel/uevent_helper", &st) == 0) {
		ret = open_for_write("/sys/kernel/uevent_helper");
		expect_errno(r, ret, errno, EROFS);
	}
}

/* The sandbox's /proc is its own procfs (a bind of the host's /proc would
 * show host processes and namespaces). */
static void check_proc_is_procfs(const struct check *c, const struct opts *o,
				 struct result *r)
{
	struct statfs sf;

	if (statfs("/proc", &sf) != 0)
		fail(r, "statfs /proc: %s", errname(errno));
	else if (sf.f_type != PROC_SUPER_MAGIC_)
		fail(r, "got f_type 0x%lx", (unsigned long)sf.f_type);
	else
		pass(r);
}

/* CVE-2019-5736: a container overwrote runc's binary through /proc/PID/exe
 * of the runtime.  kennel's init is non-dumpable, so its exe link is not
 * followed for us at all (EACCES): not for writing, nor reading, nor O_PATH. */
TRY(try_init_exe_write, closed(open("/proc/1/exe", O_WRONLY | O_CLOEXEC)))

static long try_init_exe_open(const struct check *c, const struct opts *o)
{
	long ret = closed(open("/proc/1/exe", O_RDONLY | O_CLOEXEC));
	if (ret == -1 && errno == EACCES)
		ret = closed(open("/proc/1/exe", O_PATH | O_CLOEXEC));
	return ret;
}

/* The working directory is inside the sandbox's tree: a cwd left on a host
 * directory reads "(unreachable)/..." and is a way out (CVE-2024-21626). */
static void check_cwd(const struct check *c, const struct opts *o, struct result *r)
{
	char cwd[PATH_MAX];

	if (!getcwd(cwd, sizeof(cwd)))
		fail(r, "getcwd: %s", errname(errno));
	else if (strcmp(cwd, "/workspace") != 0)
		fail(r, "got \"%s\"", cwd);
	else
		pass(r);
}

/* A UTS namespace of its own (sethostname cannot rename the host). */
static void check_hostname(const struct check *c, const struct opts *o, struct result *r)
{
	struct utsname u;

	if (!o->expect_hostname)
		skip(r, "n/a: no --expect-hostname given");
	else if (uname(&u) != 0 || strcmp(u.nodename, o->expect_hostname) != 0)
		fail(r, "got \"%s\", wanted \"%s\"", u.nodename, o->expect_hostname);
	else
		pass(r);
}

/* ---- network none -------------------------------------------------------- */

/* --network none: a network namespace of its own with nothing but lo. */
static void check_only_lo(const struct check *c, const struct opts *o, struct result *r)
{
	char line[512], names[256] = "";
	int n = 0, other = 0;
	FILE *f = fopen("/proc/net/dev", "re");

	if (!f) {
		fail(r, "cannot read /proc/net/dev: %s", errname(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *name = line + strspn(line, " ");
		if (!colon)
			continue; /* the two header lines */
		*colon = '\0';
		appendf(names, sizeof(names), " %s", name);
		other += strcmp(name, "lo") != 0;
		n++;
	}
	fclose(f);
	fail_if(r, other || n != 1, "got interfaces:%s", n ? names : " (none)");
}

/* connect() to c->arg port c->port (0: the host listener's port), never
 * sending a byte; it must fail with c->want within a second.  The host
 * listener sits on the HOST's 127.0.0.1: the sandbox's loopback is its own,
 * so the answer is a refusal, never the host service.  Without a default
 * route every other address is unreachable at once (a UDP connect only
 * looks up the route). */
static void check_connect(const struct check *c, const struct opts *o, struct result *r)
{
	int port = c->port ? c->port : o->host_port;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = CONNECT_TIMEOUT_S };
	struct timespec t0, t1;
	int ret, e, fd;

	if (!port) {
		skip(r, "no --host-port given");
		return;
	}
	if ((fd = socket(c->family, c->type | SOCK_CLOEXEC, 0)) < 0) {
		if (c->family == AF_INET6 && errno == EAFNOSUPPORT)
			skip(r, "n/a: no IPv6 in this kernel");
		else
			fail(r, "socket: %s", errname(errno));
		return;
	}
	inet_pton(AF_INET, c->arg, &sin.sin_addr);
	inet_pton(AF_INET6, c->arg, &sin6.sin6_addr);
	/* a blocking connect gives up after SO_SNDTIMEO with EINPROGRESS */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (c->family == AF_INET)
		ret = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	else
		ret = connect(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (ret == 0)
		fail(r, "got a connection to %s port %d", c->arg, port);
	else if (e != c->want)
		fail(r, "got %s after %.0f ms, wanted %s", errname(e), ms, strerrorname_np(c->want));
	else if (ms > 1000)
		fail(r, "got %s but only after %.0f ms", strerrorname_np(e), ms);
	else
		pass(r);
}

/* ---- the battery --------------------------------------------------------- */

#define SELF(w, fn) { .what = (w), .check = (fn), .in_process = true }
#define CHECK(w, fn) { .what = (w), .check = (fn) }
#define ARG(w, fn, a) { .what = (w), .check = (fn), .arg = (a) }
#define ATTEMPT(w, fn, e) { .what = (w), .attempt = (fn), .want = (e) }
#define SCRATCH(w, fn, e) { .what = (w), .attempt = (fn), .want = (e), .scratch = true }
#define STATUS(f, v) { .what = f " is " v, .check = check_status, .arg = (f), .value = (v) }
#define NOCAPS "0000000000000000"
#define SOCKET(w, f, t, proto) \
	{ .what = (w), .attempt = try_socket, .want = EPERM, .family = (f), .type = (t), .port = (proto) }
#define WRITE_EROFS(path) { .what = path " cannot be opened for writing (EROFS)", \
			   .check = check_write_erofs, .arg = (path) }
#define CREATE(dir, prefix) { .what = "creating a file in " dir " fails EROFS", \
		      .attempt = try_create, .want = EROFS, .arg = (prefix) }
#define CONNECT(w, f, t, addr, p, e) { .what = (w), .check = check_connect, .want = (e), \
		      .family = (f), .type = (t), .arg = (addr), .port = (p) }

static const struct check checks[] = {
	SELF("only fds 0, 1 and 2 are open", check_no_leaked_fds),
	SELF("fewer than 5 processes in /proc, own pid at most 10", check_no_host_processes),
	CHECK("runs as uid 1000 and gid 1000, no supplementary group 0", check_ids),
	CHECK("uid_map and gid_map map nothing to host id 0", check_idmaps),
	/* With CAP_SYS_ADMIN, CAP_DAC_READ_SEARCH or CAP_NET_RAW left, much of
	 * the rest is moot; no_new_privs: setuid files and file caps raise
	 * nothing; seccomp mode 2: the filter the checks below rely on. */
	STATUS("CapInh", NOCAPS),
	STATUS("CapPrm", NOCAPS),
	STATUS("CapEff", NOCAPS),
	STATUS("CapBnd", NOCAPS),
	STATUS("CapAmb", NOCAPS),
	STATUS("NoNewPrivs", "1"),
	STATUS("Seccomp", "2"),
	/* EINVAL when uid 0 is not mapped in the namespace at all. */
	{ .what = "setuid(0) fails EPERM or EINVAL", .attempt = try_setuid_root, .want = EPERM,
	  .want2 = EINVAL },
	/* A nested user namespace hands back a full capability set inside it:
	 * the first step of most recent kernel exploits (netfilter, overlayfs,
	 * mount bugs).  Raw clone, clone3 and setns are the other doors. */
	ATTEMPT("unshare(CLONE_NEWUSER) fails EPERM", try_unshare_user, EPERM),
	CHECK("unshare of each other namespace fails EPERM", check_unshare_other),
	ATTEMPT("setns fails EPERM", try_setns, EPERM),
	ATTEMPT("raw clone(CLONE_NEWUSER) fails EPERM", try_clone_newuser, EPERM),
	ATTEMPT("raw clone(CLONE_NEWNS) fails EPERM", try_clone_newns, EPERM),
	ATTEMPT("clone3 fails ENOSYS", try_clone3, ENOSYS),
	/* Mounting over the read-only root, unmounting a mask (the /dev/null
	 * over /proc/kcore) to reveal what it hides, chroot plus a kept fd (the
	 * classic break-out); the new mount API reaches the same code by other
	 * numbers, and mount_setattr could clear MOUNT_ATTR_RDONLY. */
	SCRATCH("mount fails EPERM", try_mount, EPERM),
	ATTEMPT("remount of / read-write fails EPERM", try_remount_root_rw, EPERM),
	ATTEMPT("fspick of / (to reconfigure it) fails EPERM", try_fspick_root, EPERM),
	SCRATCH("umount2 fails EPERM", try_umount, EPERM),
	SCRATCH("pivot_root fails EPERM", try_pivot_root, EPERM),
	SCRATCH("chroot fails EPERM", try_chroot, EPERM),
	ATTEMPT("fsopen fails EPERM", try_fsopen, EPERM),
	ATTEMPT("open_tree fails EPERM", try_open_tree, EPERM),
	ATTEMPT("move_mount fails EPERM", try_move_mount, EPERM),
	SCRATCH("mount_setattr fails EPERM", try_mount_setattr, EPERM),
	/* Keyrings are not namespaced (other containers' and the host's keys);
	 * eBPF, perf, userfaultfd (the race primitive of many exploits) and
	 * io_uring (operations seccomp never sees) are large, bug-rich kernel
	 * surfaces; a kernel module is game over; ptrace of pid 1 (kennel's
	 * init) would run code in a process holding host-side resources. */
	ATTEMPT("keyctl fails EPERM", try_keyctl, EPERM),
	ATTEMPT("add_key fails EPERM", try_add_key, EPERM),
	ATTEMPT("request_key fails EPERM", try_request_key, EPERM),
	ATTEMPT("bpf fails EPERM", try_bpf, EPERM),
	ATTEMPT("perf_event_open fails EPERM", try_perf_event_open, EPERM),
	ATTEMPT("userfaultfd fails EPERM", try_userfaultfd, EPERM),
	ATTEMPT("io_uring_setup fails EPERM", try_io_uring, EPERM),
	ATTEMPT("finit_module fails EPERM", try_finit_module, EPERM),
	ATTEMPT("ptrace(PTRACE_SEIZE, pid 1) fails EPERM", try_ptrace_init, EPERM),
	ATTEMPT("ptrace(PTRACE_TRACEME) fails EPERM", try_ptrace_traceme, EPERM),
	CHECK("TIOCSTI/TIOCLINUX (also with high bits) fail EPERM on a pty", check_tty_ioctls_pty),
	CHECK("TIOCSTI/TIOCLINUX (also with high bits) fail EPERM on stdin", check_tty_ioctls_stdin),
	/* Packet sockets see and forge frames (CVE-2017-7308); vsock reaches the
	 * hypervisor when the sandbox runs in a VM; AF_ALG is kernel crypto from
	 * userspace (CVE-2015-8970 class); raw IP needs CAP_NET_RAW. */
	SOCKET("socket(AF_PACKET) fails EPERM", AF_PACKET, SOCK_RAW, 0x0300 /* htons(ETH_P_ALL) */),
	SOCKET("socket(AF_VSOCK) fails EPERM", 40 /* AF_VSOCK */, SOCK_STREAM, 0),
	SOCKET("socket(AF_ALG) fails EPERM", 38 /* AF_ALG */, SOCK_SEQPACKET, 0),
	SOCKET("raw AF_INET socket fails EPERM", AF_INET, SOCK_RAW, IPPROTO_ICMP),
	ARG("x32 syscall does not succeed", check_foreign_abi, "x32"),
	ARG("i386 int $0x80 syscall does not succeed", check_foreign_abi, "i386"),
	/* A trojaned /bin/sh for the next session.  EROFS only, even for /: the
	 * kernel checks a read-only mount before permissions, so EACCES would
	 * mean the root is mounted writable and only file modes stand guard. */
	CREATE("/", ""),
	CREATE("/etc", "/etc"),
	CREATE("/usr", "/usr"),
	CREATE("/bin", "/bin"),
	ARG("/workspace is writable, files owned by uid 1000", check_writable, "/workspace"),
	ARG("/tmp is writable, files owned by uid 1000", check_writable, "/tmp"),
	/* A device node for a disk or /dev/mem is raw access to the host. */
	SCRATCH("mknod of a char device fails EPERM", try_mknod, EPERM),
	ATTEMPT("open_by_handle_at fails EPERM", try_open_by_handle_at, EPERM),
	CHECK("/proc/kcore is masked", check_kcore),
	/* sysrq-trigger crashes or reboots the host ('c', 'b'); core_pattern
	 * "|/path" runs a program as host root on any crash. */
	WRITE_EROFS("/proc/sysrq-trigger"),
	WRITE_EROFS("/proc/sys/kernel/core_pattern"),
	CHECK("no file under /proc/sys can be opened for writing (EROFS)", check_proc_sys_readonly),
	CHECK("/sys is read-only (EROFS) or absent", check_sys_readonly),
	CHECK("/proc is a procfs", check_proc_is_procfs),
	ATTEMPT("/proc/1/exe cannot be opened for writing (EACCES)", try_init_exe_write, EACCES),
	ATTEMPT("/proc/1/exe cannot be opened at all (EACCES)", try_init_exe_open, EACCES),
	CHECK("cwd is /workspace", check_cwd),
	CHECK("hostname is the expected one", check_hostname),
	CHECK("network interfaces are only lo", check_only_lo),
	CONNECT("TCP connect to the host listener's port on 127.0.0.1 fails ECONNREFUSED",
		AF_INET, SOCK_STREAM, "127.0.0.1", 0, ECONNREFUSED),
	/*
	 * No route out.  Only UDP connect(), which does the route lookup and
	 * sends no packet, to documentation addresses (RFC 5737, RFC 3849):
	 * even if the sandbox were broken, nothing would leave this machine.
	 */
	CONNECT("UDP connect to 192.0.2.1:53 (TEST-NET-1) fails ENETUNREACH",
		AF_INET, SOCK_DGRAM, "192.0.2.1", 53, ENETUNREACH),
	CONNECT("UDP connect to 198.51.100.1:443 (TEST-NET-2) fails ENETUNREACH",
		AF_INET, SOCK_DGRAM, "198.51.100.1", 443, ENETUNREACH),
	CONNECT("UDP connect to [2001:db8::1]:53 (documentation prefix) fails ENETUNREACH",
		AF_INET6, SOCK_DGRAM, "2001:db8::1", 53, ENETUNREACH),
};

/* Run one entry here (in the forked child, or in-process). */
static void run_check(const struct check *c, const struct opts *o, struct result *r)
{
	if (c->scratch && !o->scratch[0]) {
		skip(r, "could not create a scratch directory under /tmp");
	} else if (c->attempt) {
		errno = 0;
		long ret = c->attempt(c, o);
		expect_errno2(r, ret, errno, c->want, c->want2);
	} else {
		c->check(c, o, r);
	}
}

/* Run @c in a forked child; its result comes back through a pipe. */
static void run_forked(const struct check *c, const struct opts *o, struct result *r)
{
	int p[2], status = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		fail(r, "probe: pipe/fork: %s", errname(errno));
		return;
	}
	if (pid == 0) {
		struct result cr = { .verdict = FAIL, .detail = "check gave no result" };
		close(p[0]);
		alarm(CHECK_TIMEOUT_S);
		run_check(c, o, &cr);
		_exit(write(p[1], &cr, sizeof(cr)) == (ssize_t)sizeof(cr) ? 0 : 1);
	}
	close(p[1]);
	ssize_t n = read(p[0], r, sizeof(*r));
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(*r))
		r->detail[sizeof(r->detail) - 1] = '\0';
	else if (WIFSIGNALED(status))
		fail(r, "killed by signal %d%s", WTERMSIG(status),
		     WTERMSIG(status) == SIGALRM ? " (timed out)" :
		     WTERMSIG(status) == SIGSYS ? " (a seccomp kill, not an errno)" : "");
	else
		fail(r, "check exited (status 0x%x) without a result", (unsigned)status);
}

int main(int argc, char **argv)
{
	static struct result results[ARRAY_SIZE(checks)];
	struct opts opts = { 0, NULL, "" };
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--host-port") == 0 && i + 1 < argc &&
		    (opts.host_port = atoi(argv[i + 1])) > 0 && opts.host_port < 65536) {
			i++;
		} else if (strcmp(argv[i], "--expect-hostname") == 0 && i + 1 < argc) {
			opts.expect_hostname = argv[++i];
		} else {
			fprintf(stderr, "usage: kennel-probe [--host-port N] [--expect-hostname H]\n");
			return 2;
		}
	}

	/* stage 1: in-process checks, before the probe opens anything */
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++)
		if (checks[i].in_process)
			run_check(&checks[i], &opts, &results[i]);

	/* stages 2 and 3: the plan, then every result in table order */
	snprintf(opts.scratch, sizeof(opts.scratch), "/tmp/kennel-probe.XXXXXX");
	if (!mkdtemp(opts.scratch))
		opts.scratch[0] = '\0';
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n", ARRAY_SIZE(checks));
	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		const struct check *c = &checks[i];
		struct result *r = &results[i];

		if (!c->in_process)
			run_forked(c, &opts, r);
		if (r->verdict == PASS) {
			printf("ok %zu - %s\n", i + 1, c->what);
		} else if (r->verdict == SKIP) {
			printf("ok %zu - %s # SKIP %s\n", i + 1, c->what, r->detail);
		} else {
			printf("not ok %zu - %s: %s\n", i + 1, c->what, r->detail);
			failed++;
		}
	}
	if (opts.scratch[0])
		rmdir(opts.scratch);
	return failed ? 1 : 0;
}
