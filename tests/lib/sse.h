/* sse.h — a small Server-Sent Events reader for integration tests: GET /v1/events over a
 * plain socket with HTTP/1.0 (no chunked framing), the stream kept in one growing buffer,
 * events taken in order by a cursor.
 *
 * Every wait is bounded. Return convention: 0 / 1 / a count on success, -errno on failure. */
#ifndef TESTS_SSE_H
#define TESTS_SSE_H

#include <stddef.h>

struct sse_cli {
	int fd;
	char *buf;                 /* the stream so far, NUL-terminated */
	size_t len, cap;
	size_t cursor;             /* sse_next_event() looks from here */
	int eof;
};

/* Connects to <host>:<port> (numeric IPv4) and asks for /v1/events with <extra_headers>
 * (NULL or "Name: value\r\n" lines). 0 or -errno. */
int sse_open(struct sse_cli *c, const char *host, int port, const char *extra_headers);

/* Takes what has come, without waiting (a long test keeps the stream flowing): the number
 * of reads, or -1 at its end. */
int sse_drain(struct sse_cli *c);

/* Reads until <want> is in the stream, the end of it, or <ms>. 1 when it is there. */
int sse_read_until(struct sse_cli *c, const char *want, int ms);

/* Reads until the stream holds <n> events (data lines), its end, or <ms>. 1 when it does. */
int sse_wait_events(struct sse_cli *c, int n, int ms);

/* The next event after the cursor whose data has "type":"<type>" and, when <needle> is not
 * NULL, contains <needle>; waits up to <ms> for it. Its data line (JSON) is copied into
 * <out> (<len> bytes, NUL-terminated) and the cursor moves past it (events skipped on the
 * way stay skipped). 0, -ETIMEDOUT, -ENOSPC. */
int sse_next_event(struct sse_cli *c, const char *type, const char *needle, char *out,
		   size_t len, int ms);

void sse_close(struct sse_cli *c);

#endif
