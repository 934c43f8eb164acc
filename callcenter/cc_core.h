/* cc_core.h — the contact centre's bookkeeping (issue 10, first piece): flows (queues),
 * agents, the items waiting in the flows, and who takes what. No I/O: the layer above
 * tells it what happens (an item comes, an agent answers or not, a chat or a call ends, the
 * customer hangs up, time passes) and hears from it what to do (offer this item to this
 * agent) and what to tell applications (events). Every time is given by the caller, in
 * milliseconds of a monotonic clock, so that tests are exact.
 *
 * Rules (from the issue):
 *   - a chat agent holds up to max_chats chats at once; a chat in wrap-up still holds one
 *     slot until wrapup_s is over; a call takes the whole agent (no chat in progress nor in
 *     wrap-up, and no chat is offered while the call lasts or wraps up);
 *   - chats go by the flow's policy: balancing (the agent with the fewest chats, then the
 *     one idle longest) or full-load (the agent with the most chats still below its
 *     maximum, then the one idle longest); calls go to the free agent idle longest;
 *   - an agent takes items of a flow when one of its skills is the flow's skill;
 *   - waiting items are taken by flow priority (higher first), then by arrival;
 *   - an item offered and not answered goes to the next agent (the one that did not
 *     answer is not offered it again this round; once every agent that can take it had
 *     it, a new round starts CC_ROUND_PAUSE_MS later); an agent who logs out hands its
 *     chats (offered or in progress) and a call offered back to their flows (first in
 *     line, the wait for max_wait starting again for a chat that was in progress), so no
 *     customer is lost;
 *   - a flow with dispatch = external never offers by itself: the application picks the
 *     agent (cc_dispatch_to);
 *   - an item waiting longer than its flow's max_wait_s is abandoned (reason max_wait).
 *
 * One instance lives on one worker; it is not thread-safe. Return convention: 0 or a count
 * on success, -errno on failure. */
#ifndef CC_CORE_H
#define CC_CORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CC_ID_MAX 63                   /* bytes of a flow's, an agent's or a skill's name */
#define CC_URI_MAX 255                 /* bytes of a location or a customer */
#define CC_SKILLS_MAX 16               /* skills of one agent */
#define CC_MAX_CHATS_LIMIT 64          /* what max_chats may say */
#define CC_ROUND_PAUSE_MS 2000         /* between two rounds of offers of one item */
#define CC_FLOWS_MAX 1000              /* flows of a centre */
#define CC_AGENTS_MAX 10000            /* agents of a centre */

enum cc_policy { CC_BALANCING = 0, CC_FULL_LOAD };
enum cc_dispatch { CC_INTERNAL = 0, CC_EXTERNAL };
enum cc_kind { CC_CHAT = 0, CC_CALL };
enum cc_agent_state { CC_OFFLINE = 0, CC_FREE, CC_INCALL, CC_INCHAT, CC_WRAPUP };
enum cc_item_state { CC_QUEUED = 0, CC_OFFERED, CC_ACTIVE, CC_WRAPPING, CC_DONE };

const char *cc_policy_name(enum cc_policy p);
const char *cc_agent_state_name(enum cc_agent_state s);
const char *cc_item_state_name(enum cc_item_state s);
const char *cc_kind_name(enum cc_kind k);

struct cc_flow_cfg {
	char id[CC_ID_MAX + 1];
	char skill[CC_ID_MAX + 1];
	int priority;                  /* higher first */
	uint32_t max_wait_s;           /* 0: no limit */
	enum cc_policy policy;         /* chats */
	enum cc_dispatch dispatch;
	char queued_text[512];         /* told to a waiting chat customer ("" none) */
	char announce_uri[CC_URI_MAX + 1]; /* played to a waiting caller ("" none) */
	char uri[CC_URI_MAX + 1];      /* the address customers reach it at ("" none) */
};

struct cc_agent_cfg {
	char id[CC_ID_MAX + 1];
	char skills[CC_SKILLS_MAX][CC_ID_MAX + 1];
	unsigned nskills;
	char voice[CC_URI_MAX + 1];    /* where its calls go ("" none: no calls) */
	char chat[CC_URI_MAX + 1];     /* where its chats go ("" none: no chats) */
	unsigned max_chats;            /* 0 is 4 */
	uint32_t wrapup_s;
};

struct cc_center;
struct cc_item;
struct cc_agent;

/* What the centre asks of the layer above, during the call that caused it. */
struct cc_ops {
	/* offer item <id> (a <kind> of <customer>) to agent <agent> at <location>; the layer
	 * answers later — never from inside this call — with cc_answered() or cc_refused() */
	void (*offer)(void *arg, uint64_t id, enum cc_kind kind, const char *customer,
		      const char *agent, const char *location);
	/* item <id> left the centre without being taken (customer gone, max_wait, its flow
	 * deleted): the layer ends what it holds of it */
	void (*dropped)(void *arg, uint64_t id, const char *reason);
	/* item <id>, offered to or taken by <agent>, is taken back from it (the agent logged
	 * out): the layer withdraws the offer or ends the leg toward that agent, keeps the
	 * customer's, and waits for the next offer */
	void (*recalled)(void *arg, uint64_t id, const char *agent);
	/* an event for applications ("cc.agent", "cc.queued", "cc.dispatched",
	 * "cc.abandoned"), reference taken */
	void (*event)(void *arg, json_t *ev);
	void *arg;
};

struct cc_center *cc_new(const struct cc_ops *ops);
void cc_free(struct cc_center *c);

/* Flows and agents (create or replace by id; the items and chats in progress stay). 0,
 * -EINVAL (bad values), -ENOSPC (CC_FLOWS_MAX or CC_AGENTS_MAX), -ENOMEM. Deleting: -ENOENT; a flow's waiting items are abandoned
 * (reason flow_deleted); an agent must be logged out first (-EBUSY). */
int cc_flow_set(struct cc_center *c, const struct cc_flow_cfg *f, uint64_t now);
int cc_flow_del(struct cc_center *c, const char *id, uint64_t now);
int cc_agent_set(struct cc_center *c, const struct cc_agent_cfg *a, uint64_t now);
int cc_agent_del(struct cc_center *c, const char *id, uint64_t now);
int cc_agent_login(struct cc_center *c, const char *id, uint64_t now);
int cc_agent_logout(struct cc_center *c, const char *id, uint64_t now);

/* A customer's chat or call for flow <flow>: its id (> 0) once queued (and maybe offered
 * at once), or -ENOENT (no such flow), -ENOMEM. */
int64_t cc_enqueue(struct cc_center *c, const char *flow, enum cc_kind kind,
		   const char *customer, uint64_t now);
/* Agent <agent> took item <id> (its chat session is up, its call answered): 0, -ENOENT, or
 * -EINVAL (it is not offered to that agent now: withdrawn, or another's). */
int cc_answered(struct cc_center *c, uint64_t id, const char *agent, uint64_t now);
/* Agent <agent> did not take it (no answer, busy, failure): offered to the next one. */
int cc_refused(struct cc_center *c, uint64_t id, const char *agent, uint64_t now);
/* The chat or call of item <id> ended (either side): its agent wraps up. */
int cc_ended(struct cc_center *c, uint64_t id, uint64_t now);
/* The customer of item <id> went while it waited or was offered: abandoned. */
int cc_abandon(struct cc_center *c, uint64_t id, uint64_t now);
/* External dispatch (or an operator's choice): offer waiting item <id> to agent <agent>.
 * 0, -ENOENT (item or agent), -EBUSY (the agent cannot take it now: state, slots, skill),
 * -EINVAL (the item is not waiting). */
int cc_dispatch_to(struct cc_center *c, uint64_t id, const char *agent, uint64_t now);
/* Time passes: wrap-ups end, waits run out, what can be offered is. Returns the ms until
 * the next thing due (UINT64_MAX: nothing). */
uint64_t cc_tick(struct cc_center *c, uint64_t now);

/* Views (JSON, references the caller's): one agent, every agent, every flow, the waiting
 * items. NULL: no such agent / out of memory. */
json_t *cc_agent_json(struct cc_center *c, const char *id, uint64_t now);
json_t *cc_agents_json(struct cc_center *c, uint64_t now);
json_t *cc_flows_json(struct cc_center *c, uint64_t now);
json_t *cc_queue_json(struct cc_center *c, uint64_t now);

/* 1 when there is a flow (an agent) of that id, else 0. */
int cc_flow_exists(struct cc_center *c, const char *id);
int cc_agent_exists(struct cc_center *c, const char *id);

struct cc_stats {
	uint64_t queued, dispatched, answered, refused, abandoned, timed_out, ended;
	uint32_t waiting, agents_free, agents_busy, agents_offline;
};
void cc_stats(const struct cc_center *c, struct cc_stats *out);

#endif
