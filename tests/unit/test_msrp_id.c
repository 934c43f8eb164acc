/* test_msrp_id.c — ids minted by msrp/msrp_id.c: lengths, alphabets (RFC 4975 §9
 * session-id and ident), shards of every shard number, no duplicates in 100 000 ids of each
 * kind, an even spread of the random characters, fresh bytes after fork() and across
 * threads, and the keyed hash (wolfSSL's SipHash-2-4 checked against the published
 * vectors). Ids handed to msrp_id_shard() sit against a guard page. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/siphash.h>

#include "msrp/msrp_id.h"
#include "msrp/msrp_uri.h"
#include "tests/lib/guard.h"

#define NIDS 100000

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static int is_b32(char c)
{
	return c != '\0' && strchr(b32, c) != NULL;
}

/* msrp_id_shard() on a guarded copy of <id>. */
static int shard_of(const char *id, size_t n, unsigned nshards)
{
	const char *g = guard_copy(id, n);
	int s;

	cr_assert(g != NULL);
	s = msrp_id_shard((cm_slice){ g, n }, nshards);
	guard_release(g);
	return s;
}

/* ident = ALPHANUM 3*31ident-char; ident-char = ALPHANUM / "." / "-" / "+" / "%" / "=" */
static int is_ident(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr(".-+%=", c)))
			return 0;
	}
	return 1;
}

Test(msrp_id, init)
{
	cr_assert_eq(msrp_id_init(), 0);
	cr_assert_eq(msrp_id_init(), 0);
}

Test(msrp_id, session_form)
{
	char id[MSRP_ID_SESSION_LEN + 1], uri[128];

	for (unsigned s = 0; s < 256; s++) {
		memset(id, 'X', sizeof(id));
		cr_assert_eq(msrp_id_session(s, id, sizeof(id)), MSRP_ID_SESSION_LEN);
		cr_assert_eq(strlen(id), MSRP_ID_SESSION_LEN);
		for (size_t i = 0; i < MSRP_ID_SESSION_LEN; i++)
			cr_assert(is_b32(id[i]), "%s", id);
		/* valid in a URI: session-id = 1*( unreserved / "+" / "=" / "/" ) */
		snprintf(uri, sizeof(uri), "msrp://gw.example.net:2855/%s;tcp", id);
		struct msrp_uri u;

		cr_assert_eq(msrp_uri_parse((cm_slice){ uri, strlen(uri) }, &u), 0, "%s", uri);
		cr_assert_eq(u.session_id.len, MSRP_ID_SESSION_LEN);
	}
	cr_assert_eq(msrp_id_session(256, id, sizeof(id)), -EINVAL);
	cr_assert_eq(msrp_id_session(~0u, id, sizeof(id)), -EINVAL);
	cr_assert_eq(msrp_id_session(0, id, MSRP_ID_SESSION_LEN), -ENOSPC);
	cr_assert_eq(msrp_id_session(0, NULL, 0), -ENOSPC);
}

Test(msrp_id, shard_round_trip)
{
	static const unsigned ns[] = { 1, 2, 3, 5, 7, 12, 24, 100, 129, 255, 256, 257, 1000 };
	char id[MSRP_ID_SESSION_LEN + 1];

	for (unsigned s = 0; s < 256; s++) {
		for (int rep = 0; rep < 4; rep++) {
			cr_assert_eq(msrp_id_session(s, id, sizeof(id)), MSRP_ID_SESSION_LEN);
			cr_assert_eq(shard_of(id, MSRP_ID_SESSION_LEN, 256), (int)s, "%s", id);
			for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
				int want = (int)(s % ns[k]);

				cr_assert_eq(shard_of(id, MSRP_ID_SESSION_LEN, ns[k]), want,
					     "%s in %u", id, ns[k]);
				if (s < ns[k])
					cr_assert_eq(want, (int)s);
			}
			cr_assert_eq(shard_of(id, MSRP_ID_SESSION_LEN, 0), -1);
		}
	}
}

Test(msrp_id, foreign_ids)
{
	static const char *const peers[] = {
		"", "jshA7weztas", "9di4eae923wzd", "kjhd37s2s20w2a",
		"raaaaaaaaaaaaaaaaaaaaaaaa",                   /* 25 characters */
		"raaaaaaaaaaaaaaaaaaaaaa",                     /* 23 */
		"saaaaaaaaaaaaaaaaaaaaaaa",                    /* not 'r' */
		"rzaaaaaaaaaaaaaaaaaaaaaa",                    /* shard above 255 */
		"r0aaaaaaaaaaaaaaaaaaaaaa", "ra0aaaaaaaaaaaaaaaaaaaaa", /* not base32 */
	};
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		cr_assert_eq(shard_of(peers[i], strlen(peers[i]), 16), -1, "%s", peers[i]);

	/* any one character changed: not ours any more (odd weights of the check) */
	char id[MSRP_ID_SESSION_LEN + 1], alt[MSRP_ID_SESSION_LEN + 1];

	for (int rep = 0; rep < 20; rep++) {
		cr_assert_eq(msrp_id_session((unsigned)rep * 13, id, sizeof(id)),
			     MSRP_ID_SESSION_LEN);
		for (size_t pos = 0; pos < MSRP_ID_SESSION_LEN; pos++) {
			for (int c = 0; c < 256; c++) {
				if (c == (unsigned char)id[pos])
					continue;
				memcpy(alt, id, sizeof(id));
				alt[pos] = (char)c;
				cr_assert_eq(shard_of(alt, MSRP_ID_SESSION_LEN, 256), -1,
					     "%s -> %s", id, alt);
			}
		}
		/* upper case is another id (session-ids compare case-sensitively) */
		for (size_t pos = 0; pos < MSRP_ID_SESSION_LEN; pos++)
			alt[pos] = (char)(id[pos] >= 'a' ? id[pos] - 32 : id[pos]);
		cr_assert_eq(shard_of(alt, MSRP_ID_SESSION_LEN, 256), -1);
	}
}

Test(msrp_id, route)
{
	char id[MSRP_ID_SESSION_LEN + 1];
	unsigned seen[7] = { 0 };

	for (unsigned s = 0; s < 256; s++) {
		cr_assert_eq(msrp_id_session(s, id, sizeof(id)), MSRP_ID_SESSION_LEN);
		cr_assert_eq(msrp_id_route((cm_slice){ id, MSRP_ID_SESSION_LEN }, 256), s);
		cr_assert_eq(msrp_id_route((cm_slice){ id, MSRP_ID_SESSION_LEN }, 7), s % 7);
		cr_assert_eq(msrp_id_route((cm_slice){ id, MSRP_ID_SESSION_LEN }, 1), 0);
	}
	/* peers' ids: hashed, the same answer every time, spread over the shards */
	for (unsigned i = 0; i < 7000; i++) {
		char peer[32];
		int n = snprintf(peer, sizeof(peer), "peer%usession", i);
		cm_slice sl = { peer, (size_t)n };
		unsigned r = msrp_id_route(sl, 7);

		cr_assert_lt(r, 7);
		cr_assert_eq(msrp_id_route(sl, 7), r);
		cr_assert_eq(r, (unsigned)(msrp_id_hash(sl) % 7));
		seen[r]++;
	}
	for (int k = 0; k < 7; k++)
		cr_assert(seen[k] > 800 && seen[k] < 1200, "shard %d: %u", k, seen[k]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Mints NIDS ids of <len> characters with <mint>, checks the alphabet, that no two are
 * equal, and that every random character position takes all 32 values about equally
 * often (positions [<from>, <to>)). */
static void many(int (*mint)(char *, size_t), size_t len, size_t from, size_t to)
{
	size_t w = len + 1;
	char *ids = malloc(NIDS * w);
	static unsigned counts[32][32];

	cr_assert(ids != NULL);
	memset(counts, 0, sizeof(counts));
	for (size_t i = 0; i < NIDS; i++) {
		char *id = ids + i * w;

		cr_assert_eq(mint(id, w), (int)len);
		for (size_t k = from; k < to; k++) {
			const char *v = strchr(b32, id[k]);

			cr_assert(v && *v, "%s", id);
			counts[k][v - b32]++;
		}
	}
	qsort(ids, NIDS, w, cmp_str);
	for (size_t i = 1; i < NIDS; i++)
		cr_assert_neq(strcmp(ids + (i - 1) * w, ids + i * w), 0, "duplicate %s",
			      ids + i * w);
	/* NIDS / 32 = 3125 per value, sd ~ 55: +-20 % is more than 10 sd */
	for (size_t k = from; k < to; k++)
		for (int v = 0; v < 32; v++)
			cr_assert(counts[k][v] > 2500 && counts[k][v] < 3750,
				  "position %zu value %d: %u", k, v, counts[k][v]);
	free(ids);
}

static int mint_session(char *buf, size_t len)
{
	static unsigned s;

	return msrp_id_session(s++ % 256, buf, len);
}

Test(msrp_id, sessions_unique_and_random, .timeout = 60)
{
	/* the 20 random characters: 100 bits, of which 80 are all RFC 4975 §14.1 asks */
	many(mint_session, MSRP_ID_SESSION_LEN, 3, 3 + 20);
}

Test(msrp_id, tids_unique_and_random, .timeout = 60)
{
	char t[MSRP_ID_TID_LEN + 1];

	cr_assert_eq(msrp_id_tid(t, sizeof(t)), MSRP_ID_TID_LEN);
	cr_assert(is_ident(t), "%s", t);
	cr_assert_eq(msrp_id_tid(t, MSRP_ID_TID_LEN), -ENOSPC);
	cr_assert_leq(MSRP_ID_TID_LEN, MSRP_TID_MAX);
	many(msrp_id_tid, MSRP_ID_TID_LEN, 0, MSRP_ID_TID_LEN);
}

Test(msrp_id, message_ids_unique_and_random, .timeout = 60)
{
	char m[MSRP_ID_MSGID_LEN + 1];

	cr_assert_eq(msrp_id_message(m, sizeof(m)), MSRP_ID_MSGID_LEN);
	cr_assert(is_ident(m), "%s", m);
	cr_assert_eq(msrp_id_message(m, MSRP_ID_MSGID_LEN), -ENOSPC);
	many(msrp_id_message, MSRP_ID_MSGID_LEN, 0, MSRP_ID_MSGID_LEN);
}

/* A child must not hand out the bytes left in its parent's buffer. */
Test(msrp_id, fork_gets_fresh_bytes)
{
	char parent[MSRP_ID_TID_LEN + 1], child[MSRP_ID_TID_LEN + 1];
	int fds[2];
	pid_t pid;

	cr_assert_eq(msrp_id_init(), 0);
	cr_assert_eq(msrp_id_tid(parent, sizeof(parent)), MSRP_ID_TID_LEN); /* buffer filled */
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int ok = msrp_id_tid(child, sizeof(child)) == MSRP_ID_TID_LEN &&
			 write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child);
		_exit(ok ? 0 : 1);
	}
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
	cr_assert_eq(msrp_id_tid(parent, sizeof(parent)), MSRP_ID_TID_LEN);
	cr_assert_str_neq(parent, child);
	close(fds[0]);
	close(fds[1]);
}

#define THREADS 4
#define PER_THREAD 5000

static char thread_ids[THREADS * PER_THREAD][MSRP_ID_TID_LEN + 1];

static void *mint_thread(void *arg)
{
	size_t t = (size_t)arg;

	for (size_t i = 0; i < PER_THREAD; i++)
		if (msrp_id_tid(thread_ids[t * PER_THREAD + i], MSRP_ID_TID_LEN + 1) !=
		    MSRP_ID_TID_LEN)
			return (void *)1;
	return NULL;
}

Test(msrp_id, threads_do_not_share_bytes)
{
	pthread_t th[THREADS];

	for (size_t t = 0; t < THREADS; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, mint_thread, (void *)t), 0);
	for (size_t t = 0; t < THREADS; t++) {
		void *rv;

		cr_assert_eq(pthread_join(th[t], &rv), 0);
		cr_assert_null(rv);
	}
	qsort(thread_ids, THREADS * PER_THREAD, sizeof(thread_ids[0]), cmp_str);
	for (size_t i = 1; i < THREADS * PER_THREAD; i++)
		cr_assert_str_neq(thread_ids[i - 1], thread_ids[i]);
}

Test(msrp_id, hash_stable_within_process)
{
	static const char *const ids[] = { "jshA7weztas", "9di4eae923wzd", "a", "" };
	uint64_t h[4];

	for (size_t i = 0; i < 4; i++) {
		size_t n = strlen(ids[i]);
		const char *g = guard_copy(ids[i], n);

		h[i] = msrp_id_hash((cm_slice){ g, n });
		/* same bytes elsewhere: same hash */
		cr_assert_eq(msrp_id_hash((cm_slice){ ids[i], n }), h[i]);
		cr_assert_eq(msrp_id_hash((cm_slice){ g, n }), h[i]);
		guard_release(g);
	}
	cr_assert_eq(msrp_id_hash(CM_SLICE_NULL), h[3]);
	for (size_t i = 0; i < 4; i++)
		for (size_t j = i + 1; j < 4; j++)
			cr_assert_neq(h[i], h[j]);
	/* one character apart */
	cr_assert_neq(msrp_id_hash(CM_SLICE_LIT("jshA7weztas")),
		      msrp_id_hash(CM_SLICE_LIT("jshA7weztaS")));
}

/* The library is SipHash-2-4: the vectors of the reference implementation (key 00..0f,
 * message 00..n-1; output bytes little-endian). */
Test(msrp_id, wolfssl_siphash_is_2_4)
{
	unsigned char key[16], msg[64], out[8];
	static const unsigned char v0[8] = { 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 };
	static const unsigned char v15[8] = { 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 };

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	cr_assert_eq(wc_SipHash(key, msg, 0, out, 8), 0);
	cr_assert_eq(memcmp(out, v0, 8), 0);
	cr_assert_eq(wc_SipHash(key, msg, 15, out, 8), 0);
	cr_assert_eq(memcmp(out, v15, 8), 0);
}
