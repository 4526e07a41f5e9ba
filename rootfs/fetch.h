/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_FETCH_H
#define KENNEL_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/*
 * kn_fetch_url() - download @url (http://, https:// or file://) with
 * libcurl into @out_fd, hashing every byte as it is written.  TLS peers are
 * verified; at most 5 redirects, and only to http(s); a progress bar on
 * stderr when @progress (callers pass isatty(2) && !quiet).  HTTP errors
 * (>= 400) fail with the status in the message.
 * Return: 0 with @hex and *@bytes, or -errno with @err set.
 */
int kn_fetch_url(const char *url, int out_fd, bool progress, char hex[65], uint64_t *bytes, kn_error *err);

#endif
