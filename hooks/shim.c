/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kennel-hook: the hook command Claude Code runs inside the sandbox for
 * every hook event (configured by the managed settings kennel generates).
 * It forwards the event to the supervisor outside the sandbox and prints
 * the supervisor's answer (hook_proto.h).  A static binary, libc only.
 *
 *   kennel-hook EVENT [--deadline-ms N] [--socket PATH]
 *
 * It fails closed: when no valid answer arrives within its deadline
 * (shorter than the hook timeout in the settings: Claude Code treats a
 * hook that times out or crashes as "no decision", i.e. it would proceed),
 * a PreToolUse or PermissionRequest event is denied; other events get no
 * output.  It always exits 0, so Claude Code reads the JSON it printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hook_proto.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
	int64_t l = deadline - now_ms();

	return l < 0 ? 0 : (int) l;
}

/* The event name goes into JSON: only letters are expected; anything else is dropped. */
static void clean_name(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in && n + 1 < cap; in++)
		if ((*in >= 'A' && *in <= 'Z') || (*in >= 'a' && *in <= 'z'))
			out[n++] = *in;
	out[n] = '\0';
}

static void json_escape(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in && n + 7 < cap; in++) {
		unsigned char c = (unsigned char) *in;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char) c;
		} else if (c < 0x20) {
			n += (size_t) snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char) c;
		}
	}
	out[n] = '\0';
}

static _Noreturn void fail_closed(const char *event, const char *why)
{
	bool decides = !strcmp(event, "PreToolUse") || !strcmp(event, "PermissionRequest");
	char reason[512], esc[1024];

	snprintf(reason, sizeof(reason), "kennel: no answer from the policy supervisor (%s): %s", why,
		 decides ? "denied" : "event not recorded");
	fprintf(stderr, "%s\n", reason);
	json_escape(reason, esc, sizeof(esc));
	if (!strcmp(event, "PreToolUse"))
		printf("{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"deny\","
		       "\"permissionDecisionReason\":\"%s\"}}\n",
		       esc);
	else if (!strcmp(event, "PermissionRequest"))
		printf("{\"hookSpecificOutput\":{\"hookEventName\":\"PermissionRequest\",\"decision\":{\"behavior\":\"deny\","
		       "\"message\":\"%s\"}}}\n",
		       esc);
	fflush(stdout);
	exit(0);
}

/* Read all of @fd (up to @cap bytes) before @deadline. Return: bytes read, or -1 (errno set; E2BIG when more than @cap). */
static ssize_t read_all(int fd, uint8_t *buf, size_t cap, int64_t deadline)
{
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		int pr = poll(&p, 1, left_ms(deadline));

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			errno = pr == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return (ssize_t) n;
		n += (size_t) r;
		if (n == cap) {
			/* one more byte would be too many */
			uint8_t extra;

			if (read(fd, &extra, 1) > 0) {
				errno = E2BIG;
				return -1;
			}
			return (ssize_t) n;
		}
	}
}

static int write_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t w;
		int pr = poll(&p, 1, left_ms(deadline));

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			errno = pr == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		w = send(fd, buf, len, MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t) w;
	}
	return 0;
}

/* Exactly @len bytes before @deadline. Return: 0, or -1 with errno (EPROTO on a short answer). */
static int read_exact(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		int pr = poll(&p, 1, left_ms(deadline));

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			errno = pr == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		r = recv(fd, buf, len, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			errno = r == 0 ? EPROTO : errno;
			return -1;
		}
		buf += r;
		len -= (size_t) r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock_path = KN_HOOK_SOCKET;
	long deadline_ms = KN_HOOK_DEADLINE_MS;
	static uint8_t event[KN_HOOK_MAX_EVENT + 4];
	static uint8_t answer[KN_HOOK_MAX_ANSWER + 1];
	char name[64], why[256];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int64_t deadline;
	ssize_t n;
	uint32_t alen;
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: kennel-hook EVENT [--deadline-ms N] [--socket PATH]\n");
		return 2;
	}
	clean_name(argv[1], name, sizeof(name));
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--deadline-ms"))
			deadline_ms = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--socket"))
			sock_path = argv[i + 1];
	}
	if (deadline_ms <= 0 || deadline_ms > 600000)
		deadline_ms = KN_HOOK_DEADLINE_MS;
	deadline = now_ms() + deadline_ms;

	n = read_all(STDIN_FILENO, event + 4, KN_HOOK_MAX_EVENT, deadline);
	if (n < 0) {
		snprintf(why, sizeof(why), "reading the event: %s", errno == E2BIG ? "larger than 1 MiB" : strerror(errno));
		fail_closed(name, why);
	}
	kn_hook_put_len(event, (uint32_t) n);

	if (strlen(sock_path) >= sizeof(sa.sun_path))
		fail_closed(name, "socket path too long");
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		fail_closed(name, strerror(errno));
	while (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
		if (errno == EAGAIN && left_ms(deadline) > 0) {
			struct timespec nap = { 0, 5000000 };

			nanosleep(&nap, NULL); /* the supervisor's backlog is full: retry until the deadline */
			continue;
		}
		snprintf(why, sizeof(why), "connect %s: %s", sock_path, strerror(errno));
		fail_closed(name, why);
	}
	/* The supervisor lives outside our pid namespace, where the kernel reports its pid as 0. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.pid != 0) {
		snprintf(why, sizeof(why), "the server on %s runs inside the sandbox (pid %d), not the supervisor", sock_path,
			 (int) cred.pid);
		fail_closed(name, why);
	}
	if (write_all(fd, event, (size_t) n + 4, deadline) < 0) {
		snprintf(why, sizeof(why), "sending the event: %s", strerror(errno));
		fail_closed(name, why);
	}
	shutdown(fd, SHUT_WR);
	if (read_exact(fd, answer, 4, deadline) < 0) {
		snprintf(why, sizeof(why), "%s", errno == ETIMEDOUT ? "timed out" : strerror(errno));
		fail_closed(name, why);
	}
	alen = kn_hook_get_len(answer);
	if (alen > KN_HOOK_MAX_ANSWER)
		fail_closed(name, "an answer over 64 KiB");
	if (read_exact(fd, answer, alen, deadline) < 0) {
		snprintf(why, sizeof(why), "%s", errno == ETIMEDOUT ? "timed out" : strerror(errno));
		fail_closed(name, why);
	}
	close(fd);
	if (alen && (fwrite(answer, 1, alen, stdout) != alen || fflush(stdout) != 0))
		return 1;
	return 0;
}
