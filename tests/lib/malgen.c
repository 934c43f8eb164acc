/* malgen.c — malformed frames from valid templates (see malgen.h). The text protocols (MSRP,
 * SIP, HTTP, CPIM) share one model: a start line, up to MAXH headers, a body, and for MSRP the
 * end line; a mutation edits the model or says how to write it (line ends, an extra big line,
 * a flood, a big body, a cut). WebSocket and Diameter frames are written byte by byte. */
#include "tests/lib/malgen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAXH 24
#define VLEN 640
#define BLEN 2048

struct tmsg {
	enum mg_proto proto;
	char start[VLEN];
	int nh;
	char hn[MAXH][48];
	char hv[MAXH][VLEN];
	uint8_t body[BLEN];
	size_t blen;
	char tid[40];
	char flag;              /* MSRP end line's '$' '+' '#' */
	int auto_cl;            /* SIP/HTTP: write a Content-Length of the real body */
	int eol;                /* 0 CRLF, 1 LF, 2 CR, 3 CRCRLF, 4 mixed */
	int lead_blank;         /* blank lines before the start line */
	size_t big_line;        /* an X-Big header line of this many bytes */
	int flood;              /* this many extra headers */
	int flood_same;         /* ... all with the same name */
	size_t big_body;        /* a body of this many bytes instead */
	int no_end;             /* MSRP: no end line (the frame goes on) */
	size_t pad_len;         /* pad_lines header lines of pad_len bytes */
	int pad_lines;
};

/* ---- random ------------------------------------------------------------------------------- */

uint32_t mg_rand(struct malgen *g)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return (uint32_t)((g->s * 0x2545F4914F6CDD1DULL) >> 32);
}

uint32_t mg_below(struct malgen *g, uint32_t n)
{
	return n ? mg_rand(g) % n : 0;
}

void mg_init(struct malgen *g, uint64_t seed, const struct mg_limits *lim, const char *host)
{
	memset(g, 0, sizeof(*g));
	g->s = seed ? seed : 0x9E3779B97F4A7C15ULL;
	g->lim = *lim;
	snprintf(g->host, sizeof(g->host), "%s", host);
}

static const char *const kind_names[MG_KINDS] = {
	"truncate", "over_line", "over_head", "over_body", "bad_length", "bad_utf8", "ctrl",
	"flood", "repeat", "bad_start", "bad_number", "missing", "crlf",
};

const char *mg_kind_name(enum mg_kind k)
{
	return (unsigned)k < MG_KINDS ? kind_names[k] : "?";
}

/* ---- frame buffer ------------------------------------------------------------------------- */

static int fr_reserve(struct mg_frame *f, size_t more)
{
	if (f->len + more <= f->cap)
		return 0;
	size_t cap = f->cap ? f->cap : 4096;
	while (cap < f->len + more)
		cap *= 2;
	uint8_t *p = realloc(f->p, cap);
	if (!p)
		return -ENOMEM;
	f->p = p;
	f->cap = cap;
	return 0;
}

static int fr_put(struct mg_frame *f, const void *p, size_t n)
{
	if (fr_reserve(f, n))
		return -ENOMEM;
	memcpy(f->p + f->len, p, n);
	f->len += n;
	return 0;
}

static int fr_str(struct mg_frame *f, const char *s)
{
	return fr_put(f, s, strlen(s));
}

static int fr_fill(struct mg_frame *f, int c, size_t n)
{
	if (fr_reserve(f, n))
		return -ENOMEM;
	memset(f->p + f->len, c, n);
	f->len += n;
	return 0;
}

void mg_frame_free(struct mg_frame *f)
{
	free(f->p);
	memset(f, 0, sizeof(*f));
}

int mg_frame_set(struct mg_frame *f, const void *p, size_t n)
{
	f->len = 0;
	f->incomplete = 0;
	return fr_put(f, p, n);
}

static void fr_reset(struct mg_frame *f, enum mg_kind k, int variant)
{
	f->len = 0;
	f->kind = k;
	f->variant = variant;
	f->incomplete = 0;
	f->id[0] = 0;
}

/* ---- the text model ----------------------------------------------------------------------- */

static void t_hdr(struct tmsg *t, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void t_hdr(struct tmsg *t, const char *name, const char *fmt, ...)
{
	if (t->nh >= MAXH)
		return;
	va_list ap;
	va_start(ap, fmt);
	snprintf(t->hn[t->nh], sizeof(t->hn[0]), "%s", name);
	vsnprintf(t->hv[t->nh], VLEN, fmt, ap);
	va_end(ap);
	t->nh++;
}

static void t_body(struct tmsg *t, const char *s)
{
	t->blen = strlen(s);
	if (t->blen > BLEN)
		t->blen = BLEN;
	memcpy(t->body, s, t->blen);
}

static int t_find(const struct tmsg *t, const char *name)
{
	for (int i = 0; i < t->nh; i++)
		if (!strcasecmp(t->hn[i], name))
			return i;
	return -1;
}

static void t_drop(struct tmsg *t, int i)
{
	if (i < 0 || i >= t->nh)
		return;
	memmove(t->hn[i], t->hn[i + 1], sizeof(t->hn[0]) * (size_t)(t->nh - i - 1));
	memmove(t->hv[i], t->hv[i + 1], sizeof(t->hv[0]) * (size_t)(t->nh - i - 1));
	t->nh--;
}

static void rand_token(struct malgen *g, char *out, size_t n)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	for (size_t i = 0; i + 1 < n; i++)
		out[i] = al[mg_below(g, sizeof(al) - 1)];
	out[n - 1] = 0;
}

static const char *cpim_inner[] = {
	"Content-Type: text/plain;charset=utf-8\r\nContent-Length: 5\r\n\r\nhello",
	"Content-Type: message/imdn+xml\r\nContent-Disposition: notification\r\n\r\n"
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">"
	"<message-id>m1</message-id><datetime>2026-11-27T10:00:00Z</datetime>"
	"<delivery-notification><status><delivered/></status></delivery-notification></imdn>",
	"Content-Type: application/im-iscomposing+xml\r\n\r\n"
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<isComposing xmlns=\"urn:ietf:params:xml:ns:"
	"im-iscomposing\"><state>active</state><contenttype>text/plain</contenttype>"
	"<refresh>60</refresh></isComposing>",
};

/* The CPIM body (RFC 3862, RFC 5438's IMDN headers) into <t>'s headers and body. */
static void tpl_cpim(struct malgen *g, struct tmsg *t)
{
	t->proto = MG_CPIM;
	t->start[0] = 0;
	t_hdr(t, "From", "<sip:fz@127.0.0.1>");
	t_hdr(t, "To", "<sip:bob@127.0.0.1>");
	t_hdr(t, "DateTime", "2026-11-27T10:00:%02uZ", mg_below(g, 60));
	t_hdr(t, "NS", "imdn <urn:ietf:params:imdn>");
	t_hdr(t, "imdn.Message-ID", "cp%lu", g->seq);
	t_hdr(t, "imdn.Disposition-Notification", "positive-delivery, display");
	t_body(t, cpim_inner[mg_below(g, 3)]);
}

static void tpl_msrp(struct malgen *g, struct tmsg *t)
{
	t->proto = MG_MSRP;
	rand_token(g, t->tid, 9 + mg_below(g, 8));
	t->flag = '$';
	char to[256];
	if (g->path_to[0])
		snprintf(to, sizeof(to), "%s", g->path_to);
	else
		snprintf(to, sizeof(to), "msrp://%s/s%lu;tcp", g->host, g->seq % 97);
	const char *from = g->path_from[0] ? g->path_from : "msrp://127.0.0.1:9/fuzzer;tcp";
	switch (mg_below(g, 4)) {
	case 0: /* AUTH to the relay */
		snprintf(t->start, VLEN, "MSRP %s AUTH", t->tid);
		t_hdr(t, "To-Path", "msrp://%s;tcp", g->host);
		t_hdr(t, "From-Path", "%s", from);
		if (mg_below(g, 2))
			t_hdr(t, "Authorization",
			      "Digest username=\"u\", realm=\"rcsgw\", nonce=\"n%lu\", "
			      "uri=\"msrp://%s;tcp\", response=\"00112233445566778899aabbccddeeff\"",
			      g->seq, g->host);
		break;
	case 1: /* a CPIM SEND */
		snprintf(t->start, VLEN, "MSRP %s SEND", t->tid);
		t_hdr(t, "To-Path", "%s", to);
		t_hdr(t, "From-Path", "%s", from);
		t_hdr(t, "Message-ID", "m%lu", g->seq);
		t_hdr(t, "Byte-Range", "1-%zu/%zu", (size_t)0, (size_t)0); /* set below */
		t_hdr(t, "Content-Type", "message/cpim");
		{
			struct tmsg c = { 0 };
			tpl_cpim(g, &c);
			size_t n = 0;
			for (int i = 0; i < c.nh; i++)
				n += (size_t)snprintf((char *)t->body + n, BLEN - n, "%s: %s\r\n",
						      c.hn[i], c.hv[i]);
			n += (size_t)snprintf((char *)t->body + n, BLEN - n, "\r\n");
			memcpy(t->body + n, c.body, c.blen < BLEN - n ? c.blen : BLEN - n);
			t->blen = n + (c.blen < BLEN - n ? c.blen : BLEN - n);
		}
		break;
	default: /* a plain SEND, sometimes a chunk of a larger message */
		snprintf(t->start, VLEN, "MSRP %s SEND", t->tid);
		t_hdr(t, "To-Path", "%s", to);
		t_hdr(t, "From-Path", "%s", from);
		t_hdr(t, "Message-ID", "m%lu", g->seq);
		t_hdr(t, "Success-Report", "no");
		t_hdr(t, "Byte-Range", "1-0/0");
		t_hdr(t, "Content-Type", "text/plain");
		t_body(t, mg_below(g, 2) ? "hello there" : "\xc3\xa9t\xc3\xa9 \xe2\x82\xac");
		break;
	}
	int br = t_find(t, "Byte-Range");
	if (br >= 0)
		snprintf(t->hv[br], VLEN, "1-%zu/%zu", t->blen, t->blen);
}

static void tpl_sip(struct malgen *g, struct tmsg *t, const char *transport)
{
	t->proto = MG_SIP;
	t->auto_cl = 1;
	const char *m;
	switch (mg_below(g, 3)) {
	case 0:
		m = "OPTIONS";
		break;
	case 1:
		m = "INVITE";
		break;
	default:
		m = "MESSAGE";
		break;
	}
	snprintf(t->start, VLEN, "%s sip:bob@%s SIP/2.0", m, g->host);
	t_hdr(t, "Via", "SIP/2.0/%s %s;rport;branch=z9hG4bK%lu%u", transport,
	      g->via[0] ? g->via : "127.0.0.1:9", g->seq, mg_rand(g));
	t_hdr(t, "Max-Forwards", "70");
	t_hdr(t, "From", "<sip:fz@127.0.0.1>;tag=f%lu", g->seq);
	t_hdr(t, "To", "<sip:bob@%s>", g->host);
	t_hdr(t, "Call-ID", "%lu-%u@fuzz", g->seq, mg_rand(g));
	t_hdr(t, "CSeq", "%u %s", 1 + mg_below(g, 1000), m);
	if (!strcmp(m, "INVITE")) {
		t_hdr(t, "Contact", "<sip:fz@127.0.0.1:9>");
		t_hdr(t, "Content-Type", "application/sdp");
		t_body(t, "v=0\r\no=fz 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
			  "t=0 0\r\nm=message 9 TCP/MSRP *\r\na=accept-types:message/cpim text/plain\r\n"
			  "a=path:msrp://127.0.0.1:9/fz;tcp\r\n");
	} else if (!strcmp(m, "MESSAGE")) {
		t_hdr(t, "Content-Type", "text/plain");
		t_body(t, "hi \xe2\x98\x83");
	}
	snprintf(t->tid, sizeof(t->tid), "%.39s", t->hv[t_find(t, "Call-ID")]);
}

static void tpl_http(struct malgen *g, struct tmsg *t)
{
	t->proto = MG_HTTP;
	t->auto_cl = 1;
	switch (mg_below(g, 3)) {
	case 0:
		snprintf(t->start, VLEN, "GET /v1/status HTTP/1.1");
		t_hdr(t, "Host", "%s", g->host);
		t->auto_cl = 0;
		break;
	case 1:
		snprintf(t->start, VLEN, "POST /v1/sessions/nosuch%lu/messages HTTP/1.1", g->seq);
		t_hdr(t, "Host", "%s", g->host);
		t_hdr(t, "Content-Type", "application/json");
		t_body(t, "{\"content_type\":\"text/plain\",\"body\":\"h\xc3\xa9llo\"}");
		break;
	default:
		snprintf(t->start, VLEN, "POST /v1/sessions HTTP/1.1");
		t_hdr(t, "Host", "%s", g->host);
		t_hdr(t, "Content-Type", "application/json");
		/* "to" is no SIP URI: a valid one is refused 400 without a call going out */
		t_body(t, "{\"from\":\"sip:bot@127.0.0.1\",\"to\":\"tel:not-a-sip-uri\","
			  "\"subject\":\"\xe2\x82\xac\"}");
		break;
	}
	snprintf(t->tid, sizeof(t->tid), "h%lu", g->seq);
}

static const char *eol_of(const struct tmsg *t, size_t line)
{
	static const char *const e[] = { "\r\n", "\n", "\r", "\r\r\n" };
	if (t->eol == 4)
		return e[(line * 7 + 3) % 4];
	return e[t->eol];
}

/* Writes <t> into <f> as its protocol frames it. */
static int t_write(struct malgen *g, const struct tmsg *t, struct mg_frame *f)
{
	size_t ln = 0;
	int rc = 0;
	const uint8_t *body = t->body;
	size_t blen = t->blen;
	uint8_t *big = NULL;
	if (t->big_body) {
		big = malloc(t->big_body);
		if (!big)
			return -ENOMEM;
		memset(big, 'x', t->big_body);
		for (size_t i = 64; i < t->big_body; i += 64)
			big[i] = '\n';
		body = big;
		blen = t->big_body;
	}
	for (int i = 0; i < t->lead_blank; i++)
		rc |= fr_str(f, eol_of(t, ln++));
	if (t->proto != MG_CPIM) {
		rc |= fr_str(f, t->start);
		rc |= fr_str(f, eol_of(t, ln++));
	}
	for (int i = 0; i < t->nh; i++) {
		rc |= fr_str(f, t->hn[i]);
		rc |= fr_str(f, ": ");
		rc |= fr_str(f, t->hv[i]);
		rc |= fr_str(f, eol_of(t, ln++));
		if (i == t->nh / 2 && t->big_line) {
			rc |= fr_str(f, "X-Big: ");
			rc |= fr_fill(f, 'a' + (int)(g->seq % 26), t->big_line);
			rc |= fr_str(f, eol_of(t, ln++));
		}
		for (int k = 0; i == 0 && k < t->pad_lines; k++) {
			char h[32];
			int n = snprintf(h, sizeof(h), "X-Pad%d: ", k);
			rc |= fr_put(f, h, (size_t)n);
			rc |= fr_fill(f, 'p', t->pad_len);
			rc |= fr_str(f, eol_of(t, ln++));
		}
		if (i == t->nh / 2 && t->flood) {
			char h[64];
			for (int k = 0; k < t->flood; k++) {
				int n = t->flood_same ? snprintf(h, sizeof(h), "%s: %d", t->hn[i], k)
						      : snprintf(h, sizeof(h), "X-F%d: %d", k, k);
				rc |= fr_put(f, h, (size_t)n);
				rc |= fr_str(f, eol_of(t, ln++));
			}
		}
	}
	if (t->auto_cl) {
		char cl[48];
		snprintf(cl, sizeof(cl), "Content-Length: %zu", blen);
		rc |= fr_str(f, cl);
		rc |= fr_str(f, eol_of(t, ln++));
	}
	switch (t->proto) {
	case MG_MSRP:
		if (blen) {
			rc |= fr_str(f, eol_of(t, ln++));
			rc |= fr_put(f, body, blen);
			rc |= fr_str(f, eol_of(t, ln++));
		}
		if (!t->no_end) {
			rc |= fr_str(f, "-------");
			rc |= fr_str(f, t->tid);
			rc |= fr_put(f, &t->flag, 1);
			rc |= fr_str(f, eol_of(t, ln++));
		}
		break;
	default:
		rc |= fr_str(f, eol_of(t, ln++));
		rc |= fr_put(f, body, blen);
		break;
	}
	free(big);
	return rc ? -ENOMEM : 0;
}

/* ---- text mutations ----------------------------------------------------------------------- */

static const char *const bad_utf8[] = {
	"\xc0\x80", "\xff", "\xfe\xfe", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80",
	"\x80\x80", "\xc3", "\xf0\x9f\x98", "\xe0\x80\xaf",
};
static const char *const ctrl[] = {
	"\x00", "\x01", "\x7f", "\r", "\n", "\x1b[0m", "\x00\x00\x00", "\t\x0b\x0c", "\r\n \r\n",
};
static const char *const bad_num[] = {
	"99999999999999999999999", "-1", "12abc", "+5", "0x10", " ", "", "1e9", "18446744073709551616",
	"4294967296", "-0", "1.5", "00000000000000000000000000000000001", "\xef\xbc\x91",
};

/* Puts <ins> (<n> bytes, may hold NULs) into header <i>'s value at a random place. */
static void splice(struct malgen *g, struct tmsg *t, int i, const char *ins, size_t n)
{
	char *v = t->hv[i];
	size_t vl = strnlen(v, VLEN);
	if (vl + n + 1 >= VLEN)
		return;
	size_t at = mg_below(g, (uint32_t)vl + 1);
	memmove(v + at + n, v + at, vl - at + 1);
	memcpy(v + at, ins, n);
	/* a NUL inside: the value is cut there when written (strlen) -- keep the bytes after it
	 * by writing them as the header's name instead is not needed: a cut value is as bad */
}

static void splice_body(struct malgen *g, struct tmsg *t, const char *ins, size_t n)
{
	if (t->blen + n > BLEN)
		return;
	size_t at = mg_below(g, (uint32_t)t->blen + 1);
	memmove(t->body + at + n, t->body + at, t->blen - at);
	memcpy(t->body + at, ins, n);
	t->blen += n;
}

static const char *mandatory(const struct tmsg *t, struct malgen *g)
{
	static const char *const msrp[] = { "To-Path", "From-Path", "Byte-Range", "Message-ID",
					    "Content-Type" };
	static const char *const sip[] = { "Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards",
					   "Content-Type" };
	static const char *const http[] = { "Host", "Content-Type" };
	static const char *const cpim[] = { "From", "To", "DateTime", "NS" };
	switch (t->proto) {
	case MG_MSRP:
		return msrp[mg_below(g, 5)];
	case MG_SIP:
		return sip[mg_below(g, 7)];
	case MG_HTTP:
		return http[mg_below(g, 2)];
	default:
		return cpim[mg_below(g, 4)];
	}
}

static void bad_start(struct malgen *g, struct tmsg *t, int v)
{
	char tok[300];
	switch (v) {
	case 0: /* the protocol name broken */
		if (t->proto == MG_MSRP)
			memcpy(t->start, "MSRQ", 4);
		else if (t->proto == MG_SIP)
			snprintf(strstr(t->start, "SIP/2.0"), 8, "SIP/3.0");
		else
			snprintf(strstr(t->start, "HTTP/1.1"), 9, "HTTP/9.7");
		break;
	case 1: /* a part missing */ {
		char *sp = strrchr(t->start, ' ');
		if (sp)
			*sp = 0;
		break;
	}
	case 2: /* junk in the method */ {
		char *sp = t->proto == MG_MSRP ? strrchr(t->start, ' ') + 1 : t->start;
		sp[mg_below(g, 3)] = (char)"@<\x01\x80"[mg_below(g, 4)];
		break;
	}
	case 3: /* a token far too long (tid, method, URI) */
		memset(tok, 'A' + (int)mg_below(g, 26), sizeof(tok) - 1);
		tok[sizeof(tok) - 1 - mg_below(g, 200)] = 0;
		if (t->proto == MG_MSRP)
			snprintf(t->start, VLEN, "MSRP %s SEND", tok);
		else if (t->proto == MG_SIP)
			snprintf(t->start, VLEN, "%s sip:b@x SIP/2.0", tok);
		else
			snprintf(t->start, VLEN, "GET /%s%s HTTP/1.1", tok, tok);
		break;
	case 4: /* blanks doubled, tabs */ {
		char tmp[VLEN];
		size_t o = 0;
		for (const char *p = t->start; *p && o + 3 < VLEN; p++) {
			if (*p == ' ') {
				tmp[o++] = mg_below(g, 2) ? '\t' : ' ';
				tmp[o++] = ' ';
			} else
				tmp[o++] = *p;
		}
		tmp[o] = 0;
		memcpy(t->start, tmp, o + 1);
		break;
	}
	case 5: /* a status line where a request should be */
		if (t->proto == MG_MSRP)
			snprintf(t->start, VLEN, "MSRP %s 2000 OK", t->tid);
		else if (t->proto == MG_SIP)
			snprintf(t->start, VLEN, "SIP/2.0 99999 OK");
		else
			snprintf(t->start, VLEN, "HTTP/1.1 200 OK");
		break;
	case 6: /* nothing at all, or one byte */
		snprintf(t->start, VLEN, "%s", mg_below(g, 2) ? "" : "\x16");
		break;
	default: /* lower case */
		for (char *p = t->start; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		break;
	}
}

static void bad_number(struct malgen *g, struct tmsg *t, int v)
{
	const char *n = bad_num[v % (int)(sizeof(bad_num) / sizeof(bad_num[0]))];
	int i;
	switch (t->proto) {
	case MG_MSRP:
		if ((i = t_find(t, "Byte-Range")) >= 0) {
			switch (mg_below(g, 3)) {
			case 0:
				snprintf(t->hv[i], VLEN, "%s-%zu/%zu", n, t->blen, t->blen);
				break;
			case 1:
				snprintf(t->hv[i], VLEN, "1-%s/%zu", n, t->blen);
				break;
			default:
				snprintf(t->hv[i], VLEN, "1-%zu/%s", t->blen, n);
				break;
			}
		} else
			t_hdr(t, "Expires", "%s", n);
		break;
	case MG_SIP:
		switch (mg_below(g, 4)) {
		case 0:
			snprintf(t->hv[t_find(t, "CSeq")], VLEN, "%s %s", n, "MESSAGE");
			break;
		case 1:
			snprintf(t->hv[t_find(t, "Max-Forwards")], VLEN, "%s", n);
			break;
		case 2:
			t_hdr(t, "Expires", "%s", n);
			break;
		default:
			t->auto_cl = 0;
			t_hdr(t, "Content-Length", "%s", n);
			break;
		}
		break;
	case MG_HTTP:
		t->auto_cl = 0;
		t_hdr(t, "Content-Length", "%s", n);
		break;
	default:
		t_hdr(t, "Content-Length", "%s", n);
		break;
	}
}

static void bad_length(struct malgen *g, struct tmsg *t, struct mg_frame *f, int v)
{
	if (t->proto == MG_MSRP) {
		int i = t_find(t, "Byte-Range");
		if (i < 0) { /* AUTH: a body that no Content-Type announces */
			t_body(t, "unexpected");
			return;
		}
		size_t n = t->blen;
		switch (v % 5) {
		case 0:
			snprintf(t->hv[i], VLEN, "1-%zu/%zu", n + 5, n);
			break;
		case 1:
			snprintf(t->hv[i], VLEN, "1-%zu/%zu", n, n ? n - 1 : 0);
			break;
		case 2:
			snprintf(t->hv[i], VLEN, "%zu-1/%zu", n + 3, n);
			break;
		case 3:
			snprintf(t->hv[i], VLEN, "1-%zu/%zu", n > 3 ? n - 3 : 0, n);
			break;
		default:
			snprintf(t->hv[i], VLEN, "0-%zu/*", n);
			break;
		}
		return;
	}
	/* SIP, HTTP: a Content-Length over the body (the stream waits) or under it */
	t->auto_cl = 0;
	if (v % 2 == 0) {
		t_hdr(t, "Content-Length", "%zu", t->blen + 1 + mg_below(g, 100));
		f->incomplete = 1;
	} else {
		t_hdr(t, "Content-Length", "%u", t->blen ? mg_below(g, (uint32_t)t->blen) : 0);
		if (!t->blen)
			t_body(t, "trailing junk");
	}
}

static int mutate_text(struct malgen *g, struct tmsg *t, enum mg_kind k, struct mg_frame *f)
{
	int v = (int)mg_below(g, 16);
	f->variant = v;
	switch (k) {
	case MG_TRUNCATE:
		break; /* after writing */
	case MG_OVER_LINE:
		t->big_line = g->lim.max_line + 1 + mg_below(g, 4096);
		break;
	case MG_OVER_HEAD: /* lines under max_line, few enough for max_headers, past max_head */
		t->pad_len = g->lim.max_line > 1100 ? 1000 : g->lim.max_line - 64;
		t->pad_lines = (int)(g->lim.max_head / t->pad_len) + 2;
		break;
	case MG_OVER_BODY:
		t->big_body = g->lim.max_body + 1 + mg_below(g, 8192);
		if (t->proto == MG_CPIM)
			t->big_body = g->lim.max_body + 1;
		{
			int br = t_find(t, "Byte-Range");
			if (br >= 0)
				snprintf(t->hv[br], VLEN, "1-%zu/%zu", t->big_body, t->big_body);
		}
		break;
	case MG_BAD_LENGTH:
		bad_length(g, t, f, v);
		break;
	case MG_BAD_UTF8: {
		const char *b = bad_utf8[v % 10];
		if (mg_below(g, 2) && t->blen)
			splice_body(g, t, b, strlen(b));
		else if (t->nh)
			splice(g, t, (int)mg_below(g, (uint32_t)t->nh), b, strlen(b));
		break;
	}
	case MG_CTRL: {
		const char *c = ctrl[v % 9];
		size_t n = v % 9 == 0 ? 1 : v % 9 == 6 ? 3 : strlen(c);
		if (mg_below(g, 3) == 0 && t->blen)
			splice_body(g, t, c, n);
		else if (t->nh) {
			int i = (int)mg_below(g, (uint32_t)t->nh);
			if (n == 1 && c[0] == 0) /* a NUL mid-value: write it as a visible escape */
				t->hv[i][strnlen(t->hv[i], VLEN) / 2] = 0x01;
			else
				splice(g, t, i, c, n);
		}
		break;
	}
	case MG_FLOOD:
		t->flood = 1000 + (int)mg_below(g, 3000);
		t->flood_same = (int)mg_below(g, 2);
		break;
	case MG_REPEAT: {
		const char *h = mandatory(t, g);
		int i = t_find(t, h);
		if (i >= 0) {
			char val[VLEN];
			snprintf(val, sizeof(val), "%s", t->hv[i]);
			size_t vl = strlen(val);
			if (vl)
				val[vl - 1] = val[vl - 1] == 'x' ? 'y' : 'x';
			t_hdr(t, h, "%s", val);
		} else
			t_hdr(t, h, "x");
		if (t->auto_cl && mg_below(g, 2)) /* two Content-Lengths that disagree */
			t_hdr(t, "Content-Length", "%zu", t->blen + 7);
		break;
	}
	case MG_BAD_START:
		if (t->proto == MG_CPIM) /* no start line: a header line with no colon */
			t_hdr(t, "NoColonHere", "x"), t->hn[t->nh - 1][0] = ' ';
		else
			bad_start(g, t, v % 8);
		break;
	case MG_BAD_NUMBER:
		bad_number(g, t, v);
		break;
	case MG_MISSING: {
		const char *h = mandatory(t, g);
		int i = t_find(t, h);
		if (t->proto == MG_HTTP && i >= 0 && !strcmp(h, "Content-Type") && (v & 1))
			snprintf(t->hv[i], VLEN, "%s", (v & 2) ? "text/plain" : "application/jsonx");
		else if (i >= 0) /* (a JSON body under another type, or none) */
			t_drop(t, i);
		else
			t_drop(t, 0);
		break;
	}
	case MG_CRLF:
		t->eol = 1 + (int)mg_below(g, 4);
		t->lead_blank = (int)mg_below(g, 3);
		if (t->eol == 1 && !t->lead_blank)
			t->lead_blank = 1;
		break;
	default:
		break;
	}
	return 0;
}

/* Cuts <f> at a place that matters: inside the start line, at a line's end (before or after
 * the LF), inside a header, the body or the end line; or anywhere. */
static void truncate_frame(struct malgen *g, struct mg_frame *f)
{
	if (f->len < 2)
		return;
	size_t cut;
	uint32_t how = mg_below(g, 4);
	if (how == 0) {
		cut = 1 + mg_below(g, (uint32_t)f->len - 1);
	} else {
		/* the n-th line end */
		size_t ends[256], ne = 0;
		for (size_t i = 0; i < f->len && ne < 256; i++)
			if (f->p[i] == '\n')
				ends[ne++] = i;
		if (!ne) {
			cut = 1 + mg_below(g, (uint32_t)f->len - 1);
		} else {
			size_t e = ends[mg_below(g, (uint32_t)ne)];
			cut = how == 1 ? e : how == 2 ? e + 1 : e + 1 + mg_below(g, 6);
			if (cut >= f->len)
				cut = f->len - 1;
			if (cut == 0)
				cut = 1;
		}
	}
	f->len = cut;
	f->incomplete = 1;
}

static int make_text(struct malgen *g, enum mg_proto proto, enum mg_kind k, struct mg_frame *f,
		     int valid)
{
	struct tmsg *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	switch (proto) {
	case MG_MSRP:
		tpl_msrp(g, t);
		break;
	case MG_SIP:
		tpl_sip(g, t, g->transport[0] ? g->transport : "UDP");
		break;
	case MG_HTTP:
		tpl_http(g, t);
		break;
	default:
		tpl_cpim(g, t);
		break;
	}
	int rc = valid ? 0 : mutate_text(g, t, k, f);
	if (!rc)
		rc = t_write(g, t, f);
	if (!rc && !valid && k == MG_TRUNCATE)
		truncate_frame(g, f);
	snprintf(f->id, sizeof(f->id), "%s", t->tid);
	free(t);
	return rc;
}

/* ---- WebSocket (RFC 6455) ----------------------------------------------------------------- */

int mg_ws_frame(struct mg_frame *f, int fin, int opcode, const void *p, size_t n,
		uint32_t mask)
{
	uint8_t h[14];
	size_t hl = 0;
	h[hl++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	uint8_t m = mask ? 0x80 : 0;
	if (n < 126) {
		h[hl++] = (uint8_t)(m | n);
	} else if (n < 65536) {
		h[hl++] = m | 126;
		h[hl++] = (uint8_t)(n >> 8);
		h[hl++] = (uint8_t)n;
	} else {
		h[hl++] = m | 127;
		for (int i = 7; i >= 0; i--)
			h[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	if (mask)
		for (int i = 3; i >= 0; i--)
			h[hl++] = (uint8_t)(mask >> (8 * i));
	if (fr_put(f, h, hl) || fr_reserve(f, n))
		return -ENOMEM;
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++)
		f->p[f->len + i] = mask ? (uint8_t)(s[i] ^ (uint8_t)(mask >> (8 * (3 - (i & 3)))))
					: s[i];
	f->len += n;
	return 0;
}

static int make_ws(struct malgen *g, enum mg_kind k, struct mg_frame *f, int valid)
{
	/* the payload: an MSRP SEND (RFC 7977: a text message per frame) */
	struct mg_frame in = { 0 };
	int rc = make_text(g, MG_MSRP, MG_KINDS, &in, 1);
	if (rc)
		return rc;
	snprintf(f->id, sizeof(f->id), "%s", in.id);
	uint32_t mask = mg_rand(g) | 1;
	if (valid) {
		rc = mg_ws_frame(f, 1, 1, in.p, in.len, mask);
		mg_frame_free(&in);
		return rc;
	}
	int v = (int)mg_below(g, 8);
	f->variant = v;
	uint8_t *big;
	size_t bn;
	switch (k) {
	case MG_TRUNCATE:
		rc = mg_ws_frame(f, 1, 1, in.p, in.len, mask);
		if (!rc) {
			f->len = 1 + mg_below(g, (uint32_t)f->len - 1);
			f->incomplete = 1;
		}
		break;
	case MG_OVER_LINE:
	case MG_OVER_HEAD:
	case MG_OVER_BODY: /* one message over ws_max_message: one frame, or fragments */
		bn = g->lim.max_message + 1 + mg_below(g, 1024);
		big = malloc(bn);
		if (!big) {
			rc = -ENOMEM;
			break;
		}
		memset(big, 'm', bn);
		if (k == MG_OVER_BODY) {
			rc = mg_ws_frame(f, 1, 2, big, bn, mask);
		} else { /* fragments of 8 KiB */
			size_t o = 0;
			while (!rc && o < bn) {
				size_t n = bn - o < 8192 ? bn - o : 8192;
				rc = mg_ws_frame(f, o + n == bn, o ? 0 : 1, big + o, n, mask);
				o += n;
			}
		}
		free(big);
		break;
	case MG_BAD_LENGTH: { /* lengths in a longer form than needed, or the MSB set */
		uint8_t h[16];
		size_t hl = 0;
		h[hl++] = 0x81;
		if (v % 2 == 0) { /* 126 with a length < 126 is not minimal (RFC 6455 5.2) */
			h[hl++] = 0x80 | 126;
			h[hl++] = 0;
			h[hl++] = (uint8_t)(in.len < 126 ? in.len : 5);
		} else {
			h[hl++] = 0x80 | 127;
			h[hl++] = 0x80 | (uint8_t)mg_below(g, 128); /* most significant bit set */
			for (int i = 0; i < 7; i++)
				h[hl++] = (uint8_t)mg_rand(g);
		}
		memcpy(h + hl, &mask, 4);
		hl += 4;
		rc = fr_put(f, h, hl);
		if (!rc)
			rc = fr_put(f, in.p, in.len < 120 ? in.len : 120);
		f->incomplete = v % 2 == 0 && in.len >= 126;
		break;
	}
	case MG_BAD_UTF8: /* a text frame that is not UTF-8 */ {
		const char *b = bad_utf8[v % 10];
		struct mg_frame t = { 0 };
		rc = fr_put(&t, in.p, in.len / 2);
		rc |= fr_str(&t, b);
		rc |= fr_put(&t, in.p + in.len / 2, in.len - in.len / 2);
		if (!rc)
			rc = mg_ws_frame(f, 1, 1, t.p, t.len, mask);
		mg_frame_free(&t);
		break;
	}
	case MG_CTRL: /* control frames broken: long, fragmented, close with a bad code */ {
		uint8_t pl[200];
		memset(pl, 'p', sizeof(pl));
		switch (v % 4) {
		case 0:
			rc = mg_ws_frame(f, 1, 9, pl, 126 + mg_below(g, 70), mask);
			break;
		case 1:
			rc = mg_ws_frame(f, 0, 9, pl, 4, mask);
			break;
		case 2:
			pl[0] = 0x03;
			pl[1] = (uint8_t)"\xec\x00\x01\x10"[mg_below(g, 4)]; /* 1004, 768, 769, 784 */
			rc = mg_ws_frame(f, 1, 8, pl, 2, mask);
			break;
		default:
			rc = mg_ws_frame(f, 1, 8, pl, 1, mask); /* a close of one byte */
			break;
		}
		break;
	}
	case MG_FLOOD: /* a continuation with no message begun */
		rc = mg_ws_frame(f, 1, 0, in.p, in.len, mask);
		break;
	case MG_REPEAT: /* a new data frame inside a fragmented message */
		rc = mg_ws_frame(f, 0, 1, in.p, in.len / 2, mask);
		if (!rc)
			rc = mg_ws_frame(f, 1, 1, in.p + in.len / 2, in.len - in.len / 2, mask);
		break;
	case MG_BAD_START: /* a reserved opcode */
		rc = mg_ws_frame(f, 1, (int)"\x03\x04\x05\x06\x07\x0b\x0c\x0d\x0e\x0f"[v % 8],
				 in.p, in.len, mask);
		break;
	case MG_BAD_NUMBER: /* RSV bits with no extension */
		rc = mg_ws_frame(f, 1, 1, in.p, in.len, mask);
		if (!rc)
			f->p[0] |= (uint8_t)(0x10 << mg_below(g, 3));
		break;
	case MG_MISSING: /* a client frame without its mask */
		rc = mg_ws_frame(f, 1, 1, in.p, in.len, 0);
		break;
	default: /* MG_CRLF: a text frame whose payload is a frame cut (split MSRP) + junk */
		rc = mg_ws_frame(f, 1, mg_below(g, 2) ? 1 : 2, "\r\n\r\n\x00\x01junk", 10, mask);
		break;
	}
	mg_frame_free(&in);
	return rc;
}

/* ---- Diameter (RFC 6733) ------------------------------------------------------------------ */

static int avp(struct mg_frame *f, uint32_t code, uint8_t flags, uint32_t vendor, const void *d,
	       size_t n)
{
	uint8_t h[12];
	size_t hl = vendor ? 12 : 8;
	size_t len = hl + n;
	h[0] = (uint8_t)(code >> 24), h[1] = (uint8_t)(code >> 16), h[2] = (uint8_t)(code >> 8),
	h[3] = (uint8_t)code;
	h[4] = (uint8_t)(flags | (vendor ? 0x80 : 0));
	h[5] = (uint8_t)(len >> 16), h[6] = (uint8_t)(len >> 8), h[7] = (uint8_t)len;
	if (vendor)
		h[8] = (uint8_t)(vendor >> 24), h[9] = (uint8_t)(vendor >> 16),
		h[10] = (uint8_t)(vendor >> 8), h[11] = (uint8_t)vendor;
	static const uint8_t zero[4];
	int rc = fr_put(f, h, hl);
	rc |= fr_put(f, d, n);
	rc |= fr_put(f, zero, (4 - n % 4) % 4);
	return rc;
}

static int avp_str(struct mg_frame *f, uint32_t code, const char *s)
{
	return avp(f, code, 0x40, 0, s, strlen(s));
}

static int avp_u32(struct mg_frame *f, uint32_t code, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return avp(f, code, 0x40, 0, b, 4);
}

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16), p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
}

/* The header of a request <code> of application <app>; the length set by dm_end. */
static int dm_begin(struct mg_frame *f, uint32_t code, uint32_t app, uint32_t hbh)
{
	uint8_t h[20] = { 1 };
	h[4] = 0x80; /* R */
	put24(h + 5, code);
	put32(h + 8, app);
	put32(h + 12, hbh);
	put32(h + 16, hbh ^ 0x5a5a5a5a);
	return fr_put(f, h, 20);
}

static void dm_end(struct mg_frame *f)
{
	put24(f->p + 1, (uint32_t)f->len);
}

/* The Origin-Host and Origin-Realm a peer of the test says (malgen.host is the host name). */
static int dm_origin(struct malgen *g, struct mg_frame *f)
{
	char realm[64];
	const char *dot = strchr(g->host, '.');
	snprintf(realm, sizeof(realm), "%s", dot ? dot + 1 : g->host);
	return avp_str(f, 264, g->host) | avp_str(f, 296, realm);
}

static int make_diameter(struct malgen *g, enum mg_kind k, struct mg_frame *f, int valid)
{
	uint32_t hbh = (uint32_t)g->seq * 2654435761u + 1;
	snprintf(f->id, sizeof(f->id), "%u", hbh);
	int dwr = valid || mg_below(g, 2); /* the valid one (a probe) is a DWR */
	int rc = 0;
	int v = (int)mg_below(g, 8);
	f->variant = v;
	char sid[96];
	snprintf(sid, sizeof(sid), "%s;%lu;%u", g->host, g->seq, mg_rand(g));
	/* the template: a DWR, or a Credit-Control request (app 4) with a Session-Id */
	rc |= dm_begin(f, dwr ? 280 : 272, dwr ? 0 : 4, hbh);
	if (!dwr)
		rc |= avp_str(f, 263, sid);
	size_t origin_at = f->len;
	if (!(k == MG_MISSING && !valid))
		rc |= dm_origin(g, f);
	if (!dwr) {
		rc |= avp_str(f, 283, "test.local");
		rc |= avp_u32(f, 258, 4);
		rc |= avp_u32(f, 416, 1);
		rc |= avp_u32(f, 415, (uint32_t)g->seq);
	}
	if (rc || valid) {
		if (!rc)
			dm_end(f);
		return rc;
	}
	size_t at;
	switch (k) {
	case MG_TRUNCATE: /* the header tells the whole length, less arrives */
		dm_end(f);
		f->len = 1 + mg_below(g, (uint32_t)f->len - 1);
		f->incomplete = 1;
		return 0;
	case MG_OVER_LINE: /* one AVP past the largest message */
	case MG_OVER_BODY: {
		size_t n = g->lim.max_message + 1 + mg_below(g, 4096);
		char *big = malloc(n);
		if (!big)
			return -ENOMEM;
		memset(big, 'd', n);
		rc = avp(f, mg_below(g, 2) ? 461 : 263, 0, 0, big, n);
		free(big);
		dm_end(f);
		return rc;
	}
	case MG_OVER_HEAD: /* a header length of nearly 16 MiB with a short message */
		dm_end(f);
		put24(f->p + 1, 0xfffffc - 4 * mg_below(g, 100));
		f->incomplete = 1;
		return 0;
	case MG_BAD_LENGTH:
		dm_end(f);
		switch (v % 6) {
		case 0: /* the header shorter than the AVPs (and a multiple of 4) */
			put24(f->p + 1, (uint32_t)(f->len - 4 * (1 + mg_below(g, 4))));
			break;
		case 1: /* not a multiple of 4 */
			put24(f->p + 1, (uint32_t)(f->len - 1 - mg_below(g, 3)));
			break;
		case 2: /* under the header's 20 bytes */
			put24(f->p + 1, mg_below(g, 20));
			break;
		case 3: /* an AVP's length under its header */
			put24(f->p + origin_at + 5, mg_below(g, 8));
			break;
		case 4: /* an AVP's length past the message's end */
			put24(f->p + origin_at + 5, (uint32_t)(f->len - origin_at + 4 + mg_below(g, 64)));
			break;
		default: /* an AVP's length short by a few bytes (its padding lies) */
			put24(f->p + origin_at + 5,
			      (uint32_t)(f->p[origin_at + 5] << 16 | f->p[origin_at + 6] << 8 |
					 f->p[origin_at + 7]) - 1 - mg_below(g, 3));
			break;
		}
		return 0;
	case MG_BAD_UTF8: { /* UTF8String AVPs that are not UTF-8 */
		char s[96];
		snprintf(s, sizeof(s), "h%s.%s", bad_utf8[v % 10], g->host);
		rc = avp_str(f, mg_below(g, 2) ? 283 : 263, s);
		break;
	}
	case MG_CTRL: /* a DiamIdent with control bytes, an M-bit AVP nobody knows */
		rc = avp(f, 293, 0x40, 0, "a\x00\x01\x7f.test", 10);
		rc |= avp(f, 99999, 0x40, 0, "????", 4);
		break;
	case MG_FLOOD: /* thousands of AVPs, more than lim.max_headers */ {
		int n = g->lim.max_headers + 1 + (int)mg_below(g, 2000);
		for (int i = 0; i < n && !rc; i++)
			rc = avp_u32(f, 415, (uint32_t)i);
		break;
	}
	case MG_REPEAT: /* Origin-Host twice, with two names */
		rc = avp_str(f, 264, "other.test.local");
		break;
	case MG_BAD_START:
		dm_end(f);
		switch (v % 4) {
		case 0:
			f->p[0] = (uint8_t)(2 + mg_below(g, 250)); /* version */
			break;
		case 1: /* (reserved flag bits are ignored by a receiver: RFC 6733 §3) */
			f->p[0] = 0;
			break;
		case 2:
			f->p[4] |= 0x20; /* E on a request */
			break;
		default:
			put24(f->p + 5, 0xffffff - mg_below(g, 1000)); /* a command nobody knows */
			break;
		}
		return 0;
	case MG_BAD_NUMBER: /* Unsigned32 AVPs of the wrong size */ {
		uint8_t b[9] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		rc = avp(f, 416, 0x40, 0, b, "\1\2\3\5\6\7\10"[mg_below(g, 7)]);
		break;
	}
	case MG_MISSING:
		break; /* no Origin-Host/-Realm (above) */
	default: /* MG_CRLF: the vendor bit with no room for the vendor id */
		at = f->len;
		rc = avp(f, 1, 0x40, 0, "abcd", 4);
		if (!rc)
			f->p[at + 4] |= 0x80;
		break;
	}
	if (!rc)
		dm_end(f);
	return rc;
}

/* ---- entry points ------------------------------------------------------------------------- */

static int make(struct malgen *g, enum mg_proto proto, enum mg_kind kind, struct mg_frame *f,
		int valid)
{
	if (kind >= MG_KINDS)
		kind = (enum mg_kind)mg_below(g, MG_KINDS);
	fr_reset(f, valid ? MG_KINDS : kind, 0);
	g->seq++;
	switch (proto) {
	case MG_WS:
		return make_ws(g, kind, f, valid);
	case MG_DIAMETER:
		return make_diameter(g, kind, f, valid);
	default:
		return make_text(g, proto, kind, f, valid);
	}
}

int mg_make(struct malgen *g, enum mg_proto proto, enum mg_kind kind, struct mg_frame *f)
{
	return make(g, proto, kind, f, 0);
}

int mg_valid(struct malgen *g, enum mg_proto proto, struct mg_frame *f)
{
	return make(g, proto, MG_KINDS, f, 1);
}

int mg_dm_cer(struct malgen *g, struct mg_frame *f)
{
	static const uint8_t ip[6] = { 0, 1, 127, 0, 0, 1 };
	fr_reset(f, MG_KINDS, 0);
	uint32_t hbh = (uint32_t)++g->seq * 2654435761u + 1;
	snprintf(f->id, sizeof(f->id), "%u", hbh);
	int rc = dm_begin(f, 257, 0, hbh);
	rc |= dm_origin(g, f);
	rc |= avp(f, 257, 0x40, 0, ip, sizeof(ip));
	rc |= avp_u32(f, 266, 0);
	rc |= avp(f, 269, 0, 0, "malgen", 6);
	rc |= avp_u32(f, 258, 4);
	rc |= avp_u32(f, 258, 16777217);
	if (!rc)
		dm_end(f);
	return rc;
}
