/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "allowlist.h"

static kn_addr addr(const char *s)
{
	kn_addr a;

	assert_int_equal(kn_addr_parse(s, &a), 0);
	return a;
}

/* add() - one --allow argument that must parse */
static void add(kn_allowlist *al, const char *arg)
{
	kn_error err = KN_ERROR_INIT;

	if (kn_allowlist_add(al, arg, &err) != 0)
		fail_msg("--allow '%s' refused: %s", arg, err.msg);
}

/* refused() - @arg is refused with -EINVAL, nothing appended, and the message holds @arg and @what */
static void refused(const char *arg, const char *what)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };
	kn_error err = KN_ERROR_INIT;
	int r = kn_allowlist_add(&al, arg, &err);

	if (r != -EINVAL)
		fail_msg("--allow '%s': expected -EINVAL, got %d", arg, r);
	assert_int_equal(al.n_rules, 0);
	assert_int_equal(err.code, EINVAL);
	if (!strstr(err.msg, what))
		fail_msg("--allow '%s': message '%s' lacks '%s'", arg, err.msg, what);
	if (*arg && !strstr(err.msg, arg))
		fail_msg("--allow '%s': message '%s' does not name the argument", arg, err.msg);
	kn_allowlist_free(&al);
}

static const kn_allow_rule *last(const kn_allowlist *al)
{
	assert_true(al->n_rules > 0);
	return &al->rules[al->n_rules - 1];
}

static void assert_cidr(const kn_allowlist *al, int family, const char *net, unsigned prefix, uint16_t port)
{
	const kn_allow_rule *r = last(al);
	char buf[INET6_ADDRSTRLEN];

	assert_null(r->name);
	assert_false(r->wildcard);
	assert_int_equal(r->net.family, family);
	assert_string_equal(kn_addr_format(&r->net, buf, sizeof(buf)), net);
	assert_int_equal(r->prefix, prefix);
	assert_int_equal(r->port, port);
}

static void assert_name(const kn_allowlist *al, const char *name, bool wildcard, uint16_t port)
{
	const kn_allow_rule *r = last(al);

	assert_non_null(r->name);
	assert_string_equal(r->name, name);
	assert_int_equal(r->wildcard, wildcard);
	assert_int_equal(r->port, port);
}

/* ---- rule parsing ---- */

static void test_add_names(void **state)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };
	char name[300];

	(void) state;
	add(&al, "Example.COM.");
	assert_name(&al, "example.com", false, 0);
	add(&al, "api.anthropic.com:443");
	assert_name(&al, "api.anthropic.com", false, 443);
	add(&al, "localhost");
	assert_name(&al, "localhost", false, 0);
	add(&al, "_acme-challenge.x-1.example");
	assert_name(&al, "_acme-challenge.x-1.example", false, 0);
	add(&al, "github.com:22");
	assert_name(&al, "github.com", false, 22);
	add(&al, "h.test:65535");
	assert_name(&al, "h.test", false, 65535);
	add(&al, "h.test:1");
	assert_name(&al, "h.test", false, 1);
	add(&al, "1a.2b");
	assert_name(&al, "1a.2b", false, 0);
	/* a 63-character label, a 253-character name, and the same with its trailing dot */
	snprintf(name, sizeof(name), "%s.test", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	add(&al, name);
	assert_name(&al, name, false, 0);
	memset(name, 'b', 253);
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	add(&al, name);
	assert_int_equal(strlen(last(&al)->name), 253);
	name[253] = '.';
	name[254] = '\0';
	add(&al, name);
	assert_int_equal(strlen(last(&al)->name), 253);
	assert_int_equal(al.n_rules, 11);
	kn_allowlist_free(&al);
}

static void test_add_wildcards(void **state)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };

	(void) state;
	add(&al, "*.githubusercontent.com");
	assert_name(&al, "githubusercontent.com", true, 0);
	add(&al, "*.Example.Com.:8443");
	assert_name(&al, "example.com", true, 8443);
	add(&al, "*.a.b.c");
	assert_name(&al, "a.b.c", true, 0);
	kn_allowlist_free(&al);
}

static void test_add_name_errors(void **state)
{
	char name[300];

	(void) state;
	refused("x..y", "empty label");
	refused(".x", "empty label");
	refused("x..", "empty label");
	refused(".", "empty name");
	refused(":443", "empty name");
	refused("*", "'*' alone");
	refused("*:443", "'*' alone");
	refused("*.com", "two labels");
	refused("*.", "empty name");
	refused("*.com.", "two labels");
	refused("a.*.com", "first label");
	refused("*x.example.com", "first label");
	refused("**.example.com", "first label");
	refused("x*.example.com", "first label");
	refused("*.*.example.com", "first label");
	refused("exa mple.com", "invalid character ' '");
	refused("exa\tmple.com", "invalid character 0x09");
	refused("ex\x01.com", "invalid character 0x01");
	refused("ex\xc3\xa9.com", "invalid character 0xc3");
	refused("ex%41.com", "invalid character '%'");
	refused("a.123", "numeric last label");
	refused("0x7f.1", "numeric last label");
	refused("12345", "numeric last label");
	/* 64-character label, 254-character name */
	snprintf(name, sizeof(name), "%s.test", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	refused(name, "longer than 63");
	memset(name, 'b', 254);
	for (int i = 63; i < 254; i += 64)
		name[i] = '.';
	name[254] = '\0';
	refused(name, "longer than 253");
	/* the exact message the user reads */
	{
		kn_allowlist al = { .mode = KN_NET_ALLOWLIST };
		kn_error err = KN_ERROR_INIT;

		assert_int_equal(kn_allowlist_add(&al, "x..y", &err), -EINVAL);
		assert_string_equal(err.msg, "--allow 'x..y': empty label");
		assert_int_equal(kn_allowlist_add(&al, "", &err), -EINVAL);
		assert_string_equal(err.msg, "--allow '': empty argument");
		assert_int_equal(al.n_rules, 0);
		assert_null(al.rules);
	}
}

static void test_add_port_errors(void **state)
{
	(void) state;
	refused("x.com:0", "port '0'");
	refused("x.com:65536", "port '65536'");
	refused("x.com:99999999", "port");
	refused("x.com:", "port ''");
	refused("x.com:8o", "port '8o'");
	refused("x.com:-1", "port '-1'");
	refused("x.com:+1", "port '+1'");
	refused("x.com: 80", "port ' 80'");
	refused("10.0.0.0/8:0", "port '0'");
	refused("192.0.2.1:70000", "port");
	refused("[2001:db8::1]:0", "port '0'");
	refused("[2001:db8::1]:", "port ''");
	refused("[2001:db8::1]:http", "port 'http'");
}

static void test_add_cidr_v4(void **state)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };

	(void) state;
	add(&al, "10.0.0.0/8");
	assert_cidr(&al, AF_INET, "10.0.0.0", 8, 0);
	add(&al, "10.0.0.0/8:22");
	assert_cidr(&al, AF_INET, "10.0.0.0", 8, 22);
	add(&al, "192.0.2.7");
	assert_cidr(&al, AF_INET, "192.0.2.7", 32, 0);
	add(&al, "192.0.2.7:5432");
	assert_cidr(&al, AF_INET, "192.0.2.7", 32, 5432);
	add(&al, "0.0.0.0/0");
	assert_cidr(&al, AF_INET, "0.0.0.0", 0, 0);
	add(&al, "192.0.2.7/32");
	assert_cidr(&al, AF_INET, "192.0.2.7", 32, 0);
	add(&al, "172.16.0.0/12:443");
	assert_cidr(&al, AF_INET, "172.16.0.0", 12, 443);
	add(&al, "10.128.0.0/9");
	assert_cidr(&al, AF_INET, "10.128.0.0", 9, 0);
	kn_allowlist_free(&al);
}

static void test_add_cidr_v4_errors(void **state)
{
	(void) state;
	refused("10.0.0.1/8", "host bits set");
	refused("10.0.0.1/8", "10.0.0.0/8");
	refused("10.128.0.0/8", "the network is 10.0.0.0/8");
	refused("192.0.2.1/0", "0.0.0.0/0");
	refused("10.0.0.0/33", "0 to 32");
	refused("10.0.0.0/", "prefix length ''");
	refused("10.0.0.0/-1", "prefix length");
	refused("10.0.0.0/8/9", "prefix length '8/9'");
	refused("10.0.0.0/0008", "prefix length");
	refused("/8", "is not an IPv4 address");
	refused("1.2.3", "'1.2.3' is not an IPv4 address");
	refused("1.2.3.256", "is not an IPv4 address");
	refused("127.1", "is not an IPv4 address");
	refused("01.2.3.4", "is not an IPv4 address");
	refused("1.2.3.4.5", "is not an IPv4 address");
	refused("example.com/8", "'example.com' is not an IPv4 address");
	refused("x.com:443:80", "is not an IPv6 address");
}

static void test_add_cidr_v6(void **state)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };

	(void) state;
	add(&al, "2001:db8::/32");
	assert_cidr(&al, AF_INET6, "2001:db8::", 32, 0);
	add(&al, "2001:DB8::1");
	assert_cidr(&al, AF_INET6, "2001:db8::1", 128, 0);
	add(&al, "[2001:db8::]/32:443");
	assert_cidr(&al, AF_INET6, "2001:db8::", 32, 443);
	add(&al, "[2001:db8::/48]:8443");
	assert_cidr(&al, AF_INET6, "2001:db8::", 48, 8443);
	add(&al, "[2001:db8::1]:22");
	assert_cidr(&al, AF_INET6, "2001:db8::1", 128, 22);
	add(&al, "[::1]");
	assert_cidr(&al, AF_INET6, "::1", 128, 0);
	add(&al, "[fd00::]/8");
	assert_cidr(&al, AF_INET6, "fd00::", 8, 0);
	add(&al, "[fd00::/8]");
	assert_cidr(&al, AF_INET6, "fd00::", 8, 0);
	add(&al, "::/0");
	assert_cidr(&al, AF_INET6, "::", 0, 0);
	add(&al, "[::/0]:443");
	assert_cidr(&al, AF_INET6, "::", 0, 443);
	add(&al, "2001:db8::1/128");
	assert_cidr(&al, AF_INET6, "2001:db8::1", 128, 0);
	add(&al, "2001:db8:8000::/33");
	assert_cidr(&al, AF_INET6, "2001:db8:8000::", 33, 0);
	/* a v4-mapped rule is an IPv4 rule: destinations never arrive v4-mapped */
	add(&al, "::ffff:10.0.0.0/104");
	assert_cidr(&al, AF_INET, "10.0.0.0", 8, 0);
	add(&al, "[::ffff:192.0.2.1]:22");
	assert_cidr(&al, AF_INET, "192.0.2.1", 32, 22);
	add(&al, "::ffff:0:0/96");
	assert_cidr(&al, AF_INET, "0.0.0.0", 0, 0);
	kn_allowlist_free(&al);
}

static void test_add_cidr_v6_errors(void **state)
{
	(void) state;
	refused("2001:db8::/129", "0 to 128");
	refused("2001:db8::1/64", "host bits set");
	refused("2001:db8::1/64", "2001:db8::/64");
	refused("2001:db8::/32:443", "needs brackets");
	refused("[2001:db8::/32]/33", "two prefix lengths");
	refused("[2001:db8::", "missing ']'");
	refused("[2001:db8::]x", "unexpected 'x'");
	refused("[2001:db8::]443", "unexpected");
	refused("[1.2.3.4]:80", "'1.2.3.4' is not an IPv6 address");
	refused("[fe80::1%eth0]", "is not an IPv6 address");
	refused("[]", "is not an IPv6 address");
	refused("[]:443", "is not an IPv6 address");
	refused("2001:db8:::1", "is not an IPv6 address");
	refused("[2001:db8::]/", "prefix length ''");
	refused("[2001:db8::/]", "prefix length ''");
	refused("::ffff:10.0.0.1/104", "host bits set");
	refused("[2001:0db8:0000:0000:0000:0000:0000:0000:0000:0001]", "is not an IPv6 address");
	{
		kn_allowlist al = { .mode = KN_NET_ALLOWLIST };
		kn_error err = KN_ERROR_INIT;

		assert_int_equal(kn_allowlist_add(&al, NULL, &err), -EINVAL);
		assert_int_equal(al.n_rules, 0);
	}
}

static void test_defaults_and_free(void **state)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };
	size_t n = 0;

	(void) state;
	while (kn_allowlist_default_names[n])
		n++;
	assert_true(n >= 4);
	kn_allowlist_add_defaults(&al);
	assert_int_equal(al.n_rules, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(al.rules[i].name, kn_allowlist_default_names[i]);
		assert_false(al.rules[i].wildcard);
		assert_int_equal(al.rules[i].port, 0);
	}
	assert_true(kn_allowlist_name_allowed(&al, "api.anthropic.com", 443));
	assert_true(kn_allowlist_name_allowed(&al, "api.anthropic.com", 80));
	assert_true(kn_allowlist_name_allowed(&al, "claude.ai", 443));
	assert_true(kn_allowlist_name_allowed(&al, "platform.claude.com", 443));
	assert_false(kn_allowlist_name_allowed(&al, "api.anthropic.com", 22));
	assert_false(kn_allowlist_name_allowed(&al, "x.claude.ai", 443));
	kn_allowlist_free(&al);
	assert_int_equal(al.n_rules, 0);
	assert_null(al.rules);
	kn_allowlist_free(&al);
	kn_allowlist_free(NULL);
	assert_false(kn_allowlist_name_allowed(&al, "api.anthropic.com", 443));
	assert_false(kn_allowlist_name_allowed(NULL, "api.anthropic.com", 443));
}

static void test_ports(void **state)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };
	uint16_t out[8] = { 0 };

	(void) state;
	assert_int_equal(kn_allowlist_ports(&al, out, 8), 2);
	assert_int_equal(out[0], 80);
	assert_int_equal(out[1], 443);
	assert_int_equal(kn_allowlist_ports(&al, NULL, 0), 2);
	add(&al, "github.com:22");
	add(&al, "x.test:8443");
	add(&al, "y.test:443");
	add(&al, "10.0.0.0/8:22");
	add(&al, "[2001:db8::1]:1");
	add(&al, "z.test");
	add(&al, "w.test:65535");
	assert_int_equal(kn_allowlist_ports(&al, out, 8), 6);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 22);
	assert_int_equal(out[2], 80);
	assert_int_equal(out[3], 443);
	assert_int_equal(out[4], 8443);
	assert_int_equal(out[5], 65535);
	/* a short buffer: the count is still the whole, only @cap are written */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(kn_allowlist_ports(&al, out, 3), 6);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 22);
	assert_int_equal(out[2], 80);
	assert_int_equal(out[3], 0xeeee);
	kn_allowlist_free(&al);
}

/* ---- name matching ---- */

static void test_name_allowed_ports(void **state)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };

	(void) state;
	add(&al, "a.test");
	add(&al, "b.test:22");
	add(&al, "c.test:443");
	/* port 0 in a rule: 443 and 80 */
	assert_true(kn_allowlist_name_allowed(&al, "a.test", 443));
	assert_true(kn_allowlist_name_allowed(&al, "a.test", 80));
	assert_false(kn_allowlist_name_allowed(&al, "a.test", 22));
	assert_false(kn_allowlist_name_allowed(&al, "a.test", 8080));
	assert_true(kn_allowlist_name_allowed(&al, "a.test", 0));
	/* a port in a rule: that port only */
	assert_true(kn_allowlist_name_allowed(&al, "b.test", 22));
	assert_false(kn_allowlist_name_allowed(&al, "b.test", 443));
	assert_false(kn_allowlist_name_allowed(&al, "b.test", 80));
	assert_true(kn_allowlist_name_allowed(&al, "b.test", 0));
	assert_true(kn_allowlist_name_allowed(&al, "c.test", 443));
	assert_false(kn_allowlist_name_allowed(&al, "c.test", 80));
	/* CIDR rules admit no name */
	kn_allowlist_free(&al);
	add(&al, "0.0.0.0/0");
	assert_false(kn_allowlist_name_allowed(&al, "a.test", 443));
	kn_allowlist_free(&al);
}

static void test_name_allowed_wildcards(void **state)
{
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };

	(void) state;
	add(&al, "*.githubusercontent.com");
	add(&al, "exact.test");
	assert_true(kn_allowlist_name_allowed(&al, "raw.githubusercontent.com", 443));
	assert_true(kn_allowlist_name_allowed(&al, "a.b.githubusercontent.com", 443));
	assert_false(kn_allowlist_name_allowed(&al, "githubusercontent.com", 443));
	assert_false(kn_allowlist_name_allowed(&al, "xgithubusercontent.com", 443));
	assert_false(kn_allowlist_name_allowed(&al, ".githubusercontent.com", 443));
	assert_false(kn_allowlist_name_allowed(&al, "githubusercontent.com.evil.test", 443));
	assert_false(kn_allowlist_name_allowed(&al, "raw.githubusercontent.co", 443));
	assert_false(kn_allowlist_name_allowed(&al, "raw.githubusercontent.com", 22));
	assert_true(kn_allowlist_name_allowed(&al, "exact.test", 80));
	assert_false(kn_allowlist_name_allowed(&al, "sub.exact.test", 443));
	assert_false(kn_allowlist_name_allowed(&al, "exact.test.evil", 443));
	assert_false(kn_allowlist_name_allowed(&al, "xexact.test", 443));
	assert_false(kn_allowlist_name_allowed(&al, "", 443));
	assert_false(kn_allowlist_name_allowed(&al, NULL, 443));
	kn_allowlist_free(&al);
}

static void test_name_allowed_modes(void **state)
{
	kn_allowlist al = { .mode = KN_NET_OPEN };

	(void) state;
	/* open mode: every name, on every port */
	assert_true(kn_allowlist_name_allowed(&al, "anything.test", 443));
	assert_true(kn_allowlist_name_allowed(&al, "anything.test", 22));
	assert_false(kn_allowlist_name_allowed(&al, "", 443));
	/* none: nothing, even a listed name */
	al.mode = KN_NET_NONE;
	add(&al, "a.test");
	assert_false(kn_allowlist_name_allowed(&al, "a.test", 443));
	al.mode = KN_NET_ALLOWLIST;
	assert_true(kn_allowlist_name_allowed(&al, "a.test", 443));
	kn_allowlist_free(&al);
}

/* ---- addresses ---- */

static void test_addr_parse_format(void **state)
{
	static const char *const bad[] = { "", "1.2.3", "1.2.3.4 ", " 1.2.3.4", "1.2.3.256", "[::1]", "::1%lo",
					   "2001:db8:::1", "example.com", "1.2.3.4/32", "0x7f000001" };
	char buf[INET6_ADDRSTRLEN], small[4];
	kn_addr a;

	(void) state;
	assert_int_equal(kn_addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.a[0], 192);
	assert_int_equal(a.a[3], 1);
	assert_string_equal(kn_addr_format(&a, buf, sizeof(buf)), "192.0.2.1");
	assert_int_equal(kn_addr_parse("2001:DB8:0::1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(kn_addr_format(&a, buf, sizeof(buf)), "2001:db8::1");
	assert_int_equal(kn_addr_parse("::ffff:1.2.3.4", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(kn_addr_format(&a, buf, sizeof(buf)), "::ffff:1.2.3.4");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (kn_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("kn_addr_parse('%s') accepted", bad[i]);
	/* too small a buffer: something short and terminated, never an overflow */
	assert_int_equal(kn_addr_parse("2001:db8::1", &a), 0);
	kn_addr_format(&a, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	small[0] = 'Z';
	assert_ptr_equal(kn_addr_format(&a, small, 0), small);
	assert_int_equal(small[0], 'Z');
	a.family = AF_UNIX;
	assert_string_equal(kn_addr_format(&a, buf, sizeof(buf)), "?");
}

static void test_addr_from_sockaddr(void **state)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(443) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char buf[INET6_ADDRSTRLEN];
	kn_addr a;

	(void) state;
	inet_pton(AF_INET, "203.0.113.5", &in.sin_addr);
	assert_int_equal(kn_addr_from_sockaddr((struct sockaddr *) &in, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(kn_addr_format(&a, buf, sizeof(buf)), "203.0.113.5");
	inet_pton(AF_INET6, "::ffff:203.0.113.6", &in6.sin6_addr);
	assert_int_equal(kn_addr_from_sockaddr((struct sockaddr *) &in6, &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(kn_addr_format(&a, buf, sizeof(buf)), "203.0.113.6");
	inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr);
	assert_int_equal(kn_addr_from_sockaddr((struct sockaddr *) &in6, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(kn_addr_format(&a, buf, sizeof(buf)), "2001:db8::7");
	/* IPv4-compatible and NAT64 stay IPv6: only the mapped form is the same socket address */
	inet_pton(AF_INET6, "64:ff9b::203.0.113.6", &in6.sin6_addr);
	assert_int_equal(kn_addr_from_sockaddr((struct sockaddr *) &in6, &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(kn_addr_from_sockaddr((struct sockaddr *) &un, &a), -EAFNOSUPPORT);
}

struct class_case {
	const char *addr;
	kn_addr_class c;
};

static void check_classes(const struct class_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kn_addr a = addr(cases[i].addr);
		kn_addr_class c = kn_addr_classify(&a);

		if (c != cases[i].c)
			fail_msg("%s: %s, expected %s", cases[i].addr, kn_addr_class_name(c),
				 kn_addr_class_name(cases[i].c));
	}
}

static void test_classify_v4(void **state)
{
	static const struct class_case cases[] = {
		{ "0.0.0.0", KN_ADDR_UNSPECIFIED },        { "0.1.2.3", KN_ADDR_UNSPECIFIED },
		{ "0.255.255.255", KN_ADDR_UNSPECIFIED },  { "1.0.0.0", KN_ADDR_PUBLIC },
		{ "127.0.0.1", KN_ADDR_LOOPBACK },         { "127.255.255.255", KN_ADDR_LOOPBACK },
		{ "126.255.255.255", KN_ADDR_PUBLIC },     { "128.0.0.0", KN_ADDR_PUBLIC },
		{ "10.0.0.0", KN_ADDR_PRIVATE },           { "10.255.255.255", KN_ADDR_PRIVATE },
		{ "9.255.255.255", KN_ADDR_PUBLIC },       { "11.0.0.0", KN_ADDR_PUBLIC },
		{ "172.16.0.0", KN_ADDR_PRIVATE },         { "172.31.255.255", KN_ADDR_PRIVATE },
		{ "172.15.255.255", KN_ADDR_PUBLIC },      { "172.32.0.0", KN_ADDR_PUBLIC },
		{ "192.168.0.1", KN_ADDR_PRIVATE },        { "192.168.255.255", KN_ADDR_PRIVATE },
		{ "192.169.0.0", KN_ADDR_PUBLIC },         { "100.64.0.0", KN_ADDR_PRIVATE },
		{ "100.127.255.255", KN_ADDR_PRIVATE },    { "100.63.255.255", KN_ADDR_PUBLIC },
		{ "100.128.0.0", KN_ADDR_PUBLIC },         { "169.254.0.1", KN_ADDR_LINK_LOCAL },
		{ "169.254.255.255", KN_ADDR_LINK_LOCAL }, { "169.253.255.255", KN_ADDR_PUBLIC },
		{ "169.254.169.254", KN_ADDR_METADATA },   { "169.254.169.253", KN_ADDR_LINK_LOCAL },
		{ "100.100.100.200", KN_ADDR_METADATA },   { "100.100.100.201", KN_ADDR_PRIVATE },
		{ "224.0.0.1", KN_ADDR_MULTICAST },        { "239.255.255.255", KN_ADDR_MULTICAST },
		{ "223.255.255.255", KN_ADDR_PUBLIC },     { "255.255.255.255", KN_ADDR_MULTICAST },
		{ "240.0.0.0", KN_ADDR_RESERVED },         { "255.255.255.254", KN_ADDR_RESERVED },
		{ "192.0.0.0", KN_ADDR_RESERVED },         { "192.0.0.8", KN_ADDR_RESERVED },
		{ "192.0.0.255", KN_ADDR_RESERVED },       { "192.0.1.0", KN_ADDR_PUBLIC },
		{ "198.18.0.0", KN_ADDR_RESERVED },        { "198.19.255.255", KN_ADDR_RESERVED },
		{ "198.17.255.255", KN_ADDR_PUBLIC },      { "198.20.0.0", KN_ADDR_PUBLIC },
		{ "192.88.99.1", KN_ADDR_RESERVED },       { "192.88.98.255", KN_ADDR_PUBLIC },
		/* documentation ranges are public: the tests' hosts live there */
		{ "192.0.2.1", KN_ADDR_PUBLIC },           { "198.51.100.1", KN_ADDR_PUBLIC },
		{ "203.0.113.1", KN_ADDR_PUBLIC },         { "8.8.8.8", KN_ADDR_PUBLIC },
		{ "1.1.1.1", KN_ADDR_PUBLIC },             { "192.31.196.1", KN_ADDR_PUBLIC },
	};

	(void) state;
	check_classes(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_classify_v6(void **state)
{
	static const struct class_case cases[] = {
		{ "::", KN_ADDR_UNSPECIFIED },
		{ "::1", KN_ADDR_LOOPBACK },
		/* IPv4-mapped, IPv4-compatible and NAT64: by the IPv4 address they carry */
		{ "::ffff:127.0.0.1", KN_ADDR_LOOPBACK },
		{ "::ffff:10.1.2.3", KN_ADDR_PRIVATE },
		{ "::ffff:169.254.169.254", KN_ADDR_METADATA },
		{ "::ffff:8.8.8.8", KN_ADDR_PUBLIC },
		{ "::ffff:0.0.0.0", KN_ADDR_UNSPECIFIED },
		{ "::127.0.0.1", KN_ADDR_LOOPBACK },
		{ "::10.0.0.1", KN_ADDR_PRIVATE },
		{ "::8.8.8.8", KN_ADDR_PUBLIC },
		{ "::2", KN_ADDR_UNSPECIFIED },
		{ "::224.0.0.1", KN_ADDR_MULTICAST },
		{ "64:ff9b::10.0.0.1", KN_ADDR_PRIVATE },
		{ "64:ff9b::7f00:1", KN_ADDR_LOOPBACK },
		{ "64:ff9b::a9fe:a9fe", KN_ADDR_METADATA },
		{ "64:ff9b::8.8.8.8", KN_ADDR_PUBLIC },
		{ "64:ff9b:1::1", KN_ADDR_PRIVATE },
		/* 6to4 carries an IPv4 address too */
		{ "2002:7f00:1::1", KN_ADDR_LOOPBACK },
		{ "2002:c0a8:101::1", KN_ADDR_PRIVATE },
		{ "2002:808:808::1", KN_ADDR_PUBLIC },
		{ "fc00::1", KN_ADDR_PRIVATE },
		{ "fdff:ffff::1", KN_ADDR_PRIVATE },
		{ "fd00:ec2::254", KN_ADDR_METADATA },
		{ "fd00:ec2::253", KN_ADDR_PRIVATE },
		{ "fe80::1", KN_ADDR_LINK_LOCAL },
		{ "febf:ffff::1", KN_ADDR_LINK_LOCAL },
		{ "fec0::1", KN_ADDR_PRIVATE },
		{ "ff02::1", KN_ADDR_MULTICAST },
		{ "ff0e::1", KN_ADDR_MULTICAST },
		{ "2001:db8::1", KN_ADDR_PUBLIC },
		{ "2001:4860:4860::8888", KN_ADDR_PUBLIC },
		{ "2606:4700:4700::1111", KN_ADDR_PUBLIC },
		{ "2620:4f:8000::1", KN_ADDR_PUBLIC },
		{ "3ffe::1", KN_ADDR_PUBLIC },
		{ "100::1", KN_ADDR_RESERVED },
		{ "100:0:0:1::1", KN_ADDR_RESERVED },
		{ "2001::1", KN_ADDR_RESERVED },
		{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", KN_ADDR_RESERVED },
		{ "2001:2::1", KN_ADDR_RESERVED },
		{ "2001:10::1", KN_ADDR_RESERVED },
		{ "2001:1ff::1", KN_ADDR_RESERVED },
		{ "2001:1::1", KN_ADDR_PUBLIC },
		{ "2001:1::2", KN_ADDR_PUBLIC },
		{ "2001:1::3", KN_ADDR_PUBLIC },
		{ "2001:1::4", KN_ADDR_RESERVED },
		{ "2001:3::1", KN_ADDR_PUBLIC },
		{ "2001:4:112::1", KN_ADDR_PUBLIC },
		{ "2001:4:113::1", KN_ADDR_RESERVED },
		{ "2001:20::1", KN_ADDR_PUBLIC },
		{ "2001:30::1", KN_ADDR_PUBLIC },
		{ "2001:200::1", KN_ADDR_PUBLIC },
		{ "3fff::1", KN_ADDR_RESERVED },
		{ "3fff:fff::1", KN_ADDR_RESERVED },
		{ "3fff:1000::1", KN_ADDR_PUBLIC },
		{ "5f00::1", KN_ADDR_RESERVED },
		{ "4000::1", KN_ADDR_RESERVED },
		{ "1::1", KN_ADDR_RESERVED },
		{ "::1:0:0:0", KN_ADDR_RESERVED },
		{ "::ffff:0:808:808", KN_ADDR_RESERVED },
		{ "e000::1", KN_ADDR_RESERVED },
	};
	kn_addr odd = { .family = AF_UNIX };

	(void) state;
	check_classes(cases, sizeof(cases) / sizeof(cases[0]));
	assert_int_equal(kn_addr_classify(&odd), KN_ADDR_RESERVED);
}

static void test_class_names(void **state)
{
	(void) state;
	assert_string_equal(kn_addr_class_name(KN_ADDR_PUBLIC), "public");
	assert_string_equal(kn_addr_class_name(KN_ADDR_UNSPECIFIED), "unspecified");
	assert_string_equal(kn_addr_class_name(KN_ADDR_LOOPBACK), "loopback");
	assert_string_equal(kn_addr_class_name(KN_ADDR_PRIVATE), "private");
	assert_string_equal(kn_addr_class_name(KN_ADDR_LINK_LOCAL), "link-local");
	assert_string_equal(kn_addr_class_name(KN_ADDR_METADATA), "cloud metadata");
	assert_string_equal(kn_addr_class_name(KN_ADDR_MULTICAST), "multicast");
	assert_string_equal(kn_addr_class_name(KN_ADDR_RESERVED), "reserved");
	assert_string_equal(kn_addr_class_name((kn_addr_class) 99), "unknown");
}

/* ---- the resolved table ---- */

static void test_resolved_basic(void **state)
{
	kn_resolved *r = kn_resolved_new();
	kn_addr a = addr("203.0.113.10"), b = addr("203.0.113.11"), mapped = addr("::ffff:203.0.113.10");
	kn_addr v6 = addr("2001:db8::10");

	(void) state;
	assert_non_null(r);
	assert_false(kn_resolved_has(r, "a.test", &a, 0));
	kn_resolved_add(r, "a.test", &a, 300, 1000);
	assert_true(kn_resolved_has(r, "a.test", &a, 1000));
	assert_false(kn_resolved_has(r, "a.test", &b, 1000));
	assert_false(kn_resolved_has(r, "b.test", &a, 1000));
	assert_false(kn_resolved_has(r, "a.tes", &a, 1000));
	assert_false(kn_resolved_has(r, "a.test.", &a, 1000));
	/* the same address spelled v4-mapped */
	assert_true(kn_resolved_has(r, "a.test", &mapped, 1000));
	/* names are stored lowercase without their trailing dot */
	kn_resolved_add(r, "B.Test.", &mapped, 300, 1000);
	assert_true(kn_resolved_has(r, "b.test", &a, 1000));
	assert_true(kn_resolved_has(r, "a.test", &a, 1000));
	kn_resolved_add(r, "a.test", &v6, 300, 1000);
	assert_true(kn_resolved_has(r, "a.test", &v6, 1000));
	assert_false(kn_resolved_has(r, "b.test", &v6, 1000));
	/* what cannot be an entry is ignored */
	kn_resolved_add(r, "", &b, 300, 1000);
	kn_resolved_add(r, ".", &b, 300, 1000);
	kn_resolved_add(r, NULL, &b, 300, 1000);
	{
		char longname[300];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		kn_resolved_add(r, longname, &b, 300, 1000);
		assert_false(kn_resolved_has(r, longname, &b, 1000));
	}
	assert_false(kn_resolved_has(r, "", &b, 1000));
	assert_false(kn_resolved_has(r, NULL, &a, 1000));
	kn_resolved_add(NULL, "a.test", &a, 300, 1000);
	assert_false(kn_resolved_has(NULL, "a.test", &a, 1000));
	kn_resolved_free(r);
	kn_resolved_free(NULL);
}

static void test_resolved_ttl(void **state)
{
	kn_resolved *r = kn_resolved_new();
	kn_addr a = addr("203.0.113.1"), b = addr("203.0.113.2"), c = addr("203.0.113.3"), d = addr("203.0.113.4");
	const uint64_t t = 5000000;

	(void) state;
	/* exactly at the boundary the answer is gone: live while now < added + ttl */
	kn_resolved_add(r, "x.test", &a, 300, t);
	assert_true(kn_resolved_has(r, "x.test", &a, t + 300000 - 1));
	assert_false(kn_resolved_has(r, "x.test", &a, t + 300000));
	/* below the floor: 60 s */
	kn_resolved_add(r, "x.test", &b, 0, t);
	assert_true(kn_resolved_has(r, "x.test", &b, t + KN_RESOLVED_MIN_TTL * 1000 - 1));
	assert_false(kn_resolved_has(r, "x.test", &b, t + KN_RESOLVED_MIN_TTL * 1000));
	kn_resolved_add(r, "y.test", &b, 59, t);
	assert_true(kn_resolved_has(r, "y.test", &b, t + 59999));
	assert_false(kn_resolved_has(r, "y.test", &b, t + 60000));
	/* above the cap: one day */
	kn_resolved_add(r, "x.test", &c, UINT32_MAX, t);
	assert_true(kn_resolved_has(r, "x.test", &c, t + KN_RESOLVED_MAX_TTL * 1000ULL - 1));
	assert_false(kn_resolved_has(r, "x.test", &c, t + KN_RESOLVED_MAX_TTL * 1000ULL));
	/* the clock near its end does not wrap into the past */
	kn_resolved_add(r, "x.test", &d, 300, UINT64_MAX - 10);
	assert_true(kn_resolved_has(r, "x.test", &d, UINT64_MAX - 1));
	kn_resolved_free(r);
}

static void test_resolved_refresh(void **state)
{
	kn_resolved *r = kn_resolved_new();
	kn_addr a = addr("203.0.113.1");

	(void) state;
	kn_resolved_add(r, "x.test", &a, 100, 0);
	/* a later answer extends */
	kn_resolved_add(r, "x.test", &a, 100, 90000);
	assert_true(kn_resolved_has(r, "x.test", &a, 189999));
	assert_false(kn_resolved_has(r, "x.test", &a, 190000));
	/* a shorter answer does not cut what clients may still hold */
	kn_resolved_add(r, "X.TEST", &a, 60, 100000);
	assert_true(kn_resolved_has(r, "x.test", &a, 189999));
	assert_false(kn_resolved_has(r, "x.test", &a, 190000));
	/* once expired, a new answer brings it back */
	kn_resolved_add(r, "x.test", &a, 60, 200000);
	assert_true(kn_resolved_has(r, "x.test", &a, 259999));
	assert_false(kn_resolved_has(r, "x.test", &a, 260000));
	kn_resolved_free(r);
}

static kn_addr nth_addr(uint32_t i)
{
	kn_addr a = { .family = AF_INET6 };

	a.a[0] = 0x20;
	a.a[1] = 0x01;
	a.a[2] = 0x0d;
	a.a[3] = 0xb8;
	a.a[12] = (uint8_t) (i >> 24);
	a.a[13] = (uint8_t) (i >> 16);
	a.a[14] = (uint8_t) (i >> 8);
	a.a[15] = (uint8_t) i;
	return a;
}

static void test_resolved_bound(void **state)
{
	kn_resolved *r = kn_resolved_new();
	kn_addr a, fresh = addr("203.0.113.99"), early = addr("203.0.113.98");

	(void) state;
	/* entry i expires at (60 + i) s: entry 0 first */
	for (uint32_t i = 0; i < KN_RESOLVED_MAX_ENTRIES; i++) {
		a = nth_addr(i);
		kn_resolved_add(r, i % 2 ? "odd.test" : "even.test", &a, 60 + i, 0);
	}
	a = nth_addr(0);
	assert_true(kn_resolved_has(r, "even.test", &a, 0));
	/* refreshing an existing pair takes no new room */
	kn_resolved_add(r, "even.test", &a, 60, 0);
	a = nth_addr(1);
	assert_true(kn_resolved_has(r, "odd.test", &a, 0));
	/* one more: the entry that expires first (entry 0) goes */
	kn_resolved_add(r, "fresh.test", &fresh, 100000, 0);
	assert_true(kn_resolved_has(r, "fresh.test", &fresh, 0));
	a = nth_addr(0);
	assert_false(kn_resolved_has(r, "even.test", &a, 0));
	a = nth_addr(1);
	assert_true(kn_resolved_has(r, "odd.test", &a, 0));
	a = nth_addr(KN_RESOLVED_MAX_ENTRIES - 1);
	assert_true(kn_resolved_has(r, "odd.test", &a, 0));
	/* a newcomer that would expire before every other is the one dropped */
	kn_resolved_add(r, "early.test", &early, 1, 0);
	assert_false(kn_resolved_has(r, "early.test", &early, 0));
	a = nth_addr(1);
	assert_true(kn_resolved_has(r, "odd.test", &a, 0));
	/* another: entry 1 goes now */
	kn_resolved_add(r, "fresh2.test", &fresh, 100000, 0);
	a = nth_addr(1);
	assert_false(kn_resolved_has(r, "odd.test", &a, 0));
	a = nth_addr(2);
	assert_true(kn_resolved_has(r, "even.test", &a, 0));
	/* 100000 s was cut to a day */
	assert_true(kn_resolved_has(r, "fresh.test", &fresh, KN_RESOLVED_MAX_TTL * 1000ULL - 1));
	assert_false(kn_resolved_has(r, "fresh.test", &fresh, KN_RESOLVED_MAX_TTL * 1000ULL));
	/* expired entries leave at the next add: later, the table has room for all of these again */
	for (uint32_t i = 0; i < 1000; i++) {
		a = nth_addr(0x10000000 + i);
		kn_resolved_add(r, "late.test", &a, 60, 200000000);
	}
	for (uint32_t i = 0; i < 1000; i++) {
		a = nth_addr(0x10000000 + i);
		assert_true(kn_resolved_has(r, "late.test", &a, 200000000));
	}
	kn_resolved_free(r);
}

static void test_resolved_many_names_one_address(void **state)
{
	kn_resolved *r = kn_resolved_new();
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };
	kn_addr cdn = addr("203.0.113.50");
	char name[32];

	(void) state;
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "site%d.test", i);
		kn_resolved_add(r, name, &cdn, 300, 0);
	}
	add(&al, "site250.test");
	assert_string_equal(kn_resolved_allowed_name(r, &al, &cdn, 443, 0), "site250.test");
	assert_null(kn_resolved_allowed_name(r, &al, &cdn, 22, 0));
	assert_null(kn_resolved_allowed_name(r, &al, &cdn, 443, 300000));
	for (int i = 0; i < 500; i += 37) {
		snprintf(name, sizeof(name), "site%d.test", i);
		assert_true(kn_resolved_has(r, name, &cdn, 299999));
	}
	kn_allowlist_free(&al);
	kn_resolved_free(r);
}

static void test_resolved_allowed_name(void **state)
{
	kn_resolved *r = kn_resolved_new();
	kn_allowlist al = { .mode = KN_NET_ALLOWLIST };
	kn_addr a = addr("203.0.113.7"), other = addr("203.0.113.8");

	(void) state;
	add(&al, "allowed.test");
	add(&al, "ssh.test:22");
	kn_resolved_add(r, "blocked.test", &a, 300, 0);
	assert_null(kn_resolved_allowed_name(r, &al, &a, 443, 0));
	assert_null(kn_resolved_allowed_name(r, &al, &a, 0, 0));
	kn_resolved_add(r, "allowed.test", &a, 300, 0);
	kn_resolved_add(r, "ssh.test", &a, 120, 0);
	assert_string_equal(kn_resolved_allowed_name(r, &al, &a, 443, 0), "allowed.test");
	assert_string_equal(kn_resolved_allowed_name(r, &al, &a, 80, 0), "allowed.test");
	assert_string_equal(kn_resolved_allowed_name(r, &al, &a, 22, 0), "ssh.test");
	assert_non_null(kn_resolved_allowed_name(r, &al, &a, 0, 0));
	assert_null(kn_resolved_allowed_name(r, &al, &a, 8080, 0));
	assert_null(kn_resolved_allowed_name(r, &al, &other, 443, 0));
	/* expiry */
	assert_null(kn_resolved_allowed_name(r, &al, &a, 22, 120000));
	assert_string_equal(kn_resolved_allowed_name(r, &al, &a, 443, 120000), "allowed.test");
	assert_null(kn_resolved_allowed_name(r, &al, &a, 443, 300000));
	/* open mode admits any name */
	al.mode = KN_NET_OPEN;
	assert_non_null(kn_resolved_allowed_name(r, &al, &a, 443, 0));
	assert_null(kn_resolved_allowed_name(NULL, &al, &a, 443, 0));
	kn_allowlist_free(&al);
	kn_resolved_free(r);
}

/* ---- the flow decision ---- */

static void assert_reason(const kn_flow_verdict *v, const char *a, const char *b)
{
	if (a && !strstr(v->reason, a))
		fail_msg("reason '%s' lacks '%s'", v->reason, a);
	if (b && !strstr(v->reason, b))
		fail_msg("reason '%s' lacks '%s'", v->reason, b);
}

struct flow_env {
	kn_allowlist al;
	kn_resolved *res;
};

static struct flow_env env_new(kn_net_mode mode)
{
	struct flow_env e = { .al = { .mode = mode }, .res = kn_resolved_new() };

	assert_non_null(e.res);
	return e;
}

static void env_free(struct flow_env *e)
{
	kn_allowlist_free(&e->al);
	kn_resolved_free(e->res);
}

static void test_flow_addr_names(void **state)
{
	struct flow_env e = env_new(KN_NET_ALLOWLIST);
	kn_addr api = addr("203.0.113.10"), gh = addr("203.0.113.20"), nobody = addr("203.0.113.30");
	kn_flow_verdict v;

	(void) state;
	kn_allowlist_add_defaults(&e.al);
	add(&e.al, "github.com:22");
	kn_resolved_add(e.res, "api.anthropic.com", &api, 60, 0);
	kn_resolved_add(e.res, "github.com", &gh, 60, 0);
	kn_resolved_add(e.res, "notallowed.test", &nobody, 60, 0);

	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &api, 443, 0, &v), KN_FLOW_NEED_NAME);
	assert_int_equal(v.step, KN_FLOW_NEED_NAME);
	assert_string_equal(v.name, "api.anthropic.com");
	assert_reason(&v, "203.0.113.10", "SNI");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &api, 80, 0, &v), KN_FLOW_NEED_NAME);
	assert_reason(&v, "203.0.113.10", "Host");
	/* the default pair only: no other port */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &api, 22, 0, &v), KN_FLOW_DENY);
	assert_string_equal(v.name, "");
	assert_reason(&v, "203.0.113.10", "port 22");
	/* a name with its own port: allowed at once there (no SNI on ssh) */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &gh, 22, 0, &v), KN_FLOW_ALLOW);
	assert_string_equal(v.name, "github.com");
	assert_reason(&v, "github.com", "203.0.113.20");
	assert_reason(&v, "22", NULL);
	/* ... and only there */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &gh, 443, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "no allowed name resolved to 203.0.113.20", "443");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &gh, 2222, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "2222", "203.0.113.20");
	/* resolved but not allowed, and never resolved */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &nobody, 443, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "no allowed name resolved to 203.0.113.30", NULL);
	assert_int_equal(kn_flow_check_addr(&e.al, NULL, &api, 443, 0, &v), KN_FLOW_DENY);
	/* expiry exactly at the boundary */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &api, 443, 59999, &v), KN_FLOW_NEED_NAME);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &api, 443, 60000, &v), KN_FLOW_DENY);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &gh, 22, 60000, &v), KN_FLOW_DENY);
	/* port 0 is no destination */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &gh, 0, 0, &v), KN_FLOW_DENY);
	env_free(&e);
}

static void test_flow_addr_classes(void **state)
{
	struct flow_env e = env_new(KN_NET_ALLOWLIST);
	kn_addr lo = addr("127.0.0.1"), lo_mapped = addr("::ffff:127.0.0.1"), meta = addr("169.254.169.254");
	kn_addr priv = addr("10.1.2.3"), v6lo = addr("::1"), nat64 = addr("64:ff9b::7f00:1");
	kn_flow_verdict v;

	(void) state;
	add(&e.al, "evil.test");
	/* DNS rebinding: an allowed name answering a loopback address is still refused */
	kn_resolved_add(e.res, "evil.test", &lo, 300, 0);
	kn_resolved_add(e.res, "evil.test", &nat64, 300, 0);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &lo, 443, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "127.0.0.1", "loopback");
	assert_reason(&v, "evil.test", NULL);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &lo_mapped, 443, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "127.0.0.1", "loopback");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &nat64, 443, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "loopback", NULL);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &meta, 80, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "169.254.169.254", "cloud metadata");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &priv, 5432, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "10.1.2.3 port 5432", "private");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &v6lo, 443, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "::1", "loopback");
	env_free(&e);
}

static void test_flow_addr_cidr(void **state)
{
	struct flow_env e = env_new(KN_NET_ALLOWLIST);
	kn_flow_verdict v;
	kn_addr a;

	(void) state;
	add(&e.al, "10.0.0.0/9:5432");
	add(&e.al, "192.168.1.0/24");
	add(&e.al, "[2001:db8:8000::]/33:22");
	add(&e.al, "[fd00::1]:8080");
	add(&e.al, "198.51.100.7:9000");

	a = addr("10.127.255.255");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 5432, 0, &v), KN_FLOW_ALLOW);
	assert_reason(&v, "10.127.255.255 port 5432", "10.0.0.0/9");
	assert_string_equal(v.name, "");
	/* the rule's port only */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 443, 0, &v), KN_FLOW_DENY);
	a = addr("10.128.0.0");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 5432, 0, &v), KN_FLOW_DENY);
	/* port 0 in the rule: 443 and 80 */
	a = addr("192.168.1.200");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 443, 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 80, 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 22, 0, &v), KN_FLOW_DENY);
	a = addr("::ffff:192.168.1.1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 443, 0, &v), KN_FLOW_ALLOW);
	a = addr("192.168.2.1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 443, 0, &v), KN_FLOW_DENY);
	/* IPv6 prefix edges */
	a = addr("2001:db8:8000::1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 22, 0, &v), KN_FLOW_ALLOW);
	a = addr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 22, 0, &v), KN_FLOW_ALLOW);
	a = addr("2001:db8:7fff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 22, 0, &v), KN_FLOW_DENY);
	a = addr("fd00::1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 8080, 0, &v), KN_FLOW_ALLOW);
	a = addr("fd00::2");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 8080, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "fd00::2", "private");
	/* a public host by address */
	a = addr("198.51.100.7");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 9000, 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 9001, 0, &v), KN_FLOW_DENY);
	/* an IPv4 rule says nothing of IPv6, and the other way round */
	a = addr("2001:db8::a00:1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 5432, 0, &v), KN_FLOW_DENY);
	env_free(&e);
}

static void test_flow_addr_cidr_extremes(void **state)
{
	struct flow_env e = env_new(KN_NET_ALLOWLIST);
	kn_flow_verdict v;
	kn_addr a;

	(void) state;
	add(&e.al, "::/0");
	add(&e.al, "[2001:db8::5]/128:7");
	a = addr("::1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 443, 0, &v), KN_FLOW_ALLOW);
	a = addr("ff02::1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 80, 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 7, 0, &v), KN_FLOW_DENY);
	a = addr("2001:db8::5");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 7, 0, &v), KN_FLOW_ALLOW);
	a = addr("2001:db8::4");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 7, 0, &v), KN_FLOW_DENY);
	/* ::/0 is IPv6 only */
	a = addr("127.0.0.1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 443, 0, &v), KN_FLOW_DENY);
	kn_allowlist_free(&e.al);
	add(&e.al, "0.0.0.0/0:8080");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 8080, 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 443, 0, &v), KN_FLOW_DENY);
	env_free(&e);
}

static void test_flow_addr_modes(void **state)
{
	struct flow_env e = env_new(KN_NET_OPEN);
	kn_addr pub = addr("198.51.100.1"), named = addr("198.51.100.2"), priv = addr("192.168.0.5");
	kn_flow_verdict v;

	(void) state;
	kn_resolved_add(e.res, "named.test", &named, 300, 0);
	/* open: any public address, any port, with its name when one resolved to it */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &pub, 8080, 0, &v), KN_FLOW_ALLOW);
	assert_string_equal(v.name, "");
	assert_reason(&v, "open", "198.51.100.1");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &pub, 443, 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &named, 443, 0, &v), KN_FLOW_ALLOW);
	assert_string_equal(v.name, "named.test");
	/* private still denied ... */
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &priv, 443, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "192.168.0.5", "private");
	/* ... unless a CIDR rule admits it */
	add(&e.al, "192.168.0.0/16");
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &priv, 443, 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &priv, 22, 0, &v), KN_FLOW_DENY);
	/* none: nothing at all */
	e.al.mode = KN_NET_NONE;
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &priv, 443, 0, &v), KN_FLOW_DENY);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &pub, 443, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "none", NULL);
	env_free(&e);
}

static void test_flow_name(void **state)
{
	struct flow_env e = env_new(KN_NET_ALLOWLIST);
	kn_addr cdn = addr("203.0.113.80"), other = addr("203.0.113.81"), lo = addr("127.0.0.1");
	kn_flow_verdict v;

	(void) state;
	add(&e.al, "good.test");
	add(&e.al, "*.wild.test");
	add(&e.al, "alt.test:8443");
	/* two names on one CDN address, only one allowed */
	kn_resolved_add(e.res, "good.test", &cdn, 60, 0);
	kn_resolved_add(e.res, "bad.test", &cdn, 60, 0);
	kn_resolved_add(e.res, "a.wild.test", &cdn, 60, 0);
	kn_resolved_add(e.res, "alt.test", &cdn, 60, 0);
	kn_resolved_add(e.res, "good.test", &lo, 60, 0);

	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "good.test", 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(v.step, KN_FLOW_ALLOW);
	assert_string_equal(v.name, "good.test");
	assert_reason(&v, "SNI good.test", "203.0.113.80");
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 80, "good.test", 0, &v), KN_FLOW_ALLOW);
	assert_reason(&v, "Host good.test", NULL);
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "a.wild.test", 0, &v), KN_FLOW_ALLOW);
	/* the other name on the same address */
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "bad.test", 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "bad.test", "not allowed on port 443");
	/* allowed but answered elsewhere */
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &other, 443, "good.test", 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "SNI good.test does not resolve to 203.0.113.81", NULL);
	/* allowed by a wildcard but never resolved */
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "b.wild.test", 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "does not resolve", NULL);
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "wild.test", 0, &v), KN_FLOW_DENY);
	/* the name's port */
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "alt.test", 0, &v), KN_FLOW_DENY);
	/* no name at all */
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, NULL, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "no SNI", "203.0.113.80");
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 80, NULL, 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "no Host", NULL);
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "", 0, &v), KN_FLOW_DENY);
	/* the name is compared as given: the sniffers lowercase it */
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "GOOD.test", 0, &v), KN_FLOW_DENY);
	/* expiry at the boundary */
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "good.test", 59999, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "good.test", 60000, &v), KN_FLOW_DENY);
	/* step 2 alone never admits what step 1 refuses */
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &lo, 443, "good.test", 0, &v), KN_FLOW_DENY);
	assert_reason(&v, "127.0.0.1", "loopback");
	/* open mode: any name, but it must still be what the address answers */
	e.al.mode = KN_NET_OPEN;
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "bad.test", 0, &v), KN_FLOW_ALLOW);
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "unknown.test", 0, &v), KN_FLOW_DENY);
	e.al.mode = KN_NET_NONE;
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &cdn, 443, "good.test", 0, &v), KN_FLOW_DENY);
	env_free(&e);
}

static void test_flow_name_cidr_private(void **state)
{
	struct flow_env e = env_new(KN_NET_ALLOWLIST);
	kn_addr priv = addr("10.0.0.5");
	kn_flow_verdict v;

	(void) state;
	add(&e.al, "intranet.test");
	add(&e.al, "10.0.0.0/8");
	kn_resolved_add(e.res, "intranet.test", &priv, 60, 0);
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &priv, 443, "intranet.test", 0, &v), KN_FLOW_ALLOW);
	env_free(&e);
}

static void test_flow_reason_long_name(void **state)
{
	struct flow_env e = env_new(KN_NET_ALLOWLIST);
	kn_addr a = addr("2001:db8:1234:5678:9abc:def0:1234:5678");
	char name[254];
	kn_flow_verdict v;

	(void) state;
	memset(name, 'q', 253);
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	add(&e.al, name);
	kn_resolved_add(e.res, name, &a, 60, 0);
	assert_int_equal(kn_flow_check_addr(&e.al, e.res, &a, 443, 0, &v), KN_FLOW_NEED_NAME);
	assert_string_equal(v.name, name);
	assert_true(strlen(v.reason) < sizeof(v.reason));
	/* the address stays readable even with the longest name */
	assert_reason(&v, "2001:db8:1234:5678:9abc:def0:1234:5678", NULL);
	assert_int_equal(kn_flow_check_name(&e.al, e.res, &a, 443, name, 0, &v), KN_FLOW_ALLOW);
	assert_string_equal(v.name, name);
	assert_reason(&v, "2001:db8:1234:5678:9abc:def0:1234:5678", NULL);
	env_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_names),
		cmocka_unit_test(test_add_wildcards),
		cmocka_unit_test(test_add_name_errors),
		cmocka_unit_test(test_add_port_errors),
		cmocka_unit_test(test_add_cidr_v4),
		cmocka_unit_test(test_add_cidr_v4_errors),
		cmocka_unit_test(test_add_cidr_v6),
		cmocka_unit_test(test_add_cidr_v6_errors),
		cmocka_unit_test(test_defaults_and_free),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_name_allowed_ports),
		cmocka_unit_test(test_name_allowed_wildcards),
		cmocka_unit_test(test_name_allowed_modes),
		cmocka_unit_test(test_addr_parse_format),
		cmocka_unit_test(test_addr_from_sockaddr),
		cmocka_unit_test(test_classify_v4),
		cmocka_unit_test(test_classify_v6),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_resolved_basic),
		cmocka_unit_test(test_resolved_ttl),
		cmocka_unit_test(test_resolved_refresh),
		cmocka_unit_test(test_resolved_bound),
		cmocka_unit_test(test_resolved_many_names_one_address),
		cmocka_unit_test(test_resolved_allowed_name),
		cmocka_unit_test(test_flow_addr_names),
		cmocka_unit_test(test_flow_addr_classes),
		cmocka_unit_test(test_flow_addr_cidr),
		cmocka_unit_test(test_flow_addr_cidr_extremes),
		cmocka_unit_test(test_flow_addr_modes),
		cmocka_unit_test(test_flow_name),
		cmocka_unit_test(test_flow_name_cidr_private),
		cmocka_unit_test(test_flow_reason_long_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
