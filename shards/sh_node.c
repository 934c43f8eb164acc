/* sh_node.c — heartbeat and fenced session ownership in Redis (sh_node.h). */
#include "shards/sh_node.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"

#define OWN_TTL_MS "86400000"  /* an ownership nobody writes under goes after a day */
#define REQ_TIMEOUT_MS 3000    /* a request Redis does not answer by then: -ETIMEDOUT */

/* KEYS[1] own; ARGV me, seen epoch, node key prefix. {1|0, epoch, owner} */
static const char claim_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if not o[1] then\n"
	"  redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', 1)\n"
	"  redis.call('PEXPIRE', KEYS[1], " OWN_TTL_MS ")\n"
	"  return {1, 1, ARGV[1]}\n"
	"end\n"
	"local e = tonumber(o[2])\n"
	"if o[1] == ARGV[1] then return {1, e, o[1]} end\n"
	"if redis.call('EXISTS', ARGV[3] .. o[1]) == 1 then return {0, e, o[1]} end\n"
	"if tonumber(ARGV[2]) ~= e then return {0, e, o[1]} end\n"
	"redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', e + 1)\n"
	"redis.call('PEXPIRE', KEYS[1], " OWN_TTL_MS ")\n"
	"return {1, e + 1, ARGV[1]}\n";

/* KEYS[1] own, KEYS[2] state; ARGV me, epoch, value, ttl. */
static const char write_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if o[1] ~= ARGV[1] or tonumber(o[2]) ~= tonumber(ARGV[2]) then\n"
	"  return {0, tonumber(o[2] or 0), o[1] or ''}\n"
	"end\n"
	"redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
	"return {1, tonumber(o[2]), ARGV[1]}\n";

/* KEYS[1] own, KEYS[2] state; ARGV me, epoch. */
static const char release_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if o[1] ~= ARGV[1] or tonumber(o[2]) ~= tonumber(ARGV[2]) then\n"
	"  return {0, tonumber(o[2] or 0), o[1] or ''}\n"
	"end\n"
	"redis.call('DEL', KEYS[1], KEYS[2])\n"
	"return {1, tonumber(o[2]), ARGV[1]}\n";

/* KEYS[1] own, KEYS[2] state; ARGV me, node key prefix. {rc, epoch, record | owner} */
static const char takeover_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if not o[1] then return {-1, 0, ''} end\n"
	"local e = tonumber(o[2])\n"
	"if o[1] == ARGV[1] then return {-1, e, ''} end\n"
	"if redis.call('EXISTS', ARGV[2] .. o[1]) == 1 then return {0, e, o[1]} end\n"
	"redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', e + 1)\n"
	"redis.call('PEXPIRE', KEYS[1], " OWN_TTL_MS ")\n"
	"return {1, e + 1, redis.call('GET', KEYS[2]) or ''}\n";

/* A request on its way: freed by its reply (every accepted command gets one). */
struct req {
	struct sh_node *n;             /* NULL once the node is gone */
	struct req *next, **prev;
	sh_node_fn fn;
	sh_node_take_fn take;          /* a takeover's */
	void *arg;
	int beat;                      /* the heartbeat's */
	eng_timer tmo;                 /* REQ_TIMEOUT_MS */
};

struct sh_node {
	eng_worker *w;
	struct eng_redis *link;
	char id[SH_NODE_ID_MAX + 1];
	char *advertise, *prefix;
	uint32_t ttl_ms;
	eng_timer beat;
	uint64_t last_ok_ms;           /* the last heartbeat Redis took (0: none yet) */
	int beat_pending;
	struct req *reqs;              /* on their way */
};

static int id_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void req_drop(struct req *q);

/* Redis did not answer <q> in time: its owner is told -ETIMEDOUT now, the link is dropped
 * (the server may be frozen: a new connection follows), the late reply frees <q>. */
static void req_timeout(eng_timer *t)
{
	struct req *q = t->arg;
	struct sh_node *n = q->n;
	sh_node_fn fn = q->fn;
	sh_node_take_fn take = q->take;
	void *arg = q->arg;
	q->fn = NULL;
	q->take = NULL;
	if (q->beat) {
		n->beat_pending = 0;
		n->last_ok_ms = 0;
	}
	if (take)
		take(arg, -ETIMEDOUT, 0, NULL, NULL, 0);
	else if (fn)
		fn(arg, -ETIMEDOUT, 0, NULL);
	CM_LOG_RL(CM_LOG_WARN, "cluster: node %s: Redis did not answer within %d ms", n->id,
		  REQ_TIMEOUT_MS);
	eng_redis_drop(n->link); /* last: the NULL replies free <q> */
}

static void on_beat(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct req *q = privdata;
	redisReply *r = reply;
	(void)ac;
	struct sh_node *n = q->n;
	if (n)
		req_drop(q);
	else
		free(q);
	if (!n)
		return;
	n->beat_pending = 0;
	if (r && r->type == REDIS_REPLY_STATUS) {
		n->last_ok_ms = eng_now_ms(n->w);
		return;
	}
	n->last_ok_ms = 0; /* not alive until a heartbeat is taken again */
	CM_LOG_RL(CM_LOG_WARN, "cluster: node %s: heartbeat: %s", n->id,
		  r ? (r->type == REDIS_REPLY_ERROR ? r->str : "odd reply") : "no link");
}

static struct req *req_new(struct sh_node *n, sh_node_fn fn, void *arg)
{
	struct req *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->n = n;
	q->fn = fn;
	q->arg = arg;
	eng_timer_init(&q->tmo, req_timeout, q);
	eng_timer_arm(n->w, &q->tmo, REQ_TIMEOUT_MS);
	q->next = n->reqs;
	if (q->next)
		q->next->prev = &q->next;
	q->prev = &n->reqs;
	n->reqs = q;
	return q;
}

static void req_drop(struct req *q)
{
	eng_timer_cancel(&q->tmo);
	*q->prev = q->next;
	if (q->next)
		q->next->prev = q->prev;
	free(q);
}

static void beat(eng_timer *t)
{
	struct sh_node *n = t->arg;
	eng_timer_arm(n->w, &n->beat, n->ttl_ms / 3);
	if (n->beat_pending)
		return; /* the last one still on its way */
	char key[256], px[16];
	int kl = snprintf(key, sizeof(key), "%snode:%s", n->prefix, n->id);
	int pl = snprintf(px, sizeof(px), "%u", n->ttl_ms);
	const char *av[5] = { "SET", key, n->advertise, "PX", px };
	size_t al[5] = { 3, (size_t)kl, strlen(n->advertise), 2, (size_t)pl };
	struct req *q = req_new(n, NULL, NULL);
	if (!q)
		return;
	q->beat = 1;
	if (eng_redis_cmd(n->link, on_beat, q, 5, av, al) < 0) {
		req_drop(q);
		n->last_ok_ms = 0; /* no link: not alive until a heartbeat is taken again */
		return;
	}
	n->beat_pending = 1;
}

struct sh_node *sh_node_new(eng_worker *w, struct eng_redis *link, const struct sh_node_cfg *cfg)
{
	if (!id_ok(cfg->node_id, SH_NODE_ID_MAX) || cfg->ttl_ms < 300)
		return NULL;
	struct sh_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->w = w;
	n->link = link;
	n->ttl_ms = cfg->ttl_ms;
	snprintf(n->id, sizeof(n->id), "%s", cfg->node_id);
	n->advertise = strdup(cfg->advertise ? cfg->advertise : "");
	n->prefix = strdup(cfg->prefix ? cfg->prefix : "rcsgw:");
	if (!n->advertise || !n->prefix || strlen(n->prefix) > 64) {
		sh_node_free(n);
		return NULL;
	}
	eng_timer_init(&n->beat, beat, n);
	if (!cfg->no_heartbeat)
		eng_timer_arm(w, &n->beat, 0);
	return n;
}

void sh_node_free(struct sh_node *n)
{
	if (!n)
		return;
	eng_timer_cancel(&n->beat);
	for (struct req *q = n->reqs; q; q = q->next) {
		eng_timer_cancel(&q->tmo);
		q->n = NULL; /* its reply frees it */
		q->prev = NULL;
		if (q->take) { /* a takeover waits for it: told now (its owner may be an API call) */
			sh_node_take_fn take = q->take;
			q->take = NULL;
			take(q->arg, -ECANCELED, 0, NULL, NULL, 0);
		}
	}
	free(n->advertise);
	free(n->prefix);
	free(n);
}

int sh_node_alive(const struct sh_node *n)
{
	return n->last_ok_ms && eng_now_ms(n->w) - n->last_ok_ms < n->ttl_ms;
}

/* The reply of a script: {rc, epoch, owner}. */
static void on_script(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct req *q = privdata;
	redisReply *r = reply;
	(void)ac;
	struct sh_node *n = q->n;
	sh_node_fn fn = q->fn;
	sh_node_take_fn take = q->take;
	void *arg = q->arg;
	if (n)
		req_drop(q);
	else
		free(q);
	if (!n || (!fn && !take))
		return;
	if (take) {
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER ||
		    r->element[1]->type != REDIS_REPLY_INTEGER ||
		    r->element[2]->type != REDIS_REPLY_STRING) {
			take(arg, -EIO, 0, NULL, NULL, 0);
			return;
		}
		long long rc = r->element[0]->integer;
		uint64_t e = (uint64_t)r->element[1]->integer;
		if (rc == 1)
			take(arg, 1, e, NULL, r->element[2]->str, r->element[2]->len);
		else if (rc == 0)
			take(arg, 0, e, r->element[2]->str, NULL, 0);
		else
			take(arg, -ENOENT, 0, NULL, NULL, 0);
		return;
	}
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_INTEGER ||
	    r->element[2]->type != REDIS_REPLY_STRING) {
		if (r && r->type == REDIS_REPLY_ERROR)
			CM_LOG_RL(CM_LOG_WARN, "cluster: node %s: %s", n->id, r->str);
		fn(arg, -EIO, 0, NULL);
		return;
	}
	int ok = r->element[0]->integer == 1;
	fn(arg, ok, (uint64_t)r->element[1]->integer, ok ? NULL : r->element[2]->str);
}

/* Runs <lua> with the session's keys and <argc> more arguments. */
static int script(struct sh_node *n, const char *lua, const char *sid, int nkeys, int argc,
		  const char **argv, const size_t *argl, sh_node_fn fn, void *arg)
{
	if (!id_ok(sid, 128))
		return -EINVAL;
	char own[256], state[256], nk[4];
	const char *av[12];
	size_t al[12];
	int k = 0;
	int ol = snprintf(own, sizeof(own), "%sown:%s", n->prefix, sid);
	int sl = snprintf(state, sizeof(state), "%sstate:%s", n->prefix, sid);
	snprintf(nk, sizeof(nk), "%d", nkeys);
	av[k] = "EVAL", al[k++] = 4;
	av[k] = lua, al[k++] = strlen(lua);
	av[k] = nk, al[k++] = strlen(nk);
	av[k] = own, al[k++] = (size_t)ol;
	if (nkeys == 2)
		av[k] = state, al[k++] = (size_t)sl;
	for (int i = 0; i < argc; i++)
		av[k] = argv[i], al[k++] = argl[i];
	struct req *q = req_new(n, fn, arg);
	if (!q)
		return -ENOMEM;
	if (eng_redis_cmd(n->link, on_script, q, k, av, al) < 0) {
		req_drop(q);
		return -EIO;
	}
	return 0;
}

int sh_node_claim(struct sh_node *n, const char *sid, uint64_t seen_epoch, sh_node_fn fn,
		  void *arg)
{
	char e[24], pfx[96];
	int el = snprintf(e, sizeof(e), "%llu", (unsigned long long)seen_epoch);
	int pl = snprintf(pfx, sizeof(pfx), "%snode:", n->prefix);
	const char *av[3] = { n->id, e, pfx };
	size_t al[3] = { strlen(n->id), (size_t)el, (size_t)pl };
	return script(n, claim_lua, sid, 1, 3, av, al, fn, arg);
}

int sh_node_write(struct sh_node *n, const char *sid, uint64_t epoch, const void *data,
		  size_t len, uint32_t ttl_ms, sh_node_fn fn, void *arg)
{
	char e[24], t[16];
	int el = snprintf(e, sizeof(e), "%llu", (unsigned long long)epoch);
	int tl = snprintf(t, sizeof(t), "%u", ttl_ms ? ttl_ms : 1);
	const char *av[4] = { n->id, e, data, t };
	size_t al[4] = { strlen(n->id), (size_t)el, len, (size_t)tl };
	return script(n, write_lua, sid, 2, 4, av, al, fn, arg);
}

int sh_node_takeover(struct sh_node *n, const char *sid, sh_node_take_fn fn, void *arg)
{
	char pfx[96];
	int pl = snprintf(pfx, sizeof(pfx), "%snode:", n->prefix);
	const char *av[2] = { n->id, pfx };
	size_t al[2] = { strlen(n->id), (size_t)pl };
	struct req *q;
	int rc = script(n, takeover_lua, sid, 2, 2, av, al, NULL, NULL);
	if (rc < 0)
		return rc;
	q = n->reqs; /* the one script() just made: the newest */
	q->take = fn;
	q->arg = arg;
	return 0;
}

int sh_node_release(struct sh_node *n, const char *sid, uint64_t epoch, sh_node_fn fn,
		    void *arg)
{
	char e[24];
	int el = snprintf(e, sizeof(e), "%llu", (unsigned long long)epoch);
	const char *av[2] = { n->id, e };
	size_t al[2] = { strlen(n->id), (size_t)el };
	return script(n, release_lua, sid, 2, 2, av, al, fn, arg);
}
