/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_UNPACK_PIPELINE_H
#define KENNEL_UNPACK_PIPELINE_H

/*
 * Internal to the unpacker (unpack.c, unpack_pipeline.c): the items passed
 * between its three threads, the bounded queues, and the reader and hasher
 * threads.  See the "how this works" comment at the top of unpack.c.
 */

#include <archive.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

/* Room for the reader's error message (as much as a kn_error holds). */
#define END_MSG_MAX 1024
/* How many bytes of an archive-supplied name go into an error message. */
#define MSG_NAME_MAX 200
#define MSG_BUF (MSG_NAME_MAX + 16)

/* An entry's header, copied out of libarchive by the reader. */
struct header {
	const char *path;     /* as the archive spells it; NULL when unreadable */
	const char *symlink;  /* a symlink's target, or NULL */
	const char *hardlink; /* a hardlink's target, or NULL */
	const char *warning;  /* libarchive's warning on this header, or NULL */
	mode_t type;          /* AE_IFREG, AE_IFDIR, ... */
	mode_t perm;          /* 07777 bits, as in the archive */
	bool has_mtime;
	struct timespec mtime;
	bool has_size;
	uint64_t size;
	uint64_t xattrs;      /* distinct xattr names (none is applied) */
	uint64_t seq;         /* 1-based number of the entry in the archive */
};

enum item_kind {
	ITEM_ENTRY, /* reader -> writer: a header; a regular file's chunks follow */
	ITEM_DATA,  /* reader -> writer -> hasher: a chunk of a file's data */
	ITEM_LINE,  /* writer -> hasher: the manifest line of a non-file */
	ITEM_END,   /* end of the stream: code 0, or an error and its message */
};

struct item {
	struct item *next;
	enum item_kind kind;
	size_t cost;       /* bytes charged to the queue holding it */
	size_t cap;        /* bytes of data[] */
	struct header hdr; /* ITEM_ENTRY */
	/* ITEM_DATA: len bytes at offset off in the file, contiguous */
	uint64_t off;
	size_t len;
	bool first, last;  /* the file's first, last chunk (one chunk may be both) */
	uint64_t hole;     /* zero bytes (a sparse hole) before the chunk, for the hasher */
	uint64_t tail_hole;/* last chunk: zero bytes after it, for the hasher */
	/* ITEM_LINE, and a last chunk for the hasher: a manifest line (owned)
	 * and, for a file, where its digest goes in it */
	char *line;
	size_t digest_at;
	/* ITEM_END */
	int code;
	char *text;        /* the message, in data[] */
	unsigned char data[];
};

/*
 * Chunks of file data are recycled: fresh memory costs a page fault per
 * 4 KiB, and malloc gives large blocks back to the kernel on free.  How
 * many exist is bounded by what the queues hold.
 */
#define CHUNK_SIZE (256U << 10)

struct pool {
	pthread_mutex_t lock;
	struct item *free;
};

/* Bytes queued between two threads before the producer waits. */
#define QUEUE_MAX_BYTES (16U << 20)

/*
 * A queue between one producer and one consumer, bounded in bytes.  The
 * consumer may close it: what is queued is dropped and later pushes fail,
 * which is how a producer learns that it should stop.
 */
struct queue {
	pthread_mutex_t lock;
	pthread_cond_t can_pop, can_push;
	struct item *head, *tail;
	size_t cost;
	bool pop_waiting, push_waiting, closed;
	struct pool *pool;
};

struct reader {
	struct archive *a;
	struct queue *out;
	struct pool *pool;
	uint64_t max_entries;
	uint64_t max_bytes;
};

struct hasher {
	struct queue in;
	FILE *out;
	EVP_MD *sha256;
	EVP_MD_CTX *md;
	atomic_bool abandon; /* the unpack failed: drain without hashing */
	bool failed;         /* OpenSSL failed */
};

/* kn_unpack_archive_code() - an errno for libarchive's last error on @a (EIO when it has none). */
int kn_unpack_archive_code(struct archive *a);

/* kn_unpack_hasher_main() - the hasher thread: @arg is a struct hasher; returns NULL. */
void *kn_unpack_hasher_main(void *arg);

/* kn_unpack_item_free() - give @it back to @p (data chunks are recycled) or free it. */
void kn_unpack_item_free(struct pool *p, struct item *it);

/* kn_unpack_item_new() - a new item of @kind with @extra bytes of data; aborts on OOM. */
struct item *kn_unpack_item_new(enum item_kind kind, size_t extra);

/* kn_unpack_pool_destroy() - free the recycled chunks. */
void kn_unpack_pool_destroy(struct pool *p);

/* kn_unpack_queue_close() - wake both sides; later pushes fail, pops return ITEM_END. */
void kn_unpack_queue_close(struct queue *q);

/* kn_unpack_queue_destroy() - free what is still queued. */
void kn_unpack_queue_destroy(struct queue *q);

/* kn_unpack_queue_init() - an empty, open queue whose chunks go back to @pool. */
void kn_unpack_queue_init(struct queue *q, struct pool *pool);

/* kn_unpack_queue_pop() - the next item, waiting for one.  Return: never NULL. */
struct item *kn_unpack_queue_pop(struct queue *q);

/* kn_unpack_queue_push() - append the list @list, waiting while the queue is full.  Return: false when closed. */
bool kn_unpack_queue_push(struct queue *q, struct item *list);

/* kn_unpack_reader_main() - the reader thread: @arg is a struct reader; returns NULL. */
void *kn_unpack_reader_main(void *arg);

/* kn_unpack_msg_name() - @s made safe for a message in @out (control bytes as \\xNN, cut at MSG_NAME_MAX).  Return: @out. */
const char *kn_unpack_msg_name(const char *s, char *out, size_t cap);

#endif
