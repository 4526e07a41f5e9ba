/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_UNPACK_PIPELINE_H
#define KENNEL_UNPACK_PIPELINE_H

/*
 * Internal to the unpacker (unpack.c, unpack_pipeline.c): the items passed
 * between its threads, the bounded queues, and the reader, data writer and
 * hasher threads.  See the "how this works" comment at the top of
 * unpack.c.
 */

#include <archive.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <xxhash.h>

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
	ITEM_FILE,  /* writer -> a data writer: a file just created (its fd); its chunks follow */
	ITEM_DATA,  /* reader -> writer -> a data writer and the hasher: a chunk of a file's data */
	ITEM_LINE,  /* writer -> hasher: the manifest line of a non-file */
	ITEM_END,   /* end of the stream: code 0, or an error and its message */
};

/* Which link of an item a queue uses: a chunk is in a data writer's queue and the hasher's at once. */
enum { LINK_MAIN, LINK_HASHER };

struct item {
	struct item *next[2]; /* in a queue: next[LINK_MAIN], or next[LINK_HASHER] in the hasher's */
	enum item_kind kind;
	atomic_int refs;   /* queues or threads holding it (a chunk goes to a data writer and the hasher) */
	bool pooled;       /* a CHUNK_SIZE chunk from the pool (aligned), recycled */
	size_t cost;       /* bytes charged to the queue holding it */
	size_t cap;        /* bytes of data[] */
	struct header hdr; /* ITEM_ENTRY */
	/* ITEM_DATA: len bytes at offset off in the file, contiguous */
	uint64_t off;
	size_t len;
	bool first, last;  /* the file's first, last chunk (one chunk may be both) */
	uint64_t hole;     /* zero bytes (a sparse hole) before the chunk, for the hasher */
	uint64_t tail_hole;/* last chunk: zero bytes after it, for the hasher */
	/* ITEM_DATA, last chunk: how the data writer completes the file */
	uint64_t size;     /* its size (beyond the data: a trailing hole, by ftruncate) */
	bool chmod;        /* fchmod to mode (the umask changed what openat applied) */
	mode_t mode;
	bool has_mtime;
	struct timespec mtime;
	/* ITEM_FILE: the file's fd (owned: closed when the item is freed),
	 * opened O_DIRECT or not; its name as the archive spells it in data[] */
	int fd;
	bool direct;
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
/* Where a chunk's data starts (an O_DIRECT write needs a page-aligned buffer). */
#define CHUNK_ALIGN 4096U

struct pool {
	pthread_mutex_t lock;
	struct item *free;
};

/* Bytes queued between two threads before the producer waits. */
#define QUEUE_MAX_BYTES (16U << 20)
/* Bytes queued before a waiting consumer is woken (or the end of the stream). */
#define QUEUE_WAKE_BYTES (QUEUE_MAX_BYTES / 4)

/*
 * A queue between one producer and one consumer, bounded in bytes.  The
 * consumer may close it: what is queued is dropped and later pushes fail,
 * which is how a producer learns that it should stop.
 */
struct queue {
	pthread_mutex_t lock;
	pthread_cond_t can_pop, can_push;
	struct item *head, *tail;
	unsigned link;     /* LINK_MAIN or LINK_HASHER */
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

/*
 * A data writer thread: writes each file's chunks to its fd (O_DIRECT for
 * the aligned body of large files), completes the file (trailing hole,
 * mode, mtime) and closes it.  There are two, one for the files written
 * with O_DIRECT (whose writes wait for the disk) and one for the others.
 * Its first failure stops it: it records the error and closes its input,
 * so that the writer's next push fails.
 */
struct datawriter {
	struct queue in;
	struct pool *pool;
	struct settler *settle; /* not NULL: completed files go there instead of being closed */
	int code;            /* the first error (read after the thread is joined) */
	char msg[END_MSG_MAX];
};

/*
 * The settler thread: the page cache's drop-behind for the files written
 * through it.  On a VM, a page the guest has not used lately costs a trip
 * to the host when first written (most of GNU tar's time here), while a
 * page just freed is cheap to reuse.  So the buffered data writer hands
 * each completed file's fd over instead of closing it; once SETTLE_BYTES
 * have gathered, one syncfs() writes them back (the kernel batches that
 * far better than one sync_file_range() per file), posix_fadvise(DONTNEED)
 * frees their clean pages for the next files to reuse, and the fds are
 * closed.  The final syncfs then has little left to write.  Never on the
 * critical path: when its queue is full the data writer closes the file
 * itself.
 */
#define SETTLE_BYTES (64U << 20)

struct settler {
	struct queue in;
	struct pool *pool;
	int sync_fd;         /* any fd on the tree's filesystem */
	size_t max_fds;      /* files held in a batch, and queued (the fd limit allows twice this) */
	atomic_bool abandon; /* the unpack failed: close without syncing */
	int code;            /* the first error (read after the thread is joined) */
	char msg[END_MSG_MAX];
};

/* kn_unpack_settler_main() - the settler thread: @arg is a struct settler; returns NULL. */
void *kn_unpack_settler_main(void *arg);

/* kn_unpack_settle() - hand @fd (of a complete file of @size bytes) to @se, or close it when @se is busy.  Return: 0 or -errno (close). */
int kn_unpack_settle(struct settler *se, int fd, uint64_t size);

struct hasher {
	struct queue in;
	FILE *out;
	XXH3_state_t *xxh;   /* the current file's XXH3-128 */
	atomic_bool abandon; /* the unpack failed: drain without hashing */
	bool failed;         /* libxxhash failed */
};

/* kn_unpack_archive_code() - an errno for libarchive's last error on @a (EIO when it has none). */
int kn_unpack_archive_code(struct archive *a);

/* kn_unpack_datawriter_main() - the data writer thread: @arg is a struct datawriter; returns NULL. */
void *kn_unpack_datawriter_main(void *arg);

/* kn_unpack_hasher_main() - the hasher thread: @arg is a struct hasher; returns NULL. */
void *kn_unpack_hasher_main(void *arg);

/*
 * kn_unpack_item_free() - drop a reference to @it; the last one gives it
 * back to @p (pool chunks are recycled) or frees it (closing an ITEM_FILE's
 * fd).  NULL-safe.
 */
void kn_unpack_item_free(struct pool *p, struct item *it);

/* kn_unpack_item_new() - a new item of @kind with @extra bytes of data (not aligned, not pooled); aborts on OOM. */
struct item *kn_unpack_item_new(enum item_kind kind, size_t extra);

/* kn_unpack_pool_destroy() - free the recycled chunks. */
void kn_unpack_pool_destroy(struct pool *p);

/* kn_unpack_queue_close() - wake both sides; later pushes fail, pops return ITEM_END. */
void kn_unpack_queue_close(struct queue *q);

/* kn_unpack_queue_destroy() - free what is still queued. */
void kn_unpack_queue_destroy(struct queue *q);

/* kn_unpack_queue_init() - an empty, open queue linking items by their next[@link], whose chunks go back to @pool. */
void kn_unpack_queue_init(struct queue *q, struct pool *pool, unsigned link);

/* kn_unpack_queue_pop() - the next item, waiting for one.  Return: never NULL. */
struct item *kn_unpack_queue_pop(struct queue *q);

/* kn_unpack_queue_push() - append @list (linked by the queue's link), waiting while the queue is full.  Return: false when closed. */
bool kn_unpack_queue_push(struct queue *q, struct item *list);

/* kn_unpack_queue_try_push() - append @it unless the queue is full or closed (then @it stays the caller's).  Return: whether it was queued. */
bool kn_unpack_queue_try_push(struct queue *q, struct item *it);

/* kn_unpack_reader_main() - the reader thread: @arg is a struct reader; returns NULL. */
void *kn_unpack_reader_main(void *arg);

/* kn_unpack_msg_name() - @s made safe for a message in @out (control bytes as \\xNN, cut at MSG_NAME_MAX).  Return: @out. */
const char *kn_unpack_msg_name(const char *s, char *out, size_t cap);

#endif
