/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_DIGEST_H
#define KENNEL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>

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

/*
 * XXH3-128 (libxxhash), the hash of each file in an unpack manifest.  Not
 * cryptographic, on purpose: the manifest lets `verify` find a tree that
 * was corrupted (a bad disk, a stray write, someone's edit by mistake);
 * anyone able to rewrite a file of the cache can rewrite the manifest next
 * to it too, so a cryptographic hash there would stop no one, and it costs
 * a CPU second per GiB unpacked where XXH3 costs a few hundredths.  The
 * archive itself (what the pin names) is always SHA-256.
 */
#define KN_XXH128_HEX_LEN 32

/* kn_xxh128_hex() - @h in its canonical (big-endian) form as lowercase hex, NUL-terminated. */
void kn_xxh128_hex(XXH128_hash_t h, char hex[KN_XXH128_HEX_LEN + 1]);

/*
 * kn_xxh128_fd() - read @fd to its end and give its XXH3-128.
 * Return: 0 with @hex, or -errno with @err set.
 */
int kn_xxh128_fd(int fd, char hex[KN_XXH128_HEX_LEN + 1], kn_error *err);

#endif
