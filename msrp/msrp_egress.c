/* msrp_egress.c — next-hop rules, the egress hook and its cache (see msrp_egress.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng.h"
#include "engine/eng_http.h"
#include "msrp/msrp_egress.h"
#include "msrp/msrp_id.h"
#include "msrp/msrp_uri.h"

/* ---- rules ---------------------------------------------------------------------------- */

enum match_kind {
	M_ANY,                     /* "*" */
	M_NAME,                    /* an exact host name */
	M_SUFFIX,                  /* names below a domain; <name> holds ".domain" */
	M_ADDR4,
	M_ADDR6,
};

struct rule {
	enum match_kind kind;
	size_t nlen;
	char name[MSRP_URI_HOST_MAX + 2];  /* M_NAME, M_SUFFIX: lower case */
	unsigned char addr[16];            /* M_ADDR4 (4 bytes), M_ADDR6 */
	int direct;                        /* NEXTHOP "direct": only hop.src is set */
	struct msrp_hop hop;
};

struct msrp_egress_rules {
	size_t n;
	struct rule r[];
};

/* A piece of a rule's text. */
typedef struct {
	const char *p;
	size_t len;
} tok;

static int tok_is(tok t, const char *s)
{
	return t.len == strlen(s) && strncasecmp(t.p, s, t.len) == 0;
}

/* 1 when <t> is a DNS name: labels of letters, digits and '-' (not at either end of a
 * label), 1..63 characters each, at most MSRP_URI_HOST_MAX in all, no empty label. */
static int is_name(tok t)
{
	size_t label = 0;

	if (t.len == 0 || t.len > MSRP_URI_HOST_MAX)
		return 0;
	for (size_t i = 0; i < t.len; i++) {
		unsigned char c = (unsigned char)t.p[i];
		if (c == '.') {
			if (label == 0 || t.p[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum(c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && t.p[t.len - 1] != '-';
}

/* Parses the address <t> (IPv6 bare or in brackets when <brackets> says 1 may, 2 must)
 * into <addr>. AF_INET, AF_INET6, or 0 when it is not an address. */
static int parse_addr(tok t, int brackets, unsigned char addr[16])
{
	char buf[INET6_ADDRSTRLEN + 1];
	int br = t.len >= 2 && t.p[0] == '[' && t.p[t.len - 1] == ']';

	if (br) {
		if (!brackets)
			return 0;
		t.p++;
		t.len -= 2;
	}
	if (t.len == 0 || t.len >= sizeof(buf))
		return 0;
	memcpy(buf, t.p, t.len);
	buf[t.len] = '\0';
	if (!br && inet_pton(AF_INET, buf, addr) == 1)
		return AF_INET;
	if ((br || brackets < 2) && inet_pton(AF_INET6, buf, addr) == 1)
		return AF_INET6;
	return 0;
}

/* Parses NEXTHOP <t> into <direct> / <hop> (its src left as it is). NULL, or why not. */
static const char *parse_nexthop(tok t, int *direct, struct msrp_hop *hop)
{
	unsigned char a[16];
	static const char *const bad = "is not direct, tcp:HOST:PORT or tls:HOST:PORT";

	if (tok_is(t, "direct")) {
		*direct = 1;
		hop->host[0] = '\0';
		hop->port = 0;
		hop->tls = 0;
		return NULL;
	}
	if (t.len < 4 || (!tok_is((tok){ t.p, 4 }, "tcp:") && !tok_is((tok){ t.p, 4 }, "tls:")))
		return bad;
	int tls = tolower((unsigned char)t.p[1]) == 'l';
	tok rest = { t.p + 4, t.len - 4 };
	const char *colon = NULL;
	for (size_t i = rest.len; i > 0; i--)
		if (rest.p[i - 1] == ':') {
			colon = rest.p + i - 1;
			break;
		}
	if (!colon)
		return bad;
	tok host = { rest.p, (size_t)(colon - rest.p) };
	tok port = { colon + 1, rest.len - host.len - 1 };
	unsigned long pn = 0;
	if (port.len == 0 || port.len > 5)
		return "has no port 1..65535";
	for (size_t i = 0; i < port.len; i++) {
		if (!isdigit((unsigned char)port.p[i]))
			return "has no port 1..65535";
		pn = pn * 10 + (unsigned long)(port.p[i] - '0');
	}
	if (pn == 0 || pn > 65535)
		return "has no port 1..65535";
	int fam = parse_addr(host, 2, a);
	if (fam == AF_INET6) {
		host.p++;
		host.len -= 2;
	} else if (!fam && !is_name(host)) {
		return "has a host that is neither a name, an IPv4 address nor an IPv6 "
		       "address in brackets";
	}
	*direct = 0;
	memcpy(hop->host, host.p, host.len);
	hop->host[host.len] = '\0';
	hop->port = (uint16_t)pn;
	hop->tls = tls;
	return NULL;
}

/* Parses "src=IP" (<t> without the "src=") into <hop>->src. NULL, or why not. */
static const char *parse_src(tok t, struct msrp_hop *hop)
{
	unsigned char a[16];
	int fam = parse_addr(t, 1, a);

	if (!fam)
		return "is not an IPv4 or IPv6 address";
	inet_ntop(fam, a, hop->src, sizeof(hop->src));
	return NULL;
}

/* Parses MATCH <t> into <r>. NULL, or why not. */
static const char *parse_match(tok t, struct rule *r)
{
	int fam;

	if (tok_is(t, "*")) {
		r->kind = M_ANY;
		return NULL;
	}
	if ((fam = parse_addr(t, 1, r->addr)) != 0) {
		r->kind = fam == AF_INET ? M_ADDR4 : M_ADDR6;
		return NULL;
	}
	tok name = t;
	if (t.len >= 2 && t.p[0] == '*' && t.p[1] == '.') {
		name.p++;
		name.len--;
	}
	r->kind = name.p[0] == '.' ? M_SUFFIX : M_NAME;
	tok bare = r->kind == M_SUFFIX ? (tok){ name.p + 1, name.len - 1 } : name;
	if (!is_name(bare))
		return "is neither a host name, .domain, *.domain, an address nor *";
	for (size_t i = 0; i < name.len; i++)
		r->name[i] = (char)tolower((unsigned char)name.p[i]);
	r->name[name.len] = '\0';
	r->nlen = name.len;
	return NULL;
}

/* Splits <s> on blanks into at most <max> tokens; returns how many there were (which may
 * be more than <max>: only the first <max> are stored). */
static size_t split(const char *s, tok *t, size_t max)
{
	size_t n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		const char *b = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (n < max)
			t[n] = (tok){ b, (size_t)(s - b) };
		n++;
	}
	return n;
}

static int rule_error(char *err, size_t errlen, size_t i, const char *rule, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "relay.egress[%zu] \"%s\": ", i, rule);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_rule(const char *s, size_t i, struct rule *r, char *err, size_t errlen)
{
	tok t[3];
	const char *why;
	size_t n = split(s, t, 3);

	if (n < 2 || n > 3)
		return rule_error(err, errlen, i, s, "expected \"MATCH NEXTHOP [src=IP]\"");
	if ((why = parse_match(t[0], r)) != NULL)
		return rule_error(err, errlen, i, s, "match \"%.*s\" %s", (int)t[0].len, t[0].p,
				  why);
	if ((why = parse_nexthop(t[1], &r->direct, &r->hop)) != NULL)
		return rule_error(err, errlen, i, s, "next hop \"%.*s\" %s", (int)t[1].len,
				  t[1].p, why);
	if (n == 3) {
		if (t[2].len < 4 || !tok_is((tok){ t[2].p, 4 }, "src="))
			return rule_error(err, errlen, i, s,
					  "\"%.*s\" after the next hop is not src=IP",
					  (int)t[2].len, t[2].p);
		if ((why = parse_src((tok){ t[2].p + 4, t[2].len - 4 }, &r->hop)) != NULL)
			return rule_error(err, errlen, i, s, "src \"%.*s\" %s", (int)t[2].len - 4,
					  t[2].p + 4, why);
	}
	return 0;
}

int msrp_egress_rules_parse(const struct cm_strlist *rules, struct msrp_egress_rules **out,
			    char *err, size_t errlen)
{
	size_t n = rules ? rules->n : 0;
	struct msrp_egress_rules *r = calloc(1, sizeof(*r) + n * sizeof(r->r[0]));

	if (errlen)
		err[0] = '\0';
	if (!r) {
		snprintf(err, errlen, "relay.egress: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = parse_rule(rules->v[i], i, &r->r[i], err, errlen);
		if (rc < 0) {
			free(r);
			return rc;
		}
	}
	r->n = n;
	*out = r;
	return 0;
}

void msrp_egress_rules_free(struct msrp_egress_rules *r)
{
	free(r);
}

size_t msrp_egress_rules_count(const struct msrp_egress_rules *r)
{
	return r ? r->n : 0;
}

/* 1 when rule <r> matches <u>'s host. */
static int rule_match(const struct rule *r, const struct msrp_uri *u)
{
	unsigned char a[16];
	char buf[INET_ADDRSTRLEN];
	cm_slice h = u->host;

	switch (r->kind) {
	case M_ANY:
		return 1;
	case M_NAME:
		return u->host_type == MSRP_HOST_NAME && h.len == r->nlen &&
		       strncasecmp(h.p, r->name, h.len) == 0;
	case M_SUFFIX:
		return u->host_type == MSRP_HOST_NAME && h.len > r->nlen &&
		       strncasecmp(h.p + h.len - r->nlen, r->name, r->nlen) == 0;
	case M_ADDR4:
		if (u->host_type != MSRP_HOST_IPV4 || h.len >= sizeof(buf))
			return 0;
		memcpy(buf, h.p, h.len);
		buf[h.len] = '\0';
		return inet_pton(AF_INET, buf, a) == 1 && memcmp(a, r->addr, 4) == 0;
	case M_ADDR6:
		return u->host_type == MSRP_HOST_IPV6 && msrp_uri_ip6_parse(h, a) == 0 &&
		       memcmp(a, r->addr, 16) == 0;
	}
	return 0;
}

/* ---- the per-worker egress and its cache ---------------------------------------------- */

enum { ENT_ASKING, ENT_ANSWERED };

/* One destination host in the cache: an ask in flight, or an answer until <expires_ms>. */
struct ent {
	struct ent *hnext;         /* in its bucket */
	struct ent *older, *newer; /* in the egress's age list */
	uint64_t hash;
	uint64_t expires_ms;       /* ENT_ANSWERED */
	int state;
	int linked;                /* in the table (an ask that will not be cached is not) */
	int busy;                  /* its waiters are being called back: hook_done frees it */
	struct msrp_egress *e;
	eng_http_req *http;        /* ENT_ASKING */
	struct msrp_egress_req *waiters;
	int direct;                /* ENT_ANSWERED: direct, with hop.src */
	struct msrp_hop hop;
	size_t hlen;
	char host[];               /* lower case, NUL-terminated */
};

#define NBUCKETS 4096          /* power of two, >= MSRP_EGRESS_CACHE_MAX */

struct msrp_egress {
	eng_worker *w;
	const struct msrp_egress_rules *rules;
	eng_http *http;            /* NULL: no hook */
	char *hook_url;
	uint32_t timeout_ms;
	uint32_t ttl_ms;
	struct ent *buckets[NBUCKETS];
	struct ent *oldest, *newest;
	size_t nent;
	int delivering;            /* inside a route callback: free waits for it */
	int dying;
	struct msrp_egress_stats st;
	uint64_t *rule_hits;       /* one per rule */
};

static void ent_unlink(struct msrp_egress *e, struct ent *x)
{
	if (!x->linked)
		return;
	struct ent **pp = &e->buckets[x->hash & (NBUCKETS - 1)];
	while (*pp != x)
		pp = &(*pp)->hnext;
	*pp = x->hnext;
	if (x->older)
		x->older->newer = x->newer;
	else
		e->oldest = x->newer;
	if (x->newer)
		x->newer->older = x->older;
	else
		e->newest = x->older;
	x->linked = 0;
	e->nent--;
}

static void ent_link(struct msrp_egress *e, struct ent *x)
{
	struct ent **b = &e->buckets[x->hash & (NBUCKETS - 1)];
	x->hnext = *b;
	*b = x;
	x->older = e->newest;
	x->newer = NULL;
	if (e->newest)
		e->newest->newer = x;
	else
		e->oldest = x;
	e->newest = x;
	x->linked = 1;
	e->nent++;
}

/* The entry of host <h> (lower case, <len> bytes, hash <hash>); an expired answer is
 * dropped on the way. */
static struct ent *ent_find(struct msrp_egress *e, const char *h, size_t len, uint64_t hash)
{
	for (struct ent *x = e->buckets[hash & (NBUCKETS - 1)]; x; x = x->hnext) {
		if (x->hash != hash || x->hlen != len || memcmp(x->host, h, len) != 0)
			continue;
		if (x->state == ENT_ANSWERED && eng_now_ms(e->w) >= x->expires_ms) {
			ent_unlink(e, x);
			free(x);
			return NULL;
		}
		return x;
	}
	return NULL;
}

/* Makes room for one more entry: expired answers go, then the oldest answer. 0, or
 * -EAGAIN when every entry is an ask in flight. */
static int make_room(struct msrp_egress *e)
{
	uint64_t now = eng_now_ms(e->w);
	struct ent *victim = NULL;

	if (e->nent < MSRP_EGRESS_CACHE_MAX)
		return 0;
	for (struct ent *x = e->oldest; x; x = x->newer) {
		if (x->state != ENT_ANSWERED)
			continue;
		if (!victim)
			victim = x;
		if (now >= x->expires_ms) {
			victim = x;
			break;
		}
	}
	if (!victim)
		return -EAGAIN;
	if (now < victim->expires_ms)
		e->st.cache_evictions++;
	ent_unlink(e, victim);
	free(victim);
	return 0;
}

/* The hop for <req> of a rule or an answer: <hop>, or when <direct> the request's own
 * direct hop leaving from <hop>->src. 0 and <out>, or -errno. */
static int pick_hop(int direct, const struct msrp_hop *hop, const struct msrp_egress_req *req,
		    struct msrp_hop *out)
{
	if (!direct) {
		*out = *hop;
		return 0;
	}
	if (req->direct_rc < 0)
		return req->direct_rc;
	*out = req->direct;
	memcpy(out->src, hop->src, sizeof(out->src));
	return 0;
}

/* Calls back every waiter of <x> with <rc> (0: the answer in <x>). <x> is out of the table
 * or answered in it; its waiter list is drained one by one, so that a callback may cancel
 * another waiter, route again, or free the egress. */
static void deliver(struct msrp_egress *e, struct ent *x, int rc)
{
	e->delivering++;
	x->busy = 1;
	while (x->waiters) {
		struct msrp_egress_req *req = x->waiters;
		struct msrp_hop hop;
		int r = rc;
		x->waiters = req->next;
		if (x->waiters)
			x->waiters->pprev = &x->waiters;
		req->ent = NULL;
		req->next = NULL;
		req->pprev = NULL;
		if (r == 0)
			r = pick_hop(x->direct, &x->hop, req, &hop);
		req->cb(req, req->arg, r, r == 0 ? &hop : NULL);
		if (e->dying && rc != -ECANCELED)
			rc = -ECANCELED; /* freed meanwhile: the rest hear that */
	}
	x->busy = 0;
	e->delivering--;
}

static void egress_destroy(struct msrp_egress *e);

/* Reads the hook's 200 body into <x>. 0 or -EBADMSG. */
static int read_answer(struct ent *x, const char *body, size_t len)
{
	json_error_t jerr;
	json_t *o = json_loadb(body, len, 0, &jerr);
	json_t *nh = o ? json_object_get(o, "next_hop") : NULL;
	json_t *src = o ? json_object_get(o, "src") : NULL;
	int rc = -EBADMSG;

	if (!json_is_object(o) || !json_is_string(nh) || (src && !json_is_string(src) &&
							   !json_is_null(src)))
		goto out;
	memset(&x->hop, 0, sizeof(x->hop));
	const char *s = json_string_value(nh);
	if (parse_nexthop((tok){ s, json_string_length(nh) }, &x->direct, &x->hop) != NULL ||
	    strlen(s) != json_string_length(nh))
		goto out;
	if (json_is_string(src)) {
		s = json_string_value(src);
		if (strlen(s) != json_string_length(src) ||
		    parse_src((tok){ s, strlen(s) }, &x->hop) != NULL)
			goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static void hook_done(void *arg, int status, const char *body, size_t len)
{
	struct ent *x = arg;
	struct msrp_egress *e = x->e;
	int rc;

	x->http = NULL;
	if (status == 200) {
		rc = read_answer(x, body, len);
	} else if (status == 404) {
		memset(&x->hop, 0, sizeof(x->hop));
		x->direct = 1;
		rc = 0;
	} else {
		rc = status < 0 ? status : -EIO;
	}
	if (rc < 0)
		e->st.hook_failures++;
	if (rc == 0 && e->ttl_ms) {
		x->state = ENT_ANSWERED;
		x->expires_ms = eng_now_ms(e->w) + e->ttl_ms;
	} else {
		ent_unlink(e, x); /* not kept: the next route asks again */
	}
	deliver(e, x, rc);
	if (!x->linked || e->dying)
		free(x);
	e->st.cache_size = e->nent;
	if (e->dying && !e->delivering)
		egress_destroy(e);
}

/* Asks the hook about <dest>, whose host is <x>'s. 0 or -errno. */
static int hook_ask(struct msrp_egress *e, struct ent *x, const struct msrp_uri *dest)
{
	char ubuf[512];
	char *uri = ubuf;
	size_t n = msrp_uri_format(dest, ubuf, sizeof(ubuf));
	int rc = -ENOMEM;

	if (n >= sizeof(ubuf)) {
		uri = malloc(n + 1);
		if (!uri)
			return -ENOMEM;
		msrp_uri_format(dest, uri, n + 1);
	}
	char host[MSRP_URI_HOST_MAX + 1];
	memcpy(host, dest->host.p, dest->host.len);
	host[dest->host.len] = '\0';
	json_t *o = json_pack("{s:s, s:s, s:i}", "uri", uri, "host", host, "port",
			      (int)(dest->port ? dest->port : MSRP_URI_DEFAULT_PORT));
	char *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (json) {
		x->http = eng_http_post_json(e->http, e->hook_url, json, e->timeout_ms, hook_done, x);
		rc = x->http ? 0 : -EIO;
	}
	free(json);
	json_decref(o);
	if (uri != ubuf)
		free(uri);
	if (rc == 0)
		e->st.hook_asks++;
	return rc;
}

struct msrp_egress *msrp_egress_new(eng_worker *w, const struct msrp_egress_rules *r,
				    const char *hook_url, uint32_t timeout_ms,
				    uint32_t cache_ttl_ms)
{
	struct msrp_egress *e = calloc(1, sizeof(*e));
	size_t n = msrp_egress_rules_count(r);

	if (!e)
		return NULL;
	e->w = w;
	e->rules = r;
	e->timeout_ms = timeout_ms;
	e->ttl_ms = cache_ttl_ms;
	e->rule_hits = calloc(n ? n : 1, sizeof(*e->rule_hits));
	if (!e->rule_hits)
		goto fail;
	if (hook_url && *hook_url) {
		e->hook_url = strdup(hook_url);
		e->http = e->hook_url ? eng_http_new(w) : NULL;
		if (!e->http)
			goto fail;
	}
	return e;
fail:
	free(e->hook_url);
	free(e->rule_hits);
	free(e);
	return NULL;
}

static void egress_destroy(struct msrp_egress *e)
{
	eng_http_free(e->http);
	free(e->hook_url);
	free(e->rule_hits);
	free(e);
}

void msrp_egress_free(struct msrp_egress *e)
{
	if (!e || e->dying)
		return;
	e->dying = 1;
	while (e->oldest) {
		struct ent *x = e->oldest;
		ent_unlink(e, x);
		if (x->busy)
			continue; /* hook_done is calling its waiters: it ends them and frees it */
		if (x->http)
			eng_http_cancel(x->http);
		x->http = NULL;
		deliver(e, x, -ECANCELED);
		free(x);
	}
	if (!e->delivering)
		egress_destroy(e);
}

int msrp_egress_route(struct msrp_egress *e, const struct msrp_uri *dest,
		      struct msrp_egress_req *req, msrp_egress_cb cb, void *arg,
		      struct msrp_hop *hop_now)
{
	const struct msrp_egress_rules *rs = e->rules;
	char host[MSRP_URI_HOST_MAX + 1];
	size_t hl = dest->host.len;

	req->ent = NULL;
	req->next = NULL;
	req->pprev = NULL;
	req->direct_rc = msrp_hop_direct(dest, &req->direct);
	e->st.routes++;
	for (size_t i = 0; rs && i < rs->n; i++) {
		const struct rule *r = &rs->r[i];
		if (!rule_match(r, dest))
			continue;
		e->rule_hits[i]++;
		e->st.rule_hits++;
		return pick_hop(r->direct, &r->hop, req, hop_now);
	}
	if (!e->http || e->dying) {
		e->st.direct++;
		if (req->direct_rc < 0)
			return req->direct_rc;
		*hop_now = req->direct;
		return 0;
	}
	if (hl == 0 || hl > MSRP_URI_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < hl; i++)
		host[i] = (char)tolower((unsigned char)dest->host.p[i]);
	host[hl] = '\0';
	uint64_t hash = msrp_id_hash((cm_slice){ host, hl });
	struct ent *x = ent_find(e, host, hl, hash);
	if (x && x->state == ENT_ANSWERED) {
		e->st.cache_hits++;
		return pick_hop(x->direct, &x->hop, req, hop_now);
	}
	if (x) {
		e->st.hook_waits++;
	} else {
		int rc = make_room(e);
		if (rc < 0)
			return rc;
		x = calloc(1, sizeof(*x) + hl + 1);
		if (!x)
			return -ENOMEM;
		x->e = e;
		x->hash = hash;
		x->state = ENT_ASKING;
		x->hlen = hl;
		memcpy(x->host, host, hl + 1);
		if ((rc = hook_ask(e, x, dest)) < 0) {
			e->st.hook_failures++;
			free(x);
			return rc;
		}
		ent_link(e, x);
		e->st.cache_size = e->nent;
	}
	req->cb = cb;
	req->arg = arg;
	req->ent = x;
	req->next = x->waiters;
	if (req->next)
		req->next->pprev = &req->next;
	req->pprev = &x->waiters;
	x->waiters = req;
	return 1;
}

void msrp_egress_cancel(struct msrp_egress_req *req)
{
	if (!req->ent)
		return;
	*req->pprev = req->next;
	if (req->next)
		req->next->pprev = req->pprev;
	req->next = NULL;
	req->pprev = NULL;
	req->ent = NULL;
}

void msrp_egress_stats(const struct msrp_egress *e, struct msrp_egress_stats *out)
{
	*out = e->st;
	out->cache_size = e->nent;
}

int msrp_egress_set_rules(struct msrp_egress *e, const struct msrp_egress_rules *r)
{
	size_t n = msrp_egress_rules_count(r);
	uint64_t *hits = calloc(n ? n : 1, sizeof(*hits));
	if (!hits)
		return -ENOMEM;
	free(e->rule_hits);
	e->rule_hits = hits;
	e->rules = r;
	return 0;
}

uint64_t msrp_egress_rule_hits(const struct msrp_egress *e, size_t i)
{
	return i < msrp_egress_rules_count(e->rules) ? e->rule_hits[i] : 0;
}
