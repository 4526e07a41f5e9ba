/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the gateway reads DNS messages from the sandbox (queries)
 * and from the upstream server (answers); both are untrusted.  The input
 * is tried as a query (parse, the replies the gateway builds for it, a
 * query rebuilt from its name) and as an upstream answer to a few fixed
 * questions and to the question it carries itself, and the filter's
 * output is checked against what the filter promises:
 *  - it is a message ldns reads, with the client's id, the question, TC
 *    and RCODE of the answer, nothing in authority/additional;
 *  - its answers are a CNAME chain from the question name (at most 16
 *    links, one CNAME per owner) and addresses of the asked type owned by
 *    names of that chain;
 *  - the addresses reported are exactly those records, in order, with
 *    their TTLs, under the question name; none when the filter fails.
 * A broken promise aborts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* after <stdbool.h>: without it ldns/common.h defines _Bool as signed char */
#include <ldns/ldns.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* a 64 KiB message holds at most ~4,000 address records */
#define MAX_SEEN 8192

static struct {
	size_t n;
	bool wrong_name;
	const char *want_name;
	kn_addr a[MAX_SEEN];
	uint32_t ttl[MAX_SEEN];
} seen;

static uint8_t out[65536];

static void on_addr(void *ctx, const char *name, const kn_addr *a, uint32_t ttl)
{
	(void) ctx;
	if (strcmp(name, seen.want_name) != 0)
		seen.wrong_name = true;
	CHECK(seen.n < MAX_SEEN);
	seen.a[seen.n] = *a;
	seen.ttl[seen.n] = ttl;
	seen.n++;
}

/* The text form kn_dns_parse_query() promises: printable, lowercase, non-empty labels. */
static void check_name_text(const char *name)
{
	size_t len = strlen(name);

	CHECK(len <= 253);
	if (len == 0)
		return;
	CHECK(name[0] != '.' && name[len - 1] != '.' && !strstr(name, ".."));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) name[i];

		CHECK(c > ' ' && c < 0x7f);
		CHECK(!(c >= 'A' && c <= 'Z'));
	}
}

static void check_query(const uint8_t *data, size_t size)
{
	static const int rcodes[] = { KN_DNS_RCODE_NOERROR, KN_DNS_RCODE_SERVFAIL, KN_DNS_RCODE_NXDOMAIN,
				      KN_DNS_RCODE_REFUSED };
	kn_dns_query q, again;
	size_t n;

	if (kn_dns_parse_query(data, size, &q) != 0)
		return;
	check_name_text(q.name);
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		ldns_pkt *p = NULL;

		CHECK(kn_dns_build_reply(data, size, rcodes[i], out, sizeof(out), &n) == 0);
		CHECK(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
		CHECK(ldns_pkt_id(p) == q.id && ldns_pkt_qr(p) && (int) ldns_pkt_get_rcode(p) == rcodes[i]);
		CHECK(ldns_pkt_qdcount(p) == 1 && ldns_pkt_ancount(p) == 0 && ldns_pkt_nscount(p) == 0 &&
		      ldns_pkt_arcount(p) == 0);
		ldns_pkt_free(p);
		/* the reply with QR cleared is the same query again */
		out[2] &= (uint8_t) ~0x80;
		CHECK(kn_dns_parse_query(out, n, &again) == 0);
		CHECK(again.id == q.id && again.qtype == q.qtype && again.qclass == q.qclass);
		CHECK(strcmp(again.name, q.name) == 0);
	}
	/* a query rebuilt from the name says the same (a backslash is refused: ldns would read an escape) */
	if (q.qtype != 0 && !strchr(q.name, '\\')) {
		CHECK(kn_dns_build_query(q.name, q.qtype, q.id, out, sizeof(out), &n) == 0);
		CHECK(kn_dns_parse_query(out, n, &again) == 0);
		CHECK(again.id == q.id && again.qtype == q.qtype && again.qclass == 1);
		CHECK(strcmp(again.name, q.name) == 0);
		kn_dns_set_id(out, n, (uint16_t) (q.id + 1));
		CHECK(kn_dns_parse_query(out, n, &again) == 0 && again.id == (uint16_t) (q.id + 1));
	}
}

static bool in_names(const ldns_rdf *name, ldns_rdf *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ldns_dname_compare(name, names[i]) == 0)
			return true;
	return false;
}

/* Check the filtered message @msg against @q, the answer @resp and the addresses reported. */
static void check_output(const kn_dns_query *q, const uint8_t *resp, const uint8_t *msg, size_t n)
{
	ldns_pkt *p = NULL;
	ldns_rr_list *an;
	ldns_rdf *names[18];
	size_t nnames = 1, cnames = 0, addrs = 0;
	bool grew;

	CHECK(ldns_wire2pkt(&p, msg, n) == LDNS_STATUS_OK);
	CHECK(ldns_pkt_id(p) == q->id && ldns_pkt_qr(p));
	CHECK(ldns_pkt_tc(p) == !!(resp[2] & 0x02));
	CHECK((int) ldns_pkt_get_rcode(p) == (resp[3] & 0x0f));
	CHECK(ldns_pkt_qdcount(p) == 1 && ldns_pkt_nscount(p) == 0 && ldns_pkt_arcount(p) == 0);
	CHECK(ldns_pkt_tsig(p) == NULL);
	names[0] = ldns_dname_new_frm_str(q->name[0] ? q->name : ".");
	CHECK(names[0]);
	CHECK(ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)), names[0]) == 0);

	/* the chain from the question name, as far as the output's CNAMEs lead */
	an = ldns_pkt_answer(p);
	do {
		grew = false;
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(an, i);
			ldns_rdf *target;

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || !in_names(ldns_rr_owner(rr), names, nnames))
				continue;
			target = ldns_rr_rdf(rr, 0);
			CHECK(target);
			if (!in_names(target, names, nnames)) {
				CHECK(nnames < 17); /* at most 16 links */
				names[nnames] = ldns_rdf_clone(target);
				CHECK(names[nnames]);
				nnames++;
				grew = true;
			}
		}
	} while (grew);

	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type type = ldns_rr_get_type(rr);
		const ldns_rdf *rdf;

		CHECK(ldns_rr_get_class(rr) == q->qclass);
		CHECK(in_names(ldns_rr_owner(rr), names, nnames));
		CHECK(ldns_rr_ttl(rr) <= INT32_MAX);
		if (type == LDNS_RR_TYPE_CNAME) {
			/* one CNAME per owner: no two links from a name */
			for (size_t j = 0; j < i; j++) {
				const ldns_rr *o = ldns_rr_list_rr(an, j);

				CHECK(ldns_rr_get_type(o) != LDNS_RR_TYPE_CNAME ||
				      ldns_dname_compare(ldns_rr_owner(o), ldns_rr_owner(rr)) != 0);
			}
			cnames++;
			continue;
		}
		CHECK(type == q->qtype && (type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_AAAA));
		rdf = ldns_rr_rdf(rr, 0);
		CHECK(rdf && ldns_rr_rd_count(rr) == 1);
		CHECK(ldns_rdf_size(rdf) == (type == LDNS_RR_TYPE_A ? 4u : 16u));
		/* reported, in order, with its TTL */
		CHECK(addrs < seen.n);
		CHECK(seen.a[addrs].family == (type == LDNS_RR_TYPE_A ? AF_INET : AF_INET6));
		CHECK(memcmp(seen.a[addrs].a, ldns_rdf_data(rdf), ldns_rdf_size(rdf)) == 0);
		CHECK(seen.ttl[addrs] == ldns_rr_ttl(rr));
		addrs++;
	}
	CHECK(cnames <= 16);
	CHECK(addrs == seen.n);
	CHECK(!seen.wrong_name);
	for (size_t i = 0; i < nnames; i++)
		ldns_rdf_deep_free(names[i]);
	ldns_pkt_free(p);
}

static void check_filter(const kn_dns_query *q, const uint8_t *data, size_t size)
{
	size_t n = 0, small;
	int r;

	memset(&seen, 0, sizeof(seen));
	seen.want_name = q->name;
	r = kn_dns_filter_answer(q, data, size, out, sizeof(out), &n, on_addr, NULL);
	if (r < 0) {
		CHECK(r == -EBADMSG || r == -ENOSPC || r == -ENOMEM);
		CHECK(seen.n == 0);
		return;
	}
	CHECK(n >= 12 && n <= sizeof(out));
	check_output(q, data, out, n);

	/* the same answer into a buffer one byte short: -ENOSPC, nothing reported */
	small = n - 1;
	memset(&seen, 0, sizeof(seen));
	seen.want_name = q->name;
	CHECK(kn_dns_filter_answer(q, data, size, out, small, &n, on_addr, NULL) == -ENOSPC);
	CHECK(seen.n == 0);
}

/*
 * The question the input carries, in kn_dns_query form, so the filter
 * gets past the question check for any name the fuzzer writes; false
 * when there is none or its name has no such text form.
 */
static bool own_question(const uint8_t *data, size_t size, kn_dns_query *q)
{
	ldns_rdf *name = NULL;
	size_t pos = 12, k = 0;
	const uint8_t *d;
	bool ok = true;

	if (size < 12 || (data[4] == 0 && data[5] == 0))
		return false;
	if (ldns_wire2dname(&name, data, size, &pos) != LDNS_STATUS_OK)
		return false;
	if (pos + 4 > size) {
		ldns_rdf_deep_free(name);
		return false;
	}
	memset(q, 0, sizeof(*q));
	q->id = 0x2b2b;
	q->qtype = (uint16_t) (data[pos] << 8 | data[pos + 1]);
	q->qclass = (uint16_t) (data[pos + 2] << 8 | data[pos + 3]);
	d = ldns_rdf_data(name);
	for (size_t i = 0; ok && i < ldns_rdf_size(name) && d[i];) {
		size_t len = d[i];

		if (k)
			q->name[k++] = '.';
		for (size_t j = 1; j <= len; j++) {
			uint8_t c = d[i + j];

			if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\' || k >= 253) {
				ok = false;
				break;
			}
			q->name[k++] = (char) (c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		i += len + 1;
	}
	q->name[k] = '\0';
	ldns_rdf_deep_free(name);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char *name;
		uint16_t qtype;
	} fixed[] = {
		{ "a.test", KN_DNS_TYPE_A },
		{ "a.test", KN_DNS_TYPE_AAAA },
		{ "c.test", KN_DNS_TYPE_A },
		{ "www.example.com", KN_DNS_TYPE_A },
	};
	kn_dns_query q;

	if (size > 65535)
		return 0;
	check_query(data, size);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.id = (uint16_t) (0x1000 + i);
		snprintf(q.name, sizeof(q.name), "%s", fixed[i].name);
		q.qtype = fixed[i].qtype;
		q.qclass = 1;
		check_filter(&q, data, size);
	}
	if (own_question(data, size, &q))
		check_filter(&q, data, size);
	return 0;
}
