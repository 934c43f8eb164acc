/* cc_svc.h — the contact centre in the daemon (issue 10): cc_core's bookkeeping on one
 * worker (CC_SVC_WORKER, "home"), chats bridged on the workers of their customers.
 *
 * A chat reaches a flow when an incoming INVITE with MSRP media is addressed to the flow's
 * "uri" (its user and host; the port is not compared): the centre claims the session
 * (gw_ua's hooks, before the page-mode gateway), answers it, tells the customer the flow's
 * queued_text, and queues it at home. When home offers it to an agent, the customer's
 * worker makes the agent's chat leg (an outgoing session from the customer's URI to the
 * agent's chat_location) and bridges the two once it is up: each side's messages go to the
 * other as they came (content type, Message-ID, report asks), failure REPORTs of one leg go
 * back to the other's sender. An agent leg not up within cc.offer_timeout is cancelled and
 * the chat goes to the next agent; what the customer says meanwhile is held (cc.max_held).
 * Either side ending ends both. An agent who logs out hands its chats back: their legs end,
 * the customers stay, and wait for the next agent.
 *
 * Each flow and agent lives at home, so that an agent's load is one count across flows;
 * every worker keeps a read-only copy of the flows' addresses (published by home through
 * the mailboxes). Workers and home speak through the mailboxes only (retried while full).
 * A call (an INVITE without MSRP to a flow's uri; gw_ua's call hook) is claimed the same
 * way, told the flow's announcement (a 180's Alert-Info) and 182 Queued (again every
 * minute) and queued; its offer is an INVITE to the agent's voice_location
 * carrying the caller's SDP as it came (a signalling B2BUA: the media goes end to end),
 * whose answer goes to the caller in its 200; the rest as for chats (no messages).
 *
 * Return convention: 0 or -errno; the API's operations return 0 or an HTTP status with a
 * message. */
#ifndef CC_SVC_H
#define CC_SVC_H

#include <jansson.h>
#include <stddef.h>

#include "callcenter/cc_core.h"
#include "common/cm_config-t.h"
#include "engine/eng.h"

#define CC_SVC_WORKER 0u

struct cc_svc;
struct gw_ua;
struct gw_ua_shared;

/* Made on the main thread before the workers start, when cc.enabled (else *<out> NULL and
 * 0): its hooks are added to the user agent's (before the gateway's). <publish> takes the
 * reference of each event (api_event_publish). -errno with <err>. */
int cc_svc_new(const struct cm_config *cfg, eng_engine *e, struct gw_ua_shared *ua,
	       int (*publish)(json_t *ev), struct cc_svc **out, char *err, size_t errlen);
/* On each worker's thread at its start, with its user agent. 0 or -errno with <err>. */
int cc_svc_worker_start(struct cc_svc *s, eng_worker *w, struct gw_ua *ua, char *err,
			size_t errlen);
/* After the workers stopped. */
void cc_svc_free(struct cc_svc *s);
/* A reload (SIGHUP, main thread): the definitions file <path> is read now and each of its
 * flows and agents created or replaced on home, as PUT would (those only the API made stay);
 * the group "cc" reports what was done. 0; -EINVAL (the file is bad: <err>, nothing done);
 * -EAGAIN (home's mailbox is full); -ENOMEM. */
int cc_svc_reload(struct cc_svc *s, const char *path, char *err, size_t errlen);

/* ---- the API's operations, on worker CC_SVC_WORKER's thread ------------------------------ */

/* Create or replace (<created> 1 when it was new). 0, 400 (bad values), 503. */
int cc_svc_flow_set(struct cc_svc *s, const struct cc_flow_cfg *f, int *created, char *msg,
		    size_t len);
int cc_svc_flow_del(struct cc_svc *s, const char *id, char *msg, size_t len); /* 0, 404 */
int cc_svc_agent_set(struct cc_svc *s, const struct cc_agent_cfg *a, int *created, char *msg,
		     size_t len);
/* 0, 404, 409 (logged in: log it out first) */
int cc_svc_agent_del(struct cc_svc *s, const char *id, char *msg, size_t len);
int cc_svc_agent_login(struct cc_svc *s, const char *id, int in, char *msg, size_t len);
/* Offers waiting item <item> to <agent>: 0, 404 (item or agent), 409 (the agent cannot take
 * it now, or the item is not waiting). */
int cc_svc_dispatch(struct cc_svc *s, uint64_t item, const char *agent, char *msg, size_t len);
/* Views (the caller's reference; NULL: no such thing). Items carry the customer's
 * "session". */
json_t *cc_svc_flows(struct cc_svc *s, const char *id);  /* id NULL: an array of all */
json_t *cc_svc_agents(struct cc_svc *s, const char *id); /* id NULL: an array of all */
json_t *cc_svc_queue(struct cc_svc *s);

/* Counters of the centre (home's), safe from any thread (relaxed atomics). */
struct cc_svc_stats {
	uint64_t queued, dispatched, answered, refused, abandoned, timed_out, ended;
	uint64_t waiting, agents_free, agents_busy, agents_offline;
	uint64_t chats_claimed, chats_refused_full, held, held_overflow, forwarded,
		 forward_failed, legs_timed_out, mailbox_retries;
	uint64_t chats_refused_max_waiting;  /* of chats_refused_full: cc.max_waiting reached */
};
void cc_svc_stats(const struct cc_svc *s, struct cc_svc_stats *out);
/* Per flow and per agent, for /metrics: a copy of what home published last (at most
 * CC_SVC_SNAP_MS old), any thread; cc_svc_snap_free() it. NULL: none yet / no memory. */
#define CC_SVC_SNAP_MS 500
struct cc_svc_flow_snap {
	char id[CC_ID_MAX + 1];
	uint64_t waiting, chats_answered, calls_answered, abandoned, timed_out, wait_ms_avg;
	uint64_t waiting_chats, waiting_calls;
};
struct cc_svc_agent_snap {
	char id[CC_ID_MAX + 1];
	char state[16];
	uint64_t chats, chats_answered, calls_answered, refused;
};
struct cc_svc_snap {
	unsigned nflows, nagents;
	struct cc_svc_flow_snap *flows;
	struct cc_svc_agent_snap *agents;
};
struct cc_svc_snap *cc_svc_snap(struct cc_svc *s);
void cc_svc_snap_free(struct cc_svc_snap *sn);

#endif
