/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The audit log on disk (see audit.h): one writer's handle, the lock
 * protocol several processes share, torn-tail repair and rotation.
 *
 * How an append works, in order:
 *   1. lock: flock(LOCK_EX) the file this handle holds (opening the path
 *      first if it holds none), then compare the locked file with what the
 *      path names now; different (rotated away, deleted): unlock, reopen
 *      the path, lock again.  Rotation only happens under the lock of the
 *      current file, so once the check passes the file stays current until
 *      we unlock.
 *   2. repair: a writer killed in the middle of write(2) may leave a last
 *      line without its '\n'; cut the file back to its last complete line.
 *   3. write the lines that fit under max_bytes; when the next line does
 *      not fit, fsync, rotate (renames under the lock, a fresh file
 *      created, the directory fsync'd), lock the fresh file and go on.
 *   4. fsync, unlock.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "util.h"

/* A path that keeps being replaced under us this often is not a log we can use. */
#define LOCK_ATTEMPTS 1000

static int mkdir_parents(const char *dir, kn_error *err)
{
	_cleanup_free_ char *d = kn_xstrdup(dir);

	for (char *p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST)
			return kn_error_set(err, errno, "create %s", d);
		*p = '/';
	}
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return kn_error_set(err, errno, "create %s", d);
	return 0;
}

/*
 * open_current() - open (create) the file the path names.  O_NOFOLLOW: a
 * symlink planted at the path must not redirect the log; O_NONBLOCK: a
 * FIFO there must not hang us (it is rejected below; no effect on a
 * regular file).  A file of ours readable by others is tightened to 0600.
 */
static int open_current(kn_audit_file *f, kn_error *err)
{
	struct stat st;
	int fd;

	fd = openat(f->dirfd, f->base, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0)
		return kn_error_set(err, errno, "open %s", f->path);
	if (fstat(fd, &st) < 0) {
		int r = kn_error_set(err, errno, "stat %s", f->path);

		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return kn_error_setx(err, EINVAL, "%s is not a regular file", f->path);
	}
	if ((st.st_mode & 077) && st.st_uid == geteuid() && fchmod(fd, 0600) < 0) {
		int r = kn_error_set(err, errno, "chmod 0600 %s", f->path);

		close(fd);
		return r;
	}
	f->fd = fd;
	return 0;
}

/* lock_current() - step 1: on return f->fd is the current file, locked. */
static int lock_current(kn_audit_file *f, kn_error *err)
{
	for (int i = 0; i < LOCK_ATTEMPTS; i++) {
		struct stat held, named;
		int r;

		if (f->fd < 0) {
			r = open_current(f, err);
			if (r < 0)
				return r;
		}
		while (flock(f->fd, LOCK_EX) < 0) {
			if (errno != EINTR)
				return kn_error_set(err, errno, "lock %s", f->path);
		}
		if (fstat(f->fd, &held) < 0)
			return kn_error_set(err, errno, "stat %s", f->path);
		if (fstatat(f->dirfd, f->base, &named, AT_SYMLINK_NOFOLLOW) == 0 && named.st_dev == held.st_dev &&
		    named.st_ino == held.st_ino)
			return 0;
		/* rotated away or removed: the path names a new file (or none yet) */
		flock(f->fd, LOCK_UN);
		close(f->fd);
		f->fd = -1;
	}
	return kn_error_setx(err, EAGAIN, "%s keeps being replaced while we lock it", f->path);
}

static void unlock_current(kn_audit_file *f)
{
	if (f->fd >= 0)
		flock(f->fd, LOCK_UN);
}

/* repair_tail() - step 2; *size is the file's size afterwards. */
static int repair_tail(kn_audit_file *f, uint64_t *size, kn_error *err)
{
	struct stat st;
	char buf[4096];
	off_t end;
	char last;

	if (fstat(f->fd, &st) < 0)
		return kn_error_set(err, errno, "stat %s", f->path);
	*size = (uint64_t) st.st_size;
	if (st.st_size == 0)
		return 0;
	if (pread(f->fd, &last, 1, st.st_size - 1) != 1)
		return kn_error_set(err, errno ? errno : EIO, "read %s", f->path);
	if (last == '\n')
		return 0;
	/* find the last '\n': everything after it is a line nobody finished */
	end = st.st_size;
	while (end > 0) {
		size_t n = end > (off_t) sizeof(buf) ? sizeof(buf) : (size_t) end;
		ssize_t got = pread(f->fd, buf, n, end - (off_t) n);
		const char *nl;

		if (got != (ssize_t) n)
			return kn_error_set(err, got < 0 ? errno : EIO, "read %s", f->path);
		nl = memrchr(buf, '\n', n);
		end -= (off_t) n;
		if (nl) {
			end += nl - buf + 1;
			break;
		}
	}
	if (ftruncate(f->fd, end) < 0)
		return kn_error_set(err, errno, "cut the torn last line of %s", f->path);
	f->repairs++;
	*size = (uint64_t) end;
	return 0;
}

/* lock_and_repair() - steps 1 and 2. */
static int lock_and_repair(kn_audit_file *f, uint64_t *size, kn_error *err)
{
	int r = lock_current(f, err);

	if (r < 0)
		return r;
	r = repair_tail(f, size, err);
	if (r < 0)
		unlock_current(f);
	return r;
}

static char *rotated_name(const kn_audit_file *f, unsigned i)
{
	return kn_xasprintf("%s.%u", f->base, i);
}

/*
 * rotate() - under the lock of the current file: shift the rotated files
 * up (the oldest is replaced), the current one becomes .1, a fresh file
 * takes the path before the old lock goes, so readers and writers always
 * find a current file.  On return f->fd is the fresh file, not locked.
 */
static int rotate(kn_audit_file *f, kn_error *err)
{
	int old = f->fd, r;

	if (fsync(old) < 0)
		return kn_error_set(err, errno, "fsync %s", f->path);
	for (unsigned i = f->keep; i > 1; i--) {
		_cleanup_free_ char *from = rotated_name(f, i - 1), *to = rotated_name(f, i);

		if (renameat(f->dirfd, from, f->dirfd, to) < 0 && errno != ENOENT)
			return kn_error_set(err, errno, "rotate %s.%u", f->path, i - 1);
	}
	{
		_cleanup_free_ char *to = rotated_name(f, 1);

		if (renameat(f->dirfd, f->base, f->dirfd, to) < 0)
			return kn_error_set(err, errno, "rotate %s", f->path);
	}
	f->fd = -1;
	r = open_current(f, err);
	if (r < 0) {
		f->fd = old; /* still locked: the caller unlocks it */
		return r;
	}
	if (fsync(f->dirfd) < 0) {
		r = kn_error_set(err, errno, "fsync the directory of %s", f->path);
		close(f->fd);
		f->fd = old;
		return r;
	}
	flock(old, LOCK_UN);
	close(old);
	f->rotations++;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t) n;
	}
	return 0;
}

/*
 * fit() - how many bytes of the lines at @buf go into a file of @size:
 * the longest run of whole lines that keeps it within max_bytes; into an
 * empty file at least the first line, however long.  0: rotate first.
 */
static size_t fit(const kn_audit_file *f, const char *buf, size_t len, uint64_t size)
{
	uint64_t room = size < f->max_bytes ? f->max_bytes - size : 0;
	const char *nl;

	if (len <= room)
		return len;
	nl = room ? memrchr(buf, '\n', (size_t) room) : NULL;
	if (nl)
		return (size_t) (nl - buf) + 1;
	if (size > 0)
		return 0;
	nl = memchr(buf, '\n', len);
	return nl ? (size_t) (nl - buf) + 1 : len;
}

int kn_audit_file_append(kn_audit_file *f, const char *buf, size_t len, size_t *written, kn_error *err)
{
	uint64_t size;
	size_t off = 0;
	int r;

	*written = 0;
	if (len == 0)
		return 0;
	if (buf[len - 1] != '\n')
		return kn_error_setx(err, EINVAL, "audit: a line without its newline");
	r = lock_and_repair(f, &size, err);
	if (r < 0)
		return r;
	while (off < len) {
		size_t chunk = fit(f, buf + off, len - off, size);

		if (chunk == 0) {
			r = rotate(f, err);
			if (r < 0)
				goto out;
			/* another writer may have written to the fresh file already */
			r = lock_and_repair(f, &size, err);
			if (r < 0)
				return r;
			continue;
		}
		r = write_all(f->fd, buf + off, chunk);
		if (r < 0) {
			kn_error_set(err, -r, "write %s", f->path);
			/* no partial line may stay: the next writer would append to it */
			if (ftruncate(f->fd, (off_t) size) < 0) {
				/* the next lock_and_repair cuts it */
			}
			goto out;
		}
		size += chunk;
		off += chunk;
		*written = off;
	}
	if (fsync(f->fd) < 0)
		r = kn_error_set(err, errno, "fsync %s", f->path);
out:
	unlock_current(f);
	return r;
}

int kn_audit_file_open(kn_audit_file *f, const char *path, kn_error *err)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash;
	uint64_t size;
	int r;

	memset(f, 0, sizeof(*f));
	f->dirfd = -1;
	f->fd = -1;
	f->max_bytes = KN_AUDIT_MAX_BYTES;
	f->keep = KN_AUDIT_KEEP;
	slash = strrchr(path, '/');
	if (!path[0] || (slash && !slash[1]))
		return kn_error_setx(err, EINVAL, "audit log '%s': not a file name", path);
	f->path = kn_xstrdup(path);
	f->base = kn_xstrdup(slash ? slash + 1 : path);
	if (!slash)
		dir = kn_xstrdup(".");
	else if (slash == path)
		dir = kn_xstrdup("/");
	else
		dir = kn_xasprintf("%.*s", (int) (slash - path), path);
	if (strcmp(dir, ".") && strcmp(dir, "/")) {
		r = mkdir_parents(dir, err);
		if (r < 0)
			goto fail;
	}
	f->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0) {
		r = kn_error_set(err, errno, "open %s", dir);
		goto fail;
	}
	r = lock_and_repair(f, &size, err);
	if (r < 0)
		goto fail;
	unlock_current(f);
	/* the file may be new: make its name durable */
	if (fsync(f->dirfd) < 0) {
		r = kn_error_set(err, errno, "fsync %s", dir);
		goto fail;
	}
	return 0;
fail:
	kn_audit_file_close(f);
	return r;
}

void kn_audit_file_close(kn_audit_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	f->fd = -1;
	f->dirfd = -1;
	free(f->base);
	free(f->path);
	f->base = NULL;
	f->path = NULL;
}
