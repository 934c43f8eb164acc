/* dm_node.c — the Diameter node: peers, routing, failover, requests received (dm_node.h). */
#include "diameter/dm_node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cm_log.h"
#include "common/cm_sr.h"
#include "common/cm_time.h"
#include "diameter/dm_check.h"
#include "diameter/dm_peer.h"
#include "engine/eng_dns.h"

#define AVP_SESSION_ID 263
#define AVP_ORIGIN_HOST 264
#define AVP_RESULT_CODE 268
#define AVP_ORIGIN_REALM 296
#define AVP_DEST_REALM 283
#define AVP_DEST_HOST 293
#define AVP_EXPERIMENTAL_RESULT 297
#define CER_WAIT_MS 5000               /* CEA, CER and DPA waits */
#define ANSWER_HEAD 1024               /* what an answer adds to the AVPs given */

/* A peer: one of the configuration (kept for the node's life, connected again Tc after it
 * goes) or one that connected to us (freed when its connection ends). */
struct npeer {
	struct dm_node *n;
	struct npeer *next;
	struct dm_peer *p;             /* NULL between connections */
	const struct dm_node_peer_cfg *cfg; /* NULL: accepted */
	struct dm_peer_cfg pcfg;
	enum dm_peer_state st;
	uint64_t since_ms;             /* wall clock of the last change of state */
	uint64_t serial;               /* names it in requests received (never reused) */
	eng_timer tc;
	int resolving;
	char host[256], realm[256], addr[320];
	uint64_t reconnects, requests_out, answers_in, requests_in, malformed, suspects;
};

/* A request of ours, from dm_node_request to its outcome. */
struct nreq {
	struct dm_node *n;
	struct nreq *next;             /* in n->parked while no peer may take it */
	uint8_t *msg;
	size_t len;
	uint32_t app;
	char dhost[256], drealm[256];
	uint64_t deadline;             /* eng_now_ms */
	struct npeer *on;              /* sent there, waiting */
	int sent;                      /* times sent (the second on is a failover) */
	eng_timer t;                   /* the deadline while parked */
	dm_node_answer_fn fn;
	void *arg;
};

/* A request received, waiting for the application's answer. */
struct nin {
	struct nin *next;
	struct dm_node *n;
	uint64_t id, peer_serial;
	uint8_t *msg;
	size_t len;
	eng_timer t;
};

struct dm_node {
	eng_worker *w;
	const struct dm_node_cfg *cfg;
	struct npeer *peers;
	struct nreq *parked;
	struct nin *in;
	unsigned nin;
	unsigned npending;             /* requests of ours not ended yet */
	uint64_t next_id, next_serial;
	eng_listener *l;
	eng_dns *dns;
	int stopping;
	struct dm_node_stats st;
	struct dm_traffic traffic;     /* its peers' messages and round trips */
	_Atomic unsigned open, npeers, open_cfg;
};

/* ---- the configuration's URIs ----------------------------------------------------------- */

int dm_node_parse_peer(const char *uri, struct dm_node_peer_cfg *out, char *err,
		       size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (strlen(uri) >= sizeof(out->uri)) {
		snprintf(err, errlen, "%.40s...: too long", uri);
		return -EINVAL;
	}
	snprintf(out->uri, sizeof(out->uri), "%s", uri);
	if (!strncasecmp(uri, "aaas://", 7)) {
		snprintf(err, errlen, "%s: aaas:// (TLS) is not supported", uri);
		return -EINVAL;
	}
	if (strncasecmp(uri, "aaa://", 6)) {
		snprintf(err, errlen, "%s: not an aaa:// URI", uri);
		return -EINVAL;
	}
	const char *h = uri + 6, *e;
	if (*h == '[') {
		e = strchr(h, ']');
		if (!e || e == h + 1 || (size_t)(e - h - 1) >= sizeof(out->host)) {
			snprintf(err, errlen, "%s: a bad IPv6 address", uri);
			return -EINVAL;
		}
		memcpy(out->host, h + 1, (size_t)(e - h - 1));
		e++;
	} else {
		e = h + strcspn(h, ":;/");
		if (e == h || (size_t)(e - h) >= sizeof(out->host)) {
			snprintf(err, errlen, "%s: no host", uri);
			return -EINVAL;
		}
		memcpy(out->host, h, (size_t)(e - h));
	}
	out->port = DM_PORT;
	if (*e == ':') {
		char *end;
		long port = strtol(e + 1, &end, 10);
		if (end == e + 1 || port < 1 || port > 65535) {
			snprintf(err, errlen, "%s: a bad port", uri);
			return -EINVAL;
		}
		out->port = (uint16_t)port;
		e = end;
	}
	while (*e == ';') {
		const char *k = e + 1, *v = strchr(k, '=');
		const char *next = k + strcspn(k, ";");
		if (!v || v > next || v + 1 == next) {
			snprintf(err, errlen, "%s: a parameter without a value", uri);
			return -EINVAL;
		}
		size_t kl = (size_t)(v - k), vl = (size_t)(next - v - 1);
		if (kl == 9 && !strncasecmp(k, "transport", 9)) {
			if (vl != 3 || strncasecmp(v + 1, "tcp", 3)) {
				snprintf(err, errlen, "%s: only transport=tcp is supported", uri);
				return -EINVAL;
			}
		} else if (kl == 5 && !strncasecmp(k, "realm", 5) && vl < sizeof(out->realm)) {
			memcpy(out->realm, v + 1, vl);
			out->realm[vl] = '\0';
		} else if (!(kl == 8 && !strncasecmp(k, "protocol", 8))) {
			snprintf(err, errlen, "%s: unknown parameter %.*s", uri, (int)kl, k);
			return -EINVAL;
		}
		e = next;
	}
	if (*e) {
		snprintf(err, errlen, "%s: something after the URI: %s", uri, e);
		return -EINVAL;
	}
	return 0;
}

/* ---- peers -------------------------------------------------------------------------- */

static void connect_peer(struct npeer *np);
static void on_request(void *arg, struct dm_peer *p, const uint8_t *m, size_t n);
static uint32_t on_admit(void *arg, struct dm_peer *p);
static void kick_parked(struct dm_node *n);
static void in_drop_peer(struct dm_node *n, uint64_t serial);

static int peer_open(const struct npeer *np)
{
	return np->p && np->st == DM_PEER_OPEN;
}

static void count_open(struct dm_node *n)
{
	unsigned k = 0, all = 0, kc = 0;
	for (struct npeer *np = n->peers; np; np = np->next, all++) {
		k += peer_open(np);
		kc += peer_open(np) && np->cfg;
	}
	atomic_store_explicit(&n->open, k, memory_order_relaxed);
	atomic_store_explicit(&n->open_cfg, kc, memory_order_relaxed);
	atomic_store_explicit(&n->npeers, all, memory_order_relaxed);
	n->st.peers_open = k;
	n->st.peers = all;
}

static void keep_counters(struct npeer *np)
{
	struct dm_peer_stats s;
	if (!np->p)
		return;
	dm_peer_stats(np->p, &s);
	np->malformed += s.malformed;
	np->suspects += s.suspects;
	np->n->st.malformed += s.malformed;
	np->n->st.watchdog_suspects += s.suspects;
}

static void peer_unlink(struct npeer *np)
{
	struct npeer **pp = &np->n->peers;
	while (*pp && *pp != np)
		pp = &(*pp)->next;
	if (*pp)
		*pp = np->next;
}

static void on_state(void *arg, struct dm_peer *p, enum dm_peer_state st)
{
	struct npeer *np = arg;
	struct dm_node *n = np->n;
	enum dm_peer_state was = np->st;
	np->st = st;
	np->since_ms = cm_wall_ms();
	if (st == DM_PEER_OPEN) {
		snprintf(np->host, sizeof(np->host), "%s", dm_peer_host(p));
		if (!np->cfg || !np->cfg->realm[0])
			snprintf(np->realm, sizeof(np->realm), "%s", dm_peer_realm(p));
		if (was != DM_PEER_SUSPECT) {
			n->st.connects++;
			cm_sr_report("diameter", CM_LOG_INFO, "peer %s (%s) open", np->host,
				     np->realm);
		}
	}
	count_open(n);
	if (st == DM_PEER_OPEN) {
		kick_parked(n);
		return;
	}
	if (st != DM_PEER_CLOSED)
		return;
	if (was != DM_PEER_OPEN && was != DM_PEER_SUSPECT && was != DM_PEER_CLOSING)
		n->st.connect_failures++;
	else
		cm_sr_report("diameter", CM_LOG_WARN, "peer %s (%s) closed", np->host, np->realm);
	in_drop_peer(n, np->serial); /* their answers cannot go any more */
	keep_counters(np);
	dm_peer_free(p); /* (freed when this callback returns) */
	np->p = NULL;
	if (!np->cfg) { /* an accepted one: gone with its connection */
		peer_unlink(np);
		free(np);
		count_open(n);
		return;
	}
	if (!n->stopping) {
		np->reconnects++;
		eng_timer_arm(n->w, &np->tc, n->cfg->tc_ms ? n->cfg->tc_ms : 30000);
	}
}

static void tc_fire(eng_timer *t)
{
	struct npeer *np = t->arg;
	if (!np->n->stopping && !np->p)
		connect_peer(np);
}

static struct npeer *route(struct dm_node *n, const struct nreq *q, const struct npeer *not);

/* <np> turned suspect: its request <req_arg> fails over only when another peer takes it
 * (else it waits there: its answer may still come, and a copy elsewhere would be a second
 * one) */
static int on_failover(void *arg, struct dm_peer *p, void *req_arg)
{
	struct npeer *np = arg;
	(void)p;
	return route(np->n, req_arg, np) != NULL;
}

static void peer_cfg(struct dm_node *n, struct npeer *np)
{
	np->pcfg = (struct dm_peer_cfg){
		.origin_host = n->cfg->origin_host, .origin_realm = n->cfg->origin_realm,
		.product = n->cfg->product, .vendor_id = n->cfg->vendor_id,
		.auth_apps = n->cfg->apps, .nauth = n->cfg->napps, .tw_ms = n->cfg->tw_ms,
		.cer_timeout_ms = CER_WAIT_MS, .dict = n->cfg->dict, .lim = n->cfg->lim,
		.state = on_state, .admit = on_admit, .failover = on_failover,
		.request = on_request, .arg = np, .traffic = &n->traffic,
		.slow_frames = &n->st.slow_frames,
	};
}

static void connect_to(struct npeer *np, const char *addr)
{
	char hp[320];
	if (strchr(addr, ':'))
		snprintf(hp, sizeof(hp), "[%s]:%u", addr, np->cfg->port);
	else
		snprintf(hp, sizeof(hp), "%s:%u", addr, np->cfg->port);
	snprintf(np->addr, sizeof(np->addr), "%s", hp);
	np->serial = ++np->n->next_serial; /* requests received name this connection */
	np->st = DM_PEER_CONNECTING;
	np->since_ms = cm_wall_ms();
	np->p = dm_peer_connect(np->n->w, hp, &np->pcfg);
	if (!np->p) {
		np->n->st.connect_failures++;
		np->st = DM_PEER_CLOSED;
		eng_timer_arm(np->n->w, &np->tc, np->n->cfg->tc_ms ? np->n->cfg->tc_ms : 30000);
	}
}

static void resolved(eng_dns *d, int status, const struct eng_dns_result *res, void *arg)
{
	struct npeer *np = arg;
	char a[64];
	if (status == -ECANCELED)
		return; /* the resolver is being freed: <np> may be gone */
	np->resolving = 0;
	if (np->n->stopping)
		return;
	if (status < 0 && res && res->type == ENG_DNS_A &&
	    eng_dns_query(d, np->cfg->host, ENG_DNS_AAAA, resolved, np) == 0) {
		np->resolving = 1; /* no IPv4 address: IPv6 then */
		return;
	}
	if (status < 0 || !res || !res->n) {
		CM_LOG_RL(CM_LOG_WARN, "diameter: peer %s: no address (%s)", np->cfg->uri,
			  strerror(-status));
		np->n->st.connect_failures++;
		np->st = DM_PEER_CLOSED;
		eng_timer_arm(np->n->w, &np->tc, np->n->cfg->tc_ms ? np->n->cfg->tc_ms : 30000);
		return;
	}
	connect_to(np, eng_dns_addr_str(&res->addrs[0], a, sizeof(a)));
}

static void connect_peer(struct npeer *np)
{
	struct in6_addr a6;
	struct in_addr a4;
	peer_cfg(np->n, np);
	if (inet_pton(AF_INET, np->cfg->host, &a4) == 1 ||
	    inet_pton(AF_INET6, np->cfg->host, &a6) == 1) {
		connect_to(np, np->cfg->host);
		return;
	}
	np->st = DM_PEER_CONNECTING;
	if (np->n->dns && eng_dns_query(np->n->dns, np->cfg->host, ENG_DNS_A, resolved, np) == 0) {
		np->resolving = 1;
		return;
	}
	np->n->st.connect_failures++;
	np->st = DM_PEER_CLOSED;
	eng_timer_arm(np->n->w, &np->tc, np->n->cfg->tc_ms ? np->n->cfg->tc_ms : 30000);
}

/* A CER on the listener: a configured peer's identity, or one of diameter.accept. */
static uint32_t on_admit(void *arg, struct dm_peer *p)
{
	struct npeer *np = arg;
	struct dm_node *n = np->n;
	const char *h = dm_peer_host(p);
	if (np->cfg)
		return DM_RC_SUCCESS; /* (we connected: this is its CER answered... never) */
	for (unsigned i = 0; i < n->cfg->npeers; i++)
		if (!strcasecmp(n->cfg->peers[i].host, h))
			return DM_RC_SUCCESS;
	for (unsigned i = 0; i < n->cfg->naccept; i++)
		if (!fnmatch(n->cfg->accept[i], h, FNM_CASEFOLD))
			return DM_RC_SUCCESS;
	CM_LOG_RL(CM_LOG_WARN, "diameter: a peer %s connected, not one of ours: refused (3010)",
		  h);
	return DM_RC_UNKNOWN_PEER;
}

static void on_accept(eng_listener *l, eng_conn *c)
{
	struct dm_node *n = l->udata;
	struct npeer *np = calloc(1, sizeof(*np));
	if (!np || n->stopping) {
		free(np);
		eng_close(c);
		return;
	}
	np->n = n;
	np->serial = ++n->next_serial;
	np->st = DM_PEER_WAIT_CER;
	np->since_ms = cm_wall_ms();
	eng_timer_init(&np->tc, tc_fire, np);
	eng_conn_peer_str(c, np->addr, sizeof(np->addr));
	peer_cfg(n, np);
	np->next = n->peers;
	n->peers = np;
	np->p = dm_peer_accept(c, &np->pcfg);
	if (!np->p) {
		peer_unlink(np);
		free(np);
		eng_close(c);
	}
	count_open(n);
}

/* ---- requests of ours ----------------------------------------------------------------- */

/* The open peer that takes <q>: Destination-Host's own if open, else the first open peer of
 * Destination-Realm that has its application (configured ones first, in order). */
static struct npeer *route(struct dm_node *n, const struct nreq *q, const struct npeer *not)
{
	struct npeer *best = NULL;
	int best_cfg = -1;
	for (struct npeer *np = n->peers; np; np = np->next) {
		if (np == not || !peer_open(np) || !dm_peer_has_app(np->p, q->app))
			continue;
		if (q->dhost[0] && !strcasecmp(np->host, q->dhost))
			return np;
		if (strcasecmp(np->realm, q->drealm))
			continue;
		int idx = np->cfg ? (int)(np->cfg - n->cfg->peers) : (int)n->cfg->npeers;
		if (!best || idx < best_cfg) {
			best = np;
			best_cfg = idx;
		}
	}
	return best;
}

static void req_free(struct nreq *q)
{
	q->n->npending--;
	eng_timer_cancel(&q->t);
	free(q->msg);
	free(q);
}

static void req_end(struct nreq *q, int status, const uint8_t *ans, size_t len,
		    const char *peer)
{
	q->fn(q->arg, status, ans, len, peer);
	req_free(q);
}

static void unpark(struct nreq *q)
{
	struct nreq **pp = &q->n->parked;
	while (*pp && *pp != q)
		pp = &(*pp)->next;
	if (*pp)
		*pp = q->next;
	q->next = NULL;
	eng_timer_cancel(&q->t);
}

static void parked_timeout(eng_timer *t)
{
	struct nreq *q = t->arg;
	unpark(q);
	q->n->st.timeouts++;
	req_end(q, -ETIMEDOUT, NULL, 0, "");
}

static void park(struct nreq *q)
{
	struct dm_node *n = q->n;
	uint64_t now = eng_now_ms(n->w);
	q->on = NULL;
	q->next = n->parked;
	n->parked = q;
	eng_timer_init(&q->t, parked_timeout, q);
	eng_timer_arm(n->w, &q->t, q->deadline > now ? q->deadline - now : 0);
}

static int send_via(struct nreq *q, struct npeer *np);

static void on_answer(void *arg, int status, const uint8_t *ans, size_t len)
{
	struct nreq *q = arg;
	struct dm_node *n = q->n;
	struct npeer *np = q->on;
	q->on = NULL;
	if (status == 0) {
		n->st.answers_in++;
		np->answers_in++;
		req_end(q, 0, ans, len, np->host);
		return;
	}
	if (status == -ETIMEDOUT) {
		n->st.timeouts++;
		req_end(q, -ETIMEDOUT, NULL, 0, "");
		return;
	}
	if (status == -ECANCELED || n->stopping) {
		req_end(q, -ECANCELED, NULL, 0, "");
		return;
	}
	/* its peer went down or became suspect: another one of its realm, or wait for one */
	struct npeer *alt = route(n, q, np);
	if (alt && send_via(q, alt) == 0)
		return;
	park(q);
}

static int send_via(struct nreq *q, struct npeer *np)
{
	struct dm_node *n = q->n;
	uint64_t now = eng_now_ms(n->w);
	uint32_t left = q->deadline > now ? (uint32_t)(q->deadline - now) : 1;
	int rc = q->sent ? dm_peer_resend(np->p, q->msg, q->len, left, on_answer, q)
			 : dm_peer_request(np->p, q->msg, q->len, left, on_answer, q);
	if (rc < 0)
		return rc;
	if (q->sent)
		n->st.failovers++;
	else
		n->st.requests_out++;
	q->sent++;
	q->on = np;
	np->requests_out++;
	return 0;
}

/* A peer opened: what waited for one goes (each to its route, if it has one now). */
static void kick_parked(struct dm_node *n)
{
	struct nreq *list = n->parked, *q;
	n->parked = NULL;
	while ((q = list)) {
		list = q->next;
		q->next = NULL;
		eng_timer_cancel(&q->t);
		struct npeer *np = route(n, q, NULL);
		if (!np || send_via(q, np) < 0) {
			q->next = n->parked;
			n->parked = q;
			uint64_t now = eng_now_ms(n->w);
			eng_timer_arm(n->w, &q->t, q->deadline > now ? q->deadline - now : 0);
		}
	}
}

/* Destination-Host and Destination-Realm of request <m> into <q>. */
static int read_dest(struct nreq *q, const uint8_t *m, size_t len)
{
	struct dm_avp_iter it;
	struct dm_avp a;
	uint32_t rc;
	dm_avp_iter_init(&it, m + DM_HDR_LEN, (uint32_t)len - DM_HDR_LEN);
	while (dm_avp_next(&it, &a, &rc) == 1) {
		if (a.vendor || (a.code != AVP_DEST_HOST && a.code != AVP_DEST_REALM))
			continue;
		char *to = a.code == AVP_DEST_HOST ? q->dhost : q->drealm;
		if (a.data_len >= sizeof(q->dhost)) { /* no identity of ours is that long */
			snprintf(to, sizeof(q->dhost), "%s", "(too long)");
			continue;
		}
		memcpy(to, a.data, a.data_len);
		to[a.data_len] = '\0';
	}
	return q->drealm[0] ? 0 : -EINVAL;
}

struct deferred_end {
	eng_defer d;
	struct nreq *q;
};

static void end_later(eng_defer *d)
{
	struct deferred_end *x = d->arg;
	req_end(x->q, -EHOSTUNREACH, NULL, 0, "");
	free(x);
}

int dm_node_request(struct dm_node *n, uint8_t *msg, size_t len, uint32_t timeout_ms,
		    dm_node_answer_fn fn, void *arg)
{
	struct dm_hdr h;
	uint32_t hrc;
	int rc = n->stopping ? -ESHUTDOWN
		 : n->npending >= (n->cfg->max_pending ? n->cfg->max_pending : 65536) ? -EBUSY
		 : len < DM_HDR_LEN || dm_hdr_parse(msg, len, &h, &hrc) < 0 ||
				 !(h.flags & DM_FLAG_R) ? -EINVAL
							: 0;
	if (rc == -EBUSY)
		n->st.busy_out++;
	struct nreq *q = rc ? NULL : calloc(1, sizeof(*q));
	if (!q) {
		free(msg);
		return rc ? rc : -ENOMEM;
	}
	q->msg = msg; /* (taken: no copy) */
	q->len = len;
	n->npending++;
	q->n = n;
	q->app = h.app_id;
	q->fn = fn;
	q->arg = arg;
	q->deadline = eng_now_ms(n->w) + timeout_ms;
	eng_timer_init(&q->t, parked_timeout, q);
	if (read_dest(q, msg, len) < 0) {
		req_free(q);
		return -EINVAL;
	}
	struct npeer *np = route(n, q, NULL);
	if (np && send_via(q, np) == 0)
		return 0;
	/* no open peer: said after this call returns */
	n->st.no_route++;
	struct deferred_end *x = malloc(sizeof(*x));
	if (!x) {
		req_free(q);
		return -ENOMEM;
	}
	x->q = q;
	eng_defer_init(&x->d, end_later, x);
	eng_defer_add(n->w, &x->d);
	return 0;
}

/* ---- requests received ---------------------------------------------------------------- */

static struct npeer *peer_by_serial(struct dm_node *n, uint64_t serial)
{
	for (struct npeer *np = n->peers; np; np = np->next)
		if (np->serial == serial)
			return np;
	return NULL;
}

static void refuse(struct npeer *np, const uint8_t *m, size_t len, uint32_t rc,
		   const char *what)
{
	struct dm_node *n = np->n;
	struct dm_fault f = { .rc = rc };
	size_t cap = len + ANSWER_HEAD;
	uint8_t *b = malloc(cap);
	snprintf(f.what, sizeof(f.what), "%s", what);
	long an = b ? dm_answer_error(m, len, &f, n->cfg->origin_host, n->cfg->origin_realm, b,
				      cap) : -ENOMEM;
	if (an > 0 && np->p)
		dm_peer_send(np->p, b, (size_t)an);
	free(b);
	n->st.refused_in++;
}

static void in_unlink(struct nin *x)
{
	struct nin **pp = &x->n->in;
	while (*pp && *pp != x)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = x->next;
		x->n->nin--;
	}
	eng_timer_cancel(&x->t);
}

static void in_free(struct nin *x)
{
	free(x->msg);
	free(x);
}

/* Answers request received <x> for the application (diameter.unanswered_result), unlinked
 * and freed. */
static void in_answer_for(struct nin *x, const char *why)
{
	struct dm_node *n = x->n;
	in_unlink(x);
	struct npeer *np = peer_by_serial(n, x->peer_serial);
	n->st.unanswered++;
	if (np && np->p) {
		uint32_t rc = n->cfg->unanswered_rc ? n->cfg->unanswered_rc : DM_RC_UNABLE_TO_COMPLY;
		struct dm_fault f = { .rc = rc };
		snprintf(f.what, sizeof(f.what), "%s", why);
		size_t cap = x->len + ANSWER_HEAD;
		uint8_t *b = malloc(cap);
		long an = b ? dm_answer_error(x->msg, x->len, &f, n->cfg->origin_host,
					      n->cfg->origin_realm, b, cap) : -ENOMEM;
		if (an > 0)
			dm_peer_send(np->p, b, (size_t)an);
		free(b);
	}
	in_free(x);
}

static void in_timeout(eng_timer *t)
{
	struct nin *x = t->arg;
	CM_LOG_RL(CM_LOG_WARN, "diameter: request %llu not answered by the application in time",
		  (unsigned long long)x->id);
	in_answer_for(x, "not answered in time");
}

/* The connection of <serial> ended: what it brought can no longer be answered. */
static void in_drop_peer(struct dm_node *n, uint64_t serial)
{
	for (struct nin *x = n->in, *next; x; x = next) {
		next = x->next;
		if (x->peer_serial == serial) {
			in_unlink(x);
			in_free(x);
			n->st.dropped_in++;
		}
	}
}

static int ours(const struct dm_node *n, uint32_t app)
{
	if (app == 0)
		return 1;
	for (unsigned i = 0; i < n->cfg->napps; i++)
		if (n->cfg->apps[i] == app)
			return 1;
	return 0;
}

static void on_request(void *arg, struct dm_peer *p, const uint8_t *m, size_t len)
{
	struct npeer *np = arg;
	struct dm_node *n = np->n;
	struct nreq d = { 0 };
	struct dm_hdr h;
	uint32_t hrc;
	(void)p;
	np->requests_in++;
	dm_hdr_parse(m, len, &h, &hrc);
	read_dest(&d, m, len);
	if (d.dhost[0] && strcasecmp(d.dhost, n->cfg->origin_host)) {
		refuse(np, m, len, DM_RC_UNABLE_TO_DELIVER, "Destination-Host is not this node");
		return;
	}
	if (d.drealm[0] && strcasecmp(d.drealm, n->cfg->origin_realm)) {
		refuse(np, m, len, DM_RC_REALM_NOT_SERVED, "this node does not serve that realm");
		return;
	}
	if (!ours(n, h.app_id)) {
		refuse(np, m, len, DM_RC_APPLICATION_UNSUPPORTED, "application not served here");
		return;
	}
	if (!n->cfg->incoming || n->stopping) {
		refuse(np, m, len, DM_RC_UNABLE_TO_COMPLY, "no application takes requests");
		return;
	}
	if (n->nin >= (n->cfg->max_incoming ? n->cfg->max_incoming : 1024)) {
		n->st.too_busy_in++;
		refuse(np, m, len, DM_RC_TOO_BUSY, "too many requests waiting for answers");
		return;
	}
	struct nin *x = calloc(1, sizeof(*x));
	if (!x || !(x->msg = malloc(len))) {
		free(x);
		refuse(np, m, len, DM_RC_UNABLE_TO_COMPLY, "out of memory");
		return;
	}
	memcpy(x->msg, m, len);
	x->len = len;
	x->n = n;
	x->id = ++n->next_id;
	x->peer_serial = np->serial;
	x->next = n->in;
	n->in = x;
	n->nin++;
	n->st.requests_in++;
	eng_timer_init(&x->t, in_timeout, x);
	eng_timer_arm(n->w, &x->t, n->cfg->answer_timeout_ms ? n->cfg->answer_timeout_ms : 5000);
	n->cfg->incoming(n->cfg->arg, x->id, np->host, m, len);
}

/* 1 when the AVPs <p> (<len> bytes) have one of <code> (no vendor). */
static int has_avp(const uint8_t *p, size_t len, uint32_t code)
{
	struct dm_avp_iter it;
	struct dm_avp a;
	uint32_t rc;
	dm_avp_iter_init(&it, p, (uint32_t)len);
	while (dm_avp_next(&it, &a, &rc) == 1)
		if (a.code == code && !a.vendor)
			return 1;
	return 0;
}

int dm_node_answer(struct dm_node *n, uint64_t id, uint32_t rc, const uint8_t *avps,
		   size_t avps_len)
{
	struct nin *x = n->in;
	while (x && x->id != id)
		x = x->next;
	if (!x)
		return -ENOENT;
	struct npeer *np = peer_by_serial(n, x->peer_serial);
	if (!np || !np->p) {
		in_unlink(x);
		in_free(x);
		return -ENOTCONN;
	}
	struct dm_hdr h;
	uint32_t hrc;
	dm_hdr_parse(x->msg, x->len, &h, &hrc);
	/* what <avps> brings: its Session-Id (goes first), a Result-Code (its value sets E), an
	 * Experimental-Result (no Result-Code of ours then) */
	struct dm_avp_iter it;
	struct dm_avp a, sid = { 0 };
	uint32_t arc, given_rc = 0;
	int has_sid = 0, has_rc = 0;
	dm_avp_iter_init(&it, avps, (uint32_t)avps_len);
	while (dm_avp_next(&it, &a, &arc) == 1) {
		if (a.vendor)
			continue;
		if (a.code == AVP_SESSION_ID && !has_sid) {
			sid = a;
			has_sid = 1;
		} else if (a.code == AVP_RESULT_CODE) {
			has_rc = 1;
			dm_get_u32(&a, &given_rc);
		} else if (a.code == AVP_EXPERIMENTAL_RESULT) {
			has_rc = 1;
		}
	}
	if (!has_sid) { /* the request's */
		dm_avp_iter_init(&it, x->msg + DM_HDR_LEN, (uint32_t)x->len - DM_HDR_LEN);
		while (dm_avp_next(&it, &a, &arc) == 1)
			if (a.code == AVP_SESSION_ID && !a.vendor) {
				sid = a;
				has_sid = 1;
				break;
			}
	}
	if (!rc)
		rc = DM_RC_SUCCESS;
	uint32_t eff = has_rc ? given_rc : rc;
	size_t cap = avps_len + x->len + ANSWER_HEAD;
	uint8_t *b = malloc(cap);
	if (!b)
		return -ENOMEM;
	struct dm_wbuf w;
	dm_w_init(&w, b, cap);
	uint8_t flags = (uint8_t)(h.flags & DM_FLAG_P);
	if (eff >= 3000 && eff < 4000)
		flags |= DM_FLAG_E;
	dm_w_hdr(&w, flags, h.code, h.app_id, h.hop_by_hop, h.end_to_end);
	if (has_sid) /* first (RFC 6733 §8.8) */
		dm_w_avp(&w, AVP_SESSION_ID, DM_AVP_M, 0, sid.data, sid.data_len);
	if (!has_rc)
		dm_w_u32(&w, AVP_RESULT_CODE, DM_AVP_M, 0, rc);
	if (!has_avp(avps, avps_len, AVP_ORIGIN_HOST))
		dm_w_str(&w, AVP_ORIGIN_HOST, DM_AVP_M, 0, n->cfg->origin_host);
	if (!has_avp(avps, avps_len, AVP_ORIGIN_REALM))
		dm_w_str(&w, AVP_ORIGIN_REALM, DM_AVP_M, 0, n->cfg->origin_realm);
	/* the others as they came (each whole, padded), the Session-Id written above apart */
	dm_avp_iter_init(&it, avps, (uint32_t)avps_len);
	while (dm_avp_next(&it, &a, &arc) == 1) {
		if (a.code == AVP_SESSION_ID && !a.vendor && a.data == sid.data)
			continue;
		dm_w_raw(&w, avps + a.off, (a.length + 3u) & ~3u);
	}
	long len = dm_w_finish(&w);
	if (len < 0) {
		free(b);
		return len == -ENOSPC ? -EMSGSIZE : (int)len;
	}
	in_unlink(x);
	in_free(x);
	int src = dm_peer_send(np->p, b, (size_t)len);
	free(b);
	if (src < 0)
		return -ENOTCONN;
	n->st.answers_out++;
	return 0;
}

/* ---- life cycle ----------------------------------------------------------------------- */

struct dm_node *dm_node_new(eng_worker *w, const struct dm_node_cfg *cfg, char *err,
			    size_t errlen)
{
	struct dm_node *n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->w = w;
	n->cfg = cfg;
	int named = 0;
	for (unsigned i = 0; i < cfg->npeers; i++) {
		struct in6_addr a6;
		if (inet_pton(AF_INET, cfg->peers[i].host, &a6) != 1 &&
		    inet_pton(AF_INET6, cfg->peers[i].host, &a6) != 1)
			named = 1;
	}
	if (named) {
		struct eng_dns_config dc;
		if (cfg->dns)
			dc = *cfg->dns;
		else
			eng_dns_config_defaults(&dc);
		char derr[160];
		n->dns = eng_dns_new(w, &dc, derr, sizeof(derr));
		if (!n->dns) {
			snprintf(err, errlen, "diameter: DNS: %s", derr);
			free(n);
			return NULL;
		}
	}
	if (cfg->listen && cfg->listen[0]) {
		int lerr = 0;
		n->l = eng_listen(w, cfg->listen, 0, NULL, on_accept, n, &lerr);
		if (!n->l) {
			snprintf(err, errlen, "diameter.listen %s: %s", cfg->listen, strerror(-lerr));
			eng_dns_free(n->dns);
			free(n);
			return NULL;
		}
	}
	/* in the configuration's order (the first is the primary) */
	struct npeer **tail = &n->peers;
	for (unsigned i = 0; i < cfg->npeers; i++) {
		struct npeer *np = calloc(1, sizeof(*np));
		if (!np) {
			snprintf(err, errlen, "out of memory");
			dm_node_free(n);
			return NULL;
		}
		np->n = n;
		np->cfg = &cfg->peers[i];
		np->serial = ++n->next_serial;
		np->st = DM_PEER_CLOSED;
		snprintf(np->host, sizeof(np->host), "%s", np->cfg->host);
		snprintf(np->realm, sizeof(np->realm), "%s", np->cfg->realm);
		eng_timer_init(&np->tc, tc_fire, np);
		*tail = np;
		tail = &np->next;
	}
	for (struct npeer *np = n->peers; np; np = np->next)
		connect_peer(np);
	count_open(n);
	return n;
}

static void end_everything(struct dm_node *n)
{
	struct nreq *q;
	while ((q = n->parked)) {
		n->parked = q->next;
		req_end(q, -ECANCELED, NULL, 0, "");
	}
	while (n->in) {
		struct nin *x = n->in;
		in_unlink(x);
		in_free(x);
	}
}

void dm_node_shutdown(struct dm_node *n, uint32_t cause)
{
	n->stopping = 1;
	if (n->l) {
		eng_listener_close(n->l);
		n->l = NULL;
	}
	while (n->in) /* answered for the application before the DPRs */
		in_answer_for(n->in, "this node is shutting down");
	end_everything(n);
	for (struct npeer *np = n->peers, *next; np; np = next) {
		next = np->next; /* (an accepted one may go inside) */
		eng_timer_cancel(&np->tc);
		if (np->p)
			dm_peer_disconnect(np->p, cause);
	}
}

unsigned dm_node_live(const struct dm_node *n)
{
	unsigned k = 0;
	for (const struct npeer *np = n->peers; np; np = np->next)
		k += np->p != NULL;
	return k;
}

void dm_node_free(struct dm_node *n)
{
	if (!n)
		return;
	n->stopping = 1;
	if (n->l)
		eng_listener_close(n->l);
	end_everything(n);
	eng_dns_free(n->dns); /* first: a resolution under way ends (-ECANCELED) while its
			       * peer is still there */
	n->dns = NULL;
	while (n->peers) {
		struct npeer *np = n->peers;
		n->peers = np->next;
		eng_timer_cancel(&np->tc);
		if (np->p) {
			struct dm_peer *p = np->p;
			np->p = NULL;
			keep_counters(np);
			dm_peer_free(p); /* its requests told -ECANCELED: ended above */
		}
		free(np);
	}
	free(n);
}

/* ---- what it says of itself ----------------------------------------------------------- */

static json_t *time_json(uint64_t ms)
{
	char b[40];
	cm_rfc3339_ms(ms, b, sizeof(b));
	return json_string(b);
}

json_t *dm_node_peers_json(struct dm_node *n)
{
	json_t *a = json_array();
	for (struct npeer *np = n->peers; a && np; np = np->next) {
		struct dm_peer_stats s = { 0 };
		if (np->p)
			dm_peer_stats(np->p, &s);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "host", np->host, "realm", np->realm,
				      "origin", np->cfg ? "configured" : "accepted",
				      "state", np->p || np->resolving ? dm_peer_state_name(np->st) : "down",
				      "address", np->addr,
				      "pending", (json_int_t)(np->p ? dm_peer_pending(np->p) : 0),
				      "requests_out", (json_int_t)np->requests_out,
				      "answers_in", (json_int_t)np->answers_in,
				      "requests_in", (json_int_t)np->requests_in,
				      "watchdog_requests", (json_int_t)s.dwr_out,
				      "watchdog_answers", (json_int_t)s.dwa_in,
				      "malformed", (json_int_t)(np->malformed + s.malformed),
				      "reconnects", (json_int_t)np->reconnects);
		if (!o)
			continue;
		if (np->cfg)
			json_object_set_new(o, "uri", json_string(np->cfg->uri));
		if (np->since_ms)
			json_object_set_new(o, "since", time_json(np->since_ms));
		json_array_append_new(a, o);
	}
	return a;
}

const struct dm_traffic *dm_node_traffic(const struct dm_node *n)
{
	return &n->traffic;
}

void dm_node_stats(const struct dm_node *n, struct dm_node_stats *out)
{
	*out = n->st;
	for (const struct npeer *np = n->peers; np; np = np->next) {
		struct dm_peer_stats s;
		if (!np->p)
			continue;
		dm_peer_stats(np->p, &s);
		out->malformed += s.malformed;
		out->watchdog_suspects += s.suspects;
	}
}

unsigned dm_node_open_peers(const struct dm_node *n)
{
	return atomic_load_explicit(&n->open, memory_order_relaxed);
}

unsigned dm_node_open_configured(const struct dm_node *n)
{
	return atomic_load_explicit(&n->open_cfg, memory_order_relaxed);
}

unsigned dm_node_peer_count(const struct dm_node *n)
{
	return atomic_load_explicit(&n->npeers, memory_order_relaxed);
}
