/* msrp_creds_src.h — where the relay finds a user's HA1, without ever blocking a worker:
 * a chain of sources asked in order, one chain per worker.
 *
 *   1. the htdigest file (struct msrp_creds, loaded at start, shared read-only): user and
 *      realm compared exactly;
 *   2. Redis (relay.credentials_redis): HGET <redis_key> <user> -> the HA1 as 32 hex
 *      characters; nil = no such user. hiredis async on the worker's loop; the link
 *      reconnects with a backoff (100 ms doubling to 5 s) when it drops; an answer later
 *      than timeout_ms fails the ask and drops the link (a Redis that slow is taken for
 *      broken; the asks behind it fail with -EIO and go on to the hook);
 *   3. the HTTP hook (relay.credentials_hook): POST {"user": U, "realm": R} -> 200
 *      {"ha1": "<32 hex>"}; 404 = no such user; anything else (other status, other
 *      body, no answer within timeout_ms) is a failure. eng_http on the worker's loop.
 *
 * A source that does not know the user passes the question to the next one. A source that
 * fails passes it on too; when no later source finds the user, the answer is that failure
 * (-ETIMEDOUT or -EIO), not -ENOENT. Answers of Redis and the hook, found or not found, are
 * cached per worker for cache_ttl_ms (0: no cache) in MSRP_CREDS_CACHE_ENTRIES entries
 * (LRU per set); failures are not cached. The file is not cached (it is a hash table).
 *
 * Everything runs on the source's worker thread (creation included); callbacks come from
 * the worker's loop, never from inside msrp_creds_lookup().
 *
 * Return convention: 0 or a positive state, -errno on failure. */
#ifndef MSRP_CREDS_SRC_H
#define MSRP_CREDS_SRC_H

#include <stdint.h>

#include "common/cm_slice-t.h"
#include "engine/eng-t.h"
#include "msrp/msrp_auth.h"

#define MSRP_CREDS_CACHE_ENTRIES 65536  /* cached answers per worker */
#define MSRP_CREDS_REDIS_ASKS    4096   /* Redis asks in flight per worker; more: -EAGAIN */

struct msrp_creds_src;
struct msrp_creds_req;
struct eng_http_req;

/* Where the credentials are. Strings are copied by msrp_creds_src_new(); <file> is not (it
 * must outlive the source). NULL or "" means "not configured". */
struct msrp_creds_src_cfg {
	const struct msrp_creds *file;  /* relay.credentials_file, loaded */
	const char *redis;              /* relay.credentials_redis: "host:port" */
	const char *redis_key;          /* relay.credentials_redis_key */
	const char *hook;               /* relay.credentials_hook: http(s) URL */
	uint32_t timeout_ms;            /* relay.hook_timeout: Redis and hook answers */
	uint32_t cache_ttl_ms;          /* relay.hook_cache_ttl; 0 = no cache */
	const char *realm;              /* relay.realm: file lookups and the hook's "realm" */
};

/* The answer of a pending lookup. <rc> 0: found, <ha1> (16 bytes, valid during the call)
 * holds the HA1; -ENOENT: no such user (<ha1> NULL); -ETIMEDOUT / -EIO: a backend failed
 * (<ha1> NULL). <req> is no longer pending when this runs: it may be reused or freed. */
typedef void (*msrp_creds_cb)(struct msrp_creds_req *req, void *arg, int rc,
			      const uint8_t ha1[16]);

/* A lookup in progress, embedded in the caller's memory (no allocation by the caller).
 * Fields are private to msrp_creds_src.c; zero it once before first use (a finished or
 * cancelled request may then be reused). */
struct msrp_creds_req {
	struct msrp_creds_src *src;     /* NULL when not pending */
	msrp_creds_cb cb;
	void *arg;
	struct msrp_creds_req *prev, *next; /* the source's pending list */
	eng_timer tmo;                  /* deadline of the Redis answer */
	void *redis_ask;                /* the Redis ask in flight, or NULL */
	struct eng_http_req *http;      /* the hook request in flight, or NULL */
	int failed;                     /* -errno of a source that failed, 0 */
	uint8_t ulen;
	char user[MSRP_AUTH_NAME_MAX + 1];
};

/* Counters of one source (worker). */
struct msrp_creds_stats {
	uint64_t file_hits;             /* found in the file */
	uint64_t cache_hits;            /* answered from the cache (found or not found) */
	uint64_t redis_asks;            /* HGETs sent */
	uint64_t redis_fail;            /* asks that failed: link down, timeout, bad value */
	uint64_t hook_asks;             /* hook POSTs started */
	uint64_t hook_fail;             /* hook asks that failed: timeout, status, body */
	uint64_t not_found;             /* lookups answered -ENOENT */
};

/* 1 when <cfg> names at least one source (file with entries, Redis or hook), else 0. */
int msrp_creds_src_any(const struct msrp_creds_src_cfg *cfg);

/* The source chain of worker <w>, on <w>'s thread. A Redis given by name is resolved here,
 * once (getaddrinfo: may block; start-up only), and the connection starts. NULL when
 * <cfg> is invalid (Redis address that does not parse or resolve, timeout_ms 0 with Redis
 * or hook) or out of memory; the reason is logged. */
struct msrp_creds_src *msrp_creds_src_new(eng_worker *w, const struct msrp_creds_src_cfg *cfg);

/* Frees <s>. Pending lookups end silently (no callback). Allowed from inside one of its
 * callbacks. NULL is accepted. */
void msrp_creds_src_free(struct msrp_creds_src *s);
/* The htdigest file is <file> from now on (a reload); <s>'s thread. Lookups in flight are
 * not affected (the file is read synchronously). */
void msrp_creds_src_set_file(struct msrp_creds_src *s, const struct msrp_creds *file);

/* Looks up the HA1 of <user> (copied: the caller's buffer may go at once).
 *   0        found now (file or cache): <ha1_now> filled, no callback;
 *   -ENOENT  no such user now (every source said so, or the cache; or <user> is empty or
 *            longer than MSRP_AUTH_NAME_MAX), no callback;
 *   1        pending: <cb>(<req>, <arg>, ...) comes later from the loop, exactly once,
 *            unless msrp_creds_cancel(<req>) or msrp_creds_src_free() comes first;
 *   -EIO / -ETIMEDOUT / -EAGAIN  cannot ask now (e.g. the Redis link is down and no hook
 *            follows; too many Redis asks in flight), no callback;
 *   -EBUSY   <req> is already pending;
 *   -ECANCELED  <s> is being freed (a lookup from a callback after msrp_creds_src_free).
 * <req> must stay where it is while pending. */
int msrp_creds_lookup(struct msrp_creds_src *s, cm_slice user, struct msrp_creds_req *req,
		      msrp_creds_cb cb, void *arg, uint8_t ha1_now[16]);

/* Ends a pending lookup without a callback; harmless when <req> is not pending. */
void msrp_creds_cancel(struct msrp_creds_req *req);

/* 1 while <req> is pending. */
static inline int msrp_creds_pending(const struct msrp_creds_req *req)
{
	return req->src != 0;
}

/* Copies the counters of <s>. Worker thread only. */
void msrp_creds_src_stats(const struct msrp_creds_src *s, struct msrp_creds_stats *out);

#endif
