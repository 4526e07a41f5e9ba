/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_NETLINK_H
#define KENNEL_NETLINK_H

/*
 * The sandbox's network plumbing, built by the child with libnl before
 * anything of the sandbox runs: a gateway network namespace (in the
 * sandbox's user namespace) joined to the sandbox's by a veth pair, the
 * policy routing that makes every destination local in the gateway, and
 * the gateway's listening sockets, which the child hands to the parent.
 *
 *   sandbox netns                      gateway netns
 *   lo, eth0 10.0.2.2/30  <--veth-->   gw0 10.0.2.1/30, lo
 *   default via 10.0.2.1               rule: iif gw0 lookup 100
 *   rules: tcp dport P -> main         table 100: local 0.0.0.0/0 dev lo (and ::/0)
 *          (each listened port P)      listeners: IP_TRANSPARENT TCP on each port
 *          udp to 10.0.2.1:53 -> main
 *          everything else: prohibit   (any address), UDP 10.0.2.1:53 (DNS)
 */

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define KN_NET_GW4 "10.0.2.1"
#define KN_NET_SANDBOX4 "10.0.2.2"
#define KN_NET_GW6 "fd6b:6e6c::1"
#define KN_NET_SANDBOX6 "fd6b:6e6c::2"
#define KN_NET_PREFIX4 30
#define KN_NET_PREFIX6 126

/* At most this many listening ports (each has an IPv4 and an IPv6 socket). */
#define KN_GW_MAX_PORTS 48

typedef struct kn_gateway_socks {
	size_t n_ports;
	uint16_t ports[KN_GW_MAX_PORTS];
	int tcp4[KN_GW_MAX_PORTS]; /* listening, IP_TRANSPARENT, 0.0.0.0:port, non-blocking */
	int tcp6[KN_GW_MAX_PORTS]; /* listening, IPV6_TRANSPARENT, [::]:port, v6 only, non-blocking */
	int dns4;                  /* UDP bound to 10.0.2.1:53, non-blocking */
} kn_gateway_socks;

/* kn_gateway_socks_init() - every fd -1. */
void kn_gateway_socks_init(kn_gateway_socks *s);

/* kn_gateway_socks_close() - close every open fd; safe twice. */
void kn_gateway_socks_close(kn_gateway_socks *s);

/* kn_gateway_socks_count() / _list() - the open fds in a fixed order (tcp4..., tcp6..., dns4), for fd passing. */
size_t kn_gateway_socks_list(const kn_gateway_socks *s, int *fds, size_t cap);

/*
 * kn_netlink_loopback_up() - bring up lo in the current network namespace.
 * Return: 0 or -errno with @err set.
 */
int kn_netlink_loopback_up(kn_error *err);

/*
 * kn_netlink_setup_gateway() - in the child, with CAP_NET_ADMIN in its
 * user namespace and inside the sandbox's fresh network namespace: create
 * the gateway namespace and everything in the picture above, open the
 * listeners for @ports (at most KN_GW_MAX_PORTS) and the DNS socket, and
 * return to the sandbox's namespace.  The gateway namespace has no process
 * and no open namespace fd afterwards: the sockets in @out keep it alive,
 * so it dies with the last of them (and the veth pair with it).
 * Return: 0 and @out filled, or -errno with @err set ("gateway: add rule
 * iif gw0 lookup 100: Operation not permitted"); on error nothing is left open.
 */
int kn_netlink_setup_gateway(const uint16_t *ports, size_t n_ports, kn_gateway_socks *out, kn_error *err);

#endif
