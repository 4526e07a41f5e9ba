/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The audit log's front: event formatting, the bounded queue and the
 * writer thread (see audit.h; the file itself is audit_file.c).
 *
 * How an event travels:
 *   caller  1. kn_audit_emit formats the JSON line (time taken now);
 *           2. under the mutex: start the writer on the first event, wait
 *              while the queue is full, append the line, wake the writer;
 *   writer  3. take every queued line at once, let the callers go on;
 *           4. one kn_audit_file_append for the whole batch (one flock,
 *              one fsync: group commit);
 *           5. count the batch done and wake kn_audit_flush waiters.
 * Sequence numbers: an event queued as number N is on disk once done >= N.
 */
#include "audit.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "util.h"

/* How long kn_audit_close keeps retrying a failing disk before it gives up. */
#define GIVE_UP_MS 5000
#define RETRY_MS 200

struct kn_audit_writer {
	pthread_mutex_t mu;
	pthread_cond_t work;    /* writer: lines queued, or stop */
	pthread_cond_t room;    /* callers: the queue has room */
	pthread_cond_t settled; /* flushers: done advanced, or a write failed */
	char **ring;
	size_t cap, head, count;
	size_t bytes;           /* of the queued lines, bounded by KN_AUDIT_QUEUE_BYTES */
	uint64_t queued, done;  /* sequence numbers, see the top */
	int error;              /* errno of the last failed attempt */
	uint64_t failures;      /* failed attempts so far */
	bool started, stopping;
	pthread_t thread;
	pid_t owner;            /* the process the queue and thread belong to */
	kn_audit_file file;     /* the writer's (or, before it starts, the opener's) */
	kn_audit_stats stats;
};

char *kn_audit_default_path(kn_error *err)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (kn_is_host_root())
		return kn_xstrdup("/var/log/kennel/audit.log");
	if (state && state[0] == '/')
		return kn_xasprintf("%s/kennel/audit.log", state);
	if (!home || home[0] != '/') {
		kn_error_setx(err, ENOENT, "audit log: neither XDG_STATE_HOME nor HOME is set: pass --audit-log FILE");
		return NULL;
	}
	return kn_xasprintf("%s/.local/state/kennel/audit.log", home);
}

/* --- formatting -------------------------------------------------------- */

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

char *kn_audit_format(const char *session, const kn_audit_event *ev, const struct timespec *when)
{
	struct json_object *o = json_object_new_object();
	struct tm tm;
	char stamp[32], time_str[48];
	char *line;

	if (!o)
		abort();
	gmtime_r(&when->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(time_str, sizeof(time_str), "%s.%03dZ", stamp, (int) (when->tv_nsec / 1000000) % 1000);
	add_str(o, "time", time_str);
	add_str(o, "session", session);
	add_str(o, "kind", ev->kind);
	add_str(o, "hook", ev->hook);
	add_str(o, "tool", ev->tool);
	add_str(o, "command", ev->command);
	add_str(o, "target", ev->target);
	add_str(o, "decision", ev->decision);
	add_str(o, "rule", ev->rule);
	add_str(o, "reason", ev->reason);
	add_str(o, "name", ev->name);
	add_str(o, "address", ev->address);
	json_object_object_add(o, "port", ev->port ? json_object_new_int64(ev->port) : NULL);
	add_str(o, "qtype", ev->qtype);
	/* PLAIN: no newline inside; json-c escapes every control character */
	line = kn_xasprintf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
									 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return line;
}

/* --- the writer thread --------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * write_batch() - step 4, retrying what is not written yet while the disk
 * fails.  A failed fsync is not retried by writing again (the lines are in
 * the file; a second copy would be a duplicate event): those count as
 * failed.
 * Return: 0, or -errno when given up with *@written bytes (whole lines)
 * written.
 */
static int write_batch(struct kn_audit_writer *w, const char *buf, size_t len, size_t *written)
{
	uint64_t give_up_at = 0;
	bool warned = false;
	size_t off = 0;

	for (;;) {
		kn_error err = KN_ERROR_INIT;
		bool stopping;
		size_t n;
		int r = kn_audit_file_append(&w->file, buf + off, len - off, &n, &err);

		off += n;
		*written = off;
		if (r == 0) {
			if (warned)
				fprintf(stderr, "kennel: audit log %s: writing again\n", w->file.path);
			return 0;
		}
		if (off == len) {
			fprintf(stderr, "kennel: warning: audit events written but not confirmed on disk: %s\n", err.msg);
			*written = 0; /* not durable: count them failed */
			return r;
		}
		if (!warned)
			fprintf(stderr, "kennel: warning: cannot write the audit log: %s (retrying; events wait)\n",
				err.msg);
		warned = true;
		pthread_mutex_lock(&w->mu);
		w->error = -r;
		w->failures++;
		pthread_cond_broadcast(&w->settled);
		stopping = w->stopping;
		pthread_mutex_unlock(&w->mu);
		/* while kennel runs, events wait (callers block on a full queue); at close, not forever */
		if (stopping) {
			if (!give_up_at)
				give_up_at = now_ms() + GIVE_UP_MS;
			else if (now_ms() >= give_up_at)
				return r;
		}
		sleep_ms(RETRY_MS);
	}
}

static void *writer_main(void *arg)
{
	struct kn_audit_writer *w = arg;
	char **batch = kn_xcalloc(w->cap, sizeof(*batch));

	pthread_mutex_lock(&w->mu);
	for (;;) {
		_cleanup_free_ char *buf = NULL;
		size_t n, n_ok, len = 0, off = 0;
		uint64_t rotations, repairs;
		int r;

		while (!w->count && !w->stopping)
			pthread_cond_wait(&w->work, &w->mu);
		if (!w->count)
			break; /* stopping, and everything is written */
		/* step 3 */
		n = w->count;
		for (size_t i = 0; i < n; i++)
			batch[i] = w->ring[(w->head + i) % w->cap];
		w->head = (w->head + n) % w->cap;
		w->count = 0;
		w->bytes = 0;
		pthread_cond_broadcast(&w->room);
		pthread_mutex_unlock(&w->mu);

		for (size_t i = 0; i < n; i++)
			len += strlen(batch[i]);
		buf = kn_xmalloc(len);
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(batch[i]);

			memcpy(buf + off, batch[i], l);
			off += l;
			free(batch[i]);
		}
		/* step 4 */
		r = write_batch(w, buf, len, &off);
		rotations = w->file.rotations;
		repairs = w->file.repairs;
		if (r < 0) {
			size_t ok = 0;

			for (const char *p = buf; (p = memchr(p, '\n', (size_t) (buf + off - p))); p++)
				ok++;
			fprintf(stderr, "kennel: audit log %s: %zu events lost: %s\n", w->file.path, n - ok,
				strerror(-r));
			n_ok = ok;
		} else {
			n_ok = n;
		}

		/* step 5 */
		pthread_mutex_lock(&w->mu);
		w->stats.written += n_ok;
		w->stats.failed += n - n_ok;
		if (r == 0)
			w->stats.commits++;
		w->stats.rotations = rotations;
		w->stats.repairs = repairs;
		w->done += n;
		pthread_cond_broadcast(&w->settled);
	}
	pthread_mutex_unlock(&w->mu);
	free(batch);
	return NULL;
}

/*
 * start_writer() - under the mutex.  Every signal blocked in the thread:
 * kennel's parent takes its signals through a signalfd, which only works
 * while no thread accepts them.
 */
static int start_writer(struct kn_audit_writer *w)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	pthread_setname_np(w->thread, "kennel-audit"); /* for ps -L and gdb; failure is harmless */
	w->started = true;
	return 0;
}

/* --- the API --------------------------------------------------------- */

int kn_audit_open(kn_audit *a, const char *path, const char *session, kn_error *err)
{
	struct kn_audit_writer *w;
	int r;

	a->fd = -1;
	a->w = NULL;
	snprintf(a->session, sizeof(a->session), "%s", session);
	w = kn_xcalloc(1, sizeof(*w));
	r = kn_audit_file_open(&w->file, path, err);
	if (r < 0) {
		free(w);
		return kn_error_wrap(err, "audit log");
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->room, NULL);
	pthread_cond_init(&w->settled, NULL);
	w->cap = KN_AUDIT_QUEUE_LEN;
	w->ring = kn_xcalloc(w->cap, sizeof(*w->ring));
	w->owner = getpid();
	a->w = w;
	a->fd = w->file.dirfd;
	return 0;
}

int kn_audit_tune(kn_audit *a, const kn_audit_tuning *t, kn_error *err)
{
	struct kn_audit_writer *w = a->w;
	int r = 0;

	if (!w)
		return kn_error_setx(err, EBADF, "audit log: not open");
	if ((t->max_bytes && t->max_bytes < 1024) || t->keep > 99)
		return kn_error_setx(err, EINVAL, "audit log: rotation at %llu bytes keeping %u files: out of range",
				     (unsigned long long) t->max_bytes, t->keep);
	pthread_mutex_lock(&w->mu);
	if (w->started || w->queued) {
		r = kn_error_setx(err, EBUSY, "audit log: limits change only before the first event");
	} else {
		if (t->max_bytes)
			w->file.max_bytes = t->max_bytes;
		if (t->keep)
			w->file.keep = t->keep;
		if (t->queue_len) {
			free(w->ring);
			w->cap = t->queue_len;
			w->ring = kn_xcalloc(w->cap, sizeof(*w->ring));
		}
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}

/*
 * emit_direct() - the forked-child path (see audit.h): own fd, own lock,
 * written and fsync'd before returning; nothing of the parent's touched
 * but the immutable path and limits.
 */
static int emit_direct(struct kn_audit_writer *w, const char *line)
{
	kn_audit_file f;
	kn_error err = KN_ERROR_INIT;
	int r;

	r = kn_audit_file_open(&f, w->file.path, &err);
	if (r == 0) {
		f.max_bytes = w->file.max_bytes;
		size_t n;

		f.keep = w->file.keep;
		r = kn_audit_file_append(&f, line, strlen(line), &n, &err);
		kn_audit_file_close(&f);
	}
	if (r < 0)
		fprintf(stderr, "kennel: warning: cannot write the audit log: %s\n", err.msg);
	return r;
}

/* queue_full() - no room for @len more bytes (an empty queue takes any line) */
static bool queue_full(const struct kn_audit_writer *w, size_t len)
{
	return w->count == w->cap || (w->count > 0 && w->bytes + len > KN_AUDIT_QUEUE_BYTES);
}

int kn_audit_emit(kn_audit *a, const kn_audit_event *ev)
{
	struct kn_audit_writer *w = a->w;
	struct timespec now;
	size_t len;
	char *line;
	int r = 0;

	if (!w)
		return -EBADF;
	if (!ev->kind || !ev->kind[0] || !ev->decision || !ev->decision[0])
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &now);
	line = kn_audit_format(a->session, ev, &now);
	if (getpid() != w->owner) {
		r = emit_direct(w, line);
		free(line);
		return r;
	}
	pthread_mutex_lock(&w->mu);
	if (!w->started && !w->stopping)
		r = start_writer(w);
	if (r < 0) {
		/* no thread (EAGAIN: too many): write it ourselves, never drop it */
		kn_error err = KN_ERROR_INIT;

		size_t n;

		r = kn_audit_file_append(&w->file, line, strlen(line), &n, &err);
		if (r < 0)
			fprintf(stderr, "kennel: warning: cannot write the audit log: %s\n", err.msg);
		w->stats.queued++;
		if (r == 0)
			w->stats.written++;
		else
			w->stats.failed++;
		pthread_mutex_unlock(&w->mu);
		free(line);
		return r;
	}
	len = strlen(line);
	if (queue_full(w, len))
		w->stats.waits++;
	while (queue_full(w, len) && !w->stopping)
		pthread_cond_wait(&w->room, &w->mu);
	if (w->stopping) {
		pthread_mutex_unlock(&w->mu);
		free(line);
		return -EBADF;
	}
	w->ring[(w->head + w->count) % w->cap] = line;
	w->count++;
	w->bytes += len;
	w->queued++;
	w->stats.queued++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/* emit_or_warn() - for the void wrappers: a caller's mistake is said once. */
static void emit_or_warn(kn_audit *a, const kn_audit_event *ev)
{
	static bool warned;
	int r;

	if (!a->w)
		return;
	r = kn_audit_emit(a, ev);
	/* write failures are reported where they happen */
	if ((r == -EINVAL || r == -EBADF) && !__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
		fprintf(stderr, "kennel: warning: audit event %s not recorded: %s\n", ev->kind ? ev->kind : "(null)",
			strerror(-r));
}

void kn_audit_net(kn_audit *a, const char *kind, const char *name, const char *address, unsigned port,
		  const char *qtype, const char *decision, const char *reason)
{
	kn_audit_event ev = {
		.kind = kind,
		.decision = decision,
		.reason = reason,
		.name = name,
		.address = address,
		.port = port,
		.qtype = qtype,
	};

	emit_or_warn(a, &ev);
}

void kn_audit_hook(kn_audit *a, const char *event, const char *tool, const char *target, const char *decision,
		   const char *rule, const char *reason)
{
	bool bash = tool && !strcmp(tool, "Bash");
	kn_audit_event ev = {
		.kind = "hook",
		.hook = event,
		.tool = tool,
		.command = bash ? target : NULL,
		.target = bash ? NULL : target,
		.decision = decision,
		.rule = rule,
		.reason = reason,
	};

	emit_or_warn(a, &ev);
}

int kn_audit_flush(kn_audit *a)
{
	struct kn_audit_writer *w = a->w;
	uint64_t target, failures, lost;
	int r;

	if (!w || getpid() != w->owner)
		return 0; /* a forked child writes synchronously */
	pthread_mutex_lock(&w->mu);
	target = w->queued;
	failures = w->failures;
	lost = w->stats.failed;
	/* until done, or until the writer's next attempt fails */
	while (w->done < target && w->failures == failures)
		pthread_cond_wait(&w->settled, &w->mu);
	if (w->done < target)
		r = -w->error;
	else
		r = w->stats.failed > lost ? -EIO : 0;
	pthread_mutex_unlock(&w->mu);
	return r;
}

void kn_audit_close(kn_audit *a)
{
	struct kn_audit_writer *w = a->w;

	if (!w)
		return;
	a->w = NULL;
	a->fd = -1;
	if (getpid() != w->owner) {
		/*
		 * A forked child: the thread, the mutex and the fd numbers are the
		 * parent's (a rotation may have been half done at the fork): touch
		 * nothing.  The fds are close-on-exec.
		 */
		return;
	}
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->work);
	pthread_cond_broadcast(&w->room);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	kn_audit_file_close(&w->file);
	pthread_cond_destroy(&w->settled);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	free(w->ring);
	free(w);
}

void kn_audit_get_stats(kn_audit *a, kn_audit_stats *out)
{
	struct kn_audit_writer *w = a->w;

	memset(out, 0, sizeof(*out));
	if (!w || getpid() != w->owner)
		return; /* a forked child: the mutex may be held by a thread that is not there */
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	if (!w->started) {
		/* no thread: the file counters are this thread's to read */
		out->rotations = w->file.rotations;
		out->repairs = w->file.repairs;
	}
	pthread_mutex_unlock(&w->mu);
}

int kn_session_id(char out[33])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
		return -errno;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}
