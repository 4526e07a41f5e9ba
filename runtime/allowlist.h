/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_ALLOWLIST_H
#define KENNEL_ALLOWLIST_H

/*
 * The egress policy: which names, addresses and ports the sandbox may
 * reach, the table of what the DNS filter answered (name -> addresses,
 * with TTLs), and the flow decision the gateway takes for every TCP
 * connection.  Pure code: no I/O, no clock (callers pass "now"), so the
 * unit tests drive it directly.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

typedef enum kn_net_mode {
	KN_NET_NONE = 0,   /* loopback only: no veth, no gateway */
	KN_NET_ALLOWLIST,  /* only the rules' names and CIDRs (the default) */
	KN_NET_OPEN,       /* every public address; private ranges still denied */
} kn_net_mode;

/* An IPv4 or IPv6 address; IPv4 in a[0..3]. */
typedef struct kn_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
} kn_addr;

typedef struct kn_allow_rule {
	char *name;      /* lowercase, no trailing dot; NULL for a CIDR rule */
	bool wildcard;   /* "*.example.com": name is "example.com", matches strict subdomains only */
	kn_addr net;     /* CIDR rules: the network (host bits zero) */
	unsigned prefix; /* CIDR rules: prefix length */
	uint16_t port;   /* 0: the default pair, 443 and 80 */
} kn_allow_rule;

typedef struct kn_allowlist {
	kn_net_mode mode;
	kn_allow_rule *rules;
	size_t n_rules;
} kn_allowlist;

/* The names Claude Code needs; added by kn_allowlist_add_defaults(). */
extern const char *const kn_allowlist_default_names[];

/*
 * kn_allowlist_add() - parse one --allow argument and append it:
 * "NAME[:PORT]", "*.DOMAIN[:PORT]", "A.B.C.D/N[:PORT]", "A.B.C.D[:PORT]"
 * (a /32), "[IPV6]/N:PORT" or "[IPV6/N]:PORT" or a bare IPv6 CIDR without
 * a port.  Names are lowercased and a trailing dot dropped; a label is
 * 1-63 of [a-z0-9-_], a name at most 253 characters; "*" alone, "*.com"
 * style single-label wildcards and a '*' anywhere but the first label
 * are refused.  PORT is 1-65535.
 * Return: 0, or -EINVAL with @err naming the argument and what is wrong.
 */
int kn_allowlist_add(kn_allowlist *al, const char *arg, kn_error *err);

/* kn_allowlist_add_defaults() - append kn_allowlist_default_names (ports 443 and 80). */
void kn_allowlist_add_defaults(kn_allowlist *al);

/* kn_allowlist_free() - free the rules; @al is empty afterwards. */
void kn_allowlist_free(kn_allowlist *al);

/*
 * kn_allowlist_ports() - the TCP ports the gateway listens on, sorted,
 * without duplicates: 80 and 443, plus every port a rule names.
 * Return: how many there are (may exceed @cap; only @cap are written).
 */
size_t kn_allowlist_ports(const kn_allowlist *al, uint16_t *out, size_t cap);

/*
 * kn_allowlist_name_allowed() - whether a name rule admits @name on
 * @port (0: on any port; used by the DNS filter).  In open mode every
 * name is allowed.  @name must already be lowercase without trailing dot.
 */
bool kn_allowlist_name_allowed(const kn_allowlist *al, const char *name, uint16_t port);

/* Address classes the flow check refuses unless a CIDR rule admits the address. */
typedef enum kn_addr_class {
	KN_ADDR_PUBLIC = 0,
	KN_ADDR_UNSPECIFIED, /* 0.0.0.0/8, :: */
	KN_ADDR_LOOPBACK,    /* 127/8, ::1 */
	KN_ADDR_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7 */
	KN_ADDR_LINK_LOCAL,  /* 169.254/16, fe80::/10 */
	KN_ADDR_METADATA,    /* 169.254.169.254, 100.100.100.200, fd00:ec2::254 (cloud metadata) */
	KN_ADDR_MULTICAST,   /* 224/4, ff00::/8, 255.255.255.255 */
	KN_ADDR_RESERVED,    /* 240/4, 192.0.0.0/24, 198.18/15, other special-purpose blocks */
} kn_addr_class;

/*
 * kn_addr_classify() - the class of @a.  IPv4-mapped (::ffff:0:0/96),
 * IPv4-compatible and NAT64 (64:ff9b::/96) IPv6 addresses are classified
 * by the IPv4 address they carry.  The documentation ranges (192.0.2/24,
 * 198.51.100/24, 203.0.113/24, 2001:db8::/32) count as public: the tests'
 * hosts live there.
 */
kn_addr_class kn_addr_classify(const kn_addr *a);

/* kn_addr_class_name() - "private", "loopback", ... for messages and audit. */
const char *kn_addr_class_name(kn_addr_class c);

/* kn_addr_from_sockaddr() - fill @a from a sockaddr_in/in6 (v4-mapped v6 becomes AF_INET). Return: 0 or -EAFNOSUPPORT. */
int kn_addr_from_sockaddr(const struct sockaddr *sa, kn_addr *a);

/* kn_addr_format() - text form into @buf (INET6_ADDRSTRLEN bytes is enough). Return: @buf. */
const char *kn_addr_format(const kn_addr *a, char *buf, size_t cap);

/* kn_addr_parse() - "1.2.3.4" or "2001:db8::1" (no brackets). Return: 0 or -EINVAL. */
int kn_addr_parse(const char *s, kn_addr *a);

/*
 * The resolved table: what the DNS filter answered for allowed names.
 * The flow check admits an address only when an allowed name resolved to
 * it and that answer has not expired.  TTLs below KN_RESOLVED_MIN_TTL are
 * raised to it (clients and libraries keep answers longer than their TTL)
 * and above KN_RESOLVED_MAX_TTL cut to it.  The table is bounded: past
 * KN_RESOLVED_MAX_ENTRIES the entry that expires first is dropped.
 */
#define KN_RESOLVED_MIN_TTL 60u
#define KN_RESOLVED_MAX_TTL 86400u
#define KN_RESOLVED_MAX_ENTRIES 65536u

typedef struct kn_resolved kn_resolved;

kn_resolved *kn_resolved_new(void);
void kn_resolved_free(kn_resolved *r);

/* kn_resolved_add() - record that @name resolved to @a with @ttl seconds at @now_ms (refreshes an existing pair). */
void kn_resolved_add(kn_resolved *r, const char *name, const kn_addr *a, uint32_t ttl, uint64_t now_ms);

/* kn_resolved_has() - whether @name resolved to @a and that has not expired at @now_ms. */
bool kn_resolved_has(const kn_resolved *r, const char *name, const kn_addr *a, uint64_t now_ms);

/*
 * kn_resolved_allowed_name() - a live name that resolved to @a and that
 * the allowlist admits on @port (0: any port), or NULL.  The pointer
 * stays valid until the next kn_resolved_add() or kn_resolved_free().
 */
const char *kn_resolved_allowed_name(const kn_resolved *r, const kn_allowlist *al, const kn_addr *a,
				     uint16_t port, uint64_t now_ms);

/* The flow decision, in two steps. */
typedef enum kn_flow_step {
	KN_FLOW_DENY = 0,
	KN_FLOW_ALLOW,
	KN_FLOW_NEED_NAME, /* port 443 or 80: read the TLS SNI or HTTP Host, then kn_flow_check_name() */
} kn_flow_step;

typedef struct kn_flow_verdict {
	kn_flow_step step;
	char name[256];   /* the name the flow was matched to ("" when none) */
	char reason[160]; /* why, for the audit log and the user: "no allowed name resolved to 1.2.3.4" */
} kn_flow_verdict;

/*
 * kn_flow_check_addr() - step 1, at accept, from the original destination
 * alone.  In order:
 *  - a CIDR rule that contains @dst and admits @port: ALLOW (even for a
 *    private address: an explicit CIDR rule is how private hosts are let in);
 *  - @dst not public (kn_addr_classify): DENY, whatever name resolved to
 *    it (DNS rebinding: a name answering 127.0.0.1 is still denied);
 *  - open mode: ALLOW on any port (name: a live resolved name if any);
 *  - port 443 or 80: NEED_NAME when some live resolved name allowed on that
 *    port maps to @dst, DENY otherwise;
 *  - any other port: ALLOW when a live resolved name allowed on @port maps
 *    to @dst (e.g. github.com:22), DENY otherwise.
 * Return: @v->step.
 */
kn_flow_step kn_flow_check_addr(const kn_allowlist *al, const kn_resolved *res, const kn_addr *dst, uint16_t port,
				uint64_t now_ms, kn_flow_verdict *v);

/*
 * kn_flow_check_name() - step 2 for ports 443 and 80: @name is the SNI
 * (443) or Host (80) the client sent, NULL when it sent none or the bytes
 * were not TLS/HTTP.  ALLOW only when @name is allowed on @port and a live
 * answer for exactly @name maps to @dst; DENY otherwise ("SNI x.test does
 * not resolve to 1.2.3.4", "no SNI").
 * Return: @v->step.
 */
kn_flow_step kn_flow_check_name(const kn_allowlist *al, const kn_resolved *res, const kn_addr *dst, uint16_t port,
				const char *name, uint64_t now_ms, kn_flow_verdict *v);

#endif
