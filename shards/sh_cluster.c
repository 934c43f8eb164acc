/* sh_cluster.c — the node's Redis link and heartbeat from the configuration (sh_cluster.h). */
#include "shards/sh_cluster.h"

#include <errno.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cm_log.h"
#include "engine/eng_http.h"
#include "engine/eng_redis.h"
#include "shards/session.pb-c.h"
#include "shards/sh_bus.h"
#include "msrp/msrp_relay.h"
#include "shards/sh_node.h"
#include "shards/sh_repl.h"
#include "shards/sh_url.h"
#include "sip/sip_txn.h"

#define CHECK_MS 250                   /* how often the state is looked at */
#define SWEEP_MIN_MS 250               /* dead nodes' pending messages looked for at most so
					* often (else every heartbeat ttl / 2) */
#define SWEEP_BATCH 16                 /* sessions taken over per sweep, at most */

#define ASK_UP_MS 5000                 /* Sentinel asked again while the master answers */
#define ASK_DOWN_MS 500                /* ... and while it does not */

struct sh_cluster;

/* A worker's share: its link to the master, its Sentinel link, its replication. */
struct worker_part {
	struct sh_cluster *c;
	eng_worker *w;
	struct eng_redis *link;            /* to the master (worker 0: c->link) */
	struct sh_repl *repl;
	struct sh_bus *bus;                /* requests from and to the other nodes */
	struct gw_ua *ua;                  /* the worker's user agent (SIP passed on) */
	struct msrp_relay *relay;          /* the worker's relay (its frames passed on) */
	struct rpiece *pieces;             /* the relay's pieces waiting for their owner */
	struct remote {                    /* requests other nodes passed on to us: where */
		uint32_t ref;              /* their responses go (a ring: the oldest forgotten) */
		unsigned worker;
		char node[SH_NODE_ID_MAX + 1];
		struct sip_dest src;
	} *remote;
	uint32_t next_ref;
	eng_http *http;                    /* the requests passed on to us, to our own API */
	struct eng_redis *sentinel;        /* sentinel:// only */
	unsigned sidx;                     /* the Sentinel asked */
	int asking;
	uint64_t ask_ms;                   /* when the question on its way was asked */
	eng_timer ask;
};

struct sh_cluster {
	struct sh_url url;
	char host[NI_MAXHOST];             /* numeric (redis://: the server) */
	char shosts[SH_URL_HOSTS_MAX][NI_MAXHOST]; /* numeric Sentinels (sentinel://) */
	char node_id[SH_NODE_ID_MAX + 1];
	char advertise[256];
	char api_base[96];                 /* "http://host:port" of our own API (loopback) */
	char **api_auth;                   /* "Authorization: Bearer <token>" of each api.tokens */
	size_t napi_auth;
	uint32_t ttl_ms;
	char where[512];
	eng_worker *w;                     /* worker 0 */
	struct eng_redis *link;            /* worker 0's */
	struct sh_node *node;              /* the heartbeat */
	eng_timer check;
	eng_timer sweep;                   /* worker 0: dead nodes' pending messages */
	int sweeping;
	sh_cluster_orphan_fn orphan;
	void *orphan_arg;
	unsigned n;
	struct worker_part *wk;
	int reached;                       /* Redis took a heartbeat once */
	unsigned lapses;                   /* the node's heartbeat lapses acted upon */
	_Atomic int state;
};

static int id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

struct sh_cluster *sh_cluster_new(const struct cm_config *cfg, unsigned nworkers, char *err,
				  size_t len)
{
	const char *why = NULL;
	err[0] = '\0';
	if (!cfg->redis.url || !cfg->redis.url[0])
		return NULL;
	struct sh_cluster *c = calloc(1, sizeof(*c));
	if (!c || !(c->wk = calloc(nworkers ? nworkers : 1, sizeof(*c->wk)))) {
		free(c);
		snprintf(err, len, "out of memory");
		return NULL;
	}
	c->n = nworkers;
	if (sh_url_parse(cfg->redis.url, strlen(cfg->redis.url), &c->url, &why) < 0) {
		snprintf(err, len, "redis.url: %s", why);
		goto fail;
	}
	for (unsigned i = 0; i < c->url.nhosts; i++) {
		char *to = c->url.sentinel ? c->shosts[i] : c->host;
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
		int rc = getaddrinfo(c->url.hosts[i].host, NULL, &hints, &ai);
		if (rc == 0) {
			rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, to, NI_MAXHOST, NULL, 0,
					 NI_NUMERICHOST);
			freeaddrinfo(ai);
		}
		if (rc != 0 || strlen(to) > 63) {
			snprintf(err, len, "redis.url: %s does not resolve", c->url.hosts[i].host);
			goto fail;
		}
	}
	const char *id = cfg->cluster.node_id ? cfg->cluster.node_id : "";
	char hn[256];
	if (!id[0]) {
		if (gethostname(hn, sizeof(hn)) != 0)
			snprintf(hn, sizeof(hn), "rcsgw");
		hn[sizeof(hn) - 1] = '\0';
		for (char *p = hn; *p; p++) /* a host name's odd characters: "-" */
			if (!id_char(*p))
				*p = '-';
		id = hn;
	}
	size_t il = strlen(id);
	for (size_t i = 0; i < il; i++)
		if (!id_char(id[i]))
			il = 0;
	if (!il || il > SH_NODE_ID_MAX) {
		snprintf(err, len, "cluster.node_id \"%s\": 1 to %d of letters, digits, '.', '_', "
			 "'-'", id, SH_NODE_ID_MAX);
		goto fail;
	}
	memcpy(c->node_id, id, il + 1);
	snprintf(c->advertise, sizeof(c->advertise), "%s",
		 cfg->cluster.advertise && cfg->cluster.advertise[0] ? cfg->cluster.advertise
		 : cfg->sip.advertise ? cfg->sip.advertise : "");
	c->ttl_ms = (uint32_t)cfg->cluster.heartbeat_ttl_ms;
	if (cfg->api.tokens.n && (c->api_auth = calloc(cfg->api.tokens.n, sizeof(char *))))
		for (size_t i = 0; i < cfg->api.tokens.n; i++)
			if (asprintf(&c->api_auth[c->napi_auth], "Authorization: Bearer %s",
				     cfg->api.tokens.v[i]) >= 0)
				c->napi_auth++;
	/* requests passed on to us go to our own API: where it listens (a wildcard: loopback) */
	const char *al = cfg->api.listen.n ? cfg->api.listen.v[0] : "127.0.0.1:8080";
	const char *colon = strrchr(al, ':');
	size_t hl = colon ? (size_t)(colon - al) : 0;
	if (hl == 7 && !strncmp(al, "0.0.0.0", 7))
		snprintf(c->api_base, sizeof(c->api_base), "http://127.0.0.1%s", colon);
	else if (hl == 4 && !strncmp(al, "[::]", 4))
		snprintf(c->api_base, sizeof(c->api_base), "http://[::1]%s", colon);
	else
		snprintf(c->api_base, sizeof(c->api_base), "http://%s", al);
	if (c->url.sentinel)
		snprintf(c->where, sizeof(c->where), "sentinel://%s:%u%s/%s/%u as %s",
			 c->url.hosts[0].host, c->url.hosts[0].port, c->url.nhosts > 1 ? ",..." : "",
			 c->url.master, c->url.db, c->node_id);
	else
		snprintf(c->where, sizeof(c->where), "redis://%s:%u/%u as %s", c->url.hosts[0].host,
			 c->url.hosts[0].port, c->url.db, c->node_id);
	atomic_store(&c->state, SH_CLUSTER_STARTING);
	return c;
fail:
	free(c->wk);
	free(c);
	return NULL;
}

/* On a worker: its sessions' records written again (a node that looked dead learns which of
 * them another node took over: those writes are fenced, and it lets them go). */
static void revalidate(eng_worker *w, void *arg, uint64_t u64)
{
	struct worker_part *p = arg;
	(void)w;
	(void)u64;
	if (p->repl)
		sh_repl_revalidate(p->repl);
}

static void check(eng_timer *t)
{
	struct sh_cluster *c = t->arg;
	eng_timer_arm(c->w, &c->check, CHECK_MS);
	unsigned lapses = c->node ? sh_node_lapses(c->node) : 0;
	if (lapses != c->lapses) {
		c->lapses = lapses;
		for (unsigned i = 0; i < c->n; i++)
			if (c->wk[i].repl && eng_post(c->wk[i].w, revalidate, &c->wk[i], 0) < 0)
				c->lapses--; /* a full mailbox: again at the next check */
	}
	int ok = c->link && c->node && eng_redis_up(c->link) && sh_node_alive(c->node);
	if (ok && !c->reached) {
		c->reached = 1;
		CM_INFO("cluster: node %s registered in %s", c->node_id, c->where);
	}
	int st = ok ? SH_CLUSTER_READY : c->reached ? SH_CLUSTER_DEGRADED : SH_CLUSTER_STARTING;
	int was = atomic_exchange(&c->state, st);
	if (was != st && st == SH_CLUSTER_DEGRADED)
		CM_WARN("cluster: Redis lost (%s): degraded, sessions go on from memory", c->where);
	else if (was == SH_CLUSTER_DEGRADED && st == SH_CLUSTER_READY)
		CM_INFO("cluster: Redis back (%s)", c->where);
}

static void swept(void *arg, int rc, const char *const *ids, size_t n)
{
	struct sh_cluster *c = arg;
	c->sweeping = 0;
	for (size_t i = 0; rc == 1 && i < n; i++) {
		CM_INFO("cluster: session %s of a dead node holds messages not confirmed: taken "
			"over here", ids[i]);
		c->orphan(c->orphan_arg, ids[i]);
	}
}

/* Now and then: the sessions of dead nodes that hold accepted, unconfirmed messages are
 * taken over, so that they are delivered even if nothing else comes for them. */
static void sweep(eng_timer *t)
{
	struct sh_cluster *c = t->arg;
	uint32_t every = c->ttl_ms / 2 > SWEEP_MIN_MS ? c->ttl_ms / 2 : SWEEP_MIN_MS;
	eng_timer_arm(c->w, &c->sweep, every);
	if (c->sweeping || !c->orphan || atomic_load(&c->state) != SH_CLUSTER_READY)
		return;
	if (sh_node_sweep(c->node, SWEEP_BATCH, swept, c) == 0)
		c->sweeping = 1;
}

void sh_cluster_set_orphans(struct sh_cluster *c, sh_cluster_orphan_fn fn, void *arg)
{
	if (c) {
		c->orphan = fn;
		c->orphan_arg = arg;
	}
}

/* Sentinel's answer to SENTINEL get-master-addr-by-name: [ip, port] of the master, nil
 * when it does not know the name. The master link goes there. */
static void on_master_addr(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct worker_part *p = privdata;
	redisReply *r = reply;
	(void)ac;
	p->asking = 0;
	if (!p->c)
		return; /* stopped */
	struct sh_cluster *c = p->c;
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
		int port = atoi(r->element[1]->str);
		if (port > 0 && eng_redis_retarget(p->link, r->element[0]->str, port) == 0) {
			if (p->bus) /* its reader follows the master too */
				eng_redis_retarget(sh_bus_reader(p->bus), r->element[0]->str, port);
			return;
		}
	}
	/* no answer, or no master of that name: the next Sentinel, next time */
	CM_LOG_RL(CM_LOG_WARN, "cluster: Sentinel %s: no master \"%s\"%s%s",
		  c->url.hosts[p->sidx].host, c->url.master,
		  r && r->type == REDIS_REPLY_ERROR ? ": " : "",
		  r && r->type == REDIS_REPLY_ERROR ? r->str : "");
	p->sidx = (p->sidx + 1) % c->url.nhosts;
	eng_redis_retarget(p->sentinel, c->shosts[p->sidx], c->url.hosts[p->sidx].port);
}

/* Asks a Sentinel where the master is: often while the master does not answer, now and
 * then while it does (a failover moves it). */
static void ask(eng_timer *t)
{
	struct worker_part *p = t->arg;
	struct sh_cluster *c = p->c;
	int up = eng_redis_up(p->link);
	eng_timer_arm(p->w, &p->ask, up ? ASK_UP_MS : ASK_DOWN_MS);
	if (p->asking && eng_now_ms(p->w) - p->ask_ms < ASK_DOWN_MS * 4)
		return;
	if (p->asking) { /* no answer: that Sentinel is stuck, the next one */
		p->asking = 0;
		p->sidx = (p->sidx + 1) % c->url.nhosts;
		eng_redis_retarget(p->sentinel, c->shosts[p->sidx], c->url.hosts[p->sidx].port);
		return;
	}
	const char *av[3] = { "SENTINEL", "get-master-addr-by-name", c->url.master };
	size_t al[3] = { 8, 23, strlen(c->url.master) };
	if (eng_redis_cmd(p->sentinel, on_master_addr, p, 3, av, al) == 0) {
		p->asking = 1;
		p->ask_ms = eng_now_ms(p->w);
	} else if (!eng_redis_up(p->sentinel)) { /* that Sentinel is away: the next one */
		p->sidx = (p->sidx + 1) % c->url.nhosts;
		eng_redis_retarget(p->sentinel, c->shosts[p->sidx], c->url.hosts[p->sidx].port);
	}
}

/* ---- cross-node routing of REST requests (issue 8) ---------------------------------- */

/* An ApiAnswer of <status> with <body>, packed for the bus; its length into <len>. NULL:
 * out of memory. */
static uint8_t *api_answer(unsigned status, const char *ctype, const void *body, size_t blen,
			   size_t *len)
{
	Rcsgw__ApiAnswer a = RCSGW__API_ANSWER__INIT;
	a.status = status;
	a.content_type = (char *)(ctype ? ctype : "");
	a.body.data = (uint8_t *)body;
	a.body.len = blen;
	*len = rcsgw__api_answer__get_packed_size(&a);
	uint8_t *out = malloc(*len ? *len : 1);
	if (out)
		rcsgw__api_answer__pack(&a, out);
	return out;
}

/* An API error body: {"error":{"code","message"}} (malloc'ed; NULL: out of memory). */
static char *api_error(unsigned status, const char *fmt, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, arg);
	json_t *j = json_pack("{s:{s:i,s:s}}", "error", "code", (int)status, "message", msg);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* Our own API answered a request passed on to us: its answer goes back. */
static void local_answered(void *arg, int status, const char *ctype, const char *body,
			   size_t len)
{
	struct sh_bus_call *call = arg;
	char *err = NULL;
	size_t n;
	if (status < 0) { /* our own API did not answer: a 502 the requester passes on */
		err = api_error(502, "the node that owns the session could not run the request "
				"(%s)", strerror(-status));
		status = 502;
		ctype = "application/json";
		body = err ? err : "";
		len = strlen(body);
	}
	uint8_t *a = api_answer((unsigned)status, ctype, body, len, &n);
	sh_bus_answer(call, a ? 0 : -ENOMEM, a, a ? n : 0);
	free(a);
	free(err);
}

/* ---- cross-node routing of SIP ---------------------------------------------------------- */

#define REMOTE_RING 4096                   /* requests passed on to us, remembered at once */
#define SIP_FWD_TTL_MS 32000               /* a transaction's life (64 T1) */

/* <raw> and where a request came from (<d>) as a SipForward for the bus; NULL: no memory. */
static uint8_t *sip_fwd_pack(const char *raw, size_t rl, const struct sip_dest *d, size_t *len)
{
	Rcsgw__SipForward f = RCSGW__SIP_FORWARD__INIT;
	f.raw.data = (uint8_t *)raw;
	f.raw.len = rl;
	f.addr.data = (uint8_t *)&d->addr;
	f.addr.len = d->addrlen;
	f.kind = d->kind;
	f.conn_id = d->conn_id;
	f.worker = d->worker;
	*len = rcsgw__sip_forward__get_packed_size(&f);
	uint8_t *out = malloc(*len ? *len : 1);
	if (out)
		rcsgw__sip_forward__pack(&f, out);
	return out;
}

/* A SipForward's origin back into <d>. 0, or -1 when it makes no sense. */
static int sip_fwd_dest(const Rcsgw__SipForward *f, struct sip_dest *d)
{
	memset(d, 0, sizeof(*d));
	if (f->addr.len > sizeof(d->addr) || f->kind > SIP_TP_WS)
		return -1;
	memcpy(&d->addr, f->addr.data, f->addr.len);
	d->addrlen = (socklen_t)f->addr.len;
	d->kind = (uint8_t)f->kind;
	d->conn_id = f->conn_id;
	d->worker = (uint16_t)f->worker;
	return 0;
}

int sh_cluster_forward_sip(struct sh_cluster *c, eng_worker *w, const char *owner,
			   unsigned worker, const char *raw, size_t len,
			   const struct sip_dest *src)
{
	unsigned i = eng_worker_index(w);
	size_t n;
	if (!c || i >= c->n || !c->wk[i].bus)
		return -EIO;
	uint8_t *b = sip_fwd_pack(raw, len, src, &n);
	int rc = b ? sh_bus_send(c->wk[i].bus, owner, worker, "sip", b, n, SIP_FWD_TTL_MS)
		   : -ENOMEM;
	free(b);
	return rc;
}

int sh_cluster_remote_send(struct sh_cluster *c, eng_worker *w, uint32_t ref, const char *buf,
			   size_t len)
{
	unsigned i = eng_worker_index(w);
	if (!c || i >= c->n || !c->wk[i].remote)
		return -EIO;
	struct remote *r = &c->wk[i].remote[ref % REMOTE_RING];
	if (r->ref != ref || !ref)
		return -ENOTCONN; /* forgotten: that many came since */
	size_t n;
	uint8_t *b = sip_fwd_pack(buf, len, &r->src, &n);
	int rc = b ? sh_bus_send(c->wk[i].bus, r->node, r->worker, "sipout", b, n,
				 SIP_FWD_TTL_MS) : -ENOMEM;
	free(b);
	return rc;
}

/* "sip": an in-dialog request for a session of ours that reached another node, taken in as
 * if it had come here (its responses go back the same way); "sipout": a message the owner
 * of a session sent for a request we passed on, sent to where that request came from. */
static void bus_sip(struct worker_part *p, struct sh_bus_call *call, int out, const void *data,
		    size_t len)
{
	Rcsgw__SipForward *f = rcsgw__sip_forward__unpack(NULL, len, data);
	struct sip_dest d;
	unsigned from_worker;
	const char *from = sh_bus_call_from(call, &from_worker);
	if (f && p->ua && sip_fwd_dest(f, &d) == 0) {
		if (out) {
			gw_ua_send_to(p->ua, (const char *)f->raw.data, f->raw.len, &d);
		} else if (p->remote || (p->remote = calloc(REMOTE_RING, sizeof(*p->remote)))) {
			uint32_t ref = ++p->next_ref ? p->next_ref : ++p->next_ref;
			struct remote *r = &p->remote[ref % REMOTE_RING];
			*r = (struct remote){ .ref = ref, .worker = from_worker, .src = d };
			snprintf(r->node, sizeof(r->node), "%s", from);
			gw_ua_take_forwarded(p->ua, (const char *)f->raw.data, f->raw.len, &d, ref);
		}
	}
	if (f)
		rcsgw__sip_forward__free_unpacked(f, NULL);
	sh_bus_answer(call, 0, NULL, 0); /* frees it: no answer wanted */
}

/* ---- the relay's frames for sessions of other nodes (msrp_relay_fwd) -------------------- */

#define RELAY_PIECE_TIMEOUT_MS 5000    /* a piece's answer from the owner, at most */
#define RELAY_REPORT_TTL_MS 10000

/* A piece of the relay on its way: its owner looked up (<asking>), then asked. */
struct rpiece {
	struct worker_part *p;
	struct rpiece *next, **prev;
	uint64_t token;
	unsigned worker;
	int asking;                        /* the owner's look-up is on its way */
	size_t len;
	char data[];
};

static void piece_done(struct rpiece *q, int status)
{
	*q->prev = q->next;
	if (q->next)
		q->next->prev = q->prev;
	if (q->p->relay)
		msrp_relay_piece_done(q->p->relay, q->token, status);
	free(q);
}

static void piece_answered(void *arg, int status, const void *data, size_t len)
{
	(void)data;
	(void)len;
	piece_done(arg, status == -ETIMEDOUT ? 408 : status < 100 || status > 699 ? 503 : status);
}

static void piece_owner(void *arg, int rc, uint64_t epoch, const char *owner)
{
	struct rpiece *q = arg;
	(void)epoch;
	q->asking = 0;
	if (rc < 0) {
		piece_done(q, 503);
	} else if (rc == 1 || !owner || !owner[0]) {
		piece_done(q, 481); /* ours yet not here (over meanwhile), nobody's, a dead node's */
	} else if (sh_bus_request(q->p->bus, owner, q->worker, "relay", q->data, q->len,
				  RELAY_PIECE_TIMEOUT_MS, piece_answered, q) < 0) {
		piece_done(q, 503);
	}
}

static int relay_piece(void *arg, const char *sid, unsigned worker, const void *data,
		       size_t len, uint64_t token)
{
	struct worker_part *p = arg;
	if (!p->bus || !p->repl || len > SH_BUS_DATA_MAX)
		return -EIO;
	struct rpiece *q = malloc(sizeof(*q) + len);
	if (!q)
		return -ENOMEM;
	*q = (struct rpiece){ .p = p, .token = token, .worker = worker, .asking = 1, .len = len };
	memcpy(q->data, data, len);
	if (sh_node_owner(sh_repl_node(p->repl), sid, piece_owner, q) < 0) {
		free(q);
		return -EIO;
	}
	q->next = p->pieces;
	if (q->next)
		q->next->prev = &q->next;
	q->prev = &p->pieces;
	p->pieces = q;
	return 0;
}

static int relay_report(void *arg, const char *node, unsigned worker, const void *data,
			size_t len)
{
	struct worker_part *p = arg;
	return p->bus ? sh_bus_send(p->bus, node, worker, "relayrep", data, len,
				    RELAY_REPORT_TTL_MS) : -EIO;
}

/* "relay": a piece of a frame for the client of a session of ours, from the node its peer
 * reached (answered with what became of it); "relayrep": a failure REPORT for a frame that
 * this node passed on, from the session's node. */
static void bus_relay(struct worker_part *p, struct sh_bus_call *call, int report,
		      const void *data, size_t len)
{
	unsigned from_worker;
	const char *from = sh_bus_call_from(call, &from_worker); /* (the piece names its worker) */
	if (report) {
		if (p->relay)
			msrp_relay_report_in(p->relay, data, len);
		sh_bus_answer(call, 0, NULL, 0);
		return;
	}
	int st = p->relay ? msrp_relay_piece_in(p->relay, from, data, len) : 481;
	sh_bus_answer(call, st, NULL, 0);
}

/* ---- handing a session on to the node its peer went to -------------------------------- */

#define HANDOFF_TIMEOUT_MS 8000      /* > the owner's write and yield (3 s each at most) */

static void handed(void *arg, int status)
{
	sh_bus_answer(arg, status, NULL, 0);
}

/* "handoff": node <from> asks for a session of ours (its MSRP peer went there). */
static void bus_handoff(struct worker_part *p, struct sh_bus_call *call, const void *data,
			size_t len)
{
	char sid[GW_UA_ID_LEN + 1];
	unsigned fw;
	const char *from = sh_bus_call_from(call, &fw);
	if (!len || len > GW_UA_ID_LEN || !p->repl) {
		sh_bus_answer(call, 404, NULL, 0);
		return;
	}
	memcpy(sid, data, len);
	sid[len] = '\0';
	int rc = sh_repl_yield(p->repl, sid, from, handed, call);
	if (rc < 0)
		sh_bus_answer(call, rc == -EBUSY ? 409 : 404, NULL, 0);
}

struct handoff {
	sh_cluster_handoff_fn fn;
	void *arg;
};

static void handoff_answered(void *arg, int status, const void *data, size_t len)
{
	struct handoff *h = arg;
	(void)data;
	(void)len;
	h->fn(h->arg, status == -ETIMEDOUT ? 504 : status < 0 ? 503 : status);
	free(h);
}

int sh_cluster_handoff(struct sh_cluster *c, eng_worker *w, const char *owner, unsigned worker,
		       const char *id, sh_cluster_handoff_fn fn, void *arg)
{
	unsigned i = eng_worker_index(w);
	struct handoff *h;
	if (!c || i >= c->n || !c->wk[i].bus || !(h = malloc(sizeof(*h))))
		return -EIO;
	*h = (struct handoff){ fn, arg };
	int rc = sh_bus_request(c->wk[i].bus, owner, worker, "handoff", id, strlen(id),
				HANDOFF_TIMEOUT_MS, handoff_answered, h);
	if (rc < 0)
		free(h);
	return rc;
}

/* A request from another node on our bus: "api", a REST request for a session of ours,
 * run by our own API (as it came, marked as passed on: it is not passed on again); "sip"
 * and "sipout" (bus_sip); "relay" and "relayrep" (bus_relay); "handoff" (bus_handoff). */
static void bus_request(void *arg, struct sh_bus_call *call, const char *kind, const void *data,
			size_t len)
{
	struct worker_part *p = arg;
	if (!strcmp(kind, "sip") || !strcmp(kind, "sipout")) {
		bus_sip(p, call, kind[3] == 'o', data, len);
		return;
	}
	if (!strcmp(kind, "relay") || !strcmp(kind, "relayrep")) {
		bus_relay(p, call, kind[5] == 'r', data, len);
		return;
	}
	if (!strcmp(kind, "handoff")) {
		bus_handoff(p, call, data, len);
		return;
	}
	Rcsgw__ApiRequest *q = strcmp(kind, "api") ? NULL :
		rcsgw__api_request__unpack(NULL, len, data);
	char url[2304], fwd[SH_NODE_ID_MAX + 32];
	const char *hdrs[8];
	unsigned nh = 0;
	if (!q || q->path[0] != '/' || strlen(q->path) + strlen(q->query) > 2048) {
		if (q)
			rcsgw__api_request__free_unpacked(q, NULL);
		sh_bus_answer(call, 400, NULL, 0);
		return;
	}
	if (!p->http)
		p->http = eng_http_new(p->w);
	snprintf(url, sizeof(url), "%s%s%s%s", p->c->api_base, q->path, q->query[0] ? "?" : "",
		 q->query);
	snprintf(fwd, sizeof(fwd), "%s: %s", SH_CLUSTER_FORWARDED_HEADER, p->c->node_id);
	for (size_t i = 0; i < q->n_headers && nh < 5; i++)
		if (!strchr(q->headers[i], '\r') && !strchr(q->headers[i], '\n') &&
		    strncasecmp(q->headers[i], "Authorization:", 14))
			hdrs[nh++] = q->headers[i];
	hdrs[nh++] = fwd;
	if (q->owner && q->owner <= p->c->napi_auth) /* as the token the client used */
		hdrs[nh++] = p->c->api_auth[q->owner - 1];
	hdrs[nh] = NULL;
	/* answered before the requester gives up (its deadline), or not at all */
	int64_t left = sh_bus_call_left_ms(call) - 200;
	if (left < 100 || !p->http ||
	    !eng_http_request(p->http, q->method, url, hdrs, q->body.data, q->body.len,
			      (uint32_t)left, local_answered, call))
		local_answered(call, -EIO, NULL, NULL, 0);
	rcsgw__api_request__free_unpacked(q, NULL);
}

struct fwd {
	sh_cluster_http_fn fn;
	void *arg;
	char owner[SH_NODE_ID_MAX + 1];
};

static void forward_answered(void *arg, int status, const void *data, size_t len)
{
	struct fwd *f = arg;
	Rcsgw__ApiAnswer *a = status == 0 ? rcsgw__api_answer__unpack(NULL, len, data) : NULL;
	if (a && a->status >= 100 && a->status < 600) {
		f->fn(f->arg, a->status, a->content_type, (const char *)a->body.data, a->body.len);
	} else {
		unsigned code = status == -ETIMEDOUT || status == -ECANCELED ? 504 : 502;
		char *err = api_error(code, code == 504 ? "node %s, which owns the session, did "
				      "not answer in time" : "node %s, which owns the session, "
				      "could not run the request", f->owner);
		f->fn(f->arg, code, "application/json", err ? err : "", err ? strlen(err) : 0);
		free(err);
	}
	if (a)
		rcsgw__api_answer__free_unpacked(a, NULL);
	free(f);
}

int sh_cluster_forward(struct sh_cluster *c, eng_worker *w, const char *owner, unsigned worker,
		       const struct sh_cluster_http_req *req, uint32_t timeout_ms,
		       sh_cluster_http_fn fn, void *arg)
{
	unsigned i = eng_worker_index(w);
	if (!c || i >= c->n || !c->wk[i].bus)
		return -EIO;
	Rcsgw__ApiRequest q = RCSGW__API_REQUEST__INIT;
	q.method = (char *)req->method;
	q.path = (char *)req->path;
	q.query = (char *)(req->query ? req->query : "");
	q.headers = (char **)req->hdrs;
	q.n_headers = req->nhdrs;
	q.body.data = (uint8_t *)req->body;
	q.body.len = req->len;
	q.owner = req->owner;
	size_t n = rcsgw__api_request__get_packed_size(&q);
	uint8_t *buf = malloc(n ? n : 1);
	struct fwd *f = malloc(sizeof(*f));
	int rc = -ENOMEM;
	if (buf && f) {
		rcsgw__api_request__pack(&q, buf);
		*f = (struct fwd){ .fn = fn, .arg = arg };
		snprintf(f->owner, sizeof(f->owner), "%s", owner);
		rc = sh_bus_request(c->wk[i].bus, owner, worker, "api", buf, n, timeout_ms,
				    forward_answered, f);
	}
	free(buf);
	if (rc < 0)
		free(f);
	return rc;
}

void sh_cluster_bus_stats(const struct sh_cluster *c, unsigned i, struct sh_bus_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c && i < c->n && c->wk[i].bus)
		sh_bus_stats(c->wk[i].bus, out);
}

/* A worker's link to Redis came up: its replication puts back what Redis may have lost. */
static void link_up(void *arg)
{
	struct worker_part *p = arg;
	if (p->repl)
		sh_repl_link_up(p->repl);
}

int sh_cluster_start(struct sh_cluster *c, eng_worker *w, struct gw_ua *ua,
		     struct msrp_relay *relay)
{
	unsigned i = eng_worker_index(w);
	struct eng_redis_cfg lc = {
		.host = c->host, .port = c->url.hosts[0].port, .idle = c->url.sentinel,
		.user = c->url.user, .password = c->url.has_password ? c->url.password : NULL,
		.db = c->url.db, .what = "cluster", .up = link_up, .arg = &c->wk[i],
	};
	struct sh_node_cfg nc = { .node_id = c->node_id, .advertise = c->advertise,
				  .ttl_ms = c->ttl_ms };
	if (i >= c->n)
		return 0;
	struct eng_redis *link = eng_redis_new(w, &lc);
	if (!link)
		return -ENOMEM;
	c->wk[i].c = c;
	c->wk[i].w = w;
	c->wk[i].link = link;
	if (c->url.sentinel) { /* where the master is: Sentinel says */
		struct eng_redis_cfg sc = { .host = c->shosts[0], .port = c->url.hosts[0].port,
					    .what = "sentinel" };
		if (!(c->wk[i].sentinel = eng_redis_new(w, &sc)))
			return -ENOMEM;
		eng_timer_init(&c->wk[i].ask, ask, &c->wk[i]);
		eng_timer_arm(w, &c->wk[i].ask, 0);
	}
	if (i == 0) {
		c->w = w;
		c->link = link;
		if (!(c->node = sh_node_new(w, link, &nc)))
			return -ENOMEM;
		eng_timer_init(&c->check, check, c);
		eng_timer_arm(w, &c->check, CHECK_MS);
		eng_timer_init(&c->sweep, sweep, c);
		eng_timer_arm(w, &c->sweep, CHECK_MS);
	}
	if (ua || relay) { /* the worker's sessions, through a handle of the node that does not
			   * beat */
		nc.no_heartbeat = 1;
		struct sh_node *h = sh_node_new(w, link, &nc);
		if (!h || !(c->wk[i].repl = sh_repl_new(w, ua, h, link))) {
			sh_node_free(h);
			return -ENOMEM;
		}
		if (relay)
			sh_repl_set_relay(c->wk[i].repl, relay);
		c->wk[i].ua = ua;
		struct eng_redis_cfg bc = lc;
		struct sh_bus_cfg bus = { .node_id = c->node_id, .worker = i,
					  .handler = bus_request, .arg = &c->wk[i] };
		bc.what = "cluster bus";
		if (!(c->wk[i].bus = sh_bus_new(w, &bc, link, &bus)))
			return -ENOMEM;
		if (relay) { /* its frames for sessions of other nodes */
			struct msrp_relay_fwd fh = { .piece = relay_piece, .report = relay_report,
						     .arg = &c->wk[i] };
			c->wk[i].relay = relay;
			msrp_relay_set_fwd(relay, &fh);
		}
	}
	return 0;
}

void sh_cluster_stop(struct sh_cluster *c, eng_worker *w)
{
	unsigned i = eng_worker_index(w);
	if (!c || i >= c->n)
		return;
	if (c->wk[i].relay)
		msrp_relay_set_fwd(c->wk[i].relay, NULL);
	sh_repl_free(c->wk[i].repl); /* the owners' look-ups on their way are not answered: */
	c->wk[i].repl = NULL;
	for (struct rpiece *q = c->wk[i].pieces, *next; q; q = next) {
		next = q->next;
		if (q->asking)
			piece_done(q, 503);
	}
	eng_http_free(c->wk[i].http); /* first: its requests' bus calls are freed with the bus */
	c->wk[i].http = NULL;
	sh_bus_free(c->wk[i].bus); /* the pieces asked are told -ECANCELED */
	c->wk[i].bus = NULL;
	c->wk[i].relay = NULL;
	free(c->wk[i].remote);
	c->wk[i].remote = NULL;
	c->wk[i].ua = NULL;
	if (c->wk[i].sentinel) {
		eng_timer_cancel(&c->wk[i].ask);
		c->wk[i].c = NULL; /* its answer, if on its way, finds it stopped */
		eng_redis_free(c->wk[i].sentinel);
		c->wk[i].sentinel = NULL;
	}
	if (i == 0 && c->w) {
		eng_timer_cancel(&c->check);
		eng_timer_cancel(&c->sweep);
		sh_node_free(c->node);
		c->node = NULL;
		c->link = NULL;
		c->w = NULL;
	}
	eng_redis_free(c->wk[i].link);
	c->wk[i].link = NULL;
}

void sh_cluster_free(struct sh_cluster *c)
{
	if (c) {
		free(c->wk);
		for (size_t i = 0; i < c->napi_auth; i++)
			free(c->api_auth[i]);
		free(c->api_auth);
	}
	free(c);
}

struct take {
	sh_cluster_take_fn fn;
	void *arg;
};

static void taken(void *arg, int rc, uint64_t epoch, const char *owner, const char *record,
		  size_t len, const struct sh_node_pending *p, size_t np)
{
	struct take *t = arg;
	t->fn(t->arg, rc, epoch, owner, record, len, p, np);
	free(t);
}

int sh_cluster_takeover(struct sh_cluster *c, eng_worker *w, const char *id,
			sh_cluster_take_fn fn, void *arg)
{
	unsigned i = eng_worker_index(w);
	struct take *t;
	if (!c || i >= c->n || !c->wk[i].repl || !(t = malloc(sizeof(*t))))
		return -EIO;
	t->fn = fn;
	t->arg = arg;
	if (sh_node_takeover(sh_repl_node(c->wk[i].repl), id, taken, t) < 0) {
		free(t);
		return -EIO;
	}
	return 0;
}

void sh_cluster_undeliverable(struct sh_cluster *c, eng_worker *w, const char *id, size_t n)
{
	unsigned i = eng_worker_index(w);
	if (c && i < c->n && c->wk[i].repl)
		sh_repl_undeliverable(c->wk[i].repl, id, n);
}

unsigned sh_cluster_replay(struct sh_cluster *c, eng_worker *w, const char *id,
			   const struct sh_node_pending *p, size_t np)
{
	unsigned i = eng_worker_index(w);
	return c && i < c->n && c->wk[i].repl ? sh_repl_replay(c->wk[i].repl, id, p, np) : 0;
}

int sh_cluster_durable(struct sh_cluster *c, eng_worker *w, const char *id, const char *mid,
		       sh_repl_durable_fn fn, void *arg)
{
	unsigned i = eng_worker_index(w);
	return c && i < c->n && c->wk[i].repl ? sh_repl_durable(c->wk[i].repl, id, mid, fn, arg)
					      : 0;
}

void sh_cluster_release(struct sh_cluster *c, eng_worker *w, const char *id, uint64_t epoch)
{
	unsigned i = eng_worker_index(w);
	if (c && i < c->n && c->wk[i].repl)
		sh_node_release(sh_repl_node(c->wk[i].repl), id, epoch, NULL, NULL);
}

void sh_cluster_repl_stats(const struct sh_cluster *c, unsigned i, struct sh_repl_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c && i < c->n && c->wk[i].repl)
		sh_repl_stats(c->wk[i].repl, out);
}

enum sh_cluster_state sh_cluster_state(const struct sh_cluster *c)
{
	return c ? (enum sh_cluster_state)atomic_load(&c->state) : SH_CLUSTER_OFF;
}

const char *sh_cluster_state_name(enum sh_cluster_state s)
{
	static const char *const names[] = { "off", "starting", "ready", "degraded" };
	return (unsigned)s < 4 ? names[s] : "?";
}

const char *sh_cluster_node_id(const struct sh_cluster *c)
{
	return c->node_id;
}

const char *sh_cluster_where(const struct sh_cluster *c)
{
	return c->where;
}
