/* sse.c — the Server-Sent Events reader of the integration tests (see sse.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/sse.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sse_open(struct sse_cli *c, const char *host, int port, const char *extra_headers)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[1024];
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -EINVAL;
	c->cap = 1 << 16;
	if (!(c->buf = calloc(1, c->cap)))
		return -ENOMEM;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -errno;
	int n = snprintf(req, sizeof(req), "GET /v1/events HTTP/1.0\r\nHost: %s\r\n%s\r\n", host,
			 extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof(req) || write(c->fd, req, (size_t)n) != n)
		return -EIO;
	return 0;
}

/* One read (waiting up to <ms>): 1 when bytes came, 0 on timeout, -1 at the end. */
static int read_some(struct sse_cli *c, int ms)
{
	struct pollfd p = { c->fd, POLLIN, 0 };
	if (c->eof)
		return -1;
	if (poll(&p, 1, ms < 0 ? 0 : ms) <= 0)
		return 0;
	if (c->len + 4096 + 1 > c->cap) {
		char *b = realloc(c->buf, c->cap * 2);
		if (!b)
			return -1;
		c->buf = b;
		c->cap *= 2;
	}
	ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
	if (n <= 0) {
		c->eof = 1;
		return -1;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return 1;
}

int sse_drain(struct sse_cli *c)
{
	int n = 0, rc;
	while ((rc = read_some(c, 0)) > 0)
		n++;
	return rc < 0 && !n ? -1 : n;
}

int sse_read_until(struct sse_cli *c, const char *want, int ms)
{
	long long until = now_ms() + ms;
	while (!strstr(c->buf, want))
		if (read_some(c, (int)(until - now_ms())) <= 0 && (c->eof || now_ms() >= until))
			return 0;
	return 1;
}

int sse_wait_events(struct sse_cli *c, int n, int ms)
{
	long long until = now_ms() + ms;
	for (;;) {
		int k = 0;
		for (const char *p = c->buf; (p = strstr(p, "\ndata: ")); p++)
			k++;
		if (k >= n)
			return 1;
		if (read_some(c, (int)(until - now_ms())) < 0 || now_ms() >= until)
			return 0;
	}
}

int sse_next_event(struct sse_cli *c, const char *type, const char *needle, char *out,
		   size_t len, int ms)
{
	long long until = now_ms() + ms;
	char tkey[128];
	snprintf(tkey, sizeof(tkey), "\"type\":\"%s\"", type);
	for (;;) {
		const char *p = c->buf + c->cursor;
		while ((p = strstr(p, "\ndata: "))) {
			const char *d = p + 7, *e = strchr(d, '\n');
			if (!e)
				break; /* a line still coming */
			size_t n = (size_t)(e - d);
			char *line = strndup(d, n);
			int hit = line && strstr(line, tkey) && (!needle || strstr(line, needle));
			free(line);
			if (hit) {
				if (n + 1 > len)
					return -ENOSPC;
				memcpy(out, d, n);
				out[n] = '\0';
				c->cursor = (size_t)(e - c->buf);
				return 0;
			}
			p = e;
		}
		if (now_ms() >= until)
			return -ETIMEDOUT;
		if (read_some(c, (int)(until - now_ms())) < 0 && c->eof)
			return -ETIMEDOUT;
	}
}

void sse_close(struct sse_cli *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->buf = NULL;
	c->fd = -1;
}
