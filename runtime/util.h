/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_UTIL_H
#define KENNEL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* Allocation failure is not recoverable in a launcher: these abort. */
void *kn_xmalloc(size_t n);
void *kn_xcalloc(size_t n, size_t size);
void *kn_xrealloc(void *p, size_t n);
char *kn_xstrdup(const char *s);
char *kn_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NULL-terminated string vectors. */
size_t kn_strv_len(char *const *v);
/* kn_strv_append() - append a copy of @s; *v may be NULL. */
void kn_strv_append(char ***v, const char *s);
char **kn_strv_dup(char *const *v);
void kn_strv_free(char **v);

/*
 * kn_parse_size() - parse "4096", "64k", "64m", "1g" (powers of 1024,
 * case-insensitive, optional trailing 'b'/'ib').
 * Return: 0 and *out, or -EINVAL/-ERANGE with @err set.
 */
int kn_parse_size(const char *s, uint64_t *out, kn_error *err);

/*
 * kn_parse_u32() - parse a decimal id (uid, gid, count) that fits 32 bits.
 * Return: 0 and *out, or -EINVAL/-ERANGE with @err set naming @what.
 */
int kn_parse_u32(const char *s, const char *what, uint32_t *out, kn_error *err);

/*
 * kn_write_file() - write @len bytes of @data to @path (O_WRONLY|O_CLOEXEC,
 * no create) in one write(2), as /proc files require.
 * Return: 0 or -errno with @err set.
 */
int kn_write_file(const char *path, const char *data, size_t len, kn_error *err);

/*
 * kn_read_file() - read at most @cap-1 bytes of @path into @buf, NUL-terminated.
 * Return: bytes read (>= 0) or -errno (no message: callers decide).
 */
ssize_t kn_read_file(const char *path, char *buf, size_t cap);

/*
 * kn_is_host_root() - whether the caller is root of the host: euid 0 in
 * the initial user namespace (whose uid_map is "0 0 4294967295").  uid 0
 * in a user namespace of someone's (unshare -r, a rootless container) is
 * not: it gets the per-user defaults (XDG dirs), not /run and /var/log.
 */
bool kn_is_host_root(void);

/* kn_env_find() - the value of KEY in a "KEY=VALUE" vector, or NULL. */
const char *kn_env_find(char *const *env, const char *key);
/* kn_env_set() - replace or append "KEY=VALUE" (@kv holds both). */
void kn_env_set(char ***env, const char *kv);

#endif
