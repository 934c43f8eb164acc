/* api_diameter.c — the REST routes of Diameter (api_diameter.h):
 *
 *   POST /v1/diameter/requests              a request of the dictionary's, built from JSON,
 *                                           sent by realm routing; 200 with its answer
 *   GET  /v1/diameter/peers                 the peers and their states
 *   POST /v1/diameter/requests/{id}/answer  answers a request received (event
 *                                           "diameter.request"); 204
 *
 * Requests and answers are made into bytes here, on the api thread (the dictionary is
 * read-only); the node's worker only routes and matches them. */
#include "api/api_diameter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_events.h"
#include "common/cm_sr.h"
#include "diameter/dm_check.h"
#include "diameter/dm_json.h"
#include "diameter/dm_node.h"
#include "diameter/dm_svc.h"

#define MSG_FIRST (64u << 10)          /* a request's buffer, then DM_DEFAULT_MAX_MESSAGE */
#define WAIT_MARGIN_MS 2000            /* the api waits this much past the node's deadline */

static struct dm_svc *svc;

/* ---- POST /v1/diameter/requests ------------------------------------------------------ */

struct rslot {
	int status;                    /* 0: <ans> is the answer; -errno */
	uint8_t *ans;
	size_t len;
	char peer[256];
};

struct rop {
	uint8_t *msg;
	size_t len;
	uint32_t timeout_ms;
	char realm[256];
	struct rslot *slot;
	struct api_later *t;
};

static void rcleanup(struct api_gather *g)
{
	struct rop *o = api_gather_arg(g);
	struct rslot *s = api_gather_slot(g, 0);
	free(s->ans);
	s->ans = NULL;
	free(o->msg);
	free(o);
}

static void ranswer(void *arg, int status, const uint8_t *ans, size_t len, const char *peer)
{
	struct rop *o = arg;
	o->slot->status = status;
	if (status == 0) {
		o->slot->ans = malloc(len);
		if (o->slot->ans) {
			memcpy(o->slot->ans, ans, len);
			o->slot->len = len;
		} else {
			o->slot->status = -ENOMEM;
		}
	}
	snprintf(o->slot->peer, sizeof(o->slot->peer), "%s", peer ? peer : "");
	api_later_done(o->t);
}

static void rrun(eng_worker *w, void *slotp, void *arg, struct api_later *t)
{
	struct rop *o = arg;
	(void)w;
	o->slot = slotp;
	o->t = t;
	struct dm_node *n = dm_svc_node(svc);
	uint8_t *msg = o->msg;
	o->msg = NULL; /* (the node takes it) */
	int rc = n ? dm_node_request(n, msg, o->len, o->timeout_ms, ranswer, o) : -ESHUTDOWN;
	if (!n)
		free(msg);
	if (rc < 0) {
		o->slot->status = rc;
		api_later_done(t);
	}
}

/* A message (answer or request received) as JSON: its header, Result-Code and AVPs. */
static json_t *msg_json(const uint8_t *m, size_t len)
{
	struct dm_hdr h;
	uint32_t hrc;
	if (dm_hdr_parse(m, len, &h, &hrc) < 0)
		return NULL;
	const struct dm_dict *d = dm_svc_dict(svc);
	const struct dm_cmd_def *c = dm_dict_cmd(d, h.code, h.app_id);
	const struct dm_app_def *a = dm_dict_app(d, h.app_id);
	json_t *avps = dm_json_read(d, m + DM_HDR_LEN, (uint32_t)(len - DM_HDR_LEN));
	const char *cname = c ? (h.flags & DM_FLAG_R ? c->req : c->ans) : NULL;
	json_t *j = json_pack("{s:I, s:I, s:o, s:b, s:b, s:I, s:I, s:o}", "code", (json_int_t)h.code,
			      "application_id", (json_int_t)h.app_id,
			      "command", cname ? json_string(cname) : c ? json_string(c->name)
									: json_null(),
			      "error", (h.flags & DM_FLAG_E) != 0,
			      "retransmitted", (h.flags & DM_FLAG_T) != 0,
			      "hop_by_hop", (json_int_t)h.hop_by_hop,
			      "end_to_end", (json_int_t)h.end_to_end,
			      "avps", avps ? avps : json_array());
	if (j && a)
		json_object_set_new(j, "application", json_string(a->name));
	return j;
}

static void rrender(struct api_req *r, struct api_gather *g)
{
	struct rslot *s = api_gather_slot(g, 0);
	struct rop *o = api_gather_arg(g);
	switch (s->status) {
	case 0:
		break;
	case -ETIMEDOUT:
		api_reply_error(r, 504, "no answer from the Diameter peers within %u ms",
				o->timeout_ms);
		return;
	case -EHOSTUNREACH:
		api_reply_error(r, 503, "no open Diameter peer for realm %s and this application",
				o->realm);
		return;
	case -EINVAL:
		api_reply_error(r, 400, "the request has no Destination-Realm");
		return;
	case -EBUSY:
		api_reply_error(r, 503, "too many Diameter requests wait for answers "
				"(diameter.max_pending)");
		return;
	default:
		api_reply_error(r, 503, "Diameter is stopping or out of memory (%s)",
				strerror(-s->status));
		return;
	}
	json_t *j = msg_json(s->ans, s->len);
	if (!j) {
		api_reply_error(r, 502, "the peer's answer could not be read");
		return;
	}
	json_object_set_new(j, "result_code",
			    json_integer((json_int_t)dm_answer_result(s->ans, s->len)));
	json_object_set_new(j, "peer", json_string(s->peer));
	api_reply_json(r, 200, j);
}

/* 1 when the AVP list <avps> has an AVP named <name> at its top. */
static int has(const json_t *avps, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(avps, i, v)
		if (json_is_object(v) && json_object_get(v, name))
			return 1;
	return 0;
}

static int on(struct api_req *r)
{
	if (!svc) {
		api_reply_error(r, 503, "Diameter is off (diameter.origin_host)");
		return 0;
	}
	return 1;
}

/* <body> as a JSON object, else 400 answered and NULL. */
/* Writes <avps> after a header into a buffer of <cap>: the message's length, or -errno with
 * <err>. */
static long build(json_t *avps, uint8_t flags, uint32_t code, uint32_t app, const char *dhost,
		  const char *drealm, int with_sid, uint8_t *b, size_t cap, char *err,
		  size_t errlen)
{
	struct dm_wbuf w;
	dm_w_init(&w, b, cap);
	dm_w_hdr(&w, flags, code, app, 0, 0);
	if (with_sid) {
		char sid[320];
		dm_svc_session_id(svc, sid, sizeof(sid));
		dm_w_str(&w, 263, DM_AVP_M, 0, sid);
	}
	if (avps && dm_json_write(dm_svc_dict(svc), avps, &w, err, errlen) < 0)
		return -EINVAL;
	if (!has(avps, "Origin-Host"))
		dm_w_str(&w, 264, DM_AVP_M, 0, dm_svc_origin_host(svc));
	if (!has(avps, "Origin-Realm"))
		dm_w_str(&w, 296, DM_AVP_M, 0, dm_svc_origin_realm(svc));
	if (drealm)
		dm_w_str(&w, 283, DM_AVP_M, 0, drealm);
	if (dhost)
		dm_w_str(&w, 293, DM_AVP_M, 0, dhost);
	long n = dm_w_finish(&w);
	if (n < 0)
		snprintf(err, errlen, n == -ENOSPC ? "the message is too long"
						   : "an AVP is too long for its length field");
	return n;
}

static void h_request(struct api_req *r)
{
	if (!on(r))
		return;
	json_t *j = api_body_object(r, 0);
	if (!j)
		return;
	json_t *avps = json_object_get(j, "avps");
	json_t *ja = json_object_get(j, "application"), *jc = json_object_get(j, "command");
	json_t *jr = json_object_get(j, "destination_realm"), *jh = json_object_get(j, "destination_host");
	json_t *jt = json_object_get(j, "timeout_ms");
	const struct dm_dict *d = dm_svc_dict(svc);
	uint32_t app = 0, timeout = dm_svc_request_timeout_ms(svc);
	char err[256] = "";
	const struct dm_cmd_def *c = NULL;
	struct rop *o = NULL;
	if (avps && !json_is_array(avps)) {
		api_reply_error(r, 400, "'avps' must be an array of {\"<AVP name>\": value}");
		goto out;
	}
	if (json_is_string(ja) ? dm_svc_app_id(svc, json_string_value(ja), &app) < 0
			       : !json_is_integer(ja) || json_integer_value(ja) < 0 ||
					 json_integer_value(ja) > 0xffffffffLL) {
		api_reply_error(r, 400, "'application' must be an application of the dictionary "
				"(a name such as \"Sh\" or its id)");
		goto out;
	}
	if (json_is_integer(ja))
		app = (uint32_t)json_integer_value(ja);
	if (json_is_string(jc)) {
		c = dm_dict_cmd_named(d, json_string_value(jc));
	} else if (json_is_integer(jc)) {
		c = dm_dict_cmd(d, (uint32_t)json_integer_value(jc), app);
		if (!c)
			c = dm_dict_cmd(d, (uint32_t)json_integer_value(jc), 0);
	}
	if (!c) {
		api_reply_error(r, 400, "'command' must be a command of the dictionary (\"UDR\", "
				"\"Credit-Control\", or its code)");
		goto out;
	}
	if ((jr && !json_is_string(jr)) || (jh && !json_is_string(jh)) ||
	    (jt && (!json_is_integer(jt) || json_integer_value(jt) < 1 ||
		    json_integer_value(jt) > 600000))) {
		api_reply_error(r, 400, "'destination_realm' and 'destination_host' must be "
				"strings, 'timeout_ms' 1 to 600000");
		goto out;
	}
	if (jt)
		timeout = (uint32_t)json_integer_value(jt);
	const char *drealm = NULL, *dhost = NULL;
	if (!has(avps, "Destination-Realm")) {
		drealm = jr ? json_string_value(jr) : dm_svc_default_realm(svc);
		if (!drealm[0]) {
			api_reply_error(r, 400, "no Destination-Realm: give 'destination_realm' "
					"(no peer of diameter.peers names its realm)");
			goto out;
		}
	}
	if (!has(avps, "Destination-Host") && jh)
		dhost = json_string_value(jh);
	o = calloc(1, sizeof(*o));
	if (!o) {
		api_reply_error(r, 500, "out of memory");
		goto out;
	}
	o->timeout_ms = timeout;
	uint8_t flags = (uint8_t)(DM_FLAG_R | (c->proxiable ? DM_FLAG_P : 0));
	int sid = app != 0 && !has(avps, "Session-Id");
	long n = -ENOSPC;
	for (size_t cap = MSG_FIRST; n == -ENOSPC && cap <= DM_DEFAULT_MAX_MESSAGE; cap *= 16) {
		free(o->msg);
		o->msg = malloc(cap);
		if (!o->msg) {
			n = -ENOMEM;
			break;
		}
		n = build(avps, flags, c->code, app, dhost, drealm, sid, o->msg, cap, err,
			  sizeof(err));
	}
	if (n < 0) {
		api_reply_error(r, n == -ENOMEM ? 500 : n == -ENOSPC ? 413 : 400, "%s",
				n == -ENOMEM ? "out of memory" : err);
		free(o->msg);
		free(o);
		o = NULL;
		goto out;
	}
	o->len = (size_t)n;
	snprintf(o->realm, sizeof(o->realm), "%s", drealm ? drealm : "(the one in 'avps')");
	if (api_ask_later(r, DM_SVC_WORKER, sizeof(struct rslot), timeout + WAIT_MARGIN_MS, rrun,
			  rrender, rcleanup, o) < 0) {
		free(o->msg);
		free(o);
	}
out:
	json_decref(j);
}

/* ---- GET /v1/diameter/peers ------------------------------------------------------------ */

struct pslot {
	json_t *peers;
};

static void pcleanup(struct api_gather *g)
{
	struct pslot *s = api_gather_slot(g, 0);
	json_decref(s->peers);
	s->peers = NULL;
}

static void prun(eng_worker *w, void *slotp, void *arg)
{
	struct pslot *s = slotp;
	(void)w;
	(void)arg;
	struct dm_node *n = dm_svc_node(svc);
	s->peers = n ? dm_node_peers_json(n) : NULL;
}

static void prender(struct api_req *r, struct api_gather *g)
{
	struct pslot *s = api_gather_slot(g, 0);
	if (!s->peers) {
		api_reply_error(r, 503, "the Diameter node is not running");
		return;
	}
	json_t *peers = s->peers;
	s->peers = NULL;
	api_reply_json(r, 200, json_pack("{s:s, s:s, s:o}", "origin_host",
					 dm_svc_origin_host(svc), "origin_realm",
					 dm_svc_origin_realm(svc), "peers", peers));
}

static void h_peers(struct api_req *r)
{
	if (on(r))
		api_ask(r, DM_SVC_WORKER, sizeof(struct pslot), prun, prender, pcleanup, NULL);
}

/* ---- POST /v1/diameter/requests/{id}/answer ------------------------------------------ */

struct aop {
	uint64_t id;
	uint32_t rc;
	uint8_t *avps;
	size_t len;
};

struct aslot {
	int status;
};

static void acleanup(struct api_gather *g)
{
	struct aop *o = api_gather_arg(g);
	free(o->avps);
	free(o);
}

static void arun(eng_worker *w, void *slotp, void *arg)
{
	struct aslot *s = slotp;
	struct aop *o = arg;
	(void)w;
	struct dm_node *n = dm_svc_node(svc);
	s->status = n ? dm_node_answer(n, o->id, o->rc, o->avps, o->len) : -ESHUTDOWN;
}

static void arender(struct api_req *r, struct api_gather *g)
{
	struct aslot *s = api_gather_slot(g, 0);
	struct aop *o = api_gather_arg(g);
	switch (s->status) {
	case 0:
		api_reply_text(r, 204, "application/json", calloc(1, 1), 0);
		break;
	case -ENOENT:
		api_reply_error(r, 404, "no request %llu waits for an answer (answered, timed "
				"out, its peer gone, or never received)", (unsigned long long)o->id);
		break;
	case -ENOTCONN:
		api_reply_error(r, 410, "the peer of request %llu is gone: the answer was dropped",
				(unsigned long long)o->id);
		break;
	case -EMSGSIZE:
		api_reply_error(r, 413, "the answer is too long");
		break;
	case -ENOMEM:
		api_reply_error(r, 500, "out of memory");
		break;
	default:
		api_reply_error(r, 503, "the Diameter node is not running");
		break;
	}
}

static void h_answer(struct api_req *r)
{
	if (!on(r))
		return;
	const char *ids = api_req_param(r, "id");
	char *end;
	unsigned long long id = ids ? strtoull(ids, &end, 10) : 0;
	if (!ids || !*ids || *end || !id) {
		api_reply_error(r, 404, "no such request: ids are the events' decimal numbers");
		return;
	}
	json_t *j = api_body_object(r, 0);
	if (!j)
		return;
	json_t *avps = json_object_get(j, "avps"), *jrc = json_object_get(j, "result_code");
	char err[256] = "";
	struct aop *o = NULL;
	if ((avps && !json_is_array(avps)) ||
	    (jrc && (!json_is_integer(jrc) || json_integer_value(jrc) < 1000 ||
		     json_integer_value(jrc) > 5999))) {
		api_reply_error(r, 400, "'avps' must be an array, 'result_code' 1000 to 5999");
		goto out;
	}
	if (jrc && (has(avps, "Result-Code") || has(avps, "Experimental-Result"))) {
		api_reply_error(r, 400, "give the outcome once: 'result_code', or a Result-Code or "
				"Experimental-Result in 'avps'");
		goto out;
	}
	if (!(o = calloc(1, sizeof(*o))) || !(o->avps = malloc(MSG_FIRST))) {
		api_reply_error(r, 500, "out of memory");
		goto fail;
	}
	o->id = id;
	o->rc = jrc ? (uint32_t)json_integer_value(jrc) : 0;
	struct dm_wbuf w;
	dm_w_init(&w, o->avps, MSG_FIRST);
	dm_w_hdr(&w, 0, 0, 0, 0, 0);
	if (avps && dm_json_write(dm_svc_dict(svc), avps, &w, err, sizeof(err)) < 0) {
		api_reply_error(r, 400, "%s", err);
		goto fail;
	}
	long n = dm_w_finish(&w);
	if (n < 0) {
		api_reply_error(r, 413, "the answer's AVPs are too long");
		goto fail;
	}
	o->len = (size_t)n - DM_HDR_LEN;
	memmove(o->avps, o->avps + DM_HDR_LEN, o->len);
	if (api_ask(r, DM_SVC_WORKER, sizeof(struct aslot), arun, arender, acleanup, o) < 0)
		goto fail;
	goto out;
fail:
	if (o)
		free(o->avps);
	free(o);
out:
	json_decref(j);
}

/* ---- requests received become events ---------------------------------------------------- */

static void incoming(void *arg, uint64_t id, const char *peer, const uint8_t *m, size_t n)
{
	(void)arg;
	json_t *ev = msg_json(m, n);
	char ids[24];
	if (!ev)
		return;
	snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
	json_object_set_new(ev, "type", json_string("diameter.request"));
	json_object_set_new(ev, "request", json_string(ids));
	json_object_set_new(ev, "peer", json_string(peer));
	api_event_publish(ev);
}

/* ---- registration ---------------------------------------------------------------------- */

/* The group "diameter": not ready with none of its peers open, degraded with some. */
static enum cm_sr_state probe(void *arg, char *details, size_t len)
{
	(void)arg;
	unsigned open = dm_svc_open_peers(svc), all = dm_svc_peers(svc);
	if (!all) {
		snprintf(details, len, "no peers to connect to (only peers that connect here)");
		return CM_SR_READY;
	}
	snprintf(details, len, "%u of %u peers open", open, all);
	return !open ? CM_SR_NOT_READY : open < all ? CM_SR_DEGRADED : CM_SR_READY;
}

static const struct api_route routes[] = {
	{ "POST", "/v1/diameter/requests", h_request, API_RF_IDEMPOTENT },
	{ "GET", "/v1/diameter/peers", h_peers, 0 },
	{ "POST", "/v1/diameter/requests/{id}/answer", h_answer, 0 },
};

int api_diameter_register(struct dm_svc *s)
{
	svc = s;
	if (s)
		dm_svc_set_incoming(s, incoming, NULL);
	return api_routes_register(routes, sizeof(routes) / sizeof(routes[0]));
}

static const struct api_metric_def metrics[] = {
	{ "rcsgw_diameter_requests_out_total", "counter", "Diameter requests sent (failovers apart)." },
	{ "rcsgw_diameter_answers_in_total", "counter", "Answers to them." },
	{ "rcsgw_diameter_timeouts_total", "counter", "Requests sent that got no answer in time." },
	{ "rcsgw_diameter_no_route_total", "counter", "Requests refused: no open peer for their realm and application." },
	{ "rcsgw_diameter_failovers_total", "counter", "Requests sent again through another peer (T flag)." },
	{ "rcsgw_diameter_requests_in_total", "counter", "Requests received for the application." },
	{ "rcsgw_diameter_answers_out_total", "counter", "Requests received answered by the application." },
	{ "rcsgw_diameter_unanswered_total", "counter", "Requests received answered for the application after diameter.answer_timeout." },
	{ "rcsgw_diameter_refused_in_total", "counter", "Requests received refused here (3002, 3003, 3004, 3007, 5012)." },
	{ "rcsgw_diameter_dropped_in_total", "counter", "Requests received whose connection ended before the application answered." },
	{ "rcsgw_diameter_malformed_total", "counter", "Malformed Diameter messages received (answered with their error, or the connection closed)." },
	{ "rcsgw_diameter_connects_total", "counter", "Peer connections opened (capabilities exchanged)." },
	{ "rcsgw_diameter_connect_failures_total", "counter", "Peer connections that failed before being open." },
	{ "rcsgw_diameter_watchdog_suspects_total", "counter", "Peers found suspect by the watchdog (RFC 3539)." },
	{ "rcsgw_diameter_peers_open", "gauge", "Diameter peers open now." },
	{ "rcsgw_diameter_peers", "gauge", "Diameter peers, configured and accepted." },
};

static void collect(eng_worker *w, uint64_t *v, void *arg)
{
	struct dm_node_stats s = { 0 };
	struct dm_node *n = eng_worker_index(w) == DM_SVC_WORKER ? dm_svc_node(svc) : NULL;
	(void)arg;
	if (n)
		dm_node_stats(n, &s);
	const uint64_t f[] = { s.requests_out, s.answers_in, s.timeouts, s.no_route, s.failovers,
			       s.requests_in, s.answers_out, s.unanswered, s.refused_in,
			       s.dropped_in, s.malformed, s.connects, s.connect_failures, s.watchdog_suspects,
			       s.peers_open, s.peers };
	_Static_assert(sizeof(f) / sizeof(f[0]) == sizeof(metrics) / sizeof(metrics[0]),
		       "one value per family");
	memcpy(v, f, sizeof(f));
}

/* Messages by command and result, each way (on the node's worker; 0 on the others), in
 * the rows' order of traffic_register. */
static void traffic_collect(eng_worker *w, uint64_t *v, void *arg)
{
	struct dm_node *n = eng_worker_index(w) == DM_SVC_WORKER ? dm_svc_node(svc) : NULL;
	(void)arg;
	if (!n)
		return;
	const struct dm_traffic *t = dm_node_traffic(n);
	memcpy(v, t->requests, sizeof(t->requests));
	v += 2 * DM_TRAFFIC_CMDS;
	memcpy(v, t->answers, sizeof(t->answers));
	memcpy(v + 2 * DM_TRAFFIC_CMDS, t->results, sizeof(t->results));
}

static void rtt_collect(eng_worker *w, uint64_t *v, void *arg)
{
	struct dm_node *n = eng_worker_index(w) == DM_SVC_WORKER ? dm_svc_node(svc) : NULL;
	(void)arg;
	if (n)
		api_metrics_hist_put(v, &dm_node_traffic(n)->rtt);
}

static const struct api_metric_hist rtt_hist[] = {
	{ "rcsgw_diameter_request_duration_seconds",
	  "Diameter requests of ours from their send to their answer (each peer tried).", "" },
};

/* The labeled families: commands named as the built-in dictionary names them. */
static int traffic_register(void)
{
	static const char *cmds[DM_TRAFFIC_CMDS];
	static const char *const dirs[] = { "in", "out", NULL };
	for (unsigned i = 0; i < DM_DICT_BUILTIN_CMDS; i++)
		cmds[i] = dm_dict_builtin_cmd(i)->name;
	cmds[DM_TRAFFIC_CMDS - 1] = "other";
	struct api_metric_series *r = api_metrics_rows(
		"rcsgw_diameter_requests_total", "counter",
		"Diameter requests received (in) and sent (out), by command.", "direction", dirs,
		"command", cmds, DM_TRAFFIC_CMDS);
	if (!r || !api_metrics_rows("rcsgw_diameter_answers_total", "counter",
				    "Diameter answers received (in) and sent (out), by command.",
				    "direction", dirs, "command", cmds, DM_TRAFFIC_CMDS) ||
	    !api_metrics_rows("rcsgw_diameter_answer_results_total", "counter",
			      "Diameter answers received (in) and sent (out), by Result-Code class.",
			      "direction", dirs, "result", dm_traffic_result_names,
			      DM_TRAFFIC_RESULTS))
		return -ENOSPC;
	int rc = api_metrics_register_worker_series(r, 4 * DM_TRAFFIC_CMDS + 2 * DM_TRAFFIC_RESULTS,
						    traffic_collect, NULL);
	return rc ? rc : api_metrics_register_worker_hist(rtt_hist, 1, rtt_collect, NULL);
}

/* The hooks' verdicts (process-wide counters). */
static void emit(struct api_metrics_out *o, void *arg)
{
	struct dm_hook_stats h;
	(void)arg;
	dm_svc_hook_stats(svc, &h);
	api_metrics_family(o, "rcsgw_diameter_hook_verdicts_total", "counter",
			   "Verdicts of the gateway's Sh and Ro questions, by hook and verdict.");
	const struct {
		const char *hook, *verdict;
		uint64_t v;
	} rows[] = {
		{ "sh", "allow", h.sh_allowed }, { "sh", "deny", h.sh_denied },
		{ "sh", "failed", h.sh_failed }, { "ro", "allow", h.ro_allowed },
		{ "ro", "deny", h.ro_denied },	 { "ro", "failed", h.ro_failed },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *labels[] = { "hook", rows[i].hook, "verdict", rows[i].verdict, NULL };
		api_metrics_sample(o, "rcsgw_diameter_hook_verdicts_total", labels,
				   (double)rows[i].v);
	}
}

int api_diameter_started(void)
{
	if (!svc) {
		cm_sr_set("diameter", CM_SR_DISABLED, "diameter.enabled = false");
		return 0;
	}
	int rc = cm_sr_probe("diameter", probe, NULL);
	if (!rc)
		rc = api_metrics_register_worker(metrics, sizeof(metrics) / sizeof(metrics[0]),
						 collect, NULL);
	if (!rc)
		rc = traffic_register();
	return rc ? rc : api_metrics_register(emit, NULL);
}
