/* test_rcs_filesel.c — a=file-selector and a=file-range values (rcs/rcs_filesel.c).
 *
 * The offer and answer of RFC 5547 §9.1 (Alice sends "My cool picture.jpg" to Bob: the
 * RFC's file-transfer attributes, in descriptions otherwise trimmed) are parsed whole by
 * sdp_parse() and their file-selector and file-range values read here;
 * so is a pull request that selects a file by type and hash, and an answer resuming with
 * a later range. Then selectors in every order and subset, %-escapes, parameters of the
 * type, values clients send (a trailing blank, lower-case hex), the refusals, the writer
 * (known text, escapes, round trips, -ENOSPC at every capacity). Every parsed input is a
 * copy that ends at a PROT_NONE page (tests/lib/guard.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rcs/rcs_filesel.h"
#include "sip/sdp.h"
#include "tests/lib/guard.h"

#define SL(s) ((cm_slice){ (s), strlen(s) })

#define PIC_HASH "72:24:5F:E8:65:3D:DA:F3:71:36:2F:86:D4:71:91:3E:E4:A2:CE:2E"
#define PIC_SEL  "name:\"My cool picture.jpg\" type:image/jpeg size:32349 hash:sha-1:" PIC_HASH

static const unsigned char pic_hash[20] = { 0x72, 0x24, 0x5F, 0xE8, 0x65, 0x3D, 0xDA,
					    0xF3, 0x71, 0x36, 0x2F, 0x86, 0xD4, 0x71,
					    0x91, 0x3E, 0xE4, 0xA2, 0xCE, 0x2E };

/* After RFC 5547 §9.1: the offer (Alice, sendonly) and the answer (Bob, recvonly). */
static const char rfc_offer[] =
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n"
	"s= \r\n"
	"c=IN IP4 host.atlanta.example.com\r\n"
	"t=0 0\r\n"
	"m=message 7654 TCP/MSRP *\r\n"
	"i=This is my latest picture\r\n"
	"a=sendonly\r\n"
	"a=accept-types:message/cpim\r\n"
	"a=accept-wrapped-types:*\r\n"
	"a=path:msrp://atlanta.example.com:7654/jshA7we;tcp\r\n"
	"a=file-selector:" PIC_SEL "\r\n"
	"a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd\r\n"
	"a=file-disposition:attachment\r\n"
	"a=file-date:creation:\"Mon, 15 May 2006 15:01:31 +0300\"\r\n"
	"a=file-icon:cid:id2@alicepc.example.com\r\n"
	"a=file-range:1-32349\r\n";

static const char rfc_answer[] =
	"v=0\r\n"
	"o=bob 2890844656 2890844656 IN IP4 host.biloxi.example.com\r\n"
	"s= \r\n"
	"c=IN IP4 host.biloxi.example.com\r\n"
	"t=0 0\r\n"
	"m=message 8888 TCP/MSRP *\r\n"
	"a=recvonly\r\n"
	"a=accept-types:message/cpim\r\n"
	"a=accept-wrapped-types:*\r\n"
	"a=path:msrp://biloxi.example.com:8888/aCQYuBRVoUPGVsFZkCK98vzcX2FXDIk2;tcp\r\n"
	"a=file-selector:" PIC_SEL "\r\n"
	"a=file-transfer-id:vBnG916bdberum2fFEABR1FR3ExZMUrd\r\n"
	"a=file-disposition:attachment\r\n"
	"a=file-range:1-32349\r\n";

/* rcs_filesel_parse() of a guarded copy of <s>. The slices of *<f> point into that copy,
 * which stays mapped (tests only). */
static int parse(const char *s, struct rcs_filesel *f)
{
	size_t n = strlen(s);

	return rcs_filesel_parse(guard_copy(s, n), n, f);
}

static int range(const char *s, uint64_t *a, uint64_t *b)
{
	size_t n = strlen(s);
	const char *g = guard_copy(s, n);
	int r = rcs_filerange_parse(g, n, a, b);

	guard_release(g);
	return r;
}

static void slice_is(cm_slice s, const char *want)
{
	cr_assert(s.len == strlen(want) && (s.len == 0 || memcmp(s.p, want, s.len) == 0),
		  "got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

/* The decoded name of *<f>. */
static const char *name_of(const struct rcs_filesel *f)
{
	static char buf[512];
	long n = rcs_filesel_name_decode(f->name, buf, sizeof(buf));

	cr_assert(n >= 0 && (size_t)n == strlen(buf), "%ld", n);
	return buf;
}

static void is_picture(const struct rcs_filesel *f)
{
	cr_assert_str_eq(name_of(f), "My cool picture.jpg");
	slice_is(f->type, "image/jpeg");
	cr_assert(f->has_size && f->size == 32349);
	cr_assert_str_eq(f->hash_alg, "sha-1");
	cr_assert_eq(f->hash_len, 20);
	cr_assert_arr_eq(f->hash, pic_hash, 20);
}

/* The value of a=<name> in the m= line of the SDP <text>. */
static cm_slice attr_of(const char *text, const char *name)
{
	static struct sdp s;
	const struct sdp_attr *a;

	cr_assert_eq(sdp_parse(SL(text), NULL, &s, NULL), 0, "%s", sdp_strerror(s.err.code));
	a = sdp_attr_get(&s, 0, name);
	cr_assert(a && a->has_value, "a=%s", name);
	return a->value;
}

/* ---- RFC 5547 examples --------------------------------------------------------------- */

Test(rcs_filesel, rfc5547_offer_and_answer)
{
	static const char *const sdps[] = { rfc_offer, rfc_answer };

	for (int k = 0; k < 2; k++) {
		cm_slice v = attr_of(sdps[k], "file-selector");
		const char *g = guard_copy(v.p, v.len);
		struct rcs_filesel f;
		uint64_t a, b;

		cr_assert_eq(rcs_filesel_parse(g, v.len, &f), 0);
		is_picture(&f);
		cr_assert(f.name.p >= g && f.name.p + f.name.len <= g + v.len);
		guard_release(g);
		v = attr_of(sdps[k], "file-range");
		g = guard_copy(v.p, v.len);
		cr_assert_eq(rcs_filerange_parse(g, v.len, &a, &b), 0);
		cr_assert(a == 1 && b == 32349);
		guard_release(g);
	}
}

/* The writer gives the RFC's selector text back from the decoded fields. */
Test(rcs_filesel, rfc5547_selector_written)
{
	char buf[256];
	long n = rcs_filesel_write(buf, sizeof(buf), "My cool picture.jpg", SL("image/jpeg"),
				   32349, 1, "sha-1", pic_hash, 20);

	cr_assert_eq(n, (long)strlen(PIC_SEL));
	cr_assert_str_eq(buf, PIC_SEL);
	cr_assert_eq(rcs_filesel_write(NULL, 0, "My cool picture.jpg", SL("image/jpeg"), 32349, 1,
				       "sha-1", pic_hash, 20), n);
	cr_assert_eq(rcs_filerange_write(buf, sizeof(buf), 1, 32349), 7);
	cr_assert_str_eq(buf, "1-32349");
}

/* A pull: the offerer selects the file by type and hash only; the answerer's selector
 * names it; a later answer resumes from byte 10001. */
Test(rcs_filesel, pull_and_resume)
{
	struct rcs_filesel f;
	uint64_t a, b;

	cr_assert_eq(parse("type:image/jpeg hash:sha-1:" PIC_HASH, &f), 0);
	cr_assert_null(f.name.p);
	slice_is(f.type, "image/jpeg");
	cr_assert(!f.has_size && f.hash_len == 20);
	cr_assert_arr_eq(f.hash, pic_hash, 20);
	cr_assert_eq(parse(PIC_SEL, &f), 0);
	is_picture(&f);
	cr_assert_eq(range("10001-32349", &a, &b), 0);
	cr_assert(a == 10001 && b == 32349);
	cr_assert_eq(range("10001-*", &a, &b), 0);
	cr_assert(a == 10001 && b == 0);
}

/* ---- reading ------------------------------------------------------------------------- */

Test(rcs_filesel, any_order_any_subset)
{
	static const char *const orders[] = {
		"hash:sha-1:" PIC_HASH " size:32349 type:image/jpeg name:\"My cool picture.jpg\"",
		"size:32349 name:\"My cool picture.jpg\" hash:sha-1:" PIC_HASH " type:image/jpeg",
		"  " PIC_SEL "  ",
		("NAME:\"My cool picture.jpg\"\ttype:image/jpeg  Size:32349 HASH:sha-1:" PIC_HASH),
	};
	struct rcs_filesel f;

	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		cr_assert_eq(parse(orders[i], &f), 0, "%s", orders[i]);
		is_picture(&f);
	}
	cr_assert_eq(parse("size:0", &f), 0);
	cr_assert(f.has_size && f.size == 0 && !f.name.p && !f.type.len && !f.hash_len);
	cr_assert_eq(parse("size:18446744073709551615", &f), 0);
	cr_assert_eq(f.size, UINT64_MAX);
	cr_assert_eq(parse("name:\"a\"", &f), 0);
	cr_assert(!f.has_size && f.hash_alg[0] == '\0' && f.type.p == NULL);
	cr_assert_str_eq(name_of(&f), "a");
	cr_assert_eq(parse("", &f), 0);    /* a bare a=file-selector */
	cr_assert(!f.name.p && !f.type.len && !f.has_size && !f.hash_len);
	cr_assert_eq(parse("   ", &f), 0);
	cr_assert_eq(rcs_filesel_parse(NULL, 0, &f), 0);
}

Test(rcs_filesel, names_with_escapes)
{
	struct rcs_filesel f;

	cr_assert_eq(parse("name:\"My %22quoted%22 file%25 100%2a.txt\"", &f), 0);
	slice_is(f.name, "My %22quoted%22 file%25 100%2a.txt");
	cr_assert_str_eq(name_of(&f), "My \"quoted\" file% 100*.txt");
	/* UTF-8 and other bytes stay as they are; CR LF escaped */
	cr_assert_eq(parse("name:\"Caf\xc3\xa9 \t<b>;a,b:c%0D%0A.jpg\" size:3", &f), 0);
	cr_assert_str_eq(name_of(&f), "Caf\xc3\xa9 \t<b>;a,b:c\r\n.jpg");
	cr_assert_eq(f.size, 3);
}

Test(rcs_filesel, types_with_parameters)
{
	struct rcs_filesel f;

	cr_assert_eq(parse("type:text/plain;charset=\"UTF-8\" size:10", &f), 0);
	slice_is(f.type, "text/plain;charset=\"UTF-8\"");
	cr_assert_eq(parse("type:text/plain;charset=utf-8;format=flowed name:\"n\"", &f), 0);
	slice_is(f.type, "text/plain;charset=utf-8;format=flowed");
	cr_assert_eq(parse("type:application/vnd.gsma.rcs-ft-http+xml", &f), 0);
	slice_is(f.type, "application/vnd.gsma.rcs-ft-http+xml");
	/* a quoted value may hold blanks and escapes */
	cr_assert_eq(parse("type:image/png;title=\"a b%22c\" size:5", &f), 0);
	slice_is(f.type, "image/png;title=\"a b%22c\"");
	cr_assert_eq(f.size, 5);
}

/* Selectors as clients put them in their offers. */
Test(rcs_filesel, client_values)
{
	static const unsigned char pcap[20] = { 0x8D, 0x55, 0x24, 0x2B, 0xF4, 0xF9, 0x9B,
						0xA2, 0x54, 0xA3, 0x5B, 0x91, 0x00, 0x15,
						0x9E, 0xA3, 0xD4, 0x48, 0xD7, 0xDF };
	static const unsigned char s256[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
		0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
		0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55 };
	struct rcs_filesel f;

	cr_assert_eq(parse("name:\"test.pcap\" type:application/octet-stream size:11376 "
			   "hash:sha-1:8D:55:24:2B:F4:F9:9B:A2:54:A3:5B:91:00:15:9E:A3:D4:48:D7:DF",
			   &f), 0);
	cr_assert_str_eq(name_of(&f), "test.pcap");
	slice_is(f.type, "application/octet-stream");
	cr_assert_eq(f.size, 11376);
	cr_assert_arr_eq(f.hash, pcap, 20);
	/* a trailing blank after the size */
	cr_assert_eq(parse("name:\"phototmp_3_1_1_1.jpg\" type:image/jpeg size:195490 ", &f), 0);
	cr_assert_eq(f.size, 195490);
	/* sha-256 in lower-case hex */
	cr_assert_eq(parse("hash:sha-256:e3:b0:c4:42:98:fc:1c:14:9a:fb:f4:c8:99:6f:b9:24:27:ae:41:"
			   "e4:64:9b:93:4c:a4:95:99:1b:78:52:b8:55", &f), 0);
	cr_assert_str_eq(f.hash_alg, "sha-256");
	cr_assert_eq(f.hash_len, 32);
	cr_assert_arr_eq(f.hash, s256, 32);
}

Test(rcs_filesel, malformed)
{
	static const char *const bad[] = {
		"name:My.jpg",                       /* no quotes */
		"name:\"My.jpg",                     /* not closed */
		"name:\"\"",                         /* empty */
		"name:\"a%2\"",                      /* cut escape */
		"name:\"a%2G\"",
		"name:\"a%00b\"",                    /* a NUL */
		"name:\"a\rb\"",
		"name:\"a\nb\"",
		"name:\"a\"b",                       /* junk after the quote */
		"name:\"a\" name:\"b\"",             /* twice */
		"size:1 size:1",
		"type:a/b type:a/b",
		"hash:sha-1:00 hash:sha-1:00",
		"size:",
		"size:12a",
		"size:-1",
		"size:18446744073709551616",         /* 2^64 */
		"size:99999999999999999999",
		"type:image",
		"type:image/",
		"type:/jpeg",
		"type:image/jpeg;",
		"type:image/jpeg;charset",
		"type:image/jpeg;charset=",
		"type:image/jpeg;a=\"\"",
		"type:image/jpeg;a=\"x",
		"type:image/jpeg;a=\"%zz\"",
		"type:ima(ge/jpeg",
		"hash:sha-1",
		"hash:sha-1:",
		"hash:sha-1:7",
		"hash:sha-1:72:",
		"hash:sha-1:72:2",
		"hash:sha-1:7G",
		"hash:sha-1:72-24",
		"hash::72",
		"hash:sha/1:72",
		"foo:bar",                           /* unknown selector */
		"name",
		":\"a\"",
		"name :\"a\"",
	};
	struct rcs_filesel f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&f, 0x5a, sizeof(f));
		cr_assert_eq(parse(bad[i], &f), -EINVAL, "%s", bad[i]);
		cr_assert(!f.name.p && !f.type.p && !f.has_size && !f.hash_len && !f.hash_alg[0],
			  "%s: not emptied", bad[i]);
	}
}

Test(rcs_filesel, too_big)
{
	char v[512];
	struct rcs_filesel f;
	size_t n = (size_t)snprintf(v, sizeof(v), "hash:sha-1");

	for (int i = 0; i < RCS_FILESEL_HASH_MAX; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, ":%02X", i);
	cr_assert_eq(parse(v, &f), 0);                      /* 64 bytes */
	cr_assert_eq(f.hash_len, RCS_FILESEL_HASH_MAX);
	cr_assert_eq(f.hash[63], 63);
	snprintf(v + n, sizeof(v) - n, ":FF");
	cr_assert_eq(parse(v, &f), -E2BIG);                 /* 65 */
	cr_assert_eq(f.hash_len, 0);
	cr_assert_eq(parse("hash:sha-123456789AB:00", &f), 0);   /* 15 */
	cr_assert_str_eq(f.hash_alg, "sha-123456789AB");
	cr_assert_eq(parse("hash:sha-123456789ABC:00", &f), -E2BIG);
}

/* Every prefix of a selector against the guard page: 0, -EINVAL or -E2BIG, slices inside. */
Test(rcs_filesel, every_prefix_guarded)
{
	static const char v[] = "name:\"My %22cool%22 picture.jpg\" type:text/plain;charset=\"utf-8\" "
				"size:32349 hash:sha-1:" PIC_HASH;

	for (size_t n = 0; n < sizeof(v); n++) {
		const char *g = guard_copy(v, n);
		struct rcs_filesel f;
		int r = rcs_filesel_parse(g, n, &f);

		cr_assert(r == 0 || r == -EINVAL, "prefix %zu: %d", n, r);
		if (f.name.p)
			cr_assert(f.name.p >= g && f.name.p + f.name.len <= g + n);
		if (f.type.p)
			cr_assert(f.type.p >= g && f.type.p + f.type.len <= g + n);
		guard_release(g);
	}
}

/* ---- names --------------------------------------------------------------------------- */

Test(rcs_filesel, name_decode)
{
	char out[32];

	cr_assert_eq(rcs_filesel_name_decode(SL("a%41%62c"), out, sizeof(out)), 4);
	cr_assert_str_eq(out, "aAbc");
	cr_assert_eq(rcs_filesel_name_decode(SL("a%41%62c"), NULL, 0), 4);
	cr_assert_eq(rcs_filesel_name_decode(CM_SLICE_NULL, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	for (size_t cap = 0; cap <= 4; cap++) {
		memset(out, 'x', sizeof(out));
		cr_assert_eq(rcs_filesel_name_decode(SL("a%41%62c"), out, cap), -ENOSPC);
		cr_assert(cap == 0 ? out[0] == 'x' : out[0] == '\0');
		cr_assert_eq(out[cap], 'x');
	}
	cr_assert_eq(rcs_filesel_name_decode(SL("a%41%62c"), out, 5), 4);
	cr_assert_eq(rcs_filesel_name_decode(SL("a%4"), out, sizeof(out)), -EINVAL);
	cr_assert_eq(rcs_filesel_name_decode(SL("a%4x"), out, sizeof(out)), -EINVAL);
	cr_assert_eq(rcs_filesel_name_decode(SL("a%00"), out, sizeof(out)), -EINVAL);
	cr_assert_eq(rcs_filesel_name_decode(SL("a\"b"), out, sizeof(out)), -EINVAL);
	cr_assert_eq(rcs_filesel_name_decode(SL("a\rb"), out, sizeof(out)), -EINVAL);
	cr_assert_eq(rcs_filesel_name_decode((cm_slice){ "a\0b", 3 }, out, sizeof(out)), -EINVAL);
}

/* ---- writing ------------------------------------------------------------------------- */

Test(rcs_filesel, write_escapes_and_round_trip)
{
	static const char *const names[] = {
		"100% \"real\".txt", "a\r\nb", "Caf\xc3\xa9 (1);2,3 <x>.jpg", "%", "\"", "%25",
	};
	char buf[256];
	struct rcs_filesel f;

	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), names[0], CM_SLICE_NULL, 0, 0, NULL,
				       NULL, 0), (long)strlen("name:\"100%25 %22real%22.txt\""));
	cr_assert_str_eq(buf, "name:\"100%25 %22real%22.txt\"");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		long n = rcs_filesel_write(buf, sizeof(buf), names[i],
					   SL("text/plain;charset=\"UTF-8\""), i, 1, "sha-256",
					   pic_hash, (unsigned)i + 1);

		cr_assert(n > 0, "%s", names[i]);
		cr_assert_eq(parse(buf, &f), 0, "%s", buf);
		cr_assert_str_eq(name_of(&f), names[i]);
		slice_is(f.type, "text/plain;charset=\"UTF-8\"");
		cr_assert(f.has_size && f.size == i);
		cr_assert_str_eq(f.hash_alg, "sha-256");
		cr_assert_eq(f.hash_len, i + 1);
		cr_assert_arr_eq(f.hash, pic_hash, i + 1);
	}
}

Test(rcs_filesel, write_subsets)
{
	char buf[256];

	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0, NULL, NULL, 0),
		     0);
	cr_assert_str_eq(buf, "");
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), "", CM_SLICE_NULL, 0, 0, "sha-1",
				       pic_hash, 0), 0);
	rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 1, NULL, NULL, 0);
	cr_assert_str_eq(buf, "size:0");
	rcs_filesel_write(buf, sizeof(buf), NULL, SL("image/jpeg"), 0, 0, "sha-1", pic_hash, 2);
	cr_assert_str_eq(buf, "type:image/jpeg hash:sha-1:72:24");
	rcs_filesel_write(buf, sizeof(buf), "x", CM_SLICE_NULL, UINT64_MAX, 1, NULL, NULL, 0);
	cr_assert_str_eq(buf, "name:\"x\" size:18446744073709551615");
}

Test(rcs_filesel, write_enospc_every_cap)
{
	char buf[256];

	for (size_t cap = 0; cap <= strlen(PIC_SEL); cap++) {
		memset(buf, 'x', sizeof(buf));
		cr_assert_eq(rcs_filesel_write(buf, cap, "My cool picture.jpg", SL("image/jpeg"),
					       32349, 1, "sha-1", pic_hash, 20), -ENOSPC, "%zu", cap);
		cr_assert(cap == 0 ? buf[0] == 'x' : buf[0] == '\0');
		cr_assert_eq(buf[cap], 'x', "wrote past %zu", cap);
	}
}

Test(rcs_filesel, write_refusals)
{
	static const char *const types[] = { "image", "image/", "image/jpeg;", "image/jpeg ",
					     " image/jpeg", "image/jpeg;a=\"\"", "a/b;c=\"d" };
	unsigned char big[RCS_FILESEL_HASH_MAX + 1] = { 0 };
	char buf[512];

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), "a", SL(types[i]), 0, 0, NULL,
					       NULL, 0), -EINVAL, "%s", types[i]);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), "a", (cm_slice){ NULL, 3 }, 0, 0, NULL,
				       NULL, 0), -EINVAL);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0, "sha-1", big,
				       RCS_FILESEL_HASH_MAX + 1), -EINVAL);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0, "sha-1", big,
				       RCS_FILESEL_HASH_MAX), 5 + 5 + 3 * RCS_FILESEL_HASH_MAX);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0, "sha-1", NULL,
				       1), -EINVAL);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0, NULL, big, 1),
		     -EINVAL);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0, "", big, 1),
		     -EINVAL);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0, "sha:1", big,
				       1), -EINVAL);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0,
				       "sha-123456789ABC", big, 1), -EINVAL);
	cr_assert_eq(rcs_filesel_write(buf, sizeof(buf), NULL, CM_SLICE_NULL, 0, 0,
				       "sha-123456789AB", big, 1), 5 + 15 + 3);
}

/* ---- file-range ---------------------------------------------------------------------- */

Test(rcs_filesel, range_values)
{
	uint64_t a = 7, b = 7;

	cr_assert_eq(range("1-*", &a, &b), 0);
	cr_assert(a == 1 && b == 0);
	cr_assert_eq(range("5-5", &a, &b), 0);
	cr_assert(a == 5 && b == 5);
	cr_assert_eq(range(" 10-20\t", &a, &b), 0);
	cr_assert(a == 10 && b == 20);
	cr_assert_eq(range("18446744073709551615-18446744073709551615", &a, &b), 0);
	cr_assert(a == UINT64_MAX && b == UINT64_MAX);
	cr_assert_eq(rcs_filerange_parse(NULL, 0, &a, &b), -EINVAL);
}

Test(rcs_filesel, range_malformed)
{
	static const char *const bad[] = {
		"", "0-5", "5-4", "1-0", "-5", "1-", "1", "1--2", "a-b", "1-2x", "1 -2", "1- 2",
		"1-**", "*-5", "+1-2", "1-+2", "18446744073709551616-*", "1-18446744073709551616",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t a = 7, b = 7;

		cr_assert_eq(range(bad[i], &a, &b), -EINVAL, "%s", bad[i]);
		cr_assert(a == 7 && b == 7, "%s: touched", bad[i]);
	}
}

Test(rcs_filesel, range_write)
{
	char buf[64];
	uint64_t a, b;

	cr_assert_eq(rcs_filerange_write(buf, sizeof(buf), 1, 0), 3);
	cr_assert_str_eq(buf, "1-*");
	cr_assert_eq(rcs_filerange_write(buf, sizeof(buf), UINT64_MAX, UINT64_MAX), 41);
	cr_assert_eq(range(buf, &a, &b), 0);
	cr_assert(a == UINT64_MAX && b == UINT64_MAX);
	cr_assert_eq(rcs_filerange_write(NULL, 0, 10001, 32349), 11);
	for (size_t cap = 0; cap <= 11; cap++) {
		memset(buf, 'x', sizeof(buf));
		cr_assert_eq(rcs_filerange_write(buf, cap, 10001, 32349), -ENOSPC);
		cr_assert(cap == 0 ? buf[0] == 'x' : buf[0] == '\0');
		cr_assert_eq(buf[cap], 'x');
	}
	cr_assert_eq(rcs_filerange_write(buf, 12, 10001, 32349), 11);
	cr_assert_str_eq(buf, "10001-32349");
	cr_assert_eq(rcs_filerange_write(buf, sizeof(buf), 0, 0), -EINVAL);
	cr_assert_eq(rcs_filerange_write(buf, sizeof(buf), 0, 5), -EINVAL);
	cr_assert_eq(rcs_filerange_write(buf, sizeof(buf), 6, 5), -EINVAL);
}
