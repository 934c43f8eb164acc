/* fuzz_sip_msg.c — libFuzzer target for the SIP message parser (sip/sip_parse.c), the lazy
 * header-value parsers (sip/sip_hdr.c) and the response-from-request writer
 * (sip/sip_write.c).
 *
 * Input: bytes 0..1 pick a split position, the rest is parsed three ways: as a datagram,
 * as a stream whole, and as a stream that first holds only the bytes before the split
 * (then all of them; each piece an exact-size heap copy freed once parsed, so that ASan
 * sees a read past it). The two stream runs must give the same transcript (a hash of
 * every message's start line, headers, body and parsed header values, and of the error):
 * abort() otherwise. Every header of every message goes through the value parser of its
 * kind; a request the parser calls replyable gets a 400 built from it, which must parse as
 * a response. */
#include <stdlib.h>
#include <string.h>

#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "sip/sip_write.h"
#include "tests/fuzz/fuzz_check.h"

static struct sip_parse_stats stats;
static struct sip_parse_cfg cfg;

/* A transcript is a running FNV-1a hash: two runs agree when their hashes do. */
struct out {
	uint64_t h;
	uint64_t n;                /* items mixed in */
};

static void put(struct out *o, const void *p, size_t n)
{
	const unsigned char *b = p;

	if (!o->n++)
		o->h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		o->h = (o->h ^ b[i]) * 0x100000001b3ull;
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

/* 1 when <s> lies in [<lo>, <lo> + <n>) (an empty slice lies anywhere). */
static int inside(cm_slice s, const char *lo, size_t n)
{
	return s.len == 0 || (s.p >= lo && (size_t)(s.p - lo) <= n && s.len <= n - (size_t)(s.p - lo));
}

/* Every value through its parser; the results must not depend on where the bytes lie. */
static void values(struct out *o, const struct sip_msg *m)
{
	struct sip_hdr_iter it;
	cm_slice el;

	for (int id = 1; id < SIP_H__COUNT; id++) {
		sip_hdr_iter_init(&it, m, (enum sip_hid)id);
		for (int k = 0; k < 64 && sip_hdr_iter_next(&it, &el) == 1; k++) {
			struct sip_addr a;
			struct sip_via v;
			struct sip_uri u;
			int rc = 0;

			switch (id) {
			case SIP_H_VIA:
				rc = sip_via_parse(el, &v);
				if (rc == 0)
					put_slice(o, v.branch), put_u64(o, v.port);
				break;
			case SIP_H_FROM:
			case SIP_H_TO:
			case SIP_H_CONTACT:
			case SIP_H_ROUTE:
			case SIP_H_RECORD_ROUTE:
				rc = sip_addr_parse(el, &a);
				if (rc == 0) {
					put_slice(o, a.tag);
					rc = sip_uri_parse(a.uri, &u);
					put_u64(o, (uint64_t)rc);
				}
				break;
			default:
				break;
			}
			put_u64(o, (uint64_t)rc);
		}
	}
	for (unsigned i = 0; i < m->nhdrs; i++) {
		cm_slice v = m->hdrs[i].value, rest = v, tok;
		struct sip_cseq cs;
		struct sip_ctype ct;
		struct msrp_auth_params ap;
		uint32_t n = 0;
		int rc = 0;

		switch (m->hdrs[i].id) {
		case SIP_H_CSEQ:
			rc = sip_cseq_parse(v, &cs);
			break;
		case SIP_H_CALL_ID:
			rc = sip_callid_parse(v, &tok);
			break;
		case SIP_H_CONTENT_LENGTH:
		case SIP_H_MAX_FORWARDS:
		case SIP_H_EXPIRES:
			rc = sip_uint_parse(v, UINT32_MAX, &n);
			put_u64(o, n);
			break;
		case SIP_H_CONTENT_TYPE:
			rc = sip_ctype_parse(v, &ct);
			break;
		case SIP_H_ALLOW:
		case SIP_H_SUPPORTED:
		case SIP_H_REQUIRE:
			for (int k = 0; k < 64 && (rc = sip_token_next(&rest, &tok)) == 1; k++)
				put_slice(o, tok);
			break;
		case SIP_H_WWW_AUTHENTICATE:
		case SIP_H_AUTHORIZATION:
		case SIP_H_PROXY_AUTHENTICATE:
		case SIP_H_PROXY_AUTHORIZATION:
			rc = sip_auth_parse(v, &ap);
			break;
		default:
			break;
		}
		put_u64(o, (uint64_t)rc);
	}
	if (m->kind == SIP_KIND_REQUEST) {
		struct sip_uri u;

		put_u64(o, (uint64_t)sip_uri_parse(m->ruri, &u));
	}
}

static void describe(struct out *o, const struct sip_msg *m, const char *lo, size_t n)
{
	put_u64(o, (uint64_t)m->kind * 1000 + (uint64_t)m->err);
	put_u64(o, (uint64_t)m->replyable * 1000 + (uint64_t)m->err_status);
	if (m->kind != SIP_KIND_REQUEST && m->kind != SIP_KIND_RESPONSE)
		return;
	put_u64(o, (uint64_t)m->status);
	put_slice(o, m->method_name);
	put_slice(o, m->ruri);
	put_slice(o, m->reason);
	put_u64(o, m->nhdrs);
	CHECK(m->nhdrs <= SIP_MAX_HEADERS);
	for (unsigned i = 0; i < m->nhdrs; i++) {
		CHECK(inside(m->hdrs[i].name, lo, n) && inside(m->hdrs[i].value, lo, n));
		put_u64(o, m->hdrs[i].id);
		put_slice(o, m->hdrs[i].name);
		put_slice(o, m->hdrs[i].value);
	}
	CHECK(inside(m->body, lo, n));
	put_slice(o, m->body);
	values(o, m);
}

/* A 400 from a replyable request must parse as a response. */
static void answer(const struct sip_msg *m)
{
	static char buf[70000];
	struct sip_msg r;
	ssize_t n;

	if (!m->replyable)
		return;
	n = sip_write_response_from(buf, sizeof(buf), m, 400, CM_SLICE_NULL,
				    CM_SLICE_LIT("fz1"), NULL, 0, CM_SLICE_NULL);
	if (n < 0)
		return;
	CHECK(sip_parse_msg(&cfg, buf, (size_t)n, &r) == 0);
	CHECK(r.kind == SIP_KIND_RESPONSE && r.status == 400);
}

/* The stream <in> held first up to <cut> bytes, then all. */
static void stream(struct out *o, const char *in, size_t len, size_t cut)
{
	struct sip_stream s;
	struct sip_msg m;
	size_t off = 0, stops[2] = { cut, len };

	sip_stream_init(&s, &cfg);
	for (int k = 0; k < 2; k++) {
		for (unsigned guard = 0; off <= stops[k]; guard++) {
			size_t n = stops[k] - off;
			char *piece = malloc(n ? n : 1);
			long r;

			CHECK(piece && guard < 1000000);
			memcpy(piece, in + off, n);
			r = sip_stream_parse(&s, piece, n, &m);
			if (r == SIP_AGAIN) {
				free(piece);
				break;
			}
			if (r == SIP_ERROR) {
				describe(o, &m, piece, n);
				answer(&m);
				CHECK(sip_stream_parse(&s, piece, n, &m) == SIP_ERROR);
				free(piece);
				return;
			}
			CHECK(r > 0 && (size_t)r <= n && (size_t)r == m.len);
			if (m.kind != SIP_KIND_KEEPALIVE)
				describe(o, &m, piece, n);
			free(piece);
			off += (size_t)r;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct out a = { 0 }, b = { 0 }, d = { 0 };
	struct sip_msg m;
	size_t cut;
	const char *in;

	if (size < 2)
		return 0;
	if (!cfg.stats) {
		cfg.stats = &stats;
		sip_parse_limits_default(&cfg.limits);
	}
	cut = ((size_t)data[0] << 8 | data[1]);
	in = (const char *)data + 2;
	size -= 2;
	cut = size ? cut % (size + 1) : 0;

	sip_parse_msg(&cfg, in, size, &m);
	describe(&d, &m, in, size);
	answer(&m);

	stream(&a, in, size, size);
	stream(&b, in, size, cut);
	CHECK(a.n == b.n && a.h == b.h);
	(void)d;
	return 0;
}
