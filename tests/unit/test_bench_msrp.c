/* test_bench_msrp.c — the load generator's own MSRP pieces (bench/lib/bench_msrp.c): frames
 * split at every byte position give the same frames as whole; the Digest answer to an AUTH
 * challenge matches one computed independently (Python hashlib, RFC 2617 with qop=auth and
 * without qop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "bench/lib/bench_msrp.c"

static const char two_frames[] =
	"MSRP a786hjs2 SEND\r\n"
	"To-Path: msrp://relay.example.com:2855/abc;tcp msrp://bob.example.com:8888/9di4ea;tcp\r\n"
	"From-Path: msrp://alice.example.com:7777/iau39;tcp\r\n"
	"Message-ID: 87652\r\n"
	"Byte-Range: 1-25/25\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Hey Bob, are you there?\r\n"
	"\r\n-------a786hjs2$\r\n"
	"MSRP a786hjs2 200 OK\r\n"
	"To-Path: msrp://alice.example.com:7777/iau39;tcp\r\n"
	"From-Path: msrp://relay.example.com:2855/abc;tcp\r\n"
	"-------a786hjs2$\r\n";

/* Feeds <len> bytes as the generator does: whole frames in place, an unfinished tail kept
 * and completed by the next piece (<cut> bytes first, then the rest). Returns frames seen;
 * checks each against the expected two. */
static int feed(size_t cut)
{
	char buf[sizeof(two_frames)];
	size_t have = 0, len = sizeof(two_frames) - 1, off = 0;
	uint32_t hint = 0;
	int frames = 0;
	size_t pieces[2] = { cut, len - cut };

	for (int k = 0; k < 2; k++) {
		memcpy(buf + have, two_frames + off, pieces[k]);
		have += pieces[k];
		off += pieces[k];
		for (;;) {
			struct bm_frame f;
			int n = bm_frame_split(buf, have, &f, &hint);
			cr_assert(n >= 0, "cut %zu: malformed", cut);
			if (n == 0)
				break;
			cr_assert_eq(f.tid_len, 8);
			cr_assert(memcmp(f.tid, "a786hjs2", 8) == 0);
			cr_assert_eq(f.flag, '$');
			if (frames == 0) {
				cr_assert_eq(f.code, 0);
				cr_assert(f.method_len == 4 && memcmp(f.method, "SEND", 4) == 0);
				cr_assert_eq(f.body_len, 25, "cut %zu: body %u", cut, f.body_len);
				cr_assert(memcmp(f.body, "Hey Bob, are you there?\r\n", 25) == 0);
				const char *v;
				uint32_t vlen;
				cr_assert_eq(bm_header(&f, "from-path", &v, &vlen), 0);
				cr_assert(vlen == 39 && memcmp(v, "msrp://alice.example.com:7777/iau39;tcp",
							       39) == 0);
				cr_assert_eq(bm_first_uri(v, vlen), vlen);
				cr_assert_eq(bm_header(&f, "To-Path", &v, &vlen), 0);
				cr_assert_eq(bm_first_uri(v, vlen), 37);
			} else {
				cr_assert_eq(f.code, 200);
				cr_assert_null(f.body);
			}
			frames++;
			memmove(buf, buf + n, have - (size_t)n);
			have -= (size_t)n;
		}
	}
	cr_assert_eq(have, 0);
	return frames;
}

Test(bench_msrp, split_everywhere)
{
	for (size_t cut = 0; cut < sizeof(two_frames); cut++)
		cr_assert_eq(feed(cut), 2, "cut at %zu", cut);
}

Test(bench_msrp, not_msrp)
{
	struct bm_frame f;
	uint32_t hint = 0;
	cr_assert_eq(bm_frame_split("HTTP/1.1 200 OK\r\n", 17, &f, &hint), -1);
	cr_assert_eq(bm_frame_split("MSRP x SEND\r\n-------y$\r\n", 24, &f, &hint), -1);
	cr_assert_eq(bm_frame_split("MSR", 3, &f, &hint), 0);
}

Test(bench_msrp, hex)
{
	char d[16];
	uint64_t v;
	bm_put_hex(d, 0x0123456789abcdefull, 16);
	cr_assert(memcmp(d, "0123456789abcdef", 16) == 0);
	bm_put_hex(d, 0xabc, 3);
	cr_assert(memcmp(d, "abc", 3) == 0);
	cr_assert_eq(bm_get_hex("00FFfe10", 8, &v), 0);
	cr_assert_eq(v, 0xfffe10);
	cr_assert_eq(bm_get_hex("12g4", 4, &v), -1);
}

static const struct bm_auth auth = { .relay_uri = "msrp://127.0.0.1:2855;tcp", .user = "alice",
				     .password = "secret", .realm = NULL };

Test(bench_msrp, digest_qop_auth)
{
	char out[2048];
	static const char chal[] =
		"Digest realm=\"bench.test\", nonce=\"abc123\", qop=\"auth\", algorithm=MD5";
	int n = bm_auth_request(out, sizeof(out), &auth, "msrp://127.0.0.1:9/s0;tcp", 0, chal,
				sizeof(chal) - 1);
	cr_assert_gt(n, 0);
	cr_assert_not_null(strstr(out, "response=\"adc76255f2ebad0d0d3dcc084e02644b\""), "%s", out);
	cr_assert_not_null(strstr(out, "qop=auth, nc=00000001, cnonce=\"0000000000000001\""));
	cr_assert_not_null(strstr(out, "uri=\"msrp://127.0.0.1:2855;tcp\""));
	cr_assert(strncmp(out, "MSRP 0000000000000000 AUTH\r\nTo-Path: msrp://127.0.0.1:2855;tcp\r\n"
			       "From-Path: msrp://127.0.0.1:9/s0;tcp\r\n", 100) == 0);
}

Test(bench_msrp, digest_no_qop_and_refusals)
{
	char out[2048];
	static const char chal[] = "Digest realm=\"bench.test\", nonce=\"abc123\"";
	cr_assert_gt(bm_auth_request(out, sizeof(out), &auth, "u", 0, chal, sizeof(chal) - 1), 0);
	cr_assert_not_null(strstr(out, "response=\"33abb54d837ecd9801baf4af154d0dd4\""), "%s", out);
	cr_assert_null(strstr(out, "qop="));
	static const char sha[] = "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256";
	cr_assert_eq(bm_auth_request(out, sizeof(out), &auth, "u", 0, sha, sizeof(sha) - 1), -1);
	struct bm_auth other = auth;
	other.realm = "elsewhere";
	cr_assert_eq(bm_auth_request(out, sizeof(out), &other, "u", 0, chal, sizeof(chal) - 1), -1);
}
