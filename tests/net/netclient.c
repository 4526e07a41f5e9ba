/* kennel-netclient: the network tests' static client, run INSIDE the sandbox
 * (and by the lab's self-test outside it) for what curl cannot do.
 *
 *   kennel-netclient tcp  HOST PORT [-s DATA] [-t MS] [-6]
 *       connect (timed), send DATA if given, read until EOF, error, 4 KiB
 *       or the timeout: a server banner, an HTTP answer, a reset.
 *   kennel-netclient udp  HOST PORT DATA [-t MS] [-6]
 *       send one datagram (timed) and wait for one reply.
 *   kennel-netclient dns  NAME TYPE [-S SERVER[:PORT]] [-t MS]
 *       one query (TYPE: A, AAAA, TXT, CNAME, MX, NULL, ANY or a number)
 *       over UDP, built by hand; prints the rcode and the answer records.
 *   kennel-netclient http NAME [PATH] [-p PORT] [-H HOST] [-a ADDR] [-t MS] [-6]
 *       resolve NAME (unless -a), connect, GET PATH with "Host: HOST"
 *       (default NAME), print the status and the first body line.
 *
 * HOST is an IPv4 or IPv6 literal or a name; names are resolved with an A
 * query (AAAA with -6) to the first nameserver of /etc/resolv.conf (the
 * sandbox's gateway), never through NSS: a static binary has no NSS
 * modules, and the tests want to see exactly which query left.  SERVER
 * defaults to that nameserver too.  DATA takes C escapes (\r \n \t \\ \xNN).
 * -t is the timeout of each step in milliseconds (default 5000).
 *
 * Output: exactly one line on stdout, "MODE key=value ...", values that may
 * hold spaces in double quotes with C escapes, errors as errno names
 * (ECONNREFUSED) or "timeout"; times in milliseconds with two decimals:
 *   tcp addr=198.51.100.22 port=22 connect=ok connect_ms=0.31 read=eof bytes=21 data="SSH-2.0-..."
 *   tcp addr=198.51.100.10 port=8443 connect=ECONNREFUSED connect_ms=0.12
 *   udp addr=198.51.100.10 port=7 send=EPERM send_ms=0.05
 *   dns name=x.test type=TXT server=10.0.2.1:53 rcode=NXDOMAIN answers=0
 *   http name=allowed.test addr=198.51.100.10 port=80 connect=ok status=200 body="..."
 * (read= is eof after data was read, or the error that ended the read:
 * ECONNRESET, timeout; "eof" with bytes=0 is an immediate EOF.)
 *
 * Exit status:
 *   0  the whole operation worked: tcp read at least one byte; udp got a
 *      reply; dns got NOERROR with at least one record of TYPE (a CNAME
 *      chain alone does not count); http got status 200
 *   1  it failed before any data could flow: name not resolved, connect or
 *      send refused, failed or timed out
 *   2  usage error
 *   3  connected (or sent) but nothing useful came back: reset, EOF without
 *      data, timeout, an HTTP status other than 200, a malformed answer
 *   4  dns: an answer came back with an error rcode or without a record of
 *      TYPE (NXDOMAIN, SERVFAIL, REFUSED, empty NOERROR)
 *   5  internal error (socket(), out of memory)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { EX_OK = 0, EX_NOFLOW = 1, EX_USAGE = 2, EX_NODATA = 3, EX_DNS = 4, EX_INTERNAL = 5 };

#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_RESOLVER "10.0.2.1"
#define MAX_READ 4096
#define DNS_MAX 4096
#define MAX_ANSWERS 16

struct opts {
	int timeout_ms;
	bool ipv6;          /* resolve names with AAAA */
	const char *data;   /* -s: bytes to send after connecting */
	const char *server; /* -S: DNS server */
	const char *host;   /* -H: HTTP Host header */
	const char *addr;   /* -a: HTTP address, skips DNS */
	int port;           /* -p: HTTP port */
};

/* The one output line, built piece by piece and printed once at exit. */
static char line[8192];

__attribute__((format(printf, 1, 2))) static void out(const char *fmt, ...)
{
	size_t used = strlen(line);
	va_list ap;

	if (used + 1 >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + used, sizeof(line) - used, fmt, ap);
	va_end(ap);
}

static int finish(int status)
{
	printf("%s\n", line);
	fflush(stdout);
	return status;
}

/* Append key="value" with C escapes, so the line stays one line. */
static void out_quoted(const char *key, const unsigned char *p, size_t n)
{
	out(" %s=\"", key);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\')
			out("\\%c", c);
		else if (c == '\n')
			out("\\n");
		else if (c == '\r')
			out("\\r");
		else if (c == '\t')
			out("\\t");
		else if (c < 0x20 || c >= 0x7f)
			out("\\x%02x", c);
		else
			out("%c", c);
	}
	out("\"");
}

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "EUNKNOWN";
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kennel-netclient tcp HOST PORT [-s DATA] [-t MS] [-6]\n"
		"       kennel-netclient udp HOST PORT DATA [-t MS] [-6]\n"
		"       kennel-netclient dns NAME TYPE [-S SERVER[:PORT]] [-t MS]\n"
		"       kennel-netclient http NAME [PATH] [-p PORT] [-H HOST] [-a ADDR] [-t MS] [-6]\n");
}

/* Decode C escapes of @s into @buf; return the length. */
static size_t unescape(const char *s, char *buf, size_t cap)
{
	size_t n = 0;

	while (*s && n < cap) {
		if (*s != '\\' || !s[1]) {
			buf[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': buf[n++] = '\n'; s++; break;
		case 'r': buf[n++] = '\r'; s++; break;
		case 't': buf[n++] = '\t'; s++; break;
		case '0': buf[n++] = '\0'; s++; break;
		case 'x': {
			char hex[3] = { 0 };

			if (s[1] && s[2]) {
				hex[0] = s[1];
				hex[1] = s[2];
				buf[n++] = (char)strtol(hex, NULL, 16);
				s += 3;
			} else {
				buf[n++] = *s++;
			}
			break;
		}
		default: buf[n++] = *s++; break;
		}
	}
	return n;
}

/* ---------------------------------------------------------------- addresses */

/* "1.2.3.4", "2001:db8::1", "[2001:db8::1]" with @port into @ss. */
static bool parse_literal(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	char tmp[INET6_ADDRSTRLEN + 2];
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	size_t n = strlen(s);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return true;
	}
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(tmp)) {
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		s = tmp;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

static const char *fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)cap);
	return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)cap);
}

/* The first nameserver of /etc/resolv.conf, else the gateway's address. */
static void default_resolver(char *buf, size_t cap)
{
	char l[256], ns[INET6_ADDRSTRLEN + 1];
	FILE *f = fopen("/etc/resolv.conf", "re");

	snprintf(buf, cap, "%s", DEFAULT_RESOLVER);
	if (!f)
		return;
	while (fgets(l, sizeof(l), f)) {
		if (sscanf(l, " nameserver %46s", ns) == 1) {
			snprintf(buf, cap, "%s", ns);
			break;
		}
	}
	fclose(f);
}

/* "ADDR", "ADDR:PORT" (IPv4), "[V6]:PORT", "V6" into @ss (port 53 by default). */
static bool parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	int port = 53;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || (size_t)(end - s + 1) >= sizeof(host))
			return false;
		memcpy(host, s, (size_t)(end - s + 1));
		host[end - s + 1] = '\0';
		if (end[1] == ':')
			port = atoi(end + 2);
		else if (end[1])
			return false;
	} else if (colon && strchr(s, ':') == colon) {
		if ((size_t)(colon - s) >= sizeof(host))
			return false;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = atoi(colon + 1);
	} else {
		snprintf(host, sizeof(host), "%s", s);
	}
	if (port < 1 || port > 65535)
		return false;
	return parse_literal(host, port, ss, len);
}

/* ---------------------------------------------------------------------- DNS */

static const struct {
	const char *name;
	int type;
} dns_types[] = {
	{ "A", 1 },     { "NS", 2 },    { "CNAME", 5 }, { "SOA", 6 }, { "NULL", 10 },
	{ "PTR", 12 },  { "MX", 15 },   { "TXT", 16 },  { "AAAA", 28 }, { "SRV", 33 },
	{ "ANY", 255 },
};

static int dns_type_parse(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (!strcasecmp(s, dns_types[i].name))
			return dns_types[i].type;
	v = strtol(s, &end, 10);
	if (*s && !*end && v > 0 && v < 65536)
		return (int)v;
	return -1;
}

static const char *dns_type_name(int t, char *buf, size_t cap)
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (dns_types[i].type == t)
			return dns_types[i].name;
	snprintf(buf, cap, "TYPE%d", t);
	return buf;
}

static const char *rcode_name(int rc, char *buf, size_t cap)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };

	if (rc >= 0 && rc < (int)(sizeof(names) / sizeof(names[0])))
		return names[rc];
	snprintf(buf, cap, "RCODE%d", rc);
	return buf;
}

/* Encode the query for @name/@type (class IN, RD) into @buf. Return: length, or 0 when @name is invalid. */
static size_t dns_build(const char *name, int type, uint16_t id, unsigned char *buf, size_t cap)
{
	size_t n = 12;
	const char *p = name;

	if (cap < 12 + 256 + 4)
		return 0;
	memset(buf, 0, 12);
	buf[0] = (unsigned char)(id >> 8);
	buf[1] = (unsigned char)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > 63 || n + 1 + l + 5 > 12 + 255 + 5)
			return 0;
		buf[n++] = (unsigned char)l;
		memcpy(buf + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	buf[n++] = 0;
	buf[n++] = (unsigned char)(type >> 8);
	buf[n++] = (unsigned char)type;
	buf[n++] = 0;
	buf[n++] = 1; /* IN */
	return n;
}

/* Read the (possibly compressed) name at *@off into @outname, advance *@off
 * past it in the message.  Return: false when it is malformed. */
static bool dns_name(const unsigned char *m, size_t len, size_t *off, char *outname, size_t cap)
{
	size_t pos = *off, o = 0;
	bool jumped = false;
	int hops = 0;

	if (cap)
		outname[0] = '\0';
	for (;;) {
		unsigned c;

		if (pos >= len)
			return false;
		c = m[pos];
		if (c == 0) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++hops > 32)
				return false;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = ((c & 0x3f) << 8) | m[pos + 1];
			continue;
		}
		if (c & 0xc0)
			return false;
		if (pos + 1 + c > len)
			return false;
		if (o + c + 2 < cap) {
			if (o)
				outname[o++] = '.';
			memcpy(outname + o, m + pos + 1, c);
			o += c;
			outname[o] = '\0';
		}
		pos += 1 + c;
	}
	return true;
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Send one query for @name/@type to @srv; print the rcode and records.
 * *@found: how many records of @type came back.  Addresses of A/AAAA
 * answers go to @addrs (up to MAX_ANSWERS).  Return: exit status. */
static int dns_query(const char *name, int type, const struct sockaddr_storage *srv, socklen_t srvlen, int timeout_ms,
		     struct sockaddr_storage *addrs, int *naddrs)
{
	unsigned char q[512], r[DNS_MAX];
	char tbuf[16], abuf[INET6_ADDRSTRLEN], rname[300];
	uint16_t id;
	size_t qlen, off;
	ssize_t n;
	int fd, qd, an, rc, found = 0;
	double t0;
	struct pollfd pfd;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)getpid();
	qlen = dns_build(name, type, id, q, sizeof(q));
	out(" server=%s%s%s:%u", srv->ss_family == AF_INET6 ? "[" : "", fmt_addr(srv, abuf, sizeof(abuf)),
	    srv->ss_family == AF_INET6 ? "]" : "",
	    ntohs(srv->ss_family == AF_INET ? ((const struct sockaddr_in *)srv)->sin_port
					     : ((const struct sockaddr_in6 *)srv)->sin6_port));
	if (!qlen) {
		out(" error=bad-name");
		return EX_USAGE;
	}
	fd = socket(srv->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		out(" error=%s", errname(errno));
		return EX_INTERNAL;
	}
	t0 = now_ms();
	if (connect(fd, (const struct sockaddr *)srv, srvlen) < 0 || send(fd, q, qlen, 0) < 0) {
		out(" send=%s send_ms=%.2f", errname(errno), now_ms() - t0);
		close(fd);
		return EX_NOFLOW;
	}
	/* Skip answers with another id (a late answer to nothing we sent). */
	for (;;) {
		double left = timeout_ms - (now_ms() - t0);

		pfd.fd = fd;
		pfd.events = POLLIN;
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			out(" send=ok rcode=timeout");
			close(fd);
			return EX_NOFLOW;
		}
		n = recv(fd, r, sizeof(r), 0);
		if (n < 0) {
			out(" send=ok recv=%s", errname(errno));
			close(fd);
			return EX_NOFLOW;
		}
		if (n >= 12 && get16(r) == id && (r[2] & 0x80))
			break;
	}
	close(fd);
	rc = r[3] & 0x0f;
	qd = get16(r + 4);
	an = get16(r + 6);
	out(" rcode=%s answers=%d", rcode_name(rc, tbuf, sizeof(tbuf)), an);
	off = 12;
	for (int i = 0; i < qd; i++) {
		if (!dns_name(r, (size_t)n, &off, rname, sizeof(rname)) || off + 4 > (size_t)n) {
			out(" malformed=question");
			return EX_NODATA;
		}
		off += 4;
	}
	for (int i = 0; i < an; i++) {
		uint16_t rtype, rdlen;

		if (!dns_name(r, (size_t)n, &off, rname, sizeof(rname)) || off + 10 > (size_t)n) {
			out(" malformed=answer");
			return EX_NODATA;
		}
		rtype = get16(r + off);
		rdlen = get16(r + off + 8);
		off += 10;
		if (off + rdlen > (size_t)n) {
			out(" malformed=rdata");
			return EX_NODATA;
		}
		if (rtype == type)
			found++;
		if (rtype == 1 && rdlen == 4) {
			struct sockaddr_storage ss = { 0 };

			((struct sockaddr_in *)&ss)->sin_family = AF_INET;
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, r + off, 4);
			out(" A=%s", fmt_addr(&ss, abuf, sizeof(abuf)));
			if (addrs && *naddrs < MAX_ANSWERS)
				addrs[(*naddrs)++] = ss;
		} else if (rtype == 28 && rdlen == 16) {
			struct sockaddr_storage ss = { 0 };

			((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, r + off, 16);
			out(" AAAA=%s", fmt_addr(&ss, abuf, sizeof(abuf)));
			if (addrs && *naddrs < MAX_ANSWERS)
				addrs[(*naddrs)++] = ss;
		} else if (rtype == 16) {
			/* character-strings, concatenated */
			unsigned char txt[DNS_MAX];
			size_t t = 0, p = off;

			while (p < off + rdlen) {
				size_t l = r[p++];

				if (p + l > off + rdlen)
					break;
				memcpy(txt + t, r + p, l);
				t += l;
				p += l;
			}
			out_quoted("TXT", txt, t);
		} else if (rtype == 5) {
			size_t p = off;

			if (dns_name(r, (size_t)n, &p, rname, sizeof(rname)))
				out(" CNAME=%s", rname);
		} else {
			out(" %s=(%u bytes)", dns_type_name(rtype, tbuf, sizeof(tbuf)), rdlen);
		}
		off += rdlen;
	}
	if (rc != 0 || found == 0)
		return EX_DNS;
	return EX_OK;
}

/* Resolve @host (a literal, or a name through the default resolver) into
 * @ss with @port.  Prints addr= (and resolve= on failure). */
static int resolve(const char *host, int port, const struct opts *o, struct sockaddr_storage *ss, socklen_t *len)
{
	char res[INET6_ADDRSTRLEN + 8], abuf[INET6_ADDRSTRLEN];
	struct sockaddr_storage srv, addrs[MAX_ANSWERS];
	socklen_t srvlen;
	int naddrs = 0, st;
	size_t mark;

	if (!parse_literal(host, port, ss, len)) {
		default_resolver(res, sizeof(res));
		if (!parse_server(res, &srv, &srvlen)) {
			out(" resolve=bad-resolver");
			return EX_NOFLOW;
		}
		/* The answer details go into the line only when resolving fails. */
		mark = strlen(line);
		st = dns_query(host, o->ipv6 ? 28 : 1, &srv, srvlen, o->timeout_ms, addrs, &naddrs);
		if (st != EX_OK || naddrs == 0) {
			out(" resolve=failed");
			return EX_NOFLOW;
		}
		line[mark] = '\0';
		*ss = addrs[0];
		if (ss->ss_family == AF_INET) {
			((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
			*len = sizeof(struct sockaddr_in);
		} else {
			((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
			*len = sizeof(struct sockaddr_in6);
		}
	}
	out(" addr=%s port=%d", fmt_addr(ss, abuf, sizeof(abuf)), port);
	return EX_OK;
}

/* ---------------------------------------------------------------------- TCP */

/* Connect with a deadline; prints connect= and connect_ms=.  Return: the fd or -1. */
static int tcp_connect(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms)
{
	int fd, e = 0;
	socklen_t el = sizeof(e);
	double t0;
	struct pollfd pfd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		out(" connect=%s", errname(errno));
		return -1;
	}
	t0 = now_ms();
	if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
		if (errno != EINPROGRESS) {
			e = errno;
		} else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, timeout_ms) == 0)
				e = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
				e = errno;
		}
	}
	if (e) {
		out(" connect=%s connect_ms=%.2f", e == ETIMEDOUT ? "timeout" : errname(e), now_ms() - t0);
		close(fd);
		return -1;
	}
	out(" connect=ok connect_ms=%.2f", now_ms() - t0);
	return fd;
}

/* Write all of @buf, then read until EOF, error, @cap bytes or the
 * deadline into @rbuf.  Prints write=/read= and bytes=.  Return: bytes read. */
static size_t tcp_exchange(int fd, const char *buf, size_t n, int timeout_ms, unsigned char *rbuf, size_t cap)
{
	size_t got = 0, sent = 0;
	double t0 = now_ms();
	struct pollfd pfd = { .fd = fd };

	while (sent < n) {
		ssize_t w;

		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) == 0) {
			out(" write=timeout");
			return 0;
		}
		w = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			out(" write=%s", errname(errno));
			break;
		}
		sent += (size_t)w;
	}
	for (;;) {
		double left = timeout_ms - (now_ms() - t0);
		ssize_t r;

		pfd.events = POLLIN;
		if (got >= cap) {
			out(" read=full");
			break;
		}
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			out(" read=timeout");
			break;
		}
		r = recv(fd, rbuf + got, cap - got, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			out(" read=%s", errname(errno));
			break;
		}
		if (r == 0) {
			out(" read=eof");
			break;
		}
		got += (size_t)r;
	}
	out(" read_ms=%.2f bytes=%zu", now_ms() - t0, got);
	return got;
}

static int cmd_tcp(int argc, char **argv, const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char sbuf[4096];
	unsigned char rbuf[MAX_READ];
	size_t n = 0, got;
	int port, fd, st;

	if (argc != 2)
		return usage(), EX_USAGE;
	port = atoi(argv[1]);
	if (port < 1 || port > 65535)
		return usage(), EX_USAGE;
	out("tcp");
	st = resolve(argv[0], port, o, &ss, &len);
	if (st != EX_OK)
		return finish(st);
	fd = tcp_connect(&ss, len, o->timeout_ms);
	if (fd < 0)
		return finish(EX_NOFLOW);
	if (o->data)
		n = unescape(o->data, sbuf, sizeof(sbuf));
	got = tcp_exchange(fd, sbuf, n, o->timeout_ms, rbuf, sizeof(rbuf));
	close(fd);
	out_quoted("data", rbuf, got);
	return finish(got ? EX_OK : EX_NODATA);
}

static int cmd_http(int argc, char **argv, const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char req[2048];
	unsigned char rbuf[MAX_READ + 1];
	const char *name, *path, *body, *eol;
	size_t got;
	int fd, st, status = 0, port = o->port ? o->port : 80;

	if (argc < 1 || argc > 2)
		return usage(), EX_USAGE;
	name = argv[0];
	path = argc == 2 ? argv[1] : "/";
	out("http name=%s", name);
	st = resolve(o->addr ? o->addr : name, port, o, &ss, &len);
	if (st != EX_OK)
		return finish(st);
	fd = tcp_connect(&ss, len, o->timeout_ms);
	if (fd < 0)
		return finish(EX_NOFLOW);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kennel-netclient\r\nConnection: close\r\n\r\n",
		 path, o->host ? o->host : name);
	got = tcp_exchange(fd, req, strlen(req), o->timeout_ms, rbuf, sizeof(rbuf) - 1);
	close(fd);
	rbuf[got] = '\0';
	if (got == 0 || sscanf((const char *)rbuf, "HTTP/1.%*d %d", &status) != 1) {
		out(" status=none");
		out_quoted("data", rbuf, got);
		return finish(EX_NODATA);
	}
	out(" status=%d", status);
	body = strstr((const char *)rbuf, "\r\n\r\n");
	if (body) {
		body += 4;
		eol = strchr(body, '\n');
		out_quoted("body", (const unsigned char *)body, eol ? (size_t)(eol - body) : strlen(body));
	}
	return finish(status == 200 ? EX_OK : EX_NODATA);
}

/* ---------------------------------------------------------------------- UDP */

static int cmd_udp(int argc, char **argv, const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char sbuf[2048];
	unsigned char rbuf[2048];
	size_t n;
	ssize_t r;
	int port, fd, st;
	double t0;
	struct pollfd pfd;

	if (argc != 3)
		return usage(), EX_USAGE;
	port = atoi(argv[1]);
	if (port < 1 || port > 65535)
		return usage(), EX_USAGE;
	out("udp");
	st = resolve(argv[0], port, o, &ss, &len);
	if (st != EX_OK)
		return finish(st);
	n = unescape(argv[2], sbuf, sizeof(sbuf));
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		out(" send=%s", errname(errno));
		return finish(EX_INTERNAL);
	}
	t0 = now_ms();
	/* connect() too: a filter may refuse there already, and connected
	 * UDP sockets report ICMP errors on the next call. */
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		out(" send=%s at=connect send_ms=%.2f", errname(errno), now_ms() - t0);
		close(fd);
		return finish(EX_NOFLOW);
	}
	if (send(fd, sbuf, n, 0) < 0) {
		out(" send=%s send_ms=%.2f", errname(errno), now_ms() - t0);
		close(fd);
		return finish(EX_NOFLOW);
	}
	out(" send=ok send_ms=%.2f", now_ms() - t0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, o->timeout_ms) == 0) {
		out(" reply=timeout");
		close(fd);
		return finish(EX_NODATA);
	}
	r = recv(fd, rbuf, sizeof(rbuf), 0);
	if (r < 0) {
		out(" reply=%s", errname(errno));
		close(fd);
		return finish(EX_NODATA);
	}
	close(fd);
	out_quoted("reply", rbuf, (size_t)r);
	return finish(EX_OK);
}

static int cmd_dns(int argc, char **argv, const struct opts *o)
{
	struct sockaddr_storage srv;
	socklen_t srvlen;
	char res[INET6_ADDRSTRLEN + 8], tbuf[16];
	int type;

	if (argc != 2)
		return usage(), EX_USAGE;
	type = dns_type_parse(argv[1]);
	if (type < 0)
		return usage(), EX_USAGE;
	if (o->server)
		snprintf(res, sizeof(res), "%s", o->server);
	else
		default_resolver(res, sizeof(res));
	if (!parse_server(res, &srv, &srvlen)) {
		fprintf(stderr, "kennel-netclient: bad DNS server '%s'\n", res);
		return EX_USAGE;
	}
	out("dns name=%s type=%s", argv[0], dns_type_name(type, tbuf, sizeof(tbuf)));
	return finish(dns_query(argv[0], type, &srv, srvlen, o->timeout_ms, NULL, NULL));
}

int main(int argc, char **argv)
{
	struct opts o = { .timeout_ms = DEFAULT_TIMEOUT_MS };
	char *pos[8];
	int npos = 0;
	const char *mode;

	if (argc < 2)
		return usage(), EX_USAGE;
	mode = argv[1];
	/* Options may come anywhere after the mode. */
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		bool has_arg = i + 1 < argc;

		if (!strcmp(a, "-6")) {
			o.ipv6 = true;
		} else if (!strcmp(a, "-t") && has_arg) {
			o.timeout_ms = atoi(argv[++i]);
			if (o.timeout_ms <= 0)
				return usage(), EX_USAGE;
		} else if (!strcmp(a, "-s") && has_arg) {
			o.data = argv[++i];
		} else if (!strcmp(a, "-S") && has_arg) {
			o.server = argv[++i];
		} else if (!strcmp(a, "-H") && has_arg) {
			o.host = argv[++i];
		} else if (!strcmp(a, "-a") && has_arg) {
			o.addr = argv[++i];
		} else if (!strcmp(a, "-p") && has_arg) {
			o.port = atoi(argv[++i]);
			if (o.port < 1 || o.port > 65535)
				return usage(), EX_USAGE;
		} else if (a[0] == '-' && a[1]) {
			return usage(), EX_USAGE;
		} else if (npos < (int)(sizeof(pos) / sizeof(pos[0]))) {
			pos[npos++] = argv[i];
		} else {
			return usage(), EX_USAGE;
		}
	}
	if (!strcmp(mode, "tcp"))
		return cmd_tcp(npos, pos, &o);
	if (!strcmp(mode, "udp"))
		return cmd_udp(npos, pos, &o);
	if (!strcmp(mode, "dns"))
		return cmd_dns(npos, pos, &o);
	if (!strcmp(mode, "http"))
		return cmd_http(npos, pos, &o);
	return usage(), EX_USAGE;
}
