/* test_sdp.c — the SDP parser and writer (sip/sdp.c): fields of each line type, both line
 * ends, unknown lines kept, one malformed input per rule with its error and line, every
 * limit refused and counted, the writer's snprintf contract and round trips.
 *
 * Inputs are parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h): a read past the end crashes the test. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sip/sdp.h"
#include "tests/lib/guard.h"

static struct sdp S;                   /* big: not on the test's stack */
static struct sdp_stats ST;

/* Parses <n> bytes of <txt> from a guarded copy; the copy stays mapped (tests are short). */
static int parse_lim(const char *txt, size_t n, const struct sdp_limits *lim)
{
	const char *g = guard_copy(txt, n);

	return sdp_parse((cm_slice){ g, n }, lim, &S, &ST);
}

static int parse(const char *txt)
{
	return parse_lim(txt, strlen(txt), NULL);
}

static int is(cm_slice s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define assert_is(s, want)                                                                 \
	cr_assert(is((s), (want)), "%s: got '%.*s', want '%s'", #s, (int)(s).len,          \
		  (s).p ? (s).p : "", (want))

/* A chat offer in the shape of RFC 4975 §8's, our own names and numbers. */
static const char offer[] =
	"v=0\r\n"
	"o=carol 3051220033 3051220033 IN IP4 ua1.example.org\r\n"
	"s=-\r\n"
	"i=a chat\r\n"
	"c=IN IP4 192.0.2.10\r\n"
	"b=AS:64\r\n"
	"t=0 0\r\n"
	"a=tool:rcsgw\r\n"
	"m=message 12001 TCP/MSRP *\r\n"
	"i=the text stream\r\n"
	"c=IN IP6 2001:db8::10\r\n"
	"a=accept-types:message/cpim text/plain\r\n"
	"a=path:msrp://ua1.example.org:12001/s3ss10n;tcp\r\n"
	"a=sendrecv\r\n"
	"m=audio 0 RTP/AVP 0 8\r\n"
	"a=rtpmap:0 PCMU/8000\r\n";

Test(sdp, fields)
{
	cr_assert_eq(parse(offer), 0, "%s line %u", sdp_strerror(S.err.code), S.err.line);
	assert_is(S.origin.username, "carol");
	assert_is(S.origin.sess_id, "3051220033");
	assert_is(S.origin.sess_version, "3051220033");
	assert_is(S.origin.nettype, "IN");
	assert_is(S.origin.addrtype, "IP4");
	assert_is(S.origin.addr, "ua1.example.org");
	assert_is(S.session_name, "-");
	cr_assert(S.conn.present);
	assert_is(S.conn.addr, "192.0.2.10");
	assert_is(S.time, "0 0");
	cr_assert_eq(S.ntime, 1);
	cr_assert_eq(S.nattr, 1);
	assert_is(S.attrs[0].name, "tool");
	assert_is(S.attrs[0].value, "rcsgw");
	cr_assert_eq(S.attrs[0].media, -1);
	/* i= b= t= kept at session level */
	cr_assert_eq(S.nother, 3);
	cr_assert_eq(S.others[0].type, 'i');
	cr_assert_eq(S.others[1].type, 'b');
	assert_is(S.others[1].value, "AS:64");
	cr_assert_eq(S.others[2].type, 't');

	cr_assert_eq(S.nmedia, 2);
	const struct sdp_media *m = &S.media[0];

	assert_is(m->media, "message");
	cr_assert_eq(m->port, 12001);
	cr_assert_eq(m->nports, 0);
	assert_is(m->proto, "TCP/MSRP");
	assert_is(m->fmts, "*");
	cr_assert(m->conn.present);
	assert_is(m->conn.addrtype, "IP6");
	assert_is(m->conn.addr, "2001:db8::10");
	cr_assert_eq(m->nattr, 3);
	cr_assert_eq(m->nother, 1);
	cr_assert_eq(S.others[m->other0].type, 'i');

	m = &S.media[1];
	assert_is(m->media, "audio");
	cr_assert_eq(m->port, 0);
	assert_is(m->fmts, "0 8");
	cr_assert_eq(m->nattr, 1);
	cr_assert_eq(S.attrs[m->attr0].media, 1);
	assert_is(S.attrs[m->attr0].value, "0 PCMU/8000");
	cr_assert_eq(S.err.code, SDP_E_NONE);
}

Test(sdp, attr_lookup)
{
	cr_assert_eq(parse(offer), 0);
	const struct sdp_attr *a = sdp_attr_get(&S, 0, "ACCEPT-TYPES");

	cr_assert_not_null(a);
	assert_is(a->value, "message/cpim text/plain");
	cr_assert(a->has_value);
	a = sdp_attr_get(&S, 0, "sendrecv");
	cr_assert_not_null(a);
	cr_assert_not(a->has_value);
	cr_assert_null(sdp_attr_get(&S, -1, "path"));
	cr_assert_null(sdp_attr_get(&S, 1, "path"));
	cr_assert_null(sdp_attr_get(&S, 7, "path"));
	cr_assert_eq(sdp_attr_count(&S, 0, "path"), 1);
	cr_assert_eq(sdp_attr_count(&S, -1, "tool"), 1);
	cr_assert_eq(sdp_attr_count(&S, 1, "tool"), 0);
}

Test(sdp, line_ends)
{
	/* bare LF, mixed, no final line end, blank lines at the end, an empty value */
	static const char *const ok[] = {
		"v=0\no=- 1 1 IN IP4 h\ns=x\nt=0 0\nm=message 9 TCP/MSRP *\na=x\n",
		"v=0\r\no=- 1 1 IN IP4 h\ns=x\r\nt=0 0\nm=message 9 TCP/MSRP *\r\na=x",
		"v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\n\r\n\r\n",
		"v=0\no=- 1 1 IN IP4 h\ns=x\nt=0 0\n\n",
		"v=0\no=- 1 1 IN IP4 h\ns=x\nt=0 0\na=empty:\nk=\nx=unknown letter\n",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert_eq(parse(ok[i]), 0, "[%zu] %s line %u", i, sdp_strerror(S.err.code),
			     S.err.line);
	cr_assert_eq(S.nattr, 1);
	cr_assert(S.attrs[0].has_value);
	cr_assert_eq(S.attrs[0].value.len, 0);
	cr_assert_eq(S.nother, 3);
	cr_assert_eq(S.others[2].type, 'x');
	assert_is(S.others[2].value, "unknown letter");
}

Test(sdp, port_count_and_formats)
{
	cr_assert_eq(parse("v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\n"
			   "m=video 49170/2 RTP/AVP 31 32 99\r\n"), 0);
	cr_assert_eq(S.media[0].port, 49170);
	cr_assert_eq(S.media[0].nports, 2);
	assert_is(S.media[0].fmts, "31 32 99");
}

/* One malformed description per rule: the error, its line, and the counter. */
Test(sdp, malformed)
{
	static const struct {
		const char *txt;
		enum sdp_err code;
		uint32_t line;
	} bad[] = {
		{ "", SDP_E_VERSION, 1 },
		{ "v=1\r\n", SDP_E_VERSION, 1 },
		{ "o=- 1 1 IN IP4 h\r\n", SDP_E_VERSION, 1 },
		{ "v=0\r\n", SDP_E_MISSING, 1 },
		{ "v=0\r\ns=x\r\n", SDP_E_MISSING, 2 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n", SDP_E_MISSING, 3 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\n", SDP_E_MISSING, 3 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nm=message 1 TCP/MSRP *\r\n", SDP_E_MISSING,
		  4 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\no=- 1 1 IN IP4 h\r\n", SDP_E_ORDER,
		  5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nv=0\r\n", SDP_E_ORDER, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nm=message 1 TCP/MSRP *\r\nt=0 0\r\n",
		  SDP_E_ORDER, 6 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\n\r\na=x\r\n", SDP_E_EMPTY_LINE, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nA=x\r\n", SDP_E_SYNTAX, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\na x\r\n", SDP_E_SYNTAX, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\na\r\n", SDP_E_SYNTAX, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\na=x\ry\r\n", SDP_E_SYNTAX, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\n=x\r\n", SDP_E_SYNTAX, 5 },
		{ "v=0\r\no=- 1 IN IP4 h\r\n", SDP_E_ORIGIN, 2 },
		{ "v=0\r\no=- 1 1 IN IP4 h extra\r\n", SDP_E_ORIGIN, 2 },
		{ "v=0\r\no=- x 1 IN IP4 h\r\n", SDP_E_ORIGIN, 2 },
		{ "v=0\r\no=-  1 1 IN IP4 h\r\n", SDP_E_ORIGIN, 2 },
		{ "v=0\r\no=- 1 1 IN IP4 h \r\n", SDP_E_ORIGIN, 2 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nc=IN IP4\r\n", SDP_E_CONN, 4 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nc=IN IP4 a\r\nc=IN IP4 b\r\n", SDP_E_CONN, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0\r\n", SDP_E_TIME, 4 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 x\r\n", SDP_E_TIME, 4 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nm=message 1 TCP/MSRP\r\n",
		  SDP_E_MLINE, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nm=message 65536 TCP/MSRP *\r\n",
		  SDP_E_MLINE, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nm=message x TCP/MSRP *\r\n",
		  SDP_E_MLINE, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nm=message 1/0 TCP/MSRP *\r\n",
		  SDP_E_MLINE, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nm=message 1 TCP/MSRP * \r\n",
		  SDP_E_MLINE, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nm=message 1 TCP/MSRP *  x\r\n",
		  SDP_E_MLINE, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\nm=mes(sage 1 TCP/MSRP *\r\n",
		  SDP_E_MLINE, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\na=:x\r\n", SDP_E_ATTR, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\na=pa th:x\r\n", SDP_E_ATTR, 5 },
		{ "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\na=\r\n", SDP_E_ATTR, 5 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t before = ST.malformed;
		int rc = parse(bad[i].txt);

		cr_assert_eq(rc, -EINVAL, "[%zu] accepted", i);
		cr_assert_eq(S.err.code, bad[i].code, "[%zu] code %d (%s), want %d", i,
			     S.err.code, sdp_strerror(S.err.code), bad[i].code);
		cr_assert_eq(S.err.line, bad[i].line, "[%zu] line %u, want %u", i, S.err.line,
			     bad[i].line);
		cr_assert_eq(ST.malformed, before + 1);
	}
	/* a NUL inside a line */
	static const char nul[] = "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\0y\r\nt=0 0\r\n";

	cr_assert_eq(parse_lim(nul, sizeof(nul) - 1, NULL), -EINVAL);
	cr_assert_eq(S.err.code, SDP_E_SYNTAX);
	cr_assert_eq(S.err.line, 3);
	for (int c = 0; c < SDP_E__COUNT; c++)
		cr_assert(strlen(sdp_strerror((enum sdp_err)c)) > 0);
	cr_assert_str_eq(sdp_strerror(SDP_E__COUNT), "unknown error");
}

/* Appends to <buf> (of <cap> bytes, NUL-terminated) <count> copies of <line>. */
static void repeat(char *buf, size_t cap, const char *line, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		strncat(buf, line, cap - strlen(buf) - 1);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\nt=0 0\r\n"
#define ANY_LINE UINT32_MAX

/* <txt> is refused for a limit: -E2BIG, <code>, and <line> unless ANY_LINE. */
static void refused(const char *txt, const struct sdp_limits *lim, enum sdp_err code,
		    uint32_t line)
{
	cr_assert_eq(parse_lim(txt, strlen(txt), lim), -E2BIG);
	cr_assert_eq(S.err.code, code, "code %d, want %d", S.err.code, code);
	if (line != ANY_LINE)
		cr_assert_eq(S.err.line, line, "line %u, want %u", S.err.line, line);
}

Test(sdp, limits)
{
	static char buf[65536];
	struct sdp_limits lim = { .max_size = 200, .max_lines = 10, .max_line = 40,
				  .max_media = 2, .max_attrs = 3 };
	struct sdp_stats before = ST;

	/* size */
	strcpy(buf, HEAD);
	repeat(buf, sizeof(buf), "a=x\r\n", 40);
	refused(buf, &lim, SDP_E_SIZE, 0);
	cr_assert_eq(ST.too_big, before.too_big + 1);

	/* lines: 10 taken, 11 refused */
	strcpy(buf, HEAD);
	repeat(buf, sizeof(buf), "k=x\r\n", 6);
	cr_assert_eq(parse_lim(buf, strlen(buf), &lim), 0);
	repeat(buf, sizeof(buf), "k=x\r\n", 1);
	refused(buf, &lim, SDP_E_LINES, 11);
	cr_assert_eq(ST.too_many_lines, before.too_many_lines + 1);

	/* line length: 40 bytes taken (with CRLF, with LF, last line), 41 refused */
	strcpy(buf, HEAD "a=");
	repeat(buf, sizeof(buf), "y", 38);
	strcat(buf, "\r\n");
	cr_assert_eq(parse_lim(buf, strlen(buf), &lim), 0);
	buf[strlen(buf) - 2] = '\0';
	cr_assert_eq(parse_lim(buf, strlen(buf), &lim), 0);
	strcat(buf, "\n");
	cr_assert_eq(parse_lim(buf, strlen(buf), &lim), 0);
	strcpy(buf, HEAD "a=");
	repeat(buf, sizeof(buf), "y", 39);
	refused(buf, &lim, SDP_E_LINE_LEN, 5);
	strcat(buf, "\r\n");
	refused(buf, &lim, SDP_E_LINE_LEN, ANY_LINE);
	strcpy(buf, HEAD "a=");
	repeat(buf, sizeof(buf), "y", 100);
	refused(buf, &lim, SDP_E_LINE_LEN, ANY_LINE);
	cr_assert_eq(ST.line_too_long, before.line_too_long + 3);

	/* media */
	strcpy(buf, HEAD);
	repeat(buf, sizeof(buf), "m=message 1 TCP/MSRP *\r\n", 3);
	refused(buf, &lim, SDP_E_MEDIA, 7);
	cr_assert_eq(ST.too_many_media, before.too_many_media + 1);

	/* attributes, all levels together */
	strcpy(buf, HEAD "a=x\r\nm=message 1 TCP/MSRP *\r\na=y\r\na=z\r\na=w\r\n");
	refused(buf, &lim, SDP_E_ATTRS, 9);
	cr_assert_eq(ST.too_many_attrs, before.too_many_attrs + 1);

	/* the ceilings hold whatever the limits say */
	struct sdp_limits big = { .max_size = 1u << 20, .max_lines = 100000,
				  .max_line = 100, .max_media = 1000, .max_attrs = 1000 };

	strcpy(buf, HEAD);
	repeat(buf, sizeof(buf), "a=x\r\n", SDP_ATTR_MAX + 1);
	refused(buf, &big, SDP_E_ATTRS, ANY_LINE);
	strcpy(buf, HEAD);
	repeat(buf, sizeof(buf), "m=message 1 TCP/MSRP *\r\n", SDP_MEDIA_MAX + 1);
	refused(buf, &big, SDP_E_MEDIA, ANY_LINE);
	strcpy(buf, HEAD);
	repeat(buf, sizeof(buf), "b=AS:1\r\n", SDP_OTHER_MAX);
	refused(buf, &big, SDP_E_OTHERS, ANY_LINE);

	/* defaults: NULL limits and a zeroed struct are the same */
	struct sdp_limits zero = { 0 }, def;

	sdp_limits_default(&def);
	cr_assert_eq(def.max_media, SDP_MEDIA_MAX);
	strcpy(buf, HEAD "a=");
	repeat(buf, sizeof(buf), "y", SDP_LINE_DEFAULT - 2);
	cr_assert_eq(parse_lim(buf, strlen(buf), &zero), 0);
	strcat(buf, "y");
	refused(buf, NULL, SDP_E_LINE_LEN, ANY_LINE);
	strcpy(buf, HEAD);
	repeat(buf, sizeof(buf), "k", SDP_SIZE_DEFAULT - strlen(HEAD));
	refused(buf, &zero, SDP_E_LINE_LEN, ANY_LINE);
	strcat(buf, "k");
	refused(buf, &zero, SDP_E_SIZE, ANY_LINE);
}

/* parse → write → parse gives the same fields; the output is in RFC 4566 §5 order. */
Test(sdp, write_round_trip)
{
	static char out[4096], again[4096];
	static struct sdp first;
	/* out of §5 order on purpose: b= before c=, k= before t=, an unknown letter */
	static const char messy[] =
		"v=0\n"
		"o=bob 7 8 IN IP6 ::1\n"
		"s=talk\n"
		"b=CT:1\n"
		"c=IN IP6 ::1\n"
		"k=prompt\n"
		"t=0 0\n"
		"r=7d 1h 0 25h\n"
		"y=why\n"
		"a=group:BUNDLE 0\n"
		"m=message 2855 TCP/TLS/MSRP *\n"
		"a=path:msrps://[::1]:2855/abc;tcp\n"
		"k=base64:AAAA\n"
		"i=info\n";

	cr_assert_eq(parse(messy), 0, "%s line %u", sdp_strerror(S.err.code), S.err.line);
	first = S;
	size_t n = sdp_write(&first, out, sizeof(out));

	cr_assert_eq(n, strlen(out));
	cr_assert_str_eq(out, "v=0\r\n"
			      "o=bob 7 8 IN IP6 ::1\r\n"
			      "s=talk\r\n"
			      "c=IN IP6 ::1\r\n"
			      "b=CT:1\r\n"
			      "t=0 0\r\n"
			      "r=7d 1h 0 25h\r\n"
			      "k=prompt\r\n"
			      "y=why\r\n"
			      "a=group:BUNDLE 0\r\n"
			      "m=message 2855 TCP/TLS/MSRP *\r\n"
			      "i=info\r\n"
			      "k=base64:AAAA\r\n"
			      "a=path:msrps://[::1]:2855/abc;tcp\r\n");
	cr_assert_eq(parse(out), 0);
	size_t n2 = sdp_write(&S, again, sizeof(again));

	cr_assert_eq(n2, n);
	cr_assert_str_eq(again, out);

	cr_assert_eq(parse(offer), 0);
	n = sdp_write(&S, out, sizeof(out));
	/* the offer is in §5 order already: written back byte for byte */
	cr_assert_eq(n, strlen(offer));
	cr_assert_str_eq(out, offer);

	/* snprintf's contract at every size */
	for (size_t len = 0; len <= n + 1; len++) {
		memset(again, 'X', sizeof(again));
		cr_assert_eq(sdp_write(&S, len ? again : NULL, len), n);
		if (len) {
			size_t k = len - 1 < n ? len - 1 : n;

			cr_assert_eq(again[k], '\0');
			cr_assert_eq(memcmp(again, offer, k), 0);
			cr_assert_eq(again[len], 'X');
		}
	}
}

Test(sdp, build)
{
	static struct sdp b;
	char out[512];
	int m;

	sdp_init(&b);
	b.origin = (struct sdp_origin){ CM_SLICE_LIT("-"), CM_SLICE_LIT("1"),
					CM_SLICE_LIT("2"), CM_SLICE_LIT("IN"),
					CM_SLICE_LIT("IP4"), CM_SLICE_LIT("192.0.2.1") };
	b.session_name = CM_SLICE_LIT("-");
	b.time = CM_SLICE_LIT("0 0");
	cr_assert_eq(sdp_add_attr(&b, -1, CM_SLICE_LIT("s1"), CM_SLICE_NULL, 0), 0);
	m = sdp_add_media(&b, CM_SLICE_LIT("message"), 9, CM_SLICE_LIT("TCP/MSRP"),
			  CM_SLICE_LIT("*"));
	cr_assert_eq(m, 0);
	/* the session level is closed once a media section is there */
	cr_assert_eq(sdp_add_attr(&b, -1, CM_SLICE_LIT("late"), CM_SLICE_NULL, 0), -EINVAL);
	cr_assert_eq(sdp_add_attr(&b, 1, CM_SLICE_LIT("x"), CM_SLICE_NULL, 0), -EINVAL);
	cr_assert_eq(sdp_add_attr(&b, 0, CM_SLICE_LIT("m1"), CM_SLICE_LIT("v"), 1), 0);
	sdp_write(&b, out, sizeof(out));
	cr_assert_str_eq(out, "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\na=s1\r\n"
			      "m=message 9 TCP/MSRP *\r\na=m1:v\r\n");
	for (int i = 1; i < SDP_MEDIA_MAX; i++)
		cr_assert_eq(sdp_add_media(&b, CM_SLICE_LIT("x"), 0, CM_SLICE_LIT("p"),
					   CM_SLICE_LIT("0")), i);
	cr_assert_eq(sdp_add_media(&b, CM_SLICE_LIT("x"), 0, CM_SLICE_LIT("p"),
				   CM_SLICE_LIT("0")), -E2BIG);
	for (int i = 2; i < SDP_ATTR_MAX; i++)
		cr_assert_eq(sdp_add_attr(&b, SDP_MEDIA_MAX - 1, CM_SLICE_LIT("a"),
					  CM_SLICE_NULL, 0), 0);
	cr_assert_eq(sdp_add_attr(&b, SDP_MEDIA_MAX - 1, CM_SLICE_LIT("a"), CM_SLICE_NULL, 0),
		     -E2BIG);
}

/* Every prefix of a description parses or fails cleanly at the end of a page. */
Test(sdp, prefixes_stay_in_bounds)
{
	size_t n = strlen(offer);

	for (size_t i = 0; i <= n; i++) {
		int rc = parse_lim(offer, i, NULL);

		cr_assert(rc == 0 || rc == -EINVAL, "prefix %zu: %d", i, rc);
	}
	cr_assert_eq(sdp_parse(CM_SLICE_NULL, NULL, &S, NULL), -EINVAL);
}
