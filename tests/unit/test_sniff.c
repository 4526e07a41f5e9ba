/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sniff.h"

typedef kn_sniff_result (*sniffer)(const uint8_t *buf, size_t len, char *name, size_t cap);

/* run() - @f over a private copy of exactly @n bytes, so ASan sees any read past the end */
static kn_sniff_result run(sniffer f, const uint8_t *b, size_t n, char *name)
{
	uint8_t *copy = malloc(n ? n : 1);
	kn_sniff_result r;

	assert_non_null(copy);
	memcpy(copy, b, n);
	memset(name, 'X', 256);
	r = f(copy, n, name, 256);
	free(copy);
	if (r != KN_SNIFF_FOUND)
		assert_string_equal(name, "");
	return r;
}

/* every strict prefix of a valid message is a valid prefix: NEED_MORE */
static void assert_prefixes_wait(sniffer f, const uint8_t *b, size_t n)
{
	char name[256];

	for (size_t k = 0; k < n; k++) {
		kn_sniff_result r = run(f, b, k, name);

		if (r != KN_SNIFF_NEED_MORE)
			fail_msg("prefix of %zu of %zu bytes: %d, expected NEED_MORE", k, n, r);
	}
}

/* ---- TLS ---- */

/* A TLS 1.3 ClientHello from `openssl s_client -servername x.test` (OpenSSL 3.0). */
static const uint8_t openssl_hello[] = {
	0x16, 0x03, 0x01, 0x00, 0xeb, 0x01, 0x00, 0x00, 0xe7, 0x03, 0x03, 0x76, 0x5c, 0x2e, 0xa0, 0xaf, 0x69, 0x6a,
	0x70, 0x5a, 0xac, 0x0a, 0x9b, 0xfa, 0xcf, 0x99, 0x19, 0xe1, 0x49, 0x8f, 0x89, 0xc3, 0x4b, 0x35, 0xdd, 0x57,
	0x9a, 0x47, 0x27, 0x97, 0xcb, 0x88, 0xe6, 0x20, 0x06, 0xce, 0x07, 0x0d, 0x4e, 0x1f, 0xdc, 0x8b, 0x24, 0x5e,
	0x2e, 0xed, 0x17, 0x92, 0xa8, 0xc9, 0x2e, 0x49, 0x78, 0xb8, 0xfb, 0xbc, 0xcb, 0x29, 0x23, 0x50, 0x10, 0x6c,
	0x38, 0xa5, 0x71, 0xd2, 0x00, 0x08, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0x00, 0xff, 0x01, 0x00, 0x00, 0x96,
	0x00, 0x00, 0x00, 0x0b, 0x00, 0x09, 0x00, 0x00, 0x06, 0x78, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x00, 0x0b, 0x00,
	0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00,
	0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00,
	0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x1e, 0x00, 0x1c, 0x04, 0x03, 0x05, 0x03, 0x06,
	0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04,
	0x01, 0x05, 0x01, 0x06, 0x01, 0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01,
	0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x66, 0x0a, 0x9d, 0x17, 0xbb, 0x67, 0x4b, 0x6a,
	0x3f, 0x5a, 0xb4, 0xe1, 0x15, 0x6a, 0xc3, 0x14, 0x52, 0x81, 0x86, 0xe2, 0xa0, 0xac, 0xc3, 0xd1, 0x19, 0x29,
	0x94, 0x40, 0x36, 0xe1, 0x4a, 0x2b,
};

struct msg {
	uint8_t b[24000];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put8(struct msg *m, unsigned v)
{
	uint8_t b = (uint8_t) v;

	put(m, &b, 1);
}

static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v);
}

static void put24(struct msg *m, unsigned v)
{
	put8(m, v >> 16);
	put16(m, v);
}

/* ext_sni() - a server_name extension with one host_name of @len bytes */
static void ext_sni(struct msg *e, const char *name, size_t len)
{
	put16(e, 0);
	put16(e, (unsigned) len + 5);
	put16(e, (unsigned) len + 3);
	put8(e, 0);
	put16(e, (unsigned) len);
	put(e, name, len);
}

static void ext_raw(struct msg *e, unsigned type, const void *data, size_t len)
{
	put16(e, type);
	put16(e, (unsigned) len);
	put(e, data, len);
}

/* Offsets in the body hello() writes: version, random, session id (32), cipher suites (4), compression (1). */
#define BODY_SID_LEN 34
#define BODY_CS_LEN 67
#define BODY_COMP_LEN 73
#define BODY_EXT_LEN 75
#define BODY_EXTS 77
/* the same in a single-record message: record header (5) and handshake header (4) before the body */
#define REC(off) ((off) + 9)

/* hello() - a ClientHello handshake message; @ext NULL: no extensions block at all */
static void hello(struct msg *hs, const struct msg *ext)
{
	struct msg body = { .n = 0 };
	uint8_t fill[32];

	put16(&body, 0x0303);
	memset(fill, 0xaa, sizeof(fill));
	put(&body, fill, 32);
	put8(&body, 32);
	memset(fill, 0x55, sizeof(fill));
	put(&body, fill, 32);
	put16(&body, 4);
	put16(&body, 0x1301);
	put16(&body, 0x1302);
	put8(&body, 1);
	put8(&body, 0);
	if (ext) {
		put16(&body, (unsigned) ext->n);
		put(&body, ext->b, ext->n);
	}
	put8(hs, 1);
	put24(hs, (unsigned) body.n);
	put(hs, body.b, body.n);
}

/* records() - @hs cut into handshake records of at most @frag bytes */
static void records(struct msg *out, const struct msg *hs, size_t frag)
{
	for (size_t off = 0; off < hs->n; off += frag) {
		size_t n = hs->n - off < frag ? hs->n - off : frag;

		put8(out, 22);
		put16(out, off == 0 ? 0x0301 : 0x0303);
		put16(out, (unsigned) n);
		put(out, hs->b + off, n);
	}
}

/* tls_with() - one record holding a ClientHello with these extensions */
static void tls_with(struct msg *out, const struct msg *ext)
{
	struct msg hs = { .n = 0 };

	hello(&hs, ext);
	records(out, &hs, 16384);
}

/* tls_sni() - the sniffer's answer for a one-record ClientHello whose SNI is @name (@len bytes) */
static kn_sniff_result tls_sni(const char *name, size_t len, char *out)
{
	struct msg ext = { .n = 0 }, rec = { .n = 0 };

	ext_sni(&ext, name, len);
	ext_raw(&ext, 43, "\x02\x03\x04", 3);
	tls_with(&rec, &ext);
	return run(kn_sniff_tls_sni, rec.b, rec.n, out);
}

static void test_tls_real_hello(void **state)
{
	uint8_t longer[sizeof(openssl_hello) + 6];
	char name[256];

	(void) state;
	assert_int_equal(run(kn_sniff_tls_sni, openssl_hello, sizeof(openssl_hello), name), KN_SNIFF_FOUND);
	assert_string_equal(name, "x.test");
	assert_prefixes_wait(kn_sniff_tls_sni, openssl_hello, sizeof(openssl_hello));
	/* what follows the ClientHello (a compatibility ChangeCipherSpec) does not matter */
	memcpy(longer, openssl_hello, sizeof(openssl_hello));
	memcpy(longer + sizeof(openssl_hello), "\x14\x03\x03\x00\x01\x01", 6);
	assert_int_equal(run(kn_sniff_tls_sni, longer, sizeof(longer), name), KN_SNIFF_FOUND);
	assert_string_equal(name, "x.test");
	/* not HTTP */
	assert_int_equal(run(kn_sniff_http_host, openssl_hello, sizeof(openssl_hello), name), KN_SNIFF_INVALID);
}

static void test_tls_built_hello(void **state)
{
	struct msg ext = { .n = 0 }, rec = { .n = 0 };
	char name[256];

	(void) state;
	ext_raw(&ext, 10, "\x00\x02\x00\x1d", 4);
	ext_sni(&ext, "Api.Anthropic.COM.", 18);
	ext_raw(&ext, 0xff01, "\x00", 1);
	ext_raw(&ext, 21, "", 0); /* an empty extension (padding) is fine */
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
	assert_string_equal(name, "api.anthropic.com");
	assert_prefixes_wait(kn_sniff_tls_sni, rec.b, rec.n);
}

static void test_tls_no_sni(void **state)
{
	struct msg ext = { .n = 0 }, rec = { .n = 0 };
	char name[256];

	(void) state;
	/* extensions, none of them server_name */
	ext_raw(&ext, 43, "\x02\x03\x04", 3);
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_NONE);
	assert_prefixes_wait(kn_sniff_tls_sni, rec.b, rec.n);
	/* no extensions block at all (TLS 1.2 and older) */
	rec.n = 0;
	tls_with(&rec, NULL);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_NONE);
	/* an empty extensions block */
	rec.n = 0;
	ext.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_NONE);
}

static void test_tls_reassembly(void **state)
{
	static const size_t frags[] = { 1, 2, 3, 4, 5, 7, 60, 100, 16384 };
	struct msg ext = { .n = 0 }, hs = { .n = 0 };
	char name[256];

	(void) state;
	ext_sni(&ext, "split.example", 13);
	hello(&hs, &ext);
	for (size_t i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		struct msg rec = { .n = 0 };

		records(&rec, &hs, frags[i]);
		if (run(kn_sniff_tls_sni, rec.b, rec.n, name) != KN_SNIFF_FOUND || strcmp(name, "split.example") != 0)
			fail_msg("fragments of %zu: '%s'", frags[i], name);
		if (frags[i] == 1 || frags[i] == 60)
			assert_prefixes_wait(kn_sniff_tls_sni, rec.b, rec.n);
	}
}

static void test_tls_record_header(void **state)
{
	char name[256];

	(void) state;
	/* each byte of the header is judged as soon as it arrives */
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "", 0, name), KN_SNIFF_NEED_MORE);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16", 1, name), KN_SNIFF_NEED_MORE);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03", 2, name), KN_SNIFF_NEED_MORE);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01", 3, name), KN_SNIFF_NEED_MORE);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x04\x40", 4, name), KN_SNIFF_NEED_MORE);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01\x00\x10", 5, name),
			 KN_SNIFF_NEED_MORE);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01\x00\x10\x01", 6, name),
			 KN_SNIFF_NEED_MORE);
	/* content types other than handshake: application data, alert, ChangeCipherSpec, SSLv2 */
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x17", 1, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x15\x03\x01", 3, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x14", 1, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x80\x2e\x01", 3, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "GET ", 4, name), KN_SNIFF_INVALID);
	/* record versions outside 0x0301..0x0304 */
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x02", 2, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x00", 3, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x05", 3, name), KN_SNIFF_INVALID);
	/* record lengths: 0 and above 2^14 */
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01\x00\x00", 5, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01\x40\x01", 5, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01\x41", 4, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01\xff\xff", 5, name), KN_SNIFF_INVALID);
	/* handshake types other than ClientHello */
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01\x00\x10\x02", 6, name),
			 KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, (const uint8_t *) "\x16\x03\x01\x00\x10\x00", 6, name),
			 KN_SNIFF_INVALID);
}

static void test_tls_record_boundaries(void **state)
{
	struct msg ext = { .n = 0 }, hs = { .n = 0 }, rec = { .n = 0 };
	char name[256];

	(void) state;
	ext_sni(&ext, "a.test", 6);
	hello(&hs, &ext);
	/* a record that runs past the end of the ClientHello */
	records(&rec, &hs, 16384);
	rec.b[4]++;
	put8(&rec, 0);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* ... known from the header alone */
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, 9, name), KN_SNIFF_INVALID);
	/* a second fragment in another content type */
	rec.n = 0;
	records(&rec, &hs, 50);
	rec.b[55] = 20;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* a second record with a bad version */
	rec.b[55] = 22;
	rec.b[57] = 0;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	rec.b[57] = 3;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
	/* the handshake header split across records: the type byte is checked alone */
	rec.n = 0;
	records(&rec, &hs, 1);
	rec.b[5] = 2;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, 6, name), KN_SNIFF_INVALID);
}

static void test_tls_hello_fields(void **state)
{
	struct msg ext = { .n = 0 }, good = { .n = 0 }, rec;
	char name[256];

	(void) state;
	ext_sni(&ext, "a.test", 6);
	tls_with(&good, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, good.b, good.n, name), KN_SNIFF_FOUND);
	/* legacy_version */
	rec = good;
	rec.b[REC(0)] = 3;
	rec.b[REC(1)] = 0;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, REC(2), name), KN_SNIFF_INVALID);
	rec.b[REC(1)] = 1;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
	rec.b[REC(0)] = 2;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* session id longer than 32, decided before the rest arrives */
	rec = good;
	rec.b[REC(BODY_SID_LEN)] = 33;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, REC(BODY_SID_LEN) + 1, name), KN_SNIFF_INVALID);
	/* cipher suites: odd, empty */
	rec = good;
	rec.b[REC(BODY_CS_LEN) + 1] = 3;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	rec.b[REC(BODY_CS_LEN) + 1] = 0;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* cipher suites running past the message */
	rec.b[REC(BODY_CS_LEN)] = 0x40;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* no compression method */
	rec = good;
	rec.b[REC(BODY_COMP_LEN)] = 0;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* extensions length: longer or shorter than what is left of the message */
	rec = good;
	rec.b[REC(BODY_EXT_LEN) + 1]++;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	rec.b[REC(BODY_EXT_LEN) + 1] -= 2;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* a one-byte extensions length field */
	rec = good;
	rec.b[4] = (uint8_t) (REC(BODY_EXT_LEN) + 1 - 5);
	rec.b[8] = (uint8_t) (REC(BODY_EXT_LEN) + 1 - 9);
	rec.n = REC(BODY_EXT_LEN) + 1;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* a message too short for its fixed fields */
	rec = good;
	rec.b[4] = 4 + 40;
	rec.b[7] = 0;
	rec.b[8] = 40;
	rec.n = 5 + 4 + 40;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
}

static void test_tls_extension_lengths(void **state)
{
	struct msg ext = { .n = 0 }, rec = { .n = 0 };
	char name[256];
	size_t sni;

	(void) state;
	ext_raw(&ext, 43, "\x02\x03\x04", 3);
	sni = ext.n;
	ext_sni(&ext, "a.test", 6);
	tls_with(&rec, &ext);
	sni = REC(BODY_EXTS) + sni; /* offset of the server_name extension in rec */
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
	/* extension length past the extensions block */
	rec.b[sni + 3] += 1;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	rec.b[sni + 3] -= 1;
	/* list length not the extension's length */
	rec.b[sni + 5] -= 1;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	rec.b[sni + 5] += 1;
	/* name length past the list */
	rec.b[sni + 8] += 1;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	rec.b[sni + 8] = 0xff;
	rec.b[sni + 7] = 0xff;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	rec.b[sni + 7] = 0;
	rec.b[sni + 8] = 6;
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
	/* an empty list */
	ext.n = 0;
	ext_raw(&ext, 0, "\x00\x00", 2);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* an empty extension where a list is due */
	ext.n = 0;
	ext_raw(&ext, 0, "", 0);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* a list of one byte */
	ext.n = 0;
	ext_raw(&ext, 0, "\x00\x01\x00", 3);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* an extension header cut by the end of the block */
	ext.n = 0;
	ext_raw(&ext, 43, "\x02\x03\x04", 3);
	put8(&ext, 0);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
}

static void test_tls_sni_names(void **state)
{
	char name[256], big[300];

	(void) state;
	assert_int_equal(tls_sni("MiXeD.Example.COM", 17, name), KN_SNIFF_FOUND);
	assert_string_equal(name, "mixed.example.com");
	assert_int_equal(tls_sni("a.test.", 7, name), KN_SNIFF_FOUND);
	assert_string_equal(name, "a.test");
	assert_int_equal(tls_sni("_srv.x-y.test", 13, name), KN_SNIFF_FOUND);
	assert_string_equal(name, "_srv.x-y.test");
	assert_int_equal(tls_sni("localhost", 9, name), KN_SNIFF_FOUND);
	/* zero-length, NUL inside, NUL at the end */
	assert_int_equal(tls_sni("", 0, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("a\0.test", 7, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("a.test\0", 7, name), KN_SNIFF_INVALID);
	/* empty labels, two trailing dots, a lone dot */
	assert_int_equal(tls_sni("a..test", 7, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni(".a.test", 7, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("a.test..", 8, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni(".", 1, name), KN_SNIFF_INVALID);
	/* characters outside the rules */
	assert_int_equal(tls_sni("a b.test", 8, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("*.test", 6, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("a.test:443", 10, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("caf\xc3\xa9.test", 10, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("a/b.test", 8, name), KN_SNIFF_INVALID);
	/* IP literals */
	assert_int_equal(tls_sni("192.0.2.1", 9, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("127.1", 5, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("2001:db8::1", 11, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("[::1]", 5, name), KN_SNIFF_INVALID);
	assert_int_equal(tls_sni("1.2.3.4a", 8, name), KN_SNIFF_FOUND);
	/* label of 63 and 64 */
	memset(big, 'l', 63);
	memcpy(big + 63, ".test", 5);
	assert_int_equal(tls_sni(big, 68, name), KN_SNIFF_FOUND);
	assert_int_equal(strlen(name), 68);
	memset(big, 'l', 64);
	memcpy(big + 64, ".test", 5);
	assert_int_equal(tls_sni(big, 69, name), KN_SNIFF_INVALID);
	/* 253 characters; 254 with a trailing dot; 254 without; 255 with */
	memset(big, 'n', sizeof(big));
	for (int i = 50; i < 300; i += 51)
		big[i] = '.';
	assert_int_equal(tls_sni(big, 253, name), KN_SNIFF_FOUND);
	assert_int_equal(strlen(name), 253);
	assert_int_equal(tls_sni(big, 254, name), KN_SNIFF_INVALID);
	big[253] = '.';
	assert_int_equal(tls_sni(big, 254, name), KN_SNIFF_FOUND);
	assert_int_equal(strlen(name), 253);
	big[254] = 'x';
	big[255] = '.';
	assert_int_equal(tls_sni(big, 256, name), KN_SNIFF_INVALID);
}

static void test_tls_sni_early_refusal(void **state)
{
	struct msg ext = { .n = 0 }, rec = { .n = 0 };
	char name[256];
	size_t at;

	(void) state;
	/* a bad character in the name is refused before the name is complete */
	ext_sni(&ext, "good.te st.and.more.to.come", 27);
	tls_with(&rec, &ext);
	at = REC(BODY_EXTS) + 9 + 8; /* just after the space */
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, at - 1, name), KN_SNIFF_NEED_MORE);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, at, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
}

static void test_tls_server_name_list(void **state)
{
	struct msg ext = { .n = 0 }, rec = { .n = 0 };
	char name[256];

	(void) state;
	/* two host_name entries */
	ext_raw(&ext, 0, "\x00\x0e\x00\x00\x04\x61\x2e\x74\x74\x00\x00\x04\x62\x2e\x74\x74", 16);
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* another name_type first, then the host_name: skipped */
	ext.n = 0;
	ext_raw(&ext, 0, "\x00\x0e\x07\x00\x04\x61\x2e\x74\x74\x00\x00\x04\x62\x2e\x74\x74", 16);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
	assert_string_equal(name, "b.tt");
	/* only another name_type: no host name */
	ext.n = 0;
	ext_raw(&ext, 0, "\x00\x07\x07\x00\x04\x61\x2e\x74\x74", 9);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_NONE);
	/* an entry of another type with an empty name is still malformed */
	ext.n = 0;
	ext_raw(&ext, 0, "\x00\x03\x07\x00\x00", 5);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* two server_name extensions */
	ext.n = 0;
	ext_sni(&ext, "a.test", 6);
	ext_sni(&ext, "b.test", 6);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* any extension twice */
	ext.n = 0;
	ext_sni(&ext, "a.test", 6);
	ext_raw(&ext, 43, "\x02\x03\x04", 3);
	ext_raw(&ext, 43, "\x02\x03\x04", 3);
	rec.n = 0;
	tls_with(&rec, &ext);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
}

/* big_hello() - a ClientHello of exactly @total handshake bytes (padding extension), in records of @frag */
static void big_hello(struct msg *rec, size_t total, size_t frag)
{
	static uint8_t pad[20000];
	struct msg ext = { .n = 0 }, hs = { .n = 0 };
	size_t fixed;

	ext_sni(&ext, "big.test", 8);
	/* handshake header 4, body up to extensions 77, server_name 4 + 13, padding header 4 */
	fixed = 4 + BODY_EXTS + ext.n + 4;
	assert_true(total >= fixed);
	ext_raw(&ext, 21, pad, total - fixed);
	hello(&hs, &ext);
	assert_int_equal(hs.n, total);
	records(rec, &hs, frag);
}

static void test_tls_size_limit(void **state)
{
	struct msg rec = { .n = 0 };
	char name[256];

	(void) state;
	/* exactly KN_SNIFF_MAX bytes with the record header: fits */
	big_hello(&rec, KN_SNIFF_MAX - 5, 16384);
	assert_int_equal(rec.n, KN_SNIFF_MAX);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
	assert_string_equal(name, "big.test");
	/* one byte more cannot fit: refused as soon as the length is known */
	rec.n = 0;
	big_hello(&rec, KN_SNIFF_MAX - 4, 16384);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, 9, name), KN_SNIFF_INVALID);
	/* in two records, the second header counts too */
	rec.n = 0;
	big_hello(&rec, KN_SNIFF_MAX - 10, 8200);
	assert_int_equal(rec.n, KN_SNIFF_MAX);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
	rec.n = 0;
	big_hello(&rec, KN_SNIFF_MAX - 9, 8200);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, 9, name), KN_SNIFF_INVALID);
	/* small records: the ClientHello fits but its headers push it past the limit */
	rec.n = 0;
	big_hello(&rec, 13000, 16);
	assert_true(rec.n > KN_SNIFF_MAX);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, 10000, name), KN_SNIFF_NEED_MORE);
	/* known before the limit: what is left needs more headers than there is room for */
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, KN_SNIFF_MAX - 1000, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, KN_SNIFF_MAX, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_INVALID);
	/* a complete ClientHello followed by more than KN_SNIFF_MAX bytes */
	rec.n = 0;
	big_hello(&rec, 200, 16384);
	while (rec.n < KN_SNIFF_MAX + 100)
		put8(&rec, 0x17);
	assert_int_equal(run(kn_sniff_tls_sni, rec.b, rec.n, name), KN_SNIFF_FOUND);
}

static void test_tls_bad_args(void **state)
{
	char small[255];

	(void) state;
	assert_int_equal(kn_sniff_tls_sni(openssl_hello, sizeof(openssl_hello), small, sizeof(small)),
			 KN_SNIFF_INVALID);
	assert_int_equal(kn_sniff_tls_sni(openssl_hello, sizeof(openssl_hello), NULL, 256), KN_SNIFF_INVALID);
}

/* ---- HTTP ---- */

static kn_sniff_result http(const char *req, char *name)
{
	return run(kn_sniff_http_host, (const uint8_t *) req, strlen(req), name);
}

static void expect_http(const char *req, kn_sniff_result want, const char *want_name)
{
	char name[256];
	kn_sniff_result r = http(req, name);

	if (r != want)
		fail_msg("'%s': %d, expected %d", req, r, want);
	if (want_name && strcmp(name, want_name) != 0)
		fail_msg("'%s': name '%s', expected '%s'", req, name, want_name);
}

static void test_http_host(void **state)
{
	static const char curl[] = "GET /path HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/7.88.1\r\n"
				   "Accept: */*\r\n\r\n";
	char name[256];

	(void) state;
	assert_int_equal(http(curl, name), KN_SNIFF_FOUND);
	assert_string_equal(name, "example.com");
	assert_prefixes_wait(kn_sniff_http_host, (const uint8_t *) curl, strlen(curl));
	expect_http("GET / HTTP/1.1\r\nHost: Example.COM\r\n\r\n", KN_SNIFF_FOUND, "example.com");
	expect_http("GET / HTTP/1.0\r\nHost: a.test.\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET / HTTP/1.1\r\nHost: a.test.:80\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET / HTTP/1.1\r\nhost: a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET / HTTP/1.1\r\nHOST: a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET / HTTP/1.1\r\nhOsT:a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET / HTTP/1.1\r\nHost: \t a.test \t\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET / HTTP/1.1\r\nHost: _x.a-b.test\r\n\r\n", KN_SNIFF_FOUND, "_x.a-b.test");
	expect_http("POST /x?y=1 HTTP/1.1\r\nContent-Length: 3\r\nHost: a.test\r\nX-Bin: \x80\xff\r\n\r\nabc",
		    KN_SNIFF_FOUND, "a.test");
	expect_http("GET / HTTP/1.1\r\nHost: a.test:\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	/* a body after the header section is not looked at */
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n\x16\x03\x01garbage\n\r", KN_SNIFF_FOUND, "a.test");
	/* other headers may hold anything visible */
	expect_http("GET / HTTP/1.1\r\nX-Host: b.test\r\nHost: a.test\r\nHosts: c\r\n\r\n", KN_SNIFF_FOUND,
		    "a.test");
}

static void test_http_ip_literals(void **state)
{
	(void) state;
	expect_http("GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n", KN_SNIFF_FOUND, "192.0.2.1");
	expect_http("GET / HTTP/1.1\r\nHost: 127.0.0.1:18443\r\n\r\n", KN_SNIFF_FOUND, "127.0.0.1");
	expect_http("GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n", KN_SNIFF_FOUND, "2001:db8::1");
	expect_http("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", KN_SNIFF_FOUND, "::1");
	expect_http("GET / HTTP/1.1\r\nHost: [::ffff:127.0.0.1]\r\n\r\n", KN_SNIFF_FOUND, "::ffff:127.0.0.1");
	/* spellings that are neither a name nor a plain address */
	expect_http("GET / HTTP/1.1\r\nHost: 127.1\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: 1.2.3.256\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: 2001:db8::1\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: [v1.fe80::1]\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: [2001:db8::1\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: [2001:db8::1]x\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: [2001:db8::1]:99999\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: [1.2.3.4]\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: []\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* the longest text inet_ntop can write (45), and longer */
	expect_http("GET / HTTP/1.1\r\nHost: [0000:0000:0000:0000:0000:ffff:255.255.255.255]\r\n\r\n",
		    KN_SNIFF_FOUND, "0000:0000:0000:0000:0000:ffff:255.255.255.255");
	expect_http("GET / HTTP/1.1\r\nHost: [0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]\r\n\r\n",
		    KN_SNIFF_INVALID, NULL);
}

static void test_http_bad_hosts(void **state)
{
	char name[300];

	(void) state;
	expect_http("GET / HTTP/1.1\r\nHost: a..test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: .a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test..\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test, b.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: user@a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a%2etest\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test:80:80\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test:65536\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test:8o\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: :80\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: caf\xc3\xa9.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test\x7f\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* a 64-character label, a 254-character name */
	snprintf(name, sizeof(name), "GET / HTTP/1.1\r\nHost: %s.test\r\n\r\n",
		 "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll");
	expect_http(name, KN_SNIFF_INVALID, NULL);
	snprintf(name, sizeof(name), "GET / HTTP/1.1\r\nHost: %s.%s.%s.%s\r\n\r\n",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	expect_http(name, KN_SNIFF_INVALID, NULL);
	/* one character less is 253: fine */
	snprintf(name, sizeof(name), "GET / HTTP/1.1\r\nHost: %s.%s.%s.%s\r\n\r\n",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	expect_http(name, KN_SNIFF_FOUND, NULL);
}

static void test_http_no_host(void **state)
{
	(void) state;
	expect_http("GET / HTTP/1.0\r\n\r\n", KN_SNIFF_NONE, "");
	expect_http("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", KN_SNIFF_NONE, "");
	/* an empty Host is valid and names nothing */
	expect_http("GET / HTTP/1.1\r\nHost:\r\n\r\n", KN_SNIFF_NONE, "");
	expect_http("GET / HTTP/1.1\r\nHost: \t \r\n\r\n", KN_SNIFF_NONE, "");
}

static void test_http_smuggling(void **state)
{
	(void) state;
	/* two Host fields, even equal ones */
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\nhost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost:\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* decided as soon as the second field name is complete */
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\nHost:", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\nHost", KN_SNIFF_NEED_MORE, NULL);
	/* obs-fold, after Host or after any field */
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\n b.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\n Host: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* whitespace between the field name and the colon */
	expect_http("GET / HTTP/1.1\r\nHost : b.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost\t: b.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* bare LF or CR line ends */
	expect_http("GET / HTTP/1.1\nHost: a.test\n\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nX: a\rHost: b.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* control characters in a field value */
	expect_http("GET / HTTP/1.1\r\nX: a\x01\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	{
		static const char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\nHost: a.test\r\n\r\n";
		char name[256];

		assert_int_equal(run(kn_sniff_http_host, (const uint8_t *) nul, sizeof(nul) - 1, name),
				 KN_SNIFF_INVALID);
	}
	/* a field line without a colon or name */
	expect_http("GET / HTTP/1.1\r\nHost a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\n: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nH(ost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
}

static void test_http_absolute_form(void **state)
{
	(void) state;
	expect_http("GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET HTTP://A.Test.:8080/x HTTP/1.1\r\nHost: a.test:80\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET https://a.test HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET http://a.test?q HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET http://[2001:db8::1]:80/ HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", KN_SNIFF_FOUND,
		    "2001:db8::1");
	/* the host of the target and of Host differ */
	expect_http("GET http://b.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET http://a.test.evil/ HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET http://a.test/ HTTP/1.1\r\nHost:\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET http://a.test/ HTTP/1.1\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET http://a.test/ HTTP/1.0\r\nAccept: */*\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* not an authority the gateway can compare */
	expect_http("GET http://u@a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET http:///x HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET http:// HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET ftp://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET http:/a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* CONNECT: authority-form with its port */
	expect_http("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("CONNECT b.test:443 HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("CONNECT a.test HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("CONNECT / HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* asterisk-form is for OPTIONS */
	expect_http("OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("GET * HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("OPTIONS *x HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
}

static void test_http_request_line(void **state)
{
	(void) state;
	expect_http("PATCH /x HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	expect_http("M-SEARCH! /x HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_FOUND, "a.test");
	/* versions */
	expect_http("GET / HTTP/2.0\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.2\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / http/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1 \r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.10\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", KN_SNIFF_INVALID, NULL);
	/* HTTP/0.9, missing parts, extra spaces */
	expect_http("GET /\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET  / HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET /  HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http(" GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET\t/ HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("G(ET / HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET /\x01 HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET /\xc3\xa9 HTTP/1.1\r\nHost: a.test\r\n\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("\x16\x03\x01", KN_SNIFF_INVALID, NULL);
	expect_http("SSH-2.0-OpenSSH_9.2\r\n", KN_SNIFF_INVALID, NULL);
}

static void test_http_prefixes(void **state)
{
	(void) state;
	/* valid so far: wait */
	expect_http("", KN_SNIFF_NEED_MORE, "");
	expect_http("G", KN_SNIFF_NEED_MORE, "");
	expect_http("GET ", KN_SNIFF_NEED_MORE, "");
	expect_http("GET http", KN_SNIFF_NEED_MORE, "");
	expect_http("GET https:/", KN_SNIFF_NEED_MORE, "");
	expect_http("GET http://a.te", KN_SNIFF_NEED_MORE, "");
	expect_http("GET http://[2001:db8:", KN_SNIFF_NEED_MORE, "");
	expect_http("GET / HTTP/1.", KN_SNIFF_NEED_MORE, "");
	expect_http("GET / HTTP/1.1\r", KN_SNIFF_NEED_MORE, "");
	expect_http("GET / HTTP/1.1\r\nHost: a.te", KN_SNIFF_NEED_MORE, "");
	expect_http("GET / HTTP/1.1\r\nHost: a.test  ", KN_SNIFF_NEED_MORE, "");
	expect_http("GET / HTTP/1.1\r\nHost: [::1]:8", KN_SNIFF_NEED_MORE, "");
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\n\r", KN_SNIFF_NEED_MORE, "");
	/* already wrong: refuse without waiting */
	expect_http("GET ftp:", KN_SNIFF_INVALID, NULL);
	expect_http("GET http://a..", KN_SNIFF_INVALID, NULL);
	expect_http("GET http://a.test/ HTTP/2", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a..", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test x", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test:1234567", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: [zz", KN_SNIFF_INVALID, NULL);
	expect_http("GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n", KN_SNIFF_INVALID, NULL);
	expect_http("GET / HTTP/1.1\r\nHost: a.test\r\n\rx", KN_SNIFF_INVALID, NULL);
}

static void test_http_size_limit(void **state)
{
	static uint8_t big[KN_SNIFF_MAX + 200];
	static const char head[] = "GET / HTTP/1.1\r\nHost: a.test\r\nX-Pad: ";
	char name[256];
	size_t n;

	(void) state;
	/* headers that never end within KN_SNIFF_MAX */
	memcpy(big, head, sizeof(head) - 1);
	memset(big + sizeof(head) - 1, 'p', sizeof(big) - sizeof(head) + 1);
	assert_int_equal(run(kn_sniff_http_host, big, KN_SNIFF_MAX - 1, name), KN_SNIFF_NEED_MORE);
	assert_int_equal(run(kn_sniff_http_host, big, KN_SNIFF_MAX, name), KN_SNIFF_INVALID);
	assert_int_equal(run(kn_sniff_http_host, big, sizeof(big), name), KN_SNIFF_INVALID);
	/* headers ending exactly at KN_SNIFF_MAX */
	n = KN_SNIFF_MAX;
	memcpy(big + n - 4, "\r\n\r\n", 4);
	assert_int_equal(run(kn_sniff_http_host, big, n, name), KN_SNIFF_FOUND);
	assert_string_equal(name, "a.test");
	/* and then a body past the limit */
	assert_int_equal(run(kn_sniff_http_host, big, sizeof(big), name), KN_SNIFF_FOUND);
}

static void test_http_bad_args(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
	char small[255];

	(void) state;
	assert_int_equal(kn_sniff_http_host((const uint8_t *) req, sizeof(req) - 1, small, sizeof(small)),
			 KN_SNIFF_INVALID);
	assert_int_equal(kn_sniff_http_host((const uint8_t *) req, sizeof(req) - 1, NULL, 256), KN_SNIFF_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_real_hello),
		cmocka_unit_test(test_tls_built_hello),
		cmocka_unit_test(test_tls_no_sni),
		cmocka_unit_test(test_tls_reassembly),
		cmocka_unit_test(test_tls_record_header),
		cmocka_unit_test(test_tls_record_boundaries),
		cmocka_unit_test(test_tls_hello_fields),
		cmocka_unit_test(test_tls_extension_lengths),
		cmocka_unit_test(test_tls_sni_names),
		cmocka_unit_test(test_tls_sni_early_refusal),
		cmocka_unit_test(test_tls_server_name_list),
		cmocka_unit_test(test_tls_size_limit),
		cmocka_unit_test(test_tls_bad_args),
		cmocka_unit_test(test_http_host),
		cmocka_unit_test(test_http_ip_literals),
		cmocka_unit_test(test_http_bad_hosts),
		cmocka_unit_test(test_http_no_host),
		cmocka_unit_test(test_http_smuggling),
		cmocka_unit_test(test_http_absolute_form),
		cmocka_unit_test(test_http_request_line),
		cmocka_unit_test(test_http_prefixes),
		cmocka_unit_test(test_http_size_limit),
		cmocka_unit_test(test_http_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
