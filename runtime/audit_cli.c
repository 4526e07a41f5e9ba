/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `kennel audit`: read the audit log and its rotated files (contract in
 * audit.h).
 *
 * How this works, in order:
 *   1. snapshot: open PATH, share-lock it (checking, as the writers do,
 *      that the path still names the locked file), open PATH.1, PATH.2, ...
 *      while no writer can rotate, unlock;
 *   2. print the events of PATH.N ... PATH.1, then PATH, filtered;
 *   3. --follow: read what is appended to PATH; when the path names another
 *      file (a rotation), finish the old one (writers never write to a file
 *      after its rotation), take a new snapshot, read the rotated files newer
 *      than the old one (more than one rotation may have happened) and go
 *      on with the new PATH.  Waits on inotify of the directory, and polls
 *      every second in case an event was missed.
 */
#include "audit.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "util.h"

#define MAX_ROTATED 999
#define POLL_MS 1000

/* --- time ------------------------------------------------------------- */

static bool take_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char) (*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

int kn_audit_parse_time(const char *s, int64_t *ms)
{
	const char *p = s;
	int year, mon, day, hour = 0, min = 0, sec = 0, frac_ms = 0, off_min = 0;
	struct tm tm = { 0 };
	time_t t;

	if (!take_digits(&p, 4, &year) || *p++ != '-' || !take_digits(&p, 2, &mon) || *p++ != '-' ||
	    !take_digits(&p, 2, &day))
		return -EINVAL;
	if (*p) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -EINVAL;
		p++;
		if (!take_digits(&p, 2, &hour) || *p++ != ':' || !take_digits(&p, 2, &min) || *p++ != ':' ||
		    !take_digits(&p, 2, &sec))
			return -EINVAL;
		if (*p == '.') {
			int scale = 100, n = 0;

			for (p++; isdigit((unsigned char) *p); p++, n++) {
				frac_ms += (*p - '0') * scale;
				scale /= 10;
			}
			if (!n)
				return -EINVAL;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;

			if (!take_digits(&p, 2, &oh) || *p++ != ':' || !take_digits(&p, 2, &om) || oh > 23 || om > 59)
				return -EINVAL;
			off_min = sign * (oh * 60 + om);
		} else {
			return -EINVAL; /* RFC 3339 requires the offset */
		}
		if (*p)
			return -EINVAL;
	}
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises Feb 30 to Mar 2: a date that moved did not exist */
	if (tm.tm_mday != day || tm.tm_mon != mon - 1)
		return -EINVAL;
	*ms = (int64_t) t * 1000 + frac_ms - (int64_t) off_min * 60000;
	return 0;
}

int kn_audit_parse_since(const char *s, int64_t now_ms, int64_t *ms, kn_error *err)
{
	const char *p = s;
	int64_t n = 0, unit;

	if (kn_audit_parse_time(s, ms) == 0)
		return 0;
	if (!isdigit((unsigned char) *p))
		goto bad;
	for (; isdigit((unsigned char) *p); p++) {
		n = n * 10 + (*p - '0');
		if (n > 100LL * 365 * 86400)
			goto bad;
	}
	switch (*p) {
	case 's':
		unit = 1000;
		break;
	case 'm':
		unit = 60 * 1000;
		break;
	case 'h':
		unit = 3600 * 1000;
		break;
	case 'd':
		unit = 86400 * 1000;
		break;
	default:
		goto bad;
	}
	if (p[1] || n > 100LL * 365 * 86400 * 1000 / unit)
		goto bad;
	*ms = now_ms - n * unit;
	return 0;
bad:
	return kn_error_setx(err, EINVAL,
			     "--since '%s': expected an RFC 3339 time (2025-06-01T12:00:00Z), a date "
			     "(2025-06-01) or N followed by s, m, h or d (10m, 2h)",
			     s);
}

/* --- the human line ---------------------------------------------------- */

/*
 * put_safe() - @s for a terminal: control characters, C1 controls
 * (U+0080..U+009F, which some terminals obey) and bytes that are not
 * UTF-8 are escaped, so a logged command cannot move the cursor, retitle
 * the window or hide what it was.
 */
static void put_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	while (*p) {
		unsigned char c = *p;
		int n = 0;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\x%02x", c);
		} else if (c < 0x80) {
			putc(c, f);
		} else {
			if (c >= 0xc2 && c <= 0xdf) {
				n = 1;
			} else if (c >= 0xe0 && c <= 0xef) {
				n = 2;
				lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
				hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
			} else if (c >= 0xf0 && c <= 0xf4) {
				n = 3;
				lo = c == 0xf0 ? 0x90 : 0x80;
				hi = c == 0xf4 ? 0x8f : 0xbf;
			}
			for (int i = 1; i <= n; i++) {
				unsigned char b = p[i];

				if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf)) {
					n = 0;
					break;
				}
			}
			if (!n) {
				fprintf(f, "\\x%02x", c);
			} else if (c == 0xc2 && p[1] <= 0x9f) {
				fprintf(f, "\\u%04x", p[1]);
				p++;
			} else {
				fwrite(p, 1, (size_t) n + 1, f);
				p += n;
			}
		}
		p++;
	}
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t get_port(struct json_object *o)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, "port", &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

static char *human_line(struct json_object *o)
{
	const char *time_str = get_str(o, "time"), *session = get_str(o, "session"), *kind = get_str(o, "kind");
	const char *decision = get_str(o, "decision"), *tool = get_str(o, "tool"), *command = get_str(o, "command");
	const char *hook = get_str(o, "hook");
	const char *target = get_str(o, "target"), *rule = get_str(o, "rule"), *reason = get_str(o, "reason");
	const char *name = get_str(o, "name"), *address = get_str(o, "address"), *qtype = get_str(o, "qtype");
	int64_t port = get_port(o);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	char sess[9];

	if (!f)
		abort();
	snprintf(sess, sizeof(sess), "%s", session ? session : "-");
	put_safe(f, time_str ? time_str : "-");
	putc(' ', f);
	put_safe(f, sess);
	fprintf(f, "%*s ", (int) (9 - strlen(sess)), "");
	if (!kind)
		kind = "-";
	if (!decision)
		decision = "-";
	put_safe(f, kind);
	fprintf(f, "%*s ", strlen(kind) < 9 ? (int) (9 - strlen(kind)) : 0, "");
	put_safe(f, decision);
	fprintf(f, "%*s", strlen(decision) < 5 ? (int) (5 - strlen(decision)) : 0, "");
	if (hook || tool) {
		if (hook) {
			putc(' ', f);
			put_safe(f, hook);
		}
		if (tool) {
			putc(' ', f);
			put_safe(f, tool);
		}
		if (command || target) {
			fputs(tool ? ": " : " ", f);
			put_safe(f, command ? command : target);
		}
	} else if (!strcmp(kind, "dns")) {
		putc(' ', f);
		if (qtype) {
			put_safe(f, qtype);
			putc(' ', f);
		}
		put_safe(f, name ? name : "?");
		if (address) {
			fputs(" -> ", f);
			put_safe(f, address);
		}
	} else if (name || address || port) {
		if (name) {
			putc(' ', f);
			put_safe(f, name);
		}
		if (address || port) {
			bool v6 = address && strchr(address, ':');

			putc(' ', f);
			fputs(v6 ? "[" : "", f);
			put_safe(f, address ? address : "?");
			fputs(v6 ? "]" : "", f);
			if (port)
				fprintf(f, ":%lld", (long long) port);
		}
	} else if (command || target) {
		putc(' ', f);
		put_safe(f, command ? command : target);
	}
	if (reason) {
		fputs(" -- ", f);
		put_safe(f, reason);
	}
	if (rule) {
		fputs(" [rule ", f);
		put_safe(f, rule);
		putc(']', f);
	}
	if (fclose(f) != 0)
		abort();
	return out;
}

static struct json_object *parse_event(const char *line, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (len > INT_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		abort();
	/* strict: no raw control characters in strings, nothing after the object */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, line, (int) len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len ||
		  !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

char *kn_audit_human(const char *line, size_t len)
{
	struct json_object *o;
	char *out;

	while (len > 0 && line[len - 1] == '\n')
		len--;
	o = parse_event(line, len);
	if (!o)
		return NULL;
	out = human_line(o);
	json_object_put(o);
	return out;
}

/* --- reading ------------------------------------------------------------ */

struct filter {
	const char *session;
	bool json;
	bool have_since;
	int64_t since_ms;
};

struct source {
	int fd;
	char *name; /* for messages */
	char *buf;
	size_t len, cap;
	unsigned long lineno;
};

static void source_init(struct source *s, int fd, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->name = kn_xstrdup(name);
}

static void source_free(struct source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->name);
	free(s->buf);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

static void show(const struct filter *flt, struct source *s, const char *line, size_t len)
{
	struct json_object *o;
	const char *session, *when;
	int64_t t;

	s->lineno++;
	o = parse_event(line, len);
	if (!o) {
		fprintf(stderr, "kennel: audit: %s:%lu: not an audit event, skipped\n", s->name, s->lineno);
		return;
	}
	session = get_str(o, "session");
	if (flt->session && (!session || strncasecmp(session, flt->session, strlen(flt->session))))
		goto out;
	if (flt->have_since) {
		when = get_str(o, "time");
		if (!when || kn_audit_parse_time(when, &t) < 0 || t < flt->since_ms)
			goto out;
	}
	if (flt->json) {
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		_cleanup_free_ char *h = human_line(o);

		puts(h);
	}
out:
	json_object_put(o);
}

/*
 * drain() - read @s to its end and show every complete line; a last line
 * without its '\n' stays in the buffer.
 * Return: 0, or -errno after a message.
 */
static int drain(const struct filter *flt, struct source *s)
{
	/*
	 * Read a kept partial line again from its start: if it was a torn
	 * tail, the next writer cut it and appended at that very offset.
	 */
	if (s->len > 0) {
		if (lseek(s->fd, -(off_t) s->len, SEEK_CUR) < 0) {
			fprintf(stderr, "kennel: audit: seek %s: %s\n", s->name, strerror(errno));
			return -errno;
		}
		s->len = 0;
	}
	for (;;) {
		ssize_t n;
		size_t start = 0;

		if (s->cap - s->len < 65536) {
			s->cap = s->cap * 2 + 65536;
			s->buf = kn_xrealloc(s->buf, s->cap);
		}
		n = read(s->fd, s->buf + s->len, s->cap - s->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "kennel: audit: read %s: %s\n", s->name, strerror(errno));
			return -errno;
		}
		if (n == 0)
			return 0;
		s->len += (size_t) n;
		for (;;) {
			char *nl = memchr(s->buf + start, '\n', s->len - start);

			if (!nl)
				break;
			show(flt, s, s->buf + start, (size_t) (nl - (s->buf + start)));
			start = (size_t) (nl - s->buf) + 1;
		}
		memmove(s->buf, s->buf + start, s->len - start);
		s->len -= start;
	}
}

struct snapshot {
	int cur;                   /* PATH, or -1 when there is none */
	int rot[MAX_ROTATED];      /* the rotated files, newest first: */
	unsigned idx[MAX_ROTATED]; /* rot[i] is PATH.idx[i], idx ascending */
	size_t n_rot;
};

static void snapshot_close(struct snapshot *sn)
{
	if (sn->cur >= 0)
		close(sn->cur);
	for (size_t i = 0; i < sn->n_rot; i++)
		if (sn->rot[i] >= 0)
			close(sn->rot[i]);
	sn->cur = -1;
	sn->n_rot = 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int open_log(int dirfd, const char *name, const char *path, int *out)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	*out = -1;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "kennel: audit: open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "kennel: audit: %s is not a regular file\n", path);
		close(fd);
		return -EINVAL;
	}
	*out = fd;
	return 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;

	return x < y ? -1 : x > y;
}

/*
 * list_rotated() - the N of every PATH.N, ascending.  Listed, not probed
 * from 1 up: a writer killed in the middle of a rotation leaves a gap
 * (.3 and .5, no .4), which the next rotation closes.
 */
static int list_rotated(int dirfd, const char *base, unsigned *idx, size_t *n)
{
	size_t blen = strlen(base);
	struct dirent *de;
	DIR *d;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	*n = 0;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) && *n < MAX_ROTATED) {
		const char *p = de->d_name + blen + 1;
		unsigned long v = 0;

		if (strncmp(de->d_name, base, blen) || de->d_name[blen] != '.' || !*p || *p == '0')
			continue;
		for (; *p >= '0' && *p <= '9' && v <= MAX_ROTATED; p++)
			v = v * 10 + (unsigned long) (*p - '0');
		if (*p || v > MAX_ROTATED)
			continue;
		idx[(*n)++] = (unsigned) v;
	}
	closedir(d);
	qsort(idx, *n, sizeof(*idx), cmp_unsigned);
	return 0;
}

/* take_snapshot() - step 1. Return: 0 or -errno after a message. */
static int take_snapshot(int dirfd, const char *base, const char *path, struct snapshot *sn)
{
	int r;

	sn->cur = -1;
	sn->n_rot = 0;
	for (int tries = 0;; tries++) {
		struct stat held, named;

		r = open_log(dirfd, base, path, &sn->cur);
		if (r < 0 || sn->cur < 0)
			break;
		while (flock(sn->cur, LOCK_SH) < 0 && errno == EINTR)
			;
		if (fstat(sn->cur, &held) == 0 && fstatat(dirfd, base, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
		    same_file(&held, &named))
			break;
		close(sn->cur);
		sn->cur = -1;
		if (tries > 1000) {
			fprintf(stderr, "kennel: audit: %s keeps being replaced\n", path);
			return -EAGAIN;
		}
	}
	if (r < 0)
		return r;
	r = list_rotated(dirfd, base, sn->idx, &sn->n_rot);
	if (r < 0) {
		fprintf(stderr, "kennel: audit: list the rotated files of %s: %s\n", path, strerror(-r));
		snapshot_close(sn);
		return r;
	}
	for (size_t i = 0; i < sn->n_rot; i++)
		sn->rot[i] = -1;
	for (size_t i = 0; i < sn->n_rot; i++) {
		_cleanup_free_ char *name = kn_xasprintf("%s.%u", base, sn->idx[i]);
		_cleanup_free_ char *full = kn_xasprintf("%s.%u", path, sn->idx[i]);

		r = open_log(dirfd, name, full, &sn->rot[i]);
		if (r < 0) {
			snapshot_close(sn);
			return r;
		}
	}
	if (sn->cur >= 0)
		flock(sn->cur, LOCK_UN);
	return 0;
}

/* read_rotated() - show rot[from-1] down to rot[0] (from = n_rot: all), oldest first; their fds are taken. */
static int read_rotated(const struct filter *flt, struct snapshot *sn, size_t from, const char *path)
{
	int ret = 0;

	for (size_t i = from; i-- > 0;) {
		_cleanup_free_ char *name = kn_xasprintf("%s.%u", path, sn->idx[i]);
		struct source s;

		if (sn->rot[i] < 0)
			continue; /* gone between the listing and the open (no lock without a current file) */
		source_init(&s, sn->rot[i], name);
		sn->rot[i] = -1;
		if (drain(flt, &s) < 0)
			ret = -EIO;
		source_free(&s);
	}
	return ret;
}

static int follow(const struct filter *flt, int dirfd, const char *dir, const char *base, const char *path,
		  struct source *cur)
{
	_cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	/* without inotify (no instances left), the 1 s poll alone */
	if (ino >= 0 && inotify_add_watch(ino, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
							   IN_CLOSE_WRITE) < 0) {
		close(ino);
		ino = -1;
	}
	for (;;) {
		struct stat held, named;
		bool moved;

		if (cur->fd >= 0 && drain(flt, cur) < 0)
			return -EIO;
		if (fflush(stdout) != 0 || ferror(stdout))
			return -EIO;
		if (fstatat(dirfd, base, &named, AT_SYMLINK_NOFOLLOW) < 0)
			moved = false; /* removed: keep the old one until a new one appears */
		else
			moved = cur->fd < 0 || (fstat(cur->fd, &held) == 0 && !same_file(&held, &named));
		if (moved) {
			struct snapshot sn;
			size_t newer = 0;
			bool found = cur->fd < 0;

			memset(&held, 0, sizeof(held));

			/* writers never touch a file after its rotation: finish it */
			if (cur->fd >= 0 && drain(flt, cur) < 0)
				return -EIO;
			if (take_snapshot(dirfd, base, path, &sn) < 0)
				return -EIO;
			if (cur->fd >= 0 && fstat(cur->fd, &held) == 0) {
				for (size_t i = 0; i < sn.n_rot && !found; i++) {
					struct stat st;

					if (fstat(sn.rot[i], &st) == 0 && same_file(&st, &held)) {
						newer = i;
						found = true;
					}
				}
			}
			if (!found) {
				/*
				 * Rotated out of reach (we were more than all the kept files
				 * behind: a paused pager) or removed by hand.  What was
				 * modified after our file is newer; the rest we have shown.
				 */
				struct stat st;

				while (newer < sn.n_rot && fstat(sn.rot[newer], &st) == 0 &&
				       (st.st_mtim.tv_sec > held.st_mtim.tv_sec ||
					(st.st_mtim.tv_sec == held.st_mtim.tv_sec && st.st_mtim.tv_nsec > held.st_mtim.tv_nsec)))
					newer++;
				fprintf(stderr, "kennel: audit: %s was rotated or replaced more than %zu times before it was "
						"read to its end: events may be missing\n",
					path, sn.n_rot);
			}
			if (read_rotated(flt, &sn, newer, path) < 0) {
				snapshot_close(&sn);
				return -EIO;
			}
			source_free(cur);
			source_init(cur, sn.cur, path);
			sn.cur = -1;
			snapshot_close(&sn);
			continue;
		}
		if (ino >= 0) {
			struct pollfd pfd = { .fd = ino, .events = POLLIN };
			char evbuf[4096];

			if (poll(&pfd, 1, POLL_MS) > 0)
				while (read(ino, evbuf, sizeof(evbuf)) > 0)
					;
		} else {
			poll(NULL, 0, POLL_MS);
		}
	}
}

static void audit_usage(FILE *f)
{
	fputs("Usage: kennel audit [--session ID] [--since T] [--json] [--follow] [--file PATH]\n"
	      "\n"
	      "Print the audit log (network, policy and lifecycle decisions), oldest first,\n"
	      "with its rotated files (PATH.5 ... PATH.1, PATH).\n"
	      "\n"
	      "Options:\n"
	      "  --session ID   only this session (a prefix of its id is enough)\n"
	      "  --since T      only events at or after T: 2025-06-01T12:00:00Z, 2025-06-01,\n"
	      "                 or a time before now: 30s, 10m, 2h, 1d\n"
	      "  --json         print each event as its JSON line\n"
	      "  --follow       then wait for new events (across rotations) until killed\n"
	      "  --file PATH    the log (default $XDG_STATE_HOME/kennel/audit.log, else\n"
	      "                 ~/.local/state/kennel/audit.log; root: /var/log/kennel/audit.log)\n"
	      "  -h, --help     this text\n",
	      f);
}

int kn_audit_main(int argc, char **argv)
{
	enum { OPT_SESSION = 256, OPT_SINCE, OPT_JSON, OPT_FOLLOW, OPT_FILE };
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct filter flt = { 0 };
	kn_error err = KN_ERROR_INIT;
	_cleanup_free_ char *path = NULL, *dir = NULL;
	_cleanup_close_ int dirfd = -1;
	const char *file = NULL, *since = NULL, *slash, *base;
	struct snapshot sn;
	struct source cur;
	bool do_follow = false;
	int opt, r;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_SESSION:
			if (!optarg[0]) {
				fprintf(stderr, "kennel: audit: --session: empty id\n");
				return 2;
			}
			flt.session = optarg;
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_JSON:
			flt.json = true;
			break;
		case OPT_FOLLOW:
			do_follow = true;
			break;
		case OPT_FILE:
			file = optarg;
			break;
		case 'h':
			audit_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "kennel: audit: unknown or incomplete option '%s' (see kennel audit --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kennel: audit: unexpected argument '%s' (see kennel audit --help)\n", argv[optind]);
		return 2;
	}
	if (since) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		if (kn_audit_parse_since(since, (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000, &flt.since_ms,
					 &err) < 0) {
			fprintf(stderr, "kennel: audit: %s\n", err.msg);
			return 2;
		}
		flt.have_since = true;
	}
	path = file ? kn_xstrdup(file) : kn_audit_default_path(&err);
	if (!path) {
		fprintf(stderr, "kennel: %s\n", err.msg);
		return 1;
	}
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!base[0]) {
		fprintf(stderr, "kennel: audit: %s: not a file name\n", path);
		return 2;
	}
	dir = !slash ? kn_xstrdup(".") : slash == path ? kn_xstrdup("/") : kn_xasprintf("%.*s", (int) (slash - path), path);

	while ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT || !do_follow) {
			if (errno == ENOENT) {
				fprintf(stderr, "kennel: audit: no audit log at %s (nothing audited yet)\n", path);
				return 0;
			}
			fprintf(stderr, "kennel: audit: open %s: %s\n", dir, strerror(errno));
			return 1;
		}
		poll(NULL, 0, POLL_MS);
	}
	if (take_snapshot(dirfd, base, path, &sn) < 0)
		return 1;
	if (sn.cur < 0 && sn.n_rot == 0 && !do_follow) {
		fprintf(stderr, "kennel: audit: no audit log at %s (nothing audited yet)\n", path);
		return 0;
	}
	r = read_rotated(&flt, &sn, sn.n_rot, path);
	source_init(&cur, sn.cur, path);
	sn.cur = -1;
	snapshot_close(&sn);
	if (cur.fd >= 0 && drain(&flt, &cur) < 0)
		r = -EIO;
	if (r == 0 && do_follow)
		r = follow(&flt, dirfd, dir, base, path, &cur);
	source_free(&cur);
	if (fflush(stdout) != 0)
		r = -EIO;
	return r < 0 ? 1 : 0;
}
