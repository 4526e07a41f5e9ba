/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_UNPACK_H
#define KENNEL_UNPACK_H

/*
 * Safe unpacking of an untrusted root filesystem archive (libarchive).
 *
 * The archive has been verified against its pinned sha256 before this runs,
 * but the pin only says "this is the tarball the user chose": its content is
 * still untrusted.  Everything is created relative to a directory fd with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so
 * nothing is ever written through a symlink or outside the tree.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

/* The first line of a manifest (see kn_unpack_archive()): format 2, XXH3-128. */
#define KN_MANIFEST_HEADER "#kennel-manifest 2 xxh3-128\n"

#define KN_UNPACK_DEFAULT_MAX_SIZE (32ULL << 30)  /* bytes of file data */
#define KN_UNPACK_DEFAULT_MAX_ENTRIES 2000000ULL

/* Skip OCI whiteout entries (".wh.*"): the caller applied them already. */
#define KN_UNPACK_SKIP_WHITEOUTS 0x1u

/*
 * Directory modes and mtimes held back over several unpacks into one tree
 * (OCI layers): each unpack leaves its directories owner-writable (0700)
 * and records their modes here; kn_unpack_dirs_apply() applies them all
 * after the last one.  Otherwise a directory a lower layer makes read-only
 * (0555) would refuse the files a later layer adds to it, or its
 * whiteouts, to an unprivileged user.  Zero-initialise it.
 */
typedef struct kn_unpack_dirs {
	struct pending_dir *v;
	size_t n, cap;
} kn_unpack_dirs;

typedef struct kn_unpack_limits {
	uint64_t max_unpacked_size; /* sum of regular files' sizes; 0 = default */
	uint64_t max_entries;       /* archive entries; 0 = default */
	unsigned flags;             /* KN_UNPACK_* */
	kn_unpack_dirs *defer_dirs; /* not NULL: record directory modes here instead of applying them */
} kn_unpack_limits;

typedef struct kn_unpack_stats {
	uint64_t entries;        /* entries created */
	uint64_t bytes;          /* bytes of regular file data written */
	uint64_t stripped_setid; /* setuid/setgid bits removed */
	uint64_t dropped_xattrs; /* xattrs not applied (security.capability, ...) */
} kn_unpack_stats;

/*
 * kn_unpack_archive() - unpack the archive read from @in_fd into the empty
 * directory @dest_fd.  Any format and filter libarchive reads (tar, pax,
 * gnu; gzip, zstd, xz, bzip2, none).
 *
 * Refused (return -EPERM/-EINVAL, @err names the entry and the reason):
 * absolute paths; ".." components; a symlink whose target, resolved from
 * its own directory with absolute targets taken relative to the tree's
 * root, would leave the tree; a hardlink to anything not already unpacked
 * as a regular file in the tree, or carrying data; a path whose parent is
 * (or became) a symlink or is not a directory; character and block devices;
 * more than @limits' entries or bytes (-EFBIG).  Neutralised: setuid and
 * setgid bits are cleared, xattrs are not applied (security.capability and
 * every other), ownership is not applied (files belong to the unpacking
 * user), permissions are set with fchmodat on the created object itself,
 * never through a symlink.  Sockets are skipped; FIFOs are created.
 *
 * @manifest, when not NULL, receives the manifest (format 2): the line
 * KN_MANIFEST_HEADER, then one line per entry, in archive order,
 * tab-separated:  TYPE MODE SIZE HASH PATH [TARGET]
 * where TYPE is f/d/l/h/p, MODE the octal mode as applied, SIZE the byte
 * count of a file (0 otherwise), HASH the XXH3-128 of a regular file's
 * content as 32 hex digits (canonical, big-endian; "-" otherwise), PATH
 * relative without leading "./", TARGET the link target for l and h.
 * Paths and targets are escaped: '\\', '\t' and '\n' as \\ \t \n.
 * Why XXH3 and not SHA-256: see digest.h (the manifest finds corruption; it
 * cannot stop someone who can write the cache, who could rewrite it too).
 * Format 1 (before this header existed) had no header line and the
 * SHA-256 of each file in the HASH column; `kennel rootfs verify` still
 * checks it.
 *
 * On failure the partial tree is left for the caller to remove (the cache
 * unpacks into a temporary directory and deletes it).  Nothing is fsync'd
 * here: batches of files are written back early (syncfs, to reuse their
 * page cache), but durability is the caller's, who syncs the filesystem
 * once at the end.
 * Return: 0 and @stats filled, or -errno with @err set.
 */
int kn_unpack_archive(int in_fd, int dest_fd, const kn_unpack_limits *limits,
		      FILE *manifest, kn_unpack_stats *stats, kn_error *err);

/*
 * kn_unpack_dirs_apply() - apply the directory modes and mtimes recorded
 * in @ds to the tree under @dest_fd, deepest first, each directory opened
 * beneath it without following symlinks (one removed or replaced since is
 * left as it is now).  Call it once, after the last unpack.
 * Return: 0 or -errno with @err naming the directory.
 */
int kn_unpack_dirs_apply(kn_unpack_dirs *ds, int dest_fd, kn_error *err);

/* kn_unpack_dirs_clear() - free what @ds holds (it is empty again). */
void kn_unpack_dirs_clear(kn_unpack_dirs *ds);

/*
 * kn_unpack_check_path() - the lexical check for an entry's path: relative,
 * no "..", no empty name after normalising "./" and "//", not "." itself.
 * On success *out points to the normalised path (inside @buf).
 * Return: 0, or -EINVAL with @err set naming @path and the reason.
 */
int kn_unpack_check_path(const char *path, char *buf, size_t cap, const char **out, kn_error *err);

/*
 * kn_unpack_check_symlink() - would a symlink at @path (normalised, relative)
 * with @target stay inside the tree?  Absolute targets count from the tree's
 * root (as they resolve inside the sandbox).
 * Return: 0 when it stays inside, -EPERM with @err set otherwise.
 */
int kn_unpack_check_symlink(const char *path, const char *target, kn_error *err);

#endif
