/* gw_page.c — the SIP MESSAGE ⇄ MSRP session gateway (see gw_page.h).
 *
 * Pieces: the process-wide part (rules, timeouts, the hooks it puts into every worker's SIP
 * handling); one worker's pairs (struct gp_sess, by normalised key, each on a user-agent
 * session that reports to it); MESSAGEs in (rules, queueing, the answer or, with
 * await_delivery, the answer held until the MSRP outcome); what the MSRP side sends, as
 * MESSAGEs out; inactivity; the API's views. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "common/cm_hash.h"
#include "common/cm_log.h"
#include "diameter/dm_svc.h"
#include "gateway/gw_page.h"
#include "msrp/msrp-t.h"
#include "msrp/msrp_id.h"
#include "sip/sip_hdr.h"
#include "sip/sip_txn.h"

#define GP_BUCKETS 1024
#define GP_KEY_MAX (GW_PAGE_KEY_MAX + 1)

enum rule_kind { R_DOMAIN, R_PREFIX, R_HEADER, R_FEATURE };

struct rule {
	enum rule_kind kind;
	char *value;
};

struct gw_page_shared {
	struct gw_ua_shared *ua;
	gw_publish_fn publish;
	struct rule *rules;
	size_t nrules;
	struct rule *pages;            /* gateway.page_users */
	size_t npages;
	int reject_code;
	int proxy;                     /* gateway.unmatched = proxy */
	uint32_t session_ms, message_ms, max_queued, delivery_ms;
	uint32_t txn_ms;               /* a MESSAGE must be answered within this (64*T1 - 0.5 s) */
	int await;
	unsigned n;
	_Atomic(struct gw_page *) *workers;
	struct dm_svc *dm;             /* the Diameter hooks, when on */
};

struct gp_sess;

/* A MESSAGE held until its MSRP outcome (await_delivery). */
struct pending {
	struct pending *next;
	struct gp_sess *gs;
	struct sip_txn *st;
	char msgid[MSRP_ID_MSGID_LEN + 1];
	eng_timer t;
};

struct gp_sess {
	struct gp_sess *next;          /* bucket chain */
	struct gw_page *gp;
	uint64_t hash;
	char id[GW_UA_ID_LEN + 1];     /* the user-agent session's */
	char key[GP_KEY_MAX];
	char page[GW_UA_MAX_URI];      /* the page-mode user (From of its MESSAGEs) */
	char rcs[GW_UA_MAX_URI];       /* the RCS user (To of its MESSAGEs) */
	int up, creating, over_early, early_code;
	int ending;                    /* its session is being ended (BYE out): a MESSAGE for
					* the pair makes a new one (find_live) */
	uint32_t queued;               /* MESSAGEs sent before the session was up */
	uint64_t created_ms, last_any_ms, last_msg_ms;
	uint64_t msgs_in, msgs_out;
	struct pending *pend;
	eng_timer idle;
};

struct gw_page {
	struct gw_page_shared *sh;
	struct gw_ua *ua;
	eng_worker *w;
	struct gp_sess *buckets[GP_BUCKETS];
	struct gw_page_stats st;
};

/* ---- small helpers --------------------------------------------------------------------- */

static cm_slice sl(const char *s)
{
	return (cm_slice){ s, s ? strlen(s) : 0 };
}

static uint64_t now_ms(const struct gw_page *gp)
{
	return eng_now_ms(gp->w);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The normalised address of URI <u> into <out>: "sip:user@host" (host lower case; sips:
 * taken as sip:, no port, no parameters), "tel:number". 0, or -EINVAL. */
static int norm_uri(cm_slice u, char *out, size_t len)
{
	struct sip_uri p;
	if (sip_uri_parse(u, &p) < 0)
		return -EINVAL;
	int n;
	if (p.scheme == SIP_SCHEME_TEL)
		n = snprintf(out, len, "tel:%.*s", (int)p.user.len, p.user.p);
	else
		n = snprintf(out, len, "sip:%.*s%s%.*s", (int)p.user.len, p.user.p ? p.user.p : "",
			     p.user.len ? "@" : "", (int)p.host.len, p.host.p);
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	if (p.scheme != SIP_SCHEME_TEL) {
		char *at = strchr(out, '@');
		for (char *c = at ? at + 1 : out + 4; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
	return 0;
}

/* The URI of header <id> (From, To) of <m> into <out> as written (no < >). */
static int hdr_uri(const struct sip_msg *m, enum sip_hid id, char *out, size_t len)
{
	struct sip_addr a;
	if (sip_addr_parse(sip_msg_hdr(m, id), &a) < 0 || !a.uri.len || a.uri.len >= len)
		return -EINVAL;
	for (size_t i = 0; i < a.uri.len; i++)
		if ((unsigned char)a.uri.p[i] <= 0x20 || (unsigned char)a.uri.p[i] >= 0x7f)
			return -EINVAL; /* RFC 3261 §25.1: a URI escapes the rest */
	memcpy(out, a.uri.p, a.uri.len);
	out[a.uri.len] = '\0';
	return 0;
}

/* The key of the pair (page-mode user <page>, RCS user <rcs>), both normalised. */
static int pair_key(cm_slice page, cm_slice rcs, char *key, size_t len)
{
	char a[GW_UA_MAX_URI], b[GW_UA_MAX_URI];
	if (norm_uri(page, a, sizeof(a)) < 0 || norm_uri(rcs, b, sizeof(b)) < 0)
		return -EINVAL;
	int n = snprintf(key, len, "%s|%s", a, b);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

static cm_slice uri_of(const struct sip_msg *m, enum sip_hid id)
{
	struct sip_addr a;
	return sip_addr_parse(sip_msg_hdr(m, id), &a) < 0 ? CM_SLICE_NULL : a.uri;
}

/* ---- the process-wide part -------------------------------------------------------------- */

/* The worker of a new MESSAGE's pair (page: From, RCS: To) — or an INVITE's (page: To). */
static int route(void *arg, const struct sip_msg *m)
{
	struct gw_page_shared *sh = arg;
	char key[GP_KEY_MAX];
	int msg = m->method == SIP_M_MESSAGE;
	if (pair_key(uri_of(m, msg ? SIP_H_FROM : SIP_H_TO), uri_of(m, msg ? SIP_H_TO : SIP_H_FROM),
		     key, sizeof(key)) < 0)
		return -1;
	return (int)gw_page_worker_of_key(sh, key);
}

static void on_message(void *arg, struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req,
		       const struct sip_dest *src);
static int claim(void *arg, struct gw_ua *ua, const char *id, const char *from, const char *to,
		 const struct gw_ua_owner **own, void **owner_arg);
static int adopt(void *arg, struct gw_ua *ua, const char *id, int incoming, const char *from,
		 const char *to, const struct gw_ua_owner **own, void **owner_arg);

/* The rules of <l> ("kind:value", checked by the configuration) into *<out>. */
static int rules_load(const struct cm_strlist *l, struct rule **out, size_t *n)
{
	*n = 0;
	if (!(*out = calloc(l->n + 1, sizeof(**out))))
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const char *v = l->v[i], *c = strchr(v, ':');
		struct rule *r = &(*out)[*n];
		r->kind = !strncmp(v, "domain:", 7) ? R_DOMAIN : !strncmp(v, "prefix:", 7) ? R_PREFIX
			  : !strncmp(v, "header:", 7) ? R_HEADER : R_FEATURE;
		if (!(r->value = strdup(c + 1)))
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

struct gw_page_shared *gw_page_shared_new(const struct cm_config *cfg, struct gw_ua_shared *ua,
					  gw_publish_fn publish, int *failed, char *err,
					  size_t errlen)
{
	*failed = 0;
	if (!cfg->gateway.enabled || !ua)
		return NULL;
	struct gw_page_shared *sh = calloc(1, sizeof(*sh));
	if (!sh) {
		snprintf(err, errlen, "out of memory");
		*failed = 1;
		return NULL;
	}
	sh->ua = ua;
	sh->publish = publish;
	sh->n = gw_ua_nworkers(ua);
	if (rules_load(&cfg->gateway.rules, &sh->rules, &sh->nrules) < 0 ||
	    rules_load(&cfg->gateway.page_users, &sh->pages, &sh->npages) < 0) {
		gw_page_shared_free(sh);
		snprintf(err, errlen, "out of memory");
		*failed = 1;
		return NULL;
	}
	sh->reject_code = (int)cfg->gateway.reject_code;
	sh->proxy = cfg->gateway.unmatched == CM_GW_PROXY;
	sh->session_ms = (uint32_t)cfg->gateway.session_timeout_ms;
	sh->message_ms = (uint32_t)cfg->gateway.message_timeout_ms;
	sh->max_queued = (uint32_t)cfg->gateway.max_queued;
	sh->await = cfg->gateway.await_delivery;
	/* a held MESSAGE must be answered before its transaction gives up (64*T1) */
	uint64_t txn_ms = 64u * (uint64_t)cfg->sip.t1_ms - 500;
	sh->txn_ms = (uint32_t)txn_ms;
	sh->delivery_ms = (uint32_t)((uint64_t)cfg->gateway.delivery_timeout_ms < txn_ms
					     ? (uint64_t)cfg->gateway.delivery_timeout_ms : txn_ms);
	sh->workers = calloc(sh->n, sizeof(*sh->workers));
	if (!sh->workers) {
		gw_page_shared_free(sh);
		snprintf(err, errlen, "out of memory");
		*failed = 1;
		return NULL;
	}
	struct gw_ua_hooks h = { .route = route, .message = on_message, .claim = claim,
				 .adopt = adopt };
	if (gw_ua_add_hooks(ua, &h, sh) < 0) {
		gw_page_shared_free(sh);
		snprintf(err, errlen, "too many SIP hooks");
		*failed = 1;
		return NULL;
	}
	return sh;
}

void gw_page_set_diameter(struct gw_page_shared *sh, struct dm_svc *dm)
{
	if (sh && (dm_svc_sh_on(dm) || dm_svc_ro_on(dm)))
		sh->dm = dm;
}

void gw_page_shared_free(struct gw_page_shared *sh)
{
	if (!sh)
		return;
	for (size_t i = 0; i < sh->nrules; i++)
		free(sh->rules[i].value);
	free(sh->rules);
	for (size_t i = 0; i < sh->npages; i++)
		free(sh->pages[i].value);
	free(sh->pages);
	free((void *)sh->workers);
	free(sh);
}

struct gw_page *gw_page_at(struct gw_page_shared *sh, unsigned worker)
{
	return sh && worker < sh->n
		       ? atomic_load_explicit(&sh->workers[worker], memory_order_acquire) : NULL;
}

/* ---- pairs -------------------------------------------------------------------------------- */

static struct gp_sess *find(struct gw_page *gp, const char *key, uint64_t h)
{
	for (struct gp_sess *s = gp->buckets[h % GP_BUCKETS]; s; s = s->next)
		if (s->hash == h && !strcmp(s->key, key))
			return s;
	return NULL;
}

/* The pair <key> whose session still carries messages: the newest one not ending. */
static struct gp_sess *find_live(struct gw_page *gp, const char *key, uint64_t h)
{
	for (struct gp_sess *s = gp->buckets[h % GP_BUCKETS]; s; s = s->next)
		if (s->hash == h && !s->ending && !strcmp(s->key, key))
			return s;
	return NULL;
}

static void idle_fire(eng_timer *t);

/* A new pair <key> (hash <h>) on session <id>, first in its bucket: the newest session of
 * a pair is the one used. NULL: out of memory. */
static struct gp_sess *pair_new(struct gw_page *gp, const char *key, uint64_t h, const char *id,
				const char *page, const char *rcs)
{
	struct gp_sess *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->gp = gp;
	s->hash = h;
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->key, sizeof(s->key), "%s", key);
	snprintf(s->page, sizeof(s->page), "%s", page);
	snprintf(s->rcs, sizeof(s->rcs), "%s", rcs);
	s->created_ms = wall_ms();
	eng_timer_init(&s->idle, idle_fire, s);
	s->next = gp->buckets[h % GP_BUCKETS];
	gp->buckets[h % GP_BUCKETS] = s;
	gp->st.sessions++;
	return s;
}

void gw_page_count_pairs(const struct gw_page *gp, uint32_t *up, uint32_t *connecting)
{
	*up = *connecting = 0;
	for (unsigned i = 0; i < GP_BUCKETS; i++)
		for (const struct gp_sess *s = gp->buckets[i]; s; s = s->next) {
			*up += s->up != 0;
			*connecting += !s->up;
		}
}

static struct gp_sess *find_id(struct gw_page *gp, const char *id)
{
	for (unsigned i = 0; i < GP_BUCKETS; i++)
		for (struct gp_sess *s = gp->buckets[i]; s; s = s->next)
			if (!strcmp(s->id, id))
				return s;
	return NULL;
}

static void respond(struct sip_txn *st, int code, int retry_after)
{
	char tag[20];
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)wall_ms();
	int n = snprintf(tag, sizeof(tag), "g%08x", r);
	struct sip_hdr h = { SIP_H_RETRY_AFTER, CM_SLICE_NULL, CM_SLICE_LIT("5") };
	sip_txn_respond(st, code, CM_SLICE_NULL, (cm_slice){ tag, (size_t)n }, &h,
			retry_after ? 1 : 0, CM_SLICE_NULL);
}

/* A failure status of the MSRP side as a SIP code for the page-mode client. */
static int map_code(int status)
{
	return status >= 400 && status <= 699 ? status : status == 408 ? 408 : 500;
}

static void pending_answer(struct pending *p, int code)
{
	struct pending **pp = &p->gs->pend;
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	eng_timer_cancel(&p->t);
	respond(p->st, code, 0);
	if (code == 200)
		p->gs->gp->st.delivered++;
	else
		p->gs->gp->st.delivery_failed++;
	free(p);
}

static void pending_timeout(eng_timer *t)
{
	pending_answer(t->arg, 408);
}

static void sess_free(struct gp_sess *s)
{
	struct gw_page *gp = s->gp;
	while (s->pend)
		pending_answer(s->pend, 480);
	eng_timer_cancel(&s->idle);
	struct gp_sess **pp = &gp->buckets[s->hash % GP_BUCKETS];
	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	gp->st.sessions--;
	free(s);
}

/* Inactivity: BYE after session_timeout without traffic, message_timeout without MESSAGE. */
static void idle_fire(eng_timer *t)
{
	struct gp_sess *s = t->arg;
	struct gw_page *gp = s->gp;
	uint64_t now = now_ms(gp), any = s->last_any_ms + gp->sh->session_ms;
	uint64_t msg = s->last_msg_ms + gp->sh->message_ms, due = any < msg ? any : msg;
	if (now + 5 < due) {
		eng_timer_arm(gp->w, &s->idle, due - now);
		return;
	}
	CM_DEBUG("gateway %s: inactive, BYE", s->id);
	/* the pair goes when its session is over (o_over): now, or once the BYE is answered
	 * (up to 64*T1 from a phone that does not answer); a session already ending (409)
	 * gets there by itself. Meanwhile a MESSAGE of the pair makes a new session. */
	s->ending = 1;
	gw_ua_end(gp->ua, s->id, NULL, 0);
}

static void touch(struct gp_sess *s, int message)
{
	struct gw_page *gp = s->gp;
	s->last_any_ms = now_ms(gp);
	if (message)
		s->last_msg_ms = s->last_any_ms;
	if (!eng_timer_armed(&s->idle)) {
		uint32_t d = gp->sh->session_ms < gp->sh->message_ms ? gp->sh->session_ms
								      : gp->sh->message_ms;
		eng_timer_arm(gp->w, &s->idle, d);
	}
}

/* ---- the user-agent session's reports ---------------------------------------------------- */

static void o_up(void *arg, const char *id)
{
	struct gp_sess *s = arg;
	(void)id;
	s->up = 1;
	s->queued = 0;
	touch(s, 0);
}

static void o_over(void *arg, const char *id, int failed, int sip_code, const char *reason)
{
	struct gp_sess *s = arg;
	struct gw_page *gp = s->gp;
	int code = sip_code >= 400 && sip_code <= 699 ? sip_code : failed ? 480 : 0;
	if (failed && !s->up) {
		gp->st.setup_failed++;
		json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "type",
				       "gateway.setup_failed", "session_id", id, "from", s->page,
				       "to", s->rcs, "sip_code", code ? code : 480, "reason",
				       reason ? reason : "");
		if (ev && gp->sh->publish)
			gp->sh->publish(ev);
		else
			json_decref(ev);
	}
	while (s->pend)
		pending_answer(s->pend, code ? code : 480);
	if (s->creating) { /* inside gw_ua_create_owned: the MESSAGE's handler frees it */
		s->over_early = 1;
		s->early_code = code ? code : 503;
		return;
	}
	sess_free(s);
}

/* A MESSAGE to a page-mode user on its way: what its failure tells the MSRP side. */
struct out_req {
	struct gw_page_shared *sh;
	unsigned worker;
	char id[GW_UA_ID_LEN + 1];
	char msgid[MSRP_TID_MAX + 1];
	uint64_t len;
	int failure_report;
};

static void out_done(void *arg, int status)
{
	struct out_req *q = arg;
	struct gw_page *gp = gw_page_at(q->sh, q->worker);
	if (gp && status >= 300) {
		gp->st.out_failed++;
		CM_LOG_RL(CM_LOG_INFO, "gateway: a MESSAGE to a page-mode user got %d", status);
		/* the MSRP sender hears of it (its message was taken hop by hop already) */
		if (q->id[0])
			gw_ua_report_failure(gp->ua, q->id, q->msgid, q->len, q->failure_report,
					     status);
	}
	free(q);
}

/* An MSRP message of pair <s> sent on as a MESSAGE. */
static void send_out(struct gw_page *gp, struct gp_sess *s, const char *ctype, const char *data,
		     uint64_t len, const char *msgid, int failure_report)
{
	struct out_req *q = malloc(sizeof(*q));
	if (!q)
		return;
	q->sh = gp->sh;
	q->worker = gw_ua_index(gp->ua);
	memcpy(q->id, s->id, sizeof(q->id));
	snprintf(q->msgid, sizeof(q->msgid), "%s", msgid);
	q->len = len;
	q->failure_report = failure_report;
	int rc = gw_ua_send_message(gp->ua, s->rcs, s->page, ctype, data, (size_t)len, out_done,
				    q);
	if (rc < 0) {
		free(q);
		gp->st.out_failed++;
		CM_LOG_RL(CM_LOG_INFO, "gateway %s: no MESSAGE to %s: %s", s->id, s->page,
			  strerror(-rc));
		return;
	}
	gp->st.messages_out++;
}

/* An MSRP message waiting for its Ro verdict (its pair named by id: it may go meanwhile). */
struct ro_out {
	struct gw_page_shared *sh;
	char id[GW_UA_ID_LEN + 1];
	char msgid[MSRP_TID_MAX + 1];
	char ctype[256];
	int failure_report;
	uint64_t len;
	char data[];
};

static void ro_out_done(eng_worker *w, void *arg, enum dm_verdict v, uint32_t rc)
{
	struct ro_out *o = arg;
	struct gw_page *gp = gw_page_at(o->sh, eng_worker_index(w));
	struct gp_sess *s = gp ? find_id(gp, o->id) : NULL;
	if (gp && (v == DM_DENY || (v == DM_FAILED && !dm_svc_fail_open(o->sh->dm)))) {
		if (v == DM_DENY)
			gp->st.hook_denied++;
		else
			gp->st.hook_failed++;
		CM_LOG_RL(CM_LOG_INFO, "gateway %s: Ro %s a message (%u)", o->id,
			  v == DM_DENY ? "refused" : "gave no verdict on", rc);
		/* the MSRP sender hears of it: its message was taken hop by hop already */
		gw_ua_report_failure(gp->ua, o->id, o->msgid, o->len, o->failure_report,
				     v == DM_DENY ? 403 : 503);
	} else if (s) {
		if (v == DM_FAILED)
			gp->st.hook_failed++;
		send_out(gp, s, o->ctype, o->data, o->len, o->msgid, o->failure_report);
	} else if (gp) {
		gp->st.out_failed++; /* its pair ended meanwhile: nobody to send it to */
		CM_LOG_RL(CM_LOG_INFO, "gateway %s: a message charged after its pair ended: dropped",
			  o->id);
	}
	free(o);
}

static void o_message(void *arg, const char *id, const struct msrp_reasm_msg *m)
{
	struct gp_sess *s = arg;
	struct gw_page *gp = s->gp;
	(void)id;
	touch(s, 0);
	s->msgs_out++;
	const char *ctype = m->content_type ? m->content_type : "text/plain";
	if (!dm_svc_ro_on(gp->sh->dm)) {
		send_out(gp, s, ctype, m->data, m->len, m->message_id, (int)m->failure_report);
		return;
	}
	struct ro_out *o = malloc(sizeof(*o) + (size_t)m->len);
	if (o) {
		o->sh = gp->sh;
		memcpy(o->id, s->id, sizeof(o->id));
		snprintf(o->msgid, sizeof(o->msgid), "%s", m->message_id);
		snprintf(o->ctype, sizeof(o->ctype), "%s", ctype);
		o->failure_report = (int)m->failure_report;
		o->len = m->len;
		memcpy(o->data, m->data, (size_t)m->len);
	}
	if (!o || dm_svc_ro_charge(gp->sh->dm, gp->w, s->rcs, ro_out_done, o) < 0) {
		free(o); /* (out of memory, or the node's mailbox full: no verdict) */
		gp->st.hook_failed++;
		if (dm_svc_fail_open(gp->sh->dm))
			send_out(gp, s, ctype, m->data, m->len, m->message_id,
				 (int)m->failure_report);
		else
			gw_ua_report_failure(gp->ua, s->id, m->message_id, m->len,
					     (int)m->failure_report, 503);
	}
}

static void o_report(void *arg, const char *id, const char *message_id, int status,
		     const struct msrp_range *range)
{
	(void)range; /* the gateway asks no Success-Report but for await_delivery's 200 */
	struct gp_sess *s = arg;
	struct gw_page *gp = s->gp;
	(void)id;
	touch(s, 0);
	for (struct pending *p = s->pend; p; p = p->next)
		if (!strcmp(p->msgid, message_id)) {
			pending_answer(p, status == 200 ? 200 : map_code(status));
			return;
		}
	if (status == 200)
		return;
	/* a MESSAGE answered 202 already did not get through: its sender is told, in a
	 * MESSAGE of its own from the RCS user's address */
	char text[160];
	int n = snprintf(text, sizeof(text), "rcsgw: your message (MSRP Message-ID %s) was not "
			 "delivered: %d", message_id, status);
	struct out_req *q = calloc(1, sizeof(*q));
	if (!q || n < 0)
		return free(q);
	q->sh = gp->sh;
	q->worker = gw_ua_index(gp->ua);
	q->failure_report = MSRP_REPORT_NO; /* nothing goes back to the MSRP side for it */
	gp->st.notified++;
	if (gw_ua_send_message(gp->ua, s->rcs, s->page, "text/plain", text, (size_t)n, out_done,
			       q) < 0)
		free(q);
}

static const struct gw_ua_owner owner = {
	.name = "gateway", .up = o_up, .over = o_over, .message = o_message, .report = o_report,
};

/* ---- MESSAGEs from page-mode clients ------------------------------------------------------- */

/* A MESSAGE no rule takes, forwarded (gateway.unmatched = proxy): its final answer is passed
 * back, or 408 when none came before its own transaction would give up. */
struct fwd {
	struct sip_txn *st;            /* NULL once answered by the timer */
	eng_timer t;
	struct gw_page *gp;
};

static void fwd_done(void *arg, int status)
{
	struct fwd *f = arg;
	if (f->st) {
		eng_timer_cancel(&f->t);
		respond(f->st, status, status == 503);
		if (status >= 300)
			f->gp->st.proxy_failed++;
	}
	free(f);
}

static void fwd_late(eng_timer *t)
{
	struct fwd *f = t->arg;
	respond(f->st, 408, 0); /* fwd_done frees <f> when the forward's transaction ends */
	f->st = NULL;
	f->gp->st.proxy_failed++;
}

static void forward(struct gw_page *gp, struct sip_txn *st, const struct sip_msg *req)
{
	struct fwd *f = calloc(1, sizeof(*f));
	if (!f) {
		respond(st, 503, 1);
		return;
	}
	f->st = st;
	f->gp = gp;
	int rc = gw_ua_forward(gp->ua, req, fwd_done, f);
	if (rc < 0) {
		free(f);
		gp->st.proxy_failed++;
		respond(st, rc == -ELOOP ? 483 : rc == -EHOSTUNREACH || rc == -EINVAL ? 404 : 503,
			rc == -EBUSY);
		return;
	}
	gp->st.proxied++;
	eng_timer_init(&f->t, fwd_late, f);
	eng_timer_arm(gp->w, &f->t, gp->sh->delivery_ms);
}

/* 1 when some rule takes <req> (no rules: every MESSAGE not for rcsgw itself). */
static int converted(const struct gw_page_shared *sh, const struct gw_ua *ua,
		     const struct sip_msg *req)
{
	struct sip_uri u;
	if (sip_uri_parse(req->ruri, &u) < 0)
		return 0;
	if (!sh->nrules)
		return !gw_ua_is_self(ua, &u);
	for (size_t i = 0; i < sh->nrules; i++) {
		const struct rule *r = &sh->rules[i];
		size_t vl = strlen(r->value);
		switch (r->kind) {
		case R_DOMAIN:
			if (u.host.len == vl && !strncasecmp(u.host.p, r->value, vl))
				return 1;
			break;
		case R_PREFIX:
			if (req->ruri.len >= vl && !strncmp(req->ruri.p, r->value, vl))
				return 1;
			break;
		case R_HEADER:
			if (sip_msg_hdr_name(req, sl(r->value)).p)
				return 1;
			break;
		case R_FEATURE: {
			cm_slice ac = sip_msg_hdr(req, SIP_H_ACCEPT_CONTACT);
			if (ac.p && memmem(ac.p, ac.len, r->value, vl))
				return 1;
			break;
		}
		}
	}
	return 0;
}

/* A MESSAGE taken: to its pair's session (made when there is none, or when the one there
 * is ending), answered 202, or held until its outcome (await_delivery). */
static void deliver(struct gw_page *gp, struct sip_txn *st, const char *page, const char *rcs,
		    const char *key, const char *ruri, const char *ctype, const char *body,
		    size_t len, uint64_t spent_ms)
{
	struct gw_page_shared *sh = gp->sh;
	struct gw_ua *ua = gp->ua;
	char msg[256];
	uint64_t h = msrp_id_hash(sl(key));
	struct gp_sess *s = find_live(gp, key, h);
	int made = 0;
again:
	if (!s) {
		made = 1;
		struct gw_ua_new n = { .from = page, .to = rcs, .ruri = ruri };
		int rc = gw_ua_mint(gw_ua_index(ua), n.id);
		if (!(s = pair_new(gp, key, h, n.id, page, rcs))) {
			respond(st, 503, 1);
			return;
		}
		s->creating = 1;
		if (rc == 0)
			rc = gw_ua_create_owned(ua, &n, &owner, s, msg, sizeof(msg));
		s->creating = 0;
		if (rc || s->over_early) {
			int code = rc ? (rc >= 400 && rc <= 699 ? rc : 503) : s->early_code;
			respond(st, code, code == 503);
			sess_free(s);
			return;
		}
	}
	if (!s->up && s->queued >= sh->max_queued) {
		gp->st.queue_full++;
		gp->st.queue_limit++;
		respond(st, 503, 1);
		return;
	}
	struct gw_ua_msg m = {
		.content_type = ctype, .body = body, .len = len,
		.success_report = sh->await ? 1 : -1, .failure_report = -1,
		.cpim = -1, /* in CPIM when the RCS side takes the type only so */
	};
	int rc = gw_ua_send(ua, s->id, &m, msg, sizeof(msg));
	if (rc == 409 && !made) {
		/* its session is over or ending (its BYE not yet answered, an API DELETE): the
		 * pair stays until o_over, this MESSAGE goes to a new session of the pair */
		s->ending = 1;
		s = NULL;
		goto again;
	}
	if (rc) {
		if (rc == 409)
			gp->st.queue_full++;
		respond(st, rc == 409 ? 503 : rc == 404 ? 480 : rc, rc == 409 || rc == 503);
		return;
	}
	gp->st.messages_in++;
	s->msgs_in++;
	s->queued += !s->up;
	touch(s, 1);
	if (!sh->await) {
		respond(st, 202, 0);
		return;
	}
	struct pending *p = calloc(1, sizeof(*p));
	if (!p) {
		respond(st, 202, 0); /* accepted all the same: only its outcome is not awaited */
		return;
	}
	p->gs = s;
	p->st = st;
	memcpy(p->msgid, m.message_id, sizeof(p->msgid));
	p->next = s->pend;
	s->pend = p;
	eng_timer_init(&p->t, pending_timeout, p);
	/* (a MESSAGE held for Diameter first has that much less of its transaction's life) */
	eng_timer_arm(gp->w, &p->t, sh->delivery_ms > spent_ms ? sh->delivery_ms - spent_ms : 1);
}

/* A MESSAGE waiting for its Diameter verdicts (Sh when it would make a session, then Ro).
 * Its transaction lives 64*T1 at most: if the verdicts are not in well before, it is
 * answered 503 by the gate's timer and the verdicts that come later only free the gate. */
struct gate {
	struct gw_page *gp;
	struct sip_txn *st;            /* NULL once answered */
	int sh_done, ro_asked, failed;
	uint64_t t0;                   /* when the MESSAGE came */
	eng_timer t;
	char page[GW_UA_MAX_URI], rcs[GW_UA_MAX_URI], key[GP_KEY_MAX], ruri[GW_UA_MAX_URI];
	char ctype[256];
	size_t len;
	char body[];
};

static void gate_next(struct gw_page *gp, struct gate *g);

/* The MESSAGE answered <code>; the gate freed unless a verdict is still to come (<waiting>). */
static void gate_answer(struct gate *g, int code, int waiting)
{
	if (g->st) {
		respond(g->st, code, code == 503);
		g->st = NULL;
	}
	eng_timer_cancel(&g->t);
	if (!waiting)
		free(g);
}

static void gate_late(eng_timer *t)
{
	struct gate *g = t->arg;
	g->gp->st.hook_failed++;
	CM_LOG_RL(CM_LOG_INFO, "gateway: no Diameter verdict for a MESSAGE of %s in time",
		  g->page);
	respond(g->st, 503, 1);
	g->st = NULL; /* the verdict on its way frees the gate */
}

static void gate_verdict(eng_worker *w, void *arg, enum dm_verdict v, uint32_t rc)
{
	struct gate *g = arg;
	struct gw_page *gp = g->gp;
	(void)w;
	if (!g->st) { /* answered by its timer already */
		free(g);
		return;
	}
	if (v == DM_DENY || (v == DM_FAILED && !dm_svc_fail_open(gp->sh->dm))) {
		if (v == DM_DENY)
			gp->st.hook_denied++;
		else
			gp->st.hook_failed++;
		CM_LOG_RL(CM_LOG_INFO, "gateway: %s %s a MESSAGE of %s (%u)",
			  g->sh_done ? "Ro" : "Sh", v == DM_DENY ? "refused" : "gave no verdict on",
			  g->page, rc);
		gate_answer(g, v == DM_DENY ? 403 : 503, 0);
		return;
	}
	g->failed |= v == DM_FAILED;
	g->sh_done = 1;
	gate_next(gp, g);
}

static void gate_next(struct gw_page *gp, struct gate *g)
{
	struct dm_svc *dm = gp->sh->dm;
	int rc = 1; /* 1: nothing more to ask */
	if (!g->sh_done && dm_svc_sh_on(dm) && !find_live(gp, g->key, msrp_id_hash(sl(g->key)))) {
		rc = dm_svc_sh_check(dm, gp->w, g->page, gate_verdict, g);
	} else if (!g->ro_asked && dm_svc_ro_on(dm)) {
		g->sh_done = g->ro_asked = 1;
		rc = dm_svc_ro_charge(dm, gp->w, g->page, gate_verdict, g);
	}
	if (rc == 0)
		return; /* gate_verdict goes on */
	if (rc < 0) { /* the node's mailbox is full: no verdict */
		g->failed = 1;
		if (!dm_svc_fail_open(dm)) {
			gp->st.hook_failed++;
			gate_answer(g, 503, 0);
			return;
		}
	}
	gp->st.hook_failed += g->failed; /* (once per message) */
	eng_timer_cancel(&g->t);
	deliver(gp, g->st, g->page, g->rcs, g->key, g->ruri, g->ctype, g->body, g->len,
		eng_now_ms(gp->w) - g->t0);
	free(g);
}

static void on_message(void *arg, struct gw_ua *ua, struct sip_txn *st, const struct sip_msg *req,
		       const struct sip_dest *src)
{
	struct gw_page_shared *sh = arg;
	struct gw_page *gp = gw_page_at(sh, gw_ua_index(ua));
	char page[GW_UA_MAX_URI], rcs[GW_UA_MAX_URI], key[GP_KEY_MAX], ruri[GW_UA_MAX_URI];
	char ctype[256];
	struct sip_ctype ct;
	(void)src;
	if (!gp) {
		respond(st, 503, 1);
		return;
	}
	if (!converted(sh, ua, req)) {
		struct sip_uri u;
		if (sh->proxy && sip_uri_parse(req->ruri, &u) == 0 && !gw_ua_is_self(ua, &u)) {
			forward(gp, st, req);
			return;
		}
		if (gw_ua_pager_take(ua, st, req, src) == 0)
			return; /* for rcsgw itself: a standalone message for the applications */
		gp->st.rejected++;
		respond(st, sh->reject_code, 0);
		return;
	}
	cm_slice ctv = sip_msg_hdr(req, SIP_H_CONTENT_TYPE);
	if (hdr_uri(req, SIP_H_FROM, page, sizeof(page)) < 0 ||
	    hdr_uri(req, SIP_H_TO, rcs, sizeof(rcs)) < 0 || req->ruri.len >= sizeof(ruri) ||
	    pair_key(sl(page), sl(rcs), key, sizeof(key)) < 0 || !req->body.len || !ctv.len ||
	    ctv.len >= sizeof(ctype) || sip_ctype_parse(ctv, &ct) < 0) {
		respond(st, 400, 0); /* no usable From/To, or no body with a Content-Type */
		return;
	}
	memcpy(ctype, ctv.p, ctv.len);
	ctype[ctv.len] = '\0';
	memcpy(ruri, req->ruri.p, req->ruri.len);
	ruri[req->ruri.len] = '\0';
	if (gp->sh->dm) { /* Diameter first: Sh, Ro */
		struct gate *g = malloc(sizeof(*g) + req->body.len);
		if (!g) {
			respond(st, 503, 1);
			return;
		}
		memset(g, 0, sizeof(*g));
		g->gp = gp;
		g->st = st;
		g->t0 = eng_now_ms(gp->w);
		eng_timer_init(&g->t, gate_late, g);
		/* answered by then whatever Diameter says: within the transaction's life, with
		 * room left for the held answer (await_delivery) */
		eng_timer_arm(gp->w, &g->t, sh->txn_ms / 2);
		memcpy(g->page, page, sizeof(g->page));
		memcpy(g->rcs, rcs, sizeof(g->rcs));
		memcpy(g->key, key, sizeof(g->key));
		memcpy(g->ruri, ruri, sizeof(g->ruri));
		memcpy(g->ctype, ctype, sizeof(g->ctype));
		memcpy(g->body, req->body.p, req->body.len);
		g->len = req->body.len;
		gate_next(gp, g);
		return;
	}
	deliver(gp, st, page, rcs, key, ruri, ctype, req->body.p, req->body.len, 0);
}

/* ---- INVITEs from RCS phones to page-mode users ------------------------------------------------ */

/* 1 when the URI <u> is a page-mode user of gateway.page_users. */
static int page_user(const struct gw_page_shared *sh, const char *u)
{
	struct sip_uri p;
	if (sip_uri_parse(sl(u), &p) < 0)
		return 0;
	for (size_t i = 0; i < sh->npages; i++) {
		const struct rule *r = &sh->pages[i];
		size_t vl = strlen(r->value);
		if (r->kind == R_DOMAIN ? p.host.len == vl && !strncasecmp(p.host.p, r->value, vl)
					: !strncmp(u, r->value, vl))
			return 1;
	}
	return 0;
}

/* A new INVITE with MSRP (session <id>, ringing) from <from> to <to>: the gateway answers it
 * when <to> is a page-mode user or the pair exists already; the session then reports here. */
static int claim(void *arg, struct gw_ua *ua, const char *id, const char *from, const char *to,
		 const struct gw_ua_owner **own, void **owner_arg)
{
	struct gw_page_shared *sh = arg;
	struct gw_page *gp = gw_page_at(sh, gw_ua_index(ua));
	char key[GP_KEY_MAX], msg[256];
	if (!gp || pair_key(sl(to), sl(from), key, sizeof(key)) < 0)
		return 0;
	uint64_t h = msrp_id_hash(sl(key));
	if (!find(gp, key, h) && !page_user(sh, to))
		return 0;
	struct gp_sess *s = pair_new(gp, key, h, id, to, from);
	if (!s)
		return 0;
	*own = &owner;
	*owner_arg = s;
	touch(s, 1);
	/* answered now; a refusal (no type in common) ends it through o_over, which frees <s> */
	gw_ua_answer(ua, id, NULL, 0, msg, sizeof(msg));
	return 1;
}

/* A session the gateway owned on a node that died, taken over here (issue 8): its pair
 * made anew, up, so that each side's messages cross again. */
static int adopt(void *arg, struct gw_ua *ua, const char *id, int incoming, const char *from,
		 const char *to, const struct gw_ua_owner **own, void **owner_arg)
{
	struct gw_page *gp = gw_page_at(arg, gw_ua_index(ua));
	const char *page = incoming ? to : from, *rcs = incoming ? from : to;
	char key[GP_KEY_MAX];
	if (!gp || pair_key(sl(page), sl(rcs), key, sizeof(key)) < 0)
		return 0;
	uint64_t h = msrp_id_hash(sl(key));
	/* not when the pair lives here already (its user came back first: its session is the
	 * one used), nor on another worker than the key's (a node with other workers) */
	struct gp_sess *other = find(gp, key, h);
	if (other || gw_page_worker_of_key(gp->sh, key) != gw_ua_index(ua)) {
		CM_WARN("gateway: session %s taken over: pair %s not made again here (%s%s)", id,
			key, other ? "it lives here, on session " : "another worker's",
			other ? other->id : "");
		return 0;
	}
	struct gp_sess *s = pair_new(gp, key, h, id, page, rcs);
	if (!s)
		return 0;
	s->up = 1;
	gp->st.adopted++;
	*own = &owner;
	*owner_arg = s;
	touch(s, 1);
	return 1;
}

/* ---- a worker's part ------------------------------------------------------------------------ */

struct gw_page *gw_page_start(struct gw_page_shared *sh, struct gw_ua *ua)
{
	struct gw_page *gp = calloc(1, sizeof(*gp));
	if (!gp)
		return NULL;
	gp->sh = sh;
	gp->ua = ua;
	gp->w = gw_ua_worker(ua);
	atomic_store_explicit(&sh->workers[gw_ua_index(ua)], gp, memory_order_release);
	return gp;
}

void gw_page_free(struct gw_page *gp)
{
	if (!gp)
		return;
	for (unsigned i = 0; i < GP_BUCKETS; i++)
		while (gp->buckets[i]) {
			struct gp_sess *s = gp->buckets[i];
			gp->buckets[i] = s->next;
			struct pending *p;
			while ((p = s->pend)) { /* the worker is gone: no answer can go */
				s->pend = p->next;
				free(p);
			}
			free(s);
		}
	free(gp);
}

void gw_page_stats(const struct gw_page *gp, struct gw_page_stats *out)
{
	*out = gp->st;
	out->queued = 0;
	for (unsigned i = 0; i < GP_BUCKETS; i++)
		for (const struct gp_sess *s = gp->buckets[i]; s; s = s->next)
			out->queued += s->up ? 0 : s->queued;
}

unsigned gw_page_worker_of_key(const struct gw_page_shared *sh, const char *key)
{
	/* the same on every node (a plain hash, not the process's keyed one): a pair taken
	 * over lives on the worker its MESSAGEs reach there too (same worker count) */
	return (unsigned)(cm_fnv1a64(key, strlen(key)) % sh->n);
}

/* The pair named by its session's id or by its key. */
static struct gp_sess *find_any(struct gw_page *gp, const char *s)
{
	struct gp_sess *p = find_id(gp, s);
	return p ? p : find(gp, s, msrp_id_hash(sl(s)));
}

/* ---- the API's views ------------------------------------------------------------------------- */

static json_t *sess_json(struct gw_page *gp, struct gp_sess *s)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I}", "id", s->id, "key",
			      s->key, "page_user", s->page, "rcs_user", s->rcs, "up", s->up,
			      "messages_in", (json_int_t)s->msgs_in, "messages_out",
			      (json_int_t)s->msgs_out, "queued", (json_int_t)s->queued);
	json_t *us = gw_ua_session_json(gp->ua, s->id);
	if (o && us)
		json_object_set_new(o, "session", us);
	else
		json_decref(us);
	return o;
}

json_t *gw_page_session_json(struct gw_page *gp, const char *id)
{
	struct gp_sess *s = find_any(gp, id);
	return s ? sess_json(gp, s) : NULL;
}

void gw_page_list(struct gw_page *gp, json_t *arr)
{
	for (unsigned i = 0; i < GP_BUCKETS; i++)
		for (struct gp_sess *s = gp->buckets[i]; s; s = s->next)
			json_array_append_new(arr, sess_json(gp, s));
}

int gw_page_end(struct gw_page *gp, const char *id)
{
	struct gp_sess *s = find_any(gp, id);
	if (!s)
		return 404;
	gw_ua_end(gp->ua, s->id, NULL, 0); /* the pair goes with its session (o_over) */
	return 0;
}
