/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

static void oom(void)
{
	static const char msg[] = "kennel: out of memory\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more we can do */
	}
	abort();
}

void *kn_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *kn_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *kn_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

char *kn_xstrdup(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *kn_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return s;
}

size_t kn_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

void kn_strv_append(char ***v, const char *s)
{
	size_t n = kn_strv_len(*v);

	*v = kn_xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = kn_xstrdup(s);
	(*v)[n + 1] = NULL;
}

char **kn_strv_dup(char *const *v)
{
	size_t n = kn_strv_len(v);
	char **r = kn_xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		r[i] = kn_xstrdup(v[i]);
	return r;
}

void kn_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int kn_parse_size(const char *s, uint64_t *out, kn_error *err)
{
	char *end = NULL;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char) s[0]))
		return kn_error_setx(err, EINVAL, "invalid size '%s': expected a number with an optional k, m or g suffix", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return kn_error_setx(err, ERANGE, "size '%s' is too large", s);
	switch (tolower((unsigned char) *end)) {
	case '\0':
		break;
	case 'k':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g':
		mult = 1ULL << 30;
		end++;
		break;
	case 't':
		mult = 1ULL << 40;
		end++;
		break;
	default:
		return kn_error_setx(err, EINVAL, "invalid size '%s': expected a number with an optional k, m or g suffix", s);
	}
	if (mult > 1) {
		if (tolower((unsigned char) *end) == 'i')
			end++;
		if (tolower((unsigned char) *end) == 'b')
			end++;
	}
	if (*end != '\0')
		return kn_error_setx(err, EINVAL, "invalid size '%s': expected a number with an optional k, m or g suffix", s);
	if (v > UINT64_MAX / mult)
		return kn_error_setx(err, ERANGE, "size '%s' is too large", s);
	*out = (uint64_t) v * mult;
	return 0;
}

int kn_parse_u32(const char *s, const char *what, uint32_t *out, kn_error *err)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || !isdigit((unsigned char) s[0]))
		return kn_error_setx(err, EINVAL, "invalid %s '%s': expected a decimal number", what, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > UINT32_MAX)
		return kn_error_setx(err, ERANGE, "invalid %s '%s': out of range", what, s);
	if (*end)
		return kn_error_setx(err, EINVAL, "invalid %s '%s': expected a decimal number", what, s);
	*out = (uint32_t) v;
	return 0;
}

int kn_write_file(const char *path, const char *data, size_t len, kn_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return kn_error_set(err, errno, "open %s", path);
	n = write(fd, data, len);
	if (n < 0)
		return kn_error_set(err, errno, "write %s", path);
	if ((size_t) n != len)
		return kn_error_setx(err, EIO, "write %s: short write", path);
	return 0;
}

ssize_t kn_read_file(const char *path, char *buf, size_t cap)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	if (cap == 0)
		return -EINVAL;
	while (off < cap - 1) {
		ssize_t n = read(fd, buf + off, cap - 1 - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		off += (size_t) n;
	}
	buf[off] = '\0';
	return (ssize_t) off;
}

const char *kn_env_find(char *const *env, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
			return env[i] + kl + 1;
	return NULL;
}

void kn_env_set(char ***env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t) (eq - kv) : strlen(kv);

	for (size_t i = 0; *env && (*env)[i]; i++) {
		if (strncmp((*env)[i], kv, kl) == 0 && (*env)[i][kl] == '=') {
			free((*env)[i]);
			(*env)[i] = kn_xstrdup(kv);
			return;
		}
	}
	kn_strv_append(env, kv);
}

bool kn_is_host_root(void)
{
	char map[128];
	unsigned long inner, outer, count;
	char *nl;

	if (geteuid() != 0 || kn_read_file("/proc/self/uid_map", map, sizeof(map)) <= 0)
		return false;
	nl = strchr(map, '\n');
	/* exactly one line, the identity map of the whole id space */
	if (nl && nl[1] != '\0')
		return false;
	return sscanf(map, "%lu %lu %lu", &inner, &outer, &count) == 3 && inner == 0 && outer == 0 &&
	       count == 4294967295UL;
}
