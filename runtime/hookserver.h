/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_HOOKSERVER_H
#define KENNEL_HOOKSERVER_H

/*
 * The supervisor's end of the hook shim's socket (hooks/hook_proto.h):
 * accepts the shim's connections, reads one event each, asks the decision
 * function, writes its answer back and audits the decision.  Driven by the
 * launcher's epoll loop (loop.h); single-threaded, non-blocking.
 */

#include <stddef.h>
#include <sys/epoll.h>

#include "audit.h"
#include "error.h"
#include "loop.h"

typedef struct kn_hook_answer {
	char *output;          /* malloc'd hook output JSON for the shim; NULL: print nothing */
	char decision[8];      /* "allow", "ask", "deny", or "" for events that decide nothing */
	char event[32];        /* hook_event_name */
	char tool[64];         /* tool_name, "" when none */
	char target[512];      /* the command or file the tool acts on (cut), "" when none */
	char rule[64];         /* the rule that decided, "" when none */
	char reason[512];
} kn_hook_answer;

/* Decide @event (@len bytes of hook event JSON, NUL-terminated) into @out (zeroed by the caller). */
typedef void (*kn_hook_decide_fn)(void *ctx, const char *event, size_t len, kn_hook_answer *out);

typedef struct kn_hookserver kn_hookserver;

/* What the launcher needs to serve the hooks of one sandbox. */
typedef struct kn_hooks_config {
	const char *socket;      /* the host path of the socket (session.h) */
	/* called once by the launcher before it serves the socket, while the
	 * child builds the sandbox (its cost overlaps theirs); NULL: none */
	int (*prepare)(void *ctx, kn_error *err);
	kn_hook_decide_fn decide;
	void *ctx;
	kn_audit *audit;
} kn_hooks_config;

/*
 * kn_hookserver_start() - create the listening socket at @path (mode
 * 0666: the sandbox's user connects; the directory keeps everyone else
 * out) and add it to @epfd.  @decide and @audit must outlive the server.
 * Return: 0 and *@out, or -errno with @err set.
 */
int kn_hookserver_start(const char *path, int epfd, kn_hook_decide_fn decide, void *ctx, kn_audit *audit,
			kn_hookserver **out, kn_error *err);

/* kn_hookserver_event() - handle one epoll event whose kn_ev type is >= KN_EV_HOOKS. */
void kn_hookserver_event(kn_hookserver *hs, const struct epoll_event *ev);

/* kn_hookserver_timeout_ms() - how long the loop may sleep for the server's deadlines (-1: none). */
int kn_hookserver_timeout_ms(const kn_hookserver *hs);

/* kn_hookserver_tick() - drop clients past their deadline. */
void kn_hookserver_tick(kn_hookserver *hs);

/* kn_hookserver_stop() - close everything, unlink the socket, free @hs; NULL is fine. */
void kn_hookserver_stop(kn_hookserver *hs);

#endif
