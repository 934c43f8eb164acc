/* test_rcs_xml.c — the bounded expat reader and the escaping writer of the RCS bodies
 * (rcs/rcs_xml.c), through a small document kind of the test's own: the limits (input
 * size, depth, element count, text length) at and past their values, what is refused
 * (DOCTYPE, malformed input), what the callbacks see (text trimmed, CDATA, skipped
 * subtrees, attributes), the errors they return, the encodings expat converts, and the
 * escaping and XML 1.0 character rules of the writer.
 *
 * Every document is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h), so that a read past the end crashes the test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rcs/rcs_xml.h"
#include "tests/lib/guard.h"

#define NS "urn:test"

enum { T_ROOT = 1, T_VAL, T_BOX, T_DEEP };

/* <r xmlns="urn:test"><v>text</v><box a="..">(<box>)*</box></r>; any element inside a
 * <box> is a <box>: nesting as deep as one likes. */
static const struct rcs_xml_node nodes[] = {
	{ T_ROOT, 0, NS, "r", 0 },
	{ T_VAL, T_ROOT, NS, "v", 1 },
	{ T_BOX, T_ROOT, NS, "box", 0 },
	{ T_DEEP, T_BOX, NS, "box", 0 },
	{ T_DEEP, T_DEEP, NS, "box", 0 },
};

struct seen {
	int starts, ends;
	char text[RCS_XML_TEXT_MAX + 1];
	size_t tlen;
	char attr[64];
	int fail_at;       /* id whose start fails with -ENOTSUP, 0 never */
	int skip_box;      /* 1: T_BOX answers RCS_XML_SKIP */
};

static int t_start(void *c, int id, const char **attrs)
{
	struct seen *s = c;
	const char *a = rcs_xml_attr(attrs, "a");

	s->starts++;
	if (id == s->fail_at)
		return -ENOTSUP;
	if (a && id == T_BOX)
		snprintf(s->attr, sizeof(s->attr), "%s", a);
	if (id == T_BOX && s->skip_box)
		return RCS_XML_SKIP;
	return 0;
}

static int t_end(void *c, int id, cm_slice text)
{
	struct seen *s = c;

	s->ends++;
	cr_assert(text.p[text.len] == '\0', "text NUL-terminated");
	if (id == T_VAL) {
		memcpy(s->text, text.p, text.len + 1);
		s->tlen = text.len;
	} else {
		cr_assert_eq(text.len, 0);
	}
	return 0;
}

static const struct rcs_xml_doc tdoc = { nodes, sizeof(nodes) / sizeof(nodes[0]), t_start,
					 t_end };

static int parse_n(const char *doc, size_t n, struct seen *s)
{
	const char *g = guard_copy(doc, n);
	int rc = rcs_xml_parse(g, n, &tdoc, s);

	guard_release(g);
	return rc;
}

/* <doc> parsed with *<s> as it is (its switches set by the test). */
static int parse_keep(const char *doc, struct seen *s)
{
	return parse_n(doc, strlen(doc), s);
}

static int parse(const char *doc, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return parse_keep(doc, s);
}

/* ---- what the callbacks see ---------------------------------------------------------- */

Test(rcs_xml, text_trimmed_and_joined)
{
	struct seen s;

	cr_assert_eq(parse("<r xmlns=\"urn:test\"><v> \t\r\n a<!-- c --> b<![CDATA[ <&> ]]>c&#x20;"
			   "<x:n xmlns:x=\"urn:x\">not mine</x:n>d \n</v></r>", &s), 0);
	cr_assert_str_eq(s.text, "a b <&> c d");
	cr_assert_eq(s.starts, 2);
	cr_assert_eq(s.ends, 2);
	cr_assert_eq(parse("<r xmlns=\"urn:test\"><v/></r>", &s), 0);
	cr_assert_str_eq(s.text, "");
	cr_assert_eq(parse("<r xmlns=\"urn:test\"><v>a\r\nb\rc</v></r>", &s), 0);
	cr_assert_str_eq(s.text, "a\nb\nc", "line ends normalised by expat");
}

Test(rcs_xml, attributes_and_skips)
{
	struct seen s;

	cr_assert_eq(parse("<r xmlns=\"urn:test\" xmlns:o=\"urn:o\"><box o:a=\"other\" "
			   "a=\" x&amp;y\"><box/></box></r>", &s), 0);
	cr_assert_str_eq(s.attr, " x&y");
	cr_assert_eq(s.starts, 3);
	memset(&s, 0, sizeof(s));
	s.skip_box = 1;
	cr_assert_eq(parse_keep("<r xmlns=\"urn:test\"><box><box><v>x</v></box></box><v>y</v>"
				"</r>", &s), 0);
	cr_assert_eq(s.starts, 3, "root, box (skipped: nothing inside), v");
	cr_assert_eq(s.ends, 2, "no end for the skipped box");
	cr_assert_str_eq(s.text, "y");
	/* unknown elements at any depth below the root are skipped */
	cr_assert_eq(parse("<r xmlns=\"urn:test\"><u><v>x</v><box/></u></r>", &s), 0);
	cr_assert_eq(s.starts, 1);
	cr_assert_str_eq(s.text, "");
}

Test(rcs_xml, callback_errors)
{
	struct seen s;

	memset(&s, 0, sizeof(s));
	s.fail_at = T_VAL;
	cr_assert_eq(parse_keep("<r xmlns=\"urn:test\"><v>1</v><v>2</v></r>", &s), -ENOTSUP);
	cr_assert_eq(s.starts, 2, "stops at the first error");
	cr_assert_eq(s.ends, 0);
}

Test(rcs_xml, root_must_be_known)
{
	struct seen s;

	cr_assert_eq(parse("<r/>", &s), -EINVAL);
	cr_assert_eq(parse("<r xmlns=\"urn:other\"/>", &s), -EINVAL);
	cr_assert_eq(parse("<v xmlns=\"urn:test\"/>", &s), -EINVAL);
	cr_assert_eq(parse("<p:r xmlns:p=\"urn:test\"/>", &s), 0);
	cr_assert_eq(parse("<r xmlns=\"urn:test\"/>", &s), 0);
}

Test(rcs_xml, malformed)
{
	static const char *const bad[] = {
		"", " ", "<", "<r xmlns=\"urn:test\">", "<r xmlns=\"urn:test\"></s>",
		"<r xmlns=\"urn:test\"/><r xmlns=\"urn:test\"/>", "<r xmlns=\"urn:test\" a=1/>",
		"<r xmlns=\"urn:test\" a=\"1\" a=\"2\"/>", "<r xmlns=\"urn:test\">&bogus;</r>",
		"<r xmlns=\"urn:test\">&#0;</r>", "<r xmlns=\"urn:test\">&#x1;</r>",
		"<r xmlns=\"urn:test\">\x01</r>", "<r xmlns=\"urn:test\">\xc3\x28</r>",
		"<r xmlns=\"urn:test\">\xed\xa0\x80</r>", "<p:r/>", "junk<r xmlns=\"urn:test\"/>",
		"<?xml version=\"1.0\" encoding=\"x-unknown\"?><r xmlns=\"urn:test\"/>",
		"<r xmlns=\"urn:test\" xmlns:p=\"\"/>",
	};
	struct seen s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &s), -EINVAL, "%zu: %s", i, bad[i]);
	cr_assert_eq(rcs_xml_parse(NULL, 1, &tdoc, &s), -EINVAL);
	cr_assert_eq(rcs_xml_parse(NULL, 0, &tdoc, &s), -EINVAL);
}

Test(rcs_xml, doctype_refused)
{
	struct seen s;

	cr_assert_eq(parse("<!DOCTYPE r><r xmlns=\"urn:test\"/>", &s), -EINVAL);
	cr_assert_eq(parse("<!DOCTYPE r [<!ENTITY e \"v\">]><r xmlns=\"urn:test\"><v>&e;</v></r>",
			   &s), -EINVAL);
	cr_assert_eq(s.starts, 0, "stopped before the root");
	cr_assert_eq(parse("<!DOCTYPE r PUBLIC \"-//x//y\" \"http://x/y.dtd\">"
			   "<r xmlns=\"urn:test\"/>", &s), -EINVAL);
}

/* expat converts what the declaration or a BOM says to UTF-8. */
Test(rcs_xml, encodings)
{
	static const char latin1[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
				     "<r xmlns=\"urn:test\"><v>caf\xe9</v></r>";
	static const char utf16le[] = "\xff\xfe<\0r\0 \0x\0m\0l\0n\0s\0=\0\"\0u\0r\0n\0:\0t\0e\0"
				      "s\0t\0\"\0>\0<\0v\0>\0\xe9\0<\0/\0v\0>\0<\0/\0r\0>\0";
	static const char bom8[] = "\xef\xbb\xbf<r xmlns=\"urn:test\"><v>ok</v></r>";
	struct seen s;

	memset(&s, 0, sizeof(s));
	cr_assert_eq(parse_n(latin1, sizeof(latin1) - 1, &s), 0);
	cr_assert_str_eq(s.text, "caf\xc3\xa9");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(parse_n(utf16le, sizeof(utf16le) - 1, &s), 0);
	cr_assert_str_eq(s.text, "\xc3\xa9");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(parse_n(bom8, sizeof(bom8) - 1, &s), 0);
	cr_assert_str_eq(s.text, "ok");
}

/* ---- limits ---------------------------------------------------------------------------- */

Test(rcs_xml, input_size)
{
	static char doc[RCS_XML_MAX_BYTES + 2];
	static const char head[] = "<r xmlns=\"urn:test\"><v>x</v>", tail[] = "</r>";
	struct seen s;
	size_t n = RCS_XML_MAX_BYTES;

	/* exactly the limit: white space pads it */
	memset(doc, ' ', sizeof(doc));
	memcpy(doc, head, sizeof(head) - 1);
	memcpy(doc + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(parse_n(doc, n, &s), 0);
	cr_assert_str_eq(s.text, "x");
	/* one byte more */
	memset(doc + n - (sizeof(tail) - 1), ' ', sizeof(tail) - 1);
	memcpy(doc + n + 1 - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(parse_n(doc, n + 1, &s), -E2BIG);
	cr_assert_eq(s.starts, 0, "refused before parsing");
}

/* A root, then <depth> - 1 nested boxes (known ones, or unknown ones when <unknown>). */
static char *nested(unsigned depth, int unknown)
{
	static char doc[4096];
	size_t o = 0;

	o += (size_t)sprintf(doc + o, "<r xmlns=\"urn:test\">");
	for (unsigned i = 1; i < depth; i++)
		o += (size_t)sprintf(doc + o, unknown ? "<u>" : "<box>");
	for (unsigned i = 1; i < depth; i++)
		o += (size_t)sprintf(doc + o, unknown ? "</u>" : "</box>");
	sprintf(doc + o, "</r>");
	return doc;
}

Test(rcs_xml, depth)
{
	struct seen s;

	cr_assert_eq(parse(nested(RCS_XML_MAX_DEPTH, 0), &s), 0);
	cr_assert_eq(s.starts, RCS_XML_MAX_DEPTH);
	cr_assert_eq(parse(nested(RCS_XML_MAX_DEPTH + 1, 0), &s), -E2BIG);
	cr_assert_eq(parse(nested(RCS_XML_MAX_DEPTH, 1), &s), 0);
	cr_assert_eq(parse(nested(RCS_XML_MAX_DEPTH + 1, 1), &s), -E2BIG, "skipped ones count");
	cr_assert_eq(parse(nested(200, 1), &s), -E2BIG);
}

Test(rcs_xml, element_count)
{
	static char doc[16384];
	struct seen s;
	size_t o = (size_t)sprintf(doc, "<r xmlns=\"urn:test\">");

	for (int i = 1; i < RCS_XML_MAX_ELEMENTS; i++)
		o += (size_t)sprintf(doc + o, "<u/>");
	strcpy(doc + o, "</r>");
	cr_assert_eq(parse(doc, &s), 0);
	strcpy(doc + o, "<u/></r>");
	cr_assert_eq(parse(doc, &s), -E2BIG);
}

Test(rcs_xml, text_length)
{
	static char doc[RCS_XML_TEXT_MAX + 256];
	struct seen s;
	size_t o = (size_t)sprintf(doc, "<r xmlns=\"urn:test\"><v>   ");

	memset(doc + o, 't', RCS_XML_TEXT_MAX);
	strcpy(doc + o + RCS_XML_TEXT_MAX, "</v></r>");
	cr_assert_eq(parse(doc, &s), 0, "lead white space does not count");
	cr_assert_eq(s.tlen, RCS_XML_TEXT_MAX);
	strcpy(doc + o + RCS_XML_TEXT_MAX, "t</v></r>");
	cr_assert_eq(parse(doc, &s), -E2BIG);
	/* text of elements we do not collect is not limited */
	o = (size_t)sprintf(doc, "<r xmlns=\"urn:test\"><u>");
	memset(doc + o, 't', RCS_XML_TEXT_MAX + 100);
	strcpy(doc + o + RCS_XML_TEXT_MAX + 100, "</u></r>");
	cr_assert_eq(parse(doc, &s), 0);
}

/* ---- helpers --------------------------------------------------------------------------- */

#define SL(s) ((cm_slice){ (s), strlen(s) })

Test(rcs_xml, uint)
{
	uint64_t v = 7;

	cr_assert_eq(rcs_xml_uint(SL("0"), 10, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(rcs_xml_uint(SL(" 10\n"), 10, &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(rcs_xml_uint(SL("11"), 10, &v), -E2BIG);
	cr_assert_eq(rcs_xml_uint(SL("18446744073709551615"), UINT64_MAX, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(rcs_xml_uint(SL("18446744073709551616"), UINT64_MAX, &v), -E2BIG);
	cr_assert_eq(rcs_xml_uint(SL("99999999999999999999999"), UINT64_MAX, &v), -E2BIG);
	cr_assert_eq(rcs_xml_uint(SL("000000000000000000000001"), 1, &v), 0);
	cr_assert_eq(rcs_xml_uint(SL(""), 10, &v), -EINVAL);
	cr_assert_eq(rcs_xml_uint(SL("+1"), 10, &v), -EINVAL);
	cr_assert_eq(rcs_xml_uint(SL("1 2"), 10, &v), -EINVAL);
	cr_assert_eq(rcs_xml_uint(SL("99999999999999999999x"), 10, &v), -EINVAL);
	cr_assert_eq(rcs_xml_uint(SL("5"), 3, &v), -E2BIG);
}

Test(rcs_xml, copy_and_trim)
{
	char d[4] = "zzz";
	cm_slice t = rcs_xml_trim(SL(" \t\r\nab c\n "));

	cr_assert_eq(t.len, 4);
	cr_assert_eq(memcmp(t.p, "ab c", 4), 0);
	cr_assert_eq(rcs_xml_trim(SL(" \n")).len, 0);
	cr_assert_eq(rcs_xml_copy(d, sizeof(d), SL("abcd")), -E2BIG);
	cr_assert_str_eq(d, "zzz");
	cr_assert_eq(rcs_xml_copy(d, sizeof(d), SL("abc")), 0);
	cr_assert_str_eq(d, "abc");
	cr_assert_eq(rcs_xml_copy(d, sizeof(d), SL("")), 0);
	cr_assert_str_eq(d, "");
}

/* ---- writer ---------------------------------------------------------------------------- */

static long esc(const char *s, char *out, size_t cap)
{
	return rcs_xml_escape(out, cap, s, strlen(s));
}

Test(rcs_xml, escape)
{
	char out[256];

	cr_assert_eq(esc("a&b<c>d\"e'f", out, sizeof(out)), 31);
	cr_assert_str_eq(out, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
	cr_assert_gt(esc("\t\n\r", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "&#9;&#10;&#13;");
	cr_assert_eq(esc("", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(esc("plain \x7f text", out, sizeof(out)), 12, "DEL is an XML Char");
	cr_assert_eq(esc("&", NULL, 0), 5);
	cr_assert_eq(esc("&", out, 5), -ENOSPC);
	cr_assert_str_eq(out, "");
	cr_assert_eq(esc("&", out, 6), 5);
	cr_assert_eq(rcs_xml_escape(out, sizeof(out), "a\0b", 3), -EINVAL, "NUL");
	cr_assert_eq(rcs_xml_escape(out, sizeof(out), NULL, 1), -EINVAL);
}

/* UTF-8 that XML 1.0 takes, and what it does not. */
Test(rcs_xml, valid_characters)
{
	static const char *const ok[] = {
		"ascii", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xef\xbf\xbd", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\t\n\r",
	};
	static const char *const bad[] = {
		"\x01", "\x1f", "\x08", "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2",
		"\xc2\x41", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xef\xbf\xbe", "\xef\xbf\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xe2\x82", "a\xf0\x9f\x98",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert(rcs_xml_valid(ok[i], strlen(ok[i])), "ok %zu", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!rcs_xml_valid(bad[i], strlen(bad[i])), "bad %zu", i);
	cr_assert(!rcs_xml_valid("a\0b", 3));
	cr_assert(rcs_xml_valid("", 0));
}

/* Whatever the writer escapes, expat reads back the same (but for the ends' white space,
 * which the reader trims). */
Test(rcs_xml, escaped_reads_back)
{
	static const char *const vals[] = {
		"a&b<c>d\"e'f", "x\ty\nz\r\nw\rv", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		"]]>", "&amp;", "<![CDATA[x]]>",
	};

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char e[256], doc[640];
		struct seen s;

		cr_assert_gt(esc(vals[i], e, sizeof(e)), 0);
		snprintf(doc, sizeof(doc), "<r xmlns=\"urn:test\"><v>%s</v><box a=\"%s\"/></r>", e,
			 e);
		cr_assert_eq(parse(doc, &s), 0, "%s", doc);
		cr_assert_str_eq(s.text, vals[i]);
		cr_assert_str_eq(s.attr, vals[i]);
	}
}

Test(rcs_xml, writer)
{
	struct rcs_xml_w w;
	char buf[64], small[4];

	rcs_xml_w_init(&w, buf, sizeof(buf));
	rcs_xml_w_raw(&w, "<a>");
	rcs_xml_w_text(&w, "1<2", 8);
	rcs_xml_w_uint(&w, 0);
	rcs_xml_w_uint(&w, UINT64_MAX);
	rcs_xml_w_raw(&w, "</a>");
	cr_assert_eq(rcs_xml_w_end(&w), 34);
	cr_assert_str_eq(buf, "<a>1&lt;2018446744073709551615</a>");
	/* a field with no NUL within its size */
	rcs_xml_w_init(&w, buf, sizeof(buf));
	rcs_xml_w_text(&w, "abcd", 4);
	cr_assert_eq(rcs_xml_w_end(&w), -EINVAL);
	cr_assert_str_eq(buf, "");
	/* counting goes on past the end of a small buffer, nothing written past it */
	memset(small, 'Z', sizeof(small));
	rcs_xml_w_init(&w, small, 3);
	rcs_xml_w_raw(&w, "abcdef");
	cr_assert_eq(w.b.len, 6);
	cr_assert_eq(small[3], 'Z');
	cr_assert_eq(rcs_xml_w_end(&w), -ENOSPC);
	cr_assert_eq(small[0], '\0');
	rcs_xml_w_init(&w, NULL, 100);
	rcs_xml_w_raw(&w, "abcdef");
	cr_assert_eq(rcs_xml_w_end(&w), 6);
}
