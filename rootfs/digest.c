/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

struct kn_sha256 {
	EVP_MD_CTX *ctx;
};

kn_sha256 *kn_sha256_new(void)
{
	kn_sha256 *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void kn_sha256_update(kn_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void kn_sha256_final(kn_sha256 *h, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
	kn_sha256_free(h);
}

void kn_sha256_free(kn_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void kn_sha256_buf(const void *data, size_t len, char hex[65])
{
	kn_sha256 *h = kn_sha256_new();

	if (!h)
		abort();
	kn_sha256_update(h, data, len);
	kn_sha256_final(h, hex);
}

int kn_sha256_copy(int in_fd, int out_fd, char hex[65], uint64_t *bytes, kn_error *err)
{
	const size_t cap = 1 << 20;
	unsigned char *buf = malloc(cap);
	kn_sha256 *h = kn_sha256_new();
	uint64_t total = 0;
	int r = 0;

	if (!buf || !h) {
		r = kn_error_set(err, ENOMEM, "sha256");
		goto out;
	}
	for (;;) {
		ssize_t n = read(in_fd, buf, cap);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = kn_error_set(err, errno, "read");
			goto out;
		}
		if (n == 0)
			break;
		kn_sha256_update(h, buf, (size_t) n);
		total += (uint64_t) n;
		for (ssize_t off = 0; out_fd >= 0 && off < n;) {
			ssize_t w = write(out_fd, buf + off, (size_t) (n - off));

			if (w < 0) {
				if (errno == EINTR)
					continue;
				r = kn_error_set(err, errno, "write");
				goto out;
			}
			off += w;
		}
	}
	kn_sha256_final(h, hex);
	h = NULL;
	if (bytes)
		*bytes = total;
out:
	kn_sha256_free(h);
	free(buf);
	return r;
}

void kn_xxh128_hex(XXH128_hash_t h, char hex[KN_XXH128_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	for (size_t i = 0; i < sizeof(c.digest); i++) {
		hex[2 * i] = digits[c.digest[i] >> 4];
		hex[2 * i + 1] = digits[c.digest[i] & 15];
	}
	hex[KN_XXH128_HEX_LEN] = '\0';
}

int kn_xxh128_fd(int fd, char hex[KN_XXH128_HEX_LEN + 1], kn_error *err)
{
	const size_t cap = 1 << 20;
	unsigned char *buf = malloc(cap);
	XXH3_state_t *st = XXH3_createState();
	int r = 0;

	if (!buf || !st || XXH3_128bits_reset(st) != XXH_OK) {
		r = kn_error_set(err, ENOMEM, "xxh3");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, cap);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = kn_error_set(err, errno, "read");
			goto out;
		}
		if (n == 0)
			break;
		XXH3_128bits_update(st, buf, (size_t) n);
	}
	kn_xxh128_hex(XXH3_128bits_digest(st), hex);
out:
	XXH3_freeState(st);
	free(buf);
	return r;
}
