/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_CACHE_H
#define KENNEL_CACHE_H

/*
 * The content-addressed rootfs cache and the lock file: what the launcher
 * needs to turn `--rootfs NAME|sha256:HEX` into a directory, without any
 * heavy library (no hashing, no unpacking happens at launch).
 *
 * Layout of the cache directory ($KENNEL_CACHE_DIR when set, else
 * /var/cache/kennel/rootfs for root, else $XDG_CACHE_HOME/kennel/rootfs or
 * ~/.cache/kennel/rootfs):
 *   sha256-HEX/rootfs      the unpacked tree (the entry exists only once complete:
 *   sha256-HEX/manifest    it is renamed into place after unpacking and syncing)
 *   sha256-HEX/info.json   source, size, entry count, time of unpacking
 *   blobs/sha256-HEX       the verified archive, kept for `verify`
 *   locks/sha256-HEX.lock  flock: exclusive while pulling or removing,
 *                          shared while a sandbox runs on the entry
 *   tmp/                   pulls in progress (each holds its own flock)
 *
 * The lock file (kennel.lock, JSON) pins names:
 *   { "version": 1,
 *     "rootfs": { "NAME": { "source": "URL or path", "sha256": "HEX" }, ... } }
 * Found as --lock FILE, else ./kennel.lock, else $XDG_CONFIG_HOME/kennel/kennel.lock
 * (~/.config/kennel/kennel.lock).
 */

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define KN_SHA256_HEX_LEN 64

/*
 * kn_cache_dir() - the cache directory for this user (not created).
 * Return: a new string (caller frees), or NULL with @err set when neither
 * XDG_CACHE_HOME nor HOME tells where.
 */
char *kn_cache_dir(kn_error *err);

/*
 * kn_lock_path() - the lock file to use: @explicit when given, else
 * ./kennel.lock when it exists, else the user's config one (which may not
 * exist yet).
 * Return: a new string, or NULL with @err set.
 */
char *kn_lock_path(const char *explicit_path, kn_error *err);

/* kn_is_sha256_hex() - exactly 64 lowercase hex digits. */
bool kn_is_sha256_hex(const char *s);

/*
 * kn_lock_lookup() - the pin of @name in the lock file at @path.
 * @sha256_hex receives 65 bytes (NUL-terminated), @source (optional) a new
 * string.
 * Return: 0; -ENOENT when the file or the name is missing (with @err
 * saying which and how to pull it); -EINVAL for a malformed file.
 */
int kn_lock_lookup(const char *path, const char *name, char *sha256_hex, char **source, kn_error *err);

/*
 * kn_lock_pin() - record @name -> @source + @sha256_hex in the lock file at
 * @path, creating it (and its directory) when missing; written to a
 * temporary file and renamed, other names kept.
 * Return: 0 or -errno with @err set.
 */
int kn_lock_pin(const char *path, const char *name, const char *source, const char *sha256_hex, kn_error *err);

/*
 * kn_rootfs_resolve() - turn a --rootfs argument into a directory:
 *   "sha256:HEX"   the cache entry for that digest;
 *   a path         (contains '/', or names an existing directory) as is;
 *   NAME           the lock file's pin for NAME, then its cache entry.
 * @lock_path may be NULL (default lookup).  On success *dir is a new
 * string and, for cache entries, *lock_fd holds a shared flock on the
 * entry (kept open for the sandbox's lifetime so `rm`/`gc` leave it alone;
 * -1 for plain directories).
 * Return: 0 or -errno with @err saying what to do (e.g. the pull command).
 */
int kn_rootfs_resolve(const char *arg, const char *lock_path, char **dir, int *lock_fd, kn_error *err);

#endif
