/* dm_svc.c — Diameter in the daemon (dm_svc.h). */
#include "diameter/dm_svc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cm_log.h"
#include "diameter/dm_check.h"
#include "engine/eng_dns.h"

#define MAX_APPS 16
#define GW_URI_MAX 512                 /* a user's URI in a hook */

struct dm_svc {
	struct dm_dict *dict;
	struct dm_node_peer_cfg *peers;
	uint32_t apps[MAX_APPS];
	char realm[256];
	struct dm_node_cfg ncfg;
	struct eng_dns_config dns;
	uint32_t request_timeout_ms, hook_timeout_ms;
	int sh_on, ro_on, fail_open;
	_Atomic(struct dm_node *) node;
	_Atomic int stopped;           /* the node's connections all ended after the DPRs */
	uint32_t sid_high;             /* Session-Ids: the start's time, then a counter */
	_Atomic uint32_t sid;
	_Atomic uint64_t hs[6];        /* struct dm_hook_stats, in its order */
	eng_timer watch;               /* the node's worker: watches them end */
};

int dm_svc_app_id(const struct dm_svc *s, const char *name, uint32_t *id)
{
	char *end;
	unsigned long v = strtoul(name, &end, 10);
	if (*name && !*end && v <= 0xffffffffu) {
		*id = (uint32_t)v;
		return 0;
	}
	const struct dm_app_def *a = dm_dict_app_named(s->dict, name);
	if (!a) {
		*id = 0;
		return -ENOENT;
	}
	*id = a->id;
	return 0;
}

int dm_svc_new(const struct cm_config *cfg, struct dm_svc **out, char *err, size_t errlen)
{
	const struct cm_config_diameter *d = &cfg->diameter;
	*out = NULL;
	if (!d->origin_host[0])
		return 0;
	struct dm_svc *s = calloc(1, sizeof(*s));
	if (!s || !(s->dict = dm_dict_new())) {
		free(s);
		snprintf(err, errlen, "diameter: out of memory");
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; i < d->dictionaries.n && !rc; i++)
		rc = dm_dict_load(s->dict, d->dictionaries.v[i], err, errlen);
	if (rc)
		goto fail;
	if (d->origin_realm[0]) {
		snprintf(s->realm, sizeof(s->realm), "%s", d->origin_realm);
	} else {
		const char *dot = strchr(d->origin_host, '.');
		if (!dot || !dot[1]) {
			snprintf(err, errlen, "diameter.origin_realm: empty, and origin_host %s has "
				 "no domain to take it from", d->origin_host);
			rc = -EINVAL;
			goto fail;
		}
		snprintf(s->realm, sizeof(s->realm), "%s", dot + 1);
	}
	if (d->applications.n > MAX_APPS) {
		snprintf(err, errlen, "diameter.applications: %d at most", MAX_APPS);
		rc = -EINVAL;
		goto fail;
	}
	for (size_t i = 0; i < d->applications.n; i++)
		if (dm_svc_app_id(s, d->applications.v[i], &s->apps[i]) < 0) {
			snprintf(err, errlen, "diameter.applications: %s is not in the dictionary",
				 d->applications.v[i]);
			rc = -ENOENT;
			goto fail;
		}
	if (d->peers.n && !(s->peers = calloc(d->peers.n, sizeof(*s->peers)))) {
		snprintf(err, errlen, "diameter: out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < d->peers.n; i++) {
		char perr[400];
		if (dm_node_parse_peer(d->peers.v[i], &s->peers[i], perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "diameter.peers: %s", perr);
			rc = -EINVAL;
			goto fail;
		}
	}
	eng_dns_config_defaults(&s->dns);
	s->dns.servers = (const char *const *)cfg->dns.servers.v;
	s->dns.nservers = cfg->dns.servers.n;
	s->dns.timeout_ms = (uint32_t)cfg->dns.timeout_ms;
	s->request_timeout_ms = (uint32_t)d->request_timeout_ms;
	s->sid_high = (uint32_t)time(NULL);
	s->hook_timeout_ms = (uint32_t)d->hook_timeout_ms;
	s->sh_on = d->sh_check;
	s->ro_on = d->ro_charging;
	s->fail_open = d->hook_failure == 1;
	s->ncfg = (struct dm_node_cfg){
		.origin_host = d->origin_host, .origin_realm = s->realm, .product = "rcsgw",
		.apps = s->apps, .napps = (unsigned)d->applications.n,
		.peers = s->peers, .npeers = (unsigned)d->peers.n, .listen = d->listen,
		.accept = d->accept.v, .naccept = (unsigned)d->accept.n,
		.tw_ms = (uint32_t)d->tw_ms, .tc_ms = (uint32_t)d->tc_ms,
		.answer_timeout_ms = (uint32_t)d->answer_timeout_ms,
		.unanswered_rc = (uint32_t)d->unanswered_result,
		.max_incoming = (unsigned)d->max_incoming,
		.max_pending = (unsigned)d->max_pending, .dict = s->dict, .dns = &s->dns,
	};
	*out = s;
	return 0;
fail:
	dm_svc_free(s);
	return rc;
}

void dm_svc_free(struct dm_svc *s)
{
	if (!s)
		return;
	dm_dict_free(s->dict);
	free(s->peers);
	free(s);
}

void dm_svc_set_incoming(struct dm_svc *s,
			 void (*fn)(void *arg, uint64_t id, const char *peer, const uint8_t *m,
				    size_t n),
			 void *arg)
{
	s->ncfg.incoming = fn;
	s->ncfg.arg = arg;
}

static void on_stop(eng_worker *w, void *arg)
{
	struct dm_svc *s = arg;
	(void)w;
	eng_timer_cancel(&s->watch);
	struct dm_node *n = atomic_exchange(&s->node, NULL);
	dm_node_free(n);
}

int dm_svc_worker_start(struct dm_svc *s, eng_worker *w, char *err, size_t errlen)
{
	if (eng_worker_index(w) != DM_SVC_WORKER)
		return 0;
	struct dm_node *n = dm_node_new(w, &s->ncfg, err, errlen);
	if (!n)
		return -EINVAL;
	atomic_store(&s->node, n);
	if (eng_worker_on_stop(w, on_stop, s) < 0) {
		snprintf(err, errlen, "diameter: no stop hook left");
		return -ENOSPC;
	}
	CM_INFO("diameter: %s in %s, %u peer(s)%s%s", s->ncfg.origin_host, s->ncfg.origin_realm,
		s->ncfg.npeers, s->ncfg.listen[0] ? ", listening on " : "", s->ncfg.listen);
	return 0;
}

struct dm_node *dm_svc_node(struct dm_svc *s)
{
	return atomic_load_explicit(&s->node, memory_order_relaxed);
}

const struct dm_dict *dm_svc_dict(const struct dm_svc *s)
{
	return s->dict;
}

const char *dm_svc_origin_host(const struct dm_svc *s)
{
	return s->ncfg.origin_host;
}

const char *dm_svc_origin_realm(const struct dm_svc *s)
{
	return s->ncfg.origin_realm;
}

const char *dm_svc_default_realm(const struct dm_svc *s)
{
	for (unsigned i = 0; i < s->ncfg.npeers; i++)
		if (s->peers[i].realm[0])
			return s->peers[i].realm;
	return "";
}

uint32_t dm_svc_request_timeout_ms(const struct dm_svc *s)
{
	return s->request_timeout_ms;
}

static void watch_fire(eng_timer *t)
{
	struct dm_svc *s = t->arg;
	struct dm_node *n = dm_svc_node(s);
	if (!n || !dm_node_live(n)) {
		atomic_store(&s->stopped, 1);
		return;
	}
	eng_timer_arm(eng_self(), t, 20);
}

static void shutdown_msg(eng_worker *w, void *arg, uint64_t u64)
{
	struct dm_svc *s = arg;
	(void)u64;
	struct dm_node *n = dm_svc_node(s);
	if (!n) {
		atomic_store(&s->stopped, 1);
		return;
	}
	dm_node_shutdown(n, 0 /* REBOOTING */);
	eng_timer_init(&s->watch, watch_fire, s);
	eng_timer_arm(w, &s->watch, 0);
}

int dm_svc_shutdown(struct dm_svc *s, eng_engine *e, unsigned wait_ms)
{
	if (eng_post(eng_worker_at(e, DM_SVC_WORKER), shutdown_msg, s, 0) < 0)
		return -EAGAIN;
	for (unsigned t = 0; t < wait_ms && !atomic_load(&s->stopped); t += 10)
		usleep(10000);
	return atomic_load(&s->stopped) ? 0 : -ETIMEDOUT;
}

unsigned dm_svc_open_peers(const struct dm_svc *s)
{
	struct dm_node *n = atomic_load_explicit(&s->node, memory_order_relaxed);
	return n ? dm_node_open_configured(n) : 0;
}

unsigned dm_svc_peers(const struct dm_svc *s)
{
	return s->ncfg.npeers;
}

/* ---- hooks ----------------------------------------------------------------------------- */

#define HOOK_MSG_MAX 2048
#define HOOK_POST_RETRY_MS 5

struct hook {
	struct dm_svc *s;
	eng_worker *from;
	int ro;
	dm_hook_fn fn;
	void *arg;
	enum dm_verdict v;
	uint32_t rc;
	char a[GW_URI_MAX];
	eng_timer retry;               /* the verdict's post back, while its mailbox is full */
};

static void hook_done(eng_worker *w, void *arg, uint64_t u64)
{
	struct hook *h = arg;
	(void)u64;
	h->fn(w, h->arg, h->v, h->rc);
	free(h);
}

static void hook_back(struct hook *h);

static void hook_retry(eng_timer *t)
{
	hook_back(t->arg);
}

/* The verdict goes home; a full mailbox is tried again (never lost: its caller waits). */
static void hook_back(struct hook *h)
{
	if (eng_post(h->from, hook_done, h, 0) == 0)
		return;
	eng_timer_init(&h->retry, hook_retry, h);
	eng_timer_arm(eng_self(), &h->retry, HOOK_POST_RETRY_MS);
}

static void hook_answer(void *arg, int status, const uint8_t *ans, size_t len, const char *peer)
{
	struct hook *h = arg;
	(void)peer;
	h->rc = status == 0 ? dm_answer_result(ans, len) : 0;
	h->v = !h->rc || (h->rc >= 3000 && h->rc < 4000) ? DM_FAILED
	       : h->rc >= 2000 && h->rc < 3000		  ? DM_ALLOW
							  : DM_DENY;
	atomic_fetch_add_explicit(&h->s->hs[(h->ro ? 3 : 0) + h->v], 1, memory_order_relaxed);
	hook_back(h);
}

/* The request of <h>: a UDR or a CCR, into <b>. Its length or -errno. */
static long hook_request(struct hook *h, uint8_t *b, size_t cap)
{
	struct dm_svc *s = h->s;
	struct dm_wbuf w;
	char sid[320];
	const char *realm = dm_svc_default_realm(s);
	dm_svc_session_id(s, sid, sizeof(sid));
	dm_w_init(&w, b, cap);
	if (!h->ro) {
		dm_w_hdr(&w, DM_FLAG_R | DM_FLAG_P, 306, 16777217, 0, 0); /* UDR */
		dm_w_str(&w, 263, DM_AVP_M, 0, sid);
		dm_w_group_begin(&w, 260, DM_AVP_M, 0);
		dm_w_u32(&w, 266, DM_AVP_M, 0, DM_VENDOR_3GPP);
		dm_w_u32(&w, 258, DM_AVP_M, 0, 16777217);
		dm_w_group_end(&w);
		dm_w_u32(&w, 277, DM_AVP_M, 0, 1); /* Auth-Session-State: NO_STATE_MAINTAINED */
	} else {
		dm_w_hdr(&w, DM_FLAG_R | DM_FLAG_P, 272, 4, 0, 0); /* CCR */
		dm_w_str(&w, 263, DM_AVP_M, 0, sid);
		dm_w_u32(&w, 258, DM_AVP_M, 0, 4);
		dm_w_str(&w, 461, DM_AVP_M, 0, "32260@3gpp.org"); /* IMS charging */
		dm_w_u32(&w, 416, DM_AVP_M, 0, 4);                /* EVENT_REQUEST */
		dm_w_u32(&w, 415, DM_AVP_M, 0, 0);
		dm_w_u32(&w, 436, DM_AVP_M, 0, 0);                /* DIRECT_DEBITING */
		dm_w_time(&w, 55, DM_AVP_M, 0, (int64_t)time(NULL));
	}
	dm_w_str(&w, 264, DM_AVP_M, 0, s->ncfg.origin_host);
	dm_w_str(&w, 296, DM_AVP_M, 0, s->ncfg.origin_realm);
	dm_w_str(&w, 283, DM_AVP_M, 0, realm[0] ? realm : s->ncfg.origin_realm);
	if (!h->ro) {
		dm_w_group_begin(&w, 700, DM_AVP_M | DM_AVP_V, DM_VENDOR_3GPP); /* User-Identity */
		dm_w_str(&w, 601, DM_AVP_M | DM_AVP_V, DM_VENDOR_3GPP, h->a);   /* Public-Identity */
		dm_w_group_end(&w);
		dm_w_u32(&w, 703, DM_AVP_M | DM_AVP_V, DM_VENDOR_3GPP, 11); /* IMSUserState */
	} else {
		dm_w_group_begin(&w, 443, DM_AVP_M, 0);  /* Subscription-Id */
		dm_w_u32(&w, 450, DM_AVP_M, 0, 2);       /* END_USER_SIP_URI */
		dm_w_str(&w, 444, DM_AVP_M, 0, h->a);
		dm_w_group_end(&w);
		dm_w_group_begin(&w, 437, DM_AVP_M, 0);  /* Requested-Service-Unit */
		dm_w_u64(&w, 417, DM_AVP_M, 0, 1);       /* CC-Service-Specific-Units */
		dm_w_group_end(&w);
	}
	return dm_w_finish(&w);
}

static void hook_run(eng_worker *w, void *arg, uint64_t u64)
{
	struct hook *h = arg;
	uint8_t *b = malloc(HOOK_MSG_MAX); /* (the node takes it) */
	(void)w;
	(void)u64;
	struct dm_node *n = dm_svc_node(h->s);
	long len = !b ? -ENOMEM : n ? hook_request(h, b, HOOK_MSG_MAX) : -ESHUTDOWN;
	if (len < 0)
		free(b);
	if (len < 0 || dm_node_request(n, b, (size_t)len, h->s->hook_timeout_ms, hook_answer, h) < 0)
		hook_answer(h, -EIO, NULL, 0, NULL);
}

static int hook_ask(struct dm_svc *s, eng_worker *from, int ro, const char *a, dm_hook_fn fn,
		    void *arg)
{
	struct hook *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->s = s;
	h->from = from;
	h->ro = ro;
	h->fn = fn;
	h->arg = arg;
	snprintf(h->a, sizeof(h->a), "%s", a);
	if (eng_post(eng_worker_at(eng_of(from), DM_SVC_WORKER), hook_run, h, 0) < 0) {
		free(h);
		return -EAGAIN;
	}
	return 0;
}

int dm_svc_sh_check(struct dm_svc *s, eng_worker *from, const char *user, dm_hook_fn fn,
		    void *arg)
{
	return hook_ask(s, from, 0, user, fn, arg);
}

int dm_svc_ro_charge(struct dm_svc *s, eng_worker *from, const char *sender, dm_hook_fn fn,
		     void *arg)
{
	return hook_ask(s, from, 1, sender, fn, arg);
}

void dm_svc_session_id(struct dm_svc *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s;%u;%u", s->ncfg.origin_host, s->sid_high,
		 atomic_fetch_add(&s->sid, 1) + 1);
}

int dm_svc_sh_on(const struct dm_svc *s)
{
	return s && s->sh_on;
}

int dm_svc_ro_on(const struct dm_svc *s)
{
	return s && s->ro_on;
}

int dm_svc_fail_open(const struct dm_svc *s)
{
	return s && s->fail_open;
}

void dm_svc_hook_stats(const struct dm_svc *s, struct dm_hook_stats *out)
{
	uint64_t v[6];
	for (int i = 0; i < 6; i++)
		v[i] = atomic_load_explicit(&s->hs[i], memory_order_relaxed);
	*out = (struct dm_hook_stats){ v[0], v[1], v[2], v[3], v[4], v[5] };
}
