/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_NETWORK_H
#define KENNEL_NETWORK_H

/*
 * From the command line's network options to what the launcher needs: the
 * allowlist, the DNS upstreams, and the sandbox's /etc/resolv.conf (a read-only bind of a file kennel keeps in
 * its runtime directory).
 */

#include <stdbool.h>
#include <sys/socket.h>

#include "allowlist.h"
#include "audit.h"
#include "error.h"
#include "gateway.h"
#include "spec.h"

#define KN_NET_MAX_UPSTREAMS 4

typedef struct kn_network_args {
	const char *mode;          /* "none", "allowlist", "open"; NULL: allowlist */
	char **allow;              /* --allow rules, NULL-terminated, may be NULL */
	bool no_default_allow;     /* --no-default-allow */
	const char *dns_upstream;  /* --dns-upstream; NULL: the host's /etc/resolv.conf */
	kn_audit *audit;           /* where the gateway's decisions go (opened by the caller) */
} kn_network_args;

typedef struct kn_network {
	kn_allowlist allow;
	struct sockaddr_storage upstreams[KN_NET_MAX_UPSTREAMS];
	size_t n_upstreams;
	kn_gateway_config gateway; /* points into this struct: do not copy a kn_network */
} kn_network;

/*
 * kn_network_prepare() - check and build everything from @args; for the
 * allowlist and open modes, add the /etc/resolv.conf bind to @spec.  @net->gateway is what kn_launch_opts.net takes.
 * Return: 0, or -errno with @err set ("--allow 'x..y': empty label").
 */
int kn_network_prepare(const kn_network_args *args, kn_spec *spec, kn_network *net, kn_error *err);

/* kn_network_release() - free and close what kn_network_prepare() built; safe twice. */
void kn_network_release(kn_network *net);

#endif
