/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The network options of `kennel sandbox`, made ready for the launcher (see network.h). */
#include "network.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dns.h"
#include "netlink.h"
#include "session.h"
#include "util.h"

static const char resolv_conf[] =
	"# written by kennel: the sandbox's DNS is kennel's filter on the gateway\n"
	"nameserver " KN_NET_GW4 "\n"
	"options timeout:2 attempts:2\n";

/* The resolv.conf the sandbox sees, rewritten (atomically) only when it differs. */
static char *write_resolv_conf(kn_error *err)
{
	_cleanup_free_ char *dir = kn_runtime_dir(err);
	_cleanup_free_ char *path = NULL, *tmp = NULL;
	char cur[sizeof(resolv_conf) + 1];
	ssize_t n;
	int fd;

	if (!dir)
		return NULL;
	path = kn_xasprintf("%s/resolv.conf", dir);
	n = kn_read_file(path, cur, sizeof(cur));
	if (n == (ssize_t) strlen(resolv_conf) && !memcmp(cur, resolv_conf, (size_t) n))
		return steal_ptr(&path);
	tmp = kn_xasprintf("%s/.resolv.conf.%d", dir, (int) getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		kn_error_set(err, errno, "create %s", tmp);
		return NULL;
	}
	/* 0644 whatever the umask: the sandbox's user reads it */
	if (fchmod(fd, 0644) < 0 || write(fd, resolv_conf, strlen(resolv_conf)) != (ssize_t) strlen(resolv_conf) ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		kn_error_set(err, errno, "write %s", path);
		unlink(tmp);
		return NULL;
	}
	return steal_ptr(&path);
}

int kn_network_prepare(const kn_network_args *args, kn_spec *spec, kn_network *net, kn_error *err)
{
	_cleanup_free_ char *resolv = NULL;
	int r;

	memset(net, 0, sizeof(*net));
	if (!args->mode || !strcmp(args->mode, "allowlist")) {
		net->allow.mode = KN_NET_ALLOWLIST;
	} else if (!strcmp(args->mode, "open")) {
		net->allow.mode = KN_NET_OPEN;
	} else if (!strcmp(args->mode, "none")) {
		net->allow.mode = KN_NET_NONE;
	} else {
		return kn_error_setx(err, EINVAL, "--network %s: expected none, allowlist or open", args->mode);
	}
	if (net->allow.mode == KN_NET_NONE) {
		if (args->allow || args->dns_upstream)
			return kn_error_setx(err, EINVAL, "--network none: --allow and --dns-upstream make no sense "
							  "without a network");
		return 0;
	}
	if (!args->no_default_allow)
		kn_allowlist_add_defaults(&net->allow);
	for (size_t i = 0; args->allow && args->allow[i]; i++) {
		r = kn_allowlist_add(&net->allow, args->allow[i], err);
		if (r < 0)
			goto fail;
	}
	if (args->dns_upstream) {
		r = kn_dns_parse_server(args->dns_upstream, &net->upstreams[0], err);
		if (r < 0) {
			kn_error_wrap(err, "--dns-upstream");
			goto fail;
		}
		net->n_upstreams = 1;
	} else {
		r = kn_dns_upstreams(NULL, net->upstreams, KN_NET_MAX_UPSTREAMS, err);
		if (r < 0) {
			kn_error_wrap(err, "the host's DNS servers (or pass --dns-upstream ADDR)");
			goto fail;
		}
		net->n_upstreams = (size_t) r;
	}
	resolv = write_resolv_conf(err);
	if (!resolv) {
		r = -err->code;
		kn_error_wrap(err, "the sandbox's resolv.conf");
		goto fail;
	}
	kn_spec_add_mount(spec, "/etc/resolv.conf", "bind", resolv, "rbind,nosuid,nodev,ro");
	net->gateway.allow = &net->allow;
	net->gateway.upstreams = net->upstreams;
	net->gateway.n_upstreams = net->n_upstreams;
	net->gateway.audit = args->audit;
	return 0;

fail:
	kn_network_release(net);
	return r;
}

void kn_network_release(kn_network *net)
{
	kn_allowlist_free(&net->allow);
}
