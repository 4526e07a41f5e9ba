/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for rootfs/unpack.c against the real filesystem.
 *
 * Every test builds its archive itself (libarchive's writer, or raw tar
 * headers for the forms the writer will not produce), unpacks it into a
 * fresh "dest" directory that sits in a private temporary directory next
 * to a "canary" directory and an "outside" file, and checks the outcome.
 * After every hostile archive, the canary is unchanged and nothing exists
 * outside "dest" that was not there before (including the absolute paths
 * the hostile entries aim at).
 *
 * Runs as root and as an unprivileged user: unpacking must work rootless,
 * and a mode bug that root's DAC override hides shows up there.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "unpack.h"
#include "util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1024 * 1024)
#define T_MTIME 1700000000

/* ---- fixture ------------------------------------------------------------ */

struct env {
	char base[PATH_MAX];       /* /tmp/kn-unpack-XXXXXX */
	char dest[PATH_MAX + 8];   /* base/dest: the tree */
	char archive[PATH_MAX + 16];
	char escape_tmp[PATH_MAX]; /* /tmp/kn-unpack-escape-PID: hostile paths aim here */
	char escape_root[PATH_MAX];/* /kn-unpack-escape-PID */
	int dest_fd;
	kn_unpack_stats stats;
	kn_error err;
	char *manifest;
	size_t manifest_len;
};

static void remove_tree_at(int at, const char *name)
{
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(at, name, 0);
		return;
	}
	/* a directory unpacked read-only (or 0000) must be opened and emptied;
	 * it was just seen as a directory, not a symlink */
	if (fchmodat(at, name, 0700, 0) < 0 && errno != EPERM)
		return;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && (d = fdopendir(fd))) {
		struct dirent *de;

		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				remove_tree_at(dirfd(d), de->d_name);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(at, name, AT_REMOVEDIR);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char p[PATH_MAX + 32];

	assert_non_null(e);
	snprintf(e->base, sizeof(e->base), "/tmp/kn-unpack-XXXXXX");
	assert_non_null(mkdtemp(e->base));
	snprintf(e->dest, sizeof(e->dest), "%s/dest", e->base);
	snprintf(e->archive, sizeof(e->archive), "%s/archive", e->base);
	snprintf(e->escape_tmp, sizeof(e->escape_tmp), "/tmp/kn-unpack-escape-%d", (int) getpid());
	snprintf(e->escape_root, sizeof(e->escape_root), "/kn-unpack-escape-%d", (int) getpid());
	assert_int_equal(mkdir(e->dest, 0700), 0);
	snprintf(p, sizeof(p), "%s/canary", e->base);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/canary/file", e->base);
	write_text(p, "canary\n", 0644);
	snprintf(p, sizeof(p), "%s/canary/sub", e->base);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/outside", e->base);
	write_text(p, "outside\n", 0644);
	e->dest_fd = open(e->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(e->dest_fd >= 0);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	close(e->dest_fd);
	remove_tree_at(AT_FDCWD, e->base);
	/* a failing test may have let something escape: do not leave it */
	remove_tree_at(AT_FDCWD, e->escape_tmp);
	free(e->manifest);
	free(e);
	return 0;
}

/* A fresh, empty destination. */
static void reset_dest(struct env *e)
{
	close(e->dest_fd);
	remove_tree_at(AT_FDCWD, e->dest);
	assert_int_equal(mkdir(e->dest, 0700), 0);
	e->dest_fd = open(e->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(e->dest_fd >= 0);
}

/* ---- archives ----------------------------------------------------------- */

enum filter { FILTER_NONE, FILTER_GZIP, FILTER_ZSTD, FILTER_XZ, FILTER_BZIP2 };

struct tent {
	char type;          /* f d l h c b p s */
	const char *path;
	const char *data;   /* file content, or link target */
	mode_t mode;        /* permission bits; 0: 0644 files, 0755 dirs */
	size_t zeros;       /* file: this many zero bytes after data */
	const char *xattr;  /* an xattr to record on the entry */
};

static void build_archive_fmt(const char *path, enum filter filter, int format,
			      const struct tent *t, size_t n)
{
	static char zeros[65536];
	struct archive *a = archive_write_new();

	assert_non_null(a);
	assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
	switch (filter) {
	case FILTER_NONE: break;
	case FILTER_GZIP: assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK); break;
	case FILTER_ZSTD: assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK); break;
	case FILTER_XZ: assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK); break;
	case FILTER_BZIP2: assert_int_equal(archive_write_add_filter_bzip2(a), ARCHIVE_OK); break;
	}
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		size_t dlen = t[i].type == 'f' && t[i].data ? strlen(t[i].data) : 0;
		mode_t mode = t[i].mode;
		int r;

		archive_entry_set_pathname(ae, t[i].path);
		archive_entry_set_mtime(ae, T_MTIME, 0);
		switch (t[i].type) {
		case 'f':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t) (dlen + t[i].zeros));
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, t[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, t[i].data);
			archive_entry_set_size(ae, 0);
			break;
		case 'c':
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdevmajor(ae, 1);
			archive_entry_set_rdevminor(ae, 3);
			break;
		case 'b':
			archive_entry_set_filetype(ae, AE_IFBLK);
			archive_entry_set_rdevmajor(ae, 8);
			archive_entry_set_rdevminor(ae, 0);
			break;
		case 'p':
			archive_entry_set_filetype(ae, AE_IFIFO);
			break;
		case 's':
			archive_entry_set_filetype(ae, AE_IFSOCK);
			break;
		default:
			fail_msg("bad test entry type %c", t[i].type);
		}
		if (!mode)
			mode = t[i].type == 'd' ? 0755 : t[i].type == 'l' ? 0777 : 0644;
		archive_entry_set_perm(ae, mode);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		if (t[i].xattr) {
			/* a vfs_cap_data v2 granting everything */
			static const unsigned char cap[20] = { 0x01, 0x00, 0x00, 0x02, 0xff, 0xff,
							       0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

			archive_entry_xattr_add_entry(ae, t[i].xattr, cap, sizeof(cap));
		}
		r = archive_write_header(a, ae);
		if (t[i].type == 's') {
			/* tar has no socket type: libarchive's writer refuses it */
			assert_int_equal(r, ARCHIVE_FAILED);
			archive_entry_free(ae);
			continue;
		}
		assert_int_equal(r, ARCHIVE_OK);
		if (dlen)
			assert_int_equal(archive_write_data(a, t[i].data, dlen), (la_ssize_t) dlen);
		for (size_t left = t[i].zeros; left > 0;) {
			size_t c = left > sizeof(zeros) ? sizeof(zeros) : left;

			assert_int_equal(archive_write_data(a, zeros, c), (la_ssize_t) c);
			left -= c;
		}
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void build_archive(const char *path, enum filter filter, const struct tent *t, size_t n)
{
	build_archive_fmt(path, filter, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE, t, n);
}

/* Raw ustar headers, for the forms libarchive's writer will not produce. */
static void raw_header(FILE *f, const char *name, char type, mode_t mode, size_t size,
		       const char *link)
{
	unsigned char h[512];
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	strncpy((char *) h, name, 100);
	snprintf((char *) h + 100, 8, "%07o", (unsigned) mode);
	snprintf((char *) h + 108, 8, "%07o", 0U);
	snprintf((char *) h + 116, 8, "%07o", 0U);
	snprintf((char *) h + 124, 12, "%011zo", size);
	snprintf((char *) h + 136, 12, "%011o", (unsigned) T_MTIME);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char) type;
	if (link)
		strncpy((char *) h + 157, link, 100);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *) h + 148, 8, "%06o", sum);
	h[155] = ' ';
	assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
}

static void raw_data(FILE *f, const void *data, size_t len)
{
	static const char pad[512];

	assert_int_equal(fwrite(data, 1, len, f), len);
	if (len % 512)
		assert_int_equal(fwrite(pad, 1, 512 - len % 512, f), 512 - len % 512);
}

/* A pax 'x' header carrying one "key=value" record for the next entry. */
static void raw_pax(FILE *f, const char *key, const char *value)
{
	char rec[1024];
	size_t len = strlen(key) + strlen(value) + 3, total;

	/* the record's length counts its own digits */
	total = len + (size_t) snprintf(NULL, 0, "%zu", len);
	total = len + (size_t) snprintf(NULL, 0, "%zu", total);
	snprintf(rec, sizeof(rec), "%zu %s=%s\n", total, key, value);
	assert_int_equal(strlen(rec), total);
	raw_header(f, "PaxHeader", 'x', 0644, total, NULL);
	raw_data(f, rec, total);
}

static void raw_end(FILE *f)
{
	static const char zero[1024];

	assert_int_equal(fwrite(zero, 1, sizeof(zero), f), sizeof(zero));
}

/* ---- running and checking ------------------------------------------------ */

static int run_unpack(struct env *e, uint64_t max_size, uint64_t max_entries, bool manifest)
{
	kn_unpack_limits lim = { .max_unpacked_size = max_size, .max_entries = max_entries };
	FILE *m = NULL;
	int in, r;

	free(e->manifest);
	e->manifest = NULL;
	kn_error_clear(&e->err);
	if (manifest) {
		m = open_memstream(&e->manifest, &e->manifest_len);
		assert_non_null(m);
	}
	in = open(e->archive, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	r = kn_unpack_archive(in, e->dest_fd, &lim, m, &e->stats, &e->err);
	close(in);
	if (m)
		fclose(m);
	if (getenv("KENNEL_TEST_VERBOSE"))
		printf("# unpack: %d %s\n", r, e->err.msg);
	return r;
}

static int unpack(struct env *e)
{
	return run_unpack(e, 0, 0, true);
}

static char *path_in(const struct env *e, const char *rel)
{
	static char buf[2][PATH_MAX * 2];
	static int which;

	which ^= 1;
	snprintf(buf[which], sizeof(buf[which]), "%s/%s", e->dest, rel);
	return buf[which];
}

static char *read_all(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	do {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 131072;
			buf = kn_xrealloc(buf, cap + 1);
			assert_non_null(buf);
		}
		got = read(fd, buf + n, cap - n);
		assert_true(got >= 0);
		n += (size_t) got;
	} while (got > 0);
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void assert_content(const struct env *e, const char *rel, const char *want)
{
	char *got = read_all(path_in(e, rel), NULL);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static mode_t lmode(const struct env *e, const char *rel)
{
	struct stat st;

	if (lstat(path_in(e, rel), &st) < 0)
		return 0;
	return st.st_mode;
}

static bool exists_in(const struct env *e, const char *rel)
{
	struct stat st;

	return lstat(path_in(e, rel), &st) == 0;
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

/*
 * The hostile archive changed nothing outside the destination: the canary
 * directory and the outside file are as made, the base directory holds
 * only what the fixture put there, and the absolute paths the hostile
 * entries aim at do not exist.
 */
static void assert_contained(const struct env *e)
{
	char p[PATH_MAX + 32];
	struct stat st;
	char *text;

	snprintf(p, sizeof(p), "%s/canary/file", e->base);
	text = read_all(p, NULL);
	assert_non_null(text);
	assert_string_equal(text, "canary\n");
	free(text);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_nlink, 1);
	snprintf(p, sizeof(p), "%s/canary", e->base);
	assert_int_equal(count_dir(p), 2);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(p, sizeof(p), "%s/canary/sub", e->base);
	assert_int_equal(count_dir(p), 0);
	snprintf(p, sizeof(p), "%s/outside", e->base);
	text = read_all(p, NULL);
	assert_non_null(text);
	assert_string_equal(text, "outside\n");
	free(text);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	/* dest, canary, outside, archive: nothing else */
	assert_int_equal(count_dir(e->base), 4);
	assert_int_equal(lstat(e->escape_tmp, &st), -1);
	assert_int_equal(lstat(e->escape_root, &st), -1);
	assert_int_equal(lstat("/tmp/escaped", &st), -1);
}

static void assert_refused(struct env *e, int want, const char *msg_part)
{
	int r = unpack(e);

	if (r != want || !strstr(e->err.msg, msg_part))
		fail_msg("unpack returned %d (%s), want %d with '%s'", r, e->err.msg, want, msg_part);
	assert_contained(e);
}

/* A manifest's file hash: XXH3-128, canonical (big-endian) hex. */
static void xxh128_hex(const void *data, size_t len, char out[33])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
	for (size_t i = 0; i < sizeof(c.digest); i++)
		snprintf(out + 2 * i, 3, "%02x", c.digest[i]);
}

/* ---- lexical checks -------------------------------------------------------- */

static void test_check_path(void **state)
{
	static const struct {
		const char *in;
		const char *out;     /* NULL: refused */
		const char *reason;
	} cases[] = {
		{ "a", "a", NULL },
		{ "a/b/c", "a/b/c", NULL },
		{ "./a/b", "a/b", NULL },
		{ "././a//b/", "a/b", NULL },
		{ "a/./b/.", "a/b", NULL },
		{ "dir/", "dir", NULL },
		{ "...", "...", NULL },
		{ "a/..b/c..", "a/..b/c..", NULL },
		{ ".hidden", ".hidden", NULL },
		{ "a\tb\nc", "a\tb\nc", NULL },
		{ "", NULL, "empty path" },
		{ ".", NULL, "root" },
		{ "./", NULL, "root" },
		{ ".//./", NULL, "root" },
		{ "/etc/passwd", NULL, "absolute path" },
		{ "/", NULL, "absolute path" },
		{ "//x", NULL, "absolute path" },
		{ "..", NULL, "'..' in path" },
		{ "../x", NULL, "'..' in path" },
		{ "a/../../x", NULL, "'..' in path" },
		{ "a/..", NULL, "'..' in path" },
		{ "a/../b", NULL, "'..' in path" },
		{ "./../x", NULL, "'..' in path" },
	};
	char buf[64];

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		kn_error err = KN_ERROR_INIT;
		const char *out = NULL;
		int r = kn_unpack_check_path(cases[i].in, buf, sizeof(buf), &out, &err);

		if (cases[i].out) {
			if (r != 0)
				fail_msg("'%s' refused: %s", cases[i].in, err.msg);
			assert_string_equal(out, cases[i].out);
		} else {
			if (r != -EINVAL)
				fail_msg("'%s' accepted as '%s'", cases[i].in, buf);
			assert_non_null(strstr(err.msg, cases[i].reason));
		}
	}
	/* the message names the entry as the archive spells it */
	{
		kn_error err = KN_ERROR_INIT;
		const char *out;

		assert_int_equal(kn_unpack_check_path("a/../../x", buf, sizeof(buf), &out, &err), -EINVAL);
		assert_string_equal(err.msg, "entry 'a/../../x': '..' in path");
		assert_int_equal(kn_unpack_check_path("/etc/x", buf, sizeof(buf), &out, &err), -EINVAL);
		assert_string_equal(err.msg, "entry '/etc/x': absolute path");
		/* too long for the buffer: refused, not truncated */
		assert_int_equal(kn_unpack_check_path("0123456789/0123456789/0123456789/0123456789/"
						      "0123456789/0123456789", buf, sizeof(buf), &out, &err),
				 -EINVAL);
		assert_non_null(strstr(err.msg, "too long"));
		/* control characters are not sent to the user's terminal raw */
		assert_int_equal(kn_unpack_check_path("\x1b[31m/../x", buf, sizeof(buf), &out, &err), -EINVAL);
		assert_null(strchr(err.msg, '\x1b'));
		assert_non_null(strstr(err.msg, "\\x1b[31m"));
	}
}

static void test_check_symlink(void **state)
{
	static const struct {
		const char *path;
		const char *target;
		int want;
	} cases[] = {
		{ "a", "b", 0 },
		{ "a", "./b", 0 },
		{ "a", ".", 0 },
		{ "a", "/", 0 },
		{ "a", "/usr/bin/foo", 0 },
		{ "usr/bin/foo", "/usr/bin/bar", 0 },
		{ "a/b/c", "../../x", 0 },
		{ "a/b/c", "..", 0 },
		{ "a/b/c", "../..", 0 },
		{ "a/b/c", "x/../../..", 0 },
		{ "lib64", "usr/lib64", 0 },
		{ "usr/lib/x/libz.so", "../../../lib/x/libz.so.1", 0 },
		{ "a", "b//c/", 0 },
		{ "a", "..", -EPERM },
		{ "a", "../x", -EPERM },
		{ "a", "b/../../x", -EPERM },
		{ "a", "../../..", -EPERM },
		{ "a/b", "../../../../etc", -EPERM },
		{ "a/b/c", "../../../x", -EPERM },
		{ "a/b/c", "x/../../../..", -EPERM },
		{ "a", "/..", -EPERM },
		{ "a", "/../etc/passwd", -EPERM },
		{ "a/b/c/d", "/usr/../../etc", -EPERM },
		{ "a", "", -EINVAL },
	};

	(void) state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		kn_error err = KN_ERROR_INIT;
		int r = kn_unpack_check_symlink(cases[i].path, cases[i].target, &err);

		if (r != cases[i].want)
			fail_msg("%s -> %s: %d (%s), want %d", cases[i].path, cases[i].target, r,
				 err.msg, cases[i].want);
		if (r == -EPERM) {
			assert_non_null(strstr(err.msg, "leaves the tree"));
			assert_non_null(strstr(err.msg, cases[i].target));
		}
	}
}

/* ---- a normal tree ------------------------------------------------------- */

static void test_normal_tree(void **state)
{
	struct env *e = *state;
	static char big[3 * MIB + 17];
	char want[8192], sha[33], shabig[33], shaempty[33];
	struct stat st, st2;
	struct tent t[] = {
		{ 'd', "./", NULL, 0755, 0, NULL },
		{ 'd', "./etc/", NULL, 0755, 0, NULL },
		{ 'f', "./etc/hosts", "127.0.0.1 localhost\n", 0644, 0, NULL },
		{ 'f', "./etc/shadow", "root:*:1::::::\n", 0640, 0, NULL },
		{ 'd', "./usr/", NULL, 0755, 0, NULL },
		{ 'd', "./usr/bin/", NULL, 0755, 0, NULL },
		{ 'f', "./usr/bin/tool", "#!/bin/sh\necho hi\n", 0755, 0, NULL },
		{ 'l', "./bin", "usr/bin", 0, 0, NULL },
		{ 'l', "./usr/bin/sh", "/usr/bin/tool", 0, 0, NULL },
		{ 'l', "./usr/bin/up", "../../etc/hosts", 0, 0, NULL },
		{ 'h', "./etc/hosts.link", "./etc/hosts", 0, 0, NULL },
		{ 'f', "./empty", "", 0600, 0, NULL },
		{ 'd', "./private/", NULL, 0700, 0, NULL },
		{ 'd', "./tmp/", NULL, 01777, 0, NULL },
		{ 'f', "./implicit/dirs/file", "made\n", 0644, 0, NULL },
		{ 'f', "./odd\tname\\with\nchars", "x", 0644, 0, NULL },
		{ 'f', "./big", NULL, 0644, 0, NULL },
	};
	size_t biglen = 0;
	char *got;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char) ('a' + (i * 7 + i / 4096) % 26);
	big[sizeof(big) - 1] = '\0';
	t[ARRAY_SIZE(t) - 1].data = big;
	build_archive(e->archive, FILTER_GZIP, t, ARRAY_SIZE(t));

	assert_int_equal(unpack(e), 0);
	assert_content(e, "etc/hosts", "127.0.0.1 localhost\n");
	assert_content(e, "etc/shadow", "root:*:1::::::\n");
	assert_content(e, "usr/bin/tool", "#!/bin/sh\necho hi\n");
	assert_content(e, "implicit/dirs/file", "made\n");
	assert_content(e, "empty", "");
	got = read_all(path_in(e, "big"), &biglen);
	assert_non_null(got);
	assert_int_equal(biglen, strlen(big));
	assert_memory_equal(got, big, biglen);
	free(got);

	assert_int_equal(lmode(e, "etc/hosts"), S_IFREG | 0644);
	assert_int_equal(lmode(e, "etc/shadow"), S_IFREG | 0640);
	assert_int_equal(lmode(e, "usr/bin/tool"), S_IFREG | 0755);
	assert_int_equal(lmode(e, "empty"), S_IFREG | 0600);
	assert_int_equal(lmode(e, "private"), S_IFDIR | 0700);
	assert_int_equal(lmode(e, "tmp"), S_IFDIR | 01777);
	assert_int_equal(lmode(e, "etc"), S_IFDIR | 0755);
	assert_int_equal(lmode(e, "implicit"), S_IFDIR | 0755);
	assert_int_equal(lmode(e, "implicit/dirs"), S_IFDIR | 0755);
	/* "./" applies to the destination itself */
	assert_int_equal(fstat(e->dest_fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	/* links */
	{
		char buf[PATH_MAX];
		ssize_t n;

		assert_true(S_ISLNK(lmode(e, "bin")));
		n = readlink(path_in(e, "bin"), buf, sizeof(buf) - 1);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_string_equal(buf, "usr/bin");
		n = readlink(path_in(e, "usr/bin/sh"), buf, sizeof(buf) - 1);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_string_equal(buf, "/usr/bin/tool");
		/* followed here by the test, inside the tree */
		assert_content(e, "usr/bin/up", "127.0.0.1 localhost\n");
	}
	assert_int_equal(lstat(path_in(e, "etc/hosts"), &st), 0);
	assert_int_equal(lstat(path_in(e, "etc/hosts.link"), &st2), 0);
	assert_true(st.st_ino == st2.st_ino);
	assert_int_equal(st.st_nlink, 2);

	/* mtimes, files and directories (set at the end) */
	assert_int_equal(st.st_mtim.tv_sec, T_MTIME);
	assert_int_equal(lstat(path_in(e, "etc"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, T_MTIME);
	assert_int_equal(lstat(path_in(e, "usr/bin"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, T_MTIME);
	assert_int_equal(lstat(path_in(e, "bin"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, T_MTIME);

	/* the manifest, exactly */
	xxh128_hex("127.0.0.1 localhost\n", 20, sha);
	xxh128_hex(big, strlen(big), shabig);
	xxh128_hex("", 0, shaempty);
	{
		char sha_shadow[33], sha_tool[33], sha_made[33], sha_x[33];

		xxh128_hex("root:*:1::::::\n", 15, sha_shadow);
		xxh128_hex("#!/bin/sh\necho hi\n", 18, sha_tool);
		xxh128_hex("made\n", 5, sha_made);
		xxh128_hex("x", 1, sha_x);
		/* the empty file's hash is XXH3-128's published test vector */
		assert_string_equal(shaempty, "99aa06d3014798d86001c324468d497f");
		snprintf(want, sizeof(want),
			 "#kennel-manifest 2 xxh3-128\n"
			 "d\t0755\t0\t-\t.\n"
			 "d\t0755\t0\t-\tetc\n"
			 "f\t0644\t20\t%s\tetc/hosts\n"
			 "f\t0640\t15\t%s\tetc/shadow\n"
			 "d\t0755\t0\t-\tusr\n"
			 "d\t0755\t0\t-\tusr/bin\n"
			 "f\t0755\t18\t%s\tusr/bin/tool\n"
			 "l\t0777\t0\t-\tbin\tusr/bin\n"
			 "l\t0777\t0\t-\tusr/bin/sh\t/usr/bin/tool\n"
			 "l\t0777\t0\t-\tusr/bin/up\t../../etc/hosts\n"
			 "h\t0644\t0\t-\tetc/hosts.link\tetc/hosts\n"
			 "f\t0600\t0\t%s\tempty\n"
			 "d\t0700\t0\t-\tprivate\n"
			 "d\t1777\t0\t-\ttmp\n"
			 "f\t0644\t5\t%s\timplicit/dirs/file\n"
			 "f\t0644\t1\t%s\todd\\tname\\\\with\\nchars\n"
			 "f\t0644\t%zu\t%s\tbig\n",
			 sha, sha_shadow, sha_tool, shaempty, sha_made, sha_x, strlen(big), shabig);
	}
	assert_non_null(e->manifest);
	assert_string_equal(e->manifest, want);

	assert_int_equal(e->stats.entries, ARRAY_SIZE(t));
	assert_true(e->stats.bytes == 20 + 15 + 18 + 5 + 1 + strlen(big));
	assert_true(e->stats.stripped_setid == 0);
	assert_true(e->stats.dropped_xattrs == 0);
	assert_contained(e);
}

/* Every filter and tar flavour reads; no manifest, no hashing. */
static void test_filters_and_formats(void **state)
{
	struct env *e = *state;
	static const enum filter filters[] = { FILTER_NONE, FILTER_GZIP, FILTER_ZSTD, FILTER_XZ,
					       FILTER_BZIP2 };
	static const int formats[] = { ARCHIVE_FORMAT_TAR_USTAR, ARCHIVE_FORMAT_TAR_GNUTAR,
				       ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE,
				       ARCHIVE_FORMAT_TAR_PAX_RESTRICTED };
	const char *longname = "long/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
			       "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/"
			       "file-with-a-rather-long-name-too";
	const struct tent t[] = {
		{ 'd', "d/", NULL, 0750, 0, NULL },
		{ 'f', "d/f", "content\n", 0644, 0, NULL },
		{ 'l', "d/l", "f", 0, 0, NULL },
		{ 'f', longname, "deep\n", 0644, 0, NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(formats); j++) {
			build_archive_fmt(e->archive, filters[i], formats[j], t, ARRAY_SIZE(t));
			reset_dest(e);
			if (run_unpack(e, 0, 0, false) != 0)
				fail_msg("filter %zu format %zu: %s", i, j, e->err.msg);
			assert_content(e, "d/f", "content\n");
			assert_content(e, longname, "deep\n");
			assert_int_equal(lmode(e, "d"), S_IFDIR | 0750);
			assert_true(S_ISLNK(lmode(e, "d/l")));
			assert_int_equal(e->stats.entries, 4);
		}
	}
	assert_contained(e);
}

/* A pax "path" record in UTF-8 keeps its bytes whatever the locale. */
static void test_utf8_names(void **state)
{
	struct env *e = *state;
	const char *name = "caf\xc3\xa9/\xe2\x98\x83.txt";
	FILE *f = fopen(e->archive, "wb");

	/* as GNU tar --format=pax writes it (raw: libarchive's writer wants a
	 * UTF-8 locale to produce it, and tests run in the C locale) */
	assert_non_null(f);
	raw_pax(f, "path", name);
	raw_header(f, "caf_/_.txt", '0', 0644, 5, NULL);
	raw_data(f, "snow\n", 5);
	raw_header(f, "latin1-\xe9", '0', 0644, 3, NULL); /* not UTF-8: bytes as they are */
	raw_data(f, "l1\n", 3);
	raw_end(f);
	fclose(f);
	assert_int_equal(unpack(e), 0);
	assert_content(e, name, "snow\n");
	assert_content(e, "latin1-\xe9", "l1\n");
	assert_false(exists_in(e, "caf_"));
	assert_contained(e);
}

/* ---- traversal and absolute paths ------------------------------------------ */

static void test_traversal(void **state)
{
	struct env *e = *state;
	char deep[PATH_MAX];
	const char *paths[] = { "../escaped", "a/../../escaped", "./../escaped", "a/b/../../../escaped",
				"..", NULL };

	snprintf(deep, sizeof(deep), "../../kn-unpack-escape-%d", (int) getpid());
	paths[ARRAY_SIZE(paths) - 1] = deep;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		struct tent t[] = {
			{ 'f', "before", "ok\n", 0644, 0, NULL },
			{ 'f', paths[i], "escaped\n", 0644, 0, NULL },
			{ 'f', "after", "no\n", 0644, 0, NULL },
		};
		char want[PATH_MAX + 64];

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EINVAL, "'..' in path");
		snprintf(want, sizeof(want), "entry '%s': '..' in path", paths[i]);
		assert_string_equal(e->err.msg, want);
		assert_true(exists_in(e, "before"));
		assert_false(exists_in(e, "after"));
	}
	/* and as a directory entry */
	{
		const struct tent t[] = { { 'd', "a/../../escaped/", NULL, 0755, 0, NULL } };

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EINVAL, "'..' in path");
	}
}

static void test_absolute(void **state)
{
	struct env *e = *state;
	const char *paths[] = { e->escape_tmp, "/escaped", "//escaped", "/" };

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		struct tent t[] = { { 'f', paths[i], "escaped\n", 0644, 0, NULL } };
		char want[PATH_MAX + 64];

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EINVAL, "absolute path");
		snprintf(want, sizeof(want), "entry '%s': absolute path", paths[i]);
		assert_string_equal(e->err.msg, want);
		assert_int_equal(count_dir(e->dest), 0);
	}
	/* a raw header, as libarchive's writer might normalise one day */
	{
		FILE *f = fopen(e->archive, "wb");

		assert_non_null(f);
		raw_header(f, "/etc/kn-unpack-never", '0', 0644, 4, NULL);
		raw_data(f, "bad\n", 4);
		raw_end(f);
		fclose(f);
		assert_refused(e, -EINVAL, "entry '/etc/kn-unpack-never': absolute path");
		assert_int_equal(access("/etc/kn-unpack-never", F_OK), -1);
	}
}

/* ---- symlinks ----------------------------------------------------------------- */

static void test_symlink_escape(void **state)
{
	struct env *e = *state;
	static const struct {
		const char *path, *target;
	} links[] = {
		{ "a", "../../.." },
		{ "a", ".." },
		{ "a", "../canary" },
		{ "b/c", "../../outside" },
		{ "b/c/d", "../../../../etc" },
		{ "a", "/../canary" },
		{ "a", "x/../../canary" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		char file[PATH_MAX];
		struct tent t[] = {
			{ 'l', links[i].path, links[i].target, 0, 0, NULL },
			{ 'f', file, "escaped\n", 0644, 0, NULL },
		};

		snprintf(file, sizeof(file), "%s/file", links[i].path);
		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, "leaves the tree");
		assert_non_null(strstr(e->err.msg, links[i].target));
		assert_false(exists_in(e, links[i].path));
	}
}

/*
 * A symlink that stays inside the tree (absolute targets count from the
 * tree's root) is created; using it as a parent is refused, so nothing is
 * written through it to the host path it names.
 */
static void test_symlink_used_as_parent(void **state)
{
	struct env *e = *state;
	char file[PATH_MAX], outside[PATH_MAX + 16];
	const char *name = strrchr(e->escape_tmp, '/') + 1;

	snprintf(file, sizeof(file), "a/%s", name);
	snprintf(outside, sizeof(outside), "%s/outside", e->base);
	{
		const struct tent t[] = {
			{ 'l', "a", "/tmp", 0, 0, NULL },
			{ 'f', file, "escaped\n", 0644, 0, NULL },
		};

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, "is a symlink");
		assert_non_null(strstr(e->err.msg, file));
	}
	/* deeper: the symlink is an ancestor, not the parent */
	{
		char deep[PATH_MAX + 8];
		const struct tent t[] = {
			{ 'd', "x/", NULL, 0755, 0, NULL },
			{ 'l', "x/y", "/", 0, 0, NULL },
			{ 'f', deep, "escaped\n", 0644, 0, NULL },
		};

		snprintf(deep, sizeof(deep), "x/y/tmp/%s", name);
		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, "is a symlink");
	}
}

/* d/ a directory, then d -> somewhere, then d/x: never written through d. */
static void test_dir_symlink_swap(void **state)
{
	struct env *e = *state;
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "d/%s", strrchr(e->escape_tmp, '/') + 1);
	{
		const struct tent t[] = {
			{ 'd', "d/", NULL, 0755, 0, NULL },
			{ 'l', "d", "/tmp", 0, 0, NULL },
			{ 'f', file, "escaped\n", 0644, 0, NULL },
		};
		char want[PATH_MAX + 128];

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, "is a symlink");
		snprintf(want, sizeof(want), "entry '%s': parent 'd' is a symlink", file);
		assert_memory_equal(e->err.msg, want, strlen(want));
	}
	{
		const struct tent t[] = {
			{ 'd', "d/", NULL, 0755, 0, NULL },
			{ 'l', "d", "/", 0, 0, NULL },
			{ 'f', "d/kn-unpack-escape-root", "escaped\n", 0644, 0, NULL },
		};

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, "is a symlink");
		assert_int_equal(access("/kn-unpack-escape-root", F_OK), -1);
	}
	{
		const struct tent t[] = {
			{ 'd', "d/", NULL, 0755, 0, NULL },
			{ 'l', "d", "../canary", 0, 0, NULL },
			{ 'f', "d/file", "overwritten\n", 0644, 0, NULL },
		};

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, "leaves the tree");
	}
	/* the same one level down, while p/ is the parent kept open */
	{
		char pfile[PATH_MAX + 4];
		const struct tent t[] = {
			{ 'd', "p/", NULL, 0755, 0, NULL },
			{ 'd', "p/d/", NULL, 0755, 0, NULL },
			{ 'f', "p/f", "x", 0644, 0, NULL },
			{ 'l', "p/d", "/tmp", 0, 0, NULL },
			{ 'f', pfile, "escaped\n", 0644, 0, NULL },
		};

		snprintf(pfile, sizeof(pfile), "p/%s", file);
		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, "is a symlink");
	}
	/* a directory with content is not replaced */
	{
		const struct tent t[] = {
			{ 'd', "n/", NULL, 0755, 0, NULL },
			{ 'f', "n/f", "x", 0644, 0, NULL },
			{ 'l', "n", "/tmp", 0, 0, NULL },
		};

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -ENOTEMPTY, "non-empty directory");
		assert_true(S_ISDIR(lmode(e, "n")));
	}
}

/* A file entry over a symlink of the same name replaces the link. */
static void test_file_replaces_symlink(void **state)
{
	struct env *e = *state;
	char target[PATH_MAX + 16];
	/* absolute, so lexically inside the tree; on the host it names a real file */
	const struct tent t[] = {
		{ 'l', "l", target, 0, 0, NULL },
		{ 'f', "l", "new content\n", 0600, 0, NULL },
	};

	snprintf(target, sizeof(target), "%s/outside", e->base);
	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(unpack(e), 0);
	assert_int_equal(lmode(e, "l"), S_IFREG | 0600);
	assert_content(e, "l", "new content\n");
	assert_contained(e);
	/* FIFO and directory entries over a symlink: the same */
	{
		const struct tent t2[] = {
			{ 'l', "p", target, 0, 0, NULL },
			{ 'p', "p", NULL, 0600, 0, NULL },
			{ 'l', "q", "/tmp", 0, 0, NULL },
			{ 'd', "q/", NULL, 0700, 0, NULL },
			{ 'f', "q/inside", "in\n", 0644, 0, NULL },
		};

		build_archive(e->archive, FILTER_NONE, t2, ARRAY_SIZE(t2));
		assert_int_equal(unpack(e), 0);
		assert_true(S_ISFIFO(lmode(e, "p")));
		assert_true(S_ISDIR(lmode(e, "q")));
		assert_content(e, "q/inside", "in\n");
		assert_int_equal(access("/tmp/inside", F_OK), -1);
		assert_contained(e);
	}
}

/* Tar semantics: a later file replaces an earlier one (a new inode: never
 * written through another hardlink to the old one). */
static void test_file_replaces_file(void **state)
{
	struct env *e = *state;
	const struct tent t[] = {
		{ 'f', "f", "one\n", 0644, 0, NULL },
		{ 'h', "g", "f", 0, 0, NULL },
		{ 'f', "f", "two\n", 0444, 0, NULL },
		{ 'f', "ro", "first\n", 0400, 0, NULL },
		{ 'f', "ro", "second\n", 0400, 0, NULL },
		{ 'd', "dd/", NULL, 0755, 0, NULL },
		{ 'f', "dd", "was an empty dir\n", 0644, 0, NULL },
	};

	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(unpack(e), 0);
	assert_content(e, "f", "two\n");
	assert_content(e, "g", "one\n");
	assert_content(e, "ro", "second\n");
	assert_int_equal(lmode(e, "f"), S_IFREG | 0444);
	assert_content(e, "dd", "was an empty dir\n");
	assert_contained(e);
}

/* ---- hardlinks -------------------------------------------------------------- */

static void test_hardlink_escape(void **state)
{
	struct env *e = *state;
	char outside_abs[PATH_MAX + 16];
	static const struct {
		const char *target;
		const char *reason;
	} bad[] = {
		{ "../outside", "not a path inside the tree" },
		{ "a/../../outside", "not a path inside the tree" },
		{ "not-in-archive", "not a file unpacked" },
		{ "dir", "not a file unpacked" },
		{ "sym", "not a file unpacked" },
		{ "sym/x", "not a file unpacked" },
		{ "fifo", "not a file unpacked" },
		{ ".", "not a path inside the tree" },
		{ NULL, "not a path inside the tree" }, /* absolute, filled below */
	};

	snprintf(outside_abs, sizeof(outside_abs), "%s/outside", e->base);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct tent t[] = {
			{ 'd', "dir/", NULL, 0755, 0, NULL },
			{ 'l', "sym", "/etc/passwd", 0, 0, NULL },
			{ 'p', "fifo", NULL, 0644, 0, NULL },
			{ 'h', "link", bad[i].target ? bad[i].target : outside_abs, 0, 0, NULL },
		};

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, bad[i].reason);
		assert_non_null(strstr(e->err.msg, "entry 'link'"));
		assert_false(exists_in(e, "link"));
	}
}

/* A hardlink entry carrying data: raw headers (libarchive writes it with size 0). */
static void test_hardlink_with_data(void **state)
{
	struct env *e = *state;
	FILE *f;

	/* pax: the size of a hardlink is obeyed, so it "carries" data */
	f = fopen(e->archive, "wb");
	assert_non_null(f);
	raw_header(f, "f", '0', 0644, 4, NULL);
	raw_data(f, "one\n", 4);
	raw_pax(f, "path", "h");
	raw_header(f, "h", '1', 0644, 9, "f");
	raw_data(f, "replaced\n", 9);
	raw_end(f);
	fclose(f);
	assert_refused(e, -EPERM, "carries data");
	assert_content(e, "f", "one\n");
	assert_false(exists_in(e, "h"));

	/* ustar: libarchive ignores a hardlink's size (POSIX 1988), so the
	 * body is read as the next header and the archive is refused as
	 * damaged; the data never reaches a file */
	f = fopen(e->archive, "wb");
	assert_non_null(f);
	raw_header(f, "f", '0', 0644, 4, NULL);
	raw_data(f, "one\n", 4);
	raw_header(f, "h", '1', 0644, 9, "f");
	raw_data(f, "replaced\n", 9);
	raw_end(f);
	fclose(f);
	reset_dest(e);
	assert_true(unpack(e) < 0);
	assert_contained(e);
	assert_content(e, "f", "one\n");
	if (exists_in(e, "h"))
		assert_content(e, "h", "one\n");
}

/* ---- special files and attributes --------------------------------------------- */

static void test_devices(void **state)
{
	struct env *e = *state;
	const char types[] = { 'c', 'b' };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		const struct tent t[] = {
			{ 'd', "dev/", NULL, 0755, 0, NULL },
			{ types[i], "dev/node", NULL, 0666, 0, NULL },
		};

		build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
		assert_refused(e, -EPERM, "device nodes are not allowed");
		assert_non_null(strstr(e->err.msg, "entry 'dev/node'"));
		assert_false(exists_in(e, "dev/node"));
	}
}

static void test_setid_stripped(void **state)
{
	struct env *e = *state;
	const struct tent t[] = {
		{ 'f', "suid", "#!/bin/sh\n", 06755, 0, NULL },
		{ 'f', "sgid", "#!/bin/sh\n", 02711, 0, NULL },
		{ 'd', "sgid-dir/", NULL, 02775, 0, NULL },
		{ 'f', "plain", "x", 0755, 0, NULL },
	};

	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(unpack(e), 0);
	assert_int_equal(lmode(e, "suid"), S_IFREG | 0755);
	assert_int_equal(lmode(e, "sgid"), S_IFREG | 0711);
	assert_int_equal(lmode(e, "sgid-dir"), S_IFDIR | 0775);
	assert_int_equal(lmode(e, "plain"), S_IFREG | 0755);
	assert_int_equal(e->stats.stripped_setid, 4);
	assert_non_null(strstr(e->manifest, "f\t0755\t10\t"));
	assert_null(strstr(e->manifest, "6755"));
	assert_contained(e);
}

static void test_xattrs_dropped(void **state)
{
	struct env *e = *state;
	const struct tent t[] = {
		{ 'f', "ping", "ELF\n", 0755, 0, "security.capability" },
		{ 'f', "user", "x\n", 0644, 0, "user.kennel.test" },
		{ 'd', "dir/", NULL, 0755, 0, "trusted.overlay.opaque" },
	};
	char buf[64];

	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(unpack(e), 0);
	assert_int_equal(lgetxattr(path_in(e, "ping"), "security.capability", buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENODATA);
	assert_int_equal(lgetxattr(path_in(e, "user"), "user.kennel.test", buf, sizeof(buf)), -1);
	assert_int_equal(lgetxattr(path_in(e, "dir"), "trusted.overlay.opaque", buf, sizeof(buf)), -1);
	{
		char list[4096];
		ssize_t n = llistxattr(path_in(e, "ping"), list, sizeof(list));

		for (ssize_t o = 0; o < n; o += (ssize_t) strlen(list + o) + 1)
			assert_string_not_equal(list + o, "security.capability");
	}
	assert_int_equal(e->stats.dropped_xattrs, 3);
	assert_content(e, "ping", "ELF\n");
	assert_contained(e);
}

static void test_fifo_created(void **state)
{
	struct env *e = *state;
	struct stat st;
	const struct tent t[] = {
		{ 'p', "run/fifo", NULL, 0640, 0, NULL },
		{ 'p', "run/closed", NULL, 0, 0, NULL },
	};

	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(unpack(e), 0);
	assert_int_equal(lmode(e, "run/fifo"), S_IFIFO | 0640);
	assert_int_equal(lmode(e, "run/closed"), S_IFIFO | 0644);
	assert_int_equal(lstat(path_in(e, "run/fifo"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, T_MTIME);
	assert_non_null(strstr(e->manifest, "p\t0640\t0\t-\trun/fifo\n"));
	assert_contained(e);
}

/* Tar cannot carry a socket (GNU tar skips them, libarchive's writer refuses
 * one): the archive holds the entries around it and they unpack. */
static void test_socket_skipped(void **state)
{
	struct env *e = *state;
	const struct tent t[] = {
		{ 'f', "before", "1\n", 0644, 0, NULL },
		{ 's', "sock", NULL, 0755, 0, NULL },
		{ 'f', "after", "2\n", 0644, 0, NULL },
	};

	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(unpack(e), 0);
	assert_false(exists_in(e, "sock"));
	assert_content(e, "before", "1\n");
	assert_content(e, "after", "2\n");
	assert_int_equal(e->stats.entries, 2);
	assert_contained(e);
}

/* ---- directory modes ------------------------------------------------------------ */

static void test_readonly_dir(void **state)
{
	struct env *e = *state;
	const struct tent t[] = {
		{ 'd', "ro/", NULL, 0555, 0, NULL },
		{ 'f', "ro/file", "inside\n", 0444, 0, NULL },
		{ 'd', "ro/sub/", NULL, 0500, 0, NULL },
		{ 'f', "ro/sub/deeper", "deeper\n", 0400, 0, NULL },
		{ 'd', "wx/", NULL, 0300, 0, NULL },
		{ 'f', "wx/x", "x\n", 0644, 0, NULL },
		{ 'd', "ro/", NULL, 0551, 0, NULL }, /* again: only the mode changes */
	};

	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(unpack(e), 0);
	assert_int_equal(lmode(e, "ro"), S_IFDIR | 0551);
	assert_int_equal(lmode(e, "ro/sub"), S_IFDIR | 0500);
	assert_int_equal(lmode(e, "wx"), S_IFDIR | 0300);
	assert_int_equal(lmode(e, "ro/file"), S_IFREG | 0444);
	assert_content(e, "ro/file", "inside\n");
	assert_content(e, "ro/sub/deeper", "deeper\n");
	assert_content(e, "wx/x", "x\n");
	assert_non_null(strstr(e->manifest, "d\t0555\t0\t-\tro\n"));
	assert_non_null(strstr(e->manifest, "d\t0551\t0\t-\tro\n"));
	assert_contained(e);
}

/* A directory entry listed after its content, with a mode that locks us out. */
static void test_dir_mode_after_content(void **state)
{
	struct env *e = *state;
	FILE *f = fopen(e->archive, "wb");

	assert_non_null(f);
	raw_header(f, "a/b/c/file", '0', 0644, 2, NULL);
	raw_data(f, "x\n", 2);
	raw_header(f, "a/", '5', 0000, 0, NULL);
	raw_header(f, "a/b/c/", '5', 0500, 0, NULL);
	raw_header(f, "a/b/", '5', 0100, 0, NULL);
	raw_end(f);
	fclose(f);
	assert_int_equal(unpack(e), 0);
	assert_int_equal(lmode(e, "a"), S_IFDIR | 0000);
	chmod(path_in(e, "a"), 0700);
	assert_int_equal(lmode(e, "a/b"), S_IFDIR | 0100);
	assert_int_equal(lmode(e, "a/b/c"), S_IFDIR | 0500);
	assert_content(e, "a/b/c/file", "x\n");
	assert_contained(e);
}

/* ---- limits --------------------------------------------------------------------- */

static void test_bomb(void **state)
{
	struct env *e = *state;
	struct stat st, ast;
	const struct tent t[] = {
		{ 'f', "zeros", NULL, 0644, 64 * MIB, NULL },
		{ 'f', "after", "never\n", 0644, 0, NULL },
	};

	build_archive(e->archive, FILTER_GZIP, t, ARRAY_SIZE(t));
	assert_int_equal(stat(e->archive, &ast), 0);
	assert_true(ast.st_size < 1 * MIB); /* a bomb: tiny archive, 64 MiB out */
	assert_int_equal(run_unpack(e, 1 * MIB, 0, true), -EFBIG);
	assert_non_null(strstr(e->err.msg, "entry 'zeros'"));
	assert_non_null(strstr(e->err.msg, "exceeds the limit of 1048576 bytes"));
	assert_true(e->stats.bytes <= 1 * MIB);
	assert_int_equal(lstat(path_in(e, "zeros"), &st), 0);
	assert_true(st.st_size <= 1 * MIB);
	assert_false(exists_in(e, "after"));
	assert_contained(e);
}

/* The bomb is not even read much further than the limit: the reader
 * stops too, so the archive's read position stays near the start. */
static void test_bomb_stops_reading(void **state)
{
	struct env *e = *state;
	kn_unpack_limits lim = { .max_unpacked_size = 1 * MIB };
	const struct tent t[] = { { 'f', "zeros", NULL, 0644, 64 * MIB, NULL } };
	off_t pos;
	int in;

	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	in = open(e->archive, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	assert_int_equal(kn_unpack_archive(in, e->dest_fd, &lim, NULL, &e->stats, &e->err), -EFBIG);
	pos = lseek(in, 0, SEEK_CUR);
	close(in);
	if (pos > 8 * MIB)
		fail_msg("read %lld bytes of a 64 MiB bomb with a 1 MiB limit", (long long) pos);
	assert_true(e->stats.bytes <= 1 * MIB);
	assert_contained(e);
}

/* Many small files under the limit each: the sum is what counts. */
static void test_bomb_many_files(void **state)
{
	struct env *e = *state;
	struct tent t[64];
	char names[64][16];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(names[i], sizeof(names[i]), "z%02zu", i);
		t[i] = (struct tent) { 'f', names[i], NULL, 0644, 256 * 1024, NULL };
	}
	build_archive(e->archive, FILTER_ZSTD, t, ARRAY_SIZE(t));
	assert_int_equal(run_unpack(e, 1 * MIB, 0, false), -EFBIG);
	assert_non_null(strstr(e->err.msg, "entry 'z04'"));
	assert_true(e->stats.bytes <= 1 * MIB);
	assert_int_equal(e->stats.entries, 4);
	assert_false(exists_in(e, "z05"));
	assert_contained(e);
}

/* A sparse file's holes count as what they read back as. */
static void test_sparse_hole_counts(void **state)
{
	struct env *e = *state;
	FILE *f = fopen(e->archive, "wb");
	char map[64];

	/* GNU sparse 0.1 in pax: 4 KiB of data at offset 8 MiB in a 16 MiB file */
	assert_non_null(f);
	snprintf(map, sizeof(map), "%d,%d", 8 * MIB, 4096);
	{
		/* one pax header with several records */
		char rec[512];
		size_t n = 0;
		const char *keys[][2] = {
			{ "GNU.sparse.major", "0" }, { "GNU.sparse.minor", "1" },
			{ "GNU.sparse.name", "sparse" }, { "GNU.sparse.realsize", "16777216" },
			{ "GNU.sparse.map", map },
		};

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			size_t len = strlen(keys[i][0]) + strlen(keys[i][1]) + 3, total;

			total = len + (size_t) snprintf(NULL, 0, "%zu", len);
			total = len + (size_t) snprintf(NULL, 0, "%zu", total);
			n += (size_t) snprintf(rec + n, sizeof(rec) - n, "%zu %s=%s\n", total,
					       keys[i][0], keys[i][1]);
		}
		raw_header(f, "PaxHeader", 'x', 0644, n, NULL);
		raw_data(f, rec, n);
	}
	{
		static char data[4096];

		memset(data, 'S', sizeof(data));
		raw_header(f, "GNUSparseFile/sparse", '0', 0644, sizeof(data), NULL);
		raw_data(f, data, sizeof(data));
	}
	raw_end(f);
	fclose(f);

	assert_int_equal(run_unpack(e, 1 * MIB, 0, false), -EFBIG);
	assert_true(e->stats.bytes <= 1 * MIB);

	assert_int_equal(run_unpack(e, 32 * MIB, 0, true), 0);
	{
		struct stat st;
		size_t len = 0;
		char *got = read_all(path_in(e, "sparse"), &len);
		char sha[33];

		assert_int_equal(lstat(path_in(e, "sparse"), &st), 0);
		assert_int_equal(st.st_size, 16 * MIB);
		assert_non_null(got);
		assert_int_equal(len, 16 * MIB);
		assert_int_equal(got[0], 0);
		assert_int_equal(got[8 * MIB], 'S');
		assert_int_equal(got[8 * MIB + 4095], 'S');
		assert_int_equal(got[8 * MIB + 4096], 0);
		xxh128_hex(got, len, sha);
		assert_non_null(strstr(e->manifest, sha));
		free(got);
		assert_true(e->stats.bytes == 16 * MIB);
	}
	assert_contained(e);
}

static void test_too_many_entries(void **state)
{
	struct env *e = *state;
	struct tent t[10];
	char names[10][8];

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(names[i], sizeof(names[i]), "f%zu", i);
		t[i] = (struct tent) { 'f', names[i], "x", 0644, 0, NULL };
	}
	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(run_unpack(e, 0, 5, false), -EFBIG);
	assert_non_null(strstr(e->err.msg, "more than 5 entries"));
	assert_int_equal(e->stats.entries, 5);
	assert_false(exists_in(e, "f5"));
	assert_contained(e);
	/* exactly at the limit is fine */
	build_archive(e->archive, FILTER_NONE, t, 5);
	assert_int_equal(run_unpack(e, 0, 5, false), 0);
}

/* ---- layers ------------------------------------------------------------------------ */

/* A second archive unpacked over the first (OCI layers): links to the
 * first one's files work, files are replaced, directories keep existing. */
static void test_second_layer(void **state)
{
	struct env *e = *state;
	const struct tent one[] = {
		{ 'd', "etc/", NULL, 0755, 0, NULL },
		{ 'f', "etc/a", "a1\n", 0644, 0, NULL },
		{ 'f', "etc/b", "b1\n", 0644, 0, NULL },
	};
	const struct tent two[] = {
		{ 'd', "etc/", NULL, 0750, 0, NULL },
		{ 'h', "etc/a.link", "etc/a", 0, 0, NULL },
		{ 'f', "etc/b", "b2\n", 0600, 0, NULL },
		{ 'f', "etc/.wh.gone", "", 0644, 0, NULL },
		{ 'f', ".wh..wh..opq", "", 0644, 0, NULL },
	};
	kn_unpack_limits lim = { .flags = KN_UNPACK_SKIP_WHITEOUTS };
	struct stat a, link;
	int in;

	build_archive(e->archive, FILTER_NONE, one, ARRAY_SIZE(one));
	assert_int_equal(unpack(e), 0);
	build_archive(e->archive, FILTER_GZIP, two, ARRAY_SIZE(two));
	in = open(e->archive, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	assert_int_equal(kn_unpack_archive(in, e->dest_fd, &lim, NULL, &e->stats, &e->err), 0);
	close(in);
	assert_int_equal(lstat(path_in(e, "etc/a"), &a), 0);
	assert_int_equal(lstat(path_in(e, "etc/a.link"), &link), 0);
	assert_true(a.st_ino == link.st_ino);
	assert_content(e, "etc/b", "b2\n");
	assert_int_equal(lmode(e, "etc/b"), S_IFREG | 0600);
	assert_int_equal(lmode(e, "etc"), S_IFDIR | 0750);
	/* whiteouts are the caller's business with the flag: not unpacked */
	assert_false(exists_in(e, "etc/.wh.gone"));
	assert_false(exists_in(e, ".wh..wh..opq"));
	assert_contained(e);

	/* without the flag they are ordinary files */
	assert_int_equal(unpack(e), 0);
	assert_true(exists_in(e, "etc/.wh.gone"));
}

/* Layers with deferred directory modes: a lower layer's read-only
 * directory stays writable for the layers above, and gets its mode (with
 * setgid stripped) and mtime once, at the end. */
static void test_layers_defer_dirs(void **state)
{
	struct env *e = *state;
	const struct tent one[] = {
		{ 'd', "usr/", NULL, 0755, 0, NULL },
		{ 'd', "usr/ro/", NULL, 0555, 0, NULL },
		{ 'f', "usr/ro/a", "a\n", 0444, 0, NULL },
		{ 'd', "usr/sg/", NULL, 02775, 0, NULL },
	};
	const struct tent two[] = {
		{ 'f', "usr/ro/b", "b\n", 0644, 0, NULL },
		{ 'f', "usr/sg/f", "f\n", 0644, 0, NULL },
	};
	kn_unpack_dirs dirs = { 0 };
	kn_unpack_limits lim = { .flags = KN_UNPACK_SKIP_WHITEOUTS, .defer_dirs = &dirs };
	struct stat st;
	int in;

	build_archive(e->archive, FILTER_NONE, one, ARRAY_SIZE(one));
	in = open(e->archive, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	assert_int_equal(kn_unpack_archive(in, e->dest_fd, &lim, NULL, &e->stats, &e->err), 0);
	close(in);
	/* held back: still the working mode, writable by its owner */
	assert_int_equal(lmode(e, "usr/ro"), S_IFDIR | 0700);
	assert_int_equal(lmode(e, "usr/sg"), S_IFDIR | 0700);

	build_archive(e->archive, FILTER_GZIP, two, ARRAY_SIZE(two));
	in = open(e->archive, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	assert_int_equal(kn_unpack_archive(in, e->dest_fd, &lim, NULL, &e->stats, &e->err), 0);
	close(in);
	assert_int_equal(e->stats.stripped_setid, 0); /* counted by the first layer */
	assert_int_equal(lmode(e, "usr/ro"), S_IFDIR | 0700);

	assert_int_equal(kn_unpack_dirs_apply(&dirs, e->dest_fd, &e->err), 0);
	kn_unpack_dirs_clear(&dirs);
	assert_null(dirs.v);
	assert_int_equal(lmode(e, "usr/ro"), S_IFDIR | 0555);
	assert_int_equal(lmode(e, "usr/sg"), S_IFDIR | 0775);
	assert_int_equal(lmode(e, "usr"), S_IFDIR | 0755);
	assert_content(e, "usr/ro/a", "a\n");
	assert_content(e, "usr/ro/b", "b\n");
	assert_content(e, "usr/sg/f", "f\n");
	/* the mtime after the second layer wrote into it */
	assert_int_equal(lstat(path_in(e, "usr/ro"), &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, T_MTIME);
	assert_contained(e);
}

/* ---- broken input ------------------------------------------------------------------ */

static void test_truncated_and_garbage(void **state)
{
	struct env *e = *state;
	const struct tent t[] = { { 'f', "big", NULL, 0644, 100000, NULL } };
	struct stat st;
	int r;

	build_archive(e->archive, FILTER_NONE, t, ARRAY_SIZE(t));
	assert_int_equal(stat(e->archive, &st), 0);
	assert_int_equal(truncate(e->archive, 50000), 0);
	r = unpack(e);
	assert_true(r < 0);
	assert_non_null(strstr(e->err.msg, "entry 'big'"));
	assert_contained(e);

	{
		FILE *f = fopen(e->archive, "wb");

		assert_non_null(f);
		fputs("this is not an archive at all, not even close\n", f);
		fclose(f);
	}
	reset_dest(e);
	r = unpack(e);
	assert_true(r < 0);
	assert_non_null(strstr(e->err.msg, "read archive"));
	assert_int_equal(count_dir(e->dest), 0);
	assert_contained(e);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_path),
		cmocka_unit_test(test_check_symlink),
		T(test_normal_tree),
		T(test_filters_and_formats),
		T(test_utf8_names),
		T(test_traversal),
		T(test_absolute),
		T(test_symlink_escape),
		T(test_symlink_used_as_parent),
		T(test_dir_symlink_swap),
		T(test_file_replaces_symlink),
		T(test_file_replaces_file),
		T(test_hardlink_escape),
		T(test_hardlink_with_data),
		T(test_devices),
		T(test_setid_stripped),
		T(test_xattrs_dropped),
		T(test_fifo_created),
		T(test_socket_skipped),
		T(test_readonly_dir),
		T(test_dir_mode_after_content),
		T(test_bomb),
		T(test_bomb_stops_reading),
		T(test_bomb_many_files),
		T(test_sparse_hole_counts),
		T(test_too_many_entries),
		T(test_second_layer),
		T(test_layers_defer_dirs),
		T(test_truncated_and_garbage),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
