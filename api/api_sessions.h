/* api_sessions.h — the REST routes of the MSRP user agent's sessions (/v1/sessions...), see
 * api_sessions.c for the list and gateway/gw_ua.h for what they do. */
#ifndef API_SESSIONS_H
#define API_SESSIONS_H

#include "engine/eng.h"

struct gw_ua;
struct gw_ua_shared;
struct gw_pager_shared;

/* Registers the routes (main thread, before api_start): they ask the workers' user agents
 * of <sh>, which must outlive api_stop(). <sh> NULL: the routes answer 503 (no user agent).
 * 0 or the -errno of api_routes_register(). */
int api_sessions_register(struct gw_ua_shared *sh);
/* Standalone messaging for POST /v1/messages (NULL: it answers 503). Before api_start. */
void api_sessions_set_pager(struct gw_pager_shared *sh);
/* The store of received files for GET/DELETE /v1/files/{id} (NULL: 503). Before api_start. */
struct gw_files;
void api_sessions_set_files(struct gw_files *fs);

/* A session this node does not have may be another node's that died (issue 8): <fn>
 * (worker <w>'s thread) tries to take session <id> over into <ua> and calls <done>(<ctx>,
 * 1 when it is here now, else 0, and <owner> the live node that owns it or NULL) exactly
 * once, later; it returns 0, or -errno when it could not even try (<done> not called). Set
 * before api_start; NULL: no takeover. */
typedef void (*api_takeover_done)(void *ctx, int here, const char *owner);
typedef int (*api_takeover_fn)(eng_worker *w, struct gw_ua *ua, const char *id,
			       api_takeover_done done, void *ctx);
void api_sessions_set_takeover(api_takeover_fn fn);

/* Durable delivery (issue 8): whether message <mid> just accepted in session <id> is kept
 * in Redis — 1 yes, 0 no (answered at once), or -EINPROGRESS: <done>(<ctx>, 1|0) says it
 * later, exactly once (worker <w>'s thread). The 202 waits for it and says "durable". Set
 * before api_start; NULL: not asked (no "durable" in the answer). */
typedef void (*api_durable_done)(void *ctx, int durable);
typedef int (*api_durable_fn)(eng_worker *w, const char *id, const char *mid,
			      api_durable_done done, void *ctx);
void api_sessions_set_durable(api_durable_fn fn);

/* Cross-node routing (issue 8): a request for a session that node <owner> (alive) owns is
 * passed on to it as it came, and its answer given as it comes. <fn> (worker <w>'s thread)
 * sends <req> and calls <done>(<ctx>, status, content type, body, len) exactly once, later
 * (status 504 when the owner did not answer in <timeout_ms>); 0, or -errno (<done> not
 * called: the request is answered 404 as before). A request passed on already (it carries
 * API_FORWARDED_HEADER) is not passed on again. Set before api_start; NULL: none. */
#define API_FORWARDED_HEADER "Rcsgw-Forwarded-By"
#define API_FORWARD_BODY_MAX (1024 * 1024) /* a body beyond: not passed on (413) */
struct api_fwd_req {
	const char *method, *path, *query;  /* query without '?', "" none */
	const char *ctype, *idem_key, *auth; /* request headers, NULL when absent */
	uint32_t owner;                /* api_req_owner(): the owner's API runs it as the same
					* token (its idempotency keys scoped alike) */
	const void *body;              /* NULL with <len>: beyond API_FORWARD_BODY_MAX */
	size_t len;
};
typedef void (*api_forward_done)(void *ctx, unsigned status, const char *ctype,
				 const char *body, size_t len);
typedef int (*api_forward_fn)(eng_worker *w, const char *owner, const char *id,
			      const struct api_fwd_req *req, uint32_t timeout_ms,
			      api_forward_done done, void *ctx);
void api_sessions_set_forward(api_forward_fn fn);

#endif
