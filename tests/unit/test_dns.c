/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kn_dns_*: queries, replies, the answer filter, resolv.conf and server
 * arguments.  Messages are built with ldns (the well-formed ones) or
 * written out byte by byte (the malformed ones ldns would not write), and
 * the module's output is read back with ldns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
/* after <stdbool.h>: without it ldns/common.h defines _Bool as signed char */
#include <ldns/ldns.h>

#include "dns.h"

/* --- building messages with ldns --------------------------------------- */

typedef struct msg_spec {
	uint16_t id;
	bool qr, rd, tc;
	int opcode;
	int rcode;
	const char *const *question; /* "a.test. IN A", NULL-terminated; NULL: none */
	const char *const *an;       /* zone-file lines, NULL-terminated */
	const char *const *ns;
	const char *const *ar;
	uint16_t opt_udp;            /* 0: no OPT record */
	bool opt_do;
	uint8_t opt_ext_rcode;
	const char *opt_data_hex;    /* OPT rdata (options), hex */
} msg_spec;

static void push_lines(ldns_pkt *p, ldns_pkt_section section, const char *const *lines)
{
	for (size_t i = 0; lines && lines[i]; i++) {
		ldns_rr *rr = NULL;
		ldns_status st = section == LDNS_SECTION_QUESTION
					 ? ldns_rr_new_question_frm_str(&rr, lines[i], NULL, NULL)
					 : ldns_rr_new_frm_str(&rr, lines[i], 3600, NULL, NULL);

		if (st != LDNS_STATUS_OK)
			fail_msg("ldns cannot read '%s': %s", lines[i], ldns_get_errorstr_by_id(st));
		assert_true(ldns_pkt_push_rr(p, section, rr));
	}
}

static size_t build(const msg_spec *m, uint8_t *buf, size_t cap)
{
	ldns_pkt *p = ldns_pkt_new();
	uint8_t *wire = NULL;
	size_t n = 0;

	assert_non_null(p);
	ldns_pkt_set_id(p, m->id);
	ldns_pkt_set_qr(p, m->qr);
	ldns_pkt_set_rd(p, m->rd);
	ldns_pkt_set_ra(p, m->qr);
	ldns_pkt_set_tc(p, m->tc);
	ldns_pkt_set_opcode(p, (ldns_pkt_opcode) m->opcode);
	ldns_pkt_set_rcode(p, (uint8_t) m->rcode);
	push_lines(p, LDNS_SECTION_QUESTION, m->question);
	push_lines(p, LDNS_SECTION_ANSWER, m->an);
	push_lines(p, LDNS_SECTION_AUTHORITY, m->ns);
	push_lines(p, LDNS_SECTION_ADDITIONAL, m->ar);
	if (m->opt_udp) {
		ldns_pkt_set_edns_udp_size(p, m->opt_udp);
		ldns_pkt_set_edns_do(p, m->opt_do);
		ldns_pkt_set_edns_extended_rcode(p, m->opt_ext_rcode);
		if (m->opt_data_hex) {
			ldns_rdf *d = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_HEX, m->opt_data_hex);

			assert_non_null(d);
			ldns_pkt_set_edns_data(p, d);
		}
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, &n), LDNS_STATUS_OK);
	assert_true(n <= cap);
	memcpy(buf, wire, n);
	free(wire);
	ldns_pkt_free(p);
	return n;
}

/* A standard query for @question ("a.test. IN A"), optionally with an OPT. */
static size_t build_q(const char *question, uint16_t id, bool opt, uint8_t *buf, size_t cap)
{
	const char *qs[] = { question, NULL };
	msg_spec m = { .id = id, .rd = true, .question = qs, .opt_udp = opt ? 1232 : 0 };

	return build(&m, buf, cap);
}

static ldns_pkt *read_back(const uint8_t *buf, size_t len)
{
	ldns_pkt *p = NULL;

	assert_int_equal(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
	return p;
}

/* Whether @section of @p holds the record @line (owner, type, class, rdata; and TTL). */
static bool has_rr(const ldns_pkt *p, ldns_pkt_section section, const char *line)
{
	ldns_rr_list *l = ldns_pkt_get_section_clone(p, section);
	ldns_rr *want = NULL;
	bool found = false;

	assert_int_equal(ldns_rr_new_frm_str(&want, line, 3600, NULL, NULL), LDNS_STATUS_OK);
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);

		if (ldns_rr_compare(rr, want) == 0 && ldns_rr_ttl(rr) == ldns_rr_ttl(want))
			found = true;
	}
	ldns_rr_free(want);
	ldns_rr_list_deep_free(l);
	return found;
}

/* --- what the filter reports ------------------------------------------- */

typedef struct seen {
	size_t n;
	char name[32][256];
	kn_addr a[32];
	uint32_t ttl[32];
} seen;

static void on_addr(void *ctx, const char *name, const kn_addr *a, uint32_t ttl)
{
	seen *s = ctx;

	assert_true(s->n < 32);
	snprintf(s->name[s->n], sizeof(s->name[s->n]), "%s", name);
	s->a[s->n] = *a;
	s->ttl[s->n] = ttl;
	s->n++;
}

static bool seen_addr(const seen *s, const char *text, uint32_t ttl)
{
	kn_addr want = { 0 };

	want.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(want.family, text, want.a), 1);
	for (size_t i = 0; i < s->n; i++)
		if (s->a[i].family == want.family && !memcmp(s->a[i].a, want.a, 16) && s->ttl[i] == ttl)
			return true;
	return false;
}

static kn_dns_query make_q(const char *name, uint16_t qtype, uint16_t id)
{
	kn_dns_query q = { .id = id, .qtype = qtype, .qclass = 1 };

	snprintf(q.name, sizeof(q.name), "%s", name);
	return q;
}

/* Filter @resp for @q; returns the result and leaves the output read back in *@outp (NULL on failure). */
static int filter(const kn_dns_query *q, const uint8_t *resp, size_t rlen, seen *s, ldns_pkt **outp)
{
	uint8_t out[65535];
	size_t outlen = 0;
	int r;

	memset(s, 0, sizeof(*s));
	r = kn_dns_filter_answer(q, resp, rlen, out, sizeof(out), &outlen, on_addr, s);
	*outp = NULL;
	if (r == 0) {
		*outp = read_back(out, outlen);
		assert_int_equal(ldns_pkt_id(*outp), q->id);
		assert_true(ldns_pkt_qr(*outp));
		for (size_t i = 0; i < s->n; i++)
			assert_string_equal(s->name[i], q->name);
	} else {
		assert_int_equal(s->n, 0);
	}
	return r;
}

/* --- queries ------------------------------------------------------------ */

static void test_parse_query_valid(void **state)
{
	uint8_t buf[512];
	kn_dns_query q;
	size_t n;

	(void) state;
	n = build_q("WWW.Example.COM. IN A", 0x4242, false, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
	assert_int_equal(q.id, 0x4242);
	assert_string_equal(q.name, "www.example.com");
	assert_int_equal(q.qtype, KN_DNS_TYPE_A);
	assert_int_equal(q.qclass, 1);

	/* an OPT record in the additional section is allowed */
	n = build_q("a.test. IN AAAA", 7, true, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
	assert_string_equal(q.name, "a.test");
	assert_int_equal(q.qtype, KN_DNS_TYPE_AAAA);

	/* the policy decides about other types and odd names */
	n = build_q("_443._tcp.x-y.test. IN TXT", 8, false, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
	assert_string_equal(q.name, "_443._tcp.x-y.test");
	assert_int_equal(q.qtype, 16);

	/* the root: "" */
	n = build_q(". IN NS", 9, false, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
	assert_string_equal(q.name, "");
}

static void test_parse_query_shape(void **state)
{
	const char *two[] = { "a.test. IN A", "b.test. IN A", NULL };
	const char *one[] = { "a.test. IN A", NULL };
	const char *rr[] = { "a.test. 60 IN A 198.51.100.1", NULL };
	uint8_t buf[512];
	kn_dns_query q;
	size_t n;

	(void) state;
	n = build(&(msg_spec){ .id = 1, .question = two }, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = build(&(msg_spec){ .id = 1 }, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG); /* no question */
	n = build(&(msg_spec){ .id = 1, .qr = true, .question = one }, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG); /* a response */
	for (int op = 1; op < 16; op++) {
		n = build(&(msg_spec){ .id = 1, .opcode = op, .question = one }, buf, sizeof(buf));
		assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	}
	n = build(&(msg_spec){ .id = 1, .question = one, .an = rr }, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = build(&(msg_spec){ .id = 1, .question = one, .ns = rr }, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = build(&(msg_spec){ .id = 1, .question = one, .ar = rr }, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG); /* only an OPT may be there */
	n = build(&(msg_spec){ .id = 1, .question = one, .ar = rr, .opt_udp = 1232 }, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
}

static void test_parse_query_truncated_and_garbage(void **state)
{
	uint8_t buf[512], junk[64];
	kn_dns_query q;
	uint32_t seed = 12345;
	size_t n;

	(void) state;
	n = build_q("www.example.com. IN A", 1, true, buf, sizeof(buf));
	assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(kn_dns_parse_query(buf, cut, &q), -EBADMSG);
	assert_int_equal(kn_dns_parse_query(NULL, 0, &q), -EBADMSG);

	/* bytes after the last record would be forwarded upstream unread */
	buf[n] = 0;
	assert_int_equal(kn_dns_parse_query(buf, n + 1, &q), -EBADMSG);

	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(kn_dns_parse_query(junk, sizeof(junk), &q), -EBADMSG);
	for (int round = 0; round < 2000; round++) {
		int r;

		for (size_t i = 0; i < sizeof(junk); i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (uint8_t) (seed >> 16);
		}
		/* a plausible header so the records are read, not just the counts refused */
		junk[2] = 0x01;
		junk[3] = 0;
		junk[4] = 0;
		junk[5] = 1;
		memset(junk + 6, 0, 4);
		junk[10] = 0;
		junk[11] = round & 1;
		r = kn_dns_parse_query(junk, 12 + (size_t) (round % 52), &q);
		assert_true(r == 0 || r == -EBADMSG);
	}
}

/* A query for a name given as wire labels, written out by hand. */
static size_t raw_query(const uint8_t *name, size_t name_len, uint8_t *buf)
{
	static const uint8_t hdr[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	static const uint8_t tail[] = { 0, 1, 0, 1 }; /* A, IN */

	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + 12, name, name_len);
	memcpy(buf + 12 + name_len, tail, sizeof(tail));
	return 12 + name_len + sizeof(tail);
}

static void test_parse_query_name_bytes(void **state)
{
	static const uint8_t dotted[] = { 3, 'a', '.', 'b', 4, 't', 'e', 's', 't', 0 };
	static const uint8_t nul[] = { 3, 'a', 0, 'b', 4, 't', 'e', 's', 't', 0 };
	static const uint8_t space[] = { 3, 'a', ' ', 'b', 0 };
	static const uint8_t ctl[] = { 2, 'a', '\n', 0 };
	static const uint8_t del[] = { 2, 'a', 0x7f, 0 };
	static const uint8_t high[] = { 2, 0xc3, 0xa9, 0 };
	static const uint8_t backslash[] = { 3, 'a', '\\', 'b', 4, 'T', 'E', 'S', 'T', 0 };
	static const uint8_t two_labels[] = { 1, 'a', 1, 'b', 4, 't', 'e', 's', 't', 0 };
	/* a compression pointer to itself */
	static const uint8_t loop[] = { 0xc0, 12 };
	/* a label type other than 00 and 11 (RFC 6891 removed extended labels) */
	static const uint8_t ext[] = { 0x41, 'a', 0 };
	uint8_t buf[512];
	kn_dns_query q;
	size_t n;

	(void) state;
	n = raw_query(dotted, sizeof(dotted), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG); /* "a.b" must not read as two labels */
	n = raw_query(nul, sizeof(nul), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = raw_query(space, sizeof(space), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = raw_query(ctl, sizeof(ctl), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = raw_query(del, sizeof(del), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = raw_query(high, sizeof(high), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = raw_query(loop, sizeof(loop), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);
	n = raw_query(ext, sizeof(ext), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), -EBADMSG);

	/* printable bytes are kept as they are, unescaped: the policy refuses them */
	n = raw_query(backslash, sizeof(backslash), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
	assert_string_equal(q.name, "a\\b.test");
	n = raw_query(two_labels, sizeof(two_labels), buf);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
	assert_string_equal(q.name, "a.b.test");
	assert_int_equal(q.id, 0x1234);

	/* the longest name: 127 one-byte labels, 253 characters */
	{
		uint8_t longest[255];

		for (size_t i = 0; i < 127; i++) {
			longest[2 * i] = 1;
			longest[2 * i + 1] = 'x';
		}
		longest[254] = 0;
		n = raw_query(longest, sizeof(longest), buf);
		assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
		assert_int_equal(strlen(q.name), 253);
	}
}

static void test_parse_query_opt_and_tsig(void **state)
{
	/* header (QDCOUNT 1, ARCOUNT 2) + a.test A IN + two OPT records */
	static const uint8_t two_opt[] = {
		0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 2,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
	};
	/* an OPT record owned by a name other than the root */
	static const uint8_t opt_owner[] = {
		0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 1,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
	};
	/*
	 * three empty TSIG records: ldns_wire2pkt() leaks the first two and
	 * skips records after them; the module must refuse without leaking
	 * (ASan's leak check runs over this test)
	 */
	static const uint8_t tsig[] = {
		0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 3,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0,
		0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0,
		0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0,
	};
	/* one OPT with an option (a padding option of 2 bytes) */
	static const uint8_t opt_ok[] = {
		0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 1,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 6, 0, 12, 0, 2, 0, 0,
	};
	kn_dns_query q;

	(void) state;
	assert_int_equal(kn_dns_parse_query(two_opt, sizeof(two_opt), &q), -EBADMSG);
	assert_int_equal(kn_dns_parse_query(opt_owner, sizeof(opt_owner), &q), -EBADMSG);
	assert_int_equal(kn_dns_parse_query(tsig, sizeof(tsig), &q), -EBADMSG);
	assert_int_equal(kn_dns_parse_query(opt_ok, sizeof(opt_ok), &q), 0);
	assert_string_equal(q.name, "a.test");
	/* the OPT's option cut short: its RDLENGTH runs past the message */
	assert_int_equal(kn_dns_parse_query(opt_ok, sizeof(opt_ok) - 1, &q), -EBADMSG);
}

/* --- replies ------------------------------------------------------------ */

static void test_build_reply_rcodes(void **state)
{
	static const int rcodes[] = { KN_DNS_RCODE_NOERROR, KN_DNS_RCODE_SERVFAIL, KN_DNS_RCODE_NXDOMAIN,
				      KN_DNS_RCODE_REFUSED };
	uint8_t buf[512], out[512];

	(void) state;
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		for (int variant = 0; variant < 4; variant++) {
			bool rd = variant & 1, opt = variant & 2;
			const char *qs[] = { "Mixed.Case.TEST. IN AAAA", NULL };
			msg_spec m = { .id = (uint16_t) (0xbeef + i), .rd = rd, .question = qs,
				       .opt_udp = opt ? 4096 : 0, .opt_do = opt };
			size_t n = build(&m, buf, sizeof(buf)), outlen = 0;
			ldns_pkt *p;
			const ldns_rr *question;
			ldns_rdf *want;

			assert_int_equal(kn_dns_build_reply(buf, n, rcodes[i], out, sizeof(out), &outlen), 0);
			p = read_back(out, outlen);
			assert_int_equal(ldns_pkt_id(p), 0xbeef + i);
			assert_true(ldns_pkt_qr(p));
			assert_true(ldns_pkt_ra(p));
			assert_int_equal(ldns_pkt_rd(p), rd);
			assert_false(ldns_pkt_aa(p));
			assert_false(ldns_pkt_tc(p));
			assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
			assert_int_equal(ldns_pkt_get_rcode(p), rcodes[i]);
			assert_int_equal(ldns_pkt_qdcount(p), 1);
			assert_int_equal(ldns_pkt_ancount(p), 0);
			assert_int_equal(ldns_pkt_nscount(p), 0);
			assert_int_equal(ldns_pkt_arcount(p), 0);
			question = ldns_rr_list_rr(ldns_pkt_question(p), 0);
			want = ldns_dname_new_frm_str("Mixed.Case.TEST.");
			/* the question byte for byte, case included (0x20 randomisation) */
			assert_int_equal(ldns_rdf_size(ldns_rr_owner(question)), ldns_rdf_size(want));
			assert_memory_equal(ldns_rdf_data(ldns_rr_owner(question)), ldns_rdf_data(want),
					    ldns_rdf_size(want));
			assert_int_equal(ldns_rr_get_type(question), LDNS_RR_TYPE_AAAA);
			assert_int_equal(ldns_rr_get_class(question), LDNS_RR_CLASS_IN);
			/* RFC 6891: an OPT in the reply iff the query had one */
			assert_int_equal(ldns_pkt_edns(p), opt);
			if (opt) {
				assert_int_equal(ldns_pkt_edns_udp_size(p), KN_DNS_MAX_UDP);
				assert_true(ldns_pkt_edns_do(p));
			}
			ldns_rdf_deep_free(want);
			ldns_pkt_free(p);
		}
	}
}

static void test_build_reply_errors(void **state)
{
	const char *one[] = { "a.test. IN A", NULL };
	uint8_t buf[512], out[512];
	size_t n, outlen;

	(void) state;
	n = build_q("a.test. IN A", 1, false, buf, sizeof(buf));
	assert_int_equal(kn_dns_build_reply(buf, n, 3, out, n - 1, &outlen), -ENOSPC);
	assert_int_equal(kn_dns_build_reply(buf, n, 3, out, n, &outlen), 0);
	assert_int_equal(outlen, n);
	assert_int_equal(kn_dns_build_reply(buf, n - 1, 3, out, sizeof(out), &outlen), -EBADMSG);
	assert_int_equal(kn_dns_build_reply(buf, n, 16, out, sizeof(out), &outlen), -EINVAL);
	n = build(&(msg_spec){ .id = 1, .qr = true, .question = one }, buf, sizeof(buf));
	assert_int_equal(kn_dns_build_reply(buf, n, 3, out, sizeof(out), &outlen), -EBADMSG);
}

static void test_build_query(void **state)
{
	uint8_t out[512];
	size_t outlen = 0;
	kn_dns_query q;
	ldns_pkt *p;
	char longname[300];

	(void) state;
	assert_int_equal(kn_dns_build_query("probe.kennel.invalid", KN_DNS_TYPE_A, 0x5151, out, sizeof(out), &outlen),
			 0);
	assert_int_equal(kn_dns_parse_query(out, outlen, &q), 0);
	assert_int_equal(q.id, 0x5151);
	assert_string_equal(q.name, "probe.kennel.invalid");
	assert_int_equal(q.qtype, KN_DNS_TYPE_A);
	assert_int_equal(q.qclass, 1);
	p = read_back(out, outlen);
	assert_true(ldns_pkt_rd(p));
	assert_false(ldns_pkt_qr(p));
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), KN_DNS_MAX_UDP);
	ldns_pkt_free(p);

	assert_int_equal(kn_dns_build_query("a.test.", KN_DNS_TYPE_AAAA, 1, out, sizeof(out), &outlen), 0);
	assert_int_equal(kn_dns_parse_query(out, outlen, &q), 0);
	assert_string_equal(q.name, "a.test");
	assert_int_equal(kn_dns_build_query("", 2, 1, out, sizeof(out), &outlen), 0);
	assert_int_equal(kn_dns_parse_query(out, outlen, &q), 0);
	assert_string_equal(q.name, "");

	assert_int_equal(kn_dns_build_query("a.test", KN_DNS_TYPE_A, 1, out, 20, &outlen), -ENOSPC);
	assert_int_equal(kn_dns_build_query(NULL, KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), -EINVAL);
	assert_int_equal(kn_dns_build_query("a..test", KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), -EINVAL);
	assert_int_equal(kn_dns_build_query(".a", KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), -EINVAL);
	assert_int_equal(kn_dns_build_query("a b", KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), -EINVAL);
	assert_int_equal(kn_dns_build_query("a\\.b", KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), -EINVAL);
	assert_int_equal(kn_dns_build_query("a.test", 0, 1, out, sizeof(out), &outlen), -EINVAL);
	memset(longname, 'x', 64);
	strcpy(longname + 64, ".test");
	assert_int_equal(kn_dns_build_query(longname, KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), -EINVAL);
	longname[1] = '.'; /* labels of 1 and 62 */
	assert_int_equal(kn_dns_build_query(longname, KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), 0);
	for (size_t i = 0; i < 254; i++)
		longname[i] = (i % 2) ? '.' : 'x';
	longname[253] = '\0'; /* 127 labels, 253 characters: the longest */
	assert_int_equal(kn_dns_build_query(longname, KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), 0);
	assert_int_equal(kn_dns_parse_query(out, outlen, &q), 0);
	assert_string_equal(q.name, longname);
	longname[253] = '.';
	longname[254] = 'x';
	longname[255] = '\0';
	assert_int_equal(kn_dns_build_query(longname, KN_DNS_TYPE_A, 1, out, sizeof(out), &outlen), -EINVAL);
}

static void test_set_id(void **state)
{
	uint8_t buf[512], before[512];
	kn_dns_query q;
	size_t n;

	(void) state;
	n = build_q("a.test. IN A", 0x0102, false, buf, sizeof(buf));
	kn_dns_set_id(buf, n, 0xfedc);
	assert_int_equal(kn_dns_parse_query(buf, n, &q), 0);
	assert_int_equal(q.id, 0xfedc);
	memcpy(before, buf, n);
	kn_dns_set_id(buf, 11, 0x1111); /* shorter than a header: left alone */
	assert_memory_equal(buf, before, n);
}

/* --- the answer filter -------------------------------------------------- */

static void test_filter_plain_a(void **state)
{
	const char *qs[] = { "a.test. IN A", NULL };
	const char *an[] = { "a.test. 300 IN A 198.51.100.10", "A.TEST. 60 IN A 198.51.100.11", NULL };
	msg_spec m = { .id = 0x9999, .qr = true, .rd = true, .question = qs, .an = an };
	kn_dns_query q = make_q("a.test", KN_DNS_TYPE_A, 0x1111);
	uint8_t buf[1024];
	size_t n = build(&m, buf, sizeof(buf));
	ldns_pkt *p;
	seen s;

	(void) state;
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_ra(p));
	assert_int_equal(ldns_pkt_get_rcode(p), 0);
	assert_true(has_rr(p, LDNS_SECTION_ANSWER, "a.test. 300 IN A 198.51.100.10"));
	assert_true(has_rr(p, LDNS_SECTION_ANSWER, "a.test. 60 IN A 198.51.100.11"));
	assert_int_equal(s.n, 2);
	assert_true(seen_addr(&s, "198.51.100.10", 300));
	assert_true(seen_addr(&s, "198.51.100.11", 60));
	assert_int_equal(s.a[0].family, AF_INET);
	ldns_pkt_free(p);

	/* no callback: same output */
	{
		uint8_t out[1024];
		size_t outlen;

		assert_int_equal(kn_dns_filter_answer(&q, buf, n, out, sizeof(out), &outlen, NULL, NULL), 0);
	}
}

static void test_filter_aaaa(void **state)
{
	const char *qs[] = { "v6.test. IN AAAA", NULL };
	const char *an[] = { "v6.test. 120 IN AAAA 2001:db8::10", "v6.test. 120 IN A 198.51.100.12", NULL };
	msg_spec m = { .id = 2, .qr = true, .question = qs, .an = an };
	kn_dns_query q = make_q("v6.test", KN_DNS_TYPE_AAAA, 0x2222);
	uint8_t buf[1024];
	size_t n = build(&m, buf, sizeof(buf));
	ldns_pkt *p;
	seen s;

	(void) state;
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 1); /* the A is not what was asked */
	assert_true(has_rr(p, LDNS_SECTION_ANSWER, "v6.test. 120 IN AAAA 2001:db8::10"));
	assert_int_equal(s.n, 1);
	assert_int_equal(s.a[0].family, AF_INET6);
	assert_true(seen_addr(&s, "2001:db8::10", 120));
	ldns_pkt_free(p);
}

static void test_filter_cname_chain(void **state)
{
	const char *qs[] = { "www.a.test. IN A", NULL };
	/* out of order on purpose: the chain is followed, not the listing */
	const char *an[] = {
		"c.cdn.test. 20 IN A 198.51.100.20",
		"www.a.test. 300 IN CNAME b.test.",
		"b.test. 300 IN CNAME c.cdn.test.",
		"c.cdn.test. 20 IN A 198.51.100.21",
		NULL,
	};
	msg_spec m = { .id = 3, .qr = true, .rd = true, .question = qs, .an = an };
	kn_dns_query q = make_q("www.a.test", KN_DNS_TYPE_A, 0x3333);
	uint8_t buf[1024];
	size_t n = build(&m, buf, sizeof(buf));
	ldns_pkt *p;
	seen s;

	(void) state;
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 4);
	assert_true(has_rr(p, LDNS_SECTION_ANSWER, "www.a.test. 300 IN CNAME b.test."));
	assert_true(has_rr(p, LDNS_SECTION_ANSWER, "b.test. 300 IN CNAME c.cdn.test."));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "www.a.test"); /* under the question name, not the CNAME target */
	assert_true(seen_addr(&s, "198.51.100.20", 20));
	assert_true(seen_addr(&s, "198.51.100.21", 20));
	ldns_pkt_free(p);
}

static void test_filter_cname_loop(void **state)
{
	const char *qs[] = { "a.test. IN A", NULL };
	const char *an[] = {
		"a.test. 300 IN CNAME b.test.",
		"b.test. 300 IN CNAME a.test.",
		"b.test. 300 IN A 198.51.100.30",
		NULL,
	};
	const char *self[] = { "a.test. 300 IN CNAME A.test.", NULL };
	msg_spec m = { .id = 4, .qr = true, .question = qs, .an = an };
	kn_dns_query q = make_q("a.test", KN_DNS_TYPE_A, 0x4444);
	uint8_t buf[1024];
	size_t n = build(&m, buf, sizeof(buf));
	ldns_pkt *p;
	seen s;

	(void) state;
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	/* a -> b kept, the link back to a dropped, b's address kept */
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_true(has_rr(p, LDNS_SECTION_ANSWER, "a.test. 300 IN CNAME b.test."));
	assert_false(has_rr(p, LDNS_SECTION_ANSWER, "b.test. 300 IN CNAME a.test."));
	assert_int_equal(s.n, 1);
	assert_true(seen_addr(&s, "198.51.100.30", 300));
	ldns_pkt_free(p);

	m.an = self;
	n = build(&m, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
}

static void test_filter_chain_too_long(void **state)
{
	const char *qs[] = { "n0.test. IN A", NULL };
	char lines[24][80];
	const char *an[25];
	size_t k = 0;
	msg_spec m = { .id = 5, .qr = true, .question = qs, .an = an };
	kn_dns_query q = make_q("n0.test", KN_DNS_TYPE_A, 0x5555);
	uint8_t buf[4096];
	size_t n;
	ldns_pkt *p;
	seen s;

	(void) state;
	for (int i = 0; i < 20; i++) {
		snprintf(lines[k], sizeof(lines[k]), "n%d.test. 60 IN CNAME n%d.test.", i, i + 1);
		an[k] = lines[k];
		k++;
	}
	snprintf(lines[k], sizeof(lines[k]), "n16.test. 60 IN A 198.51.100.16");
	an[k] = lines[k];
	k++;
	snprintf(lines[k], sizeof(lines[k]), "n20.test. 60 IN A 198.51.100.20");
	an[k] = lines[k];
	k++;
	an[k] = NULL;
	n = build(&m, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	/* 16 links (n0 .. n16), n16's address; not n16 -> n17 nor anything past it */
	assert_int_equal(ldns_pkt_ancount(p), 17);
	assert_true(has_rr(p, LDNS_SECTION_ANSWER, "n15.test. 60 IN CNAME n16.test."));
	assert_false(has_rr(p, LDNS_SECTION_ANSWER, "n16.test. 60 IN CNAME n17.test."));
	assert_false(has_rr(p, LDNS_SECTION_ANSWER, "n20.test. 60 IN A 198.51.100.20"));
	assert_int_equal(s.n, 1);
	assert_true(seen_addr(&s, "198.51.100.16", 60));
	ldns_pkt_free(p);
}

static void test_filter_drops_extra_records(void **state)
{
	const char *qs[] = { "a.test. IN A", NULL };
	const char *an[] = {
		"a.test. 300 IN A 198.51.100.10",
		"evil.test. 300 IN A 203.0.113.66",       /* another owner: poisoning */
		"github.com. 300 IN A 203.0.113.67",      /* an allowed name, still not asked */
		"a.test. 300 IN TXT \"hello\"",           /* another type */
		"a.test. 300 IN AAAA 2001:db8::66",       /* not the type asked */
		"evil.test. 300 IN CNAME a.test.",        /* a chain that does not start at the question */
		"a.test. 300 CH A 203.0.113.68",          /* another class */
		NULL,
	};
	const char *ns[] = { "test. 300 IN NS ns.evil.test.", NULL };
	const char *ar[] = { "ns.evil.test. 300 IN A 203.0.113.69", "a.test. 300 IN A 203.0.113.70", NULL };
	msg_spec m = { .id = 6, .qr = true, .question = qs, .an = an, .ns = ns, .ar = ar };
	kn_dns_query q = make_q("a.test", KN_DNS_TYPE_A, 0x6666);
	uint8_t buf[2048];
	size_t n = build(&m, buf, sizeof(buf));
	ldns_pkt *p;
	seen s;

	(void) state;
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	assert_false(ldns_pkt_edns(p));
	assert_true(has_rr(p, LDNS_SECTION_ANSWER, "a.test. 300 IN A 198.51.100.10"));
	assert_int_equal(s.n, 1);
	assert_true(seen_addr(&s, "198.51.100.10", 300));
	ldns_pkt_free(p);

	/* a CNAME answer to an A question: only the chain, no address for the asked name */
	{
		const char *an2[] = { "a.test. 300 IN CNAME b.test.", "c.test. 300 IN A 203.0.113.71", NULL };

		m.an = an2;
		m.ns = NULL;
		m.ar = NULL;
		n = build(&m, buf, sizeof(buf));
		assert_int_equal(filter(&q, buf, n, &s, &p), 0);
		assert_int_equal(ldns_pkt_ancount(p), 1);
		assert_int_equal(s.n, 0);
		ldns_pkt_free(p);
	}
}

static void test_filter_other_question(void **state)
{
	const char *an[] = { "b.test. 300 IN A 203.0.113.66", NULL };
	const char *other_name[] = { "b.test. IN A", NULL };
	const char *other_type[] = { "a.test. IN AAAA", NULL };
	const char *other_class[] = { "a.test. CH A", NULL };
	const char *two[] = { "a.test. IN A", "b.test. IN A", NULL };
	const char *upper[] = { "A.TeSt. IN A", NULL };
	const char *suffix[] = { "a.test.evil. IN A", NULL };
	const char *dotted[] = { "a\\.test. IN A", NULL }; /* one label "a.test" */
	kn_dns_query q = make_q("a.test", KN_DNS_TYPE_A, 0x7777);
	uint8_t buf[1024];
	size_t n;
	ldns_pkt *p;
	seen s;

	(void) state;
	n = build(&(msg_spec){ .qr = true, .question = other_name, .an = an }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);
	n = build(&(msg_spec){ .qr = true, .question = other_type, .an = an }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);
	n = build(&(msg_spec){ .qr = true, .question = other_class, .an = an }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);
	n = build(&(msg_spec){ .qr = true, .question = two, .an = an }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);
	n = build(&(msg_spec){ .qr = true, .an = an }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);
	n = build(&(msg_spec){ .qr = true, .question = suffix, .an = an }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);
	n = build(&(msg_spec){ .qr = true, .question = dotted, .an = an }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);
	/* not a response, or not to a standard query */
	n = build(&(msg_spec){ .question = upper }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);
	n = build(&(msg_spec){ .qr = true, .opcode = 2, .question = upper }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), -EBADMSG);

	/* the same question in another case is the same question */
	n = build(&(msg_spec){ .qr = true, .question = upper }, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	ldns_pkt_free(p);
}

static void test_filter_nxdomain_and_rcodes(void **state)
{
	const char *qs[] = { "gone.test. IN A", NULL };
	const char *ns[] = { "test. 300 IN SOA ns.test. admin.test. 1 3600 600 86400 300", NULL };
	kn_dns_query q = make_q("gone.test", KN_DNS_TYPE_A, 0x8888);
	uint8_t buf[1024];
	size_t n;
	ldns_pkt *p;
	seen s;

	(void) state;
	for (int rcode = 0; rcode < 16; rcode++) {
		n = build(&(msg_spec){ .qr = true, .rcode = rcode, .question = qs, .ns = ns }, buf, sizeof(buf));
		assert_int_equal(filter(&q, buf, n, &s, &p), 0);
		assert_int_equal(ldns_pkt_get_rcode(p), rcode);
		assert_int_equal(ldns_pkt_ancount(p), 0);
		assert_int_equal(ldns_pkt_nscount(p), 0);
		assert_int_equal(s.n, 0);
		ldns_pkt_free(p);
	}
}

static void test_filter_opt_and_tc(void **state)
{
	const char *qs[] = { "a.test. IN A", NULL };
	const char *an[] = { "a.test. 300 IN A 198.51.100.10", NULL };
	const char *ar[] = { "x.test. 300 IN A 203.0.113.1", NULL };
	msg_spec m = { .id = 9, .qr = true, .tc = true, .question = qs, .an = an, .ar = ar,
		       .opt_udp = 4096, .opt_do = true, .opt_ext_rcode = 1, .opt_data_hex = "000c00020000" };
	kn_dns_query q = make_q("a.test", KN_DNS_TYPE_A, 0x9999);
	uint8_t buf[1024];
	size_t n = build(&m, buf, sizeof(buf));
	ldns_pkt *p;
	seen s;

	(void) state;
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_true(ldns_pkt_tc(p)); /* the client must know to retry over TCP */
	assert_int_equal(ldns_pkt_arcount(p), 0);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 4096);
	assert_true(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	assert_non_null(ldns_pkt_edns_data(p));
	assert_int_equal(ldns_rdf_size(ldns_pkt_edns_data(p)), 6);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	assert_int_equal(s.n, 1);
	ldns_pkt_free(p);

	/* an OPT advertising less than 512 is read as 512 (RFC 6891 6.2.3) and stays */
	m.opt_udp = 1;
	m.opt_do = false;
	m.opt_ext_rcode = 0;
	m.opt_data_hex = NULL;
	m.tc = false;
	n = build(&m, buf, sizeof(buf));
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_false(ldns_pkt_tc(p));
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 512);
	ldns_pkt_free(p);
}

static void test_filter_ttls(void **state)
{
	const char *qs[] = { "a.test. IN A", NULL };
	const char *an[] = { "a.test. 0 IN A 198.51.100.1", "a.test. 86400 IN A 198.51.100.2", NULL };
	/* a TTL with the top bit set, written by hand: ldns refuses to read it from text */
	static const uint8_t big_ttl[] = {
		0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0x80, 0, 0, 0, 0, 4, 198, 51, 100, 3,
	};
	kn_dns_query q = make_q("a.test", KN_DNS_TYPE_A, 0xaaaa);
	uint8_t buf[1024];
	size_t n = build(&(msg_spec){ .qr = true, .question = qs, .an = an }, buf, sizeof(buf));
	ldns_pkt *p;
	seen s;

	(void) state;
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_int_equal(s.n, 2);
	assert_true(seen_addr(&s, "198.51.100.1", 0));
	assert_true(seen_addr(&s, "198.51.100.2", 86400));
	ldns_pkt_free(p);

	/* RFC 2181 8: read as 0, in the message and in the report */
	assert_int_equal(filter(&q, big_ttl, sizeof(big_ttl), &s, &p), 0);
	assert_int_equal(s.n, 1);
	assert_true(seen_addr(&s, "198.51.100.3", 0));
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 0);
	ldns_pkt_free(p);
}

static void test_filter_malformed(void **state)
{
	/* an A record whose RDLENGTH (8) is longer than an address: ldns reads 4 and would go on inside it */
	static const uint8_t long_rdata[] = {
		0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 8, 198, 51, 100, 1,
		/* the second 4 bytes of that rdata, which ldns would read as the next record's start */
		0xc0, 12, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 2,
	};
	/* an A record for the question name with no address at all */
	static const uint8_t empty_a[] = {
		0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 0,
	};
	/* a CNAME whose target runs past its RDLENGTH */
	static const uint8_t cname_overrun[] = {
		0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'b', 0xc0, 14,
	};
	const char *qs[] = { "a.test. IN A", NULL };
	const char *an[] = { "a.test. 300 IN A 198.51.100.10", "a.test. 300 IN A 198.51.100.11", NULL };
	kn_dns_query q = make_q("a.test", KN_DNS_TYPE_A, 0xbbbb);
	uint8_t buf[1024], out[1024];
	size_t n, outlen;
	ldns_pkt *p;
	seen s;

	(void) state;
	assert_int_equal(filter(&q, long_rdata, sizeof(long_rdata), &s, &p), -EBADMSG);
	assert_int_equal(filter(&q, empty_a, sizeof(empty_a), &s, &p), -EBADMSG);
	assert_int_equal(filter(&q, cname_overrun, sizeof(cname_overrun), &s, &p), -EBADMSG);
	assert_int_equal(filter(&q, NULL, 0, &s, &p), -EBADMSG);

	n = build(&(msg_spec){ .qr = true, .question = qs, .an = an, .opt_udp = 1232 }, buf, sizeof(buf));
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(filter(&q, buf, cut, &s, &p), -EBADMSG);
	buf[n] = 0;
	assert_int_equal(filter(&q, buf, n + 1, &s, &p), -EBADMSG);

	/* too small an output buffer: -ENOSPC and nothing reported */
	memset(&s, 0, sizeof(s));
	assert_int_equal(kn_dns_filter_answer(&q, buf, n, out, 30, &outlen, on_addr, &s), -ENOSPC);
	assert_int_equal(s.n, 0);
	assert_int_equal(filter(&q, buf, n, &s, &p), 0);
	assert_int_equal(s.n, 2);
	ldns_pkt_free(p);
}

/* --- resolv.conf and --dns-upstream ------------------------------------- */

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/kennel-test-dns-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	close(fd);
	return path;
}

static void assert_v4(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *) ss;
	struct in_addr want;

	assert_int_equal(ss->ss_family, AF_INET);
	assert_int_equal(inet_pton(AF_INET, addr, &want), 1);
	assert_int_equal(s4->sin_addr.s_addr, want.s_addr);
	assert_int_equal(ntohs(s4->sin_port), port);
}

static void assert_v6(const struct sockaddr_storage *ss, const char *addr, uint16_t port, uint32_t scope)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) ss;
	struct in6_addr want;

	assert_int_equal(ss->ss_family, AF_INET6);
	assert_int_equal(inet_pton(AF_INET6, addr, &want), 1);
	assert_memory_equal(&s6->sin6_addr, &want, sizeof(want));
	assert_int_equal(ntohs(s6->sin6_port), port);
	assert_int_equal(s6->sin6_scope_id, scope);
}

static void test_upstreams(void **state)
{
	char *path = write_temp("# generated by a test\n"
				"; another comment\n"
				"search example.com\n"
				"#nameserver 203.0.113.1\n"
				"nameserver 192.0.2.53\n"
				"nameserver 2001:db8::53\n"
				"nameserver\tfe80::1%lo   # link-local, with a scope\n"
				"nameserver fe80::2%1\n"
				"  nameserver 203.0.113.2\n"  /* glibc: the keyword starts the line */
				"nameservers 203.0.113.3\n"
				"nameserver bogus\n"
				"nameserver 192.0.2.1%lo\n"
				"nameserver\n"
				"options ndots:2 edns0\n"
				"nameserver 198.51.100.53\r\n");
	struct sockaddr_storage ss[8];
	kn_error err = KN_ERROR_INIT;
	unsigned lo = if_nametoindex("lo");

	(void) state;
	assert_true(lo > 0);
	assert_int_equal(kn_dns_upstreams(path, ss, 8, &err), 5);
	assert_v4(&ss[0], "192.0.2.53", 53);
	assert_v6(&ss[1], "2001:db8::53", 53, 0);
	assert_v6(&ss[2], "fe80::1", 53, lo);
	assert_v6(&ss[3], "fe80::2", 53, 1);
	assert_v4(&ss[4], "198.51.100.53", 53);
	/* at most @cap, in order */
	assert_int_equal(kn_dns_upstreams(path, ss, 2, &err), 2);
	assert_v4(&ss[0], "192.0.2.53", 53);
	assert_v6(&ss[1], "2001:db8::53", 53, 0);
	unlink(path);
	free(path);

	/* no nameserver: 127.0.0.1, as glibc */
	path = write_temp("# nothing\nsearch example.com\n");
	assert_int_equal(kn_dns_upstreams(path, ss, 8, &err), 1);
	assert_v4(&ss[0], "127.0.0.1", 53);
	unlink(path);
	free(path);
	path = write_temp("");
	assert_int_equal(kn_dns_upstreams(path, ss, 8, &err), 1);
	assert_v4(&ss[0], "127.0.0.1", 53);
	assert_int_equal(kn_dns_upstreams(path, ss, 0, &err), 0);
	unlink(path);

	assert_int_equal(kn_dns_upstreams(path, ss, 8, &err), -ENOENT);
	assert_non_null(strstr(err.msg, path));
	free(path);
}

static void test_parse_server(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:", "1.2.3.4:x", "1.2.3.4:53x", "[2001:db8::1",
		"[2001:db8::1]:", "[2001:db8::1]x", "[2001:db8::1]:0", "[1.2.3.4]:53", "example.com",
		"example.com:53", "1.2.3", "1.2.3.4.5", "::g", "[]:53", "fe80::1%", "fe80::1%nosuchif0",
	};
	struct sockaddr_storage ss;
	kn_error err = KN_ERROR_INIT;

	(void) state;
	assert_int_equal(kn_dns_parse_server("1.2.3.4", &ss, &err), 0);
	assert_v4(&ss, "1.2.3.4", 53);
	assert_int_equal(kn_dns_parse_server("1.2.3.4:5353", &ss, &err), 0);
	assert_v4(&ss, "1.2.3.4", 5353);
	assert_int_equal(kn_dns_parse_server("[2001:db8::1]:5353", &ss, &err), 0);
	assert_v6(&ss, "2001:db8::1", 5353, 0);
	assert_int_equal(kn_dns_parse_server("2001:db8::1", &ss, &err), 0);
	assert_v6(&ss, "2001:db8::1", 53, 0);
	assert_int_equal(kn_dns_parse_server("[2001:db8::1]", &ss, &err), 0);
	assert_v6(&ss, "2001:db8::1", 53, 0);
	assert_int_equal(kn_dns_parse_server("[fe80::1%lo]:53", &ss, &err), 0);
	assert_v6(&ss, "fe80::1", 53, if_nametoindex("lo"));
	assert_int_equal(kn_dns_parse_server("::1", &ss, &err), 0);
	assert_v6(&ss, "::1", 53, 0);
	assert_int_equal(kn_dns_parse_server("127.0.0.1:65535", &ss, &err), 0);
	assert_v4(&ss, "127.0.0.1", 65535);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kn_error_clear(&err);
		if (kn_dns_parse_server(bad[i], &ss, &err) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(err.msg, bad[i]));
	}
	assert_int_equal(kn_dns_parse_server(NULL, &ss, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_query_valid),
		cmocka_unit_test(test_parse_query_shape),
		cmocka_unit_test(test_parse_query_truncated_and_garbage),
		cmocka_unit_test(test_parse_query_name_bytes),
		cmocka_unit_test(test_parse_query_opt_and_tsig),
		cmocka_unit_test(test_build_reply_rcodes),
		cmocka_unit_test(test_build_reply_errors),
		cmocka_unit_test(test_build_query),
		cmocka_unit_test(test_set_id),
		cmocka_unit_test(test_filter_plain_a),
		cmocka_unit_test(test_filter_aaaa),
		cmocka_unit_test(test_filter_cname_chain),
		cmocka_unit_test(test_filter_cname_loop),
		cmocka_unit_test(test_filter_chain_too_long),
		cmocka_unit_test(test_filter_drops_extra_records),
		cmocka_unit_test(test_filter_other_question),
		cmocka_unit_test(test_filter_nxdomain_and_rcodes),
		cmocka_unit_test(test_filter_opt_and_tc),
		cmocka_unit_test(test_filter_ttls),
		cmocka_unit_test(test_filter_malformed),
		cmocka_unit_test(test_upstreams),
		cmocka_unit_test(test_parse_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
