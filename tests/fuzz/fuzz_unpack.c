/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: a rootfs archive is untrusted input (its pinned digest only
 * says it is the one the user chose).  Each input is unpacked, with small
 * limits, into a fresh directory "dest" inside a fresh mkdtemp directory
 * under $TMPDIR (default /tmp), which is then walked and removed.  On ext4,
 * creating inodes soon after deleting many gets slower (the allocator skips
 * recently deleted inodes), so long runs go faster with TMPDIR=/dev/shm.
 * Beyond the sanitizers,
 * the walk checks what the unpacker promises and aborts when it does not
 * hold:
 *   - nothing was created next to "dest" (nothing written outside the tree);
 *   - no device node, no setuid/setgid file or directory in the tree;
 *   - every symlink in the tree passes kn_unpack_check_symlink().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
/* libFuzzer's own mutator; absent (NULL) in the replay build, which never mutates */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

#define FUZZ_MAX_SIZE (1U << 20)
#define FUZZ_MAX_ENTRIES 1000

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fuzz_unpack: %s: %s\n", what, path);
	abort();
}

/*
 * Check and remove @rel (a directory, relative to @root_fd) and all it
 * holds.  No fd is held across the recursion: a tree may be as deep as a
 * PATH_MAX path allows, more levels than the fd limit.  Directories are
 * made 0700 first, as the archive may have made them unreadable.
 */
static void check_and_remove(int root_fd, char *rel, size_t len)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	if (fchmodat(root_fd, rel, 0700, 0) < 0)
		die("chmod directory", rel);
	fd = openat(root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		die("open directory", rel);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				die("out of memory", rel);
		}
		names[n] = strdup(de->d_name);
		if (!names[n++])
			die("out of memory", rel);
	}
	closedir(d);

	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);
		struct stat st;

		if (len + 1 + nl + 1 > PATH_MAX)
			die("path longer than PATH_MAX in the tree", rel);
		rel[len] = '/';
		memcpy(rel + len + 1, names[i], nl + 1);
		if (fstatat(root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("stat", rel);
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			die("device node in the tree", rel);
		if (st.st_mode & (S_ISUID | S_ISGID))
			die("setuid/setgid bit in the tree", rel);
		if (S_ISDIR(st.st_mode)) {
			check_and_remove(root_fd, rel, len + 1 + nl);
		} else {
			if (S_ISLNK(st.st_mode)) {
				char target[PATH_MAX + 1];
				ssize_t tl = readlinkat(root_fd, rel, target, sizeof(target) - 1);
				/* the symlink's path relative to dest: skip "dest/" */
				const char *in_tree = rel + 5;

				if (tl < 0)
					die("readlink", rel);
				target[tl] = '\0';
				if (kn_unpack_check_symlink(in_tree, target, NULL) != 0)
					die("symlink leaving the tree", rel);
			}
			if (unlinkat(root_fd, rel, 0) < 0)
				die("unlink", rel);
		}
		rel[len] = '\0';
		free(names[i]);
	}
	free(names);
	if (unlinkat(root_fd, rel, AT_REMOVEDIR) < 0)
		die("rmdir", rel);
}

/*
 * A random byte change in a tar header breaks its checksum, and libarchive
 * then stops at "damaged archive" before any of our code runs.  After each
 * mutation, give every 512-byte block that carries the ustar magic the
 * checksum it needs, so that mutated headers reach the unpacker.
 */
static void fix_tar_checksums(uint8_t *data, size_t size)
{
	for (size_t off = 0; off + 512 <= size; off += 512) {
		uint8_t *h = data + off;
		unsigned sum = 0;

		if (memcmp(h + 257, "ustar", 5) != 0)
			continue;
		memset(h + 148, ' ', 8);
		for (size_t i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *) h + 148, 8, "%06o", sum & 0777777);
		h[155] = ' ';
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	(void) seed;
	if (!LLVMFuzzerMutate)
		return size;
	size = LLVMFuzzerMutate(data, size, max_size);
	fix_tar_checksums(data, size);
	return size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char rel[PATH_MAX + 1];
	static char base[PATH_MAX];
	kn_unpack_limits limits = { .max_unpacked_size = FUZZ_MAX_SIZE,
				    .max_entries = FUZZ_MAX_ENTRIES };
	kn_unpack_stats stats;
	kn_error err = KN_ERROR_INIT;
	char *manifest = NULL;
	size_t manifest_len = 0;
	FILE *m;
	int in, base_fd, dest_fd;

	in = memfd_create("fuzz-unpack-input", MFD_CLOEXEC);
	if (in < 0)
		die("memfd_create", strerror(errno));
	for (size_t off = 0; off < size;) {
		ssize_t w = write(in, data + off, size - off);

		if (w <= 0)
			die("write input", strerror(errno));
		off += (size_t) w;
	}
	if (lseek(in, 0, SEEK_SET) != 0)
		die("lseek", strerror(errno));
	{
		const char *tmp = getenv("TMPDIR");

		snprintf(base, sizeof(base), "%s/kn-fuzz-unpack-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	}
	if (!mkdtemp(base))
		die("mkdtemp", strerror(errno));
	base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base_fd < 0 || mkdirat(base_fd, "dest", 0700) < 0)
		die("make dest", base);
	dest_fd = openat(base_fd, "dest", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dest_fd < 0)
		die("open dest", base);
	m = open_memstream(&manifest, &manifest_len);
	if (!m)
		die("open_memstream", strerror(errno));

	(void) kn_unpack_archive(in, dest_fd, &limits, m, &stats, &err);

	fclose(m);
	free(manifest);
	close(dest_fd);
	close(in);
	if (stats.bytes > FUZZ_MAX_SIZE || stats.entries > FUZZ_MAX_ENTRIES)
		die("limit not enforced", base);

	/* nothing next to dest: the only entry of base is dest */
	{
		DIR *d = fdopendir(dup(base_fd));
		struct dirent *de;

		if (!d)
			die("open base", base);
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    strcmp(de->d_name, "dest"))
				die("entry created outside the destination", de->d_name);
		closedir(d);
	}
	strcpy(rel, "dest");
	check_and_remove(base_fd, rel, 4);
	close(base_fd);
	if (rmdir(base) < 0)
		die("rmdir", base);
	return 0;
}
