/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading the host name a client asks for from its first bytes.
 *
 * Both parsers see the bytes received so far and answer NEED_MORE only
 * while those bytes can still begin a valid message: each length field is
 * checked against its enclosing one as soon as it is read, so a hostile
 * client cannot make the gateway wait for data that could never be valid.
 * A result other than NEED_MORE does not change when more bytes arrive.
 *
 * TLS: the ClientHello (RFC 8446 4.1.2) is reassembled from the fragments
 * of consecutive handshake records (RFC 8446 5.1) into one buffer, then
 * parsed field by field; FOUND/NONE only once it is complete, so a second
 * server_name extension later in the message is still seen.
 * HTTP: the request line and header lines (RFC 9112 2-5), CRLF only, up to
 * the empty line that ends the header section.
 */
#include "sniff.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

/* How a parse step ends: go on, wait for more bytes, or refuse. */
typedef enum pstat {
	P_OK = 0,
	P_NEED,
	P_BAD,
} pstat;

#define TRY(expr)                                                                                                      \
	do {                                                                                                           \
		pstat try_ = (expr);                                                                                   \
		if (try_ != P_OK)                                                                                      \
			return try_;                                                                                   \
	} while (0)

#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63

/* ---- names ---- */

static bool name_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * name_check() - @s[0..@n) against the name rules of allowlist.h: labels
 * of 1-63 [A-Za-z0-9-_], at most 253 characters after one trailing dot is
 * dropped.  When @complete is false more characters may follow, and the
 * question is whether some continuation is valid.  When @complete, the
 * name is written to @out (>= 254 bytes) lowercased without the trailing
 * dot, and *@numeric says whether its last label is all digits (an IPv4
 * address in some spelling, never a host name: RFC 3696 2).
 */
static pstat name_check(const uint8_t *s, size_t n, bool complete, char *out, bool *numeric)
{
	size_t label = 0;
	bool digits = true;

	if (complete && n > 0 && s[n - 1] == '.')
		n--;
	if (complete && n == 0)
		return P_BAD;
	/* a prefix may be 254 long when its last character is the trailing dot */
	if (n > NAME_MAX_LEN + (complete ? 0 : 1) || (n == NAME_MAX_LEN + 1 && s[NAME_MAX_LEN] != '.'))
		return P_BAD;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return P_BAD;
			label = 0;
			digits = true;
		} else if (name_char_ok(s[i])) {
			if (++label > LABEL_MAX_LEN)
				return P_BAD;
			if (s[i] < '0' || s[i] > '9')
				digits = false;
		} else {
			return P_BAD;
		}
	}
	if (!complete)
		return P_OK;
	if (label == 0) /* "a..": the second dot ends an empty label */
		return P_BAD;
	for (size_t i = 0; i < n; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char) (s[i] - 'A' + 'a') : (char) s[i];
	out[n] = '\0';
	*numeric = digits;
	return P_OK;
}


/* ---- TLS ---- */

#define TLS_CONTENT_HANDSHAKE 22
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_RECORD_MAX 16384 /* 2^14, RFC 8446 5.1 */
#define TLS_EXT_SERVER_NAME 0
#define SNI_HOST_NAME 0

/*
 * A cursor over the ClientHello body: @end is where the enclosing
 * structure ends by its declared length, @avail how many bytes have
 * arrived.  Reading past @end is malformed; past @avail, too early.
 */
struct cur {
	const uint8_t *p;
	size_t off, end, avail;
};

static pstat cur_need(const struct cur *c, size_t n)
{
	if (n > c->end - c->off)
		return P_BAD;
	if (c->off + n > c->avail)
		return P_NEED;
	return P_OK;
}

static pstat cur_skip(struct cur *c, size_t n)
{
	TRY(cur_need(c, n));
	c->off += n;
	return P_OK;
}

static pstat cur_u8(struct cur *c, size_t *v)
{
	TRY(cur_need(c, 1));
	*v = c->p[c->off];
	c->off += 1;
	return P_OK;
}

static pstat cur_u16(struct cur *c, size_t *v)
{
	TRY(cur_need(c, 2));
	*v = (size_t) c->p[c->off] << 8 | c->p[c->off + 1];
	c->off += 2;
	return P_OK;
}

/* cur_sub() - a cursor over the next @n bytes, which must lie inside @c. */
static pstat cur_sub(const struct cur *c, size_t n, struct cur *sub)
{
	if (n > c->end - c->off)
		return P_BAD;
	*sub = *c;
	sub->end = c->off + n;
	return P_OK;
}

/*
 * parse_server_name() - the ServerNameList (RFC 6066 3): entries of
 * name_type and a non-empty opaque name.  Entries of other types are
 * skipped (their layout is the same); two host_name entries are refused.
 */
static pstat parse_server_name(struct cur *c, char *out, bool *found)
{
	size_t list_len;

	TRY(cur_u16(c, &list_len));
	if (list_len == 0 || list_len != c->end - c->off)
		return P_BAD;
	while (c->off < c->end) {
		size_t type, len, have;
		bool numeric = false;

		TRY(cur_u8(c, &type));
		TRY(cur_u16(c, &len));
		if (len == 0 || len > c->end - c->off)
			return P_BAD;
		if (type != SNI_HOST_NAME) {
			TRY(cur_skip(c, len));
			continue;
		}
		if (*found)
			return P_BAD; /* "MUST NOT contain more than one name of the same name_type" */
		have = c->avail - c->off < len ? c->avail - c->off : len;
		if (name_check(c->p + c->off, have, have == len, out, &numeric) != P_OK)
			return P_BAD;
		TRY(cur_skip(c, len));
		if (numeric)
			return P_BAD; /* an IP literal is not allowed in SNI (RFC 6066 3) */
		*found = true;
	}
	return P_OK;
}

/* parse_client_hello() - the body of a ClientHello (RFC 8446 4.1.2), possibly still incomplete. */
static pstat parse_client_hello(struct cur *c, char *out, bool *found)
{
	uint8_t seen[65536 / 8] = { 0 };
	size_t version, len, ext_len;

	TRY(cur_u16(c, &version));
	if (version < 0x0301 || version > 0x0304)
		return P_BAD;
	TRY(cur_skip(c, 32)); /* random */
	TRY(cur_u8(c, &len)); /* legacy_session_id<0..32> */
	if (len > 32)
		return P_BAD;
	TRY(cur_skip(c, len));
	TRY(cur_u16(c, &len)); /* cipher_suites<2..2^16-2>, two bytes each */
	if (len < 2 || len % 2)
		return P_BAD;
	TRY(cur_skip(c, len));
	TRY(cur_u8(c, &len)); /* legacy_compression_methods<1..2^8-1> */
	if (len < 1)
		return P_BAD;
	TRY(cur_skip(c, len));
	if (c->off == c->end)
		return P_OK; /* no extensions (TLS 1.2 and older may omit them) */
	TRY(cur_u16(c, &ext_len));
	if (ext_len != c->end - c->off)
		return P_BAD;
	while (c->off < c->end) {
		size_t type;
		struct cur sub;

		TRY(cur_u16(c, &type));
		TRY(cur_u16(c, &len));
		TRY(cur_sub(c, len, &sub));
		/* RFC 8446 4.2: no two extensions of the same type */
		if (seen[type / 8] & (1u << (type % 8)))
			return P_BAD;
		seen[type / 8] |= (uint8_t) (1u << (type % 8));
		if (type == TLS_EXT_SERVER_NAME)
			TRY(parse_server_name(&sub, out, found));
		TRY(cur_skip(c, len));
	}
	return P_OK;
}

kn_sniff_result kn_sniff_tls_sni(const uint8_t *buf, size_t len, char *name, size_t cap)
{
	uint8_t hs[KN_SNIFF_MAX];
	char found_name[NAME_MAX_LEN + 2];
	size_t hslen = 0, off = 0, msg_total = 0;
	bool complete = false, found = false;
	struct cur c;
	pstat s;

	if (!name || cap < 256)
		return KN_SNIFF_INVALID;
	name[0] = '\0';
	if (len > KN_SNIFF_MAX)
		len = KN_SNIFF_MAX; /* the gateway never holds more: what is not done by then never will be */

	while (!complete && off < len) {
		size_t rlen, take, rec_start;

		/* record header (RFC 8446 5.1): each byte checked as soon as it is there */
		if (buf[off] != TLS_CONTENT_HANDSHAKE)
			return KN_SNIFF_INVALID;
		if (off + 1 < len && buf[off + 1] != 3)
			return KN_SNIFF_INVALID;
		if (off + 2 < len && (buf[off + 2] < 1 || buf[off + 2] > 4))
			return KN_SNIFF_INVALID;
		if (off + 3 < len && buf[off + 3] > (TLS_RECORD_MAX >> 8))
			return KN_SNIFF_INVALID;
		if (off + 5 > len)
			break;
		rlen = (size_t) buf[off + 3] << 8 | buf[off + 4];
		if (rlen == 0 || rlen > TLS_RECORD_MAX)
			return KN_SNIFF_INVALID; /* zero-length handshake fragments are forbidden */
		rec_start = hslen;
		take = len - off - 5 < rlen ? len - off - 5 : rlen;
		/* hslen + take <= len - 5 per record: always inside hs */
		memcpy(hs + hslen, buf + off + 5, take);
		hslen += take;
		if (hslen > 0 && hs[0] != TLS_HANDSHAKE_CLIENT_HELLO)
			return KN_SNIFF_INVALID;
		if (!msg_total && hslen >= 4)
			msg_total = 4 + ((size_t) hs[1] << 16 | (size_t) hs[2] << 8 | hs[3]);
		if (msg_total) {
			/* the first flight is the ClientHello alone: no record may run past its end */
			if (rec_start + rlen > msg_total)
				return KN_SNIFF_INVALID;
			/* the least the whole message needs, with one more record header if this one is not the last */
			if (off + 5 + (msg_total - rec_start) + (rec_start + rlen < msg_total ? 5 : 0) > KN_SNIFF_MAX)
				return KN_SNIFF_INVALID;
		}
		if (take < rlen)
			break;
		off += 5 + rlen;
		complete = msg_total && hslen == msg_total;
	}

	if (hslen >= 4) {
		c = (struct cur) { .p = hs + 4, .off = 0, .end = msg_total - 4, .avail = hslen - 4 };
		s = parse_client_hello(&c, found_name, &found);
		if (s == P_BAD || (complete && s != P_OK))
			return KN_SNIFF_INVALID;
	}
	if (!complete)
		return len >= KN_SNIFF_MAX ? KN_SNIFF_INVALID : KN_SNIFF_NEED_MORE;
	if (!found)
		return KN_SNIFF_NONE;
	memcpy(name, found_name, strlen(found_name) + 1); /* at most 254 bytes, and cap >= 256 */
	return KN_SNIFF_FOUND;
}

/* ---- HTTP ---- */

/* tchar (RFC 9110 5.6.2): the characters of methods and field names */
static bool tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool vchar(uint8_t c)
{
	return c >= 0x21 && c <= 0x7e;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* port_check() - the digits after "host:", at most 65535. */
static pstat port_check(const uint8_t *s, size_t n)
{
	unsigned long v = 0;

	if (n > 5)
		return P_BAD;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return P_BAD;
		v = v * 10 + (unsigned long) (s[i] - '0');
	}
	return v > 65535 ? P_BAD : P_OK;
}

static bool v6_char(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/*
 * hostport_check() - "host[:port]" (RFC 9110 7.2 / RFC 3986 3.2.2): a
 * bracketed IPv6 literal, an IPv4 address or a name.  When @complete the
 * host goes to @out: lowercase, no brackets, no port, no trailing dot.
 * Otherwise @s may continue and only its prefix is checked.
 */
static pstat hostport_check(const uint8_t *s, size_t n, bool complete, char *out)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	const uint8_t *colon, *close;
	size_t hn;
	bool numeric = false;

	if (n == 0)
		return complete ? P_BAD : P_OK;
	if (s[0] == '[') {
		close = memchr(s, ']', n);
		hn = close ? (size_t) (close - s - 1) : n - 1;
		if (hn >= sizeof(text))
			return P_BAD;
		for (size_t i = 0; i < hn; i++)
			if (!v6_char(s[1 + i]))
				return P_BAD;
		if (!close)
			return complete ? P_BAD : P_OK;
		for (size_t i = 0; i < hn; i++)
			text[i] = (s[1 + i] >= 'A' && s[1 + i] <= 'F') ? (char) (s[1 + i] - 'A' + 'a') : (char) s[1 + i];
		text[hn] = '\0';
		/* no IPvFuture, no zone identifier: only what inet_pton takes */
		if (inet_pton(AF_INET6, text, &a6) != 1)
			return P_BAD;
		n -= hn + 2;
		s = close + 1;
		if (n > 0 && (s[0] != ':' || port_check(s + 1, n - 1) != P_OK))
			return P_BAD;
		if (complete)
			memcpy(out, text, hn + 1);
		return P_OK;
	}
	colon = memchr(s, ':', n);
	hn = colon ? (size_t) (colon - s) : n;
	if (colon && port_check(colon + 1, n - hn - 1) != P_OK)
		return P_BAD;
	if (name_check(s, hn, complete || colon, out, &numeric) != P_OK)
		return P_BAD;
	if (!complete)
		return P_OK;
	/* a dotted quad is passed on as it is for the flow check to refuse; other numeric spellings are refused */
	if (numeric && inet_pton(AF_INET, out, &a4) != 1)
		return P_BAD;
	return P_OK;
}

struct http_req {
	bool connect, options;
	bool has_target_host; /* absolute-form or authority-form */
	char target_host[NAME_MAX_LEN + 2];
	bool seen_host;
	char host[NAME_MAX_LEN + 2]; /* "" for an empty Host */
};

/* casecmp_prefix() - whether @s[0..@n) is a case-insensitive prefix of @lit (whole of it when @complete). */
static bool casecmp_prefix(const uint8_t *s, size_t n, const char *lit, bool complete)
{
	size_t l = strlen(lit);

	if (n > l || (complete && n != l))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (s[i] >= 'A' && s[i] <= 'Z') ? (uint8_t) (s[i] - 'A' + 'a') : s[i];

		if (c != (uint8_t) lit[i])
			return false;
	}
	return true;
}

/*
 * target_check() - the request-target (RFC 9112 3.2): origin-form "/...",
 * asterisk-form "*" (OPTIONS), authority-form "host:port" (CONNECT) or
 * absolute-form "http[s]://authority[/...]", whose host goes to
 * @req->target_host.  @complete: the target ended (SP seen).
 */
static pstat target_check(const uint8_t *s, size_t n, bool complete, struct http_req *req)
{
	const uint8_t *auth;
	size_t scheme, an;
	bool auth_complete;

	if (n == 0)
		return complete ? P_BAD : P_OK;
	if (req->connect) {
		/* authority-form needs the port */
		if (complete && !memchr(s, ':', n))
			return P_BAD;
		TRY(hostport_check(s, n, complete, req->target_host));
		req->has_target_host = complete;
		return P_OK;
	}
	if (s[0] == '/')
		return P_OK;
	if (s[0] == '*')
		return req->options && n == 1 ? P_OK : P_BAD;
	/* absolute-form: only the http and https schemes mean anything here */
	if (casecmp_prefix(s, n < 7 ? n : 7, "http://", n >= 7 || complete))
		scheme = 7;
	else if (casecmp_prefix(s, n < 8 ? n : 8, "https://", n >= 8 || complete))
		scheme = 8;
	else
		return P_BAD;
	if (n <= scheme)
		return complete ? P_BAD : P_OK;
	auth = s + scheme;
	for (an = 0; an < n - scheme; an++)
		if (auth[an] == '/' || auth[an] == '?' || auth[an] == '#')
			break;
	auth_complete = complete || an < n - scheme;
	TRY(hostport_check(auth, an, auth_complete, req->target_host));
	req->has_target_host = auth_complete;
	return P_OK;
}

/* request_line() - "method SP request-target SP HTTP-version" (RFC 9112 3); @complete: the CRLF came. */
static pstat request_line(const uint8_t *s, size_t n, bool complete, struct http_req *req)
{
	static const char *const versions[] = { "HTTP/1.0", "HTTP/1.1" };
	size_t i = 0, t0;
	const uint8_t *v;
	size_t vn;

	while (i < n && tchar(s[i]))
		i++;
	if (i == n)
		return complete ? P_BAD : P_OK;
	if (i == 0 || s[i] != ' ')
		return P_BAD;
	req->connect = i == 7 && memcmp(s, "CONNECT", 7) == 0;
	req->options = i == 7 && memcmp(s, "OPTIONS", 7) == 0;
	t0 = ++i;
	while (i < n && vchar(s[i]))
		i++;
	if (i == n) {
		if (complete)
			return P_BAD; /* no version: HTTP/0.9 */
		return target_check(s + t0, i - t0, false, req);
	}
	if (s[i] != ' ')
		return P_BAD;
	TRY(target_check(s + t0, i - t0, true, req));
	v = s + i + 1;
	vn = n - i - 1;
	for (size_t k = 0; k < 2; k++)
		if (vn <= 8 && memcmp(v, versions[k], vn) == 0 && (vn == 8 || !complete))
			return P_OK;
	return P_BAD;
}

static bool ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* header_line() - "field-name: OWS field-value OWS" (RFC 9112 5); Host is checked, the rest only for syntax. */
static pstat header_line(const uint8_t *s, size_t n, bool complete, struct http_req *req)
{
	size_t i = 0, tok, tok_end;
	bool is_host, tok_complete;

	if (ows(s[0]))
		return P_BAD; /* obs-fold (RFC 9112 5.2): a continuation line some servers would join */
	while (i < n && tchar(s[i]))
		i++;
	if (i == n)
		return complete ? P_BAD : P_OK;
	if (i == 0 || s[i] != ':')
		return P_BAD; /* whitespace before the colon is refused too (RFC 9112 5.1) */
	is_host = casecmp_prefix(s, i, "host", true);
	for (size_t j = i + 1; j < n; j++)
		if (!vchar(s[j]) && s[j] < 0x80 && !ows(s[j]))
			return P_BAD; /* a control character (NUL, DEL, bare CR ...) in a field value */
	if (!is_host)
		return P_OK;
	if (req->seen_host)
		return P_BAD; /* two Host fields: the server might obey the other one (RFC 9112 3.2) */
	tok = i + 1;
	while (tok < n && ows(s[tok]))
		tok++;
	for (tok_end = tok; tok_end < n && !ows(s[tok_end]); tok_end++)
		;
	for (size_t j = tok_end; j < n; j++)
		if (!ows(s[j]))
			return P_BAD; /* "Host: a b" */
	tok_complete = complete || tok_end < n;
	if (tok_end == tok)
		req->host[0] = '\0'; /* an empty Host is valid: a target without authority */
	else
		TRY(hostport_check(s + tok, tok_end - tok, tok_complete, req->host));
	if (!complete)
		return P_OK;
	req->seen_host = true;
	/* RFC 9112 3.2.2: a server takes the absolute-form's host and ignores Host, the gateway the other way round */
	if (req->has_target_host && strcmp(req->host, req->target_host) != 0)
		return P_BAD;
	return P_OK;
}

kn_sniff_result kn_sniff_http_host(const uint8_t *buf, size_t len, char *name, size_t cap)
{
	struct http_req req = { 0 };
	size_t pos = 0;
	bool first = true;

	if (!name || cap < 256)
		return KN_SNIFF_INVALID;
	name[0] = '\0';
	if (len > KN_SNIFF_MAX)
		len = KN_SNIFF_MAX;
	for (;;) {
		size_t end = pos;
		bool ended = false, terminated = false;
		pstat s;

		/* CRLF ends a line; a bare LF or CR is refused (RFC 9112 2.2: parsers disagree on them) */
		while (end < len && buf[end] != '\r' && buf[end] != '\n')
			end++;
		if (end < len) {
			if (buf[end] == '\n')
				return KN_SNIFF_INVALID;
			ended = true;
			if (end + 1 < len) {
				if (buf[end + 1] != '\n')
					return KN_SNIFF_INVALID;
				terminated = true;
			}
		}
		if (first)
			s = request_line(buf + pos, end - pos, ended, &req);
		else if (end == pos)
			s = P_OK; /* nothing yet, or the empty line */
		else
			s = header_line(buf + pos, end - pos, ended, &req);
		if (s != P_OK)
			return KN_SNIFF_INVALID;
		if (!terminated)
			return len >= KN_SNIFF_MAX ? KN_SNIFF_INVALID : KN_SNIFF_NEED_MORE;
		if (!first && end == pos)
			break; /* the empty line: the header section is complete */
		pos = end + 2;
		first = false;
	}
	if (!req.seen_host)
		return req.has_target_host ? KN_SNIFF_INVALID : KN_SNIFF_NONE;
	if (!req.host[0])
		return KN_SNIFF_NONE;
	memcpy(name, req.host, strlen(req.host) + 1);
	return KN_SNIFF_FOUND;
}
