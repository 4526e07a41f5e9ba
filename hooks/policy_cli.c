/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `kennel policy check|list`: the policy engine the supervisor runs, on one
 * hook event from stdin, so rules can be tried (and so Claude Code could run
 * it as a hook directly: the answer is always a decision, and a failure is
 * exit 2, which Claude Code treats as a block).
 */
#include "policy_int.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fputs("Usage: kennel policy check [OPTIONS] < EVENT.json\n"
	      "       kennel policy list [--rules FILE]...\n"
	      "\n"
	      "check reads one Claude Code hook event on stdin and prints the hook output JSON\n"
	      "(PreToolUse: hookSpecificOutput.permissionDecision allow|ask|deny with a reason).\n"
	      "list prints every rule: id, decision, tools, reason.\n"
	      "\n"
	      "Options:\n"
	      "  --rules FILE           use these rules (repeatable) instead of the shipped default.yaml\n"
	      "                         and the user's $XDG_CONFIG_HOME/kennel/rules/*.yaml\n"
	      "  --workspace DIR        the workspace root as the agent sees it (default: the event's cwd)\n"
	      "  --workspace-host DIR   where that directory is here, to read scripts (default: DIR above)\n"
	      "  --home DIR             the agent's home (default " KN_POLICY_HOME_DEFAULT ")\n",
	      f);
}

/* read_stdin() - up to @cap + 1 bytes (one more than allowed, so "too large" is seen). Return: length or -errno. */
static ssize_t read_stdin(char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap + 1) {
		ssize_t n = read(STDIN_FILENO, buf + got, cap + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t) n;
	}
	return (ssize_t) got;
}

static void list_rules(const kn_policy *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const kn_rule *r = &p->rules[i];
		char tools[128] = "";
		size_t off = 0;

		for (size_t t = 0; t < r->tools.n && off < sizeof(tools); t++)
			off += (size_t) snprintf(tools + off, sizeof(tools) - off, "%s%s", t ? "," : "", r->tools.v[t]);
		printf("%-30s %-5s %-18s %s\n", r->id, kn_policy_decision_name(r->decision), tools, r->reason);
	}
}

int kn_policy_main(int argc, char **argv)
{
	enum { OPT_RULES = 1, OPT_WORKSPACE, OPT_WORKSPACE_HOST, OPT_HOME };
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "workspace", required_argument, NULL, OPT_WORKSPACE },
		{ "workspace-host", required_argument, NULL, OPT_WORKSPACE_HOST },
		{ "home", required_argument, NULL, OPT_HOME },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	kn_policy_ctx ctx = { 0 };
	char **rules = NULL;
	kn_policy *p = NULL;
	kn_error err = KN_ERROR_INIT;
	const char *sub;
	bool check;
	int c, ret = EXIT_USAGE;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(sub, "check") && strcmp(sub, "list")) {
		fprintf(stderr, "kennel: policy: unknown command '%s'\n", sub);
		usage(stderr);
		return EXIT_USAGE;
	}
	check = !strcmp(sub, "check");
	optind = 0; /* glibc: 0 restarts getopt from scratch (a caller may have used it) */
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RULES:
			kn_strv_append(&rules, optarg);
			break;
		case OPT_WORKSPACE:
			ctx.workspace = optarg;
			break;
		case OPT_WORKSPACE_HOST:
			ctx.workspace_host = optarg;
			break;
		case OPT_HOME:
			ctx.home = optarg;
			break;
		case 'h':
			usage(stdout);
			kn_strv_free(rules);
			return 0;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind < argc - 1) {
		fprintf(stderr, "kennel: policy %s: unexpected argument '%s'\n", sub, argv[1 + optind]);
		goto out;
	}
	if (!check && (ctx.workspace || ctx.workspace_host || ctx.home)) {
		fprintf(stderr, "kennel: policy list: only --rules applies\n");
		goto out;
	}
	if ((ctx.workspace && ctx.workspace[0] != '/') || (ctx.home && ctx.home[0] != '/')) {
		fprintf(stderr, "kennel: policy check: --workspace and --home take absolute paths\n");
		goto out;
	}
	if (rules) {
		p = kn_policy_new();
		for (size_t i = 0; rules[i]; i++)
			if (kn_policy_add_file(p, rules[i], &err) < 0)
				break;
	} else {
		kn_policy_load(NULL, true, &p, &err);
	}
	if (err.code) {
		fprintf(stderr, "kennel: policy: %s\n", err.msg);
		goto out;
	}
	if (check) {
		_cleanup_free_ char *buf = kn_xmalloc(KN_POLICY_MAX_EVENT + 2);
		ssize_t n = read_stdin(buf, KN_POLICY_MAX_EVENT);
		kn_policy_result res;

		if (n < 0) {
			fprintf(stderr, "kennel: policy check: reading stdin: %s\n", strerror((int) -n));
			goto out;
		}
		kn_policy_handle_event(p, &ctx, buf, (size_t) n, &res);
		printf("%s\n", res.output);
		kn_policy_result_free(&res);
	} else {
		list_rules(p);
	}
	ret = fflush(stdout) == 0 && !ferror(stdout) ? 0 : EXIT_USAGE;
	if (ret)
		fprintf(stderr, "kennel: policy: writing the answer: %s\n", strerror(errno));
out:
	kn_policy_free(p);
	kn_strv_free(rules);
	return ret;
}
