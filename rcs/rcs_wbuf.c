/* rcs_wbuf.c — the counting output buffer of the rcs/ text writers (see rcs_wbuf.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rcs/rcs_wbuf.h"
#include "sip/sip_hdr.h"

void rcs_wbuf_init(struct rcs_wbuf *w, char *p, size_t cap)
{
	w->p = p;
	w->cap = p ? cap : 0;
	w->len = 0;
}

void rcs_wbuf_put(struct rcs_wbuf *w, const char *s, size_t n)
{
	/* copied only while the text so far fits: once something was cut, the rest is counted */
	if (n && w->len < w->cap && n < w->cap - w->len)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

void rcs_wbuf_str(struct rcs_wbuf *w, const char *s)
{
	rcs_wbuf_put(w, s, strlen(s));
}

void rcs_wbuf_pct(struct rcs_wbuf *w, unsigned char c)
{
	static const char hx[16] = "0123456789ABCDEF";
	char e[3] = { '%', hx[c >> 4], hx[c & 15] };

	rcs_wbuf_put(w, e, sizeof(e));
}

void rcs_wbuf_u64(struct rcs_wbuf *w, unsigned long long v)
{
	char d[24];
	int n = snprintf(d, sizeof(d), "%llu", v);

	rcs_wbuf_put(w, d, (size_t)n);
}

long rcs_wbuf_end(struct rcs_wbuf *w)
{
	if (!w->p)
		return (long)w->len;
	if (w->len < w->cap) {
		w->p[w->len] = '\0';
		return (long)w->len;
	}
	if (w->cap)
		w->p[0] = '\0';
	return -ENOSPC;
}

int rcs_hexval(char c)
{
	if (!sip_cis(c, SIP_C_HEX))
		return -1;
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
