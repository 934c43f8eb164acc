/* api_sessions.c — the REST routes of the user agent's sessions (gateway/gw_ua.h):
 *
 *   POST   /v1/sessions                    start one (201, Location)      Idempotency-Key
 *   GET    /v1/sessions                    ?state=&limit=&after= (paged by id)
 *   GET    /v1/sessions/{id}
 *   DELETE /v1/sessions/{id}               end it (204): BYE, CANCEL or 603
 *   POST   /v1/sessions/{id}/messages      send one (202 {"message_id"})  Idempotency-Key
 *   POST   /v1/sessions/{id}/messages/{message_id}/displayed   its display IMDN (202)
 *   POST   /v1/sessions/{id}/composing     isComposing {"state","refresh"?,"content_type"?} (202)
 *   POST   /v1/sessions/{id}/answer        answer an incoming one
 *   POST   /v1/messages                    a standalone message (pager or large mode, 202)
 *   POST   /v1/sessions/{id}/files         a file to the session's peer (RFC 5547), raw body,
 *                                          ?name=&disposition=, Content-Type its type (202)
 *   POST   /v1/sessions/{id}/files/{transfer_id}/resume   a transfer that broke, resumed
 *   GET    /v1/files/{id}                  a file received (raw), DELETE /v1/files/{id}
 *   POST   /v1/sessions/{id}/reject        reject an incoming one {"code"}
 *
 * Everything that can be checked without the session is checked here, on the api thread
 * (JSON shape, URIs, header names, content types, base64), with a 400 naming the field; the
 * rest is asked of the worker that owns the session (its id says which) through api_ask(),
 * whose answer is a status and a message, or the session's JSON. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>

#include "api/api.h"
#include "api/api_sessions.h"
#include "gateway/gw_files.h"
#include "gateway/gw_pager.h"
#include "gateway/gw_ua.h"
#include "sip/sdp_msrp.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000
/* A request passed on to the session's owner: its answer by then (a send's may wait there
 * for its append to Redis, up to 3 s). */
#define FORWARD_MS(kind) ((kind) == OP_SEND ? 4000 : 2000)

static struct gw_ua_shared *ua_sh;
static struct gw_pager_shared *pager_sh;
static struct gw_files *files;
static api_takeover_fn takeover;
static api_durable_fn durable;
static api_forward_fn forward;
static _Atomic unsigned next_worker;

/* What a worker answers. */
struct slot {
	int code;                      /* 0: done */
	char msg[256];
	json_t *obj;                   /* the session (or a page of them), the api thread's */
	unsigned more;                 /* GET /v1/sessions: sessions beyond the page */
	char message_id[MSRP_ID_MSGID_LEN + 1];
	struct gw_pager_file pf;       /* OP_FILE: what the worker made of it */
	int durable;                   /* OP_SEND with durable delivery: -1 not asked, 0, 1 */
	unsigned fwd_status;           /* passed on to the owner: its answer (0: not) */
	char fwd_ctype[128];
	char *fwd_body;
	size_t fwd_len;
};

enum op_kind { OP_CREATE, OP_GET, OP_END, OP_SEND, OP_ANSWER, OP_REJECT, OP_LIST, OP_DISPLAYED,
	       OP_COMPOSING, OP_STANDALONE, OP_FILE, OP_FILE_RESUME };

/* What the api thread asks; strings point into <root> (the request's JSON) or <idbuf>. */
struct op {
	enum op_kind kind;
	char id[GW_UA_ID_LEN + 1];
	json_t *root;
	struct gw_ua_new n;
	struct gw_ua_msg m;
	void *body;                    /* decoded body_base64 (malloc'ed) */
	const char *types[GW_UA_MAX_TYPES];
	unsigned ntypes;
	int code;
	const char *state, *after;
	char after_buf[GW_UA_ID_LEN + 1];
	unsigned limit;
	char msgid[RCS_IMDN_ID_MAX + 1];  /* OP_DISPLAYED */
	struct rcs_composing comp;     /* OP_COMPOSING */
	struct gw_pager_msg pm;        /* OP_STANDALONE */
	struct gw_pager_file pf;       /* OP_FILE */
	char fname[256], ftype[128];
	char tid[MSRP_ID_MSGID_LEN + 1]; /* OP_FILE_RESUME */
	struct api_fwd_req fwd;        /* the request as it came, to pass on (method NULL: not) */
	char *fwd_strs;                /* what fwd's strings point into */
};

static void op_free(struct op *o)
{
	if (!o)
		return;
	json_decref(o->root);
	free(o->body);
	free(o->fwd_strs);
	free(o);
}

static void cleanup(struct api_gather *g)
{
	op_free(api_gather_arg(g));
	for (unsigned i = 0; i < api_gather_n(g); i++) {
		struct slot *s = api_gather_slot(g, i);
		json_decref(s->obj);
		s->obj = NULL;
		free(s->fwd_body);
		s->fwd_body = NULL;
	}
}

/* On the session's worker. */
static void run(eng_worker *w, void *slotp, void *arg)
{
	struct slot *s = slotp;
	struct op *o = arg;
	struct gw_ua *ua = gw_ua_at(ua_sh, eng_worker_index(w));
	if (!ua) {
		s->code = 503;
		snprintf(s->msg, sizeof(s->msg), "the user agent is not running");
		return;
	}
	switch (o->kind) {
	case OP_CREATE:
		s->code = gw_ua_create(ua, &o->n, &s->obj, s->msg, sizeof(s->msg));
		return;
	case OP_LIST:
		s->obj = json_array();
		if (s->obj)
			s->more = gw_ua_list(ua, o->state, o->after, o->limit, s->obj);
		return;
	case OP_GET:
		break;
	case OP_END:
		s->code = gw_ua_end(ua, o->id, s->msg, sizeof(s->msg));
		break;
	case OP_SEND: {
		struct gw_ua_msg m = o->m; /* the worker writes message_id into its copy */
		s->code = gw_ua_send(ua, o->id, &m, s->msg, sizeof(s->msg));
		memcpy(s->message_id, m.message_id, sizeof(s->message_id));
		break;
	}
	case OP_ANSWER:
		s->code = gw_ua_answer(ua, o->id, o->types, o->ntypes, s->msg, sizeof(s->msg));
		break;
	case OP_REJECT:
		s->code = gw_ua_reject(ua, o->id, o->code, s->msg, sizeof(s->msg));
		break;
	case OP_DISPLAYED:
		s->code = gw_ua_displayed(ua, o->id, o->msgid, s->message_id, s->msg,
					  sizeof(s->msg));
		return;
	case OP_COMPOSING:
		s->code = gw_ua_composing(ua, o->id, &o->comp, s->message_id, s->msg,
					  sizeof(s->msg));
		return;
	case OP_FILE:
		s->pf = o->pf;
		s->code = pager_sh ? gw_pager_send_file(pager_sh, ua, o->id, &s->pf, s->msg,
							sizeof(s->msg)) : 503;
		if (!pager_sh)
			snprintf(s->msg, sizeof(s->msg), "file transfer is off");
		return;
	case OP_FILE_RESUME:
		s->code = pager_sh ? gw_pager_resume_file(pager_sh, ua, o->id, o->tid, &s->obj,
							  s->msg, sizeof(s->msg)) : 503;
		if (!pager_sh)
			snprintf(s->msg, sizeof(s->msg), "file transfer is off");
		return;
	case OP_STANDALONE: {
		struct gw_pager_msg pm = o->pm; /* the worker writes message_id into its copy */
		s->code = pager_sh ? gw_pager_send(pager_sh, ua, &pm, s->msg, sizeof(s->msg)) : 503;
		if (!pager_sh)
			snprintf(s->msg, sizeof(s->msg), "standalone messaging is off");
		memcpy(s->message_id, pm.message_id, sizeof(s->message_id));
		s->more = pm.used; /* the mode taken */
		return;
	}
	}
	if (!s->code || s->code == 415 || s->code == 409)
		s->obj = gw_ua_session_json(ua, o->id);
	if (!s->code && !s->obj) {
		s->code = 404;
		snprintf(s->msg, sizeof(s->msg), "no such session");
	}
}

static void render(struct api_req *r, struct api_gather *g)
{
	struct slot *s = api_gather_slot(g, 0);
	struct op *o = api_gather_arg(g);
	if (s->fwd_status) { /* the owner's answer, as it gave it */
		api_reply_typed(r, s->fwd_status, s->fwd_ctype, s->fwd_body, s->fwd_len);
		s->fwd_body = NULL;
		return;
	}
	if (s->code) {
		api_reply_error(r, (unsigned)s->code, "%s", s->msg);
		return;
	}
	json_t *obj = s->obj;
	s->obj = NULL;
	switch (o->kind) {
	case OP_CREATE: {
		char loc[64];
		const char *id = json_string_value(json_object_get(obj, "id"));
		snprintf(loc, sizeof(loc), "/v1/sessions/%s", id ? id : "");
		api_reply_header(r, "Location", loc);
		api_reply_json(r, 201, obj);
		return;
	}
	case OP_END:
		json_decref(obj);
		api_reply_text(r, 204, "application/json", calloc(1, 1), 0);
		return;
	case OP_SEND:
	case OP_COMPOSING: {
		json_decref(obj);
		json_t *a = json_pack("{s:s, s:s}", "message_id", s->message_id, "session_id",
				      o->id);
		if (a && o->kind == OP_SEND && durable && s->durable >= 0) /* in Redis by then */
			json_object_set_new(a, "durable", json_boolean(s->durable));
		api_reply_json(r, 202, a);
		return;
	}
	case OP_FILE:
		api_reply_json(r, 202, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "session_id",
						 o->id, "transfer_id", s->pf.transfer_id,
						 "transfer_session_id", s->pf.transfer_session, "name",
						 o->fname, "size", (json_int_t)o->pf.len,
						 "content_type", o->ftype, "sha1", s->pf.hash));
		return;
	case OP_FILE_RESUME:
		api_reply_json(r, 202, obj);
		return;
	case OP_STANDALONE:
		api_reply_json(r, 202, json_pack("{s:s, s:s}", "message_id", s->message_id, "mode",
						 s->more == GW_PAGER_LARGE ? "large" : "pager"));
		return;
	case OP_DISPLAYED:
		json_decref(obj);
		api_reply_json(r, 202, json_pack("{s:s, s:s, s:s}", "message_id", o->msgid,
						 "notification_id", s->message_id, "session_id",
						 o->id));
		return;
	default:
		api_reply_json(r, 200, obj);
		return;
	}
}

/* A takeover on its way for an op that found no session. */
struct retry {
	eng_worker *w;
	void *slot;
	struct op *o;
	struct api_later *t;
	int round;                     /* 1: after a request passed on got no answer */
};

/* A message accepted: the answer waits until it is in Redis (or is not to be). */
struct keep_wait {
	struct slot *s;
	struct api_later *t;
};

static void kept(void *ctx, int is_durable)
{
	struct keep_wait *k = ctx;
	k->s->durable = is_durable;
	api_later_done(k->t);
	free(k);
}

/* The op has run: its answer goes now, or once a message sent is durable. */
static void finish(eng_worker *w, struct slot *s, struct op *o, struct api_later *t)
{
	s->durable = -1;
	if (o->kind == OP_SEND && !s->code && !s->fwd_status && durable) {
		struct keep_wait *k = malloc(sizeof(*k));
		int rc = k ? durable(w, o->id, s->message_id, kept, k) : 0;
		if (rc == -EINPROGRESS) {
			*k = (struct keep_wait){ s, t };
			return;
		}
		free(k);
		s->durable = rc == 1;
	}
	api_later_done(t);
}

static void taken_over(void *ctx, int here, const char *owner);

/* The owner's answer to a request passed on. */
static void forwarded(void *ctx, unsigned status, const char *ctype, const char *body,
		      size_t len)
{
	struct retry *rt = ctx;
	struct slot *s = rt->slot;
	char *b = malloc(len + 1);
	if (b) {
		memcpy(b, body, len);
		b[len] = '\0';
		s->fwd_status = status;
		snprintf(s->fwd_ctype, sizeof(s->fwd_ctype), "%s", ctype && *ctype ? ctype :
			 "application/json");
		s->fwd_body = b;
		s->fwd_len = len;
	} else {
		s->code = 500;
		snprintf(s->msg, sizeof(s->msg), "out of memory");
	}
	/* no answer: the owner may have died meanwhile (its heartbeat outlives it a while),
	 * so a takeover once more — its 504 stands if the session is not taken */
	struct gw_ua *ua = gw_ua_at(ua_sh, eng_worker_index(rt->w));
	if (status == 504 && !rt->round++ && ua &&
	    takeover(rt->w, ua, rt->o->id, taken_over, rt) == 0)
		return;
	finish(rt->w, rt->slot, rt->o, rt->t);
	free(rt);
}

static void taken_over(void *ctx, int here, const char *owner)
{
	struct retry *rt = ctx;
	struct op *o = rt->o;
	if (here) { /* the session is ours now: the op again */
		struct slot *s = rt->slot;
		free(s->fwd_body);
		memset(s, 0, sizeof(*s));
		run(rt->w, s, o);
	} else if (owner && forward && o->fwd.method && !rt->round) {
		int rc = forward(rt->w, owner, o->id, &o->fwd, FORWARD_MS(o->kind), forwarded, rt);
		if (rc == 0)
			return; /* another node's, alive: it answers */
		struct slot *s = rt->slot; /* it is there, not gone: no 404 */
		s->code = rc == -EMSGSIZE ? 413 : 503;
		snprintf(s->msg, sizeof(s->msg), "the session is node %s's and the request cannot "
			 "be passed on to it: %s", owner, rc == -EMSGSIZE ? "too large (1 MiB "
			 "at most between nodes)" : strerror(-rc));
	}
	finish(rt->w, rt->slot, o, rt->t);
	free(rt);
}

/* The request as it came, kept in <o> to be passed on if the session is another node's
 * (on the api thread: the worker cannot read the request's headers). */
static void keep_request(struct api_req *r, struct op *o)
{
	char query[2048];
	const char *hv[3] = { api_req_header(r, "Content-Type"),
			      api_req_header(r, "Idempotency-Key"),
			      api_req_header(r, "Authorization") };
	const char *m = api_req_method(r), *url = api_req_url(r);
	size_t blen;
	const char *body = api_req_body(r, &blen);
	if (!forward || api_req_header(r, API_FORWARDED_HEADER) ||
	    api_req_query_string(r, query, sizeof(query)) < 0)
		return;
	/* the body copied (the request may be answered, and freed, before the worker is done
	 * with the op); beyond API_FORWARD_BODY_MAX only its length: it cannot be passed on */
	size_t n = strlen(m) + strlen(url) + strlen(query) + 3 +
		   (blen <= API_FORWARD_BODY_MAX ? blen : 0);
	for (int i = 0; i < 3; i++)
		n += hv[i] ? strlen(hv[i]) + 1 : 0;
	char *p = o->fwd_strs = malloc(n);
	if (!p)
		return;
	const char **dst[6] = { &o->fwd.method, &o->fwd.path, &o->fwd.query, &o->fwd.ctype,
				&o->fwd.idem_key, &o->fwd.auth };
	const char *src[6] = { m, url, query, hv[0], hv[1], hv[2] };
	for (int i = 0; i < 6; i++) {
		if (!src[i])
			continue;
		size_t l = strlen(src[i]) + 1;
		*dst[i] = memcpy(p, src[i], l);
		p += l;
	}
	o->fwd.len = blen;
	o->fwd.owner = api_req_owner(r);
	o->fwd.body = blen <= API_FORWARD_BODY_MAX ? memcpy(p, body, blen) : NULL;
}

/* run(), and when the session is not here, a takeover from a dead node first. */
static void run_later(eng_worker *w, void *slotp, void *arg, struct api_later *t)
{
	struct slot *s = slotp;
	struct op *o = arg;
	run(w, slotp, arg);
	struct gw_ua *ua = gw_ua_at(ua_sh, eng_worker_index(w));
	struct retry *rt;
	if (takeover && s->code == 404 && !strcmp(s->msg, "no such session") && o->id[0] && ua &&
	    o->kind != OP_CREATE && o->kind != OP_LIST && (rt = malloc(sizeof(*rt)))) {
		*rt = (struct retry){ w, slotp, o, t, 0 };
		if (takeover(w, ua, o->id, taken_over, rt) == 0)
			return;
		free(rt);
	}
	finish(w, s, o, t);
}

static void ask(struct api_req *r, struct op *o)
{
	int w = gw_ua_worker_of(ua_sh, o->id);
	if (w < 0) {
		op_free(o);
		api_reply_error(r, 404, "no such session");
		return;
	}
	if (takeover && o->id[0] && o->kind != OP_CREATE && o->kind != OP_LIST &&
	    o->kind != OP_STANDALONE)
		keep_request(r, o);
	if (takeover || durable
		    /* a send may wait for a takeover and its append, each within 3 s (sh_node),
		     * or for a takeover's answer, the owner's (FORWARD_MS), a takeover again */
		    ? api_ask_later(r, (unsigned)w, sizeof(struct slot),
				    o->kind == OP_SEND ? 12000 : forward ? 8000 : 0, run_later,
				    render, cleanup, o) < 0
		     : api_ask(r, (unsigned)w, sizeof(struct slot), run, render, cleanup, o) < 0)
		op_free(o);
}

/* ---- request bodies --------------------------------------------------------------------- */

/* A string member <name> or NULL; 400 (and -1) when present and not a string. */
static int opt_string(struct api_req *r, json_t *o, const char *name, const char **out)
{
	json_t *v = json_object_get(o, name);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		api_reply_error(r, 400, "field '%s' must be a string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* 1 when <s> has no control character (TAB aside): it can be one header line. */
static int one_line(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* 1 for an id as OMA CPM ids are: 1 to 200 printable characters, no blank. */
static int cpm_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 200)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int types_field(struct api_req *r, json_t *o, const char **types, unsigned *n)
{
	json_t *a = json_object_get(o, "accept_types"), *v;
	size_t i;
	*n = 0;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > GW_UA_MAX_TYPES) {
		api_reply_error(r, 400, "field 'accept_types' must be an array of at most %d media "
				"types", GW_UA_MAX_TYPES);
		return -1;
	}
	json_array_foreach(a, i, v) {
		cm_slice t[1];
		unsigned k;
		const char *s = json_string_value(v);
		if (!s || sdp_msrp_types_parse((cm_slice){ s, strlen(s) }, t, 1, &k) < 0 || k != 1) {
			api_reply_error(r, 400, "field 'accept_types' item %zu is not a media type", i);
			return -1;
		}
		types[(*n)++] = s;
	}
	return 0;
}

static struct op *op_new(struct api_req *r, enum op_kind kind, const char *id)
{
	struct op *o = calloc(1, sizeof(*o));
	if (!o) {
		api_reply_error(r, 500, "out of memory");
		return NULL;
	}
	o->kind = kind;
	if (id && strlen(id) == GW_UA_ID_LEN) /* any other length is no id of ours: 404 */
		memcpy(o->id, id, GW_UA_ID_LEN + 1);
	return o;
}

static int ua_ready(struct api_req *r)
{
	if (!ua_sh || !gw_ua_enabled(ua_sh)) {
		api_reply_error(r, 503, "the user agent is off (ua.enabled)");
		return 0;
	}
	return 1;
}

/* A new op of <kind> (no session id yet) holding the request's JSON object body as its root,
 * or NULL with the answer given (503 without user agent, 400, 500). */
static struct op *op_with_body(struct api_req *r, enum op_kind kind)
{
	if (!ua_ready(r))
		return NULL;
	json_t *j = api_body_object(r, 0);
	if (!j)
		return NULL;
	struct op *o = op_new(r, kind, NULL);
	if (!o) {
		json_decref(j);
		return NULL;
	}
	o->root = j;
	return o;
}

/* ---- handlers --------------------------------------------------------------------------- */

static void h_create(struct api_req *r)
{
	static const char *const fields[] = { "from", "to", "ruri", "accept_types", "headers",
					      "conversation_id", "contribution_id",
					      "in_reply_to_contribution_id", NULL };
	/* OMA CPM ids (RCC.07): fields of their own, headers on the INVITE */
	static const char *const ids[][2] = {
		{ "conversation_id", "Conversation-ID" },
		{ "contribution_id", "Contribution-ID" },
		{ "in_reply_to_contribution_id", "InReplyTo-Contribution-ID" },
	};
	struct op *o = op_with_body(r, OP_CREATE);
	if (!o)
		return;
	json_t *j = o->root;
	struct gw_ua_new *n = &o->n;
	char msg[256];
	if (api_only_fields(r, j, fields) < 0 || opt_string(r, j, "from", &n->from) < 0 ||
	    opt_string(r, j, "to", &n->to) < 0 || opt_string(r, j, "ruri", &n->ruri) < 0 ||
	    types_field(r, j, n->types, &n->ntypes) < 0)
		goto done;
	json_t *h = json_object_get(j, "headers"), *v;
	const char *k;
	if (h && !json_is_object(h)) {
		api_reply_error(r, 400, "field 'headers' must be an object of strings");
		goto done;
	}
	json_object_foreach(h, k, v) {
		if (!json_is_string(v) || n->nhdrs == 32) {
			api_reply_error(r, 400, "field 'headers' must be an object of at most 32 strings");
			goto done;
		}
		n->hdr_names[n->nhdrs] = k;
		n->hdr_values[n->nhdrs++] = json_string_value(v);
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const char *idv;
		if (opt_string(r, j, ids[i][0], &idv) < 0)
			goto done;
		if (!idv)
			continue;
		if (!cpm_id_ok(idv)) {
			api_reply_error(r, 400, "field '%s' must be 1 to 200 printable ASCII "
					"characters without blanks", ids[i][0]);
			goto done;
		}
		for (unsigned k2 = 0; k2 < n->nhdrs; k2++)
			if (!strcasecmp(n->hdr_names[k2], ids[i][1])) {
				api_reply_error(r, 400, "field '%s' and header %s both given",
						ids[i][0], ids[i][1]);
				goto done;
			}
		if (n->nhdrs == 32) {
			api_reply_error(r, 400, "field 'headers' must be an object of at most 32 strings");
			goto done;
		}
		n->hdr_names[n->nhdrs] = ids[i][1];
		n->hdr_values[n->nhdrs++] = idv;
	}
	int code = gw_ua_new_check(n, msg, sizeof(msg));
	if (code) {
		api_reply_error(r, (unsigned)code, "%s", msg);
		goto done;
	}
	unsigned w = atomic_fetch_add(&next_worker, 1) % gw_ua_nworkers(ua_sh);
	if (gw_ua_mint(w, n->id) < 0) {
		api_reply_error(r, 503, "no randomness for a session id");
		goto done;
	}
	memcpy(o->id, n->id, sizeof(o->id));
	ask(r, o);
	return;
done:
	op_free(o);
}

static void h_list(struct api_req *r);

static void h_get(struct api_req *r)
{
	struct op *o = op_new(r, OP_GET, api_req_param(r, "id"));
	if (o)
		ask(r, o);
}

static void h_end(struct api_req *r)
{
	struct op *o = op_new(r, OP_END, api_req_param(r, "id"));
	if (o)
		ask(r, o);
}

/* "success_report": true/false; "failure_report": true/false/"partial". */
static int report_field(struct api_req *r, json_t *j, const char *name, int *v, int *partial)
{
	json_t *x = json_object_get(j, name);
	*v = -1;
	if (!x || json_is_null(x))
		return 0;
	if (json_is_boolean(x)) {
		*v = json_is_true(x);
		return 0;
	}
	if (partial && json_is_string(x) && !strcmp(json_string_value(x), "partial")) {
		*v = 1;
		*partial = 1;
		return 0;
	}
	api_reply_error(r, 400, "field '%s' must be true or false%s", name,
			partial ? " or \"partial\"" : "");
	return -1;
}

/* "disposition_notification": ["positive-delivery", "negative-delivery", "display"] */
static int dn_field(struct api_req *r, json_t *j, unsigned *dn)
{
	json_t *a = json_object_get(j, "disposition_notification"), *v;
	size_t i;
	*dn = 0;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		goto bad;
	json_array_foreach(a, i, v) {
		const char *t = json_string_value(v);
		unsigned f = t ? rcs_imdn_dn_parse(t, strlen(t)) : 0;
		if (!f || (f & (f - 1)) || strchr(t, ','))
			goto bad;
		*dn |= f;
	}
	return 0;
bad:
	api_reply_error(r, 400, "field 'disposition_notification' must be an array of "
			"\"positive-delivery\", \"negative-delivery\", \"display\", \"processing\"");
	return -1;
}

static int is_tok(const char *p, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') ||
		      strchr("-_!%'*+`~", p[i])))
			return 0;
	return 1;
}

/* "cpim": true (always in CPIM) | false (never) | {"subject", "headers": {"Prefix.Name":
 * value}, "ns": {"Prefix": URI}} (in CPIM with those); absent: in CPIM when the peer takes
 * the type only so. */
static int cpim_field(struct api_req *r, json_t *j, struct gw_ua_msg *m)
{
	static const char *const fields[] = { "subject", "headers", "ns", NULL };
	json_t *c = json_object_get(j, "cpim"), *h, *ns, *v;
	const char *k;
	unsigned nprefixes = 0;
	m->cpim = -1;
	if (!c || json_is_null(c))
		return 0;
	if (json_is_boolean(c)) {
		m->cpim = json_is_true(c);
		return 0;
	}
	if (!json_is_object(c)) {
		api_reply_error(r, 400, "field 'cpim' must be true, false or an object");
		return -1;
	}
	m->cpim = 1;
	if (api_only_fields(r, c, fields) < 0 || opt_string(r, c, "subject", &m->subject) < 0)
		return -1;
	if (m->subject && !one_line(m->subject)) {
		api_reply_error(r, 400, "field 'cpim.subject' holds control characters");
		return -1;
	}
	h = json_object_get(c, "headers");
	ns = json_object_get(c, "ns");
	if ((h && !json_is_object(h)) || (ns && !json_is_object(ns))) {
		api_reply_error(r, 400, "fields 'cpim.headers' and 'cpim.ns' must be objects");
		return -1;
	}
	if (h && json_object_size(h) > RCS_MSG_MAX_EXTRA) {
		api_reply_error(r, 400, "field 'cpim.headers' has more than %d members",
				RCS_MSG_MAX_EXTRA);
		return -1;
	}
	json_object_foreach(h, k, v) {
		const char *dot = strchr(k, '.'), *val = json_string_value(v), *uri;
		struct rcs_msg_extra *x = &m->extra[m->nextra];
		if (!dot || !is_tok(k, (size_t)(dot - k)) || !is_tok(dot + 1, strlen(dot + 1))) {
			api_reply_error(r, 400, "field 'cpim.headers' member '%.64s' is not "
					"Prefix.Name (the core headers are rcsgw's)", k);
			return -1;
		}
		if (!val || !one_line(val)) {
			api_reply_error(r, 400, "field 'cpim.headers' member '%.64s' must be a "
					"string without CR or LF", k);
			return -1;
		}
		if ((size_t)(dot - k) == 4 && !strncasecmp(k, "imdn", 4)) {
			api_reply_error(r, 400, "field 'cpim.headers': the imdn headers are rcsgw's "
					"(use 'message_id' and 'disposition_notification')");
			return -1;
		}
		json_t *u = ns ? json_object_getn(ns, k, (size_t)(dot - k)) : NULL;
		uri = json_string_value(u);
		if (!uri || !*uri || !one_line(uri) || strpbrk(uri, "<> ")) {
			api_reply_error(r, 400, "field 'cpim.ns' lacks the namespace URI of prefix "
					"'%.*s'", (int)(dot - k) > 64 ? 64 : (int)(dot - k), k);
			return -1;
		}
		if (!strcasecmp(uri, RCS_NS_IMDN)) {
			api_reply_error(r, 400, "field 'cpim.ns': the imdn namespace is rcsgw's (use "
					"'message_id' and 'disposition_notification')");
			return -1;
		}
		int seen = 0;
		for (unsigned e = 0; e < m->nextra; e++)
			seen |= m->extra[e].prefix.len == (size_t)(dot - k) &&
				!memcmp(m->extra[e].prefix.p, k, (size_t)(dot - k));
		if (!seen && ++nprefixes > RCS_CPIM_MAX_NS - 1) {
			api_reply_error(r, 400, "field 'cpim.headers' uses more than %d namespaces",
					RCS_CPIM_MAX_NS - 1);
			return -1;
		}
		x->prefix = (cm_slice){ k, (size_t)(dot - k) };
		x->name = (cm_slice){ dot + 1, strlen(dot + 1) };
		x->value = (cm_slice){ val, strlen(val) };
		x->ns_uri = (cm_slice){ uri, strlen(uri) };
		m->nextra++;
	}
	return 0;
}

/* "body" (text) or "body_base64" of <j> into *<p>, *<len> (decoded into o->body). 0, or -1
 * with a 400 answered. */
static int body_field(struct api_req *r, json_t *j, struct op *o, const char *body,
		      const char *b64, const void **p, size_t *len)
{
	if (!body == !b64) {
		api_reply_error(r, 400, "exactly one of the fields 'body' and 'body_base64' is needed");
		return -1;
	}
	if (body) {
		*p = body;
		*len = json_string_length(json_object_get(j, "body"));
		return 0;
	}
	word32 n = (word32)strlen(b64) * 3 / 4 + 4;
	if (!(o->body = malloc(n))) {
		api_reply_error(r, 500, "out of memory");
		return -1;
	}
	size_t bl = strlen(b64);
	/* the alphabet and length of RFC 4648 §4 (wolfSSL is lenient about both) */
	if (bl % 4 || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789+/=") != bl ||
	    (bl && Base64_Decode((const byte *)b64, (word32)bl, o->body, &n))) {
		api_reply_error(r, 400, "field 'body_base64' is not base64");
		return -1;
	}
	*p = o->body;
	*len = bl ? n : 0;
	return 0;
}

/* "message_id" <mid> (NULL: none) into <out>. 0, or -1 with a 400 answered. */
static int mid_field(struct api_req *r, const char *mid, char out[MSRP_ID_MSGID_LEN + 1])
{
	if (!mid)
		return 0;
	if (!gw_ua_ident_ok(mid)) {
		api_reply_error(r, 400, "field 'message_id' is not an MSRP ident (4 to %d letters, "
				"digits and . - + %% =, the first a letter or digit)", MSRP_ID_MSGID_LEN);
		return -1;
	}
	memcpy(out, mid, strlen(mid) + 1);
	return 0;
}

/* "content_type": one media type (type/subtype, parameters allowed). 0, or -1 with a 400. */
static int ctype_field(struct api_req *r, const char *ct)
{
	cm_slice t[1];
	unsigned k;
	if (!ct) {
		api_reply_error(r, 400, "field 'content_type' is required");
		return -1;
	}
	if (sdp_msrp_types_parse((cm_slice){ ct, strlen(ct) }, t, 1, &k) < 0 || k != 1 ||
	    strchr(ct, '*') || strpbrk(ct, "\r\n")) {
		api_reply_error(r, 400, "field 'content_type' is not a media type (type/subtype)");
		return -1;
	}
	return 0;
}

/* What a message carries: "content_type" with "body" or "body_base64", or "fthttp" (an
 * FT-over-HTTP descriptor as JSON, rcs_msg_fthttp_from_json(), written into o->body as
 * application/vnd.gsma.rcs-ft-http+xml). 0, or -1 with a 400 answered. */
static int content_fields(struct api_req *r, json_t *j, struct op *o, const char *body,
			  const char *b64, const char **ctype, const void **p, size_t *len)
{
	json_t *ft = json_object_get(j, "fthttp");
	if (!ft || json_is_null(ft))
		return ctype_field(r, *ctype) < 0 ? -1 : body_field(r, j, o, body, b64, p, len);
	if (*ctype || body || b64) {
		api_reply_error(r, 400, "field 'fthttp' goes without 'content_type', 'body' and "
				"'body_base64'");
		return -1;
	}
	struct rcs_fthttp *f = malloc(sizeof(*f));
	char err[160] = "";
	long n = -ENOMEM;
	if (f && (n = rcs_msg_fthttp_from_json(ft, f, err, sizeof(err))) == 0 &&
	    (n = rcs_fthttp_write(NULL, 0, f)) > 0 && (o->body = malloc((size_t)n + 1)))
		n = rcs_fthttp_write(o->body, (size_t)n + 1, f);
	else if (n > 0)
		n = -ENOMEM;
	free(f);
	if (n == -ENOMEM) {
		api_reply_error(r, 500, "out of memory");
		return -1;
	}
	if (n < 0) {
		api_reply_error(r, 400, "%s", n == -EINVAL && err[0] ? err
					      : "field 'fthttp' cannot be written as XML");
		return -1;
	}
	*ctype = RCS_CT_FTHTTP;
	*p = o->body;
	*len = (size_t)n;
	return 0;
}

static void h_send(struct api_req *r)
{
	static const char *const fields[] = { "content_type", "body", "body_base64",
					      "success_report", "failure_report", "message_id",
					      "cpim", "disposition_notification", "fthttp", NULL };
	json_t *j = api_body_object(r, 0);
	if (!j)
		return;
	struct op *o = op_new(r, OP_SEND, api_req_param(r, "id"));
	if (!o) {
		json_decref(j);
		return;
	}
	o->root = j;
	struct gw_ua_msg *m = &o->m;
	const char *body, *b64, *mid;
	if (api_only_fields(r, j, fields) < 0 || opt_string(r, j, "content_type", &m->content_type) < 0 ||
	    opt_string(r, j, "body", &body) < 0 || opt_string(r, j, "body_base64", &b64) < 0 ||
	    opt_string(r, j, "message_id", &mid) < 0 ||
	    report_field(r, j, "success_report", &m->success_report, NULL) < 0 ||
	    report_field(r, j, "failure_report", &m->failure_report, &m->failure_partial) < 0 ||
	    dn_field(r, j, &m->dn) < 0 || cpim_field(r, j, m) < 0)
		goto done;
	if (content_fields(r, j, o, body, b64, &m->content_type, &m->body, &m->len) < 0)
		goto done;
	if (mid_field(r, mid, m->message_id) < 0)
		goto done;
	ask(r, o);
	return;
done:
	op_free(o);
}

static void h_displayed(struct api_req *r)
{
	json_t *j = api_body_object(r, 1);
	if (!j)
		return;
	if (json_object_size(j)) {
		json_decref(j);
		api_reply_error(r, 400, "the body must be empty or {}");
		return;
	}
	json_decref(j);
	const char *mid = api_req_param(r, "message_id");
	if (!mid || !*mid || strlen(mid) > RCS_IMDN_ID_MAX) {
		api_reply_error(r, 404, "no such message");
		return;
	}
	struct op *o = op_new(r, OP_DISPLAYED, api_req_param(r, "id"));
	if (!o)
		return;
	memcpy(o->msgid, mid, strlen(mid) + 1);
	ask(r, o);
}

static void h_composing(struct api_req *r)
{
	static const char *const fields[] = { "state", "refresh", "content_type", NULL };
	json_t *j = api_body_object(r, 0);
	if (!j)
		return;
	struct op *o = op_new(r, OP_COMPOSING, api_req_param(r, "id"));
	if (!o) {
		json_decref(j);
		return;
	}
	o->root = j;
	const char *state, *ct;
	json_t *rf = json_object_get(j, "refresh");
	if (api_only_fields(r, j, fields) < 0 || opt_string(r, j, "state", &state) < 0 ||
	    opt_string(r, j, "content_type", &ct) < 0)
		goto done;
	if (!state || (strcmp(state, "active") && strcmp(state, "idle"))) {
		api_reply_error(r, 400, "field 'state' must be \"active\" or \"idle\"");
		goto done;
	}
	o->comp.active = !strcmp(state, "active");
	if (rf && !json_is_null(rf)) {
		/* RFC 3994 §5: at least 60 s is advised; anything from 1 s to a day is taken */
		if (!json_is_integer(rf) || json_integer_value(rf) < 1 ||
		    json_integer_value(rf) > 86400 || !o->comp.active) {
			api_reply_error(r, 400, "field 'refresh' must be whole seconds from 1 to "
					"86400, with state \"active\"");
			goto done;
		}
		o->comp.refresh = (unsigned)json_integer_value(rf);
	}
	if (ct) {
		cm_slice t[1];
		unsigned k;
		if (strlen(ct) >= sizeof(o->comp.contenttype) ||
		    sdp_msrp_types_parse((cm_slice){ ct, strlen(ct) }, t, 1, &k) < 0 || k != 1 ||
		    strpbrk(ct, "\r\n*")) {
			api_reply_error(r, 400, "field 'content_type' is not a media type");
			goto done;
		}
		memcpy(o->comp.contenttype, ct, strlen(ct) + 1);
	}
	ask(r, o);
	return;
done:
	op_free(o);
}

static void h_standalone(struct api_req *r)
{
	static const char *const fields[] = { "from", "to", "content_type", "body", "body_base64",
					      "disposition_notification", "subject", "mode",
					      "message_id", "conversation_id", "fthttp", NULL };
	struct op *o = op_with_body(r, OP_STANDALONE);
	if (!o)
		return;
	json_t *j = o->root;
	struct gw_pager_msg *m = &o->pm;
	const char *body, *b64, *mid, *mode;
	char msg[256];
	if (api_only_fields(r, j, fields) < 0 || opt_string(r, j, "from", &m->from) < 0 ||
	    opt_string(r, j, "to", &m->to) < 0 || opt_string(r, j, "content_type", &m->content_type) < 0 ||
	    opt_string(r, j, "body", &body) < 0 || opt_string(r, j, "body_base64", &b64) < 0 ||
	    opt_string(r, j, "subject", &m->subject) < 0 || opt_string(r, j, "mode", &mode) < 0 ||
	    opt_string(r, j, "message_id", &mid) < 0 ||
	    opt_string(r, j, "conversation_id", &m->conversation_id) < 0 ||
	    dn_field(r, j, &m->dn) < 0 ||
	    content_fields(r, j, o, body, b64, &m->content_type, &m->body, &m->len) < 0)
		goto done;
	/* the URIs as a session's are checked */
	struct gw_ua_new n = { .from = m->from, .to = m->to };
	int code = m->from && m->to ? gw_ua_new_check(&n, msg, sizeof(msg)) : 400;
	if (code) {
		api_reply_error(r, 400, "%s", m->from && m->to ? msg : "fields 'from' and 'to' are required");
		goto done;
	}
	if (mode && strcmp(mode, "auto") && strcmp(mode, "pager") && strcmp(mode, "large")) {
		api_reply_error(r, 400, "field 'mode' must be \"auto\", \"pager\" or \"large\"");
		goto done;
	}
	m->mode = !mode || !strcmp(mode, "auto") ? GW_PAGER_AUTO
		  : !strcmp(mode, "pager") ? GW_PAGER_PAGER : GW_PAGER_LARGE;
	if ((m->subject && !one_line(m->subject)) ||
	    (m->conversation_id && !cpm_id_ok(m->conversation_id))) {
		api_reply_error(r, 400, "fields 'subject' and 'conversation_id' must be one line "
				"('conversation_id' 1 to 200 printable ASCII characters without blanks)");
		goto done;
	}
	if (mid_field(r, mid, m->message_id) < 0)
		goto done;
	unsigned w = atomic_fetch_add(&next_worker, 1) % gw_ua_nworkers(ua_sh);
	if (api_ask(r, w, sizeof(struct slot), run, render, cleanup, o) < 0)
		op_free(o);
	return;
done:
	op_free(o);
}

/* POST /v1/sessions/{id}/files?name=N[&disposition=render|attachment]: the raw body is the
 * file, the request's Content-Type its type. */
static void h_file(struct api_req *r)
{
	const char *name = api_req_query(r, "name"), *disp = api_req_query(r, "disposition");
	const char *ct = api_req_header(r, "Content-Type");
	size_t len;
	const char *body = api_req_body(r, &len);
	if (!ua_ready(r))
		return;
	if (!name || !*name || strlen(name) > 255 || !one_line(name)) {
		api_reply_error(r, 400, "query 'name' (the file's name, 1 to 255 bytes, one line) "
				"is required");
		return;
	}
	if (disp && strcmp(disp, "render") && strcmp(disp, "attachment")) {
		api_reply_error(r, 400, "query 'disposition' must be render or attachment");
		return;
	}
	if (!ct)
		ct = "application/octet-stream";
	if (ctype_field(r, ct) < 0 || strlen(ct) > 127)
		return;
	if (!len) {
		api_reply_error(r, 400, "the body (the file) is empty");
		return;
	}
	struct op *o = op_new(r, OP_FILE, api_req_param(r, "id"));
	if (!o)
		return;
	if (!(o->body = malloc(len))) {
		op_free(o);
		api_reply_error(r, 500, "out of memory");
		return;
	}
	memcpy(o->body, body, len);
	memcpy(o->fname, name, strlen(name) + 1);
	memcpy(o->ftype, ct, strlen(ct) + 1);
	o->pf.name = o->fname;
	o->pf.content_type = o->ftype;
	o->pf.disposition = disp;
	o->pf.data = o->body;
	o->pf.len = len;
	ask(r, o);
}

/* POST /v1/sessions/{id}/files/{transfer_id}/resume: a transfer of this session that broke
 * goes on from where its peer has it (RFC 5547 a=file-range). */
static void h_file_resume(struct api_req *r)
{
	const char *tid = api_req_param(r, "transfer_id");
	if (!ua_ready(r))
		return;
	if (!tid || !*tid || strlen(tid) > MSRP_ID_MSGID_LEN) {
		api_reply_error(r, 404, "no such transfer");
		return;
	}
	struct op *o = op_new(r, OP_FILE_RESUME, api_req_param(r, "id"));
	if (!o)
		return;
	memcpy(o->tid, tid, strlen(tid) + 1);
	ask(r, o);
}

static void h_file_get(struct api_req *r)
{
	void *data;
	size_t len;
	char *name, *ctype, cd[320];
	if (!files) {
		api_reply_error(r, 503, "no files are kept (the user agent is off)");
		return;
	}
	int rc = gw_files_get(files, api_req_param(r, "id"), &data, &len, &name, &ctype);
	if (rc) {
		api_reply_error(r, rc == -ENOENT ? 404 : 500, rc == -ENOENT ?
				"no such file (unknown, deleted or expired: rcs.file_ttl)" :
				"out of memory");
		return;
	}
	/* the name as a quoted string: its quotes and backslashes dropped */
	size_t o = (size_t)snprintf(cd, sizeof(cd), "attachment; filename=\"");
	for (const char *c = name; *c && o + 3 < sizeof(cd); c++)
		if (*c != '"' && *c != '\\')
			cd[o++] = *c;
	cd[o++] = '"';
	cd[o] = '\0';
	api_reply_header(r, "Content-Disposition", cd);
	api_reply_typed(r, 200, ctype[0] && one_line(ctype) ? ctype : "application/octet-stream",
			data, len);
	free(name);
	free(ctype);
}

static void h_file_del(struct api_req *r)
{
	if (!files) {
		api_reply_error(r, 503, "no files are kept (the user agent is off)");
		return;
	}
	if (gw_files_del(files, api_req_param(r, "id")) < 0) {
		api_reply_error(r, 404, "no such file");
		return;
	}
	api_reply_text(r, 204, "application/json", calloc(1, 1), 0);
}

static void h_answer(struct api_req *r)
{
	static const char *const fields[] = { "accept_types", NULL };
	json_t *j = api_body_object(r, 1);
	if (!j)
		return;
	struct op *o = op_new(r, OP_ANSWER, api_req_param(r, "id"));
	if (!o) {
		json_decref(j);
		return;
	}
	o->root = j;
	if (api_only_fields(r, j, fields) < 0 || types_field(r, j, o->types, &o->ntypes) < 0) {
		op_free(o);
		return;
	}
	ask(r, o);
}

static void h_reject(struct api_req *r)
{
	static const char *const fields[] = { "code", NULL };
	json_t *j = api_body_object(r, 1);
	if (!j)
		return;
	struct op *o = op_new(r, OP_REJECT, api_req_param(r, "id"));
	if (!o) {
		json_decref(j);
		return;
	}
	o->root = j;
	json_t *c = json_object_get(j, "code");
	o->code = 486;
	if (api_only_fields(r, j, fields) < 0) {
		op_free(o);
		return;
	}
	if (c && (!json_is_integer(c) || json_integer_value(c) < 400 ||
		  json_integer_value(c) > 699)) {
		api_reply_error(r, 400, "field 'code' must be a SIP status from 400 to 699");
		op_free(o);
		return;
	}
	if (c)
		o->code = (int)json_integer_value(c);
	ask(r, o);
}

/* ---- GET /v1/sessions: every worker's page, merged by id ---------------------------------- */

static int json_id_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
	return strcmp(x ? x : "", y ? y : "");
}

static void render_list(struct api_req *r, struct api_gather *g)
{
	struct op *o = api_gather_arg(g);
	size_t total = 0, more = 0;
	for (unsigned i = 0; i < api_gather_n(g); i++) {
		struct slot *s = api_gather_slot(g, i);
		total += s->obj ? json_array_size(s->obj) : 0;
		more += s->more;
	}
	json_t **v = malloc((total + 1) * sizeof(*v));
	json_t *page = json_array();
	if (!v || !page) {
		free(v);
		json_decref(page);
		api_reply_error(r, 500, "out of memory");
		return;
	}
	size_t n = 0;
	for (unsigned i = 0; i < api_gather_n(g); i++) {
		struct slot *s = api_gather_slot(g, i);
		for (size_t k = 0; s->obj && k < json_array_size(s->obj); k++)
			v[n++] = json_array_get(s->obj, k);
	}
	qsort(v, n, sizeof(*v), json_id_cmp);
	for (size_t i = 0; i < n && i < o->limit; i++)
		json_array_append(page, v[i]);
	int last = (n <= o->limit && !more) || !n;
	const char *next = last ? NULL
			   : json_string_value(json_object_get(v[(n < o->limit ? n : o->limit) - 1], "id"));
	free(v);
	api_reply_json(r, 200, json_pack("{s:o, s:s?}", "sessions", page, "next", next));
}

static void h_list(struct api_req *r)
{
	static const char *const states[] = { "connecting", "ringing", "established", "ending",
					      "ended", "failed", NULL };
	const char *state = api_req_query(r, "state"), *after = api_req_query(r, "after");
	const char *limit = api_req_query(r, "limit");
	struct op *o;
	if (state) {
		int ok = 0;
		for (unsigned i = 0; states[i] && !ok; i++)
			ok = !strcmp(state, states[i]);
		if (!ok) {
			api_reply_error(r, 400, "query 'state' must be one of connecting, ringing, "
					"established, ending, ended, failed");
			return;
		}
	}
	if (after && strlen(after) != GW_UA_ID_LEN) {
		api_reply_error(r, 400, "query 'after' is not a session id");
		return;
	}
	char *end = NULL;
	long lim = limit ? strtol(limit, &end, 10) : LIST_DEFAULT;
	if (limit && (!*limit || *end || lim < 1 || lim > LIST_MAX)) {
		api_reply_error(r, 400, "query 'limit' must be an integer from 1 to %d", LIST_MAX);
		return;
	}
	if (!(o = op_new(r, OP_LIST, NULL)))
		return;
	o->limit = (unsigned)lim;
	o->state = state;
	if (after) {
		memcpy(o->after_buf, after, GW_UA_ID_LEN + 1);
		o->after = o->after_buf;
	}
	/* <state> is one of the static names: keep ours, not the request's */
	for (unsigned i = 0; state && states[i]; i++)
		if (!strcmp(state, states[i]))
			o->state = states[i];
	if (!ua_sh) {
		op_free(o);
		api_reply_json(r, 200, json_pack("{s:[], s:n}", "sessions", "next"));
		return;
	}
	if (api_gather(r, sizeof(struct slot), run, render_list, cleanup, o) < 0)
		op_free(o);
}

static const struct api_route routes[] = {
	{ "POST", "/v1/sessions", h_create, API_RF_IDEMPOTENT },
	{ "GET", "/v1/sessions", h_list, 0 },
	{ "GET", "/v1/sessions/{id}", h_get, 0 },
	{ "DELETE", "/v1/sessions/{id}", h_end, 0 },
	{ "POST", "/v1/sessions/{id}/messages", h_send, API_RF_IDEMPOTENT },
	{ "POST", "/v1/sessions/{id}/messages/{message_id}/displayed", h_displayed,
	  API_RF_IDEMPOTENT },
	{ "POST", "/v1/sessions/{id}/composing", h_composing, 0 },
	{ "POST", "/v1/sessions/{id}/answer", h_answer, 0 },
	{ "POST", "/v1/messages", h_standalone, API_RF_IDEMPOTENT },
	{ "POST", "/v1/sessions/{id}/files", h_file, API_RF_LARGE_BODY },
	{ "POST", "/v1/sessions/{id}/files/{transfer_id}/resume", h_file_resume, 0 },
	{ "GET", "/v1/files/{id}", h_file_get, 0 },
	{ "DELETE", "/v1/files/{id}", h_file_del, 0 },
	{ "POST", "/v1/sessions/{id}/reject", h_reject, 0 },
};

void api_sessions_set_pager(struct gw_pager_shared *sh)
{
	pager_sh = sh;
}

void api_sessions_set_forward(api_forward_fn fn)
{
	forward = fn;
}

void api_sessions_set_takeover(api_takeover_fn fn)
{
	takeover = fn;
}

void api_sessions_set_durable(api_durable_fn fn)
{
	durable = fn;
}

void api_sessions_set_files(struct gw_files *fs)
{
	files = fs;
}

int api_sessions_register(struct gw_ua_shared *sh)
{
	ua_sh = sh;
	return api_routes_register(routes, sizeof(routes) / sizeof(routes[0]));
}
