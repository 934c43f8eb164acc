/* test_rcs_fthttp.c — the file transfer over HTTP descriptor (rcs/rcs_fthttp.c).
 *
 * Descriptors in the shape of GSMA RCC.07 (thumbnail and file; file only; an audio message
 * with am:playing-length), part and child rules, file-disposition values, extensions
 * skipped (hashes, branded URLs), namespaces, DOCTYPE refusal, field limits, round trips
 * with escaping and -ENOSPC at every capacity below the need.
 *
 * Every document is parsed from a copy that ends right before a PROT_NONE page
 * (tests/lib/guard.h), so that a read past the end crashes the test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rcs/rcs_fthttp.h"
#include "tests/lib/guard.h"

static int parse(const char *doc, struct rcs_fthttp *out)
{
	size_t n = strlen(doc);
	const char *g = guard_copy(doc, n);
	int rc = rcs_fthttp_parse(g, n, out);

	guard_release(g);
	return rc;
}

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define FT_OPEN XML_DECL "<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">\n"

/* A descriptor whose children are <parts>. */
static const char *doc_of(const char *parts)
{
	static char buf[16384];

	snprintf(buf, sizeof(buf), FT_OPEN "%s</file>\n", parts);
	return buf;
}

#define FILE_PART(children) "<file-info type=\"file\">" children "</file-info>"
#define URL_ONLY "<data url=\"https://ft.example.com/f/1\"/>"

/* The RCC.07 descriptor with a thumbnail and the file. */
Test(rcs_fthttp, thumbnail_and_file)
{
	static const char doc[] =
		XML_DECL
		"<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">\n"
		"  <file-info type=\"thumbnail\">\n"
		"    <file-size>7427</file-size>\n"
		"    <content-type>image/jpeg</content-type>\n"
		"    <data url = \"https://ftcs.example.com/t/8fb0a1c2\"\n"
		"          until = \"2024-05-08T10:00:00Z\"/>\n"
		"  </file-info>\n"
		"  <file-info type=\"file\" file-disposition=\"render\">\n"
		"    <file-size>183524</file-size>\n"
		"    <file-name>IMG_0042.jpg</file-name>\n"
		"    <content-type>image/jpeg</content-type>\n"
		"    <data url=\"https://ftcs.example.com/f/8fb0a1c2?a=1&amp;b=2\"\n"
		"          until=\"2024-05-08T10:00:00Z\"/>\n"
		"  </file-info>\n"
		"</file>\n";
	struct rcs_fthttp d;

	cr_assert_eq(parse(doc, &d), 0);
	cr_assert_eq(d.thumbnail.present, 1);
	cr_assert_eq(d.thumbnail.size, 7427);
	cr_assert_str_eq(d.thumbnail.content_type, "image/jpeg");
	cr_assert_str_eq(d.thumbnail.url, "https://ftcs.example.com/t/8fb0a1c2");
	cr_assert_str_eq(d.thumbnail.until, "2024-05-08T10:00:00Z");
	cr_assert_str_eq(d.thumbnail.name, "");
	cr_assert_str_eq(d.thumbnail.disposition, "");
	cr_assert_eq(d.file.present, 1);
	cr_assert_eq(d.file.size, 183524);
	cr_assert_str_eq(d.file.name, "IMG_0042.jpg");
	cr_assert_str_eq(d.file.content_type, "image/jpeg");
	cr_assert_str_eq(d.file.url, "https://ftcs.example.com/f/8fb0a1c2?a=1&b=2");
	cr_assert_str_eq(d.file.until, "2024-05-08T10:00:00Z");
	cr_assert_str_eq(d.file.disposition, "render");
	cr_assert_eq(d.file.playing_length, 0);
}

/* The file alone, attachment. */
Test(rcs_fthttp, file_only)
{
	static const char doc[] =
		XML_DECL
		"<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">\n"
		"  <file-info type=\"file\" file-disposition=\"attachment\">\n"
		"    <file-size>1048576</file-size>\n"
		"    <file-name>report 2024.pdf</file-name>\n"
		"    <content-type>application/pdf</content-type>\n"
		"    <data url=\"https://ftcs.example.com/f/77\" until=\"2024-05-08T10:00:00+02:00\"/>\n"
		"  </file-info>\n"
		"</file>\n";
	struct rcs_fthttp d;

	cr_assert_eq(parse(doc, &d), 0);
	cr_assert_eq(d.thumbnail.present, 0);
	cr_assert_str_eq(d.thumbnail.url, "");
	cr_assert_eq(d.file.present, 1);
	cr_assert_eq(d.file.size, 1048576);
	cr_assert_str_eq(d.file.name, "report 2024.pdf");
	cr_assert_str_eq(d.file.disposition, "attachment");
	cr_assert_str_eq(d.file.until, "2024-05-08T10:00:00+02:00");
}

/* An audio message (RCC.07 audio messaging: am:playing-length in the file part). */
Test(rcs_fthttp, audio_message)
{
	static const char doc[] =
		XML_DECL
		"<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\"\n"
		"      xmlns:am=\"urn:gsma:params:xml:ns:rcs:rcs:rram\">\n"
		"  <file-info type=\"file\" file-disposition=\"render\">\n"
		"    <file-size>3206</file-size>\n"
		"    <file-name>voice.amr</file-name>\n"
		"    <content-type>audio/amr</content-type>\n"
		"    <am:playing-length>12</am:playing-length>\n"
		"    <data url=\"https://ftcs.example.com/f/a1\" until=\"2024-05-08T10:00:00Z\"/>\n"
		"  </file-info>\n"
		"</file>\n";
	struct rcs_fthttp d;

	cr_assert_eq(parse(doc, &d), 0);
	cr_assert_eq(d.file.playing_length, 12);
	cr_assert_str_eq(d.file.content_type, "audio/amr");
	/* another prefix for the same namespace; playing-length in our namespace is not it */
	cr_assert_eq(parse(doc_of("<file-info type=\"file\"><x:playing-length "
				  "xmlns:x=\"urn:gsma:params:xml:ns:rcs:rcs:rram\">7"
				  "</x:playing-length>" URL_ONLY "</file-info>"), &d), 0);
	cr_assert_eq(d.file.playing_length, 7);
	cr_assert_eq(parse(doc_of(FILE_PART("<playing-length>7</playing-length>" URL_ONLY)),
			   &d), 0);
	cr_assert_eq(d.file.playing_length, 0);
	/* a thumbnail has none */
	cr_assert_eq(parse(doc_of("<file-info type=\"thumbnail\"><am:playing-length "
				  "xmlns:am=\"urn:gsma:params:xml:ns:rcs:rcs:rram\">7"
				  "</am:playing-length><file-name>t.jpg</file-name>" URL_ONLY
				  "</file-info>" FILE_PART(URL_ONLY)), &d), 0);
	cr_assert_eq(d.thumbnail.playing_length, 0);
	cr_assert_str_eq(d.thumbnail.name, "");
	cr_assert_eq(parse(doc_of(FILE_PART("<am:playing-length xmlns:am=\"urn:gsma:params:xml"
					    ":ns:rcs:rcs:rram\">x</am:playing-length>"
					    URL_ONLY)), &d), -EINVAL);
	cr_assert_eq(parse(doc_of(FILE_PART("<am:playing-length xmlns:am=\"urn:gsma:params:xml"
					    ":ns:rcs:rcs:rram\">4294967296</am:playing-length>"
					    URL_ONLY)), &d), -E2BIG);
}

Test(rcs_fthttp, dispositions)
{
	static const struct {
		const char *attr, *want;
	} cases[] = {
		{ "render", "render" },   { "attachment", "attachment" },
		{ "attach", "attachment" }, { "Render", "render" },
		{ " render ", "render" }, { "inline", "" },
		{ "", "" },
	};
	struct rcs_fthttp d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char parts[512];

		snprintf(parts, sizeof(parts), "<file-info type=\"file\" file-disposition=\"%s\">"
			 URL_ONLY "</file-info>", cases[i].attr);
		cr_assert_eq(parse(doc_of(parts), &d), 0);
		cr_assert_str_eq(d.file.disposition, cases[i].want, "%s", cases[i].attr);
	}
	cr_assert_eq(parse(doc_of(FILE_PART(URL_ONLY)), &d), 0);
	cr_assert_str_eq(d.file.disposition, "");
	/* not kept in a thumbnail */
	cr_assert_eq(parse(doc_of("<file-info type=\"thumbnail\" file-disposition=\"render\">"
				  URL_ONLY "</file-info>" FILE_PART(URL_ONLY)), &d), 0);
	cr_assert_str_eq(d.thumbnail.disposition, "");
}

Test(rcs_fthttp, part_rules)
{
	struct rcs_fthttp d;

	cr_assert_eq(parse(doc_of(""), &d), -EINVAL, "no part");
	cr_assert_eq(parse(doc_of("<file-info type=\"thumbnail\">" URL_ONLY "</file-info>"), &d),
		     -EINVAL, "a thumbnail alone");
	cr_assert_eq(parse(doc_of(FILE_PART(URL_ONLY) FILE_PART(URL_ONLY)), &d), -EINVAL,
		     "two files");
	cr_assert_eq(parse(doc_of("<file-info type=\"thumbnail\">" URL_ONLY "</file-info>"
				  "<file-info type=\"thumbnail\">" URL_ONLY "</file-info>"
				  FILE_PART(URL_ONLY)), &d), -EINVAL, "two thumbnails");
	cr_assert_eq(parse(doc_of(FILE_PART("<file-size>1</file-size>")), &d), -EINVAL,
		     "no data");
	cr_assert_eq(parse(doc_of(FILE_PART("<data until=\"2024-01-01T00:00:00Z\"/>")), &d),
		     -EINVAL, "data without url");
	cr_assert_eq(parse(doc_of(FILE_PART("<data url=\"  \"/>")), &d), -EINVAL, "blank url");
	cr_assert_eq(parse(doc_of("<file-info type=\"thumbnail\"><file-size>1</file-size>"
				  "</file-info>" FILE_PART(URL_ONLY)), &d), -EINVAL,
		     "a thumbnail without url");
	cr_assert_eq(parse(doc_of(FILE_PART(URL_ONLY URL_ONLY)), &d), -EINVAL, "data twice");
	cr_assert_eq(parse(doc_of(FILE_PART("<file-size>1</file-size><file-size>2</file-size>"
					    URL_ONLY)), &d), -EINVAL, "file-size twice");
	cr_assert_eq(parse(doc_of(FILE_PART("<file-name>a</file-name><file-name>b</file-name>"
					    URL_ONLY)), &d), -EINVAL, "file-name twice");
	cr_assert_eq(d.file.present, 0, "a refusal leaves nothing behind");
	/* a url alone is enough: the rest is optional */
	cr_assert_eq(parse(doc_of(FILE_PART(URL_ONLY)), &d), 0);
	cr_assert_eq(d.file.size, 0);
	cr_assert_str_eq(d.file.url, "https://ft.example.com/f/1");
	cr_assert_str_eq(d.file.until, "");
	cr_assert_str_eq(d.file.content_type, "");
}

Test(rcs_fthttp, sizes)
{
	struct rcs_fthttp d;

	cr_assert_eq(parse(doc_of(FILE_PART("<file-size>18446744073709551615</file-size>"
					    URL_ONLY)), &d), 0);
	cr_assert_eq(d.file.size, UINT64_MAX);
	cr_assert_eq(parse(doc_of(FILE_PART("<file-size>\n 0042 \n</file-size>" URL_ONLY)), &d),
		     0);
	cr_assert_eq(d.file.size, 42);
	cr_assert_eq(parse(doc_of(FILE_PART("<file-size>18446744073709551616</file-size>"
					    URL_ONLY)), &d), -E2BIG);
	cr_assert_eq(parse(doc_of(FILE_PART("<file-size>1e6</file-size>" URL_ONLY)), &d),
		     -EINVAL);
	cr_assert_eq(parse(doc_of(FILE_PART("<file-size>[file size in bytes]</file-size>"
					    URL_ONLY)), &d), -EINVAL);
	cr_assert_eq(parse(doc_of(FILE_PART("<file-size></file-size>" URL_ONLY)), &d), -EINVAL);
	cr_assert_eq(parse(doc_of(FILE_PART("<file-size>-1</file-size>" URL_ONLY)), &d), -EINVAL);
}

Test(rcs_fthttp, field_limits)
{
	static char url[1100], parts[4096];
	struct rcs_fthttp d;

	memset(url, 'u', sizeof(url));
	memcpy(url, "https://", 8);
	url[1023] = '\0';
	snprintf(parts, sizeof(parts), "<file-info type=\"file\"><data url=\"%s\"/></file-info>",
		 url);
	cr_assert_eq(parse(doc_of(parts), &d), 0);
	cr_assert_eq(strlen(d.file.url), 1023);
	url[1023] = 'u';
	url[1024] = '\0';
	snprintf(parts, sizeof(parts), "<file-info type=\"file\"><data url=\"%s\"/></file-info>",
		 url);
	cr_assert_eq(parse(doc_of(parts), &d), -E2BIG);

	memset(url, 'n', 256);
	url[255] = '\0';
	snprintf(parts, sizeof(parts), FILE_PART("<file-name>%s</file-name>" URL_ONLY), url);
	cr_assert_eq(parse(doc_of(parts), &d), 0);
	url[255] = 'n';
	url[256] = '\0';
	snprintf(parts, sizeof(parts), FILE_PART("<file-name>%s</file-name>" URL_ONLY), url);
	cr_assert_eq(parse(doc_of(parts), &d), -E2BIG);

	memset(url, '1', 64);
	url[64] = '\0';
	snprintf(parts, sizeof(parts), "<file-info type=\"file\"><data url=\"x\" until=\"%s\"/>"
		 "</file-info>", url);
	cr_assert_eq(parse(doc_of(parts), &d), -E2BIG);
	url[63] = '\0';
	snprintf(parts, sizeof(parts), "<file-info type=\"file\"><data url=\"x\" until=\"%s\"/>"
		 "</file-info>", url);
	cr_assert_eq(parse(doc_of(parts), &d), 0);
}

/* Extensions seen in the field (hashes, <file-exist>, branded URLs of UP fthttpext),
 * parts of an unknown type, unknown attributes: skipped. */
Test(rcs_fthttp, unknown_elements_ignored)
{
	static const char doc[] =
		XML_DECL
		"<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\"\n"
		"      xmlns:e=\"urn:gsma:params:xml:ns:rcs:rcs:up:fthttpext\" e:v=\"1\">\n"
		"  <file-info type=\"preview\"><data url=\"https://evil/\"/></file-info>\n"
		"  <file-info><data url=\"https://evil/2\"/></file-info>\n"
		"  <file-info type=\"file\" file-disposition=\"render\" e:x=\"y\">\n"
		"    <file-size>171008</file-size>\n"
		"    <file-hash-algorithm>md5</file-hash-algorithm>\n"
		"    <file-hash-value>30:0C:E7:9D:B9:88:57:0F</file-hash-value>\n"
		"    <hash algorithm=\"sha-256\">qUqP5cyxm6YcTAhz05Hph5gvu9M=</hash>\n"
		"    <file-name>car.png</file-name>\n"
		"    <content-type>image/png</content-type>\n"
		"    <data url=\"https://ft.example.com/s/FD.png\" until=\"2021-01-21T14:09:31Z\""
		" extra=\"1\">text is ignored</data>\n"
		"    <file-exist>1</file-exist>\n"
		"    <e:branded-url>https://b.example/s/W4eRJ.png</e:branded-url>\n"
		"    <e:wrap><file-name>evil</file-name></e:wrap>\n"
		"  </file-info>\n"
		"  <e:future/>\n"
		"</file>\n";
	struct rcs_fthttp d;

	cr_assert_eq(parse(doc, &d), 0);
	cr_assert_eq(d.thumbnail.present, 0);
	cr_assert_eq(d.file.size, 171008);
	cr_assert_str_eq(d.file.name, "car.png");
	cr_assert_str_eq(d.file.url, "https://ft.example.com/s/FD.png");
	cr_assert_str_eq(d.file.until, "2021-01-21T14:09:31Z");
}

Test(rcs_fthttp, namespaces)
{
	struct rcs_fthttp d;

	cr_assert_eq(parse("<f:file xmlns:f=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">"
			   "<f:file-info type=\"file\"><f:data url=\"https://x/1\"/></f:file-info>"
			   "</f:file>", &d), 0);
	cr_assert_str_eq(d.file.url, "https://x/1");
	cr_assert_eq(parse("<file><file-info type=\"file\"><data url=\"https://x/1\"/>"
			   "</file-info></file>", &d), -EINVAL, "no namespace");
	cr_assert_eq(parse("<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp2\">"
			   "<file-info type=\"file\"><data url=\"https://x/1\"/></file-info>"
			   "</file>", &d), -EINVAL, "another namespace");
	/* a type attribute in another namespace is not the type */
	cr_assert_eq(parse("<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\" "
			   "xmlns:o=\"urn:o\"><file-info o:type=\"file\"><data url=\"https://x/1\"/>"
			   "</file-info></file>", &d), -EINVAL);
}

Test(rcs_fthttp, doctype_refused)
{
	struct rcs_fthttp d;

	cr_assert_eq(parse("<?xml version=\"1.0\"?><!DOCTYPE file [<!ENTITY u SYSTEM "
			   "\"file:///etc/hostname\">]><file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs"
			   ":fthttp\"><file-info type=\"file\"><data url=\"&u;\"/></file-info>"
			   "</file>", &d), -EINVAL);
	cr_assert_eq(parse("<!DOCTYPE file [<!ENTITY a \"x\"><!ENTITY b \"&a;&a;&a;&a;&a;\">"
			   "<!ENTITY c \"&b;&b;&b;&b;&b;&b;\">]><file xmlns=\"urn:gsma:params:xml:"
			   "ns:rcs:rcs:fthttp\"><file-info type=\"file\"><data url=\"&c;\"/>"
			   "</file-info></file>", &d), -EINVAL);
}

/* ---- writing ------------------------------------------------------------------------- */

static struct rcs_fthttp sample(int thumb, unsigned playing)
{
	struct rcs_fthttp d;

	memset(&d, 0, sizeof(d));
	d.file.present = 1;
	d.file.size = 183524;
	strcpy(d.file.name, "a <b> & \"c\" 'd'.jpg");
	strcpy(d.file.content_type, "image/jpeg");
	strcpy(d.file.url, "https://ftcs.example.com/f/1?x=1&y='2'&z=\"3\"<>");
	strcpy(d.file.until, "2024-05-08T10:00:00Z");
	strcpy(d.file.disposition, "render");
	d.file.playing_length = playing;
	if (thumb) {
		d.thumbnail.present = 1;
		d.thumbnail.size = 7427;
		strcpy(d.thumbnail.content_type, "image/png");
		strcpy(d.thumbnail.url, "https://ftcs.example.com/t/1");
		strcpy(d.thumbnail.until, "2024-05-08T10:00:00Z");
	}
	return d;
}

static void assert_info_same(const struct rcs_ft_info *a, const struct rcs_ft_info *b)
{
	cr_assert_eq(a->present, b->present);
	cr_assert_eq(a->size, b->size);
	cr_assert_str_eq(a->name, b->name);
	cr_assert_str_eq(a->content_type, b->content_type);
	cr_assert_str_eq(a->url, b->url);
	cr_assert_str_eq(a->until, b->until);
	cr_assert_str_eq(a->disposition, b->disposition);
	cr_assert_eq(a->playing_length, b->playing_length);
}

Test(rcs_fthttp, written_form)
{
	struct rcs_fthttp d;
	char buf[2048];

	memset(&d, 0, sizeof(d));
	d.thumbnail.present = 1;
	d.thumbnail.size = 7427;
	strcpy(d.thumbnail.content_type, "image/jpeg");
	strcpy(d.thumbnail.url, "https://ftcs.example.com/t/1");
	strcpy(d.thumbnail.until, "2024-05-08T10:00:00Z");
	d.file.present = 1;
	d.file.size = 3206;
	strcpy(d.file.name, "voice.amr");
	strcpy(d.file.content_type, "audio/amr");
	strcpy(d.file.url, "https://ftcs.example.com/f/1");
	strcpy(d.file.until, "2024-05-08T10:00:00Z");
	strcpy(d.file.disposition, "render");
	d.file.playing_length = 12;
	cr_assert_gt(rcs_fthttp_write(buf, sizeof(buf), &d), 0);
	cr_assert_str_eq(buf,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\" "
		"xmlns:am=\"urn:gsma:params:xml:ns:rcs:rcs:rram\">\n"
		"  <file-info type=\"thumbnail\">\n"
		"    <file-size>7427</file-size>\n"
		"    <content-type>image/jpeg</content-type>\n"
		"    <data url=\"https://ftcs.example.com/t/1\" until=\"2024-05-08T10:00:00Z\"/>\n"
		"  </file-info>\n"
		"  <file-info type=\"file\" file-disposition=\"render\">\n"
		"    <file-size>3206</file-size>\n"
		"    <file-name>voice.amr</file-name>\n"
		"    <content-type>audio/amr</content-type>\n"
		"    <am:playing-length>12</am:playing-length>\n"
		"    <data url=\"https://ftcs.example.com/f/1\" until=\"2024-05-08T10:00:00Z\"/>\n"
		"  </file-info>\n"
		"</file>\n");
	/* without a playing length no am namespace; without until no attribute */
	d.file.playing_length = 0;
	d.file.until[0] = '\0';
	d.thumbnail.present = 0;
	cr_assert_gt(rcs_fthttp_write(buf, sizeof(buf), &d), 0);
	cr_assert_null(strstr(buf, "rram"));
	cr_assert_null(strstr(buf, "until"));
	cr_assert_null(strstr(buf, "thumbnail"));
}

Test(rcs_fthttp, round_trips)
{
	for (int thumb = 0; thumb < 2; thumb++)
		for (unsigned playing = 0; playing < 2; playing++) {
			struct rcs_fthttp in = sample(thumb, playing * 4294967295u), back;
			char buf[4096];
			long n = rcs_fthttp_write(buf, sizeof(buf), &in);

			cr_assert_gt(n, 0);
			cr_assert_eq(parse(buf, &back), 0, "%s", buf);
			assert_info_same(&in.file, &back.file);
			assert_info_same(&in.thumbnail, &back.thumbnail);
		}
	{
		/* the largest values, LF/TAB/CR inside, non-ASCII */
		struct rcs_fthttp in = sample(1, 0), back;
		char buf[16384];

		in.file.size = UINT64_MAX;
		memset(in.file.url, 'u', sizeof(in.file.url) - 1);
		in.file.url[sizeof(in.file.url) - 1] = '\0';
		in.file.url[10] = '\n';
		in.file.url[11] = '\t';
		in.file.url[12] = '\r';
		in.file.url[13] = '&';
		strcpy(in.file.name, "r\xc3\xa9sum\xc3\xa9\n\xe2\x82\xac.txt");
		strcpy(in.file.disposition, "attachment");
		cr_assert_gt(rcs_fthttp_write(buf, sizeof(buf), &in), 0);
		cr_assert_eq(parse(buf, &back), 0);
		assert_info_same(&in.file, &back.file);
		assert_info_same(&in.thumbnail, &back.thumbnail);
	}
}

Test(rcs_fthttp, enospc_below_need)
{
	for (int thumb = 0; thumb < 2; thumb++) {
		struct rcs_fthttp in = sample(thumb, 30);
		char full[4096];
		long n = rcs_fthttp_write(NULL, 0, &in);

		cr_assert_gt(n, 0);
		cr_assert_eq(rcs_fthttp_write(full, sizeof(full), &in), n);
		for (size_t cap = 0; cap <= (size_t)n; cap++) {
			char *b = malloc(cap ? cap : 1);

			cr_assert_eq(rcs_fthttp_write(b, cap, &in), -ENOSPC, "cap %zu", cap);
			if (cap)
				cr_assert_eq(b[0], '\0');
			free(b);
		}
		{
			char *b = malloc((size_t)n + 1);

			cr_assert_eq(rcs_fthttp_write(b, (size_t)n + 1, &in), n);
			cr_assert_str_eq(b, full);
			free(b);
		}
	}
}

Test(rcs_fthttp, write_refusals)
{
	struct rcs_fthttp in;
	char buf[4096];

	in = sample(1, 0);
	in.file.present = 0;
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "no file");
	cr_assert_str_eq(buf, "");
	in = sample(1, 0);
	in.file.url[0] = '\0';
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "no url");
	in = sample(1, 0);
	in.thumbnail.url[0] = '\0';
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "thumbnail without url");
	in = sample(1, 0);
	strcpy(in.file.disposition, "inline");
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "disposition");
	in = sample(1, 0);
	memset(in.file.disposition, 'r', sizeof(in.file.disposition));
	cr_assert_eq(rcs_fthttp_write(NULL, 0, &in), -EINVAL, "disposition without NUL");
	in = sample(1, 0);
	strcpy(in.thumbnail.name, "t.jpg");
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "thumbnail name");
	in = sample(1, 0);
	strcpy(in.thumbnail.disposition, "render");
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "thumbnail disposition");
	in = sample(1, 0);
	in.thumbnail.playing_length = 3;
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "thumbnail playing");
	in = sample(1, 0);
	strcpy(in.file.name, "a\bb");
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "backspace");
	in = sample(1, 0);
	strcpy(in.file.content_type, "image/\xef\xbf\xbf");
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "U+FFFF");
	in = sample(1, 0);
	memset(in.file.url, 'u', sizeof(in.file.url));
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), &in), -EINVAL, "url without NUL");
	cr_assert_eq(rcs_fthttp_write(buf, sizeof(buf), NULL), -EINVAL);
	/* a thumbnail that is not present is not looked at */
	in = sample(0, 0);
	strcpy(in.thumbnail.name, "ignored");
	cr_assert_gt(rcs_fthttp_write(buf, sizeof(buf), &in), 0);
}
