/* msrp_egress.h — where the relay sends a request whose next hop is not one of its own
 * clients: the egress rules of relay.egress, then the relay.egress_hook, then "direct".
 *
 * Rules ("MATCH NEXTHOP [src=IP]", first match wins) are parsed once at start into a
 * read-only table that every worker shares. Each worker has its own struct msrp_egress:
 * the rules' hit counters, the HTTP client of the hook and a bounded cache of the hook's
 * answers per destination host. Nothing here takes a lock.
 *
 *   MATCH   = host           a DNS name, compared case-insensitively
 *           | "." domain     a name below <domain> ("*." domain means the same); the
 *           | "*." domain    domain itself does not match
 *           | address        IPv4, or IPv6 bare or in brackets: matches URIs whose host is
 *                            that address (an address never matches a name, nor a name
 *                            an address)
 *           | "*"            everything
 *   NEXTHOP = "direct"       the URI's own host and port (2855 when it has none), TLS for
 *                            msrps, TCP for msrp
 *           | "tcp:" HOST ":" PORT | "tls:" HOST ":" PORT
 *                            HOST a name, an IPv4 address or an IPv6 address in brackets,
 *                            PORT 1..65535
 *   src=IP                   the local address connections to that hop leave from
 *
 * The hook (relay.egress_hook), asked when no rule matches: a POST of
 *   {"uri": "<the destination URI>", "host": "<its host>", "port": <its port or 2855>}
 * answered by 200 {"next_hop": NEXTHOP, "src": "IP"} (src optional; NEXTHOP as above,
 * "direct" included) or by 404, which means direct. Any other status, a body that is not
 * that object, or no answer within hook_timeout is a failure: the request fails with it
 * (not cached, the next request asks again). Answers (200 and 404) are cached per worker
 * per destination host for hook_cache_ttl (0: never cached): another URI with the same
 * host gets the same answer, "direct" then meaning that URI's own host and port. Requests
 * for a host whose answer is awaited wait for that one answer. The cache holds at most
 * MSRP_EGRESS_CACHE_MAX hosts, answered or awaited; when full, the oldest answer goes.
 *
 * Return convention: 0 or -errno, except msrp_egress_route() (below). */
#ifndef MSRP_EGRESS_H
#define MSRP_EGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/cm_config-t.h"
#include "engine/eng-t.h"
#include "msrp/msrp-t.h"
#include "msrp/msrp_pool.h"

#define MSRP_EGRESS_CACHE_MAX 4096 /* hosts in one worker's hook cache (answers + asks) */

struct msrp_egress_rules;
struct msrp_egress;
struct msrp_egress_req;

/* Parses <rules> (relay.egress; NULL or empty: no rules) into *<out>, which the caller
 * frees with msrp_egress_rules_free() once no worker uses it. On error, -EINVAL and <err>
 * says which rule (its index from 0, and its text) and what is wrong with it, e.g.
 *   relay.egress[2] "example.net udp:r:1": next hop "udp:r:1" is not direct,
 *   tcp:HOST:PORT or tls:HOST:PORT
 * -ENOMEM when out of memory. */
int msrp_egress_rules_parse(const struct cm_strlist *rules, struct msrp_egress_rules **out,
			    char *err, size_t errlen);
/* NULL is accepted. */
void msrp_egress_rules_free(struct msrp_egress_rules *r);
/* Rules in the table. */
size_t msrp_egress_rules_count(const struct msrp_egress_rules *r);

/* The rules are <r> from now on (a reload; may be NULL); their hit counters start at 0.
 * <e>'s thread. 0, or -ENOMEM with the old rules kept. */
int msrp_egress_set_rules(struct msrp_egress *e, const struct msrp_egress_rules *r);

/* The egress of worker <w>; call it on <w>'s thread. <r> (may be NULL: no rules) is read,
 * never written, and must outlive the egress. <hook_url> NULL or "": no hook. NULL when
 * out of memory or the HTTP client cannot be set up. With a hook, the process must have
 * run msrp_id_init() (the cache hashes hosts with its keyed SipHash) and
 * eng_http_global_init(). */
struct msrp_egress *msrp_egress_new(eng_worker *w, const struct msrp_egress_rules *r,
				    const char *hook_url, uint32_t timeout_ms,
				    uint32_t cache_ttl_ms);
/* Frees the egress. Requests still waiting for the hook are called back now, before it
 * returns, with -ECANCELED. Allowed from inside a route callback. NULL is accepted. */
void msrp_egress_free(struct msrp_egress *e);

/* <rc> 0: <hop> (valid during the call only) is where to send; else -errno: -ETIMEDOUT,
 * -ECONNREFUSED, -EIO (hook unreachable or a status other than 200 and 404), -EBADMSG
 * (a 200 whose body is not {"next_hop": NEXTHOP[, "src": IP]}), -EINVAL (the answer is
 * "direct" for a URI that cannot be reached directly, a ;ws URI), -ECANCELED (egress
 * freed). */
typedef void (*msrp_egress_cb)(struct msrp_egress_req *req, void *arg, int rc,
			       const struct msrp_hop *hop);

/* One routing request, in the caller's memory (e.g. inside its transaction). Its fields
 * are the egress's: the caller only passes it around, and keeps it where it is while the
 * request is pending. */
struct msrp_egress_req {
	struct msrp_egress_req *next, **pprev; /* in the waiters of <ent> */
	void *ent;                 /* the host entry waited on; NULL when not pending */
	msrp_egress_cb cb;
	void *arg;
	int direct_rc;             /* msrp_hop_direct() of the destination, 0 or -EINVAL */
	struct msrp_hop direct;    /* the destination's direct hop (its URI may not last) */
};

/* Chooses the next hop for <dest> (a URI as msrp_uri_parse() gives it; read during the
 * call only):
 *   0   decided now: *<hop_now> filled, no callback (a rule, a cached answer, direct);
 *   1   pending (the hook is asked, or is already being asked for this host): <cb>(<req>,
 *       <arg>, ...) comes later from the worker's loop, exactly once, unless
 *       msrp_egress_cancel(<req>) comes first;
 *   -errno  refused now, no callback: -EINVAL (direct for a ;ws URI, or a host longer than
 *       MSRP_URI_HOST_MAX), -EAGAIN (the cache is full of asks in flight), -EIO (the HTTP
 *       request could not start), -ENOMEM.
 * Worker thread only. <req> must not be pending already. */
int msrp_egress_route(struct msrp_egress *e, const struct msrp_uri *dest,
		      struct msrp_egress_req *req, msrp_egress_cb cb, void *arg,
		      struct msrp_hop *hop_now);

/* Withdraws a pending <req>: its callback will not come. The hook's answer, when it
 * comes, is still cached for the others. A no-op for a request that is not pending
 * (decided at once, already called back, or cancelled). */
void msrp_egress_cancel(struct msrp_egress_req *req);

/* Counters of one worker's egress (read on its thread). */
struct msrp_egress_stats {
	uint64_t routes;           /* msrp_egress_route() calls */
	uint64_t rule_hits;        /* decided by a rule (per rule: msrp_egress_rule_hits()) */
	uint64_t direct;           /* no rule and no hook: direct */
	uint64_t hook_asks;        /* HTTP requests to the hook */
	uint64_t hook_failures;    /* asks that failed: timeout, status, body */
	uint64_t hook_waits;       /* routes that waited for an ask already in flight */
	uint64_t cache_hits;       /* routes answered from the cache */
	uint64_t cache_evictions;  /* answers dropped before their TTL because the cache was full */
	uint64_t cache_size;       /* hosts in the cache now (answered or asked) */
};
void msrp_egress_stats(const struct msrp_egress *e, struct msrp_egress_stats *out);
/* Hits of rule <i> (0-based) on this worker; 0 for an index out of range. */
uint64_t msrp_egress_rule_hits(const struct msrp_egress *e, size_t i);

#endif
