/* bench_http.h — the bench tools' reader of HTTP/1.1 answers from rcsgw's REST API.
 *
 * Deliberately small: one answer at a time from the start of a buffer, framed by
 * Content-Length only (a chunked answer is refused), no header kept but the status and
 * whether the connection closes after it. Independent of api/: the generator does not read
 * rcsgw with rcsgw's own code. */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <stdint.h>

struct bench_http_ans {
	int status;
	int close;                 /* Connection: close, or HTTP/1.0: the server closes after it */
	const char *body;          /* into the caller's buffer, not NUL-terminated */
	uint32_t body_len;
	uint32_t total;            /* bytes of the whole answer, head and body */
};

/* One answer at the start of <p>[0, <len>), of at most <cap> bytes in all. 1: complete,
 * <a> filled (pointers into <p>); 0: more bytes needed; -1: not an answer this reader
 * takes (malformed status line, no Content-Length on an answer that has a body, chunked,
 * or longer than <cap>). */
int bench_http_parse(const char *p, uint32_t len, uint32_t cap, struct bench_http_ans *a);

#endif
