/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The audit log: formatting, the file layer (locking, torn tails,
 * rotation), the queue and its writer thread, fork safety, and the
 * reader's parsing and formatting.
 *
 * Run with arguments, this binary is also the driver of
 * tests/integration/audit.bats (several writer processes at once):
 *   test_audit write PATH COUNT [--max-bytes N] [--keep N] [--queue N] [--pad N]
 *       COUNT events (0: until killed), target "0".."COUNT-1", one session
 *       of its own printed first as "session ID"
 *   test_audit emit PATH [--session ID] [--kind K] [--decision D] [--tool T]
 *       [--command C] [--target T] [--rule R] [--reason R] [--name N]
 *       [--address A] [--port P] [--qtype Q]
 *   test_audit bench PATH COUNT
 *       the time kn_audit_net takes in the caller: p50, p99, max
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "audit.h"
#include "util.h"

/* --- helpers ------------------------------------------------------------ */

static char *make_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char *d = kn_xasprintf("%s/kennel-test-audit-XXXXXX", t && t[0] == '/' ? t : "/tmp");

	assert_non_null(mkdtemp(d));
	return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(p);
}

static void rm_tree(char *d)
{
	nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f) {
		*len = 0;
		return NULL;
	}
	do {
		if (cap - n < 65536) {
			cap = cap * 2 + 65536;
			buf = kn_xrealloc(buf, cap + 1);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

typedef void (*line_fn)(struct json_object *o, void *ctx);

/*
 * each_line() - parse every line of @path as a JSON object (failing the
 * test on any that does not parse, or on a last line without '\n') and
 * call @fn.  Return: the number of lines; 0 for a missing file.
 */
static size_t each_line(const char *path, line_fn fn, void *ctx)
{
	size_t len, n = 0;
	char *buf = slurp(path, &len);
	char *p = buf;

	if (!buf)
		return 0;
	if (len)
		assert_int_equal(buf[len - 1], '\n');
	while (p < buf + len) {
		char *nl = memchr(p, '\n', (size_t) (buf + len - p));
		struct json_object *o;

		assert_non_null(nl);
		*nl = '\0';
		o = json_tokener_parse(p);
		if (!o || !json_object_is_type(o, json_type_object))
			fail_msg("%s: line %zu is not a JSON object: %.200s", path, n + 1, p);
		if (fn)
			fn(o, ctx);
		json_object_put(o);
		n++;
		p = nl + 1;
	}
	free(buf);
	return n;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jnull(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v == NULL;
}

static kn_audit_event test_event(const char *target)
{
	kn_audit_event ev = { .kind = "test", .tool = "driver", .target = target, .decision = "info", .reason = "unit" };

	return ev;
}

static void emit_n(kn_audit *a, const char *prefix, int n, size_t pad)
{
	char *padding = kn_xmalloc(pad + 1);

	memset(padding, 'p', pad);
	padding[pad] = '\0';
	for (int i = 0; i < n; i++) {
		char target[64];
		kn_audit_event ev = test_event(target);

		snprintf(target, sizeof(target), "%s%d", prefix, i);
		ev.reason = padding;
		assert_int_equal(kn_audit_emit(a, &ev), 0);
	}
	free(padding);
}

static void open_log(kn_audit *a, const char *path, const char *session)
{
	kn_error err = KN_ERROR_INIT;

	if (kn_audit_open(a, path, session, &err) < 0)
		fail_msg("kn_audit_open %s: %s", path, err.msg);
}

/* --- formatting ---------------------------------------------------------- */

static void test_format_fields(void **state)
{
	struct timespec when = { .tv_sec = 1717243200, .tv_nsec = 123999999 }; /* 2024-06-01T12:00:00.123 */
	kn_audit_event ev = {
		.kind = "hook",
		.hook = "PreToolUse",
		.tool = "Bash",
		.command = "echo \"x\" \\ y\n\x1b[31m /a/b",
		.decision = "deny",
		.rule = "rm-root",
		.reason = "r\xc3\xa9son",
	};
	static const char *const order[] = { "time", "session", "kind", "hook", "tool", "command", "target",
					     "decision", "rule", "reason", "name", "address", "port", "qtype" };
	char *line = kn_audit_format("0123456789abcdef0123456789abcdef", &ev, &when);
	struct json_object *o;
	size_t i = 0;

	(void) state;
	/* one line: the only '\n' is the last character */
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
	assert_null(strchr(line, '\x1b'));
	o = json_tokener_parse(line);
	assert_non_null(o);
	for (struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
	     !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		assert_true(i < sizeof(order) / sizeof(order[0]));
		assert_string_equal(json_object_iter_peek_name(&it), order[i]);
		i++;
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	assert_string_equal(jstr(o, "time"), "2024-06-01T12:00:00.123Z");
	assert_string_equal(jstr(o, "session"), "0123456789abcdef0123456789abcdef");
	assert_string_equal(jstr(o, "command"), ev.command);
	assert_string_equal(jstr(o, "reason"), ev.reason);
	assert_string_equal(jstr(o, "rule"), "rm-root");
	assert_true(jnull(o, "target"));
	assert_true(jnull(o, "port"));
	assert_true(jnull(o, "qtype"));
	json_object_put(o);
	free(line);

	/* network fields; a port is a number */
	ev = (kn_audit_event){ .kind = "flow", .decision = "allow", .reason = "ok", .name = "a.test",
			       .address = "2001:db8::1", .port = 443 };
	when.tv_nsec = 0;
	line = kn_audit_format("s", &ev, &when);
	assert_non_null(strstr(line, "\"time\":\"2024-06-01T12:00:00.000Z\""));
	assert_non_null(strstr(line, "\"name\":\"a.test\",\"address\":\"2001:db8::1\",\"port\":443,\"qtype\":null}"));
	assert_non_null(strstr(line, "\"tool\":null"));
	free(line);
}

static void test_session_id(void **state)
{
	char a[33], b[33];

	(void) state;
	assert_int_equal(kn_session_id(a), 0);
	assert_int_equal(kn_session_id(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_string_not_equal(a, b);
}

static void test_default_path(void **state)
{
	kn_error err = KN_ERROR_INIT;
	char *saved_state = getenv("XDG_STATE_HOME") ? kn_xstrdup(getenv("XDG_STATE_HOME")) : NULL;
	char *saved_home = getenv("HOME") ? kn_xstrdup(getenv("HOME")) : NULL;
	char *p;

	(void) state;
	setenv("XDG_STATE_HOME", "/st", 1);
	setenv("HOME", "/h", 1);
	p = kn_audit_default_path(&err);
	assert_string_equal(p, geteuid() == 0 ? "/var/log/kennel/audit.log" : "/st/kennel/audit.log");
	free(p);
	setenv("XDG_STATE_HOME", "relative", 1); /* not absolute: ignored, as the XDG spec says */
	p = kn_audit_default_path(&err);
	assert_string_equal(p, geteuid() == 0 ? "/var/log/kennel/audit.log" : "/h/.local/state/kennel/audit.log");
	free(p);
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	p = kn_audit_default_path(&err);
	if (geteuid() == 0) {
		assert_string_equal(p, "/var/log/kennel/audit.log");
		free(p);
	} else {
		assert_null(p);
		assert_int_equal(err.code, ENOENT);
	}
	if (saved_state)
		setenv("XDG_STATE_HOME", saved_state, 1);
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_state);
	free(saved_home);
}

/* --- the log: open, modes, closed handles -------------------------------- */

static void test_open_modes(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/a/b/audit.log", d);
	char *sub = kn_xasprintf("%s/a/b", d);
	kn_error err = KN_ERROR_INIT;
	kn_audit a = { .fd = -1 };
	struct stat st;
	mode_t old = umask(0); /* the modes must not depend on the umask */

	(void) state;
	open_log(&a, path, "s1");
	umask(old);
	assert_true(a.fd >= 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	kn_audit_close(&a);
	assert_int_equal(a.fd, -1);
	kn_audit_close(&a); /* twice: harmless */

	/* an existing looser file of ours is tightened */
	assert_int_equal(chmod(path, 0644), 0);
	open_log(&a, path, "s1");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	kn_audit_close(&a);

	/* a symlink at the path is refused, so is a FIFO (without hanging) */
	free(path);
	path = kn_xasprintf("%s/link.log", d);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(kn_audit_open(&a, path, "s", &err), -ELOOP);
	assert_null(a.w);
	free(path);
	path = kn_xasprintf("%s/fifo.log", d);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(kn_audit_open(&a, path, "s", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(kn_audit_open(&a, d, "s", &err) < 0, true); /* a directory */
	free(path);
	free(sub);
	rm_tree(d);
}

static void test_closed_and_invalid(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	kn_audit a = { .fd = -1 };
	kn_audit_event ev = test_event("x");
	kn_audit_tuning t = { 0 };
	kn_error err = KN_ERROR_INIT;
	kn_audit_stats st;

	(void) state;
	assert_int_equal(kn_audit_emit(&a, &ev), -EBADF);
	kn_audit_net(&a, "dns", NULL, NULL, 0, NULL, "deny", "x"); /* no-op */
	assert_int_equal(kn_audit_flush(&a), 0);
	assert_int_equal(kn_audit_tune(&a, &t, &err), -EBADF);
	kn_audit_close(&a);

	open_log(&a, path, "s");
	t.max_bytes = 10;
	assert_int_equal(kn_audit_tune(&a, &t, &err), -EINVAL);
	t.max_bytes = 0;
	t.keep = 100;
	assert_int_equal(kn_audit_tune(&a, &t, &err), -EINVAL);
	ev.kind = NULL;
	assert_int_equal(kn_audit_emit(&a, &ev), -EINVAL);
	ev = test_event("x");
	ev.decision = "";
	assert_int_equal(kn_audit_emit(&a, &ev), -EINVAL);
	ev = test_event("x");
	assert_int_equal(kn_audit_emit(&a, &ev), 0);
	t.keep = 3;
	assert_int_equal(kn_audit_tune(&a, &t, &err), -EBUSY);
	assert_int_equal(kn_audit_flush(&a), 0);
	kn_audit_get_stats(&a, &st);
	assert_int_equal(st.queued, 1);
	assert_int_equal(st.written, 1);
	kn_audit_close(&a);
	assert_int_equal(each_line(path, NULL, NULL), 1);
	free(path);
	rm_tree(d);
}

struct net_check {
	int n;
};

static void check_net_line(struct json_object *o, void *ctx)
{
	struct net_check *c = ctx;
	struct json_object *port;

	c->n++;
	assert_string_equal(jstr(o, "kind"), "dns");
	assert_string_equal(jstr(o, "name"), "x.test");
	assert_string_equal(jstr(o, "qtype"), "AAAA");
	assert_string_equal(jstr(o, "decision"), "deny");
	assert_string_equal(jstr(o, "session"), "feedface");
	assert_true(jnull(o, "address"));
	assert_true(json_object_object_get_ex(o, "port", &port));
	assert_int_equal(json_object_get_int(port), 53);
}

/* kn_audit_net keeps the network gateway's line shape */
static void test_net_compat(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	struct net_check c = { 0 };
	kn_audit a;

	(void) state;
	open_log(&a, path, "feedface");
	kn_audit_net(&a, "dns", "x.test", NULL, 53, "AAAA", "deny", "name not allowed: NXDOMAIN");
	kn_audit_close(&a); /* drains */
	assert_int_equal(each_line(path, check_net_line, &c), 1);
	assert_int_equal(c.n, 1);
	free(path);
	rm_tree(d);
}

struct hook_check {
	int n;
};

static void check_hook_line(struct json_object *o, void *ctx)
{
	struct hook_check *c = ctx;

	assert_string_equal(jstr(o, "kind"), "hook");
	if (c->n == 0) {
		assert_string_equal(jstr(o, "hook"), "PreToolUse");
		assert_string_equal(jstr(o, "tool"), "Bash");
		assert_string_equal(jstr(o, "command"), "git push -f");
		assert_true(jnull(o, "target"));
		assert_string_equal(jstr(o, "decision"), "deny");
		assert_string_equal(jstr(o, "rule"), "git-force-push");
		assert_string_equal(jstr(o, "reason"), "force push");
	} else {
		assert_string_equal(jstr(o, "tool"), "Write");
		assert_string_equal(jstr(o, "target"), "/workspace/.git/hooks/pre-commit");
		assert_true(jnull(o, "command"));
		assert_true(jnull(o, "rule"));
		assert_string_equal(jstr(o, "decision"), "ask");
	}
	c->n++;
}

/* kn_audit_hook: a Bash command is a "command", anything else a "target" */
static void test_hook_wrapper(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	struct hook_check c = { 0 };
	kn_audit a;

	(void) state;
	open_log(&a, path, "s");
	kn_audit_hook(&a, "PreToolUse", "Bash", "git push -f", "deny", "git-force-push", "force push");
	kn_audit_hook(&a, "PreToolUse", "Write", "/workspace/.git/hooks/pre-commit", "ask", NULL, "protected");
	kn_audit_close(&a);
	assert_int_equal(each_line(path, check_hook_line, &c), 2);
	free(path);
	rm_tree(d);
}

/* --- the queue and the writer thread -------------------------------------- */

struct order_check {
	int next[8];
	char prefix;
	int count;
};

/* targets are "<letter><seq>": every letter's sequence must come in order, gap-free */
static void check_order(struct json_object *o, void *ctx)
{
	struct order_check *c = ctx;
	const char *t = jstr(o, "target");
	int w;

	if (!t) {
		fail_msg("an event without a target");
		return;
	}
	w = t[0] - c->prefix;
	if (w < 0 || w >= 8) {
		fail_msg("unexpected target %s", t);
		return;
	}
	if (atoi(t + 1) != c->next[w])
		fail_msg("writer %c: event %s where %d was due", t[0], t + 1, c->next[w]);
	c->next[w]++;
	c->count++;
}

static void flock_path(const char *path, int *fd)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(*fd >= 0);
	assert_int_equal(flock(*fd, LOCK_EX), 0);
}

/*
 * While another process holds the log's lock, callers go on (the writer
 * thread is the one that waits); once it is released, one batch, one
 * fsync, covers everything queued meanwhile.
 */
static void test_group_commit(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	struct order_check c = { .prefix = 'a' };
	kn_audit_stats st;
	kn_audit a;
	int lockfd;

	(void) state;
	open_log(&a, path, "s");
	flock_path(path, &lockfd);
	emit_n(&a, "a", 200, 0);
	kn_audit_get_stats(&a, &st);
	assert_int_equal(st.queued, 200);
	assert_int_equal(st.written, 0);
	assert_int_equal(size_of(path), 0);
	close(lockfd);
	assert_int_equal(kn_audit_flush(&a), 0);
	kn_audit_get_stats(&a, &st);
	assert_int_equal(st.written, 200);
	/* the first event may have gone alone before the writer met the lock */
	assert_true(st.commits >= 1 && st.commits <= 2);
	assert_int_equal(each_line(path, check_order, &c), 200);
	kn_audit_close(&a);
	free(path);
	rm_tree(d);
}

struct flush_arg {
	kn_audit *a;
	volatile int done;
	int r;
};

static void *flush_thread(void *p)
{
	struct flush_arg *fa = p;

	fa->r = kn_audit_flush(fa->a);
	__atomic_store_n(&fa->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* kn_audit_flush waits until what was queued is on disk */
static void test_flush_waits(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	struct flush_arg fa = { 0 };
	pthread_t t;
	kn_audit a;
	int lockfd;

	(void) state;
	open_log(&a, path, "s");
	flock_path(path, &lockfd);
	emit_n(&a, "a", 3, 0);
	fa.a = &a;
	assert_int_equal(pthread_create(&t, NULL, flush_thread, &fa), 0);
	usleep(200 * 1000);
	assert_int_equal(__atomic_load_n(&fa.done, __ATOMIC_SEQ_CST), 0);
	close(lockfd);
	pthread_join(t, NULL);
	assert_int_equal(fa.done, 1);
	assert_int_equal(fa.r, 0);
	assert_int_equal(each_line(path, NULL, NULL), 3);
	kn_audit_close(&a);
	free(path);
	rm_tree(d);
}

struct producer {
	kn_audit *a;
	char prefix[2];
	int n;
};

static void *producer_main(void *p)
{
	struct producer *pr = p;

	for (int i = 0; i < pr->n; i++) {
		char target[32];
		kn_audit_event ev = test_event(target);

		snprintf(target, sizeof(target), "%s%d", pr->prefix, i);
		if (kn_audit_emit(pr->a, &ev) != 0)
			abort();
	}
	return NULL;
}

/*
 * wait_for_waits() - until a caller has blocked on the full queue (the
 * producers are threads: give them time, sanitizers are slow).  On failure
 * the test process ends: a longjmp out of the test would leave them running.
 */
static void wait_for_waits(kn_audit *a, kn_audit_stats *st)
{
	for (int i = 0; i < 3000; i++) {
		kn_audit_get_stats(a, st);
		if (st->waits >= 1)
			return;
		usleep(10 * 1000);
	}
	fprintf(stderr, "no caller blocked on the full queue in 30 s\n");
	abort();
}

/* A queue of one: callers block instead of dropping; nothing is lost, order kept. */
static void test_queue_full_blocks(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	kn_audit_tuning t = { .queue_len = 1 };
	struct order_check c = { .prefix = 'a' };
	struct producer pr[4];
	pthread_t th[4];
	kn_error err = KN_ERROR_INIT;
	kn_audit_stats st;
	kn_audit a;
	int lockfd;

	(void) state;
	open_log(&a, path, "s");
	assert_int_equal(kn_audit_tune(&a, &t, &err), 0);
	/* hold the lock so the queue certainly fills and the producers wait */
	flock_path(path, &lockfd);
	for (int i = 0; i < 4; i++) {
		pr[i] = (struct producer){ .a = &a, .prefix = { (char) ('a' + i), 0 }, .n = 500 };
		assert_int_equal(pthread_create(&th[i], NULL, producer_main, &pr[i]), 0);
	}
	wait_for_waits(&a, &st);
	assert_true(st.queued <= 2); /* one in the writer's hands, one in the queue */
	close(lockfd);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	kn_audit_close(&a);
	assert_int_equal(each_line(path, check_order, &c), 2000);
	for (int i = 0; i < 4; i++)
		assert_int_equal(c.next[i], 500);
	free(path);
	rm_tree(d);
}

struct big_producer {
	kn_audit *a;
	int n;
};

static void *big_producer_main(void *p)
{
	struct big_producer *bp = p;

	emit_n(bp->a, "a", bp->n, 1 << 20);
	return NULL;
}

/* The queue is bounded in bytes too: 1 MiB events block after about KN_AUDIT_QUEUE_BYTES of them. */
static void test_queue_bytes_bound(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	struct big_producer bp;
	kn_audit_stats st;
	pthread_t th;
	kn_audit a;
	int lockfd;

	(void) state;
	open_log(&a, path, "s");
	flock_path(path, &lockfd);
	bp = (struct big_producer){ .a = &a, .n = 12 };
	assert_int_equal(pthread_create(&th, NULL, big_producer_main, &bp), 0);
	wait_for_waits(&a, &st);
	/* the writer's first batch (at most the bound) and at most the bound queued */
	assert_true(st.queued <= 2 * (KN_AUDIT_QUEUE_BYTES >> 20));
	close(lockfd);
	pthread_join(th, NULL);
	kn_audit_close(&a);
	{
		char *one = kn_xasprintf("%s.1", path); /* 12 MiB: rotated once */

		assert_int_equal(each_line(one, NULL, NULL) + each_line(path, NULL, NULL), 12);
		free(one);
	}
	free(path);
	rm_tree(d);
}

/* The writer thread must take no signal: kennel's parent reads its own through a signalfd. */
static void test_writer_blocks_signals(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	kn_audit_event ev = test_event("x");
	DIR *tasks;
	struct dirent *de;
	int others = 0;
	kn_audit a;

	(void) state;
	open_log(&a, path, "s");
	assert_int_equal(kn_audit_emit(&a, &ev), 0);
	assert_int_equal(kn_audit_flush(&a), 0);
	tasks = opendir("/proc/self/task");
	assert_non_null(tasks);
	while ((de = readdir(tasks))) {
		char *status, *blk;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		status = kn_xasprintf("/proc/self/task/%s/status", de->d_name);
		blk = slurp(status, &len);
		assert_non_null(blk);
		if (!strstr(blk, "Name:\tkennel-audit\n")) { /* the sanitizers have threads of their own */
			free(blk);
			free(status);
			continue;
		}
		{
			const char *line = strstr(blk, "SigBlk:\t");
			unsigned long long mask;

			assert_non_null(line);
			mask = strtoull(line + 8, NULL, 16);
			/* every signal but those that cannot be blocked: SIGKILL, SIGSTOP, glibc's own 32 and 33 */
			assert_true((mask | 1ULL << (SIGKILL - 1) | 1ULL << (SIGSTOP - 1) | 1ULL << 31 | 1ULL << 32) ==
				    ~0ULL);
		}
		others++;
		free(blk);
		free(status);
	}
	closedir(tasks);
	assert_int_equal(others, 1);
	kn_audit_close(&a);
	free(path);
	rm_tree(d);
}

/* --- rotation ------------------------------------------------------------- */

static void test_rotation_small(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	kn_audit_tuning t = { .max_bytes = 4096, .keep = 3 };
	kn_error err = KN_ERROR_INIT;
	struct order_check c = { .prefix = 'a' };
	char *last = NULL;
	kn_audit a;
	size_t total = 0;

	(void) state;
	open_log(&a, path, "s");
	assert_int_equal(kn_audit_tune(&a, &t, &err), 0);
	emit_n(&a, "a", 100, 100); /* ~380 bytes each: 10 a file */
	kn_audit_close(&a);
	for (int i = 1; i <= 3; i++) {
		char *p = kn_xasprintf("%s.%d", path, i);
		off_t sz = size_of(p);

		assert_true(sz > 4096 - 400 && sz <= 4096);
		free(p);
	}
	last = kn_xasprintf("%s.4", path);
	assert_int_equal(size_of(last), -1);
	free(last);
	assert_true(size_of(path) <= 4096);
	/* what remains is the newest events, in order, gap-free */
	for (int i = 3; i >= 0; i--) {
		char *p = i ? kn_xasprintf("%s.%d", path, i) : kn_xstrdup(path);

		total += each_line(p, NULL, NULL);
		free(p);
	}
	c.next[0] = (int) (100 - total);
	for (int i = 3; i >= 0; i--) {
		char *p = i ? kn_xasprintf("%s.%d", path, i) : kn_xstrdup(path);

		each_line(p, check_order, &c);
		free(p);
	}
	assert_int_equal(c.next[0], 100);
	assert_true(total >= 30 && total < 50);
	free(path);
	rm_tree(d);
}

/* The default limit: a file is rotated just before it would pass 10 MiB. */
static void test_rotation_default_size(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	char *one = kn_xasprintf("%s.1", path), *two = kn_xasprintf("%s.2", path);
	kn_audit_stats st;
	kn_audit a;
	off_t s1;

	(void) state;
	open_log(&a, path, "s");
	emit_n(&a, "a", 11000, 1000); /* ~11.3 MB */
	assert_int_equal(kn_audit_flush(&a), 0);
	kn_audit_get_stats(&a, &st);
	assert_int_equal(st.rotations, 1);
	kn_audit_close(&a);
	s1 = size_of(one);
	assert_true(s1 <= (off_t) KN_AUDIT_MAX_BYTES && s1 > (off_t) KN_AUDIT_MAX_BYTES - 1400);
	assert_int_equal(size_of(two), -1);
	assert_int_equal(each_line(one, NULL, NULL) + each_line(path, NULL, NULL), 11000);
	free(one);
	free(two);
	free(path);
	rm_tree(d);
}

/* An event larger than the limit goes whole into a file of its own. */
static void test_rotation_oversize(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	kn_audit_tuning t = { .max_bytes = 1024 };
	kn_error err = KN_ERROR_INIT;
	struct order_check c = { .prefix = 'a' };
	kn_audit a;

	(void) state;
	open_log(&a, path, "s");
	assert_int_equal(kn_audit_tune(&a, &t, &err), 0);
	emit_n(&a, "a", 1, 10);
	assert_int_equal(kn_audit_flush(&a), 0);
	emit_n(&a, "b", 1, 3000);
	assert_int_equal(kn_audit_flush(&a), 0);
	emit_n(&a, "c", 1, 10);
	kn_audit_close(&a);
	{
		char *p2 = kn_xasprintf("%s.2", path), *p1 = kn_xasprintf("%s.1", path);

		assert_int_equal(each_line(p2, check_order, &c), 1);
		assert_int_equal(each_line(p1, check_order, &c), 1);
		assert_true(size_of(p1) > 3000);
		assert_int_equal(each_line(path, check_order, &c), 1);
		assert_int_equal(c.next[0] + c.next[1] + c.next[2], 3);
		free(p1);
		free(p2);
	}
	free(path);
	rm_tree(d);
}

static bool file_has(const char *path, const char *needle)
{
	size_t len;
	char *buf = slurp(path, &len);
	bool r = buf && strstr(buf, needle);

	free(buf);
	return r;
}

/*
 * Two writers (two handles: two open files, as two processes have): B
 * holds an fd to the file A then rotates away; B's next event must go to
 * the new file, not the rotated one.
 */
static void test_rotation_stale_writer(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	char *one = kn_xasprintf("%s.1", path);
	kn_audit_tuning t = { .max_bytes = 4096 };
	kn_error err = KN_ERROR_INIT;
	kn_audit_event ev = test_event("B-after-rotation");
	kn_audit_stats st;
	kn_audit a, b;

	(void) state;
	open_log(&a, path, "A");
	open_log(&b, path, "B");
	assert_int_equal(kn_audit_tune(&a, &t, &err), 0);
	assert_int_equal(kn_audit_tune(&b, &t, &err), 0);
	emit_n(&b, "B", 1, 0);
	assert_int_equal(kn_audit_flush(&b), 0);
	/* ~1.7 kB events: the third does not fit, so the file is rotated with ~500 bytes left, room for B's */
	emit_n(&a, "a", 3, 1500);
	assert_int_equal(kn_audit_flush(&a), 0);
	kn_audit_get_stats(&a, &st);
	assert_int_equal(st.rotations, 1);
	assert_true(file_has(one, "\"target\":\"B0\""));
	assert_int_equal(kn_audit_emit(&b, &ev), 0);
	assert_int_equal(kn_audit_flush(&b), 0);
	assert_true(file_has(path, "B-after-rotation"));
	assert_false(file_has(one, "B-after-rotation"));
	kn_audit_close(&a);
	kn_audit_close(&b);
	free(one);
	free(path);
	rm_tree(d);
}

/* Several processes at once, many rotations, every file kept: nothing lost, order per writer. */
static void test_rotation_processes(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	struct order_check c = { .prefix = 'a' };
	pid_t pids[4];
	int files = 0;

	(void) state;
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			kn_audit_tuning t = { .max_bytes = 32768, .keep = 99 };
			kn_error err = KN_ERROR_INIT;
			kn_audit a;
			char prefix[2] = { (char) ('a' + i), 0 };

			alarm(60);
			if (kn_audit_open(&a, path, prefix, &err) < 0 || kn_audit_tune(&a, &t, &err) < 0)
				_exit(1);
			for (int n = 0; n < 1500; n++) {
				char target[32];
				kn_audit_event ev = test_event(target);

				snprintf(target, sizeof(target), "%s%d", prefix, n);
				if (kn_audit_emit(&a, &ev) < 0)
					_exit(1);
			}
			kn_audit_close(&a);
			_exit(0);
		}
	}
	for (int i = 0; i < 4; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 99; i >= 0; i--) {
		char *p = i ? kn_xasprintf("%s.%d", path, i) : kn_xstrdup(path);

		if (size_of(p) >= 0) {
			files++;
			assert_true(size_of(p) <= 32768);
			each_line(p, check_order, &c);
		}
		free(p);
	}
	assert_true(files > 20 && files < 99);
	assert_int_equal(c.count, 6000);
	for (int i = 0; i < 4; i++)
		assert_int_equal(c.next[i], 1500);
	free(path);
	rm_tree(d);
}

/*
 * A disk that refuses writes (here RLIMIT_FSIZE: EFBIG past 4 kB): the
 * writer keeps the events, flush says so, the partial write is cut back,
 * and once writes work again every event is there exactly once.
 * In a child: the limit is per process.
 */
static int write_errors_child(const char *path)
{
	struct rlimit rl;
	kn_audit_stats st;
	kn_audit a;
	kn_error err = KN_ERROR_INIT;

	alarm(30);
	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
		return 10;
	rl.rlim_cur = 4096;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0 || kn_audit_open(&a, path, "s", &err) < 0)
		return 11;
	for (int i = 0; i < 20; i++) {
		char target[16];
		kn_audit_event ev = test_event(target);

		snprintf(target, sizeof(target), "a%d", i);
		ev.reason = "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
			    "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp";
		if (kn_audit_emit(&a, &ev) < 0)
			return 12;
	}
	if (kn_audit_flush(&a) != -EFBIG)
		return 13;
	kn_audit_get_stats(&a, &st);
	if (st.written >= 20 || st.failed)
		return 14;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		return 15;
	if (kn_audit_flush(&a) != 0)
		return 16;
	kn_audit_get_stats(&a, &st);
	if (st.written != 20 || st.failed)
		return 17;
	kn_audit_close(&a);
	return 0;
}

static void test_write_errors_retried(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	struct order_check c = { .prefix = 'a' };
	int status;
	pid_t pid;

	(void) state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(write_errors_child(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(each_line(path, check_order, &c), 20);
	assert_int_equal(c.next[0], 20);
	free(path);
	rm_tree(d);
}

/* targets "<letter><seq>" of one letter, ascending (gaps allowed: events given up on) */
static void check_ascending(struct json_object *o, void *ctx)
{
	struct order_check *c = ctx;
	const char *t = jstr(o, "target");

	if (!t || t[0] != c->prefix || atoi(t + 1) < c->next[0])
		fail_msg("event %s out of order (next due at least %d)", t ? t : "(none)", c->next[0]);
	else
		c->next[0] = atoi(t + 1) + 1;
}

/* kn_audit_close on a disk that keeps failing gives up (after 5 s), leaving whole lines only. */
static void test_close_gives_up(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	struct order_check c = { .prefix = 'a' };
	struct timespec t0, t1;
	int status;
	size_t n;
	pid_t pid;

	(void) state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		kn_audit a;
		kn_error err = KN_ERROR_INIT;

		alarm(30);
		signal(SIGXFSZ, SIG_IGN);
		if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(10);
		rl.rlim_cur = 1000;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0 || kn_audit_open(&a, path, "s", &err) < 0)
			_exit(11);
		emit_n(&a, "a", 20, 100);
		kn_audit_close(&a);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(t1.tv_sec - t0.tv_sec >= 4 && t1.tv_sec - t0.tv_sec < 20);
	n = each_line(path, check_ascending, &c); /* whole lines only, in order, no duplicates */
	assert_true(n < 20); /* one batch: usually none of it fits */
	assert_true(size_of(path) <= 1000);
	free(path);
	rm_tree(d);
}

/* --- torn tails ------------------------------------------------------------ */

static void append_raw(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t) strlen(s));
	close(fd);
}

static void test_torn_tail(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	kn_audit_stats st;
	kn_audit a;

	(void) state;
	/* a crash left two events and half of a third: opening cuts the half */
	append_raw(path, "{\"kind\":\"a\"}\n{\"kind\":\"b\"}\n{\"time\":\"2024-06-01T12:0");
	open_log(&a, path, "s");
	kn_audit_get_stats(&a, &st);
	assert_int_equal(st.repairs, 1);
	assert_int_equal(each_line(path, NULL, NULL), 2);
	/* torn while we have it open (another writer crashed): cut before our append */
	append_raw(path, "{\"kind\":\"torn");
	emit_n(&a, "a", 1, 0);
	assert_int_equal(kn_audit_flush(&a), 0);
	kn_audit_get_stats(&a, &st);
	assert_int_equal(st.repairs, 2);
	assert_int_equal(each_line(path, NULL, NULL), 3);
	assert_false(file_has(path, "torn"));
	kn_audit_close(&a);
	/* a file that is nothing but a fragment */
	assert_int_equal(truncate(path, 0), 0);
	append_raw(path, "{\"kind\":");
	open_log(&a, path, "s");
	assert_int_equal(size_of(path), 0);
	kn_audit_close(&a);
	free(path);
	rm_tree(d);
}

/* --- fork ------------------------------------------------------------------ */

static void fork_and_emit(kn_audit *a, const char *target)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		kn_audit_event ev = test_event(target);

		alarm(10); /* a deadlock here must fail the test, not hang it */
		if (kn_audit_emit(a, &ev) != 0)
			_exit(1);
		kn_audit_close(a);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_fork(void **state)
{
	char *d = make_tmpdir();
	char *path = kn_xasprintf("%s/audit.log", d);
	kn_audit a;

	(void) state;
	open_log(&a, path, "s");
	/* before the first event: no thread yet; the child writes itself */
	fork_and_emit(&a, "child-before");
	assert_true(file_has(path, "child-before"));
	/* with the writer running (and its lock possibly held at the fork) */
	emit_n(&a, "a", 50, 0);
	fork_and_emit(&a, "child-after");
	assert_true(file_has(path, "child-after"));
	emit_n(&a, "b", 1, 0);
	kn_audit_close(&a);
	assert_int_equal(each_line(path, NULL, NULL), 53);
	free(path);
	rm_tree(d);
}

/* --- the reader --------------------------------------------------------------- */

static void test_parse_time(void **state)
{
	int64_t ms = 0;

	(void) state;
	assert_int_equal(kn_audit_parse_time("2024-06-01T12:00:00.123Z", &ms), 0);
	assert_true(ms == 1717243200123LL);
	assert_int_equal(kn_audit_parse_time("2024-06-01t12:00:00z", &ms), 0);
	assert_true(ms == 1717243200000LL);
	assert_int_equal(kn_audit_parse_time("2024-06-01 14:30:00+02:30", &ms), 0);
	assert_true(ms == 1717243200000LL);
	assert_int_equal(kn_audit_parse_time("2024-06-01T10:00:00.5-02:00", &ms), 0);
	assert_true(ms == 1717243200500LL);
	assert_int_equal(kn_audit_parse_time("2024-06-01T12:00:00.123456789Z", &ms), 0);
	assert_true(ms == 1717243200123LL);
	assert_int_equal(kn_audit_parse_time("2024-06-01", &ms), 0);
	assert_true(ms == 1717200000000LL);
	assert_int_equal(kn_audit_parse_time("2024-02-29", &ms), 0);
	assert_int_equal(kn_audit_parse_time("2023-02-29", &ms), -EINVAL);
	assert_int_equal(kn_audit_parse_time("2024-06-31", &ms), -EINVAL);
	assert_int_equal(kn_audit_parse_time("2024-13-01", &ms), -EINVAL);
	assert_int_equal(kn_audit_parse_time("2024-06-01T12:00:00", &ms), -EINVAL); /* no offset */
	assert_int_equal(kn_audit_parse_time("2024-06-01T24:00:00Z", &ms), -EINVAL);
	assert_int_equal(kn_audit_parse_time("2024-06-01T12:00:00.Z", &ms), -EINVAL);
	assert_int_equal(kn_audit_parse_time("2024-06-01T12:00:00Zjunk", &ms), -EINVAL);
	assert_int_equal(kn_audit_parse_time("2024-6-01", &ms), -EINVAL);
	assert_int_equal(kn_audit_parse_time("", &ms), -EINVAL);
	assert_int_equal(kn_audit_parse_time("10m", &ms), -EINVAL);
}

static void test_parse_since(void **state)
{
	kn_error err = KN_ERROR_INIT;
	const int64_t now = 1717243200000LL;
	int64_t ms = 0;

	(void) state;
	assert_int_equal(kn_audit_parse_since("10m", now, &ms, &err), 0);
	assert_true(ms == now - 600000);
	assert_int_equal(kn_audit_parse_since("2h", now, &ms, &err), 0);
	assert_true(ms == now - 7200000);
	assert_int_equal(kn_audit_parse_since("30s", now, &ms, &err), 0);
	assert_true(ms == now - 30000);
	assert_int_equal(kn_audit_parse_since("1d", now, &ms, &err), 0);
	assert_true(ms == now - 86400000);
	assert_int_equal(kn_audit_parse_since("0s", now, &ms, &err), 0);
	assert_true(ms == now);
	assert_int_equal(kn_audit_parse_since("2024-06-01T00:00:00Z", now, &ms, &err), 0);
	assert_true(ms == 1717200000000LL);
	assert_int_equal(kn_audit_parse_since("10", now, &ms, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--since '10'"));
	assert_int_equal(kn_audit_parse_since("m", now, &ms, &err), -EINVAL);
	assert_int_equal(kn_audit_parse_since("-5m", now, &ms, &err), -EINVAL);
	assert_int_equal(kn_audit_parse_since("5mm", now, &ms, &err), -EINVAL);
	assert_int_equal(kn_audit_parse_since("5w", now, &ms, &err), -EINVAL);
	assert_int_equal(kn_audit_parse_since("99999999999999999999d", now, &ms, &err), -EINVAL);
}

static void expect_human(const char *line, const char *want)
{
	char *h = kn_audit_human(line, strlen(line));

	assert_non_null(h);
	assert_string_equal(h, want);
	free(h);
}

static void test_human(void **state)
{
	struct timespec when = { .tv_sec = 1717243200, .tv_nsec = 5000000 };
	const char *sess = "0123456789abcdef0123456789abcdef";
	kn_audit_event ev = { .kind = "hook", .hook = "PreToolUse", .tool = "Bash", .command = "rm -rf /",
			      .decision = "deny", .rule = "rm-root", .reason = "recursive removal of /" };
	char *line = kn_audit_format(sess, &ev, &when);

	(void) state;
	expect_human(line, "2024-06-01T12:00:00.005Z 01234567  hook      deny  PreToolUse Bash: rm -rf / -- recursive "
			   "removal of / [rule rm-root]");
	free(line);

	ev = (kn_audit_event){ .kind = "hook", .hook = "SessionStart", .target = "startup", .decision = "info" };
	line = kn_audit_format(sess, &ev, &when);
	expect_human(line, "2024-06-01T12:00:00.005Z 01234567  hook      info  SessionStart startup");
	free(line);

	ev = (kn_audit_event){ .kind = "dns", .decision = "allow", .reason = "allowed", .name = "a.test",
			       .address = "198.51.100.10", .qtype = "A" };
	line = kn_audit_format(sess, &ev, &when);
	expect_human(line, "2024-06-01T12:00:00.005Z 01234567  dns       allow A a.test -> 198.51.100.10 -- allowed");
	free(line);

	ev = (kn_audit_event){ .kind = "flow", .decision = "deny", .reason = "no", .address = "2001:db8::1",
			       .port = 443 };
	line = kn_audit_format(sess, &ev, &when);
	expect_human(line, "2024-06-01T12:00:00.005Z 01234567  flow      deny  [2001:db8::1]:443 -- no");
	free(line);

	ev = (kn_audit_event){ .kind = "lifecycle", .target = "session start", .decision = "info" };
	line = kn_audit_format("abc", &ev, &when);
	expect_human(line, "2024-06-01T12:00:00.005Z abc       lifecycle info  session start");
	free(line);

	/* what the agent typed cannot drive the terminal */
	ev = (kn_audit_event){ .kind = "hook", .tool = "Bash", .decision = "allow",
			       .command = "echo \x1b]0;pwned\x07\n\xc2\x9b" "31m caf\xc3\xa9 \xf0\x9f\x90\xb6 \xff\xc3(" };
	line = kn_audit_format("s", &ev, &when);
	expect_human(line, "2024-06-01T12:00:00.005Z s         hook      allow Bash: echo \\x1b]0;pwned\\x07\\n\\u009b31m "
			   "caf\xc3\xa9 \xf0\x9f\x90\xb6 \\xff\\xc3(");
	free(line);

	/* not events */
	assert_null(kn_audit_human("[1,2]", 5));
	assert_null(kn_audit_human("{\"kind\":\"x\"} junk", 17));
	assert_null(kn_audit_human("{\"kind\":\"x", 10));
	/* a line written by something else, with a raw ESC: still escaped */
	expect_human("{\"kind\":\"a\x1b" "b\"}", "- -         a\\x1bb       -    ");
	expect_human("{}\n", "- -         -         -    ");
}

/* --- the driver (audit.bats) -------------------------------------------------- */

static int driver_open(kn_audit *a, const char *path, const char *session, const kn_audit_tuning *t)
{
	kn_error err = KN_ERROR_INIT;

	if (kn_audit_open(a, path, session, &err) < 0 || (t && kn_audit_tune(a, t, &err) < 0)) {
		fprintf(stderr, "test_audit: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int driver_write(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-bytes", required_argument, NULL, 'm' },
		{ "keep", required_argument, NULL, 'k' },
		{ "queue", required_argument, NULL, 'q' },
		{ "pad", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	kn_audit_tuning t = { 0 };
	char session[33], target[32];
	char *pad = NULL;
	size_t pad_len = 0;
	long count;
	kn_audit a;
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			t.max_bytes = strtoull(optarg, NULL, 10);
			break;
		case 'k':
			t.keep = (unsigned) atoi(optarg);
			break;
		case 'q':
			t.queue_len = (unsigned) atoi(optarg);
			break;
		case 'p':
			pad_len = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2)
		return 2;
	count = atol(argv[optind + 1]);
	pad = kn_xmalloc(pad_len + 1);
	memset(pad, 'x', pad_len);
	pad[pad_len] = '\0';
	if (kn_session_id(session) < 0 || driver_open(&a, argv[optind], session, &t) < 0)
		return 1;
	printf("session %s\n", session);
	fflush(stdout);
	for (long i = 0; count == 0 || i < count; i++) {
		kn_audit_event ev = { .kind = "test", .tool = "driver", .target = target, .decision = "info",
				      .reason = pad };

		snprintf(target, sizeof(target), "%ld", i);
		if (kn_audit_emit(&a, &ev) < 0)
			return 1;
	}
	kn_audit_close(&a);
	free(pad);
	return 0;
}

static int driver_emit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' }, { "kind", required_argument, NULL, 'k' },
		{ "decision", required_argument, NULL, 'd' }, { "tool", required_argument, NULL, 't' },
		{ "command", required_argument, NULL, 'c' }, { "target", required_argument, NULL, 'T' },
		{ "rule", required_argument, NULL, 'r' },     { "reason", required_argument, NULL, 'R' },
		{ "name", required_argument, NULL, 'n' },     { "address", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },     { "qtype", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	kn_audit_event ev = { .kind = "test", .decision = "info" };
	const char *session = "0123456789abcdef0123456789abcdef";
	kn_audit a;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': session = optarg; break;
		case 'k': ev.kind = optarg; break;
		case 'd': ev.decision = optarg; break;
		case 't': ev.tool = optarg; break;
		case 'c': ev.command = optarg; break;
		case 'T': ev.target = optarg; break;
		case 'r': ev.rule = optarg; break;
		case 'R': ev.reason = optarg; break;
		case 'n': ev.name = optarg; break;
		case 'a': ev.address = optarg; break;
		case 'p': ev.port = (unsigned) atoi(optarg); break;
		case 'q': ev.qtype = optarg; break;
		default: return 2;
		}
	}
	if (argc - optind != 1)
		return 2;
	if (driver_open(&a, argv[optind], session, NULL) < 0)
		return 1;
	r = kn_audit_emit(&a, &ev);
	if (r == 0)
		r = kn_audit_flush(&a);
	kn_audit_close(&a);
	return r < 0 ? 1 : 0;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *) x, b = *(const uint64_t *) y;

	return a < b ? -1 : a > b;
}

static int driver_bench(int argc, char **argv)
{
	struct timespec t0, t1, start, end;
	char session[33];
	uint64_t *ns;
	long n;
	kn_audit a;

	if (argc != 3 || (n = atol(argv[2])) <= 0)
		return 2;
	ns = kn_xcalloc((size_t) n, sizeof(*ns));
	if (kn_session_id(session) < 0 || driver_open(&a, argv[1], session, NULL) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		kn_audit_net(&a, "flow", "allowed.test", "198.51.100.10", 443, NULL, "allow",
			     "allowed by rule allowed.test:443");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns[i] = (uint64_t) (t1.tv_sec - t0.tv_sec) * 1000000000ULL + (uint64_t) t1.tv_nsec - (uint64_t) t0.tv_nsec;
		usleep(100); /* connections arrive, they are not a tight loop */
	}
	kn_audit_close(&a);
	clock_gettime(CLOCK_MONOTONIC, &end);
	qsort(ns, (size_t) n, sizeof(*ns), cmp_u64);
	printf("kn_audit_net in the caller over %ld events: p50 %.1f us, p99 %.1f us, max %.1f us; all on disk after "
	       "%.0f ms\n",
	       n, ns[n / 2] / 1000.0, ns[n * 99 / 100] / 1000.0, ns[n - 1] / 1000.0,
	       ((end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec)) / 1e6);
	free(ns);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_session_id),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_open_modes),
		cmocka_unit_test(test_closed_and_invalid),
		cmocka_unit_test(test_net_compat),
		cmocka_unit_test(test_hook_wrapper),
		cmocka_unit_test(test_group_commit),
		cmocka_unit_test(test_flush_waits),
		cmocka_unit_test(test_queue_full_blocks),
		cmocka_unit_test(test_queue_bytes_bound),
		cmocka_unit_test(test_writer_blocks_signals),
		cmocka_unit_test(test_rotation_small),
		cmocka_unit_test(test_rotation_default_size),
		cmocka_unit_test(test_rotation_oversize),
		cmocka_unit_test(test_rotation_stale_writer),
		cmocka_unit_test(test_rotation_processes),
		cmocka_unit_test(test_write_errors_retried),
		cmocka_unit_test(test_close_gives_up),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_parse_since),
		cmocka_unit_test(test_human),
	};

	if (argc > 1 && !strcmp(argv[1], "write"))
		return driver_write(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "emit"))
		return driver_emit(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "bench"))
		return driver_bench(argc - 1, argv + 1);
	if (argc > 1) {
		fprintf(stderr, "usage: test_audit [write PATH COUNT [--max-bytes N] [--keep N] [--queue N] [--pad N] | "
				"emit PATH [--FIELD VALUE...] | bench PATH COUNT]\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
