/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_LAUNCH_H
#define KENNEL_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "gateway.h"
#include "hookserver.h"
#include "spec.h"

/* Exit codes of the launcher itself, as podman and docker use them. */
#define KN_EXIT_RUNTIME 125   /* kennel failed before the command ran */
#define KN_EXIT_CANNOT_EXEC 126
#define KN_EXIT_NOT_FOUND 127

typedef struct kn_launch_opts {
	const kn_spec *spec;
	uid_t host_uid;   /* what the process uid maps to when the spec has no mappings */
	gid_t host_gid;
	const char *pid_file; /* when set: the sandbox's pid 1 (host pid) is written there */
	/* the egress network: NULL or mode KN_NET_NONE for loopback only */
	const kn_gateway_config *net;
	/* the hook server (Claude Code's hooks through the shim); NULL: none */
	const kn_hooks_config *hooks;
	void (*warn_cb)(const char *msg);
} kn_launch_opts;

/*
 * kn_launch_run() - run @opts->spec in a new sandbox, in the foreground,
 * and wait for it.  stdin/stdout/stderr are the caller's; every other fd
 * is closed in the sandbox.  SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1,
 * SIGUSR2 and SIGWINCH sent to the caller are forwarded to the command.
 * If the caller dies, the sandbox dies with it (PR_SET_PDEATHSIG on pid 1).
 * With @opts->net, the sandbox gets the egress gateway (netlink.h,
 * gateway.h) and the caller's process serves it until the sandbox exits;
 * the command starts only after the gateway's self-test passed.
 * Return: the command's exit code (128+N when killed by signal N) and
 * @err clear; or 126/127 with @err set when the command could not be
 * executed; or -errno with @err set when the sandbox could not be built.
 */
int kn_launch_run(const kn_launch_opts *opts, kn_error *err);

#endif
