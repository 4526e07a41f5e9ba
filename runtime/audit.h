/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_AUDIT_H
#define KENNEL_AUDIT_H

/*
 * The audit log: every network, policy and lifecycle decision, one JSON
 * object per line, appended by kennel on the host and never by anything
 * inside the sandbox (the fds are O_CLOEXEC and the sandbox's init closes
 * everything it was not given).
 *
 * Line format (every key on every line, null when it does not apply, in
 * this order):
 *   {"time":"2025-06-01T12:00:00.123Z","session":"<32 hex>","kind":"hook",
 *    "hook":"PreToolUse","tool":"Bash","command":"rm -rf /","target":null,
 *    "decision":"deny","rule":"rm-root","reason":"...","name":null,
 *    "address":null,"port":null,"qtype":null}
 * time is RFC 3339 UTC with milliseconds, taken when the event is queued.
 * kind: "hook" (a Claude Code hook event and the policy's answer),
 * "lifecycle" (the session: start, end, sandbox exit), "dns", "flow" and
 * "network" (the egress gateway).
 *
 * Durability and several writers (several kennel processes = sessions):
 *  - the file is opened O_APPEND, created 0600 (tightened to 0600 when an
 *    existing file of ours is looser), missing directories created 0700;
 *  - every write happens under flock(LOCK_EX) on the current file, after
 *    checking that the path still names the locked file: a writer whose fd
 *    points at a file another writer rotated away (or that was deleted)
 *    notices under the lock and reopens the path, so no event lands in a
 *    rotated file after its rotation and no two writers' lines interleave;
 *  - each event is fsync'd before it counts as written (group commit, below);
 *  - rotation at KN_AUDIT_MAX_BYTES: audit.log.4 -> .5, ..., audit.log ->
 *    audit.log.1, a fresh audit.log created, all under the lock of the
 *    current file, the directory fsync'd; a file never grows past the limit
 *    unless one single event is larger than it; KN_AUDIT_KEEP rotated files;
 *  - a crash (kill -9) in the middle of a write can leave a torn last line:
 *    the next writer (or kn_audit_open) cuts the file back to its last
 *    complete line under the lock before appending, so every line parses.
 *    Only an event that was never reported written can be lost that way.
 *
 * Threads (the gateway calls kn_audit_net on its hot path and must not wait
 * for a disk flush): kn_audit_emit formats the line in the caller and
 * queues it (bounded: KN_AUDIT_QUEUE_LEN events, KN_AUDIT_QUEUE_BYTES
 * bytes); one writer thread per kn_audit takes everything queued, writes
 * it under one flock and covers it with one fsync (group commit), so each
 * event is fsync'd before the writer counts it done.  A full queue blocks
 * the caller until the writer makes room: an event is never dropped.
 * kn_audit_flush() waits for everything queued so far to be on disk;
 * kn_audit_close() drains.  When writes fail (disk full), the writer keeps
 * the events and retries every 200 ms, warning once on stderr; callers
 * block once the queue is full (fail closed: nothing goes unaudited).  The
 * writer thread blocks every signal (kennel's parent reads its own through
 * a signalfd) and is named "kennel-audit".
 *
 * Fork safety: kennel opens the log in the parent before it clones the
 * sandbox (runtime/cli.c / network.c, then runtime/launch.c).  The writer
 * thread is started lazily by the first event, which comes from the parent
 * after the clone ("gateway up", hook answers), so no thread exists when
 * the child is made: do not emit before kn_launch_run has cloned (a
 * process that clones or forks with a second thread alive may find
 * malloc's lock held in the child).  In any other process than the one
 * that called kn_audit_open (a forked child), kn_audit_emit never touches
 * the queue or its mutex (a fork copies a mutex in whatever state another
 * thread left it): it writes the event itself, synchronously, through its
 * own fd and lock.
 */

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"

#define KN_AUDIT_MAX_BYTES (10ULL << 20) /* rotate before a write would pass 10 MiB */
#define KN_AUDIT_KEEP 5                  /* audit.log.1 .. audit.log.5 */
#define KN_AUDIT_QUEUE_LEN 4096          /* events queued before callers block */
#define KN_AUDIT_QUEUE_BYTES (4U << 20)  /* or bytes of them (one event always fits) */
/*
 * No longer a durability knob: every event is fsync'd by the writer thread.
 * The gateway's periodic kn_audit_flush() on this period is harmless (it
 * returns at once when nothing is pending) but not needed.
 */
#define KN_AUDIT_FLUSH_MS 500

struct kn_audit_writer;

typedef struct kn_audit {
	int fd;                    /* -1 when closed (callers initialise it so);
				    * open: the log's directory (the writer's) */
	char session[33];          /* written into every event */
	struct kn_audit_writer *w; /* private; NULL when closed */
} kn_audit;

/*
 * One event.  @kind and @decision are required; any other field may be
 * NULL (written as null), @port 0 means none.
 */
typedef struct kn_audit_event {
	const char *kind;     /* "hook", "lifecycle", "dns", "flow", "network" */
	const char *hook;     /* the Claude Code hook event: "PreToolUse", ... */
	const char *tool;     /* the Claude Code tool: "Bash", "Write", ... */
	const char *command;  /* the Bash command line */
	const char *target;   /* what else it is about: a file path, a lifecycle step */
	const char *decision; /* "allow", "deny", "ask", "info" */
	const char *rule;     /* the policy rule's id */
	const char *reason;   /* why, in words */
	const char *name;     /* network: the DNS name, SNI or Host */
	const char *address;  /* network: the destination address */
	unsigned port;        /* network: the destination port, 0: none */
	const char *qtype;    /* DNS: the query type ("A", "AAAA", ...) */
} kn_audit_event;

/* Optional limits; a 0 field keeps the default. */
typedef struct kn_audit_tuning {
	uint64_t max_bytes; /* rotation size, >= 1024 (default KN_AUDIT_MAX_BYTES) */
	unsigned keep;      /* rotated files kept, 1..99 (default KN_AUDIT_KEEP) */
	unsigned queue_len; /* queue bound, >= 1 (default KN_AUDIT_QUEUE_LEN) */
} kn_audit_tuning;

/* Counters of one kn_audit (this process's writer only). */
typedef struct kn_audit_stats {
	uint64_t queued;    /* events accepted by kn_audit_emit */
	uint64_t written;   /* events written and fsync'd */
	uint64_t failed;    /* events given up on (close after write errors; failed fsync) */
	uint64_t commits;   /* fsyncs that completed a batch */
	uint64_t rotations; /* rotations done by this writer */
	uint64_t repairs;   /* torn tails (a crashed writer's) cut off */
	uint64_t waits;     /* times a caller blocked on a full queue */
} kn_audit_stats;

/*
 * kn_audit_default_path() - $XDG_STATE_HOME/kennel/audit.log (default
 * ~/.local/state/kennel/audit.log); as root /var/log/kennel/audit.log.
 * Return: a malloc'd path, or NULL with @err set (no HOME).
 */
char *kn_audit_default_path(kn_error *err);

/*
 * kn_audit_open() - open (create 0600) @path for appending, creating its
 * missing directories (0700), and cut a torn last line a crashed writer
 * left (under the lock).  @session (at most 32 characters; kn_session_id)
 * is written into every event.  Starts no thread (see fork safety above).
 * Return: 0, or -errno with @err set (ELOOP: @path is a symlink; EINVAL:
 * not a regular file).
 */
int kn_audit_open(kn_audit *a, const char *path, const char *session, kn_error *err);

/*
 * kn_audit_tune() - change the limits of an open log; only before its
 * first event.
 * Return: 0, -EBADF (not open), -EBUSY (events already queued) or -EINVAL
 * (a limit out of range), with @err set.
 */
int kn_audit_tune(kn_audit *a, const kn_audit_tuning *t, kn_error *err);

/*
 * kn_audit_emit() - record one event: format the line now (its time is
 * now) and queue it for the writer thread, starting the thread on the
 * first event.  Blocks only while the queue is full.  Not to be called
 * concurrently with kn_audit_close on the same log.
 * Return: 0 once queued (in a forked child: once written and fsync'd),
 * -EBADF when the log is not open, -EINVAL when @ev lacks kind or
 * decision; in a forked child the write's -errno.  Write errors of the
 * thread are reported by kn_audit_flush and on stderr.
 */
int kn_audit_emit(kn_audit *a, const kn_audit_event *ev);

/*
 * kn_audit_net() - a network event (kn_audit_emit with the network
 * fields): @kind "dns", "flow" or "network"; @name, @address and @qtype
 * may be NULL and @port 0 (written as null).  @decision "allow", "deny" or
 * "info".  Failures are reported on stderr once, not fatal (the sandbox is
 * already running).
 */
void kn_audit_net(kn_audit *a, const char *kind, const char *name, const char *address, unsigned port,
		  const char *qtype, const char *decision, const char *reason);

/*
 * kn_audit_hook() - a hook event and the policy's answer (kind "hook"):
 * @event the hook event name ("PreToolUse"), @tool the tool, @target what
 * it acts on -- written as "command" when @tool is "Bash", else as
 * "target" (a file path) -- @decision "allow", "deny", "ask" or "info",
 * @rule the deciding rule's id.  Any but @decision may be NULL.  Failures
 * are reported on stderr, not fatal, as for kn_audit_net.
 */
void kn_audit_hook(kn_audit *a, const char *event, const char *tool, const char *target, const char *decision,
		   const char *rule, const char *reason);

/*
 * kn_audit_flush() - wait until every event queued before the call is
 * written and fsync'd.  Returns at once when nothing is pending; while
 * writes fail, after the writer's next failed attempt (it keeps retrying
 * every 200 ms: those events are not lost yet).
 * Return: 0 (also on a closed log), -errno of the failing write, or -EIO
 * when events of the wait were given up on (unconfirmed fsync).
 */
int kn_audit_flush(kn_audit *a);

/*
 * kn_audit_close() - drain the queue (every queued event written and
 * fsync'd), stop the writer thread, close.  When writes keep failing it
 * gives up after 5 seconds and says on stderr how many events were lost.
 * Safe on a closed or never-opened log (fd -1).  In a forked child it only
 * forgets the log (the fds are close-on-exec; the thread is the parent's).
 */
void kn_audit_close(kn_audit *a);

/* kn_audit_get_stats() - the counters so far (zeros on a closed log and in a forked child). */
void kn_audit_get_stats(kn_audit *a, kn_audit_stats *out);

/*
 * kn_audit_format() - the JSON line (with its '\n') for @ev of @session at
 * @when (CLOCK_REALTIME).
 * Return: a malloc'd line (never NULL: allocation failure aborts).
 */
char *kn_audit_format(const char *session, const kn_audit_event *ev, const struct timespec *when);

/* kn_session_id() - 32 random hex digits (128 bits) into @out. Return: 0 or -errno. */
int kn_session_id(char out[33]);

/*
 * The file layer under the writer thread (audit_file.c): one writer's
 * handle on the log.  Not thread-safe: one thread at a time per handle;
 * separate handles (processes) exclude each other with flock.
 */
typedef struct kn_audit_file {
	int dirfd;          /* the log's directory */
	int fd;             /* the file the path named when last locked, or -1 */
	char *base;         /* the file's name in dirfd */
	char *path;         /* the whole path, for messages */
	uint64_t max_bytes; /* rotation size */
	unsigned keep;      /* rotated files kept */
	uint64_t rotations; /* counters for kn_audit_stats */
	uint64_t repairs;
} kn_audit_file;

/*
 * kn_audit_file_open() - create the missing directories (0700) and the
 * file (0600), open both, cut a torn last line (under the lock).  Limits
 * are the defaults; change f->max_bytes and f->keep afterwards if needed.
 * Return: 0 or -errno with @err set.
 */
int kn_audit_file_open(kn_audit_file *f, const char *path, kn_error *err);

/*
 * kn_audit_file_append() - append @len bytes of complete lines (@buf ends
 * with '\n') under the lock of the current file: reopen when the path
 * names another file, cut a torn tail, rotate when the next lines would
 * pass max_bytes (lines are never split across files), write, fsync.
 * On a failed write the file is cut back to its last whole line, so no
 * partial line stays.  *@written: how many bytes of @buf are in the log
 * (whole lines; retry with the rest), @len when only the final fsync
 * failed (rewriting would duplicate them).
 * Return: 0 once everything is written and fsync'd, or -errno with @err set.
 */
int kn_audit_file_append(kn_audit_file *f, const char *buf, size_t len, size_t *written, kn_error *err);

/* kn_audit_file_close() - close the fds and free; safe to call twice. */
void kn_audit_file_close(kn_audit_file *f);

/*
 * `kennel audit` (audit_cli.c):
 *
 *   kennel audit [--session ID] [--since T] [--json] [--follow] [--file PATH]
 *
 * Prints the events of the log (--file, default kn_audit_default_path) and
 * of its rotated files, oldest first: PATH.N ... PATH.1, PATH.  The set of
 * files is taken under a shared lock of PATH, so a rotation cannot happen
 * between the opens.  One human line per event:
 *   TIME SESSION(8) KIND DECISION SUBJECT[ -- REASON][ [rule RULE]]
 * where SUBJECT is "[HOOK ]TOOL: COMMAND|TARGET", "QTYPE NAME[ -> ADDRESS]" (dns),
 * "NAME ADDRESS:PORT" (flow) or whatever of those fields is set; control
 * characters and invalid UTF-8 are printed escaped (\n, \x1b, \u009b) so a
 * logged command cannot drive the terminal.  --json prints each event as
 * one JSON line instead (re-serialised by json-c).
 *   --session ID  only events whose session starts with ID (any case)
 *   --since T     only events at or after T: RFC 3339 (2025-06-01T12:00:00Z,
 *                 fractions and +hh:mm offsets accepted), a date
 *                 (2025-06-01, midnight UTC), or a relative time N[smhd]
 *                 (10m, 2h, 1d) before now
 *   --follow      after the existing events, wait for new ones (inotify on
 *                 the directory, with a 1 s poll as a backstop) and follow
 *                 the log across rotations, reading any rotated file it has
 *                 not finished; runs until killed
 * A last line without its '\n' (being written, or torn by a crash) is not
 * an event yet: skipped (--follow waits for the rest).  A line that is not
 * a JSON object is skipped with a warning on stderr naming file and line.
 * No log at all: a note on stderr, nothing printed, exit 0 (--follow waits
 * for it to appear).
 * Exit: 0; 1 when a file cannot be read; 2 on a usage error.
 */

/* kn_audit_main() - `kennel audit ...` (argv[0] "audit"). Return: the exit code. */
int kn_audit_main(int argc, char **argv);

/*
 * kn_audit_parse_time() - an RFC 3339 date-time (also a bare YYYY-MM-DD,
 * read as midnight UTC) to milliseconds since the epoch.
 * Return: 0 and *@ms, or -EINVAL.
 */
int kn_audit_parse_time(const char *s, int64_t *ms);

/*
 * kn_audit_parse_since() - --since T: kn_audit_parse_time, or N[smhd]
 * before @now_ms.
 * Return: 0 and *@ms, or -EINVAL with @err set.
 */
int kn_audit_parse_since(const char *s, int64_t now_ms, int64_t *ms, kn_error *err);

/*
 * kn_audit_human() - the human line (no '\n') for one JSON line, as
 * `kennel audit` prints it.
 * Return: a malloc'd string, or NULL when @line is not a JSON object.
 */
char *kn_audit_human(const char *line, size_t len);

#endif
