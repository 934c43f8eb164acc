/* msrp_creds_src.c — the per-worker credentials chain of msrp_creds_src.h: file, cache,
 * Redis (engine/eng_redis: hiredis async on eng_poll), HTTP hook (eng_http).
 *
 * Redis asks live in a fixed table: the slot is the hiredis privdata and stays taken until
 * hiredis calls back (with the reply, or NULL when the link goes), whatever happened to the
 * lookup meanwhile; a cancelled or timed-out lookup only clears the slot's back pointer.
 *
 * Re-entrance: user callbacks run from our handlers (socket readiness, timers, the hook's
 * answer), sometimes with hiredis or eng_http frames below. A callback may start or cancel
 * lookups and may free the source: the free then ends the pending lookups at once and
 * leaves the teardown (hiredis, eng_http) to the outermost handler, when it returns. */
#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cm_hex.h"
#include "engine/eng_redis.h"
#include "common/cm_log.h"
#include "engine/eng.h"
#include "engine/eng_http.h"
#include "msrp/msrp_creds_cache.h"
#include "msrp/msrp_creds_src.h"

#define REDIS_HOST_MAX       255

#define CREDS_BUG_ON(cond)                                                                 \
	do {                                                                               \
		if (cond) {                                                                \
			CM_ERR("msrp_creds_src: BUG: %s (%s:%d)", #cond, __FILE__, __LINE__); \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* The sources after the file, in the order they are asked. */
enum { SRC_REDIS = 0, SRC_HOOK = 1, SRC_END = 2 };

struct redis_ask {
	struct msrp_creds_src *s;
	struct msrp_creds_req *req;    /* NULL once the lookup no longer waits for it */
	struct redis_ask *next_free;
	int taken;
};

struct msrp_creds_src {
	eng_worker *w;
	const struct msrp_creds *file;
	char *realm, *redis_key, *hook;
	size_t realm_len;
	uint32_t timeout_ms;
	struct msrp_creds_cache *cache;
	eng_http *http;
	struct msrp_creds_req *pending;    /* list of pending lookups */

	/* Redis */
	int redis_on;
	char redis_host[REDIS_HOST_MAX + 1];   /* numeric */
	int redis_port;
	struct eng_redis *link;
	struct redis_ask *asks, *free_asks;

	unsigned busy;                     /* depth of our handlers on the stack */
	int dead;                          /* msrp_creds_src_free() asked while busy */
	struct msrp_creds_stats st;
};

static void enter(struct msrp_creds_src *s)
{
	s->busy++;
}

static void destroy(struct msrp_creds_src *s);

static void leave(struct msrp_creds_src *s)
{
	CREDS_BUG_ON(s->busy == 0);
	if (--s->busy == 0 && s->dead)
		destroy(s);
}


/* 32 hex characters into 16 bytes. 0 or -EINVAL. */
static int ha1_from_hex(const char *p, size_t len, uint8_t out[16])
{
	if (len != 32)
		return -EINVAL;
	for (size_t i = 0; i < 16; i++) {
		int hi = cm_hexval((unsigned char)p[2 * i]), lo = cm_hexval((unsigned char)p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static cm_slice req_user(const struct msrp_creds_req *req)
{
	return (cm_slice){ req->user, req->ulen };
}

/* ---- pending list and answers ---------------------------------------------------------------- */

static void pending_add(struct msrp_creds_src *s, struct msrp_creds_req *req)
{
	req->src = s;
	req->prev = NULL;
	req->next = s->pending;
	if (s->pending)
		s->pending->prev = req;
	s->pending = req;
}

/* Takes <req> out of its source: nothing of it is in flight any more. */
static void detach(struct msrp_creds_req *req)
{
	struct msrp_creds_src *s = req->src;

	if (req->prev)
		req->prev->next = req->next;
	else
		s->pending = req->next;
	if (req->next)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	eng_timer_cancel(&req->tmo);
	if (req->redis_ask) {
		((struct redis_ask *)req->redis_ask)->req = NULL;
		req->redis_ask = NULL;
	}
	if (req->http) {
		eng_http_cancel(req->http);
		req->http = NULL;
	}
	req->src = NULL;
}

static void cache_put(struct msrp_creds_src *s, struct msrp_creds_req *req, const uint8_t *ha1)
{
	if (s->cache)
		msrp_creds_cache_put(s->cache, req_user(req), eng_now_ms(s->w), ha1);
}

/* Gives the answer of a pending lookup to its owner. */
static void finish(struct msrp_creds_req *req, int rc, const uint8_t *ha1)
{
	struct msrp_creds_src *s = req->src;

	if (rc == -ENOENT)
		s->st.not_found++;
	detach(req);
	req->cb(req, req->arg, rc, rc == 0 ? ha1 : NULL);
}

static int redis_ask(struct msrp_creds_src *s, struct msrp_creds_req *req);
static int hook_ask(struct msrp_creds_src *s, struct msrp_creds_req *req);

/* Asks the sources from <from> on. 1 when an ask is now pending; else the answer: -ENOENT
 * (every source said so; cached) or the failure of one of them. */
static int chain(struct msrp_creds_src *s, struct msrp_creds_req *req, int from)
{
	if (from <= SRC_REDIS && s->redis_on) {
		int rc = redis_ask(s, req);
		if (rc == 1)
			return 1;
		s->st.redis_fail++;
		req->failed = rc;
	}
	if (from <= SRC_HOOK && s->hook) {
		int rc = hook_ask(s, req);
		if (rc == 1)
			return 1;
		s->st.hook_fail++;
		req->failed = rc;
	}
	if (req->failed)
		return req->failed;
	cache_put(s, req, NULL);
	return -ENOENT;
}

/* Source <src> answered <rc> (0 with <ha1>, -ENOENT, or a failure already counted) for
 * the pending <req>: finish it or go on with the next source. */
static void answered(struct msrp_creds_src *s, struct msrp_creds_req *req, int src, int rc,
		     const uint8_t *ha1)
{
	if (rc == 0) {
		cache_put(s, req, ha1);
		finish(req, 0, ha1);
		return;
	}
	if (rc != -ENOENT)
		req->failed = rc;
	rc = chain(s, req, src + 1);
	if (rc != 1)
		finish(req, rc, NULL);
}

/* ---- Redis --------------------------------------------------------------------------------- */

/* The link's handlers run inside ours: a lookup's owner may free us from its callback. */
static void link_hold(void *arg)
{
	enter(arg);
}

static void link_release(void *arg)
{
	leave(arg);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct redis_ask *a = privdata;
	struct msrp_creds_src *s = a->s;
	struct msrp_creds_req *req = a->req;
	redisReply *reply = r;
	uint8_t ha1[16];
	int rc;

	(void)ac;
	a->req = NULL;
	a->taken = 0;
	a->next_free = s->free_asks;
	s->free_asks = a;
	if (!req || s->dead)
		return;
	req->redis_ask = NULL;
	eng_timer_cancel(&req->tmo);
	if (!reply) {
		rc = -EIO;
	} else if (reply->type == REDIS_REPLY_NIL) {
		rc = -ENOENT;
	} else if (reply->type == REDIS_REPLY_STRING &&
		   ha1_from_hex(reply->str, reply->len, ha1) == 0) {
		rc = 0;
	} else {
		rc = -EIO;
		CM_LOG_RL(CM_LOG_WARN, "creds: redis: HGET %s %.*s: %s", s->redis_key,
			  (int)req->ulen, req->user,
			  reply->type == REDIS_REPLY_ERROR ? reply->str : "not 32 hex characters");
	}
	if (rc != 0 && rc != -ENOENT)
		s->st.redis_fail++;
	answered(s, req, SRC_REDIS, rc, ha1);
}

static void on_redis_timeout(eng_timer *t)
{
	struct msrp_creds_req *req = t->arg;
	struct msrp_creds_src *s = req->src;

	if (!s || !req->redis_ask)
		return;
	enter(s);
	((struct redis_ask *)req->redis_ask)->req = NULL;
	req->redis_ask = NULL;
	s->st.redis_fail++;
	CM_LOG_RL(CM_LOG_WARN, "creds: redis %s: no answer within %u ms, reconnecting",
		  eng_redis_name(s->link), s->timeout_ms);
	eng_redis_drop(s->link);
	if (req->src == s && !s->dead)
		answered(s, req, SRC_REDIS, -ETIMEDOUT, NULL);
	leave(s);
}

/* Sends HGET for <req>. 1: pending; -EIO: no link; -EAGAIN: too many asks in flight. */
static int redis_ask(struct msrp_creds_src *s, struct msrp_creds_req *req)
{
	struct redis_ask *a = s->free_asks;
	if (!a)
		return -EAGAIN;
	const char *argv[3] = { "HGET", s->redis_key, req->user };
	size_t argl[3] = { 4, strlen(s->redis_key), req->ulen };
	if (eng_redis_cmd(s->link, on_reply, a, 3, argv, argl) < 0)
		return -EIO;
	s->free_asks = a->next_free;
	a->taken = 1;
	a->req = req;
	req->redis_ask = a;
	eng_timer_init(&req->tmo, on_redis_timeout, req);
	eng_timer_arm(s->w, &req->tmo, s->timeout_ms);
	s->st.redis_asks++;
	return 1;
}

/* ---- the HTTP hook ------------------------------------------------------------------------ */

static void on_hook(void *arg, int status, const char *body, size_t len)
{
	struct msrp_creds_req *req = arg;
	struct msrp_creds_src *s = req->src;
	uint8_t ha1[16];
	int rc;

	req->http = NULL;           /* ended: not to be cancelled */
	if (!s || s->dead)
		return;
	enter(s);
	if (status == 404) {
		rc = -ENOENT;
	} else if (status == 200) {
		json_error_t jerr;
		json_t *j = json_loadb(body, len, 0, &jerr);
		json_t *v = j ? json_object_get(j, "ha1") : NULL;
		rc = v && json_is_string(v) &&
				     ha1_from_hex(json_string_value(v), json_string_length(v),
						  ha1) == 0
			     ? 0
			     : -EIO;
		json_decref(j);
		if (rc < 0)
			CM_LOG_RL(CM_LOG_WARN, "creds: hook %s: 200 without {\"ha1\": 32 hex}",
				  s->hook);
	} else {
		rc = status == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
		CM_LOG_RL(CM_LOG_WARN, "creds: hook %s: %s%d", s->hook,
			  status > 0 ? "status " : "error ", status);
	}
	if (rc != 0 && rc != -ENOENT)
		s->st.hook_fail++;
	answered(s, req, SRC_HOOK, rc, ha1);
	leave(s);
}

/* POSTs the question for <req>. 1: pending; -EIO when it cannot start. */
static int hook_ask(struct msrp_creds_src *s, struct msrp_creds_req *req)
{
	json_t *j = json_pack("{s:s%, s:s%}", "user", req->user, (size_t)req->ulen, "realm",
			      s->realm, s->realm_len);
	char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!txt)
		return -EIO;     /* out of memory, or a name that is not UTF-8 */
	req->http = eng_http_post_json(s->http, s->hook, txt, s->timeout_ms, on_hook, req);
	free(txt);
	if (!req->http)
		return -EIO;
	s->st.hook_asks++;
	return 1;
}

/* ---- API ---------------------------------------------------------------------------------- */

static int set(const char *v)
{
	return v && *v;
}

int msrp_creds_src_any(const struct msrp_creds_src_cfg *cfg)
{
	return (cfg->file && cfg->file->n > 0) || set(cfg->redis) || set(cfg->hook);
}

/* "host:port" of Redis into a numeric host and a port (getaddrinfo for a name). */
static int redis_addr(struct msrp_creds_src *s, const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || !colon[1])
		return -EINVAL;
	char host[REDIS_HOST_MAX + 1];
	size_t hl = (size_t)(colon - hostport);
	if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') {
		hostport++;
		hl -= 2;
	}
	if (hl > REDIS_HOST_MAX)
		return -EINVAL;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0)
		return -ENOENT;
	int rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, s->redis_host, sizeof(s->redis_host),
			     NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(ai);
	if (rc != 0)
		return -ENOENT;
	s->redis_port = (int)port;
	return 0;
}

struct msrp_creds_src *msrp_creds_src_new(eng_worker *w, const struct msrp_creds_src_cfg *cfg)
{
	struct msrp_creds_src *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->w = w;
	s->file = cfg->file;
	s->timeout_ms = cfg->timeout_ms;
	s->realm = strdup(cfg->realm ? cfg->realm : "");
	if (!s->realm)
		goto fail;
	s->realm_len = strlen(s->realm);
	if ((set(cfg->redis) || set(cfg->hook)) && !cfg->timeout_ms) {
		CM_ERR("creds: a Redis or hook source needs a timeout above 0");
		goto fail;
	}
	if ((set(cfg->redis) || set(cfg->hook)) && cfg->cache_ttl_ms) {
		s->cache = msrp_creds_cache_new(MSRP_CREDS_CACHE_ENTRIES, cfg->cache_ttl_ms);
		if (!s->cache)
			goto fail;
	}
	if (set(cfg->hook)) {
		s->hook = strdup(cfg->hook);
		s->http = eng_http_new(w);
		if (!s->hook || !s->http) {
			CM_ERR("creds: hook %s: cannot set up the HTTP client", cfg->hook);
			goto fail;
		}
	}
	if (set(cfg->redis)) {
		int rc = redis_addr(s, cfg->redis);
		if (rc < 0) {
			CM_ERR("creds: redis \"%s\": %s", cfg->redis,
			       rc == -EINVAL ? "not host:port" : "does not resolve");
			goto fail;
		}
		s->redis_key = strdup(set(cfg->redis_key) ? cfg->redis_key : "rcsgw:relay:ha1");
		s->asks = calloc(MSRP_CREDS_REDIS_ASKS, sizeof(*s->asks));
		if (!s->redis_key || !s->asks)
			goto fail;
		for (unsigned i = MSRP_CREDS_REDIS_ASKS; i-- > 0;) {
			s->asks[i].s = s;
			s->asks[i].next_free = s->free_asks;
			s->free_asks = &s->asks[i];
		}
		struct eng_redis_cfg lc = { .host = s->redis_host, .port = s->redis_port,
					   .what = "creds", .hold = link_hold,
					   .release = link_release, .arg = s };
		if (!(s->link = eng_redis_new(w, &lc)))
			goto fail;
		s->redis_on = 1;
	}
	return s;
fail:
	destroy(s);
	return NULL;
}

/* Lets go of everything; no pending lookup is left (msrp_creds_src_free ended them). */
static void destroy(struct msrp_creds_src *s)
{
	s->dead = 1;
	eng_redis_free(s->link); /* NULL replies to what is in flight (<s> is dead: ignored) */
	eng_http_free(s->http);
	msrp_creds_cache_free(s->cache);
	free(s->asks);
	free(s->realm);
	free(s->redis_key);
	free(s->hook);
	free(s);
}

void msrp_creds_src_set_file(struct msrp_creds_src *s, const struct msrp_creds *file)
{
	s->file = file;
}

void msrp_creds_src_free(struct msrp_creds_src *s)
{
	if (!s || s->dead)
		return;
	while (s->pending)
		detach(s->pending);
	if (s->busy) {
		s->dead = 1;           /* leave() finishes it */
		return;
	}
	destroy(s);
}

int msrp_creds_lookup(struct msrp_creds_src *s, cm_slice user, struct msrp_creds_req *req,
		      msrp_creds_cb cb, void *arg, uint8_t ha1_now[16])
{
	if (req->src)
		return -EBUSY;
	if (s->dead)
		return -ECANCELED;
	if (!user.len || user.len > MSRP_AUTH_NAME_MAX) {
		s->st.not_found++;
		return -ENOENT;
	}
	if (s->file) {
		const uint8_t *h = msrp_creds_ha1(s->file, user,
						  (cm_slice){ s->realm, s->realm_len });
		if (h) {
			memcpy(ha1_now, h, 16);
			s->st.file_hits++;
			return 0;
		}
	}
	if (s->cache) {
		int rc = msrp_creds_cache_get(s->cache, user, eng_now_ms(s->w), ha1_now);
		if (rc != -EAGAIN) {
			s->st.cache_hits++;
			if (rc == -ENOENT)
				s->st.not_found++;
			return rc;
		}
	}
	if (!s->redis_on && !s->hook) {
		s->st.not_found++;
		return -ENOENT;
	}
	memset(req, 0, sizeof(*req));
	req->cb = cb;
	req->arg = arg;
	req->ulen = (uint8_t)user.len;
	memcpy(req->user, user.p, user.len);
	req->user[user.len] = '\0';
	eng_timer_init(&req->tmo, on_redis_timeout, req);
	pending_add(s, req);
	int rc = chain(s, req, SRC_REDIS);
	if (rc == 1)
		return 1;
	if (rc == -ENOENT)
		s->st.not_found++;
	detach(req);
	return rc;
}

void msrp_creds_cancel(struct msrp_creds_req *req)
{
	if (req && req->src)
		detach(req);
}

void msrp_creds_src_stats(const struct msrp_creds_src *s, struct msrp_creds_stats *out)
{
	*out = s->st;
}
