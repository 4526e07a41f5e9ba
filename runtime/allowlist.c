/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The egress policy and the flow decision.  How a connection is judged:
 *  1. the DNS filter answers only names the rules admit and records each
 *     answer here (kn_resolved_add), with its TTL;
 *  2. at accept, kn_flow_check_addr() looks at the original destination:
 *     CIDR rules first, then the address class (private, loopback, ...
 *     are refused whatever name answered them: DNS rebinding), then the
 *     resolved table;
 *  3. on 443 and 80, kn_flow_check_name() compares the SNI or Host the
 *     client sent with the resolved table, so one allowed name sharing an
 *     address with others (CDNs) does not open them all.
 * Everything is pure: the caller passes the clock and does the I/O.
 */
#include "allowlist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* DESIGN.md: the domains Claude Code cannot work without (login, API, token refresh). */
const char *const kn_allowlist_default_names[] = {
	"api.anthropic.com",
	"claude.ai",
	"claude.com",
	"platform.claude.com",
	NULL,
};

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63

/* ---- names ---- */

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/*
 * name_normalize() - check @s[0..@n) against the name rules and write it
 * lowercased, without one trailing dot, to @out (256 bytes).  A name whose
 * last label is all digits is refused: it is an IPv4 address in some
 * spelling ("127.1", "1.2.3.256"), never a host name (RFC 3696 2).
 * Return: true, or false with @why (@why_cap bytes) saying what is wrong.
 */
static bool name_normalize(const char *s, size_t n, char *out, char *why, size_t why_cap)
{
	size_t label = 0, last = 0;
	bool digits = true;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0) {
		snprintf(why, why_cap, "empty name");
		return false;
	}
	if (n > NAME_MAX_LEN) {
		snprintf(why, why_cap, "name longer than %d characters", NAME_MAX_LEN);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0) {
				snprintf(why, why_cap, "empty label");
				return false;
			}
			label = 0;
			last = i + 1;
			digits = true;
		} else if (name_char_ok(c)) {
			if (++label > LABEL_MAX_LEN) {
				snprintf(why, why_cap, "label '%.*s...' longer than %d characters", 16, s + last,
					 LABEL_MAX_LEN);
				return false;
			}
			if (c < '0' || c > '9')
				digits = false;
		} else if (c == '*') {
			snprintf(why, why_cap, "'*' is only allowed as the whole first label (*.example.com)");
			return false;
		} else if ((unsigned char) c >= 0x20 && (unsigned char) c < 0x7f) {
			snprintf(why, why_cap, "invalid character '%c' (names are letters, digits, '-', '_' and dots)", c);
			return false;
		} else {
			snprintf(why, why_cap, "invalid character 0x%02x (names are letters, digits, '-', '_' and dots)",
				 (unsigned char) c);
			return false;
		}
		out[i] = ascii_lower(c);
	}
	if (label == 0) {
		/* "a..": one trailing dot dropped, the other ends an empty label */
		snprintf(why, why_cap, "empty label");
		return false;
	}
	if (digits) {
		snprintf(why, why_cap, "numeric last label: neither a name nor an IPv4 address");
		return false;
	}
	out[n] = '\0';
	return true;
}

/* ---- addresses ---- */

/* addr_canon() - @a with a v4-mapped IPv6 address turned into IPv4 and unused bytes zeroed (tree keys). */
static kn_addr addr_canon(const kn_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	kn_addr c = { .family = a->family };

	if (a->family == AF_INET6 && memcmp(a->a, mapped, sizeof(mapped)) == 0) {
		c.family = AF_INET;
		memcpy(c.a, a->a + 12, 4);
	} else if (a->family == AF_INET) {
		memcpy(c.a, a->a, 4);
	} else {
		memcpy(c.a, a->a, 16);
	}
	return c;
}

static unsigned addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* prefix_match() - whether the first @prefix bits of @x and @y agree. */
static bool prefix_match(const uint8_t *x, const uint8_t *y, unsigned prefix)
{
	unsigned full = prefix / 8, rem = prefix % 8;

	if (memcmp(x, y, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((x[full] ^ y[full]) & (uint8_t) (0xff << (8 - rem))) == 0;
}

int kn_addr_parse(const char *s, kn_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	memset(a, 0, sizeof(*a));
	return -EINVAL;
}

const char *kn_addr_format(const kn_addr *a, char *buf, size_t cap)
{
	if (cap == 0)
		return buf;
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->a, buf, (socklen_t) (cap > 65535 ? 65535 : cap)))
		snprintf(buf, cap, "?");
	return buf;
}

int kn_addr_from_sockaddr(const struct sockaddr *sa, kn_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		a->family = AF_INET;
		memcpy(a->a, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
		kn_addr raw = { .family = AF_INET6 };

		memcpy(raw.a, &in6->sin6_addr, 16);
		*a = addr_canon(&raw);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/*
 * The IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and
 * later), first match wins, so single addresses come before their blocks.
 */
struct v4_range {
	uint32_t net;
	unsigned len;
	kn_addr_class c;
};

#define V4(a, b, c, d) (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((uint32_t) (c) << 8) | (uint32_t) (d))

static const struct v4_range v4_ranges[] = {
	{ V4(169, 254, 169, 254), 32, KN_ADDR_METADATA },  /* AWS, GCP, Azure, OpenStack ... */
	{ V4(100, 100, 100, 200), 32, KN_ADDR_METADATA },  /* Alibaba Cloud */
	{ V4(255, 255, 255, 255), 32, KN_ADDR_MULTICAST }, /* limited broadcast, RFC 919 */
	{ V4(0, 0, 0, 0), 8, KN_ADDR_UNSPECIFIED },        /* "this network", RFC 791 */
	{ V4(10, 0, 0, 0), 8, KN_ADDR_PRIVATE },           /* RFC 1918 */
	{ V4(100, 64, 0, 0), 10, KN_ADDR_PRIVATE },        /* shared address space (CGNAT), RFC 6598 */
	{ V4(127, 0, 0, 0), 8, KN_ADDR_LOOPBACK },         /* RFC 1122 */
	{ V4(169, 254, 0, 0), 16, KN_ADDR_LINK_LOCAL },    /* RFC 3927 */
	{ V4(172, 16, 0, 0), 12, KN_ADDR_PRIVATE },        /* RFC 1918 */
	{ V4(192, 0, 0, 0), 24, KN_ADDR_RESERVED },        /* IETF protocol assignments, RFC 6890 */
	{ V4(192, 88, 99, 0), 24, KN_ADDR_RESERVED },      /* deprecated 6to4 relay anycast, RFC 7526 */
	{ V4(192, 168, 0, 0), 16, KN_ADDR_PRIVATE },       /* RFC 1918 */
	{ V4(198, 18, 0, 0), 15, KN_ADDR_RESERVED },       /* benchmarking, RFC 2544 */
	{ V4(224, 0, 0, 0), 4, KN_ADDR_MULTICAST },        /* RFC 5771 */
	{ V4(240, 0, 0, 0), 4, KN_ADDR_RESERVED },         /* RFC 1112 */
	/* 192.0.2/24, 198.51.100/24, 203.0.113/24 (documentation, RFC 5737) stay public: the tests use them */
};

static kn_addr_class classify_v4(const uint8_t *b)
{
	uint32_t x = V4(b[0], b[1], b[2], b[3]);

	for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++) {
		uint32_t mask = v4_ranges[i].len ? ~(uint32_t) 0 << (32 - v4_ranges[i].len) : 0;

		if ((x & mask) == v4_ranges[i].net)
			return v4_ranges[i].c;
	}
	return KN_ADDR_PUBLIC;
}

/* IPv6 ranges as eight 16-bit groups, so the table reads like the registry. */
struct v6_range {
	uint16_t g[8];
	unsigned len;
	kn_addr_class c;
};

static const struct v6_range v6_ranges[] = {
	{ { 0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254 }, 128, KN_ADDR_METADATA }, /* AWS IMDS over IPv6 */
	{ { 0x0064, 0xff9b, 0x0001 }, 48, KN_ADDR_PRIVATE },    /* local-use IPv4/IPv6 translation, RFC 8215 */
	{ { 0x0100, 0, 0, 0 }, 64, KN_ADDR_RESERVED },          /* discard-only, RFC 6666 */
	{ { 0x0100, 0, 0, 1 }, 64, KN_ADDR_RESERVED },          /* dummy prefix, RFC 9780 */
	/* inside 2001::/23, the blocks the registry marks globally reachable */
	{ { 0x2001, 0x0001, 0, 0, 0, 0, 0, 1 }, 128, KN_ADDR_PUBLIC }, /* PCP anycast, RFC 7723 */
	{ { 0x2001, 0x0001, 0, 0, 0, 0, 0, 2 }, 128, KN_ADDR_PUBLIC }, /* TURN anycast, RFC 8155 */
	{ { 0x2001, 0x0001, 0, 0, 0, 0, 0, 3 }, 128, KN_ADDR_PUBLIC }, /* DNS-SD SRP anycast, RFC 9665 */
	{ { 0x2001, 0x0003 }, 32, KN_ADDR_PUBLIC },                    /* AMT, RFC 7450 */
	{ { 0x2001, 0x0004, 0x0112 }, 48, KN_ADDR_PUBLIC },            /* AS112-v6, RFC 7535 */
	{ { 0x2001, 0x0020 }, 28, KN_ADDR_PUBLIC },                    /* ORCHIDv2, RFC 7343 */
	{ { 0x2001, 0x0030 }, 28, KN_ADDR_PUBLIC },                    /* DRIP DETs, RFC 9374 */
	/* the rest: Teredo 2001::/32, benchmarking 2001:2::/48, deprecated ORCHID ... */
	{ { 0x2001, 0x0000 }, 23, KN_ADDR_RESERVED },                  /* IETF protocol assignments, RFC 2928 */
	{ { 0x3fff, 0x0000 }, 20, KN_ADDR_RESERVED },                  /* documentation, RFC 9637 (not the tests') */
	{ { 0x5f00 }, 16, KN_ADDR_RESERVED },                          /* SRv6 SIDs, RFC 9602 */
	{ { 0x2000 }, 3, KN_ADDR_PUBLIC },                             /* global unicast (2001:db8::/32 too) */
	{ { 0xfc00 }, 7, KN_ADDR_PRIVATE },                            /* unique local, RFC 4193 */
	{ { 0xfe80 }, 10, KN_ADDR_LINK_LOCAL },                        /* RFC 4291 */
	{ { 0xfec0 }, 10, KN_ADDR_PRIVATE },                           /* deprecated site-local, RFC 3879 */
	{ { 0xff00 }, 8, KN_ADDR_MULTICAST },                          /* RFC 4291 */
	/* everything else is "Reserved by IETF" in the IPv6 Address Space registry */
};

static kn_addr_class classify_v6(const uint8_t *b)
{
	static const uint8_t zero12[12];
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };

	if (memcmp(b, zero12, 12) == 0) {
		/* ::/128 and ::1/128, then IPv4-compatible ::a.b.c.d (RFC 4291 2.5.5.1) */
		if (b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1)
			return b[15] == 0 ? KN_ADDR_UNSPECIFIED : KN_ADDR_LOOPBACK;
		return classify_v4(b + 12);
	}
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) /* RFC 4291 2.5.5.2, RFC 6052 */
		return classify_v4(b + 12);
	if (b[0] == 0x20 && b[1] == 0x02) {
		/* 6to4 (RFC 3056) carries an IPv4 address in bits 16-47: refuse what that one would be refused */
		kn_addr_class c = classify_v4(b + 2);

		if (c != KN_ADDR_PUBLIC)
			return c;
	}
	for (size_t i = 0; i < sizeof(v6_ranges) / sizeof(v6_ranges[0]); i++) {
		uint8_t net[16];

		for (size_t j = 0; j < 8; j++) {
			net[2 * j] = (uint8_t) (v6_ranges[i].g[j] >> 8);
			net[2 * j + 1] = (uint8_t) v6_ranges[i].g[j];
		}
		if (prefix_match(net, b, v6_ranges[i].len))
			return v6_ranges[i].c;
	}
	return KN_ADDR_RESERVED;
}

kn_addr_class kn_addr_classify(const kn_addr *a)
{
	if (a->family == AF_INET)
		return classify_v4(a->a);
	if (a->family == AF_INET6)
		return classify_v6(a->a);
	return KN_ADDR_RESERVED; /* not an address we know: never public */
}

const char *kn_addr_class_name(kn_addr_class c)
{
	switch (c) {
	case KN_ADDR_PUBLIC:
		return "public";
	case KN_ADDR_UNSPECIFIED:
		return "unspecified";
	case KN_ADDR_LOOPBACK:
		return "loopback";
	case KN_ADDR_PRIVATE:
		return "private";
	case KN_ADDR_LINK_LOCAL:
		return "link-local";
	case KN_ADDR_METADATA:
		return "cloud metadata";
	case KN_ADDR_MULTICAST:
		return "multicast";
	case KN_ADDR_RESERVED:
		return "reserved";
	}
	return "unknown";
}

/* ---- rules ---- */

/* port_parse() - "1".."65535", decimal digits only. */
static bool port_parse(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long) (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = (uint16_t) v;
	return true;
}

/* prefix_parse() - a prefix length 0..@max, decimal digits only. */
static bool prefix_parse(const char *s, size_t n, unsigned max, unsigned *prefix)
{
	unsigned v = 0;

	if (n == 0 || n > 3)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned) (s[i] - '0');
	}
	if (v > max)
		return false;
	*prefix = v;
	return true;
}

static int rule_error(kn_error *err, const char *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int rule_error(kn_error *err, const char *arg, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return kn_error_setx(err, EINVAL, "--allow '%.300s': %s", arg, why);
}

static void rule_append(kn_allowlist *al, const kn_allow_rule *rule)
{
	al->rules = kn_xrealloc(al->rules, (al->n_rules + 1) * sizeof(*al->rules));
	al->rules[al->n_rules++] = *rule;
}

/*
 * cidr_finish() - parse the address @s[0..@n) of @family with the prefix
 * text @p[0..@pn) (@p NULL: a single host), check the host bits and append.
 */
static int cidr_finish(kn_allowlist *al, const char *arg, int family, const char *s, size_t n, const char *p, size_t pn,
		       uint16_t port, kn_error *err)
{
	char text[INET6_ADDRSTRLEN + 1], shown[INET6_ADDRSTRLEN];
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	kn_allow_rule rule = { .port = port };
	kn_addr masked;
	unsigned prefix = addr_bits(family);

	if (n == 0 || n >= sizeof(text))
		return rule_error(err, arg, "'%.*s' is not an %s address", (int) (n > 64 ? 64 : n), s, fam);
	memcpy(text, s, n);
	text[n] = '\0';
	rule.net.family = family;
	if (inet_pton(family, text, rule.net.a) != 1)
		return rule_error(err, arg, "'%s' is not an %s address", text, fam);
	if (p && !prefix_parse(p, pn, addr_bits(family), &prefix))
		return rule_error(err, arg, "prefix length '%.*s' is not a number from 0 to %u", (int) (pn > 16 ? 16 : pn),
				  p, addr_bits(family));
	masked = rule.net;
	for (unsigned bit = prefix; bit < addr_bits(family); bit++)
		masked.a[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	if (memcmp(masked.a, rule.net.a, sizeof(masked.a)) != 0)
		return rule_error(err, arg, "host bits set after /%u (the network is %s/%u)", prefix,
				  kn_addr_format(&masked, shown, sizeof(shown)), prefix);
	/* destinations arrive v4-mapped-free (kn_addr_from_sockaddr), so ::ffff:a.b.c.d/N is an IPv4 rule */
	if (family == AF_INET6 && prefix >= 96) {
		kn_addr c = addr_canon(&rule.net);

		if (c.family == AF_INET) {
			rule.net = c;
			prefix -= 96;
		}
	}
	rule.prefix = prefix;
	rule_append(al, &rule);
	return 0;
}

/* "[V6]", "[V6]/N", "[V6/N]", each with an optional ":PORT" */
static int parse_bracketed(kn_allowlist *al, const char *arg, kn_error *err)
{
	const char *close = strchr(arg, ']'), *inner = arg + 1, *slash, *rest, *p = NULL;
	size_t inner_n, pn = 0;
	uint16_t port = 0;

	if (!close)
		return rule_error(err, arg, "missing ']' after the IPv6 address");
	inner_n = (size_t) (close - inner);
	slash = memchr(inner, '/', inner_n);
	if (slash) {
		p = slash + 1;
		pn = (size_t) (close - p);
		inner_n = (size_t) (slash - inner);
	}
	rest = close + 1;
	if (*rest == '/') {
		if (p)
			return rule_error(err, arg, "two prefix lengths");
		p = rest + 1;
		pn = strcspn(p, ":");
		rest = p + pn;
	}
	if (*rest == ':') {
		if (!port_parse(rest + 1, strlen(rest + 1), &port))
			return rule_error(err, arg, "port '%.16s' is not a number from 1 to 65535", rest + 1);
	} else if (*rest) {
		return rule_error(err, arg, "unexpected '%.32s' after ']' (expected ':PORT')", rest);
	}
	return cidr_finish(al, arg, AF_INET6, inner, inner_n, p, pn, port, err);
}

static int parse_name(kn_allowlist *al, const char *arg, const char *s, size_t n, uint16_t port, kn_error *err)
{
	kn_allow_rule rule = { .port = port };
	char out[NAME_MAX_LEN + 2], why[160];

	if (n >= 1 && s[0] == '*') {
		if (n == 1)
			return rule_error(err, arg, "'*' alone is not a rule (open mode admits every name)");
		if (s[1] != '.')
			return rule_error(err, arg, "'*' is only allowed as the whole first label (*.example.com)");
		rule.wildcard = true;
		s += 2;
		n -= 2;
	}
	if (!name_normalize(s, n, out, why, sizeof(why)))
		return rule_error(err, arg, "%s", why);
	if (rule.wildcard && !strchr(out, '.'))
		return rule_error(err, arg, "a wildcard needs a domain of two labels or more (*.example.com, not *.com)");
	rule.name = kn_xstrdup(out);
	rule_append(al, &rule);
	return 0;
}

int kn_allowlist_add(kn_allowlist *al, const char *arg, kn_error *err)
{
	const char *colon, *slash;
	size_t host_n;
	uint16_t port = 0;
	bool v4_text = true, has_digit = false;

	if (!arg || !*arg)
		return kn_error_setx(err, EINVAL, "--allow '': empty argument");
	if (arg[0] == '[')
		return parse_bracketed(al, arg, err);
	colon = strchr(arg, ':');
	if (colon && strchr(colon + 1, ':')) {
		/* two colons or more: a bare IPv6 address or CIDR, which cannot carry a port */
		slash = strchr(arg, '/');
		if (slash && strchr(slash, ':'))
			return rule_error(err, arg, "an IPv6 rule with a port needs brackets ([2001:db8::]/32:443)");
		if (slash)
			return cidr_finish(al, arg, AF_INET6, arg, (size_t) (slash - arg), slash + 1, strlen(slash + 1),
					   0, err);
		return cidr_finish(al, arg, AF_INET6, arg, strlen(arg), NULL, 0, 0, err);
	}
	host_n = colon ? (size_t) (colon - arg) : strlen(arg);
	if (colon && !port_parse(colon + 1, strlen(colon + 1), &port))
		return rule_error(err, arg, "port '%.16s' is not a number from 1 to 65535", colon + 1);
	slash = memchr(arg, '/', host_n);
	if (slash)
		return cidr_finish(al, arg, AF_INET, arg, (size_t) (slash - arg), slash + 1,
				   host_n - (size_t) (slash - arg) - 1, port, err);
	/* only digits and dots: meant as an IPv4 address, so say so when it is not one */
	for (size_t i = 0; i < host_n; i++) {
		if (arg[i] >= '0' && arg[i] <= '9')
			has_digit = true;
		else if (arg[i] != '.')
			v4_text = false;
	}
	if (v4_text && has_digit && memchr(arg, '.', host_n))
		return cidr_finish(al, arg, AF_INET, arg, host_n, NULL, 0, port, err);
	return parse_name(al, arg, arg, host_n, port, err);
}

void kn_allowlist_add_defaults(kn_allowlist *al)
{
	for (size_t i = 0; kn_allowlist_default_names[i]; i++) {
		kn_allow_rule rule = { .name = kn_xstrdup(kn_allowlist_default_names[i]) };

		rule_append(al, &rule);
	}
}

void kn_allowlist_free(kn_allowlist *al)
{
	if (!al)
		return;
	for (size_t i = 0; i < al->n_rules; i++)
		free(al->rules[i].name);
	free(al->rules);
	al->rules = NULL;
	al->n_rules = 0;
}

size_t kn_allowlist_ports(const kn_allowlist *al, uint16_t *out, size_t cap)
{
	uint64_t seen[65536 / 64] = { 0 };
	size_t n = 0;

	seen[80 / 64] |= 1ULL << (80 % 64);
	seen[443 / 64] |= 1ULL << (443 % 64);
	for (size_t i = 0; i < al->n_rules; i++)
		if (al->rules[i].port)
			seen[al->rules[i].port / 64] |= 1ULL << (al->rules[i].port % 64);
	for (unsigned p = 1; p < 65536; p++) {
		if (!(seen[p / 64] & (1ULL << (p % 64))))
			continue;
		if (n < cap)
			out[n] = (uint16_t) p;
		n++;
	}
	return n;
}

/* port_admits() - a rule's port against a wanted one (0: any). Rule port 0 is the pair 443 and 80. */
static bool port_admits(uint16_t rule_port, uint16_t port)
{
	if (port == 0)
		return true;
	if (rule_port == 0)
		return port == 443 || port == 80;
	return rule_port == port;
}

static bool rule_matches_name(const kn_allow_rule *r, const char *name, size_t n)
{
	size_t rn;

	if (!r->name)
		return false;
	if (!r->wildcard)
		return strcmp(r->name, name) == 0;
	/* strict subdomains only: "x.example.com" and "a.b.example.com", not "example.com" nor "xexample.com" */
	rn = strlen(r->name);
	return n > rn + 1 && name[n - rn - 1] == '.' && strcmp(name + n - rn, r->name) == 0;
}

bool kn_allowlist_name_allowed(const kn_allowlist *al, const char *name, uint16_t port)
{
	size_t n;

	if (!al || !name || !*name || al->mode == KN_NET_NONE)
		return false;
	if (al->mode == KN_NET_OPEN)
		return true;
	n = strlen(name);
	for (size_t i = 0; i < al->n_rules; i++)
		if (port_admits(al->rules[i].port, port) && rule_matches_name(&al->rules[i], name, n))
			return true;
	return false;
}

/* cidr_rule_for() - the first CIDR rule containing @dst (canonical) that admits @port, or NULL. */
static const kn_allow_rule *cidr_rule_for(const kn_allowlist *al, const kn_addr *dst, uint16_t port)
{
	for (size_t i = 0; i < al->n_rules; i++) {
		const kn_allow_rule *r = &al->rules[i];

		if (r->name || r->net.family != dst->family || !port_admits(r->port, port))
			continue;
		if (prefix_match(r->net.a, dst->a, r->prefix))
			return r;
	}
	return NULL;
}

/* ---- the resolved table ---- */

/*
 * An ordered tree (glibc tsearch, a red-black tree) of addresses, each
 * with the list of names that resolved to it: lookups by address are
 * O(log n) whatever the addresses are (a hash would let a hostile DNS
 * server in open mode pick colliding answers).  A binary min-heap on the
 * expiry time finds what to drop first.
 */
struct res_addr;

struct res_entry {
	struct res_entry *next, *prev; /* the other names of the same address */
	struct res_addr *owner;
	size_t heap_pos;
	uint64_t expires; /* ms; live while now < expires */
	char name[];
};

struct res_addr {
	kn_addr addr; /* canonical */
	struct res_entry *names;
};

struct kn_resolved {
	void *root;
	struct res_entry **heap;
	size_t n, cap;
};

static int res_addr_cmp(const void *x, const void *y)
{
	const struct res_addr *p = x, *q = y;

	if (p->addr.family != q->addr.family)
		return p->addr.family < q->addr.family ? -1 : 1;
	return memcmp(p->addr.a, q->addr.a, sizeof(p->addr.a));
}

kn_resolved *kn_resolved_new(void)
{
	return calloc(1, sizeof(kn_resolved));
}

void kn_resolved_free(kn_resolved *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->heap[i]);
	tdestroy(r->root, free);
	free(r->heap);
	free(r);
}

static void heap_swap(kn_resolved *r, size_t i, size_t j)
{
	struct res_entry *t = r->heap[i];

	r->heap[i] = r->heap[j];
	r->heap[j] = t;
	r->heap[i]->heap_pos = i;
	r->heap[j]->heap_pos = j;
}

static void heap_up(kn_resolved *r, size_t i)
{
	while (i > 0 && r->heap[(i - 1) / 2]->expires > r->heap[i]->expires) {
		heap_swap(r, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(kn_resolved *r, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, s = i;

		if (l < r->n && r->heap[l]->expires < r->heap[s]->expires)
			s = l;
		if (l + 1 < r->n && r->heap[l + 1]->expires < r->heap[s]->expires)
			s = l + 1;
		if (s == i)
			return;
		heap_swap(r, i, s);
		i = s;
	}
}

/* res_remove() - drop @e from the heap, its address's list, and the tree when it was the last name. */
static void res_remove(kn_resolved *r, struct res_entry *e)
{
	size_t i = e->heap_pos;
	struct res_addr *owner = e->owner;

	r->n--;
	if (i != r->n) {
		r->heap[i] = r->heap[r->n];
		r->heap[i]->heap_pos = i;
		heap_down(r, i);
		heap_up(r, i);
	}
	if (e->prev)
		e->prev->next = e->next;
	else
		owner->names = e->next;
	if (e->next)
		e->next->prev = e->prev;
	if (!owner->names) {
		tdelete(owner, &r->root, res_addr_cmp);
		free(owner);
	}
	free(e);
}

static struct res_addr *res_find(const kn_resolved *r, const kn_addr *canon)
{
	struct res_addr key = { .addr = *canon };
	struct res_addr *const *found = tfind(&key, &r->root, res_addr_cmp);

	return found ? *found : NULL;
}

void kn_resolved_add(kn_resolved *r, const char *name, const kn_addr *a, uint32_t ttl, uint64_t now_ms)
{
	kn_addr canon;
	struct res_addr *owner;
	struct res_entry *e;
	size_t n;
	uint64_t expires;

	if (!r || !name || !a || (a->family != AF_INET && a->family != AF_INET6))
		return;
	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_MAX_LEN)
		return;
	canon = addr_canon(a);
	if (ttl < KN_RESOLVED_MIN_TTL)
		ttl = KN_RESOLVED_MIN_TTL;
	if (ttl > KN_RESOLVED_MAX_TTL)
		ttl = KN_RESOLVED_MAX_TTL;
	expires = now_ms > UINT64_MAX - (uint64_t) ttl * 1000 ? UINT64_MAX : now_ms + (uint64_t) ttl * 1000;

	/* what has expired takes no room */
	while (r->n > 0 && r->heap[0]->expires <= now_ms)
		res_remove(r, r->heap[0]);

	owner = res_find(r, &canon);
	if (owner) {
		for (e = owner->names; e; e = e->next) {
			if (strlen(e->name) == n && strncasecmp(e->name, name, n) == 0) {
				/* a refresh never shortens: clients may still hold the earlier answer */
				if (expires > e->expires) {
					e->expires = expires;
					heap_down(r, e->heap_pos);
				}
				return;
			}
		}
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct res_entry **grown;

		if (cap > KN_RESOLVED_MAX_ENTRIES + 1)
			cap = KN_RESOLVED_MAX_ENTRIES + 1;
		grown = realloc(r->heap, cap * sizeof(*grown));
		if (!grown)
			return; /* not recorded: the flow is denied, which is the safe side */
		r->heap = grown;
		r->cap = cap;
	}
	e = calloc(1, sizeof(*e) + n + 1);
	if (!e)
		return;
	for (size_t i = 0; i < n; i++)
		e->name[i] = ascii_lower(name[i]);
	e->expires = expires;
	if (!owner) {
		owner = calloc(1, sizeof(*owner));
		if (owner)
			owner->addr = canon;
		if (!owner || !tsearch(owner, &r->root, res_addr_cmp)) {
			free(owner);
			free(e);
			return;
		}
	}
	e->owner = owner;
	e->next = owner->names;
	if (e->next)
		e->next->prev = e;
	owner->names = e;
	e->heap_pos = r->n;
	r->heap[r->n++] = e;
	heap_up(r, e->heap_pos);
	if (r->n > KN_RESOLVED_MAX_ENTRIES)
		res_remove(r, r->heap[0]);
}

bool kn_resolved_has(const kn_resolved *r, const char *name, const kn_addr *a, uint64_t now_ms)
{
	kn_addr canon;
	const struct res_addr *owner;

	if (!r || !name || !a)
		return false;
	canon = addr_canon(a);
	owner = res_find(r, &canon);
	for (const struct res_entry *e = owner ? owner->names : NULL; e; e = e->next)
		if (now_ms < e->expires && strcmp(e->name, name) == 0)
			return true;
	return false;
}

const char *kn_resolved_allowed_name(const kn_resolved *r, const kn_allowlist *al, const kn_addr *a, uint16_t port,
				     uint64_t now_ms)
{
	kn_addr canon;
	const struct res_addr *owner;

	if (!r || !al || !a)
		return NULL;
	canon = addr_canon(a);
	owner = res_find(r, &canon);
	for (const struct res_entry *e = owner ? owner->names : NULL; e; e = e->next)
		if (now_ms < e->expires && kn_allowlist_name_allowed(al, e->name, port))
			return e->name;
	return NULL;
}

/* ---- the flow decision ---- */

static kn_flow_step verdict(kn_flow_verdict *v, kn_flow_step step, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static kn_flow_step verdict(kn_flow_verdict *v, kn_flow_step step, const char *name, const char *fmt, ...)
{
	va_list ap;

	v->step = step;
	snprintf(v->name, sizeof(v->name), "%s", name ? name : "");
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	return step;
}

/* What the client names the host by, on this port, for messages. */
static const char *name_kind(uint16_t port)
{
	return port == 443 ? "SNI" : port == 80 ? "Host" : "name";
}

kn_flow_step kn_flow_check_addr(const kn_allowlist *al, const kn_resolved *res, const kn_addr *dst, uint16_t port,
				uint64_t now_ms, kn_flow_verdict *v)
{
	char text[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
	kn_addr d = addr_canon(dst);
	const kn_allow_rule *rule;
	kn_addr_class c;
	const char *name;

	kn_addr_format(&d, text, sizeof(text));
	if (al->mode == KN_NET_NONE)
		return verdict(v, KN_FLOW_DENY, NULL, "network mode none: %s port %u refused", text, port);
	if (port == 0 || (d.family != AF_INET && d.family != AF_INET6))
		return verdict(v, KN_FLOW_DENY, NULL, "%s port %u: not a destination", text, port);
	rule = cidr_rule_for(al, &d, port);
	if (rule) {
		kn_addr_format(&rule->net, net, sizeof(net));
		if (rule->port)
			return verdict(v, KN_FLOW_ALLOW, NULL, "%s port %u is in the allowed network %s/%u port %u", text,
				       port, net, rule->prefix, rule->port);
		return verdict(v, KN_FLOW_ALLOW, NULL, "%s port %u is in the allowed network %s/%u", text, port, net,
			       rule->prefix);
	}
	c = kn_addr_classify(&d);
	if (c != KN_ADDR_PUBLIC) {
		name = kn_resolved_allowed_name(res, al, &d, 0, now_ms);
		if (name)
			return verdict(v, KN_FLOW_DENY, name, "%s is a %s address: denied (an answer for %.80s)", text,
				       kn_addr_class_name(c), name);
		return verdict(v, KN_FLOW_DENY, NULL, "%s port %u is a %s address: denied without a CIDR rule", text,
			       port, kn_addr_class_name(c));
	}
	if (al->mode == KN_NET_OPEN) {
		name = kn_resolved_allowed_name(res, al, &d, 0, now_ms);
		return verdict(v, KN_FLOW_ALLOW, name, "open mode: %s port %u is public", text, port);
	}
	name = kn_resolved_allowed_name(res, al, &d, port, now_ms);
	if (port == 443 || port == 80) {
		if (name)
			return verdict(v, KN_FLOW_NEED_NAME, name, "%s port %u: checking the %s (an answer for %.80s)",
				       text, port, name_kind(port), name);
		return verdict(v, KN_FLOW_DENY, NULL, "no allowed name resolved to %s (port %u)", text, port);
	}
	if (name)
		return verdict(v, KN_FLOW_ALLOW, name, "%s port %u: an answer for %.80s, allowed on that port", text,
			       port, name);
	return verdict(v, KN_FLOW_DENY, NULL, "no name allowed on port %u resolved to %s", port, text);
}

kn_flow_step kn_flow_check_name(const kn_allowlist *al, const kn_resolved *res, const kn_addr *dst, uint16_t port,
				const char *name, uint64_t now_ms, kn_flow_verdict *v)
{
	char text[INET6_ADDRSTRLEN];
	kn_addr d = addr_canon(dst);
	kn_addr_class c;

	kn_addr_format(&d, text, sizeof(text));
	if (al->mode == KN_NET_NONE)
		return verdict(v, KN_FLOW_DENY, NULL, "network mode none: %s port %u refused", text, port);
	if (!name || !*name)
		return verdict(v, KN_FLOW_DENY, NULL, "no %s in the first bytes sent to %s port %u", name_kind(port),
			       text, port);
	/* step 1 already refused these; checked again so this step alone never admits them */
	c = kn_addr_classify(&d);
	if (c != KN_ADDR_PUBLIC && !cidr_rule_for(al, &d, port))
		return verdict(v, KN_FLOW_DENY, name, "%s is a %s address: denied", text, kn_addr_class_name(c));
	if (!kn_allowlist_name_allowed(al, name, port))
		return verdict(v, KN_FLOW_DENY, name, "%s %.80s is not allowed on port %u (to %s)", name_kind(port),
			       name, port, text);
	if (!kn_resolved_has(res, name, &d, now_ms))
		return verdict(v, KN_FLOW_DENY, name, "%s %.80s does not resolve to %s (port %u)", name_kind(port), name,
			       text, port);
	return verdict(v, KN_FLOW_ALLOW, name, "%s %.80s resolves to %s (port %u)", name_kind(port), name, text, port);
}
