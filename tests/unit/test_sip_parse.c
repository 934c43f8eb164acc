/* test_sip_parse.c — the SIP message parser (sip/sip_parse.c).
 *
 * Every input is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h), so that a read past the end crashes the test. Stream inputs are
 * fed as a growing receive buffer would hold them: every prefix (its own guarded copy,
 * unmapped once parsed) then the whole, so that every split position is tried.
 *
 * The messages are written here after the descriptions of RFC 4475 (SIP torture tests):
 * the cases are the RFC's (a tortuous INVITE with folding, odd blanks and compact names;
 * an exotic method; escapes in URIs; IPv6 references; no reason phrase; two requests in
 * one datagram; and the invalid ones: a Content-Length beyond the body, a negative or huge
 * one, huge numbers, an unbalanced quote, blanks in the Request-URI, trailing blanks
 * after the version, version 7.0, a CSeq method mismatch, a huge status code, missing
 * headers, an unquoted display name with a comma). Each test names the RFC 4475 case it
 * follows; intmeth keeps the RFC's odd strings (they are the point of it), the others are
 * rewritten with our own names and values. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "tests/lib/guard.h"

static struct sip_parse_stats stats;

static struct sip_parse_cfg make_cfg(void)
{
	struct sip_parse_cfg c = { .stats = &stats };

	sip_parse_limits_default(&c.limits);
	return c;
}

static int slice_is(cm_slice s, const char *want)
{
	size_t n = strlen(want);

	return s.len == n && (n == 0 || memcmp(s.p, want, n) == 0);
}

#define SL(s) (int)(s).len, (s).p ? (s).p : ""

/* ---- transcripts ------------------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
};

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		cr_assert(n >= 0);
		if (b->p && (size_t)n < b->cap - b->len)
			break;
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert(b->p);
		if (b->len == 0)
			b->p[0] = '\0';
	}
	b->len += (size_t)n;
}

/* One message as text: everything the parser says about it. */
static void describe(struct buf *b, const struct sip_msg *m)
{
	putf(b, "kind=%d err=%d st=%d repl=%d [%s]\n", m->kind, m->err, m->err_status,
	     m->replyable, m->reason_text);
	if (m->kind == SIP_KIND_KEEPALIVE || m->kind == SIP_KIND_NONE)
		return;
	putf(b, "method=%d %.*s ruri=%.*s ver=%.*s status=%d reason=%.*s n=%u len=%zu\n",
	     m->method, SL(m->method_name), SL(m->ruri), SL(m->version), m->status,
	     SL(m->reason), m->nhdrs, m->len);
	for (unsigned i = 0; i < m->nhdrs; i++)
		putf(b, "  %d %.*s: [%.*s]\n", m->hdrs[i].id, SL(m->hdrs[i].name),
		     SL(m->hdrs[i].value));
	putf(b, "body %zu [%.*s]\n", m->body.len, SL(m->body));
}

/* Parses <in> as a datagram from a guarded copy, which stays mapped until the next call
 * (the slices of *<m> point there); returns the result code. */
static int dgram(const char *in, size_t len, struct sip_msg *m)
{
	static const char *last;
	struct sip_parse_cfg cfg = make_cfg();

	guard_release(last);
	last = guard_copy(in, len);
	return sip_parse_msg(&cfg, last, len, m);
}

/* Feeds <in> as a stream that grows to <cut> bytes first, then to all of it; records every
 * message and the error in <t>. Keep-alives are summed up (pings), not listed. */
static void stream_run(const struct sip_parse_cfg *cfg, const char *in, size_t len, size_t cut,
		       struct buf *t, unsigned *pings)
{
	struct sip_stream s;
	struct sip_msg m;
	size_t off = 0;
	size_t stops[2] = { cut, len };

	sip_stream_init(&s, cfg);
	*pings = 0;
	for (int k = 0; k < 2; k++) {
		size_t have = stops[k];

		for (unsigned guard = 0;; guard++) {
			const char *g = guard_copy(in + off, have - off);
			long r = sip_stream_parse(&s, g, have - off, &m);

			cr_assert(guard < 100000, "no progress");
			if (r == SIP_AGAIN) {
				cr_assert(!sip_stream_idle(&s) || have - off <= 1);
				guard_release(g);
				break;
			}
			if (r == SIP_ERROR) {
				describe(t, &m);
				guard_release(g);
				g = guard_copy(in + off, have - off);
				cr_assert_eq(sip_stream_parse(&s, g, have - off, &m), SIP_ERROR);
				guard_release(g);
				return;
			}
			cr_assert(r > 0 && (size_t)r <= have - off);
			cr_assert_eq((size_t)r, m.len);
			if (m.kind == SIP_KIND_KEEPALIVE)
				*pings += (unsigned)m.ping;
			else
				describe(t, &m);
			guard_release(g);
			off += (size_t)r;
			if (off == have)
				break;
		}
	}
}

/* The stream whole, then grown through every prefix: the same transcript each time. */
static void check_stream_splits(const struct sip_parse_cfg *cfg, const char *in, size_t len,
				struct buf *whole, unsigned *pings)
{
	stream_run(cfg, in, len, len, whole, pings);
	for (size_t cut = 0; cut < len; cut++) {
		struct buf t = { 0 };
		unsigned p;

		stream_run(cfg, in, len, cut, &t, &p);
		cr_assert_str_eq(t.p ? t.p : "", whole->p ? whole->p : "",
				 "cut at %zu differs:\n%s\n--- whole:\n%s", cut, t.p, whole->p);
		cr_assert_eq(p, *pings, "cut at %zu: %u pings, whole %u", cut, p, *pings);
		free(t.p);
	}
}

/* ---- valid messages ------------------------------------------------------------------- */

#define TORTUOUS_BODY                                                                      \
	"v=0\r\n"                                                                          \
	"o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"                                    \
	"s=-\r\n"                                                                          \
	"c=IN IP4 192.0.2.4\r\n"                                                           \
	"t=0 0\r\n"                                                                        \
	"m=message 2855 TCP/MSRP *\r\n"

/* RFC 4475 wsinv in spirit: blanks before colons, folds everywhere, names in odd case,
 * compact forms, a quoted display name with escapes, an empty Subject, Via on two lines
 * with two elements in the second, a leading-zero Max-Forwards and CSeq. */
static const char tortuous[] =
	"INVITE sip:carol@chicago.example.com;unknownparam SIP/2.0\r\n"
	"TO :\r\n"
	" sip:carol@chicago.example.com ;   tag    = 8321234356\r\n"
	"from   : \"Alice \\\"the\\\\ great\\\"\"       <sip:alice@atlanta.example.com>\r\n"
	"  ;\r\n"
	"  tag = 9fxced76sl\r\n"
	"MaX-fOrWaRdS: 0068\r\n"
	"Call-ID: tortuous.3848276298220188511@atlanta.example.com\r\n"
	"Content-Length   : 107\r\n"
	"cseq: 0009\r\n"
	"  INVITE\r\n"
	"Via  : SIP  /   2.0\r\n"
	" /UDP\r\n"
	"    192.0.2.2;branch=z9hG4bK74bf9\r\n"
	"s :\r\n"
	"NewFangledHeader:   newfangled value\r\n"
	" continued newfangled value\r\n"
	"UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
	"Content-Type: application/sdp\r\n"
	"Route:\r\n"
	" <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
	"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
	"  branch  =   z9hG4bK9ikj8  ,\r\n"
	" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
	" z9hG4bK30239\r\n"
	"m:\"Quoted string \\\"\\\"\" <sip:alice@pc33.atlanta.example.com> ; newparam =\r\n"
	"      newvalue ;\r\n"
	"  secondparam ; q = 0.33\r\n"
	"\r\n" TORTUOUS_BODY;

Test(sip_parse, tortuous_invite)
{
	struct sip_msg m;
	struct sip_hdr_iter it;
	struct sip_via via;
	struct sip_addr a;
	struct sip_cseq cs;
	cm_slice el;
	uint32_t n;
	const char *g = guard_copy(tortuous, sizeof(tortuous) - 1);
	struct sip_parse_cfg cfg = make_cfg();

	cr_assert_eq(sizeof(TORTUOUS_BODY) - 1, 107);
	cr_assert_eq(sip_parse_msg(&cfg, g, sizeof(tortuous) - 1, &m), 0, "%s", m.reason_text);
	cr_assert_eq(m.kind, SIP_KIND_REQUEST);
	cr_assert_eq(m.method, SIP_M_INVITE);
	cr_assert(slice_is(m.ruri, "sip:carol@chicago.example.com;unknownparam"));
	cr_assert(slice_is(m.body, TORTUOUS_BODY));
	cr_assert_eq(m.nhdrs, 14);
	cr_assert_eq(m.hdrs[0].id, SIP_H_TO);
	cr_assert_eq(m.hdrs[12].id, SIP_H_VIA);
	cr_assert(slice_is(m.hdrs[12].name, "v"));
	cr_assert_eq(m.hdrs[13].id, SIP_H_CONTACT);
	cr_assert(slice_is(sip_msg_hdr(&m, SIP_H_SUBJECT), ""));
	cr_assert(slice_is(sip_msg_hdr_name(&m, CM_SLICE_LIT("newfangledheader")),
			   "newfangled value\r\n continued newfangled value"));

	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&m, SIP_H_TO), &a), 0);
	cr_assert(slice_is(a.uri, "sip:carol@chicago.example.com"));
	cr_assert(slice_is(a.tag, "8321234356"));
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&m, SIP_H_FROM), &a), 0);
	cr_assert(slice_is(a.display, "Alice \\\"the\\\\ great\\\""));
	cr_assert(slice_is(a.tag, "9fxced76sl"));
	cr_assert_eq(sip_cseq_parse(sip_msg_hdr(&m, SIP_H_CSEQ), &cs), 0);
	cr_assert_eq(cs.seq, 9);
	cr_assert_eq(cs.method, SIP_M_INVITE);
	cr_assert_eq(sip_uint_parse(sip_msg_hdr(&m, SIP_H_MAX_FORWARDS), 255, &n), 0);
	cr_assert_eq(n, 68);

	/* three Via elements over two header lines */
	sip_hdr_iter_init(&it, &m, SIP_H_VIA);
	cr_assert_eq(sip_hdr_iter_next(&it, &el), 1);
	cr_assert_eq(sip_via_parse(el, &via), 0);
	cr_assert(slice_is(via.transport, "UDP"));
	cr_assert(slice_is(via.host, "192.0.2.2"));
	cr_assert(slice_is(via.branch, "z9hG4bK74bf9"));
	cr_assert_eq(sip_hdr_iter_next(&it, &el), 1);
	cr_assert_eq(sip_via_parse(el, &via), 0);
	cr_assert(slice_is(via.transport, "TCP"));
	cr_assert(slice_is(via.host, "spindle.example.com"));
	cr_assert(slice_is(via.branch, "z9hG4bK9ikj8"));
	cr_assert_eq(sip_hdr_iter_next(&it, &el), 1);
	cr_assert_eq(sip_via_parse(el, &via), 0);
	cr_assert(slice_is(via.host, "192.168.255.111"));
	cr_assert(slice_is(via.branch, "z9hG4bK30239"));
	cr_assert_eq(sip_hdr_iter_next(&it, &el), 0);

	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&m, SIP_H_CONTACT), &a), 0);
	cr_assert(slice_is(a.display, "Quoted string \\\"\\\""));
	cr_assert(slice_is(a.q, "0.33"));
	guard_release(g);
}

Test(sip_parse, tortuous_invite_on_a_stream_split_everywhere)
{
	struct sip_parse_cfg cfg = make_cfg();
	struct buf whole = { 0 }, in = { 0 };
	unsigned pings;

	/* keep-alives around and between two copies (RFC 5626 §3.5.1) */
	putf(&in, "\r\n\r\n%s\r\n%s\r\n\r\n", tortuous, tortuous);
	check_stream_splits(&cfg, in.p, in.len, &whole, &pings);
	cr_assert_eq(pings, 2, "%u", pings);
	cr_assert(strstr(whole.p, "kind=1 err=0"));
	cr_assert(strstr(strstr(whole.p, "kind=1 err=0") + 1, "kind=1 err=0"), "%s", whole.p);
	free(whole.p);
	free(in.p);
}

/* RFC 4475 intmeth: a method and URI made of every token character; CSeq names the method. */
static const char intmeth[] =
	"!interesting-Method0123456789_*+`.%indeed'~ "
	"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
	"@example.com SIP/2.0\r\n"
	"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
	"To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
	"From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="
	"\"\xD1\x80\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x82\xD0\xB0\xD1\x8E\xD1\x89\xD0\xB8\xD0\xB9\""
	";tag=_token~1'+`*%!-.\r\n"
	"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
	"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
	"Max-Forwards: 255\r\n"
	"extensionHeader-!.%*+_`'~:\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

Test(sip_parse, exotic_method_and_characters)
{
	struct sip_msg m;
	struct sip_addr a;
	struct sip_cseq cs;

	/* the quoted-pairs of the To display name hold BEL, NUL and DEL: valid (§25.1) */
	cr_assert_eq(dgram(intmeth, sizeof(intmeth) - 1, &m), 0, "%s", m.reason_text);
	cr_assert_eq(m.method, SIP_M_OTHER);
	cr_assert(slice_is(m.method_name, "!interesting-Method0123456789_*+`.%indeed'~"));
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&m, SIP_H_TO), &a), 0);
	cr_assert_eq(a.display.len, 20);
	cr_assert_eq(a.display.p[12], 0);
	cr_assert_eq(sip_cseq_parse(sip_msg_hdr(&m, SIP_H_CSEQ), &cs), 0);
	cr_assert_eq(cs.method, SIP_M_OTHER);
	/* a raw CTL outside a quoted-pair is still refused */
	{
		static const char raw[] = "OPTIONS sip:a@b SIP/2.0\r\nSubject: \"a\x07\"\r\n\r\n";

		cr_assert_eq(dgram(raw, sizeof(raw) - 1, &m), SIP_ERROR);
		cr_assert_eq(m.err, SIP_PE_HEADER);
	}
}

Test(sip_parse, exotic_method_without_ctls)
{
	static const char in[] =
		"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)"
		"&isn't+it$/crazy?,/;;*@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
		"To: \"odd \\\" name\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
		"From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="
		"\"\xD1\x80\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x82\xD0\xB0\";tag=_token~1'+`*%!-.\r\n"
		"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
		"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
		"Max-Forwards: 255\r\n"
		"extensionHeader-!.%*+_`'~:\xEF\xBB\xBF\xE5\xA4\xA7\r\n"
		"Content-Length: 0\r\n"
		"\r\n";
	struct sip_msg m;
	struct sip_addr a;
	struct sip_uri u;
	const char *g = guard_copy(in, sizeof(in) - 1);
	struct sip_parse_cfg cfg = make_cfg();

	cr_assert_eq(sip_parse_msg(&cfg, g, sizeof(in) - 1, &m), 0, "%s", m.reason_text);
	cr_assert_eq(m.method, SIP_M_OTHER);
	cr_assert(slice_is(m.method_name, "!interesting-Method0123456789_*+`.%indeed'~"));
	cr_assert_eq(sip_uri_parse(m.ruri, &u), 0);
	cr_assert(slice_is(u.host, "example.com"));
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&m, SIP_H_FROM), &a), 0);
	cr_assert(slice_is(a.display, "token1~` token2'+_ token3*%!.-"));
	cr_assert(slice_is(a.tag, "_token~1'+`*%!-."));
	cr_assert_eq(m.hdrs[6].id, SIP_H_OTHER);
	cr_assert_eq(m.body.p, NULL);
	guard_release(g);
}

#define VIA1 "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK7a8b\r\n"
#define HDRS_OPTIONS(to)                                                                   \
	VIA1 "To: " to "\r\n"                                                              \
	"From: <sip:caller@example.net>;tag=938\r\n"                                       \
	"Max-Forwards: 87\r\n"                                                             \
	"Call-ID: 3d9fa1bf@host5.example.net\r\n"                                          \
	"CSeq: 1 OPTIONS\r\n"

/* RFC 4475 esc01, escnull, semiuri: escapes in user parts (an escaped '@', an escaped NUL),
 * an user part that holds ';' and '@' escaped. */
Test(sip_parse, escapes_in_uris)
{
	static const char in[] =
		"OPTIONS sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n"
		HDRS_OPTIONS("sip:null-%00-null@example.com")
		"Content-Length: 0\r\n\r\n";
	static const char semi[] =
		"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n"
		HDRS_OPTIONS("sip:user;par=u%40example.net@example.com")
		"l: 0\r\n\r\n";
	struct sip_msg m;
	struct sip_uri u;
	struct sip_addr a;
	const char *g = guard_copy(in, sizeof(in) - 1);
	struct sip_parse_cfg cfg = make_cfg();

	cr_assert_eq(sip_parse_msg(&cfg, g, sizeof(in) - 1, &m), 0, "%s", m.reason_text);
	cr_assert_eq(sip_uri_parse(m.ruri, &u), 0);
	cr_assert(slice_is(u.user, "sips%3Auser%40example.com"));
	cr_assert(slice_is(u.host, "example.net"));
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&m, SIP_H_TO), &a), 0);
	cr_assert_eq(sip_uri_parse(a.uri, &u), 0);
	cr_assert(slice_is(u.user, "null-%00-null"));
	guard_release(g);

	g = guard_copy(semi, sizeof(semi) - 1);
	cr_assert_eq(sip_parse_msg(&cfg, g, sizeof(semi) - 1, &m), 0, "%s", m.reason_text);
	cr_assert_eq(sip_uri_parse(m.ruri, &u), 0);
	cr_assert(slice_is(u.user, "user;par=u%40example.net"));
	cr_assert(slice_is(u.host, "example.com"));
	/* in To, an addr-spec ends at ';': the rest are header parameters */
	cr_assert_eq(sip_addr_parse(sip_msg_hdr(&m, SIP_H_TO), &a), 0);
	cr_assert(slice_is(a.uri, "sip:user"));
	guard_release(g);
}

/* RFC 4475 noreason and unreason: no reason phrase at all, and one with UTF-8 and odd bytes. */
Test(sip_parse, responses_reason_phrases)
{
	static const char noreason[] =
		"SIP/2.0 100 \r\n"
		VIA1
		"From: \"Bob\" <sip:bob@biloxi.example.com>;tag=a73kszlfl\r\n"
		"To: <sip:alice@atlanta.example.com>;tag=1\r\n"
		"Call-ID: noreason.asndj203insdf99223ndf\r\n"
		"CSeq: 35 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char unreason[] =
		"SIP/2.0 200 = 2**3 * 5**2 \xD0\xBD\xD0\xBE \xD1\x81\xD1\x82\xD0\xBE"
		" \xD0\xB4\xD0\xB5\xD0\xB2\xD1\x8F\xD0\xBD\xD0\xBE\xD1\x81\xD1\x82\xD0\xBE ?\r\n"
		VIA1
		"Call-ID: unreason.1234ksdfak3j2erwedfsASdf\r\n"
		"CSeq: 35 INVITE\r\n"
		"From: sip:user@example.com;tag=11141343\r\n"
		"To: sip:user@example.edu;tag=2229\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_msg m;

	cr_assert_eq(dgram(noreason, sizeof(noreason) - 1, &m), 0);
	cr_assert_eq(m.kind, SIP_KIND_RESPONSE);
	cr_assert_eq(m.status, 100);
	cr_assert_eq(m.reason.len, 0);
	cr_assert_eq(dgram(unreason, sizeof(unreason) - 1, &m), 0);
	cr_assert_eq(m.status, 200);
	cr_assert_eq(m.reason.len, sizeof(unreason) - 1 - strlen(strstr(unreason, "\r\n")) - 12);
}

/* RFC 4475 dblreq-style: two requests in one datagram: the first is the message (§18.3), the
 * bytes after its Content-Length are ignored. */
Test(sip_parse, datagram_extra_bytes_ignored)
{
	static const char in[] =
		"REGISTER sip:example.com SIP/2.0\r\n"
		"To: sip:j.user@example.com\r\n"
		"From: sip:j.user@example.com;tag=43251j3j324\r\n"
		"Max-Forwards: 8\r\n"
		"I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\n"
		"Contact: sip:j.user@host.example.com\r\n"
		"CSeq: 8 REGISTER\r\n"
		"Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\n"
		"Content-Length: 0\r\n"
		"\r\n"
		"INVITE sip:joe@example.com SIP/2.0\r\n"
		"t: sip:joe@example.com\r\n\r\n";
	struct sip_msg m;

	cr_assert_eq(dgram(in, sizeof(in) - 1, &m), 0);
	cr_assert_eq(m.method, SIP_M_REGISTER);
	cr_assert_eq(m.len, (size_t)(strstr(in, "INVITE") - in));
	cr_assert_eq(m.body.p, NULL);
	cr_assert_eq(m.hdrs[3].id, SIP_H_CALL_ID);
}

/* Without Content-Length a datagram's body runs to its end; IPv6 everywhere. */
Test(sip_parse, datagram_body_without_length_ipv6)
{
	static const char in[] =
		"MESSAGE sip:[2001:db8::10]:5070;transport=udp SIP/2.0\r\n"
		"Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKas3-111;received=[2001:db8::9:255];rport=5061\r\n"
		"To: <sip:user@[2001:db8::10]:5070>\r\n"
		"f: <sip:user@[2001:db8::9:1]>;tag=81x2\r\n"
		"i: ipv6.a0ee5e3e@[2001:db8::9:1]\r\n"
		"CSeq: 1 MESSAGE\r\n"
		"c: text/plain; charset=utf-8\r\n"
		"\r\n"
		"hello";
	struct sip_msg m;
	struct sip_uri u;
	struct sip_via v;
	struct sip_ctype ct;

	cr_assert_eq(dgram(in, sizeof(in) - 1, &m), 0);
	cr_assert(slice_is(m.body, "hello"));
	cr_assert_eq(sip_uri_parse(m.ruri, &u), 0);
	cr_assert_eq(u.host_type, SIP_HOST_IPV6);
	cr_assert(slice_is(u.host, "[2001:db8::10]"));
	cr_assert_eq(u.port, 5070);
	cr_assert(slice_is(u.transport, "udp"));
	cr_assert_eq(sip_via_parse(sip_msg_hdr(&m, SIP_H_VIA), &v), 0);
	cr_assert_eq(v.host_type, SIP_HOST_IPV6);
	cr_assert_eq(v.port, 5060);
	cr_assert(slice_is(v.received, "[2001:db8::9:255]"));
	cr_assert_eq(v.rport, 1);
	cr_assert_eq(v.rport_value, 5061);
	cr_assert_eq(sip_ctype_parse(sip_msg_hdr(&m, SIP_H_CONTENT_TYPE), &ct), 0);
	cr_assert(slice_is(ct.subtype, "plain"));
	/* on a stream the same message has no length: refused */
	{
		struct sip_parse_cfg cfg = make_cfg();
		struct buf t = { 0 };
		unsigned p;

		stream_run(&cfg, in, sizeof(in) - 1, sizeof(in) - 1, &t, &p);
		cr_assert(strstr(t.p, "kind=1 err=8 st=400 repl=1"), "%s", t.p);
		free(t.p);
	}
}

/* ---- invalid messages --------------------------------------------------------------- */

struct bad {
	const char *name;
	const char *msg;
	enum sip_perr err;
	int status;
	int replyable;
};

#define REQ_HEAD(line)                                                                     \
	line "\r\n" VIA1                                                                   \
	"To: <sip:j.user@example.com>\r\n"                                                 \
	"From: <sip:caller@example.net>;tag=134161461246\r\n"                              \
	"Max-Forwards: 7\r\n"                                                              \
	"Call-ID: bad.kdjf94kdcb3@example.net\r\n"

static const struct bad bads[] = {
	/* clerr-like: Content-Length larger than the datagram's body */
	{ "clerr", REQ_HEAD("INVITE sip:user@example.com SIP/2.0") "CSeq: 1 INVITE\r\n"
	  "Content-Length: 9999\r\n\r\nv=0\r\n", SIP_PE_BODY, 400, 1 },
	/* ncl: a negative Content-Length */
	{ "ncl", REQ_HEAD("INVITE sip:user@example.com SIP/2.0") "CSeq: 1 INVITE\r\n"
	  "Content-Length: -999\r\n\r\n", SIP_PE_VALUE, 400, 1 },
	/* scalar02-style: numbers that do not fit */
	{ "scalar-clen", REQ_HEAD("INVITE sip:user@example.com SIP/2.0") "CSeq: 1 INVITE\r\n"
	  "Content-Length: 99999999999999999999999\r\n\r\n", SIP_PE_VALUE, 400, 1 },
	{ "scalar-cseq", REQ_HEAD("REGISTER sip:example.com SIP/2.0") "CSeq: 36893488147419103232 REGISTER\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_VALUE, 400, 0 },
	{ "scalar-maxfwd", "OPTIONS sip:user@example.com SIP/2.0\r\n" VIA1
	  "To: <sip:j.user@example.com>\r\nFrom: <sip:c@example.net>;tag=1\r\n"
	  "Max-Forwards: 300\r\nCall-ID: mf@example.net\r\nCSeq: 1 OPTIONS\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_VALUE, 400, 1 },
	/* quotbal-like: a display name whose quote does not close */
	{ "quotbal", "INVITE sip:user@example.com SIP/2.0\r\n" VIA1
	  "To: \"Mr. J. User <sip:j.user@example.com>\r\n"
	  "From: <sip:caller@example.net>;tag=93334\r\nMax-Forwards: 10\r\n"
	  "Call-ID: quotbal.aksdj@example.net\r\nCSeq: 1 INVITE\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_VALUE, 400, 0 },
	/* lwsruri-like: blanks inside the Request-URI */
	{ "lwsruri", REQ_HEAD("INVITE sip:user@example.com; lr SIP/2.0") "CSeq: 1 INVITE\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_START, 400, 1 },
	/* lwsstart-like: more than one SP between the elements */
	{ "lwsstart", REQ_HEAD("INVITE  sip:user@example.com  SIP/2.0") "CSeq: 1 INVITE\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_START, 400, 1 },
	/* trws-like: a blank after the SIP-Version */
	{ "trws", REQ_HEAD("OPTIONS sip:remote-target@example.com SIP/2.0 ") "CSeq: 1 OPTIONS\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_START, 400, 1 },
	/* badvers-like: SIP/7.0 gets 505 */
	{ "badvers", REQ_HEAD("OPTIONS sip:t.watson@example.org SIP/7.0") "CSeq: 1 OPTIONS\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_VERSION, 505, 1 },
	/* mismatch01-like: CSeq names another method */
	{ "mismatch01", REQ_HEAD("OPTIONS sip:user@example.com SIP/2.0") "CSeq: 8 INVITE\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_CSEQ_METHOD, 400, 1 },
	/* bigcode-like: a status code of ten digits */
	{ "bigcode", "SIP/2.0 4294967301 better not break the receiver\r\n" VIA1
	  "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\r\n"
	  "CSeq: 353494 INVITE\r\nFrom: <sip:user@example.com>;tag=39ansfi3\r\n"
	  "To: <sip:user@example.edu>;tag=902jndnke3\r\nContent-Length: 0\r\n\r\n",
	  SIP_PE_START, 400, 0 },
	/* insuf-like: Call-ID, From and To missing */
	{ "insuf", "INVITE sip:user@example.com SIP/2.0\r\n" VIA1 "CSeq: 193942 INVITE\r\n"
	  "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", SIP_PE_MISSING, 400, 0 },
	/* baddn-like: a display name with a comma, not quoted */
	{ "baddn", "OPTIONS sip:t.watson@example.org SIP/2.0\r\n" VIA1
	  "Max-Forwards: 70\r\nFrom: Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\n"
	  "To: Watson, Thomas <sip:t.watson@example.org>\r\nCall-ID: baddn.31415@example.com\r\n"
	  "CSeq: 3923239 OPTIONS\r\nl: 0\r\n\r\n", SIP_PE_VALUE, 400, 0 },
	/* mcl01-like: Content-Length twice, under two names */
	{ "mcl01", REQ_HEAD("OPTIONS sip:user@example.com SIP/2.0") "CSeq: 1 OPTIONS\r\n"
	  "Content-Length: 0\r\nl: 0\r\n\r\n", SIP_PE_DUP, 400, 1 },
	/* a header line without a colon; the request can still be answered */
	{ "nocolon", REQ_HEAD("OPTIONS sip:user@example.com SIP/2.0") "CSeq: 1 OPTIONS\r\n"
	  "This line has no colon\r\nContent-Length: 0\r\n\r\n", SIP_PE_HEADER, 400, 1 },
	/* a continuation line right after the start line */
	{ "foldfirst", "OPTIONS sip:user@example.com SIP/2.0\r\n folded\r\n" VIA1
	  "To: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\nCall-ID: x@y\r\n"
	  "CSeq: 1 OPTIONS\r\n\r\n", SIP_PE_HEADER, 400, 1 },
	/* an ACK is never answered */
	{ "ack", REQ_HEAD("ACK sip:user@example.com SIP/2.0") "CSeq: 1 INVITE\r\n"
	  "Content-Length: 0\r\n\r\n", SIP_PE_CSEQ_METHOD, 400, 0 },
	/* a bare LF ends a line */
	{ "barelf", "OPTIONS sip:user@example.com SIP/2.0\n\r\n", SIP_PE_HEADER, 400, 0 },
	/* a NUL in a value */
	{ "nul", REQ_HEAD("OPTIONS sip:user@example.com SIP/2.0") "CSeq: 1 OPTIONS\r\n"
	  "Subject: a\x01z\r\n\r\n", SIP_PE_HEADER, 400, 1 },
	/* no blank line */
	{ "noend", "OPTIONS sip:user@example.com SIP/2.0\r\nVia: x\r\n", SIP_PE_HEADER, 400, 0 },
	/* not SIP at all */
	{ "http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", SIP_PE_START, 400, 0 },
	{ "status-nosp", "SIP/2.0 2000 OK\r\n\r\n", SIP_PE_START, 400, 0 },
};

Test(sip_parse, invalid_messages)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		struct sip_msg m;
		uint64_t before[SIP_PE__COUNT];
		int r;

		memcpy(before, stats.errors, sizeof(before));
		r = dgram(b->msg, strlen(b->msg), &m);
		cr_assert_eq(r, SIP_ERROR, "%s: parsed", b->name);
		cr_assert_eq(m.err, b->err, "%s: err %d (%s), want %d", b->name, m.err,
			     m.reason_text, b->err);
		cr_assert_eq(m.err_status, b->status, "%s: status %d", b->name, m.err_status);
		cr_assert_eq(m.replyable, b->replyable, "%s: replyable %d", b->name, m.replyable);
		cr_assert_eq(stats.errors[b->err], before[b->err] + 1, "%s: not counted", b->name);
		cr_assert(m.reason_text && m.reason_text[0], "%s: no reason", b->name);
	}
}

/* The same invalid messages on a stream, grown through every prefix: the same error
 * whatever the split (with a Content-Length where the datagram had none). */
Test(sip_parse, invalid_messages_on_streams)
{
	struct sip_parse_cfg cfg = make_cfg();

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct buf whole = { 0 };
		unsigned pings;

		check_stream_splits(&cfg, bads[i].msg, strlen(bads[i].msg), &whole, &pings);
		/* clerr and noend only wait for more on a stream */
		cr_assert(whole.p ? strstr(whole.p, "err=0") == NULL
				  : bads[i].err == SIP_PE_BODY || !strcmp(bads[i].name, "noend"),
			  "%s: %s", bads[i].name, whole.p);
		free(whole.p);
	}
}

/* RFC 4475 ltgtruri and unkscm: the message parses; the Request-URI does not. */
Test(sip_parse, request_uri_left_to_the_uas)
{
	static const char ltgt[] = REQ_HEAD("INVITE <sip:user@example.com> SIP/2.0")
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	static const char unk[] = REQ_HEAD("OPTIONS nobodyknowsthisscheme:totallyopaquecontent SIP/2.0")
		"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg m;
	struct sip_uri u;

	cr_assert_eq(dgram(ltgt, sizeof(ltgt) - 1, &m), 0);
	cr_assert_eq(sip_uri_parse(m.ruri, &u), -EINVAL);
	cr_assert_eq(dgram(unk, sizeof(unk) - 1, &m), 0);
	cr_assert_eq(sip_uri_parse(m.ruri, &u), -EINVAL);
}

/* ---- limits ------------------------------------------------------------------------- */

Test(sip_parse, limits_counted)
{
	struct sip_parse_cfg cfg = make_cfg();
	struct buf in = { 0 }, t = { 0 };
	struct sip_msg m;
	uint64_t before;
	unsigned p;

	/* a line over max_line */
	cfg.limits.max_line = 64;
	putf(&in, REQ_HEAD("OPTIONS sip:user@example.com SIP/2.0") "CSeq: 1 OPTIONS\r\n"
	     "Subject: %080d\r\nl: 0\r\n\r\n", 0);
	before = stats.errors[SIP_PE_LINE];
	{
		const char *g = guard_copy(in.p, in.len);

		cr_assert_eq(sip_parse_msg(&cfg, g, in.len, &m), SIP_ERROR);
		cr_assert_eq(m.err, SIP_PE_LINE);
		guard_release(g);
	}
	stream_run(&cfg, in.p, in.len, in.len, &t, &p);
	cr_assert(strstr(t.p, "err=10"), "%s", t.p);
	cr_assert_eq(stats.errors[SIP_PE_LINE], before + 2);
	/* and on a stream that never ends the line, as soon as max_line bytes are there */
	free(t.p);
	t = (struct buf){ 0 };
	free(in.p);
	in = (struct buf){ 0 };
	putf(&in, "OPTIONS sip:u@x SIP/2.0\r\nSubject: %080d", 0);
	stream_run(&cfg, in.p, in.len, 30, &t, &p);
	cr_assert(t.p && strstr(t.p, "err=10"), "%s", t.p);
	cr_assert_eq(stats.errors[SIP_PE_LINE], before + 3);

	/* headers over max_headers: the request is still answered from those it kept */
	cfg = make_cfg();
	cfg.limits.max_headers = 6;
	free(in.p);
	in = (struct buf){ 0 };
	putf(&in, REQ_HEAD("OPTIONS sip:user@example.com SIP/2.0") "CSeq: 1 OPTIONS\r\n"
	     "Subject: a\r\nl: 0\r\n\r\n");
	before = stats.errors[SIP_PE_HEADERS];
	{
		const char *g = guard_copy(in.p, in.len);

		cr_assert_eq(sip_parse_msg(&cfg, g, in.len, &m), SIP_ERROR);
		cr_assert_eq(m.err, SIP_PE_HEADERS);
		cr_assert_eq(m.nhdrs, 6);
		cr_assert_eq(m.replyable, 1);
		guard_release(g);
	}
	cr_assert_eq(stats.errors[SIP_PE_HEADERS], before + 1);

	/* a message over max_msg: datagram, stream head, stream body */
	cfg = make_cfg();
	cfg.limits.max_msg = 300;
	free(in.p);
	in = (struct buf){ 0 };
	putf(&in, REQ_HEAD("MESSAGE sip:user@example.com SIP/2.0") "CSeq: 1 MESSAGE\r\n"
	     "l: 200\r\n\r\n%0200d", 0);
	before = stats.errors[SIP_PE_SIZE];
	{
		const char *g = guard_copy(in.p, in.len);

		cr_assert_eq(sip_parse_msg(&cfg, g, in.len, &m), SIP_ERROR);
		cr_assert_eq(m.err, SIP_PE_SIZE);
		cr_assert_eq(m.err_status, 513);
		guard_release(g);
	}
	free(t.p);
	t = (struct buf){ 0 };
	stream_run(&cfg, in.p, in.len, 10, &t, &p);
	cr_assert(strstr(t.p, "err=12"), "%s", t.p);
	cr_assert_eq(stats.errors[SIP_PE_SIZE], before + 2);
	free(t.p);
	free(in.p);
}

Test(sip_parse, keepalives)
{
	struct sip_parse_cfg cfg = make_cfg();
	struct sip_stream s;
	struct sip_msg m;
	const char *g;

	sip_stream_init(&s, &cfg);
	g = guard_copy("\r\n\r\n\r\n", 6);
	cr_assert_eq(sip_stream_parse(&s, g, 6, &m), 6);
	cr_assert_eq(m.kind, SIP_KIND_KEEPALIVE);
	cr_assert_eq(m.ping, 1);
	guard_release(g);
	/* a pong alone: no ping; the CRLF after it completes a second double CRLF */
	g = guard_copy("\r\n", 2);
	cr_assert_eq(sip_stream_parse(&s, g, 2, &m), 2);
	cr_assert_eq(m.ping, 1);
	cr_assert(sip_stream_idle(&s));
	guard_release(g);
	g = guard_copy("\r", 1);
	cr_assert_eq(sip_stream_parse(&s, g, 1, &m), SIP_AGAIN);
	guard_release(g);
	/* a datagram of CRLFs: nothing to answer, not an error */
	g = guard_copy("\r\n\r\n", 4);
	cr_assert_eq(sip_parse_msg(&cfg, g, 4, &m), SIP_ERROR);
	cr_assert_eq(m.kind, SIP_KIND_KEEPALIVE);
	cr_assert_eq(m.err, SIP_PE_NONE);
	guard_release(g);
}

/* The stream parser keeps offsets only: the bytes may move between calls. */
Test(sip_parse, stream_buffer_moves)
{
	static const char in[] = REQ_HEAD("MESSAGE sip:user@example.com SIP/2.0")
		"CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
	struct sip_parse_cfg cfg = make_cfg();
	struct sip_stream s;
	struct sip_msg m;
	size_t n = sizeof(in) - 1;
	char *a = malloc(n), *b = malloc(n);

	sip_stream_init(&s, &cfg);
	memcpy(a, in, n);
	cr_assert_eq(sip_stream_parse(&s, a, n - 3, &m), SIP_AGAIN);
	memset(a, 'x', n);
	memcpy(b, in, n);
	cr_assert_eq(sip_stream_parse(&s, b, n, &m), (long)n);
	cr_assert(slice_is(m.body, "hello"));
	cr_assert(m.hdrs[0].value.p >= b && m.hdrs[0].value.p < b + n);
	cr_assert_eq(m.method, SIP_M_MESSAGE);
	free(a);
	free(b);
}
