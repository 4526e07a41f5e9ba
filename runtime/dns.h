/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_DNS_H
#define KENNEL_DNS_H

/*
 * DNS messages for the gateway's filter, parsed and built with ldns (no
 * hand-written wire parsing).  The gateway receives the sandbox's queries,
 * asks kn_dns_* what they are, answers refusals itself, forwards allowed
 * queries upstream with a fresh id, and passes the upstream's answer back
 * through kn_dns_filter_answer(), which keeps only what the question asked
 * and reports every address so the flow check can bind address <-> name.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "allowlist.h"
#include "error.h"

/* Resource record types and response codes the gateway names (RFC 1035, 3596, 6891). */
#define KN_DNS_TYPE_A 1
#define KN_DNS_TYPE_CNAME 5
#define KN_DNS_TYPE_AAAA 28
#define KN_DNS_RCODE_NOERROR 0
#define KN_DNS_RCODE_SERVFAIL 2
#define KN_DNS_RCODE_NXDOMAIN 3
#define KN_DNS_RCODE_REFUSED 5

/* The largest message either side sends over UDP (EDNS0 advertised 1232, RFC 9715 / DNS flag day 2020). */
#define KN_DNS_MAX_UDP 1232

typedef struct kn_dns_query {
	uint16_t id;
	char name[256];  /* the question's name: lowercase, no trailing dot ("" for the root) */
	uint16_t qtype;
	uint16_t qclass;
} kn_dns_query;

/*
 * kn_dns_parse_query() - a standard query (QR=0, OPCODE=0) with exactly
 * one question and no answer/authority records; an OPT record in the
 * additional section is allowed.
 * Return: 0 and @q filled; -EBADMSG when @pkt is not such a message.
 */
int kn_dns_parse_query(const uint8_t *pkt, size_t len, kn_dns_query *q);

/*
 * kn_dns_build_reply() - a reply to the query @pkt (which
 * kn_dns_parse_query() accepted) with @rcode and no records: same id and
 * question, QR=1, RA=1, RD copied.  NXDOMAIN for names the policy refuses,
 * NOERROR with no answer ("no data") for other types of an allowed name,
 * SERVFAIL when the upstream did not answer.
 * Return: 0 and the message in @out (@outlen bytes), or -ENOSPC / -EBADMSG.
 */
int kn_dns_build_reply(const uint8_t *pkt, size_t len, int rcode, uint8_t *out, size_t cap, size_t *outlen);

/*
 * kn_dns_build_query() - a query for @name/@qtype (class IN) with @id,
 * RD=1 and an EDNS0 OPT record advertising KN_DNS_MAX_UDP; the gateway
 * uses it for its own start-up probe.
 * Return: 0 and the message in @out, or -ENOSPC / -EINVAL.
 */
int kn_dns_build_query(const char *name, uint16_t qtype, uint16_t id, uint8_t *out, size_t cap, size_t *outlen);

/* kn_dns_set_id() - overwrite the id of the message in @pkt (@len >= 12). */
void kn_dns_set_id(uint8_t *pkt, size_t len, uint16_t id);

/* Called by kn_dns_filter_answer() for every address it keeps. */
typedef void (*kn_dns_addr_cb)(void *ctx, const char *name, const kn_addr *a, uint32_t ttl);

/*
 * kn_dns_filter_answer() - the upstream's response @resp to the query @q,
 * rewritten for the sandbox into @out: the header's id set to @q->id; the
 * question must be @q's (name, type, class; case-insensitive) or the
 * response is refused; the answer section keeps only the CNAME chain that
 * starts at @q->name (at most 16 links) and the A/AAAA records owned by a
 * name of that chain, of the type asked (a CNAME answer to an A question
 * keeps the CNAMEs and the As); authority and additional sections are
 * dropped except an OPT record.  The rcode is kept (NXDOMAIN stays).
 * @on_addr is called with @q->name, each kept address and its TTL.
 * Return: 0 and the message in @out; -EBADMSG when @resp is malformed or
 * answers another question; -ENOSPC.
 */
int kn_dns_filter_answer(const kn_dns_query *q, const uint8_t *resp, size_t rlen, uint8_t *out, size_t cap,
			 size_t *outlen, kn_dns_addr_cb on_addr, void *ctx);

/*
 * kn_dns_upstreams() - the nameservers of a resolv.conf (@path; NULL:
 * /etc/resolv.conf), in order, at most @cap, port 53.  A file without
 * "nameserver" lines gives 127.0.0.1 (what glibc does).
 * Return: how many, or -errno with @err set (the file cannot be read).
 */
int kn_dns_upstreams(const char *path, struct sockaddr_storage *out, size_t cap, kn_error *err);

/*
 * kn_dns_parse_server() - "ADDR" or "ADDR:PORT" or "[V6ADDR]:PORT" into
 * @out (port 53 when none).  For --dns-upstream.
 * Return: 0 or -EINVAL with @err set.
 */
int kn_dns_parse_server(const char *s, struct sockaddr_storage *out, kn_error *err);

#endif
