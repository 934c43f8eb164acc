/* test_rcs_cpim.c — message/cpim (rcs/rcs_cpim.c).
 *
 * The parser on RFC 3862's example message (its NS, Require, Subject;lang and content
 * headers) and on the CPIM part of RFC 5438's IMDN examples (a message asking for
 * notifications, and an IMDN itself), namespace scoping, line ends, folding, binary
 * bodies, each way of being malformed and each limit. Every input is parsed from a copy
 * that ends at a PROT_NONE page (tests/lib/guard.h), and every prefix of the RFC example
 * too, so a read past the end faults. The writer: exact output, round trips through the
 * parser, -ENOSPC at every size below the one needed (into buffers that also end at a
 * PROT_NONE page, and are left untouched), -EINVAL and -E2BIG. RFC 3339 stamps against
 * gmtime_r(). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "rcs/rcs_cpim.h"
#include "tests/lib/guard.h"

#define SL(s) ((cm_slice){ (s), strlen(s) })

static struct rcs_cpim_msg msg;

/* rcs_cpim_parse() of <len> bytes of <text> from a guarded copy, into msg; the copy is
 * kept in *<g> (release it with guard_release() once done with msg). */
static int parse_n(const char *text, size_t len, const char **g)
{
	*g = guard_copy(text, len);
	return rcs_cpim_parse(*g, len, &msg);
}

static int parse_g(const char *text, const char **g)
{
	return parse_n(text, strlen(text), g);
}

/* rcs_cpim_parse() of <text>, the copy released at once (for results, not slices). */
static int parse_rc(const char *text)
{
	const char *g;
	int rc = parse_g(text, &g);

	guard_release(g);
	return rc;
}

static void eq(cm_slice s, const char *want)
{
	cr_assert(s.len == strlen(want) && (s.len == 0 || memcmp(s.p, want, s.len) == 0),
		  "got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

static void hdr_eq(const struct rcs_cpim_hdr *h, const char *prefix, const char *name,
		   const char *params, const char *value)
{
	cr_assert_not_null(h, "no header %s.%s", prefix, name);
	eq(h->prefix, prefix);
	eq(h->name, name);
	eq(h->params, params);
	eq(h->value, value);
}

/* ---- RFC 3862 ------------------------------------------------------------------------ */

/* The example message of RFC 3862 (its "h:" and "e:" lines; the outer MIME header
 * "Content-type: Message/CPIM" belongs to the carrying protocol). */
#define RFC3862_BODY "<body>\r\nHere is the text of my message.\r\n</body>\r\n"
#define RFC3862                                                                        \
	"From: MR SANDERS <im:piglet@100akerwood.com>\r\n"                             \
	"To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n"                         \
	"DateTime: 2000-12-13T13:40:00-08:00\r\n"                                      \
	"Subject: the weather will be fine today\r\n"                                  \
	"Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n"                       \
	"NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n"                          \
	"Require: MyFeatures.VitalMessageOption\r\n"                                   \
	"MyFeatures.VitalMessageOption: Confirmation-requested\r\n"                    \
	"MyFeatures.WackyMessageOption: Use-silly-font\r\n"                            \
	"\r\n"                                                                         \
	"Content-type: text/xml; charset=utf-8\r\n"                                    \
	"Content-ID: <1234567890@foo.com>\r\n"                                         \
	"\r\n" RFC3862_BODY

#define MYFEATURES "mid:MessageFeatures@id.foo.com"

Test(rcs_cpim, rfc3862_example)
{
	const struct rcs_cpim_hdr *h;
	cm_slice d, u;
	const char *g;

	cr_assert_eq(parse_g(RFC3862, &g), 0);
	cr_assert_eq(msg.nhdrs, 9);
	hdr_eq(&msg.hdrs[0], "", "From", "", "MR SANDERS <im:piglet@100akerwood.com>");
	hdr_eq(&msg.hdrs[1], "", "To", "", "Depressed Donkey <im:eeyore@100akerwood.com>");
	hdr_eq(&msg.hdrs[2], "", "DateTime", "", "2000-12-13T13:40:00-08:00");
	hdr_eq(&msg.hdrs[3], "", "Subject", "", "the weather will be fine today");
	hdr_eq(&msg.hdrs[4], "", "Subject", "lang=fr", "beau temps prevu pour aujourd'hui");
	hdr_eq(&msg.hdrs[5], "", "NS", "", "MyFeatures <" MYFEATURES ">");
	hdr_eq(&msg.hdrs[6], "", "Require", "", "MyFeatures.VitalMessageOption");
	hdr_eq(&msg.hdrs[7], "MyFeatures", "VitalMessageOption", "", "Confirmation-requested");
	hdr_eq(&msg.hdrs[8], "MyFeatures", "WackyMessageOption", "", "Use-silly-font");
	cr_assert_eq(msg.nns, 1);
	eq(msg.ns[0].prefix, "MyFeatures");
	eq(msg.ns[0].uri, MYFEATURES);

	cr_assert_eq(msg.nmime, 2);
	hdr_eq(&msg.mime[0], "", "Content-type", "", "text/xml; charset=utf-8");
	hdr_eq(&msg.mime[1], "", "Content-ID", "", "<1234567890@foo.com>");
	eq(msg.content_type, "text/xml; charset=utf-8");
	eq(msg.body, RFC3862_BODY);

	/* look-ups: core names, repeated names, namespaces */
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_NULL, "From", NULL), &msg.hdrs[0]);
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(""), "To", NULL), &msg.hdrs[1]);
	h = rcs_cpim_get(&msg, CM_SLICE_NULL, "Subject", NULL);
	cr_assert_eq(h, &msg.hdrs[3]);
	h = rcs_cpim_get(&msg, CM_SLICE_NULL, "Subject", h);
	cr_assert_eq(h, &msg.hdrs[4]);
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_NULL, "Subject", h));
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_NULL, "subject", NULL), "case-sensitive");
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(RCS_CPIM_NS_CORE), "Require", NULL),
		     &msg.hdrs[6]);
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(MYFEATURES), "VitalMessageOption", NULL),
	       "MyFeatures", "VitalMessageOption", "", "Confirmation-requested");
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(MYFEATURES), "WackyMessageOption", NULL),
	       "MyFeatures", "WackyMessageOption", "", "Use-silly-font");
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_NULL, "VitalMessageOption", NULL));
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_LIT("mid:other@id.foo.com"),
				    "VitalMessageOption", NULL));
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_LIT(MYFEATURES), "From", NULL));
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_NULL, "From", &msg.hdrs[9]), "after not in m");

	cr_assert_eq(rcs_cpim_addr(msg.hdrs[0].value, &d, &u), 0);
	eq(d, "MR SANDERS");
	eq(u, "im:piglet@100akerwood.com");
	cr_assert_eq(rcs_cpim_addr(msg.hdrs[1].value, &d, &u), 0);
	eq(d, "Depressed Donkey");
	eq(u, "im:eeyore@100akerwood.com");
	guard_release(g);
}

/* Every prefix of the example, each from its own guarded copy: a malformed one is
 * -EINVAL (never a read past its end), and the ones that hold both empty lines parse. */
Test(rcs_cpim, rfc3862_every_prefix)
{
	const char *full = RFC3862;
	size_t n = strlen(full), body_at = strlen(RFC3862) - strlen(RFC3862_BODY);

	for (size_t len = 0; len <= n; len++) {
		const char *g;
		int rc = parse_n(full, len, &g);

		if (len >= body_at) {
			cr_assert_eq(rc, 0, "len %zu", len);
			cr_assert_eq(msg.body.len, len - body_at);
		} else {
			cr_assert_eq(rc, -EINVAL, "len %zu", len);
			cr_assert_eq(msg.nhdrs + msg.nmime + msg.nns, 0);
		}
		guard_release(g);
	}
}

/* The header forms of RFC 3862's header sections: cc, To without a display name, the
 * lang parameter, a prefix declared under another name. */
Test(rcs_cpim, rfc3862_header_forms)
{
	const char *g;
	cm_slice d, u;

	cr_assert_eq(parse_g("To: Pooh Bear <im:pooh@100akerwood.com>\r\n"
			     "From: <im:piglet@100akerwood.com>\r\n"
			     "cc: Winnie the Pooh <im:pooh@100akerwood.com>\r\n"
			     "cc: <im:tigger@100akerwood.com>\r\n"
			     "DateTime: 2001-02-02T10:48:54-05:00\r\n"
			     "Subject:;lang=en Eeyore's feeling very depressed today\r\n"
			     "NS: MyAlias <mid:MessageFeatures@id.foo.com>\r\n"
			     "Require: MyAlias.VitalMessageOption\r\n"
			     "MyAlias.VitalMessageOption: Confirmation-requested\r\n"
			     "\r\n"
			     "Content-Type: text/plain\r\n"
			     "\r\n"
			     "Hi",
			     &g), 0);
	cr_assert_eq(msg.nhdrs, 9);
	cr_assert_eq(rcs_cpim_addr(rcs_cpim_get(&msg, CM_SLICE_NULL, "From", NULL)->value, &d, &u), 0);
	eq(d, "");
	eq(u, "im:piglet@100akerwood.com");
	cr_assert_eq(rcs_cpim_addr(msg.hdrs[2].value, &d, &u), 0);
	eq(d, "Winnie the Pooh");
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_NULL, "cc", &msg.hdrs[2]), &msg.hdrs[3]);
	hdr_eq(&msg.hdrs[5], "", "Subject", "lang=en", "Eeyore's feeling very depressed today");
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(MYFEATURES), "VitalMessageOption", NULL),
	       "MyAlias", "VitalMessageOption", "", "Confirmation-requested");
	eq(msg.content_type, "text/plain");
	eq(msg.body, "Hi");
	guard_release(g);
}

/* ---- RFC 5438 (IMDN) -------------------------------------------------------------------- */

#define IMDN_NS "urn:ietf:params:imdn"

/* The CPIM part of RFC 5438's message that asks for delivery and display notifications. */
Test(rcs_cpim, rfc5438_request)
{
	const char *g;

	cr_assert_eq(parse_g("From: Alice <im:alice@example.com>\r\n"
			     "To: Bob <im:bob@example.com>\r\n"
			     "NS: imdn <urn:ietf:params:imdn>\r\n"
			     "imdn.Message-ID: 34jk324j\r\n"
			     "DateTime: 2006-04-04T12:16:49-05:00\r\n"
			     "imdn.Disposition-Notification: positive-delivery, display\r\n"
			     "\r\n"
			     "Content-type: text/plain\r\n"
			     "Content-length: 12\r\n"
			     "\r\n"
			     "Hello World\n",
			     &g), 0);
	cr_assert_eq(msg.nhdrs, 6);
	cr_assert_eq(msg.nns, 1);
	eq(msg.ns[0].prefix, "imdn");
	eq(msg.ns[0].uri, IMDN_NS);
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(IMDN_NS), "Message-ID", NULL), "imdn", "Message-ID",
	       "", "34jk324j");
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(IMDN_NS), "Disposition-Notification", NULL), "imdn",
	       "Disposition-Notification", "", "positive-delivery, display");
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_NULL, "DateTime", NULL), "", "DateTime", "",
	       "2006-04-04T12:16:49-05:00");
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_NULL, "Message-ID", NULL));
	eq(msg.content_type, "text/plain");
	hdr_eq(&msg.mime[1], "", "Content-length", "", "12");
	eq(msg.body, "Hello World\n");
	guard_release(g);
}

/* The CPIM part of an IMDN (RFC 5438): its own Message-ID, the notification as content. */
#define IMDN_XML                                                                       \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"                               \
	"<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">\r\n"                             \
	"  <message-id>34jk324j</message-id>\r\n"                                      \
	"  <datetime>2008-04-04T12:16:49-05:00</datetime>\r\n"                         \
	"  <recipient-uri>im:bob@example.com</recipient-uri>\r\n"                      \
	"  <original-recipient-uri>im:bob@example.com</original-recipient-uri>\r\n"    \
	"  <delivery-notification><status><delivered/></status></delivery-notification>\r\n" \
	"</imdn>\r\n"

Test(rcs_cpim, rfc5438_imdn)
{
	const char *g;

	cr_assert_eq(parse_g("From: Bob <im:bob@example.com>\r\n"
			     "To: Alice <im:alice@example.com>\r\n"
			     "NS: imdn <urn:ietf:params:imdn>\r\n"
			     "imdn.Message-ID: d834jied93rf\r\n"
			     "DateTime: 2008-04-04T12:16:49-05:00\r\n"
			     "\r\n"
			     "Content-type: message/imdn+xml\r\n"
			     "Content-Disposition: notification\r\n"
			     "Content-length: 285\r\n"
			     "\r\n" IMDN_XML,
			     &g), 0);
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(IMDN_NS), "Message-ID", NULL), "imdn", "Message-ID",
	       "", "d834jied93rf");
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_LIT(IMDN_NS), "Disposition-Notification", NULL));
	eq(msg.content_type, "message/imdn+xml");
	cr_assert_eq(msg.nmime, 3);
	hdr_eq(&msg.mime[1], "", "Content-Disposition", "", "notification");
	eq(msg.body, IMDN_XML);
	guard_release(g);
}

/* ---- namespaces ------------------------------------------------------------------------- */

Test(rcs_cpim, ns_scoping)
{
	const struct rcs_cpim_hdr *h;
	const char *g;

	cr_assert_eq(parse_g("From: <sip:a@x>\r\n"
			     "imdn.Message-ID: before-ns\r\n" /* 1: prefix not declared yet */
			     "NS: x <urn:x>\r\n"
			     "x.H: one\r\n"                   /* 3 */
			     "NS: x <urn:y>\r\n"              /* x redeclared */
			     "x.H: two\r\n"                   /* 5 */
			     "H: core\r\n"                    /* 6 */
			     "NS:<urn:d>\r\n"                 /* default namespace, no blank */
			     "H: default\r\n"                 /* 8 */
			     "NS: n2\t<urn:ietf:params:imdn>\r\n"
			     "n2.Message-ID: after-ns\r\n"    /* 10 */
			     "\r\n\r\n",
			     &g), 0);
	cr_assert_eq(msg.nns, 4);
	eq(msg.ns[2].prefix, "");
	eq(msg.ns[2].uri, "urn:d");
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_LIT("urn:x"), "H", NULL), &msg.hdrs[3]);
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_LIT("urn:x"), "H", &msg.hdrs[3]));
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_LIT("urn:y"), "H", NULL), &msg.hdrs[5]);
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(RCS_CPIM_NS_CORE), "H", NULL), &msg.hdrs[6]);
	cr_assert_null(rcs_cpim_get(&msg, CM_SLICE_LIT(RCS_CPIM_NS_CORE), "H", &msg.hdrs[6]));
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_LIT("urn:d"), "H", NULL), &msg.hdrs[8]);
	/* no namespace asked: unprefixed names, whatever the default namespace */
	h = rcs_cpim_get(&msg, CM_SLICE_NULL, "H", NULL);
	cr_assert_eq(h, &msg.hdrs[6]);
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_NULL, "H", h), &msg.hdrs[8]);
	/* a prefix used before its declaration is kept but in no namespace */
	hdr_eq(&msg.hdrs[1], "imdn", "Message-ID", "", "before-ns");
	cr_assert_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(IMDN_NS), "Message-ID", NULL), &msg.hdrs[10]);
	eq(msg.body, "");
	cr_assert_eq(msg.nmime, 0);
	eq(msg.content_type, "");
	guard_release(g);
}

/* ---- line ends, blanks, folding, bodies --------------------------------------------------- */

Test(rcs_cpim, bare_lf_and_blanks)
{
	const char *g;

	cr_assert_eq(parse_g("From:<sip:a@x>\n"        /* no SP after ':' */
			     "To: \t <sip:b@x> \t\r\n"  /* blanks around the value */
			     "Subject:\r\n"             /* empty value */
			     "X.Y:;a=\"q \\\" ;\";b=1.5 v a l\n"
			     "\n"
			     "Content-Type :  text/plain \r\n" /* obsolete blank before ':' */
			     "\n"
			     "line1\nline2\r\n",
			     &g), 0);
	hdr_eq(&msg.hdrs[0], "", "From", "", "<sip:a@x>");
	hdr_eq(&msg.hdrs[1], "", "To", "", "<sip:b@x>");
	hdr_eq(&msg.hdrs[2], "", "Subject", "", "");
	hdr_eq(&msg.hdrs[3], "X", "Y", "a=\"q \\\" ;\";b=1.5", "v a l");
	eq(msg.content_type, "text/plain");
	eq(msg.body, "line1\nline2\r\n");
	guard_release(g);
}

/* Content headers are MIME headers: folding continues a value, kept raw in the slice. */
Test(rcs_cpim, content_header_folding)
{
	const char *g;

	cr_assert_eq(parse_g("From: <sip:a@x>\r\n\r\n"
			     "Content-Type: text/plain;\r\n"
			     "\tcharset=utf-8\r\n"
			     "X-Empty:\r\n"
			     "  later\r\n"
			     "\r\n"
			     "b",
			     &g), 0);
	cr_assert_eq(msg.nmime, 2);
	eq(msg.content_type, "text/plain;\r\n\tcharset=utf-8");
	hdr_eq(&msg.mime[1], "", "X-Empty", "", "later");
	eq(msg.body, "b");
	guard_release(g);
	/* but not in the message headers (RFC 3862 has no folding), nor before any header */
	cr_assert_eq(parse_rc("Subject: a\r\n b\r\n\r\nContent-Type: t/p\r\n\r\n"), -EINVAL);
	cr_assert_eq(parse_rc("From: <sip:a@x>\r\n\r\n continued\r\n\r\n"), -EINVAL);
}

/* The body is everything after the second empty line, NUL bytes and empty lines included. */
Test(rcs_cpim, binary_body)
{
	static const char head[] = "From: <sip:a@x>\r\nTo: <sip:b@x>\r\n\r\n"
				   "Content-Type: application/octet-stream\r\n\r\n";
	static const char bin[] = { 0, 1, '\r', '\n', '\r', '\n', 0, (char)0xff, '\n', 0 };
	char in[sizeof(head) - 1 + sizeof(bin)];
	const char *g;

	memcpy(in, head, sizeof(head) - 1);
	memcpy(in + sizeof(head) - 1, bin, sizeof(bin));
	cr_assert_eq(parse_n(in, sizeof(in), &g), 0);
	cr_assert_eq(msg.body.len, sizeof(bin));
	cr_assert_eq(memcmp(msg.body.p, bin, sizeof(bin)), 0);
	cr_assert_eq(msg.body.p + msg.body.len, g + sizeof(in));
	eq(msg.content_type, "application/octet-stream");
	guard_release(g);
}

/* ---- malformed input and limits ---------------------------------------------------------- */

Test(rcs_cpim, malformed)
{
	static const char *const bad[] = {
		"",
		"\n",                                            /* no content part */
		"From: <sip:a@x>\r\n",                            /* no empty line */
		"From: <sip:a@x>\r\n\r\n",                        /* nothing after it */
		"From: <sip:a@x>\r\n\r\nContent-Type: t/p\r\n",   /* content headers unended */
		"From: <sip:a@x>\r\n\r\nContent-Type: t/p",
		"From <sip:a@x>\r\n\r\n\r\n",                     /* no ':' */
		"Fr om: x\r\n\r\n\r\n",                           /* blank in the name */
		": x\r\n\r\n\r\n",                                /* no name */
		"a.b.c: x\r\n\r\n\r\n",                           /* two dots */
		".b: x\r\n\r\n\r\n",                              /* empty prefix */
		"a.: x\r\n\r\n\r\n",                              /* empty name */
		"N@me: x\r\n\r\n\r\n",                            /* '@' is no NAMECHAR */
		"From: a\001b\r\n\r\n\r\n",                       /* control character */
		"From: a\rb\r\n\r\n\r\n",                         /* a CR that ends no line */
		"From: a\r\r\n\r\n\r\n",
		"Subject:;lang fr\r\n\r\n\r\n",                   /* parameters */
		"Subject:;lang= fr\r\n\r\n\r\n",
		"Subject:; lang=fr x\r\n\r\n\r\n",
		"Subject:;lang=fr; x\r\n\r\n\r\n",
		"Subject:;a=\"unterminated\r\n\r\n\r\n",
		"Subject:;a=\"x\\\r\n\r\n\r\n",
		"Subject:;a=\"x\001\" v\r\n\r\n\r\n",
		"NS: imdn urn:ietf:params:imdn\r\n\r\n\r\n",     /* NS values */
		"NS: imdn <>\r\n\r\n\r\n",
		"NS: imdn <urn:a b>\r\n\r\n\r\n",
		"NS: imdn <urn:a<b>\r\n\r\n\r\n",
		"NS: imdn <urn:a> x\r\n\r\n\r\n",
		"NS: imdn <urn:a\r\n\r\n\r\n",
		"NS: im dn <urn:a>\r\n\r\n\r\n",
		"NS: im.dn <urn:a>\r\n\r\n\r\n",
		"NS:\r\n\r\n\r\n",
		"From: <sip:a@x>\r\n\r\nContent-Type text/plain\r\n\r\n",   /* content headers */
		"From: <sip:a@x>\r\n\r\n: text/plain\r\n\r\n",
		"From: <sip:a@x>\r\n\r\nContent-Type: a\001\r\n\r\n",
		"From: <sip:a@x>\r\n\r\nX\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse_rc(bad[i]), -EINVAL, "input %zu: %s", i, bad[i]);
		cr_assert_eq(msg.nhdrs + msg.nns + msg.nmime, 0);
		cr_assert_eq(msg.body.len + msg.content_type.len, 0);
	}
	cr_assert_eq(rcs_cpim_parse(NULL, 0, &msg), -EINVAL);
	/* an NS with a prefix is an ordinary header */
	cr_assert_eq(parse_rc("x.NS: anything\r\n\r\n\r\n"), 0);
	cr_assert_eq(msg.nns, 0);
}

/* <n> message headers, <nns> of them NS lines, and <nmime> content headers. */
static int parse_counts(unsigned n, unsigned nns, unsigned nmime)
{
	char text[4096];
	size_t len = 0;

	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					i < nns ? "NS: p%u <urn:%u>\r\n" : "X-H%u: v%u\r\n", i, i);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "\r\n");
	for (unsigned i = 0; i < nmime; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "X-M%u: v\r\n", i);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "\r\nbody");
	cr_assert(len < sizeof(text));
	return parse_rc(text);
}

Test(rcs_cpim, limits)
{
	cr_assert_eq(parse_counts(RCS_CPIM_MAX_HDRS, RCS_CPIM_MAX_NS, RCS_CPIM_MAX_MIME), 0);
	cr_assert_eq(msg.nhdrs, RCS_CPIM_MAX_HDRS);
	cr_assert_eq(msg.nns, RCS_CPIM_MAX_NS);
	cr_assert_eq(msg.nmime, RCS_CPIM_MAX_MIME);
	cr_assert_eq(parse_counts(RCS_CPIM_MAX_HDRS + 1, 0, 0), -E2BIG);
	cr_assert_eq(msg.nhdrs, 0);
	cr_assert_eq(parse_counts(RCS_CPIM_MAX_NS + 1, RCS_CPIM_MAX_NS + 1, 0), -E2BIG);
	cr_assert_eq(parse_counts(1, 0, RCS_CPIM_MAX_MIME + 1), -E2BIG);
}

/* ---- addresses --------------------------------------------------------------------------- */

static void addr_ok(const char *v, const char *disp, const char *uri)
{
	cm_slice d, u;

	cr_assert_eq(rcs_cpim_addr(SL(v), &d, &u), 0, "%s", v);
	eq(d, disp);
	eq(u, uri);
}

Test(rcs_cpim, addresses)
{
	static const char *const bad[] = {
		"", "   ", "MR SANDERS", "<>", "Name <sip:a@x", "Name <sip:a@x> tail",
		"<sip:a b@x>", "<sip:<a@x>", "\"unterminated <sip:a@x>", "\"q\" x <sip:a@x>",
		"\"q\"", "sip: a@x", "no-colon", "sip:a@x>",
	};
	cm_slice d = SL("x"), u = SL("x");

	addr_ok("MR SANDERS <im:piglet@100akerwood.com>", "MR SANDERS", "im:piglet@100akerwood.com");
	addr_ok("<sip:+1555@x>", "", "sip:+1555@x");
	addr_ok("  <sip:+1555@x>  ", "", "sip:+1555@x");
	addr_ok("\"Bob \\\"B\\\" <b>\" <sip:bob@example.com;user=phone>", "Bob \\\"B\\\" <b>",
		"sip:bob@example.com;user=phone");
	addr_ok("\"\"<tel:+15551234>", "", "tel:+15551234");
	addr_ok("Name\t<sip:a@x>", "Name", "sip:a@x");
	addr_ok("sip:bob@example.com", "", "sip:bob@example.com");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(rcs_cpim_addr(SL(bad[i]), &d, &u), -EINVAL, "%s", bad[i]);
		cr_assert(d.len == 0 && u.len == 0);
	}
	cr_assert_eq(rcs_cpim_addr(SL("<sip:a@x>"), NULL, NULL), 0);
	cr_assert_eq(rcs_cpim_addr((cm_slice){ NULL, 3 }, NULL, NULL), -EINVAL);
}

/* ---- writer -------------------------------------------------------------------------------- */

static const struct rcs_cpim_ns imdn_ns[] = { { CM_SLICE_LIT("imdn"), CM_SLICE_LIT(IMDN_NS) } };
static const struct rcs_cpim_hdr imdn_hdrs[] = {
	{ CM_SLICE_LIT("imdn"), CM_SLICE_LIT("Message-ID"), CM_SLICE_NULL, CM_SLICE_LIT("34jk324j") },
	{ CM_SLICE_LIT("imdn"), CM_SLICE_LIT("Disposition-Notification"), CM_SLICE_NULL,
	  CM_SLICE_LIT("positive-delivery, display") },
	{ CM_SLICE_NULL, CM_SLICE_LIT("Subject"), CM_SLICE_LIT("lang=fr"), CM_SLICE_LIT("bonjour") },
};
static const cm_slice ccs[] = { CM_SLICE_LIT("<im:pooh@100akerwood.com>") };
static const struct rcs_cpim_hdr mimes[] = {
	{ CM_SLICE_LIT("ignored"), CM_SLICE_LIT("Content-Length"), CM_SLICE_LIT("x=1"),
	  CM_SLICE_LIT("11") },
};

static struct rcs_cpim_out sample(void)
{
	return (struct rcs_cpim_out){
		.from = CM_SLICE_LIT("Alice <im:alice@example.com>"),
		.to = CM_SLICE_LIT("Bob <im:bob@example.com>"),
		.cc = ccs, .ncc = 1,
		.datetime = CM_SLICE_LIT("2006-04-04T12:16:49-05:00"),
		.subject = CM_SLICE_LIT("hello"),
		.require = CM_SLICE_LIT("imdn.Disposition-Notification"),
		.ns = imdn_ns, .nns = 1,
		.hdrs = imdn_hdrs, .nhdrs = 3,
		.content_type = CM_SLICE_LIT("text/plain; charset=utf-8"),
		.mime = mimes, .nmime = 1,
		.body = CM_SLICE_LIT("Hello World"),
	};
}

#define SAMPLE_TEXT                                                                    \
	"From: Alice <im:alice@example.com>\r\n"                                       \
	"To: Bob <im:bob@example.com>\r\n"                                             \
	"cc: <im:pooh@100akerwood.com>\r\n"                                            \
	"DateTime: 2006-04-04T12:16:49-05:00\r\n"                                      \
	"Subject: hello\r\n"                                                           \
	"NS: imdn <urn:ietf:params:imdn>\r\n"                                          \
	"Require: imdn.Disposition-Notification\r\n"                                   \
	"imdn.Message-ID: 34jk324j\r\n"                                                \
	"imdn.Disposition-Notification: positive-delivery, display\r\n"                \
	"Subject:;lang=fr bonjour\r\n"                                                 \
	"\r\n"                                                                         \
	"Content-Type: text/plain; charset=utf-8\r\n"                                  \
	"Content-Length: 11\r\n"                                                       \
	"\r\n"                                                                         \
	"Hello World"

/* A writable buffer of exactly <cap> bytes, the next page PROT_NONE, filled with 0xa5. */
static char *guard_buf(size_t cap)
{
	char *fill = malloc(cap ? cap : 1), *b;

	cr_assert_not_null(fill);
	memset(fill, 0xa5, cap);
	b = (char *)guard_copy(fill, cap); /* the data pages of a guard copy are writable */
	free(fill);
	return b;
}

Test(rcs_cpim, write_exact)
{
	struct rcs_cpim_out o = sample();
	long need = rcs_cpim_write(NULL, 0, &o);
	char *b;

	cr_assert_eq(need, (long)strlen(SAMPLE_TEXT));
	b = guard_buf((size_t)need);
	cr_assert_eq(rcs_cpim_write(b, (size_t)need, &o), need);
	cr_assert_eq(memcmp(b, SAMPLE_TEXT, (size_t)need), 0, "%.*s", (int)need, b);
	guard_release(b);
	/* only the required fields */
	o = (struct rcs_cpim_out){ .from = CM_SLICE_LIT("<sip:a@x>"), .to = CM_SLICE_LIT("<sip:b@x>"),
				   .content_type = CM_SLICE_LIT("text/plain") };
	need = rcs_cpim_write(NULL, 0, &o);
	{
		static const char want[] = "From: <sip:a@x>\r\nTo: <sip:b@x>\r\n\r\n"
					   "Content-Type: text/plain\r\n\r\n";
		char out[sizeof(want)];

		cr_assert_eq(need, (long)sizeof(want) - 1);
		cr_assert_eq(rcs_cpim_write(out, sizeof(out), &o), need);
		cr_assert_eq(memcmp(out, want, sizeof(want) - 1), 0);
	}
}

Test(rcs_cpim, write_enospc_every_size)
{
	struct rcs_cpim_out o = sample();
	long need = rcs_cpim_write(NULL, 0, &o);

	cr_assert_gt(need, 0);
	for (size_t cap = 0; cap < (size_t)need; cap++) {
		char *b = guard_buf(cap);

		cr_assert_eq(rcs_cpim_write(b, cap, &o), -ENOSPC, "cap %zu", cap);
		for (size_t i = 0; i < cap; i++)
			cr_assert_eq((unsigned char)b[i], 0xa5, "cap %zu: byte %zu written", cap, i);
		guard_release(b);
	}
	/* a larger buffer: the same length */
	{
		char big[1024];

		cr_assert_eq(rcs_cpim_write(big, sizeof(big), &o), need);
	}
}

Test(rcs_cpim, write_parse_round_trip)
{
	static const char body[] = { 'a', 0, '\r', '\n', '\r', '\n', 'b', (char)0x80 };
	struct rcs_cpim_out o = sample();
	const char *g;
	char buf[1024];
	long n;

	o.body = (cm_slice){ body, sizeof(body) };
	n = rcs_cpim_write(buf, sizeof(buf), &o);
	cr_assert_gt(n, 0);
	cr_assert_eq(parse_n(buf, (size_t)n, &g), 0);
	cr_assert_eq(msg.nhdrs, 10);
	hdr_eq(&msg.hdrs[0], "", "From", "", "Alice <im:alice@example.com>");
	hdr_eq(&msg.hdrs[1], "", "To", "", "Bob <im:bob@example.com>");
	hdr_eq(&msg.hdrs[2], "", "cc", "", "<im:pooh@100akerwood.com>");
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_NULL, "Require", NULL), "", "Require", "",
	       "imdn.Disposition-Notification");
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(IMDN_NS), "Message-ID", NULL), "imdn", "Message-ID",
	       "", "34jk324j");
	hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(IMDN_NS), "Disposition-Notification", NULL), "imdn",
	       "Disposition-Notification", "", "positive-delivery, display");
	hdr_eq(&msg.hdrs[9], "", "Subject", "lang=fr", "bonjour");
	eq(msg.content_type, "text/plain; charset=utf-8");
	hdr_eq(&msg.mime[1], "", "Content-Length", "", "11");
	cr_assert_eq(msg.body.len, sizeof(body));
	cr_assert_eq(memcmp(msg.body.p, body, sizeof(body)), 0);
	guard_release(g);

	/* and parse -> write -> parse of the RFC 3862 example keeps every header */
	{
		struct rcs_cpim_msg first;
		struct rcs_cpim_out r = { .ncc = 0 };
		char out[2048];
		long m;

		cr_assert_eq(parse_g(RFC3862, &g), 0);
		first = msg;
		r.from = first.hdrs[0].value;
		r.to = first.hdrs[1].value;
		r.hdrs = first.hdrs + 2;
		r.nhdrs = first.nhdrs - 2;
		r.content_type = first.content_type;
		r.mime = first.mime + 1;
		r.nmime = first.nmime - 1;
		r.body = first.body;
		m = rcs_cpim_write(out, sizeof(out), &r);
		cr_assert_gt(m, 0);
		cr_assert_eq(rcs_cpim_parse(out, (size_t)m, &msg), 0);
		cr_assert_eq(msg.nhdrs, first.nhdrs);
		for (unsigned i = 0; i < msg.nhdrs; i++) {
			cr_assert(msg.hdrs[i].prefix.len == first.hdrs[i].prefix.len &&
				  msg.hdrs[i].params.len == first.hdrs[i].params.len &&
				  msg.hdrs[i].name.len == first.hdrs[i].name.len &&
				  msg.hdrs[i].value.len == first.hdrs[i].value.len &&
				  memcmp(msg.hdrs[i].value.p, first.hdrs[i].value.p,
					 msg.hdrs[i].value.len) == 0, "header %u", i);
		}
		hdr_eq(rcs_cpim_get(&msg, CM_SLICE_LIT(MYFEATURES), "VitalMessageOption", NULL),
		       "MyFeatures", "VitalMessageOption", "", "Confirmation-requested");
		eq(msg.content_type, "text/xml; charset=utf-8");
		eq(msg.body, RFC3862_BODY);
		guard_release(g);
	}
}

Test(rcs_cpim, write_einval)
{
	static const struct rcs_cpim_hdr bad_hdrs[] = {
		{ CM_SLICE_NULL, CM_SLICE_LIT("Na:me"), CM_SLICE_NULL, CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("Na me"), CM_SLICE_NULL, CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT(""), CM_SLICE_NULL, CM_SLICE_LIT("v") },
		{ CM_SLICE_LIT("a.b"), CM_SLICE_LIT("N"), CM_SLICE_NULL, CM_SLICE_LIT("v") },
		{ CM_SLICE_LIT("a b"), CM_SLICE_LIT("N"), CM_SLICE_NULL, CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("N"), CM_SLICE_NULL, CM_SLICE_LIT("a\r\nInjected: x") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("N"), CM_SLICE_NULL, CM_SLICE_LIT("a\nb") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("N"), CM_SLICE_LIT("lang"), CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("N"), CM_SLICE_LIT(";lang=fr"), CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("N"), CM_SLICE_LIT("lang=fr x"), CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("NS"), CM_SLICE_NULL, CM_SLICE_LIT("imdn urn:x") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("N"), CM_SLICE_NULL, { NULL, 1 } },
	};
	static const struct rcs_cpim_hdr bad_mime[] = {
		{ CM_SLICE_NULL, CM_SLICE_LIT("X:Y"), CM_SLICE_NULL, CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("X Y"), CM_SLICE_NULL, CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT(""), CM_SLICE_NULL, CM_SLICE_LIT("v") },
		{ CM_SLICE_NULL, CM_SLICE_LIT("X"), CM_SLICE_NULL, CM_SLICE_LIT("a\rb") },
	};
	static const struct rcs_cpim_ns bad_ns[] = {
		{ CM_SLICE_LIT("a b"), CM_SLICE_LIT("urn:x") },
		{ CM_SLICE_LIT("a"), CM_SLICE_LIT("") },
		{ CM_SLICE_LIT("a"), CM_SLICE_LIT("urn:x>") },
		{ CM_SLICE_LIT("a"), CM_SLICE_LIT("urn: x") },
	};
	static const cm_slice bad_cc[] = { CM_SLICE_LIT("") };
	struct rcs_cpim_out o;

#define EXPECT_EINVAL(stmt)                                                            \
	do {                                                                           \
		o = sample();                                                          \
		stmt;                                                                  \
		cr_assert_eq(rcs_cpim_write(NULL, 0, &o), -EINVAL, "%s", #stmt);       \
	} while (0)

	EXPECT_EINVAL(o.from = CM_SLICE_NULL);
	EXPECT_EINVAL(o.to = CM_SLICE_LIT(""));
	EXPECT_EINVAL(o.content_type = CM_SLICE_NULL);
	EXPECT_EINVAL(o.from = CM_SLICE_LIT("<sip:a@x>\r\nTo: <sip:evil@x>"));
	EXPECT_EINVAL(o.subject = CM_SLICE_LIT("two\nlines"));
	EXPECT_EINVAL(o.datetime = CM_SLICE_LIT("2006\r"));
	EXPECT_EINVAL(o.require = CM_SLICE_LIT("a\001"));
	EXPECT_EINVAL(o.content_type = CM_SLICE_LIT("text/plain\r\n"));
	EXPECT_EINVAL(o.cc = bad_cc);
	EXPECT_EINVAL(o.cc = NULL);
	EXPECT_EINVAL(o.hdrs = NULL);
	EXPECT_EINVAL(o.body = ((cm_slice){ NULL, 2 }));
	for (unsigned i = 0; i < sizeof(bad_hdrs) / sizeof(bad_hdrs[0]); i++)
		EXPECT_EINVAL((o.hdrs = &bad_hdrs[i], o.nhdrs = 1));
	for (unsigned i = 0; i < sizeof(bad_mime) / sizeof(bad_mime[0]); i++)
		EXPECT_EINVAL((o.mime = &bad_mime[i], o.nmime = 1));
	for (unsigned i = 0; i < sizeof(bad_ns) / sizeof(bad_ns[0]); i++)
		EXPECT_EINVAL((o.ns = &bad_ns[i], o.nns = 1));
	cr_assert_eq(rcs_cpim_write(NULL, 0, NULL), -EINVAL);
	/* an invalid field is refused whatever the buffer */
	{
		char b[8];

		o = sample();
		o.subject = CM_SLICE_LIT("a\r\nb");
		cr_assert_eq(rcs_cpim_write(b, sizeof(b), &o), -EINVAL);
	}
#undef EXPECT_EINVAL
}

Test(rcs_cpim, write_e2big)
{
	struct rcs_cpim_hdr h[RCS_CPIM_MAX_HDRS];
	struct rcs_cpim_ns ns[RCS_CPIM_MAX_NS + 1];
	struct rcs_cpim_hdr mime[RCS_CPIM_MAX_MIME];
	struct rcs_cpim_out o = { .from = CM_SLICE_LIT("<sip:a@x>"), .to = CM_SLICE_LIT("<sip:b@x>"),
				  .content_type = CM_SLICE_LIT("t/p"), .hdrs = h, .ns = ns,
				  .mime = mime };
	char buf[4096];
	long n;

	for (unsigned i = 0; i < RCS_CPIM_MAX_HDRS; i++)
		h[i] = (struct rcs_cpim_hdr){ CM_SLICE_NULL, CM_SLICE_LIT("X"), CM_SLICE_NULL,
					      CM_SLICE_LIT("v") };
	for (unsigned i = 0; i <= RCS_CPIM_MAX_NS; i++)
		ns[i] = (struct rcs_cpim_ns){ CM_SLICE_LIT("p"), CM_SLICE_LIT("urn:p") };
	for (unsigned i = 0; i < RCS_CPIM_MAX_MIME; i++)
		mime[i] = (struct rcs_cpim_hdr){ CM_SLICE_NULL, CM_SLICE_LIT("X-M"), CM_SLICE_NULL,
						 CM_SLICE_LIT("v") };
	o.nhdrs = RCS_CPIM_MAX_HDRS - 2; /* + From, To: the most the parser keeps */
	o.nmime = RCS_CPIM_MAX_MIME - 1; /* + Content-Type */
	n = rcs_cpim_write(buf, sizeof(buf), &o);
	cr_assert_gt(n, 0);
	cr_assert_eq(rcs_cpim_parse(buf, (size_t)n, &msg), 0);
	cr_assert_eq(msg.nhdrs, RCS_CPIM_MAX_HDRS);
	cr_assert_eq(msg.nmime, RCS_CPIM_MAX_MIME);
	o.nhdrs++;
	cr_assert_eq(rcs_cpim_write(NULL, 0, &o), -E2BIG);
	o.nhdrs = 0;
	o.nmime++;
	cr_assert_eq(rcs_cpim_write(NULL, 0, &o), -E2BIG);
	o.nmime = 0;
	o.nns = RCS_CPIM_MAX_NS;
	cr_assert_gt(rcs_cpim_write(NULL, 0, &o), 0);
	o.nns++;
	cr_assert_eq(rcs_cpim_write(NULL, 0, &o), -E2BIG);
	/* NS lines given as headers count as NS lines */
	o.nns = RCS_CPIM_MAX_NS;
	h[0] = (struct rcs_cpim_hdr){ CM_SLICE_NULL, CM_SLICE_LIT("NS"), CM_SLICE_NULL,
				      CM_SLICE_LIT("q <urn:q>") };
	o.nhdrs = 1;
	cr_assert_eq(rcs_cpim_write(NULL, 0, &o), -E2BIG);
	o.nns--;
	cr_assert_gt(rcs_cpim_write(NULL, 0, &o), 0);
}

/* ---- RFC 3339 ------------------------------------------------------------------------------ */

static void dt_is(long long ms, const char *want)
{
	char out[32];

	memset(out, 'x', sizeof(out));
	rcs_cpim_datetime(ms, out);
	cr_assert_str_eq(out, want, "%lld", ms);
}

Test(rcs_cpim, datetime)
{
	dt_is(0, "1970-01-01T00:00:00.000Z");
	dt_is(1795702834123LL, "2026-11-26T14:20:34.123Z");
	dt_is(1709251199999LL, "2024-02-29T23:59:59.999Z");
	dt_is(-1, "1969-12-31T23:59:59.999Z");
	dt_is(-62135596800000LL, "0001-01-01T00:00:00.000Z");
	dt_is(LLONG_MIN, "0000-01-01T00:00:00.000Z");
	dt_is(LLONG_MAX, "9999-12-31T23:59:59.999Z");
	dt_is(253402300799999LL, "9999-12-31T23:59:59.999Z");
	dt_is(253402300800000LL, "9999-12-31T23:59:59.999Z");
	/* against gmtime_r() from 1600 to 2400, in steps of 37 days 3 h 61 s */
	for (long long s = -11676096000LL; s < 13574563200LL; s += 86400LL * 37 + 3 * 3600 + 61) {
		time_t t = (time_t)s;
		struct tm tm;
		char want[96];

		cr_assert_not_null(gmtime_r(&t, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(s % 1000 + 1000) % 1000);
		dt_is(s * 1000 + (s % 1000 + 1000) % 1000, want);
	}
}
