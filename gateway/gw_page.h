/* gw_page.h — the SIP MESSAGE ⇄ MSRP session gateway (RFC 3428 page mode on one side, RFC
 * 4975 sessions on the other), on top of the user agent (gw_ua.h).
 *
 * A page-mode client's MESSAGEs that the rules (gateway.rules) take become one MSRP session
 * per (page-mode user, RCS user) pair — both addresses normalised (scheme, user, lower-case
 * host, no port, no parameters). The first MESSAGE starts it (an INVITE to its
 * Request-URI); MESSAGEs queue (gateway.max_queued) until it is up; each MESSAGE body is one
 * SEND with its Content-Type. Each whole message that comes on the MSRP side is a MESSAGE to
 * the page-mode user (its From address), over TCP above 1300 bytes (RFC 3428 §6). A pair
 * lives on the worker its key hashes to: MESSAGEs for it cross to that worker once.
 *
 * Answers to the page-mode client (the mapping, documented in etc/rcsgw.conf too):
 *   queued or sent                             202 (gateway.await_delivery false)
 *   with await_delivery: MSRP 200 / success REPORT  200
 *                        MSRP failure (REPORT or response) with status S  S when 400..699,
 *                                                                           else 500
 *                        no outcome within delivery_timeout             408
 *   queue full                                 503 + Retry-After: 5
 *   the session could not be set up            the INVITE's final code (4xx..6xx), 480 for
 *                                              a failure with none (timeout: 408), and a
 *                                              gateway.setup_failed event
 *   a type the RCS side does not accept        415;  larger than its max-size: 413
 *   no rule takes it                           gateway.reject_code, or with
 *                                              gateway.unmatched = proxy it is forwarded
 *                                              (outbound proxy, else its Request-URI) and
 *                                              the final status passed back (408 when none
 *                                              came within delivery_timeout, 483 at
 *                                              Max-Forwards 0)
 * A failure on the MSRP side for a MESSAGE answered 202 already (a failure REPORT) is told
 * to its sender in a MESSAGE from the RCS user's address (text/plain, "rcsgw: your message
 * (MSRP Message-ID X) was not delivered: CODE").
 * A MESSAGE toward the page-mode user that fails becomes a failure REPORT on the MSRP side
 * (unless its sender said Failure-Report: no), Status 408 for SIP 408/480/503/504, 413 for
 * 413/513, 415 for 415, 403 for the rest; the MSRP side had its hop-by-hop 200 already.
 *
 * Sessions end (BYE) after gateway.session_timeout without activity either way and after
 * gateway.message_timeout without a MESSAGE, or when either side ends them. */
#ifndef GW_PAGE_H
#define GW_PAGE_H

#include <jansson.h>

#include "common/cm_config-t.h"
#include "gateway/gw_ua.h"

struct gw_page_shared;
struct gw_page;

/* From the configuration, main thread, after gw_ua_shared_new and before the workers
 * start: installs the gateway's hooks in <ua> when gateway.enabled. NULL (and nothing
 * installed) when it is off; <err> filled and NULL on a real error (*<failed> set). */
struct gw_page_shared *gw_page_shared_new(const struct cm_config *cfg, struct gw_ua_shared *ua,
					  gw_publish_fn publish, int *failed, char *err,
					  size_t errlen);
void gw_page_shared_free(struct gw_page_shared *sh);

/* On worker <ua>'s thread, after gw_ua_start. NULL on ENOMEM. */
struct gw_page *gw_page_start(struct gw_page_shared *sh, struct gw_ua *ua);
void gw_page_free(struct gw_page *gp);
struct gw_page *gw_page_at(struct gw_page_shared *sh, unsigned worker);

#define GW_PAGE_KEY_MAX (2 * GW_UA_MAX_URI + 1) /* bytes of a pair key */

/* For the API, on the owning worker's thread. A gateway session is named by the id of its
 * user-agent session or by its key ("<page-mode user>|<RCS user>", normalised, as its JSON
 * says). */
json_t *gw_page_session_json(struct gw_page *gp, const char *id_or_key);
void gw_page_list(struct gw_page *gp, json_t *arr);
/* 0, or 404. */
int gw_page_end(struct gw_page *gp, const char *id_or_key);
/* The worker whose gateway holds the pair of key <key>. Any thread. */
unsigned gw_page_worker_of_key(const struct gw_page_shared *sh, const char *key);

struct gw_page_stats {
	uint64_t messages_in;          /* MESSAGEs from page-mode clients converted */
	uint64_t messages_out;         /* MSRP messages sent on as MESSAGEs */
	uint64_t out_failed;           /* ... whose MESSAGE failed */
	uint64_t rejected;             /* MESSAGEs no rule took */
	uint64_t queue_full;           /* 503s */
	uint64_t queue_limit;          /* ... of them at gateway.max_queued (the pair's queue) */
	uint64_t setup_failed;         /* sessions that never came up */
	uint64_t delivered;            /* await_delivery: 200s */
	uint64_t delivery_failed;      /* await_delivery: failures and timeouts */
	uint64_t notified;             /* failure notices sent to page-mode senders */
	uint64_t proxied;              /* MESSAGEs no rule takes, forwarded (unmatched = proxy) */
	uint64_t adopted;              /* pairs made anew for sessions taken over (issue 8) */
	uint64_t proxy_failed;         /* ... that got no answer in time or could not go */
	uint64_t hook_denied;          /* refused by Sh or Ro (403, or a failure REPORT) */
	uint64_t hook_failed;          /* Sh or Ro without a verdict (503 unless allowed) */
	uint32_t sessions;             /* alive */
	uint32_t queued;               /* MESSAGEs waiting for their session to come up, now */
};
void gw_page_stats(const struct gw_page *gp, struct gw_page_stats *out);
/* The pairs of this worker: <up> with their session established, <connecting> still
 * setting it up. Walks the table (for /metrics). */
void gw_page_count_pairs(const struct gw_page *gp, uint32_t *up, uint32_t *connecting);

/* Diameter hooks (issue 9, off unless diameter.sh_check / ro_charging): before a MESSAGE
 * creates a session, Sh for its sender (refused: 403); for each message, Ro for its
 * sender (refused: 403 to a MESSAGE, a failure REPORT for an MSRP message). Main thread,
 * before the workers start. */
struct dm_svc;
void gw_page_set_diameter(struct gw_page_shared *sh, struct dm_svc *dm);

#endif
