/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hook server (see hookserver.h).  Each shim connection:
 *   1. accepted (non-blocking), given a deadline of KN_HOOK_TIMEOUT_S;
 *   2. READ: the 4-byte length, then the event (at most
 *      KN_HOOK_MAX_EVENT), until the shim has sent it all;
 *   3. decided by the decide function, audited;
 *   4. WRITE: the 4-byte length and the answer, then closed.
 * A client that breaks the protocol or its deadline is dropped; the shim
 * then fails closed on its side.
 */
#include "hookserver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "hook_proto.h"
#include "util.h"

enum { EV_LISTEN = KN_EV_HOOKS, EV_CLIENT };

struct client {
	kn_ev ev;
	struct client *prev, *next;
	int fd;
	bool writing;
	uint8_t hdr[4];
	size_t hdr_got;
	char *buf; /* the event (NUL-terminated), then the answer with its length header */
	size_t len, got;
	size_t out_len, out_sent;
	uint64_t deadline;
};

struct kn_hookserver {
	kn_ev ev;
	int fd;
	int epfd;
	char *path;
	kn_hook_decide_fn decide;
	void *ctx;
	kn_audit *audit;
	struct client *clients;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void client_free(kn_hookserver *hs, struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		hs->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd);
	free(c->buf);
	free(c);
}

static void audit_answer(kn_hookserver *hs, const kn_hook_answer *a)
{
	kn_audit_hook(hs->audit, a->event, a->tool[0] ? a->tool : NULL, a->target[0] ? a->target : NULL,
		      a->decision[0] ? a->decision : "info", a->rule[0] ? a->rule : NULL, a->reason);
}

static void client_decide(kn_hookserver *hs, struct client *c)
{
	kn_hook_answer a;
	size_t n;

	memset(&a, 0, sizeof(a));
	hs->decide(hs->ctx, c->buf, c->len, &a);
	audit_answer(hs, &a);
	n = a.output ? strlen(a.output) : 0;
	if (n > KN_HOOK_MAX_ANSWER)
		n = 0; /* cannot happen with kennel's own outputs; the shim then fails closed */
	free(c->buf);
	c->buf = kn_xmalloc(n + 4);
	kn_hook_put_len((uint8_t *) c->buf, (uint32_t) n);
	if (n)
		memcpy(c->buf + 4, a.output, n);
	free(a.output);
	c->out_len = n + 4;
	c->out_sent = 0;
	c->writing = true;
}

static void client_io(kn_hookserver *hs, struct client *c)
{
	while (!c->writing) {
		ssize_t r;

		if (c->hdr_got < 4) {
			r = recv(c->fd, c->hdr + c->hdr_got, 4 - c->hdr_got, MSG_DONTWAIT);
			if (r == 0) {
				client_free(hs, c);
				return;
			}
			if (r < 0)
				goto gone_or_wait;
			c->hdr_got += (size_t) r;
			if (c->hdr_got == 4) {
				c->len = kn_hook_get_len(c->hdr);
				if (c->len > KN_HOOK_MAX_EVENT) {
					client_free(hs, c);
					return;
				}
				c->buf = kn_xmalloc(c->len + 1);
				c->got = 0;
			}
			continue;
		}
		if (c->got == c->len) {
			c->buf[c->len] = '\0';
			client_decide(hs, c);
			break;
		}
		r = recv(c->fd, c->buf + c->got, c->len - c->got, MSG_DONTWAIT);
		if (r == 0) {
			client_free(hs, c);
			return;
		}
		if (r < 0)
			goto gone_or_wait;
		c->got += (size_t) r;
	}
	while (c->out_sent < c->out_len) {
		ssize_t w = send(c->fd, c->buf + c->out_sent, c->out_len - c->out_sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w <= 0) {
			client_free(hs, c);
			return;
		}
		c->out_sent += (size_t) w;
	}
	client_free(hs, c);
	return;

gone_or_wait:
	if (errno == EAGAIN || errno == EINTR)
		return;
	client_free(hs, c);
}

static void client_ready(kn_hookserver *hs, struct client *c)
{
	client_io(hs, c);
}

static void on_accept(kn_hookserver *hs)
{
	for (;;) {
		int fd = accept4(hs->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
		struct client *c;

		if (fd < 0)
			return;
		c = kn_xcalloc(1, sizeof(*c));
		c->ev.type = EV_CLIENT;
		c->fd = fd;
		c->deadline = now_ms() + (uint64_t) KN_HOOK_TIMEOUT_S * 1000;
		c->next = hs->clients;
		if (hs->clients)
			hs->clients->prev = c;
		hs->clients = c;
		e.data.ptr = &c->ev;
		if (epoll_ctl(hs->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
			client_free(hs, c);
			continue;
		}
		client_ready(hs, c);
	}
}

int kn_hookserver_start(const char *path, int epfd, kn_hook_decide_fn decide, void *ctx, kn_audit *audit,
			kn_hookserver **out, kn_error *err)
{
	kn_hookserver *hs;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event e = { .events = EPOLLIN };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return kn_error_setx(err, ENAMETOOLONG, "hook socket %s: path too long for a unix socket", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return kn_error_set(err, errno, "hook socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return kn_error_set(err, errno, "hook socket %s", path);
	/* the sandbox's uid (the caller's own, or --host-uid as root) must be able to connect */
	if (chmod(sa.sun_path, 0666) < 0 || listen(fd, 128) < 0) {
		int r = kn_error_set(err, errno, "hook socket %s", sa.sun_path);

		unlink(sa.sun_path);
		return r;
	}
	hs = kn_xcalloc(1, sizeof(*hs));
	hs->ev.type = EV_LISTEN;
	hs->epfd = epfd;
	hs->path = kn_xstrdup(path);
	hs->decide = decide;
	hs->ctx = ctx;
	hs->audit = audit;
	e.data.ptr = &hs->ev;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		int r = kn_error_set(err, errno, "hook socket: epoll");

		unlink(path);
		free(hs->path);
		free(hs);
		return r;
	}
	hs->fd = steal_fd(&fd);
	*out = hs;
	return 0;
}

void kn_hookserver_event(kn_hookserver *hs, const struct epoll_event *ev)
{
	kn_ev *tag = ev->data.ptr;

	if (tag->type == EV_LISTEN)
		on_accept(hs);
	else if (tag->type == EV_CLIENT)
		client_ready(hs, (struct client *) tag);
}

int kn_hookserver_timeout_ms(const kn_hookserver *hs)
{
	uint64_t now = now_ms(), next = UINT64_MAX;

	for (const struct client *c = hs->clients; c; c = c->next)
		if (c->deadline < next)
			next = c->deadline;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int) (next - now);
}

void kn_hookserver_tick(kn_hookserver *hs)
{
	uint64_t now = now_ms();

	for (struct client *c = hs->clients, *next; c; c = next) {
		next = c->next;
		if (c->deadline <= now)
			client_free(hs, c);
	}
}

void kn_hookserver_stop(kn_hookserver *hs)
{
	if (!hs)
		return;
	while (hs->clients)
		client_free(hs, hs->clients);
	close(hs->fd);
	unlink(hs->path);
	free(hs->path);
	free(hs);
}
