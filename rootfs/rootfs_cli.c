/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `kennel rootfs ...`: pull, ls, verify, rm, gc over the cache described in
 * cache.h.  Runs in the kennel-rootfs helper (libarchive, libcurl and
 * libcrypto stay out of the launcher).
 */
#include "rootfs_cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cache.h"
#include "cleanup.h"
#include "digest.h"
#include "pull.h"
#include "unpack.h"
#include "util.h"

static int fail(const kn_error *err)
{
	fprintf(stderr, "kennel: %s\n", err->msg);
	return 1;
}

static int cmd_pull(int argc, char **argv)
{
	enum { OPT_SHA = 256, OPT_NAME, OPT_MAXSIZE, OPT_MAXENT, OPT_LOCK, OPT_QUIET };
	static const struct option longopts[] = {
		{ "sha256", required_argument, NULL, OPT_SHA },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "max-unpacked-size", required_argument, NULL, OPT_MAXSIZE },
		{ "max-entries", required_argument, NULL, OPT_MAXENT },
		{ "lock", required_argument, NULL, OPT_LOCK },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ NULL, 0, NULL, 0 },
	};
	kn_pull_opts o = { 0 };
	kn_error err = KN_ERROR_INIT;
	_cleanup_free_ char *pinned_source = NULL;
	char hex[65];
	char pinned_hex[65];
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "q", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_SHA:
			o.sha256 = optarg;
			if (!strncmp(o.sha256, "sha256:", 7))
				o.sha256 += 7;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_MAXSIZE:
			if (kn_parse_size(optarg, &o.limits.max_unpacked_size, &err) < 0) {
				kn_error_wrap(&err, "--max-unpacked-size");
				return fail(&err);
			}
			break;
		case OPT_MAXENT: {
			uint32_t n;

			if (kn_parse_u32(optarg, "--max-entries", &n, &err) < 0)
				return fail(&err);
			o.limits.max_entries = n;
			break;
		}
		case OPT_LOCK:
			o.lock_path = optarg;
			break;
		case 'q':
		case OPT_QUIET:
			o.quiet = true;
			break;
		default:
			fprintf(stderr, "kennel: rootfs pull: unknown or incomplete option '%s'\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: kennel rootfs pull SOURCE|NAME [--sha256 HEX] [--name NAME] [--lock FILE]\n"
				"                          [--max-unpacked-size SIZE] [--max-entries N] [--quiet]\n");
		return 2;
	}
	o.source = argv[optind];
	/* A name pinned in the lock file, with no such file here: pull its pin. */
	if (!strchr(o.source, '/') && !strchr(o.source, ':') && access(o.source, F_OK) < 0) {
		_cleanup_free_ char *lp = kn_lock_path(o.lock_path, &err);

		if (!lp || kn_lock_lookup(lp, o.source, pinned_hex, &pinned_source, &err) < 0)
			return fail(&err);
		if (!pinned_source || !*pinned_source) {
			fprintf(stderr, "kennel: rootfs %s: the lock file %s gives no source to pull from\n", o.source, lp);
			return 1;
		}
		if (o.sha256 && strcmp(o.sha256, pinned_hex) != 0) {
			fprintf(stderr, "kennel: --sha256 disagrees with the pin of %s in %s\n", o.source, lp);
			return 1;
		}
		o.sha256 = pinned_hex;
		o.source = pinned_source;
	}
	if (kn_pull(&o, hex, &err) < 0)
		return fail(&err);
	printf("sha256:%s\n", hex);
	return 0;
}

/* ---- manifest -------------------------------------------------------- */

struct mentry {
	char type;
	unsigned mode;
	unsigned long long size;
	char *sha;
	char *path;
	char *target;
};

static char *unescape(const char *s)
{
	char *out = kn_xmalloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

static int cmp_mentry(const void *a, const void *b)
{
	return strcmp(((const struct mentry *) a)->path, ((const struct mentry *) b)->path);
}

static void mentries_free(struct mentry *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].sha);
		free(m[i].path);
		free(m[i].target);
	}
	free(m);
}

/* A file hash of the manifest's format: "-", or hex digits of the right count. */
static bool hash_field_ok(const char *h, int format)
{
	size_t want = format == 1 ? KN_SHA256_HEX_LEN : KN_XXH128_HEX_LEN, n = 0;

	if (!strcmp(h, "-"))
		return true;
	for (; h[n]; n++)
		if (!((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f')))
			return false;
	return n == want;
}

/*
 * Read the manifest (unpack.h): format 2 starts with KN_MANIFEST_HEADER
 * (XXH3-128 per file); format 1, from before that header, has none
 * (SHA-256 per file) and is still checked; any other format is refused.
 */
static int load_manifest(int entry_fd, const char *hex, struct mentry **out, size_t *n_out, int *format,
			 kn_error *err)
{
	int fd = openat(entry_fd, "manifest", O_RDONLY | O_CLOEXEC);
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, n = 0, alloc = 0, lineno = 0;
	struct mentry *v = NULL;
	ssize_t len;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return kn_error_set(err, errno, "open the manifest");
	}
	*format = 1;
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *fields[6] = { 0 };
		char *save = NULL, *tok;
		int k = 0;

		lineno++;
		if (lineno == 1 && line[0] == '#') {
			if (!strcmp(line, KN_MANIFEST_HEADER)) {
				*format = 2;
				continue;
			}
			if (len > 0 && line[len - 1] == '\n')
				line[len - 1] = '\0';
			return kn_error_setx(err, EPROTONOSUPPORT, "the manifest's format ('%.60s') is not one this "
					     "kennel knows: re-pull it (kennel rootfs rm sha256:%s, then kennel rootfs "
					     "pull SOURCE --sha256 %s)", line, hex, hex);
		}
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		for (tok = strtok_r(line, "\t", &save); tok && k < 6; tok = strtok_r(NULL, "\t", &save))
			fields[k++] = tok;
		if (k < 5 || strlen(fields[0]) != 1 || !hash_field_ok(fields[3], *format)) {
			mentries_free(v, n);
			return kn_error_setx(err, EINVAL, "manifest line %zu: malformed", lineno);
		}
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			v = kn_xrealloc(v, alloc * sizeof(*v));
		}
		v[n].type = fields[0][0];
		v[n].mode = (unsigned) strtoul(fields[1], NULL, 8);
		v[n].size = strtoull(fields[2], NULL, 10);
		v[n].sha = kn_xstrdup(fields[3]);
		v[n].path = unescape(fields[4]);
		v[n].target = fields[5] ? unescape(fields[5]) : NULL;
		n++;
	}
	/*
	 * Sorted by path for the walk.  A path the archive holds twice appears
	 * twice; qsort is not stable, so verify checks the last of a run only
	 * where the unpacker's own semantics agree (the later entry replaced
	 * the earlier one, and both record the final state for dirs).
	 */
	qsort(v, n, sizeof(*v), cmp_mentry);
	*out = v;
	*n_out = n;
	return 0;
}

/* A file's hash as the manifest's @format records it. */
static int hash_file_at(int dirfd, const char *path, int format, char hex[65], kn_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return kn_error_set(err, errno, "%s", path);
	return format == 1 ? kn_sha256_copy(fd, -1, hex, NULL, err) : kn_xxh128_fd(fd, hex, err);
}

/* The entry's info.json (NULL when unreadable). */
static struct json_object *entry_info(int entry_fd)
{
	_cleanup_close_ int fd = openat(entry_fd, "info.json", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (1 << 20))
		return NULL;
	text = kn_xmalloc((size_t) st.st_size + 1);
	if (read(fd, text, (size_t) st.st_size) != st.st_size)
		return NULL;
	text[st.st_size] = '\0';
	return json_tokener_parse(text);
}

/*
 * Does the cache hold the entry's archive?  Entries from before info.json
 * said (archive_kept) always did.
 */
static bool info_archive_kept(struct json_object *info)
{
	struct json_object *v;

	if (!info || !json_object_object_get_ex(info, "archive_kept", &v))
		return true;
	return json_object_get_boolean(v);
}

enum archive_check { ARCHIVE_OK, ARCHIVE_UNCHECKED, ARCHIVE_BAD, ARCHIVE_SOURCE_CHANGED };

/*
 * Re-hash the archive behind an entry: the cache's copy when it keeps one;
 * else the local file it was read from in place, when that is still
 * there.  Prints one line saying which was done.
 */
static enum archive_check check_archive(const char *blob, struct json_object *info, const char *hex)
{
	kn_error err = KN_ERROR_INIT;
	_cleanup_close_ int fd = -1;
	struct json_object *v;
	const char *source = NULL;
	struct stat st;
	char got[65];

	if (info_archive_kept(info)) {
		fd = open(blob, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			printf("FAIL archive %s: %s\n", blob, strerror(errno));
			return ARCHIVE_BAD;
		}
		if (kn_sha256_copy(fd, -1, got, NULL, &err) < 0) {
			printf("FAIL archive %s: %s\n", blob, err.msg);
			return ARCHIVE_BAD;
		}
		if (strcmp(got, hex) != 0) {
			printf("FAIL archive %s: sha256 is %s\n", blob, got);
			return ARCHIVE_BAD;
		}
		printf("archive: kept in the cache, re-hashed: OK\n");
		return ARCHIVE_OK;
	}
	if (json_object_object_get_ex(info, "source", &v))
		source = json_object_get_string(v);
	if (!source || source[0] != '/') {
		printf("archive: not kept (source %s): tree checked against its manifest only\n", source ? source : "unknown");
		return ARCHIVE_UNCHECKED;
	}
	/* O_NONBLOCK: whatever is at that path now, opening it does not hang */
	fd = open(source, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		printf("archive: not kept and %s is gone: tree checked against its manifest only\n", source);
		return ARCHIVE_UNCHECKED;
	}
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		printf("archive: not kept and %s is no longer a file: tree checked against its manifest only\n", source);
		return ARCHIVE_UNCHECKED;
	}
	if (fd < 0 || kn_sha256_copy(fd, -1, got, NULL, &err) < 0) {
		printf("archive: not kept and %s cannot be read (%s): tree checked against its manifest only\n", source,
		       fd < 0 ? strerror(errno) : err.msg);
		return ARCHIVE_UNCHECKED;
	}
	if (strcmp(got, hex) != 0) {
		printf("FAIL archive: not kept; %s re-hashed: its sha256 is now %s (the file changed after the pull)\n",
		       source, got);
		return ARCHIVE_SOURCE_CHANGED;
	}
	printf("archive: not kept; %s re-hashed: OK\n", source);
	return ARCHIVE_OK;
}

/* Count every entry under the tree (to catch files added after unpacking). */
static long count_tree(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		if (e->d_type == DT_DIR) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			long m = sub >= 0 ? count_tree(sub) : -1;

			if (m < 0) {
				closedir(d);
				return -1;
			}
			n += m;
		}
	}
	closedir(d);
	return n;
}

static int resolve_digest(const char *arg, const char *lock_path, char hex[65], kn_error *err)
{
	_cleanup_free_ char *lp = NULL;

	if (!strncmp(arg, "sha256:", 7))
		arg += 7;
	if (kn_is_sha256_hex(arg)) {
		memcpy(hex, arg, 65);
		return 0;
	}
	lp = kn_lock_path(lock_path, err);
	if (!lp)
		return -err->code;
	return kn_lock_lookup(lp, arg, hex, NULL, err);
}

static int cmd_verify(int argc, char **argv)
{
	kn_error err = KN_ERROR_INIT;
	_cleanup_free_ char *cache = kn_cache_dir(&err), *entry = NULL, *blob = NULL;
	_cleanup_close_ int entry_fd = -1, tree_fd = -1;
	struct json_object *info;
	enum archive_check archive;
	struct mentry *m = NULL;
	size_t n = 0, distinct = 0;
	int problems = 0, format = 0;
	char hex[65], got[65];
	long on_disk;

	if (argc != 2) {
		fprintf(stderr, "usage: kennel rootfs verify NAME|sha256:HEX\n");
		return 2;
	}
	if (!cache || resolve_digest(argv[1], NULL, hex, &err) < 0)
		return fail(&err);
	entry = kn_xasprintf("%s/sha256-%s", cache, hex);
	blob = kn_xasprintf("%s/blobs/sha256-%s", cache, hex);
	entry_fd = open(entry, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (entry_fd < 0) {
		kn_error_set(&err, errno, "sha256:%s is not in the cache (%s)", hex, entry);
		return fail(&err);
	}
	info = entry_info(entry_fd);
	archive = check_archive(blob, info, hex);
	if (info)
		json_object_put(info);
	if (archive == ARCHIVE_BAD)
		problems++;
	tree_fd = openat(entry_fd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tree_fd < 0 || load_manifest(entry_fd, hex, &m, &n, &format, &err) < 0) {
		if (tree_fd < 0)
			kn_error_set(&err, errno, "open the tree");
		printf("FAIL %s\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		const char *p = m[i].path;

		/* duplicates: the manifest is sorted, check only the last one of a run */
		if (i + 1 < n && !strcmp(m[i + 1].path, p))
			continue;
		/* "." is the tree's root: checked, but not counted by the walk below */
		if (strcmp(p, ".") != 0)
			distinct++;
		if (fstatat(tree_fd, p, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			printf("FAIL %s: %s\n", p, strerror(errno));
			problems++;
			continue;
		}
		switch (m[i].type) {
		case 'h': {
			/* a hardlink is the same inode as its target (whose own entry checks the content) */
			struct stat tst;

			if (!m[i].target || fstatat(tree_fd, m[i].target, &tst, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode) || tst.st_ino != st.st_ino || tst.st_dev != st.st_dev) {
				printf("FAIL %s: no longer a hardlink of %s\n", p, m[i].target ? m[i].target : "?");
				problems++;
			}
			continue; /* mode and content: the target's entry */
		}
		case 'f':
			if (!S_ISREG(st.st_mode) || (unsigned long long) st.st_size != m[i].size) {
				printf("FAIL %s: not the regular file of %llu bytes recorded\n", p, m[i].size);
				problems++;
			} else if (strcmp(m[i].sha, "-") != 0) {
				if (hash_file_at(tree_fd, p, format, got, &err) < 0 || strcmp(got, m[i].sha) != 0) {
					printf("FAIL %s: content changed\n", p);
					problems++;
				}
			}
			break;
		case 'd':
			if (!S_ISDIR(st.st_mode)) {
				printf("FAIL %s: not a directory\n", p);
				problems++;
			}
			break;
		case 'l': {
			char buf[4096];
			ssize_t l = readlinkat(tree_fd, p, buf, sizeof(buf) - 1);

			if (!S_ISLNK(st.st_mode) || l < 0 || (buf[l] = '\0', !m[i].target) || strcmp(buf, m[i].target) != 0) {
				printf("FAIL %s: symlink changed\n", p);
				problems++;
			}
			continue; /* a symlink's own mode means nothing */
		}
		case 'p':
			if (!S_ISFIFO(st.st_mode)) {
				printf("FAIL %s: not a FIFO\n", p);
				problems++;
			}
			break;
		default:
			break;
		}
		if ((st.st_mode & 07777) != m[i].mode) {
			printf("FAIL %s: mode %o, recorded %o\n", p, st.st_mode & 07777, m[i].mode);
			problems++;
		}
	}
	on_disk = count_tree(dup(tree_fd));
	if (on_disk != (long) distinct) {
		printf("FAIL the tree holds %ld entries, the manifest %zu: something was added or removed\n", on_disk, distinct);
		problems++;
	}
	mentries_free(m, n);
	if (problems) {
		printf("sha256:%s: %d problem%s: remove it (kennel rootfs rm sha256:%s) and pull it again\n", hex, problems,
		       problems == 1 ? "" : "s", hex);
		return 1;
	}
	if (archive == ARCHIVE_SOURCE_CHANGED) {
		printf("sha256:%s: the tree is intact (%zu entries), but the file it was pulled from has changed\n", hex,
		       distinct);
		return 1;
	}
	printf("sha256:%s: ok (%zu entries)\n", hex, distinct);
	return 0;
}

/* Exclusive, non-blocking: fails when a sandbox or a pull uses the entry. */
static int lock_entry(const char *cache, const char *hex, int *fd_out)
{
	_cleanup_free_ char *path = kn_xasprintf("%s/locks/sha256-%s.lock", cache, hex);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	*fd_out = fd;
	return 0;
}

static int remove_entry(const char *cache, const char *hex, kn_error *err)
{
	_cleanup_close_ int lock = -1, cache_fd = -1;
	char name[80], tmp[96], blob[96];
	int r;

	r = lock_entry(cache, hex, &lock);
	if (r == -EWOULDBLOCK)
		return kn_error_setx(err, EBUSY, "sha256:%s is in use by a running sandbox or a pull", hex);
	if (r < 0)
		return kn_error_set(err, -r, "lock sha256:%s", hex);
	cache_fd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cache_fd < 0)
		return kn_error_set(err, errno, "%s", cache);
	snprintf(name, sizeof(name), "sha256-%s", hex);
	snprintf(tmp, sizeof(tmp), "tmp/rm-%s", hex);
	snprintf(blob, sizeof(blob), "blobs/sha256-%s", hex);
	/* Out of sight at once (a rename), then deleted. */
	if (renameat(cache_fd, name, cache_fd, tmp) < 0)
		return kn_error_set(err, errno, "sha256:%s", hex);
	unlinkat(cache_fd, blob, 0);
	r = kn_rm_rf_at(cache_fd, tmp);
	if (r < 0)
		return kn_error_set(err, -r, "remove %s/%s", cache, tmp);
	return 0;
}

static int cmd_rm(int argc, char **argv)
{
	kn_error err = KN_ERROR_INIT;
	_cleanup_free_ char *cache = kn_cache_dir(&err);
	int ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: kennel rootfs rm NAME|sha256:HEX...\n");
		return 2;
	}
	if (!cache)
		return fail(&err);
	for (int i = 1; i < argc; i++) {
		char hex[65];

		if (resolve_digest(argv[i], NULL, hex, &err) < 0 || remove_entry(cache, hex, &err) < 0) {
			ret = fail(&err);
			continue;
		}
		printf("removed sha256:%s\n", hex);
	}
	return ret;
}

static struct json_object *read_info(const char *cache, const char *entry)
{
	_cleanup_free_ char *p = kn_xasprintf("%s/%s/info.json", cache, entry);

	return json_object_from_file(p);
}

/* The names the lock file gives @hex, comma-separated ("" when none). */
static char *names_for(struct json_object *lock, const char *hex)
{
	struct json_object *rootfs;
	char *out = kn_xstrdup("");

	if (!lock || !json_object_object_get_ex(lock, "rootfs", &rootfs) || !json_object_is_type(rootfs, json_type_object))
		return out;
	{
		struct json_object_iterator it = json_object_iter_begin(rootfs), end = json_object_iter_end(rootfs);

		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			struct json_object *pin = json_object_iter_peek_value(&it), *v;

			if (json_object_is_type(pin, json_type_object) && json_object_object_get_ex(pin, "sha256", &v) &&
			    !strcmp(json_object_get_string(v), hex)) {
				char *next = kn_xasprintf("%s%s%s", out, *out ? "," : "", json_object_iter_peek_name(&it));

				free(out);
				out = next;
			}
		}
	}
	return out;
}

static struct json_object *load_lock(const char *lock_path)
{
	kn_error err = KN_ERROR_INIT;
	_cleanup_free_ char *lp = kn_lock_path(lock_path, &err);

	return lp && access(lp, R_OK) == 0 ? json_object_from_file(lp) : NULL;
}

static int cmd_ls(int argc, char **argv)
{
	kn_error err = KN_ERROR_INIT;
	_cleanup_free_ char *cache = kn_cache_dir(&err);
	struct json_object *lock = load_lock(NULL);
	struct json_object *list = json_object_new_array();
	bool json = argc == 2 && !strcmp(argv[1], "--json");
	DIR *d;
	struct dirent *e;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: kennel rootfs ls [--json]\n");
		return 2;
	}
	if (!cache)
		return fail(&err);
	d = opendir(cache);
	while (d && (e = readdir(d))) {
		struct json_object *info, *o, *v;
		_cleanup_free_ char *names = NULL;

		if (strncmp(e->d_name, "sha256-", 7) || !kn_is_sha256_hex(e->d_name + 7))
			continue;
		info = read_info(cache, e->d_name);
		o = json_object_new_object();
		names = names_for(lock, e->d_name + 7);
		{
			char dg[80];
			_cleanup_free_ char *path = kn_xasprintf("%s/%s/rootfs", cache, e->d_name);

			snprintf(dg, sizeof(dg), "sha256:%s", e->d_name + 7);
			json_object_object_add(o, "digest", json_object_new_string(dg));
			json_object_object_add(o, "names", json_object_new_string(names));
			json_object_object_add(o, "path", json_object_new_string(path));
		}
		if (info) {
			static const char *const keys[] = { "source", "unpacked_bytes", "entries", "unpacked_at", NULL };

			for (size_t k = 0; keys[k]; k++)
				if (json_object_object_get_ex(info, keys[k], &v))
					json_object_object_add(o, keys[k], json_object_get(v));
		}
		{
			/* archive_kept: what the pull did (a local file read in place
			 * is not kept); archive: the copy the cache holds now, or null */
			_cleanup_free_ char *blob = kn_xasprintf("%s/blobs/%s", cache, e->d_name);

			json_object_object_add(o, "archive_kept", json_object_new_boolean(info_archive_kept(info)));
			json_object_object_add(o, "archive",
					       access(blob, F_OK) == 0 ? json_object_new_string(blob) : NULL);
		}
		if (info)
			json_object_put(info);
		json_object_array_add(list, o);
	}
	if (d)
		closedir(d);
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%-14s %-20s %10s %9s  %s\n", "DIGEST", "NAMES", "SIZE", "ENTRIES", "SOURCE");
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *o = json_object_array_get_idx(list, i), *v;
			const char *dg = json_object_get_string(json_object_object_get(o, "digest"));
			uint64_t bytes = json_object_object_get_ex(o, "unpacked_bytes", &v) ? json_object_get_uint64(v) : 0;
			uint64_t entries = json_object_object_get_ex(o, "entries", &v) ? json_object_get_uint64(v) : 0;
			const char *src = json_object_object_get_ex(o, "source", &v) ? json_object_get_string(v) : "?";
			const char *nm = json_object_get_string(json_object_object_get(o, "names"));

			printf("%-14.14s %-20s %9.1fM %9llu  %s\n", dg + 7, *nm ? nm : "-", (double) bytes / (1 << 20),
			       (unsigned long long) entries, src);
		}
	}
	json_object_put(list);
	if (lock)
		json_object_put(lock);
	return 0;
}

static int cmd_gc(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lock", required_argument, NULL, 'l' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	kn_error err = KN_ERROR_INIT;
	_cleanup_free_ char *cache = kn_cache_dir(&err), *tmpdir = NULL, *blobdir = NULL;
	const char *lock_path = NULL;
	struct json_object *lock;
	bool dry = false;
	DIR *d;
	struct dirent *e;
	int opt, ret = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "n", longopts, NULL)) != -1) {
		if (opt == 'l')
			lock_path = optarg;
		else if (opt == 'n')
			dry = true;
		else {
			fprintf(stderr, "usage: kennel rootfs gc [--lock FILE] [--dry-run]\n");
			return 2;
		}
	}
	if (!cache)
		return fail(&err);
	lock = load_lock(lock_path);
	/* Pulls killed half-way: their work dirs are no longer locked. */
	tmpdir = kn_xasprintf("%s/tmp", cache);
	d = opendir(tmpdir);
	while (d && (e = readdir(d))) {
		_cleanup_free_ char *lockfile = NULL;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		lockfile = kn_xasprintf("%s/%s/.lock", tmpdir, e->d_name);
		fd = open(lockfile, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue; /* a pull in progress */
		}
		printf("%s stale %s/%s\n", dry ? "would remove" : "removed", tmpdir, e->d_name);
		if (!dry)
			kn_rm_rf_at(dirfd(d), e->d_name);
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	/* Entries no lock file name pins, unless in use. */
	d = opendir(cache);
	while (d && (e = readdir(d))) {
		_cleanup_free_ char *names = NULL;
		const char *hex = e->d_name + 7;

		if (strncmp(e->d_name, "sha256-", 7) || !kn_is_sha256_hex(hex))
			continue;
		names = names_for(lock, hex);
		if (*names)
			continue;
		if (dry) {
			printf("would remove sha256:%s (not pinned)\n", hex);
			continue;
		}
		if (remove_entry(cache, hex, &err) < 0) {
			printf("kept sha256:%s: %s\n", hex, err.msg);
			continue;
		}
		printf("removed sha256:%s (not pinned)\n", hex);
	}
	if (d)
		closedir(d);
	/* Archives whose entry is gone: a pull killed between keeping its
	 * archive and renaming its entry into place, or an rm killed between
	 * the two removals.  The digest's lock tells a pull in progress. */
	blobdir = kn_xasprintf("%s/blobs", cache);
	d = opendir(blobdir);
	while (d && (e = readdir(d))) {
		_cleanup_free_ char *entry = NULL;
		_cleanup_close_ int entry_lock = -1;
		const char *hex = e->d_name + 7;

		if (strncmp(e->d_name, "sha256-", 7) || !kn_is_sha256_hex(hex))
			continue;
		entry = kn_xasprintf("%s/%s", cache, e->d_name);
		if (access(entry, F_OK) == 0 || errno != ENOENT)
			continue;
		if (lock_entry(cache, hex, &entry_lock) < 0)
			continue; /* a pull is keeping it right now */
		if (access(entry, F_OK) == 0 || errno != ENOENT)
			continue;
		printf("%s orphan archive %s/%s\n", dry ? "would remove" : "removed", blobdir, e->d_name);
		if (!dry && unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
			printf("kept %s/%s: %s\n", blobdir, e->d_name, strerror(errno));
			ret = 1;
		}
	}
	if (d)
		closedir(d);
	if (lock)
		json_object_put(lock);
	return ret;
}

int kn_rootfs_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs("Usage: kennel rootfs COMMAND\n"
		      "  pull SOURCE|NAME [--sha256 HEX] [--name NAME] [--lock FILE]\n"
		      "       [--max-unpacked-size SIZE] [--max-entries N] [--quiet]\n"
		      "                        fetch (path, file://, http(s)://), verify, unpack into the cache\n"
		      "  ls [--json]           the cache's entries\n"
		      "  verify NAME|sha256:HEX  check the tree against its manifest; re-hash the archive\n"
		      "                        (the cache's copy, or the local file it was read from)\n"
		      "  rm NAME|sha256:HEX... remove entries (not while a sandbox uses them)\n"
		      "  gc [--lock FILE] [--dry-run]  remove stale pulls, entries no name pins, orphan archives\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "pull"))
		return cmd_pull(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ls"))
		return cmd_ls(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rm"))
		return cmd_rm(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gc"))
		return cmd_gc(argc - 1, argv + 1);
	fprintf(stderr, "kennel: rootfs: unknown command '%s' (see kennel rootfs --help)\n", argv[1]);
	return 2;
}
