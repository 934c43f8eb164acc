/* msrp_pool.c — outbound MSRP connections reused by next hop (see msrp_pool.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_log.h"
#include "engine/eng_dns.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_pool.h"
#include "msrp/msrp_uri.h"

enum { E_RESOLVING, E_CONNECTING, E_OPEN, E_FAILED };

/* "tls:" host ":" port "/" src, NUL included */
#define POOL_KEY_MAX (4 + MSRP_URI_HOST_MAX + 1 + 5 + 1 + sizeof(((struct msrp_hop *)0)->src) + \
		      1 + sizeof(((struct msrp_hop *)0)->tag))

struct waiter {
	struct waiter *next;
	msrp_pool_cb cb;
	void *arg;
};

struct entry {
	struct entry *next;
	struct msrp_pool *p;
	struct msrp_conn *mc;      /* E_OPEN */
	eng_conn *c;               /* E_CONNECTING */
	struct waiter *waiters;
	int state;
	int err;                   /* E_FAILED */
	int secure;
	uint16_t port;
	char host[MSRP_URI_HOST_MAX + 1];
	char src[sizeof(((struct msrp_hop *)0)->src)];
	char tag[sizeof(((struct msrp_hop *)0)->tag)];
	char key[POOL_KEY_MAX];
};

struct msrp_pool {
	struct msrp_worker *mw;
	eng_worker *w;
	eng_dns *dns;
	eng_tls_ctx *tls;
	const struct msrp_conn_ops *ops;
	void *udata;
	struct entry *entries;
	unsigned n;
	eng_timer flush;           /* delivers waiters of open or failed entries */
	int dying;
	int busy;                  /* inside msrp_pool_free: entries may not free <p> */
};

static void entry_free(struct msrp_pool *p, struct entry *e)
{
	struct entry **pp = &p->entries;
	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = e->next;
		p->n--;
	}
	free(e);
	if (p->dying && !p->busy && !p->entries) {
		eng_timer_cancel(&p->flush);
		free(p);
	}
}

/* Runs the waiters of open and failed entries; failed entries go. */
static void flush(eng_timer *t)
{
	struct msrp_pool *p = t->arg;
	struct entry *e = p->entries;
	while (e) {
		struct entry *next = e->next;
		if (e->state == E_OPEN || e->state == E_FAILED) {
			while (e->waiters) {
				struct waiter *wt = e->waiters;
				e->waiters = wt->next;
				wt->cb(wt->arg, e->state == E_OPEN ? e->mc : NULL,
				       e->state == E_OPEN ? 0 : e->err);
				free(wt);
			}
			if (e->state == E_FAILED)
				entry_free(p, e);
		}
		e = next;
	}
}

static void kick(struct msrp_pool *p)
{
	eng_timer_arm(p->w, &p->flush, 0);
}

static void fail(struct entry *e, int err)
{
	e->state = E_FAILED;
	e->err = err;
	e->c = NULL;
	kick(e->p);
}

/* ---- the pool's connections: the owner's ops, plus leaving the pool on close ---------- */

static void p_head(struct msrp_conn *mc, const struct msrp_msg *m)
{
	struct msrp_pool *p = msrp_conn_udata(mc);
	p->ops->on_head(mc, m);
}

static void p_body(struct msrp_conn *mc, eng_buf *b, cm_slice s)
{
	struct msrp_pool *p = msrp_conn_udata(mc);
	p->ops->on_body(mc, b, s);
}

static void p_end(struct msrp_conn *mc, enum msrp_flag f)
{
	struct msrp_pool *p = msrp_conn_udata(mc);
	p->ops->on_end(mc, f);
}

static void p_close(struct msrp_conn *mc, int err)
{
	struct msrp_pool *p = msrp_conn_udata(mc);
	struct entry *e;
	for (e = p->entries; e && e->mc != mc; e = e->next)
		;
	if (!p->dying && p->ops->on_close)
		p->ops->on_close(mc, err);
	if (!e)
		return;
	/* closed between its opening and the flush that hands it to those waiting (kick): they
	 * hear it failed (not to wait for ever, nor to leak); what they ask now opens anew */
	e->state = E_FAILED;
	while (e->waiters) {
		struct waiter *wt = e->waiters;
		e->waiters = wt->next;
		wt->cb(wt->arg, NULL, err < 0 ? err : -ECONNRESET);
		free(wt);
	}
	entry_free(p, e); /* frees <p> too when it was dying and this was the last */
}

static uint32_t p_sessions(struct msrp_conn *mc)
{
	struct msrp_pool *p = msrp_conn_udata(mc);
	return p->ops->sessions ? p->ops->sessions(mc) : 0;
}

static const struct msrp_conn_ops pool_conn_ops = {
	.on_head = p_head, .on_body = p_body, .on_end = p_end, .on_close = p_close,
	.sessions = p_sessions,
};

/* ---- connecting ------------------------------------------------------------------------ */

static void c_connect(eng_conn *c, int err)
{
	struct entry *e = c->udata;
	if (err < 0) {
		fail(e, err);
		return;
	}
	e->c = NULL;
	e->mc = msrp_conn_new(e->p->mw, c, &pool_conn_ops, e->p);
	if (!e->mc) {
		fail(e, -ENOMEM);
		return;
	}
	e->state = E_OPEN;
	kick(e->p);
}

static void c_close(eng_conn *c, int err)
{
	struct entry *e = c->udata;
	if (e->state == E_CONNECTING) /* closed before on_connect said anything */
		fail(e, err ? err : -ECONNRESET);
}

static void c_describe(eng_conn *c, struct eng_conn_desc *d)
{
	(void)c;
	d->protocol = "msrp";
}

static const struct eng_conn_ops connect_ops = { .on_connect = c_connect, .on_close = c_close,
						 .describe = c_describe };

static void start_connect(struct entry *e, const char *ip, int family)
{
	char hp[INET6_ADDRSTRLEN + 16];
	if (family == AF_INET6)
		snprintf(hp, sizeof(hp), "[%s]:%u", ip, e->port);
	else
		snprintf(hp, sizeof(hp), "%s:%u", ip, e->port);
	e->state = E_CONNECTING;
	int rc = eng_connect_from(e->p->w, hp, e->src, e->secure ? e->p->tls : NULL, e->host,
				  &connect_ops, e, &e->c);
	if (rc < 0)
		fail(e, rc);
}

static void resolved(eng_dns *d, int status, const struct eng_dns_result *res, void *arg)
{
	struct entry *e = arg;
	char ip[INET6_ADDRSTRLEN];
	(void)d;
	if (status < 0 || !res->n) {
		fail(e, status < 0 ? status : -ENOENT);
		return;
	}
	start_connect(e, eng_dns_addr_str(&res->addrs[0], ip, sizeof(ip)), res->addrs[0].family);
}

/* ---- API ------------------------------------------------------------------------------ */

struct msrp_pool *msrp_pool_new(struct msrp_worker *mw, eng_dns *dns, eng_tls_ctx *tls,
				const struct msrp_conn_ops *ops, void *udata)
{
	struct msrp_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->mw = mw;
	p->w = eng_self();
	p->dns = dns;
	p->tls = tls;
	p->ops = ops;
	p->udata = udata;
	eng_timer_init(&p->flush, flush, p);
	return p;
}

void msrp_pool_free(struct msrp_pool *p)
{
	eng_timer_cancel(&p->flush);
	p->dying = 1;
	p->busy = 1;
	for (struct entry *e = p->entries, *next; e; e = next) {
		next = e->next;
		while (e->waiters) {
			struct waiter *wt = e->waiters;
			e->waiters = wt->next;
			wt->cb(wt->arg, NULL, -ECANCELED);
			free(wt);
		}
		if (e->state == E_OPEN)
			msrp_conn_close(e->mc);   /* its on_close frees the entry */
		else if (e->state == E_CONNECTING && e->c)
			eng_abort(e->c, -ECANCELED);
	}
	/* entries still resolving or connecting keep <p> until their callbacks: they fail
	 * into a dying pool and are freed by entry_free through flush */
	for (struct entry *e = p->entries, *next; e; e = next) {
		next = e->next;
		if (e->state == E_FAILED)
			entry_free(p, e);
	}
	p->busy = 0;
	if (!p->entries) {
		eng_timer_cancel(&p->flush);
		free(p);
	} else {
		kick(p);
	}
}

unsigned msrp_pool_size(const struct msrp_pool *p)
{
	return p->n;
}

int msrp_hop_direct(const struct msrp_uri *u, struct msrp_hop *out)
{
	if (u->transport != MSRP_TP_TCP || u->host.len == 0 || u->host.len > MSRP_URI_HOST_MAX)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->host, u->host.p, u->host.len);
	out->port = u->port ? u->port : MSRP_URI_DEFAULT_PORT;
	out->tls = u->secure;
	return 0;
}

/* The reuse key of <h> into <key> (POOL_KEY_MAX bytes); <family> gets AF_INET or AF_INET6
 * for an address, 0 for a name. Names are folded to lower case and addresses written in
 * their canonical form, so that one peer spelled two ways is one connection. */
static int hop_key(const struct msrp_hop *h, char *key, int *family)
{
	char host[MSRP_URI_HOST_MAX + 1];
	unsigned char a[16];
	size_t i;

	if (!h->host[0] || !h->port || !memchr(h->host, '\0', sizeof(h->host)) ||
	    !memchr(h->src, '\0', sizeof(h->src)) || !memchr(h->tag, '\0', sizeof(h->tag)))
		return -EINVAL;
	*family = 0;
	if (inet_pton(AF_INET6, h->host, a) == 1) {
		*family = AF_INET6;
		inet_ntop(AF_INET6, a, host, sizeof(host));
	} else if (inet_pton(AF_INET, h->host, a) == 1) {
		*family = AF_INET;
		inet_ntop(AF_INET, a, host, sizeof(host));
	} else {
		for (i = 0; h->host[i]; i++)
			host[i] = (char)tolower((unsigned char)h->host[i]);
		host[i] = '\0';
	}
	snprintf(key, POOL_KEY_MAX, "%s:%s:%u/%s#%s", h->tls ? "tls" : "tcp", host, h->port, h->src,
		 h->tag);
	return 0;
}

void *msrp_pool_udata(const struct msrp_pool *p)
{
	return p->udata;
}

void msrp_pool_set_udata(struct msrp_pool *p, void *udata)
{
	p->udata = udata;
}

struct msrp_conn *msrp_pool_peek_hop(struct msrp_pool *p, const struct msrp_hop *h)
{
	char key[POOL_KEY_MAX];
	int family;
	if (p->dying || hop_key(h, key, &family) < 0)
		return NULL;
	for (struct entry *e = p->entries; e; e = e->next)
		if (e->state == E_OPEN && !e->waiters && strcmp(e->key, key) == 0)
			return e->mc;
	return NULL;
}

int msrp_pool_holds(const struct msrp_pool *p, const struct msrp_conn *mc)
{
	for (const struct entry *e = p->entries; mc && e; e = e->next)
		if (e->state == E_OPEN && e->mc == mc)
			return 1;
	return 0;
}

int msrp_pool_get_hop(struct msrp_pool *p, const struct msrp_hop *h, msrp_pool_cb cb, void *arg)
{
	char key[POOL_KEY_MAX];
	struct entry *e;
	int family;

	if (p->dying || hop_key(h, key, &family) < 0)
		return -EINVAL;
	if (h->tls && !p->tls)
		return -EPROTONOSUPPORT;
	for (e = p->entries; e; e = e->next)
		if (e->state != E_FAILED && strcmp(e->key, key) == 0)
			break;
	struct waiter *wt = malloc(sizeof(*wt));
	if (!wt)
		return -ENOMEM;
	wt->cb = cb;
	wt->arg = arg;
	if (e) {
		/* at the end: callers get their connections in the order they asked (a relay's
		 * frames to one next hop keep their order) */
		struct waiter **pp = &e->waiters;
		while (*pp)
			pp = &(*pp)->next;
		wt->next = NULL;
		*pp = wt;
		if (e->state == E_OPEN)
			kick(p);
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(wt);
		return -ENOMEM;
	}
	e->p = p;
	e->secure = h->tls;
	e->port = h->port;
	strcpy(e->host, h->host);
	strcpy(e->src, h->src);
	strcpy(e->tag, h->tag);
	memcpy(e->key, key, sizeof(key));
	e->waiters = wt;
	wt->next = NULL;
	e->next = p->entries;
	p->entries = e;
	p->n++;
	if (family) {
		start_connect(e, e->host, family);
	} else if (p->dns) {
		e->state = E_RESOLVING;
		int rc = eng_dns_query(p->dns, e->host, ENG_DNS_A, resolved, e);
		if (rc < 0)
			fail(e, rc);
	} else {
		fail(e, -EHOSTUNREACH);
	}
	return 0;
}

int msrp_pool_close_tag(struct msrp_pool *p, const char *tag)
{
	if (!tag[0])
		return 0;
	int opening = 0;
	for (struct entry *e = p->entries; e; e = e->next) {
		if (strcmp(e->tag, tag) || e->state == E_FAILED)
			continue;
		if (e->state == E_OPEN && !e->waiters) {
			msrp_conn_close(e->mc); /* it leaves the pool when it is closed */
			return 1;
		}
		opening = 1;
	}
	return opening ? -EAGAIN : 0;
}

int msrp_pool_get(struct msrp_pool *p, const struct msrp_uri *u, msrp_pool_cb cb, void *arg)
{
	struct msrp_hop h;

	if (p->dying || msrp_hop_direct(u, &h) < 0)
		return -EINVAL;
	return msrp_pool_get_hop(p, &h, cb, arg);
}
