/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The launch sequence: one parent (the kennel process, on the host), one
 * child (pid 1 of the sandbox, kennel's init) and the command.
 *
 * How this works, in order:
 *   parent  1. compile or pick the seccomp filter, plan the id maps;
 *           2. clone3() the child into new user, mount, pid, ipc, uts, net
 *              and cgroup namespaces, with a pidfd;
 *   child      sets PR_SET_PDEATHSIG=SIGKILL, keeps only stdio and the sync
 *              socket, and waits;
 *   parent  3. writes the id maps (directly or via newuidmap/newgidmap);
 *              sync 1: "maps written";
 *   child   4. takes its uid/gid, becomes non-dumpable, sets the hostname,
 *              brings up lo, builds the filesystem and pivots into it;
 *           5. forks the command, which resets signals, enters the working
 *              directory (and checks it is inside the root), applies the
 *              rlimits, drops every capability, sets no_new_privs, loads the
 *              seccomp filter, marks every fd above 2 close-on-exec and execs;
 *           6. learns from a close-on-exec pipe whether the exec worked;
 *              sync 2: "exec ok" or the error; drops its own capabilities and
 *              runs the init loop (reap, forward signals) until the command
 *              exits, then exits with its status;
 *   parent  7. forwards the signals it is sent, serves the gateway, waits on
 *              the pidfd, and returns the child's exit code.
 * Any failure in the child before the exec is sent to the parent as a
 * message, printed by the CLI, and ends the launch with 125.
 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "hints.h"
#include "idmap.h"
#include "init.h"
#include "mount.h"
#include "netlink.h"
#include "seccomp.h"
#include "util.h"

#define SANDBOX_NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | \
			  CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP)

/* The fd the child keeps its end of the sync socket on. */
#define CHILD_SYNC_FD 3

enum sync_type {
	SYNC_MAPS_DONE = 1,  /* parent -> child, sync 1 */
	SYNC_EXEC_OK,        /* child -> parent, sync 2 */
	SYNC_SETUP_ERROR,    /* child -> parent, sync 2: err = errno */
	SYNC_EXEC_ERROR,     /* child -> parent, sync 2: err = exit code 126/127 */
	SYNC_NET_READY,      /* child -> parent, sync 1a: the gateway's sockets ride along (SCM_RIGHTS) */
	SYNC_NET_GO,         /* parent -> child, sync 1b: the gateway is being served */
};

/* The gateway's sockets, at most: a v4 and a v6 listener per port, and DNS. */
#define NET_MAX_FDS (2 * KN_GW_MAX_PORTS + 1)

struct sync_msg {
	int32_t type;
	int32_t err;
	char msg[1016];
};

/* What the command reports on its close-on-exec pipe when it cannot exec. */
struct exec_report {
	int32_t stage;
	int32_t err;
};

enum exec_stage {
	STAGE_CWD = 1,
	STAGE_CWD_OUTSIDE,
	STAGE_RLIMIT,
	STAGE_CAPS,
	STAGE_NNP,
	STAGE_SECCOMP,
	STAGE_EXEC,
};

struct child_ctx {
	const kn_spec *spec;
	const kn_idmap_plan *plan;
	const kn_bpf *seccomp;
	void (*warn_cb)(const char *msg);
	int sync_fd;
	const uint16_t *ports; /* the gateway's ports; NULL: loopback only */
	size_t n_ports;
};

/* x86_64 layout of struct clone_args (kernel >= 5.3), without <linux/sched.h>'s macro clashes. */
struct kn_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
};

static int sync_send(int fd, int type, int errnum, const char *msg)
{
	struct sync_msg m = { .type = type, .err = errnum };

	if (msg)
		snprintf(m.msg, sizeof(m.msg), "%s", msg);
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t) sizeof(m))
		return -errno;
	return 0;
}

static _Noreturn void child_fail(int sync_fd, kn_error *err)
{
	const char *hint = kn_hint_setup(err->code);

	if (hint) {
		char buf[sizeof(err->msg) + 512];

		snprintf(buf, sizeof(buf), "%s (%s)", err->msg, hint);
		sync_send(sync_fd, SYNC_SETUP_ERROR, err->code, buf);
	} else {
		sync_send(sync_fd, SYNC_SETUP_ERROR, err->code, err->msg);
	}
	_exit(KN_EXIT_RUNTIME);
}

static int take_identity(const struct child_ctx *c, kn_error *err)
{
	const kn_spec *spec = c->spec;

	if (!c->plan->deny_setgroups) {
		gid_t gids[64];
		size_t n = spec->n_additional_gids < 64 ? spec->n_additional_gids : 64;

		for (size_t i = 0; i < n; i++)
			gids[i] = spec->additional_gids[i];
		/* Drop the host's supplementary groups (root's group 0 above all). */
		if (setgroups(n, gids) < 0)
			return kn_error_set(err, errno, "setgroups");
	} else if (spec->n_additional_gids && c->warn_cb) {
		c->warn_cb("process.user.additionalGids ignored: a single-id user namespace cannot set groups");
	}
	if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
		return kn_error_set(err, errno, "set gid %u (is it mapped?)", spec->gid);
	if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
		return kn_error_set(err, errno, "set uid %u (is it mapped?)", spec->uid);
	return 0;
}

/*
 * PATH search with the sandbox's own PATH (execvp would use kennel's).
 * Return: the errno that explains the failure (EACCES wins over ENOENT,
 * as in the shell).
 */
static int exec_search(const kn_spec *spec)
{
	const char *file = spec->args[0];
	const char *path;
	bool eacces = false;
	char buf[PATH_MAX];

	if (strchr(file, '/')) {
		execve(file, spec->args, spec->env);
		return errno;
	}
	path = kn_env_find(spec->env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		size_t len = (size_t) (end - path);

		if (len == 0 || len + 1 + strlen(file) + 1 > sizeof(buf))
			goto next;
		memcpy(buf, path, len);
		buf[len] = '/';
		strcpy(buf + len + 1, file);
		execve(buf, spec->args, spec->env);
		switch (errno) {
		case EACCES:
			eacces = true;
			break;
		case ENOENT:
		case ENOTDIR:
		case ESTALE:
		case ELOOP:
		case ENAMETOOLONG:
		case ENODEV:
		case ETIMEDOUT:
			break;
		default:
			return errno;
		}
next:
		path = *end ? end + 1 : end;
	}
	return eacces ? EACCES : ENOENT;
}

static _Noreturn void report_and_exit(int fd, int stage, int errnum)
{
	struct exec_report rep = { stage, errnum };

	if (write(fd, &rep, sizeof(rep)) < 0) {
		/* init will see EOF and an exit status of 127 */
	}
	_exit(KN_EXIT_NOT_FOUND);
}

static _Noreturn void command_main(const struct child_ctx *c, int report_fd)
{
	const kn_spec *spec = c->spec;
	kn_error err = KN_ERROR_INIT;
	char cwd[PATH_MAX];
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* CVE-2024-21626 class: the working directory must be inside the new root. */
	if (chdir(spec->cwd) < 0)
		report_and_exit(report_fd, STAGE_CWD, errno);
	if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
		report_and_exit(report_fd, STAGE_CWD_OUTSIDE, errno ? errno : EPERM);

	for (size_t i = 0; i < spec->n_rlimits; i++) {
		struct rlimit rl = { spec->rlimits[i].soft, spec->rlimits[i].hard };

		if (setrlimit(spec->rlimits[i].resource, &rl) < 0)
			report_and_exit(report_fd, STAGE_RLIMIT, errno);
	}
	if (kn_caps_drop_all(&err) < 0)
		report_and_exit(report_fd, STAGE_CAPS, err.code);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		report_and_exit(report_fd, STAGE_NNP, errno);
	/* Every fd but stdio closes at exec: the sync socket and report pipe already are CLOEXEC. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		report_and_exit(report_fd, STAGE_EXEC, errno);
	if (kn_seccomp_apply(c->seccomp, &err) < 0)
		report_and_exit(report_fd, STAGE_SECCOMP, err.code);
	report_and_exit(report_fd, STAGE_EXEC, exec_search(spec));
}

static void describe_exec_failure(const kn_spec *spec, const struct exec_report *rep, char *buf, size_t cap, int *code)
{
	const char *what = strerror(rep->err);

	*code = KN_EXIT_RUNTIME;
	switch (rep->stage) {
	case STAGE_CWD:
		snprintf(buf, cap, "working directory %s: %s", spec->cwd, what);
		break;
	case STAGE_CWD_OUTSIDE:
		snprintf(buf, cap, "working directory %s resolves outside the sandbox root: refusing to run", spec->cwd);
		break;
	case STAGE_RLIMIT:
		snprintf(buf, cap, "set rlimits: %s (a limit above the host's hard limit cannot be raised)", what);
		break;
	case STAGE_CAPS:
		snprintf(buf, cap, "drop capabilities: %s", what);
		break;
	case STAGE_NNP:
		snprintf(buf, cap, "set no_new_privs: %s", what);
		break;
	case STAGE_SECCOMP:
		snprintf(buf, cap, "load the seccomp filter: %s", what);
		break;
	default:
		if (rep->err == ENOENT && !strchr(spec->args[0], '/')) {
			snprintf(buf, cap, "exec %s: command not found in the sandbox's PATH", spec->args[0]);
			*code = KN_EXIT_NOT_FOUND;
		} else if (rep->err == ENOENT) {
			snprintf(buf, cap, "exec %s: %s", spec->args[0], what);
			*code = KN_EXIT_NOT_FOUND;
		} else {
			snprintf(buf, cap, "exec %s: %s", spec->args[0], what);
			*code = KN_EXIT_CANNOT_EXEC;
		}
	}
}

/* Send @type with @fds attached (SCM_RIGHTS), in one message. */
static int sync_send_fds(int fd, int type, const int *fds, size_t n)
{
	struct sync_msg m = { .type = type };
	char cbuf[CMSG_SPACE(sizeof(int) * NET_MAX_FDS)];
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (n > NET_MAX_FDS)
		return -E2BIG;
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t) sizeof(m))
		return -errno;
	return 0;
}

/* The child's part of the egress network: sync 1a, sync 1b, the self-test. */
static int child_network(const struct child_ctx *c, kn_error *err)
{
	kn_gateway_socks socks;
	int fds[NET_MAX_FDS];
	struct sync_msg m;
	size_t n;
	ssize_t got;
	int r;

	r = kn_netlink_setup_gateway(c->ports, c->n_ports, &socks, err);
	if (r < 0)
		return kn_error_wrap(err, "egress network");
	n = kn_gateway_socks_list(&socks, fds, NET_MAX_FDS);
	/* sync 1a */
	r = sync_send_fds(c->sync_fd, SYNC_NET_READY, fds, n);
	kn_gateway_socks_close(&socks);
	if (r < 0)
		return kn_error_set(err, -r, "egress network: pass the gateway's sockets to kennel");
	/* sync 1b */
	do
		got = recv(c->sync_fd, &m, sizeof(m), 0);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t) sizeof(m) || m.type != SYNC_NET_GO)
		_exit(KN_EXIT_RUNTIME); /* the parent failed or died: it reports why */
	r = kn_gateway_probe(c->ports, c->n_ports, err);
	return r < 0 ? kn_error_wrap(err, "egress network") : 0;
}

static _Noreturn void child_main(const struct child_ctx *c)
{
	kn_mount_prep prep = { .root_fd = -1 };
	kn_error err = KN_ERROR_INIT;
	struct sync_msg m;
	struct exec_report rep;
	int report[2];
	pid_t cmd;
	ssize_t n;
	int code;

	/* sync 1: wait until the parent has written the id maps (EOF: it died). */
	do
		n = recv(c->sync_fd, &m, sizeof(m), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t) sizeof(m) || m.type != SYNC_MAPS_DONE)
		_exit(KN_EXIT_RUNTIME);

	/* Host paths are opened with the caller's credentials, before the switch. */
	if (kn_mount_prepare(c->spec, &prep, &err) < 0)
		child_fail(c->sync_fd, &err);
	if (take_identity(c, &err) < 0)
		child_fail(c->sync_fd, &err);
	/*
	 * A credential change clears the parent-death signal (prctl(2)): set it
	 * again, then make sure the parent did not die in between (its end of
	 * the sync socket would have hung up).
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(KN_EXIT_RUNTIME);
	{
		struct pollfd pfd = { .fd = c->sync_fd, .events = POLLIN };

		if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)))
			_exit(KN_EXIT_RUNTIME);
	}
	/* Nobody inside may ptrace us or open /proc/1/exe (CVE-2019-5736 class). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		kn_error_set(&err, errno, "set non-dumpable");
		child_fail(c->sync_fd, &err);
	}
	if (c->spec->hostname && sethostname(c->spec->hostname, strlen(c->spec->hostname)) < 0) {
		kn_error_set(&err, errno, "set hostname %s", c->spec->hostname);
		child_fail(c->sync_fd, &err);
	}
	if (c->ports) {
		if (child_network(c, &err) < 0)
			child_fail(c->sync_fd, &err);
	} else if (kn_netlink_loopback_up(&err) < 0) {
		child_fail(c->sync_fd, &err);
	}
	if (kn_mount_setup_root(c->spec, &prep, c->plan, c->warn_cb, &err) < 0)
		child_fail(c->sync_fd, &err);
	kn_mount_prep_release(&prep);

	if (pipe2(report, O_CLOEXEC) < 0) {
		kn_error_set(&err, errno, "pipe");
		child_fail(c->sync_fd, &err);
	}
	cmd = fork();
	if (cmd < 0) {
		kn_error_set(&err, errno, "fork the command");
		child_fail(c->sync_fd, &err);
	}
	if (cmd == 0) {
		close(report[0]);
		command_main(c, report[1]);
	}
	close(report[1]);

	/* sync 2: did the exec work? */
	do
		n = read(report[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == (ssize_t) sizeof(rep)) {
		char buf[sizeof(m.msg)];
		int status;

		describe_exec_failure(c->spec, &rep, buf, sizeof(buf), &code);
		if (code == KN_EXIT_RUNTIME)
			sync_send(c->sync_fd, SYNC_SETUP_ERROR, rep.err, buf);
		else
			sync_send(c->sync_fd, SYNC_EXEC_ERROR, code, buf);
		waitpid(cmd, &status, 0);
		_exit(code);
	}
	sync_send(c->sync_fd, SYNC_EXEC_OK, 0, NULL);
	close(c->sync_fd);

	/* pid 1 needs no privilege to reap and forward. */
	if (kn_caps_drop_all(&err) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		kill(cmd, SIGKILL);
		_exit(KN_EXIT_RUNTIME);
	}
	_exit(kn_init_loop(cmd));
}

/*
 * fork()-like clone into the new namespaces.  clone3 gives the pidfd
 * atomically; where clone3 is filtered (old container seccomp profiles
 * return ENOSYS) fall back to clone + pidfd_open, which is race-free here
 * because the child cannot exit before sync 1.
 */
static pid_t clone_sandbox(int *pidfd)
{
	struct kn_clone_args args = {
		.flags = SANDBOX_NS_FLAGS | CLONE_PIDFD,
		.pidfd = (uint64_t) (uintptr_t) pidfd,
		.exit_signal = SIGCHLD,
	};
	long pid;

	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0 || errno != ENOSYS)
		return (pid_t) pid;
	pid = syscall(SYS_clone, SANDBOX_NS_FLAGS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid > 0) {
		*pidfd = pidfd_open((pid_t) pid, 0);
		if (*pidfd < 0) {
			int saved = errno;

			kill((pid_t) pid, SIGKILL);
			waitpid((pid_t) pid, NULL, 0);
			errno = saved;
			return -1;
		}
	}
	return (pid_t) pid;
}

static int write_pid_file(const char *path, pid_t pid, kn_error *err)
{
	_cleanup_free_ char *tmp = kn_xasprintf("%s.kennel-tmp.%d", path, (int) getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d", (int) pid);

	if (fd < 0)
		return kn_error_set(err, errno, "pid file %s", path);
	if (write(fd, buf, (size_t) len) != len || rename(tmp, path) < 0) {
		int saved = errno;

		unlink(tmp);
		return kn_error_set(err, saved, "pid file %s", path);
	}
	return 0;
}

struct parent_state {
	bool setup_failed;
	bool exec_failed;
	int exec_code;
};

static void handle_sync(struct parent_state *st, const struct sync_msg *m, kn_error *err)
{
	switch (m->type) {
	case SYNC_SETUP_ERROR:
		st->setup_failed = true;
		kn_error_setx(err, m->err ? m->err : EIO, "%s", m->msg);
		break;
	case SYNC_EXEC_ERROR:
		st->exec_failed = true;
		st->exec_code = m->err;
		kn_error_setx(err, EIO, "%s", m->msg);
		break;
	default:
		break;
	}
}

/* sync 1a on the parent's side: the child's gateway sockets, or its setup error. */
static int recv_net_ready(int sync_fd, struct parent_state *st, kn_gateway_socks *socks, kn_error *err)
{
	struct sync_msg m = { 0 };
	char cbuf[CMSG_SPACE(sizeof(int) * NET_MAX_FDS)];
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fds[NET_MAX_FDS];
	size_t n = 0;
	ssize_t got;

	kn_gateway_socks_init(socks);
	do
		got = recvmsg(sync_fd, &mh, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	for (cm = CMSG_FIRSTHDR(&mh); got > 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (n < NET_MAX_FDS)
					fds[n++] = fd;
				else
					close(fd);
			}
		}
	}
	if (got != (ssize_t) sizeof(m) || m.type != SYNC_NET_READY || (mh.msg_flags & MSG_CTRUNC)) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		if (got == (ssize_t) sizeof(m))
			handle_sync(st, &m, err);
		if (st->setup_failed || st->exec_failed)
			return -err->code;
		return kn_error_setx(err, EPROTO, "the sandbox did not set up its network");
	}
	/* the order of kn_gateway_socks_list(): tcp4..., tcp6..., dns4 */
	if (n % 2 != 1 || (n - 1) / 2 > KN_GW_MAX_PORTS) {
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		return kn_error_setx(err, EPROTO, "the sandbox sent %zu gateway sockets", n);
	}
	socks->n_ports = (n - 1) / 2;
	for (size_t i = 0; i < socks->n_ports; i++) {
		socks->tcp4[i] = fds[i];
		socks->tcp6[i] = fds[socks->n_ports + i];
	}
	socks->dns4 = fds[n - 1];
	return 0;
}

/* The fds of the parent's loop that are not the gateway's. */
enum { EV_PIDFD = 1, EV_SIGNAL, EV_SYNC };

int kn_launch_run(const kn_launch_opts *opts, kn_error *err)
{
	const kn_spec *spec = opts->spec;
	const bool net = opts->net && opts->net->allow && opts->net->allow->mode != KN_NET_NONE;
	struct parent_state st = { 0 };
	kn_idmap_plan plan;
	kn_bpf bpf = { 0 };
	sigset_t set, old;
	_cleanup_close_ int sync_fd = -1;
	_cleanup_close_ int sfd = -1;
	_cleanup_close_ int epfd = -1;
	kn_gateway *gw = NULL;
	kn_hookserver *hs = NULL;
	static kn_ev ev_pidfd = { EV_PIDFD }, ev_signal = { EV_SIGNAL }, ev_sync = { EV_SYNC };
	uint16_t ports[KN_GW_MAX_PORTS];
	size_t n_ports = 0;
	int pidfd = -1;
	int sv[2];
	siginfo_t info;
	pid_t pid;
	int r;

	r = kn_spec_validate(spec, err);
	if (r < 0)
		return r;
	r = kn_idmap_plan_make(spec, opts->host_uid, opts->host_gid, &plan, err);
	if (r < 0)
		return r;
	if (net) {
		n_ports = kn_allowlist_ports(opts->net->allow, ports, KN_GW_MAX_PORTS);
		if (n_ports > KN_GW_MAX_PORTS)
			return kn_error_setx(err, E2BIG, "the allowlist names %zu ports; the gateway listens on at most %d",
					     n_ports, KN_GW_MAX_PORTS);
	}
	r = kn_seccomp_prepare(spec->seccomp, &bpf, err);
	if (r < 0)
		return kn_error_wrap(err, "seccomp");

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = kn_error_set(err, errno, "socketpair");
		goto out_bpf;
	}
	kn_init_forwarded_signals(&set);
	sigprocmask(SIG_BLOCK, &set, &old);

	pid = clone_sandbox(&pidfd);
	if (pid < 0) {
		int saved = errno;
		const char *hint = kn_hint_userns(saved);

		close(sv[0]);
		close(sv[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (hint)
			r = kn_error_setx(err, saved, "cannot create the sandbox's namespaces: %s: %s", strerror(saved), hint);
		else
			r = kn_error_set(err, saved, "cannot create the sandbox's namespaces");
		goto out_bpf;
	}
	if (pid == 0) {
		struct child_ctx c = {
			.spec = spec,
			.plan = &plan,
			.seccomp = &bpf,
			.warn_cb = opts->warn_cb,
			.sync_fd = CHILD_SYNC_FD,
			.ports = net ? ports : NULL,
			.n_ports = n_ports,
		};

		/* If kennel dies, pid 1 dies, and with it the whole pid namespace. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(sv[0]);
		if (sv[1] != CHILD_SYNC_FD && dup3(sv[1], CHILD_SYNC_FD, O_CLOEXEC) < 0)
			_exit(KN_EXIT_RUNTIME);
		/* Keep stdio and the sync socket; nothing else of the host's crosses. */
		close_range(CHILD_SYNC_FD + 1, ~0U, 0);
		child_main(&c);
	}
	close(sv[1]);
	sync_fd = sv[0];

	r = kn_idmap_write(pid, &plan, err);
	if (r < 0) {
		const char *hint = kn_hint_setup(err->code);

		if (hint)
			kn_error_wrap(err, "write the id map (%s)", hint);
		else
			kn_error_wrap(err, "write the id map");
		goto kill_child;
	}
	if (opts->pid_file) {
		r = write_pid_file(opts->pid_file, pid, err);
		if (r < 0)
			goto kill_child;
	}
	/* sync 1 */
	if (sync_send(sync_fd, SYNC_MAPS_DONE, 0, NULL) < 0) {
		r = kn_error_set(err, errno, "release the sandbox");
		goto kill_child;
	}

	epfd = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (epfd < 0 || sfd < 0) {
		r = kn_error_set(err, errno, epfd < 0 ? "epoll" : "signalfd");
		goto kill_child;
	}
	if (opts->hooks) {
		/* e.g. loading the rules, while the child builds the sandbox */
		if (opts->hooks->prepare) {
			r = opts->hooks->prepare(opts->hooks->ctx, err);
			if (r < 0)
				goto kill_child;
		}
		/* the command cannot run before sync 2, so the socket is there for its first hook */
		r = kn_hookserver_start(opts->hooks->socket, epfd, opts->hooks->decide, opts->hooks->ctx, opts->hooks->audit,
					&hs, err);
		if (r < 0)
			goto kill_child;
	}
	if (net) {
		kn_gateway_socks socks;
		struct rlimit rl;

		/* sync 1a */
		r = recv_net_ready(sync_fd, &st, &socks, err);
		if (r < 0)
			goto kill_child;
		/* every relayed connection holds two sockets and two pipes: allow many (the sandbox keeps its own limit) */
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		r = kn_gateway_start(opts->net, &socks, epfd, &gw, err);
		kn_gateway_socks_close(&socks);
		if (r < 0)
			goto kill_child;
		kn_audit_net(opts->net->audit, "network", NULL, NULL, 0, NULL, "info",
			     opts->net->allow->mode == KN_NET_OPEN ? "gateway up: mode open" : "gateway up: mode allowlist");
		/* sync 1b */
		if (sync_send(sync_fd, SYNC_NET_GO, 0, NULL) < 0) {
			r = kn_error_set(err, errno, "release the sandbox");
			goto kill_child;
		}
	}
	{
		struct epoll_event e1 = { .events = EPOLLIN, .data.ptr = &ev_pidfd };
		struct epoll_event e2 = { .events = EPOLLIN, .data.ptr = &ev_signal };
		struct epoll_event e3 = { .events = EPOLLIN, .data.ptr = &ev_sync };

		if (epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &e1) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &e2) < 0 ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, sync_fd, &e3) < 0) {
			r = kn_error_set(err, errno, "epoll");
			goto kill_child;
		}
	}
	for (bool done = false; !done;) {
		struct epoll_event evs[64];
		int t_gw = gw ? kn_gateway_timeout_ms(gw) : -1, t_hs = hs ? kn_hookserver_timeout_ms(hs) : -1;
		int n = epoll_wait(epfd, evs, 64, t_gw < 0 ? t_hs : t_hs < 0 ? t_gw : t_gw < t_hs ? t_gw : t_hs);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = kn_error_set(err, errno, "epoll_wait");
			goto kill_child;
		}
		for (int i = 0; i < n; i++) {
			const kn_ev *tag = evs[i].data.ptr;

			if (tag->type >= KN_EV_HOOKS) {
				kn_hookserver_event(hs, &evs[i]);
			} else if (tag->type >= KN_EV_GATEWAY) {
				kn_gateway_event(gw, &evs[i]);
			} else if (tag->type == EV_SYNC) {
				struct sync_msg m;
				ssize_t got = recv(sync_fd, &m, sizeof(m), MSG_DONTWAIT);

				if (got == (ssize_t) sizeof(m)) {
					handle_sync(&st, &m, err);
				} else if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
					/* The child closed its end after sync 2 (or died): stop watching it. */
					epoll_ctl(epfd, EPOLL_CTL_DEL, sync_fd, NULL);
					close(sync_fd);
					sync_fd = -1;
				}
			} else if (tag->type == EV_SIGNAL) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
					if (si.ssi_signo == SIGCHLD || si.ssi_code == SI_KERNEL)
						continue;
					pidfd_send_signal(pidfd, (int) si.ssi_signo, NULL, 0);
				}
			} else if (tag->type == EV_PIDFD) {
				done = true;
			}
		}
		if (gw)
			kn_gateway_tick(gw);
		if (hs)
			kn_hookserver_tick(hs);
	}

	memset(&info, 0, sizeof(info));
	while (waitid(P_PIDFD, (id_t) pidfd, &info, WEXITED) < 0) {
		if (errno != EINTR) {
			r = kn_error_set(err, errno, "wait for the sandbox");
			goto out;
		}
	}
	/* A last message may have been sent just before the exit. */
	if (sync_fd >= 0) {
		struct sync_msg m;

		while (recv(sync_fd, &m, sizeof(m), MSG_DONTWAIT) == (ssize_t) sizeof(m))
			handle_sync(&st, &m, err);
	}
	if (st.setup_failed) {
		r = -err->code;
	} else if (st.exec_failed) {
		r = st.exec_code;
	} else if (info.si_code == CLD_EXITED) {
		r = info.si_status;
	} else {
		r = 128 + info.si_status;
	}
	goto out;

kill_child:
	pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PIDFD, (id_t) pidfd, &info, WEXITED) < 0 && errno == EINTR)
		;
out:
	kn_hookserver_stop(hs);
	kn_gateway_stop(gw);
	if (pidfd >= 0)
		close(pidfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
out_bpf:
	kn_bpf_free(&bpf);
	return r;
}
