/* sip_txn.c — SIP transactions (RFC 3261 §17): matching, the four state machines, their
 * timers. See sip_txn.h for what is and is not done.
 *
 * Memory: the transaction slots and the hash buckets are allocated with the layer; each
 * transaction owns a copy of its request (client: as sent, for retransmissions and the
 * ACK of §17.1.1.3; server: as received, to build responses from) and of the last message
 * it may have to send again (server: its last response; client INVITE: the ACK). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cm_hist.h"
#include "engine/eng.h"
#include "msrp/msrp_id.h"
#include "sip/sip_hdr.h"
#include "sip/sip_parse.h"
#include "sip/sip_txn.h"
#include "sip/sip_write.h"

#define SIP_TXN_COOKIE "z9hG4bK"

enum txn_state {
	TS_FREE = 0,
	TS_CALLING,                /* INVITE client, before any response */
	TS_TRYING,                 /* non-INVITE client and server, before any response */
	TS_PROCEEDING,
	TS_COMPLETED,
	TS_CONFIRMED,              /* INVITE server: ACK received, timer I runs */
};

struct sip_txn {
	struct sip_txn_layer *l;
	struct sip_txn *hnext;     /* hash chain, or the free list */
	struct sip_txn *wnext;     /* client, no response yet: the layer's waiting list */
	struct sip_txn **wprev;    /* NULL: on no such list */
	uint64_t hash;             /* of the branch */
	uint8_t server;            /* 1: server transaction */
	uint8_t state;             /* enum txn_state */
	uint8_t reliable;
	uint8_t sent_1xx;          /* server INVITE: a provisional response went out */
	enum sip_method method;    /* of the request (ACK is never one) */
	cm_slice branch;           /* into req */
	cm_slice host;             /* server: top Via sent-by host, into req */
	uint16_t port;             /* server: top Via sent-by port (0: absent) */
	uint32_t rtx_ms;           /* the interval of the next A, E or G */
	uint64_t sent_us;          /* client: eng_now_us at the request's first send */
	eng_timer t_rtx;           /* A, E, G, and the 100 Trying delay */
	eng_timer t_end;           /* B, D, F, H, I, J, K, the Proceeding bound */
	struct sip_dest dst;       /* client: the peer; server: where the request came from */
	void *ctx;
	char *req;
	size_t req_len;
	char *out;                 /* the message to send again */
	size_t out_len, out_cap;
};

struct sip_txn_layer {
	eng_worker *w;
	struct sip_txn_cfg cfg;
	struct sip_tp tp;
	struct sip_tu tu;
	struct sip_txn_stats st;
	struct sip_txn *slots;
	struct sip_txn *free_list;
	struct sip_txn *waiting;   /* client transactions that heard nothing yet: what a failed
				    * connection can fail, without a walk over every slot */
	struct sip_txn **buckets;
	uint64_t mask;
	struct sip_parse_stats pstats;
	struct sip_parse_cfg pcfg;
	char *wbuf;                /* max_msg bytes: every message written here first */
	struct sip_msg scratch;    /* a stored request parsed again */
};

void sip_txn_cfg_default(struct sip_txn_cfg *cfg)
{
	*cfg = (struct sip_txn_cfg){
		.t1_ms = 500, .t2_ms = 4000, .t4_ms = 5000, .timer_d_ms = 32000,
		.trying_ms = 200, .proceeding_ms = 180000, .max_txns = 4096, .max_msg = 65535,
	};
}

struct sip_txn_layer *sip_txn_layer_new(eng_worker *w, const struct sip_txn_cfg *cfg,
					const struct sip_tp *tp, const struct sip_tu *tu)
{
	if (!cfg->t1_ms || cfg->t2_ms < cfg->t1_ms || !cfg->max_txns || cfg->max_msg < 512 ||
	    !tp->send || !tu->on_request || !tu->on_response || !tu->on_ack)
		return NULL;
	msrp_id_init();
	struct sip_txn_layer *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->w = w;
	l->cfg = *cfg;
	l->tp = *tp;
	l->tu = *tu;
	uint64_t nb = 16;
	while (nb < 2ull * cfg->max_txns)
		nb <<= 1;
	l->mask = nb - 1;
	l->slots = calloc(cfg->max_txns, sizeof(*l->slots));
	l->buckets = calloc(nb, sizeof(*l->buckets));
	l->wbuf = malloc(cfg->max_msg);
	if (!l->slots || !l->buckets || !l->wbuf) {
		sip_txn_layer_free(l);
		return NULL;
	}
	for (uint32_t i = cfg->max_txns; i-- > 0;) {
		l->slots[i].hnext = l->free_list;
		l->free_list = &l->slots[i];
	}
	sip_parse_limits_default(&l->pcfg.limits);
	l->pcfg.limits.max_msg = cfg->max_msg;
	l->pcfg.stats = &l->pstats;
	return l;
}

static void txn_release(struct sip_txn *t);

void sip_txn_layer_free(struct sip_txn_layer *l)
{
	if (!l)
		return;
	if (l->slots)
		for (uint32_t i = 0; i < l->cfg.max_txns; i++)
			if (l->slots[i].state != TS_FREE)
				txn_release(&l->slots[i]);
	free(l->slots);
	free(l->buckets);
	free(l->wbuf);
	free(l);
}

const struct sip_txn_stats *sip_txn_layer_stats(const struct sip_txn_layer *l)
{
	return &l->st;
}

void sip_txn_set_ctx(struct sip_txn *t, void *ctx) { t->ctx = ctx; }
void *sip_txn_ctx(const struct sip_txn *t) { return t->ctx; }
enum sip_method sip_txn_method(const struct sip_txn *t) { return t->method; }

/* ---- slots, hash, helpers ------------------------------------------------------------- */

static void on_rtx(eng_timer *et);
static void on_end(eng_timer *et);

static struct sip_txn *txn_alloc(struct sip_txn_layer *l)
{
	struct sip_txn *t = l->free_list;
	if (!t)
		return NULL;
	l->free_list = t->hnext;
	memset(t, 0, sizeof(*t));
	t->l = l;
	eng_timer_init(&t->t_rtx, on_rtx, t);
	eng_timer_init(&t->t_end, on_end, t);
	l->st.active++;
	return t;
}

/* <t> onto (wait_push) or off (wait_pull, when on one) a list of unanswered client
 * transactions: the layer's, or sip_txn_transport_failed's own. */
static void wait_push(struct sip_txn **head, struct sip_txn *t)
{
	t->wnext = *head;
	if (*head)
		(*head)->wprev = &t->wnext;
	t->wprev = head;
	*head = t;
}

static void wait_pull(struct sip_txn *t)
{
	if (!t->wprev)
		return;
	*t->wprev = t->wnext;
	if (t->wnext)
		t->wnext->wprev = t->wprev;
	t->wnext = NULL;
	t->wprev = NULL;
}

static void txn_link(struct sip_txn *t)
{
	struct sip_txn **b = &t->l->buckets[t->hash & t->l->mask];
	t->hnext = *b;
	*b = t;
}

/* Unlinks <t> (when linked), cancels its timers, frees its copies, returns its slot. */
static void txn_release(struct sip_txn *t)
{
	struct sip_txn_layer *l = t->l;

	for (struct sip_txn **pp = &l->buckets[t->hash & l->mask]; *pp; pp = &(*pp)->hnext)
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	wait_pull(t);
	eng_timer_cancel(&t->t_rtx);
	eng_timer_cancel(&t->t_end);
	free(t->req);
	free(t->out);
	t->req = t->out = NULL;
	t->state = TS_FREE;
	t->hnext = l->free_list;
	l->free_list = t;
	l->st.active--;
}

static int slice_eq(cm_slice a, cm_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int slice_caseeq(cm_slice a, cm_slice b)
{
	return a.len == b.len && (a.len == 0 || strncasecmp(a.p, b.p, a.len) == 0);
}

/* The transaction of <server> side with <branch>, <method> and, for servers, sent-by
 * <host>:<port> (§17.1.3, §17.2.3). */
static struct sip_txn *txn_find(struct sip_txn_layer *l, int server, cm_slice branch,
				enum sip_method method, cm_slice host, uint16_t port)
{
	uint64_t h = msrp_id_hash(branch);

	for (struct sip_txn *t = l->buckets[h & l->mask]; t; t = t->hnext)
		if (t->hash == h && t->server == server && t->method == method &&
		    slice_eq(t->branch, branch) &&
		    (!server || (t->port == port && slice_caseeq(t->host, host))))
			return t;
	return NULL;
}

/* The top Via element of <m>, parsed. 0 or -EINVAL. */
static int top_via(const struct sip_msg *m, struct sip_via *v)
{
	struct sip_hdr_iter it;
	cm_slice elem;

	sip_hdr_iter_init(&it, m, SIP_H_VIA);
	if (sip_hdr_iter_next(&it, &elem) != 1 || sip_via_parse(elem, v) < 0)
		return -EINVAL;
	return 0;
}

static cm_slice rebase(cm_slice s, const char *from, char *to)
{
	return s.p ? (cm_slice){ to + (s.p - from), s.len } : s;
}

static int txn_send(struct sip_txn *t, const char *buf, size_t len)
{
	return t->l->tp.send(t->l->tp.arg, buf, len, &t->dst, t->reliable);
}

/* Keeps <buf>[0..<len>) as the message <t> may send again. 0 or -ENOMEM. */
static int txn_keep(struct sip_txn *t, const char *buf, size_t len)
{
	if (t->out_cap < len) {
		char *p = realloc(t->out, len);
		if (!p)
			return -ENOMEM;
		t->out = p;
		t->out_cap = len;
	}
	memcpy(t->out, buf, len);
	t->out_len = len;
	return 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* Ends <t> after a failure of its own (timeout, transport error), telling the TU. */
static void txn_fail(struct sip_txn *t, int status)
{
	struct sip_txn_layer *l = t->l;

	if (status == 408)
		l->st.timeouts++;
	else
		l->st.tp_errors++;
	if (t->server) {
		if (l->tu.on_server_error)
			l->tu.on_server_error(l->tu.arg, t, t->ctx, status);
	} else {
		l->tu.on_response(l->tu.arg, t, t->ctx, status, NULL);
	}
	txn_release(t);
}

unsigned sip_txn_transport_failed(struct sip_txn_layer *l, const struct sip_dest *dst)
{
	struct sip_txn *doomed = NULL;
	unsigned n = 0;
	uint8_t kind = dst->kind & SIP_TP_KIND_MASK;

	/* moved off the layer's list first: what the TU starts from its callbacks (a next
	 * target, perhaps the same address over a new connection) is not failed with them; one
	 * the TU ends from a callback leaves this list by txn_release */
	for (struct sip_txn *t = l->waiting, *next; t; t = next) {
		next = t->wnext;
		if ((t->dst.kind & SIP_TP_KIND_MASK) != kind || t->dst.addrlen != dst->addrlen ||
		    memcmp(&t->dst.addr, &dst->addr, dst->addrlen) != 0 ||
		    (t->dst.conn_id && dst->conn_id && t->dst.conn_id != dst->conn_id))
			continue;
		wait_pull(t);
		wait_push(&doomed, t);
	}
	while (doomed) {
		struct sip_txn *t = doomed;
		wait_pull(t);
		txn_fail(t, 503);
		n++;
	}
	return n;
}

/* Writes <status> to the stored request of server transaction <t> into l->wbuf. */
static ssize_t txn_write_response(struct sip_txn *t, int status, cm_slice reason,
				  cm_slice to_tag, const struct sip_hdr *extra, unsigned n,
				  cm_slice body)
{
	struct sip_txn_layer *l = t->l;

	if (sip_parse_msg(&l->pcfg, t->req, t->req_len, &l->scratch) < 0)
		return -EINVAL;
	return sip_write_response_from(l->wbuf, l->cfg.max_msg, &l->scratch, status, reason,
				       to_tag, extra, n, body);
}

/* Sends 100 Trying for server INVITE transaction <t> and keeps it as its last response.
 * 0, or -errno of the transport (the caller ends <t>); nothing is sent when the response
 * cannot be written or kept (0: the TU's own answer will do). */
static int txn_send_trying(struct sip_txn *t)
{
	ssize_t n = txn_write_response(t, 100, CM_SLICE_NULL, CM_SLICE_NULL, NULL, 0,
				       CM_SLICE_NULL);
	if (n < 0 || txn_keep(t, t->l->wbuf, (size_t)n) < 0)
		return 0;
	t->sent_1xx = 1;
	return txn_send(t, t->out, t->out_len);
}

/* ---- timers --------------------------------------------------------------------------- */

static void on_rtx(eng_timer *et)
{
	struct sip_txn *t = et->arg;
	struct sip_txn_layer *l = t->l;
	const char *buf = t->server ? t->out : t->req;
	size_t len = t->server ? t->out_len : t->req_len;

	if (t->server && t->state == TS_PROCEEDING) {
		/* §17.2.1: the TU did not answer within trying_ms */
		if (txn_send_trying(t) < 0)
			txn_fail(t, 503);
		return;
	}
	if (txn_send(t, buf, len) < 0) {
		txn_fail(t, 503);
		return;
	}
	l->st.retransmitted++;
	if (t->state == TS_CALLING)
		t->rtx_ms *= 2;                             /* A: no ceiling (§17.1.1.2) */
	else if (!t->server && t->state == TS_PROCEEDING)
		t->rtx_ms = l->cfg.t2_ms;                   /* E in Proceeding */
	else
		t->rtx_ms = min_u32(2 * t->rtx_ms, l->cfg.t2_ms);   /* E, G */
	eng_timer_arm(l->w, &t->t_rtx, t->rtx_ms);
}

static void on_end(eng_timer *et)
{
	struct sip_txn *t = et->arg;

	switch (t->state) {
	case TS_CALLING:
	case TS_TRYING:
	case TS_PROCEEDING:                   /* B, F, the bounds of unanswered requests */
		txn_fail(t, 408);
		return;
	case TS_COMPLETED:
		if (t->server && t->method == SIP_M_INVITE) {   /* H: no ACK came */
			txn_fail(t, 408);
			return;
		}
		break;                        /* D, J, K */
	default:                              /* I */
		break;
	}
	txn_release(t);
}

/* ---- client transactions -------------------------------------------------------------- */

int sip_txn_branch(char *buf, size_t cap)
{
	size_t c = sizeof(SIP_TXN_COOKIE) - 1;

	if (cap < c + 1)
		return -ENOSPC;
	memcpy(buf, SIP_TXN_COOKIE, c);
	int n = msrp_id_tid(buf + c, cap - c);
	return n < 0 ? n : (int)c + n;
}

int sip_txn_request(struct sip_txn_layer *l, const char *buf, size_t len,
		    const struct sip_dest *dst, void *ctx, struct sip_txn **out)
{
	struct sip_msg *m = &l->scratch;
	struct sip_via v;

	if (out)
		*out = NULL;
	if (sip_parse_msg(&l->pcfg, buf, len, m) < 0 || m->kind != SIP_KIND_REQUEST ||
	    m->method == SIP_M_ACK || top_via(m, &v) < 0 || !v.branch.len)
		return -EINVAL;
	if (txn_find(l, 0, v.branch, m->method, CM_SLICE_NULL, 0))
		return -EINVAL;
	struct sip_txn *t = txn_alloc(l);
	if (!t) {
		l->st.refused++;
		return -EBUSY;
	}
	t->req = malloc(len);
	if (!t->req) {
		txn_release(t);
		return -ENOMEM;
	}
	memcpy(t->req, buf, len);
	t->req_len = len;
	t->branch = rebase(v.branch, buf, t->req);
	t->hash = msrp_id_hash(t->branch);
	t->method = m->method;
	t->dst = *dst;
	t->reliable = (uint8_t)sip_dest_reliable(dst);
	t->ctx = ctx;
	t->state = m->method == SIP_M_INVITE ? TS_CALLING : TS_TRYING;
	t->sent_us = eng_now_us(l->w);
	int rc = txn_send(t, t->req, t->req_len);
	if (rc < 0) {
		l->st.tp_errors++;
		txn_release(t);
		return rc;
	}
	txn_link(t);
	wait_push(&l->waiting, t);
	l->st.client_created++;
	if (!t->reliable) {
		t->rtx_ms = l->cfg.t1_ms;
		eng_timer_arm(l->w, &t->t_rtx, t->rtx_ms);
	}
	eng_timer_arm(l->w, &t->t_end, 64ull * l->cfg.t1_ms);
	if (out)
		*out = t;
	return 0;
}

/* Writes the ACK of §17.1.1.3 for the non-2xx final <resp> to INVITE client transaction
 * <t> into l->wbuf: the original Request-URI, top Via (same branch), From, Call-ID and
 * Route headers, To of the response, CSeq with the same number and ACK. */
static ssize_t txn_write_ack(struct sip_txn *t, const struct sip_msg *resp)
{
	struct sip_txn_layer *l = t->l;
	struct sip_msg *m = &l->scratch;
	struct sip_hdr h[16];
	struct sip_hdr_iter it;
	struct sip_cseq cs;
	cm_slice via;
	char cseq[32];
	unsigned n = 0;

	if (sip_parse_msg(&l->pcfg, t->req, t->req_len, m) < 0 ||
	    sip_cseq_parse(sip_msg_hdr(m, SIP_H_CSEQ), &cs) < 0)
		return -EINVAL;
	sip_hdr_iter_init(&it, m, SIP_H_VIA);
	if (sip_hdr_iter_next(&it, &via) != 1)
		return -EINVAL;
	int cl = snprintf(cseq, sizeof(cseq), "%u ACK", (unsigned)cs.seq);
	h[n++] = (struct sip_hdr){ SIP_H_VIA, CM_SLICE_NULL, via };
	h[n++] = (struct sip_hdr){ SIP_H_MAX_FORWARDS, CM_SLICE_NULL, CM_SLICE_LIT("70") };
	h[n++] = (struct sip_hdr){ SIP_H_FROM, CM_SLICE_NULL, sip_msg_hdr(m, SIP_H_FROM) };
	h[n++] = (struct sip_hdr){ SIP_H_TO, CM_SLICE_NULL, sip_msg_hdr(resp, SIP_H_TO) };
	h[n++] = (struct sip_hdr){ SIP_H_CALL_ID, CM_SLICE_NULL, sip_msg_hdr(m, SIP_H_CALL_ID) };
	h[n++] = (struct sip_hdr){ SIP_H_CSEQ, CM_SLICE_NULL, (cm_slice){ cseq, (size_t)cl } };
	for (unsigned i = 0; i < m->nhdrs && n < sizeof(h) / sizeof(h[0]); i++)
		if (m->hdrs[i].id == SIP_H_ROUTE)
			h[n++] = (struct sip_hdr){ SIP_H_ROUTE, CM_SLICE_NULL, m->hdrs[i].value };
	return sip_write_request(l->wbuf, l->cfg.max_msg, CM_SLICE_LIT("ACK"), m->ruri, h, n,
				 CM_SLICE_NULL);
}

static void client_response(struct sip_txn *t, const struct sip_msg *m)
{
	struct sip_txn_layer *l = t->l;
	int st = m->status;

	wait_pull(t);
	if (t->state == TS_COMPLETED) {
		l->st.absorbed++;
		if (t->method == SIP_M_INVITE && st >= 300 && t->out_len &&
		    txn_send(t, t->out, t->out_len) == 0)
			l->st.retransmitted++;      /* the ACK again (§17.1.1.2) */
		return;
	}
	if (st < 200) {
		if (t->method == SIP_M_INVITE) {
			eng_timer_cancel(&t->t_rtx);
			eng_timer_arm(l->w, &t->t_end, l->cfg.proceeding_ms);
		}
		t->state = TS_PROCEEDING;
		l->tu.on_response(l->tu.arg, t, t->ctx, st, m);
		return;
	}
	eng_timer_cancel(&t->t_rtx);
	eng_timer_cancel(&t->t_end);
	cm_hist_add(t->method == SIP_M_INVITE ? &l->st.invite_setup : &l->st.non_invite,
		    eng_now_us(l->w) - t->sent_us);
	if (t->method == SIP_M_INVITE && st < 300) {
		/* 2xx: the transaction ends, the ACK is the TU's (§17.1.1.2) */
		l->tu.on_response(l->tu.arg, t, t->ctx, st, m);
		txn_release(t);
		return;
	}
	t->state = TS_COMPLETED;
	if (t->method == SIP_M_INVITE) {
		ssize_t n = txn_write_ack(t, m);
		if (n > 0 && txn_keep(t, l->wbuf, (size_t)n) == 0) {
			if (txn_send(t, t->out, t->out_len) == 0)
				l->st.acks_sent++;
			else
				l->st.tp_errors++;
		}
	}
	l->tu.on_response(l->tu.arg, t, t->ctx, st, m);
	if (t->reliable)
		txn_release(t);
	else
		eng_timer_arm(l->w, &t->t_end, t->method == SIP_M_INVITE ? l->cfg.timer_d_ms
									  : l->cfg.t4_ms);
}

/* ---- server transactions -------------------------------------------------------------- */

int sip_txn_respond(struct sip_txn *t, int status, cm_slice reason, cm_slice to_tag,
		    const struct sip_hdr *extra, unsigned n, cm_slice body)
{
	struct sip_txn_layer *l = t->l;

	if (!t->server || (t->state != TS_TRYING && t->state != TS_PROCEEDING) ||
	    status < 100 || status > 699)
		return -EINVAL;
	ssize_t len = txn_write_response(t, status, reason, to_tag, extra, n, body);
	if (len < 0)
		return (int)len;
	int rc = txn_send(t, l->wbuf, (size_t)len);
	if (rc < 0) {
		l->st.tp_errors++;
		txn_release(t);
		return rc;
	}
	int invite = t->method == SIP_M_INVITE;
	if (!(invite && status >= 200 && status < 300) && txn_keep(t, l->wbuf, (size_t)len) < 0)
		t->out_len = 0;                     /* sent once, never again */
	eng_timer_cancel(&t->t_rtx);
	if (status < 200) {
		t->state = TS_PROCEEDING;
		t->sent_1xx = 1;
		if (invite) /* a TU that keeps saying 1xx is alive: proceeding_ms from now */
			eng_timer_arm(l->w, &t->t_end, l->cfg.proceeding_ms);
		return 0;
	}
	if (invite && status < 300) {
		txn_release(t);
		return 0;
	}
	t->state = TS_COMPLETED;
	if (invite) {
		if (!t->reliable) {
			t->rtx_ms = l->cfg.t1_ms;
			eng_timer_arm(l->w, &t->t_rtx, t->rtx_ms);     /* G */
		}
		eng_timer_arm(l->w, &t->t_end, 64ull * l->cfg.t1_ms);    /* H */
	} else if (t->reliable) {
		txn_release(t);                                  /* J = 0 */
	} else {
		eng_timer_arm(l->w, &t->t_end, 64ull * l->cfg.t1_ms);    /* J */
	}
	return 0;
}

int sip_txn_reply_stateless(struct sip_txn_layer *l, const struct sip_msg *req,
			    const struct sip_dest *src, int status, cm_slice to_tag)
{
	ssize_t n = sip_write_response_from(l->wbuf, l->cfg.max_msg, req, status, CM_SLICE_NULL,
					    to_tag, NULL, 0, CM_SLICE_NULL);
	if (n < 0)
		return (int)n;
	return l->tp.send(l->tp.arg, l->wbuf, (size_t)n, src, sip_dest_reliable(src));
}

struct sip_txn *sip_txn_find_invite(struct sip_txn_layer *l, const struct sip_txn *cancel_st)
{
	if (!cancel_st->server || cancel_st->method != SIP_M_CANCEL)
		return NULL;
	return txn_find(l, 1, cancel_st->branch, SIP_M_INVITE, cancel_st->host, cancel_st->port);
}

/* A request that matched server transaction <t>: an ACK (§17.2.1) or a retransmission. */
static void server_again(struct sip_txn *t, const struct sip_msg *m)
{
	struct sip_txn_layer *l = t->l;

	l->st.absorbed++;
	if (m->method == SIP_M_ACK) {
		if (t->state != TS_COMPLETED)
			return;
		t->state = TS_CONFIRMED;
		eng_timer_cancel(&t->t_rtx);
		if (t->reliable)
			txn_release(t);                          /* I = 0 */
		else
			eng_timer_arm(l->w, &t->t_end, l->cfg.t4_ms);   /* I */
		return;
	}
	if ((t->state == TS_PROCEEDING || t->state == TS_COMPLETED) && t->out_len &&
	    txn_send(t, t->out, t->out_len) == 0)
		l->st.retransmitted++;
}

static int server_new(struct sip_txn_layer *l, const char *raw, size_t rawlen,
		      const struct sip_msg *m, const struct sip_via *v,
		      const struct sip_dest *src)
{
	struct sip_txn *t = txn_alloc(l);

	if (!t || !(t->req = malloc(rawlen))) {
		if (t)
			txn_release(t);
		l->st.refused++;
		l->tu.on_request(l->tu.arg, NULL, m, src);
		return 0;
	}
	memcpy(t->req, raw, rawlen);
	t->req_len = rawlen;
	t->server = 1;
	t->branch = rebase(v->branch, raw, t->req);
	t->host = rebase(v->host, raw, t->req);
	t->port = v->port;
	t->hash = msrp_id_hash(t->branch);
	t->method = m->method;
	t->dst = *src;
	t->reliable = (uint8_t)sip_dest_reliable(src);
	t->state = m->method == SIP_M_INVITE ? TS_PROCEEDING : TS_TRYING;
	if (m->method == SIP_M_INVITE && !l->cfg.trying_ms && txn_send_trying(t) < 0) {
		l->st.tp_errors++;
		txn_release(t);
		return -EIO;
	}
	txn_link(t);
	l->st.server_created++;
	if (m->method == SIP_M_INVITE && l->cfg.trying_ms)
		eng_timer_arm(l->w, &t->t_rtx, l->cfg.trying_ms);
	/* a TU that never answers finally must not hold the slot for ever */
	eng_timer_arm(l->w, &t->t_end, m->method == SIP_M_INVITE ? l->cfg.proceeding_ms
								  : 64ull * l->cfg.t1_ms);
	l->tu.on_request(l->tu.arg, t, m, src);
	return 0;
}

/* ---- input ---------------------------------------------------------------------------- */

int sip_txn_input(struct sip_txn_layer *l, const char *raw, size_t rawlen,
		  const struct sip_msg *m, const struct sip_dest *src)
{
	struct sip_via v;
	struct sip_cseq cs;

	if (top_via(m, &v) < 0 || sip_cseq_parse(sip_msg_hdr(m, SIP_H_CSEQ), &cs) < 0) {
		l->st.dropped++;
		return -EINVAL;
	}
	if (m->kind == SIP_KIND_RESPONSE) {
		struct sip_txn *t = v.branch.len ? txn_find(l, 0, v.branch, cs.method,
							    CM_SLICE_NULL, 0) : NULL;
		if (!t) {
			l->st.stray_responses++;
			l->tu.on_response(l->tu.arg, NULL, NULL, m->status, m);
			return 0;
		}
		client_response(t, m);
		return 0;
	}
	if (m->kind != SIP_KIND_REQUEST) {
		l->st.dropped++;
		return -EINVAL;
	}
	/* only RFC 3261 branches (the magic cookie) name a transaction alone (§17.2.3): two
	 * requests of RFC 2543 peers may share one, and would be taken for a retransmission
	 * (answered on the first one's connection). Those are not served: see below. */
	if (v.branch.len < sizeof(SIP_TXN_COOKIE) ||
	    memcmp(v.branch.p, SIP_TXN_COOKIE, sizeof(SIP_TXN_COOKIE) - 1) != 0)
		v.branch = CM_SLICE_NULL;
	enum sip_method key = m->method == SIP_M_ACK ? SIP_M_INVITE : m->method;
	struct sip_txn *t = v.branch.len ? txn_find(l, 1, v.branch, key, v.host, v.port) : NULL;
	if (t) {
		server_again(t, m);
		return 0;
	}
	if (m->method == SIP_M_ACK) {
		l->st.stray_acks++;
		l->tu.on_ack(l->tu.arg, m, src);
		return 0;
	}
	if (!v.branch.len) { /* RFC 2543's transactions are not served: say so (400) */
		l->st.dropped++;
		(void)sip_txn_reply_stateless(l, m, src, 400, CM_SLICE_NULL);
		return -EINVAL;
	}
	return server_new(l, raw, rawlen, m, &v, src);
}
