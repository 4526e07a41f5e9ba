/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_ERROR_H
#define KENNEL_ERROR_H

#include <stdarg.h>

/*
 * kennel's error object.  Fallible functions return a negative errno value
 * and fill a kn_error with a human message; callers add context with
 * kn_error_wrap() so the user reads the whole chain:
 *   kennel: mount /workspace: bind /home/u/x: No such file or directory
 */
typedef struct kn_error {
	int code;        /* positive errno value, 0 when unset */
	char msg[1024];  /* NUL-terminated message, "" when unset */
} kn_error;

#define KN_ERROR_INIT { 0, "" }

/*
 * kn_error_set() - record an error: the formatted message followed by
 * ": strerror(code)" when code is not 0.
 * Return: -code (or -EIO when code is 0), ready to be returned by the caller.
 */
int kn_error_set(kn_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * kn_error_setx() - record an error whose message stands alone (no strerror
 * text appended), e.g. a validation failure.
 * Return: -code (or -EINVAL when code is 0).
 */
int kn_error_setx(kn_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * kn_error_wrap() - prepend context to the message already held: "ctx: old".
 * Return: -err->code (or -EIO when unset), so `return kn_error_wrap(...)` works.
 */
int kn_error_wrap(kn_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* kn_error_clear() - reset to the unset state. */
void kn_error_clear(kn_error *err);

#endif
