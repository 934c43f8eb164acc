/* gw_caps.h — RCS capability discovery by SIP OPTIONS (GSMA RCC.07 §2.6.1.1): what services a
 * user's device has, as the feature tags of the Contact in its answer (rcs/rcs_tags.h) say.
 *
 * One struct gw_caps per worker, on its thread, on the worker's user agent (gw_ua_options()).
 * Answers are kept per URI for rcs.capability_ttl (a negative one — no 200 — a tenth of it),
 * at most rcs.capability_cache of them (the oldest answer goes first); queries for a URI
 * whose OPTIONS is on its way wait for that one; an OPTIONS with no final answer within
 * rcs.capability_timeout counts as 408. The API sends every query for a URI to the same
 * worker (gw_caps_worker_of), so that one cache serves it. */
#ifndef GW_CAPS_H
#define GW_CAPS_H

#include <stdint.h>

#include "common/cm_config-t.h"
#include "engine/eng.h"

struct gw_caps;
struct gw_ua;

#define GW_CAPS_URI_MAX 512

/* What is known of a URI's capabilities. */
struct gw_caps_answer {
	int sip_code;              /* the OPTIONS's final status; 408 when none in time */
	unsigned services;         /* RCS_SVC_* of the Contact's feature tags (200 only) */
	unsigned other;            /* feature-tag URNs that are none of those */
	char botversion[32];       /* +g.gsma.rcs.botversion, "" when none */
	int cached;                /* from the cache, no OPTIONS sent for this query */
	uint64_t checked_ms;       /* wall clock of the answer */
	uint64_t expires_ms;       /* it is reused until then */
};

/* Called once per query: on the worker's thread, maybe before gw_caps_query() returns (a
 * cached answer). <a> is valid during the call. */
typedef void (*gw_caps_fn)(void *arg, const struct gw_caps_answer *a);

/* On worker <w>'s thread, once its user agent runs. NULL when out of memory. */
struct gw_caps *gw_caps_start(const struct cm_config *cfg, eng_worker *w, struct gw_ua *ua);
/* After the worker stopped (its user agent told every OPTIONS 503 already). */
void gw_caps_free(struct gw_caps *c);

/* The capabilities of <uri> (a sip:, sips: or tel: URI; at most GW_CAPS_URI_MAX bytes):
 * from the cache unless <fresh>, else by an OPTIONS. 0 with <fn> called now or later, or
 * -EINVAL (<uri> unusable), -EHOSTUNREACH (no route to it), -ENOMEM / -ENOSPC / -EBUSY (the
 * OPTIONS could not go): then <fn> is not called. */
int gw_caps_query(struct gw_caps *c, const char *uri, int fresh, gw_caps_fn fn, void *arg);

/* The worker of <nworkers> whose cache holds <uri>. Any thread. */
unsigned gw_caps_worker_of(const char *uri, unsigned nworkers);

struct gw_caps_stats {
	uint64_t queries, hits, options_sent, answered, timeouts, evicted;
	uint32_t entries;
};
void gw_caps_stats(const struct gw_caps *c, struct gw_caps_stats *out);

#endif
