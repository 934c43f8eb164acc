/* msrp_creds_cache.h — a bounded cache of credential answers (user -> HA1, or "no such
 * user") with a time to live, for one worker (msrp_creds_src.c keeps one per worker).
 *
 * Set-associative: MSRP_CREDS_CACHE_WAYS entries per set, the set chosen by a keyed hash
 * of the user name (msrp_id_hash: peers cannot aim names at one set); a full set gives up
 * its least recently used entry. Every operation is O(MSRP_CREDS_CACHE_WAYS), allocation
 * happens at creation only. Not thread-safe: one owner thread.
 *
 * Times are milliseconds of any monotonic clock, given by the caller. */
#ifndef MSRP_CREDS_CACHE_H
#define MSRP_CREDS_CACHE_H

#include <stdint.h>

#include "common/cm_slice-t.h"

#define MSRP_CREDS_CACHE_WAYS 4    /* entries per set */

struct msrp_creds_cache;

/* A cache of at least <entries> entries (rounded up to a power of two, at least
 * MSRP_CREDS_CACHE_WAYS) whose answers live <ttl_ms> (> 0). NULL on bad arguments or
 * out of memory. */
struct msrp_creds_cache *msrp_creds_cache_new(uint32_t entries, uint32_t ttl_ms);

/* Frees <c>; NULL is accepted. */
void msrp_creds_cache_free(struct msrp_creds_cache *c);

/* The answer kept for <user> at <now_ms>: 0 with <ha1> filled (known user), -ENOENT (known
 * to be absent), -EAGAIN (nothing fresh kept: ask the sources). */
int msrp_creds_cache_get(struct msrp_creds_cache *c, cm_slice user, uint64_t now_ms,
			 uint8_t ha1[16]);

/* Keeps the answer for <user> from <now_ms> on: <ha1> (16 bytes), or NULL for "no such
 * user". Names longer than MSRP_AUTH_NAME_MAX (or empty) are not kept. */
void msrp_creds_cache_put(struct msrp_creds_cache *c, cm_slice user, uint64_t now_ms,
			  const uint8_t *ha1);

/* Entries kept now, fresh or not (for tests and stats). */
uint32_t msrp_creds_cache_used(const struct msrp_creds_cache *c);

/* Entries the cache can hold. */
uint32_t msrp_creds_cache_capacity(const struct msrp_creds_cache *c);

#endif
