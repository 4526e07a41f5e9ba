/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_AUDIT_H
#define KENNEL_AUDIT_H

/*
 * The audit log: one JSON object per line, appended by kennel on the host,
 * never by anything inside the sandbox.  Each event is a single write(2)
 * on an O_APPEND fd, so several writers (sessions) interleave whole lines.
 * Durability: kn_audit_flush() fdatasync()s what was written since the
 * last flush; the gateway calls it at most every KN_AUDIT_FLUSH_MS and on
 * exit, so a busy sandbox does not pay a disk flush per connection.
 */

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define KN_AUDIT_FLUSH_MS 500

typedef struct kn_audit {
	int fd;
	bool dirty;
	char session[33];
} kn_audit;

/*
 * kn_audit_default_path() - $XDG_STATE_HOME/kennel/audit.log (default
 * ~/.local/state/kennel/audit.log); as root /var/log/kennel/audit.log.
 * Return: a malloc'd path, or NULL with @err set (no HOME).
 */
char *kn_audit_default_path(kn_error *err);

/*
 * kn_audit_open() - open (create, mode 0600) @path for appending; its
 * directory is created (0700) when missing.  @session is the 32-hex-digit
 * session id written into every event.
 * Return: 0 or -errno with @err set.
 */
int kn_audit_open(kn_audit *a, const char *path, const char *session, kn_error *err);

/* kn_audit_close() - flush and close; safe on a closed or never-opened log (fd -1). */
void kn_audit_close(kn_audit *a);

/*
 * kn_audit_net() - a network event: @kind "dns", "flow" or "network";
 * @name, @address and @qtype may be NULL and @port 0 (written as null).
 * @decision "allow", "deny" or "info".  Failure to write is reported on
 * stderr once, not fatal (the sandbox is already running).
 */
void kn_audit_net(kn_audit *a, const char *kind, const char *name, const char *address, unsigned port,
		  const char *qtype, const char *decision, const char *reason);

/* kn_audit_flush() - fdatasync() when something was written since the last flush. */
void kn_audit_flush(kn_audit *a);

/* kn_session_id() - 32 random hex digits (128 bits) into @out. Return: 0 or -errno. */
int kn_session_id(char out[33]);

#endif
