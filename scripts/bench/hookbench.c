/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scripts/bench/policy's driver, run inside the sandbox (static):
 *   hookbench SHIM EVENT_FILE N
 * runs `SHIM PreToolUse < EVENT_FILE` N times, as Claude Code would (fork,
 * exec, event on stdin, answer on stdout), and prints
 *   "hook N p50_us p99_us decision"
 * where decision is the permissionDecision of the last answer.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc == 4 ? atoi(argv[3]) : 0;
	double *us;
	char answer[4096] = "";

	if (n <= 0) {
		fprintf(stderr, "usage: hookbench SHIM EVENT_FILE N\n");
		return 2;
	}
	us = calloc((size_t) n, sizeof(double));
	for (int i = 0; i < n; i++) {
		int out[2], status;
		ssize_t got, len = 0;
		double t0 = now_us();
		pid_t pid;

		if (pipe(out) < 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			int in = open(argv[2], O_RDONLY);

			dup2(in, 0);
			dup2(out[1], 1);
			execl(argv[1], argv[1], "PreToolUse", (char *) NULL);
			_exit(127);
		}
		close(out[1]);
		while ((got = read(out[0], answer + len, sizeof(answer) - 1 - (size_t) len)) > 0)
			len += got;
		answer[len] = '\0';
		close(out[0]);
		waitpid(pid, &status, 0);
		us[i] = now_us() - t0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "hookbench: the shim failed\n");
			return 1;
		}
	}
	qsort(us, (size_t) n, sizeof(double), cmp);
	{
		const char *d = strstr(answer, "\"permissionDecision\":\"");

		printf("hook %d %.1f %.1f %.*s\n", n, us[n / 2], us[(n * 99) / 100], d ? (int) strcspn(d + 22, "\"") : 1,
		       d ? d + 22 : "?");
	}
	return 0;
}
