/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The egress gateway, host side (see gateway.h).
 *
 * How a TCP flow goes:
 *   1. accept on a transparent listener in the gateway namespace;
 *      getsockname() is the address the sandbox connected to;
 *   2. kn_flow_check_addr(): deny (reset at once), allow, or read the
 *      name first (ports 443 and 80);
 *   3. SNIFF: read up to KN_SNIFF_MAX bytes until the TLS SNI or HTTP Host
 *      is known (kn_sniff_*), then kn_flow_check_name();
 *   4. CONNECTING: a non-blocking connect from kennel's own namespace;
 *   5. RELAY: the sniffed bytes are sent first, then splice(2) moves bytes
 *      socket -> pipe -> socket in both directions; EOF on one side is a
 *      shutdown(SHUT_WR) on the other once its pipe is empty; an error on
 *      either side resets both.
 * Denials never connect anywhere: the client's socket is closed with
 * SO_LINGER 0 (a reset).  Sniffing and connecting have deadlines; a relayed
 * connection has none (an idle ssh session is legitimate).
 *
 * How a DNS query goes: parsed (dns.h); a name the allowlist refuses, and
 * every *.invalid name, gets NXDOMAIN from here; an allowed name's A or
 * AAAA query goes upstream with a fresh random id; other types of an
 * allowed name get an empty answer.  The upstream's reply is filtered
 * (kn_dns_filter_answer) and its addresses recorded for step 2/3.
 */
#include "gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "cleanup.h"
#include "dns.h"
#include "sniff.h"
#include "util.h"

#define SNIFF_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 10000
#define DNS_TRY_MS 1500
#define DNS_MAX_PENDING 512
/* A relay's pipes start at the kernel's default (64 KiB) and grow to this once a direction has moved BULK_AFTER bytes. */
#define PIPE_BULK_SIZE (1 << 20)
#define BULK_AFTER (4 << 20)

enum ev_type {
	EV_LISTENER = KN_EV_GATEWAY,
	EV_DNS_SANDBOX,
	EV_DNS_UPSTREAM,
	EV_CLIENT,
	EV_UPSTREAM,
};

enum conn_state { SNIFF, CONNECTING, RELAY };

struct listener {
	kn_ev ev;
	int fd;
	uint16_t port;
};

struct half {
	int pipe[2];
	size_t in_pipe;
	size_t cap;     /* the pipe's capacity */
	uint64_t moved; /* bytes moved so far */
	bool grown;     /* the pipe was offered PIPE_BULK_SIZE */
	bool eof;  /* the source said EOF */
	bool shut; /* and the destination got shutdown(SHUT_WR) */
};

struct conn {
	kn_ev cev; /* EV_CLIENT */
	kn_ev uev; /* EV_UPSTREAM */
	struct conn *prev, *next; /* the list of connections with a deadline */
	bool on_list;
	struct conn *aprev, *anext; /* every connection */
	bool dead;                  /* closed; freed after the current batch of events (kn_gateway_tick) */
	enum conn_state state;
	int cfd, ufd;
	kn_addr dst;
	uint16_t port;
	char name[256];
	uint8_t *buf; /* bytes read while sniffing, sent upstream first */
	size_t len, sent;
	uint64_t deadline;
	struct half c2u, u2c;
};

struct dns_pending {
	bool used;
	uint16_t up_id;
	struct sockaddr_storage client;
	socklen_t client_len;
	kn_dns_query q;
	uint8_t pkt[KN_DNS_MAX_UDP];
	size_t len;
	size_t upstream; /* index of the server asked */
	unsigned tries;
	uint64_t deadline;
};

struct upstream_sock {
	kn_ev ev;
	int fd;
};

struct kn_gateway {
	const kn_gateway_config *cfg;
	int epfd;
	kn_resolved *resolved;
	struct listener *listeners;
	size_t n_listeners;
	struct listener dns;                /* EV_DNS_SANDBOX */
	struct upstream_sock up4, up6;      /* EV_DNS_UPSTREAM */
	struct conn *head, *tail;           /* connections with a deadline, oldest first */
	struct conn *all;                   /* every connection */
	struct conn *dead;                  /* closed ones, linked through anext, freed by kn_gateway_tick */
	struct dns_pending pending[DNS_MAX_PENDING];
	size_t n_pending;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static int ep_add(kn_gateway *gw, int fd, uint32_t events, kn_ev *ev)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(gw->epfd, EPOLL_CTL_ADD, fd, &e);
}

/* --- audit ------------------------------------------------------------ */

static void audit_flow(kn_gateway *gw, const struct conn *c, const char *decision, const char *reason)
{
	char addr[INET6_ADDRSTRLEN];

	kn_audit_net(gw->cfg->audit, "flow", c->name[0] ? c->name : NULL, kn_addr_format(&c->dst, addr, sizeof(addr)),
		     c->port, NULL, decision, reason);
}

static const char *qtype_name(uint16_t t, char *buf, size_t cap)
{
	static const struct {
		uint16_t t;
		const char *n;
	} names[] = { { 1, "A" },     { 2, "NS" },     { 5, "CNAME" }, { 6, "SOA" }, { 10, "NULL" }, { 12, "PTR" },
		      { 15, "MX" },   { 16, "TXT" },   { 28, "AAAA" }, { 33, "SRV" }, { 64, "SVCB" }, { 65, "HTTPS" },
		      { 255, "ANY" } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].n;
	snprintf(buf, cap, "TYPE%u", t);
	return buf;
}

static void audit_dns(kn_gateway *gw, const kn_dns_query *q, const char *address, const char *decision,
		      const char *reason)
{
	char tbuf[16];

	kn_audit_net(gw->cfg->audit, "dns", q->name, address, 0, qtype_name(q->qtype, tbuf, sizeof(tbuf)), decision,
		     reason);
}

/* --- connections ------------------------------------------------------ */

static void list_remove(kn_gateway *gw, struct conn *c)
{
	if (!c->on_list)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		gw->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		gw->tail = c->prev;
	c->prev = c->next = NULL;
	c->on_list = false;
}

/* Deadlines are all "now + a constant" per state, so appending keeps the list sorted enough: tick scans it all. */
static void list_append(kn_gateway *gw, struct conn *c, uint64_t deadline)
{
	list_remove(gw, c);
	c->deadline = deadline;
	c->prev = gw->tail;
	c->next = NULL;
	if (gw->tail)
		gw->tail->next = c;
	else
		gw->head = c;
	gw->tail = c;
	c->on_list = true;
}

static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void half_close_pipes(struct half *h)
{
	if (h->pipe[0] >= 0)
		close(h->pipe[0]);
	if (h->pipe[1] >= 0)
		close(h->pipe[1]);
	h->pipe[0] = h->pipe[1] = -1;
}

/* @reset: end both sides with a reset instead of an orderly close. */
static void conn_free(kn_gateway *gw, struct conn *c, bool reset)
{
	list_remove(gw, c);
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		gw->all = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	if (reset) {
		reset_close(c->cfd);
		reset_close(c->ufd);
	} else {
		if (c->cfd >= 0)
			close(c->cfd);
		if (c->ufd >= 0)
			close(c->ufd);
	}
	half_close_pipes(&c->c2u);
	half_close_pipes(&c->u2c);
	free(c->buf);
	c->buf = NULL;
	c->cfd = c->ufd = -1;
	/*
	 * Not freed yet: the batch of events being handled may hold the other
	 * of its two fds' event, pointing here.  Closing removed both fds from
	 * epoll; the memory goes once the batch is done.
	 */
	c->dead = true;
	c->aprev = NULL;
	c->anext = gw->dead;
	gw->dead = c;
}

static void reap_dead(kn_gateway *gw)
{
	while (gw->dead) {
		struct conn *c = gw->dead;

		gw->dead = c->anext;
		free(c);
	}
}

static void conn_deny(kn_gateway *gw, struct conn *c, const char *reason)
{
	audit_flow(gw, c, "deny", reason);
	conn_free(gw, c, true);
}

static void tcp_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void conn_connect(kn_gateway *gw, struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char reason[160];

	memset(&ss, 0, sizeof(ss));
	if (c->dst.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(c->port);
		memcpy(&in->sin_addr, c->dst.a, 4);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(c->port);
		memcpy(&in6->sin6_addr, c->dst.a, 16);
		len = sizeof(*in6);
	}
	c->ufd = socket(c->dst.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->ufd < 0 || (connect(c->ufd, (struct sockaddr *) &ss, len) < 0 && errno != EINPROGRESS) ||
	    ep_add(gw, c->ufd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->uev) < 0) {
		snprintf(reason, sizeof(reason), "connect: %s", strerror(errno));
		audit_flow(gw, c, "error", reason);
		conn_free(gw, c, true);
		return;
	}
	tcp_nodelay(c->ufd);
	c->state = CONNECTING;
	list_append(gw, c, now_ms() + CONNECT_TIMEOUT_MS);
}

/* Move what can move from @src to @dst through @h. Return: 1 progress, 0 none, -errno on a broken side. */
static int half_pump(struct half *h, int src, int dst)
{
	int progress = 0;
	ssize_t n;

	if (h->moved >= BULK_AFTER && !h->grown) {
		/* a bulk transfer: fewer, larger splices (may fail past fs.pipe-user-pages-soft: keep what we have) */
		int got = fcntl(h->pipe[1], F_SETPIPE_SZ, PIPE_BULK_SIZE);

		if (got > 0)
			h->cap = (size_t) got;
		h->grown = true;
	}
	if (!h->eof && h->in_pipe < h->cap) {
		n = splice(src, NULL, h->pipe[1], NULL, h->cap - h->in_pipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			h->in_pipe += (size_t) n;
			progress = 1;
		} else if (n == 0) {
			h->eof = true;
			progress = 1;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
	}
	if (h->in_pipe > 0) {
		n = splice(h->pipe[0], NULL, dst, NULL, h->in_pipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			h->in_pipe -= (size_t) n;
			h->moved += (uint64_t) n;
			progress = 1;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		}
	}
	if (h->eof && h->in_pipe == 0 && !h->shut) {
		shutdown(dst, SHUT_WR);
		h->shut = true;
		progress = 1;
	}
	return progress;
}

static void conn_pump(kn_gateway *gw, struct conn *c)
{
	int r;

	for (;;) {
		int progress = 0;

		if (c->sent < c->len) {
			ssize_t n = send(c->ufd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0) {
				c->sent += (size_t) n;
				progress = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				conn_free(gw, c, true);
				return;
			}
		}
		if (c->sent == c->len) {
			r = half_pump(&c->c2u, c->cfd, c->ufd);
			if (r < 0) {
				conn_free(gw, c, true);
				return;
			}
			progress |= r;
		}
		r = half_pump(&c->u2c, c->ufd, c->cfd);
		if (r < 0) {
			conn_free(gw, c, true);
			return;
		}
		progress |= r;
		if (c->c2u.shut && c->u2c.shut) {
			conn_free(gw, c, false);
			return;
		}
		if (!progress)
			return;
	}
}

static void conn_connected(kn_gateway *gw, struct conn *c)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	char reason[160];

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return;
	if (soerr) {
		snprintf(reason, sizeof(reason), "connect: %s", strerror(soerr));
		audit_flow(gw, c, "error", reason);
		conn_free(gw, c, true);
		return;
	}
	if (pipe2(c->c2u.pipe, O_NONBLOCK | O_CLOEXEC) < 0 || pipe2(c->u2c.pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(reason, sizeof(reason), "relay: pipe: %s", strerror(errno));
		audit_flow(gw, c, "error", reason);
		conn_free(gw, c, true);
		return;
	}
	c->c2u.cap = c->u2c.cap = (size_t) fcntl(c->c2u.pipe[1], F_GETPIPE_SZ);
	list_remove(gw, c);
	c->state = RELAY;
	conn_pump(gw, c);
}

static void conn_decided(kn_gateway *gw, struct conn *c, const kn_flow_verdict *v)
{
	if (v->name[0])
		snprintf(c->name, sizeof(c->name), "%s", v->name);
	if (v->step != KN_FLOW_ALLOW) {
		conn_deny(gw, c, v->reason);
		return;
	}
	audit_flow(gw, c, "allow", v->reason);
	conn_connect(gw, c);
}

static void conn_sniff(kn_gateway *gw, struct conn *c)
{
	kn_flow_verdict v;
	kn_sniff_result sr = KN_SNIFF_NEED_MORE;
	char name[256];
	bool eof = false;

	for (;;) {
		ssize_t n;

		if (c->len == KN_SNIFF_MAX)
			break;
		n = recv(c->cfd, c->buf + c->len, KN_SNIFF_MAX - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t) n;
			continue;
		}
		if (n == 0)
			eof = true;
		else if (errno != EAGAIN && errno != EINTR) {
			conn_deny(gw, c, "the client went away before naming a host");
			return;
		}
		break;
	}
	if (c->len)
		sr = c->port == 443 ? kn_sniff_tls_sni(c->buf, c->len, name, sizeof(name)) :
				      kn_sniff_http_host(c->buf, c->len, name, sizeof(name));
	if (sr == KN_SNIFF_NEED_MORE && c->len < KN_SNIFF_MAX && !eof)
		return;
	if (sr == KN_SNIFF_NEED_MORE && eof) {
		conn_deny(gw, c, c->port == 443 ? "the client closed before a complete TLS ClientHello" :
						  "the client closed before a complete HTTP request head");
		return;
	}
	kn_flow_check_name(gw->cfg->allow, gw->resolved, &c->dst, c->port, sr == KN_SNIFF_FOUND ? name : NULL, now_ms(),
			   &v);
	if (sr == KN_SNIFF_FOUND && !v.name[0])
		snprintf(c->name, sizeof(c->name), "%s", name);
	conn_decided(gw, c, &v);
}

static void on_accept(kn_gateway *gw, struct listener *l)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		kn_flow_verdict v;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				fprintf(stderr, "kennel: gateway: out of file descriptors; a connection waits\n");
			return;
		}
		c = kn_xcalloc(1, sizeof(*c));
		c->cev.type = EV_CLIENT;
		c->uev.type = EV_UPSTREAM;
		c->cfd = fd;
		c->ufd = -1;
		c->c2u.pipe[0] = c->c2u.pipe[1] = c->u2c.pipe[0] = c->u2c.pipe[1] = -1;
		c->port = l->port;
		c->anext = gw->all;
		if (gw->all)
			gw->all->aprev = c;
		gw->all = c;
		if (getsockname(fd, (struct sockaddr *) &ss, &sl) < 0 || kn_addr_from_sockaddr((struct sockaddr *) &ss, &c->dst) < 0) {
			conn_free(gw, c, true);
			continue;
		}
		tcp_nodelay(fd);
		if (ep_add(gw, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->cev) < 0) {
			conn_free(gw, c, true);
			continue;
		}
		switch (kn_flow_check_addr(gw->cfg->allow, gw->resolved, &c->dst, c->port, now_ms(), &v)) {
		case KN_FLOW_NEED_NAME:
			c->state = SNIFF;
			c->buf = kn_xmalloc(KN_SNIFF_MAX);
			list_append(gw, c, now_ms() + SNIFF_TIMEOUT_MS);
			conn_sniff(gw, c);
			break;
		default:
			conn_decided(gw, c, &v);
			break;
		}
	}
}

/* --- DNS -------------------------------------------------------------- */

static struct upstream_sock *upstream_for(kn_gateway *gw, int family)
{
	struct upstream_sock *u = family == AF_INET ? &gw->up4 : &gw->up6;

	if (u->fd >= 0)
		return u;
	u->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		return NULL;
	if (ep_add(gw, u->fd, EPOLLIN, &u->ev) < 0) {
		close(u->fd);
		u->fd = -1;
		return NULL;
	}
	return u;
}

static void dns_send_client(kn_gateway *gw, const struct dns_pending *p, const uint8_t *msg, size_t len)
{
	sendto(gw->dns.fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *) &p->client, p->client_len);
}

static void dns_reply_rcode(kn_gateway *gw, const uint8_t *pkt, size_t len, const struct sockaddr_storage *client,
			    socklen_t client_len, int rcode)
{
	uint8_t out[KN_DNS_MAX_UDP];
	size_t outlen;

	if (kn_dns_build_reply(pkt, len, rcode, out, sizeof(out), &outlen) == 0)
		sendto(gw->dns.fd, out, outlen, MSG_DONTWAIT, (const struct sockaddr *) client, client_len);
}

static size_t sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Send (or re-send) @p to its current upstream. Return: 0, or -1 when no upstream could be asked. */
static int dns_ask(kn_gateway *gw, struct dns_pending *p)
{
	const struct sockaddr_storage *srv = &gw->cfg->upstreams[p->upstream];
	struct upstream_sock *u = upstream_for(gw, srv->ss_family);

	if (!u)
		return -1;
	kn_dns_set_id(p->pkt, p->len, p->up_id);
	if (sendto(u->fd, p->pkt, p->len, MSG_DONTWAIT, (const struct sockaddr *) srv, (socklen_t) sockaddr_len(srv)) < 0)
		return -1;
	p->tries++;
	p->deadline = now_ms() + DNS_TRY_MS;
	return 0;
}

/* The next server (two tries each), or SERVFAIL when all were asked. */
static void dns_retry_or_fail(kn_gateway *gw, struct dns_pending *p, const char *why)
{
	while (p->tries < 2 * gw->cfg->n_upstreams) {
		p->upstream = p->tries / 2;
		if (dns_ask(gw, p) == 0)
			return;
		p->tries++;
	}
	kn_dns_set_id(p->pkt, p->len, p->q.id);
	dns_reply_rcode(gw, p->pkt, p->len, &p->client, p->client_len, KN_DNS_RCODE_SERVFAIL);
	audit_dns(gw, &p->q, NULL, "allow", why);
	p->used = false;
	gw->n_pending--;
}

static struct dns_pending *pending_find(kn_gateway *gw, uint16_t up_id)
{
	for (size_t i = 0; i < DNS_MAX_PENDING; i++)
		if (gw->pending[i].used && gw->pending[i].up_id == up_id)
			return &gw->pending[i];
	return NULL;
}

static void on_dns_query(kn_gateway *gw)
{
	for (;;) {
		uint8_t pkt[KN_DNS_MAX_UDP];
		struct sockaddr_storage client;
		socklen_t cl = sizeof(client);
		ssize_t n = recvfrom(gw->dns.fd, pkt, sizeof(pkt), MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *) &client, &cl);
		kn_dns_query q;
		struct dns_pending *p = NULL;
		size_t len;
		bool is_invalid;

		if (n < 0)
			return;
		if ((size_t) n > sizeof(pkt))
			continue; /* truncated: not a query of ours to answer */
		len = (size_t) n;
		if (kn_dns_parse_query(pkt, len, &q) < 0) {
			kn_audit_net(gw->cfg->audit, "dns", NULL, NULL, 0, NULL, "deny", "malformed query dropped");
			continue;
		}
		is_invalid = !strcmp(q.name, "invalid") ||
			     (strlen(q.name) > 8 && !strcmp(q.name + strlen(q.name) - 8, ".invalid"));
		if (is_invalid || !kn_allowlist_name_allowed(gw->cfg->allow, q.name, 0)) {
			dns_reply_rcode(gw, pkt, len, &client, cl, KN_DNS_RCODE_NXDOMAIN);
			audit_dns(gw, &q, NULL, "deny", is_invalid ? "reserved name (RFC 6761 .invalid): NXDOMAIN" :
								    "name not allowed: NXDOMAIN");
			continue;
		}
		if (q.qtype != KN_DNS_TYPE_A && q.qtype != KN_DNS_TYPE_AAAA) {
			dns_reply_rcode(gw, pkt, len, &client, cl, KN_DNS_RCODE_NOERROR);
			audit_dns(gw, &q, NULL, "deny", "only A and AAAA queries are forwarded: empty answer");
			continue;
		}
		if (gw->cfg->n_upstreams == 0 || gw->n_pending == DNS_MAX_PENDING) {
			dns_reply_rcode(gw, pkt, len, &client, cl, KN_DNS_RCODE_SERVFAIL);
			audit_dns(gw, &q, NULL, "allow", gw->cfg->n_upstreams ? "too many queries in flight: SERVFAIL" :
									    "no upstream DNS server: SERVFAIL");
			continue;
		}
		for (size_t i = 0; i < DNS_MAX_PENDING; i++) {
			if (!gw->pending[i].used) {
				p = &gw->pending[i];
				break;
			}
		}
		if (!p)
			continue; /* cannot happen: n_pending < DNS_MAX_PENDING */
		memset(p, 0, sizeof(*p));
		p->used = true;
		gw->n_pending++;
		do {
			if (getrandom(&p->up_id, sizeof(p->up_id), 0) != (ssize_t) sizeof(p->up_id))
				p->up_id = (uint16_t) rand();
		} while (pending_find(gw, p->up_id) != p);
		memcpy(&p->client, &client, cl);
		p->client_len = cl;
		p->q = q;
		memcpy(p->pkt, pkt, len);
		p->len = len;
		p->upstream = 0;
		dns_retry_or_fail(gw, p, "no upstream DNS server could be asked: SERVFAIL");
	}
}

struct addr_log {
	kn_gateway *gw;
	char first[INET6_ADDRSTRLEN];
	unsigned n;
};

static void record_addr(void *ctx, const char *name, const kn_addr *a, uint32_t ttl)
{
	struct addr_log *log = ctx;

	kn_resolved_add(log->gw->resolved, name, a, ttl, now_ms());
	if (log->n++ == 0)
		kn_addr_format(a, log->first, sizeof(log->first));
}

static bool same_server(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	{
		const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;

		return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
}

static void on_dns_answer(kn_gateway *gw, struct upstream_sock *u)
{
	for (;;) {
		uint8_t resp[4096], out[KN_DNS_MAX_UDP];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(u->fd, resp, sizeof(resp), MSG_DONTWAIT, (struct sockaddr *) &from, &fl);
		struct dns_pending *p;
		struct addr_log log = { .gw = gw };
		size_t outlen;
		char reason[96];

		if (n < 0)
			return;
		if (n < 12)
			continue;
		p = pending_find(gw, (uint16_t) (resp[0] << 8 | resp[1]));
		/* only the server that was asked, with the id it was given */
		if (!p || !same_server(&from, &gw->cfg->upstreams[p->upstream]))
			continue;
		if (kn_dns_filter_answer(&p->q, resp, (size_t) n, out, sizeof(out), &outlen, record_addr, &log) < 0) {
			dns_retry_or_fail(gw, p, "the upstream's answer was malformed: SERVFAIL");
			continue;
		}
		dns_send_client(gw, p, out, outlen);
		snprintf(reason, sizeof(reason), "answered: %u address%s (rcode %u)", log.n, log.n == 1 ? "" : "es",
			 out[3] & 0x0f);
		audit_dns(gw, &p->q, log.n ? log.first : NULL, "allow", reason);
		p->used = false;
		gw->n_pending--;
	}
}

/* --- the loop's interface -------------------------------------------- */

int kn_gateway_start(const kn_gateway_config *cfg, kn_gateway_socks *socks, int epfd, kn_gateway **out,
		     kn_error *err)
{
	kn_gateway *gw = kn_xcalloc(1, sizeof(*gw));

	gw->cfg = cfg;
	gw->epfd = epfd;
	gw->resolved = kn_resolved_new();
	gw->up4.ev.type = gw->up6.ev.type = EV_DNS_UPSTREAM;
	gw->up4.fd = gw->up6.fd = -1;
	gw->dns.ev.type = EV_DNS_SANDBOX;
	gw->dns.fd = socks->dns4;
	socks->dns4 = -1;
	gw->listeners = kn_xcalloc(2 * socks->n_ports, sizeof(*gw->listeners));
	for (size_t i = 0; i < socks->n_ports; i++) {
		for (int v6 = 0; v6 < 2; v6++) {
			struct listener *l = &gw->listeners[gw->n_listeners++];

			l->ev.type = EV_LISTENER;
			l->port = socks->ports[i];
			l->fd = v6 ? socks->tcp6[i] : socks->tcp4[i];
			if (v6)
				socks->tcp6[i] = -1;
			else
				socks->tcp4[i] = -1;
		}
	}
	kn_gateway_socks_close(socks);
	for (size_t i = 0; i < gw->n_listeners; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		/* the port each socket really listens on, whatever the sender said */
		if (getsockname(gw->listeners[i].fd, (struct sockaddr *) &ss, &sl) == 0)
			gw->listeners[i].port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *) &ss)->sin_port :
										((struct sockaddr_in6 *) &ss)->sin6_port);
		if (ep_add(gw, gw->listeners[i].fd, EPOLLIN, &gw->listeners[i].ev) < 0) {
			int r = kn_error_set(err, errno, "gateway: epoll");

			kn_gateway_stop(gw);
			return r;
		}
	}
	if (gw->dns.fd < 0 || ep_add(gw, gw->dns.fd, EPOLLIN, &gw->dns.ev) < 0) {
		int r = kn_error_set(err, gw->dns.fd < 0 ? EBADF : errno, "gateway: DNS socket");

		kn_gateway_stop(gw);
		return r;
	}
	*out = gw;
	return 0;
}

void kn_gateway_event(kn_gateway *gw, const struct epoll_event *ev)
{
	kn_ev *tag = ev->data.ptr;
	struct conn *c;

	switch (tag->type) {
	case EV_LISTENER:
		on_accept(gw, (struct listener *) tag);
		break;
	case EV_DNS_SANDBOX:
		on_dns_query(gw);
		break;
	case EV_DNS_UPSTREAM:
		on_dns_answer(gw, (struct upstream_sock *) tag);
		break;
	case EV_CLIENT:
		c = (struct conn *) ((char *) tag - offsetof(struct conn, cev));
		if (c->dead)
			break;
		if (c->state == SNIFF)
			conn_sniff(gw, c);
		else if (c->state == RELAY)
			conn_pump(gw, c);
		/* CONNECTING: the client's bytes wait in its socket until the upstream answers */
		break;
	case EV_UPSTREAM:
		c = (struct conn *) ((char *) tag - offsetof(struct conn, uev));
		if (c->dead)
			break;
		if (c->state == CONNECTING)
			conn_connected(gw, c);
		else if (c->state == RELAY)
			conn_pump(gw, c);
		break;
	default:
		break;
	}
}

int kn_gateway_timeout_ms(const kn_gateway *gw)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	for (const struct conn *c = gw->head; c; c = c->next)
		if (c->deadline < next)
			next = c->deadline;
	for (size_t i = 0; gw->n_pending && i < DNS_MAX_PENDING; i++)
		if (gw->pending[i].used && gw->pending[i].deadline < next)
			next = gw->pending[i].deadline;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int) (next - now);
}

void kn_gateway_tick(kn_gateway *gw)
{
	uint64_t now = now_ms();
	struct conn *c;

	reap_dead(gw);
	c = gw->head;

	while (c) {
		struct conn *next = c->next;

		if (c->deadline <= now)
			conn_deny(gw, c, c->state == SNIFF ? "no TLS SNI / HTTP Host within 10 s" :
							     "the destination did not answer within 10 s");
		c = next;
	}
	for (size_t i = 0; gw->n_pending && i < DNS_MAX_PENDING; i++) {
		struct dns_pending *p = &gw->pending[i];

		if (p->used && p->deadline <= now)
			dns_retry_or_fail(gw, p, "the upstream DNS servers did not answer: SERVFAIL");
	}
}

void kn_gateway_stop(kn_gateway *gw)
{
	if (!gw)
		return;
	while (gw->all)
		conn_free(gw, gw->all, true);
	reap_dead(gw);
	for (size_t i = 0; i < gw->n_listeners; i++)
		if (gw->listeners[i].fd >= 0)
			close(gw->listeners[i].fd);
	if (gw->dns.fd >= 0)
		close(gw->dns.fd);
	if (gw->up4.fd >= 0)
		close(gw->up4.fd);
	if (gw->up6.fd >= 0)
		close(gw->up6.fd);
	kn_audit_flush(gw->cfg->audit);
	kn_resolved_free(gw->resolved);
	free(gw->listeners);
	free(gw);
}

/* --- the child's self-test -------------------------------------------- */

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

static int probe_dns(kn_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in gw = { .sin_family = AF_INET, .sin_port = htons(53) };
	uint8_t q[512], resp[KN_DNS_MAX_UDP];
	size_t qlen;
	uint16_t id;

	if (fd < 0)
		return kn_error_set(err, errno, "DNS probe: socket");
	inet_pton(AF_INET, KN_NET_GW4, &gw.sin_addr);
	if (getrandom(&id, sizeof(id), 0) != (ssize_t) sizeof(id))
		id = 0x6b6e;
	if (kn_dns_build_query(KN_GATEWAY_PROBE_NAME, KN_DNS_TYPE_A, id, q, sizeof(q), &qlen) < 0)
		return kn_error_setx(err, EINVAL, "DNS probe: cannot build the query");
	if (connect(fd, (struct sockaddr *) &gw, sizeof(gw)) < 0)
		return kn_error_set(err, errno, "DNS probe: connect to %s:53", KN_NET_GW4);
	for (int attempt = 0; attempt < 3; attempt++) {
		ldns_pkt *pkt = NULL;
		ssize_t n;
		bool ok;

		if (send(fd, q, qlen, 0) != (ssize_t) qlen)
			return kn_error_set(err, errno, "DNS probe: send to %s:53", KN_NET_GW4);
		if (wait_fd(fd, POLLIN, 1000) <= 0)
			continue;
		n = recv(fd, resp, sizeof(resp), 0);
		if (n < 0)
			return kn_error_set(err, errno, "DNS probe: receive");
		if (ldns_wire2pkt(&pkt, resp, (size_t) n) != LDNS_STATUS_OK)
			return kn_error_setx(err, EPROTO, "DNS probe: the filter's answer is malformed");
		ok = ldns_pkt_id(pkt) == id && ldns_pkt_qr(pkt) && ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN;
		ldns_pkt_free(pkt);
		if (!ok)
			return kn_error_setx(err, EPROTO, "DNS probe: the filter did not answer NXDOMAIN for %s",
					     KN_GATEWAY_PROBE_NAME);
		return 0;
	}
	return kn_error_setx(err, ETIMEDOUT, "DNS probe: no answer from the filter at %s:53 within 3 s", KN_NET_GW4);
}

static int probe_connect(uint16_t port, int *fd_out, kn_error *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(port) };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return kn_error_set(err, errno, "flow probe: socket");
	inet_pton(AF_INET, KN_GATEWAY_PROBE_ADDR, &dst.sin_addr);
	if (connect(fd, (struct sockaddr *) &dst, sizeof(dst)) == 0) {
		*fd_out = steal_fd(&fd);
		return 0;
	}
	if (errno != EINPROGRESS)
		return -errno;
	if (wait_fd(fd, POLLOUT, 2000) <= 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -errno;
	if (soerr)
		return -soerr;
	*fd_out = steal_fd(&fd);
	return 0;
}

int kn_gateway_probe(const uint16_t *ports, size_t n_ports, kn_error *err)
{
	uint16_t closed_port = 9;
	int fd = -1, r;
	char byte;

	r = probe_dns(err);
	if (r < 0)
		return kn_error_wrap(err, "network self-test");

	/* a flow to a denied address: accepted by the gateway's kernel, then reset by the supervisor */
	r = probe_connect(ports[0], &fd, err);
	if (r == -ECONNRESET)
		goto reset_seen; /* the reset came before the handshake was reported */
	if (r < 0)
		return kn_error_setx(err, -r, "network self-test: connect to %s:%u through the gateway: %s",
				     KN_GATEWAY_PROBE_ADDR, ports[0], strerror(-r));
	if (wait_fd(fd, POLLIN, 2000) <= 0) {
		close(fd);
		return kn_error_setx(err, ETIMEDOUT, "network self-test: a flow to %s:%u was not refused within 2 s",
				     KN_GATEWAY_PROBE_ADDR, ports[0]);
	}
	r = (int) recv(fd, &byte, 1, MSG_DONTWAIT);
	r = r < 0 ? errno : r;
	close(fd);
	if (r != ECONNRESET && r != 0)
		return kn_error_setx(err, EPROTO, "network self-test: a flow to %s:%u was not reset (%s)",
				     KN_GATEWAY_PROBE_ADDR, ports[0], r > 0 ? strerror(r) : "data arrived");

reset_seen:
	/* a port nobody listens on: refused at once, by the sandbox's own rules */
	for (size_t i = 0; i < n_ports; i++)
		if (ports[i] == closed_port)
			closed_port++, i = (size_t) -1;
	r = probe_connect(closed_port, &fd, err);
	if (r == 0) {
		close(fd);
		return kn_error_setx(err, EPROTO, "network self-test: port %u accepted a connection", closed_port);
	}
	if (r != -EACCES && r != -EPERM)
		return kn_error_setx(err, -r, "network self-test: port %u: expected 'permission denied', got: %s",
				     closed_port, strerror(-r));

	/* UDP other than DNS to the gateway: no route (the prohibit rule) */
	{
		_cleanup_close_ int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9) };

		inet_pton(AF_INET, KN_GATEWAY_PROBE_ADDR, &dst.sin_addr);
		if (u < 0)
			return kn_error_set(err, errno, "network self-test: socket");
		if (sendto(u, "x", 1, 0, (struct sockaddr *) &dst, sizeof(dst)) >= 0)
			return kn_error_setx(err, EPROTO, "network self-test: UDP to %s:9 was sent; it must be refused",
					     KN_GATEWAY_PROBE_ADDR);
		if (errno != EACCES && errno != EPERM && errno != ENETUNREACH)
			return kn_error_set(err, errno, "network self-test: UDP to %s:9", KN_GATEWAY_PROBE_ADDR);
	}
	return 0;
}
