/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The unpacker's pipeline: items and bounded queues between its threads,
 * the reader thread (libarchive) and the hasher thread (SHA-256 of each
 * file, the manifest lines in archive order).  The writer, and the how-it-
 * works overview, are in unpack.c.
 */
#include "unpack_pipeline.h"

#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "unpack.h"
#include "util.h"

/* ---- the pipeline's items and queues ----------------------------------- */






struct item *kn_unpack_item_new(enum item_kind kind, size_t extra)
{
	struct item *it = kn_xmalloc(sizeof(*it) + extra);

	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->cap = extra;
	it->cost = sizeof(*it) + extra;
	return it;
}

static struct item *chunk_get(struct pool *p, uint64_t off, bool first)
{
	struct item *it;

	pthread_mutex_lock(&p->lock);
	it = p->free;
	if (it)
		p->free = it->next;
	pthread_mutex_unlock(&p->lock);
	if (it) {
		memset(it, 0, offsetof(struct item, data));
		it->kind = ITEM_DATA;
		it->cap = CHUNK_SIZE;
		it->cost = sizeof(*it) + CHUNK_SIZE;
	} else {
		it = kn_unpack_item_new(ITEM_DATA, CHUNK_SIZE);
	}
	it->off = off;
	it->first = first;
	return it;
}

void kn_unpack_item_free(struct pool *p, struct item *it)
{
	if (!it)
		return;
	free(it->line);
	it->line = NULL;
	if (it->kind == ITEM_DATA && it->cap == CHUNK_SIZE) {
		pthread_mutex_lock(&p->lock);
		it->next = p->free;
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

		p->free = it->next;
		free(it);
	}
	pthread_mutex_destroy(&p->lock);
}



void kn_unpack_queue_init(struct queue *q, struct pool *pool)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->can_pop, NULL);
	pthread_cond_init(&q->can_push, NULL);
	q->pool = pool;
}

static void queue_drop_all(struct queue *q)
{
	while (q->head) {
		struct item *it = q->head;

		q->head = it->next;
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
 * Queue @list, one item or several linked by ->next (taken over; dropped
 * if the queue is closed).  Return: false when the queue is closed.
 */
bool kn_unpack_queue_push(struct queue *q, struct item *list)
{
	struct item *last = list;
	size_t cost = list->cost;

	while (last->next) {
		last = last->next;
		cost += last->cost;
	}
	pthread_mutex_lock(&q->lock);
	/* more than the budget still goes through an empty queue */
	while (!q->closed && q->head && q->cost + cost > QUEUE_MAX_BYTES) {
		q->push_waiting = true;
		pthread_cond_wait(&q->can_push, &q->lock);
	}
	q->push_waiting = false;
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		while (list) {
			struct item *next = list->next;

			kn_unpack_item_free(q->pool, list);
			list = next;
		}
		return false;
	}
	if (q->tail)
		q->tail->next = list;
	else
		q->head = list;
	q->tail = last;
	q->cost += cost;
	if (q->pop_waiting)
		pthread_cond_signal(&q->can_pop);
	pthread_mutex_unlock(&q->lock);
	return true;
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
	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	q->cost -= it->cost;
	/* wake the producer once half the budget is free, not per item */
	if (q->push_waiting && q->cost <= QUEUE_MAX_BYTES / 2)
		pthread_cond_signal(&q->can_push);
	pthread_mutex_unlock(&q->lock);
	it->next = NULL;
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
		(*entry)->next = chunk;
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
	uint64_t pos = 0;
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
				chunk = chunk_get(rd->pool, o, first);
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
	if (!chunk)
		chunk = chunk_get(rd->pool, pos, first);
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

/* ---- the hasher thread ---------------------------------------------------- */


static void hash_zeros(struct hasher *hs, uint64_t n)
{
	static const unsigned char zeros[65536];

	while (n > 0) {
		size_t chunk = n > sizeof(zeros) ? sizeof(zeros) : (size_t) n;

		if (!EVP_DigestUpdate(hs->md, zeros, chunk))
			hs->failed = true;
		n -= chunk;
	}
}

/* The last chunk of a file: print its manifest line with the digest. */
static void hasher_file_end(struct hasher *hs, const struct item *it)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[EVP_MAX_MD_SIZE];
	char text[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int dlen = 0;

	hash_zeros(hs, it->tail_hole);
	if (!EVP_DigestFinal_ex(hs->md, digest, &dlen) || !it->line) {
		hs->failed = true;
		return;
	}
	for (unsigned int i = 0; i < dlen; i++) {
		text[2 * i] = hex[digest[i] >> 4];
		text[2 * i + 1] = hex[digest[i] & 15];
	}
	text[2 * dlen] = '\0';
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
			if (it->first && !EVP_DigestInit_ex2(hs->md, hs->sha256, NULL))
				hs->failed = true;
			hash_zeros(hs, it->hole);
			if (!EVP_DigestUpdate(hs->md, it->data, it->len))
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
