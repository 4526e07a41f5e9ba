/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_DIGEST_H
#define KENNEL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* An incremental SHA-256 (OpenSSL EVP). */
typedef struct kn_sha256 kn_sha256;

/* kn_sha256_new() - a fresh context.  Return: NULL only on allocation failure. */
kn_sha256 *kn_sha256_new(void);
void kn_sha256_update(kn_sha256 *h, const void *data, size_t len);
/* kn_sha256_final() - write the lowercase hex digest (65 bytes with NUL) and free @h. */
void kn_sha256_final(kn_sha256 *h, char hex[65]);
/* kn_sha256_free() - free without a digest (error paths); NULL-safe. */
void kn_sha256_free(kn_sha256 *h);

/*
 * kn_sha256_copy() - read @in_fd to its end, hashing, and write every byte
 * to @out_fd as well when it is >= 0 (so what is verified is exactly what
 * is kept: no window to swap the file between hashing and unpacking).
 * Return: 0 with @hex and *@bytes, or -errno with @err set.
 */
int kn_sha256_copy(int in_fd, int out_fd, char hex[65], uint64_t *bytes, kn_error *err);

/* kn_sha256_buf() - one-shot digest of @len bytes. */
void kn_sha256_buf(const void *data, size_t len, char hex[65]);

#endif
