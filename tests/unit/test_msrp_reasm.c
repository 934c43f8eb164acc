/* test_msrp_reasm.c — msrp/msrp_reasm: chunks in order, reversed, shuffled, repeated with
 * other bytes (last wins), overlapping, '*' totals and '*' ends, every bound (max_message,
 * max_chunks, ranges, max_partial, max_buffered, timeout) dropping one message and no
 * other, '#' aborts, late chunks, inconsistent ranges, empty messages. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msrp/msrp_reasm.h"

#define S(lit) CM_SLICE_LIT(lit)

static cm_slice sl(const char *s)
{
	return (cm_slice){ s, strlen(s) };
}

static uint32_t lcg_state = 12345;

static uint32_t lcg(void)
{
	lcg_state = lcg_state * 1103515245u + 12345u;
	return lcg_state >> 8;
}

/* One chunk of <id>: bytes <start>..<end> of <total> (-1: '*'), body <data> of <len>
 * bytes streamed in pieces of <piece> bytes, ended with <flag>. The verdict of end(). */
static int feed_p(struct msrp_reasm *r, const char *id, uint64_t start, int64_t end,
		  int64_t total, const void *data, size_t len, char flag, uint64_t now,
		  size_t piece, struct msrp_reasm_msg *out)
{
	struct msrp_reasm_chunk ck;
	struct msrp_range br = { start, end, total };
	const char *p = data;
	int rc = msrp_reasm_begin(r, sl(id), &br, S("text/plain"), now, &ck);

	for (size_t off = 0; rc == 0 && off < len; off += piece)
		rc = msrp_reasm_data(r, &ck, p + off, len - off < piece ? len - off : piece);
	return msrp_reasm_end(r, &ck, (enum msrp_flag)flag, out);
}

static int feed(struct msrp_reasm *r, const char *id, uint64_t start, int64_t end,
		int64_t total, const char *data, char flag, uint64_t now,
		struct msrp_reasm_msg *out)
{
	return feed_p(r, id, start, end, total, data, strlen(data), flag, now, 7, out);
}

static struct msrp_reasm *mk(uint64_t max_message, uint32_t max_chunks, uint32_t max_partial,
			     uint32_t timeout_ms)
{
	struct msrp_reasm_cfg cfg;
	struct msrp_reasm *r;

	msrp_reasm_cfg_defaults(&cfg);
	if (max_message)
		cfg.max_message = max_message;
	if (max_chunks)
		cfg.max_chunks = max_chunks;
	if (max_partial)
		cfg.max_partial = max_partial;
	if (timeout_ms)
		cfg.timeout_ms = timeout_ms;
	r = msrp_reasm_create(&cfg);
	cr_assert(r);
	return r;
}

static void msg_is(const struct msrp_reasm_msg *m, const char *id, const char *data)
{
	cr_assert_str_eq(m->message_id, id);
	cr_assert_eq(m->message_id_len, strlen(id));
	cr_assert_eq(m->len, strlen(data), "len %llu", (unsigned long long)m->len);
	cr_assert(!memcmp(m->data, data, m->len), "got %.*s", (int)m->len, m->data);
	cr_assert_str_eq(m->content_type, "text/plain");
}

Test(msrp_reasm, in_order)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;
	struct msrp_reasm_stats st;

	cr_assert_eq(feed(r, "m1", 1, 5, 11, "hello", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(msrp_reasm_pending(r), 1);
	cr_assert_eq(feed(r, "m1", 6, 11, 11, " world", '$', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "m1", "hello world");
	cr_assert_eq(msrp_reasm_pending(r), 0);
	msrp_reasm_msg_free(&m);
	cr_assert_null(m.data);

	/* a message in one chunk */
	cr_assert_eq(feed(r, "m2", 1, 3, 3, "abc", '$', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "m2", "abc");
	msrp_reasm_msg_free(&m);
	msrp_reasm_stats(r, &st);
	cr_assert_eq(st.complete, 2);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, reverse_order)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;
	static const char body[] = "0123456789abcdefghijABCDEFGHIJ!@#$%^&*()";

	for (int i = 3; i >= 0; i--) {
		int rc = feed_p(r, "rev", (uint64_t)i * 10 + 1, i * 10 + 10, 40, body + i * 10, 10,
				i == 3 ? '$' : '+', 0, 3, &m);

		cr_assert_eq(rc, i ? MSRP_REASM_OK : MSRP_REASM_COMPLETE, "chunk %d: %d", i, rc);
	}
	msg_is(&m, "rev", body);
	msrp_reasm_msg_free(&m);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, random_order)
{
	enum { LEN = 100000, CH = 997, N = (LEN + CH - 1) / CH };
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;
	char *body = malloc(LEN);
	unsigned order[N];

	for (int i = 0; i < LEN; i++)
		body[i] = (char)lcg();
	for (unsigned i = 0; i < N; i++)
		order[i] = i;
	for (unsigned i = N - 1; i > 0; i--) {
		unsigned j = lcg() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned k = 0; k < N; k++) {
		unsigned i = order[k];
		size_t off = (size_t)i * CH, len = LEN - off < CH ? LEN - off : CH;
		/* some chunks say the total, some do not */
		int64_t total = i % 3 ? LEN : -1;
		int rc = feed_p(r, "rnd", off + 1, (int64_t)(off + len), total, body + off, len,
				i == N - 1 ? '$' : '+', k, 64 + k % 300, &m);

		cr_assert_eq(rc, k == N - 1 ? MSRP_REASM_COMPLETE : MSRP_REASM_OK, "k %u rc %d", k,
			     rc);
	}
	cr_assert_eq(m.len, LEN);
	cr_assert(!memcmp(m.data, body, LEN));
	msrp_reasm_msg_free(&m);
	free(body);
	msrp_reasm_destroy(r);
}

/* §7.3: the same bytes received twice, differently: the chunk received last wins. */
Test(msrp_reasm, duplicates_last_wins)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;

	cr_assert_eq(feed(r, "dup", 1, 5, 10, "AAAAA", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "dup", 1, 5, 10, "BBBBB", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "dup", 6, 10, 10, "CCCCC", '$', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "dup", "BBBBBCCCCC");
	msrp_reasm_msg_free(&m);

	/* the '$' chunk repeated before the message is whole */
	cr_assert_eq(feed(r, "dup2", 6, 10, 10, "xxxxx", '$', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "dup2", 6, 10, 10, "yyyyy", '$', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "dup2", 1, 5, 10, "zzzzz", '+', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "dup2", "zzzzzyyyyy");
	msrp_reasm_msg_free(&m);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, overlap_last_wins)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;

	cr_assert_eq(feed(r, "o1", 1, 6, 10, "aaaaaa", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "o1", 4, 10, 10, "bbbbbbb", '$', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "o1", "aaabbbbbbb");
	msrp_reasm_msg_free(&m);

	cr_assert_eq(feed(r, "o2", 4, 10, 10, "bbbbbbb", '$', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "o2", 1, 6, 10, "aaaaaa", '+', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "o2", "aaaaaabbbb");
	msrp_reasm_msg_free(&m);

	/* a chunk that covers two earlier disjoint ones and the gap between */
	cr_assert_eq(feed(r, "o3", 1, 2, 9, "11", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "o3", 5, 6, 9, "55", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "o3", 8, 9, 9, "88", '$', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "o3", 2, 8, 9, "2345678", '+', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "o3", "123456788");
	msrp_reasm_msg_free(&m);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, star_totals)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;

	cr_assert_eq(feed(r, "s1", 1, 5, -1, "abcde", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "s1", 6, 10, -1, "fghij", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "s1", 11, 12, -1, "kl", '$', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "s1", "abcdefghijkl");
	msrp_reasm_msg_free(&m);

	/* out of order, the total learnt from the '$' chunk */
	cr_assert_eq(feed(r, "s2", 6, 10, -1, "fghij", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "s2", 11, 12, -1, "kl", '$', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "s2", 1, 5, -1, "abcde", '+', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "s2", "abcdefghijkl");
	msrp_reasm_msg_free(&m);

	/* '*' range-ends: interrupted chunks (§7.1), the flag tells where the message ends */
	cr_assert_eq(feed(r, "s3", 1, -1, -1, "hello", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "s3", 6, -1, -1, "!!!", '$', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "s3", "hello!!!");
	msrp_reasm_msg_free(&m);

	/* §5.1's example: range-end '*' over 8 bytes, then 5-8/8 */
	cr_assert_eq(feed(r, "4564dpWd", 1, -1, 8, "abcd", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "4564dpWd", 5, 8, 8, "EFGH", '$', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "4564dpWd", "abcdEFGH");
	msrp_reasm_msg_free(&m);

	/* a '*' message growing well past its first allocation, in small steps */
	static char big[300000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	for (size_t off = 0; off < sizeof(big); off += 10000) {
		int last = off + 10000 >= sizeof(big);

		cr_assert_eq(feed_p(r, "grow", off + 1, -1, -1, big + off, 10000, last ? '$' : '+', 0,
				    1000, &m),
			     last ? MSRP_REASM_COMPLETE : MSRP_REASM_OK);
	}
	cr_assert_eq(m.len, sizeof(big));
	cr_assert(!memcmp(m.data, big, sizeof(big)));
	msrp_reasm_msg_free(&m);
	msrp_reasm_destroy(r);
}

/* Past max_message: that message is dropped with 413, the others go on. */
Test(msrp_reasm, max_message_413_others_unaffected)
{
	struct msrp_reasm *r = mk(100, 0, 0, 0);
	struct msrp_reasm_msg m;
	struct msrp_reasm_stats st;
	char fifty[51];
	int rc;

	memset(fifty, 'x', 50);
	fifty[50] = '\0';
	cr_assert_eq(feed(r, "A", 1, 50, -1, fifty, '+', 0, &m), MSRP_REASM_OK);

	/* a total announced beyond the bound: refused before any byte */
	struct msrp_reasm_chunk ck;
	struct msrp_range br = { 1, 10, 200 };

	cr_assert_eq(msrp_reasm_begin(r, S("B"), &br, S("text/plain"), 0, &ck), -EMSGSIZE);
	cr_assert_eq(msrp_reasm_data(r, &ck, "0123456789", 10), -EMSGSIZE);
	rc = msrp_reasm_end(r, &ck, MSRP_FLAG_MORE, &m);
	cr_assert_eq(rc, -EMSGSIZE);
	cr_assert_eq(msrp_reasm_code(rc), 413);
	cr_assert_eq(msrp_reasm_pending(r), 1);
	/* its next chunk gets 413 again, without taking a slot */
	rc = feed(r, "B", 11, 20, 200, "0123456789", '+', 0, &m);
	cr_assert_eq(msrp_reasm_code(rc), 413);
	cr_assert_eq(msrp_reasm_pending(r), 1);

	/* a '*' message that grows past the bound with its bytes */
	cr_assert_eq(feed(r, "C", 1, 60, -1, "123456789012345678901234567890123456789012345678901234567890",
			  '+', 0, &m), MSRP_REASM_OK);
	rc = feed(r, "C", 61, 120, -1, "123456789012345678901234567890123456789012345678901234567890",
		  '+', 0, &m);
	cr_assert_eq(rc, -EMSGSIZE);
	cr_assert_eq(msrp_reasm_pending(r), 1);

	cr_assert_eq(feed(r, "A", 51, 100, 100, fifty, '$', 0, &m), MSRP_REASM_COMPLETE);
	cr_assert_eq(m.len, 100);
	msrp_reasm_msg_free(&m);
	msrp_reasm_stats(r, &st);
	cr_assert_eq(st.too_big, 2);
	cr_assert_eq(st.complete, 1);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, too_many_chunks)
{
	struct msrp_reasm *r = mk(0, 4, 0, 0);
	struct msrp_reasm_msg m;
	struct msrp_reasm_stats st;
	int rc;

	for (int i = 0; i < 4; i++)
		cr_assert_eq(feed(r, "many", 1, 2, 10, "ab", '+', 0, &m), MSRP_REASM_OK);
	rc = feed(r, "many", 3, 4, 10, "cd", '+', 0, &m);
	cr_assert_eq(rc, -E2BIG);
	cr_assert_eq(msrp_reasm_code(rc), 413);
	cr_assert_eq(msrp_reasm_pending(r), 0);
	/* another message is not affected */
	cr_assert_eq(feed(r, "other", 1, 2, 2, "ok", '$', 0, &m), MSRP_REASM_COMPLETE);
	msrp_reasm_msg_free(&m);
	msrp_reasm_stats(r, &st);
	cr_assert_eq(st.too_many_chunks, 1);
	msrp_reasm_destroy(r);
}

/* More disjoint pieces than MSRP_REASM_RANGES: too fragmented, 413. */
Test(msrp_reasm, too_many_ranges)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;
	int rc = 0;

	for (unsigned i = 0; i <= MSRP_REASM_RANGES; i++) {
		rc = feed(r, "frag", 2 * i + 1, 2 * i + 1, 4 * MSRP_REASM_RANGES, "x", '+', 0, &m);
		if (i < MSRP_REASM_RANGES)
			cr_assert_eq(rc, MSRP_REASM_OK, "piece %u", i);
	}
	cr_assert_eq(rc, -E2BIG);
	cr_assert_eq(msrp_reasm_pending(r), 0);

	/* the same number of pieces that touch one another stays one range */
	for (unsigned i = 0; i < 3 * MSRP_REASM_RANGES; i++) {
		rc = feed(r, "touch", i + 1, i + 1, 3 * MSRP_REASM_RANGES, "y",
			  i + 1 == 3 * MSRP_REASM_RANGES ? '$' : '+', 0, &m);
	}
	cr_assert_eq(rc, MSRP_REASM_COMPLETE);
	msrp_reasm_msg_free(&m);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, too_many_partial)
{
	struct msrp_reasm *r = mk(0, 0, 2, 0);
	struct msrp_reasm_msg m;
	int rc;

	cr_assert_eq(feed(r, "A", 1, 1, 2, "a", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "B", 1, 1, 2, "b", '+', 0, &m), MSRP_REASM_OK);
	rc = feed(r, "C", 1, 1, 2, "c", '+', 0, &m);
	cr_assert_eq(rc, -EBUSY);
	cr_assert_eq(msrp_reasm_code(rc), 413);
	cr_assert_eq(feed(r, "A", 2, 2, 2, "A", '$', 0, &m), MSRP_REASM_COMPLETE);
	msrp_reasm_msg_free(&m);
	/* room again for a new message; B still in progress */
	cr_assert_eq(feed(r, "D", 1, 1, 1, "d", '$', 0, &m), MSRP_REASM_COMPLETE);
	msrp_reasm_msg_free(&m);
	cr_assert_eq(feed(r, "B", 2, 2, 2, "B", '$', 0, &m), MSRP_REASM_COMPLETE);
	msg_is(&m, "B", "bB");
	msrp_reasm_msg_free(&m);
	msrp_reasm_destroy(r);
}

/* Announced totals are held against max_buffered, across messages. */
Test(msrp_reasm, max_buffered)
{
	struct msrp_reasm_cfg cfg;
	struct msrp_reasm *r;
	struct msrp_reasm_msg m;
	int rc;

	msrp_reasm_cfg_defaults(&cfg);
	cfg.max_message = 800;
	cfg.max_buffered = 1000;
	r = msrp_reasm_create(&cfg);
	cr_assert_eq(feed(r, "A", 1, 1, 600, "a", '+', 0, &m), MSRP_REASM_OK);
	rc = feed(r, "B", 1, 1, 600, "b", '+', 0, &m);
	cr_assert_eq(rc, -ENOBUFS);
	cr_assert_eq(msrp_reasm_code(rc), 413);
	cr_assert_eq(feed(r, "C", 1, 1, 400, "c", '+', 0, &m), MSRP_REASM_OK);
	msrp_reasm_destroy(r);
}

static unsigned expired_n;
static char expired_id[64];

static void on_expire(void *arg, cm_slice id)
{
	(void)arg;
	memcpy(expired_id, id.p, id.len);
	expired_id[id.len] = '\0';
	expired_n++;
}

Test(msrp_reasm, timeout_expiry)
{
	struct msrp_reasm *r = mk(0, 0, 0, 1000);
	struct msrp_reasm_msg m;
	struct msrp_reasm_stats st;
	int rc;

	cr_assert_eq(msrp_reasm_next_expiry(r), UINT64_MAX);
	cr_assert_eq(feed(r, "A", 1, 1, 2, "a", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "B", 1, 1, 2, "b", '+', 500, &m), MSRP_REASM_OK);
	cr_assert_eq(msrp_reasm_next_expiry(r), 1000);
	cr_assert_eq(msrp_reasm_expire(r, 999, on_expire, NULL), 0);
	cr_assert_eq(msrp_reasm_expire(r, 1000, on_expire, NULL), 1);
	cr_assert_eq(expired_n, 1);
	cr_assert_str_eq(expired_id, "A");
	cr_assert_eq(msrp_reasm_next_expiry(r), 1500);
	/* a late chunk of the expired message: 413 (stop sending), no new slot */
	rc = feed(r, "A", 2, 2, 2, "A", '$', 1200, &m);
	cr_assert_eq(msrp_reasm_code(rc), 413);
	cr_assert_eq(msrp_reasm_pending(r), 1);
	/* activity keeps B alive */
	cr_assert_eq(feed(r, "B", 1, 1, 2, "b", '+', 1400, &m), MSRP_REASM_OK);
	cr_assert_eq(msrp_reasm_next_expiry(r), 2400);
	cr_assert_eq(msrp_reasm_expire(r, 2399, on_expire, NULL), 0);
	/* a total that changes drops the message: 400 */
	cr_assert_eq(feed(r, "B", 2, 2, 3, "b", '+', 1400, &m), -EINVAL);
	cr_assert_eq(msrp_reasm_pending(r), 0);
	cr_assert_eq(feed(r, "E", 1, 1, 2, "e", '+', 2000, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "E", 2, 2, 2, "E", '$', 2999, &m), MSRP_REASM_COMPLETE);
	msrp_reasm_msg_free(&m);
	cr_assert_eq(msrp_reasm_expire(r, 5000, NULL, NULL), 0);
	msrp_reasm_stats(r, &st);
	cr_assert_eq(st.expired, 1);
	cr_assert_eq(st.bad_range, 1);
	msrp_reasm_destroy(r);
}

/* A message expired while one of its chunks streams: the chunk ends with -ESTALE (413). */
Test(msrp_reasm, expired_mid_chunk)
{
	struct msrp_reasm *r = mk(0, 0, 0, 1000);
	struct msrp_reasm_chunk ck;
	struct msrp_range br = { 1, 10, 10 };
	struct msrp_reasm_msg m;

	cr_assert_eq(msrp_reasm_begin(r, S("slow"), &br, S("text/plain"), 0, &ck), 0);
	cr_assert_eq(msrp_reasm_data(r, &ck, "abcde", 5), 0);
	cr_assert_eq(msrp_reasm_expire(r, 1000, NULL, NULL), 1);
	cr_assert_eq(msrp_reasm_data(r, &ck, "fghij", 5), -ESTALE);
	cr_assert_eq(msrp_reasm_end(r, &ck, MSRP_FLAG_END, &m), -ESTALE);
	cr_assert_eq(msrp_reasm_code(-ESTALE), 413);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, abort_hash)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;
	struct msrp_reasm_stats st;
	int rc;

	cr_assert_eq(feed(r, "ab", 1, 10, 30, "0123456789", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "ab", 11, 20, 30, "0123456789", '+', 0, &m), MSRP_REASM_OK);
	/* the '#' chunk: no byte, range-end '*' (what msrp_chunk_abort() sends) */
	rc = feed(r, "ab", 21, -1, 30, "", '#', 0, &m);
	cr_assert_eq(rc, MSRP_REASM_ABORTED);
	cr_assert_eq(msrp_reasm_code(rc), 200);
	cr_assert_eq(msrp_reasm_pending(r), 0);
	/* a chunk of it that a relay delayed: ignored */
	rc = feed(r, "ab", 21, 30, 30, "0123456789", '$', 0, &m);
	cr_assert_eq(rc, MSRP_REASM_LATE);
	cr_assert_eq(msrp_reasm_code(rc), 200);
	cr_assert_eq(msrp_reasm_pending(r), 0);

	/* '#' at the end of a chunk that carried bytes */
	cr_assert_eq(feed(r, "ab2", 1, 5, 9, "01234", '#', 0, &m), MSRP_REASM_ABORTED);
	msrp_reasm_stats(r, &st);
	cr_assert_eq(st.aborted, 2);
	cr_assert_eq(st.late, 1);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, late_after_complete)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;

	cr_assert_eq(feed(r, "done", 1, 3, 3, "abc", '$', 0, &m), MSRP_REASM_COMPLETE);
	msrp_reasm_msg_free(&m);
	cr_assert_eq(feed(r, "done", 1, 3, 3, "abc", '$', 0, &m), MSRP_REASM_LATE);
	cr_assert_eq(msrp_reasm_pending(r), 0);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, inconsistent_ranges_400)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;
	struct msrp_reasm_chunk ck;
	struct msrp_range bad[] = { { 0, 3, 3 }, { 5, 3, 9 }, { 1, 4, 3 }, { 9, -1, 3 } };
	int rc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = msrp_reasm_begin(r, S("x"), &bad[i], S("text/plain"), 0, &ck);
		cr_assert_eq(rc, -EINVAL, "range %zu", i);
		cr_assert_eq(msrp_reasm_end(r, &ck, MSRP_FLAG_END, &m), -EINVAL);
	}
	/* Message-ID longer than an ident may be */
	rc = feed(r, "a23456789012345678901234567890123", 1, 1, 1, "x", '$', 0, &m);
	cr_assert_eq(msrp_reasm_code(rc), 400);
	/* more bytes than the range says */
	rc = feed(r, "more", 1, 3, 10, "abcd", '+', 0, &m);
	cr_assert_eq(rc, -EINVAL);
	/* fewer bytes than a known range-end */
	rc = feed(r, "less", 1, 5, 10, "abc", '+', 0, &m);
	cr_assert_eq(rc, -EINVAL);
	/* a '$' chunk that does not end at the total */
	rc = feed(r, "short$", 1, 5, 10, "abcde", '$', 0, &m);
	cr_assert_eq(rc, -EINVAL);
	/* a chunk beyond a total learnt from a '*' '$' chunk */
	cr_assert_eq(feed(r, "after", 1, 5, -1, "abcde", '$', 0, &m), MSRP_REASM_COMPLETE);
	msrp_reasm_msg_free(&m);
	cr_assert_eq(feed(r, "after2", 3, 5, -1, "cde", '$', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "after2", 6, 7, -1, "fg", '+', 0, &m), -EINVAL);
	/* a '*' '$' chunk below bytes already written */
	cr_assert_eq(feed(r, "below", 6, 8, -1, "fgh", '+', 0, &m), MSRP_REASM_OK);
	cr_assert_eq(feed(r, "below", 1, 5, -1, "abcde", '$', 0, &m), -EINVAL);
	/* an end-line flag that is none of $ + # */
	cr_assert_eq(feed(r, "flag", 1, 1, 1, "a", 'x', 0, &m), -EINVAL);
	cr_assert_eq(msrp_reasm_pending(r), 0);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, empty_message)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;

	cr_assert_eq(feed(r, "empty", 1, 0, 0, "", '$', 0, &m), MSRP_REASM_COMPLETE);
	cr_assert_eq(m.len, 0);
	cr_assert_null(m.data);
	cr_assert_str_eq(m.message_id, "empty");
	msrp_reasm_msg_free(&m);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, one_byte_pieces_and_interleaving)
{
	struct msrp_reasm *r = mk(0, 0, 0, 0);
	struct msrp_reasm_msg m;
	static const char a[] = "the quick brown fox", b[] = "jumps over the lazy dog";
	size_t la = strlen(a), lb = strlen(b);

	/* two messages, chunks alternating, bodies streamed a byte at a time */
	cr_assert_eq(feed_p(r, "a", 1, 10, (int64_t)la, a, 10, '+', 0, 1, &m), MSRP_REASM_OK);
	cr_assert_eq(feed_p(r, "b", 1, 10, (int64_t)lb, b, 10, '+', 0, 1, &m), MSRP_REASM_OK);
	cr_assert_eq(feed_p(r, "a", 11, (int64_t)la, (int64_t)la, a + 10, la - 10, '$', 0, 1, &m),
		     MSRP_REASM_COMPLETE);
	msg_is(&m, "a", a);
	msrp_reasm_msg_free(&m);
	cr_assert_eq(feed_p(r, "b", 11, (int64_t)lb, (int64_t)lb, b + 10, lb - 10, '$', 0, 1, &m),
		     MSRP_REASM_COMPLETE);
	msg_is(&m, "b", b);
	msrp_reasm_msg_free(&m);
	msrp_reasm_destroy(r);
}

Test(msrp_reasm, codes)
{
	cr_assert_eq(msrp_reasm_code(MSRP_REASM_OK), 200);
	cr_assert_eq(msrp_reasm_code(MSRP_REASM_COMPLETE), 200);
	cr_assert_eq(msrp_reasm_code(MSRP_REASM_ABORTED), 200);
	cr_assert_eq(msrp_reasm_code(MSRP_REASM_LATE), 200);
	cr_assert_eq(msrp_reasm_code(-EINVAL), 400);
	cr_assert_eq(msrp_reasm_code(-EMSGSIZE), 413);
	cr_assert_eq(msrp_reasm_code(-E2BIG), 413);
	cr_assert_eq(msrp_reasm_code(-EBUSY), 413);
	cr_assert_eq(msrp_reasm_code(-ENOBUFS), 413);
	cr_assert_eq(msrp_reasm_code(-ENOMEM), 413);
	msrp_reasm_destroy(NULL);
	msrp_reasm_msg_free(NULL);
}
