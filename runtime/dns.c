/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DNS messages for the gateway's filter, read and written with ldns.
 *
 * How this works:
 *  1. msg_read() turns wire bytes into an ldns_pkt, one record at a time
 *     with ldns_wire2rr() (see there why not ldns_wire2pkt()), and refuses
 *     anything ambiguous: a record whose rdata ldns did not consume to its
 *     RDLENGTH, a second OPT, an OPT outside the additional section, TSIG,
 *     bytes after the last record.
 *  2. Queries: query_read() adds the shape the gateway accepts (one
 *     question, QR=0, OPCODE QUERY, nothing but an OPT besides) and the
 *     question name in the one text form the policy matches (name_text()).
 *  3. Answers: kn_dns_filter_answer() checks the upstream's question is
 *     the client's, walks the CNAME chain from the question name, and
 *     builds a new message from scratch holding only that chain and the
 *     asked-for addresses owned by it: nothing the upstream sent reaches
 *     the sandbox unless it was chosen, which is what stops the extra
 *     records of cache-poisoning attempts.  Every kept address goes to the
 *     caller's callback so the flow check can bind address <-> name.
 *  4. ldns_pkt2wire() writes every message we send.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* after <stdbool.h>: without it ldns/common.h defines _Bool as signed char */
#include <ldns/ldns.h>

#include "cleanup.h"
#include "util.h"

/* A CNAME chain longer than this is cut (resolvers give up around 8-16 links). */
#define DNS_MAX_CNAME_LINKS 16

/* RFC 6891 6.2.3: a requestor's payload size below 512 is read as 512. */
#define DNS_MIN_UDP 512

static inline void dns_pkt_freep(ldns_pkt **p)
{
	ldns_pkt_free(*p);
}

static inline void dns_rr_freep(ldns_rr **rr)
{
	ldns_rr_free(*rr);
}

static inline void dns_rdf_freep(ldns_rdf **rdf)
{
	ldns_rdf_deep_free(*rdf);
}

#define _cleanup_ldns_pkt_ __attribute__((cleanup(dns_pkt_freep)))
#define _cleanup_ldns_rr_ __attribute__((cleanup(dns_rr_freep)))
#define _cleanup_ldns_rdf_ __attribute__((cleanup(dns_rdf_freep)))

static int status_errno(ldns_status st)
{
	return st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EBADMSG;
}

/*
 * rr_read() - one record at *@pos of @section.  ldns_wire2rdf() (1.8.3)
 * stops after the rdata fields the type's descriptor lists and does not
 * skip what is left of RDLENGTH, and a name inside the rdata may run past
 * RDLENGTH: either way the next record would be read from inside this
 * one, i.e. we and the client would disagree on what the message says.
 * So the RDLENGTH the record declares (the 16 bits after owner, type,
 * class and TTL; the owner re-read with ldns to find them) must end
 * exactly where ldns stopped.
 */
static int rr_read(const uint8_t *wire, size_t len, size_t *pos, ldns_pkt_section section, ldns_rr **out)
{
	_cleanup_ldns_rr_ ldns_rr *rr = NULL;
	size_t start = *pos;
	ldns_status st;

	st = ldns_wire2rr(&rr, wire, len, pos, section);
	if (st != LDNS_STATUS_OK)
		return status_errno(st);
	if (section != LDNS_SECTION_QUESTION) {
		_cleanup_ldns_rdf_ ldns_rdf *owner = NULL;
		size_t fixed = start;

		st = ldns_wire2dname(&owner, wire, len, &fixed);
		if (st != LDNS_STATUS_OK)
			return status_errno(st);
		/* type, class, TTL: 8 bytes; then RDLENGTH */
		if (fixed + 10 > len || *pos != fixed + 10 + ldns_read_uint16(wire + fixed + 8))
			return -EBADMSG;
	}
	*out = steal_ptr(&rr);
	return 0;
}

/* The OPT pseudo-record's fields (RFC 6891 6.1.3) into @p's EDNS state, as ldns_wire2pkt() stores them. */
static int opt_to_pkt(ldns_pkt *p, const ldns_rr *rr)
{
	uint32_t ttl = ldns_rr_ttl(rr);

	ldns_pkt_set_edns_udp_size(p, ldns_rr_get_class(rr));
	ldns_pkt_set_edns_extended_rcode(p, (uint8_t) (ttl >> 24));
	ldns_pkt_set_edns_version(p, (uint8_t) (ttl >> 16));
	ldns_pkt_set_edns_z(p, (uint16_t) ttl);
	if (ldns_rr_rd_count(rr) > 0 && ldns_rdf_size(ldns_rr_rdf(rr, 0)) > 0) {
		ldns_rdf *data = ldns_rdf_clone(ldns_rr_rdf(rr, 0));

		if (!data)
			return -ENOMEM;
		ldns_pkt_set_edns_data(p, data);
	}
	return 0;
}

/*
 * msg_read() - @wire as an ldns packet, the OPT record (when there is one)
 * in its EDNS fields and *@has_opt set.
 *
 * Not ldns_wire2pkt(): in ldns 1.8.3 it lowers ARCOUNT inside the loop
 * that reads the additional section when it meets a TSIG record, so it
 * skips the records after it, and a second TSIG replaces the first
 * without freeing it -- a leak any client could trigger at will.  The
 * records are read with the same ldns function it uses, ldns_wire2rr().
 * Return: 0, -EBADMSG, or -ENOMEM.
 */
static int msg_read(const uint8_t *wire, size_t len, ldns_pkt **out, bool *has_opt)
{
	static const ldns_pkt_section sections[] = {
		LDNS_SECTION_QUESTION, LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL,
	};
	_cleanup_ldns_pkt_ ldns_pkt *p = NULL;
	uint16_t counts[4];
	size_t pos = LDNS_HEADER_SIZE;
	bool opt = false;

	if (!wire || len < LDNS_HEADER_SIZE)
		return -EBADMSG;
	p = ldns_pkt_new();
	if (!p)
		return -ENOMEM;
	ldns_pkt_set_id(p, LDNS_ID_WIRE(wire));
	ldns_pkt_set_qr(p, LDNS_QR_WIRE(wire));
	ldns_pkt_set_opcode(p, (ldns_pkt_opcode) LDNS_OPCODE_WIRE(wire));
	ldns_pkt_set_aa(p, LDNS_AA_WIRE(wire));
	ldns_pkt_set_tc(p, LDNS_TC_WIRE(wire));
	ldns_pkt_set_rd(p, LDNS_RD_WIRE(wire));
	ldns_pkt_set_ra(p, LDNS_RA_WIRE(wire));
	ldns_pkt_set_ad(p, LDNS_AD_WIRE(wire));
	ldns_pkt_set_cd(p, LDNS_CD_WIRE(wire));
	ldns_pkt_set_rcode(p, LDNS_RCODE_WIRE(wire));
	counts[0] = LDNS_QDCOUNT(wire);
	counts[1] = LDNS_ANCOUNT(wire);
	counts[2] = LDNS_NSCOUNT(wire);
	counts[3] = LDNS_ARCOUNT(wire);

	for (size_t s = 0; s < 4; s++) {
		for (uint16_t i = 0; i < counts[s]; i++) {
			ldns_rr *rr = NULL;
			ldns_rr_type type;
			int r = rr_read(wire, len, &pos, sections[s], &rr);

			if (r < 0)
				return r;
			type = ldns_rr_get_type(rr);
			if (type == LDNS_RR_TYPE_OPT) {
				/*
				 * RFC 6891 6.1.1: one OPT, in the additional
				 * section, owned by the root; more is FORMERR.
				 */
				if (sections[s] != LDNS_SECTION_ADDITIONAL || opt ||
				    ldns_dname_label_count(ldns_rr_owner(rr)) != 0) {
					ldns_rr_free(rr);
					return -EBADMSG;
				}
				r = opt_to_pkt(p, rr);
				ldns_rr_free(rr);
				if (r < 0)
					return r;
				opt = true;
				continue;
			}
			/*
			 * The gateway neither signs nor verifies, and a
			 * message it rewrites could not keep a signature.
			 */
			if (type == LDNS_RR_TYPE_TSIG) {
				ldns_rr_free(rr);
				return -EBADMSG;
			}
			if (!ldns_pkt_push_rr(p, sections[s], rr)) {
				ldns_rr_free(rr);
				return -ENOMEM;
			}
		}
	}
	/* Bytes after the last record would reach whoever we forward the message to unread. */
	if (pos != len)
		return -EBADMSG;
	*has_opt = opt;
	*out = steal_ptr(&p);
	return 0;
}

/*
 * name_text() - @dname in the one text form the policy matches: labels
 * joined by '.', ASCII lowercase, no trailing dot ("" for the root), no
 * escapes.  A label holding '.', NUL, a space, a control byte or a byte
 * above 0x7e is refused rather than escaped: unescaped, the single label
 * "a.b" would read as the two labels of "a.b"; escaped, one name would
 * have two spellings for the allowlist to tell apart.  No allowed name
 * contains such bytes, so refusing them costs nothing.
 * Return: 0, -EBADMSG, or -ENOMEM.
 */
static int name_text(const ldns_rdf *dname, char *out, size_t cap)
{
	uint8_t nlabels = ldns_dname_label_count(dname);
	size_t n = 0;

	if (ldns_rdf_get_type(dname) != LDNS_RDF_TYPE_DNAME)
		return -EBADMSG;
	for (uint8_t i = 0; i < nlabels; i++) {
		_cleanup_ldns_rdf_ ldns_rdf *label = ldns_dname_label(dname, i);
		const uint8_t *d;
		size_t llen;

		if (!label)
			return -ENOMEM;
		/* a one-label dname: length, the label's bytes, the root */
		d = ldns_rdf_data(label);
		llen = d[0];
		if (llen == 0 || llen + 2 > ldns_rdf_size(label) || n + llen + 2 > cap)
			return -EBADMSG;
		if (i > 0)
			out[n++] = '.';
		for (size_t j = 1; j <= llen; j++) {
			uint8_t c = d[j];

			if (c <= ' ' || c >= 0x7f || c == '.')
				return -EBADMSG;
			/* ASCII only, whatever the locale (tolower('I') is not 'i' in Turkish ones) */
			out[n++] = (char) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		}
	}
	if (n >= cap)
		return -EBADMSG;
	out[n] = '\0';
	return 0;
}

/* query_read() - kn_dns_parse_query() keeping the packet for the reply. */
static int query_read(const uint8_t *pkt, size_t len, ldns_pkt **out, bool *has_opt, kn_dns_query *q)
{
	_cleanup_ldns_pkt_ ldns_pkt *p = NULL;
	const ldns_rr *question;
	int r;

	if (!pkt || len < LDNS_HEADER_SIZE)
		return -EBADMSG;
	/* cheap refusals first: the header alone says most malformed queries are */
	if (LDNS_QR_WIRE(pkt) || LDNS_OPCODE_WIRE(pkt) != LDNS_PACKET_QUERY || LDNS_QDCOUNT(pkt) != 1 ||
	    LDNS_ANCOUNT(pkt) != 0 || LDNS_NSCOUNT(pkt) != 0)
		return -EBADMSG;
	r = msg_read(pkt, len, &p, has_opt);
	if (r < 0)
		return r;
	/* msg_read() keeps the OPT out of the additional list: anything left there is not allowed */
	if (ldns_pkt_arcount(p) != 0 || ldns_rr_list_rr_count(ldns_pkt_question(p)) != 1)
		return -EBADMSG;
	question = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	r = name_text(ldns_rr_owner(question), q->name, sizeof(q->name));
	if (r < 0)
		return r;
	q->id = ldns_pkt_id(p);
	q->qtype = (uint16_t) ldns_rr_get_type(question);
	q->qclass = (uint16_t) ldns_rr_get_class(question);
	*out = steal_ptr(&p);
	return 0;
}

int kn_dns_parse_query(const uint8_t *pkt, size_t len, kn_dns_query *q)
{
	_cleanup_ldns_pkt_ ldns_pkt *p = NULL;
	kn_dns_query parsed;
	bool has_opt;
	int r;

	r = query_read(pkt, len, &p, &has_opt, &parsed);
	if (r < 0)
		return r;
	*q = parsed;
	return 0;
}

/* pkt_write() - @p in wire format into @out, or -ENOSPC when it needs more than @cap bytes. */
static int pkt_write(const ldns_pkt *p, uint8_t *out, size_t cap, size_t *outlen)
{
	_cleanup_free_ uint8_t *wire = NULL;
	size_t n = 0;
	ldns_status st;

	st = ldns_pkt2wire(&wire, p, &n);
	if (st != LDNS_STATUS_OK)
		return st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EIO;
	if (!wire || n > cap)
		return wire ? -ENOSPC : -ENOMEM;
	memcpy(out, wire, n);
	*outlen = n;
	return 0;
}

/* push_clone() - a copy of @rr into @section of @p. */
static int push_clone(ldns_pkt *p, ldns_pkt_section section, const ldns_rr *rr, ldns_rr **pushed)
{
	ldns_rr *c = ldns_rr_clone(rr);

	if (!c)
		return -ENOMEM;
	if (!ldns_pkt_push_rr(p, section, c)) {
		ldns_rr_free(c);
		return -ENOMEM;
	}
	if (pushed)
		*pushed = c;
	return 0;
}

int kn_dns_build_reply(const uint8_t *pkt, size_t len, int rcode, uint8_t *out, size_t cap, size_t *outlen)
{
	_cleanup_ldns_pkt_ ldns_pkt *query = NULL;
	_cleanup_ldns_pkt_ ldns_pkt *reply = NULL;
	kn_dns_query q;
	bool has_opt;
	int r;

	/* the header's 4-bit RCODE; the extended ones need an OPT we do not build */
	if (rcode < 0 || rcode > 15)
		return -EINVAL;
	r = query_read(pkt, len, &query, &has_opt, &q);
	if (r < 0)
		return r;
	reply = ldns_pkt_new();
	if (!reply)
		return -ENOMEM;
	ldns_pkt_set_id(reply, ldns_pkt_id(query));
	ldns_pkt_set_qr(reply, true);
	ldns_pkt_set_opcode(reply, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(reply, ldns_pkt_rd(query));
	ldns_pkt_set_ra(reply, true);
	ldns_pkt_set_rcode(reply, (uint8_t) rcode);
	/* the question as the client wrote it: clients using 0x20 case randomisation compare it */
	r = push_clone(reply, LDNS_SECTION_QUESTION, ldns_rr_list_rr(ldns_pkt_question(query), 0), NULL);
	if (r < 0)
		return r;
	/*
	 * RFC 6891 7: a responder includes an OPT in its response when the
	 * request had one; RFC 3225 3: the DO bit is copied.
	 */
	if (has_opt) {
		ldns_pkt_set_edns_udp_size(reply, KN_DNS_MAX_UDP);
		ldns_pkt_set_edns_do(reply, ldns_pkt_edns_do(query));
	}
	return pkt_write(reply, out, cap, outlen);
}

/*
 * name_valid() - whether @name is a name in name_text()'s form (one
 * trailing dot tolerated): 1-63 bytes per label of printable ASCII other
 * than '.' and '\\' (ldns would read a backslash as an escape), at most
 * 253 bytes; "" or "." is the root.
 */
static bool name_valid(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return true;
	if (len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char) name[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63)
				return false;
			label = 0;
			continue;
		}
		if (c <= ' ' || c >= 0x7f || c == '\\')
			return false;
		label++;
	}
	return true;
}

int kn_dns_build_query(const char *name, uint16_t qtype, uint16_t id, uint8_t *out, size_t cap, size_t *outlen)
{
	_cleanup_ldns_pkt_ ldns_pkt *p = NULL;
	_cleanup_ldns_rr_ ldns_rr *question = NULL;
	ldns_rdf *owner;

	if (!name || !name_valid(name) || qtype == 0)
		return -EINVAL;
	owner = ldns_dname_new_frm_str(name[0] ? name : ".");
	if (!owner)
		return -EINVAL;
	question = ldns_rr_new();
	if (!question) {
		ldns_rdf_deep_free(owner);
		return -ENOMEM;
	}
	ldns_rr_set_owner(question, owner);
	ldns_rr_set_type(question, (ldns_rr_type) qtype);
	ldns_rr_set_class(question, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(question, true);
	p = ldns_pkt_new();
	if (!p)
		return -ENOMEM;
	if (!ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, question))
		return -ENOMEM;
	question = NULL; /* the packet owns it now */
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(p, true);
	/* a non-zero payload size is what makes ldns_pkt2wire() write the OPT record */
	ldns_pkt_set_edns_udp_size(p, KN_DNS_MAX_UDP);
	return pkt_write(p, out, cap, outlen);
}

void kn_dns_set_id(uint8_t *pkt, size_t len, uint16_t id)
{
	if (!pkt || len < LDNS_HEADER_SIZE)
		return;
	LDNS_ID_SET(pkt, id);
}

static bool in_chain(const ldns_rdf *name, const ldns_rdf *const *chain, size_t n)
{
	/* ldns_dname_compare() compares label by label, ASCII case-insensitively (RFC 4034 6.1) */
	for (size_t i = 0; i < n; i++)
		if (ldns_dname_compare(name, chain[i]) == 0)
			return true;
	return false;
}

/* An address record's rdata as ldns read it: exactly one rdf of the type's size, or -EBADMSG. */
static int addr_of(const ldns_rr *rr, kn_addr *a)
{
	const ldns_rdf *rdf = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;

	memset(a, 0, sizeof(*a));
	if (!rdf)
		return -EBADMSG;
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_A &&
	    ldns_rdf_size(rdf) == 4) {
		a->family = AF_INET;
		memcpy(a->a, ldns_rdf_data(rdf), 4);
		return 0;
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_AAAA &&
	    ldns_rdf_size(rdf) == 16) {
		a->family = AF_INET6;
		memcpy(a->a, ldns_rdf_data(rdf), 16);
		return 0;
	}
	return -EBADMSG;
}

/*
 * select_answers() - mark in @keep the records of @an to pass on: the
 * CNAME chain from @qname (first CNAME of each owner, at most
 * DNS_MAX_CNAME_LINKS links, stopped before a link back into the chain),
 * then the records of type @q->qtype (A or AAAA only) whose owner is on
 * that chain.  Return: 0 or -EBADMSG (a chosen record is malformed).
 */
static int select_answers(const kn_dns_query *q, const ldns_rdf *qname, const ldns_rr_list *an, bool *keep)
{
	const ldns_rdf *chain[DNS_MAX_CNAME_LINKS + 1];
	size_t n = ldns_rr_list_rr_count(an), nchain = 1;

	chain[0] = qname;
	while (nchain <= DNS_MAX_CNAME_LINKS) {
		const ldns_rr *link = NULL;
		const ldns_rdf *target;
		size_t i;

		for (i = 0; i < n; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_get_class(rr) == q->qclass &&
			    ldns_dname_compare(ldns_rr_owner(rr), chain[nchain - 1]) == 0) {
				link = rr;
				break;
			}
		}
		if (!link)
			break;
		if (ldns_rr_rd_count(link) != 1 || ldns_rdf_get_type(ldns_rr_rdf(link, 0)) != LDNS_RDF_TYPE_DNAME)
			return -EBADMSG;
		target = ldns_rr_rdf(link, 0);
		if (in_chain(target, chain, nchain))
			break; /* a loop: the client is not handed it */
		keep[i] = true;
		chain[nchain++] = target;
	}
	if (q->qtype != KN_DNS_TYPE_A && q->qtype != KN_DNS_TYPE_AAAA)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		kn_addr a;

		if (ldns_rr_get_type(rr) != q->qtype || ldns_rr_get_class(rr) != q->qclass ||
		    !in_chain(ldns_rr_owner(rr), chain, nchain))
			continue;
		if (addr_of(rr, &a) < 0)
			return -EBADMSG;
		keep[i] = true;
	}
	return 0;
}

int kn_dns_filter_answer(const kn_dns_query *q, const uint8_t *resp, size_t rlen, uint8_t *out, size_t cap,
			 size_t *outlen, kn_dns_addr_cb on_addr, void *ctx)
{
	_cleanup_ldns_pkt_ ldns_pkt *in = NULL;
	_cleanup_ldns_pkt_ ldns_pkt *res = NULL;
	_cleanup_free_ bool *keep = NULL;
	const ldns_rr *question;
	const ldns_rr_list *an, *kept;
	char qname[sizeof(q->name)];
	bool has_opt;
	size_t n;
	int r;

	r = msg_read(resp, rlen, &in, &has_opt);
	if (r < 0)
		return r;
	if (!ldns_pkt_qr(in) || ldns_pkt_get_opcode(in) != LDNS_PACKET_QUERY ||
	    ldns_rr_list_rr_count(ldns_pkt_question(in)) != 1)
		return -EBADMSG;
	question = ldns_rr_list_rr(ldns_pkt_question(in), 0);
	if (name_text(ldns_rr_owner(question), qname, sizeof(qname)) < 0 || strcasecmp(qname, q->name) != 0 ||
	    ldns_rr_get_type(question) != q->qtype || ldns_rr_get_class(question) != q->qclass)
		return -EBADMSG;

	an = ldns_pkt_answer(in);
	n = ldns_rr_list_rr_count(an);
	keep = calloc(n ? n : 1, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	r = select_answers(q, ldns_rr_owner(question), an, keep);
	if (r < 0)
		return r;

	/* a new message: header flags, the question, the chosen answers, the OPT; nothing else */
	res = ldns_pkt_new();
	if (!res)
		return -ENOMEM;
	ldns_pkt_set_id(res, q->id);
	ldns_pkt_set_qr(res, true);
	ldns_pkt_set_opcode(res, LDNS_PACKET_QUERY);
	ldns_pkt_set_aa(res, ldns_pkt_aa(in));
	ldns_pkt_set_tc(res, ldns_pkt_tc(in)); /* the client learns it should retry over TCP */
	ldns_pkt_set_rd(res, ldns_pkt_rd(in));
	ldns_pkt_set_ra(res, ldns_pkt_ra(in));
	ldns_pkt_set_ad(res, ldns_pkt_ad(in));
	ldns_pkt_set_cd(res, ldns_pkt_cd(in));
	ldns_pkt_set_rcode(res, ldns_pkt_get_rcode(in));
	r = push_clone(res, LDNS_SECTION_QUESTION, question, NULL);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *c;

		if (!keep[i])
			continue;
		r = push_clone(res, LDNS_SECTION_ANSWER, ldns_rr_list_rr(an, i), &c);
		if (r < 0)
			return r;
		/* RFC 2181 8: a TTL with the top bit set is read as 0 */
		if (ldns_rr_ttl(c) > INT32_MAX)
			ldns_rr_set_ttl(c, 0);
	}
	if (has_opt) {
		/* the OPT as the upstream sent it (extended RCODE, DO, options) */
		ldns_pkt_set_edns_udp_size(res, ldns_pkt_edns_udp_size(in) < DNS_MIN_UDP ? DNS_MIN_UDP
										 : ldns_pkt_edns_udp_size(in));
		ldns_pkt_set_edns_extended_rcode(res, ldns_pkt_edns_extended_rcode(in));
		ldns_pkt_set_edns_version(res, ldns_pkt_edns_version(in));
		ldns_pkt_set_edns_z(res, ldns_pkt_edns_z(in));
		if (ldns_pkt_edns_data(in)) {
			ldns_rdf *data = ldns_rdf_clone(ldns_pkt_edns_data(in));

			if (!data)
				return -ENOMEM;
			ldns_pkt_set_edns_data(res, data);
		}
	}
	r = pkt_write(res, out, cap, outlen);
	if (r < 0)
		return r;

	/* only once the message is built: an address is reported iff the client receives it */
	kept = ldns_pkt_answer(res);
	for (size_t i = 0; on_addr && i < ldns_rr_list_rr_count(kept); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(kept, i);
		kn_addr a;

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME || addr_of(rr, &a) < 0)
			continue;
		on_addr(ctx, q->name, &a, ldns_rr_ttl(rr));
	}
	return 0;
}

/*
 * sockaddr_from_text() - "1.2.3.4", "2001:db8::1" or "fe80::1%eth0" (the
 * scope by interface name or number) with @port.  Return: 0 or -EINVAL.
 */
static int sockaddr_from_text(const char *text, size_t len, uint16_t port, struct sockaddr_storage *out)
{
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	struct sockaddr_in *s4 = (struct sockaddr_in *) out;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) out;
	char *pct;

	if (len == 0 || len >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (!strchr(addr, ':')) {
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return 0;
	}
	pct = strchr(addr, '%');
	if (pct)
		*pct++ = '\0';
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
		return -EINVAL;
	if (pct) {
		unsigned idx = if_nametoindex(pct);

		if (idx == 0) {
			char *end = NULL;
			unsigned long v;

			if (!isdigit((unsigned char) pct[0]))
				return -EINVAL;
			errno = 0;
			v = strtoul(pct, &end, 10);
			if (errno || *end || v == 0 || v > UINT32_MAX)
				return -EINVAL;
			idx = (unsigned) v;
		}
		s6->sin6_scope_id = idx;
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	return 0;
}

/*
 * resolv.conf is read by hand, one keyword only, the way glibc's res_init
 * reads it: a line starting with "nameserver" and a blank, the address up
 * to the next blank, lines starting with '#' or ';' are comments, an
 * address that does not parse is skipped.  Not ldns_resolver_new_frm_file()
 * (1.8.3): it drops the %scope of a link-local nameserver, gives up on the
 * whole file at one address it cannot parse, does not know ';' comments,
 * and reads search/domain lines we have no use for.  resolv.conf is a
 * line format, not DNS wire data: ldns has nothing to check here.
 */
int kn_dns_upstreams(const char *path, struct sockaddr_storage *out, size_t cap, kn_error *err)
{
	static const char keyword[] = "nameserver";
	const char *file = path ? path : "/etc/resolv.conf";
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	_cleanup_free_ char *line = NULL;
	size_t linecap = 0, n = 0;

	if (!f)
		return kn_error_set(err, errno, "open %s", file);
	while (n < cap && getline(&line, &linecap, f) >= 0) {
		const char *addr;
		size_t len;

		if (strncmp(line, keyword, sizeof(keyword) - 1) != 0)
			continue;
		addr = line + sizeof(keyword) - 1;
		if (*addr != ' ' && *addr != '\t')
			continue;
		addr += strspn(addr, " \t");
		len = strcspn(addr, " \t\r\n");
		if (sockaddr_from_text(addr, len, 53, &out[n]) == 0)
			n++;
	}
	if (ferror(f))
		return kn_error_set(err, EIO, "read %s", file);
	/* glibc's default when no nameserver is configured */
	if (n == 0 && cap > 0) {
		struct sockaddr_in *s4 = (struct sockaddr_in *) &out[0];

		memset(&out[0], 0, sizeof(out[0]));
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		n = 1;
	}
	return (int) n;
}

int kn_dns_parse_server(const char *s, struct sockaddr_storage *out, kn_error *err)
{
	const char *addr = s, *port = NULL, *colon;
	size_t addrlen;
	uint32_t p = 53;

	if (!s || !*s)
		return kn_error_setx(err, EINVAL, "invalid DNS server '': expected ADDR, ADDR:PORT or [IPV6]:PORT");
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] != '\0' && close[1] != ':'))
			return kn_error_setx(err, EINVAL, "invalid DNS server '%s': expected [IPV6]:PORT", s);
		addr = s + 1;
		addrlen = (size_t) (close - addr);
		if (!memchr(addr, ':', addrlen))
			return kn_error_setx(err, EINVAL, "invalid DNS server '%s': brackets hold an IPv6 address", s);
		if (close[1] == ':')
			port = close + 2;
	} else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
		/* one colon: IPv4:PORT; more: a bare IPv6 address */
		addrlen = (size_t) (colon - s);
		port = colon + 1;
	} else {
		addrlen = strlen(s);
	}
	if (port && (kn_parse_u32(port, "port", &p, err) < 0 || p == 0 || p > 65535))
		return kn_error_setx(err, EINVAL, "invalid DNS server '%s': the port must be 1-65535", s);
	if (sockaddr_from_text(addr, addrlen, (uint16_t) p, out) < 0)
		return kn_error_setx(err, EINVAL, "invalid DNS server '%s': expected ADDR, ADDR:PORT or [IPV6]:PORT",
				     s);
	return 0;
}
