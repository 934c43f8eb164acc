/* msrp_creds_cache.c — the bounded TTL cache of msrp_creds_cache.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msrp/msrp_auth.h"
#include "msrp/msrp_creds_cache.h"
#include "msrp/msrp_id.h"

struct cc_entry {
	uint64_t hash;
	uint64_t expires_ms;       /* 0: the entry is free */
	uint64_t used;             /* c->clock at the last put or hit */
	uint8_t ha1[16];
	uint8_t found;             /* 1: ha1 holds the user's HA1; 0: no such user */
	uint8_t ulen;
	char user[MSRP_AUTH_NAME_MAX];
};

struct msrp_creds_cache {
	struct cc_entry *v;
	uint32_t set_mask;         /* sets - 1 */
	uint32_t ttl_ms;
	uint32_t used;
	uint64_t clock;            /* use counter: the order of the LRU */
};

struct msrp_creds_cache *msrp_creds_cache_new(uint32_t entries, uint32_t ttl_ms)
{
	if (!ttl_ms || !entries || entries > (1u << 30))
		return NULL;
	uint32_t n = MSRP_CREDS_CACHE_WAYS;
	while (n < entries)
		n <<= 1;
	struct msrp_creds_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->v = calloc(n, sizeof(*c->v));   /* pages are touched as sets fill */
	if (!c->v) {
		free(c);
		return NULL;
	}
	c->set_mask = n / MSRP_CREDS_CACHE_WAYS - 1;
	c->ttl_ms = ttl_ms;
	return c;
}

void msrp_creds_cache_free(struct msrp_creds_cache *c)
{
	if (!c)
		return;
	free(c->v);
	free(c);
}

static struct cc_entry *set_of(struct msrp_creds_cache *c, uint64_t h)
{
	return &c->v[(size_t)(h & c->set_mask) * MSRP_CREDS_CACHE_WAYS];
}

static int same_user(const struct cc_entry *e, uint64_t h, cm_slice user)
{
	return e->expires_ms && e->hash == h && e->ulen == user.len &&
	       !memcmp(e->user, user.p, user.len);
}

static int name_ok(cm_slice user)
{
	return user.len > 0 && user.len <= MSRP_AUTH_NAME_MAX && user.p;
}

int msrp_creds_cache_get(struct msrp_creds_cache *c, cm_slice user, uint64_t now_ms,
			 uint8_t ha1[16])
{
	if (!name_ok(user))
		return -EAGAIN;
	uint64_t h = msrp_id_hash(user);
	struct cc_entry *set = set_of(c, h);
	for (unsigned i = 0; i < MSRP_CREDS_CACHE_WAYS; i++) {
		struct cc_entry *e = &set[i];
		if (!same_user(e, h, user))
			continue;
		if (now_ms >= e->expires_ms) {
			e->expires_ms = 0;
			c->used--;
			return -EAGAIN;
		}
		e->used = ++c->clock;
		if (!e->found)
			return -ENOENT;
		memcpy(ha1, e->ha1, 16);
		return 0;
	}
	return -EAGAIN;
}

void msrp_creds_cache_put(struct msrp_creds_cache *c, cm_slice user, uint64_t now_ms,
			  const uint8_t *ha1)
{
	if (!name_ok(user))
		return;
	uint64_t h = msrp_id_hash(user);
	struct cc_entry *set = set_of(c, h), *slot = NULL;
	/* the user's own entry, else a free or stale one, else the least recently used */
	for (unsigned i = 0; i < MSRP_CREDS_CACHE_WAYS && !slot; i++)
		if (same_user(&set[i], h, user))
			slot = &set[i];
	for (unsigned i = 0; i < MSRP_CREDS_CACHE_WAYS && !slot; i++)
		if (!set[i].expires_ms || now_ms >= set[i].expires_ms)
			slot = &set[i];
	if (!slot) {
		slot = &set[0];
		for (unsigned i = 1; i < MSRP_CREDS_CACHE_WAYS; i++)
			if (set[i].used < slot->used)
				slot = &set[i];
	}
	if (!slot->expires_ms)
		c->used++;
	slot->hash = h;
	slot->expires_ms = now_ms + c->ttl_ms;
	slot->used = ++c->clock;
	slot->found = ha1 != NULL;
	if (ha1)
		memcpy(slot->ha1, ha1, 16);
	else
		memset(slot->ha1, 0, 16);
	slot->ulen = (uint8_t)user.len;
	memcpy(slot->user, user.p, user.len);
}

uint32_t msrp_creds_cache_used(const struct msrp_creds_cache *c)
{
	return c->used;
}

uint32_t msrp_creds_cache_capacity(const struct msrp_creds_cache *c)
{
	return (c->set_mask + 1) * MSRP_CREDS_CACHE_WAYS;
}
