/* api_cc.c — the REST routes of the contact centre (api_cc.h):
 *
 *   GET    /v1/cc/flows                   every flow, with its counters
 *   POST   /v1/cc/flows                   creates a flow (201; 409 when its id exists)
 *   GET    /v1/cc/flows/{id}
 *   PUT    /v1/cc/flows/{id}              creates (201) or replaces (200) it
 *   DELETE /v1/cc/flows/{id}              its waiting chats are abandoned (204)
 *   (the same five for /v1/cc/agents)
 *   POST   /v1/cc/agents/{id}/login       the agent takes work (200, its state)
 *   POST   /v1/cc/agents/{id}/logout      ... no more: its chats go back to their flows
 *   GET    /v1/cc/queue                   the items waiting, in the order they are taken
 *   POST   /v1/cc/queue/{id}/dispatch     {"agent"}: offers item {id} to that agent (202)
 *
 * Bodies are checked here (api thread); the centre's worker (CC_SVC_WORKER) applies them. */
#include "api/api_cc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "callcenter/cc_json.h"
#include "callcenter/cc_svc.h"
#include "common/cm_sr.h"

static struct cc_svc *svc;

enum cop_kind { K_FLOWS, K_FLOW, K_FLOW_SET, K_FLOW_DEL, K_AGENTS, K_AGENT, K_AGENT_SET,
		K_AGENT_DEL, K_LOGIN, K_LOGOUT, K_QUEUE, K_DISPATCH };

struct cop {
	enum cop_kind kind;
	int create_only;               /* POST: 409 when it exists */
	char id[CC_ID_MAX + 1];
	uint64_t item;
	struct cc_flow_cfg flow;
	struct cc_agent_cfg agent;
};

struct cslot {
	int status;
	int created;
	json_t *body;
	char msg[256];
};

static void ccleanup(struct api_gather *g)
{
	struct cslot *s = api_gather_slot(g, 0);
	json_decref(s->body);
	s->body = NULL;
	free(api_gather_arg(g));
}

static void crun(eng_worker *w, void *slotp, void *arg)
{
	struct cslot *s = slotp;
	struct cop *o = arg;
	(void)w;
	switch (o->kind) {
	case K_FLOWS:
		s->body = cc_svc_flows(svc, NULL);
		break;
	case K_FLOW:
		if (!(s->body = cc_svc_flows(svc, o->id)))
			s->status = 404;
		break;
	case K_FLOW_SET:
	case K_AGENT_SET: {
		int flow = o->kind == K_FLOW_SET;
		const char *id = flow ? o->flow.id : o->agent.id;
		json_t *old = !o->create_only ? NULL : flow ? cc_svc_flows(svc, id)
							       : cc_svc_agents(svc, id);
		if (old) {
			json_decref(old);
			s->status = 409;
			snprintf(s->msg, sizeof(s->msg), "%s '%s' exists: PUT replaces it",
				 flow ? "flow" : "agent", id);
			break;
		}
		s->status = flow ? cc_svc_flow_set(svc, &o->flow, &s->created, s->msg,
						   sizeof(s->msg))
				 : cc_svc_agent_set(svc, &o->agent, &s->created, s->msg,
						    sizeof(s->msg));
		if (!s->status)
			s->body = flow ? cc_svc_flows(svc, id) : cc_svc_agents(svc, id);
		break;
	}
	case K_FLOW_DEL:
		s->status = cc_svc_flow_del(svc, o->id, s->msg, sizeof(s->msg));
		break;
	case K_AGENTS:
		s->body = cc_svc_agents(svc, NULL);
		break;
	case K_AGENT:
		if (!(s->body = cc_svc_agents(svc, o->id)))
			s->status = 404;
		break;
	case K_AGENT_DEL:
		s->status = cc_svc_agent_del(svc, o->id, s->msg, sizeof(s->msg));
		break;
	case K_LOGIN:
	case K_LOGOUT:
		if (!(s->status = cc_svc_agent_login(svc, o->id, o->kind == K_LOGIN, s->msg,
						     sizeof(s->msg))))
			s->body = cc_svc_agents(svc, o->id);
		break;
	case K_QUEUE:
		s->body = cc_svc_queue(svc);
		break;
	case K_DISPATCH:
		s->status = cc_svc_dispatch(svc, o->item, o->id, s->msg, sizeof(s->msg));
		break;
	}
	if (!s->status && !s->body && o->kind != K_FLOW_DEL && o->kind != K_AGENT_DEL &&
	    o->kind != K_DISPATCH) {
		s->status = 503;
		snprintf(s->msg, sizeof(s->msg), "out of memory");
	}
}

static void crender(struct api_req *r, struct api_gather *g)
{
	struct cslot *s = api_gather_slot(g, 0);
	struct cop *o = api_gather_arg(g);
	if (s->status == 404 && !s->msg[0])
		snprintf(s->msg, sizeof(s->msg), "no such %s",
			 o->kind == K_FLOW ? "flow" : "agent");
	if (s->status) {
		api_reply_error(r, (unsigned)s->status, "%s", s->msg);
		return;
	}
	if (o->kind == K_FLOW_DEL || o->kind == K_AGENT_DEL) {
		api_reply_text(r, 204, "application/json", calloc(1, 1), 0);
		return;
	}
	json_t *b = s->body;
	s->body = NULL;
	if (o->kind == K_DISPATCH) {
		api_reply_json(r, 202, json_pack("{s:I, s:s}", "item", (json_int_t)o->item,
						 "agent", o->id));
		return;
	}
	if (o->kind == K_FLOWS || o->kind == K_AGENTS || o->kind == K_QUEUE)
		b = json_pack("{s:o}", o->kind == K_FLOWS ? "flows" : o->kind == K_AGENTS ? "agents"
											 : "items",
			      b);
	api_reply_json(r, s->created ? 201 : 200, b);
}

/* Asks the centre; <o> is taken. */
static void ask(struct api_req *r, struct cop *o)
{
	if (api_ask(r, CC_SVC_WORKER, sizeof(struct cslot), crun, crender, ccleanup, o) < 0)
		free(o);
}

/* The centre is on: else 503 answered and 0. */
static int on(struct api_req *r)
{
	if (svc)
		return 1;
	api_reply_error(r, 503, "the contact centre is off (cc.enabled)");
	return 0;
}

static struct cop *cop_new(struct api_req *r, enum cop_kind kind)
{
	struct cop *o = calloc(1, sizeof(*o));
	if (!o) {
		api_reply_error(r, 500, "out of memory");
		return NULL;
	}
	o->kind = kind;
	const char *id = api_req_param(r, "id");
	if (id && strlen(id) > CC_ID_MAX) {
		int set = kind == K_FLOW_SET || kind == K_AGENT_SET;
		api_reply_error(r, set ? 400 : 404, "%s (ids are at most %d bytes)",
				set ? "bad id" : kind <= K_FLOW_DEL ? "no such flow" : "no such agent",
				CC_ID_MAX);
		free(o);
		return NULL;
	}
	if (id)
		snprintf(o->id, sizeof(o->id), "%s", id);
	return o;
}

/* ---- handlers --------------------------------------------------------------------------- */

static void simple(struct api_req *r, enum cop_kind kind)
{
	struct cop *o;
	if (on(r) && (o = cop_new(r, kind)))
		ask(r, o);
}

static void h_flows(struct api_req *r) { simple(r, K_FLOWS); }
static void h_flow(struct api_req *r) { simple(r, K_FLOW); }
static void h_flow_del(struct api_req *r) { simple(r, K_FLOW_DEL); }
static void h_agents(struct api_req *r) { simple(r, K_AGENTS); }
static void h_agent(struct api_req *r) { simple(r, K_AGENT); }
static void h_agent_del(struct api_req *r) { simple(r, K_AGENT_DEL); }
static void h_login(struct api_req *r) { simple(r, K_LOGIN); }
static void h_logout(struct api_req *r) { simple(r, K_LOGOUT); }
static void h_queue(struct api_req *r) { simple(r, K_QUEUE); }

static void set(struct api_req *r, int flow)
{
	struct cop *o;
	json_t *j;
	if (!on(r) || !(o = cop_new(r, flow ? K_FLOW_SET : K_AGENT_SET)))
		return;
	if (!(j = api_body_object(r, 0))) {
		free(o);
		return;
	}
	o->create_only = !o->id[0];
	char err[256];
	int rc = flow ? cc_flow_from_json(j, o->id, &o->flow, err, sizeof(err))
		      : cc_agent_from_json(j, o->id, &o->agent, err, sizeof(err));
	json_decref(j);
	if (rc < 0) {
		api_reply_error(r, 400, "%s", err);
		free(o);
	} else {
		ask(r, o);
	}
}

static void h_flow_set(struct api_req *r) { set(r, 1); }
static void h_agent_set(struct api_req *r) { set(r, 0); }

static void h_dispatch(struct api_req *r)
{
	if (!on(r))
		return;
	const char *ids = api_req_param(r, "id");
	char *end;
	unsigned long long item = ids ? strtoull(ids, &end, 10) : 0;
	if (!ids || !*ids || *end || !item) {
		api_reply_error(r, 404, "no such item: items are the decimal ids of GET /v1/cc/queue");
		return;
	}
	json_t *j = api_body_object(r, 0);
	if (!j)
		return;
	static const char *const fields[] = { "agent", NULL };
	struct cop *o = NULL;
	json_t *ag = json_object_get(j, "agent");
	if (api_only_fields(r, j, fields) < 0)
		goto out;
	if (!json_is_string(ag) || !json_string_length(ag) || json_string_length(ag) > CC_ID_MAX) {
		api_reply_error(r, 400, "field 'agent' must be an agent's id (1 to %d bytes)",
				CC_ID_MAX);
		goto out;
	}
	char agent[CC_ID_MAX + 1];
	memcpy(agent, json_string_value(ag), json_string_length(ag) + 1);
	if (!(o = calloc(1, sizeof(*o)))) {
		api_reply_error(r, 500, "out of memory");
		goto out;
	}
	o->kind = K_DISPATCH;
	o->item = item;
	memcpy(o->id, agent, sizeof(agent));
	ask(r, o);
out:
	json_decref(j);
}

static const struct api_route routes[] = {
	{ "GET", "/v1/cc/flows", h_flows, 0 },
	{ "POST", "/v1/cc/flows", h_flow_set, 0 },
	{ "GET", "/v1/cc/flows/{id}", h_flow, 0 },
	{ "PUT", "/v1/cc/flows/{id}", h_flow_set, 0 },
	{ "DELETE", "/v1/cc/flows/{id}", h_flow_del, 0 },
	{ "GET", "/v1/cc/agents", h_agents, 0 },
	{ "POST", "/v1/cc/agents", h_agent_set, 0 },
	{ "GET", "/v1/cc/agents/{id}", h_agent, 0 },
	{ "PUT", "/v1/cc/agents/{id}", h_agent_set, 0 },
	{ "DELETE", "/v1/cc/agents/{id}", h_agent_del, 0 },
	{ "POST", "/v1/cc/agents/{id}/login", h_login, 0 },
	{ "POST", "/v1/cc/agents/{id}/logout", h_logout, 0 },
	{ "GET", "/v1/cc/queue", h_queue, 0 },
	{ "POST", "/v1/cc/queue/{id}/dispatch", h_dispatch, 0 },
};

int api_cc_register(struct cc_svc *s)
{
	svc = s;
	return api_routes_register(routes, sizeof(routes) / sizeof(routes[0]));
}

/* ---- metrics and status ----------------------------------------------------------------- */

/* A family of metrics: a uint64_t at <off> in each of the records it is read from. */
struct row {
	const char *name, *type, *help;
	size_t off;
};

/* Each row of <rows> as a family, with a sample per record of the <n> at <base> (<stride>
 * bytes apart), labelled <label>=<the string at id_off of the record> (label NULL: none). */
static void emit_rows(struct api_metrics_out *out, const struct row *rows, size_t nrows,
		      const void *base, size_t stride, unsigned n, const char *label,
		      size_t id_off)
{
	for (size_t k = 0; k < nrows; k++) {
		api_metrics_family(out, rows[k].name, rows[k].type, rows[k].help);
		for (unsigned i = 0; i < n; i++) {
			const char *rec = (const char *)base + i * stride;
			const char *l[] = { label, rec + id_off, NULL };
			uint64_t v;
			memcpy(&v, rec + rows[k].off, sizeof(v));
			api_metrics_sample(out, rows[k].name, label ? l : NULL, (double)v);
		}
	}
}

static const struct row totals[] = {
#define R(n, t, h, f) { "rcsgw_cc_" n, t, h, offsetof(struct cc_svc_stats, f) }
	R("queued_total", "counter", "Chats queued in a flow.", queued),
	R("dispatched_total", "counter", "Offers made to agents.", dispatched),
	R("answered_total", "counter", "Offers taken by agents.", answered),
	R("refused_total", "counter", "Offers not taken (no answer, busy, failure).", refused),
	R("abandoned_total", "counter", "Items that left without an agent (customer gone, max_wait, flow deleted).", abandoned),
	R("timed_out_total", "counter", "Items abandoned for their flow's max_wait_s.", timed_out),
	R("ended_total", "counter", "Chats that ended after an agent took them.", ended),
	R("waiting", "gauge", "Items waiting for an agent now.", waiting),
	R("agents_free", "gauge", "Agents logged in and free.", agents_free),
	R("agents_busy", "gauge", "Agents in a chat, a call or wrap-up (or with an offer).", agents_busy),
	R("agents_offline", "gauge", "Agents logged out.", agents_offline),
	R("chats_claimed_total", "counter", "Incoming chats addressed to a flow's uri.", chats_claimed),
	R("chats_refused_full_total", "counter", "Incoming chats refused (486): cc.max_waiting.", chats_refused_full),
	R("held_total", "counter", "Customer messages held while no agent was on the chat.", held),
	R("held_overflow_total", "counter", "Customer messages refused (failure REPORT 413): cc.max_held.", held_overflow),
	R("forwarded_total", "counter", "Messages passed between a customer and an agent.", forwarded),
	R("forward_failed_total", "counter", "Messages that could not be passed on (the sender got a failure REPORT).", forward_failed),
	R("legs_timed_out_total", "counter", "Agent chat legs not up within cc.offer_timeout.", legs_timed_out),
	R("mailbox_retries_total", "counter", "Messages between the centre and the workers that waited for a full mailbox.", mailbox_retries),
#undef R
}, per_flow[] = {
#define F(n, t, h, f) { "rcsgw_cc_flow_" n, t, h, offsetof(struct cc_svc_flow_snap, f) }
	F("waiting", "gauge", "Items of the flow on hold now.", waiting),
	F("waiting_chats", "gauge", "Chats of the flow on hold now.", waiting_chats),
	F("waiting_calls", "gauge", "Calls of the flow on hold now.", waiting_calls),
	F("chats_answered_total", "counter", "Chats of the flow taken by an agent.", chats_answered),
	F("calls_answered_total", "counter", "Calls of the flow taken by an agent.", calls_answered),
	F("abandoned_total", "counter", "Items of the flow that left without an agent.", abandoned),
	F("timed_out_total", "counter", "Items of the flow abandoned for its max_wait_s.", timed_out),
	F("wait_ms_avg", "gauge", "Mean wait of the flow's items before an agent took them (ms).", wait_ms_avg),
#undef F
}, per_agent[] = {
#define A(n, t, h, f) { "rcsgw_cc_agent_" n, t, h, offsetof(struct cc_svc_agent_snap, f) }
	A("chats", "gauge", "Chats the agent is in now.", chats),
	A("chats_answered_total", "counter", "Chats the agent took.", chats_answered),
	A("calls_answered_total", "counter", "Calls the agent took.", calls_answered),
	A("refused_total", "counter", "Offers the agent did not take.", refused),
#undef A
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void emit(struct api_metrics_out *out, void *arg)
{
	struct cc_svc_stats st;
	(void)arg;
	cc_svc_stats(svc, &st);
	emit_rows(out, totals, N(totals), &st, 0, 1, NULL, 0);
	/* per flow and per agent: the centre's last snapshot (at most CC_SVC_SNAP_MS old) */
	struct cc_svc_snap *sn = cc_svc_snap(svc);
	if (!sn)
		return;
	emit_rows(out, per_flow, N(per_flow), sn->flows, sizeof(*sn->flows), sn->nflows, "flow",
		  offsetof(struct cc_svc_flow_snap, id));
	emit_rows(out, per_agent, N(per_agent), sn->agents, sizeof(*sn->agents), sn->nagents,
		  "agent", offsetof(struct cc_svc_agent_snap, id));
	static const char *const states[] = { "offline", "free", "incall", "inchat", "wrapup" };
	api_metrics_family(out, "rcsgw_cc_agent_state", "gauge",
			   "1 for the agent's state now (offline, free, incall, inchat, wrapup).");
	for (unsigned i = 0; i < sn->nagents; i++)
		for (size_t k = 0; k < N(states); k++) {
			const char *l[] = { "agent", sn->agents[i].id, "state", states[k], NULL };
			api_metrics_sample(out, "rcsgw_cc_agent_state", l,
					   !strcmp(sn->agents[i].state, states[k]));
		}
	cc_svc_snap_free(sn);
}

/* The group "cc": ready while the centre runs, with its flows, agents and waiting items
 * from the last snapshot (at most CC_SVC_SNAP_MS old). */
static enum cm_sr_state cc_probe(void *arg, char *details, size_t len)
{
	struct cc_svc_snap *sn = cc_svc_snap(arg);
	unsigned on = 0;
	uint64_t waiting = 0;

	if (!sn)
		return CM_SR_READY;
	for (unsigned i = 0; i < sn->nagents; i++)
		on += strcmp(sn->agents[i].state, "offline") != 0;
	for (unsigned i = 0; i < sn->nflows; i++)
		waiting += sn->flows[i].waiting;
	snprintf(details, len, "%u flows, %u agents (%u logged in), %llu waiting", sn->nflows,
		 sn->nagents, on, (unsigned long long)waiting);
	cc_svc_snap_free(sn);
	return CM_SR_READY;
}

int api_cc_started(void)
{
	if (!svc) {
		cm_sr_set("cc", CM_SR_DISABLED, "cc.enabled = false");
		return 0;
	}
	int rc = cm_sr_probe("cc", cc_probe, svc);
	return rc < 0 ? rc : api_metrics_register(emit, NULL);
}
