/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "digest.h"

struct sink {
	int fd;
	kn_sha256 *hash;
	uint64_t bytes;
	int write_errno;
	bool progress;
	int last_pct;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t len = size * nmemb;

	kn_sha256_update(s->hash, ptr, len);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(s->fd, ptr + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->write_errno = errno;
			return 0; /* makes curl fail with CURLE_WRITE_ERROR */
		}
		off += (size_t) w;
	}
	s->bytes += len;
	return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct sink *s = userdata;
	int pct;

	(void) ultotal;
	(void) ulnow;
	if (!s->progress || dltotal <= 0)
		return 0;
	pct = (int) (dlnow * 100 / dltotal);
	if (pct != s->last_pct) {
		int bar = pct / 4;

		fprintf(stderr, "\r  [%-25.*s] %3d%%  %lld/%lld MiB", bar, "#########################", pct,
			(long long) (dlnow >> 20), (long long) (dltotal >> 20));
		s->last_pct = pct;
	}
	return 0;
}

int kn_fetch_url(const char *url, int out_fd, bool progress, char hex[65], uint64_t *bytes, kn_error *err)
{
	struct sink s = { .fd = out_fd, .progress = progress, .last_pct = -1 };
	char curl_err[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;
	long status = 0;
	int r = 0;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8) && strncmp(url, "file://", 7))
		return kn_error_setx(err, EINVAL, "%s: only http://, https:// and file:// URLs are fetched", url);
	s.hash = kn_sha256_new();
	if (!s.hash)
		return kn_error_set(err, ENOMEM, "fetch %s", url);
	c = curl_easy_init();
	if (!c) {
		kn_sha256_free(s.hash);
		return kn_error_setx(err, ENOMEM, "fetch %s: cannot initialise libcurl", url);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	/* never let a redirect turn into file:// or anything but http(s) */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* give up on a stalled transfer: under 1 KiB/s for 60 s */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kennel/" KENNEL_VERSION);
	if (progress) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);
	}
	rc = curl_easy_perform(c);
	if (progress && s.last_pct >= 0)
		fputc('\n', stderr);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		if (s.write_errno)
			r = kn_error_set(err, s.write_errno, "fetch %s: write", url);
		else if (rc == CURLE_HTTP_RETURNED_ERROR)
			r = kn_error_setx(err, EIO, "fetch %s: the server answered HTTP %ld", url, status);
		else
			r = kn_error_setx(err, EIO, "fetch %s: %s", url, curl_err[0] ? curl_err : curl_easy_strerror(rc));
		kn_sha256_free(s.hash);
	} else {
		kn_sha256_final(s.hash, hex);
		if (bytes)
			*bytes = s.bytes;
	}
	curl_easy_cleanup(c);
	return r;
}
