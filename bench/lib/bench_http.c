/* bench_http.c — see bench_http.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench/lib/bench_http.h"

int bench_http_parse(const char *p, uint32_t len, uint32_t cap, struct bench_http_ans *a)
{
	const char *end = memmem(p, len, "\r\n\r\n", 4);
	if (!end)
		return len >= cap ? -1 : 0;
	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || p[9] < '1' || p[9] > '5' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9')
		return -1;
	a->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	a->close = p[7] == '0'; /* HTTP/1.0 closes */
	long clen = -1;
	const char *h = memchr(p, '\n', (size_t)(end - p)) + 1;
	while (h < end) {
		const char *nl = memchr(h, '\r', (size_t)(end + 2 - h));
		size_t n = (size_t)(nl - h);
		if (n > 15 && strncasecmp(h, "content-length:", 15) == 0)
			clen = strtol(h + 15, NULL, 10);
		else if (n > 18 && strncasecmp(h, "transfer-encoding:", 18) == 0)
			return -1;
		else if (n > 11 && strncasecmp(h, "connection:", 11) == 0 &&
			 memmem(h + 11, n - 11, "close", 5))
			a->close = 1;
		h = nl + 2;
	}
	uint32_t head = (uint32_t)(end + 4 - p);
	if (a->status == 204 || a->status == 304 || a->status < 200)
		clen = 0;
	if (clen < 0 || clen > cap)
		return -1;
	if (len - head < (uint32_t)clen)
		return head + (uint32_t)clen > cap ? -1 : 0;
	a->body = p + head;
	a->body_len = (uint32_t)clen;
	a->total = head + (uint32_t)clen;
	return 1;
}
