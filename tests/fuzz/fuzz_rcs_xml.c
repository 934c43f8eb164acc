/* fuzz_rcs_xml.c — libFuzzer target of the XML bodies of the RCS layer (rcs/rcs_xml.c,
 * rcs_imdn.c, rcs_composing.c, rcs_fthttp.c). The first input byte picks the body (its
 * value mod 3: 0 message/imdn+xml, 1 application/im-iscomposing+xml, 2
 * application/vnd.gsma.rcs-ft-http+xml); the rest is the document.
 *
 * Properties:
 *   - the parser answers 0, -EINVAL or -E2BIG, and leaves the structure all zero unless 0;
 *   - a parsed structure has its strings NUL-terminated within their arrays (and, for an
 *     IMDN, a status its kind takes);
 *   - it writes back: the length from a NULL buffer equals the length written into an
 *     exact heap buffer of length + 1 (ASan sees a write past it), NUL-terminated; one
 *     byte less gives -ENOSPC and "";
 *   - what was written parses again to equal fields, and writes again to the same bytes;
 *   - for IMDN inputs, the document bytes read as a Disposition-Notification value give
 *     flags that write and read back to themselves;
 *   - rcs_xml_escape() of the document bytes is -EINVAL exactly when rcs_xml_valid()
 *     refuses them, else escaped text with no raw & < > " '. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rcs/rcs_composing.h"
#include "rcs/rcs_fthttp.h"
#include "rcs/rcs_imdn.h"
#include "rcs/rcs_xml.h"
#include "tests/fuzz/fuzz_check.h"

enum kind { K_IMDN, K_COMPOSING, K_FTHTTP };

union body {
	struct rcs_imdn imdn;
	struct rcs_composing composing;
	struct rcs_fthttp ft;
};

static int all_zero(const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++)
		if (u[i])
			return 0;
	return 1;
}

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static int parse(enum kind k, const char *p, size_t n, union body *b)
{
	switch (k) {
	case K_IMDN:
		return rcs_imdn_parse(p, n, &b->imdn);
	case K_COMPOSING:
		return rcs_composing_parse(p, n, &b->composing);
	default:
		return rcs_fthttp_parse(p, n, &b->ft);
	}
}

static long write_body(enum kind k, char *buf, size_t cap, const union body *b)
{
	switch (k) {
	case K_IMDN:
		return rcs_imdn_write(buf, cap, &b->imdn);
	case K_COMPOSING:
		return rcs_composing_write(buf, cap, &b->composing);
	default:
		return rcs_fthttp_write(buf, cap, &b->ft);
	}
}

static void check_info(const struct rcs_ft_info *fi)
{
	CHECK(TERMINATED(fi->name) && TERMINATED(fi->content_type) && TERMINATED(fi->url) &&
	      TERMINATED(fi->until) && TERMINATED(fi->disposition));
	if (!fi->present) {
		CHECK(all_zero(fi, sizeof(*fi)));
		return;
	}
	CHECK(fi->present == 1 && fi->url[0]);
	CHECK(!fi->disposition[0] || strcmp(fi->disposition, "render") == 0 ||
	      strcmp(fi->disposition, "attachment") == 0);
}

/* What a successful parse must hold. */
static void check_parsed(enum kind k, const union body *b)
{
	switch (k) {
	case K_IMDN:
		CHECK(TERMINATED(b->imdn.message_id) && TERMINATED(b->imdn.datetime) &&
		      TERMINATED(b->imdn.recipient_uri) &&
		      TERMINATED(b->imdn.original_recipient_uri));
		CHECK(b->imdn.message_id[0] && b->imdn.datetime[0]);
		CHECK(rcs_imdn_status_allowed(b->imdn.kind, b->imdn.status));
		break;
	case K_COMPOSING:
		CHECK(TERMINATED(b->composing.lastactive) && TERMINATED(b->composing.contenttype));
		CHECK(b->composing.active == 0 || b->composing.active == 1);
		break;
	default:
		check_info(&b->ft.file);
		check_info(&b->ft.thumbnail);
		CHECK(b->ft.file.present);
		CHECK(!b->ft.thumbnail.name[0] && !b->ft.thumbnail.disposition[0] &&
		      !b->ft.thumbnail.playing_length);
		break;
	}
}

static int info_eq(const struct rcs_ft_info *a, const struct rcs_ft_info *b)
{
	return a->present == b->present && a->size == b->size && a->playing_length ==
	       b->playing_length && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->content_type, b->content_type) == 0 && strcmp(a->url, b->url) == 0 &&
	       strcmp(a->until, b->until) == 0 && strcmp(a->disposition, b->disposition) == 0;
}

static int body_eq(enum kind k, const union body *a, const union body *b)
{
	switch (k) {
	case K_IMDN:
		return strcmp(a->imdn.message_id, b->imdn.message_id) == 0 &&
		       strcmp(a->imdn.datetime, b->imdn.datetime) == 0 &&
		       strcmp(a->imdn.recipient_uri, b->imdn.recipient_uri) == 0 &&
		       strcmp(a->imdn.original_recipient_uri, b->imdn.original_recipient_uri) == 0 &&
		       a->imdn.kind == b->imdn.kind && a->imdn.status == b->imdn.status;
	case K_COMPOSING:
		return a->composing.active == b->composing.active &&
		       a->composing.refresh == b->composing.refresh &&
		       strcmp(a->composing.lastactive, b->composing.lastactive) == 0 &&
		       strcmp(a->composing.contenttype, b->composing.contenttype) == 0;
	default:
		return info_eq(&a->ft.file, &b->ft.file) &&
		       info_eq(&a->ft.thumbnail, &b->ft.thumbnail);
	}
}

/* The body <b> written into an exact heap buffer: its length, the text in a fresh malloc'd
 * *<out> (free it). */
static long write_exact(enum kind k, const union body *b, char **out)
{
	long n = write_body(k, NULL, 0, b);
	char *buf;

	CHECK(n > 0);
	buf = malloc((size_t)n + 1);
	CHECK(buf);
	CHECK(write_body(k, buf, (size_t)n + 1, b) == n);
	CHECK(buf[n] == '\0' && strlen(buf) == (size_t)n);
	{
		char *small = malloc((size_t)n);

		CHECK(small);
		CHECK(write_body(k, small, (size_t)n, b) == -ENOSPC && small[0] == '\0');
		free(small);
	}
	*out = buf;
	return n;
}

static void check_dn(const char *p, size_t n)
{
	unsigned f = rcs_imdn_dn_parse(p, n);
	char buf[128];
	long w;

	CHECK((f & ~0xfu) == 0);
	if (!f)
		return;
	w = rcs_imdn_dn_write(buf, sizeof(buf), f);
	CHECK(w > 0 && (size_t)w == strlen(buf));
	CHECK(rcs_imdn_dn_parse(buf, (size_t)w) == f);
}

static void check_escape(const char *p, size_t n)
{
	long need = rcs_xml_escape(NULL, 0, p, n);
	char *buf;

	if (!rcs_xml_valid(p, n)) {
		CHECK(need == -EINVAL);
		return;
	}
	CHECK(need >= (long)n);
	buf = malloc((size_t)need + 1);
	CHECK(buf);
	CHECK(rcs_xml_escape(buf, (size_t)need + 1, p, n) == need);
	CHECK(strpbrk(buf, "<>\"'") == NULL);
	for (const char *a = strchr(buf, '&'); a; a = strchr(a + 1, '&'))
		CHECK(strncmp(a, "&amp;", 5) == 0 || strncmp(a, "&lt;", 4) == 0 ||
		      strncmp(a, "&gt;", 4) == 0 || strncmp(a, "&quot;", 6) == 0 ||
		      strncmp(a, "&apos;", 6) == 0 || strncmp(a, "&#9;", 4) == 0 ||
		      strncmp(a, "&#10;", 5) == 0 || strncmp(a, "&#13;", 5) == 0);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union body b1, b2;
	enum kind k;
	const char *doc;
	size_t n;
	char *w1, *w2;
	long n1, n2;
	int rc;

	if (size == 0)
		return 0;
	k = (enum kind)(data[0] % 3);
	doc = (const char *)data + 1;
	n = size - 1;

	memset(&b1, 0xa5, sizeof(b1));
	rc = parse(k, doc, n, &b1);
	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG);
	if (k == K_IMDN)
		check_dn(doc, n);
	if (n <= 4096)
		check_escape(doc, n);
	if (rc != 0) {
		size_t sz = k == K_IMDN ? sizeof(b1.imdn) : k == K_COMPOSING ?
			    sizeof(b1.composing) : sizeof(b1.ft);

		CHECK(all_zero(&b1, sz));
		return 0;
	}
	check_parsed(k, &b1);
	n1 = write_exact(k, &b1, &w1);
	memset(&b2, 0x5a, sizeof(b2));
	CHECK(parse(k, w1, (size_t)n1, &b2) == 0);
	CHECK(body_eq(k, &b1, &b2));
	n2 = write_exact(k, &b2, &w2);
	CHECK(n2 == n1 && memcmp(w1, w2, (size_t)n1) == 0);
	free(w1);
	free(w2);
	return 0;
}
