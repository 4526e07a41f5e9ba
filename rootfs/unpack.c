/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Safe unpacking of an untrusted root filesystem archive.
 *
 * How this works (one kn_unpack_archive() call, a pipeline of threads so
 * that decompression, creating files, writing their data and hashing it
 * overlap):
 *  1. The reader thread runs libarchive (every filter, the tar formats:
 *     ustar, pax, GNU) and queues each entry's header and, for a file, its
 *     data copied into chunks, to the writer.  It also stops at the entry
 *     limit and, early, at the size limit (a decompression bomb is not
 *     decompressed further than the limit plus one block).
 *  2. The writer (the calling thread) does every operation on names, in
 *     archive order.  The entry's path (and a symlink's or hardlink's
 *     target) is checked lexically; its parent directory is opened beneath
 *     the destination with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *     RESOLVE_NO_MAGICLINKS), missing ancestors created one name at a time
 *     the same way, and kept open while the following entries share it;
 *     the object is created on the final name with mkdirat, openat(O_CREAT
 *     | O_EXCL | O_NOFOLLOW), symlinkat, linkat or mknodat (FIFOs), none of
 *     which follows a symlink in the last component.  A new file's fd, then
 *     its data, charged to the size limit chunk by chunk first, go to a
 *     data writer thread (and each chunk to the hasher too).
 *  3. The data writer threads write the data to the fd they were given
 *     (O_DIRECT for the aligned body of large files, see DIRECT_MIN_SIZE),
 *     then the file's trailing hole, mode and mtime, and close it.  The
 *     files written with O_DIRECT have a thread of their own (its writes
 *     wait for the disk), the others another one.  They work only through
 *     fds the writer opened, never on a name.
 *     The buffered data writer hands completed files to the settler
 *     thread, which writes them back in batches and drops their pages
 *     from the page cache for the next files to reuse (see struct
 *     settler).
 *  4. The hasher thread (only with a manifest) computes each file's
 *     XXH3-128 from the same chunks and prints the manifest lines, in
 *     archive order.
 *  5. At the end, once the data writers are done, directory modes and
 *     mtimes are applied, deepest first, on fds opened O_DIRECTORY |
 *     O_NOFOLLOW beneath the destination: until then every directory is
 *     0700, so a read-only directory entry does not stop later entries
 *     from being written into it.  Several unpacks into one tree (OCI
 *     layers) can hold them back until after the last one (defer_dirs).
 *
 * Wake-ups between the threads are batched (QUEUE_WAKE_BYTES): on a VM a
 * wake-up costs more than creating a small file.
 *
 * Nothing here follows a symlink the archive made: the guarantee comes from
 * the kernel (openat2 resolve flags, O_NOFOLLOW, O_EXCL), the lexical checks
 * give the user a clear refusal message and keep escaping links out of the
 * tree for the code that runs the sandbox later.
 */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "unpack_pipeline.h"
#include "util.h"

/* Read size handed to libarchive: large reads, few syscalls. */
#define READ_BLOCK_SIZE (1U << 20)


/* Longest entry path accepted: the kernel's limit for one path argument. */
#define MAX_PATH_LEN PATH_MAX


#define RESOLVE_SAFE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* The data writer threads: one for the files written with O_DIRECT, one for the others. */
enum { DW_BUFFERED, DW_DIRECT, N_DATAWRITERS };


static inline void archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}
#define _cleanup_archive_ __attribute__((cleanup(archive_read_freep)))

/* ---- the writer's state ------------------------------------------------- */

/* A directory whose mode and mtime are applied at the end. */
struct pending_dir {
	char *path;     /* normalised, "" for the tree's root */
	size_t depth;   /* number of components; 0 for the root */
	size_t seq;     /* archive (and layer) order: later entries for the same dir win */
	mode_t mode;    /* permission bits to apply (setuid/setgid already stripped) */
	bool has_mtime;
	struct timespec mtime;
};

struct unpacker {
	int dest_fd;
	uint64_t max_bytes;
	unsigned flags;                /* KN_UNPACK_* */
	bool skipping;                 /* the current entry is a skipped whiteout */
	kn_unpack_stats *stats;
	kn_error *err;

	/* File modes are passed to openat(O_CREAT); fchmod only when the
	 * umask (or a default ACL on the destination) would change them. */
	mode_t umask;
	bool always_chmod;

	/* The parent directory of the previous entry, kept open. */
	int parent_fd;
	size_t parent_len;
	char parent_path[MAX_PATH_LEN];

	/* Directory modes and mtimes applied at the end: the unpacker's own,
	 * or the caller's to apply after several unpacks (OCI layers). */
	kn_unpack_dirs own_dirs;
	kn_unpack_dirs *dirs;

	/* The data writers' queues (buffered, direct), the hasher's (NULL
	 * without a manifest). */
	struct queue *to_data[N_DATAWRITERS];
	struct queue *to_hasher;
	bool data_stopped;             /* a data writer did, on an error of its own */
	struct pool *pool;

	/* The entry being written: its header item, and for a file whether
	 * its data is being received (its fd is a data writer's) and which
	 * data writer has it. */
	struct item *cur;
	const char *raw_path;          /* cur's path as the archive spells it */
	bool file_open;
	int file_dw;
	mode_t file_perm;
	uint64_t file_pos;             /* end of the data received so far */
	char path[MAX_PATH_LEN];       /* the entry's path, normalised */
	char target[MAX_PATH_LEN];     /* a hardlink's target, normalised */

};

/* ---- messages -------------------------------------------------------- */

/*
 * Copy an archive-supplied name into @out for an error message: control
 * bytes are shown as \xNN (a name must not drive the user's terminal) and
 * long names are cut with "...".
 */
const char *kn_unpack_msg_name(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!s)
		s = "(null)";
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;

		if (o + 8 >= cap || o >= MSG_NAME_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '\\') {
			out[o++] = '\\';
			if (c == '\\') {
				out[o++] = '\\';
			} else {
				out[o++] = 'x';
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 15];
			}
		} else {
			out[o++] = (char) c;
		}
	}
	out[o] = '\0';
	return out;
}


/* Refuse the current entry: "entry 'PATH': REASON" without strerror. */
static int refuse(struct unpacker *u, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct unpacker *u, int code, const char *fmt, ...)
{
	char reason[768];
	char name[MSG_BUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return kn_error_setx(u->err, code, "entry '%s': %s",
			     kn_unpack_msg_name(u->raw_path, name, sizeof(name)), reason);
}

/* A system call failed on the current entry: "entry 'PATH': WHAT: strerror". */
static int fail(struct unpacker *u, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct unpacker *u, int code, const char *fmt, ...)
{
	char what[768];
	char name[MSG_BUF];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return kn_error_set(u->err, code, "entry '%s': %s",
			    kn_unpack_msg_name(u->raw_path, name, sizeof(name)), what);
}

/* ---- lexical checks --------------------------------------------------- */

/*
 * Normalise @path into @buf: drop "." components, empty components ("//")
 * and a trailing "/".  Return: 1 when nothing is left (the tree's root),
 * 0 with the normalised path in @buf, or -EINVAL with @err set.
 */
static int normalise_path(const char *path, char *buf, size_t cap, kn_error *err)
{
	char name[MSG_BUF];
	const char *p = path;
	size_t o = 0;

	if (!buf || cap == 0)
		return kn_error_setx(err, EINVAL, "entry: no buffer for the path");
	buf[0] = '\0';
	if (!path || !*path)
		return kn_error_setx(err, EINVAL, "entry '': empty path");
	if (*path == '/')
		return kn_error_setx(err, EINVAL, "entry '%s': absolute path",
				     kn_unpack_msg_name(path, name, sizeof(name)));
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t) (end - p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return kn_error_setx(err, EINVAL, "entry '%s': '..' in path",
					     kn_unpack_msg_name(path, name, sizeof(name)));
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (o + (o > 0) + len + 1 > cap)
				return kn_error_setx(err, EINVAL, "entry '%s': path too long",
						     kn_unpack_msg_name(path, name, sizeof(name)));
			if (o > 0)
				buf[o++] = '/';
			memcpy(buf + o, p, len);
			o += len;
		}
		p = *end ? end + 1 : end;
	}
	buf[o] = '\0';
	return o == 0 ? 1 : 0;
}

int kn_unpack_check_path(const char *path, char *buf, size_t cap, const char **out, kn_error *err)
{
	char name[MSG_BUF];
	int r;

	r = normalise_path(path, buf, cap, err);
	if (r < 0)
		return r;
	if (r == 1)
		return kn_error_setx(err, EINVAL, "entry '%s': names the tree's root",
				     kn_unpack_msg_name(path, name, sizeof(name)));
	if (out)
		*out = buf;
	return 0;
}

int kn_unpack_check_symlink(const char *path, const char *target, kn_error *err)
{
	char name[MSG_BUF], tname[MSG_BUF];
	const char *p;
	size_t depth = 0;

	if (!path || !target)
		return kn_error_setx(err, EINVAL, "symlink: no path or target");
	if (!*target)
		return kn_error_setx(err, EINVAL, "entry '%s': empty symlink target",
				     kn_unpack_msg_name(path, name, sizeof(name)));
	/*
	 * Lexical resolution: start in the link's own directory (@path is
	 * normalised, so its depth is its number of '/'), or at the root for
	 * an absolute target, as the link resolves inside the sandbox.  The
	 * link's directories are real directories (the parent was opened
	 * with RESOLVE_NO_SYMLINKS and cannot be replaced while it holds the
	 * link), so the leading ".." of a target are exact.
	 */
	if (*target != '/')
		for (p = path; *p; p++)
			depth += *p == '/';
	for (p = target; *p;) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t) (end - p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (depth == 0)
				return kn_error_setx(err, EPERM,
						     "entry '%s': symlink target '%s' leaves the tree",
						     kn_unpack_msg_name(path, name, sizeof(name)),
						     kn_unpack_msg_name(target, tname, sizeof(tname)));
			depth--;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			depth++;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* ---- parent directories ----------------------------------------------- */

static int openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t) (flags | O_CLOEXEC),
		.resolve = RESOLVE_SAFE,
	};
	int fd;

	do
		fd = (int) syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

static int pending_dir_add(struct unpacker *u, const char *path, mode_t mode,
			   const struct timespec *mtime)
{
	kn_unpack_dirs *ds = u->dirs;
	struct pending_dir *d;
	size_t depth = 0;

	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? ds->cap * 2 : 256;
		ds->v = kn_xrealloc(ds->v, ds->cap * sizeof(*ds->v));
	}
	if (*path) {
		depth = 1;
		for (const char *p = path; *p; p++)
			depth += *p == '/';
	}
	d = &ds->v[ds->n];
	d->path = kn_xstrdup(path);
	d->depth = depth;
	d->seq = ds->n;
	d->mode = mode;
	d->has_mtime = mtime != NULL;
	if (mtime)
		d->mtime = *mtime;
	ds->n++;
	return 0;
}

/* Explain an openat2 failure on a parent directory. */
static int parent_error(struct unpacker *u, int r, const char *parent)
{
	char name[MSG_BUF];

	kn_unpack_msg_name(parent, name, sizeof(name));
	switch (-r) {
	case ELOOP:
		return refuse(u, EPERM, "parent '%s' is a symlink or goes through one (a directory "
			      "replaced by a symlink cannot hold later entries)", name);
	case ENOTDIR:
		return refuse(u, EPERM, "parent '%s' is not a directory", name);
	case EXDEV:
		return refuse(u, EPERM, "parent '%s' leaves the tree", name);
	case ENOSYS:
		return fail(u, ENOSYS, "openat2 (Linux 5.6 or later is needed to unpack safely)");
	default:
		return fail(u, -r, "open parent directory '%s'", name);
	}
}

/*
 * Create the missing ancestors of an entry one name at a time (tar does:
 * archives often omit directory entries), each one opened with the safe
 * resolve flags right after creation.  They get mode 0755 at the end,
 * unless a later entry for them says otherwise.
 */
static int create_parents(struct unpacker *u, char *parent)
{
	_cleanup_close_ int cur = -1;
	char *p = parent;

	for (;;) {
		char *slash = strchr(p, '/');
		int dirfd = cur >= 0 ? cur : u->dest_fd;
		int fd;

		/* @parent is cut after the current name so that it names the
		 * ancestor being worked on, in messages and for the mode */
		if (slash)
			*slash = '\0';
		fd = openat2_beneath(dirfd, p, O_PATH | O_DIRECTORY);
		if (fd == -ENOENT) {
			if (mkdirat(dirfd, p, 0700) < 0 && errno != EEXIST)
				fd = -errno;
			else
				fd = openat2_beneath(dirfd, p, O_PATH | O_DIRECTORY);
			if (fd >= 0)
				pending_dir_add(u, parent, 0755, NULL);
		}
		if (fd < 0)
			fd = parent_error(u, fd, parent);
		if (slash)
			*slash = '/';
		if (fd < 0)
			return fd;
		if (cur >= 0)
			close(cur);
		cur = fd;
		if (!slash)
			return steal_fd(&cur);
		p = slash + 1;
	}
}

static void parent_forget(struct unpacker *u)
{
	if (u->parent_fd >= 0)
		close(u->parent_fd);
	u->parent_fd = -1;
	u->parent_len = 0;
}

/*
 * Open the parent directory of @path (normalised) beneath the destination.
 * Return: 0 with *dirfd (owned by @u, not to be closed) and *name (the last
 * component, inside @path), or -errno with u->err set.
 */
static int open_parent(struct unpacker *u, char *path, int *dirfd, const char **name)
{
	char *slash = strrchr(path, '/');
	size_t len;
	int fd;

	if (!slash) {
		*dirfd = u->dest_fd;
		*name = path;
		return 0;
	}
	len = (size_t) (slash - path);
	*name = slash + 1;
	if (u->parent_fd >= 0 && u->parent_len == len && memcmp(u->parent_path, path, len) == 0) {
		*dirfd = u->parent_fd;
		return 0;
	}
	parent_forget(u);
	*slash = '\0';
	fd = openat2_beneath(u->dest_fd, path, O_PATH | O_DIRECTORY);
	if (fd == -ENOENT)
		fd = create_parents(u, path);
	else if (fd < 0)
		fd = parent_error(u, fd, path);
	if (fd >= 0) {
		memcpy(u->parent_path, path, len + 1);
		u->parent_len = len;
		u->parent_fd = fd;
	}
	*slash = '/';
	if (fd < 0)
		return fd;
	*dirfd = fd;
	return 0;
}

/*
 * Something exists at @name where the entry wants to create its object:
 * remove it as tar does (a non-empty directory stays, and the entry fails).
 * Never follows a symlink: unlinkat removes the link itself.
 */
static int remove_existing(struct unpacker *u, int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fail(u, errno, "stat existing entry");
	if (S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0) {
			if (errno == ENOTEMPTY || errno == EEXIST)
				return refuse(u, ENOTEMPTY, "replaces a non-empty directory");
			return fail(u, errno, "remove the directory it replaces");
		}
		/* it may have been the cached parent (an empty one); @dirfd
		 * may be that cache too: callers open the parent again */
		parent_forget(u);
	} else if (unlinkat(dirfd, name, 0) < 0) {
		return fail(u, errno, "remove the entry it replaces");
	}
	return 0;
}

/* ---- manifest lines ----------------------------------------------------- */

static size_t escaped_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s == '\\' || *s == '\t' || *s == '\n') ? 2 : 1;
	return n;
}

/* '\\', '\t' and '\n' as \\ \t \n: a line per entry, a tab between fields. */
static char *put_escaped(char *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '\t' || *s == '\n') {
			*o++ = '\\';
			*o++ = *s == '\\' ? '\\' : *s == '\t' ? 't' : 'n';
		} else {
			*o++ = *s;
		}
	}
	return o;
}

/*
 * A manifest line, TYPE MODE SIZE HASH PATH [TARGET], for the hasher to
 * print.  A file's line has no digest yet: *digest_at says where it goes;
 * other lines carry "-" there (digest_at NULL).
 */
static char *manifest_text(char type, mode_t mode, uint64_t size, const char *path,
			   const char *target, size_t *digest_at)
{
	char head[64];
	int hl = snprintf(head, sizeof(head), "%c\t%04o\t%llu\t", type, (unsigned) (mode & 07777),
			  (unsigned long long) size);
	size_t n = (size_t) hl + 2 + escaped_len(path) + (target ? 1 + escaped_len(target) : 0) + 2;
	char *text = kn_xmalloc(n), *o = text;

	memcpy(o, head, (size_t) hl);
	o += hl;
	if (digest_at)
		*digest_at = (size_t) hl;
	else
		*o++ = '-';
	*o++ = '\t';
	o = put_escaped(o, path);
	if (target) {
		*o++ = '\t';
		o = put_escaped(o, target);
	}
	*o++ = '\n';
	*o = '\0';
	return text;
}

/*
 * Hand @it (an ITEM_FILE or ITEM_DATA of the current file) to the file's
 * data writer thread, and a chunk to the hasher as well: the hasher hashes
 * what the data writer writes, from the same chunk, in archive order.
 * Return: 0, or -EIO when the data writer has stopped on an error
 * (kn_unpack_archive() reports that one).
 */
static int to_data(struct unpacker *u, struct item *it)
{
	if (it->kind == ITEM_DATA && u->to_hasher) {
		atomic_fetch_add_explicit(&it->refs, 1, memory_order_relaxed);
		kn_unpack_queue_push(u->to_hasher, it);
	}
	if (kn_unpack_queue_push(u->to_data[u->file_dw], it))
		return 0;
	u->data_stopped = true;
	return kn_error_setx(u->err, EIO, "the data writer stopped");
}

static int manifest_line(struct unpacker *u, char type, mode_t mode, const char *path,
			 const char *target)
{
	struct item *it;

	if (!u->to_hasher)
		return 0;
	it = kn_unpack_item_new(ITEM_LINE, 0);
	it->line = manifest_text(type, mode, 0, path, target, NULL);
	kn_unpack_queue_push(u->to_hasher, it);
	return 0;
}

/* ---- entries ------------------------------------------------------------ */

static mode_t entry_perm(struct unpacker *u, const struct header *h)
{
	mode_t mode = h->perm & 07777;

	if (mode & (S_ISUID | S_ISGID)) {
		u->stats->stripped_setid += !!(mode & S_ISUID) + !!(mode & S_ISGID);
		mode &= ~(mode_t) (S_ISUID | S_ISGID);
	}
	return mode;
}

static const struct timespec *entry_mtime(const struct header *h)
{
	return h->has_mtime ? &h->mtime : NULL;
}

/* Would creating @perm under the umask give something else than @perm? */
static bool needs_chmod(const struct unpacker *u, mode_t perm)
{
	return u->always_chmod || (perm & u->umask & 0777) != 0;
}

static int set_mtime_fd(struct unpacker *u, int fd, const struct timespec *mtime)
{
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

	if (!mtime)
		return 0;
	times[1] = *mtime;
	return futimens(fd, times) < 0 ? fail(u, errno, "set mtime") : 0;
}

static int unpack_dir(struct unpacker *u, const struct header *h)
{
	const char *name;
	mode_t perm = entry_perm(u, h);
	int dirfd, r;

	r = open_parent(u, u->path, &dirfd, &name);
	if (r < 0)
		return r;
	/* 0700 until the end: private while unpacking, always writable by us. */
	if (mkdirat(dirfd, name, 0700) < 0) {
		struct stat st;

		if (errno != EEXIST)
			return fail(u, errno, "mkdir");
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(u, errno, "stat existing entry");
		if (!S_ISDIR(st.st_mode)) {
			r = remove_existing(u, dirfd, name);
			if (r < 0)
				return r;
			r = open_parent(u, u->path, &dirfd, &name);
			if (r < 0)
				return r;
			if (mkdirat(dirfd, name, 0700) < 0)
				return fail(u, errno, "mkdir");
		}
		/* an existing directory: only its mode and mtime change */
	}
	pending_dir_add(u, u->path, perm, entry_mtime(h));
	u->stats->entries++;
	return manifest_line(u, 'd', perm, u->path, NULL);
}

/* Charge @n more bytes of file data to the size limit. */
static int charge(struct unpacker *u, uint64_t n)
{
	if (n > u->max_bytes - u->stats->bytes)
		return refuse(u, EFBIG, "unpacked data exceeds the limit of %llu bytes "
			      "(raise --max-unpacked-size if the archive is trusted)",
			      (unsigned long long) u->max_bytes);
	u->stats->bytes += n;
	return 0;
}

/*
 * Files at least this large are written with O_DIRECT (their aligned
 * body; the tail goes through the page cache): their data skips the page
 * cache, which costs more to fill than the disk write itself on a machine
 * where fresh memory is expensive (a VM's first touch of a page), and the
 * final syncfs has nothing of theirs left to write.  Smaller files gain
 * nothing: their one or two pages are written back at the end.
 */
#define DIRECT_MIN_SIZE (256U << 10)

static int file_begin(struct unpacker *u, const struct header *h)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	mode_t perm = entry_perm(u, h);
	const char *name;
	struct item *it;
	size_t namelen;
	int dirfd, fd, r;

	r = open_parent(u, u->path, &dirfd, &name);
	if (r < 0)
		return r;
	/* a new file's fd is writable whatever its mode (0444, 0000) */
	fd = openat(dirfd, name, flags, perm);
	if (fd < 0 && errno == EEXIST) {
		/* tar semantics: the later entry replaces the earlier one */
		r = remove_existing(u, dirfd, name);
		if (r < 0)
			return r;
		r = open_parent(u, u->path, &dirfd, &name);
		if (r < 0)
			return r;
		fd = openat(dirfd, name, flags, perm);
	}
	if (fd < 0)
		return fail(u, errno, "create file");
	/* The data writer thread writes the data, completes the file and
	 * closes it: the fd goes to it, with the name for its messages. */
	namelen = strlen(u->raw_path) + 1;
	it = kn_unpack_item_new(ITEM_FILE, namelen);
	memcpy(it->data, u->raw_path, namelen);
	it->fd = fd;
	if (h->has_size && h->size >= DIRECT_MIN_SIZE) {
		int fl = fcntl(fd, F_GETFL);

		/* EINVAL: a filesystem without direct I/O (tmpfs before 6.6) */
		it->direct = fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
	}
	u->file_dw = it->direct ? DW_DIRECT : DW_BUFFERED;
	u->file_open = true;
	u->file_perm = perm;
	u->file_pos = 0;
	return to_data(u, it);
}

/* The file is complete: a trailing hole, its mode and mtime, for the data writer; @last is its last chunk. */
static int file_end(struct unpacker *u, struct item *last)
{
	const struct header *h = &u->cur->hdr;
	uint64_t hole = 0;
	int r;

	if (h->has_size && h->size > u->file_pos) {
		hole = h->size - u->file_pos;
		r = charge(u, hole);
		if (r < 0)
			return r;
		u->file_pos = h->size;
	}
	last->size = u->file_pos;
	last->chmod = needs_chmod(u, u->file_perm);
	last->mode = u->file_perm;
	last->has_mtime = h->has_mtime;
	last->mtime = h->mtime;
	u->file_open = false;
	last->tail_hole = hole;
	if (u->to_hasher)
		last->line = manifest_text('f', u->file_perm, u->file_pos, u->path, NULL,
					   &last->digest_at);
	u->stats->entries++;
	return 0;
}

/* A chunk of the current file's data: charged, handed on to be written (@it taken). */
static int file_data(struct unpacker *u, struct item *it)
{
	uint64_t hole;
	int r;

	if (!u->file_open || it->off < u->file_pos) {
		kn_unpack_item_free(u->pool, it);
		return refuse(u, EINVAL, "data blocks out of order");
	}
	/* a hole (sparse file) counts as what it will read back as; charged
	 * before the data writer sees the chunk, so nothing over the limit is
	 * ever written */
	hole = it->off - u->file_pos;
	r = charge(u, hole + it->len);
	if (r == 0) {
		u->file_pos = it->off + it->len;
		it->hole = hole;
		if (it->last)
			r = file_end(u, it);
	}
	if (r < 0) {
		kn_unpack_item_free(u->pool, it);
		return r;
	}
	return to_data(u, it);
}

static int unpack_symlink(struct unpacker *u, const struct header *h)
{
	const char *target = h->symlink;
	const struct timespec *mtime = entry_mtime(h);
	const char *name;
	int dirfd, r;

	if (!target)
		return refuse(u, EINVAL, "symlink without a target");
	r = kn_unpack_check_symlink(u->path, target, u->err);
	if (r < 0) {
		/* restated with the archive's spelling of the path */
		char tname[MSG_BUF];

		return refuse(u, -r, r == -EPERM ? "symlink target '%s' leaves the tree"
						  : "invalid symlink target '%s'",
			      kn_unpack_msg_name(target, tname, sizeof(tname)));
	}
	r = open_parent(u, u->path, &dirfd, &name);
	if (r < 0)
		return r;
	if (symlinkat(target, dirfd, name) < 0) {
		if (errno != EEXIST)
			return fail(u, errno, "symlink");
		r = remove_existing(u, dirfd, name);
		if (r < 0)
			return r;
		r = open_parent(u, u->path, &dirfd, &name);
		if (r < 0)
			return r;
		if (symlinkat(target, dirfd, name) < 0)
			return fail(u, errno, "symlink");
	}
	if (mtime) {
		struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, *mtime };

		if (utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(u, errno, "set mtime");
	}
	u->stats->entries++;
	return manifest_line(u, 'l', 0777, u->path, target);
}

static int unpack_hardlink(struct unpacker *u, const struct header *h)
{
	const char *raw_target = h->hardlink;
	char tname[MSG_BUF];
	_cleanup_close_ int tdir_own = -1;
	const char *name, *tbase;
	char *slash;
	struct stat st;
	int dirfd, tdir, r;

	kn_unpack_msg_name(raw_target, tname, sizeof(tname));
	/* pax lets a hardlink carry data (the body of a regular file) */
	if (h->has_size && h->size > 0)
		return refuse(u, EPERM, "hardlink to '%s' carries data", tname);
	r = normalise_path(raw_target, u->target, sizeof(u->target), NULL);
	if (r != 0)
		return refuse(u, EPERM, "hardlink target '%s' is not a path inside the tree", tname);

	/* The target's directory: the cached parent when it is the same one. */
	slash = strrchr(u->target, '/');
	if (!slash) {
		tdir = u->dest_fd;
		tbase = u->target;
	} else if (u->parent_fd >= 0 && u->parent_len == (size_t) (slash - u->target) &&
		   memcmp(u->parent_path, u->target, u->parent_len) == 0) {
		tdir = u->parent_fd;
		tbase = slash + 1;
	} else {
		*slash = '\0';
		tdir_own = openat2_beneath(u->dest_fd, u->target, O_PATH | O_DIRECTORY);
		*slash = '/';
		if (tdir_own < 0)
			return refuse(u, EPERM, "hardlink target '%s' is not a file unpacked "
				      "from this archive", tname);
		tdir = tdir_own;
		tbase = slash + 1;
	}
	/* Everything in the tree was made by this unpack, so a regular file
	 * there is one it unpacked; anything else (a directory, a symlink, a
	 * FIFO, nothing) is refused. */
	if (fstatat(tdir, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return refuse(u, EPERM, "hardlink target '%s' is not a file unpacked from "
			      "this archive", tname);

	if (strcmp(u->path, u->target) == 0) {
		/* GNU tar stores a file named twice as a link to itself */
		return manifest_line(u, 'h', st.st_mode, u->path, u->target);
	}
	/* Opening the link's parent may close the cached fd tdir points to. */
	if (tdir == u->parent_fd) {
		tdir_own = fcntl(tdir, F_DUPFD_CLOEXEC, 0);
		if (tdir_own < 0)
			return fail(u, errno, "dup");
		tdir = tdir_own;
	}
	r = open_parent(u, u->path, &dirfd, &name);
	if (r < 0)
		return r;
	/* flags 0: never AT_SYMLINK_FOLLOW */
	if (linkat(tdir, tbase, dirfd, name, 0) < 0) {
		if (errno != EEXIST)
			return fail(u, errno, "link to '%s'", tname);
		r = remove_existing(u, dirfd, name);
		if (r < 0)
			return r;
		r = open_parent(u, u->path, &dirfd, &name);
		if (r < 0)
			return r;
		if (linkat(tdir, tbase, dirfd, name, 0) < 0)
			return fail(u, errno, "link to '%s'", tname);
	}
	u->stats->entries++;
	return manifest_line(u, 'h', st.st_mode, u->path, u->target);
}

static int unpack_fifo(struct unpacker *u, const struct header *h)
{
	_cleanup_close_ int fd = -1;
	mode_t perm = entry_perm(u, h);
	const char *name;
	struct stat st;
	int dirfd, r;

	r = open_parent(u, u->path, &dirfd, &name);
	if (r < 0)
		return r;
	/* 0600 so that we can open it to set the mode: fchmod needs an fd
	 * (not O_PATH), and chmod by name would follow a symlink */
	if (mknodat(dirfd, name, S_IFIFO | 0600, 0) < 0) {
		if (errno != EEXIST)
			return fail(u, errno, "mkfifo");
		r = remove_existing(u, dirfd, name);
		if (r < 0)
			return r;
		r = open_parent(u, u->path, &dirfd, &name);
		if (r < 0)
			return r;
		if (mknodat(dirfd, name, S_IFIFO | 0600, 0) < 0)
			return fail(u, errno, "mkfifo");
	}
	/* O_NONBLOCK: opening a FIFO for reading does not wait for a writer */
	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(u, errno, "open fifo");
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return fail(u, EIO, "open fifo: not the FIFO just created");
	if (fchmod(fd, perm) < 0)
		return fail(u, errno, "chmod");
	r = set_mtime_fd(u, fd, entry_mtime(h));
	if (r < 0)
		return r;
	u->stats->entries++;
	return manifest_line(u, 'p', perm, u->path, NULL);
}

static int unpack_entry(struct unpacker *u, const struct header *h)
{
	int r;

	u->raw_path = h->path;
	if (!h->path)
		return kn_error_setx(u->err, EINVAL, "entry #%llu: no usable path (%s)",
				     (unsigned long long) h->seq,
				     h->warning ? h->warning : "damaged archive?");
	/* Attributes never applied: xattrs (security.capability among them),
	 * ACLs, file flags, ownership. */
	u->stats->dropped_xattrs += h->xattrs;

	r = normalise_path(h->path, u->path, sizeof(u->path), u->err);
	if (r < 0)
		return r;
	if (r == 0 && (u->flags & KN_UNPACK_SKIP_WHITEOUTS)) {
		const char *base = strrchr(u->path, '/');

		/* OCI whiteouts: the caller applied them to the lower layers already */
		if (!strncmp(base ? base + 1 : u->path, ".wh.", 4)) {
			u->skipping = true;
			return 0;
		}
	}
	if (r == 1) {
		/* "./": the tree's root; its mode and mtime apply to the destination */
		mode_t perm;

		if (h->hardlink || h->type != AE_IFDIR)
			return refuse(u, EPERM, "names the tree's root but is not a directory");
		perm = entry_perm(u, h);
		pending_dir_add(u, "", perm, entry_mtime(h));
		u->stats->entries++;
		return manifest_line(u, 'd', perm, ".", NULL);
	}
	if (h->hardlink)
		return unpack_hardlink(u, h);
	switch (h->type) {
	case AE_IFDIR:
		return unpack_dir(u, h);
	case AE_IFREG:
		return file_begin(u, h);
	case AE_IFLNK:
		return unpack_symlink(u, h);
	case AE_IFIFO:
		return unpack_fifo(u, h);
	case AE_IFSOCK:
		return 0; /* a socket is a runtime object: nothing to unpack */
	case AE_IFCHR:
	case AE_IFBLK:
		return refuse(u, EPERM, "%s device nodes are not allowed in a root filesystem",
			      h->type == AE_IFCHR ? "character" : "block");
	default:
		return refuse(u, EINVAL, "unsupported entry type 0%o", (unsigned) h->type);
	}
}

/*
 * The writer: every filesystem operation, in archive order, from the
 * reader's items.  Return: 0 at the end of the archive, or -errno with
 * u->err set (a refusal, a failed operation, or the reader's error).
 */
static int writer_run(struct unpacker *u, struct queue *from_reader)
{
	for (;;) {
		struct item *it = kn_unpack_queue_pop(from_reader);
		int r;

		switch (it->kind) {
		case ITEM_ENTRY:
			free(u->cur);
			u->cur = it;
			u->skipping = false;
			r = unpack_entry(u, &it->hdr);
			break;
		case ITEM_DATA:
			if (u->skipping) {
				kn_unpack_item_free(u->pool, it);
				r = 0;
				break;
			}
			r = file_data(u, it);
			break;
		case ITEM_END:
			r = it->code ? kn_error_setx(u->err, it->code, "%s", it->text) : 0;
			kn_unpack_item_free(u->pool, it);
			return r;
		default:
			kn_unpack_item_free(u->pool, it);
			r = kn_error_setx(u->err, EIO, "unpack: unexpected item from the reader");
			break;
		}
		if (r < 0)
			return r;
	}
}

/* ---- directories at the end --------------------------------------------- */

static int pending_cmp(const void *pa, const void *pb)
{
	const struct pending_dir *a = pa, *b = pb;

	if (a->depth != b->depth)
		return a->depth > b->depth ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Apply directory modes and mtimes, deepest first: a directory is opened
 * through ancestors that still have their working mode (0700), and setting
 * a child's attributes does not touch its parent's mtime.  For one path
 * recorded several times (again in the archive, or in a later layer), the
 * last record is applied last and stands.
 */
int kn_unpack_dirs_apply(kn_unpack_dirs *ds, int dest_fd, kn_error *err)
{
	char name[MSG_BUF];

	if (ds->n > 1) /* qsort's array must not be NULL, even when empty */
		qsort(ds->v, ds->n, sizeof(*ds->v), pending_cmp);
	for (size_t i = 0; i < ds->n; i++) {
		const struct pending_dir *d = &ds->v[i];
		_cleanup_close_ int fd = -1;

		if (*d->path) {
			fd = openat2_beneath(dest_fd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		} else {
			fd = openat(dest_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				fd = -errno;
		}
		if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP)
			continue; /* replaced or removed later: what stands there now stays */
		if (fd < 0)
			return kn_error_set(err, -fd, "directory '%s': open to set its mode",
					    kn_unpack_msg_name(d->path, name, sizeof(name)));
		if (fchmod(fd, d->mode) < 0)
			return kn_error_set(err, errno, "directory '%s': chmod",
					    kn_unpack_msg_name(d->path, name, sizeof(name)));
		if (d->has_mtime) {
			struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, d->mtime };

			if (futimens(fd, times) < 0)
				return kn_error_set(err, errno, "directory '%s': set mtime",
						    kn_unpack_msg_name(d->path, name, sizeof(name)));
		}
	}
	return 0;
}

void kn_unpack_dirs_clear(kn_unpack_dirs *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		free(ds->v[i].path);
	free(ds->v);
	memset(ds, 0, sizeof(*ds));
}

/* ---- setup ------------------------------------------------------------- */

/* The process umask, read without changing it when /proc is there. */
static int read_umask(mode_t *out)
{
	char buf[2048];
	const char *p;
	ssize_t n = kn_read_file("/proc/self/status", buf, sizeof(buf));

	if (n > 0 && (p = strstr(buf, "\nUmask:\t"))) {
		*out = (mode_t) strtoul(p + 8, NULL, 8) & 0777;
		return 0;
	}
	return -ENOENT;
}

/* Does the destination carry a default ACL (which overrides the umask)? */
static bool has_default_acl(int dest_fd)
{
	_cleanup_close_ int fd = openat(dest_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return true; /* cannot tell: chmod every file */
	return fgetxattr(fd, "system.posix_acl_default", NULL, 0) >= 0;
}

/*
 * How many completed files the settler may hold, and have queued: a
 * quarter of the fd limit each (half in all), at most 4096.
 */
static size_t settle_max_fds(void)
{
	struct rlimit rl;
	rlim_t n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur;
	else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		n = 1 << 20;
	n /= 4;
	return n < 16 ? 16 : n > 4096 ? 4096 : (size_t) n;
}

static void unpacker_free(struct unpacker *u)
{
	parent_forget(u);
	free(u->cur);
	kn_unpack_dirs_clear(&u->own_dirs);
}

static void hasher_free(struct hasher *hs)
{
	kn_unpack_queue_destroy(&hs->in);
	XXH3_freeState(hs->xxh);
}

int kn_unpack_archive(int in_fd, int dest_fd, const kn_unpack_limits *limits,
		      FILE *manifest, kn_unpack_stats *stats, kn_error *err)
{
	_cleanup_archive_ struct archive *a = NULL;
	_cleanup_free_ struct unpacker *u = kn_xcalloc(1, sizeof(*u));
	_cleanup_free_ struct hasher *hs = NULL;
	_cleanup_free_ struct datawriter *dw = kn_xcalloc(N_DATAWRITERS, sizeof(*dw));
	_cleanup_free_ struct settler *se = kn_xcalloc(1, sizeof(*se));
	kn_unpack_stats local_stats;
	struct pool pool = { .free = NULL };
	struct queue from_reader;
	struct reader rd = { 0 };
	pthread_t reader_thread, hasher_thread, se_thread, dw_thread[N_DATAWRITERS];
	bool reader_started = false, hasher_started = false, se_started = false;
	bool dw_started[N_DATAWRITERS] = { false };
	int r;

	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	u->dest_fd = dest_fd;
	u->flags = limits ? limits->flags : 0;
	u->dirs = limits && limits->defer_dirs ? limits->defer_dirs : &u->own_dirs;
	u->max_bytes = limits && limits->max_unpacked_size ? limits->max_unpacked_size
							   : KN_UNPACK_DEFAULT_MAX_SIZE;
	u->stats = stats;
	u->err = err;
	u->parent_fd = -1;
	u->always_chmod = read_umask(&u->umask) < 0 || has_default_acl(dest_fd);
	pthread_mutex_init(&pool.lock, NULL);
	u->pool = &pool;
	kn_unpack_queue_init(&from_reader, &pool, LINK_MAIN);
	for (int i = 0; i < N_DATAWRITERS; i++) {
		kn_unpack_queue_init(&dw[i].in, &pool, LINK_MAIN);
		dw[i].pool = &pool;
	}
	kn_unpack_queue_init(&se->in, &pool, LINK_MAIN);
	se->pool = &pool;
	se->sync_fd = dest_fd;
	se->max_fds = settle_max_fds();

	a = archive_read_new();
	if (!a) {
		r = kn_error_setx(err, ENOMEM, "libarchive: out of memory");
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, in_fd, READ_BLOCK_SIZE) != ARCHIVE_OK) {
		r = kn_error_setx(err, kn_unpack_archive_code(a), "read archive: %s", archive_error_string(a));
		goto out;
	}

	if (manifest) {
		hs = kn_xcalloc(1, sizeof(*hs));
		kn_unpack_queue_init(&hs->in, &pool, LINK_HASHER);
		hs->out = manifest;
		hs->xxh = XXH3_createState();
		if (!hs->xxh) {
			r = kn_error_setx(err, ENOMEM, "XXH3 state: out of memory");
			goto out;
		}
		if (fputs(KN_MANIFEST_HEADER, manifest) < 0) {
			r = kn_error_set(err, errno ? errno : EIO, "write manifest");
			goto out;
		}
		r = pthread_create(&hasher_thread, NULL, kn_unpack_hasher_main, hs);
		if (r) {
			r = kn_error_set(err, r, "start the hashing thread");
			goto out;
		}
		hasher_started = true;
		u->to_hasher = &hs->in;
	}
	r = pthread_create(&se_thread, NULL, kn_unpack_settler_main, se);
	if (r) {
		r = kn_error_set(err, r, "start the settling thread");
		goto out;
	}
	se_started = true;
	dw[DW_BUFFERED].settle = se;
	for (int i = 0; i < N_DATAWRITERS; i++) {
		r = pthread_create(&dw_thread[i], NULL, kn_unpack_datawriter_main, &dw[i]);
		if (r) {
			r = kn_error_set(err, r, "start a data writing thread");
			goto out;
		}
		dw_started[i] = true;
		u->to_data[i] = &dw[i].in;
	}

	rd.a = a;
	rd.out = &from_reader;
	rd.pool = &pool;
	rd.max_entries = limits && limits->max_entries ? limits->max_entries
						       : KN_UNPACK_DEFAULT_MAX_ENTRIES;
	rd.max_bytes = u->max_bytes;
	r = pthread_create(&reader_thread, NULL, kn_unpack_reader_main, &rd);
	if (r) {
		r = kn_error_set(err, r, "start the reading thread");
		goto out;
	}
	reader_started = true;

	r = writer_run(u, &from_reader);
out:
	if (reader_started) {
		/* after an error, the reader's next push fails and it returns */
		kn_unpack_queue_close(&from_reader);
		pthread_join(reader_thread, NULL);
	}
	/* After a refusal the data writers still complete the files before
	 * it: what is left is exactly the entries before the refused one. */
	for (int i = 0; i < N_DATAWRITERS; i++) {
		if (!dw_started[i])
			continue;
		/* fails (and is freed) when the data writer stopped on an error */
		kn_unpack_queue_push(&dw[i].in, kn_unpack_item_new(ITEM_END, 0));
		pthread_join(dw_thread[i], NULL);
		/* its error is the one to report, unless the writer stopped first */
		if (dw[i].code && (r == 0 || u->data_stopped)) {
			r = kn_error_setx(err, dw[i].code, "%s", dw[i].msg);
			u->data_stopped = false;
		}
	}
	/* after the data writers: they hand it files until they end */
	if (se_started) {
		if (r < 0)
			atomic_store(&se->abandon, true);
		kn_unpack_queue_push(&se->in, kn_unpack_item_new(ITEM_END, 0));
		pthread_join(se_thread, NULL);
		if (r == 0 && se->code)
			r = kn_error_setx(err, se->code, "%s", se->msg);
	}
	if (hasher_started) {
		if (r < 0)
			atomic_store(&hs->abandon, true);
		kn_unpack_queue_push(&hs->in, kn_unpack_item_new(ITEM_END, 0));
		pthread_join(hasher_thread, NULL);
		if (r == 0 && hs->failed)
			r = kn_error_setx(err, EIO, "XXH3 of the files failed (libxxhash)");
	}
	/* last: every file is complete, and a directory's mode may shut us out;
	 * the caller applies deferred ones after its last unpack */
	if (r == 0 && u->dirs == &u->own_dirs)
		r = kn_unpack_dirs_apply(u->dirs, dest_fd, err);
	if (r == 0 && manifest && (fflush(manifest) != 0 || ferror(manifest)))
		r = kn_error_set(err, errno ? errno : EIO, "write manifest");
	if (hs)
		hasher_free(hs);
	kn_unpack_queue_destroy(&from_reader);
	for (int i = 0; i < N_DATAWRITERS; i++)
		kn_unpack_queue_destroy(&dw[i].in);
	kn_unpack_queue_destroy(&se->in);
	unpacker_free(u);
	kn_unpack_pool_destroy(&pool);
	return r;
}
