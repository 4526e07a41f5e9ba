/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_PULL_H
#define KENNEL_PULL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "unpack.h"

typedef struct kn_pull_opts {
	const char *source;    /* a tarball path, file://, http:// or https:// URL, or oci:DIR[:TAG] */
	const char *sha256;    /* the expected digest (hex), or NULL: trust on first use */
	const char *name;      /* pin the result under this name in the lock file */
	const char *lock_path; /* NULL: the default lock file */
	kn_unpack_limits limits;
	bool quiet;
} kn_pull_opts;

/*
 * kn_pull() - bring a root filesystem into the cache.
 *
 * How this works, in order:
 *   1. a work directory tmp/pull-XXXXXX, flock'ed for the pull's lifetime
 *      (gc removes only unlocked ones: a killed pull leaves nothing used);
 *   2. the archive is hashed, so that what is verified is exactly what is
 *      unpacked: a download is written into the work directory as it is
 *      hashed; a local file is hashed in place under a read lease (lease.h)
 *      that any writer breaks, or, when no lease can be had (open for
 *      writing, not the caller's, not a local filesystem), copied into the
 *      work directory as it is hashed;
 *   3. with an expected digest, a mismatch stops here: nothing unpacked;
 *   4. the digest's lock is taken exclusively; if the entry exists (another
 *      pull finished first) the work is dropped;
 *   5. the archive is unpacked into the work directory with a manifest and
 *      info.json (archive_kept: whether the cache holds the archive), the
 *      filesystem synced once; a copy is kept as blobs/sha256-HEX for
 *      `verify`, a leased file must still hold its lease (else the pull
 *      fails: the file changed); then the entry is renamed into place;
 *   6. with a name, the pin is written to the lock file.
 * For oci:DIR[:TAG] the digest is the image manifest's: steps 2-3 verify
 * every blob of the layout instead, step 5 applies each layer's whiteouts
 * then unpacks it, and the manifest is written from the final tree.
 * @hex receives the digest.
 * Return: 0, or -errno with @err set (and nothing left in the cache).
 */
int kn_pull(const kn_pull_opts *o, char hex[65], kn_error *err);

/*
 * kn_rm_rf_at() - remove @name under @dirfd recursively, never following
 * symlinks, making read-only directories writable first.
 * Return: 0 (also when it did not exist) or -errno.
 */
int kn_rm_rf_at(int dirfd, const char *name);

/*
 * kn_rm_children() - empty the directory @dir_fd (any fd of it, O_PATH
 * included) with kn_rm_rf_at() on each child; the directory itself stays.
 * Return: 0 or the first -errno met (it goes on with the other children).
 */
int kn_rm_children(int dir_fd);

/*
 * kn_manifest_write_tree() - write the manifest of the tree under @tree_fd
 * (format 2 as in unpack.h, header line included, sorted by path;
 * hardlinked files appear as 'f'), for trees not made by a single unpack
 * (OCI layers with whiteouts).
 * Return: 0 or -errno with @err set.
 */
int kn_manifest_write_tree(int tree_fd, FILE *out, uint64_t *entries, uint64_t *bytes, kn_error *err);

#endif
