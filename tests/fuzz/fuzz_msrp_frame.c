/* fuzz_msrp_frame.c — libFuzzer target for the MSRP frame parser (msrp/msrp_parse.c) and
 * the lazy header-value parsers (msrp/msrp_hdr.c).
 *
 * Input: byte 0 picks the limits and whether a bytewise run is added, bytes 1..2 the split
 * position, the rest is the stream. The stream is parsed whole, then split in two at the
 * chosen position, then (when asked, for short inputs) one byte at a time. Each piece lives
 * in its own exact-size heap copy freed once consumed, so that ASan sees a read past a
 * piece or a pointer kept into an earlier one. The runs must give the same transcript
 * (every HEAD field, the concatenated body of each frame, each flag, the error code):
 * abort() otherwise. Every slice handed out must lie in the current piece, the head buffer
 * or the parser; no head buffer may outlive its HEAD by more than a call or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msrp/msrp_hdr.h"
#include "msrp/msrp_parse.h"

#include "tests/fuzz/fuzz_check.h"


static int live;
static const char *hbuf_p;
static size_t hbuf_cap;

static void *f_alloc(void *ctx, size_t *cap)
{
	(void)ctx;
	CHECK(live == 0);
	live++;
	hbuf_p = malloc(*cap);
	hbuf_cap = *cap;
	return (void *)hbuf_p;
}

static void f_release(void *ctx, void *p)
{
	(void)ctx;
	CHECK(live == 1 && p == hbuf_p);
	live--;
	hbuf_p = NULL;
	free(p);
}

struct out {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (!o->p || o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 256;
		o->p = realloc(o->p, o->cap);
		CHECK(o->p);
	}
	if (n)
		memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void put_u64(struct out *o, uint64_t v)
{
	put(o, &v, sizeof(v));
}

static void put_slice(struct out *o, cm_slice s)
{
	put_u64(o, s.len);
	put(o, s.p, s.len);
}

static int within(cm_slice s, const char *lo, size_t n)
{
	return s.len == 0 || (s.p >= lo && s.p + s.len <= lo + n);
}

/* <s> points into the piece, the head buffer, or the parser. */
static void check_slice(cm_slice s, const char *piece, size_t n, const struct msrp_parser *p)
{
	CHECK(within(s, piece, n) || (hbuf_p && within(s, hbuf_p, hbuf_cap)) ||
	      within(s, (const char *)p, sizeof(*p)));
}

/* The lazy parsers on every value: they must not crash, and they are part of the
 * transcript so that both runs see the same values. */
static void values(struct out *o, const struct msrp_msg *m)
{
	for (unsigned i = 0; i < m->nhdrs; i++) {
		const struct msrp_hdr *h = &m->hdrs[i];
		cm_slice v = h->value, rest, a, b;
		struct msrp_range r = { 0, 0, 0 };
		struct msrp_status st = { 0, 0, CM_SLICE_NULL };
		struct msrp_ctype ct;
		enum msrp_report rep = MSRP_REPORT_ABSENT;
		uint32_t ex = 0;
		int rc = 0, k = 0;

		switch (h->id) {
		case MSRP_H_BYTE_RANGE:
			rc = msrp_hdr_range(v, &r);
			put_u64(o, r.start), put_u64(o, (uint64_t)r.end), put_u64(o, (uint64_t)r.total);
			break;
		case MSRP_H_SUCCESS_REPORT:
			rc = msrp_hdr_success_report(v, &rep);
			break;
		case MSRP_H_FAILURE_REPORT:
			rc = msrp_hdr_failure_report(v, &rep);
			break;
		case MSRP_H_STATUS:
			rc = msrp_hdr_status(v, &st);
			put_u64(o, (uint64_t)st.ns * 1000 + (uint64_t)st.code);
			break;
		case MSRP_H_EXPIRES:
		case MSRP_H_MIN_EXPIRES:
		case MSRP_H_MAX_EXPIRES:
			rc = msrp_hdr_expires(v, &ex);
			break;
		case MSRP_H_MESSAGE_ID:
			rc = msrp_hdr_ident(v);
			break;
		case MSRP_H_CONTENT_TYPE:
			rc = msrp_hdr_ctype(v, &ct);
			if (rc == 0) {
				CHECK(within(ct.type, v.p, v.len) && within(ct.params, v.p, v.len));
				rest = ct.params;
				while (k < 64 && msrp_ctype_param_next(&rest, &a, &b) == 1) {
					CHECK(within(a, v.p, v.len) && within(b, v.p, v.len));
					put_slice(o, a);
					k++;
				}
			}
			break;
		case MSRP_H_TO_PATH:
		case MSRP_H_FROM_PATH:
		case MSRP_H_USE_PATH:
			rest = v;
			while (k < 64 && msrp_path_next(&rest, &a) == 1) {
				CHECK(a.len > 0 && within(a, v.p, v.len));
				put_slice(o, a);
				k++;
			}
			break;
		default:
			break;
		}
		put_u64(o, (uint64_t)(int64_t)rc * 131 + rep * 7 + ex);
		CHECK(msrp_hdr_get(m, h->id).p != NULL);
	}
}

static void head(struct out *o, const struct msrp_msg *m, const char *piece, size_t n,
		 const struct msrp_parser *p)
{
	put(o, "H", 1);
	put_u64(o, (uint64_t)m->is_request << 32 | (uint64_t)m->method << 16 | (uint64_t)m->status);
	put_slice(o, m->tid);
	put_slice(o, m->method_name);
	put_slice(o, m->comment);
	put_u64(o, (uint64_t)m->has_body << 32 | m->nhdrs);
	check_slice(m->tid, piece, n, p);
	check_slice(m->comment, piece, n, p);
	CHECK(m->nhdrs <= MSRP_MAX_HEADERS);
	for (unsigned i = 0; i < m->nhdrs; i++) {
		put_u64(o, m->hdrs[i].id);
		put_slice(o, m->hdrs[i].name);
		put_slice(o, m->hdrs[i].value);
		check_slice(m->hdrs[i].name, piece, n, p);
		check_slice(m->hdrs[i].value, piece, n, p);
		CHECK(m->first[m->hdrs[i].id] >= 0 && m->first[m->hdrs[i].id] <= (int)i);
	}
	put(o, m->first, sizeof(m->first));
	values(o, m);
}

/* Parses <in>[0..<len>) in pieces ending at <cuts>, into <o>. */
static void run(const struct msrp_parse_cfg *cfg, const uint8_t *in, size_t len,
		const size_t *cuts, size_t ncuts, struct out *o)
{
	struct msrp_parser p;
	struct msrp_ev ev;
	struct out body = { 0 };
	size_t a = 0;
	int dead = 0;

	o->len = 0;
	msrp_parser_init(&p, cfg);
	for (size_t k = 0; k <= ncuts && !dead; k++) {
		size_t b = k < ncuts ? cuts[k] : len, n = b - a, off = 0;
		char *piece = malloc(n ? n : 1);

		CHECK(piece);
		memcpy(piece, in + a, n);
		for (unsigned rounds = 0;; rounds++) {
			size_t used = msrp_parse(&p, piece + off, n - off, &ev);

			CHECK(used <= n - off);
			CHECK(rounds < 4 * n + 16);
			off += used;
			if (ev.type == MSRP_EV_NEED_MORE) {
				CHECK(off == n);
				break;
			}
			if (ev.type == MSRP_EV_HEAD) {
				head(o, &ev.msg, piece, n, &p);
			} else if (ev.type == MSRP_EV_BODY) {
				CHECK(ev.body.len > 0);
				check_slice(ev.body, piece, n, &p);
				put(&body, ev.body.p, ev.body.len);
			} else if (ev.type == MSRP_EV_END) {
				put(o, "E", 1);
				put(o, &ev.flag, 1);
				put_slice(o, ev.tid);
				put_u64(o, body.len);
				put(o, body.p, body.len);
				body.len = 0;
			} else {
				CHECK(ev.type == MSRP_EV_ERROR);
				CHECK(ev.status == 400 || ev.status == 413);
				put(o, "X", 1);
				put_u64(o, (uint64_t)ev.status << 8 | ev.err);
				put_slice(o, ev.tid);
				put_u64(o, body.len);
				put(o, body.p, body.len);
				CHECK(msrp_parse(&p, piece + off, n - off, &ev) == 0);
				CHECK(ev.type == MSRP_EV_ERROR);
				dead = 1;
				break;
			}
		}
		free(piece);
		a = b;
	}
	msrp_parser_free(&p);
	CHECK(live == 0);
	free(body.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct out whole, other;
	static struct msrp_parse_stats stats;
	struct msrp_parse_cfg cfg = {
		.alloc = f_alloc, .release = f_release, .ctx = NULL, .stats = &stats,
	};
	size_t cut, len;
	const uint8_t *in;

	if (size < 3)
		return 0;
	msrp_parse_limits_default(&cfg.limits);
	switch (data[0] & 3) {
	case 1:
		cfg.limits = (struct msrp_limits){ 64, 4, 256, 64 };
		break;
	case 2:
		cfg.limits = (struct msrp_limits){ 200, 8, 1024, 1000 };
		break;
	case 3:
		cfg.limits = (struct msrp_limits){ 48, 3, 120, 0 };
		break;
	default:
		break;
	}
	in = data + 3;
	len = size - 3;
	cut = len ? ((size_t)data[1] << 8 | data[2]) % (len + 1) : 0;

	run(&cfg, in, len, NULL, 0, &whole);
	put(&whole, "", 0);                    /* never NULL: memcmp wants pointers */
	run(&cfg, in, len, &cut, 1, &other);
	put(&other, "", 0);
	CHECK(other.len == whole.len && memcmp(other.p, whole.p, whole.len) == 0);
	if ((data[0] & 4) && len <= 512) {
		size_t cuts[512];

		for (size_t i = 0; i + 1 < len; i++)
			cuts[i] = i + 1;
		run(&cfg, in, len, cuts, len ? len - 1 : 0, &other);
		put(&other, "", 0);
		CHECK(other.len == whole.len && memcmp(other.p, whole.p, whole.len) == 0);
	}
	return 0;
}
