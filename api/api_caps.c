/* api_caps.c — GET /v1/capabilities/{uri} (api_caps.h): asks the worker whose cache holds
 * the URI (gw_caps_worker_of) and waits for its answer, which may need an OPTIONS round trip
 * (api_ask_later). The answer:
 *
 *   {"uri", "reachable": the OPTIONS got a 2xx, "sip_code", "services": ["chat", ...],
 *    "other_tags": n, "botversion"?, "cached", "checked_at", "expires_at"}
 *
 * Every SIP outcome is a 200 (the question was answered: a user that does not exist is
 * "reachable": false with its code); a URI that is no sip:/sips:/tel: URI is 400, one that
 * cannot be routed 502, a worker that cannot send 503. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_caps.h"
#include "gateway/gw_caps.h"
#include "rcs/rcs_cpim.h"
#include "rcs/rcs_tags.h"

static api_caps_at_fn caps_at;
static unsigned nworkers, wait_ms;

struct slot {
	int code;                      /* 0: <a> is the answer */
	char msg[128];
	struct gw_caps_answer a;
};

struct op {
	char uri[GW_CAPS_URI_MAX + 1];
	int fresh;
	struct slot *slot;             /* the worker's, while the query runs */
	struct api_later *t;
};

static void cleanup(struct api_gather *g)
{
	free(api_gather_arg(g));
}

static void got(void *arg, const struct gw_caps_answer *a)
{
	struct op *o = arg;
	o->slot->a = *a;
	api_later_done(o->t);
}

/* On the URI's worker. */
static void run(eng_worker *w, void *slotp, void *arg, struct api_later *t)
{
	struct slot *s = slotp;
	struct op *o = arg;
	struct gw_caps *c = caps_at ? caps_at(eng_worker_index(w)) : NULL;
	o->slot = s;
	o->t = t;
	int rc = c ? gw_caps_query(c, o->uri, o->fresh, got, o) : -ENODEV;
	if (rc == 0)
		return; /* got() answers, now or later */
	switch (rc) {
	case -EINVAL:
		s->code = 400;
		snprintf(s->msg, sizeof(s->msg), "the URI is not a sip:, sips: or tel: URI (without "
			 "URI headers)");
		break;
	case -EHOSTUNREACH:
		s->code = 502;
		snprintf(s->msg, sizeof(s->msg), "no route to the URI (a host name or a tel: URI "
			 "needs sip.outbound_proxy)");
		break;
	case -ENODEV:
		s->code = 503;
		snprintf(s->msg, sizeof(s->msg), "capability discovery is off (ua.enabled)");
		break;
	case -ENOMEM:
	case -EBUSY:
		s->code = 503;
		snprintf(s->msg, sizeof(s->msg), "the SIP layer is full: retry later");
		break;
	default:
		s->code = 502;
		snprintf(s->msg, sizeof(s->msg), "the OPTIONS could not be sent to that URI (%s)",
			 strerror(-rc));
		break;
	}
	api_later_done(t);
}

static json_t *stamp(uint64_t ms)
{
	char b[32];
	rcs_cpim_datetime((long long)ms, b);
	return json_string(b);
}

static void render(struct api_req *r, struct api_gather *g)
{
	struct slot *s = api_gather_slot(g, 0);
	struct op *o = api_gather_arg(g);
	if (s->code) {
		api_reply_error(r, (unsigned)s->code, "%s", s->msg);
		return;
	}
	const struct gw_caps_answer *a = &s->a;
	json_t *sv = json_array();
	for (unsigned bit = 1; sv && bit; bit <<= 1)
		if ((a->services & bit) && rcs_svc_name(bit))
			json_array_append_new(sv, json_string(rcs_svc_name(bit)));
	json_t *j = json_pack("{s:s, s:b, s:i, s:o, s:i, s:b, s:o, s:o}", "uri", o->uri,
			      "reachable", a->sip_code >= 200 && a->sip_code < 300, "sip_code",
			      a->sip_code, "services", sv, "other_tags", (int)a->other, "cached",
			      a->cached, "checked_at", stamp(a->checked_ms), "expires_at",
			      stamp(a->expires_ms));
	if (j && a->botversion[0])
		json_object_set_new(j, "botversion", json_string(a->botversion));
	api_reply_json(r, 200, j);
}

static void h_caps(struct api_req *r)
{
	const char *uri = api_req_param(r, "uri"), *rf = api_req_query(r, "refresh");
	if (!caps_at) {
		api_reply_error(r, 503, "capability discovery is off (ua.enabled)");
		return;
	}
	if (!uri || !*uri || strlen(uri) > GW_CAPS_URI_MAX) {
		api_reply_error(r, 400, "the URI must have 1 to %d characters", GW_CAPS_URI_MAX);
		return;
	}
	if (rf && strcmp(rf, "true") && strcmp(rf, "false")) {
		api_reply_error(r, 400, "query 'refresh' must be true or false");
		return;
	}
	struct op *o = calloc(1, sizeof(*o));
	if (!o) {
		api_reply_error(r, 500, "out of memory");
		return;
	}
	memcpy(o->uri, uri, strlen(uri) + 1);
	for (char *c = o->uri; *c && *c != ':'; c++) /* one cache entry for SIP: and sip: */
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	o->fresh = rf && !strcmp(rf, "true");
	if (api_ask_later(r, gw_caps_worker_of(o->uri, nworkers), sizeof(struct slot), wait_ms,
			  run, render, cleanup, o) < 0)
		free(o);
}

static const struct api_route routes[] = {
	{ "GET", "/v1/capabilities/{uri}", h_caps, 0 },
};

int api_caps_register(api_caps_at_fn at, unsigned n, unsigned timeout_ms)
{
	caps_at = at;
	nworkers = n;
	wait_ms = timeout_ms + 2000; /* the worker answers 408 itself first */
	return api_routes_register(routes, sizeof(routes) / sizeof(routes[0]));
}
