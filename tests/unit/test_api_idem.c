/* test_api_idem.c — the Idempotency-Key store of api/api_idem.c on its own, with a made-up
 * clock: key syntax, the request hash, first use and replay, another request under a used
 * key, a key still in progress, answers that are not kept, TTL, eviction by count and by
 * bytes (oldest first, counted), keys per owner, and entries forgotten while their request
 * runs (the ASan run checks that they are neither lost nor freed twice). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_idem.h"

#define TTL 1000u

/* A distinct request hash per <n>. */
static void hash_of(unsigned n, unsigned char h[API_IDEM_HASH_LEN])
{
	char body[32];
	snprintf(body, sizeof(body), "{\"n\":%u}", n);
	cr_assert_eq(api_idem_hash("POST", "/v1/things", (cm_slice){ body, strlen(body) }, h), 0);
}

static cm_slice key_of(const char *k) { return (cm_slice){ k, strlen(k) }; }

/* api_idem_begin of request <n> with <key> for <owner> at <now>; the verdict. */
static int begin(struct api_idem *s, uint32_t owner, const char *key, unsigned n, uint64_t now,
		 struct api_idem_ent **e)
{
	unsigned char h[API_IDEM_HASH_LEN];
	hash_of(n, h);
	return api_idem_begin(s, owner, key_of(key), h, now, e);
}

/* A first use of <key> answered 201 with body "<key>:<n>" and a Location. */
static void put(struct api_idem *s, uint32_t owner, const char *key, unsigned n, uint64_t now)
{
	struct api_idem_ent *e;
	char body[300], loc[300];

	cr_assert_eq(begin(s, owner, key, n, now, &e), API_IDEM_NEW, "key %s", key);
	cr_assert(e);
	snprintf(body, sizeof(body), "%s:%u", key, n);
	snprintf(loc, sizeof(loc), "/v1/things/%s", key);
	api_idem_finish(s, e, 201, "application/json", body, strlen(body), loc);
}

/* <key> of <owner> replays the answer that put() gave it for request <n>. */
static void expect_replay(struct api_idem *s, uint32_t owner, const char *key, unsigned n,
			  uint64_t now)
{
	struct api_idem_ent *e;
	struct api_idem_answer a;
	char body[300];

	cr_assert_eq(begin(s, owner, key, n, now, &e), API_IDEM_REPLAY, "key %s", key);
	api_idem_answer(e, &a);
	snprintf(body, sizeof(body), "%s:%u", key, n);
	cr_expect_eq(a.status, 201);
	cr_expect_str_eq(a.ctype, "application/json");
	cr_expect_eq(a.len, strlen(body));
	cr_expect_str_eq(a.body, body);
	cr_assert(a.location);
	cr_expect(strncmp(a.location, "/v1/things/", 11) == 0 && strcmp(a.location + 11, key) == 0,
		  "%s", a.location);
}

/* <key> of <owner> is not known: a first use (then dropped again). */
static void expect_unknown(struct api_idem *s, uint32_t owner, const char *key, uint64_t now)
{
	struct api_idem_ent *e;
	cr_assert_eq(begin(s, owner, key, 99999, now, &e), API_IDEM_NEW, "key %s known", key);
	api_idem_drop(s, e);
}

static struct api_idem_stats stats(const struct api_idem *s)
{
	struct api_idem_stats st;
	api_idem_stats(s, &st);
	return st;
}

Test(api_idem, key_syntax)
{
	char k[300];

	cr_expect(api_idem_key_ok(key_of("a")));
	cr_expect(api_idem_key_ok(key_of("8e03978e-40d5-43e8-bc93-6894a57f9324")));
	cr_expect(api_idem_key_ok(key_of("\"quoted\"!~")));
	memset(k, 'x', sizeof(k));
	cr_expect(api_idem_key_ok((cm_slice){ k, 255 }));
	cr_expect_not(api_idem_key_ok((cm_slice){ k, 256 }));
	cr_expect_not(api_idem_key_ok((cm_slice){ k, 0 }));
	cr_expect_not(api_idem_key_ok(key_of("with space")));
	cr_expect_not(api_idem_key_ok(key_of("tab\there")));
	cr_expect_not(api_idem_key_ok(key_of("nl\n")));
	cr_expect_not(api_idem_key_ok(key_of("del\x7f")));
	cr_expect_not(api_idem_key_ok(key_of("utf8-\xc3\xa9")));
	cr_expect_not(api_idem_key_ok((cm_slice){ "a\0b", 3 }));
}

static void hex(const unsigned char *h, char *out)
{
	for (int i = 0; i < API_IDEM_HASH_LEN; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

Test(api_idem, request_hash)
{
	unsigned char h[API_IDEM_HASH_LEN], h2[API_IDEM_HASH_LEN];
	char x[2 * API_IDEM_HASH_LEN + 1];
	const char body[] = "{\"to\":\"sip:bob@example.com\"}";

	/* SHA-256 of "POST\0/v1/sessions\0<body>", as Python's hashlib computes it */
	cr_assert_eq(api_idem_hash("POST", "/v1/sessions", key_of(body), h), 0);
	hex(h, x);
	cr_expect_str_eq(x, "0c441798d1a661e1e9c7ed20b10804e44416abe58f8fe1cc2a8ea49f0c4de863");
	cr_assert_eq(api_idem_hash("POST", "/v1/x", CM_SLICE_NULL, h), 0);
	hex(h, x);
	cr_expect_str_eq(x, "af4d5eb188be7305f1702177332efddac3ee548b8c6ba0d84b2ba21e4074b64d");

	/* method, path and body all count, and the boundaries between them too */
	api_idem_hash("POST", "/a", key_of("bc"), h);
	api_idem_hash("POST", "/ab", key_of("c"), h2);
	cr_expect_neq(memcmp(h, h2, sizeof(h)), 0);
	api_idem_hash("PUT", "/a", key_of("bc"), h2);
	cr_expect_neq(memcmp(h, h2, sizeof(h)), 0);
	api_idem_hash("POST", "/a", key_of("bd"), h2);
	cr_expect_neq(memcmp(h, h2, sizeof(h)), 0);
	api_idem_hash("POST", "/a", key_of("bc"), h2);
	cr_expect_eq(memcmp(h, h2, sizeof(h)), 0);
}

Test(api_idem, bounds_of_new)
{
	cr_expect_null(api_idem_new(0, 1 << 20, TTL));
	cr_expect_null(api_idem_new(10, 0, TTL));
	struct api_idem *s = api_idem_new(1, 1, TTL); /* too small for any key */
	cr_assert(s);
	struct api_idem_ent *e = (void *)1;
	cr_expect_eq(begin(s, 0, "k", 1, 0, &e), -ENOMEM);
	cr_expect_null(e);
	cr_expect_eq(begin(s, 0, "bad key", 1, 0, &e), -EINVAL);
	cr_expect_eq(stats(s).keys, 0);
	api_idem_free(s);
	api_idem_free(NULL);
}

Test(api_idem, first_use_then_replay)
{
	struct api_idem *s = api_idem_new(100, 1 << 20, TTL);
	cr_assert(s);

	put(s, 0, "k1", 1, 10);
	cr_expect_eq(stats(s).keys, 1);
	expect_replay(s, 0, "k1", 1, 20);
	expect_replay(s, 0, "k1", 1, 30);
	cr_expect_eq(stats(s).replays, 2);

	/* an answer without body or Location is replayed as it was */
	struct api_idem_ent *e;
	struct api_idem_answer a;
	cr_assert_eq(begin(s, 0, "k2", 2, 40, &e), API_IDEM_NEW);
	api_idem_finish(s, e, 204, "application/json", NULL, 0, NULL);
	cr_assert_eq(begin(s, 0, "k2", 2, 50, &e), API_IDEM_REPLAY);
	api_idem_answer(e, &a);
	cr_expect_eq(a.status, 204);
	cr_expect_eq(a.len, 0);
	cr_expect_str_eq(a.body, "");
	cr_expect_null(a.location);
	api_idem_free(s);
}

Test(api_idem, another_request_under_a_used_key)
{
	struct api_idem *s = api_idem_new(100, 1 << 20, TTL);
	struct api_idem_ent *e, *e2;

	cr_assert(s);
	put(s, 0, "k", 1, 0);
	cr_expect_eq(begin(s, 0, "k", 2, 1, &e), API_IDEM_MISMATCH);
	cr_expect_null(e);
	/* the first answer is still there for the first request */
	expect_replay(s, 0, "k", 1, 2);

	/* while the first request runs, another one under its key is a mismatch too */
	cr_assert_eq(begin(s, 0, "r", 5, 3, &e), API_IDEM_NEW);
	cr_expect_eq(begin(s, 0, "r", 6, 4, &e2), API_IDEM_MISMATCH);
	api_idem_drop(s, e);
	struct api_idem_stats st = stats(s);
	cr_expect_eq(st.mismatches, 2);
	cr_expect_eq(st.busy, 0);
	api_idem_free(s);
}

Test(api_idem, in_progress)
{
	struct api_idem *s = api_idem_new(100, 1 << 20, TTL);
	struct api_idem_ent *e, *e2;

	cr_assert(s);
	cr_assert_eq(begin(s, 0, "k", 1, 0, &e), API_IDEM_NEW);
	cr_expect_eq(begin(s, 0, "k", 1, 1, &e2), API_IDEM_BUSY);
	cr_expect_null(e2);
	cr_expect_eq(begin(s, 0, "k", 1, 2, &e2), API_IDEM_BUSY);
	cr_expect_eq(stats(s).busy, 2);
	api_idem_finish(s, e, 201, "application/json", "k:1", 3, "/v1/things/k");
	expect_replay(s, 0, "k", 1, 3);
	api_idem_free(s);
}

Test(api_idem, only_2xx_and_4xx_are_kept)
{
	static const struct { unsigned status; int kept; } cases[] = {
		{ 200, 1 }, { 201, 1 }, { 299, 1 }, { 400, 1 }, { 404, 1 }, { 422, 1 },
		{ 100, 0 }, { 301, 0 }, { 500, 0 }, { 503, 0 }, { 599, 0 },
	};
	struct api_idem *s = api_idem_new(100, 1 << 20, TTL);
	struct api_idem_ent *e;
	char key[16];
	unsigned not_kept = 0;

	cr_assert(s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(key, sizeof(key), "s%u", cases[i].status);
		cr_assert_eq(begin(s, 0, key, 1, 0, &e), API_IDEM_NEW);
		api_idem_finish(s, e, cases[i].status, "application/json", "{}", 2, NULL);
		int v = begin(s, 0, key, 1, 1, &e);
		if (cases[i].kept) {
			cr_expect_eq(v, API_IDEM_REPLAY, "%u", cases[i].status);
		} else {
			not_kept++;
			cr_expect_eq(v, API_IDEM_NEW, "%u kept", cases[i].status);
			api_idem_drop(s, e);
		}
	}
	cr_expect_eq(stats(s).not_kept, not_kept);

	/* a request that ends without an answer to keep frees its key */
	cr_assert_eq(begin(s, 0, "gone", 1, 2, &e), API_IDEM_NEW);
	unsigned keys = stats(s).keys;
	api_idem_drop(s, e);
	cr_expect_eq(stats(s).keys, keys - 1);
	expect_unknown(s, 0, "gone", 3);
	api_idem_free(s);
}

Test(api_idem, ttl)
{
	struct api_idem *s = api_idem_new(100, 1 << 20, TTL);

	cr_assert(s);
	put(s, 0, "old", 1, 1000);
	put(s, 0, "new", 2, 1500);
	expect_replay(s, 0, "old", 1, 1000 + TTL - 1);
	cr_expect_eq(stats(s).expired, 0);
	/* at exactly TTL the first key is gone, the second not yet */
	expect_unknown(s, 0, "old", 1000 + TTL);
	cr_expect_eq(stats(s).expired, 1);
	expect_replay(s, 0, "new", 2, 1500 + TTL - 1);
	/* another request under an expired key is a first use, not a mismatch */
	struct api_idem_ent *e;
	cr_assert_eq(begin(s, 0, "new", 7, 1500 + TTL, &e), API_IDEM_NEW);
	api_idem_drop(s, e);
	struct api_idem_stats st = stats(s);
	cr_expect_eq(st.expired, 2);
	cr_expect_eq(st.evicted, 0);
	cr_expect_eq(st.mismatches, 0);
	cr_expect_eq(st.keys, 0);
	cr_expect_eq(st.bytes, 0);
	api_idem_free(s);
}

Test(api_idem, eviction_by_count_oldest_first)
{
	struct api_idem *s = api_idem_new(3, 1 << 20, TTL);

	cr_assert(s);
	put(s, 0, "a", 1, 1);
	put(s, 0, "b", 2, 2);
	put(s, 0, "c", 3, 3);
	/* a replay does not make a key younger: "a" is still the oldest */
	expect_replay(s, 0, "a", 1, 4);
	put(s, 0, "d", 4, 5);
	struct api_idem_stats st = stats(s);
	cr_expect_eq(st.evicted, 1);
	cr_expect_eq(st.keys, 3);
	expect_replay(s, 0, "b", 2, 6);
	expect_replay(s, 0, "c", 3, 6);
	expect_replay(s, 0, "d", 4, 6);
	put(s, 0, "e", 5, 7);
	cr_expect_eq(stats(s).evicted, 2);
	expect_replay(s, 0, "c", 3, 8);
	/* "a" is gone: a first use again, which evicts "c"; dropped, it leaves room for "b" */
	struct api_idem_ent *e;
	cr_expect_eq(begin(s, 0, "a", 1, 9, &e), API_IDEM_NEW);
	cr_expect_eq(stats(s).evicted, 3);
	api_idem_drop(s, e);
	expect_unknown(s, 0, "c", 9);
	cr_expect_eq(begin(s, 0, "b", 2, 9, &e), API_IDEM_NEW);
	api_idem_drop(s, e);
	cr_expect_eq(stats(s).evicted, 3);
	cr_expect_eq(stats(s).keys, 2);
	cr_expect_eq(stats(s).expired, 0);
	api_idem_free(s);
}

Test(api_idem, eviction_by_bytes)
{
	char big[4000];
	struct api_idem_ent *e;

	memset(big, 'b', sizeof(big));
	/* room for two answers of 4000 bytes and their keys, not three */
	struct api_idem *s = api_idem_new(100, 10000, TTL);
	cr_assert(s);
	for (int i = 0; i < 3; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		cr_assert_eq(begin(s, 0, key, 1, (uint64_t)i, &e), API_IDEM_NEW);
		api_idem_finish(s, e, 200, "text/plain", big, sizeof(big), NULL);
	}
	struct api_idem_stats st = stats(s);
	cr_expect_eq(st.keys, 2);
	cr_expect_eq(st.evicted, 1);
	cr_expect_leq(st.bytes, 10000);
	cr_expect_eq(begin(s, 0, "k1", 1, 5, &e), API_IDEM_REPLAY);
	cr_expect_eq(begin(s, 0, "k2", 1, 5, &e), API_IDEM_REPLAY);
	expect_unknown(s, 0, "k0", 5);

	/* an answer larger than the whole store is not kept, and evicts nobody */
	char *huge = calloc(1, 20000);
	cr_assert(huge);
	cr_assert_eq(begin(s, 0, "huge", 1, 6, &e), API_IDEM_NEW);
	uint64_t evicted = stats(s).evicted;
	api_idem_finish(s, e, 200, "text/plain", huge, 20000, NULL);
	free(huge);
	cr_expect_eq(stats(s).evicted, evicted);
	cr_expect_eq(stats(s).not_kept, 1);
	expect_unknown(s, 0, "huge", 7);
	cr_expect_eq(begin(s, 0, "k2", 1, 8, &e), API_IDEM_REPLAY);

	/* every key gone: nothing is counted any more */
	api_idem_free(s);
	s = api_idem_new(1, 10000, TTL);
	put(s, 0, "x", 1, 0);
	cr_expect_gt(stats(s).bytes, 0);
	expect_unknown(s, 0, "x", TTL);
	cr_expect_eq(stats(s).bytes, 0);
	api_idem_free(s);
}

Test(api_idem, keys_are_per_owner)
{
	struct api_idem *s = api_idem_new(100, 1 << 20, TTL);
	struct api_idem_ent *e;

	cr_assert(s);
	put(s, 1, "same", 1, 0);
	/* another owner with the same key and another request: its own first use */
	put(s, 2, "same", 2, 1);
	expect_replay(s, 1, "same", 1, 2);
	expect_replay(s, 2, "same", 2, 2);
	cr_expect_eq(begin(s, 1, "same", 2, 3, &e), API_IDEM_MISMATCH);
	cr_expect_eq(begin(s, 2, "same", 1, 3, &e), API_IDEM_MISMATCH);
	expect_unknown(s, 0, "same", 4);
	/* in progress for one owner does not make it busy for another */
	cr_assert_eq(begin(s, 3, "k", 1, 5, &e), API_IDEM_NEW);
	struct api_idem_ent *e2;
	cr_expect_eq(begin(s, 4, "k", 1, 5, &e2), API_IDEM_NEW);
	api_idem_drop(s, e2);
	api_idem_drop(s, e);
	api_idem_free(s);
}

Test(api_idem, forgotten_while_running)
{
	struct api_idem *s = api_idem_new(1, 1 << 20, TTL);
	struct api_idem_ent *a, *b, *c;

	cr_assert(s);
	/* evicted while its request runs: its place is free at once, and its answer, when it
	 * comes, is not kept */
	cr_assert_eq(begin(s, 0, "a", 1, 0, &a), API_IDEM_NEW);
	cr_assert_eq(begin(s, 0, "b", 2, 1, &b), API_IDEM_NEW);
	cr_expect_eq(stats(s).evicted, 1);
	cr_expect_eq(stats(s).keys, 1);
	api_idem_finish(s, a, 201, "application/json", "{}", 2, NULL);
	cr_expect_eq(stats(s).keys, 1);
	cr_expect_eq(begin(s, 0, "b", 2, 2, &c), API_IDEM_BUSY);
	api_idem_finish(s, b, 201, "application/json", "b:2", 3, "/v1/things/b");
	expect_replay(s, 0, "b", 2, 3);

	/* expired while its request runs: the same, and a drop frees it too */
	api_idem_free(s);
	s = api_idem_new(10, 1 << 20, TTL);
	cr_assert_eq(begin(s, 0, "a", 1, 0, &a), API_IDEM_NEW);
	cr_assert_eq(begin(s, 0, "b", 2, 0, &b), API_IDEM_NEW);
	cr_assert_eq(begin(s, 0, "a", 1, TTL, &c), API_IDEM_NEW); /* both expired */
	cr_expect_eq(stats(s).expired, 2);
	api_idem_finish(s, a, 201, "application/json", "{}", 2, NULL);
	api_idem_drop(s, b);
	api_idem_finish(s, c, 201, "application/json", "a:1", 3, "/v1/things/a");
	expect_replay(s, 0, "a", 1, TTL + 1);
	cr_expect_eq(stats(s).keys, 1);
	api_idem_free(s);
}

Test(api_idem, many_keys)
{
	enum { N = 20000 };
	struct api_idem *s = api_idem_new(65536, 64u << 20, TTL);
	char key[32];

	cr_assert(s);
	for (unsigned i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%u", i);
		put(s, i % 3, key, i, i / 100);
	}
	cr_expect_eq(stats(s).keys, N);
	for (unsigned i = 0; i < N; i += 7) {
		snprintf(key, sizeof(key), "key-%u", i);
		expect_replay(s, i % 3, key, i, 200);
	}
	cr_expect_eq(stats(s).evicted, 0);
	api_idem_free(s);
}
