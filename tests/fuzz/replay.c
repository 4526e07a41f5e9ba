/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replays a corpus through a fuzz target, for compilers without libFuzzer
 * (gcc) and as a regression test: every file in the directory named on the
 * command line is one input.  Prints TAP, one line per input; a crash or a
 * sanitizer report fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int main(int argc, char **argv)
{
	char **paths = NULL;
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	if (argc != 2 || !(d = opendir(argv[1]))) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char **grown = realloc(paths, (n + 1) * sizeof(char *));

		if (!grown)
			return 1; /* out of memory in a test tool: exit frees everything */
		paths = grown;
		if (asprintf(&paths[n], "%s/%s", argv[1], e->d_name) < 0)
			return 1;
		n++;
	}
	closedir(d);
	qsort(paths, n, sizeof(char *), cmp);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(paths[i], "rb");
		uint8_t *buf = NULL;
		size_t len = 0, cap = 0, got;

		if (!f) {
			printf("not ok %zu - %s: cannot open\n", i + 1, paths[i]);
			continue;
		}
		do {
			if (len + 4096 > cap) {
				cap = cap ? cap * 2 : 8192;
				uint8_t *grown = realloc(buf, cap);

				if (!grown)
					return 1;
				buf = grown;
			}
			got = fread(buf + len, 1, cap - len, f);
			len += got;
		} while (got > 0);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		printf("ok %zu - replay %s\n", i + 1, paths[i]);
		free(paths[i]);
	}
	free(paths);
	return 0;
}
