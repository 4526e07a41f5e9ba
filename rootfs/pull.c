/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pull.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cache.h"
#include "cleanup.h"
#include "digest.h"
#include "fetch.h"
#include "lease.h"
#include "oci_layout.h"
#include "util.h"

int kn_rm_children(int dir_fd)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		int rr;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		rr = kn_rm_rf_at(dirfd(d), e->d_name);
		if (rr < 0 && !r)
			r = rr;
	}
	closedir(d);
	return r;
}

int kn_rm_rf_at(int parent, const char *name)
{
	struct stat st;
	int fd, r;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		/* an unpacked dir with mode 0000: make it ours to empty (a dir: no symlink to follow) */
		if (fchmodat(parent, name, 0700, 0) == 0)
			fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if ((st.st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0) {
		/* not ours: the removals below will say so */
	}
	r = kn_rm_children(fd);
	close(fd);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !r)
		r = -errno;
	return r;
}

/* Escape as unpack.h says: backslash, tab and newline. */
static void put_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int manifest_walk(int dir_fd, const char *prefix, FILE *out, uint64_t *entries, uint64_t *bytes, kn_error *err)
{
	_cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char **names = NULL;
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (fd < 0)
		return kn_error_set(err, errno, "read %s", *prefix ? prefix : ".");
	d = fdopendir(fd);
	if (!d)
		return kn_error_set(err, errno, "read %s", prefix);
	fd = -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			kn_strv_append(&names, e->d_name);
	qsort(names, kn_strv_len(names), sizeof(char *), cmp_str);
	for (size_t i = 0; names && names[i] && r == 0; i++) {
		_cleanup_free_ char *path = *prefix ? kn_xasprintf("%s/%s", prefix, names[i]) : kn_xstrdup(names[i]);
		struct stat st;
		char hex[65] = "-";
		char target[4096] = "";
		char type;

		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = kn_error_set(err, errno, "stat %s", path);
			break;
		}
		if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int f = openat(dirfd(d), names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

			type = 'f';
			if (f < 0 || kn_xxh128_fd(f, hex, err) < 0) {
				r = f < 0 ? kn_error_set(err, errno, "read %s", path) : kn_error_wrap(err, "%s", path);
				break;
			}
			*bytes += (uint64_t) st.st_size;
		} else if (S_ISDIR(st.st_mode)) {
			type = 'd';
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t l = readlinkat(dirfd(d), names[i], target, sizeof(target) - 1);

			type = 'l';
			target[l > 0 ? l : 0] = '\0';
		} else if (S_ISFIFO(st.st_mode)) {
			type = 'p';
		} else {
			continue;
		}
		(*entries)++;
		fprintf(out, "%c\t%o\t%llu\t%s\t", type, (unsigned) (st.st_mode & 07777),
			type == 'f' ? (unsigned long long) st.st_size : 0ULL, hex);
		put_escaped(out, path);
		if (type == 'l') {
			fputc('\t', out);
			put_escaped(out, target);
		}
		fputc('\n', out);
		if (type == 'd') {
			_cleanup_close_ int sub = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				r = kn_error_set(err, errno, "read %s", path);
			else
				r = manifest_walk(sub, path, out, entries, bytes, err);
		}
	}
	kn_strv_free(names);
	closedir(d);
	return r;
}

int kn_manifest_write_tree(int tree_fd, FILE *out, uint64_t *entries, uint64_t *bytes, kn_error *err)
{
	*entries = *bytes = 0;
	if (fputs(KN_MANIFEST_HEADER, out) < 0)
		return kn_error_set(err, errno ? errno : EIO, "write the manifest");
	return manifest_walk(tree_fd, "", out, entries, bytes, err);
}

static int mkdir_p(const char *path, mode_t mode, kn_error *err)
{
	_cleanup_free_ char *copy = kn_xstrdup(path);

	for (char *p = copy + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST)
				return kn_error_set(err, errno, "create %s", copy);
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* KENNEL_TIMING=1: phase times on stderr, for scripts/bench/unpack. */
static void phase(const char *what, double *t0)
{
	double t = now_ms();

	if (getenv("KENNEL_TIMING"))
		fprintf(stderr, "kennel: timing: %s %.1f ms\n", what, t - *t0);
	*t0 = t;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "file://", 7);
}

/* What step 2 leaves for step 5: the archive to unpack, and how it is held. */
struct archive_src {
	int fd;         /* the archive, read from its start by the unpacker; -1 for OCI */
	bool kept;      /* a copy in the work directory, kept as blobs/sha256-HEX */
	kn_lease lease; /* held when fd is the user's own file, read in place */
};

/* Create WORK/archive for a copy of the source. */
static int archive_copy_fd(const char *work, kn_error *err)
{
	_cleanup_free_ char *path = kn_xasprintf("%s/archive", work);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	return fd < 0 ? kn_error_set(err, errno, "create %s", path) : fd;
}

/*
 * Step 2: hash the archive.  A URL is downloaded into the work directory
 * while hashed.  A local file is hashed in place under a read lease (see
 * lease.h): no copy, and the lease proves at the end that nobody wrote to
 * it between the hashing and the last byte unpacked.  When no lease can be
 * had, it is copied while hashed, as a download is.
 */
static int acquire(const kn_pull_opts *o, const char *work, struct archive_src *src, char hex[65],
		   uint64_t *bytes, kn_error *err)
{
	_cleanup_close_ int in = -1;
	kn_error why = KN_ERROR_INIT;
	struct stat st;

	if (is_url(o->source)) {
		src->fd = archive_copy_fd(work, err);
		if (src->fd < 0)
			return src->fd;
		src->kept = true;
		return kn_fetch_url(o->source, src->fd, !o->quiet && isatty(STDERR_FILENO), hex, bytes, err);
	}
	in = open(o->source, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0)
		return kn_error_set(err, errno, "%s", o->source);
	if (fstat(in, &st) < 0)
		return kn_error_set(err, errno, "%s", o->source);
	if (S_ISDIR(st.st_mode))
		return kn_error_setx(err, EISDIR, "%s is a directory, not an archive: use it directly with --rootfs %s, "
				     "or pack it (tar -C DIR -cf rootfs.tar .)", o->source, o->source);
	if (!S_ISREG(st.st_mode))
		return kn_error_setx(err, EINVAL, "%s is not a regular file", o->source);
	if (kn_lease_take(&src->lease, in, &why) == 0) {
		src->fd = steal_fd(&in);
		if (kn_sha256_copy(src->fd, -1, hex, bytes, err) < 0)
			return kn_error_wrap(err, "%s", o->source);
		return 0;
	}
	if (!o->quiet)
		fprintf(stderr, "kennel: %s is not read in place (%s): copying it into the cache while hashing "
				"instead (the same result, one more copy)\n", o->source, why.msg);
	src->fd = archive_copy_fd(work, err);
	if (src->fd < 0)
		return src->fd;
	src->kept = true;
	if (kn_sha256_copy(in, src->fd, hex, bytes, err) < 0)
		return kn_error_wrap(err, "%s", o->source);
	return 0;
}

/* The leased source has not been written to (checked after the last read). */
static int source_unchanged(const kn_pull_opts *o, struct archive_src *src, kn_error *err)
{
	kn_error why = KN_ERROR_INIT;

	if (!src->lease.held || kn_lease_check(&src->lease, &why) == 0)
		return 0;
	return kn_error_setx(err, ESTALE, "%s changed during the pull (%s); nothing was kept: pull it again "
			     "once nobody is writing it", o->source, why.msg);
}

static int write_info(int entry_fd, const kn_pull_opts *o, const char *source, const char *hex, uint64_t archive_bytes,
		      bool archive_kept, const kn_unpack_stats *stats, kn_error *err)
{
	struct json_object *info = json_object_new_object();
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	const char *text;
	int fd, r = 0;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(info, "sha256", json_object_new_string(hex));
	json_object_object_add(info, "source", json_object_new_string(source));
	json_object_object_add(info, "archive_bytes", json_object_new_uint64(archive_bytes));
	/* false: a local file read in place; `verify` re-hashes it at its path if it is still there */
	json_object_object_add(info, "archive_kept", json_object_new_boolean(archive_kept));
	json_object_object_add(info, "unpacked_bytes", json_object_new_uint64(stats->bytes));
	json_object_object_add(info, "entries", json_object_new_uint64(stats->entries));
	json_object_object_add(info, "stripped_setid", json_object_new_uint64(stats->stripped_setid));
	json_object_object_add(info, "dropped_xattrs", json_object_new_uint64(stats->dropped_xattrs));
	json_object_object_add(info, "trusted_on_first_use", json_object_new_boolean(o->sha256 == NULL));
	json_object_object_add(info, "unpacked_at", json_object_new_string(when));
	text = json_object_to_json_string_ext(info, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	fd = openat(entry_fd, "info.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text) || fsync(fd) < 0)
		r = kn_error_set(err, errno, "write info.json");
	if (fd >= 0)
		close(fd);
	json_object_put(info);
	return r;
}

int kn_pull(const kn_pull_opts *o, char hex[65], kn_error *err)
{
	_cleanup_free_ char *cache = kn_cache_dir(err);
	_cleanup_free_ char *sub = NULL, *work = NULL, *lockname = NULL, *source = NULL, *lp = NULL;
	_cleanup_close_ int cache_fd = -1, work_lock = -1, digest_lock = -1;
	_cleanup_close_ int entry_fd = -1, tree_fd = -1;
	_cleanup_fclose_ FILE *manifest = NULL;
	kn_unpack_stats stats = { 0 };
	uint64_t archive_bytes = 0;
	kn_oci_image img = { 0 };
	kn_unpack_dirs layer_dirs = { 0 };
	struct archive_src src = { .fd = -1 };
	double t0 = now_ms();
	_cleanup_free_ char *oci_dir = NULL;
	const char *oci_tag = NULL;
	char entry_name[80], blob_name[96];
	struct stat st;
	int r;

	if (!cache)
		return -err->code;
	if (o->sha256 && !kn_is_sha256_hex(o->sha256))
		return kn_error_setx(err, EINVAL, "--sha256 %s: expected 64 lowercase hex digits", o->sha256);
	/* What the lock file and info.json record: an absolute path for local files. */
	if (!strncmp(o->source, "oci:", 4)) {
		/* oci:DIR[:TAG]: the tag is after the last ':' if what precedes is a directory */
		char *colon;
		struct stat ost;

		oci_dir = kn_xstrdup(o->source + 4);
		colon = strrchr(oci_dir, ':');
		if (colon && stat(oci_dir, &ost) < 0) {
			*colon = '\0';
			oci_tag = o->source + 4 + (colon - oci_dir) + 1;
		}
		{
			char *abs = realpath(oci_dir, NULL);

			if (!abs)
				return kn_error_set(err, errno, "%s", oci_dir);
			free(oci_dir);
			oci_dir = abs;
		}
		source = oci_tag ? kn_xasprintf("oci:%s:%s", oci_dir, oci_tag) : kn_xasprintf("oci:%s", oci_dir);
	} else if (is_url(o->source)) {
		source = kn_xstrdup(o->source);
	} else {
		char *abs = realpath(o->source, NULL);

		if (!abs)
			return kn_error_set(err, errno, "%s", o->source);
		source = abs;
	}
	for (const char *d = "tmp"; d; d = !strcmp(d, "tmp") ? "blobs" : !strcmp(d, "blobs") ? "locks" : NULL) {
		sub = kn_xasprintf("%s/%s", cache, d);
		r = mkdir_p(sub, 0755, err);
		free(sub);
		sub = NULL;
		if (r < 0)
			return kn_error_wrap(err, "cache");
	}
	cache_fd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cache_fd < 0)
		return kn_error_set(err, errno, "cache %s", cache);

	/* 1 */
	work = kn_xasprintf("%s/tmp/pull-XXXXXX", cache);
	if (!mkdtemp(work))
		return kn_error_set(err, errno, "create %s", work);
	lockname = kn_xasprintf("%s/.lock", work);
	work_lock = open(lockname, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (work_lock < 0 || flock(work_lock, LOCK_EX) < 0) {
		r = kn_error_set(err, errno, "lock %s", lockname);
		goto fail;
	}

	/* 2 */
	if (oci_dir) {
		if (!o->quiet)
			fprintf(stderr, "kennel: verifying the OCI image layout %s\n", oci_dir);
		r = kn_oci_layout_open(oci_dir, oci_tag, &img, err);
		if (r < 0) {
			kn_error_wrap(err, "%s", o->source);
			goto fail;
		}
		memcpy(hex, img.manifest_hex, 65);
	} else {
		if (!o->quiet)
			fprintf(stderr, "kennel: fetching %s\n", o->source);
		r = acquire(o, work, &src, hex, &archive_bytes, err);
		if (r == 0)
			r = source_unchanged(o, &src, err);
		if (r < 0)
			goto fail;
	}

	phase("fetch+verify", &t0);
	/* 3 */
	if (o->sha256 && strcmp(o->sha256, hex) != 0) {
		r = kn_error_setx(err, EBADMSG, "%s: sha256 mismatch: expected %s, got %s; nothing was unpacked",
				  o->source, o->sha256, hex);
		goto fail;
	}

	/* 4 */
	snprintf(entry_name, sizeof(entry_name), "sha256-%s", hex);
	free(sub);
	sub = kn_xasprintf("%s/locks/%s.lock", cache, entry_name);
	digest_lock = open(sub, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (digest_lock < 0 || flock(digest_lock, LOCK_EX) < 0) {
		r = kn_error_set(err, errno, "lock %s", sub);
		goto fail;
	}
	if (fstatat(cache_fd, entry_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!o->quiet)
			fprintf(stderr, "kennel: sha256:%s is already in the cache\n", hex);
		goto done;
	}

	/* 5 */
	free(sub);
	sub = kn_xasprintf("%s/entry", work);
	if (mkdir(sub, 0755) < 0 || (entry_fd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    mkdirat(entry_fd, "rootfs", 0755) < 0 ||
	    (tree_fd = openat(entry_fd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    /* not the caller's umask: a 0700 root would shut out the sandbox's mapped uid */
	    fchmod(entry_fd, 0755) < 0 || fchmod(tree_fd, 0755) < 0) {
		r = kn_error_set(err, errno, "create %s", sub);
		goto fail;
	}
	{
		int mfd = openat(entry_fd, "manifest", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (mfd < 0 || !(manifest = fdopen(mfd, "w"))) {
			r = kn_error_set(err, errno, "create the manifest");
			if (mfd >= 0)
				close(mfd);
			goto fail;
		}
	}
	if (!o->quiet)
		fprintf(stderr, "kennel: unpacking sha256:%s\n", hex);
	if (oci_dir) {
		/* The limits hold for the image as a whole: each layer gets what is left. */
		uint64_t size_left = o->limits.max_unpacked_size ? o->limits.max_unpacked_size : KN_UNPACK_DEFAULT_MAX_SIZE;
		uint64_t entries_left = o->limits.max_entries ? o->limits.max_entries : KN_UNPACK_DEFAULT_MAX_ENTRIES;

		/* Directory modes wait for the last layer: until then every
		 * directory stays writable for the files and whiteouts of the
		 * layers above (a lower layer's 0555 /usr/share/x would refuse
		 * them to an unprivileged user). */
		for (size_t i = 0; i < img.n_layers; i++) {
			kn_unpack_limits lim = { size_left, entries_left, o->limits.flags | KN_UNPACK_SKIP_WHITEOUTS,
						 &layer_dirs };
			_cleanup_close_ int lfd = open(img.layers[i], O_RDONLY | O_CLOEXEC);
			kn_unpack_stats ls = { 0 };

			if (lfd < 0) {
				r = kn_error_set(err, errno, "layer %s", img.layers[i]);
				goto fail;
			}
			r = kn_oci_apply_whiteouts(img.layers[i], tree_fd, err);
			if (r == 0)
				r = kn_unpack_archive(lfd, tree_fd, &lim, NULL, &ls, err);
			if (r < 0) {
				kn_error_wrap(err, "unpack layer %zu (sha256:%s) of %s", i + 1, img.layer_hex[i], o->source);
				goto fail;
			}
			stats.stripped_setid += ls.stripped_setid;
			stats.dropped_xattrs += ls.dropped_xattrs;
			if (ls.bytes >= size_left || ls.entries >= entries_left) {
				r = kn_error_setx(err, EFBIG, "%s: the image's layers together exceed the limits "
						  "(--max-unpacked-size, --max-entries)", o->source);
				goto fail;
			}
			size_left -= ls.bytes;
			entries_left -= ls.entries;
		}
		r = kn_unpack_dirs_apply(&layer_dirs, tree_fd, err);
		if (r < 0) {
			kn_error_wrap(err, "%s", o->source);
			goto fail;
		}
		r = kn_manifest_write_tree(tree_fd, manifest, &stats.entries, &stats.bytes, err);
		if (r < 0)
			goto fail;
	} else {
		if (lseek(src.fd, 0, SEEK_SET) < 0) {
			r = kn_error_set(err, errno, "rewind the archive");
			goto fail;
		}
		r = kn_unpack_archive(src.fd, tree_fd, &o->limits, manifest, &stats, err);
		if (r < 0) {
			kn_error_wrap(err, "unpack %s", o->source);
			goto fail;
		}
	}
	phase("unpack", &t0);
	if (fflush(manifest) != 0 || fsync(fileno(manifest)) < 0) {
		r = kn_error_set(err, errno, "write the manifest");
		goto fail;
	}
	r = write_info(entry_fd, o, source, hex, archive_bytes, oci_dir || src.kept, &stats, err);
	if (r < 0)
		goto fail;
	/* One sync of the whole filesystem instead of one per file. */
	if (syncfs(tree_fd) < 0) {
		r = kn_error_set(err, errno, "sync the unpacked tree");
		goto fail;
	}
	phase("sync", &t0);
	snprintf(blob_name, sizeof(blob_name), "blobs/%s", entry_name);
	free(sub);
	sub = NULL;
	if (oci_dir) {
		/* `verify` re-hashes the image manifest; the layers stay in the layout. */
		_cleanup_close_ int in = -1, out = -1;
		char again[65];

		sub = kn_xasprintf("%s/blobs/sha256/%s", oci_dir, hex);
		in = open(sub, O_RDONLY | O_CLOEXEC);
		out = openat(cache_fd, blob_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (in < 0 || out < 0 || kn_sha256_copy(in, out, again, NULL, err) < 0 || strcmp(again, hex) != 0) {
			r = kn_error_setx(err, EIO, "keep the image manifest in %s/%s", cache, blob_name);
			goto fail;
		}
	} else if (src.kept) {
		sub = kn_xasprintf("%s/archive", work);
		if (renameat(AT_FDCWD, sub, cache_fd, blob_name) < 0) {
			r = kn_error_set(err, errno, "keep the archive in %s/%s", cache, blob_name);
			goto fail;
		}
	} else {
		/* The commit: the tree is what was hashed only if the lease
		 * held until after the last byte was read. */
		r = source_unchanged(o, &src, err);
		if (r < 0)
			goto fail;
	}
	free(sub);
	sub = kn_xasprintf("%s/entry", work);
	{
		_cleanup_free_ char *dst = kn_xasprintf("%s/%s", cache, entry_name);

		if (rename(sub, dst) < 0) {
			r = kn_error_set(err, errno, "move %s into place", dst);
			goto fail;
		}
	}
	fsync(cache_fd);
	if (!o->quiet)
		fprintf(stderr, "kennel: sha256:%s unpacked: %llu entries, %llu bytes%s\n", hex,
			(unsigned long long) stats.entries, (unsigned long long) stats.bytes,
			stats.stripped_setid ? " (setuid/setgid bits stripped)" : "");

done:
	if (!o->sha256)
		fprintf(stderr, "kennel: trusting %s on first use: sha256:%s\n"
				"kennel: pin it: --sha256 %s (or in the lock file with --name)\n",
			o->source, hex, hex);
	if (o->name) {
		lp = kn_lock_path(o->lock_path, err);
		if (!lp) {
			r = -err->code;
			goto fail;
		}
		r = kn_lock_pin(lp, o->name, source, hex, err);
		if (r < 0)
			goto fail;
		if (!o->quiet)
			fprintf(stderr, "kennel: pinned %s in %s\n", o->name, lp);
	}
	r = 0;
fail:
	/* first, so that a writer waiting for the lease goes on at once */
	kn_lease_release(&src.lease);
	if (src.fd >= 0)
		close(src.fd);
	kn_unpack_dirs_clear(&layer_dirs);
	kn_oci_image_free(&img);
	kn_rm_rf_at(AT_FDCWD, work);
	return r;
}
