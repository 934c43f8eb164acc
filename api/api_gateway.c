/* api_gateway.c — the REST routes of the SIP MESSAGE ⇄ MSRP gateway (gateway/gw_page.h):
 *
 *   GET    /v1/gateway/sessions         every pair of every worker
 *   GET    /v1/gateway/sessions/{id}    one, named by its user-agent session's id or by its
 *                                       key ("<page user>|<RCS user>", '|' as %7C in a URL)
 *   DELETE /v1/gateway/sessions/{id}    ends it (BYE), 204
 *
 * With the gateway off they answer 503. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_gateway.h"
#include "gateway/gw_page.h"

static struct gw_page_shared *gw_sh;
static struct gw_ua_shared *gw_ua_sh;

struct gslot {
	int code;
	json_t *obj;
};

struct gop {
	int del;
	int one;
	char id[GW_PAGE_KEY_MAX + 1];  /* a session id or a pair key */
};

static void gcleanup(struct api_gather *g)
{
	free(api_gather_arg(g));
	for (unsigned i = 0; i < api_gather_n(g); i++) {
		struct gslot *s = api_gather_slot(g, i);
		json_decref(s->obj);
		s->obj = NULL;
	}
}

static void grun(eng_worker *w, void *slotp, void *arg)
{
	struct gslot *s = slotp;
	struct gop *o = arg;
	struct gw_page *gp = gw_page_at(gw_sh, eng_worker_index(w));
	if (!gp) {
		s->code = 503;
		return;
	}
	if (!o->one) {
		if ((s->obj = json_array()))
			gw_page_list(gp, s->obj);
		return;
	}
	if (o->del)
		s->code = gw_page_end(gp, o->id) ? 404 : 0;
	else if (!(s->obj = gw_page_session_json(gp, o->id)))
		s->code = 404;
}

static void grender_one(struct api_req *r, struct api_gather *g)
{
	struct gslot *s = api_gather_slot(g, 0);
	struct gop *o = api_gather_arg(g);
	if (s->code) {
		api_reply_error(r, (unsigned)s->code, s->code == 404 ? "no such gateway session"
								  : "the gateway is not running");
		return;
	}
	if (o->del) {
		api_reply_text(r, 204, "application/json", calloc(1, 1), 0);
		return;
	}
	json_t *obj = s->obj;
	s->obj = NULL;
	api_reply_json(r, 200, obj);
}

static void grender_list(struct api_req *r, struct api_gather *g)
{
	json_t *all = json_array();
	for (unsigned i = 0; all && i < api_gather_n(g); i++) {
		struct gslot *s = api_gather_slot(g, i);
		if (s->obj)
			json_array_extend(all, s->obj);
	}
	api_reply_json(r, 200, json_pack("{s:o}", "sessions", all));
}

static int gateway_on(struct api_req *r)
{
	if (!gw_sh) {
		api_reply_error(r, 503, "the gateway is off (gateway.enabled)");
		return 0;
	}
	return 1;
}

static void h_list(struct api_req *r)
{
	struct gop *o = calloc(1, sizeof(*o));
	if (!gateway_on(r) || !o) {
		if (o)
			free(o);
		else
			api_reply_error(r, 500, "out of memory");
		return;
	}
	if (api_gather(r, sizeof(struct gslot), grun, grender_list, gcleanup, o) < 0)
		free(o);
}

static void one(struct api_req *r, int del)
{
	const char *id = api_req_param(r, "id");
	if (!gateway_on(r))
		return;
	int w = id && strlen(id) == GW_UA_ID_LEN ? gw_ua_worker_of(gw_ua_sh, id) : -1;
	if (w < 0 && id && *id && strlen(id) <= GW_PAGE_KEY_MAX && strchr(id, '|'))
		w = (int)gw_page_worker_of_key(gw_sh, id); /* a pair key */
	struct gop *o = w >= 0 ? calloc(1, sizeof(*o)) : NULL;
	if (!o) {
		api_reply_error(r, 404, "no such gateway session");
		return;
	}
	o->del = del;
	o->one = 1;
	memcpy(o->id, id, strlen(id) + 1);
	if (api_ask(r, (unsigned)w, sizeof(struct gslot), grun, grender_one, gcleanup, o) < 0)
		free(o);
}

static void h_get(struct api_req *r)
{
	one(r, 0);
}

static void h_delete(struct api_req *r)
{
	one(r, 1);
}

static const struct api_route routes[] = {
	{ "GET", "/v1/gateway/sessions", h_list, 0 },
	{ "GET", "/v1/gateway/sessions/{id}", h_get, 0 },
	{ "DELETE", "/v1/gateway/sessions/{id}", h_delete, 0 },
};

int api_gateway_register(struct gw_page_shared *sh, struct gw_ua_shared *ua)
{
	gw_sh = sh;
	gw_ua_sh = ua;
	return api_routes_register(routes, sizeof(routes) / sizeof(routes[0]));
}
