/* test_sdp_msrp.c — the MSRP stream in SDP (sip/sdp_msrp.c): each attribute read and
 * refused, media-type lists and wildcards, our offer, our answer to each kind of offer
 * (the RFC 4975 §8, RFC 6135 and RFC 6714 exchanges, in our own words), the connection
 * decision for every a=setup pair, and what may be sent.
 *
 * Descriptions are parsed from guarded copies (tests/lib/guard.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sip/sdp.h"
#include "sip/sdp_msrp.h"
#include "tests/lib/guard.h"

/* Two parsed descriptions (offer and answer) and their MSRP streams. */
static struct sdp SO, SA;
static struct sdp_msrp_media MO, MA;

static struct sdp *parsed(struct sdp *s, const char *txt)
{
	size_t n = strlen(txt);

	cr_assert_eq(sdp_parse((cm_slice){ guard_copy(txt, n), n }, NULL, s, NULL), 0,
		     "%s line %u in:\n%s", sdp_strerror(s->err.code), s->err.line, txt);
	return s;
}

static int slice_is(cm_slice s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define assert_is(s, want)                                                                 \
	cr_assert(slice_is((s), (want)), "%s: got '%.*s', want '%s'", #s, (int)(s).len,    \
		  (s).p ? (s).p : "", (want))

#define SESSION "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n"
#define MLINE "m=message 7394 TCP/MSRP *\r\n"
#define PATH1 "msrp://192.0.2.7:7394/q7mn2;tcp"
#define MIN_ATTRS "a=accept-types:text/plain\r\na=path:" PATH1 "\r\n"

/* ---- reading a stream --------------------------------------------------------------- */

/* RFC 4975 §8's offer shape: a relay in the path, CPIM with wrapped types, max-size. */
static const char rich[] =
	"v=0\r\n"
	"o=dave 400 401 IN IP4 host.example.net\r\n"
	"s=-\r\n"
	"c=IN IP4 host.example.net\r\n"
	"t=0 0\r\n"
	"m=audio 0 RTP/AVP 0\r\n"
	"m=message 2856 TCP/TLS/MSRP *\r\n"
	"a=accept-types:message/cpim text/plain  application/im-iscomposing+xml\r\n"
	"a=accept-wrapped-types:text/plain image/* message/imdn+xml\r\n"
	"a=max-size:131072\r\n"
	"a=path:msrps://relay.example.net:2855/zz9a;tcp msrps://host.example.net:2856/k3j;tcp\r\n"
	"a=setup:actpass\r\n"
	"a=connection:new\r\n"
	"a=recvonly\r\n";

Test(sdp_msrp, find_rich)
{
	parsed(&SO, rich);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0, "bad %d", MO.bad);
	cr_assert_eq(MO.index, 1);
	cr_assert(MO.tls);
	cr_assert_eq(MO.port, 2856);
	cr_assert_eq(MO.npath, 2);
	assert_is(MO.path[0].host, "relay.example.net");
	cr_assert(MO.path[0].secure);
	assert_is(MO.path[1].session_id, "k3j");
	assert_is(MO.path_text, "msrps://relay.example.net:2855/zz9a;tcp "
				"msrps://host.example.net:2856/k3j;tcp");
	cr_assert_eq(MO.ntypes, 3);
	assert_is(MO.types[0], "message/cpim");
	assert_is(MO.types[2], "application/im-iscomposing+xml");
	cr_assert_eq(MO.nwrapped, 3);
	assert_is(MO.wrapped[1], "image/*");
	cr_assert(MO.has_max_size);
	cr_assert_eq(MO.max_size, 131072);
	cr_assert_eq(MO.setup, SDP_SETUP_ACTPASS);
	cr_assert_eq(MO.connection, SDP_CONNECTION_NEW);
	cr_assert_eq(MO.dir, SDP_DIR_RECVONLY);
	cr_assert_not(MO.cema);
	assert_is(MO.conn.addr, "host.example.net");
}

Test(sdp_msrp, find_defaults_and_levels)
{
	/* no optional attribute: sendrecv, no setup, no max-size; session-level direction and
	 * media-level c= apply */
	parsed(&SO, "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
		    "a=sendonly\r\n"
		    MLINE "c=IN IP4 198.51.100.2\r\n" MIN_ATTRS);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(MO.dir, SDP_DIR_SENDONLY);
	cr_assert_eq(MO.setup, SDP_SETUP_ABSENT);
	cr_assert_eq(MO.connection, SDP_CONNECTION_ABSENT);
	cr_assert_not(MO.has_max_size);
	cr_assert_eq(MO.nwrapped, 0);
	assert_is(MO.conn.addr, "198.51.100.2");

	parsed(&SO, SESSION MLINE MIN_ATTRS "a=inactive\r\n");
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(MO.dir, SDP_DIR_INACTIVE);
	cr_assert_eq(MO.tls, 0);
}

Test(sdp_msrp, find_which_stream)
{
	/* no MSRP at all */
	parsed(&SO, SESSION "m=audio 4000 RTP/AVP 0\r\nm=message 5000 TCP/CPIM *\r\n");
	cr_assert_eq(sdp_msrp_find(&SO, &MO), -ENOENT);
	parsed(&SO, SESSION);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), -ENOENT);

	/* a rejected stream is taken as it is, attributes unchecked */
	parsed(&SO, SESSION "m=message 0 TCP/MSRP *\r\n");
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(MO.port, 0);
	cr_assert_eq(MO.index, 0);

	/* the first one with a port wins over an earlier rejected one; case of media/proto */
	parsed(&SO, SESSION "m=message 0 TCP/MSRP *\r\n"
		    "m=Message 7394 tcp/msrp *\r\n" MIN_ATTRS
		    "m=message 7395 TCP/MSRP *\r\n");
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(MO.index, 1);
	cr_assert_eq(MO.port, 7394);
}

/* One malformed stream per attribute rule, with the reason sdp_msrp_find() gives. */
Test(sdp_msrp, find_refused)
{
	static const struct {
		const char *attrs;
		enum sdp_msrp_bad bad;
	} v[] = {
		{ "a=accept-types:text/plain\r\n", SDP_MSRP_BAD_PATH },
		{ MIN_ATTRS "a=path:" PATH1 "\r\n", SDP_MSRP_BAD_PATH },
		{ "a=accept-types:text/plain\r\na=path\r\n", SDP_MSRP_BAD_PATH },
		{ "a=accept-types:text/plain\r\na=path:\r\n", SDP_MSRP_BAD_PATH },
		{ "a=accept-types:text/plain\r\na=path:   \r\n", SDP_MSRP_BAD_PATH },
		{ "a=accept-types:text/plain\r\na=path:http://x;tcp\r\n", SDP_MSRP_BAD_PATH },
		{ "a=accept-types:text/plain\r\na=path:" PATH1 " msrp://h:0/x;tcp\r\n",
		  SDP_MSRP_BAD_PATH },
		{ "a=accept-types:text/plain\r\na=path:" PATH1 " " PATH1 " " PATH1 " " PATH1
		  " " PATH1 " " PATH1 " " PATH1 " " PATH1 " " PATH1 "\r\n",
		  SDP_MSRP_BAD_PATH_LONG },
		{ "a=path:" PATH1 "\r\n", SDP_MSRP_BAD_ACCEPT },
		{ MIN_ATTRS "a=accept-types:text/html\r\n", SDP_MSRP_BAD_ACCEPT },
		{ "a=accept-types:\r\na=path:" PATH1 "\r\n", SDP_MSRP_BAD_ACCEPT },
		{ "a=accept-types:text\r\na=path:" PATH1 "\r\n", SDP_MSRP_BAD_ACCEPT },
		{ "a=accept-types:*/plain\r\na=path:" PATH1 "\r\n", SDP_MSRP_BAD_ACCEPT },
		{ "a=accept-types:text/\r\na=path:" PATH1 "\r\n", SDP_MSRP_BAD_ACCEPT },
		{ "a=accept-types:/plain\r\na=path:" PATH1 "\r\n", SDP_MSRP_BAD_ACCEPT },
		{ "a=accept-types:text/pl(ain\r\na=path:" PATH1 "\r\n", SDP_MSRP_BAD_ACCEPT },
		{ "a=accept-types:text/plain;charset=utf-8\r\na=path:" PATH1 "\r\n",
		  SDP_MSRP_BAD_ACCEPT },
		{ MIN_ATTRS "a=accept-wrapped-types:a/b\r\na=accept-wrapped-types:a/b\r\n",
		  SDP_MSRP_BAD_WRAPPED },
		{ MIN_ATTRS "a=accept-wrapped-types\r\n", SDP_MSRP_BAD_WRAPPED },
		{ MIN_ATTRS "a=accept-wrapped-types:text\r\n", SDP_MSRP_BAD_WRAPPED },
		{ MIN_ATTRS "a=max-size:\r\n", SDP_MSRP_BAD_MAX_SIZE },
		{ MIN_ATTRS "a=max-size:-1\r\n", SDP_MSRP_BAD_MAX_SIZE },
		{ MIN_ATTRS "a=max-size:12k\r\n", SDP_MSRP_BAD_MAX_SIZE },
		{ MIN_ATTRS "a=max-size:18446744073709551616\r\n", SDP_MSRP_BAD_MAX_SIZE },
		{ MIN_ATTRS "a=max-size:1\r\na=max-size:2\r\n", SDP_MSRP_BAD_MAX_SIZE },
		{ MIN_ATTRS "a=setup:both\r\n", SDP_MSRP_BAD_SETUP },
		{ MIN_ATTRS "a=setup\r\n", SDP_MSRP_BAD_SETUP },
		{ MIN_ATTRS "a=setup:active\r\na=setup:active\r\n", SDP_MSRP_BAD_SETUP },
		{ MIN_ATTRS "a=connection:old\r\n", SDP_MSRP_BAD_CONNECTION },
		{ MIN_ATTRS "a=connection:new\r\na=connection:new\r\n", SDP_MSRP_BAD_CONNECTION },
		{ MIN_ATTRS "a=sendonly\r\na=recvonly\r\n", SDP_MSRP_BAD_DIR },
		{ MIN_ATTRS "a=msrp-cema:yes\r\n", SDP_MSRP_BAD_CEMA },
		{ MIN_ATTRS "a=msrp-cema\r\na=msrp-cema\r\n", SDP_MSRP_BAD_CEMA },
	};
	char txt[2048];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(txt, sizeof(txt), SESSION MLINE "%s", v[i].attrs);
		parsed(&SO, txt);
		cr_assert_eq(sdp_msrp_find(&SO, &MO), -EINVAL, "[%zu] accepted", i);
		cr_assert_eq(MO.bad, v[i].bad, "[%zu] bad %d, want %d", i, MO.bad, v[i].bad);
	}
	/* the format list must be "*" */
	parsed(&SO, SESSION "m=message 7394 TCP/MSRP text/plain\r\n" MIN_ATTRS);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), -EINVAL);
	cr_assert_eq(MO.bad, SDP_MSRP_BAD_FMT);
	/* CEMA with no c= anywhere */
	parsed(&SO, "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\n" MLINE MIN_ATTRS
		    "a=msrp-cema\r\n");
	cr_assert_eq(sdp_msrp_find(&SO, &MO), -EINVAL);
	cr_assert_eq(MO.bad, SDP_MSRP_BAD_CEMA);
	/* session-level direction conflicts count where the stream has none */
	parsed(&SO, SESSION "a=sendonly\r\na=inactive\r\n" MLINE MIN_ATTRS);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), -EINVAL);
	cr_assert_eq(MO.bad, SDP_MSRP_BAD_DIR);
}

/* ---- media-type lists --------------------------------------------------------------- */

Test(sdp_msrp, types_parse)
{
	cm_slice t[4];
	unsigned n = 99;

	cr_assert_eq(sdp_msrp_types_parse(CM_SLICE_LIT(" * text/* a.b/c-d+e "), t, 4, &n), 0);
	cr_assert_eq(n, 3);
	assert_is(t[0], "*");
	assert_is(t[1], "text/*");
	assert_is(t[2], "a.b/c-d+e");
	cr_assert_eq(sdp_msrp_types_parse(CM_SLICE_LIT("a/b a/c a/d a/e a/f"), t, 4, &n),
		     -E2BIG);
	static const char *const bad[] = { "", "   ", "text", "text/", "/x", "*/*", "*/x",
					   "te\"xt/x", "a/b/c/", "a/b,c/d", "a/b\tc/d" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(sdp_msrp_types_parse((cm_slice){ bad[i], strlen(bad[i]) }, t, 4,
						  &n), -EINVAL, "accepted '%s'", bad[i]);
}

Test(sdp_msrp, type_match)
{
	static const struct {
		const char *pattern, *type;
		int match;
	} v[] = {
		{ "*", "text/plain", 1 },
		{ "*", "application/octet-stream", 1 },
		{ "text/*", "text/plain", 1 },
		{ "text/*", "TEXT/HTML", 1 },
		{ "text/*", "textx/plain", 0 },
		{ "text/*", "image/png", 0 },
		{ "text/plain", "text/plain", 1 },
		{ "Text/Plain", "text/PLAIN", 1 },
		{ "text/plain", "text/plain;charset=UTF-8", 1 },
		{ "text/plain", " text/plain ; charset=UTF-8", 1 },
		{ "text/plain", "text/plainx", 0 },
		{ "text/plain", "text/html", 0 },
		{ "message/cpim", "message/CPIM", 1 },
		/* not a media type: nothing matches it, not even "*" */
		{ "*", "text", 0 },
		{ "*", "", 0 },
		{ "*", "/plain", 0 },
		{ "text/*", "text/", 0 },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cr_assert_eq(sdp_msrp_type_match((cm_slice){ v[i].pattern, strlen(v[i].pattern) },
						 (cm_slice){ v[i].type, strlen(v[i].type) }),
			     v[i].match, "%s ~ %s", v[i].pattern, v[i].type);
}

/* ---- our offer ---------------------------------------------------------------------- */

static const cm_slice our_path[] = { CM_SLICE_LIT("msrp://192.0.2.50:2855/ours1;tcp") };
static const cm_slice relay_path[] = { CM_SLICE_LIT("msrps://relay.example.com:2855/r9;tcp"),
				       CM_SLICE_LIT("msrps://192.0.2.50:2855/ours1;tcp") };
static const cm_slice our_types[] = { CM_SLICE_LIT("message/cpim"),
				      CM_SLICE_LIT("text/plain"),
				      CM_SLICE_LIT("application/im-iscomposing+xml") };
static const cm_slice our_wrapped[] = { CM_SLICE_LIT("text/plain"),
					CM_SLICE_LIT("message/imdn+xml") };

static struct sdp_msrp_local local(void)
{
	return (struct sdp_msrp_local){
		.username = CM_SLICE_LIT("rcsgw"),
		.sess_id = CM_SLICE_LIT("1700000000"),
		.sess_version = CM_SLICE_LIT("1"),
		.addr = CM_SLICE_LIT("192.0.2.50"),
		.port = 2855,
		.path = our_path,
		.npath = 1,
		.types = our_types,
		.ntypes = 3,
		.wrapped = our_wrapped,
		.nwrapped = 2,
		.max_size = 65536,
	};
}

static char buf[8192];

Test(sdp_msrp, offer)
{
	struct sdp_msrp_local l = local();
	size_t n;

	cr_assert_eq(sdp_msrp_offer(&l, buf, sizeof(buf), &n), 0);
	cr_assert_eq(n, strlen(buf));
	cr_assert_str_eq(buf, "v=0\r\n"
			      "o=rcsgw 1700000000 1 IN IP4 192.0.2.50\r\n"
			      "s=-\r\n"
			      "c=IN IP4 192.0.2.50\r\n"
			      "t=0 0\r\n"
			      "m=message 2855 TCP/MSRP *\r\n"
			      "a=accept-types:message/cpim text/plain "
			      "application/im-iscomposing+xml\r\n"
			      "a=accept-wrapped-types:text/plain message/imdn+xml\r\n"
			      "a=max-size:65536\r\n"
			      "a=path:msrp://192.0.2.50:2855/ours1;tcp\r\n"
			      "a=setup:actpass\r\n"
			      "a=connection:new\r\n");
	parsed(&SO, buf);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(MO.setup, SDP_SETUP_ACTPASS);
	cr_assert_eq(MO.ntypes, 3);
	cr_assert_eq(MO.max_size, 65536);

	/* through a relay, over TLS, IPv6, CEMA, sendonly, active, no wrapped types */
	l.path = relay_path;
	l.npath = 2;
	l.tls = 1;
	l.addr = CM_SLICE_LIT("2001:db8::50");
	l.cema = 1;
	l.dir = SDP_DIR_SENDONLY;
	l.setup = SDP_SETUP_ACTIVE;
	l.nwrapped = 0;
	l.max_size = 0;
	l.username = CM_SLICE_NULL;
	cr_assert_eq(sdp_msrp_offer(&l, buf, sizeof(buf), &n), 0);
	cr_assert(strstr(buf, "o=- 1700000000 1 IN IP6 2001:db8::50\r\n"));
	cr_assert(strstr(buf, "c=IN IP6 2001:db8::50\r\n"));
	cr_assert(strstr(buf, "m=message 2855 TCP/TLS/MSRP *\r\n"));
	cr_assert(strstr(buf, "a=path:msrps://relay.example.com:2855/r9;tcp "
			      "msrps://192.0.2.50:2855/ours1;tcp\r\n"));
	cr_assert(strstr(buf, "a=setup:active\r\n"));
	cr_assert(strstr(buf, "a=msrp-cema\r\na=sendonly\r\n"));
	cr_assert_null(strstr(buf, "wrapped"));
	cr_assert_null(strstr(buf, "max-size"));
	parsed(&SO, buf);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(MO.npath, 2);
	cr_assert(MO.cema && MO.tls);

	/* too small a buffer: -ENOSPC and the size needed */
	size_t need = n;

	cr_assert_eq(sdp_msrp_offer(&l, buf, need, &n), -ENOSPC);
	cr_assert_eq(n, need);
	cr_assert_eq(sdp_msrp_offer(&l, buf, need + 1, &n), 0);
}

Test(sdp_msrp, offer_refused_config)
{
	static const cm_slice bad_uri[] = { CM_SLICE_LIT("msrp://x;") };
	static const cm_slice bad_type[] = { CM_SLICE_LIT("text") };
	static const cm_slice two_types[] = { CM_SLICE_LIT("text/plain text/html") };
	struct sdp_msrp_local l;
	size_t n;

	for (int k = 0; k < 10; k++) {
		l = local();
		switch (k) {
		case 0: l.port = 0; break;
		case 1: l.npath = 0; break;
		case 2: l.path = bad_uri; l.npath = 1; break;
		case 3: l.ntypes = 0; break;
		case 4: l.types = bad_type; l.ntypes = 1; break;
		case 5: l.types = two_types; l.ntypes = 1; break;
		case 6: l.addr = CM_SLICE_NULL; break;
		case 7: l.addr = CM_SLICE_LIT("a b"); break;
		case 8: l.sess_id = CM_SLICE_LIT("12x"); break;
		case 9: l.wrapped = bad_type; l.nwrapped = 1; break;
		}
		cr_assert_eq(sdp_msrp_offer(&l, buf, sizeof(buf), &n), -EINVAL, "case %d", k);
	}
}

/* ---- our answer --------------------------------------------------------------------- */

static struct sdp_msrp_answer_res RES;

/* Answers <offer> with <l>, parses the answer into SA/MA; the answer's text in buf. */
static void answer(const char *offer_txt, const struct sdp_msrp_local *l)
{
	size_t n;

	parsed(&SO, offer_txt);
	cr_assert_eq(sdp_msrp_answer(&SO, l, buf, sizeof(buf), &n, &RES), 0);
	cr_assert_eq(n, strlen(buf));
	parsed(&SA, buf);
	cr_assert_eq(SA.nmedia, SO.nmedia, "RFC 3264 §6: as many m= lines");
}

/* RFC 4975 §8's exchange: an offer with CPIM and wrapped types, answered by a UA that
 * takes CPIM and plain text. */
Test(sdp_msrp, answer_rfc4975_shape)
{
	struct sdp_msrp_local l = local();
	static const cm_slice mine[] = { CM_SLICE_LIT("message/cpim"),
					 CM_SLICE_LIT("text/plain") };

	l.types = mine;
	l.ntypes = 2;
	answer(rich, &l);
	cr_assert_eq(RES.verdict, SDP_MSRP_OK);
	cr_assert_eq(RES.sip_code, 0);
	cr_assert_eq(RES.index, 1);
	cr_assert_eq(sdp_msrp_find(&SA, &MA), 0);
	cr_assert_eq(MA.index, 1);
	cr_assert_eq(SA.media[0].port, 0, "the audio stream is rejected");
	assert_is(SA.media[0].media, "audio");
	assert_is(SA.media[0].fmts, "0");
	cr_assert(MA.tls, "the offer's proto is kept");
	cr_assert_eq(MA.ntypes, 2);
	assert_is(MA.types[0], "message/cpim");
	assert_is(MA.types[1], "text/plain");
	/* ours: text/plain message/imdn+xml; theirs: text/plain image/ * message/imdn+xml */
	cr_assert_eq(MA.nwrapped, 2);
	assert_is(MA.wrapped[1], "message/imdn+xml");
	cr_assert_eq(MA.dir, SDP_DIR_SENDONLY, "recvonly offered");
	assert_is(SA.time, "0 0");
}

/* RFC 6135 §4's exchanges: actpass → our preference; active ↔ passive; absent. */
Test(sdp_msrp, answer_setup_table)
{
	static const struct {
		const char *offered;
		enum sdp_setup pref, answered;
		int we_connect;
	} v[] = {
		{ "a=setup:actpass\r\n", SDP_SETUP_ABSENT, SDP_SETUP_ACTIVE, 1 },
		{ "a=setup:actpass\r\n", SDP_SETUP_ACTIVE, SDP_SETUP_ACTIVE, 1 },
		{ "a=setup:actpass\r\n", SDP_SETUP_PASSIVE, SDP_SETUP_PASSIVE, 0 },
		{ "a=setup:active\r\n", SDP_SETUP_ACTIVE, SDP_SETUP_PASSIVE, 0 },
		{ "a=setup:passive\r\n", SDP_SETUP_PASSIVE, SDP_SETUP_ACTIVE, 1 },
		{ "", SDP_SETUP_ACTIVE, SDP_SETUP_PASSIVE, 0 },
		{ "a=setup:holdconn\r\n", SDP_SETUP_ACTIVE, SDP_SETUP_HOLDCONN, 0 },
	};
	struct sdp_msrp_local l = local();
	struct sdp_msrp_session ss;
	char txt[1024];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		l.setup = v[i].pref;
		snprintf(txt, sizeof(txt), SESSION MLINE MIN_ATTRS "%s", v[i].offered);
		answer(txt, &l);
		cr_assert_eq(RES.verdict, SDP_MSRP_OK);
		cr_assert_eq(RES.setup, v[i].answered, "[%zu]", i);
		cr_assert_eq(RES.we_connect, v[i].we_connect, "[%zu]", i);
		cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
		cr_assert_eq(sdp_msrp_find(&SA, &MA), 0);
		cr_assert_eq(MA.setup, v[i].answered);
		cr_assert_eq(MA.connection, SDP_CONNECTION_NEW);
		/* the decision read back from both sides agrees with the answerer's */
		cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 0, &ss), 0, "[%zu]", i);
		cr_assert_eq(ss.we_connect, v[i].we_connect, "[%zu]", i);
		cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 1, &ss), 0);
		cr_assert_eq(ss.we_connect, !v[i].we_connect && !ss.hold, "[%zu]", i);
		cr_assert_eq(ss.hold, v[i].answered == SDP_SETUP_HOLDCONN);
	}
}

Test(sdp_msrp, answer_type_intersection)
{
	static const struct {
		const char *theirs;
		const char *ours[4];
		const char *want;          /* the answer's accept-types, NULL: no common type */
	} v[] = {
		{ "text/plain", { "text/plain" }, "text/plain" },
		{ "*", { "message/cpim", "text/plain" }, "message/cpim text/plain" },
		{ "text/plain message/cpim", { "*" }, "text/plain message/cpim" },
		{ "text/*", { "text/plain", "image/png" }, "text/plain" },
		{ "text/html", { "text/*" }, "text/html" },
		{ "text/* text/plain", { "text/*" }, "text/* text/plain" },
		{ "TEXT/PLAIN", { "text/plain" }, "text/plain" },
		{ "image/png", { "text/plain", "text/*" }, NULL },
		{ "text/plain", { "*", "text/plain" }, "text/plain" },
	};
	struct sdp_msrp_local l = local();
	cm_slice ours[4];
	char txt[1024];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		l.ntypes = 0;
		while (l.ntypes < 4 && v[i].ours[l.ntypes]) {
			ours[l.ntypes] = (cm_slice){ v[i].ours[l.ntypes],
						     strlen(v[i].ours[l.ntypes]) };
			l.ntypes++;
		}
		l.types = ours;
		snprintf(txt, sizeof(txt), SESSION MLINE "a=accept-types:%s\r\na=path:" PATH1
			 "\r\n", v[i].theirs);
		answer(txt, &l);
		if (!v[i].want) {
			cr_assert_eq(RES.verdict, SDP_MSRP_NO_COMMON_TYPE, "[%zu]", i);
			cr_assert_eq(RES.sip_code, 415);
			cr_assert_eq(SA.media[0].port, 0);
			cr_assert_eq(SA.media[0].nattr, 0);
			continue;
		}
		cr_assert_eq(RES.verdict, SDP_MSRP_OK, "[%zu]", i);
		const struct sdp_attr *a = sdp_attr_get(&SA, 0, "accept-types");

		cr_assert_not_null(a);
		assert_is(a->value, v[i].want);
		/* an offer without wrapped types gets none back */
		cr_assert_null(sdp_attr_get(&SA, 0, "accept-wrapped-types"));
	}
}

Test(sdp_msrp, answer_refusals)
{
	struct sdp_msrp_local l = local();
	size_t n;

	/* no MSRP: 488, every stream rejected */
	answer(SESSION "m=audio 4000 RTP/AVP 0 8\r\nm=video 4002 RTP/AVP 31\r\n", &l);
	cr_assert_eq(RES.verdict, SDP_MSRP_NO_MEDIA);
	cr_assert_eq(RES.sip_code, 488);
	cr_assert_eq(RES.index, -1);
	cr_assert_eq(SA.media[0].port, 0);
	cr_assert_eq(SA.media[1].port, 0);
	assert_is(SA.media[0].fmts, "0 8");
	assert_is(SA.media[1].proto, "RTP/AVP");

	/* only a rejected MSRP stream */
	answer(SESSION "m=message 0 TCP/MSRP *\r\n", &l);
	cr_assert_eq(RES.verdict, SDP_MSRP_NO_MEDIA);
	cr_assert_eq(RES.index, 0);

	/* a malformed MSRP stream: 488 and why */
	answer(SESSION MLINE "a=accept-types:text/plain\r\n", &l);
	cr_assert_eq(RES.verdict, SDP_MSRP_BAD_OFFER);
	cr_assert_eq(RES.sip_code, 488);
	cr_assert_eq(RES.bad, SDP_MSRP_BAD_PATH);
	cr_assert_eq(SA.media[0].port, 0);

	/* a second MSRP stream is rejected, the first taken */
	answer(SESSION MLINE MIN_ATTRS MLINE MIN_ATTRS, &l);
	cr_assert_eq(RES.verdict, SDP_MSRP_OK);
	cr_assert_eq(SA.media[0].port, 2855);
	cr_assert_eq(SA.media[1].port, 0);

	/* our side unusable, and a buffer too small */
	parsed(&SO, SESSION MLINE MIN_ATTRS);
	l.npath = 0;
	cr_assert_eq(sdp_msrp_answer(&SO, &l, buf, sizeof(buf), &n, &RES), -EINVAL);
	l = local();
	cr_assert_eq(sdp_msrp_answer(&SO, &l, buf, 10, &n, &RES), -ENOSPC);
	cr_assert_gt(n, 10);
	cr_assert_eq(sdp_msrp_answer(&SO, &l, buf, n + 1, &n, &RES), 0);
}

Test(sdp_msrp, answer_direction_and_cema)
{
	static const struct {
		const char *offered;
		enum sdp_dir ours, want;
	} v[] = {
		{ "", SDP_DIR_SENDRECV, SDP_DIR_SENDRECV },
		{ "", SDP_DIR_RECVONLY, SDP_DIR_RECVONLY },
		{ "a=sendonly\r\n", SDP_DIR_SENDRECV, SDP_DIR_RECVONLY },
		{ "a=sendonly\r\n", SDP_DIR_SENDONLY, SDP_DIR_INACTIVE },
		{ "a=recvonly\r\n", SDP_DIR_SENDRECV, SDP_DIR_SENDONLY },
		{ "a=recvonly\r\n", SDP_DIR_RECVONLY, SDP_DIR_INACTIVE },
		{ "a=inactive\r\n", SDP_DIR_SENDRECV, SDP_DIR_INACTIVE },
	};
	struct sdp_msrp_local l = local();
	char txt[1024];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		l.dir = v[i].ours;
		snprintf(txt, sizeof(txt), SESSION MLINE MIN_ATTRS "%s", v[i].offered);
		answer(txt, &l);
		cr_assert_eq(sdp_msrp_find(&SA, &MA), 0);
		cr_assert_eq(MA.dir, v[i].want, "[%zu] %d", i, MA.dir);
	}

	/* RFC 6714: CEMA only when both ask for it */
	l = local();
	answer(SESSION MLINE MIN_ATTRS "a=msrp-cema\r\n", &l);
	cr_assert_not(RES.cema);
	cr_assert_null(sdp_attr_get(&SA, 0, "msrp-cema"));
	l.cema = 1;
	answer(SESSION MLINE MIN_ATTRS, &l);
	cr_assert_not(RES.cema);
	cr_assert_null(sdp_attr_get(&SA, 0, "msrp-cema"));
	answer(SESSION MLINE MIN_ATTRS "a=msrp-cema\r\n", &l);
	cr_assert(RES.cema);
	cr_assert_not_null(sdp_attr_get(&SA, 0, "msrp-cema"));
}

/* ---- the decision from an offer/answer pair ----------------------------------------- */

/* Streams with the given a=setup values, everything else minimal. */
static void pair(const char *offer_setup, const char *answer_setup, const char *extra_o,
		 const char *extra_a)
{
	char txt[1024];

	snprintf(txt, sizeof(txt), SESSION MLINE MIN_ATTRS "%s%s", offer_setup, extra_o);
	parsed(&SO, txt);
	snprintf(txt, sizeof(txt),
		 "v=0\r\no=- 2 2 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 203.0.113.9\r\nt=0 0\r\n"
		 "m=message 4321 TCP/MSRP *\r\na=accept-types:*\r\n"
		 "a=path:msrp://relay.example.org:2855/rr;tcp msrp://203.0.113.9:4321/aa;tcp\r\n"
		 "%s%s", answer_setup, extra_a);
	parsed(&SA, txt);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(sdp_msrp_find(&SA, &MA), 0);
}

Test(sdp_msrp, negotiate_setup_pairs)
{
	static const struct {
		const char *o, *a;
		int rc, offerer_connects, hold;
	} v[] = {
		{ "a=setup:actpass\r\n", "a=setup:active\r\n", 0, 0, 0 },
		{ "a=setup:actpass\r\n", "a=setup:passive\r\n", 0, 1, 0 },
		{ "a=setup:actpass\r\n", "", 0, 1, 0 },
		{ "a=setup:active\r\n", "a=setup:passive\r\n", 0, 1, 0 },
		{ "a=setup:active\r\n", "", 0, 1, 0 },
		{ "a=setup:passive\r\n", "a=setup:active\r\n", 0, 0, 0 },
		{ "a=setup:passive\r\n", "", 0, 0, 0 },
		{ "", "", 0, 1, 0 },                  /* RFC 4975 §5.4: the offerer connects */
		{ "", "a=setup:active\r\n", 0, 0, 0 },
		{ "", "a=setup:passive\r\n", 0, 1, 0 },
		{ "a=setup:holdconn\r\n", "a=setup:holdconn\r\n", 0, 0, 1 },
		{ "a=setup:actpass\r\n", "a=setup:holdconn\r\n", 0, 0, 1 },
		{ "a=setup:active\r\n", "a=setup:active\r\n", -EPROTO, 0, 0 },
		{ "a=setup:passive\r\n", "a=setup:passive\r\n", -EPROTO, 0, 0 },
		{ "a=setup:actpass\r\n", "a=setup:actpass\r\n", -EPROTO, 0, 0 },
	};
	struct sdp_msrp_session ss;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		pair(v[i].o, v[i].a, "", "");
		cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 1, &ss), v[i].rc, "[%zu]", i);
		if (v[i].rc)
			continue;
		cr_assert_eq(ss.we_connect, v[i].offerer_connects, "[%zu] as offerer", i);
		cr_assert_eq(ss.hold, v[i].hold, "[%zu]", i);
		cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 0, &ss), 0);
		cr_assert_eq(ss.we_connect, !v[i].offerer_connects && !v[i].hold,
			     "[%zu] as answerer", i);
	}
}

Test(sdp_msrp, negotiate_peer_and_target)
{
	struct sdp_msrp_session ss;

	/* as offerer: the peer is the answer, its first path URI (a relay) is the target */
	pair("a=setup:actpass\r\n", "a=setup:passive\r\na=connection:existing\r\n", "", "");
	cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 1, &ss), 0);
	cr_assert_eq(ss.peer, &MA);
	cr_assert_eq(ss.peer->npath, 2);
	cr_assert_eq(ss.connect_to, &MA.path[0]);
	assert_is(ss.connect_to->host, "relay.example.org");
	cr_assert(ss.reuse);
	cr_assert_not(ss.cema);
	cr_assert_not(ss.tls);

	/* as answerer: the peer is the offer */
	cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 0, &ss), 0);
	cr_assert_eq(ss.peer, &MO);
	assert_is(ss.connect_to->host, "192.0.2.7");
	cr_assert_not(ss.reuse);

	/* RFC 6714: with CEMA on both sides, connect to c= and m= of the peer */
	pair("a=setup:actpass\r\n", "a=setup:passive\r\n", "a=msrp-cema\r\n",
	     "a=msrp-cema\r\n");
	cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 1, &ss), 0);
	cr_assert(ss.cema);
	cr_assert(ss.we_connect);
	assert_is(ss.cema_addr, "203.0.113.9");
	cr_assert_eq(ss.cema_port, 4321);
	pair("a=setup:actpass\r\n", "a=setup:passive\r\n", "a=msrp-cema\r\n", "");
	cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 1, &ss), 0);
	cr_assert_not(ss.cema);

	/* a rejected stream on either side */
	parsed(&SA, SESSION "m=message 0 TCP/MSRP *\r\n");
	cr_assert_eq(sdp_msrp_find(&SA, &MA), 0);
	cr_assert_eq(sdp_msrp_negotiate(&MO, &MA, 1, &ss), -ECONNREFUSED);
	cr_assert_eq(sdp_msrp_negotiate(&MA, &MO, 1, &ss), -ECONNREFUSED);
}

/* ---- what may be sent --------------------------------------------------------------- */

Test(sdp_msrp, may_send)
{
	parsed(&SO, rich);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	/* rich says recvonly: it receives */
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("text/plain"), 10), SDP_MSRP_SEND_OK);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("Message/CPIM"), 131072),
		     SDP_MSRP_SEND_OK);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("text/plain; charset=utf-8"), 0),
		     SDP_MSRP_SEND_OK);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("message/cpim"), 131073),
		     SDP_MSRP_SEND_SIZE);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("image/png"), 1), SDP_MSRP_SEND_TYPE);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("text/html"), 1), SDP_MSRP_SEND_TYPE);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("garbage"), 1), SDP_MSRP_SEND_TYPE);
	/* inside CPIM: the wrapped list, image/ * by wildcard, or a top-level type */
	cr_assert_eq(sdp_msrp_may_send_wrapped(&MO, CM_SLICE_LIT("image/jpeg")),
		     SDP_MSRP_SEND_OK);
	cr_assert_eq(sdp_msrp_may_send_wrapped(&MO, CM_SLICE_LIT("message/imdn+xml")),
		     SDP_MSRP_SEND_OK);
	cr_assert_eq(sdp_msrp_may_send_wrapped(&MO,
					       CM_SLICE_LIT("application/im-iscomposing+xml")),
		     SDP_MSRP_SEND_OK);
	cr_assert_eq(sdp_msrp_may_send_wrapped(&MO, CM_SLICE_LIT("video/mp4")),
		     SDP_MSRP_SEND_TYPE);

	/* a peer that only sends, or is inactive, receives nothing */
	parsed(&SO, SESSION MLINE "a=accept-types:*\r\na=path:" PATH1 "\r\na=sendonly\r\n");
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("text/plain"), 1), SDP_MSRP_SEND_DIR);
	cr_assert_eq(sdp_msrp_may_send_wrapped(&MO, CM_SLICE_LIT("text/plain")),
		     SDP_MSRP_SEND_DIR);
	parsed(&SO, SESSION MLINE "a=accept-types:*\r\na=path:" PATH1 "\r\na=inactive\r\n");
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("text/plain"), 1), SDP_MSRP_SEND_DIR);
	/* "*" takes any media type, and no max-size means no limit */
	parsed(&SO, SESSION MLINE "a=accept-types:*\r\na=path:" PATH1 "\r\n");
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	cr_assert_eq(sdp_msrp_may_send(&MO, CM_SLICE_LIT("video/mp4"), UINT64_MAX),
		     SDP_MSRP_SEND_OK);
	cr_assert_str_eq(sdp_setup_name(SDP_SETUP_HOLDCONN), "holdconn");
	cr_assert_str_eq(sdp_setup_name(SDP_SETUP_ABSENT), "");
}

/* RFC 5547: a file offer is sendonly with a=file-selector and friends, written as they come;
 * the answer (recvonly) echoes them; an attribute with a line break is refused. */
Test(sdp_msrp, file_transfer_attributes)
{
	struct sdp_msrp_local l = local();
	static const cm_slice fattrs[] = {
		CM_SLICE_LIT("file-selector:name:\"My cool picture.jpg\" type:image/jpeg size:32349 "
			     "hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E"),
		CM_SLICE_LIT("file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd"),
		CM_SLICE_LIT("file-disposition:render"),
	};
	size_t n;
	l.attrs = fattrs;
	l.nattrs = 3;
	l.dir = SDP_DIR_SENDONLY;
	cr_assert_eq(sdp_msrp_offer(&l, buf, sizeof(buf), &n), 0);
	cr_assert(strstr(buf, "a=file-selector:name:\"My cool picture.jpg\" type:image/jpeg size:32349 "
			      "hash:sha-1:72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E\r\n"
			      "a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd\r\n"
			      "a=file-disposition:render\r\na=sendonly\r\n"), "%s", buf);
	parsed(&SO, buf);
	cr_assert_eq(sdp_msrp_find(&SO, &MO), 0);
	const struct sdp_attr *a = sdp_attr_get(&SO, MO.index, "file-transfer-id");
	cr_assert(a);
	cr_expect(a->value.len == 32);
	/* the answer: recvonly, the same selector and id */
	struct sdp_msrp_local ans = local();
	struct sdp_msrp_answer_res res;
	static const cm_slice any[] = { CM_SLICE_LIT("*") };
	ans.types = any;
	ans.ntypes = 1;
	ans.attrs = fattrs;
	ans.nattrs = 2;
	cr_assert_eq(sdp_msrp_answer(&SO, &ans, buf, sizeof(buf), &n, &res), 0);
	cr_assert_eq(res.verdict, SDP_MSRP_OK);
	cr_assert(strstr(buf, "a=recvonly\r\n"), "%s", buf);
	cr_assert(strstr(buf, "a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd\r\n"));
	static const cm_slice bad[] = { CM_SLICE_LIT("x:a\r\na=y") };
	l.attrs = bad;
	l.nattrs = 1;
	cr_assert_eq(sdp_msrp_offer(&l, buf, sizeof(buf), &n), -EINVAL);
}
