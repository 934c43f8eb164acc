/* api_idem.c — the Idempotency-Key store (see api_idem.h for the contract).
 *
 * Keys sit in a hash table (chains; SipHash-2-4 of owner and key under a random key of the
 * store, so that clients cannot aim keys at one chain) and in one list by age, oldest
 * first. Every key lives the same TTL from its first request, so the list is also the order
 * in which keys expire: expiry and eviction both take from its old end.
 *
 * An entry whose request is still running (ES_RUNNING) belongs to the table and to that
 * request at once. When the table lets go of it (TTL, eviction) it becomes ES_ORPHAN: out
 * of the table and of every count, freed by the api_idem_finish/drop that ends its request.
 * So a request's entry is never freed under it, and a key forgotten mid-request frees its
 * place at once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/siphash.h>

#include "api/api_idem.h"

enum ent_state {
	ES_RUNNING = 0,        /* its request has not been answered */
	ES_DONE,               /* answered; the answer is kept */
	ES_ORPHAN,             /* forgotten while running: only its request holds it */
};

struct api_idem_ent {
	struct api_idem_ent *hnext;        /* next in its chain */
	struct api_idem_ent *older, *newer; /* the age list */
	uint64_t born_ms;
	uint64_t hv;                       /* chain hash of (owner, key) */
	uint32_t owner;
	unsigned char state;               /* enum ent_state */
	unsigned char key_len;
	unsigned char hash[API_IDEM_HASH_LEN];
	unsigned status;                   /* ES_DONE: the answer */
	const char *ctype;
	char *body;
	size_t body_len;
	char *location;
	size_t bytes;                      /* counted against max_bytes */
	char key[];                        /* key_len bytes */
};

struct api_idem {
	struct api_idem_ent **chain;
	size_t mask;                       /* chains - 1 (a power of two less one) */
	struct api_idem_ent *oldest, *newest;
	unsigned max_keys;
	size_t max_bytes;
	uint64_t ttl_ms;
	unsigned char sip_key[SIPHASH_KEY_SIZE];
	struct api_idem_stats st;          /* keys and bytes count table entries only */
};

/* ---- the request's fingerprint ----------------------------------------------------------- */

int api_idem_key_ok(cm_slice key)
{
	if (key.len == 0 || key.len > API_IDEM_KEY_MAX)
		return 0;
	for (size_t i = 0; i < key.len; i++)
		if ((unsigned char)key.p[i] < 0x21 || (unsigned char)key.p[i] > 0x7e)
			return 0;
	return 1;
}

/* Feeds <len> bytes of <p> to <sha> in pieces that fit wolfSSL's word32 lengths. */
static int sha_feed(wc_Sha256 *sha, const void *p, size_t len)
{
	const byte *b = p;
	int rc = 0;

	while (rc == 0 && len) {
		word32 n = len > (1u << 30) ? (1u << 30) : (word32)len;
		rc = wc_Sha256Update(sha, b, n);
		b += n;
		len -= n;
	}
	return rc;
}

int api_idem_hash(const char *method, const char *path, cm_slice body,
		  unsigned char out[API_IDEM_HASH_LEN])
{
	wc_Sha256 sha;

	if (wc_InitSha256(&sha) != 0)
		return -EIO;
	/* the NULs keep "POST /a" + "b..." apart from "POST /ab" + "..." */
	int rc = sha_feed(&sha, method, strlen(method) + 1);
	if (rc == 0)
		rc = sha_feed(&sha, path, strlen(path) + 1);
	if (rc == 0 && body.len)
		rc = sha_feed(&sha, body.p, body.len);
	if (rc == 0)
		rc = wc_Sha256Final(&sha, out);
	wc_Sha256Free(&sha);
	return rc == 0 ? 0 : -EIO;
}

/* ---- the table ----------------------------------------------------------------------------- */

static uint64_t key_hash(const struct api_idem *s, uint32_t owner, cm_slice key)
{
	unsigned char in[4 + API_IDEM_KEY_MAX], h[SIPHASH_MAC_SIZE_8];
	uint64_t v = 0;

	for (int i = 0; i < 4; i++)
		in[i] = (unsigned char)(owner >> (8 * i));
	memcpy(in + 4, key.p, key.len);
	/* cannot fail with a valid key size and output size; the worst is a constant hash */
	if (wc_SipHash(s->sip_key, in, (word32)(4 + key.len), h, sizeof(h)) != 0)
		return 0;
	for (int k = 7; k >= 0; k--)
		v = v << 8 | h[k];
	return v;
}

static struct api_idem_ent *find(const struct api_idem *s, uint64_t hv, uint32_t owner,
				 cm_slice key)
{
	for (struct api_idem_ent *e = s->chain[hv & s->mask]; e; e = e->hnext)
		if (e->hv == hv && e->owner == owner && e->key_len == key.len &&
		    memcmp(e->key, key.p, key.len) == 0)
			return e;
	return NULL;
}

static void ent_free(struct api_idem_ent *e)
{
	free(e->body);
	free(e->location);
	free(e);
}

/* Takes <e> out of the chains, the age list and the counts (it is not freed). */
static void unlink_ent(struct api_idem *s, struct api_idem_ent *e)
{
	struct api_idem_ent **pp = &s->chain[e->hv & s->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->older)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	e->hnext = e->older = e->newer = NULL;
	s->st.keys--;
	s->st.bytes -= e->bytes;
}

/* The table lets go of <e>: freed, or left to its running request. */
static void forget(struct api_idem *s, struct api_idem_ent *e)
{
	unlink_ent(s, e);
	if (e->state == ES_RUNNING)
		e->state = ES_ORPHAN;
	else
		ent_free(e);
}

static void expire(struct api_idem *s, uint64_t now_ms)
{
	struct api_idem_ent *e;

	while ((e = s->oldest) && now_ms >= e->born_ms && now_ms - e->born_ms >= s->ttl_ms) {
		s->st.expired++;
		forget(s, e);
	}
}

/* Evicts the oldest keys but <keep> until <more> bytes and, with <slot>, one more key fit.
 * 0, or -ENOSPC when only <keep> is left and they still do not. */
static int make_room(struct api_idem *s, size_t more, int slot, const struct api_idem_ent *keep)
{
	while ((slot && s->st.keys >= s->max_keys) || more > s->max_bytes - s->st.bytes) {
		struct api_idem_ent *v = s->oldest == keep ? keep->newer : s->oldest;
		if (!v)
			return -ENOSPC;
		s->st.evicted++;
		forget(s, v);
	}
	return 0;
}

/* ---- the store ----------------------------------------------------------------------------- */

struct api_idem *api_idem_new(unsigned max_keys, size_t max_bytes, uint64_t ttl_ms)
{
	size_t nchains = 16;

	if (max_keys == 0 || max_bytes == 0)
		return NULL;
	while (nchains < max_keys && nchains < ((size_t)1 << 24))
		nchains <<= 1;
	struct api_idem *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->chain = calloc(nchains, sizeof(*s->chain));
	if (!s->chain ||
	    getrandom(s->sip_key, sizeof(s->sip_key), 0) != (ssize_t)sizeof(s->sip_key)) {
		free(s->chain);
		free(s);
		return NULL;
	}
	s->mask = nchains - 1;
	s->max_keys = max_keys;
	s->max_bytes = max_bytes;
	s->ttl_ms = ttl_ms;
	return s;
}

void api_idem_free(struct api_idem *s)
{
	if (!s)
		return;
	for (struct api_idem_ent *e = s->oldest, *nx; e; e = nx) {
		nx = e->newer;
		ent_free(e);
	}
	free(s->chain);
	free(s);
}

int api_idem_begin(struct api_idem *s, uint32_t owner, cm_slice key,
		   const unsigned char hash[API_IDEM_HASH_LEN], uint64_t now_ms,
		   struct api_idem_ent **ent)
{
	*ent = NULL;
	if (!api_idem_key_ok(key))
		return -EINVAL;
	expire(s, now_ms);

	uint64_t hv = key_hash(s, owner, key);
	struct api_idem_ent *e = find(s, hv, owner, key);
	if (e) {
		/* another request under a used key is the client's bug even while the first
		 * runs: say so rather than "retry later" */
		if (memcmp(e->hash, hash, API_IDEM_HASH_LEN) != 0) {
			s->st.mismatches++;
			return API_IDEM_MISMATCH;
		}
		if (e->state == ES_RUNNING) {
			s->st.busy++;
			return API_IDEM_BUSY;
		}
		s->st.replays++;
		*ent = e;
		return API_IDEM_REPLAY;
	}

	size_t bytes = sizeof(*e) + key.len;
	if (bytes > s->max_bytes)
		return -ENOMEM;
	e = calloc(1, bytes);
	if (!e)
		return -ENOMEM;
	(void)make_room(s, bytes, 1, NULL); /* succeeds: <bytes> fits in an empty store */
	e->born_ms = now_ms;
	e->hv = hv;
	e->owner = owner;
	e->state = ES_RUNNING;
	e->key_len = (unsigned char)key.len;
	memcpy(e->hash, hash, API_IDEM_HASH_LEN);
	memcpy(e->key, key.p, key.len);
	e->bytes = bytes;
	e->hnext = s->chain[hv & s->mask];
	s->chain[hv & s->mask] = e;
	e->older = s->newest;
	if (s->newest)
		s->newest->newer = e;
	else
		s->oldest = e;
	s->newest = e;
	s->st.keys++;
	s->st.bytes += bytes;
	*ent = e;
	return API_IDEM_NEW;
}

void api_idem_drop(struct api_idem *s, struct api_idem_ent *e)
{
	if (e->state != ES_ORPHAN)
		unlink_ent(s, e);
	ent_free(e);
}

void api_idem_finish(struct api_idem *s, struct api_idem_ent *e, unsigned status,
		     const char *ctype, const char *body, size_t len, const char *location)
{
	size_t loc_len = location ? strlen(location) + 1 : 0;
	int keep = status / 100 == 2 || status / 100 == 4;

	if (e->state == ES_ORPHAN) {
		ent_free(e);
		return;
	}
	/* the sum cannot wrap: <len> is the size of a buffer in memory */
	size_t more = len + 1 + loc_len;
	if (keep && more <= s->max_bytes - e->bytes) {
		e->body = malloc(len + 1);
		e->location = location ? strdup(location) : NULL;
		keep = e->body && (e->location || !location) && make_room(s, more, 0, e) == 0;
	} else {
		keep = 0;
	}
	if (!keep) {
		s->st.not_kept++;
		api_idem_drop(s, e);
		return;
	}
	if (len)
		memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->body_len = len;
	e->status = status;
	e->ctype = ctype;
	e->state = ES_DONE;
	e->bytes += more;
	s->st.bytes += more;
}

void api_idem_answer(const struct api_idem_ent *e, struct api_idem_answer *a)
{
	a->status = e->status;
	a->ctype = e->ctype;
	a->body = e->body;
	a->len = e->body_len;
	a->location = e->location;
}

void api_idem_stats(const struct api_idem *s, struct api_idem_stats *st)
{
	*st = s->st;
}
