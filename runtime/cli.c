/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `kennel sandbox`: the CI way in.  The options become an OCI spec (the
 * same model `kennel-oci` reads from a bundle) and run through the same
 * launcher.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cleanup.h"
#include "launch.h"
#include "hook_proto.h"
#include "audit.h"
#include "hookpolicy.h"
#include "policy.h"
#include "network.h"
#include "session.h"
#include "spec.h"
#include "util.h"

#define KN_DEFAULT_TMPFS_SIZE (64ULL << 20)
#define KN_NOBODY 65534

void kn_cli_warn(const char *msg)
{
	fprintf(stderr, "kennel: warning: %s\n", msg);
}

static int fail(const kn_error *err)
{
	fprintf(stderr, "kennel: %s\n", err->msg);
	return KN_EXIT_RUNTIME;
}

static void sandbox_usage(FILE *f)
{
	fputs("Usage: kennel sandbox [OPTIONS] -- COMMAND [ARG...]\n"
	      "\n"
	      "Run COMMAND in a rootless sandbox: new user, mount, pid, ipc, uts, net and\n"
	      "cgroup namespaces; read-only root; no capabilities; no_new_privs; seccomp.\n"
	      "Exit status: COMMAND's (128+N when killed by signal N), 125 when kennel\n"
	      "failed, 126 when COMMAND cannot be executed, 127 when it is not found.\n"
	      "\n"
	      "Options:\n"
	      "  --rootfs DIR|NAME|sha256:HEX\n"
	      "                         root filesystem: a directory, a name pinned in the\n"
	      "                         lock file, or a digest in the cache (required)\n"
	      "  --lock FILE            the lock file for NAME (default ./kennel.lock, else\n"
	      "                         ~/.config/kennel/kennel.lock)\n"
	      "  --workspace DIR        bind DIR read-write at /workspace and start there\n"
	      "  --bind SRC:DST[:ro]    bind a host path (recursive; nosuid, nodev)\n"
	      "  --env K=V | --env K    set a variable (K alone: the host's value);\n"
	      "                         the host environment is not passed otherwise\n"
	      "  --hostname NAME        hostname inside (default: kennel)\n"
	      "  --network MODE         allowlist (default): only the allowed names, checked\n"
	      "                         by DNS answer and TLS SNI / HTTP Host; open: any\n"
	      "                         public address; none: loopback only\n"
	      "  --allow RULE           NAME[:PORT], *.DOMAIN[:PORT], CIDR[:PORT] or\n"
	      "                         [IPV6/N]:PORT; no port: 443 and 80 (repeatable;\n"
	      "                         adds to api.anthropic.com, claude.ai, platform.claude.com)\n"
	      "  --no-default-allow     without those three default names\n"
	      "  --dns-upstream ADDR[:PORT]\n"
	      "                         the resolver kennel's DNS filter asks (default: the\n"
	      "                         host's /etc/resolv.conf)\n"
	      "  --audit-log FILE       network and hook decisions, one JSON line each (default\n"
	      "                         ~/.local/state/kennel/audit.log; root: /var/log/kennel)\n"
	      "  --rules FILE           command policy rules added to the shipped ones\n"
	      "                         (repeatable; see hooks/rules/default.yaml)\n"
	      "  --tmpfs-size SIZE      size of /tmp, /run and /home/claude (default 64m)\n"
	      "  --cwd DIR              working directory inside (default /workspace or /)\n"
	      "  --host-uid UID         as root: the host uid the sandbox user maps to\n"
	      "  --host-gid GID         (default: the workspace's owner, else 65534)\n"
	      "  -h, --help             this text\n",
	      f);
}

static int parse_bind(kn_spec *spec, const char *arg, kn_error *err)
{
	_cleanup_free_ char *copy = kn_xstrdup(arg);
	_cleanup_free_ char *src = NULL;
	char *dst, *mode;
	const char *opts = "rbind,nosuid,nodev";

	dst = strchr(copy, ':');
	if (!dst || dst == copy || !dst[1])
		return kn_error_setx(err, EINVAL, "--bind %s: expected SRC:DST[:ro]", arg);
	*dst++ = '\0';
	mode = strchr(dst, ':');
	if (mode) {
		*mode++ = '\0';
		if (!strcmp(mode, "ro"))
			opts = "rbind,nosuid,nodev,ro";
		else if (strcmp(mode, "rw") != 0)
			return kn_error_setx(err, EINVAL, "--bind %s: mode must be ro or rw, not '%s'", arg, mode);
	}
	if (dst[0] != '/')
		return kn_error_setx(err, EINVAL, "--bind %s: destination %s must be an absolute path", arg, dst);
	src = realpath(copy, NULL);
	if (!src)
		return kn_error_set(err, errno, "--bind %s: %s", arg, copy);
	kn_spec_add_mount(spec, dst, "bind", src, opts);
	return 0;
}

static int cmd_sandbox(int argc, char **argv)
{
	enum { OPT_ROOTFS = 256, OPT_WORKSPACE, OPT_BIND, OPT_ENV, OPT_HOSTNAME, OPT_NETWORK,
	       OPT_TMPFS_SIZE, OPT_CWD, OPT_HOST_UID, OPT_HOST_GID, OPT_LOCK, OPT_ALLOW, OPT_NO_DEFAULT_ALLOW,
	       OPT_DNS_UPSTREAM, OPT_AUDIT_LOG, OPT_RULES };
	static const struct option longopts[] = {
		{ "rootfs", required_argument, NULL, OPT_ROOTFS },
		{ "workspace", required_argument, NULL, OPT_WORKSPACE },
		{ "bind", required_argument, NULL, OPT_BIND },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "hostname", required_argument, NULL, OPT_HOSTNAME },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "tmpfs-size", required_argument, NULL, OPT_TMPFS_SIZE },
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "host-uid", required_argument, NULL, OPT_HOST_UID },
		{ "host-gid", required_argument, NULL, OPT_HOST_GID },
		{ "lock", required_argument, NULL, OPT_LOCK },
		{ "allow", required_argument, NULL, OPT_ALLOW },
		{ "no-default-allow", no_argument, NULL, OPT_NO_DEFAULT_ALLOW },
		{ "dns-upstream", required_argument, NULL, OPT_DNS_UPSTREAM },
		{ "audit-log", required_argument, NULL, OPT_AUDIT_LOG },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	kn_error err = KN_ERROR_INIT;
	const char *rootfs = NULL, *workspace = NULL, *hostname = NULL, *cwd = NULL, *lock = NULL;
	_cleanup_free_ char *rootfs_dir = NULL;
	_cleanup_close_ int rootfs_lock = -1;
	char **binds = NULL, **envs = NULL;
	uint64_t tmpfs_size = KN_DEFAULT_TMPFS_SIZE;
	uint32_t host_uid = 0, host_gid = 0;
	bool have_uid = false, have_gid = false;
	_cleanup_free_ char *abs_rootfs = NULL, *abs_ws = NULL;
	kn_spec *spec = NULL;
	kn_launch_opts lo = { 0 };
	kn_network_args na = { 0 };
	kn_network net = { 0 };
	kn_session session = { 0 };
	kn_audit audit = { .fd = -1 };
	kn_hooks_config hooks = { 0 };
	kn_hook_policy *policy = NULL;
	const char *audit_log = NULL;
	char **rules = NULL;
	_cleanup_free_ char *audit_path = NULL, *shim = NULL;
	char **allows = NULL;
	int opt, r, ret = KN_EXIT_RUNTIME;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_ROOTFS:
			rootfs = optarg;
			break;
		case OPT_WORKSPACE:
			workspace = optarg;
			break;
		case OPT_BIND:
			kn_strv_append(&binds, optarg);
			break;
		case OPT_ENV:
			kn_strv_append(&envs, optarg);
			break;
		case OPT_HOSTNAME:
			hostname = optarg;
			break;
		case OPT_NETWORK:
			na.mode = optarg;
			break;
		case OPT_ALLOW:
			kn_strv_append(&allows, optarg);
			break;
		case OPT_NO_DEFAULT_ALLOW:
			na.no_default_allow = true;
			break;
		case OPT_DNS_UPSTREAM:
			na.dns_upstream = optarg;
			break;
		case OPT_AUDIT_LOG:
			audit_log = optarg;
			break;
		case OPT_RULES:
			kn_strv_append(&rules, optarg);
			break;
		case OPT_TMPFS_SIZE:
			if (kn_parse_size(optarg, &tmpfs_size, &err) < 0) {
				kn_error_wrap(&err, "--tmpfs-size");
				ret = fail(&err);
				goto out;
			}
			if (tmpfs_size < 4096) {
				fprintf(stderr, "kennel: --tmpfs-size %s: at least 4k\n", optarg);
				goto out;
			}
			break;
		case OPT_CWD:
			cwd = optarg;
			break;
		case OPT_LOCK:
			lock = optarg;
			break;
		case OPT_HOST_UID:
		case OPT_HOST_GID:
			if (kn_parse_u32(optarg, opt == OPT_HOST_UID ? "--host-uid" : "--host-gid",
					 opt == OPT_HOST_UID ? &host_uid : &host_gid, &err) < 0) {
				ret = fail(&err);
				goto out;
			}
			if (opt == OPT_HOST_UID)
				have_uid = true;
			else
				have_gid = true;
			break;
		case 'h':
			sandbox_usage(stdout);
			ret = 0;
			goto out;
		default:
			fprintf(stderr, "kennel: sandbox: unknown or incomplete option '%s' (see kennel sandbox --help)\n",
				argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "kennel: sandbox: no command given: kennel sandbox [OPTIONS] -- COMMAND [ARG...]\n");
		goto out;
	}
	if (!rootfs) {
		fprintf(stderr, "kennel: sandbox: no root filesystem: pass --rootfs DIR "
				"(scripts/make-test-rootfs builds a small one)\n");
		goto out;
	}
	/* A cache entry stays share-locked while the sandbox runs, so rm/gc leave it alone. */
	if (kn_rootfs_resolve(rootfs, lock, &rootfs_dir, &rootfs_lock, &err) < 0) {
		ret = fail(&err);
		goto out;
	}
	abs_rootfs = realpath(rootfs_dir, NULL);
	if (!abs_rootfs) {
		kn_error_set(&err, errno, "rootfs %s", rootfs);
		ret = fail(&err);
		goto out;
	}

	spec = kn_spec_new_default(tmpfs_size);
	free(spec->root_path);
	spec->root_path = steal_ptr(&abs_rootfs);
	kn_strv_free(spec->args);
	spec->args = kn_strv_dup(argv + optind);
	if (getenv("TERM")) {
		_cleanup_free_ char *kv = kn_xasprintf("TERM=%s", getenv("TERM"));

		kn_env_set(&spec->env, kv);
	}
	for (size_t i = 0; envs && envs[i]; i++) {
		if (strchr(envs[i], '=')) {
			if (envs[i][0] == '=') {
				fprintf(stderr, "kennel: --env %s: empty variable name\n", envs[i]);
				goto out;
			}
			kn_env_set(&spec->env, envs[i]);
		} else {
			const char *v = getenv(envs[i]);
			_cleanup_free_ char *kv = NULL;

			if (!v) {
				fprintf(stderr, "kennel: --env %s: not set in kennel's environment (use --env %s=VALUE)\n",
					envs[i], envs[i]);
				goto out;
			}
			kv = kn_xasprintf("%s=%s", envs[i], v);
			kn_env_set(&spec->env, kv);
		}
	}
	if (hostname) {
		free(spec->hostname);
		spec->hostname = kn_xstrdup(hostname);
	}
	if (workspace) {
		struct stat st;

		abs_ws = realpath(workspace, NULL);
		if (!abs_ws || stat(abs_ws, &st) < 0) {
			kn_error_set(&err, errno, "workspace %s", workspace);
			ret = fail(&err);
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "kennel: workspace %s is not a directory\n", workspace);
			goto out;
		}
		kn_spec_add_mount(spec, "/workspace", "bind", abs_ws, "rbind,nosuid,nodev");
		free(spec->cwd);
		spec->cwd = kn_xstrdup("/workspace");
		if (geteuid() == 0 && st.st_uid != 0 && !have_uid)
			host_uid = st.st_uid, have_uid = true;
		if (geteuid() == 0 && st.st_gid != 0 && !have_gid)
			host_gid = st.st_gid, have_gid = true;
	}
	for (size_t i = 0; binds && binds[i]; i++) {
		if (parse_bind(spec, binds[i], &err) < 0) {
			ret = fail(&err);
			goto out;
		}
	}
	if (cwd) {
		free(spec->cwd);
		spec->cwd = kn_xstrdup(cwd);
	}

	if (geteuid() != 0) {
		if ((have_uid && host_uid != geteuid()) || (have_gid && host_gid != getegid())) {
			fprintf(stderr, "kennel: --host-uid/--host-gid: only root chooses the host ids; "
					"rootless, the sandbox user is always you\n");
			goto out;
		}
		lo.host_uid = geteuid();
		lo.host_gid = getegid();
	} else {
		lo.host_uid = have_uid ? host_uid : KN_NOBODY;
		lo.host_gid = have_gid ? host_gid : KN_NOBODY;
	}
	/* The session: its id, audit log, hook socket and managed settings. */
	if (kn_session_create(&session, &err) < 0) {
		ret = fail(&err);
		goto out;
	}
	audit_path = audit_log ? kn_xstrdup(audit_log) : kn_audit_default_path(&err);
	if (!audit_path || kn_audit_open(&audit, audit_path, session.id, &err) < 0) {
		if (!audit_log)
			kn_error_wrap(&err, "the audit log (choose one with --audit-log FILE)");
		ret = fail(&err);
		goto out;
	}
	shim = kn_hook_shim_host_path(&err);
	if (!shim || kn_session_write_settings(&session, KN_HOOK_SHIM_PATH, &err) < 0) {
		ret = fail(&err);
		goto out;
	}
	kn_spec_add_mount(spec, KN_HOOK_SHIM_PATH, "bind", shim, "rbind,nosuid,nodev,ro");
	kn_spec_add_mount(spec, KN_HOOK_DIR, "bind", session.shared, "rbind,nosuid,nodev,noexec,ro");
	kn_spec_add_mount(spec, "/etc/claude-code/managed-settings.json", "bind", session.settings,
			  "rbind,nosuid,nodev,noexec,ro");
	policy = kn_hook_policy_new(rules, abs_ws, abs_ws ? "/workspace" : NULL);
	hooks.socket = session.socket;
	hooks.prepare = kn_hook_policy_prepare;
	hooks.decide = kn_hook_policy_decide;
	hooks.ctx = policy;
	hooks.audit = &audit;
	lo.hooks = &hooks;

	na.allow = allows;
	na.audit = &audit;
	if (kn_network_prepare(&na, spec, &net, &err) < 0) {
		ret = fail(&err);
		goto out;
	}
	lo.net = &net.gateway;
	lo.spec = spec;
	lo.warn_cb = kn_cli_warn;
	r = kn_launch_run(&lo, &err);
	if (r < 0) {
		ret = fail(&err);
	} else {
		if (err.code)
			fprintf(stderr, "kennel: %s\n", err.msg);
		ret = r;
	}
out:
	kn_network_release(&net);
	kn_hook_policy_free(policy);
	kn_audit_close(&audit);
	kn_session_remove(&session);
	kn_strv_free(rules);
	kn_strv_free(allows);
	kn_spec_free(spec);
	kn_strv_free(binds);
	kn_strv_free(envs);
	return ret;
}

/*
 * `kennel rootfs ...` runs the kennel-rootfs helper: libarchive, libcurl and
 * libcrypto (and the libraries they load) stay out of every sandbox start.
 * Looked for beside this binary (build tree, or a bin dir with it), then in
 * the install's libexec dir.
 */
static int exec_rootfs_helper(int argc, char **argv)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *candidates[2] = { NULL, NULL };
	char **args = kn_xcalloc((size_t) argc + 1, sizeof(char *));

	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			candidates[0] = kn_xasprintf("%s/kennel-rootfs", self);
		}
	}
	candidates[1] = kn_xasprintf("%s/kennel-rootfs", KENNEL_LIBEXECDIR);
	args[0] = (char *) "kennel-rootfs";
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	for (size_t i = 0; i < 2; i++)
		if (candidates[i] && access(candidates[i], X_OK) == 0)
			execv(candidates[i], args);
	fprintf(stderr, "kennel: rootfs: the helper kennel-rootfs is not installed (looked in %s and %s)\n",
		candidates[0] ? candidates[0] : "(beside kennel)", candidates[1]);
	return KN_EXIT_RUNTIME;
}

static void usage(FILE *f)
{
	fputs("Usage: kennel COMMAND [OPTIONS]\n"
	      "\n"
	      "Commands:\n"
	      "  sandbox [OPTIONS] -- CMD   run one command in a sandbox (see kennel sandbox --help)\n"
	      "  rootfs pull|ls|verify|rm|gc  pinned root filesystems (see kennel rootfs --help)\n"
	      "  policy check|list          the command policy on one hook event (stdin)\n"
	      "  audit                      read the audit log (see kennel audit --help)\n"
	      "  oci ...                    the OCI runtime command line (same as kennel-oci)\n"
	      "  version                    print the version\n",
	      f);
}

int kn_cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "sandbox"))
		return cmd_sandbox(argc - 1, argv + 1);
	if (!strcmp(argv[1], "oci"))
		return kn_oci_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rootfs"))
		return exec_rootfs_helper(argc - 1, argv + 1);
	if (!strcmp(argv[1], "policy"))
		return kn_policy_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "audit"))
		return kn_audit_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("kennel %s\n", KENNEL_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "kennel: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
