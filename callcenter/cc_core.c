/* cc_core.c — the contact centre's bookkeeping (cc_core.h). */
#include "callcenter/cc_core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIED_MAX 32                   /* agents that did not answer an item, remembered */

struct flow {
	struct flow *next;
	struct cc_flow_cfg cfg;
	uint64_t chats_answered, calls_answered, abandoned, timed_out;
	uint64_t wait_ms_total, waits; /* of the items dispatched and answered */
};

struct cc_agent {
	struct cc_agent *next;
	struct cc_agent_cfg cfg;
	uint64_t serial;
	int logged_in;
	unsigned chats, chats_offered, chats_wrapping;
	struct cc_item *call;          /* offered, active or wrapping */
	uint64_t idle_since;           /* when it last had nothing at all */
	enum cc_agent_state last_state;
	unsigned last_chats;           /* what cc.agent said last */
	uint64_t chats_answered, calls_answered, refused;
};

struct cc_item {
	struct cc_item *next;          /* in c->items: the waiting ones first, in order */
	uint64_t id;
	enum cc_kind kind;
	enum cc_item_state st;
	char flow[CC_ID_MAX + 1];
	int priority;
	char customer[CC_URI_MAX + 1];
	uint64_t enq, offered_at, until; /* arrival (its place in line); offer; wrap-up end */
	uint64_t wait_from;            /* since when it waits (max_wait): arrival, or its return
	                                * to the line after its agent logged out */
	struct cc_agent *agent;        /* offered to / taken by */
	uint64_t tried[TRIED_MAX];     /* serials of agents that did not answer it */
	unsigned ntried;
	uint64_t not_before;           /* a new round of offers waits until then */
};

struct cc_center {
	struct cc_ops ops;
	struct flow *flows;
	struct cc_agent *agents;
	struct cc_item *items;
	uint64_t next_id, next_serial;
	unsigned nflows, nagents;
	struct cc_stats st;
};

static const char *const policy_names[] = { "balancing", "full-load" };
static const char *const agent_names[] = { "offline", "free", "incall", "inchat", "wrapup" };
static const char *const item_names[] = { "queued", "offered", "active", "wrapup", "done" };
static const char *const kind_names[] = { "chat", "call" };

const char *cc_policy_name(enum cc_policy p)
{
	return (unsigned)p <= CC_FULL_LOAD ? policy_names[p] : "?";
}

const char *cc_agent_state_name(enum cc_agent_state s)
{
	return (unsigned)s <= CC_WRAPUP ? agent_names[s] : "?";
}

const char *cc_item_state_name(enum cc_item_state s)
{
	return (unsigned)s <= CC_DONE ? item_names[s] : "?";
}

const char *cc_kind_name(enum cc_kind k)
{
	return (unsigned)k <= CC_CALL ? kind_names[k] : "?";
}

/* ---- look-ups ------------------------------------------------------------------------ */

static struct flow *flow_find(struct cc_center *c, const char *id)
{
	for (struct flow *f = c->flows; f; f = f->next)
		if (!strcmp(f->cfg.id, id))
			return f;
	return NULL;
}

static struct cc_agent *agent_find(struct cc_center *c, const char *id)
{
	for (struct cc_agent *a = c->agents; a; a = a->next)
		if (!strcmp(a->cfg.id, id))
			return a;
	return NULL;
}

static struct cc_item *item_find(struct cc_center *c, uint64_t id)
{
	for (struct cc_item *i = c->items; i; i = i->next)
		if (i->id == id)
			return i;
	return NULL;
}

/* Item <id> when it is in state <want>: 0 with *<out>, -ENOENT, or -EINVAL (another state). */
static int item_in(struct cc_center *c, uint64_t id, enum cc_item_state want,
		   struct cc_item **out)
{
	*out = item_find(c, id);
	if (!*out)
		return -ENOENT;
	return (*out)->st == want ? 0 : -EINVAL;
}

/* The agent of offered item <it> holds no room for it any more. */
static void offer_release(struct cc_item *it)
{
	if (it->kind == CC_CALL)
		it->agent->call = NULL;
	else
		it->agent->chats_offered--;
}

/* Item <id> when it is offered to agent <agent> now: 0 with *<out>, -ENOENT, or -EINVAL
 * (not offered, or to another: the late word of an agent it was withdrawn from). */
static int offered_to(struct cc_center *c, uint64_t id, const char *agent, struct cc_item **out)
{
	int rc = item_in(c, id, CC_OFFERED, out);
	return rc ? rc : strcmp((*out)->agent->cfg.id, agent) ? -EINVAL : 0;
}

static unsigned max_chats(const struct cc_agent *a)
{
	return a->cfg.max_chats ? a->cfg.max_chats : 4;
}

/* ---- agents' state --------------------------------------------------------------------- */

static enum cc_agent_state agent_state(const struct cc_agent *a)
{
	if (a->call && a->call->st == CC_ACTIVE)
		return CC_INCALL;
	if (a->chats)
		return CC_INCHAT;
	if (!a->logged_in)
		return CC_OFFLINE;
	if (a->chats_wrapping || (a->call && a->call->st == CC_WRAPPING))
		return CC_WRAPUP;
	return CC_FREE;
}

static int busy_at_all(const struct cc_agent *a)
{
	return a->call || a->chats || a->chats_offered || a->chats_wrapping;
}

static json_t *agent_json(const struct cc_center *c, const struct cc_agent *a, uint64_t now)
{
	json_t *skills = json_array(), *items = json_array();
	for (unsigned i = 0; skills && i < a->cfg.nskills; i++)
		json_array_append_new(skills, json_string(a->cfg.skills[i]));
	uint64_t wrap_end = 0;
	for (const struct cc_item *i = c->items; items && i; i = i->next) {
		if (i->agent != a || i->st == CC_QUEUED)
			continue;
		json_array_append_new(items, json_pack("{s:I, s:s, s:s, s:s}", "item",
						       (json_int_t)i->id, "kind", cc_kind_name(i->kind),
						       "state", cc_item_state_name(i->st), "flow",
						       i->flow));
		if (i->st == CC_WRAPPING && i->until > wrap_end)
			wrap_end = i->until;
	}
	json_t *j = json_pack("{s:s, s:s, s:o, s:s, s:s, s:i, s:i, s:I, s:o, s:I, s:I, s:I}", "id",
			      a->cfg.id, "state", cc_agent_state_name(agent_state(a)), "skills",
			      skills ? skills : json_array(), "voice_location", a->cfg.voice,
			      "chat_location", a->cfg.chat, "max_chats", (int)max_chats(a),
			      "wrapup_s", (int)a->cfg.wrapup_s, "chats", (json_int_t)a->chats,
			      "items", items ? items : json_array(), "chats_answered",
			      (json_int_t)a->chats_answered, "calls_answered",
			      (json_int_t)a->calls_answered, "refused", (json_int_t)a->refused);
	if (j && wrap_end > now)
		json_object_set_new(j, "wrapup_ends_in_ms", json_integer((json_int_t)(wrap_end - now)));
	return j;
}

static void emit(struct cc_center *c, const char *type, json_t *ev)
{
	if (!ev)
		return;
	json_object_set_new(ev, "type", json_string(type));
	if (c->ops.event)
		c->ops.event(c->ops.arg, ev);
	else
		json_decref(ev);
}

/* Tells applications when <a>'s state changed (cc.agent). */
static void agent_changed(struct cc_center *c, struct cc_agent *a, uint64_t now)
{
	enum cc_agent_state s = agent_state(a);
	if (!busy_at_all(a) && a->last_state != CC_FREE && s == CC_FREE)
		a->idle_since = now;
	if (s == a->last_state && a->chats == a->last_chats)
		return; /* (told when its state or its number of chats changes) */
	a->last_state = s;
	a->last_chats = a->chats;
	json_t *ev = agent_json(c, a, now);
	if (ev) {
		json_object_set(ev, "agent", json_object_get(ev, "id"));
		json_object_del(ev, "id");
	}
	emit(c, "cc.agent", ev);
}

/* ---- the waiting line ---------------------------------------------------------------- */

static void unlink_item(struct cc_center *c, struct cc_item *it)
{
	struct cc_item **pp = &c->items;
	while (*pp && *pp != it)
		pp = &(*pp)->next;
	if (*pp)
		*pp = it->next;
	it->next = NULL;
}

/* Puts <it> among the waiting ones: after those of a higher priority or of its priority
 * that came before it, before the others (items not waiting follow them all). */
static void insert_waiting(struct cc_center *c, struct cc_item *it)
{
	struct cc_item **pp = &c->items;
	while (*pp && (*pp)->st == CC_QUEUED &&
	       ((*pp)->priority > it->priority ||
		((*pp)->priority == it->priority && (*pp)->enq <= it->enq)))
		pp = &(*pp)->next;
	it->next = *pp;
	*pp = it;
}

static void item_free(struct cc_center *c, struct cc_item *it)
{
	unlink_item(c, it);
	free(it);
}

static int tried(const struct cc_item *it, const struct cc_agent *a)
{
	for (unsigned i = 0; i < it->ntried; i++)
		if (it->tried[i] == a->serial)
			return 1;
	return 0;
}

static int has_skill(const struct cc_agent *a, const char *skill)
{
	for (unsigned i = 0; i < a->cfg.nskills; i++)
		if (!strcmp(a->cfg.skills[i], skill))
			return 1;
	return 0;
}

/* 1 when <a> may be offered <it> now (<any_round>: even if it was this round already). */
static int can_take(const struct cc_agent *a, const struct cc_item *it, const struct flow *f,
		    int any_round)
{
	if (!a->logged_in || a->call || !has_skill(a, f->cfg.skill) || (!any_round && tried(it, a)))
		return 0;
	if (it->kind == CC_CALL)
		return a->cfg.voice[0] && !a->chats && !a->chats_offered && !a->chats_wrapping;
	return a->cfg.chat[0] && a->chats + a->chats_offered + a->chats_wrapping < max_chats(a);
}

/* The agent that item <it> of flow <f> goes to by the rules now, or NULL. */
static struct cc_agent *pick(struct cc_center *c, struct cc_item *it, const struct flow *f,
			     uint64_t now)
{
	struct cc_agent *best = NULL;
	unsigned best_load = 0;
	if (it->not_before > now)
		return NULL;
	if (it->ntried) { /* every agent that could take it now had it this round: a new one,
			   * CC_ROUND_PAUSE_MS later (an agent refusing at once is not offered
			   * the same item again in a loop) */
		int fresh = 0, again = 0;
		for (struct cc_agent *a = c->agents; a && !fresh; a = a->next) {
			fresh |= can_take(a, it, f, 0);
			again |= can_take(a, it, f, 1);
		}
		if (!fresh && again) {
			it->ntried = 0;
			it->not_before = now + CC_ROUND_PAUSE_MS;
			return NULL;
		}
	}
	for (struct cc_agent *a = c->agents; a; a = a->next) {
		if (!can_take(a, it, f, 0))
			continue;
		unsigned load = a->chats + a->chats_offered + a->chats_wrapping;
		int better;
		if (!best)
			better = 1;
		else if (it->kind == CC_CHAT && load != best_load)
			better = f->cfg.policy == CC_FULL_LOAD ? load > best_load : load < best_load;
		else
			better = a->idle_since < best->idle_since; /* idle longest */
		if (better) {
			best = a;
			best_load = load;
		}
	}
	return best;
}

static void offer(struct cc_center *c, struct cc_item *it, struct cc_agent *a, uint64_t now)
{
	unlink_item(c, it);
	it->st = CC_OFFERED;
	it->agent = a;
	it->offered_at = now;
	if (it->kind == CC_CALL)
		a->call = it;
	else
		a->chats_offered++;
	/* (not waiting any more: at the end, the items taken in the order they were offered) */
	struct cc_item **pp = &c->items;
	while (*pp)
		pp = &(*pp)->next;
	it->next = *pp;
	*pp = it;
	c->st.dispatched++;
	emit(c, "cc.dispatched",
	     json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "item", (json_int_t)it->id, "flow",
		       it->flow, "kind", cc_kind_name(it->kind), "customer", it->customer, "agent",
		       a->cfg.id, "waited_ms", (json_int_t)(now - it->enq)));
	if (c->ops.offer)
		c->ops.offer(c->ops.arg, it->id, it->kind, it->customer, a->cfg.id,
			     it->kind == CC_CALL ? a->cfg.voice : a->cfg.chat);
}

/* Offers what can be offered, in the line's order. */
static void run(struct cc_center *c, uint64_t now)
{
	int again = 1;
	while (again) {
		again = 0;
		for (struct cc_item *it = c->items; it && it->st == CC_QUEUED; it = it->next) {
			struct flow *f = flow_find(c, it->flow);
			if (!f || f->cfg.dispatch == CC_EXTERNAL)
				continue;
			struct cc_agent *a = pick(c, it, f, now);
			if (!a)
				continue;
			offer(c, it, a, now); /* (the list changed: from the start) */
			again = 1;
			break;
		}
	}
}

/* ---- flows and agents ---------------------------------------------------------------- */

struct cc_center *cc_new(const struct cc_ops *ops)
{
	struct cc_center *c = calloc(1, sizeof(*c));
	if (c && ops)
		c->ops = *ops;
	return c;
}

void cc_free(struct cc_center *c)
{
	if (!c)
		return;
	while (c->items)
		item_free(c, c->items);
	while (c->flows) {
		struct flow *f = c->flows;
		c->flows = f->next;
		free(f);
	}
	while (c->agents) {
		struct cc_agent *a = c->agents;
		c->agents = a->next;
		free(a);
	}
	free(c);
}

static int name_ok(const char *s)
{
	size_t n = strnlen(s, CC_ID_MAX + 1);
	if (!n || n > CC_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '/' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int cc_flow_set(struct cc_center *c, const struct cc_flow_cfg *cfg, uint64_t now)
{
	if (!name_ok(cfg->id) || !name_ok(cfg->skill) || (unsigned)cfg->policy > CC_FULL_LOAD ||
	    (unsigned)cfg->dispatch > CC_EXTERNAL)
		return -EINVAL;
	struct flow *f = flow_find(c, cfg->id);
	if (!f) {
		if (c->nflows >= CC_FLOWS_MAX)
			return -ENOSPC;
		if (!(f = calloc(1, sizeof(*f))))
			return -ENOMEM;
		c->nflows++;
		f->next = c->flows;
		c->flows = f;
	}
	f->cfg = *cfg;
	/* its waiting items take the new priority */
	for (struct cc_item *it = c->items, *next; it && it->st == CC_QUEUED; it = next) {
		next = it->next;
		if (!strcmp(it->flow, f->cfg.id) && it->priority != f->cfg.priority) {
			unlink_item(c, it);
			it->priority = f->cfg.priority;
			insert_waiting(c, it);
			next = c->items; /* (from the start: the order changed) */
		}
	}
	run(c, now);
	return 0;
}

static void abandon(struct cc_center *c, struct cc_item *it, const char *reason, uint64_t now)
{
	struct flow *f = flow_find(c, it->flow);
	struct cc_agent *a = it->st == CC_OFFERED ? it->agent : NULL;
	if (a)
		offer_release(it);
	c->st.abandoned++;
	if (!strcmp(reason, "max_wait")) {
		c->st.timed_out++;
		if (f)
			f->timed_out++;
	} else if (f) {
		f->abandoned++;
	}
	emit(c, "cc.abandoned",
	     json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "item", (json_int_t)it->id, "flow",
		       it->flow, "kind", cc_kind_name(it->kind), "customer", it->customer, "reason",
		       reason, "waited_ms", (json_int_t)(now - it->enq)));
	uint64_t id = it->id;
	item_free(c, it);
	if (c->ops.dropped)
		c->ops.dropped(c->ops.arg, id, reason);
	if (a)
		agent_changed(c, a, now);
}

int cc_flow_del(struct cc_center *c, const char *id, uint64_t now)
{
	struct flow **pp = &c->flows;
	while (*pp && strcmp((*pp)->cfg.id, id))
		pp = &(*pp)->next;
	if (!*pp)
		return -ENOENT;
	struct flow *f = *pp;
	for (struct cc_item *it = c->items, *next; it; it = next) {
		next = it->next;
		if (!strcmp(it->flow, id) && (it->st == CC_QUEUED || it->st == CC_OFFERED)) {
			abandon(c, it, "flow_deleted", now);
			next = c->items;
		}
	}
	*pp = f->next;
	free(f);
	c->nflows--;
	return 0;
}

int cc_agent_set(struct cc_center *c, const struct cc_agent_cfg *cfg, uint64_t now)
{
	if (!name_ok(cfg->id) || cfg->nskills > CC_SKILLS_MAX ||
	    cfg->max_chats > CC_MAX_CHATS_LIMIT || strnlen(cfg->voice, CC_URI_MAX + 1) > CC_URI_MAX ||
	    strnlen(cfg->chat, CC_URI_MAX + 1) > CC_URI_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < cfg->nskills; i++)
		if (!name_ok(cfg->skills[i]))
			return -EINVAL;
	struct cc_agent *a = agent_find(c, cfg->id);
	if (!a && c->nagents >= CC_AGENTS_MAX)
		return -ENOSPC;
	if (!a) {
		if (!(a = calloc(1, sizeof(*a))))
			return -ENOMEM;
		c->nagents++;
		a->serial = ++c->next_serial;
		a->idle_since = now;
		a->last_state = CC_OFFLINE;
		/* at the end: among agents idle as long, the first made is the first chosen */
		struct cc_agent **pp = &c->agents;
		while (*pp)
			pp = &(*pp)->next;
		*pp = a;
	}
	a->cfg = *cfg;
	run(c, now);
	return 0;
}

int cc_agent_del(struct cc_center *c, const char *id, uint64_t now)
{
	(void)now;
	struct cc_agent **pp = &c->agents;
	while (*pp && strcmp((*pp)->cfg.id, id))
		pp = &(*pp)->next;
	if (!*pp)
		return -ENOENT;
	struct cc_agent *a = *pp;
	if (a->logged_in || busy_at_all(a))
		return -EBUSY;
	*pp = a->next;
	free(a);
	c->nagents--;
	return 0;
}

int cc_agent_login(struct cc_center *c, const char *id, uint64_t now)
{
	struct cc_agent *a = agent_find(c, id);
	if (!a)
		return -ENOENT;
	if (!a->logged_in) {
		a->logged_in = 1;
		a->idle_since = now;
		agent_changed(c, a, now);
		run(c, now);
	}
	return 0;
}

/* <it>, offered to or taken by an agent, waits again (first in its line: its arrival
 * kept, its flow's priority now), that agent remembered as one not to offer it again this
 * round. <now>: since when it waits for max_wait (0: unchanged). */
static void requeue(struct cc_center *c, struct cc_item *it, uint64_t now)
{
	struct flow *f = flow_find(c, it->flow);
	if (it->ntried < TRIED_MAX)
		it->tried[it->ntried++] = it->agent->serial;
	unlink_item(c, it);
	it->st = CC_QUEUED;
	it->agent = NULL;
	if (f)
		it->priority = f->cfg.priority;
	if (now)
		it->wait_from = now;
	insert_waiting(c, it);
}

int cc_agent_logout(struct cc_center *c, const char *id, uint64_t now)
{
	struct cc_agent *a = agent_find(c, id);
	if (!a)
		return -ENOENT;
	if (!a->logged_in)
		return 0;
	a->logged_in = 0;
	/* its chats (offered or in progress) and a call offered wait again for another agent
	 * — the layer above withdraws the offer or ends the leg toward this one; a call in
	 * progress goes on (it cannot move); what belongs to a flow deleted meanwhile is
	 * abandoned */
	for (struct cc_item *it = c->items, *next; it; it = next) {
		next = it->next;
		int chat = it->kind == CC_CHAT && (it->st == CC_OFFERED || it->st == CC_ACTIVE);
		int call = it->kind == CC_CALL && it->st == CC_OFFERED;
		if (it->agent != a || (!chat && !call))
			continue;
		int active = it->st == CC_ACTIVE;
		if (active)
			a->chats--;
		else
			offer_release(it);
		if (c->ops.recalled)
			c->ops.recalled(c->ops.arg, it->id, a->cfg.id);
		if (!flow_find(c, it->flow)) {
			it->st = CC_QUEUED; /* (for abandon: nothing of the agent's to release) */
			abandon(c, it, "flow_deleted", now);
		} else {
			requeue(c, it, active ? now : 0);
			emit(c, "cc.queued",
			     json_pack("{s:I, s:s, s:s, s:s, s:s}", "item", (json_int_t)it->id,
				       "flow", it->flow, "kind", cc_kind_name(it->kind), "customer",
				       it->customer, "reason", "agent_logout"));
		}
		next = c->items;
	}
	agent_changed(c, a, now);
	run(c, now);
	return 0;
}

/* ---- items --------------------------------------------------------------------------- */

int64_t cc_enqueue(struct cc_center *c, const char *flow, enum cc_kind kind,
		   const char *customer, uint64_t now)
{
	struct flow *f = flow_find(c, flow);
	if (!f)
		return -ENOENT;
	if ((unsigned)kind > CC_CALL || strnlen(customer, CC_URI_MAX + 1) > CC_URI_MAX)
		return -EINVAL;
	struct cc_item *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->id = ++c->next_id;
	it->kind = kind;
	it->enq = it->wait_from = now;
	it->priority = f->cfg.priority;
	memcpy(it->flow, f->cfg.id, sizeof(it->flow));
	snprintf(it->customer, sizeof(it->customer), "%s", customer);
	insert_waiting(c, it);
	c->st.queued++;
	emit(c, "cc.queued",
	     json_pack("{s:I, s:s, s:s, s:s, s:s}", "item", (json_int_t)it->id, "flow", it->flow,
		       "kind", cc_kind_name(kind), "customer", it->customer, "dispatch",
		       f->cfg.dispatch == CC_EXTERNAL ? "external" : "internal"));
	uint64_t id = it->id;
	run(c, now);
	return (int64_t)id;
}

int cc_answered(struct cc_center *c, uint64_t id, const char *agent, uint64_t now)
{
	struct cc_item *it;
	int rc = offered_to(c, id, agent, &it);
	if (rc)
		return rc;
	struct cc_agent *a = it->agent;
	struct flow *f = flow_find(c, it->flow);
	it->st = CC_ACTIVE;
	if (it->kind == CC_CHAT) {
		a->chats_offered--;
		a->chats++;
		a->chats_answered++;
	} else {
		a->calls_answered++;
	}
	if (f) {
		if (it->kind == CC_CHAT)
			f->chats_answered++;
		else
			f->calls_answered++;
		f->wait_ms_total += now - it->enq;
		f->waits++;
	}
	c->st.answered++;
	agent_changed(c, a, now);
	return 0;
}

int cc_refused(struct cc_center *c, uint64_t id, const char *agent, uint64_t now)
{
	struct cc_item *it;
	int rc = offered_to(c, id, agent, &it);
	if (rc)
		return rc;
	struct cc_agent *a = it->agent;
	offer_release(it);
	a->refused++;
	c->st.refused++;
	requeue(c, it, 0);
	agent_changed(c, a, now);
	run(c, now);
	return 0;
}

int cc_ended(struct cc_center *c, uint64_t id, uint64_t now)
{
	struct cc_item *it;
	int rc = item_in(c, id, CC_ACTIVE, &it);
	if (rc)
		return rc;
	struct cc_agent *a = it->agent;
	c->st.ended++;
	if (it->kind == CC_CHAT)
		a->chats--;
	if (a->cfg.wrapup_s && a->logged_in) {
		it->st = CC_WRAPPING;
		it->until = now + (uint64_t)a->cfg.wrapup_s * 1000;
		if (it->kind == CC_CHAT)
			a->chats_wrapping++;
	} else {
		if (it->kind == CC_CALL)
			a->call = NULL;
		item_free(c, it);
	}
	agent_changed(c, a, now);
	run(c, now);
	return 0;
}

int cc_abandon(struct cc_center *c, uint64_t id, uint64_t now)
{
	struct cc_item *it = item_find(c, id);
	if (!it)
		return -ENOENT;
	if (it->st == CC_ACTIVE) /* hung up once taken: the chat or call ended */
		return cc_ended(c, id, now);
	if (it->st != CC_QUEUED && it->st != CC_OFFERED)
		return -EINVAL;
	abandon(c, it, "customer_gone", now);
	run(c, now);
	return 0;
}

int cc_dispatch_to(struct cc_center *c, uint64_t id, const char *agent, uint64_t now)
{
	struct cc_item *it = item_find(c, id);
	struct cc_agent *a = agent_find(c, agent);
	if (!it || !a)
		return -ENOENT;
	if (it->st != CC_QUEUED)
		return -EINVAL;
	struct flow *f = flow_find(c, it->flow);
	if (!f)
		return -ENOENT;
	if (!can_take(a, it, f, 1)) /* (the application may choose one that had it) */
		return -EBUSY;
	offer(c, it, a, now);
	return 0;
}

uint64_t cc_tick(struct cc_center *c, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	for (struct cc_item *it = c->items, *nx; it; it = nx) {
		nx = it->next;
		if (it->st == CC_WRAPPING) {
			if (it->until > now) {
				if (it->until - now < next)
					next = it->until - now;
				continue;
			}
			struct cc_agent *a = it->agent;
			if (it->kind == CC_CHAT)
				a->chats_wrapping--;
			else
				a->call = NULL;
			item_free(c, it);
			agent_changed(c, a, now);
			nx = c->items;
			continue;
		}
		if (it->st != CC_QUEUED)
			continue;
		if (it->not_before > now && it->not_before - now < next)
			next = it->not_before - now; /* its next round */
		struct flow *f = flow_find(c, it->flow);
		if (!f || !f->cfg.max_wait_s)
			continue;
		uint64_t due = it->wait_from + (uint64_t)f->cfg.max_wait_s * 1000;
		if (due <= now) {
			abandon(c, it, "max_wait", now);
			nx = c->items;
		} else if (due - now < next) {
			next = due - now;
		}
	}
	run(c, now);
	return next;
}

/* ---- views ----------------------------------------------------------------------------- */

json_t *cc_agent_json(struct cc_center *c, const char *id, uint64_t now)
{
	struct cc_agent *a = agent_find(c, id);
	return a ? agent_json(c, a, now) : NULL;
}

json_t *cc_agents_json(struct cc_center *c, uint64_t now)
{
	json_t *arr = json_array();
	for (struct cc_agent *a = c->agents; arr && a; a = a->next)
		json_array_append_new(arr, agent_json(c, a, now));
	return arr;
}

json_t *cc_flows_json(struct cc_center *c, uint64_t now)
{
	json_t *arr = json_array();
	(void)now;
	for (struct flow *f = c->flows; arr && f; f = f->next) {
		unsigned waiting = 0, calls = 0;
		for (struct cc_item *it = c->items; it && it->st == CC_QUEUED; it = it->next)
			if (!strcmp(it->flow, f->cfg.id)) {
				waiting++;
				calls += it->kind == CC_CALL;
			}
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, "
				       "s:I, s:I, s:I, s:I, s:I}",
				       "id", f->cfg.id, "skill", f->cfg.skill, "priority",
				       f->cfg.priority, "max_wait_s", (json_int_t)f->cfg.max_wait_s,
				       "chat_dispatch_policy", cc_policy_name(f->cfg.policy),
				       "dispatch", f->cfg.dispatch == CC_EXTERNAL ? "external"
										 : "internal",
				       "queued_text", f->cfg.queued_text, "announce_uri",
				       f->cfg.announce_uri, "uri", f->cfg.uri, "waiting", (int)waiting,
				       "waiting_chats", (int)(waiting - calls), "waiting_calls", (int)calls,
				       "chats_answered", (json_int_t)f->chats_answered,
				       "calls_answered", (json_int_t)f->calls_answered, "abandoned",
				       (json_int_t)f->abandoned, "timed_out", (json_int_t)f->timed_out,
				       "wait_ms_avg",
				       (json_int_t)(f->waits ? f->wait_ms_total / f->waits : 0)));
	}
	return arr;
}

json_t *cc_queue_json(struct cc_center *c, uint64_t now)
{
	json_t *arr = json_array();
	unsigned pos = 0;
	for (struct cc_item *it = c->items; arr && it && it->st == CC_QUEUED; it = it->next)
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:i, s:I}", "id",
						     (json_int_t)it->id, "flow", it->flow, "kind",
						     cc_kind_name(it->kind), "customer", it->customer,
						     "position", (int)++pos, "waiting_ms",
						     (json_int_t)(now - it->enq)));
	return arr;
}

int cc_flow_exists(struct cc_center *c, const char *id)
{
	return flow_find(c, id) != NULL;
}

int cc_agent_exists(struct cc_center *c, const char *id)
{
	return agent_find(c, id) != NULL;
}

void cc_stats(const struct cc_center *c, struct cc_stats *out)
{
	*out = c->st;
	out->waiting = 0;
	for (const struct cc_item *it = c->items; it && it->st == CC_QUEUED; it = it->next)
		out->waiting++;
	out->agents_free = out->agents_busy = out->agents_offline = 0;
	for (const struct cc_agent *a = c->agents; a; a = a->next) {
		enum cc_agent_state s = agent_state(a);
		if (s == CC_OFFLINE)
			out->agents_offline++;
		else if (s == CC_FREE)
			out->agents_free++;
		else
			out->agents_busy++;
	}
}
