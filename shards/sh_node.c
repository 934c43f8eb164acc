/* sh_node.c — heartbeat and fenced session ownership in Redis (sh_node.h). */
#include "shards/sh_node.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha.h>

#include "common/cm_log.h"

#define OWN_TTL_MS "86400000"  /* an ownership nobody writes under goes after a day */
#define REQ_TIMEOUT_MS 3000    /* a request Redis does not answer by then: -ETIMEDOUT */

/* The own hash of a session: {node, epoch, inc}: inc the incarnation (one run of the
 * process) of the node that set it. A session that ended keeps a tombstone {node '', epoch}
 * for TOMB_TTL_MS: a write from a node that still thinks it owns it (back from a pause) is
 * fenced by it, where a missing hash (its TTL ran out, Redis lost its data) is taken back
 * by its owner's next write at the epoch that owner names. */
#define TOMB_TTL_MS "600000"

/* KEYS[1] own; ARGV me, seen epoch, node key prefix, inc. {1|0, epoch, owner} */
static const char claim_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if not o[1] then\n"
	"  redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', 1, 'inc', ARGV[4])\n"
	"  redis.call('PEXPIRE', KEYS[1], " OWN_TTL_MS ")\n"
	"  return {1, 1, ARGV[1]}\n"
	"end\n"
	"local e = tonumber(o[2])\n"
	"if o[1] == ARGV[1] then return {1, e, o[1]} end\n"
	"if o[1] == '' or redis.call('EXISTS', ARGV[3] .. o[1]) == 1 then\n"
	"  return {0, e, o[1]}\n"
	"end\n"
	"if tonumber(ARGV[2]) ~= e then return {0, e, o[1]} end\n"
	"redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', e + 1, 'inc', ARGV[4])\n"
	"redis.call('PEXPIRE', KEYS[1], " OWN_TTL_MS ")\n"
	"return {1, e + 1, ARGV[1]}\n";

/* KEYS[1] own, KEYS[2] state, KEYS[3] msgs; ARGV me, epoch, value, ttl, inc. Ownership
 * that Redis lost is taken back at the epoch named (nobody else took it: their hash would
 * be there); the stream of pending messages lives as long as the record. */
static const char write_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if not o[1] then\n"
	"  redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', ARGV[2], 'inc', ARGV[5])\n"
	"elseif o[1] ~= ARGV[1] or tonumber(o[2]) ~= tonumber(ARGV[2]) then\n"
	"  return {0, tonumber(o[2] or 0), o[1] or ''}\n"
	"end\n"
	"redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
	"redis.call('PEXPIRE', KEYS[3], ARGV[4])\n"
	"return {1, tonumber(ARGV[2]), ARGV[1]}\n";

/* A session handed on (yield_lua) is reserved for the node it was handed to while that node
 * lives, until 'until' (Redis's clock, ms): for any other node it is that node's. Needs
 * o (HMGET node, epoch, ...) and the Lua names ME and PFX (node key prefix). */
#define HANDED_ON_LUA(ME, PFX)                                                              \
	"if o[1] == '~handed-on' then\n"                                                    \
	"  local r = redis.call('HMGET', KEYS[1], 'to', 'until')\n"                         \
	"  local t = redis.call('TIME')\n"                                                   \
	"  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"         \
	"  if r[1] and r[1] ~= " ME " and tonumber(r[2] or 0) > now and\n"                  \
	"     redis.call('EXISTS', " PFX " .. r[1]) == 1 then\n"                             \
	"    return {0, tonumber(o[2]), r[1]}\n"                                             \
	"  end\n"                                                                           \
	"end\n"
#define HANDED_ON_RESERVE_MS "10000"

/* KEYS[1] own, KEYS[2] state, KEYS[3] msgs; ARGV me, epoch, pend prefix, sid. The
 * ownership becomes a tombstone. */
static const char release_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if o[1] ~= ARGV[1] or tonumber(o[2]) ~= tonumber(ARGV[2]) then\n"
	"  return {0, tonumber(o[2] or 0), o[1] or ''}\n"
	"end\n"
	"redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])\n"
	"redis.call('HSET', KEYS[1], 'node', '', 'epoch', o[2])\n"
	"redis.call('PEXPIRE', KEYS[1], " TOMB_TTL_MS ")\n"
	"redis.call('SREM', ARGV[3] .. ARGV[1], ARGV[4])\n"
	"return {1, tonumber(o[2]), ARGV[1]}\n";

/* KEYS[1] own, KEYS[2] state, KEYS[3] msgs; ARGV me, node key prefix, pend prefix, sid,
 * inc. A session of a dead node is taken over, and so is one of this node's earlier
 * incarnation (the process restarted with the same node id: what it had in memory is
 * gone). {rc, epoch, record | owner, {{entry id, {'m', message, ...}}...}} */
static const char takeover_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch', 'inc')\n"
	"if not o[1] or o[1] == '' then return {-1, 0, ''} end\n"
	"local e = tonumber(o[2])\n"
	HANDED_ON_LUA("ARGV[1]", "ARGV[2]")
	"if o[1] == ARGV[1] then\n"
	"  if not o[3] or o[3] == ARGV[5] then return {-1, e, ''} end\n"
	"elseif redis.call('EXISTS', ARGV[2] .. o[1]) == 1 then return {0, e, o[1]} end\n"
	"redis.call('HSET', KEYS[1], 'node', ARGV[1], 'epoch', e + 1, 'inc', ARGV[5])\n"
	"redis.call('HDEL', KEYS[1], 'to', 'until')\n"
	"redis.call('PEXPIRE', KEYS[1], " OWN_TTL_MS ")\n"
	"redis.call('SREM', ARGV[3] .. o[1], ARGV[4])\n"
	"local m = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', " SH_NODE_PENDING_MAX_S ")\n"
	"if #m > 0 then redis.call('SADD', ARGV[3] .. ARGV[1], ARGV[4]) end\n"
	"return {1, e + 1, redis.call('GET', KEYS[2]) or '', m}\n";

/* KEYS[1] the set of nodes; ARGV node key prefix, pend prefix, own prefix, me, max, inc.
 * The sessions (at most max) that hold accepted, unconfirmed messages and whose owner is
 * gone: a dead node, or an earlier incarnation of this one. A dead node with none left is
 * forgotten, a session with no owner any more too. */
static const char sweep_lua[] =
	"local out, max = {}, tonumber(ARGV[5])\n"
	"for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
	"  local me = n == ARGV[4]\n"
	"  if me or redis.call('EXISTS', ARGV[1] .. n) == 0 then\n"
	"    local s = redis.call('SRANDMEMBER', ARGV[2] .. n, max)\n"
	"    if #s == 0 and not me then redis.call('SREM', KEYS[1], n) end\n"
	"    for _, x in ipairs(s) do\n"
	"      local o = redis.call('HMGET', ARGV[3] .. x, 'node', 'inc')\n"
	"      if o[1] ~= n then redis.call('SREM', ARGV[2] .. n, x)\n"
	"      elseif not me or (o[2] and o[2] ~= ARGV[6]) then out[#out + 1] = x end\n"
	"    end\n"
	"  end\n"
	"  if #out >= max then break end\n"
	"end\n"
	"return out\n";


/* No keys (built from the prefixes: one script for the messages of many sessions);
 * ARGV me, ttl, pend prefix, own prefix, msgs prefix, inc, then (sid, epoch, message,
 * message id, again) for each. A session another node owns, or owns at another epoch than the one
 * named (0: not known yet), is fenced (''); one nobody owns (its claim on its way, or an
 * ownership Redis lost when the epoch is named) is ours. An append made again ('1'):
 * the entry of the same message id, if the stream has it, is the answer (the stream read
 * once per session and script). Each appended session goes in the node's set of sessions
 * with pending messages. {entry id or ''...} */
static const char append_lua[] =
	"local me, out, found = ARGV[1], {}, {}\n"
	"for i = 7, #ARGV, 5 do\n"
	"  local sid, ep, mid = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 3]\n"
	"  local o = redis.call('HMGET', ARGV[4] .. sid, 'node', 'epoch')\n"
	"  if o[1] and (o[1] ~= me or (ep > 0 and tonumber(o[2]) ~= ep)) then\n"
	"    out[#out + 1] = ''\n"
	"  else\n"
	"    if not o[1] and ep > 0 then\n"
	"      redis.call('HSET', ARGV[4] .. sid, 'node', me, 'epoch', ep, 'inc', ARGV[6])\n"
	"      redis.call('PEXPIRE', ARGV[4] .. sid, ARGV[2])\n"
	"    end\n"
	"    local k, x = ARGV[5] .. sid, nil\n"
	"    if ARGV[i + 4] == '1' then\n"
	"      if not found[sid] then\n"
	"        found[sid] = {}\n"
	"        for _, en in ipairs(redis.call('XRANGE', k, '-', '+')) do\n"
	"          if en[2][4] then found[sid][en[2][4]] = en[1] end\n"
	"        end\n"
	"      end\n"
	"      x = found[sid][mid]\n"
	"    end\n"
	"    if not x then\n"
	"      x = redis.call('XADD', k, '*', 'm', ARGV[i + 2], 'i', mid)\n"
	"      if found[sid] then found[sid][mid] = x end\n"
	"    end\n"
	"    out[#out + 1] = x\n"
	"    redis.call('PEXPIRE', k, ARGV[2])\n"
	"    redis.call('SADD', ARGV[3] .. me, sid)\n"
	"  end\n"
	"end\n"
	"return out\n";

/* KEYS[1] own, KEYS[3] msgs; ARGV pend prefix, sid, entries... The entries go; the last
 * ones take the session out of its owner's set. */
static const char unkeep_lua[] =
	"redis.call('XDEL', KEYS[3], unpack(ARGV, 3))\n"
	"if redis.call('XLEN', KEYS[3]) == 0 then\n"
	"  redis.call('DEL', KEYS[3])\n"
	"  local o = redis.call('HGET', KEYS[1], 'node')\n"
	"  if o then redis.call('SREM', ARGV[1] .. o, ARGV[2]) end\n"
	"end\n"
	"return 1\n";

/* KEYS[1] own; ARGV node key prefix, me. Who owns the session: {1, epoch, me} this node;
 * {0, epoch, owner} a live node; {0, epoch, ''} nobody, or a dead node. */
static const char owner_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if not o[1] or o[1] == '' then return {0, 0, ''} end\n"
	"local e = tonumber(o[2]) or 0\n"
	"if o[1] == ARGV[2] then return {1, e, o[1]} end\n"
	"if redis.call('EXISTS', ARGV[1] .. o[1]) == 1 then return {0, e, o[1]} end\n"
	"return {0, e, ''}\n";

/* KEYS[1] own, KEYS[2] state; ARGV node key prefix, me, inc. What a takeover would find,
 * nothing changed: {1, epoch, record} (it would be ours), {0, epoch, owner} (a live node's),
 * {-1, epoch, ''} (nobody's, over, or this incarnation's). */
static const char peek_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch', 'inc')\n"
	"if not o[1] or o[1] == '' then return {-1, 0, ''} end\n"
	"local e = tonumber(o[2]) or 0\n"
	HANDED_ON_LUA("ARGV[2]", "ARGV[1]")
	"if o[1] == ARGV[2] then\n"
	"  if not o[3] or o[3] == ARGV[3] then return {-1, e, ''} end\n"
	"elseif redis.call('EXISTS', ARGV[1] .. o[1]) == 1 then return {0, e, o[1]} end\n"
	"return {1, e, redis.call('GET', KEYS[2]) or ''}\n";

/* KEYS[1] own, KEYS[2] state, KEYS[3] msgs; ARGV me, epoch, record, ttl, pend prefix, sid,
 * to, nodes key. Ours at that epoch (or nobody's: an ownership Redis lost, as write_lua
 * takes it back): its last record written and its ownership handed on — the owner becomes
 * a name no node has (ids are [A-Za-z0-9._-]), whose heartbeat never exists, reserved for
 * <to> a while (HANDED_ON_LUA); <to>'s takeover takes it at epoch + 1 with that record.
 * Its unconfirmed messages stay in its stream, the session in a pending set the sweeps look
 * at (should <to> never come, another node takes it and sends them once the reserve ends). */
static const char yield_lua[] =
	"local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')\n"
	"if o[1] and (o[1] ~= ARGV[1] or tonumber(o[2]) ~= tonumber(ARGV[2])) then\n"
	"  return {0, tonumber(o[2] or 0), o[1] or ''}\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])\n"
	"redis.call('HSET', KEYS[1], 'node', '~handed-on', 'epoch', ARGV[2], 'to', ARGV[7],\n"
	"           'until', now + " HANDED_ON_RESERVE_MS ")\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
	"redis.call('SREM', ARGV[5] .. ARGV[1], ARGV[6])\n"
	"if redis.call('XLEN', KEYS[3]) > 0 then\n"
	"  redis.call('SADD', ARGV[5] .. '~handed-on', ARGV[6])\n"
	"  redis.call('SADD', ARGV[8], '~handed-on')\n"
	"end\n"
	"return {1, tonumber(ARGV[2]), ARGV[1]}\n";

/* The scripts, run by EVALSHA (loaded on each new connection, and again after NOSCRIPT). */
enum { S_CLAIM, S_WRITE, S_RELEASE, S_TAKEOVER, S_APPEND, S_UNKEEP, S_SWEEP, S_OWNER, S_PEEK,
       S_YIELD, S_N };
static const char *const lua_of[S_N] = { claim_lua, write_lua, release_lua, takeover_lua,
					 append_lua, unkeep_lua, sweep_lua, owner_lua, peek_lua,
					 yield_lua };


/* A request on its way: freed by its reply (every accepted command gets one). */
struct req {
	struct sh_node *n;             /* NULL once the node is gone */
	struct req *next, **prev;
	sh_node_fn fn;
	sh_node_take_fn take;          /* a takeover's */
	sh_node_unkeep_fn append;      /* a removal's */
	sh_node_append_fn appended;    /* a batch of appends' */
	sh_node_sweep_fn sweep;        /* a sweep's */
	void *arg;
	int beat;                      /* the heartbeat's */
	eng_timer tmo;                 /* REQ_TIMEOUT_MS */
};

struct sh_node {
	eng_worker *w;
	struct eng_redis *link;
	char sha[S_N][WC_SHA_DIGEST_SIZE * 2 + 1]; /* of each script, hex */
	unsigned loaded_gen;           /* the link's connection the scripts were loaded on */
	int reload;                    /* NOSCRIPT came: load them again */
	char id[SH_NODE_ID_MAX + 1];
	char inc[SH_NODE_INC_MAX + 1];  /* this run of the process */
	char *advertise, *prefix;
	uint32_t ttl_ms;
	eng_timer beat;
	uint64_t last_ok_ms;           /* the last heartbeat Redis took (0: none yet) */
	uint64_t ok_at_ms;             /* when the last heartbeat taken was sent (lapses are
					* measured between sends: a slow reply hides none) */
	uint64_t beat_sent_ms;         /* when the one on its way was sent */
	unsigned lapses;               /* heartbeats taken after a gap longer than the ttl */
	int beat_pending;
	struct req *reqs;              /* on their way */
};

int sh_node_id_ok(const char *s, size_t max)
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
	sh_node_unkeep_fn append = q->append;
	sh_node_append_fn appended = q->appended;
	sh_node_sweep_fn sweep = q->sweep;
	void *arg = q->arg;
	q->fn = NULL;
	q->take = NULL;
	q->append = NULL;
	q->appended = NULL;
	q->sweep = NULL;
	if (q->beat) {
		n->beat_pending = 0;
		n->last_ok_ms = 0;
	}
	if (take)
		take(arg, -ETIMEDOUT, 0, NULL, NULL, 0, NULL, 0);
	else if (append)
		append(arg, -ETIMEDOUT);
	else if (appended)
		appended(arg, -ETIMEDOUT, NULL, 0);
	else if (sweep)
		sweep(arg, -ETIMEDOUT, NULL, 0);
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
		uint64_t now = eng_now_ms(n->w);
		if (n->ok_at_ms && n->beat_sent_ms - n->ok_at_ms > n->ttl_ms) {
			n->lapses++; /* paused, cut off: other nodes may own some of ours now */
			CM_WARN("cluster: node %s: no heartbeat for %llu ms (more than its ttl): "
				"its sessions are checked again", n->id,
				(unsigned long long)(n->beat_sent_ms - n->ok_at_ms));
		}
		n->ok_at_ms = n->beat_sent_ms;
		n->last_ok_ms = now;
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

/* <q> answered: what it carried into <out>, <q> freed. Its node, or NULL when gone. */
static struct sh_node *req_done(struct req *q, struct req *out)
{
	struct sh_node *n = q->n;
	*out = *q;
	if (n)
		req_drop(q);
	else
		free(q);
	return n;
}

/* A reply that says the server lost our scripts (SCRIPT FLUSH, a failover to a replica
 * that never had them): loaded again before the next request. */
static void check_noscript(struct sh_node *n, const redisReply *r)
{
	if (n && r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8))
		n->reload = 1;
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
	n->beat_sent_ms = eng_now_ms(n->w);
	if (eng_redis_cmd(n->link, on_beat, q, 5, av, al) < 0) {
		req_drop(q);
		n->last_ok_ms = 0; /* no link: not alive until a heartbeat is taken again */
		return;
	}
	n->beat_pending = 1;
	/* the set of nodes, where the sweeps of the others look for us once we are dead */
	char nodes[96];
	int nl = snprintf(nodes, sizeof(nodes), "%snodes", n->prefix);
	const char *sv[3] = { "SADD", nodes, n->id };
	size_t sl[3] = { 4, (size_t)nl, strlen(n->id) };
	eng_redis_cmd(n->link, NULL, NULL, 3, sv, sl);
}

/* This run of the process: 64 random bits in hex, drawn once. NULL: no randomness. */
static char incarnation[17];
static void draw_incarnation(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof(v), 0) == (ssize_t)sizeof(v))
		snprintf(incarnation, sizeof(incarnation), "%016llx", (unsigned long long)v);
}

static const char *process_incarnation(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, draw_incarnation);
	return incarnation[0] ? incarnation : NULL;
}

struct sh_node *sh_node_new(eng_worker *w, struct eng_redis *link, const struct sh_node_cfg *cfg)
{
	const char *inc = cfg->incarnation ? cfg->incarnation : process_incarnation();
	if (!sh_node_id_ok(cfg->node_id, SH_NODE_ID_MAX) || cfg->ttl_ms < 300 || !inc ||
	    !sh_node_id_ok(inc, SH_NODE_INC_MAX))
		return NULL;
	struct sh_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->w = w;
	n->link = link;
	n->ttl_ms = cfg->ttl_ms;
	snprintf(n->id, sizeof(n->id), "%s", cfg->node_id);
	snprintf(n->inc, sizeof(n->inc), "%s", inc);
	n->advertise = strdup(cfg->advertise ? cfg->advertise : "");
	n->prefix = strdup(cfg->prefix ? cfg->prefix : "rcsgw:");
	if (!n->advertise || !n->prefix || strlen(n->prefix) > 64) {
		sh_node_free(n);
		return NULL;
	}
	for (int i = 0; i < S_N; i++) {
		byte h[WC_SHA_DIGEST_SIZE];
		if (wc_ShaHash((const byte *)lua_of[i], (word32)strlen(lua_of[i]), h) != 0) {
			sh_node_free(n);
			return NULL;
		}
		for (int k = 0; k < WC_SHA_DIGEST_SIZE; k++)
			snprintf(n->sha[i] + 2 * k, 3, "%02x", h[k]);
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
			take(q->arg, -ECANCELED, 0, NULL, NULL, 0, NULL, 0);
		}
		/* told now, that what they carry be freed: their owners go with the node */
		sh_node_unkeep_fn append = q->append;
		sh_node_append_fn appended = q->appended;
		q->append = NULL;
		q->appended = NULL;
		q->sweep = NULL;
		if (append)
			append(q->arg, -ECANCELED);
		if (appended)
			appended(q->arg, -ECANCELED, NULL, 0);
	}
	free(n->advertise);
	free(n->prefix);
	free(n);
}

unsigned sh_node_lapses(const struct sh_node *n)
{
	return n->lapses;
}

int sh_node_alive(const struct sh_node *n)
{
	return n->last_ok_ms && eng_now_ms(n->w) - n->last_ok_ms < n->ttl_ms;
}

/* A takeover's answer {1, epoch, record, {{entry id, {'m', message}}...}} to <take>: the
 * messages that were accepted and not confirmed, oldest first (entries not of that shape
 * are passed over). */
static void take_pending(sh_node_take_fn take, void *arg, uint64_t epoch, const redisReply *r)
{
	const redisReply *ms = r->elements > 3 ? r->element[3] : NULL;
	size_t n = ms && ms->type == REDIS_REPLY_ARRAY ? ms->elements : 0, np = 0;
	struct sh_node_pending *p = n ? calloc(n, sizeof(*p)) : NULL;
	for (size_t i = 0; p && i < n; i++) {
		const redisReply *en = ms->element[i], *f;
		if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
		    en->element[0]->type != REDIS_REPLY_STRING ||
		    (f = en->element[1])->type != REDIS_REPLY_ARRAY || f->elements < 2 ||
		    f->element[1]->type != REDIS_REPLY_STRING)
			continue;
		p[np++] = (struct sh_node_pending){ en->element[0]->str, f->element[1]->str,
						    f->element[1]->len };
	}
	take(arg, 1, epoch, NULL, r->element[2]->str, r->element[2]->len, p, np);
	free(p);
}

/* The reply of a removal: an integer. */
static void on_unkept(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct req c;
	redisReply *r = reply;
	(void)ac;
	struct sh_node *n = req_done(privdata, &c);
	check_noscript(n, r);
	if (n && c.append)
		c.append(c.arg, r && r->type == REDIS_REPLY_INTEGER ? 1 : -EIO);
}

/* The reply of a script: {rc, epoch, owner}. */
static void on_script(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct req *q = privdata, c;
	redisReply *r = reply;
	if (q->append) { /* a removal's */
		on_unkept(ac, reply, privdata);
		return;
	}
	struct sh_node *n = req_done(q, &c);
	check_noscript(n, r);
	sh_node_fn fn = c.fn;
	sh_node_take_fn take = c.take;
	void *arg = c.arg;
	if (!n || (!fn && !take))
		return;
	if (take) {
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER ||
		    r->element[1]->type != REDIS_REPLY_INTEGER ||
		    r->element[2]->type != REDIS_REPLY_STRING) {
			take(arg, -EIO, 0, NULL, NULL, 0, NULL, 0);
			return;
		}
		long long rc = r->element[0]->integer;
		uint64_t e = (uint64_t)r->element[1]->integer;
		if (rc == 1)
			take_pending(take, arg, e, r);
		else if (rc == 0)
			take(arg, 0, e, r->element[2]->str, NULL, 0, NULL, 0);
		else
			take(arg, -ENOENT, 0, NULL, NULL, 0, NULL, 0);
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

/* The answer to SCRIPT LOAD: the hash we computed, or something is wrong. */
static void on_loaded(redisAsyncContext *ac, void *reply, void *privdata)
{
	redisReply *r = reply;
	(void)ac;
	(void)privdata;
	if (r && (r->type != REDIS_REPLY_STRING || r->len != WC_SHA_DIGEST_SIZE * 2))
		CM_LOG_RL(CM_LOG_ERROR, "cluster: SCRIPT LOAD: %s",
			  r->type == REDIS_REPLY_ERROR ? r->str : "odd reply");
}

/* The scripts loaded into the server on the link's current connection, before the EVALSHA
 * that follows them (a connection runs its commands in order). 0 or -EIO. */
static int scripts_ready(struct sh_node *n)
{
	unsigned gen = eng_redis_generation(n->link);
	if (gen == n->loaded_gen && !n->reload)
		return 0;
	for (int i = 0; i < S_N; i++) {
		const char *av[3] = { "SCRIPT", "LOAD", lua_of[i] };
		size_t al[3] = { 6, 4, strlen(lua_of[i]) };
		if (eng_redis_cmd(n->link, on_loaded, NULL, 3, av, al) < 0)
			return -EIO;
	}
	n->loaded_gen = gen;
	n->reload = 0;
	return 0;
}


/* Runs script <s> with the session's keys and <argc> more arguments. */
static int script(struct sh_node *n, int s, const char *sid, int nkeys, int argc,
		  const char **argv, const size_t *argl, sh_node_fn fn, void *arg)
{
	if (!sh_node_id_ok(sid, 128))
		return -EINVAL;
	if (scripts_ready(n) < 0)
		return -EIO;
	char own[256], state[256], msgs[256], nk[4];
	const char *av[6 + SH_NODE_UNKEEP_MAX + 2];
	size_t al[6 + SH_NODE_UNKEEP_MAX + 2];
	if (argc > SH_NODE_UNKEEP_MAX + 2)
		return -E2BIG;
	int k = 0;
	int ol = snprintf(own, sizeof(own), "%sown:%s", n->prefix, sid);
	int sl = snprintf(state, sizeof(state), "%sstate:%s", n->prefix, sid);
	int ml = snprintf(msgs, sizeof(msgs), "%smsgs:%s", n->prefix, sid);
	snprintf(nk, sizeof(nk), "%d", nkeys);
	av[k] = "EVALSHA", al[k++] = 7;
	av[k] = n->sha[s], al[k++] = WC_SHA_DIGEST_SIZE * 2;
	av[k] = nk, al[k++] = strlen(nk);
	av[k] = own, al[k++] = (size_t)ol;
	if (nkeys >= 2)
		av[k] = state, al[k++] = (size_t)sl;
	if (nkeys >= 3)
		av[k] = msgs, al[k++] = (size_t)ml;
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
	const char *av[4] = { n->id, e, pfx, n->inc };
	size_t al[4] = { strlen(n->id), (size_t)el, (size_t)pl, strlen(n->inc) };
	return script(n, S_CLAIM, sid, 1, 4, av, al, fn, arg);
}

int sh_node_write(struct sh_node *n, const char *sid, uint64_t epoch, const void *data,
		  size_t len, uint32_t ttl_ms, sh_node_fn fn, void *arg)
{
	char e[24], t[16];
	int el = snprintf(e, sizeof(e), "%llu", (unsigned long long)epoch);
	int tl = snprintf(t, sizeof(t), "%u", ttl_ms ? ttl_ms : 1);
	const char *av[5] = { n->id, e, data, t, n->inc };
	size_t al[5] = { strlen(n->id), (size_t)el, len, (size_t)tl, strlen(n->inc) };
	return script(n, S_WRITE, sid, 3, 5, av, al, fn, arg);
}

int sh_node_takeover(struct sh_node *n, const char *sid, sh_node_take_fn fn, void *arg)
{
	char pfx[96], pp[96];
	int pl = snprintf(pfx, sizeof(pfx), "%snode:", n->prefix);
	int ppl = snprintf(pp, sizeof(pp), "%spend:", n->prefix);
	const char *av[5] = { n->id, pfx, pp, sid, n->inc };
	size_t al[5] = { strlen(n->id), (size_t)pl, (size_t)ppl, strlen(sid), strlen(n->inc) };
	struct req *q;
	int rc = script(n, S_TAKEOVER, sid, 3, 5, av, al, NULL, NULL);
	if (rc < 0)
		return rc;
	q = n->reqs; /* the one script() just made: the newest */
	q->take = fn;
	q->arg = arg;
	return 0;
}

int sh_node_yield(struct sh_node *n, const char *sid, uint64_t epoch, const void *data,
		  size_t len, uint32_t ttl_ms, const char *to, sh_node_fn fn, void *arg)
{
	char e[24], t[16], pp[96], nodes[96];
	if (!sh_node_id_ok(to, SH_NODE_ID_MAX))
		return -EINVAL;
	int el = snprintf(e, sizeof(e), "%llu", (unsigned long long)epoch);
	int tl = snprintf(t, sizeof(t), "%u", ttl_ms ? ttl_ms : 1);
	int ppl = snprintf(pp, sizeof(pp), "%spend:", n->prefix);
	int nl = snprintf(nodes, sizeof(nodes), "%snodes", n->prefix);
	const char *av[8] = { n->id, e, data, t, pp, sid, to, nodes };
	size_t al[8] = { strlen(n->id), (size_t)el, len,		(size_t)tl,
			 (size_t)ppl,	strlen(sid), strlen(to), (size_t)nl };
	return script(n, S_YIELD, sid, 3, 8, av, al, fn, arg);
}

int sh_node_peek(struct sh_node *n, const char *sid, sh_node_take_fn fn, void *arg)
{
	char pfx[96];
	int pl = snprintf(pfx, sizeof(pfx), "%snode:", n->prefix);
	const char *av[3] = { pfx, n->id, n->inc };
	size_t al[3] = { (size_t)pl, strlen(n->id), strlen(n->inc) };
	int rc = script(n, S_PEEK, sid, 2, 3, av, al, NULL, NULL);
	if (rc < 0)
		return rc;
	n->reqs->take = fn; /* the request script() just made: the newest */
	n->reqs->arg = arg;
	return 0;
}

int sh_node_owner(struct sh_node *n, const char *sid, sh_node_fn fn, void *arg)
{
	char pfx[96];
	int pl = snprintf(pfx, sizeof(pfx), "%snode:", n->prefix);
	const char *av[2] = { pfx, n->id };
	size_t al[2] = { (size_t)pl, strlen(n->id) };
	return script(n, S_OWNER, sid, 1, 2, av, al, fn, arg);
}

int sh_node_release(struct sh_node *n, const char *sid, uint64_t epoch, sh_node_fn fn,
		    void *arg)
{
	char e[24], pp[96];
	int el = snprintf(e, sizeof(e), "%llu", (unsigned long long)epoch);
	int ppl = snprintf(pp, sizeof(pp), "%spend:", n->prefix);
	const char *av[4] = { n->id, e, pp, sid };
	size_t al[4] = { strlen(n->id), (size_t)el, (size_t)ppl, strlen(sid) };
	return script(n, S_RELEASE, sid, 3, 4, av, al, fn, arg);
}

/* The reply of a batch of appends: an array, an entry id or '' (fenced) per message. */
static void on_appended(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct req c;
	redisReply *r = reply;
	(void)ac;
	struct sh_node *n = req_done(privdata, &c);
	check_noscript(n, r);
	sh_node_append_fn fn = c.appended;
	if (!n || !fn)
		return;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements > SH_NODE_APPEND_MAX) {
		if (r && r->type == REDIS_REPLY_ERROR)
			CM_LOG_RL(CM_LOG_WARN, "cluster: node %s: %s", n->id, r->str);
		fn(c.arg, -EIO, NULL, 0);
		return;
	}
	const char *ids[SH_NODE_APPEND_MAX];
	for (size_t i = 0; i < r->elements; i++)
		ids[i] = r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len ?
				 r->element[i]->str : NULL;
	fn(c.arg, 1, ids, r->elements);
}

int sh_node_append(struct sh_node *n, const struct sh_node_append_item *items, size_t count,
		   uint32_t ttl_ms, sh_node_append_fn fn, void *arg)
{
	if (!count || count > SH_NODE_APPEND_MAX)
		return -EINVAL;
	if (scripts_ready(n) < 0)
		return -EIO;
	char t[16], pp[96], op[96], mp[96], e[SH_NODE_APPEND_MAX][24];
	const char *av[9 + 5 * SH_NODE_APPEND_MAX];
	size_t al[9 + 5 * SH_NODE_APPEND_MAX];
	int k = 0;
	av[k] = "EVALSHA", al[k++] = 7;
	av[k] = n->sha[S_APPEND], al[k++] = WC_SHA_DIGEST_SIZE * 2;
	av[k] = "0", al[k++] = 1;
	av[k] = n->id, al[k++] = strlen(n->id);
	al[k] = (size_t)snprintf(t, sizeof(t), "%u", ttl_ms ? ttl_ms : 1), av[k++] = t;
	al[k] = (size_t)snprintf(pp, sizeof(pp), "%spend:", n->prefix), av[k++] = pp;
	al[k] = (size_t)snprintf(op, sizeof(op), "%sown:", n->prefix), av[k++] = op;
	al[k] = (size_t)snprintf(mp, sizeof(mp), "%smsgs:", n->prefix), av[k++] = mp;
	av[k] = n->inc, al[k++] = strlen(n->inc);
	for (size_t i = 0; i < count; i++) {
		if (!sh_node_id_ok(items[i].sid, 128) || !items[i].mid)
			return -EINVAL;
		av[k] = items[i].sid, al[k++] = strlen(items[i].sid);
		al[k] = (size_t)snprintf(e[i], sizeof(e[i]), "%llu",
					 (unsigned long long)items[i].epoch);
		av[k++] = e[i];
		av[k] = items[i].data, al[k++] = items[i].len;
		av[k] = items[i].mid, al[k++] = strlen(items[i].mid);
		av[k] = items[i].again ? "1" : "0", al[k++] = 1;
	}
	struct req *q = req_new(n, NULL, arg);
	if (!q)
		return -ENOMEM;
	q->appended = fn;
	if (eng_redis_cmd(n->link, on_appended, q, k, av, al) < 0) {
		req_drop(q);
		return -EIO;
	}
	return 0;
}

int sh_node_unkeep(struct sh_node *n, const char *sid, const char *const *entries,
		   unsigned count, sh_node_unkeep_fn fn, void *arg)
{
	if (!count || count > SH_NODE_UNKEEP_MAX)
		return -EINVAL;
	char pp[96];
	int ppl = snprintf(pp, sizeof(pp), "%spend:", n->prefix);
	const char *av[SH_NODE_UNKEEP_MAX + 2] = { pp, sid };
	size_t al[SH_NODE_UNKEEP_MAX + 2] = { (size_t)ppl, strlen(sid) };
	for (unsigned i = 0; i < count; i++) {
		if (!entries[i] || !*entries[i] || strlen(entries[i]) > 40)
			return -EINVAL;
		av[2 + i] = entries[i];
		al[2 + i] = strlen(entries[i]);
	}
	int rc = script(n, S_UNKEEP, sid, 3, (int)count + 2, av, al, NULL, NULL);
	if (rc < 0)
		return rc;
	n->reqs->append = fn; /* the newest: script()'s */
	n->reqs->arg = arg;
	return 0;
}

/* The reply of a sweep: an array of session ids. */
static void on_sweep(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct req c;
	redisReply *r = reply;
	(void)ac;
	struct sh_node *n = req_done(privdata, &c);
	check_noscript(n, r);
	sh_node_sweep_fn fn = c.sweep;
	void *arg = c.arg;
	if (!n || !fn)
		return;
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		fn(arg, -EIO, NULL, 0);
		return;
	}
	const char *ids[SH_NODE_SWEEP_MAX];
	size_t k = 0;
	for (size_t i = 0; i < r->elements && k < SH_NODE_SWEEP_MAX; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING && sh_node_id_ok(r->element[i]->str, 128))
			ids[k++] = r->element[i]->str;
	fn(arg, 1, ids, k);
}

int sh_node_sweep(struct sh_node *n, unsigned max, sh_node_sweep_fn fn, void *arg)
{
	char nodes[96], np[96], pp[96], op[96], m[12];
	int nl = snprintf(nodes, sizeof(nodes), "%snodes", n->prefix);
	int npl = snprintf(np, sizeof(np), "%snode:", n->prefix);
	int ppl = snprintf(pp, sizeof(pp), "%spend:", n->prefix);
	int opl = snprintf(op, sizeof(op), "%sown:", n->prefix);
	int ml = snprintf(m, sizeof(m), "%u", max < 1 ? 1 : max > SH_NODE_SWEEP_MAX ?
		SH_NODE_SWEEP_MAX : max);
	const char *av[10] = { "EVALSHA", n->sha[S_SWEEP], "1", nodes, np, pp, op, n->id, m,
			       n->inc };
	size_t al[10] = { 7, WC_SHA_DIGEST_SIZE * 2, 1, (size_t)nl, (size_t)npl, (size_t)ppl,
			  (size_t)opl, strlen(n->id), (size_t)ml, strlen(n->inc) };
	if (scripts_ready(n) < 0)
		return -EIO;
	struct req *q = req_new(n, NULL, arg);
	if (!q)
		return -ENOMEM;
	q->sweep = fn;
	if (eng_redis_cmd(n->link, on_sweep, q, 10, av, al) < 0) {
		req_drop(q);
		return -EIO;
	}
	return 0;
}
