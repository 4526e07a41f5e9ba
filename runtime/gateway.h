/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_GATEWAY_H
#define KENNEL_GATEWAY_H

/*
 * The egress gateway's host side, run by the kennel process (the
 * supervisor) in its own network namespace: it accepts the connections
 * and DNS queries that the sandbox sends to the gateway namespace (the
 * listening sockets come from the child, see netlink.h), decides each one
 * with allowlist.h, answers or refuses DNS with dns.h, connects out for
 * allowed flows and relays bytes both ways with splice(2).  Every decision
 * is an audit event.  Single-threaded, driven by the caller's epoll loop.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "allowlist.h"
#include "audit.h"
#include "error.h"
#include "loop.h"
#include "netlink.h"


/* The probe destination: reserved space (240/4), denied unless a CIDR rule admits it. */
#define KN_GATEWAY_PROBE_ADDR "240.0.0.1"
/* The probe's DNS name: RFC 6761 reserves .invalid, which the filter always answers NXDOMAIN itself. */
#define KN_GATEWAY_PROBE_NAME "probe.kennel.invalid"

typedef struct kn_gateway_config {
	const kn_allowlist *allow;
	const struct sockaddr_storage *upstreams; /* the DNS servers the filter forwards to */
	size_t n_upstreams;
	kn_audit *audit;
} kn_gateway_config;

typedef struct kn_gateway kn_gateway;

/*
 * kn_gateway_start() - take @socks (every fd in it now belongs to the
 * gateway, and @socks is emptied) and add them to @epfd.  @cfg and what
 * it points to must outlive the gateway.
 * Return: 0 and *@out, or -errno with @err set.
 */
int kn_gateway_start(const kn_gateway_config *cfg, kn_gateway_socks *socks, int epfd, kn_gateway **out,
		     kn_error *err);

/* kn_gateway_event() - handle one epoll event whose kn_ev type is in [KN_EV_GATEWAY, KN_EV_HOOKS) (loop.h). */
void kn_gateway_event(kn_gateway *gw, const struct epoll_event *ev);

/* kn_gateway_timeout_ms() - how long the caller's epoll_wait may sleep (-1: no deadline pending). */
int kn_gateway_timeout_ms(const kn_gateway *gw);

/*
 * kn_gateway_tick() - after each batch of events: free the connections the
 * batch closed, and expire what has passed its deadline (name sniffing,
 * connects, DNS upstream answers).
 */
void kn_gateway_tick(kn_gateway *gw);

/* kn_gateway_stop() - close every connection and socket and free @gw; NULL is fine. */
void kn_gateway_stop(kn_gateway *gw);

/*
 * kn_gateway_probe() - run in the child, in the sandbox's network
 * namespace, once the host side runs: proves that the DNS filter answers
 * (NXDOMAIN for KN_GATEWAY_PROBE_NAME), that a flow to a denied address
 * is reset by the supervisor, that a port without a listener is refused
 * at once, and that UDP other than DNS cannot leave.  @ports are the
 * gateway's listening ports.
 * Return: 0, or -errno with @err saying which proof failed.
 */
int kn_gateway_probe(const uint16_t *ports, size_t n_ports, kn_error *err);

#endif
