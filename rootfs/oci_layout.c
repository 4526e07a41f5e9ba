/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "oci_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>

#include "cleanup.h"
#include "digest.h"
#include "pull.h"
#include "unpack.h"
#include "util.h"

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

#define _cleanup_json_ __attribute__((cleanup(json_putp)))

void kn_oci_image_free(kn_oci_image *img)
{
	kn_strv_free(img->layers);
	kn_strv_free(img->layer_hex);
	img->layers = img->layer_hex = NULL;
	img->n_layers = 0;
}

/* "sha256:HEX" -> HEX, or NULL for any other algorithm or a malformed digest. */
static const char *digest_hex(struct json_object *desc)
{
	struct json_object *v;
	const char *d;

	if (!json_object_object_get_ex(desc, "digest", &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	d = json_object_get_string(v);
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d + 7) != 64)
		return NULL;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return NULL;
	return d + 7;
}

/* Open blobs/sha256/HEX, hash it and compare; with @json, parse it too. */
static int verified_blob(const char *dir, const char *hex, char **path_out, struct json_object **json, kn_error *err)
{
	_cleanup_free_ char *path = kn_xasprintf("%s/blobs/sha256/%s", dir, hex);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char got[65];

	if (fd < 0)
		return kn_error_set(err, errno, "blob sha256:%s", hex);
	if (kn_sha256_copy(fd, -1, got, NULL, err) < 0)
		return kn_error_wrap(err, "blob sha256:%s", hex);
	if (strcmp(got, hex) != 0)
		return kn_error_setx(err, EBADMSG, "blob sha256:%s: its content hashes to sha256:%s", hex, got);
	if (json) {
		*json = json_object_from_file(path);
		if (!*json || !json_object_is_type(*json, json_type_object))
			return kn_error_setx(err, EINVAL, "blob sha256:%s: not a JSON object", hex);
	}
	if (path_out)
		*path_out = steal_ptr(&path);
	return 0;
}

static bool is_index(struct json_object *o)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, "mediaType", &v) && json_object_is_type(v, json_type_string)) {
		const char *mt = json_object_get_string(v);

		return strstr(mt, "image.index") || strstr(mt, "manifest.list");
	}
	return json_object_object_get_ex(o, "manifests", &v);
}

/* Pick the descriptor to follow from an index's manifests[]. */
static struct json_object *pick(struct json_object *index, const char *tag, const char *where, kn_error *err)
{
	struct json_object *manifests, *found = NULL;
	size_t n;

	if (!json_object_object_get_ex(index, "manifests", &manifests) || !json_object_is_type(manifests, json_type_array)) {
		kn_error_setx(err, EINVAL, "%s: no manifests[]", where);
		return NULL;
	}
	n = json_object_array_length(manifests);
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(manifests, i), *ann, *v, *plat;

		if (tag) {
			if (json_object_object_get_ex(d, "annotations", &ann) &&
			    json_object_object_get_ex(ann, "org.opencontainers.image.ref.name", &v) &&
			    !strcmp(json_object_get_string(v), tag))
				return d;
			continue;
		}
		if (json_object_object_get_ex(d, "platform", &plat)) {
			struct json_object *os, *arch;

			if (json_object_object_get_ex(plat, "os", &os) && json_object_object_get_ex(plat, "architecture", &arch) &&
			    !strcmp(json_object_get_string(os), "linux") && !strcmp(json_object_get_string(arch), "amd64"))
				return d;
			continue;
		}
		if (found) {
			kn_error_setx(err, EINVAL, "%s holds several images: name one with oci:DIR:TAG", where);
			return NULL;
		}
		found = d;
	}
	if (!found)
		kn_error_setx(err, ENOENT, tag ? "%s: no image tagged '%s'" : "%s: no linux/amd64 image%s", where, tag ? tag : "");
	return found;
}

int kn_oci_layout_open(const char *dir, const char *tag, kn_oci_image *img, kn_error *err)
{
	_cleanup_free_ char *index_path = kn_xasprintf("%s/index.json", dir);
	_cleanup_free_ char *layout_path = kn_xasprintf("%s/oci-layout", dir);
	_cleanup_json_ struct json_object *index = NULL, *manifest = NULL, *layout = NULL;
	struct json_object *desc, *layers, *v;
	const char *hex;
	int r;

	memset(img, 0, sizeof(*img));
	layout = json_object_from_file(layout_path);
	if (!layout || !json_object_object_get_ex(layout, "imageLayoutVersion", &v))
		return kn_error_setx(err, EINVAL, "%s is not an OCI image layout (no oci-layout file with imageLayoutVersion)", dir);
	index = json_object_from_file(index_path);
	if (!index || !json_object_is_type(index, json_type_object))
		return kn_error_setx(err, EINVAL, "%s: not a JSON object", index_path);
	desc = pick(index, tag, index_path, err);
	/* Follow nested indexes (multi-platform images), at most a few levels. */
	for (int depth = 0; desc; depth++) {
		struct json_object *next = NULL;

		hex = digest_hex(desc);
		if (!hex)
			return kn_error_setx(err, EINVAL, "%s: a descriptor without a sha256 digest", index_path);
		r = verified_blob(dir, hex, NULL, &next, err);
		if (r < 0)
			return r;
		if (!is_index(next)) {
			manifest = next;
			memcpy(img->manifest_hex, hex, 65);
			break;
		}
		if (depth > 3) {
			json_object_put(next);
			return kn_error_setx(err, ELOOP, "%s: indexes nested too deep", dir);
		}
		json_object_put(index);
		index = next;
		desc = pick(index, NULL, "a nested index", err);
	}
	if (!manifest)
		return -err->code;
	if (!json_object_object_get_ex(manifest, "layers", &layers) || !json_object_is_type(layers, json_type_array))
		return kn_error_setx(err, EINVAL, "manifest sha256:%s: no layers[]", img->manifest_hex);
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		struct json_object *l = json_object_array_get_idx(layers, i);
		char *path = NULL;

		hex = digest_hex(l);
		if (!hex) {
			kn_oci_image_free(img);
			return kn_error_setx(err, EINVAL, "manifest sha256:%s: layers[%zu] has no sha256 digest", img->manifest_hex, i);
		}
		if (json_object_object_get_ex(l, "mediaType", &v) && strstr(json_object_get_string(v), "nondistributable") == NULL &&
		    !strstr(json_object_get_string(v), "tar")) {
			kn_oci_image_free(img);
			return kn_error_setx(err, ENOTSUP, "layers[%zu]: media type %s is not a tar layer", i, json_object_get_string(v));
		}
		r = verified_blob(dir, hex, &path, NULL, err);
		if (r < 0) {
			kn_oci_image_free(img);
			return kn_error_wrap(err, "layers[%zu]", i);
		}
		kn_strv_append(&img->layers, path);
		kn_strv_append(&img->layer_hex, hex);
		free(path);
		img->n_layers++;
	}
	if (img->n_layers == 0)
		return kn_error_setx(err, EINVAL, "manifest sha256:%s: no layers", img->manifest_hex);
	return 0;
}

static int open_beneath(int tree_fd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (!*path)
		path = ".";
	fd = (int) syscall(SYS_openat2, tree_fd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

int kn_oci_apply_whiteouts(const char *layer_path, int tree_fd, kn_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r = 0, ar;

	if (!a)
		return kn_error_set(err, ENOMEM, "libarchive");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (archive_read_open_filename(a, layer_path, 1 << 20) != ARCHIVE_OK) {
		r = kn_error_setx(err, EINVAL, "%s: %s", layer_path, archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *raw = archive_entry_pathname(e);
		char buf[4096];
		const char *path, *base;
		_cleanup_free_ char *parent = NULL;
		_cleanup_close_ int pfd = -1;

		if (!raw || kn_unpack_check_path(raw, buf, sizeof(buf), &path, err) < 0) {
			if (!raw)
				continue;
			r = -err->code;
			goto out;
		}
		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (strncmp(base, ".wh.", 4) != 0)
			continue;
		parent = kn_xstrdup(path);
		parent[base - path] = '\0';
		pfd = open_beneath(tree_fd, parent);
		if (pfd == -ENOENT)
			continue; /* nothing below to hide */
		if (pfd < 0) {
			r = kn_error_set(err, -pfd, "whiteout %s", path);
			goto out;
		}
		if (!strcmp(base, ".wh..wh..opq"))
			ar = kn_rm_children(pfd); /* the lower layers' content */
		else
			ar = kn_rm_rf_at(pfd, base + 4);
		if (ar < 0) {
			r = kn_error_set(err, -ar, "whiteout %s", path);
			goto out;
		}
	}
	if (ar != ARCHIVE_EOF)
		r = kn_error_setx(err, EINVAL, "%s: %s", layer_path, archive_error_string(a));
out:
	archive_read_free(a);
	return r;
}
