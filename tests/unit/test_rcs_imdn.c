/* test_rcs_imdn.c — IMDN documents and Disposition-Notification values (rcs/rcs_imdn.c).
 *
 * The message/imdn+xml examples of RFC 5438 §7 (delivery-notification delivered,
 * display-notification displayed) and the other statuses of each kind in the same shape,
 * the status-per-kind rule both ways, required elements, namespaces and prefixes, unknown
 * elements skipped, DOCTYPE refusal (billion laughs, XXE), field limits, round trips
 * with escaping, -ENOSPC at every capacity below the need, and the §6.2 header value.
 *
 * Every document is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h), so that a read past the end crashes the test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "rcs/rcs_imdn.h"
#include "tests/lib/guard.h"

static int parse_n(const char *doc, size_t n, struct rcs_imdn *out)
{
	const char *g = guard_copy(doc, n);
	int rc = rcs_imdn_parse(g, n, out);

	guard_release(g);
	return rc;
}

static int parse(const char *doc, struct rcs_imdn *out)
{
	return parse_n(doc, strlen(doc), out);
}

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define IMDN_OPEN XML_DECL "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">\n"

/* A document with <id>, <dt> and the notification body <notif> (raw XML). */
static char *doc_of(const char *id, const char *dt, const char *notif)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), IMDN_OPEN "<message-id>%s</message-id>\n"
		 "<datetime>%s</datetime>\n%s</imdn>\n", id, dt, notif);
	return buf;
}

/* ---- RFC 5438 examples ------------------------------------------------------------- */

/* The examples of RFC 5438 §7.1 for message 34jk324j, the original recipient URI broken
 * inside its tag as the RFC prints it, a <subject> that is not kept; <notif> is the
 * notification element. */
#define RFC5438_EXAMPLE(notif)                                                             \
	XML_DECL                                                                           \
	"<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">\n"                                   \
	"    <message-id>34jk324j</message-id>\n"                                          \
	"    <datetime>2008-04-04T12:16:49-05:00</datetime>\n"                             \
	"    <recipient-uri>im:bob@example.com</recipient-uri>\n"                          \
	"    <original-recipient-uri\n"                                                    \
	"        >im:bob@example.com</original-recipient-uri>\n"                           \
	"    <subject>Weekly report</subject>\n"                                           \
	notif                                                                              \
	"</imdn>\n"

static void assert_rfc5438_fields(const struct rcs_imdn *m)
{
	cr_assert_str_eq(m->message_id, "34jk324j");
	cr_assert_str_eq(m->datetime, "2008-04-04T12:16:49-05:00");
	cr_assert_str_eq(m->recipient_uri, "im:bob@example.com");
	cr_assert_str_eq(m->original_recipient_uri, "im:bob@example.com");
}

/* RFC 5438 §7.1.1: the delivery notification. */
Test(rcs_imdn, rfc5438_delivery_delivered)
{
	static const char doc[] = RFC5438_EXAMPLE("    <delivery-notification>\n"
						  "       <status>\n"
						  "          <delivered/>\n"
						  "       </status>\n"
						  "    </delivery-notification>\n");
	struct rcs_imdn m;

	cr_assert_eq(parse(doc, &m), 0);
	assert_rfc5438_fields(&m);
	cr_assert_eq(m.kind, RCS_IMDN_DELIVERY);
	cr_assert_eq(m.status, RCS_IMDN_DELIVERED);
}

/* RFC 5438 §7.1.2: the display notification of the same message. */
Test(rcs_imdn, rfc5438_display_displayed)
{
	static const char doc[] = RFC5438_EXAMPLE("    <display-notification>\n"
						  "       <status>\n"
						  "          <displayed/>\n"
						  "       </status>\n"
						  "    </display-notification>\n");
	struct rcs_imdn m;

	cr_assert_eq(parse(doc, &m), 0);
	assert_rfc5438_fields(&m);
	cr_assert_eq(m.kind, RCS_IMDN_DISPLAY);
	cr_assert_eq(m.status, RCS_IMDN_DISPLAYED);
}

/* A negative delivery notification (RFC 5438 §7.2.1.1 "failed"), without recipient URIs
 * (they are optional), and a <reason> of another namespace in <status> that is skipped. */
Test(rcs_imdn, delivery_failed)
{
	struct rcs_imdn m;

	cr_assert_eq(parse(doc_of("34jk324j", "2008-04-04T12:16:49-05:00",
				  "<delivery-notification><status><failed/>"
				  "<r:reason xmlns:r=\"urn:example:reason\">486</r:reason>"
				  "</status></delivery-notification>\n"), &m), 0);
	cr_assert_eq(m.kind, RCS_IMDN_DELIVERY);
	cr_assert_eq(m.status, RCS_IMDN_FAILED);
	cr_assert_str_eq(m.recipient_uri, "");
	cr_assert_str_eq(m.original_recipient_uri, "");
}

/* A processing notification (RFC 5438 §7.2.1.3, sent by an intermediary). */
Test(rcs_imdn, processing_processed_and_stored)
{
	struct rcs_imdn m;

	cr_assert_eq(parse(doc_of("dfe3k", "2008-04-04T12:16:49-05:00",
				  "<processing-notification><status><processed/></status>"
				  "</processing-notification>"), &m), 0);
	cr_assert_eq(m.kind, RCS_IMDN_PROCESSING);
	cr_assert_eq(m.status, RCS_IMDN_PROCESSED);
	cr_assert_eq(parse(doc_of("dfe3k", "2008-04-04T12:16:49-05:00",
				  "<processing-notification><status><stored/></status>"
				  "</processing-notification>"), &m), 0);
	cr_assert_eq(m.status, RCS_IMDN_STORED);
}

/* ---- status per kind ----------------------------------------------------------------- */

Test(rcs_imdn, every_status_under_every_kind)
{
	for (int k = RCS_IMDN_DELIVERY; k <= RCS_IMDN_PROCESSING; k++)
		for (int st = RCS_IMDN_DELIVERED; st <= RCS_IMDN_STORED; st++) {
			char notif[256];
			struct rcs_imdn m;
			int allowed = rcs_imdn_status_allowed(k, st), rc;

			snprintf(notif, sizeof(notif),
				 "<%s-notification><status><%s/></status></%s-notification>",
				 rcs_imdn_kind_name(k), rcs_imdn_status_name(st),
				 rcs_imdn_kind_name(k));
			rc = parse(doc_of("m1", "2024-01-01T00:00:00Z", notif), &m);
			cr_assert_eq(rc, allowed ? 0 : -EINVAL, "%s", notif);
			if (allowed)
				cr_assert(m.kind == (enum rcs_imdn_kind)k &&
					  m.status == (enum rcs_imdn_status)st);
		}
	/* the rule itself (RFC 5438 §7.2.1) */
	cr_assert(rcs_imdn_status_allowed(RCS_IMDN_DELIVERY, RCS_IMDN_FORBIDDEN));
	cr_assert(rcs_imdn_status_allowed(RCS_IMDN_DISPLAY, RCS_IMDN_ERROR));
	cr_assert(!rcs_imdn_status_allowed(RCS_IMDN_DISPLAY, RCS_IMDN_FAILED));
	cr_assert(!rcs_imdn_status_allowed(RCS_IMDN_DELIVERY, RCS_IMDN_DISPLAYED));
	cr_assert(!rcs_imdn_status_allowed(RCS_IMDN_PROCESSING, RCS_IMDN_DELIVERED));
	cr_assert(!rcs_imdn_status_allowed(0, RCS_IMDN_ERROR));
	cr_assert(!rcs_imdn_status_allowed(RCS_IMDN_DELIVERY, 8));
}

/* ---- refusals ---------------------------------------------------------------------- */

Test(rcs_imdn, required_elements)
{
	static const char notif[] =
		"<delivery-notification><status><delivered/></status></delivery-notification>";
	struct rcs_imdn m;

	cr_assert_eq(parse(IMDN_OPEN "<datetime>x</datetime>" "<delivery-notification>"
			   "<status><delivered/></status></delivery-notification></imdn>", &m),
		     -EINVAL, "no message-id");
	cr_assert_eq(parse(IMDN_OPEN "<message-id>a</message-id><delivery-notification>"
			   "<status><delivered/></status></delivery-notification></imdn>", &m),
		     -EINVAL, "no datetime");
	cr_assert_eq(parse(doc_of("", "x", notif), &m), -EINVAL, "empty message-id");
	cr_assert_eq(parse(doc_of("  \n ", "x", notif), &m), -EINVAL, "blank message-id");
	cr_assert_eq(parse(doc_of("a", "", notif), &m), -EINVAL, "empty datetime");
	cr_assert_eq(parse(doc_of("a", "x", ""), &m), -EINVAL, "no notification");
	cr_assert_eq(parse(doc_of("a", "x", "<delivery-notification/>"), &m), -EINVAL,
		     "no status");
	cr_assert_eq(parse(doc_of("a", "x", "<delivery-notification><status/>"
				  "</delivery-notification>"), &m), -EINVAL, "empty status");
	cr_assert_eq(parse(doc_of("a", "x", "<delivery-notification><status><expired/>"
				  "</status></delivery-notification>"), &m), -EINVAL,
		     "a status we do not know");
	cr_assert_eq(parse(doc_of("a", "x", "<delivery-notification><status><delivered/>"
				  "<failed/></status></delivery-notification>"), &m), -EINVAL,
		     "two statuses");
	cr_assert_eq(parse(doc_of("a", "x", "<delivery-notification><status><delivered/>"
				  "</status><status><delivered/></status>"
				  "</delivery-notification>"), &m), -EINVAL, "two <status>");
	cr_assert_eq(parse(doc_of("a", "x", "<delivery-notification><status><delivered/>"
				  "</status></delivery-notification><display-notification>"
				  "<status><displayed/></status></display-notification>"), &m),
		     -EINVAL, "two notifications");
	cr_assert_eq(parse(doc_of("a", "x", "<message-id>b</message-id>"
				  "<delivery-notification><status><delivered/></status>"
				  "</delivery-notification>"), &m), -EINVAL, "message-id twice");
	cr_assert_eq(parse(doc_of("a", "x", "<delivery-notification><delivered/>"
				  "</delivery-notification>"), &m), -EINVAL,
		     "a status outside <status>");
	/* a refusal leaves nothing half-filled behind */
	cr_assert_eq(m.kind, 0);
	cr_assert_str_eq(m.message_id, "");
}

Test(rcs_imdn, not_well_formed_or_not_imdn)
{
	static const char nul_doc[] = IMDN_OPEN "<message-id>a\0b</message-id><datetime>x"
		"</datetime><delivery-notification><status><delivered/></status>"
		"</delivery-notification></imdn>";
	struct rcs_imdn m;

	cr_assert_eq(parse("", &m), -EINVAL);
	cr_assert_eq(parse("not xml at all", &m), -EINVAL);
	cr_assert_eq(parse(IMDN_OPEN "<message-id>a</message-id>", &m), -EINVAL, "truncated");
	cr_assert_eq(parse(doc_of("a&b", "x", ""), &m), -EINVAL, "bare &");
	cr_assert_eq(parse(doc_of("a&nbsp;b", "x", ""), &m), -EINVAL, "undefined entity");
	cr_assert_eq(parse(doc_of("a</x>", "x", ""), &m), -EINVAL, "mismatched tag");
	cr_assert_eq(parse_n(nul_doc, sizeof(nul_doc) - 1, &m), -EINVAL, "NUL byte");
	cr_assert_eq(parse("<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>a"
			   "</message-id><datetime>x</datetime><delivery-notification><status>"
			   "<delivered/></status></delivery-notification></imdn><imdn/>", &m),
		     -EINVAL, "two roots");
	cr_assert_eq(parse("<x:imdn><message-id>a</message-id></x:imdn>", &m), -EINVAL,
		     "unbound prefix");
	cr_assert_eq(rcs_imdn_parse(NULL, 0, &m), -EINVAL);
}

/* The right names in another namespace, or in none, are not an IMDN. */
Test(rcs_imdn, wrong_namespace)
{
	static const char body[] =
		"<message-id>a</message-id><datetime>x</datetime><delivery-notification>"
		"<status><delivered/></status></delivery-notification></imdn>";
	char doc[1024];
	struct rcs_imdn m;

	snprintf(doc, sizeof(doc), "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn2\">%s", body);
	cr_assert_eq(parse(doc, &m), -EINVAL);
	snprintf(doc, sizeof(doc), "<imdn xmlns=\"urn:ietf:params:xml:ns:IMDN\">%s", body);
	cr_assert_eq(parse(doc, &m), -EINVAL);
	snprintf(doc, sizeof(doc), "<imdn>%s", body);
	cr_assert_eq(parse(doc, &m), -EINVAL);
	snprintf(doc, sizeof(doc), "<isComposing xmlns=\"urn:ietf:params:xml:ns:imdn\">%s",
		 body);
	cr_assert_eq(parse(doc, &m), -EINVAL);
	/* children in another namespace are not ours: no message-id then */
	cr_assert_eq(parse("<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\" xmlns:o=\"urn:o\">"
			   "<o:message-id>a</o:message-id><datetime>x</datetime>"
			   "<delivery-notification><status><delivered/></status>"
			   "</delivery-notification></imdn>", &m), -EINVAL);
}

/* Prefixes do not matter, the namespace does. */
Test(rcs_imdn, prefixes)
{
	struct rcs_imdn m;

	cr_assert_eq(parse("<i:imdn xmlns:i=\"urn:ietf:params:xml:ns:imdn\">"
			   "<i:message-id>p1</i:message-id><i:datetime>d</i:datetime>"
			   "<i:display-notification><i:status><i:displayed/></i:status>"
			   "</i:display-notification></i:imdn>", &m), 0);
	cr_assert_str_eq(m.message_id, "p1");
	cr_assert_eq(m.status, RCS_IMDN_DISPLAYED);
	/* a default namespace set again lower down */
	cr_assert_eq(parse("<q:imdn xmlns:q=\"urn:ietf:params:xml:ns:imdn\">"
			   "<message-id xmlns=\"urn:ietf:params:xml:ns:imdn\">p2</message-id>"
			   "<q:datetime>d</q:datetime><q:delivery-notification><status "
			   "xmlns=\"urn:ietf:params:xml:ns:imdn\"><error/></status>"
			   "</q:delivery-notification></q:imdn>", &m), 0);
	cr_assert_str_eq(m.message_id, "p2");
	cr_assert_eq(m.status, RCS_IMDN_ERROR);
}

/* Forward compatibility: elements and attributes we do not know, anywhere, are skipped
 * with all they hold (even our own element names inside them). */
Test(rcs_imdn, unknown_elements_ignored)
{
	struct rcs_imdn m;

	cr_assert_eq(parse(XML_DECL "<!-- a comment --><?pi stuff?>"
			   "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\" xmlns:x=\"urn:x\" "
			   "x:attr=\"1\" plain=\"2\">"
			   "<x:ext><message-id>evil</message-id><delivered/></x:ext>"
			   "<message-id x:a=\"b\">good</message-id>"
			   "<future-element><datetime>evil</datetime></future-element>"
			   "<datetime>2024-01-01T00:00:00Z</datetime>"
			   "<display-notification><x:hint/><status><displayed/><x:why>.</x:why>"
			   "</status></display-notification>"
			   "<x:after-notification><status><delivered/></status></x:after-notification>"
			   "</imdn>", &m), 0);
	cr_assert_str_eq(m.message_id, "good");
	cr_assert_str_eq(m.datetime, "2024-01-01T00:00:00Z");
	cr_assert_eq(m.kind, RCS_IMDN_DISPLAY);
	cr_assert_eq(m.status, RCS_IMDN_DISPLAYED);
}

/* Values: white space at the ends goes, CDATA and character references are text. */
Test(rcs_imdn, text_values)
{
	struct rcs_imdn m;

	cr_assert_eq(parse(doc_of("\n   34jk324j \t\r\n", "<![CDATA[2008-04-04T12:16:49Z]]>",
				  "<recipient-uri>sip:&#x62;ob@example.com?a=1&amp;b=&lt;2&gt;"
				  "</recipient-uri><delivery-notification><status><delivered/>"
				  "</status></delivery-notification>"), &m), 0);
	cr_assert_str_eq(m.message_id, "34jk324j");
	cr_assert_str_eq(m.datetime, "2008-04-04T12:16:49Z");
	cr_assert_str_eq(m.recipient_uri, "sip:bob@example.com?a=1&b=<2>");
}

Test(rcs_imdn, field_limits)
{
	static const char notif[] =
		"<delivery-notification><status><delivered/></status></delivery-notification>";
	char id[RCS_IMDN_ID_MAX + 2], uri[RCS_IMDN_URI_MAX + 2], dt[RCS_IMDN_DT_MAX + 2];
	char notif_uri[RCS_IMDN_URI_MAX + 256];
	struct rcs_imdn m;

	memset(id, 'i', sizeof(id) - 1);
	id[RCS_IMDN_ID_MAX] = '\0';
	cr_assert_eq(parse(doc_of(id, "x", notif), &m), 0);
	cr_assert_eq(strlen(m.message_id), RCS_IMDN_ID_MAX);
	id[RCS_IMDN_ID_MAX] = 'i';
	id[RCS_IMDN_ID_MAX + 1] = '\0';
	cr_assert_eq(parse(doc_of(id, "x", notif), &m), -E2BIG);

	memset(dt, '1', sizeof(dt) - 1);
	dt[RCS_IMDN_DT_MAX + 1] = '\0';
	cr_assert_eq(parse(doc_of("a", dt, notif), &m), -E2BIG);
	dt[RCS_IMDN_DT_MAX] = '\0';
	cr_assert_eq(parse(doc_of("a", dt, notif), &m), 0);

	memset(uri, 'u', sizeof(uri) - 1);
	uri[RCS_IMDN_URI_MAX + 1] = '\0';
	snprintf(notif_uri, sizeof(notif_uri), "<original-recipient-uri>%s"
		 "</original-recipient-uri>%s", uri, notif);
	cr_assert_eq(parse(doc_of("a", "x", notif_uri), &m), -E2BIG);
	uri[RCS_IMDN_URI_MAX] = '\0';
	snprintf(notif_uri, sizeof(notif_uri), "<original-recipient-uri>%s"
		 "</original-recipient-uri>%s", uri, notif);
	cr_assert_eq(parse(doc_of("a", "x", notif_uri), &m), 0);
	cr_assert_eq(strlen(m.original_recipient_uri), RCS_IMDN_URI_MAX);
}

/* ---- DOCTYPE and entities ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The "billion laughs" document: 10^9 "lol" if entities were expanded. It stops at its
 * DOCTYPE, at once. */
Test(rcs_imdn, billion_laughs_refused_quickly)
{
	static const char doc[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE imdn [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>&lol9;</message-id>"
		"<datetime>x</datetime><delivery-notification><status><delivered/></status>"
		"</delivery-notification></imdn>\n";
	struct rcs_imdn m;
	double t0 = now_s();

	for (int i = 0; i < 100; i++)
		cr_assert_eq(parse(doc, &m), -EINVAL);
	cr_assert_lt(now_s() - t0, 1.0, "100 refusals took %.3f s", now_s() - t0);
}

Test(rcs_imdn, doctype_refused)
{
	struct rcs_imdn m;

	/* XXE: an external entity */
	cr_assert_eq(parse("<?xml version=\"1.0\"?>\n"
			   "<!DOCTYPE imdn [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
			   "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>&xxe;"
			   "</message-id><datetime>x</datetime><delivery-notification><status>"
			   "<delivered/></status></delivery-notification></imdn>", &m), -EINVAL);
	/* an external DTD, and a harmless-looking empty DOCTYPE: no DOCTYPE at all */
	cr_assert_eq(parse("<!DOCTYPE imdn SYSTEM \"http://example.com/imdn.dtd\">"
			   "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"/>", &m), -EINVAL);
	cr_assert_eq(parse("<!DOCTYPE imdn><imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">"
			   "<message-id>a</message-id><datetime>x</datetime>"
			   "<delivery-notification><status><delivered/></status>"
			   "</delivery-notification></imdn>", &m), -EINVAL);
	/* a parameter entity */
	cr_assert_eq(parse("<!DOCTYPE imdn [<!ENTITY % p SYSTEM \"http://x/y\"> %p;]>"
			   "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"/>", &m), -EINVAL);
}

/* ---- writing ------------------------------------------------------------------------- */

static struct rcs_imdn sample(void)
{
	struct rcs_imdn m;

	memset(&m, 0, sizeof(m));
	strcpy(m.message_id, "Msg-<1>&\"2\"'x'");
	strcpy(m.datetime, "2024-05-01T10:11:12.345+02:00");
	strcpy(m.recipient_uri, "sip:+33612345678@ims.example.com;user=phone?a=\"b\"&c=<d>");
	strcpy(m.original_recipient_uri, "tel:+33612345678");
	m.kind = RCS_IMDN_DELIVERY;
	m.status = RCS_IMDN_DELIVERED;
	return m;
}

static void assert_same(const struct rcs_imdn *a, const struct rcs_imdn *b)
{
	cr_assert_str_eq(a->message_id, b->message_id);
	cr_assert_str_eq(a->datetime, b->datetime);
	cr_assert_str_eq(a->recipient_uri, b->recipient_uri);
	cr_assert_str_eq(a->original_recipient_uri, b->original_recipient_uri);
	cr_assert_eq(a->kind, b->kind);
	cr_assert_eq(a->status, b->status);
}

/* Every allowed (kind, status), with and without recipient URIs, reads back the same. */
Test(rcs_imdn, round_trips)
{
	for (int k = RCS_IMDN_DELIVERY; k <= RCS_IMDN_PROCESSING; k++)
		for (int st = RCS_IMDN_DELIVERED; st <= RCS_IMDN_STORED; st++)
			for (int uris = 0; uris < 2; uris++) {
				struct rcs_imdn in = sample(), back;
				char buf[4096];
				long n;

				if (!rcs_imdn_status_allowed(k, st))
					continue;
				in.kind = k;
				in.status = st;
				if (!uris)
					in.recipient_uri[0] = in.original_recipient_uri[0] = '\0';
				n = rcs_imdn_write(buf, sizeof(buf), &in);
				cr_assert_gt(n, 0);
				cr_assert_eq((size_t)n, strlen(buf));
				cr_assert_eq(parse(buf, &back), 0, "%s", buf);
				assert_same(&in, &back);
			}
}

/* The exact document for the RFC's delivered example, and the escaping of & < > " '. */
Test(rcs_imdn, written_form)
{
	struct rcs_imdn in;
	char buf[1024];

	memset(&in, 0, sizeof(in));
	strcpy(in.message_id, "34jk324j");
	strcpy(in.datetime, "2008-04-04T12:16:49-05:00");
	strcpy(in.recipient_uri, "im:bob@example.com");
	in.kind = RCS_IMDN_DISPLAY;
	in.status = RCS_IMDN_DISPLAYED;
	cr_assert_gt(rcs_imdn_write(buf, sizeof(buf), &in), 0);
	cr_assert_str_eq(buf,
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			 "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\">\n"
			 "  <message-id>34jk324j</message-id>\n"
			 "  <datetime>2008-04-04T12:16:49-05:00</datetime>\n"
			 "  <recipient-uri>im:bob@example.com</recipient-uri>\n"
			 "  <display-notification>\n"
			 "    <status>\n"
			 "      <displayed/>\n"
			 "    </status>\n"
			 "  </display-notification>\n"
			 "</imdn>\n");
	strcpy(in.message_id, "a&b<c>d\"e'f");
	cr_assert_gt(rcs_imdn_write(buf, sizeof(buf), &in), 0);
	cr_assert(strstr(buf, "<message-id>a&amp;b&lt;c&gt;d&quot;e&apos;f</message-id>"), "%s",
		  buf);
}

/* NULL gives the length; below length + 1 it is -ENOSPC with "" in the buffer; at
 * length + 1 the document, the same bytes as with a large buffer. */
Test(rcs_imdn, enospc_below_need)
{
	struct rcs_imdn in = sample();
	char full[4096];
	long n = rcs_imdn_write(NULL, 0, &in);

	cr_assert_gt(n, 0);
	cr_assert_eq(rcs_imdn_write(full, sizeof(full), &in), n);
	for (size_t cap = 0; cap <= (size_t)n; cap++) {
		char *b = malloc(cap ? cap : 1);

		memset(b, 'Z', cap ? cap : 1);
		cr_assert_eq(rcs_imdn_write(b, cap, &in), -ENOSPC, "cap %zu", cap);
		if (cap)
			cr_assert_eq(b[0], '\0');
		free(b);
	}
	{
		char *b = malloc((size_t)n + 1);

		cr_assert_eq(rcs_imdn_write(b, (size_t)n + 1, &in), n);
		cr_assert_str_eq(b, full);
		free(b);
	}
}

Test(rcs_imdn, write_refusals)
{
	struct rcs_imdn in = sample();
	char buf[4096];

	in.status = RCS_IMDN_DISPLAYED;
	cr_assert_eq(rcs_imdn_write(buf, sizeof(buf), &in), -EINVAL, "status not of the kind");
	cr_assert_str_eq(buf, "");
	in = sample();
	in.kind = 0;
	cr_assert_eq(rcs_imdn_write(buf, sizeof(buf), &in), -EINVAL);
	in = sample();
	in.kind = 4;
	cr_assert_eq(rcs_imdn_write(NULL, 0, &in), -EINVAL);
	in = sample();
	in.message_id[0] = '\0';
	cr_assert_eq(rcs_imdn_write(buf, sizeof(buf), &in), -EINVAL, "empty message-id");
	in = sample();
	in.datetime[0] = '\0';
	cr_assert_eq(rcs_imdn_write(buf, sizeof(buf), &in), -EINVAL, "empty datetime");
	in = sample();
	strcpy(in.recipient_uri, "sip:a\001b@example.com");
	cr_assert_eq(rcs_imdn_write(buf, sizeof(buf), &in), -EINVAL, "control character");
	in = sample();
	strcpy(in.recipient_uri, "sip:\xc3(@example.com");
	cr_assert_eq(rcs_imdn_write(buf, sizeof(buf), &in), -EINVAL, "not UTF-8");
	in = sample();
	memset(in.message_id, 'x', sizeof(in.message_id));
	cr_assert_eq(rcs_imdn_write(buf, sizeof(buf), &in), -EINVAL, "no NUL in the field");
	/* -EINVAL wins over -ENOSPC */
	in = sample();
	in.status = RCS_IMDN_STORED;
	cr_assert_eq(rcs_imdn_write(buf, 1, &in), -EINVAL);
	cr_assert_eq(rcs_imdn_write(buf, sizeof(buf), NULL), -EINVAL);
}

/* TAB, LF, CR inside a value and non-ASCII text survive the trip. */
Test(rcs_imdn, round_trip_whitespace_and_utf8)
{
	struct rcs_imdn in = sample(), back;
	char buf[4096];

	strcpy(in.message_id, "a\tb\nc\r\nd");
	strcpy(in.recipient_uri, "sip:\xc3\xa9t\xc3\xa9@example.com;x=\xf0\x9f\x98\x80");
	cr_assert_gt(rcs_imdn_write(buf, sizeof(buf), &in), 0);
	cr_assert_eq(parse(buf, &back), 0);
	assert_same(&in, &back);
}

/* ---- names ------------------------------------------------------------------------- */

Test(rcs_imdn, names)
{
	cr_assert_str_eq(rcs_imdn_kind_name(RCS_IMDN_DELIVERY), "delivery");
	cr_assert_str_eq(rcs_imdn_kind_name(RCS_IMDN_DISPLAY), "display");
	cr_assert_str_eq(rcs_imdn_kind_name(RCS_IMDN_PROCESSING), "processing");
	cr_assert_str_eq(rcs_imdn_kind_name(0), "");
	cr_assert_str_eq(rcs_imdn_kind_name(4), "");
	cr_assert_str_eq(rcs_imdn_status_name(RCS_IMDN_DELIVERED), "delivered");
	cr_assert_str_eq(rcs_imdn_status_name(RCS_IMDN_FAILED), "failed");
	cr_assert_str_eq(rcs_imdn_status_name(RCS_IMDN_FORBIDDEN), "forbidden");
	cr_assert_str_eq(rcs_imdn_status_name(RCS_IMDN_ERROR), "error");
	cr_assert_str_eq(rcs_imdn_status_name(RCS_IMDN_DISPLAYED), "displayed");
	cr_assert_str_eq(rcs_imdn_status_name(RCS_IMDN_PROCESSED), "processed");
	cr_assert_str_eq(rcs_imdn_status_name(RCS_IMDN_STORED), "stored");
	cr_assert_str_eq(rcs_imdn_status_name(0), "");
	cr_assert_str_eq(rcs_imdn_status_name(8), "");
}

/* ---- Disposition-Notification (RFC 5438 §6.2) ---------------------------------------- */

static unsigned dn(const char *s)
{
	size_t n = strlen(s);
	const char *g = guard_copy(s, n);
	unsigned f = rcs_imdn_dn_parse(g, n);

	guard_release(g);
	return f;
}

Test(rcs_imdn, dn_parse)
{
	cr_assert_eq(dn("positive-delivery, negative-delivery"),
		     RCS_DN_POSITIVE_DELIVERY | RCS_DN_NEGATIVE_DELIVERY);
	cr_assert_eq(dn("positive-delivery, display"), RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY);
	cr_assert_eq(dn("positive-delivery,display"), RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY);
	cr_assert_eq(dn("Positive-Delivery , DISPLAY\t,processing"),
		     RCS_DN_POSITIVE_DELIVERY | RCS_DN_DISPLAY | RCS_DN_PROCESSING);
	cr_assert_eq(dn("negative-delivery"), RCS_DN_NEGATIVE_DELIVERY);
	cr_assert_eq(dn("display, x-future, positive-deliveryx, , "), RCS_DN_DISPLAY);
	cr_assert_eq(dn(""), 0);
	cr_assert_eq(dn(",,,"), 0);
	cr_assert_eq(dn("  "), 0);
	cr_assert_eq(dn("displa"), 0);
	cr_assert_eq(dn("display,"), RCS_DN_DISPLAY);
	cr_assert_eq(rcs_imdn_dn_parse(NULL, 0), 0);
}

Test(rcs_imdn, dn_write)
{
	char buf[128];

	cr_assert_eq(rcs_imdn_dn_write(buf, sizeof(buf),
				       RCS_DN_DISPLAY | RCS_DN_POSITIVE_DELIVERY), 26);
	cr_assert_str_eq(buf, "positive-delivery, display");
	cr_assert_gt(rcs_imdn_dn_write(buf, sizeof(buf), 0xf), 0);
	cr_assert_str_eq(buf, "positive-delivery, negative-delivery, display, processing");
	cr_assert_eq(rcs_imdn_dn_write(buf, sizeof(buf), 0), -EINVAL);
	cr_assert_eq(rcs_imdn_dn_write(buf, sizeof(buf), 0x10 | RCS_DN_DISPLAY), -EINVAL);
	/* every set of flags: round trip, length from NULL, -ENOSPC below length + 1 */
	for (unsigned f = 1; f <= 0xf; f++) {
		long n = rcs_imdn_dn_write(NULL, 0, f);

		cr_assert_gt(n, 0);
		for (size_t cap = 0; cap <= (size_t)n; cap++)
			cr_assert_eq(rcs_imdn_dn_write(buf, cap, f), -ENOSPC);
		cr_assert_eq(rcs_imdn_dn_write(buf, (size_t)n + 1, f), n);
		cr_assert_eq(dn(buf), f, "%s", buf);
	}
}
