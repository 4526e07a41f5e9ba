/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `kennel-oci`: runc's command line over the same launcher.  So far: `run`
 * (foreground) and `spec`; the lifecycle commands (create, start, state,
 * kill, delete, exec) come with the OCI issue.  Global options podman and
 * containerd pass (--root, --log, --log-format, --systemd-cgroup) are
 * accepted; errors also go to --log, as JSON lines when --log-format=json.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "launch.h"
#include "seccomp.h"
#include "spec.h"
#include "util.h"

struct oci_global {
	const char *log_path;
	bool log_json;
};

static void oci_error(const struct oci_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void oci_error(const struct oci_global *g, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "kennel-oci: %s\n", msg);
	if (g->log_path) {
		_cleanup_fclose_ FILE *f = fopen(g->log_path, "ae");

		if (!f)
			return;
		if (g->log_json) {
			struct json_object *o = json_object_new_object();
			char ts[64];
			time_t now = time(NULL);
			struct tm tm;

			gmtime_r(&now, &tm);
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
			json_object_object_add(o, "level", json_object_new_string("error"));
			json_object_object_add(o, "msg", json_object_new_string(msg));
			json_object_object_add(o, "time", json_object_new_string(ts));
			fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		} else {
			fprintf(f, "kennel-oci: %s\n", msg);
		}
	}
}

/* Container ids as runc accepts them: letters, digits, '_', '+', '-', '.'. */
static bool valid_id(const char *id)
{
	if (!*id || strlen(id) > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '+' || *p == '-' || *p == '.'))
			return false;
	return true;
}

static void oci_warn(const char *msg)
{
	fprintf(stderr, "kennel-oci: warning: %s\n", msg);
}

static int cmd_run(const struct oci_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "detach", no_argument, NULL, 'd' },
		{ "console-socket", required_argument, NULL, 'c' },
		{ "preserve-fds", required_argument, NULL, 'f' },
		{ "no-pivot", no_argument, NULL, 'P' },
		{ "no-new-keyring", no_argument, NULL, 'K' },
		{ "keep", no_argument, NULL, 'k' },
		{ "no-subreaper", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bundle = ".";
	const char *pid_file = NULL;
	kn_error err = KN_ERROR_INIT;
	kn_spec *spec = NULL;
	kn_launch_opts lo = { 0 };
	int opt, r;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+b:d", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			bundle = optarg;
			break;
		case 'p':
			pid_file = optarg;
			break;
		case 'd':
			oci_error(g, "run --detach: not supported yet; use create/start once kennel-oci has them");
			return 1;
		case 'c':
			oci_error(g, "run --console-socket: not supported yet (terminal containers come with the OCI lifecycle commands)");
			return 1;
		case 'f':
			if (strcmp(optarg, "0") != 0) {
				oci_error(g, "run --preserve-fds %s: not supported yet", optarg);
				return 1;
			}
			break;
		case 'P':
		case 'K':
		case 'k':
		case 'S':
			break;
		default:
			oci_error(g, "run: unknown or incomplete option '%s'", argv[optind - 1]);
			return 1;
		}
	}
	if (optind != argc - 1) {
		oci_error(g, "run: expected exactly one container id: kennel-oci run [--bundle DIR] ID");
		return 1;
	}
	if (!valid_id(argv[optind])) {
		oci_error(g, "run: invalid container id '%s'", argv[optind]);
		return 1;
	}
	r = kn_spec_load(bundle, &spec, oci_warn, &err);
	if (r < 0) {
		oci_error(g, "%s", err.msg);
		return KN_EXIT_RUNTIME;
	}
	if (spec->terminal) {
		oci_error(g, "process.terminal=true needs --console-socket, which is not supported yet: set it to false");
		kn_spec_free(spec);
		return KN_EXIT_RUNTIME;
	}
	lo.spec = spec;
	lo.host_uid = geteuid() == 0 ? 65534 : geteuid();
	lo.host_gid = getegid() == 0 ? 65534 : getegid();
	lo.warn_cb = oci_warn;
	lo.pid_file = pid_file;
	r = kn_launch_run(&lo, &err);
	if (r < 0) {
		oci_error(g, "%s", err.msg);
		r = KN_EXIT_RUNTIME;
	} else if (err.code) {
		oci_error(g, "%s", err.msg);
	}
	kn_spec_free(spec);
	return r;
}

static int cmd_spec(const struct oci_global *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "rootless", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bundle = NULL;
	kn_spec *spec;
	struct json_object *o;
	const char *text;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+b:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			bundle = optarg;
			break;
		case 'r':
			/* kennel's default spec needs no privilege: the same either way. */
			break;
		default:
			oci_error(g, "spec: unknown option '%s'", argv[optind - 1]);
			return 1;
		}
	}
	spec = kn_spec_new_default(64ULL << 20);
	spec->seccomp = kn_seccomp_default_json();
	o = kn_spec_to_json(spec);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (bundle) {
		_cleanup_free_ char *path = kn_xasprintf("%s/config.json", bundle);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		FILE *f;

		if (fd < 0) {
			oci_error(g, "spec: %s: %s%s", path, strerror(errno), errno == EEXIST ? " (remove it first)" : "");
			json_object_put(o);
			kn_spec_free(spec);
			return 1;
		}
		f = fdopen(fd, "w");
		if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
			oci_error(g, "spec: write %s: %s", path, strerror(errno));
			json_object_put(o);
			kn_spec_free(spec);
			return 1;
		}
	} else {
		printf("%s\n", text);
	}
	json_object_put(o);
	kn_spec_free(spec);
	return 0;
}

static void oci_usage(FILE *f)
{
	fputs("Usage: kennel-oci [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
	      "\n"
	      "Commands:\n"
	      "  run [--bundle DIR] [--pid-file F] ID   run a bundle in the foreground\n"
	      "  spec [--rootless] [--bundle DIR]       print kennel's hardened config.json\n"
	      "                                         (with --bundle: write DIR/config.json)\n"
	      "Global options: --root DIR, --log FILE, --log-format text|json,\n"
	      "                --systemd-cgroup, --debug (accepted as runc does)\n",
	      f);
}

int kn_oci_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "systemd-cgroup", no_argument, NULL, 's' },
		{ "debug", no_argument, NULL, 'D' },
		{ "rootless", required_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct oci_global g = { 0 };
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
		case 's':
		case 'D':
		case 'R':
			break;
		case 'l':
			g.log_path = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				oci_error(&g, "--log-format %s: expected text or json", optarg);
				return 1;
			}
			g.log_json = !strcmp(optarg, "json");
			break;
		case 'v':
			printf("kennel-oci version %s\nspec: 1.0.2\n", KENNEL_VERSION);
			return 0;
		case 'h':
			oci_usage(stdout);
			return 0;
		default:
			oci_error(&g, "unknown or incomplete global option '%s'", argv[optind - 1]);
			return 1;
		}
	}
	if (optind >= argc) {
		oci_usage(stderr);
		return 1;
	}
	argc -= optind;
	argv += optind;
	if (!strcmp(argv[0], "run"))
		return cmd_run(&g, argc, argv);
	if (!strcmp(argv[0], "spec"))
		return cmd_spec(&g, argc, argv);
	oci_error(&g, "'%s': not implemented yet (kennel-oci has run and spec; the lifecycle commands come later)", argv[0]);
	return 1;
}
