/* test_rcs_composing.c — isComposing indications (rcs/rcs_composing.c).
 *
 * The examples of RFC 3994 §6 (active with contenttype and refresh; idle with lastactive
 * and contenttype, both with the xsi:schemaLocation attribute they carry), state, refresh
 * and field rules, namespaces, unknown elements, DOCTYPE refusal, round trips with
 * escaping and -ENOSPC at every capacity below the need.
 *
 * Every document is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h), so that a read past the end crashes the test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rcs/rcs_composing.h"
#include "tests/lib/guard.h"

static int parse(const char *doc, struct rcs_composing *out)
{
	size_t n = strlen(doc);
	const char *g = guard_copy(doc, n);
	int rc = rcs_composing_parse(g, n, out);

	guard_release(g);
	return rc;
}

#define OPEN "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	     "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\n"

/* A document whose children are <children>. */
static const char *doc_of(const char *children)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf), OPEN "%s</isComposing>\n", children);
	return buf;
}

/* How the examples of RFC 3994 §6 open (with its schemaLocation, whose namespace is not
 * the one of the document: the attribute is not read). */
#define RFC3994_OPEN                                                                       \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                     \
	"<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"\n"                   \
	"  xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"                      \
	"  xsi:schemaLocation=\"urn:ietf:params:xml:ns:im-composing iscomposing.xsd\">\n"

/* RFC 3994 §6, first example: Alice is writing text, she will say again within 90 s. */
Test(rcs_composing, rfc3994_active)
{
	static const char doc[] =
		RFC3994_OPEN
		"  <state>active</state>\n"
		"  <contenttype>text/plain</contenttype>\n"
		"  <refresh>90</refresh>\n"
		"</isComposing>\n";
	struct rcs_composing c;

	cr_assert_eq(parse(doc, &c), 0);
	cr_assert_eq(c.active, 1);
	cr_assert_eq(c.refresh, 90);
	cr_assert_str_eq(c.contenttype, "text/plain");
	cr_assert_str_eq(c.lastactive, "");
}

/* RFC 3994 §6, second example: idle since 10:43 UTC, after composing audio. */
Test(rcs_composing, rfc3994_idle)
{
	static const char doc[] =
		RFC3994_OPEN
		"  <state>idle</state>\n"
		"  <lastactive>2003-01-27T10:43:00Z</lastactive>\n"
		"  <contenttype>audio</contenttype>\n"
		"</isComposing>\n";
	struct rcs_composing c;

	cr_assert_eq(parse(doc, &c), 0);
	cr_assert_eq(c.active, 0);
	cr_assert_eq(c.refresh, 0);
	cr_assert_str_eq(c.lastactive, "2003-01-27T10:43:00Z");
	cr_assert_str_eq(c.contenttype, "audio");
}

Test(rcs_composing, state_rules)
{
	struct rcs_composing c;

	cr_assert_eq(parse(doc_of("<state>ACTIVE</state>"), &c), 0);
	cr_assert_eq(c.active, 1);
	cr_assert_eq(parse(doc_of("<state>\n  Idle \n</state>"), &c), 0);
	cr_assert_eq(c.active, 0);
	cr_assert_eq(parse(doc_of("<state>typing</state>"), &c), -EINVAL);
	cr_assert_eq(parse(doc_of("<state></state>"), &c), -EINVAL);
	cr_assert_eq(parse(doc_of("<state>active</state><state>idle</state>"), &c), -EINVAL);
	cr_assert_eq(parse(doc_of("<contenttype>text/plain</contenttype>"), &c), -EINVAL,
		     "no state");
	cr_assert_eq(parse(doc_of(""), &c), -EINVAL);
	cr_assert_str_eq(c.contenttype, "", "a refusal leaves nothing behind");
}

Test(rcs_composing, refresh_rules)
{
	struct rcs_composing c;

	cr_assert_eq(parse(doc_of("<state>active</state><refresh> 120 </refresh>"), &c), 0);
	cr_assert_eq(c.refresh, 120);
	cr_assert_eq(parse(doc_of("<state>active</state><refresh>4294967295</refresh>"), &c), 0);
	cr_assert_eq(c.refresh, 4294967295u);
	cr_assert_eq(parse(doc_of("<state>active</state><refresh>4294967296</refresh>"), &c),
		     -E2BIG);
	cr_assert_eq(parse(doc_of("<state>active</state><refresh>0</refresh>"), &c), -EINVAL,
		     "xs:positiveInteger");
	cr_assert_eq(parse(doc_of("<state>active</state><refresh>-5</refresh>"), &c), -EINVAL);
	cr_assert_eq(parse(doc_of("<state>active</state><refresh>9s</refresh>"), &c), -EINVAL);
	cr_assert_eq(parse(doc_of("<state>active</state><refresh/>"), &c), -EINVAL);
	cr_assert_eq(parse(doc_of("<state>active</state><refresh>1</refresh>"
				  "<refresh>2</refresh>"), &c), -EINVAL);
}

Test(rcs_composing, field_limits)
{
	char v[200], children[512];
	struct rcs_composing c;

	memset(v, 'a', sizeof(v));
	v[63] = '\0';
	snprintf(children, sizeof(children), "<state>idle</state><lastactive>%s</lastactive>", v);
	cr_assert_eq(parse(doc_of(children), &c), 0);
	cr_assert_eq(strlen(c.lastactive), 63);
	v[63] = 'a';
	v[64] = '\0';
	snprintf(children, sizeof(children), "<state>idle</state><lastactive>%s</lastactive>", v);
	cr_assert_eq(parse(doc_of(children), &c), -E2BIG);
	v[64] = 'a';
	v[127] = '\0';
	snprintf(children, sizeof(children), "<state>idle</state><contenttype>%s</contenttype>",
		 v);
	cr_assert_eq(parse(doc_of(children), &c), 0);
	v[127] = 'a';
	v[128] = '\0';
	snprintf(children, sizeof(children), "<state>idle</state><contenttype>%s</contenttype>",
		 v);
	cr_assert_eq(parse(doc_of(children), &c), -E2BIG);
}

Test(rcs_composing, namespaces)
{
	struct rcs_composing c;

	cr_assert_eq(parse("<c:isComposing xmlns:c=\"urn:ietf:params:xml:ns:im-iscomposing\">"
			   "<c:state>active</c:state><c:refresh>60</c:refresh></c:isComposing>",
			   &c), 0);
	cr_assert_eq(c.refresh, 60);
	cr_assert_eq(parse("<isComposing><state>active</state></isComposing>", &c), -EINVAL,
		     "no namespace");
	cr_assert_eq(parse("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-isComposing\">"
			   "<state>active</state></isComposing>", &c), -EINVAL, "namespace case");
	cr_assert_eq(parse("<isComposing xmlns=\"urn:ietf:params:xml:ns:imdn\">"
			   "<state>active</state></isComposing>", &c), -EINVAL);
	cr_assert_eq(parse("<iscomposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">"
			   "<state>active</state></iscomposing>", &c), -EINVAL, "name case");
	/* the state in another namespace is not ours */
	cr_assert_eq(parse("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\" "
			   "xmlns:o=\"urn:o\"><o:state>active</o:state></isComposing>", &c),
		     -EINVAL);
}

/* The schema's xs:any: extensions anywhere are skipped with what they hold. */
Test(rcs_composing, unknown_elements_ignored)
{
	struct rcs_composing c;

	cr_assert_eq(parse(doc_of("<x:ext xmlns:x=\"urn:x\"><state>idle</state></x:ext>"
				  "<refresh>30</refresh><mood>happy</mood>"
				  "<state unknown=\"attr\">active</state>"
				  "<x:y xmlns:x=\"urn:y\"><x:z/></x:y>"), &c), 0);
	cr_assert_eq(c.active, 1);
	cr_assert_eq(c.refresh, 30);
}

Test(rcs_composing, doctype_refused)
{
	struct rcs_composing c;

	cr_assert_eq(parse("<?xml version=\"1.0\"?><!DOCTYPE isComposing [<!ENTITY a \"aaaa\">"
			   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
			   "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">"
			   "<state>active</state><contenttype>&b;</contenttype></isComposing>",
			   &c), -EINVAL);
	cr_assert_eq(parse("<!DOCTYPE isComposing [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
			   "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">"
			   "<state>&x;</state></isComposing>", &c), -EINVAL);
	cr_assert_eq(parse("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">"
			   "<state>&x;</state></isComposing>", &c), -EINVAL, "undefined entity");
}

/* ---- writing ------------------------------------------------------------------------- */

static void assert_same(const struct rcs_composing *a, const struct rcs_composing *b)
{
	cr_assert_eq(a->active, b->active);
	cr_assert_eq(a->refresh, b->refresh);
	cr_assert_str_eq(a->lastactive, b->lastactive);
	cr_assert_str_eq(a->contenttype, b->contenttype);
}

Test(rcs_composing, written_form)
{
	struct rcs_composing in = { .active = 1, .refresh = 90 };
	char buf[512];

	strcpy(in.contenttype, "text/plain");
	cr_assert_gt(rcs_composing_write(buf, sizeof(buf), &in), 0);
	cr_assert_str_eq(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			      "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\n"
			      "  <state>active</state>\n"
			      "  <contenttype>text/plain</contenttype>\n"
			      "  <refresh>90</refresh>\n"
			      "</isComposing>\n");
	memset(&in, 0, sizeof(in));
	strcpy(in.lastactive, "2003-01-27T10:43:00Z");
	cr_assert_gt(rcs_composing_write(buf, sizeof(buf), &in), 0);
	cr_assert_str_eq(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			      "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\n"
			      "  <state>idle</state>\n"
			      "  <lastactive>2003-01-27T10:43:00Z</lastactive>\n"
			      "</isComposing>\n");
}

Test(rcs_composing, round_trips)
{
	static const struct rcs_composing cases[] = {
		{ 1, 90, "", "text/plain" },
		{ 0, 0, "2003-01-27T10:43:00Z", "audio" },
		{ 0, 0, "", "" },
		{ 1, 4294967295u, "2024-05-01T10:11:12.5+02:00", "application/x-<&>\"'" },
		{ 1, 1, "a\tb", "text/plain; charset=\"utf-8\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rcs_composing back;
		char buf[1024];
		long n = rcs_composing_write(buf, sizeof(buf), &cases[i]);

		cr_assert_gt(n, 0);
		cr_assert_eq(n, rcs_composing_write(NULL, 0, &cases[i]));
		cr_assert_eq(parse(buf, &back), 0, "%s", buf);
		assert_same(&cases[i], &back);
	}
}

Test(rcs_composing, enospc_below_need)
{
	struct rcs_composing in = { .active = 1, .refresh = 15 };
	char full[1024];
	long n;

	strcpy(in.lastactive, "2003-01-27T10:43:00Z");
	strcpy(in.contenttype, "text/<&>");
	n = rcs_composing_write(NULL, 0, &in);
	cr_assert_gt(n, 0);
	cr_assert_eq(rcs_composing_write(full, sizeof(full), &in), n);
	for (size_t cap = 0; cap <= (size_t)n; cap++) {
		char *b = malloc(cap ? cap : 1);

		cr_assert_eq(rcs_composing_write(b, cap, &in), -ENOSPC, "cap %zu", cap);
		if (cap)
			cr_assert_eq(b[0], '\0');
		free(b);
	}
	{
		char *b = malloc((size_t)n + 1);

		cr_assert_eq(rcs_composing_write(b, (size_t)n + 1, &in), n);
		cr_assert_str_eq(b, full);
		free(b);
	}
}

Test(rcs_composing, write_refusals)
{
	struct rcs_composing in = { .active = 2 };
	char buf[1024];

	cr_assert_eq(rcs_composing_write(buf, sizeof(buf), &in), -EINVAL);
	cr_assert_str_eq(buf, "");
	in.active = -1;
	cr_assert_eq(rcs_composing_write(NULL, 0, &in), -EINVAL);
	in.active = 1;
	strcpy(in.contenttype, "text/\x7f\x1b");
	cr_assert_eq(rcs_composing_write(buf, sizeof(buf), &in), -EINVAL, "ESC");
	strcpy(in.contenttype, "text/\xed\xa0\x80");
	cr_assert_eq(rcs_composing_write(buf, sizeof(buf), &in), -EINVAL, "a surrogate");
	in.contenttype[0] = '\0';
	memset(in.lastactive, '1', sizeof(in.lastactive));
	cr_assert_eq(rcs_composing_write(buf, sizeof(buf), &in), -EINVAL, "no NUL");
	cr_assert_eq(rcs_composing_write(buf, sizeof(buf), NULL), -EINVAL);
}
