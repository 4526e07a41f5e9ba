/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sandbox's network plumbing (see netlink.h for the picture).
 *
 * How this works, in the child, in order:
 *   1. open a route netlink socket in the sandbox's namespace and keep an
 *      fd of that namespace;
 *   2. unshare(CLONE_NEWNET): the child is now in the new gateway
 *      namespace; open a second netlink socket there, and the listening
 *      sockets (a socket belongs to the namespace it was created in, for
 *      life, and keeps that namespace alive);
 *   3. setns() back to the sandbox's namespace;
 *   4. through the two netlink sockets: the veth pair (eth0 here, gw0 in
 *      the gateway), addresses without duplicate address detection (DAD
 *      would hold an IPv6 address "tentative" for a second), links up,
 *      the default routes, and the policy rules of both sides.
 * Nothing is configured with a shell command, and nothing on the host is
 * touched: both namespaces are owned by the sandbox's user namespace.
 */
#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#include "cleanup.h"

#define SANDBOX_IF "eth0"
#define GATEWAY_IF "gw0"
#define GATEWAY_TABLE 100
#define SANDBOX_IFINDEX 2
#define GATEWAY_IFINDEX 3

static void nl_sock_freep(struct nl_sock **s)
{
	if (*s)
		nl_socket_free(*s);
}
#define _cleanup_nl_sock_ __attribute__((cleanup(nl_sock_freep)))

static void nl_addr_putp(struct nl_addr **a)
{
	if (*a)
		nl_addr_put(*a);
}
#define _cleanup_nl_addr_ __attribute__((cleanup(nl_addr_putp)))

void kn_gateway_socks_init(kn_gateway_socks *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < KN_GW_MAX_PORTS; i++)
		s->tcp4[i] = s->tcp6[i] = -1;
	s->dns4 = -1;
}

void kn_gateway_socks_close(kn_gateway_socks *s)
{
	for (size_t i = 0; i < KN_GW_MAX_PORTS; i++) {
		if (s->tcp4[i] >= 0)
			close(s->tcp4[i]);
		if (s->tcp6[i] >= 0)
			close(s->tcp6[i]);
		s->tcp4[i] = s->tcp6[i] = -1;
	}
	if (s->dns4 >= 0)
		close(s->dns4);
	s->dns4 = -1;
}

size_t kn_gateway_socks_list(const kn_gateway_socks *s, int *fds, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_ports && n < cap; i++)
		fds[n++] = s->tcp4[i];
	for (size_t i = 0; i < s->n_ports && n < cap; i++)
		fds[n++] = s->tcp6[i];
	if (n < cap)
		fds[n++] = s->dns4;
	return n;
}

int kn_netlink_loopback_up(kn_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;

	if (fd < 0)
		return kn_error_set(err, errno, "loopback: socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return kn_error_set(err, errno, "loopback: get flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return kn_error_set(err, errno, "loopback: bring up");
	return 0;
}

/* libnl returns its own NLE_* codes; the callers want an errno. */
static int nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_PERM:
		return EPERM;
	case NLE_NOACCESS:
		return EACCES;
	case NLE_EXIST:
		return EEXIST;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_INVAL:
	case NLE_MISSING_ATTR:
		return EINVAL;
	case NLE_OBJ_NOTFOUND:
		return ENOENT;
	case NLE_NODEV:
		return ENODEV;
	case NLE_NOADDR:
		return EADDRNOTAVAIL;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return EAFNOSUPPORT;
	case NLE_BUSY:
		return EBUSY;
	default:
		return EIO;
	}
}

static int nl_fail(kn_error *err, int nle, const char *what)
{
	return kn_error_setx(err, nle_errno(nle), "%s: %s", what, nl_geterror(nle));
}

static struct nl_sock *route_socket(kn_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk) {
		kn_error_setx(err, ENOMEM, "netlink: out of memory");
		return NULL;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_fail(err, r, "netlink: connect");
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static int link_up(struct nl_sock *sk, int ifindex, const char *name, kn_error *err)
{
	struct rtnl_link *orig = rtnl_link_alloc(), *change = rtnl_link_alloc();
	int r = -ENOMEM;

	if (orig && change) {
		rtnl_link_set_ifindex(orig, ifindex);
		rtnl_link_set_flags(change, IFF_UP);
		r = rtnl_link_change(sk, orig, change, 0);
		if (r < 0) {
			char what[64];

			snprintf(what, sizeof(what), "bring up %s", name);
			r = nl_fail(err, r, what);
		}
	} else {
		kn_error_setx(err, ENOMEM, "netlink: out of memory");
	}
	if (orig)
		rtnl_link_put(orig);
	if (change)
		rtnl_link_put(change);
	return r;
}

static int add_address(struct nl_sock *sk, int ifindex, const char *text, int prefix, kn_error *err)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	_cleanup_nl_addr_ struct nl_addr *local = NULL;
	char what[96];
	int r;

	snprintf(what, sizeof(what), "add address %s/%d", text, prefix);
	if (!a)
		return kn_error_setx(err, ENOMEM, "%s: out of memory", what);
	r = nl_addr_parse(text, AF_UNSPEC, &local);
	if (r == 0) {
		nl_addr_set_prefixlen(local, prefix);
		rtnl_addr_set_ifindex(a, ifindex);
		r = rtnl_addr_set_local(a, local);
	}
	if (r == 0) {
		/* no duplicate address detection: the link has exactly two ends, both ours */
		if (nl_addr_get_family(local) == AF_INET6)
			rtnl_addr_set_flags(a, IFA_F_NODAD);
		r = rtnl_addr_add(sk, a, 0);
	}
	rtnl_addr_put(a);
	return r < 0 ? nl_fail(err, r, what) : 0;
}

/* route: "default via @gw" in the main table, or "local @dst dev @ifindex table @table". */
static int add_route(struct nl_sock *sk, int family, const char *dst_text, const char *gw_text, int ifindex,
		     uint32_t table, uint8_t type, kn_error *err)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = NULL;
	_cleanup_nl_addr_ struct nl_addr *dst = NULL;
	_cleanup_nl_addr_ struct nl_addr *gw = NULL;
	char what[128];
	int r;

	snprintf(what, sizeof(what), "add route %s%s%s table %u", dst_text, gw_text ? " via " : "", gw_text ? gw_text : "",
		 table);
	if (!rt)
		return kn_error_setx(err, ENOMEM, "%s: out of memory", what);
	rtnl_route_set_family(rt, (uint8_t) family);
	rtnl_route_set_table(rt, table);
	rtnl_route_set_type(rt, type);
	rtnl_route_set_protocol(rt, RTPROT_STATIC);
	rtnl_route_set_scope(rt, type == RTN_LOCAL ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE);
	r = nl_addr_parse(dst_text, family, &dst);
	if (r == 0)
		r = rtnl_route_set_dst(rt, dst);
	if (r == 0) {
		nh = rtnl_route_nh_alloc();
		if (!nh) {
			r = -NLE_NOMEM;
		} else {
			rtnl_route_nh_set_ifindex(nh, ifindex);
			if (gw_text) {
				r = nl_addr_parse(gw_text, family, &gw);
				if (r == 0)
					rtnl_route_nh_set_gateway(nh, gw);
			}
			rtnl_route_add_nexthop(rt, nh); /* the route owns it now */
		}
	}
	if (r == 0)
		r = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_route_put(rt);
	return r < 0 ? nl_fail(err, r, what) : 0;
}

struct rule_spec {
	int family;
	uint32_t prio;
	uint8_t action;      /* FR_ACT_TO_TBL or FR_ACT_PROHIBIT */
	uint32_t table;
	const char *iif;
	uint8_t ipproto;     /* 0: any */
	const char *dst;     /* "10.0.2.1/32" or NULL */
	uint16_t dport;      /* 0: any */
	const char *what;
};

static int add_rule(struct nl_sock *sk, const struct rule_spec *s, kn_error *err)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();
	_cleanup_nl_addr_ struct nl_addr *dst = NULL;
	int r = 0;

	if (!rule)
		return kn_error_setx(err, ENOMEM, "%s: out of memory", s->what);
	rtnl_rule_set_family(rule, s->family);
	rtnl_rule_set_prio(rule, s->prio);
	rtnl_rule_set_action(rule, s->action);
	if (s->action == FR_ACT_TO_TBL)
		rtnl_rule_set_table(rule, s->table);
	if (s->iif)
		r = rtnl_rule_set_iif(rule, s->iif);
	if (r == 0 && s->ipproto)
		r = rtnl_rule_set_ipproto(rule, s->ipproto);
	if (r == 0 && s->dport)
		r = rtnl_rule_set_dport(rule, s->dport);
	if (r == 0 && s->dst) {
		r = nl_addr_parse(s->dst, s->family, &dst);
		if (r == 0)
			r = rtnl_rule_set_dst(rule, dst);
	}
	if (r == 0)
		r = rtnl_rule_add(sk, rule, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_rule_put(rule);
	return r < 0 ? nl_fail(err, r, s->what) : 0;
}

/* Remove the "from all lookup main" (32766) and "lookup default" (32767) rules every namespace starts with. */
static int delete_default_rules(struct nl_sock *sk, int family, kn_error *err)
{
	static const struct {
		uint32_t prio;
		uint32_t table;
	} defaults[] = { { 32766, RT_TABLE_MAIN }, { 32767, RT_TABLE_DEFAULT } };

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		struct rtnl_rule *rule = rtnl_rule_alloc();
		int r;

		if (!rule)
			return kn_error_setx(err, ENOMEM, "delete the default rules: out of memory");
		rtnl_rule_set_family(rule, family);
		rtnl_rule_set_prio(rule, defaults[i].prio);
		rtnl_rule_set_table(rule, defaults[i].table);
		rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
		r = rtnl_rule_delete(sk, rule, 0);
		rtnl_rule_put(rule);
		/* IPv6 has no "default" table rule */
		if (r < 0 && r != -NLE_OBJ_NOTFOUND)
			return nl_fail(err, r, family == AF_INET ? "delete the default IPv4 rules" :
								   "delete the default IPv6 rules");
	}
	return 0;
}

/* @ifindex and, when @mac is not NULL, the link-layer address (a new reference) of @name. */
static int link_info(struct nl_sock *sk, const char *name, int *ifindex, struct nl_addr **mac, kn_error *err)
{
	struct rtnl_link *link = NULL;
	int r = rtnl_link_get_kernel(sk, 0, name, &link);

	if (r < 0) {
		char what[64];

		snprintf(what, sizeof(what), "find %s", name);
		return nl_fail(err, r, what);
	}
	*ifindex = rtnl_link_get_ifindex(link);
	if (mac) {
		*mac = rtnl_link_get_addr(link) ? nl_addr_clone(rtnl_link_get_addr(link)) : NULL;
		if (!*mac) {
			rtnl_link_put(link);
			return kn_error_setx(err, ENOMEM, "the link-layer address of %s", name);
		}
	}
	rtnl_link_put(link);
	return 0;
}

static int ifindex_of(struct nl_sock *sk, const char *name, int *ifindex, kn_error *err)
{
	return link_info(sk, name, ifindex, NULL, err);
}

/*
 * A permanent neighbour entry: the link has exactly two ends, both known,
 * so neither side ever needs ARP or neighbour discovery (one round trip
 * less before the first packet, and no retry timer of a second when the
 * first resolution races the link coming up).
 */
static int add_neighbour(struct nl_sock *sk, int ifindex, const char *ip, struct nl_addr *mac, kn_error *err)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	_cleanup_nl_addr_ struct nl_addr *dst = NULL;
	char what[96];
	int r;

	snprintf(what, sizeof(what), "add neighbour %s", ip);
	if (!n)
		return kn_error_setx(err, ENOMEM, "%s: out of memory", what);
	r = nl_addr_parse(ip, AF_UNSPEC, &dst);
	if (r == 0) {
		rtnl_neigh_set_ifindex(n, ifindex);
		r = rtnl_neigh_set_dst(n, dst);
	}
	if (r == 0) {
		rtnl_neigh_set_lladdr(n, mac);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
		r = rtnl_neigh_add(sk, n, NLM_F_CREATE | NLM_F_REPLACE);
	}
	rtnl_neigh_put(n);
	return r < 0 ? nl_fail(err, r, what) : 0;
}

static int listener(int family, uint16_t port, kn_error *err)
{
	_cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_storage ss;
	socklen_t len;

	if (fd < 0)
		return kn_error_set(err, errno, "gateway: socket");
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		len = sizeof(*in);
		/* accept connections to any address: the original destination is getsockname() */
		if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0)
			return kn_error_set(err, errno, "gateway: IP_TRANSPARENT");
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
		if (setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one)) < 0)
			return kn_error_set(err, errno, "gateway: IPV6_TRANSPARENT");
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return kn_error_set(err, errno, "gateway: SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *) &ss, len) < 0)
		return kn_error_set(err, errno, "gateway: bind port %u", port);
	if (listen(fd, 4096) < 0)
		return kn_error_set(err, errno, "gateway: listen on port %u", port);
	return steal_fd(&fd);
}

static int dns_socket(kn_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(53) };
	int one = 1;

	if (fd < 0)
		return kn_error_set(err, errno, "gateway: DNS socket");
	/* gw0 and its address come later (step 4): bind to the address before it exists */
	if (setsockopt(fd, SOL_IP, IP_FREEBIND, &one, sizeof(one)) < 0)
		return kn_error_set(err, errno, "gateway: IP_FREEBIND");
	inet_pton(AF_INET, KN_NET_GW4, &in.sin_addr);
	if (bind(fd, (struct sockaddr *) &in, sizeof(in)) < 0)
		return kn_error_set(err, errno, "gateway: bind %s:53", KN_NET_GW4);
	return steal_fd(&fd);
}

/* Step 4, the gateway's side. */
static int configure_gateway(struct nl_sock *sk, kn_error *err)
{
	const struct rule_spec rules[] = {
		{ AF_INET, 100, FR_ACT_TO_TBL, GATEWAY_TABLE, GATEWAY_IF, 0, NULL, 0, "gateway: add rule iif gw0 lookup 100" },
		{ AF_INET6, 100, FR_ACT_TO_TBL, GATEWAY_TABLE, GATEWAY_IF, 0, NULL, 0,
		  "gateway: add IPv6 rule iif gw0 lookup 100" },
	};
	int lo, gw, r;

	r = ifindex_of(sk, "lo", &lo, err);
	if (r == 0)
		r = ifindex_of(sk, GATEWAY_IF, &gw, err);
	if (r == 0)
		r = link_up(sk, lo, "lo", err);
	if (r == 0)
		r = add_address(sk, gw, KN_NET_GW4, KN_NET_PREFIX4, err);
	if (r == 0)
		r = add_address(sk, gw, KN_NET_GW6, KN_NET_PREFIX6, err);
	if (r == 0)
		r = link_up(sk, gw, GATEWAY_IF, err);
	/* every destination that arrives from the sandbox is local here */
	if (r == 0)
		r = add_route(sk, AF_INET, "0.0.0.0/0", NULL, lo, GATEWAY_TABLE, RTN_LOCAL, err);
	if (r == 0)
		r = add_route(sk, AF_INET6, "::/0", NULL, lo, GATEWAY_TABLE, RTN_LOCAL, err);
	for (size_t i = 0; r == 0 && i < sizeof(rules) / sizeof(rules[0]); i++)
		r = add_rule(sk, &rules[i], err);
	return r < 0 ? kn_error_wrap(err, "gateway") : 0;
}

/*
 * Step 4, the sandbox's side.  TCP to a port the gateway listens on is
 * routed to it; a SYN to any other port would get no answer at all (the
 * gateway's kernel cannot send a reset from a non-local address without a
 * transparent socket), so those fail here, at once, with EACCES.
 */
static int configure_sandbox(struct nl_sock *sk, int eth, const uint16_t *ports, size_t n_ports, kn_error *err)
{
	const struct rule_spec rules[] = {
		/* UDP only to the DNS filter */
		{ AF_INET, 101, FR_ACT_TO_TBL, RT_TABLE_MAIN, NULL, IPPROTO_UDP, KN_NET_GW4 "/32", 53,
		  "add rule to " KN_NET_GW4 " udp dport 53 lookup main" },
		/* everything else fails at once with EACCES (ICMP, other UDP, raw...) */
		{ AF_INET, 300, FR_ACT_PROHIBIT, 0, NULL, 0, NULL, 0, "add rule prohibit" },
		{ AF_INET6, 300, FR_ACT_PROHIBIT, 0, NULL, 0, NULL, 0, "add IPv6 rule prohibit" },
	};
	int r;

	r = add_address(sk, eth, KN_NET_SANDBOX4, KN_NET_PREFIX4, err);
	if (r == 0)
		r = add_address(sk, eth, KN_NET_SANDBOX6, KN_NET_PREFIX6, err);
	if (r == 0)
		r = link_up(sk, eth, SANDBOX_IF, err);
	if (r == 0)
		r = add_route(sk, AF_INET, "0.0.0.0/0", KN_NET_GW4, eth, RT_TABLE_MAIN, RTN_UNICAST, err);
	if (r == 0)
		r = add_route(sk, AF_INET6, "::/0", KN_NET_GW6, eth, RT_TABLE_MAIN, RTN_UNICAST, err);
	for (size_t i = 0; r == 0 && i < n_ports; i++) {
		char what[64];
		struct rule_spec tcp = { AF_INET, 100, FR_ACT_TO_TBL, RT_TABLE_MAIN, NULL, IPPROTO_TCP, NULL, ports[i], what };

		snprintf(what, sizeof(what), "add rule ipproto tcp dport %u lookup main", ports[i]);
		r = add_rule(sk, &tcp, err);
		if (r == 0) {
			tcp.family = AF_INET6;
			r = add_rule(sk, &tcp, err);
		}
	}
	for (size_t i = 0; r == 0 && i < sizeof(rules) / sizeof(rules[0]); i++)
		r = add_rule(sk, &rules[i], err);
	if (r == 0)
		r = delete_default_rules(sk, AF_INET, err);
	if (r == 0)
		r = delete_default_rules(sk, AF_INET6, err);
	return r;
}

static int oper_up(struct nl_sock *sk, int ifindex)
{
	struct rtnl_link *link = NULL;
	int up;

	if (rtnl_link_get_kernel(sk, ifindex, NULL, &link) < 0)
		return 0;
	up = rtnl_link_get_operstate(link) == IF_OPER_UP;
	rtnl_link_put(link);
	return up;
}

/*
 * Wait until both ends are operational.  The end that came up first gets
 * its carrier from the other's open, and the kernel starts its transmit
 * queue later, from its link-watch work; until then, what it sends is
 * dropped.  That work needs the RTNL lock, which the destruction of other
 * network namespaces (sandboxes that just ended) can hold for a long
 * while: without this wait, the gateway's first answers could be lost.
 */
static int wait_links_up(struct nl_sock *sk_sandbox, int eth, struct nl_sock *sk_gw, int gw, kn_error *err)
{
	struct timespec nap = { 0, 20000 };

	for (int waited_us = 0; waited_us < 5000000;) {
		if (oper_up(sk_sandbox, eth) && oper_up(sk_gw, gw))
			return 0;
		nanosleep(&nap, NULL);
		waited_us += (int) (nap.tv_nsec / 1000);
		if (nap.tv_nsec < 1000000)
			nap.tv_nsec *= 2;
	}
	return kn_error_setx(err, ETIMEDOUT, "the veth pair " SANDBOX_IF "/" GATEWAY_IF " did not come up within 5 s");
}

static int create_veth(struct nl_sock *sk, int gw_ns, kn_error *err)
{
	struct rtnl_link *link = rtnl_link_veth_alloc();
	struct rtnl_link *peer;
	int r;

	if (!link)
		return kn_error_setx(err, ENOMEM, "veth: out of memory");
	/*
	 * Distinct ifindexes on the two ends.  In two fresh namespaces both
	 * would be 2; the kernel then does not see a carrier change on the
	 * pair as "urgent" (linkwatch_urgent_event() compares a device's
	 * ifindex with its peer's), and activating the other end's queue can
	 * wait up to a second behind any link event of the last second
	 * (another sandbox starting): packets sent meanwhile are dropped.
	 */
	rtnl_link_set_name(link, SANDBOX_IF);
	rtnl_link_set_ifindex(link, SANDBOX_IFINDEX);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, GATEWAY_IF);
	rtnl_link_set_ifindex(peer, GATEWAY_IFINDEX);
	rtnl_link_set_ns_fd(peer, gw_ns);
	rtnl_link_put(peer);
	r = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_veth_release(link);
	return r < 0 ? nl_fail(err, r, "create the veth pair " SANDBOX_IF "/" GATEWAY_IF) : 0;
}

int kn_netlink_setup_gateway(const uint16_t *ports, size_t n_ports, kn_gateway_socks *out, kn_error *err)
{
	_cleanup_nl_sock_ struct nl_sock *sk_sandbox = NULL;
	_cleanup_nl_sock_ struct nl_sock *sk_gw = NULL;
	_cleanup_close_ int sandbox_ns = -1, gw_ns = -1;
	_cleanup_nl_addr_ struct nl_addr *eth_mac = NULL;
	_cleanup_nl_addr_ struct nl_addr *gw_mac = NULL;
	int eth, gw, r;

	kn_gateway_socks_init(out);
	if (n_ports > KN_GW_MAX_PORTS)
		return kn_error_setx(err, E2BIG, "gateway: %zu ports to listen on, at most %d", n_ports, KN_GW_MAX_PORTS);

	/* 1 */
	r = kn_netlink_loopback_up(err);
	if (r < 0)
		return r;
	sandbox_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (sandbox_ns < 0)
		return kn_error_set(err, errno, "open the sandbox's network namespace");
	sk_sandbox = route_socket(err);
	if (!sk_sandbox)
		return -err->code;

	/* 2 */
	if (unshare(CLONE_NEWNET) < 0)
		return kn_error_set(err, errno, "create the gateway's network namespace");
	gw_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (gw_ns < 0) {
		r = kn_error_set(err, errno, "open the gateway's network namespace");
		goto back;
	}
	sk_gw = route_socket(err);
	if (!sk_gw) {
		r = -err->code;
		goto back;
	}
	out->n_ports = n_ports;
	for (size_t i = 0; i < n_ports; i++) {
		out->ports[i] = ports[i];
		out->tcp4[i] = listener(AF_INET, ports[i], err);
		if (out->tcp4[i] < 0) {
			r = out->tcp4[i];
			goto back;
		}
		out->tcp6[i] = listener(AF_INET6, ports[i], err);
		if (out->tcp6[i] < 0) {
			r = out->tcp6[i];
			goto back;
		}
	}
	out->dns4 = dns_socket(err);
	if (out->dns4 < 0)
		r = out->dns4;

back:
	/* 3: whatever happened, the child goes back where the sandbox lives */
	if (setns(sandbox_ns, CLONE_NEWNET) < 0) {
		kn_gateway_socks_close(out);
		return kn_error_set(err, errno, "return to the sandbox's network namespace");
	}
	if (r < 0) {
		kn_gateway_socks_close(out);
		return r;
	}

	/* 4 */
	r = create_veth(sk_sandbox, gw_ns, err);
	if (r == 0)
		r = link_info(sk_sandbox, SANDBOX_IF, &eth, &eth_mac, err);
	if (r == 0)
		r = link_info(sk_gw, GATEWAY_IF, &gw, &gw_mac, err);
	if (r == 0)
		r = add_neighbour(sk_sandbox, eth, KN_NET_GW4, gw_mac, err);
	if (r == 0)
		r = add_neighbour(sk_sandbox, eth, KN_NET_GW6, gw_mac, err);
	if (r == 0)
		r = add_neighbour(sk_gw, gw, KN_NET_SANDBOX4, eth_mac, err);
	if (r == 0)
		r = add_neighbour(sk_gw, gw, KN_NET_SANDBOX6, eth_mac, err);
	if (r == 0)
		r = configure_gateway(sk_gw, err);
	if (r == 0)
		r = configure_sandbox(sk_sandbox, eth, ports, n_ports, err);
	if (r == 0)
		r = wait_links_up(sk_sandbox, eth, sk_gw, gw, err);
	if (r < 0)
		kn_gateway_socks_close(out);
	return r;
}
