/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The unpacker's pipeline: items and bounded queues between its threads,
 * the reader thread (libarchive), the data writer threads (file contents),
 * the settler thread (write-back and drop-behind) and the hasher thread
 * (XXH3-128 of each file, the manifest lines in archive order).  The
 * writer, and the how-it-works overview, are in unpack.c.
 */
#include "unpack_pipeline.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "unpack.h"
#include "util.h"

/* ---- the pipeline's items and queues ----------------------------------- */

/*
 * A data chunk's data[] starts on a CHUNK_ALIGN boundary, as O_DIRECT
 * writes need: the item sits at the end of the first aligned block.
 */
#define CHUNK_LEAD (CHUNK_ALIGN - offsetof(struct item, data))
_Static_assert(offsetof(struct item, data) <= CHUNK_ALIGN, "an item header fits before its aligned data");

static struct item *chunk_alloc(void)
{
	void *base = NULL;

	if (posix_memalign(&base, CHUNK_ALIGN, CHUNK_ALIGN + CHUNK_SIZE) != 0)
		abort();
	return (struct item *) ((unsigned char *) base + CHUNK_LEAD);
}

static void chunk_release(struct item *it)
{
	free((unsigned char *) it - CHUNK_LEAD);
}

struct item *kn_unpack_item_new(enum item_kind kind, size_t extra)
{
	struct item *it = kn_xmalloc(sizeof(*it) + extra);

	memset(it, 0, sizeof(*it));
	it->kind = kind;
	atomic_init(&it->refs, 1);
	it->fd = -1;
	it->cap = extra;
	it->cost = sizeof(*it) + extra;
	return it;
}

/*
 * A chunk for data at @off of a file.  With @small (not 0), one of that
 * many bytes, malloc'd and freed: a file smaller than a chunk gets a chunk
 * of its own size, and as the queues charge what a chunk holds, many small
 * files travel in one batch.  Else a recycled, aligned chunk of the pool.
 */
static struct item *chunk_get(struct pool *p, uint64_t off, bool first, size_t small)
{
	struct item *it;

	if (small) {
		it = kn_unpack_item_new(ITEM_DATA, small);
		it->off = off;
		it->first = first;
		return it;
	}
	pthread_mutex_lock(&p->lock);
	it = p->free;
	if (it)
		p->free = it->next[LINK_MAIN];
	pthread_mutex_unlock(&p->lock);
	if (!it)
		it = chunk_alloc();
	memset(it, 0, offsetof(struct item, data));
	it->kind = ITEM_DATA;
	atomic_init(&it->refs, 1);
	it->pooled = true;
	it->cap = CHUNK_SIZE;
	it->cost = sizeof(*it) + CHUNK_SIZE;
	it->off = off;
	it->first = first;
	return it;
}

void kn_unpack_item_free(struct pool *p, struct item *it)
{
	/* acq_rel: the last holder sees everything the others did with it */
	if (!it || atomic_fetch_sub_explicit(&it->refs, 1, memory_order_acq_rel) > 1)
		return;
	free(it->line);
	it->line = NULL;
	if (it->kind == ITEM_FILE && it->fd >= 0) {
		close(it->fd);
		it->fd = -1;
	}
	if (it->pooled) {
		pthread_mutex_lock(&p->lock);
		it->next[LINK_MAIN] = p->free;
		p->free = it;
		pthread_mutex_unlock(&p->lock);
		return;
	}
	free(it);
}

void kn_unpack_pool_destroy(struct pool *p)
{
	while (p->free) {
		struct item *it = p->free;

		p->free = it->next[LINK_MAIN];
		chunk_release(it);
	}
	pthread_mutex_destroy(&p->lock);
}



void kn_unpack_queue_init(struct queue *q, struct pool *pool, unsigned link)
{
	memset(q, 0, sizeof(*q));
	q->link = link;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->can_pop, NULL);
	pthread_cond_init(&q->can_push, NULL);
	q->pool = pool;
}

static void queue_drop_all(struct queue *q)
{
	while (q->head) {
		struct item *it = q->head;

		q->head = it->next[q->link];
		kn_unpack_item_free(q->pool, it);
	}
	q->tail = NULL;
	q->cost = 0;
}

void kn_unpack_queue_destroy(struct queue *q)
{
	queue_drop_all(q);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->can_pop);
	pthread_cond_destroy(&q->can_push);
}

/*
 * Queue @list, one item or several linked by the queue's link (taken over; dropped
 * if the queue is closed).  Return: false when the queue is closed.
 */
bool kn_unpack_queue_push(struct queue *q, struct item *list)
{
	struct item *last = list;
	size_t cost = list->cost;
	bool end = list->kind == ITEM_END;

	while (last->next[q->link]) {
		last = last->next[q->link];
		cost += last->cost;
		end |= last->kind == ITEM_END;
	}
	pthread_mutex_lock(&q->lock);
	/* more than the budget still goes through an empty queue */
	while (!q->closed && q->head && q->cost + cost > QUEUE_MAX_BYTES) {
		if (q->pop_waiting)
			pthread_cond_signal(&q->can_pop);
		q->push_waiting = true;
		pthread_cond_wait(&q->can_push, &q->lock);
	}
	q->push_waiting = false;
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		while (list) {
			struct item *next = list->next[q->link];

			kn_unpack_item_free(q->pool, list);
			list = next;
		}
		return false;
	}
	if (q->tail)
		q->tail->next[q->link] = list;
	else
		q->head = list;
	q->tail = last;
	q->cost += cost;
	/* A waiting consumer is woken for a batch, not for each item: a
	 * wake-up costs more than the work of many small files (it is an
	 * IPI, a VM exit on a virtual machine). */
	if (q->pop_waiting && (end || q->cost >= QUEUE_WAKE_BYTES))
		pthread_cond_signal(&q->can_pop);
	pthread_mutex_unlock(&q->lock);
	return true;
}

bool kn_unpack_queue_try_push(struct queue *q, struct item *it)
{
	bool queued = false;

	pthread_mutex_lock(&q->lock);
	if (!q->closed && (!q->head || q->cost + it->cost <= QUEUE_MAX_BYTES)) {
		if (q->tail)
			q->tail->next[q->link] = it;
		else
			q->head = it;
		q->tail = it;
		q->cost += it->cost;
		queued = true;
		if (q->pop_waiting && q->cost >= QUEUE_WAKE_BYTES)
			pthread_cond_signal(&q->can_pop);
	}
	pthread_mutex_unlock(&q->lock);
	return queued;
}

struct item *kn_unpack_queue_pop(struct queue *q)
{
	struct item *it;

	pthread_mutex_lock(&q->lock);
	while (!q->head) {
		q->pop_waiting = true;
		pthread_cond_wait(&q->can_pop, &q->lock);
	}
	q->pop_waiting = false;
	it = q->head;
	q->head = it->next[q->link];
	if (!q->head)
		q->tail = NULL;
	q->cost -= it->cost;
	/* wake the producer once half the budget is free, not per item */
	if (q->push_waiting && q->cost <= QUEUE_MAX_BYTES / 2)
		pthread_cond_signal(&q->can_push);
	pthread_mutex_unlock(&q->lock);
	it->next[q->link] = NULL;
	return it;
}

/* The consumer gives up: drop what is queued, fail the producer's pushes. */
void kn_unpack_queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	queue_drop_all(q);
	pthread_cond_broadcast(&q->can_push);
	pthread_mutex_unlock(&q->lock);
}

/* ---- the reader thread ---------------------------------------------------- */


static bool reader_end(struct reader *rd, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Queue the end of the stream, with an error when @code is not 0. */
static bool reader_end(struct reader *rd, int code, const char *fmt, ...)
{
	struct item *it = kn_unpack_item_new(ITEM_END, END_MSG_MAX);
	va_list ap;

	it->code = code;
	it->text = (char *) it->data;
	va_start(ap, fmt);
	vsnprintf(it->text, END_MSG_MAX, fmt, ap);
	va_end(ap);
	return kn_unpack_queue_push(rd->out, it);
}

int kn_unpack_archive_code(struct archive *a)
{
	return archive_errno(a) > 0 ? archive_errno(a) : EINVAL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * The number of distinct xattr names on @e: a pax header written by
 * libarchive carries each one twice (LIBARCHIVE.xattr.* and SCHILY.xattr.*).
 */
static uint64_t count_xattrs(struct archive_entry *e)
{
	_cleanup_free_ const char **names = NULL;
	size_t n = (size_t) archive_entry_xattr_reset(e), got = 0;
	uint64_t distinct = 0;
	const char *name;
	const void *value;
	size_t size;

	if (n == 0)
		return 0;
	names = kn_xcalloc(n, sizeof(*names));
	while (got < n && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		names[got++] = name ? name : "";
	qsort(names, got, sizeof(*names), cmp_str);
	for (size_t i = 0; i < got; i++)
		distinct += i == 0 || strcmp(names[i], names[i - 1]) != 0;
	return distinct;
}

static const char *copy_str(char **o, const char *s)
{
	const char *start = *o;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(*o, s, n);
	*o += n;
	return start;
}

/* An ITEM_ENTRY with everything the writer needs from libarchive's entry. */
static struct item *entry_item(struct archive_entry *e, uint64_t seq, const char *warning)
{
	const char *path = archive_entry_pathname(e);
	const char *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	const char *symlink = type == AE_IFLNK ? archive_entry_symlink(e) : NULL;
	size_t n = 0;
	struct item *it;
	char *o;

	if (!path)
		n += warning ? strlen(warning) + 1 : 0;
	else
		warning = NULL;
	n += path ? strlen(path) + 1 : 0;
	n += hardlink ? strlen(hardlink) + 1 : 0;
	n += symlink ? strlen(symlink) + 1 : 0;
	it = kn_unpack_item_new(ITEM_ENTRY, n);
	o = (char *) it->data;
	it->hdr.path = copy_str(&o, path);
	it->hdr.hardlink = copy_str(&o, hardlink);
	it->hdr.symlink = copy_str(&o, symlink);
	it->hdr.warning = copy_str(&o, warning);
	it->hdr.type = type;
	it->hdr.perm = archive_entry_perm(e) & 07777;
	it->hdr.has_mtime = archive_entry_mtime_is_set(e);
	if (it->hdr.has_mtime) {
		it->hdr.mtime.tv_sec = archive_entry_mtime(e);
		it->hdr.mtime.tv_nsec = archive_entry_mtime_nsec(e);
		if (it->hdr.mtime.tv_nsec < 0 || it->hdr.mtime.tv_nsec >= 1000000000L)
			it->hdr.mtime.tv_nsec = 0;
	}
	it->hdr.has_size = archive_entry_size_is_set(e) && archive_entry_size(e) >= 0;
	it->hdr.size = it->hdr.has_size ? (uint64_t) archive_entry_size(e) : 0;
	it->hdr.xattrs = count_xattrs(e);
	it->hdr.seq = seq;
	return it;
}

/* Queue @entry (when still held) and @chunk (when not NULL) together. */
static bool reader_push(struct reader *rd, struct item **entry, struct item *chunk)
{
	struct item *list = *entry ? *entry : chunk;

	if (*entry)
		(*entry)->next[LINK_MAIN] = chunk;
	*entry = NULL;
	return !list || kn_unpack_queue_push(rd->out, list);
}

/*
 * Queue a regular file's header and its data, copied into chunks (the
 * blocks libarchive returns live only until the next call), the header
 * with the first chunk and the last chunk flagged: a small file is one
 * push.  Return: false when the reader is to stop.
 */
static bool reader_file(struct reader *rd, struct item *entry, const char *path,
			uint64_t *produced)
{
	char name[MSG_BUF];
	struct item *chunk = NULL;
	uint64_t pos = 0, size = entry->hdr.has_size ? entry->hdr.size : UINT64_MAX;
	bool first = true;

	for (;;) {
		const void *buf;
		const unsigned char *p;
		size_t len, left;
		la_int64_t off;
		uint64_t o;
		int r = archive_read_data_block(rd->a, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			kn_unpack_item_free(rd->pool, entry);
			kn_unpack_item_free(rd->pool, chunk);
			reader_end(rd, kn_unpack_archive_code(rd->a), "entry '%s': read data: %s",
				   kn_unpack_msg_name(path, name, sizeof(name)), archive_error_string(rd->a));
			return false;
		}
		o = off > 0 ? (uint64_t) off : 0;
		/* The writer charges the limit itself (and says so); stopping
		 * here too keeps a bomb from being decompressed any further.
		 * A hole counts as what it reads back as. */
		*produced += (o > pos ? o - pos : 0) + len;
		/* a chunk holds contiguous data: a sparse hole starts a new one */
		if (chunk && o != chunk->off + chunk->len) {
			if (!reader_push(rd, &entry, chunk))
				return false;
			chunk = NULL;
		}
		for (p = buf, left = len; left > 0;) {
			size_t n;

			if (!chunk) {
				/* within a small file's declared size: a chunk
				 * of that size; beyond it (a damaged archive),
				 * pool chunks */
				chunk = chunk_get(rd->pool, o, first,
						  size < CHUNK_SIZE && o < size ? (size_t) (size - o) : 0);
				first = false;
			}
			n = chunk->cap - chunk->len < left ? chunk->cap - chunk->len : left;
			memcpy(chunk->data + chunk->len, p, n);
			chunk->len += n;
			p += n;
			o += n;
			left -= n;
			if (chunk->len == chunk->cap) {
				if (!reader_push(rd, &entry, chunk))
					return false;
				chunk = NULL;
			}
		}
		pos = o;
		if (*produced > rd->max_bytes) {
			if (!reader_push(rd, &entry, chunk))
				return false;
			reader_end(rd, EFBIG, "entry '%s': unpacked data exceeds the limit of %llu bytes",
				   kn_unpack_msg_name(path, name, sizeof(name)), (unsigned long long) rd->max_bytes);
			return false;
		}
	}
	if (!chunk) {
		/* an empty last chunk (an empty file, or the end after a full one) */
		chunk = kn_unpack_item_new(ITEM_DATA, 0);
		chunk->off = pos;
		chunk->first = first;
	}
	chunk->last = true;
	return reader_push(rd, &entry, chunk);
}

void *kn_unpack_reader_main(void *arg)
{
	struct reader *rd = arg;
	uint64_t seen = 0, produced = 0;

	for (;;) {
		struct archive_entry *e;
		struct item *it;
		bool regular;
		int r = archive_read_next_header(rd->a, &e);

		if (r == ARCHIVE_EOF) {
			reader_end(rd, 0, "end");
			return NULL;
		}
		if (r < ARCHIVE_WARN) {
			reader_end(rd, kn_unpack_archive_code(rd->a), "read archive after %llu entries: %s",
				   (unsigned long long) seen, archive_error_string(rd->a));
			return NULL;
		}
		if (++seen > rd->max_entries) {
			reader_end(rd, EFBIG, "more than %llu entries in the archive (raise "
				   "--max-entries if the archive is trusted)",
				   (unsigned long long) rd->max_entries);
			return NULL;
		}
		it = entry_item(e, seen, r == ARCHIVE_WARN ? archive_error_string(rd->a) : NULL);
		regular = it->hdr.type == AE_IFREG && !it->hdr.hardlink && it->hdr.path;
		if (regular ? !reader_file(rd, it, archive_entry_pathname(e), &produced)
			    : !kn_unpack_queue_push(rd->out, it))
			return NULL;
	}
}

/* ---- the data writer threads: helpers ------------------------------------ */

static void dw_fail(struct datawriter *dw, const struct item *file, int code, const char *what)
{
	char name[MSG_BUF];

	if (dw->code)
		return;
	dw->code = code;
	snprintf(dw->msg, sizeof(dw->msg), "entry '%s': %s: %s",
		 kn_unpack_msg_name(file ? (const char *) file->data : NULL, name, sizeof(name)), what,
		 strerror(code));
}

static int pwrite_all(int fd, const unsigned char *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t) off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
	return 0;
}

/*
 * Write a chunk.  With O_DIRECT, the aligned part of an aligned chunk goes
 * direct; anything else (the tail, data after a sparse hole) drops
 * O_DIRECT for the rest of the file.  Return: 0 or -errno.
 */
static int dw_write(struct item *file, const struct item *it)
{
	size_t aligned = 0;
	int r;

	if (file->direct && it->pooled && it->off % CHUNK_ALIGN == 0)
		aligned = it->len & ~(size_t) (CHUNK_ALIGN - 1);
	if (aligned) {
		r = pwrite_all(file->fd, it->data, aligned, it->off);
		if (r < 0)
			return r;
	}
	if (aligned == it->len)
		return 0;
	if (file->direct) {
		int fl = fcntl(file->fd, F_GETFL);

		if (fl < 0 || fcntl(file->fd, F_SETFL, fl & ~O_DIRECT) < 0)
			return -errno;
		file->direct = false;
	}
	return pwrite_all(file->fd, it->data + aligned, it->len - aligned, it->off + aligned);
}

/* The last chunk is written: a trailing hole, the mode, the mtime, close (or hand to the settler). */
static void dw_complete(struct datawriter *dw, struct item *file, const struct item *last)
{
	int r;

	if (last->off + last->len < last->size && ftruncate(file->fd, (off_t) last->size) < 0)
		dw_fail(dw, file, errno, "truncate");
	else if (last->chmod && fchmod(file->fd, last->mode) < 0)
		dw_fail(dw, file, errno, "chmod");
	else if (last->has_mtime) {
		struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, last->mtime };

		if (futimens(file->fd, times) < 0)
			dw_fail(dw, file, errno, "set mtime");
	}
	if (dw->settle)
		r = kn_unpack_settle(dw->settle, file->fd, last->size);
	else
		r = close(file->fd) < 0 ? -errno : 0;
	file->fd = -1;
	if (r < 0)
		dw_fail(dw, file, -r, "close");
}

/* ---- the settler thread ------------------------------------------------ */

int kn_unpack_settle(struct settler *se, int fd, uint64_t size)
{
	struct item *it = kn_unpack_item_new(ITEM_FILE, 0);

	it->fd = fd;
	it->size = size;
	/* the queue holds at most max_fds of them (the fd limit) */
	it->cost = QUEUE_MAX_BYTES / se->max_fds;
	if (kn_unpack_queue_try_push(&se->in, it))
		return 0;
	it->fd = -1;
	kn_unpack_item_free(se->pool, it);
	return close(fd) < 0 ? -errno : 0;
}

static void settler_fail(struct settler *se, int code, const char *what)
{
	if (!se->code) {
		se->code = code;
		snprintf(se->msg, sizeof(se->msg), "%s: %s", what, strerror(code));
	}
}

/* Write the batch back, drop its pages, close it (only close when @sync is false). */
static void settle_batch(struct settler *se, int *fds, size_t n, bool sync)
{
	if (sync && syncfs(se->sync_fd) < 0)
		settler_fail(se, errno, "write back the files unpacked so far");
	for (size_t i = 0; i < n; i++) {
		/* advice only: a failure costs memory, not correctness */
		if (sync && !se->code)
			(void) posix_fadvise(fds[i], 0, 0, POSIX_FADV_DONTNEED);
		if (close(fds[i]) < 0)
			settler_fail(se, errno, "close an unpacked file");
	}
}

void *kn_unpack_settler_main(void *arg)
{
	struct settler *se = arg;
	int *fds = kn_xcalloc(se->max_fds, sizeof(*fds));
	uint64_t bytes = 0;
	size_t n = 0;

	for (;;) {
		struct item *it = kn_unpack_queue_pop(&se->in);

		if (it->kind == ITEM_END) {
			/* the rest needs no drop-behind (nothing follows it) and
			 * the caller syncs the filesystem once it has all */
			kn_unpack_item_free(se->pool, it);
			settle_batch(se, fds, n, false);
			free(fds);
			return NULL;
		}
		fds[n++] = it->fd;
		it->fd = -1;
		bytes += it->size;
		kn_unpack_item_free(se->pool, it);
		if (n == se->max_fds || bytes >= SETTLE_BYTES) {
			settle_batch(se, fds, n, !atomic_load(&se->abandon) && !se->code);
			n = 0;
			bytes = 0;
		}
	}
}

/* ---- the data writer threads ------------------------------------------- */

void *kn_unpack_datawriter_main(void *arg)
{
	struct datawriter *dw = arg;
	struct item *file = NULL;

	for (;;) {
		struct item *it = kn_unpack_queue_pop(&dw->in);

		switch (it->kind) {
		case ITEM_FILE:
			kn_unpack_item_free(dw->pool, file); /* closes a file left incomplete */
			file = it;
			continue;
		case ITEM_DATA: {
			int r = file && file->fd >= 0 ? dw_write(file, it) : -EBADF;

			if (r < 0)
				dw_fail(dw, file, -r, "write");
			else if (it->last)
				dw_complete(dw, file, it);
			break;
		}
		default:
			break;
		}
		if (it->kind == ITEM_END || dw->code) {
			kn_unpack_item_free(dw->pool, it);
			kn_unpack_item_free(dw->pool, file);
			/* on an error: the writer's pushes fail from now on */
			if (dw->code)
				kn_unpack_queue_close(&dw->in);
			return NULL;
		}
		kn_unpack_item_free(dw->pool, it);
	}
}

/* ---- the hasher thread ---------------------------------------------------- */


static void hash_zeros(struct hasher *hs, uint64_t n)
{
	static const unsigned char zeros[65536];

	while (n > 0) {
		size_t chunk = n > sizeof(zeros) ? sizeof(zeros) : (size_t) n;

		if (XXH3_128bits_update(hs->xxh, zeros, chunk) != XXH_OK)
			hs->failed = true;
		n -= chunk;
	}
}

/* The last chunk of a file: print its manifest line with the digest. */
static void hasher_file_end(struct hasher *hs, const struct item *it)
{
	char text[KN_XXH128_HEX_LEN + 1];

	hash_zeros(hs, it->tail_hole);
	if (!it->line) {
		hs->failed = true;
		return;
	}
	kn_xxh128_hex(XXH3_128bits_digest(hs->xxh), text);
	fwrite(it->line, 1, it->digest_at, hs->out);
	fputs(text, hs->out);
	fputs(it->line + it->digest_at, hs->out);
}

void *kn_unpack_hasher_main(void *arg)
{
	struct hasher *hs = arg;

	for (;;) {
		struct item *it = kn_unpack_queue_pop(&hs->in);
		enum item_kind kind = it->kind;

		if (kind == ITEM_DATA && !atomic_load(&hs->abandon) && !hs->failed) {
			if (it->first && XXH3_128bits_reset(hs->xxh) != XXH_OK)
				hs->failed = true;
			hash_zeros(hs, it->hole);
			if (XXH3_128bits_update(hs->xxh, it->data, it->len) != XXH_OK)
				hs->failed = true;
			if (it->last)
				hasher_file_end(hs, it);
		} else if (kind == ITEM_LINE && !atomic_load(&hs->abandon)) {
			fputs(it->line, hs->out);
		}
		kn_unpack_item_free(hs->in.pool, it);
		if (kind == ITEM_END)
			return NULL;
	}
}
