/* api_idem.h — the Idempotency-Key store of the REST API: what a POST with a key was
 * answered, so that the same POST again gets the same answer instead of a second effect.
 *
 * One store per api thread, used on that thread only (no lock). It knows nothing of HTTP:
 * api_http.c checks the header, hashes the request (api_idem_hash), asks the store
 * (api_idem_begin) before the route's handler runs, and hands it the answer when the answer
 * goes out (api_idem_finish), or forgets the key when none will (api_idem_drop).
 *
 * A key is identified by (<owner>, key bytes): the owner is whoever authenticated (the
 * index of the bearer token), so two clients may pick the same key. Each key remembers the
 * SHA-256 of its request and, once answered, the answer. Keys live <ttl_ms> from their
 * first request; the store holds at most <max_keys> keys and <max_bytes> bytes of them
 * (keys, answers and bookkeeping): past either bound the oldest key goes first (counted in
 * evicted). A key whose request is still running when it expires or is evicted leaves the
 * table at once; its entry stays valid for that request until api_idem_finish/drop.
 *
 * Time is whatever clock the caller passes as <now_ms> (monotonic milliseconds in the
 * daemon, made up in tests); it must not go backwards.
 *
 * Return convention: 0 or a verdict on success, -errno on failure. */
#ifndef API_IDEM_H
#define API_IDEM_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_slice-t.h"

#define API_IDEM_KEY_MAX    255              /* bytes of a key */
#define API_IDEM_HASH_LEN   32               /* SHA-256 */

struct api_idem;                             /* a store (opaque) */
struct api_idem_ent;                         /* one key in it (opaque) */

enum api_idem_verdict {
	API_IDEM_NEW = 0,      /* first use: *<ent> is in progress; finish or drop it */
	API_IDEM_REPLAY,       /* answered before, same request: api_idem_answer(*<ent>) */
	API_IDEM_MISMATCH,     /* the key was used for another request (hash differs): 422 */
	API_IDEM_BUSY,         /* the key's first request has not been answered yet: 409 */
};

/* An answer as stored. The pointers belong to the store: valid until the next call on it. */
struct api_idem_answer {
	unsigned status;
	const char *ctype;     /* the static string the answer was given with */
	const char *body;      /* <len> bytes, NUL-terminated */
	size_t len;
	const char *location;  /* the Location header, or NULL */
};

struct api_idem_stats {
	uint64_t replays;      /* API_IDEM_REPLAY verdicts */
	uint64_t mismatches;   /* API_IDEM_MISMATCH verdicts */
	uint64_t busy;         /* API_IDEM_BUSY verdicts */
	uint64_t evicted;      /* keys pushed out by max_keys or max_bytes */
	uint64_t expired;      /* keys that reached their TTL */
	uint64_t not_kept;     /* answers not kept: not 2xx/4xx, or larger than max_bytes */
	unsigned keys;         /* keys held now (in progress or answered) */
	size_t bytes;          /* bytes held now, as counted against max_bytes */
};

/* Is <key> a valid Idempotency-Key value: 1 to API_IDEM_KEY_MAX bytes, each a visible
 * US-ASCII character (%x21-7E)? 1 or 0. */
int api_idem_key_ok(cm_slice key);

/* The SHA-256 of "<method> NUL <path> NUL <body>" into <out>. 0, or -EIO when wolfSSL
 * fails. */
int api_idem_hash(const char *method, const char *path, cm_slice body,
		  unsigned char out[API_IDEM_HASH_LEN]);

/* A store of at most <max_keys> keys (>= 1) and <max_bytes> bytes, whose keys live
 * <ttl_ms>. NULL when out of memory or given a bound of 0. */
struct api_idem *api_idem_new(unsigned max_keys, size_t max_bytes, uint64_t ttl_ms);

/* Frees <s> and every key in it (NULL is fine). No entry handed out by api_idem_begin may
 * still be in progress. */
void api_idem_free(struct api_idem *s);

/* The verdict for a request of <owner> with <key> (valid: api_idem_key_ok) whose hash is
 * <hash>, at <now_ms>; keys past their TTL are forgotten first. *<ent> is set for NEW (a new
 * entry, in progress: the caller must end it with api_idem_finish or api_idem_drop) and
 * REPLAY (read it with api_idem_answer before the next call on <s>), else NULL.
 * -ENOMEM (nothing changed), -EINVAL (bad key). */
int api_idem_begin(struct api_idem *s, uint32_t owner, cm_slice key,
		   const unsigned char hash[API_IDEM_HASH_LEN], uint64_t now_ms,
		   struct api_idem_ent **ent);

/* The request of <ent> (from NEW) was answered <status> with <len> bytes of <body> as
 * <ctype> (a static string), with Location <location> (NULL: none). 2xx and 4xx answers are
 * copied and kept (older keys make room when max_bytes is passed); any other, one that does
 * not fit in max_bytes on its own, or one that cannot be copied, is not, and the key is
 * forgotten (a retry runs again). <ent> is not the caller's any more. */
void api_idem_finish(struct api_idem *s, struct api_idem_ent *ent, unsigned status,
		     const char *ctype, const char *body, size_t len, const char *location);

/* The request of <ent> (from NEW) ends without an answer to keep (its client went away, its
 * answer is a stream): the key is forgotten. <ent> is not the caller's any more. */
void api_idem_drop(struct api_idem *s, struct api_idem_ent *ent);

/* The stored answer of <ent> (from REPLAY) into <a>. */
void api_idem_answer(const struct api_idem_ent *ent, struct api_idem_answer *a);

/* The counters and sizes of <s> into <st>. */
void api_idem_stats(const struct api_idem *s, struct api_idem_stats *st);

#endif
