/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KENNEL_OCI_LAYOUT_H
#define KENNEL_OCI_LAYOUT_H

/*
 * OCI image layouts (as `skopeo copy ... oci:DIR` or `podman save
 * --format oci-dir` write them): index.json -> manifest -> layers, every
 * blob checked against its digest before it is used.
 */

#include <stddef.h>

#include "error.h"

typedef struct kn_oci_image {
	char manifest_hex[65]; /* the image's identity: the manifest's sha256 */
	char **layers;         /* absolute paths of the layer blobs, in order */
	char **layer_hex;      /* their sha256 */
	size_t n_layers;
} kn_oci_image;

/*
 * kn_oci_layout_open() - read the layout at @dir and pick the manifest
 * tagged @tag (the index's org.opencontainers.image.ref.name), or the only
 * one when @tag is NULL.  The manifest and every layer are hashed and
 * compared with their digests; a nested index (multi-platform) picks the
 * linux/amd64 manifest.
 * Return: 0 and @img filled, or -errno with @err naming the blob or field.
 */
int kn_oci_layout_open(const char *dir, const char *tag, kn_oci_image *img, kn_error *err);

/* kn_oci_image_free() - release what kn_oci_layout_open() filled. */
void kn_oci_image_free(kn_oci_image *img);

/*
 * kn_oci_apply_whiteouts() - the first pass over one layer: for every
 * ".wh.NAME" entry remove NAME, and for every ".wh..wh..opq" entry remove
 * the directory's children, from the tree under @tree_fd (lower layers
 * only: the layer itself is unpacked after this, with the whiteout entries
 * skipped).  Paths are checked and opened beneath the tree without
 * following symlinks.
 * Return: 0 or -errno with @err set.
 */
int kn_oci_apply_whiteouts(const char *layer_path, int tree_fd, kn_error *err);

#endif
