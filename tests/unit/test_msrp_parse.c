/* test_msrp_parse.c — the MSRP frame parser (msrp/msrp_parse.c).
 *
 * Every input is fed from copies that end right before a PROT_NONE page (tests/lib/guard.h)
 * and each piece's copy is unmapped as soon as the parser has consumed it, so that a read
 * past the end of a piece, or a pointer kept into an earlier piece, crashes the test.
 *
 * The RFC example frames (RFC 4975 §4 and §10, RFC 4976 §7: AUTH, 401, 200 with Use-Path,
 * a SEND through a relay; headers that the RFCs fold for print are on one line here, as
 * on the wire) are parsed whole, split in two at every byte position, and fed one byte at
 * a time: each way must give the same transcript (HEAD fields, concatenated body, flag,
 * error). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "msrp/msrp_hdr.h"
#include "msrp/msrp_parse.h"
#include "tests/lib/guard.h"

/* ---- fixture: allocator, config ---------------------------------------------------- */

static int live_bufs;        /* head buffers given out and not yet given back */
static int total_allocs;
static int fail_allocs;      /* the next alloc returns NULL */
static size_t short_cap;     /* non-zero: the allocator gives this capacity */

static void *t_alloc(void *ctx, size_t *cap)
{
	cr_assert_eq(ctx, (void *)&live_bufs);
	if (fail_allocs)
		return NULL;
	if (short_cap)
		*cap = short_cap;
	live_bufs++;
	total_allocs++;
	return malloc(*cap);
}

static void t_release(void *ctx, void *p)
{
	cr_assert_eq(ctx, (void *)&live_bufs);
	cr_assert(p != NULL);
	live_bufs--;
	free(p);
}

static struct msrp_parse_stats stats;

static struct msrp_parse_cfg make_cfg(void)
{
	struct msrp_parse_cfg c = {
		.alloc = t_alloc, .release = t_release, .ctx = &live_bufs, .stats = &stats,
	};

	msrp_parse_limits_default(&c.limits);
	return c;
}

/* ---- transcripts -------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert(b->p);
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof(tmp));
	put(b, tmp, (size_t)n);
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

#define SL(s) (int)(s).len, (s).p ? (s).p : ""

/* What a run produced: the canonical transcript and a few counts. */
struct run {
	struct buf t;           /* transcript */
	struct buf body;        /* body of the frame in progress */
	unsigned heads, ends, bodies;
	int error;              /* ERROR seen: status */
	enum msrp_perr err;
	struct msrp_msg last;   /* last HEAD (slices dangle after the run) */
	enum msrp_flag flag;    /* last END */
};

static void record(struct run *r, const struct msrp_ev *ev)
{
	const struct msrp_msg *m = &ev->msg;

	switch (ev->type) {
	case MSRP_EV_HEAD:
		r->heads++;
		r->last = *m;
		putf(&r->t, "HEAD req=%d tid=%.*s method=%d name=%.*s status=%d comment=%.*s "
		     "body=%d n=%u\n", m->is_request, SL(m->tid), m->method, SL(m->method_name),
		     m->status, SL(m->comment), m->has_body, m->nhdrs);
		for (unsigned i = 0; i < m->nhdrs; i++)
			putf(&r->t, "  %d %.*s: [%.*s]\n", m->hdrs[i].id, SL(m->hdrs[i].name),
			     SL(m->hdrs[i].value));
		put(&r->t, "  first", 7);
		for (int i = 0; i < MSRP_H__COUNT; i++)
			putf(&r->t, " %d", m->first[i]);
		put(&r->t, "\n", 1);
		r->body.len = 0;
		break;
	case MSRP_EV_BODY:
		cr_assert(ev->body.len > 0, "empty BODY event");
		r->bodies++;
		put(&r->body, ev->body.p, ev->body.len);
		break;
	case MSRP_EV_END:
		r->ends++;
		r->flag = ev->flag;
		putf(&r->t, "BODY %zu [", r->body.len);
		put(&r->t, r->body.p, r->body.len);
		putf(&r->t, "]\nEND %c tid=%.*s\n", ev->flag, SL(ev->tid));
		r->body.len = 0;
		break;
	case MSRP_EV_ERROR:
		r->error = ev->status;
		r->err = ev->err;
		putf(&r->t, "BODY %zu\nERROR %d %d %s tid=%.*s req=%d method=%d\n", r->body.len,
		     ev->status, ev->err, ev->reason, SL(ev->tid),
		     ev->tid.len ? ev->is_request : -1, ev->tid.len ? (int)ev->method : -1);
		break;
	case MSRP_EV_NEED_MORE:
		break;
	}
}

static void run_free(struct run *r)
{
	buf_free(&r->t);
	buf_free(&r->body);
}

/* Feeds <in>[0..<len>) as the pieces ending at <cuts>[0..<ncuts>) then at <len>, each
 * from its own guarded copy, unmapped once consumed. Stops at ERROR (after checking that
 * it sticks). The parser is freed at the end and no head buffer may remain. */
static void feed_cuts(const struct msrp_parse_cfg *cfg, const char *in, size_t len,
		      const size_t *cuts, size_t ncuts, struct run *r)
{
	struct msrp_parser p;
	struct msrp_ev ev;
	size_t a = 0;
	int dead = 0;

	memset(r, 0, sizeof(*r));
	put(&r->t, "", 0);
	put(&r->body, "", 0);
	msrp_parser_init(&p, cfg);
	for (size_t k = 0; k <= ncuts && !dead; k++) {
		size_t b = k < ncuts ? cuts[k] : len, n = b - a, off = 0;
		const char *g = guard_copy(in + a, n);
		unsigned guard = 0;

		for (;;) {
			size_t used = msrp_parse(&p, g + off, n - off, &ev);

			cr_assert(used <= n - off);
			cr_assert(live_bufs <= 1, "more than one head buffer");
			off += used;
			record(r, &ev);
			if (ev.type == MSRP_EV_ERROR) {
				struct msrp_ev again;

				cr_assert_eq(msrp_parse(&p, g + off, n - off, &again), 0);
				cr_assert_eq(again.type, MSRP_EV_ERROR);
				cr_assert_eq(again.status, ev.status);
				dead = 1;
				break;
			}
			if (ev.type == MSRP_EV_NEED_MORE) {
				cr_assert_eq(off, n);
				break;
			}
			cr_assert(++guard < 1u << 24, "no progress");
		}
		guard_release(g);
		a = b;
	}
	msrp_parser_free(&p);
	cr_assert_eq(live_bufs, 0, "head buffer leaked");
}

static void feed_whole(const struct msrp_parse_cfg *cfg, const char *in, size_t len,
		       struct run *r)
{
	feed_cuts(cfg, in, len, NULL, 0, r);
}

/* Whole, split in two at every position, and one byte at a time: the same transcript. */
static void check_splits(const struct msrp_parse_cfg *cfg, const char *in, size_t len,
			 struct run *whole)
{
	struct run r;
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));

	cr_assert(cuts);
	feed_whole(cfg, in, len, whole);
	for (size_t i = 1; i < len; i++) {
		feed_cuts(cfg, in, len, &i, 1, &r);
		cr_assert_str_eq(r.t.p, whole->t.p, "split at %zu differs:\n%s\n--- whole:\n%s", i,
				 r.t.p, whole->t.p);
		run_free(&r);
	}
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	feed_cuts(cfg, in, len, cuts, len ? len - 1 : 0, &r);
	cr_assert_str_eq(r.t.p, whole->t.p, "byte at a time differs:\n%s\n--- whole:\n%s", r.t.p,
			 whole->t.p);
	run_free(&r);
	free(cuts);
}

static int slice_is(cm_slice s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

/* ---- the RFC examples --------------------------------------------------------------- */

#define TO_BILOXI "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"
#define FROM_ATLANTA "msrp://atlanta.example.com:7654/jshA7weztas;tcp"
#define BOB "msrp://bob.example.com:8888/9di4eae923wzd;tcp"
#define ALICEPC "msrp://alicepc.example.com:7777/iau39soe2843z;tcp"

/* RFC 4975 §4: the first SEND (its Byte-Range says 25 for a 23-byte body, as printed). */
static const char rfc4975_s4_send[] =
	"MSRP a786hjs2 SEND\r\n"
	"To-Path: " TO_BILOXI "\r\n"
	"From-Path: " FROM_ATLANTA "\r\n"
	"Message-ID: 87652491\r\n"
	"Byte-Range: 1-25/25\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Hey Bob, are you there?\r\n"
	"-------a786hjs2$\r\n";

static const char rfc4975_s4_200[] =
	"MSRP a786hjs2 200 OK\r\n"
	"To-Path: " FROM_ATLANTA "\r\n"
	"From-Path: " TO_BILOXI "\r\n"
	"-------a786hjs2$\r\n";

/* RFC 4975 §10.1: basic IM session. */
static const char rfc4975_s10_1_send[] =
	"MSRP d93kswow SEND\r\n"
	"To-Path: " BOB "\r\n"
	"From-Path: " ALICEPC "\r\n"
	"Message-ID: 12339sdqwer\r\n"
	"Byte-Range: 1-16/16\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Hi, I'm Alice!\r\n"
	"-------d93kswow$\r\n";

static const char rfc4975_s10_1_200[] =
	"MSRP d93kswow 200 OK\r\n"
	"To-Path: " ALICEPC "\r\n"
	"From-Path: " BOB "\r\n"
	"-------d93kswow$\r\n";

/* RFC 4975 §10.2: XHTML content with reports asked for. */
static const char rfc4975_s10_2_send[] =
	"MSRP d93kswow SEND\r\n"
	"To-Path: " BOB "\r\n"
	"From-Path: " ALICEPC "\r\n"
	"Message-ID: 12339sdqwer\r\n"
	"Byte-Range: 1-106/106\r\n"
	"Success-Report: yes\r\n"
	"Failure-Report: no\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<html><body>\r\n"
	"<p>Something something <a href=\"http://www.example.com/foobar\">foobar</a></p>\r\n"
	"</body></html>\r\n"
	"-------d93kswow$\r\n";

/* RFC 4975 §10.3 / §7.1: a message in two chunks, the first interruptible ('*' end). */
static const char rfc4975_chunk1[] =
	"MSRP 7443jtkq SEND\r\n"
	"To-Path: " BOB "\r\n"
	"From-Path: " ALICEPC "\r\n"
	"Message-ID: 87652491\r\n"
	"Byte-Range: 1-*/40\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"First half of a chunked\r\n"
	"-------7443jtkq+\r\n";

static const char rfc4975_chunk2[] =
	"MSRP 7443jtkr SEND\r\n"
	"To-Path: " BOB "\r\n"
	"From-Path: " ALICEPC "\r\n"
	"Message-ID: 87652491\r\n"
	"Byte-Range: 24-40/40\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	" message, finished.\r\n"
	"-------7443jtkr$\r\n";

/* RFC 4975 §10.5: positive report. */
static const char rfc4975_s10_5_report[] =
	"MSRP dkei38sd REPORT\r\n"
	"To-Path: " ALICEPC "\r\n"
	"From-Path: " BOB "\r\n"
	"Message-ID: 12339sdqwer\r\n"
	"Byte-Range: 1-106/106\r\n"
	"Status: 000 200 OK\r\n"
	"-------dkei38sd$\r\n";

/* RFC 4975 §7.1.1: a SEND with no body (sent to bind a connection). */
static const char rfc4975_empty_send[] =
	"MSRP dkei38se SEND\r\n"
	"To-Path: " BOB "\r\n"
	"From-Path: " ALICEPC "\r\n"
	"Message-ID: 12339sdqwes\r\n"
	"Byte-Range: 1-0/0\r\n"
	"-------dkei38se$\r\n";

/* RFC 4976 §7.1: AUTH, 401, AUTH with credentials, 200 with Use-Path. */
static const char rfc4976_auth1[] =
	"MSRP 49fh AUTH\r\n"
	"To-Path: msrps://alice@intra.example.com;tcp\r\n"
	"From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
	"-------49fh$\r\n";

static const char rfc4976_401[] =
	"MSRP 49fh 401 Unauthorized\r\n"
	"To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
	"From-Path: msrps://alice@intra.example.com;tcp\r\n"
	"WWW-Authenticate: Digest realm=\"intra.example.com\", qop=\"auth\", "
	"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"\r\n"
	"-------49fh$\r\n";

static const char rfc4976_auth2[] =
	"MSRP 49fi AUTH\r\n"
	"To-Path: msrps://alice@intra.example.com;tcp\r\n"
	"From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
	"Authorization: Digest username=\"Alice\", realm=\"intra.example.com\", "
	"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", qop=auth, nc=00000001, "
	"cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\"\r\n"
	"-------49fi$\r\n";

static const char rfc4976_200[] =
	"MSRP 49fi 200 OK\r\n"
	"To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
	"From-Path: msrps://alice@intra.example.com;tcp\r\n"
	"Use-Path: msrps://intra.example.com:9000/jui787s2f;tcp\r\n"
	"Expires: 900\r\n"
	"-------49fi$\r\n";

/* RFC 4976 §7.2: a SEND through two relays, and the relay's 200. */
static const char rfc4976_send[] =
	"MSRP 6aef SEND\r\n"
	"To-Path: msrps://intra.example.com:9000/jui787s2f;tcp "
	"msrps://extra.example.com:9000/mywdEe1233;tcp "
	"msrps://bob.example.com:8145/foo;tcp\r\n"
	"From-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
	"Message-ID: 87652\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Hi Bob\r\n"
	"-------6aef$\r\n";

static const char rfc4976_send_200[] =
	"MSRP 6aef 200 OK\r\n"
	"To-Path: msrps://alice.example.com:9892/98cjs;tcp\r\n"
	"From-Path: msrps://intra.example.com:9000/jui787s2f;tcp\r\n"
	"-------6aef$\r\n";

struct example {
	const char *name;
	const char *frame;
	int is_request;
	enum msrp_method method;
	const char *tid;
	int status;
	const char *comment;
	unsigned nhdrs;
	const char *body;        /* NULL: no body */
	enum msrp_flag flag;
	enum msrp_hid probe;     /* a header to check */
	const char *probe_value;
};

#define EX(f) #f, f

static const struct example examples[] = {
	{ EX(rfc4975_s4_send), 1, MSRP_M_SEND, "a786hjs2", 0, "", 5, "Hey Bob, are you there?",
	  MSRP_FLAG_END, MSRP_H_BYTE_RANGE, "1-25/25" },
	{ EX(rfc4975_s4_200), 0, MSRP_M_NONE, "a786hjs2", 200, "OK", 2, NULL, MSRP_FLAG_END,
	  MSRP_H_TO_PATH, FROM_ATLANTA },
	{ EX(rfc4975_s10_1_send), 1, MSRP_M_SEND, "d93kswow", 0, "", 5, "Hi, I'm Alice!",
	  MSRP_FLAG_END, MSRP_H_MESSAGE_ID, "12339sdqwer" },
	{ EX(rfc4975_s10_1_200), 0, MSRP_M_NONE, "d93kswow", 200, "OK", 2, NULL, MSRP_FLAG_END,
	  MSRP_H_FROM_PATH, BOB },
	{ EX(rfc4975_s10_2_send), 1, MSRP_M_SEND, "d93kswow", 0, "", 7,
	  "<html><body>\r\n"
	  "<p>Something something <a href=\"http://www.example.com/foobar\">foobar</a></p>\r\n"
	  "</body></html>", MSRP_FLAG_END, MSRP_H_FAILURE_REPORT, "no" },
	{ EX(rfc4975_chunk1), 1, MSRP_M_SEND, "7443jtkq", 0, "", 5, "First half of a chunked",
	  MSRP_FLAG_MORE, MSRP_H_BYTE_RANGE, "1-*/40" },
	{ EX(rfc4975_chunk2), 1, MSRP_M_SEND, "7443jtkr", 0, "", 5, " message, finished.",
	  MSRP_FLAG_END, MSRP_H_BYTE_RANGE, "24-40/40" },
	{ EX(rfc4975_s10_5_report), 1, MSRP_M_REPORT, "dkei38sd", 0, "", 5, NULL, MSRP_FLAG_END,
	  MSRP_H_STATUS, "000 200 OK" },
	{ EX(rfc4975_empty_send), 1, MSRP_M_SEND, "dkei38se", 0, "", 4, NULL, MSRP_FLAG_END,
	  MSRP_H_BYTE_RANGE, "1-0/0" },
	{ EX(rfc4976_auth1), 1, MSRP_M_AUTH, "49fh", 0, "", 2, NULL, MSRP_FLAG_END,
	  MSRP_H_TO_PATH, "msrps://alice@intra.example.com;tcp" },
	{ EX(rfc4976_401), 0, MSRP_M_NONE, "49fh", 401, "Unauthorized", 3, NULL, MSRP_FLAG_END,
	  MSRP_H_WWW_AUTHENTICATE, "Digest realm=\"intra.example.com\", qop=\"auth\", "
	  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"" },
	{ EX(rfc4976_auth2), 1, MSRP_M_AUTH, "49fi", 0, "", 3, NULL, MSRP_FLAG_END,
	  MSRP_H_AUTHORIZATION, "Digest username=\"Alice\", realm=\"intra.example.com\", "
	  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", qop=auth, nc=00000001, "
	  "cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\"" },
	{ EX(rfc4976_200), 0, MSRP_M_NONE, "49fi", 200, "OK", 4, NULL, MSRP_FLAG_END,
	  MSRP_H_USE_PATH, "msrps://intra.example.com:9000/jui787s2f;tcp" },
	{ EX(rfc4976_send), 1, MSRP_M_SEND, "6aef", 0, "", 4, "Hi Bob", MSRP_FLAG_END,
	  MSRP_H_TO_PATH, "msrps://intra.example.com:9000/jui787s2f;tcp "
	  "msrps://extra.example.com:9000/mywdEe1233;tcp msrps://bob.example.com:8145/foo;tcp" },
	{ EX(rfc4976_send_200), 0, MSRP_M_NONE, "6aef", 200, "OK", 2, NULL, MSRP_FLAG_END,
	  MSRP_H_FROM_PATH, "msrps://intra.example.com:9000/jui787s2f;tcp" },
};

#define NEXAMPLES (sizeof(examples) / sizeof(examples[0]))

/* Checks the HEAD of <ex> on a whole parse, where the slices are still valid. */
static void check_example_head(const struct msrp_parse_cfg *cfg, const struct example *ex)
{
	size_t len = strlen(ex->frame);
	const char *g = guard_copy(ex->frame, len);
	struct msrp_parser p;
	struct msrp_ev ev;
	size_t used;
	int allocs = total_allocs;
	cm_slice v;

	msrp_parser_init(&p, cfg);
	used = msrp_parse(&p, g, len, &ev);
	cr_assert_eq(ev.type, MSRP_EV_HEAD, "%s", ex->name);
	cr_assert(used > 0 && used < len);
	cr_assert_eq(ev.msg.is_request, ex->is_request, "%s", ex->name);
	cr_assert_eq(ev.msg.method, ex->method, "%s", ex->name);
	cr_assert(slice_is(ev.msg.tid, ex->tid), "%s", ex->name);
	cr_assert(ev.msg.tid.p >= g && ev.msg.tid.p < g + len, "%s: zero-copy", ex->name);
	cr_assert_eq(ev.msg.status, ex->status, "%s", ex->name);
	cr_assert(slice_is(ev.msg.comment, ex->comment), "%s: comment '%.*s'", ex->name,
		  SL(ev.msg.comment));
	cr_assert_eq(ev.msg.nhdrs, ex->nhdrs, "%s: %u headers", ex->name, ev.msg.nhdrs);
	cr_assert_eq(ev.msg.has_body, ex->body != NULL, "%s", ex->name);
	cr_assert(slice_is(msrp_hdr_get(&ev.msg, MSRP_H_TO_PATH), "") == 0);
	v = msrp_hdr_get(&ev.msg, ex->probe);
	cr_assert(slice_is(v, ex->probe_value), "%s: got [%.*s]", ex->name, SL(v));
	if (ex->is_request)
		cr_assert(slice_is(ev.msg.method_name, ex->method == MSRP_M_SEND     ? "SEND"
						       : ex->method == MSRP_M_REPORT ? "REPORT"
										     : "AUTH"));
	cr_assert_eq(total_allocs, allocs, "%s: a whole head needs no buffer", ex->name);
	msrp_parser_free(&p);
	guard_release(g);
}

Test(msrp_parse, rfc_examples_whole_split_bytewise)
{
	struct msrp_parse_cfg cfg = make_cfg();

	for (size_t i = 0; i < NEXAMPLES; i++) {
		const struct example *ex = &examples[i];
		struct run whole;
		char want[1024];

		check_example_head(&cfg, ex);
		check_splits(&cfg, ex->frame, strlen(ex->frame), &whole);
		cr_assert_eq(whole.heads, 1, "%s", ex->name);
		cr_assert_eq(whole.ends, 1, "%s", ex->name);
		cr_assert_eq(whole.error, 0, "%s: %s", ex->name, whole.t.p);
		cr_assert_eq(whole.flag, ex->flag, "%s", ex->name);
		snprintf(want, sizeof(want), "BODY %zu [%s]\nEND %c tid=%s\n",
			 ex->body ? strlen(ex->body) : 0, ex->body ? ex->body : "", ex->flag,
			 ex->tid);
		cr_assert(strstr(whole.t.p, want), "%s: want\n%s\nin\n%s", ex->name, want,
			  whole.t.p);
		if (ex->body)
			cr_assert_eq(whole.bodies, 1, "%s: a whole body is one BODY", ex->name);
		run_free(&whole);
	}
	cr_assert_eq(live_bufs, 0);
	cr_assert_gt(total_allocs, 0, "split heads used head buffers");
	cr_assert_gt(stats.heads_split, 0);
	cr_assert_eq(stats.errors[MSRP_PE_SYNTAX], 0);
}

Test(msrp_parse, pipelined_frames)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct buf all = { 0 };
	struct run whole, one;
	struct buf want = { 0 };

	put(&want, "", 0);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < NEXAMPLES; i++) {
			put(&all, examples[i].frame, strlen(examples[i].frame));
			if (round == 0) {
				feed_whole(&cfg, examples[i].frame, strlen(examples[i].frame), &one);
				put(&want, one.t.p, one.t.len);
				run_free(&one);
			}
		}
	}
	memset(&stats, 0, sizeof(stats));
	feed_whole(&cfg, all.p, all.len, &whole);
	cr_assert_eq(whole.heads, 3 * NEXAMPLES);
	cr_assert_eq(whole.ends, 3 * NEXAMPLES);
	cr_assert_eq(stats.frames, 3 * NEXAMPLES);
	cr_assert_eq(stats.heads, 3 * NEXAMPLES);
	cr_assert_eq(stats.heads_split, 0);
	cr_assert_eq(total_allocs, 0, "pipelined whole frames need no head buffer");
	/* the transcript of the stream is the three rounds of single-frame transcripts */
	cr_assert_eq(whole.t.len, 3 * want.len);
	for (int round = 0; round < 3; round++)
		cr_assert(memcmp(whole.t.p + round * want.len, want.p, want.len) == 0);
	run_free(&whole);
	/* one round split everywhere, and bytewise */
	all.len = 0;
	for (size_t i = 0; i < NEXAMPLES; i++)
		put(&all, examples[i].frame, strlen(examples[i].frame));
	check_splits(&cfg, all.p, all.len, &whole);
	cr_assert_str_eq(whole.t.p, want.p);
	run_free(&whole);
	buf_free(&all);
	buf_free(&want);
}

/* Three-way splits of a pipelined pair: every (i, j) pair of cut positions. */
Test(msrp_parse, pipelined_three_pieces)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct buf all = { 0 };
	struct run whole, r;

	put(&all, rfc4975_s10_2_send, strlen(rfc4975_s10_2_send));
	put(&all, rfc4975_s10_1_200, strlen(rfc4975_s10_1_200));
	feed_whole(&cfg, all.p, all.len, &whole);
	for (size_t i = 1; i < all.len; i += 3) {
		for (size_t j = i + 1; j < all.len; j += 5) {
			size_t cuts[2] = { i, j };

			feed_cuts(&cfg, all.p, all.len, cuts, 2, &r);
			cr_assert_str_eq(r.t.p, whole.t.p, "cuts %zu %zu", i, j);
			run_free(&r);
		}
	}
	run_free(&whole);
	buf_free(&all);
}

/* ---- bodies with lookalike end-lines ------------------------------------------------ */

static void check_body(const char *tid, const char *body, enum msrp_flag flag)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct buf f = { 0 };
	struct run whole;
	char want[64];

	putf(&f, "MSRP %s SEND\r\nTo-Path: " BOB "\r\nFrom-Path: " ALICEPC "\r\n"
		 "Content-Type: application/octet-stream\r\n\r\n", tid);
	put(&f, body, strlen(body));
	putf(&f, "\r\n-------%s%c\r\n", tid, flag);
	/* and a frame after it, which must still be found */
	putf(&f, "MSRP %s 200 OK\r\nTo-Path: " ALICEPC "\r\nFrom-Path: " BOB "\r\n-------%s$\r\n",
	     tid, tid);
	check_splits(&cfg, f.p, f.len, &whole);
	cr_assert_eq(whole.error, 0, "body [%s]: %s", body, whole.t.p);
	cr_assert_eq(whole.heads, 2, "body [%s]: %s", body, whole.t.p);
	cr_assert_eq(whole.ends, 2);
	snprintf(want, sizeof(want), "BODY %zu [", strlen(body));
	cr_assert(strstr(whole.t.p, want), "body [%s]:\n%s", body, whole.t.p);
	cr_assert(memmem(whole.t.p, whole.t.len, body, strlen(body)), "body [%s]", body);
	snprintf(want, sizeof(want), "END %c tid=%s\n", flag, tid);
	cr_assert(strstr(whole.t.p, want));
	run_free(&whole);
	buf_free(&f);
}

Test(msrp_parse, lookalike_end_lines)
{
	static const char *const bodies[] = {
		"",
		"x",
		"\r",
		"\r\n",
		"\r\r\n",
		"line\r\n-------othertid$\r\nmore",
		"\r\n------abcd$\r\n",                 /* 6 hyphens */
		"\r\n--------abcd$\r\n",               /* 8 hyphens */
		"\r\n-------abcdX\r\n",                /* the tid, then no flag */
		"\r\n-------abcde$\r\n",               /* a longer tid */
		"\r\n-------abc$\r\n",                 /* a shorter tid */
		"\r\n-------abcd$X",                   /* flag, no CRLF */
		"\r\n-------abcd$\rX",                 /* flag, CR, no LF */
		"\r\n-------abcd$\r\r\n-------abcd+x", /* CR restarts a match */
		"\r\n-------ab\r\ncd$\r\n",            /* CR LF inside the tid */
		"\r\n-------abcd",                     /* ends right where the flag would be */
		"\r\n-------abcd$\r",
		"-------abcd$\r\n",                    /* no CRLF before: body */
		"\n-------abcd$\r\n",                  /* LF without CR: body */
		"\r\n-------ABCD$\r\n",                /* tid compared exactly */
		"\r\n\r\n\r\n\r\n",
		"\r\n-\r\n--\r\n---\r\n----\r\n-----\r\n------\r\n-------\r\n-------a\r\n",
		"binary \0 bytes",
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		check_body("abcd", bodies[i], MSRP_FLAG_END);
		check_body("abcd", bodies[i], MSRP_FLAG_MORE);
		check_body("abcd", bodies[i], MSRP_FLAG_ABORT);
	}
	/* tids with the characters that may follow the first */
	check_body("a-b.c+d%e=f", "\r\n-------a-b.c+d%e=f+x\r\n-------a-b.c+d%e=\r\n", MSRP_FLAG_END);
	check_body("a+++", "\r\n-------a+++\r\n-------a++++x", MSRP_FLAG_MORE);
	check_body("a---", "\r\n----------a---$x\r\n-------a----$\r\n", MSRP_FLAG_END);
	check_body("Z234567890123456789012345678901X", "\r\n-------Z23456789012345678901234567890$",
		   MSRP_FLAG_END);
	cr_assert_gt(stats.held_back, 0, "split lookalikes were handed out from the pattern");
}

/* ---- errors ------------------------------------------------------------------------- */

#define TP "To-Path: " BOB "\r\n"
#define FP "From-Path: " ALICEPC "\r\n"

struct bad {
	const char *in;
	int status;
	enum msrp_perr err;
	const char *tid;         /* expected in the ERROR, "" when unknown */
};

static const struct bad bads[] = {
	/* start line */
	{ "GET / HTTP/1.1\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "msrp abcd SEND\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP  abcd SEND\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abc SEND\r\n", 400, MSRP_PE_SYNTAX, "" },              /* tid of 3 */
	{ "MSRP abcdefghijklmnopqrstuvwxyz0123456 SEND\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP -abc SEND\r\n", 400, MSRP_PE_SYNTAX, "" },             /* tid's first char */
	{ "MSRP ab/c SEND\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abcd send\r\n", 400, MSRP_PE_SYNTAX, "" },             /* lower-case method */
	{ "MSRP abcd SEND \r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abcd\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abcd \r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abcd 20\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abcd 2000\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abcd 099 x\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abcd 200 O\x01K\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "MSRP abcd SEND\n", 400, MSRP_PE_SYNTAX, "" },               /* bare LF */
	{ "MSRP abcd SE\rND\r\n", 400, MSRP_PE_SYNTAX, "" },
	{ "\r\nMSRP abcd SEND\r\n", 400, MSRP_PE_SYNTAX, "" },
	/* header lines */
	{ "MSRP abcd SEND\r\n" TP "From-Path " ALICEPC "\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP " From-Path: x\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP "From Path: x\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP ": x\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP "1X: x\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP "X: a\x7f\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP "X: a\rb\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP "X: a\n", 400, MSRP_PE_SYNTAX, "abcd" },
	/* end-lines of frames without a body */
	{ "MSRP abcd SEND\r\n" TP FP "-------abce$\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "-------abcd!\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "-------abcd$\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "------abcd$\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "--------abcd$\r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	{ "MSRP abcd 200 OK\r\n" TP FP "-------abcd$ \r\n", 400, MSRP_PE_SYNTAX, "abcd" },
	/* semantics */
	{ "MSRP abcd SEND\r\n" FP "-------abcd$\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd SEND\r\n" TP "-------abcd$\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd 200 OK\r\n" TP "-------abcd$\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd SEND\r\n-------abcd$\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd SEND\r\n\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "\r\nbody\r\n-------abcd$\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd 200 OK\r\n" TP FP "Content-Type: text/plain\r\n\r\nx\r\n-------abcd$\r\n", 400,
	  MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd SEND\r\n" TP TP FP "-------abcd$\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "to-path: x\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "Message-ID: a\r\nMessage-ID: b\r\n", 400, MSRP_PE_SEMANTIC,
	  "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "Content-Type: a/b\r\nCONTENT-TYPE: a/b\r\n", 400,
	  MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd SEND\r\n" TP FP "Byte-Range: 1-1/1\r\nByte-Range: 1-1/1\r\n", 400,
	  MSRP_PE_SEMANTIC, "abcd" },
	/* an empty path is none (nobody to answer) */
	{ "MSRP abcd SEND\r\nTo-Path: \r\n" FP "-------abcd$\r\n", 400, MSRP_PE_SEMANTIC, "abcd" },
	{ "MSRP abcd AUTH\r\n" TP "From-Path:  \t \r\n-------abcd$\r\n", 400, MSRP_PE_SEMANTIC,
	  "abcd" },
};

Test(msrp_parse, errors)
{
	struct msrp_parse_cfg cfg = make_cfg();

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		size_t len = strlen(b->in);
		uint64_t before;
		struct run whole;
		char want[128];

		memset(&stats, 0, sizeof(stats));
		before = stats.errors[b->err];
		feed_whole(&cfg, b->in, len, &whole);
		cr_assert_eq(whole.error, b->status, "#%zu [%s]: %s", i, b->in, whole.t.p);
		cr_assert_eq(whole.err, b->err, "#%zu [%s]: %s", i, b->in, whole.t.p);
		cr_assert_eq(stats.errors[b->err], before + 1, "#%zu counted", i);
		snprintf(want, sizeof(want), "tid=%s req=%d", b->tid,
			 *b->tid ? !strstr(b->in, " OK\r\n") : -1);
		cr_assert(strstr(whole.t.p, want), "#%zu: want %s in %s", i, want, whole.t.p);
		run_free(&whole);
		check_splits(&cfg, b->in, len, &whole);
		run_free(&whole);
	}
	cr_assert_eq(live_bufs, 0);
}

/* A NUL byte is no utf8text. */
Test(msrp_parse, nul_in_header_value)
{
	struct msrp_parse_cfg cfg = make_cfg();
	static const char in[] = "MSRP abcd SEND\r\n" TP "X: a\0b\r\n" FP "-------abcd$\r\n";
	struct run whole;

	check_splits(&cfg, in, sizeof(in) - 1, &whole);
	cr_assert_eq(whole.error, 400);
	cr_assert_eq(whole.err, MSRP_PE_SYNTAX);
	run_free(&whole);
}

/* The caller learns the method to decide on a response (no response to a REPORT). */
Test(msrp_parse, error_carries_request_identity)
{
	struct msrp_parse_cfg cfg = make_cfg();
	static const char in[] = "MSRP r3p0rt REPORT\r\n" TP "Status: 000 200 OK\r\n\r\n";
	struct msrp_parser p;
	struct msrp_ev ev;

	msrp_parser_init(&p, &cfg);
	cr_assert_eq(msrp_parse(&p, in, sizeof(in) - 1, &ev), 0);
	cr_assert_eq(ev.type, MSRP_EV_ERROR);
	cr_assert_eq(ev.status, 400);
	cr_assert(slice_is(ev.tid, "r3p0rt"));
	cr_assert_eq(ev.is_request, 1);
	cr_assert_eq(ev.method, MSRP_M_REPORT);
	cr_assert_str_eq(ev.reason, "From-Path missing");
	msrp_parser_free(&p);
}

/* ---- what is accepted -------------------------------------------------------------- */

Test(msrp_parse, liberal_where_harmless)
{
	struct msrp_parse_cfg cfg = make_cfg();
	static const char in[] =
		"MSRP ab.c-d+e%f=g NICKNAME\r\n"
		"from-path:msrp://a.example.com/x;tcp\r\n"
		"X-Custom:\t  spaced value \t \r\n"
		"TO-PATH:   msrp://b.example.com/y;tcp  \r\n"
		"Empty:\r\n"
		"Content-Type: text/plain\r\n"
		"-------ab.c-d+e%f=g#\r\n"
		"MSRP abcd 200\r\n" TP FP "-------abcd$\r\n"
		"MSRP abcd 200 \r\n" TP FP "-------abcd$\r\n"
		"MSRP abcd 999 \xc3\xa9t\xc3\xa9 \tdone\r\n" TP FP "-------abcd$\r\n";
	const char *g = guard_copy(in, sizeof(in) - 1);
	struct msrp_parser p;
	struct msrp_ev ev;
	size_t off = 0, n = sizeof(in) - 1;
	cm_slice v;

	msrp_parser_init(&p, &cfg);
	off += msrp_parse(&p, g + off, n - off, &ev);
	cr_assert_eq(ev.type, MSRP_EV_HEAD);
	cr_assert_eq(ev.msg.method, MSRP_M_OTHER, "an unknown method is a frame (501 above)");
	cr_assert(slice_is(ev.msg.method_name, "NICKNAME"));
	cr_assert(slice_is(ev.msg.tid, "ab.c-d+e%f=g"));
	cr_assert_eq(ev.msg.nhdrs, 5);
	cr_assert_eq(ev.msg.has_body, 0, "Content-Type without a blank line: no body");
	cr_assert(slice_is(msrp_hdr_get(&ev.msg, MSRP_H_TO_PATH), "msrp://b.example.com/y;tcp"));
	cr_assert(slice_is(msrp_hdr_get(&ev.msg, MSRP_H_FROM_PATH), "msrp://a.example.com/x;tcp"));
	v = msrp_hdr_get_name(&ev.msg, (cm_slice)CM_SLICE_LIT("x-custom"));
	cr_assert(slice_is(v, "spaced value"), "[%.*s]", SL(v));
	v = msrp_hdr_get_name(&ev.msg, (cm_slice)CM_SLICE_LIT("EMPTY"));
	cr_assert(v.p != NULL && v.len == 0);
	cr_assert(slice_is(msrp_hdr_get(&ev.msg, MSRP_H_OTHER), "spaced value"));
	cr_assert_eq(ev.msg.first[MSRP_H_FROM_PATH], 0);
	cr_assert_eq(ev.msg.first[MSRP_H_TO_PATH], 2);
	cr_assert_eq(ev.msg.first[MSRP_H_MESSAGE_ID], -1);
	off += msrp_parse(&p, g + off, n - off, &ev);
	cr_assert_eq(ev.type, MSRP_EV_END);
	cr_assert_eq(ev.flag, MSRP_FLAG_ABORT);
	cr_assert(slice_is(ev.tid, "ab.c-d+e%f=g"));
	cr_assert(msrp_parser_idle(&p));
	off += msrp_parse(&p, g + off, n - off, &ev);
	cr_assert_eq(ev.type, MSRP_EV_HEAD);
	cr_assert_eq(ev.msg.status, 200);
	cr_assert(ev.msg.comment.len == 0);
	off += msrp_parse(&p, g + off, n - off, &ev);
	cr_assert_eq(ev.type, MSRP_EV_END);
	off += msrp_parse(&p, g + off, n - off, &ev);
	cr_assert_eq(ev.type, MSRP_EV_HEAD);
	cr_assert(ev.msg.comment.len == 0);
	off += msrp_parse(&p, g + off, n - off, &ev);
	off += msrp_parse(&p, g + off, n - off, &ev);
	cr_assert_eq(ev.type, MSRP_EV_HEAD);
	cr_assert_eq(ev.msg.status, 999);
	cr_assert(slice_is(ev.msg.comment, "\xc3\xa9t\xc3\xa9 \tdone"));
	off += msrp_parse(&p, g + off, n - off, &ev);
	cr_assert_eq(ev.type, MSRP_EV_END);
	cr_assert_eq(msrp_parse(&p, g + off, n - off, &ev), 0);
	cr_assert_eq(ev.type, MSRP_EV_NEED_MORE);
	cr_assert_eq(off, n);
	msrp_parser_free(&p);
	guard_release(g);
}

/* ---- limits ------------------------------------------------------------------------- */

/* A frame whose To-Path value is <pad> bytes longer than "x". */
static void frame_with_line(struct buf *f, size_t value_len, unsigned extra_hdrs)
{
	f->len = 0;
	put(f, "MSRP abcd SEND\r\nTo-Path: ", 25);
	for (size_t i = 0; i < value_len; i++)
		put(f, "x", 1);
	put(f, "\r\n" FP, 2 + strlen(FP));
	for (unsigned i = 0; i < extra_hdrs; i++)
		putf(f, "X-%u: v\r\n", i);
	put(f, "-------abcd$\r\n", 14);
}

static void expect(const struct msrp_parse_cfg *cfg, const struct buf *f, int status,
		   enum msrp_perr err)
{
	struct run whole;
	uint64_t before = stats.errors[err];

	feed_whole(cfg, f->p, f->len, &whole);
	cr_assert_eq(whole.error, status, "%s", whole.t.p);
	if (status) {
		cr_assert_eq(whole.err, err, "%s", whole.t.p);
		cr_assert_eq(stats.errors[err], before + 1);
	} else {
		cr_assert_eq(whole.ends, 1, "%s", whole.t.p);
	}
	run_free(&whole);
	/* the same answer whatever the split */
	check_splits(cfg, f->p, f->len, &whole);
	run_free(&whole);
}

Test(msrp_parse, limit_line)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct buf f = { 0 };

	cfg.limits.max_line = 100;
	/* "To-Path: " + value + CRLF = 100 bytes exactly */
	frame_with_line(&f, 100 - 9 - 2, 0);
	expect(&cfg, &f, 0, MSRP_PE_NONE);
	frame_with_line(&f, 100 - 9 - 2 + 1, 0);
	expect(&cfg, &f, 400, MSRP_PE_LINE);
	/* a start line over the limit, no LF at all */
	f.len = 0;
	put(&f, "MSRP ", 5);
	for (int i = 0; i < 200; i++)
		put(&f, "a", 1);
	expect(&cfg, &f, 400, MSRP_PE_LINE);
	buf_free(&f);
}

Test(msrp_parse, limit_headers)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct buf f = { 0 };

	cfg.limits.max_headers = 10;
	frame_with_line(&f, 1, 8);             /* To-Path, From-Path and 8 more */
	expect(&cfg, &f, 0, MSRP_PE_NONE);
	frame_with_line(&f, 1, 9);
	expect(&cfg, &f, 400, MSRP_PE_HEADERS);
	cfg.limits.max_headers = 1000;         /* clamped to MSRP_MAX_HEADERS */
	cfg.limits.max_head = 1 << 20;
	frame_with_line(&f, 1, MSRP_MAX_HEADERS - 2);
	expect(&cfg, &f, 0, MSRP_PE_NONE);
	frame_with_line(&f, 1, MSRP_MAX_HEADERS - 1);
	expect(&cfg, &f, 400, MSRP_PE_HEADERS);
	buf_free(&f);
}

Test(msrp_parse, limit_head)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct buf f = { 0 };
	size_t head;

	frame_with_line(&f, 50, 3);
	head = f.len - 14;                     /* all but the end-line */
	cfg.limits.max_head = (uint32_t)head;
	expect(&cfg, &f, 0, MSRP_PE_NONE);
	cfg.limits.max_head = (uint32_t)head - 1;
	expect(&cfg, &f, 400, MSRP_PE_HEAD);
	/* with a body the blank line counts too */
	f.len = 0;
	put(&f, "MSRP abcd SEND\r\n" TP FP "Content-Type: a/b\r\n\r\nbody\r\n-------abcd$\r\n",
	    strlen("MSRP abcd SEND\r\n" TP FP "Content-Type: a/b\r\n\r\nbody\r\n-------abcd$\r\n"));
	head = f.len - strlen("body\r\n-------abcd$\r\n");
	cfg.limits.max_head = (uint32_t)head;
	expect(&cfg, &f, 0, MSRP_PE_NONE);
	cfg.limits.max_head = (uint32_t)head - 1;
	expect(&cfg, &f, 400, MSRP_PE_HEAD);
	buf_free(&f);
}

Test(msrp_parse, limit_body)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct buf f = { 0 };
	struct run whole;
	const char *body = "0123456789\r\n-------abce+\r\n0123456789";   /* 36 bytes */
	size_t blen = strlen(body);

	put(&f, "MSRP abcd SEND\r\n" TP FP "Content-Type: a/b\r\n\r\n",
	    strlen("MSRP abcd SEND\r\n" TP FP "Content-Type: a/b\r\n\r\n"));
	put(&f, body, blen);
	put(&f, "\r\n-------abcd$\r\n", 16);
	cfg.limits.max_body = blen;
	expect(&cfg, &f, 0, MSRP_PE_NONE);
	cfg.limits.max_body = blen - 1;
	expect(&cfg, &f, 413, MSRP_PE_BODY);
	/* exactly max_body bytes were handed out before the 413, whatever the split */
	feed_whole(&cfg, f.p, f.len, &whole);
	cr_assert(strstr(whole.t.p, "BODY 35\nERROR 413"), "%s", whole.t.p);
	run_free(&whole);
	cfg.limits.max_body = 0;
	expect(&cfg, &f, 413, MSRP_PE_BODY);
	buf_free(&f);
}

/* ---- big bodies --------------------------------------------------------------------- */

Test(msrp_parse, one_mib_body_in_1k_pieces)
{
	struct msrp_parse_cfg cfg = make_cfg();
	const size_t blen = 1u << 20, piece = 1024;
	struct buf f = { 0 };
	size_t *cuts, ncuts = 0, hlen;
	struct run r;
	char *body = malloc(blen);
	uint32_t x = 12345;

	cr_assert(body);
	for (size_t i = 0; i < blen; i++) {
		x = x * 1103515245u + 12345u;
		/* lots of CRs, LFs and hyphens to keep the end-line search busy */
		body[i] = "\r\n-abcd$+#"[(x >> 16) % 10];
	}
	put(&f, "MSRP abcd SEND\r\n" TP FP "Byte-Range: 1-1048576/1048576\r\n"
		"Content-Type: application/octet-stream\r\n\r\n",
	    strlen("MSRP abcd SEND\r\n" TP FP "Byte-Range: 1-1048576/1048576\r\n"
		   "Content-Type: application/octet-stream\r\n\r\n"));
	hlen = f.len;
	put(&f, body, blen);
	put(&f, "\r\n-------abcd$\r\n", 16);
	cuts = malloc((f.len / piece + 1) * sizeof(*cuts));
	for (size_t c = piece; c < f.len; c += piece)
		cuts[ncuts++] = c;
	memset(&stats, 0, sizeof(stats));
	feed_cuts(&cfg, f.p, f.len, cuts, ncuts, &r);
	cr_assert_eq(r.error, 0, "%.300s", r.t.p);
	cr_assert_eq(r.ends, 1);
	cr_assert_eq(stats.body_bytes, blen);
	cr_assert(strstr(r.t.p, "BODY 1048576 ["));
	cr_assert(memcmp(strstr(r.t.p, "BODY 1048576 [") + 14, body, blen) == 0);
	cr_assert_gt(r.bodies, blen / piece - 1);
	(void)hlen;
	run_free(&r);
	/* and at an odd piece size that cuts end-line lookalikes everywhere */
	ncuts = 0;
	free(cuts);
	cuts = malloc((f.len / 7 + 1) * sizeof(*cuts));
	for (size_t c = 7; c < f.len; c += 7)
		cuts[ncuts++] = c;
	feed_cuts(&cfg, f.p, f.len, cuts, ncuts, &r);
	cr_assert_eq(r.error, 0);
	cr_assert(memcmp(strstr(r.t.p, "BODY 1048576 [") + 14, body, blen) == 0);
	run_free(&r);
	free(cuts);
	free(body);
	buf_free(&f);
}

/* ---- head buffer -------------------------------------------------------------------- */

Test(msrp_parse, head_buffer_lifecycle)
{
	struct msrp_parse_cfg cfg = make_cfg();
	const char *in = rfc4975_s10_1_send;
	size_t len = strlen(in), cut = 30;
	struct msrp_parser p;
	struct msrp_ev ev;
	const char *g1 = guard_copy(in, cut), *g2 = guard_copy(in + cut, len - cut);
	size_t used;

	msrp_parser_init(&p, &cfg);
	cr_assert_eq(msrp_parse(&p, g1, cut, &ev), cut);
	cr_assert_eq(ev.type, MSRP_EV_NEED_MORE);
	cr_assert_eq(live_bufs, 1);
	cr_assert_eq(msrp_parser_idle(&p), 0);
	guard_release(g1);                     /* the parser kept its own copy */
	used = msrp_parse(&p, g2, len - cut, &ev);
	cr_assert_eq(ev.type, MSRP_EV_HEAD);
	cr_assert(slice_is(ev.msg.tid, "d93kswow"));
	cr_assert(slice_is(msrp_hdr_get(&ev.msg, MSRP_H_CONTENT_TYPE), "text/plain"));
	cr_assert(!(ev.msg.tid.p >= g2 && ev.msg.tid.p < g2 + len), "tid in the head buffer");
	cr_assert_eq(live_bufs, 1, "held until the next call");
	used += msrp_parse(&p, g2 + used, len - cut - used, &ev);
	cr_assert_eq(live_bufs, 0, "given back at the next call");
	cr_assert_eq(ev.type, MSRP_EV_BODY);
	cr_assert(slice_is(ev.body, "Hi, I'm Alice!"));
	used += msrp_parse(&p, g2 + used, len - cut - used, &ev);
	cr_assert_eq(ev.type, MSRP_EV_END);
	cr_assert_eq(used, len - cut);
	cr_assert(msrp_parser_idle(&p));
	guard_release(g2);
	/* a connection closed with a head pending gives its buffer back */
	cr_assert_eq(msrp_parse(&p, in, 10, &ev), 10);
	cr_assert_eq(live_bufs, 1);
	msrp_parser_free(&p);
	cr_assert_eq(live_bufs, 0);
	cr_assert_lt(sizeof(struct msrp_parser), 128, "parser is %zu bytes",
		     sizeof(struct msrp_parser));
}

Test(msrp_parse, head_buffer_refused)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct msrp_parser p;
	struct msrp_ev ev;

	fail_allocs = 1;
	msrp_parser_init(&p, &cfg);
	cr_assert_eq(msrp_parse(&p, "MSRP ab", 7, &ev), 0);
	cr_assert_eq(ev.type, MSRP_EV_ERROR);
	cr_assert_eq(ev.status, 0, "close without answering");
	cr_assert_eq(ev.err, MSRP_PE_NOMEM);
	cr_assert_eq(stats.errors[MSRP_PE_NOMEM], 1);
	msrp_parser_free(&p);
	fail_allocs = 0;
	short_cap = 100;                       /* smaller than max_head: refused too */
	msrp_parser_init(&p, &cfg);
	cr_assert_eq(msrp_parse(&p, "MSRP ab", 7, &ev), 0);
	cr_assert_eq(ev.err, MSRP_PE_NOMEM);
	cr_assert_eq(live_bufs, 0);
	msrp_parser_free(&p);
	short_cap = 0;
}

Test(msrp_parse, events_without_data)
{
	struct msrp_parse_cfg cfg = make_cfg();
	struct msrp_parser p;
	struct msrp_ev ev;
	static const char in[] = "MSRP abcd SEND\r\n" TP FP "Content-Type: a/b\r\n\r\nxyz\r\n"
				 "-------abcd+\r\n";
	size_t n = sizeof(in) - 1, off = 0;

	msrp_parser_init(&p, &cfg);
	cr_assert_eq(msrp_parse(&p, NULL, 0, &ev), 0);
	cr_assert_eq(ev.type, MSRP_EV_NEED_MORE);
	cr_assert_eq(total_allocs, 0);
	off += msrp_parse(&p, in, n, &ev);
	cr_assert_eq(ev.type, MSRP_EV_HEAD);
	off += msrp_parse(&p, in + off, n - off, &ev);
	cr_assert_eq(ev.type, MSRP_EV_BODY);
	cr_assert_eq(off, n, "body and end-line consumed together");
	cr_assert(slice_is(ev.body, "xyz"));
	cr_assert_eq(msrp_parse(&p, in + off, 0, &ev), 0);
	cr_assert_eq(ev.type, MSRP_EV_END, "END owed with no data left");
	cr_assert_eq(ev.flag, MSRP_FLAG_MORE);
	cr_assert_eq(msrp_parse(&p, in + off, 0, &ev), 0);
	cr_assert_eq(ev.type, MSRP_EV_NEED_MORE);
	msrp_parser_free(&p);
}
