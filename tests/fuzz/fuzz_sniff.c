/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the first bytes a sandboxed client sends to port 443 or 80
 * are hostile input the gateway parses before it connects anywhere.  Both
 * sniffers get every input, and their answers are checked (abort on a
 * violation, so the replay test fails too):
 *  - FOUND: a NUL-terminated, lowercase name of 1-253 characters that
 *    passes the name rules (TLS), or those rules or an IP literal (HTTP),
 *    and that occurs in the input (case aside);
 *  - every other result leaves the name empty;
 *  - a decision is final: once a prefix of the input is FOUND, NONE or
 *    INVALID, every longer prefix gives the same result and name (so
 *    NEED_MORE never follows a decision, and a valid message never has an
 *    INVALID prefix);
 *  - each prefix is passed in a buffer of exactly its length, and the name
 *    buffer is exactly 256 bytes, so ASan sees any access out of bounds.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef kn_sniff_result (*sniffer)(const uint8_t *buf, size_t len, char *name, size_t cap);

#define NAME_CAP 256

static void fail(const char *what, const char *which, size_t len, const char *name)
{
	fprintf(stderr, "fuzz_sniff: %s: %s at length %zu (name '%s')\n", which, what, len, name);
	abort();
}

/* Written from the header's words, not from sniff.c, so it checks rather than repeats. */
static bool dns_name_ok(const char *s, bool allow_numeric_tld)
{
	size_t n = strlen(s), label = 0;
	bool digits = true;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			digits = true;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
		if (c < '0' || c > '9')
			digits = false;
	}
	return label > 0 && (allow_numeric_tld || !digits);
}

static bool ip_literal(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	for (const char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return false; /* the output is lowercase, hex digits too */
	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

static bool occurs_nocase(const uint8_t *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++) {
		size_t j = 0;

		while (j < m) {
			uint8_t c = hay[i + j];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t) (c - 'A' + 'a');
			if (c != (uint8_t) needle[j])
				break;
			j++;
		}
		if (j == m)
			return true;
	}
	return false;
}

/* run() - one call on a private copy of the first @len bytes; checks the per-call invariants. */
static kn_sniff_result run(sniffer f, bool http, const char *which, const uint8_t *data, size_t len, char *name)
{
	uint8_t *copy = malloc(len ? len : 1);
	kn_sniff_result r;

	if (!copy)
		abort();
	memcpy(copy, data, len);
	memset(name, 'X', NAME_CAP);
	r = f(copy, len, name, NAME_CAP);
	free(copy);
	if (r != KN_SNIFF_NEED_MORE && r != KN_SNIFF_FOUND && r != KN_SNIFF_NONE && r != KN_SNIFF_INVALID)
		fail("result out of range", which, len, "");
	if (!memchr(name, '\0', NAME_CAP))
		fail("name not NUL-terminated", which, len, "");
	if (r != KN_SNIFF_FOUND && name[0] != '\0')
		fail("name set without FOUND", which, len, name);
	if (r == KN_SNIFF_FOUND) {
		if (!dns_name_ok(name, false) && !(http && ip_literal(name)))
			fail("FOUND name breaks the name rules", which, len, name);
		if (!occurs_nocase(data, len, name))
			fail("FOUND name is not in the input", which, len, name);
	}
	if (len > KN_SNIFF_MAX && r == KN_SNIFF_NEED_MORE)
		fail("NEED_MORE past KN_SNIFF_MAX", which, len, name);
	return r;
}

static void check(sniffer f, bool http, const char *which, const uint8_t *data, size_t size)
{
	char *name = malloc(NAME_CAP), *decided_name = malloc(NAME_CAP);
	kn_sniff_result r, again, decided = KN_SNIFF_NEED_MORE;
	size_t step = size <= 512 ? 1 : size / 256;

	if (!name || !decided_name)
		abort();
	r = run(f, http, which, data, size, name);
	again = run(f, http, which, data, size, decided_name);
	if (r != again || strcmp(name, decided_name) != 0)
		fail("not deterministic", which, size, name);
	decided_name[0] = '\0';
	for (size_t len = 0; len <= size; len += step) {
		r = run(f, http, which, data, len, name);
		if (decided == KN_SNIFF_NEED_MORE) {
			decided = r;
			memcpy(decided_name, name, NAME_CAP);
		} else if (r != decided || strcmp(name, decided_name) != 0) {
			fail("a decision changed when more bytes came", which, len, name);
		}
		if (step > 1 && len + step > size && len != size)
			len = size - step; /* end on the whole input */
	}
	free(name);
	free(decided_name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * KN_SNIFF_MAX)
		return 0;
	check(kn_sniff_tls_sni, false, "tls", data, size);
	check(kn_sniff_http_host, true, "http", data, size);
	return 0;
}
