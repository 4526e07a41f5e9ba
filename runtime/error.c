/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int error_vset(kn_error *err, int code, int with_strerror, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static int error_vset(kn_error *err, int code, int with_strerror, const char *fmt, va_list ap)
{
	int n;

	if (code < 0)
		code = -code;
	if (!err)
		return code ? -code : -EIO;
	err->code = code;
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		err->msg[0] = '\0';
	else if (with_strerror && code && (size_t) n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t) n, ": %s", strerror(code));
	return code ? -code : -EIO;
}

int kn_error_set(kn_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_vset(err, code, 1, fmt, ap);
	va_end(ap);
	return r;
}

int kn_error_setx(kn_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_vset(err, code ? code : EINVAL, 0, fmt, ap);
	va_end(ap);
	return r;
}

int kn_error_wrap(kn_error *err, const char *fmt, ...)
{
	char prefix[512];
	char old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return -EIO;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is acceptable: the message is for a human and stays terminated. */
	{
		size_t pl = strnlen(prefix, sizeof(prefix));
		size_t off = 0;

		memcpy(err->msg, prefix, pl);
		off = pl;
		if (old[0] && off + 2 < sizeof(err->msg)) {
			err->msg[off++] = ':';
			err->msg[off++] = ' ';
			size_t ol = strnlen(old, sizeof(old));
			if (ol > sizeof(err->msg) - 1 - off)
				ol = sizeof(err->msg) - 1 - off;
			memcpy(err->msg + off, old, ol);
			off += ol;
		}
		err->msg[off] = '\0';
	}
	return err->code ? -err->code : -EIO;
}

void kn_error_clear(kn_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
