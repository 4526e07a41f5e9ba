/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The egress benchmark's server and client (scripts/bench/egress builds it
 * static, so the same binary runs on the host and inside the sandbox).
 *
 *   netbench serve ADDR PORT          serve until killed: each connection sends one
 *                                     command byte: 'B' + 8-byte big-endian N: receive N
 *                                     bytes of zeros, then EOF; 'E': echo every byte back
 *   netbench bulk ADDR PORT BYTES     one 'B' download; prints "bulk BYTES SECONDS MB/s"
 *   netbench latency ADDR PORT N      N times: connect, 'E', send 1 byte, receive it,
 *                                     close; prints "latency N p50_us p99_us"
 *   netbench hold ADDR PORT N         N connections at once, each echoes 1 byte, all held
 *                                     open, then one more round trip on each; prints
 *                                     "hold N ok SECONDS"
 * Exit: 0 when every operation worked, 1 otherwise (with a message).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "netbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in addr_of(const char *a, const char *p)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(p)) };

	if (inet_pton(AF_INET, a, &in.sin_addr) != 1) {
		fprintf(stderr, "netbench: bad address %s\n", a);
		exit(2);
	}
	return in;
}

static int dial(const struct sockaddr_in *in)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		die("socket");
	if (connect(fd, (const struct sockaddr *) in, sizeof(*in)) < 0)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void full_write(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		n -= (size_t) w;
	}
}

static void full_read(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r == 0) {
			fprintf(stderr, "netbench: unexpected EOF\n");
			exit(1);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		p += r;
		n -= (size_t) r;
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* --- server: one thread, epoll, one state per connection --- */
struct sconn {
	int fd;
	int mode; /* 0: reading the command, 'B', 'E' */
	uint8_t hdr[9];
	size_t hdr_len;
	uint64_t left;
};

static char zeros[1 << 20];

static void serve_conn(int ep, struct sconn *c)
{
	for (;;) {
		if (c->mode == 0) {
			ssize_t r = read(c->fd, c->hdr + c->hdr_len, c->hdr_len == 0 ? 1 : 9 - c->hdr_len);

			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					return;
				goto done;
			}
			c->hdr_len += (size_t) r;
			if (c->hdr[0] == 'E') {
				c->mode = 'E';
			} else if (c->hdr[0] == 'B' && c->hdr_len == 9) {
				c->mode = 'B';
				c->left = 0;
				for (int i = 1; i < 9; i++)
					c->left = c->left << 8 | c->hdr[i];
			} else if (c->hdr[0] != 'B') {
				goto done;
			}
		} else if (c->mode == 'E') {
			char buf[4096];
			ssize_t r = read(c->fd, buf, sizeof(buf));

			if (r == 0)
				goto done;
			if (r < 0) {
				if (errno == EAGAIN)
					return;
				goto done;
			}
			full_write(c->fd, buf, (size_t) r);
		} else {
			while (c->left) {
				size_t n = c->left < sizeof(zeros) ? (size_t) c->left : sizeof(zeros);
				ssize_t w = write(c->fd, zeros, n);

				if (w < 0) {
					if (errno == EAGAIN) {
						struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };

						epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
						return;
					}
					goto done;
				}
				c->left -= (uint64_t) w;
			}
			goto done;
		}
	}
done:
	close(c->fd);
	free(c);
}

static _Noreturn void cmd_serve(const char *a, const char *p)
{
	struct sockaddr_in in = addr_of(a, p);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	raise_nofile();
	if (l < 0 || ep < 0)
		die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *) &in, sizeof(in)) < 0 || listen(l, 4096) < 0)
		die("bind/listen");
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr) {
				int fd;

				while ((fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct sconn *c = calloc(1, sizeof(*c));
					struct epoll_event cev = { .events = EPOLLIN, .data.ptr = c };

					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				}
			} else {
				serve_conn(ep, evs[i].data.ptr);
			}
		}
	}
}

static int cmd_bulk(const char *a, const char *p, uint64_t bytes)
{
	struct sockaddr_in in = addr_of(a, p);
	static char buf[1 << 20];
	uint8_t hdr[9] = { 'B' };
	uint64_t got = 0;
	double t0 = now(), t;
	int fd = dial(&in);

	for (int i = 0; i < 8; i++)
		hdr[1 + i] = (uint8_t) (bytes >> (56 - 8 * i));
	full_write(fd, hdr, sizeof(hdr));
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read");
		if (r == 0)
			break;
		got += (uint64_t) r;
	}
	t = now() - t0;
	close(fd);
	if (got != bytes) {
		fprintf(stderr, "netbench: received %llu of %llu bytes\n", (unsigned long long) got,
			(unsigned long long) bytes);
		return 1;
	}
	printf("bulk %llu %.4f %.1f\n", (unsigned long long) bytes, t, (double) bytes / t / 1e6);
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *) x, b = *(const double *) y;

	return a < b ? -1 : a > b;
}

static int cmd_latency(const char *a, const char *p, int n)
{
	struct sockaddr_in in = addr_of(a, p);
	double *us = calloc((size_t) n, sizeof(double));

	for (int i = 0; i < n; i++) {
		double t0 = now();
		int fd = dial(&in);
		char b = 'E', back;

		full_write(fd, &b, 1);
		b = 'x';
		full_write(fd, &b, 1);
		full_read(fd, &back, 1);
		us[i] = (now() - t0) * 1e6;
		close(fd);
	}
	qsort(us, (size_t) n, sizeof(double), cmp_double);
	printf("latency %d %.1f %.1f\n", n, us[n / 2], us[(n * 99) / 100]);
	return 0;
}

static int cmd_hold(const char *a, const char *p, int n)
{
	struct sockaddr_in in = addr_of(a, p);
	int *fds = calloc((size_t) n, sizeof(int));
	double t0 = now();

	raise_nofile();
	for (int i = 0; i < n; i++) {
		char b = 'E', back;

		fds[i] = dial(&in);
		full_write(fds[i], &b, 1);
		b = 'x';
		full_write(fds[i], &b, 1);
		full_read(fds[i], &back, 1);
	}
	/* all n are open at once: one more round trip on each */
	for (int i = 0; i < n; i++) {
		char b = 'y', back;

		full_write(fds[i], &b, 1);
		full_read(fds[i], &back, 1);
		if (back != 'y') {
			fprintf(stderr, "netbench: connection %d echoed the wrong byte\n", i);
			return 1;
		}
	}
	printf("hold %d ok %.3f\n", n, now() - t0);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve"))
		cmd_serve(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "bulk"))
		return cmd_bulk(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "latency"))
		return cmd_latency(argv[2], argv[3], atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: netbench serve|bulk|latency|hold ADDR PORT [N]\n");
	return 2;
}
