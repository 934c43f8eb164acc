/* cc_svc.c — the contact centre in the daemon: home (cc_core on worker CC_SVC_WORKER), the
 * workers' chats (a customer's session bridged to its agent's leg), and the mailbox messages
 * between them. See cc_svc.h. */
#include "callcenter/cc_svc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "callcenter/cc_json.h"
#include "common/cm_hash.h"
#include "common/cm_log.h"
#include "common/cm_sr.h"
#include "gateway/gw_ua.h"
#include "msrp/msrp-t.h"
#include "sip/sip_hdr.h"

#define RETRY_MS 5                 /* a full mailbox is tried again this soon */
#define RETRY_MAX 4096             /* messages waiting for full mailboxes, a worker: beyond,
				    * new chats are refused (486) until they drain */
#define CHAT_BUCKETS 256
#define REF_BUCKETS 1024
#define FWD_RING 32                /* messages passed on per leg whose failure maps back */
#define HELD_CHAT_BYTES (1u << 20)   /* what one waiting customer may have held, in bytes */
#define HELD_WORKER_BYTES (64u << 20) /* ... and all of a worker's */

/* ---- the flows' addresses, read-only once published ---------------------------------- */

struct addr {
	char flow[CC_ID_MAX + 1];
	char user[CC_URI_MAX + 1];
	char host[CC_URI_MAX + 1];
	char text[sizeof(((struct cc_flow_cfg *)0)->queued_text)];
	char announce[CC_URI_MAX + 1]; /* the flow's announce_uri */
};

struct addr_tab {
	atomic_uint refs;
	unsigned n;
	struct addr v[];
};

static void tab_unref(struct addr_tab *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		free(t);
}

/* The user and host of SIP URI <uri> into <user>, <host> (lower case). 0 or -EINVAL. */
static int uri_key(const char *uri, char *user, char *host)
{
	struct sip_uri u;
	if (sip_uri_parse((cm_slice){ uri, strlen(uri) }, &u) < 0 || u.user.len > CC_URI_MAX ||
	    u.host.len > CC_URI_MAX || !u.host.len)
		return -EINVAL;
	memcpy(user, u.user.p, u.user.len);
	user[u.user.len] = '\0';
	for (size_t i = 0; i < u.host.len; i++)
		host[i] = (char)(u.host.p[i] >= 'A' && u.host.p[i] <= 'Z' ? u.host.p[i] | 0x20
									   : u.host.p[i]);
	host[u.host.len] = '\0';
	return 0;
}

/* ---- mailbox messages ------------------------------------------------------------------- */

enum op {
	/* worker -> home */
	OP_ENQUEUE, OP_ANSWERED, OP_REFUSED, OP_ENDED, OP_ABANDON,
	/* home -> worker */
	OP_OFFER, OP_DROP, OP_RECALL, OP_ADDRS,
};

struct msg {
	struct msg *next;              /* in a retry list */
	struct cc_svc *s;
	enum op op;
	unsigned from, to;             /* worker indices */
	char sess[GW_UA_ID_LEN + 1];   /* the customer's session */
	char name[CC_ID_MAX + 1];      /* a flow (ENQUEUE) or an agent */
	char text[CC_URI_MAX + 1];     /* the customer's URI (ENQUEUE), a location (OFFER), a
					* reason (DROP) */
	struct addr_tab *tab;          /* OP_ADDRS */
	uint32_t seq;                  /* the offer it is about (OFFER, ANSWERED, REFUSED,
					* RECALL): a late word about an older offer is told apart;
					* ENQUEUE: 1 for a call, 0 for a chat */
};

/* ---- a worker's chats ------------------------------------------------------------------ */

struct held {
	struct held *next;
	char *ctype;
	char msgid[MSRP_TID_MAX + 1];
	int fr;                        /* enum msrp_report */
	uint64_t len;
	char data[];
};

struct fwd {                           /* a message passed on, for its failure REPORT */
	char out[MSRP_ID_MSGID_LEN + 1];
	char in[MSRP_TID_MAX + 1];
	uint64_t len;
	int fr;
};

struct chat;
struct side {
	struct chat *c;
	int agent;                     /* 0: the customer's session, 1: the agent's leg */
	struct fwd ring[FWD_RING];     /* what went out on this side */
	unsigned ring_next;
};

enum chat_state { CH_WAITING, CH_OFFERING, CH_BRIDGED };

struct chat {
	struct chat *next;
	struct cc_w *w;
	char cust[GW_UA_ID_LEN + 1];
	char leg[GW_UA_ID_LEN + 1];    /* "" none */
	char flow[CC_ID_MAX + 1];
	char customer[CC_URI_MAX + 1];
	char agent[CC_ID_MAX + 1];     /* whose leg it is */
	uint32_t leg_seq;              /* the offer its leg is for */
	/* an offer that came while the recalled leg was still ending: made when it is over */
	char next_agent[CC_ID_MAX + 1], next_loc[CC_URI_MAX + 1];
	uint32_t next_seq;
	enum chat_state st;
	int call;                      /* a voice call (signalling only): no messages; the
					* agent's answer is the customer's */
	int answered;                  /* a call: the customer got its 200 (from then on its
					* agent's leg ending ends it) */
	eng_timer prov_t;              /* a call: 182 Queued again every minute while it waits
					* (RFC 3261 §13.3.1.1) */
	int cust_up, cust_over, told; /* told: home heard its end (ENDED, ABANDON) or dropped it */
	int creating, leg_failed_early, recalled;
	int busy;                      /* callbacks into it on the stack: not freed meanwhile
					* (ending one session may end the other at once) */
	struct side cs, as;
	struct held *held, **held_tail;
	unsigned nheld;
	uint64_t held_bytes;
	eng_timer offer_t;
};

struct cc_w {
	struct cc_svc *s;
	eng_worker *w;
	struct gw_ua *ua;
	unsigned idx;
	struct addr_tab *addrs;
	struct chat *chats[CHAT_BUCKETS];
	struct msg *retry, **retry_tail;
	unsigned nretry;
	eng_timer retry_t;
	uint64_t held_bytes;           /* of all its chats */
	int stopping;                  /* the worker stops: nothing is posted any more */
};

/* ---- home ------------------------------------------------------------------------------- */

struct ref {                            /* an item of the centre and the session behind it */
	struct ref *inext, *snext, *gnext;
	uint64_t item;
	unsigned worker;
	uint32_t offer_seq;             /* its last offer's */
	char sess[GW_UA_ID_LEN + 1];
	int gone;                       /* on the gone list: freed at the end of the flush */
};

struct action {
	enum op op;                     /* OP_OFFER, OP_DROP, OP_RECALL; or event when ev */
	uint64_t item;
	char agent[CC_ID_MAX + 1];
	char text[CC_URI_MAX + 1];
	json_t *ev;
};

struct home {
	struct cc_center *c;
	eng_timer tick_t;
	struct ref *by_item[REF_BUCKETS], *by_sess[REF_BUCKETS];
	struct action *out;
	size_t nout, capout;
	struct addr_tab *tab;           /* the latest addresses (home's reference) */
	struct ref *gone;               /* refs whose item left: freed after the flush (its
					 * events still name the session) */
	eng_timer snap_t;               /* the metrics' snapshot, made again when due */
	uint64_t snap_at;               /* when it was made last */
};

struct cc_svc {
	eng_engine *e;
	unsigned nworkers;
	int (*publish)(json_t *ev);
	uint64_t offer_ms;
	uint64_t max_waiting, max_held;
	_Atomic(struct cc_w *) *workers;
	struct home home;               /* worker CC_SVC_WORKER's */
	/* what /metrics reads per flow and agent: made by home (control plane, not the
	 * messages' path), copied under the lock by the api thread */
	pthread_mutex_t snap_lock;
	struct cc_svc_snap *snap;
	/* cc.definitions, made by home at its start */
	struct cc_flow_cfg *def_flows;
	struct cc_agent_cfg *def_agents;
	size_t ndef_flows, ndef_agents;
	/* counters */
	atomic_uint_fast64_t refused_max_waiting; /* of refused_full: cc.max_waiting reached */
	atomic_uint_fast64_t waiting, claimed, refused_full, held, held_overflow, forwarded,
		fwd_failed, legs_timed_out, retries;
	atomic_uint_fast64_t c_queued, c_dispatched, c_answered, c_refused, c_abandoned,
		c_timed_out, c_ended, a_free, a_busy, a_offline;
};

#define INC(x) atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)

static struct cc_w *worker_at(struct cc_svc *s, unsigned i)
{
	return i < s->nworkers ? atomic_load_explicit(&s->workers[i], memory_order_acquire) : NULL;
}

static void on_msg(eng_worker *w, void *arg, uint64_t u64);

/* Sends <m> to its worker; while that mailbox is full it waits in <from>'s retry list, in
 * order (what follows it waits too, so that a worker hears of a chat in order). */
static void post(struct cc_w *from, struct msg *m)
{
	m->next = NULL;
	if (from->stopping) {
		if (m->op == OP_ADDRS)
			tab_unref(m->tab);
		free(m);
		return;
	}
	if (!from->retry &&
	    eng_post(eng_worker_at(from->s->e, m->to), on_msg, m, 0) == 0)
		return;
	INC(from->s->retries);
	*from->retry_tail = m;
	from->retry_tail = &m->next;
	from->nretry++;
	if (!eng_timer_armed(&from->retry_t))
		eng_timer_arm(from->w, &from->retry_t, RETRY_MS);
}

static void retry_fire(eng_timer *t)
{
	struct cc_w *cw = t->arg;
	while (cw->retry) {
		struct msg *m = cw->retry;
		if (eng_post(eng_worker_at(cw->s->e, m->to), on_msg, m, 0) < 0) {
			eng_timer_arm(cw->w, &cw->retry_t, RETRY_MS);
			return;
		}
		if (!(cw->retry = m->next))
			cw->retry_tail = &cw->retry;
		cw->nretry--;
	}
}

static struct msg *msg_new(struct cc_w *from, enum op op, unsigned to, const char *sess,
			   const char *name, const char *text)
{
	struct msg *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->s = from->s;
	m->op = op;
	m->from = from->idx;
	m->to = to;
	if (sess)
		snprintf(m->sess, sizeof(m->sess), "%s", sess);
	if (name)
		snprintf(m->name, sizeof(m->name), "%s", name);
	if (text)
		snprintf(m->text, sizeof(m->text), "%s", text);
	return m;
}

/* A message from a worker to home (dropped and logged when out of memory). */
static void tell_home(struct cc_w *cw, enum op op, const char *sess, const char *name,
		      const char *text, uint32_t seq)
{
	struct msg *m = msg_new(cw, op, CC_SVC_WORKER, sess, name, text);
	if (m)
		m->seq = seq;
	if (!m) {
		CM_ERR("cc: out of memory: home not told of chat %s", sess);
		return;
	}
	post(cw, m);
}

/* ---- chats: finding, freeing ------------------------------------------------------------ */

static unsigned bucket(const char *id, unsigned n)
{
	return (unsigned)(cm_fnv1a64(id, strlen(id)) % n);
}

static struct chat *chat_find(struct cc_w *cw, const char *cust)
{
	for (struct chat *c = cw->chats[bucket(cust, CHAT_BUCKETS)]; c; c = c->next)
		if (!strcmp(c->cust, cust))
			return c;
	return NULL;
}

static void held_free_all(struct chat *c)
{
	while (c->held) {
		struct held *h = c->held;
		c->held = h->next;
		free(h->ctype);
		free(h);
	}
	c->held_tail = &c->held;
	c->nheld = 0;
	c->w->held_bytes -= c->held_bytes;
	c->held_bytes = 0;
}

/* Frees <c> once both its sessions are over. */
static void chat_maybe_free(struct chat *c)
{
	if (!c->cust_over || c->leg[0] || c->creating || c->busy)
		return;
	struct cc_w *cw = c->w;
	struct chat **pp = &cw->chats[bucket(c->cust, CHAT_BUCKETS)];
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	eng_timer_cancel(&c->offer_t);
	eng_timer_cancel(&c->prov_t);
	held_free_all(c);
	free(c);
}

static int fr_of(int r)
{
	return r == MSRP_REPORT_YES || r == MSRP_REPORT_PARTIAL ? 1 : r == MSRP_REPORT_NO ? 0 : -1;
}

/* Passes message (<ctype>, <data>, <len>, <msgid>, failure report <fr>) from side <from> of
 * <c> to the other side. */
static void pass_on(struct chat *c, struct side *from, const char *ctype, const char *data,
		    uint64_t len, const char *msgid, int fr)
{
	struct cc_w *cw = c->w;
	struct side *to = from->agent ? &c->cs : &c->as;
	const char *to_id = from->agent ? c->cust : c->leg;
	const char *from_id = from->agent ? c->leg : c->cust;
	struct gw_ua_msg m = { .content_type = ctype, .body = data, .len = (size_t)len,
			       .success_report = 0, .failure_report = fr_of(fr),
			       .failure_partial = fr == MSRP_REPORT_PARTIAL, .cpim = 0 };
	if (gw_ua_ident_ok(msgid))
		snprintf(m.message_id, sizeof(m.message_id), "%s", msgid);
	char err[160];
	int rc = to_id[0] ? gw_ua_send(cw->ua, to_id, &m, err, sizeof(err)) : 404;
	if (rc) {
		INC(cw->s->fwd_failed);
		CM_LOG_RL(CM_LOG_INFO, "cc %s: a message not passed on to the %s: %d", c->cust,
			  from->agent ? "customer" : "agent", rc);
		gw_ua_report_failure(cw->ua, from_id, msgid, len, fr,
				     rc == 413 ? 413 : rc == 415 ? 415 : 503);
		return;
	}
	INC(cw->s->forwarded);
	struct fwd *f = &to->ring[to->ring_next++ % FWD_RING];
	snprintf(f->out, sizeof(f->out), "%s", m.message_id);
	snprintf(f->in, sizeof(f->in), "%s", msgid);
	f->len = len;
	f->fr = fr;
}

static void flush_held(struct chat *c)
{
	while (c->held && c->st == CH_BRIDGED && c->leg[0]) {
		struct held *h = c->held;
		c->held = h->next;
		c->nheld--;
		c->held_bytes -= h->len;
		c->w->held_bytes -= h->len;
		pass_on(c, &c->cs, h->ctype, h->data, h->len, h->msgid, h->fr);
		free(h->ctype);
		free(h);
	}
	if (!c->held)
		c->held_tail = &c->held;
}

/* ---- the customer's session ------------------------------------------------------------ */

static void c_up_in(void *arg, const char *id)
{
	struct side *sd = arg;
	struct chat *c = sd->c;
	struct cc_w *cw = c->w;
	(void)id;
	c->cust_up = 1;
	if (c->call)
		return; /* (its ACK: the call is up end to end) */
	const struct addr_tab *t = cw->addrs;
	for (unsigned i = 0; t && i < t->n; i++)
		if (!strcmp(t->v[i].flow, c->flow) && t->v[i].text[0]) {
			struct gw_ua_msg m = { .content_type = "text/plain", .body = t->v[i].text,
					       .len = strlen(t->v[i].text), .success_report = 0,
					       .failure_report = 0, .cpim = 0 };
			char err[160];
			if (gw_ua_send(cw->ua, c->cust, &m, err, sizeof(err)))
				CM_LOG_RL(CM_LOG_INFO, "cc %s: queued text not sent: %s", c->cust,
					  err);
			break;
		}
}

static void c_over_in(void *arg, const char *id, int failed, int sip_code, const char *reason)
{
	struct side *sd = arg;
	struct chat *c = sd->c;
	struct cc_w *cw = c->w;
	(void)id;
	(void)failed;
	(void)sip_code;
	(void)reason;
	c->cust_over = 1;
	held_free_all(c);
	if (!c->told) {
		c->told = 1;
		tell_home(cw, c->st == CH_BRIDGED ? OP_ENDED : OP_ABANDON, c->cust, c->agent, NULL,
			  0);
	}
	if (c->leg[0]) {
		char err[160];
		if (gw_ua_end(cw->ua, c->leg, err, sizeof(err)) == 404)
			c->leg[0] = '\0';
	}
	chat_maybe_free(c);
}

static void c_message_in(void *arg, const char *id, const struct msrp_reasm_msg *m)
{
	struct side *sd = arg;
	struct chat *c = sd->c;
	struct cc_w *cw = c->w;
	(void)id;
	const char *ctype = m->content_type ? m->content_type : "text/plain";
	if (c->st == CH_BRIDGED && c->leg[0]) {
		pass_on(c, &c->cs, ctype, m->data, m->len, m->message_id, (int)m->failure_report);
		return;
	}
	struct held *h = NULL;
	if (c->nheld < cw->s->max_held && c->held_bytes + m->len <= HELD_CHAT_BYTES &&
	    cw->held_bytes + m->len <= HELD_WORKER_BYTES &&
	    (h = malloc(sizeof(*h) + (size_t)m->len)) &&
	    !(h->ctype = strdup(ctype))) {
		free(h);
		h = NULL;
	}
	if (!h) {
		INC(cw->s->held_overflow);
		gw_ua_report_failure(cw->ua, c->cust, m->message_id, m->len,
				     (int)m->failure_report, 413);
		return;
	}
	INC(cw->s->held);
	h->next = NULL;
	snprintf(h->msgid, sizeof(h->msgid), "%s", m->message_id);
	h->fr = (int)m->failure_report;
	h->len = m->len;
	if (m->len)
		memcpy(h->data, m->data, (size_t)m->len);
	*c->held_tail = h;
	c->held_tail = &h->next;
	c->nheld++;
	c->held_bytes += m->len;
	cw->held_bytes += m->len;
}

/* A failure REPORT for a message passed on through side <sd>: to its sender on the other. */
static void any_report_in(void *arg, const char *id, const char *message_id, int status,
		       const struct msrp_range *range)
{
	struct side *sd = arg;
	struct chat *c = sd->c;
	(void)id;
	(void)range;
	if (status == 200)
		return;
	for (unsigned i = 0; i < FWD_RING; i++) {
		const struct fwd *f = &sd->ring[i];
		if (f->out[0] && !strcmp(f->out, message_id)) {
			gw_ua_report_failure(c->w->ua, sd->agent ? c->cust : c->leg, f->in, f->len,
					     f->fr, status);
			return;
		}
	}
}

/* The owner's callbacks: the chat stays while they run (see busy), and goes after them
 * when both its sessions are over. */
#define GUARDED(name, params, args)                                                        \
	static void name params                                                            \
	{                                                                                  \
		struct chat *c = ((struct side *)arg)->c;                                  \
		c->busy++;                                                                 \
		name##_in args;                                                            \
		c->busy--;                                                                 \
		chat_maybe_free(c);                                                        \
	}
GUARDED(c_up, (void *arg, const char *id), (arg, id))
GUARDED(c_over, (void *arg, const char *id, int failed, int sip_code, const char *reason),
	(arg, id, failed, sip_code, reason))
GUARDED(c_message, (void *arg, const char *id, const struct msrp_reasm_msg *m), (arg, id, m))
GUARDED(any_report, (void *arg, const char *id, const char *message_id, int status,
		     const struct msrp_range *range), (arg, id, message_id, status, range))

static const struct gw_ua_owner cust_owner = {
	.name = NULL, .up = c_up, .over = c_over, .message = c_message, .report = any_report,
};

/* ---- the agent's leg -------------------------------------------------------------------- */

static void a_up_in(void *arg, const char *id)
{
	struct side *sd = arg;
	struct chat *c = sd->c;
	struct cc_w *cw = c->w;
	(void)id;
	eng_timer_cancel(&c->offer_t);
	if (c->cust_over || c->recalled || c->told) { /* the customer went, the agent logged
						       * out, or the chat was dropped or ended */
		char err[160];
		gw_ua_end(cw->ua, c->leg, err, sizeof(err));
		return;
	}
	if (c->call) { /* the agent's answer goes to the customer, as it came */
		const char *sdp = NULL;
		size_t len = 0;
		char err[160];
		if (gw_ua_peer_sdp(cw->ua, c->leg, &sdp, &len) < 0 ||
		    gw_ua_answer_sdp(cw->ua, c->cust, sdp, len, err, sizeof(err))) {
			gw_ua_end(cw->ua, c->leg, err, sizeof(err)); /* (the customer went) */
			return;
		}
		c->answered = 1;
		eng_timer_cancel(&c->prov_t);
	}
	c->st = CH_BRIDGED;
	tell_home(cw, OP_ANSWERED, c->cust, c->agent, NULL, c->leg_seq);
	flush_held(c);
}

static void make_leg(struct chat *c, const char *agent, const char *location, uint32_t seq);

static void a_over_in(void *arg, const char *id, int failed, int sip_code, const char *reason)
{
	struct side *sd = arg;
	struct chat *c = sd->c;
	struct cc_w *cw = c->w;
	(void)id;
	(void)failed;
	eng_timer_cancel(&c->offer_t);
	if (c->creating) { /* inside gw_ua_create_owned: handled when it returns */
		c->leg_failed_early = 1;
		return;
	}
	enum chat_state was = c->st;
	c->leg[0] = '\0';
	memset(c->as.ring, 0, sizeof(c->as.ring));
	if (c->cust_over) {
		chat_maybe_free(c);
		return;
	}
	c->st = CH_WAITING;
	if (c->recalled && c->call && c->answered)
		c->recalled = 0; /* a call its customer took: over with its agent's leg (below) */
	if (c->recalled) { /* home took it back (logout): wait for the next offer */
		c->recalled = 0;
		if (c->next_agent[0]) { /* it came already */
			char a[CC_ID_MAX + 1], l[CC_URI_MAX + 1];
			memcpy(a, c->next_agent, sizeof(a));
			memcpy(l, c->next_loc, sizeof(l));
			c->next_agent[0] = '\0';
			make_leg(c, a, l, c->next_seq);
		}
		return;
	}
	if (was == CH_OFFERING) {
		CM_LOG_RL(CM_LOG_INFO, "cc %s: agent %s did not take the chat (%d %s)", c->cust,
			  c->agent, sip_code, reason ? reason : "");
		tell_home(cw, OP_REFUSED, c->cust, c->agent, NULL, c->leg_seq);
		return;
	}
	/* the agent ended the chat: the customer's session ends too */
	if (!c->told) {
		c->told = 1;
		tell_home(cw, OP_ENDED, c->cust, c->agent, NULL, 0);
	}
	char err[160];
	gw_ua_end(cw->ua, c->cust, err, sizeof(err));
}

static void a_message_in(void *arg, const char *id, const struct msrp_reasm_msg *m)
{
	struct side *sd = arg;
	struct chat *c = sd->c;
	(void)id;
	if (c->st != CH_BRIDGED || c->cust_over)
		return;
	pass_on(c, &c->as, m->content_type ? m->content_type : "text/plain", m->data, m->len,
		m->message_id, (int)m->failure_report);
}

GUARDED(a_up, (void *arg, const char *id), (arg, id))
GUARDED(a_over, (void *arg, const char *id, int failed, int sip_code, const char *reason),
	(arg, id, failed, sip_code, reason))
GUARDED(a_message, (void *arg, const char *id, const struct msrp_reasm_msg *m), (arg, id, m))

static const struct gw_ua_owner agent_owner = {
	.name = NULL, .up = a_up, .over = a_over, .message = a_message, .report = any_report,
};

/* A waiting call's 182 Queued again (a proxy's timer C, our transaction's cap). */
static void prov_fire(eng_timer *t)
{
	struct chat *c = t->arg;
	if (c->answered || c->cust_over || c->told)
		return;
	c->busy++;
	if (gw_ua_provisional(c->w->ua, c->cust, 182, "Queued", NULL) == 0)
		eng_timer_arm(c->w->w, &c->prov_t, 60000);
	c->busy--;
	chat_maybe_free(c);
}

static void offer_fire(eng_timer *t)
{
	struct chat *c = t->arg;
	if (c->st != CH_OFFERING || !c->leg[0])
		return;
	INC(c->w->s->legs_timed_out);
	char err[160];
	c->busy++;
	gw_ua_end(c->w->ua, c->leg, err, sizeof(err)); /* its over says REFUSED */
	c->busy--;
	chat_maybe_free(c);
}

/* Home offers chat <c> to <agent> at <location> (its offer <seq>): its leg is made. */
static void make_leg(struct chat *c, const char *agent, const char *location, uint32_t seq)
{
	struct cc_w *cw = c->w;
	char err[160];
	if (c->told)
		return; /* dropped or ended: home has let it go */
	if (c->call && c->answered) { /* (its customer is in a call already) */
		tell_home(cw, OP_REFUSED, c->cust, agent, NULL, seq);
		return;
	}
	if (c->leg[0] && c->recalled && !c->next_agent[0]) { /* the last one still ending */
		snprintf(c->next_agent, sizeof(c->next_agent), "%s", agent);
		snprintf(c->next_loc, sizeof(c->next_loc), "%s", location);
		c->next_seq = seq;
		return;
	}
	if (c->leg[0] || c->cust_over) { /* (a leg still going: home is told no) */
		tell_home(cw, OP_REFUSED, c->cust, agent, NULL, seq);
		return;
	}
	snprintf(c->agent, sizeof(c->agent), "%s", agent);
	c->leg_seq = seq;
	struct gw_ua_new n = { .from = c->customer, .to = location };
	if (c->call && gw_ua_peer_sdp(cw->ua, c->cust, &n.call_sdp, &n.call_sdp_len) < 0) {
		tell_home(cw, OP_REFUSED, c->cust, agent, NULL, seq);
		return;
	}
	if (gw_ua_mint(cw->idx, n.id) < 0) {
		tell_home(cw, OP_REFUSED, c->cust, agent, NULL, seq);
		return;
	}
	memcpy(c->leg, n.id, sizeof(c->leg));
	c->st = CH_OFFERING;
	c->recalled = 0;
	c->creating = 1;
	c->leg_failed_early = 0;
	int rc = gw_ua_create_owned(cw->ua, &n, &agent_owner, &c->as, err, sizeof(err));
	c->creating = 0;
	if (rc || c->leg_failed_early) {
		CM_LOG_RL(CM_LOG_INFO, "cc %s: no leg to agent %s at %s: %s", c->cust, agent,
			  location, rc ? err : "failed at once");
		c->leg[0] = '\0';
		c->st = CH_WAITING;
		tell_home(cw, OP_REFUSED, c->cust, agent, NULL, seq);
		return;
	}
	eng_timer_arm(cw->w, &c->offer_t, cw->s->offer_ms);
}

/* ---- claiming a customer's session ------------------------------------------------------ */

/* The flow whose address <to> is, in worker <cw>'s copy, or NULL. */
static const struct addr *flow_of(const struct cc_w *cw, const char *to)
{
	char user[CC_URI_MAX + 1], host[CC_URI_MAX + 1];
	if (!cw || !cw->addrs || !cw->addrs->n || uri_key(to, user, host) < 0)
		return NULL;
	for (unsigned i = 0; i < cw->addrs->n; i++)
		if (!strcmp(cw->addrs->v[i].user, user) && !strcmp(cw->addrs->v[i].host, host))
			return &cw->addrs->v[i];
	return NULL;
}

/* An INVITE without MSRP: a call when it is to a flow's address. */
static int call_hook(void *arg, struct gw_ua *ua, const char *from, const char *to)
{
	(void)from;
	return flow_of(worker_at(arg, gw_ua_index(ua)), to) != NULL;
}

static int claim(void *arg, struct gw_ua *ua, const char *id, const char *from, const char *to,
		 const struct gw_ua_owner **own, void **owner_arg)
{
	struct cc_svc *s = arg;
	struct cc_w *cw = worker_at(s, gw_ua_index(ua));
	char err[160];
	const struct addr *a = flow_of(cw, to);
	if (!a)
		return 0;
	struct chat *c = cw->nretry < RETRY_MAX ? calloc(1, sizeof(*c)) : NULL;
	if (!c || atomic_load_explicit(&s->waiting, memory_order_relaxed) >= s->max_waiting) {
		static const struct gw_ua_owner refused = { .name = NULL }; /* no word of it */
		CM_LOG_RL(CM_LOG_INFO, "cc: chat from %s to flow %s refused: %s", from, a->flow,
			  c ? "cc.max_waiting reached" : cw->nretry >= RETRY_MAX
			  ? "the centre's mailboxes are backed up" : "out of memory");
		if (c)
			INC(s->refused_max_waiting);
		free(c);
		INC(s->refused_full);
		*own = &refused;
		*owner_arg = NULL;
		gw_ua_reject(ua, id, 486, err, sizeof(err));
		return 1;
	}
	c->w = cw;
	snprintf(c->cust, sizeof(c->cust), "%s", id);
	snprintf(c->flow, sizeof(c->flow), "%s", a->flow);
	snprintf(c->customer, sizeof(c->customer), "%s", from);
	c->call = gw_ua_is_call(ua, id);
	c->cs.c = c->as.c = c;
	c->as.agent = 1;
	c->held_tail = &c->held;
	eng_timer_init(&c->offer_t, offer_fire, c);
	eng_timer_init(&c->prov_t, prov_fire, c);
	unsigned b = bucket(c->cust, CHAT_BUCKETS);
	c->next = cw->chats[b];
	cw->chats[b] = c;
	INC(s->claimed);
	atomic_fetch_add_explicit(&s->waiting, 1, memory_order_relaxed); /* home sets it again */
	*own = &cust_owner;
	*owner_arg = &c->cs;
	tell_home(cw, OP_ENQUEUE, c->cust, c->flow, c->customer, (uint32_t)c->call);
	if (c->call) { /* the caller waits: 182 Queued (RFC 3261 §21.1.4), the flow's
			* announcement first in a 180's Alert-Info (§20.4) when it has one; its
			* agent answers. (A failed send ends the call: c_over frees <c>.) */
		if (a->announce[0] && gw_ua_provisional(ua, id, 180, NULL, a->announce) < 0)
			return 1;
		if (gw_ua_provisional(ua, id, 182, "Queued", NULL) == 0)
			eng_timer_arm(cw->w, &c->prov_t, 60000);
		return 1;
	}
	/* answered now; a refusal (no type in common) ends it through c_over */
	gw_ua_answer(ua, id, NULL, 0, err, sizeof(err));
	return 1;
}

/* ---- home: the centre's requests, carried out after each operation ------------------------ */

static struct action *act_new(struct home *h)
{
	if (h->nout == h->capout) {
		size_t n = h->capout ? h->capout * 2 : 16;
		struct action *a = realloc(h->out, n * sizeof(*a));
		if (!a)
			return NULL;
		h->out = a;
		h->capout = n;
	}
	struct action *a = &h->out[h->nout++];
	memset(a, 0, sizeof(*a));
	return a;
}

/* What the centre asked, done after its call returns (flush). */
static void act_add(struct cc_svc *s, enum op op, uint64_t id, const char *agent,
		    const char *text)
{
	struct action *a = act_new(&s->home);
	if (!a) {
		CM_ERR("cc: out of memory: what item %llu needs is not done",
		       (unsigned long long)id);
		return;
	}
	a->op = op;
	a->item = id;
	snprintf(a->agent, sizeof(a->agent), "%s", agent ? agent : "");
	snprintf(a->text, sizeof(a->text), "%s", text ? text : "");
}

static void o_offer(void *arg, uint64_t id, enum cc_kind kind, const char *customer,
		    const char *agent, const char *location)
{
	(void)kind;
	(void)customer;
	act_add(arg, OP_OFFER, id, agent, location);
}

static void o_dropped(void *arg, uint64_t id, const char *reason)
{
	act_add(arg, OP_DROP, id, NULL, reason);
}

static void o_recalled(void *arg, uint64_t id, const char *agent)
{
	act_add(arg, OP_RECALL, id, agent, NULL);
}

static void o_event(void *arg, json_t *ev)
{
	struct cc_svc *s = arg;
	struct action *a = act_new(&s->home);
	if (!a) {
		json_decref(ev);
		return;
	}
	a->ev = ev;
	json_t *it = json_object_get(ev, "item");
	a->item = json_is_integer(it) ? (uint64_t)json_integer_value(it) : 0;
}

static struct ref *ref_by_item(struct home *h, uint64_t item)
{
	for (struct ref *r = h->by_item[item % REF_BUCKETS]; r; r = r->inext)
		if (r->item == item)
			return r;
	return NULL;
}

static struct ref *ref_by_sess(struct home *h, const char *sess)
{
	for (struct ref *r = h->by_sess[bucket(sess, REF_BUCKETS)]; r; r = r->snext)
		if (!strcmp(r->sess, sess))
			return r;
	return NULL;
}

static void ref_free(struct home *h, struct ref *r)
{
	struct ref **pp = &h->by_item[r->item % REF_BUCKETS];
	while (*pp != r)
		pp = &(*pp)->inext;
	*pp = r->inext;
	pp = &h->by_sess[bucket(r->sess, REF_BUCKETS)];
	while (*pp != r)
		pp = &(*pp)->snext;
	*pp = r->snext;
	free(r);
}

/* <r>'s item left the centre: no more offers; freed once the flush is done. */
static void ref_gone(struct home *h, struct ref *r)
{
	if (r->gone)
		return;
	r->gone = 1;
	r->gnext = h->gone;
	h->gone = r;
}

static void publish_stats(struct cc_svc *s)
{
	struct cc_stats st;
	cc_stats(s->home.c, &st);
	atomic_store_explicit(&s->waiting, st.waiting, memory_order_relaxed);
	atomic_store_explicit(&s->c_queued, st.queued, memory_order_relaxed);
	atomic_store_explicit(&s->c_dispatched, st.dispatched, memory_order_relaxed);
	atomic_store_explicit(&s->c_answered, st.answered, memory_order_relaxed);
	atomic_store_explicit(&s->c_refused, st.refused, memory_order_relaxed);
	atomic_store_explicit(&s->c_abandoned, st.abandoned, memory_order_relaxed);
	atomic_store_explicit(&s->c_timed_out, st.timed_out, memory_order_relaxed);
	atomic_store_explicit(&s->c_ended, st.ended, memory_order_relaxed);
	atomic_store_explicit(&s->a_free, st.agents_free, memory_order_relaxed);
	atomic_store_explicit(&s->a_busy, st.agents_busy, memory_order_relaxed);
	atomic_store_explicit(&s->a_offline, st.agents_offline, memory_order_relaxed);
}

static struct cc_svc_snap *snap_make(struct cc_center *c, uint64_t now)
{
	struct cc_svc_snap *sn = calloc(1, sizeof(*sn));
	json_t *fl = cc_flows_json(c, now), *ag = cc_agents_json(c, now), *o;
	size_t i;
	if (!sn || !fl || !ag ||
	    !(sn->flows = calloc(json_array_size(fl) + 1, sizeof(*sn->flows))) ||
	    !(sn->agents = calloc(json_array_size(ag) + 1, sizeof(*sn->agents)))) {
		json_decref(fl);
		json_decref(ag);
		cc_svc_snap_free(sn);
		return NULL;
	}
#define U(o, k) ((uint64_t)json_integer_value(json_object_get(o, k)))
	json_array_foreach(fl, i, o) {
		struct cc_svc_flow_snap *f = &sn->flows[sn->nflows++];
		snprintf(f->id, sizeof(f->id), "%s", json_string_value(json_object_get(o, "id")));
		f->waiting = U(o, "waiting");
		f->chats_answered = U(o, "chats_answered");
		f->calls_answered = U(o, "calls_answered");
		f->abandoned = U(o, "abandoned");
		f->timed_out = U(o, "timed_out");
		f->wait_ms_avg = U(o, "wait_ms_avg");
		f->waiting_chats = U(o, "waiting_chats");
		f->waiting_calls = U(o, "waiting_calls");
	}
	json_array_foreach(ag, i, o) {
		struct cc_svc_agent_snap *a = &sn->agents[sn->nagents++];
		snprintf(a->id, sizeof(a->id), "%s", json_string_value(json_object_get(o, "id")));
		snprintf(a->state, sizeof(a->state), "%s",
			 json_string_value(json_object_get(o, "state")));
		a->chats = U(o, "chats");
		a->chats_answered = U(o, "chats_answered");
		a->calls_answered = U(o, "calls_answered");
		a->refused = U(o, "refused");
	}
#undef U
	json_decref(fl);
	json_decref(ag);
	return sn;
}

static void snap_publish(struct cc_svc *s, uint64_t now)
{
	struct cc_svc_snap *sn = snap_make(s->home.c, now), *old;
	if (!sn)
		return; /* (the last one stays) */
	s->home.snap_at = now;
	pthread_mutex_lock(&s->snap_lock);
	old = s->snap;
	s->snap = sn;
	pthread_mutex_unlock(&s->snap_lock);
	cc_svc_snap_free(old);
}

static void snap_fire(eng_timer *t)
{
	struct cc_svc *s = t->arg;
	snap_publish(s, eng_now_ms(worker_at(s, CC_SVC_WORKER)->w));
}

/* Something changed: the snapshot is made again now, or when CC_SVC_SNAP_MS has passed
 * since the last one. */
static void snap_due(struct cc_svc *s, eng_worker *w, uint64_t now)
{
	if (now >= s->home.snap_at + CC_SVC_SNAP_MS)
		snap_publish(s, now);
	else if (!eng_timer_armed(&s->home.snap_t))
		eng_timer_arm(w, &s->home.snap_t, s->home.snap_at + CC_SVC_SNAP_MS - now);
}

struct cc_svc_snap *cc_svc_snap(struct cc_svc *s)
{
	struct cc_svc_snap *cp = calloc(1, sizeof(*cp));
	if (!cp)
		return NULL;
	pthread_mutex_lock(&s->snap_lock);
	const struct cc_svc_snap *sn = s->snap;
	if (sn && (cp->flows = malloc((sn->nflows + 1) * sizeof(*cp->flows))) &&
	    (cp->agents = malloc((sn->nagents + 1) * sizeof(*cp->agents)))) {
		cp->nflows = sn->nflows;
		cp->nagents = sn->nagents;
		memcpy(cp->flows, sn->flows, sn->nflows * sizeof(*cp->flows));
		memcpy(cp->agents, sn->agents, sn->nagents * sizeof(*cp->agents));
		sn = NULL;
	}
	pthread_mutex_unlock(&s->snap_lock);
	if (!cp->flows || !cp->agents) {
		cc_svc_snap_free(cp);
		return NULL;
	}
	return cp;
}

void cc_svc_snap_free(struct cc_svc_snap *sn)
{
	if (!sn)
		return;
	free(sn->flows);
	free(sn->agents);
	free(sn);
}

/* Each item of <items> (an agent's view) gets its customer's "session". */
static void sessions_of(struct home *h, json_t *items)
{
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o) {
		struct ref *r = ref_by_item(h, (uint64_t)json_integer_value(json_object_get(o, "item")));
		if (r)
			json_object_set_new(o, "session", json_string(r->sess));
	}
}

static void tick_fire(eng_timer *t);

/* After each operation on the centre: what it asked is done (offers, drops and recalls go
 * to the customers' workers, events out with the customer's session), the clock re-armed. */
static void flush(struct cc_svc *s)
{
	struct home *h = &s->home;
	struct cc_w *cw = worker_at(s, CC_SVC_WORKER);
	for (size_t i = 0; i < h->nout; i++) {
		struct action *a = &h->out[i];
		struct ref *r = a->item ? ref_by_item(h, a->item) : NULL;
		if (a->ev) {
			if (r)
				json_object_set_new(a->ev, "session", json_string(r->sess));
			sessions_of(h, json_object_get(a->ev, "items")); /* cc.agent's */
			if (s->publish)
				s->publish(a->ev);
			else
				json_decref(a->ev);
			continue;
		}
		if (!r || r->gone)
			continue;
		struct msg *m = msg_new(cw, a->op, r->worker, r->sess, a->agent, a->text);
		if (m) {
			if (a->op == OP_OFFER)
				r->offer_seq++;
			m->seq = r->offer_seq; /* (a recall: of the last offer) */
			post(cw, m);
		}
		else
			CM_ERR("cc: out of memory: chat %s not told", r->sess);
		if (a->op == OP_DROP)
			ref_gone(h, r);
	}
	h->nout = 0;
	while (h->gone) {
		struct ref *r = h->gone;
		h->gone = r->gnext;
		ref_free(h, r);
	}
	uint64_t now = eng_now_ms(cw->w);
	uint64_t next = cc_tick(h->c, now);
	if (h->nout) /* (the tick itself may have asked for something) */
		return flush(s);
	eng_timer_cancel(&h->tick_t);
	if (next != UINT64_MAX)
		eng_timer_arm(cw->w, &h->tick_t, next ? next : 1);
	publish_stats(s);
	snap_due(s, cw->w, now);
}

static void tick_fire(eng_timer *t)
{
	flush(t->arg);
}

/* Home takes a worker's word about a chat. */
static void home_take(struct cc_svc *s, struct msg *m)
{
	struct home *h = &s->home;
	uint64_t now = eng_now_ms(worker_at(s, CC_SVC_WORKER)->w);
	struct ref *r = m->op == OP_ENQUEUE ? NULL : ref_by_sess(h, m->sess);
	switch (m->op) {
	case OP_ENQUEUE: {
		int64_t id = cc_enqueue(h->c, m->name, m->seq ? CC_CALL : CC_CHAT, m->text, now);
		if (id < 0) {
			struct msg *d = msg_new(worker_at(s, CC_SVC_WORKER), OP_DROP, m->from,
						m->sess, NULL,
						id == -ENOENT ? "no_such_flow" : "no_memory");
			if (d)
				post(worker_at(s, CC_SVC_WORKER), d);
			break;
		}
		struct ref *n = calloc(1, sizeof(*n));
		if (!n) { /* (it can wait, but nobody could offer it: abandoned) */
			cc_abandon(h->c, (uint64_t)id, now);
			break;
		}
		n->item = (uint64_t)id;
		n->worker = m->from;
		snprintf(n->sess, sizeof(n->sess), "%s", m->sess);
		n->inext = h->by_item[n->item % REF_BUCKETS];
		h->by_item[n->item % REF_BUCKETS] = n;
		unsigned b = bucket(n->sess, REF_BUCKETS);
		n->snext = h->by_sess[b];
		h->by_sess[b] = n;
		break;
	}
	case OP_ANSWERED:
		if (r && (m->seq != r->offer_seq || cc_answered(h->c, r->item, m->name, now) < 0)) {
			/* an older offer's, or withdrawn meanwhile (a logout): that leg is ended,
			 * the chat waits for its current offer */
			struct msg *d = msg_new(worker_at(s, CC_SVC_WORKER), OP_RECALL, r->worker,
						r->sess, m->name, NULL);
			if (d) {
				d->seq = m->seq;
				post(worker_at(s, CC_SVC_WORKER), d);
			}
		}
		break;
	case OP_REFUSED:
		if (r && m->seq == r->offer_seq) /* (an older offer's: nothing now) */
			cc_refused(h->c, r->item, m->name, now);
		break;
	case OP_ENDED:
	case OP_ABANDON:
		/* the customer's side is over: ended when an agent has it now, else abandoned
		 * (the worker's view may be behind home's: a recall, an answer refused) */
		if (r && !r->gone) {
			cc_abandon(h->c, r->item, now);
			ref_gone(h, r);
		}
		break;
	default:
		break;
	}
	flush(s);
}

/* A worker takes home's word about one of its chats. */
static void worker_take(struct cc_w *cw, struct msg *m)
{
	if (m->op == OP_ADDRS) {
		tab_unref(cw->addrs);
		cw->addrs = m->tab;
		return;
	}
	struct chat *c = chat_find(cw, m->sess);
	if (!c || c->cust_over)
		return; /* gone: home heard of it, or will */
	char err[160];
	c->busy++;
	switch (m->op) {
	case OP_OFFER:
		make_leg(c, m->name, m->text, m->seq);
		break;
	case OP_DROP:
		c->told = 1;
		c->next_agent[0] = '\0';
		CM_LOG_RL(CM_LOG_INFO, "cc %s: chat dropped (%s)", c->cust, m->text);
		if (c->leg[0])
			gw_ua_end(cw->ua, c->leg, err, sizeof(err));
		if (c->call && !c->answered) /* a caller still waiting: 480 (not 603) */
			gw_ua_reject(cw->ua, c->cust, 480, err, sizeof(err));
		else
			gw_ua_end(cw->ua, c->cust, err, sizeof(err));
		break;
	case OP_RECALL:
		if (c->next_agent[0] && c->next_seq == m->seq) /* not made yet: never will be */
			c->next_agent[0] = '\0';
		else if (c->leg[0] && c->leg_seq == m->seq) {
			c->recalled = 1;
			eng_timer_cancel(&c->offer_t);
			gw_ua_end(cw->ua, c->leg, err, sizeof(err));
		}
		break;
	default:
		break;
	}
	c->busy--;
	chat_maybe_free(c);
}

static void on_msg(eng_worker *w, void *arg, uint64_t u64)
{
	struct msg *m = arg;
	(void)u64;
	struct cc_w *cw = worker_at(m->s, eng_worker_index(w));
	if (cw) {
		if (m->op <= OP_ABANDON)
			home_take(m->s, m);
		else
			worker_take(cw, m);
	} else if (m->op == OP_ADDRS) {
		tab_unref(m->tab);
	}
	free(m);
}

/* ---- home: the flows' addresses to every worker ----------------------------------------- */

static void addrs_publish(struct cc_svc *s)
{
	struct home *h = &s->home;
	json_t *flows = cc_flows_json(h->c, 0);
	size_t n = json_array_size(flows);
	struct addr_tab *t = calloc(1, sizeof(*t) + n * sizeof(struct addr));
	if (!t) {
		json_decref(flows);
		CM_ERR("cc: out of memory: the flows' addresses are not published");
		return;
	}
	size_t i;
	json_t *f;
	json_array_foreach(flows, i, f) {
		struct addr *a = &t->v[t->n];
		const char *uri = json_string_value(json_object_get(f, "uri"));
		if (!uri || !*uri || uri_key(uri, a->user, a->host) < 0)
			continue;
		snprintf(a->flow, sizeof(a->flow), "%s",
			 json_string_value(json_object_get(f, "id")));
		snprintf(a->text, sizeof(a->text), "%s",
			 json_string_value(json_object_get(f, "queued_text")));
		snprintf(a->announce, sizeof(a->announce), "%s",
			 json_string_value(json_object_get(f, "announce_uri")));
		t->n++;
	}
	json_decref(flows);
	atomic_init(&t->refs, 1);
	tab_unref(h->tab);
	h->tab = t;
	struct cc_w *home = worker_at(s, CC_SVC_WORKER);
	for (unsigned wi = 0; wi < s->nworkers; wi++) {
		struct msg *m = msg_new(home, OP_ADDRS, wi, NULL, NULL, NULL);
		if (!m) {
			CM_ERR("cc: out of memory: worker %u keeps the old flows' addresses", wi);
			continue;
		}
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
		m->tab = t;
		post(home, m);
	}
}

/* ---- the API's operations (home's thread) ----------------------------------------------- */

static int fail(char *msg, size_t len, int code, const char *text)
{
	snprintf(msg, len, "%s", text);
	return code;
}

static uint64_t home_now(struct cc_svc *s)
{
	return eng_now_ms(worker_at(s, CC_SVC_WORKER)->w);
}

int cc_svc_flow_set(struct cc_svc *s, const struct cc_flow_cfg *f, int *created, char *msg,
		    size_t len)
{
	char user[CC_URI_MAX + 1], host[CC_URI_MAX + 1];
	if (f->uri[0] && uri_key(f->uri, user, host) < 0)
		return fail(msg, len, 400, "field 'uri' is not a SIP URI with a host");
	const struct addr_tab *t = s->home.tab; /* (home's: every flow with a uri) */
	for (unsigned i = 0; f->uri[0] && t && i < t->n; i++)
		if (strcmp(t->v[i].flow, f->id) && !strcmp(t->v[i].user, user) &&
		    !strcmp(t->v[i].host, host)) {
			snprintf(msg, len, "flow '%s' has that uri already", t->v[i].flow);
			return 409;
		}
	*created = !cc_flow_exists(s->home.c, f->id);
	int rc = cc_flow_set(s->home.c, f, home_now(s));
	if (rc == -EINVAL)
		return fail(msg, len, 400, "bad flow: id and skill are 1 to 63 printable "
				"characters without '/'");
	if (rc == -ENOSPC)
		return fail(msg, len, 409, "too many flows (1000)");
	if (rc < 0)
		return fail(msg, len, 503, "out of memory");
	addrs_publish(s);
	flush(s);
	return 0;
}

int cc_svc_flow_del(struct cc_svc *s, const char *id, char *msg, size_t len)
{
	if (cc_flow_del(s->home.c, id, home_now(s)) < 0)
		return fail(msg, len, 404, "no such flow");
	addrs_publish(s);
	flush(s);
	return 0;
}

int cc_svc_agent_set(struct cc_svc *s, const struct cc_agent_cfg *a, int *created, char *msg,
		     size_t len)
{
	*created = !cc_agent_exists(s->home.c, a->id);
	int rc = cc_agent_set(s->home.c, a, home_now(s));
	if (rc == -EINVAL)
		return fail(msg, len, 400, "bad agent: id and skills are 1 to 63 printable "
				"characters without '/', max_chats at most 64");
	if (rc == -ENOSPC)
		return fail(msg, len, 409, "too many agents (10000)");
	if (rc < 0)
		return fail(msg, len, 503, "out of memory");
	flush(s);
	return 0;
}

int cc_svc_agent_del(struct cc_svc *s, const char *id, char *msg, size_t len)
{
	int rc = cc_agent_del(s->home.c, id, home_now(s));
	if (rc == -ENOENT)
		return fail(msg, len, 404, "no such agent");
	if (rc < 0)
		return fail(msg, len, 409, "the agent is logged in or still has work (a call, a "
				"chat, a wrap-up): log it out and let it end first");
	flush(s);
	return 0;
}

int cc_svc_agent_login(struct cc_svc *s, const char *id, int in, char *msg, size_t len)
{
	int rc = in ? cc_agent_login(s->home.c, id, home_now(s))
		    : cc_agent_logout(s->home.c, id, home_now(s));
	if (rc < 0)
		return fail(msg, len, 404, "no such agent");
	flush(s);
	return 0;
}

int cc_svc_dispatch(struct cc_svc *s, uint64_t item, const char *agent, char *msg, size_t len)
{
	int rc = cc_dispatch_to(s->home.c, item, agent, home_now(s));
	flush(s);
	if (rc == -ENOENT)
		return fail(msg, len, 404, "no such item or agent");
	if (rc == -EBUSY)
		return fail(msg, len, 409, "the agent cannot take it now (state, free chat slots, "
				"skill or location)");
	if (rc < 0)
		return fail(msg, len, 409, "the item is not waiting");
	return 0;
}

static json_t *pick(json_t *arr, const char *id)
{
	if (!id || !arr)
		return arr;
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "id")), id)) {
			json_incref(o);
			json_decref(arr);
			return o;
		}
	json_decref(arr);
	return NULL;
}

json_t *cc_svc_flows(struct cc_svc *s, const char *id)
{
	return pick(cc_flows_json(s->home.c, home_now(s)), id);
}

json_t *cc_svc_agents(struct cc_svc *s, const char *id)
{
	json_t *j = id ? cc_agent_json(s->home.c, id, home_now(s))
		       : cc_agents_json(s->home.c, home_now(s));
	if (id) {
		sessions_of(&s->home, json_object_get(j, "items"));
	} else {
		size_t i;
		json_t *a;
		json_array_foreach(j, i, a)
			sessions_of(&s->home, json_object_get(a, "items"));
	}
	return j;
}

json_t *cc_svc_queue(struct cc_svc *s)
{
	json_t *arr = cc_queue_json(s->home.c, home_now(s));
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		struct ref *r = ref_by_item(&s->home,
					    (uint64_t)json_integer_value(json_object_get(o, "id")));
		if (r)
			json_object_set_new(o, "session", json_string(r->sess));
	}
	return arr;
}

/* ---- life ------------------------------------------------------------------------------- */

/* ---- reload (SIGHUP) ------------------------------------------------------------------------ */

struct reload {
	struct cc_svc *s;
	struct cc_flow_cfg *flows;
	struct cc_agent_cfg *agents;
	size_t nflows, nagents;
};

/* Home: each flow and agent of the file is created or replaced as a PUT would; those made
 * by the API and not in the file stay. */
static void reload_run(eng_worker *w, void *arg, uint64_t u)
{
	struct reload *r = arg;
	char msg[160];
	int created;
	unsigned made = 0, replaced = 0, refused = 0;
	(void)w;
	(void)u;
	for (size_t i = 0; i < r->nflows; i++) {
		if (cc_svc_flow_set(r->s, &r->flows[i], &created, msg, sizeof(msg)) != 0) {
			cm_sr_report("cc", CM_LOG_WARN, "reload: flow %s: %s", r->flows[i].id, msg);
			refused++;
			continue;
		}
		created ? made++ : replaced++;
	}
	for (size_t i = 0; i < r->nagents; i++) {
		if (cc_svc_agent_set(r->s, &r->agents[i], &created, msg, sizeof(msg)) != 0) {
			cm_sr_report("cc", CM_LOG_WARN, "reload: agent %s: %s", r->agents[i].id, msg);
			refused++;
			continue;
		}
		created ? made++ : replaced++;
	}
	cm_sr_report("cc", refused ? CM_LOG_WARN : CM_LOG_INFO,
		     "reloaded cc.definitions: %zu flows and %zu agents, %u made, %u replaced, "
		     "%u refused", r->nflows, r->nagents, made, replaced, refused);
	free(r->flows);
	free(r->agents);
	free(r);
}

int cc_svc_reload(struct cc_svc *s, const char *path, char *err, size_t errlen)
{
	struct reload *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->s = s;
	if (cc_definitions_load(path, &r->flows, &r->nflows, &r->agents, &r->nagents, err,
				errlen) < 0) {
		free(r);
		return -EINVAL;
	}
	if (eng_post(eng_worker_at(s->e, CC_SVC_WORKER), reload_run, r, 0) < 0) {
		snprintf(err, errlen, "the centre's worker is busy (mailbox full): try again");
		free(r->flows);
		free(r->agents);
		free(r);
		return -EAGAIN;
	}
	return 0;
}

int cc_svc_new(const struct cm_config *cfg, eng_engine *e, struct gw_ua_shared *ua,
	       int (*publish)(json_t *ev), struct cc_svc **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!cfg->cc.enabled)
		return 0;
	if (!ua || !gw_ua_enabled(ua)) {
		snprintf(err, errlen, "cc.enabled needs the user agent (ua.enabled)");
		return -EINVAL;
	}
	struct cc_svc *s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->e = e;
	s->nworkers = eng_nworkers(e);
	s->publish = publish;
	s->offer_ms = (uint64_t)cfg->cc.offer_timeout_ms;
	s->max_waiting = (uint64_t)cfg->cc.max_waiting;
	s->max_held = (uint64_t)cfg->cc.max_held;
	s->workers = calloc(s->nworkers, sizeof(*s->workers));
	pthread_mutex_init(&s->snap_lock, NULL);
	struct cc_ops ops = { .offer = o_offer, .dropped = o_dropped, .recalled = o_recalled,
			      .event = o_event, .arg = s };
	if (!s->workers || !(s->home.c = cc_new(&ops)))
		goto nomem;
	if (cfg->cc.definitions && cfg->cc.definitions[0] &&
	    cc_definitions_load(cfg->cc.definitions, &s->def_flows, &s->ndef_flows,
				&s->def_agents, &s->ndef_agents, err, errlen) < 0) {
		cc_svc_free(s);
		return -EINVAL;
	}
	struct gw_ua_hooks h = { .claim = claim, .call = call_hook };
	if (gw_ua_add_hooks(ua, &h, s) < 0) {
		cc_svc_free(s);
		snprintf(err, errlen, "too many SIP hooks");
		return -ENOSPC;
	}
	*out = s;
	return 0;
nomem:
	cc_svc_free(s);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static void worker_stop(eng_worker *w, void *arg)
{
	struct cc_w *cw = arg;
	(void)w;
	cw->stopping = 1;
	eng_timer_cancel(&cw->retry_t);
	while (cw->retry) {
		struct msg *m = cw->retry;
		cw->retry = m->next;
		if (m->op == OP_ADDRS)
			tab_unref(m->tab);
		free(m);
	}
	cw->retry_tail = &cw->retry;
	cw->nretry = 0;
	if (cw->idx == CC_SVC_WORKER) {
		eng_timer_cancel(&cw->s->home.tick_t);
		eng_timer_cancel(&cw->s->home.snap_t);
		for (size_t i = 0; i < cw->s->home.nout; i++)
			json_decref(cw->s->home.out[i].ev);
		cw->s->home.nout = 0;
	}
	/* the chats: their sessions end with the user agent, which stops after us */
	for (unsigned b = 0; b < CHAT_BUCKETS; b++)
		for (struct chat *c = cw->chats[b]; c; c = c->next)
			eng_timer_cancel(&c->offer_t);
}

int cc_svc_worker_start(struct cc_svc *s, eng_worker *w, struct gw_ua *ua, char *err,
			size_t errlen)
{
	struct cc_w *cw = calloc(1, sizeof(*cw));
	if (!cw) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cw->s = s;
	cw->w = w;
	cw->ua = ua;
	cw->idx = eng_worker_index(w);
	cw->retry_tail = &cw->retry;
	eng_timer_init(&cw->retry_t, retry_fire, cw);
	if (cw->idx == CC_SVC_WORKER) {
		eng_timer_init(&s->home.tick_t, tick_fire, s);
		eng_timer_init(&s->home.snap_t, snap_fire, s);
	}
	if (eng_worker_on_stop(w, worker_stop, cw) < 0) {
		free(cw);
		snprintf(err, errlen, "too many stop hooks");
		return -ENOSPC;
	}
	atomic_store_explicit(&s->workers[cw->idx], cw, memory_order_release);
	if (cw->idx == CC_SVC_WORKER && (s->ndef_flows || s->ndef_agents)) {
		/* cc.definitions (the other workers take the addresses once they run) */
		uint64_t now = eng_now_ms(w);
		for (size_t i = 0; i < s->ndef_flows; i++)
			if (cc_flow_set(s->home.c, &s->def_flows[i], now) < 0)
				CM_WARN("cc: flow %s of cc.definitions not made", s->def_flows[i].id);
		for (size_t i = 0; i < s->ndef_agents; i++)
			if (cc_agent_set(s->home.c, &s->def_agents[i], now) < 0)
				CM_WARN("cc: agent %s of cc.definitions not made",
					s->def_agents[i].id);
		CM_INFO("cc: %zu flows and %zu agents from cc.definitions", s->ndef_flows,
			s->ndef_agents);
		addrs_publish(s);
		flush(s);
	}
	return 0;
}

void cc_svc_free(struct cc_svc *s)
{
	if (!s)
		return;
	for (unsigned i = 0; s->workers && i < s->nworkers; i++) {
		struct cc_w *cw = s->workers[i];
		if (!cw)
			continue;
		for (unsigned b = 0; b < CHAT_BUCKETS; b++)
			while (cw->chats[b]) {
				struct chat *c = cw->chats[b];
				cw->chats[b] = c->next;
				held_free_all(c);
				free(c);
			}
		tab_unref(cw->addrs);
		free(cw);
	}
	for (unsigned b = 0; b < REF_BUCKETS; b++)
		while (s->home.by_item[b]) {
			struct ref *r = s->home.by_item[b];
			s->home.by_item[b] = r->inext;
			free(r);
		}
	for (size_t i = 0; i < s->home.nout; i++)
		json_decref(s->home.out[i].ev);
	free(s->home.out);
	tab_unref(s->home.tab);
	free(s->def_flows);
	free(s->def_agents);
	cc_svc_snap_free(s->snap);
	pthread_mutex_destroy(&s->snap_lock);
	cc_free(s->home.c);
	free((void *)s->workers);
	free(s);
}

void cc_svc_stats(const struct cc_svc *s, struct cc_svc_stats *o)
{
#define LD(x) atomic_load_explicit(&s->x, memory_order_relaxed)
	*o = (struct cc_svc_stats){
		.queued = LD(c_queued), .dispatched = LD(c_dispatched), .answered = LD(c_answered),
		.refused = LD(c_refused), .abandoned = LD(c_abandoned),
		.timed_out = LD(c_timed_out), .ended = LD(c_ended), .waiting = LD(waiting),
		.agents_free = LD(a_free), .agents_busy = LD(a_busy),
		.agents_offline = LD(a_offline), .chats_claimed = LD(claimed),
		.chats_refused_full = LD(refused_full), .held = LD(held),
		.held_overflow = LD(held_overflow), .forwarded = LD(forwarded),
		.chats_refused_max_waiting = LD(refused_max_waiting),
		.forward_failed = LD(fwd_failed), .legs_timed_out = LD(legs_timed_out),
		.mailbox_retries = LD(retries),
	};
#undef LD
}

