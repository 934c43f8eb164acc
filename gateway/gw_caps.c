/* gw_caps.c — RCS capability discovery by SIP OPTIONS, cached per worker (gw_caps.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/gw_caps.h"
#include "gateway/gw_ua.h"
#include "msrp/msrp_id.h"
#include "rcs/rcs_tags.h"
#include "sip/sip_hdr.h"

/* A query waiting for the OPTIONS of its URI. */
struct caps_wait {
	struct caps_wait *next;
	gw_caps_fn fn;
	void *arg;
};

struct caps_ent;

/* An OPTIONS on its way: the argument of gw_ua_options()'s callback. Detached from its entry
 * (<e> NULL) once the entry gave up waiting (timeout): the late answer is dropped then. */
struct caps_req {
	struct gw_caps *c;
	struct caps_ent *e;
	eng_timer t;               /* rcs.capability_timeout */
};

struct caps_ent {
	struct caps_ent *hnext;    /* bucket chain */
	struct caps_ent *older, *newer; /* by the time of their answer: the oldest goes first */
	uint64_t hash;
	int have;                  /* <a> holds an answer */
	struct gw_caps_answer a;
	struct caps_wait *waiters;
	struct caps_req *req;      /* the OPTIONS on its way, NULL when none */
	char uri[];
};

struct gw_caps {
	eng_worker *w;
	struct gw_ua *ua;
	uint64_t ttl_ms, timeout_ms;
	uint32_t cap;              /* answers kept */
	uint32_t n;                /* entries */
	uint32_t mask;
	struct caps_ent **buckets;
	struct caps_ent *oldest, *newest;
	struct gw_caps_stats st;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static cm_slice sl(const char *s)
{
	return (cm_slice){ s, strlen(s) };
}

unsigned gw_caps_worker_of(const char *uri, unsigned nworkers)
{
	return nworkers ? (unsigned)(msrp_id_hash(sl(uri)) % nworkers) : 0;
}

struct gw_caps *gw_caps_start(const struct cm_config *cfg, eng_worker *w, struct gw_ua *ua)
{
	struct gw_caps *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->w = w;
	c->ua = ua;
	c->ttl_ms = (uint64_t)cfg->rcs.capability_ttl_ms;
	c->timeout_ms = (uint64_t)cfg->rcs.capability_timeout_ms;
	c->cap = (uint32_t)cfg->rcs.capability_cache;
	uint32_t nb = 64;
	while (nb < c->cap && nb < (1u << 24))
		nb <<= 1;
	c->mask = nb - 1;
	if (!(c->buckets = calloc(nb, sizeof(*c->buckets)))) {
		free(c);
		return NULL;
	}
	return c;
}

/* ---- the table ----------------------------------------------------------------------------- */

static struct caps_ent *find(struct gw_caps *c, const char *uri, uint64_t h)
{
	for (struct caps_ent *e = c->buckets[h & c->mask]; e; e = e->hnext)
		if (e->hash == h && !strcmp(e->uri, uri))
			return e;
	return NULL;
}

static void age_unlink(struct gw_caps *c, struct caps_ent *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else if (c->oldest == e)
		c->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else if (c->newest == e)
		c->newest = e->older;
	e->older = e->newer = NULL;
}

static void age_push(struct gw_caps *c, struct caps_ent *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

/* Removes <e> (no waiter, no OPTIONS on its way) and frees it. */
static void ent_free(struct gw_caps *c, struct caps_ent *e)
{
	struct caps_ent **pp = &c->buckets[e->hash & c->mask];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	age_unlink(c, e);
	c->n--;
	free(e);
}

/* Room for one more entry: the oldest answers that nobody waits for go. */
static void make_room(struct gw_caps *c)
{
	struct caps_ent *e = c->oldest;
	while (c->n >= (c->cap ? c->cap : 1) && e) {
		struct caps_ent *nx = e->newer;
		if (!e->waiters && !e->req) {
			ent_free(c, e);
			c->st.evicted++;
		}
		e = nx;
	}
}

/* ---- answers ------------------------------------------------------------------------------- */

/* <e> learnt <status> (and <resp>'s Contact when 200): kept, and told to its waiters. */
static void answered(struct gw_caps *c, struct caps_ent *e, int status, const struct sip_msg *resp)
{
	struct gw_caps_answer *a = &e->a;
	memset(a, 0, sizeof(*a));
	a->sip_code = status;
	if (status >= 200 && status < 300 && resp) {
		struct rcs_tags t;
		cm_slice ct = sip_msg_hdr(resp, SIP_H_CONTACT);
		if (ct.len && rcs_tags_parse(ct.p, ct.len, &t) == 0) {
			a->services = t.services;
			a->other = t.nother;
			memcpy(a->botversion, t.botversion, sizeof(a->botversion));
			a->botversion[sizeof(a->botversion) - 1] = '\0';
		}
	}
	a->checked_ms = wall_ms();
	a->expires_ms = a->checked_ms + (status >= 200 && status < 300 ? c->ttl_ms : c->ttl_ms / 10);
	e->have = 1;
	c->st.answered++;
	age_unlink(c, e);
	age_push(c, e);
	struct caps_wait *wt = e->waiters;
	e->waiters = NULL;
	while (wt) {
		struct caps_wait *nx = wt->next;
		wt->fn(wt->arg, a);
		free(wt);
		wt = nx;
	}
	if (!c->cap && !e->req) /* nothing kept */
		ent_free(c, e);
}

static void req_done(void *arg, int status, const struct sip_msg *resp)
{
	struct caps_req *q = arg;
	struct gw_caps *c = q->c;
	struct caps_ent *e = q->e;
	eng_timer_cancel(&q->t);
	free(q);
	if (!e)
		return; /* given up on already */
	e->req = NULL;
	answered(c, e, status, resp);
}

static void req_timeout(eng_timer *t)
{
	struct caps_req *q = t->arg;
	struct caps_ent *e = q->e;
	q->e = NULL; /* its late answer is dropped */
	e->req = NULL;
	q->c->st.timeouts++;
	answered(q->c, e, 408, NULL);
}

/* ---- queries ------------------------------------------------------------------------------- */

static int uri_ok(const char *uri)
{
	size_t n = strlen(uri);
	if (!n || n > GW_CAPS_URI_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)uri[i] <= 0x20 || (unsigned char)uri[i] >= 0x7f || uri[i] == '<' ||
		    uri[i] == '>' || uri[i] == '"' || uri[i] == '?') /* no URI headers */
			return 0;
	return !strncasecmp(uri, "sip:", 4) || !strncasecmp(uri, "sips:", 5) ||
	       !strncasecmp(uri, "tel:", 4);
}

int gw_caps_query(struct gw_caps *c, const char *uri, int fresh, gw_caps_fn fn, void *arg)
{
	if (!uri_ok(uri))
		return -EINVAL;
	c->st.queries++;
	uint64_t h = msrp_id_hash(sl(uri));
	struct caps_ent *e = find(c, uri, h);
	if (e && e->have && !fresh && !e->req && wall_ms() < e->a.expires_ms) {
		struct gw_caps_answer a = e->a;
		a.cached = 1;
		c->st.hits++;
		fn(arg, &a);
		return 0;
	}
	struct caps_wait *wt = malloc(sizeof(*wt));
	if (!wt)
		return -ENOMEM;
	wt->fn = fn;
	wt->arg = arg;
	if (e && e->req) { /* its OPTIONS is on its way: this query waits for it too */
		wt->next = e->waiters;
		e->waiters = wt;
		return 0;
	}
	int made = 0;
	if (!e) {
		make_room(c);
		size_t ul = strlen(uri) + 1;
		if (!(e = calloc(1, sizeof(*e) + ul))) {
			free(wt);
			return -ENOMEM;
		}
		memcpy(e->uri, uri, ul);
		e->hash = h;
		e->hnext = c->buckets[h & c->mask];
		c->buckets[h & c->mask] = e;
		age_push(c, e);
		c->n++;
		made = 1;
	}
	struct caps_req *q = calloc(1, sizeof(*q));
	int rc = q ? gw_ua_options(c->ua, uri, req_done, q) : -ENOMEM;
	if (rc < 0) {
		free(q);
		free(wt);
		if (made)
			ent_free(c, e);
		return rc;
	}
	c->st.options_sent++;
	q->c = c;
	q->e = e;
	e->req = q;
	eng_timer_init(&q->t, req_timeout, q);
	eng_timer_arm(c->w, &q->t, c->timeout_ms);
	wt->next = e->waiters;
	e->waiters = wt;
	return 0;
}

void gw_caps_stats(const struct gw_caps *c, struct gw_caps_stats *out)
{
	*out = c->st;
	out->entries = c->n;
}

void gw_caps_free(struct gw_caps *c)
{
	if (!c)
		return;
	static const struct gw_caps_answer gone = { .sip_code = 503 };
	for (uint32_t i = 0; i <= c->mask; i++) {
		struct caps_ent *e = c->buckets[i];
		while (e) {
			struct caps_ent *nx = e->hnext;
			while (e->waiters) { /* none should be left: the user agent answered 503 */
				struct caps_wait *wt = e->waiters;
				e->waiters = wt->next;
				wt->fn(wt->arg, &gone);
				free(wt);
			}
			if (e->req) {
				eng_timer_cancel(&e->req->t);
				e->req->e = NULL;
			}
			free(e);
			e = nx;
		}
	}
	free(c->buckets);
	free(c);
}
